/* pane_doors: every door, aux output and NiX1 probe of the site with its state, and the door actions
 * (open N s, close, hold/release, normal-open, aux on/off, cancel alarm, probe lock-out, timed open),
 * each showing its progress and result in place. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>

#include "core/textfold.h"
#include "core/strbuf.h"
#include "tui/textw.h"
#include "tui/console.h"

static const struct site_output *selected(struct console *c, struct pane *p)
{
    if (p->lv.sel >= c->site->n_outputs)
        return NULL;
    return &c->site->outputs[p->lv.sel];
}

static enum theme_role output_role(const struct site_output *o, const struct site_device *d)
{
    const struct output_state *s = &o->state;
    if (s->alarm)
        return TH_ALARM;
    if (s->emergency)
        return TH_CRIT;
    if (s->stale || d->link != LINK_UP)
        return TH_DIM;
    if (s->open_timeout || s->locked_out)
        return TH_WARN;
    if (s->held_open || s->normal_open || !s->locked || s->sensor == SENSOR_OPEN)
        return TH_INFO;
    return TH_NORMAL;
}

/* An output's flags as words ("EMERGENCY held-open open 42s"). */
static void output_flags(const struct site_output *o, const struct site_device *d, int64_t now, char *flags,
                         size_t len)
{
    const struct output_state *st = &o->state;
    struct strbuf fl;
    strbuf_init(&fl, flags, len);
#define FLAG(cond, txt) do { if (cond) { strbuf_sep(&fl, " "); strbuf_puts(&fl, txt); } } while (0)
    FLAG(st->alarm, "ALARM");
    FLAG(st->emergency, "EMERGENCY");
    FLAG(st->held_open, "held-open");
    FLAG(st->open_timeout, "open-too-long");
    FLAG(st->normal_open, "normal-open");
    FLAG(st->locked_out, "locked-out");
    FLAG(st->stale || d->link == LINK_STALE, "stale");
    FLAG(d->link == LINK_DOWN || d->link == LINK_CONNECTING, "offline");
    if (st->open_until_us > now) {
        char t[24];
        long long left = (long long)((st->open_until_us - now) / 1000000);
        if (left < 100)
            snprintf(t, sizeof t, "open %llds", left);
        else if (left < 6000)
            snprintf(t, sizeof t, "open %lldm%02llds", left / 60, left % 60);
        else
            snprintf(t, sizeof t, "open %lldh%02lldm", left / 3600, left / 60 % 60);
        FLAG(true, t);
    }
#undef FLAG
}

static void draw(struct console *c, struct pane *p, int y, int x, int h, int w)
{
    struct site *s = c->site;
    char title[128];
    snprintf(title, sizeof title, "Doors, aux outputs and probes  %zu", s->n_outputs);
    bool wide = w >= 110;
    int nw = wide ? 20 : 18, dw = wide ? 14 : 10;
    listview_fix(&p->lv, s->n_outputs, p->height);
    int64_t now = event_now_us();
    /* Wide: the flags get a column as wide as the longest shown (at least 24; the last action keeps 30). */
    int fw = 24;
    int fixed = nw + 1 + 5 + 1 + dw + 1 + 1 + 1 + 7 + 1 + 8 + 1;
    for (int i = 0; wide && i < p->height && p->lv.top + (size_t)i < s->n_outputs; i++) {
        const struct site_output *o = &s->outputs[p->lv.top + (size_t)i];
        char flags[96];
        output_flags(o, &s->devices[o->device], now, flags, sizeof flags);
        if ((int)strlen(flags) > fw)
            fw = (int)strlen(flags);
    }
    if (fw > w - fixed - 31)
        fw = w - fixed - 31 > 24 ? w - fixed - 31 : 24;
    char head[200];
    if (wide)
        snprintf(head, sizeof head, "%-*s %-5s %-*s %-1s %-7s %-8s %-*s Last action", nw, "Name", "Type", dw, "Device",
                 "#", "Sensor", "Lock", fw, "Flags");
    else
        snprintf(head, sizeof head, "%-*s %-5s %-*s %-1s %-7s %-8s Flags, last action", nw, "Name", "Type", dw,
                 "Device", "#", "Sensor", "Lock");
    console_list_heading(c, p, y, x, w, h, title, head);
    if (s->n_outputs == 0) {
        console_put(c, y + 3, x + 2, w - 2, theme_attr(&c->th, TH_DIM), "The configuration has no doors.");
        return;
    }
    for (int i = 0; i < p->height && p->lv.top + (size_t)i < s->n_outputs; i++) {
        const struct site_output *o = &s->outputs[p->lv.top + (size_t)i];
        const struct site_device *d = &s->devices[o->device];
        const struct output_state *st = &o->state;
        char flags[96];
        output_flags(o, d, now, flags, sizeof flags);
        const struct output_progress *pr = &c->out_progress[o->index];
        char line[320];
        const char *lock = o->type == OUTPUT_PROBE ? (st->locked_out ? "locked" : "normal")
                           : o->type == OUTPUT_AUX ? (st->locked ? "off" : "on")
                                                   : (st->locked ? "locked" : "unlocked");
        /* A probe belongs to a slave: show the slave's name rather than the bus's. */
        const char *dev = d->name;
        if (o->type == OUTPUT_PROBE && d->bus && o->slave < d->bus->n_slaves)
            dev = d->bus->slaves[o->slave].name;
        char name_f[128], dev_f[128];
        textw_fit_mid(name_f, sizeof name_f, o->name, nw, c->th.ellipsis);
        textw_fit(dev_f, sizeof dev_f, dev, dw);
        if (wide)
            snprintf(line, sizeof line, "%s %-5.5s %s %-1d %-7.7s %-8.8s %-*.*s ", name_f,
                     site_output_type_name(o->type), dev_f, o->number,
                     o->type == OUTPUT_AUX ? "-" : site_sensor_name(st->sensor), lock, fw, fw, flags);
        else
            snprintf(line, sizeof line, "%s %-5.5s %s %-1d %-7.7s %-8.8s %s%s", name_f,
                     site_output_type_name(o->type), dev_f, o->number,
                     o->type == OUTPUT_AUX ? "-" : site_sensor_name(st->sensor), lock, flags, flags[0] ? " " : "");
        bool sel = p->lv.top + (size_t)i == p->lv.sel;
        attr_t a = sel ? theme_attr(&c->th, TH_SELECTED) : theme_attr(&c->th, output_role(o, d));
        console_fill(c, y + 2 + i, x, w, sel ? a : A_NORMAL);
        console_put(c, y + 2 + i, x, w, a, line);
        int px = x + textw_cells(line);
        if (pr->progress != PROGRESS_IDLE && px < x + w) {
            enum theme_role pr_role = pr->progress == PROGRESS_PENDING ? TH_WARN
                                      : pr->progress == PROGRESS_OK   ? TH_OK
                                                                      : TH_ALARM;
            char t[160];
            snprintf(t, sizeof t, "%s %s", pr->progress == PROGRESS_PENDING ? c->th.ellipsis
                                           : pr->progress == PROGRESS_OK ? c->th.check : c->th.cross, pr->text);
            console_put(c, y + 2 + i, px, x + w - px, sel ? a : theme_attr(&c->th, pr_role), t);
        }
    }
}

struct ask {
    enum req r;
    enum action_id id;
    char target[SITE_NAME_MAX];
};

static bool number_ok(const char *text, char *err, size_t errlen, void *arg)
{
    struct ask *a = arg;
    const struct action_def *d = &action_table[a->id];
    char *end;
    long v = strtol(text, &end, 10);
    if (!text[0] || *end || v < (long)d->param_min || v > (long)d->param_max) {
        snprintf(err, errlen, "%s: a number from %u to %u", d->param ? d->param : "value", d->param_min,
                 d->param_max);
        return false;
    }
    return true;
}

static void number_done(struct console *c, bool ok, const char *text, void *arg)
{
    struct ask *a = arg;
    if (ok)
        console_action(c, a->r, a->id, a->target, (unsigned)strtoul(text, NULL, 10), true);
    free(a);
}

static void ask_number(struct console *c, enum req r, enum action_id id, const struct site_output *o)
{
    struct ask *a = calloc(1, sizeof *a);
    if (!a)
        return;
    a->r = r;
    a->id = id;
    snprintf(a->target, sizeof a->target, "%s", o->name);
    const struct action_def *d = &action_table[id];
    char prompt[160], init[16];
    snprintf(prompt, sizeof prompt, "%s: %s (%u-%u)", o->name, d->param ? d->param : "value", d->param_min,
             d->param_max);
    snprintf(init, sizeof init, "%u", d->param_default);
    console_input(c, d->description, prompt, init, number_ok, number_done, a);
}

static bool type_ok(struct console *c, const struct site_output *o, enum req r)
{
    bool ok;
    switch (r) {
    case REQ_DOOR_OPEN: case REQ_DOOR_CLOSE: case REQ_DOOR_HOLD: case REQ_DOOR_RELEASE:
        ok = o->type == OUTPUT_DOOR || o->type == OUTPUT_PROBE;
        break;
    case REQ_DOOR_NO_ON: case REQ_DOOR_NO_OFF: ok = o->type == OUTPUT_DOOR; break;
    case REQ_AUX_ON: case REQ_AUX_OFF: ok = o->type == OUTPUT_AUX; break;
    case REQ_ALARM_CANCEL: ok = o->type != OUTPUT_PROBE; break;
    case REQ_PROBE_LOCK: case REQ_PROBE_UNLOCK: case REQ_PROBE_TIMED: ok = o->type == OUTPUT_PROBE; break;
    default: ok = true; break;
    }
    if (!ok)
        console_message(c, TH_WARN, "%s: not possible on %s '%s'", request_info(r)->help,
                        site_output_type_name(o->type), o->name);
    return ok;
}

/* The text of the last find (Enter again finds the next). */
static char find_text[64];

/* Find a door: the next row after the selected one (round the list) whose name or device (slave) name holds the
 * text, in any case. */
static void find_done(struct console *c, bool ok, const char *text, void *arg)
{
    (void)arg;
    struct pane *p = c->panes[PANE_DOORS];
    size_t n = c->site->n_outputs;
    if (!ok || !text[0] || !n)
        return;
    snprintf(find_text, sizeof find_text, "%s", text);
    for (size_t k = 1; k <= n; k++) {
        size_t i = (p->lv.sel + k) % n;
        const struct site_output *o = &c->site->outputs[i];
        const struct site_device *d = &c->site->devices[o->device];
        const char *slave = o->type == OUTPUT_PROBE && d->bus && o->slave < d->bus->n_slaves
                                ? d->bus->slaves[o->slave].name : "";
        if (textfold_contains(o->name, text) || textfold_contains(d->name, text) || textfold_contains(slave, text)) {
            p->lv.sel = i;
            listview_fix(&p->lv, n, p->height);
            c->dirty = true;
            return;
        }
    }
    console_message(c, TH_INFO, "No door, output or probe named with '%s', nor on a device named so", text);
}

static unsigned request(struct console *c, struct pane *p, enum req r)
{
    if (r == REQ_SEARCH) {
        console_input(c, "Find a door", "Part of a door's or a device's name (Enter again: the next one):",
                      find_text, NULL, find_done, NULL);
        return PANE_HANDLED | PANE_REDRAW;
    }
    unsigned res = listview_request(&p->lv, r, c->site->n_outputs, p->height);
    if (res)
        return res;
    const struct site_output *o = selected(c, p);
    if (!o)
        return 0;
    static const struct { enum req r; enum action_id id; bool ask; } map[] = {
        {REQ_DOOR_OPEN, ACTION_DOOR_OPEN, true},        {REQ_DOOR_CLOSE, ACTION_DOOR_CLOSE, false},
        {REQ_DOOR_HOLD, ACTION_DOOR_HOLD, false},       {REQ_DOOR_RELEASE, ACTION_DOOR_RELEASE, false},
        {REQ_DOOR_NO_ON, ACTION_NORMAL_OPEN_ON, false}, {REQ_DOOR_NO_OFF, ACTION_NORMAL_OPEN_OFF, false},
        {REQ_AUX_ON, ACTION_AUX_ON, true},              {REQ_AUX_OFF, ACTION_AUX_OFF, false},
        {REQ_ALARM_CANCEL, ACTION_CANCEL_ALARM, false}, {REQ_PROBE_LOCK, ACTION_LOCKOUT_ON, false},
        {REQ_PROBE_UNLOCK, ACTION_LOCKOUT_OFF, false},  {REQ_PROBE_TIMED, ACTION_TIMED_OPEN, true},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (map[i].r != r)
            continue;
        if (!console_allowed_on(c, r, o->name) || !type_ok(c, o, r))
            return PANE_HANDLED | PANE_REDRAW;
        if (map[i].ask && action_table[map[i].id].param)
            ask_number(c, r, map[i].id, o);
        else
            console_action(c, r, map[i].id, o->name, 0, false);
        return PANE_HANDLED | PANE_REDRAW;
    }
    if (r == REQ_ENTER) {
        const struct site_device *d = &c->site->devices[o->device];
        const struct output_progress *pr = &c->out_progress[o->index];
        char text[900], last[400] = "";
        /* the newest card at this door in the live window, and whose card it is (C3 panels) */
        for (size_t i = 0; o->type == OUTPUT_DOOR && i < c->live.count; i++) {
            const struct event *ev = ring_get(&c->live, i);
            if (ev && ev->kind == EVENT_ACCESS && ev->card && strcmp(ev->device, d->name) == 0 &&
                ev->door_no == o->number) {
                char t[32], who[200];
                event_format_time(ev->host_time_us, t, sizeof t);
                cards_owner(c, ev->device, ev->card, who, sizeof who);
                snprintf(last, sizeof last, "\nLast card: %s card %u, %s\nCard of:   %s", t, ev->card, ev->code_name,
                         who);
                break;
            }
        }
        snprintf(text, sizeof text, "%s: %s %d of %s (%s, link %s%s%s)\nState: %s\nLast action: %s%s",
                 o->name, site_output_type_name(o->type), o->number, d->name, d->kind,
                 site_link_name(d->link), d->link_detail[0] ? ", " : "", d->link_detail,
                 site_output_state_word(o), pr->text[0] ? pr->text : "none", last);
        console_info(c, "Door", text);
        return PANE_HANDLED;
    }
    return 0;
}

struct pane *pane_doors_new(struct console *c)
{
    (void)c;
    static const struct pane proto = {.title = "Doors", .scope = SCOPE_DOORS, .is_list = true, .draw = draw, .request = request};
    return pane_new(&proto, NULL);
}
