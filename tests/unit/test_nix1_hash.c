#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/crc.h"
#include "drivers/nix1/nix1_hash.h"

static const char SECRET[] = "[Z}4V;qr$(/Kc_aiF7#K8tATNC";
static const char KEYS[] = "1350028169\t[Z}4V;qr$(/Kc_aiF7#K8tATNC\n1349094539\tIdRPKslg\\?/\n";

static void hmac_vector(void **state)
{
    (void)state;
    nix1_addr_t rom;
    char h[NIX1_HASH_HEX_LEN + 1];
    assert_int_equal(nix1_addr_parse_str("01a1b2c3d4e5f68f", &rom), 0); /* written uppercase in the message */
    assert_int_equal(nix1_hash_compute(SECRET, strlen(SECRET), &rom, "Arthur Dent", 1350028169, 3, h), 0);
    assert_string_equal(h, "11C86B27929B3EE84732013882A67718");
    assert_true(nix1_hash_verify(SECRET, strlen(SECRET), &rom, "Arthur Dent", 1350028169, 3,
                                 "11c86b27929b3ee84732013882a67718", 32));
    assert_false(nix1_hash_verify(SECRET, strlen(SECRET), &rom, "Arthur Dent", 1350028169, 4, h, 32));
    assert_false(nix1_hash_verify(SECRET, strlen(SECRET), &rom, "Arthur Dent", 1350028169, 3, h, 31));
    assert_false(nix1_hash_verify("x", 1, &rom, "Arthur Dent", 1350028169, 3, h, 32));
    /* every input takes part */
    char h2[NIX1_HASH_HEX_LEN + 1];
    nix1_hash_compute(SECRET, strlen(SECRET), &rom, "Arthur Dent", 1350028170, 3, h2);
    assert_string_not_equal(h, h2);
    nix1_hash_compute(SECRET, strlen(SECRET), &rom, "Arthur  Dent", 1350028169, 3, h2);
    assert_string_not_equal(h, h2);
    /* bad input */
    assert_int_equal(nix1_hash_compute("", 0, &rom, "a", 1, 1, h), -1);
    assert_int_equal(nix1_hash_compute(SECRET, strlen(SECRET), &rom, "a\tb", 1, 1, h), -1);
    assert_int_equal(nix1_hash_compute(SECRET, strlen(SECRET), NULL, "a", 1, 1, h), -1);
}

static void crc_vectors(void **state)
{
    (void)state;
    char c[5];
    uint16_t v;
    assert_string_equal(nix1_crc4("123456789", 9, c), "BB3D");
    static const char u[] = "user2\t* 7-19 * 1-8 1,4-5\n";
    assert_int_equal(strlen(u), 25);
    assert_string_equal(nix1_crc4(u, 25, c), "09AF");
    assert_int_equal(strlen(KEYS), 61);
    assert_string_equal(nix1_crc4(KEYS, 61, c), "7A79");
    assert_string_equal(nix1_crc4(KEYS, 32, c), "CD1D");
    assert_string_equal(nix1_crc4(KEYS + 32, 29, c), "EF66");
    assert_string_equal(nix1_crc4("", 0, c), "0000");
    assert_true(nix1_crc4_parse("09af", 4, &v) && v == 0x09AF);
    assert_false(nix1_crc4_parse("9AF", 3, &v));
    assert_false(nix1_crc4_parse("09AG", 4, &v));
}

static void hex_blocks(void **state)
{
    (void)state;
    char hex[64];
    uint8_t out[32];
    assert_int_equal(nix1_hex_encode("a", 1, hex, sizeof hex), 2);
    assert_string_equal(hex, "61"); /* the doc's example: 'a' -> "61" */
    assert_int_equal(nix1_hex_encode("\x00\xff\x10", 3, hex, sizeof hex), 6);
    assert_string_equal(hex, "00FF10");
    assert_int_equal(nix1_hex_encode("abc", 3, hex, 6), -1);
    assert_int_equal(nix1_hex_decode("00ff10", 6, out, sizeof out), 3);
    assert_memory_equal(out, "\x00\xff\x10", 3);
    assert_int_equal(nix1_hex_decode("0", 1, out, sizeof out), -1);
    assert_int_equal(nix1_hex_decode("0g", 2, out, sizeof out), -1);
    assert_int_equal(nix1_hex_decode("0000", 4, out, 1), -1);
    assert_int_equal(nix1_hex_decode("", 0, out, 0), 0);
}

static void packets(void **state)
{
    (void)state;
    static const char u[] = "user2\t* 7-19 * 1-8 1,4-5\n";
    char opt[400];
    int n = nix1_packet_encode(opt, sizeof opt, 1, u, 25);
    assert_string_equal(opt, "1\t25\t09AF\t7573657232092A20372D3139202A20312D3820312C342D350A");
    assert_int_equal(n, (int)strlen(opt));
    struct nix1_packet p;
    assert_int_equal(nix1_packet_decode(opt, (size_t)n, &p), 0x00);
    assert_int_equal(p.total, 1);
    assert_int_equal(p.len, 25);
    assert_int_equal(p.crc, 0x09AF);
    assert_memory_equal(p.data, u, 25);
    /* KEYS.TXT in two 32-byte blocks */
    n = nix1_packet_encode(opt, sizeof opt, 2, KEYS, 32);
    assert_memory_equal(opt, "2\t32\tCD1D\t", 10);
    assert_int_equal(nix1_packet_decode(opt, (size_t)n, &p), 0x00);
    n = nix1_packet_encode(opt, sizeof opt, 2, KEYS + 32, 29);
    assert_memory_equal(opt, "2\t29\tEF66\t", 10);
    assert_int_equal(nix1_packet_decode(opt, (size_t)n, &p), 0x00);
    assert_memory_equal(p.data, KEYS + 32, 29);
    /* 128-byte block: the longest request line is 289 chars */
    uint8_t big[128];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    n = nix1_packet_encode(opt, sizeof opt, 65535, big, 128);
    assert_int_equal(16 + 2 + n, 16 + 2 + 5 + 1 + 3 + 1 + 4 + 1 + 256);
    assert_int_equal(nix1_packet_decode(opt, (size_t)n, &p), 0x00);
    assert_int_equal(nix1_packet_encode(opt, sizeof opt, 1, big, 0), -1);
    assert_int_equal(nix1_packet_encode(opt, sizeof opt, 1, big, 129), -1);
    assert_int_equal(nix1_packet_encode(opt, sizeof opt, 0, big, 1), -1);
    assert_int_equal(nix1_packet_encode(opt, 10, 1, big, 8), -1);
    /* decode order: fields 50, hex 52, CRC 47 */
    const char *c;
    c = "1\t25\t09AF";
    assert_int_equal(nix1_packet_decode(c, strlen(c), &p), 0x50);
    c = "1\t0\t0000\t";
    assert_int_equal(nix1_packet_decode(c, strlen(c), &p), 0x50);
    c = "1\t2\t0000\t61";
    assert_int_equal(nix1_packet_decode(c, strlen(c), &p), 0x52); /* length mismatch */
    c = "1\t1\t0000\t6G";
    assert_int_equal(nix1_packet_decode(c, strlen(c), &p), 0x52);
    c = "1\t1\t0000\t61";
    assert_int_equal(nix1_packet_decode(c, strlen(c), &p), 0x47);
    char crc[5];
    nix1_crc4("a", 1, crc);
    char ok[32];
    strcpy(ok, "1\t1\t");
    strcat(ok, crc);
    strcat(ok, "\t61");
    assert_int_equal(nix1_packet_decode(ok, strlen(ok), &p), 0x00);
}

static void keys(void **state)
{
    (void)state;
    char k[NIX1_KEY_MAX + 1], k2[NIX1_KEY_MAX + 1];
    assert_int_equal(nix1_key_generate(k, 32), 0);
    assert_int_equal(strlen(k), 32);
    for (size_t i = 0; i < 32; i++)
        assert_true(k[i] > 0x20 && k[i] < 0x7F);
    assert_true(nix1_key_valid(k, 32));
    assert_int_equal(nix1_key_generate(k2, 32), 0);
    assert_string_not_equal(k, k2); /* 94^32 possibilities */
    assert_int_equal(nix1_key_generate(k, 64), 0);
    assert_int_equal(nix1_key_generate(k, 0), -1);
    assert_int_equal(nix1_key_generate(k, 65), -1);
    /* all 94 symbols show up over enough draws (uniform choice, no bias to a subset) */
    bool seen[128] = { false };
    for (int r = 0; r < 200; r++) {
        nix1_key_generate(k, 64);
        for (size_t i = 0; i < 64; i++)
            seen[(unsigned char)k[i]] = true;
    }
    for (int ch = 0x21; ch < 0x7F; ch++)
        assert_true(seen[ch]);
    assert_false(seen[' ']);
    assert_true(nix1_key_valid("IdRPKslg\\?/", 11));
    assert_false(nix1_key_valid("a\tb", 3));
    assert_false(nix1_key_valid("", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hmac_vector), cmocka_unit_test(crc_vectors), cmocka_unit_test(hex_blocks),
        cmocka_unit_test(packets),     cmocka_unit_test(keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
