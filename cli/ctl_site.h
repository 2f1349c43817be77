/* ctl_site: what the site commands share between direct mode (ctl_site.c: this process owns the devices) and
 * portierd mode (ctl_daemon.c: a client of the daemon): output of events, audit rows, action results and status. */
#ifndef PORTIER_CTL_SITE_H
#define PORTIER_CTL_SITE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cli/ctl.h"
#include "core/action.h"
#include "core/journal.h"
#include "core/loop.h"
#include "core/site.h"

enum ctl_out_mode { OUT_TEXT, OUT_CSV, OUT_JSON };
enum ctl_out_mode ctl_out_mode_of(const struct ctl_call *call);
void ctl_print_csv_header(enum ctl_out_mode mode, bool audit);
/* journal_event_fn / journal_audit_fn printers (arg: an enum ctl_out_mode). */
int ctl_print_event(const struct event *ev, bool acked, void *arg);
int ctl_print_audit(const struct audit_record *r, void *arg);
/* The filters of journal and audit from the call. */
void ctl_query_from_call(const struct ctl_call *call, struct journal_query *q, bool audit);
/* An action's live counts (stderr, when a terminal) and, when finished, one line per door and the summary. */
void ctl_print_run(const struct ctl_opts *o, const struct site *site, const struct action_run *run, bool finished);
/* Links, door states and the emergency of the site (em NULL: as the site itself shows it); with --json one object
 * for the site and its emergency, one per device and one per output with every flag. Returns how many devices are
 * not up. */
struct proto_emergency;
int ctl_print_status(const struct ctl_opts *o, const struct site *site, const struct proto_emergency *em);
/* The outcome of an audit-chain check (v NULL: it could not be read, why says why); returns the exit status. */
int ctl_print_verify(const struct ctl_opts *o, const struct journal_verify_result *v, const char *why);
/* The exit status for an action's outcome. */
int ctl_action_exit(enum action_id id, enum action_status st);
/* An acknowledgement's comment, journaled as an operator event beside it. */
void ctl_publish_comment(struct site *site, const char *user, const char *target, const char *comment);

/* An action with parameters whose driver reports lines (panel data): run directly or through portierd alike. */
struct ctl_site_run {
    enum action_id id;
    const char *target;
    const char *settings;                 /* action_params.settings */
    const void *data;                     /* action_params.file_data */
    size_t len;
    void (*line)(void *arg, const char *line); /* each line the driver reports, in order */
    /* optional: each line with its structured form instead (either may be NULL; doc/protocol.md, "Panel-data
     * records"), as the driver reports them through the action's record */
    void (*record)(void *arg, const char *line, const json_t *record);
    void (*progress)(void *arg, size_t done, size_t total); /* a read's bytes (optional; same arg) */
    void *arg;
    bool quiet;                           /* print nothing of the run when it succeeds or when the driver said
                                           * something (the lines are the output; the caller prints the failure) */
    size_t lines;                         /* out: how many lines came */
    enum action_status status;            /* out */
    char message[256];                    /* out: the result's message, or why it was refused */
};
/* Direct mode (ctl_site.c). Returns the exit status. */
int ctl_site_run_direct(struct ctl_call *call, struct ctl_site_run *r);

/* ---- portierd mode (ctl_daemon.c) ---- */
/* Which mode: 1 = through portierd at sock (--socket, daemon.socket of the configuration, or the default, when
 * something listens there), 0 = direct (--direct, or no daemon socket), -1 = an error was printed (an explicit
 * --socket that does not answer, a socket this user may not open). */
int ctl_daemon_choose(const struct ctl_opts *g, char *sock, size_t len);
/* The socket ctl_daemon_choose found nothing at when it chose direct mode for want of a portierd (not --direct), or
 * NULL: what a direct mode that cannot start says, since the caller may only have meant to reach portierd. */
const char *ctl_daemon_absent(void);
int ctl_daemon_status(struct ctl_call *call, const char *sock);
int ctl_daemon_action(struct ctl_call *call, const char *sock, enum action_id id, const char *target, long value,
                      const char *comment);
int ctl_daemon_query(const struct ctl_call *call, const char *sock, bool audit);
int ctl_daemon_run(struct ctl_call *call, const char *sock, struct ctl_site_run *r);
/* raw DEVICE through portierd. */
/* mqtt status: portierd's MQTT output (connection, backlog, last acknowledged journal id); exit 0 when connected,
 * 3 when not, 1 without an MQTT output. */
int ctl_daemon_mqtt_status(const struct ctl_call *call, const char *sock);
/* portierd's own state: uptime, clients, the longest hold of its event loop. */
int ctl_daemon_self(const struct ctl_call *call, const char *sock);
int ctl_daemon_raw(const struct ctl_call *call, const char *sock);
/* A C3 panel that portierd owns, asked by `portierctl c3 HOST ...`: raw requests through the daemon (it checks the
 * caller is a technician and audits each). open: the daemon's site panel at addr (tcp_addr text, "IP:PORT");
 * CTL_EXIT_OK with *out; -1 when the panel is not reachable through a portierd (no socket, no answer, not its
 * panel; nothing printed but with -v); or an exit status with the reason printed. raw: CTL_EXIT_OK with the reply payload
 * (malloc'd, NUL-terminated; *rlen bytes), or an exit status with the reason in err. */
struct ctl_daemon_device;
int ctl_daemon_panel_open(const struct ctl_call *call, const char *addr, struct ctl_daemon_device **out);
int ctl_daemon_panel_raw(struct ctl_daemon_device *p, unsigned command, const void *payload, size_t len,
                         unsigned char **reply, size_t *rlen, char *err, size_t errlen);
const char *ctl_daemon_panel_name(const struct ctl_daemon_device *p);
/* The same for a NiX1 bus of portierd's site on port (`portierctl nix1 PORT ...`). A command opens one audited
 * command in the daemon (begin: technicians only; CTL_EXIT_OK or an exit status with the reason in err), relays its
 * lines one by one (send: slave is 16 hex digits, line what follows the address; done gets the daemon's final
 * answer, borrowed; -1 when it cannot be sent), and ends it with its outcome (end). The requests run on the
 * daemon's bus between its own work, on loop. */
int ctl_daemon_bus_open(const struct ctl_call *call, const char *port, struct ctl_daemon_device **out);
int ctl_daemon_bus_begin(struct ctl_daemon_device *p, const char *command, char *err, size_t errlen);
typedef void (*ctl_daemon_line_fn)(void *arg, const json_t *fin);
int ctl_daemon_bus_send(struct ctl_daemon_device *p, const char *slave, const char *line, unsigned timeout_ms,
                        ctl_daemon_line_fn done, void *arg);
void ctl_daemon_bus_end(struct ctl_daemon_device *p, int exit_code, const char *detail);
loop_t *ctl_daemon_device_loop(struct ctl_daemon_device *p);
/* The daemon's socket, and its site as the connection sees it (its mirror). */
const char *ctl_daemon_device_socket(const struct ctl_daemon_device *p);
const struct site *ctl_daemon_device_site(struct ctl_daemon_device *p);
void ctl_daemon_panel_close(struct ctl_daemon_device *p);
/* audit --verify through portierd. */
int ctl_daemon_verify(const struct ctl_call *call, const char *sock);
/* The live events until interrupted (or --count), reconnecting and resuming by itself. */
int ctl_daemon_watch(const struct ctl_call *call, const char *sock);
/* The same, as asked: one device's events only (device), printed by print (NULL: as watch prints them), until count
 * of them (0: no limit) or for_ms after the stream is up (0: until interrupted); quiet: the connection is named
 * only when lost (and with -v). --kind and --severity of the call filter as for watch. */
struct ctl_follow {
    const char *device;
    void (*print)(const struct event *ev, void *arg);
    void *arg;
    long count;
    unsigned for_ms;
    bool quiet;
    unsigned journal_rows;
};
int ctl_daemon_follow(const struct ctl_call *call, const char *sock, const struct ctl_follow *f);

#endif
