/* Unit tests for the C3 session state machine: a fake transport (socketpair; the test plays the panel)
 * and the fake clock. Frames are checked against the spec's vectors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/loop.h"
#include "core/xport.h"
#include "fixture.h"
#include "fixture_c3frame.h"
#include "drivers/c3/c3_client.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_rtlog.h"
#include "drivers/c3/c3_session.h"

/* ---- fixture ---- */

#define MAX_OPENS 64

struct fx {
    loop_t *loop;
    struct c3_session *s;
    int peer;                   /* panel end of the current connection */
    int mine;                   /* the session's end of it */
    int old_peers[MAX_OPENS];
    int nopens;
    uint64_t open_at_us[MAX_OPENS];
    int refuse;                 /* open fails with -ECONNREFUSED */
    enum c3_state states[256];
    int nstates;
    struct c3_rt_record recs[64];
    int nrecs;
    int stale_changes;
    bool stale;
    struct fx_c3_rx rx;         /* panel side receive buffer */
};

static int fake_open(void *arg, struct xport *x, char *err, size_t errlen)
{
    struct fx *f = arg;
    if (f->nopens < MAX_OPENS)
        f->open_at_us[f->nopens] = loop_now_us(f->loop);
    f->nopens++;
    if (f->refuse) {
        snprintf(err, errlen, "connection refused");
        return -ECONNREFUSED;
    }
    char desc[32];
    snprintf(desc, sizeof desc, "fake panel #%d", f->nopens);
    int peer = fx_c3_pair(x, desc);
    if (peer < 0)
        return peer;
    if (f->peer >= 0 && f->nopens - 2 < MAX_OPENS && f->nopens >= 2)
        f->old_peers[f->nopens - 2] = f->peer;
    f->peer = peer;
    f->mine = x->fd;
    f->rx.len = 0;
    return 0;
}

static void on_state(struct c3_session *s, enum c3_state st, int err, void *arg)
{
    struct fx *f = arg;
    (void)s;
    (void)err;
    if (f->nstates < 256)
        f->states[f->nstates++] = st;
}

static void on_record(struct c3_session *s, const struct c3_rt_record *rec, void *arg)
{
    struct fx *f = arg;
    (void)s;
    if (f->nrecs < 64)
        f->recs[f->nrecs++] = *rec;
}

static void on_stale(struct c3_session *s, bool stale, void *arg)
{
    struct fx *f = arg;
    (void)s;
    f->stale = stale;
    f->stale_changes++;
}

/* backoff_max_ms and probe_ms as given (the other tests: 8 s and no probe, so the backoff schedule shows). */
static struct fx *fx_new_backoff(enum c3_dialect d, const char *password, uint32_t poll_ms, uint32_t backoff_max_ms,
                                 uint32_t probe_ms)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->peer = -1;
    for (int i = 0; i < MAX_OPENS; i++)
        f->old_peers[i] = -1;
    f->loop = loop_new_fake(1000000);
    struct c3_session_config cfg = {
        .open = fake_open, .open_arg = f, .password = password, .dialect = d,
        .request_timeout_ms = 1000, .connect_timeout_ms = 1000, .backoff_min_ms = 500,
        .backoff_max_ms = backoff_max_ms, .probe_ms = probe_ms, .poll_interval_ms = poll_ms, .seed = 12345,
    };
    struct c3_session_callbacks cbs = { .state = on_state, .record = on_record, .stale = on_stale, .arg = f };
    f->s = c3_session_new(f->loop, &cfg, &cbs);
    assert_non_null(f->s);
    return f;
}

static struct fx *fx_new(enum c3_dialect d, const char *password, uint32_t poll_ms)
{
    return fx_new_backoff(d, password, poll_ms, 8000, 60000);
}

static void fx_free(struct fx *f)
{
    c3_session_free(f->s);
    loop_free(f->loop);
    if (f->peer >= 0)
        close(f->peer);
    for (int i = 0; i < MAX_OPENS; i++)
        if (f->old_peers[i] >= 0)
            close(f->old_peers[i]);
    free(f);
}

static void pump(struct fx *f)
{
    for (int i = 0; i < 8; i++)
        loop_run_once(f->loop, 0);
}

/* A frame the session sent, as the panel sees it. */
struct seen {
    uint8_t raw[4096];
    size_t rawlen;
    uint8_t cmd;
    bool has_prefix;
    uint16_t sid, nr;
    uint8_t payload[4096];
    size_t plen;
    size_t declared; /* length field */
};

/* Read the next frame the session sent on the current connection; false if none is there. */
static bool panel_recv(struct fx *f, bool session, struct seen *out)
{
    pump(f);
    memset(out, 0, sizeof *out);
    struct c3_frame fr;
    out->rawlen = fx_c3_next_frame(f->peer, &f->rx, out->raw, sizeof out->raw, &fr);
    if (!out->rawlen)
        return false;
    out->cmd = fr.command;
    out->declared = fr.data_len;
    const uint8_t *p = fr.data;
    size_t pl = fr.data_len;
    if (session) {
        assert_int_equal(c3_frame_session(&fr, &out->sid, &out->nr, &p, &pl), 0);
        out->has_prefix = true;
    }
    memcpy(out->payload, p, pl);
    out->plen = pl;
    return true;
}

static void panel_send_raw(struct fx *f, const void *buf, size_t len)
{
    assert_int_equal(send(f->peer, buf, len, MSG_NOSIGNAL), (ssize_t)len);
    pump(f);
}

static void panel_reply(struct fx *f, bool session, uint16_t sid, uint16_t nr, uint8_t code, const void *payload,
                        size_t len)
{
    uint8_t buf[4200];
    struct c3_frame_hdr h = { .address = 1, .command = code, .session = session, .sid = sid, .nr = nr };
    int n = c3_frame_encode(buf, sizeof buf, &h, payload, len);
    assert_true(n > 0);
    panel_send_raw(f, buf, (size_t)n);
}

static void panel_error(struct fx *f, bool session, uint16_t sid, uint16_t nr, int err)
{
    uint8_t buf[64];
    int n = c3_frame_encode_error(buf, sizeof buf, 1, session, sid, nr, err);
    assert_true(n > 0);
    panel_send_raw(f, buf, (size_t)n);
}

static bool peer_closed(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    return n == 0;
}

static void hexeq(const uint8_t *got, size_t len, const char *hex)
{
    char buf[9000];
    size_t i;
    for (i = 0; i < len && 2 * i + 2 < sizeof buf; i++)
        snprintf(buf + 2 * i, 3, "%02x", got[i]);
    buf[2 * i] = '\0';
    assert_string_equal(buf, hex);
}

/* Bring a session-mode session online with session id 0x8AD1. */
static void online_session(struct fx *f)
{
    c3_session_start(f->s);
    pump(f);
    struct seen sn;
    assert_true(panel_recv(f, true, &sn));
    assert_int_equal(sn.cmd, C3_CMD_CONNECT_SESSION);
    panel_reply(f, true, 0x8AD1, sn.nr, C3_REPLY_OK, NULL, 0);
    assert_int_equal(c3_session_state(f->s), C3_ST_ONLINE);
}

struct got {
    int calls;
    int err;
    uint8_t data[256];
    size_t len;
    int order;
};
static int g_order;

static void req_cb(struct c3_session *s, const struct c3_result *res, void *arg)
{
    struct got *g = arg;
    (void)s;
    g->calls++;
    g->err = res->err;
    g->len = res->len < sizeof g->data ? res->len : sizeof g->data;
    if (g->len)
        memcpy(g->data, res->data, g->len);
    g->order = ++g_order;
}

/* A session of the AUTO dialect (poll_ms as given) brought online by online_session. */
static struct fx *fx_online(uint32_t poll_ms)
{
    struct fx *f = fx_new(C3_DIALECT_AUTO, NULL, poll_ms);
    online_session(f);
    return f;
}

/* A get-params request for q with opts o (NULL: the defaults) submitted, answered into g; the frame the panel
 * received for it in *sn. */
static void ask(struct fx *f, const char *q, const struct c3_request_opts *o, struct got *g, struct seen *sn)
{
    assert_true(c3_session_submit(f->s, C3_CMD_GET_PARAM, q, strlen(q), o, req_cb, g) > 0);
    assert_true(panel_recv(f, true, sn));
}

/* ---- tests ---- */

static void test_session_handshake_and_vectors(void **state)
{
    (void)state;
    struct fx *f = fx_new(C3_DIALECT_AUTO, NULL, 0);
    c3_session_start(f->s);
    pump(f);
    struct seen sn;
    assert_true(panel_recv(f, true, &sn));
    hexeq(sn.raw, sn.rawlen, "aa01760400fefefefe467755");
    assert_int_equal(c3_session_state(f->s), C3_ST_HANDSHAKE);
    panel_reply(f, true, 0x8AD1, 0xFEFE, C3_REPLY_OK, NULL, 0);
    assert_int_equal(c3_session_state(f->s), C3_ST_ONLINE);
    assert_true(c3_session_sessionful(f->s));

    struct got g = { 0 };
    const char *q = "~SerialNumber,LockCount";
    assert_true(c3_session_submit(f->s, C3_CMD_GET_PARAM, q, strlen(q), NULL, req_cb, &g) > 0);
    assert_true(panel_recv(f, true, &sn));
    hexeq(sn.raw, sn.rawlen, "aa01041b00d18afffe7e53657269616c4e756d6265722c4c6f636b436f756e74127d55");
    const char *ans = "~SerialNumber=DDG8130016092200401,LockCount=4";
    panel_reply(f, true, 0x8AD1, sn.nr, C3_REPLY_OK, ans, strlen(ans));
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.err, 0);
    assert_int_equal(g.len, strlen(ans));
    assert_memory_equal(g.data, ans, g.len);
    assert_int_equal(c3_session_stats(f->s)->connects, 1);

    /* A control request follows with the next number (vector: door 1 open 5 s uses nr -255 after RT log -256;
     * here the second request after connect is 0xFF00). */
    uint8_t ctl[5] = { 1, 1, 1, 5, 0 };
    assert_true(c3_session_submit(f->s, C3_CMD_CONTROL, ctl, 5, NULL, req_cb, &g) > 0);
    assert_true(panel_recv(f, true, &sn));
    assert_int_equal(sn.nr, 0xFF00);
    panel_reply(f, true, 0x8AD1, sn.nr, C3_REPLY_OK, NULL, 0);
    assert_int_equal(g.calls, 2);
    fx_free(f);
}

static void test_password_in_connect(void **state)
{
    (void)state;
    struct fx *f = fx_new(C3_DIALECT_AUTO, "banana123", 0);
    c3_session_start(f->s);
    struct seen sn;
    assert_true(panel_recv(f, true, &sn));
    hexeq(sn.raw, sn.rawlen, "aa01760d00fefefefe62616e616e61313233961955");
    fx_free(f);
}

static void test_fallback_to_sessionless_on_fresh_socket(void **state)
{
    (void)state;
    struct fx *f = fx_new(C3_DIALECT_AUTO, "Admin123", 0);
    c3_session_start(f->s);
    struct seen sn;
    assert_true(panel_recv(f, true, &sn));
    assert_int_equal(sn.cmd, C3_CMD_CONNECT_SESSION);
    int first_peer = f->peer;
    panel_error(f, false, 0, 0, -13); /* session-less firmware: C9 with just the error byte */
    assert_int_equal(f->nopens, 2);   /* a fresh socket ... */
    assert_true(peer_closed(first_peer)); /* ... and the old one closed */
    assert_true(panel_recv(f, false, &sn));
    hexeq(sn.raw, sn.rawlen, "aa0101080041646d696e313233d40955");
    panel_reply(f, false, 0, 0, C3_REPLY_OK, NULL, 0);
    assert_int_equal(c3_session_state(f->s), C3_ST_ONLINE);
    assert_false(c3_session_sessionful(f->s));
    assert_int_equal(c3_session_stats(f->s)->fallbacks, 1);

    /* Requests carry no prefix now: spec vector for session-less get params. */
    struct got g = { 0 };
    const char *q = "~SerialNumber,LockCount";
    c3_session_submit(f->s, C3_CMD_GET_PARAM, q, strlen(q), NULL, req_cb, &g);
    assert_true(panel_recv(f, false, &sn));
    hexeq(sn.raw, sn.rawlen, "aa010417007e53657269616c4e756d6265722c4c6f636b436f756e749b4c55");
    panel_reply(f, false, 0, 0, C3_REPLY_OK, "LockCount=4", 11);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.err, 0);

    /* After a dropped link the remembered dialect is used straight away. */
    close(f->peer);
    f->peer = -1;
    pump(f);
    assert_int_equal(c3_session_state(f->s), C3_ST_BACKOFF);
    loop_advance(f->loop, 1000000);
    pump(f);
    assert_true(panel_recv(f, false, &sn));
    assert_int_equal(sn.cmd, C3_CMD_CONNECT);
    fx_free(f);
}

static void test_wrong_password_backs_off(void **state)
{
    (void)state;
    struct fx *f = fx_new(C3_DIALECT_AUTO, "wrong", 0);
    c3_session_start(f->s);
    struct seen sn;
    assert_true(panel_recv(f, true, &sn));
    panel_error(f, true, 0xFEFE, 0xFEFE, -14);
    assert_int_equal(c3_session_state(f->s), C3_ST_BACKOFF);
    assert_int_equal(c3_session_last_error_code(f->s), -14);
    assert_non_null(strstr(c3_session_last_error(f->s), "password"));
    assert_int_equal(c3_session_stats(f->s)->auth_failures, 1);
    /* No tight loop: nothing happens before the backoff minimum's lower bound (250 ms). */
    loop_advance(f->loop, 249000);
    pump(f);
    assert_int_equal(f->nopens, 1);
    loop_advance(f->loop, 251000);
    pump(f);
    assert_int_equal(f->nopens, 2);
    assert_true(panel_recv(f, true, &sn));
    panel_error(f, true, 0xFEFE, 0xFEFE, -14);
    /* Second failure: base 1000 ms → at least 500 ms. */
    uint64_t t0 = loop_now_us(f->loop);
    loop_advance(f->loop, 499000);
    pump(f);
    assert_int_equal(f->nopens, 2);
    loop_advance(f->loop, 502000);
    pump(f);
    assert_int_equal(f->nopens, 3);
    assert_true(f->open_at_us[2] - t0 >= 500000 && f->open_at_us[2] - t0 <= 1000000);
    fx_free(f);
}

static void test_backoff_growth_and_jitter(void **state)
{
    (void)state;
    /* The pure function: bounds for every attempt, capped at the maximum. */
    for (uint32_t a = 0; a < 12; a++) {
        uint64_t base = 500u << (a < 5 ? a : 5);
        if (base > 8000)
            base = 8000;
        for (uint64_t r = 0; r < 2000; r += 7) {
            uint32_t d = c3_backoff_delay_ms(a, 500, 8000, r * 0x9E3779B97F4A7C15ULL);
            assert_true(d >= base / 2 && d <= base);
        }
    }
    /* Jitter actually varies. */
    assert_true(c3_backoff_delay_ms(3, 500, 8000, 1) != c3_backoff_delay_ms(3, 500, 8000, 1000));

    /* Through the state machine: a refused connect retries forever with growing, bounded delays. */
    struct fx *f = fx_new(C3_DIALECT_AUTO, NULL, 0);
    f->refuse = 1;
    c3_session_start(f->s);
    for (int i = 0; i < 12; i++)
        loop_advance(f->loop, 8000000);
    assert_true(f->nopens >= 12);
    for (int i = 1; i < 12; i++) {
        uint64_t base = 500u << (i - 1 < 5 ? i - 1 : 5);
        if (base > 8000)
            base = 8000;
        uint64_t d = f->open_at_us[i] - f->open_at_us[i - 1];
        assert_true(d >= base * 1000 / 2);
        assert_true(d <= base * 1000);
    }
    assert_int_equal(c3_session_state(f->s), C3_ST_BACKOFF);
    assert_int_equal(c3_session_last_error_code(f->s), -ECONNREFUSED);
    fx_free(f);
}

/* A panel down for a minute (refusing connections), backing off up to 30 s: probed once a second at most, and
 * online within 2 s of accepting again. */
static void test_probe_brings_panel_back(void **state)
{
    (void)state;
    struct fx *f = fx_new_backoff(C3_DIALECT_SESSION, NULL, 0, 30000, 1000);
    f->refuse = 1;
    c3_session_start(f->s);
    for (int i = 0; i < 600; i++) {
        loop_advance(f->loop, 100000);
        pump(f);
    }
    /* 60 s: about one probe a second and the backoff's own attempts (0.25..30 s apart), no more. */
    uint64_t probes = c3_session_stats(f->s)->probes;
    assert_true(probes >= 45 && probes <= 60);
    assert_true(f->nopens <= 60 + 12);
    for (int i = 1; i < f->nopens && i < MAX_OPENS; i++)
        assert_true(f->open_at_us[i] - f->open_at_us[i - 1] >= 200000); /* never a burst */
    assert_int_equal(c3_session_state(f->s), C3_ST_BACKOFF);
    /* The panel accepts again: connected by the next probe, handshake at once. */
    f->refuse = 0;
    uint64_t back = loop_now_us(f->loop);
    struct seen sn;
    while (loop_now_us(f->loop) - back < 5000000 && c3_session_state(f->s) != C3_ST_HANDSHAKE) {
        loop_advance(f->loop, 10000);
        pump(f);
    }
    assert_int_equal(c3_session_state(f->s), C3_ST_HANDSHAKE);
    assert_true(panel_recv(f, true, &sn));
    panel_reply(f, true, 0x1234, sn.nr, C3_REPLY_OK, NULL, 0);
    assert_int_equal(c3_session_state(f->s), C3_ST_ONLINE);
    assert_true(loop_now_us(f->loop) - back <= 2000000);
    /* The link events: down once, online once (no "connecting" per probe). */
    int backoffs = 0, connecting = 0;
    for (int i = 0; i < f->nstates; i++) {
        backoffs += f->states[i] == C3_ST_BACKOFF;
        connecting += f->states[i] == C3_ST_CONNECTING;
    }
    assert_true(connecting <= 2);
    assert_true(backoffs >= 1);
    fx_free(f);
}

/* A panel that accepts the TCP connect but refuses the handshake is not probed: no handshake every second. */
static void test_no_probe_after_failed_handshake(void **state)
{
    (void)state;
    struct fx *f = fx_new_backoff(C3_DIALECT_SESSION, "wrong", 0, 30000, 1000);
    c3_session_start(f->s);
    for (int i = 0; i < 600; i++) {
        struct seen sn;
        if (panel_recv(f, true, &sn))
            panel_error(f, true, 0xFEFE, sn.nr, -14);
        loop_advance(f->loop, 100000);
        pump(f);
    }
    /* 60 s of backoff attempts only: 0.25-0.5, 0.5-1, 1-2, 2-4, 4-8, 8-16, 15-30, 15-30 s apart. */
    assert_int_equal(c3_session_stats(f->s)->probes, 0);
    assert_true(f->nopens >= 6 && f->nopens <= 10);
    fx_free(f);
}

static void test_timeout_retry_and_stale_reply_discarded(void **state)
{
    (void)state;
    struct fx *f = fx_online(0);
    struct got g = { 0 };
    struct c3_request_opts o = { .prio = C3_PRIO_OPERATOR, .retries = 1 };
    struct seen a, b;
    ask(f, "LockCount", &o, &g, &a);
    loop_advance(f->loop, 1001000); /* deadline passes: resent with a new number */
    pump(f);
    assert_int_equal(c3_session_stats(f->s)->timeouts, 1);
    assert_true(panel_recv(f, true, &b));
    assert_int_equal(b.nr, (uint16_t)(a.nr + 1));
    assert_int_equal(g.calls, 0);
    /* The late answer to the first copy arrives first: discarded. */
    panel_reply(f, true, 0x8AD1, a.nr, C3_REPLY_OK, "LockCount=1", 11);
    assert_int_equal(g.calls, 0);
    assert_int_equal(c3_session_stats(f->s)->desyncs, 1);
    /* A reply with a foreign session id: discarded too. */
    panel_reply(f, true, 0x1234, b.nr, C3_REPLY_OK, "LockCount=3", 11);
    assert_int_equal(g.calls, 0);
    assert_int_equal(c3_session_stats(f->s)->desyncs, 2);
    panel_reply(f, true, 0x8AD1, b.nr, C3_REPLY_OK, "LockCount=2", 11);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.err, 0);
    assert_memory_equal(g.data, "LockCount=2", 11);
    assert_int_equal(c3_session_state(f->s), C3_ST_ONLINE);

    /* Without retries the caller hears about the timeout. */
    c3_session_submit(f->s, C3_CMD_CONTROL, "\x02\0\0\0\0", 5, NULL, req_cb, &g);
    assert_true(panel_recv(f, true, &a));
    loop_advance(f->loop, 1001000);
    pump(f);
    assert_int_equal(g.calls, 2);
    assert_int_equal(g.err, C3_S_TIMEOUT);
    fx_free(f);
}

/* A panel in the same process (the simulator of the tests and of the demo site) answers from a timer of the same
 * loop. When the process was not scheduled for a while, that timer and the request's deadline come due in the
 * same turn and run one after the other: the answer that reached the socket first is read, not counted as a
 * timeout (a poll's answer would be lost with it, a command sent twice). */
static struct {
    struct fx *f;
    uint16_t nr;
} late;

static void answer_late(loop_t *loop, void *arg)
{
    (void)loop;
    (void)arg;
    uint8_t buf[64];
    struct c3_frame_hdr h = { .address = 1, .command = C3_REPLY_OK, .session = true, .sid = 0x8AD1, .nr = late.nr };
    int n = c3_frame_encode(buf, sizeof buf, &h, "LockCount=4", 11);
    assert_true(n > 0);
    assert_int_equal(send(late.f->peer, buf, (size_t)n, MSG_NOSIGNAL), n);
}

/* A request with opts o in flight and the panel's answer due 300 ms later; then the process stalls for 3 s, so
 * the answer and the request's deadline or expiry run in the same turn: the answer is taken, no timeout counted.
 * The session, online still. */
static struct fx *answered_in_a_stall(const struct c3_request_opts *o, struct got *g)
{
    struct fx *f = fx_online(0);
    struct seen a;
    ask(f, "LockCount", o, g, &a);
    late.f = f;
    late.nr = a.nr;
    loop_timer_t answer;
    loop_timer_init(&answer, answer_late, NULL);
    loop_timer_arm_ms(f->loop, &answer, 300);
    loop_advance(f->loop, 3000000); /* 3 s in one step: both due at once */
    pump(f);
    assert_int_equal(g->calls, 1);
    assert_int_equal(g->err, 0);
    assert_memory_equal(g->data, "LockCount=4", 11);
    assert_int_equal(c3_session_stats(f->s)->timeouts, 0);
    return f;
}

static void test_answer_at_the_deadline_after_a_stall(void **state)
{
    (void)state;
    struct got g = { 0 };
    struct c3_request_opts o = { .prio = C3_PRIO_OPERATOR, .retries = 1 };
    struct fx *f = answered_in_a_stall(&o, &g);
    struct seen b;
    assert_false(panel_recv(f, true, &b)); /* not sent again */
    fx_free(f);
}

/* The overall expiry follows the same rule: an answer that reached the socket during a stall, before the request's
 * expiry ran in the same turn, is read and taken, not reported as expired. */
static void test_answer_at_the_expiry_after_a_stall(void **state)
{
    (void)state;
    struct got g = { 0 };
    struct c3_request_opts o = { .prio = C3_PRIO_OPERATOR, .timeout_ms = 5000, .expire_ms = 2000 };
    struct fx *f = answered_in_a_stall(&o, &g);
    loop_advance(f->loop, 6000000); /* past the reply deadline: nothing more */
    pump(f);
    assert_int_equal(g.calls, 1);
    assert_int_equal(c3_session_state(f->s), C3_ST_ONLINE);
    struct seen b;
    assert_false(panel_recv(f, true, &b)); /* not sent again */
    fx_free(f);
}

static void close_peer(loop_t *loop, void *arg)
{
    struct fx *f = arg;
    (void)loop;
    close(f->peer);
    f->peer = -1;
}

/* The read at the expiry finds the connection closed during the stall: the request the read put back in the queue
 * (it may be resent) is the one that expires, once; one the read failed is reported once, as disconnected. */
static void expiry_finds_connection_closed(uint8_t retries, int want)
{
    struct fx *f = fx_online(0);
    struct got g = { 0 };
    struct c3_request_opts o = { .prio = C3_PRIO_OPERATOR, .timeout_ms = 5000, .expire_ms = 2000,
                                 .retries = retries };
    struct seen a;
    ask(f, "LockCount", &o, &g, &a);
    loop_timer_t gone;
    loop_timer_init(&gone, close_peer, f);
    loop_timer_arm_ms(f->loop, &gone, 300);
    loop_advance(f->loop, 3000000);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.err, want);
    assert_int_not_equal(c3_session_state(f->s), C3_ST_ONLINE);
    loop_advance(f->loop, 20000000); /* reconnects: the request is not sent again */
    pump(f);
    assert_int_equal(g.calls, 1);
    fx_free(f);
}

static void test_expiry_finds_connection_closed(void **state)
{
    (void)state;
    expiry_finds_connection_closed(1, C3_S_EXPIRED);
    expiry_finds_connection_closed(0, C3_S_DISCONNECTED);
}

static void test_consecutive_timeouts_reconnect_and_numbers_reset(void **state)
{
    (void)state;
    struct fx *f = fx_online(0);
    struct got g = { 0 };
    for (int i = 0; i < 3; i++) {
        c3_session_submit(f->s, C3_CMD_GET_PARAM, "LockCount", 9, NULL, req_cb, &g);
        pump(f);
        loop_advance(f->loop, 1001000);
        pump(f);
    }
    assert_int_equal(g.calls, 3);
    assert_int_equal(c3_session_state(f->s), C3_ST_BACKOFF);
    loop_advance(f->loop, 600000);
    pump(f);
    assert_int_equal(f->nopens, 2);
    struct seen sn;
    assert_true(panel_recv(f, true, &sn));
    assert_int_equal(sn.cmd, C3_CMD_CONNECT_SESSION);
    assert_int_equal(sn.nr, 0xFEFE); /* numbering restarts */
    panel_reply(f, true, 0x4242, 0xFEFE, C3_REPLY_OK, NULL, 0);
    c3_session_submit(f->s, C3_CMD_GET_PARAM, "LockCount", 9, NULL, req_cb, &g);
    assert_true(panel_recv(f, true, &sn));
    assert_int_equal(sn.nr, 0xFEFF);
    assert_int_equal(sn.sid, 0x4242);
    assert_int_equal(c3_session_stats(f->s)->reconnects, 1);
    fx_free(f);
}

/* The connection's fd closed behind the session's back and its number now another owner's, watched on the same
 * loop (a client's socket, another panel's connection): dropping the connection and freeing the session leave
 * that watch alone. */
static void test_reused_number_watch_left_alone(void **state)
{
    (void)state;
    struct fx *f = fx_online(0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    int num = f->mine;
    assert_int_equal(dup2(p[0], num), num);
    close(p[0]);
    int hits = 0;
    assert_int_equal(loop_add_fd(f->loop, num, LOOP_READ, fx_count_reads, &hits), 0);
    struct got g = { 0 };
    c3_session_submit(f->s, C3_CMD_GET_PARAM, "LockCount", 9, NULL, req_cb, &g);
    pump(f);
    assert_int_equal(c3_session_state(f->s), C3_ST_BACKOFF); /* the write was refused: the link is dead */
    assert_int_equal(write(p[1], "x", 1), 1);
    pump(f);
    assert_int_equal(hits, 1);
    c3_session_free(f->s);
    f->s = NULL;
    assert_int_equal(write(p[1], "y", 1), 1);
    pump(f);
    assert_int_equal(hits, 2);
    loop_del_fd(f->loop, num);
    close(num);
    close(p[1]);
    fx_free(f);
}

static void test_sessionless_timeout_uses_fresh_socket(void **state)
{
    (void)state;
    struct fx *f = fx_new(C3_DIALECT_SESSIONLESS, NULL, 0);
    c3_session_start(f->s);
    struct seen sn;
    assert_true(panel_recv(f, false, &sn));
    hexeq(sn.raw, sn.rawlen, "aa01010000503c55");
    panel_reply(f, false, 0, 0, C3_REPLY_OK, NULL, 0);
    struct got g = { 0 };
    struct c3_request_opts o = { .retries = 1 };
    c3_session_submit(f->s, C3_CMD_GET_PARAM, "LockCount", 9, &o, req_cb, &g);
    assert_true(panel_recv(f, false, &sn));
    int old = f->peer;
    loop_advance(f->loop, 1001000);
    pump(f);
    /* A late reply could not be told apart without numbers: the link is dropped, the request kept. */
    assert_true(peer_closed(old));
    assert_int_equal(g.calls, 0);
    loop_advance(f->loop, 600000);
    pump(f);
    assert_true(panel_recv(f, false, &sn));
    assert_int_equal(sn.cmd, C3_CMD_CONNECT);
    panel_reply(f, false, 0, 0, C3_REPLY_OK, NULL, 0);
    assert_true(panel_recv(f, false, &sn));
    assert_int_equal(sn.cmd, C3_CMD_GET_PARAM);
    panel_reply(f, false, 0, 0, C3_REPLY_OK, "LockCount=2", 11);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.err, 0);
    fx_free(f);
}

static void test_message_numbers_wrap_without_malformed_frames(void **state)
{
    (void)state;
    struct fx *f = fx_new(C3_DIALECT_SESSION, NULL, 0);
    online_session(f);
    struct got g = { 0 };
    bool saw_zero = false;
    for (int i = 0; i < 300; i++) {
        c3_session_submit(f->s, C3_CMD_RTLOG_BINARY, NULL, 0, NULL, req_cb, &g);
        struct seen sn;
        assert_true(panel_recv(f, true, &sn));
        assert_int_equal(sn.declared, 4); /* the prefix is always counted, including number 0 */
        if (sn.nr == 0)
            saw_zero = true;
        panel_reply(f, true, 0x8AD1, sn.nr, C3_REPLY_OK, NULL, 0);
    }
    assert_true(saw_zero);
    assert_int_equal(g.calls, 300);
    fx_free(f);
}

static void test_junk_and_bad_crc_are_skipped(void **state)
{
    (void)state;
    struct fx *f = fx_online(0);
    struct got g = { 0 };
    struct seen sn;
    ask(f, "LockCount", NULL, &g, &sn);
    panel_send_raw(f, "\x00\x13garbage", 9);
    uint8_t buf[64];
    struct c3_frame_hdr h = { .address = 1, .command = C3_REPLY_OK, .session = true, .sid = 0x8AD1, .nr = sn.nr };
    int n = c3_frame_encode(buf, sizeof buf, &h, "LockCount=9", 11);
    buf[n - 3] ^= 0x55; /* corrupt the CRC */
    panel_send_raw(f, buf, (size_t)n);
    assert_int_equal(g.calls, 0);
    assert_true(c3_session_stats(f->s)->bad_frames >= 1);
    assert_true(c3_session_stats(f->s)->junk_bytes >= 9);
    /* A good reply split over two writes still matches. */
    n = c3_frame_encode(buf, sizeof buf, &h, "LockCount=4", 11);
    panel_send_raw(f, buf, 7);
    assert_int_equal(g.calls, 0);
    panel_send_raw(f, buf + 7, (size_t)n - 7);
    assert_int_equal(g.calls, 1);
    assert_memory_equal(g.data, "LockCount=4", 11);
    fx_free(f);
}

static void make_event(uint8_t out[16], uint8_t type, uint32_t card)
{
    struct c3_rt_record r = { .kind = C3_RT_EVENT, .time = 754732325 };
    r.event.card = card;
    r.event.door = 1;
    r.event.type = type;
    r.event.verify = 4;
    r.event.inout = 0;
    r.event.index = -1;
    assert_int_equal(c3_rtlog_encode_record(&r, out), C3_RT_RECORD_LEN);
}

static void make_status(uint8_t out[16])
{
    struct c3_rt_record r = { .kind = C3_RT_STATUS, .time = 754732325 };
    r.status.sensor[0] = 1;
    r.status.sensor_raw[0] = 1;
    r.status.alarm[1] = 1;
    r.status.byte8 = 200;
    assert_int_equal(c3_rtlog_encode_record(&r, out), C3_RT_RECORD_LEN);
}

static void test_rtlog_polls_until_status(void **state)
{
    (void)state;
    struct fx *f = fx_online(5000);
    struct seen sn;
    assert_true(panel_recv(f, true, &sn));
    assert_int_equal(sn.cmd, C3_CMD_RTLOG_BINARY);
    uint8_t rec[16];
    make_event(rec, 0, 123);
    panel_reply(f, true, 0x8AD1, sn.nr, C3_REPLY_OK, rec, 16);
    assert_int_equal(f->nrecs, 1);
    assert_int_equal(f->recs[0].kind, C3_RT_EVENT);
    assert_int_equal(f->recs[0].event.card, 123);
    /* An event came: ask again at once. */
    assert_true(panel_recv(f, true, &sn));
    assert_int_equal(sn.cmd, C3_CMD_RTLOG_BINARY);
    make_status(rec);
    panel_reply(f, true, 0x8AD1, sn.nr, C3_REPLY_OK, rec, 16);
    assert_int_equal(f->nrecs, 2);
    assert_int_equal(f->recs[1].kind, C3_RT_STATUS);
    /* A status record after a round that had an event: wait half the interval (the panel is active). */
    assert_false(panel_recv(f, true, &sn));
    loop_advance(f->loop, 2400000);
    assert_false(panel_recv(f, true, &sn));
    loop_advance(f->loop, 200000);
    assert_true(panel_recv(f, true, &sn));
    assert_int_equal(sn.cmd, C3_CMD_RTLOG_BINARY);
    /* An idle round (status at once): the full interval. */
    panel_reply(f, true, 0x8AD1, sn.nr, C3_REPLY_OK, rec, 16);
    loop_advance(f->loop, 4900000);
    assert_false(panel_recv(f, true, &sn));
    loop_advance(f->loop, 200000);
    assert_true(panel_recv(f, true, &sn));
    /* A busy round (8 events before the status record): a quarter of the interval, so the panel's
     * 30-record ring cannot overflow between polls. */
    for (int i = 0; i < 8; i++) {
        make_event(rec, 0, 1000u + (unsigned)i);
        panel_reply(f, true, 0x8AD1, sn.nr, C3_REPLY_OK, rec, 16);
        assert_true(panel_recv(f, true, &sn));
    }
    make_status(rec);
    panel_reply(f, true, 0x8AD1, sn.nr, C3_REPLY_OK, rec, 16);
    loop_advance(f->loop, 1150000);
    assert_false(panel_recv(f, true, &sn));
    loop_advance(f->loop, 200000);
    assert_true(panel_recv(f, true, &sn));
    assert_int_equal(sn.cmd, C3_CMD_RTLOG_BINARY);
    assert_int_equal(c3_session_rtmode(f->s), C3_RTMODE_BINARY);
    fx_free(f);
}

static void test_switch_to_kv_rtlog(void **state)
{
    (void)state;
    struct fx *f = fx_online(5000);
    struct seen sn;
    assert_true(panel_recv(f, true, &sn));
    assert_int_equal(sn.cmd, C3_CMD_RTLOG_BINARY);
    uint8_t junk[36] = { 0 };
    panel_reply(f, true, 0x8AD1, sn.nr, C3_REPLY_OK, junk, sizeof junk);
    assert_int_equal(f->nrecs, 0);
    assert_int_equal(c3_session_rtmode(f->s), C3_RTMODE_KV);
    assert_true(panel_recv(f, true, &sn));
    assert_int_equal(sn.cmd, C3_CMD_RTLOG_KV);
    const char *kv = "time=2023-12-06 22:57:54\tpin=0\tcardno=0\teventaddr=1\tevent=8\tinoutstatus=2\t"
                     "verifytype=200\tindex=9\r\n";
    panel_reply(f, true, 0x8AD1, sn.nr, C3_REPLY_OK, kv, strlen(kv));
    assert_int_equal(f->nrecs, 1);
    assert_int_equal(f->recs[0].kind, C3_RT_EVENT);
    assert_int_equal(f->recs[0].event.type, 8);
    assert_true(panel_recv(f, true, &sn));
    assert_int_equal(sn.cmd, C3_CMD_RTLOG_KV);
    const char *st = "time=2023-12-06 22:57:55\tsensor=24\trelay=04\talarm=00000000\r\n";
    panel_reply(f, true, 0x8AD1, sn.nr, C3_REPLY_OK, st, strlen(st));
    assert_int_equal(f->nrecs, 2);
    assert_int_equal(f->recs[1].kind, C3_RT_STATUS);
    assert_int_equal(f->recs[1].status.sensor[1], C3_SENSOR_CLOSED);
    assert_int_equal(f->recs[1].status.sensor[2], C3_SENSOR_OPEN);
    assert_false(panel_recv(f, true, &sn));
    /* The switch is permanent, also across reconnects. */
    close(f->peer);
    f->peer = -1;
    pump(f);
    loop_advance(f->loop, 1000000);
    pump(f);
    assert_true(panel_recv(f, true, &sn));
    panel_reply(f, true, 0x8AD2, sn.nr, C3_REPLY_OK, NULL, 0);
    assert_true(panel_recv(f, true, &sn));
    assert_int_equal(sn.cmd, C3_CMD_RTLOG_KV);
    fx_free(f);
}

static void test_operator_commands_before_polls(void **state)
{
    (void)state;
    struct fx *f = fx_online(5000);
    struct seen sn;
    assert_true(panel_recv(f, true, &sn)); /* the internal poll is in flight */
    assert_int_equal(sn.cmd, C3_CMD_RTLOG_BINARY);
    struct got gp = { 0 }, go = { 0 };
    struct c3_request_opts poll = { .prio = C3_PRIO_POLL };
    c3_session_submit(f->s, C3_CMD_GET_PARAM, "DateTime", 8, &poll, req_cb, &gp);
    c3_session_submit(f->s, C3_CMD_CONTROL, "\x01\x01\x01\x05\x00", 5, NULL, req_cb, &go);
    /* One request in flight: nothing else is sent until the poll is answered. */
    struct seen extra;
    assert_false(panel_recv(f, true, &extra));
    uint8_t rec[16];
    make_status(rec);
    panel_reply(f, true, 0x8AD1, sn.nr, C3_REPLY_OK, rec, 16);
    assert_true(panel_recv(f, true, &sn));
    assert_int_equal(sn.cmd, C3_CMD_CONTROL); /* the operator's command jumps the queue */
    panel_reply(f, true, 0x8AD1, sn.nr, C3_REPLY_OK, NULL, 0);
    assert_true(panel_recv(f, true, &sn));
    assert_int_equal(sn.cmd, C3_CMD_GET_PARAM);
    panel_reply(f, true, 0x8AD1, sn.nr, C3_REPLY_OK, "DateTime=1", 10);
    assert_true(go.order < gp.order);
    assert_int_equal(go.err, 0);
    assert_int_equal(gp.err, 0);
    fx_free(f);
}

static void test_panel_error_reported(void **state)
{
    (void)state;
    struct fx *f = fx_online(0);
    struct got g = { 0 };
    struct seen sn;
    ask(f, "Nope", NULL, &g, &sn);
    panel_error(f, true, 0x8AD1, sn.nr, -11);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.err, -11);
    assert_int_equal(c3_session_state(f->s), C3_ST_ONLINE);
    assert_string_not_equal(c3_session_strerror(-11), "unknown error");
    fx_free(f);
}

static void test_stale_flag(void **state)
{
    (void)state;
    struct fx *f = fx_online(1000); /* stale after 3 × 1 s + 1 s */
    struct seen sn;
    assert_true(panel_recv(f, true, &sn));
    uint8_t rec[16];
    make_status(rec);
    panel_reply(f, true, 0x8AD1, sn.nr, C3_REPLY_OK, rec, 16);
    assert_false(c3_session_stale(f->s));
    /* The panel goes mute. */
    for (int i = 0; i < 5; i++) {
        loop_advance(f->loop, 1000000);
        pump(f);
    }
    assert_true(c3_session_stale(f->s));
    assert_true(f->stale);
    fx_free(f);
}

struct cli_params {
    int calls;
    int err;
    size_t n;
    char v[3][64];
    bool null1;
};

static void params_cb(void *arg, const struct c3_params_result *r)
{
    struct cli_params *p = arg;
    p->calls++;
    p->err = r->err;
    p->n = r->n;
    for (size_t i = 0; i < r->n && i < 3; i++)
        snprintf(p->v[i], sizeof p->v[i], "%s", r->values[i] ? r->values[i] : "(null)");
}

static void test_client_params_batching(void **state)
{
    (void)state;
    struct fx *f = fx_online(0);
    /* 65 names → 3 requests of 30, 30, 5 names. */
    char namebuf[65][16];
    const char *names[65];
    for (int i = 0; i < 65; i++) {
        snprintf(namebuf[i], sizeof namebuf[i], "P%d", i);
        names[i] = namebuf[i];
    }
    names[0] = "~SerialNumber";
    struct cli_params p = { 0 };
    assert_int_equal(c3_client_params_get(f->s, names, 65, NULL, params_cb, &p), 0);
    size_t counts[3];
    for (int b = 0; b < 3; b++) {
        struct seen sn;
        assert_true(panel_recv(f, true, &sn));
        assert_int_equal(sn.cmd, C3_CMD_GET_PARAM);
        char text[1024], reply[2048] = "";
        memcpy(text, sn.payload, sn.plen);
        text[sn.plen] = '\0';
        counts[b] = 1;
        for (char *c = text; *c; c++)
            counts[b] += *c == ',';
        char *save = NULL;
        for (char *tok = strtok_r(text, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (strcmp(tok, "P1") == 0)
                continue; /* the panel leaves one out */
            size_t l = strlen(reply);
            snprintf(reply + l, sizeof reply - l, "%s%s=v_%s", l ? "," : "", tok, tok);
        }
        panel_reply(f, true, 0x8AD1, sn.nr, C3_REPLY_OK, reply, strlen(reply));
    }
    assert_int_equal(counts[0], 30);
    assert_int_equal(counts[1], 30);
    assert_int_equal(counts[2], 5);
    assert_int_equal(p.calls, 1);
    assert_int_equal(p.err, 0);
    assert_int_equal(p.n, 65);
    assert_string_equal(p.v[0], "v_~SerialNumber");
    assert_string_equal(p.v[1], "(null)");
    assert_string_equal(p.v[2], "v_P2");
    fx_free(f);
}

static void test_stop_sends_disconnect(void **state)
{
    (void)state;
    struct fx *f = fx_online(0);
    c3_session_stop(f->s);
    struct seen sn;
    assert_true(panel_recv(f, true, &sn));
    assert_int_equal(sn.cmd, C3_CMD_DISCONNECT);
    panel_reply(f, true, 0x8AD1, sn.nr, C3_REPLY_OK, NULL, 0);
    assert_int_equal(c3_session_state(f->s), C3_ST_DISCONNECTED);
    assert_true(peer_closed(f->peer));
    /* Requests are refused now. */
    c3_session_start(f->s);
    c3_session_stop(f->s);
    assert_int_equal(c3_session_state(f->s), C3_ST_DISCONNECTED);
    fx_free(f);
}

static void test_request_expiry_while_unreachable(void **state)
{
    (void)state;
    struct fx *f = fx_new(C3_DIALECT_AUTO, NULL, 0);
    f->refuse = 1;
    c3_session_start(f->s);
    struct got g = { 0 };
    struct c3_request_opts o = { .expire_ms = 3000 };
    c3_session_submit(f->s, C3_CMD_GET_PARAM, "LockCount", 9, &o, req_cb, &g);
    loop_advance(f->loop, 2900000);
    assert_int_equal(g.calls, 0);
    loop_advance(f->loop, 200000);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.err, C3_S_EXPIRED);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_handshake_and_vectors),
        cmocka_unit_test(test_password_in_connect),
        cmocka_unit_test(test_fallback_to_sessionless_on_fresh_socket),
        cmocka_unit_test(test_wrong_password_backs_off),
        cmocka_unit_test(test_backoff_growth_and_jitter),
        cmocka_unit_test(test_probe_brings_panel_back),
        cmocka_unit_test(test_no_probe_after_failed_handshake),
        cmocka_unit_test(test_timeout_retry_and_stale_reply_discarded),
        cmocka_unit_test(test_answer_at_the_deadline_after_a_stall),
        cmocka_unit_test(test_answer_at_the_expiry_after_a_stall),
        cmocka_unit_test(test_expiry_finds_connection_closed),
        cmocka_unit_test(test_consecutive_timeouts_reconnect_and_numbers_reset),
        cmocka_unit_test(test_sessionless_timeout_uses_fresh_socket),
        cmocka_unit_test(test_message_numbers_wrap_without_malformed_frames),
        cmocka_unit_test(test_junk_and_bad_crc_are_skipped),
        cmocka_unit_test(test_rtlog_polls_until_status),
        cmocka_unit_test(test_switch_to_kv_rtlog),
        cmocka_unit_test(test_operator_commands_before_polls),
        cmocka_unit_test(test_panel_error_reported),
        cmocka_unit_test(test_stale_flag),
        cmocka_unit_test(test_client_params_batching),
        cmocka_unit_test(test_stop_sends_disconnect),
        cmocka_unit_test(test_request_expiry_while_unreachable),
        cmocka_unit_test(test_reused_number_watch_left_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
