/* remote: the client side of portierd (doc/protocol.md): connect, hello, a mirror struct site kept current from the
 * snapshot and the change stream, requests with progress, and reconnect + resume by itself. Consoles and portierctl. */
#ifndef PORTIER_CLIENT_REMOTE_H
#define PORTIER_CLIENT_REMOTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/action.h"
#include "core/loop.h"
#include "core/proto.h"
#include "core/site.h"

#define REMOTE_DEFAULT_SOCKET "/run/portier/portier.sock"

struct remote;

enum remote_state {
    REMOTE_DOWN,        /* not connected (see the reason); reconnecting if asked to */
    REMOTE_CONNECTING,  /* connected, hello sent, waiting for the snapshot */
    REMOTE_UP,          /* snapshot applied and replay done ("synced"): the mirror is current */
};

struct remote_opts {
    const char *socket;          /* path; NULL = REMOTE_DEFAULT_SOCKET */
    const char *client;          /* "portierctl 0.1.0", for the daemon's log */
    bool readonly;               /* ask for the guard role only */
    int role;                    /* ask for at most this role (enum role); -1 = what the daemon gives */
    unsigned journal_rows;       /* scroll-back on the first connection (0..1000) */
    bool stream;                 /* the change stream (false: snapshot and answers only) */
    bool reconnect;              /* reconnect with back-off after a loss, and resume from the last event */
};

struct remote_handlers {
    /* Connection state: REMOTE_DOWN with why (the daemon's bye, a refused connect...), REMOTE_UP once synced. */
    void (*state)(struct remote *r, enum remote_state st, const char *why, void *arg);
    /* A snapshot was applied. replaced: the mirror is a new struct site (its shape changed: a reload of the
     * owner's configuration), and the previous pointer is gone; otherwise the same mirror was updated in place. */
    void (*snapshot)(struct remote *r, struct site *mirror, bool replaced, void *arg);
    /* Every event also goes through the mirror's event bus (subscribers see it as from an owner's journal). */
    void (*notice)(struct remote *r, const char *level, const char *text, void *arg);
    void (*emergency)(struct remote *r, const struct proto_emergency *e, void *arg);
    void (*ack)(struct remote *r, int64_t event_id, const char *by, void *arg);
    /* Any client's action (run numbers are the daemon's). */
    void (*action)(struct remote *r, const struct action_run *run, uint64_t run_no, bool finished, void *arg);
    /* Events were not replayed after a long absence: ids from..to are in the journal only. */
    void (*missed)(struct remote *r, int64_t from, int64_t to, void *arg);
    void *arg;
};

struct remote *remote_new(loop_t *loop, const struct remote_opts *opts, const struct remote_handlers *h);
/* Close (requests in flight get a final failure) and free; the mirror site is freed too. */
void remote_free(struct remote *r);
/* Connect now. 0 when connected (the hello follows by itself), -1 with err when the socket cannot be reached (with
 * reconnect on, retries follow anyway). */
int remote_connect(struct remote *r, char *err, size_t errlen);

enum remote_state remote_state(const struct remote *r);
/* The mirror (NULL before the first snapshot). Its actions and slave reads go to the daemon (site->remote). */
struct site *remote_site(struct remote *r);
/* Who the daemon says we are. */
const char *remote_user(const struct remote *r);
enum role remote_role(const struct remote *r);
const char *remote_server(const struct remote *r);   /* "portierd 0.1.0" */
const struct proto_emergency *remote_emergency(const struct remote *r);
/* The newest journal event id received (what a reconnect resumes from). */
int64_t remote_last_id(const struct remote *r);
/* The open alarms of the last snapshot (kept current by acks and alarm events). */
const struct event *remote_alarms(const struct remote *r, size_t *n);

/* ---- requests ----
 * cb gets every answer message of the request: progress and rows (final false), then the result (final true,
 * always exactly once: also when the connection is lost or the answer was dropped in a resync, as a result with
 * status "error"). msg is borrowed. */
typedef void (*remote_answer_fn)(struct remote *r, const json_t *msg, bool final, void *arg);
/* Send req (an object with "op"; consumed). Returns the request id (> 0), or -1 when not connected (cb is not called). */
int64_t remote_request(struct remote *r, json_t *req, remote_answer_fn cb, void *arg);
/* One answer of portierd to an action request of id (its progress or its final message) as a run on the site r
 * mirrors: an answer that cannot be read is a failed run saying why; a final "error" answer, or a final one still
 * pending, is a failed run. Free it with proto_run_free. */
void remote_action_run(struct remote *r, const json_t *msg, bool final, enum action_id id, struct action_run *run);
/* Run a loop until the request answered (or timeout_ms): for one-shot clients. The final message (new reference)
 * or NULL on timeout; progress/rows go to cb if not NULL. */
json_t *remote_call(struct remote *r, json_t *req, remote_answer_fn cb, void *arg, unsigned timeout_ms);
/* Run the loop until the mirror is up (synced) or timeout_ms; 0 or -1 with why. */
int remote_wait_up(struct remote *r, unsigned timeout_ms, char *why, size_t whylen);

#endif
