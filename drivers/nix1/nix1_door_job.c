#include "drivers/nix1/nix1_door_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/grow.h"
#include "drivers/nix1/nix1_line.h"
#include "drivers/nix1/nix1_rc.h"

#define CLOCK_VALID_FROM 946684800 /* 2000-01-01: before it the slave's clock was never set (§5.7 b1) */

static void run(struct nix1_door *d);

/* ---- building jobs ---- */

struct n1door_job *n1door_job_new(struct nix1_door *d, enum n1door_op op, const char *name, const nix1_addr_t *v,
                                  size_t n, nix1_door_cb cb, void *arg)
{
    if (d->job || (n == 0 && op != OP_EMERG_ON) || !d->bus) /* an emergency may go to a bus of unknown slaves */
        return NULL;
    struct n1door_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->out = calloc(n ? n : 1, sizeof *j->out);
    j->js = calloc(n ? n : 1, sizeof *j->js);
    if (!j->out || !j->js) {
        n1door_job_free(j);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        j->out[i].addr = v[i];
        j->out[i].ok = true;
        j->js[i].snap.addr = v[i];
    }
    j->n = n;
    j->op = op;
    j->name = name;
    j->cb = cb;
    j->arg = arg;
    j->start_us = loop_now_us(nix1_bus_loop(d->bus));
    return j;
}

void n1door_job_free(struct n1door_job *j)
{
    if (!j)
        return;
    free(j->steps);
    free(j->out);
    free(j->js);
    free(j);
}

static void add_step_at(struct n1door_job *j, size_t at, size_t si, char cmd, char arg, const char *opt,
                        enum n1door_tag tag)
{
    struct n1door_step *ns = grow_array(j->steps, j->nsteps, &j->cap, sizeof *ns, 32);
    if (!ns)
        return;
    j->steps = ns;
    memmove(&j->steps[at + 1], &j->steps[at], (j->nsteps - at) * sizeof *j->steps);
    struct n1door_step *s = &j->steps[at];
    s->si = si;
    s->cmd = cmd;
    s->arg = arg;
    snprintf(s->opt, sizeof s->opt, "%s", opt ? opt : "");
    s->tag = tag;
    j->nsteps++;
}

void n1door_add_step(struct n1door_job *j, size_t si, char cmd, char arg, const char *opt, enum n1door_tag tag)
{
    add_step_at(j, j->nsteps, si, cmd, arg, opt, tag);
}

void n1door_add_snapshot(struct n1door_job *j, size_t si)
{
    j->js[si].snapped = true;
    n1door_add_step(j, si, 'Q', 'h', NULL, T_SNAP_QH);
    n1door_add_step(j, si, 'Q', 'o', NULL, T_SNAP_QO);
    n1door_add_step(j, si, 'Q', 'l', "1", T_SNAP_QL1);
    n1door_add_step(j, si, 'Q', 'l', "2", T_SNAP_QL2);
}

/* The read-back requests of slave si and the check that follows them, inserted at `at`; returns the position
 * after them. */
static size_t add_readback_at(struct n1door_job *j, size_t at, size_t si)
{
    add_step_at(j, at++, si, 'Q', 'h', NULL, T_RB_QH);
    add_step_at(j, at++, si, 'Q', 'o', NULL, T_RB_QO);
    if (j->js[si].whole) {
        add_step_at(j, at++, si, 'Q', 'l', "1", T_RB_QL1);
        add_step_at(j, at++, si, 'Q', 'l', "2", T_RB_QL2);
    }
    add_step_at(j, at++, si, 0, 0, NULL, T_RB_CHECK);
    return at;
}

void n1door_add_restore(struct n1door_job *j, size_t si, bool whole)
{
    j->js[si].restoring = true;
    j->js[si].whole = whole;
    add_readback_at(j, j->nsteps, si);
}

void n1door_refuse(struct n1door_job *j, size_t si, const char *msg)
{
    j->out[si].ok = false;
    snprintf(j->out[si].msg, sizeof j->out[si].msg, "%s", msg);
}

int n1door_start(struct nix1_door *d, struct n1door_job *j)
{
    d->job = j;
    run(d);
    return 0;
}

/* ---- outcomes ---- */

static bool is_snap(enum n1door_tag t) { return t >= T_SNAP_QH && t <= T_SNAP_QL2; }

static void outcome_fail(struct n1door_job *j, size_t si, const struct nix1_result *r, const struct n1door_step *st)
{
    struct nix1_door_outcome *o = &j->out[si];
    if ((j->op == OP_EMERG_ON || j->op == OP_EPROBES_ON) && is_snap(st->tag)) {
        /* Unreadable before the emergency: it still gets the emergency and its check. */
        j->js[si].snap_failed = true;
        return;
    }
    if (st->tag == T_SET && r->status != NIX1_ST_REPLY)
        j->js[si].uncertain = true;
    if (!o->ok)
        return;
    o->ok = false;
    if (r->status == NIX1_ST_TIMEOUT || r->status == NIX1_ST_IO || r->status == NIX1_ST_BUSY ||
        r->status == NIX1_ST_CANCELLED) {
        o->unreachable = true;
        snprintf(o->msg, sizeof o->msg, "%c%c: %s", st->cmd, st->arg, r->error ? r->error : nix1_status_str(r->status));
    } else {
        o->rc = r->rc;
        snprintf(o->msg, sizeof o->msg, "%c%c: %02X %s (%s)", st->cmd, st->arg, r->rc, nix1_rc_name(r->rc),
                 nix1_rc_meaning(r->rc));
    }
}

static bool parse_bit(const char *p, bool *out)
{
    if ((p[0] == '0' || p[0] == '1') && p[1] == 0) {
        *out = p[0] == '1';
        return true;
    }
    return false;
}

/* "<ts>\t<±HHMM>" of a Qt reply. */
static bool parse_clock(const struct nix1_result *r, struct n1door_js *x)
{
    struct nix1_span f[3];
    uint64_t ts;
    int tz;
    if (r->status != NIX1_ST_REPLY || r->rc != NIX1_RC_OK ||
        nix1_fields_split(r->payload, r->payload_len, f, 2) != 2 || !nix1_parse_uint(f[0].p, f[0].len, 9999999999ull, &ts) ||
        !nix1_parse_tz(f[1].p, f[1].len, &tz))
        return false;
    x->have_clock = true;
    x->slave_ts = (int64_t)ts;
    x->tz = tz;
    x->host_us = event_now_us();
    return true;
}

static bool open_profile(const struct nix1_door_slave *s)
{
    return s->has_cron && strcmp(s->cron, NIX1_DOOR_OPEN_CRON) == 0 && s->cron_mode == 1;
}

/* ---- the timed-open window, on the slave's clock ---- */

static void timed_window(struct n1door_job *j, size_t si)
{
    struct n1door_js *x = &j->js[si];
    struct nix1_door_outcome *o = &j->out[si];
    if (x->slave_ts < CLOCK_VALID_FROM) {
        n1door_refuse(j, si, "the slave's clock is not set (it matches its cron against it): set the clock first");
        return;
    }
    int64_t sec = x->slave_ts % 60;
    unsigned minutes = j->minutes ? j->minutes : (unsigned)((sec + j->seconds + 59) / 60);
    time_t seg_end = 0;
    if (cron_window(o->cron, sizeof o->cron, (time_t)x->slave_ts, minutes, x->tz, &seg_end) < 0) {
        n1door_refuse(j, si, "no cron window for that time");
        return;
    }
    /* The slave's minutes are whole minutes of UTC too (zones are whole minutes). */
    int64_t want = x->slave_ts - sec + (int64_t)minutes * 60;
    x->until_us = x->host_us + ((int64_t)seg_end - x->slave_ts) * 1000000;
    x->want_us = x->host_us + (want - x->slave_ts) * 1000000;
    o->until_us = x->until_us;
    size_t at = j->pos;
    add_step_at(j, at++, SIZE_MAX, 0, 0, NULL, T_INTENT);
    add_step_at(j, at++, si, 'N', 'h', o->cron, T_SET);
    add_step_at(j, at, si, 'N', 'o', "1", T_SET);
}

/* ---- the write-ahead intent ---- */

static void take_snapshot(struct n1door_job *j, size_t si, struct nix1_door_slave *s)
{
    const struct n1door_js *x = &j->js[si];
    if (!x->snapped || x->snap_failed || x->open_profile)
        return;
    s->known = true;
    s->has_cron = x->snap.has_cron;
    memcpy(s->cron, x->snap.cron, sizeof s->cron);
    s->cron_mode = x->snap.cron_mode;
    s->lock[0] = x->snap.lock[0];
    s->lock[1] = x->snap.lock[1];
}

/* Change the remembered state to what is about to be done, and store it before anything goes out. A hold or a
 * timed open that cannot be stored is not done; an emergency goes on and says so. */
static void intent(struct nix1_door *d, struct n1door_job *j)
{
    bool em_before = d->emergency;
    for (size_t i = 0; i < j->n; i++) {
        struct nix1_door_slave *s = n1door_slave(d, &j->out[i].addr, true);
        if (!s)
            continue;
        j->js[i].before = *s;
        bool on = j->op == OP_EMERG_ON || j->op == OP_EPROBES_ON;
        if (!j->out[i].ok && !on)
            continue;
        j->js[i].intended = true;
        switch (j->op) {
        case OP_HOLD_ON:
        case OP_TIMED:
            take_snapshot(j, i, s);
            s->held = true;
            s->held_until_us = j->op == OP_TIMED ? j->js[i].until_us : 0;
            s->want_until_us = j->op == OP_TIMED ? j->js[i].want_us : 0;
            s->restore_pending = false;
            break;
        case OP_RELEASE:
            s->restore_pending = true;
            s->restore_locked = false;
            break;
        case OP_EMERG_ON:
        case OP_EPROBES_ON:
            take_snapshot(j, i, s);
            s->in_emergency = true;
            s->restore_pending = false;
            s->restore_locked = false;
            break;
        case OP_EMERG_OFF:
            if (j->js[i].restoring) {
                s->restore_pending = true;
                s->restore_locked = j->locked_restore;
            }
            break;
        default:
            break;
        }
    }
    if (j->op == OP_EMERG_ON)
        d->emergency = true;
    if (j->op == OP_EMERG_OFF)
        d->emergency = false;
    if (n1door_persist(d, j->store_err, sizeof j->store_err) == 0)
        return;
    j->store_failed = true;
    if (j->op != OP_HOLD_ON && j->op != OP_TIMED)
        return; /* life safety first: the emergency and the restores go on */
    for (size_t i = 0; i < j->n; i++) {
        struct nix1_door_slave *s = n1door_slave(d, &j->out[i].addr, false);
        if (s && j->out[i].ok) {
            *s = j->js[i].before;
            char m[sizeof j->out[i].msg];
            snprintf(m, sizeof m, "not done: the door state could not be stored first (%.100s)", j->store_err);
            n1door_refuse(j, i, m);
        }
    }
    d->emergency = em_before;
}

/* ---- restores checked against the slave ---- */

static void restore_target(const struct nix1_door_slave *s, struct n1door_js *x, bool *has_cron, const char **cron,
                           uint8_t *mode)
{
    int64_t now = event_now_us();
    x->t_hold = x->whole && s->held && !s->restore_locked && (!s->held_until_us || s->held_until_us > now);
    if (s->restore_locked) {
        *has_cron = false;
        *cron = "";
        *mode = 0;
    } else if (x->t_hold) {
        *has_cron = true;
        *cron = NIX1_DOOR_OPEN_CRON;
        *mode = 1;
    } else {
        *has_cron = s->has_cron;
        *cron = s->has_cron ? s->cron : "";
        *mode = s->cron_mode;
    }
}

static void rb_check(struct nix1_door *d, struct n1door_job *j, size_t si)
{
    struct n1door_js *x = &j->js[si];
    struct nix1_door_outcome *o = &j->out[si];
    const struct nix1_door_slave *s = nix1_door_find(d, &o->addr);
    if (!s)
        return;
    bool has_cron;
    const char *cron;
    uint8_t mode;
    restore_target(s, x, &has_cron, &cron, &mode);
    bool cron_ok = x->rb_has_cron == has_cron && (!has_cron || strcmp(x->rb_cron, cron) == 0);
    bool mode_ok = x->rb_mode == mode;
    bool lock_ok[2] = { !x->whole || x->rb_lock[0] == s->lock[0], !x->whole || x->rb_lock[1] == s->lock[1] };
    if (cron_ok && mode_ok && lock_ok[0] && lock_ok[1]) {
        if (!o->msg[0])
            snprintf(o->msg, sizeof o->msg, "%s", x->rb_round ? "restored, read back" : "already as remembered");
        return;
    }
    if (x->rb_round >= 2) {
        o->ok = false;
        snprintf(o->msg, sizeof o->msg, "reads cron \"%.40s\" mode %u%s after two restores; wanted \"%.40s\" mode %u",
                 x->rb_has_cron ? x->rb_cron : "", x->rb_mode, x->whole ? " (and locks)" : "", has_cron ? cron : "",
                 mode);
        return;
    }
    size_t at = j->pos, sent = 0;
    if (!cron_ok) {
        add_step_at(j, at++, si, has_cron ? 'N' : 'D', 'h', has_cron ? cron : NULL, T_SET);
        sent++;
    }
    if (!mode_ok) {
        char m[4];
        snprintf(m, sizeof m, "%u", mode);
        add_step_at(j, at++, si, 'N', 'o', m, T_SET);
        sent++;
    }
    for (unsigned p = 0; p < 2; p++)
        if (!lock_ok[p]) {
            add_step_at(j, at++, si, 'N', 'l', p == 0 ? (s->lock[0] ? "1\t1" : "1\t0") : (s->lock[1] ? "2\t1" : "2\t0"),
                        T_SET);
            sent++;
        }
    if (x->rb_round)
        o->resent += (unsigned)sent;
    x->rb_round++;
    add_readback_at(j, at, si);
}

/* ---- a slave held by an earlier run ---- */

static int popcount64(uint64_t v)
{
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

static void held_release(struct nix1_door *d, struct n1door_job *j, size_t si, const char *msg)
{
    struct nix1_door_slave *s = n1door_slave(d, &j->out[si].addr, false);
    j->out[si].held = NIX1_HELD_RELEASED;
    snprintf(j->out[si].msg, sizeof j->out[si].msg, "%s", msg);
    s->restore_pending = true;
    (void)n1door_persist(d, j->store_err, sizeof j->store_err);
    n1door_add_restore(j, si, false); /* the decision is the last step: appending runs it next */
}

static void held_decide(struct nix1_door *d, struct n1door_job *j, size_t si)
{
    struct n1door_js *x = &j->js[si];
    struct nix1_door_outcome *o = &j->out[si];
    struct nix1_door_slave *s = n1door_slave(d, &o->addr, false);
    if (!s || !s->held || s->in_emergency)
        return;
    char m[sizeof o->msg];
    if (!x->rb_has_cron) {
        held_release(d, j, si, "held by an earlier run but without a cron now: schedule restored");
        return;
    }
    if (strcmp(x->rb_cron, NIX1_DOOR_OPEN_CRON) == 0 && !s->held_until_us) {
        o->held = NIX1_HELD_KEPT;
        snprintf(o->msg, sizeof o->msg, "held open by an earlier run: kept");
        return;
    }
    if (s->held_until_us) { /* the window is known: its end decides (the caller releases or continues it) */
        o->held = NIX1_HELD_WINDOW;
        o->until_us = s->held_until_us;
        snprintf(o->msg, sizeof o->msg, "timed open of an earlier run (%.60s): released when it ends", x->rb_cron);
        return;
    }
    struct cron cr;
    if (cron_parse_str(x->rb_cron, &cr, NULL, 0) < 0 || popcount64(cr.dom) != 1 || popcount64(cr.month) != 1 ||
        cr.dow != 0x7f) {
        o->held = NIX1_HELD_FOREIGN;
        snprintf(o->msg, sizeof o->msg, "held by an earlier run, but its cron \"%.60s\" is neither a hold nor a "
                 "timed-open window: left as it is", x->rb_cron);
        return;
    }
    time_t now = (time_t)x->slave_ts;
    time_t end = cron_match(&cr, now, x->tz) ? cron_next_change(&cr, now, x->tz, 2 * 86400) : 0;
    if (end > now) {
        o->held = NIX1_HELD_WINDOW;
        o->until_us = x->host_us + ((int64_t)end - x->slave_ts) * 1000000;
        s->held_until_us = s->want_until_us = o->until_us;
        snprintf(o->msg, sizeof o->msg, "timed open of an earlier run still running (%.60s): released when it ends",
                 x->rb_cron);
        return;
    }
    snprintf(m, sizeof m, "timed open of an earlier run has ended (%.60s): schedule restored", x->rb_cron);
    held_release(d, j, si, m);
}

/* ---- finishing ---- */

static void finish_slave(struct nix1_door *d, struct n1door_job *j, size_t i)
{
    struct nix1_door_outcome *o = &j->out[i];
    struct n1door_js *x = &j->js[i];
    struct nix1_door_slave *s = n1door_slave(d, &o->addr, false);
    if (!s)
        return;
    switch (j->op) {
    case OP_SNAPSHOT:
        if (o->ok && x->snapped && !x->open_profile && !s->held && !s->in_emergency && !s->restore_pending)
            take_snapshot(j, i, s);
        break;
    case OP_LOCK:
        if (o->ok && !s->in_emergency)
            s->lock[j->lock_probe - 1] = j->lock_on;
        break;
    case OP_HOLD_ON:
    case OP_TIMED:
        if (o->ok || !x->intended)
            break;
        if (!x->confirmed && !x->uncertain) {
            *s = x->before; /* the slave refused it: nothing changed there */
        } else if (x->uncertain) {
            s->restore_pending = true; /* what took is undone when it answers */
            n1door_await_add(d, &o->addr);
        }
        break;
    case OP_RELEASE:
    case OP_EMERG_OFF:
    case OP_RESTORE:
    case OP_CHECK_HELD:
        if (x->unknown) {
            s->in_emergency = false;
            s->restore_pending = false;
        } else if (!x->restoring) {
            break;
        } else if (o->ok) {
            s->in_emergency = false;
            s->restore_pending = false;
            s->restore_locked = false;
            if (!x->t_hold) {
                s->held = false;
                s->held_until_us = s->want_until_us = 0;
            }
        } else if (o->unreachable) {
            n1door_await_add(d, &o->addr); /* stays pending */
        } else if (j->op == OP_RELEASE || j->op == OP_CHECK_HELD) {
            s->restore_pending = false; /* it answered and refused: the operator sees why */
        }
        break;
    default:
        break;
    }
}

static void finish_job(struct nix1_door *d)
{
    struct n1door_job *j = d->job;
    struct nix1_door_report rep = { .op = j->name, .n = j->n, .v = j->out };
    for (size_t i = 0; i < j->n; i++) {
        finish_slave(d, j, i);
        const struct nix1_door_outcome *o = &j->out[i];
        if (o->ok)
            rep.ok++;
        else if (o->unreachable)
            rep.unreachable++;
        else
            rep.failed++;
    }
    char err[200];
    if (n1door_persist(d, err, sizeof err) < 0 && !j->store_failed) {
        j->store_failed = true;
        snprintf(j->store_err, sizeof j->store_err, "%s", err);
    }
    rep.store_error = j->store_failed ? j->store_err : NULL;
    rep.elapsed_us = loop_now_us(nix1_bus_loop(d->bus)) - j->start_us;
    d->job = NULL;
    if (j->cb)
        j->cb(j->arg, &rep);
    n1door_job_free(j);
    if (d->recheck && !d->job) {
        d->recheck = false;
        nix1_door_restore_pending(d, NULL, NULL);
    }
}

/* ---- answers ---- */

static void on_step(nix1_bus_t *bus, const struct nix1_result *r, void *arg)
{
    struct nix1_door *d = arg;
    (void)bus;
    struct n1door_job *j = d->job;
    if (!j)
        return;
    struct n1door_step st = j->steps[j->pos++];
    if (st.si == SIZE_MAX) {
        run(d);
        return;
    }
    struct n1door_js *x = &j->js[st.si];
    struct nix1_door_slave *t = &x->snap;
    bool reply = r->status == NIX1_ST_REPLY;
    bool ok = reply && r->rc == NIX1_RC_OK;
    const char *p = r->payload ? r->payload : "";
    uint64_t m = 0;
    switch (st.tag) {
    case T_SNAP_QH:
    case T_RB_QH:
    case T_HELD_QH: {
        bool *hc = st.tag == T_SNAP_QH ? &t->has_cron : &x->rb_has_cron;
        char *c = st.tag == T_SNAP_QH ? t->cron : x->rb_cron;
        if (reply && r->rc == NIX1_RC_ERROR_SYNTAX) { /* no cron set */
            *hc = false;
            c[0] = 0;
        } else if (ok && r->payload_len <= CRON_TEXT_MAX) {
            *hc = true;
            snprintf(c, CRON_TEXT_MAX + 1, "%s", p);
        } else {
            outcome_fail(j, st.si, r, &st);
        }
        break;
    }
    case T_SNAP_QO:
    case T_RB_QO:
        if (ok && nix1_parse_uint(p, r->payload_len, 3, &m))
            *(st.tag == T_SNAP_QO ? &t->cron_mode : &x->rb_mode) = (uint8_t)m;
        else
            outcome_fail(j, st.si, r, &st);
        break;
    case T_SNAP_QL1:
    case T_SNAP_QL2:
    case T_RB_QL1:
    case T_RB_QL2: {
        bool *l = st.tag == T_SNAP_QL1 ? &t->lock[0] : st.tag == T_SNAP_QL2 ? &t->lock[1]
                  : st.tag == T_RB_QL1 ? &x->rb_lock[0] : &x->rb_lock[1];
        if (!(ok && parse_bit(p, l)))
            outcome_fail(j, st.si, r, &st);
        if (st.tag == T_SNAP_QL2 && !x->snap_failed && j->out[st.si].ok && open_profile(t)) {
            x->open_profile = j->out[st.si].open_profile = true;
            snprintf(j->out[st.si].msg, sizeof j->out[st.si].msg, "shows cron \"* * * * *\" in mode 1, which portier "
                     "did not set: not taken as the state to go back to");
            if (j->op == OP_SNAPSHOT)
                j->out[st.si].ok = false;
        }
        break;
    }
    case T_CLOCK:
        if (parse_clock(r, x))
            timed_window(j, st.si);
        else
            outcome_fail(j, st.si, r, &st);
        break;
    case T_HELD_QT:
        if (!parse_clock(r, x))
            outcome_fail(j, st.si, r, &st);
        break;
    case T_SET:
        if (ok)
            x->confirmed = true;
        else
            outcome_fail(j, st.si, r, &st);
        break;
    case T_VER_QL1:
    case T_VER_QL2: {
        bool locked = true;
        if (!ok || !parse_bit(p, &locked)) {
            if (!reply) {
                outcome_fail(j, st.si, r, &st);
                break;
            }
        }
        if (locked) {
            j->out[st.si].resent++;
            add_step_at(j, j->pos, st.si, 'N', 'l', st.tag == T_VER_QL1 ? "1\t0" : "2\t0", T_SET);
        }
        break;
    }
    case T_VER_QH:
        if (!reply) {
            outcome_fail(j, st.si, r, &st);
        } else if (!(ok && strcmp(p, NIX1_DOOR_OPEN_CRON) == 0)) {
            j->out[st.si].resent++;
            add_step_at(j, j->pos, st.si, 'N', 'h', NIX1_DOOR_OPEN_CRON, T_SET);
        }
        break;
    case T_VER_QO:
        if (!reply) {
            outcome_fail(j, st.si, r, &st);
        } else if (!(ok && strcmp(p, "1") == 0)) {
            j->out[st.si].resent++;
            add_step_at(j, j->pos, st.si, 'N', 'o', "1", T_SET);
        }
        break;
    case T_BCAST:
    case T_INTENT:
    case T_RB_CHECK:
    case T_HELD_DECIDE:
        break;
    }
    run(d);
}

static bool skip(const struct n1door_job *j, const struct n1door_step *st)
{
    if (st->si == SIZE_MAX)
        return false;
    if (!j->out[st->si].ok)
        return true; /* this slave already failed: skip the rest of its steps */
    return is_snap(st->tag) && j->js[st->si].snap_failed;
}

static void run(struct nix1_door *d)
{
    struct n1door_job *j = d->job;
    while (j->pos < j->nsteps) {
        struct n1door_step *st = &j->steps[j->pos];
        if (skip(j, st)) {
            j->pos++;
            continue;
        }
        size_t si = st->si;
        switch (st->tag) {
        case T_INTENT:
            j->pos++;
            intent(d, j);
            continue;
        case T_RB_CHECK:
            j->pos++;
            rb_check(d, j, si);
            continue;
        case T_HELD_DECIDE:
            j->pos++;
            held_decide(d, j, si);
            continue;
        default:
            break;
        }
        struct nix1_request_spec rq = { .cmd = st->cmd, .arg = st->arg, .opt = st->opt, .prio = NIX1_PRIO_OPERATOR };
        rq.addr = si == SIZE_MAX ? nix1_addr_broadcast : j->out[si].addr;
        long id = nix1_bus_submit(d->bus, &rq, on_step, d);
        if (id > 0)
            return;
        if (si != SIZE_MAX) {
            struct nix1_result fake = { .status = NIX1_ST_REPLY, .rc = (uint8_t)-id };
            outcome_fail(j, si, &fake, st);
        }
        j->pos++;
    }
    finish_job(d);
}
