/* bench emergency: time from the emergency command to every door confirmed, through the real action path
 * (core/action → drivers → C3 panels and NiX1 buses of portier-sim). Prints the ratios of the brief:
 *   C3:   all C3 doors confirmed / (4 × median panel round trip measured in the same run)
 *   NiX1: when the first (Nl1 0) and the last (No1, 4th) of the four emergency broadcasts went out, the last
 *         one against 0.5 s; and all probes verified / the spec §5.1 line-timing limit, computed with the
 *         simulator's reply latency (§5.1 "Simulator defaults: 5 ms"), and a stricter line computed with the
 *         2 ms minimum slave turnaround
 * usage: emergency CONFIG     (bench/emergency.sh starts the simulators and writes CONFIG) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/site_config.h"
#include "core/action.h"
#include "core/device.h"
#include "core/journal.h"
#include "drivers/c3/c3_device.h"
#include "drivers/drivers.h"
#include "drivers/nix1/nix1_device.h"

struct bench {
    struct site *site;
    loop_t *loop;
    uint64_t t0;
    uint64_t *done_us;          /* per output, 0 = not yet */
    bool finished;
    enum action_status status;
    uint64_t bcast_first_us[64]; /* per NiX1 device (index into site devices): first broadcast handed to the line */
    uint64_t bcast_us[64];       /* per NiX1 device: the last broadcast (No1) handed to the line */
    struct nix1_bus_listener lis[64];
};

static struct bench B;

static void on_trace(void *arg, bool tx, const char *line, size_t len)
{
    size_t d = (size_t)(uintptr_t)arg;
    if (getenv("BENCH_TRACE") && loop_mono_us() - B.t0 < 3000000u)
        fprintf(stderr, "%8.1f ms bus%zu %s %.*s\n", (loop_mono_us() - B.t0) / 1e3, d, tx ? ">" : "<", (int)len, line);
    if (tx && len >= 16 && memcmp(line, "27FFFFFFFFFFFF4E", 16) == 0 && d < 64 && !B.bcast_first_us[d])
        B.bcast_first_us[d] = loop_mono_us() - B.t0;
    if (tx && len >= 19 && memcmp(line, "27FFFFFFFFFFFF4ENo1", 19) == 0 && d < 64 && !B.bcast_us[d])
        B.bcast_us[d] = loop_mono_us() - B.t0;
}

static void on_progress(const struct action_run *run, bool finished, void *arg)
{
    (void)arg;
    uint64_t now = loop_mono_us() - B.t0;
    for (size_t i = 0; i < run->n_results; i++) {
        const struct action_target_result *t = &run->results[i];
        if (t->output < B.site->n_outputs && t->progress != PROGRESS_PENDING && !B.done_us[t->output])
            B.done_us[t->output] = now ? now : 1;
    }
    if (finished) {
        B.finished = true;
        B.status = run->status;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Characters of the four emergency broadcasts: "27FFFFFFFFFFFF4E" + "Nl1\t0" LF, "Nl2\t0" LF, "Nh* * * * *" LF,
 * "No1" LF. */
#define NIX1_BCAST_CHARS(i) ((i) == 2 ? 28 : (i) == 3 ? 20 : 22)
#define NIX1_SIM_LATENCY_S 0.005   /* §5.1 "Simulator defaults: 5 ms" for RAM/CONFIG commands (Ql, Qh, Qo) */
#define NIX1_MIN_TURNAROUND_S 0.002 /* §5.1 slave minimum turnaround: the strictest any slave may answer */

/* §5.1: the earliest the last (4th) broadcast can start after the first one did: three broadcasts on the
 * line, each followed by the 100 ms gap. */
static double nix1_last_bcast_min_s(unsigned baud)
{
    return (NIX1_BCAST_CHARS(0) + NIX1_BCAST_CHARS(1) + NIX1_BCAST_CHARS(2)) * 10.0 / baud + 3 * 0.100;
}

/* §5.1 wire time for the emergency of n slaves: 4 broadcasts with their 100 ms gaps, then per slave Ql1 Ql2
 * Qh Qo and their replies, each with the slave's reply latency (turnaround_s) and the 5 ms idle gap. */
static double nix1_limit_s(size_t n, unsigned baud, double turnaround_s)
{
    double ch = 10.0 / baud;
    double bcast = (NIX1_BCAST_CHARS(0) + NIX1_BCAST_CHARS(1) + NIX1_BCAST_CHARS(2) + NIX1_BCAST_CHARS(3)) * ch +
                   4 * 0.100;
    /* requests ADDR Ql1 LF (20), Ql2 (20), Qh (19), Qo (19); replies ADDR rc cmd arg TAB payload LF:
     * Ql 23, Ql 23, Qh with "* * * * *" 31, Qo 23 */
    double per = (20 + 20 + 19 + 19 + 23 + 23 + 31 + 23) * ch + 4 * (turnaround_s + 0.005);
    return bcast + (double)n * per;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: emergency CONFIG\n");
        return 2;
    }
    struct config_diags d;
    B.site = site_config_load(argv[1], &d);
    if (!B.site) {
        config_diags_print(&d, stderr);
        config_diags_free(&d);
        return 2;
    }
    config_diags_free(&d);
    struct site *site = B.site;
    B.loop = loop_new();
    site->loop = B.loop;
    char err[256];
    struct journal_opts jo = { .path = site->journal.path, .loop = B.loop };
    struct journal *j = journal_open(&jo, err, sizeof err);
    if (!j) {
        fprintf(stderr, "journal: %s\n", err);
        return 1;
    }
    site->journal_db = j;
    event_bus_set_journal(site_events(site), journal_store_hook, j);
    /* As the console does: one transaction and one sync per loop iteration under the event flood. */
    event_bus_set_batching(site_events(site), B.loop, 512);
    if (device_attach_all(site, drivers_registry, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    device_start_all(site);
    /* Wait until every device is up and every NiX1 slave answered (the start-up snapshot is done). */
    uint64_t deadline = loop_mono_us() + 60000000u;
    for (;;) {
        bool ready = true;
        for (size_t i = 0; i < site->n_devices; i++) {
            struct site_device *sd = &site->devices[i];
            if (sd->link != LINK_UP)
                ready = false;
            struct nix1_door *door = sd->drv ? nix1_device_door(sd->drv) : NULL;
            if (door && (nix1_door_busy(door) || !nix1_bus_idle(nix1_device_bus(sd->drv))))
                ready = false;
            for (size_t k = 0; door && k < nix1_door_count(door); k++)
                if (!nix1_door_at(door, k)->known)
                    ready = false;
        }
        if (ready)
            break;
        if (loop_mono_us() > deadline) {
            fprintf(stderr, "devices not ready within 60 s\n");
            return 1;
        }
        loop_run_once(B.loop, 100);
    }
    /* Let a few RT-log polls run so the round-trip statistics are from this run. */
    uint64_t settle = loop_mono_us() + 1500000u;
    while (loop_mono_us() < settle)
        loop_run_once(B.loop, 100);
    for (size_t i = 0; i < site->n_devices && i < 64; i++) {
        nix1_bus_t *bus = site->devices[i].drv ? nix1_device_bus(site->devices[i].drv) : NULL;
        if (bus) {
            B.lis[i] = (struct nix1_bus_listener){ .trace = on_trace, .arg = (void *)(uintptr_t)i };
            nix1_bus_add_listener(bus, &B.lis[i]);
        }
    }
    B.done_us = calloc(site->n_outputs, sizeof *B.done_us);
    /* Round trips are counted from here: the median is of this run's emergency window. */
    uint64_t *sum0 = calloc(site->n_devices + 1, sizeof *sum0), *cnt0 = calloc(site->n_devices + 1, sizeof *cnt0);
    for (size_t i = 0; sum0 && cnt0 && i < site->n_devices; i++) {
        struct c3_session *s = site->devices[i].drv ? c3_device_session(site->devices[i].drv) : NULL;
        if (s) {
            sum0[i] = c3_session_stats(s)->rtt_sum_us;
            cnt0[i] = c3_session_stats(s)->rtt_count;
        }
    }
    struct action_user user = { .name = "bench", .role = ROLE_OPERATOR };
    B.t0 = loop_mono_us();
    if (action_run(site, &user, ACTION_EMERGENCY_ON, NULL, NULL, on_progress, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "emergency: %s\n", err);
        return 1;
    }
    while (!B.finished)
        loop_run_once(B.loop, 100);

    /* C3: doors confirmed; median of each panel's mean round trip during the run. */
    uint64_t c3_last = 0, nix_last[64] = { 0 };
    size_t c3_doors = 0, nix_probes[64] = { 0 }, nix_slaves[64] = { 0 };
    unsigned nix_baud[64] = { 0 };
    uint64_t *rtt = calloc(site->n_devices + 1, sizeof *rtt);
    size_t nrtt = 0;
    for (size_t i = 0; i < site->n_outputs; i++) {
        const struct site_output *o = &site->outputs[i];
        const struct site_device *sd = &site->devices[o->device];
        if (o->progress != PROGRESS_OK)
            continue;
        if (sd->panel) {
            c3_doors++;
            if (B.done_us[i] > c3_last)
                c3_last = B.done_us[i];
        } else if (o->device < 64) {
            nix_probes[o->device]++;
            if (B.done_us[i] > nix_last[o->device])
                nix_last[o->device] = B.done_us[i];
        }
    }
    for (size_t i = 0; i < site->n_devices; i++) {
        struct c3_session *s = site->devices[i].drv ? c3_device_session(site->devices[i].drv) : NULL;
        if (s) {
            const struct c3_session_stats *st = c3_session_stats(s);
            uint64_t cnt = st->rtt_count - (cnt0 ? cnt0[i] : 0), sum = st->rtt_sum_us - (sum0 ? sum0[i] : 0);
            if (cnt)
                rtt[nrtt++] = sum / cnt;
        }
        if (site->devices[i].bus && i < 64) {
            nix_slaves[i] = site->devices[i].bus->n_slaves;
            nix_baud[i] = site->devices[i].bus->baud;
        }
    }
    qsort(rtt, nrtt, sizeof *rtt, cmp_u64);
    uint64_t med = nrtt ? (nrtt % 2 ? rtt[nrtt / 2] : (rtt[nrtt / 2 - 1] + rtt[nrtt / 2]) / 2) : 0;
    printf("emergency on: %s, %zu outputs\n", action_status_name(B.status), site->n_outputs);
    if (nrtt) {
        printf("C3: %zu panels, %zu doors confirmed in %.1f ms; median panel round trip (emergency window) %.2f ms; "
               "ratio to 4 round trips = %.2f\n",
               nrtt, c3_doors, c3_last / 1e3, med / 1e3, med ? (double)c3_last / (4.0 * (double)med) : 0.0);
    }
    for (size_t i = 0; i < site->n_devices && i < 64; i++) {
        if (!site->devices[i].bus)
            continue;
        unsigned baud = nix_baud[i] ? nix_baud[i] : 9600;
        double lim = nix1_limit_s(nix_slaves[i], baud, NIX1_SIM_LATENCY_S);
        double strict = nix1_limit_s(nix_slaves[i], baud, NIX1_MIN_TURNAROUND_S);
        double last_end_ms = B.bcast_us[i] / 1e3 + NIX1_BCAST_CHARS(3) * 1e4 / baud;
        printf("NiX1 %s: %zu slaves, %zu probes\n"
               "  broadcasts (times from the command, when each line is handed to the port): first (Nl1 0) %.1f ms, "
               "last (No1, 4th) %.1f ms, its last character on the wire at %.1f ms; last one's start against 0.5 s: "
               "ratio %.2f (the §5.1 gaps alone put it >= %.0f ms after the first)\n"
               "  all verified in %.1f ms; §5.1 limit with the simulator's 5 ms reply latency %.0f ms: ratio %.2f\n"
               "  stricter: §5.1 limit with the 2 ms minimum slave turnaround %.0f ms: ratio %.2f\n",
               site->devices[i].name, nix_slaves[i], nix_probes[i], B.bcast_first_us[i] / 1e3, B.bcast_us[i] / 1e3,
               last_end_ms, B.bcast_us[i] / 5e5, nix1_last_bcast_min_s(baud) * 1e3, nix_last[i] / 1e3, lim * 1e3,
               (double)nix_last[i] / 1e6 / lim, strict * 1e3, (double)nix_last[i] / 1e6 / strict);
    }
    int rc = B.status == ACTION_OK ? 0 : 1;
    /* Put everything back. */
    B.finished = false;
    if (action_run(site, &user, ACTION_EMERGENCY_OFF, NULL, NULL, on_progress, NULL, err, sizeof err) == 0)
        while (!B.finished)
            loop_run_once(B.loop, 100);
    printf("emergency off: %s\n", action_status_name(B.status));
    for (size_t i = 0; i < site->n_devices && i < 64; i++) {
        nix1_bus_t *bus = site->devices[i].drv ? nix1_device_bus(site->devices[i].drv) : NULL;
        if (bus)
            nix1_bus_remove_listener(bus, &B.lis[i]);
    }
    device_detach_all(site);
    loop_run_once(B.loop, 0);
    event_bus_flush(site_events(site));
    journal_close(j);
    site->journal_db = NULL;
    site_free(site);
    loop_free(B.loop);
    free(B.done_us);
    free(rtt);
    free(sum0);
    free(cnt0);
    return rc;
}
