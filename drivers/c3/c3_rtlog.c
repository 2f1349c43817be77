#include "drivers/c3/c3_rtlog.h"

#include <stdio.h>
#include <string.h>

#include "core/hex.h"
#include "core/textline.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_tables.h"
#include "drivers/c3/c3_time.h"

bool c3_rtlog_binary_ok(size_t len)
{
    return len % C3_RT_RECORD_LEN == 0;
}

void c3_rtlog_decode_record(const uint8_t p[C3_RT_RECORD_LEN], struct c3_rt_record *r)
{
    memset(r, 0, sizeof *r);
    r->time = c3_get_le32(p + 12);
    if (p[10] == C3_EVENT_STATUS) {
        r->kind = C3_RT_STATUS;
        for (unsigned d = 0; d < C3_RT_DOORS; d++) {
            r->status.alarm[d] = p[d];
            r->status.sensor_raw[d] = p[4 + d];
            r->status.sensor[d] = p[4 + d] & 0x0Fu; /* high nibble: meaning unconfirmed, ignored */
        }
        r->status.byte8 = p[8];
        r->status.byte9 = p[9];
        return;
    }
    r->kind = C3_RT_EVENT;
    r->event.card = c3_get_le32(p);
    r->event.pin = c3_get_le32(p + 4);
    r->event.verify = p[8];
    r->event.door = p[9];
    r->event.type = p[10];
    r->event.inout = p[11];
    r->event.index = -1;
}

int c3_rtlog_parse_binary(const uint8_t *p, size_t len, struct c3_rt_record *out, size_t max)
{
    if (!c3_rtlog_binary_ok(len))
        return C3_E_RTLOG_LEN;
    size_t n = len / C3_RT_RECORD_LEN;
    size_t k = n < max ? n : max;
    for (size_t i = 0; i < k; i++)
        c3_rtlog_decode_record(p + i * C3_RT_RECORD_LEN, &out[i]);
    if (n > max)
        return C3_E_TOOMANY;
    return (int)n;
}

int c3_rtlog_encode_record(const struct c3_rt_record *r, uint8_t out[C3_RT_RECORD_LEN])
{
    memset(out, 0, C3_RT_RECORD_LEN);
    if (r->kind == C3_RT_STATUS) {
        for (unsigned d = 0; d < C3_RT_DOORS; d++) {
            out[d] = r->status.alarm[d];
            /* sensor_raw carries the high nibble some firmware sets; its low nibble must agree with sensor */
            out[4 + d] = (uint8_t)((r->status.sensor_raw[d] & 0xF0u) | (r->status.sensor[d] & 0x0Fu));
        }
        out[8] = r->status.byte8;
        out[9] = r->status.byte9;
        out[10] = C3_EVENT_STATUS;
    } else if (r->kind == C3_RT_EVENT) {
        if (r->event.type == C3_EVENT_STATUS)
            return C3_E_RANGE;
        c3_put_le32(out, r->event.card);
        c3_put_le32(out + 4, r->event.pin);
        out[8] = r->event.verify;
        out[9] = r->event.door;
        out[10] = r->event.type;
        out[11] = r->event.inout;
    } else {
        return C3_E_RANGE;
    }
    c3_put_le32(out + 12, r->time);
    return (int)C3_RT_RECORD_LEN;
}

/* ---- key/value text (0x79) ---- */

struct span {
    const char *p;
    size_t n;
};

static bool span_eq(struct span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool parse_dec(struct span s, uint32_t maxv, uint32_t *v)
{
    if (s.n == 0 || s.n > 10)
        return false;
    uint64_t acc = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        acc = acc * 10u + (uint64_t)(s.p[i] - '0');
    }
    if (acc > maxv)
        return false;
    *v = (uint32_t)acc;
    return true;
}

static bool parse_hex(struct span s, uint32_t *v)
{
    if (s.n == 0 || s.n > 8)
        return false;
    uint32_t acc = 0;
    for (size_t i = 0; i < s.n; i++) {
        int h = hex_digit(s.p[i]);
        if (h < 0)
            return false;
        acc = acc << 4 | (uint32_t)h;
    }
    *v = acc;
    return true;
}

static struct span trim(const char *p, size_t n)
{
    while (n && (*p == ' ' || *p == '\t'))
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    return (struct span){ p, n };
}

enum { K_TIME, K_PIN, K_CARD, K_ADDR, K_EVENT, K_INOUT, K_VERIFY, K_INDEX, K_SENSOR, K_RELAY, K_ALARM, K_COUNT };
static const char *const kv_keys[K_COUNT] = {
    "time", "pin", "cardno", "eventaddr", "event", "inoutstatus", "verifytype", "index", "sensor", "relay", "alarm",
};

/* Parse one record line; false if malformed. */
static bool parse_kv_record(const char *line, size_t len, struct c3_rt_record *r)
{
    struct span val[K_COUNT];
    bool have[K_COUNT] = { false };
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && line[j] != '\t' && line[j] != ',')
            j++;
        struct span f = trim(line + i, j - i);
        i = j + 1;
        if (f.n == 0)
            continue;
        const char *eq = memchr(f.p, '=', f.n);
        if (!eq || eq == f.p)
            return false;
        struct span key = { f.p, (size_t)(eq - f.p) };
        struct span v = trim(eq + 1, f.n - key.n - 1);
        for (int k = 0; k < K_COUNT; k++) {
            if (span_eq(key, kv_keys[k])) {
                if (have[k])
                    return false; /* duplicate key: ambiguous */
                have[k] = true;
                val[k] = v;
            }
        }
    }
    memset(r, 0, sizeof *r);
    if (!have[K_TIME] || c3_time_parse(val[K_TIME].p, val[K_TIME].n, &r->time) != 0)
        return false;
    uint32_t u;
    if (have[K_EVENT]) {
        r->kind = C3_RT_EVENT;
        r->event.index = -1;
        if (!parse_dec(val[K_EVENT], 254, &u))
            return false;
        r->event.type = (uint8_t)u;
        if (have[K_PIN] && !parse_dec(val[K_PIN], UINT32_MAX, &r->event.pin))
            return false;
        if (have[K_CARD] && !parse_dec(val[K_CARD], UINT32_MAX, &r->event.card))
            return false;
        if (have[K_ADDR]) {
            if (!parse_dec(val[K_ADDR], 255, &u))
                return false;
            r->event.door = (uint8_t)u;
        }
        r->event.inout = C3_INOUT_NONE;
        if (have[K_INOUT]) {
            if (!parse_dec(val[K_INOUT], 255, &u))
                return false;
            r->event.inout = (uint8_t)u;
        }
        r->event.verify = 200;
        if (have[K_VERIFY]) {
            if (!parse_dec(val[K_VERIFY], 255, &u))
                return false;
            r->event.verify = (uint8_t)u;
        }
        if (have[K_INDEX]) {
            if (!parse_dec(val[K_INDEX], UINT32_MAX, &u))
                return false;
            r->event.index = u;
        }
        return true;
    }
    r->kind = C3_RT_STATUS;
    if (!have[K_SENSOR] && !have[K_ALARM] && !have[K_RELAY])
        return false;
    if (have[K_SENSOR]) {
        if (!parse_hex(val[K_SENSOR], &u))
            return false;
        for (unsigned d = 0; d < C3_RT_DOORS; d++)
            r->status.sensor[d] = r->status.sensor_raw[d] = (uint8_t)(u >> (2 * d) & 0x03u);
    }
    if (have[K_RELAY]) {
        if (!parse_hex(val[K_RELAY], &r->status.relay))
            return false;
        r->status.has_relay = true;
    }
    if (have[K_ALARM]) {
        struct span a = val[K_ALARM];
        if (a.n != 2 * C3_RT_DOORS)
            return false;
        if (hex_decode(a.p, C3_RT_DOORS, r->status.alarm) != 0)
            return false;
    }
    return true;
}

int c3_rtlog_parse_kv(const char *text, size_t len, struct c3_rt_record *out, size_t max, size_t *bad)
{
    size_t good = 0, nbad = 0, pos = 0, line_len;
    const char *line;
    bool overflow = false;
    while (textline_next_sep(text, len, &pos, C3_TEXT_LINE_ENDS, C3_TEXT_LINE_ENDS_LEN, &line, &line_len)) {
        struct span t = trim(line, line_len);
        if (t.n == 0)
            continue;
        struct c3_rt_record r;
        if (!parse_kv_record(t.p, t.n, &r)) {
            nbad++;
            continue;
        }
        if (good < max)
            out[good] = r;
        else
            overflow = true;
        good++;
    }
    if (bad)
        *bad = nbad;
    return overflow ? C3_E_TOOMANY : (int)good;
}

int c3_rtlog_format_kv(const struct c3_rt_record *r, char *buf, size_t cap)
{
    char t[C3_TIME_ISO_LEN];
    c3_time_format(r->time, ' ', t, sizeof t);
    int n;
    if (r->kind == C3_RT_EVENT) {
        if (r->event.type == C3_EVENT_STATUS)
            return C3_E_RANGE;
        n = snprintf(buf, cap, "time=%s\tpin=%u\tcardno=%u\teventaddr=%u\tevent=%u\tinoutstatus=%u\tverifytype=%u",
                     t, (unsigned)r->event.pin, (unsigned)r->event.card, r->event.door, r->event.type,
                     r->event.inout, r->event.verify);
        if (n >= 0 && r->event.index >= 0) {
            size_t used = (size_t)n < cap ? (size_t)n : cap;
            int m = snprintf(cap ? buf + used : buf, cap - used, "\tindex=%lld", (long long)r->event.index);
            n = m < 0 ? m : n + m;
        }
    } else if (r->kind == C3_RT_STATUS) {
        unsigned sensor = 0;
        for (unsigned d = 0; d < C3_RT_DOORS; d++)
            sensor |= (r->status.sensor[d] & 0x03u) << (2 * d);
        n = snprintf(buf, cap, "time=%s\tsensor=%02x\trelay=%02x\talarm=%02x%02x%02x%02x", t, sensor,
                     (unsigned)r->status.relay, r->status.alarm[0], r->status.alarm[1], r->status.alarm[2],
                     r->status.alarm[3]);
    } else {
        return C3_E_RANGE;
    }
    return n < 0 ? C3_E_NOSPACE : n;
}
