/* journal_open: opening the journal (directory, WAL, schema), the integrity check (PRAGMA quick_check, in a
 * thread when there is a loop), moving a damaged file aside, and the read-only fallback for the history. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/durable.h"
#include "core/journal_int.h"

#define QUEUE_EVENTS_DEFAULT 4096
#define QUEUE_AUDITS 1024
/* How long a writer waits for another process's write transaction. With a loop: short (what cannot be
 * written at once waits in memory and is retried, the loop must not stall); without one (portierctl): the
 * old bound, a short-lived tool may wait. */
#define BUSY_MS_LOOP 20
#define BUSY_MS_TOOL 250

sqlite3 *journal_query_db(struct journal *j)
{
    return j->db ? j->db : j->qdb;
}

static bool is_damage(int code)
{
    return (code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB;
}

/* Rename PATH (and its -wal, -shm, -journal files) to PATH.corrupt-YYYYMMDD-HHMMSS[-N]. 0 or -1 (errno). */
static int move_aside(struct journal *j, char *to, size_t tolen)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    struct stat st;
    for (int n = 0; n < 100; n++) {
        int w = n ? snprintf(to, tolen, "%s.corrupt-%s-%d", j->path, stamp, n)
                  : snprintf(to, tolen, "%s.corrupt-%s", j->path, stamp);
        if (w < 0 || (size_t)w >= tolen) {
            errno = ENAMETOOLONG;
            return -1;
        }
        if (lstat(to, &st) != 0)
            break;
    }
    if (rename(j->path, to) != 0)
        return -1;
    static const char *const sides[] = { "-wal", "-shm", "-journal" };
    for (size_t i = 0; i < sizeof sides / sizeof sides[0]; i++) {
        char a[PATH_MAX + 16], b[PATH_MAX + 64];
        snprintf(a, sizeof a, "%s%s", j->path, sides[i]);
        snprintf(b, sizeof b, "%s%s", to, sides[i]);
        if (rename(a, b) != 0 && errno != ENOENT)
            unlink(a);
    }
    return 0;
}

/* The file was found damaged (why): move it aside and say so. 0, or -1 when it cannot be moved. */
static int set_aside(struct journal *j, const char *why)
{
    char to[PATH_MAX + 64];
    if (move_aside(j, to, sizeof to) != 0) {
        snprintf(j->err, sizeof j->err, "the journal is damaged (%.100s) and cannot be moved aside: %s", why,
                 strerror(errno));
        return -1;
    }
    journal_notice(j, EVENT_ALARM, "journal damaged",
                   "the journal %s was damaged (%.100s): it was moved to %s and a new journal was started", j->path,
                   why, to);
    return 0;
}

void journal_disconnect(struct journal *j)
{
    journal_writer_stop(j);
    journal_ckpt_stop(j); /* its connection goes first: the last one to close checkpoints the rest */
    journal_finalize_writes(j);
    if (j->db)
        sqlite3_close_v2(j->db);
    j->db = NULL;
}

/* After a failure: when the file or its directory cannot be written, say that instead of SQLite's "unable to
 * open database file" (and return SQLITE_READONLY); otherwise keep SQLite's message and rc. */
static int explain_failure(struct journal *j, int rc)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", j->path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    const char *what = NULL;
    if (access(j->path, F_OK) == 0 && access(j->path, W_OK) != 0)
        what = "the file";
    else if (access(dir, W_OK) != 0)
        what = "its directory";
    if (!what)
        return rc;
    snprintf(j->err, sizeof j->err, "%s cannot be written: %s", what, strerror(errno));
    return SQLITE_READONLY;
}

/* One attempt at the read-write connection. SQLite code; j->err says why on failure. */
static int connect_once(struct journal *j, bool *existed)
{
    struct stat st;
    *existed = stat(j->path, &st) == 0 && st.st_size > 0;
    if (durable_mkdirs_for(j->path, 0700) != 0) {
        snprintf(j->err, sizeof j->err, "cannot create its directory: %s", strerror(errno));
        return errno == EROFS || errno == EACCES ? SQLITE_READONLY : SQLITE_CANTOPEN;
    }
    if (stat(j->path, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(j->err, sizeof j->err, "not a regular file");
        return SQLITE_CANTOPEN;
    }
    int rc = sqlite3_open_v2(j->path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(j->err, sizeof j->err, "%s", j->db ? sqlite3_errmsg(j->db) : "cannot open");
        if (j->db)
            rc = sqlite3_extended_errcode(j->db);
        journal_disconnect(j);
        return explain_failure(j, rc);
    }
    sqlite3_busy_timeout(j->db, j->busy_ms);
    sqlite3_extended_result_codes(j->db, 1);
    journal_query_functions(j->db);
    /* WAL: readers (portierctl journal) never block the writer. synchronous=FULL: every commit is on disk
     * before the event is shown, also across power loss (NORMAL could lose the last commits). Touching the
     * schema makes a non-database file fail here. */
    if (journal_exec(j, "PRAGMA journal_mode=WAL") != 0 || journal_exec(j, "PRAGMA synchronous=FULL") != 0 ||
        journal_exec(j, "SELECT count(*) FROM sqlite_master") != 0 || journal_migrate(j) != 0 ||
        journal_prepare_writes(j) != 0) {
        rc = sqlite3_extended_errcode(j->db);
        journal_disconnect(j);
        if (rc == SQLITE_OK)
            return SQLITE_ERROR; /* e.g. a newer schema */
        return is_damage(rc) ? rc : explain_failure(j, rc);
    }
    journal_ckpt_attach(j);
    return SQLITE_OK;
}

int journal_connect(struct journal *j)
{
    bool existed;
    int rc = connect_once(j, &existed);
    if (rc != SQLITE_OK && is_damage(rc) && j->keep_trying) {
        char why[200];
        event_copy(why, sizeof why, j->err);
        if (set_aside(j, why) != 0)
            return rc;
        rc = connect_once(j, &existed);
    }
    if (rc != SQLITE_OK)
        return rc;
    j->checked = !existed; /* a new file needs no check */
    j->damaged = false;
    if (j->qdb) {
        sqlite3_close_v2(j->qdb);
        j->qdb = NULL;
    }
    journal_prune(j, 0);
    return SQLITE_OK;
}

/* The history's read-only fallback while the journal cannot be written: the file as it is (immutable when
 * even a read-only WAL reader cannot start). */
static void open_query_fallback(struct journal *j)
{
    struct stat st;
    if (j->db || j->qdb || stat(j->path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        return;
    char uri[3 * PATH_MAX + 32];
    size_t o = 0;
    o += (size_t)snprintf(uri, sizeof uri, "file:");
    for (const unsigned char *p = (const unsigned char *)j->path; *p && o + 4 < sizeof uri; p++) {
        if (*p == '%' || *p == '?' || *p == '#' || *p < 0x21 || *p >= 0x7f)
            o += (size_t)snprintf(uri + o, sizeof uri - o, "%%%02X", *p);
        else
            uri[o++] = (char)*p;
    }
    uri[o] = '\0';
    static const char *const modes[] = { "?mode=ro", "?mode=ro&immutable=1" };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        char full[sizeof uri + 32];
        snprintf(full, sizeof full, "%s%s", uri, modes[i]);
        sqlite3 *db = NULL;
        if (sqlite3_open_v2(full, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL) == SQLITE_OK &&
            sqlite3_exec(db, "SELECT count(*) FROM events", NULL, NULL, NULL) == SQLITE_OK) {
            sqlite3_busy_timeout(db, j->busy_ms);
            journal_query_functions(db);
            j->qdb = db;
            return;
        }
        sqlite3_close_v2(db);
    }
}

/* ---- the integrity check ---- */

/* PRAGMA quick_check(1) on a connection of its own (runs in the check thread). */
static void run_check(struct journal *j)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(j->path, &db, SQLITE_OPEN_READONLY, NULL);
    pthread_mutex_lock(&j->check_lock);
    j->check_db = db;
    pthread_mutex_unlock(&j->check_lock);
    j->check_result[0] = '\0';
    sqlite3_stmt *st = NULL;
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 2000);
        rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        const unsigned char *t = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
        if (rc == SQLITE_ROW && t && strcmp((const char *)t, "ok") == 0) {
            rc = SQLITE_OK;
        } else if (rc == SQLITE_ROW) {
            rc = SQLITE_CORRUPT;
            snprintf(j->check_result, sizeof j->check_result, "quick_check: %.200s", t ? (const char *)t : "?");
        }
    }
    if (rc != SQLITE_OK && !j->check_result[0])
        snprintf(j->check_result, sizeof j->check_result, "quick_check: %s", db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_finalize(st);
    pthread_mutex_lock(&j->check_lock);
    j->check_db = NULL;
    pthread_mutex_unlock(&j->check_lock);
    sqlite3_close_v2(db);
    j->check_code = rc;
}

static void *check_main(void *arg)
{
    struct journal *j = arg;
    run_check(j);
    uint64_t one = 1;
    ssize_t w = write(j->check_fd, &one, sizeof one);
    (void)w;
    return NULL;
}

/* The check's outcome (in the loop's thread). */
static void check_done(struct journal *j)
{
    int code = j->check_code & 0xff;
    if (code == SQLITE_OK) {
        j->checked = true;
        j->damaged = false;
    } else if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) {
        journal_disconnect(j);
        if (set_aside(j, j->check_result) != 0) {
            journal_trouble(j, SQLITE_CORRUPT);
            return;
        }
        int rc = journal_connect(j);
        if (rc != SQLITE_OK) {
            journal_trouble(j, rc);
            return;
        }
    } else {
        /* Inconclusive (busy, interrupted): write on; a damaged page met later checks again. */
        j->checked = true;
        j->damaged = false;
    }
    journal_retry_now(j);
}

static void join_check(struct journal *j)
{
    pthread_join(j->check_thread, NULL);
    j->check_running = false;
    if (j->loop)
        loop_del_fd(j->loop, j->check_fd);
    close(j->check_fd);
    j->check_fd = -1;
}

static void on_check(loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)events;
    struct journal *j = arg;
    uint64_t v;
    if (read(fd, &v, sizeof v) < 0 && errno == EAGAIN)
        return;
    join_check(j);
    check_done(j);
}

void journal_check_start(struct journal *j)
{
    if (j->check_running)
        return;
    if (j->state == JOURNAL_OK)
        j->state = JOURNAL_CHECKING; /* writes wait in memory until it passed */
    if (j->loop) {
        j->check_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (j->check_fd >= 0 && loop_add_fd(j->loop, j->check_fd, LOOP_READ, on_check, j) == 0) {
            if (pthread_create(&j->check_thread, NULL, check_main, j) == 0) {
                j->check_running = true;
                return;
            }
            loop_del_fd(j->loop, j->check_fd);
        }
        if (j->check_fd >= 0)
            close(j->check_fd);
        j->check_fd = -1;
    }
    run_check(j); /* no loop (or no thread): inline */
    check_done(j);
}

/* ---- open and close ---- */

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
    if (snprintf(j->path, sizeof j->path, "%s", opts->path) >= (int)sizeof j->path) {
        snprintf(err, errlen, "%.64s...: path too long", opts->path);
        free(j);
        return NULL;
    }
    j->retention_days = opts->retention_days;
    j->retention_rows = opts->retention_rows;
    j->readonly = opts->readonly;
    j->keep_trying = opts->keep_trying && !opts->readonly;
    j->busy = opts->busy;
    j->busy_arg = opts->busy_arg;
    j->loop = opts->loop;
    j->busy_ms = j->loop ? BUSY_MS_LOOP : BUSY_MS_TOOL;
    j->check_fd = -1;
    pthread_mutex_init(&j->check_lock, NULL);
    journal_ckpt_init(j);
    journal_writer_init(j);
    journal_retry_init(j);
    if (opts->readonly) {
        int rc = sqlite3_open_v2(j->path, &j->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_busy_timeout(j->db, j->busy_ms);
            sqlite3_extended_result_codes(j->db, 1);
            journal_query_functions(j->db);
        }
        if (rc != SQLITE_OK || journal_exec(j, "SELECT count(*) FROM sqlite_master") != 0 || journal_migrate(j) != 0) {
            if (rc != SQLITE_OK)
                snprintf(j->err, sizeof j->err, "%s", j->db ? sqlite3_errmsg(j->db) : "cannot open");
            snprintf(err, errlen, "%s: %s", j->path, j->err);
            journal_close(j);
            return NULL;
        }
        return j;
    }
    j->q = jq_new(opts->queue_events ? opts->queue_events : QUEUE_EVENTS_DEFAULT, QUEUE_AUDITS);
    if (!j->q) {
        snprintf(err, errlen, "out of memory");
        journal_close(j);
        return NULL;
    }
    int rc = journal_connect(j);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", j->path, j->err);
        if (!j->keep_trying) {
            journal_close(j);
            return NULL;
        }
        journal_trouble(j, rc);
        open_query_fallback(j);
        return j;
    }
    if (!j->checked)
        journal_check_start(j);
    return j;
}

void journal_close(struct journal *j)
{
    if (!j)
        return;
    journal_writer_close(j); /* a batch under way is stored and handed back first */
    if (j->check_running) {
        pthread_mutex_lock(&j->check_lock);
        if (j->check_db)
            sqlite3_interrupt(j->check_db);
        pthread_mutex_unlock(&j->check_lock);
        join_check(j);
    }
    if (j->loop)
        loop_timer_disarm(j->loop, &j->retry_timer);
    j->loop = NULL; /* from here on nothing is scheduled */
    if (j->db && j->q && jq_len(j->q) > 0 && !j->damaged) {
        j->checked = true; /* closing: no time for a check, store what can be stored */
        journal_flush(j);
    }
    journal_disconnect(j);
    if (j->qdb)
        sqlite3_close_v2(j->qdb);
    jq_free(j->q);
    pthread_mutex_destroy(&j->check_lock);
    journal_ckpt_destroy(j);
    journal_writer_destroy(j);
    free(j);
}
