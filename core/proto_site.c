/* proto_site: the site in the protocol: its configuration (without secrets), devices and outputs, to JSON for a
 * snapshot and back into a mirror struct site on the client side; device and output change messages. */
#include "core/proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROTO_SITE_MAX_ITEMS 100000 /* devices, outputs, slaves, key bindings: far beyond any real site */

static const char *const rs485_names[] = { "auto", "rts", "none" };
static const char *const confirm_names[] = { "none", "double", "word" };
static const char *const restore_names[] = { "previous", "locked" };
static const char *const bell_names[] = { "none", "alarm", "all" };

static int name_of(const char *const *names, int n, const char *s)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

/* A list of names from a fixed-size name array (names: char [n][SITE_NAME_MAX]). */
static json_t *str_array(const void *names, size_t n)
{
    const char *p = names;
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(p + i * SITE_NAME_MAX));
    return a;
}

/* ---- to JSON ---- */

static json_t *panel_json(const struct site_panel *p)
{
    json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:s}", "name", p->name, "host", p->host, "port", (int)p->port,
                          "poll_ms", (int)p->poll_ms, "timeout_ms", (int)p->timeout_ms, "doors", (int)p->doors,
                          "model", p->model);
    if (o) {
        json_object_set_new(o, "door_names", str_array(p->door_names, p->doors <= SITE_C3_MAX_DOORS ? p->doors : 0));
        json_object_set_new(o, "aux_names", str_array(p->aux_names, p->aux_count <= SITE_C3_MAX_DOORS ? p->aux_count : 0));
    }
    return o;
}

static json_t *bus_json(const struct site_bus *b)
{
    json_t *o = json_pack("{s:s,s:s,s:i,s:s,s:i,s:s}", "name", b->name, "port", b->port, "baud", (int)b->baud, "rs485",
                          rs485_names[b->rs485 <= SITE_RS485_NONE ? b->rs485 : 0], "poll_ms", (int)b->poll_ms,
                          "server_dir", b->server_dir);
    json_t *sl = json_array();
    for (size_t i = 0; o && sl && i < b->n_slaves; i++) {
        const struct site_slave *s = &b->slaves[i];
        json_t *probes = json_array();
        for (int p = 0; probes && p < SITE_NIX1_PROBES; p++)
            json_array_append_new(probes, json_pack("{s:s,s:i}", "door", s->probe_doors[p], "unit", s->probe_units[p]));
        json_array_append_new(sl, json_pack("{s:s,s:s,s:o,s:i,s:i}", "address", s->addr, "name", s->name, "probes",
                                            probes ? probes : json_array(), "valid_access_timeout", s->valid_timeout,
                                            "bad_access_timeout", s->bad_timeout));
    }
    if (o && sl)
        json_object_set_new(o, "slaves", sl);
    else
        json_decref(sl);
    return o;
}

json_t *proto_site_conf_to_json(const struct site *site)
{
    json_t *o = json_object(), *panels = json_array(), *buses = json_array(), *keys = json_array();
    if (!o || !panels || !buses || !keys) {
        json_decref(o);
        json_decref(panels);
        json_decref(buses);
        json_decref(keys);
        return NULL;
    }
    json_object_set_new(o, "name", json_string(site->name));
    for (size_t i = 0; i < site->n_panels; i++)
        json_array_append_new(panels, panel_json(&site->panels[i]));
    for (size_t i = 0; i < site->n_buses; i++)
        json_array_append_new(buses, bus_json(&site->buses[i]));
    json_object_set_new(o, "panels", panels);
    json_object_set_new(o, "buses", buses);
    const struct site_emergency *e = &site->emergency;
    json_t *em = json_pack("{s:s,s:i,s:s,s:s}", "confirm", confirm_names[e->confirm <= SITE_CONFIRM_WORD ? e->confirm : 0],
                           "double_ms", (int)e->double_ms, "word", e->word, "restore",
                           restore_names[e->restore <= SITE_RESTORE_LOCKED ? e->restore : 0]);
    if (em) {
        json_object_set_new(em, "doors", e->all_doors ? json_string("all") : str_array(e->doors, e->n_doors));
        json_object_set_new(o, "emergency", em);
    }
    for (size_t i = 0; i < site->ui.n_keys; i++)
        json_array_append_new(keys, json_pack("{s:s,s:s}", "action", site->ui.keys[i].action, "key", site->ui.keys[i].key));
    json_object_set_new(o, "ui", json_pack("{s:b,s:s,s:o}", "colours", site->ui.colours, "bell",
                                          bell_names[site->ui.bell <= SITE_BELL_ALL ? site->ui.bell : 0], "keys", keys));
    json_object_set_new(o, "journal", json_pack("{s:i,s:I}", "retention_days", (int)site->journal.retention_days,
                                               "retention_rows", (json_int_t)site->journal.retention_rows));
    return o;
}

json_t *proto_device_to_json(const struct site *site, const struct site_device *d)
{
    json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:b,s:I,s:I}", "index", (json_int_t)d->index, "name", d->name,
                          "kind", d->kind ? d->kind : "", "link", site_link_name(d->link), "detail", d->link_detail,
                          "since_us", (json_int_t)d->link_since_us, "lost_since_us", (json_int_t)d->lost_since_us,
                          "was_up", d->was_up, "events", (json_int_t)d->events, "errors", (json_int_t)d->errors);
    if (!o)
        return NULL;
    if (d->panel && d->panel >= site->panels && d->panel < site->panels + site->n_panels)
        json_object_set_new(o, "panel", json_integer(d->panel - site->panels));
    if (d->bus && d->bus >= site->buses && d->bus < site->buses + site->n_buses)
        json_object_set_new(o, "bus", json_integer(d->bus - site->buses));
    return o;
}

json_t *proto_output_state_to_json(const struct output_state *st)
{
    return json_pack("{s:s,s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:I}", "sensor", site_sensor_name(st->sensor), "locked",
                     st->locked, "held_open", st->held_open, "normal_open", st->normal_open, "alarm", st->alarm,
                     "open_timeout", st->open_timeout, "stale", st->stale, "locked_out", st->locked_out, "emergency",
                     st->emergency, "open_until_us", (json_int_t)st->open_until_us);
}

int proto_output_state_add(json_t *o, const struct output_state *st)
{
    json_t *flags = proto_output_state_to_json(st);
    int rc = flags && json_object_update(o, flags) == 0 ? 0 : -1;
    json_decref(flags);
    return rc;
}

json_t *proto_output_to_json(const struct site_output *o)
{
    json_t *j = json_pack("{s:I,s:s,s:s,s:I,s:i,s:I,s:s,s:s,s:I}", "index", (json_int_t)o->index, "type",
                          site_output_type_name(o->type), "name", o->name, "device", (json_int_t)o->device, "number",
                          o->number, "slave", (json_int_t)o->slave, "progress", proto_progress_name(o->progress),
                          "result", o->result, "changed_us", (json_int_t)o->changed_us);
    if (j)
        json_object_set_new(j, "state", proto_output_state_to_json(&o->state));
    return j;
}

int proto_site_to_snapshot(const struct site *site, json_t *o)
{
    json_t *conf = proto_site_conf_to_json(site), *devs = json_array(), *outs = json_array();
    if (!conf || !devs || !outs) {
        json_decref(conf);
        json_decref(devs);
        json_decref(outs);
        return -1;
    }
    for (size_t i = 0; i < site->n_devices; i++)
        json_array_append_new(devs, proto_device_to_json(site, &site->devices[i]));
    for (size_t i = 0; i < site->n_outputs; i++)
        json_array_append_new(outs, proto_output_to_json(&site->outputs[i]));
    json_object_set_new(o, "site", conf);
    json_object_set_new(o, "devices", devs);
    json_object_set_new(o, "outputs", outs);
    return 0;
}

/* ---- from JSON ---- */

static int bad(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* An array field (absent = empty) with at most max entries. */
static int get_array(const json_t *o, const char *key, size_t max, const json_t **out, size_t *n, char *err, size_t errlen)
{
    const json_t *a = json_object_get(o, key);
    *out = a;
    *n = 0;
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a) || json_array_size(a) > max)
        return bad(err, errlen, "\"%s\" must be a list (of a sensible size)", key);
    *n = json_array_size(a);
    return 0;
}

static int get_u(const json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *v, char *err, size_t errlen)
{
    if (proto_get_int(o, key, v, err, errlen) < 0)
        return -1;
    if (*v < lo || *v > hi)
        return bad(err, errlen, "\"%s\" out of range", key);
    return 0;
}

static int names_from(const json_t *o, const char *key, char (*dst)[SITE_NAME_MAX], size_t max, unsigned *count,
                      char *err, size_t errlen)
{
    const json_t *a;
    size_t n;
    if (get_array(o, key, max, &a, &n, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s)
            return bad(err, errlen, "\"%s\" must hold names", key);
        event_copy(dst[i], SITE_NAME_MAX, s);
    }
    if (count)
        *count = (unsigned)n;
    return 0;
}

static int panel_from(const json_t *o, struct site_panel *p, char *err, size_t errlen)
{
    int64_t port = 4370, poll = 1000, timeout = 2000, doors = 0;
    if (!json_is_object(o) || proto_get_str(o, "name", p->name, sizeof p->name, err, errlen) < 0 ||
        proto_get_str(o, "host", p->host, sizeof p->host, err, errlen) < 0 ||
        proto_get_str(o, "model", p->model, sizeof p->model, err, errlen) < 0 ||
        get_u(o, "port", 0, 65535, &port, err, errlen) < 0 || get_u(o, "poll_ms", 0, 600000, &poll, err, errlen) < 0 ||
        get_u(o, "timeout_ms", 0, 600000, &timeout, err, errlen) < 0 ||
        get_u(o, "doors", 0, SITE_C3_MAX_DOORS, &doors, err, errlen) < 0 ||
        names_from(o, "door_names", p->door_names, SITE_C3_MAX_DOORS, NULL, err, errlen) < 0 ||
        names_from(o, "aux_names", p->aux_names, SITE_C3_MAX_DOORS, &p->aux_count, err, errlen) < 0)
        return json_is_object(o) ? -1 : bad(err, errlen, "a %s must be an object", "panel");
    p->port = (uint16_t)port;
    p->poll_ms = (unsigned)poll;
    p->timeout_ms = (unsigned)timeout;
    p->doors = (unsigned)doors;
    return 0;
}

static int slave_from(const json_t *o, struct site_slave *s, char *err, size_t errlen)
{
    int64_t vt = -1, bt = -1;
    const json_t *pa;
    size_t np;
    if (!json_is_object(o))
        return bad(err, errlen, "a %s must be an object", "slave");
    if (proto_get_str(o, "address", s->addr, sizeof s->addr, err, errlen) < 0 ||
        proto_get_str(o, "name", s->name, sizeof s->name, err, errlen) < 0 ||
        get_u(o, "valid_access_timeout", -1, 255, &vt, err, errlen) < 0 ||
        get_u(o, "bad_access_timeout", -1, 255, &bt, err, errlen) < 0 ||
        get_array(o, "probes", SITE_NIX1_PROBES, &pa, &np, err, errlen) < 0)
        return -1;
    s->valid_timeout = (int)vt;
    s->bad_timeout = (int)bt;
    for (int p = 0; p < SITE_NIX1_PROBES; p++)
        s->probe_units[p] = -1;
    for (size_t p = 0; p < np; p++) {
        const json_t *po = json_array_get(pa, p);
        int64_t unit = -1;
        if (!json_is_object(po) || proto_get_str(po, "door", s->probe_doors[p], SITE_NAME_MAX, err, errlen) < 0 ||
            get_u(po, "unit", -1, 65535, &unit, err, errlen) < 0)
            return json_is_object(po) ? -1 : bad(err, errlen, "a %s must be an object", "probe");
        s->probe_units[p] = (int)unit;
    }
    return 0;
}

static int bus_from(const json_t *o, struct site_bus *b, char *err, size_t errlen)
{
    int64_t baud = 9600, poll = 1000;
    char rs[16] = "auto";
    const json_t *sa;
    size_t ns;
    if (!json_is_object(o))
        return bad(err, errlen, "a %s must be an object", "bus");
    if (proto_get_str(o, "name", b->name, sizeof b->name, err, errlen) < 0 ||
        proto_get_str(o, "port", b->port, sizeof b->port, err, errlen) < 0 ||
        proto_get_str(o, "server_dir", b->server_dir, sizeof b->server_dir, err, errlen) < 0 ||
        proto_get_str(o, "rs485", rs, sizeof rs, err, errlen) < 0 ||
        get_u(o, "baud", 0, 10000000, &baud, err, errlen) < 0 || get_u(o, "poll_ms", 0, 600000, &poll, err, errlen) < 0 ||
        get_array(o, "slaves", PROTO_SITE_MAX_ITEMS, &sa, &ns, err, errlen) < 0)
        return -1;
    int m = name_of(rs485_names, 3, rs);
    b->rs485 = m < 0 ? SITE_RS485_AUTO : (enum site_rs485_mode)m;
    b->baud = (unsigned)baud;
    b->poll_ms = (unsigned)poll;
    if (ns) {
        b->slaves = calloc(ns, sizeof *b->slaves);
        if (!b->slaves)
            return bad(err, errlen, "out of memory%s", "");
    }
    for (size_t i = 0; i < ns; i++) {
        if (slave_from(json_array_get(sa, i), &b->slaves[i], err, errlen) < 0)
            return -1;
        b->n_slaves++;
    }
    return 0;
}

static int conf_from(const json_t *o, struct site *s, char *err, size_t errlen)
{
    const json_t *pa, *ba;
    size_t np, nb;
    if (!json_is_object(o))
        return bad(err, errlen, "\"%s\" must be an object", "site");
    if (proto_get_str(o, "name", s->name, sizeof s->name, err, errlen) < 0 ||
        get_array(o, "panels", PROTO_SITE_MAX_ITEMS, &pa, &np, err, errlen) < 0 ||
        get_array(o, "buses", PROTO_SITE_MAX_ITEMS, &ba, &nb, err, errlen) < 0)
        return -1;
    if (np && !(s->panels = calloc(np, sizeof *s->panels)))
        return bad(err, errlen, "out of memory%s", "");
    for (size_t i = 0; i < np; i++) {
        if (panel_from(json_array_get(pa, i), &s->panels[i], err, errlen) < 0)
            return -1;
        s->n_panels++;
    }
    if (nb && !(s->buses = calloc(nb, sizeof *s->buses)))
        return bad(err, errlen, "out of memory%s", "");
    for (size_t i = 0; i < nb; i++) {
        s->n_buses++; /* counted first: site_free frees the slaves of a half-read bus */
        if (bus_from(json_array_get(ba, i), &s->buses[i], err, errlen) < 0)
            return -1;
    }
    const json_t *em = json_object_get(o, "emergency");
    if (json_is_object(em)) {
        struct site_emergency *e = &s->emergency;
        char confirm[16] = "", restore[16] = "";
        int64_t dms = e->double_ms;
        if (proto_get_str(em, "confirm", confirm, sizeof confirm, err, errlen) < 0 ||
            proto_get_str(em, "restore", restore, sizeof restore, err, errlen) < 0 ||
            proto_get_str(em, "word", e->word, sizeof e->word, err, errlen) < 0 ||
            get_u(em, "double_ms", 0, 600000, &dms, err, errlen) < 0)
            return -1;
        e->double_ms = (unsigned)dms;
        int c = name_of(confirm_names, 3, confirm), r = name_of(restore_names, 2, restore);
        if (c >= 0)
            e->confirm = (enum site_confirm)c;
        if (r >= 0)
            e->restore = (enum site_restore)r;
        const json_t *d = json_object_get(em, "doors");
        if (json_is_array(d)) {
            size_t n = json_array_size(d);
            if (n > PROTO_SITE_MAX_ITEMS)
                return bad(err, errlen, "%s: too many emergency doors", "site");
            e->all_doors = false;
            if (n && !(e->doors = calloc(n, sizeof *e->doors)))
                return bad(err, errlen, "out of memory%s", "");
            for (size_t i = 0; i < n; i++) {
                const char *name = json_string_value(json_array_get(d, i));
                if (!name)
                    return bad(err, errlen, "%s: emergency doors must be names", "site");
                event_copy(e->doors[e->n_doors++], SITE_NAME_MAX, name);
            }
        }
    }
    const json_t *ui = json_object_get(o, "ui");
    if (json_is_object(ui)) {
        char bell[16] = "";
        const json_t *ka;
        size_t nk;
        if (proto_get_bool(ui, "colours", &s->ui.colours, err, errlen) < 0 ||
            proto_get_str(ui, "bell", bell, sizeof bell, err, errlen) < 0 ||
            get_array(ui, "keys", PROTO_SITE_MAX_ITEMS, &ka, &nk, err, errlen) < 0)
            return -1;
        int b = name_of(bell_names, 3, bell);
        if (b >= 0)
            s->ui.bell = (enum site_bell)b;
        if (nk && !(s->ui.keys = calloc(nk, sizeof *s->ui.keys)))
            return bad(err, errlen, "out of memory%s", "");
        for (size_t i = 0; i < nk; i++) {
            struct site_key_binding *k = &s->ui.keys[s->ui.n_keys];
            const json_t *ko = json_array_get(ka, i);
            if (!json_is_object(ko) || proto_get_str(ko, "action", k->action, sizeof k->action, err, errlen) < 0 ||
                proto_get_str(ko, "key", k->key, sizeof k->key, err, errlen) < 0)
                return json_is_object(ko) ? -1 : bad(err, errlen, "a %s must be an object", "key binding");
            s->ui.n_keys++;
        }
    }
    const json_t *jo = json_object_get(o, "journal");
    if (json_is_object(jo)) {
        int64_t days = s->journal.retention_days, rows = (int64_t)s->journal.retention_rows;
        if (get_u(jo, "retention_days", 0, 1000000, &days, err, errlen) < 0 ||
            get_u(jo, "retention_rows", 0, INT64_MAX, &rows, err, errlen) < 0)
            return -1;
        s->journal.retention_days = (unsigned)days;
        s->journal.retention_rows = (uint64_t)rows;
    }
    return 0;
}

/* The kind strings of the mirror must outlive the snapshot: known kinds are static. */
static const char *kind_of(const char *k)
{
    static const char *const kinds[] = { "c3", "nix1" };
    for (size_t i = 0; k && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i], k) == 0)
            return kinds[i];
    return "unknown";
}

/* Fill the runtime fields of a device from a device object (index and kind already checked). */
static int device_fields(const json_t *o, struct site_device *d, char *err, size_t errlen)
{
    struct site_device t = *d;
    char link[16] = "";
    int64_t events = (int64_t)t.events, errors = (int64_t)t.errors;
    if (proto_get_str(o, "link", link, sizeof link, err, errlen) < 0 ||
        proto_get_str(o, "detail", t.link_detail, sizeof t.link_detail, err, errlen) < 0 ||
        proto_get_int(o, "since_us", &t.link_since_us, err, errlen) < 0 ||
        proto_get_int(o, "lost_since_us", &t.lost_since_us, err, errlen) < 0 ||
        proto_get_bool(o, "was_up", &t.was_up, err, errlen) < 0 ||
        get_u(o, "events", 0, INT64_MAX, &events, err, errlen) < 0 ||
        get_u(o, "errors", 0, INT64_MAX, &errors, err, errlen) < 0)
        return -1;
    if (link[0]) {
        int l = proto_link_from_name(link);
        if (l < 0)
            return bad(err, errlen, "unknown link state \"%.20s\"", link);
        t.link = (enum link_state)l;
    }
    t.events = (uint64_t)events;
    t.errors = (uint64_t)errors;
    *d = t;
    return 0;
}

int proto_output_state_from_json(const json_t *o, struct output_state *st, char *err, size_t errlen)
{
    if (!json_is_object(o))
        return bad(err, errlen, "\"%s\" must be an object", "state");
    struct output_state t = *st;
    char sensor[16] = "";
    if (proto_get_str(o, "sensor", sensor, sizeof sensor, err, errlen) < 0 ||
        proto_get_bool(o, "locked", &t.locked, err, errlen) < 0 ||
        proto_get_bool(o, "held_open", &t.held_open, err, errlen) < 0 ||
        proto_get_bool(o, "normal_open", &t.normal_open, err, errlen) < 0 ||
        proto_get_bool(o, "alarm", &t.alarm, err, errlen) < 0 ||
        proto_get_bool(o, "open_timeout", &t.open_timeout, err, errlen) < 0 ||
        proto_get_bool(o, "stale", &t.stale, err, errlen) < 0 ||
        proto_get_bool(o, "locked_out", &t.locked_out, err, errlen) < 0 ||
        proto_get_bool(o, "emergency", &t.emergency, err, errlen) < 0 ||
        proto_get_int(o, "open_until_us", &t.open_until_us, err, errlen) < 0)
        return -1;
    if (sensor[0]) {
        int s = proto_sensor_from_name(sensor);
        if (s < 0)
            return bad(err, errlen, "unknown sensor state \"%.20s\"", sensor);
        t.sensor = (enum sensor_state)s;
    }
    *st = t;
    return 0;
}

/* Runtime fields of an output (state, progress, result, changed_us). */
static int output_fields(const json_t *o, struct site_output *out, char *err, size_t errlen)
{
    struct site_output t = *out;
    char progress[16] = "";
    if (proto_get_str(o, "progress", progress, sizeof progress, err, errlen) < 0 ||
        proto_get_str(o, "result", t.result, sizeof t.result, err, errlen) < 0 ||
        proto_get_int(o, "changed_us", &t.changed_us, err, errlen) < 0)
        return -1;
    if (progress[0]) {
        int p = proto_progress_from_name(progress);
        if (p < 0)
            return bad(err, errlen, "unknown progress \"%.20s\"", progress);
        t.progress = (enum progress)p;
    }
    const json_t *st = json_object_get(o, "state");
    if (st && proto_output_state_from_json(st, &t.state, err, errlen) < 0)
        return -1;
    *out = t;
    return 0;
}

static int index_of(const json_t *o, size_t n, size_t *index, char *err, size_t errlen)
{
    const json_t *v = json_object_get(o, "index");
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) >= n)
        return bad(err, errlen, "%s: no such index", "change");
    *index = (size_t)json_integer_value(v);
    return 0;
}

static int devices_from(const json_t *a, struct site *s, char *err, size_t errlen)
{
    size_t n = json_array_size(a);
    if (n && !(s->devices = calloc(n, sizeof *s->devices)))
        return bad(err, errlen, "out of memory%s", "");
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(a, i);
        struct site_device *d = &s->devices[i];
        int64_t idx = -1, panel = -1, bus = -1;
        if (!json_is_object(o))
            return bad(err, errlen, "a %s must be an object", "device");
        if (proto_get_int(o, "index", &idx, err, errlen) < 0 || proto_get_int(o, "panel", &panel, err, errlen) < 0 ||
            proto_get_int(o, "bus", &bus, err, errlen) < 0 ||
            proto_get_str(o, "name", d->name, sizeof d->name, err, errlen) < 0)
            return -1;
        if (idx != (int64_t)i)
            return bad(err, errlen, "%s: devices out of order", "snapshot");
        d->index = i;
        d->kind = kind_of(proto_str(o, "kind"));
        if (panel >= 0 && (uint64_t)panel < s->n_panels)
            d->panel = &s->panels[panel];
        else if (bus >= 0 && (uint64_t)bus < s->n_buses)
            d->bus = &s->buses[bus];
        else if (panel != -1 || bus != -1)
            return bad(err, errlen, "device \"%s\": no such panel or bus", d->name);
        if (device_fields(o, d, err, errlen) < 0)
            return -1;
        s->n_devices++;
    }
    return 0;
}

static int outputs_from(const json_t *a, struct site *s, char *err, size_t errlen)
{
    size_t n = json_array_size(a);
    if (n && !(s->outputs = calloc(n, sizeof *s->outputs)))
        return bad(err, errlen, "out of memory%s", "");
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(a, i);
        struct site_output *out = &s->outputs[i];
        int64_t idx = -1, dev = -1, number = 0, slave = 0;
        if (!json_is_object(o))
            return bad(err, errlen, "an %s must be an object", "output");
        if (proto_get_int(o, "index", &idx, err, errlen) < 0 || proto_get_int(o, "device", &dev, err, errlen) < 0 ||
            get_u(o, "number", 0, 255, &number, err, errlen) < 0 ||
            get_u(o, "slave", 0, PROTO_SITE_MAX_ITEMS, &slave, err, errlen) < 0 ||
            proto_get_str(o, "name", out->name, sizeof out->name, err, errlen) < 0)
            return -1;
        int type = proto_output_type_from_name(proto_str(o, "type"));
        if (idx != (int64_t)i || type < 0 || dev < 0 || (uint64_t)dev >= s->n_devices)
            return bad(err, errlen, "output \"%s\": bad index, type or device", out->name);
        const struct site_bus *bus = s->devices[dev].bus;
        if (type == OUTPUT_PROBE && (!bus || (uint64_t)slave >= bus->n_slaves))
            return bad(err, errlen, "output \"%s\": no such slave", out->name);
        out->index = i;
        out->type = (enum output_type)type;
        out->device = (size_t)dev;
        out->number = (int)number;
        out->slave = (size_t)slave;
        out->state.locked = true;
        out->state.stale = true;
        if (output_fields(o, out, err, errlen) < 0)
            return -1;
        s->n_outputs++;
    }
    return 0;
}

struct site *proto_site_from_snapshot(const json_t *o, char *err, size_t errlen)
{
    const json_t *devs, *outs;
    size_t nd, no;
    if (get_array(o, "devices", PROTO_SITE_MAX_ITEMS, &devs, &nd, err, errlen) < 0 ||
        get_array(o, "outputs", PROTO_SITE_MAX_ITEMS, &outs, &no, err, errlen) < 0)
        return NULL;
    struct site *s = site_new();
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (conf_from(json_object_get(o, "site"), s, err, errlen) < 0 || (devs && devices_from(devs, s, err, errlen) < 0) ||
        (outs && outputs_from(outs, s, err, errlen) < 0)) {
        site_free(s);
        return NULL;
    }
    return s;
}

int proto_device_apply(struct site *mirror, const json_t *o, size_t *index, char *err, size_t errlen)
{
    if (index_of(o, mirror->n_devices, index, err, errlen) < 0)
        return -1;
    return device_fields(o, &mirror->devices[*index], err, errlen);
}

int proto_output_apply(struct site *mirror, const json_t *o, size_t *index, char *err, size_t errlen)
{
    if (index_of(o, mirror->n_outputs, index, err, errlen) < 0)
        return -1;
    return output_fields(o, &mirror->outputs[*index], err, errlen);
}
