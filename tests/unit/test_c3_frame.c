#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/crc.h"
#include "drivers/c3/c3_frame.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = hex; p[0] && p[1] && n < cap; p += 2) {
        unsigned v;
        if (sscanf(p, "%2x", &v) != 1)
            break;
        out[n++] = (uint8_t)v;
    }
    return n;
}

struct vec {
    uint8_t cmd;
    bool session;
    uint16_t sid, nr;
    const char *payload; /* text payloads */
    const uint8_t *bin;  /* or binary */
    size_t bin_len;
    const char *hex;
};

static const uint8_t ctl_door1[] = { 1, 1, 1, 5, 0 };
static const uint8_t ctl_aux2[] = { 1, 2, 2, 2, 0 };
static const uint8_t ctl_cancel[] = { 2, 0, 0, 0, 0 };
static const uint8_t ctl_no2[] = { 4, 2, 1, 0, 0 };
static const uint8_t ctl_restart[] = { 3, 0, 0, 0, 0 };
static const uint8_t getdata[] = { 1, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0 };

#define SID 0x8AD1
#define NR(n) ((uint16_t)(n))

/* Every request vector from spec §1, in table order. */
static const struct vec vectors[] = {
    { 0x76, true, 0xFEFE, 0xFEFE, "", NULL, 0, "aa01760400fefefefe467755" },
    { 0x76, true, 0xFEFE, 0xFEFE, "banana123", NULL, 0, "aa01760d00fefefefe62616e616e61313233961955" },
    { 0x01, false, 0, 0, "", NULL, 0, "aa01010000503c55" },
    { 0x01, false, 0, 0, "Admin123", NULL, 0, "aa0101080041646d696e313233d40955" },
    { 0x04, true, SID, NR(-257), "~SerialNumber,LockCount", NULL, 0,
      "aa01041b00d18afffe7e53657269616c4e756d6265722c4c6f636b436f756e74127d55" },
    { 0x0B, true, SID, NR(-256), "", NULL, 0, "aa010b0400d18a00ff221e55" },
    { 0x05, true, SID, NR(-255), NULL, ctl_door1, 5, "aa01050900d18a01ff0101010500523855" },
    { 0x05, true, SID, NR(-254), NULL, ctl_aux2, 5, "aa01050900d18a02ff0102020200934c55" },
    { 0x05, true, SID, NR(-253), NULL, ctl_cancel, 5, "aa01050900d18a03ff0200000000669455" },
    { 0x05, true, SID, NR(-252), NULL, ctl_no2, 5, "aa01050900d18a04ff0402010000c82c55" },
    { 0x05, true, SID, NR(-251), NULL, ctl_restart, 5, "aa01050900d18a05ff03000000003d5455" },
    { 0x06, true, SID, NR(-250), "", NULL, 0, "aa01060400d18a06fffd7e55" },
    { 0x08, true, SID, NR(-249), NULL, getdata, sizeof getdata,
      "aa01081100d18a07ff01090102030405060708090000c75855" },
    { 0x03, true, SID, NR(-248), "DateTime=812649252", NULL, 0,
      "aa01031600d18a08ff4461746554696d653d383132363439323532e47755" },
    { 0x02, true, SID, NR(-247), "", NULL, 0, "aa01020400d18a09ffbd4e55" },
    { 0x04, false, 0, 0, "~SerialNumber,LockCount", NULL, 0,
      "aa010417007e53657269616c4e756d6265722c4c6f636b436f756e749b4c55" },
    { 0x0B, false, 0, 0, "", NULL, 0, "aa010b0000703e55" },
    { 0x02, false, 0, 0, "", NULL, 0, "aa01020000a03c55" },
    { 0x14, false, 0, 0, C3_DISCOVER_PAYLOAD, NULL, 0, "aa0114120043616c6c5365637572697479446576696365eea955" },
};

static void spec_request_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const struct vec *v = &vectors[i];
        uint8_t want[128], got[128];
        size_t wn = unhex(v->hex, want, sizeof want);
        struct c3_frame_hdr h = { C3_ADDRESS_DEFAULT, v->cmd, v->session, v->sid, v->nr };
        const void *pl = v->bin ? (const void *)v->bin : (const void *)v->payload;
        size_t pn = v->bin ? v->bin_len : strlen(v->payload);
        int n = c3_frame_encode(got, sizeof got, &h, pl, pn);
        assert_int_equal(n, (int)wn);
        assert_int_equal((size_t)n, c3_frame_size(v->session, pn));
        assert_memory_equal(got, want, wn);

        /* And back: the scanner sees exactly one frame, the parser returns the fields. */
        struct c3_scan s;
        assert_int_equal(c3_frame_scan(want, wn, 0, &s), C3_SCAN_FRAME);
        assert_int_equal(s.n, wn);
        struct c3_frame f;
        assert_int_equal(c3_frame_parse(want, wn, &f), 0);
        assert_int_equal(f.address, 1);
        assert_int_equal(f.command, v->cmd);
        if (v->session) {
            uint16_t sid, nr;
            const uint8_t *p;
            size_t plen;
            assert_int_equal(c3_frame_session(&f, &sid, &nr, &p, &plen), 0);
            assert_int_equal(sid, v->sid);
            assert_int_equal(nr, v->nr);
            assert_int_equal(plen, pn);
            if (pn)
                assert_memory_equal(p, pl, pn);
        } else {
            assert_int_equal(f.data_len, pn);
        }
    }
}

static void message_number_zero_keeps_length(void **state)
{
    (void)state;
    /* zkaccess-c3-py sends aa010b0000d18a000063da55 for nr 0 (length omits the prefix). We must not. */
    uint8_t got[32], bad[16];
    struct c3_frame_hdr h = { 1, C3_CMD_RTLOG_BINARY, true, SID, 0 };
    int n = c3_frame_encode(got, sizeof got, &h, NULL, 0);
    assert_int_equal(n, 12);
    assert_int_equal(got[3], 4);
    assert_int_equal(got[4], 0);
    struct c3_frame f;
    assert_int_equal(c3_frame_parse(got, (size_t)n, &f), 0);
    assert_int_equal(f.data_len, 4);
    /* The library's malformed frame: length 0 but 4 extra bytes -> bad end byte / CRC, never a frame. */
    size_t bn = unhex("aa010b0000d18a000063da55", bad, sizeof bad);
    struct c3_scan s;
    assert_int_equal(c3_frame_scan(bad, bn, 0, &s), C3_SCAN_SKIP);
    assert_true(s.err == C3_E_END || s.err == C3_E_CRC);
    /* Counter wraps 0xFFFF -> 0 and the -258 start is 0xFEFE. */
    assert_int_equal(c3_msgnr_next(0xFFFF), 0);
    assert_int_equal(c3_msgnr_next(C3_MSGNR_CONNECT), 0xFEFF);
    assert_int_equal(C3_MSGNR_CONNECT, (uint16_t)-258);
    /* Every message number encodes to a 12-byte frame. */
    for (uint32_t nr = 0; nr <= 0xFFFF; nr += 257) {
        h.nr = (uint16_t)nr;
        assert_int_equal(c3_frame_encode(got, sizeof got, &h, NULL, 0), 12);
        assert_int_equal(c3_get_le16(got + 3), 4);
    }
}

static void crc_check_values(void **state)
{
    (void)state;
    assert_int_equal(crc16_arc("123456789", 9), 0xBB3D);
    assert_int_equal(crc16_arc("abcdefg", 7), 0xE9D9);
    assert_int_equal(crc16_arc("0123456789ABCDEF", 16), 0x0F65);
}

static void replies_any_address(void **state)
{
    (void)state;
    uint8_t buf[64];
    /* Session connect reply C8 d1 8a fe fe, from a panel with DeviceID 2. */
    const uint8_t ok[] = { 0xD1, 0x8A, 0xFE, 0xFE };
    struct c3_frame_hdr h = { 2, C3_REPLY_OK, false, 0, 0 };
    int n = c3_frame_encode(buf, sizeof buf, &h, ok, sizeof ok);
    assert_int_equal(n, 12);
    struct c3_frame f;
    struct c3_reply r;
    assert_int_equal(c3_frame_parse(buf, (size_t)n, &f), 0);
    assert_int_equal(f.address, 2);
    assert_int_equal(c3_reply_parse(&f, true, &r), 0);
    assert_int_equal(r.code, C3_REPLY_OK);
    assert_true(r.has_session);
    assert_int_equal(r.sid, 0x8AD1);
    assert_int_equal(r.nr, 0xFEFE);
    assert_int_equal(r.payload_len, 0);
    assert_int_equal(r.error, 0);

    /* Address 0x00 also fine; session-less OK with no data. */
    h.address = 0;
    n = c3_frame_encode(buf, sizeof buf, &h, NULL, 0);
    assert_int_equal(c3_frame_parse(buf, (size_t)n, &f), 0);
    assert_int_equal(c3_reply_parse(&f, false, &r), 0);
    assert_false(r.has_session);
    assert_int_equal(r.payload_len, 0);
    /* Session mode, disconnect answered with empty data: accepted without prefix. */
    assert_int_equal(c3_reply_parse(&f, true, &r), 0);
    assert_false(r.has_session);
}

static void error_replies(void **state)
{
    (void)state;
    uint8_t buf[64];
    struct c3_frame f;
    struct c3_reply r;
    /* Session-less firmware rejects 0x76: C9 with just the error byte, even though we asked for a session. */
    int n = c3_frame_encode_error(buf, sizeof buf, 1, false, 0, 0, -13);
    assert_int_equal(n, 9);
    assert_int_equal(buf[2], 0xC9);
    assert_int_equal(buf[5], 0xF3);
    assert_int_equal(c3_frame_parse(buf, (size_t)n, &f), 0);
    assert_int_equal(c3_reply_parse(&f, true, &r), 0);
    assert_int_equal(r.code, C3_REPLY_ERROR);
    assert_int_equal(r.error, -13);
    assert_false(r.has_session);
    assert_string_equal(c3_strerror(r.error), "unknown or unsupported command");
    assert_string_equal(c3_errname(-13), "ERR_UNKNOWN_CMD");

    /* Session mode error: sid + nr + error byte. */
    n = c3_frame_encode_error(buf, sizeof buf, 1, true, 0x8AD1, 0xFF05, -14);
    assert_int_equal(n, 13);
    assert_int_equal(c3_frame_parse(buf, (size_t)n, &f), 0);
    assert_int_equal(c3_reply_parse(&f, true, &r), 0);
    assert_true(r.has_session);
    assert_int_equal(r.sid, 0x8AD1);
    assert_int_equal(r.nr, 0xFF05);
    assert_int_equal(r.error, -14);
    assert_int_equal(r.payload_len, 0);
    assert_string_equal(c3_strerror(-14), "wrong communication password");

    /* Every panel code -1..-25 and -99 has a message; unknown codes still give one. */
    for (int c = -1; c >= -25; c--)
        assert_string_not_equal(c3_strerror(c), "unknown error");
    assert_string_equal(c3_strerror(-99), "unknown error");
    assert_string_equal(c3_strerror(-77), "unknown error");
    assert_null(c3_errname(-77));
    assert_string_equal(c3_strerror(C3_E_CRC), "frame CRC mismatch");
    assert_string_equal(c3_strerror(0), "success");
    assert_int_equal(c3_frame_encode_error(buf, sizeof buf, 1, false, 0, 0, -300), C3_E_RANGE);

    /* C9 with no data at all is malformed; an unknown reply code is reported. */
    struct c3_frame_hdr h = { 1, C3_REPLY_ERROR, false, 0, 0 };
    n = c3_frame_encode(buf, sizeof buf, &h, NULL, 0);
    assert_int_equal(c3_frame_parse(buf, (size_t)n, &f), 0);
    assert_int_equal(c3_reply_parse(&f, false, &r), C3_E_NOERRBYTE);
    h.command = 0x42;
    n = c3_frame_encode(buf, sizeof buf, &h, NULL, 0);
    assert_int_equal(c3_frame_parse(buf, (size_t)n, &f), 0);
    assert_int_equal(c3_reply_parse(&f, false, &r), C3_E_CODE);
    /* Session mode C8 with 2 data bytes: prefix short. */
    h.command = C3_REPLY_OK;
    n = c3_frame_encode(buf, sizeof buf, &h, "ab", 2);
    assert_int_equal(c3_frame_parse(buf, (size_t)n, &f), 0);
    assert_int_equal(c3_reply_parse(&f, true, &r), C3_E_PREFIX);
    assert_int_equal(c3_reply_parse(&f, false, &r), 0);
    assert_int_equal(r.payload_len, 2);
}

static void bigdata_header(void **state)
{
    (void)state;
    struct c3_bigdata b = { 0, 12345, 12345, 0xDEADBEEF, 5 * 1024 - 12 }, b2;
    uint8_t hdr[17], buf[64];
    assert_int_equal(c3_bigdata_encode(hdr, sizeof hdr, &b), 17);
    assert_int_equal(c3_bigdata_encode(hdr, 16, &b), C3_E_NOSPACE);
    struct c3_frame_hdr h = { 1, C3_REPLY_PREPARE, true, 0x1234, 0x0007 };
    int n = c3_frame_encode(buf, sizeof buf, &h, hdr, sizeof hdr);
    struct c3_frame f;
    struct c3_reply r;
    assert_int_equal(c3_frame_parse(buf, (size_t)n, &f), 0);
    assert_int_equal(c3_reply_parse(&f, true, &r), 0);
    assert_int_equal(r.code, C3_REPLY_PREPARE);
    assert_int_equal(r.nr, 7);
    assert_int_equal(c3_bigdata_parse(r.payload, r.payload_len, &b2), 0);
    assert_int_equal(b2.transfer_len, 12345);
    assert_int_equal(b2.crc32, 0xDEADBEEF);
    assert_int_equal(b2.chunk_max, 5 * 1024 - 12);
    assert_int_equal(c3_bigdata_parse(hdr, 16, &b2), C3_E_BIGDATA);
    /* A 0x0D reply whose body is not 17 bytes is rejected. */
    n = c3_frame_encode(buf, sizeof buf, &h, hdr, 10);
    assert_int_equal(c3_frame_parse(buf, (size_t)n, &f), 0);
    assert_int_equal(c3_reply_parse(&f, true, &r), C3_E_BIGDATA);
}

static void malformed_frames(void **state)
{
    (void)state;
    uint8_t f0[16];
    size_t n = unhex("aa01010000503c55", f0, sizeof f0);
    struct c3_frame f;
    struct c3_scan s;
    uint8_t b[16];

    /* Bad CRC (each CRC byte), bad end byte. */
    memcpy(b, f0, n);
    b[5] ^= 1;
    assert_int_equal(c3_frame_parse(b, n, &f), C3_E_CRC);
    assert_int_equal(c3_frame_scan(b, n, 0, &s), C3_SCAN_SKIP);
    assert_int_equal(s.err, C3_E_CRC);
    assert_int_equal(s.n, n); /* no other 0xAA in the buffer */
    memcpy(b, f0, n);
    b[6] ^= 0x80;
    assert_int_equal(c3_frame_parse(b, n, &f), C3_E_CRC);
    memcpy(b, f0, n);
    b[7] = 0x54;
    assert_int_equal(c3_frame_parse(b, n, &f), C3_E_END);
    assert_int_equal(c3_frame_scan(b, n, 0, &s), C3_SCAN_SKIP);
    assert_int_equal(s.err, C3_E_END);
    /* Data corruption is a CRC error. */
    memcpy(b, f0, n);
    b[2] = 0x02;
    assert_int_equal(c3_frame_parse(b, n, &f), C3_E_CRC);
    /* Short and trailing. */
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(c3_frame_parse(f0, k, &f), k == 0 ? C3_E_SHORT : C3_E_SHORT);
        assert_int_equal(c3_frame_scan(f0, k, 0, &s), C3_SCAN_NEED);
        assert_int_equal(s.n, k == 0 ? 1 : (k < 5 ? 5 - k : n - k));
    }
    memcpy(b, f0, n);
    b[n] = 0;
    assert_int_equal(c3_frame_parse(b, n + 1, &f), C3_E_TRAILING);
    assert_int_equal(c3_frame_parse((const uint8_t *)"x", 1, &f), C3_E_START);

    /* Oversized length: decided as soon as the header is in, skip to the next 0xAA. */
    uint8_t big[] = { 0xAA, 0x01, 0xC8, 0x01, 0x50, 0x00, 0xAA, 0x01 };
    assert_int_equal(c3_frame_scan(big, 5, 0, &s), C3_SCAN_SKIP);
    assert_int_equal(s.err, C3_E_TOOLONG);
    assert_int_equal(s.n, 5);
    assert_int_equal(c3_frame_scan(big, sizeof big, 0, &s), C3_SCAN_SKIP);
    assert_int_equal(s.n, 6);
    /* With a larger limit it is just incomplete. */
    assert_int_equal(c3_frame_scan(big, sizeof big, 0x5001, &s), C3_SCAN_NEED);
    assert_int_equal(s.n, 0x5001 + 8 - sizeof big);
    /* Payload above 65535 cannot be encoded. */
    struct c3_frame_hdr h = { 1, 1, true, 0, 0 };
    assert_int_equal(c3_frame_encode(b, sizeof b, &h, NULL, 65532), C3_E_TOOLONG);
    assert_int_equal(c3_frame_encode(b, 11, &h, NULL, 0), C3_E_NOSPACE);
}

static void stream_resync(void **state)
{
    (void)state;
    /* garbage, a frame split anywhere, a bad frame, a good frame, partial frame. */
    uint8_t stream[128];
    size_t len = 0;
    const uint8_t junk[] = { 0x00, 0x55, 0x13 };
    memcpy(stream, junk, sizeof junk);
    len += sizeof junk;
    len += unhex("aa010b0400d18a00ff221e55", stream + len, sizeof stream - len);
    size_t bad_at = len;
    len += unhex("aa01010000503d55", stream + len, sizeof stream - len); /* bad CRC */
    len += unhex("aa010b0000703e55", stream + len, sizeof stream - len);
    len += unhex("aa0102", stream + len, sizeof stream - len); /* partial */
    (void)bad_at;

    size_t pos = 0;
    int frames = 0, skips = 0, crc_errors = 0;
    uint8_t cmds[4];
    for (;;) {
        struct c3_scan s;
        enum c3_scan_status st = c3_frame_scan(stream + pos, len - pos, 0, &s);
        if (st == C3_SCAN_NEED)
            break;
        if (st == C3_SCAN_SKIP) {
            assert_true(s.n >= 1);
            skips++;
            if (s.err == C3_E_CRC)
                crc_errors++;
            pos += s.n;
            continue;
        }
        struct c3_frame f;
        assert_int_equal(c3_frame_parse(stream + pos, s.n, &f), 0);
        assert_ptr_equal(s.frame.data, f.data);
        assert_int_equal(s.frame.data_len, f.data_len);
        assert_int_equal(s.frame.command, f.command);
        cmds[frames++] = f.command;
        pos += s.n;
    }
    assert_int_equal(frames, 2);
    assert_int_equal(cmds[0], 0x0B);
    assert_int_equal(cmds[1], 0x0B);
    assert_int_equal(skips, 2);
    assert_int_equal(crc_errors, 1);
    assert_int_equal(len - pos, 3); /* the partial frame stays */

    /* Feeding byte by byte gives the same result: NEED until complete, then FRAME. */
    uint8_t one[64];
    size_t n1 = unhex("aa01041b00d18afffe7e53657269616c4e756d6265722c4c6f636b436f756e74127d55", one, sizeof one);
    for (size_t k = 0; k < n1; k++) {
        struct c3_scan s;
        assert_int_equal(c3_frame_scan(one, k, 0, &s), C3_SCAN_NEED);
        assert_true(s.n >= 1 && k + s.n <= n1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_request_vectors),
        cmocka_unit_test(message_number_zero_keeps_length),
        cmocka_unit_test(crc_check_values),
        cmocka_unit_test(replies_any_address),
        cmocka_unit_test(error_replies),
        cmocka_unit_test(bigdata_header),
        cmocka_unit_test(malformed_frames),
        cmocka_unit_test(stream_resync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
