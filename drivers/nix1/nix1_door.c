/* nix1_door: remembered slaves, their state text, and the operations; the request engine is in nix1_door_job.c. */
#include "drivers/nix1/nix1_door.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "core/textline.h"
#include "drivers/nix1/nix1_door_job.h"
#include "drivers/nix1/nix1_line.h"
#include "drivers/nix1/nix1_rc.h"

/* ---- slaves waiting for a restore ---- */

void n1door_await_add(struct nix1_door *d, const nix1_addr_t *a)
{
    for (size_t i = 0; i < d->nawait; i++)
        if (nix1_addr_equal(&d->await[i], a))
            return;
    nix1_addr_t *nv = grow_array(d->await, d->nawait, &d->capawait, sizeof *nv, 8);
    if (!nv)
        return; /* the online transition still restores it */
    d->await = nv;
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

/* ---- remembered slaves ---- */

struct nix1_door_slave *n1door_slave(struct nix1_door *d, const nix1_addr_t *a, bool create)
{
    for (size_t i = 0; i < d->n; i++)
        if (nix1_addr_equal(&d->v[i].addr, a))
            return &d->v[i];
    if (!create || nix1_addr_is_broadcast(a) || nix1_addr_is_scratch(a))
        return NULL;
    struct nix1_door_slave *nv = grow_array(d->v, d->n, &d->cap, sizeof *nv, 16);
    if (!nv)
        return NULL;
    d->v = nv;
    struct nix1_door_slave *s = &d->v[d->n++];
    memset(s, 0, sizeof *s);
    s->addr = *a;
    return s;
}

int nix1_door_add(struct nix1_door *d, const nix1_addr_t *a)
{
    bool is_new = !nix1_door_find(d, a);
    struct nix1_door_slave *s = n1door_slave(d, a, true);
    if (!s)
        return -1;
    /* learned while the bus-wide emergency is on: the broadcast reached it too, its schedule before is unknown */
    if (is_new && d->emergency)
        s->in_emergency = true;
    return 0;
}

const struct nix1_door_slave *nix1_door_find(const struct nix1_door *d, const nix1_addr_t *a)
{
    for (size_t i = 0; i < d->n; i++)
        if (nix1_addr_equal(&d->v[i].addr, a))
            return &d->v[i];
    return NULL;
}

size_t nix1_door_count(const struct nix1_door *d) { return d->n; }
const struct nix1_door_slave *nix1_door_at(const struct nix1_door *d, size_t i) { return i < d->n ? &d->v[i] : NULL; }
bool nix1_door_emergency_active(const struct nix1_door *d) { return d->emergency; }
bool nix1_door_busy(const struct nix1_door *d) { return d->job != NULL; }

bool nix1_door_emergency_left(const struct nix1_door *d)
{
    if (d->emergency)
        return true;
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].in_emergency || (d->v[i].restore_pending && d->v[i].known))
            return true;
    return false;
}

void nix1_door_set_store(struct nix1_door *d, nix1_door_store_fn fn, void *arg)
{
    d->store = fn;
    d->store_arg = arg;
}

int n1door_persist(struct nix1_door *d, char *err, size_t errlen)
{
    if (!d->store)
        return 0;
    size_t len = 0;
    char *text = nix1_door_save(d, &len);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = d->store(d->store_arg, text, len, err, errlen);
    free(text);
    return rc;
}

/* ---- state text ----
 * "emergency\t<0|1>", then one line per slave:
 * "slave\t<addr>\t<known>\t<has_cron>\t<mode>\t<lock1>\t<lock2>\t<held>\t<in_emergency>\t<restore_pending>\t<cron>"
 * followed by "\t<held_until_us>\t<want_until_us>\t<restore_locked>" (lines without them are read as 0). */

char *nix1_door_save(const struct nix1_door *d, size_t *len)
{
    size_t cap = 64 + d->n * (CRON_TEXT_MAX + 120);
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    size_t k = (size_t)snprintf(buf, cap, "emergency\t%d\n", d->emergency ? 1 : 0);
    for (size_t i = 0; i < d->n; i++) {
        const struct nix1_door_slave *s = &d->v[i];
        char a[NIX1_ADDR_LEN + 1];
        k += (size_t)snprintf(buf + k, cap - k, "slave\t%s\t%d\t%d\t%u\t%d\t%d\t%d\t%d\t%d\t%s\t%lld\t%lld\t%d\n",
                              nix1_addr_format(&s->addr, a), s->known, s->has_cron, s->cron_mode, s->lock[0],
                              s->lock[1], s->held, s->in_emergency, s->restore_pending, s->has_cron ? s->cron : "",
                              (long long)s->held_until_us, (long long)s->want_until_us, s->restore_locked);
    }
    *len = k;
    return buf;
}

int nix1_door_load(struct nix1_door *d, const char *text, size_t len)
{
    int rc = 0;
    size_t pos = 0;
    const char *ln;
    size_t l;
    while (textline_next(text, len, &pos, &ln, &l)) {
        struct nix1_span f[15];
        size_t nf = nix1_fields_split(ln, l, f, 14);
        if (nf == 2 && f[0].len == 9 && memcmp(f[0].p, "emergency", 9) == 0) {
            d->emergency = f[1].len == 1 && f[1].p[0] == '1';
            continue;
        }
        nix1_addr_t a;
        if ((nf != 11 && nf != 14) || f[0].len != 5 || memcmp(f[0].p, "slave", 5) != 0 ||
            nix1_addr_parse(f[1].p, f[1].len, &a) < 0 || f[10].len > CRON_TEXT_MAX) {
            if (l)
                rc = -1;
            continue;
        }
        uint64_t v[11] = { 0 };
        bool ok = true;
        for (int i = 0; i < 8; i++)
            ok = ok && nix1_parse_uint(f[2 + i].p, f[2 + i].len, i == 2 ? 3 : 1, &v[i]);
        for (int i = 0; nf == 14 && i < 3; i++)
            ok = ok && nix1_parse_uint(f[11 + i].p, f[11 + i].len, i == 2 ? 1 : INT64_MAX, &v[8 + i]);
        if (!ok) {
            rc = -1;
            continue;
        }
        struct nix1_door_slave *s = n1door_slave(d, &a, true);
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
        s->held_until_us = (int64_t)v[8];
        s->want_until_us = (int64_t)v[9];
        s->restore_locked = v[10];
    }
    return rc;
}

/* ---- settings sent by the caller ---- */

void nix1_door_note_set(struct nix1_door *d, const nix1_addr_t *a, char cmd, char arg, const char *opt)
{
    struct nix1_door_slave *s = n1door_slave(d, a, false);
    if (!s || !s->known || s->in_emergency || !opt)
        return;
    if (cmd == 'N' && arg == 'l' && (opt[0] == '1' || opt[0] == '2') && opt[1] == '\t')
        s->lock[opt[0] - '1'] = opt[2] == '1';
    if (s->held)
        return;
    uint64_t m;
    if (cmd == 'N' && arg == 'h' && strlen(opt) <= CRON_TEXT_MAX) {
        s->has_cron = true;
        snprintf(s->cron, sizeof s->cron, "%s", opt);
    } else if (cmd == 'D' && arg == 'h') {
        s->has_cron = false;
        s->cron[0] = '\0';
    } else if (cmd == 'N' && arg == 'o' && nix1_parse_uint(opt, strlen(opt), 3, &m)) {
        s->cron_mode = (uint8_t)m;
    }
}

const char *nix1_door_guard(const struct nix1_door *d, const nix1_addr_t *a, char arg)
{
    const struct nix1_door_slave *s = nix1_door_find(d, a);
    if (!s || (arg != 'h' && arg != 'o' && arg != 'l'))
        return NULL;
    if (s->in_emergency)
        return "not sent: an emergency holds this slave open; end it first";
    if (arg != 'l' && s->held)
        return "not sent: portier holds this door open (hold or timed open); release it first";
    return NULL;
}

/* ---- operations ---- */

int nix1_door_refresh(struct nix1_door *d, const nix1_addr_t *v, size_t n, nix1_door_cb cb, void *arg)
{
    if (d->job)
        return -1;
    size_t cnt = v ? n : d->n, k = 0;
    nix1_addr_t *w = malloc((cnt ? cnt : 1) * sizeof *w);
    if (!w)
        return -1;
    for (size_t i = 0; i < cnt; i++) {
        const struct nix1_door_slave *s = v ? nix1_door_find(d, &v[i]) : &d->v[i];
        if (!s && v && n1door_slave(d, &v[i], true))
            s = nix1_door_find(d, &v[i]);
        if (s && !s->held && !s->in_emergency && !s->restore_pending)
            w[k++] = s->addr;
    }
    struct n1door_job *j = k ? n1door_job_new(d, OP_SNAPSHOT, "snapshot", w, k, cb, arg) : NULL;
    free(w);
    if (!k)
        return 1;
    if (!j)
        return -1;
    for (size_t i = 0; i < k; i++)
        n1door_add_snapshot(j, i);
    return n1door_start(d, j);
}

int nix1_door_lock(struct nix1_door *d, const nix1_addr_t *a, unsigned probe, bool locked, nix1_door_cb cb,
                   void *arg)
{
    if (probe < 1 || probe > 2 || !n1door_slave(d, a, true))
        return -1;
    struct n1door_job *j = n1door_job_new(d, OP_LOCK, locked ? "lock out" : "lock release", a, 1, cb, arg);
    if (!j)
        return -1;
    j->lock_probe = probe;
    j->lock_on = locked;
    char opt[8];
    snprintf(opt, sizeof opt, "%u\t%d", probe, locked ? 1 : 0);
    n1door_add_step(j, 0, 'N', 'l', opt, T_SET);
    return n1door_start(d, j);
}

int nix1_door_hold(struct nix1_door *d, const nix1_addr_t *a, bool on, nix1_door_cb cb, void *arg)
{
    struct nix1_door_slave *s = n1door_slave(d, a, true);
    if (!s)
        return -1;
    struct n1door_job *j = n1door_job_new(d, on ? OP_HOLD_ON : OP_RELEASE, on ? "hold open" : "release", a, 1, cb, arg);
    if (!j)
        return -1;
    if (on) {
        if (!s->held && !s->in_emergency)
            n1door_add_snapshot(j, 0);
        n1door_add_step(j, SIZE_MAX, 0, 0, NULL, T_INTENT);
        n1door_add_step(j, 0, 'N', 'h', NIX1_DOOR_OPEN_CRON, T_SET);
        n1door_add_step(j, 0, 'N', 'o', "1", T_SET);
    } else if (!s->known) {
        n1door_refuse(j, 0, "nothing remembered to restore (was it held by us?)");
    } else if (s->in_emergency) {
        n1door_refuse(j, 0, "an emergency is active: end it first");
    } else {
        n1door_add_step(j, SIZE_MAX, 0, 0, NULL, T_INTENT);
        n1door_add_restore(j, 0, false);
    }
    return n1door_start(d, j);
}

int nix1_door_timed_open(struct nix1_door *d, const nix1_addr_t *a, unsigned minutes, unsigned seconds,
                         nix1_door_cb cb, void *arg)
{
    if ((minutes == 0 && seconds == 0) || minutes > 24 * 60 || seconds > 24 * 3600)
        return -1;
    struct nix1_door_slave *s = n1door_slave(d, a, true);
    if (!s)
        return -1;
    struct n1door_job *j = n1door_job_new(d, OP_TIMED, "timed open", a, 1, cb, arg);
    if (!j)
        return -1;
    j->minutes = minutes;
    j->seconds = seconds;
    if (s->in_emergency) {
        n1door_refuse(j, 0, "an emergency holds this door open: a timed open would close it at its end");
    } else {
        if (!s->held)
            n1door_add_snapshot(j, 0);
        n1door_add_step(j, 0, 'Q', 't', NULL, T_CLOCK); /* then the window, the intent, Nh and No1 */
    }
    return n1door_start(d, j);
}

static void add_emergency_verify(struct n1door_job *j, size_t i)
{
    n1door_add_step(j, i, 'Q', 'l', "1", T_VER_QL1);
    n1door_add_step(j, i, 'Q', 'l', "2", T_VER_QL2);
    n1door_add_step(j, i, 'Q', 'h', NULL, T_VER_QH);
    n1door_add_step(j, i, 'Q', 'o', NULL, T_VER_QO);
}

/* Restore each listed slave that is in the emergency or has a restore due; the others are fine as they are. */
static void add_emergency_restores(struct nix1_door *d, struct n1door_job *j)
{
    for (size_t i = 0; i < j->n; i++) {
        const struct nix1_door_slave *s = nix1_door_find(d, &j->out[i].addr);
        if (!s || (!s->in_emergency && !s->restore_pending)) {
            snprintf(j->out[i].msg, sizeof j->out[i].msg, "not in the emergency");
            continue;
        }
        if (!s->known && !j->locked_restore) {
            j->js[i].unknown = true;
            n1door_refuse(j, i, "previous state unknown: left open (cron * * * * *, mode 1); set its schedule in "
                                  "the slave settings");
            continue;
        }
        n1door_add_restore(j, i, true);
    }
}

/* A job over every slave d knows (none: a job of broadcasts alone). */
static struct n1door_job *job_for_all(struct nix1_door *d, enum n1door_op op, const char *name, nix1_door_cb cb,
                                      void *arg)
{
    nix1_addr_t *v = calloc(d->n ? d->n : 1, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < d->n; i++)
        v[i] = d->v[i].addr;
    struct n1door_job *j = n1door_job_new(d, op, name, v, d->n, cb, arg);
    free(v);
    return j;
}

/* Emergency on. read_first: slaves whose state is not remembered are read before the broadcast (so that they can
 * be restored); otherwise the broadcast goes first and they are only verified (with no slave known, the broadcast
 * alone). */
static int emergency_on(struct nix1_door *d, bool read_first, nix1_door_cb cb, void *arg)
{
    if ((read_first && d->n == 0) || d->job)
        return -1;
    struct n1door_job *j = job_for_all(d, OP_EMERG_ON, "emergency on", cb, arg);
    if (!j)
        return -1;
    /* Slaves whose state is not remembered yet are read first (callers refresh the others beforehand when they
     * can afford the time); one that cannot be read still gets the broadcast and the verification. */
    for (size_t i = 0; read_first && i < j->n; i++)
        if (!d->emergency && !d->v[i].known && !d->v[i].held && !d->v[i].in_emergency)
            n1door_add_snapshot(j, i);
    n1door_add_step(j, SIZE_MAX, 0, 0, NULL, T_INTENT);
    n1door_add_step(j, SIZE_MAX, 'N', 'l', "1\t0", T_BCAST);
    n1door_add_step(j, SIZE_MAX, 'N', 'l', "2\t0", T_BCAST);
    n1door_add_step(j, SIZE_MAX, 'N', 'h', NIX1_DOOR_OPEN_CRON, T_BCAST);
    n1door_add_step(j, SIZE_MAX, 'N', 'o', "1", T_BCAST);
    for (size_t i = 0; i < j->n; i++)
        add_emergency_verify(j, i);
    return n1door_start(d, j);
}

int nix1_door_emergency(struct nix1_door *d, bool on, bool locked, nix1_door_cb cb, void *arg)
{
    if (on)
        return emergency_on(d, true, cb, arg);
    if (d->n == 0 || d->job)
        return -1;
    struct n1door_job *j = job_for_all(d, OP_EMERG_OFF, "emergency off", cb, arg);
    if (!j)
        return -1;
    j->locked_restore = locked;
    n1door_add_step(j, SIZE_MAX, 0, 0, NULL, T_INTENT);
    add_emergency_restores(d, j);
    return n1door_start(d, j);
}

int nix1_door_emergency_now(struct nix1_door *d, nix1_door_cb cb, void *arg)
{
    return emergency_on(d, false, cb, arg);
}

int nix1_door_emergency_probes(struct nix1_door *d, const nix1_addr_t *a, const unsigned *probe, size_t n, bool on,
                               bool locked, nix1_door_cb cb, void *arg)
{
    if (d->job || n == 0)
        return -1;
    nix1_addr_t *v = malloc(n * sizeof *v);
    unsigned *pm = calloc(n, sizeof *pm); /* per slave: bit p-1 = probe p listed */
    size_t k = 0;
    for (size_t i = 0; v && pm && i < n; i++) {
        if (probe[i] < 1 || probe[i] > 2 || !n1door_slave(d, &a[i], true))
            continue;
        size_t at = 0;
        while (at < k && !nix1_addr_equal(&v[at], &a[i]))
            at++;
        if (at == k)
            v[k++] = a[i];
        pm[at] |= 1u << (probe[i] - 1);
    }
    struct n1door_job *j = k ? n1door_job_new(d, on ? OP_EPROBES_ON : OP_EMERG_OFF, on ? "emergency on" : "emergency off", v,
                                     k, cb, arg)
                      : NULL;
    if (j) {
        j->locked_restore = locked;
        if (on) {
            /* read first, then record the intent, then act */
            for (size_t i = 0; i < k; i++) {
                const struct nix1_door_slave *s = nix1_door_find(d, &v[i]);
                if (!s->held && !s->in_emergency)
                    n1door_add_snapshot(j, i);
            }
            n1door_add_step(j, SIZE_MAX, 0, 0, NULL, T_INTENT);
            for (size_t i = 0; i < k; i++) {
                n1door_add_step(j, i, 'N', 'h', NIX1_DOOR_OPEN_CRON, T_SET);
                n1door_add_step(j, i, 'N', 'o', "1", T_SET);
                for (unsigned p = 1; p <= 2; p++)
                    if (pm[i] & (1u << (p - 1)))
                        n1door_add_step(j, i, 'N', 'l', p == 1 ? "1\t0" : "2\t0", T_SET);
            }
        } else {
            n1door_add_step(j, SIZE_MAX, 0, 0, NULL, T_INTENT);
            add_emergency_restores(d, j);
        }
    }
    free(v);
    free(pm);
    if (!k)
        return 1;
    return j ? n1door_start(d, j) : -1;
}

int nix1_door_restore_pending(struct nix1_door *d, nix1_door_cb cb, void *arg)
{
    if (d->job) {
        d->recheck = true;
        return -1;
    }
    size_t n = 0;
    nix1_addr_t *v = calloc(d->n ? d->n : 1, sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < d->n; i++)
        if (d->v[i].restore_pending && (d->v[i].known || d->v[i].restore_locked))
            v[n++] = d->v[i].addr;
    struct n1door_job *j = n ? n1door_job_new(d, OP_RESTORE, "restore", v, n, cb, arg) : NULL;
    free(v);
    if (!n)
        return 1;
    if (!j)
        return -1;
    for (size_t i = 0; i < j->n; i++) {
        const struct nix1_door_slave *s = nix1_door_find(d, &j->out[i].addr);
        n1door_add_restore(j, i, s->in_emergency);
    }
    return n1door_start(d, j);
}

int nix1_door_check_held(struct nix1_door *d, const nix1_addr_t *a, nix1_door_cb cb, void *arg)
{
    const struct nix1_door_slave *s = nix1_door_find(d, a);
    if (!s || !s->held || s->in_emergency)
        return 1;
    if (d->job)
        return -1;
    struct n1door_job *j = n1door_job_new(d, OP_CHECK_HELD, "check hold", a, 1, cb, arg);
    if (!j)
        return -1;
    n1door_add_step(j, 0, 'Q', 't', NULL, T_HELD_QT);
    n1door_add_step(j, 0, 'Q', 'h', NULL, T_HELD_QH);
    n1door_add_step(j, 0, 0, 0, NULL, T_HELD_DECIDE);
    return n1door_start(d, j);
}

/* ---- the bus tells us about slaves ---- */

static void on_slave_state(void *arg, const nix1_addr_t *a, enum nix1_slave_state st)
{
    struct nix1_door *d = arg;
    if (st != NIX1_SLAVE_ONLINE)
        return;
    const struct nix1_door_slave *s = nix1_door_find(d, a);
    if (s && s->restore_pending)
        nix1_door_restore_pending(d, NULL, NULL);
}

/* Every line on the bus: a valid reply from a slave whose restore found it unreachable restores it. The bus
 * reports "online" only after it called a slave offline (2 failed transactions); one that answers again before
 * that never changes state. */
static void on_line(void *arg, bool tx, const char *line, size_t len)
{
    struct nix1_door *d = arg;
    struct nix1_reply rep;
    if (tx || d->nawait == 0 || nix1_reply_parse(line, len, &rep) != NIX1_REP_OK || rep.rc == NIX1_RC_NAK)
        return;
    const struct nix1_door_slave *s = nix1_door_find(d, &rep.addr);
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
    if (bus)
        nix1_bus_add_listener(bus, &d->lis);
    else
        d->unlistened = true; /* only for reading a state text: every operation refuses */
    return d;
}

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
    if (d->job)
        n1door_job_free(d->job);
    free(d->await);
    free(d->v);
    free(d);
}
