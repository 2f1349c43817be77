/* mqtt_cmd: parsing of command topics and payloads (JSON through jansson, or the plain words of the Home
 * Assistant entities). Everything here is untrusted input: bounded, validated, never trusted for a role. */
#include "daemon/mqtt_cmd.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

bool mqtt_cmd_action_allowed(enum action_id id)
{
    switch (id) {
    case ACTION_ACK:
    case ACTION_DOOR_OPEN:
    case ACTION_DOOR_CLOSE:
    case ACTION_DOOR_HOLD:
    case ACTION_DOOR_RELEASE:
    case ACTION_TIMED_OPEN:
    case ACTION_NORMAL_OPEN_ON:
    case ACTION_NORMAL_OPEN_OFF:
    case ACTION_AUX_ON:
    case ACTION_AUX_OFF:
    case ACTION_CANCEL_ALARM:
    case ACTION_LOCKOUT_ON:
    case ACTION_LOCKOUT_OFF:
    case ACTION_EMERGENCY_ON:
    case ACTION_EMERGENCY_OFF:
        return true;
    default:
        return false;
    }
}

/* The payload as a trimmed word (plain commands): copies at most len-1 bytes; false when too long or not
 * printable ASCII. */
static bool payload_word(const void *payload, size_t n, char *out, size_t len)
{
    const char *p = payload;
    while (n && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    if (n >= len)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
            return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* Copy one topic level starting at *p into out (up to '/' or the end); advances *p past the '/'. */
static bool next_level(const char **p, char *out, size_t len)
{
    const char *s = *p;
    if (!s)
        return false;
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= len)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    *p = slash ? slash + 1 : NULL;
    return true;
}

static int fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -1;
}

static int parse_json(const void *payload, size_t len, struct mqtt_cmd *c, char *err, size_t errlen)
{
    json_error_t je;
    json_t *o = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        snprintf(err, errlen, "payload is not JSON: %.150s", je.text);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(o)) {
        fail(err, errlen, "payload must be a JSON object {\"action\": ..., \"target\": ...}");
        goto out;
    }
    json_t *id = json_object_get(o, "id");
    if (id) {
        if (json_is_string(id) && json_string_length(id) < sizeof c->id)
            snprintf(c->id, sizeof c->id, "%s", json_string_value(id));
        else if (json_is_integer(id))
            snprintf(c->id, sizeof c->id, "%lld", (long long)json_integer_value(id));
        else {
            fail(err, errlen, "\"id\" must be a string of at most 127 characters or an integer");
            goto out;
        }
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (strcmp(key, "id") && strcmp(key, "action") && strcmp(key, "target") && strcmp(key, "value") &&
            strcmp(key, "seconds") && strcmp(key, "minutes")) {
            snprintf(err, errlen, "unknown key \"%.60s\" (known: id, action, target, value, seconds, minutes)", key);
            goto out;
        }
    }
    json_t *a = json_object_get(o, "action");
    if (!json_is_string(a)) {
        fail(err, errlen, "\"action\" (a string such as \"door-open\") is required");
        goto out;
    }
    const struct action_def *def = action_find(json_string_value(a));
    if (!def) {
        snprintf(err, errlen, "unknown action \"%.60s\"", json_string_value(a));
        goto out;
    }
    if (!mqtt_cmd_action_allowed(def->id)) {
        snprintf(err, errlen, "%s is not available over MQTT", def->name);
        goto out;
    }
    c->action = def->id;
    json_t *t = json_object_get(o, "target");
    if (t && json_is_integer(t) && def->target == ACTION_TARGET_EVENT) {
        snprintf(c->target, sizeof c->target, "%lld", (long long)json_integer_value(t));
    } else if (t && json_is_string(t) && json_string_length(t) < sizeof c->target &&
               strlen(json_string_value(t)) == json_string_length(t)) {
        snprintf(c->target, sizeof c->target, "%s", json_string_value(t));
    } else if (t || (def->target != ACTION_TARGET_SITE && def->target != ACTION_TARGET_NONE)) {
        snprintf(err, errlen, "%s needs \"target\": a %s", def->name,
                 def->target == ACTION_TARGET_EVENT ? "journal event id" : "door, output or panel name (string)");
        goto out;
    }
    json_t *val = json_object_get(o, "value");
    if (!val && def->param)
        val = json_object_get(o, def->param);
    if (val) {
        if (!def->param) {
            snprintf(err, errlen, "%s takes no value", def->name);
            goto out;
        }
        if (!json_is_integer(val) || json_integer_value(val) < def->param_min ||
            json_integer_value(val) > def->param_max) {
            snprintf(err, errlen, "%s: %s must be an integer %u..%u", def->name, def->param, def->param_min,
                     def->param_max);
            goto out;
        }
        c->value = (unsigned)json_integer_value(val);
        c->has_value = true;
    }
    rc = 0;
out:
    json_decref(o);
    return rc;
}

int mqtt_cmd_parse(const char *base, const char *topic, const void *payload, size_t len, struct mqtt_cmd *c,
                   char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->action = ACTION_COUNT;
    size_t bl = strlen(base);
    if (strncmp(topic, base, bl) != 0 || strncmp(topic + bl, "/cmd/", 5) != 0)
        return -2;
    const char *p = topic + bl + 5;
    if (!next_level(&p, c->user, sizeof c->user))
        return fail(err, errlen, "command topic without a user level");
    char kind[16], slug[128];
    if (!next_level(&p, kind, sizeof kind))
        return fail(err, errlen, "command topic without a command");
    if (len > MQTT_CMD_PAYLOAD_MAX)
        return fail(err, errlen, "payload too large");
    char word[16] = "";
    if (strcmp(kind, "command") == 0) {
        snprintf(c->topic_kind, sizeof c->topic_kind, "command");
        if (p)
            return fail(err, errlen, "unknown command topic");
        c->target_kind = MQTT_TARGET_NAME;
        return parse_json(payload, len, c, err, errlen);
    }
    if (strcmp(kind, "emergency") == 0) {
        snprintf(c->topic_kind, sizeof c->topic_kind, "emergency");
        if (p)
            return fail(err, errlen, "unknown command topic");
        if (!payload_word(payload, len, word, sizeof word))
            return fail(err, errlen, "emergency takes ON or OFF");
        if (strcasecmp(word, "ON") == 0)
            c->action = ACTION_EMERGENCY_ON;
        else if (strcasecmp(word, "OFF") == 0)
            c->action = ACTION_EMERGENCY_OFF;
        else
            return fail(err, errlen, "emergency takes ON or OFF");
        return 0;
    }
    bool output = strcmp(kind, "output") == 0;
    if (!output && strcmp(kind, "device") != 0)
        return fail(err, errlen, "unknown command topic");
    if (!next_level(&p, slug, sizeof slug) || !next_level(&p, c->topic_kind, sizeof c->topic_kind) || p)
        return fail(err, errlen, output ? "expected .../output/<name>/lock or .../output/<name>/switch"
                                        : "expected .../device/<name>/cancel-alarm");
    snprintf(c->target, sizeof c->target, "%s", slug);
    c->target_kind = output ? MQTT_TARGET_OUTPUT_SLUG : MQTT_TARGET_DEVICE_SLUG;
    bool ok = payload_word(payload, len, word, sizeof word);
    if (output && strcmp(c->topic_kind, "lock") == 0) {
        if (ok && strcasecmp(word, "LOCK") == 0)
            c->action = ACTION_DOOR_CLOSE;
        else if (ok && strcasecmp(word, "UNLOCK") == 0)
            c->action = ACTION_TIMED_OPEN;
        else if (ok && strcasecmp(word, "OPEN") == 0)
            c->action = ACTION_DOOR_OPEN;
        else
            return fail(err, errlen, "lock takes LOCK, UNLOCK or OPEN");
    } else if (output && strcmp(c->topic_kind, "switch") == 0) {
        if (ok && strcasecmp(word, "ON") == 0) {
            c->action = ACTION_AUX_ON;
            c->value = 255; /* until switched off, as a switch is */
            c->has_value = true;
        } else if (ok && strcasecmp(word, "OFF") == 0) {
            c->action = ACTION_AUX_OFF;
        } else {
            return fail(err, errlen, "switch takes ON or OFF");
        }
    } else if (!output && strcmp(c->topic_kind, "cancel-alarm") == 0) {
        if (!ok || strcasecmp(word, "PRESS") != 0)
            return fail(err, errlen, "cancel-alarm takes PRESS");
        c->action = ACTION_CANCEL_ALARM;
    } else {
        return fail(err, errlen, output ? "expected .../output/<name>/lock or .../output/<name>/switch"
                                        : "expected .../device/<name>/cancel-alarm");
    }
    return 0;
}
