#include "drivers/c3/c3_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/grow.h"
#include "core/hex.h"
#include "drivers/c3/c3_frame.h"

/* ---- buffer ---- */

void c3_buf_free(struct c3_buf *b)
{
    free(b->p);
    *b = (struct c3_buf){ 0 };
}

void c3_buf_put(struct c3_buf *b, const void *data, size_t n)
{
    if (b->oom || n == 0)
        return;
    uint8_t *p = grow_to(b->p, b->len + n, &b->cap, 1, 256);
    if (!p) {
        b->oom = true;
        return;
    }
    b->p = p;
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

void c3_buf_byte(struct c3_buf *b, uint8_t v) { c3_buf_put(b, &v, 1); }

/* ---- GET_DATA ---- */

int c3_getdata_build(struct c3_buf *b, const struct c3_getdata *q)
{
    if (q->nfields == 0 || q->nfields > 255 || q->table > 255 || q->nconds > 16)
        return C3_E_RANGE;
    for (size_t i = 0; i < q->nfields; i++)
        if (q->fields[i] == 0)
            return C3_E_RANGE;
    for (size_t i = 0; i < q->nconds; i++)
        if (q->cond_fields[i] == 0 || q->cond_values[i].len > 255)
            return C3_E_RANGE;
    c3_buf_byte(b, (uint8_t)q->table);
    c3_buf_byte(b, (uint8_t)q->nfields);
    c3_buf_put(b, q->fields, q->nfields);
    if (q->new_records) {
        c3_buf_byte(b, 1);
        c3_buf_byte(b, q->option ? q->option : 1);
    } else {
        c3_buf_byte(b, 0);
    }
    c3_buf_byte(b, (uint8_t)q->nconds);
    c3_buf_put(b, q->cond_fields, q->nconds);
    for (size_t i = 0; i < q->nconds; i++) {
        c3_buf_byte(b, (uint8_t)q->cond_values[i].len);
        c3_buf_put(b, q->cond_values[i].p, q->cond_values[i].len);
    }
    return b->oom ? C3_E_NOSPACE : 0;
}

int c3_getdata_parse(const uint8_t *p, size_t len, struct c3_getdata *q)
{
    memset(q, 0, sizeof *q);
    size_t i = 0;
    if (len < 2)
        return C3_E_SHORT;
    q->table = p[i++];
    q->nfields = p[i++];
    /* The firmware wants something after the field list (the option count at least). */
    if (len - i < q->nfields + 1u)
        return C3_E_SHORT;
    memcpy(q->fields, p + i, q->nfields);
    i += q->nfields;
    unsigned nopt = p[i++];
    if (nopt) {
        if (i >= len)
            return C3_E_SHORT;
        q->new_records = true;
        q->option = p[i++];
    }
    if (i >= len)
        return 0; /* no condition count: no conditions */
    size_t nc = p[i++];
    if (nc > 16)
        return C3_E_RANGE;
    if (len - i < nc)
        return C3_E_SHORT;
    q->nconds = nc;
    memcpy(q->cond_fields, p + i, nc);
    i += nc;
    for (size_t c = 0; c < nc; c++) {
        if (i >= len || len - i - 1 < p[i])
            return C3_E_SHORT;
        q->cond_values[c].len = p[i];
        q->cond_values[c].p = p + i + 1;
        i += 1u + p[i];
    }
    return 0;
}

/* ---- records ---- */

int c3_rows_begin(struct c3_buf *b, unsigned table, const uint8_t *fields, size_t nfields)
{
    if (table > 255 || nfields == 0 || nfields > 255)
        return C3_E_RANGE;
    c3_buf_byte(b, (uint8_t)table);
    c3_buf_byte(b, (uint8_t)nfields);
    c3_buf_put(b, fields, nfields);
    return b->oom ? C3_E_NOSPACE : 0;
}

int c3_rows_value(struct c3_buf *b, const uint8_t *v, size_t len)
{
    if (len > 255)
        return C3_E_RANGE;
    c3_buf_byte(b, (uint8_t)len);
    c3_buf_put(b, v, len);
    return b->oom ? C3_E_NOSPACE : 0;
}

static size_t int_bytes(uint64_t v, uint8_t out[8])
{
    size_t n = 0;
    do {
        out[n++] = (uint8_t)v;
        v >>= 8;
    } while (v && n < 8);
    return n;
}

void c3_rows_int(struct c3_buf *b, uint64_t v)
{
    uint8_t t[8];
    (void)c3_rows_value(b, t, int_bytes(v, t));
}

/* ---- values as text ---- */

static bool type_int(char t) { return t == 'i' || t == 'L'; }

int c3_value_to_text(char type, const struct c3_data_value *v, char *out, size_t cap)
{
    if (cap == 0)
        return C3_E_NOSPACE;
    if (type_int(type)) {
        size_t max = type == 'i' ? 4 : 8;
        if (v->len > max)
            return C3_E_RANGE;
        uint64_t x = 0;
        for (size_t i = 0; i < v->len; i++)
            x |= (uint64_t)v->p[i] << (8 * i);
        int n = snprintf(out, cap, "%llu", (unsigned long long)x);
        return n < 0 || (size_t)n >= cap ? C3_E_NOSPACE : n;
    }
    if (type == 's') {
        size_t n = 0;
        while (n < v->len && v->p[n] != 0)
            n++;
        if (n + 1 > cap)
            return C3_E_NOSPACE;
        for (size_t i = 0; i < n; i++) /* keep the text printable: a control byte becomes '?' */
            out[i] = (v->p[i] < 0x20 || v->p[i] == 0x7F) ? '?' : (char)v->p[i];
        out[n] = '\0';
        return (int)n;
    }
    if (2 * v->len + 1 > cap)
        return C3_E_NOSPACE;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < v->len; i++) {
        out[2 * i] = hex[v->p[i] >> 4];
        out[2 * i + 1] = hex[v->p[i] & 15u];
    }
    out[2 * v->len] = '\0';
    return (int)(2 * v->len);
}

int c3_value_from_text(char type, const char *text, uint8_t *out, size_t cap)
{
    size_t n = strlen(text);
    if (type_int(type)) {
        if (n == 0 || n > 20)
            return C3_E_SYNTAX;
        uint64_t x = 0;
        for (size_t i = 0; i < n; i++) {
            if (text[i] < '0' || text[i] > '9')
                return C3_E_SYNTAX;
            uint64_t d = (uint64_t)(text[i] - '0');
            if (x > (UINT64_MAX - d) / 10u)
                return C3_E_RANGE;
            x = x * 10u + d;
        }
        if (type == 'i' && x > UINT32_MAX)
            return C3_E_RANGE;
        uint8_t t[8];
        size_t k = int_bytes(x, t);
        if (k > cap)
            return C3_E_NOSPACE;
        memcpy(out, t, k);
        return (int)k;
    }
    if (type == 's') {
        if (n > 255)
            return C3_E_RANGE;
        if (n > cap)
            return C3_E_NOSPACE;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)text[i] < 0x20 || text[i] == 0x7F)
                return C3_E_SYNTAX;
        memcpy(out, text, n);
        return (int)n;
    }
    if (n % 2)
        return C3_E_SYNTAX;
    if (n / 2 > 255)
        return C3_E_RANGE;
    if (n / 2 > cap)
        return C3_E_NOSPACE;
    if (hex_decode(text, n / 2, out) != 0)
        return C3_E_SYNTAX;
    return (int)(n / 2);
}

int c3_count_parse(const uint8_t *p, size_t len, uint32_t *count)
{
    if (len < 4)
        return C3_E_SHORT;
    *count = c3_get_le32(p);
    return 0;
}

/* ---- big-data messages ---- */

void c3_readdata_request(uint8_t out[4], uint32_t offset) { c3_put_le32(out, offset); }

int c3_readdata_reply(const uint8_t *p, size_t len, uint32_t *offset, const uint8_t **chunk, size_t *chunk_len)
{
    if (len < 4)
        return C3_E_SHORT;
    *offset = c3_get_le32(p);
    *chunk = p + 4;
    *chunk_len = len - 4;
    return 0;
}

void c3_prepare_request(uint8_t out[8], uint32_t total, uint32_t package)
{
    c3_put_le32(out, total);
    c3_put_le32(out + 4, package);
}

int c3_prepare_parse(const uint8_t *p, size_t len, uint32_t *total, uint32_t *package)
{
    if (len < 8)
        return C3_E_SHORT;
    *total = c3_get_le32(p);
    *package = c3_get_le32(p + 4);
    return 0;
}

/* ---- transaction rows ---- */

static uint8_t field_index(const struct c3_table_def *t, const char *name)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (strcasecmp(t->fields[i].name, name) == 0)
            return t->fields[i].index;
    return 0;
}

int c3_txn_fields_find(const struct c3_table_def *t, struct c3_txn_fields *f)
{
    f->card = field_index(t, "Cardno");
    f->pin = field_index(t, "Pin");
    f->verify = field_index(t, "Verified");
    f->door = field_index(t, "DoorID");
    f->type = field_index(t, "EventType");
    f->inout = field_index(t, "InOutState");
    f->time = field_index(t, "Time_second");
    f->index = field_index(t, "Index");
    return f->type && f->time ? 0 : C3_E_SYNTAX;
}

int c3_txn_history_query(const char *structure, size_t len, struct c3_txn_fields *f, struct c3_buf *b)
{
    struct c3_table_def *defs = calloc(64, sizeof *defs);
    int n = defs ? c3_table_struct_parse(structure, len, defs, 64, NULL) : -1;
    const struct c3_table_def *t = n > 0 ? c3_table_find(defs, (size_t)n, "transaction") : NULL;
    if (!t || c3_txn_fields_find(t, f) < 0 || t->id > 255) {
        free(defs);
        return -1;
    }
    struct c3_getdata q = { .table = t->id };
    q.nfields = c3_txn_fields_list(f, q.fields);
    free(defs);
    c3_getdata_build(b, &q);
    return 0;
}

size_t c3_txn_fields_list(const struct c3_txn_fields *f, uint8_t out[8])
{
    const uint8_t all[8] = { f->card, f->pin, f->verify, f->door, f->type, f->inout, f->time, f->index };
    size_t n = 0;
    for (size_t i = 0; i < 8; i++)
        if (all[i])
            out[n++] = all[i];
    return n;
}

int c3_txn_decode(const struct c3_data_reader *r, const struct c3_data_value *vals, const struct c3_txn_fields *f,
                  struct c3_txn *out)
{
    memset(out, 0, sizeof *out);
    out->index = -1;
    for (size_t i = 0; i < r->nfields; i++) {
        uint8_t idx = r->fields[i];
        if (idx == 0)
            continue;
        uint32_t v;
        if (c3_data_value_u32(&vals[i], &v) < 0)
            return C3_E_RANGE;
        if (idx == f->card)
            out->card = v;
        else if (idx == f->pin)
            out->pin = v;
        else if (idx == f->time)
            out->time = v;
        else if (idx == f->index)
            out->index = v;
        else if (v > 255)
            return C3_E_RANGE;
        else if (idx == f->verify)
            out->verify = (uint8_t)v;
        else if (idx == f->door)
            out->door = (uint8_t)v;
        else if (idx == f->type)
            out->type = (uint8_t)v;
        else if (idx == f->inout)
            out->inout = (uint8_t)v;
    }
    return 0;
}

static const char *const txn_keys[] = { "time", "door", "event", "verify", "inout", "card", "pin", "index" };

json_t *c3_txn_json(const struct c3_txn *t)
{
    return json_pack("{s:I,s:i,s:i,s:i,s:i,s:I,s:I,s:I}", txn_keys[0], (json_int_t)t->time, txn_keys[1], t->door,
                     txn_keys[2], t->type, txn_keys[3], t->verify, txn_keys[4], t->inout, txn_keys[5],
                     (json_int_t)t->card, txn_keys[6], (json_int_t)t->pin, txn_keys[7], (json_int_t)t->index);
}

int c3_txn_from_json(const json_t *o, struct c3_txn *t)
{
    json_int_t n[8];
    if (!json_is_object(o))
        return -1;
    for (size_t k = 0; k < 8; k++) {
        const json_t *v = json_object_get(o, txn_keys[k]);
        if (!json_is_integer(v))
            return -1;
        n[k] = json_integer_value(v);
        /* time, card, pin: 32 bits; door, event, verify, inout: 8 bits; index: -1 or a record number */
        json_int_t max = k == 0 || k == 5 || k == 6 ? (json_int_t)UINT32_MAX : k == 7 ? INT64_MAX : 255;
        if (n[k] < (k == 7 ? -1 : 0) || n[k] > max)
            return -1;
    }
    *t = (struct c3_txn){ .time = (uint32_t)n[0], .door = (uint8_t)n[1], .type = (uint8_t)n[2],
                          .verify = (uint8_t)n[3], .inout = (uint8_t)n[4], .card = (uint32_t)n[5],
                          .pin = (uint32_t)n[6], .index = n[7] };
    return 0;
}
