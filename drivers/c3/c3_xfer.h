/* c3_xfer: the big-data transfer on a c3_session (spec §3.7). A request whose answer may come as a 0x0D header
 * is read chunk by chunk (READ_DATA), checked (length, CRC-32) and released (FREE_DATA); an upload goes
 * PREPARE_DATA, DATA chunks, HASH_DATA, FREE_DATA. A cut connection resumes where it stopped when the panel
 * answers the repeated request with the same header, else the transfer starts over; nothing is delivered twice. */
#ifndef PORTIER_C3_XFER_H
#define PORTIER_C3_XFER_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/c3/c3_session.h"

#define C3_XFER_MAX (16u << 20)       /* largest answer accepted (the firmware's buffer is 4 MB) */
#define C3_XFER_PUT_CHUNK 4096u       /* bytes per DATA request of an upload */
#define C3_XFER_PACKAGE 5120u         /* PREPARE_DATA package length sent (the firmware's default) */
#define C3_XFER_INLINE_MAX 4000u      /* a SET_DATA / DELETE_DATA body up to this size goes in one request */

struct c3_xfer;

/* Progress in bytes (total 0 while the size is not known yet). */
typedef void (*c3_xfer_progress_fn)(void *arg, size_t done, size_t total);
/* A get's answer so far, after each chunk that arrived (the next chunk is asked for already): data[0..len) is the
 * answer's first len bytes, valid during the call only; restarts counts the transfers started over from byte 0
 * (a new value: the bytes seen before belong to an answer that was abandoned). Not called for an inline answer. */
typedef void (*c3_xfer_chunk_fn)(void *arg, const uint8_t *data, size_t len, unsigned restarts);
/* The end: err 0 with the answer (inline or reassembled; valid during the call only), or an error. */
typedef void (*c3_xfer_done_fn)(void *arg, int err, const uint8_t *data, size_t len);

struct c3_xfer_opts {
    enum c3_prio prio;
    uint32_t timeout_ms;        /* per request; 0 = session default */
    uint32_t expire_ms;         /* the first request gives up after this long unanswered (0 = never) */
    unsigned max_restarts;      /* cuts, CRC mismatches and lost panel buffers tolerated; 0 = 5 */
    c3_xfer_progress_fn progress;
    void *progress_arg;
    c3_xfer_chunk_fn chunk;     /* optional: use the answer while the rest is in flight */
    void *chunk_arg;
};

struct c3_xfer_stats {
    unsigned restarts;          /* transfers started over from byte 0 */
    unsigned resumes;           /* transfers continued after a cut */
    size_t chunks;              /* READ_DATA / DATA requests answered */
    size_t bytes;               /* payload bytes moved */
};

/* Send cmd with payload; deliver the answer however it comes. Returns the transfer (owned by the module until
 * done has been called) or NULL with *err set. */
struct c3_xfer *c3_xfer_get(struct c3_session *s, uint8_t cmd, const void *payload, size_t len,
                            const struct c3_xfer_opts *o, c3_xfer_done_fn done, void *arg, int *err);
/* Upload data (a SET_DATA or DELETE_DATA body) through the big-data buffer; done gets no data. */
struct c3_xfer *c3_xfer_put(struct c3_session *s, uint8_t cmd, const void *data, size_t len,
                            const struct c3_xfer_opts *o, c3_xfer_done_fn done, void *arg, int *err);
/* A SET_DATA or DELETE_DATA body: in one request when it fits C3_XFER_INLINE_MAX, else through c3_xfer_put. */
struct c3_xfer *c3_xfer_write(struct c3_session *s, uint8_t cmd, const void *body, size_t len,
                              const struct c3_xfer_opts *o, c3_xfer_done_fn done, void *arg, int *err);
/* Stop caring: done will not be called. A request still queued is taken back (never sent); one on the wire is
 * awaited, the transfer freeing itself when it comes back. */
void c3_xfer_cancel(struct c3_xfer *x);
/* Free it now, only right before c3_session_free (which drops pending requests without callbacks). */
void c3_xfer_destroy(struct c3_xfer *x);
const struct c3_xfer_stats *c3_xfer_stats(const struct c3_xfer *x);

#endif
