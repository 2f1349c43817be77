#include "drivers/c3/c3_time.h"

#include <stdio.h>
#include <string.h>

#include "drivers/c3/c3_frame.h"

#define SECS_DAY 86400u
#define SECS_MONTH (31u * SECS_DAY)
#define SECS_YEAR (12u * SECS_MONTH)

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

void c3_time_unpack(uint32_t v, struct c3_time *t)
{
    t->second = (int)(v % 60u);
    t->minute = (int)(v / 60u % 60u);
    t->hour = (int)(v / 3600u % 24u);
    t->day = (int)(v / SECS_DAY % 31u) + 1;
    t->month = (int)(v / SECS_MONTH % 12u) + 1;
    t->year = (int)(v / SECS_YEAR) + 2000;
}

static uint64_t pack64(const struct c3_time *t)
{
    return ((uint64_t)(t->year - 2000) * 372u + (uint64_t)(t->month - 1) * 31u + (uint64_t)(t->day - 1)) *
               SECS_DAY +
           (uint64_t)t->hour * 3600u + (uint64_t)t->minute * 60u + (uint64_t)t->second;
}

bool c3_time_valid(const struct c3_time *t)
{
    if (t->year < C3_TIME_YEAR_MIN || t->year > C3_TIME_YEAR_MAX || t->month < 1 || t->month > 12)
        return false;
    if (t->day < 1 || t->day > month_days(t->year, t->month))
        return false;
    if (t->hour < 0 || t->hour > 23 || t->minute < 0 || t->minute > 59 || t->second < 0 || t->second > 59)
        return false;
    return pack64(t) <= UINT32_MAX;
}

int c3_time_pack(const struct c3_time *t, uint32_t *v)
{
    if (!c3_time_valid(t))
        return C3_E_RANGE;
    *v = (uint32_t)pack64(t);
    return 0;
}

/* Days since 1970-01-01 of a Gregorian date (Howard Hinnant's days_from_civil). */
static long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int c3_time_to_tm(uint32_t v, struct tm *tm)
{
    struct c3_time t;
    c3_time_unpack(v, &t);
    if (!c3_time_valid(&t))
        return C3_E_RANGE;
    memset(tm, 0, sizeof *tm);
    tm->tm_year = t.year - 1900;
    tm->tm_mon = t.month - 1;
    tm->tm_mday = t.day;
    tm->tm_hour = t.hour;
    tm->tm_min = t.minute;
    tm->tm_sec = t.second;
    tm->tm_isdst = -1;
    long days = days_from_civil(t.year, t.month, t.day);
    tm->tm_wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    tm->tm_yday = (int)(days - days_from_civil(t.year, 1, 1));
    return 0;
}

int c3_time_from_tm(const struct tm *tm, uint32_t *v)
{
    if (tm->tm_year > C3_TIME_YEAR_MAX - 1900 || tm->tm_year < C3_TIME_YEAR_MIN - 1900)
        return C3_E_RANGE;
    struct c3_time t = { tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min,
                         tm->tm_sec == 60 ? 59 : tm->tm_sec }; /* a leap second becomes :59 */
    return c3_time_pack(&t, v);
}

size_t c3_time_format(uint32_t v, char sep, char *buf, size_t cap)
{
    struct c3_time t;
    c3_time_unpack(v, &t);
    int n = snprintf(buf, cap, "%04d-%02d-%02d%c%02d:%02d:%02d", t.year, t.month, t.day, sep, t.hour, t.minute,
                     t.second);
    return n < 0 ? 0 : (size_t)n;
}

static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

int c3_time_parse(const char *s, size_t len, uint32_t *v)
{
    if (len != 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':')
        return C3_E_SYNTAX;
    struct c3_time t;
    if (!digits(s, 4, &t.year) || !digits(s + 5, 2, &t.month) || !digits(s + 8, 2, &t.day) ||
        !digits(s + 11, 2, &t.hour) || !digits(s + 14, 2, &t.minute) || !digits(s + 17, 2, &t.second))
        return C3_E_SYNTAX;
    return c3_time_pack(&t, v);
}

int c3_time_from_time_t(time_t when, uint32_t *v)
{
    struct tm tm;
    if (!localtime_r(&when, &tm))
        return C3_E_RANGE;
    return c3_time_from_tm(&tm, v);
}

uint32_t c3_time_dst_pack(int month, int day, int hour, int minute)
{
    return ((uint32_t)(month & 0xFF) << 24) | ((uint32_t)(day & 0xFF) << 16) | ((uint32_t)(hour & 0xFF) << 8) |
           (uint32_t)(minute & 0xFF);
}

void c3_time_dst_unpack(uint32_t w, int *month, int *day, int *hour, int *minute)
{
    *month = (int)(w >> 24);
    *day = (int)(w >> 16 & 0xFFu);
    *hour = (int)(w >> 8 & 0xFFu);
    *minute = (int)(w & 0xFFu);
}
