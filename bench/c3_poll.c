/* c3_poll: one process polling N simulated C3 panels (portier-sim c3 --panels N) at a fixed rate through the
 * real session state machine; prints polls/s, CPU per poll, peak RSS and poll RTT against a paced TCP echo. */
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

/* The 12-byte request the echo client sends: an RT-log request with the session prefix, as the poll sends. */
static const uint8_t ECHO_MSG[12] = { 0xaa, 0x01, 0x0b, 0x04, 0x00, 0xd1, 0x8a, 0x00, 0xff, 0x22, 0x1e, 0x55 };

/* One client connection: a panel session in the poll phase, a raw TCP connection in the echo phase. Both are
 * driven by the same fixed-rate schedule and timed the same way (loop_mono_us before the request is handed to
 * the transport code, loop_mono_us in the callback that sees the complete answer). */
struct slot {
    loop_timer_t tick;
    uint64_t sent_us;
    unsigned phase;     /* phase the request in flight belongs to */
    bool busy;
    struct c3_session *s;
    struct xport x;
    struct tcp_rxbuf rx;
};

struct stats {
    uint64_t *v;
    size_t n, cap;
};

struct phase {
    loop_t *loop;
    struct slot *slots;
    bool echo;
    unsigned id;
    bool measuring;
    uint64_t period_us;
    uint64_t done, errors, skipped, outstanding;
    struct stats rtt;
    double cpu0, cpu;
    uint64_t wall0_us, wall_us;
    loop_timer_t start_t, stop_t;
};

static int N;
static struct phase *P; /* the phase being run */

static void stats_add(struct stats *s, uint64_t v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        uint64_t *r = realloc(s->v, cap * sizeof *r);
        if (!r)
            return;
        s->v = r;
        s->cap = cap;
    }
    s->v[s->n++] = v;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t pct(struct stats *s, double q)
{
    if (s->n == 0)
        return 0;
    qsort(s->v, s->n, sizeof *s->v, cmp_u64);
    return s->v[(size_t)(q * (double)(s->n - 1) + 0.5)];
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static void reply_seen(struct slot *sl, bool ok)
{
    uint64_t now = loop_mono_us();
    sl->busy = false;
    if (P->outstanding)
        P->outstanding--;
    if (!P->measuring || sl->phase != P->id)
        return;
    if (!ok) {
        P->errors++;
        return;
    }
    P->done++;
    stats_add(&P->rtt, now - sl->sent_us);
}

/* ---- poll phase: the session state machine ---- */

static void poll_done(struct c3_session *s, const struct c3_result *res, void *arg)
{
    (void)s;
    reply_seen(arg, res->err == 0);
}

static bool poll_send(struct slot *sl)
{
    if (c3_session_state(sl->s) != C3_ST_ONLINE)
        return false;
    struct c3_request_opts o = { .prio = C3_PRIO_POLL };
    sl->sent_us = loop_mono_us();
    return c3_session_submit(sl->s, C3_CMD_RTLOG_BINARY, NULL, 0, &o, poll_done, sl) > 0;
}

/* ---- echo phase: a raw connection through the same loop and transport helpers ---- */

static void echo_client_io(loop_t *loop, int fd, unsigned ev, void *arg)
{
    struct slot *sl = arg;
    (void)loop;
    (void)fd;
    (void)ev;
    ssize_t n = tcp_rx_drain(&sl->x, &sl->rx); /* read until EAGAIN, as the session does */
    if (n < 0) {
        fprintf(stderr, "c3_poll: echo connection lost\n");
        exit(1);
    }
    if (sl->rx.len < sizeof ECHO_MSG)
        return;
    bool ok = memcmp(sl->rx.data, ECHO_MSG, sizeof ECHO_MSG) == 0;
    tcp_rx_consume(&sl->rx, sizeof ECHO_MSG);
    if (sl->busy)
        reply_seen(sl, ok);
}

static bool echo_send(struct slot *sl)
{
    size_t done = 0;
    sl->sent_us = loop_mono_us();
    return xport_write_some(&sl->x, ECHO_MSG, sizeof ECHO_MSG, &done) == 1; /* fits an idle socket buffer */
}

/* ---- the schedule: slot i sends at t0 + i·period/N + k·period, whatever happened before ---- */

static void on_tick(loop_t *loop, void *arg)
{
    struct slot *sl = arg;
    /* Fixed rate from the due time, never from "now": late wake-ups do not pile slots together. */
    uint64_t next = sl->tick.due_us + P->period_us;
    while (next <= loop_now_us(loop))
        next += P->period_us;
    loop_timer_arm_at(loop, &sl->tick, next);
    if (sl->busy) {
        if (P->measuring)
            P->skipped++;
        return;
    }
    sl->phase = P->id;
    if (P->echo ? echo_send(sl) : poll_send(sl)) {
        sl->busy = true;
        P->outstanding++;
    } else if (P->measuring) {
        P->errors++;
    }
}

static void on_measure_start(loop_t *loop, void *arg)
{
    (void)loop;
    (void)arg;
    P->measuring = true;
    P->cpu0 = cpu_seconds();
    P->wall0_us = loop_mono_us();
}

static void on_measure_stop(loop_t *loop, void *arg)
{
    (void)arg;
    P->cpu = cpu_seconds() - P->cpu0;
    P->wall_us = loop_mono_us() - P->wall0_us;
    P->measuring = false;
    loop_stop(loop);
}

/* One phase: one period of warm-up, then `seconds` measured, then the replies still in flight are drained. */
static void run_phase(struct phase *ph, int seconds)
{
    P = ph;
    loop_t *loop = ph->loop;
    loop_run_once(loop, 0);
    uint64_t t0 = loop_now_us(loop) + 1000u;
    for (int i = 0; i < N; i++) {
        loop_timer_init(&ph->slots[i].tick, on_tick, &ph->slots[i]);
        loop_timer_arm_at(loop, &ph->slots[i].tick, t0 + (uint64_t)i * ph->period_us / (uint64_t)N);
    }
    loop_timer_init(&ph->start_t, on_measure_start, NULL);
    loop_timer_init(&ph->stop_t, on_measure_stop, NULL);
    loop_timer_arm_at(loop, &ph->start_t, t0 + ph->period_us);
    loop_timer_arm_at(loop, &ph->stop_t, t0 + ph->period_us + (uint64_t)seconds * 1000000u);
    loop_run(loop);
    for (int i = 0; i < N; i++)
        loop_timer_disarm(loop, &ph->slots[i].tick);
    uint64_t d0 = loop_mono_us();
    while (ph->outstanding > 0 && loop_mono_us() - d0 < 5000000u)
        loop_run_once(loop, 100);
}

/* ---- the echo server (a child process on its own loop, answering in the read callback) ---- */

struct echo_conn {
    struct xport x;
};

static void echo_conn_io(loop_t *loop, int fd, unsigned ev, void *arg)
{
    struct echo_conn *c = arg;
    (void)ev;
    uint8_t buf[512];
    ssize_t n = xport_read(&c->x, buf, sizeof buf);
    size_t done = 0;
    if (n < 0 || (n > 0 && xport_write_some(&c->x, buf, (size_t)n, &done) < 0)) {
        loop_del_fd(loop, fd);
        xport_close(&c->x);
        free(c);
    }
}

static void echo_accept(loop_t *loop, int fd, unsigned ev, void *arg)
{
    (void)ev;
    (void)arg;
    struct xport x;
    while (tcp_accept(fd, &x) == 1) {
        struct echo_conn *c = malloc(sizeof *c);
        if (!c) {
            xport_close(&x);
            continue;
        }
        c->x = x;
        loop_add_fd(loop, c->x.fd, LOOP_READ, echo_conn_io, c);
    }
}

static void echo_server(int lfd)
{
    loop_t *loop = loop_new();
    loop_add_fd(loop, lfd, LOOP_READ, echo_accept, NULL);
    loop_run(loop);
}

static int echo_connect_all(struct slot *slots, uint16_t port)
{
    struct tcp_addr a;
    char err[128];
    if (tcp_resolve("127.0.0.1", port, &a, err, sizeof err) < 0)
        return -1;
    for (int i = 0; i < N; i++) {
        if (tcp_connect_start(&slots[i].x, &a) < 0)
            return -1;
        tcp_rx_init(&slots[i].rx, 4096);
    }
    for (int tries = 0; tries < 5000; tries++) { /* start-up only, before measuring */
        int pending = 0;
        for (int i = 0; i < N; i++) {
            int rc = xport_finish_open(&slots[i].x);
            if (rc == -EINPROGRESS)
                pending++;
            else if (rc < 0)
                return -1;
        }
        if (!pending)
            return 0;
        usleep(1000);
    }
    return -1;
}

/* ---- driver ---- */

static void usage(void)
{
    fprintf(stderr,
            "usage: c3_poll --sim PATH [--panels N] [--port P] [--rate HZ] [--seconds S] [--rounds R]\n"
            "  spawns PATH c3 --port P --panels N and polls every panel's RT log HZ times a second. Each round\n"
            "  runs an echo phase and a poll phase of S seconds each, with the same schedule, and prints polls/s,\n"
            "  CPU per poll, peak RSS and the ratio of the median poll round trip to the median echo round trip.\n");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *sim = NULL;
    int n = 1, seconds = 5, rounds = 3;
    unsigned port = 21000; /* below the ephemeral range, so client sockets never hold a panel port */
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
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else {
            usage();
            return 2;
        }
    }
    if (!sim || n < 1 || n > 5000 || rate <= 0 || rate > 1000 || seconds < 1 || rounds < 1 || rounds > 20 ||
        port < 1024 || port + (unsigned)n > 65535) {
        usage();
        return 2;
    }
    N = n;
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

    /* The echo child, forked before this process creates any loop. */
    uint16_t eport = 0;
    int lfd = tcp_listen_loopback(0, 4096, &eport);
    if (lfd < 0) {
        fprintf(stderr, "c3_poll: cannot listen for the echo server\n");
        kill(simpid, SIGTERM);
        return 1;
    }
    pid_t echopid = fork();
    if (echopid == 0) {
        echo_server(lfd);
        _exit(0);
    }
    close(lfd);

    uint64_t period_us = (uint64_t)(1e6 / rate);
    struct slot *ps = calloc((size_t)n, sizeof *ps), *es = calloc((size_t)n, sizeof *es);
    struct phase poll = { .loop = loop_new(), .slots = ps, .period_us = period_us };
    struct phase echo = { .loop = loop_new(), .slots = es, .period_us = period_us, .echo = true };
    if (!ps || !es || !poll.loop || !echo.loop) {
        fprintf(stderr, "c3_poll: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        struct c3_session_config cfg = { .request_timeout_ms = 2000, .backoff_min_ms = 200, .backoff_max_ms = 2000 };
        char err[128];
        tcp_resolve("127.0.0.1", (uint16_t)(port + (unsigned)i), &cfg.addr, err, sizeof err);
        ps[i].s = c3_session_new(poll.loop, &cfg, NULL);
        c3_session_start(ps[i].s);
    }
    if (echo_connect_all(es, eport) < 0) {
        fprintf(stderr, "c3_poll: cannot connect to the echo server\n");
        kill(simpid, SIGTERM);
        kill(echopid, SIGKILL);
        return 1;
    }
    for (int i = 0; i < n; i++)
        loop_add_fd(echo.loop, es[i].x.fd, LOOP_READ, echo_client_io, &es[i]);
    /* Every panel online (at most 20 s) before anything is measured. */
    uint64_t w = loop_mono_us();
    for (;;) {
        int online = 0;
        for (int i = 0; i < n; i++)
            online += c3_session_state(ps[i].s) == C3_ST_ONLINE;
        if (online == n || loop_mono_us() - w > 20000000u)
            break;
        loop_run_once(poll.loop, 100);
    }

    printf("c3_poll: %d panel(s), %.1f Hz each, %d round(s) of a %d s echo phase then a %d s poll phase\n", n,
           rate, rounds, seconds, seconds);
    printf("  baseline: a TCP echo (a child process on the same loop code, answering in its read callback) over %d\n"
           "  connections, sending the 12-byte request on the same fixed-rate schedule (connection i at\n"
           "  i/%d of the period), timed the same way; the poll phase sends RT-log requests through\n"
           "  c3_session to portier-sim. The ratio compares medians of the same round.\n",
           n, n);
    double *ratios = calloc((size_t)rounds, sizeof *ratios);
    uint64_t polls = 0, errors = 0, skipped = 0;
    double cpu = 0, wall = 0, ecpu = 0;
    uint64_t echoes = 0;
    for (int r = 0; r < rounds; r++) {
        echo.id = poll.id = (unsigned)r + 1u;
        echo.rtt.n = poll.rtt.n = 0;
        echo.done = echo.errors = echo.skipped = poll.done = poll.errors = poll.skipped = 0;
        run_phase(&echo, seconds);
        run_phase(&poll, seconds);
        uint64_t em = pct(&echo.rtt, 0.5), pm = pct(&poll.rtt, 0.5);
        ratios[r] = em ? (double)pm / (double)em : 0.0;
        printf("round %d: echo rtt median %" PRIu64 " us (p90 %" PRIu64 ", p99 %" PRIu64 "; %.1f/s%s); "
               "poll rtt median %" PRIu64 " us (p90 %" PRIu64 ", p99 %" PRIu64 "); ratio %.2f\n",
               r + 1, em, pct(&echo.rtt, 0.9), pct(&echo.rtt, 0.99), (double)echo.done * 1e6 / (double)echo.wall_us,
               echo.errors || echo.skipped ? ", errors or skips" : "", pm, pct(&poll.rtt, 0.9),
               pct(&poll.rtt, 0.99), ratios[r]);
        polls += poll.done;
        errors += poll.errors;
        skipped += poll.skipped;
        cpu += poll.cpu;
        wall += (double)poll.wall_us / 1e6;
        ecpu += echo.cpu;
        echoes += echo.done;
    }
    uint64_t reconnects = 0, timeouts = 0;
    int online = 0;
    for (int i = 0; i < n; i++) {
        const struct c3_session_stats *st = c3_session_stats(ps[i].s);
        reconnects += st->reconnects;
        timeouts += st->timeouts;
        online += c3_session_state(ps[i].s) == C3_ST_ONLINE;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    qsort(ratios, (size_t)rounds, sizeof *ratios, cmp_double);
    double polls_s = (double)polls / wall;
    printf("panels online %d/%d; polls/s %.1f (target %.1f); errors %" PRIu64 ", skipped (previous poll still "
           "out) %" PRIu64 ", timeouts %" PRIu64 ", reconnects %" PRIu64 "\n",
           online, n, polls_s, rate * n, errors, skipped, timeouts, reconnects);
    printf("cpu per poll %.1f us (%.1f%% of one core); cpu per echo %.1f us; peak rss %ld KiB\n",
           polls ? cpu * 1e6 / (double)polls : 0.0, 100.0 * cpu / wall, echoes ? ecpu * 1e6 / (double)echoes : 0.0,
           ru.ru_maxrss);
    printf("ratio poll/echo median rtt: %.2f (rounds: min %.2f, max %.2f); goal <= 3: %s\n", ratios[rounds / 2],
           ratios[0], ratios[rounds - 1], ratios[rounds / 2] <= 3.0 ? "met" : "NOT met");
    bool rate_ok = polls_s >= 0.98 * rate * n && errors == 0 && cpu / wall < 1.0;
    printf("rate goal (%.0f polls/s from one process within one core): %s\n", rate * n, rate_ok ? "met" : "NOT met");

    for (int i = 0; i < n; i++) {
        c3_session_free(ps[i].s);
        loop_del_fd(echo.loop, es[i].x.fd);
        xport_close(&es[i].x);
        tcp_rx_free(&es[i].rx);
    }
    free(ps);
    free(es);
    free(ratios);
    free(poll.rtt.v);
    free(echo.rtt.v);
    loop_free(poll.loop);
    loop_free(echo.loop);
    kill(echopid, SIGKILL);
    kill(simpid, SIGTERM);
    waitpid(echopid, NULL, 0);
    waitpid(simpid, NULL, 0);
    if (sf)
        fclose(sf);
    posix_spawn_file_actions_destroy(&fa);
    return 0;
}
