/* mqtt_priv: the MQTT bridge's state, shared by its connection/journal part (mqtt.c) and its command part
 * (mqtt_exec.c). Private to daemon/mqtt*.c. */
#ifndef PORTIER_MQTT_PRIV_H
#define PORTIER_MQTT_PRIV_H

#include <limits.h>
#include <mosquitto.h>

#include "daemon/mqtt.h"
#include "daemon/mqtt_cmd.h"
#include "daemon/mqtt_json.h"

#define ALARMS_MAX 64

struct inflight {
    int mid;
    int64_t id;
    bool done;
};

struct alarm {
    int64_t id;
    int64_t time_us;
    char device[EVENT_NAME_MAX], door[EVENT_NAME_MAX], text[EVENT_TEXT_MAX];
};

struct cmd_ctx;

struct mqtt_bridge {
    loop_t *loop;
    struct site *site;
    struct journal *j;
    struct site_mqtt conf;
    char state_path[PATH_MAX];
    struct mqtt_slugs slugs;
    char site_slug[MQTT_SLUG_MAX];

    struct mosquitto *mosq;
    int fd;
    unsigned fd_events;
    int protocol;                 /* MQTT_PROTOCOL_V5 first, MQTT_PROTOCOL_V311 when the broker refuses v5 */
    bool lost;                    /* set in a libmosquitto callback: tear down after it returns */
    char lost_why[200];
    unsigned backoff_ms;
    loop_timer_t misc_timer, reconnect_timer, deadline_timer, save_timer, kick_timer;
    int sub_handle, stored_handle;

    /* the journal cursor */
    int64_t acked_id, saved_id, sent_id, tail_id;
    bool journal_mode;            /* read the backlog from the journal instead of the live queue */
    struct event *queue;
    size_t q_head, q_len, q_cap;
    struct inflight *infl;
    size_t i_head, i_len;

    /* retained states waiting to be published */
    bool *out_dirty, *dev_dirty;
    bool emergency_dirty, alarms_dirty, all_dirty;
    /* device identities (serial, firmware) as last advertised to Home Assistant: a change re-sends discovery */
    struct mqtt_ident {
        char serial[48], firmware[64];
    } *ident;
    bool discovery_dirty;

    struct alarm alarms[ALARMS_MAX];
    size_t n_alarms;

    struct cmd_ctx *cmds;         /* commands running through action_run */
    struct mqtt_status st;
};

struct cmd_ctx {
    struct cmd_ctx *next;
    struct mqtt_bridge *b;        /* NULL once the bridge is gone */
    char user[64];
    char id[MQTT_CMD_ID_MAX];
    char response_topic[256];
    void *corr;
    int corr_len;
};

/* Publish with the configured QoS (v5 properties only on a v5 connection). 0, or -1 (the connection is then
 * marked lost and torn down by the next mqtt_after_call). */
int mqtt_publish(struct mqtt_bridge *b, int *mid, const char *topic, const char *payload, bool retain,
                 const mosquitto_property *props);
/* After any libmosquitto call: tear down a connection found lost, else update the socket's watch. */
void mqtt_after_call(struct mqtt_bridge *b, int rc, const char *what);
/* Flush states and fill the window at the next loop iteration. */
void mqtt_kick(struct mqtt_bridge *b);
void mqtt_publish_discovery(struct mqtt_bridge *b);

/* mqtt_exec.c: a message on a subscribed topic (commands, Home Assistant's birth message). */
void mqtt_handle_message(struct mqtt_bridge *b, const struct mosquitto_message *msg, const mosquitto_property *props);
/* The bridge is going away: running commands will answer nobody. */
void mqtt_cmds_detach(struct mqtt_bridge *b);

#endif
