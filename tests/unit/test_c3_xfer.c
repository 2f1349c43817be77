/* Unit tests for the big-data transfer and the simulator's tables: a real simulated panel in the same loop,
 * a c3_session to it. Reads that need the 0x0D transfer, a cut in the middle (resumed, same bytes), uploads
 * through PREPARE/DATA/HASH/FREE, new-records reads with the read pointer, counts, both firmware layouts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "drivers/c3/c3_data.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_session.h"
#include "drivers/c3/c3_xfer.h"
#include "sim/c3sim_net.h"

#include "fixture.h"
#include "fixture_c3.h"

struct fx {
    struct fx_c3 c; /* the loop, the simulated panel, the session */
    bool done;
    int err;
    uint8_t *data;
    size_t len;
    size_t progress_calls, last_done, last_total;
    struct c3_xfer_stats stats;
    struct c3_xfer *x;
    /* the chunk hook: the answer's prefix as it grew (copied), calls, and the restarts it was told */
    uint8_t *prefix;
    size_t prefix_len, chunk_calls;
    unsigned chunk_restarts;
    bool prefix_shrank;
};

static struct fx F;

static bool finished(void) { return F.done; }

static int setup_dialect(enum c3sim_dialect d, size_t txn_cap)
{
    memset(&F, 0, sizeof F);
    struct c3sim_server_cfg sc = { .panel.transactions = txn_cap };
    struct c3_session_config cfg = { .dialect = C3_DIALECT_AUTO, .request_timeout_ms = 1000, .backoff_min_ms = 50,
                                     .backoff_max_ms = 200 };
    fx_c3_open(&F.c, &sc, "C3-400", d, &cfg);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    return setup_dialect(C3SIM_DIALECT_SESSION, 5000);
}

static int setup_old(void **state)
{
    (void)state;
    return setup_dialect(C3SIM_DIALECT_SESSIONLESS, 5000);
}

static int teardown(void **state)
{
    (void)state;
    fx_c3_close(&F.c);
    free(F.data);
    free(F.prefix);
    return 0;
}

static void on_progress(void *arg, size_t done, size_t total)
{
    (void)arg;
    assert_true(total == 0 || done <= total);
    F.progress_calls++;
    F.last_done = done;
    F.last_total = total;
}

static void on_done(void *arg, int err, const uint8_t *data, size_t len)
{
    (void)arg;
    F.done = true;
    F.err = err;
    free(F.data);
    F.data = NULL;
    F.len = len;
    if (len) {
        F.data = malloc(len);
        memcpy(F.data, data, len);
    }
    if (F.x)
        F.stats = *c3_xfer_stats(F.x);
}

static void on_chunk(void *arg, const uint8_t *data, size_t len, unsigned restarts)
{
    (void)arg;
    assert_true(len > 0);
    if (restarts == F.chunk_restarts && len <= F.prefix_len)
        F.prefix_shrank = true; /* within one answer every call brings more */
    if (restarts == F.chunk_restarts && F.prefix_len)
        assert_memory_equal(data, F.prefix, F.prefix_len); /* ... and the bytes seen stay the same */
    F.chunk_restarts = restarts;
    free(F.prefix);
    F.prefix = malloc(len);
    memcpy(F.prefix, data, len);
    F.prefix_len = len;
    F.chunk_calls++;
}

/* Run one transfer to its end. */
static int xfer_get(uint8_t cmd, const void *p, size_t len)
{
    F.done = false;
    F.progress_calls = F.last_done = F.last_total = 0;
    free(F.prefix);
    F.prefix = NULL;
    F.prefix_len = F.chunk_calls = 0;
    F.chunk_restarts = 0;
    F.prefix_shrank = false;
    struct c3_xfer_opts o = { .prio = C3_PRIO_OPERATOR, .progress = on_progress, .chunk = on_chunk };
    int err;
    F.x = c3_xfer_get(F.c.s, cmd, p, len, &o, on_done, NULL, &err);
    assert_non_null(F.x);
    fx_run_until(F.c.loop, finished, 10000);
    assert_true(F.done);
    F.x = NULL;
    return F.err;
}

static int xfer_write(uint8_t cmd, const struct c3_buf *b)
{
    F.done = false;
    struct c3_xfer_opts o = { .prio = C3_PRIO_OPERATOR, .progress = on_progress };
    int err;
    F.x = c3_xfer_write(F.c.s, cmd, b->p, b->len, &o, on_done, NULL, &err);
    assert_non_null(F.x);
    fx_run_until(F.c.loop, finished, 10000);
    assert_true(F.done);
    F.x = NULL;
    return F.err;
}

static int read_txn(bool new_records, size_t *rows, int64_t *first, int64_t *last)
{
    struct c3_getdata q = { .table = C3_TABLE_TRANSACTION, .nfields = 8, .new_records = new_records };
    for (int i = 0; i < 8; i++)
        q.fields[i] = (uint8_t)(i + 1);
    struct c3_buf b = { 0 };
    assert_int_equal(c3_getdata_build(&b, &q), 0);
    int rc = xfer_get(C3_CMD_GET_DATA, b.p, b.len);
    c3_buf_free(&b);
    if (rc)
        return rc;
    struct c3_data_reader rd;
    assert_int_equal(c3_data_reader_init(&rd, F.data, F.len), 0);
    struct c3_txn_fields tf = { 1, 2, 3, 4, 5, 6, 7, 8 };
    struct c3_data_value v[255];
    *rows = 0;
    int64_t prev = -1;
    while (c3_data_reader_next(&rd, v, 255) == 1) {
        struct c3_txn t;
        assert_int_equal(c3_txn_decode(&rd, v, &tf, &t), 0);
        if (*rows == 0)
            *first = t.index;
        if (prev >= 0)
            assert_int_equal(t.index, prev + 1);
        prev = t.index;
        (*rows)++;
    }
    *last = prev;
    return 0;
}

static void big_read_and_resume_after_cut(void **state)
{
    (void)state;
    char err[128];
    assert_int_equal(c3sim_panel_burst(F.c.panel, 2999, err, sizeof err), 0); /* + the start event = 3000 */
    size_t rows;
    int64_t first, last;
    assert_int_equal(read_txn(false, &rows, &first, &last), 0);
    assert_int_equal(rows, 3000);
    assert_int_equal(first, 1);
    assert_int_equal(last, 3000);
    assert_true(F.stats.chunks > 5);          /* it really went through READ_DATA */
    assert_int_equal(F.stats.restarts, 0);
    assert_int_equal(F.last_done, F.last_total);
    /* The chunk hook saw the answer grow chunk by chunk, the last call the whole of it. */
    assert_int_equal(F.chunk_calls, F.stats.chunks);
    assert_false(F.prefix_shrank);
    assert_int_equal(F.prefix_len, F.len);
    assert_memory_equal(F.prefix, F.data, F.len);
    uint8_t *whole = F.data;
    size_t whole_len = F.len;
    F.data = NULL;

    /* The connection breaks after 3 chunks: the transfer resumes on a new connection, same bytes. */
    c3sim_server_cut(F.c.sim, 0, 3);
    assert_int_equal(read_txn(false, &rows, &first, &last), 0);
    assert_int_equal(rows, 3000);
    assert_int_equal(F.len, whole_len);
    assert_memory_equal(F.data, whole, whole_len);
    assert_int_equal(F.stats.resumes, 1);
    assert_int_equal(F.stats.restarts, 0);
    /* A resume continues the same answer: the hook goes on from the bytes it had, nothing restarts. */
    assert_int_equal(F.chunk_restarts, 0);
    assert_false(F.prefix_shrank);
    assert_int_equal(F.prefix_len, whole_len);
    /* Bytes moved: the whole table once, plus nothing twice. */
    assert_int_equal(F.stats.bytes, whole_len);
    free(whole);
}

static void table_grows_during_cut_starts_over(void **state)
{
    (void)state;
    char err[128];
    assert_int_equal(c3sim_panel_burst(F.c.panel, 1999, err, sizeof err), 0);
    c3sim_server_cut(F.c.sim, 0, 1);
    /* Rows are added while the client reconnects: the repeated request gets another header. */
    struct c3_getdata q = { .table = C3_TABLE_TRANSACTION, .nfields = 1, .fields = { 8 } };
    struct c3_buf b = { 0 };
    assert_int_equal(c3_getdata_build(&b, &q), 0);
    F.done = false;
    int e;
    struct c3_xfer_opts o = { .prio = C3_PRIO_OPERATOR, .chunk = on_chunk };
    F.x = c3_xfer_get(F.c.s, C3_CMD_GET_DATA, b.p, b.len, &o, on_done, NULL, &e);
    c3_buf_free(&b);
    bool burst = false;
    uint64_t end = loop_mono_us() + 10000000u;
    while (!F.done && loop_mono_us() < end) {
        loop_run_once(F.c.loop, 5);
        if (!burst && c3_session_state(F.c.s) != C3_ST_ONLINE) {
            assert_int_equal(c3sim_panel_burst(F.c.panel, 10, err, sizeof err), 0);
            burst = true;
        }
    }
    assert_true(F.done);
    assert_int_equal(F.err, 0);
    assert_true(burst);
    assert_int_equal(F.stats.resumes, 0);
    assert_int_equal(F.stats.restarts, 1);
    /* The hook was told that the bytes it had belong to an abandoned answer, then saw the new one whole. */
    assert_int_equal(F.chunk_restarts, 1);
    assert_false(F.prefix_shrank);
    assert_int_equal(F.prefix_len, F.len);
    assert_memory_equal(F.prefix, F.data, F.len);
    struct c3_data_reader rd;
    assert_int_equal(c3_data_reader_init(&rd, F.data, F.len), 0);
    struct c3_data_value v[4];
    size_t n = 0;
    while (c3_data_reader_next(&rd, v, 4) == 1)
        n++;
    assert_int_equal(n, 2010);
}

static void wrapped_table_keeps_newest(void **state)
{
    (void)state;
    char err[128];
    assert_int_equal(c3sim_panel_burst(F.c.panel, 7000, err, sizeof err), 0); /* table holds 5000 */
    size_t rows;
    int64_t first, last;
    assert_int_equal(read_txn(false, &rows, &first, &last), 0);
    assert_int_equal(rows, 5000);
    assert_int_equal(first, 2002);
    assert_int_equal(last, 7001);
    assert_int_equal(c3sim_tables_txn_lost(&F.c.panel->tables), 2001);
}

static void new_records_and_read_pointer(void **state)
{
    (void)state;
    char err[128];
    size_t rows;
    int64_t first, last;
    assert_int_equal(read_txn(true, &rows, &first, &last), 0);
    assert_int_equal(rows, 1); /* device start */
    /* Mark read: the next new-records read is empty. The firmware answers C9 with a zero byte. */
    uint8_t id = C3_TABLE_TRANSACTION;
    assert_int_equal(xfer_get(C3_CMD_GET_DATA_OK, &id, 1), -99);
    assert_int_equal(read_txn(true, &rows, &first, &last), 0);
    assert_int_equal(rows, 0);
    assert_int_equal(c3sim_panel_burst(F.c.panel, 10, err, sizeof err), 0);
    assert_int_equal(read_txn(true, &rows, &first, &last), 0);
    assert_int_equal(rows, 10);
    assert_int_equal(first, 2);
    /* Rows recorded between the read and GET_DATA_OK stay unread. */
    assert_int_equal(c3sim_panel_burst(F.c.panel, 3, err, sizeof err), 0);
    assert_int_equal(xfer_get(C3_CMD_GET_DATA_OK, &id, 1), -99);
    assert_int_equal(read_txn(true, &rows, &first, &last), 0);
    assert_int_equal(rows, 3);
    assert_int_equal(first, 12);
    /* Count. */
    assert_int_equal(xfer_get(C3_CMD_GET_DATA_COUNT, &id, 1), 0);
    uint32_t count;
    assert_int_equal(c3_count_parse(F.data, F.len, &count), 0);
    assert_int_equal(count, 14);
}

static void upload_users_and_read_back(void **state)
{
    (void)state;
    /* 600 users: far more than one frame, so PREPARE_DATA / DATA / HASH_DATA / FREE_DATA. */
    const uint8_t fields[] = { 2, 3, 4, 8 }; /* CardNo, Pin, Password, Name (new layout) */
    struct c3_buf b = { 0 };
    assert_int_equal(c3_rows_begin(&b, 1, fields, 4), 0);
    for (unsigned i = 1; i <= 600; i++) {
        char pw[16], name[16];
        snprintf(pw, sizeof pw, "%u", 1000 + i);
        snprintf(name, sizeof name, "user%u", i);
        c3_rows_int(&b, 5000000u + i);
        c3_rows_int(&b, i);
        c3_rows_value(&b, (const uint8_t *)pw, strlen(pw));
        c3_rows_value(&b, (const uint8_t *)name, strlen(name));
    }
    assert_true(b.len > C3_XFER_INLINE_MAX);
    c3sim_server_cut(F.c.sim, 0, 2); /* and a cut in the middle of the upload */
    assert_int_equal(xfer_write(C3_CMD_SET_DATA, &b), 0);
    assert_true(F.stats.restarts >= 1);
    c3_buf_free(&b);
    assert_int_equal(c3sim_tables_count(&F.c.panel->tables, "user"), 600);

    /* Upsert by Pin: a small inline write replaces user 7 (fields not sent become 0). */
    assert_int_equal(c3_rows_begin(&b, 1, fields, 2), 0);
    c3_rows_int(&b, 123);
    c3_rows_int(&b, 7);
    assert_int_equal(xfer_write(C3_CMD_SET_DATA, &b), 0);
    c3_buf_free(&b);
    assert_int_equal(c3sim_tables_count(&F.c.panel->tables, "user"), 600);

    /* Read user 7 back with a condition. */
    struct c3_getdata q = { .table = 1, .nfields = 3, .fields = { 2, 3, 8 }, .nconds = 1, .cond_fields = { 3 } };
    uint8_t seven = 7;
    q.cond_values[0] = (struct c3_data_value){ &seven, 1 };
    assert_int_equal(c3_getdata_build(&b, &q), 0);
    assert_int_equal(xfer_get(C3_CMD_GET_DATA, b.p, b.len), 0);
    c3_buf_free(&b);
    struct c3_data_reader rd;
    assert_int_equal(c3_data_reader_init(&rd, F.data, F.len), 0);
    struct c3_data_value v[3];
    assert_int_equal(c3_data_reader_next(&rd, v, 3), 1);
    char t[64];
    assert_true(c3_value_to_text('i', &v[0], t, sizeof t) > 0);
    assert_string_equal(t, "123");
    assert_int_equal(c3_value_to_text('s', &v[2], t, sizeof t), 0);
    assert_int_equal(c3_data_reader_next(&rd, v, 3), 0);

    /* A value longer than 10 bytes: the firmware answers OK and writes nothing. */
    assert_int_equal(c3_rows_begin(&b, 1, fields, 4), 0);
    c3_rows_int(&b, 1);
    c3_rows_int(&b, 9999);
    c3_rows_value(&b, (const uint8_t *)"1", 1);
    c3_rows_value(&b, (const uint8_t *)"a name too long", 15);
    assert_int_equal(xfer_write(C3_CMD_SET_DATA, &b), 0);
    c3_buf_free(&b);
    assert_int_equal(c3sim_tables_count(&F.c.panel->tables, "user"), 600);

    /* Delete two users, then clear the table. */
    const uint8_t pinf[] = { 3 };
    assert_int_equal(c3_rows_begin(&b, 1, pinf, 1), 0);
    c3_rows_int(&b, 7);
    c3_rows_int(&b, 8);
    assert_int_equal(xfer_write(C3_CMD_DELETE_DATA, &b), 0);
    c3_buf_free(&b);
    assert_int_equal(c3sim_tables_count(&F.c.panel->tables, "user"), 598);
    uint8_t clear[2] = { 1, 0 };
    assert_int_equal(xfer_get(C3_CMD_DELETE_DATA, clear, 2), 0);
    assert_int_equal(c3sim_tables_count(&F.c.panel->tables, "user"), 0);
}

static void structure_of_both_layouts(void **state)
{
    (void)state;
    assert_int_equal(xfer_get(C3_CMD_TABLE_STRUCT, NULL, 0), 0);
    struct c3_table_def defs[12];
    size_t bad = 0;
    int n = c3_table_struct_parse((const char *)F.data, F.len, defs, 12, &bad);
    bool sessionless = F.c.panel->dialect == C3SIM_DIALECT_SESSIONLESS;
    assert_int_equal(n, sessionless ? 8 : 9);
    assert_int_equal(bad, 0);
    const struct c3_table_def *txn = c3_table_find(defs, (size_t)n, "transaction");
    assert_non_null(txn);
    struct c3_txn_fields tf;
    assert_int_equal(c3_txn_fields_find(txn, &tf), 0);
    assert_int_equal(tf.index, sessionless ? 0 : 8);
    const struct c3_table_def *user = c3_table_find(defs, (size_t)n, "user");
    assert_int_equal(c3_table_field(user, "Pin")->index, sessionless ? 2 : 3);
    assert_int_equal(c3_table_find(defs, (size_t)n, "logfmt") != NULL, !sessionless);
}

static void unknown_command_and_bad_offsets(void **state)
{
    (void)state;
    uint8_t off[4] = { 0 };
    assert_int_equal(xfer_get(C3_CMD_READ_DATA, off, 4), -11); /* no transfer prepared */
    uint8_t prep[8];
    c3_prepare_request(prep, 10, 5120);
    assert_int_equal(xfer_get(C3_CMD_PREPARE_DATA, prep, 8), 0);
    uint8_t chunk[4 + 11] = { 0 };
    assert_int_equal(xfer_get(C3_CMD_DATA, chunk, sizeof chunk), -11); /* 11 bytes into a 10-byte buffer */
    assert_int_equal(xfer_get(0x3C, NULL, 0), -13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(big_read_and_resume_after_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(table_grows_during_cut_starts_over, setup, teardown),
        cmocka_unit_test_setup_teardown(wrapped_table_keeps_newest, setup, teardown),
        cmocka_unit_test_setup_teardown(new_records_and_read_pointer, setup, teardown),
        cmocka_unit_test_setup_teardown(upload_users_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(structure_of_both_layouts, setup, teardown),
        cmocka_unit_test_setup_teardown(structure_of_both_layouts, setup_old, teardown),
        cmocka_unit_test_setup_teardown(unknown_command_and_bad_offsets, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
