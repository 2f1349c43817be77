/* Unit tests for the NiX1 adapter: three simulated slaves (sim/nix1sim_*) on a pseudo-terminal in the same
 * process and loop, a site from configuration text, the adapter attached through the registry. Checks link
 * and dead-slave detail, ACCESS entries as events, hold/release, lock-out, the bus-wide emergency (§5.14)
 * with restore of cron, cron mode and lock-outs, a partial emergency, and results of an unreachable slave;
 * slave settings (set with per-field results, read back), timed-open windows left by a previous run, and Qe
 * rounds paced by poll_ms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/site_config.h"
#include "core/device.h"
#include "drivers/drivers.h"
#include "core/cron.h"
#include "drivers/nix1/nix1_device.h"
#include "drivers/nix1/nix1_rc.h"
#include "sim/nix1sim_access.h"
#include "sim/nix1sim_bus.h"
#include "sim/nix1sim_slave.h"

#include "fixture.h"
#include "fixture_site.h"

#define NS 3
static const char *const ADDR[NS] = { "270100000000006B", "2702000000000032", "2703000000000005" };

struct fx {
    loop_t *loop;
    struct nix1sim_bus *bus;
    struct nix1sim_slave *sl[NS];
    char dir[64];
    struct site *site;
    struct device *dev;
    struct fx_cmd cmd;       /* the last command's results */
    int gets;
    struct device_setting got[DEVICE_SETTINGS_MAX];
    size_t ngot;
    char got_err[200];
    int ev_access;
    struct event last_access;
    int ev_gap;
    struct event last_gap;
    bool s2_shown_open; /* S2's door was shown open until a time (a timed-open window), S2 remembered held */
};

static struct fx F;

/* Set by the leftover test: S2's clock is put this many seconds before its window's end whenever the adapter
 * reads it (Qt) before it knows the window's end, so the window is still running at the check however long
 * the start (or a retried check) took. */
static time_t s2_window_end;
#define S2_WINDOW_LEFT 4

static void s2_clock_at_check(const char *line, size_t len)
{
    if (!s2_window_end || len < 18 || memcmp(line, ADDR[1], 16) != 0 || memcmp(line + 16, "Qt", 2) != 0)
        return;
    nix1_addr_t a;
    assert_int_equal(nix1_addr_parse_str(ADDR[1], &a), 0);
    const struct nix1_door_slave *ds = F.dev ? nix1_door_find(nix1_device_door(F.dev), &a) : NULL;
    if (!ds || !ds->held_until_us)
        nix1sim_slave_set_time(F.sl[1], (int64_t)s2_window_end - S2_WINDOW_LEFT);
}

static void sim_on_line(void *arg, const char *line, size_t len, unsigned flags)
{
    (void)arg;
    s2_clock_at_check(line, len);
    for (size_t i = 0; i < NS; i++)
        nix1sim_slave_line(F.sl[i], line, len, flags);
}

static void sim_tx(void *arg, struct nix1sim_slave *s, const char *data, size_t len)
{
    (void)arg;
    nix1sim_bus_transmit(F.bus, s, data, len);
}

static void sim_baud(void *arg, struct nix1sim_slave *s, unsigned baud)
{
    (void)arg;
    (void)s;
    nix1sim_bus_set_baud_after_drain(F.bus, baud);
}

static void on_event(const struct event *ev, void *arg)
{
    (void)arg;
    if (ev->kind == EVENT_NIX1_ACCESS) {
        F.ev_access++;
        F.last_access = *ev;
    } else if (ev->kind == EVENT_GAP) {
        F.ev_gap++;
        F.last_gap = *ev;
    }
}

static bool s2_held(void);

/* Entries seen (conditions to wait for: how long the bus takes under load is not what these tests check). */
static bool one_access(void) { return F.ev_access >= 1; }
static bool two_accesses(void) { return F.ev_access >= 2; }

/* Outputs as they change: a window is checked as it is shown, whenever the test body gets to look. */
static void on_site_change(struct site *site, int device, int output, void *arg)
{
    (void)device;
    (void)arg;
    const struct output_state *st = output == 2 && s2_window_end ? &site->outputs[2].state : NULL;
    if (st && st->open_until_us > 0 && !st->locked && !st->held_open && s2_held())
        F.s2_shown_open = true;
}

static bool all_online(void)
{
    return F.site->devices[0].link == LINK_UP && strstr(F.site->devices[0].link_detail, "3/3") != NULL;
}

static bool snapshot_done(void)
{
    struct nix1_door *d = nix1_device_door(F.dev);
    if (!d || nix1_door_busy(d))
        return false;
    for (size_t i = 0; i < nix1_door_count(d); i++)
        if (!nix1_door_at(d, i)->known)
            return false;
    return all_online();
}

/* Called before the adapter starts (e.g. to leave a state file from a "previous run"). */
static void (*prepare)(const char *pty);
static unsigned poll_ms_conf;
static bool use_tcp; /* the bus on a TCP port (a serial device server) instead of a pty */
static bool s3_mute_at_start; /* S3 does not answer while the adapter starts */
static const char *server_dir_conf; /* the bus's server_dir */

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    fx_tmpdir(F.dir, sizeof F.dir, "n1dev");
    char st[128];
    snprintf(st, sizeof st, "%s/state", F.dir);
    setenv("XDG_STATE_HOME", st, 1);
    F.loop = loop_new();
    F.bus = nix1sim_bus_new(F.loop, 9600, sim_on_line, NULL);
    assert_non_null(F.bus);
    for (size_t i = 0; i < NS; i++) {
        nix1_addr_t a;
        assert_int_equal(nix1_addr_parse_str(ADDR[i], &a), 0);
        F.sl[i] = nix1sim_slave_new(F.loop, &a, F.dir, sim_tx, sim_baud, NULL);
        assert_non_null(F.sl[i]);
        F.sl[i]->cfg.baudrate = 9600;
        nix1sim_slave_preconfigure(F.sl[i], (int)(2 * i + 1), (int)(2 * i + 2));
    }
    /* Previous states the emergency must put back: slave 2 has a cron window in mode 2, slave 3 probe 2 is
     * locked out. */
    F.sl[1]->cfg.has_cron = true;
    snprintf(F.sl[1]->cfg.cron, sizeof F.sl[1]->cfg.cron, "0-30 8 * * 1-5");
    F.sl[1]->cfg.cron_mode = 2;
    F.sl[2]->cfg.lock[1] = true;
    char pty[128];
    if (use_tcp) {
        unsigned port = 0;
        assert_int_equal(nix1sim_bus_listen_tcp(F.bus, 0, &port), 0);
        snprintf(pty, sizeof pty, "tcp://127.0.0.1:%u", port);
    } else {
        assert_int_equal(nix1sim_bus_open_pty(F.bus, pty, sizeof pty), 0);
    }
    char conf[2048], pm[256] = "";
    size_t pl = 0;
    if (poll_ms_conf)
        pl += (size_t)snprintf(pm + pl, sizeof pm - pl, "poll_ms = %u; ", poll_ms_conf);
    if (server_dir_conf)
        snprintf(pm + pl, sizeof pm - pl, "server_dir = \"%s\"; ", server_dir_conf);
    snprintf(conf, sizeof conf,
             "site = { name = \"T\"; };\n"
             "buses = ( { name = \"B\"; port = \"%s\"; baud = 9600; %sslaves = (\n"
             " { address = \"%s\"; name = \"S1\"; probe1 = { door = \"S1 in\"; unit = 1; }; probe2 = { door = \"S1 out\"; unit = 2; }; },\n"
             " { address = \"%s\"; name = \"S2\"; probe1 = { door = \"S2 in\"; unit = 3; }; },\n"
             " { address = \"%s\"; name = \"S3\"; probe1 = { door = \"S3 in\"; unit = 5; }; probe2 = { door = \"S3 out\"; unit = 6; }; }\n"
             " ); } );\n"
             "emergency = { doors = \"all\"; confirm = \"none\"; restore = \"previous\"; };\n",
             pty, pm, ADDR[0], ADDR[1], ADDR[2]);
    F.site = fx_site_load(conf, F.loop);
    assert_int_equal(F.site->n_outputs, 5);
    event_bus_subscribe(site_events(F.site), on_event, NULL);
    assert_int_equal(site_listen(F.site, on_site_change, NULL), 0);
    char err[256];
    assert_int_equal(device_attach_all(F.site, drivers_registry, err, sizeof err), 0);
    F.dev = F.site->devices[0].drv;
    assert_non_null(F.dev);
    assert_true(F.site->outputs[0].state.locked);
    if (prepare)
        prepare(pty);
    F.sl[2]->muted = s3_mute_at_start;
    device_start_all(F.site);
    if (s3_mute_at_start)
        return 0;
    fx_run_until(F.loop, snapshot_done, 30000); /* 0.7 s unloaded; real time at 9600 baud */
    if (!snapshot_done()) {
        /* Say what is missing (a slave's state, the link, a job still running). */
        struct nix1_door *d = nix1_device_door(F.dev);
        char unknown[160] = "";
        size_t k = 0;
        for (size_t i = 0; d && i < nix1_door_count(d) && k < sizeof unknown; i++)
            if (!nix1_door_at(d, i)->known)
                k += (size_t)snprintf(unknown + k, sizeof unknown - k, " S%zu", i + 1);
        fail_msg("start not done after 30 s: link %d (%s), door job %s, states unknown:%s", F.site->devices[0].link,
                 F.site->devices[0].link_detail, d && nix1_door_busy(d) ? "running" : "none", unknown);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    s2_window_end = 0;
    device_detach_all(F.site);
    loop_run_once(F.loop, 0);
    site_free(F.site);
    for (size_t i = 0; i < NS; i++)
        nix1sim_slave_free(F.sl[i]);
    nix1sim_bus_free(F.bus);
    loop_free(F.loop);
    fx_rmtree(F.dir);
    prepare = NULL;
    poll_ms_conf = 0;
    use_tcp = false;
    s3_mute_at_start = false;
    server_dir_conf = NULL;
    return 0;
}

static int command(enum device_op op, unsigned value, const size_t *outs, size_t n)
{
    return fx_output_command(F.loop, F.dev, &F.cmd, op, value, outs, n, 20000);
}

static void test_link_and_states(void **state)
{
    (void)state;
    assert_int_equal(F.site->devices[0].link, LINK_UP);
    assert_string_equal(F.site->devices[0].link_detail, "3/3 slaves online");
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(F.site->outputs[i].type, OUTPUT_PROBE);
        assert_false(F.site->outputs[i].state.stale);
    }
    assert_string_equal(site_output_state_word(&F.site->outputs[0]), "locked");
    assert_string_equal(site_output_state_word(&F.site->outputs[4]), "locked out"); /* S3 probe 2 */
}

static void test_access_event(void **state)
{
    (void)state;
    struct nix1sim_ibutton b;
    nix1sim_ibutton_init(&b, "Nobody Known");
    struct nix1sim_decision dec;
    assert_int_equal(nix1sim_access_present(F.sl[0], 2, &b, &dec), 0);
    assert_int_not_equal(dec.rc, 0); /* refused (this slave has no keys or users) */
    fx_run_until(F.loop, one_access, 30000);
    assert_int_equal(F.ev_access, 1);
    assert_string_equal(F.last_access.device, "S1");
    assert_string_equal(F.last_access.door, "S1 out");
    assert_int_equal(F.last_access.door_no, 2);
    assert_int_equal(F.last_access.code, dec.rc);
    assert_string_equal(F.last_access.code_name, nix1_rc_log_name(dec.rc));
    assert_string_equal(F.last_access.uid, "Nobody Known");
    assert_int_equal(F.last_access.severity, EVENT_WARNING);
    assert_non_null(strstr(F.last_access.text, "refused Nobody Known"));
    assert_string_equal(F.last_access.addr, ADDR[0]);
}

static void test_hold_release_lockout(void **state)
{
    (void)state;
    size_t o = 0; /* S1 in */
    assert_int_equal(command(DEVICE_HOLD_OPEN, 0, &o, 1), 0);
    assert_int_equal(F.cmd.results, 1);
    assert_int_equal(F.cmd.res[0], DEVICE_RESULT_OK);
    assert_string_equal(F.sl[0]->cfg.cron, "* * * * *");
    assert_int_equal(F.sl[0]->cfg.cron_mode, 1);
    assert_true(F.site->outputs[0].state.held_open);
    assert_true(F.site->outputs[1].state.held_open); /* slave-wide */
    assert_int_equal(command(DEVICE_RELEASE, 0, &o, 1), 0);
    assert_int_equal(F.cmd.res[0], DEVICE_RESULT_OK);
    assert_false(F.sl[0]->cfg.has_cron);
    assert_int_equal(F.sl[0]->cfg.cron_mode, 0);
    assert_false(F.site->outputs[0].state.held_open);
    assert_true(F.site->outputs[0].state.locked);
    size_t p = 1; /* S1 out */
    assert_int_equal(command(DEVICE_LOCKOUT_ON, 0, &p, 1), 0);
    assert_int_equal(F.cmd.res[0], DEVICE_RESULT_OK);
    assert_true(F.sl[0]->cfg.lock[1]);
    assert_false(F.sl[0]->cfg.lock[0]);
    assert_true(F.site->outputs[1].state.locked_out);
    assert_int_equal(command(DEVICE_LOCKOUT_OFF, 0, &p, 1), 0);
    assert_false(F.sl[0]->cfg.lock[1]);
    assert_false(F.dev->ops->supports(F.dev, DEVICE_NORMAL_OPEN_ON, 0));
    assert_int_equal(command(DEVICE_NORMAL_OPEN_ON, 0, &p, 1), 0);
    assert_int_equal(F.cmd.res[0], DEVICE_RESULT_UNSUPPORTED);
}

static void test_emergency_whole_bus(void **state)
{
    (void)state;
    size_t outs[5] = { 0, 1, 2, 3, 4 };
    assert_int_equal(command(DEVICE_EMERGENCY_ON, 0, outs, 5), 0);
    assert_int_equal(F.cmd.results, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(F.cmd.res[i], DEVICE_RESULT_OK);
        assert_true(F.site->outputs[i].state.emergency);
        assert_false(F.site->outputs[i].state.locked_out);
    }
    for (int i = 0; i < NS; i++) {
        assert_string_equal(F.sl[i]->cfg.cron, "* * * * *");
        assert_int_equal(F.sl[i]->cfg.cron_mode, 1);
        assert_false(F.sl[i]->cfg.lock[0]);
        assert_false(F.sl[i]->cfg.lock[1]);
    }
    assert_true(nix1_door_emergency_active(nix1_device_door(F.dev)));
    assert_int_equal(command(DEVICE_EMERGENCY_OFF, 0, outs, 5), 0);
    assert_int_equal(F.cmd.results, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(F.cmd.res[i], DEVICE_RESULT_OK);
        assert_false(F.site->outputs[i].state.emergency);
    }
    assert_false(F.sl[0]->cfg.has_cron);
    assert_int_equal(F.sl[0]->cfg.cron_mode, 0);
    assert_string_equal(F.sl[1]->cfg.cron, "0-30 8 * * 1-5");
    assert_int_equal(F.sl[1]->cfg.cron_mode, 2);
    assert_true(F.sl[2]->cfg.lock[1]);
    assert_false(F.sl[2]->cfg.lock[0]);
    assert_true(F.site->outputs[4].state.locked_out);
    /* the remembered states are kept across runs */
    char path[1024];
    nix1_device_state_path(F.site, &F.site->buses[0], path, sizeof path);
    assert_int_equal(access(path, R_OK), 0);
}

static void test_emergency_partial(void **state)
{
    (void)state;
    size_t o = 4; /* S3 out: locked out before */
    assert_int_equal(command(DEVICE_EMERGENCY_ON, 0, &o, 1), 0);
    assert_int_equal(F.cmd.results, 1);
    assert_int_equal(F.cmd.res[0], DEVICE_RESULT_OK);
    assert_string_equal(F.sl[2]->cfg.cron, "* * * * *");
    assert_int_equal(F.sl[2]->cfg.cron_mode, 1);
    assert_false(F.sl[2]->cfg.lock[1]);
    /* the other slaves were not touched */
    assert_false(F.sl[0]->cfg.has_cron);
    assert_string_equal(F.sl[1]->cfg.cron, "0-30 8 * * 1-5");
    assert_true(F.site->outputs[4].state.emergency);
    assert_false(F.site->outputs[0].state.emergency);
    assert_int_equal(command(DEVICE_EMERGENCY_OFF, 0, &o, 1), 0);
    assert_int_equal(F.cmd.res[0], DEVICE_RESULT_OK);
    assert_false(F.sl[2]->cfg.has_cron);
    assert_int_equal(F.sl[2]->cfg.cron_mode, 0);
    assert_true(F.sl[2]->cfg.lock[1]);
    assert_false(F.site->outputs[4].state.emergency);
}

static bool s2_offline(void) { return strstr(F.site->devices[0].link_detail, "offline: S2") != NULL; }

static void test_unreachable_slave(void **state)
{
    (void)state;
    F.sl[1]->muted = true;
    size_t o = 2; /* S2 in */
    assert_int_equal(command(DEVICE_HOLD_OPEN, 0, &o, 1), 0);
    assert_int_equal(F.cmd.results, 1);
    assert_int_equal(F.cmd.res[0], DEVICE_RESULT_TIMEOUT);
    assert_non_null(strstr(F.cmd.msg[0], "no answer"));
    fx_run_until(F.loop, s2_offline, 30000); /* real time: generous for loaded sanitizer runs */
    assert_true(s2_offline());
    assert_int_equal(F.site->devices[0].link, LINK_UP); /* the others still answer */
    assert_true(F.site->outputs[2].state.stale);
    assert_false(F.site->outputs[0].state.stale);
}

/* A provisioning that cannot start says why whole, however long the server directory's path: the file it could
 * not read and the system's reason (a result's message was cut at 96 bytes, the reason lost). */
#define LONG_SERVER_DIR "/nonexistent/portier/sites/headquarters-and-annex/nix1-server-files-of-the-north-building"
static int setup_long_server_dir(void **state)
{
    server_dir_conf = LONG_SERVER_DIR;
    return setup(state);
}

static void test_provision_reason_whole(void **state)
{
    (void)state;
    struct device_cmd cmd = { .op = DEVICE_SLAVE_PROVISION, .slave = 0 };
    assert_int_equal(fx_command(F.loop, F.dev, &F.cmd, &cmd, 20000), 0);
    assert_int_equal(F.cmd.results, 1);
    assert_int_equal(F.cmd.res[0], DEVICE_RESULT_FAILED);
    assert_string_equal(F.cmd.msg[0], "not started: " LONG_SERVER_DIR "/keys.txt: No such file or directory");
}

static int slave_set(size_t slave, const struct device_setting *v, size_t n)
{
    struct device_cmd cmd = { .op = DEVICE_SLAVE_SET, .slave = slave, .settings = v, .n_settings = n };
    return fx_command(F.loop, F.dev, &F.cmd, &cmd, 20000);
}

static const struct nix1_door_slave *remembered(size_t i)
{
    nix1_addr_t a;
    assert_int_equal(nix1_addr_parse_str(ADDR[i], &a), 0);
    return nix1_door_find(nix1_device_door(F.dev), &a);
}

static bool s2_held(void) { return remembered(1)->held; }

static void test_slave_set(void **state)
{
    (void)state;
    assert_true(F.dev->ops->supports(F.dev, DEVICE_SLAVE_SET, SIZE_MAX));
    const struct device_setting v[] = {
        { "BAUDRATE", "19200" },           /* 0: one rate per bus */
        { "CRON_MODE", "2" },              /* 1 */
        { "CRON", "* 7-18 * * 1-5" },      /* 2 */
        { "LOCK_1", "1" },                 /* 3 */
        { "UNIT_0", "" },                  /* 4: Du1 */
        { "UNIT_1", "42" },                /* 5 */
        { "VALID_ACCESS_TIMEOUT", "7" },   /* 6 */
        { "BAD_ACCESS_TIMEOUT", "300" },   /* 7: out of range, never sent */
        { "MODE", "3" },                   /* 8 */
        { "OD_SPEED_0", "1" },             /* 9 */
        { "TIMEZONE", "+0100" },           /* 10: Nt with the host's time */
        { "COLOUR", "red" },               /* 11 */
    };
    assert_int_equal(slave_set(1, v, 12), 0);
    assert_int_equal(F.cmd.results, 12);
    assert_int_equal(F.cmd.dones, 1);
    for (size_t i = 0; i < 12; i++) {
        assert_int_equal(F.cmd.res_out[i], DEVICE_SETTING_RESULT(i));
        bool bad = i == 0 || i == 7 || i == 11;
        assert_int_equal(F.cmd.res[i], bad ? DEVICE_RESULT_FAILED : DEVICE_RESULT_OK);
    }
    assert_non_null(strstr(F.cmd.msg[0], "one rate (9600)"));
    assert_non_null(strstr(F.cmd.msg[7], "50 ERROR_PARAM"));
    assert_non_null(strstr(F.cmd.msg[10], "clock"));
    assert_non_null(strstr(F.cmd.msg[11], "not a NiX1 slave setting"));
    const struct nix1_config *sc = &F.sl[1]->cfg;
    assert_int_equal(sc->cron_mode, 2);
    assert_string_equal(sc->cron, "* 7-18 * * 1-5");
    assert_true(sc->lock[1]);
    assert_false(sc->has_unit[0]);
    assert_true(sc->has_unit[1]);
    assert_int_equal(sc->unit[1], 42);
    assert_int_equal(sc->valid_access_timeout, 7);
    assert_int_equal(sc->bad_access_timeout, 5);
    assert_true(sc->enable && sc->standalone);
    assert_true(sc->od_speed[0]);
    assert_int_equal(sc->timezone, 60);
    assert_int_equal(sc->baudrate, 9600);
    int64_t d = nix1sim_slave_time(F.sl[1]) - (int64_t)time(NULL);
    assert_true(d >= -2 && d <= 2);
    /* what an emergency restore or a release would put back follows the change */
    assert_string_equal(remembered(1)->cron, "* 7-18 * * 1-5");
    assert_int_equal(remembered(1)->cron_mode, 2);
    assert_true(remembered(1)->lock[1]);

    /* the slave's own refusal, by code name and meaning */
    nix1sim_slave_card(F.sl[1], false);
    const struct device_setting v2[] = { { "VALID_ACCESS_TIMEOUT", "9" } };
    assert_int_equal(slave_set(1, v2, 1), 0);
    assert_int_equal(F.cmd.res[0], DEVICE_RESULT_FAILED);
    assert_non_null(strstr(F.cmd.msg[0], "Nc: 7B ERROR_SDCARDNOTFOUND ("));
    nix1sim_slave_card(F.sl[1], true);

    /* while portier holds a door open, its cron is the hold's: refused; a lock-out still works */
    size_t o = 0;
    assert_int_equal(command(DEVICE_HOLD_OPEN, 0, &o, 1), 0);
    const struct device_setting v3[] = { { "CRON", "0 8 * * *" }, { "LOCK_0", "1" } };
    assert_int_equal(slave_set(0, v3, 2), 0);
    assert_int_equal(F.cmd.res[0], DEVICE_RESULT_FAILED);
    assert_non_null(strstr(F.cmd.msg[0], "holds this door open"));
    assert_int_equal(F.cmd.res[1], DEVICE_RESULT_OK);
    assert_string_equal(F.sl[0]->cfg.cron, "* * * * *");
    assert_true(F.sl[0]->cfg.lock[0]);
    assert_true(F.site->outputs[0].state.locked_out);

    /* no settings: the configuration's units put back, one device-wide result */
    F.sl[0]->cfg.unit[0] = 9;
    F.sl[0]->cfg.has_unit[1] = false;
    assert_int_equal(slave_set(0, NULL, 0), 0);
    assert_int_equal(F.cmd.results, 1);
    assert_int_equal(F.cmd.res_out[0], SIZE_MAX);
    assert_int_equal(F.cmd.res[0], DEVICE_RESULT_OK);
    assert_string_equal(F.cmd.msg[0], "UNIT_0=1 UNIT_1=2");
    assert_int_equal(F.sl[0]->cfg.unit[0], 1);
    assert_true(F.sl[0]->cfg.has_unit[1]);
    assert_int_equal(F.sl[0]->cfg.unit[1], 2);

    char err[128];
    struct device_cmd bad = { .op = DEVICE_SLAVE_SET, .slave = 3 };
    assert_int_equal(F.dev->ops->command(F.dev, &bad, err, sizeof err), -1);
    assert_non_null(strstr(err, "no slave 3"));
}

static void on_got(void *ctx, const struct device_setting *v, size_t n, const char *error)
{
    (void)ctx;
    assert_int_equal(F.cmd.in_command, 0);
    F.gets++;
    F.ngot = n < DEVICE_SETTINGS_MAX ? n : DEVICE_SETTINGS_MAX;
    memcpy(F.got, v, F.ngot * sizeof *v);
    snprintf(F.got_err, sizeof F.got_err, "%s", error ? error : "");
}

static const char *got(const char *key)
{
    for (size_t i = 0; i < F.ngot; i++)
        if (strcmp(F.got[i].key, key) == 0)
            return F.got[i].value;
    return NULL;
}

static bool got_once(void) { return F.gets > 0; }

static void test_slave_get(void **state)
{
    (void)state;
    struct nix1_config *sc = &F.sl[1]->cfg; /* cron "0-30 8 * * 1-5", cron mode 2 */
    sc->lock[0] = true;
    sc->has_unit[1] = false;
    sc->valid_access_timeout = 11;
    sc->bad_access_timeout = 12;
    sc->standalone = true;
    sc->od_speed[1] = true;
    sc->timezone = -150;
    char err[128];
    F.cmd.in_command = 1;
    assert_int_equal(device_slave_get(F.site, 0, 1, on_got, NULL, err, sizeof err), 0);
    F.cmd.in_command = 0;
    fx_run_until(F.loop, got_once, 10000);
    assert_int_equal(F.gets, 1);
    assert_string_equal(F.got_err, "");
    assert_int_equal(F.ngot, 13);
    static const char *const want[][2] = { { "LOCK_0", "1" }, { "LOCK_1", "0" }, { "UNIT_0", "3" }, { "UNIT_1", "" },
                                           { "CRON_MODE", "2" }, { "CRON", "0-30 8 * * 1-5" },
                                           { "VALID_ACCESS_TIMEOUT", "11" }, { "BAD_ACCESS_TIMEOUT", "12" },
                                           { "MODE", "3" }, { "OD_SPEED_0", "0" }, { "OD_SPEED_1", "1" },
                                           { "TIMEZONE", "-0230" }, { "BAUDRATE", "9600" } };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_string_equal(got(want[i][0]), want[i][1]);
    /* a slave without a cron */
    F.gets = 0;
    assert_int_equal(device_slave_get(F.site, 0, 0, on_got, NULL, err, sizeof err), 0);
    fx_run_until(F.loop, got_once, 10000);
    assert_string_equal(got("CRON"), "");
    /* a mute slave: the first query times out, the others are not tried; the bus rate is still known */
    F.sl[2]->muted = true;
    F.gets = 0;
    uint64_t t0 = loop_mono_us();
    assert_int_equal(device_slave_get(F.site, 0, 2, on_got, NULL, err, sizeof err), 0);
    fx_run_until(F.loop, got_once, 15000);
    assert_int_equal(F.gets, 1);
    assert_true(loop_mono_us() - t0 < 8000000u);
    assert_non_null(strstr(F.got_err, "LOCK_0 not read"));
    assert_non_null(strstr(F.got_err, "and 10 more"));
    assert_int_equal(F.ngot, 1);
    assert_string_equal(got("BAUDRATE"), "9600");
    assert_int_equal(device_slave_get(F.site, 0, 5, on_got, NULL, err, sizeof err), -1);
}

/* A previous run left: S1 a timed-open window that has passed (the slave closed the door, but the window
 * would match again next year), S2 a window that ends S2_WINDOW_LEFT s after the adapter reads the slave's
 * clock, S3 a real hold. */
#define T_PREV 1700000000 /* 2023-11-14 22:13:20 UTC */

static void prepare_leftover(const char *pty)
{
    char w1[CRON_TEXT_MAX + 1], w2[CRON_TEXT_MAX + 1], path[1024];
    time_t e1, e2;
    assert_true(cron_window(w1, sizeof w1, T_PREV, 5, 0, &e1) > 0);
    assert_true(cron_window(w2, sizeof w2, T_PREV, 10, 0, &e2) > 0);
    assert_string_equal(w1, "13-17 22 14 11 *");
    F.sl[0]->cfg.has_cron = true;
    snprintf(F.sl[0]->cfg.cron, sizeof F.sl[0]->cfg.cron, "%s", w1);
    F.sl[0]->cfg.cron_mode = 1;
    nix1sim_slave_set_time(F.sl[0], T_PREV + 3600);
    snprintf(F.sl[1]->cfg.cron, sizeof F.sl[1]->cfg.cron, "%s", w2);
    F.sl[1]->cfg.cron_mode = 1;
    nix1sim_slave_set_time(F.sl[1], (int64_t)e2 - S2_WINDOW_LEFT);
    s2_window_end = e2; /* and again at the adapter's Qt (s2_clock_at_check): the start takes real time */
    F.sl[2]->cfg.has_cron = true;
    snprintf(F.sl[2]->cfg.cron, sizeof F.sl[2]->cfg.cron, "* * * * *");
    F.sl[2]->cfg.cron_mode = 1;
    (void)pty;
    nix1_device_state_path(F.site, &F.site->buses[0], path, sizeof path);
    assert_true(path[0] != '\0');
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "emergency\t0\n"
               "slave\t%s\t1\t0\t0\t0\t0\t1\t0\t0\t\n"
               "slave\t%s\t1\t1\t2\t0\t0\t1\t0\t0\t0-30 8 * * 1-5\n"
               "slave\t%s\t1\t0\t0\t0\t1\t1\t0\t0\t\n", ADDR[0], ADDR[1], ADDR[2]);
    fclose(f);
}

static int setup_leftover(void **state)
{
    prepare = prepare_leftover;
    return setup(state);
}

static bool s1_released(void) { return !F.sl[0]->cfg.has_cron && !remembered(0)->held; }
static bool s2_released(void) { return F.sl[1]->cfg.cron_mode == 2 && !remembered(1)->held; }

static void test_leftover_timed_open(void **state)
{
    (void)state;
    fx_run_until(F.loop, s1_released, 10000);
    assert_true(s1_released());
    assert_int_equal(F.sl[0]->cfg.cron_mode, 0);
    /* S2's window is still running: taken over and shown open until its end (seen as it happened: the set-up may
     * have taken longer than the window under load), then released */
    fx_run_until(F.loop, s2_released, 10000);
    assert_true(F.s2_shown_open);
    assert_true(s2_released());
    assert_string_equal(F.sl[1]->cfg.cron, "0-30 8 * * 1-5");
    assert_true(F.site->outputs[2].state.locked);
    /* S3 is held on purpose: untouched */
    assert_true(remembered(2)->held);
    assert_string_equal(F.sl[2]->cfg.cron, "* * * * *");
    assert_true(F.site->outputs[3].state.held_open);
}

static int setup_rounds(void **state)
{
    poll_ms_conf = 600;
    return setup(state);
}

static void test_poll_rounds(void **state)
{
    (void)state;
    nix1_bus_t *bus = nix1_device_bus(F.dev);
    assert_non_null(bus);
    struct nix1_slave_info a[NS], b[NS];
    for (size_t i = 0; i < NS; i++)
        assert_true(nix1_bus_slave_info(bus, i, &a[i]));
    uint64_t end = loop_mono_us() + 2000000u;
    while (loop_mono_us() < end)
        loop_run_once(F.loop, 20);
    /* about 3 rounds in 2 s (each a few tens of ms, then 0.6 s of quiet); continuous polling would be ~25 */
    for (size_t i = 0; i < NS; i++) {
        assert_true(nix1_bus_slave_info(bus, i, &b[i]));
        unsigned long d = b[i].polls - a[i].polls;
        assert_true(d >= 1 && d <= 5);
    }
    /* an entry is still read in the next round */
    struct nix1sim_ibutton ib;
    nix1sim_ibutton_init(&ib, "Round Trip");
    struct nix1sim_decision dec;
    assert_int_equal(nix1sim_access_present(F.sl[2], 1, &ib, &dec), 0);
    fx_run_until(F.loop, one_access, 30000);
    assert_int_equal(F.ev_access, 1);
    assert_string_equal(F.last_access.device, "S3");
}

static int setup_tcp(void **state)
{
    use_tcp = true;
    return setup(state);
}

static bool link_lost(void) { return F.site->devices[0].link != LINK_UP; }

/* The port goes away (a device server restarting, an adapter unplugged) and comes back: the link, the slaves
 * and the probes follow the bus again (up, online, not stale), and an entry made meanwhile arrives once. */
static void test_port_reopen(void **state)
{
    (void)state;
    assert_int_equal(nix1sim_bus_unplug(F.bus, true), 0);
    fx_run_until(F.loop, link_lost, 10000);
    assert_true(link_lost());
    for (size_t i = 0; i < 5; i++)
        assert_true(F.site->outputs[i].state.stale);
    struct nix1sim_ibutton b;
    nix1sim_ibutton_init(&b, "While Away");
    struct nix1sim_decision dec;
    assert_int_equal(nix1sim_access_present(F.sl[1], 1, &b, &dec), 0);
    assert_int_equal(nix1sim_bus_unplug(F.bus, false), 0);
    fx_run_until(F.loop, all_online, 40000);
    assert_true(all_online());
    assert_string_equal(F.site->devices[0].link_detail, "3/3 slaves online");
    for (size_t i = 0; i < 5; i++)
        assert_false(F.site->outputs[i].state.stale);
    fx_run_until(F.loop, one_access, 40000); /* read in S2's next turn: a condition, not a latency bound */
    assert_int_equal(F.ev_access, 1);
    assert_string_equal(F.last_access.uid, "While Away");
    /* the gap row says what is known: the time, and that the slaves' entries are read back (they were) */
    assert_int_equal(F.ev_gap, 1);
    assert_string_equal(F.last_gap.device, F.site->devices[0].name);
    assert_non_null(strstr(F.last_gap.text, "link was lost "));
    assert_non_null(strstr(F.last_gap.text, "access entries of that time are read back from their logs"));
    assert_null(strstr(F.last_gap.text, "missing"));
    assert_int_equal(F.last_gap.severity, EVENT_NORMAL);
    /* and a second time */
    assert_int_equal(nix1sim_bus_unplug(F.bus, true), 0);
    fx_run_until(F.loop, link_lost, 10000);
    assert_int_equal(nix1sim_bus_unplug(F.bus, false), 0);
    fx_run_until(F.loop, all_online, 40000);
    assert_true(all_online());
    /* Nothing replayed: an entry made now on the same slave is read after anything read again from before (a
     * slave's log is read in order), so once it is there the count says all (no fixed wait that a slow turn of
     * the bus could outlast). */
    nix1sim_ibutton_init(&b, "After Return");
    assert_int_equal(nix1sim_access_present(F.sl[1], 2, &b, &dec), 0);
    fx_run_until(F.loop, two_accesses, 40000);
    assert_string_equal(F.last_access.uid, "After Return");
    assert_int_equal(F.ev_access, 2);
}

static int setup_s3_mute(void **state)
{
    s3_mute_at_start = true;
    return setup(state);
}

static bool s3_offline(void) { return strstr(F.site->devices[0].link_detail, "offline: S3") != NULL; }
static bool s3_known(void) { return remembered(2)->known; }

/* A slave that does not answer while the adapter starts: its state (what a release or a restore puts back, its
 * lock-outs) is read once it answers, not left unknown until an operation needs it. */
static void test_state_read_when_slave_answers(void **state)
{
    (void)state;
    fx_run_until(F.loop, s3_offline, 30000);
    assert_true(s3_offline());
    assert_false(remembered(2)->known);
    F.sl[2]->muted = false;
    fx_run_until(F.loop, s3_known, 60000); /* its next poll after the failure backoff */
    assert_true(s3_known());
    assert_true(remembered(2)->lock[1]); /* S3 probe 2 is locked out (setup) */
    assert_true(F.site->outputs[4].state.locked_out);
    fx_run_until(F.loop, snapshot_done, 30000);
    assert_true(snapshot_done());
}

/* Two programs from this file (meson: nix1_device and nix1_device_more): every case runs on real time at 9600 baud,
 * and all of them in one program came close to the per-program time limit on a loaded machine. */
#ifndef NIX1_DEVICE_PART
#define NIX1_DEVICE_PART 1
#endif

int main(void)
{
    const struct CMUnitTest part1[] = {
        cmocka_unit_test_setup_teardown(test_link_and_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hold_release_lockout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emergency_whole_bus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emergency_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_slave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slave_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provision_reason_whole, setup_long_server_dir, teardown),
    };
    const struct CMUnitTest part2[] = {
        cmocka_unit_test_setup_teardown(test_slave_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leftover_timed_open, setup_leftover, teardown),
        cmocka_unit_test_setup_teardown(test_poll_rounds, setup_rounds, teardown),
        cmocka_unit_test_setup_teardown(test_port_reopen, setup_tcp, teardown),
        cmocka_unit_test_setup_teardown(test_state_read_when_slave_answers, setup_s3_mute, teardown),
    };
    if (NIX1_DEVICE_PART == 2)
        return cmocka_run_group_tests(part2, NULL, NULL);
    return cmocka_run_group_tests(part1, NULL, NULL);
}
