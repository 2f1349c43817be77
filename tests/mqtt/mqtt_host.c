/* mqtt_host: a minimal owner of a site for the MQTT tests and benchmark, as portierd hosts the bridge: the
 * configuration, the drivers, the journal (batched), and the MQTT bridge on one loop. It writes the bridge's
 * status as one JSON line to --status FILE (atomically, every 200 ms) and stops on SIGTERM/SIGINT.
 * usage: mqtt_host -c CONFIG --state-dir DIR [--status FILE] */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/site_config.h"
#include "core/device.h"
#include "core/journal.h"
#include "daemon/mqtt.h"
#include "drivers/drivers.h"

struct host {
    loop_t *loop;
    struct mqtt_bridge *bridge;
    const char *status_path;
    loop_timer_t status_timer;
};

static void write_status(struct host *h)
{
    struct mqtt_status st;
    mqtt_bridge_status(h->bridge, &st);
    json_t *o = json_pack("{s:s,s:s,s:i,s:I,s:I,s:I,s:I,s:i,s:b,s:I,s:I,s:I,s:I,s:I,s:s}", "connection",
                          mqtt_conn_name(st.conn), "broker", st.broker, "protocol", st.protocol, "acked_id",
                          (json_int_t)st.acked_id, "sent_id", (json_int_t)st.sent_id, "journal_id",
                          (json_int_t)st.journal_id, "backlog", (json_int_t)st.backlog, "inflight", (int)st.inflight,
                          "catching_up", st.catching_up, "published", (json_int_t)st.published, "connects",
                          (json_int_t)st.connects, "failures", (json_int_t)st.failures, "commands",
                          (json_int_t)st.commands, "refused", (json_int_t)st.refused, "last_error", st.last_error);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", h->status_path);
    FILE *f = text ? fopen(tmp, "w") : NULL;
    if (f) {
        fprintf(f, "%s\n", text);
        fclose(f);
        rename(tmp, h->status_path);
    }
    free(text);
}

static void status_cb(loop_t *loop, void *arg)
{
    struct host *h = arg;
    write_status(h);
    loop_timer_arm_ms(loop, &h->status_timer, 200);
}

static void on_signal(loop_t *loop, int signo, void *arg)
{
    (void)signo;
    (void)arg;
    loop_stop(loop);
}

int main(int argc, char **argv)
{
    const char *config = NULL, *state_dir = NULL;
    struct host h = { 0 };
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-c") == 0)
            config = argv[i + 1];
        else if (strcmp(argv[i], "--state-dir") == 0)
            state_dir = argv[i + 1];
        else if (strcmp(argv[i], "--status") == 0)
            h.status_path = argv[i + 1];
    }
    if (!config || !state_dir) {
        fprintf(stderr, "usage: mqtt_host -c CONFIG --state-dir DIR [--status FILE]\n");
        return 2;
    }
    struct config_diags d;
    struct site *site = site_config_load(config, &d);
    config_diags_print(&d, stderr);
    config_diags_free(&d);
    if (!site)
        return 2;
    if (!site->mqtt.enabled) {
        fprintf(stderr, "mqtt_host: the configuration has no mqtt group\n");
        return 2;
    }
    h.loop = loop_new();
    site->loop = h.loop;
    char err[512];
    char jpath[SITE_PATH_MAX + 16];
    if (site->journal.path[0])
        snprintf(jpath, sizeof jpath, "%s", site->journal.path);
    else
        snprintf(jpath, sizeof jpath, "%s/journal.db", state_dir);
    struct journal_opts jo = { .path = jpath, .retention_days = site->journal.retention_days,
                               .retention_rows = site->journal.retention_rows };
    struct journal *j = journal_open(&jo, err, sizeof err);
    if (!j) {
        fprintf(stderr, "mqtt_host: journal: %s\n", err);
        return 1;
    }
    site->journal_db = j;
    event_bus_set_journal(site_events(site), journal_commit_hook, j);
    event_bus_set_batching(site_events(site), h.loop, journal_batch_begin, journal_batch_end, j, 512);
    if (device_attach_all(site, drivers_registry, err, sizeof err) != 0) {
        fprintf(stderr, "mqtt_host: %s\n", err);
        return 1;
    }
    h.bridge = mqtt_bridge_new(h.loop, site, j, &site->mqtt, state_dir, err, sizeof err);
    if (!h.bridge) {
        fprintf(stderr, "mqtt_host: mqtt: %s\n", err);
        return 1;
    }
    loop_add_signal(h.loop, SIGTERM, on_signal, NULL);
    loop_add_signal(h.loop, SIGINT, on_signal, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (h.status_path) {
        loop_timer_init(&h.status_timer, status_cb, &h);
        loop_timer_arm_ms(h.loop, &h.status_timer, 0);
    }
    device_start_all(site);
    fprintf(stderr, "mqtt_host: running\n");
    loop_run(h.loop);
    device_detach_all(site);
    for (int i = 0; i < 5; i++)
        loop_run_once(h.loop, 0);
    event_bus_flush(site_events(site));
    if (h.status_path)
        write_status(&h);
    mqtt_bridge_free(h.bridge);
    if (h.status_path)
        loop_timer_disarm(h.loop, &h.status_timer);
    journal_close(j);
    site->journal_db = NULL;
    site_free(site);
    loop_free(h.loop);
    return 0;
}
