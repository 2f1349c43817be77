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
    unsigned long long ident_dev, ident_ino; /* what fd was when it was opened (xport_init) */
};

/* Plain file-descriptor ops (read(2)/write(2)/close(2)); usable by any stream fd already in O_NONBLOCK. */
extern const struct xport_ops xport_fd_ops;
/* One non-blocking read(2) or write(2) of a stream fd in the ops' convention above (EINTR retried, would-block is
 * 0, end of stream -ECONNRESET), for every stream fd of the project, transport or not. sock: fd is a socket,
 * written with send(MSG_NOSIGNAL) (a peer gone is -EPIPE, never a SIGPIPE) and taking nothing while it is still
 * connecting. */
ssize_t xport_io_read(int fd, void *buf, size_t len);
ssize_t xport_io_write(int fd, const void *buf, size_t len, bool sock);
/* The ops of xport_fd_ops, for transports built on them: one non-blocking read(2) or write(2) in the ops'
 * convention above (EINTR retried, would-block is 0, end of stream -ECONNRESET); close(2) of x->fd. */
ssize_t xport_fd_read(struct xport *x, void *buf, size_t len);
ssize_t xport_fd_write(struct xport *x, const void *buf, size_t len);
void xport_fd_close(struct xport *x);
/* The write op of a connected or connecting socket: send(2) with MSG_NOSIGNAL (a peer gone is -EPIPE, never a
 * SIGPIPE); a socket still connecting takes nothing (0). */
ssize_t xport_sock_write(struct xport *x, const void *buf, size_t len);

/* An fd a transport just opened, moved off the standard stream numbers (0-2 are free only when the process was
 * started with them closed; the guard below refuses them): the same fd, or a close-on-exec duplicate >= 3 (the
 * low one closed), or a negative errno (fd closed). */
int xport_fd_off_std(int fd);

/* Fill x with fd, ops and a printf-style description; remembers what fd refers to (device and inode). */
void xport_init(struct xport *x, const struct xport_ops *ops, int fd, void *impl, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static inline bool xport_is_open(const struct xport *x) { return x->ops != NULL && x->fd >= 0; }

/* Guard: a transport never reads from a standard stream (fd 0-2: the operator's keys), never writes to one or to
 * an fd number that no longer refers to what it opened (closed behind its back and reused: the bytes would reach
 * the terminal or someone's file); both are refused with -EBADFD, which the owner reports as a dead transport. */
ssize_t xport_read(struct xport *x, void *buf, size_t len);
ssize_t xport_write(struct xport *x, const void *buf, size_t len);
/* 0 ready; -EINPROGRESS still opening; other negative errno: the open failed. */
int xport_finish_open(struct xport *x);
/* Idempotent. The caller must have removed x->fd from its loop first. A standard stream, or a number that no
 * longer refers to the transport's file, is forgotten, never closed. */
void xport_close(struct xport *x);

/* Write as much of buf as the transport takes now into *done (advanced); 1 when all of it is written,
 * 0 when some remains (watch for LOOP_WRITE), negative errno on failure. */
int xport_write_some(struct xport *x, const void *buf, size_t len, size_t *done);

#endif
