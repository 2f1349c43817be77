/* nix1_line: NiX1 request and reply lines (spec §5.3, §5.4): parse and encode, TAB-separated option
 * fields, and the lexical helpers (decimal, hex, TZ). Pure: parsed structs point into the caller's buffer. */
#ifndef PORTIER_NIX1_LINE_H
#define PORTIER_NIX1_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/nix1/nix1_addr.h"

#define NIX1_LINE_MAX 320 /* longest request line, excluding the terminator */
/* Longest reply line a master accepts (excluding the terminator). Replies carry raw µSD file lines in
 * Qg data lines; longer lines are treated as garbled. */
#define NIX1_REPLY_MAX 1024
#define NIX1_FIELDS_MAX 8

/* A piece of a line (not NUL-terminated). */
struct nix1_span {
    const char *p;
    size_t len;
};

/* Length of line[0..len) without a trailing LF and a CR immediately before it. */
size_t nix1_line_trim(const char *line, size_t len);
/* True if every byte is printable ASCII (0x20-0x7E) or, when allow_tab, TAB. */
bool nix1_line_printable(const char *s, size_t len, bool allow_tab);

/* ---- requests: ADDR16 cmd arg [field *(TAB field)] LF ---- */

enum nix1_req_status {
    NIX1_REQ_OK = 0,
    NIX1_REQ_NO_ADDR,   /* fewer than 16 chars, or not 16 hex digits: nobody can tell whom; ignore */
    NIX1_REQ_REPLY,     /* column 17 holds a return-code digit: another node's reply; ignore */
    NIX1_REQ_OVERFLOW,  /* longer than 320 chars: answer 15 (NAK) if addressed to us */
    NIX1_REQ_BAD_BYTE,  /* byte outside 0x20-0x7E and TAB: answer 15 (NAK) if addressed to us */
    NIX1_REQ_BAD_CMD,   /* cmd missing or not D/N/Q: answer 43 (cmd echoed, '?' if missing) */
    NIX1_REQ_BAD_ARG,   /* arg missing or not a lowercase letter: answer 41 ('?' if missing) */
};

struct nix1_request {
    nix1_addr_t addr; /* valid unless NIX1_REQ_NO_ADDR */
    char cmd;         /* as received; '?' if the line ended before it */
    char arg;         /* as received; '?' if the line ended before it */
    const char *opt;  /* option text (fields joined by TAB), into the input; never NULL */
    size_t opt_len;   /* 0 = no option (missing and empty are the same) */
};

/* Parse one line (a trailing LF / CRLF is dropped if present). Fills *out as far as possible in every
 * case, so a NAK/43/41 reply can echo cmd and arg. */
enum nix1_req_status nix1_request_parse(const char *line, size_t len, struct nix1_request *out);
const char *nix1_req_status_str(enum nix1_req_status s);
/* The reply code a slave sends for a failed parse (15, 43, 41), or -1 when it must stay silent. */
int nix1_req_status_rc(enum nix1_req_status s);

/* Split option text at TABs. Empty text = 0 fields. Returns the number of fields; if there are more
 * than max, returns max + 1 and fills the first max. */
size_t nix1_fields_split(const char *opt, size_t len, struct nix1_span *out, size_t max);

/* Encode a request into buf (LF-terminated, NUL after the LF when room). fields may be NULL when
 * nfields == 0; each field must be printable without TAB. cmd must be D/N/Q, arg a lowercase letter.
 * Returns the line length including the LF, or -1 if invalid, longer than 320 chars, or buf too small. */
int nix1_request_encode(char *buf, size_t cap, const nix1_addr_t *addr, char cmd, char arg,
                        const char *const *fields, size_t nfields);
/* Same with the option text already joined (may contain TABs; NULL or "" = none). */
int nix1_request_encode_opt(char *buf, size_t cap, const nix1_addr_t *addr, char cmd, char arg,
                            const char *opt);

/* ---- replies: OWN-ADDR16 rc2 cmd arg [TAB payload] LF ---- */

enum nix1_rep_status {
    NIX1_REP_OK = 0,
    NIX1_REP_SHORT,     /* fewer than 20 chars */
    NIX1_REP_BAD_ADDR,  /* first 16 chars not hex */
    NIX1_REP_BAD_RC,    /* chars 17-18 not 2 hex digits (e.g. a request echo) */
    NIX1_REP_BAD_BYTE,  /* non-printable byte */
    NIX1_REP_TRAILING,  /* something other than TAB right after cmd arg */
    NIX1_REP_TOO_LONG,  /* longer than NIX1_REPLY_MAX */
};

struct nix1_reply {
    nix1_addr_t addr;    /* the replier's own address */
    uint8_t rc;
    char cmd, arg;       /* echoed ('?' for a char missing from a too-short request) */
    bool has_payload;    /* a TAB followed the header (payload may still be empty) */
    const char *payload; /* after the first TAB, into the input; never NULL */
    size_t payload_len;
};

enum nix1_rep_status nix1_reply_parse(const char *line, size_t len, struct nix1_reply *out);
const char *nix1_rep_status_str(enum nix1_rep_status s);

/* Encode a reply. payload NULL = no TAB and no payload; otherwise TAB + payload (may contain TABs).
 * Returns the length including the LF, or -1 (bad char, over NIX1_REPLY_MAX, buf too small). */
int nix1_reply_encode(char *buf, size_t cap, const nix1_addr_t *own, uint8_t rc, char cmd, char arg,
                      const char *payload);
/* Same with payload fields joined by TAB (nfields == 0: no payload). */
int nix1_reply_encode_fields(char *buf, size_t cap, const nix1_addr_t *own, uint8_t rc, char cmd, char arg,
                             const char *const *fields, size_t nfields);

/* ---- lexical helpers for option and payload fields ---- */

/* Unsigned decimal, 1..20 digits, no sign, value <= max. */
bool nix1_parse_uint(const char *p, size_t len, uint64_t max, uint64_t *out);
/* Hex of exactly ndigits (1..16) digits, either case. */
bool nix1_parse_hex(const char *p, size_t len, size_t ndigits, uint64_t *out);
/* TZ "+HHMM"/"-HHMM", mandatory sign, -1200..+1400, MM 00..59. *minutes = signed offset in minutes. */
bool nix1_parse_tz(const char *p, size_t len, int *minutes);
/* Format a TZ offset in minutes as "+HHMM" into out[6]. */
char *nix1_format_tz(int minutes, char out[6]);
/* FAT 8.3 filename of §5.3. */
bool nix1_filename_valid(const char *p, size_t len);

#endif
