/* ctl_nix1_cmds: the `portierctl nix1` commands that are more than one request: status, scan (commissioning),
 * entries (read or follow), time sync, timeouts, baud set, raw. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/ctl_nix1.h"
#include "drivers/nix1/nix1_access.h"
#include "drivers/nix1/nix1_cmd.h"
#include "drivers/nix1/nix1_line.h"
#include "drivers/nix1/nix1_rc.h"

/* ---- argument checks used by the table ---- */

int n1_check_timeout_setting(const char *v, char *err, size_t errlen)
{
    const char *eq = strchr(v, '=');
    size_t kl = eq ? (size_t)(eq - v) : 0;
    if (!eq || !((kl == 5 && strncmp(v, "valid", 5) == 0) || (kl == 3 && strncmp(v, "bad", 3) == 0)))
        return snprintf(err, errlen, "'%.30s' is not valid=S or bad=S", v), -1;
    long long s;
    char why[128];
    if (ctl_parse_uint(eq + 1, 0, 255, &s, why, sizeof why) < 0)
        return snprintf(err, errlen, "%.*s: %s", (int)kl, v, why), -1;
    return 0;
}

/* "U1" or "U1,U2": units 0-65534 for probe 1 (and 2). */
int n1_check_units(const char *v, char *err, size_t errlen)
{
    const char *comma = strchr(v, ',');
    char one[24];
    for (int i = 0; i < 2; i++) {
        const char *s = i == 0 ? v : comma ? comma + 1 : NULL;
        size_t n = i == 0 ? (comma ? (size_t)(comma - v) : strlen(v)) : s ? strlen(s) : 0;
        if (!s)
            break;
        if (n == 0 && i == 0 && comma)
            continue; /* ",8": probe 2 only */
        snprintf(one, sizeof one, "%.*s", (int)(n < 23 ? n : 23), s);
        long long u;
        char why[128];
        if (ctl_parse_uint(one, 0, 65534, &u, why, sizeof why) < 0)
            return snprintf(err, errlen, "unit for probe %d: %s", i + 1, why), -1;
    }
    return 0;
}

/* ---- status ---- */

static int status_body(struct n1ctx *c, struct ctl_call *call)
{
    int rc = CTL_EXIT_OK;
    static const struct { char cmd, arg; const char *opt; const char *name; } q[] = {
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
        rc = n1_xact_raw(c, &c->target, q[i].cmd, q[i].arg, q[i].opt, NULL, true);
        if (rc == CTL_EXIT_UNREACHABLE) {
            json_decref(o);
            n1_report_noanswer(c, &c->target, "status", c->res.error ? c->res.error : "timeout");
            return CTL_EXIT_UNREACHABLE;
        }
        if (!any) {
            n1_addr(&c->res.from, as);
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
        ctl_print_json(o);
    return worst;
}

int n1_cmd_status(struct ctl_call *call)
{
    return n1_with_bus(call, status_body);
}

/* ---- commissioning ---- */

static int scan_body(struct n1ctx *c, struct ctl_call *call)
{
    int rc = CTL_EXIT_OK;
    const char *assign = ctl_str(call, "assign", NULL);
    rc = n1_xact_raw(c, &nix1_addr_scratch, 'Q', 'n', NULL, NULL, true);
    if (rc == CTL_EXIT_UNREACHABLE) {
        if (c->g->json) {
            json_t *o = json_object();
            json_object_set_new(o, "type", json_string("scan"));
            json_object_set_new(o, "found", json_false());
            ctl_print_json(o);
        } else {
            printf("no unconfigured slave answered the scratch address (or two answered at once: commission one at "
                   "a time)\n");
        }
        return CTL_EXIT_UNREACHABLE;
    }
    if (rc != CTL_EXIT_OK) {
        n1_report_error(c, &nix1_addr_scratch, "Qn", c->res.rc);
        return rc;
    }
    nix1_addr_t found = c->res.from;
    char as[NIX1_ADDR_LEN + 1];
    n1_addr(&found, as);
    char warn[160];
    bool crc_ok = nix1_addr_check(&found, warn, sizeof warn);
    if (c->g->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("scan"));
        json_object_set_new(o, "found", json_true());
        json_object_set_new(o, "slave", json_string(as));
        json_object_set_new(o, "version", json_string(c->payload));
        json_object_set_new(o, "crc_ok", json_boolean(crc_ok));
        ctl_print_json(o);
    } else {
        printf("new slave %s (firmware %s)\n", as, c->payload);
        if (!crc_ok)
            fprintf(stderr, "warning: %s\n", warn);
    }
    char units[2][16] = { "", "" };
    if (assign) {
        const char *comma = strchr(assign, ',');
        snprintf(units[0], sizeof units[0], "%.*s", (int)(comma ? (size_t)(comma - assign) : strlen(assign)), assign);
        if (comma)
            snprintf(units[1], sizeof units[1], "%s", comma + 1);
    }
    for (int p = 0; p < 2 && rc == CTL_EXIT_OK; p++) {
        if (!units[p][0])
            continue;
        char opt[48];
        snprintf(opt, sizeof opt, "%d\t%s", p + 1, units[p]);
        rc = n1_xact_raw(c, &found, 'N', 'u', opt, NULL, false);
        if (rc != CTL_EXIT_OK)
            break;
        if (c->g->json) {
            json_t *o = json_object();
            json_object_set_new(o, "type", json_string("unit"));
            json_object_set_new(o, "slave", json_string(as));
            json_object_set_new(o, "probe", json_integer(p + 1));
            json_object_set_new(o, "unit", json_string(units[p]));
            ctl_print_json(o);
        } else {
            printf("%s probe %d serves unit %s\n", as, p + 1, units[p]);
        }
    }
    return rc;
}

int n1_cmd_scan(struct ctl_call *call)
{
    return n1_with_bus(call, scan_body);
}

/* ---- access entries ---- */

static void print_access(struct n1ctx *c, const nix1_addr_t *slave, const char *line, size_t len)
{
    struct nix1_access a;
    char err[128];
    char as[NIX1_ADDR_LEN + 1];
    n1_addr(slave, as);
    if (nix1_access_parse(line, len, &a, err, sizeof err) < 0) {
        if (c->g->json) {
            json_t *o = json_object();
            json_object_set_new(o, "type", json_string("access_unparsed"));
            json_object_set_new(o, "slave", json_string(as));
            json_object_set_new(o, "line", json_stringn(line, len));
            json_object_set_new(o, "error", json_string(err));
            ctl_print_json(o);
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
        ctl_print_json(o);
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
    struct n1ctx *c = arg;
    char as[NIX1_ADDR_LEN + 1];
    n1_addr(slave, as);
    if (c->g->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("slave"));
        json_object_set_new(o, "slave", json_string(as));
        json_object_set_new(o, "state", json_string(nix1_slave_state_str(st)));
        ctl_print_json(o);
    } else {
        fprintf(stderr, "%s is %s\n", as, nix1_slave_state_str(st));
    }
}

/* --follow: the line's loss and its return, once each (the bus reopens it by itself meanwhile). */
static void on_line(void *arg, int err, const char *msg)
{
    struct n1ctx *c = arg;
    bool down = err < 0;
    if (down == c->line_down)
        return;
    c->line_down = down;
    if (c->g->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("line"));
        json_object_set_new(o, "state", json_string(down ? "down" : "up"));
        json_object_set_new(o, "detail", json_string(msg ? msg : ""));
        ctl_print_json(o);
    } else {
        fprintf(stderr, down ? "line lost: %s (reopening)\n" : "line back: %s\n", msg ? msg : "");
    }
}

static void on_poll_error(void *arg, const nix1_addr_t *slave, uint8_t rc)
{
    n1_report_error(arg, slave, "Qe", rc);
}

static int entries_body(struct n1ctx *c, struct ctl_call *call)
{
    int rc = CTL_EXIT_OK;
    bool follow = ctl_has(call, "follow");
    if (ctl_has(call, "rewind")) {
        const char *opt = ctl_str(call, "rewind", "0");
        for (size_t i = 0; i < c->nslaves; i++) {
            rc = n1_xact_raw(c, &c->slaves[i], 'N', 'e', opt, NULL, false);
            if (rc != CTL_EXIT_OK && !follow)
                return rc;
        }
    }
    int worst = CTL_EXIT_OK;
    if (!follow) {
        /* Read each slave until 04. Qe is not idempotent: on a lost reply, rewind by 10 through the
         * poller instead of resending. */
        for (size_t i = 0; i < c->nslaves; i++) {
            for (unsigned n = 0; n < 100000; n++) {
                rc = n1_xact_raw(c, &c->slaves[i], 'Q', 'e', NULL, NULL, false);
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
    c->lis.transport = on_line;
    for (size_t i = 0; i < c->nslaves; i++)
        nix1_bus_add_slave(c->bus, &c->slaves[i]);
    n1_watch_signals(c);
    nix1_bus_set_polling(c->bus, true);
    bool never = false;
    n1_run_until(c, &never);
    return CTL_EXIT_OK;
}

int n1_cmd_entries(struct ctl_call *call)
{
    return n1_with_bus(call, entries_body);
}

/* ---- settings that take more than a template ---- */

static int local_tz_minutes(time_t t)
{
    struct tm tm;
    localtime_r(&t, &tm);
    return (int)(tm.tm_gmtoff / 60);
}

static int time_sync_body(struct n1ctx *c, struct ctl_call *call)
{
    int rc = CTL_EXIT_OK;
    /* the clock is read when the line is open, so what is sent is this machine's time now */
    time_t now = time(NULL);
    char tz[6], opt[48];
    nix1_format_tz(local_tz_minutes(now), tz);
    snprintf(opt, sizeof opt, "%lld\t%s", (long long)now, tz);
    rc = n1_xact(c, 'N', 't', opt);
    if (rc == CTL_EXIT_OK)
        n1_print_ok(c, "time sync");
    return rc;
}

int n1_cmd_time_sync(struct ctl_call *call)
{
    return n1_with_bus(call, time_sync_body);
}

static int timeouts_get_body(struct n1ctx *c, struct ctl_call *call)
{
    int rc = CTL_EXIT_OK;
    char valid[32] = "";
    rc = n1_xact(c, 'Q', 'c', NULL);
    if (rc == CTL_EXIT_OK) {
        snprintf(valid, sizeof valid, "%s", c->payload);
        rc = n1_xact(c, 'Q', 'b', NULL);
    }
    if (rc == CTL_EXIT_OK) {
        char as[NIX1_ADDR_LEN + 1];
        n1_addr(&c->res.from, as);
        if (c->g->json) {
            json_t *o = json_object();
            json_object_set_new(o, "type", json_string("timeouts"));
            json_object_set_new(o, "slave", json_string(as));
            json_object_set_new(o, "valid", json_integer(strtol(valid, NULL, 10)));
            json_object_set_new(o, "bad", json_integer(strtol(c->payload, NULL, 10)));
            ctl_print_json(o);
        } else {
            printf("%s valid=%s bad=%s (seconds)\n", as, valid, c->payload);
        }
    }
    return rc;
}

int n1_cmd_timeouts_get(struct ctl_call *call)
{
    return n1_with_bus(call, timeouts_get_body);
}

static int timeouts_set_body(struct n1ctx *c, struct ctl_call *call)
{
    int rc = CTL_EXIT_OK;
    for (size_t i = 0; i < call->nrest && rc == CTL_EXIT_OK; i++) {
        const char *w = call->restv[i];
        bool valid = w[0] == 'v';
        rc = n1_xact(c, 'N', valid ? 'c' : 'b', strchr(w, '=') + 1);
        if (rc == CTL_EXIT_OK)
            n1_print_ok(c, valid ? "timeouts set valid" : "timeouts set bad");
    }
    return rc;
}

int n1_cmd_timeouts_set(struct ctl_call *call)
{
    return n1_with_bus(call, timeouts_set_body);
}

static int baud_set_body(struct n1ctx *c, struct ctl_call *call)
{
    int rc = CTL_EXIT_OK;
    const char *rate = ctl_str(call, "RATE", "9600");
    rc = n1_xact(c, 'N', 'z', rate);
    if (rc == CTL_EXIT_OK) {
        n1_print_ok(c, "baud set");
        int e = nix1_bus_set_baud(c->bus, (unsigned)strtoul(rate, NULL, 10));
        if (e < 0 && !c->g->json)
            fprintf(stderr, "note: the local line speed was not changed (%s); set the device server to %s baud\n",
                    strerror(-e), rate);
    }
    return rc;
}

int n1_cmd_baud_set(struct ctl_call *call)
{
    return n1_with_bus(call, baud_set_body);
}

/* ---- raw ---- */

int n1_cmd_raw(struct ctl_call *call)
{
    struct n1ctx cx, *c = &cx;
    int rc = n1_targets(c, call, N1_ANY, 0, 0);
    if (rc != CTL_EXIT_OK)
        return rc;
    char line[NIX1_LINE_MAX + 1];
    size_t k = 0;
    const char *s = ctl_str(call, "LINE", "");
    for (; *s && k < sizeof line - 1; s++) {
        if (s[0] == '\\' && s[1] == 't') {
            line[k++] = '\t';
            s++;
        } else {
            line[k++] = *s;
        }
    }
    line[k] = 0;
    if (*s)
        return n1_usage(c, "longer than a NiX1 line (%d characters)", NIX1_LINE_MAX);
    if (c->tk == N1_TGT_BROADCAST) {
        const struct nix1_cmd *cm = k >= 2 ? nix1_cmd_lookup(line[0], line[1]) : NULL;
        if (!cm || !cm->broadcast) {
            n1_report_error(c, &nix1_addr_broadcast, k >= 2 ? (char[]){ line[0], line[1], 0 } : "??",
                            NIX1_RC_ERROR_NOBROADCAST);
            return CTL_EXIT_DEVICE_ERROR;
        }
    }
    if ((rc = n1_open(c)) != CTL_EXIT_OK)
        return rc;
    rc = n1_xact_raw(c, &c->target, 0, 0, NULL, line, false);
    if (rc != CTL_EXIT_OK)
        return n1_close(c, rc);
    char as[NIX1_ADDR_LEN + 1];
    if (c->g->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("raw"));
        json_object_set_new(o, "slave",
                            json_string(c->tk == N1_TGT_BROADCAST ? NIX1_ADDR_BROADCAST_STR : n1_addr(&c->res.from, as)));
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
        ctl_print_json(o);
    } else if (c->res.status == NIX1_ST_REPLY) {
        for (size_t i = 0; i < c->nlines; i++)
            printf("%s\n", c->lines[i]);
        printf("%s %02X %s%s%s\n", n1_addr(&c->res.from, as), c->res.rc, nix1_rc_name(c->res.rc),
               c->payload[0] ? "\t" : "", c->payload);
    } else {
        printf("sent (broadcasts get no reply)\n");
    }
    return n1_close(c, CTL_EXIT_OK);
}
