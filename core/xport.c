#include "core/xport.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static ssize_t fd_read(struct xport *x, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(x->fd, buf, len);
        if (n > 0)
            return n;
        if (n == 0)
            return len == 0 ? 0 : -ECONNRESET;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return -errno;
    }
}

static ssize_t fd_write(struct xport *x, const void *buf, size_t len)
{
    for (;;) {
        ssize_t n = write(x->fd, buf, len);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return -errno;
    }
}

static void fd_close(struct xport *x)
{
    if (x->fd >= 0)
        close(x->fd);
    x->fd = -1;
}

const struct xport_ops xport_fd_ops = {
    .read = fd_read,
    .write = fd_write,
    .finish_open = NULL,
    .close = fd_close,
};

void xport_init(struct xport *x, const struct xport_ops *ops, int fd, void *impl, const char *fmt, ...)
{
    x->ops = ops;
    x->fd = fd;
    x->impl = impl;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->desc, sizeof x->desc, fmt, ap);
    va_end(ap);
}

ssize_t xport_read(struct xport *x, void *buf, size_t len)
{
    if (!xport_is_open(x))
        return -EBADF;
    return x->ops->read(x, buf, len);
}

ssize_t xport_write(struct xport *x, const void *buf, size_t len)
{
    if (!xport_is_open(x))
        return -EBADF;
    return x->ops->write(x, buf, len);
}

int xport_finish_open(struct xport *x)
{
    if (!xport_is_open(x))
        return -EBADF;
    return x->ops->finish_open ? x->ops->finish_open(x) : 0;
}

void xport_close(struct xport *x)
{
    if (x->ops && x->ops->close)
        x->ops->close(x);
    else if (x->fd >= 0)
        close(x->fd);
    x->fd = -1;
    x->impl = NULL;
}

int xport_write_some(struct xport *x, const void *buf, size_t len, size_t *done)
{
    const unsigned char *p = buf;
    while (*done < len) {
        ssize_t n = xport_write(x, p + *done, len - *done);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return 0;
        *done += (size_t)n;
    }
    return 1;
}
