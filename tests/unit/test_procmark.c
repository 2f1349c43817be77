#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/procmark.h"

static void own_mark_is_alive(void **state)
{
    (void)state;
    char m[160];
    procmark_self(m, sizeof m);
    assert_int_equal(strncmp(m, PROCMARK_PREFIX, strlen(PROCMARK_PREFIX)), 0);
    assert_true(procmark_alive(m));
    /* a mark at the start of a longer text (an audit row's detail) counts */
    char detail[256];
    snprintf(detail, sizeof detail, "%s; door-open Main entrance", m);
    assert_true(procmark_alive(detail));
}

static void other_start_or_boot_is_not(void **state)
{
    (void)state;
    char m[160], boot[16];
    int pid;
    unsigned long long start;
    procmark_self(m, sizeof m);
    assert_int_equal(sscanf(m, PROCMARK_PREFIX "%d (start %llu, boot %8[0-9a-f])", &pid, &start, boot), 3);
    assert_int_equal(pid, (int)getpid());
    char o[200];
    /* this pid, but another start: a reused pid is not this process */
    snprintf(o, sizeof o, PROCMARK_PREFIX "%d (start %llu, boot %s)", pid, start + 1, boot);
    assert_false(procmark_alive(o));
    /* this process's numbers of another boot */
    snprintf(o, sizeof o, PROCMARK_PREFIX "%d (start %llu, boot %s)", pid, start, strcmp(boot, "00000000") ? "00000000"
                                                                                                          : "11111111");
    assert_false(procmark_alive(o));
}

static void ended_child_is_not(void **state)
{
    (void)state;
    int to_child[2], to_parent[2];
    assert_int_equal(pipe(to_child), 0);
    assert_int_equal(pipe(to_parent), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char m[160];
        procmark_self(m, sizeof m);
        ssize_t w = write(to_parent[1], m, strlen(m) + 1);
        char c;
        ssize_t r = read(to_child[0], &c, 1); /* until the parent says */
        _exit(w > 0 && r >= 0 ? 0 : 1);
    }
    char m[160] = "";
    ssize_t n = read(to_parent[0], m, sizeof m - 1);
    assert_true(n > 0);
    m[n] = '\0';
    assert_true(procmark_alive(m)); /* another process, running */
    assert_int_equal(write(to_child[1], "x", 1), 1);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_false(procmark_alive(m)); /* ended (and reaped) */
    close(to_child[0]);
    close(to_child[1]);
    close(to_parent[0]);
    close(to_parent[1]);
}

static void texts_without_a_mark(void **state)
{
    (void)state;
    assert_false(procmark_alive(NULL));
    assert_false(procmark_alive(""));
    assert_false(procmark_alive("ok"));
    assert_false(procmark_alive(PROCMARK_PREFIX));
    assert_false(procmark_alive(PROCMARK_PREFIX "0 (start 1, boot 0123abcd)"));
    assert_false(procmark_alive(PROCMARK_PREFIX "-4 (start 1, boot 0123abcd)"));
    assert_false(procmark_alive(PROCMARK_PREFIX "99999999999999999999 (start 1, boot zz)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(own_mark_is_alive),
        cmocka_unit_test(other_start_or_boot_is_not),
        cmocka_unit_test(ended_child_is_not),
        cmocka_unit_test(texts_without_a_mark),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
