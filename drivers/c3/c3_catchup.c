#include "drivers/c3/c3_catchup_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/grow.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_params.h"
#include "drivers/c3/c3_tables.h"
#include "drivers/c3/c3_time.h"
#include "drivers/c3/c3_xfer.h"

#define BUSY_ROUND 8u                /* events in one poll round that may mean the 30-event ring overflowed */
#define SYNC_BUSY_INDEX_MS 1000u     /* after a busy round: new-records reads are cheap */
#define SYNC_BUSY_TIME_MS 10000u     /* ... whole-table reads (no Index) are not */
#define SYNC_PENDING_MS 60000u       /* live events wait at most this long to be compared with the table */
#define RETRY_MS 30000u              /* after a failed catch-up */
#define JOURNAL_WAIT_MS 5000u        /* a connect catch-up waits this long for a journal that is not storing */

/* ---- the driver part ---- */

static void run_step(struct c3_catchup *cc);

static void schedule(struct c3_catchup *cc, uint32_t ms)
{
    if (!cc->enabled || cc->no_table)
        return;
    if (cc->step != STEP_IDLE) {
        if (ms < SYNC_PENDING_MS)
            cc->again = true;
        return;
    }
    loop_t *loop = cc->cfg.dev->loop;
    uint64_t due = loop_now_us(loop) + (uint64_t)ms * 1000u;
    if (loop_timer_armed(&cc->timer) && cc->timer.due_us <= due)
        return;
    loop_timer_arm_ms(loop, &cc->timer, ms);
}

static void ready(struct c3_catchup *cc)
{
    if (!cc->waiting_ready)
        return;
    cc->waiting_ready = false;
    cc->cfg.hooks.ready(cc->cfg.hooks.arg);
}

static void fmt_time(int64_t us, char *buf, size_t len)
{
    if (us)
        event_format_time(us, buf, len);
    else
        snprintf(buf, len, "?");
}

/* The gap row of a connect that follows a loss (or a start-up after downtime). */
#define PL(n) ((n) == 1 ? "" : "s")

/* The row's sequence number on the bus, 0 when there is none. */
static uint64_t report_connect(struct c3_catchup *cc, const struct c3_align_out *a, const char *failure)
{
    int64_t from = cc->run_from_us;
    bool startup = cc->run_startup;
    if (!from)
        return 0; /* nothing was lost (a first connect without history) */
    char f[32], t[32], what[96];
    fmt_time(from, f, sizeof f);
    fmt_time(event_now_us(), t, sizeof t);
    snprintf(what, sizeof what, startup ? "portier was not polling this panel %s – %s" : "link was down %s – %s", f,
             t);
    struct event ev;
    event_init(&ev, EVENT_GAP, EVENT_WARNING);
    event_copy(ev.code_name, sizeof ev.code_name, "gap");
    if (failure) {
        event_set_text(&ev, "%s: events of that time may be missing (the panel's event table could not be read: %s)",
                       what, failure);
    } else if (a->lost) {
        event_set_text(&ev, "%s: %" PRIu64 " event%s lost for good (the panel's event table wrapped), %zu recovered "
                            "from the table", what, a->lost, PL(a->lost), a->recovered);
    } else if (a->lost_unknown) {
        char o[24];
        c3_time_format(a->oldest_time, ' ', o, sizeof o);
        event_set_text(&ev, "%s: %zu event%s recovered from the panel's event table; events before %s may be lost "
                            "(the table wrapped and this firmware numbers no rows)", what, a->recovered,
                       PL(a->recovered), o);
    } else {
        ev.severity = EVENT_NORMAL;
        event_set_text(&ev, "%s: nothing lost, %zu event%s recovered from the panel's event table", what, a->recovered,
                       PL(a->recovered));
    }
    ev.code = (int)a->recovered;
    c3_catchup_report_ev(cc, &ev);
    return ev.seq;
}

static uint64_t report_background(struct c3_catchup *cc, const struct c3_align_out *a)
{
    if (!a->recovered && !a->lost && !a->lost_unknown)
        return 0;
    struct event ev;
    event_init(&ev, EVENT_GAP, a->lost || a->lost_unknown ? EVENT_WARNING : EVENT_NORMAL);
    event_copy(ev.code_name, sizeof ev.code_name, "gap");
    if (a->lost)
        event_set_text(&ev, "%zu event%s the real-time log missed %s recovered from the panel's event table, %" PRIu64
                            " lost for good (the table wrapped)", a->recovered, PL(a->recovered),
                       a->recovered == 1 ? "was" : "were", a->lost);
    else
        event_set_text(&ev, "%zu event%s the real-time log missed %s recovered from the panel's event table%s",
                       a->recovered, PL(a->recovered), a->recovered == 1 ? "was" : "were",
                       a->lost_unknown ? "; older ones may be lost (the table wrapped)" : "");
    ev.code = (int)a->recovered;
    c3_catchup_report_ev(cc, &ev);
    return ev.seq;
}

static void start_run(struct c3_catchup *cc, enum run_kind kind);

static void finish(struct c3_catchup *cc, const char *failure)
{
    enum run_kind kind = cc->kind;
    cc->step = STEP_IDLE;
    cc->store_wait = false;
    cc->x = NULL;
    if (failure)
        c3_held_release(cc, true);
    if (failure && kind == RUN_CONNECT) {
        struct c3_align_out none = { 0 };
        report_connect(cc, &none, failure);
    }
    if (cc->pending_connect && cc->online) {
        /* The link came back while this ran: the catch-up of the new connection runs now, polls still held. */
        cc->pending_connect = false;
        start_run(cc, RUN_CONNECT);
        return;
    }
    cc->pending_connect = false;
    if (failure && !cc->no_table)
        schedule(cc, RETRY_MS);
    else if (cc->again)
        schedule(cc, 0);
    else if (cc->live.n)
        schedule(cc, SYNC_PENDING_MS);
    cc->again = false;
    ready(cc);
}

static void save(struct c3_catchup *cc)
{
    char text[96];
    c3_cursor_format(&cc->cur, text, sizeof text);
    (void)device_sync_save(cc->cfg.dev, text, cc->live.n);
}

/* A read's rows are stored: the position and the row that says what the read recovered go into one synchronous
 * commit (one disk sync for both, after the rows'); the sequence number of that row, 0 when the position is
 * stored already (no row to report, or the journal could not take the position with it). */
static uint64_t save_and_report(struct c3_catchup *cc)
{
    char text[96];
    c3_cursor_format(&cc->cur, text, sizeof text);
    bool with_row = device_sync_save_next(cc->cfg.dev, text, cc->live.n) == 0;
    uint64_t seq = cc->kind == RUN_CONNECT ? report_connect(cc, &cc->pending_out, NULL)
                                           : report_background(cc, &cc->pending_out);
    if (!seq || !with_row) {
        (void)device_sync_save(cc->cfg.dev, text, cc->live.n); /* no row to carry it: now */
        return 0;
    }
    return seq;
}

static void on_xfer(void *arg, int err, const uint8_t *data, size_t len);
static void on_chunk(void *arg, const uint8_t *data, size_t len, unsigned restarts);
static void rd_reset(struct c3_catchup *cc, bool align);

static void start_xfer_with(struct c3_catchup *cc, uint8_t cmd, const void *p, size_t len, c3_xfer_chunk_fn chunk)
{
    uint32_t t = cc->cfg.timeout_ms ? cc->cfg.timeout_ms : 2000;
    struct c3_xfer_opts o = { .prio = C3_PRIO_POLL, .timeout_ms = t, .expire_ms = 4 * t + 1000, .chunk = chunk,
                              .chunk_arg = cc };
    int err;
    cc->x = c3_xfer_get(cc->s, cmd, p, len, &o, on_xfer, cc, &err);
    if (!cc->x)
        finish(cc, c3_session_strerror(err));
}

static void start_xfer(struct c3_catchup *cc, uint8_t cmd, const void *p, size_t len)
{
    start_xfer_with(cc, cmd, p, len, NULL);
}

static void read_rows(struct c3_catchup *cc, bool new_records)
{
    struct c3_getdata q = { .table = cc->txn_id, .new_records = new_records };
    q.nfields = c3_txn_fields_list(&cc->tf, q.fields);
    struct c3_buf b = { 0 };
    if (c3_getdata_build(&b, &q) < 0) {
        c3_buf_free(&b);
        finish(cc, "out of memory");
        return;
    }
    cc->step = new_records ? STEP_READ_NEW : STEP_READ_FULL;
    if (!new_records)
        cc->stats.full_reads++;
    c3_live_mark(&cc->live);
    for (size_t i = 0; i < cc->held_n; i++)
        cc->held[i].before_read = true;
    /* The rows after the panel's read pointer, placed by Index, are journaled chunk by chunk while the rest is in
     * flight; any other read is aligned once it is complete. */
    bool stream = new_records && cc->cur.index >= 0;
    if (new_records)
        rd_reset(cc, true);
    start_xfer_with(cc, C3_CMD_GET_DATA, b.p, b.len, stream ? on_chunk : NULL);
    c3_buf_free(&b);
}

static void begin_read(struct c3_catchup *cc)
{
    /* By Index the rows after the panel's read pointer are enough (a gap shows when they are not); by time
     * only the whole table tells which rows are new. */
    read_rows(cc, cc->tf.index && cc->cur.index != C3_CURSOR_INDEX_NONE);
}

static void got_struct(struct c3_catchup *cc, const uint8_t *data, size_t len)
{
    struct c3_table_def *defs = calloc(64, sizeof *defs);
    if (!defs) {
        finish(cc, "out of memory");
        return;
    }
    int n = c3_table_struct_parse((const char *)data, len, defs, 64, NULL);
    const struct c3_table_def *t = n > 0 ? c3_table_find(defs, (size_t)n, "transaction") : NULL;
    if (!t || c3_txn_fields_find(t, &cc->tf) < 0 || t->id > 255) {
        free(defs);
        cc->no_table = true;
        finish(cc, "the panel has no transaction table");
        return;
    }
    cc->txn_id = t->id;
    free(defs);
    cc->have_struct = true;
    run_step(cc);
}

/* The recovered rows, in table order, journaled together (one transaction). */
static void publish_rows(struct c3_catchup *cc, const struct c3_txn *rows, size_t from, size_t n,
                         const uint8_t *recover)
{
    enum { CHUNK = 512 };
    struct event *evs = malloc(CHUNK * sizeof *evs);
    size_t k = 0;
    for (size_t i = from; i < n; i++) {
        if (!recover[i])
            continue;
        /* Identical rows share their second: count the earlier ones of that second. */
        unsigned ordinal = 0;
        if (rows[i].index < 0)
            for (size_t j = i; j > 0 && rows[j - 1].time == rows[i].time; j--)
                ordinal += c3_txn_same(&rows[j - 1], &rows[i]);
        struct event one, *ev = evs ? &evs[k] : &one;
        c3_catchup_event_fill(ev, &rows[i]);
        ev->recovered = true;
        c3_catchup_key(ev, c3_catchup_device_name(cc), &rows[i], ordinal);
        if (!evs) {
            c3_catchup_report_ev(cc, ev); /* without memory for a batch: one by one */
            cc->last_seq = ev->seq;
            continue;
        }
        if (++k == CHUNK) {
            device_report_events(cc->cfg.dev, evs, k);
            cc->last_seq = evs[k - 1].seq;
            k = 0;
        }
    }
    if (evs && k) {
        device_report_events(cc->cfg.dev, evs, k);
        cc->last_seq = evs[k - 1].seq;
    }
    free(evs);
}

static void first_contact_done(struct c3_catchup *cc);
static void stored_check(struct c3_catchup *cc);

/* The highest Index of an answer that selected that field only (0: an empty table; UNKNOWN: unreadable), and
 * how many rows it has. */
static int64_t last_index(const struct c3_catchup *cc, const uint8_t *data, size_t len, uint32_t *rows)
{
    struct c3_data_reader rd;
    *rows = 0;
    if (len == 0)
        return cc->first_count ? C3_CURSOR_INDEX_UNKNOWN : 0;
    if (c3_data_reader_init(&rd, data, len) < 0)
        return C3_CURSOR_INDEX_UNKNOWN;
    int64_t max = 0;
    struct c3_data_value v[8];
    struct c3_txn t;
    int rc;
    while ((rc = c3_data_reader_next(&rd, v, 8)) == 1)
        if (c3_txn_decode(&rd, v, &cc->tf, &t) == 0) {
            (*rows)++;
            if (t.index > max)
                max = t.index;
        }
    return rc < 0 ? C3_CURSOR_INDEX_UNKNOWN : max;
}

/* ---- a new-records read, journaled as it arrives ---- */

static void rd_reset(struct c3_catchup *cc, bool align)
{
    cc->rd.n = cc->rd.published = cc->rd.consumed = cc->rd.noted = 0;
    cc->rd.restarts = 0;
    cc->rd.taken_upto = -1;
    cc->rd.need_full = false;
    cc->rd.align = align;
    if (align)
        c3_aligner_begin(&cc->rd.al, &cc->cur, false, true);
    cc->last_seq = 0;
}

/* Take the complete rows of the answer's first len bytes that were not taken yet (final: the answer is whole, a
 * truncated last row ends it) and align them. */
static int take_rows(struct c3_catchup *cc, const uint8_t *data, size_t len, bool final)
{
    struct c3_data_reader rd;
    if (cc->rd.need_full || len == 0 || c3_data_reader_init(&rd, data, len) < 0)
        return 0;
    if (cc->rd.consumed > rd.pos)
        rd.pos = cc->rd.consumed;
    struct c3_data_value v[255];
    for (;;) {
        size_t at = rd.pos;
        int rc = c3_data_reader_next(&rd, v, 255);
        if (rc != 1) {
            if (rc == C3_E_SHORT && !final)
                rd.pos = at; /* the rest of this row is in the next chunk */
            break;
        }
        struct c3_txn t;
        if (c3_txn_decode(&rd, v, &cc->tf, &t) != 0)
            continue; /* a value too wide for its field: not a row of this table */
        if (cc->rd.taken_upto >= 0 && t.index >= 0 && t.index <= cc->rd.taken_upto)
            continue; /* taken from the answer a restart abandoned */
        if (cc->rd.n == cc->rd.cap) {
            size_t cap = cc->rd.cap;
            struct c3_txn *nr = grow_array(cc->rd.rows, cc->rd.n, &cap, sizeof *nr, 256);
            uint8_t *nf = nr ? realloc(cc->rd.recover, cap) : NULL;
            if (nr)
                cc->rd.rows = nr;
            if (!nf)
                return -1;
            cc->rd.recover = nf;
            cc->rd.cap = cap;
        }
        int r = cc->rd.align ? c3_aligner_row(&cc->rd.al, &cc->live, &t) : 0;
        if (r < 0) {
            cc->rd.need_full = true;
            return 0;
        }
        if (r > 0 && cc->held_n && c3_held_confirm(cc, &t)) {
            r = 0; /* a held live event stands for it */
            cc->rd.al.out.recovered--;
            cc->rd.al.out.matched++;
            c3_held_echo_row(cc, &t);
        }
        cc->rd.rows[cc->rd.n] = t;
        cc->rd.recover[cc->rd.n++] = (uint8_t)r;
    }
    cc->rd.consumed = rd.pos;
    return 0;
}

/* Journal the rows taken since the last call. Rows recorded before the read but not polled yet come through the
 * ring as well: they are remembered (as soon as they are taken) until the ring has been drained once. While live
 * events are held back, recovered rows after the last one a live event stands for wait for the end of the read
 * (all): the ring is first in, first out, so such a row was recorded after every live event polled before it,
 * and is journaled after the held ones (c3_held_settle between the two calls at the end). */
static void publish_taken(struct c3_catchup *cc, bool all)
{
    for (; cc->rd.noted < cc->rd.n; cc->rd.noted++)
        if (cc->rd.recover[cc->rd.noted])
            c3_live_add(&cc->recent, &cc->rd.rows[cc->rd.noted]);
    if (cc->rd.n)
        cc->recent_last = cc->rd.rows[cc->rd.n - 1].time; /* the read's last second so far */
    size_t upto = cc->rd.n;
    if (!all && cc->held_n)
        while (upto > cc->rd.published && cc->rd.recover[upto - 1])
            upto--;
    publish_rows(cc, cc->rd.rows, cc->rd.published, upto, cc->rd.recover);
    cc->rd.published = upto;
}

static void on_chunk(void *arg, const uint8_t *data, size_t len, unsigned restarts)
{
    struct c3_catchup *cc = arg;
    if (cc->step != STEP_READ_NEW)
        return;
    if (restarts != cc->rd.restarts) {
        /* The transfer started over with another answer: its rows up to the last one taken are not new again. */
        cc->rd.restarts = restarts;
        cc->rd.consumed = 0;
        if (cc->rd.n)
            cc->rd.taken_upto = cc->rd.rows[cc->rd.n - 1].index;
    }
    if (take_rows(cc, data, len, false) < 0)
        cc->rd.need_full = true; /* out of memory: the read ends as a whole-table read */
    publish_taken(cc, false);
}

/* Every row of a read is aligned and handed to the bus: the position moves once they are stored. */
static void read_done(struct c3_catchup *cc, const struct c3_align_out *a)
{
    cc->recent_last = a->next.time;
    cc->cur = a->next;
    cc->stats.runs++;
    cc->stats.recovered += a->recovered;
    cc->stats.matched += a->matched;
    cc->stats.lost += a->lost;
    cc->pending_out = *a;
    cc->step = STEP_STORE;
    stored_check(cc);
}

static void read_new_done(struct c3_catchup *cc, int err, const uint8_t *data, size_t len)
{
    if (err || take_rows(cc, data, len, true) < 0) {
        /* The position stays: the rows this read matched or confirmed are read again. */
        c3_live_untake(&cc->live);
        c3_held_unconfirm(cc);
        finish(cc, err ? c3_session_strerror(err) : "out of memory");
        return;
    }
    if (cc->rd.need_full) {
        /* Decided at the first new row, before anything was journaled or matched. */
        read_rows(cc, false);
        return;
    }
    publish_taken(cc, false);
    c3_held_settle(cc); /* the live events it decided, between the read's recovered rows (publish_taken) */
    publish_taken(cc, true);
    struct c3_align_out a;
    c3_aligner_end(&cc->rd.al, &cc->live, cc->rd.rows, cc->rd.n, &a);
    read_done(cc, &a);
}

/* A whole-table read (by time, or the read pointer was past the position), aligned once complete. */
static void got_rows(struct c3_catchup *cc, const uint8_t *data, size_t len)
{
    rd_reset(cc, false);
    if (take_rows(cc, data, len, true) < 0) {
        finish(cc, "out of memory");
        return;
    }
    struct c3_align_out a;
    c3_catchup_align(&cc->cur, &cc->live, cc->rd.rows, cc->rd.n, true, cc->rd.recover, &a);
    if (cc->first_read) {
        /* First contact by time: every row is history; the position is the last one (so the rows not read
         * are these). */
        cc->first_count = (uint32_t)cc->rd.n;
        cc->first_read = false;
        cc->cur = cc->rd.n ? a.next
                           : (struct c3_cursor){ .valid = true, .index = C3_CURSOR_INDEX_NONE, .time = cc->panel_now };
        first_contact_done(cc);
        return;
    }
    c3_held_decide(cc, cc->rd.rows, cc->rd.n, cc->rd.recover, &a);
    publish_taken(cc, false);
    c3_held_settle(cc);
    publish_taken(cc, true);
    read_done(cc, &a);
}

/* The position moves (and the panel's read pointer with it) only once every recovered row is stored: a batching
 * bus stores a few hundred per loop iteration, or hands them to the journal's writer thread; it says when a batch
 * is stored (event_bus_subscribe_progress), and the look is then. Then the position is committed with the gap row,
 * and the panel's read pointer moves once that commit is done (STEP_SAVED). */
static void progress_cb(void *arg);

static void stored_check(struct c3_catchup *cc)
{
    if (cc->last_seq && !device_events_stored(cc->cfg.dev, cc->last_seq)) {
        struct event_bus *bus = site_events(cc->cfg.dev->site);
        if (cc->progress_handle > 0 && cc->bus != bus) {
            event_bus_unsubscribe(cc->bus, cc->progress_handle);
            cc->progress_handle = 0;
        }
        if (cc->progress_handle <= 0) {
            cc->bus = bus;
            cc->progress_handle = event_bus_subscribe_progress(bus, progress_cb, cc);
            if (cc->progress_handle <= 0) {
                finish(cc, "out of memory");
                return;
            }
        }
        cc->store_wait = true;
        return;
    }
    cc->store_wait = false;
    if (cc->step == STEP_STORE) {
        uint64_t seq = save_and_report(cc);
        if (seq) {
            cc->step = STEP_SAVED;
            cc->last_seq = seq;
            stored_check(cc);
            return;
        }
    }
    if (cc->tf.index) {
        /* Move the panel's read pointer past what is journaled now (the answer is C9 on some firmware). */
        cc->step = STEP_MARK;
        uint8_t id = (uint8_t)cc->txn_id;
        start_xfer(cc, C3_CMD_GET_DATA_OK, &id, 1);
        return;
    }
    finish(cc, NULL);
}

/* A batch is stored (never called from inside stored_check's own flushes: store_wait is off there). */
static void progress_cb(void *arg)
{
    struct c3_catchup *cc = arg;
    if (cc->store_wait && (cc->step == STEP_STORE || cc->step == STEP_SAVED))
        stored_check(cc);
}

/* First contact: nothing from before is journaled. By Index the position is "now" (the panel's clock) and the
 * panel's read pointer moves to the end of its table, so later reads start there; by time every catch-up reads
 * the whole table anyway, so the first one places the position on its last row. */
static void first_contact_done(struct c3_catchup *cc)
{
    if (cc->tf.index)
        cc->cur = (struct c3_cursor){ .valid = true, .index = cc->first_index, .time = cc->panel_now };
    /* Live events polled before the read that placed the position are of rows behind it. One polled since (a
     * first contact after a failed one runs while polling goes on) may be of a row after it: it stays, so the
     * next read matches that row instead of journaling it a second time. */
    c3_live_drop_marked(&cc->live);
    save(cc);
    struct event ev;
    event_init(&ev, EVENT_SYSTEM, EVENT_NORMAL); /* nothing of what happens from now on is missed */
    event_copy(ev.code_name, sizeof ev.code_name, "first contact");
    event_set_text(&ev, "first contact with this panel: %" PRIu32 " earlier events in its table were not read "
                        "(portierctl c3 %s events --history)", cc->first_count, cc->host);
    c3_catchup_report_ev(cc, &ev);
    finish(cc, NULL);
}

static void on_xfer(void *arg, int err, const uint8_t *data, size_t len)
{
    struct c3_catchup *cc = arg;
    cc->x = NULL;
    switch (cc->step) {
    case STEP_STRUCT:
        if (err) {
            if (err == -13)
                cc->no_table = true;
            finish(cc, c3_session_strerror(err));
            return;
        }
        got_struct(cc, data, len);
        return;
    case STEP_COUNT: {
        uint32_t n = 0;
        if (!err)
            (void)c3_count_parse(data, len, &n);
        cc->first_count = n;
        cc->step = STEP_TIME;
        static const char dt[] = "DateTime";
        start_xfer(cc, C3_CMD_GET_PARAM, dt, sizeof dt - 1);
        return;
    }
    case STEP_TIME: {
        struct c3_param_span items[4];
        int k = err ? -1 : c3_params_parse((const char *)data, len, items, 4);
        const struct c3_param_span *v = k > 0 ? c3_params_find(items, (size_t)k, "DateTime") : NULL;
        if (!v || c3_params_value_u32(v, &cc->panel_now) < 0) {
            finish(cc, err ? c3_session_strerror(err) : "the panel's clock could not be read");
            return;
        }
        if (!cc->tf.index) {
            cc->first_read = true;
            read_rows(cc, false);
            return;
        }
        /* The last Index now (only that field of every row: 5 bytes a row) places the position exactly, so that
         * rows the table overwrites before the next catch-up are counted as lost. The live events polled so far
         * (a first contact after a failed one runs while polling goes on) are of rows this read covers. */
        c3_live_mark(&cc->live);
        struct c3_getdata q = { .table = cc->txn_id, .nfields = 1, .fields = { cc->tf.index } };
        struct c3_buf b = { 0 };
        if (c3_getdata_build(&b, &q) < 0) {
            c3_buf_free(&b);
            finish(cc, "out of memory");
            return;
        }
        cc->step = STEP_LAST_INDEX;
        start_xfer(cc, C3_CMD_GET_DATA, b.p, b.len);
        c3_buf_free(&b);
        return;
    }
    case STEP_LAST_INDEX: {
        uint32_t rows = 0;
        cc->first_index = err ? C3_CURSOR_INDEX_UNKNOWN : last_index(cc, data, len, &rows);
        /* The rows not read are the ones up to the position: those of this answer (the count asked for before
         * left out what the panel recorded since, and those rows, behind the position, would only have come
         * through the ring, which may have dropped them before polling starts). */
        if (cc->first_index != C3_CURSOR_INDEX_UNKNOWN)
            cc->first_count = rows;
        /* Then the panel's read pointer goes to the end of its table: rows recorded after the read above come
         * through the next catch-up's new records. */
        cc->step = STEP_MARK_FIRST;
        uint8_t id = (uint8_t)cc->txn_id;
        start_xfer(cc, C3_CMD_GET_DATA_OK, &id, 1);
        return;
    }
    case STEP_MARK_FIRST:
        /* Any answer will do (firmware answers C9 on success); a lost one only makes the next read longer. */
        first_contact_done(cc);
        return;
    case STEP_READ_NEW:
        read_new_done(cc, err, data, len);
        return;
    case STEP_READ_FULL:
        if (err) {
            finish(cc, c3_session_strerror(err));
            return;
        }
        got_rows(cc, data, len);
        return;
    case STEP_MARK:
        finish(cc, NULL);
        return;
    case STEP_IDLE:
    case STEP_WAIT:
    case STEP_STORE:
    case STEP_SAVED:
        return;
    }
}

static void run_step(struct c3_catchup *cc)
{
    if (!cc->have_struct) {
        cc->step = STEP_STRUCT;
        start_xfer(cc, C3_CMD_TABLE_STRUCT, NULL, 0);
        return;
    }
    if (!cc->cur.valid) {
        cc->step = STEP_COUNT;
        uint8_t id = (uint8_t)cc->txn_id;
        start_xfer(cc, C3_CMD_GET_DATA_COUNT, &id, 1);
        return;
    }
    begin_read(cc);
}

static void start_run(struct c3_catchup *cc, enum run_kind kind)
{
    loop_t *loop = cc->cfg.dev->loop;
    loop_timer_disarm(loop, &cc->timer);
    cc->again = false;
    if (cc->step != STEP_WAIT) {
        cc->kind = kind;
        if (kind == RUN_CONNECT) {
            /* The gap this catch-up closes: since the last answered poll, or at start-up since the last event
             * journaled for this panel. */
            cc->run_startup = cc->startup && !cc->lost_from_us;
            cc->run_from_us = cc->run_startup ? cc->last_us : cc->lost_from_us;
            cc->startup = false;
            cc->lost_from_us = 0;
        }
        cc->wait_since_us = loop_now_us(loop);
    }
    if (!device_journal_storing(cc->cfg.dev)) {
        /* The journal checks itself or cannot store: what a catch-up recovers would only wait in memory. A
         * connect catch-up waits a little (the check after a start), then lets polling start and tries later. */
        cc->step = STEP_WAIT;
        if (cc->kind == RUN_CONNECT && loop_now_us(loop) - cc->wait_since_us < JOURNAL_WAIT_MS * 1000ull) {
            loop_timer_arm_ms(loop, &cc->wait_timer, 100);
            return;
        }
        finish(cc, "the journal is not storing");
        return;
    }
    run_step(cc);
}

static void wait_timer_cb(loop_t *loop, void *arg)
{
    (void)loop;
    struct c3_catchup *cc = arg;
    if (cc->step == STEP_WAIT && cc->online)
        start_run(cc, cc->kind);
}

static void timer_cb(loop_t *loop, void *arg)
{
    (void)loop;
    struct c3_catchup *cc = arg;
    if (cc->online && cc->step == STEP_IDLE && !cc->no_table)
        start_run(cc, RUN_BACKGROUND);
}

static void pending_cb(const struct event *ev, void *arg)
{
    struct c3_catchup *cc = arg;
    struct c3_txn t = { .card = ev->card, .pin = ev->pin, .verify = (uint8_t)ev->verify, .door = (uint8_t)ev->door_no,
                        .type = (uint8_t)ev->code, .inout = (uint8_t)ev->inout, .index = -1 };
    time_t dt = (time_t)ev->device_time;
    struct tm tm;
    if (!gmtime_r(&dt, &tm) || c3_time_from_tm(&tm, &t.time) < 0)
        return;
    int64_t record;
    if (event_key_record(ev->key, &record))
        t.index = record;
    c3_live_add(&cc->live, &t);
}

static void load(struct c3_catchup *cc)
{
    if (cc->loaded)
        return;
    cc->loaded = true;
    cc->enabled = device_sync_available(cc->cfg.dev);
    cc->cfg.dev->own_gaps = cc->enabled;
    if (!cc->enabled)
        return;
    char text[128];
    int found = device_sync_load(cc->cfg.dev, text, sizeof text, &cc->last_us, pending_cb, cc);
    if (found == 1 && c3_cursor_parse(text, &cc->cur) < 0)
        cc->cur.valid = false; /* an unreadable position is a first contact again */
}

struct c3_catchup *c3_catchup_new(const struct c3_catchup_cfg *cfg)
{
    struct c3_catchup *cc = calloc(1, sizeof *cc);
    if (!cc)
        return NULL;
    cc->cfg = *cfg;
    snprintf(cc->host, sizeof cc->host, "%s", cfg->host ? cfg->host : "HOST");
    cc->cfg.host = cc->host;
    cc->startup = true;
    cc->live_last_index = -1;
    loop_timer_init(&cc->timer, timer_cb, cc);
    loop_timer_init(&cc->wait_timer, wait_timer_cb, cc);
    return cc;
}

void c3_catchup_free(struct c3_catchup *cc, bool session_going_away)
{
    if (!cc)
        return;
    if (cc->x) {
        if (session_going_away)
            c3_xfer_destroy(cc->x);
        else
            c3_xfer_cancel(cc->x);
    }
    loop_timer_disarm(cc->cfg.dev->loop, &cc->timer);
    if (cc->progress_handle > 0)
        event_bus_unsubscribe(cc->bus, cc->progress_handle);
    loop_timer_disarm(cc->cfg.dev->loop, &cc->wait_timer);
    c3_live_clear(&cc->live);
    c3_live_clear(&cc->recent);
    free(cc->rd.rows);
    free(cc->rd.recover);
    free(cc->held);
    free(cc);
}

void c3_catchup_online(struct c3_catchup *cc, struct c3_session *s)
{
    cc->s = s;
    cc->online = true;
    cc->live_last_index = -1;
    load(cc);
    cc->waiting_ready = true;
    if (!cc->enabled) {
        ready(cc);
        return;
    }
    if (cc->step != STEP_IDLE) {
        /* A catch-up from before the loss is still running (its transfer resumes): the connect catch-up follows
         * it. */
        cc->pending_connect = true;
        return;
    }
    start_run(cc, RUN_CONNECT);
}

void c3_catchup_offline(struct c3_catchup *cc, int64_t last_alive_us)
{
    cc->online = false;
    if (cc->step == STEP_WAIT) {
        /* Nothing was asked yet: the next connect starts over (its gap starts where this one did). */
        loop_timer_disarm(cc->cfg.dev->loop, &cc->wait_timer);
        cc->step = STEP_IDLE;
        if (cc->kind == RUN_CONNECT) {
            cc->lost_from_us = cc->run_from_us;
            cc->startup = cc->run_startup;
        }
    }
    if (!cc->lost_from_us)
        cc->lost_from_us = last_alive_us ? last_alive_us : event_now_us();
    loop_timer_disarm(cc->cfg.dev->loop, &cc->timer);
    c3_held_release(cc, true);
}

bool c3_catchup_live(struct c3_catchup *cc, const struct c3_rt_event *e, uint32_t time)
{
    if (!cc->enabled || cc->no_table)
        return false;
    struct c3_txn t = { .card = e->card, .pin = e->pin, .verify = e->verify, .door = e->door, .type = e->type,
                        .inout = e->inout, .time = time, .index = e->index };
    for (size_t i = 0; i < cc->recent.n; i++) {
        const struct c3_txn *r = &cc->recent.v[i].t;
        bool by_index = r->index >= 0 && t.index >= 0;
        if (by_index ? r->index != t.index : !c3_txn_same(r, &t))
            continue;
        /* Journaled already as recovered: an echo, surely so by Index or from an earlier second than the
         * read's last (while a read is journaled as it arrives: than its last row so far); else perhaps a new
         * event (see held). */
        bool sure = by_index || r->time != cc->recent_last;
        c3_live_remove(&cc->recent, i);
        if (!sure)
            (void)c3_held_add(cc, &t, true);
        return true;
    }
    /* Behind a doubtful echo a new event waits (shown in order once that is decided). */
    bool hold = cc->held_n && c3_held_add(cc, &t, false);
    c3_live_add(&cc->live, &t);
    if (e->index >= 0) {
        /* Key/value records carry the row's Index: a jump means the ring dropped some. */
        if (cc->live_last_index >= 0 && e->index > cc->live_last_index + 1)
            schedule(cc, 0);
        cc->live_last_index = e->index;
    }
    if (cc->live.n == 1)
        schedule(cc, SYNC_PENDING_MS);
    return hold;
}

void c3_catchup_round(struct c3_catchup *cc, unsigned n)
{
    /* A status record: the ring is empty, every row of the last read that was in it has come through. */
    if (cc->step == STEP_IDLE || cc->step == STEP_MARK || cc->step == STEP_STORE || cc->step == STEP_SAVED)
        cc->recent.n = 0;
    /* The ring is drained: a read now decides the doubtful echoes held back. */
    for (size_t i = 0; i < cc->held_n; i++)
        if (cc->held[i].echo && !cc->held[i].before_read) {
            schedule(cc, 0);
            break;
        }
    if (n >= BUSY_ROUND && cc->have_struct)
        schedule(cc, cc->tf.index ? SYNC_BUSY_INDEX_MS : SYNC_BUSY_TIME_MS);
}

const char *c3_catchup_mode(const struct c3_catchup *cc)
{
    if (!cc->loaded) /* the link is reported up before the catch-up starts: say what it will be */
        return device_sync_available(cc->cfg.dev) ? "catch-up" : "no catch-up (no journal)";
    if (!cc->enabled)
        return "no catch-up (no journal)";
    if (cc->no_table)
        return "no catch-up (no transaction table)";
    if (!cc->have_struct)
        return "catch-up";
    return cc->tf.index ? "catch-up by record index" : "catch-up by time";
}

const struct c3_catchup_stats *c3_catchup_stats(const struct c3_catchup *cc) { return &cc->stats; }
