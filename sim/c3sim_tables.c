#include "sim/c3sim_tables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crc.h"
#include "core/grow.h"
#include "drivers/c3/c3_data.h"
#include "drivers/c3/c3_frame.h"

/* ---- table definitions (field index = position + 1) ---- */

struct simfield {
    const char *name;
    char type;         /* 'i' or 's' */
    uint8_t width;     /* bytes the firmware keeps (longer values are cut to this) */
    bool key;          /* part of the primary key: SET_DATA replaces a row whose keys all match */
};

struct simdef {
    const char *name;
    unsigned id;
    const struct simfield *f;
    size_t nf;
};

#define I(n) { n, 'i', 4, false }
#define K(n) { n, 'i', 4, true }

static const struct simfield user_old[] = {
    I("CardNo"), K("Pin"), { "Password", 's', 8, false }, I("Group"), I("StartTime"), I("EndTime"),
    I("SuperAuthorize"),
};
static const struct simfield user_new[] = {
    I("UID"), I("CardNo"), K("Pin"), { "Password", 's', 8, false }, I("Group"), I("StartTime"), I("EndTime"),
    { "Name", 's', 24, false }, I("SuperAuthorize"),
};
static const struct simfield userauth[] = { K("Pin"), K("AuthorizeTimezoneId"), I("AuthorizeDoorId") };
static const struct simfield holiday[] = { K("Holiday"), I("HolidayType"), I("Loop") };
static const struct simfield timezone[] = {
    K("TimezoneId"),
    I("SunTime1"), I("MonTime1"), I("TueTime1"), I("WedTime1"), I("ThuTime1"), I("FriTime1"), I("SatTime1"),
    I("Hol1Time1"), I("Hol2Time1"), I("Hol3Time1"),
    I("SunTime2"), I("MonTime2"), I("TueTime2"), I("WedTime2"), I("ThuTime2"), I("FriTime2"), I("SatTime2"),
    I("Hol1Time2"), I("Hol2Time2"), I("Hol3Time2"),
    I("SunTime3"), I("MonTime3"), I("TueTime3"), I("WedTime3"), I("ThuTime3"), I("FriTime3"), I("SatTime3"),
    I("Hol1Time3"), I("Hol2Time3"), I("Hol3Time3"),
};
static const struct simfield firstcard[] = { K("Pin"), K("DoorID"), I("TimezoneID") };
static const struct simfield multimcard[] = { K("Index"), I("DoorId"), I("Group1"), I("Group2"), I("Group3"),
                                              I("Group4"), I("Group5") };
static const struct simfield inoutfun[] = { K("Index"), I("EventType"), I("InAddr"), I("OutType"), I("OutAddr"),
                                            I("OutTime"), I("Reserved") };
#undef I
#undef K

#define DEF(name, id, arr) { name, id, arr, sizeof arr / sizeof arr[0] }
static const struct simdef defs_old[] = {
    DEF("user", 1, user_old), DEF("userauthorize", 2, userauth), DEF("holiday", 3, holiday),
    DEF("timezone", 4, timezone), DEF("firstcard", 6, firstcard), DEF("multimcard", 7, multimcard),
    DEF("inoutfun", 8, inoutfun),
};
static const struct simdef defs_new[] = {
    DEF("user", 1, user_new), DEF("userauthorize", 2, userauth), DEF("holiday", 3, holiday),
    DEF("timezone", 4, timezone), DEF("firstcard", 6, firstcard), DEF("multimcard", 7, multimcard),
    DEF("inoutfun", 8, inoutfun),
};
#undef DEF

static const char *const txn_fields[] = { "Cardno", "Pin", "Verified", "DoorID", "EventType", "InOutState",
                                          "Time_second", "Index" };

struct c3sim_table {
    const struct simdef *def;
    struct c3sim_cell *cells;   /* rows x nf */
    bool *used;                 /* a deleted row leaves a free slot that the next insert reuses */
    size_t nrows, cap;
    size_t live;
};

/* ---- cells ---- */

static void cell_set(struct c3sim_cell *c, const struct simfield *f, const uint8_t *v, size_t len)
{
    if (f->type == 'i') {
        /* Integers are kept in their shortest form, so equal numbers compare equal. */
        while (len > 1 && v[len - 1] == 0)
            len--;
        if (len > 4)
            len = 4;
        if (len == 0) {
            c->len = 1;
            c->b[0] = 0;
            return;
        }
    } else {
        if (len > f->width)
            len = f->width;
        while (len > 0 && v[len - 1] == 0)
            len--;
    }
    c->len = (uint8_t)len;
    memcpy(c->b, v, len);
}

static bool cell_eq(const struct c3sim_cell *a, const struct c3sim_cell *b)
{
    return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

static struct c3sim_cell *row_cells(const struct c3sim_table *tb, size_t r) { return tb->cells + r * tb->def->nf; }

static void row_clear(const struct c3sim_table *tb, struct c3sim_cell *row)
{
    for (size_t i = 0; i < tb->def->nf; i++) {
        static const uint8_t zero = 0;
        cell_set(&row[i], &tb->def->f[i], &zero, tb->def->f[i].type == 'i' ? 1 : 0);
    }
}

/* ---- lifecycle ---- */

int c3sim_tables_init(struct c3sim_tables *t, enum c3sim_layout layout, size_t txn_cap, size_t user_max)
{
    memset(t, 0, sizeof *t);
    t->layout = layout;
    t->user_max = user_max ? user_max : 30000;
    t->txn_cap = txn_cap ? txn_cap : C3SIM_TXN_DEFAULT;
    t->txn = calloc(t->txn_cap, sizeof *t->txn);
    t->txn_next_index = 1;
    t->package = C3SIM_PACKAGE_DEFAULT;
    if (!t->txn)
        return -1;
    const struct simdef *defs = layout == C3SIM_LAYOUT_OLD ? defs_old : defs_new;
    size_t n = layout == C3SIM_LAYOUT_OLD ? sizeof defs_old / sizeof defs_old[0] : sizeof defs_new / sizeof defs_new[0];
    for (size_t i = 0; i < n; i++) {
        struct c3sim_table *tb = calloc(1, sizeof *tb);
        if (!tb) {
            c3sim_tables_free(t);
            return -1;
        }
        tb->def = &defs[i];
        t->tabs[t->ntabs++] = tb;
    }
    return 0;
}

void c3sim_tables_free(struct c3sim_tables *t)
{
    for (size_t i = 0; i < t->ntabs; i++) {
        free(t->tabs[i]->cells);
        free(t->tabs[i]->used);
        free(t->tabs[i]);
    }
    free(t->txn);
    free(t->big);
    memset(t, 0, sizeof *t);
}

void c3sim_tables_connected(struct c3sim_tables *t)
{
    t->big_len = t->big_got = 0;
    t->big_to_pc = false;
    t->big_cmd = 0;
}

/* ---- transaction table ---- */

static uint64_t txn_first_serial(const struct c3sim_tables *t) { return t->txn_serial - t->txn_count; }

void c3sim_tables_record(struct c3sim_tables *t, uint32_t card, uint32_t pin, uint8_t verify, uint8_t door,
                         uint8_t type, uint8_t inout, uint32_t time)
{
    if (!t->txn)
        return;
    size_t slot;
    if (t->txn_count == t->txn_cap) { /* full: the oldest row is overwritten */
        slot = t->txn_head;
        t->txn_head = (t->txn_head + 1) % t->txn_cap;
    } else {
        slot = (t->txn_head + t->txn_count) % t->txn_cap;
        t->txn_count++;
    }
    t->txn[slot] = (struct c3sim_txn){ .card = card, .pin = pin, .time = time, .index = t->txn_next_index++,
                                       .verify = verify, .door = door, .type = type, .inout = inout };
    t->txn_serial++;
}

uint32_t c3sim_tables_next_index(const struct c3sim_tables *t) { return t->txn_next_index; }

uint64_t c3sim_tables_txn_lost(const struct c3sim_tables *t) { return t->txn_serial - t->txn_count; }

static const struct c3sim_txn *txn_at(const struct c3sim_tables *t, uint64_t serial)
{
    uint64_t first = txn_first_serial(t);
    return &t->txn[(t->txn_head + (size_t)(serial - first)) % t->txn_cap];
}

static size_t txn_nfields(const struct c3sim_tables *t) { return t->layout == C3SIM_LAYOUT_NEW ? 8 : 7; }

static uint32_t txn_value(const struct c3sim_txn *x, unsigned field)
{
    switch (field) {
    case 1: return x->card;
    case 2: return x->pin;
    case 3: return x->verify;
    case 4: return x->door;
    case 5: return x->type;
    case 6: return x->inout;
    case 7: return x->time;
    case 8: return x->index;
    default: return 0;
    }
}

/* ---- lookup ---- */

static struct c3sim_table *table_by_id(const struct c3sim_tables *t, unsigned id)
{
    for (size_t i = 0; i < t->ntabs; i++)
        if (t->tabs[i]->def->id == id)
            return t->tabs[i];
    return NULL;
}

long c3sim_tables_count(const struct c3sim_tables *t, const char *name)
{
    if (strcmp(name, "transaction") == 0)
        return (long)t->txn_count;
    for (size_t i = 0; i < t->ntabs; i++)
        if (strcmp(t->tabs[i]->def->name, name) == 0)
            return (long)t->tabs[i]->live;
    return -1;
}

int c3sim_tables_struct_text(const struct c3sim_tables *t, char *out, size_t cap)
{
    size_t o = 0;
    char line[1024];
    for (unsigned id = 1; id <= 8; id++) {
        size_t k = 0;
        if (id == C3_TABLE_TRANSACTION) {
            k += (size_t)snprintf(line + k, sizeof line - k, "transaction=%u", id);
            for (size_t f = 0; f < txn_nfields(t); f++)
                k += (size_t)snprintf(line + k, sizeof line - k, ",%s=i%zu", txn_fields[f], f + 1);
        } else {
            const struct c3sim_table *tb = table_by_id(t, id);
            if (!tb)
                continue;
            k += (size_t)snprintf(line + k, sizeof line - k, "%s=%u", tb->def->name, id);
            for (size_t f = 0; f < tb->def->nf && k < sizeof line; f++)
                k += (size_t)snprintf(line + k, sizeof line - k, ",%s=%c%zu", tb->def->f[f].name, tb->def->f[f].type,
                                      f + 1);
        }
        if (o + k + 2 > cap)
            return -3;
        memcpy(out + o, line, k);
        o += k;
        out[o++] = '\n';
    }
    if (t->layout == C3SIM_LAYOUT_NEW) { /* seen on 5.4.3 firmware (spec §3.4) */
        static const char odd[] = "logfmt=256,logfmt=i1\n";
        if (o + sizeof odd > cap)
            return -3;
        memcpy(out + o, odd, sizeof odd - 1);
        o += sizeof odd - 1;
    }
    out[o] = '\0';
    return (int)o;
}

void c3sim_tables_describe(const struct c3sim_tables *t, char *out, size_t cap)
{
    long first = t->txn_count ? (long)txn_at(t, txn_first_serial(t))->index : 0;
    long last = t->txn_count ? (long)txn_at(t, t->txn_serial - 1)->index : 0;
    uint64_t unread = t->txn_serial - (t->read_ptr > txn_first_serial(t) ? t->read_ptr : txn_first_serial(t));
    snprintf(out, cap, "txn=%zu/%zu first=%ld last=%ld lost=%llu unread=%llu users=%ld access=%ld timezones=%ld "
                       "holidays=%ld",
             t->txn_count, t->txn_cap, first, last, (unsigned long long)c3sim_tables_txn_lost(t),
             (unsigned long long)unread, c3sim_tables_count(t, "user"), c3sim_tables_count(t, "userauthorize"),
             c3sim_tables_count(t, "timezone"), c3sim_tables_count(t, "holiday"));
}

/* ---- replies ---- */

static void reply_err(struct c3sim_reply *r, int err)
{
    r->code = C3_REPLY_ERROR;
    r->err = err;
}

static void reply_ok(struct c3sim_reply *r) { r->code = C3_REPLY_OK; }

/* Answer data: inline when it fits the package size, else through the big-data buffer (0x0D header). */
static void reply_data(struct c3sim_tables *t, struct c3sim_reply *r, struct c3_buf *b)
{
    if (b->oom) {
        reply_err(r, -12);
        return;
    }
    if (b->len <= t->package) {
        r->code = C3_REPLY_OK;
        r->data = b->p;
        r->len = b->len;
        b->p = NULL;
        return;
    }
    if (b->len > C3SIM_BIG_MAX) {
        reply_err(r, -3);
        return;
    }
    free(t->big);
    t->big = b->p;
    t->big_len = b->len;
    t->big_cap = b->cap;
    t->big_to_pc = true;
    b->p = NULL;
    struct c3_bigdata h = { .compressed = 0, .transfer_len = (uint32_t)t->big_len,
                            .original_len = (uint32_t)t->big_len, .crc32 = crc32_ieee(t->big, t->big_len),
                            .chunk_max = t->package - 12u };
    r->data = malloc(17);
    if (!r->data) {
        reply_err(r, -12);
        return;
    }
    r->len = (size_t)c3_bigdata_encode(r->data, 17, &h);
    r->code = C3_REPLY_PREPARE;
}

/* ---- GET_DATA ---- */

static bool txn_match(const struct c3sim_txn *x, const struct c3_getdata *q)
{
    for (size_t c = 0; c < q->nconds; c++) {
        uint32_t v;
        if (c3_data_value_u32(&q->cond_values[c], &v) < 0 || txn_value(x, q->cond_fields[c]) != v)
            return false;
    }
    return true;
}

static bool row_match(const struct c3sim_table *tb, const struct c3sim_cell *row, const struct c3_getdata *q)
{
    for (size_t c = 0; c < q->nconds; c++) {
        unsigned f = q->cond_fields[c];
        if (f == 0 || f > tb->def->nf)
            return false;
        struct c3sim_cell want;
        cell_set(&want, &tb->def->f[f - 1], q->cond_values[c].p, q->cond_values[c].len);
        if (!cell_eq(&want, &row[f - 1]))
            return false;
    }
    return true;
}

static void get_data(struct c3sim_tables *t, const uint8_t *p, size_t len, struct c3sim_reply *r)
{
    struct c3_getdata q;
    struct c3_buf b = { 0 };
    /* A request the firmware cannot parse, or an unknown table: an empty answer. */
    if (c3_getdata_parse(p, len, &q) < 0 || q.nfields == 0) {
        reply_ok(r);
        return;
    }
    c3_rows_begin(&b, q.table, q.fields, q.nfields);
    if (q.table == C3_TABLE_TRANSACTION) {
        uint64_t from = txn_first_serial(t);
        if (q.new_records && t->read_ptr > from)
            from = t->read_ptr;
        for (uint64_t s = from; s < t->txn_serial; s++) {
            const struct c3sim_txn *x = txn_at(t, s);
            if (!txn_match(x, &q))
                continue;
            for (size_t f = 0; f < q.nfields; f++) {
                if (q.fields[f] > txn_nfields(t))
                    c3_rows_value(&b, NULL, 0);
                else
                    c3_rows_int(&b, txn_value(x, q.fields[f]));
            }
        }
        if (q.new_records)
            t->newrec_end = t->txn_serial;
        reply_data(t, r, &b);
        c3_buf_free(&b);
        return;
    }
    struct c3sim_table *tb = table_by_id(t, q.table);
    if (!tb) {
        c3_buf_free(&b);
        reply_ok(r);
        return;
    }
    for (size_t i = 0; i < tb->nrows; i++) {
        if (!tb->used[i])
            continue;
        const struct c3sim_cell *row = row_cells(tb, i);
        if (!row_match(tb, row, &q))
            continue;
        for (size_t f = 0; f < q.nfields; f++) {
            unsigned fi = q.fields[f];
            if (fi == 0 || fi > tb->def->nf)
                c3_rows_value(&b, NULL, 0);
            else
                c3_rows_value(&b, row[fi - 1].b, row[fi - 1].len);
        }
    }
    reply_data(t, r, &b);
    c3_buf_free(&b);
}

/* ---- SET_DATA / DELETE_DATA ---- */

static int table_grow(struct c3sim_table *tb)
{
    /* two arrays of one capacity: each grows by the same rule, the capacity is kept when both have */
    size_t cap = tb->cap, ucap = tb->cap;
    struct c3sim_cell *c = grow_array(tb->cells, tb->cap, &cap, tb->def->nf * sizeof *c, 64);
    if (!c)
        return -1;
    tb->cells = c;
    bool *u = grow_array(tb->used, tb->cap, &ucap, sizeof *u, 64);
    if (!u)
        return -1;
    tb->used = u;
    tb->cap = cap;
    return 0;
}

static void row_delete(struct c3sim_table *tb, size_t i)
{
    if (tb->used[i]) {
        tb->used[i] = false;
        tb->live--;
    }
}

/* Insert a row into the first free slot (firmware: slots of deleted rows are reused) or at the end. *from: no
 * free slot before it (rows inserted one after the other without a delete between them search on from the last
 * one's slot instead of from the start). */
static int row_insert(struct c3sim_table *tb, const struct c3sim_cell *row, size_t *from)
{
    size_t slot = tb->nrows;
    for (size_t i = *from; tb->live < tb->nrows && i < tb->nrows; i++)
        if (!tb->used[i]) {
            slot = i;
            break;
        }
    *from = slot + 1;
    if (slot == tb->nrows) {
        if (tb->nrows == tb->cap && table_grow(tb) < 0)
            return -1;
        tb->nrows++;
    }
    memcpy(row_cells(tb, slot), row, tb->def->nf * sizeof *row);
    tb->used[slot] = true;
    tb->live++;
    return 0;
}

/* The key fields of two rows in some total order (equal exactly when every key cell is equal). */
static int keys_cmp(const struct c3sim_table *tb, const struct c3sim_cell *a, const struct c3sim_cell *b)
{
    for (size_t f = 0; f < tb->def->nf; f++) {
        if (!tb->def->f[f].key)
            continue;
        if (a[f].len != b[f].len)
            return a[f].len < b[f].len ? -1 : 1;
        int c = memcmp(a[f].b, b[f].b, a[f].len);
        if (c)
            return c;
    }
    return 0;
}

static bool table_keyed(const struct c3sim_table *tb)
{
    for (size_t f = 0; f < tb->def->nf; f++)
        if (tb->def->f[f].key)
            return true;
    return false;
}

struct new_rows {
    const struct c3sim_table *tb;
    const struct c3sim_cell *rows;
};

static int new_rows_cmp(const void *pa, const void *pb, void *arg)
{
    const struct new_rows *n = arg;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb, nf = n->tb->def->nf;
    int c = keys_cmp(n->tb, n->rows + a * nf, n->rows + b * nf);
    return c ? c : a < b ? -1 : a > b;
}

static bool keys_equal(const struct c3sim_table *tb, const struct c3sim_cell *a, const struct c3sim_cell *b)
{
    bool any = false;
    for (size_t f = 0; f < tb->def->nf; f++) {
        if (!tb->def->f[f].key)
            continue;
        any = true;
        if (!cell_eq(&a[f], &b[f]))
            return false;
    }
    return any;
}

/* SET_DATA body: every row is built in full (fields not sent are zero, as the firmware does), rows whose key
 * fields all match a new row are removed, then the new rows are appended (of two new rows with one key, the
 * last). Returns 0 or a panel error. */
static int set_data(struct c3sim_tables *t, const uint8_t *p, size_t len)
{
    struct c3_data_reader rd;
    if (c3_data_reader_init(&rd, p, len) < 0 || len <= 2u + rd.nfields)
        return 0; /* the firmware gives up on a short header but answers OK */
    struct c3sim_table *tb = table_by_id(t, rd.table_id);
    if (!tb)
        return 0; /* unknown table (transaction included): nothing written, still OK */
    size_t nf = tb->def->nf;
    struct c3sim_cell *rows = NULL;
    size_t nrows = 0, cap = 0;
    struct c3_data_value vals[255];
    int rc;
    while ((rc = c3_data_reader_next(&rd, vals, 255)) == 1) {
        for (size_t i = 0; i < rd.nfields; i++)
            if (vals[i].len > C3_DATA_VALUE_MAX) { /* firmware: a value over 10 bytes abandons the write */
                free(rows);
                return 0;
            }
        struct c3sim_cell *n = grow_array(rows, nrows, &cap, nf * sizeof *n, 16); /* a row is nf cells */
        if (!n) {
            free(rows);
            return -12;
        }
        rows = n;
        struct c3sim_cell *row = rows + nrows * nf;
        row_clear(tb, row);
        for (size_t i = 0; i < rd.nfields; i++) {
            unsigned fi = rd.fields[i];
            if (fi >= 1 && fi <= nf && vals[i].len > 0)
                cell_set(&row[fi - 1], &tb->def->f[fi - 1], vals[i].p, vals[i].len);
        }
        nrows++;
    }
    if (rc < 0) {
        free(rows);
        return 0; /* truncated record: the firmware's parse runs off; we write nothing */
    }
    /* The new rows by key (then by their order): the table's rows of those keys go, and of two new rows with one
     * key the later one stays (the records are stored one after the other). */
    size_t *order = malloc((nrows + 1) * sizeof *order);
    bool *later = calloc(nrows + 1, sizeof *later);
    if (!order || !later) {
        free(order);
        free(later);
        free(rows);
        return -12;
    }
    struct new_rows nr = { tb, rows };
    for (size_t k = 0; k < nrows; k++)
        order[k] = k;
    if (table_keyed(tb)) {
        qsort_r(order, nrows, sizeof *order, new_rows_cmp, &nr);
        for (size_t i = 0; i + 1 < nrows; i++)
            later[order[i]] = keys_cmp(tb, rows + order[i] * nf, rows + order[i + 1] * nf) == 0;
        for (size_t i = 0; i < tb->nrows; i++) {
            if (!tb->used[i])
                continue;
            size_t lo = 0, hi = nrows;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (keys_cmp(tb, rows + order[mid] * nf, row_cells(tb, i)) < 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < nrows && keys_cmp(tb, rows + order[lo] * nf, row_cells(tb, i)) == 0)
                row_delete(tb, i);
        }
    }
    int result = 0;
    size_t from = 0;
    for (size_t k = 0; k < nrows; k++) {
        if (later[k])
            continue;
        if (tb->live >= (tb->def->id == 1 ? t->user_max : C3SIM_TABLE_ROWS_MAX)) {
            result = -18; /* table full: what fits is written */
            break;
        }
        if (row_insert(tb, rows + k * nf, &from) < 0) {
            result = -12;
            break;
        }
    }
    free(order);
    free(later);
    free(rows);
    return result;
}

int c3sim_tables_put(struct c3sim_tables *t, const char *table, const char *const *fields, const char *const *values,
                     size_t n)
{
    struct c3sim_table *tb = NULL;
    for (size_t i = 0; i < t->ntabs; i++)
        if (strcmp(t->tabs[i]->def->name, table) == 0)
            tb = t->tabs[i];
    if (!tb || tb->def->nf > 64)
        return -1;
    struct c3sim_cell row[64];
    row_clear(tb, row);
    for (size_t k = 0; k < n; k++) {
        size_t f = 0;
        while (f < tb->def->nf && strcmp(tb->def->f[f].name, fields[k]) != 0)
            f++;
        if (f == tb->def->nf)
            return -1;
        if (tb->def->f[f].type == 'i') {
            uint8_t b[4];
            c3_put_le32(b, (uint32_t)strtoul(values[k], NULL, 10));
            cell_set(&row[f], &tb->def->f[f], b, 4);
        } else {
            cell_set(&row[f], &tb->def->f[f], (const uint8_t *)values[k], strlen(values[k]));
        }
    }
    for (size_t i = 0; i < tb->nrows; i++)
        if (tb->used[i] && keys_equal(tb, row_cells(tb, i), row))
            row_delete(tb, i);
    size_t from = 0;
    return row_insert(tb, row, &from);
}

static void delete_data(struct c3sim_tables *t, const uint8_t *p, size_t len)
{
    if (len < 2)
        return;
    unsigned id = p[0];
    size_t nc = p[1];
    if (len < 2 + nc)
        return;
    struct c3sim_table *tb = table_by_id(t, id);
    if (nc == 0) { /* no condition: clear the whole table */
        if (id == C3_TABLE_TRANSACTION) {
            t->txn_head = t->txn_count = 0;
            t->read_ptr = t->newrec_end = t->txn_serial;
        } else if (tb) {
            tb->nrows = tb->live = 0;
        }
        return;
    }
    if (!tb)
        return; /* conditional deletes of transaction rows are not simulated */
    const uint8_t *fields = p + 2;
    size_t i = 2 + nc;
    while (i < len) {
        struct c3sim_cell want[16];
        uint8_t wf[16];
        size_t k = 0;
        for (size_t c = 0; c < nc; c++) {
            if (i >= len || len - i - 1 < p[i])
                return;
            unsigned fi = fields[c];
            if (fi >= 1 && fi <= tb->def->nf && k < 16) {
                cell_set(&want[k], &tb->def->f[fi - 1], p + i + 1, p[i]);
                wf[k++] = (uint8_t)fi;
            }
            i += 1u + p[i];
        }
        for (size_t r = 0; r < tb->nrows; r++) {
            if (!tb->used[r] || k == 0)
                continue;
            bool all = true;
            for (size_t c = 0; c < k && all; c++)
                all = cell_eq(&want[c], &row_cells(tb, r)[wf[c] - 1]);
            if (all)
                row_delete(tb, r);
        }
    }
}

/* ---- command dispatch ---- */

static void reply_u32(struct c3sim_reply *r, uint32_t v)
{
    r->data = malloc(4);
    if (!r->data) {
        reply_err(r, -12);
        return;
    }
    c3_put_le32(r->data, v);
    r->len = 4;
    r->code = C3_REPLY_OK;
}

bool c3sim_tables_command(struct c3sim_tables *t, uint8_t cmd, const uint8_t *p, size_t len, struct c3sim_reply *r)
{
    memset(r, 0, sizeof *r);
    switch (cmd) {
    case C3_CMD_TABLE_STRUCT: {
        struct c3_buf b = { 0 };
        char text[8192];
        int n = c3sim_tables_struct_text(t, text, sizeof text);
        c3_buf_put(&b, text, n > 0 ? (size_t)n : 0);
        reply_data(t, r, &b);
        c3_buf_free(&b);
        return true;
    }
    case C3_CMD_GET_DATA:
        get_data(t, p, len, r);
        return true;
    case C3_CMD_SET_DATA: {
        int rc = set_data(t, p, len);
        if (rc < 0)
            reply_err(r, rc);
        else
            reply_ok(r);
        return true;
    }
    case C3_CMD_DELETE_DATA:
        delete_data(t, p, len);
        reply_ok(r);
        return true;
    case C3_CMD_GET_DATA_COUNT: {
        long n = len >= 1 ? (p[0] == C3_TABLE_TRANSACTION ? (long)t->txn_count
                                                          : (table_by_id(t, p[0]) ? (long)table_by_id(t, p[0])->live : -1))
                          : -1;
        if (n < 0)
            reply_ok(r); /* firmware: an unknown table answers nothing */
        else
            reply_u32(r, (uint32_t)n);
        t->counts_served += len >= 1 && p[0] == C3_TABLE_TRANSACTION;
        return true;
    }
    case C3_CMD_GET_DATA_OK:
        /* Firmware: the read pointer moves past what the last new-records read returned, and success is
         * answered with C9 and a zero byte (the handler's ERROR macro; see doc/decisions.md). */
        if (len >= 1 && p[0] == C3_TABLE_TRANSACTION && t->newrec_end > t->read_ptr)
            t->read_ptr = t->newrec_end;
        reply_err(r, 0);
        return true;
    case C3_CMD_READ_DATA: {
        if (len < 4 || !t->big_to_pc) {
            reply_err(r, -11);
            return true;
        }
        uint32_t off = c3_get_le32(p);
        if (off >= t->big_len) {
            reply_err(r, -11);
            return true;
        }
        size_t n = t->big_len - off;
        if (n > t->package - 12u)
            n = t->package - 12u;
        r->data = malloc(4 + n);
        if (!r->data) {
            reply_err(r, -12);
            return true;
        }
        c3_put_le32(r->data, off);
        memcpy(r->data + 4, t->big + off, n);
        r->len = 4 + n;
        r->code = C3_REPLY_OK;
        t->reads_served++;
        return true;
    }
    case C3_CMD_PREPARE_DATA: {
        uint32_t total, package;
        if (c3_prepare_parse(p, len, &total, &package) < 0 || total > C3SIM_BIG_MAX || package < 64 ||
            package > C3_DATA_MAX_DEFAULT) {
            reply_err(r, -11);
            return true;
        }
        t->package = package;
        free(t->big);
        t->big = calloc(1, total ? total : 1);
        t->big_len = t->big ? total : 0;
        t->big_got = 0;
        t->big_to_pc = false;
        t->big_cmd = 0;
        if (!t->big)
            reply_err(r, -12);
        else
            reply_ok(r);
        return true;
    }
    case C3_CMD_DATA: {
        uint32_t off = len >= 4 ? c3_get_le32(p) : 0;
        if (len < 4 || t->big_to_pc || (uint64_t)off + (len - 4) > t->big_len) {
            reply_err(r, -11);
            return true;
        }
        if (len > 4)
            memcpy(t->big + off, p + 4, len - 4);
        t->big_got += len - 4;
        reply_ok(r);
        return true;
    }
    case C3_CMD_HASH_DATA:
        if (len >= 1)
            t->big_cmd = p[0];
        reply_u32(r, crc32_ieee(t->big, t->big_len));
        return true;
    case C3_CMD_FREE_DATA: {
        int rc = 0;
        if (!t->big_to_pc && t->big_len > 0) {
            if (t->big_cmd == C3_CMD_SET_DATA)
                rc = set_data(t, t->big, t->big_len);
            else if (t->big_cmd == C3_CMD_DELETE_DATA)
                delete_data(t, t->big, t->big_len);
        }
        free(t->big);
        t->big = NULL;
        t->big_len = t->big_got = 0;
        t->big_to_pc = false;
        t->big_cmd = 0;
        if (rc < 0)
            reply_err(r, rc);
        else
            reply_ok(r);
        return true;
    }
    default:
        return false;
    }
}
