/* Unit tests for the C3 session state machine, its requests: deadlines, retries and stale replies, message
 * numbers, junk on the line, RT log polling, priorities, panel errors, staleness, batching, expiry (the fake
 * panel: fixture_c3sess). */
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
#include "fixture_c3sess.h"
#include "drivers/c3/c3_client.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_rtlog.h"
#include "drivers/c3/c3_session.h"

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
