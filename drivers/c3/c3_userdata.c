/* c3_userdata: the kinds of a panel's user data, their field formats, the export and a user's doors; the import is in
 * c3_userimport.c (c3_userdata_int.h shared). */
#include "drivers/c3/c3_userdata.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_userdata_int.h"

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

bool c3u_parse_num(const char *s, uint64_t max, uint64_t *v)
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

uint32_t c3u_raw_u32(const struct csv *raw, size_t row, const char *field)
{
    uint64_t v;
    return c3u_parse_num(raw_get(raw, row, field), UINT32_MAX, &v) ? (uint32_t)v : 0;
}

const char *const c3u_days[10] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Hol1", "Hol2", "Hol3" };

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
    if (numeric_key(k, col) && c3u_parse_num(in, UINT32_MAX, &v))
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
            snprintf(b[0], sizeof b[0], "%u", c3u_raw_u32(raw, r, "Pin"));
            uint32_t card = c3u_raw_u32(raw, r, "CardNo");
            if (card)
                snprintf(b[1], sizeof b[1], "%u", card);
            snprintf(b[2], sizeof b[2], "%s", raw_get(raw, r, "Password"));
            snprintf(b[3], sizeof b[3], "%u", c3u_raw_u32(raw, r, "Group"));
            c3_date_format(c3u_raw_u32(raw, r, "StartTime"), b[4], sizeof b[4]);
            c3_date_format(c3u_raw_u32(raw, r, "EndTime"), b[5], sizeof b[5]);
            snprintf(b[6], sizeof b[6], "%s", raw_get(raw, r, "Name"));
            snprintf(b[7], sizeof b[7], "%u", c3u_raw_u32(raw, r, "SuperAuthorize") ? 1u : 0u);
            rc = csv_add(&tmp, v, 0);
            break;
        }
        case C3_KIND_CARDS: {
            uint32_t card = c3u_raw_u32(raw, r, "CardNo");
            if (!card)
                break;
            snprintf(b[0], sizeof b[0], "%u", card);
            snprintf(b[1], sizeof b[1], "%u", c3u_raw_u32(raw, r, "Pin"));
            snprintf(b[2], sizeof b[2], "%s", raw_get(raw, r, "Name"));
            rc = csv_add(&tmp, v, 0);
            break;
        }
        case C3_KIND_ACCESS: {
            uint32_t mask = c3u_raw_u32(raw, r, "AuthorizeDoorId");
            snprintf(b[0], sizeof b[0], "%u", c3u_raw_u32(raw, r, "Pin"));
            snprintf(b[2], sizeof b[2], "%u", c3u_raw_u32(raw, r, "AuthorizeTimezoneId"));
            for (unsigned d = 0; d < 32 && rc == 0; d++)
                if (mask & (1u << d)) {
                    snprintf(b[1], sizeof b[1], "%u", d + 1);
                    rc = csv_add(&tmp, v, 0);
                }
            break;
        }
        case C3_KIND_TIMEZONES: {
            snprintf(b[0], sizeof b[0], "%u", c3u_raw_u32(raw, r, "TimezoneId"));
            for (int d = 0; d < 10; d++) {
                uint32_t w[3];
                for (int t = 0; t < 3; t++) {
                    char f[16];
                    snprintf(f, sizeof f, "%sTime%d", c3u_days[d], t + 1);
                    w[t] = c3u_raw_u32(raw, r, f);
                }
                c3_tz_day_format(w, b[1 + d], sizeof b[0]);
            }
            rc = csv_add(&tmp, v, 0);
            break;
        }
        case C3_KIND_HOLIDAYS: {
            c3_date_format(c3u_raw_u32(raw, r, "Holiday"), b[0], sizeof b[0]);
            snprintf(b[1], sizeof b[1], "%u", c3u_raw_u32(raw, r, "HolidayType"));
            uint32_t loop = c3u_raw_u32(raw, r, "Loop");
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
