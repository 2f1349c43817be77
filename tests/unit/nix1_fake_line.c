/* nix1_fake_line: the NiX1 unit tests' fake RS-485 line: a socketpair between a bus master on a fake clock
 * and the test, which reads the master's request lines and answers them as scripted slaves. */
#include "tests/unit/nix1_fake_line.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/xport.h"

void fake_line_open(struct fake_line *fl)
{
    memset(fl, 0, sizeof *fl);
    fl->loop = loop_new_fake(1000000);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    struct xport x;
    xport_init(&x, &xport_fd_ops, sv[0], NULL, "fake line");
    fl->peer = sv[1];
    fl->master = sv[0];
    fl->bus = nix1_bus_new(fl->loop, &x, NULL);
    assert_non_null(fl->bus);
}

void fake_line_close(struct fake_line *fl)
{
    nix1_bus_free(fl->bus);
    fake_line_hang_up(fl);
    loop_free(fl->loop);
}

void fake_line_hang_up(struct fake_line *fl)
{
    if (fl->peer >= 0)
        close(fl->peer);
    fl->peer = -1;
}

void fake_line_pump(struct fake_line *fl)
{
    for (int i = 0; i < 50; i++)
        if (loop_run_once(fl->loop, 0) <= 0)
            break;
}

void fake_line_advance(struct fake_line *fl, uint64_t us)
{
    while (us > 0) {
        uint64_t step = us > 1000 ? 1000 : us;
        loop_advance(fl->loop, step);
        fake_line_pump(fl);
        us -= step;
    }
}

const char *fake_line_next_req(struct fake_line *fl)
{
    fake_line_pump(fl);
    ssize_t n = read(fl->peer, fl->rx + fl->rx_len, sizeof fl->rx - fl->rx_len - 1);
    if (n > 0)
        fl->rx_len += (size_t)n;
    char *nl = memchr(fl->rx, '\n', fl->rx_len);
    if (!nl)
        return NULL;
    size_t len = (size_t)(nl - fl->rx);
    assert_true(len < sizeof fl->req);
    memcpy(fl->req, fl->rx, len);
    fl->req[len] = 0;
    memmove(fl->rx, nl + 1, fl->rx_len - len - 1);
    fl->rx_len -= len + 1;
    return fl->req;
}

void fake_line_drain(struct fake_line *fl, fake_line_answer_fn *answer, void *arg)
{
    const char *l;
    while ((l = fake_line_next_req(fl))) {
        char copy[sizeof fl->req];
        snprintf(copy, sizeof copy, "%s", l);
        if (fl->nlog < FAKE_LINE_LOG) {
            snprintf(fl->log[fl->nlog], sizeof fl->log[0], "%s", copy);
            fl->log_us[fl->nlog++] = loop_now_us(fl->loop);
        }
        answer(arg, copy);
        fake_line_pump(fl);
    }
}

nix1_addr_t fake_line_addr(const char *hex)
{
    nix1_addr_t a;
    assert_int_equal(nix1_addr_parse_str(hex, &a), 0);
    return a;
}

int fake_line_logged(const struct fake_line *fl, const char *line, int from)
{
    for (int i = from < 0 ? 0 : from; i < fl->nlog; i++)
        if (strcmp(fl->log[i], line) == 0)
            return i;
    return -1;
}

void fake_line_serve(struct fake_line *fl, fake_line_answer_fn *answer, void *arg, const bool *done, uint64_t max_us)
{
    for (uint64_t t = 0; t <= max_us && !*done; t += 1000) {
        fake_line_drain(fl, answer, arg);
        if (*done)
            return;
        fake_line_advance(fl, 1000);
    }
}

void fake_line_vsay(struct fake_line *fl, const char *fmt, va_list ap)
{
    char buf[1200];
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    assert_true(n >= 0 && (size_t)n < sizeof buf - 1);
    buf[n++] = '\n';
    assert_int_equal(write(fl->peer, buf, (size_t)n), n);
}

void fake_line_say(struct fake_line *fl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fake_line_vsay(fl, fmt, ap);
    va_end(ap);
}
