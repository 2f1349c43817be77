/* theme: colours, monochrome fallback and glyphs. */
#include "tui/theme.h"

#include <string.h>

void theme_init(struct theme *th, bool colour, bool utf8)
{
    memset(th, 0, sizeof *th);
    th->colour = colour;
    th->utf8 = utf8;
    /* each role: its colour pair and what it adds to it, and its attributes on a monochrome terminal */
    static const struct { short fg, bg; attr_t extra, mono; } roles[TH_COUNT] = {
        [TH_NORMAL] = {-1, -1, 0, A_NORMAL},
        [TH_DIM] = {COLOR_WHITE, -1, A_DIM, A_DIM},
        [TH_OK] = {COLOR_GREEN, -1, 0, A_NORMAL},
        [TH_INFO] = {COLOR_CYAN, -1, 0, A_NORMAL},
        [TH_WARN] = {COLOR_YELLOW, -1, 0, A_UNDERLINE},
        [TH_ALARM] = {COLOR_RED, -1, A_BOLD, A_BOLD},
        [TH_CRIT] = {COLOR_WHITE, COLOR_RED, A_BOLD, A_BOLD | A_REVERSE},
        [TH_STATUS] = {COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE},
        [TH_TITLE] = {COLOR_BLACK, COLOR_GREEN, 0, A_BOLD | A_UNDERLINE},
        [TH_TAB] = {COLOR_WHITE, COLOR_BLUE, 0, A_NORMAL},
        [TH_TAB_ACTIVE] = {COLOR_BLACK, COLOR_YELLOW, 0, A_REVERSE | A_BOLD},
        [TH_FKEY_KEY] = {-1, -1, A_BOLD, A_BOLD},
        [TH_FKEY_LABEL] = {COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE},
        [TH_FKEY_OFF] = {COLOR_BLACK, COLOR_WHITE, A_DIM, A_DIM},
        [TH_SELECTED] = {COLOR_BLACK, COLOR_CYAN, 0, A_REVERSE},
        [TH_BANNER] = {COLOR_WHITE, COLOR_RED, A_BOLD, A_REVERSE | A_BOLD},
        [TH_FIELD] = {COLOR_WHITE, COLOR_BLUE, 0, A_UNDERLINE},
        [TH_FIELD_BAD] = {COLOR_WHITE, COLOR_RED, 0, A_REVERSE | A_UNDERLINE},
    };
    if (colour) {
        start_color();
        use_default_colors();
    }
    for (int i = 0; i < TH_COUNT; i++) {
        if (!colour) {
            th->attr[i] = roles[i].mono;
        } else if (i == TH_NORMAL) {
            th->attr[i] = A_NORMAL;
        } else {
            init_pair((short)i, roles[i].fg, roles[i].bg);
            th->attr[i] = COLOR_PAIR(i) | roles[i].extra;
        }
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
