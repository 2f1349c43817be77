/* c3_rows: any data table of a panel as rows of text (core/csv, header = the table's field names): reading a
 * GET_DATA answer, checking and writing SET_DATA / DELETE_DATA bodies, keys, and the difference of two tables. */
#ifndef PORTIER_C3_ROWS_H
#define PORTIER_C3_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/csv.h"
#include "drivers/c3/c3_data.h"
#include "drivers/c3/c3_tables.h"

/* A message about one row of a table being checked or written: c3_row_bad puts "line N: COLUMN: what" in err (N the
 * line of the file the row came from) or "the panel's row N: COLUMN: what" for a row the panel holds (csv line 0),
 * and returns -1. */
struct c3_row_ctx {
    char *err;
    size_t errlen;
    const struct csv *in;
    size_t row;
};
int c3_row_bad(const struct c3_row_ctx *c, const char *col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The key fields of a table (by name; unknown tables: every field). */
size_t c3_table_keys(const struct c3_table_def *def, const char **keys, size_t max);
/* Whether the table's key is known (c3_table_keys is not just every field). */
bool c3_table_keyed(const struct c3_table_def *def);
/* A GET_DATA reply that asked for every field of def (in def order) as raw rows. */
int c3_rows_decode(const struct c3_table_def *def, const uint8_t *data, size_t len, struct csv *out, char *err,
                   size_t errlen);
/* The GET_DATA request for every field of def. */
int c3_rows_query(const struct c3_table_def *def, struct c3_buf *b);
/* Check raw rows (columns = field names of def, any subset) against the field types and the firmware's 10-byte
 * value limit. "LINE: FIELD: what" on the first problem. */
int c3_rows_check(const struct c3_table_def *def, const struct csv *raw, char *err, size_t errlen);
/* The cells of raw (columns that are fields of def; other columns are left alone) rewritten in the form the panel
 * gives them back after a write: an empty number is 0, numbers without leading zeros, byte streams in lower-case
 * hex, text as it is. Fails like c3_rows_check on a value the panel cannot take (also a text longer than the
 * firmware keeps of that field: user.Password 8). */
int c3_rows_canon(const struct c3_table_def *def, struct csv *raw, char *err, size_t errlen);
/* The same for one value of a field (by name, any case): 0, or -1 with in copied to out unchanged. */
int c3_rows_canon_value(const struct c3_table_def *def, const char *field, const char *in, char *out, size_t cap);
/* Rows to be written to a table whose key is known: no key cell is empty (the panel would store 0) and no key
 * appears twice (the firmware would keep the last row of the two). "line N: FIELD: what" on the first problem. */
int c3_rows_check_keys(const struct c3_table_def *def, const struct csv *raw, char *err, size_t errlen);
/* SET_DATA body with every field of def for the given rows of raw (missing columns are sent as 0 / empty: the
 * firmware zeroes what is not sent anyway). */
int c3_rows_setdata(const struct c3_table_def *def, const struct csv *raw, const size_t *rows, size_t n,
                    struct c3_buf *b, char *err, size_t errlen);
/* DELETE_DATA body selecting rows by the table's key fields. */
int c3_rows_deldata(const struct c3_table_def *def, const struct csv *raw, const size_t *rows, size_t n,
                    struct c3_buf *b, char *err, size_t errlen);

/* ---- rows by key ----
 * A table's rows ordered by some of its columns (their text compared exactly, then by row number), so that the
 * rows of a key are found in O(log n): what the duplicate checks, the difference and the requests' lookups of a
 * table of tens of thousands of users stand on. */
struct c3_keyidx {
    const struct csv *t;
    int col[8];
    size_t nk;
    size_t *order;      /* t's rows sorted by key, then by row */
};
/* Index t by columns cols[0..nk) (nk <= 8; 0 columns: every row has the same key). 0 or -1 (memory, nk > 8). */
int c3_keyidx_build(struct c3_keyidx *x, const struct csv *t, const int *cols, size_t nk);
void c3_keyidx_free(struct c3_keyidx *x);
/* The position in x->order of the first row whose key is key[0..nk) (or where it would be). */
size_t c3_keyidx_lower(const struct c3_keyidx *x, const char *const *key);
/* Whether the row at position pos of x->order has the key key[0..nk). */
bool c3_keyidx_at(const struct c3_keyidx *x, size_t pos, const char *const *key);
/* The first row (in row order) whose key is key[0..nk), or x->t->nrows. */
size_t c3_keyidx_find(const struct c3_keyidx *x, const char *const *key);
/* The same for the key of row r of src (its columns scols[0..nk)). */
size_t c3_keyidx_find_row(const struct c3_keyidx *x, const struct csv *src, size_t r, const int *scols);

/* ---- the difference ---- */
enum c3_change_op { C3_CHANGE_ADD, C3_CHANGE_UPDATE, C3_CHANGE_DELETE };
struct c3_change {
    enum c3_change_op op;
    size_t want;        /* row in want (add, update) */
    size_t cur;         /* row in cur (update, delete) */
};
struct c3_diff {
    struct c3_change *v;
    size_t n;
    size_t adds, updates, deletes, same;
    size_t cap;         /* changes allocated */
};
/* Compare rows by the given key columns (both tables have them): each row of want, in want's order, is the add or
 * update of the first row of cur with its key not matched yet; then, when deletes, the rows of cur that no row of
 * want matched are deleted (a whole-table import), in cur's order, else left alone. O(n log n). 0 or -1 (memory).
 */
int c3_diff_rows(const struct csv *cur, const struct csv *want, const char *const *keys, size_t nkeys, bool deletes,
                 struct c3_diff *d);
void c3_diff_free(struct c3_diff *d);

#endif
