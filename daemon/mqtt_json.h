/* mqtt_json: the JSON payloads the MQTT bridge publishes (journal events, door/output and device states,
 * the emergency, open alarms) and topic-level names for site objects. Pure functions over the site model. */
#ifndef PORTIER_MQTT_JSON_H
#define PORTIER_MQTT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/site.h"

#define MQTT_SLUG_MAX 80

/* A topic level for a name: lower-case letters and digits kept, every other run of characters one '_',
 * no leading or trailing '_' ("Main entrance" -> "main_entrance"); "x" when nothing is left. */
void mqtt_slug(const char *name, char *out, size_t len);

/* Topic levels for every device and output of the site, unique (a clash gets "_<index>" appended).
 * Arrays of site->n_devices and site->n_outputs names; free with mqtt_slugs_free. 0 or -1. */
struct mqtt_slugs {
    char (*device)[MQTT_SLUG_MAX];
    char (*output)[MQTT_SLUG_MAX];
    size_t n_devices, n_outputs;
};
int mqtt_slugs_build(const struct site *site, struct mqtt_slugs *s);
void mqtt_slugs_free(struct mqtt_slugs *s);
/* The output or device index for a slug, or -1. */
long mqtt_slugs_find_output(const struct mqtt_slugs *s, const char *slug);
long mqtt_slugs_find_device(const struct mqtt_slugs *s, const char *slug);

/* Each returns a malloc'd NUL-terminated compact JSON text, or NULL when out of memory. */
/* A journal event: every field, with "journal_id" (null when it could not be journaled). */
char *mqtt_json_event(const struct event *ev);
/* The retained state of an output (door, aux, probe). */
char *mqtt_json_output(const struct site *site, const struct site_output *o);
/* The retained state of a device (link, detail, model, serial, firmware). */
char *mqtt_json_device(const struct site *site, const struct site_device *d);
/* The emergency: active, since, and live counts of the emergency doors (unlocked by it, pending, failed). */
char *mqtt_json_emergency(const struct site *site);
/* The "event_type" of an access event for the Home Assistant event entity ("granted", "denied") or NULL when
 * the event is no access decision at a door. */
const char *mqtt_access_type(const struct event *ev);
/* The payload of the event entity for an access event (event_type + the journal fields). */
char *mqtt_json_access(const struct event *ev);

/* Time as ISO 8601 UTC with milliseconds ("2026-01-02T03:04:05.678Z"). */
void mqtt_iso_time(int64_t us, char *buf, size_t len);

#endif
