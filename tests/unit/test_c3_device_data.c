/* Unit tests for the C3 adapter's panel-data requests (c3_device_data) on a fake transport (socketpair; the test
 * plays the panel) and the fake clock: a request whose link goes down gives up after the link-wait bound, what it
 * still had queued is never sent later, and a link back in time lets it go on with nothing sent twice. */
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

#include "core/device.h"
#include "core/loop.h"
#include "core/xport.h"
#include "drivers/c3/c3_device_data.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_scan.h"
#include "drivers/c3/c3_session.h"
#include "fixture_c3frame.h"

struct fx {
    loop_t *loop;
    struct c3_session *s;
    struct c3d_data *data;
    int peer, old_peer;
    int refuse;
    struct fx_c3_rx rx; /* the panel's end: what it has read */
    /* the request's answer */
    int results, dones;
    enum device_result result;
    char summary[256];
    char lines[8][256];
    int nlines;
};

static int fake_open(void *arg, struct xport *x, char *err, size_t errlen)
{
    struct fx *f = arg;
    if (f->refuse) {
        snprintf(err, errlen, "connection refused");
        return -ECONNREFUSED;
    }
    int peer = fx_c3_pair(x, "fake panel");
    if (peer < 0)
        return peer;
    if (f->peer >= 0)
        close(f->peer);
    f->peer = peer;
    f->rx.len = 0;
    return 0;
}

/* What the adapter does with the session's state changes (c3_device.c). */
static void on_state(struct c3_session *s, enum c3_state st, int err, void *arg)
{
    (void)s;
    (void)err;
    struct fx *f = arg;
    c3d_data_link(&f->data, st == C3_ST_ONLINE);
}

static void on_step(void *ctx, unsigned done, unsigned total, const char *line)
{
    (void)done;
    (void)total;
    struct fx *f = ctx;
    if (line && f->nlines < 8)
        snprintf(f->lines[f->nlines++], sizeof f->lines[0], "%s", line);
}

static void on_result(void *ctx, size_t output, enum device_result r, const char *msg)
{
    struct fx *f = ctx;
    assert_true(output == SIZE_MAX);
    f->results++;
    f->result = r;
    snprintf(f->summary, sizeof f->summary, "%s", msg ? msg : "");
}

static void on_done(void *ctx) { ((struct fx *)ctx)->dones++; }

static void pump(struct fx *f)
{
    for (int i = 0; i < 8; i++)
        loop_run_once(f->loop, 0);
}

/* The next frame the session sent on the current connection: its command and message number; false if none. */
static bool panel_recv(struct fx *f, uint8_t *cmd, uint16_t *nr)
{
    pump(f);
    uint8_t raw[8192];
    struct c3_frame fr;
    if (!fx_c3_next_frame(f->peer, &f->rx, raw, sizeof raw, &fr))
        return false;
    uint16_t sid;
    const uint8_t *p;
    size_t pl;
    *cmd = fr.command;
    assert_int_equal(c3_frame_session(&fr, &sid, nr, &p, &pl), 0);
    return true;
}

static void panel_send(struct fx *f, const uint8_t *buf, int n)
{
    assert_true(n > 0);
    assert_int_equal(send(f->peer, buf, (size_t)n, MSG_NOSIGNAL), n);
    pump(f);
}

/* The panel takes the connection (session id 0x8AD1). */
static void panel_accept(struct fx *f)
{
    uint8_t cmd;
    uint16_t nr;
    assert_true(panel_recv(f, &cmd, &nr));
    assert_int_equal(cmd, C3_CMD_CONNECT_SESSION);
    uint8_t buf[64];
    struct c3_frame_hdr h = { .address = 1, .command = C3_REPLY_OK, .session = true, .sid = 0x8AD1, .nr = nr };
    panel_send(f, buf, c3_frame_encode(buf, sizeof buf, &h, NULL, 0));
    assert_int_equal(c3_session_state(f->s), C3_ST_ONLINE);
}

static struct fx *fx_new(void)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->peer = f->old_peer = -1;
    f->loop = loop_new_fake(1000000);
    struct c3_session_config cfg = {
        .open = fake_open, .open_arg = f, .dialect = C3_DIALECT_SESSION, .request_timeout_ms = 1000,
        .connect_timeout_ms = 1000, .backoff_min_ms = 500, .backoff_max_ms = 2000, .probe_ms = 60000,
        .seed = 12345,
    };
    struct c3_session_callbacks cbs = { .state = on_state, .arg = f };
    f->s = c3_session_new(f->loop, &cfg, &cbs);
    assert_non_null(f->s);
    c3_session_start(f->s);
    pump(f);
    panel_accept(f);
    return f;
}

static void fx_free(struct fx *f)
{
    c3d_data_destroy_all(&f->data, "stopped");
    c3_session_free(f->s);
    loop_free(f->loop);
    if (f->peer >= 0)
        close(f->peer);
    free(f);
}

/* "users list" started while online: the table structure is asked for at once. */
static void start_list(struct fx *f)
{
    struct device_cmd cmd = { .op = DEVICE_PANEL_DATA, .request = "users list", .step = on_step, .step_ctx = f,
                              .result = on_result, .done = on_done, .ctx = f };
    struct c3d_link lk = { .loop = f->loop, .wait_ms = 15000 };
    char err[128];
    assert_int_equal(c3d_data_start(&f->data, &lk, f->s, &cmd, err, sizeof err), 0);
    uint8_t c;
    uint16_t nr;
    assert_true(panel_recv(f, &c, &nr));
    assert_int_equal(c, C3_CMD_TABLE_STRUCT);
}

/* The panel goes away with the request on the wire; reconnects are refused. */
static void panel_gone(struct fx *f)
{
    f->refuse = 1;
    close(f->peer);
    f->peer = -1;
    pump(f);
    assert_int_not_equal(c3_session_state(f->s), C3_ST_ONLINE);
}

/* Advance the fake clock by ms in 100 ms steps, with the loop's fds served in between. */
static void advance(struct fx *f, unsigned ms)
{
    for (unsigned t = 0; t < ms; t += 100) {
        loop_advance(f->loop, 100000);
        pump(f);
    }
}

/* The panel accepts connections again: the session's next attempt (within 10 s) is taken (panel_accept). */
static void panel_back(struct fx *f)
{
    f->refuse = 0;
    for (int i = 0; i < 100 && f->peer < 0; i++)
        advance(f, 100);
    panel_accept(f);
}

static void test_gives_up_after_the_bound_and_sends_nothing_later(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    start_list(f);
    panel_gone(f);
    advance(f, 14800);
    assert_int_equal(f->results, 0); /* still waiting within the bound */
    advance(f, 400);
    assert_int_equal(f->results, 1);
    assert_int_equal(f->dones, 1);
    assert_int_equal(f->result, DEVICE_RESULT_OFFLINE);
    assert_non_null(strstr(f->summary, "panel not connected for 15 s"));
    assert_non_null(strstr(f->summary, "(code -2004)"));
    assert_int_equal(f->nlines, 1);
    assert_non_null(strstr(f->lines[0], "panel not connected for 15 s"));
    assert_null(f->data);
    /* the panel is back: the request given up is not sent (only the handshake goes out) */
    panel_back(f);
    advance(f, 3000);
    uint8_t c;
    uint16_t nr;
    assert_false(panel_recv(f, &c, &nr));
    assert_int_equal(f->results, 1);
    fx_free(f);
}

static void test_link_back_in_time_goes_on_without_duplicates(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    start_list(f);
    panel_gone(f);
    advance(f, 12000);
    panel_back(f);
    /* the table structure once more (the first one went with the connection), and only once */
    uint8_t c;
    uint16_t nr;
    assert_true(panel_recv(f, &c, &nr));
    assert_int_equal(c, C3_CMD_TABLE_STRUCT);
    assert_false(panel_recv(f, &c, &nr));
    /* on the wire past the bound: the session's deadline rules, not the link wait (the panel refuses it) */
    advance(f, 900);
    assert_int_equal(f->results, 0);
    uint8_t buf[64];
    panel_send(f, buf, c3_frame_encode_error(buf, sizeof buf, 1, true, 0x8AD1, nr, -13));
    assert_int_equal(f->results, 1);
    assert_int_equal(f->result, DEVICE_RESULT_FAILED);
    assert_non_null(strstr(f->summary, "(code -13)"));
    advance(f, 10000);
    assert_int_equal(f->results, 1);
    fx_free(f);
}

static void test_every_drop_starts_a_new_bound(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    start_list(f);
    panel_gone(f);
    advance(f, 10000);
    panel_back(f);
    uint8_t c;
    uint16_t nr;
    assert_true(panel_recv(f, &c, &nr));
    panel_gone(f);
    advance(f, 10000); /* 20 s down in all, 10 s of them since the last drop */
    assert_int_equal(f->results, 0);
    advance(f, 5200);
    assert_int_equal(f->results, 1);
    assert_int_equal(f->result, DEVICE_RESULT_OFFLINE);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gives_up_after_the_bound_and_sends_nothing_later),
        cmocka_unit_test(test_link_back_in_time_goes_on_without_duplicates),
        cmocka_unit_test(test_every_drop_starts_a_new_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
