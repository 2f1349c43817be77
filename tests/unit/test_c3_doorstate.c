/* Unit tests for c3_doorstate: the C3 adapter's state file text (format, parse back, the older format without the
 * intent line, lines not understood skipped, nothing to remember = no file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/c3/c3_doorstate.h"

static void test_roundtrip(void **state)
{
    (void)state;
    struct c3_doorstate a = { .em_intent = true, .restore_locked = false, .doors = 4 };
    a.door[0] = (struct c3_doorstate_door){ .emergency = true, .prev_no = true };
    a.door[1] = (struct c3_doorstate_door){ .em_pending = true, .prev_held = true, .held = true };
    a.door[3] = (struct c3_doorstate_door){ .restore_pending = true, .normal_open = true };
    char buf[768];
    size_t n = c3_doorstate_format(&a, buf, sizeof buf);
    assert_true(n > 0 && n < sizeof buf);
    assert_non_null(strstr(buf, "emergency on restore previous\n"));
    assert_non_null(strstr(buf, "door 2 0 1 1 0 1 0 0\n"));
    struct c3_doorstate b = { .doors = 4 };
    assert_int_equal(c3_doorstate_parse(buf, n, &b), 0);
    assert_memory_equal(&a, &b, sizeof a);
    /* nothing worth a file */
    struct c3_doorstate none = { .doors = 2 };
    assert_int_equal(c3_doorstate_format(&none, buf, sizeof buf), 0);
}

static void test_older_and_bad_lines(void **state)
{
    (void)state;
    /* written before the intent was kept: an emergency door means the intent was on */
    const char *old = "# comment\ndoor 1 1 0 0 1 0 0\ndoor 2 0 0 0 0 0 0\n";
    struct c3_doorstate st = { .doors = 2 };
    assert_int_equal(c3_doorstate_parse(old, strlen(old), &st), 0);
    assert_true(st.em_intent);
    assert_true(st.door[0].emergency && st.door[0].prev_no);
    /* lines not understood are counted and skipped; doors beyond the panel's are ignored */
    const char *bad = "emergency maybe restore previous\ndoor 3 1 1 1 1 1 1 1\ndoor 1 2 0 0 0 0 0 0\ndoor x\n"
                      "emergency off restore locked\ndoor 2 0 0 1 0 0 0 1\n";
    struct c3_doorstate s2 = { .doors = 2 };
    assert_int_equal(c3_doorstate_parse(bad, strlen(bad), &s2), 4);
    assert_false(s2.em_intent);
    assert_true(s2.restore_locked);
    assert_false(s2.door[0].emergency);
    assert_true(s2.door[1].restore_pending && s2.door[1].prev_held);
    /* NUL bytes and overlong lines */
    const char nul[] = "door 1 1 1 1 1 1 1 1\0x\n";
    struct c3_doorstate s3 = { .doors = 1 };
    assert_int_equal(c3_doorstate_parse(nul, sizeof nul - 1, &s3), 1);
    char longl[300];
    memset(longl, 'a', sizeof longl);
    assert_int_equal(c3_doorstate_parse(longl, sizeof longl, &s3), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_older_and_bad_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
