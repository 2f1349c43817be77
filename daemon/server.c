/* server: the listening socket, client connections, line framing and bounded output queues. */
#include "daemon/server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/event.h"
#include "core/grow.h"
#include "core/xport.h"

#define READ_CHUNK 65536
#define READ_PER_WAKE (256 * 1024)   /* bytes read from one client per wake-up (fairness) */
#define ACCEPT_PER_WAKE 64
#define WAKE_BUDGET_US 20000         /* accepting, or handling turns, yields to the rest of the loop after this */
#define REFUSALS_LOGGED_PER_S 5
#define IOV_MAX_BATCH 64
#define LINES_PER_TURN 8             /* requests of one client handled before the others get their turn */
#define CLOSING_GRACE_US 2000000     /* a client that does not take its bye within this is closed anyway */

struct msg {
    unsigned refs;
    size_t len;
    char data[];
};

struct qent {
    struct msg *m;
    int64_t req_id;
    int64_t event_id;
    bool final;
};

struct server {
    loop_t *loop;
    int lfd;
    int spare_fd;                   /* kept open so an EMFILE accept can still be answered and closed */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct server_opts o;
    struct server_handlers h;
    struct client *clients;         /* doubly linked, live ones */
    size_t n;
    uint64_t next_no;
    struct client *flush_list;
    struct client *graveyard;       /* closed, freed at the next flush pass */
    int64_t refuse_log_us;          /* refusals logged: the second they are counted in */
    unsigned refuse_logged, refuse_quiet;
    struct client *turn_list;       /* clients with complete lines waiting for their turn */
    loop_timer_t flush_timer, tick_timer, turn_timer;
    struct server_stats st;
};

void server_opts_default(struct server_opts *o)
{
    memset(o, 0, sizeof *o);
    o->group = (gid_t)-1;
    o->mode = 0660;
    o->max_clients = 256;
    o->max_per_uid = 64;
    o->queue_limit = 8u << 20;
    o->max_line = PROTO_MAX_LINE;
    o->hello_timeout_ms = 10000;
    o->line_timeout_ms = 30000;
    o->stall_timeout_ms = 60000;
}

static void schedule_turn(struct client *c);

/* ---- messages ---- */

static struct msg *msg_new(const json_t *j)
{
    size_t len;
    char *line = proto_dump(j, &len);
    if (!line)
        return NULL;
    struct msg *m = malloc(sizeof *m + len);
    if (m) {
        m->refs = 1;
        m->len = len;
        memcpy(m->data, line, len);
    }
    free(line);
    return m;
}

static void msg_unref(struct msg *m)
{
    if (m && --m->refs == 0)
        free(m);
}

/* ---- client lifetime ---- */

static void schedule_flush(struct client *c)
{
    struct server *s = c->srv;
    if (!c->in_flush_list) {
        c->in_flush_list = true;
        c->flush_next = s->flush_list;
        s->flush_list = c;
    }
    if (!loop_timer_armed(&s->flush_timer))
        loop_timer_arm_us(s->loop, &s->flush_timer, 0);
}

static void update_mask(struct client *c)
{
    if (c->dead)
        return;
    unsigned ev = 0;
    if (!c->paused && !c->closing)
        ev |= LOOP_READ;
    if (c->want_write)
        ev |= LOOP_WRITE;
    loop_mod_fd(c->srv->loop, c->fd, ev);
}

static void queue_clear(struct client *c)
{
    for (size_t i = 0; i < c->q_len; i++)
        msg_unref(c->q[(c->q_head + i) % c->q_cap].m);
    c->q_head = c->q_len = c->q_off = c->q_bytes = 0;
}

static void client_close(struct client *c, const char *why)
{
    if (c->dead)
        return;
    struct server *s = c->srv;
    c->dead = true;
    loop_del_fd(s->loop, c->fd);
    close(c->fd);
    c->fd = -1;
    fprintf(stderr, "portierd: client %llu (%s, pid %d) closed: %s\n", (unsigned long long)c->no, c->user,
            (int)c->pid, why);
    /* off the pending lists: the graveyard may be freed before they are walked */
    for (struct client **p = &s->flush_list; c->in_flush_list && *p; p = &(*p)->flush_next)
        if (*p == c) {
            *p = c->flush_next;
            c->in_flush_list = false;
            break;
        }
    for (struct client **p = &s->turn_list; c->in_turn && *p; p = &(*p)->turn_next)
        if (*p == c) {
            *p = c->turn_next;
            c->in_turn = false;
            break;
        }
    if (c->prev)
        c->prev->next = c->next;
    else
        s->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n--;
    s->st.closed++;
    if (s->h.closed)
        s->h.closed(c, s->h.arg);
    queue_clear(c);
    proto_lines_free(&c->in);
    c->next = s->graveyard;
    s->graveyard = c;
    if (!loop_timer_armed(&s->flush_timer))
        loop_timer_arm_us(s->loop, &s->flush_timer, 0);
}

static void free_graveyard(struct server *s)
{
    while (s->graveyard) {
        struct client *c = s->graveyard;
        s->graveyard = c->next;
        free(c->q);
        free(c->dropped);
        free(c);
    }
}

/* ---- output ---- */

static int queue_push(struct client *c, struct msg *m, int64_t req_id, bool final, int64_t event_id)
{
    struct qent *q = grow_ring(c->q, c->q_len, &c->q_head, &c->q_cap, sizeof *q, 64);
    if (!q)
        return -1;
    c->q = q;
    m->refs++;
    c->q[(c->q_head + c->q_len) % c->q_cap] = (struct qent){ m, req_id, event_id, final };
    c->q_len++;
    c->q_bytes += m->len;
    return 0;
}

static void add_dropped(struct client *c, int64_t id)
{
    for (size_t i = 0; i < c->n_dropped; i++)
        if (c->dropped[i] == id)
            return;
    int64_t *d = realloc(c->dropped, (c->n_dropped + 1) * sizeof *d);
    if (d) {
        c->dropped = d;
        c->dropped[c->n_dropped++] = id;
    }
}

/* The queue is full: drop everything not yet begun, remember which answers were lost, resync later. */
static void overflow(struct client *c, size_t incoming, int64_t req_id, bool final)
{
    struct server *s = c->srv;
    size_t keep = c->q_off ? 1 : 0;
    for (size_t i = keep; i < c->q_len; i++) {
        struct qent *e = &c->q[(c->q_head + i) % c->q_cap];
        if (e->final && e->req_id > 0)
            add_dropped(c, e->req_id);
        c->q_bytes -= e->m->len;
        msg_unref(e->m);
    }
    c->q_len = keep;
    if (final && req_id > 0)
        add_dropped(c, req_id);
    c->resync = true;
    snprintf(c->resync_reason, sizeof c->resync_reason, "output queue full (%zu bytes unread)",
             c->q_bytes + incoming > s->o.queue_limit ? s->o.queue_limit : c->q_bytes + incoming);
    s->st.resyncs++;
    fprintf(stderr, "portierd: client %llu (%s): %s; resynchronising when it reads again\n",
            (unsigned long long)c->no, c->user, c->resync_reason);
    if (c->stalled_since_us == 0)
        c->stalled_since_us = event_now_us();
    /* Writable again (it has read) means: send the resync; even when nothing is left queued. */
    if (!c->want_write) {
        c->want_write = true;
        update_mask(c);
    }
}

static void enqueue(struct client *c, struct msg *m, int64_t req_id, bool final, int64_t event_id, bool force)
{
    if (c->dead || (c->closing && !force))
        return;
    if (c->resync && !force) {
        if (final && req_id > 0)
            add_dropped(c, req_id);
        return;
    }
    if (!force && c->q_bytes + m->len > c->srv->o.queue_limit) {
        overflow(c, m->len, req_id, final);
        return;
    }
    if (queue_push(c, m, req_id, final, event_id) < 0) {
        overflow(c, m->len, req_id, final);
        return;
    }
    if (event_id > c->last_queued_id)
        c->last_queued_id = event_id;
    if (!c->paused && c->q_bytes > c->srv->o.queue_limit / 2) {
        c->paused = true; /* back-pressure: no new requests until it reads its answers */
        update_mask(c);
    }
    schedule_flush(c);
}

void server_send(struct client *c, const json_t *msg, int64_t req_id, bool final, int64_t event_id)
{
    if (c->dead)
        return;
    struct msg *m = msg_new(msg);
    if (!m)
        return;
    /* The answers of a resync (sent from the resync handler) must get through a queue that was just emptied. */
    enqueue(c, m, req_id, final, event_id, false);
    msg_unref(m);
}

void server_broadcast(struct server *s, const json_t *msg, int64_t event_id)
{
    struct msg *m = NULL;
    for (struct client *c = s->clients; c; c = c->next) {
        if (!c->hello || !c->stream || c->dead || c->closing)
            continue;
        if (c->catching_up) {
            c->skipped = true;
            continue;
        }
        if (event_id > 0 && event_id <= c->last_queued_id)
            continue; /* the replay sent it already */
        if (!m && !(m = msg_new(msg)))
            return;
        enqueue(c, m, 0, false, event_id, false);
    }
    msg_unref(m);
}

void server_bye(struct client *c, const char *reason)
{
    if (c->dead || c->closing)
        return;
    json_t *j = json_pack("{s:s,s:s}", "type", "bye", "reason", reason ? reason : "");
    struct msg *m = j ? msg_new(j) : NULL;
    json_decref(j);
    if (m) {
        c->resync = false;
        enqueue(c, m, 0, false, 0, true);
        msg_unref(m);
    }
    fprintf(stderr, "portierd: client %llu (%s, pid %d): bye: %s\n", (unsigned long long)c->no, c->user, (int)c->pid,
            reason ? reason : "");
    c->closing = true;
    c->stalled_since_us = event_now_us(); /* the grace period for taking the bye */
    update_mask(c);
    schedule_flush(c);
}

/* Write as much as the socket takes. */
static void client_write(struct client *c)
{
    struct server *s = c->srv;
    while (c->q_len && !c->dead) {
        struct iovec iov[IOV_MAX_BATCH];
        size_t n = 0;
        for (; n < IOV_MAX_BATCH && n < c->q_len; n++) {
            struct qent *e = &c->q[(c->q_head + n) % c->q_cap];
            size_t off = n == 0 ? c->q_off : 0;
            iov[n].iov_base = e->m->data + off;
            iov[n].iov_len = e->m->len - off;
        }
        ssize_t w = writev(c->fd, iov, (int)n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (c->stalled_since_us == 0)
                    c->stalled_since_us = event_now_us();
                if (!c->want_write) {
                    c->want_write = true;
                    update_mask(c);
                }
                return;
            }
            client_close(c, errno == EPIPE || errno == ECONNRESET ? "client went away" : strerror(errno));
            return;
        }
        s->st.bytes_out += (uint64_t)w;
        if (!c->closing)
            c->stalled_since_us = 0;
        /* (the replay of a client catching up is paced by its reading: see below) */
        size_t left = (size_t)w;
        while (left && c->q_len) {
            struct qent *e = &c->q[c->q_head];
            size_t rest = e->m->len - c->q_off;
            if (left < rest) {
                c->q_off += left;
                left = 0;
                break;
            }
            left -= rest;
            if (e->event_id > c->last_sent_id)
                c->last_sent_id = e->event_id;
            c->q_bytes -= e->m->len;
            msg_unref(e->m);
            c->q_head = (c->q_head + 1) % c->q_cap;
            c->q_len--;
            c->q_off = 0;
        }
    }
    if (c->dead)
        return;
    c->stalled_since_us = 0;
    if (c->want_write) {
        c->want_write = false;
        update_mask(c);
    }
    if (c->closing) {
        shutdown(c->fd, SHUT_WR);
        client_close(c, "bye sent");
        return;
    }
    if (c->paused) {
        c->paused = false;
        update_mask(c);
        schedule_turn(c); /* the requests read before it was paused */
    }
    if (c->catching_up && !c->resync && s->h.drained)
        s->h.drained(c, s->h.arg);
    if (c->resync) {
        c->resync = false;
        c->last_queued_id = c->last_sent_id; /* what was queued after it was dropped */
        int64_t *dropped = c->dropped;
        size_t nd = c->n_dropped;
        c->dropped = NULL;
        c->n_dropped = 0;
        if (s->h.resync)
            s->h.resync(c, c->resync_reason, dropped, nd, s->h.arg);
        free(dropped);
    }
}

static void flush_cb(loop_t *loop, void *arg)
{
    (void)loop;
    struct server *s = arg;
    while (s->flush_list) {
        struct client *c = s->flush_list;
        s->flush_list = c->flush_next;
        c->in_flush_list = false;
        if (!c->dead)
            client_write(c);
    }
    free_graveyard(s);
}

/* ---- input ---- */

/* Handle complete lines already read, at most LINES_PER_TURN and at most WAKE_BUDGET_US of them (a client sending
 * many expensive requests at once must not hold up the others: the rest waits for the next turn). True when it
 * stopped with lines possibly left. */
static bool process_lines(struct client *c)
{
    struct server *s = c->srv;
    int n = 0;
    int64_t t0 = (int64_t)loop_mono_us();
    while (!c->dead && !c->closing && !c->paused) {
        if (n == LINES_PER_TURN || (n > 0 && (int64_t)loop_mono_us() - t0 > WAKE_BUDGET_US))
            return true;
        char *line;
        size_t len;
        int k = proto_lines_next(&c->in, &line, &len);
        if (k == 0)
            return false;
        if (k < 0) {
            char why[96];
            snprintf(why, sizeof why, "line longer than %zu bytes", s->o.max_line);
            s->st.bad_lines++;
            server_bye(c, why);
            return false;
        }
        if (len == 0)
            continue;
        n++;
        s->st.lines_in++;
        char err[160];
        json_t *req = proto_parse(line, len, err, sizeof err);
        if (!req) {
            s->st.bad_lines++;
            server_bye(c, err);
            return false;
        }
        if (s->h.request)
            s->h.request(c, req, s->h.arg);
        json_decref(req);
    }
    return c->paused && !c->dead && !c->closing;
}

static void schedule_turn(struct client *c)
{
    struct server *s = c->srv;
    if (c->in_turn)
        return;
    c->in_turn = true;
    c->turn_next = s->turn_list;
    s->turn_list = c;
    if (!loop_timer_armed(&s->turn_timer))
        loop_timer_arm_us(s->loop, &s->turn_timer, 1); /* 1 µs: the next pass of the loop, after other fds */
}

static void note_partial(struct client *c)
{
    if (!c->dead)
        c->in_since_us = proto_lines_pending(&c->in) ? (c->in_since_us ? c->in_since_us : event_now_us()) : 0;
}

static void turn_cb(loop_t *loop, void *arg)
{
    (void)loop;
    struct server *s = arg;
    struct client *list = s->turn_list;
    s->turn_list = NULL;
    int64_t t0 = (int64_t)loop_mono_us();
    while (list) {
        if ((int64_t)loop_mono_us() - t0 > WAKE_BUDGET_US) {
            /* the rest go first at the next pass, after the other fds (a ping must not wait for 40 big queries) */
            struct client *keep = NULL, **tail = &keep;
            for (struct client *c = list; c; c = c->turn_next)
                if (!c->dead) { /* a client closed meanwhile is freed with the graveyard below */
                    *tail = c;
                    tail = &c->turn_next;
                }
            *tail = s->turn_list;
            s->turn_list = keep;
            if (keep)
                loop_timer_arm_us(s->loop, &s->turn_timer, 1);
            break;
        }
        struct client *c = list;
        list = c->turn_next;
        c->in_turn = false;
        if (c->dead || c->paused)
            continue; /* a paused client gets its turn when it has read its answers */
        if (process_lines(c))
            schedule_turn(c);
        note_partial(c);
    }
    free_graveyard(s);
}

static void client_read(struct client *c)
{
    if (c->in_turn)
        return; /* lines already read wait for their turn: read more after that */
    size_t total = 0;
    while (!c->dead && !c->closing && !c->paused && total < READ_PER_WAKE) {
        size_t room;
        char *dst = proto_lines_space(&c->in, &room);
        if (!dst) {
            server_bye(c, "out of memory");
            return;
        }
        if (room > READ_CHUNK)
            room = READ_CHUNK;
        ssize_t r = xport_io_read(c->fd, dst, room);
        if (r == 0)
            break;
        if (r == -ECONNRESET) {
            client_close(c, proto_lines_pending(&c->in) ? "client closed in the middle of a line" : "client closed");
            return;
        }
        if (r < 0) {
            client_close(c, strerror((int)-r));
            return;
        }
        total += (size_t)r;
        proto_lines_commit(&c->in, (size_t)r);
        if (process_lines(c)) {
            schedule_turn(c);
            break;
        }
    }
    note_partial(c);
}

static void client_io(loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)fd;
    struct client *c = arg;
    if (c->dead)
        return;
    if (events & LOOP_WRITE)
        client_write(c);
    if (!c->dead && (events & (LOOP_READ | LOOP_ERROR))) {
        if (c->paused || c->closing) {
            /* Reading is masked, so this is a hang-up (level-triggered: it would be reported again and
             * again): the peer is gone and cannot take what is queued. */
            if (events & LOOP_ERROR)
                client_close(c, "client went away");
            return;
        }
        client_read(c);
    }
}

/* ---- accepting ---- */

/* A second after the refusal log's window began: the count of those not logged, and a new window. */
static void refusals_window(struct server *s, int64_t now)
{
    if (now - s->refuse_log_us < 1000000)
        return;
    if (s->refuse_quiet)
        fprintf(stderr, "portierd: %u more connections refused\n", s->refuse_quiet);
    s->refuse_log_us = now;
    s->refuse_logged = s->refuse_quiet = 0;
}

static void refuse_now(struct server *s, int fd, const char *why)
{
    json_t *j = json_pack("{s:s,s:s}", "type", "bye", "reason", why);
    size_t len;
    char *line = j ? proto_dump(j, &len) : NULL;
    json_decref(j);
    if (line) {
        (void)!send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        free(line);
    }
    close(fd);
    s->st.refused++;
    /* In the log, but a flood of connections must not flood it: the first few each second, then a count. */
    refusals_window(s, event_now_us());
    if (s->refuse_logged < REFUSALS_LOGGED_PER_S) {
        s->refuse_logged++;
        fprintf(stderr, "portierd: connection refused: %s\n", why);
    } else {
        s->refuse_quiet++;
    }
}

/* The peer has closed its end completely (not a half-close: a client that shut down writing still reads). */
static bool peer_gone(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

/* Connections that count against a limit: uid NULL for every user's. At the limit, those whose peer has already
 * gone (a burst of short connections the loop has not reached yet) are left out: the loop handles what they sent
 * and closes them at its next pass; they must not make anyone be refused meanwhile. */
static size_t count_live(const struct server *s, const uid_t *uid, size_t limit)
{
    size_t n = 0;
    for (const struct client *o = s->clients; o; o = o->next)
        n += !o->dead && (!uid || o->uid == *uid);
    if (n < limit)
        return n;
    n = 0;
    for (const struct client *o = s->clients; o; o = o->next)
        n += !o->dead && (!uid || o->uid == *uid) && !peer_gone(o->fd);
    return n;
}

static void read_groups(struct client *c, int fd)
{
    gid_t g[SERVER_MAX_GROUPS];
    socklen_t len = sizeof g;
    c->n_groups = 0;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0) {
        c->n_groups = len / sizeof g[0];
        memcpy(c->groups, g, c->n_groups * sizeof g[0]);
    } else if (errno == ERANGE && len > 0) {
        gid_t *big = malloc(len);
        if (big && getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, big, &len) == 0) {
            c->n_groups = len / sizeof big[0] > SERVER_MAX_GROUPS ? SERVER_MAX_GROUPS : len / sizeof big[0];
            memcpy(c->groups, big, c->n_groups * sizeof big[0]);
        }
        free(big);
    }
}

static void accept_one(struct server *s, int fd)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
        refuse_now(s, fd, "no peer credentials");
        return;
    }
    if (count_live(s, NULL, s->o.max_clients) >= s->o.max_clients) {
        char why[96];
        snprintf(why, sizeof why, "too many clients (%zu)", s->o.max_clients);
        refuse_now(s, fd, why);
        return;
    }
    if (count_live(s, &cr.uid, s->o.max_per_uid) >= s->o.max_per_uid) {
        char why[96];
        snprintf(why, sizeof why, "too many connections for uid %u (%zu)", (unsigned)cr.uid, s->o.max_per_uid);
        refuse_now(s, fd, why);
        return;
    }
    struct client *c = calloc(1, sizeof *c);
    if (!c) {
        refuse_now(s, fd, "out of memory");
        return;
    }
    c->srv = s;
    c->fd = fd;
    c->no = ++s->next_no;
    c->pid = cr.pid;
    c->uid = cr.uid;
    c->gid = cr.gid;
    read_groups(c, fd);
    snprintf(c->user, sizeof c->user, "uid%u", (unsigned)cr.uid);
    c->accepted_us = event_now_us();
    proto_lines_init(&c->in, s->o.max_line);
    char why[160] = "refused";
    if (s->h.accept && !s->h.accept(c, why, sizeof why, s->h.arg)) {
        proto_lines_free(&c->in);
        free(c);
        refuse_now(s, fd, why);
        return;
    }
    if (loop_add_fd(s->loop, fd, LOOP_READ, client_io, c) < 0) {
        proto_lines_free(&c->in);
        free(c);
        refuse_now(s, fd, "cannot watch the connection");
        return;
    }
    c->next = s->clients;
    if (s->clients)
        s->clients->prev = c;
    s->clients = c;
    s->n++;
    s->st.accepted++;
    if (s->h.connected)
        s->h.connected(c, s->h.arg);
}

static void listen_cb(loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)events;
    struct server *s = arg;
    int64_t t0 = (int64_t)loop_mono_us();
    for (int i = 0; i < ACCEPT_PER_WAKE && (int64_t)loop_mono_us() - t0 < WAKE_BUDGET_US; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd >= 0) {
            accept_one(s, cfd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if ((errno == EMFILE || errno == ENFILE) && s->spare_fd >= 0) {
            /* Out of descriptors: free the spare one to take the connection, tell it why, close it. */
            close(s->spare_fd);
            s->spare_fd = -1;
            cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (cfd >= 0)
                refuse_now(s, cfd, "portierd is out of file descriptors");
            s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
            continue;
        }
        break; /* EAGAIN, or an error to retry at the next wake-up */
    }
}

/* ---- timeouts ---- */

static void tick_cb(loop_t *loop, void *arg)
{
    struct server *s = arg;
    int64_t now = event_now_us();
    if (s->refuse_quiet)
        refusals_window(s, now);
    for (struct client *c = s->clients, *next; c; c = next) {
        next = c->next;
        if (c->closing) {
            if (c->stalled_since_us && now - c->stalled_since_us > CLOSING_GRACE_US)
                client_close(c, "did not take its bye");
            continue;
        }
        if (!c->hello && now - c->accepted_us > (int64_t)s->o.hello_timeout_ms * 1000) {
            char why[64];
            snprintf(why, sizeof why, "no hello within %u s", s->o.hello_timeout_ms / 1000);
            server_bye(c, why);
        } else if (c->in_since_us && now - c->in_since_us > (int64_t)s->o.line_timeout_ms * 1000) {
            char why[64];
            snprintf(why, sizeof why, "incomplete line for %u s", s->o.line_timeout_ms / 1000);
            server_bye(c, why);
        } else if ((c->q_len || c->resync) && c->stalled_since_us &&
                   now - c->stalled_since_us > (int64_t)s->o.stall_timeout_ms * 1000) {
            char why[64];
            snprintf(why, sizeof why, "not reading for %u s", s->o.stall_timeout_ms / 1000);
            server_bye(c, why); /* best effort: it does not read, so the grace period closes it */
        }
    }
    loop_timer_arm_ms(loop, &s->tick_timer, 500);
}

/* ---- setup ---- */

static int make_dirs(const char *path)
{
    char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];
    snprintf(tmp, sizeof tmp, "%s", path);
    char *slash = strrchr(tmp, '/');
    if (!slash || slash == tmp)
        return 0;
    *slash = '\0';
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* A name beside `path` private to this process: ".NAME.PID" in the same directory. */
static int private_name(const char *path, char *out, size_t outlen)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    int n = snprintf(out, outlen, "%.*s.%s.%ld", (int)dirlen, path, slash ? slash + 1 : path, (long)getpid());
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

struct server *server_new(loop_t *loop, const struct server_opts *opts, const struct server_handlers *h, char *err,
                          size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (!opts->path || !opts->path[0] || strlen(opts->path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "socket path \"%s\" is empty or longer than %zu bytes", opts->path ? opts->path : "",
                 sizeof sa.sun_path - 1);
        return NULL;
    }
    struct server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->loop = loop;
    s->o = *opts;
    s->h = *h;
    s->lfd = -1;
    snprintf(s->path, sizeof s->path, "%s", opts->path);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", opts->path);
    if (make_dirs(s->path) < 0) {
        snprintf(err, errlen, "%s: cannot create its directory: %s", s->path, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (lstat(s->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "%s exists and is not a socket", s->path);
            goto fail;
        }
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0) {
            close(probe);
            snprintf(err, errlen, "%s: another portierd is listening there", s->path);
            goto fail;
        }
        if (probe >= 0)
            close(probe);
        unlink(s->path); /* stale: left by a daemon that was killed */
    }
    s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->lfd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        goto fail;
    }
    /* The socket is made ready under a private name and then linked to its path: a client that sees the path
     * can connect at once (bound but not yet listening, it would be refused), and link() refuses to replace a
     * socket another portierd put there meanwhile. */
    struct sockaddr_un ta = { .sun_family = AF_UNIX };
    if (private_name(s->path, ta.sun_path, sizeof ta.sun_path) < 0) {
        snprintf(err, errlen, "%s: the socket's directory leaves no room for a temporary name", s->path);
        goto fail;
    }
    unlink(ta.sun_path); /* left by a portierd with this pid that was killed */
    mode_t old = umask(0177); /* born 0600; opened up to the configured mode after chown */
    int rc = bind(s->lfd, (struct sockaddr *)&ta, sizeof ta);
    umask(old);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", ta.sun_path, strerror(errno));
        goto fail;
    }
    if (opts->group != (gid_t)-1 && chown(ta.sun_path, (uid_t)-1, opts->group) != 0) {
        snprintf(err, errlen, "%s: cannot give it group %u: %s", s->path, (unsigned)opts->group, strerror(errno));
        unlink(ta.sun_path);
        goto fail;
    }
    if (chmod(ta.sun_path, opts->mode) != 0 || listen(s->lfd, 128) != 0) {
        snprintf(err, errlen, "%s: %s", s->path, strerror(errno));
        unlink(ta.sun_path);
        goto fail;
    }
    rc = link(ta.sun_path, s->path);
    int link_errno = errno;
    unlink(ta.sun_path);
    if (rc != 0) {
        if (link_errno == EEXIST)
            snprintf(err, errlen, "%s: another portierd is listening there", s->path);
        else
            snprintf(err, errlen, "%s: %s", s->path, strerror(link_errno));
        goto fail;
    }
    if (loop_add_fd(loop, s->lfd, LOOP_READ, listen_cb, s) < 0) {
        snprintf(err, errlen, "cannot watch the socket");
        unlink(s->path);
        goto fail;
    }
    s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    loop_timer_init(&s->flush_timer, flush_cb, s);
    loop_timer_init(&s->tick_timer, tick_cb, s);
    loop_timer_init(&s->turn_timer, turn_cb, s);
    loop_timer_arm_ms(loop, &s->tick_timer, 500);
    return s;
fail:
    if (s->lfd >= 0)
        close(s->lfd);
    free(s);
    return NULL;
}

void server_free(struct server *s, const char *reason)
{
    if (!s)
        return;
    for (struct client *c = s->clients, *next; c; c = next) {
        next = c->next; /* before client_write, which may close c */
        if (reason)
            server_bye(c, reason);
        if (!c->dead && c->q_len)
            client_write(c); /* one last attempt, without waiting */
    }
    while (s->clients)
        client_close(s->clients, reason ? reason : "server stopping");
    free_graveyard(s);
    loop_timer_disarm(s->loop, &s->flush_timer);
    loop_timer_disarm(s->loop, &s->tick_timer);
    loop_timer_disarm(s->loop, &s->turn_timer);
    loop_del_fd(s->loop, s->lfd);
    close(s->lfd);
    if (s->spare_fd >= 0)
        close(s->spare_fd);
    unlink(s->path);
    free(s);
}

struct client *server_first(struct server *s)
{
    return s->clients;
}

struct client *server_next(struct client *c)
{
    return c->next;
}

size_t server_queued(const struct client *c)
{
    return c->q_bytes;
}

size_t server_queue_limit(const struct server *s)
{
    return s->o.queue_limit;
}

size_t server_clients(const struct server *s)
{
    return s->n;
}

void server_stats(const struct server *s, struct server_stats *st)
{
    *st = s->st;
    st->clients = s->n;
}
