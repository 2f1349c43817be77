/* Unit tests for NiX1 door control and the emergency profile (spec §5.14): a socketpair plays the RS-485
 * line, a scripted fake slave set answers on the other end, the fake clock drives every timeout and gap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/event.h"
#include "core/loop.h"
#include "drivers/nix1/nix1_bus.h"
#include "drivers/nix1/nix1_door.h"
#include "drivers/nix1/nix1_rc.h"
#include "tests/unit/nix1_fake_line.h"

#define S1 "271A2100000000F3"
#define S2 "270100000000006B"
#define BC NIX1_ADDR_BROADCAST_STR

/* One simulated slave: only what §5.14 touches. */
struct fslave {
    const char *addr;
    bool has_cron;
    char cron[200];
    int mode;
    int lock[2];
    bool muted;      /* answers nothing */
    bool deaf_bcast; /* misses broadcasts (e.g. noise on its segment) */
    long long clock; /* Qt: UTC seconds (0 = 1700000000) */
    const char *tz;  /* Qt: zone ("+0000" when NULL) */
    int ignore_no;   /* answers 00 to No but does not change the mode this many times (-1: never) */
};

struct fx {
    struct fake_line line;
    struct nix1_door *door;
    struct fslave sl[2];
    int nsl;
    /* door report */
    bool done;
    struct nix1_door_outcome out[4];
    size_t n_out, ok, failed, unreachable;
    bool store_error;
    /* the store: every text written, and how many requests had been sent when it was written */
    int stores;
    char stored[16][2048];
    int stored_at[16];
    bool store_fails, store_dead;
};

static struct fslave *find(struct fx *f, const char *addr)
{
    for (int i = 0; i < f->nsl; i++)
        if (strncmp(f->sl[i].addr, addr, 16) == 0)
            return &f->sl[i];
    return NULL;
}

/* Apply a set command; returns false for commands this fake does not know. */
static bool apply(struct fslave *s, char cmd, char arg, const char *opt)
{
    if (cmd == 'N' && arg == 'h') {
        s->has_cron = true;
        snprintf(s->cron, sizeof s->cron, "%s", opt);
    } else if (cmd == 'D' && arg == 'h') {
        s->has_cron = false;
        s->cron[0] = 0;
    } else if (cmd == 'N' && arg == 'o') {
        if (s->ignore_no == 0)
            s->mode = atoi(opt);
        else if (s->ignore_no > 0)
            s->ignore_no--;
    } else if (cmd == 'N' && arg == 'l' && (opt[0] == '1' || opt[0] == '2') && opt[1] == '\t') {
        s->lock[opt[0] - '1'] = atoi(opt + 2);
    } else {
        return false;
    }
    return true;
}

/* The scripted slaves answer a request (fake_line_answer_fn). */
static void slave_answer(void *ctx, const char *req)
{
    struct fx *f = ctx;
    size_t len = strlen(req);
    assert_true(len >= 18);
    char cmd = req[16], arg = req[17];
    const char *opt = req + 18;
    if (strncmp(req, BC, 16) == 0) {
        for (int i = 0; i < f->nsl; i++)
            if (!f->sl[i].muted && !f->sl[i].deaf_bcast)
                assert_true(apply(&f->sl[i], cmd, arg, opt));
        return; /* never answered */
    }
    struct fslave *s = find(f, req);
    if (!s || s->muted)
        return;
    if (cmd == 'Q' && arg == 'h') {
        if (s->has_cron)
            fake_line_say(&f->line, "%s00Qh\t%s", s->addr, s->cron);
        else
            fake_line_say(&f->line, "%s60Qh", s->addr);
    } else if (cmd == 'Q' && arg == 'o') {
        fake_line_say(&f->line, "%s00Qo\t%d", s->addr, s->mode);
    } else if (cmd == 'Q' && arg == 'l') {
        fake_line_say(&f->line, "%s00Ql\t%d", s->addr, s->lock[opt[0] == '2']);
    } else if (cmd == 'Q' && arg == 'e') {
        fake_line_say(&f->line, "%s04Qe", s->addr);
    } else if (cmd == 'Q' && arg == 't') {
        fake_line_say(&f->line, "%s00Qt\t%lld\t%s", s->addr, s->clock ? s->clock : 1700000000LL, s->tz ? s->tz : "+0000");
    } else if (apply(s, cmd, arg, opt)) {
        fake_line_say(&f->line, "%s00%c%c", s->addr, cmd, arg);
    } else {
        fake_line_say(&f->line, "%s41%c%c", s->addr, cmd, arg);
    }
}

/* Run the loop with the fake slaves answering, until *flag or max_us of fake time. */
static void serve(struct fx *f, const bool *flag, uint64_t max_us)
{
    for (uint64_t t = 0; t <= max_us; t += 1000) {
        fake_line_drain(&f->line, slave_answer, f);
        if (flag && *flag)
            return;
        fake_line_advance(&f->line, 1000);
    }
}

static void on_report(void *arg, const struct nix1_door_report *r)
{
    struct fx *f = arg;
    f->done = true;
    f->n_out = r->n < 4 ? r->n : 4;
    memcpy(f->out, r->v, f->n_out * sizeof *r->v);
    f->ok = r->ok;
    f->failed = r->failed;
    f->unreachable = r->unreachable;
    f->store_error = r->store_error != NULL;
}

static int store(void *arg, const char *text, size_t len, char *err, size_t errlen)
{
    struct fx *f = arg;
    if (f->store_dead)
        return 0; /* the process is gone: nothing more reaches the disk */
    if (f->store_fails) {
        snprintf(err, errlen, "disk full");
        return -1;
    }
    if (f->stores < 16) {
        snprintf(f->stored[f->stores], sizeof f->stored[0], "%.*s", (int)len, text);
        f->stored_at[f->stores] = f->line.nlog;
    }
    f->stores++;
    return 0;
}

static struct fx *fx_new(void)
{
    struct fx *f = calloc(1, sizeof *f);
    fake_line_open(&f->line);
    f->door = nix1_door_new(f->line.bus);
    assert_non_null(f->door);
    f->sl[0] = (struct fslave){ .addr = S1, .has_cron = true, .cron = "0-30 6 * * *", .mode = 2, .lock = { 0, 1 } };
    f->sl[1] = (struct fslave){ .addr = S2, .has_cron = false, .mode = 0, .lock = { 1, 0 } };
    f->nsl = 2;
    fake_line_pump(&f->line);
    return f;
}

static void fx_free(struct fx *f)
{
    nix1_door_free(f->door);
    fake_line_close(&f->line);
    free(f);
}

static nix1_addr_t A(const char *s) { return fake_line_addr(s); }

static void reset_run(struct fx *f)
{
    f->done = false;
    f->line.nlog = 0;
}

static void expect_log(struct fx *f, const char *const *want, int n)
{
    for (int i = 0; i < n && i < f->line.nlog; i++)
        assert_string_equal(f->line.log[i], want[i]);
    assert_int_equal(f->line.nlog, n);
}

/* The bus-wide emergency on or off, run to its end. */
static void emergency(struct fx *f, bool on)
{
    reset_run(f);
    assert_int_equal(nix1_door_emergency(f->door, on, false, on_report, f), 0);
    serve(f, &f->done, 30000000);
    assert_true(f->done);
}

/* Both slaves known to the door. */
static void add_both(struct fx *f)
{
    nix1_addr_t a1 = A(S1), a2 = A(S2);
    nix1_door_add(f->door, &a1);
    nix1_door_add(f->door, &a2);
}

/* Hold (on) or release the door of slave addr, run to its end. */
static void hold_door(struct fx *f, const char *addr, bool on)
{
    nix1_addr_t a = A(addr);
    reset_run(f);
    assert_int_equal(nix1_door_hold(f->door, &a, on, on_report, f), 0);
    serve(f, &f->done, 10000000);
    assert_true(f->done);
}

/* Open the door of slave addr for minutes and seconds, run to its end. */
static void timed_open(struct fx *f, const char *addr, unsigned minutes, unsigned seconds)
{
    nix1_addr_t a = A(addr);
    reset_run(f);
    assert_int_equal(nix1_door_timed_open(f->door, &a, minutes, seconds, on_report, f), 0);
    serve(f, &f->done, 10000000);
    assert_true(f->done);
}

/* Fake slave i's schedule (NULL: none), mode and lock-outs of its two doors. */
static void assert_slave(const struct fx *f, int i, const char *cron, int mode, int lock1, int lock2)
{
    if (cron) {
        assert_true(f->sl[i].has_cron);
        assert_string_equal(f->sl[i].cron, cron);
    } else {
        assert_false(f->sl[i].has_cron);
    }
    assert_int_equal(f->sl[i].mode, mode);
    assert_int_equal(f->sl[i].lock[0], lock1);
    assert_int_equal(f->sl[i].lock[1], lock2);
}

/* ---- tests ---- */

static void test_hold_release_remember_and_restore(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    nix1_addr_t a1 = A(S1);
    hold_door(f, S1, true);
    assert_int_equal(f->ok, 1);
    static const char *const hold[] = { S1 "Qh", S1 "Qo", S1 "Ql1", S1 "Ql2", S1 "Nh* * * * *", S1 "No1" };
    expect_log(f, hold, 6);
    assert_string_equal(f->sl[0].cron, "* * * * *");
    assert_int_equal(f->sl[0].mode, 1);
    const struct nix1_door_slave *ds = nix1_door_find(f->door, &a1);
    assert_non_null(ds);
    assert_true(ds->held && ds->known && ds->has_cron);
    assert_string_equal(ds->cron, "0-30 6 * * *");
    assert_int_equal(ds->cron_mode, 2);

    /* holding again must not remember the open state as "previous" */
    hold_door(f, S1, true);
    static const char *const again[] = { S1 "Nh* * * * *", S1 "No1" };
    expect_log(f, again, 2);
    ds = nix1_door_find(f->door, &a1);
    assert_string_equal(ds->cron, "0-30 6 * * *");

    hold_door(f, S1, false);
    assert_int_equal(f->ok, 1);
    /* read back, put back what differs, read back again */
    static const char *const rel[] = { S1 "Qh", S1 "Qo", S1 "Nh0-30 6 * * *", S1 "No2", S1 "Qh", S1 "Qo" };
    expect_log(f, rel, 6);
    assert_string_equal(f->sl[0].cron, "0-30 6 * * *");
    assert_int_equal(f->sl[0].mode, 2);
    assert_int_equal(f->sl[0].lock[1], 1); /* hold/release never touch the locks */
    assert_false(nix1_door_find(f->door, &a1)->held);
    fx_free(f);
}

static void test_release_without_cron_deletes_it(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    hold_door(f, S2, true);
    assert_int_equal(f->ok, 1);
    assert_true(f->sl[1].has_cron);
    hold_door(f, S2, false);
    static const char *const rel[] = { S2 "Qh", S2 "Qo", S2 "Dh", S2 "No0", S2 "Qh", S2 "Qo" };
    expect_log(f, rel, 6);
    assert_false(f->sl[1].has_cron);
    assert_int_equal(f->sl[1].mode, 0);
    fx_free(f);
}

static void test_release_refused_during_emergency(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add_both(f);
    emergency(f, true);
    assert_true(nix1_door_emergency_active(f->door));
    hold_door(f, S1, false);
    assert_int_equal(f->failed, 1);
    assert_int_equal(f->line.nlog, 0); /* nothing sent */
    assert_non_null(strstr(f->out[0].msg, "emergency"));
    assert_string_equal(f->sl[0].cron, "* * * * *");
    fx_free(f);
}

static void test_emergency_broadcast_order_gaps_and_verify(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    add_both(f);
    emergency(f, true);
    assert_true(f->done);
    assert_int_equal(f->ok, 2);
    /* unknown slaves are read first, then the four broadcasts in §5.14's order */
    static const char *const bc[] = { BC "Nl1\t0", BC "Nl2\t0", BC "Nh* * * * *", BC "No1" };
    int at[4];
    int prev = -1;
    for (int i = 0; i < 4; i++) {
        at[i] = fake_line_logged(&f->line, bc[i], prev + 1);
        assert_true(at[i] > prev);
        prev = at[i];
    }
    assert_int_equal(at[0], 8); /* 4 snapshot queries per slave before */
    assert_int_equal(at[3], 11);
    /* >= 100 ms after each broadcast before anything else goes on the wire (§5.1) */
    for (int i = at[0]; i <= at[3]; i++) {
        uint64_t gap = f->line.log_us[i + 1] - f->line.log_us[i];
        assert_true(gap >= 100000);
        assert_true(gap < 200000);
    }
    /* then every slave is verified */
    static const char *const ver[] = { S1 "Ql1", S1 "Ql2", S1 "Qh", S1 "Qo", S2 "Ql1", S2 "Ql2", S2 "Qh", S2 "Qo" };
    for (int i = 0; i < 8; i++)
        assert_string_equal(f->line.log[at[3] + 1 + i], ver[i]);
    assert_int_equal(f->line.nlog, at[3] + 9);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(f->out[i].resent, 0);
        assert_string_equal(f->sl[i].cron, "* * * * *");
        assert_int_equal(f->sl[i].mode, 1);
        assert_int_equal(f->sl[i].lock[0] + f->sl[i].lock[1], 0);
    }
    assert_true(nix1_door_emergency_active(f->door));
    fx_free(f);
}

/* Unlock first (portierctl nix1 --broadcast emergency on): the four broadcasts are the first requests on the wire,
 * then every slave known is verified; a slave whose schedule was not known is restored only with `locked`. With no
 * slave known at all the broadcast still goes out. */
static void test_emergency_now_unlocks_first(void **state)
{
    (void)state;
    static const char *const bc[] = { BC "Nl1\t0", BC "Nl2\t0", BC "Nh* * * * *", BC "No1" };
    struct fx *f = fx_new();
    nix1_door_set_store(f->door, store, f);
    reset_run(f);
    assert_int_equal(nix1_door_emergency_now(f->door, on_report, f), 0);
    serve(f, &f->done, 30000000);
    assert_true(f->done);
    assert_int_equal(f->n_out, 0);
    expect_log(f, bc, 4);
    for (int i = 0; i < 2; i++)
        assert_slave(f, i, "* * * * *", 1, 0, 0);
    assert_true(nix1_door_emergency_active(f->door));
    assert_true(f->stores >= 1 && f->stored_at[0] == 0); /* the intent is stored before the broadcast */
    fx_free(f);

    f = fx_new();
    add_both(f);
    reset_run(f);
    assert_int_equal(nix1_door_emergency_now(f->door, on_report, f), 0);
    serve(f, &f->done, 30000000);
    assert_int_equal(f->ok, 2);
    for (int i = 0; i < 4; i++)
        assert_string_equal(f->line.log[i], bc[i]); /* nothing is read before the unlock */
    assert_int_equal(f->line.nlog, 4 + 8);
    assert_string_equal(f->line.log[4], S1 "Ql1");
    /* the schedules were not read: "locked" closes the doors (no cron window, mode 0) */
    reset_run(f);
    assert_int_equal(nix1_door_emergency(f->door, false, true, on_report, f), 0);
    serve(f, &f->done, 30000000);
    assert_int_equal(f->ok, 2);
    for (int i = 0; i < 2; i++) {
        assert_false(f->sl[i].has_cron);
        assert_int_equal(f->sl[i].mode, 0);
    }
    fx_free(f);

    /* without "locked" they are left open and each says why */
    f = fx_new();
    add_both(f);
    reset_run(f);
    assert_int_equal(nix1_door_emergency_now(f->door, on_report, f), 0);
    serve(f, &f->done, 30000000);
    emergency(f, false);
    assert_int_equal(f->failed, 2);
    assert_non_null(strstr(f->out[0].msg, "previous state unknown"));
    assert_string_equal(f->sl[0].cron, "* * * * *");
    fx_free(f);
}

static void test_emergency_unicast_resend_and_restore(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    f->sl[1].deaf_bcast = true;
    f->sl[1].lock[1] = 1;
    add_both(f);
    emergency(f, true);
    assert_int_equal(f->ok, 2);
    assert_int_equal(f->out[0].resent, 0);
    assert_int_equal(f->out[1].resent, 4); /* Nl1, Nl2, Nh, No: it missed all four broadcasts */
    assert_true(fake_line_logged(&f->line, S2 "Nl1\t0", 0) > 0);
    assert_true(fake_line_logged(&f->line, S2 "Nl2\t0", 0) > 0);
    assert_true(fake_line_logged(&f->line, S2 "Nh* * * * *", 0) > 0);
    assert_true(fake_line_logged(&f->line, S2 "No1", 0) > 0);
    assert_int_equal(fake_line_logged(&f->line, S1 "No1", 0), -1);
    assert_slave(f, 1, "* * * * *", 1, 0, 0);

    /* off restores what each slave had before, by unicast */
    emergency(f, false);
    assert_int_equal(f->ok, 2);
    assert_false(nix1_door_emergency_active(f->door));
    assert_slave(f, 0, "0-30 6 * * *", 2, 0, 1);
    assert_slave(f, 1, NULL, 0, 1, 1);
    for (int i = 0; i < f->line.nlog; i++)
        assert_true(strncmp(f->line.log[i], BC, 16) != 0); /* restore is never a broadcast */
    fx_free(f);
}

/* A slave that does not answer the restore stays pending and is restored once it answers again. */
static void restore_when_back(struct fx *f, uint64_t muted_after_us)
{
    nix1_addr_t a1 = A(S1), a2 = A(S2);
    nix1_door_add(f->door, &a1);
    nix1_door_add(f->door, &a2);
    nix1_bus_add_slave(f->line.bus, &a1);
    nix1_bus_add_slave(f->line.bus, &a2);
    emergency(f, true);
    assert_int_equal(f->ok, 2);
    f->sl[1].muted = true;
    emergency(f, false);
    assert_int_equal(f->ok, 1);
    assert_int_equal(f->unreachable, 1);
    assert_true(f->out[1].unreachable);
    assert_true(nix1_door_find(f->door, &a2)->restore_pending);
    assert_string_equal(f->sl[1].cron, "* * * * *");
    assert_string_equal(f->sl[0].cron, "0-30 6 * * *");
    /* the bus polls; the slave comes back after a while */
    nix1_bus_set_polling(f->line.bus, true);
    serve(f, NULL, muted_after_us);
    f->sl[1].muted = false;
    bool restored = false;
    for (int i = 0; i < 200 && !restored; i++) {
        serve(f, NULL, 100000);
        restored = !nix1_door_find(f->door, &a2)->restore_pending;
    }
    assert_true(restored);
    serve(f, NULL, 200000);
    assert_false(f->sl[1].has_cron);
    assert_int_equal(f->sl[1].mode, 0);
    assert_int_equal(f->sl[1].lock[0], 1);
    assert_int_equal(f->sl[1].lock[1], 0);
    assert_false(nix1_door_find(f->door, &a2)->in_emergency);
}

static void test_restore_unreachable_slave_when_back(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    restore_when_back(f, 8000000); /* long enough for the bus to call it offline */
    fx_free(f);
}

static void test_restore_slave_back_quickly(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    restore_when_back(f, 0); /* answers the very next poll */
    fx_free(f);
}

static void test_state_save_load_roundtrip(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    nix1_addr_t a1 = A(S1);
    hold_door(f, S1, true);
    size_t len = 0;
    char *text = nix1_door_save(f->door, &len);
    assert_non_null(text);
    struct nix1_door *d2 = nix1_door_new(f->line.bus);
    assert_int_equal(nix1_door_load(d2, text, len), 0);
    const struct nix1_door_slave *s = nix1_door_find(d2, &a1);
    assert_non_null(s);
    assert_true(s->held && s->known && s->has_cron);
    assert_string_equal(s->cron, "0-30 6 * * *");
    assert_int_equal(s->cron_mode, 2);
    assert_false(s->lock[0]);
    assert_true(s->lock[1]);
    assert_int_equal(nix1_door_load(d2, "slave\tnot-an-address\n", 21), -1);
    nix1_door_free(d2);
    free(text);
    fx_free(f);
}

/* The intent and the snapshot are stored before the first broadcast goes out. */
static void test_emergency_write_ahead(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    nix1_door_set_store(f->door, store, f);
    add_both(f);
    emergency(f, true);
    assert_int_equal(f->ok, 2);
    int first_bc = fake_line_logged(&f->line, BC "Nl1\t0", 0);
    assert_true(first_bc > 0);
    assert_true(f->stores >= 2); /* the intent, then the result */
    assert_int_equal(f->stored_at[0], first_bc);
    assert_non_null(strstr(f->stored[0], "emergency\t1\n"));
    /* the snapshot read just before is in it, with the slaves marked in the emergency */
    assert_non_null(strstr(f->stored[0], "slave\t" S1 "\t1\t1\t2\t0\t1\t0\t1\t0\t0-30 6 * * *\t"));
    assert_non_null(strstr(f->stored[0], "slave\t" S2 "\t1\t0\t0\t1\t0\t0\t1\t0\t\t"));
    assert_false(f->store_error);
    /* off: the intent (restore due) is stored before the first restore request */
    int before = f->stores;
    emergency(f, false);
    assert_int_equal(f->ok, 2);
    assert_int_equal(f->stored_at[before], 0);
    assert_non_null(strstr(f->stored[before], "emergency\t0\n"));
    assert_non_null(strstr(f->stored[before], "slave\t" S1 "\t1\t1\t2\t0\t1\t0\t1\t1\t"));
    fx_free(f);
}

/* Serve until the request `line` has been sent (and answered), at most max_us. */
static void serve_until_sent(struct fx *f, const char *line, uint64_t max_us)
{
    for (uint64_t t = 0; t <= max_us && fake_line_logged(&f->line, line, 0) < 0; t += 1000) {
        fake_line_drain(&f->line, slave_answer, f);
        fake_line_advance(&f->line, 1000);
    }
    assert_true(fake_line_logged(&f->line, line, 0) >= 0);
}

/* A process killed in the middle of the broadcasts (cron set, mode not yet): a new process that reads what was
 * stored finds the emergency on, completes it, and then restores what each slave had before; the state it
 * reads from the slaves meanwhile (the emergency's) is never taken as the state to go back to. */
static void test_interrupted_emergency_restored(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    nix1_door_set_store(f->door, store, f);
    nix1_addr_t a1 = A(S1), a2 = A(S2);
    nix1_door_add(f->door, &a1);
    nix1_door_add(f->door, &a2);
    reset_run(f);
    assert_int_equal(nix1_door_emergency(f->door, true, false, on_report, f), 0);
    serve_until_sent(f, BC "Nh* * * * *", 30000000);
    assert_string_equal(f->sl[0].cron, "* * * * *");
    assert_int_equal(f->sl[0].mode, 2); /* No1 never went out */
    /* kill -9: nothing more is stored; the line goes away */
    f->store_dead = true;
    char text[2048];
    snprintf(text, sizeof text, "%s", f->stored[f->stores - 1]);
    nix1_door_unlisten(f->door);
    fake_line_close(&f->line);
    nix1_door_free(f->door);
    /* restart */
    fake_line_open(&f->line);
    fake_line_pump(&f->line);
    f->door = nix1_door_new(f->line.bus);
    f->store_dead = false;
    nix1_door_set_store(f->door, store, f);
    assert_int_equal(nix1_door_load(f->door, text, strlen(text)), 0);
    assert_true(nix1_door_emergency_active(f->door));
    assert_true(nix1_door_emergency_left(f->door));
    /* a refresh does not read slaves that are in the emergency */
    reset_run(f);
    assert_int_equal(nix1_door_refresh(f->door, NULL, 0, on_report, f), 1);
    assert_int_equal(f->line.nlog, 0);
    /* completing it: no new snapshot, the broadcasts again, everything verified */
    emergency(f, true);
    assert_int_equal(f->ok, 2);
    /* only the verification reads */
    assert_int_equal(fake_line_logged(&f->line, S1 "Qh", 0) > fake_line_logged(&f->line, BC "No1", 0), 1);
    assert_int_equal(f->sl[0].mode, 1);
    /* restore: what each slave had before the first emergency */
    emergency(f, false);
    assert_int_equal(f->ok, 2);
    assert_slave(f, 0, "0-30 6 * * *", 2, 0, 1);
    assert_slave(f, 1, NULL, 0, 1, 0);
    assert_false(nix1_door_emergency_left(f->door));
    fx_free(f);
}

/* A hold whose state cannot be stored first is not done; an emergency goes on and says so. */
static void test_store_failure(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    nix1_door_set_store(f->door, store, f);
    f->store_fails = true;
    nix1_addr_t a1 = A(S1), a2 = A(S2);
    hold_door(f, S1, true);
    assert_int_equal(f->failed, 1);
    assert_non_null(strstr(f->out[0].msg, "could not be stored"));
    assert_int_equal(fake_line_logged(&f->line, S1 "Nh* * * * *", 0), -1);
    assert_string_equal(f->sl[0].cron, "0-30 6 * * *");
    assert_false(nix1_door_find(f->door, &a1)->held);
    nix1_door_add(f->door, &a2);
    emergency(f, true);
    assert_int_equal(f->ok, 2);
    assert_true(f->store_error);
    assert_string_equal(f->sl[0].cron, "* * * * *");
    fx_free(f);
}

/* The window is computed on the slave's clock and zone, never on this host's. */
static void test_timed_open_on_slave_clock(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    nix1_door_set_store(f->door, store, f);
    nix1_addr_t a1 = A(S1);
    f->sl[0].clock = 1700000000LL; /* 2023-11-14 22:13:20 UTC */
    f->sl[0].tz = "+0530";         /* 2023-11-15 03:43:20 on the slave */
    reset_run(f);
    int64_t t0 = event_now_us();
    assert_int_equal(nix1_door_timed_open(f->door, &a1, 10, 0, on_report, f), 0);
    serve(f, &f->done, 10000000);
    assert_int_equal(f->ok, 1);
    static const char *const seq[] = { S1 "Qh", S1 "Qo", S1 "Ql1", S1 "Ql2", S1 "Qt", S1 "Nh43-52 3 15 11 *", S1 "No1" };
    expect_log(f, seq, 7);
    assert_string_equal(f->out[0].cron, "43-52 3 15 11 *");
    /* ends at 03:53:00 on the slave = 580 s after its "now", in this host's time */
    int64_t d = f->out[0].until_us - t0;
    assert_true(d >= 579000000 && d <= 582000000);
    /* remembered (and stored before Nh) as held until then */
    const struct nix1_door_slave *s = nix1_door_find(f->door, &a1);
    assert_true(s->held);
    assert_int_equal(s->held_until_us, f->out[0].until_us);
    assert_int_equal(f->stored_at[0], 5);
    assert_non_null(strstr(f->stored[0], "\t0-30 6 * * *\t"));
    /* seconds: the whole minutes that cover them from now (20 s into the minute + 50 s: two minutes) */
    timed_open(f, S1, 0, 50);
    assert_string_equal(f->out[0].cron, "43-44 3 15 11 *");
    assert_int_equal(fake_line_logged(&f->line, S1 "Qh", 0), -1); /* already held: the remembered state is kept */
    /* a window that crosses the hour is cut there; the rest is remembered */
    f->sl[0].clock = 1700000000LL + 10 * 60; /* 03:53:20 */
    timed_open(f, S1, 15, 0);
    assert_string_equal(f->out[0].cron, "53-59 3 15 11 *");
    s = nix1_door_find(f->door, &a1);
    assert_true(s->want_until_us - s->held_until_us >= 7 * 60 * 1000000LL);
    /* a slave whose clock was never set: refused, nothing changed */
    f->sl[1].clock = 86400;
    nix1_addr_t a2 = A(S2);
    timed_open(f, S2, 5, 0);
    assert_int_equal(f->failed, 1);
    assert_non_null(strstr(f->out[0].msg, "clock"));
    assert_int_equal(fake_line_logged(&f->line, S2 "Nh", 0), -1);
    assert_false(f->sl[1].has_cron);
    assert_false(nix1_door_find(f->door, &a2)->held);
    fx_free(f);
}

/* A restore reads the slave back: what differs is re-sent once, and a slave that does not take it fails. */
static void test_restore_reads_back(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    nix1_addr_t a2 = A(S2);
    add_both(f);
    emergency(f, true);
    f->sl[0].ignore_no = 1;  /* takes the second No */
    f->sl[1].ignore_no = -1; /* never takes No */
    emergency(f, false);
    assert_int_equal(f->ok, 1);
    assert_int_equal(f->failed, 1);
    assert_true(f->out[0].ok);
    assert_int_equal(f->out[0].resent, 1);
    assert_int_equal(f->sl[0].mode, 2);
    assert_false(f->out[1].ok);
    assert_non_null(strstr(f->out[1].msg, "after two restores"));
    assert_true(nix1_door_find(f->door, &a2)->in_emergency); /* still unlocked: the site says so */
    /* a slave already as remembered gets no set at all */
    f->sl[1].ignore_no = 0;
    f->sl[1].mode = 0;
    reset_run(f);
    assert_int_equal(nix1_door_restore_pending(f->door, on_report, f), 0);
    serve(f, &f->done, 30000000);
    assert_int_equal(f->ok, 1);
    assert_false(f->sl[1].has_cron); /* Dh went out in the failed round already */
    fx_free(f);
}

/* A slave that shows the open profile portier did not set is never remembered as its normal state. */
static void test_open_profile_not_remembered(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    nix1_addr_t a1 = A(S1);
    nix1_door_add(f->door, &a1);
    snprintf(f->sl[0].cron, sizeof f->sl[0].cron, "* * * * *");
    f->sl[0].mode = 1;
    reset_run(f);
    assert_int_equal(nix1_door_refresh(f->door, NULL, 0, on_report, f), 0);
    serve(f, &f->done, 10000000);
    assert_true(f->out[0].open_profile);
    assert_false(nix1_door_find(f->door, &a1)->known);
    /* an emergency restore then cannot guess: it says so and leaves the door open */
    nix1_addr_t a2 = A(S2);
    nix1_door_add(f->door, &a2);
    emergency(f, true);
    assert_int_equal(f->ok, 2);
    emergency(f, false);
    assert_false(f->out[0].ok);
    assert_non_null(strstr(f->out[0].msg, "previous state unknown"));
    assert_true(f->out[1].ok);
    assert_string_equal(f->sl[0].cron, "* * * * *");
    fx_free(f);
}

/* A door held before the emergency is held after it; its lock-outs come back; a release then restores it. */
static void test_hold_outlives_emergency(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    nix1_addr_t a1 = A(S1);
    add_both(f);
    hold_door(f, S1, true);
    emergency(f, true);
    assert_int_equal(f->sl[0].lock[1], 0);
    emergency(f, false);
    assert_int_equal(f->ok, 2);
    assert_string_equal(f->sl[0].cron, "* * * * *");
    assert_int_equal(f->sl[0].mode, 1);
    assert_int_equal(f->sl[0].lock[1], 1);
    assert_true(nix1_door_find(f->door, &a1)->held);
    hold_door(f, S1, false);
    assert_string_equal(f->sl[0].cron, "0-30 6 * * *");
    assert_int_equal(f->sl[0].mode, 2);
    fx_free(f);
}

/* Only the listed probes: their slaves are held open by unicast, the listed lock-outs lifted, and back. */
static void test_emergency_probes(void **state)
{
    (void)state;
    struct fx *f = fx_new();
    nix1_addr_t a[2] = { A(S2), A(S2) };
    unsigned p[2] = { 1, 1 };
    reset_run(f);
    assert_int_equal(nix1_door_emergency_probes(f->door, a, p, 2, true, false, on_report, f), 0);
    serve(f, &f->done, 10000000);
    assert_int_equal(f->n_out, 1);
    assert_int_equal(f->ok, 1);
    static const char *const on[] = { S2 "Qh", S2 "Qo", S2 "Ql1", S2 "Ql2", S2 "Nh* * * * *", S2 "No1", S2 "Nl1\t0" };
    expect_log(f, on, 7);
    assert_false(nix1_door_emergency_active(f->door)); /* not the bus-wide one */
    assert_true(nix1_door_emergency_left(f->door));
    reset_run(f);
    assert_int_equal(nix1_door_emergency_probes(f->door, a, p, 1, false, false, on_report, f), 0);
    serve(f, &f->done, 10000000);
    assert_int_equal(f->ok, 1);
    assert_false(f->sl[1].has_cron);
    assert_int_equal(f->sl[1].mode, 0);
    assert_int_equal(f->sl[1].lock[0], 1);
    assert_false(nix1_door_emergency_left(f->door));
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hold_release_remember_and_restore),
        cmocka_unit_test(test_release_without_cron_deletes_it),
        cmocka_unit_test(test_release_refused_during_emergency),
        cmocka_unit_test(test_emergency_broadcast_order_gaps_and_verify),
        cmocka_unit_test(test_emergency_unicast_resend_and_restore),
        cmocka_unit_test(test_emergency_now_unlocks_first),
        cmocka_unit_test(test_restore_unreachable_slave_when_back),
        cmocka_unit_test(test_restore_slave_back_quickly),
        cmocka_unit_test(test_state_save_load_roundtrip),
        cmocka_unit_test(test_emergency_write_ahead),
        cmocka_unit_test(test_interrupted_emergency_restored),
        cmocka_unit_test(test_store_failure),
        cmocka_unit_test(test_timed_open_on_slave_clock),
        cmocka_unit_test(test_restore_reads_back),
        cmocka_unit_test(test_open_profile_not_remembered),
        cmocka_unit_test(test_hold_outlives_emergency),
        cmocka_unit_test(test_emergency_probes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
