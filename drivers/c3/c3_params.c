#include "drivers/c3/c3_params.h"

#include <stdio.h>
#include <string.h>

#include "core/textline.h"
#include "drivers/c3/c3_frame.h"

size_t c3_params_batches(size_t n, size_t per_batch)
{
    if (per_batch == 0)
        return 0;
    return n / per_batch + (n % per_batch != 0);
}

void c3_params_batch(size_t n, size_t per_batch, size_t b, size_t *first, size_t *count)
{
    size_t f = per_batch && b <= n / per_batch ? b * per_batch : n;
    *first = f;
    *count = n - f < per_batch ? n - f : per_batch;
}

static bool name_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7F || *s == ',' || *s == '=')
            return false;
    return true;
}

static bool value_ok(const char *s)
{
    if (!s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < ' ' || (unsigned char)*s == 0x7F || *s == ',')
            return false;
    return true;
}

/* Appends s to out at *pos; false when it does not fit (keeping room for the NUL). */
static bool append(char *out, size_t cap, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    if (*pos + n + 1 > cap)
        return false;
    memcpy(out + *pos, s, n);
    *pos += n;
    out[*pos] = '\0';
    return true;
}

/* The request text: names[i] (a read) or pairs[i] as NAME=VALUE (a write), joined by commas. */
static int join_request(char *out, size_t cap, const char *const *names, const struct c3_param *pairs, size_t n,
                        size_t max)
{
    if (n > max)
        return C3_E_TOOMANY;
    if (n == 0)
        return C3_E_SYNTAX;
    size_t pos = 0;
    if (cap)
        out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *name = names ? names[i] : pairs[i].name, *value = names ? NULL : pairs[i].value;
        if (!name_ok(name) || (!names && !value_ok(value)))
            return C3_E_SYNTAX;
        if ((i && !append(out, cap, &pos, ",")) || !append(out, cap, &pos, name) ||
            (value && (!append(out, cap, &pos, "=") || !append(out, cap, &pos, value))))
            return C3_E_NOSPACE;
    }
    return (int)pos;
}

int c3_params_get_request(char *out, size_t cap, const char *const *names, size_t n)
{
    return join_request(out, cap, names, NULL, n, C3_PARAMS_GET_MAX);
}

int c3_params_set_request(char *out, size_t cap, const struct c3_param *pairs, size_t n)
{
    return join_request(out, cap, NULL, pairs, n, C3_PARAMS_SET_MAX);
}

int c3_params_set_datetime(char *out, size_t cap, uint32_t packed)
{
    char v[16];
    snprintf(v, sizeof v, "%u", (unsigned)packed);
    struct c3_param p = { "DateTime", v };
    return c3_params_set_request(out, cap, &p, 1);
}

int c3_params_parse(const char *text, size_t len, struct c3_param_span *out, size_t max)
{
    while (len && (text[len - 1] == '\0' || text[len - 1] == '\r' || text[len - 1] == '\n'))
        len--;
    size_t count = 0;
    bool have_prev = false, overflow = false;
    struct c3_param_span prev = { 0 };
    size_t pos = 0, ilen;
    const char *item;
    while (textline_next_sep(text, len, &pos, ",", 1, &item, &ilen)) {
        if (ilen == 0)
            continue;
        const char *eq = memchr(item, '=', ilen);
        if (!eq) {
            if (!have_prev)
                return C3_E_SYNTAX;
            /* Continuation: the value contained a comma. Extend the previous item up to here. */
            prev.value_len = (size_t)(item + ilen - prev.value);
            if (count <= max && count > 0 && !overflow)
                out[count - 1] = prev;
            continue;
        }
        if (eq == item)
            return C3_E_SYNTAX;
        prev.name = item;
        prev.name_len = (size_t)(eq - item);
        prev.value = eq + 1;
        prev.value_len = ilen - prev.name_len - 1;
        have_prev = true;
        if (count < max)
            out[count] = prev;
        else
            overflow = true;
        count++;
    }
    if (overflow)
        return C3_E_TOOMANY;
    return (int)count;
}

const struct c3_param_span *c3_params_find(const struct c3_param_span *items, size_t n, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (items[i].name_len == nl && memcmp(items[i].name, name, nl) == 0)
            return &items[i];
    return NULL;
}

int c3_params_value_str(const struct c3_param_span *s, char *out, size_t cap)
{
    if (cap == 0)
        return C3_E_NOSPACE;
    size_t n = s->value_len < cap - 1 ? s->value_len : cap - 1;
    memcpy(out, s->value, n);
    out[n] = '\0';
    return n == s->value_len ? 0 : C3_E_NOSPACE;
}

int c3_params_value_u32(const struct c3_param_span *s, uint32_t *v)
{
    if (s->value_len == 0)
        return C3_E_SYNTAX;
    uint64_t acc = 0;
    for (size_t i = 0; i < s->value_len; i++) {
        char c = s->value[i];
        if (c < '0' || c > '9')
            return C3_E_SYNTAX;
        acc = acc * 10u + (uint64_t)(c - '0');
        if (acc > UINT32_MAX)
            return C3_E_RANGE;
    }
    *v = (uint32_t)acc;
    return 0;
}

int c3_discovery_parse(const char *text, size_t len, struct c3_discovery *d)
{
    memset(d, 0, sizeof *d);
    struct c3_param_span items[32];
    int n = c3_params_parse(text, len, items, sizeof items / sizeof items[0]);
    if (n == C3_E_TOOMANY)
        n = (int)(sizeof items / sizeof items[0]);
    if (n < 0)
        return n;
    static const struct {
        const char *key;
        size_t off, cap;
    } keys[] = {
        { "MAC", offsetof(struct c3_discovery, mac), sizeof d->mac },
        { "IP", offsetof(struct c3_discovery, ip), sizeof d->ip },
        { "IPAddress", offsetof(struct c3_discovery, ip), sizeof d->ip },
        { "NetMask", offsetof(struct c3_discovery, netmask), sizeof d->netmask },
        { "GATEIPAddress", offsetof(struct c3_discovery, gateway), sizeof d->gateway },
        { "SN", offsetof(struct c3_discovery, serial), sizeof d->serial },
        { "Device", offsetof(struct c3_discovery, device), sizeof d->device },
        { "Ver", offsetof(struct c3_discovery, version), sizeof d->version },
    };
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const struct c3_param_span *s = c3_params_find(items, (size_t)n, keys[k].key);
        if (s)
            (void)c3_params_value_str(s, (char *)d + keys[k].off, keys[k].cap); /* truncation is fine */
    }
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) /* keep the strings printable */
        for (char *p = (char *)d + keys[k].off; *p; p++)
            if ((unsigned char)*p < ' ' || (unsigned char)*p >= 0x7F)
                *p = '?';
    if (!d->mac[0] || !d->ip[0])
        return C3_E_SYNTAX;
    return 0;
}
