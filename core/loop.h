/* loop: the single-threaded reactor (epoll, level-triggered) every front end runs on.
 * File descriptors, monotonic timers (µs resolution) and signals (signalfd); a fake clock for tests. */
#ifndef PORTIER_LOOP_H
#define PORTIER_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct loop loop_t;

enum { LOOP_READ = 1u, LOOP_WRITE = 2u, LOOP_ERROR = 4u /* HUP/ERR/NVAL; reported, never requested */ };

typedef void (*loop_io_cb)(loop_t *loop, int fd, unsigned events, void *arg);
typedef void (*loop_timer_cb)(loop_t *loop, void *arg);
typedef void (*loop_signal_cb)(loop_t *loop, int signo, void *arg);

/* A timer is owned (embedded) by its user; the loop only links it into its heap. Zero-initialise it
 * (or call loop_timer_init) before first use. Arming an armed timer re-arms it. */
typedef struct loop_timer {
    uint64_t due_us;      /* absolute, loop clock */
    size_t heap_index;    /* 0 = not armed; 1-based position in the heap otherwise */
    loop_timer_cb cb;
    void *arg;
} loop_timer_t;

/* A real loop on CLOCK_MONOTONIC. */
loop_t *loop_new(void);
/* A loop whose clock only moves through loop_advance(); fds are still waited for (with zero timeout). */
loop_t *loop_new_fake(uint64_t start_us);
void loop_free(loop_t *loop);

/* Watch fd for events (LOOP_READ|LOOP_WRITE). Re-adding an fd replaces its callback and mask. */
int loop_add_fd(loop_t *loop, int fd, unsigned events, loop_io_cb cb, void *arg);
int loop_mod_fd(loop_t *loop, int fd, unsigned events);
void loop_del_fd(loop_t *loop, int fd);
/* loop_del_fd only while fd's watch is still the one added with cb and arg: an owner whose fd was closed behind
 * its back, and whose number now belongs to someone else's watch, leaves that watch alone. */
void loop_del_fd_of(loop_t *loop, int fd, loop_io_cb cb, const void *arg);

void loop_timer_init(loop_timer_t *t, loop_timer_cb cb, void *arg);
void loop_timer_arm_us(loop_t *loop, loop_timer_t *t, uint64_t delay_us);
void loop_timer_arm_ms(loop_t *loop, loop_timer_t *t, uint64_t delay_ms);
void loop_timer_arm_at(loop_t *loop, loop_timer_t *t, uint64_t due_us);
void loop_timer_disarm(loop_t *loop, loop_timer_t *t);
static inline bool loop_timer_armed(const loop_timer_t *t) { return t->heap_index != 0; }

/* Deliver signo through a signalfd (the signal is blocked for the process). */
int loop_add_signal(loop_t *loop, int signo, loop_signal_cb cb, void *arg);
/* In a child just forked (before exec) from parent, whose loop blocks its signals for the signalfd: every signal
 * unblocked (the program it runs must get them), its own process group (a terminal's ^C reaches only the parent,
 * which stops its children in order) and SIGTERM when the parent dies. -1 when the parent is already gone. */
int loop_child_detach(pid_t parent);

/* How long callbacks held the loop (real time, whatever the loop's clock): every fd and timer callback counted,
 * those of LOOP_SLOW_US or more, the longest and when it ended (loop_mono_us). */
#define LOOP_SLOW_US 100000u
struct loop_stats {
    uint64_t callbacks, slow, longest_us, longest_at_us;
};
void loop_get_stats(const loop_t *loop, struct loop_stats *st);

/* Monotonic time of the current iteration (cached; refreshed before timers and after poll). */
uint64_t loop_now_us(loop_t *loop);
uint64_t loop_now_ms(loop_t *loop);

/* One iteration: wait at most max_wait_ms (-1 = until the next timer or fd), dispatch, return the number
 * of callbacks run, or -1 on a poll error other than EINTR. */
int loop_run_once(loop_t *loop, int max_wait_ms);
/* Run until loop_stop(). Returns 0, or -1 on a fatal poll error. */
int loop_run(loop_t *loop);
void loop_stop(loop_t *loop);
bool loop_stopped(const loop_t *loop);

/* Fake clock only: move time forward by delta_us, firing every timer due on the way, in order. */
void loop_advance(loop_t *loop, uint64_t delta_us);

/* Wall-clock-independent monotonic time in µs (real clock), for code outside a loop. */
uint64_t loop_mono_us(void);

#endif
