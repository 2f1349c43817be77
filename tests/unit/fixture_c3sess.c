/* The fake panel of the C3 session tests: a socketpair per connection (the test plays the panel), the fake
 * clock, the frames the session sent as the panel reads them, and replies. */
#include "fixture_c3sess.h"

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

#include "core/xport.h"
#include "drivers/c3/c3_frame.h"

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
struct fx *fx_new_backoff(enum c3_dialect d, const char *password, uint32_t poll_ms, uint32_t backoff_max_ms,
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

struct fx *fx_new(enum c3_dialect d, const char *password, uint32_t poll_ms)
{
    return fx_new_backoff(d, password, poll_ms, 8000, 60000);
}

void fx_free(struct fx *f)
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

void pump(struct fx *f)
{
    for (int i = 0; i < 8; i++)
        loop_run_once(f->loop, 0);
}

/* Read the next frame the session sent on the current connection; false if none is there. */
bool panel_recv(struct fx *f, bool session, struct seen *out)
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

void panel_send_raw(struct fx *f, const void *buf, size_t len)
{
    assert_int_equal(send(f->peer, buf, len, MSG_NOSIGNAL), (ssize_t)len);
    pump(f);
}

void panel_reply(struct fx *f, bool session, uint16_t sid, uint16_t nr, uint8_t code, const void *payload,
                        size_t len)
{
    uint8_t buf[4200];
    struct c3_frame_hdr h = { .address = 1, .command = code, .session = session, .sid = sid, .nr = nr };
    int n = c3_frame_encode(buf, sizeof buf, &h, payload, len);
    assert_true(n > 0);
    panel_send_raw(f, buf, (size_t)n);
}

void panel_error(struct fx *f, bool session, uint16_t sid, uint16_t nr, int err)
{
    uint8_t buf[64];
    int n = c3_frame_encode_error(buf, sizeof buf, 1, session, sid, nr, err);
    assert_true(n > 0);
    panel_send_raw(f, buf, (size_t)n);
}

bool peer_closed(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    return n == 0;
}

void hexeq(const uint8_t *got, size_t len, const char *hex)
{
    char buf[9000];
    size_t i;
    for (i = 0; i < len && 2 * i + 2 < sizeof buf; i++)
        snprintf(buf + 2 * i, 3, "%02x", got[i]);
    buf[2 * i] = '\0';
    assert_string_equal(buf, hex);
}

/* Bring a session-mode session online with session id 0x8AD1. */
void online_session(struct fx *f)
{
    c3_session_start(f->s);
    pump(f);
    struct seen sn;
    assert_true(panel_recv(f, true, &sn));
    assert_int_equal(sn.cmd, C3_CMD_CONNECT_SESSION);
    panel_reply(f, true, 0x8AD1, sn.nr, C3_REPLY_OK, NULL, 0);
    assert_int_equal(c3_session_state(f->s), C3_ST_ONLINE);
}

int g_order;

void req_cb(struct c3_session *s, const struct c3_result *res, void *arg)
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
struct fx *fx_online(uint32_t poll_ms)
{
    struct fx *f = fx_new(C3_DIALECT_AUTO, NULL, poll_ms);
    online_session(f);
    return f;
}

/* A get-params request for q with opts o (NULL: the defaults) submitted, answered into g; the frame the panel
 * received for it in *sn. */
void ask(struct fx *f, const char *q, const struct c3_request_opts *o, struct got *g, struct seen *sn)
{
    assert_true(c3_session_submit(f->s, C3_CMD_GET_PARAM, q, strlen(q), o, req_cb, g) > 0);
    assert_true(panel_recv(f, true, sn));
}
