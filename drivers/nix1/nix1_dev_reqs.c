/* nix1_dev_reqs: the NiX1 adapter's runs of requests (N1_REQS steps): slave settings (DEVICE_SLAVE_SET) checked
 * locally and sent in a fixed order, reading a slave's settings back, and the replies of file reads. */
#include "drivers/nix1/nix1_dev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "drivers/nix1/nix1_cmd.h"
#include "drivers/nix1/nix1_rc.h"

const char *const n1_keys[K_COUNT] = {
    "LOCK_0", "LOCK_1", "UNIT_0", "UNIT_1", "VALID_ACCESS_TIMEOUT", "BAD_ACCESS_TIMEOUT", "CRON", "CRON_MODE",
    "MODE", "OD_SPEED_0", "OD_SPEED_1", "TIMEZONE", "BAUDRATE",
};

int n1dev_add_req(struct n1_job *j, size_t si, char cmd, char arg, const char *opt, enum n1_req_tag tag, size_t k)
{
    struct n1_req *nr = realloc(j->reqs, (j->nreqs + 1) * sizeof *nr);
    if (!nr)
        return -1;
    j->reqs = nr;
    struct n1_req *q = &nr[j->nreqs++];
    memset(q, 0, sizeof *q);
    q->slave = si;
    q->cmd = cmd;
    q->arg = arg;
    snprintf(q->opt, sizeof q->opt, "%s", opt ? opt : "");
    q->tag = tag;
    q->k = k;
    return 0;
}

/* An N1_REQS step covering the requests added since the previous one. */
void n1dev_add_reqs_step(struct n1_job *j, size_t si)
{
    n1dev_push_step(j, (struct n1_step){ .kind = N1_REQS, .slave = si, .r_end = j->nreqs });
}

void n1dev_get_add(struct n1_job *j, enum n1_key k, const char *val, size_t len)
{
    if (j->kind != N1J_GET || !j->u.get.v || j->u.get.n >= K_COUNT)
        return;
    struct device_setting *st = &j->u.get.v[j->u.get.n++];
    snprintf(st->key, sizeof st->key, "%s", n1_keys[k]);
    snprintf(st->value, sizeof st->value, "%.*s", (int)len, val);
}

static void read_fail(struct n1_job *j, const struct n1_req *q, const char *why)
{
    if (j->rfail++)
        return;
    if (q->tag == R_GET)
        snprintf(j->rerr, sizeof j->rerr, "%s not read (Q%c%.4s): %.100s", n1_keys[q->k], q->arg, q->opt, why);
    else
        snprintf(j->rerr, sizeof j->rerr, "%c%c%.13s: %.120s", q->cmd, q->arg, q->opt, why);
}

/* What a failed request says: the slave's code with its name and meaning, or why nothing came back. */
static void req_fail_text(const struct nix1_result *r, char *buf, size_t len)
{
    if (r->status == NIX1_ST_REPLY)
        snprintf(buf, len, "%02X %s (%s)", r->rc, nix1_rc_name(r->rc), nix1_rc_meaning(r->rc));
    else if (r->status == NIX1_ST_CANCELLED)
        snprintf(buf, len, "stopped");
    else
        snprintf(buf, len, "no answer (%s)", r->error ? r->error : nix1_status_str(r->status));
}

/* Read a setting from a query's reply; false when the reply is not what the spec says. */
static bool get_parse(struct n1_job *j, const struct n1_req *q, const struct nix1_result *r)
{
    uint64_t v;
    const char *p = r->payload ? r->payload : "";
    size_t len = r->payload ? r->payload_len : 0;
    switch (q->k) {
    case K_UNIT_0:
    case K_UNIT_1:
        if (r->rc == NIX1_RC_ERROR_UNIT) { /* unset */
            n1dev_get_add(j, (enum n1_key)q->k, "", 0);
            return true;
        }
        if (r->rc != NIX1_RC_OK || !nix1_parse_uint(p, len, 65534, &v))
            return false;
        break;
    case K_CRON:
        if (r->rc == NIX1_RC_ERROR_SYNTAX) { /* no cron */
            n1dev_get_add(j, K_CRON, "", 0);
            return true;
        }
        if (r->rc != NIX1_RC_OK || len >= sizeof j->u.get.v[0].value)
            return false;
        break;
    case K_OD_0: { /* Qv: both probes */
        struct nix1_span f[3];
        if (r->rc != NIX1_RC_OK || nix1_fields_split(p, len, f, 2) != 2 || !nix1_parse_uint(f[0].p, f[0].len, 1, &v) ||
            !nix1_parse_uint(f[1].p, f[1].len, 1, &v))
            return false;
        n1dev_get_add(j, K_OD_0, f[0].p, f[0].len);
        n1dev_get_add(j, K_OD_1, f[1].p, f[1].len);
        return true;
    }
    case K_TIMEZONE: { /* Qt: ts and zone */
        struct nix1_span f[3];
        int tz;
        char z[6];
        if (r->rc != NIX1_RC_OK || nix1_fields_split(p, len, f, 2) != 2 || !nix1_parse_tz(f[1].p, f[1].len, &tz))
            return false;
        nix1_format_tz(tz, z);
        n1dev_get_add(j, K_TIMEZONE, z, strlen(z));
        return true;
    }
    default: {
        uint64_t max = q->k == K_LOCK_0 || q->k == K_LOCK_1 ? 1 : q->k == K_CRON_MODE || q->k == K_MODE ? 3 : 255;
        if (r->rc != NIX1_RC_OK || !nix1_parse_uint(p, len, max, &v))
            return false;
        char t[8];
        snprintf(t, sizeof t, "%u", (unsigned)v);
        n1dev_get_add(j, (enum n1_key)q->k, t, strlen(t));
        return true;
    }
    }
    n1dev_get_add(j, (enum n1_key)q->k, p, len);
    return true;
}

/* Qi: append "NAME<TAB>SIZE<LF>" per file; Qg: append the file's lines (each + LF). */
static void text_add(struct n1_job *j, const struct n1_req *q, const struct nix1_result *r)
{
    if (j->kind != N1J_TEXT)
        return;
    size_t need = j->u.text.len + 1;
    for (size_t i = 0; i < r->nlines; i++)
        need += strlen(r->lines[i]) + 24;
    char *t = realloc(j->u.text.text, need);
    if (!t) {
        if (!j->rfail++)
            snprintf(j->rerr, sizeof j->rerr, "out of memory");
        return;
    }
    j->u.text.text = t;
    for (size_t i = 0; i < r->nlines; i++) {
        char name[13];
        uint64_t size = 0;
        int w;
        if (q->tag == R_FILE)
            w = snprintf(t + j->u.text.len, need - j->u.text.len, "%s\n", r->lines[i]);
        else if (nix1_xfer_parse_list_line(r->lines[i], name, &size))
            w = snprintf(t + j->u.text.len, need - j->u.text.len, "%s\t%llu\n", name, (unsigned long long)size);
        else
            continue;
        if (w > 0)
            j->u.text.len += (size_t)w;
    }
    t[j->u.text.len] = '\0';
}

/* The outcome of j->reqs[j->rpos]; a slave that does not answer gets nothing more of this step. */
static void req_result(struct n1dev *c, struct n1_job *j, const struct nix1_result *r)
{
    const struct n1_step *st = &j->steps[j->pos];
    struct n1_req *q = &j->reqs[j->rpos++];
    bool reply = r->status == NIX1_ST_REPLY;
    char why[N1_MSG_MAX - 8];
    req_fail_text(r, why, sizeof why);
    switch (q->tag) {
    case R_SET:
        if (reply && r->rc == NIX1_RC_OK) {
            if (j->r.outs[q->k] != SIZE_MAX) /* a re-apply keeps its summary (okmsg) */
                snprintf(j->r.msg[q->k], sizeof j->r.msg[q->k], "%s",
                         q->clock ? "ok (clock set to the host time)" : "ok");
            nix1_door_note_set(c->door, &c->slaves[q->slave].addr, q->cmd, q->arg, q->opt);
        } else {
            char m[N1_MSG_MAX];
            snprintf(m, sizeof m, "%c%c: %s", q->cmd, q->arg, why);
            n1dev_job_fail_output(j, q->k, reply ? DEVICE_RESULT_FAILED : DEVICE_RESULT_TIMEOUT, m);
        }
        break;
    case R_GET:
        if (!reply || !get_parse(j, q, r))
            read_fail(j, q, reply && r->rc == NIX1_RC_OK ? "unexpected answer" : why);
        break;
    case R_LIST:
    case R_FILE:
        if (reply && (r->rc == NIX1_RC_OK || r->rc == NIX1_RC_EOT)) /* multi-line replies end with 04 */
            text_add(j, q, r);
        else
            read_fail(j, q, why);
        break;
    }
    if (reply)
        return;
    while (j->rpos < st->r_end && j->reqs[j->rpos].slave == q->slave) {
        struct n1_req *n = &j->reqs[j->rpos++];
        if (n->tag == R_SET)
            n1dev_job_fail_output(j, n->k, r->status == NIX1_ST_CANCELLED ? DEVICE_RESULT_OFFLINE : DEVICE_RESULT_TIMEOUT,
                                  r->status == NIX1_ST_CANCELLED ? "not sent: stopped"
                                                                 : "not sent: the slave did not answer");
        else
            read_fail(j, n, why);
    }
}

static void on_req(nix1_bus_t *bus, const struct nix1_result *r, void *arg)
{
    (void)bus;
    struct n1dev *c = arg;
    struct n1_job *j = c->cur;
    if (!j || !j->inflight || j->pos >= j->nsteps || j->rpos >= j->nreqs)
        return;
    j->inflight = false;
    req_result(c, j, r);
    n1dev_kick(c);
}

/* Send the step's next request: N1_STEP_WAIT when one is on its way (on_req follows), N1_STEP_NEXT when the
 * step is done. */
enum n1_step_res n1dev_reqs_next(struct n1dev *c, struct n1_job *j, const struct n1_step *st)
{
    while (j->rpos < st->r_end) {
        struct n1_req *q = &j->reqs[j->rpos];
        const char *no = q->guarded ? nix1_door_guard(c->door, &c->slaves[q->slave].addr, q->arg) : NULL;
        if (no) {
            if (q->tag == R_SET)
                n1dev_job_fail_output(j, q->k, DEVICE_RESULT_FAILED, no);
            j->rpos++;
            continue;
        }
        char opt[sizeof q->opt + 24];
        if (q->clock)
            snprintf(opt, sizeof opt, "%lld\t%s", (long long)time(NULL), q->opt);
        else
            snprintf(opt, sizeof opt, "%s", q->opt);
        struct nix1_request_spec rq = { .addr = c->slaves[q->slave].addr, .cmd = q->cmd, .arg = q->arg,
                                        .opt = opt, .prio = NIX1_PRIO_CONFIG };
        long id = nix1_bus_submit(c->bus, &rq, on_req, c);
        if (id > 0) {
            j->inflight = true;
            return N1_STEP_WAIT;
        }
        struct nix1_result fake = { .status = NIX1_ST_REPLY, .rc = (uint8_t)-id, .payload = "" };
        req_result(c, j, &fake);
    }
    return N1_STEP_NEXT;
}

/* ---- DEVICE_SLAVE_SET ---- */

/* One setting → its request; -1 when it cannot be sent (why says so). */
static int setting_req(struct n1dev *c, struct n1_job *j, size_t si, enum n1_key k, const char *v, size_t out,
                       char *why, size_t wl)
{
    char opt[CRON_TEXT_MAX + 24];
    char cmd = 'N', arg = 0;
    bool guarded = false, empty_ok = false, clock = false;
    unsigned p = k == K_LOCK_1 || k == K_UNIT_1 || k == K_OD_1 ? 2 : 1;
    snprintf(opt, sizeof opt, "%s", v);
    switch (k) {
    case K_LOCK_0: case K_LOCK_1:
        arg = 'l';
        guarded = true;
        snprintf(opt, sizeof opt, "%u\t%s", p, v);
        break;
    case K_UNIT_0: case K_UNIT_1:
        empty_ok = true;
        arg = 'u';
        if (v[0]) {
            snprintf(opt, sizeof opt, "%u\t%s", p, v);
        } else {
            cmd = 'D';
            snprintf(opt, sizeof opt, "%u", p);
        }
        break;
    case K_VALID: arg = 'c'; break;
    case K_BAD: arg = 'b'; break;
    case K_CRON:
        empty_ok = true;
        guarded = true;
        arg = 'h';
        cmd = v[0] ? 'N' : 'D';
        break;
    case K_CRON_MODE: arg = 'o'; guarded = true; break;
    case K_MODE: arg = 'm'; break;
    case K_OD_0: case K_OD_1:
        arg = 'v';
        snprintf(opt, sizeof opt, "%u\t%s", p, v);
        break;
    case K_TIMEZONE: {
        int tz;
        if (!nix1_parse_tz(v, strlen(v), &tz)) {
            snprintf(why, wl, "not sent: the zone is +HHMM or -HHMM (e.g. +0100)");
            return -1;
        }
        arg = 't';
        clock = true;
        break;
    }
    case K_BAUDRATE: {
        unsigned bus = c->bus ? nix1_bus_baud(c->bus) : c->cfg->baud;
        char *end;
        unsigned long b = strtoul(v, &end, 10);
        if (!v[0] || *end || !nix1_baud_valid(b)) {
            snprintf(why, wl, "not sent: 1200 2400 4800 9600 19200 38400 57600 115200");
            return -1;
        }
        if (b == bus) {
            snprintf(j->r.msg[out], sizeof j->r.msg[out], "ok (the bus rate; nothing to change)");
            return 0;
        }
        snprintf(why, wl, "a bus has one rate (%u): use portierctl nix1 PORT --broadcast baud set %lu", bus, b);
        return -1;
    }
    case K_COUNT: return -1;
    }
    if (!v[0] && !empty_ok) {
        snprintf(why, wl, "not sent: a value is required");
        return -1;
    }
    /* The slave's own checks (§5.5 steps 7-8), locally: nothing malformed goes on the wire. */
    const struct nix1_cmd *cd = nix1_cmd_lookup(cmd, arg);
    char chk[CRON_TEXT_MAX + 40], w[80] = "";
    snprintf(chk, sizeof chk, clock ? "0\t%s" : "%s", opt);
    uint8_t rc = cd ? nix1_cmd_check(cd, chk, strlen(chk), w, sizeof w) : NIX1_RC_ERROR_ARG;
    if (rc != NIX1_RC_OK) {
        snprintf(why, wl, "not sent: %02X %s: %s", rc, nix1_rc_name(rc), w[0] ? w : nix1_rc_meaning(rc));
        return -1;
    }
    if (n1dev_add_req(j, si, cmd, arg, opt, R_SET, out) < 0) {
        snprintf(why, wl, "out of memory");
        return -1;
    }
    j->reqs[j->nreqs - 1].guarded = guarded;
    j->reqs[j->nreqs - 1].clock = clock;
    return 0;
}

/* No settings: re-apply what the configuration holds for the slave, one device-wide result. */
static void reapply_config(struct n1_job *j, size_t si, const struct site_slave *cfg)
{
    j->r.outs[0] = SIZE_MAX;
    char opt[24];
    size_t off = 0;
    for (unsigned p = 0; p < 2; p++)
        if (cfg->probe_units[p] >= 0) {
            snprintf(opt, sizeof opt, "%u\t%d", p + 1, cfg->probe_units[p]);
            n1dev_add_req(j, si, 'N', 'u', opt, R_SET, 0);
            off += (size_t)snprintf(j->r.okmsg + off, sizeof j->r.okmsg - off, "%sUNIT_%u=%d", off ? " " : "", p,
                                    cfg->probe_units[p]);
        }
    int tv[2] = { cfg->valid_timeout, cfg->bad_timeout };
    for (int t = 0; t < 2; t++)
        if (tv[t] >= 0 && off < sizeof j->r.okmsg) {
            snprintf(opt, sizeof opt, "%d", tv[t]);
            n1dev_add_req(j, si, 'N', t ? 'b' : 'c', opt, R_SET, 0);
            off += (size_t)snprintf(j->r.okmsg + off, sizeof j->r.okmsg - off, "%s%s=%d", off ? " " : "",
                                    t ? "BAD_ACCESS_TIMEOUT" : "VALID_ACCESS_TIMEOUT", tv[t]);
        }
    if (!j->nreqs)
        snprintf(j->r.okmsg, sizeof j->r.okmsg, "the configuration holds no setting for this slave");
}

/* DEVICE_SLAVE_SET: one request per setting, in the n1_key order, at configuration priority. */
int n1dev_slave_set_command(struct n1dev *c, const struct device_cmd *cmd, char *err, size_t errlen)
{
    if (cmd->slave >= c->n) {
        snprintf(err, errlen, "no slave %zu on this bus", cmd->slave);
        return -1;
    }
    if (cmd->n_settings > DEVICE_SETTINGS_MAX || (cmd->n_settings && !cmd->settings)) {
        snprintf(err, errlen, "at most %d settings at once", DEVICE_SETTINGS_MAX);
        return -1;
    }
    size_t si = cmd->slave;
    struct n1_job *j = n1dev_job_new(c, N1J_SET, cmd, cmd->n_settings ? cmd->n_settings : 1);
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (cmd->n_settings == 0) {
        reapply_config(j, si, c->slaves[si].cfg);
    } else {
        for (size_t i = 0; i < cmd->n_settings; i++)
            j->r.outs[i] = DEVICE_SETTING_RESULT(i);
        /* Unknown keys and refused values fail at once; the others are sent in the n1_key order. */
        for (size_t i = 0; i < cmd->n_settings; i++) {
            bool known = false, twice = false;
            for (int k = 0; k < K_COUNT; k++)
                known = known || strcasecmp(cmd->settings[i].key, n1_keys[k]) == 0;
            for (size_t o = 0; o < i; o++)
                twice = twice || strcasecmp(cmd->settings[i].key, cmd->settings[o].key) == 0;
            if (!known || twice) {
                char m[96];
                if (twice)
                    snprintf(m, sizeof m, "not sent: %.30s is given twice", cmd->settings[i].key);
                else
                    snprintf(m, sizeof m, "not sent: %.30s is not a NiX1 slave setting", cmd->settings[i].key);
                n1dev_job_fail_output(j, i, DEVICE_RESULT_FAILED, m);
            }
        }
        for (int k = 0; k < K_COUNT; k++)
            for (size_t i = 0; i < cmd->n_settings; i++) {
                if (j->r.failed[i] || strcasecmp(cmd->settings[i].key, n1_keys[k]) != 0)
                    continue;
                char v[sizeof cmd->settings[i].value], why[N1_MSG_MAX];
                snprintf(v, sizeof v, "%s", cmd->settings[i].value);
                if (setting_req(c, j, si, (enum n1_key)k, v, i, why, sizeof why) < 0)
                    n1dev_job_fail_output(j, i, DEVICE_RESULT_FAILED, why);
                break; /* keys are unique */
            }
    }
    if (j->nreqs)
        n1dev_add_reqs_step(j, si);
    n1dev_enqueue(c, j);
    return 0;
}

/* Read a slave's settings (Ql1 Ql2 Qu1 Qu2 Qo Qh Qc Qb Qm Qv Qt; the baud rate is the bus's). */
int n1dev_slave_get(struct device *dev, size_t slave, device_settings_fn cb, void *ctx, char *err, size_t errlen)
{
    struct n1dev *c = dev->priv;
    if (!cb || slave >= c->n) {
        snprintf(err, errlen, "no slave %zu on this bus", slave);
        return -1;
    }
    struct n1_job *j = n1dev_job_new(c, N1J_GET, NULL, 0);
    if (j)
        j->u.get.v = calloc(K_COUNT, sizeof *j->u.get.v);
    if (!j || !j->u.get.v) {
        if (j)
            n1dev_job_free(j);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    j->u.get.got = cb;
    j->ctx = ctx;
    static const struct { char arg; const char *opt; enum n1_key k; } q[] = {
        { 'l', "1", K_LOCK_0 }, { 'l', "2", K_LOCK_1 }, { 'u', "1", K_UNIT_0 }, { 'u', "2", K_UNIT_1 },
        { 'o', NULL, K_CRON_MODE }, { 'h', NULL, K_CRON }, { 'c', NULL, K_VALID }, { 'b', NULL, K_BAD },
        { 'm', NULL, K_MODE }, { 'v', NULL, K_OD_0 }, { 't', NULL, K_TIMEZONE },
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        n1dev_add_req(j, slave, 'Q', q[i].arg, q[i].opt, R_GET, q[i].k);
    n1dev_add_reqs_step(j, slave);
    char b[12];
    snprintf(b, sizeof b, "%u", c->bus ? nix1_bus_baud(c->bus) : c->cfg->baud);
    n1dev_get_add(j, K_BAUDRATE, b, strlen(b));
    n1dev_enqueue(c, j);
    return 0;
}
