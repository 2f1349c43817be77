/* Unit tests for the C3 session state machine, its connection: handshake and the spec's vectors, password,
 * dialect fallback, backoff, probing (the fake panel: fixture_c3sess; requests: test_c3_session_req.c). */
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
