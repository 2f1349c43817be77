/* xport: the byte transport every driver talks through (TCP, serial, pseudo-terminal, device server).
 * Non-blocking read/write/close over one fd the owner watches on the loop, plus a description string. */
#ifndef PORTIER_XPORT_H
#define PORTIER_XPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct xport;

/* Return conventions (all ops):
 *   read/write: > 0 bytes moved; 0 nothing can move now (would block; watch the fd and retry);
 *               < 0 the transport is dead: a negative errno (end of stream is -ECONNRESET).
 *   finish_open: 0 ready, -EINPROGRESS still opening (watch for LOOP_WRITE), other negative errno: failed.
 * A NULL finish_open means the transport is usable as soon as it is opened. */
struct xport_ops {
    ssize_t (*read)(struct xport *x, void *buf, size_t len);
    ssize_t (*write)(struct xport *x, const void *buf, size_t len);
    int (*finish_open)(struct xport *x);
    void (*close)(struct xport *x); /* releases fd and impl; must leave x->fd = -1 */
};

struct xport {
    const struct xport_ops *ops;
    int fd;            /* for the loop; -1 when closed */
    void *impl;        /* transport private data (may be NULL) */
    char desc[96];     /* e.g. "tcp 192.168.1.201:4370", "serial /dev/ttyUSB0 9600 8N1" */
};

/* Plain file-descriptor ops (read(2)/write(2)/close(2)); usable by any stream fd already in O_NONBLOCK. */
extern const struct xport_ops xport_fd_ops;

/* Fill x with fd, ops and a printf-style description. */
void xport_init(struct xport *x, const struct xport_ops *ops, int fd, void *impl, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static inline bool xport_is_open(const struct xport *x) { return x->ops != NULL && x->fd >= 0; }

ssize_t xport_read(struct xport *x, void *buf, size_t len);
ssize_t xport_write(struct xport *x, const void *buf, size_t len);
/* 0 ready; -EINPROGRESS still opening; other negative errno: the open failed. */
int xport_finish_open(struct xport *x);
/* Idempotent. The caller must have removed x->fd from its loop first. */
void xport_close(struct xport *x);

/* Write as much of buf as the transport takes now into *done (advanced); 1 when all of it is written,
 * 0 when some remains (watch for LOOP_WRITE), negative errno on failure. */
int xport_write_some(struct xport *x, const void *buf, size_t len, size_t *done);

#endif
