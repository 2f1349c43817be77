/* Unit tests for the NiX1 adapter: three simulated slaves (sim/nix1sim_*) on a pseudo-terminal in the same
 * process and loop, a site from configuration text, the adapter attached through the registry. Checks link
 * and dead-slave detail, ACCESS entries as events, hold/release, lock-out, the bus-wide emergency (§5.14)
 * with restore of cron, cron mode and lock-outs, a partial emergency, and results of an unreachable slave. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/site_config.h"
#include "core/device.h"
#include "drivers/drivers.h"
#include "drivers/nix1/nix1_device.h"
#include "drivers/nix1/nix1_rc.h"
#include "sim/nix1sim_access.h"
#include "sim/nix1sim_bus.h"
#include "sim/nix1sim_slave.h"

#define NS 3
static const char *const ADDR[NS] = { "270100000000006B", "2702000000000032", "2703000000000005" };

struct fx {
    loop_t *loop;
    struct nix1sim_bus *bus;
    struct nix1sim_slave *sl[NS];
    char dir[64];
    struct site *site;
    struct device *dev;
    int results, dones, in_command;
    enum device_result res[8];
    size_t res_out[8];
    char msg[8][128];
    int ev_access;
    struct event last_access;
};

static struct fx F;

static void sim_on_line(void *arg, const char *line, size_t len, unsigned flags)
{
    (void)arg;
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
    }
}

static void run_until(bool (*cond)(void), unsigned ms)
{
    uint64_t end = loop_mono_us() + (uint64_t)ms * 1000u;
    while (!cond() && loop_mono_us() < end)
        loop_run_once(F.loop, 20);
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

static bool done_once(void) { return F.dones > 0; }

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    snprintf(F.dir, sizeof F.dir, "/tmp/portier-n1dev.XXXXXX");
    assert_non_null(mkdtemp(F.dir));
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
    assert_int_equal(nix1sim_bus_open_pty(F.bus, pty, sizeof pty), 0);
    char conf[2048];
    snprintf(conf, sizeof conf,
             "site = { name = \"T\"; };\n"
             "buses = ( { name = \"B\"; port = \"%s\"; baud = 9600; slaves = (\n"
             " { address = \"%s\"; name = \"S1\"; probe1 = { door = \"S1 in\"; unit = 1; }; probe2 = { door = \"S1 out\"; unit = 2; }; },\n"
             " { address = \"%s\"; name = \"S2\"; probe1 = { door = \"S2 in\"; unit = 3; }; },\n"
             " { address = \"%s\"; name = \"S3\"; probe1 = { door = \"S3 in\"; unit = 5; }; probe2 = { door = \"S3 out\"; unit = 6; }; }\n"
             " ); } );\n"
             "emergency = { doors = \"all\"; confirm = \"none\"; restore = \"previous\"; };\n",
             pty, ADDR[0], ADDR[1], ADDR[2]);
    struct config_diags d;
    F.site = site_config_load_string(conf, "test", &d);
    if (!F.site)
        config_diags_print(&d, stderr);
    config_diags_free(&d);
    assert_non_null(F.site);
    assert_int_equal(F.site->n_outputs, 5);
    F.site->loop = F.loop;
    event_bus_subscribe(site_events(F.site), on_event, NULL);
    char err[256];
    assert_int_equal(device_attach_all(F.site, drivers_registry, err, sizeof err), 0);
    F.dev = F.site->devices[0].drv;
    assert_non_null(F.dev);
    assert_true(F.site->outputs[0].state.locked);
    device_start_all(F.site);
    run_until(snapshot_done, 10000);
    assert_true(snapshot_done());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    device_detach_all(F.site);
    loop_run_once(F.loop, 0);
    site_free(F.site);
    for (size_t i = 0; i < NS; i++)
        nix1sim_slave_free(F.sl[i]);
    nix1sim_bus_free(F.bus);
    loop_free(F.loop);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", F.dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void on_result(void *ctx, size_t output, enum device_result result, const char *message)
{
    (void)ctx;
    assert_int_equal(F.in_command, 0);
    if (F.results < 8) {
        F.res[F.results] = result;
        F.res_out[F.results] = output;
        snprintf(F.msg[F.results], sizeof F.msg[0], "%s", message);
    }
    F.results++;
}

static void on_done(void *ctx)
{
    (void)ctx;
    assert_int_equal(F.in_command, 0);
    F.dones++;
}

static int command(enum device_op op, unsigned value, const size_t *outs, size_t n)
{
    F.results = F.dones = 0;
    struct device_cmd cmd = { .op = op, .value = value, .outputs = outs, .n_outputs = n,
                              .restore = SITE_RESTORE_PREVIOUS, .result = on_result, .done = on_done };
    char err[128];
    F.in_command = 1;
    int rc = F.dev->ops->command(F.dev, &cmd, err, sizeof err);
    F.in_command = 0;
    if (rc == 0)
        run_until(done_once, 20000);
    return rc;
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
    uint64_t end = loop_mono_us() + 5000000u;
    while (F.ev_access == 0 && loop_mono_us() < end)
        loop_run_once(F.loop, 20);
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
    assert_int_equal(F.results, 1);
    assert_int_equal(F.res[0], DEVICE_RESULT_OK);
    assert_string_equal(F.sl[0]->cfg.cron, "* * * * *");
    assert_int_equal(F.sl[0]->cfg.cron_mode, 1);
    assert_true(F.site->outputs[0].state.held_open);
    assert_true(F.site->outputs[1].state.held_open); /* slave-wide */
    assert_int_equal(command(DEVICE_RELEASE, 0, &o, 1), 0);
    assert_int_equal(F.res[0], DEVICE_RESULT_OK);
    assert_false(F.sl[0]->cfg.has_cron);
    assert_int_equal(F.sl[0]->cfg.cron_mode, 0);
    assert_false(F.site->outputs[0].state.held_open);
    assert_true(F.site->outputs[0].state.locked);
    size_t p = 1; /* S1 out */
    assert_int_equal(command(DEVICE_LOCKOUT_ON, 0, &p, 1), 0);
    assert_int_equal(F.res[0], DEVICE_RESULT_OK);
    assert_true(F.sl[0]->cfg.lock[1]);
    assert_false(F.sl[0]->cfg.lock[0]);
    assert_true(F.site->outputs[1].state.locked_out);
    assert_int_equal(command(DEVICE_LOCKOUT_OFF, 0, &p, 1), 0);
    assert_false(F.sl[0]->cfg.lock[1]);
    assert_false(F.dev->ops->supports(F.dev, DEVICE_NORMAL_OPEN_ON, 0));
    assert_int_equal(command(DEVICE_NORMAL_OPEN_ON, 0, &p, 1), 0);
    assert_int_equal(F.res[0], DEVICE_RESULT_UNSUPPORTED);
}

static void test_emergency_whole_bus(void **state)
{
    (void)state;
    size_t outs[5] = { 0, 1, 2, 3, 4 };
    assert_int_equal(command(DEVICE_EMERGENCY_ON, 0, outs, 5), 0);
    assert_int_equal(F.results, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(F.res[i], DEVICE_RESULT_OK);
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
    assert_int_equal(F.results, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(F.res[i], DEVICE_RESULT_OK);
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
    nix1_device_state_path(F.site->buses[0].port, path, sizeof path);
    assert_int_equal(access(path, R_OK), 0);
}

static void test_emergency_partial(void **state)
{
    (void)state;
    size_t o = 4; /* S3 out: locked out before */
    assert_int_equal(command(DEVICE_EMERGENCY_ON, 0, &o, 1), 0);
    assert_int_equal(F.results, 1);
    assert_int_equal(F.res[0], DEVICE_RESULT_OK);
    assert_string_equal(F.sl[2]->cfg.cron, "* * * * *");
    assert_int_equal(F.sl[2]->cfg.cron_mode, 1);
    assert_false(F.sl[2]->cfg.lock[1]);
    /* the other slaves were not touched */
    assert_false(F.sl[0]->cfg.has_cron);
    assert_string_equal(F.sl[1]->cfg.cron, "0-30 8 * * 1-5");
    assert_true(F.site->outputs[4].state.emergency);
    assert_false(F.site->outputs[0].state.emergency);
    assert_int_equal(command(DEVICE_EMERGENCY_OFF, 0, &o, 1), 0);
    assert_int_equal(F.res[0], DEVICE_RESULT_OK);
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
    assert_int_equal(F.results, 1);
    assert_int_equal(F.res[0], DEVICE_RESULT_TIMEOUT);
    assert_non_null(strstr(F.msg[0], "no answer"));
    run_until(s2_offline, 10000);
    assert_true(s2_offline());
    assert_int_equal(F.site->devices[0].link, LINK_UP); /* the others still answer */
    assert_true(F.site->outputs[2].state.stale);
    assert_false(F.site->outputs[0].state.stale);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_link_and_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hold_release_lockout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emergency_whole_bus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emergency_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_slave, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
