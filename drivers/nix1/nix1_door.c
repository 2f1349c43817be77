#include "drivers/nix1/nix1_door.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/nix1/nix1_line.h"
#include "drivers/nix1/nix1_rc.h"

enum tag {
    T_BCAST,
    T_SNAP_QH, T_SNAP_QO, T_SNAP_QL1, T_SNAP_QL2,
    T_SET,
    T_VER_QL1, T_VER_QL2, T_VER_QH, T_VER_QO,
};

enum op { OP_SNAPSHOT, OP_LOCK, OP_HOLD_ON, OP_RELEASE, OP_TIMED, OP_EMERG_ON, OP_EMERG_OFF, OP_RESTORE };

struct step {
    size_t si; /* index into job outcomes, SIZE_MAX for broadcasts */
    char cmd, arg;
    char opt[CRON_TEXT_MAX + 8];
    enum tag tag;
};

struct job {
    enum op op;
    const char *name;
    struct step *steps;
    size_t nsteps, cap, pos;
    struct nix1_door_outcome *out;
    struct nix1_door_slave *tmp; /* snapshots taken by this job */
    bool *snapped;
    size_t n;
    nix1_door_cb cb;
    void *arg;
    uint64_t start_us;
    unsigned lock_probe;
    bool lock_on;
};

struct nix1_door {
    nix1_bus_t *bus;
    struct nix1_door_slave *v;
    size_t n, cap;
    bool emergency;
    struct job *job;
    bool recheck;
    struct nix1_bus_listener lis;
    bool unlistened; /* nix1_door_unlisten: the bus may be freed before the door */
    /* Slaves a restore found unreachable. The bus reports "online" only after it called a slave offline
     * (2 failed transactions); one that answers again before that never changes state, so the first
     * reply heard from one of these restores it. */
    nix1_addr_t *await;
    size_t nawait, capawait;
};

static void await_add(struct nix1_door *d, const nix1_addr_t *a)
{
    for (size_t i = 0; i < d->nawait; i++)
        if (nix1_addr_equal(&d->await[i], a))
            return;
    if (d->nawait == d->capawait) {
        size_t nc = d->capawait ? d->capawait * 2 : 8;
        nix1_addr_t *nv = realloc(d->await, nc * sizeof *nv);
        if (!nv)
            return; /* the online transition still restores it */
        d->await = nv;
        d->capawait = nc;
    }
    d->await[d->nawait++] = *a;
}

static bool await_take(struct nix1_door *d, const nix1_addr_t *a)
{
    for (size_t i = 0; i < d->nawait; i++)
        if (nix1_addr_equal(&d->await[i], a)) {
            d->await[i] = d->await[--d->nawait];
            return true;
        }
    return false;
}

static void run(struct nix1_door *d);

/* ---- remembered slaves ---- */

struct nix1_door_slave *nix1_door_slave(struct nix1_door *d, const nix1_addr_t *a, bool create)
{
    for (size_t i = 0; i < d->n; i++)
        if (nix1_addr_equal(&d->v[i].addr, a))
            return &d->v[i];
    if (!create || nix1_addr_is_broadcast(a) || nix1_addr_is_scratch(a))
        return NULL;
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 16;
        struct nix1_door_slave *nv = realloc(d->v, nc * sizeof *nv);
        if (!nv)
            return NULL;
        d->v = nv;
        d->cap = nc;
    }
    struct nix1_door_slave *s = &d->v[d->n++];
    memset(s, 0, sizeof *s);
    s->addr = *a;
    return s;
}

size_t nix1_door_count(const struct nix1_door *d) { return d->n; }
const struct nix1_door_slave *nix1_door_at(const struct nix1_door *d, size_t i) { return i < d->n ? &d->v[i] : NULL; }
bool nix1_door_emergency_active(const struct nix1_door *d) { return d->emergency; }
bool nix1_door_busy(const struct nix1_door *d) { return d->job != NULL; }

char *nix1_door_save(const struct nix1_door *d, size_t *len)
{
    size_t cap = 64 + d->n * (CRON_TEXT_MAX + 80);
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    size_t k = (size_t)snprintf(buf, cap, "emergency\t%d\n", d->emergency ? 1 : 0);
    for (size_t i = 0; i < d->n; i++) {
        const struct nix1_door_slave *s = &d->v[i];
        char a[NIX1_ADDR_LEN + 1];
        k += (size_t)snprintf(buf + k, cap - k, "slave\t%s\t%d\t%d\t%u\t%d\t%d\t%d\t%d\t%d\t%s\n",
                              nix1_addr_format(&s->addr, a), s->known, s->has_cron, s->cron_mode, s->lock[0],
                              s->lock[1], s->held, s->in_emergency, s->restore_pending, s->has_cron ? s->cron : "");
    }
    *len = k;
    return buf;
}

int nix1_door_load(struct nix1_door *d, const char *text, size_t len)
{
    int rc = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *ln = text + pos;
        const char *nl = memchr(ln, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - ln) : len - pos;
        pos += l + 1;
        struct nix1_span f[12];
        size_t nf = nix1_fields_split(ln, l, f, 11);
        if (nf == 2 && f[0].len == 9 && memcmp(f[0].p, "emergency", 9) == 0) {
            d->emergency = f[1].len == 1 && f[1].p[0] == '1';
            continue;
        }
        nix1_addr_t a;
        if (nf != 11 || f[0].len != 5 || memcmp(f[0].p, "slave", 5) != 0 || nix1_addr_parse(f[1].p, f[1].len, &a) < 0 ||
            f[10].len > CRON_TEXT_MAX) {
            if (l)
                rc = -1;
            continue;
        }
        uint64_t v[8];
        bool ok = true;
        for (int i = 0; i < 8; i++)
            ok = ok && nix1_parse_uint(f[2 + i].p, f[2 + i].len, i == 2 ? 3 : 1, &v[i]);
        if (!ok) {
            rc = -1;
            continue;
        }
        struct nix1_door_slave *s = nix1_door_slave(d, &a, true);
        if (!s)
            return -1;
        s->known = v[0];
        s->has_cron = v[1];
        s->cron_mode = (uint8_t)v[2];
        s->lock[0] = v[3];
        s->lock[1] = v[4];
        s->held = v[5];
        s->in_emergency = v[6];
        s->restore_pending = v[7];
        memcpy(s->cron, f[10].p, f[10].len);
        s->cron[f[10].len] = 0;
    }
    return rc;
}

/* ---- jobs ---- */

static struct job *job_new(struct nix1_door *d, enum op op, const char *name, const nix1_addr_t *v, size_t n,
                           nix1_door_cb cb, void *arg)
{
    if (d->job || n == 0)
        return NULL;
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->out = calloc(n, sizeof *j->out);
    j->tmp = calloc(n, sizeof *j->tmp);
    j->snapped = calloc(n, sizeof *j->snapped);
    if (!j->out || !j->tmp || !j->snapped) {
        free(j->out);
        free(j->tmp);
        free(j->snapped);
        free(j);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        j->out[i].addr = v[i];
        j->out[i].ok = true;
        j->tmp[i].addr = v[i];
    }
    j->n = n;
    j->op = op;
    j->name = name;
    j->cb = cb;
    j->arg = arg;
    j->start_us = loop_now_us(nix1_bus_loop(d->bus));
    return j;
}

static void add_step_at(struct job *j, size_t at, size_t si, char cmd, char arg, const char *opt, enum tag tag)
{
    if (j->nsteps == j->cap) {
        size_t nc = j->cap ? j->cap * 2 : 32;
        struct step *ns = realloc(j->steps, nc * sizeof *ns);
        if (!ns)
            return;
        j->steps = ns;
        j->cap = nc;
    }
    memmove(&j->steps[at + 1], &j->steps[at], (j->nsteps - at) * sizeof *j->steps);
    struct step *s = &j->steps[at];
    s->si = si;
    s->cmd = cmd;
    s->arg = arg;
    snprintf(s->opt, sizeof s->opt, "%s", opt ? opt : "");
    s->tag = tag;
    j->nsteps++;
}

static void add_step(struct job *j, size_t si, char cmd, char arg, const char *opt, enum tag tag)
{
    add_step_at(j, j->nsteps, si, cmd, arg, opt, tag);
}

static void add_snapshot(struct job *j, size_t si)
{
    j->snapped[si] = true;
    add_step(j, si, 'Q', 'h', NULL, T_SNAP_QH);
    add_step(j, si, 'Q', 'o', NULL, T_SNAP_QO);
    add_step(j, si, 'Q', 'l', "1", T_SNAP_QL1);
    add_step(j, si, 'Q', 'l', "2", T_SNAP_QL2);
}

static void add_restore_cron(struct job *j, size_t si, const struct nix1_door_slave *s)
{
    if (s->has_cron)
        add_step(j, si, 'N', 'h', s->cron, T_SET);
    else
        add_step(j, si, 'D', 'h', NULL, T_SET);
    char m[4];
    snprintf(m, sizeof m, "%u", s->cron_mode);
    add_step(j, si, 'N', 'o', m, T_SET);
}

static void add_restore_all(struct job *j, size_t si, const struct nix1_door_slave *s)
{
    add_restore_cron(j, si, s);
    add_step(j, si, 'N', 'l', s->lock[0] ? "1\t1" : "1\t0", T_SET);
    add_step(j, si, 'N', 'l', s->lock[1] ? "2\t1" : "2\t0", T_SET);
}

static void outcome_fail(struct job *j, size_t si, const struct nix1_result *r, const struct step *st)
{
    struct nix1_door_outcome *o = &j->out[si];
    if (j->op == OP_EMERG_ON && st->tag >= T_SNAP_QH && st->tag <= T_SNAP_QL2) {
        /* Unreadable before the emergency: it still gets the broadcast and the verification. */
        j->snapped[si] = false;
        return;
    }
    if (!o->ok)
        return;
    o->ok = false;
    if (r->status == NIX1_ST_TIMEOUT || r->status == NIX1_ST_IO || r->status == NIX1_ST_BUSY) {
        o->unreachable = true;
        snprintf(o->msg, sizeof o->msg, "%c%c: %s", st->cmd, st->arg, r->error ? r->error : nix1_status_str(r->status));
    } else {
        o->rc = r->rc;
        snprintf(o->msg, sizeof o->msg, "%c%c: %02X %s (%s)", st->cmd, st->arg, r->rc, nix1_rc_name(r->rc),
                 nix1_rc_meaning(r->rc));
    }
}

static void finish_job(struct nix1_door *d)
{
    struct job *j = d->job;
    struct nix1_door_report rep = { .op = j->name, .n = j->n, .v = j->out };
    for (size_t i = 0; i < j->n; i++) {
        struct nix1_door_outcome *o = &j->out[i];
        struct nix1_door_slave *s = nix1_door_slave(d, &o->addr, true);
        if (!s)
            continue;
        bool snap_ok = j->snapped[i] && (o->ok || j->op == OP_EMERG_ON);
        switch (j->op) {
        case OP_SNAPSHOT:
            if (snap_ok) {
                bool held = s->held, emerg = s->in_emergency, pend = s->restore_pending;
                *s = j->tmp[i];
                s->known = true;
                s->held = held;
                s->in_emergency = emerg;
                s->restore_pending = pend;
            }
            break;
        case OP_LOCK:
            if (o->ok && !s->in_emergency)
                s->lock[j->lock_probe - 1] = j->lock_on;
            break;
        case OP_HOLD_ON:
        case OP_TIMED:
            if (snap_ok) {
                *s = j->tmp[i];
                s->known = true;
            }
            if (o->ok)
                s->held = true;
            break;
        case OP_RELEASE:
            if (o->ok) {
                s->held = false;
                s->restore_pending = false;
            } else if (o->unreachable) {
                s->restore_pending = true;
                await_add(d, &o->addr);
            }
            break;
        case OP_EMERG_ON:
            if (snap_ok) {
                bool pend = s->restore_pending;
                *s = j->tmp[i];
                s->known = true;
                s->restore_pending = pend;
            }
            s->in_emergency = true;
            break;
        case OP_EMERG_OFF:
        case OP_RESTORE:
            if (o->ok) {
                s->in_emergency = false;
                s->held = false;
                s->restore_pending = false;
            } else if (o->unreachable) {
                s->restore_pending = true;
                await_add(d, &o->addr);
            }
            break;
        }
        if (o->ok)
            rep.ok++;
        else if (o->unreachable)
            rep.unreachable++;
        else
            rep.failed++;
    }
    if (j->op == OP_EMERG_ON)
        d->emergency = true;
    if (j->op == OP_EMERG_OFF)
        d->emergency = false;
    rep.elapsed_us = loop_now_us(nix1_bus_loop(d->bus)) - j->start_us;
    d->job = NULL;
    if (j->cb)
        j->cb(j->arg, &rep);
    free(j->steps);
    free(j->out);
    free(j->tmp);
    free(j->snapped);
    free(j);
    if (d->recheck && !d->job) {
        d->recheck = false;
        nix1_door_restore_pending(d, NULL, NULL);
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

static void on_step(nix1_bus_t *bus, const struct nix1_result *r, void *arg)
{
    struct nix1_door *d = arg;
    (void)bus;
    struct job *j = d->job;
    if (!j)
        return;
    struct step st = j->steps[j->pos++];
    if (st.si == SIZE_MAX) {
        run(d);
        return;
    }
    struct nix1_door_slave *t = &j->tmp[st.si];
    bool reply = r->status == NIX1_ST_REPLY;
    bool ok = reply && r->rc == NIX1_RC_OK;
    switch (st.tag) {
    case T_SNAP_QH:
        if (reply && r->rc == NIX1_RC_ERROR_SYNTAX) { /* no cron set */
            t->has_cron = false;
            t->cron[0] = 0;
        } else if (ok && r->payload_len <= CRON_TEXT_MAX) {
            t->has_cron = true;
            snprintf(t->cron, sizeof t->cron, "%s", r->payload);
        } else {
            outcome_fail(j, st.si, r, &st);
        }
        break;
    case T_SNAP_QO: {
        uint64_t m = 0;
        if (ok && nix1_parse_uint(r->payload, r->payload_len, 3, &m))
            t->cron_mode = (uint8_t)m;
        else
            outcome_fail(j, st.si, r, &st);
        break;
    }
    case T_SNAP_QL1:
    case T_SNAP_QL2:
        if (!(ok && parse_bit(r->payload, &t->lock[st.tag == T_SNAP_QL2])))
            outcome_fail(j, st.si, r, &st);
        break;
    case T_SET:
        if (!ok)
            outcome_fail(j, st.si, r, &st);
        break;
    case T_VER_QL1:
    case T_VER_QL2: {
        bool locked = true;
        if (!ok || !parse_bit(r->payload, &locked)) {
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
        } else if (!(ok && strcmp(r->payload, NIX1_DOOR_OPEN_CRON) == 0)) {
            j->out[st.si].resent++;
            add_step_at(j, j->pos, st.si, 'N', 'h', NIX1_DOOR_OPEN_CRON, T_SET);
        }
        break;
    case T_VER_QO:
        if (!reply) {
            outcome_fail(j, st.si, r, &st);
        } else if (!(ok && strcmp(r->payload, "1") == 0)) {
            j->out[st.si].resent++;
            add_step_at(j, j->pos, st.si, 'N', 'o', "1", T_SET);
        }
        break;
    case T_BCAST:
        break;
    }
    run(d);
}

static void run(struct nix1_door *d)
{
    struct job *j = d->job;
    while (j->pos < j->nsteps) {
        struct step *st = &j->steps[j->pos];
        bool snap = st->tag >= T_SNAP_QH && st->tag <= T_SNAP_QL2;
        if (st->si != SIZE_MAX && (!j->out[st->si].ok || (snap && j->op == OP_EMERG_ON && !j->snapped[st->si]))) {
            j->pos++; /* this slave already failed: skip the rest of its steps */
            continue;
        }
        struct nix1_request_spec rq = { .cmd = st->cmd, .arg = st->arg, .opt = st->opt, .prio = NIX1_PRIO_OPERATOR };
        rq.addr = st->si == SIZE_MAX ? nix1_addr_broadcast : j->out[st->si].addr;
        long id = nix1_bus_submit(d->bus, &rq, on_step, d);
        if (id > 0)
            return;
        if (st->si != SIZE_MAX) {
            struct nix1_result fake = { .status = NIX1_ST_REPLY, .rc = (uint8_t)-id };
            outcome_fail(j, st->si, &fake, st);
        }
        j->pos++;
    }
    finish_job(d);
}

static int start(struct nix1_door *d, struct job *j)
{
    d->job = j;
    run(d);
    return 0;
}

/* ---- operations ---- */

int nix1_door_snapshot(struct nix1_door *d, const nix1_addr_t *v, size_t n, nix1_door_cb cb, void *arg)
{
    struct job *j = job_new(d, OP_SNAPSHOT, "snapshot", v, n, cb, arg);
    if (!j)
        return -1;
    for (size_t i = 0; i < n; i++)
        add_snapshot(j, i);
    return start(d, j);
}

int nix1_door_lock(struct nix1_door *d, const nix1_addr_t *a, unsigned probe, bool locked, nix1_door_cb cb,
                   void *arg)
{
    if (probe < 1 || probe > 2)
        return -1;
    struct job *j = job_new(d, OP_LOCK, locked ? "lock out" : "lock release", a, 1, cb, arg);
    if (!j)
        return -1;
    j->lock_probe = probe;
    j->lock_on = locked;
    char opt[8];
    snprintf(opt, sizeof opt, "%u\t%d", probe, locked ? 1 : 0);
    add_step(j, 0, 'N', 'l', opt, T_SET);
    return start(d, j);
}

int nix1_door_hold(struct nix1_door *d, const nix1_addr_t *a, bool on, nix1_door_cb cb, void *arg)
{
    struct nix1_door_slave *s = nix1_door_slave(d, a, true);
    if (!s)
        return -1;
    struct job *j = job_new(d, on ? OP_HOLD_ON : OP_RELEASE, on ? "hold open" : "release", a, 1, cb, arg);
    if (!j)
        return -1;
    if (on) {
        if (!s->held && !s->in_emergency)
            add_snapshot(j, 0);
        add_step(j, 0, 'N', 'h', NIX1_DOOR_OPEN_CRON, T_SET);
        add_step(j, 0, 'N', 'o', "1", T_SET);
    } else {
        if (!s->known) {
            j->out[0].ok = false;
            snprintf(j->out[0].msg, sizeof j->out[0].msg, "nothing remembered to restore (was it held by us?)");
        } else if (s->in_emergency) {
            j->out[0].ok = false;
            snprintf(j->out[0].msg, sizeof j->out[0].msg, "an emergency is active: end it first");
        } else {
            add_restore_cron(j, 0, s);
        }
    }
    return start(d, j);
}

int nix1_door_timed_open(struct nix1_door *d, const nix1_addr_t *a, unsigned minutes, time_t now, int tz_minutes,
                         time_t *until, nix1_door_cb cb, void *arg)
{
    char cron[CRON_TEXT_MAX + 1];
    time_t seg_end = 0;
    if (minutes == 0 || cron_window(cron, sizeof cron, now, minutes, tz_minutes, &seg_end) < 0)
        return -1;
    struct nix1_door_slave *s = nix1_door_slave(d, a, true);
    if (!s)
        return -1;
    struct job *j = job_new(d, OP_TIMED, "timed open", a, 1, cb, arg);
    if (!j)
        return -1;
    if (!s->held && !s->in_emergency)
        add_snapshot(j, 0);
    add_step(j, 0, 'N', 'h', cron, T_SET);
    add_step(j, 0, 'N', 'o', "1", T_SET);
    if (until)
        *until = seg_end;
    return start(d, j);
}

int nix1_door_emergency(struct nix1_door *d, bool on, nix1_door_cb cb, void *arg)
{
    if (d->n == 0 || d->job)
        return -1;
    nix1_addr_t *v = malloc(d->n * sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < d->n; i++)
        v[i] = d->v[i].addr;
    struct job *j = job_new(d, on ? OP_EMERG_ON : OP_EMERG_OFF, on ? "emergency on" : "emergency off", v, d->n, cb, arg);
    free(v);
    if (!j)
        return -1;
    if (on) {
        /* Slaves whose state is not remembered yet are read first (callers refresh the others with
         * nix1_door_snapshot beforehand when they can afford the time). */
        for (size_t i = 0; i < j->n; i++)
            if (!d->emergency && !d->v[i].known && !d->v[i].held && !d->v[i].in_emergency)
                add_snapshot(j, i);
        /* A slave that cannot be read still gets the broadcast and is verified below. */
        add_step(j, SIZE_MAX, 'N', 'l', "1\t0", T_BCAST);
        add_step(j, SIZE_MAX, 'N', 'l', "2\t0", T_BCAST);
        add_step(j, SIZE_MAX, 'N', 'h', NIX1_DOOR_OPEN_CRON, T_BCAST);
        add_step(j, SIZE_MAX, 'N', 'o', "1", T_BCAST);
        for (size_t i = 0; i < j->n; i++) {
            add_step(j, i, 'Q', 'l', "1", T_VER_QL1);
            add_step(j, i, 'Q', 'l', "2", T_VER_QL2);
            add_step(j, i, 'Q', 'h', NULL, T_VER_QH);
            add_step(j, i, 'Q', 'o', NULL, T_VER_QO);
        }
        return start(d, j);
    }
    for (size_t i = 0; i < j->n; i++) {
        const struct nix1_door_slave *s = &d->v[i];
        if (!s->known) {
            j->out[i].ok = false;
            snprintf(j->out[i].msg, sizeof j->out[i].msg, "previous state unknown: cannot restore");
            continue;
        }
        add_restore_all(j, i, s);
    }
    return start(d, j);
}

int nix1_door_restore_pending(struct nix1_door *d, nix1_door_cb cb, void *arg)
{
    if (d->job) {
        d->recheck = true;
        return -1;
    }
    size_t n = 0;
    nix1_addr_t *v = malloc((d->n ? d->n : 1) * sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].restore_pending && d->v[i].known)
            v[n++] = d->v[i].addr;
    struct job *j = n ? job_new(d, OP_RESTORE, "restore", v, n, cb, arg) : NULL;
    free(v);
    if (!j)
        return -1;
    for (size_t i = 0; i < j->n; i++) {
        const struct nix1_door_slave *s = nix1_door_slave(d, &j->out[i].addr, false);
        if (s->in_emergency)
            add_restore_all(j, i, s);
        else
            add_restore_cron(j, i, s);
    }
    return start(d, j);
}

static void on_slave_state(void *arg, const nix1_addr_t *a, enum nix1_slave_state st)
{
    struct nix1_door *d = arg;
    if (st != NIX1_SLAVE_ONLINE)
        return;
    struct nix1_door_slave *s = nix1_door_slave(d, a, false);
    if (s && s->restore_pending)
        nix1_door_restore_pending(d, NULL, NULL);
}

/* Every line on the bus: a valid reply from a slave whose restore found it unreachable restores it. */
static void on_line(void *arg, bool tx, const char *line, size_t len)
{
    struct nix1_door *d = arg;
    struct nix1_reply rep;
    if (tx || d->nawait == 0 || nix1_reply_parse(line, len, &rep) != NIX1_REP_OK || rep.rc == NIX1_RC_NAK)
        return;
    struct nix1_door_slave *s = nix1_door_slave(d, &rep.addr, false);
    if (await_take(d, &rep.addr) && s && s->restore_pending)
        nix1_door_restore_pending(d, NULL, NULL); /* busy: runs when the current job ends */
}

struct nix1_door *nix1_door_new(nix1_bus_t *bus)
{
    struct nix1_door *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->bus = bus;
    d->lis.slave_state = on_slave_state;
    d->lis.trace = on_line;
    d->lis.arg = d;
    nix1_bus_add_listener(bus, &d->lis);
    return d;
}

/* ---- teardown under a busy door ---- */

void nix1_door_unlisten(struct nix1_door *d)
{
    if (d && !d->unlistened) {
        nix1_bus_remove_listener(d->bus, &d->lis);
        d->unlistened = true;
    }
}

void nix1_door_free(struct nix1_door *d)
{
    if (!d)
        return;
    if (!d->unlistened)
        nix1_bus_remove_listener(d->bus, &d->lis);
    if (d->job) {
        free(d->job->steps);
        free(d->job->out);
        free(d->job->tmp);
        free(d->job->snapped);
        free(d->job);
    }
    free(d->await);
    free(d->v);
    free(d);
}
