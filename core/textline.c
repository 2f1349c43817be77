#include "core/textline.h"

#include <string.h>

bool textline_next(const char *text, size_t len, size_t *pos, const char **line, size_t *line_len)
{
    if (*pos >= len)
        return false;
    const char *ln = text + *pos;
    const char *nl = memchr(ln, '\n', len - *pos);
    size_t l = nl ? (size_t)(nl - ln) : len - *pos;
    *pos += l + (nl ? 1 : 0);
    *line = ln;
    *line_len = l;
    return true;
}
