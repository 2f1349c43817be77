/* Batched journal commits on the event bus: nothing is shown before its batch is durable. */
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/event.h"
#include "core/journal.h"
#include "core/loop.h"

struct seen {
    char texts[8][256];
    bool journaled[8], queued[8];
    int n;
    struct journal *j;
    long rows_when_first_seen;
};

static void on_event(const struct event *ev, void *arg)
{
    struct seen *s = arg;
    if (s->n == 0 && s->j)
        s->rows_when_first_seen = journal_count_events(s->j);
    if (s->n < 8) {
        snprintf(s->texts[s->n], sizeof s->texts[0], "%s", ev->text);
        s->journaled[s->n] = ev->journaled;
        s->queued[s->n] = ev->queued;
    }
    s->n++;
}

static void publish(struct event_bus *bus, const char *text, const char *key)
{
    struct event ev;
    event_init(&ev, EVENT_ACCESS, EVENT_NORMAL);
    event_set_text(&ev, "%s", text);
    if (key)
        event_copy(ev.key, sizeof ev.key, key);
    assert_int_equal(event_publish(bus, &ev), 1);
}

static void batch_commits_before_delivery(void **state)
{
    (void)state;
    char dir[] = "/tmp/portier-batch-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/j.db", dir);
    struct journal_opts o = { .path = path };
    struct journal *j = journal_open(&o, err, sizeof err);
    assert_non_null(j);
    loop_t *loop = loop_new_fake(0);
    struct event_bus *bus = event_bus_new();
    event_bus_set_journal(bus, journal_store_hook, j);
    event_bus_set_batching(bus, loop, 2);
    struct seen s = { .j = j };
    assert_true(event_bus_subscribe(bus, on_event, &s) > 0);

    publish(bus, "one", "k1");
    publish(bus, "two", "k2");
    publish(bus, "dup", "k1");
    publish(bus, "three", NULL);
    assert_int_equal(s.n, 0);                 /* queued, not shown */
    assert_int_equal(journal_count_events(j), 0);

    loop_advance(loop, 0);                    /* first batch of 2 */
    assert_int_equal(s.n, 2);
    assert_int_equal(s.rows_when_first_seen, 2); /* both rows durable before the first was shown */
    loop_advance(loop, 1);                    /* the rest: the duplicate is dropped */
    assert_int_equal(s.n, 3);
    assert_string_equal(s.texts[0], "one");
    assert_string_equal(s.texts[1], "two");
    assert_string_equal(s.texts[2], "three");
    for (int i = 0; i < 3; i++)
        assert_true(s.journaled[i]);
    assert_int_equal(journal_count_events(j), 3);
    assert_int_equal(event_bus_duplicates(bus), 1);

    publish(bus, "last", NULL);
    event_bus_flush(bus);                     /* explicit flush, e.g. at exit */
    assert_int_equal(s.n, 4);
    assert_int_equal(journal_count_events(j), 4);

    event_bus_free(bus);
    loop_free(loop);
    journal_close(j);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static int stores;
/* A journal whose transaction fails: the first event is kept in memory, the second lost. */
static void fake_store(struct event *evs, size_t n, int *rc, void *arg)
{
    (void)evs;
    (void)arg;
    stores++;
    for (size_t i = 0; i < n; i++)
        rc[i] = i == 0 ? 2 : -1;
}

static void failed_batch_is_still_shown_unjournaled(void **state)
{
    (void)state;
    loop_t *loop = loop_new_fake(0);
    struct event_bus *bus = event_bus_new();
    event_bus_set_journal(bus, fake_store, NULL);
    event_bus_set_batching(bus, loop, 0);
    struct seen s = { 0 };
    event_bus_subscribe(bus, on_event, &s);
    publish(bus, "alarm", NULL);
    publish(bus, "alarm 2", NULL);
    loop_advance(loop, 1);
    assert_int_equal(stores, 1);              /* one transaction for the batch */
    assert_int_equal(s.n, 2);                 /* an operator must still see it */
    assert_false(s.journaled[0]);
    assert_false(s.journaled[1]);
    assert_true(s.queued[0]);                 /* kept in memory, stored later */
    assert_false(s.queued[1]);                /* lost */
    assert_int_equal(event_bus_journal_failures(bus), 2);
    assert_int_equal(event_bus_journal_lost(bus), 1);
    event_bus_free(bus);
    loop_free(loop);
}

struct order {
    int next, bad;
};

static void in_order(const struct event *ev, void *arg)
{
    struct order *o = arg;
    if (atoi(ev->text) != o->next)
        o->bad++;
    o->next++;
}

static void publish_n(struct event_bus *bus, int from, int n)
{
    for (int i = from; i < from + n; i++) {
        char t[16];
        snprintf(t, sizeof t, "%d", i);
        publish(bus, t, NULL);
    }
}

/* A burst longer than a batch, with more published while its batches are stored: every event once, in order,
 * and the oldest unstored one is known at every step (the waiting events are moved to the front or the buffer
 * grows as it fills). */
static void long_burst_stays_in_order(void **state)
{
    (void)state;
    loop_t *loop = loop_new_fake(0);
    struct event_bus *bus = event_bus_new();
    event_bus_set_batching(bus, loop, 16);
    struct order o = { 0 };
    event_bus_subscribe(bus, in_order, &o);
    publish_n(bus, 0, 64);
    uint64_t first = event_bus_unstored_from(bus);
    assert_true(first > 0);
    loop_advance(loop, 1);                    /* a few batches, not all of them */
    assert_true(o.next >= 32 && o.next < 64);
    assert_int_equal(event_bus_unstored_from(bus), first + (uint64_t)o.next);
    publish_n(bus, 64, 20);                   /* half of the buffer or more is free room at its front */
    assert_int_equal(event_bus_unstored_from(bus), first + (uint64_t)o.next);
    publish_n(bus, 84, 120);                  /* more than the room: the buffer grows */
    assert_int_equal(event_bus_unstored_from(bus), first + (uint64_t)o.next);
    for (int i = 0; i < 20 && o.next < 204; i++)
        loop_advance(loop, 1);
    assert_int_equal(o.next, 204);
    assert_int_equal(o.bad, 0);
    assert_int_equal(event_bus_unstored_from(bus), 0);
    publish_n(bus, 204, 1);                   /* an empty bus starts at the front again */
    event_bus_flush(bus);
    assert_int_equal(o.next, 205);
    assert_int_equal(o.bad, 0);
    event_bus_free(bus);
    loop_free(loop);
}

/* A subscriber that publishes while a batch taken whole (the queue's own array) is delivered: its events wait in
 * the spare array, behind the batch, and come next, in order, with the oldest unstored one known meanwhile. */
struct echo {
    struct event_bus *bus;
    int seen[64];
    int n;
    uint64_t unstored[3];
};

static void echo_some(const struct event *ev, void *arg)
{
    struct echo *e = arg;
    int v = atoi(ev->text);
    if (e->n < 64)
        e->seen[e->n] = v;
    e->n++;
    if (v < 3) {
        publish_n(e->bus, 100 + v, 1);
        e->unstored[v] = event_bus_unstored_from(e->bus);
    }
}

static void whole_batch_keeps_order_with_publishes_meanwhile(void **state)
{
    (void)state;
    loop_t *loop = loop_new_fake(0);
    struct event_bus *bus = event_bus_new();
    event_bus_set_batching(bus, loop, 16);
    struct echo e = { .bus = bus };
    event_bus_subscribe(bus, echo_some, &e);
    for (int round = 0; round < 3; round++) { /* the arrays change roles each time */
        e.n = 0;
        publish_n(bus, 0, 10);                /* fewer than a batch: taken whole */
        uint64_t first = event_bus_unstored_from(bus);
        for (int i = 0; i < 5 && e.n < 13; i++)
            loop_advance(loop, 1);
        assert_int_equal(e.n, 13);
        for (int i = 0; i < 10; i++)
            assert_int_equal(e.seen[i], i);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(e.unstored[i], first + 10); /* the first one published meanwhile */
            assert_int_equal(e.seen[10 + i], 100 + i);
        }
        assert_int_equal(event_bus_unstored_from(bus), 0);
    }
    event_bus_free(bus);
    loop_free(loop);
}

/* An event's key is the one its format says, for any values (live and recovered copies must agree). */
static void key_has_its_format(void **state)
{
    (void)state;
    static const int64_t times[] = { 0, 1, -1, 1700000000, INT64_MAX, INT64_MIN };
    static const int ints[] = { 0, -1, 7, 200, INT32_MAX, INT32_MIN };
    static const uint32_t u32[] = { 0, 1, 12345678, UINT32_MAX };
    static const char *const names[] = { "", "P", "a panel name that is longer than forty characters, cut" };
    for (size_t a = 0; a < 6; a++)
        for (size_t b = 0; b < 6; b++)
            for (size_t c = 0; c < 4; c++)
                for (size_t d = 0; d < 3; d++) {
                    struct event ev;
                    event_init(&ev, EVENT_ACCESS, EVENT_NORMAL);
                    event_copy(ev.device, sizeof ev.device, names[d]);
                    ev.device_time = times[a];
                    ev.code = ints[b];
                    ev.door_no = ints[(b + 1) % 6];
                    ev.card = u32[c];
                    ev.pin = u32[(c + 1) % 4];
                    ev.verify = ints[(b + 2) % 6];
                    ev.inout = ints[(a + b) % 6];
                    event_make_key(&ev);
                    char want[EVENT_KEY_MAX];
                    snprintf(want, sizeof want, "%.40s|%lld|%d|%d|%u|%u|%d|%d", ev.device, (long long)ev.device_time,
                             ev.code, ev.door_no, ev.card, ev.pin, ev.verify, ev.inout);
                    assert_string_equal(ev.key, want);
                }
}

/* A text longer than the event holds is cut at a whole UTF-8 character (a broken one is not valid JSON). */
static void long_text_cut_at_a_character(void **state)
{
    (void)state;
    char word[600] = "";
    for (int i = 0; i < 250; i++)
        strcat(word, "\xc3\xa9"); /* é */
    for (int pre = 0; pre < 4; pre++) {
        struct event ev;
        event_init(&ev, EVENT_OPERATOR, EVENT_NORMAL);
        event_set_text(&ev, "%.*s%s", pre, "abc", word);
        size_t n = strlen(ev.text);
        assert_true(n >= sizeof ev.text - 2 && n <= sizeof ev.text - 1);
        assert_int_equal((n - (size_t)pre) % 2, 0); /* no half character at the end */
        assert_int_equal((unsigned char)ev.text[n - 1], 0xa9);
    }
}

static void keep_event(const struct event *ev, void *arg)
{
    *(struct event *)arg = *ev;
}

/* portier's own events (portierd's notices, an emergency's steps, the journal's, the console's) are made by one
 * function: every field it is given, empty where it is given none, the text cut at a whole UTF-8 character. */
static void publish_text_fields(void **state)
{
    (void)state;
    struct event_bus *bus = event_bus_new();
    assert_non_null(bus);
    struct event got;
    memset(&got, 0, sizeof got);
    assert_true(event_bus_subscribe(bus, keep_event, &got) > 0);
    assert_int_equal(event_publish_text(bus, EVENT_EMERGENCY, EVENT_WARNING, "portierd", "Front", NULL,
                                        "emergency: %s unlocked on retry %u", "Front", 3u), 1);
    assert_int_equal(got.kind, EVENT_EMERGENCY);
    assert_int_equal(got.severity, EVENT_WARNING);
    assert_string_equal(got.device, "portierd");
    assert_string_equal(got.door, "Front");
    assert_string_equal(got.code_name, "");
    assert_string_equal(got.text, "emergency: Front unlocked on retry 3");
    assert_true(got.seq > 0);
    char word[600] = "";
    for (int i = 0; i < 250; i++)
        strcat(word, "\xc3\xa9"); /* é */
    assert_int_equal(event_publish_text(bus, EVENT_SYSTEM, EVENT_NORMAL, NULL, NULL, "console started", "x%s", word), 1);
    assert_string_equal(got.device, "");
    assert_string_equal(got.door, "");
    assert_string_equal(got.code_name, "console started");
    size_t n = strlen(got.text);
    assert_true(n >= sizeof got.text - 2);
    assert_int_equal((n - 1) % 2, 0); /* no half character at the end */
    event_bus_free(bus);
}

struct bg_seen {
    int n, bad_order, not_journaled;
    int64_t last_id;
    int next;
};

static void bg_on_event(const struct event *ev, void *arg)
{
    struct bg_seen *s = arg;
    if (atoi(ev->text) != s->next)
        s->bad_order++;
    s->next = atoi(ev->text) + 1;
    if (!ev->journaled || ev->id <= s->last_id)
        s->not_journaled++;
    s->last_id = ev->id;
    s->n++;
}

/* A journal file of its own on a loop, with a batching bus attached (as a console's), for the writer-thread tests. */
struct bgfix {
    char dir[32];
    loop_t *loop;
    struct journal *j;
    struct event_bus *bus;
};

static void bgfix_open(struct bgfix *f)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/portier-batch-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/j.db", f->dir);
    f->loop = loop_new();
    struct journal_opts o = { .path = path, .loop = f->loop };
    f->j = journal_open(&o, err, sizeof err);
    assert_non_null(f->j);
    for (int i = 0; i < 3000; i++) {
        struct journal_health h;
        journal_health(f->j, &h);
        if (h.state == JOURNAL_OK)
            break;
        loop_run_once(f->loop, 10);
    }
    f->bus = event_bus_new();
    event_bus_set_batching(f->bus, f->loop, 512);
    journal_attach(f->j, f->bus);
}

static void bgfix_close(struct bgfix *f)
{
    if (f->bus)
        event_bus_free(f->bus);
    journal_close(f->j);
    loop_free(f->loop);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
}

static void bg_publish(struct event_bus *bus, int i, bool recovered, const char *key)
{
    struct event ev;
    event_init(&ev, EVENT_ACCESS, EVENT_NORMAL);
    event_set_text(&ev, "%d", i);
    ev.recovered = recovered;
    event_copy(ev.key, sizeof ev.key, key);
    assert_int_equal(event_publish(bus, &ev), 1);
}

/* A catch-up's recovered rows go to the journal's writer thread in big batches while the loop goes on; live
 * events behind them wait (order), everything is stored once, in publish order, before it is shown; an explicit
 * flush waits for the batch under way. */
static void recovered_rows_stored_in_the_background(void **state)
{
    (void)state;
    struct bgfix f;
    bgfix_open(&f);
    loop_t *loop = f.loop;
    struct journal *j = f.j;
    struct event_bus *bus = f.bus;
    char key[64];
    struct bg_seen s = { 0 };
    assert_true(event_bus_subscribe(bus, bg_on_event, &s) > 0);

    /* a first round through the loop, as a console's */
    int n = 0;
    snprintf(key, sizeof key, "R#%d", n);
    bg_publish(bus, n++, true, key);
    for (int i = 0; i < 200 && s.n < 1; i++)
        loop_run_once(loop, 10);
    assert_int_equal(s.n, 1);
    struct journal_ckpt_stats st;
    journal_checkpoint_stats(j, &st);
    assert_int_equal(st.background, 1);

    /* a live event, 6000 recovered rows (one of them already stored), a live event */
    bg_publish(bus, n++, false, "L#1");
    for (int i = 0; i < 6000; i++) {
        snprintf(key, sizeof key, "R#%d", i == 3000 ? 0 : n);
        bg_publish(bus, i == 3000 ? -1 : n++, true, key);
    }
    bg_publish(bus, n++, false, "L#2");
    uint64_t first = event_bus_unstored_from(bus);
    assert_true(first > 0);
    for (int i = 0; i < 2000 && s.n < n; i++) {
        loop_run_once(loop, 10);
        /* nothing later than what is shown is stored before it: the oldest unstored never goes back */
        uint64_t from = event_bus_unstored_from(bus);
        assert_true(from == 0 || from >= first);
        if (from)
            first = from;
        if (s.n > 1000 && s.n < 5000)
            break; /* part of it shown: an explicit flush takes the rest */
    }
    event_bus_flush(bus);
    for (int i = 0; i < 50 && s.n < n; i++)
        event_bus_flush(bus); /* a flush stores a bus's batch at a time */
    assert_int_equal(s.n, n);
    assert_int_equal(s.bad_order, 0);
    assert_int_equal(s.not_journaled, 0);
    assert_int_equal(event_bus_duplicates(bus), 1);
    assert_int_equal(journal_count_events(j), n);
    journal_checkpoint_stats(j, &st);
    assert_true(st.background >= 2);

    bgfix_close(&f);
}

/* A bus freed while the writer thread stores a batch waits for it (the thread writes into the batch) and shows
 * nothing more: its subscribers are going away with it. */
static void bus_freed_while_a_batch_is_stored(void **state)
{
    (void)state;
    struct bgfix f;
    bgfix_open(&f);
    loop_t *loop = f.loop;
    struct journal *j = f.j;
    struct event_bus *bus = f.bus;
    char key[64];
    struct bg_seen s = { 0 };
    assert_true(event_bus_subscribe(bus, bg_on_event, &s) > 0);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "R#%d", i);
        bg_publish(bus, i, true, key);
    }
    for (int i = 0; i < 200 && !event_bus_background_busy(bus) && s.n == 0; i++)
        loop_run_once(loop, 10);
    int shown = s.n;
    event_bus_free(bus);
    f.bus = NULL;
    assert_int_equal(s.n, shown);
    assert_int_equal(journal_count_events(j), 1000); /* the whole run went as one batch */
    bgfix_close(&f);
}

struct lk_seen {
    int recovered, alarms, notices, not_journaled, bad_order;
    uint64_t alarm_seq;
    int64_t alarm_id, last_recovered_id;
    char notice[EVENT_TEXT_MAX];
};

static void lk_on_event(const struct event *ev, void *arg)
{
    struct lk_seen *s = arg;
    if (ev->kind == EVENT_SYSTEM && strcmp(ev->device, "journal") == 0) {
        s->notices++;
        snprintf(s->notice, sizeof s->notice, "%s", ev->text);
        return;
    }
    if (ev->recovered) {
        s->recovered++;
        s->bad_order += s->alarms > 0; /* the alarm was published after every recovered row */
        s->not_journaled += !ev->journaled;
        if (ev->id > s->last_recovered_id)
            s->last_recovered_id = ev->id;
        return;
    }
    s->alarms++;
    s->alarm_seq = ev->seq;
    s->alarm_id = ev->journaled ? ev->id : 0;
}

static void lk_on_stored(uint64_t seq, int64_t id, void *arg)
{
    struct lk_seen *s = arg;
    if (seq == s->alarm_seq)
        s->alarm_id = id;
}

static long lk_audit_rows;
static char lk_audit_result[16];
static int lk_audit(const struct audit_record *rec, void *arg)
{
    (void)arg;
    lk_audit_rows++;
    snprintf(lk_audit_result, sizeof lk_audit_result, "%s", rec->result);
    return 0;
}

/* An operator's audit row and a live alarm while the writer thread holds the write lock for a catch-up's batch:
 * the audit write waits at most the busy timeout (the loop is never held longer), the alarm waits behind the batch
 * on the bus; afterwards both are stored exactly once, the alarm after every recovered row, the audit row with its
 * completion, and the journal says nothing alarming about a lock of its own. */
/* n recovered rows handed to the writer thread, which is held before its commit: it holds the write lock. */
static void held_batch(struct bgfix *f, int n)
{
    char key[64];
    journal_writer_hold(f->j, true);
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "R#%d", i);
        bg_publish(f->bus, i, true, key);
    }
    for (int i = 0; i < 5000 && !journal_writer_holding(f->j); i++)
        loop_run_once(f->loop, 1);
    assert_true(journal_writer_holding(f->j));
}

static void *release_after_40ms(void *arg)
{
    struct timespec ts = { 0, 40 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    journal_writer_hold(arg, false);
    return NULL;
}

/* A guard's acknowledgement while a catch-up's batch holds the writer thread's lock longer than the busy timeout
 * (20 ms; here 40 ms): it waits for the batch, then is stored. It used to fail (an acknowledgement is not kept in
 * memory as rows are). */
static void ack_waits_for_the_writers_batch(void **state)
{
    (void)state;
    struct bgfix f;
    bgfix_open(&f);
    loop_t *loop = f.loop;
    struct journal *j = f.j;
    struct event_bus *bus = f.bus;
    struct lk_seen s = { 0 };
    assert_true(event_bus_subscribe(bus, lk_on_event, &s) > 0);
    assert_true(event_bus_subscribe_stored(bus, lk_on_stored, &s) > 0);

    struct event ev;
    event_init(&ev, EVENT_DOOR, EVENT_ALARM);
    event_set_text(&ev, "door forced open");
    event_copy(ev.key, sizeof ev.key, "L#forced");
    assert_int_equal(event_publish(bus, &ev), 1);
    for (int i = 0; i < 5000 && s.alarm_id <= 0; i++)
        loop_run_once(loop, 1);
    assert_true(s.alarm_id > 0);

    held_batch(&f, 300);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, release_after_40ms, j), 0);
    uint64_t t0 = loop_mono_us();
    int rc = journal_ack(j, s.alarm_id, "alice");
    uint64_t waited_us = loop_mono_us() - t0;
    pthread_join(t, NULL);
    assert_int_equal(rc, 0);
    assert_true(waited_us >= 30000);
    assert_true(waited_us < 250000 + 30000); /* bounded */
    char by[64];
    int64_t at = 0;
    assert_true(journal_event_ack_state(j, s.alarm_id, by, sizeof by, &at) >= 0);
    assert_string_equal(by, "alice");
    assert_true(at > 0);
    for (int i = 0; i < 5000 && s.recovered < 300; i++)
        loop_run_once(loop, 1);
    assert_int_equal(s.recovered, 300);
    assert_int_equal(s.notices, 0);
    assert_int_equal(journal_count_events(j), 301);

    bgfix_close(&f);
}

static void audit_and_alarm_meet_the_writers_lock(void **state)
{
    (void)state;
    struct bgfix f;
    bgfix_open(&f);
    loop_t *loop = f.loop;
    struct journal *j = f.j;
    struct event_bus *bus = f.bus;
    struct lk_seen s = { 0 };
    assert_true(event_bus_subscribe(bus, lk_on_event, &s) > 0);
    assert_true(event_bus_subscribe_stored(bus, lk_on_stored, &s) > 0);

    held_batch(&f, 300); /* the batch is written, its commit waits: the lock is held */

    struct event ev;
    event_init(&ev, EVENT_DOOR, EVENT_ALARM);
    event_set_text(&ev, "door forced open");
    event_copy(ev.key, sizeof ev.key, "L#forced");
    assert_int_equal(event_publish(bus, &ev), 1);

    struct audit_record rec = { .user = "alice", .role = "operator", .action = "door-open", .target = "Front" };
    uint64_t t0 = loop_mono_us();
    int rc = journal_audit_begin(j, &rec);
    uint64_t held_us = loop_mono_us() - t0;
    assert_int_equal(rc, 1); /* kept in memory: the lock is the thread's until its commit */
    assert_true(held_us >= 15000); /* it did wait for the lock ... */
    assert_true(held_us < 20000 + 30000); /* ... the busy timeout (20 ms) at most, and scheduling slack */
    for (int i = 0; i < 20; i++) { /* the loop goes on meanwhile: no turn waits for the batch */
        t0 = loop_mono_us();
        loop_run_once(loop, 1);
        assert_true(loop_mono_us() - t0 < 20000 + 30000);
    }
    assert_int_equal(s.alarms + s.recovered, 0); /* journal before display: nothing shown yet */
    t0 = loop_mono_us();
    assert_true(journal_audit_finish(j, rec.id, "ok", "Front: ok", 0) >= 0);
    assert_true(loop_mono_us() - t0 < 20000 + 30000);

    journal_writer_hold(j, false);
    for (int i = 0; i < 5000; i++) {
        struct journal_health h;
        journal_health(j, &h);
        if (s.recovered == 300 && s.alarms == 1 && s.alarm_id > 0 && h.state == JOURNAL_OK && !h.kept_events &&
            !h.kept_audits)
            break;
        loop_run_once(loop, 1);
    }
    assert_int_equal(s.recovered, 300);
    assert_int_equal(s.not_journaled, 0);
    assert_int_equal(s.alarms, 1);
    assert_int_equal(s.bad_order, 0);
    assert_true(s.alarm_id > s.last_recovered_id); /* stored after the batch, in publish order */
    if (s.notices)
        print_message("journal notice: %s\n", s.notice);
    assert_int_equal(s.notices, 0);
    assert_int_equal(journal_count_events(j), 301);
    struct journal_health h;
    journal_health(j, &h);
    assert_int_equal(h.state, JOURNAL_OK);
    assert_int_equal(h.kept_events + h.kept_audits, 0);
    assert_int_equal(h.lost_events + h.lost_audits, 0);
    struct journal_query q = { .kind = -1, .min_severity = -1, .limit = 10 };
    lk_audit_rows = 0;
    assert_true(journal_query_audit(j, &q, lk_audit, NULL) >= 0);
    assert_int_equal(lk_audit_rows, 1);
    assert_string_equal(lk_audit_result, "ok");

    bgfix_close(&f);
}

struct pg {
    struct event_bus *bus;
    bool held;
    int told, nested, depth;
    uint64_t from_when_told;
};

static bool pg_ready(void *arg) { return !((struct pg *)arg)->held; }

static void pg_start(struct event *evs, size_t n, int *rc, struct event_bus *bus, void *arg)
{
    (void)evs;
    (void)n;
    (void)rc; /* rc[] stays 1: stored */
    struct pg *p = arg;
    p->bus = bus;
    p->held = true;
}

static void pg_progress(void *arg)
{
    struct pg *p = arg;
    p->nested += p->depth > 0;
    p->depth++;
    p->told++;
    p->from_when_told = event_bus_unstored_from(p->bus);
    event_bus_flush(p->bus); /* a flush from inside the notice: told again after, not from inside */
    p->depth--;
}

/* The bus says when a batch handed to the background store comes back (and after a batch stored in the loop), once
 * per batch, never from inside its own notice; nothing is told while the batch is out. */
static void progress_told_at_hand_back(void **state)
{
    (void)state;
    loop_t *loop = loop_new_fake(0);
    struct event_bus *bus = event_bus_new();
    event_bus_set_journal(bus, fake_store, NULL);
    event_bus_set_batching(bus, loop, 512);
    struct pg p = { .bus = bus };
    struct event_bus_background bg = { .ready = pg_ready, .start = pg_start, .arg = &p };
    event_bus_set_background(bus, &bg);
    assert_true(event_bus_subscribe_progress(bus, pg_progress, &p) > 0);
    for (int i = 0; i < 10; i++) {
        struct event ev;
        event_init(&ev, EVENT_ACCESS, EVENT_NORMAL);
        ev.recovered = true;
        event_set_text(&ev, "%d", i);
        assert_int_equal(event_publish(bus, &ev), 1);
    }
    loop_run_once(loop, 0);
    assert_true(p.held);
    assert_int_equal(p.told, 0);
    for (int i = 0; i < 50; i++) { /* the loop turns, the clock moves: nothing is told while the batch is out */
        loop_advance(loop, 1000);
        loop_run_once(loop, 0);
    }
    assert_int_equal(p.told, 0);
    struct event ev;
    event_init(&ev, EVENT_DOOR, EVENT_ALARM); /* a live event behind the batch */
    assert_int_equal(event_publish(bus, &ev), 1);
    p.held = false;
    event_bus_stored_batch(bus);
    assert_int_equal(p.told, 2); /* the hand-back, then the live event its flush stored, in a round of its own */
    assert_int_equal(p.nested, 0);
    assert_int_equal(p.from_when_told, 0);
    event_bus_free(bus);
    loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_commits_before_delivery),
        cmocka_unit_test(failed_batch_is_still_shown_unjournaled),
        cmocka_unit_test(long_burst_stays_in_order),
        cmocka_unit_test(whole_batch_keeps_order_with_publishes_meanwhile),
        cmocka_unit_test(key_has_its_format),
        cmocka_unit_test(long_text_cut_at_a_character),
        cmocka_unit_test(publish_text_fields),
        cmocka_unit_test(recovered_rows_stored_in_the_background),
        cmocka_unit_test(bus_freed_while_a_batch_is_stored),
        cmocka_unit_test(audit_and_alarm_meet_the_writers_lock),
        cmocka_unit_test(ack_waits_for_the_writers_batch),
        cmocka_unit_test(progress_told_at_hand_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
