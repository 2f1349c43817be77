/* ctl_table: the command line against the verb table: getopt_long at three levels (global, family, command),
 * then the words against each candidate row's syntax; the row that got furthest explains a failure. */
#include <getopt.h>
#include <string.h>

#include "cli/ctl_syntax.h"

/* ---- matching words against a row ---- */

enum fail_kind { F_NONE, F_MISMATCH, F_MISSING, F_VALUE, F_EXTRA };

struct match {
    enum fail_kind kind;
    size_t pos;           /* the word where it failed */
    char expect[64];      /* F_MISMATCH / F_MISSING: the word(s) expected there ("get", "on|off", "NAME") */
    char why[320];        /* F_VALUE: what is wrong */
};

/* Join words w[0..n) into the call's word store. */
static const char *join_rest(struct ctl_call *call, char **w, size_t n, char *why, size_t wl)
{
    struct strbuf sb;
    size_t room = sizeof call->words - call->words_used;
    char *start = call->words + call->words_used;
    strbuf_init(&sb, start, room);
    if (!strbuf_join(&sb, " ", (const char *const *)w, n)) {
        snprintf(why, wl, "the words are longer than %zu characters", room > 0 ? room - 1 : 0);
        return NULL;
    }
    call->words_used += strbuf_len(&sb) + 1;
    return start;
}

static bool match_row(const struct ctl_verb *v, char **w, size_t n, struct ctl_call *call, struct match *m)
{
    const char *p = v->syntax;
    struct tok t;
    size_t pos = 0, slot = 0, argi = 0;
    memset(m, 0, sizeof *m);
    memset(call->arg, 0, sizeof call->arg);
    call->words_used = 0;
    call->nrest = 0;
    while (next_tok(&p, &t) != TK_END) {
        if (slot >= CTL_MAX_ARGS && t.kind != TK_WORD)
            break;
        if (pos >= n) {
            if (t.kind == TK_ARG && t.optional) {
                slot++, argi++;
                continue;
            }
            m->kind = F_MISSING;
            m->pos = pos;
            snprintf(m->expect, sizeof m->expect, "%s", t.text);
            return false;
        }
        if (t.kind == TK_WORD) {
            if (strcmp(w[pos], t.text) != 0) {
                m->kind = F_MISMATCH;
                m->pos = pos;
                snprintf(m->expect, sizeof m->expect, "%s", t.text);
                return false;
            }
            pos++;
            continue;
        }
        if (t.kind == TK_CHOICE) {
            int i = choice_index(t.text, w[pos]);
            if (i < 0) {
                m->kind = F_MISMATCH;
                m->pos = pos;
                snprintf(m->expect, sizeof m->expect, "%s", t.text);
                return false;
            }
            call->arg[slot].set = true;
            call->arg[slot].s = w[pos];
            call->arg[slot].n = i;
            slot++, pos++;
            continue;
        }
        const struct ctl_def *d = v->args ? &v->args[argi] : NULL;
        if (!d || !d->name) {
            m->kind = F_VALUE; /* a table defect: caught by the table's own test */
            m->pos = pos;
            snprintf(m->why, sizeof m->why, "%s: no description of this argument", t.text);
            return false;
        }
        const char *text = w[pos];
        size_t used = 1;
        char why[300];
        if (t.rest) {
            used = n - pos;
            if (used > sizeof call->restv / sizeof call->restv[0]) {
                m->kind = F_VALUE;
                m->pos = pos;
                snprintf(m->why, sizeof m->why, "%s: more than %zu words", d->name,
                         sizeof call->restv / sizeof call->restv[0]);
                return false;
            }
            call->nrest = used;
            for (size_t k = 0; k < used; k++) {
                call->restv[k] = w[pos + k];
                struct ctl_val one = { 0 };
                if (d->type != CTL_CRON && check_value(d, v, w[pos + k], &one, why, sizeof why) < 0) {
                    m->kind = F_VALUE;
                    m->pos = pos + k;
                    snprintf(m->why, sizeof m->why, "%s: %s", d->name, why);
                    return false;
                }
            }
            text = join_rest(call, w + pos, used, m->why, sizeof m->why);
            if (!text) {
                m->kind = F_VALUE;
                m->pos = pos;
                return false;
            }
        }
        if ((!t.rest || d->type == CTL_CRON) && check_value(d, v, text, &call->arg[slot], why, sizeof why) < 0) {
            m->kind = F_VALUE;
            m->pos = pos;
            snprintf(m->why, sizeof m->why, "%s: %s", d->name, why);
            return false;
        }
        if (t.rest && d->type != CTL_CRON) {
            call->arg[slot].set = true;
            call->arg[slot].s = text;
        }
        slot++, argi++;
        pos += used;
    }
    if (pos < n) {
        m->kind = F_EXTRA;
        m->pos = pos;
        return false;
    }
    return true;
}

/* ---- getopt ---- */

enum { SRC_GLOBAL = 1000, SRC_FAMILY = 2000, SRC_VERB = 3000 };

struct optset {
    struct option lo[64];
    char shorts[64];
    const struct ctl_def *defs[64]; /* by lo index */
    size_t n;
};

static void optset_add(struct optset *os, const struct ctl_def *defs, int base)
{
    for (size_t i = 0; defs && defs[i].name; i++) {
        bool dup = false;
        for (size_t k = 0; k < os->n; k++)
            dup |= strcmp(os->lo[k].name, defs[i].name) == 0;
        if (dup || os->n + 1 >= sizeof os->lo / sizeof os->lo[0])
            continue;
        int has = defs[i].type == CTL_FLAG ? no_argument : required_argument;
        os->lo[os->n] = (struct option){ defs[i].name, has, NULL, base + (int)i };
        os->defs[os->n] = &defs[i];
        os->n++;
        if (defs[i].key) {
            size_t l = strlen(os->shorts);
            if (l + 3 < sizeof os->shorts) {
                os->shorts[l++] = (char)defs[i].key;
                if (has == required_argument)
                    os->shorts[l++] = ':';
                os->shorts[l] = '\0';
            }
        }
    }
    os->lo[os->n] = (struct option){ 0 };
}

static void optset_init(struct optset *os, bool stop_at_word)
{
    memset(os, 0, sizeof *os);
    snprintf(os->shorts, sizeof os->shorts, "%s:", stop_at_word ? "+" : "");
}

/* The text of an option as typed, for messages. */
static const char *typed_opt(int c, int optopt_v, char **argv, int idx, char *buf, size_t len)
{
    if (c == '?' && optopt_v && optopt_v != '?')
        snprintf(buf, len, "-%c", optopt_v);
    else if (idx > 0)
        snprintf(buf, len, "%.60s", argv[idx - 1]);
    else
        snprintf(buf, len, "?");
    return buf;
}

/* The options a set of rows accepts (a verb option typed for another row of the same name is refused later). */
struct occurrence {
    const struct ctl_def *def;
    int src;
    const char *value;
};

struct level {
    char **argv;          /* argv[0] is a placeholder; the rest is what this level reads */
    int argc;
    int stop;             /* index of the first word getopt did not take */
    struct occurrence occ[128];
    size_t nocc;
};

/* Whether the word a is an option of os that takes the next word as its value. */
static bool takes_value(const struct optset *os, const char *a)
{
    if (a[0] != '-' || a[1] == '\0')
        return false;
    if (a[1] != '-') { /* a cluster of short options: the last one may take the next word */
        size_t n = strlen(a);
        const char *s = strchr(os->shorts, a[n - 1]);
        for (size_t i = 1; i + 1 < n; i++) { /* an earlier letter with a value takes the rest of the word */
            const char *e = strchr(os->shorts, a[i]);
            if (e && e[1] == ':')
                return false;
        }
        return s && a[n - 1] != ':' && s[1] == ':';
    }
    if (strchr(a, '=') || a[2] == '\0')
        return false;
    for (size_t k = 0; k < os->n; k++)
        if (strncmp(os->lo[k].name, a + 2, strlen(a + 2)) == 0 && os->lo[k].has_arg == required_argument)
            return true;
    return false;
}

/* Run getopt_long over lv->argv with os; collect occurrences; 0 or -1 with err. */
static int run_getopt(struct level *lv, struct optset *os, struct ctl_error *err, const char *where)
{
    optind = 0;
    opterr = 0;
    for (;;) {
        int li = -1;
        int c = getopt_long(lv->argc, lv->argv, os->shorts, os->lo, &li);
        if (c == -1)
            break;
        char ty[80], sh[48];
        if (c == '?' || c == ':') {
            typed_opt(c, optopt, lv->argv, optind, ty, sizeof ty);
            if (c == ':')
                ctl_seterr(err, "%s%s needs a value", where, ty);
            else if (ty[0] == '-' && ty[1] >= '0' && ty[1] <= '9')
                ctl_seterr(err, "%s%s: negative numbers are not accepted here", where, shown(ty, sh, sizeof sh));
            else
                ctl_seterr(err, "%sunknown option '%s'", where, shown(ty, sh, sizeof sh));
            return -1;
        }
        const struct ctl_def *d = NULL;
        int src = 0;
        /* a long option by its index (rows of one word may give different options the same value) */
        if (li >= 0 && (size_t)li < os->n) {
            d = os->defs[li];
            src = os->lo[li].val / 1000 * 1000;
        }
        for (size_t k = 0; !d && k < os->n; k++) {
            if (os->lo[k].val == c) {
                d = os->defs[k];
                src = c / 1000 * 1000;
            }
        }
        if (!d) { /* a short letter: find its def */
            for (size_t k = 0; k < os->n; k++)
                if (os->defs[k]->key == c) {
                    d = os->defs[k];
                    src = os->lo[k].val / 1000 * 1000;
                }
        }
        if (!d || lv->nocc >= sizeof lv->occ / sizeof lv->occ[0]) {
            ctl_seterr(err, "%stoo many options", where);
            return -1;
        }
        lv->occ[lv->nocc++] = (struct occurrence){ d, src, d->type == CTL_FLAG ? NULL : optarg };
    }
    lv->stop = optind;
    return 0;
}

/* Store one occurrence into val (type check, repeat rule). */
static int store_opt(const struct occurrence *o, const struct ctl_verb *v, struct ctl_val *val, struct ctl_error *err,
                     const char *where)
{
    if (val->set && o->def->type != CTL_FLAG && !(o->def->flags & CTL_REPEAT)) {
        ctl_seterr(err, "%s--%s given twice", where, o->def->name);
        return -1;
    }
    char why[300];
    if (check_value(o->def, v, o->value ? o->value : "", val, why, sizeof why) < 0) {
        ctl_seterr(err, "%s--%s: %s", where, o->def->name, why);
        return -1;
    }
    return 0;
}

static int apply_global(struct ctl_call *call, const struct occurrence *o, struct ctl_error *err, bool *help,
                        bool *version, bool *check_config, int *special)
{
    struct ctl_val tmp = { 0 };
    char why[300];
    if (check_value(o->def, NULL, o->value ? o->value : "", &tmp, why, sizeof why) < 0) {
        ctl_seterr(err, "--%s: %s", o->def->name, why);
        return -1;
    }
    switch ((int)(o->def - ctl_global_opts)) {
    case G_JSON: call->g.json = true; break;
    case G_VERBOSE: call->g.verbose = true; break;
    case G_READONLY: call->g.readonly = true; break;
    case G_CONFIG: call->g.config_path = o->value; break;
    case G_TIMEOUT: call->g.timeout_ms = (uint32_t)tmp.n; break;
    case G_SOCKET: call->g.socket_path = o->value; break;
    case G_DIRECT: call->g.direct = true; break;
    case G_HELP: *help = true; break;
    case G_VERSION: *version = true; break;
    case G_CHECK_CONFIG: *check_config = true; break;
    case G_MAN: *special = 1; break;
    case G_LIST: *special = 2; break;
    default: break;
    }
    return 0;
}

/* A sub-vector for getopt: [prog, argv[from..argc)]. */
static void level_init(struct level *lv, char **store, size_t cap, char **argv, int argc, int from)
{
    memset(lv, 0, sizeof *lv);
    lv->argv = store;
    lv->argc = 1;
    store[0] = (char *)"portierctl";
    for (int i = from; i < argc && (size_t)lv->argc + 1 < cap; i++)
        store[lv->argc++] = argv[i];
    store[lv->argc] = NULL;
}

/* ---- ctl_parse ---- */

static const struct ctl_family *find_family(const struct ctl_family *const *fams, const char *name)
{
    for (size_t i = 0; fams[i]; i++)
        if (fams[i]->name && name && strcmp(fams[i]->name, name) == 0)
            return fams[i];
    return NULL;
}

static const struct ctl_family *site_family(const struct ctl_family *const *fams)
{
    for (size_t i = 0; fams[i]; i++)
        if (!fams[i]->name)
            return fams[i];
    return NULL;
}

/* Rows of the family that start with word w take no target (c3 discover). */
static bool targetless_word(const struct ctl_family *f, const char *w)
{
    for (const char *const *t = f->targetless; t && *t; t++)
        if (strcmp(*t, w) == 0)
            return true;
    return false;
}

bool ctl_verb_targetless(const struct ctl_family *fam, const struct ctl_verb *verb)
{
    for (const char *const *t = fam->targetless; t && *t; t++)
        if (first_word_is(verb, *t))
            return true;
    return false;
}

static bool family_has_word(const struct ctl_family *f, const char *w)
{
    for (size_t i = 0; i < f->nverbs; i++)
        if (first_word_is(&f->verbs[i], w))
            return true;
    return false;
}

/* Message prefix: "c3 door open: " / "journal: " */
static void where_of(const struct ctl_family *f, const struct ctl_verb *v, const char *word, char *buf, size_t len)
{
    char vn[64] = "";
    if (v)
        verb_name(v, vn, sizeof vn);
    else if (word)
        snprintf(vn, sizeof vn, "%.40s", word);
    snprintf(buf, len, "%s%s%s%s", f && f->name ? f->name : "", f && f->name && vn[0] ? " " : "", vn,
             (f && f->name) || vn[0] ? ": " : "");
}

/* Words (argv after the family and its target) against the family's rows. */
static enum ctl_parse_result parse_command(char **argv, int argc, int from, const struct ctl_family *fam,
                                           struct ctl_call *call, struct ctl_error *err, bool *help)
{
    char *store[300];
    struct level lv;
    level_init(&lv, store, sizeof store / sizeof store[0], argv, argc, from);
    const char *word = lv.argc > 1 ? lv.argv[1] : NULL;
    char where[96], sh[48];
    err->fam = fam;
    if (!word) {
        if (*help)
            return CTL_PARSE_HELP;
        ctl_seterr(err, "%smissing COMMAND", fam->name ? where_of(fam, NULL, NULL, where, sizeof where), where : "");
        return CTL_PARSE_ERROR;
    }
    if (!family_has_word(fam, word)) {
        if (*help && word[0] == '-')
            return CTL_PARSE_HELP;
        where_of(fam, NULL, NULL, where, sizeof where);
        ctl_seterr(err, "%s%s '%s'", where, word[0] == '-' ? "unknown option" : "unknown command", shown(word, sh, sizeof sh));
        return CTL_PARSE_ERROR;
    }
    /* the rows that start with this word, and every option any of them takes */
    struct optset os;
    optset_init(&os, false);
    optset_add(&os, ctl_global_opts, SRC_GLOBAL);
    optset_add(&os, fam->opts, SRC_FAMILY);
    for (size_t i = 0; i < fam->nverbs; i++) {
        if (!first_word_is(&fam->verbs[i], word))
            continue;
        optset_add(&os, fam->verbs[i].opts, SRC_VERB);
        if (err->nverbs < sizeof err->verbs / sizeof err->verbs[0])
            err->verbs[err->nverbs++] = &fam->verbs[i];
    }
    where_of(fam, NULL, word, where, sizeof where);
    /* Negative numbers typed as arguments ("door open X -5") are words for the syntax to judge, not options:
     * hide them from getopt behind stand-ins and put them back afterwards. */
    static char standin[32][2] = { { 0 } };
    char *orig[32];
    size_t nstand = 0;
    for (int i = 2; i < lv.argc && nstand < 32; i++) {
        const char *a = lv.argv[i];
        if (a[0] != '-' || a[1] < '0' || a[1] > '9' || strspn(a + 1, "0123456789") != strlen(a + 1) ||
            takes_value(&os, lv.argv[i - 1]))
            continue;
        standin[nstand][0] = 'N';
        orig[nstand] = lv.argv[i];
        lv.argv[i] = standin[nstand++];
    }
    if (run_getopt(&lv, &os, err, where) < 0)
        return CTL_PARSE_ERROR;
    for (int i = 1; i < lv.argc; i++)
        for (size_t k = 0; k < nstand; k++)
            if (lv.argv[i] == standin[k])
                lv.argv[i] = orig[k];
    for (size_t k = 0; k < lv.nocc; k++) {
        const struct occurrence *o = &lv.occ[k];
        bool v1 = false, v2 = false;
        int v3 = 0;
        if (o->src == SRC_GLOBAL) {
            if (apply_global(call, o, err, help, &v1, &v2, &v3) < 0)
                return CTL_PARSE_ERROR;
            if (v1 || v2 || v3) {
                ctl_seterr(err, "%s--%s is not an option of a command", where, o->def->name);
                return CTL_PARSE_ERROR;
            }
        } else if (o->src == SRC_FAMILY) {
            size_t idx = (size_t)(o->def - fam->opts);
            if (store_opt(o, NULL, &call->fopt[idx], err, where) < 0)
                return CTL_PARSE_ERROR;
        }
    }
    char **w = lv.argv + lv.stop;
    size_t n = (size_t)(lv.argc - lv.stop);
    if (*help) {
        /* narrow the help to the rows that agree with the words typed so far */
        size_t top = 0, keep = 0;
        struct match m;
        for (int pass = 0; pass < 2; pass++) {
            for (size_t i = 0; i < err->nverbs; i++) {
                size_t pos = match_row(err->verbs[i], w, n, call, &m) ? SIZE_MAX : m.pos;
                if (pass == 0 && pos > top)
                    top = pos;
                else if (pass == 1 && pos >= top)
                    err->verbs[keep++] = err->verbs[i];
            }
        }
        err->nverbs = keep;
        return CTL_PARSE_HELP;
    }
    /* match the remaining words against each candidate row; the one that got furthest explains a failure */
    struct match best = { .kind = F_NONE };
    const struct ctl_verb *bestv = NULL;
    char expect[256] = "";
    struct strbuf ex;
    STRBUF_ON(&ex, expect);
    const struct ctl_verb *cand[16];
    size_t ncand = err->nverbs;
    memcpy(cand, err->verbs, sizeof cand);
    for (size_t i = 0; i < ncand; i++) {
        struct match m;
        if (match_row(cand[i], w, n, call, &m)) {
            call->verb = cand[i];
            break;
        }
        /* rank: further is better; at the same word a bad value beats a wrong word */
        bool better = !bestv || m.pos > best.pos || (m.pos == best.pos && m.kind == F_VALUE && best.kind != F_VALUE);
        if (better) {
            if (!bestv || m.pos > best.pos)
                strbuf_reset(&ex);
            best = m;
            bestv = cand[i];
        }
        if ((m.kind == F_MISMATCH || m.kind == F_MISSING) && m.pos == best.pos && !strstr(expect, m.expect)) {
            strbuf_sep(&ex, "|");
            strbuf_puts(&ex, m.expect);
        }
    }
    if (!call->verb) {
        /* name the command by the words that matched before the failure ("door: expected ...") */
        char vn[64];
        verb_name(bestv, vn, sizeof vn);
        size_t words = 0, cut = strlen(vn);
        for (size_t i = 0; i <= cut; i++)
            if ((vn[i] == ' ' || vn[i] == '\0') && ++words == best.pos && best.pos)
                cut = i;
        vn[cut] = '\0';
        where_of(fam, NULL, vn, where, sizeof where);
        /* show the usage of the rows that agree with the words up to the failure */
        err->nverbs = 0;
        for (size_t i = 0; i < ncand; i++) {
            struct ctl_call scratch;
            struct match m;
            memset(&scratch, 0, sizeof scratch);
            if (!match_row(cand[i], w, n, &scratch, &m) && m.pos >= best.pos)
                err->verbs[err->nverbs++] = cand[i];
        }
        struct strbuf sb;
        STRBUF_ON(&sb, err->msg);
        strbuf_puts(&sb, where);
        switch (best.kind) {
        case F_VALUE: strbuf_puts(&sb, best.why); break;
        case F_EXTRA: strbuf_printf(&sb, "unexpected '%s'", shown(w[best.pos], sh, sizeof sh)); break;
        case F_MISSING:
            strbuf_puts(&sb, "missing ");
            choices_words(expect, &sb);
            break;
        default:
            strbuf_puts(&sb, "expected ");
            choices_words(expect, &sb);
            strbuf_printf(&sb, ", not '%s'", shown(w[best.pos], sh, sizeof sh));
            break;
        }
        return CTL_PARSE_ERROR;
    }
    /* verb options: only those of the matched row */
    const struct ctl_verb *v = call->verb;
    where_of(fam, v, NULL, where, sizeof where);
    call->changes = ctl_verb_changes(v);
    for (size_t k = 0; k < lv.nocc; k++) {
        const struct occurrence *o = &lv.occ[k];
        if (o->src != SRC_VERB)
            continue;
        size_t idx = SIZE_MAX;
        for (size_t j = 0; v->opts && v->opts[j].name; j++)
            if (strcmp(v->opts[j].name, o->def->name) == 0)
                idx = j;
        if (idx == SIZE_MAX || idx >= CTL_MAX_OPTS) {
            ctl_seterr(err, "%s--%s is not an option of this command", where, o->def->name);
            err->nverbs = 1;
            err->verbs[0] = v;
            return CTL_PARSE_ERROR;
        }
        struct occurrence own = *o;
        own.def = &v->opts[idx];
        if (store_opt(&own, v, &call->opt[idx], err, where) < 0) {
            err->nverbs = 1;
            err->verbs[0] = v;
            return CTL_PARSE_ERROR;
        }
        if (own.def->flags & CTL_CHANGES)
            call->changes = true;
    }
    return CTL_PARSE_RUN;
}

enum ctl_parse_result ctl_parse(int argc, char **argv, const struct ctl_family *const *fams, struct ctl_call *call,
                                struct ctl_error *err)
{
    memset(call, 0, sizeof *call);
    memset(err, 0, sizeof *err);
    bool help = false, version = false, check_config = false;
    int special = 0;
    char *store[300], sh[48];
    struct level lv;
    struct optset os;

    /* level 1: global options up to the family or site command */
    level_init(&lv, store, sizeof store / sizeof store[0], argv, argc, 1);
    optset_init(&os, true);
    optset_add(&os, ctl_global_opts, SRC_GLOBAL);
    if (run_getopt(&lv, &os, err, "") < 0)
        return CTL_PARSE_ERROR;
    for (size_t k = 0; k < lv.nocc; k++)
        if (apply_global(call, &lv.occ[k], err, &help, &version, &check_config, &special) < 0)
            return CTL_PARSE_ERROR;
    if (special)
        return special == 1 ? CTL_PARSE_MAN : CTL_PARSE_LIST;
    if (version)
        return CTL_PARSE_VERSION;
    int at = lv.stop; /* index into lv.argv (same as into argv: level 1 starts at argv[1]) */
    const char *word = at < lv.argc ? lv.argv[at] : NULL;
    const struct ctl_family *site = site_family(fams);
    if (check_config) {
        /* "--check-config [FILE]" is "check-config [FILE]" */
        static char cc[] = "check-config";
        char *v2[300];
        int n2 = 0;
        v2[n2++] = argv[0];
        v2[n2++] = cc;
        for (int i = at; i < lv.argc && n2 + 1 < 300; i++)
            v2[n2++] = lv.argv[i];
        v2[n2] = NULL;
        call->fam = site;
        return site ? parse_command(v2, n2, 1, site, call, err, &help) : CTL_PARSE_ERROR;
    }
    if (!word) {
        if (help)
            return CTL_PARSE_HELP;
        ctl_seterr(err, "missing COMMAND");
        return CTL_PARSE_ERROR;
    }
    const struct ctl_family *fam = find_family(fams, word);
    if (!fam) {
        if (site && family_has_word(site, word)) {
            call->fam = site;
            return parse_command(lv.argv, lv.argc, at, site, call, err, &help);
        }
        ctl_seterr(err, "unknown command '%s'", shown(word, sh, sizeof sh));
        return CTL_PARSE_ERROR;
    }
    call->fam = fam;
    err->fam = fam;
    char where[64];
    snprintf(where, sizeof where, "%s: ", fam->name);

    /* level 2: family options before and after the target */
    struct level l2;
    char *store2[300];
    level_init(&l2, store2, sizeof store2 / sizeof store2[0], lv.argv, lv.argc, at + 1);
    optset_init(&os, true);
    optset_add(&os, ctl_global_opts, SRC_GLOBAL);
    optset_add(&os, fam->opts, SRC_FAMILY);
    int consumed = 0;
    for (int pass = 0; pass < 2; pass++) {
        struct level part;
        char *store3[300];
        level_init(&part, store3, sizeof store3 / sizeof store3[0], l2.argv, l2.argc, 1 + consumed);
        if (run_getopt(&part, &os, err, where) < 0)
            return CTL_PARSE_ERROR;
        for (size_t k = 0; k < part.nocc; k++) {
            const struct occurrence *o = &part.occ[k];
            bool v1 = false, v2 = false;
            int v3 = 0;
            if (o->src == SRC_GLOBAL) {
                if (apply_global(call, o, err, &help, &v1, &v2, &v3) < 0)
                    return CTL_PARSE_ERROR;
                if (v1 || v2 || v3) {
                    ctl_seterr(err, "%s--%s is a global option: give it before '%s'", where, o->def->name, fam->name);
                    return CTL_PARSE_ERROR;
                }
            } else if (store_opt(o, NULL, &call->fopt[o->def - fam->opts], err, where) < 0) {
                return CTL_PARSE_ERROR;
            }
        }
        /* part.argv has been permuted by nothing ("+"): the words left start at part.stop */
        consumed += part.stop - 1;
        if (pass == 0 && fam->target) {
            if (consumed + 1 >= l2.argc) {
                if (help)
                    return CTL_PARSE_HELP;
                ctl_seterr(err, "%smissing %s", where, fam->target);
                return CTL_PARSE_ERROR;
            }
            if (targetless_word(fam, l2.argv[1 + consumed]))
                break; /* the command starts here: no target */
            call->target = l2.argv[1 + consumed];
            consumed++;
            if (help)
                return CTL_PARSE_HELP;
            if (!call->target[0]) {
                ctl_seterr(err, "%s%s is empty", where, fam->target);
                return CTL_PARSE_ERROR;
            }
            char why[300];
            if (fam->check_target && fam->check_target(call->target, why, sizeof why) < 0) {
                ctl_seterr(err, "%s%s: %s", where, fam->target, why);
                return CTL_PARSE_ERROR;
            }
        }
        if (!fam->target)
            break;
    }
    return parse_command(l2.argv, l2.argc, 1 + consumed, fam, call, err, &help);
}

