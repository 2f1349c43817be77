/* pane_cards: the users of each C3 panel (card, PIN, name, validity, doors), read through the panel-data-get
 * action; who a card belongs to for the event details; and, for technicians, the user editor: add, edit (card,
 * name, keypad password, validity, doors and their time zone) and delete. A change is first run as a dry run so
 * the panel's own checks and the exact difference are shown, then applied as panel-data actions (audited): the
 * user's row, then the user's access rights alone ("access replace pin=N"), so what other clients changed for
 * other users meanwhile is never overwritten from this copy. Works the same on portierd's mirror site. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>

#include "core/csv.h"
#include "core/strbuf.h"
#include "drivers/c3/c3_userdata.h"
#include "tui/console.h"
#include "tui/keys.h"

/* ---- one panel's copy of its users and access rights ---- */

struct cpanel {
    size_t device;              /* site device index */
    struct csv users, access;   /* export form: pin,card,password,group,start,end,name,super / pin,door,timezone */
    struct csv tzs;             /* the panel's time zones (id, ...): what a door right may name */
    bool loaded, loading;
    unsigned gen;               /* which load a reply belongs to */
    char err[200];
};

/* The editor's fields (the users columns it changes, then the user's doors and their time zone). */
enum { E_PIN, E_NAME, E_CARD, E_KEYPAD, E_START, E_END, E_DOORS, E_TZ, NE };
static const char *const labels[NE] = { "PIN", "Name", "Card", "Keypad password", "Valid from", "Valid until",
                                        "Doors (e.g. 1 2)", "Time zone of the doors" };
static const size_t maxlen[NE] = { 10, 10, 10, 8, 10, 10, 16, 5 };

enum estate { ED_NONE, ED_FORM, ED_CHECKING, ED_DIFF, ED_APPLYING, ED_DONE };

struct cpriv {
    struct cpanel *pan;
    size_t n, cur;               /* panels; the one shown */
    /* editor */
    enum estate ed;
    bool adding;
    size_t field;
    char val[NE][24], orig[NE][24];
    char **lines;                /* what the dry run or the apply said */
    size_t nlines;
    char note[300];
    unsigned step;               /* 0: users, 1: access */
    bool dry;
    /* an event's details asked who a card belongs to while the panel's users were being read: answered in the
     * details when they are */
    bool asking;
    size_t ask_pi;
    uint32_t ask_card;
};

#define READING_USERS "reading the panel's users..."

struct load_ctx {
    struct console *c;
    size_t pi;
    unsigned gen;
    int what;                    /* 0 users, 1 access, 2 time zones */
    struct strbuf text;
    char *buf;                   /* the rows' lines so far (len bytes) */
    size_t len, cap;
    bool oom;
};

static struct cpriv *cpriv_of(struct console *c)
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
    if (lc->len + n + 2 > lc->cap) {
        size_t cap = (lc->len + n + 2) * 2;
        char *b = realloc(lc->buf, cap);
        if (!b) {
            lc->oom = true; /* the rows would be incomplete: the read fails instead */
            return;
        }
        lc->buf = b;
        lc->cap = cap;
    }
    memcpy(lc->buf + lc->len, line, n);
    lc->len += n;
    lc->buf[lc->len++] = '\n';
    lc->buf[lc->len] = '\0';
}

static void start_load(struct console *c, size_t pi, int what);

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
    struct cpriv *cp = cpriv_of(c);
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
                start_load(c, lc->pi, lc->what + 1);
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

static void start_load(struct console *c, size_t pi, int what)
{
    struct cpriv *cp = cpriv_of(c);
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
    struct cpriv *cp = cpriv_of(c);
    size_t pi;
    struct cpanel *pn = panel_named(cp, c, device, &pi);
    if (!pn) {
        snprintf(buf, len, "-");
        return;
    }
    if (!pn->loaded) {
        if (!pn->loading && request_allowed(REQ_CARDS_RELOAD, c->user.role, c->readonly))
            start_load(c, pi, 0);
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
static void doors_of(const struct cpanel *pn, const char *pin, char *out, size_t cap)
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
        unsigned k = (unsigned)atoi(d);
        const char *name = sp && k >= 1 && k <= SITE_C3_MAX_DOORS ? sp->door_names[k - 1] : "";
        strbuf_printf(&sb, "%s%.*s%s%s", sb.len ? ", " : "", (int)n, d, name[0] ? " " : "", name);
    }
    if (*d)
        strbuf_printf(&sb, "%s%s", sb.len ? " " : "", d);
}

static const char *cell(const struct csv *t, size_t r, const char *col)
{
    int k = csv_col(t, col);
    return k >= 0 ? csv_cell(t, r, (size_t)k) : "";
}

static size_t nrows(const struct cpriv *cp)
{
    return cp->n && cp->pan[cp->cur].loaded ? cp->pan[cp->cur].users.nrows : 0;
}

static void draw_editor(struct console *c, struct cpriv *cp, int y, int x, int h, int w);

static void draw(struct console *c, struct pane *p, int y, int x, int h, int w)
{
    struct cpriv *cp = p->priv;
    if (cp->ed != ED_NONE) {
        draw_editor(c, cp, y, x, h, w);
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
    snprintf(title, sizeof title, "Cards: %s (%zu of %zu, p: next)  %zu user(s)%s", name, cp->cur + 1, cp->n,
             pn->users.nrows, pn->loading ? "  reading..." : "");
    console_put(c, y, x, w, theme_attr(&c->th, TH_TITLE) | A_BOLD, title);
    console_fill(c, y + 1, x, w, theme_attr(&c->th, TH_TITLE));
    console_put(c, y + 1, x, w, theme_attr(&c->th, TH_TITLE),
                "Card        PIN         Name        Valid                    Doors");
    p->height = h - 2;
    if (!pn->loaded) {
        if (!pn->loading && !pn->err[0] && request_allowed(REQ_CARDS_RELOAD, c->user.role, c->readonly))
            start_load(c, cp->cur, 0);
        console_put(c, y + 3, x + 2, w - 2, theme_attr(&c->th, pn->err[0] ? TH_ALARM : TH_DIM),
                    pn->loading ? "Reading the panel's users and access rights..."
                    : pn->err[0] ? pn->err : "Not read yet (F5 reads them).");
        return;
    }
    listview_fix(&p->lv, pn->users.nrows, p->height);
    for (int i = 0; i < p->height && p->lv.top + (size_t)i < pn->users.nrows; i++) {
        size_t r = p->lv.top + (size_t)i;
        const char *card = cell(&pn->users, r, "card"), *start = cell(&pn->users, r, "start"),
                   *end = cell(&pn->users, r, "end");
        char valid[40], doors[120], line[400];
        if (start[0] || end[0])
            snprintf(valid, sizeof valid, "%s..%s", start[0] ? start : "", end[0] ? end : "");
        else
            snprintf(valid, sizeof valid, "always");
        doors_of(pn, cell(&pn->users, r, "pin"), doors, sizeof doors);
        snprintf(line, sizeof line, "%-11s %-11s %-11s %-24s %s", card[0] ? card : "-", cell(&pn->users, r, "pin"),
                 cell(&pn->users, r, "name"), valid, doors[0] ? doors : "no door");
        bool sel = r == p->lv.sel;
        console_put(c, y + 2 + i, x, w, theme_attr(&c->th, sel ? TH_SELECTED : TH_NORMAL), line);
    }
    if (!pn->users.nrows)
        console_put(c, y + 3, x + 2, w - 2, theme_attr(&c->th, TH_DIM), "The panel holds no user.");
}

/* ---- the editor ---- */

static void lines_clear(struct cpriv *cp)
{
    for (size_t i = 0; i < cp->nlines; i++)
        free(cp->lines[i]);
    free(cp->lines);
    cp->lines = NULL;
    cp->nlines = 0;
}

static void draw_editor(struct console *c, struct cpriv *cp, int y, int x, int h, int w)
{
    struct cpanel *pn = &cp->pan[cp->cur];
    char title[200];
    static const char *const what[] = { "", "", "  checking...", "  changes to apply", "  applying...", "  result" };
    snprintf(title, sizeof title, "User editor: %s, %s%s", c->site->devices[pn->device].name,
             cp->adding ? "new user" : cp->val[E_PIN], what[cp->ed]);
    console_put(c, y, x, w, theme_attr(&c->th, TH_TITLE) | A_BOLD, title);
    const char *hint = cp->ed == ED_FORM ? "  Up/Down move, type to edit, Enter checks and shows the changes, Esc "
                                           "cancels"
                       : cp->ed == ED_DIFF ? "  y or Enter applies these changes, Esc goes back to the form"
                       : cp->ed == ED_DONE ? "  Enter edits again, Esc closes"
                                           : "  the panel answers...";
    console_put(c, y + 1, x, w, theme_attr(&c->th, TH_DIM), hint);
    int row = y + 2;
    if (cp->ed == ED_FORM || cp->ed == ED_CHECKING) {
        for (size_t i = 0; i < NE && row < y + h; i++, row++) {
            char lab[40];
            snprintf(lab, sizeof lab, "  %-24s", labels[i]);
            bool changed = strcmp(cp->orig[i], cp->val[i]) != 0;
            console_put(c, row, x, w, theme_attr(&c->th, changed ? TH_WARN : TH_NORMAL), lab);
            bool fixed = i == E_PIN && !cp->adding;
            attr_t fa = theme_attr(&c->th, fixed ? TH_DIM : TH_FIELD) | (i == cp->field ? A_BOLD : 0);
            console_fill(c, row, x + 27, 18, fa);
            console_put(c, row, x + 27, 18, fa, cp->val[i]);
            if (i == cp->field && !fixed)
                console_put(c, row, x + 27 + (int)strlen(cp->val[i]) % 18, 1, fa | A_REVERSE, " ");
        }
        row++;
    }
    for (size_t i = 0; i < cp->nlines && row < y + h; i++, row++) {
        const char *l = cp->lines[i];
        enum theme_role r = l[0] == '+' ? TH_OK : l[0] == '-' ? TH_ALARM : l[0] == '~' ? TH_WARN : TH_INFO;
        console_put(c, row, x + 2, w - 2, theme_attr(&c->th, r), l);
    }
    if (cp->note[0] && row < y + h)
        console_put(c, row, x + 2, w - 2, theme_attr(&c->th, TH_INFO), cp->note);
}

static bool find_user(const struct cpanel *pn, const char *pin, size_t *row)
{
    int k = csv_col(&pn->users, "pin");
    for (size_t r = 0; k >= 0 && r < pn->users.nrows; r++)
        if (strcmp(csv_cell(&pn->users, r, (size_t)k), pin) == 0) {
            *row = r;
            return true;
        }
    return false;
}

static void open_editor(struct console *c, struct cpriv *cp, bool adding, size_t row)
{
    struct cpanel *pn = &cp->pan[cp->cur];
    memset(cp->orig, 0, sizeof cp->orig);
    cp->adding = adding;
    if (!adding) {
        static const char *const cols[] = { "pin", "name", "card", "password", "start", "end" };
        for (size_t i = 0; i < 6; i++)
            snprintf(cp->orig[i], sizeof cp->orig[i], "%s", cell(&pn->users, row, cols[i]));
        char doors[120];
        doors_of(pn, cp->orig[E_PIN], doors, sizeof doors);
        char *paren = strstr(doors, " (");
        const char *tz = paren ? strstr(paren, "tz ") : NULL;
        if (tz)
            snprintf(cp->orig[E_TZ], sizeof cp->orig[E_TZ], "%.*s", (int)strcspn(tz + 3, ")"), tz + 3);
        if (paren)
            *paren = '\0';
        snprintf(cp->orig[E_DOORS], sizeof cp->orig[E_DOORS], "%s", doors);
    } else {
        snprintf(cp->orig[E_TZ], sizeof cp->orig[E_TZ], "1");
    }
    memcpy(cp->val, cp->orig, sizeof cp->val);
    cp->field = adding ? E_PIN : E_NAME;
    cp->ed = ED_FORM;
    cp->note[0] = '\0';
    lines_clear(cp);
}

/* The two requests of a change: the user row, then the panel's whole access table with the user's rows
 * replaced (so only the rights that differ are written). */
static char *user_csv(const struct cpriv *cp)
{
    const char *const cols[] = { "pin", "name", "card", "password", "start", "end" };
    const char *vals[6];
    for (size_t i = 0; i < 6; i++)
        vals[i] = cp->val[i];
    char *h = csv_format_row(cols, 6), *v = csv_format_row(vals, 6);
    char *out = h && v ? malloc(strlen(h) + strlen(v) + 3) : NULL;
    if (out)
        sprintf(out, "%s\n%s\n", h, v);
    free(h);
    free(v);
    return out;
}

static unsigned panel_doors(struct console *c, const struct cpanel *pn)
{
    const struct site_panel *sp = c->site->devices[pn->device].panel;
    return sp && sp->doors ? sp->doors : SITE_C3_MAX_DOORS;
}

/* The form's doors (checked by field_ok) as the user's access rows, or NULL (an empty list when n is). */
static int form_access(struct console *c, const struct cpriv *cp, struct csv *out)
{
    const struct cpanel *pn = &cp->pan[cp->cur];
    unsigned dv[C3_DOORS_MAX];
    char err[160];
    int nd = c3_doors_parse(cp->val[E_DOORS], panel_doors(c, pn), c->site->devices[pn->device].name, dv, err,
                            sizeof err);
    return c3_doors_access(cp->val[E_PIN], dv, nd > 0 ? (size_t)nd : 0, cp->val[E_TZ], out);
}

/* The user's access rights as the form says: one row per door, all with the form's time zone. */
static char *access_csv(struct console *c, const struct cpriv *cp)
{
    struct csv acc = { 0 };
    char *buf = NULL;
    if (form_access(c, cp, &acc) == 0) {
        struct strbuf sb;
        size_t cap = 64 + acc.nrows * 40;
        buf = malloc(cap);
        if (buf) {
            strbuf_init(&sb, buf, cap);
            strbuf_puts(&sb, "pin,door,timezone\n");
            for (size_t r = 0; r < acc.nrows; r++)
                strbuf_printf(&sb, "%s,%s,%s\n", csv_cell(&acc, r, 0), csv_cell(&acc, r, 1), csv_cell(&acc, r, 2));
        }
    }
    csv_free(&acc);
    return buf;
}

static void run_step(struct console *c, struct cpriv *cp);

static void step_line(void *arg, unsigned done, unsigned total, const char *line)
{
    (void)done;
    (void)total;
    struct console *c = arg;
    struct cpriv *cp = cpriv_of(c);
    if (!cp || !line || cp->ed == ED_NONE)
        return;
    char **v = realloc(cp->lines, (cp->nlines + 1) * sizeof *v);
    if (!v)
        return;
    cp->lines = v;
    /* "line 2: card: ..." names a line of the rows the editor made: the field is what the operator needs */
    if (strncmp(line, "line ", 5) == 0 && strspn(line + 5, "0123456789") && strncmp(line + 5 + strspn(line + 5,
        "0123456789"), ": ", 2) == 0)
        line += 5 + strspn(line + 5, "0123456789") + 2;
    cp->lines[cp->nlines] = strdup(line);
    if (cp->lines[cp->nlines])
        cp->nlines++;
    c->dirty = true;
}

static void step_done(const struct action_run *run, bool finished, void *arg)
{
    struct console *c = arg;
    struct cpriv *cp = cpriv_of(c);
    if (!finished || !cp || cp->ed == ED_NONE)
        return;
    c->dirty = true;
    if (c->running_actions && !cp->dry)
        c->running_actions--;
    const char *msg = run->error[0] ? run->error : run->n_results ? run->results[0].message : "";
    if (run->status != ACTION_OK) {
        /* the driver's lines above say what and which field; otherwise the action's own reason */
        if (cp->dry)
            snprintf(cp->note, sizeof cp->note, "Refused, nothing was written%s%s", cp->nlines ? "" : ": ",
                     cp->nlines ? " (see above)" : msg);
        else
            snprintf(cp->note, sizeof cp->note, "FAILED%s: %s", cp->step ? " (the user's row was written; the "
                     "doors were not)" : "", msg);
        cp->ed = cp->dry ? ED_FORM : ED_DONE;
        if (!cp->dry)
            start_load(c, cp->cur, 0); /* what the panel holds now */
        return;
    }
    if (cp->step == 0 && strcmp(cp->val[E_DOORS], cp->orig[E_DOORS]) == 0 &&
        (strcmp(cp->val[E_TZ], cp->orig[E_TZ]) == 0 || !cp->val[E_DOORS][0])) {
        cp->step = 2; /* the doors are as they were (a new user without doors has none to write) */
    } else {
        cp->step++;
    }
    if (cp->step < 2) {
        run_step(c, cp);
        return;
    }
    if (cp->dry) {
        cp->ed = ED_DIFF;
        snprintf(cp->note, sizeof cp->note, "%s", cp->nlines ? "" : "Nothing to change.");
        if (!cp->nlines)
            cp->ed = ED_FORM;
    } else {
        cp->ed = ED_DONE;
        snprintf(cp->note, sizeof cp->note, "Applied and read back.");
        console_message(c, TH_OK, "%s: user %s saved", run->target, cp->val[E_PIN]);
        start_load(c, cp->cur, 0);
    }
}

static void run_step(struct console *c, struct cpriv *cp)
{
    struct cpanel *pn = &cp->pan[cp->cur];
    if (cp->dry && cp->adding && cp->step == 1) {
        /* the panel checks a right against its users, and the new user is not there before it is written: the
         * rights were checked here against the panel's doors and time zones (field_ok), and are listed */
        char line[80];
        struct csv acc = { 0 };
        if (form_access(c, cp, &acc) == 0)
            for (size_t r = 0; r < acc.nrows; r++) {
                c3_doors_added_text(&acc, r, line, sizeof line);
                step_line(c, 0, 0, line);
            }
        csv_free(&acc);
        cp->ed = ED_DIFF;
        return;
    }
    char settings[48];
    char *data = cp->step == 0 ? user_csv(cp) : access_csv(c, cp);
    if (cp->step == 0)
        snprintf(settings, sizeof settings, "users %s%s", cp->adding ? "add" : "set", cp->dry ? " dry-run" : "");
    else
        snprintf(settings, sizeof settings, "access replace pin=%s%s", cp->val[E_PIN], cp->dry ? " dry-run" : "");
    struct action_params p = { .settings = settings, .file_data = data, .file_len = data ? strlen(data) : 0,
                               .step = step_line, .step_arg = c };
    char err[256];
    if (!cp->dry)
        c->running_actions++;
    (void)action_run(c->site, &c->user, ACTION_PANEL_DATA, c->site->devices[pn->device].name, &p, step_done, c, err,
                     sizeof err);
    free(data); /* the driver or the request has copied it */
}

static void check_or_apply(struct console *c, struct cpriv *cp, bool dry)
{
    cp->dry = dry;
    cp->step = 0;
    cp->note[0] = '\0';
    lines_clear(cp);
    cp->ed = dry ? ED_CHECKING : ED_APPLYING;
    run_step(c, cp);
}

/* What the form can check before the panel does: characters, numbers, the door numbers against the panel's doors,
 * the time zone against the panel's time zones (the panel refuses a right naming neither, but a new user's rights
 * cannot be checked by a dry run before the user exists). */
static bool field_ok(struct console *c, struct cpriv *cp)
{
    for (size_t i = 0; i < NE; i++)
        for (const char *v = cp->val[i]; *v; v++)
            if ((unsigned char)*v < 0x20 || (unsigned char)*v > 0x7E) {
                snprintf(cp->note, sizeof cp->note, "%s: only printable characters", labels[i]);
                return false;
            }
    if (!cp->val[E_PIN][0] || strspn(cp->val[E_PIN], "0123456789") != strlen(cp->val[E_PIN])) {
        snprintf(cp->note, sizeof cp->note, "PIN: a number");
        return false;
    }
    const struct cpanel *pn = &cp->pan[cp->cur];
    unsigned dv[C3_DOORS_MAX];
    char err[200];
    int nd = c3_doors_parse(cp->val[E_DOORS], panel_doors(c, pn), c->site->devices[pn->device].name, dv, err,
                            sizeof err);
    if (nd < 0) {
        snprintf(cp->note, sizeof cp->note, "Doors: %s", err);
        return false;
    }
    if (nd && c3_doors_tz_check(cp->val[E_TZ], &pn->tzs, err, sizeof err) < 0) {
        snprintf(cp->note, sizeof cp->note, "Time zone: %s", err);
        return false;
    }
    return true; /* the rest is checked by the panel's driver in the dry run */
}

static unsigned editor_key(struct console *c, struct pane *p, int key)
{
    struct cpriv *cp = p->priv;
    if (cp->ed == ED_NONE)
        return 0;
    c->dirty = true;
    bool enter = key == '\n' || key == '\r' || key == KEY_ENTER;
    size_t row;
    switch (cp->ed) {
    case ED_CHECKING:
    case ED_APPLYING:
        return key == 27 || keys_fkey(key) || key == KEY_RESIZE ? 0 : PANE_HANDLED;
    case ED_DIFF:
        if (key == 'y' || key == 'Y' || enter)
            check_or_apply(c, cp, false);
        else if (key == 27 || key == 'n')
            cp->ed = ED_FORM;
        else
            return keys_fkey(key) || key == KEY_RESIZE ? 0 : PANE_HANDLED;
        return PANE_HANDLED;
    case ED_DONE:
        if (key == 27 || key == 'q')
            cp->ed = ED_NONE;
        else if (enter && find_user(&cp->pan[cp->cur], cp->val[E_PIN], &row))
            open_editor(c, cp, false, row);
        else
            return keys_fkey(key) || key == KEY_RESIZE ? 0 : PANE_HANDLED;
        return PANE_HANDLED;
    default:
        break;
    }
    char *v = cp->val[cp->field];
    size_t len = strlen(v);
    bool fixed = cp->field == E_PIN && !cp->adding;
    switch (key) {
    case 27: cp->ed = ED_NONE; console_message(c, TH_INFO, "User editor: no change made"); break;
    case KEY_UP: case KEY_BTAB: cp->field = cp->field ? cp->field - 1 : NE - 1; break;
    case KEY_DOWN: case '\t': cp->field = (cp->field + 1) % NE; break;
    case '\n': case '\r': case KEY_ENTER:
        if (field_ok(c, cp))
            check_or_apply(c, cp, true);
        break;
    case KEY_BACKSPACE: case 127: case 8:
        if (len && !fixed)
            v[len - 1] = '\0';
        break;
    case 21: /* C-u */
        if (!fixed)
            v[0] = '\0';
        break;
    default:
        if (key >= 0x20 && key < 0x7f) {
            if (!fixed && len < maxlen[cp->field])
                v[len] = (char)key, v[len + 1] = '\0';
        } else {
            return 0;
        }
    }
    return PANE_HANDLED;
}

static unsigned pane_key(struct console *c, struct pane *p, int key)
{
    struct cpriv *cp = p->priv;
    unsigned r = editor_key(c, p, key);
    p->typing = cp->ed == ED_FORM;
    return r;
}

static void delete_done(struct console *c, bool ok, const char *text, void *arg)
{
    (void)text;
    (void)arg;
    struct cpriv *cp = cpriv_of(c);
    if (!ok || !cp)
        return;
    open_editor(c, cp, false, c->panes[PANE_CARDS]->lv.sel);
    struct cpanel *pn = &cp->pan[cp->cur];
    char data[64];
    snprintf(data, sizeof data, "pin\n%s\n", cp->val[E_PIN]);
    cp->ed = ED_APPLYING;
    cp->dry = false;
    cp->step = 1; /* one request: the driver removes the user's access rights too */
    struct action_params p = { .settings = "users delete", .file_data = data, .file_len = strlen(data),
                               .step = step_line, .step_arg = c };
    char err[256];
    c->running_actions++;
    (void)action_run(c->site, &c->user, ACTION_PANEL_DATA, c->site->devices[pn->device].name, &p, step_done, c, err,
                     sizeof err);
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
    case REQ_CARDS_PANEL:
        if (cp->n)
            cp->cur = (cp->cur + 1) % cp->n;
        p->lv.sel = p->lv.top = 0;
        return PANE_HANDLED | PANE_REDRAW;
    case REQ_CARDS_RELOAD:
        if (pn && console_allowed(c, r) && !pn->loading) {
            pn->err[0] = '\0';
            start_load(c, cp->cur, 0);
        }
        return PANE_HANDLED | PANE_REDRAW;
    case REQ_ENTER:
        if (pn && pn->loaded && p->lv.sel < pn->users.nrows) {
            char text[900], nums[120], doors[400];
            size_t s = p->lv.sel;
            doors_of(pn, cell(&pn->users, s, "pin"), nums, sizeof nums);
            named_doors(c, pn, nums, doors, sizeof doors);
            snprintf(text, sizeof text, "PIN:      %s\nName:     %s\nCard:     %s\nValid:    %s .. %s\nGroup:    %s"
                     "\nSuper:    %s\nDoors:    %s", cell(&pn->users, s, "pin"), cell(&pn->users, s, "name"),
                     cell(&pn->users, s, "card"), cell(&pn->users, s, "start"), cell(&pn->users, s, "end"),
                     cell(&pn->users, s, "group"), cell(&pn->users, s, "super"), doors[0] ? doors : "none");
            console_info(c, "User", text);
        }
        return PANE_HANDLED;
    case REQ_USER_ADD:
    case REQ_USER_EDIT:
    case REQ_USER_DELETE:
        if (!pn || !console_allowed(c, r))
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
                     cell(&pn->users, p->lv.sel, "pin"), cell(&pn->users, p->lv.sel, "name"),
                     c->site->devices[pn->device].name);
            console_confirm(c, "Delete user", prompt, delete_done, NULL);
            return PANE_HANDLED | PANE_REDRAW;
        }
        open_editor(c, cp, r == REQ_USER_ADD, p->lv.sel);
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
        lines_clear(cp);
    }
    free(cp);
}

struct pane *pane_cards_new(struct console *c)
{
    struct pane *p = calloc(1, sizeof *p);
    struct cpriv *cp = calloc(1, sizeof *cp);
    if (cp)
        cp->pan = calloc(c->site->n_devices ? c->site->n_devices : 1, sizeof *cp->pan);
    if (!p || !cp || !cp->pan) {
        free(p);
        if (cp)
            free(cp->pan);
        free(cp);
        return NULL;
    }
    for (size_t d = 0; d < c->site->n_devices; d++)
        if (strcmp(c->site->devices[d].kind, "c3") == 0)
            cp->pan[cp->n++].device = d;
    p->title = "Cards";
    p->scope = SCOPE_CARDS;
    p->is_list = true;
    p->draw = draw;
    p->request = request;
    p->key = pane_key;
    p->free = pane_free;
    p->priv = cp;
    return p;
}
