/* journal_writer: a catch-up's recovered rows stored by a thread of their own, on a connection of its own, while the
 * loop reads the next chunks of the panel's answer (event_bus_set_background; loop case). Storing thousands of rows
 * costs more than their transfer over a fast panel link, and in the loop's thread the link waits meanwhile (one
 * request in flight); here the two overlap, and the loop is never held by a batch. One batch at a time, in the
 * bus's order: nothing else is stored until it is done. Only recovered rows go there: their commits are relaxed
 * (synchronous=NORMAL on this connection) since the panel still holds them and the catch-up's position moves only
 * in a later synchronous commit of the main connection, whose sync of the WAL file covers these frames too
 * (doc/decisions.md). A batch the thread could not write (busy, disk full, damaged) is rolled back whole and
 * stored again by the loop's thread as any batch (kept in memory when the journal is in trouble): stored once.
 * An audit row or event of the loop's connection that meets the batch's lock waits the busy timeout at most, is kept
 * in memory without a trouble notice (the lock is the journal's own) and is stored when the batch is handed back. */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/journal_int.h"

/* A checkpoint copies the WAL into the database file and syncs it: run while a catch-up streams, it takes the
 * cores the transfer and the inserts need (at 12.5 MB/s the catch-up took 1.9-2.0x the wire with it, 1.4-1.5x
 * without). So the thread's commits leave it to the next commit of the loop's connection (the gap row and the
 * position that end every catch-up, whose WAL hook asks for it) unless the WAL grows past this many frames (a
 * long history read: about 32 MB). */
#define WRITER_CKPT_FRAMES (8 * JOURNAL_CKPT_FRAMES)

static int w_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    struct journal *j = arg;
    if (frames >= WRITER_CKPT_FRAMES)
        j->w_ckpt = true; /* the loop asks the checkpoint thread (read after the batch's hand-over) */
    return SQLITE_OK;
}

static void w_close(struct journal *j)
{
    sqlite3_finalize(j->w_ins);
    sqlite3_finalize(j->w_find);
    sqlite3_close_v2(j->w_db);
    j->w_ins = j->w_find = NULL;
    j->w_db = NULL;
}

static int w_open(struct journal *j)
{
    if (j->w_db)
        return SQLITE_OK;
    int rc = sqlite3_open_v2(j->path, &j->w_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        /* As long as the loop's connection waits for another writer: the bus holds later events (a live alarm)
         * meanwhile; a batch that cannot get the lock goes back to the loop's thread, which keeps it in memory. */
        sqlite3_busy_timeout(j->w_db, j->busy_ms);
        sqlite3_extended_result_codes(j->w_db, 1);
        sqlite3_wal_hook(j->w_db, w_hook, j); /* no automatic checkpoint here: the checkpoint thread does it */
        rc = sqlite3_exec(j->w_db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v3(j->w_db, journal_sql_insert_event, -1, SQLITE_PREPARE_PERSISTENT, &j->w_ins, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v3(j->w_db, journal_sql_find_key, -1, SQLITE_PREPARE_PERSISTENT, &j->w_find, NULL);
    if (rc != SQLITE_OK)
        w_close(j);
    return rc;
}

/* One batch in one transaction; SQLITE_OK or the code of the failure (then nothing of it is stored). */
static int w_write(struct journal *j, struct event *evs, size_t n, int *rc)
{
    int code = w_open(j);
    if (code != SQLITE_OK)
        return code;
    code = sqlite3_exec(j->w_db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    for (size_t i = 0; i < n && code == SQLITE_OK; i++) {
        rc[i] = journal_insert_event(j->w_db, j->w_ins, j->w_find, &evs[i]);
        if (rc[i] < 0)
            code = sqlite3_extended_errcode(j->w_db);
    }
    if (code == SQLITE_OK) {
        pthread_mutex_lock(&j->w_lock);
        while (j->w_hold && !j->w_stop) {
            j->w_holding = true;
            pthread_cond_wait(&j->w_cond, &j->w_lock);
        }
        j->w_holding = false;
        pthread_mutex_unlock(&j->w_lock);
        code = sqlite3_exec(j->w_db, "COMMIT", NULL, NULL, NULL);
    }
    if (code != SQLITE_OK) {
        sqlite3_exec(j->w_db, "ROLLBACK", NULL, NULL, NULL);
        w_close(j); /* the next batch opens afresh (the file may have been moved aside meanwhile) */
    }
    return code;
}

static void *w_main(void *arg)
{
    struct journal *j = arg;
    pthread_mutex_lock(&j->w_lock);
    for (;;) {
        while (!(j->w_busy && !j->w_done) && !j->w_stop)
            pthread_cond_wait(&j->w_cond, &j->w_lock);
        if (!(j->w_busy && !j->w_done))
            break; /* stopping, nothing handed over */
        struct event *evs = j->w_evs;
        size_t n = j->w_n;
        int *rc = j->w_rc;
        pthread_mutex_unlock(&j->w_lock);
        int code = w_write(j, evs, n, rc);
        pthread_mutex_lock(&j->w_lock);
        j->w_code = code;
        j->w_done = true;
        pthread_cond_broadcast(&j->w_cond);
        uint64_t one = 1;
        ssize_t w = write(j->w_fd, &one, sizeof one);
        (void)w;
    }
    pthread_mutex_unlock(&j->w_lock);
    w_close(j);
    return NULL;
}

/* The batch is written (or failed): store it here if it failed, then hand it back to the bus. */
static void complete(struct journal *j)
{
    pthread_mutex_lock(&j->w_lock);
    bool done = j->w_done;
    if (done) {
        j->w_busy = j->w_done = false;
        j->w_inflight = false;
    }
    int code = j->w_code;
    bool ckpt = j->w_ckpt;
    j->w_ckpt = false;
    pthread_mutex_unlock(&j->w_lock);
    if (!done)
        return;
    struct event *evs = j->w_evs;
    size_t n = j->w_n;
    int *rc = j->w_rc;
    struct event_bus *bus = j->w_bus;
    j->w_evs = NULL;
    j->w_rc = NULL;
    j->w_bus = NULL;
    if (j->w_retry) {
        /* an audit row or event met the batch's lock meanwhile: stored now, before the batch is delivered */
        j->w_retry = false;
        journal_retry_now(j);
    }
    if (code != SQLITE_OK) {
        journal_store_events(j, evs, n, rc); /* rolled back whole: as any batch (kept when it cannot be) */
    } else {
        j->w_batches++;
        if (ckpt)
            journal_ckpt_request(j);
        journal_events_committed(j, evs, n, true);
    }
    event_bus_stored_batch(bus);
}

static void on_written(loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)events;
    uint64_t v;
    if (read(fd, &v, sizeof v) < 0 && errno == EAGAIN)
        return;
    complete(arg);
}

void journal_writer_finish(struct journal *j)
{
    if (!j->w_inflight)
        return;
    pthread_mutex_lock(&j->w_lock);
    while (j->w_busy && !j->w_done && j->w_started)
        pthread_cond_wait(&j->w_cond, &j->w_lock);
    pthread_mutex_unlock(&j->w_lock);
    complete(j);
}

static bool bg_ready(void *arg)
{
    struct journal *j = arg;
    return j->loop && !j->readonly && j->db && !j->w_inflight && journal_storing_now(j);
}

/* The thread and its eventfd, started on first use; false when they cannot be. */
static bool w_start(struct journal *j)
{
    if (j->w_fd < 0) {
        j->w_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (j->w_fd < 0)
            return false;
        if (loop_add_fd(j->loop, j->w_fd, LOOP_READ, on_written, j) != 0) {
            close(j->w_fd);
            j->w_fd = -1;
            return false;
        }
    }
    if (!j->w_started) {
        j->w_stop = false;
        j->w_started = pthread_create(&j->w_thread, NULL, w_main, j) == 0;
    }
    return j->w_started;
}

static void bg_start(struct event *evs, size_t n, int *rc, struct event_bus *bus, void *arg)
{
    struct journal *j = arg;
    if (!w_start(j)) {
        journal_store_events(j, evs, n, rc);
        event_bus_stored_batch(bus);
        return;
    }
    j->w_evs = evs;
    j->w_n = n;
    j->w_rc = rc;
    j->w_bus = bus;
    j->w_inflight = true;
    pthread_mutex_lock(&j->w_lock);
    j->w_busy = true;
    j->w_done = false;
    pthread_cond_broadcast(&j->w_cond);
    pthread_mutex_unlock(&j->w_lock);
}

static void bg_wait(void *arg) { journal_writer_finish(arg); }

void journal_writer_attach(struct journal *j, struct event_bus *bus)
{
    struct event_bus_background bg = { .ready = bg_ready, .start = bg_start, .wait = bg_wait, .arg = j };
    event_bus_set_background(bus, j->loop && !j->readonly ? &bg : NULL);
}

bool journal_writer_wait_written(struct journal *j, int max_ms)
{
    if (!j->w_inflight)
        return true;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += max_ms / 1000;
    until.tv_nsec += (long)(max_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&j->w_lock);
    while (j->w_busy && !j->w_done && j->w_started)
        if (pthread_cond_timedwait(&j->w_cond, &j->w_lock, &until) != 0)
            break;
    bool written = !(j->w_busy && !j->w_done && j->w_started);
    pthread_mutex_unlock(&j->w_lock);
    return written;
}

void journal_writer_hold(struct journal *j, bool hold)
{
    pthread_mutex_lock(&j->w_lock);
    j->w_hold = hold;
    pthread_cond_broadcast(&j->w_cond);
    pthread_mutex_unlock(&j->w_lock);
}

bool journal_writer_holding(struct journal *j)
{
    pthread_mutex_lock(&j->w_lock);
    bool holding = j->w_holding;
    pthread_mutex_unlock(&j->w_lock);
    return holding;
}

void journal_writer_stop(struct journal *j)
{
    pthread_mutex_lock(&j->w_lock);
    bool started = j->w_started;
    j->w_stop = true;
    pthread_cond_broadcast(&j->w_cond);
    pthread_mutex_unlock(&j->w_lock);
    if (started)
        pthread_join(j->w_thread, NULL); /* a batch handed over is written first */
    j->w_started = false;
}

void journal_writer_init(struct journal *j)
{
    j->w_fd = -1;
    pthread_mutex_init(&j->w_lock, NULL);
    pthread_cond_init(&j->w_cond, NULL);
}

void journal_writer_close(struct journal *j)
{
    journal_writer_finish(j);
    journal_writer_stop(j);
    if (j->w_fd >= 0) {
        if (j->loop)
            loop_del_fd(j->loop, j->w_fd);
        close(j->w_fd);
        j->w_fd = -1;
    }
}

void journal_writer_destroy(struct journal *j)
{
    pthread_cond_destroy(&j->w_cond);
    pthread_mutex_destroy(&j->w_lock);
}
