/* device: attaching drivers to the site, and the driver → site reporting callbacks. */
#include "core/device.h"

#include "core/journal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/devlock.h"

const struct device_ops *device_ops_find(const struct device_ops *const *table, const char *kind)
{
    for (size_t i = 0; table && table[i]; i++)
        if (kind && strcmp(table[i]->kind, kind) == 0)
            return table[i];
    return NULL;
}

/* What identifies a device to the world: its panel's address, its bus's port. */
static void device_identity(const struct site_device *sd, char *buf, size_t len)
{
    if (sd->panel)
        snprintf(buf, len, "%s %s:%u", sd->kind, sd->panel->host, (unsigned)sd->panel->port);
    else if (sd->bus)
        snprintf(buf, len, "%s %s", sd->kind, sd->bus->port);
    else
        snprintf(buf, len, "%s %s", sd->kind, sd->name);
}

int device_attach_all(struct site *site, const struct device_ops *const *table, char *err, size_t errlen)
{
    for (size_t i = 0; i < site->n_devices; i++) {
        struct site_device *sd = &site->devices[i];
        if (sd->drv)
            continue;
        /* One owner per device: a panel serves one client, a bus has one master. */
        if (!sd->owner_lock) {
            char id[320], why[512];
            device_identity(sd, id, sizeof id);
            if (devlock_owner(id, &sd->owner_lock, why, sizeof why) < 0) {
                char who[64] = "";
                pid_t pid = devlock_owner_of(id, who, sizeof who);
                snprintf(err, errlen, "%s: %s%s", sd->name, why,
                         pid && strcmp(who, "portierd") == 0
                             ? "; it serves this site: use it (portier and portierctl connect to it by themselves)"
                             : "");
                return -1;
            }
        }
        const struct device_ops *ops = device_ops_find(table, sd->kind);
        if (!ops) {
            snprintf(sd->link_detail, sizeof sd->link_detail, "no driver for kind %s", sd->kind);
            sd->link = LINK_DOWN;
            continue;
        }
        struct device *dev = calloc(1, sizeof *dev);
        if (!dev) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        dev->ops = ops;
        dev->site = site;
        dev->index = i;
        dev->loop = site->loop;
        char e[256] = "";
        if (ops->init && ops->init(dev, e, sizeof e) != 0) {
            snprintf(err, errlen, "%s: %s", sd->name, e[0] ? e : "driver init failed");
            free(dev);
            return -1;
        }
        sd->drv = dev;
    }
    return 0;
}

void device_start_all(struct site *site)
{
    for (size_t i = 0; i < site->n_devices; i++) {
        struct device *dev = site->devices[i].drv;
        if (dev && dev->ops->start)
            dev->ops->start(dev);
    }
}

void device_detach_all(struct site *site)
{
    for (size_t i = 0; i < site->n_devices; i++) {
        struct device *dev = site->devices[i].drv;
        if (!dev)
            continue;
        if (dev->ops->stop)
            dev->ops->stop(dev);
        if (dev->ops->destroy)
            dev->ops->destroy(dev);
        free(dev);
        site->devices[i].drv = NULL;
    }
    for (size_t i = 0; i < site->n_devices; i++) {
        devlock_release(site->devices[i].owner_lock);
        site->devices[i].owner_lock = NULL;
    }
}

const char *device_op_name(enum device_op op)
{
    static const char *const names[DEVICE_OP_COUNT] = {
        "open", "close", "hold-open", "release", "normal-open-on", "normal-open-off", "aux-on", "aux-off",
        "cancel-alarm", "lockout-on", "lockout-off", "timed-open", "emergency-on", "emergency-off",
        "slave-set",
        "slave-file-put", "slave-file-delete", "slave-provision", "panel-data",
    };
    return (unsigned)op < DEVICE_OP_COUNT ? names[op] : "?";
}

const char *device_result_name(enum device_result result)
{
    switch (result) {
    case DEVICE_RESULT_OK: return "ok";
    case DEVICE_RESULT_FAILED: return "failed";
    case DEVICE_RESULT_UNSUPPORTED: return "unsupported";
    case DEVICE_RESULT_OFFLINE: return "offline";
    case DEVICE_RESULT_TIMEOUT: return "timeout";
    }
    return "?";
}

/* Fill what every event of this device carries: device name, address, door name from the number. */
static void fill_event(struct device *dev, struct event *ev)
{
    struct site *site = dev->site;
    struct site_device *sd = &site->devices[dev->index];
    if (!ev->device[0])
        event_copy(ev->device, sizeof ev->device, sd->name);
    if (!ev->addr[0] && sd->panel)
        event_copy(ev->addr, sizeof ev->addr, sd->panel->host);
    if (!ev->door[0] && ev->door_no > 0 && (ev->kind == EVENT_ACCESS || ev->kind == EVENT_DOOR)) {
        /* C3: door_no names a door, except aux events (12/13 open/close aux, 220/221 aux input). */
        enum output_type t = (ev->code == 12 || ev->code == 13) ? OUTPUT_AUX : OUTPUT_DOOR;
        size_t o = device_output_index(dev, t, ev->door_no, 0);
        if (o != SIZE_MAX)
            event_copy(ev->door, sizeof ev->door, site->outputs[o].name);
    }
    sd->events++;
}

void device_report_event(struct device *dev, struct event *ev)
{
    fill_event(dev, ev);
    event_publish(site_events(dev->site), ev);
}

void device_report_events(struct device *dev, struct event *evs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fill_event(dev, &evs[i]);
    event_publish_many(site_events(dev->site), evs, n);
}

void device_report_link(struct device *dev, enum link_state link, const char *detail)
{
    struct site *site = dev->site;
    struct site_device *sd = &site->devices[dev->index];
    enum link_state old = sd->link;
    if (detail)
        event_copy(sd->link_detail, sizeof sd->link_detail, detail);
    if (old == link)
        return;
    int64_t now = event_now_us();
    sd->link = link;
    sd->link_since_us = now;
    if (old == LINK_UP && link != LINK_UP && link != LINK_STALE)
        sd->lost_since_us = now;
    if (old == LINK_UP && link == LINK_STALE)
        sd->lost_since_us = now;

    struct event ev;
    enum event_severity sev = link == LINK_UP ? EVENT_NORMAL : link == LINK_CONNECTING ? EVENT_NORMAL
                                                                                        : EVENT_WARNING;
    /* Connecting attempts are not worth a journal row each (backoff would flood it). */
    if (link != LINK_CONNECTING) {
        event_init(&ev, EVENT_LINK, sev);
        event_copy(ev.device, sizeof ev.device, sd->name);
        event_set_text(&ev, "link %s%s%s", site_link_name(link), sd->link_detail[0] ? ": " : "",
                       sd->link_detail);
        ev.code = (int)link;
        event_copy(ev.code_name, sizeof ev.code_name, site_link_name(link));
        event_publish(site_events(site), &ev);
    }
    if (link == LINK_UP && sd->was_up && sd->lost_since_us && !dev->own_gaps) {
        char from[32], to[32];
        event_format_time(sd->lost_since_us, from, sizeof from);
        event_format_time(now, to, sizeof to);
        /* Only what is known: a driver that reads the time back says so (and reports what it cannot read); of
         * any other device nothing is known, which is not the same as events having been missed. */
        event_init(&ev, EVENT_GAP, dev->gap_read_back ? EVENT_NORMAL : EVENT_WARNING);
        event_copy(ev.device, sizeof ev.device, sd->name);
        if (dev->gap_read_back)
            event_set_text(&ev, "link was lost %s – %s: %s", from, to, dev->gap_read_back);
        else
            event_set_text(&ev, "link was lost %s – %s: nothing is known of events of that time (this device "
                                "keeps no record portier can read back)", from, to);
        event_publish(site_events(site), &ev);
        sd->lost_since_us = 0;
    }
    if (link == LINK_UP)
        sd->was_up = true;
    /* Outputs of a device that is not up are stale. */
    for (size_t i = 0; i < site->n_outputs; i++) {
        if (site->outputs[i].device == dev->index) {
            bool stale = link != LINK_UP;
            if (site->outputs[i].state.stale != stale) {
                site->outputs[i].state.stale = stale;
                site_changed(site, -1, (int)i);
            }
        }
    }
    site_changed(site, (int)dev->index, -1);
}

void device_report_emergency(struct device *dev, enum site_em_state state)
{
    struct site *site = dev->site;
    struct site_device *sd = &site->devices[dev->index];
    if (sd->emergency == state)
        return;
    sd->emergency = state;
    if (state != SITE_EM_NONE && !site->emergency_active) {
        site->emergency_active = true;
        site->emergency_resumed = true; /* an emergency action of this process sets emergency_active first */
        if (!site->emergency_since_us)
            site->emergency_since_us = event_now_us();
    }
    site_changed(site, (int)dev->index, -1);
}

void device_report_output(struct device *dev, size_t output, const struct output_state *state)
{
    struct site *site = dev->site;
    if (output >= site->n_outputs || site->outputs[output].device != dev->index)
        return;
    struct site_output *o = &site->outputs[output];
    const struct output_state *a = &o->state;
    if (a->sensor == state->sensor && a->locked == state->locked && a->held_open == state->held_open &&
        a->normal_open == state->normal_open && a->alarm == state->alarm &&
        a->open_timeout == state->open_timeout && a->stale == state->stale &&
        a->locked_out == state->locked_out && a->emergency == state->emergency &&
        a->open_until_us == state->open_until_us)
        return;
    o->state = *state;
    o->changed_us = event_now_us();
    site_changed(site, -1, (int)output);
}

size_t device_output_index(const struct device *dev, enum output_type type, int number, size_t slave)
{
    const struct site *site = dev->site;
    for (size_t i = 0; i < site->n_outputs; i++) {
        const struct site_output *o = &site->outputs[i];
        if (o->device == dev->index && o->type == type && o->number == number &&
            (type != OUTPUT_PROBE || o->slave == slave))
            return i;
    }
    return SIZE_MAX;
}

/* ---- catch-up ---- */

bool device_sync_available(const struct device *dev) { return dev->site->journal_db != NULL; }

struct pending_ctx {
    device_pending_fn fn;
    void *arg;
};

static int pending_one(const struct event *ev, bool acked, void *arg)
{
    (void)acked;
    struct pending_ctx *c = arg;
    c->fn(ev, c->arg);
    return 0;
}

int device_sync_load(struct device *dev, char *cursor, size_t len, int64_t *last_us, device_pending_fn fn, void *arg)
{
    struct journal *j = dev->site->journal_db;
    const char *name = dev->site->devices[dev->index].name;
    int64_t event_id = 0;
    *last_us = 0;
    if (len)
        cursor[0] = '\0';
    if (!j)
        return -1;
    int found = journal_sync_get(j, name, cursor, len, &event_id, last_us);
    if (found < 0)
        return -1;
    struct pending_ctx c = { fn, arg };
    if (found && fn && journal_sync_pending(j, name, event_id, pending_one, &c) < 0)
        return -1;
    return found;
}

bool device_journal_storing(struct device *dev)
{
    struct journal *j = dev->site->journal_db;
    if (!j)
        return false;
    struct journal_health h;
    journal_health(j, &h);
    return h.state == JOURNAL_OK && h.kept_events == 0;
}

bool device_events_stored(struct device *dev, uint64_t seq)
{
    uint64_t from = event_bus_unstored_from(site_events(dev->site));
    return from == 0 || from > seq;
}

int device_sync_save(struct device *dev, const char *cursor, size_t pending)
{
    struct journal *j = dev->site->journal_db;
    if (!j)
        return -1;
    event_bus_flush(site_events(dev->site));
    return journal_sync_put(j, dev->site->devices[dev->index].name, cursor, pending);
}

int device_sync_save_next(struct device *dev, const char *cursor, size_t pending)
{
    struct journal *j = dev->site->journal_db;
    if (!j)
        return -1;
    return journal_sync_put_next(j, dev->site->devices[dev->index].name, cursor, pending);
}

struct device_raw_call *device_raw_call_new(device_raw_fn cb, void *ctx, char *err, size_t errlen)
{
    struct device_raw_call *r = malloc(sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->cb = cb;
    r->ctx = ctx;
    return r;
}
