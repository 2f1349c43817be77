/* nix1sim_exec: the execution of each request of spec §5.8 on a simulated slave once nix1sim_slave has
 * framed and validated it (§5.5 steps 1-9): one handler a command, and the table that finds them. */
#ifndef PORTIER_NIX1SIM_EXEC_H
#define PORTIER_NIX1SIM_EXEC_H

#include <stdbool.h>
#include <stddef.h>

#include "drivers/nix1/nix1_cmd.h"
#include "sim/nix1sim_slave.h"

#define NIX1SIM_RC_STREAMED 0x100 /* the handler already queued its lines */

enum nix1sim_after { NIX1SIM_AFTER_NONE, NIX1SIM_AFTER_RESTART, NIX1SIM_AFTER_BAUD };

struct nix1sim_exec {
    struct nix1sim_slave *s;
    const struct nix1_cmd *c;
    char cmd, arg;
    struct nix1_span f[NIX1_CMD_FIELDS_MAX];
    size_t nf;
    bool zero;
    bool bcast;
    char payload[NIX1_REPLY_MAX];
    bool has_payload;
    size_t touched; /* µSD bytes read or written: latency */
    enum nix1sim_after after;
    unsigned after_baud;
};

struct nix1sim_handler {
    char cmd, arg;
    unsigned (*fn)(struct nix1sim_exec *x);
    bool card;  /* needs the µSD (7B when it is out): file commands and every config change */
    bool heavy; /* µSD-heavy latency class (§5.1) */
};

/* The handler of cmd/arg, or NULL when the slave does not implement it. */
const struct nix1sim_handler *nix1sim_exec_find(char cmd, char arg);

#endif
