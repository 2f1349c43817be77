#include "drivers/nix1/nix1_prov.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crc.h"
#include "core/durable.h"
#include "core/grow.h"
#include "core/textline.h"
#include "drivers/nix1/nix1_files.h"
#include "drivers/nix1/nix1_hash.h"
#include "drivers/nix1/nix1_line.h"
#include "drivers/nix1/nix1_rc.h"
#include "drivers/nix1/nix1_xfer.h"

/* Qi extensions that can hold managed files: TXT (KEYS.TXT) and the uid letters of USERS.<C> / <unit>U.<C>. */
static const char EXTS[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

enum akind {
    A_QU1, A_QU2, A_GEN, A_QI, A_COMPARE, A_CHECK, A_FETCH, A_CMD, A_PUSH, A_DEL, A_VERIFY_SET, A_VERIFY_SUM,
    A_SLAVE_DONE,
    A_BCAST, A_QK,
};

struct action {
    enum akind k;
    char cmd, arg;
    char opt[NIX1_LINE_MAX];
    char file[13];
    bool fallback; /* A_VERIFY_SET already after a fallback push: do not push again */
    bool has_to;   /* rotation: unicast to `to` (Qk checks and their repairs) */
    nix1_addr_t to;
};

struct remote_file {
    char name[13];
    uint64_t size;
};

struct nix1_prov {
    nix1_bus_t *bus;
    struct nix1_prov_opts o;
    nix1_prov_cb cb;
    void *arg;
    bool rotation;
    char dir[512];
    /* server data */
    struct nix1_keys keys;
    struct nix1_users users;
    struct nix1_rights rights;
    /* slaves */
    nix1_addr_t *slaves;
    size_t n, si;
    /* current slave */
    uint32_t units[2];
    size_t nunits;
    struct nix1_genset gen;
    bool have_gen;
    struct remote_file *rf;
    size_t nrf, caprf;
    bool changed, failed, unreachable;
    /* action queue for the current slave (or the rotation) */
    struct action *q;
    size_t nq, capq, pos;
    /* rotation */
    char new_key[NIX1_KEY_MAX + 1];
    uint64_t new_ts;
    uint64_t *pruned; /* key timestamps pruned by broadcast Dk: repeated by unicast to a slave that missed them */
    size_t npruned;
    struct nix1_xfer *xfer;
    bool freed_pending;
    uint64_t start_us;
    struct nix1_prov_report rep;
};

static void step(struct nix1_prov *p);

static void logf_(struct nix1_prov *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct nix1_prov *p, const char *fmt, ...)
{
    if (!p->o.log)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    p->o.log(p->o.log_arg, buf);
}

static const char *cur_addr(struct nix1_prov *p, char buf[NIX1_ADDR_LEN + 1])
{
    return p->si < p->n ? nix1_addr_format(&p->slaves[p->si], buf) : NIX1_ADDR_BROADCAST_STR;
}

static void qpush_at(struct nix1_prov *p, size_t at, enum akind k, char cmd, char arg, const char *opt, const char *file)
{
    struct action *nq = grow_array(p->q, p->nq, &p->capq, sizeof *nq, 64);
    if (!nq)
        return;
    p->q = nq;
    memmove(&p->q[at + 1], &p->q[at], (p->nq - at) * sizeof *p->q);
    struct action *a = &p->q[at];
    memset(a, 0, sizeof *a);
    a->k = k;
    a->cmd = cmd;
    a->arg = arg;
    snprintf(a->opt, sizeof a->opt, "%s", opt ? opt : "");
    snprintf(a->file, sizeof a->file, "%s", file ? file : "");
    p->nq++;
}

static void qpush(struct nix1_prov *p, enum akind k, char cmd, char arg, const char *opt, const char *file)
{
    qpush_at(p, p->nq, k, cmd, arg, opt, file);
}

/* ---- costs ---- */

size_t nix1_prov_record_cost(size_t opt_len)
{
    /* request: ADDR + cmd + arg + opt + LF; reply: ADDR + rc + cmd + arg + LF; plus the 5 ms idle gap
     * (≈ 5 chars at 9600) */
    return (NIX1_ADDR_LEN + 2 + opt_len + 1) + (NIX1_ADDR_LEN + 4 + 1) + 5;
}

size_t nix1_prov_file_cost(const char *name, size_t len)
{
    size_t n = (len + NIX1_XFER_BLOCK_MAX - 1) / NIX1_XFER_BLOCK_MAX;
    size_t cost = nix1_prov_record_cost(0);                      /* Dy */
    cost += n * nix1_prov_record_cost(5 + 1 + 3 + 1 + 4 + 1) + 2 * len + n * 8; /* Ny headers, hex, 06 reply */
    cost += nix1_prov_record_cost(strlen(name) + 5);             /* Ng */
    cost += nix1_prov_record_cost(strlen(name)) + 10;            /* Qp verify */
    return cost;
}

/* ---- records ---- */

enum ftype { F_KEYS, F_USERS, F_RIGHTS, F_OTHER };

static enum ftype file_type(const char *name, uint32_t *unit)
{
    if (strcasecmp(name, "KEYS.TXT") == 0)
        return F_KEYS;
    if (strncasecmp(name, "USERS.", 6) == 0)
        return F_USERS;
    const char *u = strchr(name, 'U');
    if (!u)
        u = strchr(name, 'u');
    if (u && u > name && u[1] == '.') {
        uint64_t v = 0;
        if (nix1_parse_uint(name, (size_t)(u - name), 65534, &v)) {
            *unit = (uint32_t)v;
            return F_RIGHTS;
        }
    }
    return F_OTHER;
}

struct rec {
    char key[NIX1_UID_MAX + 24];
    char val[CRON_TEXT_MAX + 24];
    uint64_t ts;
    unsigned inc;
};

/* Split a file into records: KEYS "ts\tkey" (key = whole line), USERS "uid\tts\tinc", rights "uid\tcron". */
static size_t parse_recs(enum ftype t, const char *data, size_t len, struct rec **out)
{
    size_t cap = 16, n = 0;
    struct rec *v = malloc(cap * sizeof *v);
    size_t pos = 0;
    const char *ln;
    size_t l;
    while (v && textline_next(data, len, &pos, &ln, &l)) {
        if (l && ln[l - 1] == '\r')
            l--;
        if (l == 0)
            continue;
        struct nix1_span f[4];
        size_t nf = nix1_fields_split(ln, l, f, 3);
        struct rec *nv = grow_array(v, n, &cap, sizeof *v, 16);
        if (!nv)
            break;
        v = nv;
        struct rec *r = &v[n];
        memset(r, 0, sizeof *r);
        if (t == F_KEYS) {
            snprintf(r->key, sizeof r->key, "%.*s", (int)l, ln);
        } else if (t == F_USERS && nf == 3) {
            snprintf(r->key, sizeof r->key, "%.*s", (int)f[0].len, f[0].p);
            uint64_t ts = 0, inc = 0;
            nix1_parse_uint(f[1].p, f[1].len, 9999999999ull, &ts);
            nix1_parse_uint(f[2].p, f[2].len, 99, &inc);
            r->ts = ts;
            r->inc = (unsigned)inc;
            snprintf(r->val, sizeof r->val, "%.*s\t%.*s", (int)f[1].len, f[1].p, (int)f[2].len, f[2].p);
        } else if (t == F_RIGHTS && nf == 2) {
            snprintf(r->key, sizeof r->key, "%.*s", (int)f[0].len, f[0].p);
            snprintf(r->val, sizeof r->val, "%.*s", (int)f[1].len, f[1].p);
        } else {
            continue; /* a line we cannot read: the record diff will re-add what is wanted */
        }
        n++;
    }
    *out = v;
    return v ? n : 0;
}

static const struct rec *find_rec(const struct rec *v, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].key, key) == 0)
            return &v[i];
    return NULL;
}

/* The record commands that turn `have` into `want`. Returns the number of commands (appended to *cmds as
 * "Cx<opt>" strings), or -1 when records cannot express the change (KEYS.TXT with an extra entry). */
static long diff_recs(enum ftype t, uint32_t unit, const struct rec *have, size_t nh, const struct rec *want, size_t nw,
                      char ***cmds, size_t *ncmds, size_t *cost)
{
    size_t cap = 0;
    *cmds = NULL;
    *ncmds = 0;
    *cost = 0;
#define ADD(...)                                                                    \
    do {                                                                            \
        char **nc_ = grow_array(*cmds, *ncmds, &cap, sizeof **cmds, 16);            \
        if (!nc_)                                                                   \
            return -1;                                                              \
        *cmds = nc_;                                                                \
        char tmp_[NIX1_LINE_MAX];                                                   \
        snprintf(tmp_, sizeof tmp_, __VA_ARGS__);                                   \
        (*cmds)[(*ncmds)++] = strdup(tmp_);                                         \
        *cost += nix1_prov_record_cost(strlen(tmp_) - 2);                           \
    } while (0)
    if (t == F_KEYS) {
        for (size_t i = 0; i < nh; i++)
            if (!find_rec(want, nw, have[i].key))
                return -1;
        for (size_t i = 0; i < nw; i++)
            if (!find_rec(have, nh, want[i].key))
                ADD("Nk%s", want[i].key);
    } else if (t == F_USERS) {
        for (size_t i = 0; i < nw; i++) {
            const struct rec *h = find_rec(have, nh, want[i].key);
            /* A slave that recorded a later key read for the same credential is ahead of the server:
             * never move its timestamp back (that would re-admit older clones). */
            if (!h || h->inc != want[i].inc || h->ts < want[i].ts)
                ADD("Nx%s\t%s", want[i].key, want[i].val);
        }
        for (size_t i = 0; i < nh; i++)
            if (!find_rec(want, nw, have[i].key))
                ADD("Dx%s", have[i].key);
    } else if (t == F_RIGHTS) {
        for (size_t i = 0; i < nw; i++) {
            const struct rec *h = find_rec(have, nh, want[i].key);
            if (!h || strcmp(h->val, want[i].val) != 0)
                ADD("Nr%s\t%u\t%s", want[i].key, unit, want[i].val);
        }
        for (size_t i = 0; i < nh; i++)
            if (!find_rec(want, nw, have[i].key))
                ADD("Dr%s\t%u", have[i].key, unit);
    } else {
        return -1;
    }
#undef ADD
    return (long)*ncmds;
}

static void free_cmds(char **c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(c[i]);
    free(c);
}

/* ---- per-slave flow ---- */

static void slave_begin(struct nix1_prov *p)
{
    p->nq = p->pos = 0;
    p->nunits = 0;
    p->nrf = 0;
    p->changed = p->failed = p->unreachable = false;
    if (p->have_gen)
        nix1_genset_free(&p->gen);
    p->have_gen = false;
    qpush(p, A_QU1, 'Q', 'u', "1", NULL);
    qpush(p, A_QU2, 'Q', 'u', "2", NULL);
    qpush(p, A_GEN, 0, 0, NULL, NULL);
    qpush(p, A_QI, 'Q', 'i', "TXT", NULL);
    for (const char *e = EXTS; *e; e++) {
        char x[2] = { *e, 0 };
        qpush(p, A_QI, 'Q', 'i', x, NULL);
    }
    qpush(p, A_COMPARE, 0, 0, NULL, NULL);
    qpush(p, A_SLAVE_DONE, 0, 0, NULL, NULL);
}

static void finish(struct nix1_prov *p)
{
    p->rep.elapsed_us = loop_now_us(nix1_bus_loop(p->bus)) - p->start_us;
    struct nix1_prov_report r = p->rep;
    nix1_prov_cb cb = p->cb;
    void *arg = p->arg;
    p->cb = NULL;
    if (cb)
        cb(arg, &r);
}

static const struct remote_file *remote(const struct nix1_prov *p, const char *name)
{
    for (size_t i = 0; i < p->nrf; i++)
        if (strcasecmp(p->rf[i].name, name) == 0)
            return &p->rf[i];
    return NULL;
}

static void plan_file(struct nix1_prov *p, const struct nix1_gen_file *g, const char *have, size_t hlen, bool fallback)
{
    char as[NIX1_ADDR_LEN + 1];
    uint32_t unit = 0;
    enum ftype t = file_type(g->name, &unit);
    struct rec *hv = NULL, *wv = NULL;
    size_t nh = parse_recs(t, have ? have : "", have ? hlen : 0, &hv);
    size_t nw = parse_recs(t, g->data, g->len, &wv);
    char **cmds = NULL;
    size_t ncmds = 0, cost = 0;
    long d = diff_recs(t, unit, hv, nh, wv, nw, &cmds, &ncmds, &cost);
    free(hv);
    free(wv);
    size_t fcost = nix1_prov_file_cost(g->name, g->len);
    if (d == 0) {
        logf_(p, "%s %s: same records (in sync)", cur_addr(p, as), g->name);
        free_cmds(cmds, ncmds);
        return;
    }
    size_t at = p->pos;
    if (d < 0 || cost > fcost || fallback) {
        logf_(p, "%s %s: push whole file (%zu bytes, ~%zu chars on the wire%s)", cur_addr(p, as), g->name, g->len,
              fcost, d > 0 ? " instead of records" : "");
        qpush_at(p, at, A_PUSH, 0, 0, NULL, g->name);
    } else {
        logf_(p, "%s %s: %zu record command%s (~%zu chars; whole file ~%zu)", cur_addr(p, as), g->name, ncmds,
              ncmds == 1 ? "" : "s", cost, fcost);
        for (size_t i = 0; i < ncmds; i++)
            qpush_at(p, at++, A_CMD, cmds[i][0], cmds[i][1], cmds[i] + 2, g->name);
        qpush_at(p, at, A_VERIFY_SET, 'Q', 'g', NULL, g->name);
        snprintf(p->q[at].opt, sizeof p->q[at].opt, "%s\t0", g->name);
    }
    free_cmds(cmds, ncmds);
}

static void compare(struct nix1_prov *p)
{
    char as[NIX1_ADDR_LEN + 1];
    size_t at = p->pos;
    for (size_t i = 0; i < p->gen.n; i++) {
        const struct nix1_gen_file *g = &p->gen.v[i];
        const struct remote_file *r = remote(p, g->name);
        if (r && r->size == g->len) {
            qpush_at(p, at++, A_CHECK, 'Q', 'p', g->name, g->name);
        } else if (r) {
            qpush_at(p, at, A_FETCH, 'Q', 'g', NULL, g->name);
            snprintf(p->q[at].opt, sizeof p->q[at].opt, "%s\t0", g->name);
            at++;
        } else {
            /* absent: decide from an empty file (records) vs upload */
            size_t save = p->pos;
            p->pos = at;
            size_t before = p->nq;
            plan_file(p, g, NULL, 0, false);
            at += p->nq - before;
            p->pos = save;
        }
    }
    for (size_t i = 0; i < p->nrf; i++) {
        if (!nix1_files_is_managed(p->rf[i].name) || nix1_genset_find(&p->gen, p->rf[i].name))
            continue;
        logf_(p, "%s %s: not wanted on this slave: delete", cur_addr(p, as), p->rf[i].name);
        qpush_at(p, at++, A_DEL, 'D', 'g', p->rf[i].name, p->rf[i].name);
    }
}

static void slave_abort(struct nix1_prov *p, const struct nix1_result *r, const struct action *a)
{
    char as[NIX1_ADDR_LEN + 1];
    if (r && r->status != NIX1_ST_REPLY) {
        p->unreachable = true;
        logf_(p, "%s %c%c %s: no answer (%s); slave skipped", cur_addr(p, as), a->cmd, a->arg, a->file,
              r->error ? r->error : nix1_status_str(r->status));
    } else {
        p->failed = true;
        if (r)
            logf_(p, "%s %c%c %s: %02X %s (%s)", cur_addr(p, as), a->cmd, a->arg, a->file, r->rc, nix1_rc_name(r->rc),
                  nix1_rc_meaning(r->rc));
    }
    /* skip to this slave's end */
    while (p->pos < p->nq && p->q[p->pos].k != A_SLAVE_DONE)
        p->pos++;
}

static void on_xfer(void *arg, const struct nix1_xfer_result *r)
{
    struct nix1_prov *p = arg;
    p->xfer = NULL;
    char as[NIX1_ADDR_LEN + 1];
    const struct action *a = &p->q[p->pos - 1];
    if (r->ok) {
        p->rep.files_pushed++;
        p->changed = true;
        logf_(p, "%s %s", cur_addr(p, as), r->msg);
    } else {
        struct nix1_result fake = { .status = r->status, .rc = r->rc, .error = r->msg };
        if (r->status == NIX1_ST_REPLY && !r->rc)
            fake.rc = NIX1_RC_ERROR_INT;
        slave_abort(p, &fake, a);
    }
    step(p);
}

static void on_reply(nix1_bus_t *bus, const struct nix1_result *r, void *arg)
{
    struct nix1_prov *p = arg;
    (void)bus;
    struct action a = p->q[p->pos - 1];
    char as[NIX1_ADDR_LEN + 1];
    bool ok = r->status == NIX1_ST_REPLY && (r->rc == NIX1_RC_OK || r->rc == NIX1_RC_EOT);
    if (r->status == NIX1_ST_CANCELLED || r->status == NIX1_ST_IO) {
        p->rep.unreachable += p->n - p->si;
        p->si = p->n;
        p->nq = p->pos = 0;
        finish(p);
        return;
    }
    switch (a.k) {
    case A_QU1:
    case A_QU2: {
        uint64_t u = 0;
        if (ok && nix1_parse_uint(r->payload, r->payload_len, 65534, &u))
            p->units[p->nunits++] = (uint32_t)u;
        else if (!(r->status == NIX1_ST_REPLY && r->rc == NIX1_RC_ERROR_UNIT))
            slave_abort(p, r, &a);
        break;
    }
    case A_QI:
        if (!ok) {
            slave_abort(p, r, &a);
            break;
        }
        for (size_t i = 0; i < r->nlines; i++) {
            struct remote_file f;
            if (!nix1_xfer_parse_list_line(r->lines[i], f.name, &f.size))
                continue;
            struct remote_file *nv = grow_array(p->rf, p->nrf, &p->caprf, sizeof *nv, 32);
            if (!nv)
                break;
            p->rf = nv;
            p->rf[p->nrf++] = f;
        }
        break;
    case A_CHECK: {
        const struct nix1_gen_file *g = nix1_genset_find(&p->gen, a.file);
        uint16_t crc = 0;
        uint64_t size = 0;
        if (!ok || !nix1_xfer_parse_sum(r->payload, &crc, &size)) {
            slave_abort(p, r, &a);
            break;
        }
        if (g && crc == crc16_arc(g->data, g->len) && size == g->len) {
            logf_(p, "%s %s: up to date (CRC %04X)", cur_addr(p, as), a.file, crc);
        } else {
            qpush_at(p, p->pos, A_FETCH, 'Q', 'g', NULL, a.file);
            snprintf(p->q[p->pos].opt, sizeof p->q[p->pos].opt, "%s\t0", a.file);
        }
        break;
    }
    case A_FETCH:
    case A_VERIFY_SET: {
        const struct nix1_gen_file *g = nix1_genset_find(&p->gen, a.file);
        if (!ok || !g) {
            slave_abort(p, r, &a);
            break;
        }
        size_t len = 0;
        char *text = nix1_xfer_join_lines(r->lines, r->nlines, &len);
        if (a.k == A_FETCH) {
            plan_file(p, g, text, len, false);
        } else {
            size_t before = p->nq;
            plan_file(p, g, text, len, true);
            if (p->nq != before)
                logf_(p, "%s %s: records did not converge; pushed as a file", cur_addr(p, as), a.file);
            else
                logf_(p, "%s %s: verified", cur_addr(p, as), a.file);
        }
        free(text);
        break;
    }
    case A_CMD:
        if (p->rotation) {
            /* a repair of one slave after its Qk check: Dk of a key it no longer has is done */
            if (ok || (a.cmd == 'D' && r->status == NIX1_ST_REPLY && r->rc == NIX1_RC_ERROR_NOT_FOUND)) {
                p->rep.commands++;
                break;
            }
            if (r->status == NIX1_ST_REPLY) {
                p->rep.failed++;
                logf_(p, "%s %c%c: %02X %s (%s)", nix1_addr_format(&a.to, as), a.cmd, a.arg, r->rc,
                      nix1_rc_name(r->rc), nix1_rc_meaning(r->rc));
            } else {
                p->rep.unreachable++;
                logf_(p, "%s %c%c: no answer", nix1_addr_format(&a.to, as), a.cmd, a.arg);
            }
            /* skip the rest of this slave's repair (the other slaves are still checked) */
            while (p->pos < p->nq && p->q[p->pos].has_to && nix1_addr_equal(&p->q[p->pos].to, &a.to))
                p->pos++;
            break;
        }
        if (!ok) {
            slave_abort(p, r, &a);
            break;
        }
        p->rep.commands++;
        p->rep.records++;
        p->changed = true;
        break;
    case A_DEL:
        if (!ok && !(r->status == NIX1_ST_REPLY && r->rc == NIX1_RC_ERROR_NOT_FOUND)) {
            slave_abort(p, r, &a);
            break;
        }
        p->rep.deleted++;
        p->changed = true;
        break;
    case A_BCAST:
        if (r->status == NIX1_ST_SENT && a.cmd == 'D')
            p->rep.deleted++;
        break;
    case A_QK: {
        char want[NIX1_KEY_MAX + 32];
        snprintf(want, sizeof want, "%llu\t%s", (unsigned long long)p->new_ts, p->new_key);
        if (ok && strcmp(r->payload, want) == 0) {
            p->rep.verified++;
        } else if (r->status == NIX1_ST_REPLY) {
            if (a.fallback) {
                p->rep.failed++;
                logf_(p, "%s: new key not in place", nix1_addr_format(&a.to, as));
            } else {
                /* It missed the broadcasts: re-send the new key and the prunes by unicast, then check again. */
                char opt[NIX1_KEY_MAX + 32];
                snprintf(opt, sizeof opt, "%llu\t%s", (unsigned long long)p->new_ts, p->new_key);
                size_t at = p->pos;
                qpush_at(p, at, A_CMD, 'N', 'k', opt, NULL);
                for (size_t i = 0; i < p->npruned; i++) {
                    char o2[24];
                    snprintf(o2, sizeof o2, "%llu", (unsigned long long)p->pruned[i]);
                    qpush_at(p, ++at, A_CMD, 'D', 'k', o2, NULL);
                }
                qpush_at(p, ++at, A_QK, 'Q', 'k', NULL, NULL);
                p->q[at].fallback = true;
                for (size_t i = p->pos; i <= at && i < p->nq; i++) {
                    p->q[i].has_to = true;
                    p->q[i].to = a.to;
                }
                logf_(p, "%s: new key missing: sent by unicast", nix1_addr_format(&a.to, as));
            }
        } else {
            p->rep.unreachable++;
        }
        break;
    }
    default:
        break;
    }
    step(p);
}

static void step(struct nix1_prov *p)
{
    char as[NIX1_ADDR_LEN + 1];
    while (p->pos < p->nq) {
        struct action *a = &p->q[p->pos++];
        switch (a->k) {
        case A_GEN: {
            if (nix1_files_generate(&p->keys, &p->users, &p->rights, p->units, p->nunits, p->o.all_users, &p->gen) < 0) {
                p->failed = true;
                logf_(p, "%s: cannot compute its files", cur_addr(p, as));
                while (p->pos < p->nq && p->q[p->pos].k != A_SLAVE_DONE)
                    p->pos++;
                continue;
            }
            p->have_gen = true;
            if (p->nunits == 0)
                logf_(p, "%s: serves no unit: only KEYS.TXT%s", cur_addr(p, as), p->o.all_users ? " and users" : "");
            continue;
        }
        case A_COMPARE:
            compare(p);
            continue;
        case A_PUSH: {
            const struct nix1_gen_file *g = nix1_genset_find(&p->gen, a->file);
            if (!g)
                continue;
            char err[200];
            struct nix1_xfer_opts o = { .verify = true, .prio = NIX1_PRIO_CONFIG };
            p->xfer = nix1_xfer_upload(p->bus, &p->slaves[p->si], g->name, g->data, g->len, &o, on_xfer, p, err, sizeof err);
            if (!p->xfer) {
                p->failed = true;
                logf_(p, "%s %s: %s", cur_addr(p, as), g->name, err);
                continue;
            }
            return;
        }
        case A_SLAVE_DONE:
            if (p->changed)
                p->rep.changed_slaves++;
            if (p->unreachable)
                p->rep.unreachable++;
            else if (p->failed)
                p->rep.failed++;
            else
                p->rep.verified++;
            logf_(p, "%s: %s", cur_addr(p, as),
                  p->unreachable ? "unreachable" : p->failed ? "FAILED" : p->changed ? "provisioned" : "already in sync");
            p->si++;
            if (p->si < p->n) {
                slave_begin(p);
                continue;
            }
            p->nq = p->pos = 0;
            finish(p);
            return;
        default: {
            struct nix1_request_spec rq = { .cmd = a->cmd, .arg = a->arg, .opt = a->opt, .prio = NIX1_PRIO_CONFIG };
            rq.addr = a->k == A_BCAST ? nix1_addr_broadcast : p->slaves[p->si < p->n ? p->si : 0];
            if (a->has_to)
                rq.addr = a->to;
            long id = nix1_bus_submit(p->bus, &rq, on_reply, p);
            if (id > 0)
                return;
            struct nix1_result fake = { .status = NIX1_ST_REPLY, .rc = (uint8_t)-id };
            if (p->rotation) {
                p->rep.failed++;
                while (a->has_to && p->pos < p->nq && p->q[p->pos].has_to && nix1_addr_equal(&p->q[p->pos].to, &a->to))
                    p->pos++;
            } else {
                slave_abort(p, &fake, a);
            }
            continue;
        }
        }
    }
    if (p->rotation)
        finish(p);
}

/* ---- loading ---- */

/* One server file of dir: 0, or -errno (ENOENT when missing). */
static int load_file(const char *dir, const char *name, char **data, size_t *len)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return durable_read(path, NIX1_PROV_FILE_MAX, data, len) == 0 ? 0 : -errno;
}

int nix1_prov_read_server(const char *dir, bool optional, struct nix1_keys *keys, struct nix1_users *users,
                          struct nix1_rights *rights, struct nix1_diag *d, char *err, size_t errlen)
{
    static const char *const names[] = { "keys.txt", "users.txt", "cron.txt" };
    for (int i = 0; i < 3; i++) {
        char *data = NULL;
        size_t len = 0;
        int e = load_file(dir, names[i], &data, &len);
        if (e < 0) {
            if (e == -ENOENT && optional && i > 0)
                continue; /* no users / no rights: valid, slaves get none */
            snprintf(err, errlen, "%s/%s: %s", dir, names[i], strerror(-e));
            errno = -e;
            return -1;
        }
        int rc = i == 0   ? nix1_files_read_keys(names[i], data, len, keys, d)
                 : i == 1 ? nix1_files_read_users(names[i], data, len, users, d)
                          : nix1_files_read_cron(names[i], data, len, rights, d);
        free(data);
        if (rc < 0) {
            snprintf(err, errlen, "out of memory reading %s", names[i]);
            return -2;
        }
    }
    return 0;
}

static int load_server(struct nix1_prov *p, char *err, size_t errlen)
{
    struct nix1_diag d = { 0 };
    if (nix1_prov_read_server(p->dir, true, &p->keys, &p->users, &p->rights, &d, err, errlen) < 0) {
        nix1_diag_free(&d);
        return -1;
    }
    if (d.count && p->o.log) {
        /* bad lines are reported and skipped, never pushed */
        char *s = d.text;
        while (s && *s) {
            char *nl = strchr(s, '\n');
            if (nl)
                *nl = 0;
            p->o.log(p->o.log_arg, s);
            s = nl ? nl + 1 : NULL;
        }
    }
    nix1_diag_free(&d);
    return 0;
}

static struct nix1_prov *prov_new(nix1_bus_t *bus, const char *dir, const nix1_addr_t *slaves, size_t n,
                                  const struct nix1_prov_opts *o, nix1_prov_cb cb, void *arg)
{
    struct nix1_prov *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->bus = bus;
    if (o)
        p->o = *o;
    p->cb = cb;
    p->arg = arg;
    snprintf(p->dir, sizeof p->dir, "%s", dir);
    if (n) {
        p->slaves = malloc(n * sizeof *p->slaves);
        if (!p->slaves) {
            free(p);
            return NULL;
        }
        memcpy(p->slaves, slaves, n * sizeof *slaves);
    }
    p->n = n;
    p->rep.slaves = n;
    p->start_us = loop_now_us(nix1_bus_loop(bus));
    return p;
}

struct nix1_prov *nix1_prov_start(nix1_bus_t *bus, const char *dir, const nix1_addr_t *slaves, size_t n,
                                  const struct nix1_prov_opts *o, nix1_prov_cb cb, void *arg, char *err,
                                  size_t errlen)
{
    if (n == 0) {
        snprintf(err, errlen, "no slaves to provision");
        return NULL;
    }
    struct nix1_prov *p = prov_new(bus, dir, slaves, n, o, cb, arg);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (load_server(p, err, errlen) < 0) {
        nix1_prov_free(p);
        return NULL;
    }
    slave_begin(p);
    step(p);
    return p;
}

struct nix1_prov *nix1_prov_rotate_key(nix1_bus_t *bus, const char *dir, uint64_t now, uint64_t max_age_s,
                                       const nix1_addr_t *slaves, size_t n, const struct nix1_prov_opts *o,
                                       nix1_prov_cb cb, void *arg, char *err, size_t errlen)
{
    struct nix1_prov *p = prov_new(bus, dir, slaves, n, o, cb, arg);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->rotation = true;
    char *data = NULL;
    size_t len = 0;
    int e = load_file(dir, "keys.txt", &data, &len);
    if (e < 0 && e != -ENOENT) {
        snprintf(err, errlen, "%s/keys.txt: %s", dir, strerror(-e));
        nix1_prov_free(p);
        return NULL;
    }
    struct nix1_diag d = { 0 };
    if (data && nix1_files_read_keys("keys.txt", data, len, &p->keys, &d) < 0) {
        snprintf(err, errlen, "out of memory");
        free(data);
        nix1_prov_free(p);
        return NULL;
    }
    free(data);
    nix1_diag_free(&d);
    if (nix1_key_generate(p->new_key, 24) < 0) {
        snprintf(err, errlen, "no OS randomness for the new key");
        nix1_prov_free(p);
        return NULL;
    }
    p->new_ts = now;
    /* keys.txt: the new key first, then the kept ones (newest first as read); pruned = older than max age */
    size_t cap = 64 + p->keys.n * (NIX1_KEY_MAX + 24);
    char *out = malloc(cap);
    if (!out) {
        snprintf(err, errlen, "out of memory");
        nix1_prov_free(p);
        return NULL;
    }
    size_t k = (size_t)snprintf(out, cap, "%llu\t%s\n", (unsigned long long)now, p->new_key);
    char optk[NIX1_KEY_MAX + 32];
    snprintf(optk, sizeof optk, "%llu\t%s", (unsigned long long)now, p->new_key);
    qpush(p, A_BCAST, 'N', 'k', optk, NULL);
    uint64_t *pruned = p->pruned = calloc(p->keys.n + 1, sizeof *pruned);
    size_t npr = 0;
    for (size_t i = 0; i < p->keys.n; i++) {
        const struct nix1_key_entry *ke = &p->keys.v[i];
        if (ke->ts + max_age_s < now) {
            bool seen = false;
            for (size_t j = 0; j < npr; j++)
                seen |= pruned[j] == ke->ts;
            if (!seen && pruned) {
                pruned[npr++] = ke->ts;
                char o2[32];
                snprintf(o2, sizeof o2, "%llu", (unsigned long long)ke->ts);
                qpush(p, A_BCAST, 'D', 'k', o2, NULL);
                logf_(p, "prune key %llu (older than %llu days)", (unsigned long long)ke->ts,
                      (unsigned long long)(max_age_s / 86400));
            }
            continue;
        }
        k += (size_t)snprintf(out + k, cap - k, "%llu\t%s\n", (unsigned long long)ke->ts, ke->key);
    }
    p->npruned = npr;
    char path[700];
    snprintf(path, sizeof path, "%s/keys.txt", dir);
    struct stat old; /* keep the mode of the file replaced (the secrets file may be shared with a group) */
    mode_t mode = stat(path, &old) == 0 ? (old.st_mode & 07777) : 0600;
    int wrote = durable_write(path, out, k, mode, 0, err, errlen);
    free(out);
    if (wrote < 0) {
        nix1_prov_free(p);
        return NULL;
    }
    p->rep.key_ts = now;
    logf_(p, "new key %llu written to %s and broadcast", (unsigned long long)now, path);
    for (size_t i = 0; i < n; i++) {
        qpush(p, A_QK, 'Q', 'k', NULL, NULL);
        if (p->nq && p->q[p->nq - 1].k == A_QK) {
            p->q[p->nq - 1].has_to = true;
            p->q[p->nq - 1].to = slaves[i];
        }
    }
    step(p);
    return p;
}

void nix1_prov_free(struct nix1_prov *p)
{
    if (!p)
        return;
    if (p->xfer)
        nix1_xfer_cancel(p->xfer);
    nix1_keys_free(&p->keys);
    nix1_users_free(&p->users);
    nix1_rights_free(&p->rights);
    if (p->have_gen)
        nix1_genset_free(&p->gen);
    free(p->rf);
    free(p->pruned);
    free(p->q);
    free(p->slaves);
    free(p);
}
