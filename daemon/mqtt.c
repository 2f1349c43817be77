/* mqtt: the MQTT bridge of the site owner (libmosquitto on the project's epoll loop, no threads).
 * Journal events go out in journal order with QoS >= 1 through a bounded in-flight window; the last id the
 * broker acknowledged is kept durably, and whatever was not acknowledged is read back from the journal after
 * an outage or a restart. States are retained messages; commands go through action_run like the console's. */
#include "daemon/mqtt.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/action.h"
#include "core/durable.h"
#include "core/grow.h"
#include "daemon/mqtt_ha.h"
#include "daemon/mqtt_json.h"
#include "daemon/mqtt_priv.h"

#ifndef PORTIER_VERSION
#define PORTIER_VERSION "0.1.0"
#endif

#define QUEUE_MAX 4096            /* live events waiting for the window; beyond, read them from the journal */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define CONNECT_TIMEOUT_MS 10000
#define SAVE_DELAY_MS 1000        /* the durable cursor is written at most once a second */

const char *mqtt_conn_name(enum mqtt_conn c)
{
    return c == MQTT_CONN_UP ? "connected" : c == MQTT_CONN_CONNECTING ? "connecting" : "disconnected";
}

static void set_error(struct mqtt_bridge *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct mqtt_bridge *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->st.last_error, sizeof b->st.last_error, fmt, ap);
    va_end(ap);
}

/* ---- durable cursor ---- */

static int save_cursor(struct mqtt_bridge *b)
{
    if (b->acked_id == b->saved_id)
        return 0;
    char text[64], err[256];
    int n = snprintf(text, sizeof text, "portier-mqtt 1\nacked %lld\n", (long long)b->acked_id);
    if (durable_write(b->state_path, text, (size_t)n, 0600, 0, err, sizeof err) != 0) {
        set_error(b, "state file: %s", err);
        return -1;
    }
    b->saved_id = b->acked_id;
    return 0;
}

static void save_cb(loop_t *loop, void *arg)
{
    (void)loop;
    save_cursor(arg);
}

/* Read the cursor; -1 with err when the file exists but cannot be read or is damaged. 0 and *found. */
static int load_cursor(struct mqtt_bridge *b, bool *found, char *err, size_t errlen)
{
    *found = false;
    FILE *f = fopen(b->state_path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", b->state_path, strerror(errno));
        return -1;
    }
    long long id = -1;
    int ok = fscanf(f, "portier-mqtt 1 acked %lld", &id);
    fclose(f);
    if (ok != 1 || id < 0) {
        snprintf(err, errlen, "%s: not a portier MQTT state file (remove it to start from the newest event)",
                 b->state_path);
        return -1;
    }
    b->acked_id = b->saved_id = id;
    *found = true;
    return 0;
}

/* ---- the socket on the loop ---- */

static void io_cb(loop_t *loop, int fd, unsigned events, void *arg);
static void teardown(struct mqtt_bridge *b, const char *why);
static void pump(struct mqtt_bridge *b);
static void flush_states(struct mqtt_bridge *b);

static void update_fd(struct mqtt_bridge *b)
{
    if (!b->mosq)
        return;
    int fd = mosquitto_socket(b->mosq);
    unsigned want = LOOP_READ | (mosquitto_want_write(b->mosq) ? LOOP_WRITE : 0);
    if (fd != b->fd) {
        if (b->fd >= 0)
            loop_del_fd(b->loop, b->fd);
        b->fd = fd;
        b->fd_events = 0;
        if (fd >= 0 && loop_add_fd(b->loop, fd, want, io_cb, b) == 0)
            b->fd_events = want;
        return;
    }
    if (fd >= 0 && want != b->fd_events && loop_mod_fd(b->loop, fd, want) == 0)
        b->fd_events = want;
}

/* After any libmosquitto call: a loss seen in a callback tears down now (outside the callback). */
void mqtt_after_call(struct mqtt_bridge *b, int rc, const char *what)
{
    if (!b->mosq)
        return;
    if (rc != MOSQ_ERR_SUCCESS && !b->lost) {
        b->lost = true;
        snprintf(b->lost_why, sizeof b->lost_why, "%s: %s", what,
                 rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    }
    if (b->lost) {
        char why[sizeof b->lost_why];
        memcpy(why, b->lost_why, sizeof why);
        teardown(b, why);
        return;
    }
    update_fd(b);
}

static void io_cb(loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)fd;
    struct mqtt_bridge *b = arg;
    if (!b->mosq)
        return;
    int rc = MOSQ_ERR_SUCCESS;
    if (events & (LOOP_READ | LOOP_ERROR))
        rc = mosquitto_loop_read(b->mosq, 16);
    if (rc == MOSQ_ERR_SUCCESS && b->mosq && !b->lost && (events & LOOP_WRITE))
        rc = mosquitto_loop_write(b->mosq, 16);
    mqtt_after_call(b, rc, "connection");
    if (b->mosq && b->st.conn == MQTT_CONN_UP) {
        flush_states(b);
        pump(b);
    }
}

static void misc_cb(loop_t *loop, void *arg)
{
    struct mqtt_bridge *b = arg;
    if (b->mosq) {
        mqtt_after_call(b, mosquitto_loop_misc(b->mosq), "keepalive");
        if (b->mosq)
            loop_timer_arm_ms(loop, &b->misc_timer, 1000);
    }
}

static void kick_cb(loop_t *loop, void *arg)
{
    (void)loop;
    struct mqtt_bridge *b = arg;
    if (b->mosq && b->st.conn == MQTT_CONN_UP) {
        flush_states(b);
        pump(b);
        mqtt_after_call(b, MOSQ_ERR_SUCCESS, "publish");
    }
}

void mqtt_kick(struct mqtt_bridge *b)
{
    if (!loop_timer_armed(&b->kick_timer))
        loop_timer_arm_us(b->loop, &b->kick_timer, 1);
}

/* ---- publishing ---- */

int mqtt_publish(struct mqtt_bridge *b, int *mid, const char *topic, const char *payload, bool retain,
                   const mosquitto_property *props)
{
    if (!b->mosq || b->st.conn != MQTT_CONN_UP)
        return -1;
    int rc = mosquitto_publish_v5(b->mosq, mid, topic, (int)strlen(payload), payload, (int)b->conf.qos, retain,
                                  b->protocol == MQTT_PROTOCOL_V5 ? props : NULL);
    if (rc != MOSQ_ERR_SUCCESS && !b->lost) {
        b->lost = true;
        snprintf(b->lost_why, sizeof b->lost_why, "publish %s: %s", topic, mosquitto_strerror(rc));
    }
    return rc == MOSQ_ERR_SUCCESS ? 0 : -1;
}

static void publishf(struct mqtt_bridge *b, const char *payload, bool retain, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void publishf(struct mqtt_bridge *b, const char *payload, bool retain, const char *fmt, ...)
{
    char topic[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(topic, sizeof topic, fmt, ap);
    va_end(ap);
    if (payload)
        mqtt_publish(b, NULL, topic, payload, retain, NULL);
}

static void publish_owned(struct mqtt_bridge *b, char *payload, bool retain, const char *topic)
{
    if (payload)
        mqtt_publish(b, NULL, topic, payload, retain, NULL);
    free(payload);
}

static void publish_alarms(struct mqtt_bridge *b)
{
    json_t *o = json_object(), *list = json_array();
    json_object_set_new(o, "open", json_integer((json_int_t)b->n_alarms));
    for (size_t i = b->n_alarms; i-- > 0;) {
        const struct alarm *a = &b->alarms[i];
        char t[40];
        mqtt_iso_time(a->time_us, t, sizeof t);
        json_t *e = json_pack("{s:I,s:s,s:s}", "journal_id", (json_int_t)a->id, "time", t, "device", a->device);
        if (a->door[0])
            json_object_set_new(e, "door", json_string(a->door));
        json_t *tx = json_string(a->text);
        json_object_set_new(e, "text", tx ? tx : json_string("?"));
        json_array_append_new(list, e);
    }
    json_object_set_new(o, "alarms", list);
    char topic[300];
    snprintf(topic, sizeof topic, "%s/alarms", b->conf.base_topic);
    publish_owned(b, json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER), true, topic);
    json_decref(o);
}

static void ha_emit(const char *topic, const char *payload, void *arg)
{
    struct mqtt_bridge *b = arg;
    mqtt_publish(b, NULL, topic, payload, true, NULL);
}

void mqtt_publish_discovery(struct mqtt_bridge *b)
{
    b->discovery_dirty = false;
    for (size_t i = 0; i < b->site->n_devices; i++) {
        memcpy(b->ident[i].serial, b->site->devices[i].serial, sizeof b->ident[i].serial);
        memcpy(b->ident[i].firmware, b->site->devices[i].firmware, sizeof b->ident[i].firmware);
    }
    if (b->conf.discovery)
        mqtt_ha_discovery(b->site, &b->conf, &b->slugs, PORTIER_VERSION, ha_emit, b);
}

/* Retained states that changed since the last call. */
static void flush_states(struct mqtt_bridge *b)
{
    char topic[300];
    struct site *s = b->site;
    for (size_t i = 0; i < s->n_devices; i++) {
        if (!b->dev_dirty[i] && !b->all_dirty)
            continue;
        b->dev_dirty[i] = false;
        snprintf(topic, sizeof topic, "%s/device/%s/availability", b->conf.base_topic, b->slugs.device[i]);
        mqtt_publish(b, NULL, topic, s->devices[i].link == LINK_UP ? "online" : "offline", true, NULL);
        snprintf(topic, sizeof topic, "%s/device/%s/state", b->conf.base_topic, b->slugs.device[i]);
        publish_owned(b, mqtt_json_device(s, &s->devices[i]), true, topic);
    }
    for (size_t i = 0; i < s->n_outputs; i++) {
        if (!b->out_dirty[i] && !b->all_dirty)
            continue;
        b->out_dirty[i] = false;
        snprintf(topic, sizeof topic, "%s/output/%s/state", b->conf.base_topic, b->slugs.output[i]);
        publish_owned(b, mqtt_json_output(s, &s->outputs[i]), true, topic);
    }
    if (b->emergency_dirty || b->all_dirty) {
        b->emergency_dirty = false;
        snprintf(topic, sizeof topic, "%s/emergency", b->conf.base_topic);
        publish_owned(b, mqtt_json_emergency(s), true, topic);
    }
    if (b->alarms_dirty || b->all_dirty) {
        b->alarms_dirty = false;
        publish_alarms(b);
    }
    if (b->discovery_dirty)
        mqtt_publish_discovery(b);
    b->all_dirty = false;
}

/* A journal event into the window. 0, or -1 when the connection failed. */
static int publish_event(struct mqtt_bridge *b, const struct event *ev)
{
    char *payload = mqtt_json_event(ev);
    if (!payload)
        return -1;
    char topic[300];
    snprintf(topic, sizeof topic, "%s/events", b->conf.base_topic);
    int mid = 0;
    int rc = mqtt_publish(b, &mid, topic, payload, false, NULL);
    free(payload);
    if (rc != 0)
        return -1;
    struct inflight *f = &b->infl[(b->i_head + b->i_len) % b->conf.max_inflight];
    *f = (struct inflight){ mid, ev->id, false };
    b->i_len++;
    b->sent_id = ev->id;
    return 0;
}

/* A notice for journal events that retention removed before they reached the broker. */
static void publish_gap(struct mqtt_bridge *b, int64_t from, int64_t to)
{
    struct event ev;
    event_init(&ev, EVENT_GAP, EVENT_WARNING);
    event_copy(ev.device, sizeof ev.device, "mqtt");
    event_set_text(&ev, "journal events %lld..%lld were removed by retention before they reached the broker",
                   (long long)from, (long long)to);
    ev.host_time_us = event_now_us();
    char topic[300];
    snprintf(topic, sizeof topic, "%s/events", b->conf.base_topic);
    publish_owned(b, mqtt_json_event(&ev), false, topic);
}

static int backlog_row(const struct event *ev, bool acked, void *arg)
{
    (void)acked;
    struct mqtt_bridge *b = arg;
    if (ev->id > b->sent_id + 1)
        publish_gap(b, b->sent_id + 1, ev->id - 1);
    return publish_event(b, ev) != 0;
}

/* Fill the window: from the journal while catching up, else from the live queue. */
static void pump(struct mqtt_bridge *b)
{
    while (b->mosq && !b->lost && b->st.conn == MQTT_CONN_UP && b->i_len < b->conf.max_inflight) {
        size_t room = b->conf.max_inflight - b->i_len;
        if (b->journal_mode) {
            long n = journal_events_after(b->j, b->sent_id, room, backlog_row, b);
            if (n < 0) {
                set_error(b, "reading the journal: %s", journal_error(b->j));
                return;
            }
            if ((size_t)n < room && !b->lost) {
                /* caught up: everything committed is out; newer events come from the bus */
                b->journal_mode = false;
                b->tail_id = b->sent_id;
                b->q_len = 0;
            }
            if (n == 0)
                return;
            continue;
        }
        if (b->q_len == 0)
            return;
        struct event *ev = &b->queue[b->q_head];
        if (publish_event(b, ev) != 0)
            return;
        b->q_head = (b->q_head + 1) % b->q_cap;
        b->q_len--;
    }
}

/* ---- broker callbacks ---- */

static void on_publish(struct mosquitto *m, void *arg, int mid, int reason, const mosquitto_property *props)
{
    (void)m;
    (void)props;
    struct mqtt_bridge *b = arg;
    size_t cap = b->conf.max_inflight;
    for (size_t k = 0; k < b->i_len; k++) {
        struct inflight *f = &b->infl[(b->i_head + k) % cap];
        if (f->mid != mid || f->done)
            continue;
        if (reason >= 0x80) {
            /* the broker refused it (v5 reason): reconnect and send it again from the journal */
            b->lost = true;
            snprintf(b->lost_why, sizeof b->lost_why, "event %lld refused by the broker: %s", (long long)f->id,
                     mosquitto_reason_string(reason));
            return;
        }
        f->done = true;
        break;
    }
    bool moved = false;
    while (b->i_len && b->infl[b->i_head].done) {
        b->acked_id = b->infl[b->i_head].id;
        b->i_head = (b->i_head + 1) % cap;
        b->i_len--;
        b->st.published++;
        moved = true;
    }
    if (moved && !loop_timer_armed(&b->save_timer))
        loop_timer_arm_ms(b->loop, &b->save_timer, SAVE_DELAY_MS);
}

static void subscribe_all(struct mqtt_bridge *b)
{
    char topic[300];
    if (b->conf.commands) {
        snprintf(topic, sizeof topic, "%s/cmd/+/#", b->conf.base_topic);
        mosquitto_subscribe_v5(b->mosq, NULL, topic, (int)b->conf.qos, 0, NULL);
    }
    if (b->conf.discovery) {
        /* Home Assistant announces itself here after a restart: discovery is published again */
        snprintf(topic, sizeof topic, "%s/status", b->conf.discovery_prefix);
        mosquitto_subscribe_v5(b->mosq, NULL, topic, 1, 0, NULL);
    }
}

static void on_connect(struct mosquitto *m, void *arg, int rc, int flags, const mosquitto_property *props)
{
    (void)m;
    (void)flags;
    (void)props;
    struct mqtt_bridge *b = arg;
    if (rc != 0) {
        if (b->protocol == MQTT_PROTOCOL_V5 && (rc == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION || rc == 1)) {
            /* a 3.1.1 broker: the same connection again in 3.1.1, at once */
            b->protocol = MQTT_PROTOCOL_V311;
            b->backoff_ms = 0;
        }
        b->lost = true;
        snprintf(b->lost_why, sizeof b->lost_why, "broker refused the connection: %s",
                 b->protocol == MQTT_PROTOCOL_V5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc));
        return;
    }
    loop_timer_disarm(b->loop, &b->deadline_timer);
    b->st.conn = MQTT_CONN_UP;
    b->st.protocol = b->protocol == MQTT_PROTOCOL_V5 ? 5 : 4;
    b->st.since_us = event_now_us();
    b->st.connects++;
    b->st.last_error[0] = '\0';
    b->backoff_ms = 0;
    publishf(b, "online", true, "%s/status", b->conf.base_topic);
    mqtt_publish_discovery(b);
    b->all_dirty = true;
    flush_states(b);
    subscribe_all(b);
    /* whatever was not acknowledged is sent again, from the journal */
    b->sent_id = b->acked_id;
    b->journal_mode = true;
    b->q_len = 0;
    pump(b);
}

static void on_disconnect(struct mosquitto *m, void *arg, int rc, const mosquitto_property *props)
{
    (void)m;
    (void)props;
    struct mqtt_bridge *b = arg;
    if (!b->lost) {
        b->lost = true;
        snprintf(b->lost_why, sizeof b->lost_why, "disconnected: %s",
                 rc == 0                      ? "by request"
                 : rc == MOSQ_ERR_KEEPALIVE   ? "no answer from the broker within 1.5 keepalive periods"
                 : rc == MOSQ_ERR_CONN_LOST   ? "connection lost"
                                              : mosquitto_strerror(rc));
    }
}


static void on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    (void)m;
    mqtt_handle_message(arg, msg, props);
}

/* ---- connection lifecycle ---- */

static void reconnect_cb(loop_t *loop, void *arg);

static void deadline_cb(loop_t *loop, void *arg)
{
    (void)loop;
    struct mqtt_bridge *b = arg;
    if (b->st.conn == MQTT_CONN_CONNECTING)
        teardown(b, "no answer from the broker within 10 s");
}

static void connect_now(struct mqtt_bridge *b)
{
    b->lost = false;
    b->mosq = mosquitto_new(b->conf.client_id, true, b);
    if (!b->mosq) {
        teardown(b, "out of memory");
        return;
    }
    mosquitto_int_option(b->mosq, MOSQ_OPT_PROTOCOL_VERSION, b->protocol);
    /* our own window bounds what is in flight; libmosquitto must not hold messages back behind it */
    mosquitto_int_option(b->mosq, MOSQ_OPT_SEND_MAXIMUM, 65535);
    /* small messages acknowledged one by one: Nagle's delay would hold each window for tens of ms */
    mosquitto_int_option(b->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_v5_callback_set(b->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(b->mosq, on_disconnect);
    mosquitto_publish_v5_callback_set(b->mosq, on_publish);
    mosquitto_message_v5_callback_set(b->mosq, on_message);
    if (b->conf.username[0])
        mosquitto_username_pw_set(b->mosq, b->conf.username, b->conf.password[0] ? b->conf.password : NULL);
    char will[300];
    snprintf(will, sizeof will, "%s/status", b->conf.base_topic);
    mosquitto_will_set_v5(b->mosq, will, 7, "offline", (int)b->conf.qos, true, NULL);
    int rc = MOSQ_ERR_SUCCESS;
    if (b->conf.tls)
        rc = mosquitto_tls_set(b->mosq, b->conf.tls_ca, NULL, b->conf.tls_cert[0] ? b->conf.tls_cert : NULL,
                               b->conf.tls_key[0] ? b->conf.tls_key : NULL, NULL);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_connect_bind_async(b->mosq, b->conf.host, b->conf.port, (int)b->conf.keepalive, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        char why[sizeof b->st.broker + 100];
        snprintf(why, sizeof why, "connecting to %s: %s", b->st.broker,
                 rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        teardown(b, why);
        return;
    }
    b->st.conn = MQTT_CONN_CONNECTING;
    b->st.since_us = event_now_us();
    loop_timer_arm_ms(b->loop, &b->deadline_timer, CONNECT_TIMEOUT_MS);
    loop_timer_arm_ms(b->loop, &b->misc_timer, 1000);
    update_fd(b);
}

static void reconnect_cb(loop_t *loop, void *arg)
{
    (void)loop;
    connect_now(arg);
}

/* Drop the connection (if any) and try again after the backoff. */
static void teardown(struct mqtt_bridge *b, const char *why)
{
    if (b->fd >= 0)
        loop_del_fd(b->loop, b->fd);
    b->fd = -1;
    b->fd_events = 0;
    if (b->mosq) {
        /* a new handle per connection: nothing the library queued is sent again behind our back */
        mosquitto_destroy(b->mosq);
        b->mosq = NULL;
    }
    loop_timer_disarm(b->loop, &b->misc_timer);
    loop_timer_disarm(b->loop, &b->deadline_timer);
    loop_timer_disarm(b->loop, &b->kick_timer);
    if (why && why[0])
        set_error(b, "%s", why);
    b->st.failures++;
    b->st.conn = MQTT_CONN_DOWN;
    b->st.protocol = 0;
    b->st.since_us = event_now_us();
    b->i_len = 0;
    b->i_head = 0;
    b->sent_id = b->acked_id;
    b->journal_mode = true;
    b->q_len = 0;
    b->lost = false;
    save_cursor(b);
    /* exponential backoff with jitter: 0.5 s, 1 s, 2 s ... 30 s */
    unsigned base = b->backoff_ms ? b->backoff_ms : 0;
    b->backoff_ms = base ? (base * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : base * 2) : BACKOFF_MIN_MS;
    unsigned delay = base == 0 && b->protocol == MQTT_PROTOCOL_V311 && b->st.connects == 0 ? 0 : b->backoff_ms;
    delay += delay ? (unsigned)(rand() % (int)(delay / 4 + 1)) : 0;
    loop_timer_arm_ms(b->loop, &b->reconnect_timer, delay);
}

/* ---- site events and changes ---- */

static void alarm_add(struct mqtt_bridge *b, const struct event *ev)
{
    if (b->n_alarms == ALARMS_MAX) {
        memmove(&b->alarms[0], &b->alarms[1], (ALARMS_MAX - 1) * sizeof b->alarms[0]);
        b->n_alarms--;
    }
    struct alarm *a = &b->alarms[b->n_alarms++];
    a->id = ev->id;
    a->time_us = ev->host_time_us;
    event_copy(a->device, sizeof a->device, ev->device);
    event_copy(a->door, sizeof a->door, ev->door);
    event_copy(a->text, sizeof a->text, ev->text);
    b->alarms_dirty = true;
}

/* After an operator action: acknowledgements of open alarms (by anyone: console, CLI, MQTT). */
static void alarms_check_acks(struct mqtt_bridge *b)
{
    for (size_t i = 0; i < b->n_alarms;) {
        char by[64] = "";
        int64_t at = 0;
        int st = journal_event_ack_state(b->j, b->alarms[i].id, by, sizeof by, &at);
        if (st == 0) {
            i++;
            continue;
        }
        if (st == 1 && b->st.conn == MQTT_CONN_UP) {
            char t[40], *p;
            mqtt_iso_time(at, t, sizeof t);
            json_t *o = json_pack("{s:I,s:s,s:s}", "journal_id", (json_int_t)b->alarms[i].id, "acknowledged_by", by,
                                  "time", t);
            p = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
            json_decref(o);
            char topic[300];
            snprintf(topic, sizeof topic, "%s/alarm/acknowledged", b->conf.base_topic);
            publish_owned(b, p, false, topic);
        }
        memmove(&b->alarms[i], &b->alarms[i + 1], (b->n_alarms - i - 1) * sizeof b->alarms[0]);
        b->n_alarms--;
        b->alarms_dirty = true;
    }
}

static int alarm_row(const struct event *ev, bool acked, void *arg)
{
    struct mqtt_bridge *b = arg;
    if (!acked && b->n_alarms < ALARMS_MAX) {
        /* newest first from the query: insert at the front to keep oldest first */
        memmove(&b->alarms[1], &b->alarms[0], b->n_alarms * sizeof b->alarms[0]);
        b->n_alarms++;
        struct alarm *a = &b->alarms[0];
        a->id = ev->id;
        a->time_us = ev->host_time_us;
        event_copy(a->device, sizeof a->device, ev->device);
        event_copy(a->door, sizeof a->door, ev->door);
        event_copy(a->text, sizeof a->text, ev->text);
    }
    return 0;
}

static void on_event(const struct event *ev, void *arg)
{
    struct mqtt_bridge *b = arg;
    bool live = b->st.conn == MQTT_CONN_UP && !b->journal_mode;
    if (ev->journaled && ev->id > 0) {
        if (ev->severity == EVENT_ALARM)
            alarm_add(b, ev);
        if (ev->kind == EVENT_OPERATOR && b->n_alarms)
            alarms_check_acks(b);
        if (!b->journal_mode && ev->id > b->tail_id) {
            if (ev->id != b->tail_id + 1 || b->q_len == QUEUE_MAX) {
                /* something reached the journal that did not pass here, or the queue is full: read the
                 * journal from the last event handed to the broker */
                b->journal_mode = true;
                b->q_len = 0;
            } else {
                struct event *q = grow_ring(b->queue, b->q_len, &b->q_head, &b->q_cap, sizeof *q, 64);
                if (!q) {
                    b->journal_mode = true;
                    b->q_len = 0;
                    goto side;
                }
                b->queue = q;
                b->queue[(b->q_head + b->q_len) % b->q_cap] = *ev;
                b->q_len++;
                b->tail_id = ev->id;
            }
        }
    } else if (ev->queued) {
        /* kept in memory by the journal: it goes out from the journal, in its place, once stored (on_stored) */
    } else if (b->st.conn == MQTT_CONN_UP) {
        /* lost by the journal: it cannot be replayed, so it goes out now, marked */
        char topic[300];
        snprintf(topic, sizeof topic, "%s/events", b->conf.base_topic);
        publish_owned(b, mqtt_json_event(ev), false, topic);
    }
side:
    if (live && mqtt_access_type(ev)) {
        /* the Home Assistant event entity of the door: live events only (an automation must not fire for
         * a swipe replayed after an outage; the events topic carries those) */
        struct site_output *o = site_find_output(b->site, ev->door);
        if (o) {
            char topic[300];
            snprintf(topic, sizeof topic, "%s/output/%s/access", b->conf.base_topic, b->slugs.output[o->index]);
            publish_owned(b, mqtt_json_access(ev), false, topic);
        }
    }
    if (ev->kind == EVENT_EMERGENCY)
        b->emergency_dirty = true;
    mqtt_kick(b);
}

/* An event the journal had kept in memory is stored now: read the journal from where the broker is. */
static void on_stored(uint64_t seq, int64_t id, void *arg)
{
    (void)seq;
    struct mqtt_bridge *b = arg;
    if (id > b->tail_id) {
        b->journal_mode = true;
        b->q_len = 0;
        mqtt_kick(b);
    }
}

static void on_site_change(struct site *site, int device, int output, void *arg)
{
    struct mqtt_bridge *b = arg;
    if (device >= 0 && (size_t)device < site->n_devices) {
        b->dev_dirty[device] = true;
        const struct site_device *sd = &site->devices[device];
        if (strcmp(sd->serial, b->ident[device].serial) != 0 || strcmp(sd->firmware, b->ident[device].firmware) != 0)
            b->discovery_dirty = true; /* the driver read the device's identity: Home Assistant shows it */
    }
    if (output >= 0 && (size_t)output < site->n_outputs)
        b->out_dirty[output] = true;
    b->emergency_dirty = true;
    mqtt_kick(b);
}

/* ---- life ---- */

/* The memory mqtt_bridge_new took and its hold on libmosquitto, given back (b too). */
static void bridge_release(struct mqtt_bridge *b)
{
    mqtt_slugs_free(&b->slugs);
    free(b->conf.users);
    free(b->queue);
    free(b->infl);
    free(b->out_dirty);
    free(b->dev_dirty);
    free(b->ident);
    free(b);
    mosquitto_lib_cleanup();
}

struct mqtt_bridge *mqtt_bridge_new(loop_t *loop, struct site *site, struct journal *j, const struct site_mqtt *conf,
                                    const char *state_dir, char *err, size_t errlen)
{
    struct mqtt_bridge *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    mosquitto_lib_init();
    b->loop = loop;
    b->site = site;
    b->j = j;
    b->conf = *conf;
    b->conf.users = NULL;
    b->fd = -1;
    b->protocol = MQTT_PROTOCOL_V5;
    b->sub_handle = b->stored_handle = -1;
    if (conf->n_users) {
        b->conf.users = malloc(conf->n_users * sizeof *conf->users);
        if (b->conf.users)
            memcpy(b->conf.users, conf->users, conf->n_users * sizeof *conf->users);
    }
    snprintf(b->st.broker, sizeof b->st.broker, "%s:%u", conf->host, (unsigned)conf->port);
    mqtt_slug(site->name, b->site_slug, sizeof b->site_slug);
    b->infl = calloc(conf->max_inflight ? conf->max_inflight : 1, sizeof *b->infl);
    b->out_dirty = calloc(site->n_outputs + 1, sizeof *b->out_dirty);
    b->dev_dirty = calloc(site->n_devices + 1, sizeof *b->dev_dirty);
    b->ident = calloc(site->n_devices + 1, sizeof *b->ident);
    if ((conf->n_users && !b->conf.users) || !b->infl || !b->out_dirty || !b->dev_dirty || !b->ident ||
        mqtt_slugs_build(site, &b->slugs) != 0 || b->conf.max_inflight == 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (snprintf(b->state_path, sizeof b->state_path, "%s/mqtt-%s.state", state_dir, conf->client_id) >=
        (int)sizeof b->state_path) {
        snprintf(err, errlen, "state directory path too long");
        goto fail;
    }
    if (durable_mkdirs(state_dir, 0700) != 0) {
        snprintf(err, errlen, "%s: %s", state_dir, strerror(errno));
        goto fail;
    }
    bool found;
    if (load_cursor(b, &found, err, errlen) != 0)
        goto fail;
    int64_t lo = 0, hi = 0;
    if (journal_event_id_range(j, &lo, &hi) != 0) {
        snprintf(err, errlen, "journal: %s", journal_error(j));
        goto fail;
    }
    if (!found) {
        /* first start: from the newest event on (the history stays in the journal) */
        b->acked_id = hi;
        b->saved_id = -1;
    } else if (b->acked_id > hi) {
        /* a newer cursor than the journal: the journal was replaced; everything in it is new */
        b->acked_id = 0;
        b->saved_id = -1;
    }
    if (save_cursor(b) != 0) {
        snprintf(err, errlen, "%s", b->st.last_error);
        goto fail;
    }
    b->sent_id = b->tail_id = b->acked_id;
    b->journal_mode = true;
    struct journal_query q = { .kind = -1, .min_severity = EVENT_ALARM, .limit = ALARMS_MAX };
    journal_query_events(j, &q, alarm_row, b);
    loop_timer_init(&b->misc_timer, misc_cb, b);
    loop_timer_init(&b->reconnect_timer, reconnect_cb, b);
    loop_timer_init(&b->deadline_timer, deadline_cb, b);
    loop_timer_init(&b->save_timer, save_cb, b);
    loop_timer_init(&b->kick_timer, kick_cb, b);
    b->sub_handle = event_bus_subscribe(site_events(site), on_event, b);
    b->stored_handle = b->sub_handle > 0 ? event_bus_subscribe_stored(site_events(site), on_stored, b) : -1;
    if (b->sub_handle < 0 || b->stored_handle < 0 || site_listen(site, on_site_change, b) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    connect_now(b);
    return b;
fail:
    if (b->sub_handle > 0)
        event_bus_unsubscribe(site_events(site), b->sub_handle);
    if (b->stored_handle > 0)
        event_bus_unsubscribe(site_events(site), b->stored_handle);
    bridge_release(b);
    return NULL;
}

void mqtt_bridge_free(struct mqtt_bridge *b)
{
    if (!b)
        return;
    event_bus_unsubscribe(site_events(b->site), b->sub_handle);
    event_bus_unsubscribe(site_events(b->site), b->stored_handle);
    site_unlisten(b->site, on_site_change, b);
    mqtt_cmds_detach(b);
    if (b->mosq && b->st.conn == MQTT_CONN_UP) {
        /* a clean "offline" (the will is for crashes), then a polite disconnect, briefly flushed */
        publishf(b, "offline", true, "%s/status", b->conf.base_topic);
        mosquitto_disconnect_v5(b->mosq, 0, NULL);
        uint64_t until = loop_mono_us() + 200000;
        while (b->mosq && mosquitto_want_write(b->mosq) && loop_mono_us() < until)
            if (mosquitto_loop_write(b->mosq, 16) != MOSQ_ERR_SUCCESS)
                break;
    }
    if (b->fd >= 0)
        loop_del_fd(b->loop, b->fd);
    if (b->mosq)
        mosquitto_destroy(b->mosq);
    loop_timer_disarm(b->loop, &b->misc_timer);
    loop_timer_disarm(b->loop, &b->reconnect_timer);
    loop_timer_disarm(b->loop, &b->deadline_timer);
    loop_timer_disarm(b->loop, &b->save_timer);
    loop_timer_disarm(b->loop, &b->kick_timer);
    save_cursor(b);
    bridge_release(b);
}

void mqtt_bridge_status(const struct mqtt_bridge *b, struct mqtt_status *st)
{
    *st = b->st;
    st->acked_id = b->acked_id;
    st->sent_id = b->sent_id;
    st->inflight = (unsigned)b->i_len;
    st->catching_up = b->journal_mode;
    int64_t lo = 0, hi = 0;
    if (journal_event_id_range(b->j, &lo, &hi) == 0)
        st->journal_id = hi;
    st->backlog = st->journal_id > b->acked_id ? st->journal_id - b->acked_id : 0;
}

json_t *mqtt_status_json(const struct mqtt_status *st)
{
    return json_pack("{s:s,s:s,s:i,s:I,s:I,s:I,s:I,s:I,s:i,s:b,s:I,s:I,s:I,s:I,s:I,s:s}", "connection",
                     mqtt_conn_name(st->conn), "broker", st->broker, "protocol", st->protocol, "since_us",
                     (json_int_t)st->since_us, "acked_id", (json_int_t)st->acked_id, "sent_id", (json_int_t)st->sent_id,
                     "journal_id", (json_int_t)st->journal_id, "backlog", (json_int_t)st->backlog, "inflight",
                     (int)st->inflight, "catching_up", st->catching_up, "published", (json_int_t)st->published,
                     "connects", (json_int_t)st->connects, "failures", (json_int_t)st->failures, "commands",
                     (json_int_t)st->commands, "refused", (json_int_t)st->refused, "last_error", st->last_error);
}
