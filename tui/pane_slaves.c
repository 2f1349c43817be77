/* pane_slaves: NiX1 slaves of every bus, and the slave editor: a form for locks, units, cron mode, cron,
 * valid/bad access timeouts, mode, overdrive, baud rate and clock zone, validated as typed against the
 * NiX1 spec's ranges (§5.8, §5.12), with the changes shown as a diff before they are applied; and the file
 * view of a slave (pane_files: list, view, put, delete, provisioning). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curses.h>

#include "core/cron.h"
#include "core/device.h"
#include "core/strbuf.h"
#include "drivers/nix1/nix1_cmd.h"
#include "tui/textw.h"
#include "tui/console.h"
#include "tui/keys.h"
#include "tui/pane_files.h"

enum fkind { F_BOOL, F_INT, F_CRON, F_BAUD, F_TZ };
struct field {
    const char *label, *key; /* CONFIG.TXT key */
    enum fkind kind;
    long min, max;
    bool optional;           /* empty allowed (unit unset, no cron) */
};
static const struct field fields[] = {
    {"Lock probe 1", "LOCK_0", F_BOOL, 0, 1, false},
    {"Lock probe 2", "LOCK_1", F_BOOL, 0, 1, false},
    {"Unit probe 1", "UNIT_0", F_INT, 0, 65534, true},
    {"Unit probe 2", "UNIT_1", F_INT, 0, 65534, true},
    {"Cron mode", "CRON_MODE", F_INT, 0, 3, false},
    {"Cron", "CRON", F_CRON, 0, 0, true},
    {"Valid access timeout s", "VALID_ACCESS_TIMEOUT", F_INT, 0, 255, false},
    {"Bad access timeout s", "BAD_ACCESS_TIMEOUT", F_INT, 0, 255, false},
    {"Mode", "MODE", F_INT, 0, 3, false},
    {"Overdrive probe 1", "OD_SPEED_0", F_BOOL, 0, 1, false},
    {"Overdrive probe 2", "OD_SPEED_1", F_BOOL, 0, 1, false},
    {"Baud rate", "BAUDRATE", F_BAUD, 0, 0, false},
    {"Time zone", "TIMEZONE", F_TZ, 0, 0, false},
};
#define NF (sizeof fields / sizeof fields[0])

struct slave_ref {
    size_t bus, slave;
    int link;                /* enum link_state from the slave's own link events, -1 = none seen */
};

enum apply_state { AP_NONE, AP_PENDING, AP_OK, AP_FAILED };

struct spriv {
    size_t n;
    struct slave_ref *refs;
    bool editing, diffing;
    bool applying;           /* the per-field results of the last apply are shown */
    bool running;            /* ... and the action is still running */
    enum apply_state ap[NF];
    char ap_msg[NF][96];
    size_t cur;
    struct slave_ref editing_ref;
    char orig[NF][CRON_TEXT_MAX];
    char val[NF][CRON_TEXT_MAX];
    char err[NF][96];
    bool reading;            /* the slave's current settings are being read */
    unsigned read_gen;       /* which editor opening a read belongs to */
    char read_note[200];     /* where the values come from */
    struct files_view *fv;   /* the file view (f), when open */
};

/* Validate one field; returns true when valid, else err says why. */
static bool field_valid(const struct field *f, const char *v, char *err, size_t errlen)
{
    err[0] = '\0';
    if (!v[0]) {
        if (f->optional)
            return true;
        snprintf(err, errlen, "required");
        return false;
    }
    switch (f->kind) {
    case F_BOOL:
    case F_INT: {
        char *end;
        for (const char *q = v; *q; q++)
            if (!isdigit((unsigned char)*q)) {
                snprintf(err, errlen, "digits only, %ld-%ld", f->min, f->max);
                return false;
            }
        long x = strtol(v, &end, 10);
        if (strlen(v) > 6 || x < f->min || x > f->max) {
            snprintf(err, errlen, "out of range %ld-%ld", f->min, f->max);
            return false;
        }
        return true;
    }
    case F_CRON: {
        struct cron cr;
        char e[96];
        if (cron_parse_str(v, &cr, e, sizeof e) < 0) {
            snprintf(err, errlen, "%s", e);
            return false;
        }
        return true;
    }
    case F_BAUD: {
        char *end;
        unsigned long b = strtoul(v, &end, 10);
        if (*end || !nix1_baud_valid(b)) {
            snprintf(err, errlen, "1200 2400 4800 9600 19200 38400 57600 115200");
            return false;
        }
        return true;
    }
    case F_TZ:
        if (strlen(v) == 5 && (v[0] == '+' || v[0] == '-') && isdigit((unsigned char)v[1]) &&
            isdigit((unsigned char)v[2]) && isdigit((unsigned char)v[3]) && isdigit((unsigned char)v[4]) &&
            (v[1] - '0') * 10 + (v[2] - '0') <= 14 && (v[3] - '0') * 10 + (v[4] - '0') <= 59)
            return true;
        snprintf(err, errlen, "+HHMM or -HHMM (e.g. +0100)");
        return false;
    }
    return false;
}

static void collect(struct console *c, struct spriv *sp)
{
    size_t n = 0;
    for (size_t b = 0; b < c->site->n_buses; b++)
        n += c->site->buses[b].n_slaves;
    free(sp->refs);
    sp->refs = calloc(n ? n : 1, sizeof *sp->refs);
    sp->n = 0;
    if (!sp->refs)
        return;
    for (size_t b = 0; b < c->site->n_buses; b++)
        for (size_t s = 0; s < c->site->buses[b].n_slaves; s++)
            sp->refs[sp->n++] = (struct slave_ref){b, s, -1};
}

static const struct site_device *bus_device(struct console *c, size_t bus)
{
    const struct site_bus *b = &c->site->buses[bus];
    for (size_t i = 0; i < c->site->n_devices; i++)
        if (c->site->devices[i].bus == b)
            return &c->site->devices[i];
    return NULL;
}

/* The slave's own link state when the adapter reported one, else its bus's. */
static const char *slave_link(struct console *c, const struct spriv *sp, const struct slave_ref *r,
                              const struct site_device *d)
{
    (void)c;
    (void)sp;
    if (d && d->link != LINK_UP)
        return site_link_name(d->link);
    if (r->link >= LINK_DOWN && r->link <= LINK_STALE)
        return site_link_name((enum link_state)r->link);
    return d ? site_link_name(d->link) : "?";
}

/* Slave link events carry the slave's address or name (drivers report a slave-level link change as an
 * EVENT_LINK with code = enum link_state). */
static void on_event(struct console *c, struct pane *p, const struct event *ev)
{
    struct spriv *sp = p->priv;
    if (ev->kind != EVENT_LINK || ev->code < LINK_DOWN || ev->code > LINK_STALE)
        return;
    for (size_t i = 0; i < sp->n; i++) {
        const struct site_slave *sl = &c->site->buses[sp->refs[i].bus].slaves[sp->refs[i].slave];
        if ((ev->addr[0] && strcasecmp(ev->addr, sl->addr) == 0) || strcasecmp(ev->device, sl->name) == 0)
            sp->refs[i].link = ev->code;
    }
}

static void draw_form(struct console *c, struct spriv *sp, int y, int x, int h, int w)
{
    const struct site_slave *sl = &c->site->buses[sp->editing_ref.bus].slaves[sp->editing_ref.slave];
    char title[200];
    snprintf(title, sizeof title, "Slave editor: %s (%s)%s", sl->name, sl->addr,
             sp->applying ? (sp->running ? "  applying..." : "  result") : sp->diffing ? "  changes to apply" : "");
    console_put(c, y, x, w, theme_attr(&c->th, TH_TITLE) | A_BOLD, title);
    console_put(c, y + 1, x, w, theme_attr(&c->th, TH_DIM),
                sp->applying ? (sp->running ? "  Esc closes (the results still arrive in the message line)"
                                            : "  Enter edits again, Esc closes")
                : sp->diffing ? "  y or Enter applies these changes, Esc goes back to the form"
                              : "  Up/Down move, type to edit, Enter reviews the changes, Esc cancels");
    if (!sp->diffing && !sp->applying && h > (int)NF + 3)
        console_put(c, y + (int)NF + 3, x, w, theme_attr(&c->th, TH_DIM), sp->read_note);
    int row = y + 2;
    for (size_t i = 0; i < NF && row < y + h; i++) {
        bool changed = strcmp(sp->orig[i], sp->val[i]) != 0;
        if (sp->applying && sp->ap[i] == AP_NONE)
            continue;
        if (sp->diffing && !changed)
            continue;
        char line[300];
        if (sp->diffing || sp->applying) {
            snprintf(line, sizeof line, "  %-22s %-12s -> %-12s ", fields[i].label,
                     sp->orig[i][0] ? sp->orig[i] : "(unset)", sp->val[i][0] ? sp->val[i] : "(unset)");
            console_put(c, row, x, w, theme_attr(&c->th, TH_WARN), line);
            if (sp->applying) {
                int px = x + (int)strlen(line);
                char res[160];
                enum theme_role role = sp->ap[i] == AP_OK ? TH_OK : sp->ap[i] == AP_FAILED ? TH_ALARM : TH_WARN;
                snprintf(res, sizeof res, "%s %s", sp->ap[i] == AP_OK ? c->th.check
                                                   : sp->ap[i] == AP_FAILED ? c->th.cross : c->th.ellipsis,
                         sp->ap_msg[i]);
                console_put(c, row, px, x + w - px, theme_attr(&c->th, role), res);
            }
            row++;
            continue;
        }
        snprintf(line, sizeof line, "  %-24s", fields[i].label);
        console_put(c, row, x, w, theme_attr(&c->th, changed ? TH_WARN : TH_NORMAL), line);
        attr_t fa = theme_attr(&c->th, sp->err[i][0] ? TH_FIELD_BAD : TH_FIELD);
        if (i == sp->cur)
            fa |= A_BOLD;
        console_fill(c, row, x + 27, 24, fa);
        console_put(c, row, x + 27, 24, fa, sp->val[i]);
        if (i == sp->cur)
            console_put(c, row, x + 27 + (int)strlen(sp->val[i]) % 24, 1, fa | A_REVERSE, " ");
        if (sp->err[i][0])
            console_put(c, row, x + 53, w - 53, theme_attr(&c->th, TH_ALARM), sp->err[i]);
        else if (changed)
            console_put(c, row, x + 53, w - 53, theme_attr(&c->th, TH_WARN), "changed");
        row++;
    }
}

static void draw(struct console *c, struct pane *p, int y, int x, int h, int w)
{
    struct spriv *sp = p->priv;
    if (sp->editing) {
        draw_form(c, sp, y, x, h, w);
        return;
    }
    if (files_view_is_open(sp->fv)) {
        files_view_draw(sp->fv, y, x, h, w);
        return;
    }
    char title[96];
    snprintf(title, sizeof title, "NiX1 slaves  %zu on %zu bus(es)", sp->n, c->site->n_buses);
    console_list_heading(c, p, y, x, w, h, title,
                         "Slave        Address          Bus      Link       Probes: door (unit)");
    listview_fix(&p->lv, sp->n, p->height);
    if (!sp->n) {
        console_put(c, y + 3, x + 2, w - 2, theme_attr(&c->th, TH_DIM), "The configuration has no NiX1 bus.");
        return;
    }
    for (int i = 0; i < p->height && p->lv.top + (size_t)i < sp->n; i++) {
        struct slave_ref *r = &sp->refs[p->lv.top + (size_t)i];
        const struct site_bus *b = &c->site->buses[r->bus];
        const struct site_slave *sl = &b->slaves[r->slave];
        const struct site_device *d = bus_device(c, r->bus);
        char pr[2][96], line[400];
        for (int k = 0; k < 2; k++) {
            if (!sl->probe_doors[k][0])
                snprintf(pr[k], sizeof pr[k], "%d: -", k + 1);
            else if (sl->probe_units[k] >= 0)
                snprintf(pr[k], sizeof pr[k], "%d: %s (%d)", k + 1, sl->probe_doors[k], sl->probe_units[k]);
            else
                snprintf(pr[k], sizeof pr[k], "%d: %s", k + 1, sl->probe_doors[k]);
        }
        char name_f[64], bus_f[48];
        textw_fit(name_f, sizeof name_f, sl->name, 12);
        textw_fit(bus_f, sizeof bus_f, b->name, 8);
        snprintf(line, sizeof line, "%s %-16s %s %-10.10s %s, %s", name_f, sl->addr, bus_f, slave_link(c, sp, r, d),
                 pr[0], pr[1]);
        bool sel = p->lv.top + (size_t)i == p->lv.sel;
        attr_t a = theme_attr(&c->th, sel ? TH_SELECTED : (d && d->link == LINK_UP) ? TH_NORMAL : TH_DIM);
        console_put(c, y + 2 + i, x, w, a, line);
    }
}

/* The slave's own settings replace the configuration's defaults: fields not edited yet take the slave's
 * value; an edited field keeps what was typed and is now compared with the slave's value. */
struct read_ctx {
    struct console *c;
    unsigned gen;
};

static void read_done(void *arg, const struct device_setting *v, size_t n, const char *error)
{
    struct read_ctx *rx = arg;
    struct console *c = rx->c;
    struct pane *p = c->panes[PANE_SLAVES];
    struct spriv *sp = p ? p->priv : NULL;
    if (sp && sp->editing && sp->reading && sp->read_gen == rx->gen) {
        sp->reading = false;
        size_t used = 0;
        for (size_t k = 0; k < n; k++)
            for (size_t i = 0; i < NF; i++) {
                if (strcmp(v[k].key, fields[i].key) != 0)
                    continue;
                if (strcmp(sp->val[i], sp->orig[i]) == 0)
                    snprintf(sp->val[i], sizeof sp->val[i], "%s", v[k].value);
                snprintf(sp->orig[i], sizeof sp->orig[i], "%s", v[k].value);
                used++;
            }
        if (error)
            snprintf(sp->read_note, sizeof sp->read_note, "  %zu value(s) read from the slave; the others are "
                     "defaults. %s", used, error);
        else
            snprintf(sp->read_note, sizeof sp->read_note, "  Values read from the slave (the baud rate is the "
                     "bus's).");
        c->dirty = true;
    }
    free(rx);
}

static void read_slave(struct console *c, struct spriv *sp)
{
    const struct site_device *d = bus_device(c, sp->editing_ref.bus);
    struct read_ctx *rx = calloc(1, sizeof *rx);
    char err[160] = "";
    sp->read_gen++;
    sp->reading = false;
    if (rx && d) {
        rx->c = c;
        rx->gen = sp->read_gen;
        sp->reading = true;
        if (device_slave_get(c->site, d->index, sp->editing_ref.slave, read_done, rx, err, sizeof err) == 0) {
            snprintf(sp->read_note, sizeof sp->read_note, "  Reading the slave's settings...");
            return;
        }
        sp->reading = false;
    }
    free(rx);
    snprintf(sp->read_note, sizeof sp->read_note, "  Values start from the configuration and the slave's factory "
             "defaults (spec 5.7)%s%s.", err[0] ? ": " : "", err);
}

static void open_editor(struct console *c, struct spriv *sp, size_t idx)
{
    struct slave_ref *r = &sp->refs[idx];
    const struct site_slave *sl = &c->site->buses[r->bus].slaves[r->slave];
    const struct site_bus *b = &c->site->buses[r->bus];
    sp->editing = true;
    sp->diffing = false;
    sp->applying = false;
    sp->cur = 0;
    sp->editing_ref = *r;
    /* Start from what the configuration says; fields the configuration does not hold start at the
     * slave factory defaults (§5.7). */
    static const char *const defaults[NF] = {"0", "0", "", "", "0", "", "5", "5", "1", "0", "0", "9600", "+0000"};
    for (size_t i = 0; i < NF; i++) {
        snprintf(sp->orig[i], sizeof sp->orig[i], "%s", defaults[i]);
        sp->err[i][0] = '\0';
    }
    if (sl->probe_units[0] >= 0)
        snprintf(sp->orig[2], sizeof sp->orig[2], "%d", sl->probe_units[0]);
    if (sl->probe_units[1] >= 0)
        snprintf(sp->orig[3], sizeof sp->orig[3], "%d", sl->probe_units[1]);
    snprintf(sp->orig[11], sizeof sp->orig[11], "%u", b->baud);
    memcpy(sp->val, sp->orig, sizeof sp->val);
    read_slave(c, sp);
}

/* The slave-set action's progress: one result per setting, matched to the form's field by its key. The
 * pane is looked up again at each call (the console may have been torn down meanwhile). */
struct apply_ctx {
    struct console *c;
    struct slave_ref ref;
};

static void apply_progress(const struct action_run *run, bool finished, void *arg)
{
    struct apply_ctx *ax = arg;
    struct console *c = ax->c;
    struct pane *p = c->panes[PANE_SLAVES];
    struct spriv *sp = p ? p->priv : NULL;
    bool same = sp && sp->applying && sp->editing_ref.bus == ax->ref.bus && sp->editing_ref.slave == ax->ref.slave;
    for (size_t k = 0; same && k < run->n_results; k++) {
        const struct action_target_result *t = &run->results[k];
        for (size_t i = 0; i < NF; i++) {
            if (strcmp(t->label, fields[i].key) != 0)
                continue;
            sp->ap[i] = t->progress == PROGRESS_OK ? AP_OK : t->progress == PROGRESS_FAILED ? AP_FAILED : AP_PENDING;
            snprintf(sp->ap_msg[i], sizeof sp->ap_msg[i], "%s", t->progress == PROGRESS_PENDING ? "sending" : t->message);
            if (finished && t->progress == PROGRESS_OK)
                snprintf(sp->orig[i], sizeof sp->orig[i], "%s", sp->val[i]); /* now the slave's value */
        }
    }
    if (finished) {
        if (same)
            sp->running = false;
        if (run->status == ACTION_OK)
            console_message(c, TH_OK, "%s: %u setting(s) applied", run->target, run->confirmed);
        else if (run->status == ACTION_PARTIAL)
            console_message(c, TH_WARN, "%s: %u setting(s) applied, %u FAILED", run->target, run->confirmed,
                            run->failed);
        else
        {
            const char *why = run->error[0] ? run->error : run->n_results ? run->results[0].message : "";
            console_message(c, TH_ALARM, "%s: settings NOT applied (%s)%s%s", run->target,
                            action_status_name(run->status), why[0] ? ": " : "", why);
        }
        if (c->running_actions)
            c->running_actions--;
        free(ax);
    }
    c->dirty = true;
}

static void apply_changes(struct console *c, struct spriv *sp)
{
    const struct site_slave *sl = &c->site->buses[sp->editing_ref.bus].slaves[sp->editing_ref.slave];
    char settings[NF * (CRON_TEXT_MAX + 40)];
    struct strbuf sb;
    STRBUF_ON(&sb, settings); /* sized for every field at its longest: never cut */
    for (size_t i = 0; i < NF; i++) {
        sp->ap[i] = AP_NONE;
        sp->ap_msg[i][0] = '\0';
        if (strcmp(sp->orig[i], sp->val[i]) == 0)
            continue;
        strbuf_printf(&sb, "%s=%s\n", fields[i].key, sp->val[i]);
        sp->ap[i] = AP_PENDING;
        snprintf(sp->ap_msg[i], sizeof sp->ap_msg[i], "sending");
    }
    sp->diffing = false;
    sp->applying = true;
    sp->running = true;
    struct apply_ctx *ax = calloc(1, sizeof *ax);
    if (!ax) {
        console_message(c, TH_ALARM, "out of memory");
        sp->applying = sp->running = false;
        return;
    }
    ax->c = c;
    ax->ref = sp->editing_ref;
    struct action_params params = {.settings = settings};
    c->running_actions++;
    char err[256] = "";
    if (action_run(c->site, &c->user, ACTION_SLAVE_SET, sl->addr, &params, apply_progress, ax, err, sizeof err) < 0) {
        /* refused or denied: the callback has run and said why; nothing was sent */
        for (size_t i = 0; i < NF; i++)
            if (sp->ap[i] == AP_PENDING) {
                sp->ap[i] = AP_FAILED;
                snprintf(sp->ap_msg[i], sizeof sp->ap_msg[i], "not sent: %s", err);
            }
        sp->running = false;
    }
}

static unsigned form_key_inner(struct console *c, struct pane *p, int key);

static unsigned form_key(struct console *c, struct pane *p, int key)
{
    struct spriv *sp = p->priv;
    if (!sp->editing && files_view_is_open(sp->fv)) {
        p->typing = false;
        return files_view_key(sp->fv, key);
    }
    unsigned res = form_key_inner(c, p, key);
    p->typing = sp->editing && !sp->diffing && !sp->applying;
    return res;
}

static unsigned form_key_inner(struct console *c, struct pane *p, int key)
{
    struct spriv *sp = p->priv;
    if (!sp->editing)
        return 0;
    c->dirty = true;
    if (sp->applying) {
        if (key == 27 || key == 'q') {
            sp->editing = sp->applying = false;
        } else if (!sp->running && (key == '\n' || key == '\r' || key == KEY_ENTER)) {
            sp->applying = false; /* edit again from the values the slave now has */
            for (size_t i = 0; i < NF; i++)
                sp->err[i][0] = '\0';
        } else {
            return (keys_fkey(key) || key == KEY_RESIZE) ? 0 : PANE_HANDLED;
        }
        return PANE_HANDLED;
    }
    if (sp->diffing) {
        if (key == 'y' || key == 'Y' || key == '\n' || key == '\r' || key == KEY_ENTER) {
            apply_changes(c, sp);
        } else if (key == 27 || key == 'n') {
            sp->diffing = false;
        } else {
            return (keys_fkey(key) || key == KEY_RESIZE) ? 0 : PANE_HANDLED;
        }
        return PANE_HANDLED;
    }
    char *v = sp->val[sp->cur];
    size_t len = strlen(v);
    switch (key) {
    case 27: sp->editing = false; console_message(c, TH_INFO, "Slave editor: no change made"); break;
    case KEY_UP: case KEY_BTAB: sp->cur = sp->cur ? sp->cur - 1 : NF - 1; break;
    case KEY_DOWN: case '\t': sp->cur = (sp->cur + 1) % NF; break;
    case '\n': case '\r': case KEY_ENTER: {
        size_t bad = 0, changed = 0;
        for (size_t i = 0; i < NF; i++) {
            if (!field_valid(&fields[i], sp->val[i], sp->err[i], sizeof sp->err[i]))
                bad++;
            if (strcmp(sp->orig[i], sp->val[i]) != 0)
                changed++;
        }
        if (sp->reading)
            console_message(c, TH_INFO, "Still reading the slave's settings");
        else if (bad)
            console_message(c, TH_WARN, "%zu field(s) do not validate", bad);
        else if (!changed)
            console_message(c, TH_INFO, "Nothing changed");
        else
            sp->diffing = true;
        break;
    }
    case KEY_BACKSPACE: case 127: case 8:
        if (len)
            v[len - 1] = '\0';
        field_valid(&fields[sp->cur], v, sp->err[sp->cur], sizeof sp->err[sp->cur]);
        break;
    case 21: /* C-u */
        v[0] = '\0';
        field_valid(&fields[sp->cur], v, sp->err[sp->cur], sizeof sp->err[sp->cur]);
        break;
    default:
        if (key >= 0x20 && key < 0x7f && len + 1 < CRON_TEXT_MAX) {
            v[len] = (char)key;
            v[len + 1] = '\0';
            field_valid(&fields[sp->cur], v, sp->err[sp->cur], sizeof sp->err[sp->cur]);
        } else {
            return 0; /* F-keys etc. fall through to the global map */
        }
    }
    return PANE_HANDLED;
}

static unsigned request(struct console *c, struct pane *p, enum req r)
{
    struct spriv *sp = p->priv;
    unsigned res = listview_request(&p->lv, r, sp->n, p->height);
    if (res)
        return res;
    const char *slave = sp->n && p->lv.sel < sp->n
                            ? c->site->buses[sp->refs[p->lv.sel].bus].slaves[sp->refs[p->lv.sel].slave].name
                            : NULL;
    switch (r) {
    case REQ_SLAVE_EDIT:
    case REQ_ENTER:
        if (!sp->n)
            return PANE_HANDLED;
        if (r == REQ_SLAVE_EDIT && !console_allowed_on(c, r, slave))
            return PANE_HANDLED | PANE_REDRAW;
        if (r == REQ_ENTER && !request_allowed(REQ_SLAVE_EDIT, c->user.role, c->readonly)) {
            console_allowed_on(c, REQ_SLAVE_EDIT, slave);
            return PANE_HANDLED;
        }
        open_editor(c, sp, p->lv.sel);
        p->typing = true;
        return PANE_HANDLED | PANE_REDRAW;
    case REQ_SLAVE_FILES:
    case REQ_SLAVE_PROVISION:
        if (!sp->n || !console_allowed_on(c, r, slave))
            return PANE_HANDLED | PANE_REDRAW;
        if (!sp->fv) {
            console_message(c, TH_ALARM, "out of memory");
            return PANE_HANDLED | PANE_REDRAW;
        }
        if (!files_view_is_open(sp->fv))
            files_view_open(sp->fv, sp->refs[p->lv.sel].bus, sp->refs[p->lv.sel].slave);
        if (r == REQ_SLAVE_PROVISION)
            files_view_provision(sp->fv);
        return PANE_HANDLED | PANE_REDRAW;
    default:
        return 0;
    }
}

static void pane_free(struct pane *p)
{
    struct spriv *sp = p->priv;
    if (sp) {
        free(sp->refs);
        files_view_free(sp->fv);
    }
    free(sp);
}

struct pane *pane_slaves_new(struct console *c)
{
    static const struct pane proto = {.title = "Slaves", .scope = SCOPE_SLAVES, .is_list = true, .draw = draw,
                                      .request = request, .key = form_key, .on_event = on_event, .free = pane_free};
    struct spriv *sp = calloc(1, sizeof *sp);
    struct pane *p = sp ? pane_new(&proto, sp) : NULL;
    if (!p) {
        free(sp);
        return NULL;
    }
    collect(c, sp);
    sp->fv = files_view_new(c);
    return p;
}
