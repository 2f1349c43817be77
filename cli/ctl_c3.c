/* ctl_c3: `portierctl c3 HOST[:PORT] ...`: one C3 panel from the command line, through the same session
 * state machine and loop the console uses (no separate blocking code path). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/ctl.h"
#include "cli/ctl_c3.h"
#include "cli/ctl_site.h"
#include "core/devlock.h"
#include "core/event.h"
#include "core/loop.h"
#include "core/tcp.h"
#include "drivers/c3/c3_client.h"
#include "drivers/c3/c3_control.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_params.h"
#include "drivers/c3/c3_rtlog.h"
#include "drivers/c3/c3_session.h"
#include "drivers/c3/c3_tables.h"
#include "drivers/c3/c3_time.h"

enum cmd { CMD_INFO, CMD_PGET, CMD_PSET, CMD_CONTROL, CMD_TIME_GET, CMD_TIME_SYNC, CMD_EVENTS, CMD_JOB };

/* What a row asks of the panel (struct ctl_verb.data). */
enum ctl_kind { K_NONE, K_DOOR_OPEN, K_DOOR_CLOSE, K_DOOR_HOLD, K_NORMAL_OPEN, K_AUX_ON, K_AUX_OFF, K_CANCEL_ALARM,
                K_RESTART };
struct c3_row {
    enum cmd cmd;
    enum ctl_kind kind;
};

struct ctl {
    const struct ctl_opts *opts;
    loop_t *loop;
    struct c3_session *s;
    enum cmd cmd;
    int exit_code;
    bool submitted, done;
    uint32_t timeout_ms;
    loop_timer_t deadline;
    loop_timer_t hard_stop;  /* after a signal: stop even if the panel does not acknowledge the disconnect */

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
    bool was_online;     /* the panel answered at least once */
    bool online;
    int64_t lost_us;     /* when the link was lost after being up (0 = not lost) */
    char lost_why[160];  /* why it was lost (said once, in the link record) */

    struct ctl_c3_job *job; /* CMD_JOB: an operation of another file (data tables, history) */
};

static void finish(struct ctl *c, int code)
{
    if (c->done)
        return;
    c->done = true;
    c->exit_code = code;
    if (!c->s)
        return; /* through portierd: no session of our own */
    loop_timer_disarm(c->loop, &c->deadline);
    c3_session_stop(c->s); /* polite disconnect; the state callback stops the loop */
    if (c3_session_state(c->s) == C3_ST_DISCONNECTED)
        loop_stop(c->loop);
}

/* A failed request: panel errors exit 1, everything else (timeouts, lost link) exit 3. */
static void fail_with(struct ctl *c, int err)
{
    bool panel = err < 0 && err >= -99;
    if (c->opts->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("error"));
        json_object_set_new(o, "error", json_string(c3_session_strerror(err)));
        json_object_set_new(o, "code", json_integer(err));
        if (panel)
            json_object_set_new(o, "panel_error", json_true());
        ctl_print_json(o);
    }
    if (panel)
        fprintf(stderr, "portierctl: (code %d) %s\n", err, c3_strerror(err));
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
    const char *dialect = !c->s ? "portierd's" : c3_session_sessionful(c->s) ? "session" : "sessionless";
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
        ctl_print_json(o);
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
        ctl_print_json(o);
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
        ctl_print_json(o);
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
        ctl_print_json(o);
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

void ctl_c3_print_rt_event(bool json, uint32_t time, const struct c3_rt_event *e)
{
    char dt[C3_TIME_ISO_LEN];
    c3_time_format(time, 'T', dt, sizeof dt);
    char eb[C3_LABEL_LEN], vb[C3_LABEL_LEN], ib[C3_LABEL_LEN];
    const char *sev = c3_severity_name(c3_event_severity(e->type));
    if (json) {
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
        ctl_print_json(o);
    } else {
        printf("%s  door %u  %-7s  %s (%u)  card %" PRIu32 "  pin %" PRIu32 "  verify %s  %s\n", dt, e->door, sev,
               c3_event_label(e->type, eb, sizeof eb), e->type, e->card, e->pin,
               c3_verify_label(e->verify, vb, sizeof vb), c3_inout_label(e->inout, ib, sizeof ib));
        fflush(stdout);
    }
}

static void print_record(struct ctl *c, const struct c3_rt_record *r)
{
    char dt[C3_TIME_ISO_LEN];
    c3_time_format(r->time, 'T', dt, sizeof dt);
    if (r->kind == C3_RT_EVENT) {
        ctl_c3_print_rt_event(c->opts->json, r->time, &r->event);
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
        ctl_print_json(o);
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
    case CMD_JOB:
        c->job->ctl = c;
        /* A long transfer is bounded by its requests' deadlines, not by the time to the first answer. */
        loop_timer_disarm(c->loop, &c->deadline);
        rc = c->job->start(c->job, c->s);
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

/* ---- link, stale and gap records of events --follow ---- */

static void host_time(int64_t us, char *buf, size_t len)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
}

/* A record about the link itself (not from the panel): type "link", "stale" or "gap". */
static void print_link_record(struct ctl *c, const char *type, const char *state, const char *detail,
                              int64_t from_us, int64_t to_us)
{
    char now[32], from[32] = "", to[32] = "";
    host_time(event_now_us(), now, sizeof now);
    if (from_us)
        host_time(from_us, from, sizeof from);
    if (to_us)
        host_time(to_us, to, sizeof to);
    if (c->opts->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string(type));
        json_object_set_new(o, "host_time", json_string(now));
        if (state)
            json_object_set_new(o, "state", json_string(state));
        if (detail && detail[0])
            json_object_set_new(o, "detail", json_string(detail));
        if (from_us) {
            json_object_set_new(o, "from", json_string(from));
            json_object_set_new(o, "to", json_string(to));
        }
        ctl_print_json(o);
        return;
    }
    if (from_us)
        printf("%s  GAP      events between %s and %s may be missing (%s)\n", now, from, to, detail);
    else
        printf("%s  %-8s %s%s%s\n", now, strcmp(type, "stale") == 0 ? "STALE" : "LINK", state,
               detail && detail[0] ? ": " : "", detail ? detail : "");
    fflush(stdout);
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
    bool following = c->cmd == CMD_EVENTS && c->follow;
    if (st == C3_ST_ONLINE) {
        if (following) {
            /* the deadline was for the first answer; from now on the link is reported, not timed */
            loop_timer_disarm(c->loop, &c->deadline);
            print_link_record(c, "link", "online", c3_session_describe(s), 0, 0);
            if (c->lost_us) {
                /* a connect resets the panel's RT-log ring: what was queued while down is gone */
                print_link_record(c, "gap", NULL, "link lost", c->lost_us, event_now_us());
                c->lost_us = 0;
            }
        }
        c->online = c->was_online = true;
    } else if (c->online) {
        c->online = false;
        c->lost_us = event_now_us();
        snprintf(c->lost_why, sizeof c->lost_why, "%s", c3_session_last_error(s));
        if (following)
            print_link_record(c, "link", "down", c->lost_why, 0, 0);
    }
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
            json_object_set_new(o, "type", json_string("error"));
            json_object_set_new(o, "error", json_string(c3_strerror(-14)));
            json_object_set_new(o, "code", json_integer(-14));
            json_object_set_new(o, "panel_error", json_true());
            ctl_print_json(o);
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
    if (c->cmd == CMD_EVENTS && c->follow && !c->done)
        print_link_record(c, "stale", stale ? "stale" : "answering", stale ? "polls are not answered" : c3_session_describe(s),
                          0, 0);
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
        json_object_set_new(o, "type", json_string("error"));
        json_object_set_new(o, "error", json_string(why[0] ? why : "timed out"));
        json_object_set_new(o, "state", json_string(c3_state_name(c3_session_state(c->s))));
        json_object_set_new(o, "code", json_integer(CTL_EXIT_UNREACHABLE));
        ctl_print_json(o);
    }
    fprintf(stderr, "portierctl: %s: %s after %u ms (%s)%s%s\n", c3_session_describe(c->s),
            c->was_online ? "timed out" : "no answer", c->timeout_ms, c3_state_name(c3_session_state(c->s)),
            why[0] ? ": " : "", why);
    finish(c, CTL_EXIT_UNREACHABLE);
}

static void on_hard_stop(loop_t *loop, void *arg)
{
    (void)arg;
    loop_stop(loop);
}

/* SIGINT/SIGTERM (through the loop's signalfd): a polite disconnect if the panel answers at once, but the
 * process is gone within about 50 ms either way. events ends well only while the panel is online: interrupted
 * while it is away is exit 3, as for watch, said once. */
static void on_signal(loop_t *loop, int signo, void *arg)
{
    struct ctl *c = arg;
    (void)signo;
    loop_timer_arm_ms(loop, &c->hard_stop, 50);
    if (c->cmd == CMD_EVENTS && c->was_online && !c->online && !c->done) {
        char since[32];
        host_time(c->lost_us, since, sizeof since);
        fprintf(stderr, "portierctl: interrupted while the panel was away (since %s: %s)\n", since,
                c->lost_why[0] ? c->lost_why : c3_session_describe(c->s));
    }
    finish(c, c->cmd == CMD_EVENTS && c->online ? CTL_EXIT_OK : CTL_EXIT_UNREACHABLE);
}

/* ---- the command's arguments (checked by the table) into the request ---- */

/* door / aux / alarms / restart: the 5-byte control payload. */
static int build_control(struct ctl *c, const struct ctl_call *call, enum ctl_kind kind)
{
    unsigned n = (unsigned)ctl_num(call, "N", 1);
    int rc = -1;
    switch (kind) {
    case K_DOOR_OPEN: rc = c3_control_output(c->ctl, C3_OUTPUT_DOOR, n, (unsigned)ctl_num(call, "SECONDS", 5)); break;
    case K_DOOR_CLOSE: rc = c3_control_output(c->ctl, C3_OUTPUT_DOOR, n, C3_OUTPUT_CLOSE); break;
    case K_DOOR_HOLD: rc = c3_control_output(c->ctl, C3_OUTPUT_DOOR, n, C3_OUTPUT_LATCH); break;
    case K_NORMAL_OPEN: rc = c3_control_normal_open(c->ctl, n, ctl_num(call, "on|off", 1) == 0); break;
    case K_AUX_ON: rc = c3_control_output(c->ctl, C3_OUTPUT_AUX, n, (unsigned)ctl_num(call, "SECONDS", 255)); break;
    case K_AUX_OFF: rc = c3_control_output(c->ctl, C3_OUTPUT_AUX, n, C3_OUTPUT_CLOSE); break;
    case K_CANCEL_ALARM: rc = c3_control_cancel_alarm(c->ctl); break;
    case K_RESTART: rc = c3_control_restart(c->ctl); break;
    case K_NONE: break;
    }
    if (rc < 0)
        return -1;
    struct c3_control cc;
    if (c3_control_parse(c->ctl, C3_CONTROL_LEN, &cc) == 0)
        c3_control_describe(&cc, c->ctl_text, sizeof c->ctl_text);
    else
        snprintf(c->ctl_text, sizeof c->ctl_text, "%s", call->verb->syntax);
    return 0;
}

/* params get NAME... / params set NAME=VALUE...: the words as the table collected them. */
static int build_params(struct ctl *c, struct ctl_call *call, bool set)
{
    c->n = call->nrest;
    c->names = calloc(c->n ? c->n : 1, sizeof *c->names);
    c->values = calloc(c->n ? c->n : 1, sizeof *c->values);
    if (!c->names || !c->values)
        return -1;
    for (size_t i = 0; i < c->n; i++) {
        char *a = call->restv[i];
        char *eq = strchr(a, '=');
        if (set && eq) {
            *eq = '\0';
            c->values[i] = eq + 1;
        }
        c->names[i] = a;
    }
    return 0;
}

static int check_param_name(const char *v, char *err, size_t errlen)
{
    if (strchr(v, '=') || strchr(v, ','))
        return snprintf(err, errlen, "'%.40s' is a parameter name, without '=' or ','", v), -1;
    return 0;
}

static int check_param_pair(const char *v, char *err, size_t errlen)
{
    const char *eq = strchr(v, '=');
    if (!eq || eq == v)
        return snprintf(err, errlen, "'%.40s' is not NAME=VALUE", v), -1;
    if (strchr(v, ','))
        return snprintf(err, errlen, "'%.40s': a value cannot contain ',' (the panel's separator)", v), -1;
    return 0;
}

static int check_target(const char *target, char *err, size_t errlen)
{
    char host[256];
    uint16_t port;
    return tcp_parse_hostport(target, C3_TCP_PORT, host, sizeof host, &port, err, errlen);
}

/* ---- through portierd: a panel it owns is asked through it, never connected to behind its back ---- */

static int via_fail(struct ctl *c, int rc, const char *err) { return ctl_fail(c->opts->json, "c3", rc, err); }

/* One parameter read through portierd in batches; values[i] answers names[i] (malloc'd, NULL when absent). */
static int via_params_get(struct ctl *c, struct ctl_daemon_device *p, const char *const *names, size_t n, char **values)
{
    for (size_t b = 0; b < c3_params_batches(n, C3_PARAMS_GET_MAX); b++) {
        size_t first, count;
        c3_params_batch(n, C3_PARAMS_GET_MAX, b, &first, &count);
        char req[4096], err[320];
        int len = c3_params_get_request(req, sizeof req, names + first, count);
        if (len < 0)
            return via_fail(c, CTL_EXIT_USAGE, c3_session_strerror(len));
        unsigned char *reply;
        size_t rlen;
        int rc = ctl_daemon_panel_raw(p, C3_CMD_GET_PARAM, req, (size_t)len, &reply, &rlen, err, sizeof err);
        if (rc != CTL_EXIT_OK)
            return via_fail(c, rc, err);
        struct c3_param_span items[C3_PARAMS_GET_MAX * 2];
        int k = c3_params_parse((const char *)reply, rlen, items, sizeof items / sizeof items[0]);
        for (size_t i = 0; k > 0 && i < count; i++) {
            const struct c3_param_span *sp = c3_params_find(items, (size_t)k, names[first + i]);
            if (sp && (values[first + i] = malloc(sp->value_len + 1)))
                c3_params_value_str(sp, values[first + i], sp->value_len + 1);
        }
        free(reply);
        if (k < 0)
            return via_fail(c, CTL_EXIT_DEVICE_ERROR, "the panel's answer is not NAME=VALUE text");
    }
    return CTL_EXIT_OK;
}

static int via_params_set(struct ctl *c, struct ctl_daemon_device *p, const char *const *names,
                          const char *const *values, size_t n)
{
    for (size_t b = 0; b < c3_params_batches(n, C3_PARAMS_SET_MAX); b++) {
        size_t first, count;
        c3_params_batch(n, C3_PARAMS_SET_MAX, b, &first, &count);
        struct c3_param pairs[C3_PARAMS_SET_MAX];
        for (size_t i = 0; i < count; i++)
            pairs[i] = (struct c3_param){ names[first + i], values[first + i] };
        char req[4096], err[320];
        int len = c3_params_set_request(req, sizeof req, pairs, count);
        if (len < 0)
            return via_fail(c, CTL_EXIT_USAGE, c3_session_strerror(len));
        unsigned char *reply;
        size_t rlen;
        int rc = ctl_daemon_panel_raw(p, C3_CMD_SET_PARAM, req, (size_t)len, &reply, &rlen, err, sizeof err);
        free(reply);
        if (rc != CTL_EXIT_OK)
            return via_fail(c, rc, err);
    }
    return CTL_EXIT_OK;
}

/* The command through portierd's raw pass-through (it checks the role and audits every request); the answers are
 * printed by the same code as in direct mode. */
static int via_daemon(struct ctl *c, struct ctl_daemon_device *p)
{
    int rc;
    c->exit_code = CTL_EXIT_OK;
    switch (c->cmd) {
    case CMD_INFO:
    case CMD_PGET:
    case CMD_TIME_GET: {
        static const char *const info_names[] = { C3_INFO_PARAMS }, *const dt[] = { "DateTime" };
        const char *const *names = c->cmd == CMD_INFO ? info_names : c->cmd == CMD_TIME_GET ? dt
                                                                                            : (const char *const *)c->names;
        size_t n = c->cmd == CMD_INFO ? sizeof info_names / sizeof info_names[0] : c->cmd == CMD_TIME_GET ? 1 : c->n;
        char **values = calloc(n ? n : 1, sizeof *values);
        rc = values ? via_params_get(c, p, names, n, values) : via_fail(c, CTL_EXIT_UNREACHABLE, "out of memory");
        struct c3_params_result r = { .n = n, .names = names, .values = (const char *const *)values };
        if (rc == CTL_EXIT_OK && c->cmd == CMD_INFO) {
            struct c3_info info;
            c3_info_from_params(&r, &info);
            on_info(c, 0, &info);
        } else if (rc == CTL_EXIT_OK && c->cmd == CMD_PGET) {
            on_params(c, &r);
        } else if (rc == CTL_EXIT_OK) {
            uint32_t v;
            char *end;
            v = values[0] ? (uint32_t)strtoul(values[0], &end, 10) : 0;
            if (!values[0] || *end || end == values[0])
                rc = via_fail(c, CTL_EXIT_DEVICE_ERROR, "the panel did not say its DateTime");
            else
                on_time(c, 0, v);
        }
        for (size_t i = 0; values && i < n; i++)
            free(values[i]);
        free(values);
        break;
    }
    case CMD_PSET:
        rc = via_params_set(c, p, (const char *const *)c->names, (const char *const *)c->values, c->n);
        if (rc == CTL_EXIT_OK)
            on_done(c, 0);
        break;
    case CMD_TIME_SYNC: {
        char req[64], err[320];
        int len = c3_time_from_time_t(time(NULL), &c->synced) < 0 ? -1
                  : c3_params_set_datetime(req, sizeof req, c->synced);
        unsigned char *reply = NULL;
        size_t rlen;
        rc = len < 0 ? via_fail(c, CTL_EXIT_USAGE, "this machine's clock cannot be sent to a panel")
                     : ctl_daemon_panel_raw(p, C3_CMD_SET_PARAM, req, (size_t)len, &reply, &rlen, err, sizeof err);
        free(reply);
        if (rc == CTL_EXIT_OK)
            on_done(c, 0);
        else if (len >= 0)
            via_fail(c, rc, err);
        break;
    }
    case CMD_CONTROL: {
        char err[320];
        unsigned char *reply = NULL;
        size_t rlen;
        rc = ctl_daemon_panel_raw(p, C3_CMD_CONTROL, c->ctl, sizeof c->ctl, &reply, &rlen, err, sizeof err);
        free(reply);
        if (rc == CTL_EXIT_OK)
            on_done(c, 0);
        else
            via_fail(c, rc, err);
        break;
    }
    default:
        rc = via_fail(c, CTL_EXIT_USAGE, "not through portierd");
        break;
    }
    return rc == CTL_EXIT_OK ? c->exit_code : rc;
}

int ctl_c3_daemon_panel(const struct ctl_call *call, struct ctl_daemon_device **dp)
{
    char host[256], err[256];
    uint16_t port;
    struct tcp_addr a;
    if (call->g.direct || tcp_parse_hostport(call->target, C3_TCP_PORT, host, sizeof host, &port, err, sizeof err) < 0 ||
        tcp_resolve(host, port, &a, err, sizeof err) < 0)
        return -1; /* the direct path says what is wrong with the address */
    return ctl_daemon_panel_open(call, a.text, dp);
}

void ctl_c3_job_done(struct ctl_c3_job *job, int exit_code) { finish(job->ctl, exit_code); }
void ctl_c3_job_fail(struct ctl_c3_job *job, int err) { fail_with(job->ctl, err); }

static int c3_run_with(struct ctl_call *call, enum cmd cmd, struct ctl_c3_job *job);

static int c3_run(struct ctl_call *call)
{
    const struct c3_row *row = call->verb->data;
    if (row->cmd == CMD_EVENTS && ctl_has(call, "history"))
        return ctl_c3_history_run(call);
    return c3_run_with(call, row->cmd, NULL);
}

int ctl_c3_run_job(struct ctl_call *call, struct ctl_c3_job *job) { return c3_run_with(call, CMD_JOB, job); }

static int c3_run_with(struct ctl_call *call, enum cmd cmd, struct ctl_c3_job *job)
{
    const struct c3_row *row = job ? NULL : call->verb->data;
    const struct ctl_opts *opts = &call->g;
    struct ctl c = { .opts = opts, .timeout_ms = ctl_timeout(opts, 10000), .cmd = cmd,
                     .job = job };
    const char *password = ctl_str(call, "password", NULL);
    static const enum c3_dialect dialects[] = { C3_DIALECT_AUTO, C3_DIALECT_SESSION, C3_DIALECT_SESSIONLESS };
    enum c3_dialect dialect = dialects[ctl_num(call, "dialect", 0)];
    switch (cmd) {
    case CMD_PGET:
    case CMD_PSET:
        if (build_params(&c, call, cmd == CMD_PSET) < 0) {
            fprintf(stderr, "portierctl c3: out of memory\n");
            return CTL_EXIT_UNREACHABLE;
        }
        break;
    case CMD_CONTROL:
        if (build_control(&c, call, row ? row->kind : K_NONE) < 0) {
            fprintf(stderr, "portierctl c3: %s: cannot encode the request\n", call->verb->syntax);
            return CTL_EXIT_USAGE;
        }
        break;
    case CMD_EVENTS:
        c.follow = ctl_has(call, "follow");
        c.include_status = ctl_has(call, "include-status");
        c.count = (long)ctl_num(call, "count", 0);
        c.interval_ms = (uint32_t)ctl_num(call, "interval", 1000);
        break;
    default:
        break;
    }

    char host[256], err[256];
    uint16_t port;
    struct c3_session_config cfg = { .password = password, .dialect = dialect, .backoff_min_ms = 200,
                                     .backoff_max_ms = 2000 };
    if (tcp_parse_hostport(call->target, C3_TCP_PORT, host, sizeof host, &port, err, sizeof err) < 0 ||
        tcp_resolve(host, port, &cfg.addr, err, sizeof err) < 0) {
        fprintf(stderr, "portierctl c3: %s\n", err);
        free(c.names);
        free(c.values);
        return CTL_EXIT_UNREACHABLE; /* the text was checked: what failed is the name's resolution */
    }
    /* A panel of the running portierd's site is asked through it (it decides the role and audits), whoever holds
     * the panel: a user who may not even read its owner lock still gets the daemon's answer. */
    if (!opts->direct && cmd != CMD_JOB) {
        struct ctl_daemon_device *dp;
        int rc = ctl_daemon_panel_open(call, cfg.addr.text, &dp);
        if (rc == CTL_EXIT_OK) {
            rc = cmd == CMD_EVENTS ? ctl_c3_events_via_daemon(call, dp) : via_daemon(&c, dp);
            ctl_daemon_panel_close(dp);
        }
        if (rc >= 0) {
            free(c.names);
            free(c.values);
            return rc;
        }
    }
    /* One owner per panel: a panel that portierd (or a console) owns is not connected to behind its back. */
    char id[300], lockerr[512];
    struct devlock *lock = NULL;
    snprintf(id, sizeof id, "c3 %s:%u", host, (unsigned)port);
    if (devlock_owner(id, &lock, lockerr, sizeof lockerr) < 0) {
        char who[64] = "";
        pid_t pid = devlock_owner_of(id, who, sizeof who);
        bool daemon = pid && strcmp(who, "portierd") == 0;
        fprintf(stderr, "portierctl c3: %s (a panel serves one client)%s\n", lockerr,
                !daemon ? "" : cmd == CMD_EVENTS ? "; its events are in portierd's journal: portierctl watch, "
                                                   "portierctl journal"
                             : "; ask portierd (--socket PATH): this command, the site commands, or portierctl raw");
        free(c.names);
        free(c.values);
        return CTL_EXIT_UNREACHABLE;
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
        free(c.names);
        free(c.values);
        devlock_release(lock);
        return CTL_EXIT_UNREACHABLE;
    }
    struct c3_session_callbacks cbs = { .state = on_state, .record = on_record, .stale = on_stale,
                                        .trace = opts->verbose ? on_trace : NULL, .arg = &c };
    c.s = c3_session_new(c.loop, &cfg, &cbs);
    if (!c.s) {
        loop_free(c.loop);
        free(c.names);
        free(c.values);
        devlock_release(lock);
        return CTL_EXIT_UNREACHABLE;
    }
    loop_add_signal(c.loop, SIGINT, on_signal, &c);
    loop_add_signal(c.loop, SIGTERM, on_signal, &c);
    loop_timer_init(&c.deadline, on_deadline, &c);
    loop_timer_init(&c.hard_stop, on_hard_stop, &c);
    /* every command, events --follow too, must hear from the panel within the timeout */
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
    devlock_release(lock);
    return c.exit_code;
}

/* ---- the table ---- */

static const struct c3_row R_INFO = { CMD_INFO, K_NONE }, R_PGET = { CMD_PGET, K_NONE }, R_PSET = { CMD_PSET, K_NONE },
                           R_TGET = { CMD_TIME_GET, K_NONE }, R_TSYNC = { CMD_TIME_SYNC, K_NONE },
                           R_EVENTS = { CMD_EVENTS, K_NONE }, R_OPEN = { CMD_CONTROL, K_DOOR_OPEN },
                           R_CLOSE = { CMD_CONTROL, K_DOOR_CLOSE }, R_HOLD = { CMD_CONTROL, K_DOOR_HOLD },
                           R_NO = { CMD_CONTROL, K_NORMAL_OPEN }, R_AUXON = { CMD_CONTROL, K_AUX_ON },
                           R_AUXOFF = { CMD_CONTROL, K_AUX_OFF }, R_CANCEL = { CMD_CONTROL, K_CANCEL_ALARM },
                           R_RESTART = { CMD_CONTROL, K_RESTART };

#define DOOR_N { .name = "N", .type = CTL_UINT, .min = 1, .max = C3_CONTROL_NUMBER_MAX, .help = "door number" }
#define AUX_N { .name = "N", .type = CTL_UINT, .min = 1, .max = C3_CONTROL_NUMBER_MAX, .help = "aux output number" }

static const struct ctl_def a_door[] = { DOOR_N, { 0 } };
static const struct ctl_def a_aux[] = { AUX_N, { 0 } };
static const struct ctl_def a_door_open[] = {
    DOOR_N, { .name = "SECONDS", .type = CTL_UINT, .min = 1, .max = 254, .help = "seconds open (default 5)" }, { 0 } };
static const struct ctl_def a_aux_on[] = {
    AUX_N, { .name = "SECONDS", .type = CTL_UINT, .min = 1, .max = 254, .help = "seconds on (default: until off)" },
    { 0 } };
static const struct ctl_def a_pget[] = {
    { .name = "NAME", .type = CTL_CUSTOM, .check = check_param_name, .flags = CTL_REST, .sample = "LockCount", .help = "parameter names" },
    { 0 } };
static const struct ctl_def a_pset[] = {
    { .name = "NAME=VALUE", .type = CTL_CUSTOM, .check = check_param_pair, .flags = CTL_REST, .sample = "Door1Drivertime=5",
      .help = "parameters and their new values" },
    { 0 } };
static const struct ctl_def o_events[] = {
    { .name = "count", .type = CTL_UINT, .min = 1, .max = 1000000000, .meta = "N", .help = "stop after N records" },
    { .name = "follow", .key = 'f', .type = CTL_FLAG,
      .help = "keep polling; link, stale and gap records say when events may be missing" },
    { .name = "include-status", .type = CTL_FLAG, .help = "door/alarm status records too" },
    { .name = "interval", .type = CTL_UINT, .min = 10, .max = 3600000, .meta = "MS",
      .help = "poll period with --follow (default 1000)" },
    { .name = "history", .type = CTL_FLAG,
      .help = "the events the panel stored (its transaction table), oldest first, with a progress bar on a terminal" },
    { .name = "since", .type = CTL_TIME, .meta = "TIME",
      .help = "with --history: from this time of the panel's clock" },
    { 0 } };
static const struct ctl_def c3_opts[] = {
    { .name = "password", .type = CTL_TEXT, .max = 15, .meta = "PW", .help = "communication password" },
    { .name = "dialect", .type = CTL_CHOICE, .choices = "auto|session|sessionless",
      .help = "connect with 0x76 (session), 0x01 (sessionless) or try both" },
    { 0 } };

#define ROW(syntax, args, opts, help, changes, role, maps, data) \
    { syntax, args, opts, help, CTL_NO_ACTION, changes, role, maps, c3_run, &data, false }

static const struct ctl_verb c3_verbs[] = {
    ROW("info", NULL, NULL, "serial, firmware, model, door and aux counts, clock and dialect of the panel", false,
        ROLE_GUARD, "get parameters (0x04)", R_INFO),
    ROW("params get NAME...", a_pget, NULL, "read parameters by name", false, ROLE_GUARD, "get parameters (0x04)",
        R_PGET),
    ROW("params set NAME=VALUE...", a_pset, NULL, "write parameters", true, ROLE_TECHNICIAN, "set parameters (0x03)",
        R_PSET),
    ROW("time get", NULL, NULL, "the panel's clock", false, ROLE_GUARD, "get parameters (0x04) DateTime", R_TGET),
    ROW("time sync", NULL, NULL, "set the panel's clock to this host's local time", true, ROLE_TECHNICIAN,
        "set parameters (0x03) DateTime", R_TSYNC),
    ROW("door open N [SECONDS]", a_door_open, NULL, "open a door for a few seconds", true, ROLE_OPERATOR,
        "control (0x05) output", R_OPEN),
    ROW("door close N", a_door, NULL, "lock a door now", true, ROLE_OPERATOR, "control (0x05) output 0", R_CLOSE),
    ROW("door hold N", a_door, NULL, "hold a door open until closed", true, ROLE_OPERATOR,
        "control (0x05) output 255", R_HOLD),
    ROW("door normal-open N on|off", a_door, NULL, "normal-open mode of a door", true, ROLE_OPERATOR,
        "control (0x05) normal-open", R_NO),
    ROW("aux on N [SECONDS]", a_aux_on, NULL, "switch an aux output on", true, ROLE_OPERATOR,
        "control (0x05) aux output", R_AUXON),
    ROW("aux off N", a_aux, NULL, "switch an aux output off", true, ROLE_OPERATOR, "control (0x05) aux output 0",
        R_AUXOFF),
    ROW("alarms cancel", NULL, NULL, "cancel the panel's alarms", true, ROLE_OPERATOR, "control (0x05) cancel alarm",
        R_CANCEL),
    ROW("restart", NULL, NULL, "restart the panel", true, ROLE_TECHNICIAN, "control (0x05) restart", R_RESTART),
    ROW("events", NULL, o_events, "real-time events (and status records) from the panel, or with --history the "
        "events it stored", false, ROLE_GUARD, "RT log (0x0B, 0x79); get data (0x08) transaction", R_EVENTS),
    CTL_C3_DROW("table list", NULL, NULL, "every data table of the panel: name, id, rows, fields", false, ROLE_GUARD,
                "table structure (0x06), count (0x0A)", CD_TABLES),
    CTL_C3_DROW("table get NAME", ctl_c3_a_table, ctl_c3_o_tget, "the rows of a data table (field names as columns)",
                false, ROLE_GUARD, "get data (0x08)", CD_TGET),
    CTL_C3_DROW("table set NAME FILE", ctl_c3_a_table_file, ctl_c3_o_dry,
                "insert or update rows from a CSV file (header: field names; rows replace rows of the same key)",
                true, ROLE_TECHNICIAN, "set data (0x07)", CD_TSET),
    CTL_C3_DROW("table delete NAME", ctl_c3_a_table, ctl_c3_o_tdel, "delete the rows where a field has a value",
                true, ROLE_TECHNICIAN, "delete data (0x09)", CD_TDEL),
    CTL_C3_KIND_ROWS("users", USERS, "PIN", ctl_c3_a_pin, "PIN...", ctl_c3_a_pins, ctl_c3_o_user, "users"),
    CTL_C3_KIND_ROWS("cards", CARDS, "CARD PIN", ctl_c3_a_card_pin, "CARD...", ctl_c3_a_cards, ctl_c3_o_dry,
                     "cards (card number -> user)"),
    CTL_C3_KIND_ROWS("access", ACCESS, "PIN DOOR TIMEZONE", ctl_c3_a_access, "PIN DOOR TIMEZONE", ctl_c3_a_access,
                     ctl_c3_o_dry, "access rights (user x door x time zone)"),
    CTL_C3_KIND_ROWS("timezones", TZ, "ID", ctl_c3_a_tz, "ID...", ctl_c3_a_tzs, ctl_c3_o_tz,
                     "time zones (up to 3 intervals per day)"),
    CTL_C3_KIND_ROWS("holidays", HOL, "DATE", ctl_c3_a_date, "DATE...", ctl_c3_a_dates, ctl_c3_o_hol, "holidays"),
    { "discover", NULL, ctl_c3_o_discover, "find the panels on the local network (UDP broadcast; no HOST)",
      CTL_NO_ACTION, false, ROLE_GUARD, "search (0x14, UDP)", ctl_c3_discover_run, &ctl_c3_discover_search, false },
    { "discover set-ip MAC ADDRESS GATEWAY", ctl_c3_a_setip, ctl_c3_o_discover,
      "give the panel with this MAC a new address (ADDRESS = IP/MASK; panels without a password only; no HOST)",
      CTL_NO_ACTION, true, ROLE_TECHNICIAN, "change IP (0x15, UDP)", ctl_c3_discover_run, &ctl_c3_discover_setip, false },
};

const struct ctl_family ctl_c3_family = {
    .name = "c3",
    .target = "HOST[:PORT]",
    .help = "one ZKTeco C3 panel over TCP (a panel serves one client at a time: against a panel portierd owns, "
            "the commands go through portierd)",
    .opts = c3_opts,
    .verbs = c3_verbs,
    .nverbs = sizeof c3_verbs / sizeof c3_verbs[0],
    .check_target = check_target,
    .targetless = (const char *const[]){ "discover", NULL },
};
