#include "drivers/c3/c3_store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/strbuf.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_params.h"

enum step { S_STRUCT, S_DOORS, S_REF_USERS, S_REF_TZ, S_READ, S_COUNT, S_DELETE, S_SET, S_VERIFY, S_CASCADE };

struct c3_store {
    struct c3_session *s;
    struct c3_store_req req;
    char table[C3_TABLE_NAME_LEN], where_field[C3_TABLE_NAME_LEN], where_value[256];
    struct csv req_rows;
    struct c3_xfer_opts o;
    c3_store_cb cb;
    void *arg;
    struct c3_xfer *x;
    bool cancelled;
    enum step step;
    struct c3_table_def *defs;
    size_t ndefs, count_i;
    const struct c3_table_def *def;
    unsigned doors;
    struct csv cur_raw, cur_op, full_op, want_raw, out;
    struct csv ref_users, ref_tz; /* access writes: the rows the rights refer to */
    bool have_ref_users, have_ref_tz;
    struct c3_diff op_diff, raw_diff;
    const char *keys[8];    /* the key columns of cur_op / full_op */
    size_t nkeys;
    bool written;
    size_t cascade_pins;
    char msg[600], note[200];
};

static void st_free(struct c3_store *st)
{
    csv_free(&st->req_rows);
    csv_free(&st->cur_raw);
    csv_free(&st->cur_op);
    csv_free(&st->full_op);
    csv_free(&st->want_raw);
    csv_free(&st->out);
    csv_free(&st->ref_users);
    csv_free(&st->ref_tz);
    c3_diff_free(&st->op_diff);
    c3_diff_free(&st->raw_diff);
    free(st->defs);
    free(st);
}

static bool is_raw(const struct c3_store *st) { return st->req.kind < 0; }

static void finish(struct c3_store *st, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void finish(struct c3_store *st, int err, const char *fmt, ...)
{
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(st->msg, sizeof st->msg, fmt, ap);
        va_end(ap);
    }
    struct c3_store_result r = { .err = err, .msg = st->msg, .written = st->written, .note = st->note };
    if (!err) {
        if (st->req.op == C3_STORE_LIST || st->req.op == C3_STORE_TABLES)
            r.rows = &st->out;
        else {
            r.cur = is_raw(st) ? &st->cur_raw : &st->cur_op;
            r.want = &st->full_op;
            r.diff = &st->op_diff;
            r.keys = st->nkeys ? st->keys : NULL;
            r.nkeys = st->nkeys;
        }
    }
    if (st->step == S_VERIFY && !err)
        r.mismatches = st->raw_diff.adds + st->raw_diff.updates + st->raw_diff.deletes;
    if (!st->cancelled && st->cb)
        st->cb(st->arg, &r);
    st_free(st);
}

static void on_xfer(void *arg, int err, const uint8_t *data, size_t len);

static void request(struct c3_store *st, enum step step, uint8_t cmd, const void *p, size_t len, bool write)
{
    st->step = step;
    int err;
    st->x = write ? c3_xfer_write(st->s, cmd, p, len, &st->o, on_xfer, st, &err)
                  : c3_xfer_get(st->s, cmd, p, len, &st->o, on_xfer, st, &err);
    if (!st->x)
        finish(st, err, "%s", c3_session_strerror(err));
}

static void read_def(struct c3_store *st, const struct c3_table_def *def, enum step step)
{
    struct c3_buf b = { 0 };
    if (c3_rows_query(def, &b) < 0) {
        c3_buf_free(&b);
        finish(st, C3_E_RANGE, "table %s cannot be read (id %u)", def->name, def->id);
        return;
    }
    request(st, step, C3_CMD_GET_DATA, b.p, b.len, false);
    c3_buf_free(&b);
}

static void read_table(struct c3_store *st)
{
    read_def(st, st->def,
             st->step == S_SET || st->step == S_DELETE || st->step == S_CASCADE ? S_VERIFY : S_READ);
}

/* Access rights added or changed refer to users and time zones: read those tables first (the next step after
 * the doors' count), or go on with the table itself. */
static void read_refs(struct c3_store *st)
{
    bool refs = st->req.kind == C3_KIND_ACCESS && st->req.op != C3_STORE_LIST && st->req.op != C3_STORE_DELETE;
    const struct c3_table_def *u = refs ? c3_table_find(st->defs, st->ndefs, "user") : NULL;
    const struct c3_table_def *t = refs ? c3_table_find(st->defs, st->ndefs, "timezone") : NULL;
    if (u && st->step < S_REF_USERS)
        read_def(st, u, S_REF_USERS);
    else if (t && st->step < S_REF_TZ)
        read_def(st, t, S_REF_TZ);
    else
        read_table(st);
}

/* ---- tables and counts ---- */

static void next_count(struct c3_store *st)
{
    while (st->count_i < st->ndefs && st->defs[st->count_i].id > 255)
        st->count_i++; /* e.g. "logfmt=256": listed, not countable */
    if (st->count_i >= st->ndefs) {
        finish(st, 0, NULL);
        return;
    }
    uint8_t id = (uint8_t)st->defs[st->count_i].id;
    request(st, S_COUNT, C3_CMD_GET_DATA_COUNT, &id, 1, false);
}

static int tables_rows(struct c3_store *st)
{
    static const char *const cols[] = { "table", "id", "rows", "fields" };
    if (csv_init(&st->out, cols, 4) < 0)
        return -1;
    for (size_t i = 0; i < st->ndefs; i++) {
        const struct c3_table_def *d = &st->defs[i];
        char id[16], fields[C3_TABLE_FIELDS_MAX * 40] = "";
        size_t o = 0;
        snprintf(id, sizeof id, "%u", d->id);
        for (size_t f = 0; f < d->nfields && o < sizeof fields; f++)
            o += (size_t)snprintf(fields + o, sizeof fields - o, "%s%s=%c%u", f ? " " : "", d->fields[f].name,
                                  d->fields[f].type, d->fields[f].index);
        const char *v[] = { d->name, id, d->id > 255 ? "" : "?", fields };
        if (csv_add(&st->out, v, 0) < 0)
            return -1;
    }
    return 0;
}

/* ---- changes ---- */

/* The rows of t by the key columns, to find the row of t with the key of a row of src (both have the columns;
 * else nothing is found). */
struct finder {
    const struct csv *t, *src;
    struct c3_keyidx x;
    int scol[8];
    bool ok;
};

static int finder_init(struct finder *f, const struct csv *t, const struct csv *src, const char *const *keys, size_t nk)
{
    memset(f, 0, sizeof *f);
    f->t = t;
    f->src = src;
    int tcol[8];
    if (nk > 8)
        return -1;
    for (size_t k = 0; k < nk; k++) {
        tcol[k] = csv_col(t, keys[k]);
        f->scol[k] = csv_col(src, keys[k]);
        if (tcol[k] < 0 || f->scol[k] < 0)
            return 0;
    }
    f->ok = true;
    return c3_keyidx_build(&f->x, t, tcol, nk);
}

/* The first row of t whose key is the key of row r of src, or t->nrows. */
static size_t find_key(const struct finder *f, size_t r)
{
    return f->ok ? c3_keyidx_find_row(&f->x, f->src, r, f->scol) : f->t->nrows;
}

static void finder_free(struct finder *f) { c3_keyidx_free(&f->x); }

static size_t line_of(const struct csv *c, size_t r) { return c->line && c->line[r] ? c->line[r] : r + 1; }

/* A row's key as the message shows it: "'7'" or "pin=1 door=2 timezone=1". */
static const char *key_text(const struct csv *t, size_t r, const char *const *keys, size_t nk, char *buf, size_t cap)
{
    struct strbuf sb;
    strbuf_init(&sb, buf, cap);
    for (size_t k = 0; k < nk; k++) {
        int c = csv_col(t, keys[k]);
        const char *v = c >= 0 ? csv_cell(t, r, (size_t)c) : "";
        if (nk == 1)
            strbuf_printf(&sb, "'%s'", v);
        else
            strbuf_printf(&sb, "%s%s=%s", k ? " " : "", keys[k], v);
    }
    return buf;
}

/* The whole wanted content in operator form: the panel's rows changed by the request. */
static int build_rows(struct c3_store *st, const struct csv *cur, const struct csv *rq, const char *const *keys,
                      size_t nk, const struct finder *by_key, const struct finder *by_pin, bool *gone);

static int build_full(struct c3_store *st, const char *const *keys, size_t nk)
{
    const struct csv *cur = is_raw(st) ? &st->cur_raw : &st->cur_op;
    const struct csv *rq = &st->req_rows;
    struct csv *full = &st->full_op;
    if (csv_init(full, (const char *const *)cur->header, cur->ncols) < 0)
        return -1;
    for (size_t k = 0; k < rq->ncols; k++)
        if (csv_col(cur, rq->header[k]) < 0) {
            snprintf(st->msg, sizeof st->msg, "line 1: %s: unknown column (%s)", rq->header[k],
                     is_raw(st) ? "not a field of the table" : "see the column list of the export");
            return -2;
        }
    for (size_t k = 0; k < nk; k++)
        if (csv_col(rq, keys[k]) < 0) {
            snprintf(st->msg, sizeof st->msg, "line 1: %s: the key column is missing", keys[k]);
            return -2;
        }
    enum c3_store_op op = st->req.op;
    if (is_raw(st) && op != C3_STORE_DELETE) {
        /* The rows in the form the panel will give back (an empty number is 0, no leading zeros), so that the
         * keys match the panel's rows, the difference shows what the panel will hold and the read-back agrees.
         * Keys are checked before (an empty key would become 0) and after (7 and 07 are the same key). */
        if (c3_rows_check_keys(st->def, &st->req_rows, st->msg, sizeof st->msg) < 0 ||
            c3_rows_canon(st->def, &st->req_rows, st->msg, sizeof st->msg) < 0 ||
            c3_rows_check_keys(st->def, &st->req_rows, st->msg, sizeof st->msg) < 0)
            return -2;
    }
    if (!is_raw(st)) {
        /* pin 007 is the user 7: the request finds the panel's row of its key (and the scope's value too) */
        if (c3_kind_keys_canon((enum c3_kind)st->req.kind, &st->req_rows) < 0)
            return -1;
        char v[sizeof st->where_value];
        c3_kind_key_canon((enum c3_kind)st->req.kind, st->where_field, st->where_value, v, sizeof v);
        memcpy(st->where_value, v, sizeof v);
    }
    if (op == C3_STORE_REPLACE && st->where_field[0]) {
        /* The rows replace only those whose FIELD is VALUE (one user's access rights): the others stay as the
         * panel holds them now, whatever the sender's copy said. */
        int sc = csv_col(cur, st->where_field), qc = csv_col(rq, st->where_field);
        if (sc < 0) {
            snprintf(st->msg, sizeof st->msg, "%s: not a column of %s", st->where_field,
                     is_raw(st) ? st->def->name : c3_kind_name((enum c3_kind)st->req.kind));
            return -2;
        }
        for (size_t r = 0; r < rq->nrows; r++)
            if (qc < 0 || strcmp(csv_cell(rq, r, (size_t)qc), st->where_value) != 0) {
                snprintf(st->msg, sizeof st->msg, "line %zu: %s: not %.40s (the rows replace those with %s=%.40s only)",
                         line_of(rq, r), st->where_field, st->where_value, st->where_field, st->where_value);
                return -2;
            }
        for (size_t r = 0; r < cur->nrows; r++)
            if (strcmp(csv_cell(cur, r, (size_t)sc), st->where_value) != 0 &&
                csv_add(full, (const char *const *)(cur->cells + r * cur->ncols), 0) < 0)
                return -1;
    }
    static const char *const pin[] = { "pin" };
    struct finder by_key, by_pin;
    bool cards = st->req.kind == C3_KIND_CARDS && op != C3_STORE_DELETE;
    int frc = finder_init(&by_key, cur, rq, keys, nk);
    if (frc == 0)
        frc = finder_init(&by_pin, cur, rq, pin, cards ? 1 : 0);
    else
        memset(&by_pin, 0, sizeof by_pin);
    bool *gone = frc == 0 ? calloc(cur->nrows + 1, sizeof *gone) : NULL;
    int rc = build_rows(st, cur, rq, keys, nk, &by_key, &by_pin, gone);
    free(gone);
    finder_free(&by_key);
    finder_free(&by_pin);
    return rc;
}

/* build_full's rows: the panel's rows the request leaves, then the request's rows (gone: cur->nrows flags). */
static int build_rows(struct c3_store *st, const struct csv *cur, const struct csv *rq, const char *const *keys,
                      size_t nk, const struct finder *by_key, const struct finder *by_pin, bool *gone)
{
    struct csv *full = &st->full_op;
    enum c3_store_op op = st->req.op;
    if (!gone)
        return -1;
    if (op != C3_STORE_REPLACE) {
        for (size_t r = 0; r < rq->nrows; r++) {
            size_t hit = find_key(by_key, r);
            char kt[160];
            if (op == C3_STORE_ADD && hit < cur->nrows) {
                snprintf(st->msg, sizeof st->msg, "line %zu: %s%s%s exists already (use set to change it)",
                         line_of(rq, r), nk == 1 ? keys[0] : "", nk == 1 ? ": " : "",
                         key_text(rq, r, keys, nk, kt, sizeof kt));
                return -2;
            }
            if (op == C3_STORE_DELETE && hit == cur->nrows) {
                snprintf(st->msg, sizeof st->msg, "line %zu: %s%s%s is not on the panel", line_of(rq, r),
                         nk == 1 ? keys[0] : "", nk == 1 ? ": " : "", key_text(rq, r, keys, nk, kt, sizeof kt));
                return -2;
            }
            if (hit < cur->nrows)
                gone[hit] = true;
            if (st->req.kind == C3_KIND_CARDS && op != C3_STORE_DELETE) {
                /* A user has one card: a new card of a user replaces the one it had. */
                size_t other = find_key(by_pin, r);
                if (other < cur->nrows && op == C3_STORE_ADD) {
                    snprintf(st->msg, sizeof st->msg, "line %zu: pin: user %s has card %s already (use set to change "
                             "it)", line_of(rq, r), csv_cell(cur, other, 1), csv_cell(cur, other, 0));
                    return -2;
                }
                if (other < cur->nrows)
                    gone[other] = true;
            }
        }
        for (size_t r = 0; r < cur->nrows; r++)
            if (!gone[r] && csv_add(full, (const char *const *)(cur->cells + r * cur->ncols), 0) < 0)
                return -1;
    }
    if (op != C3_STORE_DELETE) {
        /* A row of the request replaces the panel's row of its key; columns it leaves out keep their value. */
        int qc[CSV_FIELDS_MAX];
        for (size_t k = 0; k < cur->ncols && k < CSV_FIELDS_MAX; k++)
            qc[k] = csv_col(rq, cur->header[k]);
        for (size_t r = 0; r < rq->nrows; r++) {
            size_t hit = op == C3_STORE_SET ? find_key(by_key, r) : cur->nrows;
            const char *vals[CSV_FIELDS_MAX];
            for (size_t k = 0; k < cur->ncols && k < CSV_FIELDS_MAX; k++)
                vals[k] = qc[k] >= 0 ? csv_cell(rq, r, (size_t)qc[k]) : hit < cur->nrows ? csv_cell(cur, hit, k) : "";
            if (csv_add(full, vals, line_of(rq, r)) < 0)
                return -1;
        }
    }
    return 0;
}

static void start_writes(struct c3_store *st);

static void compute(struct c3_store *st)
{
    const char *const *keys;
    size_t nk;
    const char *rk[8];
    if (is_raw(st)) {
        nk = c3_table_keys(st->def, rk, 8);
        keys = rk;
    } else {
        nk = c3_kind_keys((enum c3_kind)st->req.kind, &keys);
    }
    st->nkeys = nk < 8 ? nk : 8;
    memcpy(st->keys, keys, st->nkeys * sizeof *keys);
    int rc = build_full(st, keys, nk);
    if (rc < 0) {
        finish(st, rc == -2 ? C3_S_INVALID : C3_S_NOMEM, rc == -2 ? NULL : "out of memory");
        return;
    }
    /* Everything is checked before anything is sent. */
    if (is_raw(st)) {
        /* a new row's fields the file leaves out are 0 / empty on the panel: shown and compared as such */
        if (c3_rows_check(st->def, &st->full_op, st->msg, sizeof st->msg) < 0 ||
            c3_rows_canon(st->def, &st->full_op, st->msg, sizeof st->msg) < 0) {
            finish(st, C3_S_INVALID, NULL);
            return;
        }
        if (csv_init(&st->want_raw, (const char *const *)st->full_op.header, st->full_op.ncols) < 0) {
            finish(st, C3_S_NOMEM, "out of memory");
            return;
        }
        for (size_t r = 0; r < st->full_op.nrows; r++)
            if (csv_add(&st->want_raw, (const char *const *)(st->full_op.cells + r * st->full_op.ncols), 0) < 0) {
                finish(st, C3_S_NOMEM, "out of memory");
                return;
            }
    } else {
        struct c3_kind_ctx ctx = { .def = st->def, .doors = st->doors, .users = &st->cur_raw, .replace = true,
                                   .ref_users = st->have_ref_users ? &st->ref_users : NULL,
                                   .ref_timezones = st->have_ref_tz ? &st->ref_tz : NULL };
        if (c3_kind_import((enum c3_kind)st->req.kind, &ctx, &st->full_op, &st->want_raw, st->msg, sizeof st->msg) <
            0) {
            finish(st, C3_S_INVALID, NULL);
            return;
        }
        /* The changes show what the panel will hold (the export of the rows to be written: "card 0099" is 99,
         * "loop 1" is yearly, a card of the cards kind carries its user's name), in key order. */
        struct csv held;
        if (c3_kind_export((enum c3_kind)st->req.kind, &st->want_raw, &held, st->msg, sizeof st->msg) < 0) {
            finish(st, C3_S_NOMEM, NULL);
            return;
        }
        csv_free(&st->full_op);
        st->full_op = held;
    }
    const char *tk[8];
    size_t ntk = c3_table_keys(st->def, tk, 8);
    const struct csv *cur_op = is_raw(st) ? &st->cur_raw : &st->cur_op;
    if (c3_diff_rows(cur_op, &st->full_op, keys, nk, true, &st->op_diff) < 0 ||
        c3_diff_rows(&st->cur_raw, &st->want_raw, tk, ntk, true, &st->raw_diff) < 0) {
        finish(st, C3_S_NOMEM, "out of memory");
        return;
    }
    if (st->req.dry_run || st->raw_diff.n == 0) {
        finish(st, 0, NULL);
        return;
    }
    start_writes(st);
}

static bool cascade(struct c3_store *st);

/* The rows are written: remove the access rights of deleted users, then read everything back. */
static void after_writes(struct c3_store *st)
{
    if (st->step != S_CASCADE && cascade(st))
        return;
    st->step = S_SET;
    read_table(st);
}

static void start_writes(struct c3_store *st)
{
    size_t *rows = malloc((st->raw_diff.n + 1) * sizeof *rows), n = 0;
    if (!rows) {
        finish(st, C3_S_NOMEM, "out of memory");
        return;
    }
    struct c3_buf b = { 0 };
    int rc = 0;
    if (st->step != S_DELETE) {
        for (size_t i = 0; i < st->raw_diff.n; i++)
            if (st->raw_diff.v[i].op == C3_CHANGE_DELETE)
                rows[n++] = st->raw_diff.v[i].cur;
        if (n) {
            rc = c3_rows_deldata(st->def, &st->cur_raw, rows, n, &b, st->msg, sizeof st->msg);
            if (rc == 0) {
                st->written = true;
                request(st, S_DELETE, C3_CMD_DELETE_DATA, b.p, b.len, true);
            }
            goto out;
        }
    }
    n = 0;
    for (size_t i = 0; i < st->raw_diff.n; i++)
        if (st->raw_diff.v[i].op != C3_CHANGE_DELETE)
            rows[n++] = st->raw_diff.v[i].want;
    if (!n) {
        after_writes(st);
        goto out;
    }
    rc = c3_rows_setdata(st->def, &st->want_raw, rows, n, &b, st->msg, sizeof st->msg);
    if (rc == 0) {
        st->written = true;
        request(st, S_SET, C3_CMD_SET_DATA, b.p, b.len, true);
    }
out:
    c3_buf_free(&b);
    free(rows);
    if (rc < 0)
        finish(st, C3_S_INVALID, NULL);
}

/* Deleting users deletes their access rights too (rows of userauthorize with their Pin). */
static bool cascade(struct c3_store *st)
{
    if (st->req.kind != C3_KIND_USERS || st->raw_diff.deletes == 0)
        return false;
    const struct c3_table_def *ua = c3_table_find(st->defs, st->ndefs, "userauthorize");
    const struct c3_table_field *pin = ua ? c3_table_field(ua, "Pin") : NULL;
    int pc = csv_col(&st->cur_raw, "Pin");
    if (!pin || pc < 0 || ua->id > 255)
        return false;
    struct c3_buf b = { 0 };
    c3_buf_byte(&b, (uint8_t)ua->id);
    c3_buf_byte(&b, 1);
    c3_buf_byte(&b, pin->index);
    st->cascade_pins = 0;
    for (size_t i = 0; i < st->raw_diff.n; i++) {
        if (st->raw_diff.v[i].op != C3_CHANGE_DELETE)
            continue;
        uint8_t v[16];
        int len = c3_value_from_text('i', csv_cell(&st->cur_raw, st->raw_diff.v[i].cur, (size_t)pc), v, sizeof v);
        if (len > 0) {
            c3_rows_value(&b, v, (size_t)len);
            st->cascade_pins++;
        }
    }
    if (!st->cascade_pins || b.oom) {
        c3_buf_free(&b);
        return false;
    }
    snprintf(st->note, sizeof st->note, "the access rights of the %zu deleted user%s were removed too",
             st->cascade_pins, st->cascade_pins == 1 ? "" : "s");
    request(st, S_CASCADE, C3_CMD_DELETE_DATA, b.p, b.len, true);
    c3_buf_free(&b);
    return true;
}

/* ---- text ---- */

/* "pin=7 card=1234 name=Ann" (empty cells left out) */
static void row_text(const struct csv *t, size_t r, struct strbuf *sb)
{
    int n = 0;
    for (size_t k = 0; k < t->ncols; k++) {
        const char *v = csv_cell(t, r, k);
        if (v[0] && !strbuf_printf(sb, "%s%s=%s", n++ ? " " : "", t->header[k], v))
            return;
    }
}

void c3_store_change_text(const struct c3_store_result *r, const struct c3_change *c, char *out, size_t cap)
{
    const struct csv *cur = r->cur, *want = r->want;
    struct strbuf sb;
    strbuf_init(&sb, out, cap);
    if (c->op != C3_CHANGE_UPDATE) {
        strbuf_puts(&sb, c->op == C3_CHANGE_ADD ? "+ " : "- ");
        row_text(c->op == C3_CHANGE_ADD ? want : cur, c->op == C3_CHANGE_ADD ? c->want : c->cur, &sb);
        return;
    }
    /* the row's key, then only what changes */
    strbuf_puts(&sb, "~ ");
    if (!r->nkeys)
        strbuf_printf(&sb, "%s=%s", want->header[0], csv_cell(want, c->want, 0));
    for (size_t k = 0; k < r->nkeys; k++) {
        int kc = csv_col(want, r->keys[k]);
        strbuf_printf(&sb, "%s%s=%s", k ? " " : "", r->keys[k], kc >= 0 ? csv_cell(want, c->want, (size_t)kc) : "");
    }
    strbuf_puts(&sb, ": ");
    int n = 0;
    for (size_t k = 0; k < want->ncols; k++) {
        int ck = csv_col(cur, want->header[k]);
        const char *a = ck >= 0 ? csv_cell(cur, c->cur, (size_t)ck) : "", *b = csv_cell(want, c->want, k);
        if (strcmp(a, b) != 0)
            strbuf_printf(&sb, "%s%s %s -> %s", n++ ? ", " : "", want->header[k], a[0] ? a : "(none)",
                          b[0] ? b : "(none)");
    }
}

void c3_store_summary(const struct c3_store_result *r, bool dry_run, char *out, size_t cap)
{
    const struct c3_diff *d = r->diff;
    const char *state = dry_run                                 ? "dry run: nothing written"
                        : !d->adds && !d->updates && !d->deletes ? "nothing to write"
                        : r->mismatches                          ? "WRITTEN, BUT THE PANEL READS BACK DIFFERENT"
                                                                 : "written and read back";
    snprintf(out, cap, "%zu added, %zu changed, %zu deleted, %zu unchanged: %s", d->adds, d->updates, d->deletes,
             d->same, state);
}

/* ---- steps ---- */

static void got_struct(struct c3_store *st, const uint8_t *data, size_t len)
{
    st->defs = calloc(64, sizeof *st->defs);
    if (!st->defs) {
        finish(st, C3_S_NOMEM, "out of memory");
        return;
    }
    int n = c3_table_struct_parse((const char *)data, len, st->defs, 64, NULL);
    st->ndefs = n > 0 ? (size_t)n : 0;
    if (st->req.op == C3_STORE_TABLES) {
        if (tables_rows(st) < 0) {
            finish(st, C3_S_NOMEM, "out of memory");
            return;
        }
        next_count(st);
        return;
    }
    const char *name = is_raw(st) ? st->table : c3_kind_table((enum c3_kind)st->req.kind);
    st->def = c3_table_find(st->defs, st->ndefs, name);
    if (!st->def) {
        finish(st, C3_E_RANGE, "this panel has no table \"%s\" (portierctl c3 HOST table list)", name);
        return;
    }
    if (is_raw(st) && st->where_field[0] && st->where_value[0]) {
        /* --where Pin=007 finds the row the panel gives back as 7 */
        char v[sizeof st->where_value];
        if (c3_rows_canon_value(st->def, st->where_field, st->where_value, v, sizeof v) == 0)
            memcpy(st->where_value, v, sizeof v);
    }
    if (st->req.kind == C3_KIND_ACCESS && st->req.op != C3_STORE_LIST) {
        static const char lc[] = "LockCount";
        request(st, S_DOORS, C3_CMD_GET_PARAM, lc, sizeof lc - 1, false);
        return;
    }
    read_table(st);
}

static void got_rows(struct c3_store *st, const uint8_t *data, size_t len)
{
    struct csv *dst = st->step == S_VERIFY ? &st->out : &st->cur_raw;
    if (c3_rows_decode(st->def, data, len, dst, st->msg, sizeof st->msg) < 0) {
        finish(st, C3_E_SYNTAX, NULL);
        return;
    }
    if (st->step == S_VERIFY) {
        /* Read back: what the panel holds now must be what was wanted. */
        const char *tk[8];
        size_t ntk = c3_table_keys(st->def, tk, 8);
        c3_diff_free(&st->raw_diff);
        if (c3_diff_rows(&st->out, &st->want_raw, tk, ntk, true, &st->raw_diff) < 0) {
            finish(st, C3_S_NOMEM, "out of memory");
            return;
        }
        finish(st, 0, NULL);
        return;
    }
    if (st->req.op == C3_STORE_LIST) {
        if (is_raw(st)) {
            int wc = st->where_field[0] ? csv_col(&st->cur_raw, st->where_field) : -1;
            if (st->where_field[0] && wc < 0) {
                finish(st, C3_S_INVALID, "--where %s: table %s has no such field", st->where_field, st->def->name);
                return;
            }
            if (csv_init(&st->out, (const char *const *)st->cur_raw.header, st->cur_raw.ncols) < 0) {
                finish(st, C3_S_NOMEM, "out of memory");
                return;
            }
            for (size_t r = 0; r < st->cur_raw.nrows; r++)
                if ((wc < 0 || strcmp(csv_cell(&st->cur_raw, r, (size_t)wc), st->where_value) == 0) &&
                    csv_add(&st->out, (const char *const *)(st->cur_raw.cells + r * st->cur_raw.ncols), 0) < 0) {
                    finish(st, C3_S_NOMEM, "out of memory");
                    return;
                }
        } else if (c3_kind_export((enum c3_kind)st->req.kind, &st->cur_raw, &st->out, st->msg, sizeof st->msg) < 0) {
            finish(st, C3_S_NOMEM, NULL);
            return;
        }
        finish(st, 0, NULL);
        return;
    }
    if (!is_raw(st) &&
        c3_kind_export((enum c3_kind)st->req.kind, &st->cur_raw, &st->cur_op, st->msg, sizeof st->msg) < 0) {
        finish(st, C3_S_NOMEM, NULL);
        return;
    }
    if (is_raw(st) && st->req.op == C3_STORE_DELETE) {
        /* --where F=V: the rows with that value go. */
        int wc = csv_col(&st->cur_raw, st->where_field);
        if (wc < 0) {
            finish(st, C3_S_INVALID, "--where %s: table %s has no such field", st->where_field, st->def->name);
            return;
        }
        csv_free(&st->req_rows);
        if (csv_init(&st->req_rows, (const char *const *)st->cur_raw.header, st->cur_raw.ncols) < 0) {
            finish(st, C3_S_NOMEM, "out of memory");
            return;
        }
        for (size_t r = 0; r < st->cur_raw.nrows; r++)
            if (strcmp(csv_cell(&st->cur_raw, r, (size_t)wc), st->where_value) == 0 &&
                csv_add(&st->req_rows, (const char *const *)(st->cur_raw.cells + r * st->cur_raw.ncols), r + 1) < 0) {
                finish(st, C3_S_NOMEM, "out of memory");
                return;
            }
        if (st->req_rows.nrows == 0) {
            finish(st, C3_S_INVALID, "no row of %s has %s = %s", st->def->name, st->where_field, st->where_value);
            return;
        }
    }
    compute(st);
}

static void on_xfer(void *arg, int err, const uint8_t *data, size_t len)
{
    struct c3_store *st = arg;
    st->x = NULL;
    if (st->cancelled) {
        st_free(st);
        return;
    }
    /* GET_DATA_COUNT of a table the firmware does not count answers nothing: shown as unknown. */
    if (err && st->step != S_COUNT) {
        finish(st, err, "%s%s", st->step == S_SET || st->step == S_DELETE ? "writing: " : "", c3_session_strerror(err));
        return;
    }
    switch (st->step) {
    case S_STRUCT:
        got_struct(st, data, len);
        return;
    case S_DOORS: {
        struct c3_param_span items[2];
        int k = c3_params_parse((const char *)data, len, items, 2);
        const struct c3_param_span *v = k > 0 ? c3_params_find(items, (size_t)k, "LockCount") : NULL;
        uint32_t d;
        st->doors = v && c3_params_value_u32(v, &d) == 0 && d >= 1 && d <= 4 ? d : 4;
        read_refs(st);
        return;
    }
    case S_REF_USERS:
    case S_REF_TZ: {
        bool users = st->step == S_REF_USERS;
        const struct c3_table_def *def = c3_table_find(st->defs, st->ndefs, users ? "user" : "timezone");
        if (c3_rows_decode(def, data, len, users ? &st->ref_users : &st->ref_tz, st->msg, sizeof st->msg) < 0) {
            finish(st, C3_E_SYNTAX, NULL);
            return;
        }
        *(users ? &st->have_ref_users : &st->have_ref_tz) = true;
        read_refs(st);
        return;
    }
    case S_READ:
    case S_VERIFY:
        got_rows(st, data, len);
        return;
    case S_COUNT: {
        uint32_t n;
        char t[16] = "?";
        if (!err && c3_count_parse(data, len, &n) == 0)
            snprintf(t, sizeof t, "%u", n);
        for (size_t r = 0; r < st->out.nrows; r++)
            if (strcmp(csv_cell(&st->out, r, 0), st->defs[st->count_i].name) == 0)
                csv_set(&st->out, r, 2, t);
        st->count_i++;
        next_count(st);
        return;
    }
    case S_DELETE:
        start_writes(st);
        return;
    case S_SET:
    case S_CASCADE:
        after_writes(st);
        return;
    }
}

struct c3_store *c3_store_run(struct c3_session *s, const struct c3_store_req *req, const struct c3_xfer_opts *o,
                              c3_store_cb cb, void *arg, int *err)
{
    struct c3_store *st = calloc(1, sizeof *st);
    if (!st) {
        *err = C3_S_NOMEM;
        return NULL;
    }
    st->s = s;
    st->req = *req;
    snprintf(st->table, sizeof st->table, "%s", req->table ? req->table : "");
    snprintf(st->where_field, sizeof st->where_field, "%s", req->where_field ? req->where_field : "");
    snprintf(st->where_value, sizeof st->where_value, "%s", req->where_value ? req->where_value : "");
    st->req.table = st->table;
    st->req.where_field = st->where_field;
    st->req.where_value = st->where_value;
    st->req.rows = NULL;
    if (req->rows) {
        const struct csv *r = req->rows;
        if (csv_init(&st->req_rows, (const char *const *)r->header, r->ncols) < 0) {
            st_free(st);
            *err = C3_S_NOMEM;
            return NULL;
        }
        for (size_t i = 0; i < r->nrows; i++)
            if (csv_add(&st->req_rows, (const char *const *)(r->cells + i * r->ncols),
                        r->line && r->line[i] ? r->line[i] : i + 1) < 0) {
                st_free(st);
                *err = C3_S_NOMEM;
                return NULL;
            }
    }
    if (req->op != C3_STORE_LIST && req->op != C3_STORE_TABLES && !(req->op == C3_STORE_DELETE && req->kind < 0) &&
        !req->rows) {
        st_free(st);
        *err = C3_S_INVALID;
        return NULL;
    }
    if (o)
        st->o = *o;
    st->cb = cb;
    st->arg = arg;
    st->step = S_STRUCT;
    st->x = c3_xfer_get(s, C3_CMD_TABLE_STRUCT, NULL, 0, &st->o, on_xfer, st, err);
    if (!st->x) {
        st_free(st);
        return NULL;
    }
    *err = 0;
    return st;
}

void c3_store_cancel(struct c3_store *st)
{
    if (!st)
        return;
    st->cancelled = true;
    if (st->x)
        c3_xfer_cancel(st->x);
    st->x = NULL;
    st_free(st);
}

void c3_store_destroy(struct c3_store *st)
{
    if (!st)
        return;
    if (st->x)
        c3_xfer_destroy(st->x);
    st->x = NULL;
    st_free(st);
}

json_t *c3_store_row_json(const struct csv *t, size_t row)
{
    json_t *o = json_object();
    for (size_t k = 0; o && k < t->ncols; k++)
        json_object_set_new(o, t->header[k], json_string(csv_cell(t, row, k)));
    return o;
}

json_t *c3_store_change_json(const struct c3_store_result *r, const struct c3_change *c)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    bool del = c->op == C3_CHANGE_DELETE;
    json_object_set_new(o, "change", json_string(c->op == C3_CHANGE_ADD ? "add" : del ? "delete" : "update"));
    json_object_set_new(o, "row", c3_store_row_json(del ? r->cur : r->want, del ? c->cur : c->want));
    if (c->op == C3_CHANGE_UPDATE)
        json_object_set_new(o, "was", c3_store_row_json(r->cur, c->cur));
    return o;
}

json_t *c3_store_summary_json(const struct c3_store_result *r, bool dry_run)
{
    const struct c3_diff *d = r->diff;
    json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:b,s:b,s:I}", "added", (json_int_t)d->adds, "updated",
                          (json_int_t)d->updates, "deleted", (json_int_t)d->deletes, "unchanged", (json_int_t)d->same,
                          "dry_run", dry_run, "written", r->written, "mismatches", (json_int_t)r->mismatches);
    if (o && r->note && r->note[0])
        json_object_set_new(o, "note", json_string(r->note));
    return o;
}
