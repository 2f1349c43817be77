/* server: portierd's Unix socket: accepts clients with their peer credentials, frames their JSON lines, and
 * gives each a bounded output queue (shared encoded messages; overflow → resync; stalls and abuse → bye). */
#ifndef PORTIER_DAEMON_SERVER_H
#define PORTIER_DAEMON_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/loop.h"
#include "core/proto.h"
#include "core/role.h"

#define SERVER_MAX_GROUPS 64

struct server;

/* One connection. Fields above the line are for the daemon's handlers; the rest belongs to server.c. */
struct client {
    struct server *srv;
    uint64_t no;                    /* connection number, for the log */
    pid_t pid;                      /* SO_PEERCRED */
    uid_t uid;
    gid_t gid;
    gid_t groups[SERVER_MAX_GROUPS];/* SO_PEERGROUPS (the peer's own supplementary groups) */
    size_t n_groups;
    char user[64];                  /* filled by on_accept */
    enum role max_role;             /* what the credentials give */
    enum role role;                 /* what this connection uses (max_role or less, asked in the hello) */
    bool readonly;
    bool hello;                     /* hello done: snapshot sent, stream running if wanted */
    bool stream;                    /* wants the change stream */
    bool catching_up;               /* being replayed from the journal, paced by its reading: the live stream
                                     * skips it meanwhile (a fresh snapshot follows if anything was skipped) */
    bool skipped;                   /* a stream message was skipped while catching up */
    int64_t last_sent_id;           /* newest journal event written to the socket completely */
    void *data;                     /* the handlers' per-client state */
    /* ---- server.c ---- */
    int fd;
    bool closing;                   /* bye queued: close once written */
    bool dead;                      /* closed; freed when no callback holds it */
    struct proto_lines in;
    int64_t in_since_us;            /* when the pending partial line began (0: none) */
    struct qent *q;                 /* ring of queued messages */
    size_t q_head, q_len, q_cap, q_off, q_bytes;
    bool resync;                    /* overflowed: waiting for the queue to drain, then a resync */
    char resync_reason[128];
    int64_t last_queued_id;         /* newest journal event queued, replayed or live: the stream never queues one
                                     * again (a batch is in the journal, where a replay reads it, before it is
                                     * broadcast) */
    int64_t *dropped;               /* request ids whose final answer was dropped */
    size_t n_dropped;
    bool paused;                    /* not reading requests (back-pressure) */
    bool want_write;
    bool in_flush_list;
    bool in_turn;                   /* complete lines read, waiting for their turn */
    struct client *turn_next;
    int64_t stalled_since_us;       /* queue not empty and nothing written since (0: not stalled) */
    int64_t accepted_us;
    struct client *next, *prev;
    struct client *flush_next;
};

struct server_handlers {
    /* A client connected (credentials filled). Fill user/max_role/role; false (with why) refuses it. */
    bool (*accept)(struct client *c, char *why, size_t whylen, void *arg);
    /* The client is registered: the place to greet it (the daemon speaks first). */
    void (*connected)(struct client *c, void *arg);
    /* One request line (a JSON object). The handler owns nothing: req is released after the call. */
    void (*request)(struct client *c, json_t *req, void *arg);
    /* The queue of a client that overflowed has drained: send the resync (server_send_resync_head first). */
    void (*resync)(struct client *c, const char *reason, const int64_t *dropped, size_t n_dropped, void *arg);
    /* A client catching up has read most of what was queued: queue the next part of the replay. */
    void (*drained)(struct client *c, void *arg);
    /* The client is gone (its struct stays valid until this returns; drop references to it). */
    void (*closed)(struct client *c, void *arg);
    void *arg;
};

struct server_opts {
    const char *path;               /* socket path */
    gid_t group;                    /* group of the socket file; (gid_t)-1 = leave */
    unsigned mode;                  /* 0660 */
    size_t max_clients;             /* 256 */
    size_t max_per_uid;             /* 64 */
    size_t queue_limit;             /* bytes per client, 8 MiB */
    size_t max_line;                /* PROTO_MAX_LINE */
    unsigned hello_timeout_ms;      /* 10 s */
    unsigned line_timeout_ms;       /* partial line, 30 s */
    unsigned stall_timeout_ms;      /* not reading while the queue is full, 60 s */
};

void server_opts_default(struct server_opts *o);
/* Bind and listen (an existing socket that answers is "in use"; a stale one is replaced). NULL with err. */
struct server *server_new(loop_t *loop, const struct server_opts *opts, const struct server_handlers *h, char *err,
                          size_t errlen);
/* Close every client (with bye reason if not NULL), the listener, and unlink the socket. */
void server_free(struct server *s, const char *reason);

/* Queue one message to one client. req_id > 0 with final = true marks the final answer of that request (listed in a
 * resync as dropped if it never got out); event_id > 0 marks a journal event (for resuming after a resync). */
void server_send(struct client *c, const json_t *msg, int64_t req_id, bool final, int64_t event_id);
/* The same bytes to every client that has said hello and wants the stream (encoded once); clients catching up
 * skip it (they read the journal, then get a fresh snapshot). */
void server_broadcast(struct server *s, const json_t *msg, int64_t event_id);
/* Send bye {reason} and close once it is written (or at once if the client does not read). */
void server_bye(struct client *c, const char *reason);

/* Bytes queued for a client and its queue's limit. */
size_t server_queued(const struct client *c);
size_t server_queue_limit(const struct server *s);

/* Iterate over live clients. */
struct client *server_first(struct server *s);
struct client *server_next(struct client *c);
size_t server_clients(const struct server *s);

struct server_stats {
    uint64_t clients;               /* connected now */
    uint64_t accepted, refused, closed, resyncs, bytes_out, lines_in, bad_lines;
};
void server_stats(const struct server *s, struct server_stats *st);

#endif
