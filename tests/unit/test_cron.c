#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "core/cron.h"

/* UTC epoch of a calendar date (timegm is in glibc with _GNU_SOURCE). */
static time_t at(int y, int mo, int d, int h, int mi)
{
    struct tm tm = { 0 };
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return timegm(&tm);
}

static struct cron P(const char *s)
{
    struct cron c;
    char err[128];
    int rc = cron_parse_str(s, &c, err, sizeof err);
    if (rc != 0)
        fail_msg("cron \"%s\" rejected: %s", s, err);
    return c;
}

static void parse_fields(void **state)
{
    (void)state;
    struct cron c = P("* * * * *");
    assert_true(c.minute == ((((uint64_t)1) << 60) - 1));
    assert_int_equal(c.hour, (1u << 24) - 1);
    assert_int_equal(c.dom, ((1u << 31) - 1) << 1);
    assert_int_equal(c.month, ((1u << 12) - 1) << 1);
    assert_int_equal(c.dow, 0x7F);

    c = P("5 7-9 1,15 1-8 1,4-5"); /* doc example shape, month 1-8 is valid */
    assert_true(c.minute == ((uint64_t)1 << 5));
    assert_int_equal(c.hour, (1u << 7) | (1u << 8) | (1u << 9));
    assert_int_equal(c.dom, (1u << 1) | (1u << 15));
    assert_int_equal(c.month, 0x1FE);
    assert_int_equal(c.dow, (1u << 1) | (1u << 4) | (1u << 5));

    c = P("*/15 0-23/6 */10 2-12/5 */3");
    assert_true(c.minute == (((uint64_t)1 << 0) | ((uint64_t)1 << 15) | ((uint64_t)1 << 30) | ((uint64_t)1 << 45)));
    assert_int_equal(c.hour, (1u << 0) | (1u << 6) | (1u << 12) | (1u << 18));
    assert_int_equal(c.dom, (1u << 1) | (1u << 11) | (1u << 21) | (1u << 31));
    assert_int_equal(c.month, (1u << 2) | (1u << 7) | (1u << 12));
    assert_int_equal(c.dow, (1u << 0) | (1u << 3) | (1u << 6));

    c = P("0,30,59  23   31 12 0"); /* runs of spaces separate fields */
    assert_true(c.minute == (((uint64_t)1) | ((uint64_t)1 << 30) | ((uint64_t)1 << 59)));
    assert_int_equal(c.dow, 1);
    c = P("1-1/1,3-5 * * * 6");
    assert_true(c.minute == (((uint64_t)1 << 1) | ((uint64_t)7 << 3)));
    assert_int_equal(c.dow, 1u << 6);
    c = P("07 08 09 01 00"); /* two-digit numbers with a leading zero */
    assert_true(c.minute == ((uint64_t)1 << 7));
}

static void parse_invalid(void **state)
{
    (void)state;
    static const char *bad[] = {
        "", " ", "* * * *", "* * * * * *", " * * * * *", "* * * * * ", "60 * * * *", "* 24 * * *",
        "* * 0 * *", "* * 32 * *", "* * * 0 *", "* * * 13 *", "* * * * 7", "5-3 * * * *", "*/0 * * * *",
        "5/2 * * * *", "*/61 * * * *", "a * * * *", "1, * * * *", ",1 * * * *", "1,,2 * * * *", "1- * * * *",
        "-1 * * * *", "100 * * * *", "1-2-3 * * * *", "** * * * *", "*/ * * * *", "* * * * mon",
        "*\t* * * *", "1/ * * * *", "*/2/3 * * * *", "* * * jan *",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct cron c;
        char err[128] = "";
        if (cron_parse_str(bad[i], &c, err, sizeof err) == 0)
            fail_msg("accepted invalid cron \"%s\"", bad[i]);
        assert_true(err[0] != '\0');
    }
    char err[128];
    assert_int_equal(cron_parse_str("* 24 * * *", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "hour"));
    assert_int_equal(cron_parse(NULL, 0, NULL, NULL, 0), -1);
    /* length-bounded: only the first len chars count */
    assert_int_equal(cron_parse("* * * * *garbage", 9, NULL, NULL, 0), 0);
}

static void match_and_semantics(void **state)
{
    (void)state;
    /* 2015-07-09 04:42 (a Thursday, wday 4). */
    struct cron c = P("* 7-19 * 1-8 1,4-5");
    assert_false(cron_match(&c, at(2015, 7, 9, 4, 42), 0));  /* hour 4 outside 7-19 */
    assert_true(cron_match(&c, at(2015, 7, 9, 7, 0), 0));
    assert_true(cron_match(&c, at(2015, 7, 9, 19, 59), 0));
    assert_false(cron_match(&c, at(2015, 7, 9, 20, 0), 0));
    assert_false(cron_match(&c, at(2015, 9, 10, 8, 0), 0));  /* September: month not in 1-8 */
    assert_false(cron_match(&c, at(2015, 7, 8, 8, 0), 0));   /* Wednesday */
    /* AND, not Vixie OR: dom 1 and dow Monday both required. 2015-06-01 is a Monday, 2015-07-01 a Wednesday. */
    struct cron a = P("* * 1 * 1");
    assert_true(cron_match(&a, at(2015, 6, 1, 12, 0), 0));
    assert_false(cron_match(&a, at(2015, 7, 1, 12, 0), 0));  /* dom matches, dow does not */
    assert_false(cron_match(&a, at(2015, 6, 8, 12, 0), 0));  /* dow matches, dom does not */
    /* Sunday = 0 */
    struct cron s = P("* * * * 0");
    assert_true(cron_match(&s, at(2015, 7, 12, 0, 0), 0));
    assert_false(cron_match(&s, at(2015, 7, 11, 23, 59), 0));
    /* Time zone: local = UTC + tz. 03:42 UTC at +0100 is 04:42 local. */
    struct cron h4 = P("42 4 * * *");
    assert_true(cron_match(&h4, 1436413339, 60));
    assert_false(cron_match(&h4, 1436413339, 0));
    assert_true(cron_match(&h4, 1436413339 - 3600 + 3600, 60));
    /* Steps and lists */
    struct cron q = P("*/15 * * * *");
    assert_true(cron_match(&q, at(2020, 1, 1, 0, 45), 0));
    assert_false(cron_match(&q, at(2020, 1, 1, 0, 46), 0));
    struct tm tm = { .tm_min = 30, .tm_hour = 10, .tm_mday = 21, .tm_mon = 10, .tm_wday = 6 };
    struct cron w = P("30-34 14 21 11 *");
    assert_false(cron_match_tm(&w, &tm));
    tm.tm_hour = 14;
    assert_true(cron_match_tm(&w, &tm));
    tm.tm_min = 35;
    assert_false(cron_match_tm(&w, &tm));
    tm.tm_min = 99; /* out-of-range tm never matches, never crashes */
    assert_false(cron_match_tm(&w, &tm));
}

static void next_change(void **state)
{
    (void)state;
    struct cron w = P("30-34 14 21 11 *");
    time_t t = at(2026, 11, 21, 14, 31) + 17;
    assert_true(cron_match(&w, t, 0));
    assert_int_equal(cron_next_change(&w, t, 0, 86400), at(2026, 11, 21, 14, 35));
    /* from before the window: change is the window start */
    assert_int_equal(cron_next_change(&w, at(2026, 11, 20, 9, 0), 0, 7 * 86400), at(2026, 11, 21, 14, 30));
    /* limit too short */
    assert_int_equal(cron_next_change(&w, at(2026, 11, 20, 9, 0), 0, 3600), -1);
    /* with a time zone: the window is in local time */
    assert_int_equal(cron_next_change(&w, at(2026, 11, 21, 13, 31), 60, 86400), at(2026, 11, 21, 13, 35));
    /* always-matching cron never changes */
    struct cron all = P("* * * * *");
    assert_int_equal(cron_next_change(&all, at(2026, 1, 1, 0, 0), 0, 400 * 86400), -1);
    /* working hours: from Friday 18:59 the change is at 19:00, then Monday 07:00 */
    struct cron wh = P("* 7-18 * * 1-5");
    time_t fri = at(2026, 11, 20, 18, 59);
    assert_int_equal(cron_next_change(&wh, fri, 0, 86400), at(2026, 11, 20, 19, 0));
    assert_int_equal(cron_next_change(&wh, at(2026, 11, 20, 19, 0), 0, 7 * 86400), at(2026, 11, 23, 7, 0));
    /* a day boundary flip: all hours on the 21st only */
    struct cron d = P("* * 21 * *");
    assert_int_equal(cron_next_change(&d, at(2026, 11, 21, 5, 0), 0, 7 * 86400), at(2026, 11, 22, 0, 0));
    assert_int_equal(cron_next_change(&d, at(2026, 11, 22, 0, 0), 0, 40 * 86400), at(2026, 12, 21, 0, 0));
}

static void window_crons(void **state)
{
    (void)state;
    char buf[64];
    time_t end;
    /* §5.14 example: 14:30 for 5 minutes on 21 Nov */
    assert_int_equal(cron_window(buf, sizeof buf, at(2026, 11, 21, 14, 30) + 20, 5, 0, &end), 16);
    assert_string_equal(buf, "30-34 14 21 11 *");
    assert_int_equal(end, at(2026, 11, 21, 14, 35));
    /* a start of year 0 is where the case before ended; an end of year 0 is not checked */
    static const struct {
        int from[5];
        unsigned minutes;
        int tz_minutes;
        const char *cron;
        int end[5];
    } cases[] = {
        /* local time +0100: 13:30 UTC is 14:30 local */
        { { 2026, 11, 21, 13, 30 }, 5, 60, "30-34 14 21 11 *", { 2026, 11, 21, 13, 35 } },
        /* one minute */
        { { 2026, 11, 21, 14, 30 }, 1, 0, "30 14 21 11 *", { 0 } },
        /* crossing the hour: only the part up to :59 (fail-safe); the rest is re-armed */
        { { 2026, 11, 21, 14, 50 }, 20, 0, "50-59 14 21 11 *", { 2026, 11, 21, 15, 0 } },
        { { 0 }, 10, 0, "0-9 15 21 11 *", { 2026, 11, 21, 15, 10 } },
        /* whole hours from an hour start */
        { { 2026, 11, 21, 14, 0 }, 150, 0, "* 14-15 21 11 *", { 2026, 11, 21, 16, 0 } },
        { { 2026, 11, 21, 14, 0 }, 60, 0, "* 14 21 11 *", { 0 } },
        /* crossing midnight (and the year): 23:55 for 10 minutes on 31 Dec */
        { { 2026, 12, 31, 23, 55 }, 10, 0, "55-59 23 31 12 *", { 2027, 1, 1, 0, 0 } },
        { { 0 }, 5, 0, "0-4 0 1 1 *", { 0 } },
        /* whole hours stop at midnight */
        { { 2026, 11, 21, 22, 0 }, 240, 0, "* 22-23 21 11 *", { 2026, 11, 22, 0, 0 } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int *t = cases[i].from, *e = cases[i].end;
        time_t from = t[0] ? at(t[0], t[1], t[2], t[3], t[4]) : end;
        cron_window(buf, sizeof buf, from, cases[i].minutes, cases[i].tz_minutes, &end);
        assert_string_equal(buf, cases[i].cron);
        if (e[0])
            assert_int_equal(end, at(e[0], e[1], e[2], e[3], e[4]));
    }
    /* every produced window matches exactly its segment and nothing else around it */
    for (unsigned startmin = 0; startmin < 24 * 60; startmin += 7) {
        time_t s = at(2026, 3, 8, 0, 0) + (time_t)startmin * 60;
        int len = cron_window(buf, sizeof buf, s, 95, 0, &end);
        assert_true(len > 0);
        struct cron c = P(buf);
        assert_true(end > s && end <= s + 95 * 60);
        for (time_t t = s - 7200; t < s + 7200 + 95 * 60; t += 60)
            assert_int_equal(cron_match(&c, t, 0), t >= s && t < end);
    }
    /* bad input */
    assert_int_equal(cron_window(buf, sizeof buf, at(2026, 1, 1, 0, 0), 0, 0, &end), -1);
    assert_int_equal(cron_window(buf, 4, at(2026, 1, 1, 0, 30), 5, 0, &end), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_fields),  cmocka_unit_test(parse_invalid), cmocka_unit_test(match_and_semantics),
        cmocka_unit_test(next_change),   cmocka_unit_test(window_crons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
