/* journal: SQLite event journal and operator audit trail (WAL, synchronous=FULL but for batches of recovered rows, user_version schema). What
 * cannot be stored now (disk full, locked, damaged, no database) waits in a bounded memory queue and is
 * written, in order, by a retry timer when the journal works again. About 1050 lines on purpose: the schema's
 * migrations and every write path (events, audit, the queue and its retry, retention, sync positions) share the
 * prepared statements and the trouble state; opening, queries, the writer thread, checkpoints and the audit chain
 * are in journal_open.c, journal_query.c, journal_writer.c, journal_ckpt.c and journal_chain.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/journal_int.h"
#include "core/statedir.h"

/* Commits between automatic retention passes. */
#define PRUNE_EVERY 1000
/* How long an acknowledgement waits for the writer thread's batch under way before its own write. */
#define ACK_WAIT_MS 250
/* Items written per retry: a long queue is stored over several loop iterations so the loop keeps answering. */
#define FLUSH_MAX 512

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
    /* 2 -> 3: recovered events (read from a device's own store) and per-device catch-up positions */
    "ALTER TABLE events ADD COLUMN recovered INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE sync ("
    " device TEXT PRIMARY KEY,"
    " cursor TEXT NOT NULL,"
    " event_id INTEGER NOT NULL DEFAULT 0,"
    " updated_us INTEGER NOT NULL DEFAULT 0);",
    /* 3 -> 4: the audit trail's hash chain (core/journal_chain.c); existing rows are adopted into it */
    "CREATE TABLE audit_chain ("
    " seq INTEGER PRIMARY KEY,"
    " audit_id INTEGER NOT NULL,"
    " stage INTEGER NOT NULL,"
    " digest BLOB NOT NULL,"
    " prev BLOB NOT NULL,"
    " hash BLOB NOT NULL,"
    " note TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX audit_chain_row ON audit_chain(audit_id, seq);",
    /* 4 -> 5: the per-device index leaves recovered rows out (only the catch-up's own queries use it, and they
     * ask for live rows; a catch-up stores thousands of recovered rows at once, each index costs) */
    "DROP INDEX IF EXISTS events_device;"
    "CREATE INDEX events_device ON events(device, host_us) WHERE recovered = 0;",
    /* 5 -> 6: a device's record number moves right after the device in the key (event_make_record_key), so that a
     * catch-up's rows go into the key index in order; a key that would meet an existing one stays as it was */
    "UPDATE OR IGNORE events SET key = portier_record_key(key, device)"
    " WHERE key GLOB '*|#[0-9]*' AND portier_record_key(key, device) IS NOT NULL;",
};

/* portier_record_key(key, device): the key in the form of version 6, or NULL when it has no older form. */
static void record_key_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *key = (const char *)sqlite3_value_text(argv[0]), *device = (const char *)sqlite3_value_text(argv[1]);
    char out[EVENT_KEY_MAX];
    if (key && device && event_key_upgrade(key, device, out, sizeof out) == 1)
        sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(ctx);
}

void journal_set_error(struct journal *j, const char *what)
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

int journal_exec(struct journal *j, const char *sql)
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
    sqlite3 *db = journal_query_db(j);
    sqlite3_stmt *st;
    int v = -1;
    if (!db || sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The migrations from the stored version up, in one write transaction. */
static int migrate_locked(struct journal *j)
{
    int v;
    if (journal_exec(j, "BEGIN IMMEDIATE") != 0)
        return -1;
    /* Re-read inside the write lock: another process may have migrated meanwhile. */
    v = journal_schema_version(j);
    for (; v >= 0 && v < JOURNAL_SCHEMA_VERSION; v++) {
        char sql[64];
        if (journal_exec(j, migrations[v]) != 0)
            goto fail;
        if (v + 1 == 4 && journal_chain_adopt(j) != 0) {
            journal_set_error(j, "adopting the audit rows into the chain");
            goto fail;
        }
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        if (journal_exec(j, sql) != 0)
            goto fail;
    }
    if (journal_exec(j, "COMMIT") != 0)
        goto fail;
    return 0;
fail:;
    char keep[200];
    event_copy(keep, sizeof keep, j->err);
    sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
    snprintf(j->err, sizeof j->err, "schema migration to version %d failed: %.200s", v + 1, keep);
    return -1;
}

/* SQLite's progress handler during a migration: the busy hook about once a second; never interrupts. */
static int still_busy(void *arg)
{
    struct journal *j = arg;
    uint64_t now = loop_mono_us();
    if (now - j->busy_last_us >= 1000000) {
        j->busy_last_us = now;
        j->busy(j->busy_arg, j->busy_what);
    }
    return 0;
}

int journal_migrate(struct journal *j)
{
    int v = journal_schema_version(j);
    if (v < 0) {
        journal_set_error(j, "reading schema version");
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
    if (sqlite3_create_function(j->db, "portier_record_key", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                record_key_fn, NULL, NULL) != SQLITE_OK) {
        journal_set_error(j, "preparing the schema migration");
        return -1;
    }
    bool report = j->busy && v > 0; /* a new journal (version 0) is made in milliseconds */
    if (report) {
        snprintf(j->busy_what, sizeof j->busy_what, "upgrading the journal from schema %d to %d", v,
                 JOURNAL_SCHEMA_VERSION);
        j->busy_last_us = loop_mono_us();
        j->busy(j->busy_arg, j->busy_what);
        sqlite3_progress_handler(j->db, 100000, still_busy, j);
    }
    int rc = migrate_locked(j);
    if (report)
        sqlite3_progress_handler(j->db, 0, NULL, NULL);
    return rc;
}


static int prepare(struct journal *j, sqlite3_stmt **st, const char *sql)
{
    if (sqlite3_prepare_v3(j->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
        journal_set_error(j, "prepare");
        return -1;
    }
    return 0;
}

const char journal_sql_insert_event[] =
    "INSERT OR IGNORE INTO events(host_us,kind,severity,device_time,device_tz,device,door,door_no,code,code_name,"
    "card,pin,verify,inout,uid,unit,addr,text,key,recovered) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
const char journal_sql_find_key[] = "SELECT id FROM events WHERE key = ?";

int journal_prepare_writes(struct journal *j)
{
    return prepare(j, &j->ins_event, journal_sql_insert_event) != 0 ||
                   prepare(j, &j->find_key, journal_sql_find_key) != 0 ||
                   prepare(j, &j->ins_audit,
                           "INSERT INTO audit(time_us,user,role,action,target,params,result,detail,done_us) "
                           "VALUES(?,?,?,?,?,?,?,?,?)") != 0 ||
                   prepare(j, &j->fin_audit, "UPDATE audit SET result=?, detail=?, done_us=? WHERE id=?") != 0 ||
                   prepare(j, &j->ack, "UPDATE events SET acked_by=?, acked_us=? WHERE id=?") != 0 ||
                   prepare(j, &j->sync_put, "INSERT OR REPLACE INTO sync(device,cursor,event_id,updated_us) "
                                            "VALUES(?,?,?,?)") != 0
               ? -1
               : 0;
}

void journal_finalize_writes(struct journal *j)
{
    sqlite3_stmt **all[] = { &j->ins_event, &j->find_key, &j->ins_audit, &j->fin_audit, &j->ack, &j->sync_put };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        sqlite3_finalize(*all[i]);
        *all[i] = NULL;
    }
}

/* ---- trouble, notices and the retry ---- */

const char *journal_state_name(enum journal_state s)
{
    static const char *const names[] = { "ok", "checking", "not storing", "unavailable" };
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

/* What an operator should read for a SQLite result code. */
static const char *trouble_class(int code)
{
    switch (code & 0xff) {
    case SQLITE_FULL: return "disk full";
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return "locked by another process";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return "database damaged";
    case SQLITE_READONLY: return "read-only";
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH: return "cannot be opened";
    case SQLITE_IOERR: return "I/O error";
    case SQLITE_NOMEM: return "out of memory";
    default: return "cannot be written";
    }
}

void journal_notice(struct journal *j, enum event_severity sev, const char *what, const char *fmt, ...)
{
    char text[EVENT_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (j->listener.notice) {
        j->listener.notice(sev, what, text, j->listener.arg);
    } else if (j->n_early < JOURNAL_EARLY_NOTICES) {
        /* Before the front end listens (at open): told when it does. */
        struct journal_early *e = &j->early[j->n_early++];
        e->sev = sev;
        event_copy(e->what, sizeof e->what, what);
        event_copy(e->text, sizeof e->text, text);
    }
}

void journal_set_listener(struct journal *j, const struct journal_listener *l)
{
    j->listener = *l;
    for (size_t i = 0; i < j->n_early && l->notice; i++)
        l->notice(j->early[i].sev, j->early[i].what, j->early[i].text, l->arg);
    j->n_early = 0;
}

static void schedule_retry(struct journal *j, uint64_t delay_us)
{
    if (j->loop)
        loop_timer_arm_us(j->loop, &j->retry_timer, delay_us);
    else
        j->next_retry_us = loop_mono_us() + delay_us;
}

void journal_trouble(struct journal *j, int code)
{
    if ((code & 0xff) == SQLITE_BUSY && j->w_inflight && j->db) {
        /* The lock is held by the journal's own writer thread for a catch-up's batch (a few ms, now and then
         * longer than the busy timeout): no trouble to report. What met it waits in memory, in order, and is
         * stored as soon as the batch is handed back (journal_writer.c), not after a retry delay. */
        j->state = JOURNAL_QUEUING;
        snprintf(j->reason, sizeof j->reason, "waiting for a catch-up's batch to be stored");
        j->w_retry = true;
        return;
    }
    char msg[200];
    event_copy(msg, sizeof msg, j->err);
    snprintf(j->reason, sizeof j->reason, "%s (%s)", trouble_class(code), msg);
    if ((code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB)
        j->damaged = true;
    bool began = j->trouble_us == 0;
    if (began) {
        j->trouble_us = event_now_us();
        j->stored_events = j->stored_audits = 0;
        jq_loss_reset(j->q);
    }
    j->state = j->db ? JOURNAL_QUEUING : JOURNAL_UNAVAILABLE;
    schedule_retry(j, jq_retry_delay_us(j->failures++));
    if (began)
        journal_notice(j, EVENT_ALARM, "journal not storing",
                       "the journal %s cannot store: %s; events and audit rows are kept in memory (up to %zu "
                       "events) and stored when it works again", j->path, j->reason, jq_max_events(j->q));
}

/* The queue is empty and the database works: back to normal, and say so after trouble. */
static void recovered(struct journal *j)
{
    if (!j->db || j->damaged || jq_len(j->q) > 0)
        return;
    j->state = JOURNAL_OK;
    j->failures = 0;
    j->reason[0] = '\0';
    if (j->trouble_us) {
        char since[32];
        event_format_time(j->trouble_us, since, sizeof since);
        struct jq_loss lost = jq_lost(j->q);
        j->trouble_us = 0;
        journal_notice(j, lost.events || lost.audits ? EVENT_WARNING : EVENT_NORMAL, "journal storing again",
                       "the journal stores again (trouble since %s): %llu events and %llu audit rows kept in memory "
                       "are stored, %llu events and %llu audit rows could not be kept", since,
                       (unsigned long long)j->stored_events, (unsigned long long)j->stored_audits,
                       (unsigned long long)lost.events, (unsigned long long)lost.audits);
    }
}

/* ---- rows ---- */

/* The event's texts outlive the step: bound without a copy (every parameter is bound again for each row). */
static void bind_static(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

int journal_insert_event(sqlite3 *db, sqlite3_stmt *st, sqlite3_stmt *f, struct event *ev)
{
    sqlite3_bind_int64(st, 1, ev->host_time_us);
    sqlite3_bind_int(st, 2, (int)ev->kind);
    sqlite3_bind_int(st, 3, (int)ev->severity);
    sqlite3_bind_int64(st, 4, ev->device_time);
    if (ev->device_tz_valid)
        sqlite3_bind_int(st, 5, ev->device_tz_min);
    else
        sqlite3_bind_null(st, 5);
    bind_static(st, 6, ev->device);
    bind_static(st, 7, ev->door);
    sqlite3_bind_int(st, 8, ev->door_no);
    sqlite3_bind_int(st, 9, ev->code);
    bind_static(st, 10, ev->code_name);
    sqlite3_bind_int64(st, 11, ev->card);
    sqlite3_bind_int64(st, 12, ev->pin);
    sqlite3_bind_int(st, 13, ev->verify);
    sqlite3_bind_int(st, 14, ev->inout);
    bind_static(st, 15, ev->uid);
    sqlite3_bind_int(st, 16, ev->unit);
    bind_static(st, 17, ev->addr);
    bind_static(st, 18, ev->text);
    if (ev->key[0])
        bind_static(st, 19, ev->key);
    else
        sqlite3_bind_null(st, 19);
    sqlite3_bind_int(st, 20, ev->recovered);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return -1;
    if (sqlite3_changes(db) == 0) {
        /* A duplicate key: point at the stored row. */
        sqlite3_reset(f);
        journal_bind_text(f, 1, ev->key);
        if (sqlite3_step(f) == SQLITE_ROW)
            ev->id = sqlite3_column_int64(f, 0);
        sqlite3_reset(f);
        return 0;
    }
    ev->id = sqlite3_last_insert_rowid(db);
    return 1;
}

static int insert_event(struct journal *j, struct event *ev)
{
    int rc = journal_insert_event(j->db, j->ins_event, j->find_key, ev);
    if (rc < 0)
        journal_set_error(j, "storing event");
    return rc;
}

/* The SQLite code of the write that just failed (an audit write's rollback resets SQLite's own). */
static int last_code(struct journal *j)
{
    int code = j->failed_code ? j->failed_code : sqlite3_extended_errcode(j->db);
    j->failed_code = 0;
    return code;
}

/* An audit write and its link in the chain, together or not at all. */
static int chain_begin(struct journal *j)
{
    j->failed_code = 0;
    return journal_exec(j, "SAVEPOINT audit_chain");
}

static int chain_end(struct journal *j, int rc)
{
    if (rc == 0 && journal_exec(j, "RELEASE audit_chain") == 0)
        return 0;
    j->failed_code = sqlite3_extended_errcode(j->db); /* the rollback below would reset it */
    char keep[200];
    event_copy(keep, sizeof keep, j->err);
    sqlite3_exec(j->db, "ROLLBACK TO audit_chain", NULL, NULL, NULL);
    sqlite3_exec(j->db, "RELEASE audit_chain", NULL, NULL, NULL);
    snprintf(j->err, sizeof j->err, "%s", keep);
    return -1;
}

static int insert_audit_row(struct journal *j, struct audit_record *rec);

static int insert_audit(struct journal *j, struct audit_record *rec)
{
    if (chain_begin(j) != 0)
        return -1;
    int rc = insert_audit_row(j, rec);
    if (rc == 0 && journal_chain_written(j, rec->id, rec->result[0] && strcmp(rec->result, "pending") != 0) != 0) {
        journal_set_error(j, "linking audit");
        rc = -1;
    }
    return chain_end(j, rc);
}

static int insert_audit_row(struct journal *j, struct audit_record *rec)
{
    sqlite3_stmt *st = j->ins_audit;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, rec->time_us);
    journal_bind_text(st, 2, rec->user);
    journal_bind_text(st, 3, rec->role);
    journal_bind_text(st, 4, rec->action);
    journal_bind_text(st, 5, rec->target);
    journal_bind_text(st, 6, rec->params);
    journal_bind_text(st, 7, rec->result[0] ? rec->result : "pending");
    journal_bind_text(st, 8, rec->detail);
    sqlite3_bind_int64(st, 9, rec->done_us);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        journal_set_error(j, "writing audit");
        return -1;
    }
    rec->id = sqlite3_last_insert_rowid(j->db);
    return 0;
}

static int update_audit_row(struct journal *j, int64_t id, const char *result, const char *detail, int64_t done_us);

/* 0 updated, 1 no such row, -1 error. */
static int update_audit(struct journal *j, int64_t id, const char *result, const char *detail, int64_t done_us)
{
    if (chain_begin(j) != 0)
        return -1;
    int rc = update_audit_row(j, id, result, detail, done_us);
    if (rc == 0 && journal_chain_completed(j, id) != 0) {
        journal_set_error(j, "linking audit");
        rc = -1;
    }
    if (rc == 1) /* no such row: nothing written */
        return chain_end(j, 0) == 0 ? 1 : -1;
    return chain_end(j, rc);
}

static int update_audit_row(struct journal *j, int64_t id, const char *result, const char *detail, int64_t done_us)
{
    sqlite3_stmt *st = j->fin_audit;
    sqlite3_reset(st);
    journal_bind_text(st, 1, result);
    journal_bind_text(st, 2, detail);
    sqlite3_bind_int64(st, 3, done_us);
    sqlite3_bind_int64(st, 4, id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        journal_set_error(j, "completing audit");
        return -1;
    }
    return sqlite3_changes(j->db) > 0 ? 0 : 1;
}

/* The row that says what could not be kept. */
static int insert_loss(struct journal *j, const struct jq_loss *l)
{
    struct event ev;
    char a[32], b[32];
    event_init(&ev, EVENT_GAP, EVENT_ALARM);
    ev.host_time_us = l->first_us ? l->first_us : event_now_us();
    event_copy(ev.device, sizeof ev.device, "journal");
    event_copy(ev.code_name, sizeof ev.code_name, "not stored");
    event_format_time(l->first_us, a, sizeof a);
    event_format_time(l->last_us, b, sizeof b);
    event_set_text(&ev, "%llu events and %llu audit rows could not be stored between %s and %s (the journal "
                   "could not store and its memory queue of %zu events was full)",
                   (unsigned long long)l->events, (unsigned long long)l->audits, a, b, jq_max_events(j->q));
    return insert_event(j, &ev) < 0 ? -1 : 0;
}

static int write_item(struct journal *j, const struct jq_item *it, int64_t *id)
{
    *id = 0;
    switch (it->kind) {
    case JQ_EVENT: {
        struct event ev = *it->ev;
        if (insert_event(j, &ev) < 0)
            return -1;
        *id = ev.id;
        return 0;
    }
    case JQ_AUDIT: {
        struct audit_record rec = *it->rec;
        if (insert_audit(j, &rec) < 0)
            return -1;
        *id = rec.id;
        return 0;
    }
    case JQ_FINISH:
        return update_audit(j, it->fin->id, it->fin->result, it->fin->detail, it->fin->done_us) < 0 ? -1 : 0;
    case JQ_LOSS:
        return insert_loss(j, &it->loss);
    }
    return -1;
}

/* Write up to FLUSH_MAX waiting items in one transaction, in order. 0 when written (the rest, if any, follows
 * at the next retry), -1 on failure (nothing written; trouble noted). */
static int flush_queue(struct journal *j)
{
    size_t n = jq_len(j->q);
    if (n == 0) {
        recovered(j);
        return 0;
    }
    if (n > FLUSH_MAX)
        n = FLUSH_MAX;
    int64_t *ids = malloc(n * sizeof *ids);
    if (!ids)
        return -1;
    int code = SQLITE_OK;
    if (journal_exec(j, "BEGIN IMMEDIATE") != 0) {
        code = last_code(j);
        free(ids);
        journal_trouble(j, code);
        return -1;
    }
    for (size_t i = 0; i < n && code == SQLITE_OK; i++)
        if (write_item(j, jq_peek(j->q, i), &ids[i]) < 0)
            code = last_code(j);
    if (code == SQLITE_OK && journal_exec(j, "COMMIT") != 0)
        code = last_code(j);
    if (code != SQLITE_OK) {
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
        free(ids);
        journal_trouble(j, code);
        return -1;
    }
    /* Stored: tell who showed these events, remember the audit handles, then drop them. */
    for (size_t i = 0; i < n; i++) {
        const struct jq_item *it = jq_peek(j->q, i);
        if (it->kind == JQ_EVENT) {
            j->stored_events++;
            if (it->ev->seq && ids[i] > 0 && j->listener.stored)
                j->listener.stored(it->ev->seq, ids[i], j->listener.arg);
        } else if (it->kind == JQ_AUDIT) {
            j->stored_audits++;
            jq_map_handle(j->q, it->rec->id, ids[i]);
        }
    }
    free(ids);
    jq_pop(j->q, n);
    if (jq_len(j->q) == 0)
        recovered(j);
    else
        schedule_retry(j, 1000); /* the rest after the loop had a turn */
    return 0;
}

void journal_retry_now(struct journal *j)
{
    if (j->readonly || j->check_running)
        return;
    if (!j->db) {
        int rc = journal_connect(j);
        if (rc != SQLITE_OK) {
            journal_trouble(j, rc);
            return;
        }
    }
    if (j->damaged || !j->checked) {
        journal_check_start(j); /* its outcome retries */
        return;
    }
    flush_queue(j);
}

static void retry_cb(loop_t *loop, void *arg)
{
    (void)loop;
    journal_retry_now(arg);
}

void journal_retry_init(struct journal *j)
{
    loop_timer_init(&j->retry_timer, retry_cb, j);
}

void journal_flush(struct journal *j)
{
    if (!j || j->readonly || !j->q)
        return;
    /* Bounded: each pass writes up to FLUSH_MAX items or fails. */
    for (size_t pass = 0; pass < 64 && (jq_len(j->q) > 0 || j->state != JOURNAL_OK); pass++) {
        size_t before = jq_len(j->q);
        journal_retry_now(j);
        if (j->check_running || (jq_len(j->q) == before && j->state != JOURNAL_OK))
            break;
    }
}

/* True when writes must wait in memory (trouble, a check running, or older items still waiting). Without a
 * loop this is where the retry happens, once its delay has passed. */
static bool must_keep(struct journal *j)
{
    if (j->state == JOURNAL_OK && jq_len(j->q) == 0)
        return false;
    if (!j->loop && !j->check_running && loop_mono_us() >= j->next_retry_us)
        journal_retry_now(j);
    return !(j->state == JOURNAL_OK && jq_len(j->q) == 0);
}

bool journal_storing_now(struct journal *j) { return !must_keep(j); }

static int put_position(struct journal *j, const char *device, const char *cursor, int64_t id);

/* Something waits in memory: make sure a retry will come. */
static void kept(struct journal *j)
{
    if (j->w_retry)
        return; /* the writer thread's batch ends first: its hand-back retries */
    if (j->loop && !loop_timer_armed(&j->retry_timer) && !j->check_running)
        schedule_retry(j, j->state == JOURNAL_OK ? 0 : jq_retry_delay_us(j->failures));
}

/* ---- events ---- */

/* Keep an event in memory: 2 kept, 0 duplicate (of a stored or kept event), -1 did not fit. */
static int keep_event(struct journal *j, struct event *ev)
{
    ev->id = 0;
    if (ev->key[0] && j->db && j->find_key) {
        /* A stored duplicate can often still be found (disk full and locked databases can be read). */
        sqlite3_reset(j->find_key);
        journal_bind_text(j->find_key, 1, ev->key);
        if (sqlite3_step(j->find_key) == SQLITE_ROW)
            ev->id = sqlite3_column_int64(j->find_key, 0);
        sqlite3_reset(j->find_key);
        if (ev->id)
            return 0;
    }
    int rc = jq_push_event(j->q, ev);
    kept(j);
    return rc > 0 ? 2 : rc;
}

void journal_store_events(struct journal *j, struct event *evs, size_t n, int *rc)
{
    if (!j || j->readonly || !j->q) {
        for (size_t i = 0; i < n; i++)
            rc[i] = -1;
        return;
    }
    size_t i = 0;
    if (!must_keep(j)) {
        int code = SQLITE_OK;
        /* A batch of recovered rows only (a catch-up's) is committed without waiting for the disk: the device
         * still holds them and its position moves only in a later synchronous commit, whose sync covers these
         * frames too; a crash before it loses a suffix of them, read again at the next catch-up
         * (doc/decisions.md). Anything else waits for the disk. */
        bool relaxed = n > 0;
        for (size_t k = 0; k < n && relaxed; k++)
            relaxed = evs[k].recovered;
        if (relaxed && journal_exec(j, "PRAGMA synchronous=NORMAL") != 0)
            relaxed = false;
        /* A position waiting for this commit is written in it (it is synchronous), after the events. */
        bool with_pos = j->pos_set && !relaxed;
        if (journal_exec(j, "BEGIN IMMEDIATE") != 0)
            code = last_code(j);
        for (; i < n && code == SQLITE_OK; i++) {
            rc[i] = insert_event(j, &evs[i]);
            if (rc[i] < 0)
                code = last_code(j);
        }
        if (with_pos && code == SQLITE_OK && put_position(j, j->pos_device, j->pos_cursor, j->pos_id) < 0)
            code = last_code(j);
        if (with_pos)
            j->pos_set = false; /* written with the events, or not at all */
        if (code == SQLITE_OK && journal_exec(j, "COMMIT") != 0)
            code = last_code(j);
        if (code != SQLITE_OK)
            sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
        /* Every later commit waits for the disk again; if that cannot be set, the connection goes (reopening
         * sets it). */
        bool restore_failed = relaxed && journal_exec(j, "PRAGMA synchronous=FULL") != 0;
        if (restore_failed)
            journal_disconnect(j);
        if (code == SQLITE_OK) {
            if (restore_failed) {
                journal_trouble(j, SQLITE_ERROR);
                return;
            }
            journal_events_committed(j, evs, n, relaxed);
            return;
        }
        /* Nothing of the batch is stored: keep all of it, in order. */
        journal_trouble(j, code);
        i = 0;
    }
    j->pos_set = false; /* kept in memory: no position runs ahead of them */
    for (; i < n; i++)
        rc[i] = keep_event(j, &evs[i]);
}

void journal_events_committed(struct journal *j, const struct event *evs, size_t n, bool relaxed)
{
    if (relaxed)
        journal_ckpt_sync_ahead(j);
    j->since_prune += (unsigned)n;
    if (j->since_prune >= PRUNE_EVERY) {
        j->since_prune = 0;
        journal_prune(j, evs[n - 1].host_time_us);
    }
}

int journal_commit_event(struct journal *j, struct event *ev)
{
    int rc;
    journal_store_events(j, ev, 1, &rc);
    return rc;
}

void journal_store_hook(struct event *evs, size_t n, int *rc, void *arg)
{
    journal_store_events(arg, evs, n, rc);
}

int journal_ack(struct journal *j, int64_t event_id, const char *user)
{
    if (!j->ack || must_keep(j)) {
        snprintf(j->err, sizeof j->err, "the journal cannot store now (%.200s)", j->reason);
        return -1;
    }
    /* An acknowledgement is not kept in memory like a row: one that met the writer thread's lock for a catch-up's
     * batch failed for the guard. A batch takes a few ms, tens on a loaded machine: wait for the one under way
     * (bounded: a guard's key, once), then write. */
    journal_writer_wait_written(j, ACK_WAIT_MS);
    sqlite3_reset(j->ack);
    journal_bind_text(j->ack, 1, user);
    sqlite3_bind_int64(j->ack, 2, event_now_us());
    sqlite3_bind_int64(j->ack, 3, event_id);
    int rc = sqlite3_step(j->ack);
    sqlite3_reset(j->ack);
    if (rc != SQLITE_DONE) {
        journal_set_error(j, "acknowledging");
        journal_trouble(j, last_code(j));
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
    if (j->readonly || !j->db)
        return 0;
    if (now_us == 0)
        now_us = event_now_us();
    long a = prune_table(j, "events", "host_us", now_us);
    long b = -1;
    if (chain_begin(j) == 0) {
        b = prune_table(j, "audit", "time_us", now_us);
        if (b > 0) {
            /* the chain says what retention removed (rows up to the oldest one left) */
            sqlite3_stmt *st;
            int64_t upto = 0;
            if (sqlite3_prepare_v2(j->db, "SELECT coalesce((SELECT min(id) FROM audit) - 1, (SELECT coalesce(max("
                                          "audit_id), 0) FROM audit_chain WHERE stage < 3))", -1, &st, NULL) == SQLITE_OK) {
                if (sqlite3_step(st) == SQLITE_ROW)
                    upto = sqlite3_column_int64(st, 0);
                sqlite3_finalize(st);
            }
            if (journal_chain_retention(j, upto) != 0)
                b = -1;
        }
        if (chain_end(j, b < 0 ? -1 : 0) != 0)
            b = -1;
    }
    if (a < 0 || b < 0) {
        journal_set_error(j, "pruning");
        return -1;
    }
    return a + b;
}

/* ---- audit ---- */

int journal_audit_begin(struct journal *j, struct audit_record *rec)
{
    if (!j || j->readonly || !j->q)
        return -1;
    if (rec->time_us == 0)
        rec->time_us = event_now_us();
    if (!must_keep(j)) {
        if (insert_audit(j, rec) == 0)
            return 0;
        journal_trouble(j, last_code(j));
    }
    int rc = jq_push_audit(j->q, rec);
    kept(j);
    return rc > 0 ? 1 : -1;
}

int journal_audit_finish(struct journal *j, int64_t id, const char *result, const char *detail, int64_t done_us)
{
    if (!j || j->readonly || !j->q)
        return -1;
    if (done_us == 0)
        done_us = event_now_us();
    if (id < 0) {
        /* Its row was kept in memory: complete it there, or use the row it became. */
        int64_t stored = jq_resolve(j->q, id);
        if (!stored || jq_has_audit(j->q, id)) {
            int rc = jq_finish_audit(j->q, id, result, detail, done_us);
            kept(j);
            return rc > 0 ? 1 : -1;
        }
        id = stored;
    }
    if (!must_keep(j)) {
        int rc = update_audit(j, id, result, detail, done_us);
        if (rc >= 0)
            return rc == 0 ? 0 : -1;
        journal_trouble(j, last_code(j));
    }
    int rc = jq_finish_audit(j->q, id, result, detail, done_us);
    kept(j);
    return rc > 0 ? 1 : -1;
}

bool journal_audit_kept(struct journal *j, int64_t id)
{
    return j && j->q && jq_has_audit(j->q, id);
}

/* ---- health ---- */

void journal_health(struct journal *j, struct journal_health *h)
{
    memset(h, 0, sizeof *h);
    h->state = j->state;
    if (j->state != JOURNAL_OK && j->state != JOURNAL_CHECKING)
        event_copy(h->reason, sizeof h->reason, j->reason);
    h->since_us = j->trouble_us;
    if (j->q) {
        h->kept_events = jq_events(j->q);
        h->kept_audits = jq_audits(j->q);
        h->max_events = jq_max_events(j->q);
        if (j->trouble_us) {
            struct jq_loss l = jq_lost(j->q);
            h->lost_events = l.events;
            h->lost_audits = l.audits;
        }
    }
    h->history = journal_query_db(j) != NULL;
    h->history_readonly = !j->db && j->qdb;
}

/* ---- the event bus's journal ---- */

static void bus_stored(uint64_t seq, int64_t id, void *arg)
{
    event_bus_stored(arg, seq, id);
}

static void bus_notice(enum event_severity sev, const char *what, const char *text, void *arg)
{
    event_publish_text(arg, EVENT_SYSTEM, sev, "journal", NULL, what, "%s", text);
}

void journal_attach(struct journal *j, struct event_bus *bus)
{
    event_bus_set_journal(bus, journal_store_hook, j);
    journal_writer_attach(j, bus);
    struct journal_listener l = { .stored = bus_stored, .notice = bus_notice, .arg = bus };
    journal_set_listener(j, &l);
}

/* ---- catch-up positions (writes) ---- */

static int64_t sync_event_id(struct journal *j, const char *device, size_t pending)
{
    sqlite3_stmt *st;
    const char *sql = pending ? "SELECT id - 1 FROM events WHERE device = ? AND kind = 0 AND recovered = 0 "
                                "ORDER BY id DESC LIMIT 1 OFFSET ?"
                              : "SELECT max(id) FROM events";
    if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (pending) {
        journal_bind_text(st, 1, device);
        sqlite3_bind_int64(st, 2, (int64_t)pending - 1);
    }
    int64_t v = 0;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int put_position(struct journal *j, const char *device, const char *cursor, int64_t id)
{
    sqlite3_stmt *st = j->sync_put;
    sqlite3_reset(st);
    journal_bind_text(st, 1, device);
    journal_bind_text(st, 2, cursor);
    sqlite3_bind_int64(st, 3, id);
    sqlite3_bind_int64(st, 4, event_now_us());
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        journal_set_error(j, "storing a catch-up position");
        return -1;
    }
    return 0;
}

/* The position's event id now; -1 when the journal cannot take a position. */
static int64_t position_id(struct journal *j, const char *device, size_t pending)
{
    /* Only over a working database: a position must never run ahead of events still kept in memory. */
    if (!j || j->readonly || !j->db || !j->sync_put || j->state != JOURNAL_OK)
        return -1;
    int64_t id = sync_event_id(j, device, pending);
    if (id < 0)
        journal_set_error(j, "finding the catch-up event id");
    return id;
}

int journal_sync_put(struct journal *j, const char *device, const char *cursor, size_t pending)
{
    int64_t id = position_id(j, device, pending);
    if (id < 0)
        return -1;
    if (j->pos_set && strcmp(j->pos_device, device) == 0)
        j->pos_set = false; /* this one is newer */
    return put_position(j, device, cursor, id);
}

int journal_sync_put_next(struct journal *j, const char *device, const char *cursor, size_t pending)
{
    int64_t id = position_id(j, device, pending);
    if (id < 0)
        return -1;
    if (j->pos_set && strcmp(j->pos_device, device) != 0 && put_position(j, j->pos_device, j->pos_cursor, j->pos_id) < 0)
        return -1; /* another device's waits no longer */
    event_copy(j->pos_device, sizeof j->pos_device, device);
    event_copy(j->pos_cursor, sizeof j->pos_cursor, cursor);
    j->pos_id = id;
    j->pos_set = true;
    return 0;
}
