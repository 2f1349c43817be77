#include "sim/nix1sim_bus.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "core/grow.h"
#include "core/xport.h"

#define RX_QUEUE 16
#define TX_MIN_TICK_US 2000u   /* pacing granularity: at most one wake-up per 2 ms while sending */
#define PTY_PROBE_MS 100u      /* how often a pty without a client is checked for one */

struct rx_pending {
    char *s;
    size_t len;
    unsigned flags;
    uint64_t due_us;
};

struct nix1sim_bus {
    loop_t *loop;
    unsigned baud, pending_baud;
    nix1sim_bus_line_cb cb;
    void *arg;

    bool is_pty;
    int fd;      /* pty master, or the TCP client (-1 if none) */
    int lfd;     /* TCP listener */
    bool attached; /* pty: fd is in the loop (a client holds the slave side open) */
    loop_timer_t probe_timer;

    /* receive side */
    char line[NIX1SIM_LINE_MAX + 1];
    size_t len;
    unsigned flags;
    bool collided;
    uint64_t rx_free_us; /* modelled time the last received character finished */
    loop_timer_t ic_timer;
    struct rx_pending q[RX_QUEUE];
    size_t qhead, qcount;
    loop_timer_t deliver_timer;

    /* transmit side */
    char *tx;
    size_t txlen, txcap, txsent;
    uint64_t tx_t0; /* modelled start of tx[0] */
    const void *tx_owner;
    loop_timer_t tx_timer;

    struct nix1sim_bus_stats st;

    unsigned tcp_port;   /* the TCP port listened on (for a replug) */
    bool unplugged;
    char pty[128];       /* the pty's slave path */
    char *link;          /* nix1sim_bus_set_link */
    char where[160];
};

uint64_t nix1sim_bus_char_us(const struct nix1sim_bus *bus) { return 10000000u / bus->baud; }
unsigned nix1sim_bus_baud(const struct nix1sim_bus *bus) { return bus->baud; }
void nix1sim_bus_stats(const struct nix1sim_bus *bus, struct nix1sim_bus_stats *out) { *out = bus->st; }

static uint64_t tx_end_us(const struct nix1sim_bus *bus) { return bus->tx_t0 + bus->txlen * nix1sim_bus_char_us(bus); }

bool nix1sim_bus_busy(const struct nix1sim_bus *bus)
{
    uint64_t now = loop_now_us(bus->loop);
    return bus->txsent < bus->txlen || tx_end_us(bus) > now || bus->len > 0 || bus->rx_free_us > now;
}

/* ---- receive ---- */

static void deliver_cb(loop_t *loop, void *arg)
{
    struct nix1sim_bus *bus = arg;
    uint64_t now = loop_now_us(loop);
    while (bus->qcount > 0 && bus->q[bus->qhead].due_us <= now) {
        struct rx_pending p = bus->q[bus->qhead];
        bus->qhead = (bus->qhead + 1) % RX_QUEUE;
        bus->qcount--;
        bus->st.rx_lines++;
        bus->cb(bus->arg, p.s, p.len, p.flags);
        free(p.s);
    }
    if (bus->qcount > 0)
        loop_timer_arm_at(loop, &bus->deliver_timer, bus->q[bus->qhead].due_us);
}

static void reset_line(struct nix1sim_bus *bus)
{
    bus->len = 0;
    bus->flags = 0;
    bus->collided = false;
}

static void ic_timeout_cb(loop_t *loop, void *arg)
{
    (void)loop;
    struct nix1sim_bus *bus = arg;
    if (bus->len > 0 || bus->flags)
        bus->st.rx_dropped_timeout++;
    reset_line(bus);
}

static void finish_line(struct nix1sim_bus *bus, uint64_t t)
{
    size_t n = bus->len;
    if (n > 0 && bus->line[n - 1] == '\r' && !(bus->flags & NIX1SIM_LINE_OVERFLOW))
        n--;
    if (bus->collided) {
        bus->st.rx_collisions++;
    } else if (bus->qcount < RX_QUEUE) {
        char *s = malloc(n + 1);
        if (s) {
            memcpy(s, bus->line, n);
            s[n] = '\0';
            size_t slot = (bus->qhead + bus->qcount) % RX_QUEUE;
            bus->q[slot] = (struct rx_pending){ .s = s, .len = n, .flags = bus->flags, .due_us = t };
            if (bus->qcount++ == 0)
                loop_timer_arm_at(bus->loop, &bus->deliver_timer, t);
        }
    }
    reset_line(bus);
}

static void rx_bytes(struct nix1sim_bus *bus, const unsigned char *b, size_t n)
{
    uint64_t now = loop_now_us(bus->loop), cu = nix1sim_bus_char_us(bus);
    uint64_t t = bus->rx_free_us;
    for (size_t i = 0; i < n; i++) {
        t = (t > now ? t : now) + cu;
        /* Half duplex: a character sent while a slave is still transmitting collides with it. */
        if (bus->txlen > 0 && t > bus->tx_t0 && t - cu < tx_end_us(bus))
            bus->collided = true;
        unsigned char c = b[i];
        if (c == '\n') {
            finish_line(bus, t);
            continue;
        }
        if (!((c >= 0x20 && c <= 0x7E) || c == '\t' || c == '\r'))
            bus->flags |= NIX1SIM_LINE_BADBYTE;
        if (bus->len < NIX1SIM_LINE_MAX)
            bus->line[bus->len++] = (char)c;
        else
            bus->flags |= NIX1SIM_LINE_OVERFLOW;
    }
    bus->rx_free_us = t;
    if (bus->len > 0 || bus->flags)
        loop_timer_arm_at(bus->loop, &bus->ic_timer, t + NIX1SIM_INTERCHAR_US);
    else
        loop_timer_disarm(bus->loop, &bus->ic_timer);
}

/* ---- pty attach/detach ---- */

static void set_raw(int fd)
{
    struct termios tio;
    if (tcgetattr(fd, &tio) == 0) {
        cfmakeraw(&tio);
        tio.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
        tio.c_cc[VMIN] = 1;
        tio.c_cc[VTIME] = 0;
        tcsetattr(fd, TCSANOW, &tio);
    }
}

static void io_cb(loop_t *loop, int fd, unsigned events, void *arg);

static void detach(struct nix1sim_bus *bus)
{
    if (bus->is_pty) {
        if (bus->attached)
            loop_del_fd(bus->loop, bus->fd);
        bus->attached = false;
        loop_timer_arm_ms(bus->loop, &bus->probe_timer, PTY_PROBE_MS);
    } else if (bus->fd >= 0) {
        loop_del_fd(bus->loop, bus->fd);
        close(bus->fd);
        bus->fd = -1;
    }
    reset_line(bus);
}

static void probe_cb(loop_t *loop, void *arg)
{
    struct nix1sim_bus *bus = arg;
    struct pollfd p = { .fd = bus->fd, .events = POLLIN };
    if (poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP)) {
        set_raw(bus->fd);
        if (loop_add_fd(loop, bus->fd, LOOP_READ, io_cb, bus) == 0) {
            bus->attached = true;
            return;
        }
    }
    loop_timer_arm_ms(loop, &bus->probe_timer, PTY_PROBE_MS);
}

static void io_cb(loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    struct nix1sim_bus *bus = arg;
    unsigned char buf[512];
    for (;;) {
        ssize_t r = xport_io_read(fd, buf, sizeof buf);
        if (r > 0) {
            rx_bytes(bus, buf, (size_t)r);
            if ((size_t)r < sizeof buf)
                break;
            continue;
        }
        if (r == 0) {
            if (events & LOOP_ERROR)
                detach(bus);
            return;
        }
        detach(bus); /* EOF, EIO (pty client gone) or a socket error */
        return;
    }
}

/* ---- transmit ---- */

static void apply_pending_baud(struct nix1sim_bus *bus)
{
    if (bus->pending_baud && !(bus->txsent < bus->txlen)) {
        bus->baud = bus->pending_baud;
        bus->pending_baud = 0;
        bus->txlen = bus->txsent = 0;
    }
}

static void out_write(struct nix1sim_bus *bus, const char *p, size_t n)
{
    bool live = bus->fd >= 0 && (!bus->is_pty || bus->attached);
    while (live && n > 0) {
        ssize_t w = xport_io_write(bus->fd, p, n, false);
        if (w <= 0)
            break; /* the wire does not wait: a full buffer loses characters */
        p += w;
        n -= (size_t)w;
        bus->st.tx_bytes += (size_t)w;
    }
    bus->st.tx_dropped += n;
}

/* A line leaves whole, when its last character is on the wire (a transmission's tail without a line end, when
 * it ends). A slave's UART never pauses inside a line, but this process can be descheduled for longer than the
 * master's 50 ms inter-character timeout: written character by character, a line could then reach the master
 * in two parts, the first dropped as garbled and the master's retry colliding with the rest. */
static void tx_cb(loop_t *loop, void *arg)
{
    struct nix1sim_bus *bus = arg;
    uint64_t now = loop_now_us(loop), cu = nix1sim_bus_char_us(bus);
    size_t due = now > bus->tx_t0 ? (size_t)((now - bus->tx_t0) / cu) : 0;
    if (due > bus->txlen)
        due = bus->txlen;
    size_t upto = due;
    if (due < bus->txlen)
        while (upto > bus->txsent && bus->tx[upto - 1] != '\n')
            upto--;
    if (upto > bus->txsent) {
        out_write(bus, bus->tx + bus->txsent, upto - bus->txsent);
        bus->txsent = upto;
    }
    if (bus->txsent < bus->txlen) {
        size_t end = due; /* the next line's end on the wire, or the transmission's */
        while (end < bus->txlen && bus->tx[end] != '\n')
            end++;
        uint64_t next = bus->tx_t0 + (end < bus->txlen ? end + 1 : end) * cu;
        if (next < now + TX_MIN_TICK_US)
            next = now + TX_MIN_TICK_US;
        loop_timer_arm_at(loop, &bus->tx_timer, next);
    } else {
        apply_pending_baud(bus);
    }
}

void nix1sim_bus_transmit(struct nix1sim_bus *bus, const void *owner, const char *data, size_t len)
{
    if (len == 0)
        return;
    uint64_t now = loop_now_us(bus->loop), cu = nix1sim_bus_char_us(bus);
    bool active = bus->txsent < bus->txlen;
    size_t at;
    if (!active) {
        bus->txlen = bus->txsent = 0;
        bus->tx_t0 = now > bus->rx_free_us ? now : bus->rx_free_us;
        bus->tx_owner = owner;
        at = 0;
    } else if (owner == bus->tx_owner) {
        at = bus->txlen;
    } else {
        /* Two drivers on the line: from the character on the wire now, both transmissions overlap. */
        size_t cur = now > bus->tx_t0 ? (size_t)((now - bus->tx_t0) / cu) : 0;
        at = cur > bus->txsent ? cur : bus->txsent;
        if (at > bus->txlen)
            at = bus->txlen;
        bus->st.tx_collisions++;
    }
    size_t need = at + len;
    char *nb = grow_to(bus->tx, need, &bus->txcap, 1, 256);
    if (!nb)
        return;
    bus->tx = nb;
    for (size_t i = 0; i < len; i++) {
        size_t k = at + i;
        if (k < bus->txlen) {
            unsigned char a = (unsigned char)bus->tx[k], b = (unsigned char)data[i];
            /* Where both drivers send the same bits the level is clean; elsewhere the character is
             * garbage (always outside ASCII here, so no collision can forge a plausible line). */
            bus->tx[k] = a == b ? (char)a : (char)((a ^ b) | 0x80);
        } else {
            bus->tx[k] = data[i];
        }
    }
    if (need > bus->txlen)
        bus->txlen = need;
    if (!loop_timer_armed(&bus->tx_timer))
        loop_timer_arm_at(bus->loop, &bus->tx_timer, bus->tx_t0 + (bus->txsent + 1) * cu);
}

void nix1sim_bus_set_baud_after_drain(struct nix1sim_bus *bus, unsigned baud)
{
    bus->pending_baud = baud;
    apply_pending_baud(bus);
}

/* ---- setup ---- */

struct nix1sim_bus *nix1sim_bus_new(loop_t *loop, unsigned baud, nix1sim_bus_line_cb cb, void *arg)
{
    struct nix1sim_bus *bus = calloc(1, sizeof *bus);
    if (!bus)
        return NULL;
    bus->loop = loop;
    bus->baud = baud ? baud : 9600;
    bus->cb = cb;
    bus->arg = arg;
    bus->fd = bus->lfd = -1;
    loop_timer_init(&bus->probe_timer, probe_cb, bus);
    loop_timer_init(&bus->ic_timer, ic_timeout_cb, bus);
    loop_timer_init(&bus->deliver_timer, deliver_cb, bus);
    loop_timer_init(&bus->tx_timer, tx_cb, bus);
    return bus;
}

void nix1sim_bus_free(struct nix1sim_bus *bus)
{
    if (!bus)
        return;
    loop_timer_disarm(bus->loop, &bus->probe_timer);
    loop_timer_disarm(bus->loop, &bus->ic_timer);
    loop_timer_disarm(bus->loop, &bus->deliver_timer);
    loop_timer_disarm(bus->loop, &bus->tx_timer);
    if (bus->fd >= 0) {
        loop_del_fd(bus->loop, bus->fd);
        close(bus->fd);
    }
    if (bus->lfd >= 0) {
        loop_del_fd(bus->loop, bus->lfd);
        close(bus->lfd);
    }
    for (size_t i = 0; i < bus->qcount; i++)
        free(bus->q[(bus->qhead + i) % RX_QUEUE].s);
    if (bus->link)
        unlink(bus->link);
    free(bus->link);
    free(bus->tx);
    free(bus);
}

int nix1sim_bus_open_pty(struct nix1sim_bus *bus, char *path, size_t pathlen)
{
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (grantpt(fd) < 0 || unlockpt(fd) < 0 || ptsname_r(fd, path, pathlen) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    set_raw(fd);
    bus->is_pty = true;
    bus->fd = fd;
    snprintf(bus->pty, sizeof bus->pty, "%s", path);
    /* Not attached until a client opens the slave side (before that the master reports a hang-up). */
    probe_cb(bus->loop, bus);
    return 0;
}

static void accept_cb(loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)events;
    struct nix1sim_bus *bus = arg;
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0)
        return;
    if (bus->fd >= 0) {
        loop_del_fd(loop, bus->fd);
        close(bus->fd);
    }
    /* Paced output goes out a few characters at a time: do not let Nagle hold them back. */
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    bus->fd = c;
    reset_line(bus);
    if (loop_add_fd(loop, c, LOOP_READ, io_cb, bus) < 0) {
        close(c);
        bus->fd = -1;
    }
}

int nix1sim_bus_listen_tcp(struct nix1sim_bus *bus, unsigned port, unsigned *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0 || loop_add_fd(bus->loop, fd, LOOP_READ, accept_cb, bus) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    bus->lfd = fd;
    bus->tcp_port = ntohs(sa.sin_port);
    if (bound)
        *bound = bus->tcp_port;
    return 0;
}

static int point_link(struct nix1sim_bus *bus)
{
    if (!bus->link || !bus->pty[0])
        return 0;
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.new", bus->link);
    unlink(tmp);
    if (symlink(bus->pty, tmp) < 0)
        return -1;
    return rename(tmp, bus->link); /* atomic: the link always names some pty */
}

int nix1sim_bus_set_link(struct nix1sim_bus *bus, const char *link)
{
    free(bus->link);
    bus->link = link ? strdup(link) : NULL;
    if (link && !bus->link)
        return -1;
    return point_link(bus);
}

static void close_fd(struct nix1sim_bus *bus, int *fd)
{
    if (*fd < 0)
        return;
    if (*fd != bus->fd || !bus->is_pty || bus->attached)
        loop_del_fd(bus->loop, *fd);
    close(*fd);
    *fd = -1;
}

int nix1sim_bus_unplug(struct nix1sim_bus *bus, bool out)
{
    if (out == bus->unplugged)
        return 0;
    if (out) {
        loop_timer_disarm(bus->loop, &bus->probe_timer);
        close_fd(bus, &bus->fd);
        close_fd(bus, &bus->lfd);
        /* the device's path goes with it, as an unplugged adapter's does: left in place it would name the freed
         * pty number, which the next pty opened anywhere (another simulator, a terminal) gets */
        if (bus->link)
            unlink(bus->link);
        bus->attached = false;
        reset_line(bus);
        bus->unplugged = true;
        return 0;
    }
    int rc;
    if (bus->is_pty) {
        char path[128];
        rc = nix1sim_bus_open_pty(bus, path, sizeof path);
        if (rc == 0)
            rc = point_link(bus);
    } else {
        rc = nix1sim_bus_listen_tcp(bus, bus->tcp_port, NULL);
    }
    if (rc == 0)
        bus->unplugged = false;
    return rc;
}

bool nix1sim_bus_unplugged(const struct nix1sim_bus *bus) { return bus->unplugged; }

const char *nix1sim_bus_where(const struct nix1sim_bus *bus)
{
    struct nix1sim_bus *b = (struct nix1sim_bus *)bus;
    if (!bus->is_pty)
        snprintf(b->where, sizeof b->where, "tcp 127.0.0.1:%u", bus->tcp_port);
    else
        snprintf(b->where, sizeof b->where, "%s", bus->link ? bus->link : bus->pty);
    return b->where;
}
