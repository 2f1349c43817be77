#include "core/xport.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

ssize_t xport_io_read(int fd, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(fd, buf, len);
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

ssize_t xport_io_write(int fd, const void *buf, size_t len, bool sock)
{
    for (;;) {
        ssize_t n = sock ? send(fd, buf, len, MSG_NOSIGNAL) : write(fd, buf, len);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        if (sock && errno == ENOTCONN)
            return 0; /* still connecting: nothing can move yet */
        return -errno;
    }
}

ssize_t xport_fd_read(struct xport *x, void *buf, size_t len) { return xport_io_read(x->fd, buf, len); }

ssize_t xport_fd_write(struct xport *x, const void *buf, size_t len)
{
    return xport_io_write(x->fd, buf, len, false);
}

ssize_t xport_sock_write(struct xport *x, const void *buf, size_t len)
{
    return xport_io_write(x->fd, buf, len, true);
}

void xport_fd_close(struct xport *x)
{
    if (x->fd >= 0)
        close(x->fd);
    x->fd = -1;
}

const struct xport_ops xport_fd_ops = {
    .read = xport_fd_read,
    .write = xport_fd_write,
    .finish_open = NULL,
    .close = xport_fd_close,
};

int xport_fd_off_std(int fd)
{
    if (fd < 0 || fd > STDERR_FILENO)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    int e = errno;
    close(fd);
    return moved >= 0 ? moved : -e;
}

void xport_init(struct xport *x, const struct xport_ops *ops, int fd, void *impl, const char *fmt, ...)
{
    x->ops = ops;
    x->fd = fd;
    x->impl = impl;
    struct stat st;
    bool known = fd >= 0 && fstat(fd, &st) == 0;
    x->ident_dev = known ? (unsigned long long)st.st_dev : 0;
    x->ident_ino = known ? (unsigned long long)st.st_ino : 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->desc, sizeof x->desc, fmt, ap);
    va_end(ap);
}

/* Whether x->fd is still the file the transport opened (a standard stream never is one). */
static bool fd_is_ours(const struct xport *x)
{
    struct stat st;
    return x->fd > STDERR_FILENO && fstat(x->fd, &st) == 0 && (unsigned long long)st.st_dev == x->ident_dev &&
           (unsigned long long)st.st_ino == x->ident_ino;
}

ssize_t xport_read(struct xport *x, void *buf, size_t len)
{
    if (!xport_is_open(x))
        return -EBADF;
    if (x->fd <= STDERR_FILENO)
        return -EBADFD; /* the terminal's keys are not the transport's */
    return x->ops->read(x, buf, len);
}

ssize_t xport_write(struct xport *x, const void *buf, size_t len)
{
    if (!xport_is_open(x))
        return -EBADF;
    if (!fd_is_ours(x))
        return -EBADFD;
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
    /* A number that is no longer the transport's file belongs to whoever opened it since: not ours to close. */
    if (x->fd >= 0 && !fd_is_ours(x))
        x->fd = -1;
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
