/* jqueue: the journal's write-behind queue: events and audit rows that could not be stored yet, in order and
 * bounded; what did not fit is counted (how many, first and last time) in place. Pure: no SQLite, no clock. */
#ifndef PORTIER_JQUEUE_H
#define PORTIER_JQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/journal.h"

enum jq_kind {
    JQ_EVENT,   /* an event to insert */
    JQ_AUDIT,   /* an audit row to insert; rec.id is its provisional handle (< 0) */
    JQ_FINISH,  /* the completion of an audit row already stored (fin.id > 0) */
    JQ_LOSS,    /* what did not fit here: one "not stored" row */
};

/* What could not be kept: counts and the span of host times. */
struct jq_loss {
    uint64_t events, audits;
    int64_t first_us, last_us;
};

struct jq_finish {
    int64_t id;
    char result[16];
    char detail[1024];
    int64_t done_us;
};

/* One waiting item; the pointer of its kind is set (allocated only as large as the kind needs). */
struct jq_item {
    enum jq_kind kind;
    uint32_t key_hash;        /* JQ_EVENT with a dedup key: a hash of it (0 = no key) */
    struct event *ev;         /* JQ_EVENT */
    struct audit_record *rec; /* JQ_AUDIT */
    struct jq_finish *fin;    /* JQ_FINISH */
    struct jq_loss loss;      /* JQ_LOSS */
};

struct jqueue;

/* A queue that keeps at most max_events events and max_audits audit rows and completions. NULL when out of
 * memory. */
struct jqueue *jq_new(size_t max_events, size_t max_audits);
void jq_free(struct jqueue *q);

/* Items waiting (of every kind), events and audit items among them. */
size_t jq_len(const struct jqueue *q);
size_t jq_events(const struct jqueue *q);
size_t jq_audits(const struct jqueue *q);
size_t jq_max_events(const struct jqueue *q);

/* Append an event (at its host time). 1 kept, 0 a duplicate of a kept event (same non-empty key: not kept
 * twice), -1 it did not fit (counted in the loss item at the tail). */
int jq_push_event(struct jqueue *q, const struct event *ev);
/* Append an audit row; rec->id receives its provisional handle (< 0). 1 kept, -1 did not fit (counted). */
int jq_push_audit(struct jqueue *q, struct audit_record *rec);
/* Complete an audit row. A handle whose row still waits is completed in place; a stored row (id > 0, or a
 * handle whose row was stored since: see jq_map_handle) gets a completion item. 1 kept, -1 did not fit
 * (counted) or the row is unknown (its insert was lost: nothing to complete). */
int jq_finish_audit(struct jqueue *q, int64_t id, const char *result, const char *detail, int64_t done_us);

/* True while the audit row id (a handle < 0, or a stored row id > 0) or a completion of it waits. */
bool jq_has_audit(const struct jqueue *q, int64_t id);

/* The i-th item from the head (0 = oldest), NULL past the end. */
const struct jq_item *jq_peek(const struct jqueue *q, size_t i);
/* Drop the n oldest items (after they were stored). */
void jq_pop(struct jqueue *q, size_t n);

/* Remember that the audit row with this provisional handle is stored as row id (a bounded memory of the
 * newest mappings, enough for the actions in flight); jq_resolve returns the id, or 0 when unknown. */
void jq_map_handle(struct jqueue *q, int64_t handle, int64_t id);
int64_t jq_resolve(const struct jqueue *q, int64_t handle);

/* Everything that did not fit since jq_loss_reset (for the recovery notice). */
struct jq_loss jq_lost(const struct jqueue *q);
void jq_loss_reset(struct jqueue *q);

/* The retry delay after `failures` consecutive failed attempts: 100 ms doubling up to 1 s. */
uint64_t jq_retry_delay_us(unsigned failures);

#endif
