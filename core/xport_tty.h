/* xport_tty: a serial line opened with plain termios (raw 8N1, no flow control, non-blocking): the fallback
 * for paths libserialport refuses, such as pseudo-terminals, and the baud-rate helpers both serial paths use. */
#ifndef PORTIER_XPORT_TTY_H
#define PORTIER_XPORT_TTY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/xport.h"

/* The termios speed constant for a baud rate, or 0 when the rate is not a standard one. */
unsigned xport_tty_speed(unsigned baud);

/* Put an open tty fd into raw 8N1 at baud with no flow control (CLOCAL, no CRTSCTS, no XON/XOFF).
 * Returns 0 or a negative errno (-EINVAL for an unsupported baud rate). */
int xport_tty_configure(int fd, unsigned baud);

/* Change only the speed (both directions) of a configured tty. Returns 0 or a negative errno. */
int xport_tty_set_baud(int fd, unsigned baud);

/* Open path (O_NONBLOCK, O_NOCTTY, close-on-exec), configure it and fill x with the line's ops (xport_tty_read,
 * plain-fd write and close). Returns 0, or a negative errno with a message in err. */
int xport_tty_open(struct xport *x, const char *path, unsigned baud, char *err, size_t errlen);

/* The read op of a raw line, in the ops' convention (would-block is 0, end -ECONNRESET). A raw line (VMIN 0,
 * VTIME 0) reads 0 bytes, not EAGAIN, when nothing is there: after a read that filled the buffer with exactly what
 * had come, or after poll said readable and the input was flushed. That is 0, not an end; only a line that hung
 * up (the device gone, a pty's other side closed) has ended. */
ssize_t xport_tty_read(struct xport *x, void *buf, size_t len);

/* True when path names a pseudo-terminal slave (/dev/pts/N or a symlink to one). */
bool xport_tty_is_pty(const char *path);

#endif
