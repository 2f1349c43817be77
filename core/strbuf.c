/* strbuf: bounded appends over a caller's buffer. */
#include "core/strbuf.h"

#include <stdio.h>
#include <string.h>

void strbuf_init(struct strbuf *sb, char *buf, size_t cap)
{
    sb->buf = buf;
    sb->cap = buf ? cap : 0;
    strbuf_reset(sb);
}

void strbuf_reset(struct strbuf *sb)
{
    sb->len = 0;
    sb->truncated = false;
    if (sb->cap)
        sb->buf[0] = '\0';
}

/* Cut the text back so it does not end inside a UTF-8 sequence (called after a truncation only). */
static void cut_to_char(struct strbuf *sb)
{
    size_t end = sb->len, i = end;
    /* walk back over at most 3 continuation bytes to the lead byte of the last character */
    while (i > 0 && end - i < 4 && ((unsigned char)sb->buf[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0 || end - i >= 4)
        return; /* not UTF-8 (or only continuation bytes): keep the bytes as they are */
    unsigned char lead = (unsigned char)sb->buf[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (need > 1 && end - (i - 1) < need) {
        sb->len = i - 1;
        sb->buf[sb->len] = '\0';
    }
}

static bool overflow(struct strbuf *sb)
{
    sb->truncated = true;
    cut_to_char(sb);
    return false;
}

bool strbuf_putn(struct strbuf *sb, const char *s, size_t n)
{
    if (sb->truncated)
        return false;
    if (!sb->cap)
        return n == 0 ? true : overflow(sb);
    size_t room = sb->cap - 1 - sb->len;
    size_t k = n < room ? n : room;
    memcpy(sb->buf + sb->len, s, k);
    sb->len += k;
    sb->buf[sb->len] = '\0';
    return k == n ? true : overflow(sb);
}

bool strbuf_putc(struct strbuf *sb, char c)
{
    return strbuf_putn(sb, &c, 1);
}

bool strbuf_puts(struct strbuf *sb, const char *s)
{
    return strbuf_putn(sb, s ? s : "", s ? strlen(s) : 0);
}

bool strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
    if (sb->truncated)
        return false;
    if (!sb->cap)
        return overflow(sb);
    size_t room = sb->cap - sb->len; /* including the NUL */
    int w = vsnprintf(sb->buf + sb->len, room, fmt, ap);
    if (w < 0) {
        sb->buf[sb->len] = '\0';
        return overflow(sb);
    }
    if ((size_t)w >= room) {
        sb->len = sb->cap - 1; /* vsnprintf wrote what fitted and terminated it */
        return overflow(sb);
    }
    sb->len += (size_t)w;
    return true;
}

bool strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool ok = strbuf_vprintf(sb, fmt, ap);
    va_end(ap);
    return ok;
}

bool strbuf_sep(struct strbuf *sb, const char *sep)
{
    return sb->len == 0 ? !sb->truncated : strbuf_puts(sb, sep);
}

bool strbuf_join(struct strbuf *sb, const char *sep, const char *const *v, size_t n)
{
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++)
        ok = (i == 0 || strbuf_puts(sb, sep)) && strbuf_puts(sb, v[i]);
    return ok;
}
