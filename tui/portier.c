/* portier: the full-screen operator console. Options, configuration, journal, drivers, then the ui loop. */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/site_config.h"
#include "core/device.h"
#include "core/journal.h"
#include "core/statedir.h"
#include "drivers/drivers.h"
#include "client/remote.h"
#include "tui/client.h"
#include "tui/demo.h"
#include "tui/terminal.h"
#include "tui/ui.h"

/* The driver registry: one line per device family adapter (drivers/<family>). Devices whose family has no
 * adapter stay detached and are shown as down with the reason. */
static const struct device_ops *const *const drivers = drivers_registry;

/* A schema upgrade of a large journal holds the start for a while, once: said before the screen is taken. */
static void journal_busy(void *arg, const char *what)
{
    bool *said = arg;
    if (!*said)
        fprintf(stderr, "portier: %s (once; a large journal takes a while)...\n", what);
    *said = true;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: portier [-c FILE] [--socket PATH | --direct] [--readonly] [--state-dir DIR] [--exit-after N]\n"
            "       portier --demo [--direct] [--readonly] [--exit-after N]\n"
            "       portier --check-config [FILE]\n"
            "  -c, --config FILE     site configuration (default: $XDG_CONFIG_HOME/portier/portier.conf,\n"
            "                        then /etc/portier/portier.conf)\n"
            "      --check-config    validate the configuration, print every problem, exit 0/1/2\n"
            "      --readonly        watch only: the role is forced to guard, nothing changes state\n"
            "      --socket PATH     portierd's socket (default: daemon.socket of a readable configuration, then\n"
            "                        /run/portier/portier.sock): the console is its client when it runs\n"
            "      --direct          own the devices in this process, without portierd\n"
            "      --state-dir DIR   keep door and emergency states (and the default journal) in DIR\n"
            "                        (default: $XDG_STATE_HOME/portier, else ~/.local/state/portier)\n"
            "      --demo            a simulated site (2 C3 panels, 1 NiX1 bus with 3 slaves) in a temp dir,\n"
            "                        owned by a private portierd there whose client the console is\n"
            "                        (with --direct: owned by the console itself)\n"
            "      --exit-after N    quit after N ticks of %d ms (for tests under sanitizers)\n"
            "  -h, --help            this text;  -V, --version  the version\n"
            "Keys: F1 or ? shows every key (generated from the action table). F12 or ! = EMERGENCY.\n",
            UI_TICK_MS);
}

/* The console as a client of portierd at sock: the mirror site instead of devices and a journal. local: a readable
 * configuration for the ui block (freed here), or NULL. may_restart: when the daemon's site changes shape, execute
 * this program again with argv (not for a demo, whose daemon goes with this process). */
/* Quitting: signals the loop took but did not read are dropped before loop_free unblocks them, and SIGHUP is
 * ignored from here on (a closed terminal sends it again when its session leader goes): delivered, either would
 * end the process before its cleanup (the demo's simulators, daemon and directory). */
static void quiet_signals(void)
{
    signal(SIGHUP, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGWINCH);
    const struct timespec now = {0, 0};
    while (sigtimedwait(&set, NULL, &now) > 0)
        ;
}

static int run_client(const char *sock, struct site *local, bool readonly, unsigned long exit_after, char **argv,
                      bool may_restart)
{
    struct console c;
    memset(&c, 0, sizeof c);
    c.readonly = readonly;
    c.exit_after = exit_after;
    char err[512];
    int status = 1;
    c.loop = loop_new();
    if (!c.loop) {
        fprintf(stderr, "portier: cannot create the event loop\n");
        site_free(local);
        return 1;
    }
    if (client_start(&c, sock, err, sizeof err) < 0) {
        fprintf(stderr, "portier: portierd at %s: %s\n(portier --direct owns the devices without it)\n", sock, err);
        site_free(local);
        loop_free(c.loop);
        return 1;
    }
    keymap_defaults(&c.km);
    char bind_warn[256] = "";
    if (local) {
        /* this console's own settings; the site itself is the daemon's */
        c.site->ui.colours = local->ui.colours;
        c.site->ui.bell = local->ui.bell;
        for (size_t i = 0; i < local->ui.n_keys; i++) {
            char e[128];
            if (keymap_bind(&c.km, local->ui.keys[i].action, local->ui.keys[i].key, e, sizeof e) < 0 && !bind_warn[0])
                snprintf(bind_warn, sizeof bind_warn, "key binding %s = %s ignored: %s", local->ui.keys[i].action,
                         local->ui.keys[i].key, e);
        }
        site_free(local);
    }
    if (terminal_start(err, sizeof err) < 0) {
        fprintf(stderr, "portier: %s\n", err);
        goto out;
    }
    const char *ascii = getenv("PORTIER_ASCII");
    theme_init(&c.th, c.site->ui.colours && terminal_want_colour(),
               terminal_utf8() && !(ascii && *ascii && *ascii != '0'));
    if (ui_init(&c) < 0) {
        terminal_stop();
        fprintf(stderr, "portier: out of memory\n");
        goto out;
    }
    if (bind_warn[0])
        console_message(&c, TH_WARN, "%s", bind_warn);
    console_message(&c, TH_INFO, "connected to %s at %s as %s (%s%s)", remote_server(c.remote), sock, c.user.name,
                    role_name(c.user.role), readonly ? ", read-only" : "");
    client_ready(&c);
    status = ui_run(&c);
    client_stop(&c);
    ui_free(&c);
    terminal_stop();
out:
    client_stop(&c);
    quiet_signals();
    loop_free(c.loop);
    if (c.restart && status == 0 && may_restart) {
        /* the daemon's site changed shape: start again on the new one */
        fprintf(stderr, "portier: portierd's configuration changed (devices or doors); starting again\n");
        signal(SIGHUP, SIG_DFL); /* the new console takes it again */
        execv("/proc/self/exe", argv);
        fprintf(stderr, "portier: cannot start again: %s\n", strerror(errno));
        return 1;
    }
    if (c.restart)
        fprintf(stderr, "portier: portierd's configuration changed (devices or doors): start the console again\n");
    return status;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    const char *config = NULL;
    bool check = false, readonly = false, demo = false;
    unsigned long exit_after = 0;
    const char *state_dir = NULL, *socket_opt = NULL;
    bool direct = false, demo_daemon = false;
    enum { OPT_CHECK = 256, OPT_RO, OPT_DEMO, OPT_EXIT, OPT_STATE, OPT_SOCKET, OPT_DIRECT, OPT_DAEMON };
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"check-config", no_argument, NULL, OPT_CHECK},
        {"readonly", no_argument, NULL, OPT_RO},  {"read-only", no_argument, NULL, OPT_RO},
        {"demo", no_argument, NULL, OPT_DEMO},    {"exit-after", required_argument, NULL, OPT_EXIT},
        {"state-dir", required_argument, NULL, OPT_STATE},
        {"socket", required_argument, NULL, OPT_SOCKET}, {"direct", no_argument, NULL, OPT_DIRECT},
        {"daemon", no_argument, NULL, OPT_DAEMON},
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
        switch (o) {
        case 'c': config = optarg; break;
        case OPT_CHECK: check = true; break;
        case OPT_RO: readonly = true; break;
        case OPT_DEMO: demo = true; break;
        case OPT_STATE: state_dir = optarg; break;
        case OPT_SOCKET: socket_opt = optarg; break;
        case OPT_DIRECT: direct = true; break;
        case OPT_DAEMON: demo_daemon = true; break;
        case OPT_EXIT: {
            char *end;
            errno = 0;
            exit_after = strtoul(optarg, &end, 10);
            if (errno || *end || !optarg[0] || exit_after == 0 || exit_after > 100000000UL) {
                fprintf(stderr, "portier: --exit-after needs a number of ticks (1..100000000)\n");
                return 2;
            }
            break;
        }
        case 'h': usage(stdout); return 0;
        case 'V': printf("portier %s\n", PORTIER_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (check) {
        if (optind < argc)
            config = argv[optind++];
        if (optind < argc) {
            usage(stderr);
            return 2;
        }
        return site_config_check(config, stdout, stderr);
    }
    if (optind < argc) {
        fprintf(stderr, "portier: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (socket_opt && direct) {
        fprintf(stderr, "portier: --socket and --direct exclude each other\n");
        return 2;
    }
    /* --daemon: what --demo does anyway (a private portierd), still accepted */
    if (demo_daemon && (!demo || direct)) {
        fprintf(stderr, "portier: --daemon goes with --demo only (a private portierd for the demo, the default)\n");
        return 2;
    }
    if (demo && socket_opt) {
        fprintf(stderr, "portier: --demo runs its own portierd; --socket PATH joins a running one\n");
        return 2;
    }
    char err[512];
    if (state_dir && statedir_override(state_dir, err, sizeof err) < 0) {
        fprintf(stderr, "portier: %s\n", err);
        return 2;
    }
    if (terminal_check(err, sizeof err) < 0) {
        fprintf(stderr, "portier: %s\n", err);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);

    struct demo dm;
    memset(&dm, 0, sizeof dm);
    if (demo) {
        const char *act = getenv("PORTIER_DEMO_ACTIVITY");
        if (demo_start(&dm, act ? (unsigned)strtoul(act, NULL, 10) : 2, err, sizeof err) < 0) {
            fprintf(stderr, "portier: demo: %s\n", err);
            return 1;
        }
        config = dm.config;
        if (!state_dir)
            (void)statedir_override(dm.dir, err, sizeof err); /* the demo's door states stay in its directory */
        if (!direct) {
            char sock[SITE_PATH_MAX];
            if (demo_start_daemon(&dm, sock, sizeof sock, err, sizeof err) < 0) {
                fprintf(stderr, "portier: demo: %s\n", err);
                demo_stop(&dm);
                return 1;
            }
            int st = run_client(sock, NULL, readonly, exit_after, argv, false);
            demo_stop(&dm);
            return st;
        }
    }
    if (!demo && !check) {
        char sock[SITE_PATH_MAX];
        struct site *local = NULL;
        if (client_choose(socket_opt, config, direct, sock, sizeof sock, &local) == 1)
            return run_client(sock, local, readonly, exit_after, argv, true);
    }

    int status = 1;
    char where[2048];
    const char *path = site_config_find(config, where, sizeof where);
    if (!path) {
        fprintf(stderr, "portier: no configuration found (tried %s); try portier --demo\n", where);
        demo_stop(&dm);
        return 2;
    }
    struct config_diags diags;
    memset(&diags, 0, sizeof diags);
    struct site *site = site_config_load(path, &diags);
    if (!site || diags.warnings)
        config_diags_print(&diags, stderr);
    config_diags_free(&diags);
    if (!site) {
        fprintf(stderr, "portier: the configuration is not valid; nothing started\n");
        demo_stop(&dm);
        return 1;
    }

    struct console c;
    memset(&c, 0, sizeof c);
    c.readonly = readonly;
    c.exit_after = exit_after;
    c.site = site;
    c.loop = loop_new();
    if (!c.loop) {
        fprintf(stderr, "portier: cannot create the event loop\n");
        goto out;
    }
    site->loop = c.loop;

    char jpath[SITE_PATH_MAX];
    if (site->journal.path[0])
        snprintf(jpath, sizeof jpath, "%s", site->journal.path);
    else
        journal_default_path(jpath, sizeof jpath);
    bool busy_said = false;
    struct journal_opts jo = {.path = jpath, .retention_days = site->journal.retention_days,
                              .retention_rows = site->journal.retention_rows, .keep_trying = true,
                              .queue_events = site->journal.queue_events, .loop = c.loop,
                              .busy = journal_busy, .busy_arg = &busy_said};
    /* Never fails for the database: without a usable journal the console runs (the emergency key must
     * exist), shows a banner and keeps what it cannot store in memory. */
    c.journal = journal_open(&jo, err, sizeof err);
    if (!c.journal) {
        fprintf(stderr, "portier: journal %s: %s\n", jpath, err);
        goto out;
    }
    site->journal_db = c.journal;
    /* Under a flood, one transaction per loop iteration instead of one sync per event. Batching first: what
     * the journal has to say about its start then waits for the screen's subscription. */
    event_bus_set_batching(site_events(site), c.loop, 512);
    journal_attach(c.journal, site_events(site));

    c.user.role = role_resolve_current(site->roles, site->n_roles, site->default_role, readonly, c.user.name,
                                       sizeof c.user.name);
    keymap_defaults(&c.km);
    char bind_warn[256] = "";
    for (size_t i = 0; i < site->ui.n_keys; i++) {
        char e[128];
        if (keymap_bind(&c.km, site->ui.keys[i].action, site->ui.keys[i].key, e, sizeof e) < 0 && !bind_warn[0])
            snprintf(bind_warn, sizeof bind_warn, "key binding %s = %s ignored: %s", site->ui.keys[i].action,
                     site->ui.keys[i].key, e);
    }

    if (device_attach_all(site, drivers, err, sizeof err) < 0) {
        fprintf(stderr, "portier: %s\n", err);
        goto out;
    }

    if (terminal_start(err, sizeof err) < 0) {
        fprintf(stderr, "portier: %s\n", err);
        goto out_devices;
    }
    const char *ascii = getenv("PORTIER_ASCII");
    theme_init(&c.th, site->ui.colours && terminal_want_colour(), terminal_utf8() && !(ascii && *ascii && *ascii != '0'));
    if (ui_init(&c) < 0) {
        terminal_stop();
        fprintf(stderr, "portier: out of memory\n");
        goto out_devices;
    }
    if (bind_warn[0])
        console_message(&c, TH_WARN, "%s", bind_warn);
    event_publish_text(site_events(site), EVENT_SYSTEM, EVENT_NORMAL, NULL, NULL, "console started",
                       "portier %s started by %s (%s%s)", PORTIER_VERSION, c.user.name, role_name(c.user.role),
                       readonly ? ", read-only" : "");
    device_start_all(site);
    console_recover(&c);

    status = ui_run(&c);

    event_publish_text(site_events(site), EVENT_SYSTEM, EVENT_NORMAL, NULL, NULL, "console stopped",
                       "portier stopped by %s", c.user.name);
    event_bus_flush(site_events(site));
    ui_free(&c);
    terminal_stop();
out_devices:
    device_detach_all(site);
    /* Let drivers finish asynchronous teardown callbacks. */
    for (int i = 0; i < 5; i++)
        loop_run_once(c.loop, 0);
out:
    if (site && site->events)
        event_bus_flush(site_events(site)); /* what the drivers reported while stopping */
    if (c.journal) {
        journal_flush(c.journal);
        struct journal_health h;
        journal_health(c.journal, &h);
        if (h.kept_events || h.kept_audits)
            fprintf(stderr, "portier: the journal %s could not store %zu events and %zu audit rows kept in memory "
                    "(%s): they are lost\n", jpath, h.kept_events, h.kept_audits, h.reason);
        journal_close(c.journal);
    }
    if (site)
        site->journal_db = NULL;
    site_free(site);
    quiet_signals();
    if (c.loop)
        loop_free(c.loop);
    demo_stop(&dm);
    return status;
}
