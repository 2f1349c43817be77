/* ctl_c3: `portierctl c3 HOST[:PORT] ...`: one C3 panel from the command line, through the same session
 * state machine and loop the console uses (no separate blocking code path). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/ctl.h"
#include "core/loop.h"
#include "core/tcp.h"
#include "drivers/c3/c3_client.h"
#include "drivers/c3/c3_control.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_rtlog.h"
#include "drivers/c3/c3_session.h"
#include "drivers/c3/c3_tables.h"
#include "drivers/c3/c3_time.h"

#define USAGE                                                                                                  \
    "portierctl [--json] c3 HOST[:PORT] [--password PW] [--timeout MS] [--dialect auto|session|sessionless]\n" \
    "           COMMAND:\n"                                                                                    \
    "    info | params get NAME... | params set NAME=VALUE... | time get | time sync\n"                        \
    "    door open N [SECONDS] | door close N | door hold N | door normal-open N on|off\n"                     \
    "    aux on N [SECONDS] | aux off N | alarms cancel | restart\n"                                          \
    "    events [--count N] [--follow] [--include-status] [--interval MS]"

enum cmd { CMD_INFO, CMD_PGET, CMD_PSET, CMD_CONTROL, CMD_TIME_GET, CMD_TIME_SYNC, CMD_EVENTS };

struct ctl {
    const struct ctl_opts *opts;
    loop_t *loop;
    struct c3_session *s;
    enum cmd cmd;
    int exit_code;
    bool submitted, done;
    uint32_t timeout_ms;
    loop_timer_t deadline;

    char **names;       /* params get/set */
    char **values;
    size_t n;
    uint8_t ctl[C3_CONTROL_LEN];
    char ctl_text[96];
    uint32_t synced;

    /* events */
    long count;          /* 0 = unlimited */
    long seen;
    bool follow, include_status;
    uint32_t interval_ms;
    int doors;           /* from LockCount; 0 = unknown */
    bool doors_asked;
};

static void finish(struct ctl *c, int code)
{
    if (c->done)
        return;
    c->done = true;
    c->exit_code = code;
    loop_timer_disarm(c->loop, &c->deadline);
    c3_session_stop(c->s); /* polite disconnect; the state callback stops the loop */
    if (c3_session_state(c->s) == C3_ST_DISCONNECTED)
        loop_stop(c->loop);
}

static void print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(o);
    fflush(stdout);
}

/* A failed request: panel errors exit 1, everything else (timeouts, lost link) exit 3. */
static void fail_with(struct ctl *c, int err)
{
    bool panel = err < 0 && err >= -99;
    if (c->opts->json) {
        json_t *o = json_object();
        json_object_set_new(o, "error", json_string(c3_session_strerror(err)));
        json_object_set_new(o, "code", json_integer(err));
        if (panel)
            json_object_set_new(o, "panel_error", json_true());
        print_json(o);
    }
    if (panel)
        fprintf(stderr, "portierctl: panel error %d: %s\n", err, c3_strerror(err));
    else if (err == C3_S_EXPIRED || err == C3_S_TIMEOUT || err == C3_S_DISCONNECTED)
        fprintf(stderr, "portierctl: %s: %s%s%s\n", c3_session_describe(c->s), c3_session_strerror(err),
                c3_session_last_error(c->s)[0] ? "; " : "", c3_session_last_error(c->s));
    else
        fprintf(stderr, "portierctl: %s\n", c3_session_strerror(err));
    finish(c, panel ? CTL_EXIT_DEVICE_ERROR : CTL_EXIT_UNREACHABLE);
}

/* ---- results ---- */

static void json_set_count(json_t *o, const char *k, int v)
{
    json_object_set_new(o, k, v >= 0 ? json_integer(v) : json_null());
}

static void on_info(void *arg, int err, const struct c3_info *info)
{
    struct ctl *c = arg;
    if (err) {
        fail_with(c, err);
        return;
    }
    char dt[C3_TIME_ISO_LEN] = "";
    if (info->has_datetime)
        c3_time_format(info->datetime, 'T', dt, sizeof dt);
    const char *dialect = c3_session_sessionful(c->s) ? "session" : "sessionless";
    if (c->opts->json) {
        json_t *o = json_object();
        json_object_set_new(o, "serial", json_string(info->serial));
        json_object_set_new(o, "firmware", json_string(info->firmware));
        json_object_set_new(o, "model", json_string(info->model));
        json_set_count(o, "doors", info->doors);
        json_set_count(o, "readers", info->readers);
        json_set_count(o, "aux_in", info->aux_in);
        json_set_count(o, "aux_out", info->aux_out);
        json_object_set_new(o, "datetime", info->has_datetime ? json_string(dt) : json_null());
        json_object_set_new(o, "dialect", json_string(dialect));
        print_json(o);
    } else {
        printf("serial    %s\nfirmware  %s\nmodel     %s\n", info->serial, info->firmware, info->model);
        printf("doors     %d\nreaders   %d\naux in    %d\naux out   %d\n", info->doors, info->readers,
               info->aux_in, info->aux_out);
        printf("datetime  %s\ndialect   %s\n", info->has_datetime ? dt : "?", dialect);
    }
    finish(c, CTL_EXIT_OK);
}

static void on_params(void *arg, const struct c3_params_result *r)
{
    struct ctl *c = arg;
    if (r->err) {
        fail_with(c, r->err);
        return;
    }
    if (c->opts->json) {
        json_t *o = json_object();
        for (size_t i = 0; i < r->n; i++)
            json_object_set_new(o, r->names[i], r->values[i] ? json_string(r->values[i]) : json_null());
        print_json(o);
    } else {
        for (size_t i = 0; i < r->n; i++) {
            if (r->values[i])
                printf("%s=%s\n", r->names[i], r->values[i]);
            else
                printf("%s: (not in the panel's answer)\n", r->names[i]);
        }
    }
    finish(c, CTL_EXIT_OK);
}

static void on_done(void *arg, int err)
{
    struct ctl *c = arg;
    if (err) {
        fail_with(c, err);
        return;
    }
    char dt[C3_TIME_ISO_LEN] = "";
    if (c->cmd == CMD_TIME_SYNC)
        c3_time_format(c->synced, 'T', dt, sizeof dt);
    if (c->opts->json) {
        json_t *o = json_object();
        json_object_set_new(o, "ok", json_true());
        if (c->cmd == CMD_CONTROL)
            json_object_set_new(o, "command", json_string(c->ctl_text));
        if (c->cmd == CMD_TIME_SYNC)
            json_object_set_new(o, "datetime", json_string(dt));
        if (c->cmd == CMD_PSET) {
            json_t *set = json_object();
            for (size_t i = 0; i < c->n; i++)
                json_object_set_new(set, c->names[i], json_string(c->values[i]));
            json_object_set_new(o, "set", set);
        }
        print_json(o);
    } else if (c->cmd == CMD_CONTROL) {
        printf("ok: %s\n", c->ctl_text);
    } else if (c->cmd == CMD_TIME_SYNC) {
        printf("ok: panel clock set to %s\n", dt);
    } else {
        printf("ok: %zu parameter%s set\n", c->n, c->n == 1 ? "" : "s");
    }
    finish(c, CTL_EXIT_OK);
}

static void on_time(void *arg, int err, uint32_t v)
{
    struct ctl *c = arg;
    if (err) {
        fail_with(c, err);
        return;
    }
    char dt[C3_TIME_ISO_LEN];
    c3_time_format(v, 'T', dt, sizeof dt);
    if (c->opts->json) {
        json_t *o = json_object();
        json_object_set_new(o, "datetime", json_string(dt));
        json_object_set_new(o, "packed", json_integer(v));
        print_json(o);
    } else {
        printf("%s\n", dt);
    }
    finish(c, CTL_EXIT_OK);
}

/* ---- events ---- */

static const char *sensor_name(uint8_t v)
{
    switch (v) {
    case C3_SENSOR_CLOSED: return "closed";
    case C3_SENSOR_OPEN: return "open";
    case C3_SENSOR_NONE: return "none";
    default: return "unknown";
    }
}

static void print_record(struct ctl *c, const struct c3_rt_record *r)
{
    char dt[C3_TIME_ISO_LEN];
    c3_time_format(r->time, 'T', dt, sizeof dt);
    if (r->kind == C3_RT_EVENT) {
        const struct c3_rt_event *e = &r->event;
        char eb[C3_LABEL_LEN], vb[C3_LABEL_LEN], ib[C3_LABEL_LEN];
        const char *sev = c3_severity_name(c3_event_severity(e->type));
        if (c->opts->json) {
            json_t *o = json_object();
            json_object_set_new(o, "type", json_string("event"));
            json_object_set_new(o, "time", json_string(dt));
            json_object_set_new(o, "door", json_integer(e->door));
            json_object_set_new(o, "event", json_integer(e->type));
            json_object_set_new(o, "event_name", json_string(c3_event_label(e->type, eb, sizeof eb)));
            json_object_set_new(o, "severity", json_string(sev));
            json_object_set_new(o, "verify", json_integer(e->verify));
            json_object_set_new(o, "verify_name", json_string(c3_verify_label(e->verify, vb, sizeof vb)));
            json_object_set_new(o, "inout", json_integer(e->inout));
            json_object_set_new(o, "card", json_integer(e->card));
            json_object_set_new(o, "pin", json_integer(e->pin));
            if (e->index >= 0)
                json_object_set_new(o, "index", json_integer(e->index));
            print_json(o);
        } else {
            printf("%s  door %u  %-7s  %s (%u)  card %" PRIu32 "  pin %" PRIu32 "  verify %s  %s\n", dt, e->door,
                   sev, c3_event_label(e->type, eb, sizeof eb), e->type, e->card, e->pin,
                   c3_verify_label(e->verify, vb, sizeof vb), c3_inout_label(e->inout, ib, sizeof ib));
            fflush(stdout);
        }
        return;
    }
    const struct c3_rt_status *st = &r->status;
    int doors = c->doors > 0 && c->doors <= (int)C3_RT_DOORS ? c->doors : (int)C3_RT_DOORS;
    if (c->opts->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("status"));
        json_object_set_new(o, "time", json_string(dt));
        json_t *arr = json_array();
        for (int d = 0; d < doors; d++) {
            json_t *e = json_object();
            json_object_set_new(e, "door", json_integer(d + 1));
            json_object_set_new(e, "sensor", json_string(sensor_name(st->sensor[d])));
            json_object_set_new(e, "alarm", json_boolean(st->alarm[d] & C3_ALARM_ALARM));
            json_object_set_new(e, "open_timeout", json_boolean(st->alarm[d] & C3_ALARM_OPEN_TIMEOUT));
            json_array_append_new(arr, e);
        }
        json_object_set_new(o, "doors", arr);
        print_json(o);
    } else {
        printf("%s  status", dt);
        for (int d = 0; d < doors; d++)
            printf("  door %d %s%s%s", d + 1, sensor_name(st->sensor[d]),
                   (st->alarm[d] & C3_ALARM_ALARM) ? " ALARM" : "",
                   (st->alarm[d] & C3_ALARM_OPEN_TIMEOUT) ? " OPEN-TIMEOUT" : "");
        printf("\n");
        fflush(stdout);
    }
}

static void on_record(struct c3_session *s, const struct c3_rt_record *r, void *arg)
{
    struct ctl *c = arg;
    (void)s;
    if (c->cmd != CMD_EVENTS || c->done)
        return;
    bool show = r->kind == C3_RT_EVENT || c->include_status;
    if (show) {
        print_record(c, r);
        c->seen++;
        if (c->count > 0 && c->seen >= c->count) {
            finish(c, CTL_EXIT_OK);
            return;
        }
    }
    /* Without --follow: everything queued in the panel has been read once a status record arrives. */
    if (!c->follow && r->kind == C3_RT_STATUS)
        finish(c, CTL_EXIT_OK);
}

static void on_doors(void *arg, const struct c3_params_result *r)
{
    struct ctl *c = arg;
    if (!r->err && r->n == 1 && r->values[0]) {
        long v = strtol(r->values[0], NULL, 10);
        if (v > 0 && v <= (long)C3_RT_DOORS)
            c->doors = (int)v;
    }
}

/* ---- driving ---- */

static void submit(struct ctl *c)
{
    struct c3_op_opts o = { .prio = C3_PRIO_OPERATOR };
    int rc = 0;
    switch (c->cmd) {
    case CMD_INFO:
        rc = c3_client_info(c->s, &o, on_info, c);
        break;
    case CMD_PGET:
        rc = c3_client_params_get(c->s, (const char *const *)c->names, c->n, &o, on_params, c);
        break;
    case CMD_PSET:
        rc = c3_client_params_set(c->s, (const char *const *)c->names, (const char *const *)c->values, c->n, &o,
                                  on_done, c);
        break;
    case CMD_CONTROL:
        rc = c3_client_control(c->s, c->ctl, &o, on_done, c);
        break;
    case CMD_TIME_GET:
        rc = c3_client_time_get(c->s, &o, on_time, c);
        break;
    case CMD_TIME_SYNC:
        /* Computed now, when the link is up, so the value sent is this machine's current local time. */
        rc = c3_client_time_sync(c->s, &o, on_done, c, &c->synced);
        break;
    case CMD_EVENTS: {
        static const char *const lc[] = { "LockCount" };
        if (!c->doors_asked) {
            c->doors_asked = true;
            rc = c3_client_params_get(c->s, lc, 1, &o, on_doors, c);
        }
        break;
    }
    }
    if (rc < 0)
        fail_with(c, rc);
}

static void on_state(struct c3_session *s, enum c3_state st, int err, void *arg)
{
    struct ctl *c = arg;
    if (c->opts->verbose)
        fprintf(stderr, "c3: %s%s%s\n", c3_state_name(st), err ? ": " : "",
                err ? c3_session_last_error(s) : "");
    if (st == C3_ST_DISCONNECTED) {
        if (c->done)
            loop_stop(c->loop);
        return;
    }
    if (c->done)
        return;
    if (st == C3_ST_ONLINE && (!c->submitted || c->cmd == CMD_EVENTS)) {
        c->submitted = true;
        submit(c);
        return;
    }
    if (st == C3_ST_BACKOFF && err == -14) {
        /* A wrong password will not fix itself: say so instead of retrying until the timeout. */
        fprintf(stderr, "portierctl: %s: %s\n", c3_session_describe(s), c3_session_last_error(s));
        if (c->opts->json) {
            json_t *o = json_object();
            json_object_set_new(o, "error", json_string(c3_strerror(-14)));
            json_object_set_new(o, "code", json_integer(-14));
            json_object_set_new(o, "panel_error", json_true());
            print_json(o);
        }
        finish(c, CTL_EXIT_DEVICE_ERROR);
        return;
    }
    if (st == C3_ST_BACKOFF && c->opts->verbose)
        fprintf(stderr, "c3: retrying: %s\n", c3_session_last_error(s));
}

static void on_stale(struct c3_session *s, bool stale, void *arg)
{
    struct ctl *c = arg;
    if (c->cmd == CMD_EVENTS && c->follow && !c->opts->json)
        fprintf(stderr, "portierctl: %s: %s\n", c3_session_describe(s),
                stale ? "STALE (polls are not answered)" : "answering again");
}

static void on_trace(struct c3_session *s, bool tx, const uint8_t *frame, size_t len, void *arg)
{
    (void)s;
    (void)arg;
    fprintf(stderr, "%s", tx ? ">>" : "<<");
    for (size_t i = 0; i < len; i++)
        fprintf(stderr, " %02x", frame[i]);
    fprintf(stderr, "\n");
}

static void on_deadline(loop_t *loop, void *arg)
{
    struct ctl *c = arg;
    (void)loop;
    const char *why = c3_session_last_error(c->s);
    if (c->opts->json) {
        json_t *o = json_object();
        json_object_set_new(o, "error", json_string(why[0] ? why : "timed out"));
        json_object_set_new(o, "state", json_string(c3_state_name(c3_session_state(c->s))));
        print_json(o);
    }
    fprintf(stderr, "portierctl: %s: timed out after %u ms (%s)%s%s\n", c3_session_describe(c->s), c->timeout_ms,
            c3_state_name(c3_session_state(c->s)), why[0] ? ": " : "", why);
    finish(c, CTL_EXIT_UNREACHABLE);
}

static void on_signal(loop_t *loop, int signo, void *arg)
{
    struct ctl *c = arg;
    (void)loop;
    (void)signo;
    finish(c, c->cmd == CMD_EVENTS ? CTL_EXIT_OK : CTL_EXIT_UNREACHABLE);
}

/* ---- argument parsing ---- */

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "portierctl c3: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nusage: %s\n", USAGE);
    va_end(ap);
    return CTL_EXIT_USAGE;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || errno || v > max)
        return false;
    *out = v;
    return true;
}

/* door/aux/alarms/restart → 5-byte control payload. Returns 0 or a usage exit code. */
static int parse_control(struct ctl *c, int argc, char **argv)
{
    const char *what = argv[0];
    unsigned long n = 0, secs = 0;
    int rc = -1;
    struct c3_control cc = { 0 };
    if (strcmp(what, "alarms") == 0) {
        if (argc != 2 || strcmp(argv[1], "cancel") != 0)
            return usage_error("%s: expected 'alarms cancel'", what);
        rc = c3_control_cancel_alarm(c->ctl);
    } else if (strcmp(what, "restart") == 0) {
        if (argc != 1)
            return usage_error("%s takes no arguments", what);
        rc = c3_control_restart(c->ctl);
    } else if (strcmp(what, "door") == 0 || strcmp(what, "aux") == 0) {
        bool door = what[0] == 'd';
        if (argc < 3 || !parse_uint(argv[2], C3_CONTROL_NUMBER_MAX, &n) || n < 1)
            return usage_error("%s: expected an action and a number 1-4", what);
        const char *act = argv[1];
        enum c3_output_type t = door ? C3_OUTPUT_DOOR : C3_OUTPUT_AUX;
        if ((door && strcmp(act, "open") == 0) || (!door && strcmp(act, "on") == 0)) {
            secs = door ? 5 : 255;
            if (argc > 4 || (argc == 4 && (!parse_uint(argv[3], 254, &secs) || secs < 1)))
                return usage_error("%s: seconds must be 1-254", what);
            rc = c3_control_output(c->ctl, t, (unsigned)n, (unsigned)secs);
        } else if ((door && strcmp(act, "close") == 0) || (!door && strcmp(act, "off") == 0)) {
            if (argc != 3)
                return usage_error("%s: too many arguments", what);
            rc = c3_control_output(c->ctl, t, (unsigned)n, C3_OUTPUT_CLOSE);
        } else if (door && strcmp(act, "hold") == 0) {
            if (argc != 3)
                return usage_error("%s: too many arguments", what);
            rc = c3_control_output(c->ctl, t, (unsigned)n, C3_OUTPUT_LATCH);
        } else if (door && strcmp(act, "normal-open") == 0) {
            if (argc != 4 || (strcmp(argv[3], "on") != 0 && strcmp(argv[3], "off") != 0))
                return usage_error("%s: expected 'door normal-open N on|off'", what);
            rc = c3_control_normal_open(c->ctl, (unsigned)n, strcmp(argv[3], "on") == 0);
        } else {
            return usage_error("unknown action '%s'", act);
        }
    }
    if (rc < 0)
        return usage_error("%s: bad arguments", what);
    if (c3_control_parse(c->ctl, C3_CONTROL_LEN, &cc) == 0)
        c3_control_describe(&cc, c->ctl_text, sizeof c->ctl_text);
    else
        snprintf(c->ctl_text, sizeof c->ctl_text, "%s", what);
    c->cmd = CMD_CONTROL;
    return 0;
}

static int parse_command(struct ctl *c, int argc, char **argv)
{
    const char *cmd = argv[0];
    if (strcmp(cmd, "info") == 0) {
        if (argc != 1)
            return usage_error("%s takes no arguments", cmd);
        c->cmd = CMD_INFO;
        return 0;
    }
    if (strcmp(cmd, "params") == 0) {
        if (argc < 3 || (strcmp(argv[1], "get") != 0 && strcmp(argv[1], "set") != 0))
            return usage_error("%s: expected 'get NAME...' or 'set NAME=VALUE...'", cmd);
        bool set = argv[1][0] == 's';
        c->n = (size_t)argc - 2;
        c->names = calloc(c->n, sizeof *c->names);
        c->values = calloc(c->n, sizeof *c->values);
        if (!c->names || !c->values)
            return CTL_EXIT_UNREACHABLE;
        for (size_t i = 0; i < c->n; i++) {
            char *a = argv[i + 2];
            char *eq = strchr(a, '=');
            if (set) {
                if (!eq || eq == a)
                    return usage_error("params set: '%s' is not NAME=VALUE", a);
                *eq = '\0';
                c->values[i] = eq + 1;
            } else if (eq || !*a || strchr(a, ',')) {
                return usage_error("params get: bad name '%s'", a);
            }
            c->names[i] = a;
        }
        c->cmd = set ? CMD_PSET : CMD_PGET;
        return 0;
    }
    if (strcmp(cmd, "time") == 0) {
        if (argc != 2)
            return usage_error("%s: expected 'get' or 'sync'", cmd);
        if (strcmp(argv[1], "get") == 0)
            c->cmd = CMD_TIME_GET;
        else if (strcmp(argv[1], "sync") == 0)
            c->cmd = CMD_TIME_SYNC;
        else
            return usage_error("time: unknown action '%s'", argv[1]);
        return 0;
    }
    if (strcmp(cmd, "events") == 0) {
        c->cmd = CMD_EVENTS;
        for (int i = 1; i < argc; i++) {
            unsigned long v;
            if (strcmp(argv[i], "--follow") == 0 || strcmp(argv[i], "-f") == 0) {
                c->follow = true;
            } else if (strcmp(argv[i], "--include-status") == 0) {
                c->include_status = true;
            } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc && parse_uint(argv[i + 1], 1000000000, &v) &&
                       v > 0) {
                c->count = (long)v;
                i++;
            } else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc &&
                       parse_uint(argv[i + 1], 3600000, &v) && v >= 10) {
                c->interval_ms = (uint32_t)v;
                i++;
            } else {
                return usage_error("events: bad option '%s'", argv[i]);
            }
        }
        return 0;
    }
    if (strcmp(cmd, "door") == 0 || strcmp(cmd, "aux") == 0 || strcmp(cmd, "alarms") == 0 ||
        strcmp(cmd, "restart") == 0)
        return parse_control(c, argc, argv);
    return usage_error("unknown command '%s'", cmd);
}

int ctl_c3_legacy_main(const struct ctl_opts *gopts, int argc, char **argv)
{
    struct ctl_opts local = *gopts;
    const struct ctl_opts *opts = &local;
    struct ctl c = { .opts = opts, .timeout_ms = 10000, .interval_ms = 1000 };
    const char *target = NULL, *password = NULL;
    enum c3_dialect dialect = C3_DIALECT_AUTO;
    int i = 0;
    for (; i < argc; i++) {
        const char *a = argv[i];
        unsigned long v;
        if (strcmp(a, "--password") == 0 && i + 1 < argc) {
            password = argv[++i];
        } else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
            if (!parse_uint(argv[++i], 86400000, &v) || v == 0)
                return usage_error("--timeout: '%s' is not a number of milliseconds", argv[i]);
            c.timeout_ms = (uint32_t)v;
        } else if (strcmp(a, "--dialect") == 0 && i + 1 < argc) {
            const char *d = argv[++i];
            if (strcmp(d, "auto") == 0)
                dialect = C3_DIALECT_AUTO;
            else if (strcmp(d, "session") == 0)
                dialect = C3_DIALECT_SESSION;
            else if (strcmp(d, "sessionless") == 0)
                dialect = C3_DIALECT_SESSIONLESS;
            else
                return usage_error("--dialect: '%s' is not auto, session or sessionless", d);
        } else if (strcmp(a, "--json") == 0) {
            local.json = true;
        } else if (a[0] == '-' && a[1] == '-' ) {
            return usage_error("unknown option '%s'", a);
        } else if (!target) {
            target = a;
        } else {
            break;
        }
    }
    if (!target || i >= argc)
        return usage_error("%s", !target ? "missing HOST[:PORT]" : "missing COMMAND");
    if (password && strlen(password) > 15)
        return usage_error("--password: longer than 15 characters (the panel's limit)");
    int rc = parse_command(&c, argc - i, argv + i);
    if (rc) {
        free(c.names);
        free(c.values);
        return rc;
    }

    char host[256], err[256];
    uint16_t port;
    struct c3_session_config cfg = { .password = password, .dialect = dialect, .backoff_min_ms = 200,
                                     .backoff_max_ms = 2000 };
    if (tcp_parse_hostport(target, C3_TCP_PORT, host, sizeof host, &port, err, sizeof err) < 0 ||
        tcp_resolve(host, port, &cfg.addr, err, sizeof err) < 0) {
        fprintf(stderr, "portierctl c3: %s\n", err);
        free(c.names);
        free(c.values);
        return err[0] && strstr(err, "resolve") ? CTL_EXIT_UNREACHABLE : CTL_EXIT_USAGE;
    }
    uint32_t per = c.timeout_ms / 3;
    cfg.request_timeout_ms = per < 500 ? 500 : per > 2000 ? 2000 : per;
    cfg.connect_timeout_ms = c.timeout_ms < 3000 ? c.timeout_ms : 3000;
    if (c.cmd == CMD_EVENTS)
        cfg.poll_interval_ms = c.follow ? c.interval_ms : 200;

    signal(SIGPIPE, SIG_IGN);
    c.loop = loop_new();
    if (!c.loop) {
        fprintf(stderr, "portierctl c3: out of memory\n");
        return CTL_EXIT_UNREACHABLE;
    }
    struct c3_session_callbacks cbs = { .state = on_state, .record = on_record, .stale = on_stale,
                                        .trace = opts->verbose ? on_trace : NULL, .arg = &c };
    c.s = c3_session_new(c.loop, &cfg, &cbs);
    if (!c.s) {
        loop_free(c.loop);
        return CTL_EXIT_UNREACHABLE;
    }
    loop_add_signal(c.loop, SIGINT, on_signal, &c);
    loop_add_signal(c.loop, SIGTERM, on_signal, &c);
    loop_timer_init(&c.deadline, on_deadline, &c);
    if (!(c.cmd == CMD_EVENTS && c.follow))
        loop_timer_arm_ms(c.loop, &c.deadline, c.timeout_ms);
    c3_session_start(c.s);
    loop_run(c.loop);

    if (opts->verbose) {
        const struct c3_session_stats *st = c3_session_stats(c.s);
        fprintf(stderr,
                "c3: %" PRIu64 " requests, %" PRIu64 " replies, %" PRIu64 " timeouts, %" PRIu64 " desyncs, %" PRIu64
                " bad frames, %" PRIu64 " reconnects, rtt last %" PRIu64 " us\n",
                st->requests, st->replies, st->timeouts, st->desyncs, st->bad_frames, st->reconnects,
                st->rtt_last_us);
    }
    c3_session_free(c.s);
    loop_free(c.loop);
    free(c.names);
    free(c.values);
    return c.exit_code;
}

