/* The C3 stream scanner: frames found between garbage whatever the chunking, resynchronisation inside a
 * rejected candidate, the crafted AA 55 C8 00 40 stream, the same frames as the one-shot scanner, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "drivers/c3/c3_scan.h"

#define STREAM_MAX 200000

struct stream {
    uint8_t b[STREAM_MAX];
    size_t len;
    size_t at[256], flen[256]; /* the frames put in, in order */
    size_t n;
};

static uint32_t rng = 12345;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void put(struct stream *s, const void *p, size_t n)
{
    assert_true(s->len + n <= STREAM_MAX);
    memcpy(s->b + s->len, p, n);
    s->len += n;
}

static void put_frame(struct stream *s, uint8_t cmd, const uint8_t *data, size_t n)
{
    uint8_t f[C3_DATA_MAX_ABS + C3_FRAME_OVERHEAD];
    struct c3_frame_hdr h = { 1, cmd, false, 0, 0 };
    int len = c3_frame_encode(f, sizeof f, &h, data, n);
    assert_true(len > 0);
    s->at[s->n] = s->len;
    s->flen[s->n++] = (size_t)len;
    put(s, f, (size_t)len);
}

/* Feed the stream in chunks of 1..maxchunk bytes; the frames found must be exactly those put in. */
static void expect_frames(const struct stream *s, size_t maxchunk, size_t max_data)
{
    struct c3_scanner sc;
    assert_int_equal(c3_scanner_init(&sc, max_data), 0);
    size_t pushed = 0, k = 0, framed = 0;
    while (pushed < s->len) {
        size_t want = 1 + rnd() % maxchunk;
        if (want > s->len - pushed)
            want = s->len - pushed;
        pushed += c3_scanner_push(&sc, s->b + pushed, want);
        struct c3_scan r;
        while (c3_scanner_next(&sc, &r) == C3_SCAN_FRAME) {
            size_t pos = pushed - sc.len + (size_t)(r.frame.data - C3_FRAME_HEAD_LEN - sc.buf);
            assert_true(k < s->n);
            assert_int_equal(pos, s->at[k]);
            assert_int_equal(r.n, s->flen[k]);
            assert_memory_equal(r.frame.data - C3_FRAME_HEAD_LEN, s->b + pos, r.n);
            framed += r.n;
            k++;
        }
        assert_int_equal(r.status, C3_SCAN_NEED);
        assert_true(r.n > 0);
    }
    assert_int_equal(k, s->n);
    /* Everything before the last frame's end that was no frame was counted as skipped (and nothing twice). */
    if (s->n)
        assert_true(sc.junk_bytes >= s->at[s->n - 1] + s->flen[s->n - 1] - framed);
    assert_true(sc.junk_bytes + framed <= s->len);
    assert_true(sc.cap <= 2 * ((max_data ? max_data : C3_DATA_MAX_DEFAULT) + C3_FRAME_OVERHEAD) + 4096);
    c3_scanner_free(&sc);
}

static void frames_between_garbage(void **state)
{
    (void)state;
    static struct stream s;
    for (int round = 0; round < 20; round++) {
        memset(&s, 0, sizeof s);
        for (int i = 0; i < 40; i++) {
            /* garbage, rich in start and end bytes and plausible headers (data limit 700: a false start waits for at
     * most 708 bytes) */
            size_t g = rnd() % 40;
            for (size_t j = 0; j < g; j++) {
                uint8_t b = (uint8_t)(rnd() % 4 == 0 ? 0xAA : rnd() % 4 == 0 ? 0x55 : rnd());
                put(&s, &b, 1);
            }
            uint8_t data[600];
            size_t n = rnd() % sizeof data;
            for (size_t j = 0; j < n; j++)
                data[j] = (uint8_t)(rnd() % 3 == 0 ? 0xAA : rnd());
            put_frame(&s, (uint8_t)(0xC8 + rnd() % 2), data, n);
        }
        /* A tail without 0xAA, longer than the largest frame the limit allows: every false start is
         * decided. */
        static const uint8_t z[720];
        put(&s, z, sizeof z);
        expect_frames(&s, 1 + (size_t)round * 37, 700);
    }
}

/* A false start whose declared length spans a real frame: the real frame is found once the false one is
 * rejected, without losing a byte. */
static void resync_inside_rejected_candidate(void **state)
{
    (void)state;
    static struct stream s;
    memset(&s, 0, sizeof s);
    const uint8_t fake[] = { 0xAA, 0x01, 0xC8, 0x20, 0x00 }; /* 32 data bytes: 40 in all */
    put(&s, fake, sizeof fake);
    const uint8_t d1[] = { 0x11, 0x22 };
    put_frame(&s, 0xC8, d1, sizeof d1); /* inside the fake's 40 bytes */
    const uint8_t d2[] = { 0xAA, 0x55, 0xAA };
    put_frame(&s, 0xC9, d2, sizeof d2);
    uint8_t pad[40] = { 0 };
    put(&s, pad, sizeof pad);
    /* A candidate with the right end marker but a wrong checksum, then a frame. */
    uint8_t bad[] = { 0xAA, 0x01, 0xC8, 0x01, 0x00, 0x42, 0x00, 0x00, 0x55 };
    put(&s, bad, sizeof bad);
    put_frame(&s, 0xC8, NULL, 0);
    put(&s, pad, sizeof pad);
    for (size_t chunk = 1; chunk <= 64; chunk *= 2)
        expect_frames(&s, chunk, 0);

    struct c3_scanner sc;
    assert_int_equal(c3_scanner_init(&sc, 0), 0);
    assert_int_equal(c3_scanner_push(&sc, s.b, 20), 20);
    struct c3_scan r;
    /* The fake waits for its 40 bytes: the frame inside is not taken on faith. */
    assert_int_equal(c3_scanner_next(&sc, &r), C3_SCAN_NEED);
    assert_int_equal(r.n, 20);
    assert_int_equal(c3_scanner_push(&sc, s.b + 20, 20), 20);
    assert_int_equal(c3_scanner_next(&sc, &r), C3_SCAN_FRAME);
    assert_int_equal(r.frame.data_len, 2);
    assert_int_equal(sc.bad_frames, 1);
    assert_int_equal(sc.junk_bytes, sizeof fake);
    c3_scanner_free(&sc);
}

/* The crafted stream: a plausible 16 KB frame every 5 bytes, each with the right end marker. All rejected by
 * the checksum signature; the real frame after them is found. */
static void crafted_stream(void **state)
{
    (void)state;
    static struct stream s;
    memset(&s, 0, sizeof s);
    const uint8_t pat[] = { 0xAA, 0x55, 0xC8, 0x00, 0x40 };
    for (int i = 0; i < 20000; i++)
        put(&s, pat, sizeof pat);
    uint8_t zero[16400] = { 0 };
    put(&s, zero, sizeof zero);
    const uint8_t d[] = { 1, 2, 3 };
    put_frame(&s, 0xC8, d, sizeof d);
    put(&s, zero, 8);
    expect_frames(&s, 1460, 0);

    struct c3_scanner sc;
    assert_int_equal(c3_scanner_init(&sc, 0), 0);
    for (size_t off = 0; off < s.len;) {
        off += c3_scanner_push(&sc, s.b + off, s.len - off < 1460 ? s.len - off : 1460);
        struct c3_scan r;
        while (c3_scanner_next(&sc, &r) == C3_SCAN_FRAME)
            ;
    }
    assert_int_equal(sc.bad_frames, 20000); /* each candidate decided once */
    c3_scanner_free(&sc);
}

/* A data length above the limit is rejected at once (no wait for bytes that would never be a frame). */
static void length_limit(void **state)
{
    (void)state;
    struct c3_scanner sc;
    assert_int_equal(c3_scanner_init(&sc, 100), 0);
    static struct stream s;
    memset(&s, 0, sizeof s);
    const uint8_t big[] = { 0xAA, 0x01, 0xC8, 0x65, 0x00 }; /* 101 > 100 */
    put(&s, big, sizeof big);
    const uint8_t d[100] = { 0 };
    put_frame(&s, 0xC8, d, sizeof d);
    assert_int_equal(c3_scanner_push(&sc, s.b, s.len), s.len);
    struct c3_scan r;
    assert_int_equal(c3_scanner_next(&sc, &r), C3_SCAN_FRAME);
    assert_int_equal(r.frame.data_len, 100);
    assert_int_equal(sc.bad_frames, 1);
    assert_int_equal(c3_scanner_next(&sc, &r), C3_SCAN_NEED);
    c3_scanner_free(&sc);
}

/* The largest frame, one byte at a time (the window grows to it and no further). */
static void largest_frame_bytewise(void **state)
{
    (void)state;
    static struct stream s;
    memset(&s, 0, sizeof s);
    static uint8_t d[C3_DATA_MAX_ABS];
    for (size_t i = 0; i < sizeof d; i++)
        d[i] = (uint8_t)(i * 7);
    put_frame(&s, 0xC8, d, sizeof d);
    put_frame(&s, 0xC8, d, 3);
    expect_frames(&s, 1, C3_DATA_MAX_ABS);
}

/* The same frames as the one-shot scanner on random streams with frames in them. */
static void same_as_one_shot(void **state)
{
    (void)state;
    static struct stream s;
    for (int round = 0; round < 200; round++) {
        memset(&s, 0, sizeof s);
        size_t len = 200 + rnd() % 3000;
        while (s.len < len) {
            if (rnd() % 8 == 0) {
                uint8_t d[64];
                size_t n = rnd() % sizeof d;
                for (size_t j = 0; j < n; j++)
                    d[j] = (uint8_t)rnd();
                uint8_t f[128];
                struct c3_frame_hdr h = { 1, 0xC8, false, 0, 0 };
                int fl = c3_frame_encode(f, sizeof f, &h, d, n);
                put(&s, f, (size_t)fl);
            } else {
                uint8_t b = (uint8_t)(rnd() % 5 == 0 ? 0xAA : rnd());
                put(&s, &b, 1);
            }
        }
        size_t max = rnd() % 2 ? 0 : 1 + rnd() % 80;
        /* What the one-shot scanner finds is the expectation. */
        s.n = 0;
        for (size_t pos = 0; pos < s.len;) {
            struct c3_scan r;
            enum c3_scan_status st = c3_frame_scan(s.b + pos, s.len - pos, max, &r);
            if (st == C3_SCAN_NEED)
                break;
            if (st == C3_SCAN_FRAME) {
                s.at[s.n] = pos;
                s.flen[s.n++] = r.n;
            }
            pos += r.n;
        }
        struct c3_scanner sc;
        assert_int_equal(c3_scanner_init(&sc, max), 0);
        size_t pushed = 0, k = 0;
        while (pushed < s.len) {
            size_t want = 1 + rnd() % 300;
            pushed += c3_scanner_push(&sc, s.b + pushed, want < s.len - pushed ? want : s.len - pushed);
            struct c3_scan r;
            while (c3_scanner_next(&sc, &r) == C3_SCAN_FRAME) {
                size_t pos = pushed - sc.len + (size_t)(r.frame.data - C3_FRAME_HEAD_LEN - sc.buf);
                assert_true(k < s.n);
                assert_int_equal(pos, s.at[k]);
                assert_int_equal(r.n, s.flen[k]);
                k++;
            }
        }
        assert_int_equal(k, s.n);
        c3_scanner_free(&sc);
    }
}

static void reset_forgets(void **state)
{
    (void)state;
    struct c3_scanner sc;
    assert_int_equal(c3_scanner_init(&sc, 0), 0);
    static struct stream s;
    memset(&s, 0, sizeof s);
    put_frame(&s, 0xC8, (const uint8_t *)"abc", 3);
    assert_int_equal(c3_scanner_push(&sc, s.b, 6), 6); /* half a frame from the old connection */
    c3_scanner_reset(&sc);
    assert_int_equal(c3_scanner_pending(&sc), 0);
    assert_int_equal(c3_scanner_push(&sc, s.b, s.len), s.len);
    struct c3_scan r;
    assert_int_equal(c3_scanner_next(&sc, &r), C3_SCAN_FRAME);
    assert_memory_equal(r.frame.data, "abc", 3);
    c3_scanner_free(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frames_between_garbage),
        cmocka_unit_test(resync_inside_rejected_candidate),
        cmocka_unit_test(crafted_stream),
        cmocka_unit_test(length_limit),
        cmocka_unit_test(largest_frame_bytewise),
        cmocka_unit_test(same_as_one_shot),
        cmocka_unit_test(reset_forgets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
