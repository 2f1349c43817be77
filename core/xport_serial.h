/* xport_serial: RS-485/RS-232 serial lines as xports (libserialport, with the termios fallback for ptys),
 * the RS-485 driver-direction modes (adapter, kernel TIOCSRS485, manual RTS) and the PORT opener for
 * a device path, a pseudo-terminal or tcp://HOST:PORT (raw TCP to a serial device server). */
#ifndef PORTIER_XPORT_SERIAL_H
#define PORTIER_XPORT_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "core/xport.h"

/* Who switches the RS-485 transceiver between transmit and receive. */
enum xport_rs485 {
    XPORT_RS485_AUTO = 0, /* the adapter does it (USB adapters with automatic direction control) */
    XPORT_RS485_KERNEL,   /* the UART driver does it (TIOCSRS485, RTS on send) */
    XPORT_RS485_RTS,      /* we do it: RTS high while sending, dropped once the UART has drained + guard */
};

struct xport_serial_opts {
    unsigned baud;           /* 1200 .. 230400; 0 = 9600 */
    enum xport_rs485 rs485;  /* ignored for tcp:// */
    unsigned guard_us;       /* RTS mode: time after the last stop bit before RTS drops; 0 = 300 µs */
};

/* "auto", "kernel" or "rts". Returns 0 or -1. */
int xport_rs485_parse(const char *s, enum xport_rs485 *out);
const char *xport_rs485_name(enum xport_rs485 m);

/* Open a serial device (8N1, no flow control, non-blocking). Pseudo-terminals and devices libserialport
 * refuses go through termios. loop is needed for the RTS mode's drain timer (may be NULL otherwise).
 * Returns 0, or a negative errno with a message in err. */
int xport_serial_open(struct xport *x, loop_t *loop, const char *path, const struct xport_serial_opts *o,
                      char *err, size_t errlen);

/* Open PORT: "tcp://HOST:PORT" (connect started: completion through xport_finish_open), or a device or
 * pty path. HOST is resolved here (may block on DNS: call at start-up). Returns 0 or negative errno + err. */
int xport_open_url(struct xport *x, loop_t *loop, const char *url, const struct xport_serial_opts *o,
                   char *err, size_t errlen);

/* True when x is a serial line this module opened (false for tcp://). */
bool xport_is_serial(const struct xport *x);
/* Change the line speed. -ENOTSUP for transports without a local UART (tcp://: change the device
 * server's setting instead), -EINVAL for an unsupported rate. */
int xport_serial_set_baud(struct xport *x, unsigned baud);
/* The configured speed (9600 for transports that are not serial lines: the bus default). */
unsigned xport_serial_baud(const struct xport *x);
/* RTS mode: true while the driver is enabled (bytes still leaving). Always false in other modes. */
bool xport_serial_transmitting(const struct xport *x);

/* Time on the wire for n characters of 10 bits (8N1) at baud, in µs. */
uint64_t xport_char_time_us(unsigned baud, size_t n);

#endif
