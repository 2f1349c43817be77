/* conf_check: UTF-8 edge cases; integer literals read as written, with libconfig 1.5's own value of each
 * literal predicted exactly (checked against the library); regular-file opening; advice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/conf_check.h"

static void utf8(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool ok;
        size_t bad;
    } t[] = {
        { "plain ASCII", true, 0 },
        { "T\xc3\xbcr \xe2\x82\xac \xf0\x9f\x98\x80", true, 0 }, /* ü € 😀 */
        { "\xc3", false, 0 },                                     /* cut short */
        { "ab\xc3(", false, 2 },                                  /* bad continuation */
        { "\xc0\xaf", false, 0 },                                 /* overlong two-byte */
        { "\xe0\x80\xaf", false, 0 },                             /* overlong three-byte */
        { "\xf0\x80\x80\xaf", false, 0 },                         /* overlong four-byte */
        { "\xed\xa0\x80", false, 0 },                             /* a surrogate */
        { "\xf4\x90\x80\x80", false, 0 },                         /* above U+10FFFF */
        { "\xf5\x80\x80\x80", false, 0 },
        { "\xff", false, 0 },
        { "x\xc2\x85", false, 1 },                                /* C1 control U+0085 */
        { "tab\there", false, 3 },
        { "del\x7f", false, 3 },
        { "\xef\xbf\xbd", true, 0 },                              /* U+FFFD itself is fine */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t bad = 99;
        char what[64] = "";
        bool ok = conf_text_ok(t[i].s, &bad, what, sizeof what);
        if (ok != t[i].ok || (!ok && bad != t[i].bad)) {
            fprintf(stderr, "case %zu: ok %d bad %zu (%s)\n", i, ok, bad, what);
            fail();
        }
    }
}

/* Every literal: found as written, its true value (or overflow), and libconfig 1.5's value predicted. */
static void int_literals(void **state)
{
    (void)state;
    static const struct {
        const char *lit;
        bool overflow;
        long long value;
    } t[] = {
        { "4370", false, 4370 },
        { "-5", false, -5 },
        { "+7", false, 7 },
        { "2147483647", false, 2147483647LL },
        { "2147483648", false, 2147483648LL },
        { "4294967297", false, 4294967297LL },
        { "9223372036854775807", false, 9223372036854775807LL },
        { "9223372036854775808", true, 0 },
        { "99999999999999999999999", true, 0 },
        { "-99999999999999999999", true, 0 },
        { "-9223372036854775808", false, (-9223372036854775807LL - 1) },
        { "0x1F90", false, 0x1F90 },
        { "0xFFFFFFFF", false, 0xFFFFFFFFLL },
        { "0x10000000000000001", true, 0 },
        { "1000L", false, 1000 },
        { "99999999999999999999L", true, 0 },
        { "0x7fffffffffffffffL", false, 0x7fffffffffffffffLL },
        { "00012", false, 12 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "# comment\nother = 1;\nport =\n  %s;\n", t[i].lit);
        config_t cfg;
        config_init(&cfg);
        assert_true(config_read_string(&cfg, text));
        config_setting_t *s = config_lookup(&cfg, "port");
        assert_non_null(s);
        long long lc = config_setting_get_int64(s);
        struct conf_int ci;
        assert_true(conf_find_int(text, (int)config_setting_source_line(s), "port", lc, &ci));
        if (strcmp(ci.text, t[i].lit) != 0 || ci.overflow != t[i].overflow ||
            (!ci.overflow && ci.value != t[i].value) || ci.libconfig != lc) {
            fprintf(stderr, "case %s: text %s overflow %d value %lld libconfig %lld (library %lld)\n", t[i].lit,
                    ci.text, ci.overflow, ci.value, ci.libconfig, lc);
            fail();
        }
        config_destroy(&cfg);
    }
    /* Two settings of the same name on one line: each finds its own literal. */
    const char *two = "a = ( { port = 70000; }, { port = 4294967297; } );\n";
    struct conf_int ci;
    assert_true(conf_find_int(two, 1, "port", 70000, &ci));
    assert_string_equal(ci.text, "70000");
    assert_true(conf_find_int(two, 1, "port", 1, &ci)); /* libconfig's 1 is the 4294967297 */
    assert_string_equal(ci.text, "4294967297");
    /* A longer name that ends in the key, or a float, is not the literal. */
    assert_false(conf_find_int("export = 5;\n", 1, "port", 5, &ci));
    assert_false(conf_find_int("port = 5.0;\n", 1, "port", 5, &ci));
    assert_false(conf_find_int("port = 5;\n", 2, "port", 5, &ci));
}

static void regular_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/portier-cc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], why[128];
    struct stat st;
    snprintf(path, sizeof path, "%s/f", dir);
    FILE *f = fopen(path, "w");
    fputs("secret\nrest", f);
    fclose(f);
    char *text;
    size_t n;
    assert_int_equal(conf_read_file(path, 100, &text, &n, &st, why, sizeof why), 0);
    assert_int_equal(n, 11);
    assert_string_equal(text, "secret\nrest");
    free(text);
    assert_int_equal(conf_read_file(path, 5, &text, &n, &st, why, sizeof why), -1);
    assert_string_equal(why, "is larger than 5 bytes");
    snprintf(path, sizeof path, "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(conf_open_regular(path, &st, why, sizeof why), -1); /* at once: nothing waits */
    assert_string_equal(why, "is a FIFO (named pipe), not a regular file");
    assert_int_equal(conf_open_regular("/dev/null", &st, why, sizeof why), -1);
    assert_string_equal(why, "is a character device, not a regular file");
    assert_int_equal(conf_open_regular(dir, &st, why, sizeof why), -1);
    assert_string_equal(why, "is a directory, not a regular file");
    assert_int_equal(conf_open_regular("", &st, why, sizeof why), -1);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void advice(void **state)
{
    (void)state;
    struct stat st;
    char why[128];
    int fd = conf_open_regular("/etc/passwd", &st, why, sizeof why);
    assert_true(fd >= 0);
    close(fd);
    assert_false(conf_advice_ok("/etc/passwd", &st)); /* a system file, whoever owns it */
    char path[] = "/tmp/portier-cc-XXXXXX";
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    close(fd);
    assert_true(conf_advice_ok(path, &st)); /* the user's own file */
    char other[64];
    snprintf(other, sizeof other, "%s.link", path);
    assert_int_equal(link(path, other), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_false(conf_advice_ok(path, &st)); /* two names: chmod would change the other one too */
    unlink(other);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8),
        cmocka_unit_test(int_literals),
        cmocka_unit_test(regular_files),
        cmocka_unit_test(advice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
