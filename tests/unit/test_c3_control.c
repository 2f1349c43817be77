#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "drivers/c3/c3_control.h"
#include "drivers/c3/c3_frame.h"

/* Spec §1 control vectors (session 0x8AD1), whole frames. */
static void check_frame(const uint8_t payload[5], uint16_t nr, const uint8_t *want, size_t wn)
{
    uint8_t buf[32];
    struct c3_frame_hdr h = { 1, C3_CMD_CONTROL, true, 0x8AD1, nr };
    int n = c3_frame_encode(buf, sizeof buf, &h, payload, C3_CONTROL_LEN);
    assert_int_equal(n, (int)wn);
    assert_memory_equal(buf, want, wn);
}

static void spec_vectors(void **state)
{
    (void)state;
    uint8_t p[C3_CONTROL_LEN];
    static const uint8_t door1[] = { 0xaa, 0x01, 0x05, 0x09, 0x00, 0xd1, 0x8a, 0x01, 0xff, 0x01, 0x01,
                                     0x01, 0x05, 0x00, 0x52, 0x38, 0x55 };
    static const uint8_t aux2[] = { 0xaa, 0x01, 0x05, 0x09, 0x00, 0xd1, 0x8a, 0x02, 0xff, 0x01, 0x02,
                                    0x02, 0x02, 0x00, 0x93, 0x4c, 0x55 };
    static const uint8_t cancel[] = { 0xaa, 0x01, 0x05, 0x09, 0x00, 0xd1, 0x8a, 0x03, 0xff, 0x02, 0x00,
                                      0x00, 0x00, 0x00, 0x66, 0x94, 0x55 };
    static const uint8_t no2[] = { 0xaa, 0x01, 0x05, 0x09, 0x00, 0xd1, 0x8a, 0x04, 0xff, 0x04, 0x02,
                                   0x01, 0x00, 0x00, 0xc8, 0x2c, 0x55 };
    static const uint8_t restart[] = { 0xaa, 0x01, 0x05, 0x09, 0x00, 0xd1, 0x8a, 0x05, 0xff, 0x03, 0x00,
                                       0x00, 0x00, 0x00, 0x3d, 0x54, 0x55 };
    assert_int_equal(c3_control_output(p, C3_OUTPUT_DOOR, 1, 5), 5);
    check_frame(p, (uint16_t)-255, door1, sizeof door1);
    assert_int_equal(c3_control_output(p, C3_OUTPUT_AUX, 2, 2), 5);
    check_frame(p, (uint16_t)-254, aux2, sizeof aux2);
    assert_int_equal(c3_control_cancel_alarm(p), 5);
    check_frame(p, (uint16_t)-253, cancel, sizeof cancel);
    assert_int_equal(c3_control_normal_open(p, 2, true), 5);
    check_frame(p, (uint16_t)-252, no2, sizeof no2);
    assert_int_equal(c3_control_restart(p), 5);
    check_frame(p, (uint16_t)-251, restart, sizeof restart);
}

static void durations_and_ranges(void **state)
{
    (void)state;
    uint8_t p[C3_CONTROL_LEN];
    static const uint8_t close3[] = { 1, 3, 1, 0, 0 }, latch4[] = { 1, 4, 1, 255, 0 }, aux254[] = { 1, 1, 2, 254, 0 };
    assert_int_equal(c3_control_output(p, C3_OUTPUT_DOOR, 3, C3_OUTPUT_CLOSE), 5);
    assert_memory_equal(p, close3, 5);
    assert_int_equal(c3_control_output(p, C3_OUTPUT_DOOR, 4, C3_OUTPUT_LATCH), 5);
    assert_memory_equal(p, latch4, 5);
    assert_int_equal(c3_control_output(p, C3_OUTPUT_AUX, 1, 254), 5);
    assert_memory_equal(p, aux254, 5);
    assert_int_equal(c3_control_output(p, C3_OUTPUT_DOOR, 0, 5), C3_E_RANGE);
    assert_int_equal(c3_control_output(p, C3_OUTPUT_DOOR, 5, 5), C3_E_RANGE);
    assert_int_equal(c3_control_output(p, C3_OUTPUT_DOOR, 1, 256), C3_E_RANGE);
    assert_int_equal(c3_control_output(p, (enum c3_output_type)3, 1, 5), C3_E_RANGE);
    assert_int_equal(c3_control_normal_open(p, 0, true), C3_E_RANGE);
    static const uint8_t nodis[] = { 4, 1, 0, 0, 0 };
    assert_int_equal(c3_control_normal_open(p, 1, false), 5);
    assert_memory_equal(p, nodis, 5);
}

static void parse_and_describe(void **state)
{
    (void)state;
    struct c3_control c;
    char buf[64];
    static const uint8_t door1[] = { 1, 1, 1, 5, 0 };
    assert_int_equal(c3_control_parse(door1, 5, &c), 0);
    assert_int_equal(c.op, C3_CTL_OUTPUT);
    assert_int_equal(c.number, 1);
    assert_int_equal(c.type, C3_OUTPUT_DOOR);
    assert_int_equal(c.duration, 5);
    c3_control_describe(&c, buf, sizeof buf);
    assert_string_equal(buf, "door 1 open 5 s");
    uint8_t again[5];
    assert_int_equal(c3_control_encode(again, &c), 5);
    assert_memory_equal(again, door1, 5);

    static const uint8_t aux_off[] = { 1, 2, 2, 0, 0 }, latch[] = { 1, 3, 1, 255, 0 };
    assert_int_equal(c3_control_parse(aux_off, 5, &c), 0);
    c3_control_describe(&c, buf, sizeof buf);
    assert_string_equal(buf, "aux 2 off");
    assert_int_equal(c3_control_parse(latch, 5, &c), 0);
    c3_control_describe(&c, buf, sizeof buf);
    assert_string_equal(buf, "door 3 open (latched)");
    static const uint8_t no[] = { 4, 2, 1, 0, 0 }, cancel[] = { 2, 0, 0, 0, 0 }, rs[] = { 3, 0, 0, 0, 0 };
    assert_int_equal(c3_control_parse(no, 5, &c), 0);
    assert_true(c.enable);
    c3_control_describe(&c, buf, sizeof buf);
    assert_string_equal(buf, "door 2 normal-open enable");
    assert_int_equal(c3_control_parse(cancel, 5, &c), 0);
    c3_control_describe(&c, buf, sizeof buf);
    assert_string_equal(buf, "cancel alarms");
    assert_int_equal(c3_control_parse(rs, 5, &c), 0);
    assert_int_equal(c.op, C3_CTL_RESTART);

    /* Malformed: wrong length, unknown op, bad door, bad type, bad enable flag. */
    assert_int_equal(c3_control_parse(door1, 4, &c), C3_E_SHORT);
    assert_int_equal(c3_control_parse(door1, 0, &c), C3_E_SHORT);
    static const uint8_t bad[][5] = { { 0, 0, 0, 0, 0 }, { 5, 0, 0, 0, 0 }, { 1, 0, 1, 5, 0 }, { 1, 5, 1, 5, 0 },
                                      { 1, 1, 3, 5, 0 }, { 4, 1, 2, 0, 0 }, { 4, 9, 1, 0, 0 } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(c3_control_parse(bad[i], 5, &c), C3_E_RANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_vectors),
        cmocka_unit_test(durations_and_ranges),
        cmocka_unit_test(parse_and_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
