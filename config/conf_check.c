/* conf_check: safe file reading, UTF-8, integer literals and advice for the configuration loader. */
#include "config/conf_check.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *kind_of(mode_t m)
{
    if (S_ISDIR(m))
        return "is a directory";
    if (S_ISFIFO(m))
        return "is a FIFO (named pipe)";
    if (S_ISCHR(m))
        return "is a character device";
    if (S_ISBLK(m))
        return "is a block device";
    if (S_ISSOCK(m))
        return "is a socket";
    return "is not a regular file";
}

int conf_open_regular(const char *path, struct stat *st, char *why, size_t whylen)
{
    if (!path || !path[0]) {
        snprintf(why, whylen, "no file name");
        return -1;
    }
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP)
            snprintf(why, whylen, "symbolic link loop (too many levels of symbolic links)");
        else if (e == ENOENT)
            snprintf(why, whylen, "no such file");
        else if (e == ENXIO)
            snprintf(why, whylen, "is a socket or a device nobody serves, not a regular file");
        else
            snprintf(why, whylen, "%s", strerror(e));
        errno = e;
        return -1;
    }
    if (fstat(fd, st) != 0) {
        int e = errno;
        snprintf(why, whylen, "%s", strerror(e));
        close(fd);
        errno = e;
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        snprintf(why, whylen, "%s, not a regular file", kind_of(st->st_mode));
        close(fd);
        errno = EINVAL;
        return -1;
    }
    return fd;
}

int conf_read_file(const char *path, size_t max, char **text, size_t *len, struct stat *st, char *why,
                   size_t whylen)
{
    *text = NULL;
    *len = 0;
    int fd = conf_open_regular(path, st, why, whylen);
    if (fd < 0)
        return -1;
    if ((uintmax_t)st->st_size > max) {
        snprintf(why, whylen, "is larger than %zu bytes", max);
        close(fd);
        return -1;
    }
    char *buf = malloc(max + 1);
    size_t n = 0;
    if (!buf) {
        snprintf(why, whylen, "out of memory");
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(why, whylen, "%s", strerror(errno));
            free(buf);
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) { /* it grew while being read */
            snprintf(why, whylen, "is larger than %zu bytes", max);
            free(buf);
            close(fd);
            return -1;
        }
    }
    close(fd);
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

bool conf_text_ok(const char *s, size_t *bad, char *what, size_t whatlen)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; p[i];) {
        unsigned c = p[i];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) {
                *bad = i;
                snprintf(what, whatlen, "control character 0x%02X", c);
                return false;
            }
            i++;
            continue;
        }
        size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? (c <= 0xEF ? 3 : 0) : c >= 0xC2 && c <= 0xDF ? 2 : 0;
        uint32_t cp = n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xC0) != 0x80) {
                n = 0;
                break;
            }
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        /* overlong three/four-byte forms, surrogates, beyond U+10FFFF */
        if (n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
            n = 0;
        if (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))
            n = 0;
        if (n == 0) {
            *bad = i;
            snprintf(what, whatlen, "byte 0x%02X that is not UTF-8", c);
            return false;
        }
        if (cp >= 0x80 && cp <= 0x9F) {
            *bad = i;
            snprintf(what, whatlen, "control character U+%04X", (unsigned)cp);
            return false;
        }
        i += n;
    }
    return true;
}

/* ---- integer literals ---- */

static bool word_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '-' || ch == '*';
}

/* Parse the literal at p (digits as the syntax allows them); fills out, returns its length or 0. */
static size_t parse_literal(const char *p, struct conf_int *out)
{
    const char *q = p;
    bool neg = false;
    if (*q == '+' || *q == '-')
        neg = *q++ == '-';
    bool hex = q[0] == '0' && (q[1] == 'x' || q[1] == 'X') && isxdigit((unsigned char)q[2]);
    const char *d = hex ? q + 2 : q;
    const char *e = d;
    while (hex ? isxdigit((unsigned char)*e) : isdigit((unsigned char)*e))
        e++;
    if (e == d)
        return 0;
    bool l64 = *e == 'L';
    const char *end = e + (e[0] == 'L') + (e[0] == 'L' && e[1] == 'L');
    if (word_char(*end) || *end == '.')
        return 0; /* a float, or not a number at all */
    size_t len = (size_t)(end - p);
    snprintf(out->text, sizeof out->text, "%.*s", (int)(len < sizeof out->text ? len : sizeof out->text - 1), p);
    char digits[128];
    size_t dl = (size_t)(e - d);
    if (dl >= sizeof digits) {
        out->overflow = true;
        dl = sizeof digits - 1;
    }
    memcpy(digits, d, dl);
    digits[dl] = '\0';
    errno = 0;
    unsigned long long mag = strtoull(digits, NULL, hex ? 16 : 10);
    bool range = errno == ERANGE || out->overflow;
    unsigned long long limit = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
    out->overflow = range || mag > limit;
    out->value = out->overflow ? 0 : neg ? (long long)(0 - mag) : (long long)mag;
    /* libconfig 1.5: plain decimal through strtoll then to int (saturated, then cut to 32 bits); plain hex
     * through strtoul then to int; with L, 64 bits, saturated. */
    long long sat = out->overflow ? (neg ? LLONG_MIN : LLONG_MAX) : out->value;
    if (hex && !l64)
        out->libconfig = (int32_t)(uint32_t)(range ? ULLONG_MAX : mag);
    else if (l64)
        out->libconfig = sat;
    else
        out->libconfig = (int32_t)(uint32_t)(unsigned long long)sat;
    return len;
}

bool conf_find_int(const char *text, int line, const char *key, long long seen, struct conf_int *out)
{
    if (!text || line < 1 || !key || !key[0])
        return false;
    const char *p = text;
    for (int l = 1; l < line && p; l++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    if (!p)
        return false;
    /* The setting starts on its line; its value may be on the next two. */
    const char *stop = p;
    for (int l = 0; l < 3 && stop; l++) {
        stop = strchr(stop, '\n');
        if (stop)
            stop++;
    }
    size_t kl = strlen(key);
    bool found = false;
    for (const char *k = strstr(p, key); k && (!stop || k < stop); k = strstr(k + 1, key)) {
        if ((k > text && word_char(k[-1])) || word_char(k[kl]))
            continue;
        const char *v = k + kl;
        while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
            v++;
        if (*v != '=' && *v != ':')
            continue;
        v++;
        while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
            v++;
        struct conf_int c;
        memset(&c, 0, sizeof c);
        if (!parse_literal(v, &c))
            continue;
        if (!found || c.libconfig == seen) {
            *out = c;
            found = true;
            if (c.libconfig == seen)
                return true;
        }
    }
    return found;
}

/* ---- advice ---- */

bool conf_advice_ok(const char *path, const struct stat *st)
{
    if (!st || !S_ISREG(st->st_mode) || st->st_uid != geteuid() || st->st_nlink != 1)
        return false;
    char real[PATH_MAX];
    if (!realpath(path, real))
        return false;
    static const char *const system[] = { "/dev/", "/proc/", "/sys/", "/usr/", "/bin/", "/sbin/", "/lib",
                                          "/boot/", "/run/", "/var/", "/etc/" };
    if (strncmp(real, "/etc/portier/", 13) == 0)
        return true;
    for (size_t i = 0; i < sizeof system / sizeof system[0]; i++)
        if (strncmp(real, system[i], strlen(system[i])) == 0)
            return false;
    return true;
}
