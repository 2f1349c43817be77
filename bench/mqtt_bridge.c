/* bench mqtt_bridge: the MQTT bridge to a local mosquitto with QoS 1, on the same journal (batched, as the
 * owner runs it) in one run:
 *   throughput: N events offered at once; events/s until the broker acknowledged all of them (and a consumer
 *               received them), against the journal alone (events/s committed and delivered on the bus) in
 *               the same run;
 *   latency:    events offered at RATE/s; per event, the time from publication on the site's event bus to
 *               in-process delivery (the direct subscriber: what the owner's own client stream starts from)
 *               and to reception by an MQTT consumer; the added latency is the difference (median, p99).
 * The consumer is a separate libmosquitto client on its own thread (the bridge itself has none).
 * usage: mqtt_bridge PORT [N] [RATE] [WINDOW]    (bench/mqtt_bridge.sh starts the broker) */
#include <jansson.h>
#include <mosquitto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/site_config.h"
#include "core/journal.h"
#include "daemon/mqtt.h"

#define MAX_EVENTS 200000

static uint64_t *t_pub, *t_direct;
static _Atomic uint64_t *t_mqtt;
static _Atomic long received;
static int64_t base_id;
static long direct_count;

static void on_direct(const struct event *ev, void *arg)
{
    (void)arg;
    int64_t k = ev->id - base_id;
    if (k >= 0 && k < MAX_EVENTS)
        t_direct[k] = loop_mono_us();
    direct_count++;
}

static void on_consumer(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
    (void)m;
    (void)arg;
    uint64_t now = loop_mono_us();
    json_t *o = json_loadb(msg->payload, (size_t)msg->payloadlen, 0, NULL);
    json_int_t id = o ? json_integer_value(json_object_get(o, "journal_id")) : 0;
    json_decref(o);
    int64_t k = id - base_id;
    if (k >= 0 && k < MAX_EVENTS && atomic_load(&t_mqtt[k]) == 0) {
        atomic_store(&t_mqtt[k], now);
        atomic_fetch_add(&received, 1);
    }
}

static void offer(struct site *site, long i)
{
    struct event ev;
    event_init(&ev, EVENT_ACCESS, EVENT_NORMAL);
    event_copy(ev.device, sizeof ev.device, "Bench panel");
    event_copy(ev.door, sizeof ev.door, "Bench door");
    ev.code = 0;
    ev.card = (uint32_t)(100000 + i);
    event_set_text(&ev, "normal punch open (card) card %ld", 100000 + i);
    event_publish(site_events(site), &ev);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t newest_id(struct journal *j)
{
    int64_t lo = 0, hi = 0;
    journal_event_id_range(j, &lo, &hi);
    return hi;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mqtt_bridge PORT [N] [RATE]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    long n = argc > 2 ? atol(argv[2]) : 20000, rate = argc > 3 ? atol(argv[3]) : 1000;
    long window = argc > 4 ? atol(argv[4]) : 64;
    if (n > MAX_EVENTS / 2)
        n = MAX_EVENTS / 2;
    char dir[] = "/tmp/portier-bench-mqtt.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char text[1024];
    snprintf(text, sizeof text,
             "site = { name = \"Bench\"; };\nmqtt = { host = \"127.0.0.1\"; port = %d; base_topic = \"bench\";"
             " discovery = false; max_inflight = %ld; };\n", port, window);
    struct config_diags d;
    struct site *site = site_config_load_string(text, "bench.conf", &d);
    config_diags_free(&d);
    if (!site)
        return 1;
    loop_t *loop = loop_new();
    site->loop = loop;
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/journal.db", dir);
    struct journal_opts jo = { .path = path };
    struct journal *j = journal_open(&jo, err, sizeof err);
    if (!j) {
        fprintf(stderr, "journal: %s\n", err);
        return 1;
    }
    site->journal_db = j;
    event_bus_set_batching(site_events(site), loop, 512);
    journal_attach(j, site_events(site));
    event_bus_subscribe(site_events(site), on_direct, NULL);
    t_pub = calloc(MAX_EVENTS, sizeof *t_pub);
    t_direct = calloc(MAX_EVENTS, sizeof *t_direct);
    t_mqtt = calloc(MAX_EVENTS, sizeof *t_mqtt);

    /* baseline: the journal alone (commit + in-process delivery), no bridge */
    base_id = newest_id(j) + 1;
    uint64_t t0 = loop_mono_us();
    for (long i = 0; i < n; i++)
        offer(site, i);
    while (direct_count < n)
        loop_run_once(loop, 10);
    double journal_rate = n / ((loop_mono_us() - t0) / 1e6);

    /* the consumer */
    mosquitto_lib_init();
    struct mosquitto *sub = mosquitto_new("bench-consumer", true, NULL);
    mosquitto_message_callback_set(sub, on_consumer);
    if (mosquitto_connect(sub, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS ||
        mosquitto_subscribe(sub, NULL, "bench/events", 1) != MOSQ_ERR_SUCCESS || mosquitto_loop_start(sub) != 0) {
        fprintf(stderr, "consumer cannot connect to 127.0.0.1:%d\n", port);
        return 1;
    }
    struct mqtt_bridge *b = mqtt_bridge_new(loop, site, j, &site->mqtt, dir, err, sizeof err);
    if (!b) {
        fprintf(stderr, "bridge: %s\n", err);
        return 1;
    }
    struct mqtt_status st;
    uint64_t deadline = loop_mono_us() + 10000000;
    do {
        loop_run_once(loop, 10);
        mqtt_bridge_status(b, &st);
    } while (st.conn != MQTT_CONN_UP && loop_mono_us() < deadline);
    if (st.conn != MQTT_CONN_UP) {
        fprintf(stderr, "bridge not connected: %s\n", st.last_error);
        return 1;
    }
    usleep(200000); /* the consumer's subscription is in place */

    /* throughput through the bridge */
    base_id = newest_id(j) + 1;
    atomic_store(&received, 0);
    uint64_t published0 = st.published;
    t0 = loop_mono_us();
    for (long i = 0; i < n; i++)
        offer(site, i);
    deadline = loop_mono_us() + 120000000;
    do {
        loop_run_once(loop, 10);
        mqtt_bridge_status(b, &st);
    } while ((st.published - published0 < (uint64_t)n || atomic_load(&received) < n) && loop_mono_us() < deadline);
    double mqtt_rate = (st.published - published0) / ((loop_mono_us() - t0) / 1e6);
    long got = atomic_load(&received);

    /* latency at a fixed rate */
    long m = rate * 5;
    base_id = newest_id(j) + 1;
    atomic_store(&received, 0);
    for (long i = 0; i < m && i < MAX_EVENTS; i++)
        atomic_store(&t_mqtt[i], 0);
    memset(t_direct, 0, MAX_EVENTS * sizeof *t_direct);
    t0 = loop_mono_us();
    for (long i = 0; i < m; i++) {
        uint64_t due = t0 + (uint64_t)(i * 1000000 / rate);
        while (loop_mono_us() < due)
            loop_run_once(loop, (int)((due - loop_mono_us()) / 1000));
        t_pub[i] = loop_mono_us();
        offer(site, n + i);
    }
    deadline = loop_mono_us() + 30000000;
    while (atomic_load(&received) < m && loop_mono_us() < deadline)
        loop_run_once(loop, 10);
    uint64_t *direct = calloc((size_t)m, sizeof *direct), *added = calloc((size_t)m, sizeof *added),
             *total = calloc((size_t)m, sizeof *total);
    size_t k = 0;
    for (long i = 0; i < m; i++) {
        uint64_t tm = atomic_load(&t_mqtt[i]);
        if (!t_direct[i] || !tm)
            continue;
        direct[k] = t_direct[i] - t_pub[i];
        added[k] = tm > t_direct[i] ? tm - t_direct[i] : 0;
        total[k] = tm - t_pub[i];
        k++;
    }
    qsort(direct, k, sizeof *direct, cmp_u64);
    qsort(added, k, sizeof *added, cmp_u64);
    qsort(total, k, sizeof *total, cmp_u64);
    printf("throughput: %ld events offered at once, QoS 1, window %ld\n", n, window);
    printf("  journal alone (commit + in-process delivery): %.0f events/s\n", journal_rate);
    printf("  through the bridge, acknowledged by the broker: %.0f events/s (%.2f x the journal alone); consumer "
           "received %ld/%ld\n", mqtt_rate, mqtt_rate / journal_rate, got, n);
    if (k) {
        printf("latency at %ld events/s for 5 s (%zu of %ld measured), baseline = direct in-process delivery\n", rate,
               k, m);
        printf("  publish -> direct delivery (journal commit): median %.2f ms, p99 %.2f ms\n", direct[k / 2] / 1e3,
               direct[k * 99 / 100] / 1e3);
        printf("  publish -> MQTT consumer:                     median %.2f ms, p99 %.2f ms\n", total[k / 2] / 1e3,
               total[k * 99 / 100] / 1e3);
        printf("  added by the bridge and the broker:           median %.2f ms, p99 %.2f ms (%.2f x / %.2f x the "
               "direct delivery)\n", added[k / 2] / 1e3, added[k * 99 / 100] / 1e3,
               direct[k / 2] ? (double)total[k / 2] / direct[k / 2] : 0.0,
               direct[k * 99 / 100] ? (double)total[k * 99 / 100] / direct[k * 99 / 100] : 0.0);
    }
    mqtt_bridge_free(b);
    mosquitto_loop_stop(sub, true);
    mosquitto_destroy(sub);
    mosquitto_lib_cleanup();
    journal_close(j);
    site->journal_db = NULL;
    site_free(site);
    loop_free(loop);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(direct);
    free(added);
    free(total);
    return k ? 0 : 1;
}
