/* c3sim: `portier-sim c3`, simulated ZKTeco C3-100/200/400 panels on 127.0.0.1 (options, the control
 * interface on stdin and an optional unix socket, the main loop). Panels in c3sim_panel, TCP in c3sim_net. */
#ifndef PORTIER_C3SIM_H
#define PORTIER_C3SIM_H

#include "sim/sim.h"

extern const struct sim_kind c3sim_kind;

#endif
