/* Unit tests for c3_rows' rows by key and the difference, and for a whole user base through c3_userdata: the
 * order of the changes (adds and updates in the wanted rows' order, deletes in the panel's), rows of one key
 * matched in row order, the first duplicate key named with the line it first appeared on; and 30 000 users (a
 * full C3 user table) checked, imported and compared with the exact result, in well under a second. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/csv.h"
#include "drivers/c3/c3_rows.h"
#include "drivers/c3/c3_userdata.h"
#include "sim/c3sim_userbase.h"

static struct c3_table_def defs[4];
static size_t ndefs;

static int setup(void **state)
{
    (void)state;
    int n = c3sim_userbase_defs(defs, 4);
    assert_int_equal(n, 3);
    ndefs = (size_t)n;
    return 0;
}

static void parse(const char *text, struct csv *c)
{
    char err[160];
    if (csv_parse(text, strlen(text), c, err, sizeof err) < 0)
        fail_msg("%s", err);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void keyidx_finds_first_row(void **state)
{
    (void)state;
    struct csv t;
    parse("a,b\n2,x\n1,y\n2,x\n10,z\n", &t);
    int cols[2] = { 0, 1 };
    struct c3_keyidx x;
    assert_int_equal(c3_keyidx_build(&x, &t, cols, 2), 0);
    const char *k1[] = { "2", "x" }, *k2[] = { "10", "z" }, *k3[] = { "2", "y" }, *k4[] = { "", "" };
    assert_int_equal(c3_keyidx_find(&x, k1), 0); /* the first of rows 0 and 2 */
    assert_int_equal(c3_keyidx_find(&x, k2), 3);
    assert_int_equal(c3_keyidx_find(&x, k3), t.nrows);
    assert_int_equal(c3_keyidx_find(&x, k4), t.nrows);
    assert_int_equal(c3_keyidx_find_row(&x, &t, 2, cols), 0);
    c3_keyidx_free(&x);
    /* no key column: every row has the same key */
    assert_int_equal(c3_keyidx_build(&x, &t, cols, 0), 0);
    assert_int_equal(c3_keyidx_find_row(&x, &t, 3, cols), 0);
    c3_keyidx_free(&x);
    csv_free(&t);
}

/* Adds and updates in want's order, deletes after them in cur's order; rows of one key in cur are matched in
 * their order; a column cur lacks compares as empty. */
static void diff_order(void **state)
{
    (void)state;
    struct csv cur, want;
    parse("pin,name\n5,e\n1,a\n3,c\n3,c2\n9,i\n", &cur);
    parse("pin,name,note\n3,c,\n7,g,\n1,A,\n3,cc,\n3,c3,\n", &want);
    static const char *const keys[] = { "pin" };
    struct c3_diff d;
    assert_int_equal(c3_diff_rows(&cur, &want, keys, 1, true, &d), 0);
    assert_int_equal(d.n, 6);
    struct c3_change v[] = {
        { C3_CHANGE_ADD, 1, 0 },    /* 7 */
        { C3_CHANGE_UPDATE, 2, 1 }, /* 1 a -> A */
        { C3_CHANGE_UPDATE, 3, 3 }, /* the second 3 of cur */
        { C3_CHANGE_ADD, 4, 0 },    /* a third 3: cur has two */
        { C3_CHANGE_DELETE, 0, 0 }, /* 5 */
        { C3_CHANGE_DELETE, 0, 4 }, /* 9 */
    };
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(d.v[i].op, v[i].op);
        assert_int_equal(d.v[i].want, v[i].want);
        assert_int_equal(d.v[i].cur, v[i].cur);
    }
    assert_int_equal(d.adds, 2);
    assert_int_equal(d.updates, 2);
    assert_int_equal(d.deletes, 2);
    assert_int_equal(d.same, 1);
    c3_diff_free(&d);
    /* without deletes the rows want does not name stay */
    assert_int_equal(c3_diff_rows(&cur, &want, keys, 1, false, &d), 0);
    assert_int_equal(d.n, 4);
    assert_int_equal(d.deletes, 0);
    c3_diff_free(&d);
    csv_free(&cur);
    csv_free(&want);
}

static void check_keys_names_first_line(void **state)
{
    (void)state;
    const struct c3_table_def *ua = c3_table_find(defs, ndefs, "userauthorize");
    struct csv t;
    char err[200];
    parse("Pin,AuthorizeTimezoneId,AuthorizeDoorId\n1,1,1\n2,1,1\n1,2,1\n2,1,3\n1,1,2\n", &t);
    assert_int_equal(c3_rows_check_keys(ua, &t, err, sizeof err), -1);
    assert_string_equal(err, "line 5: Pin: the key Pin=2 AuthorizeTimezoneId=1 appears again (first on line 3)");
    csv_free(&t);
    parse("Pin,AuthorizeDoorId\n1,1\n2,1\n,1\n", &t);
    assert_int_equal(c3_rows_check_keys(ua, &t, err, sizeof err), -1);
    assert_string_equal(err, "line 4: Pin: empty, but it is part of the row's key (write 0 if 0 is meant)");
    csv_free(&t);
}

/* ---- a whole user base ---- */

#define BASE 30000u

/* The panel's users 1..BASE (every 20th without a card). */
static void panel_users(struct csv *raw)
{
    assert_int_equal(c3sim_userbase_panel(c3_table_find(defs, ndefs, "user"), BASE, raw), 0);
}

/* The file: users 1..BASE+BASE/20 in a shuffled order, without those whose pin ends in 3 when divided by 20
 * (deleted), every 10th renamed, the new ones added; extra: a line appended as it is. */
static char *users_file(const char *extra)
{
    char *text = c3sim_userbase_file(BASE, extra);
    assert_non_null(text);
    return text;
}

static void whole_user_base(void **state)
{
    (void)state;
    const struct c3_table_def *udef = c3_table_find(defs, ndefs, "user");
    struct csv cur_raw, in, cur_op, want_raw, held;
    char err[300];
    panel_users(&cur_raw);
    char *text = users_file("");
    double t0 = now_s();
    parse(text, &in);
    struct c3_kind_ctx ctx = { .def = udef, .doors = 4, .users = &cur_raw, .replace = true };
    assert_int_equal(c3_kind_keys_canon(C3_KIND_USERS, &in), 0);
    assert_int_equal(c3_kind_export(C3_KIND_USERS, &cur_raw, &cur_op, err, sizeof err), 0);
    if (c3_kind_import(C3_KIND_USERS, &ctx, &in, &want_raw, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_int_equal(c3_kind_export(C3_KIND_USERS, &want_raw, &held, err, sizeof err), 0);
    static const char *const opk[] = { "pin" }, *const rawk[] = { "Pin" };
    struct c3_diff op, raw, back;
    assert_int_equal(c3_diff_rows(&cur_op, &held, opk, 1, true, &op), 0);
    assert_int_equal(c3_diff_rows(&cur_raw, &want_raw, rawk, 1, true, &raw), 0);
    assert_int_equal(c3_diff_rows(&want_raw, &want_raw, rawk, 1, true, &back), 0); /* the read-back */
    assert_int_equal(c3_rows_check_keys(udef, &want_raw, err, sizeof err), 0);
    double spent = now_s() - t0;

    /* users 1..31500: 1575 end in 3 (of 20); of the 1500 new ones 75 */
    assert_int_equal(held.nrows, 31500 - 1575);
    assert_int_equal(op.adds, 1500 - 75);
    assert_int_equal(op.updates, 3000); /* every 10th renamed */
    assert_int_equal(op.deletes, 1500);
    assert_int_equal(op.same, 30000 - 1500 - 3000);
    assert_int_equal(op.n, op.adds + op.updates + op.deletes);
    assert_int_equal(raw.adds, op.adds);
    assert_int_equal(raw.updates, op.updates);
    assert_int_equal(raw.deletes, op.deletes);
    assert_int_equal(back.n, 0);
    assert_int_equal(back.same, want_raw.nrows);
    /* in key order (the export's), adds and updates first: user 10 renamed is the first change, the first
     * delete is user 3, the last user 29983; the first add is 30001 */
    assert_int_equal(op.v[0].op, C3_CHANGE_UPDATE);
    assert_string_equal(csv_cell(&held, op.v[0].want, 0), "10");
    assert_string_equal(csv_cell(&held, op.v[0].want, 6), "ren10");
    assert_string_equal(csv_cell(&cur_op, op.v[0].cur, 6), "user10");
    size_t first_add = op.n, first_del = op.n;
    for (size_t i = op.n; i-- > 0;) {
        if (op.v[i].op == C3_CHANGE_ADD)
            first_add = i;
        if (op.v[i].op == C3_CHANGE_DELETE)
            first_del = i;
    }
    assert_int_equal(first_del, op.adds + op.updates);
    assert_string_equal(csv_cell(&cur_op, op.v[first_del].cur, 0), "3");
    assert_string_equal(csv_cell(&cur_op, op.v[op.n - 1].cur, 0), "29983");
    assert_string_equal(csv_cell(&held, op.v[first_add].want, 0), "30001");
    assert_string_equal(csv_cell(&held, op.v[first_add].want, 1), "130001");
    /* the panel's record ids are kept, a new user's is its pin */
    int uid = csv_col(&want_raw, "UID"), pin = csv_col(&want_raw, "Pin");
    for (size_t r = 0; r < want_raw.nrows; r++)
        assert_string_equal(csv_cell(&want_raw, r, (size_t)uid), csv_cell(&want_raw, r, (size_t)pin));

    /* a duplicate at the end of the file is named with the line of its first appearance */
    csv_free(&in);
    free(text);
    text = users_file("17,,,,,,,0\n7,777,,,,,,0\n");
    parse(text, &in);
    size_t line17 = 0;
    for (size_t r = 0; r < in.nrows; r++)
        if (strcmp(csv_cell(&in, r, 0), "17") == 0 && !line17)
            line17 = in.line[r];
    struct csv bad;
    assert_int_equal(c3_kind_import(C3_KIND_USERS, &ctx, &in, &bad, err, sizeof err), -1);
    char want_err[120];
    snprintf(want_err, sizeof want_err, "line %zu: pin: '17' appears again (first on line %zu)", in.line[in.nrows - 2],
             line17);
    assert_string_equal(err, want_err);
    /* ... and a card already given */
    in.nrows--;
    csv_set(&in, in.nrows - 1, 0, "31999");
    csv_set(&in, in.nrows - 1, 1, "0100007");
    assert_int_equal(c3_kind_import(C3_KIND_USERS, &ctx, &in, &bad, err, sizeof err), -1);
    snprintf(want_err, sizeof want_err, "line %zu: card: 100007 is already the card of pin 7", in.line[in.nrows - 1]);
    assert_string_equal(err, want_err);
    in.nrows++;

    /* well under a second in an optimised build; the bound only catches a return to quadratic work (minutes) */
    if (spent > 10)
        fail_msg("%u users took %.1f s", BASE, spent);
    c3_diff_free(&op);
    c3_diff_free(&raw);
    c3_diff_free(&back);
    csv_free(&cur_raw);
    csv_free(&in);
    csv_free(&cur_op);
    csv_free(&want_raw);
    csv_free(&held);
    free(text);
}

/* Access rights of every user: grouped by user and time zone in the order of their first rows. */
static void whole_access_base(void **state)
{
    (void)state;
    struct csv users, tzs, in, raw;
    char err[200];
    panel_users(&users);
    parse("TimezoneId\n1\n2\n", &tzs);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fputs("pin,door,timezone\n", f);
    for (unsigned pin = BASE; pin >= 1; pin--)
        fprintf(f, "%u,1,1\n", pin);
    for (unsigned pin = 1; pin <= BASE; pin += 2)
        fprintf(f, "%u,%u,%u\n", pin, pin % 4 ? 2 : 3, pin % 3 ? 1 : 2);
    fclose(f);
    double t0 = now_s();
    parse(text, &in);
    struct c3_kind_ctx ctx = { .def = c3_table_find(defs, ndefs, "userauthorize"), .doors = 4, .ref_users = &users,
                               .ref_timezones = &tzs };
    if (c3_kind_import(C3_KIND_ACCESS, &ctx, &in, &raw, err, sizeof err) < 0)
        fail_msg("%s", err);
    double spent = now_s() - t0;
    /* one row per user with time zone 1, one more for the odd users with time zone 2 (pin a multiple of 3) */
    assert_int_equal(raw.nrows, BASE + 5000);
    assert_string_equal(csv_cell(&raw, 0, 0), "30000"); /* the first row's user first */
    assert_string_equal(csv_cell(&raw, 0, 2), "1");
    assert_int_equal(raw.line[0], 2);
    /* user 1: doors 1 and 2 (mask 3) in time zone 1; user 3: door 1 in 1, door 2 in 2 */
    size_t last = raw.nrows - 1;
    assert_string_equal(csv_cell(&raw, BASE - 1, 0), "1");
    assert_string_equal(csv_cell(&raw, BASE - 1, 2), "3");
    assert_string_equal(csv_cell(&raw, BASE - 3, 2), "1");
    assert_string_equal(csv_cell(&raw, BASE, 0), "3"); /* pin 3, time zone 2: a group of its own, door 2 */
    assert_string_equal(csv_cell(&raw, BASE, 1), "2");
    assert_string_equal(csv_cell(&raw, BASE, 2), "2");
    assert_string_equal(csv_cell(&raw, last, 0), "29997");
    assert_int_equal(raw.line[last], BASE + 1 + 14999);
    /* a right given twice is named */
    csv_free(&raw);
    const char *dup[] = { "29999", "2", "1" };
    assert_int_equal(csv_add(&in, dup, 90000), 0);
    assert_int_equal(c3_kind_import(C3_KIND_ACCESS, &ctx, &in, &raw, err, sizeof err), -1);
    assert_string_equal(err, "line 90000: pin: '29999' appears again (first on line 45001)");
    if (spent > 10)
        fail_msg("%u access rows took %.1f s", BASE + BASE / 2, spent);
    csv_free(&users);
    csv_free(&tzs);
    csv_free(&in);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keyidx_finds_first_row),
        cmocka_unit_test(diff_order),
        cmocka_unit_test(check_keys_names_first_line),
        cmocka_unit_test(whole_user_base),
        cmocka_unit_test(whole_access_base),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
