/* pane_cards: the Cards view: the users of each C3 panel (card, PIN, name, validity, doors), read through the
 * panel-data-get action; who a card belongs to for the event details; the list, its search and details; and, for
 * technicians, the user editor (cards_edit.c) on the user selected. Works the same on portierd's mirror site. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>

#include "core/textfold.h"
#include "core/csv.h"
#include "core/grow.h"
#include "core/strbuf.h"
#include "tui/textw.h"
#include "tui/cards_edit.h"
#include "tui/keys.h"
#include "tui/pane_cards_int.h"

#define READING_USERS "reading the panel's users..."

struct load_ctx {
    struct console *c;
    size_t pi;
    unsigned gen;
    int what;                    /* 0 users, 1 access, 2 time zones */
    char *buf;                   /* the rows' lines so far (len bytes) */
    size_t len, cap;
    bool oom;
};

struct cpriv *cards_priv(struct console *c)
{
    struct pane *p = c->panes[PANE_CARDS];
    return p ? p->priv : NULL;
}

static void lc_line(void *arg, unsigned done, unsigned total, const char *line)
{
    (void)done;
    (void)total;
    struct load_ctx *lc = arg;
    if (!line || lc->oom)
        return;
    size_t n = strlen(line);
    char *b = grow_to(lc->buf, lc->len + n + 2, &lc->cap, 1, 4096);
    if (!b) {
        lc->oom = true; /* the rows would be incomplete: the read fails instead */
        return;
    }
    lc->buf = b;
    memcpy(lc->buf + lc->len, line, n);
    lc->len += n;
    lc->buf[lc->len++] = '\n';
    lc->buf[lc->len] = '\0';
}

/* The details dialog that said READING_USERS for a card of panel pi now says whose card it is (or why not). */
static void answer_asked(struct console *c, struct cpriv *cp, size_t pi)
{
    if (!cp->asking || cp->ask_pi != pi)
        return;
    cp->asking = false;
    char *at = c->dlg.kind == DLG_INFO ? strstr(c->dlg.prompt, READING_USERS) : NULL;
    if (!at)
        return;
    char who[200], rest[sizeof c->dlg.prompt];
    cards_owner(c, c->site->devices[cp->pan[pi].device].name, cp->ask_card, who, sizeof who);
    snprintf(rest, sizeof rest, "%s", at + strlen(READING_USERS));
    snprintf(at, sizeof c->dlg.prompt - (size_t)(at - c->dlg.prompt), "%s%s", who, rest);
}

static void load_done(const struct action_run *run, bool finished, void *arg)
{
    struct load_ctx *lc = arg;
    if (!finished)
        return;
    struct console *c = lc->c;
    struct cpriv *cp = cards_priv(c);
    struct cpanel *pn = cp && lc->pi < cp->n ? &cp->pan[lc->pi] : NULL;
    if (pn && pn->gen == lc->gen) {
        if (run->status != ACTION_OK || lc->oom) {
            pn->loading = false;
            snprintf(pn->err, sizeof pn->err, "%s", lc->oom ? "out of memory reading the panel's rows"
                                                    : run->error[0] ? run->error
                                                    : run->n_results ? run->results[0].message : "not read");
            answer_asked(c, cp, lc->pi);
        } else {
            struct csv *dst = lc->what == 0 ? &pn->users : lc->what == 1 ? &pn->access : &pn->tzs;
            csv_free(dst);
            char err[200];
            if (csv_parse(lc->buf ? lc->buf : "", lc->len, dst, err, sizeof err) < 0) {
                pn->loading = false;
                snprintf(pn->err, sizeof pn->err, "the panel's rows: %s", err);
                answer_asked(c, cp, lc->pi);
            } else if (lc->what < 2) {
                cards_load(c, lc->pi, lc->what + 1);
            } else {
                pn->loading = false;
                pn->loaded = true;
                pn->err[0] = '\0';
                answer_asked(c, cp, lc->pi);
            }
        }
        c->dirty = true;
    }
    free(lc->buf);
    free(lc);
}

void cards_load(struct console *c, size_t pi, int what)
{
    struct cpriv *cp = cards_priv(c);
    struct cpanel *pn = &cp->pan[pi];
    struct load_ctx *lc = calloc(1, sizeof *lc);
    if (!lc) {
        snprintf(pn->err, sizeof pn->err, "out of memory");
        return;
    }
    if (what == 0)
        pn->gen++;
    pn->loading = true;
    lc->c = c;
    lc->pi = pi;
    lc->gen = pn->gen;
    lc->what = what;
    static const char *const req[] = { "users list", "access list", "timezones list" };
    struct action_params p = { .settings = req[what], .step = lc_line,
                               .step_arg = lc };
    char err[256];
    /* a refusal calls load_done (finished) before returning */
    (void)action_run(c->site, &c->user, ACTION_PANEL_DATA_GET, c->site->devices[pn->device].name, &p, load_done, lc,
                     err, sizeof err);
}

static struct cpanel *panel_named(struct cpriv *cp, struct console *c, const char *device, size_t *pi)
{
    for (size_t i = 0; cp && i < cp->n; i++)
        if (strcmp(c->site->devices[cp->pan[i].device].name, device) == 0) {
            if (pi)
                *pi = i;
            return &cp->pan[i];
        }
    return NULL;
}

void cards_owner(struct console *c, const char *device, uint32_t card, char *buf, size_t len)
{
    struct cpriv *cp = cards_priv(c);
    size_t pi;
    struct cpanel *pn = panel_named(cp, c, device, &pi);
    if (!pn) {
        snprintf(buf, len, "-");
        return;
    }
    if (!pn->loaded) {
        if (!pn->loading && request_allowed(REQ_CARDS_RELOAD, c->user.role, c->readonly))
            cards_load(c, pi, 0);
        if (pn->loading) {
            cp->asking = true;
            cp->ask_pi = pi;
            cp->ask_card = card;
        }
        snprintf(buf, len, "%s", pn->loading ? READING_USERS : pn->err[0] ? pn->err : "not read (Cards view, 7)");
        return;
    }
    char num[16];
    snprintf(num, sizeof num, "%u", card);
    int kc = csv_col(&pn->users, "card"), kp = csv_col(&pn->users, "pin"), kn = csv_col(&pn->users, "name");
    for (size_t r = 0; kc >= 0 && kp >= 0 && r < pn->users.nrows; r++)
        if (strcmp(csv_cell(&pn->users, r, (size_t)kc), num) == 0) {
            const char *name = kn >= 0 ? csv_cell(&pn->users, r, (size_t)kn) : "";
            snprintf(buf, len, "user %s%s%s", csv_cell(&pn->users, r, (size_t)kp), name[0] ? " " : "", name);
            return;
        }
    snprintf(buf, len, "no user of %s has card %u", device, card);
}

/* ---- the list ---- */

/* "1 2 (tz 1)" for a user's access rows. */
void cards_doors_of(const struct cpanel *pn, const char *pin, char *out, size_t cap)
{
    struct strbuf sb;
    strbuf_init(&sb, out, cap);
    int kp = csv_col(&pn->access, "pin"), kd = csv_col(&pn->access, "door"), kt = csv_col(&pn->access, "timezone");
    if (kp < 0 || kd < 0 || kt < 0)
        return;
    const char *tz = NULL;
    bool mixed = false;
    for (size_t r = 0; r < pn->access.nrows; r++) {
        if (strcmp(csv_cell(&pn->access, r, (size_t)kp), pin) != 0)
            continue;
        strbuf_printf(&sb, "%s%s", sb.len ? " " : "", csv_cell(&pn->access, r, (size_t)kd));
        const char *t = csv_cell(&pn->access, r, (size_t)kt);
        mixed = mixed || (tz && strcmp(tz, t) != 0);
        tz = t;
    }
    if (tz)
        strbuf_printf(&sb, mixed ? " (several time zones)" : " (tz %s)", tz);
}

/* "1 2 (tz 1)" -> "1 Front, 2 Back (tz 1)" with the configuration's door names. */
static void named_doors(struct console *c, const struct cpanel *pn, const char *nums, char *out, size_t cap)
{
    const struct site_panel *sp = c->site->devices[pn->device].panel;
    struct strbuf sb;
    strbuf_init(&sb, out, cap);
    const char *d = nums;
    for (size_t n; (n = strspn(d, "0123456789")) > 0; d += n + strspn(d + n, " ")) {
        unsigned long k = n <= 2 ? strtoul(d, NULL, 10) : 0; /* a door number has one or two digits */
        const char *name = sp && k >= 1 && k <= SITE_C3_MAX_DOORS ? sp->door_names[k - 1] : "";
        strbuf_printf(&sb, "%s%.*s%s%s", sb.len ? ", " : "", (int)n, d, name[0] ? " " : "", name);
    }
    if (*d)
        strbuf_printf(&sb, "%s%s", sb.len ? " " : "", d);
}

const char *cards_cell(const struct csv *t, size_t r, const char *col)
{
    int k = csv_col(t, col);
    return k >= 0 ? csv_cell(t, r, (size_t)k) : "";
}

static size_t nrows(const struct cpriv *cp)
{
    return cp->n && cp->pan[cp->cur].loaded ? cp->pan[cp->cur].users.nrows : 0;
}

/* Text in rows of w columns from (y, x), broken at spaces, in at most maxrows rows (the last one cut); the rows
 * used. Columns are counted as characters (a UTF-8 sequence is one). */
int cards_put_wrapped(struct console *c, int y, int x, int w, int maxrows, attr_t attr, const char *text)
{
    int rows = 0;
    const char *s = text;
    while (*s && rows < maxrows && w > 0) {
        size_t len = 0, brk = 0;
        int cols = 0;
        while (s[len] && cols < w) {
            if (s[len] == ' ')
                brk = len;
            len++;
            while (((unsigned char)s[len] & 0xC0) == 0x80)
                len++;
            cols++;
        }
        if (s[len] && brk && rows + 1 < maxrows)
            len = brk;
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)len, s);
        console_put(c, y + rows, x, w, attr, line);
        rows++;
        s += len;
        while (*s == ' ')
            s++;
    }
    return rows;
}

static void draw(struct console *c, struct pane *p, int y, int x, int h, int w)
{
    struct cpriv *cp = p->priv;
    if (cp->ed != ED_NONE) {
        cards_edit_draw(c, cp, y, x, h, w);
        return;
    }
    char title[200];
    if (!cp->n) {
        console_put(c, y, x, w, theme_attr(&c->th, TH_TITLE) | A_BOLD, "Cards");
        console_put(c, y + 2, x + 2, w - 2, theme_attr(&c->th, TH_DIM), "The configuration has no C3 panel.");
        return;
    }
    struct cpanel *pn = &cp->pan[cp->cur];
    const char *name = c->site->devices[pn->device].name;
    const struct site_device *dev = &c->site->devices[pn->device];
    bool down = dev->link != LINK_UP;
    snprintf(title, sizeof title, "Cards: %s (%zu of %zu, p: next)  %zu user(s)%s", name, cp->cur + 1, cp->n,
             pn->users.nrows, !pn->loading ? "" : down ? "  reading (panel offline: waits)"
                                                        : "  reading...");
    console_put(c, y, x, w, theme_attr(&c->th, TH_TITLE) | A_BOLD, title);
    console_fill(c, y + 1, x, w, theme_attr(&c->th, TH_TITLE));
    console_put(c, y + 1, x, w, theme_attr(&c->th, TH_TITLE),
                "Card        PIN         Name        Valid                    Doors");
    p->height = h - 2;
    if (!pn->loaded) {
        if (!pn->loading && !pn->err[0] && request_allowed(REQ_CARDS_RELOAD, c->user.role, c->readonly))
            cards_load(c, cp->cur, 0);
        cards_put_wrapped(c, y + 3, x + 2, w - 2, h - 3, theme_attr(&c->th, pn->err[0] ? TH_ALARM : TH_DIM),
                    pn->loading ? (down ? "Reading the panel's users and access rights: the panel is offline, the "
                                          "read waits for it..." : "Reading the panel's users and access rights...")
                    : pn->err[0] ? pn->err : "Not read yet (F5 reads them).");
        return;
    }
    if (pn->err[0]) /* a read after the one shown failed: the rows are the last ones read */
        p->height -= cards_put_wrapped(c, y + h - 1, x + 2, w - 2, 1, theme_attr(&c->th, TH_ALARM), pn->err);
    listview_fix(&p->lv, pn->users.nrows, p->height);
    for (int i = 0; i < p->height && p->lv.top + (size_t)i < pn->users.nrows; i++) {
        size_t r = p->lv.top + (size_t)i;
        const char *card = cards_cell(&pn->users, r, "card"), *start = cards_cell(&pn->users, r, "start"),
                   *end = cards_cell(&pn->users, r, "end");
        char valid[40], doors[120];
        if (start[0] || end[0])
            snprintf(valid, sizeof valid, "%s..%s", start[0] ? start : "", end[0] ? end : "");
        else
            snprintf(valid, sizeof valid, "always");
        cards_doors_of(pn, cards_cell(&pn->users, r, "pin"), doors, sizeof doors);
        bool sel = r == p->lv.sel;
        attr_t a = theme_attr(&c->th, sel ? TH_SELECTED : TH_NORMAL);
        /* column by column: a name's width on screen is not its length in bytes (UTF-8, or bytes that are no
         * character at all, shown as '?') */
        console_fill(c, y + 2 + i, x, w, a);
        static const int at[] = { 0, 12, 24, 36, 61 };
        const char *v[] = { card[0] ? card : "-", cards_cell(&pn->users, r, "pin"), cards_cell(&pn->users, r, "name"), valid,
                            doors[0] ? doors : "no door" };
        for (size_t k = 0; k < 5 && at[k] < w; k++) {
            int cw = k < 4 ? at[k + 1] - at[k] - 1 : w - at[k];
            console_put(c, y + 2 + i, x + at[k], cw < w - at[k] ? cw : w - at[k], a, v[k]);
        }
    }
    if (!pn->users.nrows)
        console_put(c, y + 3, x + 2, w - 2, theme_attr(&c->th, TH_DIM), "The panel holds no user.");
}

static unsigned pane_key(struct console *c, struct pane *p, int key)
{
    struct cpriv *cp = p->priv;
    unsigned r = cards_edit_key(c, p, key);
    p->typing = cp->ed == ED_FORM;
    return r;
}

static void delete_done(struct console *c, bool ok, const char *text, void *arg)
{
    (void)text;
    (void)arg;
    struct cpriv *cp = cards_priv(c);
    if (!ok || !cp)
        return;
    cards_edit_open(c, cp, false, c->panes[PANE_CARDS]->lv.sel);
    cards_edit_start(c, cp, false, true);
}

/* Find a user: the next row after the selected one (round the list) whose card or PIN is the text, or whose
 * name holds it (any case). The text stays for the next search (Enter again finds the next). */
static void find_done(struct console *c, bool ok, const char *text, void *arg)
{
    (void)arg;
    struct cpriv *cp = cards_priv(c);
    struct pane *p = c->panes[PANE_CARDS];
    if (!ok || !cp || !cp->n || !text[0])
        return;
    snprintf(cp->find, sizeof cp->find, "%s", text);
    const struct cpanel *pn = &cp->pan[cp->cur];
    size_t n = pn->loaded ? pn->users.nrows : 0;
    for (size_t k = 1; k <= n; k++) {
        size_t r = (p->lv.sel + k) % n;
        if (strcmp(cards_cell(&pn->users, r, "card"), text) == 0 || strcmp(cards_cell(&pn->users, r, "pin"), text) == 0 ||
            textfold_contains(cards_cell(&pn->users, r, "name"), text)) {
            p->lv.sel = r;
            listview_fix(&p->lv, n, p->height);
            c->dirty = true;
            return;
        }
    }
    console_message(c, TH_INFO, "No user of %s has card or PIN '%s' or a name with it",
                    c->site->devices[pn->device].name, text);
}

static unsigned request(struct console *c, struct pane *p, enum req r)
{
    struct cpriv *cp = p->priv;
    if (cp->ed != ED_NONE)
        return 0;
    unsigned res = listview_request(&p->lv, r, nrows(cp), p->height);
    if (res)
        return res;
    struct cpanel *pn = cp->n ? &cp->pan[cp->cur] : NULL;
    switch (r) {
    case REQ_SEARCH:
        if (pn && pn->loaded)
            console_input(c, "Find a user", "Card number, PIN or part of a name (Enter again: the next one):",
                          cp->find, NULL, find_done, NULL);
        return PANE_HANDLED | PANE_REDRAW;
    case REQ_CARDS_PANEL:
        if (cp->n)
            cp->cur = (cp->cur + 1) % cp->n;
        p->lv.sel = p->lv.top = 0;
        return PANE_HANDLED | PANE_REDRAW;
    case REQ_CARDS_RELOAD:
        if (pn && console_allowed_on(c, r, c->site->devices[pn->device].name) && !pn->loading) {
            pn->err[0] = '\0';
            cards_load(c, cp->cur, 0);
        }
        return PANE_HANDLED | PANE_REDRAW;
    case REQ_ENTER:
        if (pn && pn->loaded && p->lv.sel < pn->users.nrows) {
            char text[900], nums[120], doors[400];
            size_t s = p->lv.sel;
            cards_doors_of(pn, cards_cell(&pn->users, s, "pin"), nums, sizeof nums);
            named_doors(c, pn, nums, doors, sizeof doors);
            const char *from = cards_cell(&pn->users, s, "start"), *until = cards_cell(&pn->users, s, "end");
            char valid[40];
            if (from[0] || until[0])
                snprintf(valid, sizeof valid, "%s .. %s", from[0] ? from : "", until[0] ? until : "");
            else
                snprintf(valid, sizeof valid, "always");
            snprintf(text, sizeof text, "PIN:      %s\nName:     %s\nCard:     %s\nValid:    %s\nGroup:    %s"
                     "\nSuper:    %s\nDoors:    %s", cards_cell(&pn->users, s, "pin"), cards_cell(&pn->users, s, "name"),
                     cards_cell(&pn->users, s, "card")[0] ? cards_cell(&pn->users, s, "card") : "none", valid,
                     cards_cell(&pn->users, s, "group"), cards_cell(&pn->users, s, "super"), doors[0] ? doors : "none");
            console_info(c, "User", text);
        }
        return PANE_HANDLED;
    case REQ_USER_ADD:
    case REQ_USER_EDIT:
    case REQ_USER_DELETE:
        if (!pn || !console_allowed_on(c, r, c->site->devices[pn->device].name))
            return PANE_HANDLED | PANE_REDRAW;
        if (!pn->loaded) {
            console_message(c, TH_INFO, "The panel's users are not read yet");
            return PANE_HANDLED;
        }
        if (r != REQ_USER_ADD && p->lv.sel >= pn->users.nrows)
            return PANE_HANDLED;
        if (r == REQ_USER_DELETE) {
            char prompt[200];
            snprintf(prompt, sizeof prompt, "Delete user %s (%s) and the user's access rights from %s?",
                     cards_cell(&pn->users, p->lv.sel, "pin"), cards_cell(&pn->users, p->lv.sel, "name"),
                     c->site->devices[pn->device].name);
            console_confirm(c, "Delete user", prompt, delete_done, NULL);
            return PANE_HANDLED | PANE_REDRAW;
        }
        cards_edit_open(c, cp, r == REQ_USER_ADD, p->lv.sel);
        p->typing = true;
        return PANE_HANDLED | PANE_REDRAW;
    default:
        return 0;
    }
}

static void pane_free(struct pane *p)
{
    struct cpriv *cp = p->priv;
    if (cp) {
        for (size_t i = 0; i < cp->n; i++) {
            csv_free(&cp->pan[i].users);
            csv_free(&cp->pan[i].access);
            csv_free(&cp->pan[i].tzs);
        }
        free(cp->pan);
        cards_edit_clear(cp);
    }
    free(cp);
}

struct pane *pane_cards_new(struct console *c)
{
    static const struct pane proto = {.title = "Cards", .scope = SCOPE_CARDS, .is_list = true, .draw = draw,
                                      .request = request, .key = pane_key, .free = pane_free};
    struct cpriv *cp = calloc(1, sizeof *cp);
    if (cp)
        cp->pan = calloc(c->site->n_devices ? c->site->n_devices : 1, sizeof *cp->pan);
    struct pane *p = cp && cp->pan ? pane_new(&proto, cp) : NULL;
    if (!p) {
        if (cp)
            free(cp->pan);
        free(cp);
        return NULL;
    }
    for (size_t d = 0; d < c->site->n_devices; d++)
        if (strcmp(c->site->devices[d].kind, "c3") == 0)
            cp->pan[cp->n++].device = d;
    return p;
}
