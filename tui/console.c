/* console: shared state helpers: event windows, filters, list movement, dialogs, running actions. */
#include "tui/console.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <wchar.h>

#include <curses.h>

#include "core/proto.h"
#include "core/textfold.h"
#include "core/strbuf.h"
#include "core/timespec.h"
#include "tui/textw.h"

/* ---- ring ---- */
int ring_init(struct ring *r, size_t cap)
{
    memset(r, 0, sizeof *r);
    r->ev = calloc(cap, sizeof *r->ev);
    if (!r->ev)
        return -1;
    r->cap = cap;
    return 0;
}

void ring_free(struct ring *r)
{
    free(r->ev);
    memset(r, 0, sizeof *r);
}

void ring_push(struct ring *r, const struct event *ev)
{
    if (!r->cap)
        return;
    r->ev[r->head] = *ev;
    r->head = (r->head + 1) % r->cap;
    if (r->count < r->cap)
        r->count++;
    r->total++;
}

const struct event *ring_get(const struct ring *r, size_t i)
{
    if (i >= r->count)
        return NULL;
    return &r->ev[(r->head + r->cap - 1 - i) % r->cap];
}

void ring_mark_stored(struct ring *r, uint64_t seq, int64_t id)
{
    /* Newest first and seq ascending with age: binary search on i. */
    size_t lo = 0, hi = r->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        struct event *ev = &r->ev[(r->head + r->cap - 1 - mid) % r->cap];
        if (ev->seq == seq) {
            ev->journaled = true;
            ev->queued = false;
            ev->id = id;
            return;
        }
        if (ev->seq > seq)
            lo = mid + 1;
        else
            hi = mid;
    }
}

const char *console_stored_text(const struct event *ev)
{
    return ev->journaled ? "stored" : ev->queued ? "NOT YET STORED (kept in memory)" : "NOT STORED";
}

const char *console_code_text(const struct event *ev, char *buf, size_t len)
{
    if (ev->kind == EVENT_NIX1_ACCESS)
        snprintf(buf, len, "0x%02X", (unsigned)ev->code & 0xFFu);
    else
        snprintf(buf, len, "%d", ev->code);
    return buf;
}

/* ---- filter ---- */
void filter_clear(struct filter *f)
{
    memset(f, 0, sizeof *f);
    f->kind = -1;
    f->min_severity = -1;
}

bool filter_active(const struct filter *f)
{
    return f->text[0] || f->door[0] || f->device[0] || f->kind >= 0 || f->min_severity >= 0 || f->since_us ||
           f->until_us;
}

int filter_parse(struct filter *f, const char *spec, char *err, size_t errlen)
{
    struct filter nf;
    filter_clear(&nf);
    snprintf(nf.text, sizeof nf.text, "%s", f->text);
    char words[128];
    struct strbuf wb;
    STRBUF_ON(&wb, words);
    const char *p = spec ? spec : "";
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        char tok[160];
        size_t tl = 0;
        bool quoted = false;
        while (*p && (quoted || *p != ' ')) {
            if (*p == '"') {
                quoted = !quoted;
                p++;
                continue;
            }
            if (tl + 1 < sizeof tok)
                tok[tl++] = *p;
            p++;
        }
        tok[tl] = '\0';
        char *colon = strchr(tok, ':');
        const char *val = colon ? colon + 1 : NULL;
        if (colon && strncasecmp(tok, "door:", 5) == 0) {
            snprintf(nf.door, sizeof nf.door, "%s", val);
        } else if (colon && strncasecmp(tok, "device:", 7) == 0) {
            snprintf(nf.device, sizeof nf.device, "%s", val);
        } else if (colon && strncasecmp(tok, "kind:", 5) == 0) {
            nf.kind = event_kind_from_name(val);
            if (nf.kind < 0) {
                snprintf(err, errlen, "unknown kind '%s' (access, door, nix1-access, link, command, gap, "
                         "emergency, operator, system)", val);
                return -1;
            }
        } else if (colon && (strncasecmp(tok, "sev:", 4) == 0 || strncasecmp(tok, "severity:", 9) == 0)) {
            nf.min_severity = event_severity_from_name(val);
            if (nf.min_severity < 0) {
                snprintf(err, errlen, "unknown severity '%s' (normal, warning, alarm)", val);
                return -1;
            }
        } else if (colon && (strncasecmp(tok, "since:", 6) == 0 || strncasecmp(tok, "until:", 6) == 0)) {
            bool since = tolower((unsigned char)tok[0]) == 's';
            char why[160];
            if (timespec_parse(val, event_now_us(), since ? &nf.since_us : &nf.until_us, why, sizeof why) < 0) {
                snprintf(err, errlen, "%s %s", since ? "since:" : "until:", why);
                return -1;
            }
        } else {
            strbuf_sep(&wb, " ");
            strbuf_puts(&wb, tok); /* search text longer than the filter keeps is cut at a whole character */
        }
    }
    if (strbuf_len(&wb))
        snprintf(nf.text, sizeof nf.text, "%s", words);
    *f = nf;
    return 0;
}

static bool contains(const char *hay, const char *needle)
{
    return textfold_contains(hay, needle);
}

bool filter_match(const struct filter *f, const struct event *ev)
{
    if (f->door[0] && !textfold_equal(f->door, ev->door))
        return false;
    if (f->device[0] && !textfold_equal(f->device, ev->device))
        return false;
    if (f->kind >= 0 && (int)ev->kind != f->kind)
        return false;
    if (f->min_severity >= 0 && (int)ev->severity < f->min_severity)
        return false;
    if (f->since_us && ev->host_time_us < f->since_us)
        return false;
    if (f->until_us && ev->host_time_us >= f->until_us)
        return false;
    if (f->text[0]) {
        char num[24];
        snprintf(num, sizeof num, "%u", ev->card);
        if (!contains(ev->text, f->text) && !contains(ev->code_name, f->text) && !contains(ev->uid, f->text) &&
            !contains(ev->device, f->text) && !contains(ev->door, f->text) && !(ev->card && contains(num, f->text)))
            return false;
    }
    return true;
}

void filter_describe(const struct filter *f, char *buf, size_t len)
{
    struct strbuf sb;
    strbuf_init(&sb, buf, len);
#define ADD(...) strbuf_printf(&sb, __VA_ARGS__)
    if (f->text[0]) ADD("/%s ", f->text);
    if (f->door[0]) ADD("door:%s ", f->door);
    if (f->device[0]) ADD("device:%s ", f->device);
    if (f->kind >= 0) ADD("kind:%s ", event_kind_name((enum event_kind)f->kind));
    if (f->min_severity >= 0) ADD("sev:%s ", event_severity_name((enum event_severity)f->min_severity));
    if (f->since_us) {
        char t[32];
        event_format_time(f->since_us, t, sizeof t);
        ADD("since:%s ", t);
    }
    if (f->until_us) {
        char t[32];
        event_format_time(f->until_us, t, sizeof t);
        ADD("until:%s ", t);
    }
#undef ADD
    if (strbuf_len(&sb) && buf[strbuf_len(&sb) - 1] == ' ')
        buf[strbuf_len(&sb) - 1] = '\0';
}

/* ---- list view ---- */
void listview_fix(struct listview *lv, size_t count, int height)
{
    size_t h = height > 0 ? (size_t)height : 1;
    if (count == 0) {
        lv->sel = lv->top = 0;
        return;
    }
    if (lv->sel >= count)
        lv->sel = count - 1;
    if (lv->sel < lv->top)
        lv->top = lv->sel;
    if (lv->sel >= lv->top + h)
        lv->top = lv->sel - h + 1;
    if (lv->top + h > count)
        lv->top = count > h ? count - h : 0;
}

unsigned listview_request(struct listview *lv, enum req r, size_t count, int height)
{
    size_t h = height > 1 ? (size_t)height - 1 : 1;
    switch (r) {
    case REQ_UP: if (lv->sel > 0) lv->sel--; break;
    case REQ_DOWN: if (lv->sel + 1 < count) lv->sel++; break;
    case REQ_PAGE_UP: lv->sel = lv->sel > h ? lv->sel - h : 0; break;
    case REQ_PAGE_DOWN: lv->sel = count ? (lv->sel + h < count ? lv->sel + h : count - 1) : 0; break;
    case REQ_FIRST: lv->sel = 0; break;
    case REQ_LAST: lv->sel = count ? count - 1 : 0; break;
    default: return 0;
    }
    listview_fix(lv, count, height);
    return PANE_HANDLED | PANE_REDRAW;
}

/* ---- messages and dialogs ---- */
void console_dirty(struct console *c)
{
    c->dirty = true;
}

struct pane *pane_new(const struct pane *proto, void *priv)
{
    struct pane *p = malloc(sizeof *p);
    if (!p)
        return NULL;
    *p = *proto;
    p->priv = priv;
    return p;
}

void console_message(struct console *c, enum theme_role role, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
    c->msg_role = role;
    c->msg_until_ms = (int64_t)loop_now_ms(c->loop) + 8000;
    c->dirty = true;
}

void console_confirm(struct console *c, const char *title, const char *prompt, dialog_fn done, void *arg)
{
    memset(&c->dlg, 0, sizeof c->dlg);
    c->dlg.kind = DLG_CONFIRM;
    snprintf(c->dlg.title, sizeof c->dlg.title, "%s", title);
    snprintf(c->dlg.prompt, sizeof c->dlg.prompt, "%s", prompt);
    c->dlg.done = done;
    c->dlg.arg = arg;
    c->dirty = true;
}

void console_input(struct console *c, const char *title, const char *prompt, const char *initial,
                   dialog_validate_fn validate, dialog_fn done, void *arg)
{
    memset(&c->dlg, 0, sizeof c->dlg);
    c->dlg.kind = DLG_INPUT;
    snprintf(c->dlg.title, sizeof c->dlg.title, "%s", title);
    snprintf(c->dlg.prompt, sizeof c->dlg.prompt, "%s", prompt);
    snprintf(c->dlg.input, sizeof c->dlg.input, "%s", initial ? initial : "");
    c->dlg.len = strlen(c->dlg.input);
    c->dlg.validate = validate;
    c->dlg.done = done;
    c->dlg.arg = arg;
    c->dirty = true;
}

/* ---- the filter's dialogs ---- */
static void filter_search_done(struct console *c, bool ok, const char *text, void *arg)
{
    (void)arg;
    if (!ok)
        return;
    struct strbuf sb; /* longer than the filter keeps: cut at a whole character */
    strbuf_init(&sb, c->filter_edit.f->text, sizeof c->filter_edit.f->text);
    strbuf_puts(&sb, text);
    c->filter_edit.changed(c, c->filter_edit.arg);
}

/* arg: the console. An empty time range is refused as portierctl refuses it. */
static bool filter_fields_valid(const char *text, char *err, size_t errlen, void *arg)
{
    (void)arg;
    struct filter f;
    filter_clear(&f);
    return filter_parse(&f, text, err, errlen) == 0 && site_check_range(f.since_us, f.until_us, err, errlen) == 0;
}

static void filter_fields_done(struct console *c, bool ok, const char *text, void *arg)
{
    (void)arg;
    if (!ok)
        return;
    char err[400];
    if (!filter_fields_valid(text, err, sizeof err, c) || filter_parse(c->filter_edit.f, text, err, sizeof err) < 0) {
        console_message(c, TH_WARN, "%s", err);
        return;
    }
    c->filter_edit.changed(c, c->filter_edit.arg);
    /* a door or device the site does not have: taken (the journal keeps a removed one's rows), and said */
    const struct filter *f = c->filter_edit.f;
    if (site_check_names(c->site, f->door[0] ? f->door : NULL, f->device[0] ? f->device : NULL, err, sizeof err) < 0)
        console_message(c, TH_WARN, "%s: only past rows can match", err);
}

static void filter_edit_on(struct console *c, struct filter *f, filter_changed_fn changed, void *arg)
{
    c->filter_edit.f = f;
    c->filter_edit.changed = changed;
    c->filter_edit.arg = arg;
}

void console_filter_search(struct console *c, const char *title, const char *prompt, struct filter *f,
                           filter_changed_fn changed, void *arg)
{
    filter_edit_on(c, f, changed, arg);
    console_input(c, title, prompt, f->text, NULL, filter_search_done, NULL);
}

void console_filter_fields(struct console *c, const char *title, struct filter *f, filter_changed_fn changed,
                           void *arg)
{
    filter_edit_on(c, f, changed, arg);
    console_input(c, title,
                  "door:NAME device:NAME kind:KIND sev:normal|warning|alarm\n"
                  "since:/until: HH:MM YYYY-MM-DD -2h yesterday  (empty = none)",
                  "", filter_fields_valid, filter_fields_done, c);
}

void console_info(struct console *c, const char *title, const char *text)
{
    memset(&c->dlg, 0, sizeof c->dlg);
    c->dlg.kind = DLG_INFO;
    snprintf(c->dlg.title, sizeof c->dlg.title, "%s", title);
    snprintf(c->dlg.prompt, sizeof c->dlg.prompt, "%s", text);
    c->dirty = true;
}

/* ---- actions ---- */
bool console_allowed(struct console *c, enum req r) { return console_allowed_on(c, r, NULL); }

bool console_allowed_on(struct console *c, enum req r, const char *target)
{
    if (request_allowed(r, c->user.role, c->readonly))
        return true;
    const struct request_info *ri = request_info(r);
    if (c->readonly) {
        console_message(c, TH_WARN, "Read-only console: '%s' is not available", ri->help);
        return false;
    }
    console_message(c, TH_WARN, "Not allowed for role %s (needs %s): %s", role_name(c->user.role),
                    role_name(ri->action >= 0 && ri->action < ACTION_COUNT ? action_table[ri->action].min_role
                                                                           : ROLE_TECHNICIAN), ri->help);
    /* The refused attempt is audited by whoever decides roles: this site's action_run in direct mode, portierd
     * through a mirror (the attempt flag: nothing runs even where the owner's role would allow it). */
    int id = ri->action == REQ_ACTION_SLAVE ? (r == REQ_SLAVE_PROVISION ? ACTION_SLAVE_PROVISION : ACTION_SLAVE_FILE_PUT)
                                            : ri->action;
    if (id >= 0 && id < ACTION_COUNT) {
        struct action_params p = { .attempt_only = true };
        (void)action_run(c->site, &c->user, (enum action_id)id, target, &p, NULL, NULL, NULL, 0);
    }
    return false;
}

struct action_ctx {
    struct console *c;
    enum req r;
    enum action_id id;
    size_t output;           /* the output the operator selected, SIZE_MAX if none */
};

static void set_progress(struct console *c, size_t out, enum progress pr, const char *text)
{
    if (!c->out_progress || out >= c->site->n_outputs)
        return;
    struct output_progress *p = &c->out_progress[out];
    p->progress = pr;
    snprintf(p->text, sizeof p->text, "%s", text);
    p->when_us = event_now_us();
}

static const char *result_name(const struct console *c, const struct action_target_result *tr)
{
    return tr->output < c->site->n_outputs ? c->site->outputs[tr->output].name
           : tr->device < c->site->n_devices ? c->site->devices[tr->device].name : "?";
}

static void update_emergency(struct console *c, const struct action_run *run, bool finished)
{
    c->em.confirmed = run->confirmed;
    c->em.pending = run->pending;
    c->em.failed = run->failed;
    c->em.total = (unsigned)run->n_results;
    /* the failed doors as a client of portierd shows them (proto_emergency_failures_text): those that failed for
     * the same reason together and their names first ("Front, Back (offline), Garage (refused)"), so that the
     * banner's line cut at the screen's width still names the doors */
    static struct proto_emergency pe;
    memset(&pe, 0, sizeof pe);
    for (size_t i = 0; i < run->n_results; i++)
        if (run->results[i].progress == PROGRESS_FAILED)
            proto_emergency_add_failed(&pe, result_name(c, &run->results[i]), run->results[i].message);
    proto_emergency_failures_text(&pe, c->em.failures, sizeof c->em.failures);
    if (finished)
        c->em.running = false;
}

static void action_progress(const struct action_run *run, bool finished, void *arg)
{
    struct action_ctx *ax = arg;
    struct console *c = ax->c;
    for (size_t i = 0; i < run->n_results; i++) {
        const struct action_target_result *tr = &run->results[i];
        if (tr->output == SIZE_MAX)
            continue;
        char text[128];
        snprintf(text, sizeof text, "%s: %s", run->def->name,
                 tr->progress == PROGRESS_PENDING ? "pending" : tr->message);
        set_progress(c, tr->output, tr->progress, text);
    }
    if (ax->id == ACTION_EMERGENCY_ON || ax->id == ACTION_EMERGENCY_OFF)
        update_emergency(c, run, finished);
    if (finished && ax->output != SIZE_MAX) {
        /* A device-wide action (cancel alarm) chosen on an output: show its outcome there too. */
        bool reported = false;
        for (size_t i = 0; i < run->n_results; i++)
            reported = reported || run->results[i].output == ax->output;
        if (!reported) {
            char text[128];
            const char *msg = run->n_results && run->results[0].message[0] ? run->results[0].message
                                                                             : action_status_name(run->status);
            snprintf(text, sizeof text, "%s: %s", run->def->name, run->error[0] ? run->error : msg);
            set_progress(c, ax->output, run->status == ACTION_OK ? PROGRESS_OK : PROGRESS_FAILED, text);
        }
    }
    if (finished) {
        /* The outcome, and whether its audit row could be stored (only the emergency runs without). */
        char done[160], audit[200] = "";
        bool audit_trouble = run->audit_kept || run->audit_lost;
        if (audit_trouble)
            snprintf(audit, sizeof audit, "; its audit row is %s (journal: %s)",
                     run->audit_kept ? "NOT YET STORED (kept in memory)" : "NOT STORED", run->audit_why);
        enum theme_role role = TH_ALARM;
        if (run->status == ACTION_OK) {
            snprintf(done, sizeof done, "done");
            role = TH_OK;
        } else if (run->status == ACTION_PARTIAL) {
            snprintf(done, sizeof done, "partly done (%u ok, %u failed)", run->confirmed, run->failed);
            role = TH_WARN;
        } else {
            /* Say why: the action's own error (unless it is the audit note), else the first failed target. */
            const char *why = audit_trouble ? "" : run->error;
            for (size_t i = 0; !why[0] && i < run->n_results; i++)
                if (run->results[i].progress == PROGRESS_FAILED)
                    why = run->results[i].message;
            snprintf(done, sizeof done, "%s%s%s", action_status_name(run->status), why[0] ? ": " : "", why);
        }
        console_message(c, audit_trouble ? TH_ALARM : role, "%s %s: %s%s", run->def->name, run->target, done, audit);
        if (c->running_actions)
            c->running_actions--;
        free(ax);
    }
    c->dirty = true;
}

void console_recover(struct console *c)
{
    struct action_ctx *ax = calloc(1, sizeof *ax);
    bool resumed = false;
    if (ax) {
        ax->c = c;
        ax->r = REQ_EMERGENCY;
        ax->id = ACTION_EMERGENCY_ON;
        ax->output = SIZE_MAX;
        c->em.running = c->em.on = true;
        c->running_actions++;
    }
    int closed = action_recover(c->site, !c->readonly && ax, ax ? action_progress : NULL, ax, &resumed);
    if (ax && !resumed) {
        c->em.running = c->em.on = false;
        c->running_actions--;
        free(ax);
    }
    c->em.resumed = c->site->emergency_active;
    if (c->site->emergency_active)
        console_message(c, TH_CRIT, "EMERGENCY begun before this console started: still active%s",
                        resumed ? "; completing it on the doors that never got it" : "");
    else if (closed > 0)
        console_message(c, TH_WARN, "%d action%s of an earlier run ended without a result (audit: interrupted)",
                        closed, closed == 1 ? "" : "s");
    c->dirty = true;
}

int console_action(struct console *c, enum req r, enum action_id id, const char *target, unsigned value,
                   bool has_value)
{
    if (!console_allowed_on(c, r, target))
        return -1;
    struct action_ctx *ax = calloc(1, sizeof *ax);
    if (!ax) {
        console_message(c, TH_ALARM, "out of memory");
        return -1;
    }
    ax->c = c;
    ax->r = r;
    ax->id = id;
    struct action_params params = {.value = value, .has_value = has_value};
    if (id == ACTION_EMERGENCY_ON || id == ACTION_EMERGENCY_OFF) {
        c->em.resumed = false;
        c->em.running = true;
        c->em.on = id == ACTION_EMERGENCY_ON;
        c->em.confirmed = c->em.pending = c->em.failed = c->em.total = 0;
        c->em.failures[0] = '\0';
    }
    ax->output = SIZE_MAX;
    if (target) {
        struct site_output *o = site_find_output(c->site, target);
        if (o) {
            ax->output = o->index;
            set_progress(c, o->index, PROGRESS_PENDING, "sending");
        }
    }
    c->running_actions++;
    char err[256] = "";
    int rc = action_run(c->site, &c->user, id, target, &params, action_progress, ax, err, sizeof err);
    /* On refusal the callback ran (finished) and freed ax. */
    c->dirty = true;
    return rc;
}

/* ---- drawing helpers ---- */
const char *console_event_rest(const struct event *ev)
{
    const char *name = ev->code_name;
    size_t nl = strlen(name);
    if (!nl || strncmp(ev->text, name, nl) != 0)
        return ev->text;
    const char *rest = ev->text + nl;
    while (*rest == ' ' || *rest == ':' || *rest == ',')
        rest++;
    return rest;
}

enum theme_role console_event_role(const struct event *ev)
{
    switch (ev->severity) {
    case EVENT_ALARM: return TH_ALARM;
    case EVENT_WARNING: return TH_WARN;
    default: break;
    }
    if (ev->kind == EVENT_NIX1_ACCESS || ev->kind == EVENT_ACCESS)
        return ev->code == 0 ? TH_OK : TH_NORMAL;
    if (ev->kind == EVENT_LINK || ev->kind == EVENT_SYSTEM || ev->kind == EVENT_GAP)
        return TH_INFO;
    return TH_NORMAL;
}

void console_fill(struct console *c, int y, int x, int w, attr_t attr)
{
    if (y < 0 || y >= c->rows || w <= 0)
        return;
    attrset(attr);
    mvhline(y, x, ' ', w);
    attrset(A_NORMAL);
}

void console_list_heading(struct console *c, struct pane *p, int y, int x, int w, int h, const char *title,
                          const char *columns)
{
    console_put(c, y, x, w, theme_attr(&c->th, TH_TITLE) | A_BOLD, title);
    console_fill(c, y + 1, x, w, theme_attr(&c->th, TH_TITLE));
    console_put(c, y + 1, x, w, theme_attr(&c->th, TH_TITLE), columns);
    p->height = h - 2;
}

/* Print at most w display cells (whole characters; what textw_char cannot show as itself is one '?'). */
void console_put(struct console *c, int y, int x, int w, attr_t attr, const char *s)
{
    if (y < 0 || y >= c->rows || x >= c->cols || w <= 0 || !s)
        return;
    if (x + w > c->cols)
        w = c->cols - x;
    attrset(attr);
    move(y, x);
    int used = 0;
    size_t len = strlen(s);
    while (len && used < w) {
        int cw, show;
        size_t n = textw_char(s, len, &cw, &show);
        if (used + cw > w)
            break;
        if (show)
            addnstr(s, (int)n);
        else
            addch('?');
        used += cw;
        s += n;
        len -= n;
    }
    attrset(A_NORMAL);
}
