/* nix1sim_ctl: the NiX1 simulator's control interface: one command per line on stdin and on a unix
 * socket (present an iButton, card in/out, mute, garble, reboot, clock, status...), answered "ok ..."/"error ...". */
#ifndef PORTIER_NIX1SIM_CTL_H
#define PORTIER_NIX1SIM_CTL_H

#include <stddef.h>

#include "sim/nix1sim.h"

struct nix1sim_ctl;

/* Listen on stdin (if use_stdin) and on sockpath (if not NULL). NULL on failure (errno set). */
struct nix1sim_ctl *nix1sim_ctl_new(struct nix1sim *sim, bool use_stdin, const char *sockpath);
void nix1sim_ctl_free(struct nix1sim_ctl *ctl);

/* Execute one command line; the one-line answer (without LF) goes into out. */
void nix1sim_ctl_exec(struct nix1sim *sim, const char *line, char *out, size_t cap);

#endif
