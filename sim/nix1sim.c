#include "sim/nix1sim.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/grow.h"
#include "drivers/nix1/nix1_cmd.h"
#include "drivers/nix1/nix1_files.h"
#include "drivers/nix1/nix1_prov.h"
#include "sim/nix1sim_access.h"
#include "sim/nix1sim_ctl.h"

#define MAX_SLAVES 256

/* ---- bus glue ---- */

static void on_line(void *arg, const char *line, size_t len, unsigned flags)
{
    struct nix1sim *sim = arg;
    unsigned baud = nix1sim_bus_baud(sim->bus);
    /* The list may grow while we walk it (never shrinks), so index rather than cache the pointer. */
    for (size_t i = 0; i < sim->nslaves; i++) {
        struct nix1sim_slave *s = sim->slaves[i];
        if (s->cfg.baudrate != baud)
            continue; /* a slave at another rate only sees framing garbage */
        nix1sim_slave_line(s, line, len, flags);
    }
}

static void on_tx(void *arg, struct nix1sim_slave *s, const char *data, size_t len)
{
    struct nix1sim *sim = arg;
    nix1sim_bus_transmit(sim->bus, s, data, len);
}

static void on_baud(void *arg, struct nix1sim_slave *s, unsigned baud)
{
    (void)s;
    struct nix1sim *sim = arg;
    nix1sim_bus_set_baud_after_drain(sim->bus, baud);
}

struct nix1sim_slave *nix1sim_add_slave(struct nix1sim *sim, const nix1_addr_t *addr, bool factory)
{
    if (sim->nslaves >= MAX_SLAVES) {
        errno = ENOSPC;
        return NULL;
    }
    void *nv = grow_array(sim->slaves, sim->nslaves, &sim->cap, sizeof *sim->slaves, 8);
    if (!nv)
        return NULL;
    sim->slaves = nv;
    if (factory) {
        char id[NIX1_ADDR_LEN + 1], path[4096];
        snprintf(path, sizeof path, "%s/%s/CONFIG.TXT", sim->dir, nix1_addr_format(addr, id));
        unlink(path);
    }
    struct nix1sim_slave *s = nix1sim_slave_new(sim->loop, addr, sim->dir, on_tx, on_baud, sim);
    if (!s)
        return NULL;
    s->verbose = sim->verbose;
    sim->slaves[sim->nslaves++] = s;
    return s;
}

struct nix1sim_slave *nix1sim_find(struct nix1sim *sim, const char *key)
{
    if (!key)
        return NULL;
    for (size_t i = 0; i < sim->nslaves; i++)
        if (nix1_addr_text_equal(key, sim->slaves[i]->id))
            return sim->slaves[i];
    uint64_t idx;
    if (nix1_parse_uint(key, strlen(key), MAX_SLAVES, &idx) && idx >= 1 && idx <= sim->nslaves)
        return sim->slaves[idx - 1];
    return NULL;
}

uint64_t nix1sim_rand(struct nix1sim *sim, uint64_t n)
{
    /* xorshift64*: reproducible with --seed */
    uint64_t x = sim->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    sim->rng = x;
    return n ? (x * 0x2545F4914F6CDD1Dull) % n : 0;
}

/* ---- scripted activity ---- */

/* The uids with a right on unit (from <unit>U.* on the slave's card). */
static size_t rights_uids(struct nix1sim_slave *s, int unit, char (*uids)[NIX1_UID_MAX + 1], size_t max)
{
    char(*names)[NIX1SIM_NAME_MAX];
    size_t *sizes, n = 0;
    int cnt = nix1sim_store_list(&s->store, NULL, &names, &sizes);
    if (cnt < 0)
        return 0;
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%dU.", unit);
    for (int i = 0; i < cnt && n < max; i++) {
        if (strncmp(names[i], prefix, strlen(prefix)) != 0)
            continue;
        char *d;
        size_t len;
        if (nix1sim_store_read(&s->store, names[i], &d, &len) != NIX1SIM_STORE_OK)
            continue;
        struct nix1_rights r = { 0 };
        struct nix1_diag diag = { 0 };
        nix1_files_read_unit_rights(names[i], (uint32_t)unit, d, len, &r, &diag);
        for (size_t k = 0; k < r.n && n < max; k++)
            snprintf(uids[n++], NIX1_UID_MAX + 1, "%s", r.v[k].uid);
        nix1_rights_free(&r);
        nix1_diag_free(&diag);
        free(d);
    }
    free(names);
    free(sizes);
    return n;
}

static void activity_cb(loop_t *loop, void *arg)
{
    struct nix1sim *sim = arg;
    /* Candidates: enabled, running slaves with at least one unit. */
    struct nix1sim_slave *pick = NULL;
    unsigned probe = 1;
    for (int tries = 0; tries < 8 && !pick && sim->nslaves > 0; tries++) {
        struct nix1sim_slave *s = sim->slaves[nix1sim_rand(sim, sim->nslaves)];
        unsigned p = (unsigned)nix1sim_rand(sim, 2) + 1;
        if (nix1sim_slave_unit(s, p) < 0)
            p = 3 - p;
        if (s->cfg.enable && nix1sim_slave_listening(s) && nix1sim_slave_unit(s, p) >= 0) {
            pick = s;
            probe = p;
        }
    }
    if (pick) {
        static char uids[64][NIX1_UID_MAX + 1];
        size_t n = rights_uids(pick, nix1sim_slave_unit(pick, probe), uids, 64);
        uint64_t roll = nix1sim_rand(sim, 100);
        struct nix1sim_ibutton b;
        char visitor[32];
        if (n == 0 || roll < 5) {
            snprintf(visitor, sizeof visitor, "Visitor %u", (unsigned)nix1sim_rand(sim, 1000));
            nix1sim_ibutton_init(&b, visitor); /* unknown user: 55 */
        } else {
            nix1sim_ibutton_init(&b, uids[nix1sim_rand(sim, n)]);
            if (roll < 10) {
                b.has_inc = true; /* lost key with an old increment: 43 */
                b.inc = 99;
            } else if (roll < 14) {
                b.valid = false; /* tampered credential: 48 */
            } else if (roll < 17) {
                b.readable = false; /* dirty contact: 49 */
            }
        }
        struct nix1sim_decision d;
        nix1sim_access_present(pick, probe, &b, &d);
        if (sim->verbose && d.outcome == NIX1SIM_DECIDED)
            fprintf(stderr, "nix1 activity: %s probe %u uid=%s rc=%02X\n", pick->id, probe, b.uid, d.rc);
    }
    /* Exponential inter-arrival times: a Poisson process at the requested rate. */
    double u = ((double)nix1sim_rand(sim, 1000000) + 1.0) / 1000001.0;
    double wait_s = -log(u) / sim->activity;
    if (wait_s > 3600)
        wait_s = 3600;
    loop_timer_arm_us(loop, &sim->activity_timer, (uint64_t)(wait_s * 1e6) + 1000u);
}

/* ---- demo data ---- */

static const char demo_keys[] = "1350028169\t[Z}4V;qr$(/Kc_aiF7#K8tATNC\n1349094539\tIdRPKslg\\?/\n";
static const char *const demo_users[][2] = {
    { "Arthur Dent", "3" }, { "Ford Prefect", "0" }, { "Trillian", "1" }, { "Zaphod Beeblebrox", "0" },
    { "Marvin", "0" },
};

int nix1sim_demo_files(const int *units, size_t n, struct nix1_keys *keys, struct nix1_users *users,
                       struct nix1_rights *rights)
{
    struct nix1_diag diag = { 0 };
    char *ubuf = NULL, *rbuf = NULL;
    size_t ulen = 0, rlen = 0;
    FILE *u = open_memstream(&ubuf, &ulen), *r = open_memstream(&rbuf, &rlen);
    if (!u || !r) {
        if (u)
            fclose(u);
        if (r)
            fclose(r);
        free(ubuf);
        free(rbuf);
        return -1;
    }
    for (size_t i = 0; i < sizeof demo_users / sizeof demo_users[0]; i++) {
        fprintf(u, "%s\t1349094539\t%s\n", demo_users[i][0], demo_users[i][1]);
        for (size_t k = 0; k < n; k++)
            if (units[k] >= 0)
                fprintf(r, "%d\t%s\t%s\n", units[k], demo_users[i][0], i == 3 ? "* 8-17 * * 1-5" : "* * * * *");
    }
    fclose(u);
    fclose(r);
    int rc = 0;
    if (nix1_files_read_keys("demo keys", demo_keys, strlen(demo_keys), keys, &diag) < 0 ||
        nix1_files_read_users("demo users", ubuf, ulen, users, &diag) < 0 ||
        nix1_files_read_cron("demo rights", rbuf, rlen, rights, &diag) < 0)
        rc = -1;
    free(ubuf);
    free(rbuf);
    nix1_diag_free(&diag);
    return rc;
}

/* Write KEYS.TXT, USERS.<C> and <unit>U.<C> for every slave, from server files or the built-in demo set. */
static int provision(struct nix1sim *sim, const char *serverdir)
{
    struct nix1_keys keys = { 0 };
    struct nix1_users users = { 0 };
    struct nix1_rights rights = { 0 };
    struct nix1_diag diag = { 0 };
    int rc = 0;
    if (serverdir) {
        char err[4200];
        rc = nix1_prov_read_server(serverdir, false, &keys, &users, &rights, &diag, err, sizeof err) < 0 ? -1 : 0;
        if (rc < 0)
            fprintf(stderr, "portier-sim nix1: server files: %s\n", err);
        if (diag.count > 0 && diag.text)
            fprintf(stderr, "portier-sim nix1: problems in the server files (lines skipped):\n%s", diag.text);
    } else {
        int *units = calloc(2 * sim->nslaves + 1, sizeof *units);
        for (size_t k = 0; units && k < sim->nslaves; k++)
            for (unsigned p = 1; p <= 2; p++)
                units[2 * k + p - 1] = nix1sim_slave_unit(sim->slaves[k], p);
        if (!units || nix1sim_demo_files(units, 2 * sim->nslaves, &keys, &users, &rights) != 0)
            rc = -1;
        free(units);
    }
    for (size_t k = 0; k < sim->nslaves && rc == 0; k++) {
        struct nix1sim_slave *s = sim->slaves[k];
        uint32_t units[2];
        size_t nu = 0;
        for (unsigned p = 1; p <= 2; p++)
            if (nix1sim_slave_unit(s, p) >= 0)
                units[nu++] = (uint32_t)nix1sim_slave_unit(s, p);
        struct nix1_genset g = { 0 };
        if (nix1_files_generate(&keys, &users, &rights, units, nu, false, &g) != 0) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < g.n; i++)
            nix1sim_store_write(&s->store, g.v[i].name, g.v[i].data, g.v[i].len);
        nix1_genset_free(&g);
    }
    nix1_keys_free(&keys);
    nix1_users_free(&users);
    nix1_rights_free(&rights);
    nix1_diag_free(&diag);
    return rc;
}

/* ---- main ---- */

static void on_signal(loop_t *loop, int signo, void *arg)
{
    (void)signo;
    (void)arg;
    loop_stop(loop);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void usage_err(const char *msg)
{
    fprintf(stderr, "portier-sim nix1: %s\n%s\n", msg, nix1sim_kind.usage);
}

static int nix1sim_main(int argc, char **argv)
{
    enum { O_SLAVES = 256, O_ADDRESS, O_TCP, O_BAUD, O_DIR, O_CONFIGURED, O_FILES, O_CONTROL, O_SEED, O_ACTIVITY,
           O_NO_STDIN, O_VERBOSE, O_HELP, O_LINK };
    static const struct option opts[] = {
        { "slaves", required_argument, NULL, O_SLAVES }, { "address", required_argument, NULL, O_ADDRESS },
        { "tcp", required_argument, NULL, O_TCP }, { "baud", required_argument, NULL, O_BAUD },
        { "dir", required_argument, NULL, O_DIR }, { "configured", no_argument, NULL, O_CONFIGURED },
        { "files", required_argument, NULL, O_FILES }, { "control", required_argument, NULL, O_CONTROL },
        { "seed", required_argument, NULL, O_SEED }, { "activity", required_argument, NULL, O_ACTIVITY },
        { "no-stdin", no_argument, NULL, O_NO_STDIN }, { "verbose", no_argument, NULL, O_VERBOSE },
        { "help", no_argument, NULL, O_HELP }, { "link", required_argument, NULL, O_LINK },
        { NULL, 0, NULL, 0 },
    };
    uint64_t nslaves = 3, baud = 9600, seed = 1;
    long tcp = -1;
    nix1_addr_t addrs[MAX_SLAVES];
    size_t naddrs = 0;
    const char *dir = NULL, *files = NULL, *control = NULL, *link = NULL;
    bool configured = false, use_stdin = true, verbose = false, nslaves_given = false;
    double activity = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
        uint64_t v;
        char *end;
        switch (c) {
        case O_SLAVES:
            if (!nix1_parse_uint(optarg, strlen(optarg), MAX_SLAVES, &nslaves) || nslaves == 0) {
                usage_err("--slaves must be 1-256");
                return 2;
            }
            nslaves_given = true;
            break;
        case O_ADDRESS:
            if (naddrs >= MAX_SLAVES || nix1_addr_parse_str(optarg, &addrs[naddrs]) != 0) {
                usage_err("--address must be 16 hex digits");
                return 2;
            }
            naddrs++;
            break;
        case O_TCP:
            if (!nix1_parse_uint(optarg, strlen(optarg), 65535, &v)) {
                usage_err("--tcp must be a port 0-65535");
                return 2;
            }
            tcp = (long)v;
            break;
        case O_BAUD:
            if (!nix1_parse_uint(optarg, strlen(optarg), 115200, &baud) || !nix1_baud_valid(baud)) {
                usage_err("--baud must be 1200, 2400, 4800, 9600, 19200, 38400, 57600 or 115200");
                return 2;
            }
            break;
        case O_DIR: dir = optarg; break;
        case O_CONFIGURED: configured = true; break;
        case O_FILES: files = optarg; configured = true; break;
        case O_CONTROL: control = optarg; break;
        case O_LINK: link = optarg; break;
        case O_SEED:
            if (!nix1_parse_uint(optarg, strlen(optarg), UINT64_MAX, &seed)) {
                usage_err("--seed must be a number");
                return 2;
            }
            break;
        case O_ACTIVITY:
            errno = 0;
            activity = strtod(optarg, &end);
            if (errno || *end || !(activity >= 0 && activity <= 1000)) {
                usage_err("--activity must be 0-1000 presentations per second");
                return 2;
            }
            break;
        case O_NO_STDIN: use_stdin = false; break;
        case 'v':
        case O_VERBOSE: verbose = true; break;
        case O_HELP: printf("%s\n", nix1sim_kind.usage); return 0;
        default: usage_err("bad option"); return 2;
        }
    }
    if (optind < argc) {
        usage_err("unexpected argument");
        return 2;
    }
    /* Default addresses 27 0i 00 00 00 00 00 + CRC-8, after the explicit ones. */
    size_t total = naddrs > 0 && !nslaves_given ? naddrs : (naddrs > nslaves ? naddrs : (size_t)nslaves);
    for (unsigned i = 1; naddrs < total; i++) {
        uint8_t serial[6] = { (uint8_t)i, (uint8_t)(i >> 8), 0, 0, 0, 0 };
        nix1_addr_t a;
        nix1_addr_make(&a, 0x27, serial);
        bool dup = false;
        for (size_t k = 0; k < naddrs; k++)
            dup = dup || nix1_addr_equal(&a, &addrs[k]);
        if (!dup)
            addrs[naddrs++] = a;
    }

    struct nix1sim sim = { .verbose = verbose, .activity = activity, .rng = seed ? seed : 0x9E3779B97F4A7C15ull };
    char tmpdir[] = "/tmp/portier-nix1sim.XXXXXX";
    bool own_dir = false;
    if (!dir) {
        if (!mkdtemp(tmpdir)) {
            fprintf(stderr, "portier-sim nix1: mkdtemp: %s\n", strerror(errno));
            return 1;
        }
        dir = tmpdir;
        own_dir = true;
    }
    sim.dir = strdup(dir);
    signal(SIGPIPE, SIG_IGN);
    sim.loop = loop_new();
    sim.bus = sim.loop ? nix1sim_bus_new(sim.loop, (unsigned)baud, on_line, &sim) : NULL;
    int rc = 0;
    struct nix1sim_ctl *ctl = NULL;
    if (!sim.bus || !sim.dir) {
        fprintf(stderr, "portier-sim nix1: out of memory\n");
        rc = 1;
        goto out;
    }
    loop_add_signal(sim.loop, SIGINT, on_signal, &sim);
    loop_add_signal(sim.loop, SIGTERM, on_signal, &sim);
    for (size_t i = 0; i < naddrs; i++) {
        struct nix1sim_slave *s = nix1sim_add_slave(&sim, &addrs[i], false);
        if (!s) {
            fprintf(stderr, "portier-sim nix1: cannot create the µSD of slave %zu in %s: %s\n", i + 1, dir,
                    strerror(errno));
            rc = 1;
            goto out;
        }
        /* The line runs at --baud: slaves start there too (a BAUDRATE kept on the card is overridden). */
        s->cfg.baudrate = (uint32_t)baud;
        if (configured)
            nix1sim_slave_preconfigure(s, (int)(2 * i + 1), (int)(2 * i + 2));
        else
            nix1sim_slave_save_config(s);
    }
    if (configured && provision(&sim, files) != 0) {
        rc = 1;
        goto out;
    }
    char where[256];
    if (tcp >= 0) {
        unsigned port = 0;
        if (nix1sim_bus_listen_tcp(sim.bus, (unsigned)tcp, &port) < 0) {
            fprintf(stderr, "portier-sim nix1: cannot listen on 127.0.0.1:%ld: %s\n", tcp, strerror(errno));
            rc = 1;
            goto out;
        }
        snprintf(where, sizeof where, "tcp 127.0.0.1:%u", port);
    } else {
        char path[128];
        if (nix1sim_bus_open_pty(sim.bus, path, sizeof path) < 0) {
            fprintf(stderr, "portier-sim nix1: cannot open a pseudo-terminal: %s\n", strerror(errno));
            rc = 1;
            goto out;
        }
        if (link && nix1sim_bus_set_link(sim.bus, link) < 0) {
            fprintf(stderr, "portier-sim nix1: cannot make the link %s: %s\n", link, strerror(errno));
            rc = 1;
            goto out;
        }
        snprintf(where, sizeof where, "%s", nix1sim_bus_where(sim.bus));
    }
    ctl = nix1sim_ctl_new(&sim, use_stdin, control);
    if (!ctl) {
        fprintf(stderr, "portier-sim nix1: cannot open the control socket %s: %s\n", control ? control : "-",
                strerror(errno));
        rc = 1;
        goto out;
    }
    printf("portier-sim nix1: bus on %s (%zu slave%s)\n", where, sim.nslaves, sim.nslaves == 1 ? "" : "s");
    printf("portier-sim nix1: uSD cards in %s, %u baud%s%s\n", dir, (unsigned)baud, control ? ", control on " : "",
           control ? control : "");
    fflush(stdout);
    if (activity > 0) {
        loop_timer_init(&sim.activity_timer, activity_cb, &sim);
        loop_timer_arm_ms(sim.loop, &sim.activity_timer, 200);
    }
    if (loop_run(sim.loop) < 0) {
        fprintf(stderr, "portier-sim nix1: poll: %s\n", strerror(errno));
        rc = 1;
    }
out:
    nix1sim_ctl_free(ctl);
    if (sim.loop)
        loop_timer_disarm(sim.loop, &sim.activity_timer);
    for (size_t i = 0; i < sim.nslaves; i++)
        nix1sim_slave_free(sim.slaves[i]);
    free(sim.slaves);
    nix1sim_bus_free(sim.bus);
    loop_free(sim.loop);
    if (own_dir)
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(sim.dir);
    return rc;
}

const struct sim_kind nix1sim_kind = {
    .name = "nix1",
    .main = nix1sim_main,
    .usage = "  nix1 [--slaves N] [--address ADDR16]... [--tcp PORT] [--baud RATE] [--dir DIR] [--configured]\n"
             "       [--files SERVERDIR] [--control SOCKPATH] [--no-stdin] [--seed S --activity RATE] [--link PATH] [-v]\n"
             "       a bus of NiX1 door slaves on a pseudo-terminal (default; --link keeps a stable path to it) or\n"
             "       127.0.0.1:PORT; control commands on stdin and SOCKPATH (help, present, card, mute, garble, reboot,\n"
             "       unplug, add-unconfigured, clock, flash-fail, status, quit)",
};
