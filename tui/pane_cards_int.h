/* pane_cards_int: what the Cards view (pane_cards.c) and its user editor (cards_edit.c) share: each panel's copy of
 * its users, access rights and time zones, the editor's state, and the view's helpers the editor calls. */
#ifndef PORTIER_PANE_CARDS_INT_H
#define PORTIER_PANE_CARDS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curses.h>

#include "core/csv.h"
#include "tui/console.h"

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
    unsigned gen;                /* the job whose answers the editor shows (leaving the editor moves it on) */
    char find[40];               /* the last search (/) */
    /* an event's details asked who a card belongs to while the panel's users were being read: answered in the
     * details when they are */
    bool asking;
    size_t ask_pi;
    uint32_t ask_card;
};

/* The Cards view's state, or NULL when the console has none (closing). */
struct cpriv *cards_priv(struct console *c);
/* Read panel pi's users (what 0), then its access rights (1), then its time zones (2). */
void cards_load(struct console *c, size_t pi, int what);
/* "1 2 (tz 1)" for a user's access rows. */
void cards_doors_of(const struct cpanel *pn, const char *pin, char *out, size_t cap);
/* Row r's value in column col, "" when the table has no such column. */
const char *cards_cell(const struct csv *t, size_t r, const char *col);
/* Text in rows of w columns from (y, x), broken at spaces, in at most maxrows rows (the last one cut); the rows
 * used. Columns are counted as characters (a UTF-8 sequence is one). */
int cards_put_wrapped(struct console *c, int y, int x, int w, int maxrows, attr_t attr, const char *text);

#endif
