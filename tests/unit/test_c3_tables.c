#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_tables.h"

static void events(void **state)
{
    (void)state;
    char buf[C3_LABEL_LEN];
    assert_string_equal(c3_event_name(0), "normal punch open (card)");
    assert_string_equal(c3_event_name(8), "remote opening");
    assert_string_equal(c3_event_key(102), "forced_open");
    assert_string_equal(c3_event_label(27, buf, sizeof buf), "unregistered card");
    assert_string_equal(c3_event_label(77, buf, sizeof buf), "event 77");
    assert_string_equal(c3_event_label(38, buf, sizeof buf), "event 38");
    assert_string_equal(c3_event_label(999, buf, sizeof buf), "event 999");
    assert_null(c3_event_name(77));
    assert_null(c3_event_key(77));
    assert_false(c3_event_known(46));
    /* Every code of the spec table is known. */
    static const unsigned spec_codes[] = { 0,   1,   2,   3,   4,   5,   6,   7,   8,   9,   10,  11,  12,  13,
                                           14,  15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25,  26,  27,
                                           28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  41,  42,  43,  44,
                                           45,  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 220,
                                           221, 255 };
    for (size_t i = 0; i < sizeof spec_codes / sizeof spec_codes[0]; i++) {
        assert_true(c3_event_known(spec_codes[i]));
        assert_non_null(c3_event_key(spec_codes[i]));
    }
    /* Keys are unique. */
    for (unsigned a = 0; a < 256; a++)
        for (unsigned b = a + 1; b < 256; b++)
            if (c3_event_key(a) && c3_event_key(b))
                assert_string_not_equal(c3_event_key(a), c3_event_key(b));
}

static void severities(void **state)
{
    (void)state;
    static const unsigned alarms[] = { 100, 101, 102, 103 };
    static const unsigned warnings[] = { 20, 21, 22, 23, 24, 25, 27, 28, 29, 30, 33, 34, 37, 206 };
    static const unsigned normals[] = { 0, 1, 4, 7, 8, 9, 12, 13, 14, 200, 201, 202, 205, 255 };
    for (size_t i = 0; i < sizeof alarms / sizeof alarms[0]; i++)
        assert_int_equal(c3_event_severity(alarms[i]), C3_SEV_ALARM);
    for (size_t i = 0; i < sizeof warnings / sizeof warnings[0]; i++)
        assert_int_equal(c3_event_severity(warnings[i]), C3_SEV_WARNING);
    for (size_t i = 0; i < sizeof normals / sizeof normals[0]; i++)
        assert_int_equal(c3_event_severity(normals[i]), C3_SEV_NORMAL);
    assert_int_equal(c3_event_severity(77), C3_SEV_WARNING);
    assert_string_equal(c3_severity_name(C3_SEV_ALARM), "alarm");
    assert_string_equal(c3_severity_name(C3_SEV_WARNING), "warning");
    assert_string_equal(c3_severity_name(C3_SEV_NORMAL), "normal");
    assert_true(c3_event_is_grant(0));
    assert_true(c3_event_is_grant(202));
    assert_true(c3_event_is_grant(8));
    assert_false(c3_event_is_grant(23));
    assert_false(c3_event_is_grant(102));
    assert_false(c3_event_is_grant(77));
    assert_false(c3_event_is_grant(1000));
}

static void verify_and_inout(void **state)
{
    (void)state;
    char buf[C3_LABEL_LEN];
    assert_string_equal(c3_verify_name(4), "card");
    assert_string_equal(c3_verify_name(200), "other");
    assert_string_equal(c3_verify_name(11), "password and card");
    assert_string_equal(c3_verify_name(14), "finger and card, or PIN");
    assert_null(c3_verify_name(15));
    assert_string_equal(c3_verify_label(15, buf, sizeof buf), "verify 15");
    assert_string_equal(c3_inout_name(0), "entry");
    assert_string_equal(c3_inout_name(1), "exit");
    assert_string_equal(c3_inout_name(2), "none");
    assert_null(c3_inout_name(3));
    assert_string_equal(c3_inout_label(3, buf, sizeof buf), "inout 3");
    /* A tiny buffer truncates, never overflows. */
    char tiny[4];
    assert_string_equal(c3_event_label(123, tiny, sizeof tiny), "eve");
}

static const char struct_text[] =
    "user=1,UID=i1,CardNo=i2,Pin=i3,Password=s4,Group=i5,StartTime=i6,EndTime=i7,Name=s8,SuperAuthorize=i9\n"
    "userauthorize=2,Pin=i1,AuthorizeTimezoneId=i2,AuthorizeDoorId=i3\n"
    "transaction=5,Cardno=L1,Pin=i2,Verified=i3,DoorID=i4,EventType=i5,InOutState=i6,Time_second=i7\r\n"
    "logfmt=256,logfmt=i1\n"
    "broken line\n"
    "templatev10=10,Size=i1,UID=i2,Pin=i3,FingerID=i4,Valid=i5,Template=B6,Resverd=i7,EndTag=i8\n";

static void table_structure(void **state)
{
    (void)state;
    static struct c3_table_def defs[8];
    size_t bad = 0;
    int n = c3_table_struct_parse(struct_text, sizeof struct_text - 1, defs, 8, &bad);
    assert_int_equal(n, 5);
    assert_int_equal(bad, 1);
    const struct c3_table_def *user = c3_table_find(defs, 5, "user");
    assert_non_null(user);
    assert_int_equal(user->id, 1);
    assert_int_equal(user->nfields, 9);
    assert_int_equal(c3_table_field(user, "CardNo")->index, 2);
    assert_int_equal(c3_table_field(user, "Password")->type, 's');
    assert_null(c3_table_field(user, "cardno"));
    const struct c3_table_def *tr = c3_table_find(defs, 5, "transaction");
    assert_int_equal(tr->id, 5);
    assert_int_equal(c3_table_field(tr, "Cardno")->type, 'L'); /* kept, not dropped */
    assert_int_equal(c3_table_field(tr, "Time_second")->index, 7);
    const struct c3_table_def *lf = c3_table_find(defs, 5, "logfmt");
    assert_int_equal(lf->id, 256);
    assert_int_equal(lf->nfields, 1);
    assert_int_equal(c3_table_field(c3_table_find(defs, 5, "templatev10"), "Template")->type, 'B');
    assert_null(c3_table_find(defs, 5, "holiday"));
    /* Too many for the array; malformed lines. */
    assert_int_equal(c3_table_struct_parse(struct_text, sizeof struct_text - 1, defs, 2, NULL), C3_E_TOOMANY);
    const char *bad_lines[] = { "user", "=1,A=i1", "user=x,A=i1", "user=1,A=1", "user=1,A=i0", "user=1,A=i256",
                                "user=1,A", "user=1,=i1", "user=1,A=?1", "user=70000" };
    for (size_t i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
        bad = 0;
        assert_int_equal(c3_table_struct_parse(bad_lines[i], strlen(bad_lines[i]), defs, 8, &bad), 0);
        assert_int_equal(bad, 1);
    }
}

static void getdata(void **state)
{
    (void)state;
    /* Spec §1: table 1, fields 1..9, two zero bytes (frame aa01081100d18a07ff...c75855). */
    const uint8_t fields[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    uint8_t req[32];
    int n = c3_getdata_request(req, sizeof req, 1, fields, 9);
    static const uint8_t want[] = { 1, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0 };
    assert_int_equal(n, (int)sizeof want);
    assert_memory_equal(req, want, sizeof want);
    uint8_t frame[64];
    struct c3_frame_hdr h = { 1, C3_CMD_GET_DATA, true, 0x8AD1, (uint16_t)-249 };
    static const uint8_t want_frame[] = { 0xaa, 0x01, 0x08, 0x11, 0x00, 0xd1, 0x8a, 0x07, 0xff, 0x01, 0x09, 0x01,
                                          0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x00, 0x00, 0xc7, 0x58,
                                          0x55 };
    assert_int_equal(c3_frame_encode(frame, sizeof frame, &h, req, (size_t)n), (int)sizeof want_frame);
    assert_memory_equal(frame, want_frame, sizeof want_frame);
    assert_int_equal(c3_getdata_request(req, sizeof req, 1, fields, 0), C3_E_RANGE);
    assert_int_equal(c3_getdata_request(req, 5, 1, fields, 9), C3_E_NOSPACE);
    const uint8_t zero[] = { 0 };
    assert_int_equal(c3_getdata_request(req, sizeof req, 1, zero, 1), C3_E_RANGE);

    /* Reply: header echo, then records of length-prefixed fields (UID 1 = 1 byte, CardNo 1234567 = 3 bytes). */
    static const uint8_t reply[] = { 1, 3, 1, 2, 8,                        /* table 1, fields UID, CardNo, Name */
                                     1, 0x01, 3, 0x87, 0xd6, 0x12, 3, 'A', 'n', 'n', /* record 1 */
                                     2, 0x00, 0x01, 0, 0 };                /* record 2: UID 256, CardNo 0 bytes, Name "" */
    struct c3_data_reader rd;
    assert_int_equal(c3_data_reader_init(&rd, reply, sizeof reply), 0);
    assert_int_equal(rd.table_id, 1);
    assert_int_equal(rd.nfields, 3);
    assert_int_equal(rd.fields[2], 8);
    struct c3_data_value v[3];
    uint32_t u;
    assert_int_equal(c3_data_reader_next(&rd, v, 3), 1);
    assert_int_equal(c3_data_value_u32(&v[0], &u), 0);
    assert_int_equal(u, 1);
    assert_int_equal(c3_data_value_u32(&v[1], &u), 0);
    assert_int_equal(u, 1234567);
    assert_int_equal(v[2].len, 3);
    assert_memory_equal(v[2].p, "Ann", 3);
    assert_int_equal(c3_data_reader_next(&rd, v, 3), 1);
    assert_int_equal(c3_data_value_u32(&v[0], &u), 0);
    assert_int_equal(u, 256);
    assert_int_equal(c3_data_value_u32(&v[1], &u), 0);
    assert_int_equal(u, 0);
    assert_int_equal(c3_data_reader_next(&rd, v, 3), 0);
    /* Truncated record, truncated header, small output, over-long integer. */
    assert_int_equal(c3_data_reader_init(&rd, reply, 12), 0);
    assert_int_equal(c3_data_reader_next(&rd, v, 3), C3_E_SHORT);
    assert_int_equal(c3_data_reader_next(&rd, v, 3), 0);
    assert_int_equal(c3_data_reader_init(&rd, reply, 3), C3_E_SHORT);
    assert_int_equal(c3_data_reader_init(&rd, reply, sizeof reply), 0);
    assert_int_equal(c3_data_reader_next(&rd, v, 2), C3_E_NOSPACE);
    struct c3_data_value big = { (const uint8_t *)"12345", 5 };
    assert_int_equal(c3_data_value_u32(&big, &u), C3_E_RANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(events),
        cmocka_unit_test(severities),
        cmocka_unit_test(verify_and_inout),
        cmocka_unit_test(table_structure),
        cmocka_unit_test(getdata),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
