/* nix1_device: the NiX1 bus adapter (bus master + door profile → site events, link and probe states). */
#include "drivers/nix1/nix1_device.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/durable.h"
#include "core/statedir.h"
#include "drivers/nix1/nix1_access.h"
#include "drivers/nix1/nix1_cmd.h"
#include "drivers/nix1/nix1_line.h"
#include "drivers/nix1/nix1_prov.h"
#include "drivers/nix1/nix1_rc.h"
#include "drivers/nix1/nix1_xfer.h"

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
    /* A hold remembered from a previous run may be a timed-open window left behind (start-up check). */
    bool check_leftover, leftover_queued;
    bool left_qt, left_qh;         /* what the check read: the slave's clock and its cron */
    int64_t left_slave_ts, left_host_us;
    int left_tz;
    bool left_has_cron;
    char left_cron[CRON_TEXT_MAX + 1];
    bool round_done;               /* Qe round: this slave answered "no more entries" (or an error) */
};

enum n1_step_kind { N1_SNAPSHOT, N1_HOLD, N1_LOCK, N1_TIMED, N1_EMERG, N1_MARK_EMERG, N1_RESTORE,
                    N1_REQS,       /* the job's requests up to r_end, one after the other (settings, reads) */
                    N1_LEFTOVER,   /* decide on a leftover timed-open window from what N1_REQS read */
                    N1_XFER,       /* upload the job's file (nix1_xfer, verified with Qp) */
                    N1_PROV };     /* provision the slave from the bus's server_dir (nix1_prov) */

struct n1_step {
    enum n1_step_kind kind;
    size_t slave;                  /* index into c->slaves (SIZE_MAX: all) */
    unsigned probe;
    bool on;
    unsigned minutes;
    size_t r_end;                  /* N1_REQS */
};

/* Settings of DEVICE_SLAVE_SET, in the order they are applied (Nz last: the slave switches its rate). */
enum n1_key { K_LOCK_0, K_LOCK_1, K_UNIT_0, K_UNIT_1, K_VALID, K_BAD, K_CRON, K_CRON_MODE, K_MODE, K_OD_0,
              K_OD_1, K_TIMEZONE, K_BAUDRATE, K_COUNT };
static const char *const n1_keys[K_COUNT] = {
    "LOCK_0", "LOCK_1", "UNIT_0", "UNIT_1", "VALID_ACCESS_TIMEOUT", "BAD_ACCESS_TIMEOUT", "CRON", "CRON_MODE",
    "MODE", "OD_SPEED_0", "OD_SPEED_1", "TIMEZONE", "BAUDRATE",
};

enum n1_req_tag { R_SET, R_GET, R_LEFT_QT, R_LEFT_QH,
                  R_LIST,          /* Qi<ext>: the data lines are files, appended to the job's text */
                  R_FILE };        /* Qg<name>: the data lines are the file, joined into the job's text */
enum n1_guard { G_NONE, G_NOT_EMERGENCY, G_NOT_HELD };

/* One request of an N1_REQS step. */
struct n1_req {
    size_t slave;
    char cmd, arg;
    char opt[CRON_TEXT_MAX + 24];
    enum n1_req_tag tag;
    size_t k;                      /* R_SET: job output; R_GET: enum n1_key of the value read */
    enum n1_guard guard;           /* checked when the request is due */
    bool clock;                    /* Nt: opt holds the zone; the host's UTC time is put in front when sent */
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
    struct n1_req *reqs;           /* N1_REQS */
    size_t nreqs, rpos;
    bool inflight;
    device_settings_fn got;        /* slave_get: the settings read, reported by job_finish */
    struct device_setting *gv;
    size_t gn;
    unsigned gfail;
    char gerr[160];
    /* slave files: a listing or a file read (got_text), an upload (N1_XFER), a provisioning (N1_PROV) */
    device_text_fn got_text;
    char *text;
    size_t tlen;
    char fname[13];
    char *fdata;
    size_t flen;
    struct nix1_xfer *xfer;
    struct nix1_prov *prov;
    bool long_started, long_done;  /* N1_XFER / N1_PROV: started, its callback has run */
    device_step_fn step;
    void *step_ctx;
};

struct n1dev {
    struct device *dev;
    const struct site_bus *cfg;
    nix1_bus_t *bus;
    struct nix1_door *door;
    struct nix1_bus_listener lis;
    size_t n;
    struct n1_slave *slaves;
    loop_timer_t reopen, kick, tick, round;
    unsigned reopen_ms;
    char open_err[200];
    bool started, dying, transport_ok;
    struct n1_job *queue, *cur;
    struct n1_job *lng;            /* an upload or a provisioning: beside the queue (its requests interleave
                                    * with door operations on the bus, so an emergency never waits for it) */
    char state_path[SITE_PATH_MAX];
};

static struct n1dev *priv(const struct device *dev) { return dev->priv; }

/* ---- state file ---- */

char *nix1_device_state_path(const struct site *site, const struct site_bus *bus, char *buf, size_t len)
{
    char err[160];
    if (statedir_device_path(site->name, "nix1", bus->name, bus->port, buf, len, err, sizeof err) < 0)
        buf[0] = '\0';
    return buf;
}

static void state_save(struct n1dev *c)
{
    if (!c->door || !c->state_path[0])
        return;
    size_t len = 0;
    char *text = nix1_door_save(c->door, &len);
    if (!text)
        return;
    (void)durable_write(c->state_path, text, len, 0600, 0, NULL, 0);
    free(text);
}

static void state_load(struct n1dev *c)
{
    char *buf;
    size_t len;
    if (!c->state_path[0] || durable_read(c->state_path, 1u << 20, &buf, &len) < 0)
        return;
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

static void queue_leftover(struct n1dev *c, size_t si);

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
    if (st == NIX1_SLAVE_ONLINE && s->check_leftover && c->door)
        queue_leftover(c, (size_t)si);
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
    for (size_t i = 0; i < j->nsteps; i++)
        if (j->steps[i].kind == N1_LEFTOVER && j->c && j->steps[i].slave < j->c->n)
            j->c->slaves[j->steps[i].slave].leftover_queued = false;
    free(j->reqs);
    free(j->gv);
    free(j->text);
    free(j->fdata);
    if (j->prov)
        nix1_prov_free(j->prov);
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

/* Report every output (a success may carry its own message in msg), call done, free. */
static void job_finish(struct n1dev *c, struct n1_job *j)
{
    for (size_t k = 0; k < j->n; k++)
        if (j->result)
            j->result(j->ctx, j->outs[k], j->failed[k] ? j->res[k] : DEVICE_RESULT_OK,
                      j->failed[k] || j->msg[k][0] ? j->msg[k] : j->okmsg[0] ? j->okmsg : "ok");
    if (j->got) {
        if (j->gfail > 1) {
            size_t l = strlen(j->gerr);
            snprintf(j->gerr + l, sizeof j->gerr - l, " (and %u more not read)", j->gfail - 1);
        }
        j->got(j->ctx, j->gv, j->gn, j->gerr[0] ? j->gerr : NULL);
    }
    if (j->got_text)
        j->got_text(j->ctx, j->text ? j->text : (j->gerr[0] ? NULL : ""), j->tlen, j->gerr[0] ? j->gerr : NULL);
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
    j->steps[j->nsteps++] = (struct n1_step){ kind, slave, probe, on, minutes, 0 };
}

/* Fail every output of a job (and a settings read) with the same reason. */
static void job_fail_all(struct n1_job *j, enum device_result r, const char *why)
{
    for (size_t k = 0; k < j->n; k++)
        job_fail_output(j, k, r, why);
    if ((j->got || j->got_text) && !j->gerr[0]) {
        snprintf(j->gerr, sizeof j->gerr, "%s", why);
        j->gfail = 1;
    }
}

/* ---- requests of an N1_REQS step (slave settings, reads) ---- */

static int add_req(struct n1_job *j, size_t si, char cmd, char arg, const char *opt, enum n1_req_tag tag, size_t k)
{
    struct n1_req *nr = realloc(j->reqs, (j->nreqs + 1) * sizeof *nr);
    if (!nr)
        return -1;
    j->reqs = nr;
    struct n1_req *q = &nr[j->nreqs++];
    memset(q, 0, sizeof *q);
    q->slave = si;
    q->cmd = cmd;
    q->arg = arg;
    snprintf(q->opt, sizeof q->opt, "%s", opt ? opt : "");
    q->tag = tag;
    q->k = k;
    return 0;
}

/* An N1_REQS step covering the requests added since the previous one. */
static void add_reqs_step(struct n1_job *j, size_t si)
{
    struct n1_step *ns = realloc(j->steps, (j->nsteps + 1) * sizeof *ns);
    if (!ns)
        return;
    j->steps = ns;
    j->steps[j->nsteps++] = (struct n1_step){ .kind = N1_REQS, .slave = si, .r_end = j->nreqs };
}

static void get_add(struct n1_job *j, enum n1_key k, const char *val, size_t len)
{
    if (!j->gv || j->gn >= K_COUNT)
        return;
    struct device_setting *st = &j->gv[j->gn++];
    snprintf(st->key, sizeof st->key, "%s", n1_keys[k]);
    snprintf(st->value, sizeof st->value, "%.*s", (int)len, val);
}

static void get_fail(struct n1_job *j, const struct n1_req *q, const char *why)
{
    if (!j->gfail++)
        snprintf(j->gerr, sizeof j->gerr, "%s not read (Q%c%.4s): %.100s", q->tag == R_GET ? n1_keys[q->k] : "setting",
                 q->arg, q->opt, why);
}

/* What a failed request says: the slave's code with its name and meaning, or why nothing came back. */
static void req_fail_text(const struct nix1_result *r, char *buf, size_t len)
{
    if (r->status == NIX1_ST_REPLY)
        snprintf(buf, len, "%02X %s (%s)", r->rc, nix1_rc_name(r->rc), nix1_rc_meaning(r->rc));
    else if (r->status == NIX1_ST_CANCELLED)
        snprintf(buf, len, "stopped");
    else
        snprintf(buf, len, "no answer (%s)", r->error ? r->error : nix1_status_str(r->status));
}

/* Read a setting from a query's reply; false when the reply is not what the spec says. */
static bool get_parse(struct n1_job *j, const struct n1_req *q, const struct nix1_result *r)
{
    uint64_t v;
    const char *p = r->payload ? r->payload : "";
    size_t len = r->payload ? r->payload_len : 0;
    switch (q->k) {
    case K_UNIT_0:
    case K_UNIT_1:
        if (r->rc == NIX1_RC_ERROR_UNIT) { /* unset */
            get_add(j, (enum n1_key)q->k, "", 0);
            return true;
        }
        if (r->rc != NIX1_RC_OK || !nix1_parse_uint(p, len, 65534, &v))
            return false;
        break;
    case K_CRON:
        if (r->rc == NIX1_RC_ERROR_SYNTAX) { /* no cron */
            get_add(j, K_CRON, "", 0);
            return true;
        }
        if (r->rc != NIX1_RC_OK || len >= sizeof j->gv[0].value)
            return false;
        break;
    case K_OD_0: { /* Qv: both probes */
        struct nix1_span f[3];
        if (r->rc != NIX1_RC_OK || nix1_fields_split(p, len, f, 2) != 2 || !nix1_parse_uint(f[0].p, f[0].len, 1, &v) ||
            !nix1_parse_uint(f[1].p, f[1].len, 1, &v))
            return false;
        get_add(j, K_OD_0, f[0].p, f[0].len);
        get_add(j, K_OD_1, f[1].p, f[1].len);
        return true;
    }
    case K_TIMEZONE: { /* Qt: ts and zone */
        struct nix1_span f[3];
        int tz;
        char z[6];
        if (r->rc != NIX1_RC_OK || nix1_fields_split(p, len, f, 2) != 2 || !nix1_parse_tz(f[1].p, f[1].len, &tz))
            return false;
        nix1_format_tz(tz, z);
        get_add(j, K_TIMEZONE, z, strlen(z));
        return true;
    }
    default: {
        uint64_t max = q->k == K_LOCK_0 || q->k == K_LOCK_1 ? 1 : q->k == K_CRON_MODE || q->k == K_MODE ? 3 : 255;
        if (r->rc != NIX1_RC_OK || !nix1_parse_uint(p, len, max, &v))
            return false;
        char t[8];
        snprintf(t, sizeof t, "%u", (unsigned)v);
        get_add(j, (enum n1_key)q->k, t, strlen(t));
        return true;
    }
    }
    get_add(j, (enum n1_key)q->k, p, len);
    return true;
}

/* A setting took: keep the remembered state (what a release or an emergency restore puts back) current. */
static void remember_set(struct n1dev *c, const struct n1_req *q)
{
    struct nix1_door_slave *ds = nix1_door_slave(c->door, &c->slaves[q->slave].addr, false);
    if (!ds || !ds->known || ds->in_emergency)
        return;
    if (q->cmd == 'N' && q->arg == 'l' && (q->opt[0] == '1' || q->opt[0] == '2'))
        ds->lock[q->opt[0] - '1'] = q->opt[2] == '1';
    if (ds->held)
        return;
    if (q->cmd == 'N' && q->arg == 'h') {
        ds->has_cron = true;
        snprintf(ds->cron, sizeof ds->cron, "%.160s", q->opt);
    } else if (q->cmd == 'D' && q->arg == 'h') {
        ds->has_cron = false;
        ds->cron[0] = '\0';
    } else if (q->cmd == 'N' && q->arg == 'o') {
        ds->cron_mode = (uint8_t)atoi(q->opt);
    }
}

/* Why a setting may not be sent now (the slave's door state is portier's), or NULL. */
static const char *req_guard(struct n1dev *c, const struct n1_req *q)
{
    const struct nix1_door_slave *ds = nix1_door_slave(c->door, &c->slaves[q->slave].addr, false);
    if (!ds || q->guard == G_NONE)
        return NULL;
    if (ds->in_emergency)
        return "not sent: an emergency holds this slave open; end it first";
    if (q->guard == G_NOT_HELD && (ds->held || c->slaves[q->slave].timed_until_us))
        return "not sent: portier holds this door open (hold or timed open); release it first";
    return NULL;
}

/* Qi: append "NAME<TAB>SIZE<LF>" per file; Qg: append the file's lines (each + LF). */
static void text_add(struct n1_job *j, const struct n1_req *q, const struct nix1_result *r)
{
    size_t need = j->tlen + 1;
    for (size_t i = 0; i < r->nlines; i++)
        need += strlen(r->lines[i]) + 24;
    char *t = realloc(j->text, need);
    if (!t) {
        if (!j->gfail++)
            snprintf(j->gerr, sizeof j->gerr, "out of memory");
        return;
    }
    j->text = t;
    for (size_t i = 0; i < r->nlines; i++) {
        char name[13];
        uint64_t size = 0;
        int w;
        if (q->tag == R_FILE)
            w = snprintf(t + j->tlen, need - j->tlen, "%s\n", r->lines[i]);
        else if (nix1_xfer_parse_list_line(r->lines[i], name, &size))
            w = snprintf(t + j->tlen, need - j->tlen, "%s\t%llu\n", name, (unsigned long long)size);
        else
            continue;
        if (w > 0)
            j->tlen += (size_t)w;
    }
    t[j->tlen] = '\0';
}

/* The outcome of j->reqs[j->rpos]; a slave that does not answer gets nothing more of this step. */
static void req_result(struct n1dev *c, struct n1_job *j, const struct nix1_result *r)
{
    const struct n1_step *st = &j->steps[j->pos];
    struct n1_req *q = &j->reqs[j->rpos++];
    struct n1_slave *s = &c->slaves[q->slave];
    bool reply = r->status == NIX1_ST_REPLY;
    char why[96];
    req_fail_text(r, why, sizeof why);
    switch (q->tag) {
    case R_SET:
        if (reply && r->rc == NIX1_RC_OK) {
            if (j->outs[q->k] != SIZE_MAX) /* a re-apply keeps its summary (okmsg) */
                snprintf(j->msg[q->k], sizeof j->msg[q->k], "%s", q->clock ? "ok (clock set to the host time)" : "ok");
            remember_set(c, q);
        } else {
            char m[96];
            snprintf(m, sizeof m, "%c%c: %.88s", q->cmd, q->arg, why);
            job_fail_output(j, q->k, reply ? DEVICE_RESULT_FAILED : DEVICE_RESULT_TIMEOUT, m);
        }
        break;
    case R_GET:
        if (!reply || !get_parse(j, q, r))
            get_fail(j, q, reply && r->rc == NIX1_RC_OK ? "unexpected answer" : why);
        break;
    case R_LEFT_QT: {
        struct nix1_span f[3];
        uint64_t ts;
        int tz;
        if (reply && r->rc == NIX1_RC_OK && nix1_fields_split(r->payload, r->payload_len, f, 2) == 2 &&
            nix1_parse_uint(f[0].p, f[0].len, 9999999999ull, &ts) && nix1_parse_tz(f[1].p, f[1].len, &tz)) {
            s->left_qt = true;
            s->left_slave_ts = (int64_t)ts;
            s->left_tz = tz;
            s->left_host_us = event_now_us();
        }
        break;
    }
    case R_LIST:
    case R_FILE:
        if (reply && (r->rc == NIX1_RC_OK || r->rc == NIX1_RC_EOT)) /* multi-line replies end with 04 */
            text_add(j, q, r);
        else if (!j->gfail++)
            snprintf(j->gerr, sizeof j->gerr, "%c%c%.13s: %.120s", q->cmd, q->arg, q->opt, why);
        break;
    case R_LEFT_QH:
        if (reply && r->rc == NIX1_RC_ERROR_SYNTAX) {
            s->left_qh = true;
            s->left_has_cron = false;
        } else if (reply && r->rc == NIX1_RC_OK && r->payload_len <= CRON_TEXT_MAX) {
            s->left_qh = true;
            s->left_has_cron = true;
            snprintf(s->left_cron, sizeof s->left_cron, "%s", r->payload);
        }
        break;
    }
    if (reply)
        return;
    while (j->rpos < st->r_end && j->reqs[j->rpos].slave == q->slave) {
        struct n1_req *n = &j->reqs[j->rpos++];
        if (n->tag == R_SET)
            job_fail_output(j, n->k, r->status == NIX1_ST_CANCELLED ? DEVICE_RESULT_OFFLINE : DEVICE_RESULT_TIMEOUT,
                            r->status == NIX1_ST_CANCELLED ? "not sent: stopped" : "not sent: the slave did not answer");
        else if (n->tag == R_GET)
            get_fail(j, n, why);
        else if ((n->tag == R_LIST || n->tag == R_FILE) && !j->gfail++)
            snprintf(j->gerr, sizeof j->gerr, "%c%c%.13s: %.120s", n->cmd, n->arg, n->opt, why);
    }
}

static void on_req(nix1_bus_t *bus, const struct nix1_result *r, void *arg)
{
    (void)bus;
    struct n1dev *c = arg;
    struct n1_job *j = c->cur;
    if (!j || !j->inflight || j->pos >= j->nsteps || j->rpos >= j->nreqs)
        return;
    j->inflight = false;
    req_result(c, j, r);
    if (!c->dying)
        loop_timer_arm_us(c->dev->loop, &c->kick, 0);
}

/* Send the step's next request; true when one is on its way (on_req follows), false when the step is done. */
static bool reqs_next(struct n1dev *c, struct n1_job *j, const struct n1_step *st)
{
    while (j->rpos < st->r_end) {
        struct n1_req *q = &j->reqs[j->rpos];
        const char *no = req_guard(c, q);
        if (no) {
            if (q->tag == R_SET)
                job_fail_output(j, q->k, DEVICE_RESULT_FAILED, no);
            j->rpos++;
            continue;
        }
        char opt[sizeof q->opt + 24];
        if (q->clock)
            snprintf(opt, sizeof opt, "%lld\t%s", (long long)time(NULL), q->opt);
        else
            snprintf(opt, sizeof opt, "%s", q->opt);
        struct nix1_request_spec rq = { .addr = c->slaves[q->slave].addr, .cmd = q->cmd, .arg = q->arg,
                                        .opt = opt, .prio = NIX1_PRIO_CONFIG };
        long id = nix1_bus_submit(c->bus, &rq, on_req, c);
        if (id > 0) {
            j->inflight = true;
            return true;
        }
        struct nix1_result fake = { .status = NIX1_ST_REPLY, .rc = (uint8_t)-id, .payload = "" };
        req_result(c, j, &fake);
    }
    return false;
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

static int popcount64(uint64_t v)
{
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

static void leftover_event(struct n1dev *c, size_t si, enum event_severity sev, const char *text)
{
    struct n1_slave *s = &c->slaves[si];
    struct event ev;
    event_init(&ev, EVENT_COMMAND, sev);
    slave_label(s, ev.device, sizeof ev.device);
    nix1_addr_format(&s->addr, ev.addr);
    event_copy(ev.code_name, sizeof ev.code_name, "timed open");
    event_set_text(&ev, "%s", text);
    device_report_event(c->dev, &ev);
}

/* A slave remembered as held when this run started: a hold (`* * * * *`) stays, a timed-open window
 * (`m1-m2 H D M *`, `* H1-H2 D M *`: one day of one month) still running is taken over (released at its
 * end), one that has passed is released now: the slave closed the door itself, but the window would match
 * again on the same date next year. */
static void leftover_decide(struct n1dev *c, struct n1_job *j, size_t si)
{
    struct n1_slave *s = &c->slaves[si];
    char text[CRON_TEXT_MAX + 120];
    if (!s->left_has_cron) {
        add_step(j, N1_HOLD, si, 0, false, 0);
        leftover_event(c, si, EVENT_NORMAL, "held by a previous run but without a cron now: schedule restored");
        return;
    }
    if (strcmp(s->left_cron, NIX1_DOOR_OPEN_CRON) == 0)
        return; /* a hold survives restarts on purpose */
    struct cron cr;
    if (cron_parse_str(s->left_cron, &cr, NULL, 0) < 0 || popcount64(cr.dom) != 1 || popcount64(cr.month) != 1 ||
        cr.dow != 0x7f) {
        snprintf(text, sizeof text, "held by a previous run, but its cron \"%s\" is neither a hold nor a timed-open "
                 "window: left as it is", s->left_cron);
        leftover_event(c, si, EVENT_WARNING, text);
        return;
    }
    time_t now = (time_t)s->left_slave_ts;
    if (cron_match(&cr, now, s->left_tz)) {
        time_t end = cron_next_change(&cr, now, s->left_tz, 2 * 86400);
        if (end > now) {
            s->timed_until_us = s->left_host_us + (int64_t)(end - now) * 1000000;
            s->timed_want_us = s->timed_until_us;
            if (!c->dying)
                loop_timer_arm_us(c->dev->loop, &c->tick, 0);
            snprintf(text, sizeof text, "timed open of a previous run still running (%s): released when it ends",
                     s->left_cron);
            leftover_event(c, si, EVENT_NORMAL, text);
        }
        return;
    }
    add_step(j, N1_HOLD, si, 0, false, 0);
    snprintf(text, sizeof text, "timed open of a previous run has ended (%s): schedule restored", s->left_cron);
    leftover_event(c, si, EVENT_NORMAL, text);
}

/* ---- slave files: upload and provisioning, one long operation on the bus ---- */

static void on_xfer(void *arg, const struct nix1_xfer_result *r)
{
    struct n1dev *c = arg;
    struct n1_job *j = c->lng;
    if (!j || !j->xfer)
        return;
    j->xfer = NULL; /* freed by nix1_xfer after this call */
    j->long_done = true;
    if (r->ok) {
        snprintf(j->okmsg, sizeof j->okmsg, "%zu bytes in %u packet(s), verified (CRC %04X)%s", r->bytes, r->packets,
                 r->crc, r->resends || r->restarts ? ", with resends" : "");
    } else {
        char m[96];
        snprintf(m, sizeof m, "%.95s", r->msg);
        job_fail_output(j, 0, r->status == NIX1_ST_REPLY ? DEVICE_RESULT_FAILED : DEVICE_RESULT_TIMEOUT, m);
    }
    if (!c->dying)
        loop_timer_arm_us(c->dev->loop, &c->kick, 0);
}

static void on_prov_line(void *arg, const char *line)
{
    struct n1dev *c = arg;
    if (c->lng && c->lng->prov && c->lng->step && !c->dying)
        c->lng->step(c->lng->step_ctx, 0, 0, line);
}

static void on_prov(void *arg, const struct nix1_prov_report *r)
{
    struct n1dev *c = arg;
    struct n1_job *j = c->lng;
    if (!j || !j->prov || j->long_done)
        return;
    j->long_done = true;
    char m[96];
    snprintf(m, sizeof m, "%zu record(s) in %zu command(s), %zu file(s) pushed, %zu deleted%s", r->records,
             r->commands, r->files_pushed, r->deleted, r->verified ? ", verified" : "");
    if (r->failed || r->unreachable || !r->verified)
        job_fail_output(j, 0, r->unreachable ? DEVICE_RESULT_TIMEOUT : DEVICE_RESULT_FAILED,
                        r->unreachable ? "the slave did not answer" : m);
    else
        snprintf(j->okmsg, sizeof j->okmsg, "%s", r->changed_slaves ? m : "already up to date, verified");
    if (!c->dying)
        loop_timer_arm_us(c->dev->loop, &c->kick, 0);
}

static void long_start(struct n1dev *c, struct n1_job *j, enum n1_step_kind kind, size_t si)
{
    char e[200] = "";
    j->long_started = true;
    if (kind == N1_XFER) {
        struct nix1_xfer_opts o = { .verify = true, .prio = NIX1_PRIO_CONFIG };
        j->xfer = nix1_xfer_upload(c->bus, &c->slaves[si].addr, j->fname, j->fdata, j->flen, &o, on_xfer, c, e,
                                   sizeof e);
        if (j->xfer && j->step)
            j->step(j->step_ctx, 0, (unsigned)((j->flen + NIX1_XFER_BLOCK_MAX - 1) / NIX1_XFER_BLOCK_MAX), NULL);
        if (j->xfer)
            return;
    } else {
        struct nix1_prov_opts o = { .log = on_prov_line, .log_arg = c };
        j->prov = nix1_prov_start(c->bus, c->cfg->server_dir, &c->slaves[si].addr, 1, &o, on_prov, c, e, sizeof e);
        if (j->prov)
            return;
    }
    j->long_done = true;
    char m[96];
    snprintf(m, sizeof m, "not started: %.80s", e[0] ? e : "out of memory");
    job_fail_output(j, 0, DEVICE_RESULT_FAILED, m);
}

static void job_start_step(struct n1dev *c)
{
    struct n1_job *j = c->cur;
    while (j->pos < j->nsteps) {
        struct n1_step *st = &j->steps[j->pos];
        struct n1_slave *s = st->slave < c->n ? &c->slaves[st->slave] : NULL;
        int rc = -1;
        switch (st->kind) {
        case N1_REQS:
            if (j->inflight || reqs_next(c, j, st))
                return; /* on_req follows */
            rc = 1;
            break;
        case N1_LEFTOVER: {
            rc = 1;
            s->leftover_queued = false;
            const struct nix1_door_slave *ds = nix1_door_slave(c->door, &s->addr, false);
            if (!ds || !ds->held || ds->in_emergency) {
                s->check_leftover = false;
                break;
            }
            if (!s->left_qt || !s->left_qh)
                break; /* no answer: checked again when the slave is back online */
            s->check_leftover = false;
            leftover_decide(c, j, st->slave);
            break;
        }
        case N1_XFER:
        case N1_PROV:
            rc = 1; /* run beside the queue (c->lng), never as a queued step */
            break;
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
    if (c->lng) {
        struct n1_job *l = c->lng;
        if (!l->long_started) {
            if (!c->door) {
                l->long_started = l->long_done = true;
                job_fail_all(l, DEVICE_RESULT_OFFLINE, c->open_err[0] ? c->open_err : "bus not open");
            } else {
                long_start(c, l, l->steps[0].kind, l->steps[0].slave);
            }
        }
        if (l->long_done) {
            c->lng = NULL;
            job_finish(c, l);
        }
    }
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
            job_fail_all(j, DEVICE_RESULT_OFFLINE, c->open_err[0] ? c->open_err : "bus not open");
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
    if (op == DEVICE_SLAVE_SET || op == DEVICE_SLAVE_FILE_PUT || op == DEVICE_SLAVE_FILE_DELETE ||
        op == DEVICE_SLAVE_PROVISION)
        return true; /* a slave of the bus, not an output */
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

/* One DEVICE_SLAVE_SET setting → its request; -1 when it cannot be sent (why says so). */
static int setting_req(struct n1dev *c, struct n1_job *j, size_t si, enum n1_key k, const char *v, size_t out,
                       char *why, size_t wl)
{
    char opt[CRON_TEXT_MAX + 24];
    char cmd = 'N', arg = 0;
    enum n1_guard guard = G_NONE;
    bool empty_ok = false, clock = false;
    unsigned p = k == K_LOCK_1 || k == K_UNIT_1 || k == K_OD_1 ? 2 : 1;
    snprintf(opt, sizeof opt, "%s", v);
    switch (k) {
    case K_LOCK_0: case K_LOCK_1:
        arg = 'l';
        guard = G_NOT_EMERGENCY;
        snprintf(opt, sizeof opt, "%u\t%s", p, v);
        break;
    case K_UNIT_0: case K_UNIT_1:
        empty_ok = true;
        if (v[0]) {
            arg = 'u';
            snprintf(opt, sizeof opt, "%u\t%s", p, v);
        } else {
            cmd = 'D';
            arg = 'u';
            snprintf(opt, sizeof opt, "%u", p);
        }
        break;
    case K_VALID: arg = 'c'; break;
    case K_BAD: arg = 'b'; break;
    case K_CRON:
        empty_ok = true;
        guard = G_NOT_HELD;
        if (v[0]) {
            arg = 'h';
        } else {
            cmd = 'D';
            arg = 'h';
        }
        break;
    case K_CRON_MODE: arg = 'o'; guard = G_NOT_HELD; break;
    case K_MODE: arg = 'm'; break;
    case K_OD_0: case K_OD_1:
        arg = 'v';
        snprintf(opt, sizeof opt, "%u\t%s", p, v);
        break;
    case K_TIMEZONE: {
        int tz;
        if (!nix1_parse_tz(v, strlen(v), &tz)) {
            snprintf(why, wl, "not sent: the zone is +HHMM or -HHMM (e.g. +0100)");
            return -1;
        }
        arg = 't';
        clock = true;
        break;
    }
    case K_BAUDRATE: {
        unsigned bus = c->bus ? nix1_bus_baud(c->bus) : c->cfg->baud;
        char *end;
        unsigned long b = strtoul(v, &end, 10);
        if (!v[0] || *end || !nix1_baud_valid(b)) {
            snprintf(why, wl, "not sent: 1200 2400 4800 9600 19200 38400 57600 115200");
            return -1;
        }
        if (b == bus) {
            snprintf(j->msg[out], sizeof j->msg[out], "ok (the bus rate; nothing to change)");
            return 0;
        }
        snprintf(why, wl, "a bus has one rate (%u): use portierctl nix1 PORT --broadcast baud set %lu", bus, b);
        return -1;
    }
    case K_COUNT: return -1;
    }
    if (!v[0] && !empty_ok) {
        snprintf(why, wl, "not sent: a value is required");
        return -1;
    }
    /* The slave's own checks (§5.5 steps 7-8), locally: nothing malformed goes on the wire. */
    const struct nix1_cmd *cd = nix1_cmd_lookup(cmd, arg);
    char chk[CRON_TEXT_MAX + 40], w[80] = "";
    snprintf(chk, sizeof chk, clock ? "0\t%s" : "%s", opt);
    uint8_t rc = cd ? nix1_cmd_check(cd, chk, strlen(chk), w, sizeof w) : NIX1_RC_ERROR_ARG;
    if (rc != NIX1_RC_OK) {
        snprintf(why, wl, "not sent: %02X %s: %s", rc, nix1_rc_name(rc), w[0] ? w : nix1_rc_meaning(rc));
        return -1;
    }
    if (add_req(j, si, cmd, arg, opt, R_SET, out) < 0) {
        snprintf(why, wl, "out of memory");
        return -1;
    }
    j->reqs[j->nreqs - 1].guard = guard;
    j->reqs[j->nreqs - 1].clock = clock;
    return 0;
}

/* DEVICE_SLAVE_SET: one request per setting, in the n1_key order, at configuration priority. */
static int slave_set_command(struct n1dev *c, const struct device_cmd *cmd, char *err, size_t errlen)
{
    if (cmd->slave >= c->n) {
        snprintf(err, errlen, "no slave %zu on this bus", cmd->slave);
        return -1;
    }
    if (cmd->n_settings > DEVICE_SETTINGS_MAX || (cmd->n_settings && !cmd->settings)) {
        snprintf(err, errlen, "at most %d settings at once", DEVICE_SETTINGS_MAX);
        return -1;
    }
    size_t si = cmd->slave;
    const struct site_slave *cfg = c->slaves[si].cfg;
    struct n1_job *j = job_new(c, cmd, cmd->n_settings ? cmd->n_settings : 1);
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (cmd->n_settings == 0) {
        /* Re-apply what the configuration holds for the slave: one device-wide result. */
        j->outs[0] = SIZE_MAX;
        char opt[24];
        size_t off = 0;
        for (unsigned p = 0; p < 2; p++)
            if (cfg->probe_units[p] >= 0) {
                snprintf(opt, sizeof opt, "%u\t%d", p + 1, cfg->probe_units[p]);
                add_req(j, si, 'N', 'u', opt, R_SET, 0);
                off += (size_t)snprintf(j->okmsg + off, sizeof j->okmsg - off, "%sUNIT_%u=%d", off ? " " : "",
                                        p, cfg->probe_units[p]);
            }
        int tv[2] = { cfg->valid_timeout, cfg->bad_timeout };
        for (int t = 0; t < 2; t++)
            if (tv[t] >= 0 && off < sizeof j->okmsg) {
                snprintf(opt, sizeof opt, "%d", tv[t]);
                add_req(j, si, 'N', t ? 'b' : 'c', opt, R_SET, 0);
                off += (size_t)snprintf(j->okmsg + off, sizeof j->okmsg - off, "%s%s=%d", off ? " " : "",
                                        t ? "BAD_ACCESS_TIMEOUT" : "VALID_ACCESS_TIMEOUT", tv[t]);
            }
        if (!j->nreqs)
            snprintf(j->okmsg, sizeof j->okmsg, "the configuration holds no setting for this slave");
    } else {
        for (size_t i = 0; i < cmd->n_settings; i++)
            j->outs[i] = DEVICE_SETTING_RESULT(i);
        /* Unknown keys and refused values fail at once; the others are sent in the n1_key order. */
        for (size_t i = 0; i < cmd->n_settings; i++) {
            bool known = false, twice = false;
            for (int k = 0; k < K_COUNT; k++)
                known = known || strcasecmp(cmd->settings[i].key, n1_keys[k]) == 0;
            for (size_t o = 0; o < i; o++)
                twice = twice || strcasecmp(cmd->settings[i].key, cmd->settings[o].key) == 0;
            if (!known || twice) {
                char m[96];
                if (twice)
                    snprintf(m, sizeof m, "not sent: %.30s is given twice", cmd->settings[i].key);
                else
                    snprintf(m, sizeof m, "not sent: %.30s is not a NiX1 slave setting", cmd->settings[i].key);
                job_fail_output(j, i, DEVICE_RESULT_FAILED, m);
            }
        }
        for (int k = 0; k < K_COUNT; k++)
            for (size_t i = 0; i < cmd->n_settings; i++) {
                if (j->failed[i] || strcasecmp(cmd->settings[i].key, n1_keys[k]) != 0)
                    continue;
                char v[sizeof cmd->settings[i].value], why[96];
                snprintf(v, sizeof v, "%s", cmd->settings[i].value);
                if (setting_req(c, j, si, (enum n1_key)k, v, i, why, sizeof why) < 0)
                    job_fail_output(j, i, DEVICE_RESULT_FAILED, why);
                break; /* keys are unique */
            }
    }
    if (j->nreqs)
        add_reqs_step(j, si);
    enqueue(c, j);
    return 0;
}

/* Read a slave's settings (Ql1 Ql2 Qu1 Qu2 Qo Qh Qc Qb Qm Qv Qt; the baud rate is the bus's). */
static int n1_slave_get(struct device *dev, size_t slave, device_settings_fn cb, void *ctx, char *err, size_t errlen)
{
    struct n1dev *c = priv(dev);
    if (!cb || slave >= c->n) {
        snprintf(err, errlen, "no slave %zu on this bus", slave);
        return -1;
    }
    struct n1_job *j = job_new(c, NULL, 0);
    if (j)
        j->gv = calloc(K_COUNT, sizeof *j->gv);
    if (!j || !j->gv) {
        if (j)
            job_free(j);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    j->got = cb;
    j->ctx = ctx;
    static const struct { char arg; const char *opt; enum n1_key k; } q[] = {
        { 'l', "1", K_LOCK_0 }, { 'l', "2", K_LOCK_1 }, { 'u', "1", K_UNIT_0 }, { 'u', "2", K_UNIT_1 },
        { 'o', NULL, K_CRON_MODE }, { 'h', NULL, K_CRON }, { 'c', NULL, K_VALID }, { 'b', NULL, K_BAD },
        { 'm', NULL, K_MODE }, { 'v', NULL, K_OD_0 }, { 't', NULL, K_TIMEZONE },
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        add_req(j, slave, 'Q', q[i].arg, q[i].opt, R_GET, q[i].k);
    add_reqs_step(j, slave);
    char b[12];
    snprintf(b, sizeof b, "%u", c->bus ? nix1_bus_baud(c->bus) : c->cfg->baud);
    get_add(j, K_BAUDRATE, b, strlen(b));
    enqueue(c, j);
    return 0;
}

/* A file name as the slave takes it (8.3, §5.9), or false with why. */
static bool file_name_ok(const char *name, char *err, size_t errlen)
{
    const char *dot = name ? strchr(name, '.') : NULL;
    size_t base = dot ? (size_t)(dot - name) : (name ? strlen(name) : 0);
    bool ok = name && base >= 1 && base <= 8 && (!dot || (strlen(dot + 1) >= 1 && strlen(dot + 1) <= 3 &&
                                                          !strchr(dot + 1, '.')));
    for (const char *p = name; ok && *p; p++)
        ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
             *p == '_' || *p == '-';
    if (!ok)
        snprintf(err, errlen, "\"%.20s\" is not an 8.3 file name", name ? name : "");
    return ok;
}

/* DEVICE_SLAVE_FILE_PUT / _DELETE / _PROVISION: one device-wide result. */
static int slave_file_command(struct n1dev *c, const struct device_cmd *cmd, char *err, size_t errlen)
{
    if (cmd->slave >= c->n) {
        snprintf(err, errlen, "no slave %zu on this bus", cmd->slave);
        return -1;
    }
    if (cmd->op != DEVICE_SLAVE_PROVISION && !file_name_ok(cmd->file_name, err, errlen))
        return -1;
    if (cmd->op == DEVICE_SLAVE_FILE_PUT && (!cmd->file_data || !cmd->file_len)) {
        snprintf(err, errlen, "an empty file cannot be uploaded (delete it instead)");
        return -1;
    }
    if (cmd->op == DEVICE_SLAVE_FILE_PUT && cmd->file_len > 65535u * NIX1_XFER_BLOCK_MAX) {
        snprintf(err, errlen, "the file is too large for the slave (%zu bytes)", cmd->file_len);
        return -1;
    }
    if (cmd->op != DEVICE_SLAVE_FILE_DELETE && c->lng) {
        snprintf(err, errlen, "a file upload or a provisioning is already running on this bus");
        return -1;
    }
    if (cmd->op == DEVICE_SLAVE_PROVISION && !c->cfg->server_dir[0]) {
        snprintf(err, errlen, "the bus has no server_dir in the configuration");
        return -1;
    }
    struct n1_job *j = job_new(c, cmd, 1);
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    j->outs[0] = SIZE_MAX;
    j->step = cmd->step;
    j->step_ctx = cmd->step_ctx;
    if (cmd->op != DEVICE_SLAVE_PROVISION)
        snprintf(j->fname, sizeof j->fname, "%s", cmd->file_name);
    if (cmd->op == DEVICE_SLAVE_FILE_PUT) {
        j->fdata = malloc(cmd->file_len);
        if (!j->fdata) {
            job_free(j);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        memcpy(j->fdata, cmd->file_data, cmd->file_len);
        j->flen = cmd->file_len;
        add_step(j, N1_XFER, cmd->slave, 0, true, 0);
    } else if (cmd->op == DEVICE_SLAVE_FILE_DELETE) {
        add_req(j, cmd->slave, 'D', 'g', j->fname, R_SET, 0);
        add_reqs_step(j, cmd->slave);
        snprintf(j->okmsg, sizeof j->okmsg, "%s deleted", j->fname);
        enqueue(c, j);
        return 0;
    } else {
        add_step(j, N1_PROV, cmd->slave, 0, true, 0);
    }
    if (!j->nsteps) {
        job_free(j);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->lng = j; /* started by job_step, from the loop */
    loop_timer_arm_us(c->dev->loop, &c->kick, 0);
    return 0;
}

/* A read of slave files: Qi per extension (TXT and the uid letters of USERS.<C> / <unit>U.<C>), or Qg. */
static int slave_text_read(struct n1dev *c, size_t slave, const char *name, device_text_fn cb, void *ctx, char *err,
                           size_t errlen)
{
    if (!cb || slave >= c->n) {
        snprintf(err, errlen, "no slave %zu on this bus", slave);
        return -1;
    }
    if (name && !file_name_ok(name, err, errlen))
        return -1;
    struct n1_job *j = job_new(c, NULL, 0);
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    j->got_text = cb;
    j->ctx = ctx;
    if (name) {
        char opt[24];
        snprintf(opt, sizeof opt, "%s\t0", name);
        add_req(j, slave, 'Q', 'g', opt, R_FILE, 0);
    } else {
        static const char exts[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        add_req(j, slave, 'Q', 'i', "TXT", R_LIST, 0);
        for (const char *e = exts; *e; e++) {
            char opt[2] = { *e, '\0' };
            add_req(j, slave, 'Q', 'i', opt, R_LIST, 0);
        }
    }
    add_reqs_step(j, slave);
    enqueue(c, j);
    return 0;
}

static int n1_slave_files(struct device *dev, size_t slave, device_text_fn cb, void *ctx, char *err, size_t errlen)
{
    return slave_text_read(priv(dev), slave, NULL, cb, ctx, err, errlen);
}

static int n1_slave_file_get(struct device *dev, size_t slave, const char *name, device_text_fn cb, void *ctx,
                             char *err, size_t errlen)
{
    if (!name) {
        snprintf(err, errlen, "no file name");
        return -1;
    }
    return slave_text_read(priv(dev), slave, name, cb, ctx, err, errlen);
}

static int n1_command(struct device *dev, const struct device_cmd *cmd, char *err, size_t errlen)
{
    struct n1dev *c = priv(dev);
    if (cmd->op == DEVICE_SLAVE_SET)
        return slave_set_command(c, cmd, err, errlen);
    if (cmd->op == DEVICE_SLAVE_FILE_PUT || cmd->op == DEVICE_SLAVE_FILE_DELETE || cmd->op == DEVICE_SLAVE_PROVISION)
        return slave_file_command(c, cmd, err, errlen);
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

/* Check a slave remembered as held for a timed-open window left by a previous run (Qt, Qh, then decide). */
static void queue_leftover(struct n1dev *c, size_t si)
{
    struct n1_slave *s = &c->slaves[si];
    if (s->leftover_queued)
        return;
    struct n1_job *j = job_new(c, NULL, 0);
    if (!j)
        return;
    s->left_qt = s->left_qh = false;
    add_req(j, si, 'Q', 't', NULL, R_LEFT_QT, 0);
    add_req(j, si, 'Q', 'h', NULL, R_LEFT_QH, 0);
    add_reqs_step(j, si);
    add_step(j, N1_LEFTOVER, si, 0, false, 0);
    s->leftover_queued = true;
    enqueue(c, j);
}

/* ---- Qe rounds (the bus's poll_ms) ----
 * The bus master polls round-robin without pause. A round ends when every slave has answered "no more
 * entries" (04, or an error) or is in its failure backoff; then polling pauses for poll_ms. The adapter
 * watches the lines on the bus (as nix1_door does) and switches the master's polling off and on, so the
 * master's own rewind, duplicate and backoff rules stay as they are. */
static void round_check(struct n1dev *c)
{
    if (!c->bus || loop_timer_armed(&c->round) || !c->started || c->dying)
        return;
    uint64_t now = loop_now_us(c->dev->loop);
    size_t nb = nix1_bus_slave_count(c->bus);
    for (size_t i = 0; i < nb; i++) {
        struct nix1_slave_info in;
        if (!nix1_bus_slave_info(c->bus, i, &in) || in.next_poll_us > now)
            continue; /* backing off after a failure */
        ssize_t si = slave_index(c, &in.addr);
        if (si < 0 || c->slaves[si].round_done)
            continue;
        return;
    }
    for (size_t i = 0; i < c->n; i++)
        c->slaves[i].round_done = false;
    nix1_bus_set_polling(c->bus, false);
    loop_timer_arm_ms(c->dev->loop, &c->round, c->cfg->poll_ms ? c->cfg->poll_ms : 1000);
}

static void round_cb(loop_t *loop, void *arg)
{
    (void)loop;
    struct n1dev *c = arg;
    if (c->bus && c->started && !c->dying)
        nix1_bus_set_polling(c->bus, true);
}

static void on_trace(void *arg, bool tx, const char *line, size_t len)
{
    struct n1dev *c = arg;
    if (tx || !c->n)
        return;
    struct nix1_reply rep;
    if (nix1_reply_parse(line, len, &rep) != NIX1_REP_OK)
        return;
    if (rep.cmd == 'N' && rep.arg == 'y' && rep.rc == 0x06 && c->lng && c->lng->xfer && c->lng->step) {
        /* an upload packet taken: "06Ny<TAB><received><TAB><n>" (§5.9) */
        struct nix1_span f[3];
        uint64_t got, total;
        if (nix1_fields_split(rep.payload, rep.payload_len, f, 2) == 2 && nix1_parse_uint(f[0].p, f[0].len, 65535, &got) &&
            nix1_parse_uint(f[1].p, f[1].len, 65535, &total))
            c->lng->step(c->lng->step_ctx, (unsigned)got, (unsigned)total, NULL);
        return;
    }
    if (rep.arg != 'e' || (rep.cmd != 'Q' && rep.cmd != 'N'))
        return;
    ssize_t si = slave_index(c, &rep.addr);
    if (si < 0)
        return;
    /* Qe 00 = an entry (the master stays on the slave); Ne 00 = rewound (Qe follows); anything else ends the
     * slave's turn. */
    if (rep.rc != NIX1_RC_OK)
        c->slaves[si].round_done = true;
    round_check(c);
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
                                         .poll_error = on_poll_error, .transport = on_transport,
                                         .trace = on_trace, .arg = c };
    nix1_bus_add_listener(c->bus, &c->lis);
    for (size_t i = 0; i < c->n; i++)
        nix1_bus_add_slave(c->bus, &c->slaves[i].addr);
    /* Holds remembered from a previous run may be timed-open windows left behind: check them first. */
    for (size_t i = 0; i < c->n; i++) {
        const struct nix1_door_slave *ds = nix1_door_slave(c->door, &c->slaves[i].addr, false);
        c->slaves[i].check_leftover = ds && ds->held && !ds->in_emergency;
        if (c->slaves[i].check_leftover)
            queue_leftover(c, i);
    }
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
    nix1_device_state_path(dev->site, sd->bus, c->state_path, sizeof c->state_path);
    loop_timer_init(&c->reopen, reopen_cb, c);
    loop_timer_init(&c->kick, kick_cb, c);
    loop_timer_init(&c->tick, tick_cb, c);
    loop_timer_init(&c->round, round_cb, c);
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
    loop_timer_disarm(dev->loop, &c->round);
    if (c->bus)
        nix1_bus_set_polling(c->bus, false);
}

static void fail_queue(struct n1dev *c, struct n1_job **head, const char *why)
{
    while (*head) {
        struct n1_job *j = *head;
        *head = j->next;
        job_fail_all(j, DEVICE_RESULT_OFFLINE, why);
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
    loop_timer_disarm(dev->loop, &c->round);
    fail_queue(c, &c->queue, "stopped");
    if (c->lng && c->lng->xfer) {
        nix1_xfer_cancel(c->lng->xfer); /* its callback is not called */
        c->lng->xfer = NULL;
    }
    if (c->bus) {
        nix1_bus_remove_listener(c->bus, &c->lis);
        nix1_door_unlisten(c->door);
        nix1_bus_free(c->bus); /* an operation on the wire ends here; its report arrives while dying */
        c->bus = NULL;
    }
    if (c->cur) {
        struct n1_job *j = c->cur;
        c->cur = NULL;
        job_fail_all(j, DEVICE_RESULT_OFFLINE, "stopped");
        job_finish(c, j);
    }
    if (c->lng) { /* a provisioning's requests ended with the bus: it can be freed now */
        struct n1_job *j = c->lng;
        c->lng = NULL;
        job_fail_all(j, DEVICE_RESULT_OFFLINE, "stopped");
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
    .slave_get = n1_slave_get,
    .slave_files = n1_slave_files,
    .slave_file_get = n1_slave_file_get,
};
