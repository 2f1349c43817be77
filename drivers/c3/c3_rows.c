#include "drivers/c3/c3_rows.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/grow.h"
#include "drivers/c3/c3_frame.h"

#define N(a) (sizeof a / sizeof a[0])

int c3_row_bad(const struct c3_row_ctx *c, const char *col, const char *fmt, ...)
{
    int n;
    if (c->in && c->in->line && c->in->line[c->row] == 0) /* a row the panel holds, not one of the file */
        n = snprintf(c->err, c->errlen, "the panel's row %zu: %s: ", c->row + 1, col);
    else
        n = snprintf(c->err, c->errlen, "line %zu: %s: ", c->in && c->in->line ? c->in->line[c->row] : c->row + 1,
                     col);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < c->errlen)
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- raw rows ---- */

static const struct {
    const char *table;
    const char *keys[3];
} table_keys[] = {
    { "user", { "Pin" } },
    { "userauthorize", { "Pin", "AuthorizeTimezoneId" } },
    { "holiday", { "Holiday" } },
    { "timezone", { "TimezoneId" } },
    { "firstcard", { "Pin", "DoorID" } },
    { "multimcard", { "Index" } },
    { "inoutfun", { "Index" } },
};

bool c3_table_keyed(const struct c3_table_def *def)
{
    for (size_t i = 0; i < N(table_keys); i++)
        for (size_t k = 0; k < 3 && table_keys[i].keys[k] && strcmp(def->name, table_keys[i].table) == 0; k++)
            if (c3_table_field(def, table_keys[i].keys[k]))
                return true;
    return false;
}

size_t c3_table_keys(const struct c3_table_def *def, const char **keys, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < N(table_keys); i++) {
        if (strcmp(def->name, table_keys[i].table) != 0)
            continue;
        for (size_t k = 0; k < 3 && table_keys[i].keys[k] && n < max; k++)
            if (c3_table_field(def, table_keys[i].keys[k]))
                keys[n++] = table_keys[i].keys[k];
        if (n)
            return n;
    }
    for (size_t i = 0; i < def->nfields && n < max; i++)
        keys[n++] = def->fields[i].name;
    return n;
}

int c3_rows_query(const struct c3_table_def *def, struct c3_buf *b)
{
    struct c3_getdata q = { .table = def->id, .nfields = def->nfields };
    if (def->id > 255 || def->nfields == 0)
        return C3_E_RANGE;
    for (size_t i = 0; i < def->nfields; i++)
        q.fields[i] = def->fields[i].index;
    return c3_getdata_build(b, &q);
}

int c3_rows_decode(const struct c3_table_def *def, const uint8_t *data, size_t len, struct csv *out, char *err,
                   size_t errlen)
{
    const char *names[C3_TABLE_FIELDS_MAX];
    for (size_t i = 0; i < def->nfields; i++)
        names[i] = def->fields[i].name;
    if (csv_init(out, names, def->nfields) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (len == 0)
        return 0; /* an empty table may be answered with nothing at all */
    struct c3_data_reader rd;
    if (c3_data_reader_init(&rd, data, len) < 0) {
        snprintf(err, errlen, "the panel's answer is too short");
        csv_free(out);
        return -1;
    }
    /* Map the answer's fields to ours (the panel echoes the ones asked for). */
    int map[255];
    for (size_t i = 0; i < rd.nfields; i++) {
        map[i] = -1;
        for (size_t f = 0; f < def->nfields; f++)
            if (def->fields[f].index == rd.fields[i])
                map[i] = (int)f;
    }
    struct c3_data_value v[255];
    int rc;
    char text[C3_TABLE_FIELDS_MAX][520];
    const char *vals[C3_TABLE_FIELDS_MAX];
    while ((rc = c3_data_reader_next(&rd, v, 255)) == 1) {
        for (size_t f = 0; f < def->nfields; f++) {
            text[f][0] = '\0';
            vals[f] = text[f];
        }
        for (size_t i = 0; i < rd.nfields; i++) {
            if (map[i] < 0)
                continue;
            const struct c3_table_field *fd = &def->fields[map[i]];
            if (c3_value_to_text(fd->type, &v[i], text[map[i]], sizeof text[0]) < 0) {
                snprintf(err, errlen, "field %s of row %zu: a value the panel should not send", fd->name,
                         out->nrows + 1);
                csv_free(out);
                return -1;
            }
        }
        if (csv_add(out, vals, 0) < 0) {
            snprintf(err, errlen, "out of memory");
            csv_free(out);
            return -1;
        }
    }
    if (rc < 0) {
        snprintf(err, errlen, "the panel's answer ends in the middle of a row");
        csv_free(out);
        return -1;
    }
    return 0;
}

static const struct c3_table_field *field_ci(const struct c3_table_def *def, const char *name)
{
    for (size_t i = 0; i < def->nfields; i++)
        if (strcasecmp(def->fields[i].name, name) == 0)
            return &def->fields[i];
    return NULL;
}

/* Text fields the firmware keeps fewer bytes of than the 10 a value may have (its record structs): a longer value
 * would be cut silently, so it is refused. */
static const struct {
    const char *table, *field;
    unsigned width;
} text_widths[] = {
    { "user", "Password", 8 },
};

static unsigned text_width(const struct c3_table_def *def, const struct c3_table_field *fd)
{
    for (size_t i = 0; i < N(text_widths); i++)
        if (strcmp(def->name, text_widths[i].table) == 0 && strcmp(fd->name, text_widths[i].field) == 0)
            return text_widths[i].width;
    return C3_DATA_VALUE_MAX;
}

/* One cell as the panel's value of field fd; an empty cell is 0 for a number and no bytes for text. */
static int encode_cell(const struct c3_row_ctx *c, const struct c3_table_def *def, const struct c3_table_field *fd,
                       const char *cell, uint8_t *out, size_t cap)
{
    const char *text = cell[0] || (fd->type != 'i' && fd->type != 'L') ? cell : "0"; /* empty bytes: none */
    int n = c3_value_from_text(fd->type, text, out, cap);
    if (n == C3_E_SYNTAX)
        return c3_row_bad(c, fd->name, "'%s' is not %s", text,
                          fd->type == 'i' || fd->type == 'L' ? "a number"
                          : fd->type == 's'                  ? "printable text"
                                                             : "hex bytes");
    if (n < 0)
        return c3_row_bad(c, fd->name, "'%s' is too large", text);
    if ((size_t)n > C3_DATA_VALUE_MAX)
        return c3_row_bad(c, fd->name, "'%s' is longer than the %u bytes the panel takes", text, C3_DATA_VALUE_MAX);
    if (fd->type == 's' && (size_t)n > text_width(def, fd))
        return c3_row_bad(c, fd->name, "'%s' is longer than the %u characters the panel keeps", text,
                          text_width(def, fd));
    return n;
}

/* The values of fields fds[0..nf) (column col[k] of raw, -1 = not there: empty) of the given rows, into b. */
static int put_rows(const struct c3_table_def *def, const struct csv *raw, const size_t *rows, size_t n,
                    const struct c3_table_field *const *fds, const int *col, size_t nf, struct c3_buf *b, char *err,
                    size_t errlen)
{
    struct c3_row_ctx c = { err, errlen, raw, 0 };
    for (size_t i = 0; i < n; i++) {
        c.row = rows[i];
        for (size_t k = 0; k < nf; k++) {
            uint8_t val[255];
            int len = encode_cell(&c, def, fds[k], col[k] >= 0 ? csv_cell(raw, rows[i], (size_t)col[k]) : "", val,
                                  sizeof val);
            if (len < 0)
                return -1;
            c3_rows_value(b, val, (size_t)len);
        }
    }
    if (b->oom) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int c3_rows_check(const struct c3_table_def *def, const struct csv *raw, char *err, size_t errlen)
{
    struct c3_row_ctx c = { err, errlen, raw, 0 };
    for (size_t k = 0; k < raw->ncols; k++)
        if (!field_ci(def, raw->header[k])) {
            snprintf(err, errlen, "line 1: %s: table %s has no such field", raw->header[k], def->name);
            return -1;
        }
    for (c.row = 0; c.row < raw->nrows; c.row++)
        for (size_t k = 0; k < raw->ncols; k++) {
            uint8_t b[255];
            if (encode_cell(&c, def, field_ci(def, raw->header[k]), csv_cell(raw, c.row, k), b, sizeof b) < 0)
                return -1;
        }
    return 0;
}

/* The text the panel gives back for what encode_cell sends. */
static int canon_cell(const struct c3_row_ctx *c, const struct c3_table_def *def, const struct c3_table_field *fd,
                      const char *cell, char *out, size_t cap)
{
    uint8_t b[255];
    int n = encode_cell(c, def, fd, cell, b, sizeof b);
    if (n < 0)
        return -1;
    struct c3_data_value v = { b, (size_t)n };
    if (c3_value_to_text(fd->type, &v, out, cap) < 0)
        return c3_row_bad(c, fd->name, "'%s' cannot be shown as the panel keeps it", cell);
    return 0;
}

int c3_rows_canon(const struct c3_table_def *def, struct csv *raw, char *err, size_t errlen)
{
    struct c3_row_ctx c = { err, errlen, raw, 0 };
    for (size_t k = 0; k < raw->ncols; k++) {
        const struct c3_table_field *fd = field_ci(def, raw->header[k]);
        for (c.row = 0; fd && c.row < raw->nrows; c.row++) {
            char text[2 * 255 + 1];
            if (canon_cell(&c, def, fd, csv_cell(raw, c.row, k), text, sizeof text) < 0)
                return -1;
            if (strcmp(text, csv_cell(raw, c.row, k)) != 0 && csv_set(raw, c.row, k, text) < 0) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
        }
    }
    return 0;
}

int c3_rows_canon_value(const struct c3_table_def *def, const char *field, const char *in, char *out, size_t cap)
{
    const struct c3_table_field *fd = field_ci(def, field);
    char err[8];
    struct c3_row_ctx c = { err, sizeof err, NULL, 0 };
    if (!fd || canon_cell(&c, def, fd, in, out, cap) < 0) {
        snprintf(out, cap, "%s", in);
        return -1;
    }
    return 0;
}

/* ---- rows by key ---- */

static int key_cmp_rows(const void *pa, const void *pb, void *arg)
{
    const struct c3_keyidx *x = arg;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    for (size_t k = 0; k < x->nk; k++) {
        int c = strcmp(csv_cell(x->t, a, (size_t)x->col[k]), csv_cell(x->t, b, (size_t)x->col[k]));
        if (c)
            return c;
    }
    return a < b ? -1 : a > b;
}

int c3_keyidx_build(struct c3_keyidx *x, const struct csv *t, const int *cols, size_t nk)
{
    memset(x, 0, sizeof *x);
    if (nk > 8)
        return -1;
    x->t = t;
    x->nk = nk;
    for (size_t k = 0; k < nk; k++)
        x->col[k] = cols[k];
    x->order = malloc((t->nrows + 1) * sizeof *x->order);
    if (!x->order)
        return -1;
    for (size_t r = 0; r < t->nrows; r++)
        x->order[r] = r;
    qsort_r(x->order, t->nrows, sizeof *x->order, key_cmp_rows, x);
    return 0;
}

void c3_keyidx_free(struct c3_keyidx *x)
{
    free(x->order);
    memset(x, 0, sizeof *x);
}

/* The row at position pos against a key. */
static int key_cmp(const struct c3_keyidx *x, size_t pos, const char *const *key)
{
    for (size_t k = 0; k < x->nk; k++) {
        int c = strcmp(csv_cell(x->t, x->order[pos], (size_t)x->col[k]), key[k]);
        if (c)
            return c;
    }
    return 0;
}

size_t c3_keyidx_lower(const struct c3_keyidx *x, const char *const *key)
{
    size_t lo = 0, hi = x->t->nrows;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key_cmp(x, mid, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool c3_keyidx_at(const struct c3_keyidx *x, size_t pos, const char *const *key)
{
    return pos < x->t->nrows && key_cmp(x, pos, key) == 0;
}

size_t c3_keyidx_find(const struct c3_keyidx *x, const char *const *key)
{
    size_t pos = c3_keyidx_lower(x, key);
    return c3_keyidx_at(x, pos, key) ? x->order[pos] : x->t->nrows;
}

size_t c3_keyidx_find_row(const struct c3_keyidx *x, const struct csv *src, size_t r, const int *scols)
{
    const char *key[8];
    for (size_t k = 0; k < x->nk; k++)
        key[k] = csv_cell(src, r, (size_t)scols[k]);
    return c3_keyidx_find(x, key);
}

int c3_rows_check_keys(const struct c3_table_def *def, const struct csv *raw, char *err, size_t errlen)
{
    if (!c3_table_keyed(def))
        return 0;
    const char *keys[8];
    size_t nk = c3_table_keys(def, keys, 8);
    int col[8], present[8];
    size_t np = 0;
    for (size_t k = 0; k < nk; k++) {
        col[k] = csv_col(raw, keys[k]);
        if (col[k] >= 0)
            present[np++] = col[k];
    }
    /* a key column the rows leave out is the same (empty) in every row */
    struct c3_keyidx x;
    if (c3_keyidx_build(&x, raw, present, np) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct c3_row_ctx c = { err, errlen, raw, 0 };
    int rc = 0;
    for (c.row = 0; c.row < raw->nrows && rc == 0; c.row++) {
        for (size_t k = 0; k < nk && rc == 0; k++)
            if (col[k] >= 0 && !csv_cell(raw, c.row, (size_t)col[k])[0])
                rc = c3_row_bad(&c, keys[k], "empty, but it is %s (write 0 if 0 is meant)",
                                nk == 1 ? "the row's key" : "part of the row's key");
        size_t r = rc == 0 ? c3_keyidx_find_row(&x, raw, c.row, present) : c.row;
        if (r < c.row) {
            char kt[160] = "";
            size_t o = 0;
            for (size_t k = 0; k < nk && o < sizeof kt; k++)
                if (col[k] >= 0)
                    o += (size_t)snprintf(kt + o, sizeof kt - o, "%s%s=%s", o ? " " : "", keys[k],
                                          csv_cell(raw, c.row, (size_t)col[k]));
            rc = c3_row_bad(&c, keys[0], "the key %s appears again (first on line %zu)", kt,
                            raw->line && raw->line[r] ? raw->line[r] : r + 1);
        }
    }
    c3_keyidx_free(&x);
    return rc;
}

int c3_rows_setdata(const struct c3_table_def *def, const struct csv *raw, const size_t *rows, size_t n,
                    struct c3_buf *b, char *err, size_t errlen)
{
    uint8_t fields[C3_TABLE_FIELDS_MAX];
    const struct c3_table_field *fds[C3_TABLE_FIELDS_MAX];
    int col[C3_TABLE_FIELDS_MAX];
    for (size_t f = 0; f < def->nfields; f++) {
        fields[f] = def->fields[f].index;
        fds[f] = &def->fields[f];
        col[f] = -1;
        for (size_t k = 0; k < raw->ncols; k++)
            if (strcasecmp(raw->header[k], def->fields[f].name) == 0)
                col[f] = (int)k;
    }
    if (c3_rows_begin(b, def->id, fields, def->nfields) < 0) {
        snprintf(err, errlen, "table %s cannot be written (id %u)", def->name, def->id);
        return -1;
    }
    return put_rows(def, raw, rows, n, fds, col, def->nfields, b, err, errlen);
}

int c3_rows_deldata(const struct c3_table_def *def, const struct csv *raw, const size_t *rows, size_t n,
                    struct c3_buf *b, char *err, size_t errlen)
{
    const char *keys[8];
    size_t nk = c3_table_keys(def, keys, 8);
    uint8_t fields[8];
    const struct c3_table_field *fds[8];
    int col[8];
    for (size_t k = 0; k < nk; k++) {
        fds[k] = c3_table_field(def, keys[k]);
        fields[k] = fds[k]->index;
        col[k] = csv_col(raw, keys[k]);
        if (col[k] < 0) {
            snprintf(err, errlen, "the key field %s is missing", keys[k]);
            return -1;
        }
    }
    if (def->id > 255) {
        snprintf(err, errlen, "table %s cannot be written (id %u)", def->name, def->id);
        return -1;
    }
    c3_buf_byte(b, (uint8_t)def->id);
    c3_buf_byte(b, (uint8_t)nk);
    c3_buf_put(b, fields, nk);
    return put_rows(def, raw, rows, n, fds, col, nk, b, err, errlen);
}

/* ---- the difference ---- */

static int diff_add(struct c3_diff *d, enum c3_change_op op, size_t want, size_t cur)
{
    struct c3_change *v = grow_array(d->v, d->n, &d->cap, sizeof *v, 64);
    if (!v)
        return -1;
    d->v = v;
    d->v[d->n++] = (struct c3_change){ op, want, cur };
    if (op == C3_CHANGE_ADD)
        d->adds++;
    else if (op == C3_CHANGE_UPDATE)
        d->updates++;
    else
        d->deletes++;
    return 0;
}

int c3_diff_rows(const struct csv *cur, const struct csv *want, const char *const *keys, size_t nkeys, bool deletes,
                 struct c3_diff *d)
{
    memset(d, 0, sizeof *d);
    int kc[8], kw[8];
    if (nkeys > 8)
        return -1;
    for (size_t k = 0; k < nkeys; k++) {
        kc[k] = csv_col(cur, keys[k]);
        kw[k] = csv_col(want, keys[k]);
        if (kc[k] < 0 || kw[k] < 0)
            return -1;
    }
    /* want's columns in cur (a column cur lacks compares as empty) */
    int *wc = malloc((want->ncols + 1) * sizeof *wc);
    bool *seen = calloc(cur->nrows + 1, sizeof *seen);
    /* the next row of each key of cur not matched yet: at the key's first position in the index, the position of
     * the next one (rows of one key are matched in row order, so the matched ones are always the first) */
    size_t *next = malloc((cur->nrows + 1) * sizeof *next);
    struct c3_keyidx x;
    if (!wc || !seen || !next || c3_keyidx_build(&x, cur, kc, nkeys) < 0) {
        free(wc);
        free(seen);
        free(next);
        return -1;
    }
    for (size_t k = 0; k < want->ncols; k++)
        wc[k] = csv_col(cur, want->header[k]);
    for (size_t p = 0; p < cur->nrows; p++)
        next[p] = p;
    int rc = 0;
    for (size_t w = 0; w < want->nrows && rc == 0; w++) {
        const char *key[8];
        for (size_t k = 0; k < nkeys; k++)
            key[k] = csv_cell(want, w, (size_t)kw[k]);
        size_t first = c3_keyidx_lower(&x, key), hit = cur->nrows;
        if (c3_keyidx_at(&x, first, key) && c3_keyidx_at(&x, next[first], key))
            hit = x.order[next[first]++];
        if (hit == cur->nrows) {
            rc = diff_add(d, C3_CHANGE_ADD, w, 0);
            continue;
        }
        seen[hit] = true;
        bool same = true;
        for (size_t k = 0; k < want->ncols && same; k++)
            same = strcmp(wc[k] >= 0 ? csv_cell(cur, hit, (size_t)wc[k]) : "", csv_cell(want, w, k)) == 0;
        if (same)
            d->same++;
        else
            rc = diff_add(d, C3_CHANGE_UPDATE, w, hit);
    }
    for (size_t r = 0; rc == 0 && deletes && r < cur->nrows; r++)
        if (!seen[r])
            rc = diff_add(d, C3_CHANGE_DELETE, 0, r);
    c3_keyidx_free(&x);
    free(wc);
    free(seen);
    free(next);
    if (rc < 0)
        c3_diff_free(d);
    return rc;
}

void c3_diff_free(struct c3_diff *d)
{
    free(d->v);
    memset(d, 0, sizeof *d);
}
