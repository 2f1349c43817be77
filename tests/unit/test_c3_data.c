/* Unit tests for c3_data: GET_DATA bodies (options, conditions) both ways, row bodies, integer widths, values as
 * text by field type, counts, big-data messages, transaction rows by field name and as portierd's JSON record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "drivers/c3/c3_data.h"
#include "drivers/c3/c3_frame.h"

static void getdata_plain_matches_spec_vector(void **state)
{
    (void)state;
    /* spec §1: "get data: table 1, fields 1..9, two zero bytes" */
    struct c3_getdata q = { .table = 1, .nfields = 9, .fields = { 1, 2, 3, 4, 5, 6, 7, 8, 9 } };
    struct c3_buf b = { 0 };
    assert_int_equal(c3_getdata_build(&b, &q), 0);
    static const uint8_t want[] = { 1, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0 };
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.p, want, sizeof want);
    struct c3_getdata back;
    assert_int_equal(c3_getdata_parse(b.p, b.len, &back), 0);
    assert_int_equal(back.table, 1);
    assert_int_equal(back.nfields, 9);
    assert_false(back.new_records);
    assert_int_equal(back.nconds, 0);
    c3_buf_free(&b);
}

static void getdata_new_records_and_conditions(void **state)
{
    (void)state;
    struct c3_getdata q = { .table = 5, .nfields = 2, .fields = { 7, 8 }, .new_records = true, .nconds = 2,
                            .cond_fields = { 4, 2 } };
    const uint8_t door = 3, pin[2] = { 0x39, 0x30 };
    q.cond_values[0] = (struct c3_data_value){ &door, 1 };
    q.cond_values[1] = (struct c3_data_value){ pin, 2 };
    struct c3_buf b = { 0 };
    assert_int_equal(c3_getdata_build(&b, &q), 0);
    static const uint8_t want[] = { 5, 2, 7, 8, 1, 1, 2, 4, 2, 1, 3, 2, 0x39, 0x30 };
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.p, want, sizeof want);
    struct c3_getdata back;
    assert_int_equal(c3_getdata_parse(b.p, b.len, &back), 0);
    assert_true(back.new_records);
    assert_int_equal(back.option, 1);
    assert_int_equal(back.nconds, 2);
    assert_int_equal(back.cond_fields[1], 2);
    assert_int_equal(back.cond_values[1].len, 2);
    assert_memory_equal(back.cond_values[1].p, pin, 2);
    /* Truncations are refused, never read past the end. */
    for (size_t n = 0; n < b.len; n++) {
        int rc = c3_getdata_parse(b.p, n, &back);
        assert_true(rc == C3_E_SHORT || (rc == 0 && n == 6)); /* without a condition count: none */
    }
    c3_buf_free(&b);
    struct c3_getdata bad = { .table = 1, .nfields = 1, .fields = { 0 } };
    assert_int_equal(c3_getdata_build(&b, &bad), C3_E_RANGE);
    c3_buf_free(&b);
}

static void rows_integer_widths(void **state)
{
    (void)state;
    struct c3_buf b = { 0 };
    const uint8_t f[] = { 2, 3 };
    assert_int_equal(c3_rows_begin(&b, 1, f, 2), 0);
    c3_rows_int(&b, 0);          /* one zero byte */
    c3_rows_int(&b, 255);        /* one byte */
    c3_rows_int(&b, 256);        /* two bytes */
    c3_rows_int(&b, 0x01020304); /* four bytes */
    static const uint8_t want[] = { 1, 2, 2, 3, 1, 0, 1, 0xFF, 2, 0x00, 0x01, 4, 0x04, 0x03, 0x02, 0x01 };
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.p, want, sizeof want);
    struct c3_data_reader rd;
    assert_int_equal(c3_data_reader_init(&rd, b.p, b.len), 0);
    struct c3_data_value v[2];
    uint32_t u;
    assert_int_equal(c3_data_reader_next(&rd, v, 2), 1);
    assert_int_equal(c3_data_value_u32(&v[1], &u), 0);
    assert_int_equal(u, 255);
    assert_int_equal(c3_data_reader_next(&rd, v, 2), 1);
    assert_int_equal(c3_data_value_u32(&v[1], &u), 0);
    assert_int_equal(u, 0x01020304);
    assert_int_equal(c3_data_reader_next(&rd, v, 2), 0);
    uint8_t big[300] = { 0 };
    assert_int_equal(c3_rows_value(&b, big, 256), C3_E_RANGE);
    c3_buf_free(&b);
}

static void values_as_text(void **state)
{
    (void)state;
    char t[64];
    uint8_t out[255];
    const uint8_t n1[] = { 0x87, 0xD6, 0x12 };
    struct c3_data_value v = { n1, 3 };
    assert_int_equal(c3_value_to_text('i', &v, t, sizeof t), 7);
    assert_string_equal(t, "1234567");
    assert_int_equal(c3_value_from_text('i', "1234567", out, sizeof out), 3);
    assert_memory_equal(out, n1, 3);
    assert_int_equal(c3_value_from_text('i', "0", out, sizeof out), 1);
    assert_int_equal(out[0], 0);
    assert_int_equal(c3_value_from_text('i', "4294967296", out, sizeof out), C3_E_RANGE);
    assert_int_equal(c3_value_from_text('L', "4294967296", out, sizeof out), 5);
    assert_int_equal(c3_value_from_text('i', "12a", out, sizeof out), C3_E_SYNTAX);
    assert_int_equal(c3_value_from_text('i', "", out, sizeof out), C3_E_SYNTAX);
    assert_int_equal(c3_value_from_text('i', "-1", out, sizeof out), C3_E_SYNTAX);
    const uint8_t five[] = { 1, 2, 3, 4, 5 };
    v = (struct c3_data_value){ five, 5 };
    assert_int_equal(c3_value_to_text('i', &v, t, sizeof t), C3_E_RANGE);
    assert_int_equal(c3_value_to_text('b', &v, t, sizeof t), 10);
    assert_string_equal(t, "0102030405");
    assert_int_equal(c3_value_from_text('b', "0102030405", out, sizeof out), 5);
    assert_int_equal(c3_value_from_text('b', "0g", out, sizeof out), C3_E_SYNTAX);
    assert_int_equal(c3_value_from_text('b', "012", out, sizeof out), C3_E_SYNTAX);
    const uint8_t s[] = { 'A', 'n', 'n', 0, 0 };
    v = (struct c3_data_value){ s, 5 };
    assert_int_equal(c3_value_to_text('s', &v, t, sizeof t), 3);
    assert_string_equal(t, "Ann");
    assert_int_equal(c3_value_from_text('s', "a\tb", out, sizeof out), C3_E_SYNTAX);
    assert_int_equal(c3_value_from_text('s', "", out, sizeof out), 0);
}

static void counts_and_bigdata_messages(void **state)
{
    (void)state;
    uint32_t n;
    const uint8_t c[] = { 0x10, 0x27, 0, 0 };
    assert_int_equal(c3_count_parse(c, 4, &n), 0);
    assert_int_equal(n, 10000);
    assert_int_equal(c3_count_parse(c, 3, &n), C3_E_SHORT);
    uint8_t r[4];
    c3_readdata_request(r, 0x1234);
    static const uint8_t rw[] = { 0x34, 0x12, 0, 0 };
    assert_memory_equal(r, rw, 4);
    const uint8_t reply[] = { 0x34, 0x12, 0, 0, 'a', 'b' };
    uint32_t off;
    const uint8_t *ch;
    size_t cl;
    assert_int_equal(c3_readdata_reply(reply, sizeof reply, &off, &ch, &cl), 0);
    assert_int_equal(off, 0x1234);
    assert_int_equal(cl, 2);
    assert_int_equal(c3_readdata_reply(reply, 3, &off, &ch, &cl), C3_E_SHORT);
    uint8_t p[8];
    c3_prepare_request(p, 70000, 5120);
    uint32_t tot, pk;
    assert_int_equal(c3_prepare_parse(p, 8, &tot, &pk), 0);
    assert_int_equal(tot, 70000);
    assert_int_equal(pk, 5120);
}

static void transaction_rows_by_name(void **state)
{
    (void)state;
    static const char text[] = "transaction=5,Cardno=i1,Pin=i2,Verified=i3,DoorID=i4,EventType=i5,InOutState=i6,"
                               "Time_second=i7\nother=9,Index=i1\n";
    struct c3_table_def defs[2];
    assert_int_equal(c3_table_struct_parse(text, sizeof text - 1, defs, 2, NULL), 2);
    struct c3_txn_fields f;
    assert_int_equal(c3_txn_fields_find(&defs[0], &f), 0);
    assert_int_equal(f.index, 0);
    assert_int_equal(f.time, 7);
    uint8_t list[8];
    assert_int_equal(c3_txn_fields_list(&f, list), 7);
    assert_int_equal(c3_txn_fields_find(&defs[1], &f), C3_E_SYNTAX);

    /* One row: card 1234567, pin 9, verify 4, door 2, event 0, entry, time 754732325. */
    struct c3_txn_fields tf = { 1, 2, 3, 4, 5, 6, 7, 0 };
    struct c3_buf b = { 0 };
    c3_rows_begin(&b, 5, list, 7);
    c3_rows_int(&b, 1234567);
    c3_rows_int(&b, 9);
    c3_rows_int(&b, 4);
    c3_rows_int(&b, 2);
    c3_rows_int(&b, 0);
    c3_rows_int(&b, 0);
    c3_rows_int(&b, 754732325u);
    struct c3_data_reader rd;
    assert_int_equal(c3_data_reader_init(&rd, b.p, b.len), 0);
    struct c3_data_value v[8];
    assert_int_equal(c3_data_reader_next(&rd, v, 8), 1);
    struct c3_txn t;
    assert_int_equal(c3_txn_decode(&rd, v, &tf, &t), 0);
    assert_int_equal(t.card, 1234567);
    assert_int_equal(t.pin, 9);
    assert_int_equal(t.verify, 4);
    assert_int_equal(t.door, 2);
    assert_int_equal(t.type, 0);
    assert_int_equal(t.time, 754732325u);
    assert_int_equal(t.index, -1);
    c3_buf_free(&b);
    /* A door number wider than a byte is refused. */
    c3_rows_begin(&b, 5, (const uint8_t[]){ 4 }, 1);
    c3_rows_int(&b, 300);
    assert_int_equal(c3_data_reader_init(&rd, b.p, b.len), 0);
    assert_int_equal(c3_data_reader_next(&rd, v, 8), 1);
    assert_int_equal(c3_txn_decode(&rd, v, &tf, &t), C3_E_RANGE);
    c3_buf_free(&b);
}

/* A stored event as portierd's panel-data record: encoded and decoded alike, anything else refused. */
static void transaction_record_json(void **state)
{
    (void)state;
    struct c3_txn t = { .card = 4294967295u, .pin = 7, .verify = 200, .door = 4, .type = 255, .inout = 2,
                        .time = 865644906, .index = -1 }, back;
    json_t *o = c3_txn_json(&t);
    char *s = json_dumps(o, JSON_COMPACT);
    assert_string_equal(s, "{\"time\":865644906,\"door\":4,\"event\":255,\"verify\":200,\"inout\":2,"
                           "\"card\":4294967295,\"pin\":7,\"index\":-1}");
    free(s);
    assert_int_equal(c3_txn_from_json(o, &back), 0);
    assert_true(back.time == t.time && back.door == t.door && back.type == t.type && back.verify == t.verify &&
                back.inout == t.inout && back.card == t.card && back.pin == t.pin && back.index == t.index);
    static const char *const bad[] = {
        "{\"time\":1,\"door\":256,\"event\":0,\"verify\":0,\"inout\":0,\"card\":0,\"pin\":0,\"index\":1}",
        "{\"time\":4294967296,\"door\":1,\"event\":0,\"verify\":0,\"inout\":0,\"card\":0,\"pin\":0,\"index\":1}",
        "{\"time\":1,\"door\":1,\"event\":0,\"verify\":0,\"inout\":0,\"card\":0,\"pin\":-1,\"index\":1}",
        "{\"time\":1,\"door\":1,\"event\":0,\"verify\":0,\"inout\":0,\"card\":0,\"pin\":0,\"index\":-2}",
        "{\"time\":1,\"door\":1,\"event\":0,\"verify\":0,\"inout\":0,\"card\":0,\"pin\":0}",
        "{\"time\":1,\"door\":\"1\",\"event\":0,\"verify\":0,\"inout\":0,\"card\":0,\"pin\":0,\"index\":1}",
        "[1,2,3]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *b = json_loads(bad[i], 0, NULL);
        assert_non_null(b);
        assert_int_equal(c3_txn_from_json(b, &back), -1);
        json_decref(b);
    }
    assert_int_equal(c3_txn_from_json(NULL, &back), -1);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(getdata_plain_matches_spec_vector),
        cmocka_unit_test(getdata_new_records_and_conditions),
        cmocka_unit_test(rows_integer_widths),
        cmocka_unit_test(values_as_text),
        cmocka_unit_test(counts_and_bigdata_messages),
        cmocka_unit_test(transaction_rows_by_name),
        cmocka_unit_test(transaction_record_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
