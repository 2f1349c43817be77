/* pane_events: the live event panes: C3 real-time log of all panels (with door/alarm status changes, link
 * and operator events) and NiX1 iButton access entries of all buses. Newest first, bounded window. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curses.h>

#include "core/strbuf.h"
#include "drivers/c3/c3_tables.h"
#include "drivers/nix1/nix1_rc.h"
#include "tui/textw.h"
#include "tui/console.h"

struct events_priv {
    bool ibutton;
};

static struct ring *pane_ring(struct console *c, struct pane *p)
{
    return ((struct events_priv *)p->priv)->ibutton ? &c->ibutton : &c->live;
}

static struct filter *pane_filter(struct console *c, struct pane *p)
{
    return ((struct events_priv *)p->priv)->ibutton ? &c->ibutton_filter : &c->live_filter;
}

/* The i-th matching event (newest first), NULL past the end. */
static const struct event *nth_match(struct console *c, struct pane *p, size_t n)
{
    struct ring *r = pane_ring(c, p);
    struct filter *f = pane_filter(c, p);
    if (!filter_active(f))
        return ring_get(r, n);
    size_t seen = 0;
    for (size_t i = 0; i < r->count; i++) {
        const struct event *ev = ring_get(r, i);
        if (filter_match(f, ev) && seen++ == n)
            return ev;
    }
    return NULL;
}

static size_t count_matches(struct console *c, struct pane *p)
{
    struct ring *r = pane_ring(c, p);
    struct filter *f = pane_filter(c, p);
    if (!filter_active(f))
        return r->count;
    size_t n = 0;
    for (size_t i = 0; i < r->count; i++)
        if (filter_match(f, ring_get(r, i)))
            n++;
    return n;
}

static void fmt_time(const struct event *ev, char *buf, size_t len)
{
    time_t t = (time_t)(ev->host_time_us / 1000000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, len, "%H:%M:%S", &tm);
}

/* Column widths for the pane width: narrow terminals keep time, device, door and event readable and put
 * card/PIN, verify mode, direction and text together in the last column. */
struct cols {
    int dev, door, event;
};

static struct cols live_cols(int w)
{
    if (w >= 130)
        return (struct cols){14, 18, 26};
    if (w >= 100)
        return (struct cols){12, 16, 24};
    return (struct cols){10, 14, 20};
}

static const char *device_of(const struct event *ev)
{
    if (ev->device[0])
        return ev->device;
    return ev->kind == EVENT_SYSTEM ? "console" : "-";
}

static void live_line(const struct event *ev, int w, const char *mark, char *buf, size_t len)
{
    char tm[16], detail[400];
    struct strbuf db;
    STRBUF_ON(&db, detail);
    fmt_time(ev, tm, sizeof tm);
#define ADD(...) strbuf_printf(&db, __VA_ARGS__)
    const char *name = ev->code_name[0] ? ev->code_name : event_kind_name(ev->kind);
    /* Drivers write a whole human line that starts with the event's name: show the rest of it. */
    const char *rest = ev->text;
    size_t nl = strlen(name);
    bool named = nl && strncmp(rest, name, nl) == 0 && strchr(" :,", rest[nl]); /* a whole word, or all of it */
    if (named) {
        rest += nl;
        while (*rest == ' ' || *rest == ':' || *rest == ',')
            rest++;
    }
    if (ev->kind == EVENT_ACCESS && !named) {
        char vf[40] = "", io[16] = "";
        if (ev->card)
            ADD("card %u ", ev->card);
        else if (ev->pin)
            ADD("pin %u ", ev->pin);
        if (ev->verify >= 0 && ev->verify != 200 && c3_verify_label((unsigned)ev->verify, vf, sizeof vf) && vf[0])
            ADD("%s ", vf);
        if ((ev->inout == 0 || ev->inout == 1) && c3_inout_label((unsigned)ev->inout, io, sizeof io) && io[0])
            ADD("%s ", io);
    }
    ADD("%s%s", ev->recovered ? "[recovered] " : "", rest);
#undef ADD
    struct cols k = live_cols(w);
    char dev_f[128], door_f[128], name_f[128];
    textw_fit(dev_f, sizeof dev_f, device_of(ev), k.dev);
    textw_fit_mid(door_f, sizeof door_f, ev->door[0] ? ev->door : "-", k.door, mark);
    textw_fit(name_f, sizeof name_f, name, k.event);
    snprintf(buf, len, "%-8s %s %s %s %s", tm, dev_f, door_f, name_f, detail);
}

static void live_header(int w, char *buf, size_t len)
{
    struct cols k = live_cols(w);
    snprintf(buf, len, "%-8s %-*s %-*s %-*s %s", "Time", k.dev, "Device", k.door, "Door", k.event, "Event",
             "Card/PIN, verify, direction, detail");
}

static struct cols ib_cols(int w)
{
    if (w >= 110)
        return (struct cols){14, 18, 0};
    return (struct cols){10, 14, 0};
}

static void ibutton_line(const struct event *ev, int w, const char *mark, char *buf, size_t len)
{
    char tm[16], res[128];
    fmt_time(ev, tm, sizeof tm);
    if (ev->kind != EVENT_NIX1_ACCESS || ev->code < 0)
        snprintf(res, sizeof res, "%s", ev->text);
    else if (ev->code == 0 && ev->unit >= 0)
        snprintf(res, sizeof res, "GRANTED (unit %d)", ev->unit);
    else if (ev->code == 0)
        snprintf(res, sizeof res, "GRANTED");
    else
        snprintf(res, sizeof res, "refused: %s (%02X %s)", nix1_rc_log_meaning((unsigned)ev->code), ev->code,
                 nix1_rc_log_name((unsigned)ev->code));
    char probe[8] = "-";
    if (ev->door_no > 0)
        snprintf(probe, sizeof probe, "%d", ev->door_no);
    struct cols k = ib_cols(w);
    char dev_f[128], door_f[128];
    textw_fit(dev_f, sizeof dev_f, device_of(ev), k.dev);
    textw_fit_mid(door_f, sizeof door_f, ev->door[0] ? ev->door : "-", k.door, mark);
    snprintf(buf, len, "%-8s %s %-2s %s %-16.16s %s", tm, dev_f, probe, door_f, ev->uid[0] ? ev->uid : "-", res);
}

static void ibutton_header(int w, char *buf, size_t len)
{
    struct cols k = ib_cols(w);
    snprintf(buf, len, "%-8s %-*s %-2s %-*s %-16s %s", "Time", k.dev, "Slave", "P", k.door, "Door", "Uid", "Result");
}

static void draw(struct console *c, struct pane *p, int y, int x, int h, int w)
{
    struct events_priv *pv = p->priv;
    struct filter *f = pane_filter(c, p);
    char title[256], fd[200];
    filter_describe(f, fd, sizeof fd);
    size_t count = count_matches(c, p);
    snprintf(title, sizeof title, "%s  %zu shown%s%s%s", pv->ibutton ? "iButton events (NiX1)" : "Live events",
             count, fd[0] ? "  filter: " : "", fd, p->lv.sel ? "  (paused: g = newest)" : "");
    char head[256];
    if (pv->ibutton)
        ibutton_header(w, head, sizeof head);
    else
        live_header(w, head, sizeof head);
    console_list_heading(c, p, y, x, w, h, title, head);
    listview_fix(&p->lv, count, p->height);
    if (count == 0) {
        console_put(c, y + 3, x + 2, w - 2, theme_attr(&c->th, TH_DIM),
                    fd[0] ? "No event matches the filter (Esc or \\ with an empty line clears it)"
                          : "Waiting for events...");
        return;
    }
    for (int i = 0; i < p->height; i++) {
        const struct event *ev = nth_match(c, p, p->lv.top + (size_t)i);
        if (!ev)
            break;
        char line[512];
        if (pv->ibutton)
            ibutton_line(ev, w, c->th.ellipsis, line, sizeof line);
        else
            live_line(ev, w, c->th.ellipsis, line, sizeof line);
        bool sel = p->lv.top + (size_t)i == p->lv.sel && c->focus != PANE_HELP;
        attr_t a = theme_attr(&c->th, console_event_role(ev));
        if (sel && p->lv.sel != 0)
            a = theme_attr(&c->th, TH_SELECTED);
        console_put(c, y + 2 + i, x, w, a, line);
    }
}

static void on_event(struct console *c, struct pane *p, const struct event *ev)
{
    struct events_priv *pv = p->priv;
    if ((ev->kind == EVENT_NIX1_ACCESS) != pv->ibutton)
        return;
    /* Keep the selected line in place while the operator reads older events. */
    if (p->lv.sel > 0 && filter_match(pane_filter(c, p), ev)) {
        p->lv.sel++;
        p->lv.top++;
    }
}

static void details(struct console *c, const struct event *ev)
{
    char text[512], t[32], code[16];
    struct strbuf tb;
    STRBUF_ON(&tb, text);
    event_format_time(ev->host_time_us, t, sizeof t);
    strbuf_printf(&tb, "Time:     %s\nDevice:   %s %s\nDoor:     %s (%d)\nKind:     %s, %s\nEvent:    %s (code %s)\n", t,
                  ev->device, ev->addr, ev->door[0] ? ev->door : "-", ev->door_no, event_kind_name(ev->kind),
                  event_severity_name(ev->severity), ev->code_name, console_code_text(ev, code, sizeof code));
    if (ev->kind == EVENT_NIX1_ACCESS)
        strbuf_printf(&tb, "Uid:      %s  unit %d\nText:     %s\nJournal:  %s #%lld", ev->uid, ev->unit, ev->text,
                      console_stored_text(ev), (long long)ev->id);
    else
        strbuf_printf(&tb, "Card/PIN: %u / %u  verify %d  in/out %d\nText:     %s\nJournal:  %s #%lld%s", ev->card,
                      ev->pin, ev->verify, ev->inout, ev->text, console_stored_text(ev), (long long)ev->id,
                      ev->recovered ? ", recovered from the panel's event table" : "");
    if (ev->kind != EVENT_NIX1_ACCESS && ev->card) {
        char owner[200];
        cards_owner(c, ev->device, ev->card, owner, sizeof owner);
        if (strcmp(owner, "-") != 0)
            strbuf_printf(&tb, "\nCard of:  %s", owner);
    }
    console_info(c, "Event", text);
}

/* The search or the filter changed: the list starts again at the newest match. */
static void filter_changed(struct console *c, void *arg)
{
    (void)c;
    struct pane *p = arg;
    p->lv.sel = p->lv.top = 0;
}

static unsigned request(struct console *c, struct pane *p, enum req r)
{
    size_t count = count_matches(c, p);
    unsigned res = listview_request(&p->lv, r, count, p->height);
    if (res)
        return res;
    switch (r) {
    case REQ_ENTER: {
        const struct event *ev = nth_match(c, p, p->lv.sel);
        if (ev)
            details(c, ev);
        return PANE_HANDLED | PANE_REDRAW;
    }
    case REQ_SEARCH:
        console_filter_search(c, "Search", "Show events containing (empty = all):", pane_filter(c, p),
                              filter_changed, p);
        return PANE_HANDLED;
    case REQ_FILTER:
        console_filter_fields(c, "Filter", pane_filter(c, p), filter_changed, p);
        return PANE_HANDLED;
    case REQ_CANCEL:
        if (filter_active(pane_filter(c, p))) {
            filter_clear(pane_filter(c, p));
            p->lv.sel = p->lv.top = 0;
            return PANE_HANDLED | PANE_REDRAW;
        }
        return 0;
    default:
        return 0;
    }
}

static void pane_free(struct pane *p)
{
    free(p->priv);
}

struct pane *pane_events_new(struct console *c, bool ibutton)
{
    (void)c;
    static const struct pane events = {.title = "Events", .scope = SCOPE_EVENTS, .is_list = true, .draw = draw,
                                       .request = request, .on_event = on_event, .free = pane_free};
    static const struct pane ibuttons = {.title = "iButton", .scope = SCOPE_IBUTTON, .is_list = true, .draw = draw,
                                         .request = request, .on_event = on_event, .free = pane_free};
    struct events_priv *pv = calloc(1, sizeof *pv);
    struct pane *p = pv ? pane_new(ibutton ? &ibuttons : &events, pv) : NULL;
    if (!p) {
        free(pv);
        return NULL;
    }
    pv->ibutton = ibutton;
    return p;
}
