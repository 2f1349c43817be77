/* nix1_bus: the half-duplex master of one RS485 line: queue, transport, sending, receiving and scheduling.
 * The slave table and the poller are in nix1_bus_poll.c; what both share is nix1_bus_int.h. */
#include "drivers/nix1/nix1_bus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"
#include "drivers/nix1/nix1_bus_int.h"
#include "drivers/nix1/nix1_cmd.h"
#include "drivers/nix1/nix1_line.h"
#include "drivers/nix1/nix1_rc.h"
#include "drivers/nix1/nix1_reader.h"

/* ---- helpers ---- */

const char *nix1_status_str(enum nix1_status s)
{
    switch (s) {
    case NIX1_ST_REPLY: return "reply";
    case NIX1_ST_SENT: return "sent";
    case NIX1_ST_TIMEOUT: return "timeout";
    case NIX1_ST_BUSY: return "busy";
    case NIX1_ST_IO: return "io";
    case NIX1_ST_CANCELLED: return "cancelled";
    }
    return "?";
}

const char *nix1_slave_state_str(enum nix1_slave_state s)
{
    switch (s) {
    case NIX1_SLAVE_ONLINE: return "online";
    case NIX1_SLAVE_OFFLINE: return "offline";
    default: return "unknown";
    }
}

void nix1_bus_config_default(struct nix1_bus_config *c)
{
    memset(c, 0, sizeof *c);
    c->idle_gap_us = 5000;
    c->bcast_gap_us = 100000;
    c->bcast_long_gap_us = 500000;
    c->interchar_ms = 50;
    c->line_gap_ms = 1000;
    c->busy_retry_ms = 500;
    c->busy_max_ms = 60000;
    c->retries = 2;
    c->offline_after = 2;
    c->backoff_min_ms = 1000;
    c->backoff_max_ms = 60000;
    c->poll_burst = 32;
    c->reopen_max_ms = 30000;
}

uint64_t nix1_bus_char_time_us(const nix1_bus_t *bus, size_t n)
{
    return xport_char_time_us(bus->baud, n);
}


static void trace(nix1_bus_t *bus, bool tx, const char *line, size_t len)
{
    NIX1_BUS_NOTIFY(bus, trace, tx, line, len);
}

static void notify_transport(nix1_bus_t *bus, int err, const char *msg)
{
    NIX1_BUS_NOTIFY(bus, transport, err, msg);
}

/* ---- queue ---- */

static void queue_insert(nix1_bus_t *bus, struct req *r, bool at_front_of_prio)
{
    struct req **pp = &bus->queue;
    while (*pp && ((*pp)->prio < r->prio || (!at_front_of_prio && (*pp)->prio == r->prio)))
        pp = &(*pp)->next;
    r->next = *pp;
    *pp = r;
}

static void req_free(struct req *r)
{
    for (size_t i = 0; i < r->nlines; i++)
        free(r->lines[i]);
    free(r->lines);
    free(r);
}

void nix1_bus_kick(nix1_bus_t *bus)
{
    if (!loop_timer_armed(&bus->t_kick))
        loop_timer_arm_us(bus->loop, &bus->t_kick, 0);
}

static struct req *make_req_raw(nix1_bus_t *bus, const nix1_addr_t *a, char cmd, char arg, const char *opt,
                                const char *raw, enum nix1_prio prio, unsigned flags, unsigned timeout_ms,
                                int *err);

/* Finish r (bus->cur or a queued request already unlinked). */
static void complete(nix1_bus_t *bus, struct req *r, enum nix1_status st, uint8_t rc, const nix1_addr_t *from,
                     const char *payload, size_t plen, const char *error)
{
    if (bus->cur == r)
        bus->cur = NULL;
    char *pl = NULL;
    struct nix1_result res;
    memset(&res, 0, sizeof res);
    res.id = r->id;
    res.status = st;
    res.rc = rc;
    res.from = from ? *from : r->addr;
    pl = malloc(plen + 1);
    if (pl) {
        if (plen)
            memcpy(pl, payload, plen);
        pl[plen] = 0;
        res.payload = pl;
        res.payload_len = plen;
    } else {
        res.payload = "";
    }
    res.lines = (const char *const *)r->lines;
    res.nlines = r->nlines;
    res.attempts = r->attempts;
    res.elapsed_us = loop_now_us(bus->loop) - r->submitted_us;
    res.error = error;
    if (r->cb)
        r->cb(bus, &res, r->cbarg);
    free(pl);
    req_free(r);
    nix1_bus_kick(bus);
}

/* ---- transport ---- */

static void io_cb(loop_t *loop, int fd, unsigned events, void *arg);
static void transport_failed(nix1_bus_t *bus, int err, const char *what);

static void watch(nix1_bus_t *bus, unsigned events)
{
    if (bus->x.fd < 0)
        return;
    if (!bus->fd_added) {
        loop_add_fd(bus->loop, bus->x.fd, events, io_cb, bus);
        bus->fd_added = true;
    } else {
        loop_mod_fd(bus->loop, bus->x.fd, events);
    }
}

static void transport_ready(nix1_bus_t *bus)
{
    bus->phase = PH_READY;
    bus->baud = xport_serial_baud(&bus->x);
    bus->reopen_ms = 0;
    bus->rx_len = 0;
    bus->rx_overflow = false;
    watch(bus, LOOP_READ);
    notify_transport(bus, 0, bus->x.desc);
    nix1_bus_kick(bus);
}

static void attach(nix1_bus_t *bus)
{
    int rc = xport_finish_open(&bus->x);
    if (rc == 0) {
        transport_ready(bus);
    } else if (rc == -EINPROGRESS) {
        bus->phase = PH_CONNECTING;
        watch(bus, LOOP_WRITE);
    } else {
        transport_failed(bus, rc, "open");
    }
}

static void reopen_cb(loop_t *loop, void *arg)
{
    nix1_bus_t *bus = arg;
    (void)loop;
    char err[160];
    if (xport_open_url(&bus->x, bus->loop, bus->url, &bus->so, err, sizeof err) < 0) {
        bus->reopen_ms = bus->reopen_ms ? bus->reopen_ms * 2 : 1000;
        if (bus->reopen_ms > bus->cfg.reopen_max_ms)
            bus->reopen_ms = bus->cfg.reopen_max_ms;
        notify_transport(bus, -EIO, err);
        loop_timer_arm_ms(bus->loop, &bus->t_reopen, bus->reopen_ms);
        return;
    }
    bus->fd_added = false;
    attach(bus);
}

static void fail_all(nix1_bus_t *bus, enum nix1_status st, const char *why)
{
    if (bus->cur) {
        struct req *r = bus->cur;
        bus->cur = NULL;
        complete(bus, r, st, 0, NULL, NULL, 0, why);
    }
    while (bus->queue) {
        struct req *r = bus->queue;
        bus->queue = r->next;
        complete(bus, r, st, 0, NULL, NULL, 0, why);
    }
}

static void transport_failed(nix1_bus_t *bus, int err, const char *what)
{
    char msg[200];
    snprintf(msg, sizeof msg, "%s: %s failed: %s", bus->x.desc[0] ? bus->x.desc : (bus->url ? bus->url : "bus"),
             what, strerror(err < 0 ? -err : err));
    if (bus->fd_added && bus->x.fd >= 0)
        loop_del_fd_of(bus->loop, bus->x.fd, io_cb, bus);
    bus->fd_added = false;
    xport_close(&bus->x);
    bus->phase = PH_DOWN;
    loop_timer_disarm(bus->loop, &bus->t_reply);
    loop_timer_disarm(bus->loop, &bus->t_ichar);
    bus->rx_len = 0;
    /* Nothing is known of the slaves until they answer on the reopened port: the first reply then reports
     * each one online again (listeners learn of the loss through the transport callback). */
    for (size_t i = 0; i < bus->nslaves; i++) {
        bus->slaves[i].state = NIX1_SLAVE_UNKNOWN;
        bus->slaves[i].fails = 0;
        bus->slaves[i].next_poll_us = 0;
    }
    notify_transport(bus, err < 0 ? err : -err, msg);
    fail_all(bus, NIX1_ST_IO, msg);
    if (bus->url) {
        bus->reopen_ms = bus->reopen_ms ? bus->reopen_ms * 2 : 1000;
        if (bus->reopen_ms > bus->cfg.reopen_max_ms)
            bus->reopen_ms = bus->cfg.reopen_max_ms;
        loop_timer_arm_ms(bus->loop, &bus->t_reopen, bus->reopen_ms);
    }
}

/* ---- sending ---- */

static void after_sent(nix1_bus_t *bus)
{
    struct req *r = bus->cur;
    uint64_t now = loop_now_us(bus->loop);
    bus->wire_end_us = now + nix1_bus_char_time_us(bus, r->line_len);
    watch(bus, LOOP_READ);
    if (r->broadcast) {
        bus->phase = PH_BCAST;
        loop_timer_arm_at(bus->loop, &bus->t_reply, bus->wire_end_us);
    } else {
        bus->phase = PH_WAIT;
        bus->deadline_us = bus->wire_end_us + (uint64_t)r->timeout_ms * 1000u;
        loop_timer_arm_at(bus->loop, &bus->t_reply, bus->deadline_us);
    }
}

static void send_more(nix1_bus_t *bus)
{
    struct req *r = bus->cur;
    int rc = xport_write_some(&bus->x, r->line, r->line_len, &bus->tx_done);
    if (rc < 0) {
        transport_failed(bus, rc, "write");
        return;
    }
    if (rc == 0) {
        watch(bus, LOOP_READ | LOOP_WRITE);
        return;
    }
    after_sent(bus);
}

static void relay_start(nix1_bus_t *bus, struct req *r);

static void start(nix1_bus_t *bus, struct req *r)
{
    if (bus->relay.send) {
        relay_start(bus, r);
        return;
    }
    bus->cur = r;
    r->attempts++;
    bus->tx_done = 0;
    bus->phase = PH_SENDING;
    /* A partial line heard before our request is not a reply to it. */
    bus->rx_len = 0;
    bus->rx_overflow = false;
    loop_timer_disarm(bus->loop, &bus->t_ichar);
    bus->stats.tx_lines++;
    bus->stats.tx_chars += r->line_len;
    if (r->broadcast)
        bus->stats.broadcasts++;
    trace(bus, true, r->line, r->line_len - 1);
    send_more(bus);
}

static int encode_raw(char *buf, size_t cap, const nix1_addr_t *a, const char *raw)
{
    size_t n = strlen(raw);
    if (n + NIX1_ADDR_LEN > NIX1_LINE_MAX || n + NIX1_ADDR_LEN + 2 > cap || !nix1_line_printable(raw, n, true))
        return -1;
    char as[NIX1_ADDR_LEN + 1];
    nix1_addr_format(a, as);
    memcpy(buf, as, NIX1_ADDR_LEN);
    memcpy(buf + NIX1_ADDR_LEN, raw, n);
    buf[NIX1_ADDR_LEN + n] = '\n';
    buf[NIX1_ADDR_LEN + n + 1] = 0;
    return (int)(NIX1_ADDR_LEN + n + 1);
}

struct req *nix1_bus_make_req(nix1_bus_t *bus, const nix1_addr_t *a, char cmd, char arg, const char *opt,
                              enum nix1_prio prio, unsigned flags, unsigned timeout_ms, int *err)
{
    return make_req_raw(bus, a, cmd, arg, opt, NULL, prio, flags, timeout_ms, err);
}

static struct req *make_req_raw(nix1_bus_t *bus, const nix1_addr_t *a, char cmd, char arg, const char *opt,
                                const char *raw, enum nix1_prio prio, unsigned flags, unsigned timeout_ms,
                                int *err)
{
    struct req *r = calloc(1, sizeof *r);
    if (!r) {
        *err = -NIX1_RC_ERROR_INT;
        return NULL;
    }
    int n;
    if (raw) {
        cmd = raw[0] ? raw[0] : '?';
        arg = raw[0] && raw[1] ? raw[1] : '?';
        n = encode_raw(r->line, sizeof r->line, a, raw);
    } else {
        n = nix1_request_encode_opt(r->line, sizeof r->line, a, cmd, arg, opt && *opt ? opt : NULL);
    }
    if (n < 0) {
        free(r);
        *err = -NIX1_RC_ERROR_PARAM;
        return NULL;
    }
    r->line_len = (size_t)n;
    r->addr = *a;
    r->cmd = cmd;
    r->arg = arg;
    r->prio = prio;
    r->flags = flags;
    r->broadcast = nix1_addr_is_broadcast(a);
    r->scratch = nix1_addr_is_scratch(a);
    const struct nix1_cmd *c = nix1_cmd_lookup(cmd, arg);
    if (r->broadcast && (!c || !c->broadcast)) {
        free(r);
        *err = -NIX1_RC_ERROR_NOBROADCAST;
        return NULL;
    }
    r->multiline = c && c->multiline;
    r->idempotent = c && c->idempotent;
    r->timeout_ms = timeout_ms ? timeout_ms : (c ? c->timeout_ms : NIX1_TIMEOUT_NORMAL_MS);
    r->id = ++bus->next_id;
    r->submitted_us = loop_now_us(bus->loop);
    return r;
}

/* ---- polling ---- */

/* ---- scheduling ---- */

static bool parked_before(const nix1_bus_t *bus, const struct req *r, uint64_t now)
{
    for (const struct req *q = bus->queue; q && q != r; q = q->next)
        if (q->not_before_us > now && nix1_addr_equal(&q->addr, &r->addr))
            return true;
    return false;
}

static void kick_cb(loop_t *loop, void *arg)
{
    nix1_bus_t *bus = arg;
    (void)loop;
    if (bus->phase == PH_DOWN && !loop_timer_armed(&bus->t_reopen)) {
        fail_all(bus, NIX1_ST_IO, "the bus transport is closed");
        return;
    }
    if (bus->phase != PH_READY || bus->cur)
        return;
    uint64_t now = loop_now_us(bus->loop);
    if (now < bus->next_tx_us) {
        loop_timer_arm_at(bus->loop, &bus->t_kick, bus->next_tx_us);
        return;
    }
    uint64_t next_due = UINT64_MAX;
    struct req **pp = &bus->queue;
    for (; *pp; pp = &(*pp)->next) {
        struct req *r = *pp;
        if (r->not_before_us > now) {
            if (r->not_before_us < next_due)
                next_due = r->not_before_us;
            continue;
        }
        if (parked_before(bus, r, now))
            continue;
        if ((r->flags & NIX1_REQF_YIELD) && !bus->yielded) {
            struct req *p = nix1_bus_poll_next(bus, now, &next_due);
            if (p) {
                bus->yielded = true;
                start(bus, p);
                return;
            }
        }
        bus->yielded = false;
        *pp = r->next;
        r->next = NULL;
        start(bus, r);
        return;
    }
    struct req *p = nix1_bus_poll_next(bus, now, &next_due);
    if (p) {
        start(bus, p);
        return;
    }
    if (next_due != UINT64_MAX)
        loop_timer_arm_at(bus->loop, &bus->t_kick, next_due);
}

/* The next request may start gap_us after the line went quiet: after a reply that is now (an answer
 * proves our line has left); after a timeout or a broadcast, no earlier than our line's end. */
static void end_transaction(nix1_bus_t *bus, uint64_t gap_us, bool answered)
{
    loop_timer_disarm(bus->loop, &bus->t_reply);
    bus->phase = PH_READY;
    uint64_t now = loop_now_us(bus->loop);
    uint64_t base = !answered && bus->wire_end_us > now ? bus->wire_end_us : now;
    bus->next_tx_us = base + gap_us;
}

static void attempt_failed(nix1_bus_t *bus, enum fail_kind kind)
{
    struct req *r = bus->cur;
    if (!r)
        return;
    end_transaction(bus, bus->cfg.idle_gap_us, kind == FAIL_NAK);
    if (kind == FAIL_TIMEOUT)
        bus->stats.timeouts++;
    else if (kind == FAIL_NAK)
        bus->stats.naks++;
    /* A NAK means the slave did not act on the line: resending is always safe. A timeout or a garbled
     * reply may follow an executed command: only idempotent commands are resent. */
    bool retriable = !(r->flags & NIX1_REQF_NO_RETRY) && (kind == FAIL_NAK || r->idempotent);
    if (retriable && r->retries_used < bus->cfg.retries) {
        r->retries_used++;
        bus->stats.retries++;
        for (size_t i = 0; i < r->nlines; i++)
            free(r->lines[i]);
        r->nlines = 0;
        bus->cur = NULL;
        queue_insert(bus, r, true);
        nix1_bus_kick(bus);
        return;
    }
    if (kind == FAIL_NAK) {
        nix1_bus_poll_slave_seen(bus, &r->addr);
        complete(bus, r, NIX1_ST_REPLY, NIX1_RC_NAK, NULL, NULL, 0, NULL);
        return;
    }
    if (!r->scratch)
        nix1_bus_poll_slave_failed(bus, &r->addr);
    complete(bus, r, NIX1_ST_TIMEOUT, 0, NULL, NULL, 0,
             kind == FAIL_GARBLED ? "garbled reply" : "no answer");
}

static void on_readable(nix1_bus_t *bus);

static void reply_timer_cb(loop_t *loop, void *arg)
{
    nix1_bus_t *bus = arg;
    (void)loop;
    if (bus->phase == PH_BCAST) {
        struct req *r = bus->cur;
        char c = r->cmd, a = r->arg;
        bool long_gap = (c == 'N' && (a == 'z' || a == 't')) || (c == 'D' && a == 's');
        end_transaction(bus, long_gap ? bus->cfg.bcast_long_gap_us : bus->cfg.bcast_gap_us, false);
        complete(bus, r, NIX1_ST_SENT, 0, NULL, NULL, 0, NULL);
        return;
    }
    if (bus->phase != PH_WAIT)
        return;
    /* What reached the port is read before silence is judged: after the process was not scheduled, the deadline
     * and whatever wrote the answer (a simulated slave's timer in the same loop) run in one turn of the loop,
     * before it looks at the port again. */
    struct req *r = bus->cur;
    if (!bus->relay.send && bus->x.fd >= 0)
        on_readable(bus);
    if (bus->phase != PH_WAIT || bus->cur != r || loop_timer_armed(&bus->t_reply))
        return; /* answered (or a multi-line answer goes on, its next deadline armed) */
    if (bus->rx_len > 0) {
        /* A line is arriving: the inter-character timer governs it now. */
        loop_timer_arm_ms(bus->loop, &bus->t_reply, bus->cfg.interchar_ms);
        return;
    }
    attempt_failed(bus, FAIL_TIMEOUT);
}

static void ichar_cb(loop_t *loop, void *arg)
{
    nix1_bus_t *bus = arg;
    (void)loop;
    if (bus->rx_len == 0)
        return;
    bus->rx_len = 0;
    bus->rx_overflow = false;
    bus->stats.garbled++;
    if (bus->phase == PH_WAIT)
        attempt_failed(bus, FAIL_GARBLED);
}

static void add_line(struct req *r, const char *p, size_t n)
{
    char **nl = grow_array(r->lines, r->nlines, &r->cap, sizeof *nl, 16);
    if (!nl)
        return;
    r->lines = nl;
    char *s = malloc(n + 1);
    if (!s)
        return;
    memcpy(s, p, n);
    s[n] = 0;
    r->lines[r->nlines++] = s;
}

static void process_line(nix1_bus_t *bus, const char *line, size_t len, bool overflow)
{
    len = nix1_line_trim(line, len);
    if (len == 0)
        return;
    bus->stats.rx_lines++;
    bus->stats.rx_chars += len + 1;
    trace(bus, false, line, len);
    struct req *r = bus->cur;
    bool waiting = r && bus->phase == PH_WAIT;
    if (len >= 17 && (line[16] == 'D' || line[16] == 'N' || line[16] == 'Q')) {
        bus->stats.stale++; /* a request (our own echo on some adapters): never a reply */
        return;
    }
    struct nix1_reply rep;
    enum nix1_rep_status ps = overflow ? NIX1_REP_TOO_LONG : nix1_reply_parse(line, len, &rep);
    if (ps != NIX1_REP_OK) {
        bus->stats.garbled++;
        if (waiting)
            attempt_failed(bus, FAIL_GARBLED);
        return;
    }
    if (!waiting || rep.cmd != r->cmd || rep.arg != r->arg ||
        (!r->scratch && !nix1_addr_equal(&rep.addr, &r->addr))) {
        bus->stats.stale++;
        return;
    }
    if (rep.rc == NIX1_RC_NAK) {
        attempt_failed(bus, FAIL_NAK);
        return;
    }
    nix1_bus_poll_slave_seen(bus, &rep.addr);
    uint64_t now = loop_now_us(bus->loop);
    if (rep.rc == NIX1_RC_SYN) {
        bus->stats.busy++;
        end_transaction(bus, bus->cfg.idle_gap_us, true);
        if (r->busy_since_us == 0)
            r->busy_since_us = now;
        if (now - r->busy_since_us >= (uint64_t)bus->cfg.busy_max_ms * 1000u) {
            complete(bus, r, NIX1_ST_BUSY, NIX1_RC_SYN, &rep.addr, NULL, 0, "slave busy for too long");
            return;
        }
        bus->cur = NULL;
        r->not_before_us = now + (uint64_t)bus->cfg.busy_retry_ms * 1000u;
        queue_insert(bus, r, true);
        nix1_bus_kick(bus);
        return;
    }
    if (r->multiline && rep.rc == NIX1_RC_OK) {
        add_line(r, rep.payload, rep.payload_len);
        bus->deadline_us = now + (uint64_t)bus->cfg.line_gap_ms * 1000u;
        loop_timer_arm_at(bus->loop, &bus->t_reply, bus->deadline_us);
        return;
    }
    end_transaction(bus, bus->cfg.idle_gap_us, true);
    complete(bus, r, NIX1_ST_REPLY, rep.rc, &rep.addr, rep.payload, rep.payload_len, NULL);
}

static void on_readable(nix1_bus_t *bus)
{
    char buf[512];
    for (int rounds = 0; rounds < 16; rounds++) {
        ssize_t n = xport_read(&bus->x, buf, sizeof buf);
        if (n < 0) {
            transport_failed(bus, (int)n, "read");
            return;
        }
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            char ch = buf[i];
            if (ch == '\n') {
                size_t len = bus->rx_len;
                bool ovf = bus->rx_overflow;
                bus->rx_len = 0;
                bus->rx_overflow = false;
                process_line(bus, bus->rx, len, ovf);
                if (bus->phase == PH_DOWN)
                    return;
                continue;
            }
            if (bus->rx_len < NIX1_REPLY_MAX + 1)
                bus->rx[bus->rx_len++] = ch;
            else
                bus->rx_overflow = true;
        }
        if ((size_t)n < sizeof buf)
            break;
    }
    if (bus->rx_len > 0)
        loop_timer_arm_ms(bus->loop, &bus->t_ichar, bus->cfg.interchar_ms);
    else
        loop_timer_disarm(bus->loop, &bus->t_ichar);
}

static void io_cb(loop_t *loop, int fd, unsigned events, void *arg)
{
    nix1_bus_t *bus = arg;
    (void)loop;
    (void)fd;
    if (bus->phase == PH_CONNECTING) {
        int rc = xport_finish_open(&bus->x);
        if (rc == 0)
            transport_ready(bus);
        else if (rc != -EINPROGRESS)
            transport_failed(bus, rc, "connect");
        return;
    }
    if (events & LOOP_READ || events & LOOP_ERROR)
        on_readable(bus);
    if (bus->phase == PH_DOWN)
        return;
    if ((events & LOOP_WRITE) && bus->phase == PH_SENDING)
        send_more(bus);
}

/* ---- relay (another master carries the requests) ---- */

static void relay_start(nix1_bus_t *bus, struct req *r)
{
    bus->cur = r;
    r->attempts++;
    bus->phase = PH_WAIT;
    bus->stats.tx_lines++;
    trace(bus, true, r->line, r->line_len - 1);
    char line[NIX1_LINE_MAX + 4], why[200] = "";
    snprintf(line, sizeof line, "%.*s", (int)(r->line_len - 1 - NIX1_ADDR_LEN), r->line + NIX1_ADDR_LEN);
    if (bus->relay.send(bus->relay.arg, r->id, &r->addr, line, r->timeout_ms, why, sizeof why) < 0) {
        bus->phase = PH_READY;
        complete(bus, r, NIX1_ST_IO, 0, NULL, NULL, 0, why[0] ? why : "the relay refused the request");
    }
}

void nix1_bus_relay_done(nix1_bus_t *bus, long id, const struct nix1_result *res)
{
    struct req *r = bus->cur;
    if (!bus->relay.send || !r || r->id != id)
        return;
    for (size_t i = 0; i < res->nlines; i++)
        add_line(r, res->lines[i], strlen(res->lines[i]));
    bus->phase = PH_READY;
    if (res->status == NIX1_ST_REPLY)
        bus->stats.rx_lines += 1 + res->nlines;
    complete(bus, r, res->status, res->rc, res->status == NIX1_ST_REPLY ? &res->from : NULL, res->payload,
             res->payload ? res->payload_len : 0, res->error);
}

/* ---- public ---- */

static nix1_bus_t *bus_alloc(loop_t *loop, const struct nix1_bus_config *cfg)
{
    nix1_bus_t *bus = calloc(1, sizeof *bus);
    if (!bus)
        return NULL;
    bus->loop = loop;
    if (cfg)
        bus->cfg = *cfg;
    else
        nix1_bus_config_default(&bus->cfg);
    bus->x.fd = -1;
    bus->baud = 9600;
    bus->phase = PH_DOWN;
    loop_timer_init(&bus->t_kick, kick_cb, bus);
    loop_timer_init(&bus->t_reply, reply_timer_cb, bus);
    loop_timer_init(&bus->t_ichar, ichar_cb, bus);
    loop_timer_init(&bus->t_reopen, reopen_cb, bus);
    return bus;
}

nix1_bus_t *nix1_bus_new(loop_t *loop, struct xport *x, const struct nix1_bus_config *cfg)
{
    nix1_bus_t *bus = bus_alloc(loop, cfg);
    if (!bus)
        return NULL;
    bus->x = *x;
    x->fd = -1;
    x->impl = NULL;
    x->ops = NULL;
    attach(bus);
    return bus;
}

nix1_bus_t *nix1_bus_new_relay(loop_t *loop, const struct nix1_bus_relay *relay)
{
    nix1_bus_t *bus = bus_alloc(loop, NULL);
    if (!bus)
        return NULL;
    bus->relay = *relay;
    bus->phase = PH_READY;
    return bus;
}

nix1_bus_t *nix1_bus_open(loop_t *loop, const char *port, const struct xport_serial_opts *so,
                          const struct nix1_bus_config *cfg, char *err, size_t errlen)
{
    struct xport x = { .fd = -1 };
    if (xport_open_url(&x, loop, port, so, err, errlen) < 0)
        return NULL;
    nix1_bus_t *bus = bus_alloc(loop, cfg);
    if (!bus || !(bus->url = strdup(port))) {
        free(bus);
        xport_close(&x);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (so)
        bus->so = *so;
    bus->x = x;
    attach(bus);
    return bus;
}

void nix1_bus_free(nix1_bus_t *bus)
{
    if (!bus)
        return;
    fail_all(bus, NIX1_ST_CANCELLED, "bus closed");
    loop_timer_disarm(bus->loop, &bus->t_kick);
    loop_timer_disarm(bus->loop, &bus->t_reply);
    loop_timer_disarm(bus->loop, &bus->t_ichar);
    loop_timer_disarm(bus->loop, &bus->t_reopen);
    if (bus->fd_added && bus->x.fd >= 0)
        loop_del_fd_of(bus->loop, bus->x.fd, io_cb, bus);
    xport_close(&bus->x);
    free(bus->slaves);
    free(bus->url);
    free(bus);
}

int nix1_bus_add_listener(nix1_bus_t *bus, const struct nix1_bus_listener *l)
{
    for (size_t i = 0; i < MAX_LISTENERS; i++)
        if (!bus->listeners[i]) {
            bus->listeners[i] = l;
            return 0;
        }
    return -1;
}

void nix1_bus_remove_listener(nix1_bus_t *bus, const struct nix1_bus_listener *l)
{
    for (size_t i = 0; i < MAX_LISTENERS; i++)
        if (bus->listeners[i] == l)
            bus->listeners[i] = NULL;
}

long nix1_bus_submit(nix1_bus_t *bus, const struct nix1_request_spec *req, nix1_done_cb cb, void *arg)
{
    int err = 0;
    struct req *r = make_req_raw(bus, &req->addr, req->cmd, req->arg, req->opt, req->raw, req->prio,
                                 req->flags, req->timeout_ms, &err);
    if (!r)
        return err;
    r->cb = cb;
    r->cbarg = arg;
    queue_insert(bus, r, false);
    nix1_bus_kick(bus);
    return r->id;
}

bool nix1_bus_cancel(nix1_bus_t *bus, long id)
{
    for (struct req **pp = &bus->queue; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            struct req *r = *pp;
            *pp = r->next;
            complete(bus, r, NIX1_ST_CANCELLED, 0, NULL, NULL, 0, "cancelled");
            return true;
        }
    }
    return false;
}

bool nix1_bus_idle(const nix1_bus_t *bus)
{
    return bus->queue == NULL && (bus->cur == NULL || bus->cur->poll);
}

int nix1_bus_set_baud(nix1_bus_t *bus, unsigned baud)
{
    int rc = xport_serial_set_baud(&bus->x, baud);
    if (rc == 0)
        bus->baud = baud;
    return rc;
}

unsigned nix1_bus_baud(const nix1_bus_t *bus)
{
    return bus->baud;
}

void nix1_bus_stats(const nix1_bus_t *bus, struct nix1_bus_stats *out)
{
    *out = bus->stats;
}

const char *nix1_bus_desc(const nix1_bus_t *bus)
{
    return bus->x.desc[0] ? bus->x.desc : (bus->url ? bus->url : "");
}

loop_t *nix1_bus_loop(const nix1_bus_t *bus)
{
    return bus->loop;
}
