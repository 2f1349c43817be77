/* fixture_site: what the unit tests of sites and devices share: a site from configuration text, a site with its
 * journal in a temporary directory on a fake clock, and a device command whose results are recorded. */
#ifndef PORTIER_TESTS_FIXTURE_SITE_H
#define PORTIER_TESTS_FIXTURE_SITE_H

#include <stdbool.h>
#include <stddef.h>

#include "config/site_config.h"
#include "core/device.h"
#include "core/journal.h"
#include "core/loop.h"
#include "core/site.h"

/* The site of configuration text on loop (the diagnostics printed and the test failed when it does not load). */
struct site *fx_site_load(const char *conf, loop_t *loop);

/* What config_diags_print writes for d (malloc'd text). */
char *fx_diag_text(const struct config_diags *d);
/* A configuration text, the exact diagnostics it must give ("" when none) and whether it loads. */
struct fx_conf_case {
    const char *text;
    const char *expect;
    bool valid;
};
/* Load every case as "t.conf": other diagnostics or another verdict fail the test, naming the case. */
void fx_conf_cases(const struct fx_conf_case *cases, size_t n);

/* A site on a fake clock (starting at 1 s) whose events go to a journal in /tmp/portier-NAME.XXXXXX, its devices
 * attached through registry. */
struct fx_env {
    struct site *site;
    loop_t *loop;
    struct journal *j;
    char dir[64];
};
void fx_env_open(struct fx_env *e, const char *conf, const char *name, const struct device_ops *const *registry);
/* Devices detached, journal closed, site and loop freed, the directory removed. */
void fx_env_close(struct fx_env *e);

/* For a program whose tests each run in a fresh fx_env: what fx_env_setup opens. */
struct fx_env_spec {
    struct fx_env *env;
    const char *conf, *name;
    const struct device_ops *const *registry;
    void (*reset)(void); /* when set, called first: the program's fakes as at the start */
};
/* cmocka setup and teardown for cmocka_unit_test_prestate_setup_teardown(test, fx_env_setup, fx_env_teardown,
 * &spec): reset, then fx_env_open of the spec's conf, name and registry into its env; fx_env_close of it. */
int fx_env_setup(void **state);
int fx_env_teardown(void **state);

/* Run e's loop in 10 ms steps (at most 100 ms) until the action whose progress sets *finished has finished: once,
 * with no action of the site left running (the test fails otherwise). */
void fx_action_wait(struct fx_env *e, const int *finished);
/* The newest row of e's audit into *out (the test fails when there is none). */
void fx_last_audit(struct fx_env *e, struct audit_record *out);

/* What a device command reported: every result (the first FX_CMD_MAX kept) and how often it said done. */
#define FX_CMD_MAX 16
struct fx_cmd {
    int results, dones, in_command;
    enum device_result res[FX_CMD_MAX];
    size_t res_out[FX_CMD_MAX];
    char msg[FX_CMD_MAX][256]; /* as long as an action result's message (core/action.h) */
};
/* Send cmd to dev with its results recorded in rec (reset first; a result or done from inside the driver's command
 * call fails the test: they must come from the loop); when the driver takes it, run loop until done or ms pass.
 * Returns the driver's answer: 0 taken, -1 refused. */
int fx_command(loop_t *loop, struct device *dev, struct fx_cmd *rec, struct device_cmd *cmd, unsigned ms);
/* fx_command of op with value on outputs outs[0..n) of dev (an emergency off restores the previous states). */
int fx_output_command(loop_t *loop, struct device *dev, struct fx_cmd *rec, enum device_op op, unsigned value,
                      const size_t *outs, size_t n, unsigned ms);

#endif
