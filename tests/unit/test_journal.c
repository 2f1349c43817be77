/* Unit tests for the journal: schema and migration, dedup, queries, retention, audit, the bus order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/event.h"
#include "core/journal.h"
#include "core/journal_int.h"
#include "fixture_sql.h"

static char dir[256];
static char path[300];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "%s/portier-journal.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/sub/journal.db", dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct journal *open_with(const struct journal_opts *o)
{
    char err[256] = "";
    struct journal *j = journal_open(o, err, sizeof err);
    if (!j)
        fprintf(stderr, "open: %s\n", err);
    assert_non_null(j);
    return j;
}

static struct journal *open_j(unsigned days, uint64_t rows)
{
    struct journal_opts o = { .path = path, .retention_days = days, .retention_rows = rows };
    return open_with(&o);
}

static void make_access(struct event *ev, const char *device, int64_t dtime, uint32_t card, int code)
{
    event_init(ev, EVENT_ACCESS, EVENT_NORMAL);
    snprintf(ev->device, sizeof ev->device, "%s", device);
    snprintf(ev->door, sizeof ev->door, "Main entrance");
    ev->door_no = 1;
    ev->device_time = dtime;
    ev->card = card;
    ev->code = code;
    ev->verify = 4;
    ev->inout = 0;
    event_set_text(ev, "card %u code %d", card, code);
    event_make_key(ev);
}

static void test_schema_created(void **state)
{
    struct journal *j = open_j(0, 0);
    assert_int_equal(journal_schema_version(j), JOURNAL_SCHEMA_VERSION);
    assert_int_equal(journal_count_events(j), 0);
    journal_close(j);
    /* WAL mode is persistent in the file. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char mode[16];
    assert_string_equal(fx_sql_text(db, "PRAGMA journal_mode", mode, sizeof mode), "wal");
    sqlite3_close(db);
}

static void test_migration_from_v1(void **state)
{
    /* A version-1 journal written by an older portier: events without the ack columns. */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/sub'", dir);
    assert_int_equal(system(cmd), 0);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    const char *v1 =
        "CREATE TABLE events (" FX_SQL_EVENTS_V1_COLUMNS ");"
        "CREATE INDEX events_time ON events(host_us);"
        FX_SQL_AUDIT_V1
        "CREATE INDEX audit_time ON audit(time_us);"
        "INSERT INTO events(host_us,kind,severity,device,text,key) VALUES(1000,0,2,'Panel A','old alarm','k1');"
        "PRAGMA user_version=1;";
    assert_int_equal(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    struct journal *j = open_j(0, 0);
    assert_int_equal(journal_schema_version(j), JOURNAL_SCHEMA_VERSION);
    assert_int_equal(journal_count_events(j), 1);
    /* The old row keeps its key (dedup still works) and can now be acknowledged. */
    struct event ev;
    event_init(&ev, EVENT_ACCESS, EVENT_ALARM);
    snprintf(ev.key, sizeof ev.key, "k1");
    ev.host_time_us = 2000;
    assert_int_equal(journal_commit_event(j, &ev), 0);
    assert_int_equal(ev.id, 1);
    assert_int_equal(journal_ack(j, 1, "alice"), 0);
    assert_int_equal(journal_ack(j, 99, "alice"), -1);
    journal_close(j);
}

/* A journal of the current schema, then sql on it (to make it an older one): the migration runs at the next open. */
static void older_journal(const char *sql)
{
    struct journal *j = open_j(0, 0);
    journal_close(j);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

struct busy_seen {
    int n;
    char first[128];
};

static void on_busy(void *arg, const char *what)
{
    struct busy_seen *b = arg;
    if (!b->n++)
        snprintf(b->first, sizeof b->first, "%s", what);
}

static struct journal *open_busy(const char *file, struct busy_seen *b)
{
    struct journal_opts o = { .path = file, .busy = on_busy, .busy_arg = b };
    return open_with(&o);
}

/* A schema upgrade says so before it starts (portierd extends its start-up time under systemd with it: a large
 * journal's upgrade can outlast the start-up timeout, which would kill it mid-way, roll it back and start again);
 * a journal made new, or one already upgraded, says nothing. */
static void test_migration_says_it_is_busy(void **state)
{
    (void)state;
    older_journal("INSERT INTO events(host_us,kind,severity,device,text,key,recovered) VALUES"
                  " (1000,0,0,'Panel A','live','Panel A|1700000000|0|1|123|0|-1|-1|#77',0);"
                  "PRAGMA user_version=5;");
    struct busy_seen b = { 0 };
    struct journal *j = open_busy(path, &b);
    assert_int_equal(journal_schema_version(j), JOURNAL_SCHEMA_VERSION);
    assert_true(b.n >= 1);
    char want[128];
    snprintf(want, sizeof want, "upgrading the journal from schema 5 to %d", JOURNAL_SCHEMA_VERSION);
    assert_string_equal(b.first, want);
    journal_close(j);
    int seen = b.n;
    journal_close(open_busy(path, &b));
    assert_int_equal(b.n, seen);
    char fresh[400];
    snprintf(fresh, sizeof fresh, "%s/fresh.db", dir);
    struct busy_seen nb = { 0 };
    journal_close(open_busy(fresh, &nb));
    assert_int_equal(nb.n, 0);
}

/* A version-4 journal: the per-device index held every row; from version 5 it leaves recovered rows out (the
 * catch-up's queries ask for live rows only) and the rows, the positions and the answers stay as they were. */
static void test_migration_from_v4(void **state)
{
    (void)state;
    older_journal("DROP INDEX events_device;"
                  "CREATE INDEX events_device ON events(device, host_us);"
                  "INSERT INTO events(host_us,kind,severity,device,text,key,recovered) VALUES"
                  " (1000,0,0,'Panel A','live','k1',0), (3000,0,0,'Panel A','recovered','k2',1),"
                  " (2000,5,0,'Panel A','gap','',0), (4000,0,0,'Panel B','live','k3',0);"
                  "INSERT INTO sync(device,cursor,event_id) VALUES('Panel A','index=7 time=1 tie=1',1);"
                  "PRAGMA user_version=4;");
    struct journal *j = open_j(0, 0);
    assert_int_equal(journal_schema_version(j), JOURNAL_SCHEMA_VERSION);
    assert_int_equal(journal_count_events(j), 4);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(j->db, "SELECT sql FROM sqlite_master WHERE name = 'events_device'", -1, &st,
                                        NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_non_null(strstr((const char *)sqlite3_column_text(st, 0), "WHERE recovered = 0"));
    sqlite3_finalize(st);
    /* the catch-up's reads use it */
    assert_int_equal(sqlite3_prepare_v2(j->db, "EXPLAIN QUERY PLAN SELECT max(host_us) FROM events WHERE device = "
                                        "'Panel A' AND recovered = 0", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_non_null(strstr((const char *)sqlite3_column_text(st, 3), "events_device"));
    sqlite3_finalize(st);
    char cursor[64];
    int64_t id, last;
    assert_int_equal(journal_sync_get(j, "Panel A", cursor, sizeof cursor, &id, &last), 1);
    assert_string_equal(cursor, "index=7 time=1 tie=1");
    assert_int_equal(id, 1);
    assert_int_equal(last, 2000); /* the newest row that is not recovered */
    /* a recovered row stored now is deduplicated as before */
    struct event ev;
    event_init(&ev, EVENT_ACCESS, EVENT_NORMAL);
    snprintf(ev.device, sizeof ev.device, "Panel A");
    snprintf(ev.key, sizeof ev.key, "k2");
    ev.recovered = true;
    ev.host_time_us = 5000;
    assert_int_equal(journal_commit_event(j, &ev), 0);
    journal_close(j);
}

static int collect_pending(const struct event *ev, bool acked, void *arg)
{
    (void)acked;
    struct event *out = arg;
    size_t i = 0;
    while (out[i].id)
        i++;
    out[i] = *ev;
    return 0;
}

/* Record keys: the device's record number right after the device, zero-padded, so that keys of one device sort in
 * record order (10 after 9); read back; the older form ("...|#77" last) rewritten to it, other keys left alone. */
static void test_record_keys(void **state)
{
    (void)state;
    struct event a, b, n;
    event_init(&a, EVENT_ACCESS, EVENT_NORMAL);
    snprintf(a.device, sizeof a.device, "Panel A");
    a.device_time = 1700000000;
    a.code = 0;
    a.door_no = 1;
    a.card = 123;
    b = a;
    event_make_record_key(&a, 9);
    event_make_record_key(&b, 10);
    assert_string_equal(a.key, "Panel A|#000000000009|1700000000|0|1|123|0|-1|-1");
    assert_true(strcmp(a.key, b.key) < 0);
    int64_t rec = -1;
    assert_true(event_key_record(b.key, &rec));
    assert_int_equal(rec, 10);
    n = a;
    event_make_key(&n);
    assert_false(event_key_record(n.key, &rec));
    char out[EVENT_KEY_MAX];
    char old[EVENT_KEY_MAX + 8];
    snprintf(old, sizeof old, "%s|#9", n.key);
    assert_int_equal(event_key_upgrade(old, "Panel A", out, sizeof out), 1);
    assert_string_equal(out, a.key);
    assert_int_equal(event_key_upgrade(a.key, "Panel A", out, sizeof out), 0);      /* already the new form */
    assert_int_equal(event_key_upgrade(n.key, "Panel A", out, sizeof out), 0);      /* no record number */
    assert_int_equal(event_key_upgrade(old, "Panel B", out, sizeof out), 0);        /* another device's */
    assert_int_equal(event_key_upgrade("Panel A|T3", "Panel A", out, sizeof out), 0);
    assert_int_equal(event_key_upgrade("Panel A|#", "Panel A", out, sizeof out), 0);
    assert_int_equal(event_key_upgrade("Panel A|1|#99999999999999999999", "Panel A", out, sizeof out), 0);
    assert_int_equal(event_key_upgrade(old, "Panel A", out, 10), 0);                 /* no room: left as it was */
}

/* A version-5 journal: keys with the record number last are rewritten to the new form, so that the same record
 * recovered again (the new form) is the duplicate it is; a key that would meet an existing one, a key without a
 * record number and other devices' keys stay as they were. */
static void test_migration_from_v5(void **state)
{
    (void)state;
    older_journal("INSERT INTO events(host_us,kind,severity,device,text,key,recovered) VALUES"
                  " (1000,0,0,'Panel A','live','Panel A|1700000000|0|1|123|0|-1|-1|#77',0),"
                  " (2000,0,0,'Panel A','recovered','Panel A|1700000001|0|1|123|0|-1|-1|#78',1),"
                  " (3000,0,0,'Panel A','clash','Panel A|1700000002|0|1|5|0|-1|-1|#79',1),"
                  " (3500,0,0,'Panel A','clash','Panel A|#000000000079|1700000002|0|1|5|0|-1|-1',1),"
                  " (4000,0,0,'Panel A','no index','Panel A|1700000003|0|1|5|0|-1|-1|T0',1),"
                  " (5000,0,0,'Slave','nix1','0011223344556677|1700000004|0||1|0',0);"
                  "PRAGMA user_version=5;");
    struct journal *j = open_j(0, 0);
    assert_int_equal(journal_schema_version(j), JOURNAL_SCHEMA_VERSION);
    assert_int_equal(journal_count_events(j), 6);
    static const char *const want[] = {
        "Panel A|#000000000077|1700000000|0|1|123|0|-1|-1", "Panel A|#000000000078|1700000001|0|1|123|0|-1|-1",
        "Panel A|1700000002|0|1|5|0|-1|-1|#79",             "Panel A|#000000000079|1700000002|0|1|5|0|-1|-1",
        "Panel A|1700000003|0|1|5|0|-1|-1|T0",              "0011223344556677|1700000004|0||1|0",
    };
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(j->db, "SELECT key FROM events ORDER BY id", -1, &st, NULL), SQLITE_OK);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), want[i]);
    }
    sqlite3_finalize(st);
    /* record 78 recovered again: a duplicate of the stored row */
    struct event ev;
    event_init(&ev, EVENT_ACCESS, EVENT_NORMAL);
    snprintf(ev.device, sizeof ev.device, "Panel A");
    ev.device_time = 1700000001;
    ev.code = 0;
    ev.door_no = 1;
    ev.card = 123;
    ev.recovered = true;
    ev.host_time_us = 6000;
    event_make_record_key(&ev, 78);
    assert_int_equal(journal_commit_event(j, &ev), 0);
    assert_int_equal(ev.id, 2);
    journal_close(j);
}

static void test_sync_positions(void **state)
{
    struct journal *j = open_j(0, 0);
    char cur[128];
    int64_t eid, last;
    assert_int_equal(journal_sync_get(j, "Panel A", cur, sizeof cur, &eid, &last), 0);
    assert_string_equal(cur, "");
    assert_int_equal(last, 0);
    /* Live events of two panels, then one recovered event of Panel A. */
    struct event e[6];
    for (int i = 0; i < 5; i++) {
        make_access(&e[i], i == 2 ? "Panel B" : "Panel A", 754732325 + (uint32_t)i, 100u + (uint32_t)i, 0);
        e[i].host_time_us = 10 + i;
        e[i].key[0] = '\0';
        assert_int_equal(journal_commit_event(j, &e[i]), 1);
    }
    make_access(&e[5], "Panel A", 754732300, 99, 0);
    e[5].recovered = true;
    e[5].host_time_us = 20;
    assert_int_equal(journal_commit_event(j, &e[5]), 1);
    /* Two live events of Panel A are still unmatched: ids 4 and 5 (the recovered row does not count). */
    assert_int_equal(journal_sync_put(j, "Panel A", "index=12 time=754732325 tie=1", 2), 0);
    assert_int_equal(journal_sync_get(j, "Panel A", cur, sizeof cur, &eid, &last), 1);
    assert_string_equal(cur, "index=12 time=754732325 tie=1");
    assert_int_equal(eid, e[3].id - 1);
    /* The newest event of the panel that is not recovered (a catch-up's rows are followed by its gap row). */
    assert_int_equal(last, 14);
    struct event got[8];
    memset(got, 0, sizeof got);
    assert_int_equal(journal_sync_pending(j, "Panel A", eid, collect_pending, got), 2);
    assert_int_equal(got[0].card, 103);
    assert_int_equal(got[1].card, 104);
    assert_false(got[0].recovered);
    /* Nothing pending: everything journaled so far is behind the position. */
    assert_int_equal(journal_sync_put(j, "Panel A", "index=13", 0), 0);
    assert_int_equal(journal_sync_get(j, "Panel A", cur, sizeof cur, &eid, &last), 1);
    assert_int_equal(eid, e[5].id);
    memset(got, 0, sizeof got);
    assert_int_equal(journal_sync_pending(j, "Panel A", eid, collect_pending, got), 0);
    /* The recovered flag comes back from queries. */
    struct journal_query q = { .kind = -1, .min_severity = -1, .limit = 1 };
    memset(got, 0, sizeof got);
    assert_int_equal(journal_query_events(j, &q, collect_pending, got), 1);
    assert_true(got[0].recovered);
    struct event gap;
    event_init(&gap, EVENT_GAP, EVENT_NORMAL);
    snprintf(gap.device, sizeof gap.device, "Panel A");
    gap.host_time_us = 21;
    assert_int_equal(journal_commit_event(j, &gap), 1);
    assert_int_equal(journal_sync_get(j, "Panel A", cur, sizeof cur, &eid, &last), 1);
    assert_int_equal(last, 21);
    journal_close(j);
}

static void test_newer_schema_refused(void **state)
{
    struct journal *j = open_j(0, 0);
    journal_close(j);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    char err[256] = "";
    struct journal_opts o = { .path = path };
    assert_null(journal_open(&o, err, sizeof err));
    assert_non_null(strstr(err, "newer"));
}

static void test_not_a_database(void **state)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s/sub' && head -c 4096 /dev/urandom > '%s'", dir, path);
    assert_int_equal(system(cmd), 0);
    char err[256] = "";
    struct journal_opts o = { .path = path };
    assert_null(journal_open(&o, err, sizeof err));
    assert_non_null(strstr(err, path));
}

static void test_dedup(void **state)
{
    struct journal *j = open_j(0, 0);
    struct event a, b, c;
    make_access(&a, "Panel A", 754732325, 12345, 0);
    a.host_time_us = 1;
    assert_int_equal(journal_commit_event(j, &a), 1);
    /* The same record fetched again on catch-up (later host time): stored once. */
    make_access(&b, "Panel A", 754732325, 12345, 0);
    b.host_time_us = 2;
    assert_int_equal(journal_commit_event(j, &b), 0);
    assert_int_equal(b.id, a.id);
    /* Same card, another second: a new event. */
    make_access(&c, "Panel A", 754732326, 12345, 0);
    c.host_time_us = 3;
    assert_int_equal(journal_commit_event(j, &c), 1);
    /* Events without a key are never deduplicated. */
    struct event l1, l2;
    event_init(&l1, EVENT_LINK, EVENT_WARNING);
    event_init(&l2, EVENT_LINK, EVENT_WARNING);
    l1.host_time_us = l2.host_time_us = 4;
    assert_int_equal(journal_commit_event(j, &l1), 1);
    assert_int_equal(journal_commit_event(j, &l2), 1);
    assert_int_equal(journal_count_events(j), 4);
    /* NiX1 keys use the slave address and uid. */
    struct event n1, n2;
    event_init(&n1, EVENT_NIX1_ACCESS, EVENT_WARNING);
    snprintf(n1.addr, sizeof n1.addr, "271A2100000000FD");
    snprintf(n1.uid, sizeof n1.uid, "user1");
    n1.unit = 15;
    n1.door_no = 2;
    n1.code = 0x55;
    n1.device_time = 1436413339;
    event_make_key(&n1);
    n2 = n1;
    assert_int_equal(journal_commit_event(j, &n1), 1);
    assert_int_equal(journal_commit_event(j, &n2), 0);
    journal_close(j);
}

/* The statements a connection ran (SQLITE_TRACE_STMT), as one text: "|BEGIN IMMEDIATE|...|COMMIT|". */
static char trace_log[8192];

static int trace_cb(unsigned type, void *ctx, void *p, void *x)
{
    (void)type;
    (void)ctx;
    (void)p;
    const char *sql = x;
    if (strncmp(sql, "PRAGMA synchronous", 18) == 0 || strcmp(sql, "BEGIN IMMEDIATE") == 0 ||
        strcmp(sql, "COMMIT") == 0) {
        size_t l = strlen(trace_log);
        snprintf(trace_log + l, sizeof trace_log - l, "%s|", sql);
    }
    return 0;
}

static int synchronous_of(struct journal *j)
{
    return (int)fx_sql_int(j->db, "PRAGMA synchronous");
}

/* A batch of recovered rows only is committed without waiting for the disk, then the connection waits for it
 * again; a batch with anything live in it waits for the disk (doc/decisions.md, catch-up durability). */
static void test_recovered_batches_relaxed(void **state)
{
    struct journal *j = open_j(0, 0);
    assert_int_equal(synchronous_of(j), 2); /* FULL */
    sqlite3_trace_v2(j->db, SQLITE_TRACE_STMT, trace_cb, NULL);
    struct event evs[3];
    int rc[3];
    for (int i = 0; i < 3; i++) {
        make_access(&evs[i], "Panel A", 754732325 + i, 100 + (uint32_t)i, 0);
        evs[i].recovered = true;
    }
    trace_log[0] = '\0';
    journal_store_events(j, evs, 3, rc);
    assert_int_equal(rc[0] + rc[1] + rc[2], 3);
    assert_string_equal(trace_log, "PRAGMA synchronous=NORMAL|BEGIN IMMEDIATE|COMMIT|PRAGMA synchronous=FULL|");
    assert_int_equal(synchronous_of(j), 2);
    /* One live event in the batch: the whole batch waits for the disk. */
    for (int i = 0; i < 3; i++) {
        make_access(&evs[i], "Panel A", 754732400 + i, 100 + (uint32_t)i, 0);
        evs[i].recovered = i != 1;
    }
    trace_log[0] = '\0';
    journal_store_events(j, evs, 3, rc);
    assert_int_equal(rc[0] + rc[1] + rc[2], 3);
    assert_string_equal(trace_log, "BEGIN IMMEDIATE|COMMIT|");
    /* Recovered rows that are there already: duplicates, nothing new, FULL afterwards all the same. */
    trace_log[0] = '\0';
    for (int i = 0; i < 3; i++)
        evs[i].recovered = true;
    journal_store_events(j, evs, 3, rc);
    assert_int_equal(rc[0] + rc[1] + rc[2], 0);
    assert_int_equal(synchronous_of(j), 2);
    assert_int_equal(journal_count_events(j), 6);
    sqlite3_trace_v2(j->db, 0, NULL, NULL);
    journal_close(j);
}

/* A catch-up's position waits for the next synchronous commit of events (the gap row that ends the catch-up) and
 * is written in it: one disk sync for both; a relaxed batch of recovered rows does not carry it. */
static void test_sync_position_with_the_next_commit(void **state)
{
    struct journal *j = open_j(0, 0);
    char cur[128];
    int64_t eid, last;
    struct event rec[3];
    for (int i = 0; i < 3; i++) {
        make_access(&rec[i], "Panel A", 754732325 + i, 100 + (uint32_t)i, 0);
        rec[i].recovered = true;
    }
    assert_int_equal(journal_commit_event(j, &rec[0]), 1);
    assert_int_equal(journal_commit_event(j, &rec[1]), 1);
    assert_int_equal(journal_sync_put_next(j, "Panel A", "index=2", 0), 0);
    assert_int_equal(journal_sync_get(j, "Panel A", cur, sizeof cur, &eid, &last), 0);
    assert_int_equal(journal_commit_event(j, &rec[2]), 1); /* relaxed: not with it */
    assert_int_equal(journal_sync_get(j, "Panel A", cur, sizeof cur, &eid, &last), 0);
    struct event gap;
    event_init(&gap, EVENT_GAP, EVENT_NORMAL);
    snprintf(gap.device, sizeof gap.device, "Panel A");
    sqlite3_trace_v2(j->db, SQLITE_TRACE_STMT, trace_cb, NULL);
    trace_log[0] = '\0';
    assert_int_equal(journal_commit_event(j, &gap), 1);
    assert_string_equal(trace_log, "BEGIN IMMEDIATE|COMMIT|"); /* one transaction, one sync */
    sqlite3_trace_v2(j->db, 0, NULL, NULL);
    assert_int_equal(journal_sync_get(j, "Panel A", cur, sizeof cur, &eid, &last), 1);
    assert_string_equal(cur, "index=2");
    assert_int_equal(eid, rec[1].id); /* as when it was put */
    /* A put of the same device replaces one that waits; another device's waits no longer. */
    assert_int_equal(journal_sync_put_next(j, "Panel A", "index=3", 0), 0);
    assert_int_equal(journal_sync_put(j, "Panel A", "index=4", 0), 0);
    assert_int_equal(journal_sync_put_next(j, "Panel B", "index=7", 0), 0);
    assert_int_equal(journal_sync_put_next(j, "Panel C", "index=9", 0), 0);
    assert_int_equal(journal_sync_get(j, "Panel B", cur, sizeof cur, &eid, &last), 1);
    assert_string_equal(cur, "index=7");
    gap.id = 0;
    assert_int_equal(journal_commit_event(j, &gap), 1);
    assert_int_equal(journal_sync_get(j, "Panel A", cur, sizeof cur, &eid, &last), 1);
    assert_string_equal(cur, "index=4");
    assert_int_equal(journal_sync_get(j, "Panel C", cur, sizeof cur, &eid, &last), 1);
    assert_string_equal(cur, "index=9");
    journal_close(j);
}

struct collect {
    int n;
    int64_t ids[64];
    char texts[64][64];
};

static int collect_ev(const struct event *ev, bool acked, void *arg)
{
    struct collect *c = arg;
    if (c->n < 64) {
        c->ids[c->n] = ev->id;
        event_copy(c->texts[c->n], sizeof c->texts[0], ev->text);
    }
    c->n++;
    return 0;
}

static void test_queries(void **state)
{
    struct journal *j = open_j(0, 0);
    for (int i = 0; i < 30; i++) {
        struct event ev;
        make_access(&ev, i % 2 ? "Panel A" : "Bus 1", 1000 + i, (uint32_t)(500 + i), i % 3 == 0 ? 27 : 0);
        ev.severity = i % 3 == 0 ? EVENT_WARNING : EVENT_NORMAL;
        if (i == 7)
            ev.severity = EVENT_ALARM;
        if (i % 5 == 0)
            snprintf(ev.door, sizeof ev.door, "Back door");
        ev.host_time_us = 1000000LL * (100 + i);
        assert_int_equal(journal_commit_event(j, &ev), 1);
    }
    struct collect c = { 0 };
    struct journal_query q = { .kind = -1, .min_severity = -1, .limit = 10 };
    assert_int_equal(journal_query_events(j, &q, collect_ev, &c), 10);
    /* newest first */
    assert_string_equal(c.texts[0], "card 529 code 0");
    assert_string_equal(c.texts[9], "card 520 code 0");
    /* next page */
    q.before_id = c.ids[9];
    memset(&c, 0, sizeof c);
    assert_int_equal(journal_query_events(j, &q, collect_ev, &c), 10);
    assert_string_equal(c.texts[0], "card 519 code 0");

    /* device filter, case-insensitive */
    memset(&c, 0, sizeof c);
    struct journal_query qd = { .kind = -1, .min_severity = -1, .device = "panel a", .limit = 100 };
    assert_int_equal(journal_query_events(j, &qd, collect_ev, &c), 15);
    /* door */
    memset(&c, 0, sizeof c);
    struct journal_query qdoor = { .kind = -1, .min_severity = -1, .door = "Back door", .limit = 100 };
    assert_int_equal(journal_query_events(j, &qdoor, collect_ev, &c), 6);
    /* severity: warning or worse = i%3==0 (10) + the alarm at i=7 */
    memset(&c, 0, sizeof c);
    struct journal_query qs = { .kind = -1, .min_severity = EVENT_WARNING, .limit = 100 };
    assert_int_equal(journal_query_events(j, &qs, collect_ev, &c), 11);
    struct journal_query qa = { .kind = -1, .min_severity = EVENT_ALARM, .limit = 100 };
    memset(&c, 0, sizeof c);
    assert_int_equal(journal_query_events(j, &qa, collect_ev, &c), 1);
    assert_string_equal(c.texts[0], "card 507 code 0");
    /* time range [110 s, 115 s) */
    memset(&c, 0, sizeof c);
    struct journal_query qt = { .kind = -1, .min_severity = -1, .since_us = 110000000, .until_us = 115000000,
                                .limit = 100 };
    assert_int_equal(journal_query_events(j, &qt, collect_ev, &c), 5);
    /* free text: matches text, case-insensitive, and a card number exactly */
    memset(&c, 0, sizeof c);
    struct journal_query qf = { .kind = -1, .min_severity = -1, .search = "CARD 52", .limit = 100 };
    assert_int_equal(journal_query_events(j, &qf, collect_ev, &c), 10);
    memset(&c, 0, sizeof c);
    struct journal_query qc = { .kind = -1, .min_severity = -1, .search = "%", .limit = 100 };
    assert_int_equal(journal_query_events(j, &qc, collect_ev, &c), 0); /* no LIKE wildcards */
    /* kind */
    memset(&c, 0, sizeof c);
    struct journal_query qk = { .kind = EVENT_LINK, .min_severity = -1, .limit = 100 };
    assert_int_equal(journal_query_events(j, &qk, collect_ev, &c), 0);
    journal_close(j);

    /* A read-only handle sees the same rows. */
    char err[256];
    struct journal_opts ro = { .path = path, .readonly = true };
    struct journal *r = journal_open(&ro, err, sizeof err);
    assert_non_null(r);
    memset(&c, 0, sizeof c);
    assert_int_equal(journal_query_events(r, &qd, collect_ev, &c), 15);
    struct event ev;
    make_access(&ev, "x", 1, 1, 1);
    assert_int_equal(journal_commit_event(r, &ev), -1);
    journal_close(r);
}

struct rows {
    int n;
    int64_t ids[64];
    bool acked[64];
    char by[64][64];
};

static int collect_row(const struct event *ev, const struct journal_ack *ack, void *arg)
{
    struct rows *r = arg;
    r->ids[r->n] = ev->id;
    r->acked[r->n] = ack->acked;
    snprintf(r->by[r->n], sizeof r->by[0], "%s", ack->by);
    r->n++;
    return r->n == 64;
}

/* Catching up after an id, only the unacknowledged, who acknowledged, the newest id. */
static void test_catch_up_and_acks(void **state)
{
    struct journal *j = open_j(0, 0);
    int64_t lo = -1, hi = -1;
    assert_int_equal(journal_event_id_range(j, &lo, &hi), 0);
    assert_int_equal(hi, 0);
    int64_t ids[10];
    for (int i = 0; i < 10; i++) {
        struct event ev;
        make_access(&ev, "Panel A", 1000 + i, (uint32_t)i, 0);
        ev.severity = i % 2 ? EVENT_ALARM : EVENT_NORMAL;
        assert_int_equal(journal_commit_event(j, &ev), 1);
        ids[i] = ev.id;
    }
    assert_int_equal(journal_event_id_range(j, &lo, &hi), 0);
    assert_int_equal(hi, ids[9]);
    assert_int_equal(journal_ack(j, ids[3], "alice"), 0);
    struct rows r = { 0 };
    struct journal_query q = { .kind = -1, .min_severity = -1, .after_id = ids[5], .limit = 100 };
    assert_int_equal(journal_query_rows(j, &q, collect_row, &r), 4);
    assert_int_equal(r.ids[0], ids[9]);
    assert_int_equal(r.ids[3], ids[6]);
    /* open alarms: alarm severity, not acknowledged */
    memset(&r, 0, sizeof r);
    struct journal_query qa = { .kind = -1, .min_severity = EVENT_ALARM, .unacked_only = true, .limit = 100 };
    assert_int_equal(journal_query_rows(j, &qa, collect_row, &r), 4);
    for (int i = 0; i < r.n; i++)
        assert_int_not_equal(r.ids[i], ids[3]);
    /* the acknowledged row says who */
    memset(&r, 0, sizeof r);
    struct journal_query qb = { .kind = -1, .min_severity = -1, .before_id = ids[4], .after_id = ids[2], .limit = 100 };
    assert_int_equal(journal_query_rows(j, &qb, collect_row, &r), 1);
    assert_true(r.acked[0]);
    assert_string_equal(r.by[0], "alice");
    journal_close(j);
}

static void test_retention(void **state)
{
    struct journal *j = open_j(0, 0);
    int64_t day = 86400LL * 1000000;
    int64_t now = event_now_us();
    for (int i = 0; i < 50; i++) {
        struct event ev;
        make_access(&ev, "Panel A", i, (uint32_t)i, 0);
        ev.host_time_us = now - (int64_t)(49 - i) * day + 1000000; /* one per day, 1 s margin */
        assert_int_equal(journal_commit_event(j, &ev), 1);
    }
    journal_close(j);
    /* 10 days: keep the events of the last 10 days (ages 0..9 days, plus exactly 10 days). */
    j = open_j(10, 0); /* pruned at open */
    assert_int_equal(journal_count_events(j), 11);
    /* five days later five more are too old */
    assert_int_equal(journal_prune(j, now + 5 * day), 5);
    assert_int_equal(journal_count_events(j), 6);
    journal_close(j);
    /* row limit 5: the 5 newest stay (the 6 left are all younger than 10 days) */
    j = open_j(0, 5);
    assert_int_equal(journal_count_events(j), 5); /* pruned at open */
    struct collect c = { 0 };
    struct journal_query q = { .kind = -1, .min_severity = -1, .limit = 100 };
    assert_int_equal(journal_query_events(j, &q, collect_ev, &c), 5);
    assert_string_equal(c.texts[0], "card 49 code 0");
    assert_string_equal(c.texts[4], "card 45 code 0");
    journal_close(j);
}

static int collect_audit(const struct audit_record *r, void *arg)
{
    struct audit_record *out = arg;
    *out = *r;
    return 1;
}

/* An operator's door-open begun in j's audit trail (its id in r->id). */
static void audit_door_open(struct journal *j, struct audit_record *r, const char *user, const char *door)
{
    memset(r, 0, sizeof *r);
    snprintf(r->user, sizeof r->user, "%s", user);
    snprintf(r->role, sizeof r->role, "operator");
    snprintf(r->action, sizeof r->action, "door-open");
    snprintf(r->target, sizeof r->target, "%s", door);
    snprintf(r->params, sizeof r->params, "seconds=5");
    assert_int_equal(journal_audit_begin(j, r), 0);
}

static void test_audit(void **state)
{
    struct journal *j = open_j(0, 0);
    struct audit_record r;
    audit_door_open(j, &r, "alice", "Main entrance");
    assert_true(r.id > 0);
    struct audit_record got;
    struct journal_query q = { .kind = -1, .min_severity = -1 };
    assert_int_equal(journal_query_audit(j, &q, collect_audit, &got), 1);
    assert_string_equal(got.result, "pending");
    assert_int_equal(got.done_us, 0);
    assert_int_equal(journal_audit_finish(j, r.id, "ok", "Main entrance: ok", 123), 0);
    assert_int_equal(journal_query_audit(j, &q, collect_audit, &got), 1);
    assert_string_equal(got.result, "ok");
    assert_string_equal(got.detail, "Main entrance: ok");
    assert_string_equal(got.user, "alice");
    assert_int_equal(got.done_us, 123);
    struct journal_query qu = { .kind = -1, .min_severity = -1, .user = "bob" };
    assert_int_equal(journal_query_audit(j, &qu, collect_audit, &got), 0);
    assert_int_equal(journal_audit_finish(j, 999, "ok", "", 1), -1);
    journal_close(j);
}

/* The searches fold case beyond ASCII, as the console's filters do ("TÜR SÜD" finds "Tür Süd"), in events and in
 * the audit trail, on the read-write connection and on a read-only one. */
static void test_search_folds_every_letter(void **state)
{
    (void)state;
    struct journal *j = open_j(0, 0);
    const char *doors[] = { "Tür Süd", "Kantine – Ost", "Garage" };
    for (int i = 0; i < 3; i++) {
        struct event ev;
        make_access(&ev, "Zentrale Ä", 100 + i, 700 + (uint32_t)i, 0);
        snprintf(ev.door, sizeof ev.door, "%s", doors[i]);
        event_set_text(&ev, "Zugang %s: Jürgen Müller", i == 1 ? "verweigert" : "gewährt");
        event_make_key(&ev);
        assert_int_equal(journal_commit_event(j, &ev), 1);
    }
    struct audit_record r;
    audit_door_open(j, &r, "jürgen", "Tür Süd");
    for (int pass = 0; pass < 2; pass++) {
        static const struct {
            const char *search;
            int rows;
        } finds[] = { { "TÜR SÜD", 1 }, { "MÜLLER", 3 }, { "zentrale ä", 3 }, { "KANTINE – OST", 1 },
                      { "süd-ost", 0 }, { "VERWEIGERT", 1 } };
        struct collect c;
        for (size_t f = 0; f < sizeof finds / sizeof finds[0]; f++) {
            memset(&c, 0, sizeof c);
            struct journal_query q = { .kind = -1, .min_severity = -1, .search = finds[f].search, .limit = 100 };
            assert_int_equal(journal_query_events(j, &q, collect_ev, &c), finds[f].rows);
        }
        assert_string_equal(c.texts[0], "Zugang verweigert: Jürgen Müller"); /* the last: VERWEIGERT */
        struct audit_record got;
        struct journal_query qa = { .kind = -1, .min_severity = -1, .search = "JÜRGEN" };
        assert_int_equal(journal_query_audit(j, &qa, collect_audit, &got), 1);
        assert_string_equal(got.user, "jürgen");
        qa.search = "tür süd";
        assert_int_equal(journal_query_audit(j, &qa, collect_audit, &got), 1);
        if (pass == 0) {
            journal_close(j);
            char err[256];
            struct journal_opts ro = { .path = path, .readonly = true };
            j = journal_open(&ro, err, sizeof err);
            assert_non_null(j);
        }
    }
    journal_close(j);
}

/* Journal before display: the subscriber sees an id assigned by the journal, and the row is in the
 * database at that moment (queried from inside the subscriber). Duplicates are not shown. */
struct order_ctx {
    struct journal *j;
    int seen;
    long rows_when_seen;
    int64_t id_seen;
};

static void order_sub(const struct event *ev, void *arg)
{
    struct order_ctx *o = arg;
    o->seen++;
    o->id_seen = ev->id;
    o->rows_when_seen = journal_count_events(o->j);
}

static void test_bus_journal_first(void **state)
{
    struct journal *j = open_j(0, 0);
    struct event_bus *bus = event_bus_new();
    struct order_ctx o = { .j = j };
    event_bus_set_journal(bus, journal_store_hook, j);
    int h = event_bus_subscribe(bus, order_sub, &o);
    assert_true(h > 0);
    struct event ev;
    make_access(&ev, "Panel A", 5, 5, 0);
    assert_int_equal(event_publish(bus, &ev), 1);
    assert_int_equal(o.seen, 1);
    assert_true(o.id_seen > 0);
    assert_int_equal(o.rows_when_seen, 1);
    assert_true(ev.journaled);
    struct event dup;
    make_access(&dup, "Panel A", 5, 5, 0);
    assert_int_equal(event_publish(bus, &dup), 0);
    assert_int_equal(o.seen, 1);
    assert_int_equal(event_bus_duplicates(bus), 1);
    event_bus_unsubscribe(bus, h);
    make_access(&ev, "Panel A", 6, 6, 0);
    assert_int_equal(event_publish(bus, &ev), 1);
    assert_int_equal(o.seen, 1);
    event_bus_free(bus);
    journal_close(j);
}

/* A failing journal still lets the event through (an alarm must be seen), marked not journaled. */
static void failing_store(struct event *evs, size_t n, int *rc, void *arg)
{
    (void)evs;
    for (size_t i = 0; i < n; i++) {
        (*(int *)arg)++;
        rc[i] = -1;
    }
}

static void seen_sub(const struct event *ev, void *arg)
{
    *(bool *)arg = !ev->journaled;
}

static void test_bus_journal_failure(void **state)
{
    int calls = 0;
    bool seen_unjournaled = false;
    struct event_bus *bus = event_bus_new();
    event_bus_set_journal(bus, failing_store, &calls);
    event_bus_subscribe(bus, seen_sub, &seen_unjournaled);
    struct event ev;
    event_init(&ev, EVENT_DOOR, EVENT_ALARM);
    assert_int_equal(event_publish(bus, &ev), -1);
    assert_int_equal(calls, 1);
    assert_true(seen_unjournaled);
    assert_int_equal(event_bus_journal_failures(bus), 1);
    event_bus_free(bus);
}

/* Publishing from inside a subscriber is queued and delivered after, in order. */
struct reent {
    struct event_bus *bus;
    char order[16];
    int n;
};

static void reent_sub(const struct event *ev, void *arg)
{
    struct reent *r = arg;
    r->order[r->n++] = ev->text[0];
    if (ev->text[0] == 'a') {
        struct event e2;
        event_init(&e2, EVENT_SYSTEM, EVENT_NORMAL);
        event_set_text(&e2, "b");
        event_publish(r->bus, &e2);
        r->order[r->n++] = '|';
    }
}

static void test_bus_reentrant(void **state)
{
    struct reent r = { .n = 0 };
    r.bus = event_bus_new();
    event_bus_subscribe(r.bus, reent_sub, &r);
    struct event e;
    event_init(&e, EVENT_SYSTEM, EVENT_NORMAL);
    event_set_text(&e, "a");
    event_publish(r.bus, &e);
    r.order[r.n] = '\0';
    assert_string_equal(r.order, "a|b");
    event_bus_free(r.bus);
}

static void test_names(void **state)
{
    for (int k = 0; k < EVENT_KIND_COUNT; k++)
        assert_int_equal(event_kind_from_name(event_kind_name((enum event_kind)k)), k);
    assert_int_equal(event_kind_from_name("nope"), -1);
    assert_int_equal(event_severity_from_name("ALARM"), EVENT_ALARM);
    assert_int_equal(event_severity_from_name(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v5, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_says_it_is_busy, setup, teardown),
        cmocka_unit_test(test_record_keys),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_positions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovered_batches_relaxed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catch_up_and_acks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_folds_every_letter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bus_journal_first, setup, teardown),
        cmocka_unit_test(test_bus_journal_failure),
        cmocka_unit_test(test_bus_reentrant),
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_sync_position_with_the_next_commit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
