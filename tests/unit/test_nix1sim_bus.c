/* Unit tests for the simulated NiX1 line (sim/nix1sim_bus) on a fake clock, its TCP side read by the test: a
 * slave's reply takes its character time, and each line leaves whole even when the simulator runs late. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/loop.h"
#include "sim/nix1sim_bus.h"

struct fx {
    loop_t *loop;
    struct nix1sim_bus *bus;
    int cl; /* the master's end of the TCP line */
};

static void on_line(void *arg, const char *line, size_t len, unsigned flags)
{
    (void)arg;
    (void)line;
    (void)len;
    (void)flags;
}

static int setup(void **state)
{
    static struct fx f;
    memset(&f, 0, sizeof f);
    f.loop = loop_new_fake(1000000);
    assert_non_null(f.loop);
    f.bus = nix1sim_bus_new(f.loop, 9600, on_line, NULL);
    assert_non_null(f.bus);
    unsigned port = 0;
    assert_int_equal(nix1sim_bus_listen_tcp(f.bus, 0, &port), 0);
    f.cl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f.cl >= 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(f.cl, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(fcntl(f.cl, F_SETFL, O_NONBLOCK), 0);
    /* the simulator takes the connection in (the fake loop waits for fds with a zero timeout); the tests' final
     * reads prove it did */
    for (int i = 0; i < 10; i++) {
        loop_run_once(f.loop, 0);
        usleep(1000);
    }
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    close(f->cl);
    nix1sim_bus_free(f->bus);
    loop_free(f->loop);
    return 0;
}

/* Advance the fake clock by us, let the simulator run, and read what reached the master. */
static size_t advance_read(struct fx *f, uint64_t us, char *buf, size_t cap)
{
    loop_advance(f->loop, us);
    loop_run_once(f->loop, 0);
    size_t n = 0;
    for (int tries = 0; tries < 50; tries++) {
        ssize_t r = read(f->cl, buf + n, cap - 1 - n);
        if (r > 0) {
            n += (size_t)r;
            continue;
        }
        assert_true(r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        usleep(1000); /* loopback delivery is immediate, but give it a moment */
        if (tries > 5)
            break;
    }
    buf[n] = '\0';
    return n;
}

/* A 22-character reply at 9600 bd takes 22.9 ms: nothing of it is out before its last character is on the wire,
 * all of it is then; a late simulator (60 ms behind, longer than the master's inter-character timeout) still
 * writes the line at once, never a head that the master would drop as garbled. */
static void test_line_leaves_whole(void **state)
{
    struct fx *f = *state;
    const char *reply = "270100000000006B00Qb\t5\n";
    char buf[256];
    nix1sim_bus_transmit(f->bus, f, reply, strlen(reply));
    uint64_t cu = nix1sim_bus_char_us(f->bus);
    assert_int_equal(advance_read(f, cu * 10, buf, sizeof buf), 0);   /* 10 characters on the wire */
    assert_int_equal(advance_read(f, cu * 11, buf, sizeof buf), 0);   /* 21: the LF is not through yet */
    assert_int_equal(advance_read(f, cu * 1 + 60000, buf, sizeof buf), strlen(reply));
    assert_string_equal(buf, reply);
}

/* A multi-line reply: each line when its own end is on the wire, whole. */
static void test_lines_each_whole(void **state)
{
    struct fx *f = *state;
    const char *l1 = "270100000000006B04Qg\tA 1\n", *l2 = "270100000000006B04Qg\tB 2\n";
    char all[128], buf[256];
    snprintf(all, sizeof all, "%s%s", l1, l2);
    nix1sim_bus_transmit(f->bus, f, all, strlen(all));
    uint64_t cu = nix1sim_bus_char_us(f->bus);
    assert_int_equal(advance_read(f, cu * 12, buf, sizeof buf), 0);
    assert_int_equal(advance_read(f, cu * (strlen(l1) - 12), buf, sizeof buf), strlen(l1));
    assert_string_equal(buf, l1);
    assert_int_equal(advance_read(f, cu * 5, buf, sizeof buf), 0);
    /* late again: the second line arrives whole */
    assert_int_equal(advance_read(f, cu * strlen(l2) + 80000, buf, sizeof buf), strlen(l2));
    assert_string_equal(buf, l2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_line_leaves_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lines_each_whole, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
