/* mqtt_json: JSON payloads of the MQTT bridge (jansson) and topic-level names. */
#include "daemon/mqtt_json.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/action.h"
#include "core/proto.h"
#include "drivers/c3/c3_tables.h"

void mqtt_slug(const char *name, char *out, size_t len)
{
    size_t k = 0;
    bool sep = false;
    for (const unsigned char *p = (const unsigned char *)name; *p && k + 2 < len; p++) {
        if (isalnum(*p) && *p < 0x80) {
            if (sep && k)
                out[k++] = '_';
            out[k++] = (char)tolower(*p);
            sep = false;
        } else {
            sep = true;
        }
    }
    if (!k && len > 1)
        out[k++] = 'x';
    if (len)
        out[k < len ? k : len - 1] = '\0';
}

static bool slug_taken(char (*names)[MQTT_SLUG_MAX], size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return true;
    return false;
}

static void unique_slug(char (*names)[MQTT_SLUG_MAX], size_t i, const char *name)
{
    char s[MQTT_SLUG_MAX - 24];
    mqtt_slug(name, s, sizeof s);
    if (slug_taken(names, i, s))
        snprintf(names[i], MQTT_SLUG_MAX, "%s_%zu", s, i);
    else
        snprintf(names[i], MQTT_SLUG_MAX, "%s", s);
}

int mqtt_slugs_build(const struct site *site, struct mqtt_slugs *s)
{
    memset(s, 0, sizeof *s);
    s->device = calloc(site->n_devices ? site->n_devices : 1, sizeof *s->device);
    s->output = calloc(site->n_outputs ? site->n_outputs : 1, sizeof *s->output);
    if (!s->device || !s->output) {
        mqtt_slugs_free(s);
        return -1;
    }
    s->n_devices = site->n_devices;
    s->n_outputs = site->n_outputs;
    for (size_t i = 0; i < site->n_devices; i++)
        unique_slug(s->device, i, site->devices[i].name);
    for (size_t i = 0; i < site->n_outputs; i++)
        unique_slug(s->output, i, site->outputs[i].name);
    return 0;
}

void mqtt_slugs_free(struct mqtt_slugs *s)
{
    free(s->device);
    free(s->output);
    memset(s, 0, sizeof *s);
}

long mqtt_slugs_find_output(const struct mqtt_slugs *s, const char *slug)
{
    for (size_t i = 0; slug && i < s->n_outputs; i++)
        if (strcmp(s->output[i], slug) == 0)
            return (long)i;
    return -1;
}

long mqtt_slugs_find_device(const struct mqtt_slugs *s, const char *slug)
{
    for (size_t i = 0; slug && i < s->n_devices; i++)
        if (strcmp(s->device[i], slug) == 0)
            return (long)i;
    return -1;
}

void mqtt_iso_time(int64_t us, char *buf, size_t len)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    if (us <= 0 || !gmtime_r(&t, &tm)) {
        snprintf(buf, len, "%s", "");
        return;
    }
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03dZ", base, (int)((us / 1000) % 1000));
}

static char *dump(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return s;
}

static void set_time(json_t *o, const char *key, int64_t us)
{
    char t[40];
    mqtt_iso_time(us, t, sizeof t);
    json_object_set_new(o, key, us > 0 ? json_string(t) : json_null());
}

/* A string from a fixed event field (always NUL-terminated; invalid UTF-8 is replaced, never dropped). */
static json_t *str(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char clean[EVENT_TEXT_MAX];
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && k + 1 < sizeof clean; p++)
        clean[k++] = *p < 0x80 ? (char)*p : '?';
    clean[k] = '\0';
    return json_string(clean);
}

static void add_event_fields(json_t *o, const struct event *ev)
{
    json_object_set_new(o, "journal_id", ev->journaled && ev->id > 0 ? json_integer(ev->id) : json_null());
    json_object_set_new(o, "kind", json_string(event_kind_name(ev->kind)));
    json_object_set_new(o, "severity", json_string(event_severity_name(ev->severity)));
    set_time(o, "time", ev->host_time_us);
    if (ev->device_time) {
        json_object_set_new(o, "device_time", json_integer(ev->device_time));
        if (ev->device_tz_valid)
            json_object_set_new(o, "device_tz_min", json_integer(ev->device_tz_min));
    }
    json_object_set_new(o, "device", str(ev->device));
    if (ev->door[0])
        json_object_set_new(o, "door", str(ev->door));
    if (ev->door_no)
        json_object_set_new(o, "door_no", json_integer(ev->door_no));
    if (ev->code >= 0)
        json_object_set_new(o, "code", json_integer(ev->code));
    if (ev->code_name[0])
        json_object_set_new(o, "code_name", str(ev->code_name));
    if (ev->card)
        json_object_set_new(o, "card", json_integer(ev->card));
    if (ev->pin)
        json_object_set_new(o, "pin", json_integer(ev->pin));
    if (ev->verify >= 0)
        json_object_set_new(o, "verify", json_integer(ev->verify));
    if (ev->inout >= 0)
        json_object_set_new(o, "inout", json_integer(ev->inout));
    if (ev->uid[0])
        json_object_set_new(o, "uid", str(ev->uid));
    if (ev->unit >= 0)
        json_object_set_new(o, "unit", json_integer(ev->unit));
    if (ev->addr[0])
        json_object_set_new(o, "addr", str(ev->addr));
    json_object_set_new(o, "text", str(ev->text));
}

char *mqtt_json_event(const struct event *ev)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    add_event_fields(o, ev);
    return dump(o);
}

const char *mqtt_access_type(const struct event *ev)
{
    if (!ev->door[0])
        return NULL;
    if (ev->kind == EVENT_NIX1_ACCESS)
        return strcmp(ev->code_name, "granted") == 0 ? "granted" : "denied";
    if (ev->kind == EVENT_ACCESS && ev->code >= 0 && (ev->card || ev->pin || ev->severity != EVENT_NORMAL))
        return c3_event_is_grant((unsigned)ev->code) ? "granted" : "denied";
    return NULL;
}

char *mqtt_json_access(const struct event *ev)
{
    const char *type = mqtt_access_type(ev);
    json_t *o = json_object();
    if (!o || !type) {
        json_decref(o);
        return NULL;
    }
    json_object_set_new(o, "event_type", json_string(type));
    add_event_fields(o, ev);
    return dump(o);
}

char *mqtt_json_output(const struct site *site, const struct site_output *o)
{
    const struct output_state *s = &o->state;
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "name", str(o->name));
    json_object_set_new(j, "type", json_string(site_output_type_name(o->type)));
    json_object_set_new(j, "device", str(site->devices[o->device].name));
    json_object_set_new(j, "number", json_integer(o->number));
    if (o->type == OUTPUT_PROBE)
        json_object_set_new(j, "slave", str(site->devices[o->device].bus->slaves[o->slave].name));
    json_object_set_new(j, "state", json_string(site_output_state_word(o)));
    if (proto_output_state_add(j, s) < 0) {
        json_decref(j);
        return NULL;
    }
    json_object_del(j, "open_until_us"); /* here a time Home Assistant reads (open_until) */
    json_object_set_new(j, "lock", json_string(s->locked ? "LOCKED" : "UNLOCKED"));
    json_object_set_new(j, "on", json_string(s->locked ? "OFF" : "ON"));
    set_time(j, "open_until", s->open_until_us);
    set_time(j, "changed", o->changed_us);
    static const char *const prog[] = { "idle", "pending", "ok", "failed" };
    json_object_set_new(j, "last_action", o->progress == PROGRESS_IDLE ? json_null() : str(o->result));
    json_object_set_new(j, "last_action_progress", json_string(prog[o->progress <= PROGRESS_FAILED ? o->progress : 0]));
    return dump(j);
}

char *mqtt_json_device(const struct site *site, const struct site_device *d)
{
    (void)site;
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "name", str(d->name));
    json_object_set_new(j, "kind", json_string(d->kind));
    json_object_set_new(j, "link", json_string(site_link_name(d->link)));
    json_object_set_new(j, "detail", str(d->link_detail));
    set_time(j, "since", d->link_since_us);
    if (d->panel) {
        json_object_set_new(j, "host", str(d->panel->host));
        json_object_set_new(j, "model", str(d->panel->model[0] ? d->panel->model : "C3"));
    } else if (d->bus) {
        json_object_set_new(j, "port", str(d->bus->port));
        json_object_set_new(j, "slaves", json_integer((json_int_t)d->bus->n_slaves));
    }
    json_object_set_new(j, "serial", d->serial[0] ? str(d->serial) : json_null());
    json_object_set_new(j, "firmware", d->firmware[0] ? str(d->firmware) : json_null());
    json_object_set_new(j, "events", json_integer((json_int_t)d->events));
    json_object_set_new(j, "errors", json_integer((json_int_t)d->errors));
    return dump(j);
}

char *mqtt_json_emergency(const struct site *site)
{
    unsigned doors = 0, unlocked = 0, pending = 0, failed = 0;
    for (size_t i = 0; i < site->n_outputs; i++) {
        const struct site_output *o = &site->outputs[i];
        if (!action_emergency_output(site, o))
            continue;
        doors++;
        unlocked += o->state.emergency;
        pending += o->progress == PROGRESS_PENDING;
        failed += o->progress == PROGRESS_FAILED && !o->state.emergency;
    }
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "active", json_boolean(site->emergency_active));
    json_object_set_new(j, "state", json_string(site->emergency_active ? "ON" : "OFF"));
    set_time(j, "since", site->emergency_active ? site->emergency_since_us : 0);
    json_object_set_new(j, "doors", json_integer(doors));
    json_object_set_new(j, "unlocked", json_integer(unlocked));
    json_object_set_new(j, "pending", json_integer(pending));
    json_object_set_new(j, "failed", json_integer(failed));
    return dump(j);
}
