/* ctl_list: `portierctl --list-commands` (hidden): the verb table as JSON lines, every row with its arguments,
 * options, ranges and a sample command line its checks accept. Tests generate their command lines from it; a client
 * that forwards commands (portierd's) can map them by action from it. */
#include <jansson.h>
#include <string.h>

#include "cli/ctl_syntax.h"
#include "core/action.h"

static const char *type_name(enum ctl_type t)
{
    static const char *const n[] = { "flag", "text", "uint", "choice", "time", "cron", "custom" };
    return (unsigned)t < sizeof n / sizeof n[0] ? n[t] : "?";
}

/* A value its checks accept (the words of a cron are one string here). */
static const char *sample_of(const struct ctl_def *d, const struct ctl_verb *v, char *buf, size_t len)
{
    if (d->sample)
        return d->sample;
    switch (d->type) {
    case CTL_UINT: snprintf(buf, len, "%lld", def_min(d, v) > 0 ? def_min(d, v) : def_max(d, v) >= 1 ? 1 : 0); return buf;
    case CTL_CHOICE: snprintf(buf, len, "%.*s", (int)strcspn(d->choices, "|"), d->choices); return buf;
    case CTL_TIME: return "-5m";
    case CTL_CRON: return "* * * * *";
    default: return "A";
    }
}

static json_t *def_json(const struct ctl_def *d, const struct ctl_verb *v, bool optional, bool rest)
{
    char buf[64];
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(d->name));
    json_object_set_new(o, "type", json_string(type_name(d->type)));
    if (d->type == CTL_UINT) {
        json_object_set_new(o, "min", json_integer(def_min(d, v)));
        json_object_set_new(o, "max", json_integer(def_max(d, v)));
    }
    if (d->type == CTL_TEXT && d->max)
        json_object_set_new(o, "max_len", json_integer(d->max));
    if (d->choices)
        json_object_set_new(o, "choices", json_string(d->choices));
    if (d->key)
        json_object_set_new(o, "short", json_stringn((const char *)&(char){ (char)d->key }, 1));
    if (d->type != CTL_FLAG)
        json_object_set_new(o, "sample", json_string(sample_of(d, v, buf, sizeof buf)));
    json_object_set_new(o, "optional", json_boolean(optional));
    json_object_set_new(o, "rest", json_boolean(rest));
    json_object_set_new(o, "repeat", json_boolean(d->flags & CTL_REPEAT));
    json_object_set_new(o, "changes", json_boolean(d->flags & CTL_CHANGES));
    json_object_set_new(o, "hidden", json_boolean(d->flags & CTL_HIDDEN));
    return o;
}

static json_t *defs_json(const struct ctl_def *defs, const struct ctl_verb *v)
{
    json_t *a = json_array();
    for (size_t i = 0; defs && defs[i].name; i++)
        json_array_append_new(a, def_json(&defs[i], v, false, false));
    return a;
}

/* The row's arguments (in syntax order, a|b choices too) and its sample words. */
static void row_args(const struct ctl_verb *v, json_t *args, json_t *argv)
{
    const char *p = v->syntax;
    struct tok t;
    size_t argi = 0;
    char buf[64];
    while (next_tok(&p, &t) != TK_END) {
        if (t.kind == TK_WORD) {
            json_array_append_new(argv, json_string(t.text));
            continue;
        }
        if (t.kind == TK_CHOICE) {
            json_t *o = json_object();
            json_object_set_new(o, "name", json_string(t.text));
            json_object_set_new(o, "type", json_string("choice"));
            json_object_set_new(o, "choices", json_string(t.text));
            json_object_set_new(o, "optional", json_false());
            json_object_set_new(o, "rest", json_false());
            json_array_append_new(args, o);
            json_array_append_new(argv, json_stringn(t.text, strcspn(t.text, "|")));
            continue;
        }
        const struct ctl_def *d = v->args ? &v->args[argi++] : NULL;
        if (!d || !d->name)
            break;
        json_array_append_new(args, def_json(d, v, t.optional, t.rest));
        const char *s = sample_of(d, v, buf, sizeof buf);
        if (t.rest && d->type == CTL_CRON) { /* a cron is several words */
            for (const char *w = s; *w;) {
                size_t n = strcspn(w, " ");
                json_array_append_new(argv, json_stringn(w, n));
                w += n + (w[n] == ' ');
            }
        } else {
            json_array_append_new(argv, json_string(s));
        }
    }
}

static void print_line(FILE *out, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    if (s)
        fprintf(out, "%s\n", s);
    free(s);
    json_decref(o);
}

void ctl_print_commands(FILE *out, const struct ctl_family *const *fams)
{
    json_t *g = json_object();
    json_object_set_new(g, "type", json_string("global"));
    json_object_set_new(g, "opts", defs_json(ctl_global_opts, NULL));
    print_line(out, g);
    for (size_t i = 0; fams[i]; i++) {
        const struct ctl_family *f = fams[i];
        json_t *fo = json_object();
        json_object_set_new(fo, "type", json_string("family"));
        json_object_set_new(fo, "family", f->name ? json_string(f->name) : json_null());
        json_object_set_new(fo, "target", f->target ? json_string(f->target) : json_null());
        json_object_set_new(fo, "opts", defs_json(f->opts, NULL));
        print_line(out, fo);
        for (size_t k = 0; k < f->nverbs; k++) {
            const struct ctl_verb *v = &f->verbs[k];
            /* the row as it is, then once with each option that makes it change state */
            for (size_t with = 0; with == 0 || (v->opts && v->opts[with - 1].name); with++) {
                const struct ctl_def *extra = with ? &v->opts[with - 1] : NULL;
                if (extra && !(extra->flags & CTL_CHANGES))
                    continue;
                json_t *o = json_object();
                json_t *args = json_array(), *argv = json_array();
                row_args(v, args, argv);
                char buf[64];
                if (extra) {
                    char name[80];
                    snprintf(name, sizeof name, "--%s", extra->name);
                    json_array_append_new(argv, json_string(name));
                    if (extra->type != CTL_FLAG)
                        json_array_append_new(argv, json_string(sample_of(extra, v, buf, sizeof buf)));
                }
                char vn[64];
                verb_name(v, vn, sizeof vn);
                json_object_set_new(o, "type", json_string("command"));
                json_object_set_new(o, "family", f->name ? json_string(f->name) : json_null());
                json_object_set_new(o, "command", json_string(vn));
                json_object_set_new(o, "syntax", json_string(v->syntax));
                json_object_set_new(o, "changes", json_boolean(ctl_verb_changes(v) || extra));
                json_object_set_new(o, "role", json_string(role_name(ctl_verb_role(v))));
                json_object_set_new(o, "action", v->action >= 0 && v->action < ACTION_COUNT
                                                     ? json_string(action_table[v->action].name) : json_null());
                json_object_set_new(o, "maps", v->maps ? json_string(v->maps) : json_null());
                json_object_set_new(o, "daemon", json_boolean(v->daemon));
                json_object_set_new(o, "targetless", json_boolean(f->name && ctl_verb_targetless(f, v)));
                json_object_set_new(o, "args", args);
                json_object_set_new(o, "opts", defs_json(v->opts, v));
                json_object_set_new(o, "argv", argv);
                print_line(out, o);
            }
        }
    }
}
