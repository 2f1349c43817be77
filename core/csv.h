/* csv: comma-separated text as RFC 4180 has it (quoted fields, "" for a quote, CRLF or LF) for imports and
 * exports: a parser that keeps line numbers for messages, and a writer that quotes only where needed. */
#ifndef PORTIER_CSV_H
#define PORTIER_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CSV_FIELD_MAX 1024u     /* bytes of one field */
#define CSV_FIELDS_MAX 64u      /* fields of one record */

/* A table of text: the header (first record) and the records after it. */
struct csv {
    size_t ncols;
    char **header;              /* ncols names */
    size_t nrows;
    char **cells;               /* nrows x ncols, row-major; missing trailing fields are "" */
    size_t *line;               /* the line each record starts on (1-based, the header is line 1) */
    size_t cap;                 /* rows allocated */
};

/* Parse text (a UTF-8 byte-order mark and blank lines are skipped). Returns 0, or -1 with "line N: what" in err:
 * unterminated quote, a quote inside an unquoted field, a field or record too long, more fields than the header,
 * an empty or duplicate header name, a NUL byte. */
int csv_parse(const char *text, size_t len, struct csv *out, char *err, size_t errlen);
void csv_free(struct csv *c);
/* Build a table in code: the header, then rows (values copied; line 0 = not from a file). 0 or -1 (memory). */
int csv_init(struct csv *c, const char *const *cols, size_t ncols);
int csv_add(struct csv *c, const char *const *vals, size_t line);
/* Replace one cell. 0 or -1. */
int csv_set(struct csv *c, size_t row, size_t col, const char *val);
/* Column index by name (exact), or -1. */
int csv_col(const struct csv *c, const char *name);
static inline const char *csv_cell(const struct csv *c, size_t row, size_t col)
{
    return c->cells[row * c->ncols + col];
}

/* Write one field (quoted when it holds a comma, quote, CR, LF or leading/trailing space) and the separator
 * (',' or, when last, "\n"). */
void csv_write_field(FILE *f, const char *s, bool last);
/* Write a whole record. */
void csv_write_row(FILE *f, const char *const *fields, size_t n);
/* A record as one line of text without the line end (malloc'd; NULL without memory). */
char *csv_format_row(const char *const *fields, size_t n);
/* The whole table, header first, one line ("\n") per record, NUL-terminated, its length in *len (malloc'd; NULL
 * without memory): what csv_parse reads back as the same table. */
char *csv_format(const struct csv *t, size_t *len);

#endif
