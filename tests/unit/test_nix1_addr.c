#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "drivers/nix1/nix1_addr.h"
#include "drivers/nix1/nix1_rc.h"

static void parse_format(void **state)
{
    (void)state;
    nix1_addr_t a;
    char t[17];
    assert_int_equal(nix1_addr_parse_str("271a2100000000f3", &a), 0);
    static const uint8_t want[8] = { 0x27, 0x1A, 0x21, 0, 0, 0, 0, 0xF3 };
    assert_memory_equal(a.b, want, 8);
    assert_string_equal(nix1_addr_format(&a, t), "271A2100000000F3");
    assert_int_equal(nix1_addr_parse("271A2100000000F3Qb", 16, &a), 0);
    /* wrong length or non-hex */
    assert_int_equal(nix1_addr_parse_str("271A2100000000F", &a), -1);
    assert_int_equal(nix1_addr_parse_str("271A2100000000F33", &a), -1);
    assert_int_equal(nix1_addr_parse_str("271A2100000000G3", &a), -1);
    assert_int_equal(nix1_addr_parse_str(" 71A2100000000F3", &a), -1);
    assert_int_equal(nix1_addr_parse_str(NULL, &a), -1);
    assert_int_equal(nix1_addr_parse_str("", &a), -1);
}

static void constants_and_compare(void **state)
{
    (void)state;
    char t[17];
    assert_string_equal(nix1_addr_format(&nix1_addr_scratch, t), NIX1_ADDR_SCRATCH_STR);
    assert_string_equal(nix1_addr_format(&nix1_addr_broadcast, t), NIX1_ADDR_BROADCAST_STR);
    nix1_addr_t a;
    nix1_addr_parse_str("27ffffffffffff4e", &a);
    assert_true(nix1_addr_is_broadcast(&a));
    assert_false(nix1_addr_is_scratch(&a));
    nix1_addr_parse_str("270000000000005c", &a);
    assert_true(nix1_addr_is_scratch(&a));
    assert_true(nix1_addr_text_equal("271a2100000000f3", "271A2100000000F3"));
    assert_false(nix1_addr_text_equal("271A2100000000F3", "271A2100000000FD"));
    assert_false(nix1_addr_text_equal("271A2100000000F3", "nonsense"));
    assert_false(nix1_addr_text_equal(NULL, "271A2100000000F3"));
}

static void crc_check_warns(void **state)
{
    (void)state;
    nix1_addr_t a;
    char msg[128];
    nix1_addr_parse_str(NIX1_ADDR_SCRATCH_STR, &a);
    assert_true(nix1_addr_crc_ok(&a));
    assert_true(nix1_addr_check(&a, msg, sizeof msg));
    assert_string_equal(msg, "");
    nix1_addr_parse_str(NIX1_ADDR_BROADCAST_STR, &a);
    assert_true(nix1_addr_crc_ok(&a));
    /* the documented log ID fails its CRC: a warning, and the address stays usable */
    assert_int_equal(nix1_addr_parse_str("271A2100000000F3", &a), 0);
    assert_false(nix1_addr_crc_ok(&a));
    assert_int_equal(nix1_addr_crc_expected(&a), 0xFD);
    assert_false(nix1_addr_check(&a, msg, sizeof msg));
    assert_string_equal(msg, "address 271A2100000000F3: CRC-8 mismatch (expected FD); using it anyway");
    assert_false(nix1_addr_check(&a, NULL, 0));
    nix1_addr_parse_str("271A2100000000FD", &a);
    assert_true(nix1_addr_crc_ok(&a));
    /* other valid ids from the spec */
    static const char *ok[] = { "270100000000006B", "2702000000000032", "2703000000000005", "01A1B2C3D4E5F68F" };
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(nix1_addr_parse_str(ok[i], &a), 0);
        assert_true(nix1_addr_crc_ok(&a));
    }
    static const uint8_t serial[6] = { 1, 0, 0, 0, 0, 0 };
    nix1_addr_make(&a, 0x27, serial);
    char t[17];
    assert_string_equal(nix1_addr_format(&a, t), "270100000000006B");
}

static void rc_table(void **state)
{
    (void)state;
    static const unsigned codes[] = { 0x00, 0x04, 0x06, 0x15, 0x16, 0x21, 0x41, 0x42, 0x43, 0x44, 0x46, 0x47, 0x48,
                                      0x49, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x57,
                                      0x58, 0x60, 0x61, 0x63, 0x64, 0x65, 0x6C, 0x72, 0x73, 0x74, 0x76, 0x7B, 0xFF };
    assert_int_equal(nix1_rc_count, sizeof codes / sizeof codes[0]);
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const struct nix1_rc_info *r = nix1_rc_info(codes[i]);
        assert_non_null(r);
        assert_int_equal(nix1_rc_table[i].code, codes[i]); /* ascending, complete */
        assert_true(strlen(r->name) > 1);
        assert_true(strlen(r->meaning) > 3);
        assert_int_equal(nix1_rc_from_name(r->name), (int)codes[i]);
    }
    assert_string_equal(nix1_rc_name(0x43), "ERROR_CMD");
    assert_string_equal(nix1_rc_log_name(0x43), "ERROR_CREDENTIAL");
    assert_int_equal(nix1_rc_from_name("ERROR_CREDENTIAL"), 0x43);
    assert_int_equal(nix1_rc_from_name("CREDENTIAL"), 0x43);
    assert_int_equal(nix1_rc_from_name("SDCARDNOTFOUND"), 0x7B);
    assert_int_equal(nix1_rc_from_name("nope"), -1);
    assert_string_equal(nix1_rc_name(0x55), "ERROR_USER");
    assert_string_equal(nix1_rc_log_name(0x55), "ERROR_USER");
    assert_string_equal(nix1_rc_name(0x6C), "ERROR_LOCK");
    assert_string_equal(nix1_rc_name(0x4B), "ERROR_KEY");
    assert_string_equal(nix1_rc_name(0xFF), "ERROR_INT");
    assert_string_equal(nix1_rc_info(0x53)->product, "iC");
    assert_string_equal(nix1_rc_info(0x72)->product, "sC");
    assert_null(nix1_rc_info(0x4E)->product);
    assert_false(nix1_rc_known(0x05));
    assert_false(nix1_rc_known(0x100));
    assert_string_equal(nix1_rc_name(0x05), "UNKNOWN");
    assert_string_equal(nix1_rc_log_meaning(0x43), "key increment differs from the user's (lost or revoked key)");
    assert_string_equal(nix1_rc_log_meaning(0x47), nix1_rc_meaning(0x47));
    /* reply codes never start with 'D' (distinguishability, §5.4) */
    for (size_t i = 0; i < nix1_rc_count; i++)
        assert_int_not_equal(nix1_rc_table[i].code >> 4, 0xD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_format),
        cmocka_unit_test(constants_and_compare),
        cmocka_unit_test(crc_check_warns),
        cmocka_unit_test(rc_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
