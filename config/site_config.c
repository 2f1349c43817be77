/* site_config: libconfig 1.5 reader and validator for portier.conf; reports every problem with its line. */
#include "config/site_config.h"

#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/conf_check.h"
#include "core/crc.h"

#define MAX_CONFIG_BYTES (1024 * 1024)

/* ---- diagnostics ---- */

void config_diags_free(struct config_diags *d)
{
    free(d->items);
    d->items = NULL;
    d->n = d->cap = d->errors = d->warnings = 0;
}

static int diag_cmp(const void *a, const void *b)
{
    const struct config_diag *x = a, *y = b;
    return (x->line > y->line) - (x->line < y->line);
}

void config_diags_print(const struct config_diags *d, FILE *out)
{
    struct config_diag *sorted = malloc((d->n ? d->n : 1) * sizeof *sorted);
    if (!sorted)
        return;
    if (d->n)
        memcpy(sorted, d->items, d->n * sizeof *sorted);
    /* qsort is not stable: use insertion order as a tiebreak through a stable merge-free approach. */
    for (size_t i = 1; i < d->n; i++) {
        struct config_diag t = sorted[i];
        size_t k = i;
        while (k > 0 && diag_cmp(&sorted[k - 1], &t) > 0) {
            sorted[k] = sorted[k - 1];
            k--;
        }
        sorted[k] = t;
    }
    for (size_t i = 0; i < d->n; i++) {
        const struct config_diag *g = &sorted[i];
        if (g->line > 0)
            fprintf(out, "%s:%d: %s%s\n", d->file, g->line, g->warning ? "warning: " : "", g->message);
        else
            fprintf(out, "%s: %s%s\n", d->file, g->warning ? "warning: " : "", g->message);
    }
    free(sorted);
}

struct ctx {
    struct config_diags *d;
    struct site *site;
    char dir[SITE_PATH_MAX];      /* directory of the file, for relative paths */
    bool check_perms;
    struct stat st;               /* the file, when check_perms */
    char path[SITE_PATH_MAX];
    const char *text;             /* the text being loaded (integer literals are read from it) */
};

__attribute__((format(printf, 4, 5))) static void diag(struct ctx *c, int line, bool warning, const char *fmt, ...)
{
    struct config_diags *d = c->d;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        struct config_diag *it = realloc(d->items, cap * sizeof *it);
        if (!it)
            return;
        d->items = it;
        d->cap = cap;
    }
    struct config_diag *g = &d->items[d->n++];
    g->line = line;
    g->warning = warning;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->message, sizeof g->message, fmt, ap);
    va_end(ap);
    if (warning)
        d->warnings++;
    else
        d->errors++;
}

#define ERR(c, line, ...) diag((c), (line), false, __VA_ARGS__)
#define WARN(c, line, ...) diag((c), (line), true, __VA_ARGS__)

static int line_of(const config_setting_t *s)
{
    return s ? (int)config_setting_source_line(s) : 0;
}

static const char *type_word(int type)
{
    switch (type) {
    case CONFIG_TYPE_GROUP: return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "an integer";
    case CONFIG_TYPE_FLOAT: return "a number";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "a boolean";
    case CONFIG_TYPE_ARRAY: return "an array";
    case CONFIG_TYPE_LIST: return "a list";
    }
    return "a setting";
}

/* Report every child of group whose name is not in allowed (NULL-terminated). */
static void check_keys(struct ctx *c, const config_setting_t *group, const char *where, const char *const *allowed)
{
    int n = config_setting_length(group);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);
        if (!name)
            continue;
        bool ok = false;
        for (size_t k = 0; allowed[k] && !ok; k++)
            ok = strcmp(allowed[k], name) == 0;
        if (!ok)
            ERR(c, line_of(s), "unknown key '%s' in %s", name, where);
    }
}

/* Fetch a member: NULL and a message when required and missing. */
static config_setting_t *member(struct ctx *c, const config_setting_t *group, const char *key, const char *where,
                                bool required)
{
    config_setting_t *s = config_setting_get_member(group, key);
    if (!s && required)
        ERR(c, line_of(group), "%s: missing required key '%s'", where, key);
    return s;
}

static bool want_type(struct ctx *c, const config_setting_t *s, int type, const char *key)
{
    int t = config_setting_type(s);
    bool ok = t == type || (type == CONFIG_TYPE_INT && t == CONFIG_TYPE_INT64);
    if (!ok)
        ERR(c, line_of(s), "'%s' must be %s, not %s", key, type_word(type), type_word(t));
    return ok;
}

/* The text of a string setting, or NULL (reported at line, or the setting's own) when it is not valid UTF-8 or
 * holds a control character: everything a configuration names ends up in front of an operator. */
static const char *text_of(struct ctx *c, const config_setting_t *s, const char *key, int line)
{
    const char *v = config_setting_get_string(s);
    if (!v)
        return "";
    size_t bad;
    char what[64];
    if (!conf_text_ok(v, &bad, what, sizeof what)) {
        ERR(c, line_of(s) ? line_of(s) : line, "'%s' has a %s (at byte %zu): names and texts must be UTF-8 "
            "without control characters", key, what, bad + 1);
        return NULL;
    }
    return v;
}

/* String member into dst. Returns true when present and valid. */
static bool get_str(struct ctx *c, const config_setting_t *group, const char *key, const char *where, char *dst,
                    size_t len, bool required, bool nonempty)
{
    config_setting_t *s = member(c, group, key, where, required);
    if (!s || !want_type(c, s, CONFIG_TYPE_STRING, key))
        return false;
    const char *v = text_of(c, s, key, 0);
    if (!v)
        return false;
    if (nonempty && !v[0]) {
        ERR(c, line_of(s), "'%s' must not be empty", key);
        return false;
    }
    if (strlen(v) >= len) {
        ERR(c, line_of(s), "'%s' is too long (at most %zu bytes)", key, len - 1);
        return false;
    }
    memcpy(dst, v, strlen(v) + 1);
    return true;
}

/* The value of an integer setting as written: libconfig 1.5 cuts plain integers to 32 bits and saturates
 * 64-bit ones, so the literal is read again from the text. false when it does not even fit 64 bits (the
 * caller says what range it wanted). lit gets the literal as written (or the value). */
static bool int_value(struct ctx *c, const config_setting_t *s, const char *key, long long *v, char *lit,
                      size_t litlen)
{
    long long seen = config_setting_get_int64(s);
    struct conf_int ci;
    if (conf_find_int(c->text, line_of(s), key, seen, &ci)) {
        snprintf(lit, litlen, "%s", ci.text);
        if (ci.overflow)
            return false;
        *v = ci.value;
        return true;
    }
    snprintf(lit, litlen, "%lld", seen);
    *v = seen;
    return true;
}

static bool get_int(struct ctx *c, const config_setting_t *group, const char *key, const char *where, long long min,
                    long long max, long long *out, bool required)
{
    config_setting_t *s = member(c, group, key, where, required);
    if (!s || !want_type(c, s, CONFIG_TYPE_INT, key))
        return false;
    long long v;
    char lit[64];
    if (!int_value(c, s, key, &v, lit, sizeof lit) || v < min || v > max) {
        ERR(c, line_of(s), "'%s' = %s is out of range (%lld..%lld)", key, lit, min, max);
        return false;
    }
    *out = v;
    return true;
}

static bool get_bool(struct ctx *c, const config_setting_t *group, const char *key, bool *out)
{
    config_setting_t *s = config_setting_get_member(group, key);
    if (!s || !want_type(c, s, CONFIG_TYPE_BOOL, key))
        return false;
    *out = config_setting_get_bool(s) != 0;
    return true;
}

/* A string member that must be one of words[]; returns its index or -1. */
static int get_enum(struct ctx *c, const config_setting_t *group, const char *key, const char *const *words)
{
    config_setting_t *s = config_setting_get_member(group, key);
    if (!s || !want_type(c, s, CONFIG_TYPE_STRING, key))
        return -1;
    const char *v = text_of(c, s, key, 0);
    if (!v)
        return -1;
    char list[160] = "";
    for (int i = 0; words[i]; i++) {
        if (v && strcmp(v, words[i]) == 0)
            return i;
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", words[i]);
    }
    ERR(c, line_of(s), "'%s' = \"%s\" is not one of: %s", key, v ? v : "", list);
    return -1;
}

/* A group-typed member (or NULL) */
static config_setting_t *get_group(struct ctx *c, const config_setting_t *parent, const char *key)
{
    config_setting_t *s = config_setting_get_member(parent, key);
    if (s && !want_type(c, s, CONFIG_TYPE_GROUP, key))
        return NULL;
    return s;
}

/* A list or array member (or NULL) */
static config_setting_t *get_list(struct ctx *c, const config_setting_t *parent, const char *key)
{
    config_setting_t *s = config_setting_get_member(parent, key);
    if (!s)
        return NULL;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY) {
        ERR(c, line_of(s), "'%s' must be a list ( ... ), not %s", key, type_word(t));
        return NULL;
    }
    return s;
}

/* ---- names: unique across the site ---- */

struct name_seen {
    char name[SITE_NAME_MAX];
    int line;
};

struct names {
    struct name_seen *items;
    size_t n, cap;
};

static void name_add(struct ctx *c, struct names *ns, const char *name, int line, const char *what)
{
    for (size_t i = 0; i < ns->n; i++) {
        if (strcasecmp(ns->items[i].name, name) == 0) {
            ERR(c, line, "duplicate %s name \"%s\" (first at line %d)", what, name, ns->items[i].line);
            return;
        }
    }
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 16;
        struct name_seen *it = realloc(ns->items, cap * sizeof *it);
        if (!it)
            return;
        ns->items = it;
        ns->cap = cap;
    }
    snprintf(ns->items[ns->n].name, sizeof ns->items[0].name, "%s", name);
    ns->items[ns->n++].line = line;
}

/* A name must not contain '/', which is the "<device>/<n>" separator. */
static bool check_name(struct ctx *c, const char *name, int line)
{
    if (strchr(name, '/')) {
        ERR(c, line, "name \"%s\" must not contain '/'", name);
        return false;
    }
    return true;
}

/* ---- password files ---- */

static void resolve_path(struct ctx *c, const char *p, char *out, size_t len)
{
    int n;
    if (p[0] == '/' || !c->dir[0])
        n = snprintf(out, len, "%s", p);
    else
        n = snprintf(out, len, "%s/%s", c->dir, p);
    if (n < 0 || (size_t)n >= len)
        out[0] = '\0'; /* too long: an empty path fails clearly when used */
}

/* "run chmod 600 FILE" for a file of the user's own; never advice about a system file. */
static void perms_advice(const char *path, const struct stat *st, char *buf, size_t len)
{
    if (conf_advice_ok(path, st))
        snprintf(buf, len, ": run chmod 600 %s", path);
    else
        snprintf(buf, len, ": keep the password in a file of your own with mode 600");
}

static void password_perms(struct ctx *c, int line)
{
    if (c->check_perms && (c->st.st_mode & 077)) {
        char advice[SITE_PATH_MAX + 32];
        perms_advice(c->path, &c->st, advice, sizeof advice);
        ERR(c, line, "a password is set but %s is readable by group or others (mode %04o)%s", c->path,
            (unsigned)(c->st.st_mode & 07777), advice);
    }
}

/* The first line of a password file: a regular file (a FIFO, device or directory is refused, nothing waits),
 * readable by its owner only. */
static void read_password_file(struct ctx *c, const config_setting_t *s, char *dst, size_t len)
{
    char p[SITE_PATH_MAX];
    const char *v = text_of(c, s, "password_file", 0);
    if (!v)
        return;
    resolve_path(c, v, p, sizeof p);
    if (!c->check_perms)
        return; /* in-memory configuration (tests, fuzzing): no file access */
    struct stat st;
    char *text, why[128];
    size_t n;
    if (conf_read_file(p, 4096, &text, &n, &st, why, sizeof why) != 0) {
        ERR(c, line_of(s), "password_file %s: %s", p, why);
        return;
    }
    if (st.st_mode & 077) {
        char advice[SITE_PATH_MAX + 32];
        perms_advice(p, &st, advice, sizeof advice);
        ERR(c, line_of(s), "password_file %s is readable by group or others (mode %04o)%s", p,
            (unsigned)(st.st_mode & 07777), advice);
    }
    const char *nl = memchr(text, '\n', n);
    size_t l = nl ? (size_t)(nl - text) : n;
    if (l && text[l - 1] == '\r')
        l--;
    if (memchr(text, '\0', l))
        ERR(c, line_of(s), "password in %s contains a NUL byte", p);
    else if (l >= len)
        ERR(c, line_of(s), "password in %s is too long (at most %zu characters)", p, len - 1);
    else
        snprintf(dst, len, "%.*s", (int)l, text);
    free(text);
}

/* ---- sections ---- */

struct model {
    const char *name;
    unsigned doors, aux;
};
static const struct model models[] = {
    { "C3-100", 1, 1 }, { "C3-200", 2, 2 }, { "C3-400", 4, 4 },
    { "inBio160", 1, 1 }, { "inBio260", 2, 2 }, { "inBio460", 4, 4 },
};

static void name_list(struct ctx *c, const config_setting_t *grp, const char *key, unsigned max, const char *model,
                      char names[][SITE_NAME_MAX], unsigned *count, struct names *outs)
{
    config_setting_t *l = get_list(c, grp, key);
    *count = 0;
    if (!l)
        return;
    int n = config_setting_length(l);
    if ((unsigned)n > max) {
        if (model[0])
            ERR(c, line_of(l), "'%s' names %d outputs but a %s has %u", key, n, model, max);
        else
            ERR(c, line_of(l), "'%s' names %d outputs but a C3 panel has at most %u", key, n, max);
        n = (int)max;
    }
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            ERR(c, line_of(e) ? line_of(e) : line_of(l), "'%s' entries must be strings", key);
            continue;
        }
        int line = line_of(e) ? line_of(e) : line_of(l);
        const char *v = text_of(c, e, key, line);
        if (!v)
            continue;
        if (strlen(v) >= SITE_NAME_MAX) {
            ERR(c, line, "'%s' entry is too long (at most %d characters)", key, SITE_NAME_MAX - 1);
            continue;
        }
        snprintf(names[i], SITE_NAME_MAX, "%s", v);
        if (v[0] && check_name(c, v, line))
            name_add(c, outs, v, line, "door");
    }
    *count = (unsigned)n;
}

static const char *const panel_keys[] = { "name", "host", "port", "password", "password_file", "model", "poll_ms",
                                          "timeout_ms", "doors", "aux", NULL };

static void load_panel(struct ctx *c, const config_setting_t *g, struct site_panel *p, struct names *devs,
                       struct names *outs)
{
    char where[96];
    p->line = line_of(g);
    p->port = 4370;
    p->poll_ms = 1000;
    p->timeout_ms = 2000;
    if (get_str(c, g, "name", "panel", p->name, sizeof p->name, true, true) && check_name(c, p->name, p->line))
        name_add(c, devs, p->name, line_of(config_setting_get_member(g, "name")), "device");
    snprintf(where, sizeof where, "panel \"%s\"", p->name);
    check_keys(c, g, where, panel_keys);
    get_str(c, g, "host", where, p->host, sizeof p->host, true, true);
    long long v;
    if (get_int(c, g, "port", where, 1, 65535, &v, false))
        p->port = (uint16_t)v;
    if (get_int(c, g, "poll_ms", where, 100, 60000, &v, false))
        p->poll_ms = (unsigned)v;
    if (get_int(c, g, "timeout_ms", where, 200, 30000, &v, false))
        p->timeout_ms = (unsigned)v;
    config_setting_t *pw = config_setting_get_member(g, "password");
    config_setting_t *pwf = config_setting_get_member(g, "password_file");
    if (pw && pwf)
        ERR(c, line_of(pwf), "set either 'password' or 'password_file', not both");
    if (pw && get_str(c, g, "password", where, p->password, sizeof p->password, false, false) && p->password[0])
        password_perms(c, line_of(pw));
    if (pwf && want_type(c, pwf, CONFIG_TYPE_STRING, "password_file")) {
        password_perms(c, line_of(pwf));
        read_password_file(c, pwf, p->password, sizeof p->password);
    }
    unsigned max = SITE_C3_MAX_DOORS, maxaux = SITE_C3_MAX_DOORS;
    config_setting_t *ms = config_setting_get_member(g, "model");
    if (ms && want_type(c, ms, CONFIG_TYPE_STRING, "model")) {
        const char *m = text_of(c, ms, "model", 0);
        size_t k;
        for (k = 0; k < sizeof models / sizeof models[0]; k++)
            if (m && strcasecmp(m, models[k].name) == 0)
                break;
        if (!m) {
            /* reported */
        } else if (k == sizeof models / sizeof models[0]) {
            ERR(c, line_of(ms), "'model' = \"%s\" is not one of: C3-100, C3-200, C3-400, inBio160, inBio260, "
                "inBio460", m);
        } else {
            snprintf(p->model, sizeof p->model, "%s", models[k].name);
            max = models[k].doors;
            maxaux = models[k].aux;
        }
    }
    unsigned n;
    name_list(c, g, "doors", max, p->model, p->door_names, &n, outs);
    p->doors = p->model[0] ? max : (n ? (n == 3 ? 4 : n) : 1);
    name_list(c, g, "aux", maxaux, p->model, p->aux_names, &p->aux_count, outs);
}

static const char *const slave_keys[] = { "address", "name", "probe1", "probe2", "valid_access_timeout",
                                          "bad_access_timeout", NULL };
static const char *const probe_keys[] = { "door", "unit", NULL };

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = (char)toupper((unsigned char)ch);
    return ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

static void load_slave(struct ctx *c, const config_setting_t *g, struct site_slave *s, struct names *addrs,
                       struct names *devs, struct names *outs)
{
    char where[96];
    s->line = line_of(g);
    s->probe_units[0] = s->probe_units[1] = -1;
    s->valid_timeout = s->bad_timeout = -1;
    char addr[64] = "";
    if (get_str(c, g, "address", "slave", addr, sizeof addr, true, true)) {
        int line = line_of(config_setting_get_member(g, "address"));
        uint8_t b[8];
        bool hex = strlen(addr) == 16;
        for (int i = 0; hex && i < 8; i++) {
            int hi = hexval(addr[2 * i]), lo = hexval(addr[2 * i + 1]);
            hex = hi >= 0 && lo >= 0;
            if (hex)
                b[i] = (uint8_t)(hi << 4 | lo);
        }
        if (!hex) {
            ERR(c, line, "'address' = \"%s\" must be 16 hex digits (family, serial, CRC)", addr);
        } else {
            for (int i = 0; i < 16; i++)
                s->addr[i] = (char)toupper((unsigned char)addr[i]);
            s->addr[16] = '\0';
            uint8_t crc = crc8_maxim(b, 7);
            if (crc != b[7])
                WARN(c, line, "address %s: CRC-8 mismatch (expected %02X; a real slave would be %.14s%02X)",
                     s->addr, crc, s->addr, crc);
            if (strcmp(s->addr, "27FFFFFFFFFFFF4E") == 0 || strcmp(s->addr, "270000000000005C") == 0)
                ERR(c, line, "address %s is the %s address, not a slave", s->addr,
                    s->addr[2] == 'F' ? "broadcast" : "scratch");
            else
                name_add(c, addrs, s->addr, line, "slave address");
        }
    }
    if (!config_setting_get_member(g, "name"))
        snprintf(s->name, sizeof s->name, "%s", s->addr);
    else if (get_str(c, g, "name", "slave", s->name, sizeof s->name, false, true) &&
             check_name(c, s->name, line_of(config_setting_get_member(g, "name"))))
        name_add(c, devs, s->name, line_of(config_setting_get_member(g, "name")), "device");
    snprintf(where, sizeof where, "slave \"%s\"", s->name);
    check_keys(c, g, where, slave_keys);
    long long v;
    if (get_int(c, g, "valid_access_timeout", where, 0, 255, &v, false))
        s->valid_timeout = (int)v;
    if (get_int(c, g, "bad_access_timeout", where, 0, 255, &v, false))
        s->bad_timeout = (int)v;
    for (int p = 0; p < SITE_NIX1_PROBES; p++) {
        char key[8];
        snprintf(key, sizeof key, "probe%d", p + 1);
        config_setting_t *pg = get_group(c, g, key);
        if (!pg)
            continue;
        char pw[128];
        snprintf(pw, sizeof pw, "%s %s", where, key);
        check_keys(c, pg, pw, probe_keys);
        if (get_str(c, pg, "door", pw, s->probe_doors[p], sizeof s->probe_doors[p], true, true)) {
            int line = line_of(config_setting_get_member(pg, "door"));
            if (check_name(c, s->probe_doors[p], line))
                name_add(c, outs, s->probe_doors[p], line, "door");
        }
        if (get_int(c, pg, "unit", pw, 0, 65534, &v, false))
            s->probe_units[p] = (int)v;
    }
}

static const char *const bus_keys[] = { "name", "port", "baud", "rs485", "poll_ms", "server_dir", "slaves", NULL };

static void check_port(struct ctx *c, const char *port, int line)
{
    if (strncmp(port, "tcp://", 6) == 0) {
        const char *hp = port + 6;
        const char *colon = strrchr(hp, ':');
        char *end;
        long n = colon ? strtol(colon + 1, &end, 10) : 0;
        if (!colon || colon == hp || !colon[1] || *end || n < 1 || n > 65535)
            ERR(c, line, "'port' = \"%s\": a device server is tcp://HOST:PORT with PORT 1..65535", port);
    } else if (port[0] != '/') {
        ERR(c, line, "'port' = \"%s\" must be a serial device path (/dev/...) or tcp://HOST:PORT", port);
    }
}

static void load_bus(struct ctx *c, const config_setting_t *g, struct site_bus *b, struct names *devs,
                     struct names *outs, struct names *addrs)
{
    char where[96];
    b->line = line_of(g);
    b->baud = 9600;
    b->poll_ms = 1000;
    if (get_str(c, g, "name", "bus", b->name, sizeof b->name, true, true) && check_name(c, b->name, b->line))
        name_add(c, devs, b->name, line_of(config_setting_get_member(g, "name")), "device");
    snprintf(where, sizeof where, "bus \"%s\"", b->name);
    check_keys(c, g, where, bus_keys);
    if (get_str(c, g, "port", where, b->port, sizeof b->port, true, true))
        check_port(c, b->port, line_of(config_setting_get_member(g, "port")));
    long long v;
    config_setting_t *bs = config_setting_get_member(g, "baud");
    char lit[64];
    if (bs && want_type(c, bs, CONFIG_TYPE_INT, "baud")) {
        static const long long rates[] = { 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200 };
        bool ok = false;
        if (!int_value(c, bs, "baud", &v, lit, sizeof lit))
            v = 0;
        for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
            ok = ok || rates[i] == v;
        if (!ok)
            ERR(c, line_of(bs), "'baud' = %s is not a NiX1 rate (1200, 2400, 4800, 9600, 19200, 38400, 57600, "
                "115200)", lit);
        else
            b->baud = (unsigned)v;
    }
    static const char *const modes[] = { "auto", "rts", "none", NULL };
    int m = get_enum(c, g, "rs485", modes);
    if (m >= 0)
        b->rs485 = (enum site_rs485_mode)m;
    if (get_int(c, g, "poll_ms", where, 100, 60000, &v, false))
        b->poll_ms = (unsigned)v;
    char dir[SITE_PATH_MAX];
    if (get_str(c, g, "server_dir", where, dir, sizeof dir, false, true))
        resolve_path(c, dir, b->server_dir, sizeof b->server_dir);
    config_setting_t *sl = get_list(c, g, "slaves");
    if (!sl) {
        if (!config_setting_get_member(g, "slaves"))
            ERR(c, b->line, "%s: missing required key 'slaves'", where);
        return;
    }
    int n = config_setting_length(sl);
    if (n > 64)
        WARN(c, line_of(sl), "%d slaves on one bus: the master supports 64 and RS485 allows 32 unit loads", n);
    else if (n > 32)
        WARN(c, line_of(sl), "%d slaves on one line exceed 32 unit loads unless the transceivers are 1/8 UL", n);
    b->slaves = calloc(n ? (size_t)n : 1, sizeof *b->slaves);
    if (!b->slaves)
        return;
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(sl, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
            ERR(c, line_of(e) ? line_of(e) : line_of(sl), "each slave must be a group { ... }");
            continue;
        }
        load_slave(c, e, &b->slaves[b->n_slaves++], addrs, devs, outs);
    }
}

static const char *const role_keys[] = { "default", "map", NULL };
static const char *const map_keys[] = { "user", "group", "role", NULL };

/* A role name setting: the role, or -1 (reported). */
static int role_of(struct ctx *c, const config_setting_t *s, const char *key)
{
    const char *v = text_of(c, s, key, 0);
    int r = v ? role_from_name(v) : -1;
    if (v && r < 0)
        ERR(c, line_of(s), "'%s' = \"%s\" is not one of: guard, operator, technician", key, v);
    return r;
}

/* The required 'role' member of a mapping: the role, or -1 (reported). */
static int get_role(struct ctx *c, const config_setting_t *g, const char *where)
{
    config_setting_t *rs = member(c, g, "role", where, true);
    if (!rs || !want_type(c, rs, CONFIG_TYPE_STRING, "role"))
        return -1;
    return role_of(c, rs, "role");
}

static void load_roles(struct ctx *c, const config_setting_t *g, struct site *site)
{
    check_keys(c, g, "roles", role_keys);
    config_setting_t *d = config_setting_get_member(g, "default");
    if (d && want_type(c, d, CONFIG_TYPE_STRING, "default")) {
        int r = role_of(c, d, "default");
        if (r >= 0)
            site->default_role = (enum role)r;
    }
    config_setting_t *l = get_list(c, g, "map");
    if (!l)
        return;
    int n = config_setting_length(l);
    site->roles = calloc(n ? (size_t)n : 1, sizeof *site->roles);
    if (!site->roles)
        return;
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
            ERR(c, line_of(e) ? line_of(e) : line_of(l), "each role mapping must be a group { user|group = ...; "
                "role = ...; }");
            continue;
        }
        check_keys(c, e, "role mapping", map_keys);
        struct role_map *m = &site->roles[site->n_roles];
        bool hu = config_setting_get_member(e, "user") != NULL, hg = config_setting_get_member(e, "group") != NULL;
        if (hu == hg) {
            ERR(c, line_of(e), "a role mapping needs exactly one of 'user' or 'group'");
            continue;
        }
        if (!get_str(c, e, hu ? "user" : "group", "role mapping", m->name, sizeof m->name, true, true))
            continue;
        m->is_group = hg;
        int r = get_role(c, e, "role mapping");
        if (r < 0)
            continue;
        m->role = (enum role)r;
        site->n_roles++;
    }
}

static const char *const emergency_keys[] = { "doors", "confirm", "double_ms", "word", "restore", NULL };

static void load_emergency(struct ctx *c, const config_setting_t *g, struct site *site)
{
    struct site_emergency *e = &site->emergency;
    check_keys(c, g, "emergency", emergency_keys);
    config_setting_t *d = config_setting_get_member(g, "doors");
    if (d) {
        int t = config_setting_type(d);
        if (t == CONFIG_TYPE_STRING) {
            const char *all = text_of(c, d, "doors", 0);
            if (all && strcmp(all, "all") != 0)
                ERR(c, line_of(d), "'doors' must be \"all\" or a list of door names");
        } else if (t == CONFIG_TYPE_LIST || t == CONFIG_TYPE_ARRAY) {
            int n = config_setting_length(d);
            e->all_doors = false;
            e->doors = calloc(n ? (size_t)n : 1, sizeof *e->doors);
            for (int i = 0; e->doors && i < n; i++) {
                config_setting_t *x = config_setting_get_elem(d, (unsigned)i);
                int xl = line_of(x) ? line_of(x) : line_of(d);
                const char *v = config_setting_type(x) == CONFIG_TYPE_STRING ? text_of(c, x, "doors", xl) : "";
                if (!v)
                    continue;
                if (!v[0] || strlen(v) >= SITE_NAME_MAX) {
                    ERR(c, line_of(x) ? line_of(x) : line_of(d), "'doors' entries must be door names");
                    continue;
                }
                snprintf(e->doors[e->n_doors++], SITE_NAME_MAX, "%s", v);
            }
        } else {
            ERR(c, line_of(d), "'doors' must be \"all\" or a list of door names");
        }
    }
    static const char *const confirms[] = { "none", "double", "word", NULL };
    int m = get_enum(c, g, "confirm", confirms);
    if (m >= 0)
        e->confirm = (enum site_confirm)m;
    long long v;
    if (get_int(c, g, "double_ms", "emergency", 300, 10000, &v, false))
        e->double_ms = (unsigned)v;
    get_str(c, g, "word", "emergency", e->word, sizeof e->word, false, true);
    static const char *const restores[] = { "previous", "locked", NULL };
    m = get_enum(c, g, "restore", restores);
    if (m >= 0)
        e->restore = (enum site_restore)m;
}

static const char *const journal_keys[] = { "path", "retention_days", "retention_rows", "queue_events", NULL };

static void load_journal(struct ctx *c, const config_setting_t *g, struct site *site)
{
    check_keys(c, g, "journal", journal_keys);
    char p[SITE_PATH_MAX];
    if (get_str(c, g, "path", "journal", p, sizeof p, false, true))
        resolve_path(c, p, site->journal.path, sizeof site->journal.path);
    long long v;
    if (get_int(c, g, "retention_days", "journal", 0, 36500, &v, false))
        site->journal.retention_days = (unsigned)v;
    if (get_int(c, g, "retention_rows", "journal", 0, 1000000000000LL, &v, false))
        site->journal.retention_rows = (uint64_t)v;
    if (get_int(c, g, "queue_events", "journal", 16, 1000000, &v, false))
        site->journal.queue_events = (size_t)v;
}

static const char *const daemon_keys[] = { "socket", "group", NULL };

/* daemon = { socket = "/run/portier/portier.sock"; group = "portier"; }: where portierd listens, and which group
 * may connect (mode 0660). */
static void load_daemon(struct ctx *c, const config_setting_t *g, struct site *site)
{
    check_keys(c, g, "daemon", daemon_keys);
    char p[SITE_PATH_MAX];
    if (get_str(c, g, "socket", "daemon", p, sizeof p, false, true)) {
        int line = line_of(config_setting_get_member(g, "socket"));
        if (p[0] != '/')
            ERR(c, line, "daemon socket \"%s\" must be an absolute path", p);
        else if (strlen(p) >= 108)
            ERR(c, line, "daemon socket path is longer than 107 bytes (a Unix socket limit)");
        else
            snprintf(site->daemon.socket, sizeof site->daemon.socket, "%s", p);
    }
    char grp[64];
    if (get_str(c, g, "group", "daemon", grp, sizeof grp, false, true)) {
        bool ok = strlen(grp) <= 32 && ((grp[0] >= 'a' && grp[0] <= 'z') || grp[0] == '_');
        for (const char *q = grp; ok && *q; q++)
            ok = (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_' || *q == '-' ||
                 (*q == '$' && !q[1]);
        if (!ok)
            ERR(c, line_of(config_setting_get_member(g, "group")), "daemon group \"%s\" is not a group name", grp);
        else
            snprintf(site->daemon.group, sizeof site->daemon.group, "%s", grp);
    }
}

static const char *const ui_keys[] = { "colours", "colors", "bell", "keys", NULL };

static void load_ui(struct ctx *c, const config_setting_t *g, struct site *site)
{
    check_keys(c, g, "ui", ui_keys);
    get_bool(c, g, "colours", &site->ui.colours);
    get_bool(c, g, "colors", &site->ui.colours);
    static const char *const bells[] = { "none", "alarm", "all", NULL };
    int m = get_enum(c, g, "bell", bells);
    if (m >= 0)
        site->ui.bell = (enum site_bell)m;
    config_setting_t *l = get_list(c, g, "keys");
    if (!l)
        return;
    int n = config_setting_length(l);
    site->ui.keys = calloc(n ? (size_t)n : 1, sizeof *site->ui.keys);
    for (int i = 0; site->ui.keys && i < n; i++) {
        config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
        int line = line_of(e) ? line_of(e) : line_of(l);
        if (config_setting_type(e) == CONFIG_TYPE_STRING && !text_of(c, e, "keys", line))
            continue;
        const char *v = config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e) : NULL;
        const char *eq = v ? strchr(v, '=') : NULL;
        if (!eq || eq == v || !eq[1]) {
            ERR(c, line, "'keys' entries must be \"action-name=key\" strings");
            continue;
        }
        struct site_key_binding *k = &site->ui.keys[site->ui.n_keys];
        size_t al = (size_t)(eq - v);
        if (al >= sizeof k->action || strlen(eq + 1) >= sizeof k->key) {
            ERR(c, line, "key binding \"%s\" is too long", v);
            continue;
        }
        memcpy(k->action, v, al);
        k->action[al] = '\0';
        snprintf(k->key, sizeof k->key, "%s", eq + 1);
        site->ui.n_keys++;
    }
}

/* ==== mqtt = { ... }: the daemon's MQTT output (doc/mqtt.md). Kept apart from the sections above. ==== */

static const char *const mqtt_keys[] = { "host", "port", "tls", "username", "password_file", "client_id",
                                         "base_topic", "qos", "keepalive", "max_inflight", "commands", "roles",
                                         "discovery", "discovery_prefix", "ha_user", NULL };
static const char *const mqtt_tls_keys[] = { "ca", "cert", "key", NULL };
static const char *const mqtt_role_keys[] = { "user", "role", NULL };

/* A topic prefix: printable, no wildcards, no empty level, no leading or trailing '/'. */
static bool mqtt_check_topic(struct ctx *c, const char *key, const char *v, int line)
{
    bool ok = v[0] && v[0] != '/' && v[strlen(v) - 1] != '/' && !strstr(v, "//") && !strpbrk(v, "+#");
    if (!ok)
        ERR(c, line, "'%s' = \"%s\" must be a topic prefix: levels separated by '/', none empty, no '+' or '#'", key,
            v);
    return ok;
}

/* A user name used as a topic level (commands arrive on <base>/cmd/<user>/...). */
static bool mqtt_check_level(struct ctx *c, const char *key, const char *v, int line)
{
    if (!v[0] || strpbrk(v, "/+#")) {
        ERR(c, line, "'%s' = \"%s\" must not be empty or contain '/', '+' or '#' (it is a topic level)", key, v);
        return false;
    }
    return true;
}

static void mqtt_tls_file(struct ctx *c, const config_setting_t *g, const char *key, char *dst, size_t len)
{
    char v[SITE_PATH_MAX];
    if (!get_str(c, g, key, "mqtt tls", v, sizeof v, false, true))
        return;
    resolve_path(c, v, dst, len);
    if (c->check_perms && access(dst, R_OK) != 0)
        ERR(c, line_of(config_setting_get_member(g, key)), "tls %s %s: %s", key, dst, strerror(errno));
}

static void load_mqtt_roles(struct ctx *c, const config_setting_t *l, struct site_mqtt *m)
{
    int n = config_setting_length(l);
    m->users = calloc(n ? (size_t)n : 1, sizeof *m->users);
    if (!m->users)
        return;
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
        int line = line_of(e) ? line_of(e) : line_of(l);
        if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
            ERR(c, line, "each mqtt role must be a group { user = \"...\"; role = \"...\"; }");
            continue;
        }
        check_keys(c, e, "mqtt role", mqtt_role_keys);
        struct site_mqtt_user *u = &m->users[m->n_users];
        memset(u, 0, sizeof *u);
        u->line = line_of(config_setting_get_member(e, "user")) ? line_of(config_setting_get_member(e, "user")) : line;
        if (!get_str(c, e, "user", "mqtt role", u->user, sizeof u->user, true, true) ||
            !mqtt_check_level(c, "user", u->user, line_of(config_setting_get_member(e, "user"))))
            continue;
        int r = get_role(c, e, "mqtt role");
        if (r < 0)
            continue;
        u->role = (enum role)r;
        /* MQTT user names are case-sensitive (unlike portier's device and door names) */
        bool dup = false;
        for (size_t k = 0; k < m->n_users && !dup; k++) {
            dup = strcmp(m->users[k].user, u->user) == 0;
            if (dup)
                ERR(c, line_of(config_setting_get_member(e, "user")), "duplicate mqtt user \"%s\" (first at line %d)",
                    u->user, m->users[k].line);
        }
        if (!dup)
            m->n_users++;
    }
}

static void load_mqtt(struct ctx *c, const config_setting_t *g, struct site *site)
{
    struct site_mqtt *m = &site->mqtt;
    m->enabled = true;
    m->line = line_of(g);
    m->qos = 1;
    m->keepalive = 30;
    m->max_inflight = 64;
    m->discovery = true;
    snprintf(m->base_topic, sizeof m->base_topic, "portier");
    snprintf(m->discovery_prefix, sizeof m->discovery_prefix, "homeassistant");
    check_keys(c, g, "mqtt", mqtt_keys);
    get_str(c, g, "host", "mqtt", m->host, sizeof m->host, true, true);
    config_setting_t *tg = get_group(c, g, "tls");
    if (tg) {
        m->tls = true;
        check_keys(c, tg, "mqtt tls", mqtt_tls_keys);
        mqtt_tls_file(c, tg, "ca", m->tls_ca, sizeof m->tls_ca);
        mqtt_tls_file(c, tg, "cert", m->tls_cert, sizeof m->tls_cert);
        mqtt_tls_file(c, tg, "key", m->tls_key, sizeof m->tls_key);
        if (!m->tls_ca[0] && !config_setting_get_member(tg, "ca"))
            ERR(c, line_of(tg), "mqtt tls: 'ca' is required (the CA that signed the broker's certificate)");
        if (!m->tls_cert[0] != !m->tls_key[0] &&
            !config_setting_get_member(tg, m->tls_cert[0] ? "key" : "cert"))
            ERR(c, line_of(tg), "mqtt tls: 'cert' and 'key' go together (a client certificate needs its key)");
    }
    long long v;
    m->port = m->tls ? 8883 : 1883;
    if (get_int(c, g, "port", "mqtt", 1, 65535, &v, false))
        m->port = (uint16_t)v;
    if (get_str(c, g, "username", "mqtt", m->username, sizeof m->username, false, true))
        mqtt_check_level(c, "username", m->username, line_of(config_setting_get_member(g, "username")));
    config_setting_t *pf = config_setting_get_member(g, "password_file");
    if (pf && want_type(c, pf, CONFIG_TYPE_STRING, "password_file")) {
        const char *pv = text_of(c, pf, "password_file", 0);
        if (!pv) {
            /* reported */
        } else if (!pv[0]) {
            ERR(c, line_of(pf), "'password_file' must not be empty");
        } else {
            resolve_path(c, pv, m->password_file, sizeof m->password_file);
            password_perms(c, line_of(pf));
            read_password_file(c, pf, m->password, sizeof m->password);
            if (!m->username[0])
                ERR(c, line_of(pf), "mqtt: a password_file needs a 'username'");
        }
    }
    if (get_str(c, g, "client_id", "mqtt", m->client_id, sizeof m->client_id, false, true)) {
        int line = line_of(config_setting_get_member(g, "client_id"));
        if (strpbrk(m->client_id, "/+# "))
            ERR(c, line, "'client_id' = \"%s\" must not contain '/', '+', '#' or spaces", m->client_id);
        else if (strlen(m->client_id) > 23)
            WARN(c, line, "'client_id' is %zu characters: MQTT 3.1.1 brokers need only accept 23",
                 strlen(m->client_id));
    } else {
        /* portier-<site name>, letters and digits kept, the rest as '-', within 23 characters */
        size_t k = (size_t)snprintf(m->client_id, sizeof m->client_id, "portier-");
        for (const char *p = site->name; *p && k < 23; p++)
            m->client_id[k++] = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '-';
        m->client_id[k] = '\0';
    }
    if (get_str(c, g, "base_topic", "mqtt", m->base_topic, sizeof m->base_topic, false, true))
        mqtt_check_topic(c, "base_topic", m->base_topic, line_of(config_setting_get_member(g, "base_topic")));
    if (get_int(c, g, "qos", "mqtt", 0, 2, &v, false)) {
        if (v == 0)
            ERR(c, line_of(config_setting_get_member(g, "qos")), "'qos' = 0 cannot guarantee delivery: use 1 or 2");
        else
            m->qos = (unsigned)v;
    }
    if (get_int(c, g, "keepalive", "mqtt", 5, 3600, &v, false))
        m->keepalive = (unsigned)v;
    if (get_int(c, g, "max_inflight", "mqtt", 1, 1000, &v, false))
        m->max_inflight = (unsigned)v;
    get_bool(c, g, "commands", &m->commands);
    get_bool(c, g, "discovery", &m->discovery);
    if (get_str(c, g, "discovery_prefix", "mqtt", m->discovery_prefix, sizeof m->discovery_prefix, false, true))
        mqtt_check_topic(c, "discovery_prefix", m->discovery_prefix,
                         line_of(config_setting_get_member(g, "discovery_prefix")));
    config_setting_t *l = get_list(c, g, "roles");
    if (l)
        load_mqtt_roles(c, l, m);
    if (get_str(c, g, "ha_user", "mqtt", m->ha_user, sizeof m->ha_user, false, true)) {
        int line = line_of(config_setting_get_member(g, "ha_user"));
        bool found = false;
        for (size_t i = 0; i < m->n_users && !found; i++)
            found = strcmp(m->users[i].user, m->ha_user) == 0;
        if (mqtt_check_level(c, "ha_user", m->ha_user, line) && !found && m->commands)
            WARN(c, line, "ha_user \"%s\" has no entry in mqtt roles: its commands will be refused", m->ha_user);
    }
    if (m->n_users && !m->commands)
        WARN(c, m->line, "mqtt roles are set but commands = false: no command topic is read");
}

static const char *const top_keys[] = { "site", "panels", "buses", "roles", "emergency", "journal", "ui",
                                         "mqtt", "daemon", NULL };

static void load_root(struct ctx *c, config_t *cfg)
{
    struct site *site = c->site;
    config_setting_t *root = config_root_setting(cfg);
    check_keys(c, root, "the top level", top_keys);
    config_setting_t *sg = get_group(c, root, "site");
    if (!sg) {
        if (!config_setting_get_member(root, "site"))
            ERR(c, 1, "missing required group 'site' (site = { name = \"...\"; };)");
    } else {
        static const char *const site_keys[] = { "name", NULL };
        check_keys(c, sg, "site", site_keys);
        get_str(c, sg, "name", "site", site->name, sizeof site->name, true, true);
    }
    struct names devs = { 0 }, outs = { 0 }, addrs = { 0 };
    config_setting_t *pl = get_list(c, root, "panels");
    if (pl) {
        int n = config_setting_length(pl);
        site->panels = calloc(n ? (size_t)n : 1, sizeof *site->panels);
        for (int i = 0; site->panels && i < n; i++) {
            config_setting_t *e = config_setting_get_elem(pl, (unsigned)i);
            if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
                ERR(c, line_of(e) ? line_of(e) : line_of(pl), "each panel must be a group { ... }");
                continue;
            }
            load_panel(c, e, &site->panels[site->n_panels++], &devs, &outs);
        }
    }
    config_setting_t *bl = get_list(c, root, "buses");
    if (bl) {
        int n = config_setting_length(bl);
        site->buses = calloc(n ? (size_t)n : 1, sizeof *site->buses);
        for (int i = 0; site->buses && i < n; i++) {
            config_setting_t *e = config_setting_get_elem(bl, (unsigned)i);
            if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
                ERR(c, line_of(e) ? line_of(e) : line_of(bl), "each bus must be a group { ... }");
                continue;
            }
            load_bus(c, e, &site->buses[site->n_buses++], &devs, &outs, &addrs);
        }
    }
    if (site->n_panels == 0 && site->n_buses == 0) /* about the whole file: its first line */
        WARN(c, 1, "no panels and no buses: the site has no doors");
    config_setting_t *g;
    if ((g = get_group(c, root, "roles")))
        load_roles(c, g, site);
    if ((g = get_group(c, root, "emergency")))
        load_emergency(c, g, site);
    if ((g = get_group(c, root, "journal")))
        load_journal(c, g, site);
    if ((g = get_group(c, root, "ui")))
        load_ui(c, g, site);
    if ((g = get_group(c, root, "mqtt")))
        load_mqtt(c, g, site);
    if ((g = get_group(c, root, "daemon")))
        load_daemon(c, g, site);
    /* Emergency doors must exist (names checked after every output is known). */
    if (!site->emergency.all_doors) {
        config_setting_t *eg = config_setting_get_member(root, "emergency");
        config_setting_t *d = eg ? config_setting_get_member(eg, "doors") : NULL;
        for (size_t i = 0; i < site->emergency.n_doors; i++) {
            bool found = false;
            for (size_t k = 0; k < outs.n && !found; k++)
                found = strcasecmp(outs.items[k].name, site->emergency.doors[i]) == 0;
            if (!found) {
                config_setting_t *x = d ? config_setting_get_elem(d, (unsigned)i) : NULL;
                ERR(c, line_of(x) ? line_of(x) : line_of(d), "emergency door \"%s\" is not a door of this site",
                    site->emergency.doors[i]);
            }
        }
    }
    free(devs.items);
    free(outs.items);
    free(addrs.items);
}

/* Lines starting with @include are refused: one file, one permission check, no surprises. */
static bool refuse_includes(struct ctx *c, const char *text)
{
    int line = 1;
    bool bad = false;
    for (const char *p = text; *p;) {
        const char *q = p;
        while (*q == ' ' || *q == '\t')
            q++;
        if (strncmp(q, "@include", 8) == 0) {
            ERR(c, line, "@include is not supported: keep the whole configuration in one file");
            bad = true;
        }
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;
        p = nl + 1;
        line++;
    }
    return bad;
}

/* libconfig's message (never "syntax error: syntax error"), with the line it stopped at, as far as it can be
 * shown. */
static void syntax_error(struct ctx *c, const char *msg, int line)
{
    if (!msg || !msg[0])
        msg = "syntax error";
    const char *p = c->text;
    for (int l = 1; p && l < line; l++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    char shown[72] = "";
    size_t o = 0;
    for (; p && *p && *p != '\n' && o + 4 < sizeof shown; p++) {
        unsigned char ch = (unsigned char)*p;
        if (o == 0 && (ch == ' ' || ch == '\t'))
            continue;
        shown[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    if (p && *p && *p != '\n')
        memcpy(shown + o, "...", 4);
    else
        shown[o] = '\0';
    bool plain = strncmp(msg, "syntax error", 12) == 0;
    if (shown[0])
        ERR(c, line, "%s%s in: %s", plain ? "" : "syntax error: ", msg, shown);
    else
        ERR(c, line, "%s%s", plain ? "" : "syntax error: ", msg);
}

static struct site *load_text(struct ctx *c, const char *text)
{
    if (refuse_includes(c, text))
        return NULL;
    config_t cfg;
    config_init(&cfg);
    /* libconfig 1.5 defaults also accept ':' and ','; keep them, refuse nothing the format allows. */
    c->text = text;
    if (!config_read_string(&cfg, text)) {
        syntax_error(c, config_error_text(&cfg), config_error_line(&cfg));
        config_destroy(&cfg);
        return NULL;
    }
    struct site *site = site_new();
    if (!site) {
        ERR(c, 0, "out of memory");
        config_destroy(&cfg);
        return NULL;
    }
    c->site = site;
    snprintf(site->config_path, sizeof site->config_path, "%s", c->path);
    load_root(c, &cfg);
    config_destroy(&cfg);
    if (c->d->errors == 0 && site_build(site) != 0)
        ERR(c, 0, "out of memory");
    if (c->d->errors) {
        site_free(site);
        return NULL;
    }
    return site;
}

static void ctx_init(struct ctx *c, struct config_diags *d, const char *name)
{
    memset(c, 0, sizeof *c);
    memset(d, 0, sizeof *d);
    c->d = d;
    snprintf(d->file, sizeof d->file, "%s", name);
    snprintf(c->path, sizeof c->path, "%s", name);
}

struct site *site_config_load_string(const char *text, const char *name, struct config_diags *diags)
{
    struct ctx c;
    ctx_init(&c, diags, name ? name : "<string>");
    return load_text(&c, text);
}

struct site *site_config_load(const char *path, struct config_diags *diags)
{
    struct ctx c;
    ctx_init(&c, diags, path);
    const char *slash = strrchr(path, '/');
    if (slash) {
        size_t l = (size_t)(slash - path);
        if (l == 0)
            l = 1;
        if (l < sizeof c.dir) {
            memcpy(c.dir, path, l);
            c.dir[l] = '\0';
        }
    } else {
        snprintf(c.dir, sizeof c.dir, ".");
    }
    char *text, why[128];
    size_t n;
    if (conf_read_file(path, MAX_CONFIG_BYTES, &text, &n, &c.st, why, sizeof why) != 0) {
        ERR(&c, 0, "%s", why); /* about the file, not a line of it */
        return NULL;
    }
    const char *nul = memchr(text, '\0', n);
    if (nul) {
        int line = 1;
        for (const char *p = text; p < nul; p++)
            line += *p == '\n';
        ERR(&c, line, "contains a NUL byte");
        free(text);
        return NULL;
    }
    c.check_perms = true;
    struct site *site = load_text(&c, text);
    free(text);
    return site;
}

const char *site_config_find(const char *explicit_path, char *buf, size_t len)
{
    struct stat st;
    if (explicit_path) {
        /* lstat: a link that loops or leads nowhere is found here and explained by the loader. */
        snprintf(buf, len, "%s", explicit_path);
        return lstat(explicit_path, &st) == 0 ? buf : NULL;
    }
    char cand[2][SITE_PATH_MAX];
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (xdg && xdg[0] == '/')
        snprintf(cand[0], sizeof cand[0], "%s/portier/portier.conf", xdg);
    else
        snprintf(cand[0], sizeof cand[0], "%s/.config/portier/portier.conf", home && home[0] ? home : "");
    snprintf(cand[1], sizeof cand[1], "/etc/portier/portier.conf");
    for (int i = 0; i < 2; i++) {
        if (lstat(cand[i], &st) == 0) {
            snprintf(buf, len, "%s", cand[i]);
            return buf;
        }
    }
    snprintf(buf, len, "%s, %s", cand[0], cand[1]);
    return NULL;
}

int site_config_check(const char *explicit_path, FILE *out, FILE *err)
{
    char path[2 * SITE_PATH_MAX + 8];
    if (!site_config_find(explicit_path, path, sizeof path)) {
        if (explicit_path)
            fprintf(err, "%s: no such file\n", explicit_path);
        else
            fprintf(err, "no configuration found (tried %s); use -c FILE\n", path);
        return 2;
    }
    struct config_diags d;
    struct site *site = site_config_load(path, &d);
    config_diags_print(&d, err);
    int rc;
    if (site) {
        size_t doors = 0;
        for (size_t i = 0; i < site->n_outputs; i++)
            doors += site->outputs[i].type != OUTPUT_AUX;
        fprintf(out, "%s: OK: site \"%s\": %zu panel%s, %zu bus%s, %zu door%s, %zu warning%s\n", path, site->name,
                site->n_panels, site->n_panels == 1 ? "" : "s", site->n_buses, site->n_buses == 1 ? "" : "es",
                doors, doors == 1 ? "" : "s", d.warnings, d.warnings == 1 ? "" : "s");
        rc = 0;
    } else {
        fprintf(out, "%s: %zu error%s, %zu warning%s\n", path, d.errors, d.errors == 1 ? "" : "s", d.warnings,
                d.warnings == 1 ? "" : "s");
        rc = 1;
    }
    site_free(site);
    config_diags_free(&d);
    return rc;
}
