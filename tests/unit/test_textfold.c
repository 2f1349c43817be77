/* Unit tests for core/textfold: Unicode lower case whatever the process's locale. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/textfold.h"

static const char *fold(const char *s)
{
    static char out[256];
    size_t n = textfold(s, strlen(s), out, sizeof out);
    assert_int_equal(n, strlen(out));
    assert_true(n <= textfold_max(strlen(s)));
    return out;
}

/* The test runs in the C locale (setlocale is never called): the folding does not depend on it. */
static void letters_beyond_ascii(void **state)
{
    (void)state;
    assert_string_equal(fold("MÜLLER"), "müller");
    assert_string_equal(fold("Tür SÜD – Ost"), "tür süd – ost");
    assert_string_equal(fold("ÀÉÎÕÜ ÇÑ ÅØÆ"), "àéîõü çñ åøæ");
    assert_string_equal(fold("ΣΟΦΊΑ"), "σοφία");
    assert_string_equal(fold("ПРИВЕТ"), "привет");
    assert_string_equal(fold("北门入口 Garage"), "北门入口 garage");
    assert_string_equal(fold("plain ascii 123"), "plain ascii 123");
    /* a 2-byte letter whose lower case takes 3 bytes (U+023A -> U+2C65) */
    assert_string_equal(fold("\xc8\xba"), "\xe2\xb1\xa5");
    assert_int_equal(textfold("\xc8\xba\xc8\xba", 4, NULL, 0), 6);
}

static void bytes_that_are_not_utf8_stay(void **state)
{
    (void)state;
    assert_string_equal(fold("A\xff" "B"), "a\xff" "b");
    assert_string_equal(fold("\xc0\xaf" "X"), "\xc0\xaf" "x");          /* overlong */
    assert_string_equal(fold("\xed\xa0\x80" "Y"), "\xed\xa0\x80" "y");  /* a surrogate */
    assert_string_equal(fold("\xc3"), "\xc3");                          /* cut short */
    assert_string_equal(fold("\xe2\x82"), "\xe2\x82");
}

static void cut_at_a_whole_character(void **state)
{
    (void)state;
    char out[6];
    size_t n = textfold("ÄÖÜ", strlen("ÄÖÜ"), out, sizeof out);
    assert_int_equal(n, 6);
    assert_string_equal(out, "äö"); /* 5 bytes of room: "ü" does not fit whole */
    char one[1];
    assert_int_equal(textfold("Ab", 2, one, sizeof one), 2);
    assert_string_equal(one, "");
}

static void contains_and_equal(void **state)
{
    (void)state;
    assert_true(textfold_contains("Zentrale Ä: Tür Süd geöffnet", "TÜR SÜD"));
    assert_true(textfold_contains("Tür Süd", "tür"));
    assert_true(textfold_contains("Front door", "FRONT"));
    assert_true(textfold_contains("anything", ""));
    assert_false(textfold_contains("Tür Nord", "süd"));
    assert_false(textfold_contains(NULL, "x"));
    assert_false(textfold_contains("x", NULL));
    assert_true(textfold_equal("KANTINE – OST", "Kantine – Ost"));
    assert_true(textfold_equal("back", "BACK"));
    assert_false(textfold_equal("Kantine", "Kantine – Ost"));
    assert_false(textfold_equal(NULL, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(letters_beyond_ascii),
        cmocka_unit_test(bytes_that_are_not_utf8_stay),
        cmocka_unit_test(cut_at_a_whole_character),
        cmocka_unit_test(contains_and_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
