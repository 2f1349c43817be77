/* ctl_syntax: the pieces of the verb table shared by the parser (ctl_table.c) and the usage texts
 * (ctl_usage.c): global options, syntax tokens, choices, typed values with their ranges. Internal to cli/. */
#ifndef PORTIER_CTL_SYNTAX_H
#define PORTIER_CTL_SYNTAX_H

#include "cli/ctl.h"
#include "core/strbuf.h"

enum { G_JSON, G_VERBOSE, G_READONLY, G_CONFIG, G_TIMEOUT, G_SOCKET, G_DIRECT, G_HELP, G_VERSION, G_CHECK_CONFIG, G_MAN,
       G_LIST };
extern const struct ctl_def ctl_global_opts[];

enum tok_kind { TK_END, TK_WORD, TK_CHOICE, TK_ARG };

struct tok {
    enum tok_kind kind;
    char text[64];   /* the word, the choices "a|b", or the argument name */
    bool optional, rest;
};

/* The next token of a syntax string at *p (TK_END at the end). */
enum tok_kind next_tok(const char **p, struct tok *t);
/* The command's name: the leading words of its syntax ("door open"). */
void verb_name(const struct ctl_verb *v, char *buf, size_t len);
bool first_word_is(const struct ctl_verb *v, const char *w);
/* Index of w in "a|b|c", or -1 ("on|off" also takes 1 and 0). */
int choice_index(const char *choices, const char *w);
/* "a, b or c" */
void choices_words(const char *choices, struct strbuf *sb);
/* Bounds of a CTL_UINT (from the row's action with CTL_ACTION_RANGE). */
long long def_min(const struct ctl_def *d, const struct ctl_verb *v);
long long def_max(const struct ctl_def *d, const struct ctl_verb *v);
/* Check text against d into val. 0, or -1 with the reason (without the name) in why. */
int check_value(const struct ctl_def *d, const struct ctl_verb *v, const char *text, struct ctl_val *val, char *why,
                size_t wl);
/* User text for messages: at most 40 bytes, control bytes as '?'. */
const char *shown(const char *s, char *buf, size_t len);
size_t ndefs(const struct ctl_def *d);
void ctl_seterr(struct ctl_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
