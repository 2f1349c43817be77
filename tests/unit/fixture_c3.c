#include "fixture_c3.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "fixture.h"

struct c3sim_server *fx_c3sim_start(loop_t *loop, struct c3sim_server_cfg *sc, struct c3sim_panel **panel)
{
    if (!sc->panels)
        sc->panels = 1;
    char err[256];
    struct c3sim_server *sim = c3sim_server_new(loop, sc, err, sizeof err);
    if (!sim)
        fail_msg("%s", err);
    /* Port 0: every panel bound to a free port by the kernel (c3sim_server_panel_port), no window for another
     * test to take one between a look-up and the bind. */
    sc->port = (uint16_t)c3sim_server_port(sim);
    if (panel)
        *panel = c3sim_server_panel(sim, 0);
    return sim;
}

static struct c3_session *waiting; /* the session fx_c3_online waits for */

static bool online(void) { return c3_session_state(waiting) == C3_ST_ONLINE; }

struct c3_session *fx_c3_online(loop_t *loop, uint16_t port, struct c3_session_config *cfg)
{
    char err[256];
    if (tcp_resolve("127.0.0.1", port, &cfg->addr, err, sizeof err) != 0)
        fail_msg("%s", err);
    struct c3_session *s = c3_session_new(loop, cfg, NULL);
    assert_non_null(s);
    c3_session_start(s);
    waiting = s;
    fx_run_until(loop, online, 3000);
    assert_true(online());
    waiting = NULL;
    return s;
}

void fx_c3_open(struct fx_c3 *c, struct c3sim_server_cfg *sc, const char *model, enum c3sim_dialect d,
                struct c3_session_config *cfg)
{
    c->loop = loop_new();
    assert_non_null(c->loop);
    sc->restart_ms = 200;
    sc->panel.model = c3sim_model_find(model);
    assert_non_null(sc->panel.model);
    sc->panel.dialect = d;
    sc->panel.password = "";
    sc->panel.seed = 7;
    c->sim = fx_c3sim_start(c->loop, sc, &c->panel);
    c->s = fx_c3_online(c->loop, sc->port, cfg);
}

void fx_c3_close(struct fx_c3 *c)
{
    c3_session_free(c->s);
    c3sim_server_free(c->sim);
    loop_free(c->loop);
}
