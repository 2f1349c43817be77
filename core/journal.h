/* journal: the event journal and the operator audit trail in SQLite (the only module that uses SQLite).
 * WAL, versioned schema, deduplicated catch-up, bounded retention, paged queries newest first; what cannot be
 * stored now waits in a bounded memory queue and is written in order when the journal works again. */
#ifndef PORTIER_JOURNAL_H
#define PORTIER_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/loop.h"

#define JOURNAL_SCHEMA_VERSION 6

struct journal;

struct journal_opts {
    const char *path;            /* database file; created with its directory (0700) when missing */
    unsigned retention_days;     /* 0 = keep forever */
    uint64_t retention_rows;     /* 0 = no row limit (per table) */
    bool readonly;               /* open for queries only (portierctl journal) */
    /* For the owner of the journal (the console, the daemon): journal_open never fails because of the
     * database. A journal that cannot be opened, created or written runs without it (state UNAVAILABLE or
     * QUEUING, see journal_health), keeps what it cannot store in memory and retries; a damaged file
     * (PRAGMA quick_check, "not a database") is moved aside to PATH.corrupt-TIME and a new one started. */
    bool keep_trying;
    size_t queue_events;         /* events kept in memory while nothing can be stored (0 = 4096) */
    loop_t *loop;                /* retry timer and background integrity check; NULL: retry at the next
                                    write and check inline */
    /* Called while a schema upgrade holds journal_open (a large journal takes seconds to minutes, once): at its
     * start and about once a second until it ends, with what it does. portierd extends its start-up time under
     * systemd with it, the console says it on the terminal. NULL: nothing. */
    void (*busy)(void *arg, const char *what);
    void *busy_arg;
};

/* Open (and create or migrate) the journal. NULL with err filled on failure (never for keep_trying, unless
 * out of memory: err then says what is wrong and the journal runs without a database). */
struct journal *journal_open(const struct journal_opts *opts, char *err, size_t errlen);
/* Close: one last attempt to store what waits in memory first (journal_health tells what is left). */
void journal_close(struct journal *j);
/* The user_version of the open database (-1 without one). */
int journal_schema_version(struct journal *j);

/* ---- the journal's health (what the operator must see while it cannot store) ---- */
enum journal_state {
    JOURNAL_OK,          /* stores */
    JOURNAL_CHECKING,    /* the integrity check runs: writes wait in memory until it passes */
    JOURNAL_QUEUING,     /* writes fail (disk full, locked, damaged): kept in memory, retried */
    JOURNAL_UNAVAILABLE, /* no database could be opened: kept in memory, retried */
};
struct journal_health {
    enum journal_state state;
    char reason[256];            /* why it cannot store, "" when it can */
    int64_t since_us;            /* wall clock when the trouble began, 0 = none */
    size_t kept_events;          /* events waiting in memory */
    size_t kept_audits;          /* audit rows and completions waiting in memory */
    size_t max_events;           /* the queue's bound */
    uint64_t lost_events;        /* did not fit since the trouble began (one "not stored" row says so) */
    uint64_t lost_audits;
    bool history;                /* queries work (the read-write or a read-only connection) */
    bool history_readonly;       /* ... through a read-only connection only */
};
void journal_health(struct journal *j, struct journal_health *h);
/* "ok", "checking", "not storing", "unavailable". */
const char *journal_state_name(enum journal_state s);

/* What the journal tells its front end. stored: an event kept in memory (ev->seq) is stored now as row id.
 * notice: a change worth an operator's attention (trouble began, stored again, file moved aside), to be
 * published as a system event. Either may be NULL. */
struct journal_listener {
    void (*stored)(uint64_t seq, int64_t id, void *arg);
    void (*notice)(enum event_severity sev, const char *what, const char *text, void *arg);
    void *arg;
};
void journal_set_listener(struct journal *j, const struct journal_listener *l);
/* Make the journal the bus's first subscriber (event_bus_set_journal) and its listener: stored notices go to
 * the bus's stored subscribers, notices are published as system events of device "journal". Notices from
 * the opening are published now: set the bus's batching first so they wait for the subscribers. */
void journal_attach(struct journal *j, struct event_bus *bus);
/* Try now to store what waits in memory (the retry timer does this by itself). */
void journal_flush(struct journal *j);

/* Store an event (durably, before it is shown). 1 = stored (ev->id set), 0 = duplicate of a stored or kept
 * event with the same non-empty key (ev->id set to the stored row, or 0), 2 = kept in memory to be stored
 * when the journal works again (ev->queued set), -1 = not stored (it did not fit: counted in a "not
 * stored" row). */
int journal_commit_event(struct journal *j, struct event *ev);
/* Store n events in one transaction (one sync to disk for the batch), with journal_commit_event's result
 * per event in rc[]. Nothing is half stored: when the transaction fails the whole batch is kept in memory. */
void journal_store_events(struct journal *j, struct event *evs, size_t n, int *rc);
/* event_store_fn adapter for event_bus_set_journal (arg = struct journal *). */
void journal_store_hook(struct event *evs, size_t n, int *rc, void *arg);
/* Mark an event acknowledged by user. 0, or -1 when no such event (or the journal cannot store). */
int journal_ack(struct journal *j, int64_t event_id, const char *user);

/* Delete rows beyond the retention limits (by age relative to now_us, then by count). Returns the
 * number of rows removed, or -1. Called at open and periodically by the front end. */
long journal_prune(struct journal *j, int64_t now_us);

/* ---- audit ---- */
struct audit_record {
    int64_t id;
    int64_t time_us;             /* when the action was requested */
    char user[64];               /* Unix user */
    char role[16];
    char action[32];             /* action name (core/action.h) */
    char target[128];            /* output/device name, "site", or "" */
    char params[128];            /* e.g. "seconds=5" */
    char result[16];             /* "pending", "ok", "partial", "failed", "denied", "refused" */
    char detail[1024];           /* per device/door outcome */
    int64_t done_us;             /* when it completed, 0 while pending */
};

/* Write the audit row before anything is sent (result "pending" unless rec->result is set). 0 = stored
 * (rec->id > 0); 1 = kept in memory (rec->id < 0, a handle journal_audit_finish accepts); -1 = not stored. */
int journal_audit_begin(struct journal *j, struct audit_record *rec);
/* Complete an audit row (id from journal_audit_begin) with its result and per-target detail. 0 = stored,
 * 1 = kept in memory, -1 = no such row or not stored. */
int journal_audit_finish(struct journal *j, int64_t id, const char *result, const char *detail, int64_t done_us);
/* True while the audit row id (or its completion) waits in memory. */
bool journal_audit_kept(struct journal *j, int64_t id);

/* ---- queries (newest first, paged) ---- */
struct journal_query {
    int64_t since_us;            /* host time >= since (0 = no bound) */
    int64_t until_us;            /* host time < until (0 = no bound) */
    const char *device;          /* exact device name, case-insensitive; NULL = any */
    const char *door;            /* exact door name, case-insensitive; NULL = any */
    int kind;                    /* enum event_kind, -1 = any */
    int min_severity;            /* enum event_severity: this or worse; -1 = any */
    const char *search;          /* substring of text/code name/uid/card/device/door (audit: user,
                                    action, target, detail); NULL = none */
    const char *user;            /* audit only: exact user */
    const char *result;          /* audit only: exact result ("pending" finds rows an ended process left open) */
    int64_t before_id;           /* paging: only rows with id < before_id (0 = from the newest) */
    int64_t after_id;            /* only rows with id > after_id (0 = no bound): catching up from an id */
    bool unacked_only;           /* events only: rows nobody has acknowledged */
    size_t limit;                /* 0 = 100 */
};

/* Who acknowledged an event, and when (acked false: nobody yet). */
struct journal_ack {
    bool acked;
    char by[64];
    int64_t time_us;
};

typedef int (*journal_event_fn)(const struct event *ev, bool acked, void *arg);   /* non-zero stops */
typedef int (*journal_row_fn)(const struct event *ev, const struct journal_ack *ack, void *arg);
typedef int (*journal_audit_fn)(const struct audit_record *rec, void *arg);

/* Run a query; calls fn per row, newest first. Returns the number of rows delivered, or -1. */
long journal_query_events(struct journal *j, const struct journal_query *q, journal_event_fn fn, void *arg);
/* The same with who acknowledged each row and when. */
long journal_query_rows(struct journal *j, const struct journal_query *q, journal_row_fn fn, void *arg);
long journal_query_audit(struct journal *j, const struct journal_query *q, journal_audit_fn fn, void *arg);
/* Forward reading, for outputs that forward the journal in order: events with id > after_id, ascending by id,
 * at most limit (0 = 100). fn as above (acked = acknowledged). Returns the number delivered, or -1. */
long journal_events_after(struct journal *j, int64_t after_id, size_t limit, journal_event_fn fn, void *arg);
/* Lowest and highest event id stored (both 0 when empty). 0 or -1. */
int journal_event_id_range(struct journal *j, int64_t *min_id, int64_t *max_id);
/* Acknowledgement of one event: 1 = acknowledged (by and at_us filled), 0 = not (yet), -1 = no such event. */
int journal_event_ack_state(struct journal *j, int64_t event_id, char *by, size_t bylen, int64_t *at_us);
/* ---- the audit trail's hash chain ----
 * Every write of an audit row appends a link (core/journal_chain.c): the SHA-256 of the row's content, chained to the
 * previous link, so an edited or deleted row or link shows. A truncated end of the chain needs an independent copy:
 * journal_set_audit_copy hands every link to the owner (portierd sends it to the system journal). */
struct journal_verify_result {
    bool ok;
    int64_t links, rows;         /* checked */
    int64_t first_seq;           /* the oldest link kept (retention removes older ones, and says so) */
    int64_t bad_seq;             /* the first broken link (0 with bad_audit_id: a row without any link) */
    int64_t bad_audit_id;        /* the row concerned (0: none) */
    uint64_t problems;
    char error[256];             /* what is wrong at the first broken link, in words */
};
/* Verify the whole trail: 0 (out->ok says whether it holds), or -1 when it cannot be read (out->error). */
int journal_audit_verify(struct journal *j, struct journal_verify_result *out);
/* The same a part at a time (for a loop that must keep answering): step returns 0 (more), 1 (done), -1 (error). */
struct journal_verify;
struct journal_verify *journal_verify_new(void);
void journal_verify_free(struct journal_verify *v);
int journal_audit_verify_step(struct journal *j, struct journal_verify *v, size_t budget);
const struct journal_verify_result *journal_verify_result(const struct journal_verify *v);
/* Called after every link: the row as written ("written", "completed") or the retention note, the link's number
 * and hash (hex). */
typedef void (*journal_audit_copy_fn)(const struct audit_record *rec, const char *stage, int64_t seq,
                                      const char *hash, void *arg);
void journal_set_audit_copy(struct journal *j, journal_audit_copy_fn fn, void *arg);

/* WAL checkpoints: with a loop they run in a thread of their own, never in the loop's commits (the WAL is
 * copied into the database file once it holds 1000 frames); the same thread syncs the WAL after each commit that
 * did not wait for the disk (recovered rows). Completed and failed checkpoints and syncs so far, and the batches of
 * recovered rows the writer thread stored (journal_attach with a loop; tests, status). */
struct journal_ckpt_stats {
    unsigned long runs, failures, syncs;
    unsigned long background;
};
void journal_checkpoint_stats(struct journal *j, struct journal_ckpt_stats *st);

/* Tests: hold the writer thread's next batches before their commit (the thread holds the write lock meanwhile) until
 * released; journal_writer_holding says whether it waits there now. */
void journal_writer_hold(struct journal *j, bool hold);
bool journal_writer_holding(struct journal *j);

/* Row counts (for tests and status). */
long journal_count_events(struct journal *j);
long journal_count_audit(struct journal *j);

/* The last error text of the journal (SQLite message, or why there is no database), for display. */
const char *journal_error(struct journal *j);
/* Default path: $XDG_STATE_HOME/portier/journal.db or ~/.local/state/portier/journal.db. */
void journal_default_path(char *buf, size_t len);

/* ---- catch-up positions ----
 * A driver whose device keeps its own event store (the C3 transaction table) remembers per device how far that
 * store has been journaled: a cursor text of its own, and the journal id after which the device's live events
 * are not yet matched against the store (they are handed back at start-up). */
/* 1 when a position is stored (cursor filled), 0 when none, -1 on error. *event_id: see above; *last_us: host
 * time of the device's newest journaled event that is not a recovered one (0 when none; a catch-up that
 * recovered rows ends with a gap row, which is not). */
int journal_sync_get(struct journal *j, const char *device, char *cursor, size_t len, int64_t *event_id,
                     int64_t *last_us);
/* Store the cursor; the pending newest live (not recovered) access events of the device stay unmatched.
 * 0 or -1. */
int journal_sync_put(struct journal *j, const char *device, const char *cursor, size_t pending);
/* The same, written in the same transaction as the next events stored synchronously (the row that says what the
 * catch-up recovered): one disk sync for both; 0 or -1. Nothing is written when that transaction fails or its
 * events are kept in memory (the next catch-up starts from the position before, as after a failed put); a put of
 * the same device replaces it. The caller moves the device's own read pointer only once those events are stored. */
int journal_sync_put_next(struct journal *j, const char *device, const char *cursor, size_t pending);
/* The device's live access events journaled after event_id, oldest first. Returns the count or -1. */
long journal_sync_pending(struct journal *j, const char *device, int64_t event_id, journal_event_fn fn, void *arg);

#endif
