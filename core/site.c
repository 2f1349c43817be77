/* site: the building model, its derived devices and outputs, and name lookup. */
#include "core/site.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/grow.h"

struct site *site_new(void)
{
    struct site *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->default_role = ROLE_GUARD;
    s->emergency.all_doors = true;
    s->emergency.confirm = SITE_CONFIRM_DOUBLE;
    s->emergency.double_ms = 2000;
    snprintf(s->emergency.word, sizeof s->emergency.word, "EMERGENCY");
    s->emergency.restore = SITE_RESTORE_PREVIOUS;
    s->journal.retention_days = 365;
    s->journal.retention_rows = 1000000;
    s->journal.queue_events = 4096;
    s->ui.colours = true;
    s->ui.bell = SITE_BELL_ALARM;
    return s;
}

void site_free(struct site *site)
{
    if (!site)
        return;
    for (size_t i = 0; i < site->n_buses; i++)
        free(site->buses[i].slaves);
    free(site->buses);
    free(site->panels);
    free(site->roles);
    free(site->emergency.doors);
    free(site->ui.keys);
    free(site->mqtt.users);
    free(site->listeners);
    free(site->devices);
    free(site->outputs);
    event_bus_free(site->events);
    free(site);
}

static struct site_output *add_output(struct site *site, size_t *cap)
{
    struct site_output *grown = grow_array(site->outputs, site->n_outputs, cap, sizeof *grown, 16);
    if (!grown)
        return NULL;
    site->outputs = grown;
    struct site_output *o = &site->outputs[site->n_outputs];
    memset(o, 0, sizeof *o);
    o->index = site->n_outputs++;
    o->state.locked = true;
    o->state.stale = true; /* nothing known until the device reports */
    return o;
}

int site_build(struct site *site)
{
    free(site->devices);
    free(site->outputs);
    site->devices = NULL;
    site->outputs = NULL;
    site->n_devices = site->n_outputs = 0;
    size_t ndev = site->n_panels + site->n_buses;
    if (ndev) {
        site->devices = calloc(ndev, sizeof *site->devices);
        if (!site->devices)
            return -1;
    }
    size_t cap = 0;
    for (size_t p = 0; p < site->n_panels; p++) {
        const struct site_panel *pan = &site->panels[p];
        struct site_device *d = &site->devices[site->n_devices];
        d->index = site->n_devices++;
        snprintf(d->name, sizeof d->name, "%s", pan->name);
        d->kind = "c3";
        d->panel = pan;
        for (unsigned i = 1; i <= pan->doors && i <= SITE_C3_MAX_DOORS; i++) {
            struct site_output *o = add_output(site, &cap);
            if (!o)
                return -1;
            o->type = OUTPUT_DOOR;
            o->device = d->index;
            o->number = (int)i;
            if (pan->door_names[i - 1][0])
                snprintf(o->name, sizeof o->name, "%s", pan->door_names[i - 1]);
            else
                snprintf(o->name, sizeof o->name, "%.50s door %u", pan->name, i);
        }
        for (unsigned i = 1; i <= pan->aux_count && i <= SITE_C3_MAX_DOORS; i++) {
            struct site_output *o = add_output(site, &cap);
            if (!o)
                return -1;
            o->type = OUTPUT_AUX;
            o->device = d->index;
            o->number = (int)i;
            if (pan->aux_names[i - 1][0])
                snprintf(o->name, sizeof o->name, "%s", pan->aux_names[i - 1]);
            else
                snprintf(o->name, sizeof o->name, "%.50s aux %u", pan->name, i);
        }
    }
    for (size_t b = 0; b < site->n_buses; b++) {
        const struct site_bus *bus = &site->buses[b];
        struct site_device *d = &site->devices[site->n_devices];
        d->index = site->n_devices++;
        snprintf(d->name, sizeof d->name, "%s", bus->name);
        d->kind = "nix1";
        d->bus = bus;
        for (size_t s = 0; s < bus->n_slaves; s++) {
            for (int p = 0; p < SITE_NIX1_PROBES; p++) {
                if (!bus->slaves[s].probe_doors[p][0])
                    continue;
                struct site_output *o = add_output(site, &cap);
                if (!o)
                    return -1;
                o->type = OUTPUT_PROBE;
                o->device = d->index;
                o->number = p + 1;
                o->slave = s;
                snprintf(o->name, sizeof o->name, "%s", bus->slaves[s].probe_doors[p]);
            }
        }
    }
    return 0;
}

struct site_device *site_find_device(struct site *site, const char *name)
{
    for (size_t i = 0; name && i < site->n_devices; i++)
        if (strcasecmp(site->devices[i].name, name) == 0)
            return &site->devices[i];
    return NULL;
}

/* The rows of the journal that come from no configured device, by the names they carry. */
static const char *const journal_devices[] = { "operator", "portierd", "journal", "mqtt", NULL };

/* "door \"X\": no such door (doors: A, B, C, ...)": up to 6 names, then how many more. */
static void names_of(const char *what, const char *name, const char *const *names, size_t n, char *why,
                     size_t whylen)
{
    size_t at = (size_t)snprintf(why, whylen, "no %s \"%s\" in the configuration (%ss:", what, name, what);
    for (size_t i = 0; i < n && i < 6 && at < whylen; i++)
        at += (size_t)snprintf(why + at, whylen - at, "%s %s", i ? "," : "", names[i]);
    if (n > 6 && at < whylen)
        at += (size_t)snprintf(why + at, whylen - at, " and %zu more", n - 6);
    if (at < whylen)
        snprintf(why + at, whylen - at, ")");
}

static int check_door(const struct site *site, const char *door, char *why, size_t whylen)
{
    const char *names[6];
    for (size_t i = 0; i < site->n_outputs; i++) {
        if (strcasecmp(site->outputs[i].name, door) == 0)
            return 0;
        if (i < 6)
            names[i] = site->outputs[i].name;
    }
    names_of("door", door, names, site->n_outputs, why, whylen);
    return -1;
}

static int check_device(const struct site *site, const char *device, char *why, size_t whylen)
{
    for (size_t i = 0; journal_devices[i]; i++)
        if (strcasecmp(journal_devices[i], device) == 0)
            return 0;
    const char *names[6];
    for (size_t d = 0; d < site->n_devices; d++) {
        const struct site_device *sd = &site->devices[d];
        if (strcasecmp(sd->name, device) == 0)
            return 0;
        if (d < 6)
            names[d] = sd->name;
        for (size_t i = 0; sd->bus && i < sd->bus->n_slaves; i++) /* a NiX1 slave's rows carry its name */
            if (strcasecmp(sd->bus->slaves[i].name, device) == 0 || strcasecmp(sd->bus->slaves[i].addr, device) == 0)
                return 0;
    }
    names_of("device", device, names, site->n_devices, why, whylen);
    return -1;
}

int site_check_range(int64_t since_us, int64_t until_us, char *why, size_t whylen)
{
    if (since_us && until_us && since_us >= until_us) {
        time_t s = (time_t)(since_us / 1000000), u = (time_t)(until_us / 1000000);
        char a[32] = "?", b[32] = "?";
        struct tm tm;
        if (localtime_r(&s, &tm))
            strftime(a, sizeof a, "%Y-%m-%d %H:%M:%S", &tm);
        if (localtime_r(&u, &tm))
            strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(why, whylen, "since %s is not before until %s: nothing can match", a, b);
        return -1;
    }
    return 0;
}

int site_check_names(const struct site *site, const char *door, const char *device, char *why, size_t whylen)
{
    if (site && door && check_door(site, door, why, whylen) < 0)
        return -1;
    if (site && device && check_device(site, device, why, whylen) < 0)
        return -1;
    return 0;
}

struct site_output *site_find_output(struct site *site, const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < site->n_outputs; i++)
        if (strcasecmp(site->outputs[i].name, name) == 0)
            return &site->outputs[i];
    /* "<device>/<n>" or "<device>/aux<n>" */
    const char *slash = strrchr(name, '/');
    if (!slash || slash == name)
        return NULL;
    char dev[SITE_NAME_MAX];
    size_t dl = (size_t)(slash - name);
    if (dl >= sizeof dev)
        return NULL;
    memcpy(dev, name, dl);
    dev[dl] = '\0';
    struct site_device *d = site_find_device(site, dev);
    if (!d)
        return NULL;
    const char *num = slash + 1;
    enum output_type type = d->bus ? OUTPUT_PROBE : OUTPUT_DOOR;
    if (strncasecmp(num, "aux", 3) == 0) {
        type = OUTPUT_AUX;
        num += 3;
    }
    char *end;
    long n = strtol(num, &end, 10);
    if (end == num || *end || n < 1 || n > SITE_C3_MAX_DOORS)
        return NULL;
    for (size_t i = 0; i < site->n_outputs; i++) {
        struct site_output *o = &site->outputs[i];
        if (o->device == d->index && o->type == type && o->number == n)
            return o;
    }
    return NULL;
}

const char *site_link_name(enum link_state link)
{
    switch (link) {
    case LINK_DOWN: return "down";
    case LINK_CONNECTING: return "connecting";
    case LINK_UP: return "up";
    case LINK_STALE: return "stale";
    }
    return "?";
}

const char *site_output_type_name(enum output_type type)
{
    switch (type) {
    case OUTPUT_DOOR: return "door";
    case OUTPUT_AUX: return "aux";
    case OUTPUT_PROBE: return "probe";
    }
    return "?";
}

const char *site_sensor_name(enum sensor_state sensor)
{
    switch (sensor) {
    case SENSOR_UNKNOWN: return "unknown";
    case SENSOR_CLOSED: return "closed";
    case SENSOR_OPEN: return "open";
    }
    return "?";
}

const char *site_output_state_word(const struct site_output *out)
{
    const struct output_state *s = &out->state;
    if (s->alarm)
        return "ALARM";
    if (s->open_timeout)
        return "open too long";
    if (s->stale)
        return "stale";
    if (s->emergency)
        return "emergency open";
    if (s->locked_out)
        return "locked out";
    if (s->held_open)
        return "held open";
    if (s->normal_open)
        return "normal open";
    if (out->type == OUTPUT_AUX)
        return s->locked ? "off" : "on";
    if (!s->locked)
        return "unlocked";
    if (s->sensor == SENSOR_OPEN)
        return "open";
    if (s->sensor == SENSOR_CLOSED)
        return "closed";
    return "locked";
}

struct event_bus *site_events(struct site *site)
{
    if (!site->events)
        site->events = event_bus_new();
    return site->events;
}

void site_changed(struct site *site, int device, int output)
{
    if (site->on_change)
        site->on_change(site, device, output, site->on_change_arg);
    /* A listener may remove itself (or another) while we walk: re-check the slot as event.c does. */
    for (size_t i = 0; i < site->n_listeners; i++) {
        struct site_listener l = site->listeners[i];
        l.fn(site, device, output, l.arg);
        if (i < site->n_listeners && (site->listeners[i].fn != l.fn || site->listeners[i].arg != l.arg))
            i--;
    }
}

int site_listen(struct site *site, site_change_fn fn, void *arg)
{
    struct site_listener *l = realloc(site->listeners, (site->n_listeners + 1) * sizeof *l);
    if (!l)
        return -1;
    site->listeners = l;
    l[site->n_listeners++] = (struct site_listener){ fn, arg };
    return 0;
}

void site_unlisten(struct site *site, site_change_fn fn, void *arg)
{
    for (size_t i = 0; i < site->n_listeners; i++) {
        if (site->listeners[i].fn == fn && site->listeners[i].arg == arg) {
            memmove(&site->listeners[i], &site->listeners[i + 1], (site->n_listeners - i - 1) * sizeof *site->listeners);
            site->n_listeners--;
            return;
        }
    }
}
