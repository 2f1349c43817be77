/* action: the action table and action_run (role check, audit first, dispatch, audit completion). */
#include "core/action.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/csv.h"
#include "core/device.h"
#include "core/journal.h"
#include "core/procmark.h"
#include "core/strbuf.h"

const struct action_def action_table[ACTION_COUNT] = {
    [ACTION_ACK] = { ACTION_ACK, "ack", "Acknowledge an event", ROLE_GUARD, false, ACTION_TARGET_EVENT, NULL, 0, 0, 0 },
    [ACTION_DOOR_OPEN] = { ACTION_DOOR_OPEN, "door-open", "Open a door for a few seconds", ROLE_OPERATOR, true,
                           ACTION_TARGET_DOOR, "seconds", 1, 254, 5 },
    [ACTION_DOOR_CLOSE] = { ACTION_DOOR_CLOSE, "door-close", "Lock a door now", ROLE_OPERATOR, true,
                            ACTION_TARGET_DOOR, NULL, 0, 0, 0 },
    [ACTION_DOOR_HOLD] = { ACTION_DOOR_HOLD, "door-hold", "Hold a door open until released", ROLE_OPERATOR, true,
                           ACTION_TARGET_DOOR, NULL, 0, 0, 0 },
    [ACTION_DOOR_RELEASE] = { ACTION_DOOR_RELEASE, "door-release", "Release a held door", ROLE_OPERATOR, true,
                              ACTION_TARGET_DOOR, NULL, 0, 0, 0 },
    [ACTION_TIMED_OPEN] = { ACTION_TIMED_OPEN, "door-timed-open", "Open a door for minutes (closes by itself)",
                            ROLE_OPERATOR, true, ACTION_TARGET_DOOR, "minutes", 1, 1440, 15 },
    [ACTION_NORMAL_OPEN_ON] = { ACTION_NORMAL_OPEN_ON, "normal-open-on", "Put a C3 door in normal-open",
                                ROLE_OPERATOR, true, ACTION_TARGET_DOOR, NULL, 0, 0, 0 },
    [ACTION_NORMAL_OPEN_OFF] = { ACTION_NORMAL_OPEN_OFF, "normal-open-off", "End normal-open of a C3 door",
                                 ROLE_OPERATOR, true, ACTION_TARGET_DOOR, NULL, 0, 0, 0 },
    [ACTION_AUX_ON] = { ACTION_AUX_ON, "aux-on", "Switch an aux output on for seconds (255 = until off)",
                        ROLE_OPERATOR, true, ACTION_TARGET_AUX, "seconds", 1, 255, 5 },
    [ACTION_AUX_OFF] = { ACTION_AUX_OFF, "aux-off", "Switch an aux output off", ROLE_OPERATOR, true,
                         ACTION_TARGET_AUX, NULL, 0, 0, 0 },
    [ACTION_CANCEL_ALARM] = { ACTION_CANCEL_ALARM, "cancel-alarm", "Cancel the alarm of a panel", ROLE_OPERATOR,
                              true, ACTION_TARGET_DEVICE, NULL, 0, 0, 0 },
    [ACTION_LOCKOUT_ON] = { ACTION_LOCKOUT_ON, "lockout-on", "Lock out a NiX1 reader (deny every key)",
                            ROLE_OPERATOR, true, ACTION_TARGET_PROBE, NULL, 0, 0, 0 },
    [ACTION_LOCKOUT_OFF] = { ACTION_LOCKOUT_OFF, "lockout-off", "End the lock-out of a NiX1 reader", ROLE_OPERATOR,
                             true, ACTION_TARGET_PROBE, NULL, 0, 0, 0 },
    [ACTION_EMERGENCY_ON] = { ACTION_EMERGENCY_ON, "emergency-on", "EMERGENCY: unlock the emergency doors",
                              ROLE_OPERATOR, true, ACTION_TARGET_SITE, NULL, 0, 0, 0 },
    [ACTION_EMERGENCY_OFF] = { ACTION_EMERGENCY_OFF, "emergency-off", "End the emergency: restore the doors",
                               ROLE_OPERATOR, true, ACTION_TARGET_SITE, NULL, 0, 0, 0 },
    [ACTION_RELOAD_CONFIG] = { ACTION_RELOAD_CONFIG, "reload-config", "Re-read the configuration file",
                               ROLE_TECHNICIAN, true, ACTION_TARGET_NONE, NULL, 0, 0, 0 },
    [ACTION_SLAVE_SET] = { ACTION_SLAVE_SET, "slave-set", "Change settings of a NiX1 slave", ROLE_TECHNICIAN, true,
                           ACTION_TARGET_SLAVE, NULL, 0, 0, 0 },
    [ACTION_SLAVE_FILE_PUT] = { ACTION_SLAVE_FILE_PUT, "slave-file-put", "Upload a file to a NiX1 slave",
                                ROLE_TECHNICIAN, true, ACTION_TARGET_SLAVE, NULL, 0, 0, 0 },
    [ACTION_SLAVE_FILE_DELETE] = { ACTION_SLAVE_FILE_DELETE, "slave-file-rm", "Delete a file of a NiX1 slave",
                                   ROLE_TECHNICIAN, true, ACTION_TARGET_SLAVE, NULL, 0, 0, 0 },
    [ACTION_SLAVE_PROVISION] = { ACTION_SLAVE_PROVISION, "slave-provision",
                                 "Provision a NiX1 slave from the bus's server files", ROLE_TECHNICIAN, true,
                                 ACTION_TARGET_SLAVE, NULL, 0, 0, 0 },
    [ACTION_PANEL_DATA_GET] = { ACTION_PANEL_DATA_GET, "panel-data-get",
                                "Read a panel's users, cards, access rights, time zones or holidays", ROLE_GUARD,
                                false, ACTION_TARGET_DEVICE, NULL, 0, 0, 0 },
    [ACTION_PANEL_DATA] = { ACTION_PANEL_DATA, "panel-data",
                            "Change a panel's users, cards, access rights, time zones or holidays", ROLE_TECHNICIAN,
                            true, ACTION_TARGET_DEVICE, NULL, 0, 0, 0 },
};

const struct action_def *action_find(const char *name)
{
    for (size_t i = 0; name && i < ACTION_COUNT; i++)
        if (strcasecmp(action_table[i].name, name) == 0)
            return &action_table[i];
    return NULL;
}

bool action_allowed(enum role role, enum action_id id)
{
    return (unsigned)id < ACTION_COUNT && (unsigned)role < ROLE_COUNT && role >= action_table[id].min_role;
}

const char *action_status_name(enum action_status status)
{
    static const char *const names[] = { "pending", "ok", "partial", "failed", "denied", "refused" };
    return (unsigned)status < sizeof names / sizeof names[0] ? names[status] : "?";
}

size_t action_running(const struct site *site)
{
    return site->actions_running;
}

/* ---- running ---- */

struct run_ctx {
    struct action_run run;
    struct site *site;
    action_progress_fn cb;
    void *arg;
    size_t pending_devices;
    bool dispatching;
    bool finished;
    int64_t event_id;
    /* ACTION_SLAVE_SET */
    size_t slave;
    struct device_setting *settings;
    size_t n_settings;
    char settings_text[128];   /* "KEY=VALUE KEY=VALUE" for the audit row */
    /* ACTION_SLAVE_FILE_PUT / _DELETE / _PROVISION */
    char file_name[16];
    const void *file_data;
    size_t file_len;
    char prov_dir[SITE_PATH_MAX];
    void (*step)(void *arg, unsigned done, unsigned total, const char *line);
    void *step_arg;
    void (*record)(void *arg, const char *line, const struct json_t *record);
    bool resume;               /* ACTION_EMERGENCY_ON after a restart (action_recover) */
    char data_request[128];    /* ACTION_PANEL_DATA(_GET): "KIND OP [FIELD=N] [dry-run]", "table:NAME OP ..." (the
                                * rows are file_data) */
    char data_rows[64];        /* ACTION_PANEL_DATA with rows: "1 row: pin=7", "40 rows: pin=1 2 3 ..." for the
                                * audit (the rows' first column, the key: never a password) */
};

static enum device_op device_op_for(enum action_id id)
{
    switch (id) {
    case ACTION_DOOR_OPEN: return DEVICE_OPEN;
    case ACTION_DOOR_CLOSE: return DEVICE_CLOSE;
    case ACTION_DOOR_HOLD: return DEVICE_HOLD_OPEN;
    case ACTION_DOOR_RELEASE: return DEVICE_RELEASE;
    case ACTION_TIMED_OPEN: return DEVICE_TIMED_OPEN;
    case ACTION_NORMAL_OPEN_ON: return DEVICE_NORMAL_OPEN_ON;
    case ACTION_NORMAL_OPEN_OFF: return DEVICE_NORMAL_OPEN_OFF;
    case ACTION_AUX_ON: return DEVICE_AUX_ON;
    case ACTION_AUX_OFF: return DEVICE_AUX_OFF;
    case ACTION_CANCEL_ALARM: return DEVICE_CANCEL_ALARM;
    case ACTION_LOCKOUT_ON: return DEVICE_LOCKOUT_ON;
    case ACTION_LOCKOUT_OFF: return DEVICE_LOCKOUT_OFF;
    case ACTION_EMERGENCY_ON: return DEVICE_EMERGENCY_ON;
    case ACTION_EMERGENCY_OFF: return DEVICE_EMERGENCY_OFF;
    default: return DEVICE_OP_COUNT;
    }
}

static bool resumed_by_device(const struct run_ctx *rc, size_t device)
{
    return rc->resume && rc->site->devices[device].emergency == SITE_EM_ACTIVE;
}

static void format_params(const struct action_run *run, char *buf, size_t len)
{
    const struct run_ctx *rc = (const struct run_ctx *)(const void *)run; /* run is rc's first member */
    if (run->def->id == ACTION_SLAVE_SET)
        snprintf(buf, len, "%s", rc->settings_text[0] ? rc->settings_text : "from configuration");
    else if (run->def->id == ACTION_SLAVE_FILE_PUT)
        snprintf(buf, len, "file=%s bytes=%zu", rc->file_name, rc->file_len);
    else if (run->def->id == ACTION_SLAVE_FILE_DELETE)
        snprintf(buf, len, "file=%s", rc->file_name);
    else if (run->def->id == ACTION_SLAVE_PROVISION)
        snprintf(buf, len, "from=%.100s", rc->prov_dir);
    else if (run->def->id == ACTION_PANEL_DATA_GET)
        snprintf(buf, len, "%s", rc->data_request);
    else if (run->def->id == ACTION_PANEL_DATA && !rc->file_len) /* a table's rows deleted by their scope */
        snprintf(buf, len, "%s", rc->data_request);
    else if (run->def->id == ACTION_PANEL_DATA) {
        /* a request with rows has no table scope: at most 60 characters */
        if (snprintf(buf, len, "%s, %zu bytes of CSV%s%s", rc->data_request, rc->file_len,
                     rc->data_rows[0] ? ", " : "", rc->data_rows) >= (int)len)
            buf[len - 1] = '\0';
    }
    else if (rc->resume)
        snprintf(buf, len, "resume after a restart");
    else if (run->def->param)
        snprintf(buf, len, "%s=%u", run->def->param, run->value);
    else
        buf[0] = '\0';
}

static void publish_operator(struct run_ctx *rc, bool done)
{
    struct action_run *r = &rc->run;
    bool emergency = r->def->id == ACTION_EMERGENCY_ON || r->def->id == ACTION_EMERGENCY_OFF;
    struct event ev;
    event_init(&ev, emergency ? EVENT_EMERGENCY : EVENT_OPERATOR,
               emergency ? EVENT_ALARM : (done && r->status != ACTION_OK ? EVENT_WARNING : EVENT_NORMAL));
    event_copy(ev.device, sizeof ev.device, "operator");
    char params[128];
    format_params(r, params, sizeof params);
    if (!done) {
        event_set_text(&ev, "%s (%s): %s%s%s%s%s", r->user.name, role_name(r->user.role), r->def->name,
                       r->target[0] ? " " : "", r->target, params[0] ? " " : "", params);
    } else if (emergency || r->n_results > 1) {
        event_set_text(&ev, "%s %s: %u confirmed, %u failed%s%s", r->def->name, action_status_name(r->status),
                       r->confirmed, r->failed, r->error[0] ? ": " : "", r->error);
    } else {
        /* the door's own message, unless it only repeats the status ("door-hold Garage: ok", not "ok: ok") */
        const char *st = action_status_name(r->status);
        const char *msg = r->n_results && strcmp(r->results[0].message, st) != 0 ? r->results[0].message : "";
        event_set_text(&ev, "%s %s: %s%s%s", r->def->name, r->target, st, msg[0] ? ": " : "", msg);
    }
    if (rc->site->events)
        event_publish(rc->site->events, &ev);
}

/* The per-target detail for the audit row: "Main entrance: ok; Lab exit: FAILED no reply". */
static void format_detail(struct run_ctx *rc, char *buf, size_t len)
{
    struct strbuf sb;
    strbuf_init(&sb, buf, len);
    for (size_t i = 0; i < rc->run.n_results; i++) {
        const struct action_target_result *t = &rc->run.results[i];
        const char *name = t->label[0] ? t->label
                           : t->output < rc->site->n_outputs ? rc->site->outputs[t->output].name
                                                             : rc->site->devices[t->device].name;
        if (!strbuf_sep(&sb, "; ") ||
            !strbuf_printf(&sb, "%s: %s%s%s", name,
                           t->progress == PROGRESS_OK ? "ok" : t->progress == PROGRESS_PENDING ? "pending" : "FAILED",
                           t->message[0] && strcmp(t->message, "ok") != 0 ? " " : "",
                           strcmp(t->message, "ok") != 0 ? t->message : ""))
            break;
    }
    if (!rc->run.n_results && rc->run.error[0])
        snprintf(buf, len, "%s", rc->run.error);
}

/* The journal could not store the audit row (kept in memory, or lost): the result must say so. */
static void note_audit_trouble(struct run_ctx *rc, bool kept)
{
    struct action_run *r = &rc->run;
    struct journal_health h;
    journal_health(rc->site->journal_db, &h);
    if (kept && h.state != JOURNAL_QUEUING && h.state != JOURNAL_UNAVAILABLE)
        return; /* waiting for the journal's check or its queue: stored within moments */
    r->audit_kept = kept && !r->audit_lost;
    r->audit_lost = !r->audit_kept;
    event_copy(r->audit_why, sizeof r->audit_why, h.reason[0] ? h.reason : journal_error(rc->site->journal_db));
    snprintf(r->error, sizeof r->error, "audit row %s (journal: %.150s)",
             r->audit_kept ? "not yet stored, kept in memory" : "NOT STORED", r->audit_why);
}

static void finish(struct run_ctx *rc)
{
    if (rc->finished)
        return;
    rc->finished = true;
    struct action_run *r = &rc->run;
    if (r->status == ACTION_PENDING) {
        if (r->failed == 0)
            r->status = ACTION_OK;
        else if (r->confirmed == 0)
            r->status = ACTION_FAILED;
        else
            r->status = ACTION_PARTIAL;
    }
    if (r->def->id == ACTION_EMERGENCY_OFF && r->status == ACTION_OK)
        rc->site->emergency_active = rc->site->emergency_resumed = false;
    char detail[1024];
    format_detail(rc, detail, sizeof detail);
    if (r->audit_id != 0 && rc->site->journal_db) {
        int arc = journal_audit_finish(rc->site->journal_db, r->audit_id, action_status_name(r->status), detail, 0);
        if (arc != 0)
            note_audit_trouble(rc, arc > 0);
    }
    if (r->status != ACTION_DENIED && r->status != ACTION_REFUSED)
        publish_operator(rc, true);
    if (rc->site->actions_running)
        rc->site->actions_running--;
    if (rc->cb)
        rc->cb(r, true, rc->arg);
    free(r->results);
    free(rc->settings);
    free(rc);
}

static struct action_target_result *find_result(struct run_ctx *rc, size_t device, size_t output)
{
    for (size_t i = 0; i < rc->run.n_results; i++) {
        struct action_target_result *t = &rc->run.results[i];
        if (t->device == device && t->output == output)
            return t;
    }
    return NULL;
}

static void set_result(struct run_ctx *rc, struct action_target_result *t, bool ok, const char *msg)
{
    if (t->progress != PROGRESS_PENDING)
        return; /* a driver reporting twice: keep the first */
    t->progress = ok ? PROGRESS_OK : PROGRESS_FAILED;
    event_copy(t->message, sizeof t->message, msg ? msg : (ok ? "ok" : "failed"));
    rc->run.pending--;
    if (ok)
        rc->run.confirmed++;
    else
        rc->run.failed++;
    if (t->output < rc->site->n_outputs) {
        struct site_output *o = &rc->site->outputs[t->output];
        o->progress = t->progress;
        snprintf(o->result, sizeof o->result, "%s: %s", rc->run.def->name, t->message);
        site_changed(rc->site, -1, (int)t->output);
    }
    if (rc->cb && !rc->finished)
        rc->cb(&rc->run, false, rc->arg);
}

/* Context per dispatched device command. */
struct dev_ctx {
    struct run_ctx *rc;
    size_t device;
};

static void on_result(void *ctx, size_t output, enum device_result result, const char *message)
{
    struct dev_ctx *dc = ctx;
    struct action_target_result *t = find_result(dc->rc, dc->device, output);
    if (!t)
        return; /* not one we asked for */
    char msg[sizeof t->message];
    if (result == DEVICE_RESULT_OK)
        snprintf(msg, sizeof msg, "%s", message && message[0] ? message : "ok");
    else if (result == DEVICE_RESULT_FAILED) /* the result already says FAILED: the reason alone */
        snprintf(msg, sizeof msg, "%s", message && message[0] ? message : "no reason given");
    else
        snprintf(msg, sizeof msg, "%s%s%s", device_result_name(result), message && message[0] ? ": " : "",
                 message ? message : "");
    set_result(dc->rc, t, result == DEVICE_RESULT_OK, msg);
}

static void on_done(void *ctx)
{
    struct dev_ctx *dc = ctx;
    struct run_ctx *rc = dc->rc;
    /* Anything the driver forgot is failed, so the action always completes. */
    for (size_t i = 0; i < rc->run.n_results; i++) {
        struct action_target_result *t = &rc->run.results[i];
        if (t->device == dc->device && t->progress == PROGRESS_PENDING)
            set_result(rc, t, false, "no result from the driver");
    }
    free(dc);
    if (rc->pending_devices)
        rc->pending_devices--;
    if (rc->pending_devices == 0 && !rc->dispatching)
        finish(rc);
}

static int add_result(struct run_ctx *rc, size_t device, size_t output)
{
    struct action_target_result *n = realloc(rc->run.results, (rc->run.n_results + 1) * sizeof *n);
    if (!n)
        return -1;
    rc->run.results = n;
    struct action_target_result *t = &n[rc->run.n_results++];
    memset(t, 0, sizeof *t);
    t->device = device;
    t->output = output;
    t->progress = PROGRESS_PENDING;
    rc->run.pending++;
    if (output < rc->site->n_outputs) {
        rc->site->outputs[output].progress = PROGRESS_PENDING;
        snprintf(rc->site->outputs[output].result, sizeof rc->site->outputs[output].result, "%s: pending",
                 rc->run.def->name);
    }
    return 0;
}

/* Send one command to one device for the listed outputs (results already added). */
static void dispatch_device(struct run_ctx *rc, size_t device, const size_t *outs, size_t n, enum device_op op)
{
    struct site_device *sd = &rc->site->devices[device];
    struct device *dev = sd->drv;
    const char *why = NULL;
    char err[160] = "";
    if (!dev) {
        why = sd->link_detail[0] ? sd->link_detail : "no driver for this device";
    } else if (dev->ops->supports && !dev->ops->supports(dev, op, n ? outs[0] : SIZE_MAX)) {
        snprintf(err, sizeof err, "%s is not supported by %s devices", device_op_name(op), sd->kind);
        why = err;
    }
    if (!why) {
        struct dev_ctx *dc = malloc(sizeof *dc);
        if (!dc) {
            why = "out of memory";
        } else {
            dc->rc = rc;
            dc->device = device;
            struct device_cmd cmd = {
                .op = op,
                .value = rc->run.value,
                .outputs = outs,
                .n_outputs = n,
                .restore = rc->site->emergency.restore,
                .slave = rc->slave,
                .settings = rc->settings,
                .n_settings = rc->n_settings,
                .file_name = rc->file_name,
                .file_data = rc->file_data,
                .file_len = rc->file_len,
                .step = rc->step,
                .step_ctx = rc->step_arg,
                .record = rc->record,
                .request = rc->data_request,
                .result = on_result,
                .done = on_done,
                .ctx = dc,
            };
            rc->pending_devices++;
            if (dev->ops->command(dev, &cmd, err, sizeof err) == 0)
                return;
            rc->pending_devices--;
            free(dc);
            why = err[0] ? err : "refused by the driver";
        }
    }
    for (size_t i = 0; i < rc->run.n_results; i++) {
        struct action_target_result *t = &rc->run.results[i];
        if (t->device == device && t->progress == PROGRESS_PENDING)
            set_result(rc, t, false, why);
    }
}

bool action_emergency_output(const struct site *site, const struct site_output *o)
{
    if (o->type == OUTPUT_AUX)
        return false;
    if (site->emergency.all_doors)
        return true;
    for (size_t i = 0; i < site->emergency.n_doors; i++)
        if (strcasecmp(site->emergency.doors[i], o->name) == 0)
            return true;
    return false;
}

/* Resolve the target; fills outputs (one) or device. Returns 0 or -1 with err. */
static int resolve_target(struct run_ctx *rc, const char *target, size_t *output, size_t *device, char *err,
                          size_t errlen)
{
    const struct action_def *def = rc->run.def;
    struct site *site = rc->site;
    *output = SIZE_MAX;
    *device = SIZE_MAX;
    switch (def->target) {
    case ACTION_TARGET_NONE:
    case ACTION_TARGET_SITE:
        return 0;
    case ACTION_TARGET_EVENT: {
        char *end;
        long long id = target ? strtoll(target, &end, 10) : 0;
        if (!target || end == target || *end || id <= 0) {
            snprintf(err, errlen, "%s needs an event number", def->name);
            return -1;
        }
        rc->event_id = id;
        return 0;
    }
    case ACTION_TARGET_SLAVE:
        for (size_t d = 0; target && d < site->n_devices; d++) {
            const struct site_bus *b = site->devices[d].bus;
            for (size_t i = 0; b && i < b->n_slaves; i++)
                if (strcasecmp(b->slaves[i].name, target) == 0 || strcasecmp(b->slaves[i].addr, target) == 0) {
                    *device = d;
                    rc->slave = i;
                    return 0;
                }
        }
        snprintf(err, errlen, "no NiX1 slave named \"%s\"", target ? target : "");
        return -1;
    case ACTION_TARGET_DEVICE: {
        struct site_device *d = site_find_device(site, target);
        struct site_output *o = d ? NULL : site_find_output(site, target);
        if (!d && !o) {
            snprintf(err, errlen, "no panel or door named \"%s\"", target ? target : "");
            return -1;
        }
        *device = d ? d->index : o->device;
        return 0;
    }
    default:
        break;
    }
    struct site_output *o = site_find_output(site, target);
    if (!o) {
        snprintf(err, errlen, "no %s named \"%s\"", def->target == ACTION_TARGET_AUX ? "aux output" : "door",
                 target ? target : "");
        return -1;
    }
    bool ok = def->target == ACTION_TARGET_OUTPUT ||
              (def->target == ACTION_TARGET_DOOR && o->type != OUTPUT_AUX) ||
              (def->target == ACTION_TARGET_AUX && o->type == OUTPUT_AUX) ||
              (def->target == ACTION_TARGET_PROBE && o->type == OUTPUT_PROBE);
    if (!ok) {
        snprintf(err, errlen, "\"%s\" is a%s %s; %s applies to %s", o->name, o->type == OUTPUT_AUX ? "n" : "",
                 o->type == OUTPUT_AUX ? "aux output" : o->type == OUTPUT_PROBE ? "NiX1 door" : "C3 door",
                 def->name, def->target == ACTION_TARGET_AUX ? "aux outputs" :
                            def->target == ACTION_TARGET_PROBE ? "NiX1 doors" : "doors");
        return -1;
    }
    *output = o->index;
    *device = o->device;
    return 0;
}

/* ACTION_SLAVE_SET: split "KEY=VALUE" items (newline or ';' separated) into rc->settings. Keys are names
 * (letters, digits, '_'); values are checked by the driver, which knows the device family. 0 or -1. */
static int parse_settings(struct run_ctx *rc, const char *text, char *err, size_t errlen)
{
    const char *p = text ? text : "";
    struct strbuf text_sb;
    STRBUF_ON(&text_sb, rc->settings_text);
    while (*p) {
        while (*p == '\n' || *p == ';' || *p == ' ' || *p == '\t' || *p == '\r')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, "\n;");
        const char *eq = memchr(p, '=', n);
        size_t kl = eq ? (size_t)(eq - p) : 0;
        while (kl && (p[kl - 1] == ' ' || p[kl - 1] == '\t'))
            kl--;
        bool ok = eq && kl > 0 && kl < sizeof rc->settings[0].key;
        for (size_t i = 0; ok && i < kl; i++)
            ok = (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') ||
                 p[i] == '_';
        const char *v = eq ? eq + 1 : p;
        size_t vl = eq ? n - (size_t)(v - p) : 0;
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t' || v[vl - 1] == '\r'))
            vl--;
        if (!ok || vl >= sizeof rc->settings[0].value) {
            snprintf(err, errlen, "bad setting \"%.*s\" (KEY=VALUE, key of letters, digits and _)", (int)(n > 60 ? 60 : n), p);
            return -1;
        }
        if (rc->n_settings == DEVICE_SETTINGS_MAX) {
            snprintf(err, errlen, "at most %d settings at once", DEVICE_SETTINGS_MAX);
            return -1;
        }
        for (size_t i = 0; i < rc->n_settings; i++)
            if (strncasecmp(rc->settings[i].key, p, kl) == 0 && rc->settings[i].key[kl] == '\0') {
                snprintf(err, errlen, "setting %.*s given twice", (int)kl, p);
                return -1;
            }
        struct device_setting *ns = realloc(rc->settings, (rc->n_settings + 1) * sizeof *ns);
        if (!ns) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        rc->settings = ns;
        struct device_setting *st = &ns[rc->n_settings++];
        snprintf(st->key, sizeof st->key, "%.*s", (int)kl, p);
        snprintf(st->value, sizeof st->value, "%.*s", (int)vl, v);
        strbuf_sep(&text_sb, " ");
        strbuf_printf(&text_sb, "%s=%s", st->key, st->value); /* the audit text may be cut; the settings not */
        p += n;
    }
    return 0;
}

static int ack_found(const struct event *ev, bool acked, void *arg)
{
    (void)acked;
    *(int *)arg = ev->severity;
    return 1;
}

/* Only an alarm is acknowledged: 0, or -1 with why ("no event 12", "event 12 is not an alarm"). */
static int ack_check(struct site *site, int64_t id, char *why, size_t whylen)
{
    int severity = -1;
    struct journal_query q = { .kind = -1, .min_severity = -1, .after_id = id - 1, .before_id = id + 1, .limit = 1 };
    if (!site->journal_db)
        snprintf(why, whylen, "no journal: nothing to acknowledge");
    else if (journal_query_events(site->journal_db, &q, ack_found, &severity) < 0)
        snprintf(why, whylen, "event %lld: %.200s", (long long)id, journal_error(site->journal_db));
    else if (severity < 0)
        snprintf(why, whylen, "no event %lld", (long long)id);
    else if (severity != EVENT_ALARM)
        snprintf(why, whylen, "event %lld is not an alarm", (long long)id);
    else
        return 0;
    return -1;
}

/* End an action before dispatch (denied or refused): audit when possible, callback, free. */
static int reject(struct run_ctx *rc, enum action_status status, const char *why, char *err, size_t errlen)
{
    rc->run.status = status;
    event_copy(rc->run.error, sizeof rc->run.error, why);
    if (err && errlen)
        snprintf(err, errlen, "%s", why);
    if (rc->site->journal_db && status == ACTION_DENIED) {
        struct audit_record rec;
        memset(&rec, 0, sizeof rec);
        event_copy(rec.user, sizeof rec.user, rc->run.user.name);
        event_copy(rec.role, sizeof rec.role, role_name(rc->run.user.role));
        event_copy(rec.action, sizeof rec.action, rc->run.def->name);
        event_copy(rec.target, sizeof rec.target, rc->run.target);
        format_params(&rc->run, rec.params, sizeof rec.params);
        snprintf(rec.result, sizeof rec.result, "denied");
        event_copy(rec.detail, sizeof rec.detail, why);
        rec.done_us = event_now_us();
        if (journal_audit_begin(rc->site->journal_db, &rec) >= 0)
            rc->run.audit_id = rec.id;
    }
    rc->site->actions_running++;
    finish(rc);
    return -1;
}

/* ACTION_PANEL_DATA(_GET): "KIND OP [FIELD=N] [dry-run]" (the get reads, the other writes; the scope goes with
 * replace: only the rows with that value are replaced) or a table by name ("tables list", "table:NAME list
 * [FIELD=VALUE]" to read; "table:NAME set [dry-run]", "table:NAME delete FIELD=VALUE [dry-run]" to write) and,
 * for a write of rows, the rows. The request is put back together from its words (one space between). */
#define DATA_NAME "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
static bool data_scope(const char *w, bool kind)
{
    const char *eq = strchr(w, '=');
    if (!eq || eq == w || !eq[1] || strlen(w) > 63 ||
        strspn(w, kind ? "abcdefghijklmnopqrstuvwxyz" : DATA_NAME) != (size_t)(eq - w))
        return false;
    if (kind)
        return strspn(eq + 1, "0123456789") == strlen(eq + 1);
    for (const unsigned char *p = (const unsigned char *)eq + 1; *p; p++)
        if (*p <= 0x20 || *p == 0x7F)
            return false;
    return true;
}

/* Which rows a change names and which columns it sets, for its audit row: "1 row: pin=7 [name,card]", "3 rows:
 * pin=1 2 5 [card]", keys cut with "..." where they do not fit; "no row"; "" when the rows do not parse (the
 * driver refuses them with the reason) or are too many to read here. Never a value but the key's. */
static void data_rows_text(const void *data, size_t n, char *out, size_t cap)
{
    struct csv t;
    char err[64];
    out[0] = '\0';
    if (n > 256u * 1024u || csv_parse(data, n, &t, err, sizeof err) < 0)
        return;
    if (!t.nrows) {
        snprintf(out, cap, "no row");
    } else if (t.ncols) {
        char cols[40] = "";
        struct strbuf cb;
        strbuf_init(&cb, cols, sizeof cols);
        for (size_t k = 1; k < t.ncols; k++)
            strbuf_printf(&cb, "%s%s", k > 1 ? "," : " [", t.header[k]);
        if (cb.truncated)
            snprintf(cols + sizeof cols - 6, 6, "...]");
        else if (t.ncols > 1)
            strbuf_puts(&cb, "]");
        size_t room = cap - strlen(cols); /* for the keys part and its NUL */
        struct strbuf sb;
        strbuf_init(&sb, out, room);
        strbuf_printf(&sb, "%zu row%s: %s=", t.nrows, t.nrows == 1 ? "" : "s", t.header[0]);
        for (size_t r = 0; r < t.nrows; r++) {
            const char *k = csv_cell(&t, r, 0);
            if (sb.len + strlen(k) + 1 + (r + 1 < t.nrows ? 4 : 0) >= room) {
                strbuf_puts(&sb, "...");
                break;
            }
            strbuf_printf(&sb, "%s%s", r ? " " : "", k);
        }
        snprintf(out + strlen(out), cap - strlen(out), "%s", cols);
    }
    csv_free(&t);
}

static int check_data_request(struct run_ctx *rc, const struct action_params *params, char *why, size_t len)
{
    static const char *const kinds[] = { "users", "cards", "access", "timezones", "holidays" };
    static const char *const writes[] = { "add", "set", "delete", "replace" };
    bool get = rc->run.def->id == ACTION_PANEL_DATA_GET;
    char kind[40] = "", op[16] = "", w3[72] = "", w4[16] = "", extra[8] = "";
    int n = params && params->settings
                ? sscanf(params->settings, "%39s %15s %71s %15s %7s", kind, op, w3, w4, extra) : 0;
    if (get && strcmp(kind, "history") == 0) {
        /* "history [since=PACKED]": the panel's stored events as they stand (a read) */
        char w[2][24] = { "", "" };
        int k = sscanf(params->settings, "%*s %23s %1s", w[0], w[1]);
        const char *v = w[0] + 6;
        if (k <= 0 || (k == 1 && strncmp(w[0], "since=", 6) == 0 && *v && strlen(v) <= 10 &&
                       strspn(v, "0123456789") == strlen(v) && strtoull(v, NULL, 10) <= UINT32_MAX)) {
            snprintf(rc->data_request, sizeof rc->data_request, "history%s%s", k == 1 ? " " : "", k == 1 ? w[0] : "");
            return 0;
        }
        snprintf(why, len, "%s takes \"history [since=PACKED]\", not \"%.60s\"", rc->run.def->name,
                 params->settings);
        return -1;
    }
    bool tables = strcmp(kind, "tables") == 0;
    const char *table = strncmp(kind, "table:", 6) == 0 ? kind + 6 : NULL;
    bool table_ok = table && table[0] && strlen(table) <= 31 && strspn(table, DATA_NAME) == strlen(table);
    bool kind_ok = false, op_ok = get && strcmp(op, "list") == 0;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        kind_ok = kind_ok || strcmp(kind, kinds[i]) == 0;
    for (size_t i = 0; !get && i < sizeof writes / sizeof writes[0]; i++)
        op_ok = op_ok || strcmp(op, writes[i]) == 0;
    bool scoped = n >= 3 && data_scope(w3, kind_ok);
    const char *flag = scoped ? (n >= 4 ? w4 : NULL) : (n >= 3 ? w3 : NULL);
    bool ok = n >= 2 && n <= (scoped ? 4 : 3) && op_ok && strlen(kind) < sizeof kind - 1 &&
              strlen(w4) < sizeof w4 - 1 && (!flag || (!get && strcmp(flag, "dry-run") == 0));
    if (tables)
        ok = ok && get && n == 2;
    else if (table)
        ok = ok && table_ok && (get || (strcmp(op, "set") == 0 ? !scoped : strcmp(op, "delete") == 0 && scoped));
    else
        ok = ok && kind_ok && (!scoped || strcmp(op, "replace") == 0);
    if (!ok) {
        snprintf(why, len, "%s takes \"KIND %s\" (KIND users, cards, access, timezones or holidays) or %s, not "
                 "\"%.60s\"", rc->run.def->name, get ? "list" : "add|set|delete|replace [FIELD=N] [dry-run]",
                 get ? "\"tables list\", \"table:NAME list [FIELD=VALUE]\""
                     : "\"table:NAME set [dry-run]\", \"table:NAME delete FIELD=VALUE [dry-run]\"",
                 params && params->settings ? params->settings : "");
        return -1;
    }
    snprintf(rc->data_request, sizeof rc->data_request, "%s %s%s%s%s%s", kind, op, scoped ? " " : "",
             scoped ? w3 : "", flag ? " " : "", flag ? flag : "");
    if (!get && !(table && strcmp(op, "delete") == 0)) {
        rc->file_data = params->file_data;
        rc->file_len = params->file_data ? params->file_len : 0;
        if (!rc->file_len) {
            snprintf(why, len, "%s needs the rows (CSV with a header)", rc->run.def->name);
            return -1;
        }
        data_rows_text(rc->file_data, rc->file_len, rc->data_rows, sizeof rc->data_rows);
    }
    return 0;
}
#undef DATA_NAME

int action_run(struct site *site, const struct action_user *user, enum action_id id, const char *target,
               const struct action_params *params, action_progress_fn cb, void *arg, char *err, size_t errlen)
{
    if ((unsigned)id >= ACTION_COUNT || !user) {
        if (err && errlen)
            snprintf(err, errlen, "unknown action");
        return -1;
    }
    if (site->remote && site->remote->action) /* a client's mirror: the owner runs it, checks the role, audits */
        return site->remote->action(site->remote_arg, user, (int)id, target, params, cb, arg, err, errlen);
    struct run_ctx *rc = calloc(1, sizeof *rc);
    if (!rc) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc->site = site;
    rc->cb = cb;
    rc->arg = arg;
    struct action_run *r = &rc->run;
    r->def = &action_table[id];
    r->user = *user;
    event_copy(r->target, sizeof r->target, target ? target : (r->def->target == ACTION_TARGET_SITE ? "site" : ""));
    r->status = ACTION_PENDING;
    char why[256];

    /* The role first: someone who may not run the action learns nothing about the site from its checks, and
     * every attempt is audited as denied, whatever it named. */
    if (!action_allowed(user->role, id)) {
        snprintf(why, sizeof why, "%s needs the %s role; %s is %s", r->def->name, role_name(r->def->min_role),
                 user->name, role_name(user->role));
        if (r->def->param) /* the denied row says what was asked */
            r->value = params && params->has_value ? params->value : r->def->param_default;
        return reject(rc, ACTION_DENIED, why, err, errlen);
    }
    if (params && params->attempt_only)
        return reject(rc, ACTION_REFUSED, "not run: only an attempt was reported", err, errlen);
    size_t output, device;
    if (resolve_target(rc, target, &output, &device, why, sizeof why) != 0)
        return reject(rc, ACTION_REFUSED, why, err, errlen);
    if (output != SIZE_MAX)
        event_copy(r->target, sizeof r->target, site->outputs[output].name);
    else if (device != SIZE_MAX)
        event_copy(r->target, sizeof r->target, site->devices[device].name);
    bool slave_op = id == ACTION_SLAVE_SET || id == ACTION_SLAVE_FILE_PUT || id == ACTION_SLAVE_FILE_DELETE ||
                    id == ACTION_SLAVE_PROVISION;
    if (slave_op && device != SIZE_MAX)
        event_copy(r->target, sizeof r->target, site->devices[device].bus->slaves[rc->slave].name);
    if (r->def->param) {
        unsigned v = params && params->has_value ? params->value : r->def->param_default;
        if (v < r->def->param_min || v > r->def->param_max) {
            snprintf(why, sizeof why, "%s %u is out of range (%u..%u)", r->def->param, v, r->def->param_min,
                     r->def->param_max);
            return reject(rc, ACTION_REFUSED, why, err, errlen);
        }
        r->value = v;
    }
    if (id == ACTION_SLAVE_SET && parse_settings(rc, params ? params->settings : NULL, why, sizeof why) < 0)
        return reject(rc, ACTION_REFUSED, why, err, errlen);
    if (id == ACTION_SLAVE_FILE_PUT || id == ACTION_SLAVE_FILE_DELETE) {
        const char *fn = params ? params->file_name : NULL;
        event_copy(rc->file_name, sizeof rc->file_name, fn ? fn : "");
        if (!fn || !fn[0] || strlen(fn) > 12) {
            snprintf(why, sizeof why, "%s needs a file name of at most 12 characters (8.3)", r->def->name);
            return reject(rc, ACTION_REFUSED, why, err, errlen);
        }
        if (id == ACTION_SLAVE_FILE_PUT) {
            rc->file_data = params->file_data;
            rc->file_len = params->file_data ? params->file_len : 0;
            if (!rc->file_len) {
                snprintf(why, sizeof why, "an empty file cannot be uploaded (delete it instead)");
                return reject(rc, ACTION_REFUSED, why, err, errlen);
            }
        }
    }
    if ((id == ACTION_PANEL_DATA_GET || id == ACTION_PANEL_DATA) &&
        check_data_request(rc, params, why, sizeof why) < 0)
        return reject(rc, ACTION_REFUSED, why, err, errlen);
    if (id == ACTION_SLAVE_PROVISION) {
        event_copy(rc->prov_dir, sizeof rc->prov_dir, site->devices[device].bus->server_dir);
        if (!rc->prov_dir[0]) {
            snprintf(why, sizeof why, "bus %s has no server_dir in the configuration", site->devices[device].name);
            return reject(rc, ACTION_REFUSED, why, err, errlen);
        }
    }
    if (params) {
        rc->step = params->step;
        rc->step_arg = params->step_arg;
        rc->record = params->record;
    }

    bool emergency = id == ACTION_EMERGENCY_ON || id == ACTION_EMERGENCY_OFF;
    /* Audit first. */
    struct audit_record rec;
    memset(&rec, 0, sizeof rec);
    event_copy(rec.user, sizeof rec.user, user->name);
    event_copy(rec.role, sizeof rec.role, role_name(user->role));
    event_copy(rec.action, sizeof rec.action, r->def->name);
    event_copy(rec.target, sizeof rec.target, r->target);
    if (params)
        rc->resume = id == ACTION_EMERGENCY_ON && params->resume;
    format_params(r, rec.params, sizeof rec.params);
    procmark_self(rec.detail, sizeof rec.detail); /* a restart knows whether this row's process still runs */
    int arc = site->journal_db ? journal_audit_begin(site->journal_db, &rec) : -1;
    struct journal_health jh = { .state = JOURNAL_UNAVAILABLE };
    if (site->journal_db)
        journal_health(site->journal_db, &jh);
    /* Kept in memory while the journal checks itself is fine; kept because it cannot store is not (except
     * for the emergency). */
    bool trouble = arc < 0 || (arc > 0 && (jh.state == JOURNAL_QUEUING || jh.state == JOURNAL_UNAVAILABLE));
    if (arc >= 0)
        r->audit_id = rec.id;
    if (trouble && !emergency) {
        snprintf(why, sizeof why, "the audit record could not be stored (%.150s): action not sent",
                 !site->journal_db ? "no journal" : jh.reason[0] ? jh.reason : journal_error(site->journal_db));
        if (arc > 0) /* its row, kept in memory, records the refusal */
            journal_audit_finish(site->journal_db, rec.id, "refused", why, 0);
        r->audit_id = 0;
        return reject(rc, ACTION_REFUSED, why, err, errlen);
    }
    if (trouble) {
        if (site->journal_db)
            note_audit_trouble(rc, arc > 0);
        else
            snprintf(r->error, sizeof r->error, "audit row NOT STORED (no journal)");
    }
    site->actions_running++;
    publish_operator(rc, false);

    rc->dispatching = true;
    switch (id) {
    case ACTION_ACK:
        if (ack_check(site, rc->event_id, r->error, sizeof r->error) < 0 ||
            journal_ack(site->journal_db, rc->event_id, user->name) != 0) {
            if (!r->error[0])
                snprintf(r->error, sizeof r->error, "no event %lld", (long long)rc->event_id);
            r->status = ACTION_FAILED;
        } else {
            r->status = ACTION_OK;
        }
        break;
    case ACTION_RELOAD_CONFIG:
        /* The owner of the configuration loader validates the file now and applies it after this action (a
         * front end without the hook performs it in its final callback). */
        if (site->reload && site->reload(site, user->name, r->error, sizeof r->error, site->reload_arg) != 0)
            r->status = ACTION_FAILED;
        else
            r->status = ACTION_OK;
        break;
    case ACTION_EMERGENCY_ON:
    case ACTION_EMERGENCY_OFF: {
        if (id == ACTION_EMERGENCY_ON && !(rc->resume && site->emergency_active))
            site->emergency_since_us = event_now_us();
        site->emergency_active = site->emergency_active || id == ACTION_EMERGENCY_ON;
        site->emergency_resumed = false;
        size_t *outs = malloc((site->n_outputs ? site->n_outputs : 1) * sizeof *outs);
        if (!outs) {
            snprintf(r->error, sizeof r->error, "out of memory");
            r->status = ACTION_FAILED;
            break;
        }
        /* Results for every emergency output first, so the live counts start complete. A resume leaves out the
         * devices that remember the emergency: they complete it by themselves. */
        for (size_t i = 0; i < site->n_outputs; i++)
            if (action_emergency_output(site, &site->outputs[i]) && !resumed_by_device(rc, site->outputs[i].device))
                add_result(rc, site->outputs[i].device, i);
        /* Then one command per device, all devices at once. */
        for (size_t d = 0; d < site->n_devices; d++) {
            size_t n = 0;
            for (size_t i = 0; i < site->n_outputs && !resumed_by_device(rc, d); i++)
                if (site->outputs[i].device == d && action_emergency_output(site, &site->outputs[i]))
                    outs[n++] = i;
            if (n)
                dispatch_device(rc, d, outs, n, device_op_for(id));
        }
        free(outs);
        if (r->n_results == 0)
            snprintf(r->error, sizeof r->error, "no emergency doors configured");
        break;
    }
    case ACTION_SLAVE_SET:
        if (rc->n_settings == 0)
            add_result(rc, device, SIZE_MAX);
        for (size_t i = 0; i < rc->n_settings; i++)
            if (add_result(rc, device, DEVICE_SETTING_RESULT(i)) == 0)
                event_copy(r->results[r->n_results - 1].label, sizeof r->results[0].label, rc->settings[i].key);
        dispatch_device(rc, device, NULL, 0, DEVICE_SLAVE_SET);
        break;
    case ACTION_SLAVE_FILE_PUT:
    case ACTION_SLAVE_FILE_DELETE:
    case ACTION_SLAVE_PROVISION:
        if (add_result(rc, device, SIZE_MAX) == 0)
            event_copy(r->results[r->n_results - 1].label, sizeof r->results[0].label,
                       id == ACTION_SLAVE_PROVISION ? "provision" : rc->file_name);
        dispatch_device(rc, device, NULL, 0, id == ACTION_SLAVE_FILE_PUT ? DEVICE_SLAVE_FILE_PUT
                                             : id == ACTION_SLAVE_FILE_DELETE ? DEVICE_SLAVE_FILE_DELETE
                                                                              : DEVICE_SLAVE_PROVISION);
        break;
    case ACTION_CANCEL_ALARM:
        add_result(rc, device, SIZE_MAX);
        dispatch_device(rc, device, NULL, 0, DEVICE_CANCEL_ALARM);
        break;
    case ACTION_PANEL_DATA_GET:
    case ACTION_PANEL_DATA:
        add_result(rc, device, SIZE_MAX);
        dispatch_device(rc, device, NULL, 0, DEVICE_PANEL_DATA);
        break;
    default:
        add_result(rc, device, output);
        dispatch_device(rc, device, &output, 1, device_op_for(id));
        break;
    }
    rc->dispatching = false;
    if (rc->pending_devices == 0)
        finish(rc);
    return 0;
}

/* ---- after a restart ---- */

struct dangling {
    int64_t id[64];
    char action[64][32];
    size_t n;
};

static int collect_dangling(const struct audit_record *r, void *arg)
{
    struct dangling *d = arg;
    if (d->n < 64 && !procmark_alive(r->detail)) {
        d->id[d->n] = r->id;
        event_copy(d->action[d->n], sizeof d->action[0], r->action);
        d->n++;
    }
    return 0;
}

/* What the devices remember of an emergency now, for the closing line of an interrupted emergency row. */
static void emergency_summary(const struct site *site, char *buf, size_t len)
{
    size_t doors = 0, unlocked = 0, active = 0, pending = 0;
    for (size_t i = 0; i < site->n_outputs; i++)
        if (action_emergency_output(site, &site->outputs[i])) {
            doors++;
            unlocked += site->outputs[i].state.emergency;
        }
    for (size_t d = 0; d < site->n_devices; d++) {
        active += site->devices[d].emergency == SITE_EM_ACTIVE;
        pending += site->devices[d].emergency == SITE_EM_RESTORE_PENDING;
    }
    if (!active && !pending)
        snprintf(buf, len, "no device remembers an emergency: no door was changed by it");
    else
        snprintf(buf, len, "at restart %zu device(s) remember the emergency%s%s, %zu of %zu emergency doors "
                 "unlocked", active + pending, pending ? ", " : "", pending ? "restore pending" : "", unlocked, doors);
}

int action_recover(struct site *site, bool resume, action_progress_fn cb, void *arg, bool *resumed)
{
    int closed = 0;
    if (resumed)
        *resumed = false;
    if (site->journal_db) {
        struct dangling d = { .n = 0 };
        struct journal_query q = { .kind = -1, .min_severity = -1, .result = "pending", .limit = 64 };
        if (journal_query_audit(site->journal_db, &q, collect_dangling, &d) < 0)
            closed = -1;
        for (size_t i = 0; closed >= 0 && i < d.n; i++) {
            char detail[512], what[300] = "";
            bool em = strncmp(d.action[i], "emergency", 9) == 0;
            if (em)
                emergency_summary(site, what, sizeof what);
            snprintf(detail, sizeof detail, "interrupted: the process that ran it ended before its result%s%s",
                     em ? "; " : "", what);
            if (journal_audit_finish(site->journal_db, d.id[i], "interrupted", detail, 0) == 0)
                closed++;
        }
    }
    if (!resume || !site->emergency_active)
        return closed;
    /* Some device remembers the emergency: those that do not (it ended before they got it) get it now. */
    bool any_active = false, missing = false;
    for (size_t d = 0; d < site->n_devices; d++)
        any_active = any_active || site->devices[d].emergency == SITE_EM_ACTIVE;
    for (size_t i = 0; i < site->n_outputs; i++)
        missing = missing || (action_emergency_output(site, &site->outputs[i]) &&
                              site->devices[site->outputs[i].device].emergency == SITE_EM_NONE);
    if (any_active && missing) {
        struct action_user sys = { .role = ROLE_TECHNICIAN };
        event_copy(sys.name, sizeof sys.name, "portier");
        struct action_params p = { .resume = true };
        char err[160];
        if (resumed)
            *resumed = true; /* cb runs (at least once, finished) whatever action_run returns */
        (void)action_run(site, &sys, ACTION_EMERGENCY_ON, NULL, &p, cb, arg, err, sizeof err);
    }
    return closed;
}
