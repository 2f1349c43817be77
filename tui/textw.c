/* textw: text measured in terminal cells. */
#include "tui/textw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wctype.h>
#include <wchar.h>

/* The length of the valid UTF-8 sequence at s (2..4), or 0. */
static size_t utf8_len(const unsigned char *s, size_t len)
{
    size_t n = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 && s[0] < 0xE0 ? 2 : 0;
    if (!n || n > len)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

size_t textw_char(const char *s, size_t len, int *cells, int *show)
{
    mbstate_t st;
    memset(&st, 0, sizeof st);
    wchar_t wc;
    size_t n = mbrtowc(&wc, s, len, &st);
    *cells = 1;
    *show = 0;
    if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
        size_t u = utf8_len((const unsigned char *)s, len); /* UTF-8 the locale cannot decode: one '?' */
        return u ? u : 1;
    }
    int w = wcwidth(wc);
    if (wc < 0x20 || wc == 0x7f || w < 0)
        return n;
    *cells = w;
    *show = 1;
    return n;
}

int textw_cells(const char *s)
{
    int total = 0;
    size_t len = strlen(s);
    while (len) {
        int cw, show;
        size_t n = textw_char(s, len, &cw, &show);
        total += cw;
        s += n;
        len -= n;
    }
    return total;
}

size_t textw_fit(char *dst, size_t dstlen, const char *s, int cells)
{
    size_t out = 0, len = strlen(s);
    int used = 0;
    while (len) {
        int cw, show;
        size_t n = textw_char(s, len, &cw, &show);
        size_t bytes = show ? n : 1;
        if (used + cw > cells || out + bytes + 1 > dstlen)
            break;
        if (show)
            memcpy(dst + out, s, n);
        else
            dst[out] = '?';
        out += bytes;
        used += cw;
        s += n;
        len -= n;
    }
    while (used < cells && out + 2 <= dstlen) {
        dst[out++] = ' ';
        used++;
    }
    dst[out] = '\0';
    return out;
}

size_t textw_fit_mid(char *dst, size_t dstlen, const char *s, int cells, const char *mark)
{
    int total = textw_cells(s);
    if (total <= cells || cells < 5)
        return textw_fit(dst, dstlen, s, cells);
    /* the tail: the last characters that fill at most (cells - 1) / 2 cells */
    int tail_cells = (cells - 1) / 2, used = 0;
    size_t len = strlen(s), tail_at = len;
    for (size_t i = 0; i < len;) {
        int cw, show;
        size_t n = textw_char(s + i, len - i, &cw, &show);
        if (total - used <= tail_cells) {
            tail_at = i;
            break;
        }
        used += cw;
        i += n;
    }
    const char *sp = strchr(s + tail_at, ' '); /* the tail from a word's start when it has one */
    if (sp && sp[1])
        tail_at = (size_t)(sp + 1 - s);
    int tail_w = textw_cells(s + tail_at);
    char head[256];
    textw_fit(head, sizeof head, s, cells - 1 - tail_w);
    size_t hl = strlen(head);
    while (hl && head[hl - 1] == ' ') /* the head's padding: the head may end before a wide character */
        hl--;
    head[hl] = '\0';
    char joined[512];
    snprintf(joined, sizeof joined, "%s%s%s", head, mark, s + tail_at);
    return textw_fit(dst, dstlen, joined, cells);
}
