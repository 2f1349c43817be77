#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/loop.h"

/* The reactor's fd edge cases: fds epoll cannot watch, numbers closed and reused inside one iteration,
 * and fds re-added after their owner closed them without loop_del_fd. */

struct hits {
    int n;
    unsigned last;
};

static void count_cb(loop_t *loop, int fd, unsigned ev, void *arg)
{
    struct hits *h = arg;
    (void)loop;
    (void)fd;
    h->n++;
    h->last = ev;
}

static void regular_file_always_ready(void **state)
{
    (void)state;
    char path[] = "/tmp/portier-loop-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(null >= 0);
    loop_t *loop = loop_new();
    struct hits f = { 0 }, d = { 0 };
    assert_int_equal(loop_add_fd(loop, fd, LOOP_READ | LOOP_WRITE, count_cb, &f), 0);
    assert_int_equal(loop_add_fd(loop, null, LOOP_READ, count_cb, &d), 0);
    /* Ready at once, every iteration, for exactly what is asked. */
    uint64_t t0 = loop_mono_us();
    assert_int_equal(loop_run_once(loop, 5000), 2);
    assert_int_equal(loop_run_once(loop, 5000), 2);
    assert_true(loop_mono_us() - t0 < 4000000u);
    assert_int_equal(f.n, 2);
    assert_int_equal(f.last, LOOP_READ | LOOP_WRITE);
    assert_int_equal(d.last, LOOP_READ);
    /* Nothing asked: never reported, and the wait is not cut short. */
    assert_int_equal(loop_mod_fd(loop, fd, 0), 0);
    loop_del_fd(loop, null);
    t0 = loop_mono_us();
    assert_int_equal(loop_run_once(loop, 30), 0);
    assert_true(loop_mono_us() - t0 >= 30000u);
    assert_int_equal(f.n, 2);
    assert_int_equal(loop_mod_fd(loop, fd, LOOP_WRITE), 0);
    assert_int_equal(loop_run_once(loop, 0), 1);
    assert_int_equal(f.last, LOOP_WRITE);
    loop_del_fd(loop, fd);
    assert_int_equal(loop_run_once(loop, 0), 0);
    close(fd);
    close(null);
    loop_free(loop);
}

/* Two readable pipes; whichever callback runs first closes the other read end and opens a new (empty) pipe
 * that gets the same number. The event collected for the old fd must not reach the new watch. */
struct reuse {
    int r[2], w[2];
    int first;          /* index of the pipe whose callback ran first, -1 before */
    int newr, neww;
    struct hits fresh;
    bool del;           /* the owner calls loop_del_fd before closing */
};

static void reuse_cb(loop_t *loop, int fd, unsigned ev, void *arg)
{
    struct reuse *x = arg;
    (void)ev;
    char buf[8];
    assert_true(read(fd, buf, sizeof buf) > 0);
    if (x->first >= 0)
        return; /* the other pipe's old event: must not happen once it is closed */
    x->first = fd == x->r[0] ? 0 : 1;
    int other = 1 - x->first;
    if (x->del)
        loop_del_fd(loop, x->r[other]);
    close(x->r[other]);
    close(x->w[other]);
    int p[2];
    assert_int_equal(pipe(p), 0);
    /* pipe() takes the lowest free numbers: the old read end's number comes back. */
    if (p[0] != x->r[other]) {
        int want = x->r[other];
        assert_true(dup2(p[0], want) == want);
        close(p[0]);
        p[0] = want;
    }
    x->newr = p[0];
    x->neww = p[1];
    assert_int_equal(loop_add_fd(loop, x->newr, LOOP_READ, count_cb, &x->fresh), 0);
}

static void run_reuse(bool del)
{
    struct reuse x = { .first = -1, .del = del };
    loop_t *loop = loop_new();
    for (int i = 0; i < 2; i++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        x.r[i] = p[0];
        x.w[i] = p[1];
        assert_int_equal(loop_add_fd(loop, x.r[i], LOOP_READ, reuse_cb, &x), 0);
        assert_int_equal(write(x.w[i], "x", 1), 1);
    }
    assert_int_equal(loop_run_once(loop, 1000), 1);
    assert_true(x.first >= 0);
    assert_int_equal(x.fresh.n, 0);
    /* The new pipe is empty: still nothing. */
    assert_int_equal(loop_run_once(loop, 0), 0);
    assert_int_equal(x.fresh.n, 0);
    /* The new registration works (re-added after a close without loop_del_fd too). */
    assert_int_equal(write(x.neww, "y", 1), 1);
    assert_int_equal(loop_run_once(loop, 1000), 1);
    assert_int_equal(x.fresh.n, 1);
    assert_int_equal(x.fresh.last, LOOP_READ);
    int keep = x.first;
    loop_del_fd(loop, x.r[keep]);
    loop_del_fd(loop, x.newr);
    close(x.r[keep]);
    close(x.w[keep]);
    close(x.newr);
    close(x.neww);
    loop_free(loop);
}

static void reused_number_gets_no_stale_event(void **state)
{
    (void)state;
    run_reuse(true);
}

static void reused_number_without_del(void **state)
{
    (void)state;
    run_reuse(false);
}

static void readd_replaces_callback_and_mask(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    loop_t *loop = loop_new();
    struct hits a = { 0 }, b = { 0 };
    assert_int_equal(loop_add_fd(loop, p[1], LOOP_READ, count_cb, &a), 0);
    assert_int_equal(loop_run_once(loop, 0), 0); /* a pipe's write end is never readable */
    assert_int_equal(loop_add_fd(loop, p[1], LOOP_WRITE, count_cb, &b), 0);
    assert_int_equal(loop_run_once(loop, 0), 1);
    assert_int_equal(a.n, 0);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.last, LOOP_WRITE);
    /* Closed without loop_del_fd, then the same number is watched again. */
    close(p[1]);
    int q[2];
    assert_int_equal(pipe(q), 0);
    if (q[1] != p[1]) {
        assert_true(dup2(q[1], p[1]) == p[1]);
        close(q[1]);
        q[1] = p[1];
    }
    assert_int_equal(loop_add_fd(loop, q[1], LOOP_WRITE, count_cb, &a), 0);
    assert_int_equal(loop_run_once(loop, 0), 1);
    assert_int_equal(a.n, 1);
    assert_int_equal(b.n, 1);
    /* A number that is not an open fd is reported once as an error and dropped (poll(2)'s POLLNVAL). */
    struct hits bad = { 0 };
    assert_int_equal(loop_add_fd(loop, 1000, LOOP_READ, count_cb, &bad), 0);
    assert_int_equal(loop_run_once(loop, 1000), 2);
    assert_int_equal(bad.n, 1);
    assert_int_equal(bad.last, LOOP_ERROR);
    assert_int_equal(loop_mod_fd(loop, 1000, LOOP_READ), -1);
    assert_int_equal(loop_run_once(loop, 0), 1);
    assert_int_equal(bad.n, 1);
    loop_del_fd(loop, q[1]);
    close(p[0]);
    close(q[0]);
    close(q[1]);
    loop_free(loop);
}

static void on_timer(loop_t *loop, void *arg)
{
    (void)loop;
    *(uint64_t *)arg = loop_mono_us();
}

static void sub_millisecond_timer(void **state)
{
    (void)state;
    loop_t *loop = loop_new();
    loop_timer_t t;
    uint64_t fired = 0;
    loop_timer_init(&t, on_timer, &fired);
    uint64_t t0 = loop_mono_us();
    loop_timer_arm_us(loop, &t, 300);
    while (!fired)
        assert_true(loop_run_once(loop, -1) >= 0);
    assert_true(fired - t0 >= 300u);
    assert_true(loop_timer_armed(&t) == false);
    loop_free(loop);
}

/* An owner whose fd was closed behind its back removes only its own watch, never the one another owner now has
 * on the reused number. */
static void del_of_leaves_another_owners_watch(void **state)
{
    (void)state;
    loop_t *loop = loop_new();
    int p[2], q[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(pipe(q), 0);
    struct hits first = { 0 }, second = { 0 };
    assert_int_equal(loop_add_fd(loop, p[0], LOOP_READ, count_cb, &first), 0);
    assert_true(dup2(q[0], p[0]) == p[0]); /* closed behind the first owner's back, the number reused */
    assert_int_equal(loop_add_fd(loop, p[0], LOOP_READ, count_cb, &second), 0);
    loop_del_fd_of(loop, p[0], count_cb, &first); /* the first owner gives up its (gone) fd */
    assert_int_equal(write(q[1], "x", 1), 1);
    assert_int_equal(loop_run_once(loop, 1000), 1);
    assert_int_equal(second.n, 1);
    assert_int_equal(first.n, 0);
    loop_del_fd_of(loop, p[0], count_cb, &second); /* its own: removed */
    assert_int_equal(loop_run_once(loop, 0), 0);
    assert_int_equal(second.n, 1);
    close(p[0]);
    close(p[1]);
    close(q[0]);
    close(q[1]);
    loop_free(loop);
}

/* Which came first: the input or the deadline. */
struct order {
    int seq, read_at, timer_at;
};

static void order_read(loop_t *loop, int fd, unsigned ev, void *arg)
{
    (void)loop;
    (void)ev;
    struct order *o = arg;
    char b[8];
    (void)!read(fd, b, sizeof b);
    o->read_at = ++o->seq;
}

static void order_timer(loop_t *loop, void *arg)
{
    (void)loop;
    struct order *o = arg;
    o->timer_at = ++o->seq;
}

struct slow {
    int answer;
    bool called;
};

/* Other input whose handling takes long; the answer the timer waits for arrives meanwhile. */
static void slow_read(loop_t *loop, int fd, unsigned ev, void *arg)
{
    (void)loop;
    (void)ev;
    struct slow *sl = arg;
    char b[8];
    (void)!read(fd, b, sizeof b);
    if (sl->called)
        return;
    sl->called = true;
    assert_int_equal(write(sl->answer, "y", 1), 1);
    usleep(20000);
}

/* The answer arrived before the deadline, but the process was busy (or not scheduled) past it: the input is
 * taken in before the deadline is judged, both at the start of an iteration and after a slow callback. */
static void input_taken_before_a_due_timer(void **state)
{
    (void)state;
    loop_t *loop = loop_new();
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct order o = { 0 };
    assert_int_equal(loop_add_fd(loop, p[0], LOOP_READ, order_read, &o), 0);
    loop_timer_t t;
    loop_timer_init(&t, order_timer, &o);
    loop_timer_arm_ms(loop, &t, 5);
    assert_int_equal(write(p[1], "x", 1), 1);
    usleep(20000); /* busy between two iterations, past the deadline */
    assert_true(loop_run_once(loop, 0) >= 2);
    assert_int_equal(o.read_at, 1);
    assert_int_equal(o.timer_at, 2);
    /* a deadline passed during a slow callback for other input, the answer in by then */
    memset(&o, 0, sizeof o);
    int q[2];
    assert_int_equal(pipe(q), 0);
    struct slow sl = { .answer = p[1] };
    assert_int_equal(loop_add_fd(loop, q[0], LOOP_READ, slow_read, &sl), 0);
    loop_timer_arm_ms(loop, &t, 5);
    assert_int_equal(write(q[1], "z", 1), 1);
    for (int i = 0; i < 5 && !o.timer_at; i++)
        assert_true(loop_run_once(loop, 100) >= 0);
    assert_true(sl.called);
    assert_int_equal(o.read_at, 1);
    assert_int_equal(o.timer_at, 2);
    close(p[0]);
    close(p[1]);
    close(q[0]);
    close(q[1]);
    loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(regular_file_always_ready),
        cmocka_unit_test(reused_number_gets_no_stale_event),
        cmocka_unit_test(reused_number_without_del),
        cmocka_unit_test(readd_replaces_callback_and_mask),
        cmocka_unit_test(sub_millisecond_timer),
        cmocka_unit_test(del_of_leaves_another_owners_watch),
        cmocka_unit_test(input_taken_before_a_due_timer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
