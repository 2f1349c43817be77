/* ctl_c3_daemon: `portierctl c3 HOST events` against a panel portierd owns: the daemon is the one reading the panel's
 * event ring (a second reader would take events from the journal), so the command follows the daemon's stream of
 * that panel's events and prints them as it prints the panel's own records. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/ctl_c3.h"
#include "cli/ctl_site.h"
#include "drivers/c3/c3_rtlog.h"
#include "drivers/c3/c3_time.h"

struct ev_out {
    bool json;
};

/* A journal event of a C3 panel back into the record it came from: the panel's time (its local clock, kept as
 * seconds read as UTC), door, type, card, PIN, verify mode, direction, and the record number kept in its key. */
static void print_panel_event(const struct event *ev, void *arg)
{
    const struct ev_out *o = arg;
    if (ev->kind != EVENT_ACCESS || ev->code < 0 || ev->code > 254)
        return; /* link, gap and operator rows are the daemon's, not the panel's records */
    struct c3_rt_event e = { .card = ev->card, .pin = ev->pin, .verify = (uint8_t)(ev->verify < 0 ? 0 : ev->verify),
                             .door = (uint8_t)ev->door_no, .type = (uint8_t)ev->code,
                             .inout = (uint8_t)(ev->inout < 0 ? 2 : ev->inout), .index = -1 };
    int64_t record;
    if (event_key_record(ev->key, &record))
        e.index = record;
    time_t t = (time_t)ev->device_time;
    struct tm tm;
    uint32_t packed = 0;
    if (!gmtime_r(&t, &tm) || c3_time_from_tm(&tm, &packed) < 0)
        packed = 0;
    ctl_c3_print_rt_event(o->json, packed, &e);
}

int ctl_c3_events_via_daemon(struct ctl_call *call, struct ctl_daemon_device *dp)
{
    char sock[4096], device[256];
    snprintf(sock, sizeof sock, "%s", ctl_daemon_device_socket(dp));
    snprintf(device, sizeof device, "%s", ctl_daemon_panel_name(dp));
    unsigned poll_ms = 1000;
    const struct site *m = ctl_daemon_device_site(dp);
    for (size_t i = 0; m && i < m->n_devices; i++)
        if (m->devices[i].panel && strcmp(m->devices[i].name, device) == 0)
            poll_ms = m->devices[i].panel->poll_ms;
    struct ev_out o = { .json = call->g.json };
    /* Without --follow the panel's queued records are read once: through the daemon, what its polling brings
     * within two poll rounds. */
    struct ctl_follow f = { .device = device, .print = print_panel_event, .arg = &o,
                            .count = (long)ctl_num(call, "count", 0),
                            .for_ms = ctl_has(call, "follow") ? 0 : 2 * (poll_ms < 500 ? 500 : poll_ms), .quiet = true };
    if (call->g.verbose)
        fprintf(stderr, "portierctl c3: %s is %s of portierd: its events as the daemon reads them\n", call->target,
                device);
    return ctl_daemon_follow(call, sock, &f);
}
