/* ctl_nix1: `portierctl nix1 PORT ...`: every NiX1 D/N/Q command in a technician's words as rows of the verb
 * table, over a serial line, pty or tcp://. Options are checked with the slave's own rules (nix1_cmd_check)
 * before the port is opened; the bus is opened only for a command that can be sent. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl_nix1.h"
#include "cli/ctl_site.h"
#include "core/strbuf.h"
#include "core/xport_serial.h"
#include "drivers/nix1/nix1_cmd.h"
#include "drivers/nix1/nix1_line.h"
#include "drivers/nix1/nix1_rc.h"

/* ---- context and bus ---- */

static void free_last(struct n1ctx *c)
{
    free(c->payload);
    c->payload = NULL;
    for (size_t i = 0; i < c->nlines; i++)
        free(c->lines[i]);
    free(c->lines);
    c->lines = NULL;
    c->nlines = 0;
}

static void on_done(nix1_bus_t *bus, const struct nix1_result *r, void *arg)
{
    struct n1ctx *c = arg;
    (void)bus;
    free_last(c);
    c->res = *r;
    c->payload = strdup(r->payload ? r->payload : "");
    c->res.payload = c->payload;
    /* the bus's text lives only during the callback */
    snprintf(c->errbuf, sizeof c->errbuf, "%s", r->error ? r->error : "");
    c->res.error = r->error ? c->errbuf : NULL;
    if (r->nlines) {
        c->lines = calloc(r->nlines, sizeof *c->lines);
        for (size_t i = 0; c->lines && i < r->nlines; i++)
            c->lines[i] = strdup(r->lines[i]);
        c->nlines = c->lines ? r->nlines : 0;
    }
    c->res.lines = (const char *const *)c->lines;
    c->done = true;
}

static void on_trace(void *arg, bool tx, const char *line, size_t len)
{
    (void)arg;
    fprintf(stderr, "%s %.*s\n", tx ? ">>" : "<<", (int)len, line);
}

static void on_transport(void *arg, int err, const char *msg)
{
    struct n1ctx *c = arg;
    if (err < 0 && c->g->verbose)
        fprintf(stderr, "portierctl nix1: %s\n", msg);
}

int n1_usage(struct n1ctx *c, const char *fmt, ...)
{
    char what[64] = "";
    struct strbuf sb;
    STRBUF_ON(&sb, what);
    const char *p = c->call->verb->syntax;
    for (size_t n = strcspn(p, " "); *p && !(p[0] >= 'A' && p[0] <= 'Z'); p += n + (p[n] == ' '), n = strcspn(p, " ")) {
        if (memchr(p, '|', n) || p[0] == '[')
            break;
        strbuf_sep(&sb, " ");
        strbuf_putn(&sb, p, n);
    }
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "portierctl: nix1 %s: ", what);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return CTL_EXIT_USAGE; /* main() adds the command's usage line */
}

int n1_targets(struct n1ctx *c, const struct ctl_call *call, enum n1_rule rule, char cmd, char arg)
{
    memset(c, 0, sizeof *c);
    c->call = call;
    c->g = &call->g;
    c->port = call->target;
    const struct ctl_val *sv = ctl_get(call, "slave");
    for (size_t i = 0; sv && i < sv->nlist; i++) {
        const char *s = sv->list[i];
        while (*s) {
            size_t n = strcspn(s, ",");
            char one[NIX1_ADDR_LEN + 1];
            nix1_addr_t a;
            snprintf(one, sizeof one, "%.*s", (int)(n < NIX1_ADDR_LEN ? n : NIX1_ADDR_LEN), s);
            if (nix1_addr_parse_str(one, &a) == 0) {
                char warn[160];
                if (!nix1_addr_check(&a, warn, sizeof warn) && c->g->verbose)
                    fprintf(stderr, "warning: %s\n", warn);
                bool dup = false;
                for (size_t k = 0; k < c->nslaves; k++)
                    dup |= nix1_addr_equal(&c->slaves[k], &a);
                if (!dup && c->nslaves == N1_MAX_SLAVES)
                    return n1_usage(c, "more than %d slaves", N1_MAX_SLAVES);
                if (!dup)
                    c->slaves[c->nslaves++] = a;
            }
            s += n + (s[n] == ',');
        }
    }
    bool bc = ctl_has(call, "broadcast"), sc = ctl_has(call, "scratch");
    if (bc && sc)
        return n1_usage(c, "--broadcast and --scratch exclude each other");
    c->tk = bc ? N1_TGT_BROADCAST : sc ? N1_TGT_SCRATCH : c->nslaves ? N1_TGT_SLAVE : N1_TGT_NONE;
    c->target = bc ? nix1_addr_broadcast : sc ? nix1_addr_scratch : c->slaves[0];
    const struct nix1_cmd *cm = cmd ? nix1_cmd_lookup(cmd, arg) : NULL;
    switch (rule) {
    case N1_UNICAST:
        if (c->tk == N1_TGT_BROADCAST && cm)
            break; /* the master's own 64 below */
        if (c->tk != N1_TGT_SLAVE && c->tk != N1_TGT_SCRATCH)
            return n1_usage(c, "needs --slave ADDR (or --scratch)");
        break;
    case N1_ANY:
        if (c->tk == N1_TGT_NONE)
            return n1_usage(c, "needs --slave ADDR, --broadcast or --scratch");
        break;
    case N1_SLAVES:
        if (!c->nslaves)
            return n1_usage(c, "needs --slave ADDR (repeat it, or give a list, for several slaves)");
        if (c->tk == N1_TGT_BROADCAST || c->tk == N1_TGT_SCRATCH)
            return n1_usage(c, "works on each --slave, not on the %s address", bc ? "broadcast" : "scratch");
        break;
    case N1_SCRATCH:
        c->tk = N1_TGT_SCRATCH;
        c->target = nix1_addr_scratch;
        break;
    case N1_OPTIONAL:
    case N1_DOORS:
        break;
    }
    if (c->tk == N1_TGT_BROADCAST && cm && !cm->broadcast) {
        /* spec §5.5: the master answers 64 itself for a command that cannot be broadcast */
        char what[3] = { cmd, arg, 0 };
        n1_report_error(c, &nix1_addr_broadcast, what, NIX1_RC_ERROR_NOBROADCAST);
        if (!c->g->json)
            fprintf(stderr, "  (refused locally: this command cannot be broadcast; nothing was sent)\n");
        return CTL_EXIT_DEVICE_ERROR;
    }
    return CTL_EXIT_OK;
}

int n1_fail(struct n1ctx *c, int rc, const char *msg) { return ctl_fail(c->g->json, "nix1", rc, msg); }

/* The port itself, in this process (direct mode). */
static int open_port(struct n1ctx *c)
{
    const struct ctl_call *call = c->call;
    static const enum xport_rs485 modes[] = { XPORT_RS485_AUTO, XPORT_RS485_KERNEL, XPORT_RS485_RTS };
    struct xport_serial_opts so = { .baud = (unsigned)ctl_num(call, "baud", 9600),
                                    .rs485 = modes[ctl_num(call, "rs485", 0)] };
    c->loop = loop_new();
    if (!c->loop) {
        fprintf(stderr, "portierctl nix1: out of memory\n");
        return CTL_EXIT_UNREACHABLE;
    }
    char err[256];
    c->bus = nix1_bus_open(c->loop, c->port, &so, NULL, err, sizeof err);
    if (!c->bus) {
        loop_free(c->loop);
        c->loop = NULL;
        return n1_fail(c, CTL_EXIT_UNREACHABLE, err);
    }
    return CTL_EXIT_OK;
}

int n1_open(struct n1ctx *c)
{
    int rc = n1_relay_open(c);
    if (rc < 0)
        rc = open_port(c);
    if (rc != CTL_EXIT_OK)
        return rc;
    c->lis.arg = c;
    c->lis.transport = on_transport;
    if (c->g->verbose)
        c->lis.trace = on_trace;
    nix1_bus_add_listener(c->bus, &c->lis);
    return CTL_EXIT_OK;
}

int n1_with_bus(struct ctl_call *call, int (*body)(struct n1ctx *c, struct ctl_call *call))
{
    const struct n1_row *r = call->verb->data;
    struct n1ctx cx, *c = &cx;
    int rc = n1_targets(c, call, r->rule, r->cmd, r->arg);
    if (rc != CTL_EXIT_OK || (rc = n1_open(c)) != CTL_EXIT_OK)
        return rc;
    return n1_close(c, body(c, call));
}

int n1_close(struct n1ctx *c, int rc)
{
    if (c->daemon) {
        rc = n1_relay_close(c, rc);
        free_last(c);
        return rc;
    }
    if (c->bus)
        nix1_bus_free(c->bus);
    c->bus = NULL;
    free_last(c);
    if (c->loop)
        loop_free(c->loop);
    c->loop = NULL;
    return rc;
}

void n1_run_until(struct n1ctx *c, const bool *flag)
{
    while (!*flag && !c->stop)
        if (loop_run_once(c->loop, -1) < 0)
            break;
}

static void on_signal(loop_t *loop, int signo, void *arg)
{
    struct n1ctx *c = arg;
    (void)signo;
    c->stop = true;
    loop_stop(loop);
}

void n1_watch_signals(struct n1ctx *c)
{
    loop_add_signal(c->loop, SIGINT, on_signal, c);
    loop_add_signal(c->loop, SIGTERM, on_signal, c);
}

/* ---- transactions ---- */

static void on_gap(loop_t *loop, void *arg)
{
    (void)loop;
    *(bool *)arg = true;
}

/* Broadcasts are never answered: the bus gap after one (100 ms, 500 ms after Nz Ds Nt; spec §5.1) must
 * pass before this process lets go of the line, or the next invocation would send too early (and a
 * slave switching its rate after Nz would miss it). */
static void wait_broadcast_gap(struct n1ctx *c, char cmd, char arg)
{
    bool gap_over = false;
    loop_timer_t t;
    loop_timer_init(&t, on_gap, &gap_over);
    bool long_gap = (cmd == 'N' && (arg == 'z' || arg == 't')) || (cmd == 'D' && arg == 's');
    loop_timer_arm_ms(c->loop, &t, long_gap ? 500 : 100);
    n1_run_until(c, &gap_over);
    loop_timer_disarm(c->loop, &t);
}

int n1_xact_raw(struct n1ctx *c, const nix1_addr_t *a, char cmd, char arg, const char *opt, const char *raw,
                bool quiet)
{
    struct nix1_request_spec rq = { .addr = *a, .cmd = cmd, .arg = arg, .opt = opt, .raw = raw,
                                    .prio = NIX1_PRIO_OPERATOR };
    char what[4] = { raw ? (raw[0] ? raw[0] : '?') : cmd, raw ? (raw[0] && raw[1] ? raw[1] : '?') : arg, 0, 0 };
    c->done = false;
    long id = nix1_bus_submit(c->bus, &rq, on_done, c);
    if (id < 0) {
        if (!quiet) {
            n1_report_error(c, a, what, (uint8_t)-id);
            if (-id == NIX1_RC_ERROR_NOBROADCAST && !c->g->json)
                fprintf(stderr, "  (refused locally: this command cannot be broadcast)\n");
        }
        c->res.status = NIX1_ST_REPLY;
        c->res.rc = (uint8_t)-id;
        return CTL_EXIT_DEVICE_ERROR;
    }
    n1_run_until(c, &c->done);
    if (!c->done) {
        nix1_bus_cancel(c->bus, id);
        return CTL_EXIT_UNREACHABLE;
    }
    switch (c->res.status) {
    case NIX1_ST_SENT:
        wait_broadcast_gap(c, what[0], what[1]);
        return CTL_EXIT_OK;
    case NIX1_ST_REPLY:
        if (c->res.rc == NIX1_RC_OK || c->res.rc == NIX1_RC_EOT || c->res.rc == NIX1_RC_ACK)
            return CTL_EXIT_OK;
        if (!quiet)
            n1_report_error(c, a, what, c->res.rc);
        return CTL_EXIT_DEVICE_ERROR;
    case NIX1_ST_BUSY:
        if (!quiet)
            n1_report_error(c, a, what, NIX1_RC_SYN);
        return CTL_EXIT_DEVICE_ERROR;
    default:
        if (!quiet)
            n1_report_noanswer(c, a, what, c->res.error ? c->res.error : nix1_status_str(c->res.status));
        return CTL_EXIT_UNREACHABLE;
    }
}

int n1_xact(struct n1ctx *c, char cmd, char arg, const char *opt)
{
    return n1_xact_raw(c, &c->target, cmd, arg, opt, NULL, false);
}

/* ---- printing ---- */

const char *n1_addr(const nix1_addr_t *a, char buf[NIX1_ADDR_LEN + 1])
{
    return nix1_addr_format(a, buf);
}

void n1_report_error(struct n1ctx *c, const nix1_addr_t *a, const char *what, uint8_t rc)
{
    char as[NIX1_ADDR_LEN + 1];
    n1_addr(a, as);
    if (c->g->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("error"));
        json_object_set_new(o, "slave", json_string(as));
        json_object_set_new(o, "command", json_string(what));
        char code[3];
        snprintf(code, sizeof code, "%02X", rc);
        json_object_set_new(o, "code", json_string(code));
        json_object_set_new(o, "code_name", json_string(nix1_rc_name(rc)));
        json_object_set_new(o, "meaning", json_string(nix1_rc_meaning(rc)));
        ctl_print_json(o);
    } else {
        fprintf(stderr, "%s %s: %02X %s: %s\n", as, what, rc, nix1_rc_name(rc), nix1_rc_meaning(rc));
    }
}

void n1_report_noanswer(struct n1ctx *c, const nix1_addr_t *a, const char *what, const char *why)
{
    char as[NIX1_ADDR_LEN + 1], hint[128] = "";
    n1_addr(a, as);
    /* a slave answers only to its own ROM address, whose last byte is the CRC-8 of the others: a mistyped
     * address is silence, so say which byte is wrong */
    if (!nix1_addr_crc_ok(a))
        snprintf(hint, sizeof hint, "check the address: its last byte should be the CRC-8 of the others, %02X "
                 "(%.14s%02X), not %02X", nix1_addr_crc_expected(a), as, nix1_addr_crc_expected(a), a->b[7]);
    if (c->g->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("error"));
        json_object_set_new(o, "slave", json_string(as));
        json_object_set_new(o, "command", json_string(what));
        json_object_set_new(o, "error", json_string(why));
        if (hint[0])
            json_object_set_new(o, "hint", json_string(hint));
        ctl_print_json(o);
    } else {
        bool plain = strcmp(why, "no answer") == 0; /* "no answer (no answer)" says it twice */
        fprintf(stderr, "%s %s: no answer%s%s%s%s%s\n", as, what, plain ? "" : " (", plain ? "" : why, plain ? "" : ")",
                hint[0] ? "; " : "", hint);
    }
}

/* A successful reply: its payload fields under the names in fields ("uid,key_time,increment"). */
void n1_print_fields(struct n1ctx *c, const char *type, const char *fields)
{
    char as[NIX1_ADDR_LEN + 1];
    n1_addr(&c->res.from, as);
    struct nix1_span f[NIX1_FIELDS_MAX];
    const char *pl = c->payload ? c->payload : "";
    size_t nf = nix1_fields_split(pl, strlen(pl), f, NIX1_FIELDS_MAX);
    if (nf > NIX1_FIELDS_MAX)
        nf = NIX1_FIELDS_MAX;
    json_t *o = c->g->json ? json_object() : NULL;
    if (o) {
        json_object_set_new(o, "type", json_string(type));
        json_object_set_new(o, "slave", json_string(as));
    } else {
        printf("%s", as);
    }
    const char *name = fields ? fields : "";
    for (size_t i = 0; i < nf; i++) {
        char key[32];
        size_t n = strcspn(name, ",");
        if (n)
            snprintf(key, sizeof key, "%.*s", (int)(n < 31 ? n : 31), name);
        else
            snprintf(key, sizeof key, "field%zu", i + 1);
        name += n + (name[n] == ',');
        if (o)
            json_object_set_new(o, key, json_stringn(f[i].p, f[i].len));
        else
            printf(" %s=%.*s", key, (int)f[i].len, f[i].p);
    }
    if (o)
        ctl_print_json(o);
    else
        printf("\n");
}

void n1_print_ok(struct n1ctx *c, const char *what)
{
    char as[NIX1_ADDR_LEN + 1];
    if (c->tk == N1_TGT_BROADCAST)
        snprintf(as, sizeof as, "%s", NIX1_ADDR_BROADCAST_STR);
    else
        n1_addr(&c->res.from, as);
    if (c->g->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("ok"));
        json_object_set_new(o, "slave", json_string(as));
        json_object_set_new(o, "command", json_string(what));
        json_object_set_new(o, "broadcast", json_boolean(c->tk == N1_TGT_BROADCAST));
        ctl_print_json(o);
    } else {
        printf("%s %s: %s\n", as, what, c->tk == N1_TGT_BROADCAST ? "sent (broadcasts get no reply)" : "ok");
    }
}

int n1_read_file(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (n < cap)
            break;
        if (cap > (64u << 20)) {
            free(buf);
            fclose(f);
            return -EFBIG;
        }
        char *nb = realloc(buf, cap *= 2);
        if (!nb) {
            free(buf);
            buf = NULL;
        } else {
            buf = nb;
        }
    }
    fclose(f);
    if (!buf)
        return -ENOMEM;
    *data = buf;
    *len = n;
    return 0;
}

/* ---- rows that are one request ---- */

/* The option text from the row's template; -1 when it does not fit a NiX1 line. */
static int build_opt(const struct ctl_call *call, const char *tmpl, char *buf, size_t cap)
{
    struct strbuf sb;
    strbuf_init(&sb, buf, cap);
    for (const char *p = tmpl; *p; p++) {
        if (*p != '{') {
            strbuf_putc(&sb, *p);
            continue;
        }
        unsigned slot = (unsigned)(p[1] - '1');
        bool flag = p[2] == '?';
        p += flag ? 3 : 2;
        const struct ctl_val *v = slot < CTL_MAX_ARGS ? &call->arg[slot] : NULL;
        if (v && v->set)
            strbuf_puts(&sb, flag ? (v->n == 0 ? "1" : "0") : v->s);
    }
    return strbuf_truncated(&sb) ? -1 : 0;
}

/* The words of the row with its choices resolved: "lock on", "unit set". */
static void row_what(const struct ctl_call *call, char *buf, size_t cap)
{
    struct strbuf sb;
    strbuf_init(&sb, buf, cap);
    const char *p = call->verb->syntax;
    size_t slot = 0;
    while (*p) {
        size_t n = strcspn(p, " ");
        bool arg = (p[0] >= 'A' && p[0] <= 'Z') || p[0] == '[';
        if (memchr(p, '|', n)) {
            strbuf_sep(&sb, " ");
            strbuf_puts(&sb, slot < CTL_MAX_ARGS && call->arg[slot].set ? call->arg[slot].s : "?");
            slot++;
        } else if (arg) {
            slot++;
        } else {
            strbuf_sep(&sb, " ");
            strbuf_putn(&sb, p, n);
        }
        p += n + (p[n] == ' ');
    }
}

/* The slave's own rules for the option (§5.5 steps 7-8), before anything is sent: 0 or the exit status. */
static int check_request(struct n1ctx *c, char cmd, char arg, const char *opt)
{
    const struct nix1_cmd *cm = nix1_cmd_lookup(cmd, arg);
    if (!cm)
        return n1_usage(c, "%c%c is not a NiX1 command", cmd, arg);
    char why[200];
    size_t len = opt ? strlen(opt) : 0;
    if (NIX1_ADDR_LEN + 2 + len > NIX1_LINE_MAX)
        return n1_usage(c, "the request would be longer than a NiX1 line (%d characters)", NIX1_LINE_MAX);
    uint8_t rc = nix1_cmd_check(cm, opt ? opt : "", len, why, sizeof why);
    if (rc)
        return n1_usage(c, "%s (the slave would answer %02X %s)", why, rc, nix1_rc_name(rc));
    return CTL_EXIT_OK;
}

static int n1_simple(struct ctl_call *call)
{
    const struct n1_row *r = call->verb->data;
    struct n1ctx c;
    int rc = n1_targets(&c, call, r->rule, r->cmd, r->arg);
    if (rc != CTL_EXIT_OK)
        return rc;
    char opt[NIX1_LINE_MAX + 1] = "";
    if (r->opt && build_opt(call, r->opt, opt, sizeof opt) < 0)
        return n1_usage(&c, "the request would be longer than a NiX1 line (%d characters)", NIX1_LINE_MAX);
    rc = check_request(&c, r->cmd, r->arg, r->opt ? opt : NULL);
    if (rc != CTL_EXIT_OK)
        return rc;
    rc = n1_open(&c);
    if (rc != CTL_EXIT_OK)
        return rc;
    rc = n1_xact(&c, r->cmd, r->arg, r->opt ? opt : NULL);
    if (rc == CTL_EXIT_OK) {
        char what[64];
        row_what(call, what, sizeof what);
        if (r->type)
            n1_print_fields(&c, r->type, r->fields);
        else
            n1_print_ok(&c, what);
    }
    return n1_close(&c, rc);
}

/* ---- checks of argument texts ---- */

static int check_addrs(const char *v, char *err, size_t errlen)
{
    for (const char *s = v; *s;) {
        size_t n = strcspn(s, ",");
        char one[NIX1_ADDR_LEN + 2];
        nix1_addr_t a;
        snprintf(one, sizeof one, "%.*s", (int)(n < NIX1_ADDR_LEN + 1 ? n : NIX1_ADDR_LEN + 1), s);
        if (n != NIX1_ADDR_LEN || nix1_addr_parse_str(one, &a) != 0)
            return snprintf(err, errlen, "'%.20s' is not a slave address (16 hex digits)", one), -1;
        if (nix1_addr_is_broadcast(&a) || nix1_addr_is_scratch(&a))
            return snprintf(err, errlen, "%s is the %s address: use --%s", one,
                            nix1_addr_is_broadcast(&a) ? "broadcast" : "scratch",
                            nix1_addr_is_broadcast(&a) ? "broadcast" : "scratch"), -1;
        s += n;
        if (*s == ',' && !*++s)
            return snprintf(err, errlen, "a list of addresses does not end with ','"), -1;
    }
    return v[0] ? 0 : (snprintf(err, errlen, "empty"), -1);
}

static int check_baud(const char *v, char *err, size_t errlen)
{
    long long b;
    if (ctl_parse_uint(v, 1, 115200, &b, err, errlen) < 0 || !nix1_baud_valid((uint64_t)b))
        return snprintf(err, errlen, "%.20s is not a NiX1 rate (1200, 2400, 4800, 9600, 19200, 38400, 57600 or 115200)",
                        v), -1;
    return 0;
}

static int check_hex2(const char *v, char *err, size_t errlen)
{
    if (strlen(v) != 2 || strspn(v, "0123456789abcdefABCDEF") != 2)
        return snprintf(err, errlen, "'%.20s' is not two hex digits", v), -1;
    return 0;
}

/* ---- the table ---- */

#define GET(c, a, o, t, f, rule) (&(const struct n1_row){ c, a, o, t, f, rule })
#define SET(c, a, o, rule) (&(const struct n1_row){ c, a, o, NULL, NULL, rule })
#define OWN(rule) (&(const struct n1_row){ 0, 0, NULL, NULL, NULL, rule })
/* a handler of its own whose first request is cmd/arg (for the broadcast rule of n1_targets) */
#define OWNC(rule, c, a) (&(const struct n1_row){ c, a, NULL, NULL, NULL, rule })

#define A_PROBE { .name = "PROBE", .type = CTL_UINT, .min = 1, .max = 2, .help = "probe (reader) of the slave" }
#define A_UID { .name = "UID", .type = CTL_TEXT, .max = 64, .help = "user id" }
#define A_UNIT { .name = "UNIT", .type = CTL_UINT, .min = 0, .max = 65534, .help = "unit (door group) number" }
#define A_TS { .name = "TS", .type = CTL_UINT, .min = 0, .max = 9999999999LL, .help = "timestamp (seconds since 1970)" }
#define A_NAME { .name = "NAME", .type = CTL_TEXT, .max = 12, .help = "8.3 file name on the slave's card" }

static const struct ctl_def a_probe[] = { A_PROBE, { 0 } };
static const struct ctl_def a_probe_unit[] = { A_PROBE, A_UNIT, { 0 } };
static const struct ctl_def a_cron[] = {
    { .name = "EXPR", .type = CTL_CRON, .flags = CTL_REST, .help = "when the door is open (with cron mode 1)" },
    { 0 } };
static const struct ctl_def a_cron_mode[] = {
    { .name = "MODE", .type = CTL_UINT, .min = 0, .max = 3, .help = "cron mode (1: open within the cron)" }, { 0 } };
static const struct ctl_def a_mode[] = {
    { .name = "MODE", .type = CTL_UINT, .min = 0, .max = 3, .help = "0 disabled, 1 normal, 2 mobile, 3 standalone" },
    { 0 } };
static const struct ctl_def a_baud[] = {
    { .name = "RATE", .type = CTL_CUSTOM, .check = check_baud, .sample = "9600", .help = "the new line rate" }, { 0 } };
static const struct ctl_def a_hex2[] = {
    { .name = "HH", .type = CTL_CUSTOM, .check = check_hex2, .sample = "00", .help = "general status byte in hex" }, { 0 } };
static const struct ctl_def a_uid[] = { A_UID, { 0 } };
static const struct ctl_def a_user_set[] = {
    A_UID, A_TS, { .name = "INC", .type = CTL_UINT, .min = 0, .max = 99, .help = "key increment" }, { 0 } };
static const struct ctl_def a_uid_unit[] = { A_UID, A_UNIT, { 0 } };
static const struct ctl_def a_right_set[] = {
    A_UID, A_UNIT, { .name = "CRON", .type = CTL_CRON, .flags = CTL_REST, .help = "when the right holds" }, { 0 } };
static const struct ctl_def a_ts[] = { A_TS, { 0 } };
static const struct ctl_def a_key_add[] = {
    A_TS, { .name = "KEY", .type = CTL_TEXT, .max = 64, .help = "the key (1-64 printable characters)" }, { 0 } };
static const struct ctl_def a_name[] = { A_NAME, { 0 } };
static const struct ctl_def a_ext[] = {
    { .name = "EXT", .type = CTL_TEXT, .sample = "TXT", .max = 3, .help = "file name extension (TXT, 1, ...)" }, { 0 } };
static const struct ctl_def a_cp[] = { A_NAME, { .name = "COPY", .type = CTL_TEXT, .max = 12, .help = "new 8.3 name" },
                                       { 0 } };
static const struct ctl_def a_get[] = {
    A_NAME, { .name = "LOCAL", .type = CTL_TEXT, .max = 4000, .help = "write it to this file" }, { 0 } };
static const struct ctl_def a_put[] = {
    { .name = "LOCAL", .type = CTL_TEXT, .max = 4000, .help = "the file to upload" },
    { .name = "NAME", .type = CTL_TEXT, .max = 12, .help = "8.3 name on the slave (default: LOCAL's)" }, { 0 } };
static const struct ctl_def a_firmware[] = {
    { .name = "FILE", .type = CTL_TEXT, .max = 4000, .help = "the firmware image (its 8.3 name is kept)" },
    { .name = "RETRIES", .type = CTL_UINT, .min = 0, .max = 9, .help = "flash attempts after the first (default 3)" },
    { 0 } };
static const struct ctl_def a_dir[] = {
    { .name = "DIR", .type = CTL_TEXT, .max = 4000, .sample = ".",
      .help = "server files: keys.txt units.txt users.txt cron.txt" },
    { 0 } };
static const struct ctl_def a_minutes[] = {
    { .name = "MINUTES", .type = CTL_UINT, .min = 1, .max = 1440, .help = "whole minutes, on the slave's clock" },
    { 0 } };
static const struct ctl_def a_timeouts[] = {
    { .name = "SETTING", .type = CTL_CUSTOM, .check = n1_check_timeout_setting, .flags = CTL_REST, .sample = "valid=5",
      .help = "valid=S or bad=S, seconds 0-255" },
    { 0 } };
static const struct ctl_def a_raw[] = {
    { .name = "LINE", .type = CTL_TEXT, .sample = "Qn", .max = NIX1_LINE_MAX * 2,
      .help = "what follows the address, e.g. 'Qb' or 'Nr user1\\t14\\t* * * * *' (\\t = TAB), sent unchecked" },
    { 0 } };
static const struct ctl_def o_scan[] = {
    { .name = "assign", .type = CTL_CUSTOM, .check = n1_check_units, .sample = "7,8", .meta = "UNIT1[,UNIT2]", .flags = CTL_CHANGES,
      .help = "give the new slave's probes these units" },
    { 0 } };
static const struct ctl_def o_entries[] = {
    { .name = "follow", .key = 'f', .type = CTL_FLAG,
      .help = "keep polling every --slave; say which go offline, and when the line is lost and back" },
    { .name = "rewind", .type = CTL_UINT, .min = 0, .max = 65534, .meta = "K", .flags = CTL_CHANGES,
      .help = "first move each slave's read position back K entries (Ne)" },
    { 0 } };
static const struct ctl_def o_rotate[] = {
    { .name = "max-age", .type = CTL_UINT, .min = 1, .max = 3650, .meta = "DAYS",
      .help = "delete keys older than this from the slaves (default 30)" },
    { 0 } };
static const struct ctl_def o_emergency[] = {
    { .name = "locked", .type = CTL_FLAG,
      .help = "off: restore every slave to locked (no cron window, mode 0) instead of its remembered schedule" },
    { 0 } };
static const struct ctl_def nix1_opts[] = {
    { .name = "baud", .type = CTL_CUSTOM, .check = check_baud, .sample = "9600", .meta = "N", .help = "line rate (9600)" },
    { .name = "rs485", .type = CTL_CHOICE, .choices = "auto|kernel|rts", .help = "who drives the RS485 direction" },
    { .name = "slave", .type = CTL_CUSTOM, .check = check_addrs, .sample = "270100000000006B", .meta = "ADDR[,ADDR...]", .flags = CTL_REPEAT,
      .help = "the slave(s) by address (16 hex digits); repeatable" },
    { .name = "broadcast", .type = CTL_FLAG, .help = "every slave at once (no reply; broadcastable commands only)" },
    { .name = "scratch", .type = CTL_FLAG, .help = "the unconfigured slave (scratch address)" },
    { .name = "state", .type = CTL_TEXT, .max = 4000, .meta = "FILE",
      .help = "door state file (default: nix1@PORT.state in the state directory)" },
    { .name = "wait", .type = CTL_UINT, .min = 0, .max = 86400, .meta = "S",
      .help = "emergency off: keep polling S seconds to restore slaves that come back" },
    { 0 } };

#define R(syn, args, opts, help, changes, role, maps, run, data) \
    { syn, args, opts, help, CTL_NO_ACTION, changes, role, maps, run, data, false }
#define RO ROLE_GUARD
#define OP ROLE_OPERATOR
#define TECH ROLE_TECHNICIAN

static const struct ctl_verb nix1_verbs[] = {
    R("status", NULL, NULL, "every setting of the slave", false, RO, "Qn Qs Qm Qt Qu Ql Qv Qb Qc Qh Qo", n1_cmd_status,
      OWN(N1_UNICAST)),
    R("scan", NULL, o_scan, "find the unconfigured slave on the scratch address (commission one at a time)", false,
      RO, "Qn (scratch), Nu", n1_cmd_scan, OWN(N1_SCRATCH)),
    R("version", NULL, NULL, "firmware version", false, RO, "Qn", n1_simple,
      GET('Q', 'n', NULL, "version", "version", N1_UNICAST)),
    R("time get", NULL, NULL, "the slave's clock and zone", false, RO, "Qt", n1_simple,
      GET('Q', 't', NULL, "time", "time,tz", N1_UNICAST)),
    R("time sync", NULL, NULL, "set the slave's clock and zone to this host's", true, TECH, "Nt", n1_cmd_time_sync,
      OWNC(N1_ANY, 'N', 't')),
    R("timeouts get", NULL, NULL, "valid and bad access timeouts (seconds)", false, RO, "Qc Qb", n1_cmd_timeouts_get,
      OWNC(N1_UNICAST, 'Q', 'c')),
    R("timeouts set SETTING...", a_timeouts, NULL, "set the access timeouts", true, TECH, "Nc Nb",
      n1_cmd_timeouts_set, OWNC(N1_ANY, 'N', 'c')),
    R("lock PROBE get", a_probe, NULL, "whether a probe is locked out", false, RO, "Ql", n1_simple,
      GET('Q', 'l', "{1}", "lock", "locked", N1_UNICAST)),
    R("lock PROBE on|off", a_probe, NULL, "lock out a probe (every key refused) or end it", true, OP, "Nl", n1_simple,
      SET('N', 'l', "{1}\t{2?}", N1_ANY)),
    R("unit PROBE get", a_probe, NULL, "the unit a probe serves", false, RO, "Qu", n1_simple,
      GET('Q', 'u', "{1}", "unit", "unit", N1_UNICAST)),
    R("unit PROBE set UNIT", a_probe_unit, NULL, "give a probe a unit", true, TECH, "Nu", n1_simple,
      SET('N', 'u', "{1}\t{2}", N1_ANY)),
    R("unit PROBE clear", a_probe, NULL, "take a probe's unit away", true, TECH, "Du", n1_simple,
      SET('D', 'u', "{1}", N1_ANY)),
    R("cron get", NULL, NULL, "the slave's cron (its door schedule)", false, RO, "Qh", n1_simple,
      GET('Q', 'h', NULL, "cron", "cron", N1_UNICAST)),
    R("cron set EXPR...", a_cron, NULL, "set the slave's cron", true, TECH, "Nh", n1_simple,
      SET('N', 'h', "{1}", N1_ANY)),
    R("cron clear", NULL, NULL, "delete the slave's cron", true, TECH, "Dh", n1_simple, SET('D', 'h', NULL, N1_ANY)),
    R("cron-mode get", NULL, NULL, "what the cron does (1: the door is open within it)", false, RO, "Qo", n1_simple,
      GET('Q', 'o', NULL, "cron_mode", "cron_mode", N1_UNICAST)),
    R("cron-mode set MODE", a_cron_mode, NULL, "set the cron mode", true, TECH, "No", n1_simple,
      SET('N', 'o', "{1}", N1_ANY)),
    R("mode get", NULL, NULL, "the slave's mode", false, RO, "Qm", n1_simple,
      GET('Q', 'm', NULL, "mode", "mode", N1_UNICAST)),
    R("mode set MODE", a_mode, NULL, "set the slave's mode", true, TECH, "Nm", n1_simple, SET('N', 'm', "{1}", N1_ANY)),
    R("overdrive get", NULL, NULL, "1-Wire overdrive of both probes", false, RO, "Qv", n1_simple,
      GET('Q', 'v', NULL, "overdrive", "overdrive1,overdrive2", N1_UNICAST)),
    R("overdrive PROBE get", a_probe, NULL, "1-Wire overdrive of a probe", false, RO, "Qv", n1_simple,
      GET('Q', 'v', "{1}", "overdrive", "overdrive", N1_UNICAST)),
    R("overdrive PROBE on|off", a_probe, NULL, "switch 1-Wire overdrive of a probe", true, TECH, "Nv", n1_simple,
      SET('N', 'v', "{1}\t{2?}", N1_ANY)),
    R("baud set RATE", a_baud, NULL, "switch the line rate (the master follows)", true, TECH, "Nz", n1_cmd_baud_set,
      OWNC(N1_ANY, 'N', 'z')),
    R("general-status get", NULL, NULL, "the general status byte (b0 restarted, b1 clock unset, b4 flash failed)",
      false, RO, "Qs", n1_simple, GET('Q', 's', NULL, "general_status", "status", N1_UNICAST)),
    R("general-status set HH", a_hex2, NULL, "overwrite the general status byte", true, TECH, "Ns", n1_simple,
      SET('N', 's', "{1}", N1_ANY)),
    R("entries", NULL, o_entries, "access entries of each --slave until none is left (or keep polling)", false, RO,
      "Qe (Ne)", n1_cmd_entries, OWN(N1_SLAVES)),
    R("user get UID", a_uid, NULL, "a user's key timestamp and increment", false, RO, "Qx", n1_simple,
      GET('Q', 'x', "{1}", "user", "uid,key_time,increment", N1_UNICAST)),
    R("user set UID TS INC", a_user_set, NULL, "add or change a user", true, TECH, "Nx", n1_simple,
      SET('N', 'x', "{1}\t{2}\t{3}", N1_ANY)),
    R("user del UID", a_uid, NULL, "delete a user (0: every user)", true, TECH, "Dx", n1_simple,
      SET('D', 'x', "{1}", N1_ANY)),
    R("right get UID UNIT", a_uid_unit, NULL, "a user's right on a unit (its cron)", false, RO, "Qr", n1_simple,
      GET('Q', 'r', "{1}\t{2}", "right", "cron", N1_UNICAST)),
    R("right set UID UNIT CRON...", a_right_set, NULL, "give a user a right on a unit", true, TECH, "Nr", n1_simple,
      SET('N', 'r', "{1}\t{2}\t{3}", N1_ANY)),
    R("right del UID UNIT", a_uid_unit, NULL, "delete a user's right on a unit", true, TECH, "Dr", n1_simple,
      SET('D', 'r', "{1}\t{2}", N1_ANY)),
    R("right del 0", NULL, NULL, "delete every right", true, TECH, "Dr0", n1_simple, SET('D', 'r', "0", N1_ANY)),
    R("key get", NULL, NULL, "the newest key (sent in clear on the bus)", false, TECH, "Qk", n1_simple,
      GET('Q', 'k', NULL, "key", "key_time,key", N1_UNICAST)),
    R("key add TS KEY", a_key_add, NULL, "add a key", true, TECH, "Nk", n1_simple, SET('N', 'k', "{1}\t{2}", N1_ANY)),
    R("key del TS", a_ts, NULL, "delete the keys of a timestamp (0: every key)", true, TECH, "Dk", n1_simple,
      SET('D', 'k', "{1}", N1_ANY)),
    R("key rotate DIR", a_dir, o_rotate, "new key into DIR/keys.txt and every slave, old keys pruned", true, TECH,
      "Nk Dk Qk", n1_cmd_key_rotate, OWN(N1_OPTIONAL)),
    R("file ls EXT", a_ext, NULL, "files with this extension on the slave's card", false, RO, "Qi", n1_cmd_file_ls,
      OWN(N1_UNICAST)),
    R("file get NAME [LOCAL]", a_get, NULL, "a file of the slave's card (to stdout or LOCAL)", false, RO, "Qg",
      n1_cmd_file_get, OWN(N1_UNICAST)),
    R("file put LOCAL [NAME]", a_put, NULL, "upload a file (verified, resumed across errors)", true, TECH, "Ny Ng",
      n1_cmd_file_put, OWN(N1_UNICAST)),
    R("file rm NAME", a_name, NULL, "delete a file", true, TECH, "Dg", n1_simple, SET('D', 'g', "{1}", N1_UNICAST)),
    R("file cp NAME COPY", a_cp, NULL, "copy a file on the card", true, TECH, "Ni", n1_simple,
      SET('N', 'i', "{1}\t{2}", N1_UNICAST)),
    R("file sum NAME", a_name, NULL, "CRC and size of a file", false, RO, "Qp", n1_simple,
      GET('Q', 'p', "{1}", "file_sum", "crc,size", N1_UNICAST)),
    R("tmp clear", NULL, NULL, "delete the slave's temporary files", true, TECH, "Dy", n1_simple,
      SET('D', 'y', NULL, N1_UNICAST)),
    R("format", NULL, NULL, "erase the slave's card (settings are kept)", true, TECH, "Da", n1_simple,
      SET('D', 'a', NULL, N1_UNICAST)),
    R("restart", NULL, NULL, "restart the slave", true, TECH, "Ds", n1_simple, SET('D', 's', NULL, N1_ANY)),
    R("firmware FILE [RETRIES]", a_firmware, NULL, "upload and flash firmware, then report the new version", true,
      TECH, "Ny Ng Nn Qs Qn", n1_cmd_firmware, OWN(N1_UNICAST)),
    R("provision DIR", a_dir, NULL, "bring every --slave in line with the server files (idempotent)", true, TECH,
      "Qg Ny Ng Nx Nr Nu Dg ...", n1_cmd_provision, OWN(N1_SLAVES)),
    R("hold on|off", NULL, NULL, "hold the door open (cron * * * * *, mode 1) or release it (restore)", true, OP,
      "Qh Qo Nh No (Dh)", n1_cmd_door, OWN(N1_UNICAST)),
    R("open MINUTES", a_minutes, NULL, "open the door for MINUTES; the slave closes it by itself (fail-safe)", true,
      OP, "Qt Qh Qo Nh No", n1_cmd_door, OWN(N1_UNICAST)),
    R("emergency on|off", NULL, o_emergency,
      "unlock every door of the bus (with --broadcast at once, before anything is read), verify each slave known; "
      "off: restore each slave", true, OP,
      "Nl Nh No (broadcast), Ql Qh Qo", n1_cmd_door, OWN(N1_DOORS)),
    R("raw LINE", a_raw, NULL, "send one request as typed and print the answer", true, TECH, "anything", n1_cmd_raw,
      OWN(N1_ANY)),
};

const struct ctl_family ctl_nix1_family = {
    .name = "nix1",
    .target = "PORT",
    .help = "one NiX1 RS485 bus: PORT is /dev/ttyUSB0, a pseudo-terminal or tcp://HOST:PORT (a device server); the "
            "slave maintenance the console does not offer (files, provisioning) is here too",
    .opts = nix1_opts,
    .verbs = nix1_verbs,
    .nverbs = sizeof nix1_verbs / sizeof nix1_verbs[0],
};
