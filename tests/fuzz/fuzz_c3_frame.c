/* libFuzzer target: the C3 stream scanner (fed in chunks the input chooses), the one-shot scanner as its oracle
 * on short inputs, the frame parser and reply interpretation over an arbitrary byte stream. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every check a frame found at data[pos .. pos + n) must pass. */
static void check_frame(const uint8_t *data, size_t pos, size_t n)
{
    static uint8_t again[C3_DATA_MAX_ABS + C3_FRAME_OVERHEAD];
    struct c3_frame f;
    if (c3_frame_parse(data + pos, n, &f) != 0 || f.data_len + C3_FRAME_OVERHEAD != n)
        abort();
    /* Re-encoding the fields gives the same bytes. */
    struct c3_frame_hdr h = { f.address, f.command, false, 0, 0 };
    int e = c3_frame_encode(again, sizeof again, &h, f.data, f.data_len);
    if (e != (int)n || memcmp(again, data + pos, n) != 0)
        abort();
    for (int session = 0; session < 2; session++) {
        struct c3_reply r;
        if (c3_reply_parse(&f, session != 0, &r) == 0) {
            if (r.payload < f.data || r.payload + r.payload_len > f.data + f.data_len)
                abort();
            if (r.code == C3_REPLY_ERROR && (r.error >= 0 || c3_strerror(r.error) == NULL))
                abort();
            if (r.code == C3_REPLY_PREPARE) {
                struct c3_bigdata b;
                if (c3_bigdata_parse(r.payload, r.payload_len, &b) != 0)
                    abort();
            }
        }
    }
    uint16_t sid, nr;
    const uint8_t *p;
    size_t pl;
    if (c3_frame_session(&f, &sid, &nr, &p, &pl) == 0 && pl + 4 != f.data_len)
        abort();
}

#define MAX_FOUND 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The first byte picks the data limit, so both the default and tiny limits get exercised; the second the
     * size of the chunks the stream arrives in. */
    size_t max = size ? (data[0] & 1u ? 0 : data[0]) : 0;
    size_t chunk = size > 1 ? 1 + (size_t)data[1] * 7 : 1;
    static size_t found_at[MAX_FOUND], found_len[MAX_FOUND];
    size_t n_found = 0;
    struct c3_scanner sc;
    if (c3_scanner_init(&sc, max) != 0)
        return 0;
    size_t pushed = 0;
    while (pushed < size) {
        size_t want = size - pushed < chunk ? size - pushed : chunk;
        size_t took = c3_scanner_push(&sc, data + pushed, want);
        pushed += took;
        struct c3_scan s;
        enum c3_scan_status st;
        bool any = false;
        while ((st = c3_scanner_next(&sc, &s)) == C3_SCAN_FRAME) {
            any = true;
            /* buf[i] is stream byte pushed - len + i. */
            size_t pos = pushed - sc.len + (size_t)(s.frame.data - C3_FRAME_HEAD_LEN - sc.buf);
            if (s.n == 0 || pos + s.n > pushed || memcmp(s.frame.data - C3_FRAME_HEAD_LEN, data + pos, s.n) != 0)
                abort();
            check_frame(data, pos, s.n);
            if (n_found < MAX_FOUND) {
                found_at[n_found] = pos;
                found_len[n_found++] = s.n;
            }
        }
        if (st != C3_SCAN_NEED || s.n == 0)
            abort();
        if (!took && !any)
            abort(); /* the window must always take more once it needs more */
    }
    c3_scanner_free(&sc);

    /* The one-shot scanner finds the same frames (short inputs: it re-reads a candidate per call). */
    if (size <= 4096) {
        size_t pos = 0, k = 0;
        while (pos < size) {
            struct c3_scan s;
            enum c3_scan_status st = c3_frame_scan(data + pos, size - pos, max, &s);
            if (st == C3_SCAN_NEED) {
                if (s.n == 0)
                    abort();
                break;
            }
            if (s.n == 0 || s.n > size - pos)
                abort();
            if (st == C3_SCAN_FRAME) {
                if (s.frame.data != data + pos + C3_FRAME_HEAD_LEN || k >= n_found || found_at[k] != pos ||
                    found_len[k] != s.n)
                    abort();
                k++;
            } else if (s.err == 0 || c3_strerror(s.err) == NULL) {
                abort();
            }
            pos += s.n;
        }
        if (k != n_found)
            abort();
    }
    /* A single-datagram parse must never read out of bounds either. */
    struct c3_frame f;
    (void)c3_frame_parse(data, size, &f);
    return 0;
}
