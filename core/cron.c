#include "core/cron.h"

#include <stdio.h>
#include <string.h>

struct field_def {
    const char *name;
    int lo, hi;
};

static const struct field_def defs[5] = {
    { "minute", 0, 59 }, { "hour", 0, 23 }, { "day of month", 1, 31 }, { "month", 1, 12 }, { "day of week", 0, 6 },
};

static void set_err(char *err, size_t errsz, int idx, const char *msg, const char *f, size_t flen)
{
    if (!err || !errsz)
        return;
    if (idx < 0)
        snprintf(err, errsz, "%s", msg);
    else
        snprintf(err, errsz, "field %d (%s) \"%.*s\": %s", idx + 1, defs[idx].name, (int)(flen > 40 ? 40 : flen),
                 f, msg);
}

/* Parse 1-2 decimal digits at *p (< end). */
static bool num(const char **p, const char *end, int *v)
{
    const char *q = *p;
    int n = 0, d = 0;
    while (q < end && *q >= '0' && *q <= '9') {
        if (++d > 2)
            return false;
        n = n * 10 + (*q - '0');
        q++;
    }
    if (d == 0)
        return false;
    *p = q;
    *v = n;
    return true;
}

/* One field: comma list of items. Returns NULL on success or an error text. */
static const char *parse_field(const char *f, size_t flen, const struct field_def *d, uint64_t *bits)
{
    const char *p = f, *end = f + flen;
    uint64_t b = 0;
    if (flen == 0)
        return "empty";
    for (;;) {
        int a, z, step = 1;
        bool single = false;
        if (p < end && *p == '*') {
            a = d->lo;
            z = d->hi;
            p++;
        } else {
            if (!num(&p, end, &a))
                return "expected a number or *";
            z = a;
            single = true;
            if (p < end && *p == '-') {
                p++;
                single = false;
                if (!num(&p, end, &z))
                    return "expected a number after -";
            }
            if (a < d->lo || a > d->hi || z < d->lo || z > d->hi)
                return "value out of range";
            if (a > z)
                return "range start after its end";
        }
        if (p < end && *p == '/') {
            p++;
            if (single)
                return "a step needs * or a range";
            if (!num(&p, end, &step) || step < 1)
                return "bad step";
            if (step > d->hi - d->lo + 1)
                return "step larger than the field's range";
        }
        for (int v = a; v <= z; v += step)
            b |= (uint64_t)1 << v;
        if (p == end)
            break;
        if (*p != ',')
            return "unexpected character";
        p++;
        if (p == end)
            return "trailing comma";
    }
    *bits = b;
    return NULL;
}

int cron_parse(const char *s, size_t len, struct cron *out, char *err, size_t errsz)
{
    if (!s) {
        set_err(err, errsz, -1, "no cron expression", NULL, 0);
        return -1;
    }
    if (len > CRON_TEXT_MAX) {
        set_err(err, errsz, -1, "cron expression too long", NULL, 0);
        return -1;
    }
    uint64_t bits[5];
    size_t i = 0;
    if (len > 0 && s[0] == ' ') {
        set_err(err, errsz, -1, "leading space", NULL, 0);
        return -1;
    }
    for (int k = 0; k < 5; k++) {
        size_t st = i;
        while (i < len && s[i] != ' ')
            i++;
        if (i == st) {
            set_err(err, errsz, -1, k == 0 ? "empty cron expression" : "fewer than 5 fields", NULL, 0);
            return -1;
        }
        const char *e = parse_field(s + st, i - st, &defs[k], &bits[k]);
        if (e) {
            set_err(err, errsz, k, e, s + st, i - st);
            return -1;
        }
        if (k < 4) {
            while (i < len && s[i] == ' ')
                i++;
        }
    }
    if (i != len) {
        set_err(err, errsz, -1, s[i] == ' ' ? "trailing space" : "more than 5 fields", NULL, 0);
        return -1;
    }
    if (out) {
        out->minute = bits[0];
        out->hour = (uint32_t)bits[1];
        out->dom = (uint32_t)bits[2];
        out->month = (uint16_t)bits[3];
        out->dow = (uint8_t)bits[4];
    }
    return 0;
}

int cron_parse_str(const char *s, struct cron *out, char *err, size_t errsz)
{
    return cron_parse(s, s ? strlen(s) : 0, out, err, errsz);
}

static bool day_match(const struct cron *c, const struct tm *tm)
{
    return tm->tm_mday >= 1 && tm->tm_mday <= 31 && tm->tm_mon >= 0 && tm->tm_mon <= 11 && tm->tm_wday >= 0 &&
           tm->tm_wday <= 6 && (c->dom >> tm->tm_mday & 1u) && (c->month >> (tm->tm_mon + 1) & 1u) &&
           (c->dow >> tm->tm_wday & 1u);
}

bool cron_match_tm(const struct cron *c, const struct tm *tm)
{
    if (!c || !tm || tm->tm_min < 0 || tm->tm_min > 59 || tm->tm_hour < 0 || tm->tm_hour > 23)
        return false;
    return (c->minute >> tm->tm_min & 1u) && (c->hour >> tm->tm_hour & 1u) && day_match(c, tm);
}

static bool local_tm(time_t t, int tz_minutes, struct tm *tm)
{
    time_t l = t + (time_t)tz_minutes * 60;
    return gmtime_r(&l, tm) != NULL;
}

bool cron_match(const struct cron *c, time_t t, int tz_minutes)
{
    struct tm tm;
    return local_tm(t, tz_minutes, &tm) && cron_match_tm(c, &tm);
}

#define ALL_MINUTES ((((uint64_t)1) << 60) - 1)
#define ALL_HOURS ((((uint32_t)1) << 24) - 1)

time_t cron_next_change(const struct cron *c, time_t t, int tz_minutes, time_t limit)
{
    if (!c || limit <= 0)
        return -1;
    const bool state = cron_match(c, t, tz_minutes);
    const time_t off = (time_t)tz_minutes * 60;
    /* Work on local epoch minutes. */
    time_t lt = t + off;
    time_t m = lt / 60 - (lt % 60 < 0 ? 1 : 0) + 1; /* first minute boundary after t */
    const time_t stop = lt + limit;
    while (m * 60 <= stop) {
        time_t secs = m * 60;
        struct tm tm;
        if (!gmtime_r(&secs, &tm))
            return -1;
        bool dm = day_match(c, &tm);
        bool uniform_true = dm && c->minute == ALL_MINUTES && c->hour == ALL_HOURS;
        bool uniform_false = !dm;
        int mod = tm.tm_hour * 60 + tm.tm_min;
        if ((uniform_true && state) || (uniform_false && !state)) {
            m += 1440 - mod; /* whole rest of the day has our state */
            continue;
        }
        if (uniform_true || uniform_false)
            return secs - off; /* the state flips right here */
        for (; mod < 1440; mod++, m++) {
            if (m * 60 > stop)
                return -1;
            bool v = (c->hour >> (mod / 60) & 1u) && (c->minute >> (mod % 60) & 1u);
            if (v != state)
                return m * 60 - off;
        }
    }
    return -1;
}

int cron_window(char *buf, size_t cap, time_t start, unsigned minutes, int tz_minutes, time_t *seg_end)
{
    if (!buf || cap == 0 || minutes == 0)
        return -1;
    const time_t off = (time_t)tz_minutes * 60;
    time_t lt = start + off;
    lt -= ((lt % 60) + 60) % 60; /* round down to the minute */
    const time_t lend = lt + (time_t)minutes * 60;
    struct tm tm;
    if (!gmtime_r(&lt, &tm))
        return -1;
    time_t hour_start = lt - tm.tm_min * 60;
    time_t day_end = lt - (tm.tm_hour * 60 + tm.tm_min) * 60 + 86400;
    int n;
    time_t seg;
    if (tm.tm_min == 0 && lend >= hour_start + 3600) {
        /* Whole hours from here, up to the end of the window or of the day. */
        time_t e = lend < day_end ? lend : day_end;
        int hours = (int)((e - lt) / 3600);
        seg = lt + (time_t)hours * 3600;
        if (hours == 1)
            n = snprintf(buf, cap, "* %d %d %d *", tm.tm_hour, tm.tm_mday, tm.tm_mon + 1);
        else
            n = snprintf(buf, cap, "* %d-%d %d %d *", tm.tm_hour, tm.tm_hour + hours - 1, tm.tm_mday,
                         tm.tm_mon + 1);
    } else {
        time_t e = lend < hour_start + 3600 ? lend : hour_start + 3600;
        int last = tm.tm_min + (int)((e - lt) / 60) - 1;
        seg = e;
        if (last == tm.tm_min)
            n = snprintf(buf, cap, "%d %d %d %d *", tm.tm_min, tm.tm_hour, tm.tm_mday, tm.tm_mon + 1);
        else
            n = snprintf(buf, cap, "%d-%d %d %d %d *", tm.tm_min, last, tm.tm_hour, tm.tm_mday, tm.tm_mon + 1);
    }
    if (n < 0 || (size_t)n >= cap)
        return -1;
    if (seg_end)
        *seg_end = seg - off;
    return n;
}
