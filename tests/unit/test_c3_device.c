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
#include "drivers/c3/c3_control.h"
#include "drivers/c3/c3_device.h"
#include "drivers/drivers.h"
#include "sim/c3sim_net.h"
#include "sim/c3sim_panel.h"

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
    int door1_closings;      /* event 9 ("remote closing") of door 1 from the RT log */
};

static struct fx F;

static void on_event(const struct event *ev, void *arg)
{
    (void)arg;
    if (ev->kind == EVENT_ACCESS) {
        F.ev_access++;
        F.last_access = *ev;
        if (ev->door_no == 1 && ev->code == 9)
            F.door1_closings++;
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

/* ---- kill -9 at any moment of an emergency, for a door that was normal-open ---- */

/* The state file as a kill left it (what survives a kill -9: the last durable write), -1 = no file. */
static char kill_text[2048];
static ssize_t kill_len;

static void state_path(char *buf, size_t len)
{
    c3_device_state_path(F.site, F.site->devices[0].panel, buf, len);
}

/* The moment of the kill: whatever the adapter wrote durably so far is what the next process finds. */
static void kill_now(void)
{
    char path[SITE_PATH_MAX];
    state_path(path, sizeof path);
    FILE *f = fopen(path, "r");
    kill_len = -1;
    if (f) {
        kill_len = (ssize_t)fread(kill_text, 1, sizeof kill_text, f);
        fclose(f);
    }
}

/* The killed process is gone (its teardown's write is undone: a kill writes nothing), the panel goes on, and a
 * new process starts from the file as the kill left it. */
static void restart_after_kill(void)
{
    char path[SITE_PATH_MAX];
    state_path(path, sizeof path);
    device_detach_all(F.site);
    loop_run_once(F.loop, 0);
    site_free(F.site);
    if (kill_len < 0) {
        (void)unlink(path);
    } else {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(fwrite(kill_text, 1, (size_t)kill_len, f), (size_t)kill_len);
        fclose(f);
    }
    open_site(false);
}

static const size_t ALL[4] = { 0, 1, 2, 3 };

static const char *const BEFORE_WORD[4] = { "normal open", "held open", "closed", "closed" };

static bool before_state_holds(void)
{
    for (int i = 0; i < 4; i++) {
        const struct c3sim_door *p = &F.panel->door[i];
        if (p->normal_open != (i == 0) || p->latched != (i == 1) || F.site->outputs[i].state.emergency ||
            strcmp(site_output_state_word(&F.site->outputs[i]), BEFORE_WORD[i]) != 0)
            return false;
    }
    return true;
}

/* Door 1 normal-open, door 2 held, doors 3 and 4 locked: on the panel and in what the adapter shows (given up to
 * 3 s to get there: a loaded machine delays the answers and the status records, never the outcome). */
static void assert_before_state(const char *when)
{
    const char *const *word = BEFORE_WORD;
    fx_run_until(F.loop, before_state_holds, 3000);
    for (int i = 0; i < 4; i++) {
        const struct c3sim_door *p = &F.panel->door[i];
        if (p->normal_open != (i == 0) || p->latched != (i == 1) ||
            strcmp(site_output_state_word(&F.site->outputs[i]), word[i]) != 0 || F.site->outputs[i].state.emergency)
            fail_msg("%s: door %d is %s%s (adapter: %s), expected %s", when, i + 1, p->normal_open ? "normal-open " : "",
                     p->latched ? "latched" : "not latched", site_output_state_word(&F.site->outputs[i]), word[i]);
    }
}

/* End the emergency (restore = previous) as a restarted console does when the operator presses the key, let the
 * RT log's events of the restore arrive, and check every door is back as it was. */
static void restore_and_check(const char *when)
{
    assert_int_equal(command(DEVICE_EMERGENCY_OFF, 0, ALL, 4), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(F.cmd.res[i], DEVICE_RESULT_OK);
    fx_run_for(F.loop, 600);
    assert_before_state(when);
}

static void start_from_before_state(void)
{
    size_t d1 = 0, d2 = 1;
    assert_int_equal(command(DEVICE_NORMAL_OPEN_ON, 0, &d1, 1), 0);
    assert_int_equal(command(DEVICE_HOLD_OPEN, 0, &d2, 1), 0);
    fx_run_for(F.loop, 400);
    assert_before_state("before the emergency");
}

static void ignore_result(void *ctx, size_t output, enum device_result result, const char *message)
{
    (void)ctx, (void)output, (void)result, (void)message;
}

/* Give a command without waiting for it, and let the loop turn `turns` times (each turn one answer or event at
 * most). */
static void command_turns(enum device_op op, int turns)
{
    struct device_cmd cmd = { .op = op, .outputs = ALL, .n_outputs = 4, .restore = SITE_RESTORE_PREVIOUS,
                              .result = ignore_result };
    char err[128];
    assert_int_equal(F.dev->ops->command(F.dev, &cmd, err, sizeof err), 0);
    for (int t = 0; t < turns; t++)
        loop_run_once(F.loop, 50);
}

/* The emergency key, killed at the k-th turn of the loop after it (k = 0: before the intent is written; k = 1:
 * right after it, before any answer; then between the unlocks, the normal-open follow-ups and their events);
 * the next process finds what the kill left and completes the emergency if it began (the restore comes at once
 * or after that), and the restore puts every door back: the normal-open door normal-open. Every third time the
 * restore is killed too, at a turn of its own, and the process after that completes it. */
static void test_emergency_killed_at_every_step(void **state)
{
    (void)state;
    start_from_before_state();
    char when[96];
    for (int k = 0; k <= 14; k++) {
        if (k > 0)
            command_turns(DEVICE_EMERGENCY_ON, k - 1);
        kill_now(); /* k = 0: the key was pressed; nothing was written or sent yet */
        restart_after_kill();
        snprintf(when, sizeof when, "killed at turn %d of the emergency", k);
        if (k == 0) {
            fx_run_for(F.loop, 300); /* the first status record */
            assert_before_state(when);
            continue;
        }
        fx_run_for(F.loop, k % 2 ? 300 : 0); /* the restarted run unlocks again what the killed one began */
        if (k % 3 != 2) {
            restore_and_check(when);
            continue;
        }
        command_turns(DEVICE_EMERGENCY_OFF, k / 3);
        kill_now();
        restart_after_kill();
        fx_run_for(F.loop, 500); /* the restore the killed run began is completed */
        snprintf(when, sizeof when, "killed at turn %d of the emergency and turn %d of the restore", k, k / 3);
        assert_before_state(when);
    }
}

/* The restore of a normal-open door closes it (output 0) and then enables normal-open: the panel reports event 9
 * and then 205, which the RT log brings after both steps were answered. The adapter must not take its own
 * close's event 9 for an operator's close: an emergency begun, or a state written and then a kill, before the
 * 205 arrives would remember the door as locked and a later restore would lock it. */
static bool door1_closing_seen(void) { return F.door1_closings > 0; }

/* An emergency, then its restore until the RT log has brought door 1's event 9 (and not yet its 205). */
static void emergency_and_restore_until_event_9(void)
{
    assert_int_equal(command(DEVICE_EMERGENCY_ON, 0, ALL, 4), 0);
    fx_run_for(F.loop, 400);
    assert_int_equal(command(DEVICE_EMERGENCY_OFF, 0, ALL, 4), 0);
    F.door1_closings = 0;
    fx_run_until(F.loop, door1_closing_seen, 3000);
    assert_true(door1_closing_seen());
}

static void test_restore_event_9_is_not_a_close(void **state)
{
    (void)state;
    start_from_before_state();
    /* 1: the emergency key again while the restore's events are still coming */
    emergency_and_restore_until_event_9();
    assert_true(F.site->outputs[0].state.normal_open);
    assert_int_equal(command(DEVICE_EMERGENCY_ON, 0, ALL, 4), 0);
    fx_run_for(F.loop, 400);
    restore_and_check("an emergency begun between the restore's events 9 and 205");
    /* 2: a state written between the two (a door held; in a console, the state write the restore's end asked
     * for, when the loop hands it the RT log's answer first), then a kill and a new emergency after the restart */
    emergency_and_restore_until_event_9();
    size_t d3 = 2;
    assert_int_equal(command(DEVICE_HOLD_OPEN, 0, &d3, 1), 0);
    fx_run_for(F.loop, 50);
    kill_now();
    restart_after_kill();
    assert_int_equal(command(DEVICE_RELEASE, 0, &d3, 1), 0);
    fx_run_for(F.loop, 400);
    assert_before_state("after the restart");
    assert_int_equal(command(DEVICE_EMERGENCY_ON, 0, ALL, 4), 0);
    fx_run_for(F.loop, 400);
    restore_and_check("a kill between the restore's events 9 and 205, then a new emergency");
}

/* A state change the adapter's own steps do not explain (another client's command, read from the RT log) is
 * applied and remembered: a kill after it, a restart and an emergency go back to it. */
static void test_other_clients_changes_are_kept(void **state)
{
    (void)state;
    size_t d2 = 1;
    assert_int_equal(command(DEVICE_HOLD_OPEN, 0, &d2, 1), 0);
    uint8_t b[C3_CONTROL_LEN];
    assert_true(c3_control_normal_open(b, 1, true) > 0); /* door 1 normal-open by another client */
    assert_int_equal(c3sim_panel_control(F.panel, b, sizeof b), 0);
    assert_true(c3_control_normal_open(b, 3, true) > 0); /* door 3 normal-open, then closed by another client */
    assert_int_equal(c3sim_panel_control(F.panel, b, sizeof b), 0);
    assert_true(c3_control_output(b, C3_OUTPUT_DOOR, 3, C3_OUTPUT_CLOSE) > 0);
    assert_int_equal(c3sim_panel_control(F.panel, b, sizeof b), 0);
    fx_run_for(F.loop, 600);
    assert_string_equal(site_output_state_word(&F.site->outputs[0]), "normal open");
    assert_string_equal(site_output_state_word(&F.site->outputs[2]), "closed");
    kill_now();
    restart_after_kill();
    fx_run_for(F.loop, 300);
    assert_before_state("after the restart");
    assert_int_equal(command(DEVICE_EMERGENCY_ON, 0, ALL, 4), 0);
    fx_run_for(F.loop, 400);
    restore_and_check("an emergency after another client's normal-open enable");
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
        cmocka_unit_test_setup_teardown(test_emergency_killed_at_every_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_event_9_is_not_a_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_clients_changes_are_kept, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
