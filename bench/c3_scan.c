/* c3_scan: CPU of the C3 frame scanner per MB of random bytes and per MB of the crafted stream (AA 55 C8 00 40
 * repeated: a plausible 16 KB frame with the right end marker every 5 bytes), in one run, and their ratio (the
 * goal is <= 2: the work per byte does not depend on what the bytes are). For comparison the one-shot scanner
 * driven the way a stream used to be (scan the front, drop what it skips, scan again).
 * Usage: c3_scan [MB]   (default 8) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drivers/c3/c3_scan.h"

#define CHUNK 1460 /* one TCP segment */
#define ROUNDS 5

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t frames_seen;

/* The stream scanner, fed in segments. */
static double run_stream(const uint8_t *b, size_t len)
{
    struct c3_scanner sc;
    if (c3_scanner_init(&sc, 0) != 0)
        exit(1);
    double t0 = cpu_s();
    for (size_t off = 0; off < len;) {
        size_t n = len - off < CHUNK ? len - off : CHUNK;
        off += c3_scanner_push(&sc, b + off, n);
        struct c3_scan s;
        while (c3_scanner_next(&sc, &s) == C3_SCAN_FRAME)
            frames_seen++;
    }
    double t = cpu_s() - t0;
    c3_scanner_free(&sc);
    return t;
}

/* The one-shot scanner over a receive buffer, as the session drove it before the stream scanner. */
static double run_one_shot(const uint8_t *b, size_t len)
{
    size_t cap = C3_DATA_MAX_ABS + C3_FRAME_OVERHEAD + 1024;
    uint8_t *rx = malloc(cap);
    size_t have = 0;
    if (!rx)
        exit(1);
    double t0 = cpu_s();
    for (size_t off = 0; off < len;) {
        size_t n = len - off < CHUNK ? len - off : CHUNK;
        if (n > cap - have)
            n = cap - have;
        memcpy(rx + have, b + off, n);
        have += n;
        off += n;
        while (have > 0) {
            struct c3_scan s;
            c3_frame_scan(rx, have, 0, &s);
            if (s.status == C3_SCAN_NEED) {
                if (have >= cap)
                    have = 0;
                break;
            }
            if (s.status == C3_SCAN_FRAME)
                frames_seen++;
            memmove(rx, rx + s.n, have - s.n);
            have -= s.n;
        }
    }
    double t = cpu_s() - t0;
    free(rx);
    return t;
}

static double best(double (*run)(const uint8_t *, size_t), const uint8_t *b, size_t len)
{
    double m = 1e9;
    for (int i = 0; i < ROUNDS; i++) {
        double t = run(b, len);
        if (t < m)
            m = t;
    }
    return m;
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 8;
    if (mb < 1 || mb > 1024) {
        fprintf(stderr, "usage: c3_scan [MB 1..1024]\n");
        return 2;
    }
    size_t len = mb << 20;
    uint8_t *rnd = malloc(len), *crafted = malloc(len);
    if (!rnd || !crafted)
        return 1;
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        rnd[i] = (uint8_t)x;
    }
    static const uint8_t pat[5] = { 0xAA, 0x55, 0xC8, 0x00, 0x40 };
    for (size_t i = 0; i < len; i++)
        crafted[i] = pat[i % 5];

    double sr = best(run_stream, rnd, len) / (double)mb, sc = best(run_stream, crafted, len) / (double)mb;
    /* The one-shot scanner on the crafted stream costs seconds per MB: measure 256 KB of it. */
    size_t small = 256u << 10;
    double or = best(run_one_shot, rnd, len) / (double)mb;
    double oc = run_one_shot(crafted, small) * (double)(1u << 20) / (double)small;
    printf("C3 frame scanner, CPU per MB (best of %d, %zu MB each, %d-byte segments)\n", ROUNDS, mb, CHUNK);
    printf("%-26s %12s %12s %16s\n", "", "random", "crafted", "crafted/random");
    printf("%-26s %9.2f ms %9.2f ms %15.2fx   (goal <= 2)\n", "stream scanner", sr * 1e3, sc * 1e3, sc / sr);
    printf("%-26s %9.2f ms %9.2f ms %15.0fx\n", "one-shot, as before", or * 1e3, oc * 1e3, oc / or);
    printf("stream scanner throughput: %.0f MB/s random, %.0f MB/s crafted; crafted %.0fx cheaper than before\n",
           1 / sr, 1 / sc, oc / sc);
    printf("(frames seen: %llu)\n", (unsigned long long)frames_seen);
    free(rnd);
    free(crafted);
    return 0;
}
