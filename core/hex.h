/* hex: hexadecimal digits and byte strings, for every parser of hex text (C3 RT-log and data fields, NiX1
 * addresses, reply codes, hashes and file blocks, the daemon's protocol, the configuration). */
#ifndef PORTIER_HEX_H
#define PORTIER_HEX_H

#include <stddef.h>
#include <stdint.h>

/* 0..15 for '0'-'9', 'a'-'f', 'A'-'F'; -1 for anything else. */
int hex_digit(char c);

/* Decode the 2 * n hex digits at hex into n bytes at out: 0, or -1 at the first non-hex character (out is
 * then partly written). */
int hex_decode(const char *hex, size_t n, uint8_t *out);

#endif
