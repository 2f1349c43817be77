/* journal_query: the journal's queries: paged newest first, and forward reading (the read-write connection,
 * or the read-only one the history falls back to while the journal cannot be written). */
#include <stdio.h>
#include <string.h>

#include "core/journal_int.h"
#include "core/textfold.h"

struct sqlbuf {
    char sql[2048];
    size_t len;
    const char *texts[16];
    int64_t ints[16];
    bool is_text[16];
    int n;
};

static void sql_add(struct sqlbuf *b, const char *s)
{
    size_t l = strlen(s);
    if (b->len + l < sizeof b->sql) {
        memcpy(b->sql + b->len, s, l + 1);
        b->len += l;
    }
}

static void bind_add_text(struct sqlbuf *b, const char *v)
{
    if (b->n < 16) {
        b->texts[b->n] = v;
        b->is_text[b->n++] = true;
    }
}

static void bind_add_int(struct sqlbuf *b, int64_t v)
{
    if (b->n < 16) {
        b->ints[b->n] = v;
        b->is_text[b->n++] = false;
    }
}

static void add_common(struct sqlbuf *b, const struct journal_query *q, const char *timecol)
{
    sql_add(b, " WHERE 1");
    if (q->since_us) {
        sql_add(b, " AND ");
        sql_add(b, timecol);
        sql_add(b, " >= ?");
        bind_add_int(b, q->since_us);
    }
    if (q->until_us) {
        sql_add(b, " AND ");
        sql_add(b, timecol);
        sql_add(b, " < ?");
        bind_add_int(b, q->until_us);
    }
    if (q->before_id > 0) {
        sql_add(b, " AND id < ?");
        bind_add_int(b, q->before_id);
    }
    if (q->after_id > 0) {
        sql_add(b, " AND id > ?");
        bind_add_int(b, q->after_id);
    }
}

/* The database queries read, or NULL with the reason in the error text. */
static sqlite3 *query_db(struct journal *j)
{
    sqlite3 *db = journal_query_db(j);
    if (!db) {
        char why[200];
        event_copy(why, sizeof why, j->reason[0] ? j->reason : j->err);
        snprintf(j->err, sizeof j->err, "no journal database can be read (%s)", why);
    }
    return db;
}

static void query_error(struct journal *j, sqlite3 *db)
{
    snprintf(j->err, sizeof j->err, "query: %s", sqlite3_errmsg(db));
}

/* portier_fold(text): the text in lower case by Unicode (core/textfold.h), for the searches: SQLite's own lower()
 * folds ASCII only, and the console's filters fold every letter. */
static void fold_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *s = (const char *)sqlite3_value_text(argv[0]);
    if (!s) {
        sqlite3_result_null(ctx);
        return;
    }
    size_t n = (size_t)sqlite3_value_bytes(argv[0]), cap = textfold_max(n) + 1;
    char small[512];
    char *o = cap <= sizeof small ? small : sqlite3_malloc64(cap);
    if (!o) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    size_t len = textfold(s, n, o, cap);
    sqlite3_result_text(ctx, o, (int)len, o == small ? SQLITE_TRANSIENT : sqlite3_free);
}

void journal_query_functions(sqlite3 *db)
{
    sqlite3_create_function(db, "portier_fold", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, fold_fn, NULL, NULL);
}

static sqlite3_stmt *finish_query(struct journal *j, struct sqlbuf *b, const struct journal_query *q)
{
    sql_add(b, " ORDER BY id DESC LIMIT ?");
    bind_add_int(b, q->limit ? (int64_t)q->limit : 100);
    sqlite3 *db = query_db(j);
    sqlite3_stmt *st;
    if (!db)
        return NULL;
    if (sqlite3_prepare_v2(db, b->sql, -1, &st, NULL) != SQLITE_OK) {
        query_error(j, db);
        return NULL;
    }
    for (int i = 0; i < b->n; i++) {
        if (b->is_text[i])
            journal_bind_text(st, i + 1, b->texts[i]);
        else
            sqlite3_bind_int64(st, i + 1, b->ints[i]);
    }
    return st;
}

static void col_text(sqlite3_stmt *st, int i, char *dst, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    event_copy(dst, len, t ? (const char *)t : "");
}

#define EVENT_COLUMNS "id,host_us,kind,severity,device_time,device_tz,device,door,door_no,code,code_name," \
                      "card,pin,verify,inout,uid,unit,addr,text,key,acked_us,recovered"

/* One row of EVENT_COLUMNS into ev. */
static void read_event_row(sqlite3_stmt *st, struct event *ev)
{
    event_init(ev, (enum event_kind)sqlite3_column_int(st, 2), (enum event_severity)sqlite3_column_int(st, 3));
    ev->id = sqlite3_column_int64(st, 0);
    ev->host_time_us = sqlite3_column_int64(st, 1);
    ev->device_time = sqlite3_column_int64(st, 4);
    ev->device_tz_valid = sqlite3_column_type(st, 5) != SQLITE_NULL;
    ev->device_tz_min = sqlite3_column_int(st, 5);
    col_text(st, 6, ev->device, sizeof ev->device);
    col_text(st, 7, ev->door, sizeof ev->door);
    ev->door_no = sqlite3_column_int(st, 8);
    ev->code = sqlite3_column_int(st, 9);
    col_text(st, 10, ev->code_name, sizeof ev->code_name);
    ev->card = (uint32_t)sqlite3_column_int64(st, 11);
    ev->pin = (uint32_t)sqlite3_column_int64(st, 12);
    ev->verify = sqlite3_column_int(st, 13);
    ev->inout = sqlite3_column_int(st, 14);
    col_text(st, 15, ev->uid, sizeof ev->uid);
    ev->unit = sqlite3_column_int(st, 16);
    col_text(st, 17, ev->addr, sizeof ev->addr);
    col_text(st, 18, ev->text, sizeof ev->text);
    col_text(st, 19, ev->key, sizeof ev->key);
    ev->recovered = sqlite3_column_int(st, 21) != 0;
    ev->journaled = true;
}

/* Where the rows of one query go: one of the caller's callbacks and its argument. */
struct row_ctx {
    journal_row_fn row;
    journal_event_fn event;
    journal_audit_fn audit;
    void *arg;
};

/* Steps st to its end or until a row's callback returns non-zero (that row counts), then finalizes st.
 * Returns the number of rows delivered, or -1 with the reason in the error text. */
static long deliver_rows(struct journal *j, sqlite3_stmt *st, int (*one)(sqlite3_stmt *, struct row_ctx *),
                         struct row_ctx *c)
{
    long n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        n++;
        if (one(st, c))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        query_error(j, sqlite3_db_handle(st));
        n = -1;
    }
    sqlite3_finalize(st);
    return n;
}

/* An EVENT_COLUMNS row to a journal_event_fn. */
static int event_row(sqlite3_stmt *st, struct row_ctx *c)
{
    struct event ev;
    read_event_row(st, &ev);
    return c->event(&ev, sqlite3_column_int64(st, 20) != 0, c->arg);
}

/* An EVENT_COLUMNS,acked_by row to a journal_row_fn. */
static int ack_row(sqlite3_stmt *st, struct row_ctx *c)
{
    struct event ev;
    read_event_row(st, &ev);
    struct journal_ack ack = { .acked = sqlite3_column_int64(st, 20) != 0, .time_us = sqlite3_column_int64(st, 20) };
    col_text(st, 22, ack.by, sizeof ack.by);
    return c->row(&ev, &ack, c->arg);
}

/* An audit row to a journal_audit_fn. */
static int audit_row(sqlite3_stmt *st, struct row_ctx *c)
{
    struct audit_record r;
    memset(&r, 0, sizeof r);
    r.id = sqlite3_column_int64(st, 0);
    r.time_us = sqlite3_column_int64(st, 1);
    col_text(st, 2, r.user, sizeof r.user);
    col_text(st, 3, r.role, sizeof r.role);
    col_text(st, 4, r.action, sizeof r.action);
    col_text(st, 5, r.target, sizeof r.target);
    col_text(st, 6, r.params, sizeof r.params);
    col_text(st, 7, r.result, sizeof r.result);
    col_text(st, 8, r.detail, sizeof r.detail);
    r.done_us = sqlite3_column_int64(st, 9);
    return c->audit(&r, c->arg);
}

struct events_adapter {
    journal_event_fn fn;
    void *arg;
};

static int events_adapter_cb(const struct event *ev, const struct journal_ack *ack, void *arg)
{
    struct events_adapter *a = arg;
    return a->fn(ev, ack->acked, a->arg);
}

long journal_query_events(struct journal *j, const struct journal_query *q, journal_event_fn fn, void *arg)
{
    struct events_adapter a = { fn, arg };
    return journal_query_rows(j, q, events_adapter_cb, &a);
}

long journal_query_rows(struct journal *j, const struct journal_query *q, journal_row_fn fn, void *arg)
{
    struct sqlbuf b = { .len = 0 };
    sql_add(&b, "SELECT " EVENT_COLUMNS ",acked_by FROM events");
    add_common(&b, q, "host_us");
    if (q->device) {
        sql_add(&b, " AND device = ? COLLATE NOCASE");
        bind_add_text(&b, q->device);
    }
    if (q->door) {
        sql_add(&b, " AND door = ? COLLATE NOCASE");
        bind_add_text(&b, q->door);
    }
    if (q->kind >= 0) {
        sql_add(&b, " AND kind = ?");
        bind_add_int(&b, q->kind);
    }
    if (q->min_severity >= 0) {
        sql_add(&b, " AND severity >= ?");
        bind_add_int(&b, q->min_severity);
    }
    if (q->unacked_only)
        sql_add(&b, " AND acked_us = 0");
    if (q->search && q->search[0]) {
        /* instr() on the folded texts: no LIKE wildcards to escape. */
        sql_add(&b, " AND (instr(portier_fold(text), portier_fold(?)) OR instr(portier_fold(code_name), portier_fold(?))"
                    " OR instr(portier_fold(uid), portier_fold(?)) OR instr(portier_fold(device), portier_fold(?)) OR"
                    " instr(portier_fold(door), portier_fold(?)) OR CAST(card AS TEXT) = ?)");
        for (int i = 0; i < 6; i++)
            bind_add_text(&b, q->search);
    }
    sqlite3_stmt *st = finish_query(j, &b, q);
    if (!st)
        return -1;
    struct row_ctx c = { .row = fn, .arg = arg };
    return deliver_rows(j, st, ack_row, &c);
}

long journal_query_audit(struct journal *j, const struct journal_query *q, journal_audit_fn fn, void *arg)
{
    struct sqlbuf b = { .len = 0 };
    sql_add(&b, "SELECT id,time_us,user,role,action,target,params,result,detail,done_us FROM audit");
    add_common(&b, q, "time_us");
    if (q->user) {
        sql_add(&b, " AND user = ?");
        bind_add_text(&b, q->user);
    }
    if (q->result) {
        sql_add(&b, " AND result = ?");
        bind_add_text(&b, q->result);
    }
    if (q->door) {
        sql_add(&b, " AND target = ? COLLATE NOCASE");
        bind_add_text(&b, q->door);
    }
    if (q->search && q->search[0]) {
        sql_add(&b, " AND (instr(portier_fold(user), portier_fold(?)) OR instr(portier_fold(action), portier_fold(?))"
                    " OR instr(portier_fold(target), portier_fold(?)) OR instr(portier_fold(detail), portier_fold(?)))");
        for (int i = 0; i < 4; i++)
            bind_add_text(&b, q->search);
    }
    sqlite3_stmt *st = finish_query(j, &b, q);
    if (!st)
        return -1;
    struct row_ctx c = { .audit = fn, .arg = arg };
    return deliver_rows(j, st, audit_row, &c);
}

static long count(struct journal *j, const char *sql)
{
    sqlite3 *db = query_db(j);
    sqlite3_stmt *st;
    long n = -1;
    if (!db || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

long journal_count_events(struct journal *j) { return count(j, "SELECT count(*) FROM events"); }
long journal_count_audit(struct journal *j) { return count(j, "SELECT count(*) FROM audit"); }

/* ---- reading forward (outputs that forward the journal in order, e.g. the MQTT bridge) ---- */

long journal_events_after(struct journal *j, int64_t after_id, size_t limit, journal_event_fn fn, void *arg)
{
    sqlite3 *db = query_db(j);
    sqlite3_stmt *st;
    if (!db)
        return -1;
    if (sqlite3_prepare_v2(db, "SELECT " EVENT_COLUMNS " FROM events WHERE id > ? ORDER BY id LIMIT ?", -1, &st,
                           NULL) != SQLITE_OK) {
        query_error(j, db);
        return -1;
    }
    sqlite3_bind_int64(st, 1, after_id);
    sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : 100);
    struct row_ctx c = { .event = fn, .arg = arg };
    return deliver_rows(j, st, event_row, &c);
}

int journal_event_id_range(struct journal *j, int64_t *min_id, int64_t *max_id)
{
    sqlite3 *db = query_db(j);
    sqlite3_stmt *st;
    if (!db)
        return -1;
    /* One aggregate per SELECT: SQLite answers each from an end of the rowid b-tree (min and max in one SELECT
     * would scan the whole table). */
    if (sqlite3_prepare_v2(db, "SELECT ifnull((SELECT min(id) FROM events),0), ifnull((SELECT max(id) FROM events),0)",
                           -1, &st, NULL) != SQLITE_OK) {
        query_error(j, db);
        return -1;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *min_id = sqlite3_column_int64(st, 0);
        *max_id = sqlite3_column_int64(st, 1);
    } else {
        query_error(j, db);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

int journal_event_ack_state(struct journal *j, int64_t event_id, char *by, size_t bylen, int64_t *at_us)
{
    sqlite3 *db = query_db(j);
    sqlite3_stmt *st;
    if (!db)
        return -1;
    if (sqlite3_prepare_v2(db, "SELECT ifnull(acked_by,''), acked_us FROM events WHERE id = ?", -1, &st, NULL) !=
        SQLITE_OK) {
        query_error(j, db);
        return -1;
    }
    sqlite3_bind_int64(st, 1, event_id);
    int rc = sqlite3_step(st), out = -1;
    if (rc == SQLITE_ROW) {
        int64_t at = sqlite3_column_int64(st, 1);
        if (by && bylen)
            col_text(st, 0, by, bylen);
        if (at_us)
            *at_us = at;
        out = at != 0;
    } else if (rc != SQLITE_DONE) {
        query_error(j, db);
    }
    sqlite3_finalize(st);
    return out;
}

/* ---- catch-up positions (reads) ---- */

int journal_sync_get(struct journal *j, const char *device, char *cursor, size_t len, int64_t *event_id,
                     int64_t *last_us)
{
    sqlite3 *db = journal_query_db(j);
    if (len)
        cursor[0] = '\0';
    *event_id = 0;
    *last_us = 0;
    sqlite3_stmt *st;
    if (!db || sqlite3_prepare_v2(db, "SELECT cursor,event_id FROM sync WHERE device = ?", -1, &st, NULL) != SQLITE_OK)
        return -1;
    journal_bind_text(st, 1, device);
    int rc = sqlite3_step(st), found = 0;
    if (rc == SQLITE_ROW) {
        col_text(st, 0, cursor, len);
        *event_id = sqlite3_column_int64(st, 1);
        found = 1;
    } else if (rc != SQLITE_DONE) {
        found = -1;
    }
    sqlite3_finalize(st);
    if (found < 0)
        return -1;
    /* recovered rows are left out: the per-device index does not hold them (a catch-up ends with a gap row) */
    if (sqlite3_prepare_v2(db, "SELECT max(host_us) FROM events WHERE device = ? AND recovered = 0", -1, &st,
                           NULL) == SQLITE_OK) {
        journal_bind_text(st, 1, device);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
            *last_us = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    return found;
}

long journal_sync_pending(struct journal *j, const char *device, int64_t event_id, journal_event_fn fn, void *arg)
{
    sqlite3 *db = journal_query_db(j);
    sqlite3_stmt *st;
    if (!db || sqlite3_prepare_v2(db, "SELECT " EVENT_COLUMNS " FROM events WHERE device = ? AND kind = 0 AND "
                                      "recovered = 0 AND id > ? ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        return -1;
    journal_bind_text(st, 1, device);
    sqlite3_bind_int64(st, 2, event_id);
    struct row_ctx c = { .event = fn, .arg = arg };
    return deliver_rows(j, st, event_row, &c);
}
