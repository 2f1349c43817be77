/* Fuzz target: NiX1 request and reply lines, option validation, ACCESS payloads and Ny packets. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/nix1/nix1_access.h"
#include "drivers/nix1/nix1_cmd.h"
#include "drivers/nix1/nix1_hash.h"
#include "drivers/nix1/nix1_line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct nix1_request q;
    enum nix1_req_status st = nix1_request_parse(s, size, &q);
    if (st == NIX1_REQ_OK) {
        if (q.opt_len > NIX1_LINE_MAX)
            abort();
        const struct nix1_cmd *c = nix1_cmd_lookup(q.cmd, q.arg);
        char why[160];
        uint8_t rc = c ? nix1_cmd_check(c, q.opt, q.opt_len, why, sizeof why) : nix1_cmd_rc(q.cmd, q.arg);
        (void)rc;
        /* re-encoding a valid request gives the same line (without CR/LF) */
        char opt[NIX1_LINE_MAX + 1], out[NIX1_LINE_MAX + 2];
        memcpy(opt, q.opt, q.opt_len);
        opt[q.opt_len] = '\0';
        int n = nix1_request_encode_opt(out, sizeof out, &q.addr, q.cmd, q.arg, opt);
        if (n != (int)(q.opt_len + 19))
            abort();
        if (c && c->cmd == 'N' && c->arg == 'y') {
            struct nix1_packet p;
            nix1_packet_decode(q.opt, q.opt_len, &p);
        }
    } else {
        (void)nix1_req_status_rc(st);
    }
    struct nix1_reply r;
    if (nix1_reply_parse(s, size, &r) == NIX1_REP_OK) {
        struct nix1_access a;
        char err[128];
        if (r.has_payload && nix1_access_parse(r.payload, r.payload_len, &a, err, sizeof err) == 0) {
            char buf[512];
            if (nix1_access_format(buf, sizeof buf, &a) < 0 && a.uid[0] == '\0')
                abort();
        }
        char payload[NIX1_REPLY_MAX + 1], out[NIX1_REPLY_MAX + 2];
        memcpy(payload, r.payload, r.payload_len);
        payload[r.payload_len] = '\0';
        nix1_reply_encode(out, sizeof out, &r.addr, r.rc, r.cmd, r.arg, r.has_payload ? payload : NULL);
    }
    return 0;
}
