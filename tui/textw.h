/* textw: text measured in terminal cells (wcwidth) in the current locale, for the console's columns: cut at a
 * character, never inside one, and padded to a width in cells, not bytes. */
#ifndef PORTIER_TUI_TEXTW_H
#define PORTIER_TUI_TEXTW_H

#include <stdbool.h>
#include <stddef.h>

/* The character at s (at most len bytes): its length in bytes, its cells in *cells, and in *show whether it is shown
 * as itself (1) or as one '?' (0: a control character, a byte that is no character, or a UTF-8 character the
 * locale cannot show: in a non-UTF-8 locale such as C, "Tür" is shown "T?r"). len > 0. */
size_t textw_char(const char *s, size_t len, int *cells, int *show);
/* The cells of the whole string. */
int textw_cells(const char *s);
/* dst = as much of s as fits in `cells` cells (whole characters, each shown as textw_char says), then spaces up to
 * exactly `cells` cells. Returns the bytes written (dst always terminated; dstlen >= 1). */
size_t textw_fit(char *dst, size_t dstlen, const char *s, int cells);
/* As textw_fit, but a text longer than `cells` keeps its start and its end around `mark` (one cell, e.g. "…"):
 * "Bau 57 Eingang Nord A" in 14 cells is "Bau 57 …Nord A", so names that differ at the end stay apart. */
size_t textw_fit_mid(char *dst, size_t dstlen, const char *s, int cells, const char *mark);

#endif
