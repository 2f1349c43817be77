/* pane_history: the journal (searchable with `/`, filterable with `\` by door, device, kind, severity and
 * time) and the operator audit trail, newest first, paged from SQLite through core/journal.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>

#include "client/remote.h"
#include "core/proto.h"
#include "tui/textw.h"
#include "tui/console.h"

#define PAGE 200
#define MAX_ROWS 2000 /* bounded: older rows stay in the journal */

struct hist {
    bool audit;
    bool loaded, more;
    struct filter f;
    size_t n;
    struct event *ev;
    bool *acked;
    struct audit_record *au;
    char error[160];
    unsigned gen;            /* as a client of portierd: which load the answers in flight belong to */
    bool waiting;            /* ... and one is in flight */
};

static int ev_cb(const struct event *ev, bool acked, void *arg)
{
    struct hist *h = arg;
    if (h->n >= MAX_ROWS)
        return 1;
    h->ev[h->n] = *ev;
    h->acked[h->n] = acked;
    h->n++;
    return 0;
}

static int au_cb(const struct audit_record *rec, void *arg)
{
    struct hist *h = arg;
    if (h->n >= MAX_ROWS)
        return 1;
    h->au[h->n++] = *rec;
    return 0;
}

/* ---- as a client of portierd: the same query, asked of the daemon (answers come later, in pages of rows) ---- */

struct remote_load {
    struct console *c;
    struct hist *h;
    unsigned gen;
    size_t before, limit;
};

static void remote_rows(struct remote *r, const json_t *msg, bool final, void *arg)
{
    (void)r;
    struct remote_load *rl = arg;
    struct hist *h = rl->h;
    bool current = rl->gen == h->gen;
    if (!final) {
        const char *type = proto_str(msg, "type");
        const json_t *rows = json_object_get(msg, "rows");
        char err[160];
        for (size_t i = 0; current && type && strcmp(type, "rows") == 0 && json_is_array(rows) &&
                           i < json_array_size(rows) && h->n < MAX_ROWS; i++) {
            const json_t *o = json_array_get(rows, i);
            struct journal_ack ack;
            if (h->audit ? proto_audit_from_json(o, &h->au[h->n], err, sizeof err) == 0
                         : proto_event_from_json(o, &h->ev[h->n], &ack, err, sizeof err) == 0) {
                if (!h->audit)
                    h->acked[h->n] = ack.acked;
                h->n++;
            }
        }
        rl->c->dirty = rl->c->dirty || current;
        return;
    }
    if (current) {
        const char *st = proto_str(msg, "status");
        if (!st || strcmp(st, "ok") != 0) {
            const char *e = proto_str(msg, "error");
            snprintf(h->error, sizeof h->error, "The history is unavailable: %s", e ? e : "no answer from portierd");
            h->more = false;
        } else {
            h->more = h->n - rl->before == rl->limit && h->n < MAX_ROWS;
        }
        h->waiting = false;
        rl->c->dirty = true;
    }
    free(rl);
}

static void load_remote(struct console *c, struct hist *h, const struct journal_query *q)
{
    struct remote_load *rl = calloc(1, sizeof *rl);
    json_t *req = proto_query_to_json(q);
    if (!rl || !req) {
        free(rl);
        json_decref(req);
        snprintf(h->error, sizeof h->error, "out of memory");
        return;
    }
    json_object_set_new(req, "op", json_string(h->audit ? "audit" : "journal"));
    *rl = (struct remote_load){ .c = c, .h = h, .gen = ++h->gen, .before = h->n, .limit = q->limit };
    h->waiting = true;
    if (remote_request(c->remote, req, remote_rows, rl) < 0) {
        free(rl);
        h->waiting = false;
        snprintf(h->error, sizeof h->error, "The history is unavailable: not connected to portierd");
        h->more = false;
    }
}

static void load(struct console *c, struct hist *h, bool append)
{
    if (!append)
        h->n = 0;
    h->loaded = true;
    h->error[0] = '\0';
    if (c->remote && append && h->waiting)
        return; /* the next page once this one is in */
    struct journal_health jh = { .history = true };
    if (c->journal)
        journal_health(c->journal, &jh);
    if (!c->remote && (!c->journal || !jh.history)) {
        snprintf(h->error, sizeof h->error, "The history is unavailable: %s",
                 !c->journal ? "no journal is open" : jh.reason[0] ? jh.reason : "the journal cannot be read");
        h->more = false;
        return;
    }
    struct journal_query q = {
        .since_us = h->f.since_us, .until_us = h->f.until_us,
        .device = h->f.device[0] ? h->f.device : NULL, .door = h->f.door[0] ? h->f.door : NULL,
        .kind = h->audit ? -1 : h->f.kind, .min_severity = h->audit ? -1 : h->f.min_severity,
        .search = h->f.text[0] ? h->f.text : NULL, .limit = PAGE,
    };
    if (append && h->n)
        q.before_id = h->audit ? h->au[h->n - 1].id : h->ev[h->n - 1].id;
    if (c->remote) {
        load_remote(c, h, &q);
        return;
    }
    size_t before = h->n;
    long got = h->audit ? journal_query_audit(c->journal, &q, au_cb, h)
                        : journal_query_events(c->journal, &q, ev_cb, h);
    if (got < 0) {
        snprintf(h->error, sizeof h->error, "Journal query failed: %s", journal_error(c->journal));
        h->more = false;
        return;
    }
    h->more = h->n - before == PAGE && h->n < MAX_ROWS;
}

static void draw(struct console *c, struct pane *p, int y, int x, int h, int w)
{
    struct hist *hs = p->priv;
    if (!hs->loaded)
        load(c, hs, false);
    char title[320], fd[200];
    filter_describe(&hs->f, fd, sizeof fd);
    struct journal_health jh = { .history_readonly = false };
    if (c->journal)
        journal_health(c->journal, &jh);
    snprintf(title, sizeof title, "History: %s  %zu%s row(s)%s%s%s", hs->audit ? "operator audit trail" : "journal",
             hs->n, hs->more ? "+" : "", fd[0] ? "  filter: " : "", fd,
             jh.history_readonly ? "  (read-only: the journal cannot be written)" : "");
    /* the audit below 100 columns: no role (Enter shows it) and what was asked instead of the outcome's detail,
     * so the result and what the action was about fit 80 columns */
    bool narrow = w < 100;
    console_list_heading(
        c, p, y, x, w, h, title,
        !hs->audit ? "Time                Sev  Device       Door             Event / text"
        : narrow   ? "Time           User     Action         Result  Target: request"
                   : "Time                User         Role       Action          Target           Result   Detail");
    listview_fix(&p->lv, hs->n, p->height);
    if (hs->error[0]) {
        console_put(c, y + 3, x + 2, w - 2, theme_attr(&c->th, TH_ALARM), hs->error);
        return;
    }
    if (!hs->n && hs->waiting) {
        console_put(c, y + 3, x + 2, w - 2, theme_attr(&c->th, TH_DIM), "Asking portierd...");
        return;
    }
    if (!hs->n) {
        console_put(c, y + 3, x + 2, w - 2, theme_attr(&c->th, TH_DIM), "Nothing recorded matches.");
        return;
    }
    for (int i = 0; i < p->height && p->lv.top + (size_t)i < hs->n; i++) {
        size_t k = p->lv.top + (size_t)i;
        char line[1400], t[32];
        attr_t a;
        if (hs->audit) {
            const struct audit_record *r = &hs->au[k];
            event_format_time(r->time_us, t, sizeof t);
            if (narrow) {
                /* "MM-DD HH:MM:SS"; the request without its size ("users set pin=7", "users add, 3 rows: pin=1 2
                 * 5") */
                char req[sizeof r->params];
                snprintf(req, sizeof req, "%s", r->params);
                char *sz = strstr(req, " bytes of CSV");
                char *cut = sz ? sz : NULL;
                while (cut && cut > req && cut[-1] >= '0' && cut[-1] <= '9')
                    cut--;
                if (sz && cut >= req + 2 && cut[-2] == ',' && cut[-1] == ' ')
                    memmove(cut - 2, sz + 13, strlen(sz + 13) + 1);
                char *one = strstr(req, ", 1 row: "); /* "users set pin=7" */
                if (one) {
                    one[0] = ' ';
                    memmove(one + 1, one + 9, strlen(one + 9) + 1);
                }
                char user_f[48];
                textw_fit(user_f, sizeof user_f, r->user, 8);
                snprintf(line, sizeof line, "%-14.14s %s %-14.14s %-7.7s %s%s%s", strlen(t) > 5 ? t + 5 : t,
                         user_f, r->action, r->result, r->target, r->target[0] && req[0] ? ": " : "", req);
            } else {
                char user_f[64], target_f[80];
                textw_fit(user_f, sizeof user_f, r->user, 12);
                textw_fit(target_f, sizeof target_f, r->target, 16);
                snprintf(line, sizeof line, "%-19s %s %-10.10s %-15.15s %s %-8.8s %s", t, user_f,
                         r->role, r->action, target_f, r->result, r->detail);
            }
            a = theme_attr(&c->th, strcmp(r->result, "ok") == 0        ? TH_NORMAL
                                   : strcmp(r->result, "pending") == 0 ? TH_WARN
                                                                       : TH_ALARM);
        } else {
            const struct event *ev = &hs->ev[k];
            event_format_time(ev->host_time_us, t, sizeof t);
            const char *sev = ev->severity == EVENT_ALARM ? "ALRM" : ev->severity == EVENT_WARNING ? "warn" : "";
            const char *rest = console_event_rest(ev);
            char dev_f[64], door_f[80];
            textw_fit(dev_f, sizeof dev_f, ev->device, 12);
            textw_fit(door_f, sizeof door_f, ev->door[0] ? ev->door : "-", 16);
            snprintf(line, sizeof line, "%-19s %-4s %s %s %s%s%s%s%s", t, sev, dev_f, door_f, ev->recovered ? "[recovered] " : "", ev->code_name,
                     ev->code_name[0] && rest[0] ? ": " : "", rest,
                     ev->severity == EVENT_ALARM && hs->acked[k] ? "  [acknowledged]" : "");
            a = theme_attr(&c->th, console_event_role(ev));
        }
        bool sel = k == p->lv.sel;
        if (sel)
            a = theme_attr(&c->th, TH_SELECTED);
        console_put(c, y + 2 + i, x, w, a, line);
    }
}

/* The search or the filter changed: read the journal again from the newest match. */
static void filter_changed(struct console *c, void *arg)
{
    (void)c;
    struct pane *p = arg;
    struct hist *hs = p->priv;
    hs->loaded = false;
    p->lv.sel = p->lv.top = 0;
}

static unsigned request(struct console *c, struct pane *p, enum req r)
{
    struct hist *hs = p->priv;
    if (r == REQ_FIRST) {
        hs->loaded = false; /* back to the newest: re-read */
        p->lv.sel = p->lv.top = 0;
        return PANE_HANDLED | PANE_REDRAW;
    }
    unsigned res = listview_request(&p->lv, r, hs->n, p->height);
    if (res) {
        if (hs->more && p->lv.sel + 1 >= hs->n) {
            load(c, hs, true);
            if (r == REQ_LAST || r == REQ_PAGE_DOWN)
                listview_request(&p->lv, r, hs->n, p->height);
        }
        return res;
    }
    switch (r) {
    case REQ_HISTORY_AUDIT:
        hs->audit = !hs->audit;
        hs->loaded = false;
        p->lv.sel = p->lv.top = 0;
        return PANE_HANDLED | PANE_REDRAW;
    case REQ_HISTORY_CLEAR:
    case REQ_CANCEL:
        if (r == REQ_CANCEL && !filter_active(&hs->f))
            return 0;
        filter_clear(&hs->f);
        hs->loaded = false;
        p->lv.sel = p->lv.top = 0;
        return PANE_HANDLED | PANE_REDRAW;
    case REQ_SEARCH:
        console_filter_search(c, "Search the journal", "Text (empty = all):", &hs->f, filter_changed, p);
        return PANE_HANDLED;
    case REQ_FILTER:
        console_filter_fields(c, "Filter the journal", &hs->f, filter_changed, p);
        return PANE_HANDLED;
    case REQ_ENTER:
        if (p->lv.sel < hs->n) {
            char text[1600], t[32], t2[32];
            if (hs->audit) {
                const struct audit_record *a = &hs->au[p->lv.sel];
                event_format_time(a->time_us, t, sizeof t);
                if (a->done_us)
                    event_format_time(a->done_us, t2, sizeof t2);
                else
                    snprintf(t2, sizeof t2, "-");
                snprintf(text, sizeof text, "#%lld %s by %s (%s)\n%s %s %s\nResult: %s at %s\n%s", (long long)a->id,
                         t, a->user, a->role, a->action, a->target, a->params, a->result, t2, a->detail);
            } else {
                const struct event *ev = &hs->ev[p->lv.sel];
                event_format_time(ev->host_time_us, t, sizeof t);
                char owner[220] = "";
                if (ev->kind != EVENT_NIX1_ACCESS && ev->card) {
                    char who[200];
                    cards_owner(c, ev->device, ev->card, who, sizeof who);
                    if (strcmp(who, "-") != 0)
                        snprintf(owner, sizeof owner, "\ncard %u: %s", ev->card, who);
                }
                char code[16];
                snprintf(text, sizeof text, "#%lld %s  %s %s\n%s %s: %s (code %s)\n%s%s%s%s", (long long)ev->id, t,
                         event_kind_name(ev->kind), event_severity_name(ev->severity), ev->device, ev->door,
                         ev->code_name, console_code_text(ev, code, sizeof code), ev->text, hs->acked[p->lv.sel] ? "\nacknowledged" : "",
                         ev->recovered ? "\nrecovered from the panel's event table (not seen live)" : "", owner);
            }
            console_info(c, "Journal", text);
        }
        return PANE_HANDLED;
    default:
        return 0;
    }
}

static void pane_free(struct pane *p)
{
    struct hist *hs = p->priv;
    if (hs) {
        free(hs->ev);
        free(hs->acked);
        free(hs->au);
    }
    free(hs);
}

struct pane *pane_history_new(struct console *c)
{
    (void)c;
    static const struct pane proto = {.title = "History", .scope = SCOPE_HISTORY, .is_list = true, .draw = draw,
                                      .request = request, .free = pane_free};
    struct hist *hs = calloc(1, sizeof *hs);
    if (!hs)
        return NULL;
    hs->ev = calloc(MAX_ROWS, sizeof *hs->ev);
    hs->acked = calloc(MAX_ROWS, sizeof *hs->acked);
    hs->au = calloc(MAX_ROWS, sizeof *hs->au);
    struct pane *p = hs->ev && hs->acked && hs->au ? pane_new(&proto, hs) : NULL;
    if (!p) {
        free(hs->ev);
        free(hs->acked);
        free(hs->au);
        free(hs);
        return NULL;
    }
    filter_clear(&hs->f);
    return p;
}
