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
    size_t rcap = SIZE_MAX / 16, head = 5;
    assert_null(grow_ring(v, rcap, &head, &rcap, 16, 4)); /* a ring alike: nothing moved */
    assert_int_equal(rcap, SIZE_MAX / 16);
    assert_int_equal(head, 5);
    v[7] = 'x'; /* still the caller's */
    free(v);
}

static void grows_to_what_is_needed(void **state)
{
    (void)state;
    size_t cap = 0;
    char *b = grow_to(NULL, 0, &cap, 1, 256); /* nothing needed: nothing allocated */
    assert_null(b);
    assert_int_equal(cap, 0);
    b = grow_to(NULL, 1000, &cap, 1, 256);
    assert_non_null(b);
    assert_int_equal(cap, 1024); /* 256, 512, 1024 */
    b[999] = 'x';
    assert_ptr_equal(grow_to(b, 1024, &cap, 1, 256), b); /* it fits: the same buffer */
    char *g = grow_to(b, 5000, &cap, 1, 256);
    assert_non_null(g);
    assert_int_equal(cap, 8192); /* doubled until it holds 5000 */
    assert_int_equal(g[999], 'x');
    size_t big = SIZE_MAX / 4 + 1;
    assert_null(grow_to(g, SIZE_MAX, &big, 1, 256)); /* doubling would wrap: nothing changed */
    assert_int_equal(big, SIZE_MAX / 4 + 1);
    free(g);
}

/* Pushes v at the ring's tail (growing it by grow_ring), returning the ring. */
static int *push(int *ring, size_t *head, size_t *n, size_t *cap, int v)
{
    int *g = grow_ring(ring, *n, head, cap, sizeof *g, 4);
    assert_non_null(g);
    g[(*head + *n) % *cap] = v;
    (*n)++;
    return g;
}

static int pop(const int *ring, size_t *head, size_t *n, size_t cap)
{
    assert_true(*n > 0);
    int v = ring[*head];
    *head = (*head + 1) % cap;
    (*n)--;
    return v;
}

static void ring_keeps_its_order_across_growth(void **state)
{
    (void)state;
    int *r = NULL;
    size_t head = 0, n = 0, cap = 0;
    int next_in = 0, next_out = 0;
    /* wrap the ring at every capacity before it grows: three in, two out */
    while (cap < 256) {
        for (int k = 0; k < 3; k++)
            r = push(r, &head, &n, &cap, next_in++);
        for (int k = 0; k < 2; k++)
            assert_int_equal(pop(r, &head, &n, cap), next_out++);
    }
    assert_int_equal(cap, 256); /* 4, 8, ..., 256 */
    while (n)
        assert_int_equal(pop(r, &head, &n, cap), next_out++);
    assert_int_equal(next_out, next_in);
    /* room left: the same ring, head kept */
    int *same = r;
    size_t h = head;
    r = push(r, &head, &n, &cap, 7);
    assert_ptr_equal(r, same);
    assert_int_equal(head, h);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doubles_from_first),
        cmocka_unit_test(overflow_leaves_the_array),
        cmocka_unit_test(grows_to_what_is_needed),
        cmocka_unit_test(ring_keeps_its_order_across_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
