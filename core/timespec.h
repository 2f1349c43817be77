/* timespec: the one grammar for points in time that people type (portierctl --since/--until, the console's
 * since:/until: filters): clock times, ISO dates, @EPOCH, relative "-30s/-5m/-2h/-3d", now, today, yesterday. */
#ifndef PORTIER_TIMESPEC_H
#define PORTIER_TIMESPEC_H

#include <stddef.h>
#include <stdint.h>

/* The accepted forms, for usage texts and error messages. */
#define TIMESPEC_FORMS "HH:MM[:SS], YYYY-MM-DD[ HH:MM[:SS]], @EPOCH, -30s|-5m|-2h|-3d, now, today, yesterday"

/* Parse s into microseconds since the epoch, relative to now_us and the local time zone (TZ):
 *   HH:MM, HH:MM:SS                 today at that local time
 *   YYYY-MM-DD                      local midnight starting that day
 *   YYYY-MM-DDTHH:MM[:SS]           local time (a space instead of T, or a lower-case t, also works)
 *   @EPOCH                          seconds since 1970-01-01 UTC
 *   -Ns, -Nm, -Nh, -Nd              N seconds/minutes/hours/days before now (N up to 36500 days)
 *   now, today, yesterday           now; local midnight starting today / yesterday
 * Keywords are case-insensitive; spaces around s are ignored. Fields are range-checked (no 24:00, no
 * 2025-02-29). Returns 0, or -1 with a message naming what is wrong in err (if not NULL). */
int timespec_parse(const char *s, int64_t now_us, int64_t *out_us, char *err, size_t errlen);

#endif
