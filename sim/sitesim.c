/* sitesim: a whole site from its configuration: C3 panel groups and NiX1 buses as child simulators. */
#include "sim/sitesim.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/site_config.h"
#include "core/durable.h"
#include "core/loop.h"
#include "sim/sitesim_cards.h"

#define GROUP_MAX 64u          /* panels per `portier-sim c3` process */
#define C3_ATTEMPTS 3          /* a C3 group that fails to start (e.g. a port taken meanwhile) gets new ports */
#define READY_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS 3000
#define LINE_MAX_LEN 4096

enum child_kind { CHILD_C3, CHILD_NIX1 };

struct sitesim;

/* A line read a chunk at a time: the bytes up to LF (the rest of a longer line dropped). */
struct linebuf {
    char s[LINE_MAX_LEN];
    size_t len;
};

struct child {
    struct sitesim *ss;
    enum child_kind kind;
    char label[160];           /* "panels \"A\", \"B\"" / "bus \"Bus 1\"" for messages */
    pid_t pid;                 /* 0 = not running (never started or reaped) */
    int in_fd, out_fd;         /* its stdin (we write) and stdout (we read) */
    struct linebuf out;        /* its stdout, line by line */
    bool ready;
    int status;                /* wait status once reaped */
    bool reaped;
    unsigned attempts;
    /* C3: panels[first .. first+n) of the site (a group of the same model and password) */
    size_t *panels;
    size_t n_panels;
    unsigned model_doors;
    uint16_t port;             /* first port; panel k listens on port + k */
    /* NiX1 */
    size_t bus;
    bool bus_seen;
    size_t clocks;             /* slave clocks confirmed */
    char where[256];           /* the port the rewritten configuration gets */
};

struct sitesim {
    loop_t *loop;
    struct site *site;
    char self[PATH_MAX];       /* this executable */
    char dir[PATH_MAX];
    bool own_dir;              /* created here: removed on exit */
    uint64_t seed;
    double activity;
    bool quit_on_eof;
    struct child *children;
    size_t n_children;
    bool failed;               /* a child died or could not start */
    bool all_ready;
    struct linebuf in;         /* the control lines on stdin */
    bool stdin_closed;         /* EOF seen: no longer watched */
};

/* ---- small helpers ---- */

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void describe_status(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "stopped (status 0x%x)", (unsigned)status);
}

/* n consecutive free TCP ports on 127.0.0.1: the first comes from the kernel, the others must be free too. */
static int free_ports(unsigned n)
{
    for (int attempt = 0; attempt < 64; attempt++) {
        int fds[GROUP_MAX];
        unsigned got = 0;
        int base = -1;
        bool ok = true;
        for (unsigned i = 0; i < n && ok; i++) {
            int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (s < 0)
                return -1;
            fds[got++] = s;
            struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
            a.sin_port = htons((uint16_t)(i == 0 ? 0 : base + (int)i));
            socklen_t al = sizeof a;
            ok = bind(s, (struct sockaddr *)&a, sizeof a) == 0;
            if (ok && i == 0) {
                ok = getsockname(s, (struct sockaddr *)&a, &al) == 0;
                base = ntohs(a.sin_port);
                ok = ok && (unsigned)base + n - 1u <= 65535u;
            }
        }
        for (unsigned i = 0; i < got; i++)
            close(fds[i]);
        if (ok)
            return base;
    }
    return -1;
}

static const char *c3_model_for(unsigned doors)
{
    return doors <= 1 ? "c3-100" : doors == 2 ? "c3-200" : "c3-400";
}

static int make_dir(const char *path)
{
    return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* ---- children ---- */

static void child_line(struct child *c, const char *line);

/* Takes one byte read into b: the line (NUL-terminated, b emptied for the next one) when it is the LF, else NULL. */
static char *linebuf_take(struct linebuf *b, char ch)
{
    if (ch != '\n') {
        if (b->len < sizeof b->s - 1)
            b->s[b->len++] = ch;
        return NULL;
    }
    b->s[b->len] = '\0';
    b->len = 0;
    return b->s;
}

static void child_out_cb(loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)events;
    struct child *c = arg;
    char buf[1024];
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        /* stdout closed: the process is exiting; SIGCHLD reports it */
        loop_del_fd(c->ss->loop, fd);
        close(fd);
        c->out_fd = -1;
        return;
    }
    for (ssize_t i = 0; i < r; i++) {
        const char *line = linebuf_take(&c->out, buf[i]);
        if (line)
            child_line(c, line);
    }
}

static void child_send(struct child *c, const char *text)
{
    if (c->in_fd < 0)
        return;
    size_t len = strlen(text);
    ssize_t w = write(c->in_fd, text, len);
    if (w != (ssize_t)len)
        fprintf(stderr, "portier-sim site: %s: control command not delivered\n", c->label);
}

static void child_close_fds(struct child *c)
{
    if (c->out_fd >= 0) {
        loop_del_fd(c->ss->loop, c->out_fd);
        close(c->out_fd);
        c->out_fd = -1;
    }
    if (c->in_fd >= 0) {
        close(c->in_fd);
        c->in_fd = -1;
    }
    c->out.len = 0;
}

static int child_spawn(struct child *c)
{
    struct sitesim *ss = c->ss;
    const struct site *site = ss->site;
    char *argv[32 + 2 * 256];
    char port[16], seed[32], activity[32], panels[16], baud[16], busdir[PATH_MAX + 16], link[PATH_MAX + 16];
    size_t n = 0;
    uint64_t s = ss->seed + (uint64_t)(c - ss->children);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)s);
    snprintf(activity, sizeof activity, "%g", ss->activity);
    argv[n++] = ss->self;
    if (c->kind == CHILD_C3) {
        const struct site_panel *p0 = &site->panels[c->panels[0]];
        int base = free_ports((unsigned)c->n_panels);
        if (base < 0) {
            fprintf(stderr, "portier-sim site: no %zu free consecutive ports on 127.0.0.1\n", c->n_panels);
            return -1;
        }
        c->port = (uint16_t)base;
        snprintf(port, sizeof port, "%d", base);
        snprintf(panels, sizeof panels, "%zu", c->n_panels);
        argv[n++] = "c3";
        argv[n++] = "--port";
        argv[n++] = port;
        argv[n++] = "--panels";
        argv[n++] = panels;
        argv[n++] = "--model";
        argv[n++] = (char *)c3_model_for(c->model_doors);
        if (p0->password[0]) {
            argv[n++] = "--password";
            argv[n++] = (char *)p0->password;
        }
    } else {
        const struct site_bus *b = &site->buses[c->bus];
        snprintf(busdir, sizeof busdir, "%s/nix1-%zu", ss->dir, c->bus + 1);
        snprintf(baud, sizeof baud, "%u", b->baud);
        argv[n++] = "nix1";
        argv[n++] = "--dir";
        argv[n++] = busdir;
        argv[n++] = "--baud";
        argv[n++] = baud;
        if (strncmp(b->port, "tcp://", 6) == 0) {
            argv[n++] = "--tcp";
            argv[n++] = "0";
        } else {
            /* The pseudo-terminal by a path in the site's directory that goes with the bus: a client left running
             * after the simulator finds nothing there, never another simulator's pty under a reused number. */
            snprintf(link, sizeof link, "%s/nix1-%zu.tty", ss->dir, c->bus + 1);
            argv[n++] = "--link";
            argv[n++] = link;
        }
        for (size_t k = 0; k < b->n_slaves && k < 256; k++) {
            argv[n++] = "--address";
            argv[n++] = b->slaves[k].addr;
        }
        c->bus_seen = false;
        c->clocks = 0;
    }
    argv[n++] = "--seed";
    argv[n++] = seed;
    argv[n++] = "--activity";
    argv[n++] = activity;
    argv[n] = NULL;

    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        return -1;
    }
    if (pid == 0) {
        if (loop_child_detach(parent) < 0)
            _exit(127);
        if (dup2(in[0], STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0)
            _exit(127);
        execv(ss->self, argv);
        fprintf(stderr, "portier-sim site: cannot run %s: %s\n", ss->self, strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    c->pid = pid;
    c->reaped = false;
    c->ready = false;
    c->in_fd = in[1];
    c->out_fd = out[0];
    c->out.len = 0;
    c->attempts++;
    set_nonblock(c->in_fd);
    set_nonblock(c->out_fd);
    if (loop_add_fd(ss->loop, c->out_fd, LOOP_READ, child_out_cb, c) < 0) {
        fprintf(stderr, "portier-sim site: cannot watch a simulator's output\n");
        return -1;
    }
    if (c->kind == CHILD_NIX1) {
        /* The slaves' clocks: the host time, as a commissioned slave would have. */
        const struct site_bus *b = &site->buses[c->bus];
        for (size_t k = 0; k < b->n_slaves; k++) {
            char cmd[96];
            snprintf(cmd, sizeof cmd, "clock slave=%s ts=%lld\n", b->slaves[k].addr, (long long)time(NULL));
            child_send(c, cmd);
        }
    }
    return 0;
}

static void check_all_ready(struct sitesim *ss)
{
    for (size_t i = 0; i < ss->n_children; i++)
        if (!ss->children[i].ready)
            return;
    ss->all_ready = true;
}

static void child_line(struct child *c, const char *line)
{
    struct sitesim *ss = c->ss;
    if (c->ready) {
        printf("%s: %s\n", c->label, line); /* answers to forwarded control commands */
        fflush(stdout);
        return;
    }
    if (c->kind == CHILD_C3) {
        if (strncmp(line, "portier-sim c3: listening on ", 29) == 0)
            c->ready = true;
    } else {
        static const char bus_on[] = "portier-sim nix1: bus on ";
        if (strncmp(line, bus_on, sizeof bus_on - 1) == 0) {
            const char *w = line + sizeof bus_on - 1;
            size_t l = strcspn(w, " ");
            if (strncmp(w, "tcp ", 4) == 0) {
                w += 4;
                l = strcspn(w, " ");
                snprintf(c->where, sizeof c->where, "tcp://%.*s", (int)l, w);
            } else {
                snprintf(c->where, sizeof c->where, "%.*s", (int)l, w);
            }
            c->bus_seen = true;
        } else if (strncmp(line, "ok ", 3) == 0 && strstr(line, " clock ")) {
            c->clocks++;
        } else if (strncmp(line, "error", 5) == 0) {
            fprintf(stderr, "portier-sim site: %s: %s\n", c->label, line);
        }
        c->ready = c->bus_seen && c->clocks >= ss->site->buses[c->bus].n_slaves;
    }
    if (c->ready)
        check_all_ready(ss);
}

static struct child *child_by_pid(struct sitesim *ss, pid_t pid)
{
    for (size_t i = 0; i < ss->n_children; i++)
        if (ss->children[i].pid == pid)
            return &ss->children[i];
    return NULL;
}

static void reap(struct sitesim *ss)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct child *c = child_by_pid(ss, pid);
        if (!c)
            continue;
        c->pid = 0;
        c->reaped = true;
        c->status = status;
        child_close_fds(c);
        char why[96];
        describe_status(status, why, sizeof why);
        if (!c->ready && c->kind == CHILD_C3 && c->attempts < C3_ATTEMPTS && !loop_stopped(ss->loop)) {
            fprintf(stderr, "portier-sim site: the simulator of %s %s before it was ready; trying other ports\n",
                    c->label, why);
            if (child_spawn(c) == 0)
                continue;
        }
        fprintf(stderr, "portier-sim site: the simulator of %s (pid %d) %s%s; stopping the site\n", c->label,
                (int)pid, why, c->ready ? "" : " before it was ready");
        c->ready = true; /* nothing more to wait for */
        ss->failed = true;
        loop_stop(ss->loop);
    }
}

static void on_signal(loop_t *loop, int signo, void *arg)
{
    struct sitesim *ss = arg;
    if (signo == SIGCHLD)
        reap(ss);
    else
        loop_stop(loop);
}

/* Stop every running child: SIGTERM, up to STOP_TIMEOUT_MS for all of them, then SIGKILL. Returns true when
 * every child that was still running exited cleanly (status 0). */
static bool stop_children(struct sitesim *ss)
{
    bool clean = true;
    for (size_t i = 0; i < ss->n_children; i++)
        if (ss->children[i].pid > 0)
            kill(ss->children[i].pid, SIGTERM);
    uint64_t deadline = loop_mono_us() + STOP_TIMEOUT_MS * 1000ull;
    for (size_t i = 0; i < ss->n_children; i++) {
        struct child *c = &ss->children[i];
        while (c->pid > 0) {
            int status;
            pid_t r = waitpid(c->pid, &status, WNOHANG);
            if (r == c->pid || (r < 0 && errno == ECHILD)) {
                if (r == c->pid && status != 0) {
                    char why[96];
                    describe_status(status, why, sizeof why);
                    fprintf(stderr, "portier-sim site: the simulator of %s %s while stopping\n", c->label, why);
                    clean = false;
                }
                c->pid = 0;
                break;
            }
            if (loop_mono_us() >= deadline) {
                fprintf(stderr, "portier-sim site: the simulator of %s did not stop; killing it\n", c->label);
                kill(c->pid, SIGKILL);
                waitpid(c->pid, NULL, 0);
                c->pid = 0;
                clean = false;
                break;
            }
            struct timespec ts = { 0, 10 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
        child_close_fds(c);
    }
    return clean;
}

/* ---- the rewritten configuration ---- */

static bool same_str(const char *a, const char *b, const char *what, const char *name)
{
    if (strcmp(a, b) == 0)
        return true;
    fprintf(stderr, "portier-sim site: rewritten configuration differs in %s of \"%s\": \"%s\" vs \"%s\"\n", what,
            name, a, b);
    return false;
}

/* The written file, loaded again, must describe the same site (the loader is the judge of the writer). */
static bool same_site(const struct site *a, const struct site *b)
{
    bool ok = same_str(a->name, b->name, "the name", "site") && a->n_panels == b->n_panels &&
              a->n_buses == b->n_buses && a->n_outputs == b->n_outputs && a->n_roles == b->n_roles &&
              a->default_role == b->default_role;
    for (size_t i = 0; ok && i < a->n_panels; i++) {
        const struct site_panel *p = &a->panels[i], *q = &b->panels[i];
        ok = same_str(p->name, q->name, "a panel name", p->name) && same_str(p->host, q->host, "host", p->name) &&
             same_str(p->password, q->password, "password", p->name) &&
             same_str(p->model, q->model, "model", p->name) && p->port == q->port && p->doors == q->doors &&
             p->aux_count == q->aux_count && p->poll_ms == q->poll_ms && p->timeout_ms == q->timeout_ms;
        for (unsigned d = 0; ok && d < SITE_C3_MAX_DOORS; d++)
            ok = same_str(p->door_names[d], q->door_names[d], "a door name", p->name) &&
                 same_str(p->aux_names[d], q->aux_names[d], "an aux name", p->name);
    }
    for (size_t i = 0; ok && i < a->n_buses; i++) {
        const struct site_bus *x = &a->buses[i], *y = &b->buses[i];
        ok = same_str(x->name, y->name, "a bus name", x->name) && same_str(x->port, y->port, "port", x->name) &&
             same_str(x->server_dir, y->server_dir, "server_dir", x->name) && x->baud == y->baud &&
             x->rs485 == y->rs485 && x->poll_ms == y->poll_ms && x->n_slaves == y->n_slaves;
        for (size_t k = 0; ok && k < x->n_slaves; k++) {
            const struct site_slave *s = &x->slaves[k], *t = &y->slaves[k];
            ok = same_str(s->addr, t->addr, "a slave address", x->name) && same_str(s->name, t->name, "name", s->addr) &&
                 s->valid_timeout == t->valid_timeout && s->bad_timeout == t->bad_timeout;
            for (int p = 0; ok && p < SITE_NIX1_PROBES; p++)
                ok = same_str(s->probe_doors[p], t->probe_doors[p], "a probe door", s->name) &&
                     s->probe_units[p] == t->probe_units[p];
        }
    }
    for (size_t i = 0; ok && i < a->n_roles; i++)
        ok = same_str(a->roles[i].name, b->roles[i].name, "a role mapping", "roles") &&
             a->roles[i].is_group == b->roles[i].is_group && a->roles[i].role == b->roles[i].role;
    const struct site_emergency *e = &a->emergency, *f = &b->emergency;
    ok = ok && e->all_doors == f->all_doors && e->n_doors == f->n_doors && e->confirm == f->confirm &&
         e->double_ms == f->double_ms && e->restore == f->restore && same_str(e->word, f->word, "word", "emergency");
    for (size_t i = 0; ok && i < e->n_doors; i++)
        ok = same_str(e->doors[i], f->doors[i], "a door", "emergency");
    ok = ok && same_str(a->journal.path, b->journal.path, "path", "journal") &&
         a->journal.retention_days == b->journal.retention_days &&
         a->journal.retention_rows == b->journal.retention_rows && a->ui.colours == b->ui.colours &&
         a->ui.bell == b->ui.bell && a->ui.n_keys == b->ui.n_keys;
    for (size_t i = 0; ok && i < a->ui.n_keys; i++)
        ok = same_str(a->ui.keys[i].action, b->ui.keys[i].action, "a key binding", "ui") &&
             same_str(a->ui.keys[i].key, b->ui.keys[i].key, "a key binding", "ui");
    if (!ok)
        fprintf(stderr, "portier-sim site: the rewritten configuration does not load back to the same site\n");
    return ok;
}

static int write_config(struct sitesim *ss, char *path, size_t pathlen)
{
    struct site *site = ss->site;
    for (size_t i = 0; i < ss->n_children; i++) {
        struct child *c = &ss->children[i];
        if (c->kind == CHILD_C3) {
            for (size_t k = 0; k < c->n_panels; k++) {
                struct site_panel *p = &site->panels[c->panels[k]];
                snprintf(p->host, sizeof p->host, "127.0.0.1");
                p->port = (uint16_t)(c->port + k);
            }
        } else {
            snprintf(site->buses[c->bus].port, sizeof site->buses[c->bus].port, "%s", c->where);
        }
    }
    /* Simulated events never go into a real site's journal. */
    int jn = snprintf(site->journal.path, sizeof site->journal.path, "%s/journal.db", ss->dir);
    int pn = snprintf(path, pathlen, "%s/portier.conf", ss->dir);
    if (jn < 0 || (size_t)jn >= sizeof site->journal.path || pn < 0 || (size_t)pn >= pathlen) {
        fprintf(stderr, "portier-sim site: the directory path %s is too long\n", ss->dir);
        return -1;
    }
    char *text = NULL, werr[PATH_MAX + 100] = "";
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    int rc = -1;
    if (f) {
        fprintf(f, "# Generated by portier-sim site from %s: every panel and bus points at a simulator.\n"
                   "# Valid while that portier-sim runs.\n\n", site->config_path);
        rc = site_config_write(site, f);
        if (fclose(f) != 0)
            rc = -1;
    }
    if (rc == 0)
        rc = durable_write(path, text, tlen, 0600, 0, werr, sizeof werr);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "portier-sim site: cannot write %s: %s\n", path, werr[0] ? werr : strerror(errno));
        return -1;
    }
    struct config_diags d;
    struct site *back = site_config_load(path, &d);
    bool same = back && same_site(site, back);
    if (!back)
        config_diags_print(&d, stderr);
    config_diags_free(&d);
    site_free(back);
    return same ? 0 : -1;
}

/* ---- control on stdin: quit, status, "<device name>: <simulator command>" ---- */

static struct child *child_of_device(struct sitesim *ss, const char *name, size_t *index)
{
    for (size_t i = 0; i < ss->n_children; i++) {
        struct child *c = &ss->children[i];
        if (c->kind == CHILD_NIX1 && strcasecmp(ss->site->buses[c->bus].name, name) == 0) {
            *index = 0;
            return c;
        }
        for (size_t k = 0; c->kind == CHILD_C3 && k < c->n_panels; k++) {
            if (strcasecmp(ss->site->panels[c->panels[k]].name, name) == 0) {
                *index = k;
                return c;
            }
        }
    }
    return NULL;
}

static void print_status(struct sitesim *ss)
{
    for (size_t i = 0; i < ss->n_children; i++) {
        struct child *c = &ss->children[i];
        if (c->kind == CHILD_C3)
            printf("%s: pid %d, %s on 127.0.0.1:%u-%u\n", c->label, (int)c->pid, c3_model_for(c->model_doors),
                   c->port, (unsigned)(c->port + c->n_panels - 1));
        else
            printf("%s: pid %d, %zu slaves on %s\n", c->label, (int)c->pid, ss->site->buses[c->bus].n_slaves,
                   c->where);
    }
    fflush(stdout);
}

static void control_line(struct sitesim *ss, char *line)
{
    size_t l = strlen(line);
    while (l > 0 && (line[l - 1] == '\r' || line[l - 1] == ' '))
        line[--l] = '\0';
    while (*line == ' ')
        line++;
    if (!*line)
        return;
    if (strcmp(line, "quit") == 0) {
        loop_stop(ss->loop);
        return;
    }
    if (strcmp(line, "status") == 0) {
        print_status(ss);
        return;
    }
    if (strcmp(line, "help") == 0) {
        printf("commands: status | quit | DEVICE: COMMAND (sent to the simulator of that panel or bus; "
               "a panel's number in its group is added as panel=I)\n");
        fflush(stdout);
        return;
    }
    char *colon = strchr(line, ':');
    if (!colon) {
        printf("error: unknown command (try: help)\n");
        fflush(stdout);
        return;
    }
    *colon = '\0';
    size_t index;
    struct child *c = child_of_device(ss, line, &index);
    const char *cmd = colon + 1;
    while (*cmd == ' ')
        cmd++;
    if (!c || !*cmd || strchr(cmd, '\n')) {
        printf("error: %s\n", c ? "no command" : "no panel or bus of that name");
        fflush(stdout);
        return;
    }
    char out[LINE_MAX_LEN + 32];
    if (c->kind == CHILD_C3 && !strstr(cmd, "panel="))
        snprintf(out, sizeof out, "%s panel=%zu\n", cmd, index);
    else
        snprintf(out, sizeof out, "%s\n", cmd);
    child_send(c, out);
}

static void stdin_cb(loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)events;
    struct sitesim *ss = arg;
    char buf[1024];
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        loop_del_fd(loop, fd);
        ss->stdin_closed = true;
        if (ss->quit_on_eof)
            loop_stop(loop);
        return;
    }
    for (ssize_t i = 0; i < r; i++) {
        char *line = linebuf_take(&ss->in, buf[i]);
        if (line)
            control_line(ss, line);
    }
}

/* ---- setup ---- */

static void label_append(char *label, size_t len, const char *name)
{
    size_t l = strlen(label);
    if (l + strlen(name) + 8 < len)
        snprintf(label + l, len - l, "%s\"%s\"", strchr(label, '"') ? ", " : "", name);
    else if (!strstr(label, "..."))
        snprintf(label + l, len - l, ", ...");
}

/* One child per group of panels of the same door count and password (up to GROUP_MAX), one per bus. */
static int plan_children(struct sitesim *ss)
{
    const struct site *site = ss->site;
    ss->children = calloc(site->n_panels + site->n_buses + 1, sizeof *ss->children);
    if (!ss->children)
        return -1;
    bool *done = calloc(site->n_panels + 1, sizeof *done);
    if (!done)
        return -1;
    for (size_t i = 0; i < site->n_panels; i++) {
        if (done[i])
            continue;
        struct child *c = &ss->children[ss->n_children++];
        c->panels = calloc(GROUP_MAX, sizeof *c->panels);
        if (!c->panels) {
            free(done);
            return -1;
        }
        c->kind = CHILD_C3;
        c->model_doors = site->panels[i].doors;
        snprintf(c->label, sizeof c->label, "panels ");
        for (size_t k = i; k < site->n_panels && c->n_panels < GROUP_MAX; k++) {
            const struct site_panel *p = &site->panels[k];
            if (done[k] || p->doors != c->model_doors || strcmp(p->password, site->panels[i].password) != 0)
                continue;
            done[k] = true;
            c->panels[c->n_panels++] = k;
            label_append(c->label, sizeof c->label, p->name);
        }
        if (c->n_panels == 1)
            snprintf(c->label, sizeof c->label, "panel \"%s\"", site->panels[i].name);
    }
    free(done);
    for (size_t b = 0; b < site->n_buses; b++) {
        struct child *c = &ss->children[ss->n_children++];
        c->kind = CHILD_NIX1;
        c->bus = b;
        snprintf(c->label, sizeof c->label, "bus \"%s\"", site->buses[b].name);
    }
    for (size_t i = 0; i < ss->n_children; i++) {
        ss->children[i].ss = ss;
        ss->children[i].in_fd = ss->children[i].out_fd = -1;
    }
    return 0;
}

static const char usage_text[] =
    "  site CONFIG [--dir DIR] [--seed S] [--activity RATE] [--quit-on-eof]\n"
    "     a simulator for every C3 panel (grouped by model and password) and every NiX1 bus of a site\n"
    "     configuration; writes DIR/portier.conf pointing at them (DIR default: a temporary directory, removed\n"
    "     on exit). Runs until SIGINT/SIGTERM, 'quit' on stdin, or stdin EOF with --quit-on-eof. stdin also\n"
    "     takes 'status' and 'DEVICE: COMMAND' (forwarded to the simulator of that panel or bus)";

static int sitesim_main(int argc, char **argv)
{
    enum { O_DIR = 256, O_SEED, O_ACTIVITY, O_EOF, O_HELP };
    static const struct option opts[] = {
        { "dir", required_argument, NULL, O_DIR },       { "seed", required_argument, NULL, O_SEED },
        { "activity", required_argument, NULL, O_ACTIVITY }, { "quit-on-eof", no_argument, NULL, O_EOF },
        { "help", no_argument, NULL, O_HELP },           { NULL, 0, NULL, 0 },
    };
    struct sitesim ss = { .seed = 1 };
    const char *dir = NULL;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (ch) {
        case O_DIR: dir = optarg; break;
        case O_SEED:
            errno = 0;
            ss.seed = strtoull(optarg, &end, 0);
            if (errno || end == optarg || *end || optarg[0] == '-') {
                fprintf(stderr, "portier-sim site: bad --seed '%s'\n", optarg);
                return 2;
            }
            break;
        case O_ACTIVITY:
            errno = 0;
            ss.activity = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(ss.activity >= 0.0 && ss.activity <= 1000.0)) {
                fprintf(stderr, "portier-sim site: bad --activity '%s' (events per second, 0..1000)\n", optarg);
                return 2;
            }
            break;
        case O_EOF: ss.quit_on_eof = true; break;
        case 'h':
        case O_HELP: printf("usage: portier-sim\n%s\n", usage_text); return 0;
        default: fprintf(stderr, "usage: portier-sim\n%s\n", usage_text); return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "portier-sim site: one configuration file expected\nusage: portier-sim\n%s\n", usage_text);
        return 2;
    }
    /* An absolute path: relative server_dir/journal paths then resolve against the original's directory. */
    char conf[PATH_MAX];
    if (!realpath(argv[optind], conf)) {
        fprintf(stderr, "portier-sim site: %s: %s\n", argv[optind], strerror(errno));
        return 2;
    }
    struct config_diags d;
    ss.site = site_config_load(conf, &d);
    config_diags_print(&d, stderr);
    config_diags_free(&d);
    if (!ss.site) {
        fprintf(stderr, "portier-sim site: %s is not a valid configuration\n", conf);
        return 2;
    }
    ssize_t sl = readlink("/proc/self/exe", ss.self, sizeof ss.self - 1);
    if (sl <= 0) {
        fprintf(stderr, "portier-sim site: cannot find this executable: %s\n", strerror(errno));
        site_free(ss.site);
        return 1;
    }
    ss.self[sl] = '\0';
    if (dir) {
        if (make_dir(dir) != 0 || !realpath(dir, ss.dir)) {
            fprintf(stderr, "portier-sim site: --dir %s: %s\n", dir, strerror(errno));
            site_free(ss.site);
            return 2;
        }
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(ss.dir, sizeof ss.dir, "%s/portier-site.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(ss.dir)) {
            fprintf(stderr, "portier-sim site: cannot create a temporary directory: %s\n", strerror(errno));
            site_free(ss.site);
            return 1;
        }
        ss.own_dir = true;
    }

    int rc = 1;
    bool stdin_watched = false;
    signal(SIGPIPE, SIG_IGN);
    ss.loop = loop_new();
    if (!ss.loop || plan_children(&ss) != 0) {
        fprintf(stderr, "portier-sim site: out of memory\n");
        goto out;
    }
    if (loop_add_signal(ss.loop, SIGINT, on_signal, &ss) < 0 || loop_add_signal(ss.loop, SIGTERM, on_signal, &ss) < 0 ||
        loop_add_signal(ss.loop, SIGHUP, on_signal, &ss) < 0 || loop_add_signal(ss.loop, SIGCHLD, on_signal, &ss) < 0) {
        fprintf(stderr, "portier-sim site: cannot watch signals\n");
        goto out;
    }
    for (size_t b = 0; b < ss.site->n_buses; b++) {
        char busdir[PATH_MAX];
        int n = snprintf(busdir, sizeof busdir, "%s/nix1-%zu", ss.dir, b + 1);
        if (n < 0 || (size_t)n >= sizeof busdir || sitesim_cards_prepare(&ss.site->buses[b], busdir) != 0)
            goto out;
    }
    for (size_t i = 0; i < ss.n_children; i++) {
        if (child_spawn(&ss.children[i]) != 0) {
            fprintf(stderr, "portier-sim site: cannot start the simulator of %s: %s\n", ss.children[i].label,
                    strerror(errno));
            goto out;
        }
    }
    check_all_ready(&ss);
    uint64_t deadline = loop_mono_us() + READY_TIMEOUT_MS * 1000ull;
    while (!ss.all_ready && !ss.failed && !loop_stopped(ss.loop)) {
        uint64_t now = loop_mono_us();
        if (now >= deadline) {
            for (size_t i = 0; i < ss.n_children; i++)
                if (!ss.children[i].ready)
                    fprintf(stderr, "portier-sim site: the simulator of %s was not ready within %d s\n",
                            ss.children[i].label, READY_TIMEOUT_MS / 1000);
            goto out;
        }
        int wait = (int)((deadline - now) / 1000) + 1;
        if (loop_run_once(ss.loop, wait < 200 ? wait : 200) < 0) {
            fprintf(stderr, "portier-sim site: poll: %s\n", strerror(errno));
            goto out;
        }
    }
    if (!ss.all_ready)
        goto out; /* stopped or failed while starting (already reported) */
    char path[PATH_MAX + 32];
    if (write_config(&ss, path, sizeof path) != 0)
        goto out;
    for (size_t i = 0; i < ss.n_children; i++) {
        const struct child *c = &ss.children[i];
        if (c->kind == CHILD_C3)
            for (size_t k = 0; k < c->n_panels; k++)
                printf("portier-sim site: panel \"%s\" (%s) on 127.0.0.1:%u\n", ss.site->panels[c->panels[k]].name,
                       c3_model_for(c->model_doors), (unsigned)(c->port + k));
        else
            printf("portier-sim site: bus \"%s\" (%zu slave%s) on %s\n", ss.site->buses[c->bus].name,
                   ss.site->buses[c->bus].n_slaves, ss.site->buses[c->bus].n_slaves == 1 ? "" : "s", c->where);
    }
    printf("portier-sim site: %zu panel%s, %zu bus%s; config %s\n", ss.site->n_panels, ss.site->n_panels == 1 ? "" : "s",
           ss.site->n_buses, ss.site->n_buses == 1 ? "" : "es", path);
    fflush(stdout);
    /* stdin stays blocking (it may be shared with a shell): poll says readable, so one read never blocks. */
    stdin_watched = loop_add_fd(ss.loop, STDIN_FILENO, LOOP_READ, stdin_cb, &ss) == 0;
    if (loop_run(ss.loop) < 0) {
        fprintf(stderr, "portier-sim site: poll: %s\n", strerror(errno));
        goto out;
    }
    rc = ss.failed ? 1 : 0;
out:
    if (stdin_watched && !ss.stdin_closed)
        loop_del_fd(ss.loop, STDIN_FILENO);
    if (!stop_children(&ss))
        rc = 1;
    for (size_t i = 0; i < ss.n_children; i++)
        free(ss.children[i].panels);
    free(ss.children);
    loop_free(ss.loop);
    if (ss.own_dir)
        durable_remove_tree(ss.dir);
    site_free(ss.site);
    return rc;
}

const struct sim_kind sitesim_kind = {
    .name = "site",
    .main = sitesim_main,
    .usage = usage_text,
};
