#include "fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

void fx_run_until(loop_t *loop, bool (*cond)(void), unsigned ms)
{
    uint64_t end = loop_mono_us() + (uint64_t)ms * 1000u;
    while (!cond() && loop_mono_us() < end)
        loop_run_once(loop, 10);
}

void fx_run_for(loop_t *loop, unsigned ms)
{
    uint64_t end = loop_mono_us() + (uint64_t)ms * 1000u;
    while (loop_mono_us() < end)
        loop_run_once(loop, 10);
}

void fx_tmpdir(char *dir, size_t len, const char *name)
{
    assert_true((size_t)snprintf(dir, len, "/tmp/portier-%s.XXXXXX", name) < len);
    assert_non_null(mkdtemp(dir));
}

void fx_rmtree(const char *dir)
{
    char cmd[600];
    assert_true((size_t)snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir) < sizeof cmd);
    assert_int_equal(system(cmd), 0);
}

char fx_dir[256];

int fx_dir_setup(void **state)
{
    (void)state;
    fx_tmpdir(fx_dir, sizeof fx_dir, "unit");
    return 0;
}

int fx_dir_teardown(void **state)
{
    (void)state;
    fx_rmtree(fx_dir);
    return 0;
}

void fx_write_file(const char *path, const char *text, unsigned mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, (mode_t)mode), 0);
}

void fx_count_reads(loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    char b[16];
    if (events & LOOP_READ)
        (void)!read(fd, b, sizeof b);
    ++*(int *)arg;
}

FILE *fx_kill9_after(void (*work)(int fd, void *arg), void *arg, long min_us, long spread_us, int *status)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        work(p[1], arg);
        _exit(0);
    }
    close(p[1]);
    long us = min_us + (spread_us > 0 ? rand() % spread_us : 0);
    assert_true(us >= 0 && us < 1000000);
    struct timespec ts = { 0, us * 1000L };
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, status, 0), pid);
    FILE *f = fdopen(p[0], "r");
    assert_non_null(f);
    return f;
}
