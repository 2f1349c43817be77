/* ui: layout, dispatch, dialogs, emergency keys and the console's loop. */
#include "tui/ui.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <curses.h>

#include "core/strbuf.h"
#include "tui/keys.h"

#define LIVE_WINDOW 2000   /* events kept on screen per pane; the journal holds the rest */
#define BELL_MS 3000
#define REDRAW_MIN_MS 40   /* coalesce event-driven redraws under load */

static const enum pane_id tab_order[] = {PANE_EVENTS, PANE_IBUTTON, PANE_DOORS, PANE_SLAVES, PANE_ALARMS,
                                         PANE_HISTORY, PANE_CARDS};
#define N_TABS (int)(sizeof tab_order / sizeof tab_order[0])

static bool emergency_on(const struct console *c)
{
    return c->site->emergency_active || (c->em.running && c->em.on);
}

/* True while the journal cannot store (h filled). */
static bool journal_trouble(const struct console *c, struct journal_health *h)
{
    if (!c->journal)
        return false;
    journal_health(c->journal, h);
    return h->state == JOURNAL_QUEUING || h->state == JOURNAL_UNAVAILABLE;
}

/* ---- drawing ---- */
/* Display width of a UTF-8 string (every glyph the console uses is one cell wide). */
static int cells(const char *s)
{
    int n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* The status line: site, clock, operator and role, links; on the right (never cut) the alarm count and the
 * EMERGENCY marker. */
static void draw_status(struct console *c)
{
    attr_t st = theme_attr(&c->th, TH_STATUS);
    console_fill(c, 0, 0, c->cols, st);
    char clock[16];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(clock, sizeof clock, "%H:%M:%S", &tm);
    unsigned up = 0, stale = 0, down = 0;
    for (size_t i = 0; i < c->site->n_devices; i++) {
        switch (c->site->devices[i].link) {
        case LINK_UP: up++; break;
        case LINK_STALE: stale++; break;
        default: down++; break;
        }
    }
    size_t un = alarms_unacked(c);
    char right[96];
    snprintf(right, sizeof right, " %zu alarm%s%s ", un, un == 1 ? "" : "s", un && c->bell_muted ? " (muted)" : "");
    const char *em = emergency_on(c) ? " EMERGENCY " : "";
    struct journal_health jh;
    const char *jm = c->remote_down ? " NOT CONNECTED " : journal_trouble(c, &jh) ? " JOURNAL " : "";
    int rw = cells(right) + cells(jm) + cells(em);
    char links[64];
    struct strbuf lb;
    STRBUF_ON(&lb, links);
    if (c->remote_down) /* what the mirror last heard is no longer known to be true */
        strbuf_printf(&lb, "links ?/%zu up", c->site->n_devices);
    else
        strbuf_printf(&lb, "links %u/%zu up", up, c->site->n_devices);
    if (stale && !c->remote_down)
        strbuf_printf(&lb, ", %u stale", stale);
    if (down && !c->remote_down)
        strbuf_printf(&lb, ", %u down", down);
    char left[256];
    snprintf(left, sizeof left, " %s %s %s  %s (%s%s)  %s", c->site->name, c->th.vline, clock, c->user.name,
             role_name(c->user.role), c->readonly ? ", read-only" : "", links);
    console_put(c, 0, 0, c->cols - rw, st, left);
    int x = c->cols - rw;
    if (x < 0)
        x = 0;
    console_put(c, 0, x, c->cols - x, un ? theme_attr(&c->th, TH_CRIT) : st, right);
    x += cells(right);
    if (jm[0])
        console_put(c, 0, x, c->cols - x, theme_attr(&c->th, TH_ALARM), jm);
    x += cells(jm);
    if (em[0])
        console_put(c, 0, x, c->cols - x, theme_attr(&c->th, TH_BANNER), em);
}

/* As a client of portierd, while it is not connected: one loud line (the screen shows what was known then, and
 * actions say why they cannot run). */
static int draw_remote_banner(struct console *c, int y)
{
    if (!c->remote_down)
        return 0;
    char since[32] = "", line[512];
    event_format_time(c->remote_down_us, since, sizeof since);
    const char *b = c->th.bullet;
    snprintf(line, sizeof line, " NOT CONNECTED TO portierd since %s %s no action can be sent %s screen as it was "
             "then %s reconnecting by itself: %s", since + (strlen(since) > 11 ? 11 : 0), b, b, b, c->remote_why);
    attr_t a = theme_attr(&c->th, TH_CRIT) | A_REVERSE;
    console_fill(c, y, 0, c->cols, a);
    console_put(c, y, 0, c->cols, a, line);
    return 1;
}

/* The journal's banner: one line while it cannot store, with why, since when, what waits in memory and what
 * was lost; the history's state when there is no database. */
static int draw_journal_banner(struct console *c, int y)
{
    struct journal_health h;
    if (!journal_trouble(c, &h))
        return 0;
    char since[32] = "", line[640], lost[64] = "";
    if (h.since_us) {
        event_format_time(h.since_us, since, sizeof since);
        memmove(since, since + 11, strlen(since + 11) + 1); /* HH:MM:SS */
    }
    if (h.lost_events || h.lost_audits)
        snprintf(lost, sizeof lost, ", %llu LOST", (unsigned long long)(h.lost_events + h.lost_audits));
    const char *b = c->th.bullet;
    snprintf(line, sizeof line, " JOURNAL %s%s%s %s %zu event%s kept in memory (max %zu)%s%s%s %s %s",
             h.state == JOURNAL_UNAVAILABLE ? "UNAVAILABLE" : "NOT STORING", since[0] ? " since " : "", since, b,
             h.kept_events, h.kept_events == 1 ? "" : "s", h.max_events, lost,
             h.kept_audits ? ", audit rows waiting" : "",
             h.state != JOURNAL_UNAVAILABLE ? "" : h.history ? ", history read-only" : ", no history", b, h.reason);
    attr_t a = theme_attr(&c->th, TH_ALARM) | A_REVERSE;
    console_fill(c, y, 0, c->cols, a);
    console_put(c, y, 0, c->cols, a, line);
    return 1;
}

static void draw_tabs(struct console *c, int y)
{
    console_fill(c, y, 0, c->cols, theme_attr(&c->th, TH_TAB));
    int x = 0;
    for (int i = 0; i < N_TABS; i++) {
        struct pane *p = c->panes[tab_order[i]];
        char label[64];
        int keyc = -1;
        keymap_fkey(&c->km, (enum req)(REQ_VIEW_EVENTS + i), &keyc);
        char kn[16] = "";
        if (keyc >= 0)
            keys_name(keyc, kn, sizeof kn);
        if (tab_order[i] == PANE_ALARMS && alarms_unacked(c))
            snprintf(label, sizeof label, " %s %s (%zu) ", kn, p->title, alarms_unacked(c));
        else
            snprintf(label, sizeof label, " %s %s ", kn, p->title);
        bool active = c->focus == (int)tab_order[i];
        attr_t a = theme_attr(&c->th, active ? TH_TAB_ACTIVE : TH_TAB);
        if (tab_order[i] == PANE_ALARMS && alarms_unacked(c) && !active)
            a = theme_attr(&c->th, TH_CRIT);
        int w = (int)strlen(label);
        if (x + w > c->cols)
            break;
        console_put(c, y, x, w, a, label);
        x += w + 1;
    }
    if (c->focus == PANE_HELP && x + 8 <= c->cols)
        console_put(c, y, x, 8, theme_attr(&c->th, TH_TAB_ACTIVE), " Help ");
}

static int draw_banner(struct console *c, int y)
{
    if (!emergency_on(c) && !(c->em.running && !c->em.on))
        return 0;
    attr_t a = theme_attr(&c->th, TH_BANNER);
    console_fill(c, y, 0, c->cols, a);
    console_fill(c, y + 1, 0, c->cols, a);
    char line[512];
    char rk[16] = "R";
    int any = -1;
    int f = keymap_fkey(&c->km, REQ_RESTORE, &any);
    if (f)
        snprintf(rk, sizeof rk, "F%d", f);
    else if (any >= 0)
        keys_name(any, rk, sizeof rk);
    if (c->em.resumed && c->site->emergency_active) {
        /* begun before this console started: what the doors report */
        unsigned total = 0, unlocked = 0;
        for (size_t i = 0; i < c->site->n_outputs; i++)
            if (action_emergency_output(c->site, &c->site->outputs[i])) {
                total++;
                unlocked += c->site->outputs[i].state.emergency && !c->site->outputs[i].state.stale;
            }
        snprintf(line, sizeof line, " EMERGENCY ACTIVE (begun before this console started) %s %u doors: %u unlocked, "
                 "%u not confirmed  %s = restore", c->th.bullet, total, unlocked, total - unlocked, rk);
    } else if (!c->em.on && !c->em.running && c->site->emergency_active)
        snprintf(line, sizeof line, " EMERGENCY STILL ACTIVE %s restore of %u doors: %u confirmed, %u failed  %s = retry",
                 c->th.bullet, c->em.total, c->em.confirmed, c->em.failed, rk);
    else if (c->em.on || c->site->emergency_active)
        snprintf(line, sizeof line, " EMERGENCY UNLOCK %s %u doors: %u confirmed, %u pending, %u failed  %s = restore",
                 c->th.bullet, c->em.total, c->em.confirmed, c->em.pending, c->em.failed, rk);
    else
        snprintf(line, sizeof line, " RESTORING DOORS %s %u doors: %u confirmed, %u pending, %u failed", c->th.bullet,
                 c->em.total, c->em.confirmed, c->em.pending, c->em.failed);
    console_put(c, y, 0, c->cols, a, line);
    if (c->em.failures[0]) {
        snprintf(line, sizeof line, " FAILED: %s", c->em.failures);
        console_put(c, y + 1, 0, c->cols, a, line);
    } else {
        console_put(c, y + 1, 0, c->cols, a, c->em.pending ? " waiting for the devices..." : " ");
    }
    return 2;
}

/* The function-key bar: F1..F12 in order, the focused pane's requests winning over global ones. When the
 * bar does not fit, Help and Quit go first (their keys are in the help), then labels get shorter; the
 * emergency key is always shown. */
static void draw_fbar(struct console *c, int y)
{
    console_fill(c, y, 0, c->cols, A_NORMAL);
    struct pane *p = c->panes[c->focus];
    enum req at[13] = {REQ_NONE};
    for (int fk = 1; fk <= 12; fk++)
        for (int pass = 0; pass < 2 && at[fk] == REQ_NONE; pass++)
            for (int r = 1; r < REQ_COUNT; r++) {
                const struct request_info *ri = request_info((enum req)r);
                if (!ri->label)
                    continue;
                if (pass == 0 && (ri->scope != p->scope || c->dlg.kind != DLG_NONE))
                    continue;
                if (pass == 1 && ri->scope != SCOPE_GLOBAL)
                    continue;
                if (keymap_fkey(&c->km, (enum req)r, NULL) == fk) {
                    at[fk] = (enum req)r;
                    break;
                }
            }
    int labw = 7;
    for (int attempt = 0; attempt < 6; attempt++) {
        int total = 0;
        for (int fk = 1; fk <= 12; fk++)
            if (at[fk] != REQ_NONE) {
                int l = (int)strlen(request_info(at[fk])->label);
                total += (fk >= 10 ? 3 : 2) + (l < labw ? l : labw) + 1;
            }
        if (total <= c->cols)
            break;
        if (attempt == 0 && at[1] == REQ_HELP)
            at[1] = REQ_NONE;
        else if (attempt <= 1 && at[10] == REQ_QUIT)
            at[10] = REQ_NONE;
        else if (labw > 4)
            labw--;
    }
    int x = 0;
    for (int fk = 1; fk <= 12 && x < c->cols; fk++) {
        enum req found = at[fk];
        if (found == REQ_NONE)
            continue;
        bool ok = request_allowed(found, c->user.role, c->readonly);
        char k[8];
        snprintf(k, sizeof k, "F%d", fk);
        attr_t ka = theme_attr(&c->th, found == REQ_EMERGENCY ? TH_BANNER : TH_FKEY_KEY);
        console_put(c, y, x, c->cols - x, ka, k);
        x += (int)strlen(k);
        char lab[16];
        snprintf(lab, sizeof lab, "%.*s", labw, request_info(found)->label);
        console_put(c, y, x, c->cols - x, theme_attr(&c->th, ok ? TH_FKEY_LABEL : TH_FKEY_OFF), lab);
        x += (int)strlen(lab) + 1;
    }
}

/* The display cells of the character at s (at most len bytes) in *cw and its length in bytes: a byte that is no
 * character, or a control character, is one cell (console_put shows it as '?'). */
static int char_at(const char *s, int len, int *cw)
{
    mbstate_t st;
    memset(&st, 0, sizeof st);
    wchar_t wc;
    size_t n = mbrtowc(&wc, s, (size_t)len, &st);
    if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
        *cw = 1;
        return 1;
    }
    int w = wcwidth(wc);
    *cw = w < 0 ? 1 : w;
    return (int)n;
}

static int text_cells(const char *s, int len)
{
    int cells = 0;
    for (int i = 0, cw; i < len; cells += cw)
        i += char_at(s + i, len - i, &cw);
    return cells;
}

/* Line s[0..len) cut into pieces of at most width cells, at the last space that fits (a word longer than the
 * width is cut where it ends the line). Up to max pieces in at/lens; the number made, or max + 1 when more
 * would follow. */
static int wrap_line(const char *s, int len, int width, const char **at, int *lens, int max)
{
    int n = 0;
    if (len == 0) {
        if (max < 1)
            return 1;
        at[0] = s;
        lens[0] = 0;
        return 1;
    }
    while (len > 0) {
        if (n == max)
            return max + 1;
        int i = 0, cells = 0, space = -1;
        while (i < len) {
            int cw, b = char_at(s + i, len - i, &cw);
            if (cells + cw > width && i > 0)
                break;
            if (s[i] == ' ')
                space = i;
            cells += cw;
            i += b;
        }
        int cut = i < len && space > 0 ? space : i;
        at[n] = s;
        lens[n++] = cut;
        s += cut;
        len -= cut;
        while (len > 0 && *s == ' ') { /* the space at the break is not shown */
            s++;
            len--;
        }
    }
    return n;
}

static void draw_dialog(struct console *c)
{
    struct dialog *d = &c->dlg;
    if (d->kind == DLG_NONE)
        return;
    /* The prompt's lines, then each wrapped to the dialog's width (at most the window's less a cell each side). */
    int maxw = text_cells(d->title, (int)strlen(d->title)) + 4;
    for (const char *s = d->prompt; *s;) {
        const char *e = strchr(s, '\n');
        int l = e ? (int)(e - s) : (int)strlen(s);
        int cw = text_cells(s, l);
        if (cw > maxw)
            maxw = cw;
        s = e ? e + 1 : s + l;
    }
    int w = maxw + 4;
    if (w < 44)
        w = 44;
    if (w > c->cols - 2)
        w = c->cols - 2;
    int extra = d->kind == DLG_INPUT ? 2 : 0;
    int room = c->rows - 4 - extra - 2; /* the dialog leaves the top and bottom lines of the screen */
    if (room > 64)
        room = 64;
    if (room < 1)
        room = 1;
    const char *lines[64];
    int lens[64];
    int n = 0;
    bool cut = false;
    for (const char *s = d->prompt; *s && !cut;) {
        const char *e = strchr(s, '\n');
        int l = e ? (int)(e - s) : (int)strlen(s);
        int k = wrap_line(s, l, w - 4, lines + n, lens + n, room - n);
        if (k > room - n) {
            n = room;
            cut = true;
        } else {
            n += k;
        }
        s = e ? e + 1 : s + l;
    }
    int h = n + 4 + extra;
    int y0 = (c->rows - h) / 2, x0 = (c->cols - w) / 2;
    attr_t a = theme_attr(&c->th, TH_STATUS);
    for (int i = 0; i < h; i++)
        console_fill(c, y0 + i, x0, w, a);
    char t[96];
    snprintf(t, sizeof t, " %s ", d->title);
    console_put(c, y0, x0 + 1, w - 2, a | A_BOLD, t);
    for (int i = 0; i < n; i++) {
        char buf[600];
        snprintf(buf, sizeof buf, "%.*s", lens[i], lines[i]);
        console_put(c, y0 + 2 + i, x0 + 2, w - 4, a, buf);
    }
    if (cut) /* more than the window holds: the last line says so */
        console_put(c, y0 + 1 + n, x0 + w - 5, 3, a | A_BOLD, "...");
    int y = y0 + 2 + n;
    if (d->kind == DLG_INPUT) {
        y++;
        attr_t fa = theme_attr(&c->th, d->err[0] ? TH_FIELD_BAD : TH_FIELD);
        console_fill(c, y, x0 + 2, w - 4, fa);
        const char *shown = d->input;
        int fw = w - 5;
        if ((int)d->len > fw)
            shown += d->len - (size_t)fw;
        console_put(c, y, x0 + 2, w - 4, fa, shown);
        console_put(c, y, x0 + 2 + (int)strlen(shown), 1, fa | A_REVERSE, " ");
        y++;
    }
    const char *hint = d->kind == DLG_CONFIRM ? "y/Enter = yes   n/Esc = no"
                       : d->kind == DLG_INPUT ? "Enter = ok   Esc = cancel"
                                              : "any key closes";
    console_put(c, y0 + h - 1, x0 + 2, w - 4, a, d->err[0] ? d->err : hint);
}

static void draw_small(struct console *c)
{
    erase();
    char a[128], b[128];
    snprintf(a, sizeof a, "portier needs a terminal of at least %dx%d", UI_MIN_COLS, UI_MIN_ROWS);
    snprintf(b, sizeof b, "this one is %dx%d: please enlarge the window", c->cols, c->rows);
    int y = c->rows / 2 - 1;
    if (y < 0)
        y = 0;
    console_put(c, y, 0, c->cols, theme_attr(&c->th, TH_WARN), a);
    console_put(c, y + 1, 0, c->cols, A_NORMAL, b);
    if (c->small_ignored && y + 3 < c->rows) {
        char k[96];
        snprintf(k, sizeof k, "%u key(s) ignored: only the emergency keys and quit work here", c->small_ignored);
        console_put(c, y + 3, 0, c->cols, theme_attr(&c->th, TH_DIM), k);
    }
    if (emergency_on(c) && y + 2 < c->rows) {
        char em[128] = "EMERGENCY ACTIVE";
        if (c->em.total && !c->em.resumed) /* this console's run: which doors confirmed, as the banner says */
            snprintf(em, sizeof em, "EMERGENCY ACTIVE: %u doors, %u confirmed, %u pending, %u failed", c->em.total,
                     c->em.confirmed, c->em.pending, c->em.failed);
        console_put(c, y + 2, 0, c->cols, theme_attr(&c->th, TH_BANNER), em);
    } else if (alarms_unacked(c) && y + 2 < c->rows) {
        char al[64];
        snprintf(al, sizeof al, "%zu unacknowledged alarm(s)", alarms_unacked(c));
        console_put(c, y + 2, 0, c->cols, theme_attr(&c->th, TH_CRIT), al);
    }
    /* What the emergency keys say (press again, not allowed, ...) is seen here too. */
    if (c->msg[0] && (int64_t)loop_now_ms(c->loop) < c->msg_until_ms && y + 4 < c->rows)
        console_put(c, y + 4, 0, c->cols, theme_attr(&c->th, c->msg_role), c->msg);
    /* A dialog open here (the emergency's word, restore's or quit's question, or one opened before the window
     * shrank) is answered here too: it must be seen. */
    if (c->dlg.kind != DLG_NONE && y + 6 < c->rows) {
        const struct dialog *d = &c->dlg;
        char q[sizeof d->title + sizeof d->prompt + 4];
        snprintf(q, sizeof q, "%s: %s", d->title, d->prompt);
        for (char *s = q; *s; s++)
            if (*s == '\n')
                *s = ' ';
        console_put(c, y + 5, 0, c->cols, theme_attr(&c->th, TH_WARN) | A_BOLD, q);
        int hy = y + 6;
        if (d->kind == DLG_INPUT && y + 7 < c->rows) {
            char in[sizeof d->input + 4];
            snprintf(in, sizeof in, "> %s_", d->input);
            console_put(c, hy++, 0, c->cols, A_BOLD, in);
        }
        console_put(c, hy, 0, c->cols, A_NORMAL, d->err[0] ? d->err
                    : d->kind == DLG_CONFIRM ? "y/Enter = yes   n/Esc = no"
                    : d->kind == DLG_INPUT ? "Enter = ok   Esc = cancel" : "any key closes");
    }
}

void ui_draw(struct console *c)
{
    c->dirty = false;
    c->last_draw_ms = (int64_t)loop_now_ms(c->loop);
    if (c->full_redraw) {
        clearok(curscr, TRUE);
        c->full_redraw = false;
    }
    if (c->cols < UI_MIN_COLS || c->rows < UI_MIN_ROWS) {
        draw_small(c);
        refresh();
        return;
    }
    erase();
    draw_status(c);
    draw_tabs(c, 1);
    int y = 2;
    y += draw_banner(c, y);
    y += draw_remote_banner(c, y);
    y += draw_journal_banner(c, y);
    int bottom = c->rows - 2; /* message line */
    struct pane *p = c->panes[c->focus];
    if (p->draw)
        p->draw(c, p, y, 0, bottom - y, c->cols);
    /* message line */
    if (c->msg[0] && (int64_t)loop_now_ms(c->loop) < c->msg_until_ms)
        console_put(c, bottom, 0, c->cols, theme_attr(&c->th, c->msg_role), c->msg);
    else
        c->msg[0] = '\0';
    draw_fbar(c, c->rows - 1);
    draw_dialog(c);
    refresh();
}

/* ---- keys ---- */
static void set_focus(struct console *c, int pane)
{
    if (pane < 0 || pane >= PANE_COUNT)
        return;
    if (pane == PANE_HELP && c->focus != PANE_HELP) {
        c->before_help = c->focus;
        pane_help_show(c, c->panes[c->focus]->scope);
    }
    c->focus = pane;
    c->dirty = true;
    if (pane == PANE_HISTORY && c->panes[pane]->request)
        c->panes[pane]->request(c, c->panes[pane], REQ_FIRST); /* re-read the newest rows */
}

static void run_emergency(struct console *c)
{
    /* The message first: the action may finish (and say how) before console_action returns. */
    console_message(c, TH_CRIT, "EMERGENCY: unlocking every door");
    console_action(c, REQ_EMERGENCY, ACTION_EMERGENCY_ON, "site", 0, false);
}

static void emergency_word_done(struct console *c, bool ok, const char *text, void *arg)
{
    (void)text;
    (void)arg;
    if (ok)
        run_emergency(c);
    else
        console_message(c, TH_WARN, "Emergency not started");
}

static bool emergency_word_ok(const char *text, char *err, size_t errlen, void *arg)
{
    struct console *c = arg;
    if (strcmp(text, c->site->emergency.word) == 0)
        return true;
    snprintf(err, errlen, "type %s exactly (Esc cancels)", c->site->emergency.word);
    return false;
}

/* As a client of portierd that is not connected: the emergency and restore keys cannot act, and say so where it
 * cannot be missed (a box over the screen, closed when the connection is back). */
static bool remote_cannot_act(struct console *c, const char *what)
{
    if (!c->remote || !c->remote_down)
        return false;
    char since[32] = "", text[600];
    event_format_time(c->remote_down_us, since, sizeof since);
    snprintf(text, sizeof text,
             "portierd owns the doors and this console is not connected to it\n(since %s: %s).\n"
             "Nothing was sent: no door was changed.\n"
             "The console keeps reconnecting; press the key again once connected.", since + (strlen(since) > 11 ? 11 : 0),
             c->remote_why);
    console_message(c, TH_CRIT, "%s NOT POSSIBLE: not connected to portierd (%s); nothing was sent", what,
                    c->remote_why);
    char title[64];
    snprintf(title, sizeof title, "%s NOT POSSIBLE", what);
    console_info(c, title, text);
    c->remote_refusal_shown = true;
    return true;
}

static void emergency_key(struct console *c)
{
    if (!console_allowed(c, REQ_EMERGENCY) || remote_cannot_act(c, "EMERGENCY"))
        return;
    const struct site_emergency *e = &c->site->emergency;
    int64_t now = (int64_t)loop_now_ms(c->loop);
    switch (e->confirm) {
    case SITE_CONFIRM_DOUBLE:
        if (c->em.first_press_ms && now - c->em.first_press_ms <= (int64_t)(e->double_ms ? e->double_ms : 2000)) {
            c->em.first_press_ms = 0;
            run_emergency(c);
        } else {
            c->em.first_press_ms = now;
            console_message(c, TH_CRIT, "EMERGENCY: press again within %.1f s to unlock every door",
                            (e->double_ms ? e->double_ms : 2000) / 1000.0);
        }
        break;
    case SITE_CONFIRM_WORD: {
        char prompt[128];
        snprintf(prompt, sizeof prompt, "Unlock EVERY door of the site.\nType %s and press Enter.", e->word);
        console_input(c, "EMERGENCY", prompt, "", emergency_word_ok, emergency_word_done, c);
        break;
    }
    default:
        run_emergency(c);
        break;
    }
}

static void restore_done(struct console *c, bool ok, const char *text, void *arg)
{
    (void)text;
    (void)arg;
    if (ok)
        console_action(c, REQ_RESTORE, ACTION_EMERGENCY_OFF, "site", 0, false);
}

static void restore_key(struct console *c)
{
    if (!console_allowed(c, REQ_RESTORE) || remote_cannot_act(c, "RESTORE"))
        return;
    console_confirm(c, "Restore", c->site->emergency.restore == SITE_RESTORE_LOCKED
                    ? "End the emergency and LOCK every emergency door?"
                    : "End the emergency and put every door back as it was?", restore_done, NULL);
}

static void quit_done(struct console *c, bool ok, const char *text, void *arg)
{
    (void)text;
    (void)arg;
    if (ok)
        c->quit = true;
}

static void quit_key(struct console *c)
{
    size_t running = action_running(c->site);
    if (running || c->running_actions) {
        char p[160];
        snprintf(p, sizeof p, "%zu action(s) still running; their results will not be shown.\nQuit anyway?",
                 running ? running : c->running_actions);
        console_confirm(c, "Quit", p, quit_done, NULL);
        return;
    }
    c->quit = true;
}

static void dialog_finish(struct console *c, bool ok)
{
    struct dialog d = c->dlg;
    c->dlg.kind = DLG_NONE;
    c->dirty = true;
    if (d.done)
        d.done(c, ok, d.input, d.arg);
}

/* Whether byte b may go after the len bytes of a text field of cap bytes: a UTF-8 sequence is taken whole
 * or not at all (its first byte only when the whole sequence fits; a continuation only inside one). */
static bool field_room(const char *s, size_t len, size_t cap, unsigned char b)
{
    if (b < 0x80)
        return len + 1 < cap;
    if (b >= 0xC0)
        return len + (b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2) < cap;
    size_t i = len;
    while (i && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (!i || (unsigned char)s[i - 1] < 0xC0)
        return false;
    unsigned char lead = (unsigned char)s[i - 1];
    return len - (i - 1) < (size_t)(lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2) && len + 1 < cap;
}

/* A dialog owns the keyboard except the global emergency keys. */
static void dialog_key(struct console *c, int key)
{
    struct dialog *d = &c->dlg;
    c->dirty = true;
    if (d->kind == DLG_INFO) {
        dialog_finish(c, true);
        return;
    }
    if (d->kind == DLG_CONFIRM) {
        if (key == 'y' || key == 'Y' || key == '\n' || key == '\r' || key == KEY_ENTER)
            dialog_finish(c, true);
        else if (key == 'n' || key == 'N' || key == 27 || key == 'q')
            dialog_finish(c, false);
        return;
    }
    /* input */
    if (key == 27) {
        dialog_finish(c, false);
    } else if (key == '\n' || key == '\r' || key == KEY_ENTER) {
        if (d->validate && !d->validate(d->input, d->err, sizeof d->err, d->arg))
            return;
        dialog_finish(c, true);
    } else if (key == KEY_BACKSPACE || key == 127 || key == 8) {
        if (d->len) {
            /* drop a whole UTF-8 sequence */
            do
                d->len--;
            while (d->len && ((unsigned char)d->input[d->len] & 0xC0) == 0x80);
            d->input[d->len] = '\0';
        }
        d->err[0] = '\0';
    } else if (key == 21) { /* C-u */
        d->len = 0;
        d->input[0] = '\0';
    } else if (key >= 0x20 && key <= 0xff && key != 0x7f && field_room(d->input, d->len, sizeof d->input,
                                                                    (unsigned char)key)) {
        d->input[d->len++] = (char)key;
        d->input[d->len] = '\0';
        d->err[0] = '\0';
        if (d->validate) {
            char e[128] = "";
            /* validate as typed: show the problem, accept the key */
            if (!d->validate(d->input, e, sizeof e, d->arg))
                snprintf(d->err, sizeof d->err, "%s", e);
        }
    }
}

void ui_key(struct console *c, int key)
{
    c->dirty = true;
    struct pane *p = c->panes[c->focus];
    enum req r = keymap_lookup(&c->km, p->scope, p->is_list, key);
    /* The emergency keys work everywhere: every pane, every dialog, the small-window screen. Printable
     * emergency keys are typed as text inside a text field; function keys never are. */
    bool text_field = c->dlg.kind == DLG_INPUT || (p->typing && c->dlg.kind == DLG_NONE);
    bool printable = key >= 0x20 && key < 0x7f;
    enum req g = keymap_lookup(&c->km, SCOPE_GLOBAL, false, key);
    if ((g == REQ_EMERGENCY || g == REQ_RESTORE) && !(text_field && printable)) {
        if (g == REQ_EMERGENCY)
            emergency_key(c);
        else
            restore_key(c);
        return;
    }
    if (c->dlg.kind != DLG_NONE) { /* shown below the minimum size too (draw_small) */
        dialog_key(c, key);
        return;
    }
    if (key == KEY_RESIZE)
        return;
    /* Below the minimum size nothing is drawn but the message: a key would change a form nobody sees */
    if (c->cols < UI_MIN_COLS || c->rows < UI_MIN_ROWS) {
        if (r == REQ_QUIT && !(p->typing && printable))
            quit_key(c);
        else
            c->small_ignored++;
        return;
    }
    if (p->key) {
        unsigned res = p->key(c, p, key);
        if (res & PANE_QUIT)
            c->quit = true;
        if (res)
            return;
    }
    /* The pane sees its own and the list requests, and Esc (a filter or a form may want it) first. */
    if (r != REQ_NONE && (request_info(r)->scope != SCOPE_GLOBAL || r == REQ_CANCEL) && p->request) {
        unsigned res = p->request(c, p, r);
        if (res & PANE_QUIT)
            c->quit = true;
        if (res)
            return;
    }
    switch (r) {
    case REQ_HELP: set_focus(c, c->focus == PANE_HELP ? c->before_help : PANE_HELP); break;
    case REQ_NEXT_PANE:
    case REQ_PREV_PANE: {
        int idx = 0;
        for (int i = 0; i < N_TABS; i++)
            if ((int)tab_order[i] == c->focus)
                idx = i;
        if (c->focus == PANE_HELP)
            idx = r == REQ_NEXT_PANE ? -1 : 0;
        idx = (idx + (r == REQ_NEXT_PANE ? 1 : N_TABS - 1)) % N_TABS;
        set_focus(c, tab_order[idx]);
        break;
    }
    case REQ_VIEW_EVENTS: case REQ_VIEW_IBUTTON: case REQ_VIEW_DOORS: case REQ_VIEW_SLAVES:
    case REQ_VIEW_ALARMS: case REQ_VIEW_HISTORY: case REQ_VIEW_CARDS:
        set_focus(c, tab_order[r - REQ_VIEW_EVENTS]);
        break;
    case REQ_REDRAW: c->full_redraw = true; break;
    case REQ_QUIT: quit_key(c); break;
    case REQ_CANCEL:
        if (c->focus == PANE_HELP)
            set_focus(c, c->before_help);
        c->msg[0] = '\0';
        break;
    case REQ_MUTE:
        c->bell_muted = !c->bell_muted;
        console_message(c, TH_INFO, "Alarm bell %s", c->bell_muted ? "muted" : "on");
        break;
    case REQ_NONE: {
        char kn[16];
        if (key != ERR && key != KEY_MOUSE)
            console_message(c, TH_DIM, "%s: no action here (F1 or ? for help)", keys_name(key, kn, sizeof kn));
        break;
    }
    default:
        if (!request_allowed(r, c->user.role, c->readonly))
            console_allowed(c, r);
        break;
    }
}

/* ---- loop glue ---- */
/* The terminal's size changed (SIGWINCH through the loop's signalfd): tell curses. resizeterm() queues a
 * KEY_RESIZE, which on_input answers with take_size() only (calling resizeterm again would queue another). */
static void take_size(struct console *c)
{
    getmaxyx(stdscr, c->rows, c->cols);
    if (c->cols >= UI_MIN_COLS && c->rows >= UI_MIN_ROWS)
        c->small_ignored = 0;
    c->full_redraw = true;
    c->dirty = true;
}

static void apply_size(struct console *c)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0 &&
        (ws.ws_row != LINES || ws.ws_col != COLS))
        resizeterm(ws.ws_row, ws.ws_col);
    take_size(c);
}

static void on_sigwinch(loop_t *loop, int signo, void *arg)
{
    (void)loop;
    (void)signo;
    struct console *c = arg;
    apply_size(c);
    if (!c->quit)
        ui_draw(c); /* a resize redraws at once */
}

static void on_sigterm(loop_t *loop, int signo, void *arg)
{
    (void)loop;
    (void)signo;
    struct console *c = arg;
    c->quit = true;
}

static void on_input(loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)fd;
    struct console *c = arg;
    int n = 0;
    for (;;) {
        int k = getch();
        if (k == ERR)
            break;
        n++;
        if (k == KEY_RESIZE) {
            take_size(c);
            continue;
        }
        ui_key(c, k);
        if (c->quit)
            break;
    }
    if (n == 0 && (events & LOOP_ERROR))
        c->quit = true; /* the terminal went away */
    if (c->dirty && !c->quit)
        ui_draw(c); /* answer keys at once */
}

static void on_bell(loop_t *loop, void *arg)
{
    struct console *c = arg;
    if (alarms_unacked(c) && !c->bell_muted && c->site->ui.bell != SITE_BELL_NONE)
        beep();
    loop_timer_arm_ms(loop, &c->bell_timer, BELL_MS);
}

static void on_tick(loop_t *loop, void *arg)
{
    struct console *c = arg;
    c->ticks++;
    if (c->exit_after && c->ticks >= c->exit_after)
        c->quit = true;
    static time_t last;
    time_t now = time(NULL);
    if (now != last) {
        last = now;
        c->dirty = true; /* the clock */
    }
    unsigned window = c->site->emergency.double_ms ? c->site->emergency.double_ms : 2000;
    if (c->em.first_press_ms && (int64_t)loop_now_ms(loop) - c->em.first_press_ms > (int64_t)window) {
        /* the prompt asked for a second press within the window: it is over, say so */
        c->em.first_press_ms = 0;
        console_message(c, TH_WARN, "Emergency NOT started: no second press within %.1f s (press twice)",
                        window / 1000.0);
    }
    loop_timer_arm_ms(loop, &c->tick_timer, UI_TICK_MS);
}

static void on_redraw(loop_t *loop, void *arg)
{
    (void)loop;
    struct console *c = arg;
    if (c->dirty)
        ui_draw(c);
}

static void on_event(const struct event *ev, void *arg)
{
    struct console *c = arg;
    if (ev->kind == EVENT_NIX1_ACCESS)
        ring_push(&c->ibutton, ev);
    else
        ring_push(&c->live, ev);
    if (ev->severity == EVENT_ALARM && (ev->kind == EVENT_ACCESS || ev->kind == EVENT_DOOR ||
                                        ev->kind == EVENT_NIX1_ACCESS)) {
        bool had = alarms_unacked(c) > 0;
        alarms_add(c, ev);
        if (!had && !c->bell_muted && c->site->ui.bell != SITE_BELL_NONE)
            beep();
    } else if (ev->severity == EVENT_WARNING && c->site->ui.bell == SITE_BELL_ALL && !c->bell_muted) {
        beep();
    }
    for (int i = 0; i < PANE_COUNT; i++)
        if (c->panes[i] && c->panes[i]->on_event)
            c->panes[i]->on_event(c, c->panes[i], ev);
    c->dirty = true;
}

/* An event shown as not yet stored is in the journal now. */
static void on_stored(uint64_t seq, int64_t id, void *arg)
{
    struct console *c = arg;
    ring_mark_stored(&c->live, seq, id);
    ring_mark_stored(&c->ibutton, seq, id);
    for (size_t i = 0; i < c->n_alarms; i++)
        if (c->alarms[i].ev.seq == seq) {
            c->alarms[i].ev.journaled = true;
            c->alarms[i].ev.queued = false;
            c->alarms[i].ev.id = id;
        }
    c->dirty = true;
}

static void on_site_change(struct site *site, int device, int output, void *arg)
{
    (void)site;
    (void)device;
    (void)output;
    struct console *c = arg;
    c->dirty = true;
}

int ui_init(struct console *c)
{
    if (ring_init(&c->live, LIVE_WINDOW) < 0 || ring_init(&c->ibutton, LIVE_WINDOW) < 0)
        return -1;
    filter_clear(&c->live_filter);
    filter_clear(&c->ibutton_filter);
    c->alarms = calloc(CONSOLE_MAX_ALARMS, sizeof *c->alarms);
    c->out_progress = calloc(c->site->n_outputs ? c->site->n_outputs : 1, sizeof *c->out_progress);
    if (!c->alarms || !c->out_progress)
        return -1;
    c->panes[PANE_EVENTS] = pane_events_new(c, false);
    c->panes[PANE_IBUTTON] = pane_events_new(c, true);
    c->panes[PANE_DOORS] = pane_doors_new(c);
    c->panes[PANE_SLAVES] = pane_slaves_new(c);
    c->panes[PANE_ALARMS] = pane_alarms_new(c);
    c->panes[PANE_HISTORY] = pane_history_new(c);
    c->panes[PANE_CARDS] = pane_cards_new(c);
    c->panes[PANE_HELP] = pane_help_new(c);
    for (int i = 0; i < PANE_COUNT; i++)
        if (!c->panes[i])
            return -1;
    c->focus = PANE_EVENTS;
    c->event_sub = event_bus_subscribe(site_events(c->site), on_event, c);
    c->stored_sub = event_bus_subscribe_stored(site_events(c->site), on_stored, c);
    c->site->on_change = on_site_change;
    c->site->on_change_arg = c;
    loop_add_fd(c->loop, STDIN_FILENO, LOOP_READ, on_input, c);
    loop_add_signal(c->loop, SIGWINCH, on_sigwinch, c);
    loop_add_signal(c->loop, SIGTERM, on_sigterm, c);
    loop_add_signal(c->loop, SIGINT, on_sigterm, c);
    loop_add_signal(c->loop, SIGHUP, on_sigterm, c);
    loop_timer_init(&c->bell_timer, on_bell, c);
    loop_timer_init(&c->tick_timer, on_tick, c);
    loop_timer_init(&c->redraw_timer, on_redraw, c);
    loop_timer_arm_ms(c->loop, &c->bell_timer, BELL_MS);
    loop_timer_arm_ms(c->loop, &c->tick_timer, UI_TICK_MS);
    apply_size(c);
    return 0;
}

int ui_run(struct console *c)
{
    ui_draw(c);
    while (!c->quit) {
        if (loop_run_once(c->loop, -1) < 0)
            return 1;
        if (c->quit)
            break;
        if (c->dirty) {
            int64_t since = (int64_t)loop_now_ms(c->loop) - c->last_draw_ms;
            if (since >= REDRAW_MIN_MS)
                ui_draw(c);
            else if (!loop_timer_armed(&c->redraw_timer))
                loop_timer_arm_ms(c->loop, &c->redraw_timer, (uint64_t)(REDRAW_MIN_MS - since));
        }
    }
    return 0;
}

void ui_free(struct console *c)
{
    if (c->event_sub > 0 && c->site)
        event_bus_unsubscribe(site_events(c->site), c->event_sub);
    if (c->stored_sub > 0 && c->site)
        event_bus_unsubscribe(site_events(c->site), c->stored_sub);
    if (c->site && c->site->on_change == on_site_change)
        c->site->on_change = NULL;
    if (c->loop) {
        loop_del_fd(c->loop, STDIN_FILENO);
        loop_timer_disarm(c->loop, &c->bell_timer);
        loop_timer_disarm(c->loop, &c->tick_timer);
        loop_timer_disarm(c->loop, &c->redraw_timer);
    }
    for (int i = 0; i < PANE_COUNT; i++)
        if (c->panes[i]) {
            if (c->panes[i]->free)
                c->panes[i]->free(c->panes[i]);
            free(c->panes[i]);
            c->panes[i] = NULL;
        }
    ring_free(&c->live);
    ring_free(&c->ibutton);
    free(c->alarms);
    free(c->out_progress);
    c->n_alarms = 0;
    c->alarms = NULL;
    c->out_progress = NULL;
}
