/* c3_import: the CPU of checking and comparing a whole user base (what `portierctl c3 HOST users import FILE`
 * and `table set user FILE` do between reading the panel's rows and writing: the keys in the panel's form, the
 * import with its duplicate checks, the export of both sides, the difference by key, the read-back comparison;
 * and the access rights of every user) at 1 000, 10 000 and 30 000 rows, against the time to parse the same CSV
 * measured in the same run. The work should grow like the parse (n log n at most): the ratio stays flat.
 * With every row looked up by a scan of the others (before rows were found by sorted key) the ratios at 1 000 /
 * 10 000 / 30 000 rows were: users 127x / 1472x / 4757x, keys 8x / 102x / 266x, access 10x / 103x / 248x; now
 * about 27x / 42x / 44x, 2x / 3x / 4x, 3x / 4x / 5x (doc/decisions.md).
 * Usage: c3_import [MAXROWS]   (default 30000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/csv.h"
#include "drivers/c3/c3_rows.h"
#include "drivers/c3/c3_tables.h"
#include "drivers/c3/c3_userdata.h"
#include "sim/c3sim_userbase.h"

static struct c3_table_def defs[4];
static size_t ndefs;

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *err)
{
    fprintf(stderr, "c3_import: %s: %s\n", what, err);
    exit(1);
}

static char *access_file(size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fputs("pin,door,timezone\n", f);
    for (size_t pin = 1; pin <= n; pin++)
        fprintf(f, "%zu,%zu,1\n", pin, pin % 4 + 1);
    fclose(f);
    return text;
}

struct times {
    double parse, users, keys, access;
    size_t adds, updates, deletes, same;
};

static void one_round(size_t n, const char *file, const char *afile, const struct csv *cur_raw, struct times *t)
{
    char err[300];
    const struct c3_table_def *udef = c3_table_find(defs, ndefs, "user");
    const struct c3_table_def *adef = c3_table_find(defs, ndefs, "userauthorize");
    struct csv in, cur_op, want_raw, held, ain, araw, tzs;
    struct c3_diff op, raw, back;

    double t0 = cpu_s();
    if (csv_parse(file, strlen(file), &in, err, sizeof err) < 0)
        die("parse", err);
    t->parse += cpu_s() - t0;

    /* users import (replace): keys in the panel's form, both sides as operator rows, the rows to write, the
     * difference by the kind's key and by the table's key, the read-back (the same rows: nothing differs) */
    t0 = cpu_s();
    static const char *const opk[] = { "pin" }, *const rawk[] = { "Pin" };
    struct c3_kind_ctx ctx = { .def = udef, .doors = 4, .users = cur_raw, .replace = true };
    if (c3_kind_keys_canon(C3_KIND_USERS, &in) < 0 ||
        c3_kind_export(C3_KIND_USERS, cur_raw, &cur_op, err, sizeof err) < 0 ||
        c3_kind_import(C3_KIND_USERS, &ctx, &in, &want_raw, err, sizeof err) < 0 ||
        c3_kind_export(C3_KIND_USERS, &want_raw, &held, err, sizeof err) < 0)
        die("users import", err);
    if (c3_diff_rows(&cur_op, &held, opk, 1, true, &op) < 0 || c3_diff_rows(cur_raw, &want_raw, rawk, 1, true, &raw) < 0 ||
        c3_diff_rows(&want_raw, &want_raw, rawk, 1, true, &back) < 0)
        die("difference", "out of memory");
    t->users += cpu_s() - t0;
    t->adds = op.adds;
    t->updates = op.updates;
    t->deletes = op.deletes;
    t->same = op.same;
    if (back.adds + back.updates + back.deletes)
        die("read-back", "the same rows differ");

    /* table set user FILE: the raw rows' keys (none empty, none twice) */
    t0 = cpu_s();
    if (c3_rows_check_keys(udef, &want_raw, err, sizeof err) < 0)
        die("keys", err);
    t->keys += cpu_s() - t0;

    /* access import: every user one door, against the panel's users */
    if (csv_parse(afile, strlen(afile), &ain, err, sizeof err) < 0)
        die("parse", err);
    static const char *const tzc[] = { "TimezoneId" };
    static const char *const tz1[] = { "1" };
    if (csv_init(&tzs, tzc, 1) < 0 || csv_add(&tzs, tz1, 0) < 0)
        die("timezones", "out of memory");
    struct c3_kind_ctx actx = { .def = adef, .doors = 4, .ref_users = cur_raw, .ref_timezones = &tzs };
    t0 = cpu_s();
    if (c3_kind_import(C3_KIND_ACCESS, &actx, &ain, &araw, err, sizeof err) < 0)
        die("access import", err);
    t->access += cpu_s() - t0;
    if (araw.nrows != n)
        die("access import", "not one row per user");

    c3_diff_free(&op);
    c3_diff_free(&raw);
    c3_diff_free(&back);
    csv_free(&in);
    csv_free(&cur_op);
    csv_free(&want_raw);
    csv_free(&held);
    csv_free(&ain);
    csv_free(&araw);
    csv_free(&tzs);
}

int main(int argc, char **argv)
{
    size_t max = argc > 1 ? strtoul(argv[1], NULL, 10) : 30000;
    if (max < 1000 || max > 30000) {
        fprintf(stderr, "usage: c3_import [MAXROWS 1000..30000]\n");
        return 2;
    }
    int n = c3sim_userbase_defs(defs, 4);
    if (n < 3)
        die("structure", "not parsed");
    ndefs = (size_t)n;
    static const size_t sizes[] = { 1000, 10000, 30000 };
    printf("C3 user base import, CPU per step against parsing the same CSV (best of rounds)\n");
    printf("%7s %10s %12s %8s %12s %8s %12s %8s   %s\n", "rows", "parse", "users", "ratio", "keys", "ratio",
           "access", "ratio", "adds/changes/deletes/same");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0] && sizes[s] <= max; s++) {
        size_t rows = sizes[s];
        char *file = c3sim_userbase_file(rows, ""), *afile = access_file(rows);
        struct csv cur_raw;
        if (!file || c3sim_userbase_panel(c3_table_find(defs, ndefs, "user"), rows, &cur_raw) < 0)
            die("users", "out of memory");
        struct times best = { 1e9, 1e9, 1e9, 1e9, 0, 0, 0, 0 };
        int rounds = rows <= 1000 ? 20 : rows <= 10000 ? 5 : 3;
        double spent = 0;
        for (int r = 0; r < rounds && (r == 0 || spent < 20); r++) {
            struct times t = { 0 };
            one_round(rows, file, afile, &cur_raw, &t);
            spent += t.parse + t.users + t.keys + t.access;
            best.parse = t.parse < best.parse ? t.parse : best.parse;
            best.users = t.users < best.users ? t.users : best.users;
            best.keys = t.keys < best.keys ? t.keys : best.keys;
            best.access = t.access < best.access ? t.access : best.access;
            best.adds = t.adds;
            best.updates = t.updates;
            best.deletes = t.deletes;
            best.same = t.same;
        }
        printf("%7zu %7.2f ms %9.2f ms %7.1fx %9.2f ms %7.1fx %9.2f ms %7.1fx   %zu/%zu/%zu/%zu\n", rows,
               best.parse * 1e3, best.users * 1e3, best.users / best.parse, best.keys * 1e3, best.keys / best.parse,
               best.access * 1e3, best.access / best.parse, best.adds, best.updates, best.deletes, best.same);
        fflush(stdout);
        csv_free(&cur_raw);
        free(file);
        free(afile);
    }
    return 0;
}
