/* portierd: the one owner of the site. Reads portier.conf (the only reader of panel passwords), owns every panel
 * and bus, the journal, the audit trail and the emergency, and serves consoles and portierctl on a Unix socket.
 * Options, the state directory, hosting the site, reloading it, signals, and sd_notify with the watchdog. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "config/site_config.h"
#include "core/device.h"
#include "core/durable.h"
#include "core/statedir.h"
#include "daemon/daemon.h"
#include "daemon/emergency.h"
#include "daemon/requests.h"
#include "drivers/drivers.h"

#define DEFAULT_STATE_DIR "/var/lib/portier"
#define DEFAULT_SOCKET "/run/portier/portier.sock"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: portierd -c FILE [--socket PATH] [--state-dir DIR] [--foreground] [--max-clients N]\n"
            "                [--client-queue B] [--stall-timeout S]\n"
            "  -c, --config FILE      the site configuration (the only file with panel passwords)\n"
            "      --socket PATH      where clients connect (default: daemon.socket of the configuration,\n"
            "                         else " DEFAULT_SOCKET ")\n"
            "      --state-dir DIR    journal, audit and emergency state (default " DEFAULT_STATE_DIR ";\n"
            "                         the journal goes elsewhere only if the configuration names a path)\n"
            "      --foreground       plain log lines on stderr (without it they carry journald priorities)\n"
            "      --max-clients N    connections at once (default 256; 64 per Unix user)\n"
            "      --client-queue B   bytes queued per client before it is resynchronised (default 8 MiB)\n"
            "      --stall-timeout S  a client that reads nothing for S seconds while its queue is full is closed\n"
            "                         (default 60)\n"
            "  -h, --help             this text;  -V, --version  the version\n"
            "Signals: SIGHUP reloads the configuration (validated first), SIGTERM stops (doors stay as they are).\n");
}

/* ---- logging: stderr, with sd-daemon priority prefixes unless --foreground ---- */

static bool plain_log;

static void logmsg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logmsg(int prio, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (!plain_log)
        fprintf(stderr, "<%d>", prio);
    fputs("portierd: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* A schema upgrade of a large journal holds the start for minutes, once: said in the log at its start, and told to
 * systemd about every second with more start-up time each time (the start-up timeout would otherwise kill it
 * mid-way, roll the upgrade back and start it again, for ever). */
static void journal_busy(void *arg, const char *what)
{
    struct daemon *d = arg;
    if (!d->journal_busy_said) {
        logmsg(5, "%s (once; a large journal takes a while)", what);
        d->journal_busy_said = true;
    }
    sd_notifyf(0, "EXTEND_TIMEOUT_USEC=%u\nSTATUS=%s", 30u * 1000000u, what);
}

/* ---- the state directory ---- */

/* One daemon per state directory: an flock held for the life of the process (released by the kernel on any death). */
static int lock_state_dir(const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%.*s/portierd.pid", PATH_MAX - 16, dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%.900s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = read(fd, pid, sizeof pid - 1);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        snprintf(err, errlen, "another portierd (pid %s) uses the state directory %.900s", pid[0] ? pid : "?", dir);
        close(fd);
        return -1;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
        snprintf(err, errlen, "%.900s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- the audit trail's independent copy ----
 * Every link of the audit chain also goes to the system journal (syslog when journald is absent), where a database
 * edit cannot reach: `journalctl -t portierd-audit` lists them with their link number and hash. */

enum audit_sink { SINK_JOURNALD, SINK_SYSLOG, SINK_LOG };
static enum audit_sink audit_sink;

/* Where the copy goes: journald when its socket exists (sd_journal_send silently drops messages otherwise), else
 * syslog when /dev/log exists, else portierd's own log. */
static void audit_sink_choose(void)
{
    if (access("/run/systemd/journal/socket", F_OK) == 0) {
        audit_sink = SINK_JOURNALD;
    } else if (access("/dev/log", F_OK) == 0) {
        audit_sink = SINK_SYSLOG;
        openlog("portierd-audit", LOG_PID, LOG_AUTHPRIV);
    } else {
        audit_sink = SINK_LOG;
        logmsg(4, "neither journald nor syslog: the audit trail's independent copy goes to this log");
    }
}

static void audit_copy(const struct audit_record *rec, const char *stage, int64_t seq, const char *hash, void *arg)
{
    (void)arg;
    const char *result = rec->result[0] ? rec->result : "pending";
    if (audit_sink == SINK_JOURNALD &&
        sd_journal_send("MESSAGE=audit #%lld %s: %s (%s) %s %s %s: %s%s%s", (long long)rec->id, stage, rec->user,
                        rec->role, rec->action, rec->target, rec->params, result, rec->detail[0] ? " — " : "",
                        rec->detail, "PRIORITY=5", "SYSLOG_IDENTIFIER=portierd-audit", "PORTIER_AUDIT_ID=%lld",
                        (long long)rec->id, "PORTIER_AUDIT_STAGE=%s", stage, "PORTIER_AUDIT_SEQ=%lld", (long long)seq,
                        "PORTIER_AUDIT_HASH=%s", hash, "PORTIER_AUDIT_USER=%s", rec->user, "PORTIER_AUDIT_ACTION=%s",
                        rec->action, "PORTIER_AUDIT_RESULT=%s", result, NULL) >= 0)
        return;
    if (audit_sink == SINK_SYSLOG) {
        syslog(LOG_NOTICE, "audit #%lld %s link %lld %s: %s (%s) %s %s %s: %s%s%s", (long long)rec->id, stage,
               (long long)seq, hash, rec->user, rec->role, rec->action, rec->target, rec->params, result,
               rec->detail[0] ? " — " : "", rec->detail);
        return;
    }
    logmsg(5, "audit #%lld %s link %lld %s: %s (%s) %s %s %s: %s%s%s", (long long)rec->id, stage, (long long)seq, hash,
           rec->user, rec->role, rec->action, rec->target, rec->params, result, rec->detail[0] ? " — " : "",
           rec->detail);
}

/* ---- hosting the site ---- */

static struct site *load_config(const char *path, char *why, size_t whylen)
{
    struct config_diags diags;
    memset(&diags, 0, sizeof diags);
    struct site *site = site_config_load(path, &diags);
    if (!site || diags.warnings) {
        for (size_t i = 0; i < diags.n; i++) {
            const struct config_diag *g = &diags.items[i];
            logmsg(g->warning ? 4 : 3, "%s:%d: %s%s", diags.file, g->line, g->warning ? "warning: " : "", g->message);
        }
    }
    if (!site) {
        /* the first error, for clients and the audit */
        const struct config_diag *first = NULL;
        for (size_t i = 0; i < diags.n && !first; i++)
            if (!diags.items[i].warning)
                first = &diags.items[i];
        snprintf(why, whylen, "%s:%d: %s%s", path, first ? first->line : 0, first ? first->message : "not valid",
                 diags.errors > 1 ? " (and more: see the log)" : "");
    }
    config_diags_free(&diags);
    return site;
}

/* Give the site its loop, journal and drivers (not started). */
static int host_site(struct daemon *d, struct site *site, char *err, size_t errlen)
{
    site->loop = d->loop;
    site->journal_db = d->journal;
    struct event_bus *bus = site_events(site);
    if (!bus) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* Under a flood, one transaction per loop iteration (journal before anyone sees the events still holds).
     * Batching first: the journal's notices about its start then wait for the subscribers. */
    event_bus_set_batching(bus, d->loop, 512);
    journal_attach(d->journal, bus);
    return device_attach_all(site, drivers_registry, err, errlen);
}

/* Stop the devices of a site and deliver what they report while stopping. */
static void unhost_site(struct daemon *d, struct site *site)
{
    if (site->events)
        event_bus_flush(site->events);
    device_detach_all(site);
    for (int i = 0; i < 5; i++)
        loop_run_once(d->loop, 0); /* asynchronous completions of the drivers' stop */
    if (site->events)
        event_bus_flush(site->events);
}

/* ---- reload ---- */

/* Same devices: every panel and bus field except the configuration line numbers. */
static bool same_devices(const struct site *a, const struct site *b)
{
    if (a->n_panels != b->n_panels || a->n_buses != b->n_buses)
        return false;
    for (size_t i = 0; i < a->n_panels; i++) {
        struct site_panel x, y;
        memcpy(&x, &a->panels[i], sizeof x);
        memcpy(&y, &b->panels[i], sizeof y);
        x.line = y.line = 0;
        if (memcmp(&x, &y, sizeof x) != 0)
            return false;
    }
    for (size_t i = 0; i < a->n_buses; i++) {
        struct site_bus x, y;
        memcpy(&x, &a->buses[i], sizeof x);
        memcpy(&y, &b->buses[i], sizeof y);
        if (x.n_slaves != y.n_slaves)
            return false;
        for (size_t k = 0; k < x.n_slaves; k++) {
            struct site_slave s, t;
            memcpy(&s, &x.slaves[k], sizeof s);
            memcpy(&t, &y.slaves[k], sizeof t);
            s.line = t.line = 0;
            if (memcmp(&s, &t, sizeof s) != 0)
                return false;
        }
        x.line = y.line = 0;
        x.slaves = y.slaves = NULL;
        if (memcmp(&x, &y, sizeof x) != 0)
            return false;
    }
    return true;
}

static struct site *pending_site;
static loop_timer_t reload_timer;

/* The reload hook of the site (ACTION_RELOAD_CONFIG): validate now, apply after the action has finished. */
static int reload_hook(struct site *site, const char *by, char *why, size_t whylen, void *arg)
{
    (void)site;
    struct daemon *d = arg;
    if (emergency_busy(d->em)) {
        snprintf(why, whylen, "the emergency is active: restore it before reloading the configuration");
        return -1;
    }
    if (d->site->actions_running > 1) {
        snprintf(why, whylen, "%zu other actions are running: try again when they have finished",
                 d->site->actions_running - 1);
        return -1;
    }
    struct site *n = load_config(d->config_path, why, whylen);
    if (!n)
        return -1;
    site_free(pending_site);
    pending_site = n;
    event_copy(d->reload_by, sizeof d->reload_by, by);
    loop_timer_arm_us(d->loop, &reload_timer, 0);
    return 0;
}

static void apply_reload(loop_t *loop, void *arg)
{
    (void)loop;
    struct daemon *d = arg;
    struct site *n = pending_site, *old = d->site;
    pending_site = NULL;
    if (!n)
        return;
    if (d->site->actions_running) {
        /* an action slipped in after the check: wait for it */
        pending_site = n;
        loop_timer_arm_ms(d->loop, &reload_timer, 200);
        return;
    }
    daemon_mqtt_stop(d); /* restarted below on the reloaded site and mqtt group; its cursor is durable */
    if (n->journal.path[0] && strcmp(n->journal.path, d->journal_path) != 0)
        dispatch_notice(d, "warning", "the journal path changed to %s: that takes a restart of portierd", n->journal.path);
    if (same_devices(old, n)) {
        /* Same panels and buses: keep every connection (a reconnect would cost a C3 panel its event ring). */
        SITE_SWAP(old->n_roles, n->n_roles);
        SITE_SWAP(old->roles, n->roles);
        SITE_SWAP(old->default_role, n->default_role);
        SITE_SWAP(old->emergency, n->emergency);
        SITE_SWAP(old->ui, n->ui);
        SITE_SWAP(old->mqtt, n->mqtt);
        memcpy(old->name, n->name, sizeof old->name);
        old->journal.retention_days = n->journal.retention_days;
        old->journal.retention_rows = n->journal.retention_rows;
        site_free(n);
        event_publish_text(site_events(d->site), EVENT_SYSTEM, EVENT_NORMAL, "portierd", NULL, "configuration reloaded",
                           "configuration reloaded by %s (devices unchanged)", d->reload_by);
    } else {
        dispatch_detach(d);
        unhost_site(d, old);
        char err[512];
        n->reload = reload_hook;
        n->reload_arg = d;
        if (host_site(d, n, err, sizeof err) < 0) {
            logmsg(3, "reloaded configuration: %s", err);
            dispatch_notice(d, "error", "reloaded configuration: %s", err);
        }
        d->site = n;
        if (dispatch_attach(d) < 0)
            logmsg(3, "out of memory attaching the reloaded site");
        site_free(old);
        device_start_all(n);
        event_publish_text(site_events(d->site), EVENT_SYSTEM, EVENT_WARNING, "portierd", NULL, "configuration reloaded",
                           "configuration reloaded by %s: %zu devices reconnect", d->reload_by, n->n_devices);
    }
    daemon_mqtt_start(d);
    logmsg(5, "configuration %s reloaded (asked by %s)", d->config_path, d->reload_by);
    dispatch_snapshot_all(d);
    sd_notifyf(0, "STATUS=serving %zu clients; site \"%s\", %zu devices", server_clients(d->srv), d->site->name,
               d->site->n_devices);
}

static void reload_done(const struct action_run *run, bool finished, void *arg)
{
    struct daemon *d = arg;
    if (!finished)
        return;
    if (run->status != ACTION_OK) {
        logmsg(3, "configuration reload refused: %s", run->error);
        dispatch_notice(d, "error", "configuration reload refused: %s (the running configuration stays)", run->error);
    }
}

int daemon_reload(struct daemon *d, const char *by, char *why, size_t whylen)
{
    struct action_user user = { .role = ROLE_TECHNICIAN };
    event_copy(user.name, sizeof user.name, by);
    return action_run(d->site, &user, ACTION_RELOAD_CONFIG, NULL, NULL, reload_done, d, why, whylen);
}

/* ---- signals and the watchdog ---- */

static void on_signal(loop_t *loop, int signo, void *arg)
{
    struct daemon *d = arg;
    if (signo == SIGHUP) {
        char why[512];
        logmsg(5, "SIGHUP: reloading %s", d->config_path);
        daemon_reload(d, "SIGHUP", why, sizeof why);
        return;
    }
    logmsg(5, "%s: stopping (doors stay as they are)", strsignal(signo));
    d->stopping = true;
    loop_stop(loop);
}

static loop_timer_t watchdog_timer;
static uint64_t watchdog_us;

static void watchdog_cb(loop_t *loop, void *arg)
{
    (void)arg;
    sd_notify(0, "WATCHDOG=1");
    loop_timer_arm_us(loop, &watchdog_timer, watchdog_us / 2);
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int parse_size(const char *s, unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    const char *config = NULL, *socket_opt = NULL, *state_dir = DEFAULT_STATE_DIR;
    struct server_opts so;
    server_opts_default(&so);
    enum { OPT_SOCKET = 256, OPT_STATE, OPT_FG, OPT_MAXCL, OPT_QUEUE, OPT_STALL };
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},      {"socket", required_argument, NULL, OPT_SOCKET},
        {"state-dir", required_argument, NULL, OPT_STATE}, {"foreground", no_argument, NULL, OPT_FG},
        {"max-clients", required_argument, NULL, OPT_MAXCL}, {"client-queue", required_argument, NULL, OPT_QUEUE},
        {"stall-timeout", required_argument, NULL, OPT_STALL},
        {"help", no_argument, NULL, 'h'},               {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int o;
    unsigned long long v;
    while ((o = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
        switch (o) {
        case 'c': config = optarg; break;
        case OPT_SOCKET: socket_opt = optarg; break;
        case OPT_STATE: state_dir = optarg; break;
        case OPT_FG: plain_log = true; break;
        case OPT_MAXCL:
            if (parse_size(optarg, 1, 100000, &v) < 0) {
                fprintf(stderr, "portierd: --max-clients needs a number 1..100000\n");
                return 2;
            }
            so.max_clients = (size_t)v;
            so.max_per_uid = v / 4 > 64 ? (size_t)(v / 4) : (v < 64 ? (size_t)v : 64);
            break;
        case OPT_QUEUE:
            if (parse_size(optarg, 65536, 1ULL << 32, &v) < 0) {
                fprintf(stderr, "portierd: --client-queue needs a number of bytes 65536..4294967296\n");
                return 2;
            }
            so.queue_limit = (size_t)v;
            break;
        case OPT_STALL:
            if (parse_size(optarg, 1, 86400, &v) < 0) {
                fprintf(stderr, "portierd: --stall-timeout needs a number of seconds 1..86400\n");
                return 2;
            }
            so.stall_timeout_ms = (unsigned)v * 1000;
            break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("portierd %s\n", PORTIER_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || !config) {
        fprintf(stderr, optind < argc ? "portierd: unexpected argument '%s'\n" : "portierd: -c FILE is required\n",
                optind < argc ? argv[optind] : "");
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    umask(0077); /* the journal, the audit and the state are the daemon's alone (the socket is opened up itself) */

    static struct daemon dd;
    struct daemon *d = &dd;
    if (!realpath(config, d->config_path)) {
        logmsg(3, "%s: %s", config, strerror(errno));
        return 1;
    }
    if (!realpath(state_dir, d->state_dir)) {
        if (durable_mkdirs(state_dir, 0700) != 0 || !realpath(state_dir, d->state_dir)) {
            logmsg(3, "state directory %s: %s", state_dir, strerror(errno));
            return 1;
        }
    }
    char err[1024];
    int lock_fd = lock_state_dir(d->state_dir, err, sizeof err);
    if (lock_fd < 0) {
        logmsg(3, "%s", err);
        return 1;
    }
    struct site *site = load_config(d->config_path, err, sizeof err);
    if (!site) {
        logmsg(3, "the configuration is not valid; nothing started: %s", err);
        return 1;
    }
    /* Driver state files (door holds, the pre-emergency state) belong in the state directory, not a user's home. */
    if (statedir_override(d->state_dir, err, sizeof err) < 0) {
        logmsg(3, "state directory: %s", err);
        return 1;
    }
    if (site->journal.path[0])
        snprintf(d->journal_path, sizeof d->journal_path, "%s", site->journal.path);
    else
        snprintf(d->journal_path, sizeof d->journal_path, "%.*s/journal.db", PATH_MAX - 16, d->state_dir);
    snprintf(d->socket_path, sizeof d->socket_path, "%s",
             socket_opt ? socket_opt : site->daemon.socket[0] ? site->daemon.socket : DEFAULT_SOCKET);

    int status = 1;
    d->loop = loop_new();
    d->started_mono_us = loop_mono_us();
    d->site = site;
    if (!d->loop) {
        logmsg(3, "cannot create the event loop");
        goto out;
    }
    /* keep_trying: without a usable journal the daemon still owns the doors (what it cannot store waits in
     * memory and is retried; a damaged file is moved aside). */
    struct journal_opts jo = { .path = d->journal_path, .retention_days = site->journal.retention_days,
                               .retention_rows = site->journal.retention_rows, .keep_trying = true,
                               .queue_events = site->journal.queue_events, .loop = d->loop,
                               .busy = journal_busy, .busy_arg = d };
    d->journal = journal_open(&jo, err, sizeof err);
    if (!d->journal) {
        logmsg(3, "journal %s", err);
        goto out;
    }
    audit_sink_choose();
    journal_set_audit_copy(d->journal, audit_copy, d);
    d->em = emergency_new(d);
    if (!d->em || host_site(d, site, err, sizeof err) < 0) {
        logmsg(3, "%s", d->em ? err : "out of memory");
        goto out;
    }
    site->reload = reload_hook;
    site->reload_arg = d;
    loop_timer_init(&reload_timer, apply_reload, d);

    so.path = d->socket_path;
    if (site->daemon.group[0]) {
        struct group gr, *gres = NULL;
        char gbuf[8192];
        if (getgrnam_r(site->daemon.group, &gr, gbuf, sizeof gbuf, &gres) != 0 || !gres) {
            logmsg(3, "daemon group \"%s\" does not exist (create it, or change daemon.group)", site->daemon.group);
            goto out_devices;
        }
        so.group = gres->gr_gid;
    }
    struct server_handlers h = dispatch_handlers;
    h.arg = d;
    d->srv = server_new(d->loop, &so, &h, err, sizeof err);
    if (!d->srv) {
        logmsg(3, "%s", err);
        goto out_devices;
    }
    if (dispatch_attach(d) < 0) {
        logmsg(3, "out of memory");
        goto out_devices;
    }
    daemon_mqtt_start(d);
    loop_add_signal(d->loop, SIGTERM, on_signal, d);
    loop_add_signal(d->loop, SIGINT, on_signal, d);
    loop_add_signal(d->loop, SIGHUP, on_signal, d);
    event_publish_text(site_events(d->site), EVENT_SYSTEM, EVENT_NORMAL, "portierd", NULL, "portierd started",
                       "portierd %s started (pid %d): %zu devices, socket %s", PORTIER_VERSION, (int)getpid(),
                       site->n_devices, d->socket_path);
    device_start_all(site);
    int closed = requests_recover(d);
    if (closed > 0)
        logmsg(4, "%d action%s of an earlier run ended without a result (audited as interrupted)", closed,
               closed == 1 ? "" : "s");
    emergency_resume(d->em);
    logmsg(5, "serving site \"%s\" (%zu devices) on %s; state in %s, journal %s", site->name, site->n_devices,
           d->socket_path, d->state_dir, d->journal_path);
    if (sd_watchdog_enabled(0, &watchdog_us) > 0 && watchdog_us > 0) {
        loop_timer_init(&watchdog_timer, watchdog_cb, d);
        loop_timer_arm_us(d->loop, &watchdog_timer, watchdog_us / 2);
    }
    sd_notifyf(0, "READY=1\nSTATUS=serving site \"%s\", %zu devices, socket %s\nMAINPID=%d", site->name,
               site->n_devices, d->socket_path, (int)getpid());

    status = loop_run(d->loop) == 0 ? 0 : 1;

    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
    event_publish_text(site_events(d->site), EVENT_SYSTEM, EVENT_NORMAL, "portierd", NULL, "portierd stopped",
                       "portierd stopped (doors left as they are)");
    event_bus_flush(site_events(d->site));
out_devices:
    daemon_mqtt_stop(d);
    if (d->srv)
        dispatch_detach(d);
    server_free(d->srv, "portierd stopping");
    d->srv = NULL;
    unhost_site(d, d->site);
out:
    requests_free_all(d);
    emergency_free(d->em);
    loop_timer_disarm(d->loop, &reload_timer);
    site_free(pending_site);
    if (d->journal)
        journal_close(d->journal);
    d->site->journal_db = NULL;
    site_free(d->site);
    free(d->alarms);
    free(d->dirty_dev);
    free(d->dirty_out);
    if (d->loop)
        loop_free(d->loop);
    close(lock_fd);
    return status;
}
