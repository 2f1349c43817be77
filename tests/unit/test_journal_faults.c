/* A journal that fails loudly and loses nothing it can keep: disk full, locked, damaged (at start and while
 * running), unavailable at start; events and audit rows kept in memory and stored in order afterwards, what
 * did not fit counted in one row; the retry on the fake clock. Faults are real SQLite faults (a page limit
 * on the journal's own connection for a full disk, a second connection holding the write lock, bytes
 * overwritten in the file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/journal_int.h" /* white box: the journal's own connection, for the page limit */
#include "fixture_sql.h"

static char dir[64], path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/portier-jfault-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/journal.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[200];
    snprintf(cmd, sizeof cmd, "chmod -R u+w '%s'; rm -rf '%s'", dir, dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* What the front end saw. */
#define MAXSEEN 256
struct seen {
    int n;
    uint64_t seq[MAXSEEN];
    bool queued[MAXSEEN], journaled[MAXSEEN];
    char text[MAXSEEN][EVENT_TEXT_MAX];
    char what[MAXSEEN][EVENT_NAME_MAX];
    int n_stored;
    uint64_t stored_seq[MAXSEEN];
    int64_t stored_id[MAXSEEN];
};

static void on_event(const struct event *ev, void *arg)
{
    struct seen *s = arg;
    if (s->n >= MAXSEEN)
        return;
    s->seq[s->n] = ev->seq;
    s->queued[s->n] = ev->queued;
    s->journaled[s->n] = ev->journaled;
    snprintf(s->text[s->n], sizeof s->text[0], "%s", ev->text);
    snprintf(s->what[s->n], sizeof s->what[0], "%s", ev->code_name);
    s->n++;
}

static void on_stored(uint64_t seq, int64_t id, void *arg)
{
    struct seen *s = arg;
    if (s->n_stored < MAXSEEN) {
        s->stored_seq[s->n_stored] = seq;
        s->stored_id[s->n_stored++] = id;
    }
}

struct rig {
    loop_t *loop;
    struct journal *j;
    struct event_bus *bus;
    struct seen seen;
};

static void rig_open(struct rig *r, size_t queue)
{
    memset(r, 0, sizeof *r);
    r->loop = loop_new_fake(1000000);
    char err[256] = "";
    struct journal_opts o = { .path = path, .keep_trying = true, .queue_events = queue, .loop = r->loop };
    r->j = journal_open(&o, err, sizeof err);
    assert_non_null(r->j);
    r->bus = event_bus_new();
    event_bus_set_batching(r->bus, r->loop, 64);
    event_bus_subscribe(r->bus, on_event, &r->seen);
    event_bus_subscribe_stored(r->bus, on_stored, &r->seen);
    journal_attach(r->j, r->bus);
}

static void rig_close(struct rig *r)
{
    event_bus_flush(r->bus);
    journal_close(r->j);
    event_bus_free(r->bus);
    loop_free(r->loop);
}

static void publish(struct rig *r, int n, int64_t host_us)
{
    struct event ev;
    event_init(&ev, EVENT_ACCESS, EVENT_NORMAL);
    ev.host_time_us = host_us;
    event_copy(ev.device, sizeof ev.device, "Panel A");
    /* A long text: a full disk is met within a few events. */
    event_set_text(&ev, "event %d %0200d", n, 0);
    event_publish(r->bus, &ev);
}

/* Let the bus deliver what was published meanwhile (a second batch waits for the next turn of the loop). */
static void settle(struct rig *r)
{
    for (int i = 0; i < 4; i++)
        loop_advance(r->loop, 1);
}

/* Let the background check (a thread signalling the loop) finish. */
static void wait_check(struct rig *r)
{
    for (int i = 0; i < 1000 && r->j->check_running; i++) {
        usleep(10000);
        loop_run_once(r->loop, 0);
    }
    assert_false(r->j->check_running);
}

static long rows(const char *where)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE %s", where);
    long n = (long)fx_sql_int(db, sql);
    sqlite3_close(db);
    return n;
}

/* The texts of the stored "event N" rows in id order are 1..n without a gap or a repeat. */
static void assert_events_in_order(int n)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT text FROM events WHERE text LIKE 'event %' ORDER BY id", -1, &st,
                                        NULL), SQLITE_OK);
    int want = 1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int got = -1;
        sscanf((const char *)sqlite3_column_text(st, 0), "event %d", &got);
        assert_int_equal(got, want);
        want++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_int_equal(want - 1, n);
}

static int find_what(const struct seen *s, const char *what)
{

    for (int i = 0; i < s->n; i++)
        if (strcmp(s->what[i], what) == 0)
            return i;
    return -1;
}

static void disk_full_then_stored(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, 0);
    int n = 0;
    for (; n < 5; n++)
        publish(&r, n + 1, 0);
    settle(&r);
    assert_int_equal(r.seen.n, 5);
    assert_true(r.seen.journaled[4]);

    /* The disk is full: no page can be added. */
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", fx_sql_int(r.j->db, "PRAGMA page_count"));
    assert_int_equal(sqlite3_exec(r.j->db, sql, NULL, NULL, NULL), SQLITE_OK);
    while (n < 200 && !r.seen.queued[r.seen.n - 1]) {
        publish(&r, ++n, 0);
        settle(&r);
    }
    assert_true(r.seen.queued[r.seen.n - 1]); /* shown at once, marked not yet stored */
    int first_kept = n;
    struct journal_health h;
    journal_health(r.j, &h);
    assert_int_equal(h.state, JOURNAL_QUEUING);
    assert_non_null(strstr(h.reason, "disk full"));
    assert_true(h.since_us > 0);
    for (int i = 0; i < 20; i++)
        publish(&r, ++n, 0);
    settle(&r);
    settle(&r);
    /* The operator was told: a "journal not storing" system event, itself kept. */
    int notice = find_what(&r.seen, "journal not storing");
    assert_true(notice >= 0);
    assert_true(r.seen.queued[notice]);
    journal_health(r.j, &h);
    assert_true(h.kept_events >= 21);

    /* Still full after 3 s of retries. */
    loop_advance(r.loop, 3000000);
    journal_health(r.j, &h);
    assert_int_equal(h.state, JOURNAL_QUEUING);

    /* Space again: within the longest retry delay (1 s) everything is stored, in order. */
    assert_int_equal(sqlite3_exec(r.j->db, "PRAGMA max_page_count = 1073741823", NULL, NULL, NULL), SQLITE_OK);
    loop_advance(r.loop, 1000000);
    settle(&r);
    journal_health(r.j, &h);
    assert_int_equal(h.state, JOURNAL_OK);
    assert_int_equal(h.kept_events, 0);
    assert_events_in_order(n);
    assert_int_equal(rows("code_name = 'journal not storing'"), 1);
    assert_int_equal(rows("code_name = 'journal storing again'"), 1);
    assert_int_equal(rows("kind = 5"), 0); /* nothing lost: no "not stored" row */
    /* Every event shown as kept was reported stored, with its row. */
    int kept = 0;
    for (int i = 0; i < r.seen.n; i++)
        if (r.seen.queued[i]) {
            kept++;
            bool found = false;
            for (int k = 0; k < r.seen.n_stored && !found; k++)
                found = r.seen.stored_seq[k] == r.seen.seq[i] && r.seen.stored_id[k] > 0;
            assert_true(found);
        }
    assert_true(kept >= n - first_kept + 2);
    rig_close(&r);
}

static void locked_overflow_counted_in_a_row(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, 16);
    sqlite3 *other;
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    int64_t t0 = 1700000000000000LL;
    for (int i = 1; i <= 40; i++)
        publish(&r, i, t0 + i);
    uint64_t before = loop_mono_us();
    settle(&r);
    uint64_t took = loop_mono_us() - before;
    /* The lock costs one short wait, not 250 ms per event. */
    assert_true(took < 200000);
    settle(&r);
    assert_int_equal(r.seen.n, 41); /* all shown, and the notice */
    struct journal_health h;
    journal_health(r.j, &h);
    assert_int_equal(h.state, JOURNAL_QUEUING);
    assert_non_null(strstr(h.reason, "locked"));
    assert_int_equal(h.kept_events, 16);
    assert_int_equal(h.lost_events, 25); /* events 17..40 and the notice */
    for (int i = 0; i < 16; i++)
        assert_true(r.seen.queued[i]);
    for (int i = 16; i < 40; i++)
        assert_false(r.seen.queued[i] || r.seen.journaled[i]);

    loop_advance(r.loop, 2000000);
    journal_health(r.j, &h);
    assert_int_equal(h.state, JOURNAL_QUEUING);
    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    loop_advance(r.loop, 1000000);
    settle(&r);
    journal_health(r.j, &h);
    assert_int_equal(h.state, JOURNAL_OK);
    assert_events_in_order(16);
    /* One row says how many could not be stored and between which times. */
    assert_int_equal(rows("kind = 5 AND device = 'journal'"), 1);
    char where[160];
    snprintf(where, sizeof where, "kind = 5 AND host_us = %lld AND text LIKE '25 events and 0 audit rows could not "
             "be stored between %%'", (long long)(t0 + 17));
    assert_int_equal(rows(where), 1);
    /* ... after the kept events, before the recovery notice. */
    assert_int_equal(rows("kind = 5 AND id > (SELECT max(id) FROM events WHERE text LIKE 'event %')"), 1);
    assert_int_equal(rows("code_name = 'journal storing again' AND text LIKE '%16 events%25 events%'"), 1);
    rig_close(&r);
}

static void audit_kept_and_completed(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, 0);
    struct audit_record a;
    memset(&a, 0, sizeof a);
    snprintf(a.user, sizeof a.user, "guard");
    snprintf(a.action, sizeof a.action, "door-open");
    assert_int_equal(journal_audit_begin(r.j, &a), 0);
    int64_t stored = a.id;
    assert_true(stored > 0);

    sqlite3 *other;
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    /* The completion of a stored row and a new row (the emergency) wait in memory. */
    assert_int_equal(journal_audit_finish(r.j, stored, "ok", "Front: ok", 5), 1);
    assert_true(journal_audit_kept(r.j, stored));
    struct audit_record e;
    memset(&e, 0, sizeof e);
    snprintf(e.user, sizeof e.user, "guard");
    snprintf(e.action, sizeof e.action, "emergency-on");
    assert_int_equal(journal_audit_begin(r.j, &e), 1);
    assert_true(e.id < 0);
    assert_true(journal_audit_kept(r.j, e.id));
    assert_int_equal(journal_audit_finish(r.j, e.id, "partial", "Front: ok; Back: FAILED no reply", 9), 1);
    struct journal_health h;
    journal_health(r.j, &h);
    assert_int_equal(h.kept_audits, 2);
    /* Acknowledging needs the journal: refused with the reason. */
    assert_int_equal(journal_ack(r.j, 1, "guard"), -1);

    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    loop_advance(r.loop, 1000000);
    settle(&r);
    assert_false(journal_audit_kept(r.j, e.id));
    assert_false(journal_audit_kept(r.j, stored));
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(other, "SELECT id, action, result, detail, done_us FROM audit ORDER BY id",
                                        -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), stored);
    assert_string_equal((const char *)sqlite3_column_text(st, 2), "ok");
    assert_int_equal(sqlite3_column_int64(st, 4), 5);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "emergency-on");
    assert_string_equal((const char *)sqlite3_column_text(st, 2), "partial");
    assert_string_equal((const char *)sqlite3_column_text(st, 3), "Front: ok; Back: FAILED no reply");
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    /* A late completion by the handle reaches the stored row. */
    assert_int_equal(journal_audit_finish(r.j, e.id, "ok", "all ok", 10), 0);
    assert_int_equal(sqlite3_prepare_v2(other, "SELECT count(*) FROM audit WHERE result = 'ok' AND detail = 'all ok'",
                                        -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(other);
    rig_close(&r);
}

static void unavailable_at_start_then_available(void **state)
{
    (void)state;
    /* The journal's directory cannot be created (a file is in the way). */
    char blocker[160];
    snprintf(blocker, sizeof blocker, "%s/state", dir);
    FILE *f = fopen(blocker, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof path, "%s/state/portier/journal.db", dir);
    struct rig r;
    rig_open(&r, 0);
    struct journal_health h;
    journal_health(r.j, &h);
    assert_int_equal(h.state, JOURNAL_UNAVAILABLE);
    assert_false(h.history);
    assert_non_null(strstr(h.reason, "directory"));
    publish(&r, 1, 0);
    publish(&r, 2, 0);
    settle(&r);
    /* Told at start (a notice kept until the front end listened), events shown as kept. */
    int notice = find_what(&r.seen, "journal not storing");
    assert_true(notice >= 0);
    assert_true(r.seen.queued[r.seen.n - 1]);
    struct journal_query q = { .kind = -1, .min_severity = -1 };
    assert_int_equal(journal_query_events(r.j, &q, NULL, NULL), -1);
    assert_non_null(strstr(journal_error(r.j), "no journal database"));

    assert_int_equal(unlink(blocker), 0);
    loop_advance(r.loop, 1000000);
    settle(&r);
    journal_health(r.j, &h);
    assert_int_equal(h.state, JOURNAL_OK);
    assert_true(h.history);
    assert_events_in_order(2);
    assert_int_equal(rows("code_name = 'journal storing again'"), 1);
    rig_close(&r);
}

/* Write a journal of n events and close it. */
static void make_journal(int n)
{
    char err[256];
    struct journal_opts o = { .path = path };
    struct journal *j = journal_open(&o, err, sizeof err);
    assert_non_null(j);
    for (int i = 1; i <= n; i++) {
        struct event ev;
        event_init(&ev, EVENT_ACCESS, EVENT_NORMAL);
        event_set_text(&ev, "old %d %0200d", i, 0);
        snprintf(ev.key, sizeof ev.key, "old-%d", i);
        assert_int_equal(journal_commit_event(j, &ev), 1);
    }
    journal_close(j);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* Overwrite the file from offset on with garbage. */
static void garble(long offset, long len)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, offset, SEEK_SET), 0);
    for (long i = 0; i < len; i++)
        fputc((int)((i * 131 + 7) & 0xff), f);
    fclose(f);
}

static int count_moved(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c '^journal.db.corrupt-[0-9]\\{8\\}-[0-9]\\{6\\}$'", dir);
    FILE *p = popen(cmd, "r");
    int n = 0;
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

/* The journal stores again, `moved` damaged files lie beside it, and events 1..n are stored in order. */
static void end_stored(struct rig *r, int moved, int n)
{
    struct journal_health h;
    journal_health(r->j, &h);
    assert_int_equal(h.state, JOURNAL_OK);
    assert_int_equal(count_moved(), moved);
    rig_close(r);
    assert_events_in_order(n);
}

static void damaged_header_moved_aside_at_start(void **state)
{
    (void)state;
    make_journal(10);
    garble(0, 100);
    struct rig r;
    rig_open(&r, 0);
    struct journal_health h;
    journal_health(r.j, &h);
    assert_int_equal(h.state, JOURNAL_OK);
    assert_int_equal(count_moved(), 1);
    publish(&r, 1, 0);
    settle(&r);
    int notice = find_what(&r.seen, "journal damaged");
    assert_true(notice >= 0);
    assert_non_null(strstr(r.seen.text[notice], "moved to"));
    rig_close(&r);
    assert_events_in_order(1);
    assert_int_equal(rows("code_name = 'journal damaged'"), 1);
}

static void truncated_moved_aside_at_start(void **state)
{
    (void)state;
    make_journal(300);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size / 3), 0);
    struct rig r;
    rig_open(&r, 0);
    wait_check(&r);
    publish(&r, 1, 0);
    settle(&r);
    settle(&r);
    end_stored(&r, 1, 1);
}

/* Damage in the middle is found by the check in the background; what arrived meanwhile waits and is stored
 * in the new journal. */
static void damaged_middle_found_by_check(void **state)
{
    (void)state;
    make_journal(2000);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    garble(st.st_size / 2, 8192);
    struct rig r;
    rig_open(&r, 0);
    struct journal_health h;
    journal_health(r.j, &h);
    assert_int_equal(h.state, JOURNAL_CHECKING);
    publish(&r, 1, 0);
    publish(&r, 2, 0);
    settle(&r);
    assert_true(r.seen.queued[0] && r.seen.queued[1]); /* waiting for the check */
    wait_check(&r);
    settle(&r);
    end_stored(&r, 1, 2);
    assert_int_equal(rows("code_name = 'journal damaged' AND text LIKE '%quick_check%'"), 1);
}

/* A journal damaged while running: writes fail, the check confirms, the file is moved aside, a new one
 * stores everything kept. */
static void damaged_while_running(void **state)
{
    (void)state;
    make_journal(1500);
    struct rig r;
    rig_open(&r, 0);
    wait_check(&r);
    settle(&r);
    struct journal_health h;
    journal_health(r.j, &h);
    assert_int_equal(h.state, JOURNAL_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    garble(4096, st.st_size - 4096); /* every page but the first */
    sqlite3 *other; /* another writer: the journal's cached pages are read again */
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    for (int i = 1; i <= 5; i++)
        publish(&r, i, 0);
    settle(&r);
    journal_health(r.j, &h);
    assert_int_equal(h.state, JOURNAL_QUEUING);
    assert_non_null(strstr(h.reason, "damaged"));
    assert_true(r.seen.queued[0]);
    loop_advance(r.loop, 1000000); /* the retry starts the check */
    wait_check(&r);
    settle(&r);
    end_stored(&r, 1, 5);
}

static void newer_schema_not_moved(void **state)
{
    (void)state;
    make_journal(3);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct rig r;
    rig_open(&r, 0);
    struct journal_health h;
    journal_health(r.j, &h);
    assert_int_equal(h.state, JOURNAL_UNAVAILABLE);
    assert_non_null(strstr(h.reason, "newer"));
    assert_true(h.history && h.history_readonly); /* the old rows can still be read */
    assert_int_equal(journal_count_events(r.j), 3);
    assert_int_equal(count_moved(), 0);
    rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(disk_full_then_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(locked_overflow_counted_in_a_row, setup, teardown),
        cmocka_unit_test_setup_teardown(audit_kept_and_completed, setup, teardown),
        cmocka_unit_test_setup_teardown(unavailable_at_start_then_available, setup, teardown),
        cmocka_unit_test_setup_teardown(damaged_header_moved_aside_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(truncated_moved_aside_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(damaged_middle_found_by_check, setup, teardown),
        cmocka_unit_test_setup_teardown(damaged_while_running, setup, teardown),
        cmocka_unit_test_setup_teardown(newer_schema_not_moved, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
