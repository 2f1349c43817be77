/* journal: SQLite event journal and operator audit trail (WAL, synchronous=FULL, user_version schema). */
#include "core/journal.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/durable.h"
#include "core/statedir.h"

/* Commits between automatic retention passes. */
#define PRUNE_EVERY 1000
/* How long a writer waits for another process's write transaction (ms). Transactions are single rows,
 * so contention lasts microseconds; this bounds the worst case the loop can be held. */
#define BUSY_TIMEOUT_MS 250

struct journal {
    sqlite3 *db;
    sqlite3_stmt *ins_event, *find_key, *ins_audit, *fin_audit, *ack;
    unsigned retention_days;
    uint64_t retention_rows;
    unsigned since_prune;
    bool readonly;
    char err[256];
};

/* Migrations: migrations[v] takes the schema from version v to v + 1. */
static const char *const migrations[JOURNAL_SCHEMA_VERSION] = {
    /* 0 -> 1: events and audit */
    "CREATE TABLE events ("
    " id INTEGER PRIMARY KEY,"
    " host_us INTEGER NOT NULL,"
    " kind INTEGER NOT NULL,"
    " severity INTEGER NOT NULL,"
    " device_time INTEGER NOT NULL DEFAULT 0,"
    " device_tz INTEGER,"
    " device TEXT NOT NULL DEFAULT '',"
    " door TEXT NOT NULL DEFAULT '',"
    " door_no INTEGER NOT NULL DEFAULT 0,"
    " code INTEGER NOT NULL DEFAULT -1,"
    " code_name TEXT NOT NULL DEFAULT '',"
    " card INTEGER NOT NULL DEFAULT 0,"
    " pin INTEGER NOT NULL DEFAULT 0,"
    " verify INTEGER NOT NULL DEFAULT -1,"
    " inout INTEGER NOT NULL DEFAULT -1,"
    " uid TEXT NOT NULL DEFAULT '',"
    " unit INTEGER NOT NULL DEFAULT -1,"
    " addr TEXT NOT NULL DEFAULT '',"
    " text TEXT NOT NULL DEFAULT '',"
    " key TEXT UNIQUE);"
    "CREATE INDEX events_time ON events(host_us);"
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY,"
    " time_us INTEGER NOT NULL,"
    " user TEXT NOT NULL,"
    " role TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " target TEXT NOT NULL DEFAULT '',"
    " params TEXT NOT NULL DEFAULT '',"
    " result TEXT NOT NULL DEFAULT 'pending',"
    " detail TEXT NOT NULL DEFAULT '',"
    " done_us INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX audit_time ON audit(time_us);",
    /* 1 -> 2: acknowledgement of events, per-device index */
    "ALTER TABLE events ADD COLUMN acked_by TEXT;"
    "ALTER TABLE events ADD COLUMN acked_us INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX events_device ON events(device, host_us);",
};

static void set_err(struct journal *j, const char *what)
{
    snprintf(j->err, sizeof j->err, "%s: %s", what, j->db ? sqlite3_errmsg(j->db) : "no database");
}

const char *journal_error(struct journal *j)
{
    return j->err;
}

void journal_default_path(char *buf, size_t len)
{
    char dir[PATH_MAX], err[160];
    if (statedir_get(dir, sizeof dir, err, sizeof err) < 0 || snprintf(buf, len, "%s/journal.db", dir) >= (int)len)
        buf[0] = '\0'; /* journal_open then says there is no path */
}

static int exec(struct journal *j, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(j->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(j->err, sizeof j->err, "%s", msg ? msg : sqlite3_errmsg(j->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int journal_schema_version(struct journal *j)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(j->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int migrate(struct journal *j)
{
    int v = journal_schema_version(j);
    if (v < 0) {
        set_err(j, "reading schema version");
        return -1;
    }
    if (v > JOURNAL_SCHEMA_VERSION) {
        snprintf(j->err, sizeof j->err, "journal schema version %d is newer than this portier (%d)", v,
                 JOURNAL_SCHEMA_VERSION);
        return -1;
    }
    if (v == JOURNAL_SCHEMA_VERSION)
        return 0;
    if (j->readonly) {
        snprintf(j->err, sizeof j->err, "journal schema version %d needs an upgrade to %d (open it once "
                 "read-write)", v, JOURNAL_SCHEMA_VERSION);
        return -1;
    }
    if (exec(j, "BEGIN IMMEDIATE") != 0)
        return -1;
    /* Re-read inside the write lock: another process may have migrated meanwhile. */
    v = journal_schema_version(j);
    for (; v >= 0 && v < JOURNAL_SCHEMA_VERSION; v++) {
        char sql[64];
        if (exec(j, migrations[v]) != 0)
            goto fail;
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        if (exec(j, sql) != 0)
            goto fail;
    }
    if (exec(j, "COMMIT") != 0)
        goto fail;
    return 0;
fail:;
    char keep[200];
    event_copy(keep, sizeof keep, j->err);
    sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
    snprintf(j->err, sizeof j->err, "schema migration to version %d failed: %.200s", v + 1, keep);
    return -1;
}

static int prepare(struct journal *j, sqlite3_stmt **st, const char *sql)
{
    if (sqlite3_prepare_v3(j->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
        set_err(j, "prepare");
        return -1;
    }
    return 0;
}

struct journal *journal_open(const struct journal_opts *opts, char *err, size_t errlen)
{
    if (!opts->path || !opts->path[0]) {
        snprintf(err, errlen, "no journal path (no state directory: set XDG_STATE_HOME or HOME, or a journal path)");
        return NULL;
    }
    struct journal *j = calloc(1, sizeof *j);
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    j->retention_days = opts->retention_days;
    j->retention_rows = opts->retention_rows;
    j->readonly = opts->readonly;
    int flags = opts->readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    flags |= SQLITE_OPEN_NOMUTEX;
    if (!opts->readonly && durable_mkdirs_for(opts->path, 0700) != 0) {
        snprintf(err, errlen, "%s: cannot create its directory: %s", opts->path, strerror(errno));
        free(j);
        return NULL;
    }
    if (sqlite3_open_v2(opts->path, &j->db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", opts->path, j->db ? sqlite3_errmsg(j->db) : "cannot open");
        goto fail;
    }
    sqlite3_busy_timeout(j->db, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(j->db, 1);
    if (!opts->readonly) {
        /* WAL: readers (portierctl journal) never block the writer. synchronous=FULL: every commit is
         * on disk before the event is shown, also across power loss (NORMAL could lose the last commits). */
        if (exec(j, "PRAGMA journal_mode=WAL") != 0 || exec(j, "PRAGMA synchronous=FULL") != 0)
            goto fail_msg;
    }
    /* Touch the schema so a non-database file fails here with a clear message. */
    if (exec(j, "SELECT count(*) FROM sqlite_master") != 0)
        goto fail_msg;
    if (migrate(j) != 0)
        goto fail_msg;
    if (!opts->readonly) {
        if (prepare(j, &j->ins_event,
                    "INSERT OR IGNORE INTO events(host_us,kind,severity,device_time,device_tz,device,door,"
                    "door_no,code,code_name,card,pin,verify,inout,uid,unit,addr,text,key) "
                    "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)") != 0 ||
            prepare(j, &j->find_key, "SELECT id FROM events WHERE key = ?") != 0 ||
            prepare(j, &j->ins_audit,
                    "INSERT INTO audit(time_us,user,role,action,target,params,result,detail,done_us) "
                    "VALUES(?,?,?,?,?,?,?,?,?)") != 0 ||
            prepare(j, &j->fin_audit, "UPDATE audit SET result=?, detail=?, done_us=? WHERE id=?") != 0 ||
            prepare(j, &j->ack, "UPDATE events SET acked_by=?, acked_us=? WHERE id=?") != 0)
            goto fail_msg;
        journal_prune(j, 0);
    }
    return j;
fail_msg:
    snprintf(err, errlen, "%s: %s", opts->path, j->err);
fail:
    if (j->db)
        sqlite3_close_v2(j->db);
    free(j);
    return NULL;
}

void journal_close(struct journal *j)
{
    if (!j)
        return;
    sqlite3_finalize(j->ins_event);
    sqlite3_finalize(j->find_key);
    sqlite3_finalize(j->ins_audit);
    sqlite3_finalize(j->fin_audit);
    sqlite3_finalize(j->ack);
    sqlite3_close_v2(j->db);
    free(j);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_TRANSIENT);
}

int journal_commit_event(struct journal *j, struct event *ev)
{
    if (!j || j->readonly || !j->ins_event)
        return -1;
    sqlite3_stmt *st = j->ins_event;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_int64(st, 1, ev->host_time_us);
    sqlite3_bind_int(st, 2, (int)ev->kind);
    sqlite3_bind_int(st, 3, (int)ev->severity);
    sqlite3_bind_int64(st, 4, ev->device_time);
    if (ev->device_tz_valid)
        sqlite3_bind_int(st, 5, ev->device_tz_min);
    else
        sqlite3_bind_null(st, 5);
    bind_text(st, 6, ev->device);
    bind_text(st, 7, ev->door);
    sqlite3_bind_int(st, 8, ev->door_no);
    sqlite3_bind_int(st, 9, ev->code);
    bind_text(st, 10, ev->code_name);
    sqlite3_bind_int64(st, 11, ev->card);
    sqlite3_bind_int64(st, 12, ev->pin);
    sqlite3_bind_int(st, 13, ev->verify);
    sqlite3_bind_int(st, 14, ev->inout);
    bind_text(st, 15, ev->uid);
    sqlite3_bind_int(st, 16, ev->unit);
    bind_text(st, 17, ev->addr);
    bind_text(st, 18, ev->text);
    if (ev->key[0])
        bind_text(st, 19, ev->key);
    else
        sqlite3_bind_null(st, 19);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        set_err(j, "storing event");
        return -1;
    }
    if (sqlite3_changes(j->db) == 0) {
        /* A duplicate key: point at the stored row. */
        sqlite3_stmt *f = j->find_key;
        sqlite3_reset(f);
        bind_text(f, 1, ev->key);
        if (sqlite3_step(f) == SQLITE_ROW)
            ev->id = sqlite3_column_int64(f, 0);
        sqlite3_reset(f);
        return 0;
    }
    ev->id = sqlite3_last_insert_rowid(j->db);
    if (++j->since_prune >= PRUNE_EVERY) {
        j->since_prune = 0;
        journal_prune(j, ev->host_time_us);
    }
    return 1;
}

int journal_commit_hook(struct event *ev, void *arg)
{
    return journal_commit_event(arg, ev);
}

int journal_batch_begin(void *arg)
{
    struct journal *j = arg;
    if (!j || j->readonly)
        return -1;
    return exec(j, "BEGIN IMMEDIATE");
}

int journal_batch_end(void *arg)
{
    struct journal *j = arg;
    if (!j || j->readonly)
        return -1;
    if (exec(j, "COMMIT") == 0)
        return 0;
    char keep[200];
    event_copy(keep, sizeof keep, j->err);
    sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
    snprintf(j->err, sizeof j->err, "committing a batch of events: %.200s", keep);
    return -1;
}

int journal_ack(struct journal *j, int64_t event_id, const char *user)
{
    if (!j->ack)
        return -1;
    sqlite3_reset(j->ack);
    bind_text(j->ack, 1, user);
    sqlite3_bind_int64(j->ack, 2, event_now_us());
    sqlite3_bind_int64(j->ack, 3, event_id);
    int rc = sqlite3_step(j->ack);
    sqlite3_reset(j->ack);
    if (rc != SQLITE_DONE) {
        set_err(j, "acknowledging");
        return -1;
    }
    return sqlite3_changes(j->db) > 0 ? 0 : -1;
}

static long prune_table(struct journal *j, const char *table, const char *timecol, int64_t now_us)
{
    long removed = 0;
    char sql[256];
    sqlite3_stmt *st;
    if (j->retention_days) {
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE %s < ?", table, timecol);
        if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK)
            return -1;
        sqlite3_bind_int64(st, 1, now_us - (int64_t)j->retention_days * 86400 * 1000000);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return -1;
        removed += sqlite3_changes(j->db);
    }
    if (j->retention_rows && j->retention_rows < (uint64_t)INT64_MAX) {
        snprintf(sql, sizeof sql,
                 "DELETE FROM %s WHERE id <= (SELECT id FROM %s ORDER BY id DESC LIMIT 1 OFFSET ?)", table,
                 table);
        if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK)
            return -1;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)j->retention_rows);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return -1;
        removed += sqlite3_changes(j->db);
    }
    return removed;
}

long journal_prune(struct journal *j, int64_t now_us)
{
    if (j->readonly)
        return 0;
    if (now_us == 0)
        now_us = event_now_us();
    long a = prune_table(j, "events", "host_us", now_us);
    long b = prune_table(j, "audit", "time_us", now_us);
    if (a < 0 || b < 0) {
        set_err(j, "pruning");
        return -1;
    }
    return a + b;
}

int journal_audit_begin(struct journal *j, struct audit_record *rec)
{
    if (!j->ins_audit)
        return -1;
    sqlite3_stmt *st = j->ins_audit;
    sqlite3_reset(st);
    if (rec->time_us == 0)
        rec->time_us = event_now_us();
    sqlite3_bind_int64(st, 1, rec->time_us);
    bind_text(st, 2, rec->user);
    bind_text(st, 3, rec->role);
    bind_text(st, 4, rec->action);
    bind_text(st, 5, rec->target);
    bind_text(st, 6, rec->params);
    bind_text(st, 7, rec->result[0] ? rec->result : "pending");
    bind_text(st, 8, rec->detail);
    sqlite3_bind_int64(st, 9, rec->done_us);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        set_err(j, "writing audit");
        return -1;
    }
    rec->id = sqlite3_last_insert_rowid(j->db);
    return 0;
}

int journal_audit_finish(struct journal *j, int64_t id, const char *result, const char *detail, int64_t done_us)
{
    if (!j->fin_audit)
        return -1;
    sqlite3_stmt *st = j->fin_audit;
    sqlite3_reset(st);
    bind_text(st, 1, result);
    bind_text(st, 2, detail);
    sqlite3_bind_int64(st, 3, done_us ? done_us : event_now_us());
    sqlite3_bind_int64(st, 4, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        set_err(j, "completing audit");
        return -1;
    }
    return sqlite3_changes(j->db) > 0 ? 0 : -1;
}

/* ---- queries ---- */

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

static sqlite3_stmt *finish_query(struct journal *j, struct sqlbuf *b, const struct journal_query *q)
{
    sql_add(b, " ORDER BY id DESC LIMIT ?");
    bind_add_int(b, q->limit ? (int64_t)q->limit : 100);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(j->db, b->sql, -1, &st, NULL) != SQLITE_OK) {
        set_err(j, "query");
        return NULL;
    }
    for (int i = 0; i < b->n; i++) {
        if (b->is_text[i])
            bind_text(st, i + 1, b->texts[i]);
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
                      "card,pin,verify,inout,uid,unit,addr,text,key,acked_us"

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
    ev->journaled = true;
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
        /* instr() on lower(): no LIKE wildcards to escape. */
        sql_add(&b, " AND (instr(lower(text), lower(?)) OR instr(lower(code_name), lower(?)) OR"
                    " instr(lower(uid), lower(?)) OR instr(lower(device), lower(?)) OR"
                    " instr(lower(door), lower(?)) OR CAST(card AS TEXT) = ?)");
        for (int i = 0; i < 6; i++)
            bind_add_text(&b, q->search);
    }
    sqlite3_stmt *st = finish_query(j, &b, q);
    if (!st)
        return -1;
    long n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct event ev;
        read_event_row(st, &ev);
        struct journal_ack ack = { .acked = sqlite3_column_int64(st, 20) != 0, .time_us = sqlite3_column_int64(st, 20) };
        col_text(st, 21, ack.by, sizeof ack.by);
        n++;
        if (fn(&ev, &ack, arg))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        set_err(j, "query");
        n = -1;
    }
    sqlite3_finalize(st);
    return n;
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
        sql_add(&b, " AND (instr(lower(user), lower(?)) OR instr(lower(action), lower(?)) OR"
                    " instr(lower(target), lower(?)) OR instr(lower(detail), lower(?)))");
        for (int i = 0; i < 4; i++)
            bind_add_text(&b, q->search);
    }
    sqlite3_stmt *st = finish_query(j, &b, q);
    if (!st)
        return -1;
    long n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
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
        n++;
        if (fn(&r, arg))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        set_err(j, "query");
        n = -1;
    }
    sqlite3_finalize(st);
    return n;
}

static long count(struct journal *j, const char *sql)
{
    sqlite3_stmt *st;
    long n = -1;
    if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK)
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
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(j->db, "SELECT " EVENT_COLUMNS " FROM events WHERE id > ? ORDER BY id LIMIT ?", -1, &st,
                           NULL) != SQLITE_OK) {
        set_err(j, "query");
        return -1;
    }
    sqlite3_bind_int64(st, 1, after_id);
    sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : 100);
    long n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct event ev;
        read_event_row(st, &ev);
        n++;
        if (fn(&ev, sqlite3_column_int64(st, 20) != 0, arg))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        set_err(j, "query");
        n = -1;
    }
    sqlite3_finalize(st);
    return n;
}

int journal_event_id_range(struct journal *j, int64_t *min_id, int64_t *max_id)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(j->db, "SELECT ifnull(min(id),0), ifnull(max(id),0) FROM events", -1, &st, NULL) !=
        SQLITE_OK) {
        set_err(j, "query");
        return -1;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *min_id = sqlite3_column_int64(st, 0);
        *max_id = sqlite3_column_int64(st, 1);
    } else {
        set_err(j, "query");
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

int journal_event_ack_state(struct journal *j, int64_t event_id, char *by, size_t bylen, int64_t *at_us)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(j->db, "SELECT ifnull(acked_by,''), acked_us FROM events WHERE id = ?", -1, &st, NULL) !=
        SQLITE_OK) {
        set_err(j, "query");
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
        set_err(j, "query");
    }
    sqlite3_finalize(st);
    return out;
}
