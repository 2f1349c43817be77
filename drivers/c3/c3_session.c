/* c3_session: the connection state machine of one C3 panel. Kept in one file (about 1100 lines) on purpose: its
 * states, queue, timers and probing call each other and share one private struct; split, they would need it public. */
#include "drivers/c3/c3_session.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_scan.h"

struct c3_req {
    struct c3_req *next;
    struct c3_session *s;
    uint8_t cmd;
    uint8_t *payload;
    size_t len;
    enum c3_prio prio;
    uint32_t timeout_ms;
    uint8_t retries;
    bool internal_poll;
    long long id;
    c3_req_cb cb;
    void *arg;
    void (*drop)(void *arg);
    loop_timer_t expire;
};

struct c3_session {
    loop_t *loop;
    struct c3_session_config cfg;
    char password[64];
    struct c3_session_callbacks cbs;

    enum c3_state state;
    struct xport x;
    unsigned gen;            /* bumped on every close: stale callbacks notice it */
    bool fd_added;
    struct tcp_rxbuf rx;     /* what one read brought; handed to the scanner at once */
    struct c3_scanner scan;
    uint8_t *tx;
    size_t tx_cap, tx_len, tx_off;

    bool started, stopping, freeing;
    bool use_sessionless;    /* AUTO fell back to 0x01 (remembered across reconnects) */
    bool sessionful;         /* the current connection uses the session prefix */
    uint16_t sid, nr;

    struct c3_req *q_head[C3_PRIO_COUNT], *q_tail[C3_PRIO_COUNT];
    struct c3_req *inflight;
    uint16_t inflight_nr;
    uint64_t sent_us;
    long long next_id;

    loop_timer_t conn_timer;  /* connect / handshake deadline */
    loop_timer_t req_timer;   /* in-flight request deadline */
    loop_timer_t backoff_timer;
    loop_timer_t probe_timer;
    bool probe_allowed;      /* the last failure was below the protocol: probe while backing off */
    bool probing;            /* x is a probe's TCP connect in progress (the state stays BACKOFF) */
    loop_timer_t poll_timer;
    unsigned round_events;   /* event records drained since the last status record */
    loop_timer_t stale_timer;
    loop_timer_t stop_timer;

    uint32_t attempt;         /* consecutive failed attempts (backoff exponent) */
    uint32_t consecutive_timeouts;
    bool ever_connected_attempt;
    bool poll_pending;        /* an internal poll is queued or in flight */
    bool polls_held;          /* the owner holds polling (c3_session_hold_polls) */
    enum c3_rtmode rtmode;
    bool stale;

    uint64_t rng;
    int last_err;
    char last_error[160];
    struct c3_session_stats stats;
};

/* ---- small helpers ---- */

const char *c3_state_name(enum c3_state st)
{
    switch (st) {
    case C3_ST_DISCONNECTED: return "disconnected";
    case C3_ST_CONNECTING: return "connecting";
    case C3_ST_HANDSHAKE: return "handshake";
    case C3_ST_ONLINE: return "online";
    case C3_ST_BACKOFF: return "backoff";
    }
    return "?";
}

const char *c3_session_strerror(int err)
{
    switch (err) {
    case 0: return "ok";
    case C3_S_TIMEOUT: return "no answer before the deadline";
    case C3_S_DISCONNECTED: return "connection lost";
    case C3_S_CANCELED: return "canceled";
    case C3_S_EXPIRED: return "not answered in time (panel unreachable?)";
    case C3_S_NOMEM: return "out of memory";
    case C3_S_INVALID: return "invalid request";
    case C3_S_PROTOCOL: return "answer makes no sense";
    case C3_S_CONNECT: return "cannot connect";
    default: break;
    }
    if (err <= -1000 || (err < 0 && err >= -99) || (err <= -100 && err >= -307))
        return c3_strerror(err);
    if (err < 0)
        return strerror(-err);
    return "unknown error";
}

static uint64_t rng_next(struct c3_session *s)
{
    /* xorshift64* */
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

uint32_t c3_backoff_delay_ms(uint32_t attempt, uint32_t min_ms, uint32_t max_ms, uint64_t r)
{
    if (min_ms == 0)
        min_ms = 1;
    if (max_ms < min_ms)
        max_ms = min_ms;
    uint64_t base = min_ms;
    for (uint32_t i = 0; i < attempt && base < max_ms; i++)
        base *= 2;
    if (base > max_ms)
        base = max_ms;
    uint64_t lo = base / 2;
    uint64_t span = base - lo + 1;
    return (uint32_t)(lo + r % span);
}

static void set_error(struct c3_session *s, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_error(struct c3_session *s, int code, const char *fmt, ...)
{
    s->last_err = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->last_error, sizeof s->last_error, fmt, ap);
    va_end(ap);
}

static void set_state(struct c3_session *s, enum c3_state st, int err)
{
    if (s->state == st && err == 0)
        return;
    s->state = st;
    if (s->cbs.state)
        s->cbs.state(s, st, err, s->cbs.arg);
}

static void set_stale(struct c3_session *s, bool stale)
{
    if (s->stale == stale)
        return;
    s->stale = stale;
    if (s->cbs.stale)
        s->cbs.stale(s, stale, s->cbs.arg);
}

/* ---- queue ---- */

static void q_push_back(struct c3_session *s, struct c3_req *r)
{
    r->next = NULL;
    if (s->q_tail[r->prio])
        s->q_tail[r->prio]->next = r;
    else
        s->q_head[r->prio] = r;
    s->q_tail[r->prio] = r;
}

static void q_push_front(struct c3_session *s, struct c3_req *r)
{
    r->next = s->q_head[r->prio];
    s->q_head[r->prio] = r;
    if (!s->q_tail[r->prio])
        s->q_tail[r->prio] = r;
}

static struct c3_req *q_pop(struct c3_session *s)
{
    for (int p = 0; p < C3_PRIO_COUNT; p++) {
        struct c3_req *r = s->q_head[p];
        if (r) {
            s->q_head[p] = r->next;
            if (!s->q_head[p])
                s->q_tail[p] = NULL;
            r->next = NULL;
            return r;
        }
    }
    return NULL;
}

static bool q_remove(struct c3_session *s, struct c3_req *r)
{
    struct c3_req **pp = &s->q_head[r->prio], *prev = NULL;
    for (; *pp; prev = *pp, pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            if (s->q_tail[r->prio] == r)
                s->q_tail[r->prio] = prev;
            r->next = NULL;
            return true;
        }
    }
    return false;
}

static void req_free(struct c3_session *s, struct c3_req *r)
{
    loop_timer_disarm(s->loop, &r->expire);
    free(r->payload);
    free(r);
}

static void handle_poll_result(struct c3_session *s, const struct c3_result *res);
static void kick(struct c3_session *s);
static void fail_connection(struct c3_session *s, int err);

/* Finish a request (already out of the queue and not in flight): tell its owner, free it. */
static void req_finish(struct c3_session *s, struct c3_req *r, const struct c3_result *res)
{
    if (r->internal_poll) {
        s->poll_pending = false;
        req_free(s, r);
        handle_poll_result(s, res);
        return;
    }
    c3_req_cb cb = r->cb;
    void *arg = r->arg;
    void (*drop)(void *) = r->drop;
    req_free(s, r);
    if (cb && !s->freeing)
        cb(s, res, arg);
    else if (s->freeing && drop)
        drop(arg);
}

static void req_fail(struct c3_session *s, struct c3_req *r, int err)
{
    struct c3_result res = { .err = err };
    req_finish(s, r, &res);
}

static bool answered_meanwhile(struct c3_session *s);

/* The request with this id, in flight or queued; NULL once it is finished (and freed). */
static struct c3_req *find_req(struct c3_session *s, long long id)
{
    if (s->inflight && s->inflight->id == id)
        return s->inflight;
    for (int p = 0; p < C3_PRIO_COUNT; p++)
        for (struct c3_req *r = s->q_head[p]; r; r = r->next)
            if (r->id == id)
                return r;
    return NULL;
}

static void on_expire(loop_t *loop, void *arg)
{
    struct c3_req *r = arg;
    struct c3_session *s = r->s;
    (void)loop;
    if (s->inflight == r) {
        /* As at a reply deadline, what reached the socket is read first: an answer that came during a stall is
         * taken. The read can finish and free the request, or put it back in the queue (the connection went):
         * it is looked up again by its id. */
        long long id = r->id;
        if (answered_meanwhile(s) && !(r = find_req(s, id)))
            return;
    }
    if (s->inflight == r) {
        /* Its reply can still arrive; forget the request but keep the number so the reply is discarded. */
        s->inflight = NULL;
        loop_timer_disarm(s->loop, &s->req_timer);
        s->stats.timeouts++;
        if (!s->sessionful && s->state == C3_ST_ONLINE) {
            /* Without message numbers a late reply would be taken for the next request's. */
            req_fail(s, r, C3_S_EXPIRED);
            if (s->state == C3_ST_ONLINE)
                fail_connection(s, C3_S_TIMEOUT);
            return;
        }
    } else {
        q_remove(s, r);
    }
    req_fail(s, r, C3_S_EXPIRED);
    kick(s);
}

/* ---- transport ---- */

static void on_io(loop_t *loop, int fd, unsigned events, void *arg);

static void close_transport(struct c3_session *s)
{
    if (s->fd_added && s->x.fd >= 0)
        loop_del_fd_of(s->loop, s->x.fd, on_io, s);
    s->fd_added = false;
    if (xport_is_open(&s->x))
        xport_close(&s->x);
    s->x.fd = -1;
    s->gen++;
    s->rx.len = 0;
    c3_scanner_reset(&s->scan);
    s->tx_len = s->tx_off = 0;
    loop_timer_disarm(s->loop, &s->conn_timer);
    loop_timer_disarm(s->loop, &s->req_timer);
}

static int tx_frame(struct c3_session *s, uint8_t cmd, bool prefix, uint16_t sid, uint16_t nr,
                    const uint8_t *payload, size_t len)
{
    size_t need = c3_frame_size(prefix, len);
    if (need > s->tx_cap) {
        uint8_t *p = realloc(s->tx, need);
        if (!p)
            return C3_S_NOMEM;
        s->tx = p;
        s->tx_cap = need;
    }
    struct c3_frame_hdr h = { .address = s->cfg.address, .command = cmd, .session = prefix, .sid = sid,
                              .nr = nr };
    int n = c3_frame_encode(s->tx, s->tx_cap, &h, payload, len);
    if (n < 0)
        return n;
    s->tx_len = (size_t)n;
    s->tx_off = 0;
    s->stats.requests++;
    if (s->cbs.trace)
        s->cbs.trace(s, true, s->tx, s->tx_len, s->cbs.arg);
    return 0;
}

/* Write what is pending; returns false if the connection was dropped. */
static bool flush(struct c3_session *s)
{
    if (s->tx_off >= s->tx_len) {
        loop_mod_fd(s->loop, s->x.fd, LOOP_READ);
        return true;
    }
    int rc = xport_write_some(&s->x, s->tx, s->tx_len, &s->tx_off);
    if (rc < 0) {
        set_error(s, rc, "write failed: %s", strerror(-rc));
        fail_connection(s, rc);
        return false;
    }
    if (rc == 1) {
        s->tx_len = s->tx_off = 0;
        loop_mod_fd(s->loop, s->x.fd, LOOP_READ);
    } else {
        loop_mod_fd(s->loop, s->x.fd, LOOP_READ | LOOP_WRITE);
    }
    return true;
}

static void schedule_backoff(struct c3_session *s, int err)
{
    uint32_t d = c3_backoff_delay_ms(s->attempt, s->cfg.backoff_min_ms, s->cfg.backoff_max_ms, rng_next(s));
    if (s->attempt < 31)
        s->attempt++;
    /* A panel that answered the TCP connect but failed the handshake is not probed (see probe_ms). */
    s->probe_allowed = s->state != C3_ST_HANDSHAKE;
    set_state(s, C3_ST_BACKOFF, err);
    loop_timer_arm_ms(s->loop, &s->backoff_timer, d);
    if (s->probe_allowed && d > s->cfg.probe_ms)
        loop_timer_arm_ms(s->loop, &s->probe_timer, s->cfg.probe_ms);
}

/* Requeue what was in flight (if it may be resent) when the link goes away. */
static void orphan_inflight(struct c3_session *s)
{
    struct c3_req *r = s->inflight;
    if (!r)
        return;
    s->inflight = NULL;
    if (r->internal_poll) {
        s->poll_pending = false;
        req_free(s, r);
        return;
    }
    if (r->retries > 0) {
        r->retries--;
        q_push_front(s, r);
    } else {
        req_fail(s, r, C3_S_DISCONNECTED);
    }
}

static void drop_polls(struct c3_session *s)
{
    /* Internal polls never wait across reconnects: a fresh one starts once online. */
    struct c3_req *r = s->q_head[C3_PRIO_POLL], *next;
    for (; r; r = next) {
        next = r->next;
        if (r->internal_poll) {
            q_remove(s, r);
            req_free(s, r);
        }
    }
    s->poll_pending = false;
    loop_timer_disarm(s->loop, &s->poll_timer);
}

static void finish_stop(struct c3_session *s)
{
    s->stopping = true; /* nothing below may re-arm a timer */
    close_transport(s);
    loop_timer_disarm(s->loop, &s->backoff_timer);
    loop_timer_disarm(s->loop, &s->probe_timer);
    s->probing = false;
    loop_timer_disarm(s->loop, &s->poll_timer);
    loop_timer_disarm(s->loop, &s->stale_timer);
    loop_timer_disarm(s->loop, &s->stop_timer);
    struct c3_req *r = s->inflight;
    s->inflight = NULL;
    if (r)
        req_fail(s, r, C3_S_CANCELED);
    while ((r = q_pop(s)) != NULL)
        req_fail(s, r, C3_S_CANCELED);
    loop_timer_disarm(s->loop, &s->poll_timer);
    loop_timer_disarm(s->loop, &s->stale_timer);
    s->poll_pending = false;
    s->started = false;
    s->stopping = false;
    set_state(s, C3_ST_DISCONNECTED, 0);
}

/* The link is unusable: close it and try again later. */
static void fail_connection(struct c3_session *s, int err)
{
    close_transport(s);
    orphan_inflight(s);
    drop_polls(s);
    if (s->stopping) {
        finish_stop(s);
        return;
    }
    schedule_backoff(s, err);
}

static void start_connect(struct c3_session *s)
{
    char err[128] = "";
    int rc;
    s->x.fd = -1;
    if (s->ever_connected_attempt)
        s->stats.reconnects++;
    s->ever_connected_attempt = true;
    if (s->cfg.open)
        rc = s->cfg.open(s->cfg.open_arg, &s->x, err, sizeof err);
    else
        rc = tcp_connect_start(&s->x, &s->cfg.addr);
    if (rc < 0 || !xport_is_open(&s->x)) {
        if (rc >= 0)
            rc = -EBADF;
        if (!err[0])
            snprintf(err, sizeof err, "%s", strerror(-rc));
        set_error(s, rc, "cannot connect to %s: %s", s->cfg.open ? "panel" : s->cfg.addr.text, err);
        s->x.fd = -1;
        schedule_backoff(s, rc);
        return;
    }
    if (loop_add_fd(s->loop, s->x.fd, LOOP_READ | LOOP_WRITE, on_io, s) < 0) {
        xport_close(&s->x);
        set_error(s, C3_S_NOMEM, "cannot watch the connection");
        schedule_backoff(s, C3_S_NOMEM);
        return;
    }
    s->fd_added = true;
    s->rx.len = 0;
    c3_scanner_reset(&s->scan);
    s->tx_len = s->tx_off = 0;
    set_state(s, C3_ST_CONNECTING, 0);
    loop_timer_arm_ms(s->loop, &s->conn_timer, s->cfg.connect_timeout_ms);
}

static void begin_handshake(struct c3_session *s)
{
    bool session = s->cfg.dialect == C3_DIALECT_SESSION ||
                   (s->cfg.dialect == C3_DIALECT_AUTO && !s->use_sessionless);
    s->sessionful = session;
    s->sid = C3_SID_CONNECT;
    s->nr = C3_MSGNR_CONNECT; /* message numbers restart on every connection */
    s->inflight_nr = s->nr;
    size_t plen = strlen(s->password);
    int rc = tx_frame(s, session ? C3_CMD_CONNECT_SESSION : C3_CMD_CONNECT, session, s->sid, s->nr,
                      (const uint8_t *)s->password, plen);
    if (rc < 0) {
        set_error(s, rc, "cannot encode connect: %s", c3_session_strerror(rc));
        fail_connection(s, rc);
        return;
    }
    s->sent_us = loop_now_us(s->loop);
    set_state(s, C3_ST_HANDSHAKE, 0);
    loop_timer_arm_ms(s->loop, &s->conn_timer, s->cfg.handshake_timeout_ms);
    flush(s);
}

static void go_online(struct c3_session *s)
{
    loop_timer_disarm(s->loop, &s->conn_timer);
    s->consecutive_timeouts = 0;
    s->stats.connects++;
    s->last_err = 0;
    s->last_error[0] = '\0';
    s->nr = c3_msgnr_next(s->nr);
    set_state(s, C3_ST_ONLINE, 0);
    if (s->state != C3_ST_ONLINE) /* a callback stopped us */
        return;
    if (s->cfg.poll_interval_ms && !s->polls_held)
        loop_timer_arm_ms(s->loop, &s->poll_timer, 0);
    kick(s);
}

static void handshake_reply(struct c3_session *s, const struct c3_frame *f)
{
    struct c3_reply r;
    int rc = c3_reply_parse(f, s->sessionful, &r);
    if (rc < 0) {
        s->stats.bad_frames++;
        return; /* keep waiting; the deadline decides */
    }
    s->stats.replies++;
    uint64_t rtt = loop_now_us(s->loop) - s->sent_us;
    s->stats.rtt_last_us = rtt;
    if (r.code == C3_REPLY_OK) {
        if (s->sessionful) {
            if (!r.has_session) {
                set_error(s, C3_S_PROTOCOL, "connect answer carries no session id");
                fail_connection(s, C3_S_PROTOCOL);
                return;
            }
            s->sid = r.sid;
        }
        go_online(s); /* the backoff counter resets with the first answered request, not here */
        return;
    }
    if (r.code == C3_REPLY_ERROR) {
        s->stats.panel_errors++;
        if (r.error == -13 && s->sessionful && s->cfg.dialect == C3_DIALECT_AUTO) {
            /* Session-less firmware: the panel may close this socket; use a fresh one at once. */
            s->stats.fallbacks++;
            s->use_sessionless = true;
            close_transport(s);
            start_connect(s);
            return;
        }
        if (r.error == -13 && !s->sessionful && s->cfg.dialect == C3_DIALECT_AUTO)
            s->use_sessionless = false; /* firmware changed? start over with 0x76 next time */
        if (r.error == -14) {
            s->stats.auth_failures++;
            set_error(s, -14, "wrong communication password (panel error -14)");
        } else {
            set_error(s, r.error, "connect refused: %s (panel error %d)", c3_strerror(r.error), r.error);
        }
        fail_connection(s, r.error);
        return;
    }
    set_error(s, C3_S_PROTOCOL, "unexpected reply code 0x%02X to connect", r.code);
    fail_connection(s, C3_S_PROTOCOL);
}

static void online_reply(struct c3_session *s, const struct c3_frame *f)
{
    struct c3_reply r;
    int rc = c3_reply_parse(f, s->sessionful, &r);
    if (rc < 0) {
        s->stats.bad_frames++;
        return;
    }
    if (!s->inflight) {
        s->stats.desyncs++; /* a late answer to something that already timed out */
        return;
    }
    if (s->sessionful && r.has_session && (r.sid != s->sid || r.nr != s->inflight_nr)) {
        s->stats.desyncs++;
        return;
    }
    struct c3_req *q = s->inflight;
    s->inflight = NULL;
    loop_timer_disarm(s->loop, &s->req_timer);
    s->consecutive_timeouts = 0;
    s->attempt = 0;
    s->stats.replies++;
    uint64_t rtt = loop_now_us(s->loop) - s->sent_us;
    s->stats.rtt_last_us = rtt;
    s->stats.rtt_sum_us += rtt;
    if (s->stats.rtt_count == 0 || rtt < s->stats.rtt_min_us)
        s->stats.rtt_min_us = rtt;
    if (rtt > s->stats.rtt_max_us)
        s->stats.rtt_max_us = rtt;
    s->stats.rtt_count++;
    struct c3_result res = { .code = r.code, .data = r.payload, .len = r.payload_len, .rtt_us = rtt };
    if (r.code == C3_REPLY_ERROR) {
        s->stats.panel_errors++;
        res.err = r.error ? r.error : -99;
    } else if (r.code != C3_REPLY_OK && r.code != C3_REPLY_PREPARE) {
        res.err = C3_E_CODE;
    }
    req_finish(s, q, &res);
    kick(s);
}

static void handle_frame(struct c3_session *s, const uint8_t *buf, size_t len)
{
    struct c3_frame f;
    if (s->cbs.trace)
        s->cbs.trace(s, false, buf, len, s->cbs.arg);
    if (c3_frame_parse(buf, len, &f) < 0) {
        s->stats.bad_frames++;
        return;
    }
    if (s->state == C3_ST_HANDSHAKE)
        handshake_reply(s, &f);
    else if (s->state == C3_ST_ONLINE)
        online_reply(s, &f);
    else
        s->stats.desyncs++;
}

static void read_input(struct c3_session *s)
{
    unsigned gen = s->gen;
    ssize_t n = tcp_rx_drain(&s->x, &s->rx);
    bool dead = n < 0;
    int err = (int)n;
    /* Frames first, even when the peer closed right after sending them. The scanner's work per byte is
     * bounded whatever the bytes are (crafted streams cannot stall the loop). */
    size_t off = 0;
    uint64_t junk = s->scan.junk_bytes, bad = s->scan.bad_frames;
    while (s->gen == gen) {
        size_t took = c3_scanner_push(&s->scan, s->rx.data + off, s->rx.len - off);
        off += took;
        struct c3_scan sc;
        bool frames = false;
        while (s->gen == gen && c3_scanner_next(&s->scan, &sc) == C3_SCAN_FRAME) {
            frames = true;
            /* Copy out: handling may close the connection and reset the scanner. */
            uint8_t stackbuf[512];
            uint8_t *fb = sc.n <= sizeof stackbuf ? stackbuf : malloc(sc.n);
            if (!fb)
                continue;
            memcpy(fb, sc.frame.data - C3_FRAME_HEAD_LEN, sc.n);
            handle_frame(s, fb, sc.n);
            if (fb != stackbuf)
                free(fb);
        }
        if (off >= s->rx.len)
            break;
        if (!took && !frames) { /* out of memory for the window: drop the rest */
            s->stats.junk_bytes += s->rx.len - off;
            break;
        }
    }
    s->stats.junk_bytes += s->scan.junk_bytes - junk;
    s->stats.bad_frames += s->scan.bad_frames - bad;
    s->rx.len = 0;
    if (s->gen != gen)
        return;
    if (dead && s->state != C3_ST_DISCONNECTED && s->state != C3_ST_BACKOFF) {
        if (err == -ECONNRESET)
            set_error(s, err, "%s closed the connection", s->x.desc);
        else
            set_error(s, err, "%s: %s", s->x.desc, strerror(-err));
        fail_connection(s, err == -EMSGSIZE ? C3_S_PROTOCOL : err);
    }
}

static void probe_io(struct c3_session *s);

static void on_io(loop_t *loop, int fd, unsigned events, void *arg)
{
    struct c3_session *s = arg;
    (void)loop;
    if (fd != s->x.fd)
        return;
    if (s->probing) {
        probe_io(s);
        return;
    }
    if (s->state == C3_ST_CONNECTING) {
        int rc = xport_finish_open(&s->x);
        if (rc == -EINPROGRESS)
            return;
        if (rc < 0) {
            set_error(s, rc, "cannot connect to %s: %s", s->x.desc, strerror(-rc));
            fail_connection(s, rc);
            return;
        }
        loop_mod_fd(s->loop, s->x.fd, LOOP_READ);
        begin_handshake(s);
        return;
    }
    unsigned gen = s->gen;
    if (events & LOOP_WRITE) {
        if (!flush(s))
            return;
    }
    if (s->gen == gen && (events & (LOOP_READ | LOOP_ERROR)))
        read_input(s);
}

/* ---- sending requests ---- */

/* Read what reached the socket before a deadline is judged: after the process was not scheduled, the deadline and
 * whatever wrote the answer (a simulated panel's timer in the same loop) run in one turn of the loop, before it
 * looks at the socket again. true when the request in flight was answered meanwhile (or the connection went and
 * took it). */
static bool answered_meanwhile(struct c3_session *s)
{
    if (!s->inflight || s->x.fd < 0 || s->probing)
        return false;
    long long id = s->inflight->id;
    unsigned gen = s->gen;
    read_input(s);
    return s->gen != gen || !s->inflight || s->inflight->id != id;
}

static void on_req_timeout(loop_t *loop, void *arg)
{
    struct c3_session *s = arg;
    (void)loop;
    if (answered_meanwhile(s))
        return;
    struct c3_req *r = s->inflight;
    if (!r)
        return;
    s->inflight = NULL;
    s->stats.timeouts++;
    s->consecutive_timeouts++;
    bool drop = !s->sessionful || s->consecutive_timeouts >= s->cfg.max_timeouts;
    if (r->internal_poll) {
        s->poll_pending = false;
        req_free(s, r);
        if (!drop)
            loop_timer_arm_ms(s->loop, &s->poll_timer, 0);
    } else if (r->retries > 0) {
        r->retries--;
        q_push_front(s, r);
    } else {
        req_fail(s, r, C3_S_TIMEOUT);
    }
    if (s->state != C3_ST_ONLINE)
        return;
    if (drop) {
        /* Session-less: a late reply could not be told from the next one, so start a fresh socket.
         * Session mode: this many missed deadlines in a row means the link is dead. */
        set_error(s, C3_S_TIMEOUT, "%s: no answer within %u ms", s->x.desc, r ? s->cfg.request_timeout_ms : 0);
        fail_connection(s, C3_S_TIMEOUT);
        return;
    }
    kick(s);
}

static void kick(struct c3_session *s)
{
    /* No socket: a request submitted from a failure callback waits for the next connection. */
    if (s->state != C3_ST_ONLINE || s->inflight || s->tx_len > 0 || s->x.fd < 0)
        return;
    struct c3_req *r = q_pop(s);
    if (!r)
        return;
    s->inflight = r;
    s->inflight_nr = s->nr;
    s->nr = c3_msgnr_next(s->nr);
    int rc = tx_frame(s, r->cmd, s->sessionful, s->sid, s->inflight_nr, r->payload, r->len);
    if (rc < 0) {
        s->inflight = NULL;
        req_fail(s, r, rc);
        kick(s);
        return;
    }
    s->sent_us = loop_now_us(s->loop);
    loop_timer_arm_ms(s->loop, &s->req_timer, r->timeout_ms);
    flush(s);
}

long long c3_session_submit(struct c3_session *s, uint8_t cmd, const void *payload, size_t len,
                            const struct c3_request_opts *opts, c3_req_cb cb, void *arg)
{
    if (len > C3_DATA_MAX_ABS - C3_SESSION_LEN || (len && !payload))
        return C3_S_INVALID;
    struct c3_request_opts o = opts ? *opts : (struct c3_request_opts){ .prio = C3_PRIO_OPERATOR };
    if ((int)o.prio < 0 || o.prio >= C3_PRIO_COUNT)
        return C3_S_INVALID;
    if (s->stopping)
        return C3_S_CANCELED;
    struct c3_req *r = calloc(1, sizeof *r);
    if (!r)
        return C3_S_NOMEM;
    if (len) {
        r->payload = malloc(len);
        if (!r->payload) {
            free(r);
            return C3_S_NOMEM;
        }
        memcpy(r->payload, payload, len);
    }
    r->s = s;
    r->cmd = cmd;
    r->len = len;
    r->prio = o.prio;
    r->timeout_ms = o.timeout_ms ? o.timeout_ms : s->cfg.request_timeout_ms;
    r->retries = o.retries;
    r->cb = cb;
    r->arg = arg;
    r->drop = o.drop;
    r->id = ++s->next_id;
    loop_timer_init(&r->expire, on_expire, r);
    if (o.expire_ms)
        loop_timer_arm_ms(s->loop, &r->expire, o.expire_ms);
    q_push_back(s, r);
    long long id = r->id;
    kick(s);
    return id;
}

/* ---- RT log ---- */

/* A round with this many events means the panel's 30-record ring is filling up. */
#define C3_SESSION_BUSY_ROUND 8u

static void submit_poll(struct c3_session *s)
{
    if (s->poll_pending || s->state != C3_ST_ONLINE || s->polls_held)
        return;
    struct c3_req *r = calloc(1, sizeof *r);
    if (!r) {
        loop_timer_arm_ms(s->loop, &s->poll_timer, s->cfg.poll_interval_ms);
        return;
    }
    r->s = s;
    r->cmd = s->rtmode == C3_RTMODE_KV ? C3_CMD_RTLOG_KV : C3_CMD_RTLOG_BINARY;
    r->prio = C3_PRIO_POLL;
    r->timeout_ms = s->cfg.request_timeout_ms;
    r->internal_poll = true;
    r->id = ++s->next_id;
    loop_timer_init(&r->expire, on_expire, r);
    s->poll_pending = true;
    q_push_back(s, r);
    kick(s);
}

static void on_poll_timer(loop_t *loop, void *arg)
{
    (void)loop;
    submit_poll(arg);
}

static void on_stale_timer(loop_t *loop, void *arg)
{
    (void)loop;
    set_stale(arg, true);
}

static void handle_poll_result(struct c3_session *s, const struct c3_result *res)
{
    if (s->state != C3_ST_ONLINE || s->stopping)
        return;
    if (res->err != 0) {
        loop_timer_arm_ms(s->loop, &s->poll_timer, s->cfg.poll_interval_ms);
        return;
    }
    bool binary = s->rtmode == C3_RTMODE_BINARY;
    if (binary && !c3_rtlog_binary_ok(res->len)) {
        /* This firmware has no binary RT log: use the key/value form from now on. */
        s->rtmode = C3_RTMODE_KV;
        loop_timer_arm_ms(s->loop, &s->poll_timer, 0);
        return;
    }
    s->stats.polls++;
    set_stale(s, false);
    if (!s->polls_held)
        loop_timer_arm_ms(s->loop, &s->stale_timer, s->cfg.stale_after_ms);

    struct c3_rt_record recs[64];
    size_t bad = 0;
    int n = binary ? c3_rtlog_parse_binary(res->data, res->len, recs, sizeof recs / sizeof recs[0])
                   : c3_rtlog_parse_kv((const char *)res->data, res->len, recs, sizeof recs / sizeof recs[0], &bad);
    if (n == C3_E_TOOMANY)
        n = (int)(sizeof recs / sizeof recs[0]);
    if (n < 0) {
        n = 0;
        bad++;
    }
    s->stats.bad_frames += bad;
    bool saw_status = false;
    unsigned gen = s->gen;
    for (int i = 0; i < n; i++) {
        if (recs[i].kind == C3_RT_STATUS)
            saw_status = true;
        else
            s->round_events++;
        s->stats.records++;
        if (s->cbs.record)
            s->cbs.record(s, &recs[i], s->cbs.arg);
        if (s->gen != gen || s->state != C3_ST_ONLINE || s->stopping)
            return;
    }
    bool saw_any = n > 0;
    /* Events are queued in the panel: keep asking until it answers with a status record. */
    if (saw_any && !saw_status) {
        loop_timer_arm_ms(s->loop, &s->poll_timer, 0);
        return;
    }
    /* The panel keeps only 30 events: when a round drained many, the next one comes sooner so a busy
     * panel's ring cannot overflow between polls (at most 4x sooner; an idle panel keeps the interval). */
    uint32_t wait = s->cfg.poll_interval_ms;
    if (s->round_events >= C3_SESSION_BUSY_ROUND)
        wait /= 4;
    else if (s->round_events > 0)
        wait /= 2;
    s->round_events = 0;
    loop_timer_arm_ms(s->loop, &s->poll_timer, wait);
}

/* ---- timers ---- */

static void probe_failed(struct c3_session *s);

static void on_conn_timer(loop_t *loop, void *arg)
{
    struct c3_session *s = arg;
    (void)loop;
    if (s->probing) {
        probe_failed(s);
    } else if (s->state == C3_ST_CONNECTING) {
        set_error(s, C3_S_TIMEOUT, "cannot connect to %s: no answer within %u ms", s->x.desc,
                  s->cfg.connect_timeout_ms);
        fail_connection(s, C3_S_TIMEOUT);
    } else if (s->state == C3_ST_HANDSHAKE) {
        s->stats.timeouts++;
        set_error(s, C3_S_TIMEOUT, "%s: no answer to connect within %u ms", s->x.desc,
                  s->cfg.handshake_timeout_ms);
        fail_connection(s, C3_S_TIMEOUT);
    }
}

static void on_backoff_timer(loop_t *loop, void *arg)
{
    struct c3_session *s = arg;
    (void)loop;
    loop_timer_disarm(s->loop, &s->probe_timer);
    if (s->probing) { /* the real attempt replaces the probe */
        close_transport(s);
        s->probing = false;
    }
    if (s->state == C3_ST_BACKOFF)
        start_connect(s);
}

/* ---- probing while backing off ---- */

/* The next probe, unless the backoff's own attempt comes sooner. */
static void probe_later(struct c3_session *s)
{
    uint64_t now = loop_now_us(s->loop), next = now + (uint64_t)s->cfg.probe_ms * 1000;
    if (s->state == C3_ST_BACKOFF && s->probe_allowed && loop_timer_armed(&s->backoff_timer) &&
        s->backoff_timer.due_us > next)
        loop_timer_arm_ms(s->loop, &s->probe_timer, s->cfg.probe_ms);
}

static void probe_failed(struct c3_session *s)
{
    close_transport(s);
    s->probing = false;
    probe_later(s);
}

/* A bare TCP connect; the state stays BACKOFF (no link event per probe). */
static void on_probe_timer(loop_t *loop, void *arg)
{
    struct c3_session *s = arg;
    (void)loop;
    if (s->state != C3_ST_BACKOFF || s->probing || !s->probe_allowed)
        return;
    char err[128] = "";
    s->stats.probes++;
    s->x.fd = -1;
    int rc = s->cfg.open ? s->cfg.open(s->cfg.open_arg, &s->x, err, sizeof err) : tcp_connect_start(&s->x, &s->cfg.addr);
    if (rc < 0 || !xport_is_open(&s->x)) {
        if (rc >= 0 && xport_is_open(&s->x))
            xport_close(&s->x);
        s->x.fd = -1;
        probe_later(s);
        return;
    }
    if (loop_add_fd(s->loop, s->x.fd, LOOP_READ | LOOP_WRITE, on_io, s) < 0) {
        xport_close(&s->x);
        s->x.fd = -1;
        probe_later(s);
        return;
    }
    s->fd_added = true;
    s->probing = true;
    uint32_t t = s->cfg.connect_timeout_ms < s->cfg.probe_ms ? s->cfg.connect_timeout_ms : s->cfg.probe_ms;
    loop_timer_arm_ms(s->loop, &s->conn_timer, t);
}

/* The probe's connect finished: refused (probe again later), or accepted: the panel is back, the handshake
 * starts on this connection now. */
static void probe_io(struct c3_session *s)
{
    int rc = xport_finish_open(&s->x);
    if (rc == -EINPROGRESS)
        return;
    if (rc < 0) {
        probe_failed(s);
        return;
    }
    s->probing = false;
    loop_timer_disarm(s->loop, &s->backoff_timer);
    loop_timer_disarm(s->loop, &s->probe_timer);
    loop_timer_disarm(s->loop, &s->conn_timer);
    s->stats.reconnects++;
    s->rx.len = 0;
    c3_scanner_reset(&s->scan);
    s->tx_len = s->tx_off = 0;
    set_state(s, C3_ST_CONNECTING, 0);
    loop_mod_fd(s->loop, s->x.fd, LOOP_READ);
    begin_handshake(s);
}

static void on_stop_timer(loop_t *loop, void *arg)
{
    (void)loop;
    finish_stop(arg);
}

static void disconnect_done(struct c3_session *s, const struct c3_result *res, void *arg)
{
    (void)res;
    (void)arg;
    finish_stop(s);
}

/* ---- public ---- */

struct c3_session *c3_session_new(loop_t *loop, const struct c3_session_config *cfg,
                                  const struct c3_session_callbacks *cbs)
{
    struct c3_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->loop = loop;
    s->cfg = *cfg;
    if (cfg->password)
        snprintf(s->password, sizeof s->password, "%s", cfg->password);
    s->cfg.password = s->password;
    if (cbs)
        s->cbs = *cbs;
    if (!s->cfg.address)
        s->cfg.address = C3_ADDRESS_DEFAULT;
    if (!s->cfg.connect_timeout_ms)
        s->cfg.connect_timeout_ms = 3000;
    if (!s->cfg.request_timeout_ms)
        s->cfg.request_timeout_ms = 2000;
    if (!s->cfg.handshake_timeout_ms)
        s->cfg.handshake_timeout_ms = s->cfg.request_timeout_ms;
    if (!s->cfg.backoff_min_ms)
        s->cfg.backoff_min_ms = 500;
    if (!s->cfg.backoff_max_ms)
        s->cfg.backoff_max_ms = 30000;
    if (s->cfg.backoff_max_ms < s->cfg.backoff_min_ms)
        s->cfg.backoff_max_ms = s->cfg.backoff_min_ms;
    if (!s->cfg.probe_ms)
        s->cfg.probe_ms = 1000;
    if (!s->cfg.max_timeouts)
        s->cfg.max_timeouts = 3;
    if (!s->cfg.stale_after_ms)
        s->cfg.stale_after_ms = 3 * s->cfg.poll_interval_ms + s->cfg.request_timeout_ms;
    s->rng = cfg->seed ? cfg->seed : (loop_mono_us() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)s);
    if (!s->rng)
        s->rng = 0x9E3779B97F4A7C15ULL;
    s->x.fd = -1;
    tcp_rx_init(&s->rx, C3_DATA_MAX_ABS + C3_FRAME_OVERHEAD + 1024);
    if (c3_scanner_init(&s->scan, 0) < 0) {
        tcp_rx_free(&s->rx);
        free(s);
        return NULL;
    }
    loop_timer_init(&s->conn_timer, on_conn_timer, s);
    loop_timer_init(&s->req_timer, on_req_timeout, s);
    loop_timer_init(&s->backoff_timer, on_backoff_timer, s);
    loop_timer_init(&s->probe_timer, on_probe_timer, s);
    loop_timer_init(&s->poll_timer, on_poll_timer, s);
    loop_timer_init(&s->stale_timer, on_stale_timer, s);
    loop_timer_init(&s->stop_timer, on_stop_timer, s);
    s->state = C3_ST_DISCONNECTED;
    return s;
}

void c3_session_free(struct c3_session *s)
{
    if (!s)
        return;
    s->cbs = (struct c3_session_callbacks){ 0 };
    s->freeing = true; /* owners are going away: pending requests are dropped without callbacks */
    finish_stop(s);
    tcp_rx_free(&s->rx);
    c3_scanner_free(&s->scan);
    free(s->tx);
    free(s);
}

bool c3_session_withdraw(struct c3_session *s, long long id)
{
    if (id <= 0)
        return false;
    for (int p = 0; p < C3_PRIO_COUNT; p++)
        for (struct c3_req *r = s->q_head[p]; r; r = r->next)
            if (r->id == id && !r->internal_poll) {
                q_remove(s, r);
                req_free(s, r);
                return true;
            }
    return false;
}

void c3_session_hold_polls(struct c3_session *s, bool hold)
{
    if (s->polls_held == hold)
        return;
    s->polls_held = hold;
    if (!s->cfg.poll_interval_ms || !s->started || s->stopping)
        return;
    if (hold) {
        loop_timer_disarm(s->loop, &s->poll_timer);
        loop_timer_disarm(s->loop, &s->stale_timer);
        return;
    }
    loop_timer_arm_ms(s->loop, &s->stale_timer, s->cfg.stale_after_ms);
    if (s->state == C3_ST_ONLINE && !s->poll_pending)
        loop_timer_arm_ms(s->loop, &s->poll_timer, 0);
}

void c3_session_start(struct c3_session *s)
{
    if (s->started)
        return;
    s->started = true;
    s->stopping = false;
    s->attempt = 0;
    if (s->cfg.poll_interval_ms && !s->polls_held)
        loop_timer_arm_ms(s->loop, &s->stale_timer, s->cfg.stale_after_ms);
    start_connect(s);
}

void c3_session_stop(struct c3_session *s)
{
    if (!s->started || s->stopping)
        return;
    s->stopping = true;
    drop_polls(s);
    loop_timer_disarm(s->loop, &s->stale_timer);
    if (s->state != C3_ST_ONLINE) {
        finish_stop(s);
        return;
    }
    /* Polite disconnect ahead of everything still queued; give up after one request timeout. */
    struct c3_req *r = calloc(1, sizeof *r);
    if (!r) {
        finish_stop(s);
        return;
    }
    r->s = s;
    r->cmd = C3_CMD_DISCONNECT;
    r->prio = C3_PRIO_OPERATOR;
    r->timeout_ms = s->cfg.request_timeout_ms;
    r->cb = disconnect_done;
    loop_timer_init(&r->expire, on_expire, r);
    q_push_front(s, r);
    loop_timer_arm_ms(s->loop, &s->stop_timer, 2u * s->cfg.request_timeout_ms);
    kick(s);
}

enum c3_state c3_session_state(const struct c3_session *s) { return s->state; }
bool c3_session_stale(const struct c3_session *s) { return s->stale; }
bool c3_session_sessionful(const struct c3_session *s) { return s->sessionful; }
enum c3_rtmode c3_session_rtmode(const struct c3_session *s) { return s->rtmode; }
const struct c3_session_stats *c3_session_stats(const struct c3_session *s) { return &s->stats; }
const char *c3_session_last_error(const struct c3_session *s) { return s->last_error; }
int c3_session_last_error_code(const struct c3_session *s) { return s->last_err; }
const char *c3_session_describe(const struct c3_session *s)
{
    return s->x.desc[0] ? s->x.desc : s->cfg.addr.text;
}
