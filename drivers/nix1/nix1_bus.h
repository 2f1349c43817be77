/* nix1_bus: the half-duplex NiX1 RS-485 bus master (spec §5.1, §5.6, §5.10): one transaction at a time,
 * the spec's timeouts, gaps and retries, a priority queue, round-robin polling of each slave's log (nix1_reader)
 * with per-slave backoff. */
#ifndef PORTIER_NIX1_BUS_H
#define PORTIER_NIX1_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "core/xport.h"
#include "core/xport_serial.h"
#include "drivers/nix1/nix1_addr.h"

typedef struct nix1_bus nix1_bus_t;

/* Queue priority: operator commands jump ahead of configuration work, which jumps ahead of polling.
 * Priorities act at transaction boundaries only: a transaction on the wire is never interrupted. */
enum nix1_prio { NIX1_PRIO_OPERATOR = 0, NIX1_PRIO_CONFIG = 1, NIX1_PRIO_POLL = 2 };

enum nix1_status {
    NIX1_ST_REPLY = 0, /* the slave answered; rc holds its code (which may be an error) */
    NIX1_ST_SENT,      /* broadcast on the wire; broadcasts are never answered */
    NIX1_ST_TIMEOUT,   /* no valid answer after the allowed attempts */
    NIX1_ST_BUSY,      /* the slave answered 16 (busy) for longer than the busy limit */
    NIX1_ST_IO,        /* the transport failed */
    NIX1_ST_CANCELLED, /* cancelled or the bus was freed before it ran */
};
const char *nix1_status_str(enum nix1_status s);

struct nix1_result {
    long id;
    enum nix1_status status;
    uint8_t rc;            /* REPLY: the code of the (final) reply line; BUSY: 0x16 */
    nix1_addr_t from;      /* REPLY: the replier (the real address for scratch requests) */
    const char *payload;   /* REPLY: single-line payload after the TAB ("" if none), NUL-terminated */
    size_t payload_len;
    const char *const *lines; /* multi-line commands (Qg, Qi): the data lines, NUL-terminated */
    size_t nlines;
    unsigned attempts;     /* lines sent for this request (1 + retries + busy retries) */
    uint64_t elapsed_us;   /* submit to completion */
    const char *error;     /* human text for TIMEOUT/BUSY/IO/CANCELLED, else NULL */
};

typedef void (*nix1_done_cb)(nix1_bus_t *bus, const struct nix1_result *res, void *arg);

enum {
    NIX1_REQF_NO_RETRY = 1u, /* never resend (the caller owns recovery, e.g. Ny packets) */
    NIX1_REQF_YIELD = 2u,    /* let one due poll go first (a long run of such requests never stops polling) */
};

struct nix1_request_spec {
    nix1_addr_t addr;   /* a slave, nix1_addr_broadcast or nix1_addr_scratch */
    char cmd, arg;
    const char *opt;    /* option text, fields joined by TAB; NULL or "" = none */
    enum nix1_prio prio;
    unsigned flags;     /* NIX1_REQF_* */
    unsigned timeout_ms; /* 0 = the command's class (1000 / 5000 ms) */
    const char *raw;    /* if set: everything after the address as typed (TAB allowed), sent unchecked
                         * except for printability and the 320-char limit; cmd/arg/opt are ignored and
                         * the reply is matched on raw[0], raw[1] ('?' when missing) */
};

struct nix1_bus_config {
    unsigned idle_gap_us;        /* after a reply or a timeout, before the next request (5 ms) */
    unsigned bcast_gap_us;       /* after a broadcast (100 ms) */
    unsigned bcast_long_gap_us;  /* after a broadcast Nz, Ds, Nt (500 ms) */
    unsigned interchar_ms;       /* silence inside a line that drops it (50 ms) */
    unsigned line_gap_ms;        /* between the lines of a multi-line reply (1000 ms) */
    unsigned busy_retry_ms;      /* resend interval on 16 (500 ms) */
    unsigned busy_max_ms;        /* give up on 16 after (60 s) */
    unsigned retries;            /* extra attempts for idempotent commands on timeout or NAK (2) */
    unsigned offline_after;      /* consecutive failed transactions that mark a slave offline (2) */
    unsigned backoff_min_ms;     /* first poll backoff of a failing slave (1 s) */
    unsigned backoff_max_ms;     /* longest poll backoff (60 s) */
    unsigned poll_burst;         /* entries read from one slave before moving on even without 04 (32) */
    unsigned reopen_max_ms;      /* longest wait between transport reopen attempts (30 s) */
    bool log_resync_first;       /* begin each slave's log by reading the line before its position again (a
                                  * process that crashed may not have stored it; the journal drops it if it did) */
};
void nix1_bus_config_default(struct nix1_bus_config *c);

enum nix1_slave_state { NIX1_SLAVE_UNKNOWN = 0, NIX1_SLAVE_ONLINE, NIX1_SLAVE_OFFLINE };
const char *nix1_slave_state_str(enum nix1_slave_state s);

/* Observers (all optional). Several may be registered (up to 8). */
struct nix1_bus_listener {
    /* One ACCESS line read by polling (the ACCESS line fields), exactly once: lines read again after a lost reply
     * are dropped (nix1_reader). */
    void (*access)(void *arg, const nix1_addr_t *slave, const char *line, size_t len);
    /* A slave went online or offline. */
    void (*slave_state)(void *arg, const nix1_addr_t *slave, enum nix1_slave_state st);
    /* A poll answered an error code (61 clock not set, 4C, 7B ...). */
    void (*poll_error)(void *arg, const nix1_addr_t *slave, uint8_t rc);
    /* An ACCESS entry may be lost and says why (a reply lost while reading an earlier day's log). */
    void (*gap)(void *arg, const nix1_addr_t *slave, const char *text);
    /* Every line sent (tx) or received (rx), without the terminator; for -v traces. */
    void (*trace)(void *arg, bool tx, const char *line, size_t len);
    /* The transport failed (err < 0) or (re)opened (err == 0). */
    void (*transport)(void *arg, int err, const char *msg);
    void *arg;
};

struct nix1_slave_info {
    nix1_addr_t addr;
    enum nix1_slave_state state;
    unsigned fails;          /* consecutive failed transactions */
    uint64_t last_seen_us;   /* loop time of the last valid reply, 0 = never */
    uint64_t next_poll_us;   /* backoff: not polled before this loop time */
    unsigned long entries, duplicates, polls, timeouts;
};

struct nix1_bus_stats {
    unsigned long tx_lines, rx_lines, timeouts, retries, naks, busy, garbled, stale, broadcasts;
    uint64_t tx_chars, rx_chars; /* useful characters including terminators */
};

/* Take over an open transport (the bus closes it when freed). The transport may still be opening
 * (tcp://): requests wait until it is ready. */
nix1_bus_t *nix1_bus_new(loop_t *loop, struct xport *x, const struct nix1_bus_config *cfg);
/* Open PORT (device, pty or tcp://HOST:PORT) and reopen it with backoff if it fails later. Returns NULL
 * with a message in err. */
nix1_bus_t *nix1_bus_open(loop_t *loop, const char *port, const struct xport_serial_opts *so,
                          const struct nix1_bus_config *cfg, char *err, size_t errlen);
/* A bus that another master carries (portierctl through portierd, which owns the line): no transport, no polling
 * and no retries here. Each request, one at a time in queue order, goes to send (the line after the address, as
 * the wire would carry it); its answer comes back through nix1_bus_relay_done. send returns 0, or -1 (the request
 * completes with NIX1_ST_IO and why). */
struct nix1_bus_relay {
    int (*send)(void *arg, long id, const nix1_addr_t *addr, const char *line, unsigned timeout_ms, char *why,
                size_t whylen);
    void *arg;
};
nix1_bus_t *nix1_bus_new_relay(loop_t *loop, const struct nix1_bus_relay *relay);
/* The answer to request id of a relay bus (res->id is ignored; lines and payload are copied). */
void nix1_bus_relay_done(nix1_bus_t *bus, long id, const struct nix1_result *res);
/* Completes everything pending with NIX1_ST_CANCELLED, closes the transport. */
void nix1_bus_free(nix1_bus_t *bus);

int nix1_bus_add_listener(nix1_bus_t *bus, const struct nix1_bus_listener *l);
void nix1_bus_remove_listener(nix1_bus_t *bus, const struct nix1_bus_listener *l);

/* Queue a request. Returns its id (> 0), or a negative NiX1 code refused locally without touching the
 * wire: -0x64 (ERROR_NOBROADCAST) for a broadcast of a non-broadcastable command, -0x50 (ERROR_PARAM)
 * for a line that cannot be encoded (non-printable option, over 320 chars, bad cmd/arg letter).
 * cb is always called later from the loop, never from inside this call. */
long nix1_bus_submit(nix1_bus_t *bus, const struct nix1_request_spec *req, nix1_done_cb cb, void *arg);
/* Remove a queued request that is not on the wire yet; its callback runs with NIX1_ST_CANCELLED.
 * Returns false if unknown or already in flight. */
bool nix1_bus_cancel(nix1_bus_t *bus, long id);
/* Nothing queued and nothing on the wire (polling aside). */
bool nix1_bus_idle(const nix1_bus_t *bus);

/* Known slaves: polled round-robin with Qe when polling is on. */
int nix1_bus_add_slave(nix1_bus_t *bus, const nix1_addr_t *a);
bool nix1_bus_remove_slave(nix1_bus_t *bus, const nix1_addr_t *a);
size_t nix1_bus_slave_count(const nix1_bus_t *bus);
bool nix1_bus_slave_info(const nix1_bus_t *bus, size_t i, struct nix1_slave_info *out);
/* State of one slave (UNKNOWN when not known). */
enum nix1_slave_state nix1_bus_slave_state(const nix1_bus_t *bus, const nix1_addr_t *a);
void nix1_bus_set_polling(nix1_bus_t *bus, bool on);
/* Rewind a slave's log reader before its next poll (sends Ne<k>, k = 0: only new entries). */
void nix1_bus_poll_rewind(nix1_bus_t *bus, const nix1_addr_t *a, unsigned k);

/* Switch the local line speed (after Nz). -ENOTSUP for tcp://. */
int nix1_bus_set_baud(nix1_bus_t *bus, unsigned baud);
unsigned nix1_bus_baud(const nix1_bus_t *bus);
/* Line time of n characters at the current speed, µs. */
uint64_t nix1_bus_char_time_us(const nix1_bus_t *bus, size_t n);

void nix1_bus_stats(const nix1_bus_t *bus, struct nix1_bus_stats *out);
const char *nix1_bus_desc(const nix1_bus_t *bus);
loop_t *nix1_bus_loop(const nix1_bus_t *bus);

#endif
