/* nix1_xfer: NiX1 file transfer (spec §5.9) over the bus master: upload with per-packet CRC, resends and
 * whole-transfer restarts, optional Qp verification; download (Qg), list (Qi), checksum (Qp) helpers. */
#ifndef PORTIER_NIX1_XFER_H
#define PORTIER_NIX1_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/nix1/nix1_bus.h"

#define NIX1_XFER_BLOCK_MAX 128
#define NIX1_XFER_PACKET_RESENDS 3 /* per packet, on 47 / 52 / 15 */
#define NIX1_XFER_RESTARTS 2       /* whole-transfer restarts after a timeout or a failed commit */

struct nix1_xfer_result {
    int ok;                 /* 1 = the slave holds the file (verified when asked) */
    enum nix1_status status;/* of the last transaction */
    uint8_t rc;             /* the slave's code that ended a failed transfer (0 if none) */
    char step[4];           /* the command that failed ("Ny", "Ng", ...), "" on success */
    unsigned packets, resends, restarts;
    size_t bytes;
    uint16_t crc;           /* CRC-16/ARC of the file */
    uint64_t elapsed_us;
    char msg[200];          /* human summary */
};

typedef void (*nix1_xfer_cb)(void *arg, const struct nix1_xfer_result *r);

struct nix1_xfer_opts {
    size_t block;           /* bytes per packet, 1..128 (0 = 128) */
    bool verify;            /* finish with Qp and compare CRC and size */
    enum nix1_prio prio;
};

struct nix1_xfer;

/* Upload data (copied) as name to slave addr. Returns NULL with a message in err when refused locally
 * (empty file: delete it with Dg instead; bad 8.3 name; broadcast). cb runs exactly once, from the loop. */
struct nix1_xfer *nix1_xfer_upload(nix1_bus_t *bus, const nix1_addr_t *addr, const char *name, const void *data,
                                   size_t len, const struct nix1_xfer_opts *o, nix1_xfer_cb cb, void *arg,
                                   char *err, size_t errlen);
/* Abandon a running upload (its callback is not called). */
void nix1_xfer_cancel(struct nix1_xfer *x);

/* Parse a Qp payload "<CRC4>\t<size>". */
bool nix1_xfer_parse_sum(const char *payload, uint16_t *crc, uint64_t *size);
/* Parse one Qi data line "<NAME.EXT>\t<size>" (size optional): name copied into name[13]. */
bool nix1_xfer_parse_list_line(const char *line, char name[13], uint64_t *size);
/* Join Qg data lines into file text (each line + LF). Caller frees. */
char *nix1_xfer_join_lines(const char *const *lines, size_t n, size_t *len);

#endif
