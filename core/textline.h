/* textline: walking a buffer of text one line at a time, for the readers of line-based state and record files:
 * lines end at '\n' (kept out of the line), a last line without one counts, nothing else is interpreted. */
#ifndef PORTIER_TEXTLINE_H
#define PORTIER_TEXTLINE_H

#include <stdbool.h>
#include <stddef.h>

/* The line of text[0..len) that starts at *pos: *line and *line_len (without the '\n'; a '\r' before it, NUL
 * bytes and anything else stay), and *pos moved past it. False when *pos is at or past the end. */
bool textline_next(const char *text, size_t len, size_t *pos, const char **line, size_t *line_len);

#endif
