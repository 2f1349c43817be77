/* Unit tests for what output modules build on: several site change listeners beside on_change (added,
 * removed, removing themselves while called), and reading the journal forward from an id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/journal.h"
#include "core/site.h"

struct rec {
    int calls;
    int last_device, last_output;
    bool remove_self;
};

static void on_change(struct site *site, int device, int output, void *arg)
{
    struct rec *r = arg;
    r->calls++;
    r->last_device = device;
    r->last_output = output;
    if (r->remove_self)
        site_unlisten(site, on_change, arg);
}

static void test_listeners(void **state)
{
    struct site *s = site_new();
    struct rec main_rec = { 0 }, a = { 0 }, b = { 0 }, c = { 0 };
    s->on_change = on_change;
    s->on_change_arg = &main_rec;
    assert_int_equal(site_listen(s, on_change, &a), 0);
    assert_int_equal(site_listen(s, on_change, &b), 0);
    assert_int_equal(site_listen(s, on_change, &c), 0);
    site_changed(s, 2, -1);
    assert_int_equal(main_rec.calls, 1);
    assert_int_equal(a.calls, 1);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.last_device, 2);
    /* b removes itself while called: c is still called in the same round */
    b.remove_self = true;
    site_changed(s, -1, 7);
    assert_int_equal(b.calls, 2);
    assert_int_equal(c.calls, 2);
    assert_int_equal(c.last_output, 7);
    site_changed(s, -1, 8);
    assert_int_equal(b.calls, 2);
    assert_int_equal(a.calls, 3);
    site_unlisten(s, on_change, &a);
    site_changed(s, -1, 9);
    assert_int_equal(a.calls, 3);
    assert_int_equal(c.calls, 4);
    assert_int_equal(main_rec.calls, 4);
    site_free(s);
}

struct collect {
    int64_t ids[64];
    bool acked[64];
    size_t n;
    size_t stop_after;
};

static int collect(const struct event *ev, bool acked, void *arg)
{
    struct collect *c = arg;
    c->acked[c->n] = acked;
    c->ids[c->n++] = ev->id;
    return c->stop_after && c->n >= c->stop_after;
}

static void test_journal_forward(void **state)
{
    char dir[] = "/tmp/portier-fwd.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/j.db", dir);
    char err[256];
    struct journal_opts o = { .path = path };
    struct journal *j = journal_open(&o, err, sizeof err);
    assert_non_null(j);
    int64_t lo = -1, hi = -1;
    assert_int_equal(journal_event_id_range(j, &lo, &hi), 0);
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 0);
    for (int i = 0; i < 10; i++) {
        struct event ev;
        event_init(&ev, EVENT_ACCESS, i == 4 ? EVENT_ALARM : EVENT_NORMAL);
        ev.host_time_us = 1000 + i;
        event_set_text(&ev, "event %d", i);
        assert_int_equal(journal_commit_event(j, &ev), 1);
        assert_int_equal(ev.id, i + 1);
    }
    assert_int_equal(journal_ack(j, 5, "alice"), 0);
    struct collect c = { .n = 0 };
    assert_int_equal(journal_events_after(j, 3, 4, collect, &c), 4);
    assert_int_equal(c.n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(c.ids[i], 4 + (int64_t)i);
    assert_false(c.acked[0]);
    assert_true(c.acked[1]);
    /* the callback may stop early */
    memset(&c, 0, sizeof c);
    c.stop_after = 2;
    assert_int_equal(journal_events_after(j, 0, 0, collect, &c), 2);
    assert_int_equal(c.ids[1], 2);
    memset(&c, 0, sizeof c);
    assert_int_equal(journal_events_after(j, 10, 5, collect, &c), 0);
    assert_int_equal(journal_event_id_range(j, &lo, &hi), 0);
    assert_int_equal(lo, 1);
    assert_int_equal(hi, 10);
    char by[64] = "";
    int64_t at = 0;
    assert_int_equal(journal_event_ack_state(j, 5, by, sizeof by, &at), 1);
    assert_string_equal(by, "alice");
    assert_true(at > 0);
    assert_int_equal(journal_event_ack_state(j, 6, by, sizeof by, &at), 0);
    assert_int_equal(journal_event_ack_state(j, 99, by, sizeof by, &at), -1);
    journal_close(j);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listeners),
        cmocka_unit_test(test_journal_forward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
