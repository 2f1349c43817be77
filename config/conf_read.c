/* conf_read: libconfig setting readers with line-numbered diagnostics, password files and roles. */
#include "config/conf_read.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/conf_check.h"
#include "core/grow.h"
#include "core/role.h"

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


void conf_diag(struct conf_ctx *c, int line, bool warning, const char *fmt, ...)
{
    struct config_diags *d = c->d;
    struct config_diag *it = grow_array(d->items, d->n, &d->cap, sizeof *it, 16);
    if (!it)
        return;
    d->items = it;
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


int conf_line(const config_setting_t *s)
{
    return s ? (int)config_setting_source_line(s) : 0;
}

const char *conf_type_word(int type)
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
void conf_check_keys(struct conf_ctx *c, const config_setting_t *group, const char *where, const char *const *allowed)
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
            CONF_ERR(c, conf_line(s), "unknown key '%s' in %s", name, where);
    }
}

/* Fetch a member: NULL and a message when required and missing. */
config_setting_t *conf_member(struct conf_ctx *c, const config_setting_t *group, const char *key, const char *where,
                                bool required)
{
    config_setting_t *s = config_setting_get_member(group, key);
    if (!s && required)
        CONF_ERR(c, conf_line(group), "%s: missing required key '%s'", where, key);
    return s;
}

bool conf_want_type(struct conf_ctx *c, const config_setting_t *s, int type, const char *key)
{
    int t = config_setting_type(s);
    bool ok = t == type || (type == CONFIG_TYPE_INT && t == CONFIG_TYPE_INT64);
    if (!ok)
        CONF_ERR(c, conf_line(s), "'%s' must be %s, not %s", key, conf_type_word(type), conf_type_word(t));
    return ok;
}

/* The text of a string setting, or NULL (reported at line, or the setting's own) when it is not valid UTF-8 or
 * holds a control character: everything a configuration names ends up in front of an operator. */
const char *conf_text_of(struct conf_ctx *c, const config_setting_t *s, const char *key, int line)
{
    const char *v = config_setting_get_string(s);
    if (!v)
        return "";
    size_t bad;
    char what[64];
    if (!conf_text_ok(v, &bad, what, sizeof what)) {
        CONF_ERR(c, conf_line(s) ? conf_line(s) : line, "'%s' has a %s (at byte %zu): names and texts must be UTF-8 "
            "without control characters", key, what, bad + 1);
        return NULL;
    }
    return v;
}

/* String member into dst. Returns true when present and valid. */
bool conf_get_str(struct conf_ctx *c, const config_setting_t *group, const char *key, const char *where, char *dst,
                    size_t len, bool required, bool nonempty)
{
    config_setting_t *s = conf_member(c, group, key, where, required);
    if (!s || !conf_want_type(c, s, CONFIG_TYPE_STRING, key))
        return false;
    const char *v = conf_text_of(c, s, key, 0);
    if (!v)
        return false;
    if (nonempty && !v[0]) {
        CONF_ERR(c, conf_line(s), "'%s' must not be empty", key);
        return false;
    }
    if (strlen(v) >= len) {
        CONF_ERR(c, conf_line(s), "'%s' is too long (at most %zu bytes)", key, len - 1);
        return false;
    }
    memcpy(dst, v, strlen(v) + 1);
    return true;
}

/* The value of an integer setting as written: libconfig 1.5 cuts plain integers to 32 bits and saturates
 * 64-bit ones, so the literal is read again from the text. false when it does not even fit 64 bits (the
 * caller says what range it wanted). lit gets the literal as written (or the value). */
bool conf_int_value(struct conf_ctx *c, const config_setting_t *s, const char *key, long long *v, char *lit,
                      size_t litlen)
{
    long long seen = config_setting_get_int64(s);
    struct conf_int ci;
    if (conf_find_int(c->text, conf_line(s), key, seen, &ci)) {
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

bool conf_get_int(struct conf_ctx *c, const config_setting_t *group, const char *key, const char *where, long long min,
                    long long max, long long *out, bool required)
{
    config_setting_t *s = conf_member(c, group, key, where, required);
    if (!s || !conf_want_type(c, s, CONFIG_TYPE_INT, key))
        return false;
    long long v;
    char lit[64];
    if (!conf_int_value(c, s, key, &v, lit, sizeof lit) || v < min || v > max) {
        CONF_ERR(c, conf_line(s), "'%s' = %s is out of range (%lld..%lld)", key, lit, min, max);
        return false;
    }
    *out = v;
    return true;
}

bool conf_get_bool(struct conf_ctx *c, const config_setting_t *group, const char *key, bool *out)
{
    config_setting_t *s = config_setting_get_member(group, key);
    if (!s || !conf_want_type(c, s, CONFIG_TYPE_BOOL, key))
        return false;
    *out = config_setting_get_bool(s) != 0;
    return true;
}

/* A string member that must be one of words[]; returns its index or -1. */
int conf_get_enum(struct conf_ctx *c, const config_setting_t *group, const char *key, const char *const *words)
{
    config_setting_t *s = config_setting_get_member(group, key);
    if (!s || !conf_want_type(c, s, CONFIG_TYPE_STRING, key))
        return -1;
    const char *v = conf_text_of(c, s, key, 0);
    if (!v)
        return -1;
    char list[160] = "";
    for (int i = 0; words[i]; i++) {
        if (v && strcmp(v, words[i]) == 0)
            return i;
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", words[i]);
    }
    CONF_ERR(c, conf_line(s), "'%s' = \"%s\" is not one of: %s", key, v ? v : "", list);
    return -1;
}

/* A group-typed member (or NULL) */
config_setting_t *conf_get_group(struct conf_ctx *c, const config_setting_t *parent, const char *key)
{
    config_setting_t *s = config_setting_get_member(parent, key);
    if (s && !conf_want_type(c, s, CONFIG_TYPE_GROUP, key))
        return NULL;
    return s;
}

/* A list or array member (or NULL) */
config_setting_t *conf_get_list(struct conf_ctx *c, const config_setting_t *parent, const char *key)
{
    config_setting_t *s = config_setting_get_member(parent, key);
    if (!s)
        return NULL;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY) {
        CONF_ERR(c, conf_line(s), "'%s' must be a list ( ... ), not %s", key, conf_type_word(t));
        return NULL;
    }
    return s;
}

config_setting_t *conf_list_group(struct conf_ctx *c, const config_setting_t *l, int i, const char *what,
                                  const char *shape)
{
    config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
    if (config_setting_type(e) == CONFIG_TYPE_GROUP)
        return e;
    CONF_ERR(c, conf_line(e) ? conf_line(e) : conf_line(l), "each %s must be a group %s", what, shape);
    return NULL;
}

/* ---- password files ---- */

void conf_resolve_path(struct conf_ctx *c, const char *p, char *out, size_t len)
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

void conf_password_perms(struct conf_ctx *c, int line)
{
    if (c->check_perms && (c->st.st_mode & 077)) {
        char advice[SITE_PATH_MAX + 32];
        perms_advice(c->path, &c->st, advice, sizeof advice);
        CONF_ERR(c, line, "a password is set but %s is readable by group or others (mode %04o)%s", c->path,
            (unsigned)(c->st.st_mode & 07777), advice);
    }
}

/* The first line of a password file: a regular file (a FIFO, device or directory is refused, nothing waits),
 * readable by its owner only. */
void conf_read_password_file(struct conf_ctx *c, const config_setting_t *s, char *dst, size_t len)
{
    char p[SITE_PATH_MAX];
    const char *v = conf_text_of(c, s, "password_file", 0);
    if (!v)
        return;
    conf_resolve_path(c, v, p, sizeof p);
    if (!c->check_perms)
        return; /* in-memory configuration (tests, fuzzing): no file access */
    struct stat st;
    char *text, why[128];
    size_t n;
    if (conf_read_file(p, 4096, &text, &n, &st, why, sizeof why) != 0) {
        CONF_ERR(c, conf_line(s), "password_file %s: %s", p, why);
        return;
    }
    if (st.st_mode & 077) {
        char advice[SITE_PATH_MAX + 32];
        perms_advice(p, &st, advice, sizeof advice);
        CONF_ERR(c, conf_line(s), "password_file %s is readable by group or others (mode %04o)%s", p,
            (unsigned)(st.st_mode & 07777), advice);
    }
    const char *nl = memchr(text, '\n', n);
    size_t l = nl ? (size_t)(nl - text) : n;
    if (l && text[l - 1] == '\r')
        l--;
    if (memchr(text, '\0', l))
        CONF_ERR(c, conf_line(s), "password in %s contains a NUL byte", p);
    else if (l >= len)
        CONF_ERR(c, conf_line(s), "password in %s is too long (at most %zu characters)", p, len - 1);
    else
        snprintf(dst, len, "%.*s", (int)l, text);
    free(text);
}

/* A role name setting: the role, or -1 (reported). */
int conf_role_of(struct conf_ctx *c, const config_setting_t *s, const char *key)
{
    const char *v = conf_text_of(c, s, key, 0);
    int r = v ? role_from_name(v) : -1;
    if (v && r < 0)
        CONF_ERR(c, conf_line(s), "'%s' = \"%s\" is not one of: guard, operator, technician", key, v);
    return r;
}

/* The required 'role' member of a mapping: the role, or -1 (reported). */
int conf_get_role(struct conf_ctx *c, const config_setting_t *g, const char *where)
{
    config_setting_t *rs = conf_member(c, g, "role", where, true);
    if (!rs || !conf_want_type(c, rs, CONFIG_TYPE_STRING, "role"))
        return -1;
    return conf_role_of(c, rs, "role");
}

