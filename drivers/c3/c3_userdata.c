#include "drivers/c3/c3_userdata.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drivers/c3/c3_frame.h"

/* ---- kinds ---- */

static const char *const users_cols[] = { "pin", "card", "password", "group", "start", "end", "name", "super" };
static const char *const cards_cols[] = { "card", "pin", "name" };
static const char *const access_cols[] = { "pin", "door", "timezone" };
static const char *const tz_cols[] = { "id", "sun", "mon", "tue", "wed", "thu", "fri", "sat", "hol1", "hol2", "hol3" };
static const char *const hol_cols[] = { "date", "type", "loop" };

static const char *const users_keys[] = { "pin" };
static const char *const cards_keys[] = { "card" };
static const char *const access_keys[] = { "pin", "door", "timezone" };
static const char *const tz_keys[] = { "id" };
static const char *const hol_keys[] = { "date" };

#define N(a) (sizeof a / sizeof a[0])

static const struct {
    const char *name, *table;
    const char *const *cols;
    size_t ncols;
    const char *const *keys;
    size_t nkeys;
} kinds[C3_KIND_COUNT] = {
    [C3_KIND_USERS] = { "users", "user", users_cols, N(users_cols), users_keys, N(users_keys) },
    [C3_KIND_CARDS] = { "cards", "user", cards_cols, N(cards_cols), cards_keys, N(cards_keys) },
    [C3_KIND_ACCESS] = { "access", "userauthorize", access_cols, N(access_cols), access_keys, N(access_keys) },
    [C3_KIND_TIMEZONES] = { "timezones", "timezone", tz_cols, N(tz_cols), tz_keys, N(tz_keys) },
    [C3_KIND_HOLIDAYS] = { "holidays", "holiday", hol_cols, N(hol_cols), hol_keys, N(hol_keys) },
};

const char *c3_kind_name(enum c3_kind k) { return (unsigned)k < C3_KIND_COUNT ? kinds[k].name : "?"; }
const char *c3_kind_table(enum c3_kind k) { return (unsigned)k < C3_KIND_COUNT ? kinds[k].table : "?"; }

int c3_kind_from_name(const char *name)
{
    for (int k = 0; k < C3_KIND_COUNT; k++)
        if (strcmp(name, kinds[k].name) == 0)
            return k;
    return -1;
}

size_t c3_kind_columns(enum c3_kind k, const char *const **cols)
{
    *cols = kinds[k].cols;
    return kinds[k].ncols;
}

size_t c3_kind_keys(enum c3_kind k, const char *const **keys)
{
    *keys = kinds[k].keys;
    return kinds[k].nkeys;
}

/* ---- field formats ---- */

static bool parse_num(const char *s, uint64_t max, uint64_t *v)
{
    if (!*s || strlen(s) > 20)
        return false;
    uint64_t x = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        x = x * 10u + (uint64_t)(*p - '0');
        if (x > max)
            return false;
    }
    *v = x;
    return true;
}

static int days_in(int y, int m)
{
    static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : d[m - 1];
}

int c3_date_parse(const char *s, uint32_t *v)
{
    int y, m, d, n = 0;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || s[4] != '-' || s[7] != '-' ||
        !isdigit((unsigned char)s[5]) || !isdigit((unsigned char)s[8]))
        return -1;
    if (y < 2000 || y > 2099 || m < 1 || m > 12 || d < 1 || d > days_in(y, m))
        return -1;
    *v = (uint32_t)(y * 10000 + m * 100 + d);
    return 0;
}

void c3_date_format(uint32_t v, char *out, size_t cap)
{
    if (v == 0)
        snprintf(out, cap, "%s", "");
    else if (v >= 10000101u && v <= 99991231u)
        snprintf(out, cap, "%04u-%02u-%02u", v / 10000u, v / 100u % 100u, v % 100u);
    else
        snprintf(out, cap, "%u", v); /* not a date: shown raw */
}

static int hhmm(const char *s, unsigned *out)
{
    if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != ':' ||
        !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
        return -1;
    unsigned h = (unsigned)(s[0] - '0') * 10u + (unsigned)(s[1] - '0');
    unsigned m = (unsigned)(s[3] - '0') * 10u + (unsigned)(s[4] - '0');
    if (h > 23 || m > 59)
        return -1;
    *out = h * 100u + m;
    return 0;
}

int c3_tz_day_parse(const char *s, uint32_t out[3], char *err, size_t errlen)
{
    out[0] = out[1] = out[2] = 0;
    unsigned n = 0, prev_end = 0;
    const char *p = s;
    for (;;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, " ");
        unsigned a, b;
        if (len != 11 || p[5] != '-' || hhmm(p, &a) < 0 || hhmm(p + 6, &b) < 0) {
            snprintf(err, errlen, "'%.*s' is not an interval HH:MM-HH:MM", (int)(len > 20 ? 20 : len), p);
            return -1;
        }
        if (n == 3) {
            snprintf(err, errlen, "more than 3 intervals in one day");
            return -1;
        }
        if (a >= b) {
            snprintf(err, errlen, "interval %.11s ends before it starts", p);
            return -1;
        }
        if (n > 0 && a <= prev_end) {
            snprintf(err, errlen, "interval %.11s overlaps or precedes the one before", p);
            return -1;
        }
        out[n++] = (uint32_t)a << 16 | b;
        prev_end = b;
        p += len;
    }
    return 0;
}

void c3_tz_day_format(const uint32_t in[3], char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < 3; i++) {
        if (!in[i])
            continue;
        unsigned a = in[i] >> 16, b = in[i] & 0xFFFFu;
        int w = snprintf(out + o, cap - o, "%s%02u:%02u-%02u:%02u", o ? " " : "", a / 100u, a % 100u, b / 100u,
                         b % 100u);
        if (w < 0 || (size_t)w >= cap - o)
            return;
        o += (size_t)w;
    }
}

/* ---- kinds: panel rows -> operator rows ---- */

static const char *raw_get(const struct csv *raw, size_t row, const char *field)
{
    for (size_t k = 0; k < raw->ncols; k++)
        if (strcasecmp(raw->header[k], field) == 0)
            return csv_cell(raw, row, k);
    return "";
}

static uint32_t raw_u32(const struct csv *raw, size_t row, const char *field)
{
    uint64_t v;
    return parse_num(raw_get(raw, row, field), UINT32_MAX, &v) ? (uint32_t)v : 0;
}

static const char *const days[10] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Hol1", "Hol2", "Hol3" };

/* Numeric-aware comparison of the key columns, for a stable export order. */
static const struct csv *sort_tab;
static const int *sort_keys;
static size_t sort_nkeys;

static int cmp_text(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    bool na = la && strspn(a, "0123456789") == la, nb = lb && strspn(b, "0123456789") == lb;
    if (na && nb && la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

static int cmp_rows(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    for (size_t k = 0; k < sort_nkeys; k++) {
        int c = cmp_text(csv_cell(sort_tab, a, (size_t)sort_keys[k]), csv_cell(sort_tab, b, (size_t)sort_keys[k]));
        if (c)
            return c;
    }
    return a < b ? -1 : a > b;
}

/* out = in with its rows sorted by the kind's keys. */
static int sorted(enum c3_kind k, struct csv *in, struct csv *out)
{
    int keys[8];
    const char *const *kn;
    size_t nk = c3_kind_keys(k, &kn);
    for (size_t i = 0; i < nk; i++)
        keys[i] = csv_col(in, kn[i]);
    size_t *order = malloc((in->nrows + 1) * sizeof *order);
    if (!order)
        return -1;
    for (size_t i = 0; i < in->nrows; i++)
        order[i] = i;
    sort_tab = in;
    sort_keys = keys;
    sort_nkeys = nk;
    qsort(order, in->nrows, sizeof *order, cmp_rows);
    if (csv_init(out, (const char *const *)in->header, in->ncols) < 0) {
        free(order);
        return -1;
    }
    for (size_t i = 0; i < in->nrows; i++)
        if (csv_add(out, (const char *const *)(in->cells + order[i] * in->ncols), 0) < 0) {
            free(order);
            csv_free(out);
            return -1;
        }
    free(order);
    return 0;
}

/* The columns that name a user, card, door or time zone by number: the keys (a holiday's date is strict already)
 * and the user a card belongs to. */
static bool numeric_key(enum c3_kind k, const char *col)
{
    return (unsigned)k < C3_KIND_COUNT && k != C3_KIND_HOLIDAYS &&
           (strcmp(col, "pin") == 0 || strcmp(col, "card") == 0 || strcmp(col, "door") == 0 ||
            strcmp(col, "timezone") == 0 || strcmp(col, "id") == 0);
}

void c3_kind_key_canon(enum c3_kind k, const char *col, const char *in, char *out, size_t cap)
{
    uint64_t v;
    if (numeric_key(k, col) && parse_num(in, UINT32_MAX, &v))
        snprintf(out, cap, "%llu", (unsigned long long)v);
    else
        snprintf(out, cap, "%s", in);
}

int c3_kind_keys_canon(enum c3_kind k, struct csv *in)
{
    for (size_t c = 0; c < in->ncols; c++)
        for (size_t r = 0; numeric_key(k, in->header[c]) && r < in->nrows; r++) {
            char t[32];
            const char *v = csv_cell(in, r, c);
            if (strlen(v) >= sizeof t)
                continue;
            c3_kind_key_canon(k, in->header[c], v, t, sizeof t);
            if (strcmp(t, v) != 0 && csv_set(in, r, c, t) < 0)
                return -1;
        }
    return 0;
}

int c3_kind_export(enum c3_kind k, const struct csv *raw, struct csv *out, char *err, size_t errlen)
{
    struct csv tmp;
    const char *const *cols;
    size_t nc = c3_kind_columns(k, &cols);
    if (csv_init(&tmp, cols, nc) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    for (size_t r = 0; r < raw->nrows && rc == 0; r++) {
        char b[16][64];
        const char *v[16];
        for (size_t i = 0; i < 16; i++) {
            b[i][0] = '\0';
            v[i] = b[i];
        }
        switch (k) {
        case C3_KIND_USERS: {
            snprintf(b[0], sizeof b[0], "%u", raw_u32(raw, r, "Pin"));
            uint32_t card = raw_u32(raw, r, "CardNo");
            if (card)
                snprintf(b[1], sizeof b[1], "%u", card);
            snprintf(b[2], sizeof b[2], "%s", raw_get(raw, r, "Password"));
            snprintf(b[3], sizeof b[3], "%u", raw_u32(raw, r, "Group"));
            c3_date_format(raw_u32(raw, r, "StartTime"), b[4], sizeof b[4]);
            c3_date_format(raw_u32(raw, r, "EndTime"), b[5], sizeof b[5]);
            snprintf(b[6], sizeof b[6], "%s", raw_get(raw, r, "Name"));
            snprintf(b[7], sizeof b[7], "%u", raw_u32(raw, r, "SuperAuthorize") ? 1u : 0u);
            rc = csv_add(&tmp, v, 0);
            break;
        }
        case C3_KIND_CARDS: {
            uint32_t card = raw_u32(raw, r, "CardNo");
            if (!card)
                break;
            snprintf(b[0], sizeof b[0], "%u", card);
            snprintf(b[1], sizeof b[1], "%u", raw_u32(raw, r, "Pin"));
            snprintf(b[2], sizeof b[2], "%s", raw_get(raw, r, "Name"));
            rc = csv_add(&tmp, v, 0);
            break;
        }
        case C3_KIND_ACCESS: {
            uint32_t mask = raw_u32(raw, r, "AuthorizeDoorId");
            snprintf(b[0], sizeof b[0], "%u", raw_u32(raw, r, "Pin"));
            snprintf(b[2], sizeof b[2], "%u", raw_u32(raw, r, "AuthorizeTimezoneId"));
            for (unsigned d = 0; d < 32 && rc == 0; d++)
                if (mask & (1u << d)) {
                    snprintf(b[1], sizeof b[1], "%u", d + 1);
                    rc = csv_add(&tmp, v, 0);
                }
            break;
        }
        case C3_KIND_TIMEZONES: {
            snprintf(b[0], sizeof b[0], "%u", raw_u32(raw, r, "TimezoneId"));
            for (int d = 0; d < 10; d++) {
                uint32_t w[3];
                for (int t = 0; t < 3; t++) {
                    char f[16];
                    snprintf(f, sizeof f, "%sTime%d", days[d], t + 1);
                    w[t] = raw_u32(raw, r, f);
                }
                c3_tz_day_format(w, b[1 + d], sizeof b[0]);
            }
            rc = csv_add(&tmp, v, 0);
            break;
        }
        case C3_KIND_HOLIDAYS: {
            c3_date_format(raw_u32(raw, r, "Holiday"), b[0], sizeof b[0]);
            snprintf(b[1], sizeof b[1], "%u", raw_u32(raw, r, "HolidayType"));
            uint32_t loop = raw_u32(raw, r, "Loop");
            snprintf(b[2], sizeof b[2], "%s", loop == 1 ? "yearly" : loop == 2 ? "once" : "");
            if (loop != 1 && loop != 2)
                snprintf(b[2], sizeof b[2], "%u", loop);
            rc = csv_add(&tmp, v, 0);
            break;
        }
        default:
            rc = -1;
        }
    }
    if (rc < 0 || sorted(k, &tmp, out) < 0) {
        snprintf(err, errlen, "out of memory");
        csv_free(&tmp);
        return -1;
    }
    csv_free(&tmp);
    return 0;
}

/* ---- kinds: operator rows -> panel rows ---- */

static const char *in_get(const struct csv *in, size_t row, const int *col, size_t i)
{
    return col[i] >= 0 ? csv_cell(in, row, (size_t)col[i]) : "";
}

static int want_u32(struct c3_row_ctx *c, const char *col, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (!parse_num(s, max, &v) || v < min)
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
            char list[200] = "";
            for (size_t i = 0, o = 0; i < nc; i++)
                o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? "," : "", cols[i]);
            snprintf(c->err, c->errlen, "line 1: %s: unknown column (%s has %s)", c->in->header[j], kinds[k].name,
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
        x->e[x->n++] = (struct u32ent){ raw_u32(t, r, field), r };
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
        if (parse_num(csv_cell(t, r, (size_t)col), UINT32_MAX, &v))
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
            uid = raw_u32(x->users, held, "UID");
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
        for (size_t f = 0; f < x->def->nfields; f++) {
            snprintf(buf[f], sizeof buf[f], "0");
            vals[f] = buf[f];
        }
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
    for (c->row = 0; c->row < c->in->nrows; c->row++) {
        uint32_t id = 0;
        if (want_u32(c, "id", in_get(c->in, c->row, col, 0), 1, 65535, &id) < 0 ||
            dup_key(c, lk, "id") < 0)
            return -1;
        char buf[C3_TABLE_FIELDS_MAX][48];
        const char *vals[C3_TABLE_FIELDS_MAX];
        for (size_t f = 0; f < x->def->nfields; f++) {
            snprintf(buf[f], sizeof buf[f], "0");
            vals[f] = buf[f];
        }
        rsetu(x->def, vals, buf, "TimezoneId", id);
        for (int d = 0; d < 10; d++) {
            uint32_t w[3];
            char why[96];
            if (c3_tz_day_parse(in_get(c->in, c->row, col, (size_t)d + 1), w, why, sizeof why) < 0)
                return c3_row_bad(c, kinds[C3_KIND_TIMEZONES].cols[d + 1], "%s", why);
            for (int t = 0; t < 3; t++) {
                char f[16];
                snprintf(f, sizeof f, "%sTime%d", days[d], t + 1);
                if (w[t] && !c3_table_field(x->def, f))
                    return c3_row_bad(c, kinds[C3_KIND_TIMEZONES].cols[d + 1], "this panel has no field %s", f);
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
        for (size_t f = 0; f < x->def->nfields; f++) {
            snprintf(buf[f], sizeof buf[f], "0");
            vals[f] = buf[f];
        }
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

/* ---- a user's doors ---- */

int c3_doors_parse(const char *s, unsigned doors, const char *panel, unsigned out[C3_DOORS_MAX], char *err,
                   size_t errlen)
{
    int n = 0;
    for (const char *d = s + strspn(s, " ,"); *d; d += strspn(d, " ,")) {
        size_t len = strcspn(d, " ,");
        unsigned k = len == 1 && *d >= '1' && *d <= '9' ? (unsigned)(*d - '0') : 0;
        if (!k || k > doors || k > C3_DOORS_MAX) {
            snprintf(err, errlen, "%.*s is not a door of %s (1-%u, separated by spaces)", (int)(len > 20 ? 20 : len),
                     d, panel, doors);
            return -1;
        }
        bool have = false;
        for (int i = 0; i < n; i++)
            have = have || out[i] == k;
        if (!have)
            out[n++] = k;
        d += len;
    }
    return n;
}

int c3_doors_tz_check(const char *tz, const struct csv *tzs, char *err, size_t errlen)
{
    if (!tz[0] || strspn(tz, "0123456789") != strlen(tz) || strlen(tz) > 5) {
        snprintf(err, errlen, "the id of one of the panel's time zones (1 = its first)");
        return -1;
    }
    int k = tzs ? csv_col(tzs, "id") : -1;
    if (k < 0)
        return 0; /* not read: the panel checks it */
    char ids[80] = "";
    size_t at = 0;
    for (size_t r = 0; r < tzs->nrows; r++) {
        const char *id = csv_cell(tzs, r, (size_t)k);
        if (strcmp(id, tz) == 0)
            return 0;
        int w = snprintf(ids + at, sizeof ids - at, "%s%s", r ? " " : "", id);
        at = w < 0 || (size_t)w >= sizeof ids - at ? sizeof ids - 1 : at + (size_t)w;
    }
    snprintf(err, errlen, "the panel has no time zone %s (%s%s)", tz,
             ids[0] ? "it has " : "it has none: add one with portierctl timezones add", ids);
    return -1;
}

int c3_doors_access(const char *pin, const unsigned *doors, size_t n, const char *tz, struct csv *out)
{
    static const char *const cols[] = { "pin", "door", "timezone" };
    if (csv_init(out, cols, 3) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char door[12];
        snprintf(door, sizeof door, "%u", doors[i]);
        const char *row[3] = { pin, door, tz };
        if (csv_add(out, row, i + 1) < 0)
            return -1;
    }
    return 0;
}

void c3_doors_added_text(const struct csv *access, size_t r, char *out, size_t cap)
{
    int kp = csv_col(access, "pin"), kd = csv_col(access, "door"), kt = csv_col(access, "timezone");
    snprintf(out, cap, "+ pin=%s door=%s timezone=%s", kp < 0 ? "" : csv_cell(access, r, (size_t)kp),
             kd < 0 ? "" : csv_cell(access, r, (size_t)kd), kt < 0 ? "" : csv_cell(access, r, (size_t)kt));
}
