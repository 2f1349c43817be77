/* theme: colours, monochrome fallback and glyphs. */
#include "tui/theme.h"

#include <string.h>

void theme_init(struct theme *th, bool colour, bool utf8)
{
    memset(th, 0, sizeof *th);
    th->colour = colour;
    th->utf8 = utf8;
    if (colour) {
        start_color();
        use_default_colors();
        static const struct { short fg, bg; } pairs[TH_COUNT] = {
            [TH_NORMAL] = {-1, -1},           [TH_DIM] = {COLOR_WHITE, -1},
            [TH_OK] = {COLOR_GREEN, -1},      [TH_INFO] = {COLOR_CYAN, -1},
            [TH_WARN] = {COLOR_YELLOW, -1},   [TH_ALARM] = {COLOR_RED, -1},
            [TH_CRIT] = {COLOR_WHITE, COLOR_RED},
            [TH_STATUS] = {COLOR_BLACK, COLOR_CYAN},
            [TH_TITLE] = {COLOR_BLACK, COLOR_GREEN},
            [TH_TAB] = {COLOR_WHITE, COLOR_BLUE}, [TH_TAB_ACTIVE] = {COLOR_BLACK, COLOR_YELLOW},
            [TH_FKEY_KEY] = {-1, -1},         [TH_FKEY_LABEL] = {COLOR_BLACK, COLOR_CYAN},
            [TH_FKEY_OFF] = {COLOR_BLACK, COLOR_WHITE},
            [TH_SELECTED] = {COLOR_BLACK, COLOR_CYAN},
            [TH_BANNER] = {COLOR_WHITE, COLOR_RED},
            [TH_FIELD] = {COLOR_WHITE, COLOR_BLUE}, [TH_FIELD_BAD] = {COLOR_WHITE, COLOR_RED},
        };
        for (int i = 1; i < TH_COUNT; i++) {
            init_pair((short)i, pairs[i].fg, pairs[i].bg);
            th->attr[i] = COLOR_PAIR(i);
        }
        th->attr[TH_NORMAL] = A_NORMAL;
        th->attr[TH_DIM] |= A_DIM;
        th->attr[TH_ALARM] |= A_BOLD;
        th->attr[TH_CRIT] |= A_BOLD;
        th->attr[TH_BANNER] |= A_BOLD;
        th->attr[TH_FKEY_KEY] |= A_BOLD;
        th->attr[TH_FKEY_OFF] |= A_DIM;
    } else {
        th->attr[TH_NORMAL] = A_NORMAL;
        th->attr[TH_DIM] = A_DIM;
        th->attr[TH_OK] = A_NORMAL;
        th->attr[TH_INFO] = A_NORMAL;
        th->attr[TH_WARN] = A_UNDERLINE;
        th->attr[TH_ALARM] = A_BOLD;
        th->attr[TH_CRIT] = A_BOLD | A_REVERSE;
        th->attr[TH_STATUS] = A_REVERSE;
        th->attr[TH_TITLE] = A_BOLD | A_UNDERLINE;
        th->attr[TH_TAB] = A_NORMAL;
        th->attr[TH_TAB_ACTIVE] = A_REVERSE | A_BOLD;
        th->attr[TH_FKEY_KEY] = A_BOLD;
        th->attr[TH_FKEY_LABEL] = A_REVERSE;
        th->attr[TH_FKEY_OFF] = A_DIM;
        th->attr[TH_SELECTED] = A_REVERSE;
        th->attr[TH_BANNER] = A_REVERSE | A_BOLD;
        th->attr[TH_FIELD] = A_UNDERLINE;
        th->attr[TH_FIELD_BAD] = A_REVERSE | A_UNDERLINE;
    }
    if (utf8) {
        th->hline = "\u2500"; th->vline = "\u2502"; th->arrow_up = "\u25b2"; th->arrow_down = "\u25bc";
        th->bullet = "\u25cf"; th->check = "\u2713"; th->cross = "\u2717"; th->ellipsis = "\u2026";
    } else {
        th->hline = "-"; th->vline = "|"; th->arrow_up = "^"; th->arrow_down = "v";
        th->bullet = "*"; th->check = "+"; th->cross = "x"; th->ellipsis = "~";
    }
}

void theme_hline(const struct theme *th, WINDOW *w, int y, int x, int n)
{
    wmove(w, y, x);
    for (int i = 0; i < n; i++)
        waddstr(w, th->hline);
}
