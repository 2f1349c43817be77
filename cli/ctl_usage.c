/* ctl_usage: usage lines, --help and the man page's SYNOPSIS and COMMANDS, all generated from the table. */
#include <string.h>

#include "cli/ctl_syntax.h"
#include "core/action.h"
#include "core/timespec.h"

/* ---- usage, help and man page ---- */

enum style { ST_PLAIN, ST_ROFF };

/* Text for roff: '-' and '\' escaped, a leading '.' or '\'' protected. */
static void put_roff(struct strbuf *sb, const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i]; i++) {
        if (s[i] == '-')
            strbuf_puts(sb, "\\-");
        else if (s[i] == '\\')
            strbuf_puts(sb, "\\e");
        else
            strbuf_putc(sb, s[i]);
    }
}

/* A literal (bold) or a placeholder (italic) in the style. */
static void put_lit(struct strbuf *sb, enum style st, const char *s)
{
    if (st == ST_PLAIN) {
        strbuf_puts(sb, s);
        return;
    }
    strbuf_puts(sb, "\\fB");
    put_roff(sb, s, strlen(s));
    strbuf_puts(sb, "\\fR");
}

static void put_meta(struct strbuf *sb, enum style st, const char *s)
{
    if (st == ST_PLAIN) {
        strbuf_puts(sb, s);
        return;
    }
    /* HOST[:PORT]: brackets and ':' stay roman */
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, "[]:|");
        if (n) {
            strbuf_puts(sb, "\\fI");
            put_roff(sb, p, n);
            strbuf_puts(sb, "\\fR");
        }
        p += n;
        if (*p)
            strbuf_putc(sb, *p++);
    }
}

/* "a|b" choices: each word bold. */
static void put_choices(struct strbuf *sb, enum style st, const char *c)
{
    for (const char *p = c; *p;) {
        size_t n = strcspn(p, "|");
        char w[64];
        snprintf(w, sizeof w, "%.*s", (int)(n < 63 ? n : 63), p);
        put_lit(sb, st, w);
        p += n;
        if (*p)
            strbuf_putc(sb, *p++);
    }
}

/* "--name VALUE" of an option. */
static void put_option_body(struct strbuf *sb, enum style st, const struct ctl_def *d)
{
    char name[80];
    snprintf(name, sizeof name, "--%s", d->name);
    put_lit(sb, st, name);
    if (d->type != CTL_FLAG) {
        strbuf_putc(sb, ' ');
        if (d->meta || !d->choices)
            put_meta(sb, st, d->meta ? d->meta : "VALUE");
        else
            put_choices(sb, st, d->choices);
    }
}

/* "[--name VALUE]" (and "..." when it may be repeated) for usage lines. */
static void put_option(struct strbuf *sb, enum style st, const struct ctl_def *d)
{
    strbuf_putc(sb, '[');
    put_option_body(sb, st, d);
    strbuf_putc(sb, ']');
    if (d->flags & CTL_REPEAT)
        strbuf_puts(sb, "...");
}

static void put_options(struct strbuf *sb, enum style st, const struct ctl_def *defs)
{
    for (size_t i = 0; defs && defs[i].name; i++) {
        if (defs[i].flags & CTL_HIDDEN)
            continue;
        strbuf_putc(sb, ' ');
        put_option(sb, st, &defs[i]);
    }
}

static void put_syntax(struct strbuf *sb, enum style st, const struct ctl_verb *v)
{
    const char *p = v->syntax;
    struct tok t;
    bool first = true;
    while (next_tok(&p, &t) != TK_END) {
        if (!first)
            strbuf_putc(sb, ' ');
        first = false;
        if (t.optional)
            strbuf_putc(sb, '[');
        if (t.kind == TK_WORD)
            put_lit(sb, st, t.text);
        else if (t.kind == TK_CHOICE)
            put_choices(sb, st, t.text);
        else
            put_meta(sb, st, t.text);
        if (t.optional)
            strbuf_putc(sb, ']');
        if (t.rest)
            strbuf_puts(sb, "...");
    }
}

/* "[--json] [-v] ..." for the program's own line. */
static void put_family_head(struct strbuf *sb, enum style st, const struct ctl_family *f, bool with_opts)
{
    if (!f || !f->name)
        return;
    put_lit(sb, st, f->name);
    if (f->target) {
        strbuf_putc(sb, ' ');
        put_meta(sb, st, f->target);
    }
    if (with_opts)
        put_options(sb, st, f->opts);
}

static bool refused;

void ctl_refuse(void) { refused = true; }
bool ctl_refused(void) { return refused; }

void ctl_print_usage_line(FILE *out, const struct ctl_family *fam, const struct ctl_verb *verb)
{
    char buf[1024];
    struct strbuf sb;
    STRBUF_ON(&sb, buf);
    strbuf_puts(&sb, "usage: portierctl [OPTIONS] ");
    if (fam && fam->name && verb && ctl_verb_targetless(fam, verb)) {
        put_lit(&sb, ST_PLAIN, fam->name);
        strbuf_putc(&sb, ' ');
    } else if (fam && fam->name) {
        put_family_head(&sb, ST_PLAIN, fam, false);
        strbuf_printf(&sb, " [%s OPTIONS] ", fam->name);
    }
    if (verb) {
        put_syntax(&sb, ST_PLAIN, verb);
        put_options(&sb, ST_PLAIN, verb->opts);
    } else {
        strbuf_puts(&sb, "COMMAND [ARGS...]");
    }
    fprintf(out, "%s\n", buf);
}

void ctl_print_error(FILE *out, const struct ctl_error *err)
{
    fprintf(out, "portierctl: %s\n", err->msg);
    if (err->nverbs) {
        for (size_t i = 0; i < err->nverbs; i++)
            ctl_print_usage_line(out, err->fam, err->verbs[i]);
    } else {
        ctl_print_usage_line(out, err->fam, NULL);
    }
    fprintf(out, "Try 'portierctl%s%s --help' for more.\n", err->fam && err->fam->name ? " " : "",
            err->fam && err->fam->name ? err->fam->name : "");
}

/* "1-254", "auto, session or sessionless", ... for an argument or option value. */
static void put_range(struct strbuf *sb, const struct ctl_def *d, const struct ctl_verb *v)
{
    switch (d->type) {
    case CTL_UINT:
        strbuf_printf(sb, "%lld-%lld", def_min(d, v), def_max(d, v));
        if ((d->flags & CTL_ACTION_RANGE) && v && v->action >= 0 && v->action < ACTION_COUNT)
            strbuf_printf(sb, ", default %u", action_table[v->action].param_default);
        break;
    case CTL_CHOICE: choices_words(d->choices, sb); break;
    case CTL_TIME: strbuf_puts(sb, TIMESPEC_FORMS); break;
    case CTL_CRON: strbuf_puts(sb, "five cron fields: minute hour day month weekday"); break;
    default: break;
    }
}

/* One command in detail: usage, what it does, its role and mapping, every argument and option. */
static void help_verb(FILE *out, const struct ctl_family *f, const struct ctl_verb *v)
{
    char buf[1024];
    struct strbuf sb;
    STRBUF_ON(&sb, buf);
    put_syntax(&sb, ST_PLAIN, v);
    fprintf(out, "\n  %s%s%s\n      %s.", f && f->name ? f->name : "", f && f->name ? " ... " : "", buf,
            ctl_verb_help(v));
    fprintf(out, " %s; %s role", ctl_verb_changes(v) ? "Changes state" : "Read-only", role_name(ctl_verb_role(v)));
    if (v->action >= 0 && v->action < ACTION_COUNT)
        fprintf(out, "; core action %s", action_table[v->action].name);
    else if (v->maps)
        fprintf(out, "; sends %s", v->maps);
    fprintf(out, ".\n");
    for (size_t i = 0; v->args && v->args[i].name; i++) {
        strbuf_reset(&sb);
        put_range(&sb, &v->args[i], v);
        fprintf(out, "      %-16s %s%s%s\n", v->args[i].name, v->args[i].help ? v->args[i].help : "",
                buf[0] && v->args[i].help ? ": " : "", buf);
    }
    for (size_t i = 0; v->opts && v->opts[i].name; i++) {
        const struct ctl_def *d = &v->opts[i];
        if (d->flags & CTL_HIDDEN)
            continue;
        strbuf_reset(&sb);
        put_range(&sb, d, v);
        char nm[64];
        snprintf(nm, sizeof nm, "--%s%s%s", d->name, d->meta ? " " : "", d->meta ? d->meta : "");
        fprintf(out, "      %-16s %s%s%s%s\n", nm, d->help ? d->help : "", buf[0] ? " (" : "", buf, buf[0] ? ")" : "");
    }
}

static void help_options(FILE *out, const struct ctl_def *defs)
{
    char buf[512];
    struct strbuf sb;
    for (size_t i = 0; defs && defs[i].name; i++) {
        const struct ctl_def *d = &defs[i];
        if (d->flags & CTL_HIDDEN)
            continue;
        char nm[80];
        snprintf(nm, sizeof nm, "%s%c%s--%s%s%s", d->key ? "-" : " ", d->key ? d->key : ' ', d->key ? ", " : "  ",
                 d->name, d->meta ? " " : "", d->meta ? d->meta : "");
        STRBUF_ON(&sb, buf);
        put_range(&sb, d, NULL);
        fprintf(out, "  %-22s %s%s%s%s\n", nm, d->help ? d->help : "", buf[0] ? " (" : "", buf, buf[0] ? ")" : "");
    }
}

/* A family: its options, then one line per command. */
static void help_family(FILE *out, const struct ctl_family *f)
{
    char buf[1024];
    struct strbuf sb;
    STRBUF_ON(&sb, buf);
    if (f->name) {
        put_family_head(&sb, ST_PLAIN, f, false);
        fprintf(out, "\n%s: %s\n", buf, f->help);
        if (ndefs(f->opts)) {
            fprintf(out, " %s options (before or after %s):\n", f->name, f->target ? f->target : "the command");
            help_options(out, f->opts);
        }
        fprintf(out, " commands:\n");
    } else {
        fprintf(out, "\nSite commands: %s.\n", f->help);
    }
    for (size_t i = 0; i < f->nverbs; i++) {
        const struct ctl_verb *v = &f->verbs[i];
        STRBUF_ON(&sb, buf);
        put_syntax(&sb, ST_PLAIN, v);
        if (ndefs(v->opts))
            strbuf_puts(&sb, " [OPTIONS]");
        if (strbuf_len(&sb) <= 34)
            fprintf(out, "  %-34s %s\n", buf, ctl_verb_help(v));
        else
            fprintf(out, "  %s\n  %-34s %s\n", buf, "", ctl_verb_help(v));
    }
}

void ctl_print_help(FILE *out, const struct ctl_family *const *fams, const struct ctl_family *fam,
                    const struct ctl_error *scope)
{
    if (scope && scope->nverbs && fam) {
        for (size_t i = 0; i < scope->nverbs; i++)
            ctl_print_usage_line(out, fam, scope->verbs[i]);
        for (size_t i = 0; i < scope->nverbs; i++)
            help_verb(out, fam, scope->verbs[i]);
        return;
    }
    if (fam && fam->name) {
        ctl_print_usage_line(out, fam, NULL);
        help_family(out, fam);
        fprintf(out, "\n'portierctl %s %s COMMAND --help' describes one command.\n", fam->name,
                fam->target ? fam->target : "");
        return;
    }
    char buf[1024];
    struct strbuf sb;
    fprintf(out, "usage: portierctl [OPTIONS] COMMAND [ARGS...]\n");
    for (size_t i = 0; fams[i]; i++) {
        if (!fams[i]->name)
            continue;
        STRBUF_ON(&sb, buf);
        put_family_head(&sb, ST_PLAIN, fams[i], false);
        fprintf(out, "       portierctl [OPTIONS] %s [%s OPTIONS] COMMAND [ARGS...]\n", buf, fams[i]->name);
    }
    fprintf(out, "\nOptions (before the command or anywhere after it):\n");
    help_options(out, ctl_global_opts);
    for (size_t i = 0; fams[i]; i++)
        help_family(out, fams[i]);
    fprintf(out, "\n'portierctl COMMAND --help' describes one command (its arguments, ranges and options).\n"
                 "Exit status: 0 ok, 1 the device answered with an error (or an action failed), 2 usage error or\n"
                 "refused (--readonly, role) before anything was sent, 3 the device is unreachable.\n");
}

static void man_line(FILE *out, const char *s)
{
    fprintf(out, "%s\n", s);
}

/* help in roff with a capital first letter. */
static void put_capitalized(struct strbuf *sb, const char *help)
{
    if (help[0] >= 'a' && help[0] <= 'z')
        strbuf_putc(sb, (char)(help[0] - 'a' + 'A'));
    else if (help[0])
        put_roff(sb, help, 1);
    if (help[0])
        put_roff(sb, help + 1, strlen(help + 1));
}

/* "Help text (range)." in roff, with a capital first letter. */
static void man_sentence(FILE *out, const char *help, const struct ctl_def *d, const struct ctl_verb *v)
{
    char buf[1024], r[512];
    struct strbuf sb, rb;
    STRBUF_ON(&sb, buf);
    STRBUF_ON(&rb, r);
    if (d)
        put_range(&rb, d, v);
    help = help ? help : "";
    put_capitalized(&sb, help);
    if (r[0]) {
        strbuf_puts(&sb, " (");
        put_roff(&sb, r, strlen(r));
        strbuf_puts(&sb, ")");
    }
    strbuf_puts(&sb, ".");
    fprintf(out, "%s\n", buf);
}

/* "-v, --verbose" / "--slave ADDR[,ADDR...]" for an option's own paragraph. */
static void put_option_bare(struct strbuf *sb, const struct ctl_def *d)
{
    if (d->key)
        strbuf_printf(sb, "\\fB\\-%c\\fR, ", d->key);
    put_option_body(sb, ST_ROFF, d);
}

static void man_options(FILE *out, const struct ctl_def *defs)
{
    char buf[512];
    struct strbuf sb;
    for (size_t k = 0; defs && defs[k].name; k++) {
        if (defs[k].flags & CTL_HIDDEN)
            continue;
        STRBUF_ON(&sb, buf);
        put_option_bare(&sb, &defs[k]);
        fprintf(out, ".TP\n%s\n", buf);
        man_sentence(out, defs[k].help, &defs[k], NULL);
    }
}

static void man_verb(FILE *out, const struct ctl_verb *v)
{
    char buf[2048];
    struct strbuf sb;
    STRBUF_ON(&sb, buf);
    put_syntax(&sb, ST_ROFF, v);
    put_options(&sb, ST_ROFF, v->opts);
    fprintf(out, ".TP\n%s\n", buf);
    STRBUF_ON(&sb, buf);
    const char *help = ctl_verb_help(v);
    put_capitalized(&sb, help);
    bool any = false;
    for (size_t a = 0; v->args && v->args[a].name; a++) {
        char r[512];
        struct strbuf rb;
        STRBUF_ON(&rb, r);
        put_range(&rb, &v->args[a], v);
        if (!r[0])
            continue;
        strbuf_puts(&sb, any ? "; " : " (");
        put_meta(&sb, ST_ROFF, v->args[a].name);
        strbuf_putc(&sb, ' ');
        put_roff(&sb, r, strlen(r));
        any = true;
    }
    if (any)
        strbuf_puts(&sb, ")");
    strbuf_printf(&sb, ". %s", ctl_verb_changes(v) ? "Changes state" : "Read\\-only");
    if (v->action >= 0 && v->action < ACTION_COUNT) {
        strbuf_printf(&sb, "; the %s role; core action \\fB", role_name(ctl_verb_role(v)));
        put_roff(&sb, action_table[v->action].name, strlen(action_table[v->action].name));
        strbuf_puts(&sb, "\\fR");
    } else if (v->maps) {
        strbuf_puts(&sb, "; sends ");
        put_roff(&sb, v->maps, strlen(v->maps));
    }
    strbuf_puts(&sb, ".");
    fprintf(out, "%s\n", buf);
    for (size_t o = 0; v->opts && v->opts[o].name; o++) {
        const struct ctl_def *d = &v->opts[o];
        if (d->flags & CTL_HIDDEN)
            continue;
        STRBUF_ON(&sb, buf);
        put_option_bare(&sb, d);
        fprintf(out, ".br\n%s: ", buf);
        man_sentence(out, d->help, d, v);
    }
}

void ctl_print_man(FILE *out, const struct ctl_family *const *fams)
{
    char buf[2048];
    struct strbuf sb;
    man_line(out, ".\\\" BEGIN GENERATED SYNOPSIS (portierctl --man-synopsis; do not edit by hand)");
    man_line(out, ".SH SYNOPSIS");
    STRBUF_ON(&sb, buf);
    put_options(&sb, ST_ROFF, ctl_global_opts);
    fprintf(out, ".B portierctl\n%s \\fICOMMAND\\fR [\\fIARGS\\fR...]\n", buf + 1);
    for (size_t i = 0; fams[i]; i++) {
        if (!fams[i]->name)
            continue;
        STRBUF_ON(&sb, buf);
        put_family_head(&sb, ST_ROFF, fams[i], true);
        fprintf(out, ".br\n.B portierctl\n[\\fIOPTIONS\\fR] %s \\fICOMMAND\\fR [\\fIARGS\\fR...]\n", buf);
    }
    man_line(out, ".\\\" END GENERATED SYNOPSIS");
    man_line(out, ".\\\" BEGIN GENERATED COMMANDS (portierctl --man-synopsis; do not edit by hand)");
    man_line(out, ".SH OPTIONS");
    man_line(out, "Global options come before the command or anywhere after it; every command honours them.");
    man_options(out, ctl_global_opts);
    man_line(out, ".SH COMMANDS");
    for (size_t i = 0; fams[i]; i++) {
        const struct ctl_family *f = fams[i];
        STRBUF_ON(&sb, buf);
        if (f->name) {
            put_family_head(&sb, ST_ROFF, f, false);
            fprintf(out, ".SS %s\n", buf);
        } else {
            fprintf(out, ".SS Site commands\n");
        }
        man_sentence(out, f->help, NULL, NULL);
        if (ndefs(f->opts)) {
            STRBUF_ON(&sb, buf);
            put_meta(&sb, ST_ROFF, f->target ? f->target : "COMMAND");
            fprintf(out, "Options of \\fB%s\\fR, before or after %s:\n", f->name ? f->name : "", buf);
            man_options(out, f->opts);
            fprintf(out, ".PP\nCommands:\n");
        }
        for (size_t k = 0; k < f->nverbs; k++)
            man_verb(out, &f->verbs[k]);
    }
    man_line(out, ".\\\" END GENERATED COMMANDS");
}
