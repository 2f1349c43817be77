/* mqtt_cmd: the command topics of the MQTT bridge, parsed into an action request (pure, fuzzed).
 * Topics are <base>/cmd/<user>/...: the broker's ACL lets each user write only under its own level. */
#ifndef PORTIER_MQTT_CMD_H
#define PORTIER_MQTT_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/action.h"

#define MQTT_CMD_PAYLOAD_MAX 4096
#define MQTT_CMD_ID_MAX 128

enum mqtt_cmd_target { MQTT_TARGET_NAME, MQTT_TARGET_OUTPUT_SLUG, MQTT_TARGET_DEVICE_SLUG };

struct mqtt_cmd {
    char user[64];                 /* the MQTT user from the topic ("" when the topic has none) */
    char topic_kind[16];           /* "command", "lock", "switch", "cancel-alarm", "emergency" */
    enum action_id action;
    enum mqtt_cmd_target target_kind;
    char target[128];              /* a name (JSON command), an event id (ack), or a slug (entity topics) */
    unsigned value;
    bool has_value;
    char id[MQTT_CMD_ID_MAX];      /* "id" of a JSON command, echoed in the result; "" when none */
};

/* Parse one message. base is the configured base topic. Returns 0 with cmd filled, -1 when the message is
 * a command but malformed or not allowed over MQTT (err says why; cmd->user and cmd->id are filled when
 * they could be read), -2 when the topic is not a command topic of this base (ignore it). */
int mqtt_cmd_parse(const char *base, const char *topic, const void *payload, size_t len, struct mqtt_cmd *cmd,
                   char *err, size_t errlen);

/* Whether an action may be asked for over MQTT at all (door, aux, probe, alarm, emergency and ack actions;
 * never configuration or slave maintenance). */
bool mqtt_cmd_action_allowed(enum action_id id);

#endif
