#include "core/xport_tty.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

unsigned xport_tty_speed(unsigned baud)
{
    switch (baud) {
    case 1200: return B1200;
    case 2400: return B2400;
    case 4800: return B4800;
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    case 230400: return B230400;
    default: return 0;
    }
}

/* Set the line's speed, first making it raw 8N1 without flow control when raw (what the transport opens with). */
static int tty_set(int fd, unsigned baud, bool raw)
{
    speed_t sp = (speed_t)xport_tty_speed(baud);
    if (sp == 0)
        return -EINVAL;
    struct termios t;
    if (tcgetattr(fd, &t) < 0)
        return -errno;
    if (raw) {
        cfmakeraw(&t);
        t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CSTOPB | CRTSCTS);
        t.c_cflag |= CS8 | CLOCAL | CREAD;
        t.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
        t.c_cc[VMIN] = 0;
        t.c_cc[VTIME] = 0;
    }
    if (cfsetispeed(&t, sp) < 0 || cfsetospeed(&t, sp) < 0)
        return -errno;
    if (tcsetattr(fd, TCSANOW, &t) < 0)
        return -errno;
    return 0;
}

int xport_tty_configure(int fd, unsigned baud) { return tty_set(fd, baud, true); }

int xport_tty_set_baud(int fd, unsigned baud) { return tty_set(fd, baud, false); }

ssize_t xport_tty_read(struct xport *x, void *buf, size_t len)
{
    ssize_t n = xport_io_read(x->fd, buf, len);
    if (n != -ECONNRESET)
        return n;
    struct pollfd p = { .fd = x->fd, .events = POLLIN };
    if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)))
        return -ECONNRESET;
    return 0;
}

static const struct xport_ops tty_ops = {
    .read = xport_tty_read,
    .write = xport_fd_write,
    .close = xport_fd_close,
};

bool xport_tty_is_pty(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode))
        return false;
    /* Unix98 pty slaves: majors 136-143 on Linux. */
    unsigned maj = major(st.st_rdev);
    return maj >= 136 && maj <= 143;
}

/* The pid of a process whose controlling terminal is the pseudo-terminal fd (its name in comm), or 0. A pty
 * number is reused as soon as its pty is gone: a line path whose simulator or device server went away may then
 * name someone's terminal window or SSH login, and a bus must never write requests into it nor read its keys. */
static pid_t pty_session_owner(int fd, char *comm, size_t commlen)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode))
        return 0;
    unsigned maj = major(st.st_rdev), min = minor(st.st_rdev);
    if (maj < 136 || maj > 143)
        return 0;
    unsigned long want = (min & 0xffu) | (maj << 8) | ((unsigned long)(min & ~0xffu) << 12); /* /proc tty_nr */
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    pid_t found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char p[300], buf[512];
        snprintf(p, sizeof p, "/proc/%.255s/stat", e->d_name);
        int f = open(p, O_RDONLY | O_CLOEXEC);
        if (f < 0)
            continue;
        ssize_t n = read(f, buf, sizeof buf - 1);
        close(f);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        char *rp = strrchr(buf, ')'); /* after the command name: state ppid pgrp session tty_nr */
        char state;
        int ppid, pgrp, session;
        unsigned long tty;
        if (rp && sscanf(rp + 1, " %c %d %d %d %lu", &state, &ppid, &pgrp, &session, &tty) == 5 && tty == want &&
            state != 'Z') {
            found = (pid_t)strtol(e->d_name, NULL, 10);
            char *lp = strchr(buf, '(');
            snprintf(comm, commlen, "%.*s", lp ? (int)(rp - lp - 1) : 1, lp ? lp + 1 : "?");
        }
    }
    closedir(d);
    return found;
}

int xport_tty_open(struct xport *x, const char *path, unsigned baud, char *err, size_t errlen)
{
    if (xport_tty_speed(baud) == 0) {
        snprintf(err, errlen, "%s: unsupported baud rate %u", path, baud);
        return -EINVAL;
    }
    int fd = xport_fd_off_std(open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    if (!isatty(fd)) {
        close(fd);
        snprintf(err, errlen, "%s: not a terminal device", path);
        return -ENOTTY;
    }
    char comm[64];
    pid_t owner = pty_session_owner(fd, comm, sizeof comm);
    if (owner) {
        close(fd); /* before anything touches its modes or its input */
        snprintf(err, errlen, "%s is the terminal of pid %d (%s), not a bus line (its pty was reused?)", path,
                 (int)owner, comm);
        return -EBUSY;
    }
    int rc = xport_tty_configure(fd, baud);
    if (rc < 0) {
        close(fd);
        snprintf(err, errlen, "%s: cannot configure line: %s", path, strerror(-rc));
        return rc;
    }
    tcflush(fd, TCIOFLUSH);
    ioctl(fd, TIOCEXCL); /* no second opener (but root) while it is ours */
    xport_init(x, &tty_ops, fd, NULL, "tty %s %u 8N1", path, baud);
    return 0;
}
