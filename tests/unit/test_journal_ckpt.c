/* Unit tests for the journal's background WAL work (journal_ckpt.c): with a loop, commits never checkpoint in the
 * writer's thread; a thread of its own checkpoints once the WAL is past its threshold and syncs the WAL after
 * relaxed (recovered-only) commits; closing with work pending or under way loses nothing; kill -9 at any moment
 * leaves an intact file with every committed batch once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/event.h"
#include "core/journal.h"
#include "core/loop.h"
#include "fixture.h"
#include "fixture_sql.h"

static char dir[256];
static char path[300];
static loop_t *L;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/portier-ckpt.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/journal.db", dir);
    L = loop_new();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    loop_free(L);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A journal as the console opens it (a loop), once its check has passed. */
static struct journal *open_loop(void)
{
    char err[256] = "";
    struct journal_opts o = { .path = path, .loop = L };
    struct journal *j = journal_open(&o, err, sizeof err);
    assert_non_null(j);
    for (int i = 0; i < 3000; i++) {
        struct journal_health h;
        journal_health(j, &h);
        if (h.state == JOURNAL_OK)
            break;
        loop_run_once(L, 5);
    }
    struct journal_health h;
    journal_health(j, &h);
    assert_int_equal(h.state, JOURNAL_OK);
    return j;
}

/* n batches of 500 recovered rows (a catch-up's), keys from *next on; each stored now, or (again) a double. */
static void store_batches(struct journal *j, unsigned batches, unsigned *next, bool again)
{
    enum { B = 500 };
    struct event *evs = calloc(B, sizeof *evs);
    int rc[B];
    for (unsigned b = 0; b < batches; b++) {
        for (unsigned i = 0; i < B; i++) {
            struct event *ev = &evs[i];
            event_init(ev, EVENT_ACCESS, EVENT_NORMAL);
            event_copy(ev->device, sizeof ev->device, "P");
            ev->host_time_us = event_now_us();
            ev->card = *next;
            ev->recovered = true;
            event_set_text(ev, "normal punch open card %u (card only, entry) with some more words to fill a row", *next);
            snprintf(ev->key, sizeof ev->key, "P|%u|#%u", *next, *next);
            (*next)++;
        }
        journal_store_events(j, evs, B, rc);
        for (unsigned i = 0; i < B; i++)
            if (rc[i] != 1 && !(again && rc[i] == 0))
                fail_msg("row %u: store result %d", *next - B + i, rc[i]);
    }
    free(evs);
}

static void store_recovered(struct journal *j, unsigned batches, unsigned *next)
{
    store_batches(j, batches, next, false);
}

static long long file_size(const char *suffix)
{
    char p[320];
    snprintf(p, sizeof p, "%s%s", path, suffix);
    struct stat st;
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

static void wait_stats(struct journal *j, struct journal_ckpt_stats *st, unsigned long min_runs)
{
    for (int i = 0; i < 2000; i++) {
        journal_checkpoint_stats(j, st);
        if (st->runs >= min_runs)
            return;
        usleep(5000);
    }
}

static void checkpoints_run_in_their_own_thread(void **state)
{
    (void)state;
    struct journal *j = open_loop();
    long long db0 = file_size("");
    struct journal_ckpt_stats st;
    journal_checkpoint_stats(j, &st);
    assert_int_equal(st.runs, 0);
    unsigned next = 1;
    /* 20 000 rows: the WAL passes 1000 frames several times. Nothing is copied into the database file by the
     * writer itself: its size only moves through the thread's checkpoints. */
    store_recovered(j, 40, &next);
    wait_stats(j, &st, 1);
    assert_true(st.runs >= 1);
    assert_int_equal(st.failures, 0);
    assert_true(file_size("") > db0);
    /* The relaxed commits were synced ahead (or covered by a checkpoint's own sync of the WAL). */
    assert_true(st.syncs + st.runs >= 2);
    assert_int_equal(journal_count_events(j), 20000);
    journal_close(j);
    /* Everything is there after a reopen, once. */
    j = open_loop();
    assert_int_equal(journal_count_events(j), 20000);
    journal_close(j);
}

/* The WAL does not grow without bound while the writer keeps writing: checkpoints let it start over. */
static void wal_stays_bounded(void **state)
{
    (void)state;
    struct journal *j = open_loop();
    unsigned next = 1;
    long long max = 0;
    for (int round = 0; round < 20; round++) {
        store_recovered(j, 4, &next);
        usleep(20000); /* the thread's turn (the writer does not wait for it) */
        long long w = file_size("-wal");
        if (w > max)
            max = w;
    }
    /* 40 000 rows of about 300 bytes with their indexes: over 12 MB of WAL without checkpoints; with them it
     * starts over once it was copied (1000 frames, about 4 MB, plus what was written while the thread ran). */
    assert_true(max < 8ll * 1024 * 1024);
    struct journal_ckpt_stats st;
    journal_checkpoint_stats(j, &st);
    assert_true(st.runs >= 2);
    assert_int_equal(journal_count_events(j), 40000);
    journal_close(j);
}

/* Closing while a checkpoint is asked for or running: the thread ends first, the close checkpoints the rest,
 * no row is lost or doubled. */
static void close_with_work_pending(void **state)
{
    (void)state;
    unsigned next = 1;
    for (int k = 0; k < 3; k++) {
        struct journal *j = open_loop();
        store_recovered(j, 6 + 4 * k, &next);
        journal_close(j); /* right away: a checkpoint is pending or under way */
    }
    struct journal *j = open_loop();
    assert_int_equal(journal_count_events(j), (long)(next - 1));
    journal_close(j);
    /* The last close checkpointed everything: no WAL is left behind. */
    assert_true(file_size("-wal") <= 0);
}

/* Without a loop (portierctl, tools) nothing changes: SQLite checkpoints in the commit, no thread is started. */
static void no_loop_no_thread(void **state)
{
    (void)state;
    char err[256] = "";
    struct journal_opts o = { .path = path };
    struct journal *j = journal_open(&o, err, sizeof err);
    assert_non_null(j);
    unsigned next = 1;
    store_recovered(j, 10, &next);
    struct journal_ckpt_stats st;
    journal_checkpoint_stats(j, &st);
    assert_int_equal(st.runs + st.syncs + st.failures, 0);
    assert_true(file_size("-wal") < 4096ll * 1100 + 65536);
    journal_close(j);
}

/* kill -9 while the thread checkpoints or syncs: the file stays intact and every batch the writer saw committed
 * is there, once. The writer prints a batch's last key after its commit; each new writer starts where the last
 * printed one ended, so a batch committed but not printed is written again and its keys are dropped as doubles. */
static void child(int fd, void *arg)
{
    unsigned next = *(unsigned *)arg;
    struct journal *j = open_loop();
    for (bool first = true;; first = false) {
        store_batches(j, 1, &next, first); /* the first batch may have been committed before the last kill */
        loop_run_once(L, 0);
        dprintf(fd, "%u\n", next - 1);
    }
}

static void kill9_during_background_work(void **state)
{
    (void)state;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    unsigned next = 1, printed = 0;
    int kills = 0;
    for (int cycle = 0; cycle < 25; cycle++) {
        int status;
        FILE *f = fx_kill9_after(child, &next, 20000, 200000, &status); /* 20..220 ms */
        kills += WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
        char line[64];
        while (fgets(line, sizeof line, f)) {
            unsigned last = (unsigned)strtoul(line, NULL, 10);
            assert_true(last >= next - 1);
            printed = last;
            next = last + 1;
        }
        fclose(f);
        if (access(path, F_OK) != 0)
            continue;
        sqlite3 *db;
        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        fx_sql_integrity_ok(db);
        /* Killed before its first commit (the schema is created in one transaction; how far a child gets in
         * 20 ms depends on the machine's load): the file has no table yet and nothing was printed. */
        bool schema = fx_sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'events'") == 1;
        if (!schema) {
            sqlite3_close(db);
            assert_int_equal(printed, 0);
            continue;
        }
        /* every printed key once, and nothing but whole batches beyond (a commit is all or nothing) */
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), count(DISTINCT key), coalesce(min(card), 1), "
                                                "coalesce(max(card), 0) FROM events WHERE kind = 0", -1, &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        long rows = sqlite3_column_int(st, 0), distinct = sqlite3_column_int(st, 1);
        long lo = sqlite3_column_int(st, 2), hi = sqlite3_column_int(st, 3);
        sqlite3_finalize(st);
        sqlite3_close(db);
        assert_int_equal(rows, distinct);
        assert_int_equal(lo, 1);
        assert_int_equal(rows, hi); /* no hole */
        assert_true(hi >= (long)printed);
        assert_int_equal(hi % 500, 0);
    }
    assert_true(kills >= 20);
    assert_true(printed > 0);
}

/* The state a kill before the first commit leaves (a new file, WAL set, no table): the next open creates the
 * schema and stores as usual. */
static void killed_before_the_first_commit(void **state)
{
    (void)state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct journal *j = open_loop();
    unsigned next = 1;
    store_recovered(j, 1, &next);
    assert_int_equal(journal_count_events(j), (long)(next - 1));
    journal_close(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(checkpoints_run_in_their_own_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(wal_stays_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(close_with_work_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(no_loop_no_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(killed_before_the_first_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(kill9_during_background_work, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
