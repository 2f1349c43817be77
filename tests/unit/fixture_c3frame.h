/* fixture_c3frame: what the C3 unit tests that play the panel on a socketpair share: the connection a session's
 * open gets, and the frames the session sent, read whole from the panel's end of it. */
#ifndef PORTIER_TESTS_FIXTURE_C3FRAME_H
#define PORTIER_TESTS_FIXTURE_C3FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "core/xport.h"
#include "drivers/c3/c3_frame.h"

/* A connection for a session's open (c3_session_config.open): a non-blocking socketpair, the session's end in x
 * (described as desc), the panel's end returned; -errno when it cannot be made, x untouched. */
int fx_c3_pair(struct xport *x, const char *desc);

/* What the panel's end has read and not yet taken as frames. */
struct fx_c3_rx {
    uint8_t buf[70000];
    size_t len;
};

/* The next whole frame the session sent to fd (what fd holds is read into rx first; the frame is taken out of rx),
 * copied to raw (cap bytes: the test fails on a longer frame) and parsed into *fr, whose data points into raw. The
 * frame's length; 0 when rx holds no whole frame. */
size_t fx_c3_next_frame(int fd, struct fx_c3_rx *rx, uint8_t *raw, size_t cap, struct c3_frame *fr);

#endif
