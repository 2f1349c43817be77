/* request: every operator intent of the console is one entry in one table (name, scope, description,
 * default keys, the core action it runs); the key map, the function-key bar and the help are built from it. */
#ifndef PORTIER_TUI_REQUEST_H
#define PORTIER_TUI_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "core/action.h"

enum { REQ_NO_ACTION = -1, REQ_ACTION_SLAVE = ACTION_COUNT + 1 };

/* Where a request applies. GLOBAL works everywhere (also inside dialogs for the emergency keys);
 * LIST in every list pane; the others only in their pane. */
enum req_scope {
    SCOPE_GLOBAL,
    SCOPE_LIST,
    SCOPE_EVENTS,
    SCOPE_IBUTTON,
    SCOPE_DOORS,
    SCOPE_SLAVES,
    SCOPE_ALARMS,
    SCOPE_HISTORY,
    SCOPE_CARDS,
    SCOPE_COUNT
};

enum req {
    REQ_NONE = 0,
    /* global */
    REQ_HELP, REQ_NEXT_PANE, REQ_PREV_PANE, REQ_VIEW_EVENTS, REQ_VIEW_IBUTTON, REQ_VIEW_DOORS,
    REQ_VIEW_SLAVES, REQ_VIEW_ALARMS, REQ_VIEW_HISTORY, REQ_VIEW_CARDS, REQ_REDRAW, REQ_QUIT, REQ_CANCEL,
    REQ_EMERGENCY, REQ_RESTORE, REQ_MUTE,
    /* every list */
    REQ_UP, REQ_DOWN, REQ_PAGE_UP, REQ_PAGE_DOWN, REQ_FIRST, REQ_LAST, REQ_ENTER, REQ_SEARCH, REQ_FILTER,
    /* doors */
    REQ_DOOR_OPEN, REQ_DOOR_CLOSE, REQ_DOOR_HOLD, REQ_DOOR_RELEASE, REQ_DOOR_NO_ON, REQ_DOOR_NO_OFF,
    REQ_AUX_ON, REQ_AUX_OFF, REQ_ALARM_CANCEL, REQ_PROBE_LOCK, REQ_PROBE_UNLOCK, REQ_PROBE_TIMED,
    /* NiX1 slaves */
    REQ_SLAVE_EDIT, REQ_SLAVE_FILES, REQ_SLAVE_PROVISION,
    /* alarms */
    REQ_ALARM_ACK, REQ_ALARM_ACK_COMMENT, REQ_ALARM_ACK_ALL,
    /* history */
    REQ_HISTORY_AUDIT, REQ_HISTORY_CLEAR,
    /* cards (C3 panels' users) */
    REQ_CARDS_PANEL, REQ_CARDS_RELOAD, REQ_USER_ADD, REQ_USER_EDIT, REQ_USER_DELETE,
    REQ_COUNT
};

struct request_info {
    enum req id;
    const char *name;        /* stable, used in the config's key bindings ("door-open") */
    enum req_scope scope;
    const char *keys;        /* default keys, space separated key names (tui/keys.h) */
    const char *label;       /* short label for the function-key bar, NULL = not shown there */
    int action;              /* enum action_id this request runs (role check, audit), REQ_NO_ACTION = view
                                only, REQ_ACTION_SLAVE = NiX1 slave maintenance (technician) */
    const char *help;        /* one line for the help screen */
};

const struct request_info *request_info(enum req id);
/* By config name; NULL if unknown. */
const struct request_info *request_by_name(const char *name);
/* May role run the request? (view requests: always; core actions: action_allowed; slave maintenance:
 * technician). With readonly every state-changing request is refused. */
bool request_allowed(enum req id, enum role role, bool readonly);
const char *request_scope_name(enum req_scope scope);

/* The key map: at most KEYMAP_MAX keys per request; a key belongs to one request per scope. */
#define KEYMAP_MAX 4
struct keymap {
    int keys[REQ_COUNT][KEYMAP_MAX];
    int nkeys[REQ_COUNT];
};

/* Fill km with the table's default keys. */
void keymap_defaults(struct keymap *km);
/* Replace the keys of the request named name (a request name, or a core action name from core/action.h,
 * which binds every request running that action) by spec ("F2 o"). Keys taken from another request of the same
 * (or an overlapping) scope are removed there. Returns 0, or -1 with a message in err. */
int keymap_bind(struct keymap *km, const char *name, const char *spec, char *err, size_t errlen);
/* The request key is bound to in scope (pane scope first, then LIST if the pane is a list, then GLOBAL). */
enum req keymap_lookup(const struct keymap *km, enum req_scope pane, bool is_list, int key);
/* The first function key bound to id, 0 if none; the first key of any kind in *any (or -1). */
int keymap_fkey(const struct keymap *km, enum req id, int *any);
/* "F2 o" style description of the keys of id. */
const char *keymap_describe(const struct keymap *km, enum req id, char *buf, size_t len);

#endif
