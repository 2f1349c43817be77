/* The journal's write-behind queue: order, bound, loss accounting, duplicates, audit handles, retry delay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/jqueue.h"

static struct event mk(int n, const char *key, int64_t t)
{
    struct event ev;
    event_init(&ev, EVENT_ACCESS, EVENT_NORMAL);
    ev.host_time_us = t;
    ev.seq = (uint64_t)n;
    event_set_text(&ev, "event %d", n);
    if (key)
        event_copy(ev.key, sizeof ev.key, key);
    return ev;
}

static void order_and_bound(void **state)
{
    (void)state;
    struct jqueue *q = jq_new(3, 2);
    assert_non_null(q);
    for (int i = 1; i <= 3; i++) {
        struct event ev = mk(i, NULL, i * 1000);
        assert_int_equal(jq_push_event(q, &ev), 1);
    }
    /* Full: the next ones are counted in one loss item at the tail, with their time span. */
    for (int i = 4; i <= 7; i++) {
        struct event ev = mk(i, NULL, i * 1000);
        assert_int_equal(jq_push_event(q, &ev), -1);
    }
    assert_int_equal(jq_len(q), 4);
    assert_int_equal(jq_events(q), 3);
    for (int i = 0; i < 3; i++) {
        const struct jq_item *it = jq_peek(q, (size_t)i);
        assert_int_equal(it->kind, JQ_EVENT);
        assert_int_equal(it->ev->seq, (uint64_t)i + 1);
    }
    const struct jq_item *loss = jq_peek(q, 3);
    assert_int_equal(loss->kind, JQ_LOSS);
    assert_int_equal(loss->loss.events, 4);
    assert_int_equal(loss->loss.first_us, 4000);
    assert_int_equal(loss->loss.last_us, 7000);
    assert_null(jq_peek(q, 4));

    /* Two stored: room again; a new event goes behind the loss item, a later loss gets an item of its own. */
    jq_pop(q, 2);
    struct event ev = mk(8, NULL, 8000);
    assert_int_equal(jq_push_event(q, &ev), 1);
    ev = mk(9, NULL, 9000);
    assert_int_equal(jq_push_event(q, &ev), 1);
    ev = mk(10, NULL, 10000);
    assert_int_equal(jq_push_event(q, &ev), -1);
    assert_int_equal(jq_len(q), 5);
    assert_int_equal(jq_peek(q, 1)->kind, JQ_LOSS);
    assert_int_equal(jq_peek(q, 2)->ev->seq, 8);
    assert_int_equal(jq_peek(q, 4)->kind, JQ_LOSS);
    assert_int_equal(jq_peek(q, 4)->loss.events, 1);
    struct jq_loss total = jq_lost(q);
    assert_int_equal(total.events, 5);
    assert_int_equal(total.first_us, 4000);
    assert_int_equal(total.last_us, 10000);
    jq_loss_reset(q);
    assert_int_equal(jq_lost(q).events, 0);
    jq_pop(q, 100);
    assert_int_equal(jq_len(q), 0);
    assert_int_equal(jq_events(q), 0);
    jq_free(q);
}

static void loss_items_are_bounded(void **state)
{
    (void)state;
    /* No room for events, room for audit rows: losses and audit rows alternate. At most 16 loss items (the
     * newest grows), and every lost event is counted in one of them. */
    struct jqueue *q = jq_new(0, 100);
    for (int i = 0; i < 50; i++) {
        struct event ev = mk(i, NULL, i);
        assert_int_equal(jq_push_event(q, &ev), -1);
        struct audit_record r;
        memset(&r, 0, sizeof r);
        assert_int_equal(jq_push_audit(q, &r), 1);
    }
    size_t losses = 0;
    uint64_t counted = 0;
    for (size_t k = 0; k < jq_len(q); k++)
        if (jq_peek(q, k)->kind == JQ_LOSS) {
            losses++;
            counted += jq_peek(q, k)->loss.events;
        }
    assert_int_equal(losses, 16);
    assert_int_equal(counted, 50);
    assert_int_equal(jq_lost(q).events, 50);
    assert_int_equal(jq_audits(q), 50);
    jq_free(q);
}

static void duplicates_kept_once(void **state)
{
    (void)state;
    struct jqueue *q = jq_new(10, 2);
    struct event a = mk(1, "P|5|1", 1), b = mk(2, "P|5|1", 2), c = mk(3, "P|6|1", 3), d = mk(4, NULL, 4),
                 e = mk(5, NULL, 5);
    assert_int_equal(jq_push_event(q, &a), 1);
    assert_int_equal(jq_push_event(q, &b), 0);
    assert_int_equal(jq_push_event(q, &c), 1);
    assert_int_equal(jq_push_event(q, &d), 1);
    assert_int_equal(jq_push_event(q, &e), 1); /* no key: never a duplicate */
    assert_int_equal(jq_events(q), 4);
    jq_free(q);
}

static void audit_handles(void **state)
{
    (void)state;
    struct jqueue *q = jq_new(10, 3);
    struct audit_record r;
    memset(&r, 0, sizeof r);
    snprintf(r.action, sizeof r.action, "emergency-on");
    r.time_us = 100;
    assert_int_equal(jq_push_audit(q, &r), 1);
    int64_t h = r.id;
    assert_true(h < 0);
    assert_true(jq_has_audit(q, h));
    /* Completed while waiting: merged into the waiting row. */
    assert_int_equal(jq_finish_audit(q, h, "ok", "Front: ok", 200), 1);
    assert_int_equal(jq_audits(q), 1);
    assert_string_equal(jq_peek(q, 0)->rec->result, "ok");
    assert_string_equal(jq_peek(q, 0)->rec->detail, "Front: ok");
    assert_int_equal(jq_peek(q, 0)->rec->done_us, 200);

    /* A second row, stored (popped and mapped) before its completion: the completion names the stored id. */
    struct audit_record r2 = r;
    assert_int_equal(jq_push_audit(q, &r2), 1);
    int64_t h2 = r2.id;
    assert_true(h2 != h);
    jq_pop(q, 2);
    jq_map_handle(q, h, 41);
    jq_map_handle(q, h2, 42);
    assert_false(jq_has_audit(q, h2));
    assert_int_equal(jq_resolve(q, h2), 42);
    assert_int_equal(jq_finish_audit(q, h2, "failed", "Back: FAILED", 300), 1);
    assert_int_equal(jq_peek(q, 0)->kind, JQ_FINISH);
    assert_int_equal(jq_peek(q, 0)->fin->id, 42);
    assert_true(jq_has_audit(q, h2));
    assert_true(jq_has_audit(q, 42));
    /* A completion of a stored row by its id. */
    assert_int_equal(jq_finish_audit(q, 7, "ok", "", 400), 1);
    /* Unknown handle (its row was lost): nothing to complete. */
    assert_int_equal(jq_finish_audit(q, -999, "ok", "", 500), -1);
    /* The audit bound (3): a fourth audit item is lost and counted. */
    struct audit_record r3 = r;
    assert_int_equal(jq_push_audit(q, &r3), 1);
    assert_int_equal(jq_push_audit(q, &r3), -1);
    assert_int_equal(jq_lost(q).audits, 1);
    assert_int_equal(jq_lost(q).events, 0);
    jq_free(q);
}

static void retry_delay(void **state)
{
    (void)state;
    assert_int_equal(jq_retry_delay_us(0), 100000);
    assert_int_equal(jq_retry_delay_us(1), 200000);
    assert_int_equal(jq_retry_delay_us(2), 400000);
    assert_int_equal(jq_retry_delay_us(3), 800000);
    assert_int_equal(jq_retry_delay_us(4), 1000000);
    assert_int_equal(jq_retry_delay_us(1000), 1000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order_and_bound),
        cmocka_unit_test(loss_items_are_bounded),
        cmocka_unit_test(duplicates_kept_once),
        cmocka_unit_test(audit_handles),
        cmocka_unit_test(retry_delay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
