/* journal_int: the journal's private state, shared by its files (journal.c: schema and writes with the write-behind
 * queue; journal_open.c: opening, integrity check, moving a damaged file aside; journal_query.c; journal_chain.c:
 * the audit chain; journal_ckpt.c: WAL checkpoints in the background; journal_writer.c: a catch-up's recovered
 * rows stored by a thread of their own). */
#ifndef PORTIER_JOURNAL_INT_H
#define PORTIER_JOURNAL_INT_H

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "core/journal.h"
#include "core/jqueue.h"
#include "core/loop.h"

#define JOURNAL_EARLY_NOTICES 4
#define JOURNAL_CKPT_FRAMES 1000     /* SQLite's automatic checkpoint threshold, kept */

struct journal_early {
    enum event_severity sev;
    char what[EVENT_NAME_MAX];
    char text[EVENT_TEXT_MAX];
};

struct journal {
    /* configuration */
    char path[PATH_MAX];
    unsigned retention_days;
    uint64_t retention_rows;
    bool readonly;               /* a query-only handle (portierctl journal) */
    bool keep_trying;            /* never fail: run without a database and retry */
    void (*busy)(void *arg, const char *what); /* journal_opts.busy */
    void *busy_arg;
    char busy_what[96];
    uint64_t busy_last_us;       /* loop_mono_us of the last busy call */
    loop_t *loop;                /* NULL: retry at the next write, check inline */
    int busy_ms;

    /* the database */
    sqlite3 *db;                 /* the read-write connection; NULL while unavailable */
    sqlite3 *qdb;                /* a read-only connection for queries while db is NULL (or NULL) */
    sqlite3_stmt *ins_event, *find_key, *ins_audit, *fin_audit, *ack;
    sqlite3_stmt *sync_put;      /* the catch-up position of a device */
    unsigned since_prune;
    char err[256];               /* the last error, for display */

    /* trouble: what cannot be stored waits in q */
    enum journal_state state;
    char reason[256];            /* why it cannot store, for the banner */
    int64_t trouble_us;          /* wall clock when the trouble began (0 = none) */
    bool damaged;                /* the last failure says the file is damaged: check it before writing */
    bool checked;                /* the integrity check passed on the open file */
    struct jqueue *q;
    loop_timer_t retry_timer;
    unsigned failures;           /* consecutive failed attempts (retry delay) */
    uint64_t next_retry_us;      /* monotonic, for the no-loop case */
    uint64_t stored_events, stored_audits; /* kept items stored since the trouble began */
    struct journal_listener listener;
    struct journal_early early[JOURNAL_EARLY_NOTICES]; /* notices before the listener was set */
    size_t n_early;

    /* the integrity check running in the background (loop case) */
    pthread_t check_thread;
    bool check_running;
    int check_fd;                /* eventfd the check thread signals, -1 when none */
    sqlite3 *check_db;           /* the check thread's connection (interrupted on close) */
    pthread_mutex_t check_lock;  /* guards check_db */
    char check_result[256];      /* "" = passed */
    int check_code;              /* SQLite code of the check: OK, CORRUPT/NOTADB, or another (inconclusive) */

    /* WAL checkpoints in a thread of their own (journal_ckpt.c; loop case) */
    pthread_t ckpt_thread;
    pthread_mutex_t ckpt_lock;   /* guards the fields below */
    pthread_cond_t ckpt_cond;
    bool ckpt_started, ckpt_pending, sync_pending, ckpt_stop;
    unsigned long ckpt_runs, ckpt_failures, syncs;

    /* a catch-up position to be written in the next synchronous commit of events (journal_sync_put_next) */
    bool pos_set;
    char pos_device[EVENT_NAME_MAX];
    char pos_cursor[256];
    int64_t pos_id;

    /* recovered events stored by a thread of their own (journal_writer.c; loop case) */
    pthread_t w_thread;
    pthread_mutex_t w_lock;      /* guards the fields up to w_ckpt */
    pthread_cond_t w_cond;
    bool w_started, w_stop;
    bool w_busy;                 /* a batch is handed to the thread */
    bool w_done;                 /* ... and written (w_code): the loop completes it */
    int w_code;
    bool w_ckpt;                 /* its commit left the WAL over the checkpoint threshold */
    bool w_hold, w_holding;      /* tests: batches wait before their commit (journal_writer_hold) */
    bool w_inflight;             /* (loop's thread) a batch is out and not completed */
    bool w_retry;                /* (loop's thread) a write met its lock and waits in memory: retry at hand-back */
    unsigned long w_batches;     /* (loop's thread) batches the thread stored */
    int w_fd;                    /* eventfd the thread signals, -1 when none */
    struct event *w_evs;
    size_t w_n;
    int *w_rc;
    struct event_bus *w_bus;
    sqlite3 *w_db;               /* the thread's connection and statements */
    sqlite3_stmt *w_ins, *w_find;

    /* the audit chain's independent copy (journal_set_audit_copy) */
    journal_audit_copy_fn audit_copy;
    void *audit_copy_arg;
    int failed_code;             /* the code of a failed audit write, kept across its rollback */
};

static inline void journal_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_TRANSIENT);
}

/* journal.c */
void journal_set_error(struct journal *j, const char *what);
int journal_exec(struct journal *j, const char *sql);
int journal_migrate(struct journal *j);
int journal_prepare_writes(struct journal *j);
void journal_finalize_writes(struct journal *j);
/* A write failed (SQLite code code, message in j->err): keep what follows in memory and retry later. */
void journal_trouble(struct journal *j, int code);
/* Try to store what waits now (also reopens and checks when needed). */
void journal_retry_now(struct journal *j);
void journal_retry_init(struct journal *j);
/* Tell the front end (listener notice) and keep it for the banner. */
void journal_notice(struct journal *j, enum event_severity sev, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* journal_chain.c: links appended in the transaction (or savepoint) that wrote the row. 0 or -1. */
int journal_chain_written(struct journal *j, int64_t audit_id, bool completed);
int journal_chain_completed(struct journal *j, int64_t audit_id);
/* Link every row without a link (rows that predate the chain), in id order. */
int journal_chain_adopt(struct journal *j);
/* Retention removed the rows up to upto_audit_id: say so in the chain and drop the links only they needed. */
int journal_chain_retention(struct journal *j, int64_t upto_audit_id);

/* journal_ckpt.c: init/destroy with the journal; attach to a new write connection (loop case: its commits no
 * longer checkpoint, the thread does); request one now; stop the thread (before the connection closes). */
void journal_ckpt_init(struct journal *j);
void journal_ckpt_destroy(struct journal *j);
void journal_ckpt_attach(struct journal *j);
void journal_ckpt_request(struct journal *j);
/* A relaxed commit was written: sync the WAL file in the background. */
void journal_ckpt_sync_ahead(struct journal *j);
void journal_ckpt_stop(struct journal *j);

/* journal.c: the events table's writes, shared with the writer thread's connection */
extern const char journal_sql_insert_event[], journal_sql_find_key[];
/* Insert one event with these statements (of db): 1 stored (ev->id set), 0 duplicate (ev->id of the stored
 * row), -1 failed (db's error). */
int journal_insert_event(sqlite3 *db, sqlite3_stmt *ins, sqlite3_stmt *find, struct event *ev);
/* Nothing waits in memory and the database works: a write now is stored, not kept. */
bool journal_storing_now(struct journal *j);
/* After n events were committed (relaxed: without waiting for the disk): retention and the WAL's sync ahead. */
void journal_events_committed(struct journal *j, const struct event *evs, size_t n, bool relaxed);

/* journal_writer.c: init/destroy with the journal; attach to the bus (journal_attach; loop case); stop the thread
 * and close its connection (before the main connection closes: a batch under way is written first, and completed
 * later); complete a batch under way now (waiting for the thread); close (finish, stop, leave the loop). */
/* Wait (up to max_ms) until the writer thread's batch under way is written or given up, its lock released; the
 * batch is handed back later by the loop as always. True when no batch holds the lock now. The next batch only
 * starts from the loop, so a write that follows at once does not meet the thread. */
bool journal_writer_wait_written(struct journal *j, int max_ms);
void journal_writer_init(struct journal *j);
void journal_writer_destroy(struct journal *j);
void journal_writer_attach(struct journal *j, struct event_bus *bus);
void journal_writer_stop(struct journal *j);
void journal_writer_finish(struct journal *j);
void journal_writer_close(struct journal *j);

/* journal_open.c */
/* Open the read-write connection (creating the file and its directory, WAL, schema). SQLite result code;
 * on failure j->err says why and db is closed. */
int journal_connect(struct journal *j);
void journal_disconnect(struct journal *j);
/* Start the integrity check (in the background with a loop); its outcome moves a damaged file aside and
 * retries. */
void journal_check_start(struct journal *j);
/* The database the queries read: the read-write connection or the read-only fallback (NULL if none). */
sqlite3 *journal_query_db(struct journal *j);
/* The SQL functions the queries use (portier_fold), on a connection just opened. */
void journal_query_functions(sqlite3 *db);

#endif
