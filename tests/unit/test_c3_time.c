#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_time.h"

static void expect_time(uint32_t v, const char *iso)
{
    char buf[C3_TIME_ISO_LEN];
    assert_int_equal(c3_time_format(v, 'T', buf, sizeof buf), 19);
    assert_string_equal(buf, iso);
    uint32_t back;
    assert_int_equal(c3_time_parse(iso, strlen(iso), &back), 0);
    assert_int_equal(back, v);
}

static void spec_examples(void **state)
{
    (void)state;
    expect_time(347748895u, "2010-10-26T20:54:55");
    expect_time(0x21AE8F32u, "2017-07-31T08:54:10");
    expect_time(754732325u, "2023-06-25T07:52:05");
    expect_time(812649252u, "2025-04-13T15:54:12"); /* the DateTime set vector in spec §1 */
    expect_time(0u, "2000-01-01T00:00:00");

    struct c3_time t;
    c3_time_unpack(754732325u, &t);
    assert_int_equal(t.year, 2023);
    assert_int_equal(t.month, 6);
    assert_int_equal(t.day, 25);
    assert_int_equal(t.hour, 7);
    assert_int_equal(t.minute, 52);
    assert_int_equal(t.second, 5);
    uint32_t v;
    assert_int_equal(c3_time_pack(&t, &v), 0);
    assert_int_equal(v, 754732325u);
}

static void validation(void **state)
{
    (void)state;
    uint32_t v;
    struct c3_time feb29 = { 2024, 2, 29, 12, 0, 0 }, feb29x = { 2023, 2, 29, 12, 0, 0 };
    assert_true(c3_time_valid(&feb29));
    assert_false(c3_time_valid(&feb29x));
    assert_int_equal(c3_time_pack(&feb29x, &v), C3_E_RANGE);
    struct c3_time bad[] = {
        { 1999, 12, 31, 23, 59, 59 }, { 2020, 0, 1, 0, 0, 0 }, { 2020, 13, 1, 0, 0, 0 }, { 2020, 4, 31, 0, 0, 0 },
        { 2020, 1, 0, 0, 0, 0 }, { 2020, 1, 1, 24, 0, 0 }, { 2020, 1, 1, 0, 60, 0 }, { 2020, 1, 1, 0, 0, 60 },
        { 2020, 1, 1, -1, 0, 0 }, { 2133, 12, 31, 23, 59, 59 }, /* beyond 32 bits */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(c3_time_valid(&bad[i]));
        assert_int_equal(c3_time_pack(&bad[i], &v), C3_E_RANGE);
    }
    /* The largest 32-bit value is a real date in 2133. */
    struct c3_time t;
    c3_time_unpack(UINT32_MAX, &t);
    assert_int_equal(t.year, 2133);
    assert_true(c3_time_valid(&t));
    assert_int_equal(c3_time_pack(&t, &v), 0);
    assert_int_equal(v, UINT32_MAX);
    /* Day 31 of February is representable on the wire but is not a date: to_tm refuses, format shows it. */
    struct c3_time f31 = { 2023, 2, 31, 0, 0, 0 };
    uint32_t raw = ((23u * 372u + 31u + 30u) * 86400u);
    c3_time_unpack(raw, &t);
    assert_memory_equal(&t, &f31, sizeof t);
    struct tm tm;
    assert_int_equal(c3_time_to_tm(raw, &tm), C3_E_RANGE);
    char buf[C3_TIME_ISO_LEN];
    c3_time_format(raw, ' ', buf, sizeof buf);
    assert_string_equal(buf, "2023-02-31 00:00:00");
    /* Every field stays in range for arbitrary values. */
    for (uint64_t x = 0; x <= UINT32_MAX; x += 104729u * 97u) {
        c3_time_unpack((uint32_t)x, &t);
        assert_true(t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= 31 && t.hour < 24);
        if (c3_time_valid(&t)) {
            assert_int_equal(c3_time_pack(&t, &v), 0);
            assert_int_equal(v, (uint32_t)x);
        }
    }
}

static void iso_parsing(void **state)
{
    (void)state;
    uint32_t v;
    const char *ok = "2023-12-06 22:57:54";
    assert_int_equal(c3_time_parse(ok, strlen(ok), &v), 0);
    char buf[C3_TIME_ISO_LEN];
    c3_time_format(v, ' ', buf, sizeof buf);
    assert_string_equal(buf, ok);
    const char *bad[] = { "2023-12-06", "2023-12-06X22:57:54", "2023-13-06T22:57:54", "2023-12-06T22:57:5a",
                          "2023/12/06T22:57:54", "2023-12-06T22:57:54Z", "+023-12-06T22:57:54", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_not_equal(c3_time_parse(bad[i], strlen(bad[i]), &v), 0);
    /* Small buffers are truncated but NUL-terminated, and the needed length is returned. */
    char small[8];
    assert_int_equal(c3_time_format(754732325u, 'T', small, sizeof small), 19);
    assert_string_equal(small, "2023-06");
}

static void struct_tm(void **state)
{
    (void)state;
    struct tm tm;
    assert_int_equal(c3_time_to_tm(754732325u, &tm), 0);
    assert_int_equal(tm.tm_year, 123);
    assert_int_equal(tm.tm_mon, 5);
    assert_int_equal(tm.tm_mday, 25);
    assert_int_equal(tm.tm_hour, 7);
    assert_int_equal(tm.tm_wday, 0); /* a Sunday */
    assert_int_equal(tm.tm_yday, 175);
    assert_int_equal(tm.tm_isdst, -1);
    uint32_t v;
    assert_int_equal(c3_time_from_tm(&tm, &v), 0);
    assert_int_equal(v, 754732325u);
    /* 2000-01-01 was a Saturday. */
    assert_int_equal(c3_time_to_tm(0, &tm), 0);
    assert_int_equal(tm.tm_wday, 6);
    tm.tm_year = 99;
    assert_int_equal(c3_time_from_tm(&tm, &v), C3_E_RANGE);
}

static void now_local(void **state)
{
    (void)state;
    uint32_t v;
    setenv("TZ", "UTC0", 1);
    tzset();
    assert_int_equal(c3_time_from_time_t((time_t)1687679525, &v), 0);
    assert_int_equal(v, 754732325u);
    assert_int_equal(c3_time_from_time_t((time_t)1744559652, &v), 0);
    assert_int_equal(v, 812649252u);
    /* Central European summer time: 05:52:05 UTC is 07:52:05 on the panel. */
    setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
    tzset();
    assert_int_equal(c3_time_from_time_t((time_t)1687672325, &v), 0);
    assert_int_equal(v, 754732325u);
    assert_int_equal(c3_time_from_time_t((time_t)0, &v), C3_E_RANGE); /* 1970 */
    setenv("TZ", "UTC0", 1);
    tzset();
}

static void dst_word(void **state)
{
    (void)state;
    uint32_t w = c3_time_dst_pack(3, 26, 2, 0);
    assert_int_equal(w, 0x031A0200u);
    int mo, d, h, mi;
    c3_time_dst_unpack(0x0A1D0300u, &mo, &d, &h, &mi);
    assert_int_equal(mo, 10);
    assert_int_equal(d, 29);
    assert_int_equal(h, 3);
    assert_int_equal(mi, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_examples), cmocka_unit_test(validation), cmocka_unit_test(iso_parsing),
        cmocka_unit_test(struct_tm),     cmocka_unit_test(now_local),  cmocka_unit_test(dst_word),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
