/* remote: the connection to portierd, the mirror site, requests, reconnect and resume. */
#include "client/remote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/device.h"
#include "core/event.h"
#include "core/grow.h"
#include "core/xport.h"

#define MAX_IN_LINE (64u << 20)      /* a daemon line (a snapshot of a big site) */
#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 5000

struct rreq {
    int64_t id;
    char op[32];
    remote_answer_fn cb;
    void *arg;
    struct rreq *next;
};

struct remote {
    loop_t *loop;
    struct remote_opts o;
    char socket[108];
    char client[64];
    struct remote_handlers h;
    int fd;
    enum remote_state st;
    struct proto_lines in;
    char *out;
    size_t out_len, out_off, out_cap;
    struct rreq *reqs;
    int64_t next_id;
    int64_t hello_id;
    struct site *mirror;
    char user[64], server[64];
    enum role role;
    struct proto_emergency em;
    int64_t last_id;
    struct event *alarms;
    size_t n_alarms;
    bool want;                  /* keep connected (reconnect) */
    unsigned backoff_ms;
    loop_timer_t reconnect_timer;
    bool in_dispatch;
    bool freeing;
};

static const struct site_remote mirror_hooks;

/* ---- output ---- */

static void update_mask(struct remote *r)
{
    if (r->fd >= 0)
        loop_mod_fd(r->loop, r->fd, LOOP_READ | (r->out_len > r->out_off ? LOOP_WRITE : 0));
}

static void flush_out(struct remote *r);

static int send_json(struct remote *r, const json_t *msg)
{
    size_t len;
    char *line = proto_dump(msg, &len);
    if (!line)
        return -1;
    if (r->out_off && r->out_off == r->out_len)
        r->out_off = r->out_len = 0;
    char *b = grow_to(r->out, r->out_len + len, &r->out_cap, 1, 4096);
    if (!b) {
        free(line);
        return -1;
    }
    r->out = b;
    memcpy(r->out + r->out_len, line, len);
    r->out_len += len;
    free(line);
    flush_out(r);
    return 0;
}

/* ---- requests ---- */

static void answer(struct remote *r, struct rreq *q, const json_t *msg, bool final)
{
    if (q->cb)
        q->cb(r, msg, final, q->arg);
}

static struct rreq *take_req(struct remote *r, int64_t id)
{
    for (struct rreq **p = &r->reqs; *p; p = &(*p)->next)
        if ((*p)->id == id) {
            struct rreq *q = *p;
            *p = q->next;
            return q;
        }
    return NULL;
}

static struct rreq *find_req(struct remote *r, int64_t id)
{
    for (struct rreq *q = r->reqs; q; q = q->next)
        if (q->id == id)
            return q;
    return NULL;
}

/* A final answer the daemon will never send: status "error" and why. */
static void fail_req(struct remote *r, struct rreq *q, const char *why)
{
    json_t *m = json_pack("{s:s,s:I,s:s,s:s,s:s}", "type", "result", "id", (json_int_t)q->id, "op", q->op, "status",
                          "error", "error", why);
    answer(r, q, m, true);
    json_decref(m);
    free(q);
}

int64_t remote_request(struct remote *r, json_t *req, remote_answer_fn cb, void *arg)
{
    if (!req)
        return -1;
    if (r->fd < 0 || (r->st != REMOTE_UP && r->hello_id == 0)) {
        json_decref(req);
        return -1;
    }
    struct rreq *q = calloc(1, sizeof *q);
    if (!q) {
        json_decref(req);
        return -1;
    }
    q->id = ++r->next_id;
    event_copy(q->op, sizeof q->op, proto_str(req, "op"));
    q->cb = cb;
    q->arg = arg;
    json_object_set_new(req, "id", json_integer(q->id));
    if (send_json(r, req) < 0) {
        json_decref(req);
        free(q);
        return -1;
    }
    json_decref(req);
    q->next = r->reqs;
    r->reqs = q;
    return q->id;
}

/* ---- connection ---- */

static void set_state(struct remote *r, enum remote_state st, const char *why)
{
    r->st = st;
    if (r->h.state)
        r->h.state(r, st, why, r->h.arg);
}

static void disconnect(struct remote *r, const char *why)
{
    if (r->fd >= 0) {
        loop_del_fd(r->loop, r->fd);
        close(r->fd);
        r->fd = -1;
    }
    r->out_len = r->out_off = 0;
    proto_lines_free(&r->in);
    r->hello_id = 0;
    while (r->reqs) {
        struct rreq *q = r->reqs;
        r->reqs = q->next;
        char msg[256];
        snprintf(msg, sizeof msg, "connection to portierd lost (%s): the outcome is unknown here; the audit has it", why);
        fail_req(r, q, msg);
    }
    if (r->mirror)
        r->mirror->actions_running = 0;
    if (!r->freeing)
        set_state(r, REMOTE_DOWN, why);
    if (r->want && !r->freeing) {
        unsigned j = r->backoff_ms / 2 + (unsigned)(rand() % (int)(r->backoff_ms / 2 + 1));
        loop_timer_arm_ms(r->loop, &r->reconnect_timer, j);
        r->backoff_ms = r->backoff_ms * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : r->backoff_ms * 2;
    }
}

static void flush_out(struct remote *r)
{
    while (r->fd >= 0 && r->out_off < r->out_len) {
        ssize_t w = xport_io_write(r->fd, r->out + r->out_off, r->out_len - r->out_off, true);
        if (w == 0)
            break;
        if (w < 0) {
            disconnect(r, strerror((int)-w));
            return;
        }
        r->out_off += (size_t)w;
    }
    update_mask(r);
}

/* ---- the mirror ---- */

/* The mirror's journal hook: an event the owner journaled is "stored" (with its id); one it could not store is not
 * stored here either; one already delivered (a replay overlapping the live stream) is a duplicate. */
static void mirror_store(struct event *evs, size_t n, int *rc, void *arg)
{
    struct remote *r = arg;
    for (size_t i = 0; i < n; i++) {
        struct event *ev = &evs[i];
        if (ev->id <= 0) {
            rc[i] = -1;
        } else if (ev->id <= r->last_id) {
            rc[i] = 0;
        } else {
            r->last_id = ev->id;
            rc[i] = 1;
        }
    }
}

static bool same_shape(const struct site *a, const struct site *b)
{
    if (a->n_devices != b->n_devices || a->n_outputs != b->n_outputs || a->n_panels != b->n_panels ||
        a->n_buses != b->n_buses)
        return false;
    for (size_t i = 0; i < a->n_devices; i++)
        if (strcmp(a->devices[i].name, b->devices[i].name) != 0 || strcmp(a->devices[i].kind, b->devices[i].kind) != 0 ||
            (a->devices[i].panel ? a->devices[i].panel - a->panels : -1) !=
                (b->devices[i].panel ? b->devices[i].panel - b->panels : -1) ||
            (a->devices[i].bus ? a->devices[i].bus - a->buses : -1) != (b->devices[i].bus ? b->devices[i].bus - b->buses : -1))
            return false;
    for (size_t i = 0; i < a->n_outputs; i++)
        if (strcmp(a->outputs[i].name, b->outputs[i].name) != 0 || a->outputs[i].type != b->outputs[i].type ||
            a->outputs[i].device != b->outputs[i].device || a->outputs[i].slave != b->outputs[i].slave)
            return false;
    for (size_t i = 0; i < a->n_buses; i++)
        if (a->buses[i].n_slaves != b->buses[i].n_slaves)
            return false;
    return true;
}

/* Same shape: copy the new state into the mirror the front end holds, telling it what changed. */
static void update_in_place(struct site *m, struct site *n)
{
    memcpy(m->name, n->name, sizeof m->name);
    for (size_t i = 0; i < m->n_panels; i++)
        m->panels[i] = n->panels[i];
    for (size_t i = 0; i < m->n_buses; i++) {
        struct site_slave *keep = m->buses[i].slaves;
        memcpy(keep, n->buses[i].slaves, n->buses[i].n_slaves * sizeof *keep);
        m->buses[i] = n->buses[i];
        m->buses[i].slaves = keep;
    }
    SITE_SWAP(m->emergency, n->emergency);
    SITE_SWAP(m->ui, n->ui);
    m->journal = n->journal;
    for (size_t i = 0; i < m->n_devices; i++) {
        struct site_device *a = &m->devices[i], *b = &n->devices[i];
        bool changed = a->link != b->link || strcmp(a->link_detail, b->link_detail) != 0 || a->events != b->events;
        a->link = b->link;
        memcpy(a->link_detail, b->link_detail, sizeof a->link_detail);
        a->link_since_us = b->link_since_us;
        a->lost_since_us = b->lost_since_us;
        a->was_up = b->was_up;
        a->events = b->events;
        a->errors = b->errors;
        if (changed)
            site_changed(m, (int)i, -1);
    }
    for (size_t i = 0; i < m->n_outputs; i++) {
        struct site_output *a = &m->outputs[i], *b = &n->outputs[i];
        bool changed = memcmp(&a->state, &b->state, sizeof a->state) != 0 || a->progress != b->progress ||
                       strcmp(a->result, b->result) != 0;
        a->state = b->state;
        a->progress = b->progress;
        memcpy(a->result, b->result, sizeof a->result);
        a->changed_us = b->changed_us;
        if (changed)
            site_changed(m, -1, (int)i);
    }
}

/* A new shape: the new mirror takes over the loop, the event bus and every observer of the old one. */
static void take_over(struct site *old, struct site *n)
{
    n->loop = old->loop;
    SITE_SWAP(n->events, old->events);
    n->on_change = old->on_change;
    n->on_change_arg = old->on_change_arg;
    SITE_SWAP(n->n_listeners, old->n_listeners);
    SITE_SWAP(n->listeners, old->listeners);
}

static void apply_snapshot(struct remote *r, const json_t *m)
{
    char err[256];
    struct site *n = proto_site_from_snapshot(m, err, sizeof err);
    if (!n) {
        char why[300];
        snprintf(why, sizeof why, "bad snapshot from portierd: %s", err);
        disconnect(r, why);
        return;
    }
    const char *role = proto_str(m, "role");
    if (role && role_from_name(role) >= 0)
        r->role = (enum role)role_from_name(role);
    proto_get_str(m, "user", r->user, sizeof r->user, err, sizeof err);
    int64_t last = 0;
    if (proto_get_int(m, "last_id", &last, err, sizeof err) == 0 && last < r->last_id)
        r->last_id = last; /* not the journal we followed (replaced): take its ids from here */
    bool replaced = false;
    if (r->mirror && same_shape(r->mirror, n)) {
        update_in_place(r->mirror, n);
        site_free(n);
    } else {
        if (r->mirror) {
            take_over(r->mirror, n);
            site_free(r->mirror);
            replaced = true;
        } else {
            n->loop = r->loop;
        }
        r->mirror = n;
        n->remote = &mirror_hooks;
        n->remote_arg = r;
        event_bus_set_journal(site_events(n), mirror_store, r);
    }
    const json_t *em = json_object_get(m, "emergency");
    if (em && proto_emergency_from_json(em, &r->em, err, sizeof err) == 0) {
        r->mirror->emergency_active = r->em.active;
        r->mirror->emergency_since_us = r->em.since_us;
    }
    free(r->alarms);
    r->alarms = NULL;
    r->n_alarms = 0;
    const json_t *al = json_object_get(m, "alarms");
    size_t na = json_is_array(al) ? json_array_size(al) : 0;
    if (na && (r->alarms = calloc(na, sizeof *r->alarms))) {
        for (size_t i = 0; i < na; i++)
            if (proto_event_from_json(json_array_get(al, i), &r->alarms[r->n_alarms], NULL, err, sizeof err) == 0)
                r->n_alarms++;
    }
    if (r->h.snapshot)
        r->h.snapshot(r, r->mirror, replaced, r->h.arg);
    if (r->h.emergency)
        r->h.emergency(r, &r->em, r->h.arg);
}

static void on_event(struct remote *r, const json_t *m)
{
    struct event ev;
    char err[160];
    if (!r->mirror || proto_event_from_json(m, &ev, NULL, err, sizeof err) < 0)
        return;
    if (ev.severity == EVENT_ALARM && ev.id > r->last_id && !json_is_true(json_object_get(m, "acked"))) {
        struct event *a = realloc(r->alarms, (r->n_alarms + 1) * sizeof *a);
        if (a) {
            memmove(&a[1], &a[0], r->n_alarms * sizeof *a);
            a[0] = ev;
            r->alarms = a;
            r->n_alarms++;
        }
    }
    event_publish(site_events(r->mirror), &ev);
}

static void on_ack(struct remote *r, const json_t *m)
{
    int64_t id = 0;
    char by[64] = "", err[64];
    proto_get_int(m, "event", &id, err, sizeof err);
    proto_get_str(m, "by", by, sizeof by, err, sizeof err);
    for (size_t i = 0; i < r->n_alarms; i++)
        if (r->alarms[i].id == id) {
            memmove(&r->alarms[i], &r->alarms[i + 1], (r->n_alarms - i - 1) * sizeof *r->alarms);
            r->n_alarms--;
            break;
        }
    if (r->h.ack)
        r->h.ack(r, id, by, r->h.arg);
}

static void on_answer(struct remote *r, const json_t *m, bool final)
{
    int64_t id = 0;
    char err[64];
    proto_get_int(m, "id", &id, err, sizeof err);
    if (id <= 0)
        return;
    if (!final) {
        struct rreq *q = find_req(r, id);
        if (q)
            answer(r, q, m, false);
        return;
    }
    struct rreq *q = take_req(r, id);
    if (!q)
        return;
    if (id == r->hello_id && strcmp(proto_str(m, "status") ? proto_str(m, "status") : "", "ok") != 0) {
        char why[300];
        snprintf(why, sizeof why, "portierd refused the hello: %s", proto_str(m, "error") ? proto_str(m, "error") : "?");
        answer(r, q, m, true);
        free(q);
        r->want = false; /* a version mismatch does not heal by retrying */
        disconnect(r, why);
        return;
    }
    answer(r, q, m, true);
    free(q);
}

static void on_hello_answer(struct remote *r, const json_t *m, bool final, void *arg)
{
    (void)arg;
    char err[64];
    if (!final || strcmp(proto_str(m, "status") ? proto_str(m, "status") : "", "ok") != 0)
        return;
    const char *role = proto_str(m, "role");
    if (role && role_from_name(role) >= 0)
        r->role = (enum role)role_from_name(role);
    proto_get_str(m, "user", r->user, sizeof r->user, err, sizeof err);
}

static void handle(struct remote *r, const json_t *m)
{
    const char *t = proto_str(m, "type");
    char err[160];
    if (!t)
        return;
    if (strcmp(t, "result") == 0 || strcmp(t, "progress") == 0 || strcmp(t, "rows") == 0) {
        on_answer(r, m, t[1] == 'e' && t[2] == 's'); /* "result" */
    } else if (strcmp(t, "event") == 0) {
        on_event(r, m);
    } else if (strcmp(t, "device") == 0 || strcmp(t, "output") == 0) {
        size_t idx;
        if (!r->mirror)
            return;
        if (t[0] == 'd' && proto_device_apply(r->mirror, m, &idx, err, sizeof err) == 0)
            site_changed(r->mirror, (int)idx, -1);
        else if (t[0] == 'o' && proto_output_apply(r->mirror, m, &idx, err, sizeof err) == 0)
            site_changed(r->mirror, -1, (int)idx);
    } else if (strcmp(t, "snapshot") == 0) {
        apply_snapshot(r, m);
    } else if (strcmp(t, "synced") == 0) {
        int64_t last = 0, from = 0, to = 0;
        proto_get_int(m, "last_id", &last, err, sizeof err);
        proto_get_int(m, "missed_from", &from, err, sizeof err);
        proto_get_int(m, "missed_to", &to, err, sizeof err);
        if (last < r->last_id)
            r->last_id = last; /* the owner's journal is not the one we followed: start again from its ids */
        else if (last > r->last_id)
            r->last_id = last;
        if (from > 0 && r->h.missed)
            r->h.missed(r, from, to, r->h.arg);
        r->backoff_ms = RECONNECT_MIN_MS;
        set_state(r, REMOTE_UP, NULL);
    } else if (strcmp(t, "ack") == 0) {
        on_ack(r, m);
    } else if (strcmp(t, "emergency") == 0) {
        if (proto_emergency_from_json(m, &r->em, err, sizeof err) == 0 && r->mirror) {
            r->mirror->emergency_active = r->em.active;
            r->mirror->emergency_since_us = r->em.since_us;
            if (r->h.emergency)
                r->h.emergency(r, &r->em, r->h.arg);
        }
    } else if (strcmp(t, "action") == 0) {
        struct action_run run;
        int64_t no = 0;
        proto_get_int(m, "run", &no, err, sizeof err);
        if (r->h.action && proto_run_from_json(m, r->mirror, &run, err, sizeof err) == 0) {
            r->h.action(r, &run, (uint64_t)no, json_is_true(json_object_get(m, "finished")), r->h.arg);
            proto_run_free(&run);
        }
    } else if (strcmp(t, "notice") == 0) {
        if (r->h.notice)
            r->h.notice(r, proto_str(m, "level") ? proto_str(m, "level") : "info",
                        proto_str(m, "text") ? proto_str(m, "text") : "", r->h.arg);
    } else if (strcmp(t, "resync") == 0) {
        /* the daemon dropped what we did not read in time: answers lost, then a fresh snapshot follows */
        const json_t *dropped = json_object_get(m, "dropped");
        for (size_t i = 0; json_is_array(dropped) && i < json_array_size(dropped); i++) {
            struct rreq *q = take_req(r, json_integer_value(json_array_get(dropped, i)));
            if (q)
                fail_req(r, q, "the answer was lost when portierd resynchronised this client; the audit has it");
        }
        set_state(r, REMOTE_CONNECTING, proto_str(m, "reason"));
    } else if (strcmp(t, "hello") == 0) {
        proto_get_str(m, "server", r->server, sizeof r->server, err, sizeof err);
        proto_get_str(m, "user", r->user, sizeof r->user, err, sizeof err);
    } else if (strcmp(t, "bye") == 0) {
        char why[300];
        snprintf(why, sizeof why, "portierd closed the connection: %s", proto_str(m, "reason") ? proto_str(m, "reason") : "");
        disconnect(r, why);
    }
}

static void io_cb(loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)fd;
    struct remote *r = arg;
    if (events & LOOP_WRITE)
        flush_out(r);
    if (r->fd < 0 || !(events & (LOOP_READ | LOOP_ERROR)))
        return;
    for (;;) {
        size_t room;
        char *dst = proto_lines_space(&r->in, &room);
        if (!dst) {
            disconnect(r, "a line from portierd is too long");
            return;
        }
        ssize_t n = xport_io_read(r->fd, dst, room);
        if (n == 0)
            break;
        if (n < 0) {
            disconnect(r, n == -ECONNRESET ? "portierd went away" : strerror((int)-n));
            return;
        }
        proto_lines_commit(&r->in, (size_t)n);
        char *line;
        size_t len;
        int k;
        while (r->fd >= 0 && (k = proto_lines_next(&r->in, &line, &len)) != 0) {
            if (k < 0) {
                disconnect(r, "a line from portierd is too long");
                return;
            }
            if (!len)
                continue;
            char err[160];
            json_t *m = proto_parse(line, len, err, sizeof err);
            if (!m) {
                char why[200];
                snprintf(why, sizeof why, "portierd sent %s", err);
                disconnect(r, why);
                return;
            }
            handle(r, m);
            json_decref(m);
        }
        if (r->fd < 0)
            return;
    }
}

int remote_connect(struct remote *r, char *err, size_t errlen)
{
    r->want = r->o.reconnect;
    if (r->fd >= 0)
        return 0;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", r->socket);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        char why[300];
        snprintf(why, sizeof why, "cannot connect to portierd at %s: %s", r->socket, strerror(errno));
        if (fd >= 0)
            close(fd);
        if (err)
            snprintf(err, errlen, "%s", why);
        disconnect(r, why);
        return -1;
    }
    r->fd = fd;
    proto_lines_init(&r->in, MAX_IN_LINE);
    if (loop_add_fd(r->loop, fd, LOOP_READ, io_cb, r) < 0) {
        disconnect(r, "cannot watch the connection");
        return -1;
    }
    json_t *h = json_pack("{s:s,s:i,s:s,s:b,s:I,s:i,s:b}", "op", "hello", "proto", PROTO_VERSION, "client", r->client,
                          "readonly", r->o.readonly, "resume", (json_int_t)r->last_id, "journal_rows",
                          r->last_id ? 0 : (int)r->o.journal_rows, "stream", r->o.stream);
    if (h && r->o.role >= 0 && r->o.role < ROLE_COUNT)
        json_object_set_new(h, "role", json_string(role_name((enum role)r->o.role)));
    r->hello_id = r->next_id + 1;
    set_state(r, REMOTE_CONNECTING, NULL);
    if (remote_request(r, h, on_hello_answer, NULL) < 0) {
        disconnect(r, "cannot send the hello");
        return -1;
    }
    return 0;
}

static void reconnect_cb(loop_t *loop, void *arg)
{
    (void)loop;
    remote_connect(arg, NULL, 0);
}

struct remote *remote_new(loop_t *loop, const struct remote_opts *opts, const struct remote_handlers *h)
{
    struct remote *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->loop = loop;
    r->o = *opts;
    snprintf(r->socket, sizeof r->socket, "%s", opts->socket && opts->socket[0] ? opts->socket : REMOTE_DEFAULT_SOCKET);
    snprintf(r->client, sizeof r->client, "%s", opts->client ? opts->client : "portier client");
    r->o.socket = r->socket;
    r->o.client = r->client;
    if (h)
        r->h = *h;
    r->fd = -1;
    r->role = ROLE_GUARD;
    r->backoff_ms = RECONNECT_MIN_MS;
    loop_timer_init(&r->reconnect_timer, reconnect_cb, r);
    return r;
}

void remote_free(struct remote *r)
{
    if (!r)
        return;
    r->freeing = true;
    r->want = false;
    loop_timer_disarm(r->loop, &r->reconnect_timer);
    disconnect(r, "closing");
    if (r->mirror) {
        r->mirror->remote = NULL;
        site_free(r->mirror);
    }
    free(r->out);
    free(r->alarms);
    free(r);
}

enum remote_state remote_state(const struct remote *r) { return r->st; }
struct site *remote_site(struct remote *r) { return r->mirror; }
const char *remote_user(const struct remote *r) { return r->user; }
enum role remote_role(const struct remote *r) { return r->role; }
const char *remote_server(const struct remote *r) { return r->server; }
const struct proto_emergency *remote_emergency(const struct remote *r) { return &r->em; }
int64_t remote_last_id(const struct remote *r) { return r->last_id; }

const struct event *remote_alarms(const struct remote *r, size_t *n)
{
    *n = r->n_alarms;
    return r->alarms;
}

/* ---- one-shot helpers ---- */

struct call {
    json_t *final;
    remote_answer_fn cb;
    void *arg;
};

static void call_answer(struct remote *r, const json_t *msg, bool final, void *arg)
{
    struct call *k = arg;
    if (!final) {
        if (k->cb)
            k->cb(r, msg, false, k->arg);
        return;
    }
    k->final = json_deep_copy(msg);
}

json_t *remote_call(struct remote *r, json_t *req, remote_answer_fn cb, void *arg, unsigned timeout_ms)
{
    struct call k = { NULL, cb, arg };
    if (remote_request(r, req, call_answer, &k) < 0)
        return NULL;
    uint64_t end = loop_mono_us() + (uint64_t)timeout_ms * 1000;
    while (!k.final && loop_mono_us() < end)
        if (loop_run_once(r->loop, 100) < 0)
            break;
    return k.final;
}

int remote_wait_up(struct remote *r, unsigned timeout_ms, char *why, size_t whylen)
{
    uint64_t end = loop_mono_us() + (uint64_t)timeout_ms * 1000;
    while (r->st != REMOTE_UP && loop_mono_us() < end) {
        if (r->st == REMOTE_DOWN && !r->want)
            break;
        if (loop_run_once(r->loop, 100) < 0)
            break;
    }
    if (r->st == REMOTE_UP)
        return 0;
    if (why)
        snprintf(why, whylen, "%s", r->fd < 0 ? "not connected to portierd" : "portierd did not send its snapshot in time");
    return -1;
}

/* ---- the mirror's hooks: actions and slave reads go to the daemon ---- */

struct ract {
    struct remote *r;
    void (*cb)(const struct action_run *run, bool finished, void *cbarg);
    void *cbarg;
    enum action_id id;
    void (*step)(void *arg, unsigned done, unsigned total, const char *line);
    void (*record)(void *arg, const char *line, const json_t *record);
    void *step_arg;
};

void remote_action_run(struct remote *r, const json_t *msg, bool final, enum action_id id, struct action_run *run)
{
    char err[160] = "";
    json_t *m = json_deep_copy(msg);
    if (m && !proto_str(m, "op"))
        json_object_set_new(m, "op", json_string(action_table[id].name));
    if (!m || proto_run_from_json(m, r->mirror, run, err, sizeof err) < 0) {
        memset(run, 0, sizeof *run);
        run->def = &action_table[id];
        run->status = ACTION_FAILED;
        snprintf(run->error, sizeof run->error, "bad answer from portierd: %s", m ? err : "out of memory");
    }
    json_decref(m);
    const char *st = proto_str(msg, "status");
    if (final && st && strcmp(st, "error") == 0) {
        run->status = ACTION_FAILED;
        event_copy(run->error, sizeof run->error, proto_str(msg, "error"));
    } else if (final && run->status == ACTION_PENDING) {
        run->status = ACTION_FAILED;
    }
}

static void action_answer(struct remote *r, const json_t *msg, bool final, void *arg)
{
    struct ract *a = arg;
    if (!final && strcmp(proto_str(msg, "type") ? proto_str(msg, "type") : "", "progress") != 0)
        return;
    const json_t *step = json_object_get(msg, "step");
    if (!final && step) {
        /* a panel-data record: to whom takes records; to a step, only the line it goes with */
        const json_t *rec = json_object_get(step, "record");
        const char *line = proto_str(step, "line");
        if (a->record && (line || json_is_object(rec)))
            a->record(a->step_arg, line, json_is_object(rec) ? rec : NULL);
        else if (a->step && (line || !rec))
            a->step(a->step_arg, (unsigned)json_integer_value(json_object_get(step, "done")),
                    (unsigned)json_integer_value(json_object_get(step, "total")), proto_str(step, "line"));
        return;
    }
    struct action_run run;
    remote_action_run(r, msg, final, a->id, &run);
    if (final && r->mirror && r->mirror->actions_running)
        r->mirror->actions_running--;
    if (a->cb)
        a->cb(&run, final, a->cbarg);
    proto_run_free(&run);
    if (final)
        free(a);
}

static void refuse(const struct action_user *user, int id, const char *target,
                   void (*cb)(const struct action_run *, bool, void *), void *cbarg, const char *why, char *err,
                   size_t errlen)
{
    struct action_run run;
    memset(&run, 0, sizeof run);
    run.def = &action_table[id];
    run.user = *user;
    event_copy(run.target, sizeof run.target, target);
    run.status = ACTION_REFUSED;
    event_copy(run.error, sizeof run.error, why);
    if (err && errlen)
        snprintf(err, errlen, "%s", why);
    if (cb)
        cb(&run, true, cbarg);
}

static int hook_action(void *arg, const struct action_user *user, int id, const char *target,
                       const struct action_params *params,
                       void (*cb)(const struct action_run *run, bool finished, void *cbarg), void *cbarg, char *err,
                       size_t errlen)
{
    struct remote *r = arg;
    if (id < 0 || id >= ACTION_COUNT) {
        if (err && errlen)
            snprintf(err, errlen, "unknown action");
        return -1;
    }
    if (r->st != REMOTE_UP) {
        refuse(user, id, target, cb, cbarg, "not connected to portierd: nothing was sent", err, errlen);
        return -1;
    }
    json_t *req = json_pack("{s:s}", "op", action_table[id].name);
    if (req && target)
        json_object_set_new(req, "target", json_string(target));
    if (req && params) {
        if (params->has_value)
            json_object_set_new(req, "value", json_integer(params->value));
        if (params->attempt_only)
            json_object_set_new(req, "attempt", json_true());
        if (params->settings && params->settings[0])
            json_object_set_new(req, "settings", json_string(params->settings));
        if (params->file_name)
            json_object_set_new(req, "name", json_string(params->file_name));
        if (params->file_data) {
            char *b = proto_b64_encode(params->file_data, params->file_len);
            if (b)
                json_object_set_new(req, "data_b64", json_string(b));
            free(b);
        }
    }
    struct ract *a = calloc(1, sizeof *a);
    if (!a || !req) {
        free(a);
        json_decref(req);
        refuse(user, id, target, cb, cbarg, "out of memory", err, errlen);
        return -1;
    }
    a->r = r;
    a->cb = cb;
    a->cbarg = cbarg;
    a->id = (enum action_id)id;
    if (params) {
        a->step = params->step;
        a->record = params->record;
        a->step_arg = params->step_arg;
    }
    if (remote_request(r, req, action_answer, a) < 0) {
        free(a);
        refuse(user, id, target, cb, cbarg, "not connected to portierd: nothing was sent", err, errlen);
        return -1;
    }
    if (r->mirror)
        r->mirror->actions_running++;
    return 0;
}

/* Slave reads: the device and slave by index in the mirror, sent by the slave's address. */
struct rread {
    device_settings_fn settings_cb;
    device_text_fn text_cb;
    void *ctx;
    bool files;
};

static void read_answer(struct remote *r, const json_t *msg, bool final, void *arg)
{
    (void)r;
    struct rread *k = arg;
    if (!final)
        return;
    const char *st = proto_str(msg, "status");
    const char *error = st && strcmp(st, "ok") == 0 ? NULL : (proto_str(msg, "error") ? proto_str(msg, "error") : "failed");
    if (k->settings_cb) {
        const json_t *o = json_object_get(msg, "settings");
        size_t n = json_is_object(o) ? json_object_size(o) : 0, i = 0;
        struct device_setting *s = calloc(n ? n : 1, sizeof *s);
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)o, key, v) {
            if (s && i < n && json_is_string(v)) {
                event_copy(s[i].key, sizeof s[i].key, key);
                event_copy(s[i].value, sizeof s[i].value, json_string_value(v));
                i++;
            }
        }
        k->settings_cb(k->ctx, s, s ? i : 0, error);
        free(s);
    } else if (k->files) {
        const char *t = proto_str(msg, "text");
        k->text_cb(k->ctx, t, t ? strlen(t) : 0, error);
    } else {
        unsigned char *data = NULL;
        size_t len = 0;
        const char *b = proto_str(msg, "data_b64");
        if (b && proto_b64_decode(b, &data, &len) < 0)
            error = "bad file data from portierd";
        k->text_cb(k->ctx, data ? (const char *)data : NULL, len, error);
        free(data);
    }
    free(k);
}

static int hook_read(struct remote *r, const char *op, size_t device, size_t slave, const char *name,
                     struct rread *k, char *err, size_t errlen)
{
    struct site *s = r->mirror;
    const struct site_bus *b = s && device < s->n_devices ? s->devices[device].bus : NULL;
    if (!b || slave >= b->n_slaves) {
        snprintf(err, errlen, "no such NiX1 slave");
        free(k);
        return -1;
    }
    json_t *req = json_pack("{s:s,s:s}", "op", op, "target", b->slaves[slave].addr);
    if (req && name)
        json_object_set_new(req, "name", json_string(name));
    if (remote_request(r, req, read_answer, k) < 0) {
        snprintf(err, errlen, "not connected to portierd");
        free(k);
        return -1;
    }
    return 0;
}

static int read_start(struct remote *r, const char *op, size_t device, size_t slave, const char *name,
                      device_settings_fn scb, device_text_fn tcb, void *ctx, char *err, size_t errlen)
{
    struct rread *k = calloc(1, sizeof *k);
    if (!k) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    k->settings_cb = scb;
    k->text_cb = tcb;
    k->ctx = ctx;
    k->files = strcmp(op, "slave-files") == 0;
    return hook_read(r, op, device, slave, name, k, err, errlen);
}

static int hook_slave_get(void *arg, size_t device, size_t slave, device_settings_fn cb, void *ctx, char *err,
                          size_t errlen)
{
    return read_start(arg, "slave-get", device, slave, NULL, cb, NULL, ctx, err, errlen);
}

static int hook_slave_files(void *arg, size_t device, size_t slave, device_text_fn cb, void *ctx, char *err,
                            size_t errlen)
{
    return read_start(arg, "slave-files", device, slave, NULL, NULL, cb, ctx, err, errlen);
}

static int hook_slave_file_get(void *arg, size_t device, size_t slave, const char *name, device_text_fn cb, void *ctx,
                               char *err, size_t errlen)
{
    return read_start(arg, "slave-file-get", device, slave, name, NULL, cb, ctx, err, errlen);
}

static const struct site_remote mirror_hooks = {
    .action = hook_action,
    .slave_get = hook_slave_get,
    .slave_files = hook_slave_files,
    .slave_file_get = hook_slave_file_get,
};
