#include "drivers/c3/c3_xfer.h"

#include <stdlib.h>
#include <string.h>

#include "core/crc.h"
#include "drivers/c3/c3_data.h"
#include "drivers/c3/c3_frame.h"

#define TIMEOUT_RETRIES 2u

enum xstate { X_REQUEST, X_READ, X_FREE, X_PREPARE, X_DATA, X_HASH, X_COMMIT };

struct c3_xfer {
    struct c3_session *s;
    bool put;
    uint8_t cmd;
    uint8_t *req;             /* get: the request payload; put: the data to upload */
    size_t req_len;
    struct c3_xfer_opts o;
    c3_xfer_done_fn done;
    void *arg;
    enum xstate st;
    bool pending, cancelled, first;
    long long req_id;         /* the pending request's id */
    struct c3_bigdata hdr;    /* get: the header being read (valid when have_hdr) */
    bool have_hdr;
    uint8_t *buf;
    size_t off;
    unsigned timeouts;
    struct c3_xfer_stats stats;
};

static void x_free(struct c3_xfer *x)
{
    free(x->req);
    free(x->buf);
    free(x);
}

static void x_finish(struct c3_xfer *x, int err, const uint8_t *data, size_t len)
{
    if (!x->cancelled && x->done)
        x->done(x->arg, err, data, len);
    x_free(x);
}

static void progress(struct c3_xfer *x, size_t done, size_t total)
{
    if (x->o.progress && !x->cancelled)
        x->o.progress(x->o.progress_arg, done, total);
}

static void on_reply(struct c3_session *s, const struct c3_result *res, void *arg);

/* Queue the next request. When the session refuses it the transfer ends here (x is freed) unless this is the
 * very first request, which x_new reports to its caller instead. */
static int submit(struct c3_xfer *x, uint8_t cmd, const void *payload, size_t len, uint8_t retries)
{
    struct c3_request_opts ro = { .prio = x->o.prio, .timeout_ms = x->o.timeout_ms, .retries = retries,
                                  .expire_ms = x->first ? x->o.expire_ms : 0 };
    bool first = x->first;
    x->first = false;
    long long id = c3_session_submit(x->s, cmd, payload, len, &ro, on_reply, x);
    if (id < 0) {
        if (!first)
            x_finish(x, (int)id, NULL, 0);
        return (int)id;
    }
    x->pending = true;
    x->req_id = id;
    return 0;
}

static int send_request(struct c3_xfer *x)
{
    x->timeouts = 0;
    if (x->put) {
        x->st = X_PREPARE;
        uint8_t p[8];
        c3_prepare_request(p, (uint32_t)x->req_len, C3_XFER_PACKAGE);
        x->off = 0;
        return submit(x, C3_CMD_PREPARE_DATA, p, sizeof p, 0);
    }
    x->st = X_REQUEST;
    return submit(x, x->cmd, x->req, x->req_len, TIMEOUT_RETRIES);
}

/* 0, or the session refused the request and the transfer is over (x is freed). */
static int send_read(struct c3_xfer *x)
{
    uint8_t p[4];
    c3_readdata_request(p, (uint32_t)x->off);
    x->st = X_READ;
    return submit(x, C3_CMD_READ_DATA, p, sizeof p, 0);
}

/* The answer so far goes to the chunk hook once the next request is on its way; x must not be touched after
 * (the hook may cancel it, which a pending request keeps alive). */
static void chunk_arrived(struct c3_xfer *x)
{
    if (x->o.chunk && !x->cancelled)
        x->o.chunk(x->o.chunk_arg, x->buf, x->off, x->stats.restarts);
}

static void send_chunk(struct c3_xfer *x)
{
    size_t n = x->req_len - x->off;
    if (n > C3_XFER_PUT_CHUNK)
        n = C3_XFER_PUT_CHUNK;
    uint8_t p[4 + C3_XFER_PUT_CHUNK];
    c3_put_le32(p, (uint32_t)x->off);
    memcpy(p + 4, x->req + x->off, n);
    x->st = X_DATA;
    submit(x, C3_CMD_DATA, p, 4 + n, 0);
}

/* Something broke the transfer (a cut, a lost panel buffer, a bad checksum): ask again from the top. */
static void restart(struct c3_xfer *x, int why)
{
    unsigned max = x->o.max_restarts ? x->o.max_restarts : 5u;
    if (x->stats.restarts + x->stats.resumes >= max) {
        x_finish(x, why, NULL, 0);
        return;
    }
    if (why == C3_E_CRC || x->put) {
        x->have_hdr = false; /* the data itself is suspect: start from byte 0 */
        x->off = 0;
    }
    x->stats.restarts++;
    (void)send_request(x);
}

static bool link_lost(int err) { return err == C3_S_DISCONNECTED || err == C3_S_TIMEOUT; }

/* A failed step: after a cut, or when the panel lost its buffer (another client, a restart: -11), the transfer
 * starts again; any other failure ends it. True when err was a failure (then x may be gone). */
static bool step_failed(struct c3_xfer *x, int err)
{
    if (!err)
        return false;
    if (link_lost(err) || err == -11)
        restart(x, err);
    else
        x_finish(x, err, NULL, 0);
    return true;
}

static void got_header(struct c3_xfer *x, const struct c3_result *res)
{
    struct c3_bigdata h;
    int rc = c3_bigdata_parse(res->data, res->len, &h);
    if (rc < 0) {
        x_finish(x, rc, NULL, 0);
        return;
    }
    if (h.compressed || h.transfer_len != h.original_len) {
        x_finish(x, C3_E_BIGDATA, NULL, 0); /* no panel is known to compress; the method is not documented */
        return;
    }
    if (h.transfer_len > C3_XFER_MAX || h.chunk_max == 0) {
        x_finish(x, C3_E_TOOLONG, NULL, 0);
        return;
    }
    bool same = x->have_hdr && x->hdr.transfer_len == h.transfer_len && x->hdr.crc32 == h.crc32;
    if (same && x->off > 0) {
        /* The panel rebuilt the same answer: carry on from where the cut happened. */
        x->stats.restarts--; /* counted as a resume instead */
        x->stats.resumes++;
    } else {
        free(x->buf);
        x->buf = malloc(h.transfer_len ? h.transfer_len : 1);
        if (!x->buf) {
            x_finish(x, C3_S_NOMEM, NULL, 0);
            return;
        }
        x->off = 0;
    }
    x->hdr = h;
    x->have_hdr = true;
    progress(x, x->off, h.transfer_len);
    if (x->off >= h.transfer_len) {
        x->st = X_FREE;
        submit(x, C3_CMD_FREE_DATA, NULL, 0, 0);
        return;
    }
    (void)send_read(x);
}

static void got_chunk(struct c3_xfer *x, const struct c3_result *res)
{
    uint32_t off;
    const uint8_t *chunk;
    size_t n;
    if (c3_readdata_reply(res->data, res->len, &off, &chunk, &n) < 0 || off != x->off || n == 0 ||
        n > x->hdr.transfer_len - x->off) {
        restart(x, C3_E_BIGDATA);
        return;
    }
    memcpy(x->buf + x->off, chunk, n);
    x->off += n;
    x->stats.chunks++;
    x->stats.bytes += n;
    x->timeouts = 0;
    progress(x, x->off, x->hdr.transfer_len);
    if (x->off < x->hdr.transfer_len) {
        if (send_read(x) == 0)
            chunk_arrived(x);
        return;
    }
    if (crc32_ieee(x->buf, x->off) != x->hdr.crc32) {
        restart(x, C3_E_CRC);
        return;
    }
    x->st = X_FREE;
    if (submit(x, C3_CMD_FREE_DATA, NULL, 0, 0) == 0)
        chunk_arrived(x);
}

static void on_reply(struct c3_session *s, const struct c3_result *res, void *arg)
{
    (void)s;
    struct c3_xfer *x = arg;
    x->pending = false;
    if (x->cancelled) {
        x_free(x);
        return;
    }
    int err = res->err;
    switch (x->st) {
    case X_REQUEST:
        if (err) {
            if (link_lost(err))
                restart(x, err);
            else
                x_finish(x, err, NULL, 0);
            return;
        }
        if (res->code == C3_REPLY_PREPARE) {
            got_header(x, res);
            return;
        }
        progress(x, res->len, res->len);
        x->stats.bytes += res->len;
        x_finish(x, 0, res->data, res->len);
        return;
    case X_READ:
        if (err == C3_S_TIMEOUT && ++x->timeouts <= TIMEOUT_RETRIES) {
            (void)send_read(x); /* READ_DATA is idempotent */
            return;
        }
        if (step_failed(x, err))
            return;
        got_chunk(x, res);
        return;
    case X_FREE: {
        /* The data is complete and checked; FREE_DATA only releases the panel's buffer. */
        uint8_t *buf = x->buf;
        size_t len = x->off;
        x->buf = NULL;
        if (!x->cancelled && x->done)
            x->done(x->arg, 0, buf, len);
        free(buf);
        x_free(x);
        return;
    }
    case X_PREPARE:
    case X_DATA:
        if (step_failed(x, err))
            return;
        if (x->st == X_DATA) {
            size_t n = x->req_len - x->off < C3_XFER_PUT_CHUNK ? x->req_len - x->off : C3_XFER_PUT_CHUNK;
            x->off += n;
            x->stats.chunks++;
            x->stats.bytes += n;
        }
        progress(x, x->off, x->req_len);
        if (x->off < x->req_len) {
            send_chunk(x);
            return;
        }
        x->st = X_HASH;
        uint8_t c = x->cmd;
        submit(x, C3_CMD_HASH_DATA, &c, 1, 0);
        return;
    case X_HASH: {
        uint32_t crc;
        if (err || c3_count_parse(res->data, res->len, &crc) < 0) {
            if (!err || link_lost(err))
                restart(x, err ? err : C3_E_SHORT);
            else
                x_finish(x, err, NULL, 0);
            return;
        }
        if (crc != crc32_ieee(x->req, x->req_len)) {
            restart(x, C3_E_CRC);
            return;
        }
        x->st = X_COMMIT;
        submit(x, C3_CMD_FREE_DATA, NULL, 0, 0);
        return;
    }
    case X_COMMIT:
        /* Unanswered commit: the rows may or may not be in; writes are upserts, so sending again is safe. */
        if (link_lost(err)) {
            restart(x, err);
            return;
        }
        x_finish(x, err, NULL, 0);
        return;
    }
}

static struct c3_xfer *x_new(struct c3_session *s, bool put, uint8_t cmd, const void *p, size_t len,
                             const struct c3_xfer_opts *o, c3_xfer_done_fn done, void *arg, int *err)
{
    if (put ? len == 0 || len > (4u << 20) : len > C3_DATA_MAX_ABS - C3_SESSION_LEN) {
        *err = C3_S_INVALID;
        return NULL;
    }
    struct c3_xfer *x = calloc(1, sizeof *x);
    if (!x || (len && !(x->req = malloc(len)))) {
        free(x);
        *err = C3_S_NOMEM;
        return NULL;
    }
    if (len)
        memcpy(x->req, p, len);
    x->s = s;
    x->put = put;
    x->cmd = cmd;
    x->req_len = len;
    if (o)
        x->o = *o;
    x->done = done;
    x->arg = arg;
    x->first = true;
    int rc = send_request(x);
    if (rc < 0) {
        x_free(x);
        *err = rc;
        return NULL;
    }
    *err = 0;
    return x;
}

struct c3_xfer *c3_xfer_get(struct c3_session *s, uint8_t cmd, const void *payload, size_t len,
                            const struct c3_xfer_opts *o, c3_xfer_done_fn done, void *arg, int *err)
{
    return x_new(s, false, cmd, payload, len, o, done, arg, err);
}

struct c3_xfer *c3_xfer_put(struct c3_session *s, uint8_t cmd, const void *data, size_t len,
                            const struct c3_xfer_opts *o, c3_xfer_done_fn done, void *arg, int *err)
{
    return x_new(s, true, cmd, data, len, o, done, arg, err);
}

struct c3_xfer *c3_xfer_write(struct c3_session *s, uint8_t cmd, const void *body, size_t len,
                              const struct c3_xfer_opts *o, c3_xfer_done_fn done, void *arg, int *err)
{
    return x_new(s, len > C3_XFER_INLINE_MAX, cmd, body, len, o, done, arg, err);
}

void c3_xfer_cancel(struct c3_xfer *x)
{
    if (!x)
        return;
    x->cancelled = true;
    /* a request still queued is taken back (a cancelled write never goes out later); one on the wire is
     * awaited and its answer dropped */
    if (!x->pending || c3_session_withdraw(x->s, x->req_id))
        x_free(x);
}

void c3_xfer_destroy(struct c3_xfer *x)
{
    if (x)
        x_free(x);
}

const struct c3_xfer_stats *c3_xfer_stats(const struct c3_xfer *x) { return &x->stats; }
