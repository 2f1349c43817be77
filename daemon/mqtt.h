/* mqtt: the MQTT output of the site owner (portierd): device and door states, every journal event in order
 * with nothing lost, alarms, the emergency, Home Assistant discovery, and (when enabled) commands.
 * libmosquitto driven by the owner's epoll loop (no threads); a broker that is down never slows the loop. */
#ifndef PORTIER_MQTT_H
#define PORTIER_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/journal.h"
#include "core/loop.h"
#include "core/site.h"

struct mqtt_bridge;

enum mqtt_conn { MQTT_CONN_DOWN, MQTT_CONN_CONNECTING, MQTT_CONN_UP };

struct mqtt_status {
    enum mqtt_conn conn;
    char broker[300];             /* host:port */
    int protocol;                 /* 5 or 4 (3.1.1) once connected, 0 before */
    int64_t since_us;             /* wall clock of the last connection change */
    int64_t acked_id;             /* last journal id the broker acknowledged (durable in the state dir) */
    int64_t sent_id;              /* last journal id handed to the broker */
    int64_t journal_id;           /* newest journal id */
    int64_t backlog;              /* journal events not yet acknowledged (journal_id - acked_id) */
    unsigned inflight;            /* published, awaiting PUBACK */
    bool catching_up;             /* reading the backlog from the journal */
    uint64_t published;           /* journal events acknowledged since start */
    uint64_t connects, failures;  /* successful connections, failed attempts and losses */
    uint64_t commands, refused;   /* commands received, of which refused (malformed, unknown user, role) */
    char last_error[200];
};

/* Start the bridge on an owner's site: conf from the site's configuration, state_dir holds the durable
 * acknowledgement cursor (mqtt-<client_id>.state). Events are read from the site's event bus (subscribed
 * here) and from journal j for the backlog. Connects at once (non-blocking). NULL with err when it cannot
 * start (bad state file, out of memory). */
struct mqtt_bridge *mqtt_bridge_new(loop_t *loop, struct site *site, struct journal *j, const struct site_mqtt *conf,
                                    const char *state_dir, char *err, size_t errlen);
/* Publish "offline" (cleanly, the last will is for crashes), save the cursor, disconnect and free. */
void mqtt_bridge_free(struct mqtt_bridge *b);
void mqtt_bridge_status(const struct mqtt_bridge *b, struct mqtt_status *st);
const char *mqtt_conn_name(enum mqtt_conn c);
/* The status as a JSON object (jansson; the caller owns it): connection broker protocol since_us acked_id
 * sent_id journal_id backlog inflight catching_up published connects failures commands refused last_error. */
struct json_t;
struct json_t *mqtt_status_json(const struct mqtt_status *st);

#endif
