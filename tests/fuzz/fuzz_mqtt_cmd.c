/* libFuzzer target: the MQTT command parser on arbitrary topics and payloads. Input: the topic up to the first
 * newline, the payload after it. Whatever is accepted must name an action allowed over MQTT. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/mqtt_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16 * 1024)
        return 0;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t tl = nl ? (size_t)(nl - data) : size;
    char *topic = malloc(tl + 1);
    if (!topic)
        return 0;
    memcpy(topic, data, tl);
    topic[tl] = '\0';
    const uint8_t *payload = nl ? nl + 1 : data + size;
    size_t pl = nl ? size - tl - 1 : 0;
    /* an exact-size copy so reads past the payload are caught */
    uint8_t *p = malloc(pl ? pl : 1);
    if (p && pl)
        memcpy(p, payload, pl);
    struct mqtt_cmd cmd;
    char err[256];
    int rc = p ? mqtt_cmd_parse("portier", topic, p, pl, &cmd, err, sizeof err) : -2;
    if (rc == 0 && (cmd.action >= ACTION_COUNT || !mqtt_cmd_action_allowed(cmd.action)))
        abort();
    if (rc == 0 && (strlen(cmd.user) >= sizeof cmd.user || strlen(cmd.target) >= sizeof cmd.target))
        abort();
    free(p);
    free(topic);
    return 0;
}
