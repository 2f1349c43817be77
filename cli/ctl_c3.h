/* ctl_c3: what the files of `portierctl c3` share: a panel operation run with the family's connection handling
 * (password, dialect, --timeout, signals, exit codes) and the rows of the data-table, history and discovery
 * commands (ctl_c3_data.c, ctl_c3_discover.c). ctl_c3.c (about 1000 lines) is the family's verb table and the
 * connection handling those rows share; the data tables, history and discovery are in their own files. */
#ifndef PORTIER_CTL_C3_H
#define PORTIER_CTL_C3_H

#include "cli/ctl.h"
#include "drivers/c3/c3_session.h"

struct ctl;

/* An operation on one panel: start runs once the link is first up (0, or a negative session code that fails
 * the command); the operation ends with ctl_c3_job_done or ctl_c3_job_fail. --timeout bounds the time to the
 * first answer; after that the requests' own deadlines do. */
struct ctl_c3_job {
    int (*start)(struct ctl_c3_job *job, struct c3_session *s);
    void *arg;
    struct ctl *ctl; /* set by the runner */
};
int ctl_c3_run_job(struct ctl_call *call, struct ctl_c3_job *job);
void ctl_c3_job_done(struct ctl_c3_job *job, int exit_code);
/* A failed request: panel errors exit 1, timeouts and a lost link exit 3 (with the message). */
void ctl_c3_job_fail(struct ctl_c3_job *job, int err);

/* One real-time event record as `events` prints it (text, or a JSON object with --json). */
struct c3_rt_event;
void ctl_c3_print_rt_event(bool json, uint32_t time, const struct c3_rt_event *e);
/* ctl_c3_daemon.c: `events` against a panel portierd owns: the daemon's stream of that panel's events (the daemon
 * is the one reading the panel's ring), printed as `events` prints the panel's records. */
struct ctl_daemon_device;
int ctl_c3_events_via_daemon(struct ctl_call *call, struct ctl_daemon_device *dp);
/* The panel HOST names as one of the running portierd's site (ctl_daemon_panel_open): CTL_EXIT_OK with *dp, -1 when
 * it is not asked through portierd (--direct, no daemon, not its panel), or an exit status (printed). */
int ctl_c3_daemon_panel(const struct ctl_call *call, struct ctl_daemon_device **dp);
/* ctl_c3_site.c: the users, cards, access, timezones and holidays commands of `portierctl c3 HOST` against a panel
 * portierd owns: through the daemon's panel-data actions (its role rules and audit), printed as in direct mode. */
int ctl_c3_data_via_daemon(struct ctl_call *call, struct ctl_daemon_device *dp);
/* `events --history` against portierd's panel: the request "history [since=PACKED]" (a panel-data read); each
 * record of the answer goes to each (its "txn" object: time, door, event, verify, inout, card, pin, index; NULL
 * for a line without one), the read's progress in bytes to progress (optional).
 * CTL_EXIT_OK, or the failure printed as the c3 commands print it. */
int ctl_c3_history_via_daemon(struct ctl_call *call, struct ctl_daemon_device *dp, const char *req,
                              void (*each)(void *arg, const struct json_t *txn),
                              void (*progress)(void *arg, size_t done, size_t total), void *arg);

/* events --history [--since T]: the panel's transaction table. */
int ctl_c3_history_run(struct ctl_call *call);

/* ---- the rows of ctl_c3_data.c and ctl_c3_discover.c, listed in the family's table (ctl_c3.c) ---- */
enum ctl_c3_what { CTL_C3_TABLES, CTL_C3_TGET, CTL_C3_TSET, CTL_C3_TDEL, CTL_C3_LIST, CTL_C3_ADD, CTL_C3_SET,
                   CTL_C3_DEL, CTL_C3_IMPORT, CTL_C3_EXPORT };
struct ctl_c3_data_row {
    enum ctl_c3_what what;
    int kind;                   /* enum c3_kind, -1 for table commands */
};
struct csv;
/* The rows a change command names: its arguments and options (add, set, delete) or its CSV file (import, table
 * set; *file is then the file's name, else NULL). 0, or -1 after a message. */
int ctl_c3_request_rows(const struct ctl_call *call, const struct ctl_c3_data_row *row, struct csv *rows,
                        const char **file);
/* Rows as a table, CSV (csv_out) or JSON objects (--json). */
void ctl_c3_print_rows(const struct ctl_call *call, const struct csv *t, bool csv_out);
/* A refused request on stderr as "WHO: FILE: line N: column: what" (from a file) or "WHO: column: what" (from
 * the arguments), control characters as \xNN; returns the message without a line prefix of the arguments. */
const char *ctl_c3_print_error(const char *who, const char *file, const char *msg);
/* A table request that failed with err and msg (the driver's text): said as direct mode says it (stderr through
 * ctl_c3_print_error with who, "(code N) " first but for refused input, which its line and column name; with
 * --json also {"error", "code"} on stdout); the exit status (ctl_c3_store_exit). */
int ctl_c3_store_failed(const struct ctl_call *call, const char *who, const char *file, int err, const char *msg);
/* A change's summary object (c3_store_summary_json, whose reference it takes) behind "part": what (when not NULL),
 * as --json prints it. */
struct json_t *ctl_c3_summary_json(const char *what, struct json_t *summary);
/* The exit status of a table request that failed with err (C3_S_INVALID: refused input, 2; the panel's error: 1;
 * the session's: 3). */
int ctl_c3_store_exit(int err);
int ctl_c3_data_verb_run(struct ctl_call *call);
/* users add|set with --doors (the user and the doors they may open, checked as the console's user editor does):
 * 1 when the call gives doors, 0 when not, -1 after a message (--timezone without --doors). */
int ctl_c3_doors_check(const struct ctl_call *call, const struct ctl_c3_data_row *row);
/* The --doors list ("none": no door, as an empty list). */
const char *ctl_c3_doors_list(const struct ctl_call *call);
int ctl_c3_discover_run(struct ctl_call *call);
extern const struct ctl_c3_data_row CD_TABLES, CD_TGET, CD_TSET, CD_TDEL;
#define CTL_C3_KIND_DECL(K) extern const struct ctl_c3_data_row CD_##K##_LIST, CD_##K##_ADD, CD_##K##_SET, \
                            CD_##K##_DEL, CD_##K##_IMPORT, CD_##K##_EXPORT;
CTL_C3_KIND_DECL(USERS)
CTL_C3_KIND_DECL(CARDS)
CTL_C3_KIND_DECL(ACCESS)
CTL_C3_KIND_DECL(TZ)
CTL_C3_KIND_DECL(HOL)
#undef CTL_C3_KIND_DECL
extern const struct ctl_def ctl_c3_o_list[], ctl_c3_o_tget[], ctl_c3_o_tdel[], ctl_c3_o_dry[], ctl_c3_o_import[],
    ctl_c3_a_table[], ctl_c3_a_table_file[], ctl_c3_a_file[], ctl_c3_a_pin[], ctl_c3_a_pins[], ctl_c3_o_user[],
    ctl_c3_a_card_pin[], ctl_c3_a_cards[], ctl_c3_a_access[], ctl_c3_a_tz[], ctl_c3_a_tzs[], ctl_c3_o_tz[],
    ctl_c3_a_date[], ctl_c3_a_dates[], ctl_c3_o_hol[], ctl_c3_o_discover[], ctl_c3_a_setip[];
extern const int ctl_c3_discover_search, ctl_c3_discover_setip;
/* the site's rows (ctl_c3_site.c): the same arguments followed by PANEL */
extern const struct ctl_def ctl_c3_s_panel[], ctl_c3_s_file[], ctl_c3_s_pin[], ctl_c3_s_card_pin[], ctl_c3_s_card[],
    ctl_c3_s_access[], ctl_c3_s_tz[], ctl_c3_s_date[];
int ctl_c3_site_run(struct ctl_call *call);
/* list / add / set / delete / import / export of one kind of data of a configured panel, through the site (the
 * panel-data actions: role-checked and audited; through portierd when it runs) */
#define CTL_C3_SITE_ROW(syntax, args, opts, help, action, role, data) \
    { syntax, args, opts, help, action, action == ACTION_PANEL_DATA, role, "panel-data", ctl_c3_site_run, &data, \
      false }
#define CTL_C3_SITE_ROWS(word, K, key, a_one, dkey, a_del, o_one, what)                                                  \
    CTL_C3_SITE_ROW(word " list PANEL", ctl_c3_s_panel, ctl_c3_o_list, "a panel's " what, ACTION_PANEL_DATA_GET,    \
                    ROLE_GUARD, CD_##K##_LIST),                                                                      \
    CTL_C3_SITE_ROW(word " export PANEL", ctl_c3_s_panel, NULL, "a panel's " what " as CSV",                        \
                    ACTION_PANEL_DATA_GET, ROLE_GUARD, CD_##K##_EXPORT),                                            \
    CTL_C3_SITE_ROW(word " import FILE PANEL", ctl_c3_s_file, ctl_c3_o_import,                                     \
                    "make a panel's " what " what a CSV file says", ACTION_PANEL_DATA, ROLE_TECHNICIAN,             \
                    CD_##K##_IMPORT),                                                                                \
    CTL_C3_SITE_ROW(word " add " key " PANEL", a_one, o_one, "add to a panel's " what, ACTION_PANEL_DATA,           \
                    ROLE_TECHNICIAN, CD_##K##_ADD),                                                                  \
    CTL_C3_SITE_ROW(word " set " key " PANEL", a_one, o_one, "change or add (options not given keep their value)", \
                    ACTION_PANEL_DATA, ROLE_TECHNICIAN, CD_##K##_SET),                                              \
    CTL_C3_SITE_ROW(word " delete " dkey " PANEL", a_del, ctl_c3_o_dry, "delete from a panel's " what,                \
                    ACTION_PANEL_DATA, ROLE_TECHNICIAN, CD_##K##_DEL)

#define CTL_C3_DROW(syntax, args, opts, help, changes, role, maps, data) \
    { syntax, args, opts, help, CTL_NO_ACTION, changes, role, maps, ctl_c3_data_verb_run, &data, false }
/* list / add / set / delete / import / export of one kind of data */
#define CTL_C3_KIND_ROWS(word, K, key, a_one, del, a_del, o_one, what)                                              \
    CTL_C3_DROW(word " list", NULL, ctl_c3_o_list, "the panel's " what, false, ROLE_GUARD, "get data (0x08)",      \
                CD_##K##_LIST),                                                                                      \
    CTL_C3_DROW(word " add " key, a_one, o_one, "add to the panel's " what " (refused if it exists)", true,        \
                ROLE_TECHNICIAN, "set data (0x07)", CD_##K##_ADD),                                                   \
    CTL_C3_DROW(word " set " key, a_one, o_one, "change or add (options not given keep their value)", true,       \
                ROLE_TECHNICIAN, "set data (0x07)", CD_##K##_SET),                                                   \
    CTL_C3_DROW(word " delete " del, a_del, ctl_c3_o_dry, "delete from the panel's " what, true, ROLE_TECHNICIAN,   \
                "delete data (0x09)", CD_##K##_DEL),                                                                 \
    CTL_C3_DROW(word " import FILE", ctl_c3_a_file, ctl_c3_o_import,                                               \
                "make the panel's " what " what a CSV file says (difference shown first)", true, ROLE_TECHNICIAN,  \
                "delete data (0x09), set data (0x07)", CD_##K##_IMPORT),                                            \
    CTL_C3_DROW(word " export", NULL, NULL, "the panel's " what " as CSV (what import reads)", false, ROLE_GUARD, \
                "get data (0x08)", CD_##K##_EXPORT)

#endif
