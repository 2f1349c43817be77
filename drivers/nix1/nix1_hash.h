/* nix1_hash: NiX1 credential hash (HMAC-SHA-256, first 16 bytes, §5.11), CRC-16/ARC as 4 hex digits
 * for blocks and files, hex block encode/decode and the Ny packet option (§5.9), and key generation. */
#ifndef PORTIER_NIX1_HASH_H
#define PORTIER_NIX1_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/nix1/nix1_addr.h"

#define NIX1_HASH_HEX_LEN 32   /* 16 bytes as uppercase hex */
#define NIX1_KEY_MAX 64        /* longest key text (Nk answers 4B above this) */
#define NIX1_PACKET_MAX 128    /* decoded bytes per Ny packet */

/* hash = uppercase hex of HMAC-SHA-256(key, ROM16 "\t" uid "\t" key_ts "\t" inc)[0:16]. ROM16 is written
 * in uppercase. Returns 0, or -1 on bad input (NULL, empty key, uid with TAB/CR/LF). */
int nix1_hash_compute(const char *key, size_t key_len, const nix1_addr_t *rom, const char *uid,
                      uint64_t key_ts, unsigned inc, char out[NIX1_HASH_HEX_LEN + 1]);
/* Compare a 32-hex hash (either case) with the computed one in constant time. */
bool nix1_hash_verify(const char *key, size_t key_len, const nix1_addr_t *rom, const char *uid,
                      uint64_t key_ts, unsigned inc, const char *hash, size_t hash_len);

/* CRC-16/ARC of data as 4 uppercase hex digits + NUL. */
char *nix1_crc4(const void *data, size_t len, char out[5]);
/* Parse 4 hex digits (either case). */
bool nix1_crc4_parse(const char *p, size_t len, uint16_t *out);

/* Uppercase hex, 2 chars per byte, NUL-terminated. Returns the hex length, or -1 if cap < 2*len+1. */
int nix1_hex_encode(const void *data, size_t len, char *out, size_t cap);
/* Decode hex (either case). Returns the byte count, or -1 if odd length, bad digit or cap too small. */
int nix1_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t cap);

/* A decoded Ny packet. */
struct nix1_packet {
    uint32_t total;   /* nbrPacket: total number of packets of the file */
    uint32_t len;     /* blockLength, 1..128 */
    uint16_t crc;     /* CRC-16/ARC of the block */
    uint8_t data[NIX1_PACKET_MAX];
};

/* The Ny option "<total>\t<len>\t<CRC4>\t<HEX>" for one block. Returns the text length, or -1 (len 0
 * or > 128, total 0 or > 65535, cap too small). */
int nix1_packet_encode(char *out, size_t cap, uint32_t total, const void *block, size_t len);
/* Decode a Ny option in the spec order: fields (50), hex and length (52), CRC (47). Returns 0x00 or
 * that code. The quantity check (51) needs the slave's upload state and is not done here. */
uint8_t nix1_packet_decode(const char *opt, size_t opt_len, struct nix1_packet *out);

/* Fill out[0..len) with a key from OS randomness (getrandom): printable ASCII 0x21-0x7E (no space, TAB,
 * CR or LF), uniformly chosen, then NUL. len 1..64. Returns 0, or -1 if randomness is unavailable. */
int nix1_key_generate(char *out, size_t len);
/* A key text is usable: 1..64 printable ASCII chars without TAB. */
bool nix1_key_valid(const char *key, size_t len);

#endif
