/* dispatch: portierd's side of the protocol: who a client is (credentials → role), the hello, snapshots and the
 * journal replay, the change stream (events, device and output changes, acknowledgements, the emergency). The
 * requests themselves are in requests.c. */
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/event.h"
#include "daemon/daemon.h"
#include "daemon/emergency.h"
#include "daemon/requests.h"

#define DEFAULT_JOURNAL_ROWS 50

struct cdata {
    unsigned journal_rows;    /* the hello's, for a resync of a client that had nothing yet */
    char client[64];
    int asked_role;           /* the role the hello asked for (-1: none) */
    /* the replay in progress (begin_replay / replay_part) */
    int64_t replay_after;     /* the next part begins after this id */
    int64_t replayed, missed_from, missed_to;
};

/* ---- identity ---- */

/* The most this peer may do: its user name and groups through the configuration's roles. */
static enum role resolve_role(const struct daemon *d, const struct client *c)
{
    /* The peer's own groups (SO_PEERGROUPS) and its primary group: a client started with fewer groups than its
     * user has gets fewer rights. */
    char *names[SERVER_MAX_GROUPS + 1] = { NULL };
    size_t n = 0;
    gid_t all[SERVER_MAX_GROUPS + 1];
    all[0] = c->gid;
    memcpy(all + 1, c->groups, c->n_groups * sizeof c->groups[0]);
    for (size_t i = 0; i < c->n_groups + 1; i++) {
        struct group gr, *gres = NULL;
        char gbuf[8192];
        if (getgrgid_r(all[i], &gr, gbuf, sizeof gbuf, &gres) == 0 && gres) {
            char *dup = strdup(gres->gr_name);
            if (dup)
                names[n++] = dup;
        }
    }
    const struct site *s = d->site;
    enum role r = role_resolve(s->roles, s->n_roles, s->default_role, c->user, (const char *const *)names, n, false);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return r;
}

static bool on_accept(struct client *c, char *why, size_t whylen, void *arg)
{
    struct daemon *d = arg;
    if (d->stopping) {
        snprintf(why, whylen, "portierd stopping");
        return false;
    }
    struct passwd pw, *pres = NULL;
    char buf[4096];
    if (getpwuid_r(c->uid, &pw, buf, sizeof buf, &pres) == 0 && pres)
        snprintf(c->user, sizeof c->user, "%s", pres->pw_name);
    c->max_role = resolve_role(d, c);
    c->role = c->max_role;
    c->data = calloc(1, sizeof(struct cdata));
    if (!c->data) {
        snprintf(why, whylen, "out of memory");
        return false;
    }
    fprintf(stderr, "portierd: client %llu connected: %s (uid %u, pid %d) as %s\n", (unsigned long long)c->no,
            c->user, (unsigned)c->uid, (int)c->pid, role_name(c->max_role));
    return true;
}

/* The daemon speaks first: version, site, and who the peer is to it. */
static void on_connected(struct client *c, void *arg)
{
    struct daemon *d = arg;
    json_t *m = json_pack("{s:s,s:i,s:s,s:s,s:s,s:I,s:s,s:I,s:I}", "type", "hello", "proto", PROTO_VERSION, "server",
                          "portierd " PORTIER_VERSION, "site", d->site->name, "user", c->user, "uid",
                          (json_int_t)c->uid, "role", role_name(c->max_role), "max_line", (json_int_t)PROTO_MAX_LINE,
                          "pid", (json_int_t)getpid());
    if (m)
        server_send(c, m, 0, false, 0);
    json_decref(m);
}

/* ---- small senders ---- */

void dispatch_reply_error(struct client *c, int64_t id, const char *op, const char *status, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_t *m = json_pack("{s:s,s:I,s:s,s:s,s:s}", "type", "result", "id", (json_int_t)id, "op", op ? op : "",
                          "status", status, "error", text);
    if (m)
        server_send(c, m, id, true, 0);
    json_decref(m);
}

void dispatch_notice(struct daemon *d, const char *level, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fprintf(stderr, "portierd: %s: %s\n", level, text);
    if (!d->srv)
        return;
    json_t *m = json_pack("{s:s,s:s,s:s}", "type", "notice", "level", level, "text", text);
    if (m)
        server_broadcast(d->srv, m, 0);
    json_decref(m);
}

/* ---- snapshot and replay ---- */

static json_t *emergency_json(struct daemon *d)
{
    struct proto_emergency e;
    emergency_state(d->em, &e);
    return proto_emergency_to_json(&e);
}

static int64_t last_event_id(struct daemon *d)
{
    int64_t lo = 0, hi = 0;
    if (!d->journal || journal_event_id_range(d->journal, &lo, &hi) < 0)
        return 0;
    return hi;
}

static void send_snapshot(struct daemon *d, struct client *c, int64_t last_id)
{
    json_t *m = json_object();
    if (!m || proto_site_to_snapshot(d->site, m) < 0) {
        json_decref(m);
        server_bye(c, "out of memory building the snapshot");
        return;
    }
    json_object_set_new(m, "type", json_string("snapshot"));
    json_object_set_new(m, "user", json_string(c->user));
    json_object_set_new(m, "role", json_string(role_name(c->role)));
    json_object_set_new(m, "readonly", json_boolean(c->readonly));
    json_object_set_new(m, "last_id", json_integer(last_id));
    json_t *alarms = json_array();
    for (size_t i = 0; alarms && i < d->n_alarms; i++)
        json_array_append_new(alarms, proto_event_to_json(&d->alarms[i], NULL));
    json_object_set_new(m, "alarms", alarms ? alarms : json_array());
    json_object_set_new(m, "emergency", emergency_json(d));
    json_object_set_new(m, "actions", requests_running_json(d));
    server_send(c, m, 0, false, 0);
    json_decref(m);
}

/* ---- the replay: catching up from the journal, paced by the client's reading ----
 * Events after the client's position are read from the journal a part at a time, each part queued when the client
 * has read the previous one, so a client that is far behind neither fills its queue nor holds anything up. The live
 * stream skips it meanwhile; once it has caught up it gets a fresh snapshot (if anything was skipped) and "synced". */

#define REPLAY_PART 500

struct part {
    struct client *c;
    size_t n, bytes, budget;
    int64_t last;
};

static int replay_row(const struct event *ev, bool acked, void *arg)
{
    struct part *p = arg;
    struct journal_ack ack = { .acked = acked };
    json_t *o = proto_event_to_json(ev, &ack);
    if (!o)
        return 1;
    json_object_set_new(o, "type", json_string("event"));
    json_object_set_new(o, "replay", json_true());
    server_send(p->c, o, 0, false, ev->id);
    json_decref(o);
    p->n++;
    p->last = ev->id;
    p->bytes += 400; /* about: what matters is that a part stays well below the client's queue */
    return p->bytes >= p->budget;
}

static void replay_part(struct daemon *d, struct client *c)
{
    struct cdata *cd = c->data;
    if (!cd || !c->catching_up)
        return;
    struct part p = { .c = c, .budget = server_queue_limit(d->srv) / 2 };
    long got = d->journal ? journal_events_after(d->journal, cd->replay_after, REPLAY_PART, replay_row, &p) : 0;
    cd->replayed += p.n;
    if (p.n)
        cd->replay_after = p.last;
    if (got > 0 && (p.n == REPLAY_PART || p.bytes >= p.budget))
        return; /* more to come when this part has been read */
    /* caught up */
    c->catching_up = false;
    if (c->skipped)
        send_snapshot(d, c, cd->replay_after);
    c->skipped = false;
    json_t *m = json_pack("{s:s,s:I,s:I,s:I,s:I}", "type", "synced", "last_id", (json_int_t)cd->replay_after,
                          "replayed", (json_int_t)cd->replayed, "missed_from", (json_int_t)cd->missed_from,
                          "missed_to", (json_int_t)cd->missed_to);
    if (m)
        server_send(c, m, 0, false, cd->replay_after);
    json_decref(m);
}

struct nth {
    size_t want, seen;
    int64_t id;
};

static int nth_row(const struct event *ev, const struct journal_ack *ack, void *arg)
{
    (void)ack;
    struct nth *n = arg;
    n->id = ev->id;
    return ++n->seen >= n->want;
}

/* Start catching up after `after` (at most PROTO_REPLAY_MAX events: the oldest beyond are reported as missed), or
 * with the last `rows` events when after is 0. A client without the stream gets "synced" at once. */
static void begin_replay(struct daemon *d, struct client *c, int64_t after, unsigned rows, int64_t last_id)
{
    struct cdata *cd = c->data;
    cd->replayed = 0;
    cd->missed_from = cd->missed_to = 0;
    cd->replay_after = last_id;
    if (d->journal && last_id > 0 && (after > 0 || rows > 0) && after < last_id) {
        /* the id before the oldest event to send: the `limit`-th newest after `after` */
        struct nth n = { .want = after > 0 ? PROTO_REPLAY_MAX + 1 : rows + 1 };
        struct journal_query q = { .kind = -1, .min_severity = -1, .after_id = after, .before_id = last_id + 1,
                                   .limit = n.want };
        journal_query_rows(d->journal, &q, nth_row, &n);
        if (n.seen < n.want) {
            cd->replay_after = after; /* everything after `after` */
        } else {
            cd->replay_after = n.id;
            if (after > 0) {
                cd->missed_from = after + 1;
                cd->missed_to = n.id;
            }
        }
    }
    if (!c->stream)
        cd->replay_after = last_id; /* no stream: nothing to replay */
    c->skipped = false;
    c->catching_up = true; /* replay_part ends it at once when there is nothing to send */
    replay_part(d, c);
}

static void on_drained(struct client *c, void *arg)
{
    replay_part(arg, c);
}

void dispatch_hello(struct daemon *d, struct client *c, const json_t *req, int64_t id)
{
    char err[160] = "";
    int64_t proto = 0, resume = 0, rows = DEFAULT_JOURNAL_ROWS;
    bool readonly = false, stream = true;
    char role[16] = "", client[64] = "";
    if (c->hello) {
        dispatch_reply_error(c, id, "hello", "error", "hello already done");
        return;
    }
    if (proto_get_int(req, "proto", &proto, err, sizeof err) < 0 ||
        proto_get_int(req, "resume", &resume, err, sizeof err) < 0 ||
        proto_get_int(req, "journal_rows", &rows, err, sizeof err) < 0 ||
        proto_get_bool(req, "readonly", &readonly, err, sizeof err) < 0 ||
        proto_get_bool(req, "stream", &stream, err, sizeof err) < 0 ||
        proto_get_str(req, "role", role, sizeof role, err, sizeof err) < 0 ||
        proto_get_str(req, "client", client, sizeof client, err, sizeof err) < 0) {
        dispatch_reply_error(c, id, "hello", "error", "%s", err);
        return;
    }
    if (proto != PROTO_VERSION) {
        dispatch_reply_error(c, id, "hello", "error", "protocol version %lld is not spoken here (portierd speaks %d)",
                             (long long)proto, PROTO_VERSION);
        server_bye(c, "unsupported protocol version");
        return;
    }
    if (rows < 0 || rows > PROTO_MAX_JOURNAL_ROWS || resume < 0) {
        dispatch_reply_error(c, id, "hello", "error", "journal_rows must be 0..%d and resume >= 0",
                             PROTO_MAX_JOURNAL_ROWS);
        return;
    }
    c->readonly = readonly;
    c->role = readonly ? ROLE_GUARD : c->max_role;
    bool asked_more = false;
    if (role[0]) {
        int r = role_from_name(role);
        if (r < 0) {
            dispatch_reply_error(c, id, "hello", "error", "unknown role \"%s\"", role);
            return;
        }
        if ((enum role)r < c->role)
            c->role = (enum role)r;
        else if ((enum role)r > c->role)
            asked_more = true;
    }
    struct cdata *cd = c->data;
    cd->asked_role = role[0] ? role_from_name(role) : -1;
    cd->journal_rows = (unsigned)rows;
    event_copy(cd->client, sizeof cd->client, client);
    c->stream = stream;
    json_t *m = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:b}", "type", "result", "id", (json_int_t)id, "op", "hello",
                          "status", "ok", "user", c->user, "role", role_name(c->role), "readonly", c->readonly);
    if (m)
        server_send(c, m, id, true, 0);
    json_decref(m);
    if (asked_more) {
        json_t *n = json_pack("{s:s,s:s,s:s}", "type", "notice", "level", "warning", "text",
                              "a client cannot raise its own role: the role stays what the daemon decided");
        server_send(c, n, 0, false, 0);
        json_decref(n);
    }
    int64_t last = last_event_id(d);
    c->hello = true;
    send_snapshot(d, c, last);
    begin_replay(d, c, resume, (unsigned)rows, last);
    fprintf(stderr, "portierd: client %llu (%s): hello from %s as %s%s%s\n", (unsigned long long)c->no, c->user,
            client[0] ? client : "a client", role_name(c->role), c->readonly ? " (read-only)" : "",
            stream ? "" : ", no stream");
}

void dispatch_send_snapshot(struct daemon *d, struct client *c, int64_t id)
{
    int64_t last = last_event_id(d);
    send_snapshot(d, c, last);
    json_t *m = json_pack("{s:s,s:I,s:s,s:s,s:I}", "type", "result", "id", (json_int_t)id, "op", "snapshot", "status",
                          "ok", "last_id", (json_int_t)last);
    if (m)
        server_send(c, m, id, true, 0);
    json_decref(m);
}

static void on_resync(struct client *c, const char *reason, const int64_t *dropped, size_t n_dropped, void *arg)
{
    struct daemon *d = arg;
    json_t *ids = json_array();
    for (size_t i = 0; ids && i < n_dropped; i++)
        json_array_append_new(ids, json_integer(dropped[i]));
    json_t *m = json_pack("{s:s,s:s,s:o}", "type", "resync", "reason", reason, "dropped", ids ? ids : json_array());
    if (m)
        server_send(c, m, 0, false, 0);
    json_decref(m);
    int64_t last = last_event_id(d);
    send_snapshot(d, c, last);
    struct cdata *cd = c->data;
    if (c->last_sent_id > 0)
        begin_replay(d, c, c->last_sent_id, 0, last);
    else
        begin_replay(d, c, 0, cd ? cd->journal_rows : DEFAULT_JOURNAL_ROWS, last);
}

static void on_closed(struct client *c, void *arg)
{
    struct daemon *d = arg;
    requests_client_gone(d, c);
    free(c->data);
    c->data = NULL;
}

static void on_request(struct client *c, json_t *req, void *arg)
{
    requests_handle(arg, c, req);
}

const struct server_handlers dispatch_handlers = {
    .accept = on_accept,
    .connected = on_connected,
    .request = on_request,
    .resync = on_resync,
    .drained = on_drained,
    .closed = on_closed,
};

void dispatch_snapshot_all(struct daemon *d)
{
    int64_t last = last_event_id(d);
    for (struct client *c = server_first(d->srv); c; c = server_next(c)) {
        if (!c->hello)
            continue;
        /* roles may have changed with the configuration */
        struct cdata *cd = c->data;
        c->max_role = resolve_role(d, c);
        c->role = c->readonly ? ROLE_GUARD : c->max_role;
        if (cd && cd->asked_role >= 0 && (enum role)cd->asked_role < c->role)
            c->role = (enum role)cd->asked_role;
        send_snapshot(d, c, last);
    }
}

/* ---- the change stream ---- */

void dispatch_emergency_changed(struct daemon *d)
{
    if (!d->srv)
        return;
    json_t *m = emergency_json(d);
    if (!m)
        return;
    json_object_set_new(m, "type", json_string("emergency"));
    server_broadcast(d->srv, m, 0);
    json_decref(m);
}

static void alarm_add(struct daemon *d, const struct event *ev)
{
    if (!d->alarms && !(d->alarms = calloc(PROTO_MAX_ALARMS, sizeof *d->alarms)))
        return;
    if (d->n_alarms == PROTO_MAX_ALARMS)
        d->n_alarms--; /* the oldest stays in the journal, unacknowledged */
    memmove(&d->alarms[1], &d->alarms[0], d->n_alarms * sizeof *d->alarms);
    d->alarms[0] = *ev;
    d->n_alarms++;
}

void dispatch_acked(struct daemon *d, int64_t event_id, const char *by)
{
    for (size_t i = 0; i < d->n_alarms; i++)
        if (d->alarms[i].id == event_id) {
            memmove(&d->alarms[i], &d->alarms[i + 1], (d->n_alarms - i - 1) * sizeof *d->alarms);
            d->n_alarms--;
            break;
        }
    json_t *m = json_pack("{s:s,s:I,s:s,s:I}", "type", "ack", "event", (json_int_t)event_id, "by", by, "time_us",
                          (json_int_t)event_now_us());
    if (m)
        server_broadcast(d->srv, m, 0);
    json_decref(m);
}

static void on_event(const struct event *ev, void *arg)
{
    struct daemon *d = arg;
    if (ev->severity == EVENT_ALARM && ev->id > 0 && ev->journaled)
        alarm_add(d, ev);
    if (!d->srv)
        return;
    json_t *m = proto_event_to_json(ev, NULL);
    if (!m)
        return;
    json_object_set_new(m, "type", json_string("event"));
    server_broadcast(d->srv, m, ev->journaled ? ev->id : 0);
    json_decref(m);
}

static void flush_changes(loop_t *loop, void *arg)
{
    (void)loop;
    struct daemon *d = arg;
    struct site *s = d->site;
    d->any_dirty = false;
    for (size_t i = 0; i < d->n_dirty_dev && i < s->n_devices; i++) {
        if (!d->dirty_dev[i])
            continue;
        d->dirty_dev[i] = false;
        json_t *m = proto_device_to_json(s, &s->devices[i]);
        if (m) {
            json_object_set_new(m, "type", json_string("device"));
            server_broadcast(d->srv, m, 0);
        }
        json_decref(m);
    }
    for (size_t i = 0; i < d->n_dirty_out && i < s->n_outputs; i++) {
        if (!d->dirty_out[i])
            continue;
        d->dirty_out[i] = false;
        emergency_output_changed(d->em, i);
        json_t *m = proto_output_to_json(&s->outputs[i]);
        if (m) {
            json_object_set_new(m, "type", json_string("output"));
            server_broadcast(d->srv, m, 0);
        }
        json_decref(m);
    }
}

static void on_change(struct site *site, int device, int output, void *arg)
{
    (void)site;
    struct daemon *d = arg;
    if (device >= 0 && (size_t)device < d->n_dirty_dev)
        d->dirty_dev[device] = true;
    if (output >= 0 && (size_t)output < d->n_dirty_out)
        d->dirty_out[output] = true;
    if (!d->any_dirty) {
        d->any_dirty = true;
        loop_timer_arm_us(d->loop, &d->change_timer, 0);
    }
}

static int load_alarm(const struct event *ev, const struct journal_ack *ack, void *arg)
{
    (void)ack;
    struct daemon *d = arg;
    if (d->n_alarms < PROTO_MAX_ALARMS)
        d->alarms[d->n_alarms++] = *ev; /* newest first, as the query returns them */
    return d->n_alarms >= PROTO_MAX_ALARMS;
}

int dispatch_attach(struct daemon *d)
{
    struct site *s = d->site;
    free(d->dirty_dev);
    free(d->dirty_out);
    d->n_dirty_dev = s->n_devices;
    d->n_dirty_out = s->n_outputs;
    d->dirty_dev = calloc(s->n_devices ? s->n_devices : 1, sizeof *d->dirty_dev);
    d->dirty_out = calloc(s->n_outputs ? s->n_outputs : 1, sizeof *d->dirty_out);
    if (!d->dirty_dev || !d->dirty_out)
        return -1;
    loop_timer_init(&d->change_timer, flush_changes, d);
    d->any_dirty = false;
    if (site_listen(s, on_change, d) < 0)
        return -1;
    d->event_sub = event_bus_subscribe(site_events(s), on_event, d);
    if (d->event_sub < 0)
        return -1;
    if (!d->alarms) {
        if (!(d->alarms = calloc(PROTO_MAX_ALARMS, sizeof *d->alarms)))
            return -1;
        d->n_alarms = 0;
        struct journal_query q = { .kind = -1, .min_severity = EVENT_ALARM, .unacked_only = true,
                                   .limit = PROTO_MAX_ALARMS };
        if (d->journal)
            journal_query_rows(d->journal, &q, load_alarm, d);
    }
    return 0;
}

void dispatch_detach(struct daemon *d)
{
    if (!d->site)
        return;
    site_unlisten(d->site, on_change, d);
    if (d->event_sub > 0 && d->site->events)
        event_bus_unsubscribe(d->site->events, d->event_sub);
    d->event_sub = 0;
    loop_timer_disarm(d->loop, &d->change_timer);
}
