/* proto: line framing, JSON parsing helpers, events, audit rows, queries, action runs and the emergency. */
#include "core/proto.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/grow.h"
#include "core/hex.h"
#include "core/strbuf.h"

/* ---- line framing ---- */

void proto_lines_init(struct proto_lines *l, size_t max)
{
    memset(l, 0, sizeof *l);
    l->max = max;
}

void proto_lines_free(struct proto_lines *l)
{
    free(l->buf);
    memset(l, 0, sizeof *l);
}

size_t proto_lines_pending(const struct proto_lines *l)
{
    return l->len;
}

/* Make room for `want` more bytes after the unconsumed ones (compacting first). 0 or -1. */
static int lines_reserve(struct proto_lines *l, size_t want)
{
    if (l->start && l->start + l->len + want > l->cap) {
        memmove(l->buf, l->buf + l->start, l->len);
        l->start = 0;
    }
    char *b = grow_to(l->buf, l->len + want, &l->cap, 1, 4096);
    if (!b)
        return -1;
    l->buf = b;
    return 0;
}

char *proto_lines_space(struct proto_lines *l, size_t *room)
{
    /* A line of exactly max bytes and its '\n' must fit; one byte more shows the overflow. */
    if (l->len >= l->max + 2)
        return NULL;
    size_t want = l->max + 2 - l->len;
    if (want > 65536)
        want = 65536;
    if (lines_reserve(l, want) < 0)
        return NULL;
    *room = l->cap - l->start - l->len;
    if (*room > l->max + 2 - l->len)
        *room = l->max + 2 - l->len;
    return l->buf + l->start + l->len;
}

void proto_lines_commit(struct proto_lines *l, size_t n)
{
    l->len += n;
}

int proto_lines_feed(struct proto_lines *l, const void *data, size_t n)
{
    if (n == 0)
        return 0;
    if (lines_reserve(l, n) < 0)
        return -1;
    memcpy(l->buf + l->start + l->len, data, n);
    l->len += n;
    return 0;
}

int proto_lines_next(struct proto_lines *l, char **line, size_t *len)
{
    if (l->scanned > l->len)
        l->scanned = 0;
    char *base = l->buf ? l->buf + l->start : NULL;
    char *nl = base && l->len > l->scanned ? memchr(base + l->scanned, '\n', l->len - l->scanned) : NULL;
    if (!nl) {
        l->scanned = l->len;
        return l->len > l->max ? -1 : 0;
    }
    size_t n = (size_t)(nl - base);
    if (n > l->max)
        return -1;
    *nl = '\0';
    size_t ln = n;
    if (ln && base[ln - 1] == '\r')
        base[--ln] = '\0';
    *line = base;
    *len = ln;
    l->start += n + 1;
    l->len -= n + 1;
    l->scanned = 0;
    return 1;
}

/* ---- JSON ---- */

json_t *proto_parse(const char *line, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        snprintf(err, errlen, "not JSON: %s at byte %d", je.text, je.position);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(err, errlen, "not a JSON object");
        return NULL;
    }
    return o;
}

char *proto_dump(const json_t *msg, size_t *len)
{
    char *s = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *r = realloc(s, n + 2);
    if (!r) {
        free(s);
        return NULL;
    }
    r[n] = '\n';
    r[n + 1] = '\0';
    *len = n + 1;
    return r;
}

static bool is_string(const json_t *v)
{
    return json_is_string(v);
}

static bool is_integer(const json_t *v)
{
    return json_is_integer(v);
}

static bool is_boolean(const json_t *v)
{
    return json_is_boolean(v);
}

/* The member key of o for a typed read: NULL when it is absent or null (*rc 0: nothing to read), or when it has
 * another type than is() accepts (*rc -1, err says what it must be). */
static const json_t *member(const json_t *o, const char *key, bool (*is)(const json_t *), const char *must, int *rc,
                            char *err, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    *rc = 0;
    if (!v || json_is_null(v))
        return NULL;
    if (!is(v)) {
        snprintf(err, errlen, "\"%s\" must be %s", key, must);
        *rc = -1;
        return NULL;
    }
    return v;
}

int proto_get_str(const json_t *o, const char *key, char *out, size_t outlen, char *err, size_t errlen)
{
    int rc;
    const json_t *v = member(o, key, is_string, "a string", &rc, err, errlen);
    if (v)
        event_copy(out, outlen, json_string_value(v));
    return rc;
}

int proto_get_int(const json_t *o, const char *key, int64_t *out, char *err, size_t errlen)
{
    int rc;
    const json_t *v = member(o, key, is_integer, "an integer", &rc, err, errlen);
    if (v)
        *out = (int64_t)json_integer_value(v);
    return rc;
}

int proto_get_bool(const json_t *o, const char *key, bool *out, char *err, size_t errlen)
{
    int rc;
    const json_t *v = member(o, key, is_boolean, "true or false", &rc, err, errlen);
    if (v)
        *out = json_is_true(v);
    return rc;
}

const char *proto_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* ---- names ---- */

static int name_index(const char *const *names, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

int proto_link_from_name(const char *name)
{
    static const char *const n[] = { "down", "connecting", "up", "stale" };
    return name_index(n, 4, name);
}

int proto_output_type_from_name(const char *name)
{
    static const char *const n[] = { "door", "aux", "probe" };
    return name_index(n, 3, name);
}

int proto_sensor_from_name(const char *name)
{
    static const char *const n[] = { "unknown", "closed", "open" };
    return name_index(n, 3, name);
}

static const char *const progress_names[] = { "idle", "pending", "ok", "failed" };

const char *proto_progress_name(enum progress p)
{
    return (unsigned)p < 4 ? progress_names[p] : "?";
}

int proto_progress_from_name(const char *name)
{
    return name_index(progress_names, 4, name);
}

int proto_action_status_from_name(const char *name)
{
    for (int i = ACTION_PENDING; name && i <= ACTION_REFUSED; i++)
        if (strcmp(action_status_name((enum action_status)i), name) == 0)
            return i;
    return -1;
}

/* ---- events ---- */

json_t *proto_event_to_json(const struct event *ev, const struct journal_ack *ack)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_integer(ev->id));
    json_object_set_new(o, "kind", json_string(event_kind_name(ev->kind)));
    json_object_set_new(o, "severity", json_string(event_severity_name(ev->severity)));
    json_object_set_new(o, "time_us", json_integer(ev->host_time_us));
    json_object_set_new(o, "device_time", json_integer(ev->device_time));
    if (ev->device_tz_valid)
        json_object_set_new(o, "tz", json_integer(ev->device_tz_min));
    json_object_set_new(o, "device", json_string(ev->device));
    json_object_set_new(o, "door", json_string(ev->door));
    json_object_set_new(o, "door_no", json_integer(ev->door_no));
    json_object_set_new(o, "code", json_integer(ev->code));
    json_object_set_new(o, "code_name", json_string(ev->code_name));
    json_object_set_new(o, "card", json_integer(ev->card));
    json_object_set_new(o, "pin", json_integer(ev->pin));
    json_object_set_new(o, "verify", json_integer(ev->verify));
    json_object_set_new(o, "inout", json_integer(ev->inout));
    json_object_set_new(o, "uid", json_string(ev->uid));
    json_object_set_new(o, "unit", json_integer(ev->unit));
    json_object_set_new(o, "addr", json_string(ev->addr));
    json_object_set_new(o, "text", json_string(ev->text));
    if (ev->key[0])
        json_object_set_new(o, "key", json_string(ev->key));
    json_object_set_new(o, "journaled", json_boolean(ev->journaled));
    if (ev->recovered)
        json_object_set_new(o, "recovered", json_true());
    json_object_set_new(o, "acked", json_boolean(ack && ack->acked));
    if (ack && ack->acked) {
        json_object_set_new(o, "acked_by", json_string(ack->by));
        json_object_set_new(o, "acked_us", json_integer(ack->time_us));
    }
    return o;
}

/* A bounded integer field into an int. */
static int get_ranged(const json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *v, char *err, size_t errlen)
{
    if (proto_get_int(o, key, v, err, errlen) < 0)
        return -1;
    if (*v < lo || *v > hi) {
        snprintf(err, errlen, "\"%s\" out of range (%lld..%lld)", key, (long long)lo, (long long)hi);
        return -1;
    }
    return 0;
}

int proto_event_from_json(const json_t *o, struct event *ev, struct journal_ack *ack, char *err, size_t errlen)
{
    const char *kind = proto_str(o, "kind"), *sev = proto_str(o, "severity");
    int k = event_kind_from_name(kind), s = event_severity_from_name(sev);
    if (k < 0 || s < 0) {
        snprintf(err, errlen, "event: unknown kind or severity");
        return -1;
    }
    event_init(ev, (enum event_kind)k, (enum event_severity)s);
    int64_t id = 0, t = 0, dt = 0, tz = 0, door_no = 0, code = -1, card = 0, pin = 0, verify = -1, inout = -1,
            unit = -1;
    bool has_tz = json_object_get(o, "tz") != NULL;
    if (get_ranged(o, "id", 0, INT64_MAX, &id, err, errlen) < 0 || proto_get_int(o, "time_us", &t, err, errlen) < 0 ||
        proto_get_int(o, "device_time", &dt, err, errlen) < 0 ||
        get_ranged(o, "tz", -24 * 60, 24 * 60, &tz, err, errlen) < 0 ||
        get_ranged(o, "door_no", INT32_MIN, INT32_MAX, &door_no, err, errlen) < 0 ||
        get_ranged(o, "code", INT32_MIN, INT32_MAX, &code, err, errlen) < 0 ||
        get_ranged(o, "card", 0, UINT32_MAX, &card, err, errlen) < 0 ||
        get_ranged(o, "pin", 0, UINT32_MAX, &pin, err, errlen) < 0 ||
        get_ranged(o, "verify", INT32_MIN, INT32_MAX, &verify, err, errlen) < 0 ||
        get_ranged(o, "inout", INT32_MIN, INT32_MAX, &inout, err, errlen) < 0 ||
        get_ranged(o, "unit", INT32_MIN, INT32_MAX, &unit, err, errlen) < 0 ||
        proto_get_str(o, "device", ev->device, sizeof ev->device, err, errlen) < 0 ||
        proto_get_str(o, "door", ev->door, sizeof ev->door, err, errlen) < 0 ||
        proto_get_str(o, "code_name", ev->code_name, sizeof ev->code_name, err, errlen) < 0 ||
        proto_get_str(o, "uid", ev->uid, sizeof ev->uid, err, errlen) < 0 ||
        proto_get_str(o, "addr", ev->addr, sizeof ev->addr, err, errlen) < 0 ||
        proto_get_str(o, "text", ev->text, sizeof ev->text, err, errlen) < 0 ||
        proto_get_str(o, "key", ev->key, sizeof ev->key, err, errlen) < 0 ||
        proto_get_bool(o, "journaled", &ev->journaled, err, errlen) < 0 ||
        proto_get_bool(o, "recovered", &ev->recovered, err, errlen) < 0)
        return -1;
    ev->id = id;
    ev->host_time_us = t;
    ev->device_time = dt;
    ev->device_tz_valid = has_tz;
    ev->device_tz_min = (int)tz;
    ev->door_no = (int)door_no;
    ev->code = (int)code;
    ev->card = (uint32_t)card;
    ev->pin = (uint32_t)pin;
    ev->verify = (int)verify;
    ev->inout = (int)inout;
    ev->unit = (int)unit;
    if (ack) {
        memset(ack, 0, sizeof *ack);
        if (proto_get_bool(o, "acked", &ack->acked, err, errlen) < 0 ||
            proto_get_str(o, "acked_by", ack->by, sizeof ack->by, err, errlen) < 0 ||
            proto_get_int(o, "acked_us", &ack->time_us, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* ---- audit ---- */

json_t *proto_audit_to_json(const struct audit_record *r)
{
    return json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "id", (json_int_t)r->id, "time_us",
                     (json_int_t)r->time_us, "user", r->user, "role", r->role, "action", r->action, "target",
                     r->target, "params", r->params, "result", r->result, "detail", r->detail, "done_us",
                     (json_int_t)r->done_us);
}

int proto_audit_from_json(const json_t *o, struct audit_record *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (proto_get_int(o, "id", &r->id, err, errlen) < 0 || proto_get_int(o, "time_us", &r->time_us, err, errlen) < 0 ||
        proto_get_int(o, "done_us", &r->done_us, err, errlen) < 0 ||
        proto_get_str(o, "user", r->user, sizeof r->user, err, errlen) < 0 ||
        proto_get_str(o, "role", r->role, sizeof r->role, err, errlen) < 0 ||
        proto_get_str(o, "action", r->action, sizeof r->action, err, errlen) < 0 ||
        proto_get_str(o, "target", r->target, sizeof r->target, err, errlen) < 0 ||
        proto_get_str(o, "params", r->params, sizeof r->params, err, errlen) < 0 ||
        proto_get_str(o, "result", r->result, sizeof r->result, err, errlen) < 0 ||
        proto_get_str(o, "detail", r->detail, sizeof r->detail, err, errlen) < 0)
        return -1;
    return 0;
}

/* ---- queries ---- */

json_t *proto_query_to_json(const struct journal_query *q)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (q->since_us)
        json_object_set_new(o, "since_us", json_integer(q->since_us));
    if (q->until_us)
        json_object_set_new(o, "until_us", json_integer(q->until_us));
    if (q->device)
        json_object_set_new(o, "device", json_string(q->device));
    if (q->door)
        json_object_set_new(o, "door", json_string(q->door));
    if (q->kind >= 0)
        json_object_set_new(o, "kind", json_string(event_kind_name((enum event_kind)q->kind)));
    if (q->min_severity >= 0)
        json_object_set_new(o, "severity", json_string(event_severity_name((enum event_severity)q->min_severity)));
    if (q->search)
        json_object_set_new(o, "search", json_string(q->search));
    if (q->user)
        json_object_set_new(o, "user", json_string(q->user));
    if (q->before_id)
        json_object_set_new(o, "before_id", json_integer(q->before_id));
    if (q->after_id)
        json_object_set_new(o, "after_id", json_integer(q->after_id));
    if (q->unacked_only)
        json_object_set_new(o, "unacked", json_true());
    if (q->limit)
        json_object_set_new(o, "limit", json_integer((json_int_t)q->limit));
    return o;
}

static int query_str(const json_t *o, const char *key, const char **out, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        snprintf(err, errlen, "\"%s\" must be a string", key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

int proto_query_from_json(const json_t *o, struct journal_query *q, char *err, size_t errlen)
{
    memset(q, 0, sizeof *q);
    q->kind = -1;
    q->min_severity = -1;
    const char *kind = NULL, *sev = NULL;
    int64_t limit = 100;
    if (proto_get_int(o, "since_us", &q->since_us, err, errlen) < 0 ||
        proto_get_int(o, "until_us", &q->until_us, err, errlen) < 0 ||
        get_ranged(o, "before_id", 0, INT64_MAX, &q->before_id, err, errlen) < 0 ||
        get_ranged(o, "after_id", 0, INT64_MAX, &q->after_id, err, errlen) < 0 ||
        get_ranged(o, "limit", 1, PROTO_MAX_JOURNAL_ROWS, &limit, err, errlen) < 0 ||
        proto_get_bool(o, "unacked", &q->unacked_only, err, errlen) < 0 ||
        query_str(o, "device", &q->device, err, errlen) < 0 || query_str(o, "door", &q->door, err, errlen) < 0 ||
        query_str(o, "search", &q->search, err, errlen) < 0 || query_str(o, "user", &q->user, err, errlen) < 0 ||
        query_str(o, "kind", &kind, err, errlen) < 0 || query_str(o, "severity", &sev, err, errlen) < 0)
        return -1;
    if (!q->door && query_str(o, "target", &q->door, err, errlen) < 0)
        return -1;
    q->limit = (size_t)limit;
    if (kind && (q->kind = event_kind_from_name(kind)) < 0) {
        snprintf(err, errlen, "unknown event kind \"%.40s\"", kind);
        return -1;
    }
    if (sev && (q->min_severity = event_severity_from_name(sev)) < 0) {
        snprintf(err, errlen, "unknown severity \"%.40s\"", sev);
        return -1;
    }
    return 0;
}

/* ---- action runs ---- */

json_t *proto_run_to_json(const struct site *site, const struct action_run *run, bool with_results)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "op", json_string(run->def->name));
    json_object_set_new(o, "status", json_string(action_status_name(run->status)));
    json_object_set_new(o, "user", json_string(run->user.name));
    json_object_set_new(o, "role", json_string(role_name(run->user.role)));
    json_object_set_new(o, "target", json_string(run->target));
    if (run->def->param)
        json_object_set_new(o, "value", json_integer(run->value));
    json_object_set_new(o, "confirmed", json_integer(run->confirmed));
    json_object_set_new(o, "pending", json_integer(run->pending));
    json_object_set_new(o, "failed", json_integer(run->failed));
    json_object_set_new(o, "total", json_integer((json_int_t)run->n_results));
    json_object_set_new(o, "audit_id", json_integer(run->audit_id));
    json_object_set_new(o, "error", json_string(run->error));
    if (!with_results)
        return o;
    json_t *a = json_array();
    for (size_t i = 0; a && i < run->n_results; i++) {
        const struct action_target_result *t = &run->results[i];
        bool out = t->output < site->n_outputs, dev = t->device < site->n_devices;
        json_t *r = json_pack("{s:s,s:I,s:s,s:I,s:s,s:s,s:s}", "output", out ? site->outputs[t->output].name : "",
                              "output_index", (json_int_t)(out ? (json_int_t)t->output : -1), "device",
                              dev ? site->devices[t->device].name : "", "device_index",
                              (json_int_t)(dev ? (json_int_t)t->device : -1), "label", t->label, "progress",
                              proto_progress_name(t->progress), "message", t->message);
        if (r)
            json_array_append_new(a, r);
    }
    if (a)
        json_object_set_new(o, "results", a);
    return o;
}

static size_t mirror_index(const json_t *r, const char *idx_key, const char *name_key, size_t n, bool output,
                           const struct site *mirror)
{
    json_t *v = json_object_get(r, idx_key);
    if (json_is_integer(v) && json_integer_value(v) >= 0 && (uint64_t)json_integer_value(v) < n) {
        size_t i = (size_t)json_integer_value(v);
        const char *name = proto_str(r, name_key);
        const char *have = output ? mirror->outputs[i].name : mirror->devices[i].name;
        if (!name || strcmp(name, have) == 0)
            return i;
    }
    const char *name = proto_str(r, name_key);
    if (name && name[0]) {
        struct site *m = (struct site *)mirror; /* the finders do not change the site */
        if (output) {
            struct site_output *so = site_find_output(m, name);
            return so ? so->index : SIZE_MAX;
        }
        struct site_device *sd = site_find_device(m, name);
        return sd ? sd->index : SIZE_MAX;
    }
    return SIZE_MAX;
}

int proto_run_from_json(const json_t *o, const struct site *mirror, struct action_run *run, char *err, size_t errlen)
{
    memset(run, 0, sizeof *run);
    const struct action_def *def = action_find(proto_str(o, "op"));
    if (!def) {
        snprintf(err, errlen, "unknown action \"%.40s\"", proto_str(o, "op") ? proto_str(o, "op") : "");
        return -1;
    }
    run->def = def;
    int st = proto_action_status_from_name(proto_str(o, "status"));
    run->status = st < 0 ? ACTION_PENDING : (enum action_status)st;
    char role[16] = "";
    int64_t confirmed = 0, pending = 0, failed = 0, value = 0;
    if (proto_get_str(o, "user", run->user.name, sizeof run->user.name, err, errlen) < 0 ||
        proto_get_str(o, "role", role, sizeof role, err, errlen) < 0 ||
        proto_get_str(o, "target", run->target, sizeof run->target, err, errlen) < 0 ||
        proto_get_str(o, "error", run->error, sizeof run->error, err, errlen) < 0 ||
        proto_get_int(o, "audit_id", &run->audit_id, err, errlen) < 0 ||
        get_ranged(o, "value", 0, UINT32_MAX, &value, err, errlen) < 0 ||
        get_ranged(o, "confirmed", 0, UINT32_MAX, &confirmed, err, errlen) < 0 ||
        get_ranged(o, "pending", 0, UINT32_MAX, &pending, err, errlen) < 0 ||
        get_ranged(o, "failed", 0, UINT32_MAX, &failed, err, errlen) < 0)
        return -1;
    int r = role_from_name(role);
    run->user.role = r < 0 ? ROLE_GUARD : (enum role)r;
    run->value = (unsigned)value;
    run->confirmed = (unsigned)confirmed;
    run->pending = (unsigned)pending;
    run->failed = (unsigned)failed;
    json_t *a = json_object_get(o, "results");
    if (!a)
        return 0;
    if (!json_is_array(a)) {
        snprintf(err, errlen, "\"results\" must be an array");
        return -1;
    }
    size_t n = json_array_size(a);
    if (n) {
        run->results = calloc(n, sizeof *run->results);
        if (!run->results) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(a, i);
        if (!json_is_object(e)) {
            snprintf(err, errlen, "a result must be an object");
            proto_run_free(run);
            return -1;
        }
        struct action_target_result *t = &run->results[run->n_results++];
        t->output = mirror ? mirror_index(e, "output_index", "output", mirror->n_outputs, true, mirror) : SIZE_MAX;
        t->device = mirror ? mirror_index(e, "device_index", "device", mirror->n_devices, false, mirror) : SIZE_MAX;
        int p = proto_progress_from_name(proto_str(e, "progress"));
        t->progress = p < 0 ? PROGRESS_PENDING : (enum progress)p;
        if (proto_get_str(e, "message", t->message, sizeof t->message, err, errlen) < 0 ||
            proto_get_str(e, "label", t->label, sizeof t->label, err, errlen) < 0) {
            proto_run_free(run);
            return -1;
        }
    }
    return 0;
}

void proto_run_free(struct action_run *run)
{
    free(run->results);
    run->results = NULL;
    run->n_results = 0;
}

/* ---- emergency ---- */

json_t *proto_emergency_to_json(const struct proto_emergency *e)
{
    json_t *o = json_pack("{s:b,s:I,s:s,s:b,s:s,s:i,s:i,s:i,s:i,s:i}", "active", e->active, "since_us",
                          (json_int_t)e->since_us, "by", e->by, "running", e->running, "action", e->action,
                          "confirmed", (int)e->confirmed, "pending", (int)e->pending, "failed", (int)e->failed,
                          "total", (int)e->total, "retrying", (int)e->retrying);
    if (!o)
        return NULL;
    json_t *f = json_array(), *fd = json_array();
    for (size_t i = 0; f && fd && i < e->n_failed_doors; i++) {
        const struct proto_failed_door *d = &e->failed_doors[i];
        json_array_append_new(fd, json_pack("{s:s,s:s}", "door", d->door, "reason", d->reason));
        json_array_append_new(f, json_sprintf("%s: %s", d->door, d->reason));
    }
    if (f)
        json_object_set_new(o, "failures", f);
    if (fd)
        json_object_set_new(o, "failed_doors", fd);
    return o;
}

void proto_emergency_add_failed(struct proto_emergency *e, const char *door, const char *reason)
{
    if (e->n_failed_doors >= PROTO_FAILED_DOORS_MAX)
        return;
    struct proto_failed_door *d = &e->failed_doors[e->n_failed_doors++];
    snprintf(d->door, sizeof d->door, "%s", door ? door : "");
    snprintf(d->reason, sizeof d->reason, "%s", reason ? reason : "");
}

int proto_emergency_from_json(const json_t *o, struct proto_emergency *e, char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    int64_t c = 0, pe = 0, f = 0, t = 0, r = 0;
    if (proto_get_bool(o, "active", &e->active, err, errlen) < 0 ||
        proto_get_int(o, "since_us", &e->since_us, err, errlen) < 0 ||
        proto_get_str(o, "by", e->by, sizeof e->by, err, errlen) < 0 ||
        proto_get_bool(o, "running", &e->running, err, errlen) < 0 ||
        proto_get_str(o, "action", e->action, sizeof e->action, err, errlen) < 0 ||
        get_ranged(o, "confirmed", 0, UINT32_MAX, &c, err, errlen) < 0 ||
        get_ranged(o, "pending", 0, UINT32_MAX, &pe, err, errlen) < 0 ||
        get_ranged(o, "failed", 0, UINT32_MAX, &f, err, errlen) < 0 ||
        get_ranged(o, "total", 0, UINT32_MAX, &t, err, errlen) < 0 ||
        get_ranged(o, "retrying", 0, UINT32_MAX, &r, err, errlen) < 0)
        return -1;
    e->confirmed = (unsigned)c;
    e->pending = (unsigned)pe;
    e->failed = (unsigned)f;
    e->total = (unsigned)t;
    e->retrying = (unsigned)r;
    const json_t *a = json_object_get(o, "failed_doors");
    if (json_is_array(a)) {
        for (size_t i = 0; i < json_array_size(a); i++) {
            const json_t *d = json_array_get(a, i);
            const char *door = json_string_value(json_object_get(d, "door"));
            if (json_is_object(d) && door)
                proto_emergency_add_failed(e, door, json_string_value(json_object_get(d, "reason")));
        }
        return 0;
    }
    /* a daemon of before "failed_doors": one "door: reason" an entry */
    a = json_object_get(o, "failures");
    for (size_t i = 0; json_is_array(a) && i < json_array_size(a); i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s)
            continue;
        const char *sep = strstr(s, ": ");
        char door[sizeof e->failed_doors[0].door];
        snprintf(door, sizeof door, "%.*s", sep ? (int)(sep - s) : (int)strlen(s), s);
        proto_emergency_add_failed(e, door, sep ? sep + 2 : "");
    }
    return 0;
}

void proto_emergency_failures_text(const struct proto_emergency *e, char *buf, size_t cap)
{
    struct strbuf sb;
    strbuf_init(&sb, buf, cap);
    for (size_t i = 0; i < e->n_failed_doors; i++) {
        const struct proto_failed_door *d = &e->failed_doors[i];
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(e->failed_doors[k].reason, d->reason) == 0;
        if (seen)
            continue;
        if (!strbuf_sep(&sb, ", ") || !strbuf_puts(&sb, d->door))
            break;
        for (size_t j = i + 1; j < e->n_failed_doors; j++)
            if (strcmp(e->failed_doors[j].reason, d->reason) == 0)
                strbuf_printf(&sb, ", %s", e->failed_doors[j].door);
        if (d->reason[0])
            strbuf_printf(&sb, " (%s)", d->reason);
    }
}

/* ---- bytes ---- */

char *proto_b64_encode(const void *data, size_t len)
{
    if (len > (size_t)INT32_MAX / 2)
        return NULL;
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

int proto_b64_decode(const char *text, unsigned char **out, size_t *outlen)
{
    size_t n = strlen(text);
    if (n % 4 || n > (size_t)INT32_MAX / 2)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                  c == '/' || (c == '=' && i + 2 >= n && (i + 1 == n || text[i + 1] == '='));
        if (!ok)
            return -1;
    }
    unsigned char *buf = malloc(n / 4 * 3 + 1);
    if (!buf)
        return -1;
    int k = n ? EVP_DecodeBlock(buf, (const unsigned char *)text, (int)n) : 0;
    if (k < 0) {
        free(buf);
        return -1;
    }
    if (n && text[n - 1] == '=')
        k--;
    if (n > 1 && text[n - 2] == '=')
        k--;
    *out = buf;
    *outlen = (size_t)k;
    return 0;
}

char *proto_hex_encode(const void *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    char *out = malloc(len * 2 + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[len * 2] = '\0';
    return out;
}

int proto_hex_decode(const char *text, unsigned char **out, size_t *outlen)
{
    size_t n = strlen(text);
    if (n % 2)
        return -1;
    unsigned char *buf = malloc(n / 2 + 1);
    if (!buf)
        return -1;
    if (hex_decode(text, n / 2, buf) != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *outlen = n / 2;
    return 0;
}
