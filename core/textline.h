/* textline: walking a buffer of text one line (or one separated piece) at a time, for the readers of line-based
 * files, panel replies and comma lists: a piece ends at its separator (kept out of it), a last piece without one counts. */
#ifndef PORTIER_TEXTLINE_H
#define PORTIER_TEXTLINE_H

#include <stdbool.h>
#include <stddef.h>

/* The line of text[0..len) that starts at *pos: *line and *line_len (without the '\n'; a '\r' before it, NUL
 * bytes and anything else stay), and *pos moved past it. False when *pos is at or past the end. */
bool textline_next(const char *text, size_t len, size_t *pos, const char **line, size_t *line_len);

/* The same walk where a piece ends at any one byte of seps[0..nseps) (NUL may be one of them): "a\r\nb" with
 * seps "\r\n" gives "a", "" and "b"; a separator at the very end gives no empty last piece. */
bool textline_next_sep(const char *text, size_t len, size_t *pos, const char *seps, size_t nseps, const char **piece,
                       size_t *piece_len);

#endif
