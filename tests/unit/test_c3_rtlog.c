#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_rtlog.h"
#include "drivers/c3/c3_tables.h"
#include "drivers/c3/c3_time.h"

static void put_time(uint8_t *rec, uint32_t t)
{
    c3_put_le32(rec + 12, t);
}

static void binary_event(void **state)
{
    (void)state;
    /* The record documented by zkaccess-c3-py: card 0x00864f01, pin 9999001, card verify, door 1, event 0. */
    static const uint8_t rec[16] = { 0x01, 0x4f, 0x86, 0x00, 0x99, 0x92, 0x98, 0x00,
                                     0x04, 0x01, 0x00, 0x00, 0xa5, 0xad, 0xad, 0x21 };
    struct c3_rt_record r[2];
    assert_int_equal(c3_rtlog_parse_binary(rec, sizeof rec, r, 2), 1);
    assert_int_equal(r[0].kind, C3_RT_EVENT);
    assert_int_equal(r[0].event.card, 8802049u);
    assert_int_equal(r[0].event.pin, 9999001u);
    assert_int_equal(r[0].event.verify, 4);
    assert_int_equal(r[0].event.door, 1);
    assert_int_equal(r[0].event.type, 0);
    assert_int_equal(r[0].event.inout, C3_INOUT_ENTRY);
    assert_int_equal(r[0].event.index, -1);
    char t[C3_TIME_ISO_LEN];
    c3_time_format(r[0].time, 'T', t, sizeof t);
    assert_string_equal(t, "2017-07-30T16:51:49");
    uint8_t back[16];
    assert_int_equal(c3_rtlog_encode_record(&r[0], back), 16);
    assert_memory_equal(back, rec, 16);
}

static void binary_status(void **state)
{
    (void)state;
    /* Door 1 alarm, door 2 open timeout, door 3 both; sensors closed / open / none / closed with high nibble. */
    uint8_t rec[16] = { 0x01, 0x02, 0x03, 0x00, 0x01, 0x02, 0x00, 0x11, 0xc8, 0x00, 0xff, 0x00 };
    put_time(rec, 754732325u);
    struct c3_rt_record r;
    c3_rtlog_decode_record(rec, &r);
    assert_int_equal(r.kind, C3_RT_STATUS);
    assert_int_equal(r.time, 754732325u);
    assert_int_equal(r.status.alarm[0], C3_ALARM_ALARM);
    assert_int_equal(r.status.alarm[1], C3_ALARM_OPEN_TIMEOUT);
    assert_int_equal(r.status.alarm[2], C3_ALARM_ALARM | C3_ALARM_OPEN_TIMEOUT);
    assert_int_equal(r.status.alarm[3], 0);
    assert_int_equal(r.status.sensor[0], C3_SENSOR_CLOSED);
    assert_int_equal(r.status.sensor[1], C3_SENSOR_OPEN);
    assert_int_equal(r.status.sensor[2], C3_SENSOR_NONE);
    assert_int_equal(r.status.sensor[3], C3_SENSOR_CLOSED); /* 0x11: high nibble ignored */
    assert_int_equal(r.status.sensor_raw[3], 0x11);
    assert_int_equal(r.status.byte8, 0xc8);
    assert_false(r.status.has_relay);
    uint8_t back[16];
    assert_int_equal(c3_rtlog_encode_record(&r, back), 16);
    assert_memory_equal(back, rec, 16);
    /* 0x10 is "no sensor" with the high nibble set. */
    rec[4] = 0x10;
    c3_rtlog_decode_record(rec, &r);
    assert_int_equal(r.status.sensor[0], C3_SENSOR_NONE);
}

static void binary_multi_and_lengths(void **state)
{
    (void)state;
    uint8_t buf[48] = { 0 };
    /* Three records, the spec's packed-time examples: event 102 door 2, event 27 door 4 card 1234, status. */
    buf[9] = 2;
    buf[10] = 102;
    buf[11] = 2;
    buf[8] = 200;
    put_time(buf, 347748895u);
    c3_put_le32(buf + 16, 1234);
    buf[16 + 8] = 4;
    buf[16 + 9] = 4;
    buf[16 + 10] = 27;
    buf[16 + 11] = 1;
    put_time(buf + 16, 0x21AE8F32u);
    buf[32 + 10] = 0xff;
    buf[32 + 8] = 0xc8;
    buf[32 + 4] = 2;
    put_time(buf + 32, 754732325u);
    struct c3_rt_record r[3];
    assert_int_equal(c3_rtlog_parse_binary(buf, 48, r, 3), 3);
    assert_int_equal(r[0].kind, C3_RT_EVENT);
    assert_int_equal(r[0].event.type, 102);
    assert_int_equal(c3_event_severity(r[0].event.type), C3_SEV_ALARM);
    assert_int_equal(r[0].event.door, 2);
    assert_int_equal(r[0].event.inout, C3_INOUT_NONE);
    char t[C3_TIME_ISO_LEN];
    c3_time_format(r[0].time, ' ', t, sizeof t);
    assert_string_equal(t, "2010-10-26 20:54:55");
    assert_int_equal(r[1].event.card, 1234);
    assert_int_equal(r[1].event.type, 27);
    assert_int_equal(r[1].event.inout, C3_INOUT_EXIT);
    c3_time_format(r[1].time, ' ', t, sizeof t);
    assert_string_equal(t, "2017-07-31 08:54:10");
    assert_int_equal(r[2].kind, C3_RT_STATUS);
    assert_int_equal(r[2].status.sensor[0], C3_SENSOR_OPEN);
    /* Not enough room: the first two are filled, the caller is told. */
    assert_int_equal(c3_rtlog_parse_binary(buf, 48, r, 2), C3_E_TOOMANY);
    assert_int_equal(r[1].event.type, 27);
    /* Empty reply: no records, still binary. */
    assert_true(c3_rtlog_binary_ok(0));
    assert_int_equal(c3_rtlog_parse_binary(buf, 0, r, 3), 0);
    /* 36-byte (hass-zkaccess_c3#2) and 360-byte all-zero replies: switch to 0x79. */
    static const uint8_t zeros[360];
    assert_false(c3_rtlog_binary_ok(36));
    assert_false(c3_rtlog_binary_ok(360));
    assert_int_equal(c3_rtlog_parse_binary(zeros, 36, r, 3), C3_E_RTLOG_LEN);
    assert_int_equal(c3_rtlog_parse_binary(zeros, 360, r, 3), C3_E_RTLOG_LEN);
    for (size_t n = 1; n < 16; n++)
        assert_int_equal(c3_rtlog_parse_binary(buf, n, r, 3), C3_E_RTLOG_LEN);
    /* An event can never carry type 255. */
    struct c3_rt_record ev = { .kind = C3_RT_EVENT, .event = { .type = 255 } };
    uint8_t out[16];
    assert_int_equal(c3_rtlog_encode_record(&ev, out), C3_E_RANGE);
}

static const char kv_text[] =
    "time=2023-12-06 22:57:54\tpin=0\tcardno=0\teventaddr=1\tevent=8\tinoutstatus=2\tverifytype=200\tindex=9\r\n"
    "time=2023-12-09 15:09:33\tsensor=24\trelay=04\talarm=00000000\r\n";

static void kv_records(void **state)
{
    (void)state;
    struct c3_rt_record r[4];
    size_t bad = 99;
    assert_int_equal(c3_rtlog_parse_kv(kv_text, strlen(kv_text), r, 4, &bad), 2);
    assert_int_equal(bad, 0);
    assert_int_equal(r[0].kind, C3_RT_EVENT);
    assert_int_equal(r[0].event.type, 8);
    assert_int_equal(r[0].event.door, 1);
    assert_int_equal(r[0].event.inout, 2);
    assert_int_equal(r[0].event.verify, 200);
    assert_int_equal(r[0].event.index, 9);
    assert_int_equal(r[0].event.pin, 0);
    char t[C3_TIME_ISO_LEN];
    c3_time_format(r[0].time, 'T', t, sizeof t);
    assert_string_equal(t, "2023-12-06T22:57:54");
    assert_int_equal(r[1].kind, C3_RT_STATUS);
    /* sensor=24: door 2 closed, door 3 open. */
    assert_int_equal(r[1].status.sensor[0], C3_SENSOR_NONE);
    assert_int_equal(r[1].status.sensor[1], C3_SENSOR_CLOSED);
    assert_int_equal(r[1].status.sensor[2], C3_SENSOR_OPEN);
    assert_int_equal(r[1].status.sensor[3], C3_SENSOR_NONE);
    assert_true(r[1].status.has_relay);
    assert_int_equal(r[1].status.relay, 0x04);
    for (int d = 0; d < 4; d++)
        assert_int_equal(r[1].status.alarm[d], 0);

    /* Alarm digits: door 1 first. Lone LF, card and pin, spaces around fields, unknown keys. */
    const char *t2 = "time=2024-01-02 03:04:05\tsensor=ff\talarm=01020300\tfoo=bar\n"
                     " time=2024-01-02 03:04:06 , pin=42, cardno=4294967295, eventaddr=3, event=102, "
                     "inoutstatus=0, verifytype=4 \n\n";
    assert_int_equal(c3_rtlog_parse_kv(t2, strlen(t2), r, 4, &bad), 2);
    assert_int_equal(bad, 0);
    assert_int_equal(r[0].status.alarm[0], 1);
    assert_int_equal(r[0].status.alarm[1], 2);
    assert_int_equal(r[0].status.alarm[2], 3);
    assert_int_equal(r[0].status.sensor[3], 3); /* value 3 passed through raw */
    assert_false(r[0].status.has_relay);
    assert_int_equal(r[1].event.pin, 42);
    assert_int_equal(r[1].event.card, 4294967295u);
    assert_int_equal(r[1].event.type, 102);
    assert_int_equal(r[1].event.index, -1);
}

static void kv_malformed(void **state)
{
    (void)state;
    struct c3_rt_record r[4];
    size_t bad;
    const char *cases[] = {
        "pin=1\tevent=8",                                 /* no time */
        "time=2023-02-30 00:00:00\tevent=8",              /* impossible date */
        "time=2023-12-06 22:57:54\tevent=x",              /* bad number */
        "time=2023-12-06 22:57:54\tevent=256",            /* out of range */
        "time=2023-12-06 22:57:54\tevent=255",            /* status code as an event */
        "time=2023-12-06 22:57:54\tevent=8\tevent=9",     /* duplicate key */
        "time=2023-12-06 22:57:54",                       /* neither event nor status fields */
        "time=2023-12-06 22:57:54\talarm=0000",           /* short alarm */
        "time=2023-12-06 22:57:54\talarm=0000000g",       /* not hex */
        "time=2023-12-06 22:57:54\tsensor=",              /* empty hex */
        "time=2023-12-06 22:57:54\tsensor=123456789",     /* too long */
        "time=2023-12-06 22:57:54\tnoequals\tevent=1",    /* field without '=' */
        "time=2023-12-06 22:57:54\t=1\tevent=1",          /* empty key */
        "time=2023-12-06 22:57:54\tpin=99999999999\tevent=1",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bad = 0;
        assert_int_equal(c3_rtlog_parse_kv(cases[i], strlen(cases[i]), r, 4, &bad), 0);
        assert_int_equal(bad, 1);
    }
    /* A bad record between good ones is skipped, the good ones survive. */
    const char *mix = "time=2023-12-06 22:57:54\tevent=8\r\ngarbage\r\ntime=2023-12-06 22:57:55\tevent=9\r\n";
    assert_int_equal(c3_rtlog_parse_kv(mix, strlen(mix), r, 4, &bad), 2);
    assert_int_equal(bad, 1);
    assert_int_equal(r[1].event.type, 9);
    /* Defaults for absent optional keys. */
    assert_int_equal(r[0].event.inout, C3_INOUT_NONE);
    assert_int_equal(r[0].event.verify, 200);
    /* Overflow of the output array. */
    assert_int_equal(c3_rtlog_parse_kv(mix, strlen(mix), r, 1, NULL), C3_E_TOOMANY);
    /* Empty text and a NUL terminator. */
    assert_int_equal(c3_rtlog_parse_kv("", 0, r, 4, &bad), 0);
    assert_int_equal(c3_rtlog_parse_kv(kv_text, sizeof kv_text, r, 4, &bad), 2);
    assert_int_equal(bad, 0);
}

static void kv_format_roundtrip(void **state)
{
    (void)state;
    struct c3_rt_record r[4], back[4];
    assert_int_equal(c3_rtlog_parse_kv(kv_text, strlen(kv_text), r, 4, NULL), 2);
    char buf[512];
    int n0 = c3_rtlog_format_kv(&r[0], buf, sizeof buf);
    assert_int_equal(n0, (int)strlen(buf));
    assert_string_equal(buf, "time=2023-12-06 22:57:54\tpin=0\tcardno=0\teventaddr=1\tevent=8\tinoutstatus=2"
                             "\tverifytype=200\tindex=9");
    buf[n0] = '\r';
    buf[n0 + 1] = '\n';
    int n1 = c3_rtlog_format_kv(&r[1], buf + n0 + 2, sizeof buf - (size_t)n0 - 2);
    assert_string_equal(buf + n0 + 2, "time=2023-12-09 15:09:33\tsensor=24\trelay=04\talarm=00000000");
    assert_int_equal(c3_rtlog_parse_kv(buf, (size_t)(n0 + 2 + n1), back, 4, NULL), 2);
    assert_int_equal(back[0].event.index, 9);
    assert_memory_equal(back[1].status.sensor, r[1].status.sensor, 4);
    /* A binary status converts to the same text model. */
    uint8_t rec[16] = { 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0xc8, 0x00, 0xff, 0x00 };
    c3_put_le32(rec + 12, 754732325u);
    struct c3_rt_record st;
    c3_rtlog_decode_record(rec, &st);
    c3_rtlog_format_kv(&st, buf, sizeof buf);
    assert_string_equal(buf, "time=2023-06-25 07:52:05\tsensor=24\trelay=00\talarm=00010000");
    /* Truncation reports the needed length. */
    char small[10];
    assert_int_equal(c3_rtlog_format_kv(&r[0], small, sizeof small), n0);
    assert_int_equal(strlen(small), 9);
    assert_int_equal(c3_rtlog_format_kv(&r[0], NULL, 0), n0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(binary_event), cmocka_unit_test(binary_status), cmocka_unit_test(binary_multi_and_lengths),
        cmocka_unit_test(kv_records),   cmocka_unit_test(kv_malformed),  cmocka_unit_test(kv_format_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
