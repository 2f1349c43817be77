/* c3_catchup_int: the C3 catch-up's private run state, shared by its files (c3_catchup.c: the reads, the position,
 * the driver hooks; c3_catchup_held.c: live events held back behind a doubtful echo). */
#ifndef PORTIER_C3_CATCHUP_INT_H
#define PORTIER_C3_CATCHUP_INT_H

#include "core/device.h"
#include "core/loop.h"
#include "drivers/c3/c3_catchup.h"

/* A live event held back (c3_catchup_held.c). */
struct held {
    struct c3_txn t;
    bool echo;          /* matched a recovered row of the read's last second */
    bool confirmed;     /* an echo whose own row a later read found: a new event */
    bool before_read;   /* held when the current read was asked for: that read decides */
    bool this_read;     /* confirmed by the read under way (undone if it fails) */
};

enum run_step { STEP_IDLE, STEP_WAIT, STEP_STRUCT, STEP_COUNT, STEP_TIME, STEP_LAST_INDEX, STEP_MARK_FIRST,
                STEP_READ_NEW, STEP_READ_FULL, STEP_STORE, STEP_SAVED, STEP_MARK };
enum run_kind { RUN_CONNECT, RUN_BACKGROUND };

struct c3_catchup {
    struct c3_catchup_cfg cfg;
    char host[256];
    struct c3_session *s;
    bool loaded, enabled;
    bool startup;             /* no connect catch-up has run in this process yet */
    struct c3_cursor cur;
    int64_t last_us;          /* host time of the newest journaled event at start-up */
    struct c3_live_set live;
    struct c3_live_set recent;  /* recovered rows that may still come through the ring (until its next drain) */
    uint32_t recent_last;       /* the last second of the read that filled it */
    struct held *held;          /* live events held back behind a doubtful echo, in arrival order */
    size_t held_n, held_cap;
    bool first_read;          /* the first read of a panel without Index only places the position */
    int64_t live_last_index;  /* last key/value index seen live (-1 none) */
    bool have_struct, no_table;
    struct c3_txn_fields tf;
    enum run_step step;
    enum run_kind kind;
    bool online, waiting_ready, again, pending_connect;
    struct c3_xfer *x;
    unsigned txn_id;
    int64_t lost_from_us;     /* the next connect summary starts here (0 = no loss seen) */
    int64_t run_from_us;      /* the running connect catch-up covers the time from here */
    bool run_startup;         /* ... and it is the first one of this process */
    uint32_t first_count, panel_now;
    int64_t first_index; /* first contact: the table's last Index (C3_CURSOR_INDEX_UNKNOWN: not read) */
    loop_timer_t timer;
    bool store_wait;           /* waiting for the recovered rows to be stored before the position moves */
    struct event_bus *bus;     /* told by it when a batch is stored (progress_handle > 0) */
    int progress_handle;
    loop_timer_t wait_timer;   /* waiting for the journal to store before a catch-up starts */
    uint64_t wait_since_us;
    uint64_t last_seq;         /* the bus sequence number of the last recovered row */
    struct c3_align_out pending_out;
    /* A new-records read, aligned and journaled as its chunks arrive (the rest is in flight meanwhile). */
    struct {
        struct c3_aligner al;
        struct c3_txn *rows;   /* every row of the answer so far, in table order */
        uint8_t *recover;
        size_t n, cap, published;
        size_t noted;          /* rows remembered for the ring's echoes */
        size_t consumed;       /* bytes of the answer whose rows are taken */
        unsigned restarts;     /* the transfer's count: a new value is an answer started over */
        int64_t taken_upto;    /* after a restart: rows up to this Index were taken from the abandoned answer */
        bool align;            /* rows are aligned as they are taken (else once the read is complete) */
        bool need_full;
    } rd;
    struct c3_catchup_stats stats;
};

/* Publish an event of this panel. */
static inline void c3_catchup_report_ev(struct c3_catchup *cc, struct event *ev)
{
    cc->cfg.hooks.report(cc->cfg.hooks.arg, ev);
}

/* The panel's name, which its events' keys start with. */
static inline const char *c3_catchup_device_name(const struct c3_catchup *cc)
{
    const struct device *dev = cc->cfg.dev;
    return dev->site->devices[dev->index].name;
}

/* ---- doubtful echoes (c3_catchup_held.c) ----
 * A recovered row that was still in the ring comes through it once more and is not shown again; a live event
 * that may be either such an echo or a new event looking the same, and every one after it, is held back until a
 * table read says which it was. */
/* false without memory: a doubtful echo is then dropped, a new event shown at once. */
bool c3_held_add(struct c3_catchup *cc, const struct c3_txn *t, bool echo);
/* A read ended well: its confirmations stand; show what is decided. */
void c3_held_settle(struct c3_catchup *cc);
/* Show the held events that are decided, in order, up to the first doubtful echo no read has decided yet (all =
 * the link went or the catch-up failed: undecided echoes are dropped). */
void c3_held_release(struct c3_catchup *cc, bool all);
/* A new row that matches a held echo makes it a new event: true, and the row is not journaled as recovered. */
bool c3_held_confirm(struct c3_catchup *cc, const struct c3_txn *row);
/* The row that confirmed a held echo is remembered like a recovered row (its echo is not shown again). */
void c3_held_echo_row(struct c3_catchup *cc, const struct c3_txn *row);
/* The read under way failed: what it confirmed is undecided again. */
void c3_held_unconfirm(struct c3_catchup *cc);
/* After a whole-table read: the held echoes its new rows confirm. */
void c3_held_decide(struct c3_catchup *cc, const struct c3_txn *rows, size_t n, uint8_t *recover,
                    struct c3_align_out *a);

#endif
