/* fixture_c3: what the C3 unit tests that talk to a simulated panel share: the simulator on a free port of
 * 127.0.0.1 in the test's loop, and a session to it brought online. */
#ifndef PORTIER_TESTS_FIXTURE_C3_H
#define PORTIER_TESTS_FIXTURE_C3_H

#include <stdint.h>

#include "core/loop.h"
#include "drivers/c3/c3_session.h"
#include "sim/c3sim_net.h"

/* The simulator of sc (one panel when sc->panels is 0; sc->port a free port when 0), its first panel in *panel when
 * not NULL. The test fails when it does not start. */
struct c3sim_server *fx_c3sim_start(loop_t *loop, struct c3sim_server_cfg *sc, struct c3sim_panel **panel);
/* A session with cfg's settings to 127.0.0.1:port, started and online within 3 s (the test fails otherwise). */
struct c3_session *fx_c3_online(loop_t *loop, uint16_t port, struct c3_session_config *cfg);

/* What a C3 test that talks to one simulated panel through a session works with. */
struct fx_c3 {
    loop_t *loop;
    struct c3sim_server *sim;
    struct c3sim_panel *panel;
    struct c3_session *s;
};
/* A new loop, the simulator of sc with one panel of model and dialect (no password, seed 7, restarted 200 ms after
 * a kill; what else sc sets as given) and a session with cfg online to it (fx_c3_online). */
void fx_c3_open(struct fx_c3 *c, struct c3sim_server_cfg *sc, const char *model, enum c3sim_dialect d,
                struct c3_session_config *cfg);
/* The session, the simulator and the loop freed. */
void fx_c3_close(struct fx_c3 *c);

#endif
