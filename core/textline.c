#include "core/textline.h"

#include <string.h>

bool textline_next_sep(const char *text, size_t len, size_t *pos, const char *seps, size_t nseps, const char **piece,
                       size_t *piece_len)
{
    if (*pos >= len)
        return false;
    const char *p = text + *pos;
    size_t rest = len - *pos, l = 0;
    if (nseps == 1) {
        const char *end = memchr(p, seps[0], rest);
        l = end ? (size_t)(end - p) : rest;
    } else {
        while (l < rest && !memchr(seps, p[l], nseps))
            l++;
    }
    *pos += l + (l < rest ? 1 : 0);
    *piece = p;
    *piece_len = l;
    return true;
}

bool textline_next(const char *text, size_t len, size_t *pos, const char **line, size_t *line_len)
{
    return textline_next_sep(text, len, pos, "\n", 1, line, line_len);
}
