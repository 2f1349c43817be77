/* ui_draw: the console's screen: status line, banners, tabs, the focused pane, the message line, the function-key
 * bar, dialogs (wrapped to the width), and the small-window form below the minimum size. */
#include "tui/ui_draw.h"

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
#include "tui/terminal.h"
#include "tui/textw.h"

#include "tui/ui.h"

const enum pane_id ui_tab_order[UI_N_TABS] = { PANE_EVENTS, PANE_IBUTTON, PANE_DOORS,  PANE_SLAVES,
                                               PANE_ALARMS, PANE_HISTORY, PANE_CARDS };

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
/* Display width of a string (a site or user name may hold double-width characters). */
static int cells(const char *s)
{
    return textw_cells(s);
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
    /* what does not fit gives way whole, least needed first: the spacing, the user's name, the clock; the links
     * (how many devices are down) and the role stay longest */
    char left[256];
    for (int v = 0; v < 4; v++) {
        const char *gap = v ? " " : "  ";
        snprintf(left, sizeof left, " %s %s%s%s%s%s%s(%s%s)%s%s", c->site->name, c->th.vline, v < 3 ? " " : "",
                 v < 3 ? clock : "", gap, v < 2 ? c->user.name : "", v < 2 ? " " : "", role_name(c->user.role),
                 c->readonly ? ", read-only" : "", gap, links);
        if (cells(left) <= c->cols - rw)
            break;
    }
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
    for (int i = 0; i < UI_N_TABS; i++) {
        struct pane *p = c->panes[ui_tab_order[i]];
        char label[64];
        int keyc = -1;
        keymap_fkey(&c->km, (enum req)(REQ_VIEW_EVENTS + i), &keyc);
        char kn[16] = "";
        if (keyc >= 0)
            keys_name(keyc, kn, sizeof kn);
        if (ui_tab_order[i] == PANE_ALARMS && alarms_unacked(c))
            snprintf(label, sizeof label, " %s %s (%zu) ", kn, p->title, alarms_unacked(c));
        else
            snprintf(label, sizeof label, " %s %s ", kn, p->title);
        bool active = c->focus == (int)ui_tab_order[i];
        attr_t a = theme_attr(&c->th, active ? TH_TAB_ACTIVE : TH_TAB);
        if (ui_tab_order[i] == PANE_ALARMS && alarms_unacked(c) && !active)
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
    char line[512], hint[48] = "";
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
        snprintf(line, sizeof line, " EMERGENCY ACTIVE %s %u doors: %u unlocked, %u not confirmed %s begun before this "
                 "console started", c->th.bullet, total, unlocked, total - unlocked, c->th.bullet);
        snprintf(hint, sizeof hint, "%s = restore ", rk);
    } else if (!c->em.on && !c->em.running && c->site->emergency_active) {
        snprintf(line, sizeof line, " EMERGENCY STILL ACTIVE %s restore of %u doors: %u confirmed, %u failed",
                 c->th.bullet, c->em.total, c->em.confirmed, c->em.failed);
        snprintf(hint, sizeof hint, "%s = retry ", rk);
    } else if (c->em.on || c->site->emergency_active) {
        snprintf(line, sizeof line, " EMERGENCY UNLOCK %s %u doors: %u confirmed, %u pending, %u failed",
                 c->th.bullet, c->em.total, c->em.confirmed, c->em.pending, c->em.failed);
        snprintf(hint, sizeof hint, "%s = restore ", rk);
    } else
        snprintf(line, sizeof line, " RESTORING DOORS %s %u doors: %u confirmed, %u pending, %u failed", c->th.bullet,
                 c->em.total, c->em.confirmed, c->em.pending, c->em.failed);
    /* the restore key stays in sight at the right; the counts give way first */
    int hw = textw_cells(hint);
    console_put(c, y, 0, c->cols - hw - (hw ? 1 : 0), a, line);
    if (hw && hw < c->cols)
        console_put(c, y, c->cols - hw, hw, a | A_BOLD, hint);
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
    int show;
    return (int)textw_char(s, (size_t)len, cw, &show);
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
        /* the end of a long input, from a whole character, in the field's cells (the cursor after it) */
        const char *shown = d->input;
        int fw = w - 5, cells = textw_cells(shown);
        while (cells > fw && *shown) {
            int cw, show;
            shown += textw_char(shown, strlen(shown), &cw, &show);
            cells -= cw;
        }
        console_put(c, y, x0 + 2, w - 4, fa, shown);
        console_put(c, y, x0 + 2 + cells, 1, fa | A_REVERSE, " ");
        y++;
    }
    const char *hint = d->kind == DLG_CONFIRM ? "y/Enter = yes   n/Esc = no"
                       : d->kind == DLG_INPUT ? "Enter = ok   Esc = cancel"
                                              : "any key closes";
    console_put(c, y0 + h - 1, x0 + 2, w - 4, a, d->err[0] ? d->err : hint);
}

/* "F12/! EMERGENCY" for the keys bound to r, or nothing when none is. */
static void small_key(struct console *c, struct strbuf *sb, enum req r, const char *what)
{
    char k[48];
    keymap_describe(&c->km, r, k, sizeof k);
    if (!k[0])
        return;
    for (char *s = k; *s; s++)
        if (*s == ' ')
            *s = '/';
    strbuf_printf(sb, "%s%s %s", sb->len ? ", " : "Keys here: ", k, what);
}

/* Below the minimum size: what matters most first (the emergency, a question waiting for an answer, the keys
 * that still work, the last message, why nothing else is shown), each wrapped to the width, centred when all fits; when not, the
 * last row says how many lines are hidden. */
static void draw_small(struct console *c)
{
    erase();
    enum { MAXL = 10, MAXP = 64 };
    const char *text[MAXL];
    attr_t attr[MAXL];
    int nl = 0;
    char em[160], q[sizeof c->dlg.title + sizeof c->dlg.prompt + 4], in[sizeof c->dlg.input + 4], keys[200];
    char size[96], size2[96], al[64], ign[96];
    if (emergency_on(c)) {
        snprintf(em, sizeof em, "EMERGENCY ACTIVE");
        if (c->em.total && !c->em.resumed) /* this console's run: which doors confirmed, as the banner says */
            snprintf(em, sizeof em, "EMERGENCY ACTIVE: %u doors, %u confirmed, %u pending, %u failed", c->em.total,
                     c->em.confirmed, c->em.pending, c->em.failed);
        text[nl] = em, attr[nl++] = theme_attr(&c->th, TH_BANNER);
    }
    /* A dialog open here (the emergency's word, restore's or quit's question, or one opened before the window
     * shrank) is answered here too: it must be seen. */
    if (c->dlg.kind != DLG_NONE) {
        const struct dialog *d = &c->dlg;
        snprintf(q, sizeof q, "%s: %s", d->title, d->prompt);
        for (char *s = q; *s; s++)
            if (*s == '\n')
                *s = ' ';
        text[nl] = q, attr[nl++] = theme_attr(&c->th, TH_WARN) | A_BOLD;
        if (d->kind == DLG_INPUT) {
            snprintf(in, sizeof in, "> %s_", d->input);
            text[nl] = in, attr[nl++] = A_BOLD;
        }
        text[nl] = d->err[0] ? d->err
                   : d->kind == DLG_CONFIRM ? "y/Enter = yes   n/Esc = no"
                   : d->kind == DLG_INPUT ? "Enter = ok   Esc = cancel" : "any key closes";
        attr[nl++] = A_NORMAL;
    }
    struct strbuf sb;
    strbuf_init(&sb, keys, sizeof keys);
    small_key(c, &sb, REQ_EMERGENCY, "EMERGENCY");
    if (emergency_on(c))
        small_key(c, &sb, REQ_RESTORE, "restore");
    small_key(c, &sb, REQ_QUIT, "quit");
    if (keys[0])
        text[nl] = keys, attr[nl++] = theme_attr(&c->th, TH_INFO);
    /* What the emergency keys say (press again, not allowed, ...) is seen here too. */
    if (c->msg[0] && (int64_t)loop_now_ms(c->loop) < c->msg_until_ms)
        text[nl] = c->msg, attr[nl++] = theme_attr(&c->th, c->msg_role);
    snprintf(size, sizeof size, "portier needs a terminal of at least %dx%d", UI_MIN_COLS, UI_MIN_ROWS);
    snprintf(size2, sizeof size2, "this one is %dx%d: please enlarge the window", c->cols, c->rows);
    text[nl] = size, attr[nl++] = theme_attr(&c->th, TH_WARN);
    text[nl] = size2, attr[nl++] = A_NORMAL;
    if (!emergency_on(c) && alarms_unacked(c)) {
        snprintf(al, sizeof al, "%zu unacknowledged alarm(s)", alarms_unacked(c));
        text[nl] = al, attr[nl++] = theme_attr(&c->th, TH_CRIT);
    }
    if (c->small_ignored) {
        snprintf(ign, sizeof ign, "%u key(s) ignored: only the emergency keys and quit work here", c->small_ignored);
        text[nl] = ign, attr[nl++] = theme_attr(&c->th, TH_DIM);
    }
    const char *at[MAXP];
    int lens[MAXP], of[MAXP], np = 0;
    for (int i = 0; i < nl && np < MAXP; i++) {
        int k = wrap_line(text[i], (int)strlen(text[i]), c->cols, at + np, lens + np, MAXP - np);
        if (k > MAXP - np)
            k = MAXP - np;
        for (int j = 0; j < k; j++)
            of[np + j] = i;
        np += k;
    }
    int shown = np <= c->rows ? np : c->rows - 1;
    int y = np <= c->rows ? (c->rows - np) / 2 : 0;
    for (int i = 0; i < shown; i++) {
        char buf[600];
        snprintf(buf, sizeof buf, "%.*s", lens[i], at[i]);
        console_put(c, y + i, 0, c->cols, attr[of[i]], buf);
    }
    if (shown < np) {
        char more[64];
        snprintf(more, sizeof more, c->cols >= 36 ? "+%d lines hidden: enlarge the window" : "+%d lines hidden",
                 np - shown);
        console_put(c, c->rows - 1, 0, c->cols, theme_attr(&c->th, TH_WARN) | A_BOLD, more);
    }
}

void ui_draw(struct console *c)
{
    /* Nothing is drawn while the terminal has not taken the last frame: the screen is drawn whole, from the state,
     * once it has (then the terminal may have lost what it showed meanwhile: it is drawn from scratch). */
    if (terminal_backlog() && ui_flush(c) != 0) {
        c->dirty = true;
        c->out_held = true;
        return;
    }
    if (c->out_held) {
        c->out_held = false;
        c->full_redraw = true;
    }
    c->dirty = false;
    c->last_draw_ms = (int64_t)loop_now_ms(c->loop);
    if (c->full_redraw) {
        clearok(curscr, TRUE);
        c->full_redraw = false;
    }
    if (c->cols < UI_MIN_COLS || c->rows < UI_MIN_ROWS) {
        draw_small(c);
        refresh();
        ui_flush(c);
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
    ui_flush(c);
}

/* ---- keys ---- */
