#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/textline.h"

/* Collects the lines of text into out as "[line]" each. */
static void walk(const char *text, size_t len, char *out, size_t cap)
{
    size_t pos = 0, o = 0;
    const char *ln;
    size_t l;
    out[0] = '\0';
    while (textline_next(text, len, &pos, &ln, &l)) {
        assert_true(o + l + 3 <= cap);
        out[o++] = '[';
        memcpy(out + o, ln, l);
        o += l;
        out[o++] = ']';
        out[o] = '\0';
        assert_true(pos <= len);
    }
    assert_int_equal(pos, len);
}

static void splits_at_newlines(void **state)
{
    (void)state;
    char out[128];
    walk("a\nbb\n", 5, out, sizeof out);
    assert_string_equal(out, "[a][bb]");
    walk("a\nbb", 4, out, sizeof out);
    assert_string_equal(out, "[a][bb]"); /* a last line without '\n' counts */
    walk("\n\nx\n", 4, out, sizeof out);
    assert_string_equal(out, "[][][x]"); /* empty lines are lines */
    walk("", 0, out, sizeof out);
    assert_string_equal(out, "");
    walk("\n", 1, out, sizeof out);
    assert_string_equal(out, "[]");
    walk("r\r\ns", 4, out, sizeof out);
    assert_string_equal(out, "[r\r][s]"); /* CR is the caller's business */
}

static void bytes_stay_and_len_bounds(void **state)
{
    (void)state;
    const char text[] = { 'a', '\0', 'b', '\n', 'c', '\n', 'd' };
    size_t pos = 0, l;
    const char *ln;
    assert_true(textline_next(text, 5, &pos, &ln, &l)); /* only the first 5 bytes are the text */
    assert_int_equal(l, 3);
    assert_memory_equal(ln, "a\0b", 3);
    assert_true(textline_next(text, 5, &pos, &ln, &l));
    assert_int_equal(l, 1);
    assert_int_equal(ln[0], 'c');
    assert_int_equal(pos, 5);
    assert_false(textline_next(text, 5, &pos, &ln, &l));
    pos = 9; /* past the end: nothing, and pos is left alone */
    assert_false(textline_next(text, 5, &pos, &ln, &l));
    assert_int_equal(pos, 9);
}

/* Collects the pieces of text ended by seps into out as "[piece]" each. */
static void walk_sep(const char *text, size_t len, const char *seps, size_t nseps, char *out, size_t cap)
{
    size_t pos = 0, o = 0, l;
    const char *p;
    out[0] = '\0';
    while (textline_next_sep(text, len, &pos, seps, nseps, &p, &l)) {
        assert_true(o + l + 3 <= cap);
        assert_true(p >= text && p + l <= text + len);
        out[o++] = '[';
        memcpy(out + o, p, l);
        o += l;
        out[o++] = ']';
        out[o] = '\0';
    }
    assert_int_equal(pos, len);
}

static void splits_at_any_separator(void **state)
{
    (void)state;
    char out[128];
    walk_sep("a,b,,c", 6, ",", 1, out, sizeof out);
    assert_string_equal(out, "[a][b][][c]");
    walk_sep("a,b,", 4, ",", 1, out, sizeof out);
    assert_string_equal(out, "[a][b]"); /* a separator at the end: no empty last piece */
    walk_sep(",", 1, ",", 1, out, sizeof out);
    assert_string_equal(out, "[]");
    walk_sep("", 0, ",", 1, out, sizeof out);
    assert_string_equal(out, "");
    /* a panel's text: records end at CR, LF or NUL, each one separator */
    const char panel[] = { 'a', '\r', '\n', 'b', '\0', 'c', 'd', '\n', 'e' };
    walk_sep(panel, sizeof panel, "\r\n\0", 3, out, sizeof out);
    assert_string_equal(out, "[a][][b][cd][e]");
    /* a NUL inside a piece stays when it is not a separator */
    size_t pos = 0, l;
    const char *p;
    assert_true(textline_next_sep(panel, sizeof panel, &pos, "\n", 1, &p, &l));
    assert_int_equal(l, 2);
    assert_true(textline_next_sep(panel, sizeof panel, &pos, "\n", 1, &p, &l));
    assert_int_equal(l, 4);
    assert_memory_equal(p, "b\0cd", 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(splits_at_newlines),
        cmocka_unit_test(bytes_stay_and_len_bounds),
        cmocka_unit_test(splits_at_any_separator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
