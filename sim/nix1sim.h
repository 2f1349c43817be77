/* nix1sim: `portier-sim nix1`, a whole RS-485 bus of simulated NiX1 door slaves on a pseudo-terminal or a
 * loopback TCP port, with a control interface (stdin and a unix socket) and scripted badge activity. */
#ifndef PORTIER_NIX1SIM_H
#define PORTIER_NIX1SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "sim/nix1sim_bus.h"
#include "sim/nix1sim_slave.h"
#include "sim/sim.h"

extern const struct sim_kind nix1sim_kind;

struct nix1sim {
    loop_t *loop;
    struct nix1sim_bus *bus;
    struct nix1sim_slave **slaves;
    size_t nslaves, cap;
    char *dir;
    bool verbose;
    double activity;     /* presentations per second on the bus, 0 = none */
    uint64_t rng;
    loop_timer_t activity_timer;
};

/* Add a slave at addr (factory state when fresh, else its µSD is loaded). NULL on failure. */
struct nix1sim_slave *nix1sim_add_slave(struct nix1sim *sim, const nix1_addr_t *addr, bool factory);
/* Find a slave by 16-hex address (any case) or by 1-based index. */
struct nix1sim_slave *nix1sim_find(struct nix1sim *sim, const char *key);
/* A pseudo-random number in [0, n). */
uint64_t nix1sim_rand(struct nix1sim *sim, uint64_t n);

/* The built-in demo server files (the spec's demo keys; five users with a right on each unit of units[] that is
 * not negative, one of them weekdays 8-17 only), parsed into keys, users and rights: 0, or -1 out of memory. */
int nix1sim_demo_files(const int *units, size_t n, struct nix1_keys *keys, struct nix1_users *users,
                       struct nix1_rights *rights);

#endif
