/* mqtt_ha: Home Assistant MQTT discovery payloads (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery
 * and the binary_sensor, lock, switch, button and event MQTT integration pages). */
#include "daemon/mqtt_ha.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ha {
    const struct site *site;
    const struct site_mqtt *conf;
    const struct mqtt_slugs *slugs;
    const char *version;
    mqtt_ha_emit_fn emit;
    void *arg;
    char site_slug[MQTT_SLUG_MAX];
    bool commands;                  /* command entities are advertised */
    int count;
    bool oom;
};

static void emit_json(struct ha *h, const char *component, const char *object, json_t *payload)
{
    char topic[512];
    snprintf(topic, sizeof topic, "%s/%s/portier_%s/%s/config", h->conf->discovery_prefix, component, h->site_slug,
             object);
    char *text = payload ? json_dumps(payload, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (payload && !text)
        h->oom = true;
    h->emit(topic, text ? text : "", h->arg);
    h->count++;
    free(text);
    json_decref(payload);
}

static json_t *jstr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *jstr(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return json_string(buf);
}

/* The HA device of the site itself (portierd): the emergency lives here; panels and slaves point to it. */
static json_t *site_device(struct ha *h)
{
    json_t *d = json_object();
    json_object_set_new(d, "identifiers", json_pack("[o]", jstr("portier_%s", h->site_slug)));
    json_object_set_new(d, "name", jstr("portier %s", h->site->name));
    json_object_set_new(d, "manufacturer", json_string("portier"));
    json_object_set_new(d, "model", json_string("portierd"));
    json_object_set_new(d, "sw_version", json_string(h->version));
    return d;
}

/* The HA device an output belongs to: its C3 panel, or its NiX1 slave. */
static json_t *output_device(struct ha *h, const struct site_output *o)
{
    const struct site_device *sd = &h->site->devices[o->device];
    json_t *d = json_object();
    if (sd->panel) {
        json_object_set_new(d, "identifiers",
                            json_pack("[o]", jstr("portier_%s_%s", h->site_slug, h->slugs->device[sd->index])));
        json_object_set_new(d, "name", json_string(sd->name));
        json_object_set_new(d, "manufacturer", json_string("ZKTeco"));
        json_object_set_new(d, "model", json_string(sd->panel->model[0] ? sd->panel->model : "C3"));
        if (sd->firmware[0])
            json_object_set_new(d, "sw_version", json_string(sd->firmware));
        if (sd->serial[0])
            json_object_set_new(d, "serial_number", json_string(sd->serial));
    } else {
        const struct site_slave *sl = &sd->bus->slaves[o->slave];
        json_object_set_new(d, "identifiers", json_pack("[o]", jstr("portier_%s_nix1_%s", h->site_slug, sl->addr)));
        json_object_set_new(d, "name", json_string(sl->name));
        json_object_set_new(d, "manufacturer", json_string("NiX1"));
        json_object_set_new(d, "model", json_string("NiX1 iButton door slave"));
        json_object_set_new(d, "serial_number", json_string(sl->addr));
        json_object_set_new(d, "suggested_area", json_string(sd->name));
    }
    json_object_set_new(d, "via_device", jstr("portier_%s", h->site_slug));
    return d;
}

static json_t *availability(struct ha *h, size_t device)
{
    json_t *a = json_array();
    json_array_append_new(a, json_pack("{s:o,s:s,s:s}", "topic", jstr("%s/status", h->conf->base_topic),
                                       "payload_available", "online", "payload_not_available", "offline"));
    if (device != SIZE_MAX)
        json_array_append_new(a, json_pack("{s:o,s:s,s:s}", "topic",
                                           jstr("%s/device/%s/availability", h->conf->base_topic,
                                                h->slugs->device[device]),
                                           "payload_available", "online", "payload_not_available", "offline"));
    return a;
}

/* Fields every entity has. */
static json_t *entity(struct ha *h, const char *name, const char *uid_suffix, json_t *device, size_t avail_device)
{
    json_t *e = json_object();
    json_object_set_new(e, "name", name ? json_string(name) : json_null());
    json_object_set_new(e, "unique_id", jstr("portier_%s_%s", h->site_slug, uid_suffix));
    json_object_set_new(e, "device", device);
    json_object_set_new(e, "availability", availability(h, avail_device));
    json_object_set_new(e, "availability_mode", json_string("all"));
    json_object_set_new(e, "origin", json_pack("{s:s,s:s}", "name", "portier", "sw_version", h->version));
    json_object_set_new(e, "qos", json_integer(h->conf->qos));
    return e;
}

/* <base>/cmd/<ha_user>/<kind>/<slug>/<what> */
static json_t *cmd_topic(struct ha *h, const char *kind, const char *slug, const char *what)
{
    return jstr("%s/cmd/%s/%s/%s/%s", h->conf->base_topic, h->conf->ha_user, kind, slug, what);
}

static void door(struct ha *h, const struct site_output *o)
{
    const char *slug = h->slugs->output[o->index];
    char obj[MQTT_SLUG_MAX + 16], name[SITE_NAME_MAX + 16];
    json_t *state = jstr("%s/output/%s/state", h->conf->base_topic, slug);

    json_t *e = entity(h, o->name, (snprintf(obj, sizeof obj, "%s_door", slug), obj), output_device(h, o), o->device);
    json_object_set_new(e, "device_class", json_string("door"));
    json_object_set_new(e, "state_topic", json_copy(state));
    json_object_set_new(e, "value_template", json_string("{{ value_json.sensor }}"));
    json_object_set_new(e, "payload_on", json_string("open"));
    json_object_set_new(e, "payload_off", json_string("closed"));
    json_object_set_new(e, "json_attributes_topic", json_copy(state));
    emit_json(h, "binary_sensor", obj, e);

    snprintf(obj, sizeof obj, "%s_lock", slug);
    snprintf(name, sizeof name, "%s lock", o->name);
    if (h->commands) {
        e = entity(h, name, obj, output_device(h, o), o->device);
        json_object_set_new(e, "command_topic", cmd_topic(h, "output", slug, "lock"));
        json_object_set_new(e, "state_topic", json_copy(state));
        json_object_set_new(e, "value_template", json_string("{{ value_json.lock }}"));
        json_object_set_new(e, "payload_lock", json_string("LOCK"));
        json_object_set_new(e, "payload_unlock", json_string("UNLOCK"));
        json_object_set_new(e, "payload_open", json_string("OPEN"));
        json_object_set_new(e, "state_locked", json_string("LOCKED"));
        json_object_set_new(e, "state_unlocked", json_string("UNLOCKED"));
        emit_json(h, "lock", obj, e);
    } else {
        emit_json(h, "lock", obj, NULL);
    }

    snprintf(obj, sizeof obj, "%s_access", slug);
    snprintf(name, sizeof name, "%s access", o->name);
    e = entity(h, name, obj, output_device(h, o), o->device);
    json_object_set_new(e, "state_topic", jstr("%s/output/%s/access", h->conf->base_topic, slug));
    json_object_set_new(e, "event_types", json_pack("[s,s]", "granted", "denied"));
    emit_json(h, "event", obj, e);
    json_decref(state);
}

/* A switch: commands ON/OFF, state ON/OFF rendered from the JSON state by template. */
static void switch_fields(json_t *e, json_t *command_topic, json_t *state_topic, const char *template)
{
    json_object_set_new(e, "command_topic", command_topic);
    json_object_set_new(e, "state_topic", state_topic);
    json_object_set_new(e, "value_template", json_string(template));
    json_object_set_new(e, "payload_on", json_string("ON"));
    json_object_set_new(e, "payload_off", json_string("OFF"));
    json_object_set_new(e, "state_on", json_string("ON"));
    json_object_set_new(e, "state_off", json_string("OFF"));
}

static void aux(struct ha *h, const struct site_output *o)
{
    const char *slug = h->slugs->output[o->index];
    char obj[MQTT_SLUG_MAX + 16];
    snprintf(obj, sizeof obj, "%s_switch", slug);
    if (!h->commands) {
        emit_json(h, "switch", obj, NULL);
        return;
    }
    json_t *e = entity(h, o->name, obj, output_device(h, o), o->device);
    switch_fields(e, cmd_topic(h, "output", slug, "switch"), jstr("%s/output/%s/state", h->conf->base_topic, slug),
                  "{{ value_json.on }}");
    emit_json(h, "switch", obj, e);
}

static void cancel_button(struct ha *h, const struct site_device *sd)
{
    const char *slug = h->slugs->device[sd->index];
    char obj[MQTT_SLUG_MAX + 16];
    snprintf(obj, sizeof obj, "%s_cancel_alarm", slug);
    /* the panel's HA device: any of its outputs carries it (a panel has at least one door) */
    const struct site_output *first = NULL;
    for (size_t i = 0; i < h->site->n_outputs && !first; i++)
        if (h->site->outputs[i].device == sd->index)
            first = &h->site->outputs[i];
    if (!h->commands || !first) {
        emit_json(h, "button", obj, NULL);
        return;
    }
    json_t *e = entity(h, "Cancel alarm", obj, output_device(h, first), sd->index);
    json_object_set_new(e, "command_topic", cmd_topic(h, "device", slug, "cancel-alarm"));
    json_object_set_new(e, "payload_press", json_string("PRESS"));
    emit_json(h, "button", obj, e);
}

static void emergency(struct ha *h)
{
    if (!h->commands) {
        emit_json(h, "switch", "emergency", NULL);
        return;
    }
    json_t *e = entity(h, "Emergency unlock", "emergency", site_device(h), SIZE_MAX);
    switch_fields(e, jstr("%s/cmd/%s/emergency", h->conf->base_topic, h->conf->ha_user),
                  jstr("%s/emergency", h->conf->base_topic), "{{ value_json.state }}");
    json_object_set_new(e, "json_attributes_topic", jstr("%s/emergency", h->conf->base_topic));
    json_object_set_new(e, "icon", json_string("mdi:door-open"));
    emit_json(h, "switch", "emergency", e);
}

int mqtt_ha_discovery(const struct site *site, const struct site_mqtt *conf, const struct mqtt_slugs *slugs,
                      const char *version, mqtt_ha_emit_fn emit, void *arg)
{
    struct ha h = { .site = site, .conf = conf, .slugs = slugs, .version = version, .emit = emit, .arg = arg };
    mqtt_slug(site->name, h.site_slug, sizeof h.site_slug);
    h.commands = conf->commands && conf->ha_user[0];
    for (size_t i = 0; i < site->n_outputs; i++) {
        if (site->outputs[i].type == OUTPUT_AUX)
            aux(&h, &site->outputs[i]);
        else
            door(&h, &site->outputs[i]);
    }
    for (size_t i = 0; i < site->n_devices; i++)
        if (site->devices[i].panel)
            cancel_button(&h, &site->devices[i]);
    emergency(&h);
    return h.oom ? -1 : h.count;
}
