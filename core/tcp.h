/* tcp: non-blocking TCP client transport (an xport), address parsing, receive-buffer helpers that
 * collect exactly N bytes across partial reads, and a loopback listener for simulators and benchmarks. */
#ifndef PORTIER_TCP_H
#define PORTIER_TCP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/xport.h"

struct tcp_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[64]; /* "192.168.1.201:4370" or "[::1]:4370" */
};

/* Split "HOST", "HOST:PORT" or "[V6]:PORT" into host and port (default_port when absent).
 * Returns 0, or -1 with a message in err (errlen bytes). */
int tcp_parse_hostport(const char *s, uint16_t default_port, char *host, size_t hostlen, uint16_t *port,
                       char *err, size_t errlen);

/* Resolve host (numeric first; otherwise the system resolver, which may block: call it at start-up or
 * configuration time, never from a loop callback). Returns 0 or -1 with a message in err. */
int tcp_resolve(const char *host, uint16_t port, struct tcp_addr *out, char *err, size_t errlen);

/* Start a non-blocking connect (TCP_NODELAY, close-on-exec). On success x is open and
 * xport_finish_open(x) reports completion (-EINPROGRESS until then: watch x->fd for LOOP_WRITE and
 * enforce a deadline with a loop timer). Returns 0 or a negative errno. */
int tcp_connect_start(struct xport *x, const struct tcp_addr *addr);

/* Listen on 127.0.0.1:port (0 = any free port), non-blocking, SO_REUSEADDR. Returns the fd or -errno;
 * the bound port goes to *bound when not NULL. */
int tcp_listen_loopback(uint16_t port, int backlog, uint16_t *bound);
/* Accept one pending connection as a TCP xport (non-blocking, TCP_NODELAY). Returns 1 accepted,
 * 0 none pending, negative errno on failure. */
int tcp_accept(int listen_fd, struct xport *x);

/* A receive buffer for framed protocols: read what is there, then ask for exactly N bytes. */
struct tcp_rxbuf {
    unsigned char *data;
    size_t len, cap;
    size_t limit; /* maximum bytes held (0 = 64 KiB) */
};

void tcp_rx_init(struct tcp_rxbuf *b, size_t limit);
void tcp_rx_free(struct tcp_rxbuf *b);
/* Read from x until b holds at least want bytes or nothing more is available now.
 * Returns 1 when b->len >= want, 0 when more bytes must arrive, negative errno when the transport is
 * dead (-ECONNRESET at end of stream) or -EMSGSIZE when want exceeds the limit. */
int tcp_rx_fill(struct xport *x, struct tcp_rxbuf *b, size_t want);
/* Read everything available now (up to the limit). Returns bytes added (>= 0) or negative errno. */
ssize_t tcp_rx_drain(struct xport *x, struct tcp_rxbuf *b);
/* Drop the first n bytes. */
void tcp_rx_consume(struct tcp_rxbuf *b, size_t n);

#endif
