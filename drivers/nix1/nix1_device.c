/* nix1_device: the NiX1 bus adapter: lifecycle (open, reopen, stop), the bus listener (entries, slave states,
 * Qe rounds), link and probe states, and device commands mapped to job steps. The job engine, settings, slave
 * files and timed-open windows are in nix1_dev_*.c (shared declarations: nix1_dev.h). */
#include "drivers/nix1/nix1_device.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/action.h"
#include "core/durable.h"
#include "core/statedir.h"
#include "drivers/nix1/nix1_access.h"
#include "drivers/nix1/nix1_dev.h"
#include "drivers/nix1/nix1_rc.h"
#include "drivers/nix1/nix1_reader.h"

#define N1_REOPEN_MIN_MS 1000u
#define N1_REOPEN_MAX_MS 30000u
#define N1_VALID_DEFAULT 5

static struct n1dev *priv(const struct device *dev) { return dev->priv; }

/* ---- state file ---- */

char *nix1_device_state_path(const struct site *site, const struct site_bus *bus, char *buf, size_t len)
{
    char err[160];
    if (statedir_device_path(site->name, "nix1", bus->name, bus->port, buf, len, err, sizeof err) < 0)
        buf[0] = '\0';
    return buf;
}

/* What the bus remembers of an emergency, for the site: the bus-wide one or slaves in a partial one (active), or
 * restores still due. */
static void report_emergency(struct n1dev *c, const struct nix1_door *d)
{
    bool active = nix1_door_emergency_active(d), left = nix1_door_emergency_left(d);
    for (size_t i = 0; !active && i < nix1_door_count(d); i++)
        active = nix1_door_at(d, i)->in_emergency && !nix1_door_at(d, i)->restore_pending;
    device_report_emergency(c->dev, active ? SITE_EM_ACTIVE : left ? SITE_EM_RESTORE_PENDING : SITE_EM_NONE);
}

/* nix1_door's store: durable before a door is changed. */
static int state_store(void *arg, const char *text, size_t len, char *err, size_t errlen)
{
    struct n1dev *c = arg;
    if (c->door)
        report_emergency(c, c->door);
    if (!c->state_path[0]) {
        snprintf(err, errlen, "no state directory");
        return -1;
    }
    return durable_write(c->state_path, text, len, 0600, 0, err, errlen);
}

void n1dev_state_save(struct n1dev *c)
{
    if (!c->door || !c->state_path[0])
        return;
    size_t len = 0;
    char *text = nix1_door_save(c->door, &len);
    if (!text)
        return;
    report_emergency(c, c->door);
    (void)durable_write(c->state_path, text, len, 0600, 0, NULL, 0);
    free(text);
}

/* Read the state file into d (invalid lines are skipped). */
static void state_load(struct n1dev *c, struct nix1_door *d)
{
    char *buf;
    size_t len;
    if (!c->state_path[0] || durable_read(c->state_path, 1u << 20, &buf, &len) < 0)
        return;
    (void)nix1_door_load(d, buf, len);
    free(buf);
}

/* An emergency the state file says was begun (by an earlier run, or before the port went away) is completed:
 * the bus-wide one again, or the partial one for the site's emergency probes of this bus. */
static void resume_emergency(struct n1dev *c)
{
    const struct site *site = c->dev->site;
    bool whole = nix1_door_emergency_active(c->door), any = whole;
    for (size_t i = 0; !any && i < nix1_door_count(c->door); i++)
        any = nix1_door_at(c->door, i)->in_emergency && !nix1_door_at(c->door, i)->restore_pending;
    if (!any)
        return;
    size_t n = 0;
    for (size_t i = 0; i < site->n_outputs; i++)
        n += site->outputs[i].device == c->dev->index && action_emergency_output(site, &site->outputs[i]);
    struct n1_job *j = n1dev_job_new(c, N1J_INTERNAL, NULL, n);
    if (!j)
        return;
    j->emergency = true;
    j->op = DEVICE_EMERGENCY_ON;
    n = 0;
    for (size_t i = 0; i < site->n_outputs; i++)
        if (site->outputs[i].device == c->dev->index && action_emergency_output(site, &site->outputs[i])) {
            j->r.outs[n] = i;
            j->r.slave_of[n] = site->outputs[i].slave;
            j->r.probe_of[n++] = (unsigned)site->outputs[i].number;
        }
    n1dev_add_step(j, whole ? N1_EMERG : N1_EPROBES, SIZE_MAX, 0, true, 0, 0);
    n1dev_enqueue(c, j);
    char t[160];
    snprintf(t, sizeof t, "emergency begun by an earlier run (or before the port was lost): completing it on %s",
             whole ? "the whole bus" : "the emergency doors of this bus");
    n1dev_event(c, SIZE_MAX, EVENT_EMERGENCY, EVENT_ALARM, "emergency resumed", t);
}

/* ---- probe states, link, events ---- */

static bool link_up(const struct n1dev *c) { return c->dev->site->devices[c->dev->index].link == LINK_UP; }

void n1dev_publish_slave(struct n1dev *c, size_t si)
{
    struct n1_slave *s = &c->slaves[si];
    const struct nix1_door_slave *ds = c->door ? nix1_door_find(c->door, &s->addr) : NULL;
    int64_t now = event_now_us();
    int64_t window = ds && ds->held && ds->held_until_us > now ? ds->held_until_us : 0;
    for (unsigned p = 0; p < 2; p++) {
        if (s->out[p] == SIZE_MAX)
            continue;
        if (s->grant_until_us[p] && s->grant_until_us[p] <= now)
            s->grant_until_us[p] = 0;
        struct output_state st = { 0 };
        bool emerg = ds && ds->in_emergency;
        st.emergency = emerg;
        st.held_open = emerg || (ds && ds->held && !ds->held_until_us);
        st.locked_out = !emerg && ds && ds->known && ds->lock[p];
        int64_t until = window > s->grant_until_us[p] ? window : s->grant_until_us[p];
        st.open_until_us = until;
        st.locked = !(st.held_open || until);
        st.stale = !link_up(c) || s->state == NIX1_SLAVE_OFFLINE;
        device_report_output(c->dev, s->out[p], &st);
    }
}

void n1dev_publish_all(struct n1dev *c)
{
    for (size_t i = 0; i < c->n; i++)
        n1dev_publish_slave(c, i);
}

const char *n1dev_slave_label(const struct n1_slave *s, char *buf, size_t len)
{
    if (s->cfg && s->cfg->name[0])
        snprintf(buf, len, "%s", s->cfg->name);
    else
        snprintf(buf, len, "%s", s->cfg ? s->cfg->addr : "?");
    return buf;
}

ssize_t n1dev_slave_index(const struct n1dev *c, const nix1_addr_t *a)
{
    for (size_t i = 0; i < c->n; i++)
        if (nix1_addr_equal(&c->slaves[i].addr, a))
            return (ssize_t)i;
    return -1;
}

/* An event of the bus (si = SIZE_MAX) or of one of its slaves. */
void n1dev_event(struct n1dev *c, size_t si, enum event_kind kind, enum event_severity sev, const char *code_name,
                 const char *text)
{
    struct event ev;
    event_init(&ev, kind, sev);
    if (si < c->n) {
        n1dev_slave_label(&c->slaves[si], ev.device, sizeof ev.device);
        nix1_addr_format(&c->slaves[si].addr, ev.addr);
    }
    event_copy(ev.code_name, sizeof ev.code_name, code_name);
    event_set_text(&ev, "%s", text);
    device_report_event(c->dev, &ev);
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
                                      n1dev_slave_label(&c->slaves[i], nb, sizeof nb));
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
    n1dev_publish_all(c);
}

/* ---- bus listener ---- */

static void on_access(void *arg, const nix1_addr_t *slave, const char *line, size_t len)
{
    struct n1dev *c = arg;
    struct nix1_access a;
    char perr[120];
    ssize_t si = n1dev_slave_index(c, slave);
    struct event ev;
    if (nix1_access_parse(line, len, &a, perr, sizeof perr) != 0) {
        event_init(&ev, EVENT_NIX1_ACCESS, EVENT_WARNING);
        nix1_addr_format(slave, ev.addr);
        if (si >= 0)
            n1dev_slave_label(&c->slaves[si], ev.device, sizeof ev.device);
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
        n1dev_slave_label(&c->slaves[si], ev.device, sizeof ev.device);
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
        event_set_text(&ev, "granted %s probe %u", who, a.probe);
    else
        event_set_text(&ev, "refused %s: %02X %s (%s)", who, a.code, nix1_access_code_name(&a),
                       nix1_access_code_meaning(&a));
    /* The entry's identity is the whole ACCESS line (spec §5.10: a duplicate is the full identical line): a
     * line read again after a rewind, a reboot, a replug or a restart is stored once. */
    snprintf(ev.key, sizeof ev.key, "nix1|%s|%llu|%016llx|%zu", ev.addr, (unsigned long long)a.ts,
             (unsigned long long)nix1_reader_id(line, len), len);
    device_report_event(c->dev, &ev);
    if (granted && si >= 0 && a.probe >= 1 && a.probe <= 2) {
        struct n1_slave *s = &c->slaves[si];
        int vat = s->cfg && s->cfg->valid_timeout >= 0 ? s->cfg->valid_timeout : N1_VALID_DEFAULT;
        if (vat > 0) {
            s->grant_until_us[a.probe - 1] = event_now_us() + (int64_t)vat * 1000000;
            n1dev_publish_slave(c, (size_t)si);
            n1dev_tick_soon(c);
        }
    }
}

static void on_slave_state(void *arg, const nix1_addr_t *slave, enum nix1_slave_state st)
{
    struct n1dev *c = arg;
    ssize_t si = n1dev_slave_index(c, slave);
    if (si < 0)
        return;
    struct n1_slave *s = &c->slaves[si];
    enum nix1_slave_state old = s->state;
    s->state = st;
    if (st == NIX1_SLAVE_ONLINE && s->check_held && c->door)
        n1dev_queue_check_held(c, (size_t)si);
    if (st == NIX1_SLAVE_ONLINE && c->door && !s->snap_queued && !c->dying) {
        /* Its state was not read at the start (it did not answer then): read it now that it answers, so what a
         * release or a restore puts back, and a lock-out, are known before an operation needs them. */
        const struct nix1_door_slave *ds = nix1_door_find(c->door, &s->addr);
        struct n1_job *j = ds && !ds->known && !ds->held && !ds->in_emergency && !ds->restore_pending
                               ? n1dev_job_new(c, N1J_INTERNAL, NULL, 0)
                               : NULL;
        if (j) {
            n1dev_add_step(j, N1_SNAPSHOT, (size_t)si, 0, false, 0, 0);
            s->snap_queued = true;
            n1dev_enqueue(c, j);
        }
    }
    if (old != st && (st == NIX1_SLAVE_OFFLINE || old == NIX1_SLAVE_OFFLINE)) {
        struct event ev;
        event_init(&ev, EVENT_LINK, st == NIX1_SLAVE_ONLINE ? EVENT_NORMAL : EVENT_WARNING);
        n1dev_slave_label(s, ev.device, sizeof ev.device);
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
    ssize_t si = n1dev_slave_index(c, slave);
    if (si < 0 || c->slaves[si].last_poll_rc == rc)
        return;
    c->slaves[si].last_poll_rc = rc;
    struct event ev;
    event_init(&ev, EVENT_LINK, EVENT_WARNING);
    n1dev_slave_label(&c->slaves[si], ev.device, sizeof ev.device);
    nix1_addr_format(slave, ev.addr);
    ev.code = rc;
    event_copy(ev.code_name, sizeof ev.code_name, nix1_rc_name(rc));
    event_set_text(&ev, "access log cannot be read: %02X %s (%s)", rc, nix1_rc_name(rc), nix1_rc_meaning(rc));
    device_report_event(c->dev, &ev);
}

static void on_gap(void *arg, const nix1_addr_t *slave, const char *text)
{
    struct n1dev *c = arg;
    ssize_t si = n1dev_slave_index(c, slave);
    n1dev_event(c, si < 0 ? SIZE_MAX : (size_t)si, EVENT_GAP, EVENT_WARNING, "entry lost", text);
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
        ssize_t si = n1dev_slave_index(c, &in.addr);
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
    if (rep.cmd == 'N' && rep.arg == 'y' && rep.rc == 0x06) {
        n1dev_upload_progress(c, &rep);
        return;
    }
    if (rep.arg != 'e' || (rep.cmd != 'Q' && rep.cmd != 'N'))
        return;
    ssize_t si = n1dev_slave_index(c, &rep.addr);
    if (si < 0)
        return;
    /* Qe 00 = an entry (the master stays on the slave); Ne 00 = rewound (Qe follows); anything else ends the
     * slave's turn. */
    if (rep.rc != NIX1_RC_OK)
        c->slaves[si].round_done = true;
    round_check(c);
}

/* ---- commands ---- */

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

/* Remove a queued (not started) internal emergency resume. */
static void drop_resume(struct n1dev *c)
{
    for (struct n1_job **pp = &c->queue; *pp;) {
        struct n1_job *j = *pp;
        if (j->kind == N1J_INTERNAL && j->emergency && j->op == DEVICE_EMERGENCY_ON) {
            *pp = j->next;
            n1dev_job_free(j);
        } else {
            pp = &j->next;
        }
    }
}

/* The steps of a door command, per listed output (one step per slave and kind). */
static void add_door_steps(struct n1_job *j, enum device_op op, unsigned value)
{
    for (size_t k = 0; k < j->r.n; k++) {
        size_t si = j->r.slave_of[k];
        unsigned p = j->r.probe_of[k];
        if (si == SIZE_MAX)
            continue;
        switch (op) {
        case DEVICE_OPEN: n1dev_add_step(j, N1_TIMED, si, 0, true, 0, value ? value : 5); break;
        case DEVICE_TIMED_OPEN: n1dev_add_step(j, N1_TIMED, si, 0, true, value ? value : 1, 0); break;
        case DEVICE_HOLD_OPEN: n1dev_add_step(j, N1_HOLD, si, 0, true, 0, 0); break;
        case DEVICE_CLOSE:
        case DEVICE_RELEASE: n1dev_add_step(j, N1_HOLD, si, 0, false, 0, 0); break;
        case DEVICE_LOCKOUT_ON:
        case DEVICE_LOCKOUT_OFF: n1dev_add_step(j, N1_LOCK, si, p, op == DEVICE_LOCKOUT_ON, 0, 0); break;
        default: break;
        }
    }
}

static int n1_command(struct device *dev, const struct device_cmd *cmd, char *err, size_t errlen)
{
    struct n1dev *c = priv(dev);
    if (cmd->op == DEVICE_SLAVE_SET)
        return n1dev_slave_set_command(c, cmd, err, errlen);
    if (cmd->op == DEVICE_SLAVE_FILE_PUT || cmd->op == DEVICE_SLAVE_FILE_DELETE || cmd->op == DEVICE_SLAVE_PROVISION)
        return n1dev_slave_file_command(c, cmd, err, errlen);
    if (cmd->n_outputs == 0) {
        snprintf(err, errlen, "%s applies to NiX1 doors", device_op_name(cmd->op));
        return -1;
    }
    struct n1_job *j = n1dev_job_new(c, N1J_DOOR, cmd, cmd->n_outputs);
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
        j->r.outs[k] = o;
        j->r.slave_of[k] = SIZE_MAX;
        const struct site_output *so = o < dev->site->n_outputs ? &dev->site->outputs[o] : NULL;
        if (!so || so->device != dev->index || so->type != OUTPUT_PROBE || so->slave >= c->n) {
            n1dev_job_fail_output(j, k, DEVICE_RESULT_FAILED, "not a door of this bus");
            continue;
        }
        if (!n1_supports(dev, cmd->op, o)) {
            char m[96];
            snprintf(m, sizeof m, "%s is not possible on a NiX1 door", device_op_name(cmd->op));
            n1dev_job_fail_output(j, k, DEVICE_RESULT_UNSUPPORTED, m);
            continue;
        }
        listed++;
        j->r.slave_of[k] = so->slave;
        j->r.probe_of[k] = (unsigned)so->number;
    }
    bool whole_bus = listed == used;
    bool on = cmd->op == DEVICE_EMERGENCY_ON;
    if (cmd->op == DEVICE_EMERGENCY_OFF)
        drop_resume(c); /* a restore asked for before the resumed emergency even started: skip the resume */
    if ((on && whole_bus) || (cmd->op == DEVICE_EMERGENCY_OFF && c->door && nix1_door_emergency_active(c->door)))
        n1dev_add_step(j, N1_EMERG, SIZE_MAX, 0, on, 0, 0);
    else if (j->emergency)
        /* Not the whole bus: unicast hold open of the listed doors' slaves, their lock-outs lifted, and back. */
        n1dev_add_step(j, N1_EPROBES, SIZE_MAX, 0, on, 0, 0);
    else
        add_door_steps(j, cmd->op, cmd->value);
    n1dev_enqueue(c, j);
    return 0;
}

/* ---- lifecycle ---- */

static void try_open(struct n1dev *c);

static void reopen_cb(loop_t *loop, void *arg)
{
    (void)loop;
    try_open(arg);
}

static void kick_cb(loop_t *loop, void *arg)
{
    (void)loop;
    n1dev_job_step(arg);
}

static void try_open(struct n1dev *c)
{
    struct nix1_bus_config bc;
    nix1_bus_config_default(&bc);
    /* A run that did not end cleanly (killed, crashed, power cut) may have read a slave's last entry without
     * storing it: read the line before each slave's position again (the journal drops it if it was stored). */
    char *mark = NULL;
    size_t mlen = 0;
    bc.log_resync_first = c->run_path[0] && durable_read(c->run_path, 64, &mark, &mlen) == 0 &&
                          strncmp(mark, "clean", 5) != 0;
    free(mark);
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
        n1dev_kick(c); /* queued commands fail now */
        return;
    }
    c->reopen_ms = 0;
    c->open_err[0] = '\0';
    c->transport_ok = true;
    if (c->run_path[0])
        (void)durable_write(c->run_path, "running\n", 8, 0600, 0, NULL, 0);
    c->door = nix1_door_new(c->bus);
    if (!c->door) {
        nix1_bus_free(c->bus);
        c->bus = NULL;
        snprintf(c->open_err, sizeof c->open_err, "out of memory");
        report_link(c);
        return;
    }
    for (size_t i = 0; i < c->n; i++)
        nix1_door_add(c->door, &c->slaves[i].addr);
    state_load(c, c->door);
    nix1_door_set_store(c->door, state_store, c);
    report_emergency(c, c->door);
    c->lis = (struct nix1_bus_listener){ .access = on_access, .slave_state = on_slave_state,
                                         .poll_error = on_poll_error, .gap = on_gap, .transport = on_transport,
                                         .trace = on_trace, .arg = c };
    nix1_bus_add_listener(c->bus, &c->lis);
    for (size_t i = 0; i < c->n; i++)
        nix1_bus_add_slave(c->bus, &c->slaves[i].addr);
    /* Holds remembered from a previous run may be timed-open windows left behind: check them first. */
    for (size_t i = 0; i < c->n; i++) {
        const struct nix1_door_slave *ds = nix1_door_find(c->door, &c->slaves[i].addr);
        c->slaves[i].check_held = ds && ds->held && !ds->in_emergency;
        if (c->slaves[i].check_held)
            n1dev_queue_check_held(c, i);
    }
    /* An emergency begun and not ended is completed first; then read what an emergency or a release must put
     * back (§5.14: "read at start-up"), then poll. */
    resume_emergency(c);
    struct n1_job *j = n1dev_job_new(c, N1J_INTERNAL, NULL, 0);
    if (j) {
        n1dev_add_step(j, N1_SNAPSHOT, SIZE_MAX, 0, false, 0, 0);
        for (size_t i = 0; i < c->n; i++)
            c->slaves[i].snap_queued = true;
        n1dev_enqueue(c, j);
    }
    nix1_bus_set_polling(c->bus, true);
    report_link(c);
    n1dev_tick_soon(c);
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
    if (c->state_path[0])
        snprintf(c->run_path, sizeof c->run_path, "%s.run", c->state_path);
    /* What the file remembers of an emergency is known before the port opens (the site shows it at once). */
    struct nix1_door *peek = nix1_door_new(NULL);
    if (peek) {
        state_load(c, peek);
        dev->priv = c;
        report_emergency(c, peek);
        nix1_door_free(peek);
    }
    loop_timer_init(&c->reopen, reopen_cb, c);
    loop_timer_init(&c->kick, kick_cb, c);
    loop_timer_init(&c->tick, n1dev_tick_cb, c);
    loop_timer_init(&c->round, round_cb, c);
    dev->priv = c;
    dev->gap_read_back = "the slaves' access entries of that time are read back from their logs (an entry that "
                         "cannot be gets a gap row of its own)";
    n1dev_publish_all(c);
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
    n1dev_fail_queue(c, &c->queue, "stopped");
    n1dev_long_cancel(c);
    if (c->bus) {
        nix1_bus_remove_listener(c->bus, &c->lis);
        nix1_door_unlisten(c->door);
        nix1_bus_free(c->bus); /* an operation on the wire ends here; its report arrives while dying */
        c->bus = NULL;
    }
    if (c->cur) {
        struct n1_job *j = c->cur;
        c->cur = NULL;
        n1dev_job_fail_all(j, DEVICE_RESULT_OFFLINE, "stopped");
        n1dev_job_finish(c, j);
    }
    if (c->lng) { /* a provisioning's requests ended with the bus: it can be freed now */
        struct n1_job *j = c->lng;
        c->lng = NULL;
        n1dev_job_fail_all(j, DEVICE_RESULT_OFFLINE, "stopped");
        n1dev_job_finish(c, j);
    }
    n1dev_state_save(c);
    if (c->run_path[0] && c->door) /* every entry read has been handed to the site */
        (void)durable_write(c->run_path, "clean\n", 6, 0600, 0, NULL, 0);
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
    .slave_get = n1dev_slave_get,
    .slave_files = n1dev_slave_files,
    .slave_file_get = n1dev_slave_file_get,
    .raw = nix1_device_raw,
};
