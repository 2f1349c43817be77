/* Unit tests for CSV text (core/csv) and the operator form of a panel's users, cards, access rights, time zones
 * and holidays (drivers/c3/c3_userdata): every check names the line and the column; exports are sorted and
 * import back to the same rows; the difference of two tables by key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/csv.h"
#include "drivers/c3/c3_userdata.h"
#include "fixture_c3tables.h"

static void csv_parse_quotes_lines_and_errors(void **state)
{
    (void)state;
    static const char t[] = "\xEF\xBB\xBFpin,name,note\r\n7,\"Doe, Jane\",\"say \"\"hi\"\"\"\r\n\r\n8,Bob\n9,\"two\nlines\",x\n";
    struct csv c;
    char err[160];
    assert_int_equal(csv_parse(t, sizeof t - 1, &c, err, sizeof err), 0);
    assert_int_equal(c.ncols, 3);
    assert_int_equal(c.nrows, 3);
    assert_string_equal(csv_cell(&c, 0, 1), "Doe, Jane");
    assert_string_equal(csv_cell(&c, 0, 2), "say \"hi\"");
    assert_string_equal(csv_cell(&c, 1, 2), ""); /* missing trailing field */
    assert_string_equal(csv_cell(&c, 2, 1), "two\nlines");
    assert_int_equal(c.line[0], 2);
    assert_int_equal(c.line[1], 4);
    assert_int_equal(c.line[2], 5);
    assert_int_equal(csv_col(&c, "note"), 2);
    assert_int_equal(csv_col(&c, "nope"), -1);
    /* written back whole, it reads back as the same table */
    size_t len;
    char *text = csv_format(&c, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    struct csv back;
    assert_int_equal(csv_parse(text, len, &back, err, sizeof err), 0);
    assert_int_equal(back.nrows, c.nrows);
    for (size_t r = 0; r < c.nrows; r++)
        for (size_t k = 0; k < c.ncols; k++)
            assert_string_equal(csv_cell(&back, r, k), csv_cell(&c, r, k));
    csv_free(&back);
    free(text);
    csv_free(&c);
    /* A lone CR ends a line too (old Mac files): records are numbered by the lines they start on. */
    static const char cr[] = "pin,name\r7,Ann\r\r8,Bob\r\n9,Cy";
    assert_int_equal(csv_parse(cr, sizeof cr - 1, &c, err, sizeof err), 0);
    assert_int_equal(c.nrows, 3);
    assert_int_equal(c.line[0], 2);
    assert_int_equal(c.line[1], 4);
    assert_int_equal(c.line[2], 5);
    assert_string_equal(csv_cell(&c, 1, 1), "Bob");
    csv_free(&c);
    static const struct { const char *text, *want; } bad[] = {
        { "a,b\n1,2,3\n", "line 2: 3 fields" },
        { "a,b\n1,\"open\n", "line 2: a quoted field is not closed" },
        { "a,b\n1,x\"y\n", "line 2: a quote inside" },
        { "a,a\n", "line 1: column \"a\" appears twice" },
        { "a,,b\n", "line 1: column 2 has no name" },
        { "", "line 1: no header line" },
        { "a\n\"x\"y\n", "line 2: text after the closing quote" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(csv_parse(bad[i].text, strlen(bad[i].text), &c, err, sizeof err), -1);
        if (!strstr(err, bad[i].want))
            fail_msg("'%s': got '%s'", bad[i].text, err);
    }
}

static void formats(void **state)
{
    (void)state;
    uint32_t v;
    char t[64], err[96];
    assert_int_equal(c3_date_parse("2024-02-29", &v), 0);
    assert_int_equal(v, 20240229);
    assert_int_equal(c3_date_parse("2023-02-29", &v), -1);
    assert_int_equal(c3_date_parse("2024-2-1", &v), -1);
    assert_int_equal(c3_date_parse("1999-12-31", &v), -1);
    c3_date_format(20100101, t, sizeof t);
    assert_string_equal(t, "2010-01-01");
    c3_date_format(0, t, sizeof t);
    assert_string_equal(t, "");
    uint32_t w[3];
    assert_int_equal(c3_tz_day_parse("08:30-12:00 13:00-17:30", w, err, sizeof err), 0);
    assert_int_equal(w[0], (830u << 16) + 1200u); /* spec §3.5 example 0x033E04B0 */
    assert_int_equal(w[0], 0x033E04B0u);
    assert_int_equal(w[2], 0);
    c3_tz_day_format(w, t, sizeof t);
    assert_string_equal(t, "08:30-12:00 13:00-17:30");
    assert_int_equal(c3_tz_day_parse("", w, err, sizeof err), 0);
    assert_int_equal(w[0] | w[1] | w[2], 0);
    assert_int_equal(c3_tz_day_parse("00:00-01:00 02:00-03:00 04:00-05:00 06:00-07:00", w, err, sizeof err), -1);
    assert_non_null(strstr(err, "more than 3"));
    assert_int_equal(c3_tz_day_parse("12:00-08:00", w, err, sizeof err), -1);
    assert_int_equal(c3_tz_day_parse("08:00-12:00 11:00-13:00", w, err, sizeof err), -1);
    assert_non_null(strstr(err, "overlaps"));
    assert_int_equal(c3_tz_day_parse("24:00-24:30", w, err, sizeof err), -1);
    assert_int_equal(c3_tz_day_parse("8:00-12:00", w, err, sizeof err), -1);
}

/* The new-layout user table and the others, as a panel describes them. */
static const char structure[] =
    FX_C3_STRUCTURE_USERDATA
    "userold=11,CardNo=i1,Pin=i2,Password=s3,Group=i4,StartTime=i5,EndTime=i6,SuperAuthorize=i7\n"
    "templatev10=10,Size=i1,UID=i2,Pin=i3,FingerID=i4,Valid=i5,Template=B6,Resverd=s7,EndTag=i8\n";

static struct c3_table_def defs[8];
static size_t ndefs;

static int setup(void **state)
{
    (void)state;
    int n = c3_table_struct_parse(structure, sizeof structure - 1, defs, 8, NULL);
    assert_int_equal(n, 6);
    ndefs = (size_t)n;
    return 0;
}

static void parse_csv(const char *text, struct csv *c)
{
    char err[160];
    if (csv_parse(text, strlen(text), c, err, sizeof err) < 0)
        fail_msg("%s", err);
}

/* Import text, export it again: the same text. */
static void roundtrip(enum c3_kind k, const char *table, const char *text)
{
    struct csv in, raw, out;
    char err[200];
    parse_csv(text, &in);
    struct c3_kind_ctx ctx = { .def = c3_table_find(defs, ndefs, table), .doors = 4 };
    if (c3_kind_import(k, &ctx, &in, &raw, err, sizeof err) < 0)
        fail_msg("%s: %s", c3_kind_name(k), err);
    assert_int_equal(c3_rows_check(ctx.def, &raw, err, sizeof err), 0);
    assert_int_equal(c3_kind_export(k, &raw, &out, err, sizeof err), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    csv_write_row(f, (const char *const *)out.header, out.ncols);
    for (size_t r = 0; r < out.nrows; r++)
        csv_write_row(f, (const char *const *)(out.cells + r * out.ncols), out.ncols);
    fclose(f);
    if (strcmp(buf, text) != 0)
        fail_msg("%s export differs:\n%s---\n%s", c3_kind_name(k), buf, text);
    free(buf);
    csv_free(&in);
    csv_free(&raw);
    csv_free(&out);
}

static void roundtrips(void **state)
{
    (void)state;
    roundtrip(C3_KIND_USERS, "user",
              "pin,card,password,group,start,end,name,super\n"
              "1,1234567,4321,0,,,Alice,0\n"
              "2,,,3,2024-01-01,2024-12-31,\"Bob, Jr\",1\n"
              "10,99,,0,,,,0\n");
    roundtrip(C3_KIND_ACCESS, "userauthorize",
              "pin,door,timezone\n1,1,1\n1,2,1\n1,4,2\n2,3,1\n");
    roundtrip(C3_KIND_TIMEZONES, "timezone",
              "id,sun,mon,tue,wed,thu,fri,sat,hol1,hol2,hol3\n"
              "1,00:00-23:59,00:00-23:59,00:00-23:59,00:00-23:59,00:00-23:59,00:00-23:59,00:00-23:59,,,\n"
              "2,,08:00-12:00 13:00-17:00,08:00-12:00 13:00-17:00,08:00-17:00,08:00-17:00,07:00-09:00 10:00-11:00 "
              "12:00-13:00,,,,10:00-12:00\n");
    roundtrip(C3_KIND_HOLIDAYS, "holiday", "date,type,loop\n2024-01-01,1,yearly\n2024-12-24,2,once\n");
}

static void import_error(enum c3_kind k, const char *table, const char *text, const char *want)
{
    struct csv in, raw;
    char err[200] = "";
    parse_csv(text, &in);
    struct c3_kind_ctx ctx = { .def = c3_table_find(defs, ndefs, table), .doors = 2 };
    assert_int_equal(c3_kind_import(k, &ctx, &in, &raw, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("%s: got '%s', want '%s'", c3_kind_name(k), err, want);
    csv_free(&in);
}

static void bad_rows_name_line_and_field(void **state)
{
    (void)state;
    import_error(C3_KIND_USERS, "user", "pin,card\n1,5\n2,12a\n", "line 3: card: '12a' is not a number");
    import_error(C3_KIND_USERS, "user", "pin,card\n1,5\n2,5\n", "line 3: card: 5 is already the card of pin 1");
    import_error(C3_KIND_USERS, "user", "pin,card\n1,5\n\n1,6\n", "line 4: pin: '1' appears again (first on line 2)");
    import_error(C3_KIND_USERS, "user", "pin\n0\n", "line 2: pin: '0' is not a number 1-4294967295");
    import_error(C3_KIND_USERS, "user", "pin,password\n1,12ab\n", "line 2: password: '12ab': only digits");
    import_error(C3_KIND_USERS, "user", "pin,password\n1,123456789\n", "password: '123456789' is longer than 8");
    import_error(C3_KIND_USERS, "user", "pin,name\n1,A very long name\n", "name: 'A very long name' is longer than 10");
    import_error(C3_KIND_USERS, "user", "pin,start,end\n1,2024-05-01,2024-04-01\n", "line 2: end: 2024-04-01 is before");
    import_error(C3_KIND_USERS, "user", "pin,start\n1,2024-13-01\n", "line 2: start: '2024-13-01' is not a date");
    import_error(C3_KIND_USERS, "user", "pin,super\n1,2\n", "line 2: super: '2' is not a number 0-1");
    import_error(C3_KIND_USERS, "user", "pin,colour\n1,red\n", "line 1: colour: unknown column");
    import_error(C3_KIND_USERS, "user", "card\n1\n", "line 1: pin: the column is missing");
    import_error(C3_KIND_USERS, "userold", "pin,name\n1,Ann\n", "keeps no names");
    import_error(C3_KIND_ACCESS, "userauthorize", "pin,door,timezone\n1,3,1\n", "line 2: door: '3' is not a number 1-2");
    import_error(C3_KIND_ACCESS, "userauthorize", "pin,door,timezone\n1,1,0\n", "line 2: timezone");
    import_error(C3_KIND_TIMEZONES, "timezone", "id,mon\n1,08:00-09:00 10:00-11:00 12:00-13:00 14:00-15:00\n",
                 "line 2: mon: more than 3 intervals in one day");
    import_error(C3_KIND_TIMEZONES, "timezone", "id,sat\n1,9-17\n", "line 2: sat: '9-17' is not an interval");
    import_error(C3_KIND_HOLIDAYS, "holiday", "date,type\n2024-02-30,1\n", "line 2: date: '2024-02-30' is not a date");
    import_error(C3_KIND_HOLIDAYS, "holiday", "date,type\n2024-02-03,4\n", "line 2: type: '4' is not a number 1-3");
    import_error(C3_KIND_HOLIDAYS, "holiday", "date,loop\n2024-02-03,weekly\n", "line 2: loop: 'weekly'");
}

/* Raw rows name where they came from (a file's line, or the panel's row for rows read from it) in every check; an
 * empty or missing cell is written as 0 for a number and as no bytes for text. */
static void raw_rows_name_origin_and_empty_cells(void **state)
{
    (void)state;
    const struct c3_table_def *def = c3_table_find(defs, ndefs, "user");
    assert_non_null(def);
    static const char *const cols[] = { "Pin", "Password" };
    struct csv raw;
    char err[200];
    assert_int_equal(csv_init(&raw, cols, 2), 0);
    assert_int_equal(csv_add(&raw, (const char *const[]){ "x", "" }, 0), 0);
    assert_int_equal(c3_rows_check(def, &raw, err, sizeof err), -1);
    assert_string_equal(err, "the panel's row 1: Pin: 'x' is not a number");
    assert_int_equal(csv_set(&raw, 0, 0, "5"), 0);
    assert_int_equal(csv_add(&raw, (const char *const[]){ "y", "" }, 7), 0);
    assert_int_equal(c3_rows_check(def, &raw, err, sizeof err), -1);
    assert_string_equal(err, "line 7: Pin: 'y' is not a number");
    struct c3_buf b = { 0 };
    size_t row1 = 1;
    assert_int_equal(c3_rows_deldata(def, &raw, &row1, 1, &b, err, sizeof err), -1);
    assert_string_equal(err, "line 7: Pin: 'y' is not a number");
    c3_buf_free(&b);
    assert_int_equal(csv_set(&raw, 1, 0, "6"), 0);

    /* the same rows with every field given: 0 for numbers, empty text */
    struct csv full;
    const char *fcols[C3_TABLE_FIELDS_MAX], *vals[C3_TABLE_FIELDS_MAX];
    for (size_t f = 0; f < def->nfields; f++)
        fcols[f] = def->fields[f].name;
    assert_int_equal(csv_init(&full, fcols, def->nfields), 0);
    for (size_t r = 0; r < 2; r++) {
        for (size_t f = 0; f < def->nfields; f++)
            vals[f] = strcmp(def->fields[f].name, "Pin") == 0 ? csv_cell(&raw, r, 0)
                      : def->fields[f].type == 's'             ? ""
                                                               : "0";
        assert_int_equal(csv_add(&full, vals, 0), 0);
    }
    const size_t rows[] = { 0, 1 };
    struct c3_buf a = { 0 }, c = { 0 };
    assert_int_equal(c3_rows_setdata(def, &raw, rows, 2, &a, err, sizeof err), 0);
    assert_int_equal(c3_rows_setdata(def, &full, rows, 2, &c, err, sizeof err), 0);
    assert_int_equal(a.len, c.len);
    assert_memory_equal(a.p, c.p, a.len);
    c3_buf_free(&a);
    c3_buf_free(&c);
    assert_int_equal(c3_rows_deldata(def, &raw, rows, 2, &a, err, sizeof err), 0);
    assert_int_equal(c3_rows_deldata(def, &full, rows, 2, &c, err, sizeof err), 0);
    assert_int_equal(a.len, c.len);
    assert_memory_equal(a.p, c.p, a.len);
    c3_buf_free(&a);
    c3_buf_free(&c);
    csv_free(&raw);
    csv_free(&full);
}

/* Raw rows in the form the panel gives them back after a write (what a dry run shows and a read-back compares):
 * an empty number is 0, no leading zeros, empty text and bytes stay empty, hex in lower case; keys checked. */
static void raw_rows_as_the_panel_holds_them(void **state)
{
    (void)state;
    const struct c3_table_def *user = c3_table_find(defs, ndefs, "user");
    const struct c3_table_def *tpl = c3_table_find(defs, ndefs, "templatev10");
    assert_true(c3_table_keyed(user));
    assert_false(c3_table_keyed(tpl)); /* key not known: every field is the key, none is refused for being empty */
    static const char *const cols[] = { "Pin", "UID", "CardNo", "Password", "Name", "Other" };
    struct csv raw;
    char err[200], v[64];
    assert_int_equal(csv_init(&raw, cols, 6), 0);
    assert_int_equal(csv_add(&raw, (const char *const[]){ "007", "", "", "", "Ann", "x" }, 2), 0);
    assert_int_equal(csv_add(&raw, (const char *const[]){ "8", "0", "00123", "1234", "", "" }, 3), 0);
    assert_int_equal(c3_rows_check_keys(user, &raw, err, sizeof err), 0);
    assert_int_equal(c3_rows_canon(user, &raw, err, sizeof err), 0);
    static const char *const want[2][6] = { { "7", "0", "0", "", "Ann", "x" }, { "8", "0", "123", "1234", "", "" } };
    for (size_t r = 0; r < 2; r++)
        for (size_t k = 0; k < 6; k++)
            assert_string_equal(csv_cell(&raw, r, k), want[r][k]);
    /* a key twice (after the rewriting), an empty key, a password the firmware would cut */
    assert_int_equal(csv_add(&raw, (const char *const[]){ "7", "", "", "", "", "" }, 5), 0);
    assert_int_equal(c3_rows_check_keys(user, &raw, err, sizeof err), -1);
    assert_string_equal(err, "line 5: Pin: the key Pin=7 appears again (first on line 2)");
    assert_int_equal(csv_set(&raw, 2, 0, ""), 0);
    assert_int_equal(c3_rows_check_keys(user, &raw, err, sizeof err), -1);
    assert_string_equal(err, "line 5: Pin: empty, but it is the row's key (write 0 if 0 is meant)");
    assert_int_equal(csv_set(&raw, 2, 0, "9"), 0);
    assert_int_equal(csv_set(&raw, 2, 3, "123456789"), 0);
    assert_int_equal(c3_rows_canon(user, &raw, err, sizeof err), -1);
    assert_string_equal(err, "line 5: Password: '123456789' is longer than the 8 characters the panel keeps");
    csv_free(&raw);
    /* bytes: empty stays empty (not a 0), hex in lower case; a table without a known key checks no key */
    static const char *const tcols[] = { "Pin", "Template", "Resverd" };
    assert_int_equal(csv_init(&raw, tcols, 3), 0);
    assert_int_equal(csv_add(&raw, (const char *const[]){ "1", "", "" }, 2), 0);
    assert_int_equal(csv_add(&raw, (const char *const[]){ "", "0A0b", "r" }, 3), 0);
    assert_int_equal(c3_rows_check(tpl, &raw, err, sizeof err), 0);
    assert_int_equal(c3_rows_check_keys(tpl, &raw, err, sizeof err), 0);
    assert_int_equal(c3_rows_canon(tpl, &raw, err, sizeof err), 0);
    assert_string_equal(csv_cell(&raw, 0, 1), "");
    assert_string_equal(csv_cell(&raw, 1, 0), "0");
    assert_string_equal(csv_cell(&raw, 1, 1), "0a0b");
    csv_free(&raw);
    /* one value (--where) */
    assert_int_equal(c3_rows_canon_value(user, "pin", "0042", v, sizeof v), 0);
    assert_string_equal(v, "42");
    assert_int_equal(c3_rows_canon_value(user, "Pin", "4x", v, sizeof v), -1);
    assert_string_equal(v, "4x");
    assert_int_equal(c3_rows_canon_value(user, "Nope", "1", v, sizeof v), -1);
}

static void cards_go_into_users(void **state)
{
    (void)state;
    struct csv users_op, users, cards, raw, out;
    char err[200];
    parse_csv("pin,card,name\n1,11,Ann\n2,22,Bo\n3,,Cy\n", &users_op);
    struct c3_kind_ctx uctx = { .def = c3_table_find(defs, ndefs, "user") };
    assert_int_equal(c3_kind_import(C3_KIND_USERS, &uctx, &users_op, &users, err, sizeof err), 0);
    parse_csv("card,pin\n33,3\n44,1\n", &cards);
    struct c3_kind_ctx cctx = { .def = uctx.def, .users = &users, .replace = true };
    assert_int_equal(c3_kind_import(C3_KIND_CARDS, &cctx, &cards, &raw, err, sizeof err), 0);
    assert_int_equal(c3_kind_export(C3_KIND_CARDS, &raw, &out, err, sizeof err), 0);
    assert_int_equal(out.nrows, 2); /* user 2 lost card 22 (not in the file) */
    assert_string_equal(csv_cell(&out, 0, 0), "33");
    assert_string_equal(csv_cell(&out, 0, 2), "Cy");
    assert_string_equal(csv_cell(&out, 1, 0), "44");
    csv_free(&cards);
    csv_free(&raw);
    csv_free(&out);
    parse_csv("card,pin\n55,9\n", &cards);
    assert_int_equal(c3_kind_import(C3_KIND_CARDS, &cctx, &cards, &raw, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 2: pin: 9 is not a user of this panel"));
    csv_free(&cards);
    csv_free(&users_op);
    csv_free(&users);
}

/* A name the panel holds already (other software wrote bytes the operator's checks refuse) is kept: the user can
 * get another card with that name in the row; a new name, or the name of another user, is still checked. */
static void held_names_kept(void **state)
{
    (void)state;
    struct csv held, in, raw;
    char err[200];
    parse_csv("CardNo,Pin,Password,Group,StartTime,EndTime,Name,SuperAuthorize\n3003,3,,0,0,0,J\xC3\xBCrgen,0\n"
              "4004,4,,0,0,0,Ann,0\n", &held);
    struct c3_kind_ctx ctx = { .def = c3_table_find(defs, ndefs, "user"), .users = &held };
    parse_csv("pin,card,name\n3,3010,J\xC3\xBCrgen\n", &in);
    if (c3_kind_import(C3_KIND_USERS, &ctx, &in, &raw, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_string_equal(csv_cell(&raw, 0, (size_t)csv_col(&raw, "Name")), "J\xC3\xBCrgen");
    csv_free(&in);
    csv_free(&raw);
    parse_csv("pin,name\n3,J\xC3\xBCrg\n", &in);
    assert_int_equal(c3_kind_import(C3_KIND_USERS, &ctx, &in, &raw, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 2: name: "));
    assert_non_null(strstr(err, "only printable ASCII"));
    csv_free(&in);
    parse_csv("pin,name\n4,J\xC3\xBCrgen\n", &in);
    assert_int_equal(c3_kind_import(C3_KIND_USERS, &ctx, &in, &raw, err, sizeof err), -1);
    assert_non_null(strstr(err, "only printable ASCII"));
    csv_free(&in);
    csv_free(&held);
}

static void differences(void **state)
{
    (void)state;
    struct csv cur, want;
    parse_csv("pin,card\n1,10\n2,20\n3,30\n", &cur);
    parse_csv("pin,card\n3,30\n1,11\n4,40\n", &want);
    static const char *const keys[] = { "pin" };
    struct c3_diff d;
    assert_int_equal(c3_diff_rows(&cur, &want, keys, 1, true, &d), 0);
    assert_int_equal(d.same, 1);
    assert_int_equal(d.updates, 1);
    assert_int_equal(d.adds, 1);
    assert_int_equal(d.deletes, 1);
    c3_diff_free(&d);
    assert_int_equal(c3_diff_rows(&cur, &want, keys, 1, false, &d), 0);
    assert_int_equal(d.deletes, 0);
    c3_diff_free(&d);
    csv_free(&cur);
    csv_free(&want);
}


/* A user's doors: the rule of the console's editor and of `users add|set --doors`. */
static void user_doors(void **state)
{
    (void)state;
    unsigned d[C3_DOORS_MAX];
    char err[200];
    assert_int_equal(c3_doors_parse("", 2, "P", d, err, sizeof err), 0);
    assert_int_equal(c3_doors_parse(" , ", 2, "P", d, err, sizeof err), 0);
    assert_int_equal(c3_doors_parse("2, 1 2", 2, "P", d, err, sizeof err), 2);
    assert_int_equal(d[0], 2);
    assert_int_equal(d[1], 1);
    assert_int_equal(c3_doors_parse("1 2 3 4 4 1", 4, "P", d, err, sizeof err), 4);
    assert_int_equal(c3_doors_parse("1 3", 2, "Panel A", d, err, sizeof err), -1);
    assert_string_equal(err, "3 is not a door of Panel A (1-2, separated by spaces)");
    assert_int_equal(c3_doors_parse("1 x", 4, "P", d, err, sizeof err), -1);
    assert_string_equal(err, "x is not a door of P (1-4, separated by spaces)");
    assert_int_equal(c3_doors_parse("12", 4, "P", d, err, sizeof err), -1);
    assert_int_equal(c3_doors_parse("0", 4, "P", d, err, sizeof err), -1);
    assert_int_equal(c3_doors_parse("5", 9, "P", d, err, sizeof err), -1); /* never more than a C3 has */

    struct csv tzs = { 0 };
    char perr[100];
    assert_int_equal(csv_parse("id,mon\n1,\n2,08:00-09:00\n", 24, &tzs, perr, sizeof perr), 0);
    assert_int_equal(c3_doors_tz_check("2", &tzs, err, sizeof err), 0);
    assert_int_equal(c3_doors_tz_check("9", &tzs, err, sizeof err), -1);
    assert_string_equal(err, "the panel has no time zone 9 (it has 1 2)");
    assert_int_equal(c3_doors_tz_check("", &tzs, err, sizeof err), -1);
    assert_int_equal(c3_doors_tz_check("1a", &tzs, err, sizeof err), -1);
    assert_string_equal(err, "the id of one of the panel's time zones (1 = its first)");
    assert_int_equal(c3_doors_tz_check("7", NULL, err, sizeof err), 0); /* not read: the panel checks */
    struct csv none = { 0 };
    assert_int_equal(csv_parse("id,mon\n", 7, &none, perr, sizeof perr), 0);
    assert_int_equal(c3_doors_tz_check("1", &none, err, sizeof err), -1);
    assert_string_equal(err, "the panel has no time zone 1 (it has none: add one with portierctl timezones add)");
    csv_free(&none);
    csv_free(&tzs);

    struct csv acc = { 0 };
    unsigned two[2] = { 2, 1 };
    assert_int_equal(c3_doors_access("7", two, 2, "3", &acc), 0);
    assert_int_equal(acc.nrows, 2);
    assert_string_equal(acc.header[0], "pin");
    assert_string_equal(csv_cell(&acc, 0, 1), "2");
    assert_string_equal(csv_cell(&acc, 1, 2), "3");
    char line[80];
    c3_doors_added_text(&acc, 1, line, sizeof line);
    assert_string_equal(line, "+ pin=7 door=1 timezone=3");
    csv_free(&acc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(csv_parse_quotes_lines_and_errors),
        cmocka_unit_test(formats),
        cmocka_unit_test_setup(roundtrips, setup),
        cmocka_unit_test_setup(bad_rows_name_line_and_field, setup),
        cmocka_unit_test_setup(raw_rows_name_origin_and_empty_cells, setup),
        cmocka_unit_test_setup(raw_rows_as_the_panel_holds_them, setup),
        cmocka_unit_test_setup(cards_go_into_users, setup),
        cmocka_unit_test_setup(held_names_kept, setup),
        cmocka_unit_test(differences),
        cmocka_unit_test(user_doors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
