/* theme: colour pairs by meaning (severity, selection, banner), a monochrome scheme when the terminal has
 * no colours or NO_COLOR is set, and UTF-8 line drawing with an ASCII fallback. */
#ifndef PORTIER_TUI_THEME_H
#define PORTIER_TUI_THEME_H

#include <stdbool.h>

#include <curses.h>

enum theme_role {
    TH_NORMAL,
    TH_DIM,       /* stale, unknown, greyed actions */
    TH_OK,        /* granted, link up, confirmed */
    TH_INFO,
    TH_WARN,      /* denied, stale link, pending */
    TH_ALARM,     /* forced door, held open, tamper, failed */
    TH_CRIT,      /* duress, emergency */
    TH_STATUS,    /* the status line */
    TH_TITLE,     /* pane title / table header */
    TH_TAB,
    TH_TAB_ACTIVE,
    TH_FKEY_KEY,
    TH_FKEY_LABEL,
    TH_FKEY_OFF,  /* an action the role may not use */
    TH_SELECTED,
    TH_BANNER,    /* the emergency banner */
    TH_FIELD,     /* editable field */
    TH_FIELD_BAD, /* a field that does not validate */
    TH_COUNT
};

struct theme {
    bool colour;
    bool utf8;
    attr_t attr[TH_COUNT];
    /* glyphs (UTF-8 or ASCII) */
    const char *hline, *vline, *arrow_up, *arrow_down, *bullet, *check, *cross, *ellipsis;
};

/* Set up pairs after initscr(). colour=false gives the monochrome scheme. */
void theme_init(struct theme *th, bool colour, bool utf8);
static inline attr_t theme_attr(const struct theme *th, enum theme_role r)
{
    return ((int)r >= 0 && r < TH_COUNT) ? th->attr[r] : A_NORMAL;
}
/* Horizontal rule of n cells at (y, x). */
void theme_hline(const struct theme *th, WINDOW *w, int y, int x, int n);

#endif
