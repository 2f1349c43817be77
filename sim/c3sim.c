#include "sim/c3sim.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/loop.h"
#include "core/xport.h"
#include "sim/c3sim_net.h"
#include "sim/c3sim_panel.h"

#define LINE_MAX_LEN 1024u
#define CTL_OUT_MAX (64u * 1024u)
#define CTL_CLIENTS_MAX 32u

struct ctl_client {
    struct app *app;
    struct ctl_client *prev, *next;
    int fd;
    char in[LINE_MAX_LEN];
    size_t in_len;
    bool discarding; /* the current line is too long; skip to its end */
    char *out;
    size_t out_len;
    unsigned nr;
};

struct app {
    loop_t *loop;
    struct c3sim_server *srv;
    int ctl_fd;
    const char *ctl_path;
    struct ctl_client *clients;
    unsigned nclients;
    char in[LINE_MAX_LEN];
    size_t in_len;
    bool discarding;
};

/* ---- commands ---- */

#define MAX_TOKENS 16

struct args {
    char *tok[MAX_TOKENS];
    int n;
};

static const char *arg_get(const struct args *a, const char *key)
{
    size_t kl = strlen(key);
    for (int i = 1; i < a->n; i++)
        if (strncmp(a->tok[i], key, kl) == 0 && a->tok[i][kl] == '=')
            return a->tok[i] + kl + 1;
    return NULL;
}

static bool parse_u32(const char *s, uint32_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* key=N (required or optional with dflt); returns false with a message when malformed or missing. */
static bool arg_u32(const struct args *a, const char *key, bool required, uint32_t dflt, uint32_t *out, char *reply,
                    size_t cap)
{
    const char *v = arg_get(a, key);
    if (!v) {
        if (required) {
            snprintf(reply, cap, "error missing %s=", key);
            return false;
        }
        *out = dflt;
        return true;
    }
    if (!parse_u32(v, out)) {
        snprintf(reply, cap, "error bad %s='%s' (unsigned integer)", key, v);
        return false;
    }
    return true;
}

/* Reject keys a command does not know, so typos are not silently ignored. */
static bool args_only(const struct args *a, const char *const *keys, int first, char *reply, size_t cap)
{
    for (int i = first; i < a->n; i++) {
        const char *eq = strchr(a->tok[i], '=');
        size_t kl = eq ? (size_t)(eq - a->tok[i]) : strlen(a->tok[i]);
        bool ok = false;
        for (int k = 0; keys[k]; k++)
            if (strlen(keys[k]) == kl && strncmp(keys[k], a->tok[i], kl) == 0 && eq)
                ok = true;
        if (!ok) {
            snprintf(reply, cap, "error unexpected argument '%s'", a->tok[i]);
            return false;
        }
    }
    return true;
}

static struct c3sim_panel *arg_panel(struct app *app, const struct args *a, uint32_t *idx, char *reply, size_t cap)
{
    if (!arg_u32(a, "panel", false, 0, idx, reply, cap))
        return NULL;
    struct c3sim_panel *p = c3sim_server_panel(app->srv, *idx);
    if (!p)
        snprintf(reply, cap, "error panel %" PRIu32 " out of range 0-%u", *idx, c3sim_server_panels(app->srv) - 1u);
    return p;
}

static const char help_text[] =
    "ok commands: swipe door=N card=C [pin=P] [granted=0|1] [inout=0|1] | button door=N | open door=N | "
    "close door=N | force door=N | hold door=N | auxin n=N state=open|closed | fault MODE[,MODE] | restart | "
    "burst n=N | cut after=N | activity rate=EVENTS_PER_S | status | quit (each takes [panel=I], 0-based; "
    "activity without panel= sets every panel)";

/* Execute one command line; reply gets one line without newline. Returns true if the process should stop. */
static bool exec_command(struct app *app, char *line, char *reply, size_t cap)
{
    struct args a = { .n = 0 };
    for (char *save = NULL, *t = strtok_r(line, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
        if (a.n == MAX_TOKENS) {
            snprintf(reply, cap, "error too many arguments");
            return false;
        }
        a.tok[a.n++] = t;
    }
    if (a.n == 0) {
        snprintf(reply, cap, "error empty command (try 'help')");
        return false;
    }
    const char *cmd = a.tok[0];
    char err[200] = "";
    uint32_t pi = 0, door = 0;
    struct c3sim_panel *p;

    if (strcmp(cmd, "help") == 0) {
        snprintf(reply, cap, "%s", help_text);
        return false;
    }
    if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0) {
        snprintf(reply, cap, "ok bye");
        return true;
    }
    if (strcmp(cmd, "status") == 0) {
        static const char *const keys[] = { "panel", NULL };
        if (!args_only(&a, keys, 1, reply, cap))
            return false;
        if (arg_get(&a, "panel")) {
            if (!arg_panel(app, &a, &pi, reply, cap))
                return false;
            char buf[1024];
            c3sim_server_status(app->srv, (int)pi, buf, sizeof buf);
            snprintf(reply, cap, "ok %s", buf);
        } else {
            char buf[1024];
            c3sim_server_status(app->srv, -1, buf, sizeof buf);
            snprintf(reply, cap, "ok %s", buf);
        }
        return false;
    }
    if (strcmp(cmd, "fault") == 0) {
        char spec[256] = "";
        size_t o = 0;
        for (int i = 1; i < a.n; i++) {
            if (strncmp(a.tok[i], "panel=", 6) == 0)
                continue;
            int w = snprintf(spec + o, sizeof spec - o, "%s%s", o ? "," : "", a.tok[i]);
            if (w < 0 || (size_t)w >= sizeof spec - o) {
                snprintf(reply, cap, "error fault list too long");
                return false;
            }
            o += (size_t)w;
        }
        struct c3sim_faults f;
        if (c3sim_faults_parse(spec, &f, err, sizeof err) < 0) {
            snprintf(reply, cap, "error %s", err);
            return false;
        }
        int target = -1;
        if (arg_get(&a, "panel")) {
            if (!arg_panel(app, &a, &pi, reply, cap))
                return false;
            target = (int)pi;
        }
        c3sim_server_set_faults(app->srv, target, &f);
        char buf[128];
        c3sim_faults_format(&f, buf, sizeof buf);
        if (target < 0)
            snprintf(reply, cap, "ok fault %s panels=all", buf);
        else
            snprintf(reply, cap, "ok fault %s panel=%d", buf, target);
        return false;
    }
    if (strcmp(cmd, "restart") == 0) {
        static const char *const keys[] = { "panel", NULL };
        if (!args_only(&a, keys, 1, reply, cap) || !(p = arg_panel(app, &a, &pi, reply, cap)))
            return false;
        c3sim_server_restart(app->srv, pi);
        snprintf(reply, cap, "ok restart panel=%" PRIu32, pi);
        return false;
    }
    if (strcmp(cmd, "activity") == 0) {
        static const char *const keys[] = { "panel", "rate", NULL };
        const char *r = arg_get(&a, "rate");
        char *end = NULL;
        double rate = r ? strtod(r, &end) : -1.0;
        if (!args_only(&a, keys, 1, reply, cap))
            return false;
        if (!r || end == r || *end || !(rate >= 0.0) || rate > 10000.0) {
            snprintf(reply, cap, "error rate=EVENTS_PER_S required (0..10000)");
            return false;
        }
        bool one = arg_get(&a, "panel") != NULL;
        if (one && !(p = arg_panel(app, &a, &pi, reply, cap)))
            return false;
        for (unsigned i = 0; i < c3sim_server_panels(app->srv); i++)
            if (!one || i == pi)
                c3sim_panel_set_activity(c3sim_server_panel(app->srv, i), rate);
        snprintf(reply, cap, "ok activity rate=%g panels=%s", rate, one ? "one" : "all");
        return false;
    }
    if (strcmp(cmd, "burst") == 0 || strcmp(cmd, "cut") == 0) {
        bool burst = cmd[0] == 'b';
        static const char *const bkeys[] = { "panel", "n", NULL };
        static const char *const ckeys[] = { "panel", "after", NULL };
        uint32_t n;
        if (!args_only(&a, burst ? bkeys : ckeys, 1, reply, cap) || !(p = arg_panel(app, &a, &pi, reply, cap)) ||
            !arg_u32(&a, burst ? "n" : "after", true, 0, &n, reply, cap))
            return false;
        if (!burst) {
            c3sim_server_cut(app->srv, pi, (long)n);
            snprintf(reply, cap, "ok cut panel=%" PRIu32 " after=%" PRIu32, pi, n);
            return false;
        }
        if (n > 1000000u) {
            snprintf(reply, cap, "error n=%" PRIu32 " too large (at most 1000000)", n);
            return false;
        }
        if (c3sim_panel_burst(p, n, err, sizeof err) < 0) {
            snprintf(reply, cap, "error %s", err);
            return false;
        }
        snprintf(reply, cap, "ok burst panel=%" PRIu32 " n=%" PRIu32 " index=%" PRIu32, pi, n,
                 c3sim_tables_next_index(&p->tables) - 1u);
        return false;
    }
    if (strcmp(cmd, "auxin") == 0) {
        static const char *const keys[] = { "panel", "n", "state", NULL };
        uint32_t n;
        if (!args_only(&a, keys, 1, reply, cap) || !(p = arg_panel(app, &a, &pi, reply, cap)) ||
            !arg_u32(&a, "n", true, 0, &n, reply, cap))
            return false;
        const char *st = arg_get(&a, "state");
        if (!st || (strcmp(st, "open") != 0 && strcmp(st, "closed") != 0)) {
            snprintf(reply, cap, "error state=open|closed required");
            return false;
        }
        if (c3sim_panel_auxin(p, n > 255 ? 0 : (int)n, strcmp(st, "open") == 0, err, sizeof err) < 0) {
            snprintf(reply, cap, "error %s", err);
            return false;
        }
        snprintf(reply, cap, "ok auxin panel=%" PRIu32 " n=%" PRIu32 " state=%s", pi, n, st);
        return false;
    }

    /* Door commands. */
    static const char *const door_cmds[] = { "swipe", "button", "open", "close", "force", "hold", NULL };
    bool known = false;
    for (int i = 0; door_cmds[i]; i++)
        known |= strcmp(cmd, door_cmds[i]) == 0;
    if (!known) {
        snprintf(reply, cap, "error unknown command '%s' (try 'help')", cmd);
        return false;
    }
    static const char *const swipe_keys[] = { "panel", "door", "card", "pin", "granted", "inout", NULL };
    static const char *const door_keys[] = { "panel", "door", NULL };
    bool swipe = strcmp(cmd, "swipe") == 0;
    if (!args_only(&a, swipe ? swipe_keys : door_keys, 1, reply, cap) ||
        !(p = arg_panel(app, &a, &pi, reply, cap)) || !arg_u32(&a, "door", true, 0, &door, reply, cap))
        return false;
    int d = door > 255 ? 0 : (int)door;
    int rc;
    if (swipe) {
        uint32_t card, pin, granted, inout;
        if (!arg_u32(&a, "card", true, 0, &card, reply, cap) || !arg_u32(&a, "pin", false, 0, &pin, reply, cap) ||
            !arg_u32(&a, "granted", false, 2, &granted, reply, cap) ||
            !arg_u32(&a, "inout", false, 0, &inout, reply, cap))
            return false;
        if (granted > 2 || inout > 2) {
            snprintf(reply, cap, "error granted=0|1, inout=0|1|2");
            return false;
        }
        rc = c3sim_panel_swipe(p, d, card, pin, granted == 2 ? -1 : (int)granted, (int)inout, err, sizeof err);
    } else if (strcmp(cmd, "button") == 0) {
        rc = c3sim_panel_button(p, d, err, sizeof err);
    } else if (strcmp(cmd, "open") == 0) {
        rc = c3sim_panel_sensor(p, d, true, err, sizeof err);
    } else if (strcmp(cmd, "close") == 0) {
        rc = c3sim_panel_sensor(p, d, false, err, sizeof err);
    } else if (strcmp(cmd, "force") == 0) {
        rc = c3sim_panel_force(p, d, err, sizeof err);
    } else {
        rc = c3sim_panel_hold(p, d, err, sizeof err);
    }
    if (rc < 0) {
        snprintf(reply, cap, "error %s", err);
        return false;
    }
    snprintf(reply, cap, "ok %s panel=%" PRIu32 " door=%d ring=%u", cmd, pi, d, p->ring_count);
    return false;
}

/* ---- stdin ---- */

static void run_line(struct app *app, char *line, struct ctl_client *to);

/* Collect bytes into lines and run each complete one; an over-long line gets one error answer. */
static void feed_lines(struct app *app, char *buf, size_t *len, bool *discarding, const char *data, size_t n,
                       struct ctl_client *to)
{
    for (size_t i = 0; i < n; i++) {
        char ch = data[i];
        if (ch == '\n') {
            if (!*discarding) {
                buf[*len] = '\0';
                run_line(app, buf, to);
                if (to && to->fd < 0)
                    return;
            }
            *len = 0;
            *discarding = false;
            continue;
        }
        if (*discarding)
            continue;
        if (*len + 1 >= LINE_MAX_LEN) {
            *discarding = true;
            char msg[] = "\x01toolong";
            run_line(app, msg, to);
            if (to && to->fd < 0)
                return;
            continue;
        }
        buf[(*len)++] = ch;
    }
}

static void ctl_client_close(struct ctl_client *c);
static void ctl_client_write(struct ctl_client *c, const char *s, size_t n);

static void run_line(struct app *app, char *line, struct ctl_client *to)
{
    char reply[1400];
    bool stop = false;
    if (line[0] == '\x01')
        snprintf(reply, sizeof reply, "error line longer than %u bytes", LINE_MAX_LEN - 1u);
    else
        stop = exec_command(app, line, reply, sizeof reply);
    size_t n = strlen(reply);
    reply[n++] = '\n';
    if (to) {
        ctl_client_write(to, reply, n);
    } else {
        fwrite(reply, 1, n, stdout);
        fflush(stdout);
    }
    if (stop)
        loop_stop(app->loop);
}

static void stdin_cb(loop_t *loop, int fd, unsigned events, void *arg)
{
    struct app *app = arg;
    char buf[1024];
    ssize_t r = xport_io_read(fd, buf, sizeof buf); /* poll said readable: one read does not block */
    if (r == 0)
        return;
    if (r < 0) {
        loop_del_fd(loop, fd); /* EOF (e.g. /dev/null): keep running, just stop reading */
        return;
    }
    feed_lines(app, app->in, &app->in_len, &app->discarding, buf, (size_t)r, NULL);
}

/* ---- control socket ---- */

static void ctl_client_close(struct ctl_client *c)
{
    struct app *app = c->app;
    if (c->fd >= 0) {
        loop_del_fd(app->loop, c->fd);
        close(c->fd);
        c->fd = -1;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        app->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    app->nclients--;
}

static void ctl_client_flush(struct ctl_client *c)
{
    while (c->out_len > 0) {
        ssize_t w = xport_io_write(c->fd, c->out, c->out_len, true);
        if (w == 0)
            break;
        if (w < 0) {
            c->out_len = 0;
            return;
        }
        memmove(c->out, c->out + w, c->out_len - (size_t)w);
        c->out_len -= (size_t)w;
    }
    loop_mod_fd(c->app->loop, c->fd, LOOP_READ | (c->out_len ? LOOP_WRITE : 0u));
}

static void ctl_client_write(struct ctl_client *c, const char *s, size_t n)
{
    if (c->fd < 0)
        return;
    if (c->out_len + n > CTL_OUT_MAX) { /* a client that does not read its answers is dropped */
        ctl_client_close(c);
        return;
    }
    memcpy(c->out + c->out_len, s, n);
    c->out_len += n;
    ctl_client_flush(c);
}

static void ctl_client_cb(loop_t *loop, int fd, unsigned events, void *arg)
{
    struct ctl_client *c = arg;
    if (events & LOOP_WRITE)
        ctl_client_flush(c);
    if (!(events & (LOOP_READ | LOOP_ERROR)))
        return;
    char buf[1024];
    ssize_t r = xport_io_read(fd, buf, sizeof buf);
    if (r == 0)
        return;
    if (r < 0) {
        ctl_client_close(c);
        free(c->out);
        free(c);
        return;
    }
    feed_lines(c->app, c->in, &c->in_len, &c->discarding, buf, (size_t)r, c);
    if (c->fd < 0) {
        free(c->out);
        free(c);
    }
}

static void ctl_accept_cb(loop_t *loop, int fd, unsigned events, void *arg)
{
    struct app *app = arg;
    int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0)
        return;
    struct ctl_client *c = calloc(1, sizeof *c);
    char *out = malloc(CTL_OUT_MAX);
    if (!c || !out || app->nclients >= CTL_CLIENTS_MAX || loop_add_fd(loop, cfd, LOOP_READ, ctl_client_cb, c) < 0) {
        free(c);
        free(out);
        close(cfd);
        return;
    }
    c->app = app;
    c->fd = cfd;
    c->out = out;
    c->next = app->clients;
    if (app->clients)
        app->clients->prev = c;
    app->clients = c;
    app->nclients++;
}

static int ctl_listen(struct app *app, const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof a.sun_path) {
        fprintf(stderr, "portier-sim c3: --control path too long\n");
        return -1;
    }
    strcpy(a.sun_path, path);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            fprintf(stderr, "portier-sim c3: %s exists and is not a socket\n", path);
            return -1;
        }
        unlink(path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 8) < 0 ||
        loop_add_fd(app->loop, fd, LOOP_READ, ctl_accept_cb, app) < 0) {
        fprintf(stderr, "portier-sim c3: control socket %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    app->ctl_fd = fd;
    app->ctl_path = path;
    return 0;
}

/* ---- main ---- */

static void on_signal(loop_t *loop, int signo, void *arg) { loop_stop(loop); }

static const char usage_text[] =
    "  c3 --port PORT [--panels N] [--model c3-100|c3-200|c3-400] [--dialect session|sessionless|kv]\n"
    "     [--password PW] [--seed S] [--activity EVENTS_PER_S] [--control SOCKET] [--fault MODE[,MODE]]\n"
    "     [--firmware STR] [--clock-offset SECONDS] [--device-id N] [--restart-ms MS]\n"
    "     [--transactions ROWS] [--discovery-port UDP_PORT] [--named-users]\n"
    "     C3 panels on 127.0.0.1:PORT..PORT+N-1 (PORT 0 with one panel: a free port, named in the\n"
    "     'listening on' line); commands on stdin and SOCKET (try 'help').\n"
    "     --named-users: the user table holds the activity's cards, named, with doors (for demos).\n"
    "     Faults: delay=MS rate=KBPS refuse=CODE split badcrc badseq garbage drop mute none";

static bool opt_num(const char *name, const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "portier-sim c3: bad %s '%s' (%lld..%lld)\n", name, s, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

static void raise_fd_limit(unsigned panels)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    rlim_t want = (rlim_t)panels * 4u + 64u;
    if (rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

static int c3sim_main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "port", required_argument, NULL, 'p' },      { "panels", required_argument, NULL, 'n' },
        { "model", required_argument, NULL, 'm' },     { "dialect", required_argument, NULL, 'd' },
        { "password", required_argument, NULL, 'P' },  { "seed", required_argument, NULL, 's' },
        { "activity", required_argument, NULL, 'a' },  { "control", required_argument, NULL, 'c' },
        { "fault", required_argument, NULL, 'f' },     { "firmware", required_argument, NULL, 'F' },
        { "clock-offset", required_argument, NULL, 'o' }, { "device-id", required_argument, NULL, 'i' },
        { "restart-ms", required_argument, NULL, 'r' }, { "help", no_argument, NULL, 'h' },
        { "transactions", required_argument, NULL, 'T' }, { "discovery-port", required_argument, NULL, 'D' },
        { "named-users", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    struct c3sim_server_cfg cfg = {
        .panels = 1,
        .restart_ms = 3000,
        .panel = { .model = c3sim_model_find("C3-400"), .dialect = C3SIM_DIALECT_SESSION, .password = "",
                   .seed = 1, .device_id = 1 },
    };
    const char *control = NULL;
    long long v;
    bool have_port = false;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            if (!opt_num("--port", optarg, 0, 65535, &v))
                return 2;
            cfg.port = (uint16_t)v;
            have_port = true;
            break;
        case 'n':
            if (!opt_num("--panels", optarg, 1, 10000, &v))
                return 2;
            cfg.panels = (unsigned)v;
            break;
        case 'm':
            cfg.panel.model = c3sim_model_find(optarg);
            if (!cfg.panel.model) {
                fprintf(stderr, "portier-sim c3: unknown model '%s' (c3-100, c3-200, c3-400)\n", optarg);
                return 2;
            }
            break;
        case 'd':
            if (strcmp(optarg, "session") == 0)
                cfg.panel.dialect = C3SIM_DIALECT_SESSION;
            else if (strcmp(optarg, "sessionless") == 0)
                cfg.panel.dialect = C3SIM_DIALECT_SESSIONLESS;
            else if (strcmp(optarg, "kv") == 0)
                cfg.panel.dialect = C3SIM_DIALECT_KV;
            else {
                fprintf(stderr, "portier-sim c3: unknown dialect '%s' (session, sessionless, kv)\n", optarg);
                return 2;
            }
            break;
        case 'P':
            if (strlen(optarg) > 15 || strchr(optarg, ',')) {
                fprintf(stderr, "portier-sim c3: --password: at most 15 characters, no commas\n");
                return 2;
            }
            cfg.panel.password = optarg;
            break;
        case 's': {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(optarg, &end, 0);
            if (errno || end == optarg || *end) {
                fprintf(stderr, "portier-sim c3: bad --seed '%s'\n", optarg);
                return 2;
            }
            cfg.panel.seed = s;
            break;
        }
        case 'a': {
            char *end;
            errno = 0;
            double r = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(r >= 0.0) || r > 10000.0) {
                fprintf(stderr, "portier-sim c3: bad --activity '%s' (events per second, 0..10000)\n", optarg);
                return 2;
            }
            cfg.panel.activity = r;
            break;
        }
        case 'c':
            control = optarg;
            break;
        case 'f': {
            char err[200];
            if (c3sim_faults_parse(optarg, &cfg.faults, err, sizeof err) < 0) {
                fprintf(stderr, "portier-sim c3: --fault: %s\n", err);
                return 2;
            }
            break;
        }
        case 'F':
            if (strlen(optarg) > 60 || strchr(optarg, ',')) {
                fprintf(stderr, "portier-sim c3: --firmware: at most 60 characters, no commas\n");
                return 2;
            }
            cfg.panel.firmware = optarg;
            break;
        case 'o':
            if (!opt_num("--clock-offset", optarg, -3000000000LL, 3000000000LL, &v))
                return 2;
            cfg.panel.clock_offset = v;
            break;
        case 'i':
            if (!opt_num("--device-id", optarg, 1, 255, &v))
                return 2;
            cfg.panel.device_id = (uint8_t)v;
            break;
        case 'r':
            if (!opt_num("--restart-ms", optarg, 0, 600000, &v))
                return 2;
            cfg.restart_ms = (unsigned)v;
            break;
        case 'T':
            if (!opt_num("--transactions", optarg, 1, 1000000, &v))
                return 2;
            cfg.panel.transactions = (size_t)v;
            break;
        case 'U':
            cfg.panel.named_users = true;
            break;
        case 'D':
            if (!opt_num("--discovery-port", optarg, 1, 65535, &v))
                return 2;
            cfg.discovery_port = (uint16_t)v;
            break;
        case 'h':
            printf("usage: portier-sim\n%s\n", usage_text);
            return 0;
        default:
            fprintf(stderr, "usage: portier-sim\n%s\n", usage_text);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "portier-sim c3: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!have_port) {
        fprintf(stderr, "portier-sim c3: --port is required\n");
        return 2;
    }
    if (cfg.port == 0 && cfg.panels > 1) {
        fprintf(stderr, "portier-sim c3: --port 0 (a free port) takes one panel; N panels need N ports from PORT\n");
        return 2;
    }
    if ((unsigned)cfg.port + cfg.panels - 1u > 65535u) {
        fprintf(stderr, "portier-sim c3: ports %u..%u exceed 65535\n", cfg.port, cfg.port + cfg.panels - 1u);
        return 2;
    }

    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit(cfg.panels);
    struct app app = { .ctl_fd = -1 };
    app.loop = loop_new();
    if (!app.loop) {
        fprintf(stderr, "portier-sim c3: cannot create the event loop\n");
        return 1;
    }
    int rc = 1;
    char err[256];
    app.srv = c3sim_server_new(app.loop, &cfg, err, sizeof err);
    if (!app.srv) {
        fprintf(stderr, "portier-sim c3: %s\n", err);
        goto out;
    }
    if (control && ctl_listen(&app, control) < 0)
        goto out;
    if (loop_add_signal(app.loop, SIGINT, on_signal, &app) < 0 ||
        loop_add_signal(app.loop, SIGTERM, on_signal, &app) < 0) {
        fprintf(stderr, "portier-sim c3: cannot watch signals\n");
        goto out;
    }
    loop_add_fd(app.loop, STDIN_FILENO, LOOP_READ, stdin_cb, &app);
    printf("portier-sim c3: listening on 127.0.0.1:%u (%u panels)\n", c3sim_server_port(app.srv), cfg.panels);
    fflush(stdout);
    rc = loop_run(app.loop) < 0 ? 1 : 0;
out:
    while (app.clients) {
        struct ctl_client *c = app.clients;
        ctl_client_close(c);
        free(c->out);
        free(c);
    }
    if (app.ctl_fd >= 0) {
        loop_del_fd(app.loop, app.ctl_fd);
        close(app.ctl_fd);
        unlink(app.ctl_path);
    }
    c3sim_server_free(app.srv);
    loop_free(app.loop);
    return rc;
}

const struct sim_kind c3sim_kind = {
    .name = "c3",
    .main = c3sim_main,
    .usage = usage_text,
};
