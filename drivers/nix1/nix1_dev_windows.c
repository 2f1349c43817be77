/* nix1_dev_windows: the NiX1 adapter's timed-open windows: the end of each window (release, or the next window
 * when the first was cut at an hour), the end of a grant's emulated unlock, and slaves held by an earlier run. */
#include "drivers/nix1/nix1_dev.h"

#include <stdio.h>

void n1dev_tick_soon(struct n1dev *c)
{
    if (!c->dying)
        loop_timer_arm_ms(c->dev->loop, &c->tick, 0);
}

/* Windows end by themselves on the slave; then its remembered cron is put back (release), or the next window is
 * set when the first one was cut at an hour boundary. Grants' emulated unlock ends. */
void n1dev_tick_cb(loop_t *loop, void *arg)
{
    (void)loop;
    struct n1dev *c = arg;
    int64_t now = event_now_us(), next = 0;
    for (size_t i = 0; c->door && i < c->n; i++) {
        struct n1_slave *s = &c->slaves[i];
        const struct nix1_door_slave *ds = nix1_door_find(c->door, &s->addr);
        int64_t until = ds && ds->held && !ds->in_emergency ? ds->held_until_us : 0;
        if (until && until <= now && until != s->window_done_us) {
            s->window_done_us = until; /* acted on once */
            struct n1_job *j = n1dev_job_new(c, N1J_INTERNAL, NULL, 0);
            if (j) {
                if (ds->want_until_us > now + 30 * 1000000LL)
                    n1dev_add_step(j, N1_TIMED, i, 0, true, (unsigned)((ds->want_until_us - now) / 60000000 + 1), 0);
                else
                    n1dev_add_step(j, N1_HOLD, i, 0, false, 0, 0);
                n1dev_enqueue(c, j);
            }
        } else if (until > now && (!next || until < next)) {
            next = until;
        }
        for (int p = 0; p < 2; p++)
            if (s->grant_until_us[p] && (!next || s->grant_until_us[p] < next))
                next = s->grant_until_us[p];
        n1dev_publish_slave(c, i);
    }
    if (next)
        loop_timer_arm_us(c->dev->loop, &c->tick, next > now ? (uint64_t)(next - now) : 0);
}

/* Check a slave remembered as held when this run started (nix1_door_check_held). */
void n1dev_queue_check_held(struct n1dev *c, size_t si)
{
    struct n1_slave *s = &c->slaves[si];
    if (s->check_queued)
        return;
    struct n1_job *j = n1dev_job_new(c, N1J_INTERNAL, NULL, 0);
    if (!j)
        return;
    n1dev_add_step(j, N1_CHECK_HELD, si, 0, false, 0, 0);
    s->check_queued = true;
    n1dev_enqueue(c, j);
}

/* What the check found: a hold stays, a running window is released at its end (the tick), one that ended was
 * released, a cron set outside portier is left with a warning. A slave that did not answer is checked again
 * when it is back online. */
void n1dev_held_report(struct n1dev *c, const struct nix1_door_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const struct nix1_door_outcome *o = &r->v[i];
        ssize_t si = n1dev_slave_index(c, &o->addr);
        if (si < 0)
            continue;
        struct n1_slave *s = &c->slaves[si];
        if (o->unreachable)
            continue;
        s->check_held = false;
        switch (o->held) {
        case NIX1_HELD_WINDOW:
            n1dev_event(c, (size_t)si, EVENT_COMMAND, EVENT_NORMAL, "timed open", o->msg);
            n1dev_tick_soon(c);
            break;
        case NIX1_HELD_RELEASED:
            n1dev_event(c, (size_t)si, EVENT_COMMAND, o->ok ? EVENT_NORMAL : EVENT_WARNING, "timed open", o->msg);
            break;
        case NIX1_HELD_FOREIGN:
            n1dev_event(c, (size_t)si, EVENT_COMMAND, EVENT_WARNING, "timed open", o->msg);
            break;
        default:
            break;
        }
    }
}
