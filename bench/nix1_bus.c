/* nix1_bus benchmark: bus efficiency (useful line time / wall time) while polling 32 slaves with Qe and
 * while uploading a 10 KB file at 9600 baud, and the time from an emergency command to "all slaves
 * verified" as a ratio to the spec's line-timing limit. Runs against `portier-sim nix1` on a pty.
 *   nix1_bus PATH/TO/portier-sim [seconds-of-polling]                                           */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/loop.h"
#include "drivers/nix1/nix1_bus.h"
#include "drivers/nix1/nix1_door.h"
#include "drivers/nix1/nix1_xfer.h"

#define NSLAVES 32

static bool g_done;
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

static double useful_s(const struct nix1_bus_stats *a, const struct nix1_bus_stats *b, unsigned baud)
{
    return (double)(b->tx_chars - a->tx_chars + b->rx_chars - a->rx_chars) * 10.0 / baud;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: nix1_bus PORTIER_SIM [poll-seconds]\n");
        return 2;
    }
    double poll_s = argc > 2 ? atof(argv[2]) : 10.0;
    int pfd[2];
    if (pipe(pfd) < 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 2);
        dup2(pfd[1], 1);
        execl(argv[1], argv[1], "nix1", "--slaves", "32", "--configured", "--no-stdin", (char *)NULL);
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
    struct xport_serial_opts so = { .baud = 9600 };
    nix1_bus_t *bus = nix1_bus_open(loop, pts, &so, NULL, err, sizeof err);
    if (!bus) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    nix1_addr_t addrs[NSLAVES];
    for (int i = 0; i < NSLAVES; i++) {
        uint8_t serial[6] = { (uint8_t)(i + 1), 0, 0, 0, 0, 0 };
        nix1_addr_make(&addrs[i], 0x27, serial);
        nix1_bus_add_slave(bus, &addrs[i]);
    }
    /* 1. polling */
    struct nix1_bus_stats s0, s1;
    nix1_bus_stats(bus, &s0);
    uint64_t t0 = loop_mono_us();
    nix1_bus_set_polling(bus, true);
    while (loop_mono_us() - t0 < (uint64_t)(poll_s * 1e6))
        loop_run_once(loop, 100);
    nix1_bus_set_polling(bus, false);
    double wall = (double)(loop_mono_us() - t0) / 1e6;
    nix1_bus_stats(bus, &s1);
    unsigned long online = 0;
    for (size_t i = 0; i < nix1_bus_slave_count(bus); i++) {
        struct nix1_slave_info si;
        nix1_bus_slave_info(bus, i, &si);
        online += si.state == NIX1_SLAVE_ONLINE;
    }
    printf("polling %d slaves with Qe at 9600: %lu transactions in %.1f s, %lu online, bus efficiency %.1f %%\n",
           NSLAVES, s1.tx_lines - s0.tx_lines, wall, online, 100.0 * useful_s(&s0, &s1, 9600) / wall);
    /* let the poll in flight finish */
    for (int i = 0; i < 20; i++)
        loop_run_once(loop, 50);

    /* 2. 10 KB upload */
    char *data = malloc(10240);
    for (int i = 0; i < 10240; i++)
        data[i] = (char)(' ' + (i * 7) % 90);
    nix1_bus_stats(bus, &s0);
    t0 = loop_mono_us();
    struct nix1_xfer_result xr = { 0 };
    g_done = false;
    struct nix1_xfer_opts xo = { .verify = false };
    if (!nix1_xfer_upload(bus, &addrs[0], "BENCH.TXT", data, 10240, &xo, on_xfer, &xr, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    while (!g_done)
        loop_run_once(loop, -1);
    wall = (double)(loop_mono_us() - t0) / 1e6;
    nix1_bus_stats(bus, &s1);
    printf("upload 10 KB at 9600: %s in %.1f s (%.0f B/s), bus efficiency %.1f %%\n", xr.ok ? "ok" : xr.msg, wall,
           10240 / wall, 100.0 * useful_s(&s0, &s1, 9600) / wall);
    free(data);

    /* 3. emergency: state already remembered (as the console keeps it), from command to all verified */
    struct nix1_door *d = nix1_door_new(bus);
    struct nix1_door_report rep;
    g_done = false;
    nix1_door_snapshot(d, addrs, NSLAVES, on_door, &rep);
    while (!g_done)
        loop_run_once(loop, -1);
    nix1_bus_stats(bus, &s0);
    t0 = loop_mono_us();
    g_done = false;
    nix1_door_emergency(d, true, on_door, &rep);
    while (!g_done)
        loop_run_once(loop, -1);
    wall = (double)(loop_mono_us() - t0) / 1e6;
    nix1_bus_stats(bus, &s1);
    unsigned long bc = s1.broadcasts - s0.broadcasts, uni = s1.tx_lines - s0.tx_lines - bc;
    /* spec line-timing limit: every character at 9600, 100 ms after each broadcast, and for each unicast
     * the 2 ms minimum slave turnaround plus the 5 ms idle gap */
    double limit = useful_s(&s0, &s1, 9600) + bc * 0.100 + uni * 0.007;
    printf("emergency on, %d slaves: %zu verified, %zu unreachable, %.2f s; spec line-timing limit %.2f s; ratio %.2f\n",
           NSLAVES, rep.ok, rep.unreachable, wall, limit, wall / limit);
    g_done = false;
    nix1_door_emergency(d, false, on_door, &rep);
    while (!g_done)
        loop_run_once(loop, -1);
    nix1_door_free(d);
    nix1_bus_free(bus);
    loop_free(loop);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return 0;
}
