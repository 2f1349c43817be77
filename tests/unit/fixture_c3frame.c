#include "fixture_c3frame.h"

#include <setjmp.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cmocka.h>
#include <errno.h>

int fx_c3_pair(struct xport *x, const char *desc)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    xport_init(x, &xport_fd_ops, sv[0], NULL, "%s", desc);
    return sv[1];
}

size_t fx_c3_next_frame(int fd, struct fx_c3_rx *rx, uint8_t *raw, size_t cap, struct c3_frame *fr)
{
    for (;;) {
        ssize_t n = recv(fd, rx->buf + rx->len, sizeof rx->buf - rx->len, 0);
        if (n <= 0)
            break;
        rx->len += (size_t)n;
    }
    struct c3_scan sc;
    c3_frame_scan(rx->buf, rx->len, 0, &sc);
    if (sc.status != C3_SCAN_FRAME)
        return 0;
    assert_true(sc.n <= cap);
    memcpy(raw, rx->buf, sc.n);
    assert_int_equal(c3_frame_parse(raw, sc.n, fr), 0);
    memmove(rx->buf, rx->buf + sc.n, rx->len - sc.n);
    rx->len -= sc.n;
    return sc.n;
}
