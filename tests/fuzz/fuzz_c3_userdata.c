/* libFuzzer target: CSV files an operator imports (core/csv) turned into a panel's users, cards, access rights,
 * time zones and holidays (drivers/c3/c3_userdata), checked as table rows and exported again; the same files as raw
 * table rows (drivers/c3/c3_rows) rewritten in the form the panel gives back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"
#include "drivers/c3/c3_userdata.h"
#include "tests/unit/fixture_c3tables.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char structure[] =
    FX_C3_STRUCTURE_USERDATA;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static struct c3_table_def defs[4];
    static size_t ndefs;
    if (!ndefs)
        ndefs = (size_t)c3_table_struct_parse(structure, sizeof structure - 1, defs, 4, NULL);
    enum c3_kind k = (enum c3_kind)(data[0] % C3_KIND_COUNT);
    struct csv in, raw, out, out2, users;
    char err[300];
    if (csv_parse((const char *)data + 1, size - 1, &in, err, sizeof err) < 0) {
        if (strncmp(err, "line ", 5) != 0)
            abort(); /* every parse error names its line */
        return 0;
    }
    for (size_t r = 0; r < in.nrows; r++)
        if (in.line[r] < 2)
            abort();
    static const char *const ucols[] = { "UID", "CardNo", "Pin", "Password", "Group", "StartTime", "EndTime", "Name",
                                         "SuperAuthorize" };
    static const char *const u1[] = { "1", "11", "1", "", "0", "0", "0", "A", "0" };
    csv_init(&users, ucols, 9);
    csv_add(&users, u1, 0);
    struct c3_kind_ctx ctx = { .def = c3_table_find(defs, ndefs, c3_kind_table(k)), .doors = 4, .users = &users,
                               .replace = data[0] & 0x80 };
    if (c3_kind_import(k, &ctx, &in, &raw, err, sizeof err) == 0) {
        /* What was accepted is a valid table and exports again. */
        if (c3_rows_check(ctx.def, &raw, err, sizeof err) < 0)
            abort();
        if (c3_kind_export(k, &raw, &out, err, sizeof err) < 0)
            abort();
        struct c3_buf b = { 0 };
        size_t rows[64];
        size_t n = raw.nrows < 64 ? raw.nrows : 64;
        for (size_t i = 0; i < n; i++)
            rows[i] = i;
        if (c3_rows_setdata(ctx.def, &raw, rows, n, &b, err, sizeof err) < 0)
            abort();
        c3_buf_free(&b);
        /* What a kind writes is what the panel gives back: its rows are in the panel's form already. */
        if (c3_rows_canon(ctx.def, &raw, err, sizeof err) < 0 || c3_kind_export(k, &raw, &out2, err, sizeof err) < 0)
            abort();
        if (out2.nrows != out.nrows || out2.ncols != out.ncols)
            abort();
        for (size_t i = 0; i < out.nrows * out.ncols; i++)
            if (strcmp(out.cells[i], out2.cells[i]) != 0)
                abort();
        csv_free(&out2);
        csv_free(&out);
        csv_free(&raw);
    } else if (strncmp(err, "line ", 5) != 0 && strncmp(err, "the panel's row", 15) != 0 &&
               strcmp(err, "out of memory") != 0) {
        abort(); /* every refusal names the line */
    }
    /* The same file as raw rows of the kind's table (portierctl c3 HOST table set): rows that pass the check are
     * rewritten in the panel's form without a new refusal, and that form is a fixed point that still passes. */
    const struct c3_table_def *def = ctx.def;
    if (def && c3_rows_check(def, &in, err, sizeof err) == 0) {
        if (c3_rows_canon(def, &in, err, sizeof err) < 0 || c3_rows_check(def, &in, err, sizeof err) < 0)
            abort();
        struct csv again;
        if (csv_init(&again, (const char *const *)in.header, in.ncols) < 0)
            abort();
        for (size_t r = 0; r < in.nrows; r++)
            if (csv_add(&again, (const char *const *)(in.cells + r * in.ncols), in.line[r]) < 0)
                abort();
        if (c3_rows_canon(def, &again, err, sizeof err) < 0)
            abort();
        for (size_t i = 0; i < in.nrows * in.ncols; i++)
            if (strcmp(in.cells[i], again.cells[i]) != 0)
                abort();
        if (c3_rows_check_keys(def, &in, err, sizeof err) < 0 && strncmp(err, "line ", 5) != 0)
            abort();
        csv_free(&again);
    } else if (def && strncmp(err, "line ", 5) != 0) {
        abort();
    }
    csv_free(&users);
    csv_free(&in);
    return 0;
}
