/* demo: simulated site for `portier --demo`. */
#include "tui/demo.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/durable.h"
#include "core/loop.h"

/* A program next to portier: the environment variable ENV if set, else the first of CANDS (paths relative to
 * the directory of the running binary) that is executable. */
static int find_beside(const char *env_name, const char *const *cands, size_t ncands, char *buf, size_t len)
{
    const char *env = getenv(env_name);
    if (env && *env) {
        snprintf(buf, len, "%s", env);
        return access(buf, X_OK);
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    for (size_t i = 0; i < ncands; i++) {
        snprintf(buf, len, "%s%s", self, cands[i]);
        if (access(buf, X_OK) == 0)
            return 0;
    }
    return -1;
}

/* portier-sim next to portier: <build>/tui/portier -> <build>/sim/portier-sim; PORTIER_SIM overrides. */
static int find_sim(char *buf, size_t len)
{
    static const char *const cands[] = {"/../sim/portier-sim", "/portier-sim", "/../lib/portier/portier-sim"};
    return find_beside("PORTIER_SIM", cands, sizeof cands / sizeof cands[0], buf, len);
}

/* portierd next to portier: <build>/tui/portier -> <build>/daemon/portierd, <prefix>/bin -> <prefix>/sbin;
 * PORTIER_DAEMON overrides. */
static int find_daemon(char *buf, size_t len)
{
    static const char *const cands[] = {"/../daemon/portierd", "/portierd", "/../sbin/portierd"};
    return find_beside("PORTIER_DAEMON", cands, sizeof cands / sizeof cands[0], buf, len);
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int port = -1;
    if (bind(s, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(s, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    close(s);
    return port;
}

/* Spawn argv with stdout on a pipe, stderr to the demo log; read its stdout until `want` matches a line
 * (strstr) or timeout_ms passes. All of stdout read so far is returned in out. */
static pid_t spawn(struct demo *d, char *const argv[], const char *want, char *out, size_t outlen, int timeout_ms)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    char logp[400];
    snprintf(logp, sizeof logp, "%s/sim.log", d->dir);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        if (loop_child_detach(parent) < 0)
            _exit(127);
        int lf = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, STDIN_FILENO);
        dup2(p[1], STDOUT_FILENO);
        if (lf >= 0)
            dup2(lf, STDERR_FILENO);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    d->pids[d->n_pids++] = pid;
    size_t used = 0;
    out[0] = '\0';
    uint64_t deadline = loop_mono_us() + (uint64_t)timeout_ms * 1000;
    while (!strstr(out, want)) {
        uint64_t now = loop_mono_us();
        if (now >= deadline)
            break;
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        int r = poll(&pfd, 1, (int)((deadline - now) / 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t n = read(p[0], out + used, outlen - used - 1);
        if (n <= 0)
            break;
        used += (size_t)n;
        out[used] = '\0';
    }
    close(p[0]); /* the simulator's later stdout goes nowhere (it must tolerate EPIPE/SIGPIPE ignored) */
    return pid;
}

/* Whether an entry of /proc/PID/FILE (NUL-separated: environ, cmdline) is want exactly or, with below, want
 * followed by '/' (a path under it). Only this user's processes are looked at. */
static bool proc_entry(const char *pid, const char *file, const char *want, bool below)
{
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%s", pid);
    if (stat(path, &st) < 0 || st.st_uid != getuid())
        return false;
    snprintf(path, sizeof path, "/proc/%s/%s", pid, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    static char buf[1 << 16];
    size_t used = 0;
    ssize_t n;
    while (used < sizeof buf - 1 && (n = read(fd, buf + used, sizeof buf - 1 - used)) > 0)
        used += (size_t)n;
    close(fd);
    buf[used] = '\0';
    size_t wl = strlen(want);
    for (size_t i = 0; i < used; i += strlen(buf + i) + 1)
        if (strncmp(buf + i, want, wl) == 0 && (buf[i + wl] == '\0' || (below && buf[i + wl] == '/')))
            return true;
    return false;
}

/* For each process (but this one and init) with that entry: signal it with sig; how many had it (a signal that
 * failed does not count). With sig 0 it only looks, and stops at the first: 0 or 1. -1: /proc cannot be read. */
static long procs_with(const char *file, const char *want, bool below, int sig)
{
    DIR *dp = opendir("/proc");
    if (!dp)
        return -1;
    long n = 0;
    struct dirent *de;
    while ((de = readdir(dp)) && !(sig == 0 && n)) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 1 || pid == getpid() || !proc_entry(de->d_name, file, want, below))
            continue;
        if (kill((pid_t)pid, sig) == 0)
            n++;
    }
    closedir(dp);
    return n;
}

/* Signal every process of this user whose environment names demo directory dir; how many were signalled. */
static size_t signal_demo_procs(const char *dir, int sig)
{
    char want[320];
    snprintf(want, sizeof want, "%s=%s", DEMO_ENV, dir);
    long n = procs_with("environ", want, false, sig);
    return n > 0 ? (size_t)n : 0;
}

/* Whether a process of this user has dir on its command line (an argument that is dir or a path below it); when
 * /proc cannot be read it cannot tell, and says yes (keep). */
static bool named_by_proc(const char *dir)
{
    return procs_with("cmdline", dir, true, 0) != 0;
}

size_t demo_reap(const char *tmpdir)
{
    DIR *dp = opendir(tmpdir);
    if (!dp)
        return 0;
    size_t removed = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (strncmp(de->d_name, "portier-demo.", 13) != 0 || strlen(de->d_name) != 19)
            continue;
        char dir[256], lockp[300];
        snprintf(dir, sizeof dir, "%s/%s", tmpdir, de->d_name);
        struct stat st;
        if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid())
            continue;
        /* Without its lock file the directory is a demo starting this instant, or one of a portier that took no
         * lock: that one is gone when it is older than a minute and no process names it on its command line
         * (its simulators and daemon do, and die with its console). */
        snprintf(lockp, sizeof lockp, "%s/" DEMO_LOCK, dir);
        int fd = open(lockp, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            char keptp[300];
            snprintf(keptp, sizeof keptp, "%s/" DEMO_KEPT, dir);
            if (errno == ENOENT && access(keptp, F_OK) != 0 && st.st_mtime < time(NULL) - 60 && !named_by_proc(dir) &&
                durable_remove_tree(dir) == 0)
                removed++;
            continue;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) { /* its console lives */
            close(fd);
            continue;
        }
        /* Its console is gone: its processes (normally gone with it) get SIGTERM, then SIGKILL after 2 s. */
        for (int t = 0; t < 200 && signal_demo_procs(dir, t ? 0 : SIGTERM); t++) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        signal_demo_procs(dir, SIGKILL);
        if (durable_remove_tree(dir) == 0)
            removed++;
        close(fd);
    }
    closedir(dp);
    return removed;
}

void demo_stop(struct demo *d)
{
    for (size_t i = 0; i < d->n_pids; i++)
        if (d->pids[i] > 0)
            kill(d->pids[i], SIGTERM);
    for (size_t i = 0; i < d->n_pids; i++) {
        if (d->pids[i] <= 0)
            continue;
        /* Give each simulator up to 2 s to exit, then kill it. */
        for (int t = 0; t < 200; t++) {
            if (waitpid(d->pids[i], NULL, WNOHANG) != 0)
                goto next;
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        kill(d->pids[i], SIGKILL);
        waitpid(d->pids[i], NULL, 0);
    next:
        d->pids[i] = 0;
    }
    d->n_pids = 0;
    if (d->dir[0] && !getenv("PORTIER_DEMO_KEEP")) {
        durable_remove_tree(d->dir);
    } else if (d->dir[0] && d->lock_fd > 0) { /* kept on purpose: the lock file becomes the mark demo_reap spares */
        char lockp[300], keptp[300];
        snprintf(lockp, sizeof lockp, "%s/" DEMO_LOCK, d->dir);
        snprintf(keptp, sizeof keptp, "%s/" DEMO_KEPT, d->dir);
        rename(lockp, keptp);
    }
    d->dir[0] = '\0';
    if (d->lock_fd > 0)
        close(d->lock_fd); /* after the removal: a demo starting meanwhile never takes a directory being emptied */
    d->lock_fd = 0;
    unsetenv(DEMO_ENV);
}

/* The slave addresses: the simulator keeps one µSD directory per slave, named by its 16-hex-digit address. */
static int cmp_addr(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static size_t find_addrs(const char *dir, char addrs[][17], size_t max)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dp)) && n < max) {
        size_t k = 0;
        while (isxdigit((unsigned char)de->d_name[k]))
            k++;
        if (k != 16 || de->d_name[16])
            continue;
        for (size_t i = 0; i < 16; i++)
            addrs[n][i] = (char)toupper((unsigned char)de->d_name[i]);
        addrs[n][16] = '\0';
        n++;
    }
    closedir(dp);
    qsort(addrs, n, sizeof addrs[0], cmp_addr);
    return n;
}

int demo_start(struct demo *d, unsigned activity, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    char sim[PATH_MAX];
    if (find_sim(sim, sizeof sim) < 0) {
        snprintf(err, errlen, "--demo needs portier-sim next to portier (build/sim/portier-sim); "
                 "build everything with ./run build, or set PORTIER_SIM");
        return -1;
    }
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    demo_reap(tmp);
    snprintf(d->dir, sizeof d->dir, "%s/portier-demo.XXXXXX", tmp);
    if (!mkdtemp(d->dir)) {
        snprintf(err, errlen, "cannot create a temporary directory: %s", strerror(errno));
        d->dir[0] = '\0';
        return -1;
    }
    /* Held until demo_stop (closed on exec: the demo's processes do not hold it); a console killed with -9 lets
     * it go, and the next demo_reap removes what it left. Every process of the demo carries DEMO_ENV. */
    /* Locked under another name, then renamed: a demo_reap never finds the lock file unlocked in between. */
    char lockp[300], tmpp[300];
    snprintf(lockp, sizeof lockp, "%s/" DEMO_LOCK, d->dir);
    snprintf(tmpp, sizeof tmpp, "%s/.lock", d->dir);
    d->lock_fd = open(tmpp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (d->lock_fd < 0 || flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0 || rename(tmpp, lockp) < 0 ||
        setenv(DEMO_ENV, d->dir, 1) < 0) {
        snprintf(err, errlen, "cannot lock %s: %s", lockp, strerror(errno));
        demo_stop(d);
        return -1;
    }
    snprintf(d->journal, sizeof d->journal, "%s/journal.db", d->dir);
    snprintf(d->config, sizeof d->config, "%s/portier.conf", d->dir);
    char act[16], out[2048];
    snprintf(act, sizeof act, "%u", activity);
    int ports[2];
    static const char *const models[2] = {"c3-400", "c3-200"};
    static const char *const seeds[2] = {"1", "2"};
    for (int i = 0; i < 2; i++) {
        ports[i] = free_port();
        char port[16];
        snprintf(port, sizeof port, "%d", ports[i]);
        char *argv[] = {sim, "c3", "--port", port, "--model", (char *)models[i], "--seed", (char *)seeds[i],
                        "--activity", act, "--named-users", NULL};
        if (ports[i] < 0 || spawn(d, argv, "listening", out, sizeof out, 5000) < 0 || !strstr(out, "listening")) {
            snprintf(err, errlen, "the C3 simulator did not start (see %s/sim.log): %.200s", d->dir, out);
            demo_stop(d);
            return -1;
        }
    }
    char usd[300];
    snprintf(usd, sizeof usd, "%s/usd", d->dir);
    if (mkdir(usd, 0700) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", usd, strerror(errno));
        demo_stop(d);
        return -1;
    }
    char *nargv[] = {sim, "nix1", "--slaves", "3", "--configured", "--dir", usd, "--no-stdin", "--seed", "3",
                     "--activity", act, NULL};
    if (spawn(d, nargv, "uSD cards", out, sizeof out, 5000) < 0) {
        snprintf(err, errlen, "the NiX1 simulator did not start");
        demo_stop(d);
        return -1;
    }
    char pty[128] = "";
    const char *dev = strstr(out, "/dev/");
    if (dev) {
        size_t k = 0;
        while (dev[k] && !isspace((unsigned char)dev[k]) && k + 1 < sizeof pty)
            k++;
        snprintf(pty, sizeof pty, "%.*s", (int)k, dev);
    }
    if (!pty[0]) {
        snprintf(err, errlen, "the NiX1 simulator printed no pseudo-terminal: %.200s", out);
        demo_stop(d);
        return -1;
    }
    char addrs[3][17];
    size_t na = find_addrs(usd, addrs, 3);
    if (na == 0) {
        snprintf(err, errlen, "the NiX1 simulator created no slave in %s: %.200s", usd, out);
        demo_stop(d);
        return -1;
    }
    FILE *f = fopen(d->config, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", d->config, strerror(errno));
        demo_stop(d);
        return -1;
    }
    fchmod(fileno(f), 0600);
    fprintf(f,
            "# portier --demo: generated; removed when the console quits.\n"
            "site = { name = \"Demo site\"; };\n"
            "roles = { default = \"technician\"; };\n"
            "panels = (\n"
            "  { name = \"Panel A\"; host = \"127.0.0.1\"; port = %d; model = \"C3-400\";\n"
            "    doors = [\"Main entrance\", \"Back door\", \"Garage\", \"Server room\"]; },\n"
            "  { name = \"Panel B\"; host = \"127.0.0.1\"; port = %d; model = \"C3-200\";\n"
            "    doors = [\"Lab north\", \"Lab south\"]; }\n"
            ");\n"
            "buses = (\n  { name = \"Bus 1\"; port = \"%s\"; baud = 9600;\n    slaves = (\n",
            ports[0], ports[1], pty);
    /* The simulator preconfigures slave i with units 2i+1 and 2i+2 (its --configured mode). */
    static const char *const names[3] = {"Archive", "Workshop", "Roof"};
    static const char *const doors[3][2] = {{"Archive in", "Archive out"}, {"Workshop", "Workshop yard"},
                                            {"Roof hatch", "Roof stairs"}};
    for (size_t i = 0; i < na; i++)
        fprintf(f, "      { address = \"%s\"; name = \"%s\";\n"
                   "        probe1 = { door = \"%s\"; unit = %zu; }; probe2 = { door = \"%s\"; unit = %zu; }; }%s\n",
                addrs[i], names[i], doors[i][0], 2 * i + 1, doors[i][1], 2 * i + 2, i + 1 < na ? "," : "");
    fprintf(f, "    );\n  }\n);\n"
            "emergency = { doors = \"all\"; confirm = \"none\"; restore = \"previous\"; };\n"
            "journal = { path = \"%s\"; };\n"
            "ui = { colours = true; bell = \"alarm\"; };\n", d->journal);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "cannot write %s", d->config);
        demo_stop(d);
        return -1;
    }
    return 0;
}

int demo_start_daemon(struct demo *d, char *sock, size_t socklen, char *err, size_t errlen)
{
    char bin[PATH_MAX], out[64];
    if (find_daemon(bin, sizeof bin) < 0) {
        snprintf(err, errlen, "--demo needs portierd next to portier (build/daemon/portierd), or set PORTIER_DAEMON "
                 "(portier --demo --direct runs the demo without it)");
        return -1;
    }
    if (d->n_pids >= sizeof d->pids / sizeof d->pids[0]) {
        snprintf(err, errlen, "too many demo processes");
        return -1;
    }
    snprintf(sock, socklen, "%s/portierd.sock", d->dir);
    char *argv[] = {bin, "-c", d->config, "--socket", sock, "--state-dir", d->dir, "--foreground", NULL};
    pid_t pid = spawn(d, argv, "", out, sizeof out, 0);
    if (pid < 0) {
        snprintf(err, errlen, "cannot start %s: %s", bin, strerror(errno));
        return -1;
    }
    /* Ready once its socket is there (its log is in the demo directory's sim.log). */
    uint64_t deadline = loop_mono_us() + 10 * 1000000ULL;
    struct stat st;
    while (stat(sock, &st) < 0 || !S_ISSOCK(st.st_mode)) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            d->pids[d->n_pids - 1] = 0;
            snprintf(err, errlen, "portierd stopped at once (see %s/sim.log)", d->dir);
            return -1;
        }
        if (loop_mono_us() >= deadline) {
            snprintf(err, errlen, "portierd did not open %s within 10 s (see %s/sim.log)", sock, d->dir);
            return -1;
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}
