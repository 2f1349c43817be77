/* ctl_nix1: `portierctl nix1`: every NiX1 D/N/Q command in a technician's words, file transfer,
 * commissioning, provisioning, door control and the emergency profile, over a serial line, pty or tcp://. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/ctl.h"
#include "core/durable.h"
#include "core/loop.h"
#include "core/statedir.h"
#include "core/strbuf.h"
#include "core/xport_serial.h"
#include "drivers/nix1/nix1_access.h"
#include "drivers/nix1/nix1_bus.h"
#include "drivers/nix1/nix1_cmd.h"
#include "drivers/nix1/nix1_door.h"
#include "drivers/nix1/nix1_hash.h"
#include "drivers/nix1/nix1_line.h"
#include "drivers/nix1/nix1_prov.h"
#include "drivers/nix1/nix1_rc.h"
#include "drivers/nix1/nix1_xfer.h"

#define MAX_SLAVES 256

enum target { TGT_NONE, TGT_SLAVE, TGT_BROADCAST, TGT_SCRATCH };

struct ctx {
    const struct ctl_opts *g;
    loop_t *loop;
    nix1_bus_t *bus;
    enum target tk;
    nix1_addr_t target;
    nix1_addr_t slaves[MAX_SLAVES];
    size_t nslaves;
    const char *port;
    const char *state_path;
    unsigned wait_s;
    bool stop;
    /* last transaction */
    bool done;
    struct nix1_result res;
    char *payload;
    char **lines;
    size_t nlines;
    struct nix1_bus_listener lis;
    /* async module results */
    struct nix1_xfer_result xres;
    int door_rc;
    char errbuf[256];
};

static struct ctx *g_ctx; /* for signal-driven stop */

static void out_json(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(o);
    fflush(stdout);
}

static const char *addr_str(const nix1_addr_t *a, char buf[NIX1_ADDR_LEN + 1])
{
    return nix1_addr_format(a, buf);
}

static void free_last(struct ctx *c)
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
    struct ctx *c = arg;
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
    struct ctx *c = arg;
    if (err < 0 && c->g->verbose)
        fprintf(stderr, "portierctl nix1: %s\n", msg);
}

/* Run the loop until *flag or a stop request. */
static void run_until(struct ctx *c, const bool *flag)
{
    while (!*flag && !c->stop)
        if (loop_run_once(c->loop, -1) < 0)
            break;
}

static void report_error(struct ctx *c, const nix1_addr_t *a, const char *what, uint8_t rc)
{
    char as[NIX1_ADDR_LEN + 1];
    addr_str(a, as);
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
        out_json(o);
    } else {
        fprintf(stderr, "%s %s: %02X %s: %s\n", as, what, rc, nix1_rc_name(rc), nix1_rc_meaning(rc));
    }
}

static void report_noanswer(struct ctx *c, const nix1_addr_t *a, const char *what, const char *why)
{
    char as[NIX1_ADDR_LEN + 1];
    addr_str(a, as);
    if (c->g->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("error"));
        json_object_set_new(o, "slave", json_string(as));
        json_object_set_new(o, "command", json_string(what));
        json_object_set_new(o, "error", json_string(why));
        out_json(o);
    } else {
        fprintf(stderr, "%s %s: no answer (%s)\n", as, what, why);
    }
}

static void on_gap(loop_t *loop, void *arg)
{
    (void)loop;
    *(bool *)arg = true;
}

/* Broadcasts are never answered: the bus gap after one (100 ms, 500 ms after Nz Ds Nt; spec §5.1) must
 * pass before this process lets go of the line, or the next invocation would send too early (and a
 * slave switching its rate after Nz would miss it). */
static void wait_broadcast_gap(struct ctx *c, char cmd, char arg)
{
    bool gap_over = false;
    loop_timer_t t;
    loop_timer_init(&t, on_gap, &gap_over);
    bool long_gap = (cmd == 'N' && (arg == 'z' || arg == 't')) || (cmd == 'D' && arg == 's');
    loop_timer_arm_ms(c->loop, &t, long_gap ? 500 : 100);
    run_until(c, &gap_over);
    loop_timer_disarm(c->loop, &t);
}

/* One transaction. Returns CTL_EXIT_OK for a success code (00, 04, 06) or a sent broadcast,
 * CTL_EXIT_DEVICE_ERROR for an error code (printed), CTL_EXIT_UNREACHABLE for no answer (printed). */
static int xact_raw(struct ctx *c, const nix1_addr_t *a, char cmd, char arg, const char *opt, const char *raw,
                    bool quiet_errors)
{
    struct nix1_request_spec rq = { .addr = *a, .cmd = cmd, .arg = arg, .opt = opt, .raw = raw,
                                    .prio = NIX1_PRIO_OPERATOR };
    char what[4] = { raw ? (raw[0] ? raw[0] : '?') : cmd, raw ? (raw[0] && raw[1] ? raw[1] : '?') : arg, 0, 0 };
    c->done = false;
    long id = nix1_bus_submit(c->bus, &rq, on_done, c);
    if (id < 0) {
        if (!quiet_errors) {
            report_error(c, a, what, (uint8_t)-id);
            if (-id == NIX1_RC_ERROR_NOBROADCAST && !c->g->json)
                fprintf(stderr, "  (refused locally: this command cannot be broadcast)\n");
        }
        c->res.status = NIX1_ST_REPLY;
        c->res.rc = (uint8_t)-id;
        return CTL_EXIT_DEVICE_ERROR;
    }
    run_until(c, &c->done);
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
        if (!quiet_errors)
            report_error(c, a, what, c->res.rc);
        return CTL_EXIT_DEVICE_ERROR;
    case NIX1_ST_BUSY:
        if (!quiet_errors)
            report_error(c, a, what, NIX1_RC_SYN);
        return CTL_EXIT_DEVICE_ERROR;
    default:
        if (!quiet_errors)
            report_noanswer(c, a, what, c->res.error ? c->res.error : nix1_status_str(c->res.status));
        return CTL_EXIT_UNREACHABLE;
    }
}

static int xact(struct ctx *c, char cmd, char arg, const char *opt)
{
    return xact_raw(c, &c->target, cmd, arg, opt, NULL, false);
}

/* Print a successful reply: named payload fields. */
static void print_fields(struct ctx *c, const char *type, const char *const *names, size_t nnames)
{
    char as[NIX1_ADDR_LEN + 1];
    addr_str(&c->res.from, as);
    struct nix1_span f[NIX1_FIELDS_MAX];
    size_t nf = nix1_fields_split(c->payload ? c->payload : "", c->payload ? strlen(c->payload) : 0, f,
                                  NIX1_FIELDS_MAX);
    if (nf > NIX1_FIELDS_MAX)
        nf = NIX1_FIELDS_MAX;
    if (c->g->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string(type));
        json_object_set_new(o, "slave", json_string(as));
        for (size_t i = 0; i < nf; i++) {
            char key[16];
            const char *k = i < nnames ? names[i] : (snprintf(key, sizeof key, "field%zu", i + 1), key);
            json_object_set_new(o, k, json_stringn(f[i].p, f[i].len));
        }
        out_json(o);
    } else {
        printf("%s", as);
        for (size_t i = 0; i < nf; i++)
            printf(" %s=%.*s", i < nnames ? names[i] : "field", (int)f[i].len, f[i].p);
        printf("\n");
    }
}

static void print_ok(struct ctx *c, const char *what)
{
    char as[NIX1_ADDR_LEN + 1];
    if (c->tk == TGT_BROADCAST)
        snprintf(as, sizeof as, "%s", NIX1_ADDR_BROADCAST_STR);
    else
        addr_str(&c->res.from, as);
    if (c->g->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("ok"));
        json_object_set_new(o, "slave", json_string(as));
        json_object_set_new(o, "command", json_string(what));
        json_object_set_new(o, "broadcast", json_boolean(c->tk == TGT_BROADCAST));
        out_json(o);
    } else {
        printf("%s %s: %s\n", as, what, c->tk == TGT_BROADCAST ? "sent (broadcasts get no reply)" : "ok");
    }
}

/* Run a set-style command and print ok. */
static int do_set(struct ctx *c, const char *what, char cmd, char arg, const char *opt)
{
    int rc = xact(c, cmd, arg, opt);
    if (rc == CTL_EXIT_OK)
        print_ok(c, what);
    return rc;
}

static int do_get(struct ctx *c, const char *type, char cmd, char arg, const char *opt, const char *const *names,
                  size_t n)
{
    int rc = xact(c, cmd, arg, opt);
    if (rc == CTL_EXIT_OK)
        print_fields(c, type, names, n);
    return rc;
}

static int usage_err(const char *msg)
{
    fprintf(stderr, "portierctl nix1: %s\n", msg);
    return CTL_EXIT_USAGE;
}

static bool need_unicast(struct ctx *c, const char *what)
{
    if (c->tk == TGT_SLAVE || c->tk == TGT_SCRATCH)
        return true;
    fprintf(stderr, "portierctl nix1: %s needs --slave ADDR (or --scratch)\n", what);
    return false;
}

static bool parse_probe(const char *s, unsigned *p)
{
    if (s && (strcmp(s, "1") == 0 || strcmp(s, "2") == 0)) {
        *p = (unsigned)(s[0] - '0');
        return true;
    }
    return false;
}

static bool parse_onoff(const char *s, bool *on)
{
    if (!s)
        return false;
    if (strcmp(s, "on") == 0 || strcmp(s, "1") == 0) {
        *on = true;
        return true;
    }
    if (strcmp(s, "off") == 0 || strcmp(s, "0") == 0) {
        *on = false;
        return true;
    }
    return false;
}

static int local_tz_minutes(time_t t)
{
    struct tm tm;
    localtime_r(&t, &tm);
    return (int)(tm.tm_gmtoff / 60);
}

/* ---- access entries ---- */

static void print_access(struct ctx *c, const nix1_addr_t *slave, const char *line, size_t len)
{
    struct nix1_access a;
    char err[128];
    char as[NIX1_ADDR_LEN + 1];
    addr_str(slave, as);
    if (nix1_access_parse(line, len, &a, err, sizeof err) < 0) {
        if (c->g->json) {
            json_t *o = json_object();
            json_object_set_new(o, "type", json_string("access_unparsed"));
            json_object_set_new(o, "slave", json_string(as));
            json_object_set_new(o, "line", json_stringn(line, len));
            json_object_set_new(o, "error", json_string(err));
            out_json(o);
        } else {
            printf("%s unparsable entry (%s): %.*s\n", as, err, (int)len, line);
        }
        return;
    }
    char tz[6];
    nix1_format_tz(a.tz, tz);
    char code[3];
    snprintf(code, sizeof code, "%02X", a.code);
    if (c->g->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("access"));
        json_object_set_new(o, "slave", json_string(as));
        json_object_set_new(o, "uid", json_string(a.uid));
        json_object_set_new(o, "unit", a.has_unit ? json_integer(a.unit) : json_null());
        json_object_set_new(o, "key_time", a.has_key_ts ? json_integer((json_int_t)a.key_ts) : json_null());
        json_object_set_new(o, "time", json_integer((json_int_t)a.ts));
        json_object_set_new(o, "tz", json_string(tz));
        json_object_set_new(o, "probe", json_integer(a.probe));
        json_object_set_new(o, "overdrive", json_integer(a.od));
        json_object_set_new(o, "code", json_string(code));
        json_object_set_new(o, "code_name", json_string(nix1_access_code_name(&a)));
        json_object_set_new(o, "granted", json_boolean(nix1_access_granted(&a)));
        out_json(o);
    } else {
        time_t t = (time_t)a.ts + a.tz * 60;
        struct tm tm;
        gmtime_r(&t, &tm);
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        printf("%s %s %s probe %u unit %s%u uid '%s' %s %s (%s)\n", when, tz, as, a.probe, a.has_unit ? "" : "-",
               a.has_unit ? a.unit : 0, a.uid, nix1_access_granted(&a) ? "GRANTED" : "REFUSED", code,
               nix1_access_code_name(&a));
    }
    fflush(stdout);
}

static void on_access(void *arg, const nix1_addr_t *slave, const char *line, size_t len)
{
    print_access(arg, slave, line, len);
}

static void on_state(void *arg, const nix1_addr_t *slave, enum nix1_slave_state st)
{
    struct ctx *c = arg;
    char as[NIX1_ADDR_LEN + 1];
    addr_str(slave, as);
    if (c->g->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("slave"));
        json_object_set_new(o, "slave", json_string(as));
        json_object_set_new(o, "state", json_string(nix1_slave_state_str(st)));
        out_json(o);
    } else {
        fprintf(stderr, "%s is %s\n", as, nix1_slave_state_str(st));
    }
}

static void on_poll_error(void *arg, const nix1_addr_t *slave, uint8_t rc)
{
    report_error(arg, slave, "Qe", rc);
}

static void on_signal(loop_t *loop, int signo, void *arg)
{
    struct ctx *c = arg;
    (void)signo;
    c->stop = true;
    loop_stop(loop);
}

static int cmd_entries(struct ctx *c, int argc, char **argv)
{
    bool follow = false;
    long rewind = -1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--follow") == 0 || strcmp(argv[i], "-f") == 0)
            follow = true;
        else if (strcmp(argv[i], "--rewind") == 0 && i + 1 < argc) {
            char *e;
            rewind = strtol(argv[++i], &e, 10);
            if (*e || rewind < 0 || rewind > 65534)
                return usage_err("--rewind takes 0-65534");
        } else
            return usage_err("entries [--follow] [--rewind K]");
    }
    if (c->nslaves == 0)
        return usage_err("entries needs --slave ADDR (repeat it to poll several slaves)");
    if (rewind >= 0) {
        char opt[16];
        snprintf(opt, sizeof opt, "%ld", rewind);
        for (size_t i = 0; i < c->nslaves; i++) {
            int rc = xact_raw(c, &c->slaves[i], 'N', 'e', opt, NULL, false);
            if (rc != CTL_EXIT_OK && !follow)
                return rc;
        }
    }
    if (!follow) {
        /* Read each slave until 04. Qe is not idempotent: on a lost reply, rewind by 10 through the
         * poller instead of resending. */
        int worst = CTL_EXIT_OK;
        for (size_t i = 0; i < c->nslaves; i++) {
            for (unsigned n = 0; n < 100000; n++) {
                int rc = xact_raw(c, &c->slaves[i], 'Q', 'e', NULL, NULL, false);
                if (rc != CTL_EXIT_OK) {
                    worst = rc > worst ? rc : worst;
                    break;
                }
                if (c->res.rc == NIX1_RC_EOT)
                    break;
                print_access(c, &c->slaves[i], c->payload, strlen(c->payload));
            }
        }
        return worst;
    }
    c->lis.access = on_access;
    c->lis.slave_state = on_state;
    c->lis.poll_error = on_poll_error;
    for (size_t i = 0; i < c->nslaves; i++)
        nix1_bus_add_slave(c->bus, &c->slaves[i]);
    loop_add_signal(c->loop, SIGINT, on_signal, c);
    loop_add_signal(c->loop, SIGTERM, on_signal, c);
    nix1_bus_set_polling(c->bus, true);
    bool never = false;
    run_until(c, &never);
    return CTL_EXIT_OK;
}

/* ---- file commands ---- */

static void on_xfer(void *arg, const struct nix1_xfer_result *r)
{
    struct ctx *c = arg;
    c->xres = *r;
    c->done = true;
}

static int read_file(const char *path, char **data, size_t *len)
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

static int upload(struct ctx *c, const char *local, const char *name)
{
    char *data = NULL;
    size_t len = 0;
    int e = read_file(local, &data, &len);
    if (e < 0) {
        fprintf(stderr, "portierctl nix1: %s: %s\n", local, strerror(-e));
        return CTL_EXIT_USAGE;
    }
    char err[200];
    struct nix1_xfer_opts o = { .verify = true, .prio = NIX1_PRIO_OPERATOR };
    c->done = false;
    struct nix1_xfer *x = nix1_xfer_upload(c->bus, &c->target, name, data, len, &o, on_xfer, c, err, sizeof err);
    free(data);
    if (!x) {
        fprintf(stderr, "portierctl nix1: %s\n", err);
        return CTL_EXIT_USAGE;
    }
    run_until(c, &c->done);
    if (!c->done) {
        nix1_xfer_cancel(x);
        return CTL_EXIT_UNREACHABLE;
    }
    char as[NIX1_ADDR_LEN + 1];
    addr_str(&c->target, as);
    if (c->g->json) {
        json_t *o2 = json_object();
        json_object_set_new(o2, "type", json_string("upload"));
        json_object_set_new(o2, "slave", json_string(as));
        json_object_set_new(o2, "file", json_string(name));
        json_object_set_new(o2, "ok", json_boolean(c->xres.ok));
        json_object_set_new(o2, "bytes", json_integer((json_int_t)c->xres.bytes));
        char crc[5];
        snprintf(crc, sizeof crc, "%04X", c->xres.crc);
        json_object_set_new(o2, "crc", json_string(crc));
        json_object_set_new(o2, "packets", json_integer(c->xres.packets));
        json_object_set_new(o2, "resends", json_integer(c->xres.resends));
        json_object_set_new(o2, "restarts", json_integer(c->xres.restarts));
        json_object_set_new(o2, "seconds", json_real((double)c->xres.elapsed_us / 1e6));
        if (!c->xres.ok) {
            json_object_set_new(o2, "step", json_string(c->xres.step));
            if (c->xres.rc) {
                char code[3];
                snprintf(code, sizeof code, "%02X", c->xres.rc);
                json_object_set_new(o2, "code", json_string(code));
                json_object_set_new(o2, "code_name", json_string(nix1_rc_name(c->xres.rc)));
            }
            json_object_set_new(o2, "error", json_string(c->xres.msg));
        }
        out_json(o2);
    } else if (c->xres.ok) {
        printf("%s %s (%u resends, %u restarts, %.1f s)\n", as, c->xres.msg, c->xres.resends, c->xres.restarts,
               (double)c->xres.elapsed_us / 1e6);
    } else {
        fprintf(stderr, "%s upload %s failed: %s\n", as, name, c->xres.msg);
        if (c->xres.rc)
            fprintf(stderr, "  %02X %s: %s\n", c->xres.rc, nix1_rc_name(c->xres.rc), nix1_rc_meaning(c->xres.rc));
    }
    if (c->xres.ok)
        return CTL_EXIT_OK;
    return c->xres.status == NIX1_ST_REPLY && c->xres.rc ? CTL_EXIT_DEVICE_ERROR : CTL_EXIT_UNREACHABLE;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int cmd_file(struct ctx *c, int argc, char **argv)
{
    if (argc < 1)
        return usage_err("file ls EXT|get NAME [LOCAL]|put LOCAL [NAME]|rm NAME|cp A B|sum NAME");
    const char *sub = argv[0];
    if (!need_unicast(c, "file"))
        return CTL_EXIT_USAGE;
    char as[NIX1_ADDR_LEN + 1];
    if (strcmp(sub, "ls") == 0 && argc == 2) {
        int rc = xact(c, 'Q', 'i', argv[1]);
        if (rc != CTL_EXIT_OK)
            return rc;
        addr_str(&c->res.from, as);
        for (size_t i = 0; i < c->nlines; i++) {
            char name[13];
            uint64_t size = 0;
            bool ok = nix1_xfer_parse_list_line(c->lines[i], name, &size);
            if (c->g->json) {
                json_t *o = json_object();
                json_object_set_new(o, "type", json_string("file"));
                json_object_set_new(o, "slave", json_string(as));
                json_object_set_new(o, "name", json_string(ok ? name : c->lines[i]));
                json_object_set_new(o, "size", ok ? json_integer((json_int_t)size) : json_null());
                out_json(o);
            } else {
                printf("%-12s %8llu\n", ok ? name : c->lines[i], (unsigned long long)size);
            }
        }
        return CTL_EXIT_OK;
    }
    if (strcmp(sub, "get") == 0 && (argc == 2 || argc == 3)) {
        char opt[40];
        snprintf(opt, sizeof opt, "%s\t0", argv[1]);
        int rc = xact(c, 'Q', 'g', opt);
        if (rc != CTL_EXIT_OK)
            return rc;
        size_t len = 0;
        char *text = nix1_xfer_join_lines((const char *const *)c->lines, c->nlines, &len);
        if (!text)
            return CTL_EXIT_UNREACHABLE;
        if (argc == 3) {
            FILE *f = fopen(argv[2], "wb");
            if (!f || fwrite(text, 1, len, f) != len) {
                fprintf(stderr, "portierctl nix1: %s: %s\n", argv[2], strerror(errno));
                if (f)
                    fclose(f);
                free(text);
                return CTL_EXIT_USAGE;
            }
            fclose(f);
        }
        if (c->g->json) {
            json_t *o = json_object();
            json_object_set_new(o, "type", json_string("file_content"));
            json_object_set_new(o, "slave", json_string(addr_str(&c->res.from, as)));
            json_object_set_new(o, "name", json_string(argv[1]));
            json_object_set_new(o, "lines", json_integer((json_int_t)c->nlines));
            json_object_set_new(o, "content", json_stringn(text, len));
            out_json(o);
        } else if (argc == 2) {
            fwrite(text, 1, len, stdout);
        } else {
            printf("%s: %zu lines, %zu bytes\n", argv[2], c->nlines, len);
        }
        free(text);
        return CTL_EXIT_OK;
    }
    if (strcmp(sub, "put") == 0 && (argc == 2 || argc == 3))
        return upload(c, argv[1], argc == 3 ? argv[2] : base_name(argv[1]));
    if (strcmp(sub, "rm") == 0 && argc == 2)
        return do_set(c, "file rm", 'D', 'g', argv[1]);
    if (strcmp(sub, "cp") == 0 && argc == 3) {
        char opt[40];
        snprintf(opt, sizeof opt, "%s\t%s", argv[1], argv[2]);
        return do_set(c, "file cp", 'N', 'i', opt);
    }
    if (strcmp(sub, "sum") == 0 && argc == 2) {
        static const char *const names[] = { "crc", "size" };
        return do_get(c, "file_sum", 'Q', 'p', argv[1], names, 2);
    }
    return usage_err("file ls EXT|get NAME [LOCAL]|put LOCAL [NAME]|rm NAME|cp A B|sum NAME");
}

/* ---- door state file ---- */

/* Direct mode (no site): "nix1@<port>.state" in the state directory (core/statedir.h). */
static char *default_state_path(const char *port)
{
    char name[300], safe[256], err[200];
    snprintf(name, sizeof name, "nix1@%s.state", statedir_name(port, safe, sizeof safe));
    char *out = malloc(PATH_MAX);
    if (out && statedir_path(name, out, PATH_MAX, err, sizeof err) < 0) {
        fprintf(stderr, "portierctl nix1: %s\n", err);
        free(out);
        out = NULL;
    }
    return out;
}

static void door_load(struct ctx *c, struct nix1_door *d)
{
    char *data = NULL;
    size_t len = 0;
    if (read_file(c->state_path, &data, &len) == 0) {
        if (nix1_door_load(d, data, len) < 0)
            fprintf(stderr, "portierctl nix1: %s: some lines are invalid and were ignored\n", c->state_path);
        free(data);
    }
}

/* nix1_door's store: the remembered state is on disk before a door is changed (write-ahead). */
static int door_store(void *arg, const char *text, size_t len, char *err, size_t errlen)
{
    struct ctx *c = arg;
    int rc = durable_write(c->state_path, text, len, 0600, 0, err, errlen);
    if (rc < 0)
        fprintf(stderr, "portierctl nix1: cannot save the door state: %s\n", err);
    return rc;
}

struct door_wait {
    struct ctx *c;
    bool done;
    int rc;
};

static void on_door(void *arg, const struct nix1_door_report *r)
{
    struct door_wait *w = arg;
    struct ctx *c = w->c;
    for (size_t i = 0; i < r->n; i++) {
        const struct nix1_door_outcome *o = &r->v[i];
        char as[NIX1_ADDR_LEN + 1];
        addr_str(&o->addr, as);
        if (c->g->json) {
            json_t *j = json_object();
            json_object_set_new(j, "type", json_string("door"));
            json_object_set_new(j, "op", json_string(r->op));
            json_object_set_new(j, "slave", json_string(as));
            json_object_set_new(j, "ok", json_boolean(o->ok));
            json_object_set_new(j, "unreachable", json_boolean(o->unreachable));
            json_object_set_new(j, "resent", json_integer(o->resent));
            if (!o->ok)
                json_object_set_new(j, "error", json_string(o->msg));
            if (o->ok && o->until_us) {
                json_object_set_new(j, "until", json_integer((json_int_t)(o->until_us / 1000000)));
                json_object_set_new(j, "cron", json_string(o->cron));
            }
            out_json(j);
        } else {
            printf("%s %s: %s%s%s", as, r->op, o->ok ? "ok" : (o->unreachable ? "UNREACHABLE" : "FAILED"),
                   o->ok ? "" : ": ", o->ok ? "" : o->msg);
            if (o->resent)
                printf(" (%u re-sent by unicast)", o->resent);
            printf("\n");
            if (o->ok && o->until_us) {
                char buf[32];
                time_t until = (time_t)(o->until_us / 1000000);
                struct tm tm;
                localtime_r(&until, &tm);
                strftime(buf, sizeof buf, "%H:%M", &tm);
                printf("door opens now and closes by itself at %s (slave cron \"%s\" on the slave's clock, "
                       "fail-safe)\n", buf, o->cron);
            }
        }
    }
    if (c->g->json) {
        json_t *j = json_object();
        json_object_set_new(j, "type", json_string("door_summary"));
        json_object_set_new(j, "op", json_string(r->op));
        json_object_set_new(j, "ok", json_integer((json_int_t)r->ok));
        json_object_set_new(j, "failed", json_integer((json_int_t)r->failed));
        json_object_set_new(j, "unreachable", json_integer((json_int_t)r->unreachable));
        json_object_set_new(j, "seconds", json_real((double)r->elapsed_us / 1e6));
        out_json(j);
    } else {
        printf("%s: %zu ok, %zu failed, %zu unreachable in %.2f s\n", r->op, r->ok, r->failed, r->unreachable,
               (double)r->elapsed_us / 1e6);
    }
    w->rc = r->failed ? CTL_EXIT_DEVICE_ERROR : r->unreachable ? CTL_EXIT_UNREACHABLE : CTL_EXIT_OK;
    w->done = true;
}

static void quiet_door(void *arg, const struct nix1_door_report *r)
{
    struct door_wait *w = arg;
    (void)r;
    w->done = true;
}

static int cmd_door(struct ctx *c, const char *what, int argc, char **argv)
{
    bool on = false;
    unsigned minutes = 0;
    if (strcmp(what, "open") == 0) {
        char *e;
        long m = argc == 1 ? strtol(argv[0], &e, 10) : 0;
        if (argc != 1 || *e || m < 1 || m > 24 * 60)
            return usage_err("open MINUTES (1-1440)");
        minutes = (unsigned)m;
    } else if (argc != 1 || !parse_onoff(argv[0], &on)) {
        fprintf(stderr, "portierctl nix1: %s on|off\n", what);
        return CTL_EXIT_USAGE;
    }
    bool emergency = strcmp(what, "emergency") == 0;
    if (!emergency && !need_unicast(c, what))
        return CTL_EXIT_USAGE;
    if (!c->state_path)
        c->state_path = default_state_path(c->port);
    if (!c->state_path)
        return CTL_EXIT_USAGE;
    struct nix1_door *d = nix1_door_new(c->bus);
    if (!d)
        return CTL_EXIT_UNREACHABLE;
    door_load(c, d);
    nix1_door_set_store(d, door_store, c);
    for (size_t i = 0; i < c->nslaves; i++)
        nix1_door_add(d, &c->slaves[i]);
    struct door_wait w = { .c = c };
    int rc;
    if (emergency) {
        if (nix1_door_count(d) == 0) {
            nix1_door_free(d);
            return usage_err("emergency needs the bus's slaves: --slave ADDR (repeat) or a state file that knows them");
        }
        if (on && !nix1_door_emergency_active(d)) {
            /* Refresh what will be restored; slaves that do not answer keep what was remembered. */
            struct door_wait sw = { .c = c };
            if (nix1_door_refresh(d, NULL, 0, quiet_door, &sw) == 0)
                run_until(c, &sw.done);
        }
        if (!on && c->wait_s) {
            /* Keep polling so that slaves coming back are restored (the door watches the bus). */
            for (size_t i = 0; i < nix1_door_count(d); i++)
                nix1_bus_add_slave(c->bus, &nix1_door_at(d, i)->addr);
        }
        rc = nix1_door_emergency(d, on, false, on_door, &w);
    } else if (strcmp(what, "hold") == 0) {
        rc = nix1_door_hold(d, &c->target, on, on_door, &w);
    } else {
        /* The window is computed by the door module on the slave's own clock and zone (Qt). */
        rc = nix1_door_timed_open(d, &c->target, minutes, 0, on_door, &w);
    }
    if (rc != 0) {
        nix1_door_free(d);
        return usage_err("cannot start the operation");
    }
    run_until(c, &w.done);
    int result = w.done ? w.rc : CTL_EXIT_UNREACHABLE;
    if (emergency && !on && c->wait_s && result == CTL_EXIT_UNREACHABLE) {
        /* Wait for unreachable slaves to come back and be restored. */
        uint64_t end = loop_mono_us() + (uint64_t)c->wait_s * 1000000u;
        nix1_bus_set_polling(c->bus, true);
        for (;;) {
            bool pending = false;
            for (size_t i = 0; i < nix1_door_count(d); i++)
                pending |= nix1_door_at(d, i)->restore_pending;
            if (!pending && !nix1_door_busy(d)) {
                result = CTL_EXIT_OK;
                if (!c->g->json)
                    printf("every slave restored\n");
                break;
            }
            if (loop_mono_us() > end || c->stop)
                break;
            loop_run_once(c->loop, 200);
        }
    }
    if (!nix1_door_busy(d)) /* a job still on the bus (interrupted) keeps the door alive */
        nix1_door_free(d);
    return result;
}

/* ---- provisioning / key rotation ---- */

static void on_prov_line(void *arg, const char *line)
{
    struct ctx *c = arg;
    if (!c->g->json)
        printf("%s\n", line);
}

struct prov_wait {
    bool done;
    struct nix1_prov_report rep;
};

static void on_prov(void *arg, const struct nix1_prov_report *r)
{
    struct prov_wait *w = arg;
    w->rep = *r;
    w->done = true;
}

static int cmd_provision(struct ctx *c, int argc, char **argv)
{
    if (argc != 1)
        return usage_err("provision DIR (keys.txt units.txt users.txt cron.txt)");
    if (c->nslaves == 0)
        return usage_err("provision needs --slave ADDR (repeat it for several slaves)");
    char err[300];
    struct nix1_prov_opts o = { .log = on_prov_line, .log_arg = c };
    struct prov_wait w = { 0 };
    struct nix1_prov *p = nix1_prov_start(c->bus, argv[0], c->slaves, c->nslaves, &o, on_prov, &w, err, sizeof err);
    if (!p) {
        fprintf(stderr, "portierctl nix1: %s\n", err);
        return CTL_EXIT_USAGE;
    }
    run_until(c, &w.done);
    int rc = CTL_EXIT_UNREACHABLE;
    if (w.done) {
        if (c->g->json) {
            json_t *o2 = json_object();
            json_object_set_new(o2, "type", json_string("provision"));
            json_object_set_new(o2, "slaves", json_integer((json_int_t)w.rep.slaves));
            json_object_set_new(o2, "changed_slaves", json_integer((json_int_t)w.rep.changed_slaves));
            json_object_set_new(o2, "commands", json_integer((json_int_t)w.rep.commands));
            json_object_set_new(o2, "files_pushed", json_integer((json_int_t)w.rep.files_pushed));
            json_object_set_new(o2, "records", json_integer((json_int_t)w.rep.records));
            json_object_set_new(o2, "deleted", json_integer((json_int_t)w.rep.deleted));
            json_object_set_new(o2, "verified", json_integer((json_int_t)w.rep.verified));
            json_object_set_new(o2, "failed", json_integer((json_int_t)w.rep.failed));
            json_object_set_new(o2, "unreachable", json_integer((json_int_t)w.rep.unreachable));
            out_json(o2);
        } else {
            printf("provisioned %zu slaves: %zu changed (%zu records, %zu files pushed, %zu deleted), %zu verified, "
                   "%zu failed, %zu unreachable\n",
                   w.rep.slaves, w.rep.changed_slaves, w.rep.records, w.rep.files_pushed, w.rep.deleted,
                   w.rep.verified, w.rep.failed, w.rep.unreachable);
        }
        rc = w.rep.failed ? CTL_EXIT_DEVICE_ERROR : w.rep.unreachable ? CTL_EXIT_UNREACHABLE : CTL_EXIT_OK;
        nix1_prov_free(p); /* if interrupted, requests still reference it until the bus is freed */
    }
    return rc;
}

static int cmd_key_rotate(struct ctx *c, int argc, char **argv)
{
    if (argc < 1)
        return usage_err("key rotate DIR [--max-age DAYS]");
    unsigned days = 30;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--max-age") == 0 && i + 1 < argc) {
            char *e;
            long v = strtol(argv[++i], &e, 10);
            if (*e || v < 1 || v > 3650)
                return usage_err("--max-age takes 1-3650 days");
            days = (unsigned)v;
        } else {
            return usage_err("key rotate DIR [--max-age DAYS]");
        }
    }
    char err[300];
    struct prov_wait w = { 0 };
    struct nix1_prov_opts o = { .log = on_prov_line, .log_arg = c };
    struct nix1_prov *p = nix1_prov_rotate_key(c->bus, argv[0], (uint64_t)time(NULL), (uint64_t)days * 86400u,
                                               c->slaves, c->nslaves, &o, on_prov, &w, err, sizeof err);
    if (!p) {
        fprintf(stderr, "portierctl nix1: %s\n", err);
        return CTL_EXIT_USAGE;
    }
    run_until(c, &w.done);
    int rc = w.done ? (w.rep.failed ? CTL_EXIT_DEVICE_ERROR : w.rep.unreachable ? CTL_EXIT_UNREACHABLE : CTL_EXIT_OK)
                    : CTL_EXIT_UNREACHABLE;
    if (w.done && c->g->json) {
        json_t *o2 = json_object();
        json_object_set_new(o2, "type", json_string("key_rotation"));
        json_object_set_new(o2, "key_time", json_integer((json_int_t)w.rep.key_ts));
        json_object_set_new(o2, "pruned", json_integer((json_int_t)w.rep.deleted));
        json_object_set_new(o2, "verified", json_integer((json_int_t)w.rep.verified));
        json_object_set_new(o2, "unreachable", json_integer((json_int_t)w.rep.unreachable));
        out_json(o2);
    }
    if (w.done)
        nix1_prov_free(p);
    return rc;
}

/* ---- commissioning ---- */

static int cmd_scan(struct ctx *c, int argc, char **argv)
{
    const char *assign = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--assign") == 0 && i + 1 < argc)
            assign = argv[++i];
        else
            return usage_err("scan [--assign UNIT1[,UNIT2]]");
    }
    int rc = xact_raw(c, &nix1_addr_scratch, 'Q', 'n', NULL, NULL, true);
    if (rc == CTL_EXIT_UNREACHABLE) {
        if (c->g->json) {
            json_t *o = json_object();
            json_object_set_new(o, "type", json_string("scan"));
            json_object_set_new(o, "found", json_false());
            out_json(o);
        } else {
            printf("no unconfigured slave answered the scratch address (or two answered at once: commission one at a time)\n");
        }
        return CTL_EXIT_UNREACHABLE;
    }
    if (rc != CTL_EXIT_OK) {
        report_error(c, &nix1_addr_scratch, "Qn", c->res.rc);
        return rc;
    }
    nix1_addr_t found = c->res.from;
    char as[NIX1_ADDR_LEN + 1];
    addr_str(&found, as);
    char warn[160];
    bool crc_ok = nix1_addr_check(&found, warn, sizeof warn);
    if (c->g->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("scan"));
        json_object_set_new(o, "found", json_true());
        json_object_set_new(o, "slave", json_string(as));
        json_object_set_new(o, "version", json_string(c->payload));
        json_object_set_new(o, "crc_ok", json_boolean(crc_ok));
        out_json(o);
    } else {
        printf("new slave %s (firmware %s)\n", as, c->payload);
        if (!crc_ok)
            fprintf(stderr, "warning: %s\n", warn);
    }
    if (!assign)
        return CTL_EXIT_OK;
    char units[2][16] = { "", "" };
    const char *comma = strchr(assign, ',');
    snprintf(units[0], sizeof units[0], "%.*s", (int)(comma ? (size_t)(comma - assign) : strlen(assign)), assign);
    if (comma)
        snprintf(units[1], sizeof units[1], "%s", comma + 1);
    for (int p = 0; p < 2; p++) {
        if (!units[p][0])
            continue;
        char opt[48];
        snprintf(opt, sizeof opt, "%d\t%s", p + 1, units[p]);
        rc = xact_raw(c, &found, 'N', 'u', opt, NULL, false);
        if (rc != CTL_EXIT_OK)
            return rc;
        if (c->g->json) {
            json_t *o = json_object();
            json_object_set_new(o, "type", json_string("unit"));
            json_object_set_new(o, "slave", json_string(as));
            json_object_set_new(o, "probe", json_integer(p + 1));
            json_object_set_new(o, "unit", json_string(units[p]));
            out_json(o);
        } else {
            printf("%s probe %d serves unit %s\n", as, p + 1, units[p]);
        }
    }
    return CTL_EXIT_OK;
}

/* ---- status ---- */

static int cmd_status(struct ctx *c)
{
    if (!need_unicast(c, "status"))
        return CTL_EXIT_USAGE;
    struct { char cmd, arg; const char *opt; const char *name; } q[] = {
        { 'Q', 'n', NULL, "version" }, { 'Q', 's', NULL, "status" }, { 'Q', 'm', NULL, "mode" },
        { 'Q', 't', NULL, "time" }, { 'Q', 'u', "1", "unit1" }, { 'Q', 'u', "2", "unit2" },
        { 'Q', 'l', "1", "lock1" }, { 'Q', 'l', "2", "lock2" }, { 'Q', 'v', NULL, "overdrive" },
        { 'Q', 'b', NULL, "bad_timeout" }, { 'Q', 'c', NULL, "valid_timeout" }, { 'Q', 'h', NULL, "cron" },
        { 'Q', 'o', NULL, "cron_mode" },
    };
    json_t *o = c->g->json ? json_object() : NULL;
    char as[NIX1_ADDR_LEN + 1];
    int worst = CTL_EXIT_OK;
    bool any = false;
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        int rc = xact_raw(c, &c->target, q[i].cmd, q[i].arg, q[i].opt, NULL, true);
        if (rc == CTL_EXIT_UNREACHABLE) {
            if (o)
                json_decref(o);
            report_noanswer(c, &c->target, "status", c->res.error ? c->res.error : "timeout");
            return CTL_EXIT_UNREACHABLE;
        }
        if (!any) {
            addr_str(&c->res.from, as);
            if (o) {
                json_object_set_new(o, "type", json_string("status"));
                json_object_set_new(o, "slave", json_string(as));
            } else {
                printf("slave %s\n", as);
            }
            any = true;
        }
        char val[200];
        if (rc == CTL_EXIT_OK) {
            snprintf(val, sizeof val, "%s", c->payload);
            for (char *s = val; *s; s++)
                if (*s == '\t')
                    *s = ' ';
        } else {
            snprintf(val, sizeof val, "(%02X %s)", c->res.rc, nix1_rc_name(c->res.rc));
            /* unset unit (76) and missing cron (60) are normal states, not failures */
            if (!(c->res.rc == NIX1_RC_ERROR_UNIT || c->res.rc == NIX1_RC_ERROR_SYNTAX))
                worst = CTL_EXIT_DEVICE_ERROR;
        }
        if (o)
            json_object_set_new(o, q[i].name, rc == CTL_EXIT_OK ? json_string(val) : json_null());
        else
            printf("  %-14s %s\n", q[i].name, val);
    }
    if (o)
        out_json(o);
    return worst;
}

/* ---- raw ---- */

static int cmd_raw(struct ctx *c, int argc, char **argv)
{
    if (argc != 1)
        return usage_err("raw LINE (what follows the address, e.g. 'Qb' or 'Nr user1\\t14\\t* * * * *'; \\t = TAB)");
    if (c->tk == TGT_NONE)
        return usage_err("raw needs --slave ADDR, --broadcast or --scratch");
    char line[NIX1_LINE_MAX + 1];
    size_t k = 0;
    for (const char *s = argv[0]; *s && k < sizeof line - 1; s++) {
        if (s[0] == '\\' && s[1] == 't') {
            line[k++] = '\t';
            s++;
        } else {
            line[k++] = *s;
        }
    }
    line[k] = 0;
    if (c->tk == TGT_BROADCAST) {
        const struct nix1_cmd *cm = k >= 2 ? nix1_cmd_lookup(line[0], line[1]) : NULL;
        if (!cm || !cm->broadcast) {
            report_error(c, &nix1_addr_broadcast, k >= 2 ? (char[]){ line[0], line[1], 0 } : "??",
                         NIX1_RC_ERROR_NOBROADCAST);
            return CTL_EXIT_DEVICE_ERROR;
        }
    }
    int rc = xact_raw(c, &c->target, 0, 0, NULL, line, false);
    if (rc != CTL_EXIT_OK)
        return rc;
    char as[NIX1_ADDR_LEN + 1];
    if (c->g->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("raw"));
        json_object_set_new(o, "slave", json_string(c->tk == TGT_BROADCAST ? NIX1_ADDR_BROADCAST_STR : addr_str(&c->res.from, as)));
        if (c->res.status == NIX1_ST_REPLY) {
            char code[3];
            snprintf(code, sizeof code, "%02X", c->res.rc);
            json_object_set_new(o, "code", json_string(code));
            json_object_set_new(o, "code_name", json_string(nix1_rc_name(c->res.rc)));
            json_object_set_new(o, "payload", json_string(c->payload));
            json_t *ls = json_array();
            for (size_t i = 0; i < c->nlines; i++)
                json_array_append_new(ls, json_string(c->lines[i]));
            json_object_set_new(o, "lines", ls);
        } else {
            json_object_set_new(o, "sent", json_true());
        }
        out_json(o);
    } else if (c->res.status == NIX1_ST_REPLY) {
        for (size_t i = 0; i < c->nlines; i++)
            printf("%s\n", c->lines[i]);
        printf("%s %02X %s%s%s\n", addr_str(&c->res.from, as), c->res.rc, nix1_rc_name(c->res.rc),
               c->payload[0] ? "\t" : "", c->payload);
    } else {
        printf("sent (broadcasts get no reply)\n");
    }
    return CTL_EXIT_OK;
}

/* ---- dispatcher ---- */

/* After Nn the slave is busy (16) while it flashes, then restarts (silent, then 16 while it initialises) or,
 * on failure, sets general status b4 (§5.5 46 ERROR_FLASH, §5.7). Poll Qs until it answers for real. */
static int firmware_outcome(struct ctx *c, unsigned retries)
{
    char as[NIX1_ADDR_LEN + 1];
    addr_str(&c->target, as);
    if (!c->g->json)
        printf("%s flashing (the slave is busy, then restarts)...\n", as);
    fflush(stdout);
    /* each attempt may take a while on real hardware; the bus itself waits out 16 for up to 60 s */
    uint64_t end = loop_mono_us() + (uint64_t)(retries + 1) * 60000000u + 10000000u;
    int rc;
    for (;;) {
        rc = xact_raw(c, &c->target, 'Q', 's', NULL, NULL, true);
        if (rc == CTL_EXIT_OK || c->stop || loop_mono_us() > end)
            break;
        if (c->res.status == NIX1_ST_REPLY && c->res.rc != NIX1_RC_SYN) {
            report_error(c, &c->target, "Qs", c->res.rc);
            return CTL_EXIT_DEVICE_ERROR;
        }
    }
    if (rc != CTL_EXIT_OK) {
        report_noanswer(c, &c->target, "firmware", "no answer after flashing");
        return CTL_EXIT_UNREACHABLE;
    }
    uint64_t st = 0;
    if (!nix1_parse_hex(c->payload, strlen(c->payload), 2, &st)) {
        report_noanswer(c, &c->target, "firmware", "unreadable general status");
        return CTL_EXIT_UNREACHABLE;
    }
    bool failed = st & 0x10, restarted = st & 0x01;
    char version[80] = "";
    if (!failed && xact_raw(c, &c->target, 'Q', 'n', NULL, NULL, true) == CTL_EXIT_OK)
        snprintf(version, sizeof version, "%s", c->payload);
    if (c->g->json) {
        json_t *o = json_object();
        char hs[3];
        snprintf(hs, sizeof hs, "%02X", (unsigned)st);
        json_object_set_new(o, "type", json_string("firmware"));
        json_object_set_new(o, "slave", json_string(as));
        json_object_set_new(o, "ok", json_boolean(!failed));
        json_object_set_new(o, "status", json_string(hs));
        json_object_set_new(o, "restarted", json_boolean(restarted));
        if (!failed)
            json_object_set_new(o, "version", json_string(version));
        else
            json_object_set_new(o, "code_name", json_string(nix1_rc_name(NIX1_RC_ERROR_FLASH)));
        out_json(o);
    } else if (failed) {
        fprintf(stderr, "%s firmware: flashing failed (general status %02X, b4): %02X %s: %s\n", as, (unsigned)st,
                NIX1_RC_ERROR_FLASH, nix1_rc_name(NIX1_RC_ERROR_FLASH), nix1_rc_meaning(NIX1_RC_ERROR_FLASH));
    } else {
        printf("%s firmware: flashed%s, version %s\n", as, restarted ? " and restarted" : "", version);
    }
    return failed ? CTL_EXIT_DEVICE_ERROR : CTL_EXIT_OK;
}

static int dispatch(struct ctx *c, int argc, char **argv)
{
    const char *w = argv[0];
    const char *a1 = argc > 1 ? argv[1] : NULL;
    const char *a2 = argc > 2 ? argv[2] : NULL;
    const char *a3 = argc > 3 ? argv[3] : NULL;
    char opt[NIX1_LINE_MAX];
    unsigned p = 0;
    bool on = false;

    if (strcmp(w, "status") == 0 && argc == 1)
        return cmd_status(c);
    if (strcmp(w, "scan") == 0)
        return cmd_scan(c, argc - 1, argv + 1);
    if (strcmp(w, "raw") == 0)
        return cmd_raw(c, argc - 1, argv + 1);
    if (strcmp(w, "entries") == 0)
        return cmd_entries(c, argc - 1, argv + 1);
    if (strcmp(w, "file") == 0)
        return cmd_file(c, argc - 1, argv + 1);
    if (strcmp(w, "provision") == 0)
        return cmd_provision(c, argc - 1, argv + 1);
    if (strcmp(w, "hold") == 0 || strcmp(w, "emergency") == 0 || strcmp(w, "open") == 0)
        return cmd_door(c, w, argc - 1, argv + 1);
    if (strcmp(w, "time") == 0 && argc == 2 && strcmp(a1, "get") == 0) {
        static const char *const n[] = { "time", "tz" };
        return do_get(c, "time", 'Q', 't', NULL, n, 2);
    }
    if (strcmp(w, "time") == 0 && argc == 2 && strcmp(a1, "sync") == 0) {
        time_t now = time(NULL);
        char tz[6];
        nix1_format_tz(local_tz_minutes(now), tz);
        snprintf(opt, sizeof opt, "%lld\t%s", (long long)now, tz);
        return do_set(c, "time sync", 'N', 't', opt);
    }
    if (strcmp(w, "timeouts") == 0 && argc == 2 && strcmp(a1, "get") == 0) {
        int rc = xact(c, 'Q', 'c', NULL);
        if (rc != CTL_EXIT_OK)
            return rc;
        char valid[32];
        snprintf(valid, sizeof valid, "%s", c->payload);
        rc = xact(c, 'Q', 'b', NULL);
        if (rc != CTL_EXIT_OK)
            return rc;
        char as[NIX1_ADDR_LEN + 1];
        addr_str(&c->res.from, as);
        if (c->g->json) {
            json_t *o = json_object();
            json_object_set_new(o, "type", json_string("timeouts"));
            json_object_set_new(o, "slave", json_string(as));
            json_object_set_new(o, "valid", json_integer(atoi(valid)));
            json_object_set_new(o, "bad", json_integer(atoi(c->payload)));
            out_json(o);
        } else {
            printf("%s valid=%s bad=%s (seconds)\n", as, valid, c->payload);
        }
        return CTL_EXIT_OK;
    }
    if (strcmp(w, "timeouts") == 0 && argc >= 3 && strcmp(a1, "set") == 0) {
        int rc = CTL_EXIT_OK;
        for (int i = 2; i < argc && rc == CTL_EXIT_OK; i++) {
            if (strncmp(argv[i], "valid=", 6) == 0)
                rc = do_set(c, "timeouts set valid", 'N', 'c', argv[i] + 6);
            else if (strncmp(argv[i], "bad=", 4) == 0)
                rc = do_set(c, "timeouts set bad", 'N', 'b', argv[i] + 4);
            else
                return usage_err("timeouts set valid=S bad=S");
        }
        return rc;
    }
    if (strcmp(w, "lock") == 0 && argc == 3 && parse_probe(a1, &p)) {
        if (strcmp(a2, "get") == 0) {
            static const char *const n[] = { "locked" };
            snprintf(opt, sizeof opt, "%u", p);
            return do_get(c, "lock", 'Q', 'l', opt, n, 1);
        }
        if (parse_onoff(a2, &on)) {
            snprintf(opt, sizeof opt, "%u\t%d", p, on ? 1 : 0);
            return do_set(c, on ? "lock on" : "lock off", 'N', 'l', opt);
        }
    }
    if (strcmp(w, "unit") == 0 && argc >= 3 && parse_probe(a1, &p)) {
        snprintf(opt, sizeof opt, "%u", p);
        if (strcmp(a2, "get") == 0 && argc == 3) {
            static const char *const n[] = { "unit" };
            return do_get(c, "unit", 'Q', 'u', opt, n, 1);
        }
        if (strcmp(a2, "clear") == 0 && argc == 3)
            return do_set(c, "unit clear", 'D', 'u', opt);
        if (strcmp(a2, "set") == 0 && argc == 4) {
            snprintf(opt, sizeof opt, "%u\t%s", p, a3);
            return do_set(c, "unit set", 'N', 'u', opt);
        }
    }
    if (strcmp(w, "cron") == 0 && argc >= 2) {
        if (strcmp(a1, "get") == 0 && argc == 2) {
            static const char *const n[] = { "cron" };
            return do_get(c, "cron", 'Q', 'h', NULL, n, 1);
        }
        if (strcmp(a1, "clear") == 0 && argc == 2)
            return do_set(c, "cron clear", 'D', 'h', NULL);
        if (strcmp(a1, "set") == 0 && argc >= 3) {
            struct strbuf sb;
            STRBUF_ON(&sb, opt);
            if (!strbuf_join(&sb, " ", (const char *const *)argv + 2, (size_t)argc - 2))
                return usage_err("cron set: the expression is too long for a NiX1 line");
            return do_set(c, "cron set", 'N', 'h', opt);
        }
    }
    if ((strcmp(w, "cron-mode") == 0 || strcmp(w, "mode") == 0) && argc >= 2) {
        bool cm = w[1] == 'r';
        if (strcmp(a1, "get") == 0 && argc == 2) {
            static const char *const n1[] = { "cron_mode" }, *const n2[] = { "mode" };
            return do_get(c, cm ? "cron_mode" : "mode", 'Q', cm ? 'o' : 'm', NULL, cm ? n1 : n2, 1);
        }
        if (strcmp(a1, "set") == 0 && argc == 3)
            return do_set(c, cm ? "cron-mode set" : "mode set", 'N', cm ? 'o' : 'm', a2);
    }
    if (strcmp(w, "overdrive") == 0 && argc >= 2) {
        if (strcmp(a1, "get") == 0 && argc == 2) {
            static const char *const n[] = { "overdrive1", "overdrive2" };
            return do_get(c, "overdrive", 'Q', 'v', NULL, n, 2);
        }
        if (argc == 3 && parse_probe(a1, &p)) {
            if (strcmp(a2, "get") == 0) {
                static const char *const n[] = { "overdrive" };
                snprintf(opt, sizeof opt, "%u", p);
                return do_get(c, "overdrive", 'Q', 'v', opt, n, 1);
            }
            if (parse_onoff(a2, &on)) {
                snprintf(opt, sizeof opt, "%u\t%d", p, on ? 1 : 0);
                return do_set(c, on ? "overdrive on" : "overdrive off", 'N', 'v', opt);
            }
        }
    }
    if (strcmp(w, "baud") == 0 && argc == 3 && strcmp(a1, "set") == 0) {
        int rc = do_set(c, "baud set", 'N', 'z', a2);
        if (rc == CTL_EXIT_OK) {
            int e = nix1_bus_set_baud(c->bus, (unsigned)atoi(a2));
            if (e < 0 && !c->g->json)
                fprintf(stderr, "note: the local line speed was not changed (%s); set the device server to %s baud\n",
                        strerror(-e), a2);
        }
        return rc;
    }
    if (strcmp(w, "user") == 0 && argc >= 2) {
        if (strcmp(a1, "get") == 0 && argc == 3) {
            static const char *const n[] = { "uid", "key_time", "increment" };
            return do_get(c, "user", 'Q', 'x', a2, n, 3);
        }
        if (strcmp(a1, "set") == 0 && argc == 5) {
            snprintf(opt, sizeof opt, "%s\t%s\t%s", a2, a3, argv[4]);
            return do_set(c, "user set", 'N', 'x', opt);
        }
        if (strcmp(a1, "del") == 0 && argc == 3)
            return do_set(c, "user del", 'D', 'x', a2);
    }
    if (strcmp(w, "right") == 0 && argc >= 2) {
        if (strcmp(a1, "get") == 0 && argc == 4) {
            static const char *const n[] = { "cron" };
            snprintf(opt, sizeof opt, "%s\t%s", a2, a3);
            return do_get(c, "right", 'Q', 'r', opt, n, 1);
        }
        if (strcmp(a1, "set") == 0 && argc >= 5) {
            struct strbuf sb;
            STRBUF_ON(&sb, opt);
            strbuf_printf(&sb, "%s\t%s\t", a2, a3);
            if (!strbuf_join(&sb, " ", (const char *const *)argv + 4, (size_t)argc - 4))
                return usage_err("right set: the arguments are too long for a NiX1 line");
            return do_set(c, "right set", 'N', 'r', opt);
        }
        if (strcmp(a1, "del") == 0 && (argc == 4 || (argc == 3 && strcmp(a2, "0") == 0))) {
            if (argc == 4)
                snprintf(opt, sizeof opt, "%s\t%s", a2, a3);
            else
                snprintf(opt, sizeof opt, "0");
            return do_set(c, "right del", 'D', 'r', opt);
        }
    }
    if (strcmp(w, "key") == 0 && argc >= 2) {
        if (strcmp(a1, "get") == 0 && argc == 2) {
            static const char *const n[] = { "key_time", "key" };
            return do_get(c, "key", 'Q', 'k', NULL, n, 2);
        }
        if (strcmp(a1, "add") == 0 && argc == 4) {
            snprintf(opt, sizeof opt, "%s\t%s", a2, a3);
            return do_set(c, "key add", 'N', 'k', opt);
        }
        if (strcmp(a1, "del") == 0 && argc == 3)
            return do_set(c, "key del", 'D', 'k', a2);
        if (strcmp(a1, "rotate") == 0)
            return cmd_key_rotate(c, argc - 2, argv + 2);
    }
    if (strcmp(w, "format") == 0 && argc == 1)
        return do_set(c, "format", 'D', 'a', NULL);
    if (strcmp(w, "restart") == 0 && argc == 1)
        return do_set(c, "restart", 'D', 's', NULL);
    if (strcmp(w, "tmp") == 0 && argc == 2 && strcmp(a1, "clear") == 0)
        return do_set(c, "tmp clear", 'D', 'y', NULL);
    if (strcmp(w, "general-status") == 0 && argc >= 2) {
        if (strcmp(a1, "get") == 0) {
            static const char *const n[] = { "status" };
            return do_get(c, "general_status", 'Q', 's', NULL, n, 1);
        }
        if (strcmp(a1, "set") == 0 && argc == 3)
            return do_set(c, "general-status set", 'N', 's', a2);
    }
    if (strcmp(w, "version") == 0 && argc == 1) {
        static const char *const n[] = { "version" };
        return do_get(c, "version", 'Q', 'n', NULL, n, 1);
    }
    if (strcmp(w, "firmware") == 0 && (argc == 2 || argc == 3)) {
        if (!need_unicast(c, "firmware"))
            return CTL_EXIT_USAGE;
        const char *name = base_name(a1);
        int rc = upload(c, a1, name);
        if (rc != CTL_EXIT_OK)
            return rc;
        snprintf(opt, sizeof opt, "%s\t%s", name, argc == 3 ? a2 : "3");
        rc = do_set(c, "firmware flash", 'N', 'n', opt);
        return rc == CTL_EXIT_OK ? firmware_outcome(c, argc == 3 ? (unsigned)atoi(a2) : 3) : rc;
    }
    fprintf(stderr, "portierctl nix1: unknown or incomplete command '%s'\n", w);
    return CTL_EXIT_USAGE;
}

int ctl_nix1_legacy_main(const struct ctl_opts *g, int argc, char **argv)
{
    static struct ctx cx;
    struct ctx *c = &cx;
    memset(c, 0, sizeof *c);
    c->g = g;
    g_ctx = c;
    if (argc < 2)
        return usage_err("usage: portierctl nix1 PORT [options] COMMAND ...");
    c->port = argv[0];
    struct xport_serial_opts so = { .baud = 9600, .rs485 = XPORT_RS485_AUTO };
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--baud") == 0 && v) {
            char *e;
            long b = strtol(v, &e, 10);
            if (*e || !nix1_baud_valid((uint64_t)(b < 0 ? 0 : b)))
                return usage_err("--baud must be 1200, 2400, 4800, 9600, 19200, 38400, 57600 or 115200");
            so.baud = (unsigned)b;
            i++;
        } else if (strcmp(o, "--rs485") == 0 && v) {
            if (xport_rs485_parse(v, &so.rs485) < 0)
                return usage_err("--rs485 auto|kernel|rts");
            i++;
        } else if (strcmp(o, "--slave") == 0 && v) {
            /* ADDR or ADDR,ADDR,... ; repeatable */
            char buf[4096];
            snprintf(buf, sizeof buf, "%s", v);
            for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
                nix1_addr_t a;
                if (nix1_addr_parse_str(tok, &a) < 0)
                    return usage_err("--slave takes 16 hex digits");
                char warn[160];
                if (!nix1_addr_check(&a, warn, sizeof warn) && g->verbose)
                    fprintf(stderr, "warning: %s\n", warn);
                if (c->nslaves < MAX_SLAVES)
                    c->slaves[c->nslaves++] = a;
                if (c->tk == TGT_NONE) {
                    c->tk = TGT_SLAVE;
                    c->target = a;
                }
            }
            i++;
        } else if (strcmp(o, "--broadcast") == 0) {
            c->tk = TGT_BROADCAST;
            c->target = nix1_addr_broadcast;
        } else if (strcmp(o, "--scratch") == 0) {
            c->tk = TGT_SCRATCH;
            c->target = nix1_addr_scratch;
        } else if (strcmp(o, "--state") == 0 && v) {
            c->state_path = v;
            i++;
        } else if (strcmp(o, "--wait") == 0 && v) {
            c->wait_s = (unsigned)atoi(v);
            i++;
        } else {
            fprintf(stderr, "portierctl nix1: unknown option '%s'\n", o);
            return CTL_EXIT_USAGE;
        }
    }
    if (i >= argc)
        return usage_err("missing COMMAND");
    c->loop = loop_new();
    if (!c->loop)
        return CTL_EXIT_UNREACHABLE;
    char err[256];
    c->bus = nix1_bus_open(c->loop, c->port, &so, NULL, err, sizeof err);
    if (!c->bus) {
        if (g->json) {
            json_t *o = json_object();
            json_object_set_new(o, "type", json_string("error"));
            json_object_set_new(o, "error", json_string(err));
            out_json(o);
        }
        fprintf(stderr, "portierctl nix1: %s\n", err);
        loop_free(c->loop);
        return CTL_EXIT_UNREACHABLE;
    }
    c->lis.arg = c;
    c->lis.transport = on_transport;
    if (g->verbose)
        c->lis.trace = on_trace;
    nix1_bus_add_listener(c->bus, &c->lis);
    int rc = dispatch(c, argc - i, argv + i);
    nix1_bus_free(c->bus);
    free_last(c);
    loop_free(c->loop);
    return rc;
}

