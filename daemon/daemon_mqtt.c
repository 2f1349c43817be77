/* daemon_mqtt: portierd hosts the MQTT bridge (daemon/mqtt.h) on its site, journal and state directory, and
 * answers the "mqtt-status" request. A bridge that cannot start is logged and left out: the doors come first. */
#include <jansson.h>
#include <stdio.h>

#include "daemon/daemon.h"
#include "daemon/mqtt.h"

void daemon_mqtt_start(struct daemon *d)
{
    if (d->mqtt || !d->site->mqtt.enabled)
        return;
    char err[512];
    d->mqtt = mqtt_bridge_new(d->loop, d->site, d->journal, &d->site->mqtt, d->state_dir, err, sizeof err);
    if (!d->mqtt)
        dispatch_notice(d, "error", "MQTT output not started: %s", err);
}

void daemon_mqtt_stop(struct daemon *d)
{
    mqtt_bridge_free(d->mqtt);
    d->mqtt = NULL;
}

void daemon_mqtt_status(struct daemon *d, struct client *c, int64_t id)
{
    if (!d->mqtt) {
        dispatch_reply_error(c, id, "mqtt-status", "failed", "%s",
                             d->site->mqtt.enabled ? "the MQTT output could not start (see the log)"
                                                   : "no MQTT output: the configuration has no mqtt group");
        return;
    }
    struct mqtt_status st;
    mqtt_bridge_status(d->mqtt, &st);
    json_t *m = json_pack("{s:s,s:I,s:s,s:s,s:o}", "type", "result", "id", (json_int_t)id, "op", "mqtt-status",
                          "status", "ok", "mqtt", mqtt_status_json(&st));
    if (m)
        server_send(c, m, id, true, 0);
    json_decref(m);
}
