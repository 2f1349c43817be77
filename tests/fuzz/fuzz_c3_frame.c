/* libFuzzer target: the C3 frame scanner/parser and reply interpretation over an arbitrary byte stream. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/c3/c3_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pos = 0;
    static uint8_t again[C3_DATA_MAX_ABS + C3_FRAME_OVERHEAD];
    /* The first byte picks the data limit, so both the default and tiny limits get exercised. */
    size_t max = size ? (data[0] & 1u ? 0 : data[0]) : 0;
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
            struct c3_frame f;
            if (c3_frame_parse(data + pos, s.n, &f) != 0 || f.data_len + C3_FRAME_OVERHEAD != s.n ||
                s.frame.data != f.data || s.frame.data_len != f.data_len || s.frame.command != f.command ||
                s.frame.address != f.address)
                abort();
            /* Re-encoding the fields gives the same bytes. */
            struct c3_frame_hdr h = { f.address, f.command, false, 0, 0 };
            int n = c3_frame_encode(again, sizeof again, &h, f.data, f.data_len);
            if (n != (int)s.n || memcmp(again, data + pos, s.n) != 0)
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
        } else if (s.err == 0 || c3_strerror(s.err) == NULL) {
            abort();
        }
        pos += s.n;
    }
    /* A single-datagram parse must never read out of bounds either. */
    struct c3_frame f;
    (void)c3_frame_parse(data, size, &f);
    return 0;
}
