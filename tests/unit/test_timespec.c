#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "core/timespec.h"

/* A fixed clock and zone: Central European time with its DST rule (no tz database needed). The clock is
 * Sunday 2026-03-29 14:30:15 CEST, the day the clocks went from 02:00 CET to 03:00 CEST (a 23-hour day). */
#define ZONE "CET-1CEST,M3.5.0,M10.5.0/3"

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s };
    return (int64_t)timegm(&tm) * 1000000;
}

static int64_t NOW;

static int setup(void **state)
{
    (void)state;
    setenv("TZ", ZONE, 1);
    tzset();
    NOW = utc(2026, 3, 29, 12, 30, 15) + 250000; /* sub-second part kept by "now" and relative times */
    return 0;
}

static int64_t P(const char *s)
{
    int64_t v = 0;
    char err[200];
    if (timespec_parse(s, NOW, &v, err, sizeof err) != 0)
        fail_msg("\"%s\" rejected: %s", s, err);
    return v;
}

/* Rejected, with a message containing want. */
static void BAD(const char *s, const char *want)
{
    int64_t v = 12345;
    char err[200] = "";
    if (timespec_parse(s, NOW, &v, err, sizeof err) == 0)
        fail_msg("\"%s\" accepted", s);
    assert_int_equal(v, 12345);
    if (!strstr(err, want))
        fail_msg("\"%s\": message \"%s\" lacks \"%s\"", s, err, want);
}

static void keywords(void **state)
{
    (void)state;
    assert_true(P("now") == NOW);
    assert_true(P("NOW") == NOW);
    assert_true(P("today") == utc(2026, 3, 28, 23, 0, 0)); /* midnight CET */
    assert_true(P("Today") == utc(2026, 3, 28, 23, 0, 0));
    assert_true(P("yesterday") == utc(2026, 3, 27, 23, 0, 0));
    assert_true(P("  yesterday ") == utc(2026, 3, 27, 23, 0, 0));
}

static void clock_times_today(void **state)
{
    (void)state;
    assert_true(P("14:00") == utc(2026, 3, 29, 12, 0, 0));    /* CEST, after the change */
    assert_true(P("01:30") == utc(2026, 3, 29, 0, 30, 0));    /* CET, before it */
    assert_true(P("9:05") == utc(2026, 3, 29, 7, 5, 0));
    assert_true(P("14:00:30") == utc(2026, 3, 29, 12, 0, 30));
    assert_true(P("23:59:59") == utc(2026, 3, 29, 21, 59, 59));
    assert_true(P("00:00") == P("today"));
}

static void dates(void **state)
{
    (void)state;
    assert_true(P("2026-01-15") == utc(2026, 1, 14, 23, 0, 0));
    assert_true(P("2026-07-01T08:15") == utc(2026, 7, 1, 6, 15, 0));
    assert_true(P("2026-07-01 08:15:09") == utc(2026, 7, 1, 6, 15, 9));
    assert_true(P("2026-07-01t08:15") == utc(2026, 7, 1, 6, 15, 0));
    assert_true(P("2026-7-1") == utc(2026, 6, 30, 22, 0, 0));
    assert_true(P("2024-02-29") == utc(2024, 2, 28, 23, 0, 0));
    assert_true(P("2000-02-29 12:00") == utc(2000, 2, 29, 11, 0, 0));
    assert_true(P("2026-10-25 12:00") == utc(2026, 10, 25, 11, 0, 0)); /* back to CET that morning */
}

static void epoch_and_relative(void **state)
{
    (void)state;
    assert_true(P("@1700000000") == (int64_t)1700000000 * 1000000);
    assert_true(P("@0") == 0);
    assert_true(P("-30s") == NOW - 30 * 1000000LL);
    assert_true(P("-5m") == NOW - 300 * 1000000LL);
    assert_true(P("-2h") == NOW - 7200 * 1000000LL);
    assert_true(P("-3d") == NOW - 3 * 86400 * 1000000LL);
    assert_true(P("-0s") == NOW);
    assert_true(P("-5M") == NOW - 300 * 1000000LL);
    assert_true(P("-36500d") == NOW - 36500LL * 86400 * 1000000LL);
}

static void rejected_with_a_reason(void **state)
{
    (void)state;
    BAD("", "empty time");
    BAD("   ", "empty time");
    BAD(NULL, "empty time");
    BAD("-5", "needs a unit");
    BAD("-5x", "unknown unit");
    BAD("-5mm", "unknown unit");
    BAD("-m", "-N followed by");
    BAD("-36501d", "more than 100 years");
    BAD("-99999999999d", "more than 100 years");
    BAD("25:00", "hour 25 out of range 0-23");
    BAD("24:00", "hour 24 out of range");
    BAD("12:60", "minute 60 out of range 0-59");
    BAD("12:00:60", "second 60 out of range 0-59");
    BAD("12:5", "expected HH:MM");
    BAD("12:05:7", "expected HH:MM:SS");
    BAD("12:05x", "unexpected text");
    BAD("2025-02-29", "2025-02 has 28 days");
    BAD("2026-04-31", "2026-04 has 30 days");
    BAD("2026-13-01", "month 13 out of range 1-12");
    BAD("2026-00-10", "month 0 out of range");
    BAD("2026-01-00", "day 0 out of range");
    BAD("1969-12-31", "before 1970");
    BAD("2026-07-01X08:00", "expected T or a space");
    BAD("2026-07-01T", "expected HH:MM");
    BAD("2026-07-01T25:00", "hour 25");
    BAD("2026/07/01", "not a time");
    BAD("2026-07", "expected a date");
    BAD("@", "@ takes the seconds");
    BAD("@12a", "@ takes the seconds");
    BAD("@-5", "@ takes the seconds");
    BAD("@999999999999", "after the year 9999");
    BAD("yesterdayx", "not a time");
    BAD("12", "not a time");
    BAD("tomorrow", "not a time");
    BAD("\xc3\xa9t\xc3\xa9", "not a time");
    char longs[300];
    memset(longs, '1', sizeof longs - 1);
    longs[sizeof longs - 1] = '\0';
    BAD(longs, "too long");
}

/* The message names the forms when nothing matched, and never overflows a small buffer. */
static void messages(void **state)
{
    (void)state;
    char err[200];
    int64_t v;
    assert_int_equal(timespec_parse("soon", NOW, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "'soon': not a time (use HH:MM"));
    assert_non_null(strstr(err, "yesterday"));
    char tiny[8];
    assert_int_equal(timespec_parse("soon", NOW, &v, tiny, sizeof tiny), -1);
    assert_int_equal(strlen(tiny), 7);
    assert_int_equal(timespec_parse("soon", NOW, &v, NULL, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keywords),
        cmocka_unit_test(clock_times_today),
        cmocka_unit_test(dates),
        cmocka_unit_test(epoch_and_relative),
        cmocka_unit_test(rejected_with_a_reason),
        cmocka_unit_test(messages),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
