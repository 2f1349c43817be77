#include "core/xport_tty.h"

#include <errno.h>
#include <fcntl.h>
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

int xport_tty_configure(int fd, unsigned baud)
{
    speed_t sp = (speed_t)xport_tty_speed(baud);
    if (sp == 0)
        return -EINVAL;
    struct termios t;
    if (tcgetattr(fd, &t) < 0)
        return -errno;
    cfmakeraw(&t);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CSTOPB | CRTSCTS);
    t.c_cflag |= CS8 | CLOCAL | CREAD;
    t.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    if (cfsetispeed(&t, sp) < 0 || cfsetospeed(&t, sp) < 0)
        return -errno;
    if (tcsetattr(fd, TCSANOW, &t) < 0)
        return -errno;
    return 0;
}

int xport_tty_set_baud(int fd, unsigned baud)
{
    speed_t sp = (speed_t)xport_tty_speed(baud);
    if (sp == 0)
        return -EINVAL;
    struct termios t;
    if (tcgetattr(fd, &t) < 0)
        return -errno;
    if (cfsetispeed(&t, sp) < 0 || cfsetospeed(&t, sp) < 0)
        return -errno;
    if (tcsetattr(fd, TCSANOW, &t) < 0)
        return -errno;
    return 0;
}

bool xport_tty_is_pty(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode))
        return false;
    /* Unix98 pty slaves: majors 136-143 on Linux. */
    unsigned maj = major(st.st_rdev);
    return maj >= 136 && maj <= 143;
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
    int rc = xport_tty_configure(fd, baud);
    if (rc < 0) {
        close(fd);
        snprintf(err, errlen, "%s: cannot configure line: %s", path, strerror(-rc));
        return rc;
    }
    tcflush(fd, TCIOFLUSH);
    ioctl(fd, TIOCEXCL); /* no second opener (but root) while it is ours */
    xport_init(x, &xport_fd_ops, fd, NULL, "tty %s %u 8N1", path, baud);
    return 0;
}
