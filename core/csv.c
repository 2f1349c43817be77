#include "core/csv.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/grow.h"

struct parser {
    const char *p, *end;
    size_t line;
    char *err;
    size_t errlen;
};

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *ps, const char *fmt, ...)
{
    int n = snprintf(ps->err, ps->errlen, "line %zu: ", ps->line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < ps->errlen)
        vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static void free_fields(char **f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(f[i]);
}

/* Consume one line ending at *p ("\r\n", "\n" or a lone "\r"): 1 when one was there, else 0. */
static int eat_eol(const char **p, const char *end)
{
    if (*p >= end || (**p != '\n' && **p != '\r'))
        return 0;
    if (**p == '\r' && *p + 1 < end && (*p)[1] == '\n')
        (*p)++;
    (*p)++;
    return 1;
}

/* Read one record into fields[] (malloc'd strings). Returns the field count, 0 at the end, -1 on error. */
static int read_record(struct parser *ps, char **fields, size_t max)
{
    /* Blank lines between records are skipped. */
    while (eat_eol(&ps->p, ps->end))
        ps->line++;
    if (ps->p >= ps->end)
        return 0;
    size_t n = 0;
    char buf[CSV_FIELD_MAX + 1];
    for (;;) {
        size_t k = 0;
        if (ps->p < ps->end && *ps->p == '"') {
            size_t opened = ps->line;
            ps->p++;
            for (;;) {
                if (ps->p >= ps->end) {
                    ps->line = opened; /* say where the quote opened */
                    return free_fields(fields, n), fail(ps, "a quoted field is not closed");
                }
                char ch = *ps->p++;
                if (ch == '"') {
                    if (ps->p < ps->end && *ps->p == '"') {
                        ps->p++;
                    } else {
                        break;
                    }
                } else if (ch == '\n' || (ch == '\r' && (ps->p >= ps->end || *ps->p != '\n'))) {
                    ps->line++;
                } else if (ch == '\0') {
                    return free_fields(fields, n), fail(ps, "a NUL byte");
                }
                if (k >= CSV_FIELD_MAX)
                    return free_fields(fields, n), fail(ps, "a field longer than %u bytes", CSV_FIELD_MAX);
                buf[k++] = ch;
            }
            if (ps->p < ps->end && *ps->p != ',' && *ps->p != '\n' && *ps->p != '\r')
                return free_fields(fields, n), fail(ps, "text after the closing quote of a field");
        } else {
            while (ps->p < ps->end && *ps->p != ',' && *ps->p != '\n' && *ps->p != '\r') {
                char ch = *ps->p++;
                if (ch == '"')
                    return free_fields(fields, n), fail(ps, "a quote inside an unquoted field (quote the whole field)");
                if (ch == '\0')
                    return free_fields(fields, n), fail(ps, "a NUL byte");
                if (k >= CSV_FIELD_MAX)
                    return free_fields(fields, n), fail(ps, "a field longer than %u bytes", CSV_FIELD_MAX);
                buf[k++] = ch;
            }
        }
        buf[k] = '\0';
        if (n >= max)
            return free_fields(fields, n), fail(ps, "more than %zu fields", max);
        fields[n] = strdup(buf);
        if (!fields[n])
            return free_fields(fields, n), fail(ps, "out of memory");
        n++;
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        ps->line += (size_t)eat_eol(&ps->p, ps->end);
        return (int)n;
    }
}

void csv_free(struct csv *c)
{
    if (c->header)
        free_fields(c->header, c->ncols);
    if (c->cells)
        free_fields(c->cells, c->nrows * c->ncols);
    free(c->header);
    free(c->cells);
    free(c->line);
    memset(c, 0, sizeof *c);
}

static int grow(struct csv *c)
{
    /* two arrays of one capacity: each grows by the same rule, the capacity is kept when both have */
    size_t cap = c->cap, lcap = c->cap;
    char **cells = grow_array(c->cells, c->nrows, &cap, (c->ncols ? c->ncols : 1) * sizeof *cells, 64);
    if (!cells)
        return -1;
    c->cells = cells;
    size_t *lines = grow_array(c->line, c->nrows, &lcap, sizeof *lines, 64);
    if (!lines)
        return -1;
    c->line = lines;
    c->cap = cap;
    return 0;
}

int csv_parse(const char *text, size_t len, struct csv *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct parser ps = { .p = text, .end = text + len, .line = 1, .err = err, .errlen = errlen };
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        ps.p += 3;
    char *f[CSV_FIELDS_MAX];
    int n = read_record(&ps, f, CSV_FIELDS_MAX);
    if (n <= 0) {
        if (n == 0)
            snprintf(err, errlen, "line 1: no header line");
        return -1;
    }
    out->ncols = (size_t)n;
    out->header = malloc((size_t)n * sizeof *out->header);
    if (!out->header) {
        free_fields(f, (size_t)n);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(out->header, f, (size_t)n * sizeof *f);
    for (size_t i = 0; i < out->ncols; i++) {
        if (!out->header[i][0]) {
            snprintf(err, errlen, "line 1: column %zu has no name", i + 1);
            csv_free(out);
            return -1;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(out->header[i], out->header[k]) == 0) {
                snprintf(err, errlen, "line 1: column \"%s\" appears twice", out->header[i]);
                csv_free(out);
                return -1;
            }
    }
    for (;;) {
        size_t line = ps.line;
        /* The line a record starts on is the first non-blank one. */
        const char *q = ps.p;
        while (eat_eol(&q, ps.end))
            line++;
        n = read_record(&ps, f, CSV_FIELDS_MAX);
        if (n == 0)
            return 0;
        if (n < 0 || (size_t)n > out->ncols) {
            if (n > 0) {
                free_fields(f, (size_t)n);
                snprintf(err, errlen, "line %zu: %d fields, the header has %zu", line, n, out->ncols);
            }
            csv_free(out);
            return -1;
        }
        if (grow(out) < 0) {
            free_fields(f, (size_t)n);
            snprintf(err, errlen, "out of memory");
            csv_free(out);
            return -1;
        }
        char **row = out->cells + out->nrows * out->ncols;
        memcpy(row, f, (size_t)n * sizeof *f);
        for (size_t i = (size_t)n; i < out->ncols; i++)
            row[i] = strdup("");
        out->line[out->nrows] = line;
        out->nrows++;
        for (size_t i = (size_t)n; i < out->ncols; i++)
            if (!row[i]) {
                snprintf(err, errlen, "out of memory");
                csv_free(out);
                return -1;
            }
    }
}

int csv_init(struct csv *c, const char *const *cols, size_t ncols)
{
    memset(c, 0, sizeof *c);
    c->header = calloc(ncols ? ncols : 1, sizeof *c->header);
    if (!c->header)
        return -1;
    c->ncols = ncols;
    for (size_t i = 0; i < ncols; i++)
        if (!(c->header[i] = strdup(cols[i]))) {
            csv_free(c);
            return -1;
        }
    return 0;
}

int csv_add(struct csv *c, const char *const *vals, size_t line)
{
    if (grow(c) < 0)
        return -1;
    char **row = c->cells + c->nrows * c->ncols;
    for (size_t i = 0; i < c->ncols; i++)
        if (!(row[i] = strdup(vals && vals[i] ? vals[i] : ""))) {
            free_fields(row, i);
            return -1;
        }
    c->line[c->nrows++] = line;
    return 0;
}

int csv_set(struct csv *c, size_t row, size_t col, const char *val)
{
    char *v = strdup(val);
    if (!v)
        return -1;
    free(c->cells[row * c->ncols + col]);
    c->cells[row * c->ncols + col] = v;
    return 0;
}

int csv_col(const struct csv *c, const char *name)
{
    for (size_t i = 0; i < c->ncols; i++)
        if (strcmp(c->header[i], name) == 0)
            return (int)i;
    return -1;
}

static bool needs_quotes(const char *s)
{
    size_t n = strlen(s);
    return strpbrk(s, ",\"\r\n") != NULL || (n && (s[0] == ' ' || s[n - 1] == ' '));
}

void csv_write_field(FILE *f, const char *s, bool last)
{
    if (needs_quotes(s)) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputs(last ? "\n" : ",", f);
}

void csv_write_row(FILE *f, const char *const *fields, size_t n)
{
    for (size_t i = 0; i < n; i++)
        csv_write_field(f, fields[i], i + 1 == n);
}

char *csv_format_row(const char *const *fields, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += 2 * strlen(fields[i]) + 3;
    char *out = malloc(len), *p = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        bool q = needs_quotes(fields[i]);
        if (q)
            *p++ = '"';
        for (const char *s = fields[i]; *s; s++) {
            if (q && *s == '"')
                *p++ = '"';
            *p++ = *s;
        }
        if (q)
            *p++ = '"';
        if (i + 1 < n)
            *p++ = ',';
    }
    *p = '\0';
    return out;
}

char *csv_format(const struct csv *t, size_t *len)
{
    size_t cap = 0, n = 0;
    char *out = NULL;
    for (size_t r = 0; r <= t->nrows; r++) {
        char *line = csv_format_row((const char *const *)(r ? t->cells + (r - 1) * t->ncols : t->header), t->ncols);
        size_t k = line ? strlen(line) : 0;
        char *o = line ? grow_to(out, n + k + 2, &cap, 1, 256) : NULL;
        if (!o) {
            free(line);
            free(out);
            return NULL;
        }
        out = o;
        memcpy(out + n, line, k);
        n += k;
        out[n++] = '\n';
        out[n] = '\0';
        free(line);
    }
    *len = n;
    return out;
}
