#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/hex.h"

static void digits(void **state)
{
    (void)state;
    const char *d = "0123456789abcdef";
    const char *u = "0123456789ABCDEF";
    for (int i = 0; i < 16; i++) {
        assert_int_equal(hex_digit(d[i]), i);
        assert_int_equal(hex_digit(u[i]), i);
    }
    for (int c = -128; c < 128; c++) {
        if (!strchr("0123456789abcdefABCDEF", c) || c == 0)
            assert_int_equal(hex_digit((char)c), -1);
    }
}

static void decode(void **state)
{
    (void)state;
    uint8_t out[8];
    memset(out, 0xEE, sizeof out);
    assert_int_equal(hex_decode("01aBFf7e", 4, out), 0);
    assert_memory_equal(out, "\x01\xab\xff\x7e", 4);
    assert_int_equal(out[4], 0xEE); /* nothing past n */
    assert_int_equal(hex_decode("", 0, out), 0);
    assert_int_equal(hex_decode("0g", 1, out), -1);
    assert_int_equal(hex_decode("g0", 1, out), -1);
    assert_int_equal(hex_decode("00 1", 2, out), -1);
    assert_int_equal(hex_decode("0", 1, out), -1); /* the terminator is not a digit */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(digits),
        cmocka_unit_test(decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
