#include "sim/c3sim_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/xport.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_params.h"
#include "sim/c3sim_params.h"
#include "sim/c3sim_udp.h"

#define IN_CAP (C3_DATA_MAX_DEFAULT + C3_FRAME_OVERHEAD)
#define OUT_QUEUE_MAX (256u * 1024u)  /* a client that never reads is dropped past this */
#define PENDING_MAX 8u                /* connections that have not sent a valid frame yet, per panel */
#define RX_PARTIAL_MS 2000u           /* firmware: ~2 s to complete a partial frame */
#define SPLIT_GAP_US 2000u
#define REPLY_TEXT_MAX 8192u          /* params / key-value replies (firmware frame limit ~5 KB) */

struct out_msg {
    struct out_msg *next;
    uint64_t due_us;
    size_t len, off;
    bool split, close_after;
    uint8_t data[];
};

struct slot;

struct conn {
    struct slot *slot;
    struct conn *prev, *next;
    int fd;
    uint8_t *in;
    size_t in_len;
    bool authed, session, closing, want_write;
    uint16_t sid;
    struct out_msg *head, *tail;
    size_t queued;
    uint64_t wire_free_us;   /* rate fault: when the simulated wire has sent what is queued */
    loop_timer_t out_timer, rx_timer;
};

struct slot {
    struct c3sim_server *srv;
    struct c3sim_panel panel;
    uint16_t port;
    int lfd;
    struct conn *conns, *active;
    unsigned nconns;
    struct c3sim_faults faults;
    loop_timer_t restart_timer, accept_timer;
    uint64_t requests, kicks;
    long cut_after;     /* big-data chunk requests still answered before the connection is cut; -1 = off */
};

struct c3sim_server {
    loop_t *loop;
    struct slot *slots;
    unsigned n;
    uint16_t port;
    unsigned restart_ms;
    uint64_t rng;
    char *text;   /* REPLY_TEXT_MAX scratch for text replies */
    struct c3sim_udp *udp; /* discovery (NULL = none) */
};

/* ---- faults ---- */

int c3sim_faults_parse(const char *spec, struct c3sim_faults *f, char *err, size_t errlen)
{
    struct c3sim_faults nf = { 0 };
    const char *s = spec ? spec : "";
    bool any = false;
    while (*s) {
        while (*s == ',' || *s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        size_t n = strcspn(s, ", \t");
        char tok[64];
        if (n >= sizeof tok) {
            snprintf(err, errlen, "fault mode too long");
            return -1;
        }
        memcpy(tok, s, n);
        tok[n] = '\0';
        s += n;
        any = true;
        if (strncmp(tok, "delay=", 6) == 0) {
            char *end;
            errno = 0;
            unsigned long ms = strtoul(tok + 6, &end, 10);
            if (errno || end == tok + 6 || *end || ms > 600000ul) {
                snprintf(err, errlen, "bad delay '%s' (milliseconds, at most 600000)", tok + 6);
                return -1;
            }
            nf.delay_ms = (unsigned)ms;
        } else if (strcmp(tok, "split") == 0) {
            nf.split = true;
        } else if (strcmp(tok, "badcrc") == 0) {
            nf.badcrc = true;
        } else if (strcmp(tok, "badseq") == 0) {
            nf.badseq = true;
        } else if (strcmp(tok, "garbage") == 0) {
            nf.garbage = true;
        } else if (strcmp(tok, "drop") == 0) {
            nf.drop = true;
        } else if (strcmp(tok, "mute") == 0) {
            nf.mute = true;
        } else if (strncmp(tok, "rate=", 5) == 0) {
            char *end;
            errno = 0;
            unsigned long kbps = strtoul(tok + 5, &end, 10);
            if (errno || end == tok + 5 || *end || kbps == 0 || kbps > 10000000ul) {
                snprintf(err, errlen, "bad rate '%s' (kilobytes per second, 1..10000000)", tok + 5);
                return -1;
            }
            nf.rate_kbps = (unsigned)kbps;
        } else if (strncmp(tok, "refuse=", 7) == 0) {
            char *end;
            errno = 0;
            long code = strtol(tok + 7, &end, 10);
            if (errno || end == tok + 7 || *end || code > -1 || code < -999) {
                snprintf(err, errlen, "bad refuse '%s' (a panel error code, -1..-999)", tok + 7);
                return -1;
            }
            nf.refuse = (int)code;
        } else if (strcmp(tok, "none") == 0) {
            nf = (struct c3sim_faults){ 0 };
        } else {
            snprintf(err, errlen, "unknown fault '%s' (delay=MS rate=KBPS refuse=CODE split badcrc badseq garbage drop "
                     "mute none)", tok);
            return -1;
        }
    }
    if (!any) {
        snprintf(err, errlen, "no fault mode given");
        return -1;
    }
    *f = nf;
    return 0;
}

void c3sim_faults_format(const struct c3sim_faults *f, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
#define ADD(...)                                                                                                  \
    do {                                                                                                          \
        int w_ = snprintf(out + o, cap - o, __VA_ARGS__);                                                         \
        if (w_ > 0 && (size_t)w_ < cap - o)                                                                       \
            o += (size_t)w_;                                                                                      \
    } while (0)
    if (f->delay_ms)
        ADD("%sdelay=%u", o ? "," : "", f->delay_ms);
    if (f->split)
        ADD("%ssplit", o ? "," : "");
    if (f->badcrc)
        ADD("%sbadcrc", o ? "," : "");
    if (f->badseq)
        ADD("%sbadseq", o ? "," : "");
    if (f->garbage)
        ADD("%sgarbage", o ? "," : "");
    if (f->drop)
        ADD("%sdrop", o ? "," : "");
    if (f->mute)
        ADD("%smute", o ? "," : "");
    if (f->rate_kbps)
        ADD("%srate=%u", o ? "," : "", f->rate_kbps);
    if (f->refuse)
        ADD("%srefuse=%d", o ? "," : "", f->refuse);
    if (o == 0)
        ADD("none");
#undef ADD
}

/* ---- connections ---- */

static uint64_t srv_rand(struct c3sim_server *s)
{
    uint64_t z = (s->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void conn_set_write(struct conn *c, bool on)
{
    if (c->want_write == on)
        return;
    c->want_write = on;
    loop_mod_fd(c->slot->srv->loop, c->fd, LOOP_READ | (on ? LOOP_WRITE : 0u));
}

static void conn_close(struct conn *c)
{
    struct slot *s = c->slot;
    loop_t *loop = s->srv->loop;
    loop_del_fd(loop, c->fd);
    close(c->fd);
    loop_timer_disarm(loop, &c->out_timer);
    loop_timer_disarm(loop, &c->rx_timer);
    while (c->head) {
        struct out_msg *m = c->head;
        c->head = m->next;
        free(m);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    if (s->active == c)
        s->active = NULL;
    free(c->in);
    free(c);
}

/* Write what is due. Returns -1 if the connection was closed (c is gone), else 0. */
static int conn_pump(struct conn *c)
{
    loop_t *loop = c->slot->srv->loop;
    uint64_t now = loop_now_us(loop);
    while (c->head) {
        struct out_msg *m = c->head;
        if (m->due_us > now) {
            conn_set_write(c, false);
            loop_timer_arm_at(loop, &c->out_timer, m->due_us);
            return 0;
        }
        size_t want = m->len - m->off;
        if (m->split && want > 1)
            want = 1;
        ssize_t w = xport_io_write(c->fd, m->data + m->off, want, true);
        if (w == 0) {
            conn_set_write(c, true);
            return 0;
        }
        if (w < 0) {
            conn_close(c);
            return -1;
        }
        m->off += (size_t)w;
        if (m->off < m->len) {
            if (m->split) {
                conn_set_write(c, false);
                loop_timer_arm_us(loop, &c->out_timer, SPLIT_GAP_US);
                return 0;
            }
            continue;
        }
        c->head = m->next;
        if (!c->head)
            c->tail = NULL;
        c->queued -= m->len;
        bool close_after = m->close_after;
        free(m);
        if (close_after) {
            conn_close(c);
            return -1;
        }
        if (c->head && c->head->split) { /* keep the gap between split replies too */
            conn_set_write(c, false);
            loop_timer_arm_us(loop, &c->out_timer, SPLIT_GAP_US);
            return 0;
        }
    }
    conn_set_write(c, false);
    return 0;
}

static void out_timer_cb(loop_t *loop, void *arg) { (void)conn_pump(arg); }

/* Queue one reply frame, with the panel's faults applied. Never writes directly (see conn_process). */
static void conn_reply(struct conn *c, uint8_t code, bool session, uint16_t sid, uint16_t nr, const void *payload,
                       size_t len, bool close_after)
{
    struct slot *s = c->slot;
    const struct c3sim_faults *f = &s->faults;
    if (f->badseq && session)
        nr = (uint16_t)(nr + 1u);
    size_t junk = f->garbage ? 1u + (size_t)(srv_rand(s->srv) % 8u) : 0u;
    size_t fsize = c3_frame_size(session, len);
    struct out_msg *m = malloc(sizeof *m + junk + fsize);
    if (!m) {
        c->closing = true;
        return;
    }
    for (size_t i = 0; i < junk; i++) {
        uint8_t b = (uint8_t)srv_rand(s->srv);
        m->data[i] = b == C3_FRAME_START ? 0x00 : b; /* never a false start byte; see doc/decisions.md */
    }
    struct c3_frame_hdr h = { .address = c3sim_params_device_id(&s->panel), .command = code, .session = session,
                              .sid = sid, .nr = nr };
    int n = c3_frame_encode(m->data + junk, fsize, &h, payload, len);
    if (n < 0) { /* cannot happen with our sizes; answer with an error instead of nothing */
        int8_t e = -12;
        h.command = C3_REPLY_ERROR;
        n = c3_frame_encode(m->data + junk, fsize, &h, &e, 1);
        if (n < 0) {
            free(m);
            return;
        }
    }
    if (f->badcrc)
        m->data[junk + (size_t)n - 3u] ^= 0x5Au;
    m->next = NULL;
    m->off = 0;
    m->len = junk + (size_t)n;
    m->split = f->split;
    m->close_after = close_after;
    m->due_us = loop_now_us(s->srv->loop) + (uint64_t)f->delay_ms * 1000u;
    if (f->rate_kbps) {
        /* The reply leaves when the wire would have carried it: after what is queued, at rate kB/s. */
        uint64_t start = c->wire_free_us > m->due_us ? c->wire_free_us : m->due_us;
        m->due_us = start + (uint64_t)(junk + (size_t)n) * 1000u / f->rate_kbps;
        c->wire_free_us = m->due_us;
    }
    if (f->drop) {
        m->len = junk + (size_t)n / 2u;
        m->close_after = true;
    }
    if (m->close_after)
        c->closing = true;
    if (c->queued + m->len > OUT_QUEUE_MAX) {
        free(m);
        c->closing = true;
        /* Queue an empty closing marker so conn_process closes the connection. */
        m = calloc(1, sizeof *m);
        if (!m)
            return;
        m->close_after = true;
        m->due_us = 0;
    }
    c->queued += m->len;
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
}

/* Close the connection once what is queued has left, without answering the current request. */
static void conn_cut(struct conn *c)
{
    struct out_msg *m = calloc(1, sizeof *m);
    c->closing = true;
    if (!m)
        return;
    m->close_after = true;
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
}

static void conn_error(struct conn *c, bool session, uint16_t sid, uint16_t nr, int err, bool close_after)
{
    int8_t e = (int8_t)err;
    conn_reply(c, C3_REPLY_ERROR, session, sid, nr, &e, 1, close_after);
}

static bool password_ok(const struct c3sim_panel *p, const uint8_t *pw, size_t len)
{
    const char *want = c3sim_params_value(p, "ComPwd");
    if (!want)
        want = "";
    while (len > 0 && pw[len - 1] == '\0') /* tolerate a terminator */
        len--;
    return strlen(want) == len && memcmp(want, pw, len) == 0;
}

static void slot_restart(struct slot *s, struct conn *keep);

static void serve_frame(struct conn *c, const struct c3_frame *f);

static void handle_frame(struct conn *c, const struct c3_frame *f)
{
    serve_frame(c, f);
    struct c3sim_panel *p = &c->slot->panel;
    if (p->served)
        p->served(p, f->command, p->served_arg);
}

static void serve_frame(struct conn *c, const struct c3_frame *f)
{
    struct slot *s = c->slot;
    struct c3sim_panel *p = &s->panel;
    s->requests++;
    if (s->faults.mute)
        return;
    /* Firmware: one client at a time; a connection that sends a valid frame replaces the previous one. */
    if (s->active != c) {
        if (s->active) {
            conn_close(s->active);
            s->kicks++;
        }
        s->active = c;
    }

    if (f->command == C3_CMD_CONNECT_SESSION) {
        if (p->dialect == C3SIM_DIALECT_SESSIONLESS) {
            conn_error(c, false, 0, 0, -13, false);
            return;
        }
        uint16_t sid, nr;
        const uint8_t *pw;
        size_t pwlen;
        if (c3_frame_session(f, &sid, &nr, &pw, &pwlen) < 0) {
            conn_error(c, false, 0, 0, -11, false);
            return;
        }
        if (!password_ok(p, pw, pwlen)) {
            c->authed = false;
            conn_error(c, true, sid, nr, -14, true);
            return;
        }
        uint16_t nsid;
        do
            nsid = (uint16_t)srv_rand(s->srv);
        while (nsid == 0 || nsid == C3_SID_CONNECT);
        c->authed = true;
        c->session = true;
        c->sid = nsid;
        c3sim_panel_client_connected(p);
        conn_reply(c, C3_REPLY_OK, true, nsid, nr, NULL, 0, false);
        return;
    }
    if (f->command == C3_CMD_CONNECT) {
        if (!password_ok(p, f->data, f->data_len)) {
            c->authed = false;
            conn_error(c, false, 0, 0, -14, true);
            return;
        }
        c->authed = true;
        c->session = false;
        c3sim_panel_client_connected(p);
        conn_reply(c, C3_REPLY_OK, false, 0, 0, NULL, 0, false);
        return;
    }

    if (!c->authed) {
        conn_error(c, false, 0, 0, -8, false);
        return;
    }
    bool sess = c->session;
    uint16_t sid = 0, nr = 0;
    const uint8_t *pl = f->data;
    size_t plen = f->data_len;
    if (sess) {
        if (c3_frame_session(f, &sid, &nr, &pl, &plen) < 0) {
            conn_error(c, false, 0, 0, -8, false);
            return;
        }
        if (sid != c->sid) {
            conn_error(c, true, sid, nr, -8, false);
            return;
        }
    }

    int rc;
    char *text = s->srv->text;
    switch (f->command) {
    case C3_CMD_DISCONNECT:
        c->authed = false;
        conn_reply(c, C3_REPLY_OK, sess, sid, nr, NULL, 0, true);
        return;
    case C3_CMD_GET_PARAM:
        rc = p->get_param_error ? p->get_param_error : c3sim_params_get(p, (const char *)pl, plen, text, REPLY_TEXT_MAX);
        if (rc < 0)
            conn_error(c, sess, sid, nr, rc, false);
        else
            conn_reply(c, C3_REPLY_OK, sess, sid, nr, text, (size_t)rc, false);
        return;
    case C3_CMD_SET_PARAM:
        rc = c3sim_params_set(p, (const char *)pl, plen);
        break;
    case C3_CMD_CONTROL:
        rc = c3sim_panel_control(p, pl, plen);
        break;
    case C3_CMD_RTLOG_BINARY:
        if (p->dialect == C3SIM_DIALECT_KV) {
            /* Newer firmware without binary logs answers a payload that is not n x 16 (hass-zkaccess_c3#2). */
            uint8_t odd[36] = { 0 };
            conn_reply(c, C3_REPLY_OK, sess, sid, nr, odd, sizeof odd, false);
        } else {
            uint8_t rec[16];
            c3sim_panel_rtlog_binary(p, rec);
            conn_reply(c, C3_REPLY_OK, sess, sid, nr, rec, sizeof rec, false);
        }
        return;
    case C3_CMD_RTLOG_KV:
        if (p->dialect == C3SIM_DIALECT_SESSIONLESS) {
            conn_error(c, sess, sid, nr, -13, false);
            return;
        }
        rc = c3sim_panel_rtlog_kv(p, text, REPLY_TEXT_MAX);
        if (rc < 0)
            conn_error(c, sess, sid, nr, rc, false);
        else
            conn_reply(c, C3_REPLY_OK, sess, sid, nr, text, (size_t)rc, false);
        return;
    case C3_CMD_READ_DATA:
    case C3_CMD_DATA:
        if (s->cut_after == 0) { /* fault: the link breaks in the middle of a transfer */
            s->cut_after = -1;
            conn_cut(c);
            return;
        }
        if (s->cut_after > 0)
            s->cut_after--;
        /* fall through */
    default: {
        /* fault: the firmware refuses a change (a write, a delete, an upload's first step) and keeps its rows */
        if (s->faults.refuse && (f->command == C3_CMD_SET_DATA || f->command == C3_CMD_DELETE_DATA ||
                                 f->command == C3_CMD_PREPARE_DATA)) {
            conn_error(c, sess, sid, nr, s->faults.refuse, false);
            return;
        }
        struct c3sim_reply r;
        if (!c3sim_tables_command(&p->tables, f->command, pl, plen, &r)) {
            conn_error(c, sess, sid, nr, -13, false);
            return;
        }
        if (r.code == C3_REPLY_ERROR)
            conn_error(c, sess, sid, nr, r.err, false);
        else
            conn_reply(c, r.code, sess, sid, nr, r.data, r.len, false);
        free(r.data);
        return;
    }
    }
    /* SET_PARAM and CONTROL: empty OK, an error, or OK followed by a restart. */
    if (rc < 0) {
        conn_error(c, sess, sid, nr, rc, false);
    } else if (rc == C3SIM_RESTART) {
        conn_reply(c, C3_REPLY_OK, sess, sid, nr, NULL, 0, true);
        slot_restart(s, c);
    } else {
        conn_reply(c, C3_REPLY_OK, sess, sid, nr, NULL, 0, false);
    }
}

static void rx_timer_cb(loop_t *loop, void *arg);

/* Handle every complete frame in the input buffer, then write. Returns -1 if c was closed. */
static int conn_process(struct conn *c)
{
    size_t off = 0;
    while (!c->closing && off < c->in_len) {
        struct c3_scan sc;
        c3_frame_scan(c->in + off, c->in_len - off, 0, &sc);
        if (sc.status == C3_SCAN_NEED)
            break;
        if (sc.status == C3_SCAN_SKIP) { /* noise or a bad frame: the firmware ignores it */
            off += sc.n;
            continue;
        }
        struct c3_frame f;
        if (c3_frame_parse(c->in + off, sc.n, &f) == 0)
            handle_frame(c, &f);
        off += sc.n;
    }
    if (c->closing)
        off = c->in_len;
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    loop_t *loop = c->slot->srv->loop;
    if (c->in_len > 0) {
        if (off > 0 || !loop_timer_armed(&c->rx_timer))
            loop_timer_arm_ms(loop, &c->rx_timer, RX_PARTIAL_MS);
    } else {
        loop_timer_disarm(loop, &c->rx_timer);
    }
    return conn_pump(c);
}

static void rx_timer_cb(loop_t *loop, void *arg)
{
    /* A partial frame did not complete in time: drop its start byte and look for the next frame. */
    struct conn *c = arg;
    if (c->in_len == 0)
        return;
    memmove(c->in, c->in + 1, c->in_len - 1);
    c->in_len--;
    (void)conn_process(c);
}

static void conn_io(loop_t *loop, int fd, unsigned events, void *arg)
{
    struct conn *c = arg;
    if (events & LOOP_WRITE) {
        if (conn_pump(c) < 0)
            return;
    }
    if (!(events & (LOOP_READ | LOOP_ERROR)))
        return;
    for (int rounds = 0; rounds < 16; rounds++) {
        uint8_t scratch[4096];
        uint8_t *dst = c->closing ? scratch : c->in + c->in_len;
        size_t room = c->closing ? sizeof scratch : IN_CAP - c->in_len;
        if (room == 0)
            break; /* cannot happen: the scanner never waits for more than one maximal frame */
        ssize_t r = xport_io_read(fd, dst, room);
        if (r == 0)
            break;
        if (r < 0) {
            conn_close(c);
            return;
        }
        if (c->closing)
            continue;
        c->in_len += (size_t)r;
        if (conn_process(c) < 0)
            return;
    }
}

static void conn_new(struct slot *s, int fd)
{
    loop_t *loop = s->srv->loop;
    /* Too many silent connections: drop the oldest one that is not the active client. */
    if (s->nconns >= PENDING_MAX + 1u) {
        struct conn *victim = NULL;
        for (struct conn *x = s->conns; x; x = x->next)
            if (x != s->active)
                victim = x; /* list is newest first: the last match is the oldest */
        if (victim)
            conn_close(victim);
    }
    struct conn *c = calloc(1, sizeof *c);
    uint8_t *in = malloc(IN_CAP);
    if (!c || !in) {
        free(c);
        free(in);
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->slot = s;
    c->fd = fd;
    c->in = in;
    loop_timer_init(&c->out_timer, out_timer_cb, c);
    loop_timer_init(&c->rx_timer, rx_timer_cb, c);
    if (loop_add_fd(loop, fd, LOOP_READ, conn_io, c) < 0) {
        free(c);
        free(in);
        close(fd);
        return;
    }
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
}

/* ---- listeners ---- */

static void accept_cb(loop_t *loop, int fd, unsigned events, void *arg);

static void accept_timer_cb(loop_t *loop, void *arg)
{
    struct slot *s = arg;
    if (s->lfd >= 0)
        loop_mod_fd(loop, s->lfd, LOOP_READ);
}

static void accept_cb(loop_t *loop, int fd, unsigned events, void *arg)
{
    struct slot *s = arg;
    for (int i = 0; i < 32; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: stop watching for a moment instead of spinning. */
                loop_mod_fd(loop, fd, 0);
                loop_timer_arm_ms(loop, &s->accept_timer, 200);
            }
            return;
        }
        conn_new(s, cfd);
    }
}

static int slot_listen(struct slot *s, char *err, size_t errlen)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(s->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        snprintf(err, errlen, "127.0.0.1:%u: %s", s->port, strerror(errno));
        close(fd);
        return -1;
    }
    s->port = ntohs(a.sin_port); /* port 0: the kernel's choice, kept for the panel's restarts */
    if (loop_add_fd(s->srv->loop, fd, LOOP_READ, accept_cb, s) < 0) {
        snprintf(err, errlen, "127.0.0.1:%u: cannot watch the listener", s->port);
        close(fd);
        return -1;
    }
    s->lfd = fd;
    return 0;
}

static void slot_unlisten(struct slot *s)
{
    if (s->lfd < 0)
        return;
    loop_del_fd(s->srv->loop, s->lfd);
    close(s->lfd);
    s->lfd = -1;
    loop_timer_disarm(s->srv->loop, &s->accept_timer);
}

static void restart_timer_cb(loop_t *loop, void *arg)
{
    struct slot *s = arg;
    char err[160];
    if (s->lfd < 0 && slot_listen(s, err, sizeof err) < 0) {
        fprintf(stderr, "portier-sim c3: panel %u restart: %s (retrying)\n", s->panel.index, err);
        loop_timer_arm_ms(loop, &s->restart_timer, 500);
        return;
    }
    c3sim_panel_boot(&s->panel);
}

/* Power the panel off: the listener and every connection go away (keep's reply is still flushed). */
static void slot_restart(struct slot *s, struct conn *keep)
{
    c3sim_panel_shutdown(&s->panel);
    slot_unlisten(s);
    struct conn *c = s->conns;
    while (c) {
        struct conn *next = c->next;
        if (c != keep)
            conn_close(c);
        c = next;
    }
    if (keep)
        keep->closing = true;
    loop_timer_arm_ms(s->srv->loop, &s->restart_timer, s->srv->restart_ms);
}

/* ---- server ---- */

struct c3sim_server *c3sim_server_new(loop_t *loop, const struct c3sim_server_cfg *cfg, char *err, size_t errlen)
{
    if (cfg->panels == 0 || (unsigned)cfg->port + cfg->panels - 1u > 65535u) {
        snprintf(err, errlen, "ports %u..%u out of range", cfg->port, cfg->port + cfg->panels - 1u);
        return NULL;
    }
    struct c3sim_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->loop = loop;
    s->port = cfg->port;
    s->restart_ms = cfg->restart_ms;
    s->rng = cfg->panel.seed ^ 0x5E55105Eull;
    s->text = malloc(REPLY_TEXT_MAX);
    s->slots = calloc(cfg->panels, sizeof *s->slots);
    if (!s->text || !s->slots) {
        snprintf(err, errlen, "out of memory");
        c3sim_server_free(s);
        return NULL;
    }
    for (unsigned i = 0; i < cfg->panels; i++) {
        struct slot *sl = &s->slots[i];
        sl->srv = s;
        sl->lfd = -1;
        sl->port = cfg->port ? (uint16_t)(cfg->port + i) : 0; /* port 0: each panel a free port of its own */
        sl->faults = cfg->faults;
        sl->cut_after = -1;
        loop_timer_init(&sl->restart_timer, restart_timer_cb, sl);
        loop_timer_init(&sl->accept_timer, accept_timer_cb, sl);
        struct c3sim_panel_cfg pc = cfg->panel;
        pc.index = i;
        if (c3sim_panel_init(&sl->panel, loop, &pc) < 0) {
            snprintf(err, errlen, "out of memory");
            c3sim_server_free(s);
            return NULL;
        }
        s->n = i + 1;
        if (slot_listen(sl, err, errlen) < 0) {
            c3sim_server_free(s);
            return NULL;
        }
    }
    s->port = s->slots[0].port;
    if (cfg->discovery_port && !(s->udp = c3sim_udp_new(s->loop, s, cfg->discovery_port, err, errlen))) {
        c3sim_server_free(s);
        return NULL;
    }
    return s;
}

void c3sim_server_free(struct c3sim_server *s)
{
    if (!s)
        return;
    for (unsigned i = 0; i < s->n; i++) {
        struct slot *sl = &s->slots[i];
        while (sl->conns)
            conn_close(sl->conns);
        slot_unlisten(sl);
        loop_timer_disarm(s->loop, &sl->restart_timer);
        c3sim_panel_free(&sl->panel);
    }
    c3sim_udp_free(s->udp);
    free(s->slots);
    free(s->text);
    free(s);
}

unsigned c3sim_server_panels(const struct c3sim_server *s) { return s->n; }
unsigned c3sim_server_port(const struct c3sim_server *s) { return s->port; }

unsigned c3sim_server_panel_port(const struct c3sim_server *s, unsigned i) { return i < s->n ? s->slots[i].port : 0; }

struct c3sim_panel *c3sim_server_panel(struct c3sim_server *s, unsigned i)
{
    return i < s->n ? &s->slots[i].panel : NULL;
}

void c3sim_server_set_faults(struct c3sim_server *s, int panel, const struct c3sim_faults *f)
{
    for (unsigned i = 0; i < s->n; i++)
        if (panel < 0 || (unsigned)panel == i)
            s->slots[i].faults = *f;
}

void c3sim_server_cut(struct c3sim_server *s, unsigned panel, long after)
{
    if (panel < s->n)
        s->slots[panel].cut_after = after < 0 ? -1 : after;
}

void c3sim_server_restart(struct c3sim_server *s, unsigned panel)
{
    if (panel < s->n)
        slot_restart(&s->slots[panel], NULL);
}

static const char *dialect_name(enum c3sim_dialect d)
{
    return d == C3SIM_DIALECT_SESSIONLESS ? "sessionless" : d == C3SIM_DIALECT_KV ? "kv" : "session";
}

void c3sim_server_status(struct c3sim_server *s, int panel, char *out, size_t cap)
{
    if (panel < 0) {
        unsigned connected = 0, up = 0;
        uint64_t events = 0, dropped = 0, requests = 0, kicks = 0;
        for (unsigned i = 0; i < s->n; i++) {
            struct slot *sl = &s->slots[i];
            connected += sl->active && sl->active->authed;
            up += sl->panel.up;
            events += sl->panel.events_total;
            dropped += sl->panel.events_dropped;
            requests += sl->requests;
            kicks += sl->kicks;
        }
        char faults[128], ports[24];
        c3sim_faults_format(&s->slots[0].faults, faults, sizeof faults);
        if (s->slots[s->n - 1].port == s->port + s->n - 1u)
            snprintf(ports, sizeof ports, "%u-%u", s->port, s->port + s->n - 1u);
        else
            snprintf(ports, sizeof ports, "free"); /* port 0: the kernel's choice for each panel */
        snprintf(out, cap,
                 "panels=%u ports=%s model=%s dialect=%s up=%u connected=%u requests=%llu events=%llu "
                 "dropped=%llu kicks=%llu faults=%s",
                 s->n, ports, s->slots[0].panel.model->name,
                 dialect_name(s->slots[0].panel.dialect), up, connected, (unsigned long long)requests,
                 (unsigned long long)events, (unsigned long long)dropped, (unsigned long long)kicks, faults);
        return;
    }
    struct slot *sl = &s->slots[panel];
    struct c3sim_panel *p = &sl->panel;
    char faults[128], doors[512], tables[256];
    c3sim_faults_format(&sl->faults, faults, sizeof faults);
    c3sim_panel_describe(p, doors, sizeof doors);
    c3sim_tables_describe(&p->tables, tables, sizeof tables);
    const char *serial = c3sim_params_value(p, "~SerialNumber");
    snprintf(out, cap,
             "panel=%d port=%u model=%s dialect=%s serial=%s up=%d client=%s clients=%u ring=%u events=%llu "
             "dropped=%llu requests=%llu faults=%s %s %s",
             panel, sl->port, p->model->name, dialect_name(p->dialect), serial ? serial : "", p->up,
             sl->active && sl->active->authed ? (sl->active->session ? "session" : "sessionless") : "none",
             sl->nconns, p->ring_count, (unsigned long long)p->events_total, (unsigned long long)p->events_dropped,
             (unsigned long long)sl->requests, faults, doors, tables);
}
