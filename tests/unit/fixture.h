/* fixture: what the unit tests that run a real loop share: running the loop until a condition holds or for a
 * while, a temporary directory made and removed, and a child process killed with SIGKILL at a random moment. */
#ifndef PORTIER_TESTS_FIXTURE_H
#define PORTIER_TESTS_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/loop.h"

/* Run loop until cond() holds or ms milliseconds have passed (the caller checks cond afterwards). */
void fx_run_until(loop_t *loop, bool (*cond)(void), unsigned ms);
/* Run loop for ms milliseconds. */
void fx_run_for(loop_t *loop, unsigned ms);
/* A new directory /tmp/portier-NAME.XXXXXX into dir (the test fails when it cannot be made). */
void fx_tmpdir(char *dir, size_t len, const char *name);
/* Remove dir and everything in it (the test fails when it cannot). */
void fx_rmtree(const char *dir);
/* A test's own temporary directory as cmocka setup and teardown functions: fx_dir_setup makes a new one in fx_dir
 * (fx_tmpdir), fx_dir_teardown removes it with everything in it. */
extern char fx_dir[256];
int fx_dir_setup(void **state);
int fx_dir_teardown(void **state);
/* Write text to a new file at path with mode (the test fails when it cannot). */
void fx_write_file(const char *path, const char *text, unsigned mode);
/* A child process that runs work(fd, arg) (it reports what it has done on fd, and never returns), killed with
 * SIGKILL min_us plus a random 0..spread_us microseconds (below a second in all) after it was started, and reaped:
 * its wait status in *status (a child that ended by itself first says so there), what it reported as a stream
 * (the caller closes it). */
FILE *fx_kill9_after(void (*work)(int fd, void *arg), void *arg, long min_us, long spread_us, int *status);
/* A loop callback for another owner's watch: reads what is there and counts the calls in *(int *)arg. */
void fx_count_reads(loop_t *loop, int fd, unsigned events, void *arg);

#endif
