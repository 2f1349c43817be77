/* sim: what the portier-sim front end shares between its simulators (C3 panels, NiX1 buses, sites).
 * Each simulator lives in its own module and is listed in portier_sim.c. */
#ifndef PORTIER_SIM_H
#define PORTIER_SIM_H

typedef int (*sim_main_fn)(int argc, char **argv);

struct sim_kind {
    const char *name;
    sim_main_fn main;
    const char *usage;
};

#endif
