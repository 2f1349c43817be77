/* nix1_access: one ACCESS/ACTIVITY log entry (the Qe payload, §5.8 / §2.5): parse, format, and what its
 * code means. An entry is a grant exactly when its code is 00. */
#ifndef PORTIER_NIX1_ACCESS_H
#define PORTIER_NIX1_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/nix1/nix1_addr.h"

#define NIX1_UID_MAX 128 /* longest uid portier accepts (so that Nx/Nr lines fit 320 chars) */

struct nix1_access {
    nix1_addr_t slave;
    char uid[NIX1_UID_MAX + 1]; /* may be empty (ACTIVITY lines, unreadable key) */
    bool has_unit;              /* false when the unit field is empty or 65535 (unset) */
    uint32_t unit;
    bool has_key_ts;            /* false when the daily key timestamp is empty (refusals) */
    uint64_t key_ts;
    uint64_t ts;                /* UTC epoch of the read */
    int tz;                     /* offset in minutes, from "+HHMM" */
    uint8_t probe;              /* 1 or 2 */
    uint8_t od;                 /* overdrive speed actually used, 0 or 1 */
    uint8_t code;               /* return code, 00 = granted */
};

/* Parse "<addr>\t<uid>\t<unit>\t<key_ts>\t<ts>\t<tz>\t<probe>\t<od>\t<code2>" (trailing LF/CRLF
 * dropped). Returns 0, or -1 with a message in err (if not NULL). */
int nix1_access_parse(const char *line, size_t len, struct nix1_access *out, char *err, size_t errsz);
/* Format without terminator. Returns the length, or -1 if cap is too small or a field is invalid. */
int nix1_access_format(char *buf, size_t cap, const struct nix1_access *a);

bool nix1_access_granted(const struct nix1_access *a);
/* Log name and meaning of the code (0x43 is ERROR_CREDENTIAL here). */
const char *nix1_access_code_name(const struct nix1_access *a);
const char *nix1_access_code_meaning(const struct nix1_access *a);

#endif
