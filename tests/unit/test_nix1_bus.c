/* Unit tests for the NiX1 bus master: a socketpair plays the RS-485 line, the test plays the slaves, the
 * fake clock drives every timeout and gap of spec §5.1. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/loop.h"
#include "fixture.h"
#include "drivers/nix1/nix1_bus.h"
#include "drivers/nix1/nix1_rc.h"
#include "tests/unit/nix1_fake_line.h"

#define S1 "271A2100000000F3"
#define S2 "270100000000006B"
#define S3 "2702000000000032"
#define LT(n) ((uint64_t)(n) * 10u * 1000000u / 9600u + 1u) /* line time of n chars at 9600 */

struct fx {
    struct fake_line line;
    /* results */
    struct nix1_result last;
    char last_payload[1100];
    char last_lines[8][300];
    int done;
    /* listener */
    struct nix1_bus_listener lis;
    char access[16][200];
    int naccess;
    int online_events, offline_events;
};

static void on_done(nix1_bus_t *bus, const struct nix1_result *res, void *arg)
{
    (void)bus;
    struct fx *f = arg;
    f->last = *res;
    snprintf(f->last_payload, sizeof f->last_payload, "%s", res->payload);
    f->last.payload = f->last_payload;
    for (size_t i = 0; i < res->nlines && i < 8; i++)
        snprintf(f->last_lines[i], sizeof f->last_lines[i], "%s", res->lines[i]);
    f->last.lines = NULL;
    f->done++;
}

static void on_access(void *arg, const nix1_addr_t *slave, const char *line, size_t len)
{
    struct fx *f = arg;
    (void)slave;
    if (f->naccess < 16)
        snprintf(f->access[f->naccess], sizeof f->access[0], "%.*s", (int)len, line);
    f->naccess++;
}

static void on_state(void *arg, const nix1_addr_t *slave, enum nix1_slave_state st)
{
    struct fx *f = arg;
    (void)slave;
    if (st == NIX1_SLAVE_ONLINE)
        f->online_events++;
    else if (st == NIX1_SLAVE_OFFLINE)
        f->offline_events++;
}

static void pump(struct fx *f)
{
    fake_line_pump(&f->line);
}

static void advance(struct fx *f, uint64_t us)
{
    fake_line_advance(&f->line, us);
}

/* Collect what the master wrote; returns the next complete line (without LF) or NULL. */
static const char *next_req(struct fx *f)
{
    return fake_line_next_req(&f->line);
}

static void slave_says(struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void slave_says(struct fx *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fake_line_vsay(&f->line, fmt, ap);
    va_end(ap);
    pump(f);
}

static struct fx *fx_new(void)
{
    struct fx *f = calloc(1, sizeof *f);
    fake_line_open(&f->line);
    f->lis.access = on_access;
    f->lis.slave_state = on_state;
    f->lis.arg = f;
    nix1_bus_add_listener(f->line.bus, &f->lis);
    pump(f);
    return f;
}

static void fx_free(struct fx *f)
{
    fake_line_close(&f->line);
    free(f);
}

static nix1_addr_t A(const char *s) { return fake_line_addr(s); }

static long submit(struct fx *f, const char *addr, char cmd, char arg, const char *opt, enum nix1_prio prio)
{
    struct nix1_request_spec rq = { .addr = A(addr), .cmd = cmd, .arg = arg, .opt = opt, .prio = prio };
    return nix1_bus_submit(f->line.bus, &rq, on_done, f);
}

/* ---- tests ---- */

static void test_unicast_reply(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    long id = submit(f, S1, 'Q', 'b', NULL, NIX1_PRIO_OPERATOR);
    assert_true(id > 0);
    assert_int_equal(f->done, 0); /* never completed from inside submit */
    const char *l = next_req(f);
    assert_non_null(l);
    assert_string_equal(l, S1 "Qb");
    slave_says(f, S1 "00Qb\t5");
    assert_int_equal(f->done, 1);
    assert_int_equal(f->last.status, NIX1_ST_REPLY);
    assert_int_equal(f->last.rc, 0);
    assert_string_equal(f->last_payload, "5");
    assert_int_equal(f->last.attempts, 1);
    assert_int_equal(f->last.id, id);
    fx_free(f);
}

static void test_error_code_and_idle_gap(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    submit(f, S1, 'N', 'b', "300", NIX1_PRIO_OPERATOR);
    submit(f, S1, 'Q', 'b', NULL, NIX1_PRIO_OPERATOR);
    assert_string_equal(next_req(f), S1 "Nb300");
    assert_null(next_req(f)); /* one transaction at a time */
    slave_says(f, S1 "50Nb");
    assert_int_equal(f->done, 1);
    assert_int_equal(f->last.rc, NIX1_RC_ERROR_PARAM);
    assert_int_equal(f->last.attempts, 1); /* an error answer is an answer: no retry */
    /* the next request waits for the 5 ms idle gap */
    advance(f, 4000);
    assert_null(next_req(f));
    advance(f, 1500);
    assert_string_equal(next_req(f), S1 "Qb");
    fx_free(f);
}

static void test_broadcast_refused_and_gaps(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    assert_int_equal(submit(f, NIX1_ADDR_BROADCAST_STR, 'Q', 'b', NULL, NIX1_PRIO_OPERATOR),
                     -NIX1_RC_ERROR_NOBROADCAST);
    assert_int_equal(submit(f, NIX1_ADDR_BROADCAST_STR, 'N', 'u', "1\t5", NIX1_PRIO_OPERATOR),
                     -NIX1_RC_ERROR_NOBROADCAST);
    assert_int_equal(submit(f, NIX1_ADDR_BROADCAST_STR, 'N', 'y', "1\t1\t0000\t00", NIX1_PRIO_OPERATOR),
                     -NIX1_RC_ERROR_NOBROADCAST);
    assert_null(next_req(f)); /* nothing on the wire */
    assert_true(submit(f, NIX1_ADDR_BROADCAST_STR, 'N', 'l', "1\t0", NIX1_PRIO_OPERATOR) > 0);
    assert_true(submit(f, NIX1_ADDR_BROADCAST_STR, 'N', 't', "1436413339\t+0100", NIX1_PRIO_OPERATOR) > 0);
    assert_true(submit(f, S1, 'Q', 't', NULL, NIX1_PRIO_OPERATOR) > 0);
    const char *l = next_req(f);
    assert_string_equal(l, NIX1_ADDR_BROADCAST_STR "Nl1\t0");
    size_t len1 = strlen(NIX1_ADDR_BROADCAST_STR "Nl1\t0") + 1;
    advance(f, LT(len1));
    assert_int_equal(f->done, 1);
    assert_int_equal(f->last.status, NIX1_ST_SENT);
    /* >= 100 ms after a broadcast */
    advance(f, 95000);
    assert_null(next_req(f));
    advance(f, 6000);
    l = next_req(f);
    assert_string_equal(l, NIX1_ADDR_BROADCAST_STR "Nt1436413339\t+0100");
    advance(f, LT(strlen(l) + 1));
    assert_int_equal(f->done, 2);
    /* >= 500 ms after a broadcast Nt */
    advance(f, 490000);
    assert_null(next_req(f));
    advance(f, 11000);
    assert_string_equal(next_req(f), S1 "Qt");
    fx_free(f);
}

static void test_timeout_retries_idempotent(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    submit(f, S1, 'Q', 'm', NULL, NIX1_PRIO_OPERATOR);
    for (int attempt = 0; attempt < 3; attempt++) {
        const char *l = NULL;
        for (int i = 0; i < 10 && !l; i++) {
            l = next_req(f);
            if (!l)
                advance(f, 1000);
        }
        assert_non_null(l);
        assert_string_equal(l, S1 "Qm");
        advance(f, LT(19) + 990000); /* first-byte timeout: 1000 ms after the line left */
        assert_null(next_req(f));
        assert_int_equal(f->done, 0);
        advance(f, 12000);
    }
    assert_int_equal(f->done, 1);
    assert_int_equal(f->last.status, NIX1_ST_TIMEOUT);
    assert_int_equal(f->last.attempts, 3);
    assert_null(next_req(f));
    fx_free(f);
}

/* A slave in the same process (the simulator of the tests and of the demo site) answers from a timer of the same
 * loop. When the process was not scheduled for a while, that timer and the master's deadline come due in the same
 * turn and run one after the other, the answer reaching the line just before the deadline is judged: it is read
 * then, not taken for silence (Qe is not resent: its answer would have been lost). */
static void say_late(loop_t *loop, void *arg)
{
    (void)loop;
    struct fx *f = arg;
    fake_line_say(&f->line, S1 "00Qe\t%s\tuser1\t15\t\t1436413339\t+0100\t2\t0\t55", S1);
}

static void test_answer_at_the_deadline_after_a_stall(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    submit(f, S1, 'Q', 'e', NULL, NIX1_PRIO_OPERATOR);
    assert_string_equal(next_req(f), S1 "Qe");
    loop_timer_t answer;
    loop_timer_init(&answer, say_late, f);
    loop_timer_arm_ms(f->line.loop, &answer, 200);
    loop_advance(f->line.loop, 3000000); /* 3 s in one step: both due at once */
    pump(f);
    assert_int_equal(f->done, 1);
    assert_int_equal(f->last.status, NIX1_ST_REPLY);
    assert_int_equal(f->last.rc, 0);
    assert_int_equal(f->last.attempts, 1);
    assert_non_null(strstr(f->last_payload, "user1"));
    loop_timer_disarm(f->line.loop, &answer);
    fx_free(f);
}

static void test_long_timeout_class(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    submit(f, S1, 'Q', 'p', "KEYS.TXT", NIX1_PRIO_OPERATOR);
    assert_non_null(next_req(f));
    advance(f, 4000000);
    assert_int_equal(f->done, 0); /* Qp has the 5000 ms class */
    slave_says(f, S1 "00Qp\t7A79\t61");
    assert_int_equal(f->done, 1);
    assert_string_equal(f->last_payload, "7A79\t61");
    fx_free(f);
}

static void test_non_idempotent_no_retry(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    submit(f, S1, 'Q', 'e', NULL, NIX1_PRIO_OPERATOR);
    assert_string_equal(next_req(f), S1 "Qe");
    advance(f, 1100000);
    assert_int_equal(f->done, 1);
    assert_int_equal(f->last.status, NIX1_ST_TIMEOUT);
    assert_int_equal(f->last.attempts, 1);
    advance(f, 3000000);
    assert_null(next_req(f));
    fx_free(f);
}

static void test_nak_resent(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    submit(f, S1, 'Q', 'e', NULL, NIX1_PRIO_OPERATOR);
    assert_string_equal(next_req(f), S1 "Qe");
    slave_says(f, S1 "15Qe");
    assert_int_equal(f->done, 0);
    advance(f, 6000);
    /* a NAK means the slave did not act: even Qe is resent */
    assert_string_equal(next_req(f), S1 "Qe");
    slave_says(f, S1 "04Qe");
    assert_int_equal(f->done, 1);
    assert_int_equal(f->last.rc, NIX1_RC_EOT);
    assert_int_equal(f->last.attempts, 2);
    fx_free(f);
}

static void test_busy_retry_and_limit(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    submit(f, S1, 'Q', 's', NULL, NIX1_PRIO_OPERATOR);
    assert_string_equal(next_req(f), S1 "Qs");
    slave_says(f, S1 "16Qs");
    advance(f, 400000);
    assert_null(next_req(f));
    advance(f, 110000);
    assert_string_equal(next_req(f), S1 "Qs");
    slave_says(f, S1 "00Qs\tB0");
    assert_int_equal(f->done, 1);
    assert_int_equal(f->last.rc, 0);
    assert_int_equal(f->last.attempts, 2);

    /* busy for 60 s gives up */
    submit(f, S1, 'Q', 's', NULL, NIX1_PRIO_OPERATOR);
    int sent = 0;
    for (int i = 0; i < 700 && f->done == 1; i++) {
        const char *l = next_req(f);
        if (l) {
            sent++;
            slave_says(f, S1 "16Qs");
        }
        advance(f, 100000);
    }
    assert_int_equal(f->done, 2);
    assert_int_equal(f->last.status, NIX1_ST_BUSY);
    assert_int_equal(f->last.rc, NIX1_RC_SYN);
    assert_in_range(sent, 110, 125); /* every 500 ms for 60 s */
    fx_free(f);
}

static void test_stale_replies_discarded(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    submit(f, S1, 'Q', 'b', NULL, NIX1_PRIO_OPERATOR);
    assert_string_equal(next_req(f), S1 "Qb");
    slave_says(f, S2 "00Qb\t9");    /* another slave */
    slave_says(f, S1 "00Qc\t7");    /* late reply to an older command */
    slave_says(f, S1 "Qb");         /* an echo of our own request */
    assert_int_equal(f->done, 0);
    slave_says(f, S1 "00Qb\t5");
    assert_int_equal(f->done, 1);
    assert_string_equal(f->last_payload, "5");
    struct nix1_bus_stats st;
    nix1_bus_stats(f->line.bus, &st);
    assert_int_equal(st.stale, 3);
    fx_free(f);
}

static void test_interchar_timeout_garbled_retry(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    submit(f, S1, 'Q', 'b', NULL, NIX1_PRIO_OPERATOR);
    assert_string_equal(next_req(f), S1 "Qb");
    assert_int_equal(write(f->line.peer, S1 "00", 18), 18);
    pump(f);
    advance(f, 49000);
    assert_null(next_req(f));
    advance(f, 2000);  /* 50 ms silence drops the partial line */
    advance(f, 6000);  /* idle gap, then the retry */
    assert_string_equal(next_req(f), S1 "Qb");
    slave_says(f, S1 "00Qb\t5");
    assert_int_equal(f->last.attempts, 2);
    assert_string_equal(f->last_payload, "5");
    fx_free(f);
}

static void test_priority_queue(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    submit(f, S1, 'Q', 'b', NULL, NIX1_PRIO_CONFIG);
    submit(f, S2, 'Q', 'c', NULL, NIX1_PRIO_CONFIG);
    submit(f, S3, 'Q', 'm', NULL, NIX1_PRIO_OPERATOR);
    assert_string_equal(next_req(f), S3 "Qm");
    slave_says(f, S3 "00Qm\t1");
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "Qb");
    submit(f, S3, 'Q', 'o', NULL, NIX1_PRIO_OPERATOR); /* arrives mid-transaction: goes next */
    slave_says(f, S1 "00Qb\t5");
    advance(f, 6000);
    assert_string_equal(next_req(f), S3 "Qo");
    slave_says(f, S3 "00Qo\t0");
    advance(f, 6000);
    assert_string_equal(next_req(f), S2 "Qc");
    fx_free(f);
}

static void test_multiline(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    submit(f, S1, 'Q', 'g', "14U.U\t0", NIX1_PRIO_OPERATOR);
    assert_string_equal(next_req(f), S1 "Qg14U.U\t0");
    slave_says(f, S1 "00Qg\tuser2\t* 7-19 * 1-8 1,4-5");
    advance(f, 900000); /* gap between lines is allowed up to 1000 ms */
    slave_says(f, S1 "00Qg\tuser3\t* * * * *");
    assert_int_equal(f->done, 0);
    slave_says(f, S1 "04Qg\t2");
    assert_int_equal(f->done, 1);
    assert_int_equal(f->last.rc, NIX1_RC_EOT);
    assert_int_equal(f->last.nlines, 2);
    assert_string_equal(f->last_lines[0], "user2\t* 7-19 * 1-8 1,4-5");
    assert_string_equal(f->last_lines[1], "user3\t* * * * *");
    assert_string_equal(f->last_payload, "2");
    fx_free(f);
}

static void test_scratch_reveals_address(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    submit(f, NIX1_ADDR_SCRATCH_STR, 'Q', 'n', NULL, NIX1_PRIO_OPERATOR);
    assert_string_equal(next_req(f), NIX1_ADDR_SCRATCH_STR "Qn");
    slave_says(f, S2 "00Qn\tSIM-1.0");
    assert_int_equal(f->done, 1);
    nix1_addr_t want = A(S2);
    assert_true(nix1_addr_equal(&f->last.from, &want));
    assert_string_equal(f->last_payload, "SIM-1.0");
    fx_free(f);
}

static void test_local_encode_refusal(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    assert_int_equal(submit(f, S1, 'N', 'h', "* * *\n* *", NIX1_PRIO_OPERATOR), -NIX1_RC_ERROR_PARAM);
    char big[400];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(submit(f, S1, 'N', 'k', big, NIX1_PRIO_OPERATOR), -NIX1_RC_ERROR_PARAM);
    assert_null(next_req(f));
    fx_free(f);
}

static const char *ACC1 = S1 "\tuser1\t15\t\t1436413339\t+0100\t2\t0\t55";
static const char *ACC2 = S1 "\tuser2\t15\t1436400000\t1436413400\t+0100\t1\t0\t00";

static void test_polling_round_robin_and_dead_slave(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    nix1_addr_t a1 = A(S1), a2 = A(S2), a3 = A(S3);
    nix1_bus_add_slave(f->line.bus, &a1);
    nix1_bus_add_slave(f->line.bus, &a2);
    nix1_bus_add_slave(f->line.bus, &a3);
    nix1_bus_set_polling(f->line.bus, true);
    /* round 1: S1 has two entries (read until 04), S2 is dead, S3 has none */
    assert_string_equal(next_req(f), S1 "Qe");
    slave_says(f, S1 "00Qe\t%s", ACC1);
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "Qe");
    slave_says(f, S1 "00Qe\t%s", ACC2);
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "Qe");
    slave_says(f, S1 "04Qe");
    advance(f, 6000);
    assert_string_equal(next_req(f), S2 "Qe");
    advance(f, 1100000); /* no answer */
    assert_string_equal(next_req(f), S3 "Qe");
    slave_says(f, S3 "04Qe");
    assert_int_equal(f->naccess, 2);
    assert_string_equal(f->access[0], ACC1);
    /* S2 backs off (1 s); S1 and S3 keep being polled meanwhile */
    int s2 = 0, others = 0;
    for (int i = 0; i < 400; i++) {
        advance(f, 6000);
        const char *l = next_req(f);
        if (!l)
            continue;
        if (strncmp(l, S2, 16) == 0) {
            s2++;
            if (strcmp(l, S2 "Ne10") == 0)
                break;
        } else {
            others++;
            char rep[64];
            snprintf(rep, sizeof rep, "%.16s04Qe", l);
            slave_says(f, "%s", rep);
        }
    }
    assert_true(others >= 10);
    /* after a Qe timeout the master rewinds with Ne10 (Qe is not idempotent) */
    assert_int_equal(s2, 1);
    fx_free(f);
}

/* The next request after a failed transaction's backoff. */
static const char *next_after_backoff(struct fx *f)
{
    const char *l = NULL;
    for (int i = 0; i < 300 && !l; i++) {
        advance(f, 10000);
        l = next_req(f);
    }
    assert_non_null(l);
    return l;
}

/* One Qe answered with ACC1, the next one's reply lost: the master asks where the slave is (LOG_POSITION). */
static void read_one_then_lose_one(struct fx *f)
{
    nix1_addr_t a1 = A(S1);
    nix1_bus_add_slave(f->line.bus, &a1);
    nix1_bus_set_polling(f->line.bus, true);
    assert_string_equal(next_req(f), S1 "Qe");
    slave_says(f, S1 "00Qe\t%s", ACC1);
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "Qe");
    advance(f, 1100000); /* the reply is lost */
    assert_int_equal(f->naccess, 1);
    assert_string_equal(next_after_backoff(f), S1 "QgCONFIG.TXT\t0");
}

static void say_position(struct fx *f, const char *pos)
{
    slave_says(f, S1 "00Qg\tENABLE\t1");
    slave_says(f, S1 "00Qg\tLOG_POSITION\t%s", pos);
    slave_says(f, S1 "04Qg\t2");
    advance(f, 6000);
}

static void expect_counts(struct fx *f, unsigned long entries, unsigned long dups)
{
    struct nix1_slave_info si;
    assert_true(nix1_bus_slave_info(f->line.bus, 0, &si));
    assert_int_equal(si.entries, entries);
    assert_int_equal(si.duplicates, dups);
}

/* The slave moved on (its position is after the line whose reply was lost): today's file, so Ne positions the
 * reader on that line, which is delivered once; the line delivered before it is dropped as the one in doubt. */
static void test_lost_reply_line_read_again_once(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    read_one_then_lose_one(f);
    say_position(f, "190:2");
    assert_string_equal(next_req(f), S1 "Qt");
    slave_says(f, S1 "00Qt\t1436413500\t+0100"); /* day 190 on the slave: today */
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "Ne65534"); /* back to the start first: never past unread lines */
    slave_says(f, S1 "00Ne\t2");
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "Ne1"); /* then on the line in doubt */
    slave_says(f, S1 "00Ne\t2");
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "Qe");
    slave_says(f, S1 "00Qe\t%s", ACC2); /* the lost one, not the last one delivered: delivered */
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "Qe");
    slave_says(f, S1 "04Qe");
    assert_int_equal(f->naccess, 2);
    assert_string_equal(f->access[1], ACC2);
    expect_counts(f, 2, 0);
    /* now the reader knows where it is: a reply lost after the slave moved on is read again by position */
    advance(f, 10000);
    assert_string_equal(next_after_backoff(f), S1 "Qe");
    advance(f, 1100000);
    assert_string_equal(next_after_backoff(f), S1 "QgCONFIG.TXT\t0");
    say_position(f, "190:3");
    assert_string_equal(next_req(f), S1 "Qt");
    slave_says(f, S1 "00Qt\t1436413500\t+0100");
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "Ne65534");
    slave_says(f, S1 "00Ne\t4"); /* a line was logged meanwhile */
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "Ne2");
    slave_says(f, S1 "00Ne\t5"); /* and another between the two Ne: it went one past: back and again */
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "Ne65534");
    slave_says(f, S1 "00Ne\t5");
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "Ne3");
    slave_says(f, S1 "00Ne\t5");
    advance(f, 6000);
    static const char *ACC3 = S1 "\tuser3\t15\t1436400000\t1436413450\t+0100\t1\t0\t00";
    static const char *ACC4 = S1 "\tuser4\t15\t1436400000\t1436413460\t+0100\t1\t0\t00";
    assert_string_equal(next_req(f), S1 "Qe");
    slave_says(f, S1 "00Qe\t%s", ACC3);
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "Qe");
    slave_says(f, S1 "00Qe\t%s", ACC4);
    advance(f, 6000);
    assert_int_equal(f->naccess, 4);
    expect_counts(f, 4, 0);
    fx_free(f);
}

/* The slave did not move on: nothing is read again. */
static void test_lost_request_nothing_read_again(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    read_one_then_lose_one(f);
    say_position(f, "190:1");
    assert_string_equal(next_req(f), S1 "Qt"); /* the reader did not know its position yet */
    slave_says(f, S1 "00Qt\t1436413500\t+0100");
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "Ne65534");
    slave_says(f, S1 "00Ne\t1");
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "Ne1");
    slave_says(f, S1 "00Ne\t1");
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "Qe");
    slave_says(f, S1 "00Qe\t%s", ACC1); /* in doubt, and the last one delivered: dropped */
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "Qe");
    slave_says(f, S1 "00Qe\t%s", ACC2);
    advance(f, 6000);
    assert_int_equal(f->naccess, 2);
    expect_counts(f, 2, 1);
    /* position known now: a lost reply when the slave did not move on costs only CONFIG.TXT */
    assert_string_equal(next_req(f), S1 "Qe");
    advance(f, 1100000);
    assert_string_equal(next_after_backoff(f), S1 "QgCONFIG.TXT\t0");
    say_position(f, "190:2");
    assert_string_equal(next_req(f), S1 "Qe");
    fx_free(f);
}

/* A slave that does not say where it is: the spec's Ne window, and every replayed line is checked against what
 * was delivered (an unseen line in the window does not end it). */
static void test_no_position_window(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    read_one_then_lose_one(f);
    slave_says(f, S1 "4EQg");
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "Ne10");
    slave_says(f, S1 "00Ne\t3");
    advance(f, 6000);
    static const char *ACC0 = S1 "\told\t15\t\t1436410000\t+0100\t1\t0\t55"; /* read by an earlier run */
    const char *replay[] = { ACC0, ACC1, ACC2 };
    for (int i = 0; i < 3; i++) {
        assert_string_equal(next_req(f), S1 "Qe");
        slave_says(f, S1 "00Qe\t%s", replay[i]);
        advance(f, 6000);
    }
    assert_string_equal(next_req(f), S1 "Qe");
    slave_says(f, S1 "04Qe");
    assert_int_equal(f->naccess, 3); /* ACC1, then ACC0 and ACC2 (the journal drops ACC0 by its identity) */
    assert_string_equal(f->access[1], ACC0);
    assert_string_equal(f->access[2], ACC2);
    expect_counts(f, 3, 1);
    fx_free(f);
}

/* The reply lost while reading an earlier day's log: that line is re-read with Qg (Ne only positions today). */
static void test_earlier_day_reread(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    read_one_then_lose_one(f);
    say_position(f, "190:2");
    assert_string_equal(next_req(f), S1 "Qt");
    slave_says(f, S1 "00Qt\t1436513500\t+0100"); /* the slave is a day later */
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "QgACCESS.190\t2");
    slave_says(f, S1 "00Qg\t%s", ACC1);
    slave_says(f, S1 "00Qg\t%s", ACC2);
    slave_says(f, S1 "04Qg\t2");
    advance(f, 6000);
    assert_string_equal(next_req(f), S1 "Qe");
    slave_says(f, S1 "04Qe");
    assert_int_equal(f->naccess, 2);
    assert_string_equal(f->access[1], ACC2);
    fx_free(f);
}

static void test_online_offline(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    nix1_addr_t a1 = A(S1);
    nix1_bus_add_slave(f->line.bus, &a1);
    assert_int_equal(nix1_bus_slave_state(f->line.bus, &a1), NIX1_SLAVE_UNKNOWN);
    submit(f, S1, 'Q', 'm', NULL, NIX1_PRIO_OPERATOR);
    assert_non_null(next_req(f));
    slave_says(f, S1 "00Qm\t1");
    assert_int_equal(nix1_bus_slave_state(f->line.bus, &a1), NIX1_SLAVE_ONLINE);
    assert_int_equal(f->online_events, 1);
    submit(f, S1, 'Q', 'e', NULL, NIX1_PRIO_OPERATOR);
    submit(f, S1, 'Q', 'e', NULL, NIX1_PRIO_OPERATOR);
    advance(f, 2300000);
    assert_int_equal(f->done, 3);
    assert_int_equal(nix1_bus_slave_state(f->line.bus, &a1), NIX1_SLAVE_OFFLINE);
    assert_int_equal(f->offline_events, 1);
    fx_free(f);
}

static void test_transport_closed(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    submit(f, S1, 'Q', 'm', NULL, NIX1_PRIO_OPERATOR);
    submit(f, S1, 'Q', 'b', NULL, NIX1_PRIO_OPERATOR);
    assert_non_null(next_req(f));
    fake_line_hang_up(&f->line);
    pump(f);
    assert_int_equal(f->done, 2);
    assert_int_equal(f->last.status, NIX1_ST_IO);
    /* later submissions fail from the loop, never hang */
    submit(f, S1, 'Q', 'b', NULL, NIX1_PRIO_OPERATOR);
    pump(f);
    assert_int_equal(f->done, 3);
    assert_int_equal(f->last.status, NIX1_ST_IO);
    fx_free(f);
}

/* The line's fd closed behind the master's back and its number now another owner's, watched on the same loop (a
 * client's socket, another device's line): the failure and freeing the master leave that watch alone. */
static void test_line_number_reused_and_watched(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    int p[2];
    assert_int_equal(pipe(p), 0);
    int num = f->line.master;
    assert_int_equal(dup2(p[0], num), num);
    close(p[0]);
    int hits = 0;
    assert_int_equal(loop_add_fd(f->line.loop, num, LOOP_READ, fx_count_reads, &hits), 0);
    submit(f, S1, 'Q', 'm', NULL, NIX1_PRIO_OPERATOR);
    advance(f, 100000);
    assert_int_equal(f->done, 1);
    assert_int_equal(f->last.status, NIX1_ST_IO);
    assert_int_equal(write(p[1], "x", 1), 1);
    pump(f);
    assert_int_equal(hits, 1); /* still watched after the transport failed */
    nix1_bus_free(f->line.bus);
    f->line.bus = NULL;
    assert_int_equal(write(p[1], "y", 1), 1);
    pump(f);
    assert_int_equal(hits, 2); /* and after the master was freed */
    loop_del_fd(f->line.loop, num);
    close(num);
    close(p[1]);
    fx_free(f);
}

/* The line's fd closed behind the master's back and its number taken by another file (the journal, a state
 * file, the terminal): the request fails as an I/O error, not a byte reaches that file, and neither the failure
 * nor freeing the master closes the number that is no longer the line's. */
static void test_line_number_reused(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    char path[] = "/tmp/portier-nix1-reused.XXXXXX";
    int other = mkstemp(path);
    assert_true(other >= 0);
    assert_int_equal(dup2(other, f->line.master), f->line.master); /* closes the line's end, reuses its number */
    close(other);
    other = f->line.master;
    submit(f, S1, 'Q', 'm', NULL, NIX1_PRIO_OPERATOR);
    advance(f, 100000);
    assert_int_equal(f->done, 1);
    assert_int_equal(f->last.status, NIX1_ST_IO);
    struct stat st;
    assert_int_equal(fstat(other, &st), 0);
    assert_int_equal(st.st_size, 0);
    fx_free(f);
    assert_true(fcntl(other, F_GETFD) >= 0);
    assert_int_equal(fstat(other, &st), 0);
    assert_int_equal(st.st_size, 0);
    close(other);
    unlink(path);
}

/* A run of NIX1_REQF_YIELD requests (a technician's relayed transfer) lets a due poll go ahead of each; a request
 * without the flag (a door's) does not wait for polls. */
static void test_yield_lets_polls_through(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    nix1_addr_t a1 = A(S1);
    nix1_bus_add_slave(f->line.bus, &a1);
    nix1_bus_set_polling(f->line.bus, true);
    assert_string_equal(next_req(f), S1 "Qe");
    struct nix1_request_spec rq = { .addr = A(S2), .cmd = 'Q', .arg = 'b', .prio = NIX1_PRIO_CONFIG,
                                    .flags = NIX1_REQF_YIELD };
    assert_true(nix1_bus_submit(f->line.bus, &rq, on_done, f) > 0);
    slave_says(f, S1 "04Qe");
    int polls = 0, relayed = 0;
    for (int i = 0; i < 4000 && relayed < 6; i++) {
        advance(f, 1000);
        const char *l = next_req(f);
        if (!l)
            continue;
        char rep[64];
        if (strcmp(l, S1 "Qe") == 0) {
            polls++;
            snprintf(rep, sizeof rep, S1 "04Qe");
        } else {
            assert_string_equal(l, S2 "Qb");
            relayed++;
            snprintf(rep, sizeof rep, S2 "00Qb\t5");
            assert_true(nix1_bus_submit(f->line.bus, &rq, on_done, f) > 0); /* the next line at once */
        }
        slave_says(f, "%s", rep);
    }
    assert_int_equal(relayed, 6);
    assert_true(polls >= 5); /* one due poll ahead of each line (a slave is due again after its backoff) */
    /* without the flag the queue goes first, as always */
    struct nix1_request_spec door = { .addr = A(S2), .cmd = 'Q', .arg = 'l', .opt = "1", .prio = NIX1_PRIO_OPERATOR };
    assert_true(nix1_bus_submit(f->line.bus, &door, on_done, f) > 0);
    for (int i = 0; i < 100; i++) {
        advance(f, 1000);
        const char *l = next_req(f);
        if (!l)
            continue;
        if (strcmp(l, S1 "Qe") == 0) {
            slave_says(f, S1 "04Qe");
            continue;
        }
        assert_string_equal(l, S2 "Ql1");
        break;
    }
    fx_free(f);
}

struct relayed {
    int sent;
    long id;
    char line[400], addr[NIX1_ADDR_LEN + 1];
    unsigned timeout_ms;
    bool refuse;
};

static int relay_send(void *arg, long id, const nix1_addr_t *addr, const char *line, unsigned timeout_ms, char *why,
                      size_t whylen)
{
    struct relayed *r = arg;
    if (r->refuse) {
        snprintf(why, whylen, "the owner is gone");
        return -1;
    }
    r->sent++;
    r->id = id;
    r->timeout_ms = timeout_ms;
    snprintf(r->line, sizeof r->line, "%s", line);
    nix1_addr_format(addr, r->addr);
    return 0;
}

/* A relay bus hands its requests, one at a time in queue order, to another master and completes them with what
 * comes back: the replier's address, the payload and the data lines; a refused send fails the request. */
static void test_relay(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    struct relayed r = { 0 };
    struct nix1_bus_relay relay = { .send = relay_send, .arg = &r };
    nix1_bus_t *bus = nix1_bus_new_relay(f->line.loop, &relay);
    assert_non_null(bus);
    struct nix1_request_spec q1 = { .addr = nix1_addr_scratch, .cmd = 'Q', .arg = 'n', .prio = NIX1_PRIO_CONFIG };
    struct nix1_request_spec q2 = { .addr = A(S1), .cmd = 'Q', .arg = 'i', .opt = "TXT", .prio = NIX1_PRIO_CONFIG };
    struct nix1_request_spec q3 = { .addr = A(S2), .cmd = 'N', .arg = 'l', .opt = "1\t1", .prio = NIX1_PRIO_OPERATOR };
    long id1 = nix1_bus_submit(bus, &q1, on_done, f), id2 = nix1_bus_submit(bus, &q2, on_done, f);
    assert_true(id1 > 0 && id2 > 0);
    assert_int_equal(r.sent, 0); /* never from inside submit */
    pump(f);
    assert_int_equal(r.sent, 1);
    assert_int_equal(r.id, id1);
    assert_string_equal(r.line, "Qn");
    char scratch[NIX1_ADDR_LEN + 1];
    assert_string_equal(r.addr, nix1_addr_format(&nix1_addr_scratch, scratch));
    long id3 = nix1_bus_submit(bus, &q3, on_done, f); /* an operator request waits for the one in flight only */
    pump(f);
    assert_int_equal(r.sent, 1);
    struct nix1_result res = { .status = NIX1_ST_REPLY, .rc = 0, .from = A(S3), .payload = "SIM-1.0", .payload_len = 7 };
    nix1_bus_relay_done(bus, id2, &res); /* not the one in flight: ignored */
    assert_int_equal(f->done, 0);
    nix1_bus_relay_done(bus, id1, &res);
    assert_int_equal(f->done, 1);
    assert_int_equal(f->last.status, NIX1_ST_REPLY);
    assert_string_equal(f->last_payload, "SIM-1.0");
    char from[NIX1_ADDR_LEN + 1];
    assert_string_equal(nix1_addr_format(&f->last.from, from), S3); /* the scratch slave's real address */
    pump(f);
    assert_int_equal(r.id, id3);
    assert_string_equal(r.line, "Nl1\t1");
    struct nix1_result to = { .status = NIX1_ST_TIMEOUT, .error = "no answer" };
    nix1_bus_relay_done(bus, id3, &to);
    assert_int_equal(f->last.status, NIX1_ST_TIMEOUT);
    assert_string_equal(f->last.error, "no answer");
    pump(f);
    assert_int_equal(r.id, id2);
    assert_string_equal(r.line, "QiTXT");
    const char *lines[] = { "CONFIG.TXT\t199", "KEYS.TXT\t61" };
    struct nix1_result ml = { .status = NIX1_ST_REPLY, .rc = NIX1_RC_EOT, .from = A(S1), .payload = "",
                              .lines = lines, .nlines = 2 };
    nix1_bus_relay_done(bus, id2, &ml);
    assert_int_equal(f->done, 3);
    assert_int_equal(f->last.rc, NIX1_RC_EOT);
    assert_int_equal(f->last.nlines, 2);
    assert_string_equal(f->last_lines[1], "KEYS.TXT\t61");
    /* a send the other master refuses fails the request; a request in flight when the bus goes is cancelled */
    r.refuse = true;
    assert_true(nix1_bus_submit(bus, &q2, on_done, f) > 0);
    pump(f);
    assert_int_equal(f->done, 4);
    assert_int_equal(f->last.status, NIX1_ST_IO);
    assert_string_equal(f->last.error, "the owner is gone");
    r.refuse = false;
    assert_true(nix1_bus_submit(bus, &q2, on_done, f) > 0);
    pump(f);
    assert_int_equal(r.sent, 4);
    nix1_bus_free(bus);
    assert_int_equal(f->done, 5);
    assert_int_equal(f->last.status, NIX1_ST_CANCELLED);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unicast_reply),
        cmocka_unit_test(test_error_code_and_idle_gap),
        cmocka_unit_test(test_broadcast_refused_and_gaps),
        cmocka_unit_test(test_timeout_retries_idempotent),
        cmocka_unit_test(test_answer_at_the_deadline_after_a_stall),
        cmocka_unit_test(test_long_timeout_class),
        cmocka_unit_test(test_non_idempotent_no_retry),
        cmocka_unit_test(test_nak_resent),
        cmocka_unit_test(test_busy_retry_and_limit),
        cmocka_unit_test(test_stale_replies_discarded),
        cmocka_unit_test(test_interchar_timeout_garbled_retry),
        cmocka_unit_test(test_priority_queue),
        cmocka_unit_test(test_multiline),
        cmocka_unit_test(test_scratch_reveals_address),
        cmocka_unit_test(test_local_encode_refusal),
        cmocka_unit_test(test_polling_round_robin_and_dead_slave),
        cmocka_unit_test(test_lost_reply_line_read_again_once),
        cmocka_unit_test(test_lost_request_nothing_read_again),
        cmocka_unit_test(test_no_position_window),
        cmocka_unit_test(test_earlier_day_reread),
        cmocka_unit_test(test_online_offline),
        cmocka_unit_test(test_transport_closed),
        cmocka_unit_test(test_line_number_reused),
        cmocka_unit_test(test_line_number_reused_and_watched),
        cmocka_unit_test(test_yield_lets_polls_through),
        cmocka_unit_test(test_relay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
