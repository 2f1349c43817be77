/* c3_poll: one process polling N simulated C3 panels (portier-sim c3 --panels N) at a fixed rate through the
 * real session state machine; prints polls/s, CPU per poll, peak RSS and poll RTT against a bare TCP echo. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/loop.h"
#include "core/tcp.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_session.h"

extern char **environ;

struct panel {
    struct c3_session *s;
    loop_timer_t tick;
    bool busy;
};

struct bench {
    loop_t *loop;
    struct panel *p;
    int n;
    uint32_t period_ms;
    bool measuring;
    uint64_t *rtts;
    size_t nrtt, caprtt;
    uint64_t polls, errors;
};

static struct bench B;

static void add_rtt(uint64_t v)
{
    if (B.nrtt == B.caprtt) {
        size_t cap = B.caprtt ? B.caprtt * 2 : 4096;
        uint64_t *r = realloc(B.rtts, cap * sizeof *r);
        if (!r)
            return;
        B.rtts = r;
        B.caprtt = cap;
    }
    B.rtts[B.nrtt++] = v;
}

static void poll_done(struct c3_session *s, const struct c3_result *res, void *arg)
{
    struct panel *p = arg;
    (void)s;
    p->busy = false;
    if (!B.measuring)
        return;
    if (res->err) {
        B.errors++;
        return;
    }
    B.polls++;
    add_rtt(res->rtt_us);
}

static void on_tick(loop_t *loop, void *arg)
{
    struct panel *p = arg;
    loop_timer_arm_ms(loop, &p->tick, B.period_ms);
    if (p->busy || c3_session_state(p->s) != C3_ST_ONLINE)
        return;
    struct c3_request_opts o = { .prio = C3_PRIO_POLL };
    if (c3_session_submit(p->s, C3_CMD_RTLOG_BINARY, NULL, 0, &o, poll_done, p) > 0)
        p->busy = true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_u64);
    return v[n / 2];
}

static uint64_t pct(const uint64_t *sorted, size_t n, double q)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(q * (double)(n - 1));
    return sorted[i];
}

/* ---- bare TCP echo (child process) and a ping-pong client in this process ---- */

static struct xport echo_conns[64];

static void echo_conn_io(loop_t *loop, int fd, unsigned ev, void *arg)
{
    struct xport *x = arg;
    (void)ev;
    uint8_t buf[512];
    ssize_t n = xport_read(x, buf, sizeof buf);
    if (n < 0) {
        loop_del_fd(loop, fd);
        xport_close(x);
        return;
    }
    size_t done = 0;
    if (n > 0 && xport_write_some(x, buf, (size_t)n, &done) < 0) {
        loop_del_fd(loop, fd);
        xport_close(x);
    }
}

static void echo_accept(loop_t *loop, int fd, unsigned ev, void *arg)
{
    (void)ev;
    (void)arg;
    struct xport x;
    while (tcp_accept(fd, &x) == 1) {
        struct xport *slot = NULL;
        for (size_t i = 0; i < sizeof echo_conns / sizeof echo_conns[0] && !slot; i++)
            if (echo_conns[i].fd < 0)
                slot = &echo_conns[i];
        if (!slot) {
            xport_close(&x);
            continue;
        }
        *slot = x;
        loop_add_fd(loop, slot->fd, LOOP_READ, echo_conn_io, slot);
    }
}

/* The bare echo: a child process on its own loop (a 12-byte message answers in one write). */
static void echo_server(int lfd)
{
    loop_t *loop = loop_new();
    for (size_t i = 0; i < sizeof echo_conns / sizeof echo_conns[0]; i++)
        echo_conns[i].fd = -1;
    loop_add_fd(loop, lfd, LOOP_READ, echo_accept, NULL);
    loop_run(loop);
}

struct echo_client {
    struct xport x;
    uint8_t frame[16];
    size_t flen, got;
    uint64_t sent;
    int left;
    uint64_t *rtts;
    size_t n;
};

static void echo_send(struct echo_client *e)
{
    size_t done = 0;
    e->sent = loop_mono_us();
    e->got = 0;
    (void)xport_write_some(&e->x, e->frame, e->flen, &done); /* 12 bytes always fit an empty socket buffer */
}

static void echo_io(loop_t *loop, int fd, unsigned ev, void *arg)
{
    struct echo_client *e = arg;
    (void)fd;
    (void)ev;
    uint8_t buf[64];
    ssize_t n = xport_read(&e->x, buf, sizeof buf);
    if (n < 0) {
        loop_stop(loop);
        return;
    }
    e->got += (size_t)n;
    if (e->got < e->flen)
        return;
    e->rtts[e->n++] = loop_mono_us() - e->sent;
    if (--e->left <= 0) {
        loop_stop(loop);
        return;
    }
    echo_send(e);
}

/* Median round trip of a 12-byte message (an RT-log request's size) to the echo child, on a fresh loop. */
static uint64_t echo_median(uint16_t port, int samples)
{
    struct tcp_addr a;
    char err[128];
    if (tcp_resolve("127.0.0.1", port, &a, err, sizeof err) < 0)
        return 0;
    struct echo_client e = { .flen = 12, .left = samples };
    memcpy(e.frame, "\xaa\x01\x0b\x04\x00\xd1\x8a\x00\xff\x22\x1e\x55", 12);
    e.rtts = calloc((size_t)samples, sizeof *e.rtts);
    if (!e.rtts || tcp_connect_start(&e.x, &a) < 0)
        return 0;
    for (int i = 0; i < 2000 && xport_finish_open(&e.x) == -EINPROGRESS; i++)
        usleep(1000); /* start-up only, before measuring */
    loop_t *loop = loop_new();
    loop_add_fd(loop, e.x.fd, LOOP_READ, echo_io, &e);
    echo_send(&e);
    loop_run(loop);
    loop_del_fd(loop, e.x.fd);
    xport_close(&e.x);
    loop_free(loop);
    uint64_t m = median(e.rtts, e.n);
    free(e.rtts);
    return m;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static void on_stop(loop_t *loop, void *arg)
{
    (void)arg;
    loop_stop(loop);
}

static void usage(void)
{
    fprintf(stderr, "usage: c3_poll --sim PATH [--panels N] [--port P] [--rate HZ] [--seconds S]\n"
                    "  spawns PATH c3 --port P --panels N, polls every panel's RT log HZ times a second for S\n"
                    "  seconds, and prints polls/s, CPU per poll, peak RSS and median poll RTT / echo RTT.\n");
}

int main(int argc, char **argv)
{
    const char *sim = NULL;
    int n = 1, seconds = 10;
    unsigned port = 46000;
    double rate = 2.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--sim") == 0 && i + 1 < argc)
            sim = argv[++i];
        else if (strcmp(argv[i], "--panels") == 0 && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
            rate = atof(argv[++i]);
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atoi(argv[++i]);
        else {
            usage();
            return 2;
        }
    }
    if (!sim || n < 1 || n > 5000 || rate <= 0 || seconds < 1 || port < 1024 || port + (unsigned)n > 65535) {
        usage();
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    /* The simulator: wait for its "listening" line. */
    int pfd[2];
    if (pipe(pfd) < 0)
        return 1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", 0, 0);
    char ports[16], panels[16];
    snprintf(ports, sizeof ports, "%u", port);
    snprintf(panels, sizeof panels, "%d", n);
    char *sargv[] = { (char *)sim, (char *)"c3", (char *)"--port", ports, (char *)"--panels", panels, NULL };
    pid_t simpid;
    if (posix_spawn(&simpid, sim, &fa, NULL, sargv, environ) != 0) {
        fprintf(stderr, "c3_poll: cannot start %s\n", sim);
        return 1;
    }
    close(pfd[1]);
    FILE *sf = fdopen(pfd[0], "r");
    char line[256];
    bool ready = false;
    while (sf && fgets(line, sizeof line, sf))
        if (strstr(line, "listening on")) {
            ready = true;
            break;
        }
    if (!ready) {
        fprintf(stderr, "c3_poll: simulator did not start\n");
        kill(simpid, SIGTERM);
        return 1;
    }

    /* The echo child. */
    uint16_t eport = 0;
    int lfd = tcp_listen_loopback(0, 16, &eport);
    pid_t echopid = fork();
    if (echopid == 0) {
        echo_server(lfd);
        _exit(0);
    }
    close(lfd);

    B.loop = loop_new();
    B.n = n;
    B.period_ms = (uint32_t)(1000.0 / rate);
    B.p = calloc((size_t)n, sizeof *B.p);
    for (int i = 0; i < n; i++) {
        struct c3_session_config cfg = { .request_timeout_ms = 2000, .backoff_min_ms = 200, .backoff_max_ms = 2000 };
        char err[128];
        tcp_resolve("127.0.0.1", (uint16_t)(port + (unsigned)i), &cfg.addr, err, sizeof err);
        B.p[i].s = c3_session_new(B.loop, &cfg, NULL);
        loop_timer_init(&B.p[i].tick, on_tick, &B.p[i]);
        c3_session_start(B.p[i].s);
        /* Spread the panels over one period. */
        loop_timer_arm_ms(B.loop, &B.p[i].tick, (uint64_t)i * B.period_ms / (uint64_t)n);
    }
    /* Warm up until every panel is online (at most 20 s), then measure. */
    loop_timer_t stop;
    loop_timer_init(&stop, on_stop, NULL);
    uint64_t t0 = loop_mono_us();
    for (;;) {
        int online = 0;
        for (int i = 0; i < n; i++)
            online += c3_session_state(B.p[i].s) == C3_ST_ONLINE;
        if (online == n || loop_mono_us() - t0 > 20000000u)
            break;
        loop_run_once(B.loop, 100);
    }
    uint64_t echo_before = echo_median(eport, 2000);
    B.measuring = true;
    double c0 = cpu_seconds();
    uint64_t w0 = loop_mono_us();
    loop_timer_arm_ms(B.loop, &stop, (uint64_t)seconds * 1000u);
    loop_run(B.loop);
    double wall = (double)(loop_mono_us() - w0) / 1e6;
    double cpu = cpu_seconds() - c0;
    B.measuring = false;
    uint64_t echo_after = echo_median(eport, 2000);
    uint64_t echo = (echo_before + echo_after) / 2;

    uint64_t med = median(B.rtts, B.nrtt);
    uint64_t reconnects = 0, timeouts = 0;
    int online = 0;
    for (int i = 0; i < n; i++) {
        const struct c3_session_stats *st = c3_session_stats(B.p[i].s);
        reconnects += st->reconnects;
        timeouts += st->timeouts;
        online += c3_session_state(B.p[i].s) == C3_ST_ONLINE;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("panels %d (online %d), rate %.1f Hz each, %d s\n", n, online, rate, seconds);
    printf("polls/s %.1f (target %.1f), errors %" PRIu64 ", timeouts %" PRIu64 ", reconnects %" PRIu64 "\n",
           (double)B.polls / wall, rate * n, B.errors, timeouts, reconnects);
    printf("cpu per poll %.1f us (%.1f%% of one core)\n", B.polls ? cpu * 1e6 / (double)B.polls : 0.0,
           100.0 * cpu / wall);
    printf("peak rss %ld KiB\n", ru.ru_maxrss);
    printf("poll rtt median %" PRIu64 " us, p90 %" PRIu64 " us, p99 %" PRIu64 " us; bare echo median %" PRIu64
           " us; ratio %.2f\n",
           med, pct(B.rtts, B.nrtt, 0.90), pct(B.rtts, B.nrtt, 0.99), echo, echo ? (double)med / (double)echo : 0.0);

    for (int i = 0; i < n; i++) {
        loop_timer_disarm(B.loop, &B.p[i].tick);
        c3_session_free(B.p[i].s);
    }
    free(B.p);
    free(B.rtts);
    loop_free(B.loop);
    kill(echopid, SIGKILL);
    kill(simpid, SIGTERM);
    waitpid(echopid, NULL, 0);
    waitpid(simpid, NULL, 0);
    if (sf)
        fclose(sf);
    posix_spawn_file_actions_destroy(&fa);
    return 0;
}
