/* nix1_device: the NiX1 bus adapter (bus master + door profile → site events, link and probe states). */
#include "drivers/nix1/nix1_device.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "drivers/nix1/nix1_access.h"
#include "drivers/nix1/nix1_rc.h"

#define N1_REOPEN_MIN_MS 1000u
#define N1_REOPEN_MAX_MS 30000u
#define N1_VALID_DEFAULT 5

struct n1dev;

struct n1_slave {
    nix1_addr_t addr;
    const struct site_slave *cfg;
    size_t out[2];                 /* site outputs of probes 1 and 2, SIZE_MAX when unused */
    enum nix1_slave_state state;
    int64_t grant_until_us[2];     /* a grant unlocks for VALID_ACCESS_TIMEOUT (emulated) */
    int64_t timed_until_us;        /* fail-safe timed open window end (slave-wide) */
    int64_t timed_want_us;         /* what the operator asked for (windows are cut at hour boundaries) */
    uint8_t last_poll_rc;
    struct n1dev *c;
};

enum n1_step_kind { N1_SNAPSHOT, N1_HOLD, N1_LOCK, N1_TIMED, N1_EMERG, N1_MARK_EMERG, N1_RESTORE };

struct n1_step {
    enum n1_step_kind kind;
    size_t slave;                  /* index into c->slaves (SIZE_MAX: all) */
    unsigned probe;
    bool on;
    unsigned minutes;
};

/* One device command (or an internal job: result == NULL), run as a sequence of door operations. */
struct n1_job {
    struct n1_job *next;
    struct n1dev *c;
    enum device_op op;
    enum site_restore restore;
    device_result_fn result;
    device_done_fn done;
    void *ctx;
    size_t n;                      /* outputs */
    size_t *outs;
    size_t *slave_of;              /* slave index per output */
    unsigned *probe_of;
    bool *failed;
    enum device_result *res;
    char (*msg)[96];
    struct n1_step *steps;
    size_t nsteps, pos;
    bool emergency;                /* jumps the queue */
    char okmsg[96];
};

struct n1dev {
    struct device *dev;
    const struct site_bus *cfg;
    nix1_bus_t *bus;
    struct nix1_door *door;
    struct nix1_bus_listener lis;
    size_t n;
    struct n1_slave *slaves;
    loop_timer_t reopen, kick, tick;
    unsigned reopen_ms;
    char open_err[200];
    bool started, dying, transport_ok;
    struct n1_job *queue, *cur;
    char state_path[SITE_PATH_MAX];
};

static struct n1dev *priv(const struct device *dev) { return dev->priv; }

/* ---- state file ---- */

char *nix1_device_state_path(const char *port, char *buf, size_t len)
{
    const char *base = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    char dir[SITE_PATH_MAX];
    if (base && *base)
        snprintf(dir, sizeof dir, "%s/portier", base);
    else if (home && *home)
        snprintf(dir, sizeof dir, "%s/.local/state/portier", home);
    else
        snprintf(dir, sizeof dir, "/tmp/portier-%u", (unsigned)getuid());
    char name[200];
    size_t k = 0;
    for (const char *s = port; *s && k + 1 < sizeof name; s++)
        name[k++] = (char)((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ? *s : '_');
    name[k] = '\0';
    snprintf(buf, len, "%.800s/nix1-%s.state", dir, name);
    return buf;
}

static void state_save(struct n1dev *c)
{
    if (!c->door)
        return;
    size_t len = 0;
    char *text = nix1_door_save(c->door, &len);
    if (!text)
        return;
    char dir[SITE_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", c->state_path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        for (char *s = dir + 1; *s; s++)
            if (*s == '/') {
                *s = '\0';
                mkdir(dir, 0700);
                *s = '/';
            }
        mkdir(dir, 0700);
    }
    char tmp[SITE_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%.*s.tmp", SITE_PATH_MAX - 1, c->state_path);
    FILE *f = fopen(tmp, "wb");
    bool ok = false;
    if (f) {
        ok = fwrite(text, 1, len, f) == len && fflush(f) == 0 && fsync(fileno(f)) == 0;
        fclose(f);
        ok = ok && rename(tmp, c->state_path) == 0;
        if (!ok)
            unlink(tmp);
    }
    free(text);
}

static void state_load(struct n1dev *c)
{
    FILE *f = fopen(c->state_path, "rb");
    if (!f)
        return;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    char chunk[4096];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0 && len < (1u << 20)) {
        if (len + k > cap) {
            size_t nc = (len + k) * 2;
            char *nb = realloc(buf, nc);
            if (!nb)
                break;
            buf = nb;
            cap = nc;
        }
        memcpy(buf + len, chunk, k);
        len += k;
    }
    fclose(f);
    if (buf)
        (void)nix1_door_load(c->door, buf, len); /* invalid lines are skipped */
    free(buf);
}

/* ---- probe states and link ---- */

static bool link_up(const struct n1dev *c) { return c->dev->site->devices[c->dev->index].link == LINK_UP; }

static void publish_slave(struct n1dev *c, size_t si)
{
    struct n1_slave *s = &c->slaves[si];
    const struct nix1_door_slave *ds = c->door ? nix1_door_slave(c->door, &s->addr, false) : NULL;
    int64_t now = event_now_us();
    if (s->timed_until_us && s->timed_until_us <= now)
        s->timed_until_us = 0;
    for (unsigned p = 0; p < 2; p++) {
        if (s->out[p] == SIZE_MAX)
            continue;
        if (s->grant_until_us[p] && s->grant_until_us[p] <= now)
            s->grant_until_us[p] = 0;
        struct output_state st = { 0 };
        bool emerg = ds && ds->in_emergency;
        st.emergency = emerg;
        st.held_open = emerg || (ds && ds->held && !s->timed_until_us);
        st.locked_out = !emerg && ds && ds->known && ds->lock[p];
        int64_t until = s->timed_until_us > s->grant_until_us[p] ? s->timed_until_us : s->grant_until_us[p];
        st.open_until_us = until;
        st.locked = !(st.held_open || until);
        st.stale = !link_up(c) || s->state == NIX1_SLAVE_OFFLINE;
        device_report_output(c->dev, s->out[p], &st);
    }
}

static void publish_all(struct n1dev *c)
{
    for (size_t i = 0; i < c->n; i++)
        publish_slave(c, i);
}

static const char *slave_label(const struct n1_slave *s, char *buf, size_t len)
{
    if (s->cfg && s->cfg->name[0])
        snprintf(buf, len, "%s", s->cfg->name);
    else
        snprintf(buf, len, "%s", s->cfg ? s->cfg->addr : "?");
    return buf;
}

static void report_link(struct n1dev *c)
{
    char detail[128];
    enum link_state link;
    if (!c->bus || !c->transport_ok) {
        link = c->started && !c->open_err[0] ? LINK_CONNECTING : LINK_DOWN;
        snprintf(detail, sizeof detail, "%.120s", c->open_err[0] ? c->open_err : "opening the port");
    } else {
        size_t online = 0, unknown = 0;
        char dead[100] = "";
        size_t k = 0;
        for (size_t i = 0; i < c->n; i++) {
            if (c->slaves[i].state == NIX1_SLAVE_ONLINE) {
                online++;
            } else if (c->slaves[i].state == NIX1_SLAVE_UNKNOWN) {
                unknown++;
            } else if (k < sizeof dead) {
                char nb[SITE_NAME_MAX];
                k += (size_t)snprintf(dead + k, sizeof dead - k, "%s%s", k ? ", " : "",
                                      slave_label(&c->slaves[i], nb, sizeof nb));
            }
        }
        if (online) {
            link = LINK_UP;
            if (dead[0])
                snprintf(detail, sizeof detail, "%zu/%zu slaves online; offline: %s", online, c->n, dead);
            else
                snprintf(detail, sizeof detail, "%zu/%zu slaves online", online, c->n);
        } else if (unknown) {
            link = LINK_CONNECTING;
            snprintf(detail, sizeof detail, "%s open, waiting for the slaves", nix1_bus_desc(c->bus));
        } else {
            link = LINK_DOWN;
            snprintf(detail, sizeof detail, "no slave answers (%s)", nix1_bus_desc(c->bus));
        }
    }
    device_report_link(c->dev, link, detail);
    publish_all(c);
}

static ssize_t slave_index(const struct n1dev *c, const nix1_addr_t *a)
{
    for (size_t i = 0; i < c->n; i++)
        if (nix1_addr_equal(&c->slaves[i].addr, a))
            return (ssize_t)i;
    return -1;
}

/* ---- bus listener ---- */

static void on_access(void *arg, const nix1_addr_t *slave, const char *line, size_t len)
{
    struct n1dev *c = arg;
    struct nix1_access a;
    char perr[120];
    ssize_t si = slave_index(c, slave);
    struct event ev;
    if (nix1_access_parse(line, len, &a, perr, sizeof perr) != 0) {
        event_init(&ev, EVENT_NIX1_ACCESS, EVENT_WARNING);
        nix1_addr_format(slave, ev.addr);
        if (si >= 0)
            slave_label(&c->slaves[si], ev.device, sizeof ev.device);
        event_set_text(&ev, "unreadable ACCESS entry: %s", perr);
        device_report_event(c->dev, &ev);
        return;
    }
    bool granted = nix1_access_granted(&a);
    enum event_severity sev = granted ? EVENT_NORMAL
                              : a.code == NIX1_RC_ERROR_TIMESTAMP || a.code == NIX1_RC_ERROR_HASH ? EVENT_ALARM
                                                                                                  : EVENT_WARNING;
    event_init(&ev, EVENT_NIX1_ACCESS, sev);
    nix1_addr_format(&a.slave, ev.addr);
    if (si >= 0)
        slave_label(&c->slaves[si], ev.device, sizeof ev.device);
    ev.device_time = (int64_t)a.ts;
    ev.device_tz_min = a.tz;
    ev.device_tz_valid = true;
    ev.door_no = a.probe;
    if (si >= 0 && a.probe >= 1 && a.probe <= 2 && c->slaves[si].cfg)
        event_copy(ev.door, sizeof ev.door, c->slaves[si].cfg->probe_doors[a.probe - 1]);
    ev.code = a.code;
    event_copy(ev.code_name, sizeof ev.code_name, granted ? "granted" : nix1_access_code_name(&a));
    event_copy(ev.uid, sizeof ev.uid, a.uid);
    ev.unit = a.has_unit ? (int)a.unit : -1;
    const char *who = a.uid[0] ? a.uid : "(no uid)";
    if (granted)
        event_set_text(&ev, "granted %s%s probe %u", who, a.has_unit ? "" : "", a.probe);
    else
        event_set_text(&ev, "refused %s: %02X %s (%s)", who, a.code, nix1_access_code_name(&a),
                       nix1_access_code_meaning(&a));
    event_make_key(&ev);
    device_report_event(c->dev, &ev);
    if (granted && si >= 0 && a.probe >= 1 && a.probe <= 2) {
        struct n1_slave *s = &c->slaves[si];
        int vat = s->cfg && s->cfg->valid_timeout >= 0 ? s->cfg->valid_timeout : N1_VALID_DEFAULT;
        if (vat > 0) {
            s->grant_until_us[a.probe - 1] = event_now_us() + (int64_t)vat * 1000000;
            publish_slave(c, (size_t)si);
            loop_timer_arm_ms(c->dev->loop, &c->tick, 0);
        }
    }
}

static void on_slave_state(void *arg, const nix1_addr_t *slave, enum nix1_slave_state st)
{
    struct n1dev *c = arg;
    ssize_t si = slave_index(c, slave);
    if (si < 0)
        return;
    struct n1_slave *s = &c->slaves[si];
    enum nix1_slave_state old = s->state;
    s->state = st;
    if (old != st && (st == NIX1_SLAVE_OFFLINE || old == NIX1_SLAVE_OFFLINE)) {
        struct event ev;
        event_init(&ev, EVENT_LINK, st == NIX1_SLAVE_ONLINE ? EVENT_NORMAL : EVENT_WARNING);
        slave_label(s, ev.device, sizeof ev.device);
        nix1_addr_format(&s->addr, ev.addr);
        ev.code = st == NIX1_SLAVE_ONLINE ? LINK_UP : LINK_DOWN;
        event_copy(ev.code_name, sizeof ev.code_name, st == NIX1_SLAVE_ONLINE ? "up" : "down");
        event_set_text(&ev, "slave %s", st == NIX1_SLAVE_ONLINE ? "back online" : "offline (no answer)");
        device_report_event(c->dev, &ev);
    }
    report_link(c);
}

static void on_poll_error(void *arg, const nix1_addr_t *slave, uint8_t rc)
{
    struct n1dev *c = arg;
    ssize_t si = slave_index(c, slave);
    if (si < 0 || c->slaves[si].last_poll_rc == rc)
        return;
    c->slaves[si].last_poll_rc = rc;
    struct event ev;
    event_init(&ev, EVENT_LINK, EVENT_WARNING);
    slave_label(&c->slaves[si], ev.device, sizeof ev.device);
    nix1_addr_format(slave, ev.addr);
    ev.code = rc;
    event_copy(ev.code_name, sizeof ev.code_name, nix1_rc_name(rc));
    event_set_text(&ev, "access log cannot be read: %02X %s (%s)", rc, nix1_rc_name(rc), nix1_rc_meaning(rc));
    device_report_event(c->dev, &ev);
}

static void on_transport(void *arg, int err, const char *msg)
{
    struct n1dev *c = arg;
    c->transport_ok = err == 0;
    snprintf(c->open_err, sizeof c->open_err, "%s", err == 0 ? "" : msg ? msg : "transport failed");
    if (err != 0)
        for (size_t i = 0; i < c->n; i++)
            c->slaves[i].state = NIX1_SLAVE_UNKNOWN;
    report_link(c);
}

/* ---- jobs ---- */

static void job_free(struct n1_job *j)
{
    free(j->outs);
    free(j->slave_of);
    free(j->probe_of);
    free(j->failed);
    free(j->res);
    free(j->msg);
    free(j->steps);
    free(j);
}

static void job_fail_output(struct n1_job *j, size_t k, enum device_result r, const char *msg)
{
    if (j->failed[k])
        return;
    j->failed[k] = true;
    j->res[k] = r;
    event_copy(j->msg[k], sizeof j->msg[k], msg);
}

/* Report every output, call done, free. */
static void job_finish(struct n1dev *c, struct n1_job *j)
{
    for (size_t k = 0; k < j->n; k++)
        if (j->result)
            j->result(j->ctx, j->outs[k], j->failed[k] ? j->res[k] : DEVICE_RESULT_OK,
                      j->failed[k] ? j->msg[k] : j->okmsg[0] ? j->okmsg : "ok");
    if (j->done)
        j->done(j->ctx);
    job_free(j);
    state_save(c);
    publish_all(c);
}

static void job_step(struct n1dev *c);

static void kick_cb(loop_t *loop, void *arg)
{
    (void)loop;
    job_step(arg);
}

static void add_step(struct n1_job *j, enum n1_step_kind kind, size_t slave, unsigned probe, bool on, unsigned minutes)
{
    for (size_t i = 0; i < j->nsteps; i++) /* one step per slave and kind (a hold covers both probes) */
        if (j->steps[i].kind == kind && j->steps[i].slave == slave && j->steps[i].probe == probe)
            return;
    struct n1_step *ns = realloc(j->steps, (j->nsteps + 1) * sizeof *ns);
    if (!ns)
        return;
    j->steps = ns;
    j->steps[j->nsteps++] = (struct n1_step){ kind, slave, probe, on, minutes };
}

/* The outcome of a door operation → the job's outputs on the slaves it names. */
static void on_report(void *arg, const struct nix1_door_report *r)
{
    struct n1dev *c = arg;
    struct n1_job *j = c->cur;
    if (!j || j->pos >= j->nsteps)
        return;
    const struct n1_step *st = &j->steps[j->pos];
    for (size_t i = 0; i < r->n; i++) {
        const struct nix1_door_outcome *o = &r->v[i];
        ssize_t si = slave_index(c, &o->addr);
        if (si < 0)
            continue;
        if (o->ok) {
            if (o->resent && j->op == DEVICE_EMERGENCY_ON)
                snprintf(j->okmsg, sizeof j->okmsg, "verified (some settings re-sent by unicast)");
            continue;
        }
        for (size_t k = 0; k < j->n; k++) {
            if (j->slave_of[k] != (size_t)si || (st->kind == N1_LOCK && j->probe_of[k] != st->probe))
                continue;
            char m[160];
            snprintf(m, sizeof m, "%s%s", o->unreachable ? "no answer: " : "", o->msg);
            job_fail_output(j, k, o->unreachable ? DEVICE_RESULT_TIMEOUT : DEVICE_RESULT_FAILED, m);
        }
    }
    if (st->kind == N1_TIMED && st->slave < c->n) {
        struct n1_slave *s = &c->slaves[st->slave];
        if (r->ok) {
            if (!c->dying)
                loop_timer_arm_ms(c->dev->loop, &c->tick, 0);
        } else {
            s->timed_until_us = s->timed_want_us = 0;
        }
    }
    j->pos++;
    if (!c->dying)
        loop_timer_arm_us(c->dev->loop, &c->kick, 0);
}

static void job_start_step(struct n1dev *c)
{
    struct n1_job *j = c->cur;
    while (j->pos < j->nsteps) {
        struct n1_step *st = &j->steps[j->pos];
        struct n1_slave *s = st->slave < c->n ? &c->slaves[st->slave] : NULL;
        int rc = -1;
        switch (st->kind) {
        case N1_SNAPSHOT: {
            nix1_addr_t *v = calloc(c->n ? c->n : 1, sizeof *v);
            size_t k = 0;
            for (size_t i = 0; v && i < c->n; i++) {
                const struct nix1_door_slave *ds = nix1_door_slave(c->door, &c->slaves[i].addr, false);
                if (!ds || (!ds->held && !ds->in_emergency && !ds->restore_pending))
                    v[k++] = c->slaves[i].addr;
            }
            rc = k ? nix1_door_snapshot(c->door, v, k, on_report, c) : 1;
            free(v);
            break;
        }
        case N1_HOLD:
            if (!st->on) {
                const struct nix1_door_slave *ds = nix1_door_slave(c->door, &s->addr, false);
                if (!ds || !ds->held) {
                    rc = 1; /* nothing held: the door is already in its normal (locked) state */
                    break;
                }
                s->timed_until_us = s->timed_want_us = 0;
            }
            rc = nix1_door_hold(c->door, &s->addr, st->on, on_report, c);
            break;
        case N1_LOCK:
            rc = nix1_door_lock(c->door, &s->addr, st->probe, st->on, on_report, c);
            break;
        case N1_TIMED: {
            time_t now = time(NULL), until = 0;
            struct tm tm;
            localtime_r(&now, &tm);
            int tz = (int)(tm.tm_gmtoff / 60);
            rc = nix1_door_timed_open(c->door, &s->addr, st->minutes, now, tz, &until, on_report, c);
            if (rc == 0) {
                s->timed_until_us = (int64_t)until * 1000000;
                if (!s->timed_want_us)
                    s->timed_want_us = ((int64_t)now + (int64_t)st->minutes * 60) * 1000000;
                char hm[16];
                struct tm ut;
                localtime_r(&until, &ut);
                strftime(hm, sizeof hm, "%H:%M", &ut);
                snprintf(j->okmsg, sizeof j->okmsg, "open until %s (the slave closes it itself)", hm);
            }
            break;
        }
        case N1_EMERG:
            if (j->restore == SITE_RESTORE_LOCKED && !st->on)
                for (size_t i = 0; i < nix1_door_count(c->door); i++) {
                    struct nix1_door_slave *ds = nix1_door_slave(c->door, &nix1_door_at(c->door, i)->addr, false);
                    if (ds && ds->known) {
                        ds->has_cron = false;
                        ds->cron[0] = '\0';
                        ds->cron_mode = 0;
                    }
                }
            rc = nix1_door_emergency(c->door, st->on, on_report, c);
            break;
        case N1_MARK_EMERG: {
            /* A partial emergency: the hold's remembered cron/mode/locks are what the restore puts back. */
            struct nix1_door_slave *ds = nix1_door_slave(c->door, &s->addr, false);
            if (ds && ds->held && ds->known)
                ds->in_emergency = true;
            rc = 1;
            break;
        }
        case N1_RESTORE: {
            for (size_t i = 0; i < j->nsteps; i++) {
                if (j->steps[i].kind != N1_RESTORE || j->steps[i].slave >= c->n)
                    continue;
                struct nix1_door_slave *ds = nix1_door_slave(c->door, &c->slaves[j->steps[i].slave].addr, false);
                if (ds && ds->in_emergency) {
                    ds->restore_pending = true;
                    if (j->restore == SITE_RESTORE_LOCKED) {
                        ds->has_cron = false;
                        ds->cron[0] = '\0';
                        ds->cron_mode = 0;
                    }
                }
            }
            rc = nix1_door_restore_pending(c->door, on_report, c);
            if (rc < 0 && !nix1_door_busy(c->door))
                rc = 1; /* nothing was in an emergency */
            /* one restore job covers every slave: skip the other restore steps */
            size_t last = j->pos;
            for (size_t i = j->pos + 1; i < j->nsteps && j->steps[i].kind == N1_RESTORE; i++)
                last = i;
            j->pos = last;
            break;
        }
        }
        if (rc == 0)
            return; /* on_report follows */
        if (rc < 0 && nix1_door_busy(c->door)) {
            /* The door is restoring a slave by itself: try again shortly. */
            loop_timer_arm_ms(c->dev->loop, &c->kick, 50);
            return;
        }
        if (rc < 0) {
            for (size_t k = 0; k < j->n; k++)
                if (st->slave == SIZE_MAX || j->slave_of[k] == st->slave)
                    job_fail_output(j, k, DEVICE_RESULT_FAILED, "the slave's state is unknown or the request is invalid");
        }
        j->pos++;
    }
    c->cur = NULL;
    job_finish(c, j);
    loop_timer_arm_us(c->dev->loop, &c->kick, 0);
}

static void job_step(struct n1dev *c)
{
    if (c->dying)
        return;
    if (c->cur) {
        job_start_step(c);
        return;
    }
    if (!c->queue)
        return;
    if (!c->door) {
        /* The port is not open: everything queued fails now. */
        while (c->queue) {
            struct n1_job *j = c->queue;
            c->queue = j->next;
            for (size_t k = 0; k < j->n; k++)
                job_fail_output(j, k, DEVICE_RESULT_OFFLINE, c->open_err[0] ? c->open_err : "bus not open");
            job_finish(c, j);
        }
        return;
    }
    c->cur = c->queue;
    c->queue = c->cur->next;
    c->cur->next = NULL;
    job_start_step(c);
}

static void enqueue(struct n1dev *c, struct n1_job *j)
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
    loop_timer_arm_us(c->dev->loop, &c->kick, 0);
}

static struct n1_job *job_new(struct n1dev *c, const struct device_cmd *cmd, size_t n)
{
    struct n1_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    size_t m = n ? n : 1;
    j->outs = calloc(m, sizeof *j->outs);
    j->slave_of = calloc(m, sizeof *j->slave_of);
    j->probe_of = calloc(m, sizeof *j->probe_of);
    j->failed = calloc(m, sizeof *j->failed);
    j->res = calloc(m, sizeof *j->res);
    j->msg = calloc(m, sizeof *j->msg);
    if (!j->outs || !j->slave_of || !j->probe_of || !j->failed || !j->res || !j->msg) {
        job_free(j);
        return NULL;
    }
    j->c = c;
    j->n = n;
    if (cmd) {
        j->op = cmd->op;
        j->restore = cmd->restore;
        j->result = cmd->result;
        j->done = cmd->done;
        j->ctx = cmd->ctx;
    }
    return j;
}

static bool n1_supports(const struct device *dev, enum device_op op, size_t output)
{
    if (output >= dev->site->n_outputs || dev->site->outputs[output].type != OUTPUT_PROBE)
        return false;
    switch (op) {
    case DEVICE_OPEN: case DEVICE_CLOSE: case DEVICE_HOLD_OPEN: case DEVICE_RELEASE: case DEVICE_LOCKOUT_ON:
    case DEVICE_LOCKOUT_OFF: case DEVICE_TIMED_OPEN: case DEVICE_EMERGENCY_ON: case DEVICE_EMERGENCY_OFF:
        return true;
    default:
        return false;
    }
}

static int n1_command(struct device *dev, const struct device_cmd *cmd, char *err, size_t errlen)
{
    struct n1dev *c = priv(dev);
    if (cmd->n_outputs == 0) {
        snprintf(err, errlen, "%s applies to NiX1 doors", device_op_name(cmd->op));
        return -1;
    }
    struct n1_job *j = job_new(c, cmd, cmd->n_outputs);
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    j->emergency = cmd->op == DEVICE_EMERGENCY_ON || cmd->op == DEVICE_EMERGENCY_OFF;
    size_t used = 0, listed = 0;
    for (size_t i = 0; i < c->n; i++)
        for (unsigned p = 0; p < 2; p++)
            used += c->slaves[i].out[p] != SIZE_MAX;
    for (size_t k = 0; k < cmd->n_outputs; k++) {
        size_t o = cmd->outputs[k];
        j->outs[k] = o;
        j->slave_of[k] = SIZE_MAX;
        const struct site_output *so = o < dev->site->n_outputs ? &dev->site->outputs[o] : NULL;
        if (!so || so->device != dev->index || so->type != OUTPUT_PROBE || so->slave >= c->n) {
            job_fail_output(j, k, DEVICE_RESULT_FAILED, "not a door of this bus");
            continue;
        }
        if (!n1_supports(dev, cmd->op, o)) {
            char m[96];
            snprintf(m, sizeof m, "%s is not possible on a NiX1 door", device_op_name(cmd->op));
            job_fail_output(j, k, DEVICE_RESULT_UNSUPPORTED, m);
            continue;
        }
        listed++;
        j->slave_of[k] = so->slave;
        j->probe_of[k] = (unsigned)so->number;
    }
    bool whole_bus = listed == used;
    if ((cmd->op == DEVICE_EMERGENCY_ON && whole_bus) ||
        (cmd->op == DEVICE_EMERGENCY_OFF && c->door && nix1_door_emergency_active(c->door))) {
        add_step(j, N1_EMERG, SIZE_MAX, 0, cmd->op == DEVICE_EMERGENCY_ON, 0);
    } else {
        for (size_t k = 0; k < cmd->n_outputs; k++) {
            size_t si = j->slave_of[k];
            unsigned p = j->probe_of[k];
            if (si == SIZE_MAX)
                continue;
            switch (cmd->op) {
            case DEVICE_OPEN: {
                time_t now = time(NULL);
                unsigned secs = cmd->value ? cmd->value : 5;
                unsigned minutes = (unsigned)((now % 60) + secs + 59) / 60;
                add_step(j, N1_TIMED, si, 0, true, minutes ? minutes : 1);
                break;
            }
            case DEVICE_TIMED_OPEN: add_step(j, N1_TIMED, si, 0, true, cmd->value ? cmd->value : 1); break;
            case DEVICE_HOLD_OPEN: add_step(j, N1_HOLD, si, 0, true, 0); break;
            case DEVICE_CLOSE:
            case DEVICE_RELEASE: add_step(j, N1_HOLD, si, 0, false, 0); break;
            case DEVICE_LOCKOUT_ON:
            case DEVICE_LOCKOUT_OFF: add_step(j, N1_LOCK, si, p, cmd->op == DEVICE_LOCKOUT_ON, 0); break;
            case DEVICE_EMERGENCY_ON:
                /* Not the whole bus: unicast hold open of the listed doors' slaves, lock-outs lifted. */
                add_step(j, N1_HOLD, si, 0, true, 0);
                add_step(j, N1_MARK_EMERG, si, 0, true, 0);
                break;
            case DEVICE_EMERGENCY_OFF: add_step(j, N1_RESTORE, si, 0, false, 0); break;
            default: break;
            }
        }
        if (cmd->op == DEVICE_EMERGENCY_ON)
            for (size_t k = 0; k < cmd->n_outputs; k++)
                if (j->slave_of[k] != SIZE_MAX)
                    add_step(j, N1_LOCK, j->slave_of[k], j->probe_of[k], false, 0);
    }
    enqueue(c, j);
    return 0;
}

/* Timed opens end by themselves on the slave; then its remembered cron is put back (release), or the next
 * window is set when the first one was cut at an hour boundary. Grants' emulated unlock ends. */
static void tick_cb(loop_t *loop, void *arg)
{
    (void)loop;
    struct n1dev *c = arg;
    int64_t now = event_now_us(), next = 0;
    for (size_t i = 0; i < c->n; i++) {
        struct n1_slave *s = &c->slaves[i];
        if (s->timed_until_us && s->timed_until_us <= now) {
            s->timed_until_us = 0;
            struct n1_job *j = job_new(c, NULL, 0);
            if (j) {
                if (s->timed_want_us > now + 30 * 1000000LL) {
                    add_step(j, N1_TIMED, i, 0, true, (unsigned)((s->timed_want_us - now) / 60000000 + 1));
                } else {
                    s->timed_want_us = 0;
                    add_step(j, N1_HOLD, i, 0, false, 0);
                }
                enqueue(c, j);
            }
        }
        int64_t cand[3] = { s->timed_until_us, s->grant_until_us[0], s->grant_until_us[1] };
        for (int k = 0; k < 3; k++)
            if (cand[k] && (!next || cand[k] < next))
                next = cand[k];
        publish_slave(c, i);
    }
    if (next)
        loop_timer_arm_us(c->dev->loop, &c->tick, next > now ? (uint64_t)(next - now) : 0);
}

/* ---- lifecycle ---- */

static void try_open(struct n1dev *c);

static void reopen_cb(loop_t *loop, void *arg)
{
    (void)loop;
    try_open(arg);
}

static void try_open(struct n1dev *c)
{
    struct nix1_bus_config bc;
    nix1_bus_config_default(&bc);
    struct xport_serial_opts so = {
        .baud = c->cfg->baud ? c->cfg->baud : 9600,
        .rs485 = c->cfg->rs485 == SITE_RS485_RTS ? XPORT_RS485_RTS : XPORT_RS485_AUTO,
    };
    char err[200];
    c->bus = nix1_bus_open(c->dev->loop, c->cfg->port, &so, &bc, err, sizeof err);
    if (!c->bus) {
        snprintf(c->open_err, sizeof c->open_err, "%s", err);
        c->reopen_ms = c->reopen_ms ? (c->reopen_ms * 2 > N1_REOPEN_MAX_MS ? N1_REOPEN_MAX_MS : c->reopen_ms * 2)
                                    : N1_REOPEN_MIN_MS;
        loop_timer_arm_ms(c->dev->loop, &c->reopen, c->reopen_ms);
        report_link(c);
        loop_timer_arm_us(c->dev->loop, &c->kick, 0); /* queued commands fail now */
        return;
    }
    c->reopen_ms = 0;
    c->open_err[0] = '\0';
    c->transport_ok = true;
    c->door = nix1_door_new(c->bus);
    if (!c->door) {
        nix1_bus_free(c->bus);
        c->bus = NULL;
        snprintf(c->open_err, sizeof c->open_err, "out of memory");
        report_link(c);
        return;
    }
    for (size_t i = 0; i < c->n; i++)
        nix1_door_slave(c->door, &c->slaves[i].addr, true);
    state_load(c);
    c->lis = (struct nix1_bus_listener){ .access = on_access, .slave_state = on_slave_state,
                                         .poll_error = on_poll_error, .transport = on_transport, .arg = c };
    nix1_bus_add_listener(c->bus, &c->lis);
    for (size_t i = 0; i < c->n; i++)
        nix1_bus_add_slave(c->bus, &c->slaves[i].addr);
    /* Read what an emergency or a release must put back (§5.14: "read at start-up"), then poll. */
    struct n1_job *j = job_new(c, NULL, 0);
    if (j) {
        add_step(j, N1_SNAPSHOT, SIZE_MAX, 0, false, 0);
        enqueue(c, j);
    }
    nix1_bus_set_polling(c->bus, true);
    report_link(c);
}

static int n1_init(struct device *dev, char *err, size_t errlen)
{
    const struct site_device *sd = &dev->site->devices[dev->index];
    if (!sd->bus) {
        snprintf(err, errlen, "not a NiX1 bus");
        return -1;
    }
    struct n1dev *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->dev = dev;
    c->cfg = sd->bus;
    c->n = sd->bus->n_slaves;
    c->slaves = calloc(c->n ? c->n : 1, sizeof *c->slaves);
    if (!c->slaves) {
        free(c);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < c->n; i++) {
        struct n1_slave *s = &c->slaves[i];
        s->c = c;
        s->cfg = &sd->bus->slaves[i];
        if (nix1_addr_parse_str(s->cfg->addr, &s->addr) != 0) {
            snprintf(err, errlen, "slave address %s is not 16 hex digits", s->cfg->addr);
            free(c->slaves);
            free(c);
            return -1;
        }
        for (unsigned p = 0; p < 2; p++)
            s->out[p] = device_output_index(dev, OUTPUT_PROBE, (int)p + 1, i);
    }
    nix1_device_state_path(sd->bus->port, c->state_path, sizeof c->state_path);
    loop_timer_init(&c->reopen, reopen_cb, c);
    loop_timer_init(&c->kick, kick_cb, c);
    loop_timer_init(&c->tick, tick_cb, c);
    dev->priv = c;
    publish_all(c);
    return 0;
}

static int n1_start(struct device *dev)
{
    struct n1dev *c = priv(dev);
    c->started = true;
    if (!c->bus)
        try_open(c);
    return 0;
}

static void n1_stop(struct device *dev)
{
    struct n1dev *c = priv(dev);
    c->started = false;
    loop_timer_disarm(dev->loop, &c->reopen);
    if (c->bus)
        nix1_bus_set_polling(c->bus, false);
}

static void fail_queue(struct n1dev *c, struct n1_job **head, const char *why)
{
    while (*head) {
        struct n1_job *j = *head;
        *head = j->next;
        for (size_t k = 0; k < j->n; k++)
            job_fail_output(j, k, DEVICE_RESULT_OFFLINE, why);
        job_finish(c, j);
    }
}

static void n1_destroy(struct device *dev)
{
    struct n1dev *c = priv(dev);
    if (!c)
        return;
    c->dying = true;
    loop_timer_disarm(dev->loop, &c->reopen);
    loop_timer_disarm(dev->loop, &c->kick);
    loop_timer_disarm(dev->loop, &c->tick);
    fail_queue(c, &c->queue, "stopped");
    if (c->bus) {
        nix1_bus_remove_listener(c->bus, &c->lis);
        nix1_door_unlisten(c->door);
        nix1_bus_free(c->bus); /* an operation on the wire ends here; its report arrives while dying */
        c->bus = NULL;
    }
    if (c->cur) {
        struct n1_job *j = c->cur;
        c->cur = NULL;
        for (size_t k = 0; k < j->n; k++)
            job_fail_output(j, k, DEVICE_RESULT_OFFLINE, "stopped");
        job_finish(c, j);
    }
    state_save(c);
    nix1_door_free(c->door);
    c->door = NULL;
    free(c->slaves);
    free(c);
    dev->priv = NULL;
}

nix1_bus_t *nix1_device_bus(const struct device *dev)
{
    return dev && dev->ops == &nix1_device_ops && dev->priv ? priv(dev)->bus : NULL;
}

struct nix1_door *nix1_device_door(const struct device *dev)
{
    return dev && dev->ops == &nix1_device_ops && dev->priv ? priv(dev)->door : NULL;
}

const struct device_ops nix1_device_ops = {
    .kind = "nix1",
    .init = n1_init,
    .start = n1_start,
    .stop = n1_stop,
    .command = n1_command,
    .supports = n1_supports,
    .destroy = n1_destroy,
};
