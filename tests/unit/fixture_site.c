#include "fixture_site.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/site_config.h"
#include "core/action.h"
#include "fixture.h"

struct site *fx_site_load(const char *conf, loop_t *loop)
{
    struct config_diags d;
    struct site *site = site_config_load_string(conf, "test", &d);
    if (!site)
        config_diags_print(&d, stderr);
    config_diags_free(&d);
    assert_non_null(site);
    site->loop = loop;
    return site;
}

char *fx_diag_text(const struct config_diags *d)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    config_diags_print(d, f);
    fclose(f);
    return buf;
}

void fx_conf_cases(const struct fx_conf_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct config_diags d;
        struct site *s = site_config_load_string(cases[i].text, "t.conf", &d);
        char *got = fx_diag_text(&d);
        if (strcmp(got, cases[i].expect) != 0 || (s != NULL) != cases[i].valid) {
            fprintf(stderr, "case %zu:\n%s--- expected:\n%s--- got (%s):\n%s", i, cases[i].text, cases[i].expect,
                    s ? "valid" : "invalid", got);
            fail();
        }
        free(got);
        site_free(s);
        config_diags_free(&d);
    }
}

void fx_env_open(struct fx_env *e, const char *conf, const char *name, const struct device_ops *const *registry)
{
    e->loop = loop_new_fake(1000000);
    assert_non_null(e->loop);
    e->site = fx_site_load(conf, e->loop);
    fx_tmpdir(e->dir, sizeof e->dir, name);
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/j.db", e->dir);
    struct journal_opts o = { .path = path };
    e->j = journal_open(&o, err, sizeof err);
    if (!e->j)
        fail_msg("%s", err);
    e->site->journal_db = e->j;
    event_bus_set_journal(site_events(e->site), journal_store_hook, e->j);
    if (device_attach_all(e->site, registry, err, sizeof err) != 0)
        fail_msg("%s", err);
}

void fx_env_close(struct fx_env *e)
{
    device_detach_all(e->site);
    journal_close(e->j);
    site_free(e->site);
    loop_free(e->loop);
    fx_rmtree(e->dir);
}

static struct fx_cmd *recording; /* the command fx_command waits for */

static void on_result(void *ctx, size_t output, enum device_result result, const char *message)
{
    struct fx_cmd *rec = ctx;
    assert_int_equal(rec->in_command, 0); /* never from inside the command call */
    if (rec->results < FX_CMD_MAX) {
        rec->res[rec->results] = result;
        rec->res_out[rec->results] = output;
        snprintf(rec->msg[rec->results], sizeof rec->msg[0], "%s", message);
    }
    rec->results++;
}

static void on_done(void *ctx)
{
    struct fx_cmd *rec = ctx;
    assert_int_equal(rec->in_command, 0);
    rec->dones++;
}

static bool done_once(void) { return recording->dones > 0; }

int fx_command(loop_t *loop, struct device *dev, struct fx_cmd *rec, struct device_cmd *cmd, unsigned ms)
{
    memset(rec, 0, sizeof *rec);
    cmd->result = on_result;
    cmd->done = on_done;
    cmd->ctx = rec;
    char err[128];
    rec->in_command = 1;
    int rc = dev->ops->command(dev, cmd, err, sizeof err);
    rec->in_command = 0;
    if (rc == 0) {
        recording = rec;
        fx_run_until(loop, done_once, ms);
        recording = NULL;
    }
    return rc;
}

int fx_output_command(loop_t *loop, struct device *dev, struct fx_cmd *rec, enum device_op op, unsigned value,
                      const size_t *outs, size_t n, unsigned ms)
{
    struct device_cmd cmd = { .op = op, .value = value, .outputs = outs, .n_outputs = n,
                              .restore = SITE_RESTORE_PREVIOUS };
    return fx_command(loop, dev, rec, &cmd, ms);
}

void fx_action_wait(struct fx_env *e, const int *finished)
{
    for (int i = 0; i < 10 && !*finished; i++)
        loop_advance(e->loop, 10000);
    assert_int_equal(*finished, 1);
    assert_int_equal(action_running(e->site), 0);
}

static int take_audit(const struct audit_record *r, void *arg)
{
    *(struct audit_record *)arg = *r;
    return 1;
}

void fx_last_audit(struct fx_env *e, struct audit_record *out)
{
    struct journal_query q = { .kind = -1, .min_severity = -1, .limit = 1 };
    memset(out, 0, sizeof *out);
    assert_int_equal(journal_query_audit(e->j, &q, take_audit, out), 1);
}

int fx_env_setup(void **state)
{
    const struct fx_env_spec *sp = *state;
    if (sp->reset)
        sp->reset();
    fx_env_open(sp->env, sp->conf, sp->name, sp->registry);
    return 0;
}

int fx_env_teardown(void **state)
{
    const struct fx_env_spec *sp = *state;
    fx_env_close(sp->env);
    return 0;
}
