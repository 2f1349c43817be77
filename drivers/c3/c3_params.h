/* c3_params: the ASCII parameter texts of GET_DEVICE_PARAM / SET_DEVICE_PARAM (spec §3.1, §3.2, §5) and the
 * UDP discovery reply (§3.9): request builders with batching, a zero-copy Name=Value reply parser. */
#ifndef PORTIER_C3_PARAMS_H
#define PORTIER_C3_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define C3_PARAMS_GET_MAX 30u   /* names per GET_DEVICE_PARAM (PullSDK limit) */
#define C3_PARAMS_SET_MAX 20u   /* pairs per SET_DEVICE_PARAM (PullSDK limit) */

struct c3_param {
    const char *name;
    const char *value;
};

/* Batching: how many batches n items need at per_batch per request, and the slice of batch b. */
size_t c3_params_batches(size_t n, size_t per_batch);
void c3_params_batch(size_t n, size_t per_batch, size_t b, size_t *first, size_t *count);

/* "Name,Name,..." for names[0..n), 1 <= n <= C3_PARAMS_GET_MAX. Names must be non-empty printable ASCII
 * without ',' or '='. Returns the text length (NUL-terminated in out), C3_E_TOOMANY, C3_E_SYNTAX (bad name,
 * n == 0: the panel answers an empty request with -11) or C3_E_NOSPACE. */
int c3_params_get_request(char *out, size_t cap, const char *const *names, size_t n);
/* "Name=Value,..." for pairs[0..n), 1 <= n <= C3_PARAMS_SET_MAX. Values may be empty and contain spaces but
 * no ',' or control characters. Same returns as above. */
int c3_params_set_request(char *out, size_t cap, const struct c3_param *pairs, size_t n);
/* "DateTime=<packed>": set the panel clock. */
int c3_params_set_datetime(char *out, size_t cap, uint32_t packed);

/* One Name=Value item of a reply, pointing into the parsed text (not NUL-terminated). */
struct c3_param_span {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* Parse a reply text of len bytes: items split on ',', name and value on the first '='. Empty values are
 * kept ("~ZKFPVersion="), values may hold spaces and further '=', names keep their '~'. Empty items (a
 * trailing or doubled comma) are skipped; trailing NUL, CR and LF bytes are ignored. An item without '='
 * after a valid item is taken as the continuation of the previous value (the comma belongs to the value);
 * an item without '=' at the start, or with an empty name, is C3_E_SYNTAX. Returns the number of items, or
 * C3_E_TOOMANY when more than max items are present (out holds the first max), or C3_E_SYNTAX. */
int c3_params_parse(const char *text, size_t len, struct c3_param_span *out, size_t max);

/* Look up a name (exact, case-sensitive) in parsed items; NULL if absent. */
const struct c3_param_span *c3_params_find(const struct c3_param_span *items, size_t n, const char *name);
/* Copy a value as a NUL-terminated string. Returns 0 or C3_E_NOSPACE (then out holds a truncated copy). */
int c3_params_value_str(const struct c3_param_span *s, char *out, size_t cap);
/* Value as an unsigned 32-bit decimal number (no sign, no spaces). 0 or C3_E_SYNTAX / C3_E_RANGE. */
int c3_params_value_u32(const struct c3_param_span *s, uint32_t *v);

/* The reply to the UDP search (0x14), parsed by key; missing keys give empty strings. */
struct c3_discovery {
    char mac[18];        /* MAC */
    char ip[16];         /* IP or IPAddress */
    char netmask[16];    /* NetMask */
    char gateway[16];    /* GATEIPAddress */
    char serial[40];     /* SN */
    char device[40];     /* Device */
    char version[64];    /* Ver */
};
/* Requires at least MAC and IP. Over-long values are truncated. Returns 0 or C3_E_SYNTAX. */
int c3_discovery_parse(const char *text, size_t len, struct c3_discovery *d);

#endif
