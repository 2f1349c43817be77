#include "core/xport_serial.h"

#include <errno.h>
#include <fcntl.h>
#include <libserialport.h>
#include <linux/serial.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "core/devlock.h"
#include "core/tcp.h"
#include "core/xport_tty.h"

#define DEFAULT_BAUD 9600u
#define DEFAULT_GUARD_US 300u

struct serial_impl {
    struct sp_port *sp; /* NULL when the line was opened through termios */
    loop_t *loop;
    enum xport_rs485 mode;
    unsigned baud;
    unsigned guard_us;
    bool tx_on;       /* RTS mode: driver enabled */
    bool draining;    /* RTS mode: UART empty, waiting out the guard time */
    loop_timer_t timer;
    int fd;
    struct devlock *lock; /* the port's UUCP lock file, held while it is open */
};

static const struct xport_ops serial_ops;

uint64_t xport_char_time_us(unsigned baud, size_t n)
{
    if (baud == 0)
        baud = DEFAULT_BAUD;
    return ((uint64_t)n * 10u * 1000000u + baud - 1) / baud;
}

int xport_rs485_parse(const char *s, enum xport_rs485 *out)
{
    if (!s)
        return -1;
    if (strcmp(s, "auto") == 0)
        *out = XPORT_RS485_AUTO;
    else if (strcmp(s, "kernel") == 0)
        *out = XPORT_RS485_KERNEL;
    else if (strcmp(s, "rts") == 0)
        *out = XPORT_RS485_RTS;
    else
        return -1;
    return 0;
}

const char *xport_rs485_name(enum xport_rs485 m)
{
    switch (m) {
    case XPORT_RS485_KERNEL: return "kernel";
    case XPORT_RS485_RTS: return "rts";
    default: return "auto";
    }
}

/* ---- RTS direction control ---- */

static int rts_set(int fd, bool on)
{
    int bit = TIOCM_RTS;
    if (ioctl(fd, on ? TIOCMBIS : TIOCMBIC, &bit) < 0)
        return -errno;
    return 0;
}

/* Bytes still in the driver's output queue, or -1 when the driver cannot say. */
static int out_queue(int fd)
{
    int q = 0;
    if (ioctl(fd, TIOCOUTQ, &q) < 0)
        return -1;
    return q;
}

/* Transmitter shift register empty? (true when the driver cannot say). */
static bool shifter_empty(int fd)
{
#ifdef TIOCSERGETLSR
    unsigned lsr = 0;
    if (ioctl(fd, TIOCSERGETLSR, &lsr) < 0)
        return true;
    return (lsr & TIOCSER_TEMT) != 0;
#else
    (void)fd;
    return true;
#endif
}

static void rts_timer_cb(loop_t *loop, void *arg)
{
    struct serial_impl *s = arg;
    int fd = s->fd;
    if (fd < 0 || !s->tx_on)
        return;
    if (s->draining) {
        rts_set(fd, false);
        s->tx_on = false;
        s->draining = false;
        return;
    }
    int q = out_queue(fd);
    if (q > 0) {
        loop_timer_arm_us(loop, &s->timer, xport_char_time_us(s->baud, (size_t)q));
        return;
    }
    if (!shifter_empty(fd)) {
        loop_timer_arm_us(loop, &s->timer, xport_char_time_us(s->baud, 1));
        return;
    }
    s->draining = true;
    loop_timer_arm_us(loop, &s->timer, s->guard_us);
}

/* ---- ops ---- */

static ssize_t serial_read(struct xport *x, void *buf, size_t len)
{
    return xport_tty_read(x, buf, len);
}

static ssize_t serial_write(struct xport *x, const void *buf, size_t len)
{
    struct serial_impl *s = x->impl;
    if (s->mode == XPORT_RS485_RTS && s->loop) {
        if (!s->tx_on) {
            int rc = rts_set(x->fd, true);
            if (rc < 0)
                return rc;
            s->tx_on = true;
        }
        s->draining = false;
    }
    ssize_t n = xport_fd_ops.write(x, buf, len);
    if (s->mode == XPORT_RS485_RTS && s->loop && s->tx_on) {
        int q = out_queue(x->fd);
        size_t chars = q > 0 ? (size_t)q : (n > 0 ? (size_t)n : 1);
        loop_timer_arm_us(s->loop, &s->timer, xport_char_time_us(s->baud, chars));
    }
    return n;
}

static void serial_close(struct xport *x)
{
    struct serial_impl *s = x->impl;
    if (s) {
        if (s->loop)
            loop_timer_disarm(s->loop, &s->timer);
        if (s->tx_on && x->fd >= 0)
            rts_set(x->fd, false);
        if (s->sp) {
            if (x->fd >= 0) /* -1: the number is no longer the port's (xport_close) */
                sp_close(s->sp);
            sp_free_port(s->sp);
        } else if (x->fd >= 0) {
            close(x->fd);
        }
        devlock_release(s->lock);
        free(s);
    } else if (x->fd >= 0) {
        close(x->fd);
    }
    x->fd = -1;
    x->impl = NULL;
}

static const struct xport_ops serial_ops = {
    .read = serial_read,
    .write = serial_write,
    .finish_open = NULL,
    .close = serial_close,
};

bool xport_is_serial(const struct xport *x)
{
    return x && x->ops == &serial_ops && x->impl != NULL;
}

/* ---- opening ---- */

static int sp_err(enum sp_return r)
{
    if (r == SP_ERR_FAIL) {
        int e = sp_last_error_code();
        return e > 0 ? -e : -EIO;
    }
    if (r == SP_ERR_MEM)
        return -ENOMEM;
    if (r == SP_ERR_SUPP)
        return -ENOTSUP;
    return -EINVAL;
}

static int open_libserialport(const char *path, unsigned baud, struct sp_port **out, int *fdout)
{
    struct sp_port *p = NULL;
    enum sp_return r = sp_get_port_by_name(path, &p);
    if (r != SP_OK)
        return sp_err(r);
    r = sp_open(p, SP_MODE_READ_WRITE);
    if (r != SP_OK) {
        int e = sp_err(r);
        sp_free_port(p);
        return e;
    }
    struct sp_port_config *cfg = NULL;
    if ((r = sp_new_config(&cfg)) != SP_OK)
        goto fail;
    sp_set_config_baudrate(cfg, (int)baud);
    sp_set_config_bits(cfg, 8);
    sp_set_config_parity(cfg, SP_PARITY_NONE);
    sp_set_config_stopbits(cfg, 1);
    sp_set_config_flowcontrol(cfg, SP_FLOWCONTROL_NONE);
    r = sp_set_config(p, cfg);
    sp_free_config(cfg);
    if (r != SP_OK)
        goto fail;
    int fd = -1;
    if ((r = sp_get_port_handle(p, &fd)) != SP_OK || fd < 0)
        goto fail;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        r = SP_ERR_FAIL;
        goto fail;
    }
    /* libserialport leaves VMIN/VTIME and the input modes raw already; make sure of the rest. */
    xport_tty_configure(fd, baud);
    ioctl(fd, TIOCEXCL); /* no second opener (but root) while it is ours */
    *out = p;
    *fdout = fd;
    return 0;
fail: {
        int e = sp_err(r);
        sp_close(p);
        sp_free_port(p);
        return e;
    }
}

static int setup_rs485(struct serial_impl *s, int fd, char *err, size_t errlen, const char *path)
{
    if (s->mode == XPORT_RS485_KERNEL) {
        struct serial_rs485 conf;
        memset(&conf, 0, sizeof conf);
        conf.flags = SER_RS485_ENABLED | SER_RS485_RTS_ON_SEND;
        conf.delay_rts_before_send = 0;
        conf.delay_rts_after_send = 0;
        if (ioctl(fd, TIOCSRS485, &conf) < 0) {
            int e = errno;
            snprintf(err, errlen, "%s: the driver has no kernel RS-485 mode (TIOCSRS485: %s); use --rs485 auto or rts",
                     path, strerror(e));
            return -e;
        }
    } else if (s->mode == XPORT_RS485_RTS) {
        if (!s->loop) {
            snprintf(err, errlen, "%s: RTS direction control needs an event loop", path);
            return -EINVAL;
        }
        int bits = 0;
        if (ioctl(fd, TIOCMGET, &bits) < 0 || rts_set(fd, false) < 0) {
            int e = errno ? errno : EIO;
            snprintf(err, errlen, "%s: cannot drive RTS on this device (%s); use --rs485 auto or kernel", path,
                     strerror(e));
            return -e;
        }
    }
    return 0;
}

int xport_serial_open(struct xport *x, loop_t *loop, const char *path, const struct xport_serial_opts *o,
                      char *err, size_t errlen)
{
    unsigned baud = o && o->baud ? o->baud : DEFAULT_BAUD;
    if (xport_tty_speed(baud) == 0) {
        snprintf(err, errlen, "%s: unsupported baud rate %u", path, baud);
        return -EINVAL;
    }
    struct serial_impl *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->loop = loop;
    s->mode = o ? o->rs485 : XPORT_RS485_AUTO;
    s->baud = baud;
    s->guard_us = o && o->guard_us ? o->guard_us : DEFAULT_GUARD_US;
    s->fd = -1;
    loop_timer_init(&s->timer, rts_timer_cb, s);
    /* One master per bus: the port's lock file first (other serial programs honour it too), then TIOCEXCL. */
    if (devlock_tty(path, &s->lock, err, errlen) < 0) {
        free(s);
        return -EBUSY;
    }

    int fd = -1;
    const char *how = "serial";
    int rc = -ENODEV;
    if (!xport_tty_is_pty(path))
        rc = open_libserialport(path, baud, &s->sp, &fd);
    if (rc < 0) {
        /* Pseudo-terminal, or a device libserialport does not enumerate: plain termios. */
        struct xport tmp = { 0 };
        rc = xport_tty_open(&tmp, path, baud, err, errlen);
        if (rc < 0) {
            devlock_release(s->lock);
            free(s);
            return rc;
        }
        fd = tmp.fd;
        how = "tty";
    }
    rc = setup_rs485(s, fd, err, errlen, path);
    if (rc < 0) {
        if (s->sp) {
            sp_close(s->sp);
            sp_free_port(s->sp);
        } else {
            close(fd);
        }
        devlock_release(s->lock);
        free(s);
        return rc;
    }
    s->fd = fd;
    xport_init(x, &serial_ops, fd, s, "%s %s %u 8N1 rs485=%s", how, path, baud, xport_rs485_name(s->mode));
    return 0;
}

int xport_open_url(struct xport *x, loop_t *loop, const char *url, const struct xport_serial_opts *o,
                   char *err, size_t errlen)
{
    if (!url || !*url) {
        snprintf(err, errlen, "empty port");
        return -EINVAL;
    }
    if (strncmp(url, "tcp://", 6) == 0) {
        char host[256];
        uint16_t port = 0;
        if (tcp_parse_hostport(url + 6, 0, host, sizeof host, &port, err, errlen) < 0)
            return -EINVAL;
        if (port == 0) {
            snprintf(err, errlen, "%s: a port number is required (tcp://HOST:PORT)", url);
            return -EINVAL;
        }
        struct tcp_addr addr;
        if (tcp_resolve(host, port, &addr, err, errlen) < 0)
            return -EHOSTUNREACH;
        int rc = tcp_connect_start(x, &addr);
        if (rc < 0) {
            snprintf(err, errlen, "%s: %s", url, strerror(-rc));
            return rc;
        }
        return 0;
    }
    if (strstr(url, "://")) {
        snprintf(err, errlen, "%s: unknown scheme (use a device path or tcp://HOST:PORT)", url);
        return -EINVAL;
    }
    return xport_serial_open(x, loop, url, o, err, errlen);
}

int xport_serial_set_baud(struct xport *x, unsigned baud)
{
    if (!xport_is_serial(x))
        return -ENOTSUP;
    if (xport_tty_speed(baud) == 0)
        return -EINVAL;
    struct serial_impl *s = x->impl;
    int rc;
    if (s->sp) {
        enum sp_return r = sp_set_baudrate(s->sp, (int)baud);
        rc = r == SP_OK ? 0 : sp_err(r);
    } else {
        rc = xport_tty_set_baud(x->fd, baud);
    }
    if (rc == 0) {
        s->baud = baud;
        char *p = strstr(x->desc, " 8N1");
        /* keep the description current: "<how> <path> <baud> 8N1 ..." */
        if (p) {
            char *q = p;
            while (q > x->desc && q[-1] != ' ')
                q--;
            char tail[96];
            snprintf(tail, sizeof tail, "%s", p);
            snprintf(q, sizeof x->desc - (size_t)(q - x->desc), "%u%s", baud, tail);
        }
    }
    return rc;
}

unsigned xport_serial_baud(const struct xport *x)
{
    if (!xport_is_serial(x))
        return DEFAULT_BAUD;
    return ((const struct serial_impl *)x->impl)->baud;
}

bool xport_serial_transmitting(const struct xport *x)
{
    if (!xport_is_serial(x))
        return false;
    return ((const struct serial_impl *)x->impl)->tx_on;
}
