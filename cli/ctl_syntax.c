/* ctl_syntax: global options, syntax tokens, choices and typed values of the verb table. */
#include "cli/ctl_syntax.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/action.h"
#include "core/cron.h"
#include "core/event.h"
#include "core/timespec.h"

/* ---- global options ---- */


const struct ctl_def ctl_global_opts[] = {
    [G_JSON] = { .name = "json", .type = CTL_FLAG, .help = "one JSON object per line on standard output" },
    [G_VERBOSE] = { .name = "verbose", .key = 'v', .type = CTL_FLAG, .help = "protocol trace on standard error" },
    [G_READONLY] = { .name = "readonly", .type = CTL_FLAG,
                     .help = "refuse every command that changes state (nothing is opened or sent)" },
    [G_CONFIG] = { .name = "config", .key = 'c', .type = CTL_TEXT, .meta = "FILE", .max = 4000,
                   .help = "site configuration (as for portier)" },
    [G_TIMEOUT] = { .name = "timeout", .type = CTL_UINT, .min = 1, .max = 86400000, .meta = "MS",
                    .help = "give up on a device that does not answer within MS milliseconds" },
    [G_SOCKET] = { .name = "socket", .type = CTL_TEXT, .meta = "PATH", .max = 4000,
                   .help = "portierd's socket (default: daemon.socket of -c FILE, else /run/portier/portier.sock)" },
    [G_DIRECT] = { .name = "direct", .type = CTL_FLAG,
                   .help = "own the devices here instead of asking portierd (refused for devices it owns)" },
    [G_HELP] = { .name = "help", .key = 'h', .type = CTL_FLAG, .help = "this help (also after a family or a command)" },
    [G_VERSION] = { .name = "version", .type = CTL_FLAG, .help = "the version" },
    [G_CHECK_CONFIG] = { .name = "check-config", .type = CTL_FLAG, .flags = CTL_HIDDEN },
    [G_MAN] = { .name = "man-synopsis", .type = CTL_FLAG, .flags = CTL_HIDDEN },
    [G_LIST] = { .name = "list-commands", .type = CTL_FLAG, .flags = CTL_HIDDEN },
    { 0 },
};

/* ---- small helpers ---- */

size_t ndefs(const struct ctl_def *d)
{
    size_t n = 0;
    while (d && d[n].name)
        n++;
    return n;
}

void ctl_seterr(struct ctl_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ctl_seterr(struct ctl_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

/* Printable rendering of user text in messages: at most 40 bytes, control bytes as '?'. */
const char *shown(const char *s, char *buf, size_t len)
{
    size_t k = 0;
    for (; s && *s && k + 4 < len && k < 40; s++)
        buf[k++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
    if (s && *s && k + 4 <= len) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = '\0';
    return buf;
}

int ctl_parse_uint(const char *s, long long min, long long max, long long *out, char *err, size_t errlen)
{
    char sh[48];
    const char *p = s ? s : "";
    if (!*p) {
        snprintf(err, errlen, "empty value (a number from %lld to %lld)", min, max);
        return -1;
    }
    if (*p == '-' && p[1] >= '0' && p[1] <= '9') {
        snprintf(err, errlen, "%s is negative (a number from %lld to %lld)", shown(p, sh, sizeof sh), min, max);
        return -1;
    }
    for (const char *q = p; *q; q++) {
        if (*q < '0' || *q > '9') {
            snprintf(err, errlen, "'%s' is not a number (a number from %lld to %lld)", shown(p, sh, sizeof sh), min,
                     max);
            return -1;
        }
    }
    errno = 0;
    char *end;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno == ERANGE || v > (unsigned long long)max) {
        snprintf(err, errlen, "%s is too large (the maximum is %lld)", shown(p, sh, sizeof sh), max);
        return -1;
    }
    if ((long long)v < min) {
        snprintf(err, errlen, "%s is below the minimum %lld", shown(p, sh, sizeof sh), min);
        return -1;
    }
    *out = (long long)v;
    return 0;
}

bool ctl_verb_changes(const struct ctl_verb *v)
{
    if (v->action >= 0 && v->action < ACTION_COUNT)
        return action_table[v->action].changes_state;
    return v->changes;
}

const char *ctl_verb_help(const struct ctl_verb *v)
{
    if (v->help)
        return v->help;
    return v->action >= 0 && v->action < ACTION_COUNT ? action_table[v->action].description : "";
}

enum role ctl_verb_role(const struct ctl_verb *v)
{
    if (v->action >= 0 && v->action < ACTION_COUNT)
        return action_table[v->action].min_role;
    return v->role;
}

/* ---- syntax tokens ---- */

/* The next token of a syntax string at *p. */
enum tok_kind next_tok(const char **p, struct tok *t)
{
    const char *s = *p;
    while (*s == ' ')
        s++;
    memset(t, 0, sizeof *t);
    if (!*s) {
        *p = s;
        return t->kind = TK_END;
    }
    size_t n = strcspn(s, " ");
    *p = s + n;
    if (s[0] == '[') {
        t->optional = true;
        s++;
        n -= n >= 2 ? 2 : n; /* "[X]" */
    }
    if (n >= 3 && strncmp(s + n - 3, "...", 3) == 0) {
        t->rest = true;
        n -= 3;
    }
    if (n >= sizeof t->text)
        n = sizeof t->text - 1;
    memcpy(t->text, s, n);
    t->text[n] = '\0';
    if (t->text[0] >= 'A' && t->text[0] <= 'Z')
        t->kind = TK_ARG;
    else
        t->kind = strchr(t->text, '|') ? TK_CHOICE : TK_WORD;
    return t->kind;
}

/* The command's name: the leading words of its syntax ("door open"). */
void verb_name(const struct ctl_verb *v, char *buf, size_t len)
{
    struct strbuf sb;
    strbuf_init(&sb, buf, len);
    const char *p = v->syntax;
    struct tok t;
    while (next_tok(&p, &t) == TK_WORD) {
        strbuf_sep(&sb, " ");
        strbuf_puts(&sb, t.text);
    }
}

bool first_word_is(const struct ctl_verb *v, const char *w)
{
    const char *p = v->syntax;
    struct tok t;
    return next_tok(&p, &t) == TK_WORD && strcmp(t.text, w) == 0;
}

/* Index of word in "a|b|c", or -1 ("on|off" also takes 1 and 0). */
int choice_index(const char *choices, const char *w)
{
    size_t wl = strlen(w);
    int i = 0;
    for (const char *c = choices; c && *c; i++) {
        size_t n = strcspn(c, "|");
        if (n == wl && strncmp(c, w, n) == 0)
            return i;
        c += n + (c[n] == '|');
    }
    if (choices && strcmp(choices, "on|off") == 0 && (strcmp(w, "1") == 0 || strcmp(w, "0") == 0))
        return w[0] == '1' ? 0 : 1;
    return -1;
}

/* "a, b or c" */
void choices_words(const char *choices, struct strbuf *sb)
{
    size_t total = 1;
    for (const char *c = choices; *c; c++)
        total += *c == '|';
    size_t i = 0;
    for (const char *c = choices; *c; i++) {
        size_t n = strcspn(c, "|");
        if (i)
            strbuf_puts(sb, i + 1 == total ? " or " : ", ");
        strbuf_putn(sb, c, n);
        c += n + (c[n] == '|');
    }
}

/* ---- values ---- */

long long def_min(const struct ctl_def *d, const struct ctl_verb *v)
{
    if ((d->flags & CTL_ACTION_RANGE) && v && v->action >= 0 && v->action < ACTION_COUNT)
        return action_table[v->action].param_min;
    return d->min;
}

long long def_max(const struct ctl_def *d, const struct ctl_verb *v)
{
    if ((d->flags & CTL_ACTION_RANGE) && v && v->action >= 0 && v->action < ACTION_COUNT)
        return action_table[v->action].param_max;
    return d->max;
}

/* Check text against d into val (set, s, n). 0, or -1 with the reason (without the name) in why. */
int check_value(const struct ctl_def *d, const struct ctl_verb *v, const char *text, struct ctl_val *val,
                       char *why, size_t wl)
{
    char sh[48];
    val->s = text;
    switch (d->type) {
    case CTL_FLAG:
        val->n++;
        break;
    case CTL_TEXT:
        if (!text[0]) {
            snprintf(why, wl, "empty");
            return -1;
        }
        if (d->max > 0 && strlen(text) > (size_t)d->max) {
            bool ascii = true;
            for (const unsigned char *c = (const unsigned char *)text; *c && ascii; c++)
                ascii = *c < 0x80;
            /* the bound is the device's or the journal's, in bytes: a non-ASCII character takes more than one */
            if (ascii)
                snprintf(why, wl, "longer than %lld characters", d->max);
            else
                snprintf(why, wl, "longer than %lld bytes (%zu given; a non-ASCII character takes 2 to 4)", d->max,
                         strlen(text));
            return -1;
        }
        break;
    case CTL_UINT:
        if (ctl_parse_uint(text, def_min(d, v), def_max(d, v), &val->n, why, wl) < 0)
            return -1;
        break;
    case CTL_CHOICE: {
        int i = choice_index(d->choices, text);
        if (i < 0) {
            struct strbuf sb;
            strbuf_init(&sb, why, wl);
            strbuf_printf(&sb, "'%s' is not ", shown(text, sh, sizeof sh));
            choices_words(d->choices, &sb);
            return -1;
        }
        val->n = i;
        break;
    }
    case CTL_TIME: {
        char e[200];
        int64_t us = 0;
        if (timespec_parse(text, event_now_us(), &us, e, sizeof e) < 0) {
            snprintf(why, wl, "%s", e);
            return -1;
        }
        val->n = (long long)us;
        break;
    }
    case CTL_CRON: {
        struct cron c;
        char e[160];
        if (cron_parse_str(text, &c, e, sizeof e) < 0) {
            snprintf(why, wl, "'%s' is not a cron expression (min hour day month weekday): %s", shown(text, sh, sizeof sh),
                     e);
            return -1;
        }
        break;
    }
    case CTL_CUSTOM:
        if (d->check && d->check(text, why, wl) < 0)
            return -1;
        if (text[0] && strspn(text, "0123456789") == strlen(text) && strlen(text) < 19)
            val->n = strtoll(text, NULL, 10); /* a number the check accepted (e.g. a baud rate) */
        break;
    }
    val->set = true;
    if (d->flags & CTL_REPEAT) {
        if (val->nlist >= CTL_MAX_REPEAT) {
            snprintf(why, wl, "given more than %d times", CTL_MAX_REPEAT);
            return -1;
        }
        val->list[val->nlist++] = text;
    }
    return 0;
}

/* ---- lookups ---- */

const struct ctl_val *ctl_get(const struct ctl_call *call, const char *name)
{
    const struct ctl_verb *v = call->verb;
    if (v) {
        const char *p = v->syntax;
        struct tok t;
        size_t slot = 0;
        while (next_tok(&p, &t) != TK_END && slot < CTL_MAX_ARGS) {
            if (t.kind == TK_WORD)
                continue;
            if (strcmp(t.text, name) == 0)
                return &call->arg[slot];
            slot++;
        }
        for (size_t i = 0; v->opts && v->opts[i].name && i < CTL_MAX_OPTS; i++)
            if (strcmp(v->opts[i].name, name) == 0)
                return &call->opt[i];
    }
    for (size_t i = 0; call->fam && call->fam->opts && call->fam->opts[i].name && i < CTL_MAX_OPTS; i++)
        if (strcmp(call->fam->opts[i].name, name) == 0)
            return &call->fopt[i];
    return NULL;
}

bool ctl_has(const struct ctl_call *call, const char *name)
{
    const struct ctl_val *v = ctl_get(call, name);
    return v && v->set;
}

const char *ctl_str(const struct ctl_call *call, const char *name, const char *def)
{
    const struct ctl_val *v = ctl_get(call, name);
    return v && v->set ? v->s : def;
}

long long ctl_num(const struct ctl_call *call, const char *name, long long def)
{
    const struct ctl_val *v = ctl_get(call, name);
    return v && v->set ? v->n : def;
}

unsigned ctl_timeout(const struct ctl_opts *g, unsigned def_ms)
{
    return g->timeout_ms ? g->timeout_ms : def_ms;
}

