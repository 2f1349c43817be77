/* c3_catchup: recovering N transactions from a simulated panel (portier-sim c3 in its own process) after a
 * downtime, through the real adapter, catch-up and journal, against the wire time of the same bytes measured in
 * the same run (the same new-records read through the same session and big-data transfer, bytes discarded).
 * What the ratio compares: the catch-up runs from the link-up event (before its read is asked for) to the gap row
 * reaching a subscriber, which comes after every recovered row is stored and the position is committed with a
 * disk sync, so the last recovered row is durable then (the sync covers every earlier commit); the wire runs from
 * asking for the read to its last byte. A third figure, the storage floor: the same recovered events stored into
 * a fresh journal as the loop's thread would store them (batches of the bus's size, relaxed commits, then the
 * position's synchronous commit), no network and no driver. The bench's subscriber copies each recovered event for
 * that floor into a record reserved (and touched) before the round, so the timed figure holds one copy per event,
 * as a console's list would, and none of the bench's own growing.
 * The goal (doc/decisions.md): the median catch-up / wire at most 1.5 on every link a panel can have, paced links
 * up to 12.5 MB/s (--kbps 12500, the line rate of the panels' 100 Mbit Ethernet). A faster link and loopback (no
 * wire at all: the simulator serves the answer in a few milliseconds, storing the rows durably costs several times
 * that) are printed for information. --links runs loopback, 1, 5, 10 and 12.5 MB/s in one invocation and says
 * per link whether the goal is met.
 * Prints the three times and the ratios per round and the medians per link. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/site_config.h"
#include "core/device.h"
#include "core/journal.h"
#include "core/loop.h"
#include "core/tcp.h"
#include "drivers/c3/c3_data.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_session.h"
#include "drivers/c3/c3_xfer.h"
#include "drivers/drivers.h"

extern char **environ;

static loop_t *L;
static FILE *sim_in, *sim_out;

/* ---- the simulator process ---- */

static pid_t sim_start(const char *sim, unsigned port, unsigned rows)
{
    int in[2], out[2];
    if (pipe(in) < 0 || pipe(out) < 0)
        return -1;
    char p[16], t[16];
    snprintf(p, sizeof p, "%u", port);
    snprintf(t, sizeof t, "%u", rows * 2 + 100);
    char *argv[] = { (char *)sim, "c3", "--port", p, "--panels", "1", "--transactions", t, NULL };
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    pid_t pid;
    int rc = posix_spawn(&pid, sim, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    if (rc != 0)
        return -1;
    sim_in = fdopen(in[1], "w");
    sim_out = fdopen(out[0], "r");
    char line[512];
    if (!fgets(line, sizeof line, sim_out) || !strstr(line, "listening"))
        return -1;
    return pid;
}

/* One control command; returns its answer line. */
static const char *sim_cmd(const char *cmd)
{
    static char line[2048];
    fprintf(sim_in, "%s\n", cmd);
    fflush(sim_in);
    if (!fgets(line, sizeof line, sim_out))
        return "error: simulator gone";
    return line;
}

/* ---- the wire baseline: the same read, bytes discarded ---- */

static struct c3_session *wire_s;
static bool wire_done;
static size_t wire_bytes;
static uint64_t wire_end;

static bool until(bool (*cond)(void), unsigned ms)
{
    uint64_t end = loop_mono_us() + (uint64_t)ms * 1000u;
    while (!cond() && loop_mono_us() < end)
        loop_run_once(L, 10);
    return cond();
}

static bool wire_online(void) { return c3_session_state(wire_s) == C3_ST_ONLINE; }
static bool wire_finished(void) { return wire_done; }
static bool wire_stopped(void) { return c3_session_state(wire_s) == C3_ST_DISCONNECTED; }

static void wire_cb(void *arg, int err, const uint8_t *data, size_t len)
{
    (void)arg;
    (void)data;
    wire_end = loop_mono_us();
    wire_done = true;
    wire_bytes = err ? 0 : len;
}

static double wire_read(void)
{
    if (!until(wire_online, 10000))
        return -1;
    struct c3_getdata q = { .table = C3_TABLE_TRANSACTION, .nfields = 8, .new_records = true,
                            .fields = { 1, 2, 3, 4, 5, 6, 7, 8 } };
    struct c3_buf b = { 0 };
    c3_getdata_build(&b, &q);
    struct c3_xfer_opts o = { .prio = C3_PRIO_POLL };
    wire_done = false;
    int err;
    uint64_t t0 = loop_mono_us();
    struct c3_xfer *x = c3_xfer_get(wire_s, C3_CMD_GET_DATA, b.p, b.len, &o, wire_cb, NULL, &err);
    c3_buf_free(&b);
    if (!x || !until(wire_finished, 120000) || !wire_bytes)
        return -1;
    return (double)(wire_end - t0) / 1e3;
}

/* ---- the catch-up: a console that was away ---- */

/* Until the journal's check after opening is done (at most 30 s). */
static void journal_wait_ok(struct journal *j)
{
    for (int i = 0; i < 3000; i++) {
        struct journal_health h;
        journal_health(j, &h);
        if (h.state == JOURNAL_OK)
            return;
        loop_run_once(L, 10);
    }
}

struct console {
    struct site *site;
    struct journal *j;
    uint64_t up_us, gap_us;
    size_t recovered;
    char gap[256];
    struct event *seen;   /* the recovered events as published, for the storage floor */
    size_t nseen, capseen;
};
static struct console C;

static void on_event(const struct event *ev, void *arg)
{
    (void)arg;
    if (ev->kind == EVENT_LINK && ev->code == LINK_UP && !C.up_us)
        C.up_us = loop_mono_us();
    if (ev->kind == EVENT_ACCESS && ev->recovered) {
        C.recovered++;
        if (C.nseen < C.capseen) /* reserved before the round (record_reserve): the bench's own copy, not grown */
            C.seen[C.nseen++] = *ev;
    }
    if (ev->kind == EVENT_GAP && !C.gap_us) {
        C.gap_us = loop_mono_us();
        snprintf(C.gap, sizeof C.gap, "%s", ev->text);
    }
}

/* The record of the recovered events for the storage floor, allocated and touched before the round: growing it
 * while the catch-up runs (reallocations of a thousand bytes per event, first-touch page faults) would put the
 * bench's own bookkeeping into the timed figure. */
static int record_reserve(size_t n)
{
    C.seen = malloc(n * sizeof *C.seen);
    if (!C.seen)
        return -1;
    memset(C.seen, 0xff, n * sizeof *C.seen); /* not 0: malloc and a zeroing memset become a calloc, untouched */
    C.capseen = n;
    return 0;
}

static bool caught_up(void) { return C.gap_us != 0; }
static bool first_contact_done(void) { return C.up_us && C.site->outputs[0].state.sensor != SENSOR_UNKNOWN; }

static int console_start(unsigned port, const char *dir, size_t record)
{
    char conf[1024], err[256], path[512];
    snprintf(conf, sizeof conf,
             "site = { name = \"Bench\"; };\npanels = ( { name = \"P\"; host = \"127.0.0.1\"; port = %u; model = "
             "\"C3-400\"; poll_ms = 1000; timeout_ms = 2000; doors = ( \"D1\", \"D2\", \"D3\", \"D4\" ); } );\n",
             port);
    struct config_diags d;
    free(C.seen);
    memset(&C, 0, sizeof C);
    if (record && record_reserve(record) < 0)
        return -1;
    C.site = site_config_load_string(conf, "bench", &d);
    config_diags_free(&d);
    if (!C.site)
        return -1;
    C.site->loop = L;
    snprintf(path, sizeof path, "%s/journal.db", dir);
    struct journal_opts jo = { .path = path, .loop = L };
    C.j = journal_open(&jo, err, sizeof err);
    if (!C.j) {
        fprintf(stderr, "c3_catchup: journal: %s\n", err);
        return -1;
    }
    /* The journal checks itself after opening: the catch-up waits for that; the bench measures the catch-up. */
    journal_wait_ok(C.j);
    C.site->journal_db = C.j;
    /* as the console: one transaction per loop iteration */
    event_bus_set_batching(site_events(C.site), L, 512);
    journal_attach(C.j, site_events(C.site));
    event_bus_subscribe(site_events(C.site), on_event, NULL);
    if (device_attach_all(C.site, drivers_registry, err, sizeof err) < 0)
        return -1;
    device_start_all(C.site);
    return 0;
}

static void console_stop(void)
{
    event_bus_flush(site_events(C.site));
    device_detach_all(C.site);
    loop_run_once(L, 0);
    journal_close(C.j);
    site_free(C.site);
    C.site = NULL;
}

/* The storage floor: the events the catch-up published, stored again (as new rows: ids cleared) into a fresh
 * journal in batches of the bus's size, then the position's synchronous commit; ms, or -1. */
static double store_floor(const char *dir, unsigned round)
{
    char path[600], err[256];
    snprintf(path, sizeof path, "%s/floor-%u.db", dir, round);
    struct journal_opts jo = { .path = path, .loop = L };
    struct journal *j = journal_open(&jo, err, sizeof err);
    if (!j)
        return -1;
    journal_wait_ok(j);
    enum { BATCH = 512 };
    int rc[BATCH];
    bool ok = true;
    for (size_t i = 0; i < C.nseen; i++)
        C.seen[i].id = 0;
    uint64_t t0 = loop_mono_us();
    for (size_t i = 0; i < C.nseen && ok; i += BATCH) {
        size_t n = C.nseen - i < BATCH ? C.nseen - i : BATCH;
        journal_store_events(j, C.seen + i, n, rc);
        for (size_t k = 0; k < n; k++)
            ok = ok && rc[k] == 1;
    }
    ok = ok && journal_sync_put(j, "P", "floor", 0) == 0;
    uint64_t t1 = loop_mono_us();
    journal_close(j);
    return ok ? (double)(t1 - t0) / 1e3 : -1;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define GOAL_RATIO 1.5
#define PANEL_LINK_MAX_KBPS 12500u /* 100 Mbit/s: the fastest link a C3 panel has */

struct link_result {
    unsigned kbps;
    double ratio, fratio, wire, catchup;
};

static unsigned port_g;

/* rounds rounds over a link paced at kbps (0: loopback); the medians into *res; 0 or -1. */
static int run_link(unsigned kbps, unsigned rows, unsigned rounds, const char *dir, struct link_result *res)
{
    char f[64];
    if (kbps)
        snprintf(f, sizeof f, "fault rate=%u", kbps);
    else
        snprintf(f, sizeof f, "fault none");
    sim_cmd(f);
    double *ratio = calloc(rounds, sizeof *ratio), *fratio = calloc(rounds, sizeof *fratio);
    double *wires = calloc(rounds, sizeof *wires), *cus = calloc(rounds, sizeof *cus);
    if (!ratio || !fratio || !wires || !cus)
        return -1;
    if (kbps)
        printf("c3_catchup: %u transactions per round, link paced at %u kB/s\n", rows, kbps);
    else
        printf("c3_catchup: %u transactions per round, loopback\n", rows);
    for (unsigned r = 0; r < rounds; r++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "burst n=%u", rows);
        sim_cmd(cmd);
        c3_session_start(wire_s);
        double wire = wire_read();
        size_t bytes = wire_bytes;
        if (wire < 0) {
            fprintf(stderr, "c3_catchup: the wire read failed\n");
            return -1;
        }
        /* The panel serves one client: the baseline's connection goes away while the console runs. */
        c3_session_stop(wire_s);
        until(wire_stopped, 5000);
        if (console_start(port_g, dir, rows) < 0 || !until(caught_up, 120000) || C.recovered != rows) {
            fprintf(stderr, "c3_catchup: round %u: %zu recovered of %u (%s)\n", r + 1, C.recovered, rows, C.gap);
            return -1;
        }
        double catchup = (double)(C.gap_us - C.up_us) / 1e3;
        ratio[r] = catchup / wire;
        wires[r] = wire;
        cus[r] = catchup;
        console_stop();
        double floor = store_floor(dir, kbps * 100u + r);
        if (floor < 0) {
            fprintf(stderr, "c3_catchup: round %u: the storage floor's journal failed\n", r + 1);
            return -1;
        }
        fratio[r] = floor / wire;
        printf("  round %u: wire %.1f ms (%zu bytes), catch-up %.1f ms (%zu recovered, journaled), ratio %.2f; "
               "storing alone %.1f ms, ratio %.2f\n",
               r + 1, wire, bytes, catchup, C.recovered, ratio[r], floor, fratio[r]);
    }
    qsort(ratio, rounds, sizeof *ratio, cmp_d);
    qsort(fratio, rounds, sizeof *fratio, cmp_d);
    qsort(wires, rounds, sizeof *wires, cmp_d);
    qsort(cus, rounds, sizeof *cus, cmp_d);
    *res = (struct link_result){ .kbps = kbps, .ratio = ratio[rounds / 2], .fratio = fratio[rounds / 2],
                                 .wire = wires[rounds / 2], .catchup = cus[rounds / 2] };
    free(ratio);
    free(fratio);
    free(wires);
    free(cus);
    return 0;
}

/* What the median means against the goal. */
static const char *verdict(const struct link_result *l)
{
    if (!l->kbps || l->kbps > PANEL_LINK_MAX_KBPS)
        return "information: no panel has this link";
    return l->ratio <= GOAL_RATIO ? "goal met" : "goal not met";
}

static void print_medians(const struct link_result *l)
{
    char name[32];
    if (l->kbps)
        snprintf(name, sizeof name, "%u kB/s", l->kbps);
    else
        snprintf(name, sizeof name, "loopback");
    printf("median ratio catch-up / wire: %.2f (%s; medians: wire %.1f ms, catch-up %.1f ms; goal <= %.1f up to %u "
           "kB/s): %s\n",
           l->ratio, name, l->wire, l->catchup, GOAL_RATIO, PANEL_LINK_MAX_KBPS, verdict(l));
    printf("median ratio storing alone / wire: %.2f (the loop's thread's storage floor for the catch-up)\n", l->fratio);
}

int main(int argc, char **argv)
{
    unsigned rows = 10000, rounds = 3, kbps = 0;
    bool links = false;
    const char *sim = "sim/portier-sim";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc)
            rows = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--kbps") == 0 && i + 1 < argc)
            kbps = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--links") == 0)
            links = true;
        else if (strcmp(argv[i], "--sim") == 0 && i + 1 < argc)
            sim = argv[++i];
        else {
            fprintf(stderr, "usage: c3_catchup [--rows N] [--rounds R] [--kbps K | --links] [--sim PATH]\n"
                            "  K: replies paced at K kilobytes/s (a panel's link); 0 = loopback speed\n"
                            "  --links: loopback, then 1000, 5000, 10000 and 12500 kB/s (100 Mbit/s, the fastest\n"
                            "           link a panel has), each judged against the goal (catch-up / wire <= 1.5)\n");
            return 2;
        }
    }
    if (rows == 0 || rounds == 0 || rounds > 50)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    /* The journal's directory: $TMPDIR (/dev/shm takes the disk out of the figure) or /tmp. */
    char dir[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/portier-bench-catchup.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    setenv("XDG_STATE_HOME", dir, 1);
    port_g = 22000 + (unsigned)(getpid() % 5000);
    pid_t pid = sim_start(sim, port_g, rows);
    if (pid < 0) {
        fprintf(stderr, "c3_catchup: cannot start %s\n", sim);
        return 1;
    }
    L = loop_new();
    /* First contact: the console sees the panel once, so the next start catches up. */
    if (console_start(port_g, dir, 0) < 0 || !until(first_contact_done, 10000)) {
        fprintf(stderr, "c3_catchup: the panel did not come up\n");
        return 1;
    }
    console_stop();

    char err[256];
    struct c3_session_config cfg = { .dialect = C3_DIALECT_AUTO, .request_timeout_ms = 5000, .backoff_min_ms = 50,
                                     .backoff_max_ms = 200 };
    tcp_resolve("127.0.0.1", (uint16_t)port_g, &cfg.addr, err, sizeof err);
    wire_s = c3_session_new(L, &cfg, NULL);

    static const unsigned all[] = { 0, 1000, 5000, 10000, PANEL_LINK_MAX_KBPS };
    size_t nlinks = links ? sizeof all / sizeof all[0] : 1;
    struct link_result res[sizeof all / sizeof all[0]];
    int rc = 0;
    for (size_t i = 0; i < nlinks && rc == 0; i++) {
        rc = run_link(links ? all[i] : kbps, rows, rounds, dir, &res[i]);
        if (rc == 0)
            print_medians(&res[i]);
    }
    if (rc == 0 && links) {
        bool met = true;
        printf("c3_catchup: per link (median of %u rounds): catch-up / wire, storing alone / wire\n", rounds);
        for (size_t i = 0; i < nlinks; i++) {
            char name[32];
            if (res[i].kbps)
                snprintf(name, sizeof name, "%u kB/s", res[i].kbps);
            else
                snprintf(name, sizeof name, "loopback");
            printf("  %-12s %5.2f  %5.2f  %s\n", name, res[i].ratio, res[i].fratio, verdict(&res[i]));
            if (res[i].kbps && res[i].kbps <= PANEL_LINK_MAX_KBPS)
                met = met && res[i].ratio <= GOAL_RATIO;
        }
        printf("c3_catchup: goal %s (catch-up / wire <= %.1f on every panel link up to %u kB/s)\n",
               met ? "met" : "not met", GOAL_RATIO, PANEL_LINK_MAX_KBPS);
    }
    free(C.seen);
    c3_session_free(wire_s);
    loop_free(L);
    sim_cmd("quit");
    waitpid(pid, NULL, 0);
    char rm[600];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    if (rc != 0)
        return 1;
    return system(rm) == 0 ? 0 : 1;
}
