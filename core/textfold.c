/* textfold: Unicode lower case of UTF-8 text through the C.UTF-8 locale's tables (towlower_l), never the
 * process's own locale (a console started with LANG=C folds "Ä" all the same). */
#include "core/textfold.h"

#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <wctype.h>

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_init(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* One character at s (n bytes left): its code point and length, or length 0 when the bytes are not valid UTF-8. */
static size_t decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 && s[0] < 0xE0 ? 2 : 0;
    if (!len || len > n || (len == 4 && s[0] > 0xF4))
        return 0;
    uint32_t c = s[0] & (0xFF >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    static const uint32_t least[5] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (c < least[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

static size_t encode(uint32_t c, unsigned char *o)
{
    if (c < 0x80) {
        o[0] = (unsigned char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (unsigned char)(0xC0 | c >> 6);
        o[1] = (unsigned char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (unsigned char)(0xE0 | c >> 12);
        o[1] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | c >> 18);
    o[1] = (unsigned char)(0x80 | (c >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
    o[3] = (unsigned char)(0x80 | (c & 0x3F));
    return 4;
}

static uint32_t lower(uint32_t c)
{
    if (c < 0x80)
        return c >= 'A' && c <= 'Z' ? c + 32 : c;
    pthread_once(&utf8_once, utf8_init);
    if (!utf8_locale)
        return c;
    wint_t l = towlower_l((wint_t)c, utf8_locale);
    return l <= 0x10FFFF && !(l >= 0xD800 && l <= 0xDFFF) ? (uint32_t)l : c;
}

size_t textfold_max(size_t n)
{
    return n + n / 2 + 1;
}

size_t textfold(const char *s, size_t n, char *out, size_t outcap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t total = 0, w = 0;
    bool cut = outcap == 0;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t len = decode(p + i, n - i, &c);
        unsigned char buf[4];
        size_t bl;
        if (len) {
            bl = encode(lower(c), buf);
            i += len;
        } else {
            buf[0] = p[i++];
            bl = 1;
        }
        total += bl;
        if (!cut && w + bl < outcap) {
            memcpy(out + w, buf, bl);
            w += bl;
        } else {
            cut = true;
        }
    }
    if (outcap)
        out[w] = '\0';
    return total;
}

/* The folded form of s in a new buffer, or NULL when out of memory. */
static char *fold_dup(const char *s)
{
    size_t n = strlen(s), cap = textfold_max(n) + 1;
    char *o = malloc(cap);
    if (o)
        textfold(s, n, o, cap);
    return o;
}

static bool ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

bool textfold_contains(const char *hay, const char *needle)
{
    if (!hay || !needle)
        return false;
    if (ascii(needle) && ascii(hay)) /* plain ASCII: the same answer by bytes */
        return strcasestr(hay, needle) != NULL;
    char *h = fold_dup(hay), *nd = fold_dup(needle);
    bool r = h && nd && strstr(h, nd) != NULL;
    free(h);
    free(nd);
    return r;
}

bool textfold_equal(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    if (ascii(a) && ascii(b))
        return strcasecmp(a, b) == 0;
    char *x = fold_dup(a), *y = fold_dup(b);
    bool r = x && y && strcmp(x, y) == 0;
    free(x);
    free(y);
    return r;
}
