/* Unit tests for the transport layer's guard (core/xport.h): a transport never writes to or reads from a
 * standard stream (its bytes would reach the operator's terminal), never writes to an fd number that was closed
 * behind its back and now names another file, and never closes such a number or a standard stream; what it opens
 * never lands on a standard stream's number; the read and write ops of plain fds and sockets follow one return
 * convention; a terminal line is set raw 8N1 at its speed and keeps its settings when only the speed changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "core/xport.h"
#include "core/xport_tty.h"

static off_t size_of(int fd)
{
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    return st.st_size;
}

static void standard_streams_refused(void **state)
{
    (void)state;
    /* a pipe stands in for the terminal on fd 1 for the length of the test */
    int saved = dup(STDOUT_FILENO), p[2];
    assert_true(saved >= 0);
    assert_int_equal(pipe2(p, O_NONBLOCK), 0);
    assert_int_equal(dup2(p[1], STDOUT_FILENO), STDOUT_FILENO);
    for (int fd = 0; fd <= 2; fd++) {
        struct xport x;
        xport_init(&x, &xport_fd_ops, fd, NULL, "fd %d", fd);
        assert_int_equal(xport_write(&x, "270100000000006BQm\n", 19), -EBADFD);
        char b[8];
        assert_int_equal(xport_read(&x, b, sizeof b), -EBADFD);
        xport_close(&x);
        assert_int_equal(x.fd, -1);
        assert_true(fcntl(fd, F_GETFD) >= 0); /* still open */
    }
    char b[64];
    assert_int_equal(read(p[0], b, sizeof b), -1); /* nothing reached the stand-in terminal */
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
    close(saved);
    close(p[0]);
    close(p[1]);
}

static void reused_number_refused_and_kept(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    struct xport x;
    xport_init(&x, &xport_fd_ops, sv[0], NULL, "line");
    assert_int_equal(xport_write(&x, "a\n", 2), 2);
    char path[] = "/tmp/portier-xport.XXXXXX";
    int other = mkstemp(path);
    assert_true(other >= 0);
    assert_int_equal(dup2(other, sv[0]), sv[0]); /* the line closed behind the transport, its number reused */
    close(other);
    assert_int_equal(xport_write(&x, "b\n", 2), -EBADFD);
    assert_int_equal(size_of(sv[0]), 0);
    size_t done = 0;
    assert_int_equal(xport_write_some(&x, "c\n", 2, &done), -EBADFD);
    assert_int_equal(done, 0);
    xport_close(&x);
    assert_int_equal(x.fd, -1);
    assert_true(fcntl(sv[0], F_GETFD) >= 0); /* the file that took the number stays open */
    assert_int_equal(size_of(sv[0]), 0);
    close(sv[0]);
    close(sv[1]);
    unlink(path);
}

static void own_fd_closed(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    struct xport x;
    xport_init(&x, &xport_fd_ops, sv[0], NULL, "line");
    int n = sv[0];
    xport_close(&x);
    assert_int_equal(x.fd, -1);
    assert_int_equal(fcntl(n, F_GETFD), -1); /* its own fd is closed as before */
    assert_int_equal(xport_write(&x, "x", 1), -EBADF);
    close(sv[1]);
}

/* A process started with a standard stream closed: what a transport opens moves to a number >= 3, so the
 * guard never refuses a transport of its own. */
static void opened_on_std_number_moved(void **state)
{
    (void)state;
    int saved = dup(STDIN_FILENO);
    assert_true(saved >= 0);
    close(STDIN_FILENO);
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    assert_int_equal(fd, STDIN_FILENO);
    int moved = xport_fd_off_std(fd);
    assert_true(moved > STDERR_FILENO);
    assert_int_equal(fcntl(STDIN_FILENO, F_GETFD), -1); /* the low number is free again */
    assert_true(fcntl(moved, F_GETFD) & FD_CLOEXEC);
    struct xport x;
    xport_init(&x, &xport_fd_ops, moved, NULL, "moved");
    assert_int_equal(xport_write(&x, "a", 1), 1);
    xport_close(&x);
    assert_int_equal(fcntl(moved, F_GETFD), -1);
    assert_int_equal(xport_fd_off_std(saved), saved); /* above the standard streams: unchanged */
    assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
    close(saved);
}

/* The ops' convention on a stream socket: would-block is 0, end of stream -ECONNRESET, a peer gone or a socket
 * never connected is -EPIPE (never a SIGPIPE: the test process would die of it). */
static void fd_and_socket_ops_convention(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    struct xport x, y;
    xport_init(&x, &xport_fd_ops, sv[0], NULL, "plain");
    xport_init(&y, &xport_fd_ops, sv[1], NULL, "peer");
    char b[8];
    assert_int_equal(xport_fd_read(&x, b, sizeof b), 0); /* nothing there yet */
    assert_int_equal(xport_fd_read(&x, b, 0), 0);
    assert_int_equal(xport_fd_write(&y, "ab", 2), 2);
    assert_int_equal(xport_sock_write(&y, "c", 1), 1);
    assert_int_equal(xport_fd_read(&x, b, sizeof b), 3);
    assert_memory_equal(b, "abc", 3);
    xport_fd_close(&y);
    assert_int_equal(y.fd, -1);
    assert_int_equal(xport_fd_read(&x, b, sizeof b), -ECONNRESET); /* end of stream */
    assert_int_equal(xport_sock_write(&x, "d", 1), -EPIPE);
    xport_fd_close(&x);
    assert_int_equal(x.fd, -1);

    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    xport_init(&x, &xport_fd_ops, s, NULL, "not connected");
    assert_int_equal(xport_sock_write(&x, "e", 1), -EPIPE);
    xport_fd_close(&x);
}

/* The same convention on a plain fd that is no transport (a pipe): what portierd's connections read and write by. */
static void io_on_a_pipe(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    char b[8];
    assert_int_equal(xport_io_read(p[0], b, sizeof b), 0);
    assert_int_equal(xport_io_write(p[1], "hi", 2, false), 2);
    assert_int_equal(xport_io_read(p[0], b, sizeof b), 2);
    assert_memory_equal(b, "hi", 2);
    close(p[1]);
    assert_int_equal(xport_io_read(p[0], b, sizeof b), -ECONNRESET);
    close(p[0]);
}

/* A raw line reads 0 bytes when nothing is there: after a read that took exactly what had come (a reader reads
 * again while its buffer comes back full, as the NiX1 bus does), or after poll said readable and the input was
 * flushed. That is nothing to read, not the line's end; the other side's close is. */
static void tty_nothing_is_not_an_end(void **state)
{
    (void)state;
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
    assert_true(m >= 0);
    assert_int_equal(grantpt(m), 0);
    assert_int_equal(unlockpt(m), 0);
    struct xport x;
    char err[256], b[16];
    assert_int_equal(xport_tty_open(&x, ptsname(m), 115200, err, sizeof err), 0);
    assert_int_equal(x.ops->read(&x, b, sizeof b), 0); /* nothing yet */
    struct pollfd p = { .fd = x.fd, .events = POLLIN };
    assert_int_equal(write(m, "0123456789abcdef", sizeof b), sizeof b); /* exactly a buffer full */
    assert_int_equal(poll(&p, 1, 1000), 1);
    assert_int_equal(x.ops->read(&x, b, sizeof b), sizeof b);
    assert_int_equal(x.ops->read(&x, b, sizeof b), 0); /* the next read finds nothing */
    assert_int_equal(write(m, "abc", 3), 3);
    assert_int_equal(poll(&p, 1, 1000), 1); /* readable ... */
    assert_int_equal(tcflush(x.fd, TCIFLUSH), 0); /* ... and flushed before the read */
    assert_int_equal(x.ops->read(&x, b, sizeof b), 0);
    assert_int_equal(write(m, "de", 2), 2);
    assert_int_equal(poll(&p, 1, 1000), 1);
    assert_int_equal(x.ops->read(&x, b, sizeof b), 2);
    assert_memory_equal(b, "de", 2);
    close(m); /* the other side gone: the line has ended */
    ssize_t r = x.ops->read(&x, b, sizeof b);
    assert_true(r == -ECONNRESET || r == -EIO);
    x.ops->close(&x);
}

/* A terminal line opens raw 8N1 at its speed; a later speed change keeps the rest of the settings. */
static void tty_configure_then_set_baud(void **state)
{
    (void)state;
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(m >= 0);
    assert_int_equal(grantpt(m), 0);
    assert_int_equal(unlockpt(m), 0);
    int fd = open(ptsname(m), O_RDWR | O_NOCTTY);
    assert_true(fd >= 0);
    assert_int_equal(xport_tty_configure(fd, 12345), -EINVAL);
    assert_int_equal(xport_tty_configure(fd, 9600), 0);
    struct termios t;
    assert_int_equal(tcgetattr(fd, &t), 0);
    assert_int_equal(cfgetospeed(&t), B9600);
    assert_int_equal(cfgetispeed(&t), B9600);
    assert_int_equal(t.c_cflag & CSIZE, CS8);
    assert_int_equal(t.c_cflag & (PARENB | CSTOPB | CRTSCTS), 0);
    assert_int_equal(t.c_lflag & (ICANON | ECHO | ISIG), 0);
    assert_int_equal(t.c_iflag & (IXON | IXOFF), 0);
    assert_int_equal(t.c_cc[VMIN], 0);
    assert_int_equal(xport_tty_set_baud(fd, 7), -EINVAL);
    assert_int_equal(xport_tty_set_baud(fd, 115200), 0);
    struct termios u;
    assert_int_equal(tcgetattr(fd, &u), 0);
    assert_int_equal(cfgetospeed(&u), B115200);
    assert_int_equal(u.c_cflag & ~(tcflag_t)CBAUD, t.c_cflag & ~(tcflag_t)CBAUD);
    assert_int_equal(u.c_lflag, t.c_lflag);
    assert_int_equal(u.c_iflag, t.c_iflag);
    close(fd);
    close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(standard_streams_refused),
        cmocka_unit_test(reused_number_refused_and_kept),
        cmocka_unit_test(own_fd_closed),
        cmocka_unit_test(opened_on_std_number_moved),
        cmocka_unit_test(fd_and_socket_ops_convention),
        cmocka_unit_test(io_on_a_pipe),
        cmocka_unit_test(tty_configure_then_set_baud),
        cmocka_unit_test(tty_nothing_is_not_an_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
