/* c3_session: one connection to one C3 panel as a state machine on the loop (spec c3-protocol.md §2, §4).
 * disconnected → connecting → handshake → online → backoff; one request in flight; priority queue; RT-log polling.
 * One file (about 1200 lines) on purpose: every transition reads and writes the same private state (queue, in-flight
 * request, timers, probe), and the state machine is easier to check whole than spread over files sharing a struct. */
#ifndef PORTIER_C3_SESSION_H
#define PORTIER_C3_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "core/tcp.h"
#include "core/xport.h"
#include "drivers/c3/c3_rtlog.h"

struct c3_session;

enum c3_state {
    C3_ST_DISCONNECTED, /* not started, or stopped */
    C3_ST_CONNECTING,   /* transport opening (TCP connect in progress) */
    C3_ST_HANDSHAKE,    /* 0x76 or 0x01 sent, waiting for the answer */
    C3_ST_ONLINE,
    C3_ST_BACKOFF,      /* waiting before the next attempt */
};
const char *c3_state_name(enum c3_state st);

enum c3_dialect {
    C3_DIALECT_AUTO,        /* 0x76; on -13 fall back to 0x01 on a fresh socket and remember it */
    C3_DIALECT_SESSION,     /* 0x76 only */
    C3_DIALECT_SESSIONLESS, /* 0x01 only */
};

enum c3_rtmode {
    C3_RTMODE_BINARY, /* 0x0B, 16-byte records */
    C3_RTMODE_KV,     /* 0x79, text; switched to for good when a 0x0B reply is not a multiple of 16 */
};

/* Lower value = served first. Operator commands jump ahead of routine polls. */
enum c3_prio { C3_PRIO_OPERATOR = 0, C3_PRIO_POLL = 1, C3_PRIO_COUNT = 2 };

/* Session-level result codes (panel errors are -1..-99, codec errors C3_E_*); c3_session_strerror() knows all. */
enum c3_session_err {
    C3_S_TIMEOUT = -2001,      /* no matching reply before the request deadline */
    C3_S_DISCONNECTED = -2002, /* the connection dropped while the request was in flight */
    C3_S_CANCELED = -2003,     /* the session was stopped */
    C3_S_EXPIRED = -2004,      /* the request waited longer than its expiry without being answered */
    C3_S_NOMEM = -2005,
    C3_S_INVALID = -2006,      /* bad argument (payload too long, ...) */
    C3_S_PROTOCOL = -2007,     /* the panel's answer makes no sense (e.g. 0x76 OK without session id) */
    C3_S_CONNECT = -2008,      /* the transport could not be opened; details in c3_session_last_error() */
};
const char *c3_session_strerror(int err);

struct c3_result {
    int err;               /* 0, a panel error (-1..-99), a C3_E_* or a C3_S_* code */
    uint8_t code;          /* reply code when the panel answered (C8 / C9 / 0D), else 0 */
    const uint8_t *data;   /* reply payload after the session prefix (valid during the callback only) */
    size_t len;
    uint64_t rtt_us;       /* request written → reply received, when answered */
};
typedef void (*c3_req_cb)(struct c3_session *s, const struct c3_result *res, void *arg);

struct c3_request_opts {
    enum c3_prio prio;
    uint32_t timeout_ms; /* reply deadline after sending; 0 = the session's request_timeout_ms */
    uint8_t retries;     /* resend after a timeout or a dropped connection (only for idempotent requests) */
    uint32_t expire_ms;  /* fail with C3_S_EXPIRED if not answered this long after submission; 0 = never */
    void (*drop)(void *arg); /* called instead of the callback when the session is freed with the request still
                              * pending (its owner is going away): frees what arg holds; NULL = nothing to free */
};

/* Opens a fresh transport (connect in progress is fine: xport_finish_open reports completion).
 * Returns 0 or a negative errno, with a message in err. */
typedef int (*c3_open_fn)(void *arg, struct xport *x, char *err, size_t errlen);

struct c3_session_config {
    struct tcp_addr addr;          /* used when open is NULL */
    c3_open_fn open;               /* custom transport (tests, serial); NULL = TCP to addr */
    void *open_arg;
    const char *password;          /* communication password (copied); NULL or "" = none */
    enum c3_dialect dialect;
    uint8_t address;               /* request address byte; 0 = C3_ADDRESS_DEFAULT */
    uint32_t connect_timeout_ms;   /* 0 = 3000 */
    uint32_t handshake_timeout_ms; /* 0 = request_timeout_ms */
    uint32_t request_timeout_ms;   /* 0 = 2000 */
    uint32_t backoff_min_ms;       /* 0 = 500 */
    uint32_t backoff_max_ms;       /* 0 = 30000 */
    /* While backing off after a failure below the protocol (refused, unreachable, no answer to the TCP
     * connect, link lost), a bare TCP connect every probe_ms: a panel that accepts again is taken at once
     * (the handshake starts) instead of after the rest of the backoff. Not after a failed handshake (a
     * panel that accepts but refuses gets no handshake every second). 0 = 1000. */
    uint32_t probe_ms;
    uint32_t max_timeouts;         /* consecutive timeouts that count as a dead link; 0 = 3 */
    uint32_t poll_interval_ms;     /* RT-log poll period once a status record arrived; 0 = no polling */
    uint32_t stale_after_ms;       /* no RT-log answer for this long → stale; 0 = 3 × poll + request timeout */
    uint64_t seed;                 /* backoff jitter; 0 = from the clock */
};

struct c3_session_callbacks {
    /* Every state change; err says why the session left ONLINE/HANDSHAKE/CONNECTING (0 otherwise). */
    void (*state)(struct c3_session *s, enum c3_state st, int err, void *arg);
    /* Every RT-log record (events and door/alarm status records), in arrival order. */
    void (*record)(struct c3_session *s, const struct c3_rt_record *rec, void *arg);
    /* The stale flag changed. */
    void (*stale)(struct c3_session *s, bool stale, void *arg);
    /* Raw frames (tx = true for sent), for -v tracing. */
    void (*trace)(struct c3_session *s, bool tx, const uint8_t *frame, size_t len, void *arg);
    void *arg;
};

struct c3_session_stats {
    uint64_t requests;     /* requests written (including handshakes and polls) */
    uint64_t replies;      /* replies matched to a request */
    uint64_t panel_errors; /* C9 replies */
    uint64_t timeouts;     /* request deadlines missed */
    uint64_t desyncs;      /* replies discarded: wrong number or session id, or nothing in flight */
    uint64_t bad_frames;   /* CRC/end-byte errors and malformed replies */
    uint64_t junk_bytes;   /* bytes skipped while looking for a frame */
    uint64_t connects;     /* successful handshakes */
    uint64_t reconnects;   /* connection attempts after the first */
    uint64_t probes;       /* TCP connect probes while backing off */
    uint64_t fallbacks;    /* 0x76 → 0x01 fallbacks */
    uint64_t auth_failures;/* -14 answers to a connect */
    uint64_t polls;        /* RT-log polls answered */
    uint64_t records;      /* RT-log records delivered */
    uint64_t rtt_count, rtt_sum_us, rtt_min_us, rtt_max_us, rtt_last_us;
};

struct c3_session *c3_session_new(loop_t *loop, const struct c3_session_config *cfg,
                                  const struct c3_session_callbacks *cbs);
/* Do not call from a session callback; stop first if a polite disconnect is wanted. */
void c3_session_free(struct c3_session *s);

/* Begin connecting (from DISCONNECTED). Reconnects forever after that until c3_session_stop(). */
void c3_session_start(struct c3_session *s);
/* Send a disconnect (0x02) when online, then close; queued requests fail with C3_S_CANCELED.
 * The state callback reports C3_ST_DISCONNECTED when done. */
void c3_session_stop(struct c3_session *s);

/* Queue a request (payload copied). Requests wait across reconnects until answered, failed or expired.
 * Returns a request id (> 0) or a negative C3_S_* code. cb may be NULL. */
long long c3_session_submit(struct c3_session *s, uint8_t cmd, const void *payload, size_t len,
                            const struct c3_request_opts *opts, c3_req_cb cb, void *arg);

/* Take back a request that is still queued (not written yet): it is never sent and its callback is not called.
 * False when it is on the wire (its answer is awaited as usual) or already finished. */
bool c3_session_withdraw(struct c3_session *s, long long id);

/* Hold RT-log polling (and the stale timer) until released: an owner that must read something first after a
 * connect (catch-up) holds polls before c3_session_start and releases them when done; it holds them again
 * from its state callback when the link goes down. Releasing while online polls at once. */
void c3_session_hold_polls(struct c3_session *s, bool hold);

enum c3_state c3_session_state(const struct c3_session *s);
bool c3_session_stale(const struct c3_session *s);
bool c3_session_sessionful(const struct c3_session *s); /* the current/last connection uses 0x76 */
enum c3_rtmode c3_session_rtmode(const struct c3_session *s);
const struct c3_session_stats *c3_session_stats(const struct c3_session *s);
/* The last failure as text ("connection refused", "wrong communication password (-14)", ...), "" if none. */
const char *c3_session_last_error(const struct c3_session *s);
/* The last failure as a code (negative errno for transport errors, panel/C3_S_* codes otherwise). */
int c3_session_last_error_code(const struct c3_session *s);
const char *c3_session_describe(const struct c3_session *s); /* the transport description */

/* Backoff delay for the n-th consecutive failed attempt (0-based): uniform in [base/2, base] with
 * base = min(max_ms, min_ms · 2^n); r is a uniform random 64-bit value. Pure; exposed for tests. */
uint32_t c3_backoff_delay_ms(uint32_t attempt, uint32_t min_ms, uint32_t max_ms, uint64_t r);

#endif
