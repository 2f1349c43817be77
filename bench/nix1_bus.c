/* nix1_bus benchmark: bus efficiency (useful line time / wall time) at 9600 baud while polling 32 slaves
 * with Qe (1. every slave has ACCESS entries to retrieve, 2. every slave idle: each Qe answered 04), while
 * uploading a 10 KB file, and the time from an emergency command to "all slaves verified". Each figure is
 * set against the ceiling that the spec's timing (§5.1) allows for the exact traffic of the run: the
 * characters exchanged, plus for every unicast the slave's reply latency (simulator defaults: 5 ms, or
 * 20 ms + 1 ms per KB touched for the µSD-heavy commands) and the master's 5 ms idle gap, plus the gap
 * after every broadcast (100 ms; 500 ms after Nz, Nt, Ds). Runs against `portier-sim nix1` on a pty.
 *   nix1_bus PATH/TO/portier-sim [seconds-of-polling]       (BENCH_TRACE=1: every line with its time) */
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/loop.h"
#include "drivers/nix1/nix1_bus.h"
#include "drivers/nix1/nix1_door.h"
#include "drivers/nix1/nix1_files.h"
#include "drivers/nix1/nix1_xfer.h"

#define NSLAVES 32
#define ENTRIES 64 /* ACCESS lines written per slave for the "entries to retrieve" scenario */
#define BAUD 9600

/* §5.1 timing (ms). The simulator's reply latency is the "Simulator defaults" column; the minimum
 * turnaround is the stricter bound any slave must respect. */
#define SIM_LATENCY_S 0.005
#define SIM_SD_LATENCY_S 0.020 /* µSD-heavy commands, plus 1 ms per KB touched */
#define MIN_TURNAROUND_S 0.002
#define IDLE_GAP_S 0.005
#define BCAST_GAP_S 0.100
#define BCAST_LONG_GAP_S 0.500

static bool g_done;
static size_t g_upload_len;      /* bytes of the file being uploaded: what Ng touches on the µSD */
static unsigned long g_records; /* ACCESS lines delivered by polling */

/* What went on the wire, classified by the §5.1 timing each line implies. */
struct tally {
    unsigned long uni, heavy, bcast, bcast_long;
    unsigned long heavy_kb; /* sum over heavy commands of the whole KB touched (1 ms each) */
};
static struct tally g_tally;

static bool heavy_cmd(char c, char a)
{
    static const char *const heavy[] = { "Da", "Dg", "Ng", "Ni", "Nn", "Qg", "Qi", "Qp", "Ny" };
    for (size_t i = 0; i < sizeof heavy / sizeof heavy[0]; i++)
        if (heavy[i][0] == c && heavy[i][1] == a)
            return true;
    return false;
}

static void on_trace(void *arg, bool tx, const char *line, size_t len)
{
    struct tally *t = arg;
    if (getenv("BENCH_TRACE"))
        fprintf(stderr, "%.3f %s %.*s\n", (double)loop_mono_us() / 1e3, tx ? ">" : "<", (int)len, line);
    if (!tx || len < 18)
        return;
    char c = line[16], a = line[17];
    if (strncasecmp(line, "27FFFFFFFFFFFF4E", 16) == 0) {
        if ((c == 'N' && (a == 'z' || a == 't')) || (c == 'D' && a == 's'))
            t->bcast_long++;
        else
            t->bcast++;
        return;
    }
    t->uni++;
    if (!heavy_cmd(c, a))
        return;
    t->heavy++;
    size_t touched = 0;
    if (c == 'N' && a == 'y') {
        const char *hex = memrchr(line, '\t', len); /* the block, hex-encoded */
        touched = hex ? (len - (size_t)(hex + 1 - line)) / 2 : 0;
    } else if (c == 'N' && a == 'g') {
        touched = g_upload_len;
    }
    t->heavy_kb += touched / 1024;
}

static void on_access(void *arg, const nix1_addr_t *slave, const char *line, size_t len)
{
    (void)arg;
    (void)slave;
    (void)line;
    (void)len;
    g_records++;
}

static void on_xfer(void *arg, const struct nix1_xfer_result *r)
{
    *(struct nix1_xfer_result *)arg = *r;
    g_done = true;
}
static void on_door(void *arg, const struct nix1_door_report *r)
{
    *(struct nix1_door_report *)arg = *r;
    g_done = true;
}
static unsigned g_pending;
static void on_ne(nix1_bus_t *bus, const struct nix1_result *res, void *arg)
{
    (void)bus;
    (void)res;
    (void)arg;
    g_pending--;
}

static double line_s(const struct nix1_bus_stats *a, const struct nix1_bus_stats *b)
{
    return (double)(b->tx_chars - a->tx_chars + b->rx_chars - a->rx_chars) * 10.0 / BAUD;
}

/* The shortest wall time §5.1 allows for the traffic between a and b: the line time of every character,
 * plus per unicast the slave's reply latency and the master's idle gap, plus the gap after each broadcast.
 * turnaround_s < 0: the simulator's latency (5 ms; 20 ms + 1 ms/KB for the heavy commands); otherwise that
 * fixed turnaround for every reply. */
static double ceiling_s(const struct tally *a, const struct tally *b, double line, double turnaround_s)
{
    unsigned long uni = b->uni - a->uni, heavy = b->heavy - a->heavy, kb = b->heavy_kb - a->heavy_kb;
    double replies = turnaround_s >= 0 ? (double)uni * turnaround_s
                                       : (double)(uni - heavy) * SIM_LATENCY_S + (double)heavy * SIM_SD_LATENCY_S +
                                             (double)kb * 0.001;
    return line + replies + (double)uni * IDLE_GAP_S + (double)(b->bcast - a->bcast) * BCAST_GAP_S +
           (double)(b->bcast_long - a->bcast_long) * BCAST_LONG_GAP_S;
}

static void report(const char *what, const struct nix1_bus_stats *s0, const struct nix1_bus_stats *s1,
                   const struct tally *t0, const struct tally *t1, double wall)
{
    double line = line_s(s0, s1), lim = ceiling_s(t0, t1, line, -1), strict = ceiling_s(t0, t1, line, MIN_TURNAROUND_S);
    double eff = line / wall, ceil = line / lim;
    printf("%s\n  %lu requests (%lu unicast, %lu heavy, %lu broadcast), %lu timeouts, %.0f chars, line time %.2f s, "
           "wall %.2f s\n"
           "  bus efficiency %.1f %%; spec ceiling for this traffic %.1f %% (sim reply latency %s + 5 ms idle gap per "
           "unicast%s); ratio %.3f\n"
           "  stricter: ceiling with the 2 ms minimum turnaround %.1f %%; ratio %.3f\n",
           what, s1->tx_lines - s0->tx_lines, t1->uni - t0->uni, t1->heavy - t0->heavy,
           (t1->bcast - t0->bcast) + (t1->bcast_long - t0->bcast_long), s1->timeouts - s0->timeouts, line * BAUD / 10.0,
           line, wall, 100.0 * eff, 100.0 * ceil, t1->heavy > t0->heavy ? "5 ms / 20 ms + 1 ms per KB" : "5 ms",
           t1->bcast + t1->bcast_long > t0->bcast + t0->bcast_long ? ", 100 ms after each broadcast" : "", eff / ceil,
           100.0 * line / strict, eff / (line / strict));
}

/* The ACCESS.<doy> file of every slave, written before the simulator starts: ENTRIES distinct granted
 * accesses from the last minutes, so every Qe has a record to return (§5.10). */
static int write_entries(const char *dir, const nix1_addr_t *addrs)
{
    static const char *const users[] = { "Arthur Dent", "Ford Prefect", "Trillian", "Zaphod Beeblebrox", "Marvin" };
    time_t now = time(NULL);
    int doy = nix1_files_doy((uint64_t)now, 0);
    for (int i = 0; i < NSLAVES; i++) {
        char id[NIX1_ADDR_LEN + 1], path[4096];
        nix1_addr_format(&addrs[i], id);
        snprintf(path, sizeof path, "%s/%s", dir, id);
        if (mkdir(path, 0700) < 0)
            return -1;
        snprintf(path, sizeof path, "%s/%s/ACCESS.%d", dir, id, doy);
        FILE *f = fopen(path, "w");
        if (!f)
            return -1;
        for (int k = 0; k < ENTRIES; k++) {
            int probe = 1 + k % 2;
            fprintf(f, "%s\t%s\t%d\t1350028169\t%lld\t+0000\t%d\t0\t00\n", id, users[k % 5], 2 * i + probe,
                    (long long)now - (ENTRIES - k), probe);
        }
        if (fclose(f) != 0)
            return -1;
    }
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static double poll_for(loop_t *loop, nix1_bus_t *bus, double poll_s)
{
    uint64_t t0 = loop_mono_us();
    nix1_bus_set_polling(bus, true);
    while (loop_mono_us() - t0 < (uint64_t)(poll_s * 1e6))
        loop_run_once(loop, 100);
    nix1_bus_set_polling(bus, false);
    /* the poll in flight finishes inside the measured window */
    while (!nix1_bus_idle(bus))
        loop_run_once(loop, 10);
    return (double)(loop_mono_us() - t0) / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: nix1_bus PORTIER_SIM [poll-seconds]\n");
        return 2;
    }
    double poll_s = argc > 2 ? atof(argv[2]) : 10.0;
    nix1_addr_t addrs[NSLAVES];
    for (int i = 0; i < NSLAVES; i++) {
        uint8_t serial[6] = { (uint8_t)(i + 1), 0, 0, 0, 0, 0 };
        nix1_addr_make(&addrs[i], 0x27, serial);
    }
    char dir[] = "/tmp/portier-bench-nix1.XXXXXX";
    if (!mkdtemp(dir) || write_entries(dir, addrs) != 0) {
        perror("bench µSD directory");
        return 1;
    }
    int pfd[2];
    if (pipe(pfd) < 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 2);
        dup2(pfd[1], 1);
        execl(argv[1], argv[1], "nix1", "--slaves", "32", "--configured", "--dir", dir, "--no-stdin", (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    char buf[512] = "";
    size_t n = 0;
    char pts[128] = "";
    while (n < sizeof buf - 1) {
        ssize_t k = read(pfd[0], buf + n, sizeof buf - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
        buf[n] = 0;
        char *p = strstr(buf, "bus on ");
        if (p && strchr(p + 7, ' ') && sscanf(p, "bus on %127s", pts) == 1)
            break;
    }
    if (!pts[0]) {
        fprintf(stderr, "simulator did not start: %s\n", buf);
        return 1;
    }
    loop_t *loop = loop_new();
    char err[200];
    struct xport_serial_opts so = { .baud = BAUD };
    nix1_bus_t *bus = nix1_bus_open(loop, pts, &so, NULL, err, sizeof err);
    if (!bus) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct nix1_bus_listener lis = { .trace = on_trace, .access = on_access, .arg = &g_tally };
    nix1_bus_add_listener(bus, &lis);
    for (int i = 0; i < NSLAVES; i++)
        nix1_bus_add_slave(bus, &addrs[i]);
    struct nix1_bus_stats s0, s1;
    struct tally t0, t1;

    /* 1. polling while the slaves have ACCESS entries: Qe replies carry records */
    nix1_bus_stats(bus, &s0);
    t0 = g_tally;
    double wall = poll_for(loop, bus, poll_s);
    nix1_bus_stats(bus, &s1);
    t1 = g_tally;
    char what[1024];
    snprintf(what, sizeof what, "polling %d slaves with Qe at %d, slaves with ACCESS entries (%d each): %lu records "
             "retrieved", NSLAVES, BAUD, ENTRIES, g_records);
    report(what, &s0, &s1, &t0, &t1, wall);

    /* every slave to "only new entries from now on" (Ne0, §5.10): the idle case */
    for (int i = 0; i < NSLAVES; i++) {
        struct nix1_request_spec rq = { .addr = addrs[i], .cmd = 'N', .arg = 'e', .opt = "0" };
        if (nix1_bus_submit(bus, &rq, on_ne, NULL) > 0)
            g_pending++;
    }
    while (g_pending > 0)
        loop_run_once(loop, -1);

    /* 2. polling idle slaves: every Qe answered 04 */
    nix1_bus_stats(bus, &s0);
    t0 = g_tally;
    unsigned long r0 = g_records;
    wall = poll_for(loop, bus, poll_s);
    nix1_bus_stats(bus, &s1);
    t1 = g_tally;
    unsigned long online = 0;
    for (size_t i = 0; i < nix1_bus_slave_count(bus); i++) {
        struct nix1_slave_info si;
        nix1_bus_slave_info(bus, i, &si);
        online += si.state == NIX1_SLAVE_ONLINE;
    }
    snprintf(what, sizeof what, "polling %d idle slaves with Qe at %d (every Qe answered 04): %lu online, %lu records",
             NSLAVES, BAUD, online, g_records - r0);
    report(what, &s0, &s1, &t0, &t1, wall);

    /* 3. 10 KB upload */
    g_upload_len = 10240;
    char *data = malloc(g_upload_len);
    for (size_t i = 0; i < g_upload_len; i++)
        data[i] = (char)(' ' + (i * 7) % 90);
    nix1_bus_stats(bus, &s0);
    t0 = g_tally;
    uint64_t us0 = loop_mono_us();
    struct nix1_xfer_result xr = { 0 };
    g_done = false;
    struct nix1_xfer_opts xo = { .verify = false };
    if (!nix1_xfer_upload(bus, &addrs[0], "BENCH.TXT", data, g_upload_len, &xo, on_xfer, &xr, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    while (!g_done)
        loop_run_once(loop, -1);
    wall = (double)(loop_mono_us() - us0) / 1e6;
    nix1_bus_stats(bus, &s1);
    t1 = g_tally;
    snprintf(what, sizeof what, "upload 10 KB at %d: %s in %.1f s (%.0f B/s)", BAUD, xr.ok ? "ok" : xr.msg, wall,
             (double)g_upload_len / wall);
    report(what, &s0, &s1, &t0, &t1, wall);
    free(data);

    /* 4. emergency: state already remembered (as the console keeps it), from command to all verified */
    struct nix1_door *d = nix1_door_new(bus);
    struct nix1_door_report rep;
    g_done = false;
    nix1_door_refresh(d, addrs, NSLAVES, on_door, &rep);
    while (!g_done)
        loop_run_once(loop, -1);
    nix1_bus_stats(bus, &s0);
    t0 = g_tally;
    us0 = loop_mono_us();
    g_done = false;
    nix1_door_emergency(d, true, false, on_door, &rep);
    while (!g_done)
        loop_run_once(loop, -1);
    wall = (double)(loop_mono_us() - us0) / 1e6;
    nix1_bus_stats(bus, &s1);
    t1 = g_tally;
    double line = line_s(&s0, &s1), lim = ceiling_s(&t0, &t1, line, -1),
           strict = ceiling_s(&t0, &t1, line, MIN_TURNAROUND_S);
    printf("emergency on, %d slaves: %zu verified, %zu unreachable, %.2f s (%lu broadcasts, %lu unicasts)\n"
           "  spec limit with the simulator's 5 ms reply latency (§5.1) %.2f s; ratio %.2f\n"
           "  stricter: limit with the 2 ms minimum turnaround %.2f s; ratio %.2f\n",
           NSLAVES, rep.ok, rep.unreachable, wall, t1.bcast - t0.bcast + t1.bcast_long - t0.bcast_long, t1.uni - t0.uni,
           lim, wall / lim, strict, wall / strict);
    g_done = false;
    nix1_door_emergency(d, false, false, on_door, &rep);
    while (!g_done)
        loop_run_once(loop, -1);
    nix1_door_free(d);
    nix1_bus_remove_listener(bus, &lis);
    nix1_bus_free(bus);
    loop_free(loop);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
