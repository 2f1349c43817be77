/* c3_catchup: no lost events across downtime. After every connect (before polling shows anything live), after
 * busy poll rounds and now and then, the panel's transaction table is read from where the journal stopped and
 * what the real-time log missed is journaled as recovered, once, in table order; gaps say what was recovered
 * or is gone for good. A pure alignment core (c3_catchup_align.c, unit-tested) and the loop-driven reads on a
 * c3_session (c3_catchup.c), which journal a new-records read chunk by chunk while the rest is in flight.
 * c3_catchup_held.c holds live events back behind a doubtful echo; c3_catchup_int.h is the run state they share.
 * The history read (events --history) is c3_device_data.c. */
#ifndef PORTIER_C3_CATCHUP_H
#define PORTIER_C3_CATCHUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/device.h"
#include "core/event.h"
#include "drivers/c3/c3_data.h"
#include "drivers/c3/c3_rtlog.h"
#include "drivers/c3/c3_session.h"

/* ---- events ---- */

/* Fill an EVENT_ACCESS event (severity, names, text; no key) from a record's fields. */
void c3_catchup_event_fill(struct event *ev, const struct c3_txn *row);
/* The journal key of a row whose Index is known (event_make_record_key: the same for a live key/value record and
 * for the recovered row), or, for a recovered row without one ("<event key>|T<n>"), of its n-th identical row in
 * that second.
 * Keys are unique in the whole journal, so the event key starts with the panel's device name (set here): the
 * same row of two panels (same Index, second and content) is two events. */
void c3_catchup_key(struct event *ev, const char *device, const struct c3_txn *row, unsigned ordinal);
/* Packed panel time <-> the journal's device time (panel local time read as UTC). */
int64_t c3_catchup_epoch(uint32_t packed);

/* ---- the pure core ---- */

#define C3_CURSOR_INDEX_NONE (-1)      /* the firmware has no Index field: rows are placed by time */
#define C3_CURSOR_INDEX_UNKNOWN (-2)   /* first contact: the next row's Index becomes the position */

/* How far the panel's transaction table is journaled: the last row's Index (or a NONE/UNKNOWN marker), its
 * packed time, and how many rows of that second were taken (placing rows by time). */
struct c3_cursor {
    bool valid;
    int64_t index;
    uint32_t time;
    uint32_t tie;
};
int c3_cursor_parse(const char *text, struct c3_cursor *c);
void c3_cursor_format(const struct c3_cursor *c, char *out, size_t cap);

/* Live events journaled since the position, not yet found in the table, in arrival (= table) order. */
struct c3_live_entry {
    struct c3_txn t;
    bool before_read;     /* published before the current read was asked for */
    bool taken;           /* matched by the read under way: leaves the set when that read ends well */
};
struct c3_live_set {
    struct c3_live_entry *v;
    size_t n, cap;
};
void c3_live_add(struct c3_live_set *l, const struct c3_txn *e);
/* A read is being asked for: every entry so far has its row in the table the read will return (or is older
 * than the position, or was overwritten), so after that read it is either matched or can be dropped. */
void c3_live_mark(struct c3_live_set *l);
void c3_live_clear(struct c3_live_set *l);
/* Drop the entries published before the read that was asked for last (c3_live_mark) and those it matched: a
 * first contact put its position after their rows. Later ones stay for the next read (their rows may be new). */
void c3_live_drop_marked(struct c3_live_set *l);
void c3_live_remove(struct c3_live_set *l, size_t i);
/* The read under way failed: the entries it matched stand again. */
void c3_live_untake(struct c3_live_set *l);
/* Same card, pin, verify mode, door, event, in/out and second. */
bool c3_txn_same(const struct c3_txn *a, const struct c3_txn *b);

struct c3_align_out {
    size_t recovered;     /* rows to journal as recovered (flagged in recover[]) */
    size_t matched;       /* new rows already journaled live */
    size_t old;           /* rows at or before the position */
    uint64_t lost;        /* rows that were overwritten before they could be read (exact, by Index) */
    bool lost_unknown;    /* without an Index: rows may have been overwritten (count unknown) */
    bool need_full;       /* a new-records read does not join the position: read the whole table */
    uint32_t oldest_time; /* time of the first row read (for the gap text) */
    struct c3_cursor next;
};
/* Compare a read (rows in table order; full = the whole table, else the rows after the panel's read pointer)
 * with the position and the live set. recover[i] = 1 for rows to journal. Matched live entries leave the set
 * (the oldest identical one first), unmatched entries published before the read are dropped (their rows are
 * behind the position or gone). On need_full nothing is changed. */
void c3_catchup_align(const struct c3_cursor *cur, struct c3_live_set *live, const struct c3_txn *rows, size_t n,
                      bool full, uint8_t *recover, struct c3_align_out *out);

/* The same a row at a time, as a read arrives: begin, each row in table order, end with every row given (the
 * position is the last one). allow_index false places the rows by time even where they carry an Index (a full
 * read of a table whose numbering restarted). Matched live entries are only marked taken until end (a read that
 * fails puts them back with c3_live_untake). */
struct c3_aligner {
    struct c3_cursor cur;
    bool full, allow_index, by_index;
    size_t rows;
    uint32_t at_time;
    int64_t first_new, prev_new;
    struct c3_align_out out;
};
void c3_aligner_begin(struct c3_aligner *a, const struct c3_cursor *cur, bool full, bool allow_index);
/* 1: journal the row as recovered; 0: not (old or journaled live); -1: need_full (then nothing has changed:
 * stop and read the whole table). */
int c3_aligner_row(struct c3_aligner *a, struct c3_live_set *live, const struct c3_txn *row);
void c3_aligner_end(struct c3_aligner *a, struct c3_live_set *live, const struct c3_txn *rows, size_t n,
                    struct c3_align_out *out);

/* ---- the driver part ---- */

struct c3_catchup;

struct c3_catchup_hooks {
    /* Publish an event of this panel (recovered rows, gap and summary rows). */
    void (*report)(void *arg, struct event *ev);
    /* The catch-up after a connect is over: polling may start. */
    void (*ready)(void *arg);
    void *arg;
};

struct c3_catchup_cfg {
    struct device *dev;          /* for the journal position (device_sync_*) */
    const char *host;            /* for messages ("portierctl c3 HOST events --history") */
    uint32_t timeout_ms;         /* request deadline */
    struct c3_catchup_hooks hooks;
};

/* NULL when out of memory. Without a journal the catch-up does nothing but call ready. */
struct c3_catchup *c3_catchup_new(const struct c3_catchup_cfg *cfg);
/* session_going_away: the session is freed right after (its pending requests vanish without callbacks). */
void c3_catchup_free(struct c3_catchup *cc, bool session_going_away);
/* The session is online: read what the table holds since the position, then ready(). */
void c3_catchup_online(struct c3_catchup *cc, struct c3_session *s);
/* The link was lost; last_alive_us = host time of the last answered poll (the gap starts there). */
void c3_catchup_offline(struct c3_catchup *cc, int64_t last_alive_us);
/* A live event record, before it is published. true = it is a row just journaled as recovered (it was still
 * in the ring): do not publish it again. */
bool c3_catchup_live(struct c3_catchup *cc, const struct c3_rt_event *e, uint32_t time);
/* A poll round ended (status record) with n events: a busy round may have overflowed the panel's ring. */
void c3_catchup_round(struct c3_catchup *cc, unsigned n);
/* Whether this panel is caught up by Index, by time, or not at all (for the link detail). */
const char *c3_catchup_mode(const struct c3_catchup *cc);

struct c3_catchup_stats {
    uint64_t runs, recovered, matched, lost;
    unsigned full_reads;
};
const struct c3_catchup_stats *c3_catchup_stats(const struct c3_catchup *cc);

#endif
