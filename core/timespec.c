/* timespec: parser for people's time specifications (see timespec.h for the grammar). */
#include "core/timespec.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_AGO_S (36500LL * 86400) /* relative times reach back at most 100 years */
#define MAX_EPOCH 253402300799LL    /* 9999-12-31T23:59:59Z */

/* "'TEXT': detail" into err; -1. */
static int fail(char *err, size_t errlen, const char *s, const char *detail)
{
    if (err && errlen)
        snprintf(err, errlen, "'%.40s%s': %s", s, strlen(s) > 40 ? "..." : "", detail);
    return -1;
}

/* Between lo and hi decimal digits at *p into *v; advances *p. */
static bool digits(const char **p, int lo, int hi, long long *v)
{
    const char *s = *p;
    long long x = 0;
    int n = 0;
    while (n < hi && s[n] >= '0' && s[n] <= '9') {
        x = x * 10 + (s[n] - '0');
        n++;
    }
    if (n < lo)
        return false;
    *p = s + n;
    *v = x;
    return true;
}

static int days_in_month(long long y, long long m)
{
    static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

/* "HH:MM[:SS]" at *p (to the end of the string) into tm; 0, or -1 with err. */
static int parse_clock(const char *s, const char *p, struct tm *tm, char *err, size_t errlen)
{
    long long h, m, sec = 0;
    if (!digits(&p, 1, 2, &h) || *p++ != ':' || !digits(&p, 2, 2, &m))
        return fail(err, errlen, s, "expected HH:MM or HH:MM:SS");
    if (*p == ':') {
        p++;
        if (!digits(&p, 2, 2, &sec))
            return fail(err, errlen, s, "expected HH:MM:SS");
    }
    if (*p)
        return fail(err, errlen, s, "unexpected text after the time");
    char what[48];
    if (h > 23 || m > 59 || sec > 59) {
        const char *field = h > 23 ? "hour" : m > 59 ? "minute" : "second";
        snprintf(what, sizeof what, "%s %lld out of range 0-%d", field, h > 23 ? h : m > 59 ? m : sec,
                 h > 23 ? 23 : 59);
        return fail(err, errlen, s, what);
    }
    tm->tm_hour = (int)h;
    tm->tm_min = (int)m;
    tm->tm_sec = (int)sec;
    return 0;
}

static int to_us(struct tm *tm, const char *s, int64_t *out, char *err, size_t errlen)
{
    tm->tm_isdst = -1;
    time_t t = mktime(tm);
    if (t == (time_t)-1)
        return fail(err, errlen, s, "not a representable local time");
    *out = (int64_t)t * 1000000;
    return 0;
}

static int local_midnight(int64_t now_us, int days_back, const char *s, int64_t *out, char *err, size_t errlen)
{
    time_t now = (time_t)(now_us / 1000000);
    struct tm tm;
    localtime_r(&now, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_mday -= days_back; /* mktime normalises across months and DST changes */
    return to_us(&tm, s, out, err, errlen);
}

int timespec_parse(const char *in, int64_t now_us, int64_t *out_us, char *err, size_t errlen)
{
    char s[64];
    if (!in)
        in = "";
    while (*in == ' ' || *in == '\t')
        in++;
    size_t n = strlen(in);
    while (n && (in[n - 1] == ' ' || in[n - 1] == '\t'))
        n--;
    if (n == 0) {
        if (err && errlen)
            snprintf(err, errlen, "empty time (use %s)", TIMESPEC_FORMS);
        return -1;
    }
    if (n >= sizeof s)
        return fail(err, errlen, in, "too long for a time");
    memcpy(s, in, n);
    s[n] = '\0';

    if (strcasecmp(s, "now") == 0) {
        *out_us = now_us;
        return 0;
    }
    if (strcasecmp(s, "today") == 0)
        return local_midnight(now_us, 0, s, out_us, err, errlen);
    if (strcasecmp(s, "yesterday") == 0)
        return local_midnight(now_us, 1, s, out_us, err, errlen);

    const char *p = s;
    long long v;
    if (*p == '@') {
        p++;
        if (!digits(&p, 1, 12, &v) || *p)
            return fail(err, errlen, s, "@ takes the seconds since 1970-01-01 UTC (digits only)");
        if (v > MAX_EPOCH)
            return fail(err, errlen, s, "after the year 9999");
        *out_us = (int64_t)v * 1000000;
        return 0;
    }
    if (*p == '-') {
        p++;
        if (!digits(&p, 1, 11, &v))
            return fail(err, errlen, s, "a relative time is -N followed by s, m, h or d (e.g. -30m)");
        if (!*p)
            return fail(err, errlen, s, "a relative time needs a unit: s, m, h or d (e.g. -30m)");
        char u = (char)(*p | 0x20);
        long long mult = u == 's' ? 1 : u == 'm' ? 60 : u == 'h' ? 3600 : u == 'd' ? 86400 : 0;
        if (!mult || p[1])
            return fail(err, errlen, s, "unknown unit (s, m, h or d)");
        if (v > MAX_AGO_S / mult)
            return fail(err, errlen, s, "more than 100 years ago");
        *out_us = now_us - (int64_t)(v * mult) * 1000000;
        return 0;
    }

    const char *q = p;
    if (digits(&q, 4, 4, &v) && *q == '-') {
        long long y = v, mo, d;
        q++;
        if (!digits(&q, 1, 2, &mo) || *q++ != '-' || !digits(&q, 1, 2, &d))
            return fail(err, errlen, s, "expected a date YYYY-MM-DD");
        char what[64];
        if (y < 1970) {
            snprintf(what, sizeof what, "year %lld is before 1970", y);
            return fail(err, errlen, s, what);
        }
        if (mo < 1 || mo > 12) {
            snprintf(what, sizeof what, "month %lld out of range 1-12", mo);
            return fail(err, errlen, s, what);
        }
        if (d < 1 || d > days_in_month(y, mo)) {
            snprintf(what, sizeof what, "day %lld out of range: %04lld-%02lld has %d days", d, y, mo,
                     days_in_month(y, mo));
            return fail(err, errlen, s, what);
        }
        struct tm tm = { .tm_year = (int)(y - 1900), .tm_mon = (int)(mo - 1), .tm_mday = (int)d };
        if (*q) {
            if (*q != 'T' && *q != 't' && *q != ' ')
                return fail(err, errlen, s, "expected T or a space between the date and the time");
            if (parse_clock(s, q + 1, &tm, err, errlen) < 0)
                return -1;
        }
        return to_us(&tm, s, out_us, err, errlen);
    }
    if (*p >= '0' && *p <= '9' && strchr(p, ':')) {
        time_t now = (time_t)(now_us / 1000000);
        struct tm tm;
        localtime_r(&now, &tm);
        if (parse_clock(s, p, &tm, err, errlen) < 0)
            return -1;
        return to_us(&tm, s, out_us, err, errlen);
    }
    return fail(err, errlen, s, "not a time (use " TIMESPEC_FORMS ")");
}
