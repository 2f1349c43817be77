#include "drivers/c3/c3_tables.h"

#include <stdio.h>
#include <string.h>

#include "core/textline.h"
#include "drivers/c3/c3_frame.h"

#define N C3_SEV_NORMAL
#define W C3_SEV_WARNING
#define A C3_SEV_ALARM

struct event_info {
    const char *key;
    const char *name;
    uint8_t severity;
    bool grant;
};

/* Indexed by code; entries with name NULL are unknown. Severity rationale in doc/decisions.md (C3 codec). */
static const struct event_info events[256] = {
    [0] = { "card_open", "normal punch open (card)", N, true },
    [1] = { "punch_normal_open_tz", "punch during normal-open time zone", N, true },
    [2] = { "first_card_normal_open", "first card normal open (card)", N, true },
    [3] = { "multi_card_open", "multi-card open (card)", N, true },
    [4] = { "emergency_password_open", "emergency password open", N, true },
    [5] = { "normal_open_tz_start", "open during normal-open time zone", N, false },
    [6] = { "linkage", "linkage event triggered", N, false },
    [7] = { "cancel_alarm", "alarm cancelled", N, false },
    [8] = { "remote_open", "remote opening", N, true },
    [9] = { "remote_close", "remote closing", N, false },
    [10] = { "intraday_normal_open_disabled", "intraday normal-open time zone disabled", N, false },
    [11] = { "intraday_normal_open_enabled", "intraday normal-open time zone enabled", N, false },
    [12] = { "aux_output_open", "auxiliary output opened", N, false },
    [13] = { "aux_output_close", "auxiliary output closed", N, false },
    [14] = { "finger_open", "fingerprint open", N, true },
    [15] = { "multi_card_open_finger", "multi-card open (fingerprint)", N, true },
    [16] = { "finger_normal_open_tz", "fingerprint during normal-open time zone", N, true },
    [17] = { "card_finger_open", "card plus fingerprint open", N, true },
    [18] = { "first_card_normal_open_finger", "first card normal open (fingerprint)", N, true },
    [19] = { "first_card_normal_open_card_finger", "first card normal open (card plus fingerprint)", N, true },
    [20] = { "punch_interval_too_short", "punch interval too short", W, false },
    [21] = { "door_inactive_tz_card", "door inactive time zone (card)", W, false },
    [22] = { "illegal_tz", "illegal time zone", W, false },
    [23] = { "access_denied", "access denied", W, false },
    [24] = { "anti_passback", "anti-passback", W, false },
    [25] = { "interlock", "interlock", W, false },
    [26] = { "multi_card_auth_card", "multi-card authentication (card)", N, false },
    [27] = { "unregistered_card", "unregistered card", W, false },
    [28] = { "open_timeout", "door open timeout", W, false },
    [29] = { "card_expired", "card expired", W, false },
    [30] = { "password_error", "password error", W, false },
    [31] = { "finger_interval_too_short", "fingerprint interval too short", W, false },
    [32] = { "multi_card_auth_finger", "multi-card authentication (fingerprint)", N, false },
    [33] = { "finger_expired", "fingerprint expired", W, false },
    [34] = { "unregistered_finger", "unregistered fingerprint", W, false },
    [35] = { "door_inactive_tz_finger", "door inactive time zone (fingerprint)", W, false },
    [36] = { "door_inactive_tz_button", "door inactive time zone (exit button)", W, false },
    [37] = { "close_failed_normal_open_tz", "failed to close during normal-open time zone", W, false },
    [41] = { "verify_type_invalid", "verify type invalid", W, false },
    [42] = { "wiegand_format_error", "Wiegand format error", W, false },
    [43] = { "background_verify_timeout", "background verification timeout", W, false },
    [44] = { "background_verify", "background verification", N, false },
    [45] = { "user_unknown", "user does not exist", W, false },
    [100] = { "tamper", "tamper alarm", A, false },
    [101] = { "duress_password_open", "duress password open", A, true },
    [102] = { "forced_open", "door forced open", A, false },
    [103] = { "duress_finger_open", "duress fingerprint open", A, true },
    [200] = { "door_opened", "door opened", N, false },
    [201] = { "door_closed", "door closed", N, false },
    [202] = { "exit_button_open", "exit button open", N, true },
    [203] = { "multi_card_open_card_finger", "multi-card open (card plus fingerprint)", N, true },
    [204] = { "normal_open_tz_over", "normal-open time zone over", N, false },
    [205] = { "remote_normal_open", "remote normal opening", N, true },
    [206] = { "device_start", "device started", W, false },
    [207] = { "password_open", "password open", N, true },
    [208] = { "superuser_open", "superuser open", N, true },
    [220] = { "aux_input_open", "auxiliary input disconnected", W, false },
    [221] = { "aux_input_short", "auxiliary input shorted", W, false },
    [255] = { "status", "door/alarm status", N, false },
};

const char *c3_event_name(unsigned code)
{
    return code < 256 ? events[code].name : NULL;
}

const char *c3_event_key(unsigned code)
{
    return code < 256 ? events[code].key : NULL;
}

bool c3_event_known(unsigned code)
{
    return c3_event_name(code) != NULL;
}

enum c3_severity c3_event_severity(unsigned code)
{
    if (!c3_event_known(code))
        return C3_SEV_WARNING;
    return (enum c3_severity)events[code].severity;
}

bool c3_event_is_grant(unsigned code)
{
    return code < 256 && events[code].grant;
}

static const char *label(const char *name, const char *prefix, unsigned code, char *buf, size_t cap)
{
    if (name)
        return name;
    if (buf && cap)
        snprintf(buf, cap, "%s %u", prefix, code);
    return buf ? buf : "unknown";
}

const char *c3_event_label(unsigned code, char *buf, size_t cap)
{
    return label(c3_event_name(code), "event", code, buf, cap);
}

const char *c3_severity_name(enum c3_severity s)
{
    switch (s) {
    case C3_SEV_NORMAL:
        return "normal";
    case C3_SEV_WARNING:
        return "warning";
    case C3_SEV_ALARM:
        return "alarm";
    }
    return "unknown";
}

const char *c3_verify_name(unsigned code)
{
    static const char *const modes[] = {
        "card, finger or password", "finger", "PIN", "password", "card", "finger or password",
        "finger or card", "password or card", "PIN and finger", "finger and password", "finger and card",
        "password and card", "finger, password and card", "PIN, finger and password",
        "finger and card, or PIN",
    };
    if (code < sizeof modes / sizeof modes[0])
        return modes[code];
    if (code == 200)
        return "other";
    return NULL;
}

const char *c3_verify_label(unsigned code, char *buf, size_t cap)
{
    return label(c3_verify_name(code), "verify", code, buf, cap);
}

const char *c3_inout_name(unsigned code)
{
    switch (code) {
    case C3_INOUT_ENTRY:
        return "entry";
    case C3_INOUT_EXIT:
        return "exit";
    case C3_INOUT_NONE:
        return "none";
    }
    return NULL;
}

const char *c3_inout_label(unsigned code, char *buf, size_t cap)
{
    return label(c3_inout_name(code), "inout", code, buf, cap);
}

/* ---- Device data tables ---- */

static bool copy_name(char *dst, const char *src, size_t n)
{
    if (n == 0 || n >= C3_TABLE_NAME_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)src[i] <= ' ' || (unsigned char)src[i] >= 0x7F || src[i] == '=' || src[i] == ',')
            return false;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return true;
}

static bool parse_uint(const char *p, size_t n, unsigned maxv, unsigned *v)
{
    if (n == 0 || n > 9)
        return false;
    unsigned acc = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        acc = acc * 10u + (unsigned)(p[i] - '0');
    }
    if (acc > maxv)
        return false;
    *v = acc;
    return true;
}

/* One "Name=value" item of a structure line. */
static bool split_item(const char *p, size_t n, const char **name, size_t *nlen, const char **val, size_t *vlen)
{
    const char *eq = memchr(p, '=', n);
    if (!eq)
        return false;
    *name = p;
    *nlen = (size_t)(eq - p);
    *val = eq + 1;
    *vlen = n - *nlen - 1;
    return true;
}

static bool parse_struct_line(const char *line, size_t len, struct c3_table_def *t)
{
    memset(t, 0, sizeof *t);
    size_t i = 0;
    bool first = true;
    while (i < len) {
        const char *item = line + i;
        const char *comma = memchr(item, ',', len - i);
        size_t n = comma ? (size_t)(comma - item) : len - i;
        i += n + 1;
        if (n == 0)
            continue;
        const char *name, *val;
        size_t nlen, vlen;
        if (!split_item(item, n, &name, &nlen, &val, &vlen))
            return false;
        if (first) {
            if (!copy_name(t->name, name, nlen) || !parse_uint(val, vlen, 0xFFFFu, &t->id))
                return false;
            first = false;
            continue;
        }
        if (t->nfields == C3_TABLE_FIELDS_MAX || vlen < 2)
            return false;
        struct c3_table_field *f = &t->fields[t->nfields];
        unsigned idx;
        char ty = val[0];
        if (!((ty >= 'a' && ty <= 'z') || (ty >= 'A' && ty <= 'Z')) || !copy_name(f->name, name, nlen) ||
            !parse_uint(val + 1, vlen - 1, 255, &idx) || idx == 0)
            return false;
        f->type = ty;
        f->index = (uint8_t)idx;
        t->nfields++;
    }
    return !first;
}

int c3_table_struct_parse(const char *text, size_t len, struct c3_table_def *out, size_t max, size_t *bad)
{
    size_t good = 0, nbad = 0, pos = 0, n;
    const char *line;
    bool overflow = false;
    while (textline_next_sep(text, len, &pos, C3_TEXT_LINE_ENDS, C3_TEXT_LINE_ENDS_LEN, &line, &n)) {
        if (n == 0)
            continue;
        if (good >= max) {
            struct c3_table_def scratch;
            if (parse_struct_line(line, n, &scratch))
                overflow = true, good++;
            else
                nbad++;
            continue;
        }
        if (parse_struct_line(line, n, &out[good]))
            good++;
        else
            nbad++;
    }
    if (bad)
        *bad = nbad;
    return overflow ? C3_E_TOOMANY : (int)good;
}

const struct c3_table_def *c3_table_find(const struct c3_table_def *defs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(defs[i].name, name) == 0)
            return &defs[i];
    return NULL;
}

const struct c3_table_field *c3_table_field(const struct c3_table_def *t, const char *name)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (strcmp(t->fields[i].name, name) == 0)
            return &t->fields[i];
    return NULL;
}

int c3_getdata_request(uint8_t *out, size_t cap, unsigned table_id, const uint8_t *fields, size_t nfields)
{
    if (nfields == 0 || nfields > 255 || table_id > 255)
        return C3_E_RANGE;
    size_t total = 2 + nfields + 2;
    if (cap < total)
        return C3_E_NOSPACE;
    out[0] = (uint8_t)table_id;
    out[1] = (uint8_t)nfields;
    for (size_t i = 0; i < nfields; i++) {
        if (fields[i] == 0)
            return C3_E_RANGE;
        out[2 + i] = fields[i];
    }
    out[2 + nfields] = 0; /* option count */
    out[3 + nfields] = 0; /* condition count */
    return (int)total;
}

int c3_data_reader_init(struct c3_data_reader *r, const uint8_t *p, size_t len)
{
    memset(r, 0, sizeof *r);
    if (len < 2 || len < 2u + p[1])
        return C3_E_SHORT;
    r->p = p;
    r->len = len;
    r->table_id = p[0];
    r->nfields = p[1];
    memcpy(r->fields, p + 2, r->nfields);
    r->pos = 2 + r->nfields;
    return 0;
}

int c3_data_reader_next(struct c3_data_reader *r, struct c3_data_value *vals, size_t max)
{
    if (r->pos >= r->len || r->nfields == 0)
        return 0;
    if (max < r->nfields)
        return C3_E_NOSPACE;
    size_t pos = r->pos;
    for (size_t i = 0; i < r->nfields; i++) {
        if (pos >= r->len || r->len - pos - 1 < r->p[pos]) {
            r->pos = r->len;
            return C3_E_SHORT;
        }
        vals[i].len = r->p[pos];
        vals[i].p = r->p + pos + 1;
        pos += 1u + vals[i].len;
    }
    r->pos = pos;
    return 1;
}

int c3_data_value_u32(const struct c3_data_value *v, uint32_t *out)
{
    if (v->len > 4)
        return C3_E_RANGE;
    uint32_t acc = 0;
    for (size_t i = 0; i < v->len; i++)
        acc |= (uint32_t)v->p[i] << (8 * i);
    *out = acc;
    return 0;
}
