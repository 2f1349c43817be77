/* request: the console's request table and key map. */
#include "tui/request.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curses.h>

#include "core/strbuf.h"
#include "tui/keys.h"

static const struct request_info table[REQ_COUNT] = {
    [REQ_NONE] = {REQ_NONE, "none", SCOPE_GLOBAL, "", NULL, REQ_NO_ACTION, ""},
    [REQ_HELP] = {REQ_HELP, "help", SCOPE_GLOBAL, "F1 ?", "Help", REQ_NO_ACTION, "Show this help"},
    [REQ_NEXT_PANE] = {REQ_NEXT_PANE, "next-pane", SCOPE_GLOBAL, "Tab", NULL, REQ_NO_ACTION, "Focus the next pane"},
    [REQ_PREV_PANE] = {REQ_PREV_PANE, "prev-pane", SCOPE_GLOBAL, "S-Tab", NULL, REQ_NO_ACTION, "Focus the previous pane"},
    [REQ_VIEW_EVENTS] = {REQ_VIEW_EVENTS, "view-events", SCOPE_GLOBAL, "1", NULL, REQ_NO_ACTION, "Live events (C3 panels)"},
    [REQ_VIEW_IBUTTON] = {REQ_VIEW_IBUTTON, "view-ibutton", SCOPE_GLOBAL, "2", NULL, REQ_NO_ACTION, "iButton events (NiX1 buses)"},
    [REQ_VIEW_DOORS] = {REQ_VIEW_DOORS, "view-doors", SCOPE_GLOBAL, "3", NULL, REQ_NO_ACTION, "Doors, aux outputs and probes"},
    [REQ_VIEW_SLAVES] = {REQ_VIEW_SLAVES, "view-slaves", SCOPE_GLOBAL, "4", NULL, REQ_NO_ACTION, "NiX1 slaves"},
    [REQ_VIEW_ALARMS] = {REQ_VIEW_ALARMS, "view-alarms", SCOPE_GLOBAL, "5", NULL, REQ_NO_ACTION, "Alarms waiting for acknowledgement"},
    [REQ_VIEW_HISTORY] = {REQ_VIEW_HISTORY, "view-history", SCOPE_GLOBAL, "6", NULL, REQ_NO_ACTION, "Journal and audit trail"},
    [REQ_VIEW_CARDS] = {REQ_VIEW_CARDS, "view-cards", SCOPE_GLOBAL, "7", NULL, REQ_NO_ACTION,
                        "Cards and users of the C3 panels (who a card belongs to, which doors)"},
    [REQ_REDRAW] = {REQ_REDRAW, "redraw", SCOPE_GLOBAL, "C-l", NULL, REQ_NO_ACTION, "Redraw the screen"},
    [REQ_QUIT] = {REQ_QUIT, "quit", SCOPE_GLOBAL, "F10 q", "Quit", REQ_NO_ACTION, "Quit (asks only when something is pending)"},
    [REQ_CANCEL] = {REQ_CANCEL, "cancel", SCOPE_GLOBAL, "Esc", NULL, REQ_NO_ACTION, "Cancel the dialog, search or filter"},
    [REQ_EMERGENCY] = {REQ_EMERGENCY, "emergency", SCOPE_GLOBAL, "F12 !", "EMERG", ACTION_EMERGENCY_ON,
                       "EMERGENCY: unlock every door of the site at once"},
    [REQ_RESTORE] = {REQ_RESTORE, "restore", SCOPE_GLOBAL, "F11 R", "Restore", ACTION_EMERGENCY_OFF,
                     "End the emergency: put every door back (asks first)"},
    [REQ_MUTE] = {REQ_MUTE, "mute", SCOPE_GLOBAL, "M", NULL, REQ_NO_ACTION, "Mute or unmute the alarm bell"},

    [REQ_UP] = {REQ_UP, "up", SCOPE_LIST, "Up k", NULL, REQ_NO_ACTION, "Move up"},
    [REQ_DOWN] = {REQ_DOWN, "down", SCOPE_LIST, "Down j", NULL, REQ_NO_ACTION, "Move down"},
    [REQ_PAGE_UP] = {REQ_PAGE_UP, "page-up", SCOPE_LIST, "PgUp C-b", NULL, REQ_NO_ACTION, "Page up"},
    [REQ_PAGE_DOWN] = {REQ_PAGE_DOWN, "page-down", SCOPE_LIST, "PgDn C-f Space", NULL, REQ_NO_ACTION, "Page down"},
    [REQ_FIRST] = {REQ_FIRST, "first", SCOPE_LIST, "g Home", NULL, REQ_NO_ACTION, "Go to the first (newest) line"},
    [REQ_LAST] = {REQ_LAST, "last", SCOPE_LIST, "G End", NULL, REQ_NO_ACTION, "Go to the last (oldest) line"},
    [REQ_ENTER] = {REQ_ENTER, "details", SCOPE_LIST, "Enter", NULL, REQ_NO_ACTION, "Details of the selected line"},
    [REQ_SEARCH] = {REQ_SEARCH, "search", SCOPE_LIST, "/", NULL, REQ_NO_ACTION, "Search (free text)"},
    [REQ_FILTER] = {REQ_FILTER, "filter", SCOPE_LIST, "\\", NULL, REQ_NO_ACTION,
                    "Filter: door:NAME device:NAME kind:NAME sev:LEVEL since:TIME until:TIME text"},

    [REQ_DOOR_OPEN] = {REQ_DOOR_OPEN, "door-open", SCOPE_DOORS, "F2 o", "Open", ACTION_DOOR_OPEN,
                       "Open the door for N seconds (asks N, default from the config)"},
    [REQ_DOOR_CLOSE] = {REQ_DOOR_CLOSE, "door-close", SCOPE_DOORS, "F3 c", "Close", ACTION_DOOR_CLOSE, "Close (lock) the door now"},
    [REQ_DOOR_HOLD] = {REQ_DOOR_HOLD, "door-hold", SCOPE_DOORS, "F4 h", "Hold", ACTION_DOOR_HOLD, "Hold the door open until released"},
    [REQ_DOOR_RELEASE] = {REQ_DOOR_RELEASE, "door-release", SCOPE_DOORS, "F5 r", "Release", ACTION_DOOR_RELEASE,
                          "Release a held door (or a probe's hold)"},
    [REQ_DOOR_NO_ON] = {REQ_DOOR_NO_ON, "normal-open-on", SCOPE_DOORS, "n", NULL, ACTION_NORMAL_OPEN_ON,
                        "Normal-open on (door follows its time zone)"},
    [REQ_DOOR_NO_OFF] = {REQ_DOOR_NO_OFF, "normal-open-off", SCOPE_DOORS, "N", NULL, ACTION_NORMAL_OPEN_OFF, "Normal-open off"},
    [REQ_AUX_ON] = {REQ_AUX_ON, "aux-on", SCOPE_DOORS, "a", NULL, ACTION_AUX_ON, "Switch an aux output on"},
    [REQ_AUX_OFF] = {REQ_AUX_OFF, "aux-off", SCOPE_DOORS, "A", NULL, ACTION_AUX_OFF, "Switch an aux output off"},
    [REQ_ALARM_CANCEL] = {REQ_ALARM_CANCEL, "alarm-cancel", SCOPE_DOORS, "F6 x", "CnclAlm", ACTION_CANCEL_ALARM,
                          "Cancel the alarm on the panel"},
    [REQ_PROBE_LOCK] = {REQ_PROBE_LOCK, "probe-lock", SCOPE_DOORS, "F7 l", "LockOut", ACTION_LOCKOUT_ON,
                        "Lock out an iButton probe (deny every key)"},
    [REQ_PROBE_UNLOCK] = {REQ_PROBE_UNLOCK, "probe-unlock", SCOPE_DOORS, "u", NULL, ACTION_LOCKOUT_OFF, "Release a locked-out probe"},
    [REQ_PROBE_TIMED] = {REQ_PROBE_TIMED, "probe-timed-open", SCOPE_DOORS, "F8 t", "Timed", ACTION_TIMED_OPEN,
                         "Open a probe's door for N minutes (fail-safe cron window)"},

    [REQ_SLAVE_EDIT] = {REQ_SLAVE_EDIT, "slave-edit", SCOPE_SLAVES, "F2 e", "Edit", ACTION_SLAVE_SET,
                        "Edit the slave's settings (diff, then apply)"},
    [REQ_SLAVE_FILES] = {REQ_SLAVE_FILES, "slave-files", SCOPE_SLAVES, "F3 f", "Files", REQ_ACTION_SLAVE,
                         "Files on the slave: list, get, put"},
    [REQ_SLAVE_PROVISION] = {REQ_SLAVE_PROVISION, "slave-provision", SCOPE_SLAVES, "F4 p P", "Provisn", REQ_ACTION_SLAVE,
                             "Provision the slave from the server files"},

    [REQ_ALARM_ACK] = {REQ_ALARM_ACK, "alarm-ack", SCOPE_ALARMS, "F2 a", "Ack", ACTION_ACK, "Acknowledge the alarm"},
    [REQ_ALARM_ACK_COMMENT] = {REQ_ALARM_ACK_COMMENT, "alarm-ack-comment", SCOPE_ALARMS, "F3 C", "AckNote", ACTION_ACK,
                               "Acknowledge with a comment"},
    [REQ_ALARM_ACK_ALL] = {REQ_ALARM_ACK_ALL, "alarm-ack-all", SCOPE_ALARMS, "F4", "AckAll", ACTION_ACK,
                           "Acknowledge every alarm in the list"},

    [REQ_HISTORY_AUDIT] = {REQ_HISTORY_AUDIT, "history-audit", SCOPE_HISTORY, "F2 a", "Audit", REQ_NO_ACTION,
                           "Switch between the journal and the operator audit trail"},
    [REQ_HISTORY_CLEAR] = {REQ_HISTORY_CLEAR, "history-clear", SCOPE_HISTORY, "F3 x", "Clear", REQ_NO_ACTION,
                           "Clear the search and the filter"},

    [REQ_CARDS_PANEL] = {REQ_CARDS_PANEL, "cards-panel", SCOPE_CARDS, "p Right", "Panel", REQ_NO_ACTION,
                         "Show the next C3 panel's users"},
    [REQ_CARDS_RELOAD] = {REQ_CARDS_RELOAD, "cards-reload", SCOPE_CARDS, "F5 r", "Reload", ACTION_PANEL_DATA_GET,
                          "Read the panel's users and access rights again"},
    [REQ_USER_ADD] = {REQ_USER_ADD, "user-add", SCOPE_CARDS, "F2 a", "Add", ACTION_PANEL_DATA,
                      "Add a user: card, name, doors (changes shown, then applied)"},
    [REQ_USER_EDIT] = {REQ_USER_EDIT, "user-edit", SCOPE_CARDS, "F3 e", "Edit", ACTION_PANEL_DATA,
                       "Edit the user: card, name, validity, doors (changes shown, then applied)"},
    [REQ_USER_DELETE] = {REQ_USER_DELETE, "user-delete", SCOPE_CARDS, "F4 d", "Delete", ACTION_PANEL_DATA,
                         "Delete the user and the user's access rights (asks first)"},
};

static const char *const scope_names[SCOPE_COUNT] = {
    "Global", "Lists", "Live events", "iButton events", "Doors", "NiX1 slaves", "Alarms", "History", "Cards",
};

const struct request_info *request_info(enum req id)
{
    if ((int)id < 0 || id >= REQ_COUNT)
        return &table[REQ_NONE];
    return &table[id];
}

const struct request_info *request_by_name(const char *name)
{
    if (!name)
        return NULL;
    for (int i = 1; i < REQ_COUNT; i++)
        if (strcasecmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

const char *request_scope_name(enum req_scope scope)
{
    return ((int)scope >= 0 && scope < SCOPE_COUNT) ? scope_names[scope] : "?";
}

/* Two scopes overlap when a key in one would shadow the other somewhere. */
static bool scopes_overlap(enum req_scope a, enum req_scope b)
{
    if (a == b || a == SCOPE_GLOBAL || b == SCOPE_GLOBAL)
        return true;
    return a == SCOPE_LIST || b == SCOPE_LIST;
}

static void unbind_key(struct keymap *km, int key, enum req_scope scope)
{
    for (int r = 1; r < REQ_COUNT; r++) {
        if (!scopes_overlap(table[r].scope, scope))
            continue;
        for (int i = 0; i < km->nkeys[r]; i++)
            if (km->keys[r][i] == key) {
                memmove(&km->keys[r][i], &km->keys[r][i + 1], sizeof(int) * (size_t)(km->nkeys[r] - i - 1));
                km->nkeys[r]--;
                i--;
            }
    }
}

/* Parse spec into keys[]; returns the count or -1. */
static int parse_spec(const char *spec, int keys[KEYMAP_MAX], char *err, size_t errlen)
{
    char buf[128];
    if (!spec || strlen(spec) >= sizeof buf) {
        snprintf(err, errlen, "key list too long");
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", spec);
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
        int k = keys_parse(tok);
        if (k < 0) {
            snprintf(err, errlen, "unknown key name '%s'", tok);
            return -1;
        }
        if (n == KEYMAP_MAX) {
            snprintf(err, errlen, "at most %d keys per request", KEYMAP_MAX);
            return -1;
        }
        keys[n++] = k;
    }
    return n;
}

void keymap_defaults(struct keymap *km)
{
    memset(km, 0, sizeof *km);
    char err[64];
    for (int r = 1; r < REQ_COUNT; r++) {
        int n = parse_spec(table[r].keys, km->keys[r], err, sizeof err);
        km->nkeys[r] = n < 0 ? 0 : n;
    }
    /* Enter also arrives as CR and KEY_ENTER; Backspace has several codes; handled in lookup. */
}

static void bind_one(struct keymap *km, const struct request_info *ri, const int *keys, int n)
{
    for (int i = 0; i < n; i++)
        unbind_key(km, keys[i], ri->scope);
    memcpy(km->keys[ri->id], keys, sizeof(int) * (size_t)n);
    km->nkeys[ri->id] = n;
}

int keymap_bind(struct keymap *km, const char *name, const char *spec, char *err, size_t errlen)
{
    int keys[KEYMAP_MAX];
    const struct request_info *ri = request_by_name(name);
    const struct action_def *ad = ri ? NULL : action_find(name ? name : "");
    if (!ri && !ad) {
        snprintf(err, errlen, "unknown action '%s'", name ? name : "");
        return -1;
    }
    int n = parse_spec(spec, keys, err, errlen);
    if (n < 0)
        return -1;
    if (ri) {
        bind_one(km, ri, keys, n);
        return 0;
    }
    /* A core action: bind the first request that runs it (an action may back several requests, e.g.
     * acknowledge and acknowledge with a comment; the others keep their keys). */
    for (int r = 1; r < REQ_COUNT; r++)
        if (table[r].action == (int)ad->id) {
            bind_one(km, &table[r], keys, n);
            return 0;
        }
    snprintf(err, errlen, "action '%s' has no key in the console", name);
    return -1;
}

bool request_allowed(enum req id, enum role role, bool readonly)
{
    const struct request_info *ri = request_info(id);
    if (ri->action == REQ_NO_ACTION)
        return true;
    if (ri->action == REQ_ACTION_SLAVE)
        return !readonly && role_at_least(role, ROLE_TECHNICIAN);
    if (ri->action < 0 || ri->action >= ACTION_COUNT)
        return false;
    if (readonly && action_table[ri->action].changes_state)
        return false;
    return action_allowed(role, (enum action_id)ri->action);
}

static enum req lookup_scope(const struct keymap *km, enum req_scope scope, int key)
{
    for (int r = 1; r < REQ_COUNT; r++) {
        if (table[r].scope != scope)
            continue;
        for (int i = 0; i < km->nkeys[r]; i++)
            if (km->keys[r][i] == key)
                return (enum req)r;
    }
    return REQ_NONE;
}

enum req keymap_lookup(const struct keymap *km, enum req_scope pane, bool is_list, int key)
{
    if (key == '\r' || key == KEY_ENTER)
        key = '\n';
    enum req r = REQ_NONE;
    if (pane != SCOPE_GLOBAL && pane != SCOPE_LIST)
        r = lookup_scope(km, pane, key);
    if (r == REQ_NONE && is_list)
        r = lookup_scope(km, SCOPE_LIST, key);
    if (r == REQ_NONE)
        r = lookup_scope(km, SCOPE_GLOBAL, key);
    return r;
}

int keymap_fkey(const struct keymap *km, enum req id, int *any)
{
    if (any)
        *any = -1;
    if ((int)id <= 0 || id >= REQ_COUNT)
        return 0;
    if (any && km->nkeys[id] > 0)
        *any = km->keys[id][0];
    for (int i = 0; i < km->nkeys[id]; i++) {
        int f = keys_fkey(km->keys[id][i]);
        if (f)
            return f;
    }
    return 0;
}

const char *keymap_describe(const struct keymap *km, enum req id, char *buf, size_t len)
{
    if (!buf || len == 0)
        return buf;
    buf[0] = '\0';
    if ((int)id <= 0 || id >= REQ_COUNT)
        return buf;
    struct strbuf sb;
    strbuf_init(&sb, buf, len);
    for (int i = 0; i < km->nkeys[id]; i++) {
        char name[16];
        keys_name(km->keys[id][i], name, sizeof name);
        if (!strbuf_sep(&sb, " ") || !strbuf_puts(&sb, name))
            break;
    }
    return buf;
}
