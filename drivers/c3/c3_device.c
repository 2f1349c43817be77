/* c3_device: the C3 panel adapter (session → site events, link and door states; commands → CONTROL_DEVICE).
 * Commands are in c3_dev_cmds.c (shared state in c3_dev.h); the codecs, the state file's text (c3_doorstate), the
 * panel data (c3_device_data), the raw pass-through (c3_dev_raw) and the session are modules of their own. */
#include "drivers/c3/c3_device.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/durable.h"
#include "core/statedir.h"
#include "drivers/c3/c3_catchup.h"
#include "drivers/c3/c3_client.h"
#include "drivers/c3/c3_control.h"
#include "drivers/c3/c3_dev.h"
#include "drivers/c3/c3_device_data.h"
#include "drivers/c3/c3_doorstate.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_tables.h"
#include "drivers/c3/c3_time.h"

/* ---- state file ---- */

char *c3_device_state_path(const struct site *site, const struct site_panel *panel, char *buf, size_t len)
{
    char where[300], err[160];
    snprintf(where, sizeof where, "%s_%u", panel->host, (unsigned)panel->port);
    if (statedir_device_path(site->name, "c3", panel->name, where, buf, len, err, sizeof err) < 0)
        buf[0] = '\0';
    return buf;
}

/* The doors' remembered state, between the adapter's doors and the state file's codec (c3_doorstate). */
static void state_of(const struct c3dev *c, struct c3_doorstate *st)
{
    memset(st, 0, sizeof *st);
    st->em_intent = c->em_intent;
    st->restore_locked = c->em_restore == SITE_RESTORE_LOCKED;
    st->doors = c->panel->doors < C3_DOORSTATE_DOORS ? c->panel->doors : C3_DOORSTATE_DOORS;
    for (unsigned i = 0; i < st->doors; i++) {
        const struct c3d_door *d = &c->door[i];
        st->door[i] = (struct c3_doorstate_door){ d->emergency, d->em_pending, d->restore_pending, d->prev_held,
                                                  d->prev_no, d->held, d->normal_open };
    }
}

/* What the panel remembers of an emergency, for the site. */
static void report_emergency(struct c3dev *c)
{
    bool active = false, pending = false;
    for (unsigned i = 0; i < c->panel->doors; i++) {
        active = active || (c->em_intent && (c->door[i].emergency || c->door[i].em_pending));
        pending = pending || c->door[i].restore_pending;
    }
    device_report_emergency(c->dev, active ? SITE_EM_ACTIVE : pending ? SITE_EM_RESTORE_PENDING : SITE_EM_NONE);
}

/* Written durably: at once before an emergency command goes out (write-ahead), otherwise once per loop iteration
 * at most (state_save). */
void c3_dev_state_write(struct c3dev *c)
{
    loop_timer_disarm(c->dev->loop, &c->state_timer);
    report_emergency(c);
    if (!c->state_path[0])
        return;
    struct c3_doorstate st;
    state_of(c, &st);
    char text[768], err[256];
    size_t k = c3_doorstate_format(&st, text, sizeof text);
    if (k == 0) {
        unlink(c->state_path);
        return;
    }
    if (durable_write(c->state_path, text, k, 0600, 0, err, sizeof err) < 0 && c->em_intent) {
        struct event ev;
        event_init(&ev, EVENT_EMERGENCY, EVENT_ALARM);
        event_set_text(&ev, "emergency state not stored (a restart could not restore the doors): %s", err);
        device_report_event(c->dev, &ev);
    }
}

static void state_timer_cb(loop_t *loop, void *arg)
{
    (void)loop;
    c3_dev_state_write(arg);
}

void c3_dev_state_save(struct c3dev *c)
{
    loop_timer_arm_ms(c->dev->loop, &c->state_timer, 0);
}

static void state_load(struct c3dev *c)
{
    char *text;
    size_t len;
    if (!c->state_path[0] || durable_read(c->state_path, 1u << 16, &text, &len) < 0)
        return;
    struct c3_doorstate st;
    state_of(c, &st);
    (void)c3_doorstate_parse(text, len, &st); /* lines not understood are skipped */
    free(text);
    c->em_intent = st.em_intent;
    c->em_restore = st.restore_locked ? SITE_RESTORE_LOCKED : SITE_RESTORE_PREVIOUS;
    size_t again = 0;
    for (unsigned i = 0; i < st.doors; i++) {
        struct c3d_door *d = &c->door[i];
        const struct c3_doorstate_door *m = &st.door[i];
        d->emergency = m->emergency;
        d->em_pending = m->em_pending;
        d->restore_pending = m->restore_pending;
        d->prev_held = m->prev_held;
        d->prev_no = m->prev_no;
        d->held = m->held;
        d->normal_open = m->normal_open;
        /* An emergency an earlier run began is completed: every one of its doors is unlocked again at connect. */
        if (c->em_intent && (d->emergency || d->em_pending) && d->out != SIZE_MAX) {
            d->em_pending = true;
            again++;
        }
    }
    if (again) {
        struct event ev;
        event_init(&ev, EVENT_EMERGENCY, EVENT_ALARM);
        event_set_text(&ev, "emergency begun by an earlier run: %zu door%s unlocked again when the panel answers",
                       again, again == 1 ? "" : "s");
        device_report_event(c->dev, &ev);
    }
}

/* ---- output states ---- */

static bool link_up(const struct c3dev *c) { return c->st == C3_ST_ONLINE && !c->stale; }

void c3_dev_publish_door(struct c3dev *c, unsigned i)
{
    struct c3d_door *d = &c->door[i];
    if (d->out == SIZE_MAX)
        return;
    int64_t now = event_now_us();
    if (d->open_until_us && d->open_until_us <= now)
        d->open_until_us = 0;
    struct output_state st = { 0 };
    st.sensor = d->sensor;
    bool released = d->held || d->normal_open || d->emergency || d->open_until_us;
    st.locked = d->relay_known ? !(d->relay || d->held || d->emergency) : !released;
    st.held_open = d->held || d->emergency;
    st.normal_open = d->normal_open;
    st.alarm = d->alarm;
    st.open_timeout = d->open_timeout;
    st.stale = !link_up(c);
    st.emergency = d->emergency;
    st.open_until_us = d->open_until_us;
    device_report_output(c->dev, d->out, &st);
}

void c3_dev_publish_aux(struct c3dev *c, unsigned i)
{
    struct c3d_aux *a = &c->aux[i];
    if (a->out == SIZE_MAX)
        return;
    int64_t now = event_now_us();
    if (a->until_us && a->until_us <= now) {
        a->until_us = 0;
        a->on = false;
    }
    struct output_state st = { 0 };
    st.locked = !a->on;
    st.stale = !link_up(c);
    st.open_until_us = a->until_us;
    device_report_output(c->dev, a->out, &st);
}

static void publish_all(struct c3dev *c)
{
    for (unsigned i = 0; i < SITE_C3_MAX_DOORS; i++) {
        c3_dev_publish_door(c, i);
        c3_dev_publish_aux(c, i);
    }
}

static void relock_cb(loop_t *loop, void *arg)
{
    (void)loop;
    struct c3d_door *d = arg;
    d->open_until_us = 0;
    c3_dev_publish_door(d->c, (unsigned)(d - d->c->door));
}

static void aux_off_cb(loop_t *loop, void *arg)
{
    (void)loop;
    struct c3d_aux *a = arg;
    a->on = false;
    a->until_us = 0;
    c3_dev_publish_aux(a->c, (unsigned)(a - a->c->aux));
}

/* The door is unlocked for secs seconds from now (no event marks the end: spec §6). */
void c3_dev_door_pulse(struct c3dev *c, unsigned i, unsigned secs)
{
    struct c3d_door *d = &c->door[i];
    int64_t until = event_now_us() + (int64_t)secs * 1000000;
    if (until > d->open_until_us)
        d->open_until_us = until;
    loop_timer_arm_us(c->dev->loop, &d->relock, (uint64_t)(d->open_until_us - event_now_us()));
    c3_dev_publish_door(c, i);
}

/* ---- events ---- */

void c3_dev_echo_expect(struct c3dev *c, unsigned i, uint8_t type)
{
    struct c3d_door *d = &c->door[i];
    if (d->n_echo == C3D_ECHOES) { /* the oldest is long lost */
        memmove(d->echo, d->echo + 1, (C3D_ECHOES - 1) * sizeof *d->echo);
        memmove(d->echo_us, d->echo_us + 1, (C3D_ECHOES - 1) * sizeof *d->echo_us);
        d->n_echo--;
    }
    d->echo[d->n_echo] = type;
    d->echo_us[d->n_echo++] = event_now_us();
}

/* The event is the echo of one of the door's own answered steps: take it (and the older echoes before it, lost
 * from a full ring). An event no step of this adapter explains is someone else's (another client, the panel's own
 * time zones) and is applied. */
static bool echo_take(struct c3d_door *d, uint8_t type)
{
    int64_t now = event_now_us();
    unsigned k = 0;
    while (k < d->n_echo && now - d->echo_us[k] > C3D_ECHO_MAX_US)
        k++;
    unsigned j = k;
    while (j < d->n_echo && d->echo[j] != type)
        j++;
    bool mine = j < d->n_echo;
    unsigned drop = mine ? j + 1 : k;
    memmove(d->echo, d->echo + drop, (d->n_echo - drop) * sizeof *d->echo);
    memmove(d->echo_us, d->echo_us + drop, (d->n_echo - drop) * sizeof *d->echo_us);
    d->n_echo -= drop;
    return mine;
}

static int64_t packed_to_epoch(uint32_t packed) { return c3_catchup_epoch(packed); }

static void on_event_record(struct c3dev *c, const struct c3_rt_record *rec)
{
    const struct c3_rt_event *e = &rec->event;
    const struct c3_txn row = { .card = e->card, .pin = e->pin, .verify = e->verify, .door = e->door, .type = e->type,
                                .inout = e->inout, .time = rec->time, .index = e->index };
    struct event ev;
    c3_catchup_event_fill(&ev, &row);
    /* Only a key/value (0x79) record carries the row's running index; its key is the one the recovered row
     * would get, so the journal stores it once. A binary record is taken off the panel's ring by the read that
     * returns it, so it is never re-reported; two identical ones in one second (an exit button pressed twice)
     * are two real events and must both be stored: the catch-up matches them against the table by content. */
    if (e->index >= 0)
        c3_catchup_key(&ev, c->dev->site->devices[c->dev->index].name, &row, 0);
    /* A row the catch-up journaled already (it was still in the ring) changes door states but is not shown
     * twice. */
    bool again = c3_catchup_live(c->cc, e, rec->time);

    /* Door state the event implies. */
    if (e->door >= 1 && e->door <= c->panel->doors) {
        unsigned i = e->door - 1u;
        struct c3d_door *d = &c->door[i];
        bool changed = true, was_held = d->held, was_no = d->normal_open;
        /* An echo of the adapter's own step is older than what it applied since (the restore's close reports 9
         * after its normal-open enable was answered): taken for a new state, it would end a normal-open the panel
         * keeps, and the next emergency would remember the door as locked. */
        if ((e->type == 9 || e->type == 10 || e->type == 205) && echo_take(d, e->type))
            changed = false;
        else switch (e->type) {
        case 5: case 11: case 205: d->normal_open = true; break;
        case 10: case 204: d->normal_open = false; break;
        case 9: d->held = d->normal_open = false; d->open_until_us = 0; loop_timer_disarm(c->dev->loop, &d->relock); break;
        case 7: d->alarm = false; d->open_timeout = false; break;
        case 28: d->open_timeout = true; break;
        case 100: case 101: case 102: case 103: d->alarm = true; break;
        case 200: d->sensor = SENSOR_OPEN; break;
        case 201: d->sensor = SENSOR_CLOSED; break;
        default:
            changed = false;
            if (c3_event_is_grant(e->type) && e->type != 8) {
                c3_dev_door_pulse(c, i, d->drivertime ? d->drivertime : C3D_DRIVERTIME_DEFAULT);
            }
            break;
        }
        if (changed)
            c3_dev_publish_door(c, i);
        if (d->held != was_held || d->normal_open != was_no)
            c3_dev_state_save(c); /* what a restore after a crash goes back to */
    }
    if (e->type == 7)
        for (unsigned i = 0; i < c->panel->doors; i++) {
            c->door[i].alarm = c->door[i].open_timeout = false;
            c3_dev_publish_door(c, i);
        }
    if (!again)
        device_report_event(c->dev, &ev);
}

static enum sensor_state sensor_of(uint8_t s)
{
    return s == C3_SENSOR_CLOSED ? SENSOR_CLOSED : s == C3_SENSOR_OPEN ? SENSOR_OPEN : SENSOR_UNKNOWN;
}

/* A status record: update every door; an event only for what changed (the first record after start only
 * reports alarms that are already on). */
static void on_status_record(struct c3dev *c, const struct c3_rt_record *rec)
{
    const struct c3_rt_status *s = &rec->status;
    bool first = !c->have_status;
    c->have_status = true;
    for (unsigned i = 0; i < c->panel->doors && i < C3_RT_DOORS; i++) {
        struct c3d_door *d = &c->door[i];
        enum sensor_state sensor = sensor_of(s->sensor[i]);
        bool alarm = (s->alarm[i] & C3_ALARM_ALARM) != 0;
        bool timeout = (s->alarm[i] & C3_ALARM_OPEN_TIMEOUT) != 0;
        bool relay = s->has_relay && (s->relay & (1u << i));
        bool sensor_changed = !first && sensor != d->sensor;
        bool alarm_changed = first ? alarm : alarm != d->alarm;
        bool timeout_changed = first ? timeout : timeout != d->open_timeout;
        d->sensor = sensor;
        d->alarm = alarm;
        d->open_timeout = timeout;
        d->relay_known = s->has_relay;
        d->relay = relay;
        c3_dev_publish_door(c, i);
        if (!sensor_changed && !alarm_changed && !timeout_changed)
            continue;
        struct event ev;
        enum event_severity sev = alarm ? EVENT_ALARM : timeout ? EVENT_WARNING : EVENT_NORMAL;
        event_init(&ev, EVENT_DOOR, sev);
        ev.device_time = packed_to_epoch(rec->time);
        ev.door_no = (int)i + 1;
        ev.code = C3_EVENT_STATUS;
        event_copy(ev.code_name, sizeof ev.code_name, "door status");
        char what[160] = "";
        size_t k = 0;
        if (sensor_changed)
            k += (size_t)snprintf(what + k, sizeof what - k, "door %s",
                                  sensor == SENSOR_OPEN ? "opened" : sensor == SENSOR_CLOSED ? "closed" : "sensor unknown");
        if (alarm_changed && k < sizeof what)
            k += (size_t)snprintf(what + k, sizeof what - k, "%salarm %s", k ? ", " : "", alarm ? "ON" : "cleared");
        if (timeout_changed && k < sizeof what)
            snprintf(what + k, sizeof what - k, "%sopen too long%s", k ? ", " : "", timeout ? "" : " cleared");
        event_set_text(&ev, "%s", what);
        device_report_event(c->dev, &ev);
    }
    if (s->has_relay)
        for (unsigned i = 0; i < c->panel->aux_count && i < SITE_C3_MAX_DOORS; i++) {
            bool on = (s->relay & (1u << (4 + i))) != 0;
            if (on != c->aux[i].on) {
                c->aux[i].on = on;
                if (!on)
                    c->aux[i].until_us = 0;
                c3_dev_publish_aux(c, i);
            }
        }
}

static void sess_record(struct c3_session *s, const struct c3_rt_record *rec, void *arg)
{
    (void)s;
    struct c3dev *c = arg;
    c->alive_us = event_now_us();
    if (rec->kind == C3_RT_EVENT) {
        c->round_events++;
        on_event_record(c, rec);
    } else {
        c3_catchup_round(c->cc, c->round_events);
        c->round_events = 0;
        on_status_record(c, rec);
    }
}

/* ---- link ---- */

static void report_link(struct c3dev *c)
{
    char detail[128];
    enum link_state link;
    switch (c->st) {
    case C3_ST_ONLINE:
        if (c->stale) {
            link = LINK_STALE;
            snprintf(detail, sizeof detail, "no answer to RT-log polls");
        } else {
            link = LINK_UP;
            snprintf(detail, sizeof detail, "%s, %s RT log, %s", c3_session_sessionful(c->s) ? "session" : "session-less",
                     c3_session_rtmode(c->s) == C3_RTMODE_KV ? "key/value" : "binary", c3_catchup_mode(c->cc));
        }
        break;
    case C3_ST_CONNECTING:
    case C3_ST_HANDSHAKE:
        /* Reconnect attempts after a failure stay "down" (a link event per attempt would flood the journal). */
        link = c->failed ? LINK_DOWN : LINK_CONNECTING;
        snprintf(detail, sizeof detail, "%s", c3_session_last_error(c->s)[0] ? c3_session_last_error(c->s)
                                                                                : "connecting");
        break;
    case C3_ST_BACKOFF:
        link = LINK_DOWN;
        snprintf(detail, sizeof detail, "%s", c3_session_last_error(c->s)[0] ? c3_session_last_error(c->s)
                                                                                : "connection lost");
        break;
    default:
        link = LINK_DOWN;
        snprintf(detail, sizeof detail, "stopped");
        break;
    }
    device_report_link(c->dev, link, detail);
    publish_all(c);
}

static void read_drivertimes(struct c3dev *c);

static void sess_state(struct c3_session *s, enum c3_state st, int err, void *arg)
{
    (void)s;
    (void)err;
    struct c3dev *c = arg;
    enum c3_state old = c->st;
    c->st = st;
    if (st == C3_ST_BACKOFF)
        c->failed = true;
    if (st == C3_ST_ONLINE) {
        /* A connect resets the panel's RT-log ring (spec: disconnect, keep-alive, timeouts): no echo will come. */
        for (unsigned i = 0; i < SITE_C3_MAX_DOORS; i++)
            c->door[i].n_echo = 0;
        c->ever_up = true;
        c->failed = false;
        c->have_status = false;
    }
    report_link(c);
    if (st == C3_ST_ONLINE && old != C3_ST_ONLINE) {
        read_drivertimes(c);
        c3d_data_link(&c->data, true);
        c3_dev_apply_pending_emergency(c);
        /* What the panel recorded while nobody polled is journaled before anything live (polls are held). */
        c->round_events = 0;
        c3_catchup_online(c->cc, c->s);
    } else if (old == C3_ST_ONLINE && st != C3_ST_ONLINE) {
        c3d_data_link(&c->data, false);
        c3_session_hold_polls(c->s, true);
        c3_catchup_offline(c->cc, c->alive_us);
    }
}

static void catchup_report(void *arg, struct event *ev)
{
    struct c3dev *c = arg;
    device_report_event(c->dev, ev);
}

static void catchup_ready(void *arg)
{
    struct c3dev *c = arg;
    if (c->s)
        c3_session_hold_polls(c->s, false);
    report_link(c);
}

static void sess_stale(struct c3_session *s, bool stale, void *arg)
{
    (void)s;
    struct c3dev *c = arg;
    c->stale = stale;
    report_link(c);
}

/* DoorNDrivertime: how long a grant unlocks (for the emulated lock state). */
static void on_drivertimes(void *arg, const struct c3_params_result *r)
{
    struct c3dev *c = arg;
    if (r->err)
        return;
    /* the panel's identity, for the front ends and outputs that show it (serial number, firmware) */
    struct site_device *sd = &c->dev->site->devices[c->dev->index];
    bool ident = false;
    for (size_t i = 0; i < r->n; i++) {
        char *dst = strcmp(r->names[i], "~SerialNumber") == 0 ? sd->serial
                    : strcmp(r->names[i], "FirmVer") == 0    ? sd->firmware : NULL;
        size_t len = dst == sd->serial ? sizeof sd->serial : sizeof sd->firmware;
        if (dst && r->values[i] && strcmp(dst, r->values[i]) != 0) {
            snprintf(dst, len, "%s", r->values[i]);
            ident = true;
        }
    }
    if (ident)
        site_changed(c->dev->site, (int)c->dev->index, -1);
    for (size_t i = 0; i < r->n; i++) {
        unsigned n;
        if (!r->values[i] || sscanf(r->names[i], "Door%uDrivertime", &n) != 1 || n < 1 || n > SITE_C3_MAX_DOORS)
            continue;
        char *end;
        unsigned long v = strtoul(r->values[i], &end, 10);
        if (end != r->values[i] && !*end && v <= 255)
            c->door[n - 1].drivertime = (unsigned)v;
    }
}

/* ... and the serial number and firmware in the same request. */
static void read_drivertimes(struct c3dev *c)
{
    static const char *const all[] = { "Door1Drivertime", "Door2Drivertime", "Door3Drivertime", "Door4Drivertime" };
    const char *names[SITE_C3_MAX_DOORS + 2];
    size_t n = c->panel->doors <= SITE_C3_MAX_DOORS ? c->panel->doors : SITE_C3_MAX_DOORS;
    memcpy(names, all, n * sizeof *names);
    names[n++] = "~SerialNumber";
    names[n++] = "FirmVer";
    struct c3_op_opts o = { .prio = C3_PRIO_POLL, .expire_ms = 10000 };
    (void)c3_client_params_get(c->s, names, n, &o, on_drivertimes, c);
}

/* ---- lifecycle ---- */

static void try_resolve(struct c3dev *c);

static void resolve_cb(loop_t *loop, void *arg)
{
    (void)loop;
    try_resolve(arg);
}

static void try_resolve(struct c3dev *c)
{
    char err[160];
    if (tcp_resolve(c->panel->host, c->panel->port, &c->addr, err, sizeof err) != 0) {
        snprintf(c->resolve_err, sizeof c->resolve_err, "%s", err);
        device_report_link(c->dev, LINK_DOWN, err);
        loop_timer_arm_ms(c->dev->loop, &c->resolve_timer, 30000);
        return;
    }
    struct c3_session_config cfg = {
        .addr = c->addr,
        .password = c->panel->password,
        .dialect = C3_DIALECT_AUTO,
        .request_timeout_ms = c->panel->timeout_ms,
        .poll_interval_ms = c->panel->poll_ms ? c->panel->poll_ms : 1000,
    };
    struct c3_session_callbacks cbs = { .state = sess_state, .record = sess_record, .stale = sess_stale, .arg = c };
    c->s = c3_session_new(c->dev->loop, &cfg, &cbs);
    if (!c->s) {
        snprintf(c->resolve_err, sizeof c->resolve_err, "out of memory");
        loop_timer_arm_ms(c->dev->loop, &c->resolve_timer, 30000);
        return;
    }
    c3_session_hold_polls(c->s, true); /* until the catch-up of each connection is done */
    if (c->started)
        c3_session_start(c->s);
}

static int c3_init(struct device *dev, char *err, size_t errlen)
{
    const struct site_device *sd = &dev->site->devices[dev->index];
    if (!sd->panel) {
        snprintf(err, errlen, "not a C3 panel");
        return -1;
    }
    struct c3dev *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->dev = dev;
    c->panel = sd->panel;
    c->st = C3_ST_DISCONNECTED;
    snprintf(c->resolve_err, sizeof c->resolve_err, "not connected");
    loop_timer_init(&c->resolve_timer, resolve_cb, c);
    for (unsigned i = 0; i < SITE_C3_MAX_DOORS; i++) {
        c->door[i].c = c;
        c->door[i].out = device_output_index(dev, OUTPUT_DOOR, (int)i + 1, 0);
        c->door[i].drivertime = C3D_DRIVERTIME_DEFAULT;
        loop_timer_init(&c->door[i].relock, relock_cb, &c->door[i]);
        c->aux[i].c = c;
        c->aux[i].out = device_output_index(dev, OUTPUT_AUX, (int)i + 1, 0);
        loop_timer_init(&c->aux[i].off, aux_off_cb, &c->aux[i]);
    }
    struct c3_catchup_cfg ccfg = { .dev = dev, .host = c->panel->host, .timeout_ms = c->panel->timeout_ms,
                                   .hooks = { .report = catchup_report, .ready = catchup_ready, .arg = c } };
    c->cc = c3_catchup_new(&ccfg);
    if (!c->cc) {
        snprintf(err, errlen, "out of memory");
        free(c);
        return -1;
    }
    c3_device_state_path(dev->site, c->panel, c->state_path, sizeof c->state_path);
    loop_timer_init(&c->state_timer, state_timer_cb, c);
    state_load(c);
    dev->priv = c;
    report_emergency(c);
    publish_all(c);
    return 0;
}

static int c3_start(struct device *dev)
{
    struct c3dev *c = priv(dev);
    c->started = true;
    if (!c->s)
        try_resolve(c);
    else
        c3_session_start(c->s);
    return 0;
}

static void fail_groups(struct c3dev *c, const char *why)
{
    /* Complete everything still outstanding (synchronously: the owner is going away). */
    while (c->groups) {
        struct c3d_group *g = c->groups;
        g->in_command = false;
        for (size_t i = 0; i < g->n; i++) {
            c3_dev_item_result(&g->items[i], DEVICE_RESULT_OFFLINE, why);
            g->items[i].complete = true;
        }
        if (!c3_dev_group_flush(g))
            c3_dev_group_free(g); /* cannot happen: every item is complete and reported */
    }
}

static void c3_stop(struct device *dev)
{
    struct c3dev *c = priv(dev);
    c->started = false;
    loop_timer_disarm(dev->loop, &c->resolve_timer);
    if (c->s)
        c3_session_stop(c->s);
}

static void c3_destroy(struct device *dev)
{
    struct c3dev *c = priv(dev);
    if (!c)
        return;
    fail_groups(c, "stopped");
    c3d_data_destroy_all(&c->data, "stopped");
    if (loop_timer_armed(&c->state_timer)) {
        loop_timer_disarm(dev->loop, &c->state_timer);
        c3_dev_state_write(c);
    }
    c3_catchup_free(c->cc, true);
    if (c->s)
        c3_session_free(c->s);
    loop_timer_disarm(dev->loop, &c->resolve_timer);
    for (unsigned i = 0; i < SITE_C3_MAX_DOORS; i++) {
        loop_timer_disarm(dev->loop, &c->door[i].relock);
        loop_timer_disarm(dev->loop, &c->aux[i].off);
    }
    free(c);
    dev->priv = NULL;
}

struct c3_session *c3_device_session(const struct device *dev)
{
    return dev && dev->ops == &c3_device_ops && dev->priv ? priv(dev)->s : NULL;
}

const struct device_ops c3_device_ops = {
    .kind = "c3",
    .init = c3_init,
    .start = c3_start,
    .stop = c3_stop,
    .command = c3_dev_command,
    .supports = c3_dev_supports,
    .destroy = c3_destroy,
    .raw = c3_device_raw,
};
