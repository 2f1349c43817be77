/* nix1_dev_raw: the NiX1 adapter's raw pass-through (device_ops.raw): one line to a slave (or a broadcast) beside the
 * bus's own traffic (below the doors' requests, above polling), for a technician through portierd. Reading or
 * rewinding a slave's access log (Qe, Ne) is refused: those entries belong in the journal, which the adapter's own
 * polling fills. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drivers/nix1/nix1_addr.h"
#include "drivers/nix1/nix1_bus.h"
#include "drivers/nix1/nix1_device.h"

static void raw_done(nix1_bus_t *bus, const struct nix1_result *res, void *arg)
{
    (void)bus;
    struct device_raw_call *r = arg;
    char from[NIX1_ADDR_LEN + 1];
    nix1_addr_format(&res->from, from);
    if (res->status == NIX1_ST_REPLY) {
        /* the payload, then each data line of a multi-line answer after a '\n' (unambiguous: no line holds one) */
        size_t len = res->payload_len + 1;
        for (size_t i = 0; i < res->nlines; i++)
            len += strlen(res->lines[i]) + 1;
        char *text = malloc(len);
        size_t off = 0;
        if (text) {
            memcpy(text, res->payload ? res->payload : "", res->payload_len);
            off = res->payload_len;
            for (size_t i = 0; i < res->nlines; i++)
                off += (size_t)snprintf(text + off, len - off, "\n%s", res->lines[i]);
            text[off] = '\0';
        }
        r->cb(r->ctx, res->rc, text, text ? off : 0, from, text ? NULL : "out of memory");
        free(text);
    } else if (res->status == NIX1_ST_SENT) {
        r->cb(r->ctx, 0, "", 0, NULL, NULL); /* a broadcast: sent, never answered */
    } else {
        /* the bus's status word first ("timeout: no answer", "busy: ..."): a relaying client keeps it */
        char why[200];
        snprintf(why, sizeof why, "%s: %s", nix1_status_str(res->status), res->error ? res->error : "failed");
        r->cb(r->ctx, -1, NULL, 0, NULL, why);
    }
    free(r);
}

int nix1_device_raw(struct device *dev, const struct device_raw *req, device_raw_fn cb, void *ctx, char *err,
                    size_t errlen)
{
    nix1_bus_t *bus = nix1_device_bus(dev);
    if (!bus) {
        snprintf(err, errlen, "no NiX1 bus");
        return -1;
    }
    /* Below the doors' requests (operator, emergency): a technician's long transfer, one line at a time, never
     * holds up the emergency by more than the transaction on the wire; a due poll goes ahead of each line, so the
     * slaves' entries keep reaching the journal meanwhile. */
    struct nix1_request_spec spec = { .prio = NIX1_PRIO_CONFIG, .flags = NIX1_REQF_YIELD,
                                      .timeout_ms = req->timeout_ms, .raw = req->line };
    if (!req->line || strlen(req->line) < 2) {
        snprintf(err, errlen, "a NiX1 line needs a command and its argument letter (e.g. Qs)");
        return -1;
    }
    if (strncmp(req->line, "Qe", 2) == 0 || strncmp(req->line, "Ne", 2) == 0) {
        snprintf(err, errlen, "%.2s reads or rewinds a slave's access log, whose entries belong in the journal: "
                 "refused (they are in portierctl journal)", req->line);
        return -1;
    }
    if (!req->slave || strcasecmp(req->slave, "broadcast") == 0)
        spec.addr = nix1_addr_broadcast;
    else if (nix1_addr_parse_str(req->slave, &spec.addr) != 0) {
        snprintf(err, errlen, "slave \"%.40s\" is not 16 hex digits or \"broadcast\"", req->slave);
        return -1;
    }
    struct device_raw_call *r = device_raw_call_new(cb, ctx, err, errlen);
    if (!r)
        return -1;
    long id = nix1_bus_submit(bus, &spec, raw_done, r);
    if (id < 0) {
        snprintf(err, errlen, "the line was refused before it went out (NiX1 code %02lX)", -id);
        free(r);
        return -1;
    }
    return 0;
}
