/* ctl_c3_discover: `portierctl c3 discover` (the UDP search, every panel that answers) and `c3 discover set-ip MAC
 * IP/MASK GATEWAY` (the IP change the panel with that MAC acts on); no HOST. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/ctl.h"
#include "cli/ctl_c3.h"
#include "core/loop.h"
#include "core/tcp.h"
#include "drivers/c3/c3_discover.h"
#include "drivers/c3/c3_frame.h"

const int ctl_c3_discover_search = 0, ctl_c3_discover_setip = 1;

struct dctx {
    const struct ctl_call *call;
    loop_t *loop;
    int err;
    size_t found;
    bool done;
};

static void on_found(void *arg, const struct c3_discovery *d, const char *from_ip)
{
    struct dctx *c = arg;
    if (c->call->g.json) {
        json_t *o = json_object();
        json_object_set_new(o, "mac", json_string(d->mac));
        json_object_set_new(o, "ip", json_string(d->ip));
        json_object_set_new(o, "netmask", json_string(d->netmask));
        json_object_set_new(o, "gateway", json_string(d->gateway));
        json_object_set_new(o, "serial", json_string(d->serial));
        json_object_set_new(o, "model", json_string(d->device));
        json_object_set_new(o, "firmware", json_string(d->version));
        json_object_set_new(o, "answered_from", json_string(from_ip));
        ctl_print_json(o);
    } else {
        if (c->found == 0)
            printf("%-17s  %-15s  %-15s  %-15s  %-22s  %-8s  %s\n", "MAC", "IP", "netmask", "gateway", "serial",
                   "model", "firmware");
        printf("%-17s  %-15s  %-15s  %-15s  %-22s  %-8s  %s\n", d->mac, d->ip, d->netmask[0] ? d->netmask : "-",
               d->gateway[0] ? d->gateway : "-", d->serial, d->device, d->version);
    }
    fflush(stdout);
    c->found++;
}

static void on_done(void *arg, int err, size_t found)
{
    struct dctx *c = arg;
    c->err = err;
    c->found = found;
    c->done = true;
    loop_stop(c->loop);
}

/* IP/MASK: a prefix length (/24) or a dotted mask (/255.255.255.0). */
static int split_address(const char *s, char *ip, size_t iplen, char *mask, size_t masklen)
{
    const char *slash = strchr(s, '/');
    if (!slash || (size_t)(slash - s) >= iplen)
        return -1;
    snprintf(ip, iplen, "%.*s", (int)(slash - s), s);
    struct in_addr a;
    if (inet_pton(AF_INET, ip, &a) != 1)
        return -1;
    const char *m = slash + 1;
    if (inet_pton(AF_INET, m, &a) == 1) {
        snprintf(mask, masklen, "%s", m);
        return 0;
    }
    char *end;
    long bits = strtol(m, &end, 10);
    if (end == m || *end || bits < 0 || bits > 32)
        return -1;
    a.s_addr = htonl(bits ? 0xFFFFFFFFu << (32 - bits) : 0);
    inet_ntop(AF_INET, &a, mask, (socklen_t)masklen);
    return 0;
}

int ctl_c3_discover_run(struct ctl_call *call)
{
    bool setip = *(const int *)call->verb->data == ctl_c3_discover_setip;
    struct c3_discover_opts o = { .timeout_ms = ctl_timeout(&call->g, 2000) };
    char err[256];
    if (c3_discover_target(&o, ctl_str(call, "interface", NULL), err, sizeof err) < 0) {
        fprintf(stderr, "portierctl c3 discover: %s\n", err);
        return CTL_EXIT_USAGE;
    }
    const char *to = ctl_str(call, "to", NULL);
    if (to) {
        /* A given destination (a panel's address, or a test's simulator on 127.0.0.1). */
        char host[256];
        uint16_t port;
        if (tcp_parse_hostport(to, C3_UDP_DISCOVERY_PORT, host, sizeof host, &port, err, sizeof err) < 0 ||
            inet_pton(AF_INET, host, &o.to.sin_addr) != 1) {
            fprintf(stderr, "portierctl c3 discover: --to %s: an IPv4 address[:port]\n", to);
            return CTL_EXIT_USAGE;
        }
        o.to.sin_port = htons(port);
    }
    char ip[64], mask[64];
    if (setip && split_address(ctl_str(call, "ADDRESS", ""), ip, sizeof ip, mask, sizeof mask) < 0) {
        fprintf(stderr, "portierctl c3 discover set-ip: ADDRESS %s: IP/MASK (192.168.1.50/24 or "
                        "192.168.1.50/255.255.255.0)\n", ctl_str(call, "ADDRESS", ""));
        return CTL_EXIT_USAGE;
    }
    struct dctx c = { .call = call, .loop = loop_new() };
    if (!c.loop)
        return CTL_EXIT_UNREACHABLE;
    struct c3_discover *d =
        setip ? c3_discover_set_ip(c.loop, &o, ctl_str(call, "MAC", ""), ip, mask, ctl_str(call, "GATEWAY", NULL),
                                   on_done, &c, err, sizeof err)
              : c3_discover_search(c.loop, &o, on_found, on_done, &c, err, sizeof err);
    if (!d) {
        fprintf(stderr, "portierctl c3 discover: %s\n", err);
        loop_free(c.loop);
        return strstr(err, "MAC") || strstr(err, "dotted") ? CTL_EXIT_USAGE : CTL_EXIT_UNREACHABLE;
    }
    loop_run(c.loop);
    c3_discover_free(d);
    loop_free(c.loop);
    if (setip) {
        if (c.err == 0) {
            if (call->g.json) {
                json_t *j = json_object();
                json_object_set_new(j, "ok", json_true());
                json_object_set_new(j, "mac", json_string(ctl_str(call, "MAC", "")));
                json_object_set_new(j, "ip", json_string(ip));
                json_object_set_new(j, "netmask", json_string(mask));
                ctl_print_json(j);
            } else {
                printf("ok: %s now has %s/%s\n", ctl_str(call, "MAC", ""), ip, mask);
            }
            return CTL_EXIT_OK;
        }
        if (c.err == -ETIMEDOUT) {
            fprintf(stderr, "portierctl c3 discover set-ip: no panel %s answered\n", ctl_str(call, "MAC", ""));
            return CTL_EXIT_UNREACHABLE;
        }
        fprintf(stderr, "portierctl c3 discover set-ip: (code %d) %s%s\n", c.err, c3_strerror(c.err),
                c.err == -14 ? " (the panel has a communication password: change its address over TCP)" : "");
        return CTL_EXIT_DEVICE_ERROR;
    }
    if (!call->g.json)
        fprintf(stderr, "%zu panel%s answered within %u ms\n", c.found, c.found == 1 ? "" : "s", o.timeout_ms);
    return c.found ? CTL_EXIT_OK : CTL_EXIT_UNREACHABLE;
}

static int check_mac(const char *v, char *err, size_t errlen)
{
    unsigned b[6];
    char tail;
    if (strlen(v) != 17 ||
        sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
        return snprintf(err, errlen, "'%.20s' is not a MAC address (aa:bb:cc:dd:ee:ff)", v), -1;
    return 0;
}

static int check_ipv4(const char *v, char *err, size_t errlen)
{
    struct in_addr a;
    if (inet_pton(AF_INET, v, &a) != 1)
        return snprintf(err, errlen, "'%.20s' is not an IPv4 address", v), -1;
    return 0;
}

static int check_address(const char *v, char *err, size_t errlen)
{
    char ip[64], mask[64];
    if (split_address(v, ip, sizeof ip, mask, sizeof mask) < 0)
        return snprintf(err, errlen, "'%.40s' is not IP/MASK (192.168.1.50/24)", v), -1;
    return 0;
}

const struct ctl_def ctl_c3_o_discover[] = {
    { .name = "interface", .type = CTL_TEXT, .max = 15, .meta = "IF",
      .help = "send from this interface to its broadcast address" },
    { .name = "to", .type = CTL_TEXT, .max = 64, .meta = "ADDR[:PORT]",
      .help = "send to this address instead of 255.255.255.255:65535" },
    { 0 } };
const struct ctl_def ctl_c3_a_setip[] = {
    { .name = "MAC", .type = CTL_CUSTOM, .check = check_mac, .sample = "00:17:61:00:00:01", .help = "the panel's MAC (as discover lists it)" },
    { .name = "ADDRESS", .type = CTL_CUSTOM, .check = check_address, .sample = "192.0.2.50/24", .help = "new IP/MASK" },
    { .name = "GATEWAY", .type = CTL_CUSTOM, .check = check_ipv4, .sample = "192.0.2.1", .help = "new gateway" },
    { 0 } };
