#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/grow.h"

static void doubles_from_first(void **state)
{
    (void)state;
    int *v = NULL;
    size_t n = 0, cap = 0;
    for (int i = 0; i < 1000; i++) {
        int *g = grow_array(v, n, &cap, sizeof *g, 4);
        assert_non_null(g);
        v = g;
        v[n++] = i;
        assert_true(n <= cap);
    }
    assert_int_equal(cap, 1024); /* 4, 8, ..., 1024 */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(v[i], i);
    /* room left: the same array, no reallocation */
    size_t before = cap;
    assert_ptr_equal(grow_array(v, n, &cap, sizeof *v, 4), v);
    assert_int_equal(cap, before);
    free(v);
}

static void overflow_leaves_the_array(void **state)
{
    (void)state;
    char *v = malloc(8);
    assert_non_null(v);
    size_t cap = SIZE_MAX / 2 + 1;
    assert_null(grow_array(v, cap, &cap, 1, 4)); /* doubling would wrap */
    assert_int_equal(cap, SIZE_MAX / 2 + 1);
    size_t cap2 = SIZE_MAX / 16;
    assert_null(grow_array(v, cap2, &cap2, 16, 4)); /* bytes would overflow */
    assert_int_equal(cap2, SIZE_MAX / 16);
    size_t cap3 = 0;
    assert_null(grow_array(v, 0, &cap3, 0, 4)); /* no item size */
    v[7] = 'x';                                 /* still the caller's */
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doubles_from_first),
        cmocka_unit_test(overflow_leaves_the_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
