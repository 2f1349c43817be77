#include "sim/nix1sim_ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/xport.h"
#include "drivers/nix1/nix1_rc.h"
#include "sim/nix1sim_access.h"

#define CTL_LINE_MAX 1024
#define CTL_MAX_ARGS 16

struct ctl_client {
    int fd;
    bool is_stdin;
    char buf[CTL_LINE_MAX + 1];
    size_t len;
    bool overflow;
    struct nix1sim_ctl *ctl;
};

struct nix1sim_ctl {
    struct nix1sim *sim;
    int lfd;
    char *path;
    struct ctl_client **clients;
    size_t nclients;
};

/* ---- tokenizer: words and key=value, values may be "quoted" (\" and \\ escapes) ---- */

struct arg {
    char *key; /* NULL for a bare word */
    char *val;
};

static int tokenize(char *s, struct arg *args, size_t max)
{
    size_t n = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        if (n == max)
            return -1;
        char *start = s, *w = s, *eq = NULL;
        bool quoted = false;
        while (*s && (quoted || (*s != ' ' && *s != '\t'))) {
            if (*s == '"') {
                quoted = !quoted;
                s++;
                continue;
            }
            if (quoted && *s == '\\' && (s[1] == '"' || s[1] == '\\'))
                s++;
            if (!quoted && *s == '=' && !eq) {
                *w++ = '\0';
                eq = w;
                s++;
                continue;
            }
            *w++ = *s++;
        }
        if (quoted)
            return -1;
        bool end = *s == '\0';
        *w = '\0';
        if (!end)
            s++;
        args[n].key = eq ? start : NULL;
        args[n].val = eq ? eq : start;
        n++;
        if (end)
            break;
    }
    return (int)n;
}

static const char *get(struct arg *a, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (a[i].key && strcmp(a[i].key, key) == 0)
            return a[i].val;
    return NULL;
}

static bool bool_arg(const char *v, bool *out)
{
    if (strcmp(v, "1") == 0 || strcasecmp(v, "on") == 0 || strcasecmp(v, "yes") == 0 || strcasecmp(v, "in") == 0) {
        *out = true;
        return true;
    }
    if (strcmp(v, "0") == 0 || strcasecmp(v, "off") == 0 || strcasecmp(v, "no") == 0 || strcasecmp(v, "out") == 0) {
        *out = false;
        return true;
    }
    return false;
}

static bool u64_arg(const char *v, uint64_t max, uint64_t *out)
{
    return v && nix1_parse_uint(v, strlen(v), max, out);
}

/* The bare word after the command (e.g. "out" in "card slave=X out"), or the value of key. */
static const char *word_or(struct arg *a, int n, const char *key)
{
    const char *v = get(a, n, key);
    if (v)
        return v;
    for (int i = 1; i < n; i++)
        if (!a[i].key)
            return a[i].val;
    return NULL;
}

/* ---- commands ---- */

static size_t door_state(struct nix1sim_slave *s, char *out, size_t cap)
{
    char tz[6];
    size_t o = 0;
    o += (size_t)snprintf(out + o, cap - o,
                          "%s mode=%u enable=%d units=%d,%d locks=%d,%d cron_mode=%u window=%d door1=%s door2=%s "
                          "status=%02X card=%s muted=%d clock=%lld tz=%s baud=%u",
                          s->id, nix1_config_mode(&s->cfg), s->cfg.enable, nix1sim_slave_unit(s, 1),
                          nix1sim_slave_unit(s, 2), s->cfg.lock[0], s->cfg.lock[1], s->cfg.cron_mode,
                          nix1sim_access_window(s), nix1sim_access_unlocked(s, 1) ? "unlocked" : "locked",
                          nix1sim_access_unlocked(s, 2) ? "unlocked" : "locked", s->status,
                          s->store.card_in ? "in" : "out", s->muted, (long long)nix1sim_slave_time(s),
                          nix1_format_tz(s->cfg.timezone, tz), s->cfg.baudrate);
    return o < cap ? o : cap - 1;
}

#define ERR(...) do { snprintf(out, cap, "error " __VA_ARGS__); return; } while (0)

static void cmd_present(struct nix1sim *sim, struct arg *a, int n, char *out, size_t cap)
{
    struct nix1sim_slave *s = nix1sim_find(sim, get(a, n, "slave") ? get(a, n, "slave") : "");
    if (!s)
        ERR("present: unknown slave (slave=ADDR|INDEX)");
    uint64_t probe = 1, v;
    if (get(a, n, "probe") && !u64_arg(get(a, n, "probe"), 2, &probe))
        ERR("present: probe must be 1 or 2");
    if (probe < 1)
        ERR("present: probe must be 1 or 2");
    const char *uid = get(a, n, "uid");
    if (!uid || !*uid || strchr(uid, '\t') || strlen(uid) > NIX1_UID_MAX)
        ERR("present: uid=\"...\" required (1-%d chars, no TAB)", NIX1_UID_MAX);
    struct nix1sim_ibutton b;
    nix1sim_ibutton_init(&b, uid);
    const char *p;
    if ((p = get(a, n, "rom"))) {
        if (nix1_addr_parse_str(p, &b.rom) != 0)
            ERR("present: rom must be 16 hex digits");
        b.has_rom = true;
    }
    if ((p = get(a, n, "key_ts"))) {
        if (!u64_arg(p, 9999999999ull, &b.key_ts))
            ERR("present: key_ts must be a timestamp");
        b.has_key_ts = true;
    }
    if ((p = get(a, n, "inc"))) {
        if (!u64_arg(p, 99, &v))
            ERR("present: inc must be 0-99");
        b.inc = (unsigned)v;
        b.has_inc = true;
    }
    if ((p = get(a, n, "hash"))) {
        if (strlen(p) != NIX1_HASH_HEX_LEN)
            ERR("present: hash must be 32 hex digits");
        memcpy(b.hash, p, sizeof b.hash);
        b.has_hash = true;
    }
    if ((p = get(a, n, "valid")) && !bool_arg(p, &b.valid))
        ERR("present: valid=1|0");
    if ((p = get(a, n, "readable")) && !bool_arg(p, &b.readable))
        ERR("present: readable=1|0");
    if ((p = get(a, n, "od")) && !bool_arg(p, &b.od))
        ERR("present: od=1|0");
    if (!nix1sim_slave_listening(s))
        ERR("present: slave %s is not running (muted or restarting)", s->id);
    struct nix1sim_decision d;
    nix1sim_access_present(s, (unsigned)probe, &b, &d);
    if (d.outcome == NIX1SIM_IGNORED_DISABLED) {
        snprintf(out, cap, "ok ignored reason=disabled");
    } else if (d.outcome == NIX1SIM_IGNORED_TIMEOUT) {
        snprintf(out, cap, "ok ignored reason=bad-access-timeout");
    } else if (d.rc == 0) {
        snprintf(out, cap, "ok granted rc=00 key_ts=%llu hash=%s door=%s", (unsigned long long)d.new_key_ts,
                 d.new_hash, nix1sim_access_unlocked(s, (unsigned)probe) ? "unlocked" : "locked");
    } else {
        snprintf(out, cap, "ok refused rc=%02X name=%s log=%s", d.rc, nix1_rc_log_name(d.rc),
                 d.activity ? "ACTIVITY" : "ACCESS");
    }
    if (sim->verbose)
        fprintf(stderr, "nix1 %s probe %u: %s uid=%s\n", s->id, (unsigned)probe, out, uid);
}

void nix1sim_ctl_exec(struct nix1sim *sim, const char *line, char *out, size_t cap)
{
    char buf[CTL_LINE_MAX + 1];
    snprintf(buf, sizeof buf, "%s", line);
    struct arg a[CTL_MAX_ARGS];
    int n = tokenize(buf, a, CTL_MAX_ARGS);
    if (n < 0)
        ERR("syntax: too many words or an unclosed quote");
    if (n == 0 || a[0].key)
        ERR("syntax: COMMAND [key=value...] (try: help)");
    const char *cmd = a[0].val;
    if (strcmp(cmd, "help") == 0) {
        snprintf(out, cap, "ok commands: present slave= probe= uid= [rom= key_ts= inc= hash= valid= readable= od=] | "
                           "card slave= in|out | mute slave= on|off [after=N] | garble slave= [after=N] | reboot slave= | "
                           "unplug on|off | "
                           "add-unconfigured ADDR | clock slave= ts= | flash-fail slave= on|off | status [slave=] | quit");
        return;
    }
    if (strcmp(cmd, "quit") == 0) {
        loop_stop(sim->loop);
        snprintf(out, cap, "ok bye");
        return;
    }
    if (strcmp(cmd, "present") == 0) {
        cmd_present(sim, a, n, out, cap);
        return;
    }
    if (strcmp(cmd, "add-unconfigured") == 0) {
        const char *ad = word_or(a, n, "addr");
        nix1_addr_t addr;
        if (!ad || nix1_addr_parse_str(ad, &addr) != 0)
            ERR("add-unconfigured: ADDR must be 16 hex digits");
        char id[NIX1_ADDR_LEN + 1];
        if (nix1sim_find(sim, nix1_addr_format(&addr, id)))
            ERR("add-unconfigured: %s is already on the bus", id);
        struct nix1sim_slave *s = nix1sim_add_slave(sim, &addr, true);
        if (!s)
            ERR("add-unconfigured: cannot create %s: %s", id, strerror(errno));
        snprintf(out, cap, "ok added %s unconfigured", s->id);
        return;
    }
    if (strcmp(cmd, "unplug") == 0) {
        const char *w = word_or(a, n, "state");
        bool out_ = true;
        if (w && !bool_arg(w, &out_))
            ERR("unplug: on|off (on: the port goes away; off: it comes back)");
        if (nix1sim_bus_unplug(sim->bus, out_) < 0)
            ERR("unplug: %s", strerror(errno));
        snprintf(out, cap, "ok port %s %s", out_ ? "gone" : "back on", nix1sim_bus_where(sim->bus));
        return;
    }
    if (strcmp(cmd, "status") == 0) {
        const char *key = get(a, n, "slave");
        size_t o = 0;
        o += (size_t)snprintf(out + o, cap - o, "ok");
        for (size_t i = 0; i < sim->nslaves && o < cap - 1; i++) {
            struct nix1sim_slave *s = sim->slaves[i];
            if (key && s != nix1sim_find(sim, key))
                continue;
            o += (size_t)snprintf(out + o, cap - o, "%s", o > 2 ? "; " : " ");
            if (o < cap - 1)
                o += door_state(s, out + o, cap - o);
        }
        if (key && o == 2)
            ERR("status: unknown slave %s", key);
        return;
    }
    /* Everything else addresses one slave. */
    const char *key = get(a, n, "slave");
    struct nix1sim_slave *s = key ? nix1sim_find(sim, key) : NULL;
    if (!s)
        ERR("%s: unknown slave (slave=ADDR|INDEX)", cmd);
    bool on;
    if (strcmp(cmd, "card") == 0) {
        const char *w = word_or(a, n, "state");
        if (!w || !bool_arg(w, &on))
            ERR("card: in|out");
        nix1sim_slave_card(s, on);
        snprintf(out, cap, "ok %s card %s", s->id, on ? "in" : "out");
    } else if (strcmp(cmd, "mute") == 0) {
        const char *w = word_or(a, n, "state");
        uint64_t after = 0;
        bool counted = get(a, n, "after") != NULL;
        if (!w || !bool_arg(w, &on) || (counted && (!on || !u64_arg(get(a, n, "after"), 1000000, &after))))
            ERR("mute: on|off, or on after=N (N replies still sent)");
        if (counted) {
            s->mute_at = s->replies_out + after + 1;
            snprintf(out, cap, "ok %s mutes after %llu more replies", s->id, (unsigned long long)after);
        } else {
            s->muted = on;
            s->mute_at = 0;
            snprintf(out, cap, "ok %s %s", s->id, on ? "muted" : "unmuted");
        }
    } else if (strcmp(cmd, "flash-fail") == 0) {
        const char *w = word_or(a, n, "state");
        if (!w || !bool_arg(w, &on))
            ERR("flash-fail: on|off");
        s->flash_fail = on;
        snprintf(out, cap, "ok %s flash-fail %s", s->id, on ? "on" : "off");
    } else if (strcmp(cmd, "garble") == 0) {
        uint64_t after = 0;
        if (get(a, n, "after") && !u64_arg(get(a, n, "after"), 1000000, &after))
            ERR("garble: after=N (N replies sent unharmed first)");
        if (!get(a, n, "after")) {
            s->garble_next = true;
            snprintf(out, cap, "ok %s garbles its next reply", s->id);
        } else {
            size_t i = 0;
            while (i < NIX1SIM_GARBLE_MAX && s->garble_at[i])
                i++;
            if (i == NIX1SIM_GARBLE_MAX)
                ERR("garble: %d garbled replies are already placed", NIX1SIM_GARBLE_MAX);
            s->garble_at[i] = s->replies_out + after + 1;
            snprintf(out, cap, "ok %s garbles the reply after %llu more", s->id, (unsigned long long)after);
        }
    } else if (strcmp(cmd, "reboot") == 0) {
        nix1sim_slave_reboot(s);
        snprintf(out, cap, "ok %s rebooting (silent %u ms)", s->id, NIX1SIM_RESTART_SILENT_MS);
    } else if (strcmp(cmd, "clock") == 0) {
        uint64_t ts;
        if (!u64_arg(get(a, n, "ts"), 9999999999ull, &ts))
            ERR("clock: ts=EPOCH required");
        nix1sim_slave_set_time(s, (int64_t)ts);
        snprintf(out, cap, "ok %s clock %llu", s->id, (unsigned long long)ts);
    } else {
        ERR("unknown command '%s' (try: help)", cmd);
    }
}

#undef ERR

/* ---- transports ---- */

static void client_free(struct nix1sim_ctl *ctl, struct ctl_client *c)
{
    loop_del_fd(ctl->sim->loop, c->fd);
    if (!c->is_stdin)
        close(c->fd);
    for (size_t i = 0; i < ctl->nclients; i++) {
        if (ctl->clients[i] == c) {
            ctl->clients[i] = ctl->clients[--ctl->nclients];
            break;
        }
    }
    free(c);
}

static void client_reply(struct ctl_client *c, const char *msg)
{
    char line[4096 + 2];
    int n = snprintf(line, sizeof line, "%s\n", msg);
    if (n <= 0)
        return;
    int fd = c->is_stdin ? STDOUT_FILENO : c->fd;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    /* Answers are short; a client that does not read them loses them rather than stalling the loop. */
    const char *p = line;
    while (len > 0) {
        ssize_t w = xport_io_write(fd, p, len, false);
        if (w <= 0)
            break;
        p += w;
        len -= (size_t)w;
    }
}

static void client_cb(loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)events;
    struct ctl_client *c = arg;
    struct nix1sim_ctl *ctl = c->ctl;
    char tmp[512];
    ssize_t r = xport_io_read(fd, tmp, sizeof tmp);
    if (r == 0)
        return;
    if (r < 0) {
        client_free(ctl, c);
        return;
    }
    for (ssize_t i = 0; i < r && !loop_stopped(loop); i++) {
        char ch = tmp[i];
        if (ch != '\n') {
            if (c->len < CTL_LINE_MAX)
                c->buf[c->len++] = ch;
            else
                c->overflow = true;
            continue;
        }
        if (c->len > 0 && c->buf[c->len - 1] == '\r')
            c->len--;
        c->buf[c->len] = '\0';
        char answer[4096];
        if (c->overflow)
            snprintf(answer, sizeof answer, "error line too long");
        else
            nix1sim_ctl_exec(ctl->sim, c->buf, answer, sizeof answer);
        c->len = 0;
        c->overflow = false;
        client_reply(c, answer);
    }
}

static struct ctl_client *client_add(struct nix1sim_ctl *ctl, int fd, bool is_stdin)
{
    struct ctl_client *c = calloc(1, sizeof *c);
    void *nv = c ? realloc(ctl->clients, (ctl->nclients + 1) * sizeof *ctl->clients) : NULL;
    if (!c || !nv) {
        free(c);
        return NULL;
    }
    ctl->clients = nv;
    c->fd = fd;
    c->is_stdin = is_stdin;
    c->ctl = ctl;
    if (loop_add_fd(ctl->sim->loop, fd, LOOP_READ, client_cb, c) < 0) {
        free(c);
        return NULL;
    }
    ctl->clients[ctl->nclients++] = c;
    return c;
}

static void accept_cb(loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)events;
    struct nix1sim_ctl *ctl = arg;
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0)
        return;
    if (!client_add(ctl, c, false))
        close(c);
}

struct nix1sim_ctl *nix1sim_ctl_new(struct nix1sim *sim, bool use_stdin, const char *sockpath)
{
    struct nix1sim_ctl *ctl = calloc(1, sizeof *ctl);
    if (!ctl)
        return NULL;
    ctl->sim = sim;
    ctl->lfd = -1;
    if (use_stdin) {
        int fl = fcntl(STDIN_FILENO, F_GETFL);
        if (fl >= 0)
            fcntl(STDIN_FILENO, F_SETFL, fl | O_NONBLOCK);
        client_add(ctl, STDIN_FILENO, true);
    }
    if (sockpath) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(sockpath) >= sizeof sa.sun_path) {
            errno = ENAMETOOLONG;
            nix1sim_ctl_free(ctl);
            return NULL;
        }
        memcpy(sa.sun_path, sockpath, strlen(sockpath) + 1);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        unlink(sockpath);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 8) < 0 ||
            loop_add_fd(sim->loop, fd, LOOP_READ, accept_cb, ctl) < 0) {
            int e = errno;
            if (fd >= 0)
                close(fd);
            nix1sim_ctl_free(ctl);
            errno = e;
            return NULL;
        }
        ctl->lfd = fd;
        ctl->path = strdup(sockpath);
    }
    return ctl;
}

void nix1sim_ctl_free(struct nix1sim_ctl *ctl)
{
    if (!ctl)
        return;
    while (ctl->nclients > 0)
        client_free(ctl, ctl->clients[0]);
    free(ctl->clients);
    if (ctl->lfd >= 0) {
        loop_del_fd(ctl->sim->loop, ctl->lfd);
        close(ctl->lfd);
        if (ctl->path)
            unlink(ctl->path);
    }
    free(ctl->path);
    free(ctl);
}
