#include "drivers/c3/c3_discover.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/c3/c3_frame.h"

#define FOUND_MAX 1024u

struct c3_discover {
    loop_t *loop;
    int fd;
    bool setip, done;
    char want_mac[32];
    c3_found_fn found;
    c3_discover_done_fn cb;
    void *arg;
    loop_timer_t deadline;
    char (*macs)[18];
    size_t nfound;
};

int c3_discover_target(struct c3_discover_opts *o, const char *ifname, char *err, size_t errlen)
{
    o->to = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(C3_UDP_DISCOVERY_PORT),
                                  .sin_addr.s_addr = htonl(INADDR_BROADCAST) };
    o->from.s_addr = htonl(INADDR_ANY);
    if (!ifname)
        return 0;
    struct ifaddrs *list, *a;
    if (getifaddrs(&list) < 0) {
        snprintf(err, errlen, "cannot list the network interfaces: %s", strerror(errno));
        return -1;
    }
    bool seen = false;
    int rc = -1;
    for (a = list; a; a = a->ifa_next) {
        if (strcmp(a->ifa_name, ifname) != 0)
            continue;
        seen = true;
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET)
            continue;
        o->from = ((struct sockaddr_in *)a->ifa_addr)->sin_addr;
        if ((a->ifa_flags & IFF_BROADCAST) && a->ifa_broadaddr)
            o->to.sin_addr = ((struct sockaddr_in *)a->ifa_broadaddr)->sin_addr;
        else
            o->to.sin_addr = o->from; /* loopback: the interface's own address */
        rc = 0;
        break;
    }
    freeifaddrs(list);
    if (rc < 0)
        snprintf(err, errlen, seen ? "interface %s has no IPv4 address" : "no interface %s", ifname);
    return rc;
}

static void finish(struct c3_discover *d, int err)
{
    if (d->done)
        return;
    d->done = true;
    loop_timer_disarm(d->loop, &d->deadline);
    if (d->fd >= 0) {
        loop_del_fd(d->loop, d->fd);
        close(d->fd);
        d->fd = -1;
    }
    if (d->cb)
        d->cb(d->arg, err, d->nfound);
}

static void on_deadline(loop_t *loop, void *arg)
{
    (void)loop;
    struct c3_discover *d = arg;
    finish(d, d->setip ? -ETIMEDOUT : 0);
}

int c3_discover_recv(int fd, struct c3_datagram *dg)
{
    socklen_t fl = sizeof dg->from;
    ssize_t n = recvfrom(fd, dg->buf, sizeof dg->buf, MSG_DONTWAIT, (struct sockaddr *)&dg->from, &fl);
    if (n < 0)
        return -1;
    return c3_frame_parse(dg->buf, (size_t)n, &dg->frame) < 0 ? 0 : 1;
}

static void on_datagram(loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)events;
    struct c3_discover *d = arg;
    for (int i = 0; i < 64 && !d->done; i++) {
        struct c3_datagram dg;
        int got = c3_discover_recv(fd, &dg);
        if (got < 0)
            return;
        struct c3_reply r;
        if (got == 0 || c3_reply_parse(&dg.frame, false, &r) < 0)
            continue; /* noise, or our own broadcast coming back */
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &dg.from.sin_addr, ip, sizeof ip);
        if (d->setip) {
            /* Only the panel with that MAC answers; any answer is its verdict. */
            finish(d, r.code == C3_REPLY_OK ? 0 : r.error ? r.error : -99);
            return;
        }
        struct c3_discovery dv;
        if (r.code != C3_REPLY_OK || c3_discovery_parse((const char *)r.payload, r.payload_len, &dv) < 0)
            continue;
        bool dup = false;
        for (size_t k = 0; k < d->nfound && !dup; k++)
            dup = strcasecmp(d->macs[k], dv.mac) == 0;
        if (dup || d->nfound >= FOUND_MAX)
            continue;
        snprintf(d->macs[d->nfound++], 18, "%s", dv.mac);
        if (d->found)
            d->found(d->arg, &dv, ip);
    }
}

static struct c3_discover *start(loop_t *loop, const struct c3_discover_opts *o, const void *payload, size_t len,
                                 uint8_t cmd, char *err, size_t errlen)
{
    struct c3_discover *d = calloc(1, sizeof *d);
    if (!d || !(d->macs = calloc(FOUND_MAX, sizeof *d->macs))) {
        free(d);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->loop = loop;
    d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in me = { .sin_family = AF_INET, .sin_addr = o->from };
    if (d->fd < 0 || setsockopt(d->fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0 ||
        bind(d->fd, (struct sockaddr *)&me, sizeof me) < 0) {
        snprintf(err, errlen, "UDP socket: %s", strerror(errno));
        goto fail;
    }
    uint8_t frame[512];
    struct c3_frame_hdr h = { .address = C3_ADDRESS_DEFAULT, .command = cmd };
    int n = c3_frame_encode(frame, sizeof frame, &h, payload, len);
    if (n < 0) {
        snprintf(err, errlen, "the request does not fit a frame");
        goto fail;
    }
    if (loop_add_fd(loop, d->fd, LOOP_READ, on_datagram, d) < 0) {
        snprintf(err, errlen, "cannot watch the UDP socket");
        goto fail;
    }
    if (sendto(d->fd, frame, (size_t)n, 0, (const struct sockaddr *)&o->to, sizeof o->to) < 0) {
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &o->to.sin_addr, a, sizeof a);
        snprintf(err, errlen, "sending to %s:%u: %s", a, ntohs(o->to.sin_port), strerror(errno));
        loop_del_fd(loop, d->fd);
        goto fail;
    }
    loop_timer_init(&d->deadline, on_deadline, d);
    loop_timer_arm_ms(loop, &d->deadline, o->timeout_ms ? o->timeout_ms : 2000);
    return d;
fail:
    if (d->fd >= 0)
        close(d->fd);
    free(d->macs);
    free(d);
    return NULL;
}

struct c3_discover *c3_discover_search(loop_t *loop, const struct c3_discover_opts *o, c3_found_fn found,
                                       c3_discover_done_fn done, void *arg, char *err, size_t errlen)
{
    struct c3_discover *d =
        start(loop, o, C3_DISCOVER_PAYLOAD, strlen(C3_DISCOVER_PAYLOAD), C3_CMD_DISCOVER, err, errlen);
    if (d) {
        d->found = found;
        d->cb = done;
        d->arg = arg;
    }
    return d;
}

static bool dotted(const char *s)
{
    struct in_addr a;
    return s && inet_pton(AF_INET, s, &a) == 1;
}

struct c3_discover *c3_discover_set_ip(loop_t *loop, const struct c3_discover_opts *o, const char *mac,
                                       const char *ip, const char *mask, const char *gateway,
                                       c3_discover_done_fn done, void *arg, char *err, size_t errlen)
{
    unsigned b[6];
    char tail;
    if (sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6 ||
        strlen(mac) != 17) {
        snprintf(err, errlen, "'%s' is not a MAC address (aa:bb:cc:dd:ee:ff)", mac);
        return NULL;
    }
    if (!dotted(ip) || (mask && !dotted(mask)) || (gateway && !dotted(gateway))) {
        snprintf(err, errlen, "addresses are dotted quads (192.168.1.201)");
        return NULL;
    }
    char text[200];
    int n = snprintf(text, sizeof text, "MAC=%s,IPAddress=%s%s%s%s%s", mac, ip, mask ? ",NetMask=" : "",
                     mask ? mask : "", gateway ? ",GATEIPAddress=" : "", gateway ? gateway : "");
    struct c3_discover *d = start(loop, o, text, (size_t)n, C3_CMD_MODIFY_IP, err, errlen);
    if (d) {
        d->setip = true;
        snprintf(d->want_mac, sizeof d->want_mac, "%s", mac);
        d->cb = done;
        d->arg = arg;
    }
    return d;
}

void c3_discover_free(struct c3_discover *d)
{
    if (!d)
        return;
    d->cb = NULL;
    finish(d, 0);
    free(d->macs);
    free(d);
}
