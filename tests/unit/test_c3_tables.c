#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "drivers/c3/c3_tables.h"

static void events(void **state)
{
    (void)state;
    char buf[C3_LABEL_LEN];
    assert_string_equal(c3_event_name(0), "normal punch open (card)");
    assert_string_equal(c3_event_name(8), "remote opening");
    assert_string_equal(c3_event_key(102), "forced_open");
    assert_string_equal(c3_event_label(27, buf, sizeof buf), "unregistered card");
    assert_string_equal(c3_event_label(77, buf, sizeof buf), "event 77");
    assert_string_equal(c3_event_label(38, buf, sizeof buf), "event 38");
    assert_string_equal(c3_event_label(999, buf, sizeof buf), "event 999");
    assert_null(c3_event_name(77));
    assert_null(c3_event_key(77));
    assert_false(c3_event_known(46));
    /* Every code of the spec table is known. */
    static const unsigned spec_codes[] = { 0,   1,   2,   3,   4,   5,   6,   7,   8,   9,   10,  11,  12,  13,
                                           14,  15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25,  26,  27,
                                           28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  41,  42,  43,  44,
                                           45,  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 220,
                                           221, 255 };
    for (size_t i = 0; i < sizeof spec_codes / sizeof spec_codes[0]; i++) {
        assert_true(c3_event_known(spec_codes[i]));
        assert_non_null(c3_event_key(spec_codes[i]));
    }
    /* Keys are unique. */
    for (unsigned a = 0; a < 256; a++)
        for (unsigned b = a + 1; b < 256; b++)
            if (c3_event_key(a) && c3_event_key(b))
                assert_string_not_equal(c3_event_key(a), c3_event_key(b));
}

static void severities(void **state)
{
    (void)state;
    static const unsigned alarms[] = { 100, 101, 102, 103 };
    static const unsigned warnings[] = { 20, 21, 22, 23, 24, 25, 27, 28, 29, 30, 33, 34, 37, 206 };
    static const unsigned normals[] = { 0, 1, 4, 7, 8, 9, 12, 13, 14, 200, 201, 202, 205, 255 };
    for (size_t i = 0; i < sizeof alarms / sizeof alarms[0]; i++)
        assert_int_equal(c3_event_severity(alarms[i]), C3_SEV_ALARM);
    for (size_t i = 0; i < sizeof warnings / sizeof warnings[0]; i++)
        assert_int_equal(c3_event_severity(warnings[i]), C3_SEV_WARNING);
    for (size_t i = 0; i < sizeof normals / sizeof normals[0]; i++)
        assert_int_equal(c3_event_severity(normals[i]), C3_SEV_NORMAL);
    assert_int_equal(c3_event_severity(77), C3_SEV_WARNING);
    assert_string_equal(c3_severity_name(C3_SEV_ALARM), "alarm");
    assert_string_equal(c3_severity_name(C3_SEV_WARNING), "warning");
    assert_string_equal(c3_severity_name(C3_SEV_NORMAL), "normal");
    assert_true(c3_event_is_grant(0));
    assert_true(c3_event_is_grant(202));
    assert_true(c3_event_is_grant(8));
    assert_false(c3_event_is_grant(23));
    assert_false(c3_event_is_grant(102));
    assert_false(c3_event_is_grant(77));
    assert_false(c3_event_is_grant(1000));
}

static void verify_and_inout(void **state)
{
    (void)state;
    char buf[C3_LABEL_LEN];
    assert_string_equal(c3_verify_name(4), "card");
    assert_string_equal(c3_verify_name(200), "other");
    assert_string_equal(c3_verify_name(11), "password and card");
    assert_string_equal(c3_verify_name(14), "finger and card, or PIN");
    assert_null(c3_verify_name(15));
    assert_string_equal(c3_verify_label(15, buf, sizeof buf), "verify 15");
    assert_string_equal(c3_inout_name(0), "entry");
    assert_string_equal(c3_inout_name(1), "exit");
    assert_string_equal(c3_inout_name(2), "none");
    assert_null(c3_inout_name(3));
    assert_string_equal(c3_inout_label(3, buf, sizeof buf), "inout 3");
    /* A tiny buffer truncates, never overflows. */
    char tiny[4];
    assert_string_equal(c3_event_label(123, tiny, sizeof tiny), "eve");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(events),
        cmocka_unit_test(severities),
        cmocka_unit_test(verify_and_inout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
