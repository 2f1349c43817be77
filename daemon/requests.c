/* requests: actions, queries and slave reads on behalf of a client. */
#include "daemon/requests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/device.h"
#include "core/event.h"
#include "daemon/emergency.h"

#define ROWS_PER_MESSAGE 200

struct dreq {
    struct daemon *d;
    struct client *c;               /* NULL once the client is gone */
    int64_t id;
    char op[32];
    uint64_t run_no;
    const struct action_run *run;   /* while an action runs (valid until its final callback) */
    bool action, finished, in_call;
    int64_t audit_id;               /* slave reads: their audit row */
    struct journal_verify *verify;  /* audit-verify: the walk in progress */
    bool c3;                        /* raw: the device family of the answer */
    int64_t within;                 /* raw: the audit row of the command it belongs to (0: its own row) */
    bool command;                   /* raw-begin: a command of several raw requests, open until raw-end */
    unsigned lines, failed;         /* command: its raw requests, and those that got no answer */
    char device[SITE_NAME_MAX];     /* command: its device */
    loop_timer_t timer;
    struct dreq *next;
};

static struct dreq *dreq_new(struct daemon *d, struct client *c, int64_t id, const char *op)
{
    struct dreq *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->d = d;
    r->c = c;
    r->id = id;
    event_copy(r->op, sizeof r->op, op);
    r->next = d->reqs;
    d->reqs = r;
    return r;
}

static void dreq_free(struct dreq *r)
{
    if (r->verify) {
        loop_timer_disarm(r->d->loop, &r->timer);
        journal_verify_free(r->verify);
    }
    for (struct dreq **p = &r->d->reqs; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    free(r);
}

static void command_close(struct dreq *r, bool ok, const char *said);

void requests_client_gone(struct daemon *d, struct client *c)
{
    for (struct dreq *r = d->reqs, *next; r; r = next) {
        next = r->next;
        if (r->c != c)
            continue;
        r->c = NULL;
        if (r->command) /* a command the client never ended: its row says so */
            command_close(r, false, "the client went away before the command ended");
    }
}

void requests_free_all(struct daemon *d)
{
    while (d->reqs)
        dreq_free(d->reqs);
}

static void send_to(struct dreq *r, json_t *m, bool final)
{
    if (m && r->c) {
        json_object_set_new(m, "id", json_integer(r->id));
        server_send(r->c, m, r->id, final, 0);
    }
    json_decref(m);
}

/* ---- audit of requests that are not actions (slave reads, raw) ---- */

static int64_t audit_begin(struct daemon *d, struct client *c, const char *action, const char *target,
                           const char *params, const char *result, const char *detail)
{
    if (!d->journal)
        return 0;
    struct audit_record rec;
    memset(&rec, 0, sizeof rec);
    event_copy(rec.user, sizeof rec.user, c->user);
    event_copy(rec.role, sizeof rec.role, role_name(c->role));
    event_copy(rec.action, sizeof rec.action, action);
    event_copy(rec.target, sizeof rec.target, target);
    event_copy(rec.params, sizeof rec.params, params);
    if (result) {
        event_copy(rec.result, sizeof rec.result, result);
        event_copy(rec.detail, sizeof rec.detail, detail);
        rec.done_us = event_now_us();
    }
    return journal_audit_begin(d->journal, &rec) == 0 ? rec.id : -1;
}

static void audit_finish(struct daemon *d, int64_t id, bool ok, const char *detail)
{
    if (d->journal && id > 0)
        journal_audit_finish(d->journal, id, ok ? "ok" : "failed", detail ? detail : "", 0);
}

/* Technician-only requests: a lower role is denied, and the refusal audited. */
static bool technician(struct daemon *d, struct client *c, int64_t id, const char *op, const char *target)
{
    if (c->role >= ROLE_TECHNICIAN)
        return true;
    char why[160];
    snprintf(why, sizeof why, "%s needs the technician role; %s is %s", op, c->user, role_name(c->role));
    audit_begin(d, c, op, target, "", "denied", why);
    dispatch_reply_error(c, id, op, "denied", "%s", why);
    return false;
}

/* ---- actions ---- */

static void broadcast_action(struct dreq *r, const struct action_run *run, bool finished)
{
    struct daemon *d = r->d;
    json_t *a = proto_run_to_json(d->site, run, false);
    if (!a)
        return;
    json_object_set_new(a, "type", json_string("action"));
    json_object_set_new(a, "run", json_integer((json_int_t)r->run_no));
    json_object_set_new(a, "finished", json_boolean(finished));
    server_broadcast(d->srv, a, 0);
    json_decref(a);
}

static void action_cb(const struct action_run *run, bool finished, void *arg)
{
    struct dreq *r = arg;
    struct daemon *d = r->d;
    r->run = finished ? NULL : run;
    if (run->def->id == ACTION_EMERGENCY_ON || run->def->id == ACTION_EMERGENCY_OFF)
        emergency_progress(d->em, run, finished);
    if (run->status != ACTION_DENIED && run->status != ACTION_REFUSED)
        broadcast_action(r, run, finished);
    json_t *m = proto_run_to_json(d->site, run, true);
    if (m) {
        json_object_set_new(m, "type", json_string(finished ? "result" : "progress"));
        json_object_set_new(m, "run", json_integer((json_int_t)r->run_no));
        json_object_set_new(m, "total", json_integer((json_int_t)run->n_results));
    }
    send_to(r, m, finished);
    if (!finished)
        return;
    if (run->def->id == ACTION_ACK && run->status == ACTION_OK)
        dispatch_acked(d, strtoll(run->target, NULL, 10), run->user.name);
    r->finished = true;
    if (!r->in_call)
        dreq_free(r);
}

static void step_cb(void *arg, unsigned done, unsigned total, const char *line)
{
    struct dreq *r = arg;
    /* a step without a line (a transfer's progress) has none: "line" absent, not empty */
    json_t *m = json_pack("{s:s,s:s,s:{s:i,s:i}}", "type", "progress", "op", r->op, "step", "done", (int)done,
                          "total", (int)total);
    json_t *st = m ? json_object_get(m, "step") : NULL;
    if (st && line)
        json_object_set_new(st, "line", json_string(line));
    send_to(r, m, false);
}

/* A panel-data line with its structured form: one step, "line" (absent for a record of its own) and "record"
 * (absent for a line without one). */
static void record_cb(void *arg, const char *line, const json_t *record)
{
    struct dreq *r = arg;
    json_t *m = json_pack("{s:s,s:s,s:{s:i,s:i}}", "type", "progress", "op", r->op, "step", "done", 0, "total", 0);
    json_t *st = m ? json_object_get(m, "step") : NULL;
    if (st && line)
        json_object_set_new(st, "line", json_string(line));
    if (st && record)
        json_object_set_new(st, "record", json_deep_copy(record));
    send_to(r, m, false);
}

static void do_action(struct daemon *d, struct client *c, const json_t *req, int64_t id, const struct action_def *def)
{
    char err[256] = "", target[128] = "", settings[2048] = "", name[64] = "", comment[256] = "";
    int64_t value = 0;
    bool has_value = json_object_get(req, "value") != NULL, attempt = false;
    const json_t *t = json_object_get(req, "target");
    if (json_is_integer(t))
        snprintf(target, sizeof target, "%lld", (long long)json_integer_value(t));
    else if (proto_get_str(req, "target", target, sizeof target, err, sizeof err) < 0)
        goto bad;
    if (proto_get_int(req, "value", &value, err, sizeof err) < 0 ||
        proto_get_str(req, "settings", settings, sizeof settings, err, sizeof err) < 0 ||
        proto_get_str(req, "name", name, sizeof name, err, sizeof err) < 0 ||
        proto_get_str(req, "comment", comment, sizeof comment, err, sizeof err) < 0 ||
        proto_get_bool(req, "attempt", &attempt, err, sizeof err) < 0)
        goto bad;
    if (has_value && (value < 0 || value > 100000)) {
        snprintf(err, sizeof err, "\"value\" out of range");
        goto bad;
    }
    struct action_params p = { .value = (unsigned)value, .has_value = has_value && value > 0, .settings = settings,
                               .file_name = name[0] ? name : NULL, .attempt_only = attempt };
    unsigned char *data = NULL;
    size_t len = 0;
    const char *b64 = proto_str(req, "data_b64");
    if (b64 && proto_b64_decode(b64, &data, &len) < 0) {
        snprintf(err, sizeof err, "\"data_b64\" is not base64");
        goto bad;
    }
    p.file_data = data;
    p.file_len = len;
    struct dreq *r = dreq_new(d, c, id, def->name);
    if (!r) {
        free(data);
        dispatch_reply_error(c, id, def->name, "failed", "out of memory");
        return;
    }
    r->action = true;
    r->run_no = ++d->next_run;
    p.step = step_cb;
    p.record = record_cb;
    p.step_arg = r;
    struct action_user user = { .role = c->role };
    event_copy(user.name, sizeof user.name, c->user);
    bool emergency = def->id == ACTION_EMERGENCY_ON || def->id == ACTION_EMERGENCY_OFF;
    if (emergency && !attempt && action_allowed(c->role, def->id)) {
        char why[256];
        if (emergency_intent(d->em, def->id == ACTION_EMERGENCY_ON, c->user, why, sizeof why) < 0)
            dispatch_notice(d, "error", "emergency state could not be written (%s); the emergency proceeds", why);
    }
    if (def->id == ACTION_ACK && comment[0] && !attempt && action_allowed(c->role, def->id)) {
        /* the operator's words, journaled beside the acknowledgement */
        struct event ev;
        event_init(&ev, EVENT_OPERATOR, EVENT_NORMAL);
        event_copy(ev.device, sizeof ev.device, "operator");
        event_copy(ev.code_name, sizeof ev.code_name, "acknowledge comment");
        event_set_text(&ev, "%s acknowledged event #%s: %s", c->user, target, comment);
        event_publish(site_events(d->site), &ev);
    }
    r->in_call = true;
    int rc = action_run(d->site, &user, def->id, target[0] ? target : NULL, &p, action_cb, r, err, sizeof err);
    r->in_call = false;
    free(data);
    if (r->finished) {
        dreq_free(r);
        return;
    }
    if (rc == 0) {
        /* every client sees the action start (the first per-door result may take a while) */
        json_t *a = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:b}", "type", "action", "run", (json_int_t)r->run_no, "op",
                              def->name, "user", c->user, "role", role_name(c->role), "target",
                              def->target == ACTION_TARGET_SITE ? "site" : target, "status",
                              "pending", "finished", false);
        if (a)
            server_broadcast(d->srv, a, 0);
        json_decref(a);
    }
    return;
bad:
    dispatch_reply_error(c, id, def->name, "error", "%s", err);
}

json_t *requests_running_json(struct daemon *d)
{
    json_t *a = json_array();
    for (struct dreq *r = d->reqs; a && r; r = r->next) {
        if (!r->action || !r->run)
            continue;
        json_t *o = proto_run_to_json(d->site, r->run, false);
        if (!o)
            continue;
        json_object_set_new(o, "type", json_string("action"));
        json_object_set_new(o, "run", json_integer((json_int_t)r->run_no));
        json_object_set_new(o, "finished", json_false());
        json_array_append_new(a, o);
    }
    return a ? a : json_array();
}

/* ---- queries ---- */

struct rows {
    struct client *c;
    int64_t id;
    const char *op;
    json_t *batch;
    long n;
};

static void rows_flush(struct rows *k)
{
    if (!k->batch || json_array_size(k->batch) == 0)
        return;
    json_t *m = json_pack("{s:s,s:I,s:s,s:O}", "type", "rows", "id", (json_int_t)k->id, "op", k->op, "rows", k->batch);
    if (m)
        server_send(k->c, m, k->id, false, 0);
    json_decref(m);
    json_array_clear(k->batch);
}

static void rows_add(struct rows *k, json_t *row)
{
    if (!row)
        return;
    json_array_append_new(k->batch, row);
    k->n++;
    if (json_array_size(k->batch) >= ROWS_PER_MESSAGE)
        rows_flush(k);
}

static int event_row(const struct event *ev, const struct journal_ack *ack, void *arg)
{
    rows_add(arg, proto_event_to_json(ev, ack));
    return 0;
}

static int audit_row(const struct audit_record *rec, void *arg)
{
    rows_add(arg, proto_audit_to_json(rec));
    return 0;
}

static void do_query(struct daemon *d, struct client *c, const json_t *req, int64_t id, bool audit)
{
    const char *op = audit ? "audit" : "journal";
    struct journal_query q;
    char err[160];
    if (proto_query_from_json(req, &q, err, sizeof err) < 0) {
        dispatch_reply_error(c, id, op, "error", "%s", err);
        return;
    }
    /* a filter nothing can match is the caller's mistake, said as such (the audit's target is free text) */
    char why[400];
    if (site_check_range(q.since_us, q.until_us, why, sizeof why) < 0) {
        dispatch_reply_error(c, id, op, "refused", "%s", why);
        return;
    }
    if (!d->journal) {
        dispatch_reply_error(c, id, op, "failed", "the journal is not open");
        return;
    }
    struct rows k = { .c = c, .id = id, .op = op, .batch = json_array() };
    long n = audit ? journal_query_audit(d->journal, &q, audit_row, &k) : journal_query_rows(d->journal, &q, event_row, &k);
    rows_flush(&k);
    json_decref(k.batch);
    if (n < 0) {
        dispatch_reply_error(c, id, op, "failed", "%s", journal_error(d->journal));
        return;
    }
    /* nothing matched a door or device the site does not have (a removed one's rows would have): a mistake */
    if (n == 0 && !audit && site_check_names(d->site, q.door, q.device, why, sizeof why) < 0) {
        dispatch_reply_error(c, id, op, "refused", "%s nor in the journal", why);
        return;
    }
    json_t *m = json_pack("{s:s,s:I,s:s,s:s,s:I}", "type", "result", "id", (json_int_t)id, "op", op, "status", "ok",
                          "count", (json_int_t)n);
    if (m)
        server_send(c, m, id, true, 0);
    json_decref(m);
}

/* ---- slave reads ---- */

/* A NiX1 slave by name or address: its site device and index on that bus. */
static int find_slave(struct site *s, const char *target, size_t *device, size_t *slave)
{
    for (size_t d = 0; target && d < s->n_devices; d++) {
        const struct site_bus *b = s->devices[d].bus;
        for (size_t i = 0; b && i < b->n_slaves; i++)
            if (strcasecmp(b->slaves[i].name, target) == 0 || strcasecmp(b->slaves[i].addr, target) == 0) {
                *device = d;
                *slave = i;
                return 0;
            }
    }
    return -1;
}

static void read_done(struct dreq *r, json_t *m, const char *error)
{
    audit_finish(r->d, r->audit_id, !error, error);
    if (m) {
        json_object_set_new(m, "type", json_string("result"));
        json_object_set_new(m, "op", json_string(r->op));
        json_object_set_new(m, "status", json_string(error ? "failed" : "ok"));
        json_object_set_new(m, "error", json_string(error ? error : ""));
    }
    send_to(r, m, true);
    dreq_free(r);
}

static void settings_cb(void *ctx, const struct device_setting *settings, size_t n, const char *error)
{
    json_t *m = json_object(), *o = json_object();
    for (size_t i = 0; o && i < n; i++)
        json_object_set_new(o, settings[i].key, json_string(settings[i].value));
    if (m && o)
        json_object_set_new(m, "settings", o);
    else
        json_decref(o);
    read_done(ctx, m, error);
}

static void text_cb(void *ctx, const char *text, size_t len, const char *error)
{
    struct dreq *r = ctx;
    json_t *m = json_object();
    if (m && text) {
        if (strcmp(r->op, "slave-files") == 0) {
            json_object_set_new(m, "text", json_stringn(text, len));
        } else {
            char *b = proto_b64_encode(text, len);
            json_object_set_new(m, "data_b64", json_string(b ? b : ""));
            free(b);
        }
    }
    read_done(r, m, error);
}

static void do_slave_read(struct daemon *d, struct client *c, const json_t *req, int64_t id, const char *op)
{
    char target[128] = "", name[64] = "", err[256] = "";
    if (proto_get_str(req, "target", target, sizeof target, err, sizeof err) < 0 ||
        proto_get_str(req, "name", name, sizeof name, err, sizeof err) < 0) {
        dispatch_reply_error(c, id, op, "error", "%s", err);
        return;
    }
    if (!technician(d, c, id, op, target))
        return;
    size_t dev, slave;
    if (find_slave(d->site, target, &dev, &slave) < 0) {
        dispatch_reply_error(c, id, op, "refused", "no NiX1 slave named \"%s\"", target);
        return;
    }
    bool get = strcmp(op, "slave-file-get") == 0;
    if (get && !name[0]) {
        dispatch_reply_error(c, id, op, "refused", "slave-file-get needs a file name");
        return;
    }
    struct dreq *r = dreq_new(d, c, id, op);
    if (!r) {
        dispatch_reply_error(c, id, op, "failed", "out of memory");
        return;
    }
    char params[96] = "";
    if (get)
        snprintf(params, sizeof params, "file=%s", name);
    r->audit_id = audit_begin(d, c, op, d->site->devices[dev].bus->slaves[slave].name, params, NULL, NULL);
    if (r->audit_id < 0) {
        dreq_free(r);
        dispatch_reply_error(c, id, op, "refused", "the audit record could not be written (%s): nothing read",
                             journal_error(d->journal));
        return;
    }
    int rc;
    if (strcmp(op, "slave-get") == 0)
        rc = device_slave_get(d->site, dev, slave, settings_cb, r, err, sizeof err);
    else if (get)
        rc = device_slave_file_get(d->site, dev, slave, name, text_cb, r, err, sizeof err);
    else
        rc = device_slave_files(d->site, dev, slave, text_cb, r, err, sizeof err);
    if (rc < 0) {
        audit_finish(d, r->audit_id, false, err);
        dreq_free(r);
        dispatch_reply_error(c, id, op, "failed", "%s", err);
    }
}

/* ---- raw pass-through: technicians only, audited like an action ---- */

static struct dreq *find_command(struct daemon *d, const struct client *c, int64_t audit_id)
{
    for (struct dreq *r = d->reqs; r; r = r->next)
        if (r->command && r->audit_id == audit_id && (!c || r->c == c))
            return r;
    return NULL;
}

static void raw_done(void *ctx, int code, const void *reply, size_t len, const char *from, const char *error)
{
    struct dreq *r = ctx;
    struct dreq *cmd = r->within ? find_command(r->d, NULL, r->within) : NULL;
    if (cmd && error)
        cmd->failed++;
    json_t *m = json_object();
    char detail[300];
    if (error) {
        snprintf(detail, sizeof detail, "%s", error);
    } else if (r->c3) {
        char *hex = proto_hex_encode(reply, len < 48 ? len : 48);
        snprintf(detail, sizeof detail, "reply 0x%02X, %zu bytes%s%s%s", (unsigned)code & 0xff, len, len ? ": " : "",
                 hex ? hex : "", len > 48 ? "..." : "");
        free(hex);
    } else {
        snprintf(detail, sizeof detail, "reply %02X%s%.200s", (unsigned)code & 0xff, len ? ": " : "",
                 reply ? (const char *)reply : "");
    }
    if (!r->within)
        audit_finish(r->d, r->audit_id, !error, detail);
    if (m) {
        json_object_set_new(m, "type", json_string("result"));
        json_object_set_new(m, "op", json_string("raw"));
        if (from)
            json_object_set_new(m, "from", json_string(from));
        json_object_set_new(m, "status", json_string(error ? "failed" : "ok"));
        json_object_set_new(m, "error", json_string(error ? error : ""));
        json_object_set_new(m, "code", json_integer(code));
        if (!error && r->c3) {
            char *hex = proto_hex_encode(reply, len);
            json_object_set_new(m, "reply_command", json_integer(code & 0xff));
            json_object_set_new(m, "reply_hex", json_string(hex ? hex : ""));
            free(hex);
        } else if (!error) {
            json_object_set_new(m, "reply", json_stringn(reply ? reply : "", len));
        }
        json_object_set_new(m, "audit_id", json_integer(r->within ? r->within : r->audit_id));
    }
    send_to(r, m, true);
    dreq_free(r);
}

static void do_raw(struct daemon *d, struct client *c, const json_t *req, int64_t id)
{
    char name[SITE_NAME_MAX] = "", slave[32] = "", line[400] = "", hexs[2048] = "", err[256] = "";
    int64_t command = -1, timeout = 0, within = 0;
    if (proto_get_int(req, "command_id", &within, err, sizeof err) < 0 ||
        proto_get_str(req, "device", name, sizeof name, err, sizeof err) < 0 ||
        proto_get_str(req, "slave", slave, sizeof slave, err, sizeof err) < 0 ||
        proto_get_str(req, "line", line, sizeof line, err, sizeof err) < 0 ||
        proto_get_str(req, "payload_hex", hexs, sizeof hexs, err, sizeof err) < 0 ||
        proto_get_int(req, "command", &command, err, sizeof err) < 0 ||
        proto_get_int(req, "timeout_ms", &timeout, err, sizeof err) < 0) {
        dispatch_reply_error(c, id, "raw", "error", "%s", err);
        return;
    }
    struct dreq *cmd = within ? find_command(d, c, within) : NULL;
    if (within && (!cmd || strcmp(cmd->device, name) != 0)) {
        dispatch_reply_error(c, id, "raw", "refused", "no open command %lld of this connection on \"%.40s\" "
                             "(raw-begin first)", (long long)within, name);
        return;
    }
    if (!technician(d, c, id, "raw", name))
        return;
    struct site_device *sd = site_find_device(d->site, name);
    struct device *drv = sd ? sd->drv : NULL;
    if (!drv || !drv->ops->raw) {
        dispatch_reply_error(c, id, "raw", "refused", "%s", sd ? "this device takes no raw requests" :
                             "no panel or bus of that name");
        return;
    }
    bool c3 = sd->panel != NULL;
    unsigned char *payload = NULL;
    size_t plen = 0;
    if (c3 && (command < 0 || command > 255 || (hexs[0] && proto_hex_decode(hexs, &payload, &plen) < 0))) {
        dispatch_reply_error(c, id, "raw", "refused", "a C3 request needs \"command\" (0..255) and hex "
                             "\"payload_hex\"");
        return;
    }
    if (!c3 && !line[0]) {
        free(payload);
        dispatch_reply_error(c, id, "raw", "refused", "a NiX1 request needs \"line\" (and \"slave\")");
        return;
    }
    if (timeout < 0 || timeout > 60000)
        timeout = 0;
    struct dreq *r = dreq_new(d, c, id, "raw");
    if (!r) {
        free(payload);
        dispatch_reply_error(c, id, "raw", "failed", "out of memory");
        return;
    }
    r->c3 = c3;
    r->within = within;
    char params[128];
    if (c3)
        snprintf(params, sizeof params, "command=0x%02X bytes=%zu", (unsigned)command, plen);
    else
        snprintf(params, sizeof params, "slave=%.20s line=%.80s", slave[0] ? slave : "broadcast", line);
    if (cmd)
        cmd->lines++; /* counted on the command's own audit row */
    else
        r->audit_id = audit_begin(d, c, "raw", sd->name, params, NULL, NULL);
    if (r->audit_id < 0) {
        free(payload);
        dreq_free(r);
        dispatch_reply_error(c, id, "raw", "refused", "the audit record could not be written: nothing sent");
        return;
    }
    struct device_raw rq = { .command = (unsigned char)command, .payload = payload, .len = plen,
                             .slave = slave[0] ? slave : NULL, .line = line, .timeout_ms = (unsigned)timeout };
    if (drv->ops->raw(drv, &rq, raw_done, r, err, sizeof err) < 0) {
        if (cmd)
            cmd->failed++;
        audit_finish(d, r->audit_id, false, err);
        dreq_free(r);
        dispatch_reply_error(c, id, "raw", "refused", "%s", err);
    }
    free(payload);
}

/* ---- a command of several raw requests (portierctl nix1 PORT status, file put, provision ...): one audit row ---- */

#define COMMANDS_PER_CLIENT 4

static void command_close(struct dreq *r, bool ok, const char *said)
{
    char detail[400];
    snprintf(detail, sizeof detail, "%.200s; %u bus request%s, %u without an answer", said, r->lines,
             r->lines == 1 ? "" : "s", r->failed);
    audit_finish(r->d, r->audit_id, ok, detail);
    dreq_free(r);
}

static void do_raw_begin(struct daemon *d, struct client *c, const json_t *req, int64_t id)
{
    char name[SITE_NAME_MAX] = "", text[200] = "", err[256] = "";
    if (proto_get_str(req, "device", name, sizeof name, err, sizeof err) < 0 ||
        proto_get_str(req, "command", text, sizeof text, err, sizeof err) < 0) {
        dispatch_reply_error(c, id, "raw-begin", "error", "%s", err);
        return;
    }
    char params[240];
    snprintf(params, sizeof params, "command=%s", text);
    if (c->role < ROLE_TECHNICIAN) {
        char why[160];
        snprintf(why, sizeof why, "raw needs the technician role; %s is %s", c->user, role_name(c->role));
        audit_begin(d, c, "raw", name, params, "denied", why);
        dispatch_reply_error(c, id, "raw-begin", "denied", "%s", why);
        return;
    }
    struct site_device *sd = site_find_device(d->site, name);
    if (!sd || !sd->drv || !sd->drv->ops->raw || !sd->bus) {
        dispatch_reply_error(c, id, "raw-begin", "refused", "%s", sd ? "a command of several requests is for a NiX1 "
                             "bus" : "no panel or bus of that name");
        return;
    }
    unsigned open = 0;
    for (struct dreq *r = d->reqs; r; r = r->next)
        open += r->command && r->c == c;
    if (open >= COMMANDS_PER_CLIENT) {
        dispatch_reply_error(c, id, "raw-begin", "refused", "%u commands are open on this connection already", open);
        return;
    }
    struct dreq *r = dreq_new(d, c, id, "raw-begin");
    if (!r) {
        dispatch_reply_error(c, id, "raw-begin", "failed", "out of memory");
        return;
    }
    r->command = true;
    event_copy(r->device, sizeof r->device, sd->name);
    r->audit_id = audit_begin(d, c, "raw", sd->name, params, NULL, NULL);
    if (r->audit_id <= 0) {
        dreq_free(r);
        dispatch_reply_error(c, id, "raw-begin", "refused", "the audit record could not be written: nothing sent");
        return;
    }
    json_t *m = json_pack("{s:s,s:I,s:s,s:s,s:I}", "type", "result", "id", (json_int_t)id, "op", "raw-begin",
                          "status", "ok", "command_id", (json_int_t)r->audit_id);
    if (m)
        server_send(c, m, id, true, 0);
    json_decref(m);
}

static void do_raw_end(struct daemon *d, struct client *c, const json_t *req, int64_t id)
{
    char status[16] = "", detail[200] = "", err[256] = "";
    int64_t within = 0;
    if (proto_get_int(req, "command_id", &within, err, sizeof err) < 0 ||
        proto_get_str(req, "status", status, sizeof status, err, sizeof err) < 0 ||
        proto_get_str(req, "detail", detail, sizeof detail, err, sizeof err) < 0) {
        dispatch_reply_error(c, id, "raw-end", "error", "%s", err);
        return;
    }
    struct dreq *r = find_command(d, c, within);
    if (!r) {
        dispatch_reply_error(c, id, "raw-end", "refused", "no open command %lld of this connection", (long long)within);
        return;
    }
    bool ok = strcmp(status, "ok") == 0;
    char said[220];
    snprintf(said, sizeof said, "%s%s%s", ok ? "ok" : "failed", detail[0] ? ": " : "", detail);
    unsigned lines = r->lines, failed = r->failed;
    command_close(r, ok, said);
    json_t *m = json_pack("{s:s,s:I,s:s,s:s,s:I,s:i,s:i}", "type", "result", "id", (json_int_t)id, "op", "raw-end",
                          "status", "ok", "audit_id", (json_int_t)within, "requests", (int)lines, "unanswered",
                          (int)failed);
    if (m)
        server_send(c, m, id, true, 0);
    json_decref(m);
}

/* ---- audit-verify: a part at a time, so the loop keeps answering ---- */

#define VERIFY_PART 2000

static void verify_step(loop_t *loop, void *arg)
{
    struct dreq *r = arg;
    int rc = r->c && r->d->journal ? journal_audit_verify_step(r->d->journal, r->verify, VERIFY_PART) : -1;
    if (rc == 0) {
        loop_timer_arm_us(loop, &r->timer, 1);
        return;
    }
    const struct journal_verify_result *v = journal_verify_result(r->verify);
    json_t *m = json_pack("{s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:s}", "type", "result", "op", "audit-verify",
                          "status", rc < 0 ? "failed" : "ok", "ok", v->ok, "links", (json_int_t)v->links, "rows",
                          (json_int_t)v->rows, "first_seq", (json_int_t)v->first_seq, "first_bad",
                          (json_int_t)v->bad_seq, "bad_audit_id", (json_int_t)v->bad_audit_id, "problems",
                          (json_int_t)v->problems, "error", v->error);
    send_to(r, m, true);
    dreq_free(r);
}

static void do_verify(struct daemon *d, struct client *c, int64_t id)
{
    struct dreq *r = dreq_new(d, c, id, "audit-verify");
    if (!r || !(r->verify = journal_verify_new())) {
        if (r)
            dreq_free(r);
        dispatch_reply_error(c, id, "audit-verify", "failed", "out of memory");
        return;
    }
    loop_timer_init(&r->timer, verify_step, r);
    loop_timer_arm_us(d->loop, &r->timer, 0);
}

/* ---- the table ---- */

static void ok_result(struct client *c, int64_t id, const char *op)
{
    json_t *m = json_pack("{s:s,s:I,s:s,s:s}", "type", "result", "id", (json_int_t)id, "op", op, "status", "ok");
    if (m)
        server_send(c, m, id, true, 0);
    json_decref(m);
}

/* What portierd itself is doing: its clients and how long anything held its loop (guards may ask). */
static void do_daemon_status(struct daemon *d, struct client *c, int64_t id)
{
    struct server_stats ss;
    struct loop_stats ls;
    server_stats(d->srv, &ss);
    loop_get_stats(d->loop, &ls);
    uint64_t now = loop_mono_us();
    json_t *st = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "pid", (json_int_t)getpid(),
                           "uptime_s", (json_int_t)((now - d->started_mono_us) / 1000000u), "clients",
                           (json_int_t)ss.clients, "accepted", (json_int_t)ss.accepted, "refused",
                           (json_int_t)ss.refused, "closed", (json_int_t)ss.closed, "resyncs", (json_int_t)ss.resyncs,
                           "lines_in", (json_int_t)ss.lines_in, "bad_lines", (json_int_t)ss.bad_lines, "bytes_out",
                           (json_int_t)ss.bytes_out, "loop_callbacks", (json_int_t)ls.callbacks, "loop_slow",
                           (json_int_t)ls.slow, "loop_longest_us", (json_int_t)ls.longest_us);
    if (st && ls.longest_us)
        json_object_set_new(st, "loop_longest_ago_s", json_integer((json_int_t)((now - ls.longest_at_us) / 1000000u)));
    json_t *m = st ? json_pack("{s:s,s:I,s:s,s:s,s:o}", "type", "result", "id", (json_int_t)id, "op", "daemon-status",
                               "status", "ok", "daemon", st)
                   : NULL;
    if (m)
        server_send(c, m, id, true, 0);
    else
        dispatch_reply_error(c, id, "daemon-status", "failed", "out of memory");
    json_decref(m);
}

void requests_handle(struct daemon *d, struct client *c, const json_t *req)
{
    const char *op = proto_str(req, "op");
    const json_t *jid = json_object_get(req, "id");
    int64_t id = 0;
    if (jid && (!json_is_integer(jid) || json_integer_value(jid) < 0)) {
        dispatch_reply_error(c, 0, op, "error", "\"id\" must be a non-negative integer");
        return;
    }
    if (jid)
        id = json_integer_value(jid);
    if (!op) {
        dispatch_reply_error(c, id, "", "error", "a request needs \"op\" (a string)");
        return;
    }
    if (strcmp(op, "hello") == 0) {
        dispatch_hello(d, c, req, id);
        return;
    }
    if (!c->hello) {
        dispatch_reply_error(c, id, op, "error", "say hello first");
        return;
    }
    if (strcmp(op, "ping") == 0)
        ok_result(c, id, op);
    else if (strcmp(op, "snapshot") == 0)
        dispatch_send_snapshot(d, c, id);
    else if (strcmp(op, "mqtt-status") == 0)
        daemon_mqtt_status(d, c, id);
    else if (strcmp(op, "daemon-status") == 0)
        do_daemon_status(d, c, id);
    else if (strcmp(op, "raw") == 0)
        do_raw(d, c, req, id);
    else if (strcmp(op, "raw-begin") == 0)
        do_raw_begin(d, c, req, id);
    else if (strcmp(op, "raw-end") == 0)
        do_raw_end(d, c, req, id);
    else if (strcmp(op, "audit-verify") == 0)
        do_verify(d, c, id);
    else if (strcmp(op, "journal") == 0 || strcmp(op, "audit") == 0)
        do_query(d, c, req, id, op[0] == 'a');
    else if (strcmp(op, "slave-get") == 0 || strcmp(op, "slave-files") == 0 || strcmp(op, "slave-file-get") == 0)
        do_slave_read(d, c, req, id, op);
    else if (action_find(op))
        do_action(d, c, req, id, action_find(op));
    else
        dispatch_reply_error(c, id, op, "error", "unknown op \"%.40s\"", op);
}

/* ---- at start ---- */

int requests_recover(struct daemon *d)
{
    struct dreq *r = dreq_new(d, NULL, 0, "emergency-on");
    if (!r)
        return -1;
    r->action = true;
    r->run_no = ++d->next_run;
    bool resumed = false;
    r->in_call = true;
    int closed = action_recover(d->site, true, action_cb, r, &resumed);
    r->in_call = false;
    if (!resumed || r->finished)
        dreq_free(r);
    return closed;
}
