/* nix1sim_bus: the simulated RS-485 line of a NiX1 bus: a pseudo-terminal or a loopback TCP port (like a serial
 * device server), line assembly with the 50 ms inter-character timeout, both directions paced at the baud rate
 * (a slave's line is written whole when its last character is on the wire), half-duplex collisions, and
 * byte-wise garbling when two slaves transmit at once. */
#ifndef PORTIER_NIX1SIM_BUS_H
#define PORTIER_NIX1SIM_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"

#define NIX1SIM_LINE_MAX 320          /* request chars before the terminator (spec §5.3) */
#define NIX1SIM_INTERCHAR_US 50000u   /* partial line dropped after this silence (spec §5.1) */

enum {
    NIX1SIM_LINE_OVERFLOW = 1u, /* more than NIX1SIM_LINE_MAX chars: only the first ones are kept */
    NIX1SIM_LINE_BADBYTE = 2u,  /* a byte outside 0x20-0x7E, TAB, CR, LF */
};

/* A complete line (LF and a CR before it removed), at the time its last character left the wire. */
typedef void (*nix1sim_bus_line_cb)(void *arg, const char *line, size_t len, unsigned flags);

struct nix1sim_bus;

struct nix1sim_bus *nix1sim_bus_new(loop_t *loop, unsigned baud, nix1sim_bus_line_cb cb, void *arg);
void nix1sim_bus_free(struct nix1sim_bus *bus);

/* Open a pseudo-terminal (raw, no echo); its slave path goes into path. Returns 0 or -1 with errno. */
int nix1sim_bus_open_pty(struct nix1sim_bus *bus, char *path, size_t pathlen);
/* Listen on 127.0.0.1:port (0 = any; the port chosen is returned in *bound). One client at a time: a new
 * connection replaces the old one, as a serial device server does. Returns 0 or -1 with errno. */
int nix1sim_bus_listen_tcp(struct nix1sim_bus *bus, unsigned port, unsigned *bound);

/* Keep a symbolic link at `link` pointing at the pseudo-terminal (a stable port path, like /dev/ttyUSB0 for a
 * USB adapter: a replug gives a new pty and the link follows it). 0 or -1 with errno. */
int nix1sim_bus_set_link(struct nix1sim_bus *bus, const char *link);
/* The port goes away (out: the pty is closed, or the TCP listener and its client: a device server restarting)
 * or comes back (a new pty, the link moved to it; the TCP port listened on again). The slaves keep running.
 * 0 or -1 with errno. */
int nix1sim_bus_unplug(struct nix1sim_bus *bus, bool out);
bool nix1sim_bus_unplugged(const struct nix1sim_bus *bus);
/* The port clients open now: the pty path or the link, or "tcp 127.0.0.1:PORT". */
const char *nix1sim_bus_where(const struct nix1sim_bus *bus);

/* Queue bytes for transmission by owner (a slave). Bytes from the same owner follow each other; bytes from
 * another owner while the line is busy collide with what is still to be sent (differing bytes are garbled). */
void nix1sim_bus_transmit(struct nix1sim_bus *bus, const void *owner, const char *data, size_t len);
/* True while characters are still on the wire (either direction). */
bool nix1sim_bus_busy(const struct nix1sim_bus *bus);

unsigned nix1sim_bus_baud(const struct nix1sim_bus *bus);
/* Switch the line rate once everything queued so far has been sent (Nz). */
void nix1sim_bus_set_baud_after_drain(struct nix1sim_bus *bus, unsigned baud);
/* Character time in µs at the current rate (10 bits per character, 8N1). */
uint64_t nix1sim_bus_char_us(const struct nix1sim_bus *bus);

struct nix1sim_bus_stats {
    unsigned long rx_lines, rx_dropped_timeout, rx_collisions, tx_bytes, tx_collisions, tx_dropped;
};
void nix1sim_bus_stats(const struct nix1sim_bus *bus, struct nix1sim_bus_stats *out);

#endif
