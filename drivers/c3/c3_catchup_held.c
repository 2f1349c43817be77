/* c3_catchup_held: live events held back behind a doubtful echo (see c3_catchup_int.h). */
#include "drivers/c3/c3_catchup_int.h"

#include <string.h>

#include "core/grow.h"

/* Doubtful echoes.
 * A recovered row that was still in the ring comes through it once more and is not shown again. Without an
 * Index its echo is told by content, and in the last second of the read that recovered it, a new event (the
 * same card at the same door again, an exit button pressed twice) looks exactly the same: the ring may have
 * lost the recovered row (a connect empties it, an overflow drops the oldest) and hold the new one instead.
 * Such a live event, and every one after it (to keep their order), is held back until a table read asked for
 * once the ring is drained says which it was (held_confirm); each row is journaled once either way. */

/* false without memory: a doubtful echo is then dropped (its row, if new, is recovered by the next read), a new
 * event shown at once. */
bool c3_held_add(struct c3_catchup *cc, const struct c3_txn *t, bool echo)
{
    struct held *v = grow_array(cc->held, cc->held_n, &cc->held_cap, sizeof *v, 16);
    if (!v)
        return false;
    cc->held = v;
    cc->held[cc->held_n++] = (struct held){ .t = *t, .echo = echo };
    return true;
}

/* A read ended well: its confirmations stand; show what is decided. */
void c3_held_settle(struct c3_catchup *cc)
{
    for (size_t k = 0; k < cc->held_n; k++)
        cc->held[k].this_read = false;
    c3_held_release(cc, false);
}

/* Show the held events that are decided, in order, up to the first doubtful echo no read has decided yet
 * (all = the link went or the catch-up failed: undecided echoes are dropped, and a new one among them is
 * recovered by the next read, its row being after the position). */
void c3_held_release(struct c3_catchup *cc, bool all)
{
    if (!cc->held_n)
        return;
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
            c3_catchup_key(&ev, c3_catchup_device_name(cc), &h->t, 0);
        c3_catchup_report_ev(cc, &ev);
        cc->last_seq = ev.seq; /* the position waits for it too */
    }
    memmove(cc->held, cc->held + i, (cc->held_n - i) * sizeof *cc->held);
    cc->held_n -= i;
}

/* A new row of a read that no live event stands for and that matches a held echo makes that echo a new event
 * (not a recovered row): true, and the row is not journaled as recovered. */
bool c3_held_confirm(struct c3_catchup *cc, const struct c3_txn *row)
{
    for (size_t k = 0; k < cc->held_n; k++) {
        struct held *h = &cc->held[k];
        if (h->echo && h->before_read && !h->confirmed && c3_txn_same(&h->t, row)) {
            h->confirmed = true;
            h->this_read = true;
            return true;
        }
    }
    return false;
}

/* A row that confirmed a held echo may not be that event's own but a later one of the same second and content,
 * recorded after the ring was drained and still in it: its echo must not be shown again (the held event stands
 * for it), so it is remembered like a recovered row. */
void c3_held_echo_row(struct c3_catchup *cc, const struct c3_txn *row)
{
    c3_live_add(&cc->recent, row);
}

/* The read under way failed: what it confirmed is undecided again (its rows are read again). */
void c3_held_unconfirm(struct c3_catchup *cc)
{
    for (size_t k = 0; k < cc->held_n; k++)
        if (cc->held[k].this_read)
            cc->held[k].confirmed = cc->held[k].this_read = false;
}

/* After a whole-table read: the held echoes its new rows confirm. */
void c3_held_decide(struct c3_catchup *cc, const struct c3_txn *rows, size_t n, uint8_t *recover,
                        struct c3_align_out *a)
{
    for (size_t i = 0; i < n && cc->held_n; i++) {
        if (recover[i] && c3_held_confirm(cc, &rows[i])) {
            c3_held_echo_row(cc, &rows[i]);
            recover[i] = 0;
            a->recovered--;
            a->matched++;
        }
    }
}
