/* journal_ckpt: the journal's WAL checkpoints, for an owner with a loop, in a thread of their own, so that the loop
 * never copies pages into the database file (a catch-up of thousands of rows grows the WAL past the automatic
 * checkpoint's threshold several times). After a commit that leaves the WAL at JOURNAL_CKPT_FRAMES frames or more,
 * the thread runs a PASSIVE checkpoint on its own connection: it never blocks the writer (which keeps appending
 * while it runs) and syncs the WAL before copying, so the frames of relaxed commits reach the disk meanwhile and
 * the next synchronous commit has less to sync. The same thread syncs the WAL file after relaxed commits (a
 * catch-up's recovered rows), so their bytes go to the disk while the transfer and the inserts go on, and the
 * synchronous commit of the position that follows waits only for the last ones. Without a loop SQLite's automatic
 * checkpoint stays and nothing is synced ahead. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/journal_int.h"

/* Write the WAL's dirty pages to the disk now (a later sync of the writer has only the rest to do). */
static void sync_wal(struct journal *j, int *fd)
{
    if (*fd < 0) {
        char wal[PATH_MAX + 8];
        if (snprintf(wal, sizeof wal, "%s-wal", j->path) >= (int)sizeof wal)
            return;
        *fd = open(wal, O_RDONLY | O_CLOEXEC);
    }
    if (*fd >= 0)
        (void)fdatasync(*fd);
}

static void *ckpt_main(void *arg)
{
    struct journal *j = arg;
    sqlite3 *db = NULL;
    int wal_fd = -1;
    pthread_mutex_lock(&j->ckpt_lock);
    for (;;) {
        while (!j->ckpt_pending && !j->sync_pending && !j->ckpt_stop)
            pthread_cond_wait(&j->ckpt_cond, &j->ckpt_lock);
        if (j->ckpt_stop)
            break;
        if (j->sync_pending && !j->ckpt_pending) {
            j->sync_pending = false;
            pthread_mutex_unlock(&j->ckpt_lock);
            sync_wal(j, &wal_fd);
            pthread_mutex_lock(&j->ckpt_lock);
            j->syncs++;
            continue;
        }
        j->ckpt_pending = j->sync_pending = false; /* a checkpoint syncs the WAL first */
        pthread_mutex_unlock(&j->ckpt_lock);
        int rc = SQLITE_OK;
        /* A connection of its own; reading the schema once makes it a WAL reader (a new connection does not
         * know yet that the file is in WAL mode, and would checkpoint nothing). */
        if (!db && (sqlite3_open_v2(j->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
                    sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK)) {
            sqlite3_close_v2(db);
            db = NULL;
            rc = SQLITE_CANTOPEN;
        }
        int log = -1, done = -1;
        if (db)
            rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        pthread_mutex_lock(&j->ckpt_lock);
        if (rc == SQLITE_OK && log >= 0)
            j->ckpt_runs++;
        else
            j->ckpt_failures++; /* the next commit over the threshold asks again */
    }
    pthread_mutex_unlock(&j->ckpt_lock);
    if (wal_fd >= 0)
        close(wal_fd);
    sqlite3_close_v2(db);
    return NULL;
}

/* Called by SQLite after every commit of the write connection (in the loop's thread). */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    struct journal *j = arg;
    if (frames >= JOURNAL_CKPT_FRAMES && j->loop) /* closing (no loop): the close checkpoints */
        journal_ckpt_request(j);
    return SQLITE_OK;
}

void journal_ckpt_init(struct journal *j)
{
    pthread_mutex_init(&j->ckpt_lock, NULL);
    pthread_cond_init(&j->ckpt_cond, NULL);
}

void journal_ckpt_destroy(struct journal *j)
{
    journal_ckpt_stop(j);
    pthread_cond_destroy(&j->ckpt_cond);
    pthread_mutex_destroy(&j->ckpt_lock);
}

void journal_ckpt_attach(struct journal *j)
{
    if (j->loop && j->db)
        sqlite3_wal_hook(j->db, wal_hook, j); /* replaces the automatic checkpoint */
}

/* Hand work to the thread (started on first use); false when there is no thread. */
static bool post(struct journal *j, bool ckpt)
{
    pthread_mutex_lock(&j->ckpt_lock);
    if (!j->ckpt_started) {
        j->ckpt_stop = false;
        j->ckpt_started = pthread_create(&j->ckpt_thread, NULL, ckpt_main, j) == 0;
    }
    if (ckpt)
        j->ckpt_pending = true;
    else
        j->sync_pending = true;
    pthread_cond_signal(&j->ckpt_cond);
    bool started = j->ckpt_started;
    pthread_mutex_unlock(&j->ckpt_lock);
    return started;
}

void journal_ckpt_request(struct journal *j)
{
    if (!post(j, true) && j->db)
        sqlite3_wal_checkpoint_v2(j->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL); /* no thread: here */
}

void journal_ckpt_sync_ahead(struct journal *j)
{
    if (j->loop && j->db)
        (void)post(j, false); /* without a thread the synchronous commit syncs it all, as before */
}

void journal_ckpt_stop(struct journal *j)
{
    pthread_mutex_lock(&j->ckpt_lock);
    bool started = j->ckpt_started;
    j->ckpt_stop = true;
    j->ckpt_pending = j->sync_pending = false;
    pthread_cond_signal(&j->ckpt_cond);
    pthread_mutex_unlock(&j->ckpt_lock);
    if (started)
        pthread_join(j->ckpt_thread, NULL); /* a checkpoint under way ends first (it is bounded by the WAL) */
    j->ckpt_started = false;
}

void journal_checkpoint_stats(struct journal *j, struct journal_ckpt_stats *st)
{
    pthread_mutex_lock(&j->ckpt_lock);
    st->runs = j->ckpt_runs;
    st->failures = j->ckpt_failures;
    st->syncs = j->syncs;
    st->background = j->w_batches;
    pthread_mutex_unlock(&j->ckpt_lock);
}
