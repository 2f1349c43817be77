/* Unit tests for the slave-set action: target resolution (name or address), settings parsing and refusals,
 * technician only, audit params, one result per setting (labelled) reported by a scripted NiX1 driver. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/site_config.h"
#include "core/action.h"
#include "core/device.h"
#include "core/journal.h"
#include "fixture_site.h"

/* ---- scripted NiX1 driver: answers after 10 ms; a setting whose value is "bad" fails ---- */
struct fake_cmd {
    enum device_op op;
    size_t slave, n;
    struct device_setting set[DEVICE_SETTINGS_MAX];
    device_result_fn result;
    device_done_fn done;
    void *ctx;
    loop_timer_t timer;
};

static struct {
    int commands;
    size_t last_slave;
    bool unsupported;
} fake;

static void fake_fire(loop_t *loop, void *arg)
{
    (void)loop;
    struct fake_cmd *fc = arg;
    if (fc->n == 0)
        fc->result(fc->ctx, SIZE_MAX, DEVICE_RESULT_OK, "configuration re-applied");
    for (size_t i = 0; i < fc->n; i++) {
        if (strcmp(fc->set[i].value, "bad") == 0)
            fc->result(fc->ctx, DEVICE_SETTING_RESULT(i), DEVICE_RESULT_FAILED, "NiX1 50 bad option");
        else
            fc->result(fc->ctx, DEVICE_SETTING_RESULT(i), DEVICE_RESULT_OK, "ok");
    }
    fc->done(fc->ctx);
    free(fc);
}

static int fake_command(struct device *dev, const struct device_cmd *cmd, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    fake.commands++;
    fake.last_slave = cmd->slave;
    struct fake_cmd *fc = calloc(1, sizeof *fc);
    assert_non_null(fc);
    fc->op = cmd->op;
    fc->slave = cmd->slave;
    fc->n = cmd->n_settings;
    assert_true(fc->n <= DEVICE_SETTINGS_MAX);
    if (fc->n)
        memcpy(fc->set, cmd->settings, fc->n * sizeof fc->set[0]);
    fc->result = cmd->result;
    fc->done = cmd->done;
    fc->ctx = cmd->ctx;
    loop_timer_init(&fc->timer, fake_fire, fc);
    loop_timer_arm_ms(dev->loop, &fc->timer, 10);
    return 0;
}

static bool fake_supports(const struct device *dev, enum device_op op, size_t output)
{
    (void)dev;
    (void)output;
    return op == DEVICE_SLAVE_SET && !fake.unsupported;
}

static const struct device_ops fake_nix1 = { .kind = "nix1", .command = fake_command, .supports = fake_supports };
static const struct device_ops *const registry[] = { &fake_nix1, NULL };

static const char *conf =
    "site = { name = \"T\"; };\n"
    "buses = ( { name = \"Bus 1\"; port = \"/dev/null\"; slaves = (\n"
    "  { address = \"270100000000006B\"; name = \"Lab\"; probe1 = { door = \"Lab door\"; unit = 1; }; },\n"
    "  { address = \"2702000000000032\"; name = \"Yard\"; probe1 = { door = \"Yard gate\"; unit = 2; }; } ); } );\n";

static struct fx_env E;

static void reset_fake(void) { memset(&fake, 0, sizeof fake); }

struct outcome {
    int finished;
    enum action_status status;
    unsigned confirmed, failed;
    size_t n;
    char label[8][32], message[8][256];
    enum progress progress[8];
    char error[256];
};

static void on_progress(const struct action_run *run, bool finished, void *arg)
{
    struct outcome *o = arg;
    if (!finished)
        return;
    o->finished++;
    o->status = run->status;
    o->confirmed = run->confirmed;
    o->failed = run->failed;
    o->n = run->n_results;
    for (size_t i = 0; i < run->n_results && i < 8; i++) {
        snprintf(o->label[i], sizeof o->label[i], "%s", run->results[i].label);
        snprintf(o->message[i], sizeof o->message[i], "%s", run->results[i].message);
        o->progress[i] = run->results[i].progress;
    }
    snprintf(o->error, sizeof o->error, "%s", run->error);
}

static int run(enum role role, const char *target, const char *settings, struct outcome *o)
{
    struct action_user u = { .role = role };
    snprintf(u.name, sizeof u.name, "%s-user", role_name(role));
    struct action_params p = { .settings = settings };
    memset(o, 0, sizeof *o);
    int rc = action_run(E.site, &u, ACTION_SLAVE_SET, target, &p, on_progress, o, NULL, 0);
    fx_action_wait(&E, &o->finished);
    return rc;
}

static struct audit_record last;

static void fetch_last(void) { fx_last_audit(&E, &last); }

static void test_per_setting_results(void **state)
{
    (void)state;
    struct outcome o;
    assert_int_equal(run(ROLE_TECHNICIAN, "Yard", "LOCK_0=1\n UNIT_1 = 7 ;CRON=bad", &o), 0);
    assert_int_equal(fake.commands, 1);
    assert_int_equal(fake.last_slave, 1);
    assert_int_equal(o.status, ACTION_PARTIAL);
    assert_int_equal(o.n, 3);
    assert_int_equal(o.confirmed, 2);
    assert_int_equal(o.failed, 1);
    assert_string_equal(o.label[0], "LOCK_0");
    assert_string_equal(o.label[1], "UNIT_1");
    assert_string_equal(o.label[2], "CRON");
    assert_int_equal(o.progress[0], PROGRESS_OK);
    assert_int_equal(o.progress[2], PROGRESS_FAILED);
    assert_non_null(strstr(o.message[2], "bad option"));
    fetch_last();
    assert_string_equal(last.action, "slave-set");
    assert_string_equal(last.target, "Yard");
    assert_string_equal(last.params, "LOCK_0=1 UNIT_1=7 CRON=bad");
    assert_string_equal(last.result, "partial");
    assert_non_null(strstr(last.detail, "LOCK_0: ok"));
    assert_non_null(strstr(last.detail, "CRON: FAILED"));
}

static void test_by_address_and_empty_value(void **state)
{
    (void)state;
    struct outcome o;
    assert_int_equal(run(ROLE_TECHNICIAN, "270100000000006b", "UNIT_0=", &o), 0);
    assert_int_equal(fake.last_slave, 0);
    assert_int_equal(o.status, ACTION_OK);
    assert_int_equal(o.n, 1);
    fetch_last();
    assert_string_equal(last.target, "Lab");
    assert_string_equal(last.params, "UNIT_0=");
}

static void test_from_configuration(void **state)
{
    (void)state;
    struct outcome o;
    assert_int_equal(run(ROLE_TECHNICIAN, "Lab", NULL, &o), 0);
    assert_int_equal(o.status, ACTION_OK);
    assert_int_equal(o.n, 1);
    assert_string_equal(o.label[0], "");
    assert_string_equal(o.message[0], "configuration re-applied");
    fetch_last();
    assert_string_equal(last.params, "from configuration");
}

static void test_refusals(void **state)
{
    (void)state;
    struct outcome o;
    assert_int_equal(run(ROLE_TECHNICIAN, "Nobody", "LOCK_0=1", &o), -1);
    assert_int_equal(o.status, ACTION_REFUSED);
    assert_non_null(strstr(o.error, "no NiX1 slave"));
    assert_int_equal(run(ROLE_TECHNICIAN, NULL, "LOCK_0=1", &o), -1);
    assert_int_equal(o.status, ACTION_REFUSED);
    static const char *const bad[] = { "LOCK_0", "=1", "LO CK=1", "LOCK-0=1", "LOCK_0=1;lock_0=0",
                                       "KEY_THAT_IS_FAR_TOO_LONG_FOR_A_NAME=1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(run(ROLE_TECHNICIAN, "Lab", bad[i], &o), -1);
        assert_int_equal(o.status, ACTION_REFUSED);
    }
    char many[1024] = "";
    for (int i = 0; i <= DEVICE_SETTINGS_MAX; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "K%d=1;", i);
    assert_int_equal(run(ROLE_TECHNICIAN, "Lab", many, &o), -1);
    assert_non_null(strstr(o.error, "at most"));
    assert_int_equal(fake.commands, 0);
    /* an operator is denied, and that is audited */
    assert_int_equal(run(ROLE_OPERATOR, "Lab", "LOCK_0=1", &o), -1);
    assert_int_equal(o.status, ACTION_DENIED);
    fetch_last();
    assert_string_equal(last.result, "denied");
    assert_int_equal(fake.commands, 0);
    /* a driver without the operation: every setting fails with the reason */
    fake.unsupported = true;
    assert_int_equal(run(ROLE_TECHNICIAN, "Lab", "LOCK_0=1;MODE=2", &o), 0);
    assert_int_equal(o.status, ACTION_FAILED);
    assert_int_equal(o.failed, 2);
    assert_non_null(strstr(o.message[1], "not supported"));
}

int main(void)
{
    struct fx_env_spec env = { .env = &E, .conf = conf, .name = "slaveset", .registry = registry, .reset = reset_fake };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate_setup_teardown(test_per_setting_results, fx_env_setup, fx_env_teardown, &env),
        cmocka_unit_test_prestate_setup_teardown(test_by_address_and_empty_value, fx_env_setup, fx_env_teardown, &env),
        cmocka_unit_test_prestate_setup_teardown(test_from_configuration, fx_env_setup, fx_env_teardown, &env),
        cmocka_unit_test_prestate_setup_teardown(test_refusals, fx_env_setup, fx_env_teardown, &env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
