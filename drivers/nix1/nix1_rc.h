/* nix1_rc: the NiX1 return codes (spec §5.5): names, meanings on the wire and in ACCESS/ACTIVITY logs.
 * Code 0x43 has two names: ERROR_CMD in replies, ERROR_CREDENTIAL in access logs. */
#ifndef PORTIER_NIX1_RC_H
#define PORTIER_NIX1_RC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum nix1_rc {
    NIX1_RC_OK = 0x00,
    NIX1_RC_EOT = 0x04,
    NIX1_RC_ACK = 0x06,
    NIX1_RC_NAK = 0x15,
    NIX1_RC_SYN = 0x16,
    NIX1_RC_ERROR_ADDRESS = 0x21,
    NIX1_RC_ERROR_ARG = 0x41,
    NIX1_RC_ERROR_BUS = 0x42,
    NIX1_RC_ERROR_CMD = 0x43,
    NIX1_RC_ERROR_CREDENTIAL = 0x43,
    NIX1_RC_ERROR_DATA = 0x44,
    NIX1_RC_ERROR_FLASH = 0x46,
    NIX1_RC_ERROR_CRC = 0x47,
    NIX1_RC_ERROR_HASH = 0x48,
    NIX1_RC_ERROR_IB = 0x49,
    NIX1_RC_ERROR_KEY = 0x4B,
    NIX1_RC_ERROR_LOG = 0x4C,
    NIX1_RC_ERROR_MALLOC = 0x4D,
    NIX1_RC_ERROR_NOT_FOUND = 0x4E,
    NIX1_RC_ERROR_OFFSET = 0x4F,
    NIX1_RC_ERROR_PARAM = 0x50,
    NIX1_RC_ERROR_QUANTITY = 0x51,
    NIX1_RC_ERROR_RXDATA = 0x52,
    NIX1_RC_ERROR_STOPPED_MISSION = 0x53,
    NIX1_RC_ERROR_TYPE = 0x54,
    NIX1_RC_ERROR_USER = 0x55,
    NIX1_RC_ERROR_WRITE = 0x57,
    NIX1_RC_ERROR_X = 0x58,
    NIX1_RC_ERROR_SYNTAX = 0x60,
    NIX1_RC_ERROR_DAY_OF_YEAR = 0x61,
    NIX1_RC_ERROR_COPY = 0x63,
    NIX1_RC_ERROR_NOBROADCAST = 0x64,
    NIX1_RC_ERROR_EMPTY_MISSION = 0x65,
    NIX1_RC_ERROR_LOCK = 0x6C,
    NIX1_RC_ERROR_RESOLUTION = 0x72,
    NIX1_RC_ERROR_SCHEDULE = 0x73,
    NIX1_RC_ERROR_TIMESTAMP = 0x74,
    NIX1_RC_ERROR_UNIT = 0x76,
    NIX1_RC_ERROR_SDCARDNOTFOUND = 0x7B,
    NIX1_RC_ERROR_INT = 0xFF,
};

struct nix1_rc_info {
    uint8_t code;
    const char *name;        /* FACT name, e.g. "ERROR_CMD" */
    const char *log_name;    /* name in ACCESS/ACTIVITY logs when different (0x43: "ERROR_CREDENTIAL"), else NULL */
    const char *meaning;     /* what it means in a reply */
    const char *log_meaning; /* what it means in an ACCESS/ACTIVITY line, or NULL if never logged */
    const char *product;     /* NULL for AC-FX codes, "iC" or "sC" for sister-product codes never used here */
};

/* All codes of §5.5 in ascending order. */
extern const struct nix1_rc_info nix1_rc_table[];
extern const size_t nix1_rc_count;

/* NULL for an undefined code. */
const struct nix1_rc_info *nix1_rc_info(unsigned code);
bool nix1_rc_known(unsigned code);
/* Never NULL: unknown codes give "UNKNOWN" / "unknown return code". */
const char *nix1_rc_name(unsigned code);
const char *nix1_rc_meaning(unsigned code);
/* Log context: 0x43 -> "ERROR_CREDENTIAL"; meaning falls back to the reply meaning. */
const char *nix1_rc_log_name(unsigned code);
const char *nix1_rc_log_meaning(unsigned code);
/* Parse a name (either of 0x43's names, case-sensitive, with or without "ERROR_") -> code, or -1. */
int nix1_rc_from_name(const char *name);

#endif
