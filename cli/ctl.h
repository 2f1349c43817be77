/* ctl: what every portierctl command shares: the global options, the verb table (one row per command, with its
 * arguments, bounds, role and the action or device command it maps to), the parsed call and the exit codes. */
#ifndef PORTIER_CTL_H
#define PORTIER_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/role.h"

/* Exit status shared by every command. */
enum {
    CTL_EXIT_OK = 0,
    CTL_EXIT_DEVICE_ERROR = 1, /* the device answered with an error code (or an action failed) */
    CTL_EXIT_USAGE = 2,        /* bad command line, or refused (--readonly, role) before anything was sent */
    CTL_EXIT_UNREACHABLE = 3,  /* no answer, timed out, connection refused */
};

/* Global options: given before the command or anywhere after it; every family honours them. */
struct ctl_opts {
    bool json;               /* --json: one JSON object per line on stdout */
    bool verbose;            /* -v: protocol trace on stderr */
    bool readonly;           /* --readonly: refuse every command that changes state */
    const char *config_path; /* -c FILE */
    uint32_t timeout_ms;     /* --timeout MS; 0 = the command's own default */
    const char *socket_path; /* --socket PATH: portierd's socket */
    bool direct;             /* --direct: own the devices here even when portierd runs */
};

/* ---- the verb table ---- */

enum ctl_type {
    CTL_FLAG,   /* option without a value */
    CTL_TEXT,   /* non-empty text; max > 0 limits its length in bytes */
    CTL_UINT,   /* decimal number in [min, max] */
    CTL_CHOICE, /* one of choices ("auto|session|sessionless") */
    CTL_TIME,   /* a time (core/timespec.h); the value is µs since the epoch */
    CTL_CRON,   /* a five-field cron expression, checked with core/cron */
    CTL_CUSTOM, /* checked by check() */
};

enum {
    CTL_OPTIONAL = 1u << 0,     /* argument may be left out (only at the end of the syntax) */
    CTL_REST = 1u << 1,         /* argument takes every remaining word: checked one by one (a cron: joined by
                                 * single spaces), the words in ctl_call.restv, their join in the value */
    CTL_REPEAT = 1u << 2,       /* option may be given several times (values collected in order) */
    CTL_CHANGES = 1u << 3,      /* option makes the command change state (e.g. scan --assign) */
    CTL_HIDDEN = 1u << 4,       /* not listed in help or the man page */
    CTL_ACTION_RANGE = 1u << 5, /* CTL_UINT bounds come from the row's core action (action_table) */
};

/* An argument (named in the verb's syntax) or an option. */
struct ctl_def {
    const char *name;    /* argument: "SECONDS" as in the syntax; option: the long name without "--" */
    int key;             /* option: its short letter, or 0 */
    enum ctl_type type;
    long long min, max;  /* CTL_UINT bounds; CTL_TEXT: max length (0 = any) */
    const char *choices; /* CTL_CHOICE */
    const char *meta;    /* option value placeholder for usage texts ("N", "FILE") */
    unsigned flags;
    const char *help;    /* one line */
    const char *sample;  /* a value the checks accept (CTL_CUSTOM must have one; the others are derived) */
    /* CTL_CUSTOM: 0, or -1 with a message (what is wrong with the value) in err. */
    int (*check)(const char *value, char *err, size_t errlen);
};

struct ctl_call;

/* One command. Its syntax is lower-case words, which must be typed as they are, "a|b" (one of these words),
 * and upper-case arguments described, in the same order, by args ("[N]": optional, "EXPR...": the rest). */
struct ctl_verb {
    const char *syntax;         /* "door open N [SECONDS]" */
    const struct ctl_def *args; /* one per upper-case argument, in order; NULL when none */
    const struct ctl_def *opts; /* options of this command, ended by an entry without a name; NULL when none */
    const char *help;           /* one line for usage texts and the man page (NULL: the action's description) */
    int action;                 /* the core action it maps to (enum action_id), or CTL_NO_ACTION */
    bool changes;               /* it changes state (for rows with an action: action_table says) */
    enum role role;             /* the least role it needs (rows with an action: action_table says) */
    const char *maps;           /* the device request(s) it sends, in the family's words ("Nl", "control") */
    int (*run)(struct ctl_call *call);
    const void *data;           /* the family's own description of the request (NiX1 command, C3 control...) */
    bool daemon;                /* only through portierd: without a daemon it is refused (exit 2) and says so */
};

#define CTL_NO_ACTION (-1)

/* A group of commands: the site commands (no name, no target) or one device family ("c3 HOST ..."). */
struct ctl_family {
    const char *name;           /* "c3", "nix1"; NULL for the site commands */
    const char *target;         /* "HOST[:PORT]", "PORT"; NULL when none */
    const char *help;           /* one line */
    const struct ctl_def *opts; /* family options (before or after the target), ended by an unnamed entry */
    const struct ctl_verb *verbs;
    size_t nverbs;
    /* 0 when the target text is well formed, or -1 with a message (checked before anything is opened) */
    int (*check_target)(const char *target, char *err, size_t errlen);
    /* the first words of the rows that take no target (c3 discover: the search finds the panels); NULL-ended */
    const char *const *targetless;
};

/* The row takes no target (its first word is one of the family's targetless words). */
bool ctl_verb_targetless(const struct ctl_family *fam, const struct ctl_verb *verb);

/* Every family, site first; NULL-terminated (portierctl.c). */
extern const struct ctl_family *const ctl_families[];

#define CTL_MAX_ARGS 8
#define CTL_MAX_OPTS 16
#define CTL_MAX_REPEAT 64

/* A value as given on the command line. */
struct ctl_val {
    bool set;
    const char *s;      /* the text (CTL_REST: the words joined); for a choice the word as typed */
    long long n;        /* CTL_UINT (and a CTL_CUSTOM that is all digits): the number; CTL_TIME: µs;
                         * CTL_CHOICE: index in choices; flags: how often given */
    const char *list[CTL_MAX_REPEAT]; /* CTL_REPEAT: every occurrence in order */
    size_t nlist;
};

/* A parsed command line, validated against its row before anything is opened or sent. */
struct ctl_call {
    struct ctl_opts g;
    const struct ctl_family *fam;
    const struct ctl_verb *verb;
    const char *target;
    struct ctl_val fopt[CTL_MAX_OPTS]; /* family options, by index in fam->opts */
    struct ctl_val arg[CTL_MAX_ARGS];  /* syntax placeholders in order (a|b words count as one) */
    struct ctl_val opt[CTL_MAX_OPTS];  /* options of the row, by index in verb->opts */
    bool changes;                      /* this call changes state (the row, or an option such as --assign) */
    char *restv[256];                  /* the words of the row's CTL_REST argument, one by one */
    size_t nrest;
    char words[1024];                  /* storage for joined CTL_REST values */
    size_t words_used;
};

/* What ctl_parse found. */
enum ctl_parse_result {
    CTL_PARSE_RUN,       /* call is complete: run call->verb->run */
    CTL_PARSE_HELP,      /* --help: print the help of the scope in err (family / verb may be NULL) */
    CTL_PARSE_VERSION,   /* --version */
    CTL_PARSE_MAN,       /* --man-synopsis (hidden): print the generated part of the man page */
    CTL_PARSE_LIST,      /* --list-commands (hidden): every row as JSON, with a sample command line */
    CTL_PARSE_ERROR,     /* usage error: err says what and for which family / verbs */
};

struct ctl_error {
    char msg[512];                  /* "c3 events: --count: -5 is below the minimum 1" */
    const struct ctl_family *fam;   /* scope for the usage lines (NULL: the whole program) */
    const struct ctl_verb *verbs[16]; /* the rows to show usage lines of (none: the family's list) */
    size_t nverbs;
};

/* Parse and validate argv against the table (no I/O, nothing opened). */
enum ctl_parse_result ctl_parse(int argc, char **argv, const struct ctl_family *const *fams, struct ctl_call *call,
                                struct ctl_error *err);

/* Usage texts, all generated from the table. */
void ctl_print_usage_line(FILE *out, const struct ctl_family *fam, const struct ctl_verb *verb);
/* Exit 2 for a refusal, not a bad command line: a file's rows refused (its line and field said, or its CSV
 * malformed), the caller's role too low, --readonly. The command was typed right, so main() adds no usage line to
 * this exit 2. */
void ctl_refuse(void);
bool ctl_refused(void);
void ctl_print_error(FILE *out, const struct ctl_error *err);
void ctl_print_help(FILE *out, const struct ctl_family *const *fams, const struct ctl_family *fam,
                    const struct ctl_error *scope);
/* Every family and row as JSON lines, each row with a sample command line that its checks accept (for tests and
 * for clients that map commands, such as a daemon's). */
void ctl_print_commands(FILE *out, const struct ctl_family *const *fams);
/* The SYNOPSIS and COMMANDS sections of portierctl(1), in roff. */
void ctl_print_man(FILE *out, const struct ctl_family *const *fams);

/* The effective state-change flag and least role of a row (rows with a core action: from action_table). */
bool ctl_verb_changes(const struct ctl_verb *v);
const char *ctl_verb_help(const struct ctl_verb *v);
enum role ctl_verb_role(const struct ctl_verb *v);

/* A decimal number in [min, max]: 0, or -1 with "NAME: what is wrong" in err ("-5 is below the minimum 1"). */
int ctl_parse_uint(const char *s, long long min, long long max, long long *out, char *err, size_t errlen);

/* A call's values by name: the argument or option (row, then family) called name; NULL if there is none. */
const struct ctl_val *ctl_get(const struct ctl_call *call, const char *name);
/* Shorthands: is it given; its text (or def); its number (or def). */
bool ctl_has(const struct ctl_call *call, const char *name);
const char *ctl_str(const struct ctl_call *call, const char *name, const char *def);
long long ctl_num(const struct ctl_call *call, const char *name, long long def);
/* How long a command waits: --timeout when given, else the command's own default def_ms. */
unsigned ctl_timeout(const struct ctl_opts *g, unsigned def_ms);

/* Output shared by the families: one JSON object per line (consumes o), flushed. */
struct json_t;
void ctl_print_json(struct json_t *o);
/* A command that could not run: {"type":"error","error":msg,"code":rc} on stdout with --json, "portierctl FAMILY:
 * msg" on stderr always; returns rc (the exit status). */
int ctl_fail(bool json, const char *family, int rc, const char *msg);
/* The one rule of --json failures: every failure ends with an object carrying "error" on stdout. begin (with
 * --json) keeps what standard error says last; end(rc, said), for a non-zero rc when no object with "error" was
 * printed, prints {"type":"error","error":said or that line,"code":rc}. Standard error keeps its text. */
void ctl_json_errors_begin(bool json);
void ctl_json_errors_end(int rc, const char *said);

#endif
