/* strbuf: a bounded string builder over a fixed buffer the caller owns. Appends never write past the
 * buffer, the text is always NUL-terminated, and truncation is reported (and sticky) instead of wrapping. */
#ifndef PORTIER_STRBUF_H
#define PORTIER_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct strbuf {
    char *buf;
    size_t cap;      /* bytes of buf, including the terminating NUL */
    size_t len;      /* text length, always < cap when cap > 0 */
    bool truncated;  /* something did not fit; later appends are ignored */
};

/* Start an empty text in buf[cap] (cap may be 0: every append then reports truncation). */
void strbuf_init(struct strbuf *sb, char *buf, size_t cap);
/* strbuf_init over an array: STRBUF_ON(sb, arr). */
#define STRBUF_ON(sb, arr) strbuf_init((sb), (arr), sizeof(arr))
/* Empty the text again (and forget a truncation). */
void strbuf_reset(struct strbuf *sb);

/* Append; each returns false when the text did not fit completely. What fitted is kept, cut back to a
 * whole UTF-8 character, and nothing is appended after a truncation, so the text never has holes. */
bool strbuf_putc(struct strbuf *sb, char c);
bool strbuf_puts(struct strbuf *sb, const char *s);
bool strbuf_putn(struct strbuf *sb, const char *s, size_t n);
bool strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Append sep first unless the text is still empty (for lists: "a, b, c"). */
bool strbuf_sep(struct strbuf *sb, const char *sep);
/* Append v[0..n) separated by sep. */
bool strbuf_join(struct strbuf *sb, const char *sep, const char *const *v, size_t n);

static inline const char *strbuf_str(const struct strbuf *sb) { return sb->cap ? sb->buf : ""; }
static inline size_t strbuf_len(const struct strbuf *sb) { return sb->len; }
static inline bool strbuf_truncated(const struct strbuf *sb) { return sb->truncated; }

#endif
