/* nix1_cmd: the NiX1 command table (spec §5.8): every D/N/Q argument with its option fields, broadcast
 * eligibility (§5.6), first-byte timeout class (§5.1), retry safety, and the option validator (§5.5 7-8). */
#ifndef PORTIER_NIX1_CMD_H
#define PORTIER_NIX1_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NIX1_TIMEOUT_NORMAL_MS 1000
#define NIX1_TIMEOUT_LONG_MS 5000 /* Da Ng Ni Nn Qp */

enum nix1_field_kind {
    NIX1_F_UINT,     /* decimal min..max; bad -> 50 */
    NIX1_F_TS,       /* decimal 0..9999999999; bad -> 74 */
    NIX1_F_UNIT,     /* decimal; not a number -> 50, out of 0..65534 -> 76 */
    NIX1_F_PROBE,    /* decimal min..max (1|2, or 0..2 for Du); bad -> 50 */
    NIX1_F_TZ,       /* +HHMM / -HHMM; bad -> 50 */
    NIX1_F_HEX2,     /* 2 hex digits (general status); bad -> 50 */
    NIX1_F_CRC4,     /* 4 hex digits; bad -> 50 */
    NIX1_F_HEXBLOCK, /* packet data; checked by the Ny handler (52), not here */
    NIX1_F_FILENAME, /* FAT 8.3; bad -> 50 */
    NIX1_F_EXT,      /* 1-3 of ALNUM/_ ; bad -> 50 */
    NIX1_F_UID,      /* non-empty, first char [A-Za-z0-9]; bad -> 50 */
    NIX1_F_KEY,      /* 1..64 printable chars; bad -> 4B */
    NIX1_F_CRON,     /* cron expression (core/cron); bad -> 60 */
    NIX1_F_BAUD,     /* 1200 2400 4800 9600 19200 38400 57600 115200; bad -> 50 */
};

struct nix1_field {
    const char *name; /* as in the doc: "timeout", "uid", "CRC" ... */
    enum nix1_field_kind kind;
    uint64_t min, max; /* for UINT and PROBE */
};

#define NIX1_CMD_FIELDS_MAX 4

struct nix1_cmd {
    char cmd, arg;
    const char *name;      /* "new bad access timeout" */
    const char *syntax;    /* option syntax for help, "<uid>\t<unit>\t<cron>", "" if none */
    bool broadcast;        /* may be sent to 27FFFFFFFFFFFF4E (§5.6) */
    bool idempotent;       /* safe to resend after a timeout or NAK (§5.1 retries) */
    bool multiline;        /* Qg Qi: 00 data lines then a 04 terminator */
    bool sd;               /* touches the µSD (may answer 7B) */
    bool zero_form;        /* also accepts the single field "0" (Dk0 Dr0 Du0 Dx0: delete all) */
    bool secret;           /* reply exposes a secret (Qk) */
    unsigned timeout_ms;   /* master first-byte timeout */
    uint8_t nmin, nmax;    /* accepted option field counts (besides the zero form) */
    struct nix1_field fields[NIX1_CMD_FIELDS_MAX];
    const char *success;   /* success payload for help: "\t<timeout>", "" if none */
};

extern const struct nix1_cmd nix1_cmd_table[];
extern const size_t nix1_cmd_count;

/* NULL if (cmd, arg) is not defined (-> 43 when cmd is not D/N/Q, else 41). */
const struct nix1_cmd *nix1_cmd_lookup(char cmd, char arg);
/* The reply code for a (cmd, arg) pair before its options are looked at: 00, 43 or 41 (§5.5 steps 3-4). */
uint8_t nix1_cmd_rc(char cmd, char arg);

/* Validate option text (TAB-separated fields) for command c, following §5.5 steps 7-8: first the field
 * count and the syntax of every field (50), then field-specific checks in field order (74, 76, 60, 4B,
 * 50). Returns 0x00 when valid, else the return code; if why is not NULL, writes a message. */
uint8_t nix1_cmd_check(const struct nix1_cmd *c, const char *opt, size_t opt_len, char *why, size_t whysz);

/* True if the option is the zero form "0" of a zero_form command. */
bool nix1_cmd_is_zero_form(const struct nix1_cmd *c, const char *opt, size_t opt_len);

/* Allowed baud rates. */
bool nix1_baud_valid(uint64_t baud);

#endif
