#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/crc.h"

static void arc_check_values(void **state)
{
    (void)state;
    assert_int_equal(crc16_arc("123456789", 9), 0xBB3D);
    assert_int_equal(crc16_arc("abcdefg", 7), 0xE9D9);
    assert_int_equal(crc16_arc("0123456789ABCDEF", 16), 0x0F65);
    assert_int_equal(crc16_arc("", 0), 0x0000);
    static const char u[] = "user2\t* 7-19 * 1-8 1,4-5\n";
    assert_int_equal(crc16_arc(u, strlen(u)), 0x09AF);
}

static void arc_incremental_equals_whole(void **state)
{
    (void)state;
    uint16_t c = crc16_arc_update(0, "1234", 4);
    c = crc16_arc_update(c, "56789", 5);
    assert_int_equal(c, 0xBB3D);
}

static void arc_residue_zero_over_frame(void **state)
{
    (void)state;
    /* C3 empty connect frame aa 01 01 00 00 50 3c 55: CRC over addr..data then the CRC bytes gives 0. */
    static const uint8_t f[] = { 0x01, 0x01, 0x00, 0x00, 0x50, 0x3c };
    assert_int_equal(crc16_arc(f, 4), 0x3c50);
    assert_int_equal(crc16_arc(f, 6), 0);
}

static void crc32_check_values(void **state)
{
    (void)state;
    assert_int_equal(crc32_ieee("123456789", 9), 0xCBF43926u);
    assert_int_equal(crc32_ieee("", 0), 0u);
    assert_int_equal(crc32_ieee("The quick brown fox jumps over the lazy dog", 43), 0x414FA339u);
    uint32_t c = crc32_ieee_update(0, "12345", 5);
    assert_int_equal(crc32_ieee_update(c, "6789", 4), 0xCBF43926u);
}

static void maxim_addresses(void **state)
{
    (void)state;
    static const uint8_t scratch[] = { 0x27, 0, 0, 0, 0, 0, 0 };
    static const uint8_t bcast[] = { 0x27, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
    static const uint8_t logid[] = { 0x27, 0x1A, 0x21, 0, 0, 0, 0 };
    static const uint8_t ib[] = { 0x01, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6 };
    assert_int_equal(crc8_maxim(scratch, 7), 0x5C);
    assert_int_equal(crc8_maxim(bcast, 7), 0x4E);
    assert_int_equal(crc8_maxim(logid, 7), 0xFD); /* the documented F3 fails its CRC */
    assert_int_equal(crc8_maxim(ib, 7), 0x8F);
    static const uint8_t full[] = { 0x27, 0, 0, 0, 0, 0, 0, 0x5C };
    assert_int_equal(crc8_maxim(full, 8), 0); /* residue */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arc_check_values),
        cmocka_unit_test(arc_incremental_equals_whole),
        cmocka_unit_test(arc_residue_zero_over_frame),
        cmocka_unit_test(maxim_addresses),
        cmocka_unit_test(crc32_check_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
