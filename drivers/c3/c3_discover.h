/* c3_discover: finding C3 panels on the local network (spec §3.9): the UDP search (0x14 "CallSecurityDevice")
 * answered by every panel, and the IP change (0x15) only the panel with a given MAC acts on. On the loop. */
#ifndef PORTIER_C3_DISCOVER_H
#define PORTIER_C3_DISCOVER_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_params.h"

struct c3_discover_opts {
    struct sockaddr_in to;       /* where the search goes (the broadcast address, port 65535, by default) */
    struct in_addr from;         /* local address to send from (an interface's), INADDR_ANY by default */
    uint32_t timeout_ms;         /* how long answers are collected; 0 = 2000 */
};

/* The default destination (255.255.255.255:65535), or the broadcast address and local address of interface
 * ifname. 0, or -1 with a message in err. */
int c3_discover_target(struct c3_discover_opts *o, const char *ifname, char *err, size_t errlen);

/* One datagram of the discovery port (either side): the bytes, their sender and, when they are a frame, the
 * frame (whose data points into buf). */
struct c3_datagram {
    uint8_t buf[2048];
    struct sockaddr_in from;
    struct c3_frame frame;
};
/* Reads the next datagram waiting on the non-blocking UDP socket fd into dg.
 * 1 = a frame, 0 = a datagram that is not a frame (noise: skip it), -1 = nothing more to read. */
int c3_discover_recv(int fd, struct c3_datagram *dg);

struct c3_discover;
/* One panel that answered (each MAC once). */
typedef void (*c3_found_fn)(void *arg, const struct c3_discovery *d, const char *from_ip);
/* The end: err 0 (found may be 0), a panel error (-14 ...) for an IP change, or a negative errno. */
typedef void (*c3_discover_done_fn)(void *arg, int err, size_t found);

struct c3_discover *c3_discover_search(loop_t *loop, const struct c3_discover_opts *o, c3_found_fn found,
                                       c3_discover_done_fn done, void *arg, char *err, size_t errlen);
/* Ask the panel with this MAC to take ip/mask/gateway (dotted quads; mask and gateway may be NULL). done gets 0
 * when it answered OK, its error code, or -ETIMEDOUT when nothing answered. */
struct c3_discover *c3_discover_set_ip(loop_t *loop, const struct c3_discover_opts *o, const char *mac,
                                       const char *ip, const char *mask, const char *gateway,
                                       c3_discover_done_fn done, void *arg, char *err, size_t errlen);
/* Stop (done is not called) and free; also after done. */
void c3_discover_free(struct c3_discover *d);

#endif
