/* pane_help: the help screen, generated from the request table and the live key map, so it never drifts;
 * requests the operator's role may not use are greyed and marked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>

#include "tui/console.h"

/* Rows: scope headers and requests, in table order grouped by scope. */
static size_t build(int *rows, size_t cap)
{
    size_t n = 0;
    for (int s = 0; s < SCOPE_COUNT; s++) {
        if (n < cap)
            rows[n++] = -1 - s; /* header */
        for (int r = 1; r < REQ_COUNT; r++)
            if (request_info((enum req)r)->scope == (enum req_scope)s && n < cap)
                rows[n++] = r;
    }
    return n;
}

static void draw(struct console *c, struct pane *p, int y, int x, int h, int w)
{
    int rows[REQ_COUNT + SCOPE_COUNT];
    size_t n = build(rows, sizeof rows / sizeof rows[0]);
    char title[160];
    snprintf(title, sizeof title, "Help  %s (%s)%s   Esc or F1 returns; greyed = not allowed for your role",
             c->user.name, role_name(c->user.role), c->readonly ? ", read-only" : "");
    console_put(c, y, x, w, theme_attr(&c->th, TH_TITLE) | A_BOLD, title);
    p->height = h - 1;
    if (p->lv.top + (size_t)p->height > n)
        p->lv.top = n > (size_t)p->height ? n - (size_t)p->height : 0;
    for (int i = 0; i < p->height && p->lv.top + (size_t)i < n; i++) {
        int r = rows[p->lv.top + (size_t)i];
        if (r < 0) {
            console_put(c, y + 1 + i, x, w, theme_attr(&c->th, TH_INFO) | A_BOLD,
                        request_scope_name((enum req_scope)(-1 - r)));
            continue;
        }
        const struct request_info *ri = request_info((enum req)r);
        char keys[64], line[320];
        keymap_describe(&c->km, (enum req)r, keys, sizeof keys);
        bool ok = request_allowed((enum req)r, c->user.role, c->readonly);
        const char *why = "";
        char whybuf[48] = "";
        if (!ok) {
            if (c->readonly)
                why = "  [read-only]";
            else if (ri->action == REQ_ACTION_SLAVE)
                why = "  [technician]";
            else if (ri->action >= 0 && ri->action < ACTION_COUNT) {
                snprintf(whybuf, sizeof whybuf, "  [%s]", role_name(action_table[ri->action].min_role));
                why = whybuf;
            }
        }
        snprintf(line, sizeof line, "  %-16s %-18s %s%s%s", keys[0] ? keys : "(unbound)", ri->name, why + (why[0] ? 2 : 0),
                 why[0] ? " " : "", ri->help);
        console_put(c, y + 1 + i, x, w, theme_attr(&c->th, ok ? TH_NORMAL : TH_FKEY_OFF), line);
    }
}

static unsigned request(struct console *c, struct pane *p, enum req r)
{
    (void)c;
    int rows[REQ_COUNT + SCOPE_COUNT];
    size_t n = build(rows, sizeof rows / sizeof rows[0]);
    size_t h = p->height > 1 ? (size_t)p->height : 1;
    switch (r) {
    case REQ_UP: if (p->lv.top) p->lv.top--; break;
    case REQ_DOWN: if (p->lv.top + h < n) p->lv.top++; break;
    case REQ_PAGE_UP: p->lv.top = p->lv.top > h ? p->lv.top - h : 0; break;
    case REQ_PAGE_DOWN: p->lv.top = p->lv.top + h < n ? p->lv.top + h : p->lv.top; break;
    case REQ_FIRST: p->lv.top = 0; break;
    case REQ_LAST: p->lv.top = n > h ? n - h : 0; break;
    default: return 0;
    }
    return PANE_HANDLED | PANE_REDRAW;
}

void pane_help_show(struct console *c, enum req_scope scope)
{
    struct pane *p = c->panes[PANE_HELP];
    int rows[REQ_COUNT + SCOPE_COUNT];
    size_t n = build(rows, sizeof rows / sizeof rows[0]);
    p->lv.top = 0;
    if (scope == SCOPE_GLOBAL || scope == SCOPE_LIST)
        return;
    for (size_t i = 0; i < n; i++)
        if (rows[i] == -1 - (int)scope) {
            if (i + 1 < n && rows[i + 1] >= 0) /* a section without keys of its own: the global keys first */
                p->lv.top = i;
            return;
        }
}

struct pane *pane_help_new(struct console *c)
{
    (void)c;
    static const struct pane proto = {.title = "Help", .scope = SCOPE_LIST, .is_list = true, .draw = draw, .request = request};
    return pane_new(&proto, NULL);
}
