/* Unit tests for the catch-up core: positions as text, which rows of a transaction-table read are new, lost
 * (exactly by Index, "maybe" by time), already journaled live (identical events counted, never merged), and
 * the keys and event text of recovered rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/c3/c3_catchup.h"
#include "drivers/c3/c3_tables.h"

static struct c3_txn row(int64_t index, uint32_t time, uint32_t card, uint8_t type)
{
    return (struct c3_txn){ .card = card, .pin = card ? 7 : 0, .verify = 4, .door = 1, .type = type, .inout = 0,
                            .time = time, .index = index };
}

static void cursor_text(void **state)
{
    (void)state;
    struct c3_cursor c = { .valid = true, .index = 1234, .time = 754732325, .tie = 2 }, back;
    char t[96];
    c3_cursor_format(&c, t, sizeof t);
    assert_string_equal(t, "index=1234 time=754732325 tie=2");
    assert_int_equal(c3_cursor_parse(t, &back), 0);
    assert_true(back.valid);
    assert_int_equal(back.index, 1234);
    assert_int_equal(back.tie, 2);
    c.index = C3_CURSOR_INDEX_UNKNOWN;
    c3_cursor_format(&c, t, sizeof t);
    assert_int_equal(c3_cursor_parse(t, &back), 0);
    assert_int_equal(back.index, C3_CURSOR_INDEX_UNKNOWN);
    assert_int_equal(c3_cursor_parse("index=-3 time=1 tie=0", &back), -1);
    assert_int_equal(c3_cursor_parse("garbage", &back), -1);
    assert_false(back.valid);
}

static void by_index_new_rows_and_live_matches(void **state)
{
    (void)state;
    struct c3_cursor cur = { .valid = true, .index = 10, .time = 100, .tie = 1 };
    struct c3_txn rows[] = { row(9, 99, 1, 0), row(10, 100, 2, 0), row(11, 101, 3, 0), row(12, 101, 3, 0),
                             row(13, 102, 4, 0) };
    struct c3_live_set live = { 0 };
    /* Row 12 was seen live (binary record: no index, matched by content); one stale entry from before. */
    struct c3_txn l1 = row(-1, 101, 3, 0), stale = row(-1, 90, 9, 0), later = row(-1, 103, 5, 0);
    c3_live_add(&live, &l1);
    c3_live_add(&live, &stale);
    c3_live_mark(&live);
    c3_live_add(&live, &later); /* published after the read was asked for: its row may come later */
    uint8_t rec[5];
    struct c3_align_out a;
    c3_catchup_align(&cur, &live, rows, 5, false, rec, &a);
    assert_false(a.need_full);
    assert_int_equal(a.old, 2);
    assert_int_equal(a.matched, 1);
    assert_int_equal(a.recovered, 2);
    assert_int_equal(a.lost, 0);
    /* Two identical rows in one second, one seen live: exactly one of them is recovered. */
    assert_int_equal(rec[0] + rec[1], 0);
    assert_int_equal(rec[2] + rec[3], 1);
    assert_int_equal(rec[4], 1);
    assert_int_equal(a.next.index, 13);
    assert_int_equal(a.next.time, 102);
    assert_int_equal(live.n, 1); /* the stale entry went, the later one waits for its row */
    assert_int_equal(live.v[0].t.card, 5);
    c3_live_clear(&live);
}

static void by_index_gap_asks_for_full_read_then_counts_lost(void **state)
{
    (void)state;
    struct c3_cursor cur = { .valid = true, .index = 10, .time = 100 };
    struct c3_txn rows[] = { row(15, 105, 1, 0), row(16, 106, 1, 0) };
    struct c3_live_set live = { 0 };
    uint8_t rec[2];
    struct c3_align_out a;
    c3_catchup_align(&cur, &live, rows, 2, false, rec, &a);
    assert_true(a.need_full);
    assert_int_equal(a.next.index, 10);
    /* The whole table: rows 11..14 are not there any more (wrapped). */
    c3_catchup_align(&cur, &live, rows, 2, true, rec, &a);
    assert_false(a.need_full);
    assert_int_equal(a.lost, 4);
    assert_int_equal(a.recovered, 2);
    assert_int_equal(a.next.index, 16);
    /* A row deleted in the middle counts too. */
    struct c3_txn holes[] = { row(11, 101, 1, 0), row(13, 103, 1, 0) };
    c3_catchup_align(&cur, &live, holes, 2, true, rec, &a);
    assert_int_equal(a.lost, 1);
    assert_int_equal(a.recovered, 2);
}

static void by_index_renumbered_table_falls_back_to_time(void **state)
{
    (void)state;
    struct c3_cursor cur = { .valid = true, .index = 5000, .time = 200, .tie = 1 };
    struct c3_txn rows[] = { row(1, 150, 1, 0), row(2, 200, 1, 0), row(3, 201, 1, 0) };
    struct c3_live_set live = { 0 };
    uint8_t rec[3];
    struct c3_align_out a;
    c3_catchup_align(&cur, &live, rows, 3, true, rec, &a);
    assert_int_equal(a.recovered, 1);
    assert_int_equal(rec[2], 1);
    assert_int_equal(a.next.index, 3);
}

static void first_contact_unknown_index_takes_rows_after_time(void **state)
{
    (void)state;
    struct c3_cursor cur = { .valid = true, .index = C3_CURSOR_INDEX_UNKNOWN, .time = 300, .tie = 0 };
    struct c3_txn rows[] = { row(40, 299, 1, 0), row(41, 300, 2, 0), row(42, 305, 3, 0) };
    struct c3_live_set live = { 0 };
    uint8_t rec[3];
    struct c3_align_out a;
    c3_catchup_align(&cur, &live, rows, 3, false, rec, &a);
    assert_false(a.need_full);
    assert_false(a.lost_unknown);
    assert_int_equal(a.recovered, 2);
    assert_int_equal(a.next.index, 42);
}

static void by_time_ties_and_maybe_lost(void **state)
{
    (void)state;
    /* Two rows of second 100 were journaled; the table now holds three of that second. */
    struct c3_cursor cur = { .valid = true, .index = C3_CURSOR_INDEX_NONE, .time = 100, .tie = 2 };
    struct c3_txn rows[] = { row(-1, 99, 1, 0), row(-1, 100, 2, 0), row(-1, 100, 2, 0), row(-1, 100, 2, 0),
                             row(-1, 101, 3, 0) };
    struct c3_live_set live = { 0 };
    uint8_t rec[5];
    struct c3_align_out a;
    c3_catchup_align(&cur, &live, rows, 5, true, rec, &a);
    assert_int_equal(a.old, 3);
    assert_int_equal(a.recovered, 2);
    assert_true(rec[3] && rec[4]);
    assert_false(a.lost_unknown);
    assert_int_equal(a.next.index, C3_CURSOR_INDEX_NONE);
    assert_int_equal(a.next.time, 101);
    assert_int_equal(a.next.tie, 1);
    /* The oldest row is already new: older ones may have been overwritten. */
    struct c3_txn later[] = { row(-1, 150, 1, 0), row(-1, 151, 1, 0) };
    c3_catchup_align(&cur, &live, later, 2, true, rec, &a);
    assert_true(a.lost_unknown);
    assert_int_equal(a.oldest_time, 150);
    assert_int_equal(a.recovered, 2);
}

static void identical_live_events_oldest_matched_first(void **state)
{
    (void)state;
    /* A twice (one before the read, one after); the table read holds only the first A. */
    struct c3_cursor cur = { .valid = true, .index = 1, .time = 10 };
    struct c3_txn a1 = row(-1, 11, 1, 0);
    struct c3_live_set live = { 0 };
    c3_live_add(&live, &a1);
    c3_live_mark(&live);
    c3_live_add(&live, &a1);
    struct c3_txn rows[] = { row(2, 11, 1, 0) };
    uint8_t rec[1];
    struct c3_align_out a;
    c3_catchup_align(&cur, &live, rows, 1, false, rec, &a);
    assert_int_equal(a.matched, 1);
    assert_int_equal(a.recovered, 0);
    /* The second A is still pending (its row comes with a later read). */
    assert_int_equal(live.n, 1);
    assert_false(live.v[0].before_read);
    c3_live_clear(&live);
}

static void empty_read_keeps_position(void **state)
{
    (void)state;
    struct c3_cursor cur = { .valid = true, .index = 7, .time = 70, .tie = 1 };
    struct c3_live_set live = { 0 };
    struct c3_txn l1 = row(-1, 80, 1, 0);
    c3_live_add(&live, &l1);
    struct c3_align_out a;
    uint8_t rec[1];
    c3_catchup_align(&cur, &live, NULL, 0, false, rec, &a);
    assert_int_equal(a.recovered, 0);
    assert_int_equal(a.next.index, 7);
    assert_int_equal(live.n, 1); /* still waiting for its row */
    c3_live_clear(&live);
}

static void keys_and_text(void **state)
{
    (void)state;
    struct c3_txn r = row(77, 754732325u, 1234567, 0);
    struct event ev;
    c3_catchup_event_fill(&ev, &r);
    assert_int_equal(ev.kind, EVENT_ACCESS);
    assert_int_equal(ev.card, 1234567);
    assert_non_null(strstr(ev.text, "card 1234567 pin 7"));
    c3_catchup_key(&ev, "Panel A", &r, 0);
    assert_non_null(strstr(ev.key, "Panel A|#000000000077|"));
    int64_t record = -1;
    assert_true(event_key_record(ev.key, &record));
    assert_int_equal(record, 77);
    /* a panel's rows sort in their Index order in the key index (78 after 77, 100 after 99) */
    struct event k2 = ev, k3 = ev, k4 = ev;
    struct c3_txn r2 = row(78, 754732325u, 1, 0), r3 = row(99, 754732325u, 1, 0), r4 = row(100, 754732325u, 1, 0);
    c3_catchup_key(&k2, "Panel A", &r2, 0);
    c3_catchup_key(&k3, "Panel A", &r3, 0);
    c3_catchup_key(&k4, "Panel A", &r4, 0);
    assert_true(strcmp(ev.key, k2.key) < 0 && strcmp(k2.key, k3.key) < 0 && strcmp(k3.key, k4.key) < 0);
    assert_string_equal(ev.device, "Panel A");
    assert_true(strncmp(ev.key, "Panel A|", 8) == 0); /* keys are unique in the whole journal */
    /* The same row without an Index: the ordinal tells identical rows of one second apart. */
    r.index = -1;
    struct event e2;
    c3_catchup_event_fill(&e2, &r);
    c3_catchup_key(&e2, "Panel A", &r, 1);
    assert_non_null(strstr(e2.key, "|T1"));
    assert_int_equal(c3_catchup_epoch(754732325u), 1687679525); /* 2023-06-25 07:52:05 as UTC */
}

/* The row's line is the one its format says, for every kind of row (names, numbers, verify and in/out). */
static void text_has_its_format(void **state)
{
    (void)state;
    static const uint32_t ids[] = { 0, 7, 4294967295u };
    static const uint8_t types[] = { 0, 27, 202, 255 };
    static const uint8_t verify[] = { 200, 1, 4, 250 };
    static const uint8_t inout[] = { C3_INOUT_NONE, 0, 1, 9 };
    for (size_t t = 0; t < 4; t++)
        for (size_t c = 0; c < 3; c++)
            for (size_t p = 0; p < 3; p++)
                for (size_t v = 0; v < 4; v++)
                    for (size_t io = 0; io < 4; io++) {
                        struct c3_txn r = row(1, 754732325u, ids[c], types[t]);
                        r.pin = ids[p];
                        r.verify = verify[v];
                        r.inout = inout[io];
                        struct event ev;
                        c3_catchup_event_fill(&ev, &r);
                        char lb[C3_LABEL_LEN], vb[C3_LABEL_LEN], ib[C3_LABEL_LEN], who[64] = "", want[EVENT_TEXT_MAX];
                        const char *label = c3_event_label(r.type, lb, sizeof lb);
                        if (r.card && r.pin)
                            snprintf(who, sizeof who, " card %u pin %u", r.card, r.pin);
                        else if (r.card)
                            snprintf(who, sizeof who, " card %u", r.card);
                        else if (r.pin)
                            snprintf(who, sizeof who, " pin %u", r.pin);
                        if (r.verify == 200 && r.inout == C3_INOUT_NONE)
                            snprintf(want, sizeof want, "%s%s", label, who);
                        else
                            snprintf(want, sizeof want, "%s%s (%s, %s)", label, who,
                                     c3_verify_label(r.verify, vb, sizeof vb), c3_inout_label(r.inout, ib, sizeof ib));
                        assert_string_equal(ev.text, want);
                    }
}

/* Row by row (as a streamed read arrives) the aligner decides exactly what the whole read decides. */
static void aligner_row_by_row_equals_whole_read(void **state)
{
    (void)state;
    struct c3_txn rows[64];
    uint32_t seed = 7;
    int64_t index = 100;
    for (size_t i = 0; i < 64; i++) {
        seed = seed * 1103515245u + 12345u;
        index += (seed >> 16) % 7 == 0 ? 2 : 1; /* now and then a row deleted in between */
        rows[i] = row(index, 1000 + (uint32_t)i / 3, (seed >> 8) % 3, (uint8_t)((seed >> 4) % 2));
    }
    const struct c3_cursor curs[] = { { .valid = true, .index = 99, .time = 990 },
                                      { .valid = true, .index = 120, .time = 1005, .tie = 1 },
                                      { .valid = true, .index = 90, .time = 900 },
                                      { .valid = true, .index = C3_CURSOR_INDEX_UNKNOWN, .time = 1004, .tie = 2 } };
    for (size_t c = 0; c < sizeof curs / sizeof curs[0]; c++) {
        for (int full = 0; full < 2; full++) {
            struct c3_live_set l1 = { 0 }, l2 = { 0 };
            for (size_t i = 10; i < 64; i += 9) {
                struct c3_txn seen = rows[i];
                seen.index = -1; /* binary records: matched by content */
                c3_live_add(&l1, &seen);
                c3_live_add(&l2, &seen);
            }
            uint8_t whole[64], one[64];
            struct c3_align_out a, b;
            c3_catchup_align(&curs[c], &l1, rows, 64, full, whole, &a);
            struct c3_aligner al;
            c3_aligner_begin(&al, &curs[c], full, true);
            bool need_full = false;
            for (size_t i = 0; i < 64 && !need_full; i++) {
                int r = c3_aligner_row(&al, &l2, &rows[i]);
                need_full = r < 0;
                one[i] = (uint8_t)(r > 0);
            }
            c3_aligner_end(&al, &l2, rows, 64, &b);
            assert_int_equal(a.need_full, b.need_full);
            assert_int_equal(a.need_full, need_full);
            if (!a.need_full)
                assert_memory_equal(whole, one, sizeof whole);
            assert_int_equal(a.recovered, b.recovered);
            assert_int_equal(a.matched, b.matched);
            assert_int_equal(a.old, b.old);
            assert_int_equal(a.lost, b.lost);
            assert_int_equal(a.lost_unknown, b.lost_unknown);
            assert_int_equal(a.next.index, b.next.index);
            assert_int_equal(a.next.time, b.next.time);
            assert_int_equal(a.next.tie, b.next.tie);
            assert_int_equal(l1.n, l2.n);
            c3_live_clear(&l1);
            c3_live_clear(&l2);
        }
    }
}

/* A streamed read that fails after matching live entries puts them back: the next read matches them again and
 * journals nothing twice. */
static void failed_read_puts_matched_live_entries_back(void **state)
{
    (void)state;
    struct c3_cursor cur = { .valid = true, .index = 10, .time = 100 };
    struct c3_txn rows[] = { row(11, 101, 3, 0), row(12, 102, 4, 0), row(13, 103, 5, 0) };
    struct c3_txn seen = row(-1, 102, 4, 0);
    struct c3_live_set live = { 0 };
    c3_live_add(&live, &seen);
    c3_live_mark(&live);
    struct c3_aligner al;
    c3_aligner_begin(&al, &cur, false, true);
    assert_int_equal(c3_aligner_row(&al, &live, &rows[0]), 1);
    assert_int_equal(c3_aligner_row(&al, &live, &rows[1]), 0); /* journaled live */
    assert_true(live.v[0].taken);
    /* the transfer fails here */
    c3_live_untake(&live);
    assert_int_equal(live.n, 1);
    assert_false(live.v[0].taken);
    uint8_t rec[3];
    struct c3_align_out a;
    c3_live_mark(&live);
    c3_catchup_align(&cur, &live, rows, 3, false, rec, &a);
    assert_int_equal(a.matched, 1);
    assert_int_equal(a.recovered, 2);
    assert_int_equal(rec[1], 0);
    assert_int_equal(live.n, 0);
    c3_live_clear(&live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cursor_text),
        cmocka_unit_test(by_index_new_rows_and_live_matches),
        cmocka_unit_test(by_index_gap_asks_for_full_read_then_counts_lost),
        cmocka_unit_test(by_index_renumbered_table_falls_back_to_time),
        cmocka_unit_test(first_contact_unknown_index_takes_rows_after_time),
        cmocka_unit_test(by_time_ties_and_maybe_lost),
        cmocka_unit_test(identical_live_events_oldest_matched_first),
        cmocka_unit_test(empty_read_keeps_position),
        cmocka_unit_test(keys_and_text),
        cmocka_unit_test(text_has_its_format),
        cmocka_unit_test(aligner_row_by_row_equals_whole_read),
        cmocka_unit_test(failed_read_puts_matched_live_entries_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
