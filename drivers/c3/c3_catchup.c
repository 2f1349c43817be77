#include "drivers/c3/c3_catchup.h"

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

/* ---- events ---- */

int64_t c3_catchup_epoch(uint32_t packed)
{
    struct tm tm;
    if (c3_time_to_tm(packed, &tm) < 0)
        return 0;
    tm.tm_isdst = 0;
    return (int64_t)timegm(&tm);
}

static enum event_severity severity_of(enum c3_severity s)
{
    return s == C3_SEV_ALARM ? EVENT_ALARM : s == C3_SEV_WARNING ? EVENT_WARNING : EVENT_NORMAL;
}

/* The row's line, written by hand ("%s card %u pin %u (%s, %s)"): a catch-up writes one for each of thousands of
 * rows, and the generic formatter would cost more than the rest of the row's preparation. Cut at the end. */
struct line {
    char *p, *end;
};

static void line_str(struct line *l, const char *s)
{
    while (*s && l->p < l->end)
        *l->p++ = *s++;
}

static void line_uint(struct line *l, const char *before, uint32_t v)
{
    char digits[12];
    int n = 0;
    do
        digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    line_str(l, before);
    while (n > 0 && l->p < l->end)
        *l->p++ = digits[--n];
}

void c3_catchup_event_fill(struct event *ev, const struct c3_txn *e)
{
    event_init(ev, EVENT_ACCESS, severity_of(c3_event_severity(e->type)));
    ev->device_time = c3_catchup_epoch(e->time);
    ev->door_no = e->door;
    ev->code = e->type;
    char lb[C3_LABEL_LEN], vb[C3_LABEL_LEN], ib[C3_LABEL_LEN];
    const char *label = c3_event_label(e->type, lb, sizeof lb);
    event_copy(ev->code_name, sizeof ev->code_name, label);
    ev->card = e->card;
    ev->pin = e->pin;
    ev->verify = e->verify;
    ev->inout = e->inout;
    struct line l = { ev->text, ev->text + sizeof ev->text - 1 };
    line_str(&l, label);
    if (e->card)
        line_uint(&l, " card ", e->card);
    if (e->pin)
        line_uint(&l, " pin ", e->pin);
    if (e->verify != 200 || e->inout != C3_INOUT_NONE) {
        line_str(&l, " (");
        line_str(&l, c3_verify_label(e->verify, vb, sizeof vb));
        line_str(&l, ", ");
        line_str(&l, c3_inout_label(e->inout, ib, sizeof ib));
        line_str(&l, ")");
    }
    *l.p = '\0';
}

void c3_catchup_key(struct event *ev, const struct c3_txn *row, unsigned ordinal)
{
    event_make_key(ev);
    size_t kl = strlen(ev->key);
    if (row->index >= 0)
        snprintf(ev->key + kl, sizeof ev->key - kl, "|#%lld", (long long)row->index);
    else
        snprintf(ev->key + kl, sizeof ev->key - kl, "|T%u", ordinal);
}

/* ---- cursor ---- */

int c3_cursor_parse(const char *text, struct c3_cursor *c)
{
    memset(c, 0, sizeof *c);
    long long index;
    unsigned long t, tie;
    if (sscanf(text, "index=%lld time=%lu tie=%lu", &index, &t, &tie) != 3 || index < C3_CURSOR_INDEX_UNKNOWN ||
        t > UINT32_MAX || tie > UINT32_MAX)
        return -1;
    c->valid = true;
    c->index = index;
    c->time = (uint32_t)t;
    c->tie = (uint32_t)tie;
    return 0;
}

void c3_cursor_format(const struct c3_cursor *c, char *out, size_t cap)
{
    snprintf(out, cap, "index=%lld time=%" PRIu32 " tie=%" PRIu32, (long long)c->index, c->time, c->tie);
}

/* ---- live set ---- */

void c3_live_add(struct c3_live_set *l, const struct c3_txn *e)
{
    struct c3_live_entry *v = grow_array(l->v, l->n, &l->cap, sizeof *v, 64);
    if (!v)
        return; /* without memory a live event may be recovered once more; the key stops a kv duplicate */
    l->v = v;
    l->v[l->n++] = (struct c3_live_entry){ .t = *e };
}

void c3_live_mark(struct c3_live_set *l)
{
    for (size_t i = 0; i < l->n; i++)
        l->v[i].before_read = true;
}

void c3_live_clear(struct c3_live_set *l)
{
    free(l->v);
    *l = (struct c3_live_set){ 0 };
}

static bool same_content(const struct c3_txn *a, const struct c3_txn *b)
{
    return a->time == b->time && a->card == b->card && a->pin == b->pin && a->verify == b->verify &&
           a->door == b->door && a->type == b->type && a->inout == b->inout;
}

static void live_remove(struct c3_live_set *l, size_t i)
{
    memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof l->v[0]);
    l->n--;
}

/* Remove the oldest live entry standing for this row; true when there was one. */
static bool live_take(struct c3_live_set *l, const struct c3_txn *row)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct c3_txn *e = &l->v[i].t;
        bool hit = (e->index >= 0 && row->index >= 0) ? e->index == row->index : same_content(e, row);
        if (hit) {
            live_remove(l, i);
            return true;
        }
    }
    return false;
}

/* Drop entries that can never match a later row: published before the read and not in it, or (by Index)
 * at or before the position. */
static void live_prune(struct c3_live_set *l, const struct c3_cursor *c)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        const struct c3_txn *e = &l->v[i].t;
        bool behind = l->v[i].before_read || (e->index >= 0 && c->index >= 0 && e->index <= c->index);
        if (!behind)
            l->v[k++] = l->v[i];
    }
    l->n = k;
}

/* ---- alignment ---- */

void c3_catchup_align(const struct c3_cursor *cur, struct c3_live_set *live, const struct c3_txn *rows, size_t n,
                      bool full, uint8_t *recover, struct c3_align_out *out)
{
    memset(out, 0, sizeof *out);
    out->next = *cur;
    if (n == 0) {
        live_prune(live, cur);
        return;
    }
    out->oldest_time = rows[0].time;
    bool by_index = cur->index >= 0 && rows[0].index >= 0;
    if (by_index && full) {
        /* A table whose numbering restarted (cleared, replaced) is placed by time this once. */
        int64_t max = -1;
        for (size_t i = 0; i < n; i++)
            if (rows[i].index > max)
                max = rows[i].index;
        if (max < cur->index)
            by_index = false;
    }
    /* Which rows are new. */
    uint32_t at_time = 0;
    int64_t first_new = -1, prev_new = -1;
    for (size_t i = 0; i < n; i++) {
        const struct c3_txn *r = &rows[i];
        bool is_new;
        if (by_index) {
            is_new = r->index > cur->index;
        } else if (r->time != cur->time) {
            is_new = r->time > cur->time;
        } else {
            is_new = at_time >= cur->tie;
            at_time++;
        }
        recover[i] = is_new;
        if (!is_new) {
            out->old++;
            continue;
        }
        if (by_index) {
            if (first_new < 0)
                first_new = r->index;
            else if (r->index > prev_new + 1)
                out->lost += (uint64_t)(r->index - prev_new - 1); /* rows deleted in between */
            prev_new = r->index;
        }
    }
    if (by_index && first_new > cur->index + 1) {
        if (!full) {
            /* The panel's read pointer is past our position (another client, a wrap): see what the table has. */
            memset(out, 0, sizeof *out);
            out->next = *cur;
            out->need_full = true;
            return;
        }
        out->lost += (uint64_t)(first_new - cur->index - 1);
    }
    if (!by_index && full && recover[0] && cur->index != C3_CURSOR_INDEX_UNKNOWN)
        out->lost_unknown = true; /* even the oldest row is new: older ones may have been overwritten */
    /* Rows journaled live already are not recovered. */
    for (size_t i = 0; i < n; i++) {
        if (!recover[i])
            continue;
        if (live_take(live, &rows[i])) {
            recover[i] = 0;
            out->matched++;
        } else {
            out->recovered++;
        }
    }
    const struct c3_txn *last = &rows[n - 1];
    out->next.valid = true;
    out->next.index = last->index >= 0 ? last->index : C3_CURSOR_INDEX_NONE;
    out->next.time = last->time;
    out->next.tie = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].time == last->time)
            out->next.tie++;
    if (!full && !by_index && cur->time == last->time)
        out->next.tie += cur->tie; /* rows of that second before the read were taken already */
    live_prune(live, &out->next);
}

/* ---- the driver part ---- */

enum run_step { STEP_IDLE, STEP_WAIT, STEP_STRUCT, STEP_COUNT, STEP_TIME, STEP_LAST_INDEX, STEP_MARK_FIRST,
                STEP_READ_NEW, STEP_READ_FULL, STEP_STORE, STEP_MARK };
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
    loop_timer_t store_timer;  /* waiting for the recovered rows to be stored before the position moves */
    loop_timer_t wait_timer;   /* waiting for the journal to store before a catch-up starts */
    uint64_t wait_since_us;
    uint64_t last_seq;         /* the bus sequence number of the last recovered row */
    struct c3_align_out pending_out;
    struct c3_catchup_stats stats;
};

static void run_step(struct c3_catchup *cc);

static void report(struct c3_catchup *cc, struct event *ev) { cc->cfg.hooks.report(cc->cfg.hooks.arg, ev); }

/* ---- doubtful echoes ----
 * A recovered row that was still in the ring comes through it once more and is not shown again. Without an
 * Index its echo is told by content, and in the last second of the read that recovered it, a new event (the
 * same card at the same door again, an exit button pressed twice) looks exactly the same: the ring may have
 * lost the recovered row (a connect empties it, an overflow drops the oldest) and hold the new one instead.
 * Such a live event, and every one after it (to keep their order), is held back until a table read asked for
 * after it says which it was: a new row in that read is a new event, shown as live; none, an echo. */
struct held {
    struct c3_txn t;
    bool echo;          /* matched a recovered row of the read's last second */
    bool confirmed;     /* an echo whose own row a later read found: a new event */
    bool before_read;   /* held when the current read was asked for: that read decides */
};

/* false without memory: a doubtful echo is then dropped (its row, if new, is recovered by the next read), a new
 * event shown at once. */
static bool held_add(struct c3_catchup *cc, const struct c3_txn *t, bool echo)
{
    struct held *v = grow_array(cc->held, cc->held_n, &cc->held_cap, sizeof *v, 16);
    if (!v)
        return false;
    cc->held = v;
    cc->held[cc->held_n++] = (struct held){ .t = *t, .echo = echo };
    return true;
}

/* Show the held events that are decided, in order, up to the first doubtful echo no read has decided yet
 * (all = the link went or the catch-up failed: undecided echoes are dropped, and a new one among them is
 * recovered by the next read, its row being after the position). */
static void held_release(struct c3_catchup *cc, bool all)
{
    size_t i = 0;
    for (; i < cc->held_n; i++) {
        struct held *h = &cc->held[i];
        if (h->echo && !h->before_read && !all)
            break;
        if (h->echo && !h->confirmed)
            continue; /* the recovered row's echo */
        struct event ev;
        c3_catchup_event_fill(&ev, &h->t);
        if (h->t.index >= 0)
            c3_catchup_key(&ev, &h->t, 0);
        report(cc, &ev);
    }
    memmove(cc->held, cc->held + i, (cc->held_n - i) * sizeof *cc->held);
    cc->held_n -= i;
}

/* After a read: its new rows that no live event stands for and that match a held echo make that echo a new
 * event (not a recovered row); then what is decided is shown, before the read's recovered rows. */
static void held_decide(struct c3_catchup *cc, const struct c3_txn *rows, size_t n, uint8_t *recover,
                        struct c3_align_out *a)
{
    for (size_t i = 0; i < n && cc->held_n; i++) {
        if (!recover[i])
            continue;
        for (size_t k = 0; k < cc->held_n; k++) {
            struct held *h = &cc->held[k];
            if (h->echo && h->before_read && !h->confirmed && same_content(&h->t, &rows[i])) {
                h->confirmed = true;
                recover[i] = 0;
                a->recovered--;
                a->matched++;
                break;
            }
        }
    }
    held_release(cc, false);
}

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

static void report_connect(struct c3_catchup *cc, const struct c3_align_out *a, const char *failure)
{
    int64_t from = cc->run_from_us;
    bool startup = cc->run_startup;
    if (!from)
        return; /* nothing was lost (a first connect without history) */
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
    report(cc, &ev);
}

static void report_background(struct c3_catchup *cc, const struct c3_align_out *a)
{
    if (!a->recovered && !a->lost && !a->lost_unknown)
        return;
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
    report(cc, &ev);
}

static void start_run(struct c3_catchup *cc, enum run_kind kind);

static void finish(struct c3_catchup *cc, const char *failure)
{
    enum run_kind kind = cc->kind;
    cc->step = STEP_IDLE;
    cc->x = NULL;
    if (failure)
        held_release(cc, true);
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

static void on_xfer(void *arg, int err, const uint8_t *data, size_t len);

static void start_xfer(struct c3_catchup *cc, uint8_t cmd, const void *p, size_t len)
{
    uint32_t t = cc->cfg.timeout_ms ? cc->cfg.timeout_ms : 2000;
    struct c3_xfer_opts o = { .prio = C3_PRIO_POLL, .timeout_ms = t, .expire_ms = 4 * t + 1000 };
    int err;
    cc->x = c3_xfer_get(cc->s, cmd, p, len, &o, on_xfer, cc, &err);
    if (!cc->x)
        finish(cc, c3_session_strerror(err));
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
    start_xfer(cc, C3_CMD_GET_DATA, b.p, b.len);
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
static void publish_rows(struct c3_catchup *cc, const struct c3_txn *rows, size_t n, const uint8_t *recover)
{
    enum { CHUNK = 512 };
    struct event *evs = malloc(CHUNK * sizeof *evs);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!recover[i])
            continue;
        /* Identical rows share their second: count the earlier ones of that second. */
        unsigned ordinal = 0;
        if (rows[i].index < 0)
            for (size_t j = i; j > 0 && rows[j - 1].time == rows[i].time; j--)
                ordinal += same_content(&rows[j - 1], &rows[i]);
        struct event one, *ev = evs ? &evs[k] : &one;
        c3_catchup_event_fill(ev, &rows[i]);
        ev->recovered = true;
        c3_catchup_key(ev, &rows[i], ordinal);
        if (!evs) {
            report(cc, ev); /* without memory for a batch: one by one */
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

/* The highest Index of an answer that selected that field only (0: an empty table; UNKNOWN: unreadable). */
static int64_t last_index(const struct c3_catchup *cc, const uint8_t *data, size_t len)
{
    struct c3_data_reader rd;
    if (len == 0)
        return cc->first_count ? C3_CURSOR_INDEX_UNKNOWN : 0;
    if (c3_data_reader_init(&rd, data, len) < 0)
        return C3_CURSOR_INDEX_UNKNOWN;
    int64_t max = 0;
    struct c3_data_value v[8];
    struct c3_txn t;
    int rc;
    while ((rc = c3_data_reader_next(&rd, v, 8)) == 1)
        if (c3_txn_decode(&rd, v, &cc->tf, &t) == 0 && t.index > max)
            max = t.index;
    return rc < 0 ? C3_CURSOR_INDEX_UNKNOWN : max;
}

static void got_rows(struct c3_catchup *cc, const uint8_t *data, size_t len, bool full)
{
    struct c3_data_reader rd;
    struct c3_txn *rows = NULL;
    size_t n = 0, cap = 0;
    if (len > 0 && c3_data_reader_init(&rd, data, len) == 0) {
        struct c3_data_value v[255];
        while (c3_data_reader_next(&rd, v, 255) == 1) {
            struct c3_txn *nr = grow_array(rows, n, &cap, sizeof *nr, 256);
            if (!nr) {
                free(rows);
                finish(cc, "out of memory");
                return;
            }
            rows = nr;
            if (c3_txn_decode(&rd, v, &cc->tf, &rows[n]) == 0)
                n++;
        }
    }
    uint8_t *recover = malloc(n ? n : 1);
    if (!recover) {
        free(rows);
        finish(cc, "out of memory");
        return;
    }
    struct c3_align_out a;
    c3_catchup_align(&cc->cur, &cc->live, rows, n, full, recover, &a);
    if (a.need_full) {
        free(rows);
        free(recover);
        read_rows(cc, false);
        return;
    }
    if (cc->first_read) {
        /* First contact by time: every row is history; the position is the last one. */
        memset(recover, 0, n ? n : 1);
        cc->first_read = false;
        struct c3_cursor last = a.next;
        memset(&a, 0, sizeof a);
        a.next = last;
        if (!n)
            a.next = (struct c3_cursor){ .valid = true, .index = C3_CURSOR_INDEX_NONE, .time = cc->panel_now };
        cc->cur = a.next;
        free(rows);
        free(recover);
        first_contact_done(cc);
        return;
    }
    held_decide(cc, rows, n, recover, &a);
    cc->last_seq = 0;
    publish_rows(cc, rows, n, recover);
    /* Rows recorded before the read but not polled yet come through the ring as well: remember them until the
     * ring has been drained once. */
    for (size_t i = 0; i < n; i++)
        if (recover[i])
            c3_live_add(&cc->recent, &rows[i]);
    cc->recent_last = a.next.time;
    free(rows);
    free(recover);
    cc->cur = a.next;
    cc->stats.runs++;
    cc->stats.recovered += a.recovered;
    cc->stats.matched += a.matched;
    cc->stats.lost += a.lost;
    cc->pending_out = a;
    cc->step = STEP_STORE;
    stored_check(cc);
}

/* The position moves (and the panel's read pointer with it) only once every recovered row is stored: a batching
 * bus stores a few hundred per loop iteration. */
static void stored_check(struct c3_catchup *cc)
{
    if (cc->last_seq && !device_events_stored(cc->cfg.dev, cc->last_seq)) {
        loop_timer_arm_ms(cc->cfg.dev->loop, &cc->store_timer, 1);
        return;
    }
    save(cc);
    if (cc->kind == RUN_CONNECT)
        report_connect(cc, &cc->pending_out, NULL);
    else
        report_background(cc, &cc->pending_out);
    if (cc->tf.index) {
        /* Move the panel's read pointer past what is journaled now (the answer is C9 on some firmware). */
        cc->step = STEP_MARK;
        uint8_t id = (uint8_t)cc->txn_id;
        start_xfer(cc, C3_CMD_GET_DATA_OK, &id, 1);
        return;
    }
    finish(cc, NULL);
}

static void store_timer_cb(loop_t *loop, void *arg)
{
    (void)loop;
    struct c3_catchup *cc = arg;
    if (cc->step == STEP_STORE)
        stored_check(cc);
}

/* First contact: nothing from before is journaled. By Index the position is "now" (the panel's clock) and the
 * panel's read pointer moves to the end of its table, so later reads start there; by time every catch-up reads
 * the whole table anyway, so the first one places the position on its last row. */
static void first_contact_done(struct c3_catchup *cc)
{
    if (cc->tf.index)
        cc->cur = (struct c3_cursor){ .valid = true, .index = cc->first_index, .time = cc->panel_now };
    c3_live_clear(&cc->live);
    save(cc);
    struct event ev;
    event_init(&ev, EVENT_SYSTEM, EVENT_NORMAL); /* nothing of what happens from now on is missed */
    event_copy(ev.code_name, sizeof ev.code_name, "first contact");
    event_set_text(&ev, "first contact with this panel: %" PRIu32 " earlier events in its table were not read "
                        "(portierctl c3 %s events --history)", cc->first_count, cc->host);
    report(cc, &ev);
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
         * rows the table overwrites before the next catch-up are counted as lost. */
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
        cc->first_index = err ? C3_CURSOR_INDEX_UNKNOWN : last_index(cc, data, len);
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
    case STEP_READ_FULL:
        if (err) {
            finish(cc, c3_session_strerror(err));
            return;
        }
        got_rows(cc, data, len, cc->step == STEP_READ_FULL);
        return;
    case STEP_MARK:
        finish(cc, NULL);
        return;
    case STEP_IDLE:
    case STEP_WAIT:
    case STEP_STORE:
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
    const char *hash = strstr(ev->key, "|#");
    if (hash)
        t.index = strtoll(hash + 2, NULL, 10);
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
    loop_timer_init(&cc->store_timer, store_timer_cb, cc);
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
    loop_timer_disarm(cc->cfg.dev->loop, &cc->store_timer);
    loop_timer_disarm(cc->cfg.dev->loop, &cc->wait_timer);
    c3_live_clear(&cc->live);
    c3_live_clear(&cc->recent);
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
    held_release(cc, true);
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
        if (by_index ? r->index != t.index : !same_content(r, &t))
            continue;
        /* Journaled already as recovered: an echo, surely so by Index or from an earlier second than the
         * read's last; else perhaps a new event (see held). */
        bool sure = by_index || r->time != cc->recent_last;
        live_remove(&cc->recent, i);
        if (!sure)
            (void)held_add(cc, &t, true);
        return true;
    }
    /* Behind a doubtful echo a new event waits (shown in order once that is decided). */
    bool hold = cc->held_n && held_add(cc, &t, false);
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
    if (cc->step == STEP_IDLE || cc->step == STEP_MARK || cc->step == STEP_STORE)
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
