/* console: the state of the running portier console shared by its panes: the site, the operator, the
 * bounded on-screen event windows, the alarm list, the emergency progress, dialogs and messages. */
#ifndef PORTIER_TUI_CONSOLE_H
#define PORTIER_TUI_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/action.h"
#include "core/event.h"
#include "core/journal.h"
#include "core/loop.h"
#include "core/site.h"
#include "tui/request.h"
#include "tui/theme.h"

struct remote; /* client/remote.h */

/* ---- bounded event window (the journal holds the rest) ---- */
struct ring {
    struct event *ev;
    size_t cap, head, count; /* head = next write position */
    uint64_t total;          /* events ever pushed (for anchoring the selection) */
};
int ring_init(struct ring *r, size_t cap);
void ring_free(struct ring *r);
void ring_push(struct ring *r, const struct event *ev);
/* i = 0 is the newest. NULL when out of range. */
const struct event *ring_get(const struct ring *r, size_t i);
/* The event with this bus seq (if still in the window) was stored later as journal row id. */
void ring_mark_stored(struct ring *r, uint64_t seq, int64_t id);
/* "stored", "NOT YET STORED (kept in memory)" or "NOT STORED". */
const char *console_stored_text(const struct event *ev);
/* The event's code as its protocol writes it: a NiX1 return code in hex ("0x55", as "55 ERROR_USER" in its text),
 * others in decimal. */
const char *console_code_text(const struct event *ev, char *buf, size_t len);

/* ---- filter shared by the event panes and the history (typed after `\` or `/`) ---- */
struct filter {
    char text[128];          /* free-text search (`/`) */
    char door[SITE_NAME_MAX];
    char device[SITE_NAME_MAX];
    int kind;                /* enum event_kind or -1 */
    int min_severity;        /* enum event_severity or -1 */
    int64_t since_us;        /* 0 = none */
    int64_t until_us;
};
void filter_clear(struct filter *f);
/* Parse "door:NAME device:NAME kind:KIND sev:LEVEL since:TIME until:TIME words" (TIME: core/timespec.h).
 * Quoted values ("door:\"Main entrance\"") are allowed. 0, or -1 with a message. Search text is kept. */
int filter_parse(struct filter *f, const char *spec, char *err, size_t errlen);
bool filter_match(const struct filter *f, const struct event *ev);
bool filter_active(const struct filter *f);
/* A short description for the pane title. */
void filter_describe(const struct filter *f, char *buf, size_t len);

/* ---- alarms waiting for acknowledgement ---- */
struct alarm {
    struct event ev;         /* the first occurrence (its journal id is the ack target) */
    unsigned count;          /* repeats of the same device/door/code while unacknowledged */
    int64_t last_us;
    bool acking;             /* acknowledgement sent, waiting for the result */
};
#define CONSOLE_MAX_ALARMS 512

/* ---- dialogs ---- */
enum dialog_kind { DLG_NONE, DLG_CONFIRM, DLG_INPUT, DLG_INFO };
struct console;
typedef void (*dialog_fn)(struct console *c, bool ok, const char *text, void *arg);
typedef bool (*dialog_validate_fn)(const char *text, char *err, size_t errlen, void *arg);
struct dialog {
    enum dialog_kind kind;
    char title[64];
    char prompt[512];
    char input[256];
    size_t len;
    char err[128];
    dialog_fn done;
    dialog_validate_fn validate;
    void *arg;
};

/* The filter's two dialogs for a list pane: search (the free text) and filter (the fields, checked as they are
 * typed; empty = no fields, the search text kept). When f takes a new value, changed(c, arg) runs. */
typedef void (*filter_changed_fn)(struct console *c, void *arg);
void console_filter_search(struct console *c, const char *title, const char *prompt, struct filter *f,
                           filter_changed_fn changed, void *arg);
void console_filter_fields(struct console *c, const char *title, struct filter *f, filter_changed_fn changed,
                           void *arg);

/* ---- panes ---- */
enum { PANE_HANDLED = 1u, PANE_REDRAW = 2u, PANE_QUIT = 4u };
enum pane_id { PANE_EVENTS, PANE_IBUTTON, PANE_DOORS, PANE_SLAVES, PANE_ALARMS, PANE_HISTORY, PANE_CARDS, PANE_HELP,
               PANE_COUNT };

struct listview {
    size_t sel, top;
};
/* Move the selection for a list request; returns PANE_HANDLED|PANE_REDRAW or 0. */
unsigned listview_request(struct listview *lv, enum req r, size_t count, int height);
/* Keep sel in range and visible. */
void listview_fix(struct listview *lv, size_t count, int height);

struct pane {
    const char *title;
    enum req_scope scope;
    bool is_list;
    void (*draw)(struct console *c, struct pane *p, int y, int x, int h, int w);
    unsigned (*request)(struct console *c, struct pane *p, enum req r);
    /* Raw keys while the pane owns the keyboard (forms); NULL otherwise. Returns 0 if not consumed. */
    unsigned (*key)(struct console *c, struct pane *p, int key);
    void (*on_event)(struct console *c, struct pane *p, const struct event *ev);
    void (*free)(struct pane *p);
    struct listview lv;
    int height;              /* rows available to the list last time it was drawn */
    bool typing;             /* the pane edits text: printable global keys are typed, not run */
    void *priv;
};

struct output_progress {
    enum progress progress;
    char text[128];
    int64_t when_us;
};

struct console {
    loop_t *loop;
    struct site *site;
    struct journal *journal;
    struct action_user user;
    bool readonly;
    struct theme th;
    struct keymap km;
    int rows, cols;
    struct pane *panes[PANE_COUNT];
    int focus, before_help;
    struct dialog dlg;
    struct {                 /* what the open filter dialog edits (one dialog is open at a time) */
        struct filter *f;
        filter_changed_fn changed;
        void *arg;
    } filter_edit;
    char msg[256];
    enum theme_role msg_role;
    int64_t msg_until_ms;
    bool dirty, full_redraw;
    bool out_held;           /* a screen update was held back while the terminal had not taken the last one */
    bool out_watch;          /* the loop waits for the terminal to take the rest of the output */
    bool quit;
    bool restart;            /* as a client: quit and start again (the daemon's site changed shape) */
    uint64_t ticks, exit_after; /* exit_after 0 = never */

    struct ring live, ibutton;
    struct filter live_filter, ibutton_filter;
    struct alarm *alarms;
    size_t n_alarms;
    bool bell_muted;
    loop_timer_t bell_timer, tick_timer, redraw_timer;
    int64_t last_draw_ms;

    struct output_progress *out_progress; /* per site output */
    size_t running_actions;
    unsigned small_ignored;    /* keys ignored while the window is below the minimum (said on that screen) */
    bool pasting;              /* inside a bracketed paste: its bytes are text, never keys */
    unsigned paste_dropped;    /* bytes of this paste not taken (no text field, or the field full) */

    /* emergency */
    struct {
        bool running;        /* an emergency on/off action is in flight */
        bool on;             /* the last finished or running action was emergency on */
        bool resumed;        /* the emergency was begun before this console started (counts from door states) */
        unsigned confirmed, pending, failed, total;
        char failures[512];
        int64_t first_press_ms; /* double-press confirmation */
    } em;
    int event_sub, stored_sub;

    /* as a client of portierd (tui/client.c); NULL when this console owns the devices */
    struct remote *remote;
    bool remote_down;        /* not connected: what is on screen is as it was when the link went */
    char remote_why[200];
    int64_t remote_down_us;
    bool remote_refusal_shown; /* the popup saying why the emergency key could not act: closed on reconnect */
};

/* Show a message in the message line for a few seconds. */
void console_message(struct console *c, enum theme_role role, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void console_dirty(struct console *c);
/* Open a dialog (replaces any open dialog). */
void console_confirm(struct console *c, const char *title, const char *prompt, dialog_fn done, void *arg);
void console_input(struct console *c, const char *title, const char *prompt, const char *initial,
                   dialog_validate_fn validate, dialog_fn done, void *arg);
void console_info(struct console *c, const char *title, const char *text);

/* Run a core action on target for the operator; progress updates out_progress and the message line.
 * Refuses (with a message) what the role may not do. Returns 0 when dispatched. */
/* At start, with the devices started: close audit rows an ended process left pending, show an emergency the
 * devices remember, and complete it on the devices that never got it (action_recover). */
void console_recover(struct console *c);
int console_action(struct console *c, enum req r, enum action_id id, const char *target, unsigned value,
                   bool has_value);
/* True when the role may use the request; otherwise shows the refusal, has a role's refused attempt audited (the
 * action denied, target unnamed) and returns false. */
bool console_allowed(struct console *c, enum req r);
/* The same, naming the target (door, panel, slave) for the audit row of a refused attempt. */
bool console_allowed_on(struct console *c, enum req r, const char *target);

/* Map an event to its theme role (by severity and kind). */
enum theme_role console_event_role(const struct event *ev);
/* The event's text without its leading event name (drivers write whole lines that start with it). */
const char *console_event_rest(const struct event *ev);
/* Clip-print helpers: print at most w cells of s at (y, x) with attr. */
void console_put(struct console *c, int y, int x, int w, attr_t attr, const char *s);
void console_fill(struct console *c, int y, int x, int w, attr_t attr);
/* The heading of a list pane drawn in h rows from (y, x): its title on the first row, the column names on the
 * second (a title bar across w); p->height, the rows left to the list, is set. */
void console_list_heading(struct console *c, struct pane *p, int y, int x, int w, int h, const char *title,
                          const char *columns);

/* Panes (tui/pane_*.c). pane_new: a pane made from a pane's constant description, owning priv (NULL when out of
 * memory; priv is then the caller's to free). */
struct pane *pane_new(const struct pane *proto, void *priv);
struct pane *pane_events_new(struct console *c, bool ibutton);
struct pane *pane_doors_new(struct console *c);
struct pane *pane_slaves_new(struct console *c);
struct pane *pane_alarms_new(struct console *c);
struct pane *pane_history_new(struct console *c);
struct pane *pane_help_new(struct console *c);
struct pane *pane_cards_new(struct console *c);
/* Who card number `card` of C3 panel `device` belongs to, in words ("user 7 Ann Smith", "no user of Panel A has
 * it"), from the Cards pane's copy of the panel's users; reads them when it has none yet (the text says so, and the
 * details dialog showing that text gets the answer when they are read). */
void cards_owner(struct console *c, const char *device, uint32_t card, char *buf, size_t len);
/* Scroll the help to the section of a pane's requests (the pane the operator came from). */
void pane_help_show(struct console *c, enum req_scope scope);

/* Alarms (tui/pane_alarms.c): add an alarm event, acknowledge, count. */
void alarms_add(struct console *c, const struct event *ev);
/* Someone acknowledged this journal event (as a client of portierd: any console, portierctl): off the list. */
void alarms_acked(struct console *c, int64_t event_id);
size_t alarms_unacked(const struct console *c);

#endif
