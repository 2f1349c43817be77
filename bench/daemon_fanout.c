/* bench/daemon_fanout: portierd's fan-out. A simulated site (C3-400 panels, 100 events/s each) offers RATE events/s; portierd
 * journals them and streams them to its clients. Three phases of SECONDS each, in one run: one client (the
 * baseline), CLIENTS clients, and CLIENTS clients plus one that never reads. For each: the event-to-client
 * latency (the event's host time, set when portierd received it from the panel, to the moment a client has read
 * its line; median and p99 over every client), the ratio against the baseline, events delivered per client, and
 * portierd's CPU (share of one core) and resident memory. A stopped client must cost nothing: phase 3 against 2.
 *   daemon_fanout BUILD_DIR [--clients N] [--rate EVENTS_PER_S] [--seconds S]       (run: bench/daemon_fanout.sh) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXC 512

struct conn {
    int fd;
    char buf[1 << 16];
    size_t len;
    bool reading;
    long events;
};

static char tmp[256], sock[300];
static pid_t sim_pid, daemon_pid;
static double *lat;
static size_t nlat, caplat;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *what)
{
    fprintf(stderr, "daemon_fanout: %s\n", what);
    if (daemon_pid > 0)
        kill(daemon_pid, SIGTERM);
    if (sim_pid > 0)
        kill(sim_pid, SIGTERM);
    exit(1);
}

static pid_t spawn(char *const argv[], const char *out)
{
    pid_t p = fork();
    if (p == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int nul = open("/dev/null", O_RDONLY);
        dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return p;
}

static bool file_has(const char *path, const char *what, char *line, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char l[1024];
    bool found = false;
    while (fgets(l, sizeof l, f))
        if (strstr(l, what)) {
            if (line)
                snprintf(line, len, "%s", l);
            found = true;
        }
    fclose(f);
    return found;
}

static int dial(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", sock);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        die("cannot connect to portierd");
    const char *hello = "{\"op\":\"hello\",\"id\":1,\"proto\":1,\"client\":\"bench\",\"journal_rows\":0}\n";
    if (write(fd, hello, strlen(hello)) != (ssize_t)strlen(hello))
        die("hello");
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void sample(double v)
{
    if (nlat == caplat) {
        caplat = caplat ? caplat * 2 : 65536;
        lat = realloc(lat, caplat * sizeof *lat);
        if (!lat)
            die("out of memory");
    }
    lat[nlat++] = v;
}

/* Read what a client has; every live event line gives one latency sample. */
static void drain(struct conn *c, bool measure)
{
    for (;;) {
        ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
        if (r <= 0)
            return;
        c->len += (size_t)r;
        int64_t t = now_us();
        char *p = c->buf, *nl;
        while ((nl = memchr(p, '\n', (size_t)(c->buf + c->len - p)))) {
            *nl = '\0';
            if (strstr(p, "\"type\":\"event\"") && !strstr(p, "\"replay\"")) {
                const char *tu = strstr(p, "\"time_us\":");
                if (tu) {
                    c->events++;
                    if (measure)
                        sample((double)(t - strtoll(tu + 10, NULL, 10)) / 1000.0);
                }
            }
            p = nl + 1;
        }
        c->len = (size_t)(c->buf + c->len - p);
        memmove(c->buf, p, c->len);
    }
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct usage {
    double cpu_s;
    long rss_kb, hwm_kb;
};

static struct usage daemon_usage(void)
{
    struct usage u = { 0 };
    char p[64], buf[2048];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)daemon_pid);
    FILE *f = fopen(p, "r");
    if (f && fgets(buf, sizeof buf, f)) {
        char *s = strrchr(buf, ')');
        unsigned long ut = 0, st = 0;
        if (s && sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
            u.cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    }
    if (f)
        fclose(f);
    snprintf(p, sizeof p, "/proc/%d/status", (int)daemon_pid);
    f = fopen(p, "r");
    while (f && fgets(buf, sizeof buf, f)) {
        sscanf(buf, "VmRSS: %ld", &u.rss_kb);
        sscanf(buf, "VmHWM: %ld", &u.hwm_kb);
    }
    if (f)
        fclose(f);
    return u;
}

struct result {
    double med, p99;
    size_t n;
    double per_client;
    double cpu;
    long rss_kb;
};

static struct result phase(struct conn *cs, int n, int seconds)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < n; i++) {
        cs[i].events = 0;
        if (!cs[i].reading)
            continue;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs[i] };
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    nlat = 0;
    struct usage u0 = daemon_usage();
    int64_t end = now_us() + (int64_t)seconds * 1000000;
    while (now_us() < end) {
        struct epoll_event evs[64];
        int k = epoll_wait(ep, evs, 64, 100);
        for (int i = 0; i < k; i++)
            drain(evs[i].data.ptr, true);
    }
    struct usage u1 = daemon_usage();
    close(ep);
    struct result r = { 0 };
    r.n = nlat;
    if (nlat) {
        qsort(lat, nlat, sizeof *lat, cmp);
        r.med = lat[nlat / 2];
        r.p99 = lat[(size_t)((double)nlat * 0.99)];
    }
    int readers = 0;
    long total = 0;
    for (int i = 0; i < n; i++)
        if (cs[i].reading) {
            readers++;
            total += cs[i].events;
        }
    r.per_client = readers ? (double)total / readers / seconds : 0;
    r.cpu = (u1.cpu_s - u0.cpu_s) / seconds * 100.0;
    r.rss_kb = u1.rss_kb;
    return r;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: daemon_fanout BUILD_DIR [--clients N] [--rate EVENTS_PER_S] [--seconds S]\n");
        return 2;
    }
    const char *build = argv[1];
    int clients = 50, rate = 1000, seconds = 10;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--clients") == 0)
            clients = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--rate") == 0)
            rate = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atoi(argv[i + 1]);
    }
    if (clients < 1 || clients > MAXC - 2 || rate < 1 || rate > 1000 || seconds < 1)
        die("bad arguments");
    signal(SIGPIPE, SIG_IGN);
    snprintf(tmp, sizeof tmp, "%s/portier-fanout.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp))
        die("mkdtemp");
    char conf[400], simout[400], dout[400], simdir[400], statedir[400], sim[400], pd[400], rates[16];
    snprintf(conf, sizeof conf, "%s/site.conf", tmp);
    snprintf(simout, sizeof simout, "%s/sim.out", tmp);
    snprintf(dout, sizeof dout, "%s/portierd.log", tmp);
    snprintf(simdir, sizeof simdir, "%s/sim", tmp);
    snprintf(statedir, sizeof statedir, "%s/state", tmp);
    snprintf(sock, sizeof sock, "%s/portierd.sock", tmp);
    snprintf(sim, sizeof sim, "%s/sim/portier-sim", build);
    snprintf(pd, sizeof pd, "%s/daemon/portierd", build);
    snprintf(rates, sizeof rates, "%d", rate);
    /* RATE events/s over PANELS panels: a simulated C3 delivers about 100 events/s (its 30-record ring at the
     * fastest adaptive poll), so the load is spread as on a real site */
    int panels = (rate + 99) / 100;
    snprintf(rates, sizeof rates, "%g", (double)rate / panels);
    FILE *f = fopen(conf, "w");
    fprintf(f, "site = { name = \"Fan-out\"; };\npanels = (\n");
    for (int i = 0; i < panels; i++)
        fprintf(f, "  { name = \"Panel %d\"; host = \"10.9.9.%d\"; model = \"C3-400\"; poll_ms = 100; }%s\n", i + 1,
                i + 1, i + 1 < panels ? "," : "");
    fprintf(f, ");\n");
    fclose(f);
    chmod(conf, 0600);
    char *simargv[] = { sim, "site", conf, "--dir", simdir, "--activity", rates, NULL };
    sim_pid = spawn(simargv, simout);
    char line[1024];
    for (int i = 0; i < 300 && !file_has(simout, "; config ", line, sizeof line); i++)
        usleep(100000);
    char simconf[512];
    snprintf(simconf, sizeof simconf, "%s/portier.conf", simdir);
    char *dargv[] = { pd, "-c", simconf, "--socket", sock, "--state-dir", statedir, "--foreground", NULL };
    daemon_pid = spawn(dargv, dout);
    struct stat st;
    for (int i = 0; i < 300 && stat(sock, &st) != 0; i++)
        usleep(100000);
    if (stat(sock, &st) != 0)
        die("portierd did not start");
    sleep(2); /* the panels connect, the activity starts */

    static struct conn cs[MAXC];
    cs[0].fd = dial();
    cs[0].reading = true;
    phase(cs, 1, 1); /* warm-up: hello, snapshot, first polls */
    struct result base = phase(cs, 1, seconds);
    for (int i = 1; i <= clients; i++) {
        cs[i].fd = dial();
        cs[i].reading = true;
    }
    phase(cs, clients + 1, 1);
    struct result fan = phase(cs, clients + 1, seconds);
    cs[clients + 1].fd = dial(); /* connected, never read: a stopped console */
    cs[clients + 1].reading = false;
    phase(cs, clients + 2, 1);
    struct result stopped = phase(cs, clients + 2, seconds);
    struct usage u = daemon_usage();

    printf("portierd fan-out: %d events/s offered by %d simulated C3-400 panels, %d s per phase\n", rate,
           (rate + 99) / 100, seconds);
    printf("%-38s %9s %9s %10s %9s %8s %9s\n", "phase", "median", "p99", "samples", "ev/s/cl", "cpu", "rss");
    const char *names[] = { "1 client (baseline)", "", "" };
    char n2[64], n3[64];
    snprintf(n2, sizeof n2, "%d clients", clients + 1);
    snprintf(n3, sizeof n3, "%d clients + 1 that never reads", clients + 1);
    names[1] = n2;
    names[2] = n3;
    struct result rs[3] = { base, fan, stopped };
    for (int i = 0; i < 3; i++)
        printf("%-38s %7.2fms %7.2fms %10zu %9.0f %7.1f%% %6ldKiB\n", names[i], rs[i].med, rs[i].p99, rs[i].n,
               rs[i].per_client, rs[i].cpu, rs[i].rss_kb);
    printf("ratio %d clients / 1 client:   median %.2fx, p99 %.2fx, daemon cpu %.2fx\n", clients + 1,
           base.med > 0 ? fan.med / base.med : 0, base.p99 > 0 ? fan.p99 / base.p99 : 0,
           base.cpu > 0 ? fan.cpu / base.cpu : 0);
    printf("ratio with a stopped client / without: median %.2fx, p99 %.2fx, daemon cpu %.2fx, rss %+ld KiB\n",
           fan.med > 0 ? stopped.med / fan.med : 0, fan.p99 > 0 ? stopped.p99 / fan.p99 : 0,
           fan.cpu > 0 ? stopped.cpu / fan.cpu : 0, stopped.rss_kb - fan.rss_kb);
    printf("portierd peak resident memory: %ld KiB\n", u.hwm_kb);
    kill(daemon_pid, SIGTERM);
    waitpid(daemon_pid, NULL, 0);
    kill(sim_pid, SIGTERM);
    waitpid(sim_pid, NULL, 0);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        return 1;
    return 0;
}
