/* Unit tests for action_run: roles (each role can do exactly what it may), audit before dispatch, per-door
 * results, the site-wide emergency with live counts, refusals. Devices are a scripted fake driver. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/site_config.h"
#include "core/action.h"
#include "core/device.h"
#include "core/journal.h"
#include "fixture_site.h"

#include <sqlite3.h>

/* ---- fake driver: answers after 10 ms of fake time; outputs named in fail_name fail ---- */

struct fake_cmd {
    struct device_cmd cmd;
    size_t outs[16];
    loop_timer_t timer;
    struct device *dev;
};

struct fake {
    int commands;
    int audit_pending_seen;      /* commands that found their audit row already written as pending */
    const char *fail_name;       /* output that fails */
    const char *fail_msg;        /* its reason (default "no reply") */
    const char *device_fail;     /* a device-wide command (panel data) fails with this message */
    bool refuse;                 /* command() refuses at once */
    enum device_op last_op;
    unsigned last_value;
};

static struct fake fake;

static void fake_fire(loop_t *loop, void *arg)
{
    struct fake_cmd *fc = arg;
    struct site *site = fc->dev->site;
    if (fc->cmd.n_outputs == 0)
        fc->cmd.result(fc->cmd.ctx, SIZE_MAX, fake.device_fail ? DEVICE_RESULT_FAILED : DEVICE_RESULT_OK,
                       fake.device_fail ? fake.device_fail : "ok");
    for (size_t i = 0; i < fc->cmd.n_outputs; i++) {
        const char *name = site->outputs[fc->outs[i]].name;
        if (fake.fail_name && strcmp(name, fake.fail_name) == 0)
            fc->cmd.result(fc->cmd.ctx, fc->outs[i], DEVICE_RESULT_TIMEOUT, fake.fail_msg ? fake.fail_msg : "no reply");
        else
            fc->cmd.result(fc->cmd.ctx, fc->outs[i], DEVICE_RESULT_OK, "ok");
    }
    fc->cmd.done(fc->cmd.ctx);
    free(fc);
}

static int pending_audit(const struct audit_record *r, void *arg)
{
    if (strcmp(r->result, "pending") == 0)
        (*(int *)arg)++;
    return 1; /* newest only */
}

static int fake_command(struct device *dev, const struct device_cmd *cmd, char *err, size_t errlen)
{
    if (fake.refuse) {
        snprintf(err, errlen, "queue full");
        return -1;
    }
    fake.commands++;
    fake.last_op = cmd->op;
    fake.last_value = cmd->value;
    struct journal_query q = { .kind = -1, .min_severity = -1, .limit = 1 };
    if (dev->site->journal_db)
        journal_query_audit(dev->site->journal_db, &q, pending_audit, &fake.audit_pending_seen);
    struct fake_cmd *fc = calloc(1, sizeof *fc);
    assert_non_null(fc);
    fc->cmd = *cmd;
    assert_true(cmd->n_outputs <= 16);
    if (cmd->n_outputs)
        memcpy(fc->outs, cmd->outputs, cmd->n_outputs * sizeof fc->outs[0]);
    fc->cmd.outputs = fc->outs;
    fc->dev = dev;
    loop_timer_init(&fc->timer, fake_fire, fc);
    loop_timer_arm_ms(dev->loop, &fc->timer, 10);
    return 0;
}

static bool fake_supports(const struct device *dev, enum device_op op, size_t output)
{
    /* Like the real families: NiX1 has no pulse open, no aux, no normal-open; C3 has no lock-out. */
    const char *kind = dev->site->devices[dev->index].kind;
    if (strcmp(kind, "nix1") == 0)
        return op != DEVICE_OPEN && op != DEVICE_AUX_ON && op != DEVICE_AUX_OFF && op != DEVICE_NORMAL_OPEN_ON &&
               op != DEVICE_NORMAL_OPEN_OFF && op != DEVICE_CANCEL_ALARM;
    return op != DEVICE_LOCKOUT_ON && op != DEVICE_LOCKOUT_OFF && op != DEVICE_TIMED_OPEN;
}

static const struct device_ops fake_c3 = { .kind = "c3", .command = fake_command, .supports = fake_supports };
static const struct device_ops fake_nix1 = { .kind = "nix1", .command = fake_command, .supports = fake_supports };
static const struct device_ops *const registry[] = { &fake_c3, &fake_nix1, NULL };

static const char *conf =
    "site = { name = \"T\"; };\n"
    "panels = ( { name = \"Panel A\"; host = \"127.0.0.1\"; model = \"C3-200\"; doors = ( \"Main\", \"Back\" );"
    " aux = ( \"Siren\" ); },\n"
    "  { name = \"Panel B\"; host = \"127.0.0.2\"; model = \"C3-100\"; doors = ( \"Garage\" ); } );\n"
    "buses = ( { name = \"Bus 1\"; port = \"/dev/null\"; server_dir = \"/tmp\"; slaves = (\n"
    "  { address = \"270100000000006B\"; name = \"Lab\"; probe1 = { door = \"Lab\"; unit = 1; }; } ); } );\n";

static struct fx_env E;

static void reset_fake(void) { memset(&fake, 0, sizeof fake); }

struct outcome {
    int progress_calls;
    int finished;
    enum action_status status;
    unsigned confirmed, failed, pending;
    unsigned max_pending;
    char error[256];
    size_t n_results;
    bool audit_kept, audit_lost;
};

static void on_progress(const struct action_run *run, bool finished, void *arg)
{
    struct outcome *o = arg;
    o->progress_calls++;
    if (run->pending > o->max_pending)
        o->max_pending = run->pending;
    if (finished) {
        o->finished++;
        o->status = run->status;
        o->confirmed = run->confirmed;
        o->failed = run->failed;
        o->pending = run->pending;
        o->n_results = run->n_results;
        snprintf(o->error, sizeof o->error, "%s", run->error);
        o->audit_kept = run->audit_kept;
        o->audit_lost = run->audit_lost;
    }
}

/* Run an action to completion; returns action_run's return value. */
static int run(enum role role, enum action_id id, const char *target, int value, struct outcome *o)
{
    struct action_user u = { .role = role };
    snprintf(u.name, sizeof u.name, "%s-user", role_name(role));
    struct action_params p = { .value = value > 0 ? (unsigned)value : 0, .has_value = value > 0,
                               .file_name = "T.TXT", .file_data = "x", .file_len = 1,
                               .settings = id == ACTION_PANEL_DATA_GET ? "users list"
                                           : id == ACTION_PANEL_DATA ? "users set" : NULL };
    memset(o, 0, sizeof *o);
    char err[256] = "";
    int rc = action_run(E.site, &u, id, target, &p, on_progress, o, err, sizeof err);
    fx_action_wait(&E, &o->finished);
    return rc;
}

static struct audit_record last_audit;

static int get_one(const struct audit_record *r, void *arg)
{
    *(struct audit_record *)arg = *r;
    return 1;
}

static void fetch_last_audit(void) { fx_last_audit(&E, &last_audit); }

/* A refused attempt reported by a client (attempt_only): a role that may not is audited as denied with who, what,
 * the target and the role needed; a role that may runs nothing and writes no row. */
static void test_attempt_only(void **state)
{
    (void)state;
    struct action_user g = { .role = ROLE_GUARD }, op = { .role = ROLE_OPERATOR };
    snprintf(g.name, sizeof g.name, "gina");
    snprintf(op.name, sizeof op.name, "otto");
    struct action_params p = { .attempt_only = true };
    struct outcome o = { 0 };
    char err[256] = "";
    int before = fake.commands;
    assert_int_equal(action_run(E.site, &g, ACTION_DOOR_OPEN, "Main", &p, on_progress, &o, err, sizeof err), -1);
    assert_int_equal(o.status, ACTION_DENIED);
    fetch_last_audit();
    assert_string_equal(last_audit.user, "gina");
    assert_string_equal(last_audit.role, "guard");
    assert_string_equal(last_audit.action, "door-open");
    assert_string_equal(last_audit.target, "Main");
    assert_string_equal(last_audit.result, "denied");
    assert_non_null(strstr(last_audit.detail, "needs the operator role"));
    int64_t id = last_audit.id;
    memset(&o, 0, sizeof o);
    assert_int_equal(action_run(E.site, &op, ACTION_DOOR_OPEN, "Main", &p, on_progress, &o, err, sizeof err), -1);
    assert_int_equal(o.status, ACTION_REFUSED);
    assert_non_null(strstr(err, "only an attempt"));
    fetch_last_audit();
    assert_int_equal(last_audit.id, id); /* no row */
    assert_int_equal(fake.commands, before); /* nothing sent */
    assert_int_equal(action_running(E.site), 0);
}

/* For every role and every action: allowed exactly when the table says so, and enforced by action_run. */
static void test_roles_matrix(void **state)
{
    /* what each role may do, spelled out (not derived from the table under test) */
    static const bool may[ROLE_COUNT][ACTION_COUNT] = {
        [ROLE_GUARD] = { [ACTION_ACK] = true, [ACTION_PANEL_DATA_GET] = true },
        [ROLE_OPERATOR] = { [ACTION_ACK] = true, [ACTION_PANEL_DATA_GET] = true, [ACTION_DOOR_OPEN] = true, [ACTION_DOOR_CLOSE] = true,
                            [ACTION_DOOR_HOLD] = true, [ACTION_DOOR_RELEASE] = true, [ACTION_TIMED_OPEN] = true,
                            [ACTION_NORMAL_OPEN_ON] = true, [ACTION_NORMAL_OPEN_OFF] = true,
                            [ACTION_AUX_ON] = true, [ACTION_AUX_OFF] = true, [ACTION_CANCEL_ALARM] = true,
                            [ACTION_LOCKOUT_ON] = true, [ACTION_LOCKOUT_OFF] = true,
                            [ACTION_EMERGENCY_ON] = true, [ACTION_EMERGENCY_OFF] = true },
    };
    /* a target each action accepts */
    static const char *const targets[ACTION_COUNT] = {
        [ACTION_ACK] = "1", [ACTION_DOOR_OPEN] = "Main", [ACTION_DOOR_CLOSE] = "Main", [ACTION_DOOR_HOLD] = "Main",
        [ACTION_DOOR_RELEASE] = "Main", [ACTION_TIMED_OPEN] = "Lab", [ACTION_NORMAL_OPEN_ON] = "Back",
        [ACTION_NORMAL_OPEN_OFF] = "Back", [ACTION_AUX_ON] = "Siren", [ACTION_AUX_OFF] = "Siren",
        [ACTION_CANCEL_ALARM] = "Panel B", [ACTION_LOCKOUT_ON] = "Lab", [ACTION_LOCKOUT_OFF] = "Lab",
        [ACTION_SLAVE_SET] = "Lab", [ACTION_SLAVE_FILE_PUT] = "Lab", [ACTION_SLAVE_FILE_DELETE] = "Lab",
        [ACTION_SLAVE_PROVISION] = "Lab", [ACTION_PANEL_DATA_GET] = "Panel B", [ACTION_PANEL_DATA] = "Panel B",
    };
    /* an event to acknowledge */
    struct event ev;
    event_init(&ev, EVENT_DOOR, EVENT_ALARM);
    event_set_text(&ev, "forced open");
    assert_int_equal(event_publish(site_events(E.site), &ev), 1);
    assert_int_equal(ev.id, 1);
    for (int r = 0; r < ROLE_COUNT; r++) {
        for (int a = 0; a < ACTION_COUNT; a++) {
            bool allowed = r == ROLE_TECHNICIAN || may[r][a];
            assert_int_equal(action_allowed((enum role)r, (enum action_id)a), allowed);
            struct outcome o;
            int before = fake.commands;
            int rc = run((enum role)r, (enum action_id)a, targets[a], 0, &o);
            fetch_last_audit();
            assert_string_equal(last_audit.action, action_table[a].name);
            assert_string_equal(last_audit.role, role_name((enum role)r));
            if (!allowed) {
                assert_int_equal(rc, -1);
                assert_int_equal(o.status, ACTION_DENIED);
                assert_int_equal(fake.commands, before); /* nothing sent */
                assert_string_equal(last_audit.result, "denied");
                assert_non_null(strstr(o.error, "needs the"));
            } else {
                if (rc != 0 || o.status != ACTION_OK)
                    fail_msg("role %s action %s: rc %d status %s error %s", role_name((enum role)r),
                             action_table[a].name, rc, action_status_name(o.status), o.error);
                assert_string_equal(last_audit.result, "ok");
                assert_true(last_audit.done_us >= last_audit.time_us);
            }
        }
    }
    /* every dispatched command found its audit row already written */
    assert_true(fake.commands > 0);
    assert_int_equal(fake.audit_pending_seen, fake.commands);
}

static void test_door_open_result(void **state)
{
    struct outcome o;
    assert_int_equal(run(ROLE_OPERATOR, ACTION_DOOR_OPEN, "main", 7, &o), 0);
    assert_int_equal(o.status, ACTION_OK);
    assert_int_equal(fake.last_op, DEVICE_OPEN);
    assert_int_equal(fake.last_value, 7);
    fetch_last_audit();
    assert_string_equal(last_audit.target, "Main");
    assert_string_equal(last_audit.params, "seconds=7");
    assert_string_equal(last_audit.detail, "Main: ok");
    assert_string_equal(last_audit.user, "operator-user");
    struct site_output *out = site_find_output(E.site, "Main");
    assert_int_equal(out->progress, PROGRESS_OK);
    /* a failing door */
    fake.fail_name = "Main";
    assert_int_equal(run(ROLE_OPERATOR, ACTION_DOOR_OPEN, "Panel A/1", 0, &o), 0);
    assert_int_equal(o.status, ACTION_FAILED);
    fetch_last_audit();
    assert_string_equal(last_audit.result, "failed");
    assert_string_equal(last_audit.detail, "Main: FAILED timeout: no reply");
    assert_string_equal(last_audit.params, "seconds=5"); /* the default */
    assert_int_equal(out->progress, PROGRESS_FAILED);
}

/* A door's reason reaches the audit row whole, however long a driver's reason is (a panel's host name and the
 * socket's error, then what the emergency will do: it was cut at 95 bytes, "...; unlocks when the panel is b"). */
static void test_long_reason_whole(void **state)
{
    (void)state;
    struct outcome o;
    const char *why = "offline: cannot connect to tcp panel-east-wing.building-7.example.org:4370: Connection refused; "
                      "unlocks when the panel is back";
    fake.fail_name = "Main";
    fake.fail_msg = why;
    assert_int_equal(run(ROLE_OPERATOR, ACTION_DOOR_OPEN, "Panel A/1", 0, &o), 0);
    assert_int_equal(o.status, ACTION_FAILED);
    fetch_last_audit();
    char want[300];
    snprintf(want, sizeof want, "Main: FAILED timeout: %s", why);
    assert_string_equal(last_audit.detail, want);
}

/* A device's "failed" result: the audit row and the result say FAILED once, then the driver's reason. */
static void test_failed_result_words(void **state)
{
    (void)state;
    struct outcome o;
    fake.device_fail = "line 2: card: '12x' is not a number";
    assert_int_equal(run(ROLE_TECHNICIAN, ACTION_PANEL_DATA, "Panel B", 0, &o), 0);
    assert_int_equal(o.status, ACTION_FAILED);
    fetch_last_audit();
    assert_string_equal(last_audit.result, "failed");
    assert_string_equal(last_audit.detail, "Panel B: FAILED line 2: card: '12x' is not a number");
    fake.device_fail = "";
    assert_int_equal(run(ROLE_TECHNICIAN, ACTION_PANEL_DATA, "Panel B", 0, &o), 0);
    fetch_last_audit();
    assert_string_equal(last_audit.detail, "Panel B: FAILED no reason given");
}

static void keep_gap(const struct event *ev, void *arg)
{
    if (ev->kind == EVENT_GAP)
        *(struct event *)arg = *ev;
}

/* The site's own gap row after a lost link says only what is known: of a device that reads nothing back,
 * that nothing is known (not that events were missed); of one that reads its records back, that it does. */
static void test_gap_row_says_what_is_known(void **state)
{
    (void)state;
    struct event gap = { 0 };
    int h = event_bus_subscribe(site_events(E.site), keep_gap, &gap);
    struct device *dev = E.site->devices[0].drv;
    device_report_link(dev, LINK_UP, "up");
    device_report_link(dev, LINK_DOWN, "gone");
    device_report_link(dev, LINK_UP, "up");
    assert_int_equal(gap.kind, EVENT_GAP);
    assert_string_equal(gap.device, "Panel A");
    assert_non_null(strstr(gap.text, "link was lost "));
    assert_non_null(strstr(gap.text, ": nothing is known of events of that time"));
    assert_int_equal(gap.severity, EVENT_WARNING);
    dev->gap_read_back = "its records of that time are read back";
    memset(&gap, 0, sizeof gap);
    device_report_link(dev, LINK_STALE, "no answer");
    device_report_link(dev, LINK_UP, "up");
    assert_non_null(strstr(gap.text, ": its records of that time are read back"));
    assert_int_equal(gap.severity, EVENT_NORMAL);
    dev->own_gaps = true; /* the driver writes its own (recovered and lost counts): none from the site */
    memset(&gap, 0, sizeof gap);
    device_report_link(dev, LINK_DOWN, "gone");
    device_report_link(dev, LINK_UP, "up");
    assert_int_equal(gap.kind, EVENT_ACCESS); /* untouched since the memset: no gap row */
    assert_int_equal(gap.text[0], '\0');
    event_bus_unsubscribe(site_events(E.site), h);
}

static void test_refusals(void **state)
{
    struct outcome o;
    assert_int_equal(run(ROLE_OPERATOR, ACTION_DOOR_OPEN, "Nowhere", 0, &o), -1);
    assert_int_equal(o.status, ACTION_REFUSED);
    assert_string_equal(o.error, "no door named \"Nowhere\"");
    assert_int_equal(run(ROLE_OPERATOR, ACTION_DOOR_OPEN, "Siren", 0, &o), -1);
    assert_string_equal(o.error, "\"Siren\" is an aux output; door-open applies to doors");
    assert_int_equal(run(ROLE_OPERATOR, ACTION_LOCKOUT_ON, "Main", 0, &o), -1);
    assert_string_equal(o.error, "\"Main\" is a C3 door; lockout-on applies to NiX1 doors");
    assert_int_equal(run(ROLE_OPERATOR, ACTION_DOOR_OPEN, "Main", 255, &o), -1);
    assert_string_equal(o.error, "seconds 255 is out of range (1..254)");
    assert_int_equal(fake.commands, 0);
    /* family cannot do it: dispatched, fails per door with the reason */
    assert_int_equal(run(ROLE_OPERATOR, ACTION_DOOR_OPEN, "Lab", 0, &o), 0);
    assert_int_equal(o.status, ACTION_FAILED);
    fetch_last_audit();
    assert_string_equal(last_audit.detail, "Lab: FAILED open is not supported by nix1 devices");
    /* driver refuses */
    fake.refuse = true;
    assert_int_equal(run(ROLE_OPERATOR, ACTION_DOOR_CLOSE, "Back", 0, &o), 0);
    assert_int_equal(o.status, ACTION_FAILED);
    fetch_last_audit();
    assert_string_equal(last_audit.detail, "Back: FAILED queue full");
    fake.refuse = false;
    /* panel data: the request is checked before anything is sent; a bus has none */
    struct action_user tech = { .role = ROLE_TECHNICIAN, .name = "tech" };
    struct action_params bad = { .settings = "users frobnicate", .file_data = "pin\n1\n", .file_len = 6 };
    char err[256];
    int before = fake.commands;
    assert_int_equal(action_run(E.site, &tech, ACTION_PANEL_DATA, "Panel B", &bad, on_progress, &o, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "takes \"KIND add|set|delete|replace [FIELD=N] [dry-run]\""));
    /* a scope goes with replace only, a field name and a number */
    static const char *const scoped_bad[] = { "access add pin=2", "access replace pin=x", "access replace Pin=2",
                                              "access replace pin=2 now", "access replace pin=2 dry-run x" };
    for (size_t i = 0; i < sizeof scoped_bad / sizeof scoped_bad[0]; i++) {
        bad.settings = scoped_bad[i];
        assert_int_equal(action_run(E.site, &tech, ACTION_PANEL_DATA, "Panel B", &bad, on_progress, &o, err,
                                    sizeof err), -1);
        assert_non_null(strstr(err, "takes \"KIND"));
    }
    bad.settings = "users replace";
    bad.file_data = NULL;
    assert_int_equal(action_run(E.site, &tech, ACTION_PANEL_DATA, "Panel B", &bad, on_progress, &o, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "needs the rows"));
    assert_int_equal(fake.commands, before);
    struct action_params get = { .settings = "cards list" };
    memset(&o, 0, sizeof o);
    assert_int_equal(action_run(E.site, &tech, ACTION_PANEL_DATA_GET, "Panel B", &get, on_progress, &o, err,
                                sizeof err), 0);
    fx_action_wait(&E, &o.finished);
    assert_int_equal(o.status, ACTION_OK);
    assert_int_equal(fake.last_op, DEVICE_PANEL_DATA);
    fetch_last_audit();
    assert_string_equal(last_audit.params, "cards list");
    struct action_params one = { .settings = "access replace pin=2 dry-run", .file_data = "pin,door,timezone\n",
                                 .file_len = 18 };
    memset(&o, 0, sizeof o);
    assert_int_equal(action_run(E.site, &tech, ACTION_PANEL_DATA, "Panel B", &one, on_progress, &o, err,
                                sizeof err), 0);
    fx_action_wait(&E, &o.finished);
    assert_int_equal(o.status, ACTION_OK);
    fetch_last_audit();
    assert_string_equal(last_audit.params, "access replace pin=2 dry-run, 18 bytes of CSV, no row");
    /* the audit names the rows a change is about by their first column (the key) and the columns it sets, never
     * their other values */
    static const char *const want[] = { "users set, 22 bytes of CSV, 1 row: pin=7 [password]",
                                        "users add, 48 bytes of CSV, 3 rows: pin=1 22 333 [name,password]" };
    static const char *const rows[] = { "pin,password\n7,123456\n", "pin,name,password\n1,A,1111\n22,B,2222\n"
                                        "333,C,3333\n" };
    static const char *const req[] = { "users set", "users add" };
    for (size_t k = 0; k < 2; k++) {
        struct action_params q = { .settings = req[k], .file_data = rows[k], .file_len = strlen(rows[k]) };
        memset(&o, 0, sizeof o);
        assert_int_equal(action_run(E.site, &tech, ACTION_PANEL_DATA, "Panel B", &q, on_progress, &o, err,
                                    sizeof err), 0);
        fx_action_wait(&E, &o.finished);
        fetch_last_audit();
        assert_string_equal(last_audit.params, want[k]);
        assert_null(strstr(last_audit.params, "1111"));
    }
    /* many rows: as many keys as fit, then "..." */
    char many[8000] = "pin,card\n";
    for (unsigned i = 1; i <= 500; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%u,%u\n", 1000 + i, i);
    struct action_params m = { .settings = "users replace", .file_data = many, .file_len = strlen(many) };
    memset(&o, 0, sizeof o);
    assert_int_equal(action_run(E.site, &tech, ACTION_PANEL_DATA, "Panel B", &m, on_progress, &o, err, sizeof err),
                     0);
    fx_action_wait(&E, &o.finished);
    fetch_last_audit();
    assert_non_null(strstr(last_audit.params, "users replace, "));
    assert_non_null(strstr(last_audit.params, " bytes of CSV, 500 rows: pin=1001 1002 1003 "));
    assert_non_null(strstr(last_audit.params, "... [card]"));
    assert_true(strlen(last_audit.params) < 128);
}

static void test_no_audit_no_action(void **state)
{
    struct outcome o;
    E.site->journal_db = NULL;
    assert_int_equal(run(ROLE_OPERATOR, ACTION_DOOR_OPEN, "Main", 0, &o), -1);
    assert_int_equal(o.status, ACTION_REFUSED);
    assert_non_null(strstr(o.error, "audit record could not be stored"));
    assert_int_equal(fake.commands, 0);
    /* the emergency proceeds without its audit row, and says so */
    assert_int_equal(run(ROLE_OPERATOR, ACTION_EMERGENCY_ON, NULL, 0, &o), 0);
    assert_int_equal(o.status, ACTION_OK);
    assert_true(fake.commands > 0);
    assert_non_null(strstr(o.error, "audit row NOT STORED"));
    E.site->journal_db = E.j;
}

/* A journal that cannot store (locked by another process): state-changing actions are refused (their row,
 * kept in memory, says so), the emergency runs and says its audit row is not yet stored; both rows reach
 * the journal once it works again. */
static void test_journal_trouble(void **state)
{
    struct outcome o;
    char path[160];
    snprintf(path, sizeof path, "%s/j.db", E.dir);
    sqlite3 *other;
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(run(ROLE_OPERATOR, ACTION_DOOR_OPEN, "Main", 0, &o), -1);
    assert_int_equal(o.status, ACTION_REFUSED);
    assert_non_null(strstr(o.error, "audit record could not be stored (locked"));
    assert_int_equal(fake.commands, 0);
    assert_int_equal(run(ROLE_OPERATOR, ACTION_EMERGENCY_ON, NULL, 0, &o), 0);
    assert_int_equal(o.status, ACTION_OK);
    assert_true(o.audit_kept);
    assert_false(o.audit_lost);
    assert_non_null(strstr(o.error, "audit row not yet stored, kept in memory (journal: locked"));
    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    journal_flush(E.j);
    fetch_last_audit();
    assert_string_equal(last_audit.action, "emergency-on");
    assert_string_equal(last_audit.result, "ok");
    struct journal_query q = { .kind = -1, .min_severity = -1, .search = "door-open" };
    struct audit_record door;
    memset(&door, 0, sizeof door);
    assert_int_equal(journal_query_audit(E.j, &q, get_one, &door), 1);
    assert_string_equal(door.result, "refused");
    assert_non_null(strstr(door.detail, "action not sent"));
}

static void test_emergency(void **state)
{
    struct outcome o;
    fake.fail_name = "Garage";
    assert_int_equal(run(ROLE_OPERATOR, ACTION_EMERGENCY_ON, NULL, 0, &o), 0);
    /* Main, Back, Garage, Lab: four doors (not the aux), three devices in parallel */
    assert_int_equal(o.n_results, 4);
    assert_int_equal(fake.commands, 3);
    assert_int_equal(o.max_pending, 3); /* the first result arrived while three doors were pending */
    assert_int_equal(o.confirmed, 3);
    assert_int_equal(o.failed, 1);
    assert_int_equal(o.pending, 0);
    assert_int_equal(o.status, ACTION_PARTIAL);
    assert_true(E.site->emergency_active);
    fetch_last_audit();
    assert_string_equal(last_audit.action, "emergency-on");
    assert_string_equal(last_audit.target, "site");
    assert_string_equal(last_audit.result, "partial");
    assert_string_equal(last_audit.detail, "Main: ok; Back: ok; Garage: FAILED timeout: no reply; Lab: ok");
    fake.fail_name = NULL;
    assert_int_equal(run(ROLE_OPERATOR, ACTION_EMERGENCY_OFF, NULL, 0, &o), 0);
    assert_int_equal(o.status, ACTION_OK);
    assert_false(E.site->emergency_active);
    /* a guard cannot */
    assert_int_equal(run(ROLE_GUARD, ACTION_EMERGENCY_ON, NULL, 0, &o), -1);
    assert_false(E.site->emergency_active);
}

static void test_names(void **state)
{
    for (int a = 0; a < ACTION_COUNT; a++) {
        assert_int_equal(action_table[a].id, a);
        assert_ptr_equal(action_find(action_table[a].name), &action_table[a]);
        assert_non_null(action_table[a].description);
    }
    assert_null(action_find("rm-rf"));
    assert_int_equal(role_from_name("Operator"), ROLE_OPERATOR);
    assert_int_equal(role_from_name("admin"), -1);
    /* role resolution: highest match, default, readonly */
    struct role_map maps[] = { { "alice", false, ROLE_OPERATOR }, { "techs", true, ROLE_TECHNICIAN },
                               { "staff", true, ROLE_GUARD } };
    const char *g1[] = { "staff", "techs" };
    assert_int_equal(role_resolve(maps, 3, ROLE_GUARD, "alice", g1, 2, false), ROLE_TECHNICIAN);
    assert_int_equal(role_resolve(maps, 3, ROLE_GUARD, "alice", g1, 2, true), ROLE_GUARD);
    assert_int_equal(role_resolve(maps, 3, ROLE_GUARD, "alice", NULL, 0, false), ROLE_OPERATOR);
    const char *g2[] = { "staff" };
    assert_int_equal(role_resolve(maps, 3, ROLE_OPERATOR, "bob", g2, 1, false), ROLE_GUARD);
    assert_int_equal(role_resolve(maps, 3, ROLE_OPERATOR, "bob", NULL, 0, false), ROLE_OPERATOR);
}

static int find_audit_id(const struct audit_record *r, void *arg)
{
    struct audit_record *want = arg;
    if (r->id == want->id)
        *want = *r;
    return 0;
}

static struct audit_record audit_row(int64_t id)
{
    struct audit_record r = { .id = id };
    struct journal_query q = { .kind = -1, .min_severity = -1, .limit = 100 };
    journal_query_audit(E.j, &q, find_audit_id, &r);
    return r;
}

/* After a restart: a row an ended process left pending is closed as interrupted with what the devices remember;
 * a row of a process still running is left alone; an emergency remembered by one device is completed on the
 * devices that never got it, audited as "portier", and not sent again to the one that remembers it. */
static void test_recover_after_restart(void **state)
{
    (void)state;
    struct audit_record dead = { .result = "" }, alive = { .result = "" }, other = { .result = "" };
    snprintf(dead.user, sizeof dead.user, "alice");
    snprintf(dead.action, sizeof dead.action, "emergency-on");
    snprintf(dead.detail, sizeof dead.detail, "running in pid 999999 (start 1, boot deadbeef)");
    assert_int_equal(journal_audit_begin(E.j, &dead), 0);
    snprintf(other.action, sizeof other.action, "door-open");
    assert_int_equal(journal_audit_begin(E.j, &other), 0); /* no mark: written by something that is gone */
    /* this very process: still running */
    struct outcome o;
    fake.commands = 0;
    struct action_user u = { .role = ROLE_OPERATOR };
    snprintf(u.name, sizeof u.name, "bob");
    struct action_params p = { 0 };
    char err[256];
    memset(&o, 0, sizeof o);
    assert_int_equal(action_run(E.site, &u, ACTION_DOOR_HOLD, "Main", &p, on_progress, &o, err, sizeof err), 0);
    fetch_last_audit();
    alive = last_audit;
    assert_string_equal(alive.result, "pending");
    assert_non_null(strstr(alive.detail, "running in pid"));
    /* Bus 1 remembers an emergency begun before the restart; the panels do not */
    device_report_emergency(E.site->devices[2].drv, SITE_EM_ACTIVE);
    assert_true(E.site->emergency_active);
    assert_true(E.site->emergency_resumed);
    struct outcome ro;
    memset(&ro, 0, sizeof ro);
    bool resumed = false;
    int commands_before = fake.commands;
    assert_int_equal(action_recover(E.site, true, on_progress, &ro, &resumed), 2);
    assert_true(resumed);
    for (int i = 0; i < 10 && (!ro.finished || !o.finished); i++)
        loop_advance(E.loop, 10000);
    assert_int_equal(ro.finished, 1);
    assert_int_equal(ro.status, ACTION_OK);
    assert_int_equal(ro.n_results, 3); /* Main, Back, Garage: not Lab, whose bus completes it by itself */
    assert_int_equal(fake.commands - commands_before, 2); /* Panel A and Panel B */
    assert_int_equal(fake.last_op, DEVICE_EMERGENCY_ON);
    struct audit_record r = audit_row(dead.id);
    assert_string_equal(r.result, "interrupted");
    assert_non_null(strstr(r.detail, "ended before its result"));
    assert_non_null(strstr(r.detail, "remember the emergency"));
    r = audit_row(other.id);
    assert_string_equal(r.result, "interrupted");
    r = audit_row(alive.id);
    assert_string_equal(r.result, "ok"); /* finished normally, never touched by the recovery */
    fetch_last_audit();
    assert_string_equal(last_audit.user, "portier");
    assert_string_equal(last_audit.action, "emergency-on");
    assert_string_equal(last_audit.params, "resume after a restart");
    /* the panels now remember it too (real drivers store the intent before they send): nothing left to close,
     * nothing to resume */
    device_report_emergency(E.site->devices[0].drv, SITE_EM_ACTIVE);
    device_report_emergency(E.site->devices[1].drv, SITE_EM_ACTIVE);
    assert_int_equal(action_recover(E.site, true, on_progress, &ro, &resumed), 0);
    assert_false(resumed);
    /* a successful restore ends it */
    assert_int_equal(run(ROLE_OPERATOR, ACTION_EMERGENCY_OFF, NULL, 0, &o), 0);
    assert_false(E.site->emergency_active);
    assert_false(E.site->emergency_resumed);
}

int main(void)
{
    struct fx_env_spec env = { .env = &E, .conf = conf, .name = "act", .registry = registry, .reset = reset_fake };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate_setup_teardown(test_roles_matrix, fx_env_setup, fx_env_teardown, &env),
        cmocka_unit_test_prestate_setup_teardown(test_attempt_only, fx_env_setup, fx_env_teardown, &env),
        cmocka_unit_test_prestate_setup_teardown(test_door_open_result, fx_env_setup, fx_env_teardown, &env),
        cmocka_unit_test_prestate_setup_teardown(test_failed_result_words, fx_env_setup, fx_env_teardown, &env),
        cmocka_unit_test_prestate_setup_teardown(test_long_reason_whole, fx_env_setup, fx_env_teardown, &env),
        cmocka_unit_test_prestate_setup_teardown(test_gap_row_says_what_is_known, fx_env_setup, fx_env_teardown, &env),
        cmocka_unit_test_prestate_setup_teardown(test_refusals, fx_env_setup, fx_env_teardown, &env),
        cmocka_unit_test_prestate_setup_teardown(test_no_audit_no_action, fx_env_setup, fx_env_teardown, &env),
        cmocka_unit_test_prestate_setup_teardown(test_emergency, fx_env_setup, fx_env_teardown, &env),
        cmocka_unit_test_prestate_setup_teardown(test_recover_after_restart, fx_env_setup, fx_env_teardown, &env),
        cmocka_unit_test_prestate_setup_teardown(test_journal_trouble, fx_env_setup, fx_env_teardown, &env),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
