/* The journal crash test: a child floods events and prints each key once the journal committed it; the
 * parent kills it with SIGKILL at random moments, over and over. After every kill the database passes
 * PRAGMA integrity_check, and at the end every key that was printed is stored exactly once. Each new child
 * first replays the last keys of its predecessor (catch-up after reconnection): they must be deduplicated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/event.h"
#include "core/journal.h"
#include "fixture.h"
#include "fixture_sql.h"

#define KILLS 120
#define REPLAY 5

static char dir[64], path[128];

struct keys {
    char (*k)[32];
    size_t n, cap;
};

static void keys_add(struct keys *ks, const char *k)
{
    if (ks->n == ks->cap) {
        ks->cap = ks->cap ? ks->cap * 2 : 1024;
        ks->k = realloc(ks->k, ks->cap * sizeof *ks->k);
        assert_non_null(ks->k);
    }
    snprintf(ks->k[ks->n++], sizeof ks->k[0], "%s", k);
}

static void make_event(struct event *ev, const char *key)
{
    event_init(ev, EVENT_ACCESS, EVENT_NORMAL);
    snprintf(ev->device, sizeof ev->device, "Panel A");
    snprintf(ev->key, sizeof ev->key, "%s", key);
    event_set_text(ev, "flood %s", key);
    ev->host_time_us = event_now_us();
}

/* The writer: never returns. Prints "key\n" after each commit (new or duplicate). */
static void child(int fd, int cycle, const struct keys *prev)
{
    char err[256];
    struct journal_opts o = { .path = path };
    struct journal *j = journal_open(&o, err, sizeof err);
    if (!j) {
        dprintf(fd, "OPEN-FAILED %s\n", err);
        _exit(1);
    }
    for (size_t i = 0; i < prev->n; i++) {
        struct event ev;
        make_event(&ev, prev->k[i]);
        int rc = journal_commit_event(j, &ev);
        if (rc != 0) {
            dprintf(fd, "REPLAY-STORED %s rc=%d\n", prev->k[i], rc);
            _exit(1);
        }
        dprintf(fd, "%s\n", prev->k[i]);
    }
    for (int n = 0;; n++) {
        char key[32];
        snprintf(key, sizeof key, "c%d-%d", cycle, n);
        struct event ev;
        make_event(&ev, key);
        if (journal_commit_event(j, &ev) != 1) {
            dprintf(fd, "COMMIT-FAILED %s %s\n", key, journal_error(j));
            _exit(1);
        }
        dprintf(fd, "%s\n", key);
    }
}

/* child's arguments, for fx_kill9_after */
struct writer {
    int cycle;
    const struct keys *prev;
};

static void writer(int fd, void *arg)
{
    const struct writer *w = arg;
    child(fd, w->cycle, w->prev);
}

static void integrity_ok(size_t printed_so_far)
{
    if (access(path, F_OK) != 0) {
        /* Killed before it created the database (a slow start under sanitizers): then it cannot have
         * printed a committed key either. */
        assert_int_equal(printed_so_far, 0);
        return;
    }
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    fx_sql_integrity_ok(db);
    sqlite3_close(db);
}

static void test_kill9(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/portier-crash.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/journal.db", dir);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());

    struct keys printed = { 0 }, prev = { 0 };
    int64_t t0 = event_now_us();
    int kills = 0;
    long slow_us = 0; /* added to the window while writers die before printing anything (a loaded machine) */
    for (int cycle = 0; cycle < KILLS; cycle++) {
        /* let it run 1..41 ms (more on a slow machine), then kill -9 wherever it is (also while opening or
         * replaying) */
        struct writer w = { cycle, &prev };
        int status;
        FILE *f = fx_kill9_after(writer, &w, 1000 + slow_us, 40000, &status);
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            kills++;
        else
            fail_msg("writer exited by itself (status %d)", status);
        /* collect the committed keys (lines are written with one write(2), below PIPE_BUF: never torn) */
        char line[128];
        struct keys mine = { 0 };
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = '\0';
            if (strchr(line, ' '))
                fail_msg("writer: %s", line);
            keys_add(&printed, line);
            keys_add(&mine, line);
        }
        fclose(f);
        integrity_ok(printed.n);
        slow_us = mine.n ? slow_us / 2 : (slow_us ? slow_us * 2 : 20000);
        if (slow_us > 800000)
            slow_us = 800000;
        /* the next writer replays the last REPLAY keys this one printed */
        prev.n = 0;
        for (size_t i = mine.n > REPLAY ? mine.n - REPLAY : 0; i < mine.n; i++)
            keys_add(&prev, mine.k[i]);
        free(mine.k);
    }
    assert_true(kills >= 100);
    if (printed.n == 0)
        fail_msg("no writer committed anything before its kill");

    /* every printed key is stored exactly once */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM events WHERE key = ?", -1, &st, NULL), SQLITE_OK);
    for (size_t i = 0; i < printed.n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, printed.k[i], -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        if (sqlite3_column_int(st, 0) != 1)
            fail_msg("key %s stored %d times", printed.k[i], sqlite3_column_int(st, 0));
    }
    sqlite3_finalize(st);
    /* at most one event per kill was committed but not yet printed */
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), count(DISTINCT key) FROM events", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long rows = sqlite3_column_int(st, 0), distinct = sqlite3_column_int(st, 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_int_equal(rows, distinct);
    /* printed keys include replays; count the distinct ones */
    qsort(printed.k, printed.n, sizeof printed.k[0], (int (*)(const void *, const void *))strcmp);
    long printed_distinct = 0;
    for (size_t i = 0; i < printed.n; i++)
        printed_distinct += i == 0 || strcmp(printed.k[i], printed.k[i - 1]) != 0;
    assert_true(rows >= printed_distinct);
    assert_true(rows - printed_distinct <= kills);
    fprintf(stderr, "# %d kills, %zu keys printed, %ld rows stored, %.1f s\n", kills, printed.n, rows,
            (double)(event_now_us() - t0) / 1e6);
    free(printed.k);
    free(prev.k);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
