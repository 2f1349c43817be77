/* mqtt_exec: commands from the broker: who sent them (the topic's user level, guarded by the broker's ACL),
 * their role (the mqtt roles list), action_run (role check, audit, devices), and the answer on the v5
 * response topic with its correlation data, or on <base>/result/<user>. */
#include <jansson.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/action.h"
#include "core/journal.h"
#include "daemon/mqtt_priv.h"

static void cmd_reply(struct mqtt_bridge *b, struct cmd_ctx *c, json_t *o)
{
    if (!b || b->st.conn != MQTT_CONN_UP) {
        json_decref(o);
        return;
    }
    if (c->id[0])
        json_object_set_new(o, "id", json_string(c->id));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        return;
    mosquitto_property *props = NULL;
    if (c->corr && c->corr_len > 0)
        mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, c->corr, (uint16_t)c->corr_len);
    char topic[300];
    if (c->response_topic[0])
        snprintf(topic, sizeof topic, "%s", c->response_topic);
    else
        snprintf(topic, sizeof topic, "%s/result/%s", b->conf.base_topic, c->user[0] ? c->user : "-");
    mqtt_publish(b, NULL, topic, text, false, props);
    mosquitto_property_free_all(&props);
    free(text);
}

static void cmd_free(struct mqtt_bridge *b, struct cmd_ctx *c)
{
    if (b) {
        for (struct cmd_ctx **p = &b->cmds; *p; p = &(*p)->next)
            if (*p == c) {
                *p = c->next;
                break;
            }
    }
    free(c->corr);
    free(c);
}

static void on_cmd_progress(const struct action_run *run, bool finished, void *arg)
{
    struct cmd_ctx *c = arg;
    if (!finished)
        return;
    struct mqtt_bridge *b = c->b;
    json_t *o = json_object(), *res = json_array();
    json_object_set_new(o, "user", json_string(c->user));
    json_object_set_new(o, "action", json_string(run->def->name));
    json_object_set_new(o, "target", json_string(run->target));
    json_object_set_new(o, "status", json_string(action_status_name(run->status)));
    if (run->error[0])
        json_object_set_new(o, "error", json_string(run->error));
    if (run->audit_id > 0)
        json_object_set_new(o, "audit_id", json_integer(run->audit_id));
    for (size_t i = 0; b && i < run->n_results; i++) {
        const struct action_target_result *t = &run->results[i];
        const char *name = t->label[0] ? t->label
                           : t->output < b->site->n_outputs ? b->site->outputs[t->output].name
                                                            : b->site->devices[t->device].name;
        json_array_append_new(res, json_pack("{s:s,s:s,s:s}", "target", name, "result",
                                             t->progress == PROGRESS_OK ? "ok" : "failed", "message", t->message));
    }
    json_object_set_new(o, "results", res);
    if (b)
        b->st.refused += run->status == ACTION_DENIED || run->status == ACTION_REFUSED;
    cmd_reply(b, c, o);
    if (b)
        mqtt_after_call(b, MOSQ_ERR_SUCCESS, "reply");
    cmd_free(b, c);
}

/* A refused message (malformed, unknown user, commands off): audited and answered, nothing acts. */
static void cmd_refuse(struct mqtt_bridge *b, struct cmd_ctx *c, const char *action, const char *target,
                       const char *status, const char *why)
{
    struct audit_record rec;
    memset(&rec, 0, sizeof rec);
    snprintf(rec.user, sizeof rec.user, "mqtt:%.58s", c->user[0] ? c->user : "?");
    snprintf(rec.role, sizeof rec.role, "-");
    event_copy(rec.action, sizeof rec.action, action);
    event_copy(rec.target, sizeof rec.target, target);
    snprintf(rec.result, sizeof rec.result, "%s", status);
    event_copy(rec.detail, sizeof rec.detail, why);
    rec.done_us = event_now_us();
    journal_audit_begin(b->j, &rec);
    b->st.refused++;
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "user", c->user, "action", action, "target", target, "status",
                          status, "error", why);
    if (rec.id > 0)
        json_object_set_new(o, "audit_id", json_integer(rec.id));
    cmd_reply(b, c, o);
    cmd_free(b, c);
}

/* A v5 response topic is the requester's choice: never one of ours, except its own result topic. */
static bool response_topic_ok(const struct mqtt_bridge *b, const char *user, const char *t)
{
    if (!t[0] || strpbrk(t, "+#") || strlen(t) >= 256)
        return false;
    char own[300];
    size_t bl = strlen(b->conf.base_topic), pl = strlen(b->conf.discovery_prefix);
    snprintf(own, sizeof own, "%s/result/%s", b->conf.base_topic, user);
    if (strncmp(t, own, strlen(own)) == 0 && (t[strlen(own)] == '\0' || t[strlen(own)] == '/'))
        return true;
    if ((strncmp(t, b->conf.base_topic, bl) == 0 && (t[bl] == '/' || !t[bl])) ||
        (strncmp(t, b->conf.discovery_prefix, pl) == 0 && (t[pl] == '/' || !t[pl])) || t[0] == '$')
        return false;
    return true;
}

void mqtt_handle_message(struct mqtt_bridge *b, const struct mosquitto_message *msg, const mosquitto_property *props)
{
    char status[300];
    snprintf(status, sizeof status, "%s/status", b->conf.discovery_prefix);
    if (b->conf.discovery && strcmp(msg->topic, status) == 0) {
        if (msg->payloadlen == 6 && memcmp(msg->payload, "online", 6) == 0) {
            mqtt_publish_discovery(b);
            b->all_dirty = true;
            mqtt_kick(b);
        }
        return;
    }
    struct mqtt_cmd cmd;
    char err[256] = "";
    int rc = mqtt_cmd_parse(b->conf.base_topic, msg->topic, msg->payload, msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0,
                            &cmd, err, sizeof err);
    if (rc == -2)
        return;
    b->st.commands++;
    struct cmd_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->b = b;
    c->next = b->cmds;
    b->cmds = c;
    snprintf(c->user, sizeof c->user, "%s", cmd.user);
    snprintf(c->id, sizeof c->id, "%s", cmd.id);
    if (props) {
        char *rt = NULL;
        void *corr = NULL;
        uint16_t cl = 0;
        if (mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &rt, false) && rt &&
            response_topic_ok(b, c->user, rt))
            snprintf(c->response_topic, sizeof c->response_topic, "%s", rt);
        free(rt);
        if (mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &cl, false) && corr) {
            c->corr = corr;
            c->corr_len = cl;
        }
    }
    const char *action = cmd.action < ACTION_COUNT ? action_table[cmd.action].name : "mqtt-command";
    if (rc != 0) {
        cmd_refuse(b, c, action, cmd.target, "refused", err);
        return;
    }
    if (!b->conf.commands) {
        cmd_refuse(b, c, action, cmd.target, "refused", "commands are disabled in the configuration");
        return;
    }
    const struct site_mqtt_user *u = NULL;
    for (size_t i = 0; i < b->conf.n_users && !u; i++)
        if (strcmp(b->conf.users[i].user, cmd.user) == 0)
            u = &b->conf.users[i];
    if (!u) {
        snprintf(err, sizeof err, "MQTT user %s has no role in the configuration", cmd.user);
        cmd_refuse(b, c, action, cmd.target, "denied", err);
        return;
    }
    char target[SITE_NAME_MAX * 2] = "";
    if (cmd.target_kind == MQTT_TARGET_OUTPUT_SLUG) {
        long i = mqtt_slugs_find_output(&b->slugs, cmd.target);
        if (i < 0 || (cmd.action == ACTION_AUX_ON || cmd.action == ACTION_AUX_OFF) !=
                         (b->site->outputs[i].type == OUTPUT_AUX)) {
            snprintf(err, sizeof err, "no %s \"%s\"", cmd.action == ACTION_AUX_ON || cmd.action == ACTION_AUX_OFF
                                                          ? "aux output" : "door", cmd.target);
            cmd_refuse(b, c, action, cmd.target, "refused", err);
            return;
        }
        snprintf(target, sizeof target, "%s", b->site->outputs[i].name);
    } else if (cmd.target_kind == MQTT_TARGET_DEVICE_SLUG) {
        long i = mqtt_slugs_find_device(&b->slugs, cmd.target);
        if (i < 0) {
            snprintf(err, sizeof err, "no panel \"%s\"", cmd.target);
            cmd_refuse(b, c, action, cmd.target, "refused", err);
            return;
        }
        snprintf(target, sizeof target, "%s", b->site->devices[i].name);
    } else {
        snprintf(target, sizeof target, "%s", cmd.target);
    }
    struct action_user au = { .role = u->role };
    snprintf(au.name, sizeof au.name, "mqtt:%.58s", cmd.user);
    struct action_params params = { .value = cmd.value, .has_value = cmd.has_value };
    /* action_run audits (also a denial) and calls back once finished, possibly before returning */
    action_run(b->site, &au, cmd.action, target[0] ? target : NULL, &params, on_cmd_progress, c, NULL, 0);
}

void mqtt_cmds_detach(struct mqtt_bridge *b)
{
    for (struct cmd_ctx *c = b->cmds; c; c = c->next)
        c->b = NULL; /* actions still running answer nobody */
}
