/* mqtt_ha: Home Assistant MQTT discovery for the site: one HA device per C3 panel, per NiX1 slave and one
 * for the site itself; doors as door sensors, locks and access event entities, aux outputs as switches,
 * alarm cancel as a button, the emergency as a switch (commands only). Pure: emits topic/payload pairs. */
#ifndef PORTIER_MQTT_HA_H
#define PORTIER_MQTT_HA_H

#include <stddef.h>

#include "core/site.h"
#include "daemon/mqtt_json.h"

/* One retained discovery message; payload "" removes an entity (published so that switching commands off,
 * or removing ha_user, takes the command entities away again). */
typedef void (*mqtt_ha_emit_fn)(const char *topic, const char *payload, void *arg);

/* Emit every discovery message of the site. Returns the number emitted, or -1 when out of memory. */
int mqtt_ha_discovery(const struct site *site, const struct site_mqtt *conf, const struct mqtt_slugs *slugs,
                      const char *version, mqtt_ha_emit_fn emit, void *arg);

#endif
