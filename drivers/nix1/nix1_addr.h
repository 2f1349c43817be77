/* nix1_addr: NiX1 slave addresses (16 hex chars = 8 bytes in 1-Wire ROM order, CRC-8/MAXIM last).
 * Parse, format, compare and check; a CRC mismatch is a warning, never a refusal (spec §5.2, §5.13.5). */
#ifndef PORTIER_NIX1_ADDR_H
#define PORTIER_NIX1_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NIX1_ADDR_LEN 16 /* hex chars on the wire */

typedef struct nix1_addr {
    uint8_t b[8]; /* b[0] = family, b[1..6] = serial, b[7] = CRC-8/MAXIM over b[0..6] */
} nix1_addr_t;

#define NIX1_ADDR_SCRATCH_STR "270000000000005C"   /* answered only by unconfigured slaves */
#define NIX1_ADDR_BROADCAST_STR "27FFFFFFFFFFFF4E" /* executed by all (if broadcastable), never answered */

extern const nix1_addr_t nix1_addr_scratch;
extern const nix1_addr_t nix1_addr_broadcast;

/* Parse exactly 16 hex digits (upper or lower case) from s[0..len). Returns 0, or -1 if len != 16 or a
 * char is not a hex digit. The CRC is NOT checked here. */
int nix1_addr_parse(const char *s, size_t len, nix1_addr_t *out);
/* Same for a NUL-terminated string. */
int nix1_addr_parse_str(const char *s, nix1_addr_t *out);
/* Write 16 uppercase hex digits and a NUL into out. Returns out. */
char *nix1_addr_format(const nix1_addr_t *a, char out[NIX1_ADDR_LEN + 1]);

bool nix1_addr_equal(const nix1_addr_t *a, const nix1_addr_t *b);
bool nix1_addr_is_broadcast(const nix1_addr_t *a);
bool nix1_addr_is_scratch(const nix1_addr_t *a);
/* Case-insensitive compare of two 16-char address texts (slaves compare strings, §5.2). */
bool nix1_addr_text_equal(const char *a, const char *b);

/* CRC-8/MAXIM over the first 7 bytes (what the last byte should be). */
uint8_t nix1_addr_crc_expected(const nix1_addr_t *a);
bool nix1_addr_crc_ok(const nix1_addr_t *a);
/* Build a CRC-valid address from family + 6 serial bytes. */
void nix1_addr_make(nix1_addr_t *out, uint8_t family, const uint8_t serial[6]);

/* The master's check: returns true if the CRC is fine. On a mismatch returns false and, if msg is not
 * NULL, writes a warning such as "address 271A2100000000F3: CRC-8 mismatch (expected FD); using it
 * anyway". Callers must go on using the address. */
bool nix1_addr_check(const nix1_addr_t *a, char *msg, size_t msgsz);

#endif
