/* sitesim: `portier-sim site portier.conf`: one simulator process per group of C3 panels and per NiX1 bus of a
 * site configuration, and a rewritten configuration (DIR/portier.conf) whose hosts and ports point at them. */
#ifndef PORTIER_SITESIM_H
#define PORTIER_SITESIM_H

#include "sim/sim.h"

extern const struct sim_kind sitesim_kind;

#endif
