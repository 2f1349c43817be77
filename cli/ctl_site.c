/* ctl_site: the site-wide portierctl commands: journal, audit, check-config, door, status, emergency.
 * Doors are addressed by name across panels and buses; the caller's role is enforced and audited first. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/ctl.h"
#include "cli/ctl_c3.h"
#include "cli/ctl_site.h"
#include "config/site_config.h"
#include "core/action.h"
#include "core/csv.h"
#include "core/device.h"
#include "core/journal.h"
#include "core/timespec.h"
#include "drivers/drivers.h"

/* The driver registry of this front end: the shared one (drivers/drivers.h). */
static const struct device_ops *const *const drivers = drivers_registry;

/* ---- shared helpers ---- */

/* Load the site configuration (diagnostics to stderr). NULL when missing or invalid. */
static struct site *load_site(const struct ctl_opts *opts, bool quiet_missing)
{
    char path[2 * SITE_PATH_MAX + 8];
    if (!site_config_find(opts->config_path, path, sizeof path)) {
        if (!quiet_missing) {
            if (opts->config_path)
                fprintf(stderr, "portierctl: %s: no such file\n", opts->config_path);
            else if (ctl_daemon_absent())
                fprintf(stderr, "portierctl: portierd is not running here (no socket at %s), and no configuration "
                        "was found to own the devices directly (tried %s): start portierd, or use --socket PATH or "
                        "-c FILE\n", ctl_daemon_absent(), path);
            else
                fprintf(stderr, "portierctl: no configuration found (tried %s); use -c FILE\n", path);
        }
        return NULL;
    }
    struct config_diags d;
    struct site *site = site_config_load(path, &d);
    if (!site || d.warnings)
        config_diags_print(&d, stderr);
    config_diags_free(&d);
    return site;
}

static struct journal *open_journal(const struct site *site, const char *db, bool readonly)
{
    char path[SITE_PATH_MAX];
    if (db)
        snprintf(path, sizeof path, "%s", db);
    else if (site && site->journal.path[0])
        snprintf(path, sizeof path, "%s", site->journal.path);
    else
        journal_default_path(path, sizeof path);
    /* For actions: a journal that cannot store does not stop the emergency (action_run refuses the rest and
     * says why); what it keeps in memory is stored at the end or counted as lost. */
    struct journal_opts o = {
        .path = path,
        .readonly = readonly,
        .keep_trying = !readonly,
        .retention_days = site ? site->journal.retention_days : 0,
        .retention_rows = site ? site->journal.retention_rows : 0,
    };
    char err[512];
    struct journal *j = journal_open(&o, err, sizeof err);
    struct journal_health h;
    if (!j && !db && !site && ctl_daemon_absent()) /* what the caller meant to read is portierd's */
        fprintf(stderr, "portierctl: portierd is not running here (no socket at %s), and there is no journal of "
                "this user's own (journal %s): start portierd, or use --socket PATH, -c FILE or --db FILE\n",
                ctl_daemon_absent(), err);
    else if (!j)
        fprintf(stderr, "portierctl: journal %s\n", err);
    else if (!readonly && (journal_health(j, &h), h.state == JOURNAL_UNAVAILABLE))
        fprintf(stderr, "portierctl: journal %s: %s (nothing can be stored: only the emergency runs)\n", path,
                h.reason);
    return j;
}

/* The filters of journal and audit from the call (values already checked by the table). */
void ctl_query_from_call(const struct ctl_call *call, struct journal_query *q, bool audit)
{
    q->kind = ctl_has(call, "kind") ? event_kind_from_name(ctl_str(call, "kind", "")) : -1;
    q->min_severity = ctl_has(call, "severity") ? event_severity_from_name(ctl_str(call, "severity", "")) : -1;
    q->limit = (size_t)ctl_num(call, "limit", 50);
    q->before_id = ctl_num(call, "before", 0);
    q->since_us = ctl_num(call, "since", 0);
    q->until_us = ctl_num(call, "until", 0);
    q->door = ctl_str(call, audit ? "target" : "door", NULL);
    q->device = audit ? NULL : ctl_str(call, "device", NULL);
    q->user = audit ? ctl_str(call, "user", NULL) : NULL;
    q->search = ctl_str(call, "search", NULL);
}

int ctl_print_event(const struct event *ev, bool acked, void *arg)
{
    enum ctl_out_mode mode = *(enum ctl_out_mode *)arg;
    char t[32];
    event_format_time(ev->host_time_us, t, sizeof t);
    if (mode == OUT_JSON) {
        json_t *o = json_pack("{s:I,s:s,s:I,s:s,s:s,s:s,s:s,s:i,s:i,s:s,s:s,s:b}", "id", (json_int_t)ev->id,
                              "time", t, "time_us", (json_int_t)ev->host_time_us, "kind", event_kind_name(ev->kind),
                              "severity", event_severity_name(ev->severity), "device", ev->device, "door", ev->door,
                              "door_no", ev->door_no, "code", ev->code, "code_name", ev->code_name, "text", ev->text,
                              "acked", acked);
        if (!o)
            return 1;
        if (ev->device_time)
            json_object_set_new(o, "device_time", json_integer(ev->device_time));
        json_object_set_new(o, "recovered", json_boolean(ev->recovered));
        if (ev->kind == EVENT_ACCESS) {
            json_object_set_new(o, "card", json_integer(ev->card));
            json_object_set_new(o, "pin", json_integer(ev->pin));
            json_object_set_new(o, "verify", json_integer(ev->verify));
            json_object_set_new(o, "inout", json_integer(ev->inout));
        }
        if (ev->kind == EVENT_NIX1_ACCESS) {
            json_object_set_new(o, "uid", json_string(ev->uid));
            json_object_set_new(o, "unit", json_integer(ev->unit));
            json_object_set_new(o, "addr", json_string(ev->addr));
        }
        char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(o);
        if (s) {
            puts(s);
            free(s);
        }
    } else if (mode == OUT_CSV) {
        char id[24], code[16], card[16];
        snprintf(id, sizeof id, "%lld", (long long)ev->id);
        snprintf(code, sizeof code, "%d", ev->code);
        snprintf(card, sizeof card, "%u", ev->card);
        csv_write_field(stdout, id, false);
        csv_write_field(stdout, t, false);
        csv_write_field(stdout, event_kind_name(ev->kind), false);
        csv_write_field(stdout, event_severity_name(ev->severity), false);
        csv_write_field(stdout, ev->device, false);
        csv_write_field(stdout, ev->door, false);
        csv_write_field(stdout, code, false);
        csv_write_field(stdout, ev->code_name, false);
        csv_write_field(stdout, ev->kind == EVENT_ACCESS ? card : "", false);
        csv_write_field(stdout, ev->uid, false);
        csv_write_field(stdout, ev->text, false);
        csv_write_field(stdout, ev->recovered ? "recovered" : "", true);
    } else {
        char line[512];
        event_format_line(ev, line, sizeof line);
        printf("%6lld %s%s\n", (long long)ev->id, line, acked ? " (acknowledged)" : "");
    }
    return 0;
}

int ctl_print_audit(const struct audit_record *r, void *arg)
{
    enum ctl_out_mode mode = *(enum ctl_out_mode *)arg;
    char t[32], d[32] = "";
    event_format_time(r->time_us, t, sizeof t);
    if (r->done_us)
        event_format_time(r->done_us, d, sizeof d);
    if (mode == OUT_JSON) {
        json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)r->id, "time", t,
                              "user", r->user, "role", r->role, "action", r->action, "target", r->target, "params",
                              r->params, "result", r->result, "detail", r->detail, "done", d);
        char *s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
        json_decref(o);
        if (s) {
            puts(s);
            free(s);
        }
    } else if (mode == OUT_CSV) {
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)r->id);
        csv_write_field(stdout, id, false);
        csv_write_field(stdout, t, false);
        csv_write_field(stdout, r->user, false);
        csv_write_field(stdout, r->role, false);
        csv_write_field(stdout, r->action, false);
        csv_write_field(stdout, r->target, false);
        csv_write_field(stdout, r->params, false);
        csv_write_field(stdout, r->result, false);
        csv_write_field(stdout, r->detail, false);
        csv_write_field(stdout, d, true);
    } else {
        printf("%6lld %s %s (%s) %s%s%s%s%s: %s%s%s\n", (long long)r->id, t, r->user, r->role, r->action,
               r->target[0] ? " " : "", r->target, r->params[0] ? " " : "", r->params, r->result,
               r->detail[0] ? " — " : "", r->detail);
    }
    return 0;
}

/* journal and audit: the same filters and output modes over the events or the audit trail. */
static int cmd_query(const struct ctl_call *call, bool audit)
{
    const struct ctl_opts *opts = &call->g;
    char sock[SITE_PATH_MAX];
    int mode_d = ctl_has(call, "db") ? 0 : ctl_daemon_choose(opts, sock, sizeof sock);
    if (mode_d < 0)
        return CTL_EXIT_UNREACHABLE;
    if (mode_d > 0)
        return ctl_daemon_query(call, sock, audit);
    struct journal_query q = { 0 };
    ctl_query_from_call(call, &q, audit);
    enum ctl_out_mode mode = ctl_out_mode_of(call);
    struct site *site = load_site(opts, true);
    char why[400];
    if (site_check_range(q.since_us, q.until_us, why, sizeof why) < 0) {
        fprintf(stderr, "portierctl: %s: %s\n", audit ? "audit" : "journal", why);
        site_free(site);
        return CTL_EXIT_USAGE;
    }
    struct journal *j = open_journal(site, ctl_str(call, "db", NULL), true);
    if (!j) {
        site_free(site);
        return CTL_EXIT_UNREACHABLE;
    }
    ctl_print_csv_header(mode, audit);
    long n = audit ? journal_query_audit(j, &q, ctl_print_audit, &mode)
                   : journal_query_events(j, &q, ctl_print_event, &mode);
    if (n < 0)
        fprintf(stderr, "portierctl: %s: %s\n", audit ? "audit" : "journal", journal_error(j));
    journal_close(j);
    /* nothing matched a door or device the site does not have (a removed one's rows would have): a mistake */
    bool unknown = n == 0 && !audit && site_check_names(site, q.door, q.device, why, sizeof why) < 0;
    site_free(site);
    if (unknown) {
        fprintf(stderr, "portierctl: journal: %s nor in the journal\n", why);
        return CTL_EXIT_USAGE;
    }
    return n < 0 ? CTL_EXIT_DEVICE_ERROR : CTL_EXIT_OK;
}

static int cmd_journal(struct ctl_call *call)
{
    return cmd_query(call, false);
}

/* audit --verify: walk the hash chain of the audit trail; exit 1 and the first broken link when it does not hold. */
static int audit_verify(const struct ctl_call *call)
{
    char sock[SITE_PATH_MAX];
    int mode = ctl_has(call, "db") ? 0 : ctl_daemon_choose(&call->g, sock, sizeof sock);
    if (mode < 0)
        return CTL_EXIT_UNREACHABLE;
    if (mode > 0)
        return ctl_daemon_verify(call, sock);
    struct site *site = load_site(&call->g, true);
    struct journal *j = open_journal(site, ctl_str(call, "db", NULL), true);
    site_free(site);
    if (!j)
        return CTL_EXIT_UNREACHABLE;
    struct journal_verify_result v;
    int rc = journal_audit_verify(j, &v);
    journal_close(j);
    return ctl_print_verify(&call->g, rc < 0 ? NULL : &v, v.error);
}

static int cmd_audit(struct ctl_call *call)
{
    if (ctl_has(call, "verify"))
        return audit_verify(call);
    return cmd_query(call, true);
}

/* A command that runs only through portierd: run(call, its socket), or, with no portierd, "portierctl: NEED, and no
 * portierd socket was found at SOCK" and what to do instead (without), and exit 2. */
static int through_daemon(struct ctl_call *call, int (*run)(const struct ctl_call *, const char *), const char *need,
                          const char *without)
{
    char sock[SITE_PATH_MAX];
    int mode = ctl_daemon_choose(&call->g, sock, sizeof sock);
    if (mode < 0)
        return CTL_EXIT_UNREACHABLE;
    if (mode == 0) {
        fprintf(stderr, "portierctl: %s, and no portierd socket was found at %s%s\n", need, sock, without);
        return CTL_EXIT_USAGE;
    }
    return run(call, sock);
}

static int cmd_watch(struct ctl_call *call)
{
    return through_daemon(call, ctl_daemon_watch, "watch follows portierd's live stream",
                          " (give --socket PATH; without a daemon, the console shows the live events)");
}

static int cmd_raw(struct ctl_call *call)
{
    return through_daemon(call, ctl_daemon_raw, "raw goes through portierd",
                          "; without a daemon, talk to the device directly: portierctl c3 HOST ... or portierctl nix1 "
                          "PORT ...");
}

static int cmd_mqtt_status(struct ctl_call *call)
{
    return through_daemon(call, ctl_daemon_mqtt_status, "the MQTT output runs in portierd", " (give --socket PATH)");
}

static int cmd_daemon_status(struct ctl_call *call)
{
    return through_daemon(call, ctl_daemon_self, "this is portierd's own state", " (give --socket PATH)");
}

/* --json: one object per problem ({"file","line","severity","message"}), then the verdict. */
static int check_config_json(const char *explicit_path)
{
    char path[2 * SITE_PATH_MAX + 8];
    if (!site_config_find(explicit_path, path, sizeof path)) {
        char msg[2 * SITE_PATH_MAX + 64];
        snprintf(msg, sizeof msg, explicit_path ? "%s: no such file" : "no configuration found (tried %s); use -c FILE",
                 explicit_path ? explicit_path : path);
        ctl_print_json(json_pack("{s:b,s:s,s:i}", "ok", 0, "error", msg, "code", CTL_EXIT_USAGE));
        fprintf(stderr, "portierctl: %s\n", msg);
        return CTL_EXIT_USAGE;
    }
    struct config_diags d;
    struct site *site = site_config_load(path, &d);
    for (size_t i = 0; i < d.n; i++) {
        const struct config_diag *g = &d.items[i];
        ctl_print_json(json_pack("{s:s,s:i,s:s,s:s}", "file", d.file, "line", g->line, "severity",
                                 g->warning ? "warning" : "error", "message", g->message));
    }
    json_t *v = json_pack("{s:s,s:b,s:I,s:I}", "file", path, "ok", site != NULL, "errors", (json_int_t)d.errors,
                          "warnings", (json_int_t)d.warnings);
    if (site && v) {
        size_t doors = 0;
        for (size_t i = 0; i < site->n_outputs; i++)
            doors += site->outputs[i].type != OUTPUT_AUX;
        json_object_set_new(v, "site", json_string(site->name));
        json_object_set_new(v, "panels", json_integer((json_int_t)site->n_panels));
        json_object_set_new(v, "buses", json_integer((json_int_t)site->n_buses));
        json_object_set_new(v, "doors", json_integer((json_int_t)doors));
    } else if (v) { /* the failure's own error object (doc/decisions.md: --json failures) */
        char msg[2 * SITE_PATH_MAX + 40];
        snprintf(msg, sizeof msg, "%s: %zu error%s", path, (size_t)d.errors, d.errors == 1 ? "" : "s");
        json_object_set_new(v, "error", json_string(msg));
        json_object_set_new(v, "code", json_integer(CTL_EXIT_DEVICE_ERROR));
    }
    ctl_print_json(v);
    int rc = site ? CTL_EXIT_OK : CTL_EXIT_DEVICE_ERROR;
    site_free(site);
    config_diags_free(&d);
    return rc;
}

static int cmd_check_config(struct ctl_call *call)
{
    if (call->g.json)
        return check_config_json(ctl_str(call, "FILE", call->g.config_path));
    int rc = site_config_check(ctl_str(call, "FILE", call->g.config_path), stdout, stderr);
    return rc == 0 ? CTL_EXIT_OK : rc == 1 ? CTL_EXIT_DEVICE_ERROR : CTL_EXIT_USAGE;
}

/* ---- live commands: door, status, emergency ---- */

struct live {
    struct site *site;
    loop_t *loop;
    struct journal *j;
    bool readonly;
    struct action_user user;
    bool done;
    enum action_status status;
    const struct ctl_opts *opts;
    loop_timer_t deadline;
    bool timed_out;
    struct ctl_site_run *run;  /* an action with parameters and lines (ctl_site_run_direct) */
};

static void live_close(struct live *l);

static void live_timeout(loop_t *loop, void *arg)
{
    struct live *l = arg;
    l->timed_out = true;
    (void)loop; /* no loop_stop: a stopped loop does no I/O in loop_run_once; callers check the flag */
}

/* Open the site and its journal and resolve the caller's role; attach the devices only when the role may
 * run action (CTL_NO_ACTION: always), so a command the role may not run opens no device at all. */
static int live_open(struct live *l, const struct ctl_opts *opts, int action)
{
    memset(l, 0, sizeof *l);
    l->opts = opts;
    l->site = load_site(opts, false);
    if (!l->site) /* neither portierd nor a configuration: the site is out of reach; else -c FILE is wrong */
        return !opts->config_path && ctl_daemon_absent() ? CTL_EXIT_UNREACHABLE : CTL_EXIT_USAGE;
    l->j = open_journal(l->site, NULL, false);
    if (!l->j) {
        site_free(l->site);
        return CTL_EXIT_UNREACHABLE;
    }
    l->loop = loop_new();
    l->site->loop = l->loop;
    l->site->journal_db = l->j;
    event_bus_set_journal(site_events(l->site), journal_store_hook, l->j);
    l->user.role = role_resolve_current(l->site->roles, l->site->n_roles, l->site->default_role, opts->readonly,
                                        l->user.name, sizeof l->user.name);
    loop_timer_init(&l->deadline, live_timeout, l);
    if (action != CTL_NO_ACTION && !action_allowed(l->user.role, (enum action_id)action))
        return CTL_EXIT_OK; /* action_run refuses (and audits the attempt) before anything is sent */
    char err[256];
    if (device_attach_all(l->site, drivers, err, sizeof err) != 0) {
        fprintf(stderr, "portierctl: %s\n", err);
        live_close(l);
        return CTL_EXIT_UNREACHABLE;
    }
    return CTL_EXIT_OK;
}

static void live_close(struct live *l)
{
    device_detach_all(l->site);
    /* let drivers flush what stop queued */
    loop_run_once(l->loop, 0);
    event_bus_flush(site_events(l->site));
    journal_flush(l->j);
    struct journal_health h;
    journal_health(l->j, &h);
    if (h.kept_events || h.kept_audits)
        fprintf(stderr, "portierctl: the journal could not store %zu events and %zu audit rows (%s): they are lost\n",
                h.kept_events, h.kept_audits, h.reason);
    journal_close(l->j);
    l->site->journal_db = NULL;
    site_free(l->site);
    loop_free(l->loop);
}

/* Start (connect) the attached devices in want; NULL: every device. */
static void live_start(struct live *l, const bool *want)
{
    if (!want) {
        device_start_all(l->site);
        return;
    }
    for (size_t i = 0; i < l->site->n_devices; i++) {
        struct device *dev = l->site->devices[i].drv;
        if (want[i] && dev && dev->ops->start)
            dev->ops->start(dev);
    }
}

/* Run the loop until every attached device in want (NULL: every device) is up or has failed, or timeout_ms.
 * All devices connect at once, so the wait is the slowest of them, not the sum. A device whose connect
 * failed outright (connection refused, no such port, no answer) reports LINK_DOWN, which is final here: its
 * commands fail at once with the reason instead of after the deadline. Drivers report "connecting" from
 * start() until the first attempt has failed, so a down link seen after start is a failure. */
static void live_wait_links(struct live *l, const bool *want, unsigned timeout_ms)
{
    l->timed_out = false;
    loop_timer_arm_ms(l->loop, &l->deadline, timeout_ms);
    while (!l->timed_out) {
        bool settled = true;
        for (size_t i = 0; i < l->site->n_devices; i++) {
            const struct site_device *sd = &l->site->devices[i];
            if (sd->drv && (!want || want[i]) && sd->link != LINK_UP && sd->link != LINK_DOWN)
                settled = false;
        }
        if (settled)
            break;
        if (loop_run_once(l->loop, 100) < 0)
            break;
    }
    loop_timer_disarm(l->loop, &l->deadline);
}

/* Mark in want (one flag per site device) the devices the action will send to: the device of the named door,
 * aux output, probe, panel or slave; every device with an emergency door for the emergency. Nothing for an
 * action the caller's role may not run or a name that does not resolve: action_run refuses those before
 * sending anything, so there is nothing to wait for. */
static void live_targets(const struct live *l, enum action_id id, const char *target, bool *want)
{
    struct site *s = l->site;
    for (size_t i = 0; i < s->n_devices; i++)
        want[i] = false;
    if ((unsigned)id >= ACTION_COUNT || !action_allowed(l->user.role, id))
        return;
    switch (action_table[id].target) {
    case ACTION_TARGET_NONE:
    case ACTION_TARGET_EVENT:
        return;
    case ACTION_TARGET_SITE:
        if (id == ACTION_EMERGENCY_ON || id == ACTION_EMERGENCY_OFF)
            for (size_t i = 0; i < s->n_outputs; i++)
                if (s->outputs[i].device < s->n_devices && action_emergency_output(s, &s->outputs[i]))
                    want[s->outputs[i].device] = true;
        return;
    case ACTION_TARGET_SLAVE:
        for (size_t d = 0; target && d < s->n_devices; d++) {
            const struct site_bus *b = s->devices[d].bus;
            for (size_t i = 0; b && i < b->n_slaves; i++)
                if (strcasecmp(b->slaves[i].name, target) == 0 || strcasecmp(b->slaves[i].addr, target) == 0)
                    want[d] = true;
        }
        return;
    default:
        break;
    }
    if (!target)
        return;
    struct site_device *d = action_table[id].target == ACTION_TARGET_DEVICE ? site_find_device(s, target) : NULL;
    struct site_output *o = d ? NULL : site_find_output(s, target);
    if (d)
        want[d->index] = true;
    else if (o && o->device < s->n_devices)
        want[o->device] = true;
}

static void live_progress(const struct action_run *run, bool finished, void *arg)
{
    struct live *l = arg;
    struct ctl_site_run *sr = l->run;
    if (!sr || !sr->quiet || (finished && run->status != ACTION_OK && !sr->lines))
        ctl_print_run(l->opts, l->site, run, finished);
    if (finished) {
        l->done = true;
        l->status = run->status;
        if (sr) {
            sr->status = run->status;
            event_copy(sr->message, sizeof sr->message, run->n_results ? run->results[0].message : run->error);
        }
    }
}

static void live_step(void *arg, unsigned done, unsigned total, const char *line)
{
    struct ctl_site_run *sr = arg;
    if (!line) {
        if (sr->progress && total > 0 && done <= total)
            sr->progress(sr->arg, done, total);
        return;
    }
    sr->lines++;
    if (sr->line)
        sr->line(sr->arg, line);
}

static void live_record(void *arg, const char *line, const json_t *record)
{
    struct ctl_site_run *sr = arg;
    sr->lines++;
    if (sr->record)
        sr->record(sr->arg, line, record);
    else if (sr->line && line)
        sr->line(sr->arg, line);
}

static int live_action(const struct ctl_opts *opts, enum action_id id, const char *target, long value,
                       const char *comment, struct ctl_site_run *sr)
{
    struct live l;
    int rc = live_open(&l, opts, (int)id);
    if (rc != CTL_EXIT_OK)
        return rc;
    /* Connect first (a command to a panel that is still connecting would only wait longer), but only to the
     * devices this action sends to: a dead panel elsewhere on the site must not slow every door command. */
    bool *want = calloc(l.site->n_devices ? l.site->n_devices : 1, sizeof *want);
    if (!want) {
        fprintf(stderr, "portierctl: out of memory\n");
        live_close(&l);
        return CTL_EXIT_UNREACHABLE;
    }
    live_targets(&l, id, target, want);
    live_start(&l, want);
    live_wait_links(&l, want, 10000);
    free(want);
    struct action_params p = { .value = value > 0 ? (unsigned)value : 0, .has_value = value > 0 };
    l.run = sr;
    if (sr) {
        p.settings = sr->settings;
        p.file_data = sr->data;
        p.file_len = sr->len;
        p.step = live_step;
        p.record = live_record;
        p.step_arg = sr;
    }
    char err[256];
    if (comment && comment[0] && action_allowed(l.user.role, id))
        ctl_publish_comment(l.site, l.user.name, target, comment);
    if (id == ACTION_EMERGENCY_ON || id == ACTION_EMERGENCY_OFF)
        action_recover(l.site, false, NULL, NULL, NULL); /* close what an ended process left pending */
    action_run(l.site, &l.user, id, target, &p, live_progress, &l, err, sizeof err);
    l.timed_out = false;
    loop_timer_arm_ms(l.loop, &l.deadline, 60000);
    while (!l.done && !l.timed_out)
        if (loop_run_once(l.loop, 200) < 0)
            break;
    if (!l.done)
        fprintf(stderr, "portierctl: no result within 60 s\n");
    enum action_status st = l.done ? l.status : ACTION_FAILED;
    live_close(&l);
    return ctl_action_exit(id, st);
}

/* door ... and emergency on|off: the row's core action on the named door (or the site). */
static int cmd_action(struct ctl_call *call)
{
    enum action_id id = (enum action_id)call->verb->action;
    const char *target = ctl_str(call, "NAME", ctl_str(call, "ID", NULL));
    long value = (long)ctl_num(call, "SECONDS", ctl_num(call, "MINUTES", 0));
    const char *comment = ctl_str(call, "comment", NULL);
    char sock[SITE_PATH_MAX];
    int mode = ctl_daemon_choose(&call->g, sock, sizeof sock);
    if (mode < 0)
        return CTL_EXIT_UNREACHABLE;
    if (mode > 0)
        return ctl_daemon_action(call, sock, id, target, value, comment);
    if (id == ACTION_RELOAD_CONFIG) {
        fprintf(stderr, "portierctl: reload asks portierd to re-read its configuration; no portierd runs here "
                        "(a direct command reads the configuration anew each time)\n");
        return CTL_EXIT_USAGE;
    }
    return live_action(&call->g, id, target, value, comment, NULL);
}

int ctl_site_run_direct(struct ctl_call *call, struct ctl_site_run *r)
{
    return live_action(&call->g, r->id, r->target, 0, NULL, r);
}

static int cmd_status(struct ctl_call *call)
{
    const struct ctl_opts *opts = &call->g;
    char sock[SITE_PATH_MAX];
    int mode = ctl_daemon_choose(opts, sock, sizeof sock);
    if (mode < 0)
        return CTL_EXIT_UNREACHABLE;
    if (mode > 0)
        return ctl_daemon_status(call, sock);
    struct live l;
    int rc = live_open(&l, opts, CTL_NO_ACTION);
    if (rc != CTL_EXIT_OK)
        return rc;
    live_start(&l, NULL);
    live_wait_links(&l, NULL, 10000);
    /* one more poll round so door states arrive */
    l.timed_out = false;
    unsigned settle = 0;
    for (size_t i = 0; i < l.site->n_panels; i++)
        settle = l.site->panels[i].poll_ms > settle ? l.site->panels[i].poll_ms : settle;
    for (size_t i = 0; i < l.site->n_buses; i++)
        settle = l.site->buses[i].poll_ms > settle ? l.site->buses[i].poll_ms : settle;
    loop_timer_arm_ms(l.loop, &l.deadline, settle + 500);
    while (!l.timed_out && loop_run_once(l.loop, 200) >= 0)
        ;
    int down = ctl_print_status(opts, l.site, NULL);
    live_close(&l);
    return down ? CTL_EXIT_UNREACHABLE : CTL_EXIT_OK;
}

/* ---- the table ---- */

static const struct ctl_def journal_opts[] = {
    { .name = "since", .type = CTL_TIME, .meta = "TIME", .help = "events from this time on" },
    { .name = "until", .type = CTL_TIME, .meta = "TIME", .help = "events before this time" },
    { .name = "device", .type = CTL_TEXT, .max = 64, .meta = "NAME", .help = "events of this device" },
    { .name = "door", .type = CTL_TEXT, .max = 64, .meta = "NAME", .help = "events of this door" },
    { .name = "kind", .type = CTL_CHOICE,
      .choices = "access|door|nix1-access|link|command|gap|emergency|operator|system", .meta = "KIND", .help = "events of this kind" },
    { .name = "severity", .type = CTL_CHOICE, .choices = "normal|warning|alarm", .meta = "LEVEL", .help = "this severity or worse" },
    { .name = "search", .type = CTL_TEXT, .max = 200, .meta = "TEXT",
      .help = "events containing this text (case ignored, in any script)" },
    { .name = "limit", .type = CTL_UINT, .min = 1, .max = 1000000, .meta = "N", .help = "at most N events, 50 by default" },
    { .name = "before", .type = CTL_UINT, .min = 1, .max = INT64_MAX, .meta = "ID",
      .help = "only events older than this id (paging)" },
    { .name = "csv", .type = CTL_FLAG, .help = "CSV with a header line" },
    { .name = "db", .type = CTL_TEXT, .max = 4000, .meta = "FILE",
      .help = "this journal database instead of the configuration's" },
    { 0 },
};

static const struct ctl_def audit_opts[] = {
    { .name = "since", .type = CTL_TIME, .meta = "TIME", .help = "actions from this time on" },
    { .name = "until", .type = CTL_TIME, .meta = "TIME", .help = "actions before this time" },
    { .name = "user", .type = CTL_TEXT, .max = 63, .meta = "USER", .help = "actions of this Unix user" },
    { .name = "target", .type = CTL_TEXT, .max = 127, .meta = "NAME", .help = "actions on this door or device" },
    { .name = "search", .type = CTL_TEXT, .max = 200, .meta = "TEXT",
      .help = "actions containing this text (case ignored, in any script)" },
    { .name = "limit", .type = CTL_UINT, .min = 1, .max = 1000000, .meta = "N", .help = "at most N rows, 50 by default" },
    { .name = "before", .type = CTL_UINT, .min = 1, .max = INT64_MAX, .meta = "ID",
      .help = "only rows older than this id (paging)" },
    { .name = "csv", .type = CTL_FLAG, .help = "CSV with a header line" },
    { .name = "db", .type = CTL_TEXT, .max = 4000, .meta = "FILE",
      .help = "this journal database instead of the configuration's" },
    { .name = "verify", .type = CTL_FLAG,
      .help = "check the audit trail's hash chain; exit 1 with the first broken link when it does not hold" },
    { 0 },
};

static const struct ctl_def door_name[] = {
    { .name = "NAME", .type = CTL_TEXT, .max = 127, .help = "a door, aux output or NiX1 probe, by its configured name" },
    { 0 },
};
static const struct ctl_def door_seconds[] = {
    { .name = "NAME", .type = CTL_TEXT, .max = 127, .help = "a door, aux output or NiX1 probe, by its configured name" },
    { .name = "SECONDS", .type = CTL_UINT, .flags = CTL_ACTION_RANGE, .help = "seconds" },
    { 0 },
};
static const struct ctl_def door_minutes[] = {
    { .name = "NAME", .type = CTL_TEXT, .max = 127, .help = "a door, aux output or NiX1 probe, by its configured name" },
    { .name = "MINUTES", .type = CTL_UINT, .flags = CTL_ACTION_RANGE, .help = "minutes" },
    { 0 },
};
static const struct ctl_def watch_opts[] = {
    { .name = "kind", .type = CTL_CHOICE,
      .choices = "access|door|nix1-access|link|command|gap|emergency|operator|system", .meta = "KIND", .help = "events of this kind" },
    { .name = "severity", .type = CTL_CHOICE, .choices = "normal|warning|alarm", .meta = "LEVEL", .help = "this severity or worse" },
    { .name = "last", .type = CTL_UINT, .min = 0, .max = 1000, .meta = "N", .help = "begin with the last N events (0)" },
    { .name = "count", .type = CTL_UINT, .min = 1, .max = 1000000000, .meta = "N", .help = "stop after N events" },
    { 0 },
};
static const struct ctl_def raw_dev[] = {
    { .name = "DEVICE", .type = CTL_TEXT, .max = 63, .help = "a panel or bus of the site, by its configured name" },
    { 0 },
};
static const struct ctl_def raw_opts[] = {
    { .name = "command", .type = CTL_UINT, .min = 0, .max = 255, .meta = "N", .help = "C3: the command byte (4 = get parameters...)" },
    { .name = "payload", .type = CTL_TEXT, .max = 2000, .meta = "HEX", .help = "C3: the payload, in hex" },
    { .name = "slave", .type = CTL_TEXT, .max = 16, .meta = "ADDR", .help = "NiX1: the slave's address (default: broadcast)" },
    { .name = "line", .type = CTL_TEXT, .max = 300, .meta = "LINE", .help = "NiX1: what follows the address (Qs, Nl 1\\t1...)" },
    { 0 },
};
static const struct ctl_def ack_id[] = {
    { .name = "ID", .type = CTL_UINT, .min = 1, .max = INT64_MAX, .help = "the journal id of the event" },
    { 0 },
};
static const struct ctl_def ack_opts[] = {
    { .name = "comment", .type = CTL_TEXT, .max = 200, .meta = "TEXT",
      .help = "words journaled with the acknowledgement" },
    { 0 },
};
static const struct ctl_def config_file[] = {
    { .name = "FILE", .type = CTL_TEXT, .max = 4000, .help = "the configuration (default: -c, then the search order)" },
    { 0 },
};

#define DOOR(syntax, args, id) { syntax, args, NULL, NULL, id, false, ROLE_OPERATOR, NULL, cmd_action, NULL, false }

static const struct ctl_verb site_verbs[] = {
    { "status", NULL, NULL, "links and door states of the whole site", CTL_NO_ACTION, false, ROLE_GUARD, NULL,
      cmd_status, NULL, false },
    DOOR("door open NAME [SECONDS]", door_seconds, ACTION_DOOR_OPEN),
    DOOR("door close NAME", door_name, ACTION_DOOR_CLOSE),
    DOOR("door hold NAME", door_name, ACTION_DOOR_HOLD),
    DOOR("door release NAME", door_name, ACTION_DOOR_RELEASE),
    DOOR("door timed-open NAME [MINUTES]", door_minutes, ACTION_TIMED_OPEN),
    DOOR("door normal-open-on NAME", door_name, ACTION_NORMAL_OPEN_ON),
    DOOR("door normal-open-off NAME", door_name, ACTION_NORMAL_OPEN_OFF),
    DOOR("door aux-on NAME [SECONDS]", door_seconds, ACTION_AUX_ON),
    DOOR("door aux-off NAME", door_name, ACTION_AUX_OFF),
    DOOR("door lockout-on NAME", door_name, ACTION_LOCKOUT_ON),
    DOOR("door lockout-off NAME", door_name, ACTION_LOCKOUT_OFF),
    DOOR("door cancel-alarm NAME", door_name, ACTION_CANCEL_ALARM),
    DOOR("emergency on", NULL, ACTION_EMERGENCY_ON),
    DOOR("emergency off", NULL, ACTION_EMERGENCY_OFF),
    { "ack ID", ack_id, ack_opts, "acknowledge an alarm (a journal event), for every console at once", ACTION_ACK,
      false, ROLE_GUARD, NULL, cmd_action, NULL, false },
    { "reload", NULL, NULL, "make portierd re-read its configuration (validated first; a bad file is refused)",
      ACTION_RELOAD_CONFIG, true, ROLE_TECHNICIAN, NULL, cmd_action, NULL, true },
    { "journal", NULL, journal_opts, "events of the journal, newest first", CTL_NO_ACTION, false, ROLE_GUARD, NULL,
      cmd_journal, NULL, false },
    { "raw DEVICE", raw_dev, raw_opts, "one raw request to a panel or bus that portierd owns (technicians; audited)",
      CTL_NO_ACTION, true, ROLE_TECHNICIAN, "C3 command / NiX1 line", cmd_raw, NULL, true },
    { "mqtt status", NULL, NULL, "portierd's MQTT output: connection, backlog, last journal id the broker acknowledged",
      CTL_NO_ACTION, false, ROLE_GUARD, NULL, cmd_mqtt_status, NULL, true },
    { "daemon status", NULL, NULL, "portierd itself: uptime, clients (connected, refused, resynchronised) and the "
      "longest time anything held its event loop", CTL_NO_ACTION, false, ROLE_GUARD, NULL, cmd_daemon_status, NULL,
      true },
    { "watch", NULL, watch_opts, "live events from portierd until interrupted; reconnects and resumes by itself",
      CTL_NO_ACTION, false, ROLE_GUARD, NULL, cmd_watch, NULL, true },
    { "audit", NULL, audit_opts, "the operator audit trail (console and portierctl actions alike)", CTL_NO_ACTION,
      false, ROLE_GUARD, NULL, cmd_audit, NULL, false },
    { "check-config [FILE]", config_file, NULL, "validate the configuration and print every problem with its line",
      CTL_NO_ACTION, false, ROLE_GUARD, NULL, cmd_check_config, NULL, false },
    CTL_C3_SITE_ROWS("users", USERS, "PIN", ctl_c3_s_pin, "PIN", ctl_c3_s_pin, ctl_c3_o_user, "users"),
    CTL_C3_SITE_ROWS("cards", CARDS, "CARD PIN", ctl_c3_s_card_pin, "CARD", ctl_c3_s_card, ctl_c3_o_dry,
                     "cards (card number -> user)"),
    CTL_C3_SITE_ROWS("access", ACCESS, "PIN DOOR TIMEZONE", ctl_c3_s_access, "PIN DOOR TIMEZONE", ctl_c3_s_access,
                     ctl_c3_o_dry, "access rights (user x door x time zone)"),
    CTL_C3_SITE_ROWS("timezones", TZ, "ID", ctl_c3_s_tz, "ID", ctl_c3_s_tz, ctl_c3_o_tz, "time zones"),
    CTL_C3_SITE_ROWS("holidays", HOL, "DATE", ctl_c3_s_date, "DATE", ctl_c3_s_date, ctl_c3_o_hol, "holidays"),
};

const struct ctl_family ctl_site_family = {
    .name = NULL,
    .help = "the whole site of the configuration (-c FILE); door commands are checked against the caller's role "
            "and audited before anything is sent",
    .verbs = site_verbs,
    .nverbs = sizeof site_verbs / sizeof site_verbs[0],
};
