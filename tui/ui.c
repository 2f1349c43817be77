/* ui: key dispatch, dialogs' keys, emergency keys and the console's loop (the screen itself: ui_draw.c). */
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
#include "tui/terminal.h"
#include "tui/ui_draw.h"

#define LIVE_WINDOW 2000   /* events kept on screen per pane; the journal holds the rest */
#define BELL_MS 3000
#define REDRAW_MIN_MS 40   /* coalesce event-driven redraws under load */

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
        for (int i = 0; i < UI_N_TABS; i++)
            if ((int)ui_tab_order[i] == c->focus)
                idx = i;
        if (c->focus == PANE_HELP)
            idx = r == REQ_NEXT_PANE ? -1 : 0;
        idx = (idx + (r == REQ_NEXT_PANE ? 1 : UI_N_TABS - 1)) % UI_N_TABS;
        set_focus(c, ui_tab_order[idx]);
        break;
    }
    case REQ_VIEW_EVENTS: case REQ_VIEW_IBUTTON: case REQ_VIEW_DOORS: case REQ_VIEW_SLAVES:
    case REQ_VIEW_ALARMS: case REQ_VIEW_HISTORY: case REQ_VIEW_CARDS:
        set_focus(c, ui_tab_order[r - REQ_VIEW_EVENTS]);
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
/* The terminal took (some of) the held output. */
static void on_output(loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    struct console *c = arg;
    if (ui_flush(c) == 0 && c->dirty && !c->quit)
        ui_draw(c); /* what was held back, at once */
}

int ui_flush(struct console *c)
{
    int rc = terminal_flush();
    int fd = terminal_out_fd();
    if (rc == 1 && !c->out_watch && fd >= 0) {
        c->out_watch = loop_add_fd(c->loop, fd, LOOP_WRITE, on_output, c) == 0;
    } else if (rc != 1 && c->out_watch) {
        loop_del_fd(c->loop, fd);
        c->out_watch = false;
    }
    return rc;
}

/* The bell, unless the terminal holds output back (it rings again while alarms wait). */
static void ring_bell(struct console *c)
{
    if (terminal_backlog())
        return;
    beep();
    ui_flush(c);
}

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
    /* drawn by ui_draw, whole, when the terminal can take it: never by curses on its own at the next read */
    untouchwin(stdscr);
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

/* Ctrl-Z: the shell gets its terminal back, the console stops; when it continues, the screen is drawn whole. */
static void on_sigtstp(loop_t *loop, int signo, void *arg)
{
    (void)loop;
    (void)signo;
    struct console *c = arg;
    terminal_suspend();
    raise(SIGSTOP);
    terminal_resume();
    apply_size(c);
    if (!c->quit)
        ui_draw(c);
}

static void on_sigterm(loop_t *loop, int signo, void *arg)
{
    (void)loop;
    (void)signo;
    struct console *c = arg;
    c->quit = true;
}

enum esc_kind { ESC_ALONE, ESC_TAKEN, ESC_PASTE_START, ESC_PASTE_END };

/* An Esc that came with more bytes (curses returns 27 and then the rest): Alt+key (Esc then the key, as terminals
 * send it), an escape sequence curses does not know (a function key of another terminal type), or the start or end
 * of a bracketed paste. Alt+key and unknown sequences are taken whole and said, never as Esc (cancel) followed by
 * keys that would act. */
static enum esc_kind esc_compound(struct console *c)
{
    int k = getch();
    if (k == ERR)
        return ESC_ALONE;
    if (k == 27 || k == KEY_RESIZE || k >= KEY_MIN) {
        ungetch(k); /* Esc Esc, or Esc then a key curses decoded: the Esc stands alone */
        return ESC_ALONE;
    }
    char kn[24];
    if (k == '[' || k == 'O') {
        int next = getch();
        if (next == ERR) { /* Alt+[ or Alt+O */
            console_message(c, TH_DIM, "Alt+%c: no action (Alt is not used here)", k);
            return ESC_TAKEN;
        }
        /* CSI: parameters and intermediates, then a final byte 0x40..0x7E; SS3: one final byte */
        char seq[32];
        size_t n = 0;
        seq[n++] = (char)k;
        for (int b = next, count = 0; b != ERR && count < 24; b = getch(), count++) {
            if (b < 0x20 || b > 0x7e) {
                ungetch(b); /* not part of a sequence: a key of its own */
                break;
            }
            if (n + 1 < sizeof seq)
                seq[n++] = (char)b;
            if (k == 'O' || (b >= 0x40 && b <= 0x7e))
                break;
        }
        seq[n] = '\0';
        if (strcmp(seq, "[200~") == 0)
            return ESC_PASTE_START;
        if (strcmp(seq, "[201~") == 0)
            return ESC_PASTE_END;
        if (!c->pasting)
            console_message(c, TH_WARN, "Unknown key (Esc %s): check TERM (now %s) matches the terminal", seq,
                            getenv("TERM") ? getenv("TERM") : "unset");
        return ESC_TAKEN;
    }
    if (!c->pasting)
        console_message(c, TH_DIM, "Alt+%s: no action (Alt is not used here)", keys_name(k, kn, sizeof kn));
    return ESC_TAKEN;
}

static void paste_end(struct console *c)
{
    c->pasting = false;
    if (c->paste_dropped)
        console_message(c, TH_WARN, "Pasted text: %u byte(s) not taken (%s)", c->paste_dropped,
                        c->dlg.kind == DLG_INPUT ? "the field is full" : "no text field here; nothing was done");
    c->paste_dropped = 0;
}

/* One byte of a bracketed paste: text for the open text field (a line break or other control character becomes a
 * space, so a pasted line never presses Enter), else not taken; what is not taken is counted and said at its end. */
static void paste_byte(struct console *c, int k)
{
    struct pane *p = c->panes[c->focus];
    bool dialog = c->dlg.kind == DLG_INPUT;
    bool field = dialog || (p->typing && c->dlg.kind == DLG_NONE && c->cols >= UI_MIN_COLS && c->rows >= UI_MIN_ROWS);
    if (k > 0xff) { /* a key curses decoded (F12): no paste holds one; its end was lost, the key acts */
        paste_end(c);
        ui_key(c, k);
        return;
    }
    if (!field || k < 0) {
        c->paste_dropped++;
        return;
    }
    if (k < 0x20 || k == 0x7f)
        k = ' ';
    size_t before = c->dlg.len;
    ui_key(c, k);
    if (dialog && c->dlg.kind == DLG_INPUT && c->dlg.len == before)
        c->paste_dropped++; /* the field is full */
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
        if (k == 27) {
            enum esc_kind e = esc_compound(c);
            c->dirty = true;
            if (e == ESC_PASTE_START) {
                c->pasting = true;
                c->paste_dropped = 0;
                continue;
            }
            if (e == ESC_PASTE_END) {
                paste_end(c);
                continue;
            }
            if (e == ESC_TAKEN)
                continue;
        }
        if (c->pasting) {
            paste_byte(c, k);
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
        ring_bell(c);
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
            ring_bell(c);
    } else if (ev->severity == EVENT_WARNING && c->site->ui.bell == SITE_BELL_ALL && !c->bell_muted) {
        ring_bell(c);
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
    loop_add_signal(c->loop, SIGTSTP, on_sigtstp, c);
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
        if (c->out_watch)
            loop_del_fd(c->loop, terminal_out_fd());
        c->out_watch = false;
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
