#include "drivers/nix1/nix1_xfer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crc.h"
#include "drivers/nix1/nix1_hash.h"
#include "drivers/nix1/nix1_line.h"
#include "drivers/nix1/nix1_rc.h"

enum step { ST_DY, ST_NY, ST_NG, ST_QP, ST_QP_AFTER_NG_TIMEOUT };

struct nix1_xfer {
    nix1_bus_t *bus;
    nix1_addr_t addr;
    char name[13];
    unsigned char *data;
    size_t len, block, npackets, pkt;
    unsigned pkt_resends;
    struct nix1_xfer_opts o;
    enum step step;
    long req;
    bool cancelled;
    nix1_xfer_cb cb;
    void *arg;
    uint64_t start_us;
    struct nix1_xfer_result res;
};

static void on_reply(nix1_bus_t *bus, const struct nix1_result *r, void *arg);

static void finish(struct nix1_xfer *x, int ok, const struct nix1_result *last, const char *step, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));

static void finish(struct nix1_xfer *x, int ok, const struct nix1_result *last, const char *step, const char *fmt,
                   ...)
{
    x->res.ok = ok;
    x->res.status = last ? last->status : NIX1_ST_REPLY;
    x->res.rc = last && last->status == NIX1_ST_REPLY && !ok ? last->rc : 0;
    snprintf(x->res.step, sizeof x->res.step, "%s", ok ? "" : step);
    x->res.elapsed_us = loop_now_us(nix1_bus_loop(x->bus)) - x->start_us;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->res.msg, sizeof x->res.msg, fmt, ap);
    va_end(ap);
    if (!x->cancelled && x->cb)
        x->cb(x->arg, &x->res);
    free(x->data);
    free(x);
}

static bool send(struct nix1_xfer *x, char cmd, char arg, const char *opt, unsigned flags)
{
    struct nix1_request_spec rq = { .addr = x->addr, .cmd = cmd, .arg = arg, .opt = opt, .prio = x->o.prio,
                                    .flags = flags };
    x->req = nix1_bus_submit(x->bus, &rq, on_reply, x);
    return x->req > 0;
}

static void send_dy(struct nix1_xfer *x)
{
    x->step = ST_DY;
    x->pkt = 0;
    x->pkt_resends = 0;
    if (!send(x, 'D', 'y', NULL, 0))
        finish(x, 0, NULL, "Dy", "cannot queue Dy");
}

static void send_packet(struct nix1_xfer *x)
{
    size_t off = x->pkt * x->block;
    size_t n = x->len - off < x->block ? x->len - off : x->block;
    char opt[NIX1_LINE_MAX];
    if (nix1_packet_encode(opt, sizeof opt, (uint32_t)x->npackets, x->data + off, n) < 0) {
        finish(x, 0, NULL, "Ny", "cannot encode packet %zu", x->pkt + 1);
        return;
    }
    x->step = ST_NY;
    x->res.packets++;
    /* The transfer owns recovery (§5.9): the bus must not resend packets on its own. */
    if (!send(x, 'N', 'y', opt, NIX1_REQF_NO_RETRY))
        finish(x, 0, NULL, "Ny", "cannot queue Ny");
}

static void send_ng(struct nix1_xfer *x)
{
    char opt[32];
    snprintf(opt, sizeof opt, "%s\t%04X", x->name, x->res.crc);
    x->step = ST_NG;
    if (!send(x, 'N', 'g', opt, NIX1_REQF_NO_RETRY))
        finish(x, 0, NULL, "Ng", "cannot queue Ng");
}

static void send_qp(struct nix1_xfer *x, enum step st)
{
    x->step = st;
    if (!send(x, 'Q', 'p', x->name, 0))
        finish(x, 0, NULL, "Qp", "cannot queue Qp");
}

static void restart(struct nix1_xfer *x, const struct nix1_result *r, const char *why)
{
    if (x->res.restarts >= NIX1_XFER_RESTARTS) {
        finish(x, 0, r, x->step == ST_NY ? "Ny" : "Ng", "%s; gave up after %u restarts", why, x->res.restarts);
        return;
    }
    x->res.restarts++;
    send_dy(x);
}

static const char *what(const struct nix1_result *r, char *buf, size_t n)
{
    if (r->status == NIX1_ST_REPLY)
        snprintf(buf, n, "%02X %s", r->rc, nix1_rc_name(r->rc));
    else
        snprintf(buf, n, "%s", r->error ? r->error : nix1_status_str(r->status));
    return buf;
}

static void on_reply(nix1_bus_t *bus, const struct nix1_result *r, void *arg)
{
    struct nix1_xfer *x = arg;
    (void)bus;
    char w[96];
    if (x->cancelled || r->status == NIX1_ST_CANCELLED || r->status == NIX1_ST_IO) {
        finish(x, 0, r, "", "transfer stopped: %s", what(r, w, sizeof w));
        return;
    }
    switch (x->step) {
    case ST_DY:
        if (r->status == NIX1_ST_REPLY && r->rc == NIX1_RC_OK)
            send_packet(x);
        else
            finish(x, 0, r, "Dy", "Dy failed: %s", what(r, w, sizeof w));
        return;
    case ST_NY:
        if (r->status == NIX1_ST_REPLY && r->rc == NIX1_RC_ACK) {
            x->pkt++;
            x->pkt_resends = 0;
            if (x->pkt < x->npackets)
                send_packet(x);
            else
                send_ng(x);
            return;
        }
        if (r->status == NIX1_ST_REPLY &&
            (r->rc == NIX1_RC_ERROR_CRC || r->rc == NIX1_RC_ERROR_RXDATA || r->rc == NIX1_RC_NAK)) {
            if (x->pkt_resends < NIX1_XFER_PACKET_RESENDS) {
                x->pkt_resends++;
                x->res.resends++;
                x->res.packets--;
                send_packet(x);
            } else {
                finish(x, 0, r, "Ny", "packet %zu of %zu refused %u times: %s", x->pkt + 1, x->npackets,
                       x->pkt_resends + 1, what(r, w, sizeof w));
            }
            return;
        }
        if (r->status == NIX1_ST_TIMEOUT) {
            /* The slave may or may not have appended the packet: its state is unknown. */
            restart(x, r, "packet timed out");
            return;
        }
        finish(x, 0, r, "Ny", "packet %zu of %zu: %s", x->pkt + 1, x->npackets, what(r, w, sizeof w));
        return;
    case ST_NG:
        if (r->status == NIX1_ST_REPLY && r->rc == NIX1_RC_OK) {
            if (x->o.verify)
                send_qp(x, ST_QP);
            else
                finish(x, 1, r, "", "%s: %zu bytes in %u packets, CRC %04X", x->name, x->len,
                       x->res.packets, x->res.crc);
            return;
        }
        if (r->status == NIX1_ST_REPLY && (r->rc == NIX1_RC_ERROR_CRC || r->rc == NIX1_RC_ERROR_QUANTITY)) {
            restart(x, r, "commit refused");
            return;
        }
        if (r->status == NIX1_ST_TIMEOUT) {
            /* Ng is not idempotent: ask whether the commit happened before starting over. */
            send_qp(x, ST_QP_AFTER_NG_TIMEOUT);
            return;
        }
        finish(x, 0, r, "Ng", "commit failed: %s", what(r, w, sizeof w));
        return;
    case ST_QP:
    case ST_QP_AFTER_NG_TIMEOUT: {
        uint16_t crc = 0;
        uint64_t size = 0;
        bool match = r->status == NIX1_ST_REPLY && r->rc == NIX1_RC_OK &&
                     nix1_xfer_parse_sum(r->payload, &crc, &size) && crc == x->res.crc && size == x->len;
        if (match) {
            finish(x, 1, r, "", "%s: %zu bytes in %u packets, CRC %04X%s", x->name, x->len, x->res.packets,
                   x->res.crc, x->step == ST_QP ? ", verified" : ", verified after a lost commit reply");
            return;
        }
        if (x->step == ST_QP_AFTER_NG_TIMEOUT && r->status != NIX1_ST_TIMEOUT) {
            restart(x, r, "commit reply lost and file not in place");
            return;
        }
        if (r->status == NIX1_ST_REPLY && r->rc == NIX1_RC_OK)
            finish(x, 0, r, "Qp", "verification failed: slave has CRC %04X size %llu, expected %04X size %zu", crc,
                   (unsigned long long)size, x->res.crc, x->len);
        else
            finish(x, 0, r, "Qp", "verification failed: %s", what(r, w, sizeof w));
        return;
    }
    }
}

struct nix1_xfer *nix1_xfer_upload(nix1_bus_t *bus, const nix1_addr_t *addr, const char *name, const void *data,
                                   size_t len, const struct nix1_xfer_opts *o, nix1_xfer_cb cb, void *arg,
                                   char *err, size_t errlen)
{
    if (nix1_addr_is_broadcast(addr)) {
        snprintf(err, errlen, "files cannot be broadcast (64 ERROR_NOBROADCAST): push per slave");
        return NULL;
    }
    if (!name || !nix1_filename_valid(name, strlen(name)) || strlen(name) > 12) {
        snprintf(err, errlen, "'%s' is not an 8.3 file name", name ? name : "");
        return NULL;
    }
    if (len == 0) {
        snprintf(err, errlen, "empty files cannot be transferred; delete the file (file rm) instead");
        return NULL;
    }
    size_t block = o && o->block ? o->block : NIX1_XFER_BLOCK_MAX;
    if (block > NIX1_XFER_BLOCK_MAX)
        block = NIX1_XFER_BLOCK_MAX;
    size_t npk = (len + block - 1) / block;
    if (npk > 65535) {
        snprintf(err, errlen, "file too large: %zu packets (65535 max)", npk);
        return NULL;
    }
    struct nix1_xfer *x = calloc(1, sizeof *x);
    if (!x || !(x->data = malloc(len))) {
        free(x);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(x->data, data, len);
    x->bus = bus;
    x->addr = *addr;
    for (size_t i = 0; name[i] && i < 12; i++)
        x->name[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
    x->len = len;
    x->block = block;
    x->npackets = npk;
    if (o)
        x->o = *o;
    x->cb = cb;
    x->arg = arg;
    x->start_us = loop_now_us(nix1_bus_loop(bus));
    x->res.crc = crc16_arc(data, len);
    x->res.bytes = len;
    send_dy(x);
    return x;
}

void nix1_xfer_cancel(struct nix1_xfer *x)
{
    if (x)
        x->cancelled = true; /* freed when its pending request completes */
}

bool nix1_xfer_parse_sum(const char *payload, uint16_t *crc, uint64_t *size)
{
    const char *tab = strchr(payload, '\t');
    if (!tab)
        return false;
    uint64_t c = 0;
    if (!nix1_parse_hex(payload, (size_t)(tab - payload), 4, &c))
        return false;
    if (!nix1_parse_uint(tab + 1, strlen(tab + 1), UINT64_MAX, size))
        return false;
    *crc = (uint16_t)c;
    return true;
}

bool nix1_xfer_parse_list_line(const char *line, char name[13], uint64_t *size)
{
    const char *tab = strchr(line, '\t');
    size_t n = tab ? (size_t)(tab - line) : strlen(line);
    if (n == 0 || n > 12 || !nix1_filename_valid(line, n))
        return false;
    memcpy(name, line, n);
    name[n] = 0;
    *size = 0;
    if (tab && !nix1_parse_uint(tab + 1, strlen(tab + 1), UINT64_MAX, size))
        return false;
    return true;
}

char *nix1_xfer_join_lines(const char *const *lines, size_t n, size_t *len)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(lines[i]) + 1;
    char *out = malloc(total + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(lines[i]);
        memcpy(out + k, lines[i], l);
        k += l;
        out[k++] = '\n';
    }
    out[k] = 0;
    *len = k;
    return out;
}
