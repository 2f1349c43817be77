/* nix1_fake_line: the NiX1 unit tests' fake RS-485 line: a socketpair between a bus master on a fake clock
 * and the test, which reads the master's request lines and answers them as scripted slaves (and logs them). */
#ifndef PORTIER_TESTS_NIX1_FAKE_LINE_H
#define PORTIER_TESTS_NIX1_FAKE_LINE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "drivers/nix1/nix1_bus.h"

#define FAKE_LINE_LOG 512

struct fake_line {
    loop_t *loop;    /* fake clock, starting at 1 s */
    nix1_bus_t *bus; /* the master, on one end of the line */
    int peer;        /* the slaves' end; -1 once hung up */
    int master;      /* the master's end (the bus owns it) */
    size_t rx_len;
    char rx[16384];  /* what the master wrote and the test has not taken yet */
    char req[400];   /* the last request line taken */
    /* the request lines fake_line_drain handed to the slaves (the first FAKE_LINE_LOG), with their times on the
     * fake clock; the test may set nlog to 0 to start over */
    char log[FAKE_LINE_LOG][400];
    uint64_t log_us[FAKE_LINE_LOG];
    int nlog;
};

/* Called for each request line the master writes (without the LF); the line is the callee's to read only. */
typedef void fake_line_answer_fn(void *arg, const char *req);

/* Make the loop, the line and a bus master on it (cmocka-asserts that all of it works). */
void fake_line_open(struct fake_line *fl);
/* Free the bus and the loop, close the slaves' end if still open. */
void fake_line_close(struct fake_line *fl);
/* Close the slaves' end now: the master sees its transport fail. */
void fake_line_hang_up(struct fake_line *fl);

/* Run whatever is ready on the loop without moving the clock. */
void fake_line_pump(struct fake_line *fl);
/* Move the clock by us in 1 ms steps, pumping after each, so fd events and timers interleave as in real time. */
void fake_line_advance(struct fake_line *fl, uint64_t us);

/* The next complete request line the master wrote (without LF), or NULL; valid until the next call. */
const char *fake_line_next_req(struct fake_line *fl);
/* Hand every complete request line to answer (logged first), pumping the loop after each. */
void fake_line_drain(struct fake_line *fl, fake_line_answer_fn *answer, void *arg);
/* Drain, then move the clock 1 ms, until *done (checked before and after each drain) or max_us have passed. */
void fake_line_serve(struct fake_line *fl, fake_line_answer_fn *answer, void *arg, const bool *done, uint64_t max_us);

/* The index of the first logged request line equal to line at from or after, or -1. */
int fake_line_logged(const struct fake_line *fl, const char *line, int from);

/* The address of a slave from its 16 hex digits (the test fails on anything else). */
nix1_addr_t fake_line_addr(const char *hex);

/* Write one line (LF appended) on the slaves' end; does not pump. */
void fake_line_say(struct fake_line *fl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fake_line_vsay(struct fake_line *fl, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#endif
