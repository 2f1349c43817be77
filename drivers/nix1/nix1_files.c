#include "drivers/nix1/nix1_files.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/grow.h"
#include "core/textline.h"
#include "drivers/nix1/nix1_cmd.h"
#include "drivers/nix1/nix1_line.h"

#define DIAG_TEXT_LINES 100

void nix1_diag_free(struct nix1_diag *d)
{
    if (!d)
        return;
    free(d->text);
    memset(d, 0, sizeof *d);
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void diag(struct nix1_diag *d, const char *name, unsigned line, const char *fmt, ...)
{
    if (!d)
        return;
    d->count++;
    if (d->count > DIAG_TEXT_LINES)
        return;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char full[600];
    int n = snprintf(full, sizeof full, "%s:%u: %s\n", name ? name : "?", line, msg);
    if (n < 0)
        return;
    size_t fl = (size_t)n < sizeof full ? (size_t)n : sizeof full - 1;
    char *t = grow_to(d->text, d->len + fl + 1, &d->cap, 1, 512);
    if (!t)
        return;
    d->text = t;
    memcpy(d->text + d->len, full, fl);
    d->len += fl;
    d->text[d->len] = '\0';
}

/* Grow a vector of elem-sized items by one; returns the new slot (zeroed) or NULL. */
static void *grow(void **v, size_t *n, size_t elem)
{
    void *t = realloc(*v, (*n + 1) * elem);
    if (!t)
        return NULL;
    *v = t;
    void *slot = (char *)t + *n * elem;
    memset(slot, 0, elem);
    (*n)++;
    return slot;
}

/* ---- line iteration ---- */

struct lines {
    const char *data;
    size_t len, pos;
    unsigned lineno;
};

/* Next non-blank, non-comment line, without CR/LF. */
static bool next_line(struct lines *it, const char **l, size_t *ll)
{
    const char *s;
    size_t n;
    while (textline_next(it->data, it->len, &it->pos, &s, &n)) {
        it->lineno++;
        if (n > 0 && s[n - 1] == '\r')
            n--;
        size_t k = 0;
        while (k < n && (s[k] == ' ' || s[k] == '\t'))
            k++;
        if (k == n || s[0] == '#')
            continue;
        *l = s;
        *ll = n;
        return true;
    }
    return false;
}

/* Split at TABs into exactly `want` fields. */
static bool split_exact(const char *name, unsigned line, const char *l, size_t ll, struct nix1_span *f, size_t want,
                        struct nix1_diag *d, const char *layout)
{
    size_t n = nix1_fields_split(l, ll, f, want);
    if (n != want) {
        diag(d, name, line, "expected %zu TAB-separated fields (%s), found %s%zu", want, layout,
             n > want ? "more than " : "", n > want ? want : n);
        return false;
    }
    return true;
}

const char *nix1_uid_problem(const char *uid, size_t len)
{
    if (!uid || len == 0)
        return "empty uid";
    if (len > NIX1_UID_MAX)
        return "uid longer than 128 chars";
    if (!nix1_line_printable(uid, len, false))
        return "uid has a non-printable or non-ASCII char";
    char c = uid[0];
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
        return "uid must start with a letter or digit";
    if (uid[len - 1] == ' ')
        return "uid ends with a space";
    if (len == 1 && c == '0')
        return "uid \"0\" is reserved (it means all users in Dx0/Dr0)";
    return NULL;
}

char nix1_uid_letter(const char *uid)
{
    if (!uid)
        return 0;
    char c = uid[0];
    if (c >= 'a' && c <= 'z')
        return (char)(c - 'a' + 'A');
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))
        return c;
    return 0;
}

static bool put_uid(const char *name, unsigned line, const struct nix1_span *f, char *dst, struct nix1_diag *d)
{
    const char *p = nix1_uid_problem(f->p, f->len);
    if (p) {
        diag(d, name, line, "%s", p);
        return false;
    }
    memcpy(dst, f->p, f->len);
    dst[f->len] = '\0';
    return true;
}

static bool put_cron(const char *name, unsigned line, const struct nix1_span *f, char *dst, struct nix1_diag *d)
{
    char err[120];
    if (!nix1_line_printable(f->p, f->len, false) || cron_parse(f->p, f->len, NULL, err, sizeof err) != 0) {
        diag(d, name, line, "bad cron \"%.*s\": %s", (int)(f->len > 60 ? 60 : f->len), f->p,
             nix1_line_printable(f->p, f->len, false) ? err : "non-printable char");
        return false;
    }
    memcpy(dst, f->p, f->len);
    dst[f->len] = '\0';
    return true;
}

static bool get_uint(const char *name, unsigned line, const struct nix1_span *f, uint64_t max, const char *what,
                     uint64_t *v, struct nix1_diag *d)
{
    if (!nix1_parse_uint(f->p, f->len, max, v)) {
        diag(d, name, line, "%s \"%.*s\" is not a number in 0-%" PRIu64, what, (int)(f->len > 30 ? 30 : f->len),
             f->p, max);
        return false;
    }
    return true;
}

#define BEGIN_READ()                                                                                                \
    size_t before = d ? d->count : 0;                                                                               \
    struct lines it = { data, data ? len : 0, 0, 0 };                                                               \
    const char *l;                                                                                                  \
    size_t ll
#define END_READ() return (int)((d ? d->count : 0) - before)

int nix1_files_read_keys(const char *name, const char *data, size_t len, struct nix1_keys *out, struct nix1_diag *d)
{
    BEGIN_READ();
    while (next_line(&it, &l, &ll)) {
        struct nix1_span f[2];
        uint64_t ts;
        if (!split_exact(name, it.lineno, l, ll, f, 2, d, "timestamp, key") ||
            !get_uint(name, it.lineno, &f[0], 9999999999ull, "timestamp", &ts, d))
            continue;
        if (!nix1_key_valid(f[1].p, f[1].len)) {
            diag(d, name, it.lineno, "key must be 1-64 printable ASCII chars");
            continue;
        }
        struct nix1_key_entry *e = grow((void **)&out->v, &out->n, sizeof *e);
        if (!e)
            return -1;
        e->ts = ts;
        memcpy(e->key, f[1].p, f[1].len);
        e->key[f[1].len] = '\0';
        e->line = it.lineno;
    }
    END_READ();
}

int nix1_files_read_units(const char *name, const char *data, size_t len, struct nix1_units *out,
                          struct nix1_diag *d)
{
    BEGIN_READ();
    while (next_line(&it, &l, &ll)) {
        struct nix1_span f[2];
        uint64_t id;
        if (!split_exact(name, it.lineno, l, ll, f, 2, d, "id, label") ||
            !get_uint(name, it.lineno, &f[0], 65534, "unit id", &id, d))
            continue;
        bool ok = f[1].len > 0;
        for (size_t i = 0; i < f[1].len; i++)
            if ((unsigned char)f[1].p[i] < 0x20 || f[1].p[i] == 0x7F)
                ok = false;
        if (!ok) {
            diag(d, name, it.lineno, "label is empty or has a control char");
            continue;
        }
        bool dup = false;
        for (size_t i = 0; i < out->n; i++)
            if (out->v[i].id == id) {
                diag(d, name, it.lineno, "unit %" PRIu64 " already defined on line %u", id, out->v[i].line);
                dup = true;
                break;
            }
        if (dup)
            continue;
        char *label = strndup(f[1].p, f[1].len);
        if (!label)
            return -1;
        struct nix1_unit_entry *e = grow((void **)&out->v, &out->n, sizeof *e);
        if (!e) {
            free(label);
            return -1;
        }
        e->id = (uint32_t)id;
        e->label = label;
        e->line = it.lineno;
    }
    END_READ();
}

int nix1_files_read_users(const char *name, const char *data, size_t len, struct nix1_users *out,
                          struct nix1_diag *d)
{
    BEGIN_READ();
    while (next_line(&it, &l, &ll)) {
        struct nix1_span f[3];
        uint64_t ts, inc;
        char uid[NIX1_UID_MAX + 1];
        if (!split_exact(name, it.lineno, l, ll, f, 3, d, "uid, timestamp, increment") ||
            !put_uid(name, it.lineno, &f[0], uid, d) ||
            !get_uint(name, it.lineno, &f[1], 9999999999ull, "timestamp", &ts, d) ||
            !get_uint(name, it.lineno, &f[2], 99, "increment", &inc, d))
            continue;
        bool dup = false;
        for (size_t i = 0; i < out->n; i++)
            if (strcmp(out->v[i].uid, uid) == 0) {
                diag(d, name, it.lineno, "user \"%s\" already defined on line %u", uid, out->v[i].line);
                dup = true;
                break;
            }
        if (dup)
            continue;
        struct nix1_user_entry *e = grow((void **)&out->v, &out->n, sizeof *e);
        if (!e)
            return -1;
        memcpy(e->uid, uid, sizeof uid);
        e->ts = ts;
        e->inc = (unsigned)inc;
        e->line = it.lineno;
    }
    END_READ();
}

static int add_right(struct nix1_rights *out, uint32_t unit, const char *uid, const char *cron, unsigned line,
                     const char *name, struct nix1_diag *d)
{
    for (size_t i = 0; i < out->n; i++)
        if (out->v[i].unit == unit && strcmp(out->v[i].uid, uid) == 0) {
            diag(d, name, line, "right for \"%s\" on unit %" PRIu32 " already defined on line %u", uid, unit,
                 out->v[i].line);
            return 0;
        }
    struct nix1_right_entry *e = grow((void **)&out->v, &out->n, sizeof *e);
    if (!e)
        return -1;
    e->unit = unit;
    snprintf(e->uid, sizeof e->uid, "%s", uid);
    snprintf(e->cron, sizeof e->cron, "%s", cron);
    e->line = line;
    return 0;
}

int nix1_files_read_cron(const char *name, const char *data, size_t len, struct nix1_rights *out,
                         struct nix1_diag *d)
{
    BEGIN_READ();
    while (next_line(&it, &l, &ll)) {
        struct nix1_span f[3];
        uint64_t unit;
        char uid[NIX1_UID_MAX + 1], cron[CRON_TEXT_MAX + 1];
        if (!split_exact(name, it.lineno, l, ll, f, 3, d, "unit id, user id, cron") ||
            !get_uint(name, it.lineno, &f[0], 65534, "unit id", &unit, d) ||
            !put_uid(name, it.lineno, &f[1], uid, d) || !put_cron(name, it.lineno, &f[2], cron, d))
            continue;
        if (add_right(out, (uint32_t)unit, uid, cron, it.lineno, name, d) != 0)
            return -1;
    }
    END_READ();
}

int nix1_files_read_unit_rights(const char *name, uint32_t unit, const char *data, size_t len,
                                struct nix1_rights *out, struct nix1_diag *d)
{
    BEGIN_READ();
    while (next_line(&it, &l, &ll)) {
        struct nix1_span f[2];
        char uid[NIX1_UID_MAX + 1], cron[CRON_TEXT_MAX + 1];
        if (!split_exact(name, it.lineno, l, ll, f, 2, d, "uid, cron") || !put_uid(name, it.lineno, &f[0], uid, d) ||
            !put_cron(name, it.lineno, &f[1], cron, d))
            continue;
        if (add_right(out, unit, uid, cron, it.lineno, name, d) != 0)
            return -1;
    }
    END_READ();
}

void nix1_keys_free(struct nix1_keys *k)
{
    if (!k)
        return;
    free(k->v);
    memset(k, 0, sizeof *k);
}

void nix1_units_free(struct nix1_units *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->n; i++)
        free(u->v[i].label);
    free(u->v);
    memset(u, 0, sizeof *u);
}

void nix1_users_free(struct nix1_users *u)
{
    if (!u)
        return;
    free(u->v);
    memset(u, 0, sizeof *u);
}

void nix1_rights_free(struct nix1_rights *r)
{
    if (!r)
        return;
    free(r->v);
    memset(r, 0, sizeof *r);
}

/* ---- CONFIG.TXT ---- */

void nix1_config_defaults(struct nix1_config *c)
{
    memset(c, 0, sizeof *c);
    c->bad_access_timeout = 5;
    c->valid_access_timeout = 5;
    c->baudrate = 9600;
}

unsigned nix1_config_mode(const struct nix1_config *c)
{
    if (!c->enable)
        return 0;
    if (c->standalone)
        return 3;
    if (c->mobile)
        return 2;
    return 1;
}

int nix1_files_read_config(const char *name, const char *data, size_t len, struct nix1_config *c,
                           struct nix1_diag *d)
{
    BEGIN_READ();
    while (next_line(&it, &l, &ll)) {
        size_t k = 0;
        while (k < ll && l[k] != ' ' && l[k] != '\t')
            k++;
        size_t v0 = k;
        while (v0 < ll && (l[v0] == ' ' || l[v0] == '\t'))
            v0++;
        size_t vl = ll - v0;
        while (vl > 0 && (l[v0 + vl - 1] == ' ' || l[v0 + vl - 1] == '\t'))
            vl--;
        struct nix1_span key = { l, k }, val = { l + v0, vl };
        unsigned line = it.lineno;
        uint64_t v;
#define KEY(s) (key.len == sizeof(s) - 1 && memcmp(key.p, s, key.len) == 0)
#define NUM(max) get_uint(name, line, &val, max, "value", &v, d)
        if (!nix1_line_printable(l, ll, true)) {
            diag(d, name, line, "non-printable char");
        } else if (vl == 0) {
            diag(d, name, line, "%.*s has no value", (int)(k > 40 ? 40 : k), l);
        } else if (KEY("BAD_ACCESS_TIMEOUT")) {
            if (NUM(255))
                c->bad_access_timeout = (unsigned)v;
        } else if (KEY("VALID_ACCESS_TIMEOUT")) {
            if (NUM(255))
                c->valid_access_timeout = (unsigned)v;
        } else if (KEY("BAUDRATE")) {
            if (NUM(115200)) {
                if (nix1_baud_valid(v))
                    c->baudrate = (uint32_t)v;
                else
                    diag(d, name, line, "unsupported baud rate %" PRIu64, v);
            }
        } else if (KEY("CRON")) {
            char cron[CRON_TEXT_MAX + 1] = "";
            if (put_cron(name, line, &val, cron, d)) {
                memcpy(c->cron, cron, sizeof cron);
                c->has_cron = true;
            }
        } else if (KEY("CRON_MODE")) {
            if (NUM(3))
                c->cron_mode = (unsigned)v;
        } else if (KEY("ENABLE") || KEY("STANDALONE") || KEY("MOBILE") || KEY("LOCK_0") || KEY("LOCK_1") ||
                   KEY("OD_SPEED_0") || KEY("OD_SPEED_1")) {
            if (NUM(1)) {
                bool b = v != 0;
                if (KEY("ENABLE"))
                    c->enable = b;
                else if (KEY("STANDALONE"))
                    c->standalone = b;
                else if (KEY("MOBILE"))
                    c->mobile = b;
                else if (KEY("LOCK_0") || KEY("LOCK_1"))
                    c->lock[key.p[5] - '0'] = b;
                else
                    c->od_speed[key.p[9] - '0'] = b;
            }
        } else if (KEY("TIMEZONE")) {
            int tz;
            if (nix1_parse_tz(val.p, val.len, &tz))
                c->timezone = tz;
            else
                diag(d, name, line, "TIMEZONE must be +HHMM or -HHMM in -1200..+1400");
        } else if (KEY("UNIT_0") || KEY("UNIT_1")) {
            if (NUM(65535)) {
                int p = key.p[5] - '0';
                c->has_unit[p] = v != 65535;
                c->unit[p] = v != 65535 ? (uint32_t)v : 0;
            }
        } else if (KEY("LOG_POSITION")) {
            const char *colon = memchr(val.p, ':', val.len);
            uint64_t doy, ln;
            if (colon && nix1_parse_uint(val.p, (size_t)(colon - val.p), 366, &doy) && doy >= 1 &&
                nix1_parse_uint(colon + 1, val.len - (size_t)(colon - val.p) - 1, UINT32_MAX, &ln)) {
                c->has_log_position = true;
                c->log_doy = (uint32_t)doy;
                c->log_line = (uint32_t)ln;
            } else {
                diag(d, name, line, "LOG_POSITION must be <doy 1-366>:<line>");
            }
        } else {
            diag(d, name, line, "unknown key %.*s", (int)(k > 40 ? 40 : k), l);
        }
#undef KEY
#undef NUM
    }
    END_READ();
}

int nix1_config_format(const struct nix1_config *c, char *buf, size_t cap)
{
    if (!c || !buf)
        return -1;
    char tz[6], cron[CRON_TEXT_MAX + 8] = "", logpos[40] = "";
    if (c->has_cron)
        snprintf(cron, sizeof cron, "CRON\t%s\n", c->cron);
    if (c->has_log_position)
        snprintf(logpos, sizeof logpos, "LOG_POSITION\t%" PRIu32 ":%" PRIu32 "\n", c->log_doy, c->log_line);
    int n = snprintf(buf, cap,
                     "BAD_ACCESS_TIMEOUT\t%u\nBAUDRATE\t%" PRIu32 "\n%sCRON_MODE\t%u\nENABLE\t%d\nLOCK_0\t%d\n"
                     "LOCK_1\t%d\n%sMOBILE\t%d\nOD_SPEED_0\t%d\nOD_SPEED_1\t%d\nSTANDALONE\t%d\nTIMEZONE\t%s\n"
                     "UNIT_0\t%" PRIu32 "\nUNIT_1\t%" PRIu32 "\nVALID_ACCESS_TIMEOUT\t%u\n",
                     c->bad_access_timeout, c->baudrate, cron, c->cron_mode, c->enable, c->lock[0], c->lock[1],
                     logpos, c->mobile, c->od_speed[0], c->od_speed[1], c->standalone,
                     nix1_format_tz(c->timezone, tz), c->has_unit[0] ? c->unit[0] : 65535u,
                     c->has_unit[1] ? c->unit[1] : 65535u, c->valid_access_timeout);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    return n;
}

/* ---- logs ---- */

int nix1_files_read_log(const char *name, const char *data, size_t len, struct nix1_log *out, struct nix1_diag *d)
{
    BEGIN_READ();
    static const char sid[] = "Slave ID: ", gst[] = "General status: ";
    while (next_line(&it, &l, &ll)) {
        struct nix1_log_record r;
        memset(&r, 0, sizeof r);
        r.line = it.lineno;
        struct nix1_span f[3];
        if (nix1_fields_split(l, ll, f, 3) == 3 && f[1].len == sizeof sid - 1 + NIX1_ADDR_LEN &&
            memcmp(f[1].p, sid, sizeof sid - 1) == 0) {
            uint64_t st;
            if (!nix1_parse_uint(f[0].p, f[0].len, 9999999999ull, &r.header_ts) ||
                nix1_addr_parse(f[1].p + sizeof sid - 1, NIX1_ADDR_LEN, &r.access.slave) != 0 ||
                f[2].len != sizeof gst - 1 + 2 || memcmp(f[2].p, gst, sizeof gst - 1) != 0 ||
                !nix1_parse_hex(f[2].p + sizeof gst - 1, 2, 2, &st)) {
                diag(d, name, it.lineno, "bad ACTIVITY header line");
                continue;
            }
            r.is_header = true;
            r.header_status = (uint8_t)st;
        } else {
            char err[120];
            if (nix1_access_parse(l, ll, &r.access, err, sizeof err) != 0) {
                diag(d, name, it.lineno, "%s", err);
                continue;
            }
        }
        struct nix1_log_record *e = grow((void **)&out->v, &out->n, sizeof *e);
        if (!e)
            return -1;
        *e = r;
    }
    END_READ();
}

void nix1_log_free(struct nix1_log *l)
{
    if (!l)
        return;
    free(l->v);
    memset(l, 0, sizeof *l);
}

int nix1_files_doy(uint64_t ts, int tz_minutes)
{
    time_t t = (time_t)ts + (time_t)tz_minutes * 60;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return -1;
    return tm.tm_yday + 1;
}

/* ---- generators ---- */

struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    char *t = grow_to(b->p, b->len + n + 1, &b->cap, 1, 256);
    if (!t) {
        b->oom = true;
        return;
    }
    b->p = t;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static int add_file(struct nix1_genset *g, const char *name, struct sbuf *b)
{
    if (b->oom)
        return -1;
    struct nix1_gen_file *f = grow((void **)&g->v, &g->n, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->name, sizeof f->name, "%s", name);
    f->data = b->p;
    f->len = b->len;
    b->p = NULL;
    b->len = b->cap = 0;
    return 0;
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct nix1_gen_file *)a)->name, ((const struct nix1_gen_file *)b)->name);
}

static bool serves(const uint32_t *units, size_t nunits, uint32_t u)
{
    for (size_t i = 0; i < nunits; i++)
        if (units[i] == u)
            return true;
    return false;
}

static bool has_right(const struct nix1_rights *r, const uint32_t *units, size_t nunits, const char *uid)
{
    for (size_t i = 0; r && i < r->n; i++)
        if (serves(units, nunits, r->v[i].unit) && strcmp(r->v[i].uid, uid) == 0)
            return true;
    return false;
}

static const char letters[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

int nix1_files_generate(const struct nix1_keys *keys, const struct nix1_users *users, const struct nix1_rights *rights,
                        const uint32_t *units, size_t nunits, bool all_users, struct nix1_genset *out)
{
    if (!out || (nunits && !units))
        return -1;
    memset(out, 0, sizeof *out);
    struct sbuf b = { 0 };
    char line[NIX1_UID_MAX + CRON_TEXT_MAX + 64];

    /* KEYS.TXT: stable selection sort by timestamp, newest first, dropping exact duplicates. */
    if (keys && keys->n) {
        size_t n = keys->n;
        bool *used = calloc(n, sizeof *used);
        if (!used)
            return -1;
        for (size_t done = 0; done < n; done++) {
            size_t best = n;
            for (size_t i = 0; i < n; i++)
                if (!used[i] && (best == n || keys->v[i].ts > keys->v[best].ts))
                    best = i;
            used[best] = true;
            bool dup = false;
            for (size_t i = 0; i < best && !dup; i++)
                dup = keys->v[i].ts == keys->v[best].ts && strcmp(keys->v[i].key, keys->v[best].key) == 0;
            if (dup)
                continue;
            snprintf(line, sizeof line, "%" PRIu64 "\t%s\n", keys->v[best].ts, keys->v[best].key);
            sb_str(&b, line);
        }
        free(used);
        if (add_file(out, "KEYS.TXT", &b) != 0)
            goto fail;
    }

    for (const char *c = letters; *c; c++) {
        /* USERS.<C> */
        for (size_t i = 0; users && i < users->n; i++) {
            const struct nix1_user_entry *u = &users->v[i];
            if (nix1_uid_letter(u->uid) != *c || (!all_users && !has_right(rights, units, nunits, u->uid)))
                continue;
            snprintf(line, sizeof line, "%s\t%" PRIu64 "\t%u\n", u->uid, u->ts, u->inc);
            sb_str(&b, line);
        }
        if (b.len) {
            char name[13];
            snprintf(name, sizeof name, "USERS.%c", *c);
            if (add_file(out, name, &b) != 0)
                goto fail;
        }
        /* <unit>U.<C> for each served unit (duplicates in `units` ignored). */
        for (size_t k = 0; k < nunits; k++) {
            if (units[k] > 65534 || serves(units, k, units[k]))
                continue;
            for (size_t i = 0; rights && i < rights->n; i++) {
                const struct nix1_right_entry *r = &rights->v[i];
                if (r->unit != units[k] || nix1_uid_letter(r->uid) != *c)
                    continue;
                snprintf(line, sizeof line, "%s\t%s\n", r->uid, r->cron);
                sb_str(&b, line);
            }
            if (b.len) {
                char name[13];
                snprintf(name, sizeof name, "%" PRIu32 "U.%c", units[k], *c);
                if (add_file(out, name, &b) != 0)
                    goto fail;
            }
        }
    }
    free(b.p);
    if (out->n > 1)
        qsort(out->v, out->n, sizeof out->v[0], cmp_file);
    return 0;
fail:
    free(b.p);
    nix1_genset_free(out);
    return -1;
}

void nix1_genset_free(struct nix1_genset *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        free(g->v[i].data);
    free(g->v);
    memset(g, 0, sizeof *g);
}

const struct nix1_gen_file *nix1_genset_find(const struct nix1_genset *g, const char *name)
{
    for (size_t i = 0; g && name && i < g->n; i++)
        if (strcasecmp(g->v[i].name, name) == 0)
            return &g->v[i];
    return NULL;
}

static bool letter_ok(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool nix1_files_is_managed(const char *name)
{
    if (!name)
        return false;
    if (strcasecmp(name, "KEYS.TXT") == 0)
        return true;
    if (strncasecmp(name, "USERS.", 6) == 0)
        return letter_ok(name[6]) && name[7] == '\0';
    size_t i = 0;
    while (name[i] >= '0' && name[i] <= '9')
        i++;
    return i >= 1 && i <= 5 && (name[i] == 'U' || name[i] == 'u') && name[i + 1] == '.' && letter_ok(name[i + 2]) &&
           name[i + 3] == '\0';
}
