/* c3sim_udp: the C3 simulator's UDP discovery on 127.0.0.1: every panel of a server that is up answers a search
 * broadcast with its MAC, address and firmware, and the panel whose MAC matches takes an IP change (spec §3.9). */
#ifndef PORTIER_C3SIM_UDP_H
#define PORTIER_C3SIM_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "sim/c3sim_net.h"

struct c3sim_udp;

/* Listen on 127.0.0.1:port for srv's panels: the responder, or NULL with err filled. */
struct c3sim_udp *c3sim_udp_new(loop_t *loop, struct c3sim_server *srv, uint16_t port, char *err, size_t errlen);
void c3sim_udp_free(struct c3sim_udp *u);

#endif
