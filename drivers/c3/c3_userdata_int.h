/* c3_userdata_int: what the parts of the operator form of a panel's user data share (private to
 * drivers/c3/c3_userdata.c, the kinds, field formats and export, and c3_userimport.c, the import). */
#ifndef PORTIER_C3_USERDATA_INT_H
#define PORTIER_C3_USERDATA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/csv.h"

/* A whole number of digits only, at most max: true with *v. */
bool c3u_parse_num(const char *s, uint64_t max, uint64_t *v);
/* A raw row's field (named as the panel names it, any case) as a number; 0 when missing or not a number. */
uint32_t c3u_raw_u32(const struct csv *raw, size_t row, const char *field);
/* The days of a time zone as the panel's field names start ("Sun" ... "Hol3"): SunTime1 ... */
extern const char *const c3u_days[10];

#endif
