#include "core/tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RX_DEFAULT_LIMIT (64u * 1024u)

/* ---- the transport ---- */

static int tcp_finish_open(struct xport *x)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    if (err != 0)
        return -err;
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    if (getpeername(x->fd, (struct sockaddr *)&peer, &plen) < 0)
        return errno == ENOTCONN ? -EINPROGRESS : -errno;
    return 0;
}

static const struct xport_ops tcp_ops = {
    .read = xport_fd_read, /* read(2) on a socket is recv(2) without flags */
    .write = xport_sock_write,
    .finish_open = tcp_finish_open,
    .close = xport_fd_close,
};

static void set_nodelay(int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        snprintf(buf, len, "%s:%u", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        snprintf(buf, len, "[%s]:%u", host, port);
    } else {
        snprintf(buf, len, "?");
    }
}

/* ---- addresses ---- */

int tcp_parse_hostport(const char *s, uint16_t default_port, char *host, size_t hostlen, uint16_t *port,
                       char *err, size_t errlen)
{
    if (!s || !*s) {
        snprintf(err, errlen, "empty address");
        return -1;
    }
    const char *h = s, *colon = NULL;
    size_t hl;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close) {
            snprintf(err, errlen, "'%s': missing ']'", s);
            return -1;
        }
        h = s + 1;
        hl = (size_t)(close - h);
        if (close[1] == ':')
            colon = close + 1;
        else if (close[1] != '\0') {
            snprintf(err, errlen, "'%s': junk after ']'", s);
            return -1;
        }
    } else {
        colon = strchr(s, ':');
        if (colon && strchr(colon + 1, ':')) { /* bare IPv6 without port */
            colon = NULL;
            hl = strlen(s);
        } else {
            hl = colon ? (size_t)(colon - s) : strlen(s);
        }
    }
    if (hl == 0 || hl >= hostlen) {
        snprintf(err, errlen, "'%s': bad host", s);
        return -1;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = default_port;
    if (colon) {
        char *end = NULL;
        errno = 0;
        unsigned long p = strtoul(colon + 1, &end, 10);
        if (colon[1] == '\0' || *end != '\0' || errno || p == 0 || p > 65535) {
            snprintf(err, errlen, "'%s': bad port", s);
            return -1;
        }
        *port = (uint16_t)p;
    }
    return 0;
}

int tcp_resolve(const char *host, uint16_t port, struct tcp_addr *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc == EAI_NONAME) {
        hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
        rc = getaddrinfo(host, service, &hints, &res);
    }
    if (rc != 0 || !res) {
        snprintf(err, errlen, "cannot resolve '%s': %s", host, rc ? gai_strerror(rc) : "no address");
        if (res)
            freeaddrinfo(res);
        return -1;
    }
    if (res->ai_addrlen > sizeof out->ss) {
        freeaddrinfo(res);
        snprintf(err, errlen, "cannot resolve '%s': address too long", host);
        return -1;
    }
    memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
    out->len = (socklen_t)res->ai_addrlen;
    freeaddrinfo(res);
    addr_text((const struct sockaddr *)&out->ss, out->text, sizeof out->text);
    return 0;
}

int tcp_connect_start(struct xport *x, const struct tcp_addr *addr)
{
    x->fd = -1;
    x->ops = NULL;
    int fd = xport_fd_off_std(socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd < 0)
        return fd == -1 ? -errno : fd;
    set_nodelay(fd);
    if (connect(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 && errno != EINPROGRESS &&
        errno != EINTR) {
        int e = errno;
        close(fd);
        return -e;
    }
    xport_init(x, &tcp_ops, fd, NULL, "tcp %s", addr->text);
    return 0;
}

/* ---- listening ---- */

int tcp_listen_loopback(uint16_t port, int backlog, uint16_t *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(fd, backlog > 0 ? backlog : 128) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (bound) {
        socklen_t len = sizeof sin;
        if (getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        *bound = ntohs(sin.sin_port);
    }
    return fd;
}

int tcp_accept(int listen_fd, struct xport *x)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    for (;;) {
        int fd = accept4(listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0 && (fd = xport_fd_off_std(fd)) < 0)
            return fd;
        if (fd >= 0) {
            set_nodelay(fd);
            char text[64];
            addr_text((const struct sockaddr *)&ss, text, sizeof text);
            xport_init(x, &tcp_ops, fd, NULL, "tcp %s", text);
            return 1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)
            return 0;
        return -errno;
    }
}

/* ---- receive buffer ---- */

void tcp_rx_init(struct tcp_rxbuf *b, size_t limit)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->limit = limit ? limit : RX_DEFAULT_LIMIT;
}

void tcp_rx_free(struct tcp_rxbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int rx_reserve(struct tcp_rxbuf *b, size_t need)
{
    if (need > b->limit)
        return -EMSGSIZE;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 512;
    while (cap < need)
        cap *= 2;
    if (cap > b->limit)
        cap = b->limit;
    unsigned char *p = realloc(b->data, cap);
    if (!p)
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

ssize_t tcp_rx_drain(struct xport *x, struct tcp_rxbuf *b)
{
    size_t added = 0;
    for (;;) {
        if (b->len == b->limit)
            return (ssize_t)added;
        int rc = rx_reserve(b, b->len + 512 <= b->limit ? b->len + 512 : b->limit);
        if (rc < 0)
            return rc;
        ssize_t n = xport_read(x, b->data + b->len, b->cap - b->len);
        if (n < 0)
            return added ? (ssize_t)added : n; /* report the data first; the error comes on the next call */
        if (n == 0)
            return (ssize_t)added;
        b->len += (size_t)n;
        added += (size_t)n;
    }
}

int tcp_rx_fill(struct xport *x, struct tcp_rxbuf *b, size_t want)
{
    if (b->len >= want)
        return 1;
    int rc = rx_reserve(b, want);
    if (rc < 0)
        return rc;
    while (b->len < want) {
        ssize_t n = xport_read(x, b->data + b->len, b->cap - b->len);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return 0;
        b->len += (size_t)n;
    }
    return 1;
}

void tcp_rx_consume(struct tcp_rxbuf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}
