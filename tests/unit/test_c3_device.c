/* Unit tests for the C3 adapter: a real simulated C3-400 panel in the same process and loop (sim/c3sim_*),
 * a site from configuration text, the adapter attached through the registry. Checks link, door states,
 * events (access and status changes, no noise), commands with per-output results, emergency and restore. */
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
#include "drivers/c3/c3_device.h"
#include "drivers/drivers.h"
#include "sim/c3sim_net.h"

#include "fixture.h"
#include "fixture_c3.h"
#include "fixture_site.h"

struct fx {
    loop_t *loop;
    struct c3sim_server *sim;
    struct site *site;
    struct device *dev;
    struct c3sim_panel *panel;
    uint16_t port;
    char state_dir[64];
    /* command results */
    struct fx_cmd cmd;       /* the last command's results */
    /* events */
    int ev_access, ev_door, ev_link;
    struct event last_access, last_door;
    int door2_events;
};

static struct fx F;

static void on_event(const struct event *ev, void *arg)
{
    (void)arg;
    if (ev->kind == EVENT_ACCESS) {
        F.ev_access++;
        F.last_access = *ev;
    } else if (ev->kind == EVENT_DOOR) {
        F.ev_door++;
        F.last_door = *ev;
        if (ev->door_no == 2)
            F.door2_events++;
    } else if (ev->kind == EVENT_LINK) {
        F.ev_link++;
    }
}

static bool is_up(void) { return F.site->devices[0].link == LINK_UP; }
static bool have_status(void)
{
    return is_up() && F.site->outputs[0].state.sensor == SENSOR_CLOSED;
}

static void open_site(bool fresh);

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    fx_tmpdir(F.state_dir, sizeof F.state_dir, "c3dev");
    setenv("XDG_STATE_HOME", F.state_dir, 1);
    F.loop = loop_new();
    struct c3sim_server_cfg sc = { .restart_ms = 300 };
    sc.panel.model = c3sim_model_find("C3-400");
    sc.panel.dialect = C3SIM_DIALECT_SESSION;
    sc.panel.password = "";
    sc.panel.seed = 1;
    F.sim = fx_c3sim_start(F.loop, &sc, &F.panel);
    F.port = sc.port;
    open_site(true);
    return 0;
}

/* The site and its adapter (again: a later process that finds the state file of an earlier one). */
static void open_site(bool fresh)
{
    char err[256];
    char conf[1024];
    snprintf(conf, sizeof conf,
             "site = { name = \"T\"; };\npanels = ( { name = \"P\"; host = \"127.0.0.1\"; port = %u; model = \"C3-400\"; poll_ms = 100;\n"
             "  timeout_ms = 500; doors = ( \"D1\", \"D2\", \"D3\", \"D4\" ); aux = ( \"Siren\" ); } );\n"
             "emergency = { doors = \"all\"; confirm = \"none\"; restore = \"previous\"; };\n",
             (unsigned)F.port);
    F.site = fx_site_load(conf, F.loop);
    event_bus_subscribe(site_events(F.site), on_event, NULL);
    assert_int_equal(device_attach_all(F.site, drivers_registry, err, sizeof err), 0);
    F.dev = F.site->devices[0].drv;
    assert_non_null(F.dev);
    assert_ptr_equal(F.dev->ops, &c3_device_ops);
    /* before start: every door locked (unless an earlier adapter's state file says otherwise) and stale */
    assert_true(F.site->outputs[0].state.locked || !fresh);
    assert_true(F.site->outputs[0].state.stale);
    device_start_all(F.site);
    if (!fresh) { /* as portierctl: on as soon as the link is up */
        fx_run_until(F.loop, is_up, 5000);
        assert_true(is_up());
        return;
    }
    fx_run_until(F.loop, have_status, 5000);
    assert_true(have_status());
}

static int teardown(void **state)
{
    (void)state;
    device_detach_all(F.site);
    loop_run_once(F.loop, 0);
    site_free(F.site);
    c3sim_server_free(F.sim);
    loop_free(F.loop);
    fx_rmtree(F.state_dir);
    return 0;
}

static int command(enum device_op op, unsigned value, const size_t *outs, size_t n)
{
    return fx_output_command(F.loop, F.dev, &F.cmd, op, value, outs, n, 5000);
}

static void test_link_and_states(void **state)
{
    (void)state;
    const struct site_device *sd = &F.site->devices[0];
    assert_int_equal(sd->link, LINK_UP);
    assert_non_null(strstr(sd->link_detail, "session"));
    for (size_t i = 0; i < 4; i++) {
        const struct site_output *o = &F.site->outputs[i];
        assert_int_equal(o->type, OUTPUT_DOOR);
        assert_int_equal(o->state.sensor, SENSOR_CLOSED);
        assert_true(o->state.locked);
        assert_false(o->state.stale);
        assert_string_equal(site_output_state_word(o), "closed");
    }
    assert_string_equal(site_output_state_word(&F.site->outputs[4]), "off");
    assert_true(F.ev_link >= 1);
}

static void test_open_result_and_event(void **state)
{
    (void)state;
    size_t out = 1; /* D2 */
    assert_int_equal(command(DEVICE_OPEN, 3, &out, 1), 0);
    assert_int_equal(F.cmd.dones, 1);
    assert_int_equal(F.cmd.results, 1);
    assert_int_equal(F.cmd.res[0], DEVICE_RESULT_OK);
    assert_int_equal(F.cmd.res_out[0], 1);
    /* the panel released door 2; the adapter emulates the unlock until the pulse ends */
    assert_true(F.panel->door[1].relay);
    assert_false(F.site->outputs[1].state.locked);
    assert_true(F.site->outputs[1].state.open_until_us > event_now_us());
    /* the "remote opening" event arrives through the RT log with the door's name */
    F.ev_access = 0;
    fx_run_for(F.loop, 600);
    assert_true(F.ev_access >= 1);
    assert_int_equal(F.last_access.code, 8);
    assert_string_equal(F.last_access.door, "D2");
    assert_string_equal(F.last_access.device, "P");
}

static void test_status_change_only_when_changed(void **state)
{
    (void)state;
    fx_run_for(F.loop, 400);
    F.door2_events = 0;
    fx_run_for(F.loop, 600); /* several status records, nothing changed */
    assert_int_equal(F.door2_events, 0);
    char err[128];
    assert_int_equal(c3sim_panel_sensor(F.panel, 2, true, err, sizeof err), 0);
    fx_run_for(F.loop, 800);
    assert_true(F.door2_events >= 1);
    assert_int_equal(F.site->outputs[1].state.sensor, SENSOR_OPEN);
    int after = F.door2_events;
    fx_run_for(F.loop, 600);
    assert_int_equal(F.door2_events, after); /* no repeats while it stays open */
}

static void test_swipe_event(void **state)
{
    (void)state;
    char err[128];
    F.ev_access = 0;
    assert_int_equal(c3sim_panel_swipe(F.panel, 3, 123456, 7, 0, 0, err, sizeof err), 0);
    fx_run_for(F.loop, 800);
    assert_true(F.ev_access >= 1);
    assert_int_equal(F.last_access.card, 123456);
    assert_string_equal(F.last_access.door, "D3");
    assert_int_equal(F.last_access.severity, EVENT_WARNING); /* a denial */
}

static void test_unsupported(void **state)
{
    (void)state;
    assert_false(F.dev->ops->supports(F.dev, DEVICE_LOCKOUT_ON, 0));
    assert_false(F.dev->ops->supports(F.dev, DEVICE_OPEN, 4)); /* aux */
    assert_true(F.dev->ops->supports(F.dev, DEVICE_AUX_ON, 4));
    assert_true(F.dev->ops->supports(F.dev, DEVICE_CANCEL_ALARM, SIZE_MAX));
    size_t aux = 4;
    assert_int_equal(command(DEVICE_OPEN, 3, &aux, 1), 0);
    assert_int_equal(F.cmd.results, 1);
    assert_int_equal(F.cmd.res[0], DEVICE_RESULT_UNSUPPORTED);
    assert_int_equal(command(DEVICE_AUX_ON, 255, &aux, 1), 0);
    assert_int_equal(F.cmd.res[0], DEVICE_RESULT_OK);
    assert_true(F.panel->aux[0].on);
    assert_false(F.site->outputs[4].state.locked);
}

static void test_emergency_and_restore(void **state)
{
    (void)state;
    size_t d1 = 0;
    assert_int_equal(command(DEVICE_HOLD_OPEN, 0, &d1, 1), 0); /* door 1 held before the emergency */
    assert_int_equal(F.cmd.res[0], DEVICE_RESULT_OK);
    size_t outs[4] = { 0, 1, 2, 3 };
    assert_int_equal(command(DEVICE_EMERGENCY_ON, 0, outs, 4), 0);
    assert_int_equal(F.cmd.results, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(F.cmd.res[i], DEVICE_RESULT_OK);
        assert_true(F.panel->door[i].latched);
        assert_true(F.site->outputs[i].state.emergency);
    }
    fx_run_for(F.loop, 300); /* the normal-open follow-ups */
    for (int i = 0; i < 4; i++)
        assert_true(F.panel->door[i].normal_open);
    assert_int_equal(command(DEVICE_EMERGENCY_OFF, 0, outs, 4), 0);
    assert_int_equal(F.cmd.results, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(F.cmd.res[i], DEVICE_RESULT_OK);
        assert_false(F.panel->door[i].normal_open);
        assert_false(F.site->outputs[i].state.emergency);
    }
    /* restore = previous: door 1 is held again, the others locked */
    assert_true(F.panel->door[0].latched);
    assert_true(F.site->outputs[0].state.held_open);
    for (int i = 1; i < 4; i++) {
        assert_false(F.panel->door[i].relay);
        assert_true(F.site->outputs[i].state.locked);
    }
}

static bool is_down(void) { return F.site->devices[0].link == LINK_DOWN; }

static void test_offline_and_pending_emergency(void **state)
{
    (void)state;
    c3sim_server_restart(F.sim, 0); /* the panel goes away for 300 ms */
    fx_run_until(F.loop, is_down, 3000);
    assert_true(is_down());
    assert_true(F.site->outputs[0].state.stale);
    size_t outs[2] = { 2, 3 };
    assert_int_equal(command(DEVICE_EMERGENCY_ON, 0, outs, 2), 0);
    assert_int_equal(F.cmd.results, 2);
    assert_int_equal(F.cmd.res[0], DEVICE_RESULT_OFFLINE);
    assert_non_null(strstr(F.cmd.msg[0], "unlocks when the panel is back"));
    /* when it is back, the pending emergency is applied by itself */
    fx_run_until(F.loop, is_up, 10000);
    assert_true(is_up());
    fx_run_for(F.loop, 500);
    assert_true(F.panel->door[2].latched);
    assert_true(F.panel->door[3].latched);
    assert_true(F.site->outputs[2].state.emergency);
}

/* Two commands given one right after the other (nothing answered in between), each with its own results. */
struct two {
    int results, dones;
    enum device_result res[4];
    char msg[4][96];
};

static void two_result(void *ctx, size_t output, enum device_result result, const char *message)
{
    struct two *t = ctx;
    if (output < 4) {
        t->res[output] = result;
        snprintf(t->msg[output], sizeof t->msg[0], "%s", message);
    }
    t->results++;
}

static void two_done(void *ctx) { ((struct two *)ctx)->dones++; }

static struct two T[2];
static bool both_done(void) { return T[0].dones && T[1].dones; }

static void back_to_back(enum device_op first, enum device_op second)
{
    static const size_t outs[4] = { 0, 1, 2, 3 };
    memset(T, 0, sizeof T);
    enum device_op ops[2] = { first, second };
    for (int k = 0; k < 2; k++) {
        struct device_cmd cmd = { .op = ops[k], .outputs = outs, .n_outputs = 4, .restore = SITE_RESTORE_PREVIOUS,
                                  .result = two_result, .done = two_done, .ctx = &T[k] };
        char err[128];
        assert_int_equal(F.dev->ops->command(F.dev, &cmd, err, sizeof err), 0);
    }
    fx_run_until(F.loop, both_done, 8000);
    assert_true(both_done());
    fx_run_for(F.loop, 500); /* the RT log's events of every step, and a status record */
}

/* What the adapter shows of each door is what the panel does. */
static void assert_doors_as_panel(void)
{
    for (int i = 0; i < 4; i++) {
        const struct c3sim_door *p = &F.panel->door[i];
        const struct output_state *o = &F.site->outputs[i].state;
        assert_int_equal(o->normal_open, p->normal_open);
        assert_int_equal(o->held_open, p->latched);
        assert_int_equal(o->locked, !(p->relay || p->latched || p->normal_open));
    }
}

/* Emergency off right after emergency on: the on's normal-open follow-up must not reach the panel after the
 * restore's normal-open disable (a door held before the emergency would stay normal-open). */
static void test_emergency_off_right_after_on(void **state)
{
    (void)state;
    size_t d1 = 0;
    assert_int_equal(command(DEVICE_HOLD_OPEN, 0, &d1, 1), 0);
    back_to_back(DEVICE_EMERGENCY_ON, DEVICE_EMERGENCY_OFF);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(T[0].res[i], DEVICE_RESULT_OK); /* unlocked, then the restore took over */
        assert_int_equal(T[1].res[i], DEVICE_RESULT_OK);
        assert_false(F.panel->door[i].normal_open);
        assert_int_equal(F.panel->door[i].latched, i == 0); /* restore = previous: door 1 held again */
        assert_false(F.site->outputs[i].state.emergency);
    }
    assert_doors_as_panel();
}

/* Emergency on right after emergency off: the restore's close must not reach the panel after the new
 * emergency's unlock (a door reported unlocked by the emergency would be locked). */
static void test_emergency_on_right_after_off(void **state)
{
    (void)state;
    size_t outs[4] = { 0, 1, 2, 3 };
    assert_int_equal(command(DEVICE_EMERGENCY_ON, 0, outs, 4), 0);
    fx_run_for(F.loop, 300);
    back_to_back(DEVICE_EMERGENCY_OFF, DEVICE_EMERGENCY_ON);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(T[0].res[i], DEVICE_RESULT_FAILED);
        assert_string_equal(T[0].msg[i], "superseded by a later command for this door");
        assert_int_equal(T[1].res[i], DEVICE_RESULT_OK);
        assert_true(F.panel->door[i].latched);
        assert_true(F.panel->door[i].normal_open);
        assert_true(F.site->outputs[i].state.emergency);
        assert_string_equal(site_output_state_word(&F.site->outputs[i]), "emergency open");
    }
    assert_doors_as_panel();
}

/* A later run (portierctl emergency off) finds the emergency in the state file: the adapter unlocks the
 * doors again as soon as the panel answers, and the restore given at once must win over that, on the panel and
 * in what the adapter believes (the status of the next run reads it from the state file). */
static void test_restore_in_a_later_run(void **state)
{
    (void)state;
    size_t outs[4] = { 0, 1, 2, 3 };
    assert_int_equal(command(DEVICE_EMERGENCY_ON, 0, outs, 4), 0);
    fx_run_for(F.loop, 300);
    device_detach_all(F.site);
    loop_run_once(F.loop, 0);
    site_free(F.site);
    open_site(false); /* returns as soon as the panel answers: the unlock again is queued */
    assert_int_equal(command(DEVICE_EMERGENCY_OFF, 0, outs, 4), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(F.cmd.res[i], DEVICE_RESULT_OK);
    fx_run_for(F.loop, 500);
    for (int i = 0; i < 4; i++) {
        assert_false(F.panel->door[i].normal_open);
        assert_false(F.panel->door[i].latched);
        assert_string_equal(site_output_state_word(&F.site->outputs[i]), "closed");
    }
    assert_doors_as_panel();
    /* and the run after it reads the same from the state file */
    device_detach_all(F.site);
    loop_run_once(F.loop, 0);
    site_free(F.site);
    open_site(true);
    for (int i = 0; i < 4; i++)
        assert_string_equal(site_output_state_word(&F.site->outputs[i]), "closed");
}

/* A door closed by an operator during the emergency is locked on the panel (output 0 ends the latch and the
 * normal-open): it must not go on being shown as unlocked by the emergency. */
static void test_close_during_the_emergency(void **state)
{
    (void)state;
    size_t outs[4] = { 0, 1, 2, 3 };
    assert_int_equal(command(DEVICE_EMERGENCY_ON, 0, outs, 4), 0);
    fx_run_for(F.loop, 300);
    size_t d2 = 1;
    assert_int_equal(command(DEVICE_CLOSE, 0, &d2, 1), 0);
    assert_int_equal(F.cmd.res[0], DEVICE_RESULT_OK);
    fx_run_for(F.loop, 400);
    assert_false(F.panel->door[1].latched);
    assert_false(F.panel->door[1].normal_open);
    assert_false(F.site->outputs[1].state.emergency);
    assert_string_equal(site_output_state_word(&F.site->outputs[1]), "closed");
    assert_string_equal(site_output_state_word(&F.site->outputs[0]), "emergency open");
    assert_doors_as_panel();
}

/* Output 0 (close) ends normal-open on the panel: the adapter must not go on showing the door normal-open. */
static void test_close_ends_normal_open(void **state)
{
    (void)state;
    size_t d2 = 1;
    assert_int_equal(command(DEVICE_NORMAL_OPEN_ON, 0, &d2, 1), 0);
    assert_true(F.panel->door[1].normal_open);
    assert_string_equal(site_output_state_word(&F.site->outputs[1]), "normal open");
    assert_int_equal(command(DEVICE_CLOSE, 0, &d2, 1), 0);
    assert_int_equal(F.cmd.res[0], DEVICE_RESULT_OK);
    assert_false(F.panel->door[1].normal_open);
    assert_false(F.site->outputs[1].state.normal_open);
    fx_run_for(F.loop, 400); /* the events 205 and 9 from the RT log agree */
    assert_false(F.site->outputs[1].state.normal_open);
    assert_string_equal(site_output_state_word(&F.site->outputs[1]), "closed");
    assert_doors_as_panel();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_link_and_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_result_and_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_change_only_when_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swipe_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emergency_and_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offline_and_pending_emergency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emergency_off_right_after_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emergency_on_right_after_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_in_a_later_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_ends_normal_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_during_the_emergency, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
