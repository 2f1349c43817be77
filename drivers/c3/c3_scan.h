/* c3_scan: the C3 frame scanner for a byte stream, with work per received byte bounded by a constant whatever
 * the bytes are: each byte is read once, each candidate start is decided once in O(1) (length, end marker and
 * the checksum through a running signature). Pure: bytes in, frames out. */
#ifndef PORTIER_C3_SCAN_H
#define PORTIER_C3_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/c3/c3_frame.h"

/* The checksum of a candidate frame without reading its bytes again: with R(i) the CRC-16/ARC register
 * after the first i bytes of the stream and T its shift by one zero byte (invertible), the CRC of bytes
 * a..b-1 is R(b) ^ T^(b-a) R(a), so it is zero exactly when S(a) == S(b) for S(i) = T^-i R(i). S is kept
 * per byte as it arrives (eight columns of T^-(i+1) advance by one T^-1 each). */
struct c3_scanner {
    uint8_t *buf;            /* bytes not consumed yet: buf[start .. len) */
    uint16_t *sig;           /* sig[i] = S after byte i */
    size_t start, len, cap;
    size_t cand;             /* the next position to decide as a frame start (start <= cand <= len) */
    size_t max_data;         /* the largest data length accepted */
    uint16_t s;              /* S after the last byte pushed */
    uint16_t col[8];         /* T^-(n+1) of the CRC table entry of bit k, n = bytes pushed */
    /* what was skipped, for the statistics */
    uint64_t junk_bytes;     /* bytes that were not part of a frame */
    uint64_t bad_frames;     /* candidates (0xAA ...) rejected: length, end marker or checksum */
};

/* max_data: the largest data length accepted (0 = C3_DATA_MAX_DEFAULT, at most C3_DATA_MAX_ABS). The
 * window holds two frames of that size. 0, or -1 when out of memory. */
int c3_scanner_init(struct c3_scanner *sc, size_t max_data);
void c3_scanner_free(struct c3_scanner *sc);
/* Forget everything buffered (a new connection); the counters stay. */
void c3_scanner_reset(struct c3_scanner *sc);

/* Take up to n received bytes; returns how many were taken (all of them unless the window is full: then call
 * c3_scanner_next until it needs more, and push the rest). */
size_t c3_scanner_push(struct c3_scanner *sc, const uint8_t *p, size_t n);

/* The next frame: C3_SCAN_FRAME with s->frame (pointing into the scanner, valid until the next push or next)
 * and s->n its total length; or C3_SCAN_NEED with s->n the bytes still needed for the frame being decided.
 * Bytes that are no frame are skipped and counted on the way (never C3_SCAN_SKIP). */
enum c3_scan_status c3_scanner_next(struct c3_scanner *sc, struct c3_scan *s);

/* Bytes buffered and not yet consumed. */
static inline size_t c3_scanner_pending(const struct c3_scanner *sc) { return sc->len - sc->start; }

#endif
