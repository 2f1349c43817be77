/* c3_scan: stream scanner with a running checksum signature (see c3_scan.h for the arithmetic). */
#include "drivers/c3/c3_scan.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/crc.h"

#define WINDOW_MIN 2048

/* CRC-16/ARC table and the inverse of its high byte (a bijection: T can be undone byte by byte). */
static uint16_t arc[256];
static uint8_t arc_inv_hi[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void build_tables(void)
{
    static const uint8_t zero = 0;
    for (unsigned i = 0; i < 256; i++) {
        uint16_t c = crc16_arc_update((uint16_t)i, &zero, 1); /* a zero byte from register i: entry i of core/crc's */
        arc[i] = c;
        arc_inv_hi[c >> 8] = (uint8_t)i;
    }
}

/* T^-1: the register before a zero byte moved it to y (T(r) = (r >> 8) ^ arc[r & 0xFF]). */
static inline uint16_t t_inv(uint16_t y)
{
    uint8_t x = arc_inv_hi[y >> 8];
    return (uint16_t)((((y ^ arc[x]) & 0xFFu) << 8) | x);
}

static size_t window_max(const struct c3_scanner *sc)
{
    return 2 * (sc->max_data + C3_FRAME_OVERHEAD) + 4096;
}

int c3_scanner_init(struct c3_scanner *sc, size_t max_data)
{
    pthread_once(&tables_once, build_tables);
    memset(sc, 0, sizeof *sc);
    if (max_data == 0)
        max_data = C3_DATA_MAX_DEFAULT;
    if (max_data > C3_DATA_MAX_ABS)
        max_data = C3_DATA_MAX_ABS;
    sc->max_data = max_data;
    sc->cap = WINDOW_MIN;
    sc->buf = malloc(sc->cap);
    sc->sig = malloc(sc->cap * sizeof *sc->sig);
    if (!sc->buf || !sc->sig) {
        c3_scanner_free(sc);
        return -1;
    }
    c3_scanner_reset(sc);
    return 0;
}

void c3_scanner_free(struct c3_scanner *sc)
{
    free(sc->buf);
    free(sc->sig);
    sc->buf = NULL;
    sc->sig = NULL;
    sc->cap = sc->len = sc->start = sc->cand = 0;
}

void c3_scanner_reset(struct c3_scanner *sc)
{
    sc->start = sc->len = sc->cand = 0;
    sc->s = 0;
    for (unsigned k = 0; k < 8; k++)
        sc->col[k] = t_inv(arc[1u << k]); /* T^-1 of bit k's table entry: the map for the first byte */
}

/* Room for n more bytes: move the unconsumed bytes to the front, grow up to the window's bound. */
static size_t make_room(struct c3_scanner *sc, size_t n)
{
    if (sc->cap - sc->len >= n)
        return n;
    if (sc->start > 0) {
        size_t keep = sc->len - sc->start;
        memmove(sc->buf, sc->buf + sc->start, keep);
        memmove(sc->sig, sc->sig + sc->start, keep * sizeof *sc->sig);
        sc->cand -= sc->start;
        sc->len = keep;
        sc->start = 0;
    }
    size_t want = sc->len + n, max = window_max(sc);
    if (sc->cap < want && sc->cap < max) {
        size_t cap = sc->cap;
        while (cap < want && cap < max)
            cap *= 2;
        if (cap > max)
            cap = max;
        uint8_t *b = realloc(sc->buf, cap);
        if (b)
            sc->buf = b;
        uint16_t *g = b ? realloc(sc->sig, cap * sizeof *g) : NULL;
        if (g) {
            sc->sig = g;
            sc->cap = cap;
        }
    }
    return sc->cap - sc->len < n ? sc->cap - sc->len : n;
}

size_t c3_scanner_push(struct c3_scanner *sc, const uint8_t *p, size_t n)
{
    n = make_room(sc, n);
    uint16_t s = sc->s;
    uint16_t c0 = sc->col[0], c1 = sc->col[1], c2 = sc->col[2], c3 = sc->col[3];
    uint16_t c4 = sc->col[4], c5 = sc->col[5], c6 = sc->col[6], c7 = sc->col[7];
    uint8_t *out = sc->buf + sc->len;
    uint16_t *sig = sc->sig + sc->len;
    for (size_t i = 0; i < n; i++) {
        unsigned b = p[i];
        out[i] = (uint8_t)b;
        /* S(i+1) = S(i) ^ T^-(i+1) arc[b], arc being linear in b: one column per set bit. */
        s ^= (uint16_t)((c0 & -(b & 1u)) ^ (c1 & -((b >> 1) & 1u)) ^ (c2 & -((b >> 2) & 1u)) ^
                        (c3 & -((b >> 3) & 1u)) ^ (c4 & -((b >> 4) & 1u)) ^ (c5 & -((b >> 5) & 1u)) ^
                        (c6 & -((b >> 6) & 1u)) ^ (c7 & -((b >> 7) & 1u)));
        sig[i] = s;
        c0 = t_inv(c0), c1 = t_inv(c1), c2 = t_inv(c2), c3 = t_inv(c3);
        c4 = t_inv(c4), c5 = t_inv(c5), c6 = t_inv(c6), c7 = t_inv(c7);
    }
    sc->s = s;
    sc->col[0] = c0, sc->col[1] = c1, sc->col[2] = c2, sc->col[3] = c3;
    sc->col[4] = c4, sc->col[5] = c5, sc->col[6] = c6, sc->col[7] = c7;
    sc->len += n;
    return n;
}

enum c3_scan_status c3_scanner_next(struct c3_scanner *sc, struct c3_scan *s)
{
    memset(s, 0, sizeof *s);
    for (;;) {
        if (sc->cand < sc->len && sc->buf[sc->cand] != C3_FRAME_START) {
            const uint8_t *p = memchr(sc->buf + sc->cand, C3_FRAME_START, sc->len - sc->cand);
            sc->cand = p ? (size_t)(p - sc->buf) : sc->len;
        }
        if (sc->cand > sc->start) {
            sc->junk_bytes += sc->cand - sc->start;
            sc->start = sc->cand;
        }
        size_t avail = sc->len - sc->cand;
        s->status = C3_SCAN_NEED;
        if (avail < C3_FRAME_HEAD_LEN) {
            s->n = C3_FRAME_HEAD_LEN - avail;
            return s->status;
        }
        const uint8_t *f = sc->buf + sc->cand;
        size_t n = c3_get_le16(f + 3), total = n + C3_FRAME_OVERHEAD;
        if (n <= sc->max_data) {
            if (avail < total) {
                s->n = total - avail;
                return s->status;
            }
            /* The end marker, then the checksum of address .. CRC: S before the address == S after the CRC. */
            if (f[total - 1] == C3_FRAME_END && sc->sig[sc->cand] == sc->sig[sc->cand + total - 2]) {
                s->status = C3_SCAN_FRAME;
                s->n = total;
                s->frame.address = f[1];
                s->frame.command = f[2];
                s->frame.data = f + C3_FRAME_HEAD_LEN;
                s->frame.data_len = n;
                sc->start = sc->cand = sc->cand + total;
                return s->status;
            }
        }
        /* Not a frame here: the next candidate starts after this 0xAA (its bytes are not read again). */
        sc->bad_frames++;
        sc->cand++;
    }
}
