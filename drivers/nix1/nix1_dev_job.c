/* nix1_dev_job: the NiX1 adapter's job engine: one job at a time from a queue (emergencies first), each a list of
 * steps that are nix1_door operations or runs of requests, results reported per output. */
#include "drivers/nix1/nix1_dev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- jobs ---- */

struct n1_job *n1dev_job_new(struct n1dev *c, enum n1_job_kind kind, const struct device_cmd *cmd, size_t n)
{
    struct n1_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    size_t m = n ? n : 1;
    struct n1_results *r = &j->r;
    r->outs = calloc(m, sizeof *r->outs);
    r->slave_of = calloc(m, sizeof *r->slave_of);
    r->probe_of = calloc(m, sizeof *r->probe_of);
    r->failed = calloc(m, sizeof *r->failed);
    r->res = calloc(m, sizeof *r->res);
    r->msg = calloc(m, sizeof *r->msg);
    if (!r->outs || !r->slave_of || !r->probe_of || !r->failed || !r->res || !r->msg) {
        n1dev_job_free(j);
        return NULL;
    }
    j->c = c;
    j->kind = kind;
    r->n = n;
    if (cmd) {
        j->op = cmd->op;
        j->restore = cmd->restore;
        j->result = cmd->result;
        j->done = cmd->done;
        j->ctx = cmd->ctx;
    }
    return j;
}

void n1dev_job_free(struct n1_job *j)
{
    for (size_t i = 0; i < j->nsteps; i++)
        if (j->steps[i].kind == N1_CHECK_HELD && j->c && j->steps[i].slave < j->c->n)
            j->c->slaves[j->steps[i].slave].check_queued = false;
        else if (j->steps[i].kind == N1_SNAPSHOT && j->c)
            for (size_t k = 0; k < j->c->n; k++)
                if (j->steps[i].slave == SIZE_MAX || j->steps[i].slave == k)
                    j->c->slaves[k].snap_queued = false;
    switch (j->kind) {
    case N1J_GET: free(j->u.get.v); break;
    case N1J_TEXT: free(j->u.text.text); break;
    case N1J_LONG:
        free(j->u.lng.data);
        if (j->u.lng.prov)
            nix1_prov_free(j->u.lng.prov);
        break;
    default: break;
    }
    free(j->reqs);
    free(j->r.outs);
    free(j->r.slave_of);
    free(j->r.probe_of);
    free(j->r.failed);
    free(j->r.res);
    free(j->r.msg);
    free(j->steps);
    free(j);
}

void n1dev_add_step(struct n1_job *j, enum n1_step_kind kind, size_t slave, unsigned probe, bool on,
                    unsigned minutes, unsigned seconds)
{
    for (size_t i = 0; i < j->nsteps; i++) /* one step per slave and kind (a hold covers both probes) */
        if (j->steps[i].kind == kind && j->steps[i].slave == slave && j->steps[i].probe == probe)
            return;
    n1dev_push_step(j, (struct n1_step){ .kind = kind, .slave = slave, .probe = probe, .on = on,
                                         .minutes = minutes, .seconds = seconds });
}

void n1dev_push_step(struct n1_job *j, struct n1_step st)
{
    struct n1_step *ns = realloc(j->steps, (j->nsteps + 1) * sizeof *ns);
    if (!ns)
        return;
    j->steps = ns;
    j->steps[j->nsteps++] = st;
}

void n1dev_job_fail_output(struct n1_job *j, size_t k, enum device_result r, const char *msg)
{
    if (k >= j->r.n || j->r.failed[k])
        return;
    j->r.failed[k] = true;
    j->r.res[k] = r;
    event_copy(j->r.msg[k], sizeof j->r.msg[k], msg);
}

/* Fail every output of a job (and a read) with the same reason. */
void n1dev_job_fail_all(struct n1_job *j, enum device_result r, const char *why)
{
    for (size_t k = 0; k < j->r.n; k++)
        n1dev_job_fail_output(j, k, r, why);
    if ((j->kind == N1J_GET || j->kind == N1J_TEXT) && !j->rerr[0]) {
        snprintf(j->rerr, sizeof j->rerr, "%s", why);
        j->rfail = 1;
    }
}

/* Report every output (a success may carry its own message), the read settings or text, call done, free. */
void n1dev_job_finish(struct n1dev *c, struct n1_job *j)
{
    const struct n1_results *r = &j->r;
    for (size_t k = 0; k < r->n; k++)
        if (j->result)
            j->result(j->ctx, r->outs[k], r->failed[k] ? r->res[k] : DEVICE_RESULT_OK,
                      r->failed[k] || r->msg[k][0] ? r->msg[k] : r->okmsg[0] ? r->okmsg : "ok");
    if (j->kind == N1J_GET && j->u.get.got) {
        if (j->rfail > 1) {
            size_t l = strlen(j->rerr);
            snprintf(j->rerr + l, sizeof j->rerr - l, " (and %u more not read)", j->rfail - 1);
        }
        j->u.get.got(j->ctx, j->u.get.v, j->u.get.n, j->rerr[0] ? j->rerr : NULL);
    }
    if (j->kind == N1J_TEXT && j->u.text.got)
        j->u.text.got(j->ctx, j->u.text.text ? j->u.text.text : (j->rerr[0] ? NULL : ""), j->u.text.len,
                      j->rerr[0] ? j->rerr : NULL);
    if (j->done)
        j->done(j->ctx);
    n1dev_job_free(j);
    n1dev_state_save(c);
    n1dev_publish_all(c);
}

void n1dev_kick(struct n1dev *c)
{
    if (!c->dying)
        loop_timer_arm_us(c->dev->loop, &c->kick, 0);
}

void n1dev_enqueue(struct n1dev *c, struct n1_job *j)
{
    struct n1_job **pp = &c->queue;
    if (j->emergency) {
        while (*pp && (*pp)->emergency) /* emergencies first, in order */
            pp = &(*pp)->next;
    } else {
        while (*pp)
            pp = &(*pp)->next;
    }
    j->next = *pp;
    *pp = j;
    n1dev_kick(c);
}

void n1dev_fail_queue(struct n1dev *c, struct n1_job **head, const char *why)
{
    while (*head) {
        struct n1_job *j = *head;
        *head = j->next;
        n1dev_job_fail_all(j, DEVICE_RESULT_OFFLINE, why);
        n1dev_job_finish(c, j);
    }
}

/* ---- door operations ---- */

/* The outcome of a door operation → the job's outputs on the slaves it names. */
static void on_report(void *arg, const struct nix1_door_report *r)
{
    struct n1dev *c = arg;
    struct n1_job *j = c->cur;
    if (!j || j->pos >= j->nsteps)
        return;
    const struct n1_step *st = &j->steps[j->pos];
    if (st->kind == N1_CHECK_HELD)
        n1dev_held_report(c, r);
    for (size_t i = 0; i < r->n; i++) {
        const struct nix1_door_outcome *o = &r->v[i];
        ssize_t si = n1dev_slave_index(c, &o->addr);
        if (si < 0)
            continue;
        if (st->kind == N1_SNAPSHOT && o->open_profile)
            n1dev_event(c, (size_t)si, EVENT_COMMAND, EVENT_WARNING, "open profile", o->msg);
        if (o->ok) {
            if (o->resent && j->op == DEVICE_EMERGENCY_ON)
                snprintf(j->r.okmsg, sizeof j->r.okmsg, "verified (some settings re-sent by unicast)");
            if (st->kind == N1_TIMED && o->until_us) {
                char hm[16];
                time_t until = (time_t)(o->until_us / 1000000);
                struct tm ut;
                localtime_r(&until, &ut);
                strftime(hm, sizeof hm, "%H:%M", &ut);
                snprintf(j->r.okmsg, sizeof j->r.okmsg, "open until %s (the slave closes it itself)", hm);
            }
            continue;
        }
        for (size_t k = 0; k < j->r.n; k++) {
            if (j->r.slave_of[k] != (size_t)si || (st->kind == N1_LOCK && j->r.probe_of[k] != st->probe))
                continue;
            char m[N1_MSG_MAX];
            snprintf(m, sizeof m, "%s%s", o->unreachable ? "no answer: " : "", o->msg);
            n1dev_job_fail_output(j, k, o->unreachable ? DEVICE_RESULT_TIMEOUT : DEVICE_RESULT_FAILED, m);
        }
    }
    if (r->store_error && (j->op == DEVICE_EMERGENCY_ON || j->op == DEVICE_EMERGENCY_OFF))
        n1dev_event(c, SIZE_MAX, EVENT_EMERGENCY, EVENT_ALARM, "state not stored", r->store_error);
    if (st->kind == N1_TIMED && r->ok)
        n1dev_tick_soon(c);
    j->pos++;
    n1dev_kick(c);
}

/* The listed (slave, probe) pairs of a job's outputs, for a partial emergency. */
static size_t job_probes(const struct n1dev *c, const struct n1_job *j, nix1_addr_t *a, unsigned *p)
{
    size_t n = 0;
    for (size_t k = 0; k < j->r.n; k++)
        if (j->r.slave_of[k] < c->n) {
            a[n] = c->slaves[j->r.slave_of[k]].addr;
            p[n++] = j->r.probe_of[k];
        }
    return n;
}

static int door_op(struct n1dev *c, struct n1_job *j, const struct n1_step *st)
{
    struct n1_slave *s = st->slave < c->n ? &c->slaves[st->slave] : NULL;
    bool locked = j->restore == SITE_RESTORE_LOCKED;
    switch (st->kind) {
    case N1_SNAPSHOT:
        for (size_t k = 0; k < c->n; k++)
            if (!s || &c->slaves[k] == s)
                c->slaves[k].snap_queued = false;
        return nix1_door_refresh(c->door, s ? &s->addr : NULL, s ? 1 : 0, on_report, c);
    case N1_HOLD:
        if (!st->on) {
            const struct nix1_door_slave *ds = nix1_door_find(c->door, &s->addr);
            if (!ds || !ds->held)
                return 1; /* nothing held: the door is already in its normal (locked) state */
        }
        return nix1_door_hold(c->door, &s->addr, st->on, on_report, c);
    case N1_LOCK:
        return nix1_door_lock(c->door, &s->addr, st->probe, st->on, on_report, c);
    case N1_TIMED:
        return nix1_door_timed_open(c->door, &s->addr, st->minutes, st->seconds, on_report, c);
    case N1_EMERG:
        return nix1_door_emergency(c->door, st->on, locked, on_report, c);
    case N1_EPROBES: {
        nix1_addr_t *a = calloc(j->r.n ? j->r.n : 1, sizeof *a);
        unsigned *p = calloc(j->r.n ? j->r.n : 1, sizeof *p);
        int rc = a && p ? nix1_door_emergency_probes(c->door, a, p, job_probes(c, j, a, p), st->on, locked, on_report, c)
                        : -1;
        free(a);
        free(p);
        return rc;
    }
    case N1_CHECK_HELD:
        s->check_queued = false;
        return nix1_door_check_held(c->door, &s->addr, on_report, c);
    default:
        return -1;
    }
}

/* Start the job's current step. */
static enum n1_step_res step_start(struct n1dev *c, struct n1_job *j, const struct n1_step *st)
{
    switch (st->kind) {
    case N1_REQS:
        return j->inflight ? N1_STEP_WAIT : n1dev_reqs_next(c, j, st);
    case N1_XFER:
    case N1_PROV:
        return N1_STEP_NEXT; /* run beside the queue (c->lng), never as a queued step */
    default: {
        int rc = door_op(c, j, st);
        if (rc == 0)
            return N1_STEP_WAIT;
        if (rc > 0)
            return N1_STEP_NEXT;
        return nix1_door_busy(c->door) ? N1_STEP_RETRY : N1_STEP_FAIL;
    }
    }
}

static void run_current(struct n1dev *c)
{
    struct n1_job *j = c->cur;
    while (j->pos < j->nsteps) {
        const struct n1_step *st = &j->steps[j->pos];
        switch (step_start(c, j, st)) {
        case N1_STEP_WAIT:
            return; /* on_report or the request callback follows */
        case N1_STEP_RETRY:
            loop_timer_arm_ms(c->dev->loop, &c->kick, 50);
            return;
        case N1_STEP_FAIL:
            for (size_t k = 0; k < j->r.n; k++)
                if (st->slave == SIZE_MAX || j->r.slave_of[k] == st->slave)
                    n1dev_job_fail_output(j, k, DEVICE_RESULT_FAILED,
                                          "the slave's state is unknown or the request is invalid");
            break;
        case N1_STEP_NEXT:
            break;
        }
        j->pos++;
    }
    c->cur = NULL;
    n1dev_job_finish(c, j);
    n1dev_kick(c);
}

void n1dev_job_step(struct n1dev *c)
{
    if (c->dying)
        return;
    n1dev_long_step(c);
    if (c->cur) {
        run_current(c);
        return;
    }
    if (!c->queue)
        return;
    if (!c->door) {
        /* The port is not open: everything queued fails now. */
        n1dev_fail_queue(c, &c->queue, c->open_err[0] ? c->open_err : "bus not open");
        return;
    }
    c->cur = c->queue;
    c->queue = c->cur->next;
    c->cur->next = NULL;
    run_current(c);
}
