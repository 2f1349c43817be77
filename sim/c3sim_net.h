/* c3sim_net: the TCP side of the C3 simulator: one loopback listener per panel, the one-client rule,
 * request dispatch through the C3 frame codec (decode requests, encode replies) and fault injection. */
#ifndef PORTIER_C3SIM_NET_H
#define PORTIER_C3SIM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "sim/c3sim_panel.h"

/* Faults applied to a panel's replies (combinable). */
struct c3sim_faults {
    unsigned delay_ms;   /* hold every reply back this long */
    bool split;          /* write replies one byte at a time with small gaps */
    bool badcrc;         /* corrupt the CRC */
    bool badseq;         /* echo a wrong message number (session mode) */
    bool garbage;        /* junk bytes before each reply */
    bool drop;           /* send half a reply, then close the connection */
    bool mute;           /* ignore every request */
    unsigned rate_kbps;  /* replies leave at this many kilobytes per second (a slow panel or link), 0 = at once */
    int refuse;          /* table writes (SET_DATA, DELETE_DATA, an upload) answered with this panel error, nothing
                          * written (0 = off): a firmware refusing a change */
};

/* Parse "delay=MS,split,refuse=CODE,..." (also "none"); modes may be separated by ',' or spaces. Returns 0 or -1 with a
 * message in err. */
int c3sim_faults_parse(const char *spec, struct c3sim_faults *f, char *err, size_t errlen);
void c3sim_faults_format(const struct c3sim_faults *f, char *out, size_t cap);

struct c3sim_server_cfg {
    uint16_t port;                   /* panel i listens on port + i (0: every panel on a free port of its own) */
    unsigned panels;
    struct c3sim_panel_cfg panel;    /* template; index is filled in per panel */
    unsigned restart_ms;             /* how long a restarting panel stays away */
    struct c3sim_faults faults;      /* initial faults for every panel */
    uint16_t discovery_port;         /* UDP search and IP change on 127.0.0.1:port (0 = none) */
};

struct c3sim_server;

/* Create every panel and bind every listener (127.0.0.1 only). NULL with a message in err on failure. */
struct c3sim_server *c3sim_server_new(loop_t *loop, const struct c3sim_server_cfg *cfg, char *err, size_t errlen);
void c3sim_server_free(struct c3sim_server *s);

unsigned c3sim_server_panels(const struct c3sim_server *s);
/* The first panel's port (the kernel's choice when the configuration asked for port 0). */
unsigned c3sim_server_port(const struct c3sim_server *s);
/* Panel i's port (with port 0 the panels' ports are the kernel's choices, not in a row). */
unsigned c3sim_server_panel_port(const struct c3sim_server *s, unsigned i);
struct c3sim_panel *c3sim_server_panel(struct c3sim_server *s, unsigned i);
/* panel < 0: every panel. */
void c3sim_server_set_faults(struct c3sim_server *s, int panel, const struct c3sim_faults *f);
/* Power-cycle a panel: drop its connections and listener, boot again after restart_ms. */
void c3sim_server_restart(struct c3sim_server *s, unsigned panel);
/* Cut the panel's connection when the big-data chunk request after the next `after` ones arrives (one shot;
 * after < 0 cancels). */
void c3sim_server_cut(struct c3sim_server *s, unsigned panel, long after);
/* One-line status: the whole process (panel < 0) or one panel. */
void c3sim_server_status(struct c3sim_server *s, int panel, char *out, size_t cap);

#endif
