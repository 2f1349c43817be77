/* ctl_nix1: what the `portierctl nix1` modules share: the bus context (opened only after the whole command was
 * checked), one transaction at a time with its printing, and the handlers of the rows. Internal to cli/. */
#ifndef PORTIER_CTL_NIX1_H
#define PORTIER_CTL_NIX1_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/ctl.h"
#include "core/loop.h"
#include "drivers/nix1/nix1_bus.h"
#include "drivers/nix1/nix1_xfer.h"

struct ctl_daemon_device;

#define N1_MAX_SLAVES 256

enum n1_target { N1_TGT_NONE, N1_TGT_SLAVE, N1_TGT_BROADCAST, N1_TGT_SCRATCH };

/* What a command may be sent to (struct n1_row.target). */
enum n1_rule {
    N1_UNICAST,   /* one slave: --slave (the first) or --scratch */
    N1_ANY,       /* --slave, --scratch, or --broadcast when the NiX1 command may be broadcast (§5.6) */
    N1_SLAVES,    /* every --slave (at least one) */
    N1_OPTIONAL,  /* every --slave, possibly none */
    N1_DOORS,     /* the emergency: --broadcast, or the slaves given or remembered */
    N1_SCRATCH,   /* the scratch address, whatever is given */
};

/* A row's NiX1 request (struct ctl_verb.data). */
struct n1_row {
    char cmd, arg;        /* the command; 0 for rows with their own handler */
    const char *opt;      /* the option from the arguments: "{1}" is the text of syntax slot 1, "{1?}" on|off as
                             1|0; NULL = no option */
    const char *type;     /* a query: the JSON "type" of its answer; NULL = a change (prints "ok") */
    const char *fields;   /* a query: names of the answer's fields, comma-separated */
    enum n1_rule rule;
};

struct n1ctx {
    const struct ctl_call *call;
    const struct ctl_opts *g;
    loop_t *loop;
    nix1_bus_t *bus;
    enum n1_target tk;
    nix1_addr_t target;
    nix1_addr_t slaves[N1_MAX_SLAVES];
    size_t nslaves;
    const char *port;
    bool stop;
    /* last transaction */
    bool done;
    struct nix1_result res;
    char *payload;
    char **lines;
    size_t nlines;
    struct nix1_bus_listener lis;
    bool line_down; /* entries --follow: the line was lost and is not back yet */
    struct nix1_xfer_result xres;
    char errbuf[256];
    /* a bus portierd owns: the bus relays each request through the daemon (c->loop is the connection's) */
    struct ctl_daemon_device *daemon;
};

/* Targets from the family options; 0, or -1 after printing a usage error (nothing opened). */
int n1_targets(struct n1ctx *c, const struct ctl_call *call, enum n1_rule rule, char cmd, char arg);
/* A handler that needs nothing but the targets of its row and the open bus: n1_targets by the row's rule, n1_open,
 * body, n1_close. */
int n1_with_bus(struct ctl_call *call, int (*body)(struct n1ctx *c, struct ctl_call *call));
/* Open the bus (CTL_EXIT_OK, or the exit status after printing why) and close it again (returns rc, the command's
 * exit status, which a command through portierd reports for its audit row). A bus of the running portierd's site is
 * not opened here: the command's requests go to the daemon one by one (ctl_nix1_relay.c). */
int n1_open(struct n1ctx *c);
int n1_close(struct n1ctx *c, int rc);
/* Run the loop until *flag or a signal. */
void n1_run_until(struct n1ctx *c, const bool *flag);
/* SIGINT/SIGTERM end the command (flag stop). */
void n1_watch_signals(struct n1ctx *c);

/* One transaction: CTL_EXIT_OK for a success code (00, 04, 06) or a broadcast sent; CTL_EXIT_DEVICE_ERROR for an
 * error code, CTL_EXIT_UNREACHABLE for no answer (both printed unless quiet). */
int n1_xact_raw(struct n1ctx *c, const nix1_addr_t *a, char cmd, char arg, const char *opt, const char *raw,
                bool quiet);
int n1_xact(struct n1ctx *c, char cmd, char arg, const char *opt);
/* The bus could not be had (msg): on stderr, and as a JSON error with --json; returns rc. */
int n1_fail(struct n1ctx *c, int rc, const char *msg);
/* Usage error for this command: the reason on stderr, exit 2 (main() adds the usage line); nothing sent. */
int n1_usage(struct n1ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Printing. */
const char *n1_addr(const nix1_addr_t *a, char buf[NIX1_ADDR_LEN + 1]);
void n1_report_error(struct n1ctx *c, const nix1_addr_t *a, const char *what, uint8_t rc);
void n1_report_noanswer(struct n1ctx *c, const nix1_addr_t *a, const char *what, const char *why);
void n1_print_fields(struct n1ctx *c, const char *type, const char *fields);
void n1_print_ok(struct n1ctx *c, const char *what);
/* A file's bytes (at most 64 MiB): 0, or -errno. */
int n1_read_file(const char *path, char **data, size_t *len);

/* Handlers of the rows with more than one request (ctl_nix1_cmds.c, ctl_nix1_files.c, ctl_nix1_door.c). */
int n1_cmd_status(struct ctl_call *call);
int n1_cmd_scan(struct ctl_call *call);
int n1_cmd_entries(struct ctl_call *call);
int n1_cmd_raw(struct ctl_call *call);
int n1_cmd_time_sync(struct ctl_call *call);
int n1_cmd_timeouts_get(struct ctl_call *call);
int n1_cmd_timeouts_set(struct ctl_call *call);
int n1_cmd_baud_set(struct ctl_call *call);
int n1_cmd_file_ls(struct ctl_call *call);
int n1_cmd_file_get(struct ctl_call *call);
int n1_cmd_file_put(struct ctl_call *call);
int n1_cmd_firmware(struct ctl_call *call);
int n1_cmd_provision(struct ctl_call *call);
int n1_cmd_key_rotate(struct ctl_call *call);
int n1_cmd_door(struct ctl_call *call);

/* ctl_nix1_relay.c: the command against a bus portierd owns: -1 when the bus is not portierd's (nothing printed),
 * else CTL_EXIT_OK with c->bus relaying through the daemon, or the exit status after printing why. */
int n1_relay_open(struct n1ctx *c);
int n1_relay_close(struct n1ctx *c, int rc);

/* Checks of argument texts used by the table. */
int n1_check_timeout_setting(const char *v, char *err, size_t errlen);
int n1_check_units(const char *v, char *err, size_t errlen);

#endif
