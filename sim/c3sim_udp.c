/* c3sim_udp: the UDP side of the C3 simulator: search answers and IP changes (spec §3.9), on loopback only. */
#include "sim/c3sim_udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/c3/c3_discover.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_params.h"
#include "sim/c3sim_params.h"

struct c3sim_udp {
    loop_t *loop;
    struct c3sim_server *srv;
    int fd;
};

static void udp_send(struct c3sim_udp *u, const struct sockaddr_in *to, uint8_t address, uint8_t code,
                     const void *payload, size_t len)
{
    uint8_t frame[1024];
    struct c3_frame_hdr h = { .address = address, .command = code };
    int n = c3_frame_encode(frame, sizeof frame, &h, payload, len);
    if (n > 0)
        (void)sendto(u->fd, frame, (size_t)n, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof *to);
}

/* The search answer of one panel: the published firmware sends MAC, IP, SN, Device, Ver; newer firmware
 * also NetMask and GATEIPAddress (the order the vendor's Qt client parses). */
static int discovery_text(const struct c3sim_panel *p, char *out, size_t cap)
{
    char mac[18];
    c3sim_panel_mac(p, mac);
    const char *ip = c3sim_params_value(p, "IPAddress"), *mask = c3sim_params_value(p, "NetMask");
    const char *gw = c3sim_params_value(p, "GATEIPAddress"), *sn = c3sim_params_value(p, "~SerialNumber");
    const char *dev = c3sim_params_value(p, "~DeviceName"), *ver = c3sim_params_value(p, "FirmVer");
    if (p->dialect == C3SIM_DIALECT_SESSIONLESS)
        return snprintf(out, cap, "MAC=%s,IP=%s,SN=%s,Device=%s,Ver=%s", mac, ip ? ip : "", sn ? sn : "",
                        dev ? dev : "", ver ? ver : "");
    return snprintf(out, cap, "MAC=%s,IP=%s,NetMask=%s,GATEIPAddress=%s,SN=%s,Device=%s,Ver=%s", mac, ip ? ip : "",
                    mask ? mask : "", gw ? gw : "", sn ? sn : "", dev ? dev : "", ver ? ver : "");
}

/* IP change: only the panel whose MAC matches acts; one with a communication password longer than 7
 * characters refuses (-14). Only the parameters change (the simulator keeps listening on loopback). */
static void modify_ip(struct c3sim_udp *u, const struct sockaddr_in *from, const uint8_t *p, size_t len)
{
    struct c3_param_span items[8];
    int n = c3_params_parse((const char *)p, len, items, 8);
    if (n <= 0)
        return;
    const struct c3_param_span *mac = c3_params_find(items, (size_t)n, "MAC");
    char want[32];
    if (!mac || c3_params_value_str(mac, want, sizeof want) < 0)
        return;
    for (unsigned i = 0; i < c3sim_server_panels(u->srv); i++) {
        struct c3sim_panel *pn = c3sim_server_panel(u->srv, i);
        char m[18];
        c3sim_panel_mac(pn, m);
        if (!pn->up || strcasecmp(m, want) != 0)
            continue;
        uint8_t addr = c3sim_params_device_id(pn);
        const char *pw = c3sim_params_value(pn, "ComPwd");
        int8_t e;
        if (pw && strlen(pw) > 7) {
            e = -14;
            udp_send(u, from, addr, C3_REPLY_ERROR, &e, 1);
            continue;
        }
        char set[256];
        size_t o = 0;
        static const char *const keys[] = { "IPAddress", "NetMask", "GATEIPAddress" };
        bool ok = true;
        for (size_t k = 0; k < 3; k++) {
            const struct c3_param_span *v = c3_params_find(items, (size_t)n, keys[k]);
            char val[32];
            struct in_addr a;
            if (!v)
                continue;
            if (c3_params_value_str(v, val, sizeof val) < 0 || inet_pton(AF_INET, val, &a) != 1) {
                ok = false;
                break;
            }
            o += (size_t)snprintf(set + o, sizeof set - o, "%s%s=%s", o ? "," : "", keys[k], val);
        }
        if (!ok || o == 0 || c3sim_params_set(pn, set, o) < 0) {
            e = -11;
            udp_send(u, from, addr, C3_REPLY_ERROR, &e, 1);
            continue;
        }
        udp_send(u, from, addr, C3_REPLY_OK, NULL, 0);
    }
}

static void udp_cb(loop_t *loop, int fd, unsigned events, void *arg)
{
    struct c3sim_udp *u = arg;
    for (int i = 0; i < 64; i++) {
        struct c3_datagram dg;
        int got = c3_discover_recv(fd, &dg);
        if (got < 0)
            return;
        if (got == 0)
            continue; /* noise: no answer */
        const struct c3_frame f = dg.frame;
        const struct sockaddr_in from = dg.from;
        if (f.command == C3_CMD_MODIFY_IP) {
            modify_ip(u, &from, f.data, f.data_len);
            continue;
        }
        size_t pl = f.data_len;
        while (pl > 0 && f.data[pl - 1] == 0)
            pl--;
        if (f.command != C3_CMD_DISCOVER || pl != strlen(C3_DISCOVER_PAYLOAD) ||
            memcmp(f.data, C3_DISCOVER_PAYLOAD, pl) != 0)
            continue;
        for (unsigned k = 0; k < c3sim_server_panels(u->srv); k++) {
            const struct c3sim_panel *p = c3sim_server_panel(u->srv, k);
            char text[512];
            int tl = discovery_text(p, text, sizeof text);
            if (p->up && tl > 0 && (size_t)tl < sizeof text)
                udp_send(u, &from, c3sim_params_device_id(p), C3_REPLY_OK, text, (size_t)tl);
        }
    }
}

struct c3sim_udp *c3sim_udp_new(loop_t *loop, struct c3sim_server *srv, uint16_t port, char *err, size_t errlen)
{
    struct c3sim_udp *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    u->loop = loop;
    u->srv = srv;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "udp socket: %s", strerror(errno));
        free(u);
        return NULL;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || loop_add_fd(loop, fd, LOOP_READ, udp_cb, u) < 0) {
        snprintf(err, errlen, "udp 127.0.0.1:%u: %s", port, strerror(errno));
        close(fd);
        free(u);
        return NULL;
    }
    u->fd = fd;
    return u;
}

void c3sim_udp_free(struct c3sim_udp *u)
{
    if (!u)
        return;
    loop_del_fd(u->loop, u->fd);
    close(u->fd);
    free(u);
}
