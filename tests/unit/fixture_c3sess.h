/* The fake panel of the C3 session tests (test_c3_session, test_c3_session_req): the session under test on a
 * fake clock, each connection a socketpair whose far end the test reads and answers as the panel. */
#ifndef PORTIER_TEST_FIXTURE_C3SESS_H
#define PORTIER_TEST_FIXTURE_C3SESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "drivers/c3/c3_rtlog.h"
#include "drivers/c3/c3_session.h"
#include "fixture_c3frame.h"

#define MAX_OPENS 64

struct fx {
    loop_t *loop;
    struct c3_session *s;
    int peer;                   /* panel end of the current connection */
    int mine;                   /* the session's end of it */
    int old_peers[MAX_OPENS];
    int nopens;
    uint64_t open_at_us[MAX_OPENS];
    int refuse;                 /* open fails with -ECONNREFUSED */
    enum c3_state states[256];
    int nstates;
    struct c3_rt_record recs[64];
    int nrecs;
    int stale_changes;
    bool stale;
    struct fx_c3_rx rx;         /* panel side receive buffer */
};

/* A frame the session sent, as the panel sees it. */
struct seen {
    uint8_t raw[4096];
    size_t rawlen;
    uint8_t cmd;
    bool has_prefix;
    uint16_t sid, nr;
    uint8_t payload[4096];
    size_t plen;
    size_t declared; /* length field */
};

struct got {
    int calls;
    int err;
    uint8_t data[256];
    size_t len;
    int order;
};

/* A session of dialect d (password, poll interval as given) on a fake clock, with backoff_max_ms and probe_ms as
 * given; fx_new: 8 s and no probe, so the backoff schedule shows. */
struct fx *fx_new_backoff(enum c3_dialect d, const char *password, uint32_t poll_ms, uint32_t backoff_max_ms,
                          uint32_t probe_ms);
struct fx *fx_new(enum c3_dialect d, const char *password, uint32_t poll_ms);
void fx_free(struct fx *f);
/* A few loop turns at the current fake time. */
void pump(struct fx *f);

/* Read the next frame the session sent on the current connection; false if none is there. */
bool panel_recv(struct fx *f, bool session, struct seen *out);
void panel_send_raw(struct fx *f, const void *buf, size_t len);
void panel_reply(struct fx *f, bool session, uint16_t sid, uint16_t nr, uint8_t code, const void *payload,
                 size_t len);
void panel_error(struct fx *f, bool session, uint16_t sid, uint16_t nr, int err);
/* True when the session closed its end of the connection fd is the panel's end of. */
bool peer_closed(int fd);
/* got's first len bytes as lower-case hex equal hex. */
void hexeq(const uint8_t *got, size_t len, const char *hex);

/* Bring a session-mode session online with session id 0x8AD1. */
void online_session(struct fx *f);
/* A session of the AUTO dialect (poll_ms as given) brought online by online_session. */
struct fx *fx_online(uint32_t poll_ms);

/* A request's answer, for req_cb (arg = struct got *); order: the how-many-th answer of the program. */
extern int g_order;
void req_cb(struct c3_session *s, const struct c3_result *res, void *arg);
/* A get-params request for q with opts o (NULL: the defaults) submitted, answered into g; the frame the panel
 * received for it in *sn. */
void ask(struct fx *f, const char *q, const struct c3_request_opts *o, struct got *g, struct seen *sn);

#endif
