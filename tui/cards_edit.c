/* cards_edit: the Cards view's user editor: add, edit (card, name, keypad password, validity, doors and their time
 * zone) and delete. A change is first run as a dry run so the panel's own checks and the exact difference are shown,
 * then applied as panel-data actions (audited): the user's row, then the user's access rights alone ("access
 * replace pin=N"), so what other clients changed for other users meanwhile is never overwritten from this copy. */
#include "tui/cards_edit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "drivers/c3/c3_session.h"
#include "drivers/c3/c3_userdata.h"
#include "tui/keys.h"
#include "tui/textw.h"

static const char *const labels[NE] = { "PIN", "Name", "Card", "Keypad password", "Valid from", "Valid until",
                                        "Doors (e.g. 1 2)", "Time zone of the doors" };
static const size_t maxlen[NE] = { 10, 10, 10, 8, 10, 10, 16, 5 };

void cards_edit_clear(struct cpriv *cp)
{
    for (size_t i = 0; i < cp->nlines; i++)
        free(cp->lines[i]);
    free(cp->lines);
    cp->lines = NULL;
    cp->nlines = 0;
}

void cards_edit_draw(struct console *c, struct cpriv *cp, int y, int x, int h, int w)
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
                       : cp->ed == ED_CHECKING ? (c->site->devices[pn->device].link != LINK_UP
                                                      ? "  the panel is offline: waiting for it (Esc: back to the form)"
                                                      : "  waiting for the panel... (Esc: back to the form)")
                       : c->site->devices[pn->device].link != LINK_UP
                           ? "  the panel is offline: the change waits for it (Esc closes; it goes on)"
                           : "  waiting for the panel... (Esc closes; the change goes on)";
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
                console_put(c, row, x + 27 + textw_cells(cp->val[i]) % 18, 1, fa | A_REVERSE, " ");
        }
        row++;
    }
    /* the note (what went wrong, or the outcome) is kept on screen: the lines before it get the rows left */
    int note_rows = 0;
    if (cp->note[0]) {
        note_rows = (int)(strlen(cp->note) / (size_t)(w > 2 ? w - 2 : 1)) + 1;
        if (note_rows > 4)
            note_rows = 4;
    }
    for (size_t i = 0; i < cp->nlines && row < y + h - note_rows; i++) {
        const char *l = cp->lines[i];
        enum theme_role r = l[0] == '+' ? TH_OK : l[0] == '-' ? TH_ALARM : l[0] == '~' ? TH_WARN : TH_INFO;
        row += cards_put_wrapped(c, row, x + 2, w - 2, y + h - note_rows - row, theme_attr(&c->th, r), l);
    }
    if (cp->note[0] && row < y + h) {
        bool bad = strncmp(cp->note, "FAILED", 6) == 0 || strncmp(cp->note, "Not checked", 11) == 0 ||
                   strncmp(cp->note, "Refused", 7) == 0 || strstr(cp->note, "Nothing was sent") != NULL;
        cards_put_wrapped(c, row, x + 2, w - 2, y + h - row, theme_attr(&c->th, bad ? TH_ALARM : TH_INFO), cp->note);
    }
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

void cards_edit_open(struct console *c, struct cpriv *cp, bool adding, size_t row)
{
    struct cpanel *pn = &cp->pan[cp->cur];
    memset(cp->orig, 0, sizeof cp->orig);
    cp->adding = adding;
    if (!adding) {
        static const char *const cols[] = { "pin", "name", "card", "password", "start", "end" };
        for (size_t i = 0; i < 6; i++)
            snprintf(cp->orig[i], sizeof cp->orig[i], "%s", cards_cell(&pn->users, row, cols[i]));
        char doors[120];
        cards_doors_of(pn, cp->orig[E_PIN], doors, sizeof doors);
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
    cards_edit_clear(cp);
}

/* ---- a change: its requests run as a job of their own ----
 * A job carries a copy of what the form said, so it runs to its end when the operator leaves the editor while
 * the panel has not answered (a panel that is offline holds the request until it is back): its outcome then comes
 * as a message. Only the job the editor is waiting for (gen) writes into the editor. */

struct job {
    struct console *c;
    unsigned gen;
    size_t pi;                   /* the panel */
    bool dry, adding, deleting;
    bool doors_changed;          /* the access rights are written too */
    unsigned step;               /* 0: the user's row, 1: the user's access rights */
    bool counted;                /* in c->running_actions */
    char val[NE][24];
    char name_orig[24];          /* the name as read: not sent when unchanged (the panel may hold any bytes) */
    char orig[NE][24];
};

static bool job_current(const struct job *j, const struct cpriv *cp)
{
    return cp && j->gen == cp->gen && (cp->ed == ED_CHECKING || cp->ed == ED_APPLYING);
}

/* The user's row: PIN and, for a new user, every field; for a user the panel has, the fields the form changed (a
 * field left out keeps the panel's value, also one another client changed meanwhile). */
static char *user_csv(const struct job *j)
{
    static const char *const cols[] = { "pin", "name", "card", "password", "start", "end" };
    const char *hc[6], *vc[6];
    size_t n = 0;
    for (size_t i = 0; i < 6; i++)
        if (i == E_PIN || j->adding || strcmp(j->val[i], j->orig[i]) != 0) {
            hc[n] = cols[i];
            vc[n++] = j->val[i];
        }
    char *h = csv_format_row(hc, n), *v = csv_format_row(vc, n);
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

/* The form's doors (checked by field_ok) as the user's access rows (an empty table when none). */
static int form_access(struct console *c, const struct cpanel *pn, const char (*val)[24], struct csv *out)
{
    unsigned dv[C3_DOORS_MAX];
    char err[160];
    int nd = c3_doors_parse(val[E_DOORS], panel_doors(c, pn), c->site->devices[pn->device].name, dv, err,
                            sizeof err);
    return c3_doors_access(val[E_PIN], dv, nd > 0 ? (size_t)nd : 0, val[E_TZ], out);
}

/* The user's access rights as the form says: one row per door, all with the form's time zone. */
static char *access_csv(struct console *c, const struct cpanel *pn, const char (*val)[24])
{
    struct csv acc = { 0 };
    size_t len;
    char *buf = form_access(c, pn, val, &acc) == 0 ? csv_format(&acc, &len) : NULL;
    csv_free(&acc);
    return buf;
}

static void editor_line(struct console *c, struct cpriv *cp, const char *line)
{
    char **v = realloc(cp->lines, (cp->nlines + 1) * sizeof *v);
    if (!v)
        return;
    cp->lines = v;
    cp->lines[cp->nlines] = strdup(line);
    if (cp->lines[cp->nlines])
        cp->nlines++;
    c->dirty = true;
}

static void step_line(void *arg, unsigned done, unsigned total, const char *line)
{
    (void)done;
    (void)total;
    struct job *j = arg;
    struct cpriv *cp = cards_priv(j->c);
    if (!line || !job_current(j, cp))
        return;
    /* "line 2: card: ..." names a line of the rows the editor made: the field is what the operator needs */
    if (strncmp(line, "line ", 5) == 0 && strspn(line + 5, "0123456789") && strncmp(line + 5 + strspn(line + 5,
        "0123456789"), ": ", 2) == 0)
        line += 5 + strspn(line + 5, "0123456789") + 2;
    editor_line(j->c, cp, line);
}

static void run_step(struct job *j);

/* "(code -13) writing: ..." -> -13 (the driver's result starts with the panel's or the session's code); 0 when the
 * message has none. */
static int msg_code(const char *msg)
{
    int code = 0;
    return sscanf(msg, "(code %d)", &code) == 1 ? code : 0;
}

static void step_done(const struct action_run *run, bool finished, void *arg)
{
    struct job *j = arg;
    if (!finished)
        return;
    struct console *c = j->c;
    struct cpriv *cp = cards_priv(c);
    if (!cp) { /* the console is closing */
        free(j);
        return;
    }
    if (j->counted && c->running_actions)
        c->running_actions--;
    j->counted = false;
    c->dirty = true;
    bool current = job_current(j, cp);
    const char *target = c->site->devices[cp->pan[j->pi].device].name;
    const char *msg = run->error[0] ? run->error : run->n_results ? run->results[0].message : "";
    if (run->status != ACTION_OK) {
        int code = msg_code(msg);
        if (j->dry) {
            if (current) {
                /* the driver's lines above say which field when it refused the rows; else the request failed */
                if (code == C3_S_INVALID && cp->nlines)
                    snprintf(cp->note, sizeof cp->note, "Refused (code %d), nothing was written (see above)", code);
                else
                    snprintf(cp->note, sizeof cp->note, "Not checked, nothing was written: %s",
                             msg[0] ? msg : action_status_name(run->status));
                cp->ed = ED_FORM;
            }
        } else {
            const char *what = j->deleting ? "NOT deleted" : j->step ? "the user's row was written, the doors were "
                                                                       "NOT" : "NOT saved";
            if (current) {
                snprintf(cp->note, sizeof cp->note, "FAILED (%s): %s", what,
                         msg[0] ? msg : action_status_name(run->status));
                cp->ed = ED_DONE;
            } else {
                console_message(c, TH_ALARM, "%s: user %s: %s: %s", target, j->val[E_PIN], what, msg);
            }
            cards_load(c, j->pi, 0); /* what the panel holds now */
        }
        free(j);
        return;
    }
    if (j->step == 0 && !j->deleting && j->doors_changed) {
        j->step = 1;
        run_step(j);
        return;
    }
    if (j->dry) {
        if (current) {
            cp->ed = cp->nlines ? ED_DIFF : ED_FORM;
            snprintf(cp->note, sizeof cp->note, "%s", cp->nlines ? "" : "Nothing to change.");
        }
    } else {
        if (current) {
            cp->ed = ED_DONE;
            snprintf(cp->note, sizeof cp->note, "%s", j->deleting ? "Deleted." : "Applied and read back.");
        }
        console_message(c, TH_OK, "%s: user %s %s", target, j->val[E_PIN], j->deleting ? "deleted" : "saved");
        cards_load(c, j->pi, 0);
    }
    free(j);
}

static void run_step(struct job *j)
{
    struct console *c = j->c;
    struct cpriv *cp = cards_priv(c);
    const struct cpanel *pn = &cp->pan[j->pi];
    if (j->dry && j->adding && j->step == 1) {
        /* the panel checks a right against its users, and the new user is not there before it is written: the
         * rights were checked here against the panel's doors and time zones (field_ok), and are listed */
        if (job_current(j, cp)) {
            char line[80];
            struct csv acc = { 0 };
            if (form_access(c, pn, (const char (*)[24])j->val, &acc) == 0)
                for (size_t r = 0; r < acc.nrows; r++) {
                    c3_doors_added_text(&acc, r, line, sizeof line);
                    editor_line(c, cp, line);
                }
            csv_free(&acc);
            cp->ed = ED_DIFF;
        }
        free(j);
        return;
    }
    char settings[48];
    char *data;
    if (j->deleting) {
        data = malloc(40);
        if (data)
            snprintf(data, 40, "pin\n%s\n", j->val[E_PIN]);
        snprintf(settings, sizeof settings, "users delete"); /* the driver removes the user's access rights too */
    } else if (j->step == 0) {
        data = user_csv(j);
        snprintf(settings, sizeof settings, "users %s%s", j->adding ? "add" : "set", j->dry ? " dry-run" : "");
    } else {
        data = access_csv(c, pn, (const char (*)[24])j->val);
        snprintf(settings, sizeof settings, "access replace pin=%s%s", j->val[E_PIN], j->dry ? " dry-run" : "");
    }
    struct action_params p = { .settings = settings, .file_data = data, .file_len = data ? strlen(data) : 0,
                               .step = step_line, .step_arg = j };
    char err[256];
    if (!j->dry && !j->counted) {
        c->running_actions++;
        j->counted = true;
    }
    /* a refusal calls step_done (finished) before returning */
    (void)action_run(c->site, &c->user, ACTION_PANEL_DATA, c->site->devices[pn->device].name, &p, step_done, j, err,
                     sizeof err);
    free(data); /* the driver or the request has copied it */
}

/* Start the check (dry) or the change the form says, or the deletion of the user it shows. */
void cards_edit_start(struct console *c, struct cpriv *cp, bool dry, bool deleting)
{
    struct job *j = calloc(1, sizeof *j);
    cp->note[0] = '\0';
    cards_edit_clear(cp);
    if (!j) {
        snprintf(cp->note, sizeof cp->note, "out of memory");
        return;
    }
    j->c = c;
    j->gen = ++cp->gen;
    j->pi = cp->cur;
    j->dry = dry;
    j->adding = cp->adding;
    j->deleting = deleting;
    memcpy(j->val, cp->val, sizeof j->val);
    memcpy(j->orig, cp->orig, sizeof j->orig);
    /* the doors are written when they or their time zone changed (a new user without doors has none) */
    j->doors_changed = strcmp(cp->val[E_DOORS], cp->orig[E_DOORS]) != 0 ||
                       (strcmp(cp->val[E_TZ], cp->orig[E_TZ]) != 0 && cp->val[E_DOORS][0]);
    cp->ed = dry ? ED_CHECKING : ED_APPLYING;
    run_step(j);
}

/* Whether a field's text is a whole number lo..hi (digits only). */
static bool num_ok(const char *s, unsigned long long lo, unsigned long long hi)
{
    if (!s[0] || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10)
        return false;
    unsigned long long v = strtoull(s, NULL, 10);
    return v >= lo && v <= hi;
}

/* Everything the form can check before anything is sent: each field's form, the door numbers against the panel's
 * doors, the time zone against the panel's time zones (the panel refuses a right naming neither, but a new user's
 * rights cannot be checked by a dry run before the user exists). The first problem goes to the note and the
 * cursor to its field. */
static bool field_ok(struct console *c, struct cpriv *cp)
{
    char err[200] = "";
    size_t bad = NE;
    for (size_t i = 0; i < NE && bad == NE; i++) {
        if (i == E_NAME && strcmp(cp->val[i], cp->orig[i]) == 0 && !cp->adding)
            continue; /* not sent: whatever the panel holds stays */
        for (const char *v = cp->val[i]; *v; v++)
            if ((unsigned char)*v < 0x20 || (unsigned char)*v > 0x7E) {
                snprintf(err, sizeof err, "only printable ASCII characters (the panel keeps no others)");
                bad = i;
                break;
            }
    }
    uint32_t d1 = 0, d2 = 0;
    if (bad < NE) {
    } else if (!num_ok(cp->val[E_PIN], 1, 4294967295ull)) {
        bad = E_PIN;
        snprintf(err, sizeof err, "'%s' is not a number 1-4294967295", cp->val[E_PIN]);
    } else if (cp->val[E_CARD][0] && !num_ok(cp->val[E_CARD], 1, 4294967295ull)) {
        bad = E_CARD;
        snprintf(err, sizeof err, "'%s' is not a number 1-4294967295 (empty: no card)", cp->val[E_CARD]);
    } else if (strspn(cp->val[E_KEYPAD], "0123456789") != strlen(cp->val[E_KEYPAD])) {
        bad = E_KEYPAD;
        snprintf(err, sizeof err, "'%s': only digits, at most 8 (empty: none)", cp->val[E_KEYPAD]);
    } else if (cp->val[E_START][0] && c3_date_parse(cp->val[E_START], &d1) < 0) {
        bad = E_START;
        snprintf(err, sizeof err, "'%s' is not a date YYYY-MM-DD (2000-2099; empty: no limit)", cp->val[E_START]);
    } else if (cp->val[E_END][0] && c3_date_parse(cp->val[E_END], &d2) < 0) {
        bad = E_END;
        snprintf(err, sizeof err, "'%s' is not a date YYYY-MM-DD (2000-2099; empty: no limit)", cp->val[E_END]);
    } else if (d1 && d2 && d2 < d1) {
        bad = E_END;
        snprintf(err, sizeof err, "%s is before %s", cp->val[E_END], cp->val[E_START]);
    }
    if (bad == NE) {
        const struct cpanel *pn = &cp->pan[cp->cur];
        unsigned dv[C3_DOORS_MAX];
        int nd = c3_doors_parse(cp->val[E_DOORS], panel_doors(c, pn), c->site->devices[pn->device].name, dv, err,
                                sizeof err);
        if (nd < 0)
            bad = E_DOORS;
        else if (nd && c3_doors_tz_check(cp->val[E_TZ], &pn->tzs, err, sizeof err) < 0)
            bad = E_TZ;
    }
    if (bad == NE)
        return true; /* the rest (a card another user has, ...) is checked by the panel's driver in the dry run */
    static const char *const short_label[NE] = { "PIN", "Name", "Card", "Keypad password", "Valid from",
                                                 "Valid until", "Doors", "Time zone" };
    snprintf(cp->note, sizeof cp->note, "%s: %s. Nothing was sent.", short_label[bad], err);
    cards_edit_clear(cp);
    if (bad != E_PIN || cp->adding)
        cp->field = bad;
    return false;
}

unsigned cards_edit_key(struct console *c, struct pane *p, int key)
{
    struct cpriv *cp = p->priv;
    if (cp->ed == ED_NONE)
        return 0;
    c->dirty = true;
    bool enter = key == '\n' || key == '\r' || key == KEY_ENTER;
    size_t row;
    switch (cp->ed) {
    case ED_CHECKING:
        if (key == 27) { /* the panel does not answer: back to the form; the check's answer is not waited for */
            cp->gen++;
            cp->ed = ED_FORM;
            snprintf(cp->note, sizeof cp->note, "Check abandoned; nothing was written.");
            return PANE_HANDLED;
        }
        return keys_fkey(key) || key == KEY_RESIZE ? 0 : PANE_HANDLED;
    case ED_APPLYING:
        if (key == 27) { /* the change goes on; its outcome comes as a message */
            cp->gen++;
            cp->ed = ED_NONE;
            console_message(c, TH_INFO, "User editor closed; the change goes on, its result will show here");
            return PANE_HANDLED;
        }
        return keys_fkey(key) || key == KEY_RESIZE ? 0 : PANE_HANDLED;
    case ED_DIFF:
        if (key == 'y' || key == 'Y' || enter)
            cards_edit_start(c, cp, false, false);
        else if (key == 27 || key == 'n')
            cp->ed = ED_FORM;
        else
            return keys_fkey(key) || key == KEY_RESIZE ? 0 : PANE_HANDLED;
        return PANE_HANDLED;
    case ED_DONE:
        if (key == 27 || key == 'q')
            cp->ed = ED_NONE;
        else if (enter && cp->pan[cp->cur].loading) /* the form starts from what the panel holds now */
            snprintf(cp->note, sizeof cp->note, "Reading the panel back; Enter again in a moment.");
        else if (enter && find_user(&cp->pan[cp->cur], cp->val[E_PIN], &row))
            cards_edit_open(c, cp, false, row);
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
            cards_edit_start(c, cp, true, false);
        break;
    case KEY_BACKSPACE: case 127: case 8:
        if (len && !fixed) {
            /* a whole character (a name the panel holds may have UTF-8 ones) */
            while (len > 1 && ((unsigned char)v[len - 1] & 0xC0) == 0x80)
                len--;
            v[len - 1] = '\0';
        }
        break;
    case 21: /* C-u */
        if (!fixed)
            v[0] = '\0';
        break;
    default:
        if (key >= 0x20 && key < 0x7f) {
            if (fixed)
                snprintf(cp->note, sizeof cp->note, "The PIN of a user the panel has is its key: add a new user "
                         "(F2) for another PIN.");
            else if (len < maxlen[cp->field])
                v[len] = (char)key, v[len + 1] = '\0';
            else
                snprintf(cp->note, sizeof cp->note, "%s: at most %zu characters (the panel keeps no more).",
                         labels[cp->field], maxlen[cp->field]);
        } else if (key >= 0x80 && key <= 0xFF) {
            snprintf(cp->note, sizeof cp->note, "%s: only printable ASCII characters (the panel keeps no others).",
                     labels[cp->field]);
        } else {
            return 0;
        }
    }
    return PANE_HANDLED;
}
