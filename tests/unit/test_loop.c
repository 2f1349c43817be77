#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/loop.h"

struct rec {
    int order[16];
    int n;
};

struct tctx {
    struct rec *rec;
    int id;
};

static void on_timer(loop_t *loop, void *arg)
{
    struct tctx *c = arg;
    (void)loop;
    c->rec->order[c->rec->n++] = c->id;
}

static void timers_fire_in_order(void **state)
{
    (void)state;
    loop_t *loop = loop_new_fake(1000);
    struct rec rec = { 0 };
    struct tctx ctx[5];
    loop_timer_t t[5];
    const uint64_t delays[5] = { 50, 10, 30, 20, 40 };
    for (int i = 0; i < 5; i++) {
        ctx[i] = (struct tctx){ &rec, i };
        loop_timer_init(&t[i], on_timer, &ctx[i]);
        loop_timer_arm_ms(loop, &t[i], delays[i]);
    }
    loop_timer_disarm(loop, &t[2]); /* 30 ms one never fires */
    assert_false(loop_timer_armed(&t[2]));
    loop_advance(loop, 25 * 1000);
    assert_int_equal(rec.n, 2);
    assert_int_equal(rec.order[0], 1);
    assert_int_equal(rec.order[1], 3);
    loop_timer_arm_ms(loop, &t[0], 1); /* re-arm earlier than before */
    loop_advance(loop, 100 * 1000);
    assert_int_equal(rec.n, 4);
    assert_int_equal(rec.order[2], 0);
    assert_int_equal(rec.order[3], 4);
    assert_int_equal(loop_now_us(loop), 1000 + 125 * 1000);
    loop_free(loop);
}

static void many_timers_heap(void **state)
{
    (void)state;
    enum { N = 2000 };
    loop_t *loop = loop_new_fake(0);
    static loop_timer_t t[N];
    static struct tctx ctx[N];
    struct rec rec = { 0 };
    int fired = 0;
    (void)rec;
    for (int i = 0; i < N; i++) {
        ctx[i] = (struct tctx){ NULL, i };
        loop_timer_init(&t[i], NULL, &ctx[i]);
        loop_timer_arm_us(loop, &t[i], (uint64_t)((i * 7919) % N) + 1);
    }
    for (int i = 0; i < N; i += 3)
        loop_timer_disarm(loop, &t[i]);
    /* Walk the heap by advancing one µs at a time and counting armed timers. */
    for (uint64_t us = 0; us <= N + 1; us++) {
        for (int i = 0; i < N; i++) {
            if (loop_timer_armed(&t[i]) && t[i].due_us <= us) {
                loop_timer_disarm(loop, &t[i]);
                fired++;
            }
        }
    }
    assert_int_equal(fired, N - (N + 2) / 3);
    loop_free(loop);
}

struct io {
    int reads;
    char buf[8];
};

static void on_read(loop_t *loop, int fd, unsigned ev, void *arg)
{
    struct io *io = arg;
    assert_true(ev & LOOP_READ);
    assert_int_equal(read(fd, io->buf, sizeof io->buf), 3);
    io->reads++;
    loop_stop(loop);
}

static void fd_readiness(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    loop_t *loop = loop_new();
    struct io io = { 0 };
    assert_int_equal(loop_add_fd(loop, p[0], LOOP_READ, on_read, &io), 0);
    assert_int_equal(loop_run_once(loop, 0), 0);
    assert_int_equal(write(p[1], "abc", 3), 3);
    assert_int_equal(loop_run(loop), 0);
    assert_int_equal(io.reads, 1);
    loop_del_fd(loop, p[0]);
    close(p[0]);
    close(p[1]);
    loop_free(loop);
}

static void on_real_timer(loop_t *loop, void *arg)
{
    (*(int *)arg)++;
    loop_stop(loop);
}

static void real_timer_wakes_poll(void **state)
{
    (void)state;
    loop_t *loop = loop_new();
    int hits = 0;
    loop_timer_t t;
    loop_timer_init(&t, on_real_timer, &hits);
    uint64_t t0 = loop_mono_us();
    loop_timer_arm_ms(loop, &t, 20);
    assert_int_equal(loop_run(loop), 0);
    uint64_t el = loop_mono_us() - t0;
    assert_int_equal(hits, 1);
    assert_true(el >= 20000);
    assert_true(el < 2000000);
    loop_free(loop);
}

static void on_sig(loop_t *loop, int signo, void *arg)
{
    *(int *)arg = signo;
    loop_stop(loop);
}

static void signal_through_fd(void **state)
{
    (void)state;
    loop_t *loop = loop_new();
    int got = 0;
    assert_int_equal(loop_add_signal(loop, SIGUSR1, on_sig, &got), 0);
    raise(SIGUSR1);
    assert_int_equal(loop_run(loop), 0);
    assert_int_equal(got, SIGUSR1);
    loop_free(loop);
}

/* A child forked from a loop's process gets its signals back, its own process group and SIGTERM at the parent's
 * death; a child whose parent is already gone is told so. */
static void child_detached_from_loop(void **state)
{
    (void)state;
    loop_t *loop = loop_new();
    assert_non_null(loop);
    assert_int_equal(loop_add_signal(loop, SIGUSR1, NULL, NULL), 0); /* SIGUSR1 now blocked here */
    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int bad = 0;
        if (loop_child_detach(parent) != 0)
            bad |= 1;
        sigset_t now;
        sigprocmask(SIG_SETMASK, NULL, &now);
        if (sigismember(&now, SIGUSR1) || sigismember(&now, SIGTERM))
            bad |= 2;
        if (getpgid(0) != getpid())
            bad |= 4;
        int sig = 0;
        if (prctl(PR_GET_PDEATHSIG, &sig) != 0 || sig != SIGTERM)
            bad |= 8;
        if (loop_child_detach(parent + 1) != -1) /* not our parent: as if it had died */
            bad |= 16;
        _exit(bad);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timers_fire_in_order),
        cmocka_unit_test(many_timers_heap),
        cmocka_unit_test(fd_readiness),
        cmocka_unit_test(real_timer_wakes_poll),
        cmocka_unit_test(signal_through_fd),
        cmocka_unit_test(child_detached_from_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
