#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/strbuf.h"

static void appends_and_joins(void **state)
{
    (void)state;
    char buf[32];
    struct strbuf sb;
    STRBUF_ON(&sb, buf);
    assert_string_equal(strbuf_str(&sb), "");
    assert_true(strbuf_sep(&sb, ", "));
    assert_true(strbuf_puts(&sb, "a"));
    assert_true(strbuf_sep(&sb, ", "));
    assert_true(strbuf_printf(&sb, "%d=%s", 7, "x"));
    assert_true(strbuf_putc(&sb, '!'));
    assert_true(strbuf_putn(&sb, "xyz", 2));
    assert_string_equal(buf, "a, 7=x!xy");
    assert_int_equal(strbuf_len(&sb), 9);
    assert_false(strbuf_truncated(&sb));
    strbuf_reset(&sb);
    const char *const w[] = { "* 7-18", "*", "*", "1-5" };
    assert_true(strbuf_join(&sb, " ", w, 4));
    assert_string_equal(buf, "* 7-18 * * 1-5");
}

/* The join that overflowed a stack buffer past its end: many words into a small buffer. */
static void never_overflows(void **state)
{
    (void)state;
    struct {
        char buf[16];
        char guard[16];
    } s;
    memset(s.guard, 0x5A, sizeof s.guard);
    struct strbuf sb;
    STRBUF_ON(&sb, s.buf);
    bool ok = true;
    for (int i = 0; i < 100; i++)
        ok = strbuf_sep(&sb, " ") && strbuf_printf(&sb, "word%d", i) && ok;
    assert_false(ok);
    assert_true(strbuf_truncated(&sb));
    assert_int_equal(strbuf_len(&sb), 15);
    assert_int_equal(strlen(s.buf), 15);
    assert_memory_equal(s.buf, "word0 word1 wor", 15);
    for (size_t i = 0; i < sizeof s.guard; i++)
        assert_int_equal((unsigned char)s.guard[i], 0x5A);
    /* sticky: nothing is appended after a truncation, even what would fit */
    assert_false(strbuf_puts(&sb, ""));
    assert_false(strbuf_putc(&sb, 'x'));
    assert_int_equal(strbuf_len(&sb), 15);
    /* a fresh start forgets it */
    strbuf_reset(&sb);
    assert_false(strbuf_truncated(&sb));
    assert_true(strbuf_puts(&sb, "ok"));
    assert_string_equal(s.buf, "ok");
}

static void exact_fit_and_zero_capacity(void **state)
{
    (void)state;
    char buf[4];
    struct strbuf sb;
    STRBUF_ON(&sb, buf);
    assert_true(strbuf_puts(&sb, "abc")); /* 3 chars + NUL: exactly full */
    assert_false(strbuf_truncated(&sb));
    assert_false(strbuf_putc(&sb, 'd'));
    assert_string_equal(buf, "abc");
    STRBUF_ON(&sb, buf);
    assert_true(strbuf_printf(&sb, "%s", "abc"));
    assert_false(strbuf_printf(&sb, "%s", "d"));
    assert_string_equal(buf, "abc");

    struct strbuf z;
    strbuf_init(&z, NULL, 0);
    assert_true(strbuf_puts(&z, ""));
    assert_false(strbuf_puts(&z, "a"));
    assert_string_equal(strbuf_str(&z), "");
    strbuf_init(&z, NULL, 0);
    assert_false(strbuf_printf(&z, "%d", 1));
    assert_true(strbuf_truncated(&z));
}

/* A cut never leaves half a UTF-8 character behind. */
static void utf8_cut(void **state)
{
    (void)state;
    char buf[6];
    struct strbuf sb;
    STRBUF_ON(&sb, buf);
    assert_false(strbuf_puts(&sb, "ab\xc3\xa9\xc3\xa9")); /* "abéé": the second é does not fit */
    assert_string_equal(buf, "ab\xc3\xa9");
    STRBUF_ON(&sb, buf);
    assert_false(strbuf_printf(&sb, "abcd%s", "\xe2\x82\xac")); /* "abcd€": € is 3 bytes, 1 fits */
    assert_string_equal(buf, "abcd");
    STRBUF_ON(&sb, buf);
    assert_false(strbuf_puts(&sb, "a\xf0\x9f\x98\x80z")); /* a 4-byte character that just fits, then z */
    assert_string_equal(buf, "a\xf0\x9f\x98\x80");
    STRBUF_ON(&sb, buf);
    assert_false(strbuf_puts(&sb, "abcd\x80\x80")); /* not UTF-8: the bytes are kept as they are */
    assert_int_equal(strbuf_len(&sb), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appends_and_joins),
        cmocka_unit_test(never_overflows),
        cmocka_unit_test(exact_fit_and_zero_capacity),
        cmocka_unit_test(utf8_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
