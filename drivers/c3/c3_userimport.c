/* c3_userimport: operator rows (a CSV file or one command line) checked and turned into a panel table's rows
 * (c3_kind_import of c3_userdata.h): columns, field checks, duplicate keys and cards, and the references of access
 * rows, each row found in O(log n) through sorted lookups. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/strbuf.h"
#include "drivers/c3/c3_userdata.h"
#include "drivers/c3/c3_userdata_int.h"

static const char *in_get(const struct csv *in, size_t row, const int *col, size_t i)
{
    return col[i] >= 0 ? csv_cell(in, row, (size_t)col[i]) : "";
}

static int want_u32(struct c3_row_ctx *c, const char *col, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (!c3u_parse_num(s, max, &v) || v < min)
        return c3_row_bad(c, col, "'%s' is not a number %u-%u", s, min, max);
    *out = (uint32_t)v;
    return 0;
}

static int check_text(struct c3_row_ctx *c, const char *col, const char *s, size_t max, bool digits)
{
    size_t n = strlen(s);
    if (n > max)
        return c3_row_bad(c, col, "'%s' is longer than %zu characters (the panel keeps no more)", s, max);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (digits && !isdigit(ch))
            return c3_row_bad(c, col, "'%s': only digits (a keypad password)", s);
        if (ch < 0x20 || ch > 0x7E)
            return c3_row_bad(c, col, "'%s': only printable ASCII characters", s);
    }
    return 0;
}

/* Columns of the input: every one must be known, the kind's keys must be there. */
static int map_columns(struct c3_row_ctx *c, enum c3_kind k, int *col)
{
    const char *const *cols;
    size_t nc = c3_kind_columns(k, &cols);
    for (size_t i = 0; i < nc; i++)
        col[i] = csv_col(c->in, cols[i]);
    for (size_t j = 0; j < c->in->ncols; j++) {
        bool known = false;
        for (size_t i = 0; i < nc; i++)
            known |= strcmp(c->in->header[j], cols[i]) == 0;
        if (!known) {
            char list[200];
            struct strbuf sb;
            STRBUF_ON(&sb, list);
            strbuf_join(&sb, ",", cols, nc);
            snprintf(c->err, c->errlen, "line 1: %s: unknown column (%s has %s)", c->in->header[j], c3_kind_name(k),
                     list);
            return -1;
        }
    }
    const char *const *keys;
    size_t nk = c3_kind_keys(k, &keys);
    for (size_t i = 0; i < nk; i++)
        if (csv_col(c->in, keys[i]) < 0) {
            snprintf(c->err, c->errlen, "line 1: %s: the column is missing", keys[i]);
            return -1;
        }
    return 0;
}

static int raw_init(const struct c3_table_def *def, struct csv *raw)
{
    const char *names[C3_TABLE_FIELDS_MAX];
    for (size_t i = 0; i < def->nfields; i++)
        names[i] = def->fields[i].name;
    return csv_init(raw, names, def->nfields);
}

/* A raw row of the table with every field 0. */
static void rzero(const struct c3_table_def *def, const char **vals, char (*buf)[48])
{
    for (size_t f = 0; f < def->nfields; f++) {
        snprintf(buf[f], sizeof buf[0], "0");
        vals[f] = buf[f];
    }
}

/* Set a raw field by name (ignored when the table has no such field). */
static void rset(const struct c3_table_def *def, const char **vals, char (*buf)[48], const char *field, const char *v)
{
    for (size_t i = 0; i < def->nfields; i++)
        if (strcasecmp(def->fields[i].name, field) == 0) {
            snprintf(buf[i], sizeof buf[0], "%s", v);
            vals[i] = buf[i];
        }
}

static void rsetu(const struct c3_table_def *def, const char **vals, char (*buf)[48], const char *field, uint32_t v)
{
    char t[16];
    snprintf(t, sizeof t, "%u", v);
    rset(def, vals, buf, field, t);
}

/* ---- lookups of an import: every row's key, card and user found in O(log n) ---- */

/* Rows of a table by a number of theirs (rows without one are left out), sorted by number, then row. */
struct u32idx {
    struct u32ent {
        uint32_t v;
        size_t row;
    } *e;
    size_t n;
};

static int cmp_u32ent(const void *pa, const void *pb)
{
    const struct u32ent *a = pa, *b = pb;
    return a->v != b->v ? (a->v < b->v ? -1 : 1) : a->row < b->row ? -1 : a->row > b->row;
}

/* The group of v: [*lo, *hi) in x->e. */
static void u32idx_range(const struct u32idx *x, uint32_t v, size_t *lo, size_t *hi)
{
    size_t a = 0, b = x->n;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (x->e[m].v < v)
            a = m + 1;
        else
            b = m;
    }
    *lo = a;
    for (b = x->n; a < b;) {
        size_t m = a + (b - a) / 2;
        if (x->e[m].v <= v)
            a = m + 1;
        else
            b = m;
    }
    *hi = a;
}

/* The first or the last row with number v, or SIZE_MAX. */
static size_t u32idx_first(const struct u32idx *x, uint32_t v)
{
    size_t lo, hi;
    u32idx_range(x, v, &lo, &hi);
    return lo < hi ? x->e[lo].row : SIZE_MAX;
}

static size_t u32idx_last(const struct u32idx *x, uint32_t v)
{
    size_t lo, hi;
    u32idx_range(x, v, &lo, &hi);
    return lo < hi ? x->e[hi - 1].row : SIZE_MAX;
}

static void u32idx_free(struct u32idx *x)
{
    free(x->e);
    *x = (struct u32idx){ 0 };
}

static int u32idx_sort(struct u32idx *x)
{
    qsort(x->e, x->n, sizeof *x->e, cmp_u32ent);
    return 0;
}

struct lookups {
    struct c3_keyidx keys;  /* the request's rows by the kind's key columns */
    struct u32idx cards;    /* users: the request's rows by card */
    struct u32idx pins;     /* the panel's users (ctx users) by Pin */
    struct c3_keyidx names; /* ... by the text of their Pin */
    bool have_names;
};

static int u32idx_raw(struct u32idx *x, const struct csv *t, const char *field)
{
    *x = (struct u32idx){ 0 };
    if (!t)
        return 0;
    x->e = malloc((t->nrows + 1) * sizeof *x->e);
    if (!x->e)
        return -1;
    for (size_t r = 0; r < t->nrows; r++)
        x->e[x->n++] = (struct u32ent){ c3u_raw_u32(t, r, field), r };
    return u32idx_sort(x);
}

static int u32idx_col(struct u32idx *x, const struct csv *t, int col)
{
    *x = (struct u32idx){ 0 };
    if (col < 0)
        return 0;
    x->e = malloc((t->nrows + 1) * sizeof *x->e);
    if (!x->e)
        return -1;
    for (size_t r = 0; r < t->nrows; r++) {
        uint64_t v;
        if (c3u_parse_num(csv_cell(t, r, (size_t)col), UINT32_MAX, &v))
            x->e[x->n++] = (struct u32ent){ (uint32_t)v, r };
    }
    return u32idx_sort(x);
}

static void lookups_free(struct lookups *lk)
{
    c3_keyidx_free(&lk->keys);
    c3_keyidx_free(&lk->names);
    u32idx_free(&lk->cards);
    u32idx_free(&lk->pins);
}

/* The lookups kind k's import of in (its columns col, map_columns) makes. 0 or -1 (memory). */
static int lookups_build(struct lookups *lk, enum c3_kind k, const struct c3_kind_ctx *x, const struct csv *in,
                         const int *col)
{
    memset(lk, 0, sizeof *lk);
    const char *const *keys;
    size_t nk = c3_kind_keys(k, &keys); /* the first columns of every kind */
    if (c3_keyidx_build(&lk->keys, in, col, nk) < 0)
        return -1;
    if (k == C3_KIND_USERS && u32idx_col(&lk->cards, in, col[1]) < 0)
        return -1;
    if ((k == C3_KIND_USERS || k == C3_KIND_CARDS) && u32idx_raw(&lk->pins, x->users, "Pin") < 0)
        return -1;
    int kp = x->users ? csv_col(x->users, "Pin") : -1, kn = x->users ? csv_col(x->users, "Name") : -1;
    if (k == C3_KIND_USERS && kp >= 0 && kn >= 0) {
        if (c3_keyidx_build(&lk->names, x->users, &kp, 1) < 0)
            return -1;
        lk->have_names = true;
    }
    return 0;
}

/* The key of the request's row c->row appeared on an earlier row: what the kind's import says of it. */
static int dup_key(struct c3_row_ctx *c, const struct lookups *lk, const char *what)
{
    size_t r = c3_keyidx_find_row(&lk->keys, c->in, c->row, lk->keys.col);
    if (r >= c->row)
        return 0;
    size_t l = c->in->line && c->in->line[r] ? c->in->line[r] : r + 1;
    return c3_row_bad(c, what, "'%s' appears again (first on line %zu)", csv_cell(c->in, c->row, (size_t)lk->keys.col[0]),
                      l);
}

/* Whether the panel holds this name for this PIN already: a row the panel holds (not one of the request), or a
 * request's row whose name is the one of the panel's row of the same PIN (x->users, raw). */
static bool name_held(const struct c3_row_ctx *c, const struct c3_kind_ctx *x, const struct lookups *lk, uint32_t pin,
                      const char *name)
{
    if (c->in->line && c->in->line[c->row] == 0)
        return true;
    if (!lk->have_names)
        return false;
    char num[16];
    const char *key[1] = { num };
    snprintf(num, sizeof num, "%u", pin);
    size_t r = c3_keyidx_find(&lk->names, key);
    return r < x->users->nrows && strcmp(csv_cell(x->users, r, (size_t)csv_col(x->users, "Name")), name) == 0;
}

static int import_users(struct c3_row_ctx *c, const struct c3_kind_ctx *x, const struct lookups *lk, const int *col,
                        struct csv *raw)
{
    const struct c3_table_def *def = x->def;
    bool has_name = c3_table_field(def, "Name") != NULL;
    for (c->row = 0; c->row < c->in->nrows; c->row++) {
        const struct csv *in = c->in;
        size_t r = c->row;
        uint32_t pin = 0, card = 0, group = 0, start = 0, end = 0, super = 0;
        if (want_u32(c, "pin", in_get(in, r, col, 0), 1, UINT32_MAX, &pin) < 0 || dup_key(c, lk, "pin") < 0)
            return -1;
        const char *s = in_get(in, r, col, 1);
        if (s[0] && want_u32(c, "card", s, 0, UINT32_MAX, &card) < 0)
            return -1;
        size_t q = card ? u32idx_first(&lk->cards, card) : SIZE_MAX;
        if (q < r)
            return c3_row_bad(c, "card", "%u is already the card of pin %s", card, in_get(in, q, col, 0));
        if (check_text(c, "password", in_get(in, r, col, 2), 8, true) < 0)
            return -1;
        s = in_get(in, r, col, 3);
        if (s[0] && want_u32(c, "group", s, 0, 255, &group) < 0)
            return -1;
        s = in_get(in, r, col, 4);
        if (s[0] && c3_date_parse(s, &start) < 0)
            return c3_row_bad(c, "start", "'%s' is not a date YYYY-MM-DD (2000-2099)", s);
        s = in_get(in, r, col, 5);
        if (s[0] && c3_date_parse(s, &end) < 0)
            return c3_row_bad(c, "end", "'%s' is not a date YYYY-MM-DD (2000-2099)", s);
        if (start && end && end < start)
            return c3_row_bad(c, "end", "%s is before the start %s", in_get(in, r, col, 5), in_get(in, r, col, 4));
        const char *name = in_get(in, r, col, 6);
        /* a name the panel holds for this user already (written by other software: any bytes) is kept as it is */
        if (!name_held(c, x, lk, pin, name) && check_text(c, "name", name, C3_DATA_VALUE_MAX, false) < 0)
            return -1;
        if (name[0] && !has_name)
            return c3_row_bad(c, "name", "this panel's user table keeps no names (older firmware)");
        s = in_get(in, r, col, 7);
        if (s[0] && want_u32(c, "super", s, 0, 1, &super) < 0)
            return -1;
        char buf[C3_TABLE_FIELDS_MAX][48];
        const char *vals[C3_TABLE_FIELDS_MAX];
        for (size_t i = 0; i < def->nfields; i++) {
            buf[i][0] = '\0';
            vals[i] = buf[i];
            if (def->fields[i].type != 's')
                snprintf(buf[i], sizeof buf[i], "0");
        }
        /* The record id of newer firmware: kept for a user the panel has, else the PIN (unique by construction). */
        uint32_t uid = pin;
        size_t held = u32idx_last(&lk->pins, pin);
        if (held != SIZE_MAX && c3_table_field(def, "UID"))
            uid = c3u_raw_u32(x->users, held, "UID");
        rsetu(def, vals, buf, "UID", uid);
        rsetu(def, vals, buf, "Pin", pin);
        rsetu(def, vals, buf, "CardNo", card);
        rset(def, vals, buf, "Password", in_get(in, r, col, 2));
        rsetu(def, vals, buf, "Group", group);
        rsetu(def, vals, buf, "StartTime", start);
        rsetu(def, vals, buf, "EndTime", end);
        rset(def, vals, buf, "Name", name);
        rsetu(def, vals, buf, "SuperAuthorize", super);
        if (csv_add(raw, vals, in->line ? in->line[r] : r + 1) < 0)
            return c3_row_bad(c, "pin", "out of memory");
    }
    return 0;
}

static int import_cards(struct c3_row_ctx *c, const struct c3_kind_ctx *x, const struct lookups *lk, const int *col,
                        struct csv *raw)
{
    const struct csv *users = x->users;
    if (!users)
        return c3_row_bad(c, "card", "the panel's users are not known");
    /* Start from the panel's users; the file changes their cards. */
    for (size_t u = 0; u < users->nrows; u++)
        if (csv_add(raw, (const char *const *)(users->cells + u * users->ncols), 0) < 0)
            return c3_row_bad(c, "card", "out of memory");
    int cardcol = csv_col(raw, "CardNo"), pincol = csv_col(raw, "Pin");
    if (cardcol < 0 || pincol < 0)
        return c3_row_bad(c, "card", "this panel's user table has no CardNo or Pin field");
    bool *listed = calloc(users->nrows + 1, sizeof *listed);
    if (!listed)
        return c3_row_bad(c, "card", "out of memory");
    int rc = 0;
    for (c->row = 0; c->row < c->in->nrows && rc == 0; c->row++) {
        uint32_t card = 0, pin = 0;
        const char *ps = in_get(c->in, c->row, col, 1);
        if (want_u32(c, "card", in_get(c->in, c->row, col, 0), 1, UINT32_MAX, &card) < 0 ||
            dup_key(c, lk, "card") < 0 || want_u32(c, "pin", ps, 1, UINT32_MAX, &pin) < 0) {
            rc = -1;
            break;
        }
        size_t u = u32idx_last(&lk->pins, pin);
        if (u == SIZE_MAX) {
            rc = c3_row_bad(c, "pin", "%u is not a user of this panel (add the user first)", pin);
            break;
        }
        if (listed[u]) {
            rc = c3_row_bad(c, "pin", "%u gets a second card (a C3 user has one card)", pin);
            break;
        }
        listed[u] = true;
        char t[16];
        snprintf(t, sizeof t, "%u", card);
        if (csv_set(raw, u, (size_t)cardcol, t) < 0)
            rc = c3_row_bad(c, "card", "out of memory");
    }
    for (size_t u = 0; rc == 0 && x->replace && u < users->nrows; u++)
        if (!listed[u] && csv_set(raw, u, (size_t)cardcol, "0") < 0)
            rc = -1;
    free(listed);
    return rc;
}

/* The values of a raw column, sorted (for the references of access rows); NULL when not checked. */
static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static uint32_t *ref_values(const struct csv *t, const char *field, size_t *n)
{
    *n = 0;
    int k = t ? csv_col(t, field) : -1;
    if (k < 0)
        return NULL;
    uint32_t *v = malloc((t->nrows + 1) * sizeof *v);
    if (!v)
        return NULL;
    for (size_t r = 0; r < t->nrows; r++)
        v[(*n)++] = (uint32_t)strtoul(csv_cell(t, r, (size_t)k), NULL, 10);
    qsort(v, *n, sizeof *v, cmp_u32);
    return v;
}

static bool ref_has(const uint32_t *v, size_t n, uint32_t x)
{
    return !v || bsearch(&x, v, n, sizeof x, cmp_u32) != NULL;
}

/* A request's access row: its user and time zone, its door, where it is. */
struct acc {
    uint32_t pin, tz, mask;
    size_t row;
};

static int cmp_acc(const void *pa, const void *pb)
{
    const struct acc *a = pa, *b = pb;
    if (a->pin != b->pin)
        return a->pin < b->pin ? -1 : 1;
    if (a->tz != b->tz)
        return a->tz < b->tz ? -1 : 1;
    return a->row < b->row ? -1 : a->row > b->row;
}

static int access_rows(struct c3_row_ctx *c, const struct c3_kind_ctx *x, const struct lookups *lk, const int *col,
                       struct csv *raw, const uint32_t *pins, size_t npins, const uint32_t *tzs, size_t ntzs)
{
    unsigned doors = x->doors ? x->doors : 4;
    /* One panel row per (pin, time zone) with the doors as a bit mask, in the order of their first rows. */
    size_t n = c->in->nrows;
    struct acc *a = calloc(n + 1, sizeof *a), *byrow = calloc(n + 1, sizeof *byrow);
    size_t *group = calloc(n + 1, sizeof *group); /* at a group's first row: its door mask + 1, else 0 */
    if (!a || !byrow || !group) {
        free(a);
        free(byrow);
        free(group);
        return c3_row_bad(c, "pin", "out of memory");
    }
    for (c->row = 0; c->row < n; c->row++) {
        uint32_t pin = 0, door = 1, tz = 0;
        if (want_u32(c, "pin", in_get(c->in, c->row, col, 0), 1, UINT32_MAX, &pin) < 0 ||
            want_u32(c, "door", in_get(c->in, c->row, col, 1), 1, doors, &door) < 0 ||
            want_u32(c, "timezone", in_get(c->in, c->row, col, 2), 1, 65535, &tz) < 0 || dup_key(c, lk, "pin") < 0) {
            free(a);
            free(byrow);
            free(group);
            return -1;
        }
        bool from_panel = c->in->line && c->in->line[c->row] == 0; /* checked when it was written */
        if (!from_panel && (!ref_has(pins, npins, pin) || !ref_has(tzs, ntzs, tz))) {
            free(a);
            free(byrow);
            free(group);
            return !ref_has(pins, npins, pin)
                       ? c3_row_bad(c, "pin", "the panel has no user %u (add the user first)", pin)
                       : c3_row_bad(c, "timezone", "the panel has no time zone %u (add it with timezones add)", tz);
        }
        a[c->row] = byrow[c->row] = (struct acc){ pin, tz, 1u << (door - 1), c->row };
    }
    qsort(a, n, sizeof *a, cmp_acc);
    for (size_t i = 0, j; i < n; i = j) {
        uint32_t mask = 0;
        for (j = i; j < n && a[j].pin == a[i].pin && a[j].tz == a[i].tz; j++)
            mask |= a[j].mask;
        group[a[i].row] = (size_t)mask + 1;
    }
    int rc = 0;
    for (size_t r = 0; r < n && rc == 0; r++) {
        if (!group[r])
            continue;
        char buf[C3_TABLE_FIELDS_MAX][48];
        const char *vals[C3_TABLE_FIELDS_MAX];
        rzero(x->def, vals, buf);
        rsetu(x->def, vals, buf, "Pin", byrow[r].pin);
        rsetu(x->def, vals, buf, "AuthorizeTimezoneId", byrow[r].tz);
        rsetu(x->def, vals, buf, "AuthorizeDoorId", (uint32_t)(group[r] - 1));
        rc = csv_add(raw, vals, c->in->line ? c->in->line[r] : r + 1);
    }
    free(a);
    free(byrow);
    free(group);
    return rc < 0 ? c3_row_bad(c, "pin", "out of memory") : 0;
}

static int import_access(struct c3_row_ctx *c, const struct c3_kind_ctx *x, const struct lookups *lk, const int *col,
                         struct csv *raw)
{
    size_t npins, ntzs;
    uint32_t *pins = ref_values(x->ref_users, "Pin", &npins), *tzs = ref_values(x->ref_timezones, "TimezoneId", &ntzs);
    int rc = access_rows(c, x, lk, col, raw, pins, npins, tzs, ntzs);
    free(pins);
    free(tzs);
    return rc;
}

static int import_timezones(struct c3_row_ctx *c, const struct c3_kind_ctx *x, const struct lookups *lk,
                            const int *col, struct csv *raw)
{
    const char *const *tz_cols;
    c3_kind_columns(C3_KIND_TIMEZONES, &tz_cols);
    for (c->row = 0; c->row < c->in->nrows; c->row++) {
        uint32_t id = 0;
        if (want_u32(c, "id", in_get(c->in, c->row, col, 0), 1, 65535, &id) < 0 ||
            dup_key(c, lk, "id") < 0)
            return -1;
        char buf[C3_TABLE_FIELDS_MAX][48];
        const char *vals[C3_TABLE_FIELDS_MAX];
        rzero(x->def, vals, buf);
        rsetu(x->def, vals, buf, "TimezoneId", id);
        for (int d = 0; d < 10; d++) {
            uint32_t w[3];
            char why[96];
            if (c3_tz_day_parse(in_get(c->in, c->row, col, (size_t)d + 1), w, why, sizeof why) < 0)
                return c3_row_bad(c, tz_cols[d + 1], "%s", why);
            for (int t = 0; t < 3; t++) {
                char f[16];
                snprintf(f, sizeof f, "%sTime%d", c3u_days[d], t + 1);
                if (w[t] && !c3_table_field(x->def, f))
                    return c3_row_bad(c, tz_cols[d + 1], "this panel has no field %s", f);
                rsetu(x->def, vals, buf, f, w[t]);
            }
        }
        if (csv_add(raw, vals, c->in->line ? c->in->line[c->row] : c->row + 1) < 0)
            return c3_row_bad(c, "id", "out of memory");
    }
    return 0;
}

static int import_holidays(struct c3_row_ctx *c, const struct c3_kind_ctx *x, const struct lookups *lk,
                           const int *col, struct csv *raw)
{
    for (c->row = 0; c->row < c->in->nrows; c->row++) {
        uint32_t date = 0, type = 1, loop = 2;
        const char *s = in_get(c->in, c->row, col, 0);
        if (c3_date_parse(s, &date) < 0)
            return c3_row_bad(c, "date", "'%s' is not a date YYYY-MM-DD (2000-2099)", s);
        if (dup_key(c, lk, "date") < 0)
            return -1;
        s = in_get(c->in, c->row, col, 1);
        if (s[0] && want_u32(c, "type", s, 1, 3, &type) < 0)
            return -1;
        s = in_get(c->in, c->row, col, 2);
        if (strcmp(s, "yearly") == 0 || strcmp(s, "1") == 0)
            loop = 1;
        else if (!s[0] || strcmp(s, "once") == 0 || strcmp(s, "2") == 0)
            loop = 2;
        else
            return c3_row_bad(c, "loop", "'%s' is neither yearly nor once", s);
        char buf[C3_TABLE_FIELDS_MAX][48];
        const char *vals[C3_TABLE_FIELDS_MAX];
        rzero(x->def, vals, buf);
        rsetu(x->def, vals, buf, "Holiday", date);
        rsetu(x->def, vals, buf, "HolidayType", type);
        rsetu(x->def, vals, buf, "Loop", loop);
        if (csv_add(raw, vals, c->in->line ? c->in->line[c->row] : c->row + 1) < 0)
            return c3_row_bad(c, "date", "out of memory");
    }
    return 0;
}

int c3_kind_import(enum c3_kind k, const struct c3_kind_ctx *x, const struct csv *in, struct csv *raw, char *err,
                   size_t errlen)
{
    struct c3_row_ctx c = { err, errlen, in, 0 };
    int col[16];
    if ((unsigned)k >= C3_KIND_COUNT || !x->def) {
        snprintf(err, errlen, "unknown kind of data");
        return -1;
    }
    if (map_columns(&c, k, col) < 0)
        return -1;
    if (raw_init(x->def, raw) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct lookups lk;
    if (lookups_build(&lk, k, x, in, col) < 0) {
        lookups_free(&lk);
        csv_free(raw);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc;
    switch (k) {
    case C3_KIND_USERS: rc = import_users(&c, x, &lk, col, raw); break;
    case C3_KIND_CARDS: rc = import_cards(&c, x, &lk, col, raw); break;
    case C3_KIND_ACCESS: rc = import_access(&c, x, &lk, col, raw); break;
    case C3_KIND_TIMEZONES: rc = import_timezones(&c, x, &lk, col, raw); break;
    case C3_KIND_HOLIDAYS: rc = import_holidays(&c, x, &lk, col, raw); break;
    default: rc = -1; break;
    }
    lookups_free(&lk);
    if (rc < 0)
        csv_free(raw);
    return rc;
}
