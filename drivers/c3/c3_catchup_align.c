/* c3_catchup_align: the pure part of the catch-up (c3_catchup.h): events and keys of rows, the position, the live
 * set and the alignment of a read against them, whole or a row at a time. */
#include "drivers/c3/c3_catchup.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/grow.h"
#include "drivers/c3/c3_tables.h"
#include "drivers/c3/c3_time.h"

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

void c3_catchup_key(struct event *ev, const char *device, const struct c3_txn *row, unsigned ordinal)
{
    event_copy(ev->device, sizeof ev->device, device);
    if (row->index >= 0) {
        event_make_record_key(ev, row->index);
        return;
    }
    event_make_key(ev);
    size_t kl = strlen(ev->key);
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

void c3_live_drop_marked(struct c3_live_set *l)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++)
        if (!l->v[i].before_read && !l->v[i].taken)
            l->v[k++] = l->v[i];
    l->n = k;
}

bool c3_txn_same(const struct c3_txn *a, const struct c3_txn *b)
{
    return a->time == b->time && a->card == b->card && a->pin == b->pin && a->verify == b->verify &&
           a->door == b->door && a->type == b->type && a->inout == b->inout;
}

void c3_live_remove(struct c3_live_set *l, size_t i)
{
    memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof l->v[0]);
    l->n--;
}

/* The oldest live entry standing for this row is marked taken (it leaves the set when the read ends well). */
static bool live_match(struct c3_live_set *l, const struct c3_txn *row)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct c3_txn *e = &l->v[i].t;
        if (l->v[i].taken)
            continue;
        bool hit = (e->index >= 0 && row->index >= 0) ? e->index == row->index : c3_txn_same(e, row);
        if (hit) {
            l->v[i].taken = true;
            return true;
        }
    }
    return false;
}

void c3_live_untake(struct c3_live_set *l)
{
    for (size_t i = 0; i < l->n; i++)
        l->v[i].taken = false;
}

/* Drop the entries a read matched and those that can never match a later row: published before the read and
 * not in it, or (by Index) at or before the position. */
static void live_prune(struct c3_live_set *l, const struct c3_cursor *c)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        const struct c3_txn *e = &l->v[i].t;
        bool behind = l->v[i].taken || l->v[i].before_read ||
                      (e->index >= 0 && c->index >= 0 && e->index <= c->index);
        if (!behind)
            l->v[k++] = l->v[i];
    }
    l->n = k;
}

/* ---- alignment ---- */

void c3_aligner_begin(struct c3_aligner *a, const struct c3_cursor *cur, bool full, bool allow_index)
{
    memset(a, 0, sizeof *a);
    a->cur = *cur;
    a->full = full;
    a->allow_index = allow_index;
    a->first_new = a->prev_new = -1;
    a->out.next = *cur;
}

int c3_aligner_row(struct c3_aligner *a, struct c3_live_set *live, const struct c3_txn *r)
{
    const struct c3_cursor *cur = &a->cur;
    struct c3_align_out *out = &a->out;
    bool first = a->rows++ == 0;
    if (first) {
        out->oldest_time = r->time;
        a->by_index = a->allow_index && cur->index >= 0 && r->index >= 0;
    }
    /* Is the row new? */
    bool is_new;
    if (a->by_index) {
        is_new = r->index > cur->index;
    } else if (r->time != cur->time) {
        is_new = r->time > cur->time;
    } else {
        is_new = a->at_time >= cur->tie;
        a->at_time++;
    }
    if (!is_new) {
        out->old++;
        return 0;
    }
    if (a->by_index) {
        if (a->first_new < 0) {
            a->first_new = r->index;
            if (r->index > cur->index + 1) {
                if (!a->full) {
                    /* The panel's read pointer is past our position (another client, a wrap): see what the
                     * table has. */
                    memset(out, 0, sizeof *out);
                    out->next = *cur;
                    out->need_full = true;
                    return -1;
                }
                out->lost += (uint64_t)(r->index - cur->index - 1);
            }
        } else if (r->index > a->prev_new + 1) {
            out->lost += (uint64_t)(r->index - a->prev_new - 1); /* rows deleted in between */
        }
        a->prev_new = r->index;
    }
    if (first && !a->by_index && a->full && cur->index != C3_CURSOR_INDEX_UNKNOWN)
        out->lost_unknown = true; /* even the oldest row is new: older ones may have been overwritten */
    /* A row journaled live already is not recovered. */
    if (live_match(live, r)) {
        out->matched++;
        return 0;
    }
    out->recovered++;
    return 1;
}

void c3_aligner_end(struct c3_aligner *a, struct c3_live_set *live, const struct c3_txn *rows, size_t n,
                    struct c3_align_out *out)
{
    if (a->out.need_full) {
        *out = a->out;
        return;
    }
    *out = a->out;
    if (n == 0) {
        out->next = a->cur;
        live_prune(live, &a->cur);
        return;
    }
    const struct c3_txn *last = &rows[n - 1];
    out->next.valid = true;
    out->next.index = last->index >= 0 ? last->index : C3_CURSOR_INDEX_NONE;
    out->next.time = last->time;
    out->next.tie = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].time == last->time)
            out->next.tie++;
    if (!a->full && !a->by_index && a->cur.time == last->time)
        out->next.tie += a->cur.tie; /* rows of that second before the read were taken already */
    live_prune(live, &out->next);
}

void c3_catchup_align(const struct c3_cursor *cur, struct c3_live_set *live, const struct c3_txn *rows, size_t n,
                      bool full, uint8_t *recover, struct c3_align_out *out)
{
    bool allow_index = true;
    if (full && cur->index >= 0 && n > 0 && rows[0].index >= 0) {
        /* A table whose numbering restarted (cleared, replaced) is placed by time this once. */
        int64_t max = -1;
        for (size_t i = 0; i < n; i++)
            if (rows[i].index > max)
                max = rows[i].index;
        allow_index = max >= cur->index;
    }
    struct c3_aligner a;
    c3_aligner_begin(&a, cur, full, allow_index);
    for (size_t i = 0; i < n; i++) {
        int r = c3_aligner_row(&a, live, &rows[i]);
        if (r < 0) {
            *out = a.out;
            return;
        }
        recover[i] = (uint8_t)r;
    }
    c3_aligner_end(&a, live, rows, n, out);
}
