/* jqueue: the journal's bounded write-behind queue (a ring of items in arrival order) and its retry delay. */
#include "core/jqueue.h"

#include <stdlib.h>
#include <string.h>

#include "core/grow.h"

#define MAX_LOSS_ITEMS 16 /* loss rows kept apart; beyond that the newest one grows */
#define HANDLE_MAP 256    /* provisional audit handles remembered after their row was stored */

struct handle_map {
    int64_t handle, id;
};

struct jqueue {
    struct jq_item **items;
    size_t head, len, cap;
    size_t n_events, n_audits, n_loss;
    size_t max_events, max_audits;
    struct jq_item *last_loss; /* the newest loss item still queued, NULL if none */
    struct jq_loss lost;       /* since jq_loss_reset */
    int64_t next_handle;
    struct handle_map map[HANDLE_MAP];
    size_t map_next;
};

struct jqueue *jq_new(size_t max_events, size_t max_audits)
{
    struct jqueue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->max_events = max_events;
    q->max_audits = max_audits;
    q->next_handle = -1;
    return q;
}

void jq_free(struct jqueue *q)
{
    if (!q)
        return;
    jq_pop(q, q->len);
    free(q->items);
    free(q);
}

size_t jq_len(const struct jqueue *q) { return q->len; }
size_t jq_events(const struct jqueue *q) { return q->n_events; }
size_t jq_audits(const struct jqueue *q) { return q->n_audits; }
size_t jq_max_events(const struct jqueue *q) { return q->max_events; }

static struct jq_item **slot(const struct jqueue *q, size_t i)
{
    return &q->items[(q->head + i) % q->cap];
}

const struct jq_item *jq_peek(const struct jqueue *q, size_t i)
{
    return i < q->len ? *slot(q, i) : NULL;
}

static int append(struct jqueue *q, struct jq_item *it)
{
    struct jq_item **n = grow_ring(q->items, q->len, &q->head, &q->cap, sizeof *n, 64);
    if (!n)
        return -1;
    q->items = n;
    *slot(q, q->len) = it;
    q->len++;
    return 0;
}

static void item_free(struct jq_item *it)
{
    if (!it)
        return;
    free(it->ev);
    free(it->rec);
    free(it->fin);
    free(it);
}

static struct jq_item *item_new(enum jq_kind kind)
{
    struct jq_item *it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    it->kind = kind;
    bool ok = true;
    switch (kind) {
    case JQ_EVENT: ok = (it->ev = malloc(sizeof *it->ev)) != NULL; break;
    case JQ_AUDIT: ok = (it->rec = malloc(sizeof *it->rec)) != NULL; break;
    case JQ_FINISH: ok = (it->fin = calloc(1, sizeof *it->fin)) != NULL; break;
    case JQ_LOSS: break;
    }
    if (!ok) {
        item_free(it);
        return NULL;
    }
    return it;
}

static void loss_add(struct jq_loss *l, bool audit, int64_t t)
{
    if (audit)
        l->audits++;
    else
        l->events++;
    if (!l->first_us || t < l->first_us)
        l->first_us = t;
    if (t > l->last_us)
        l->last_us = t;
}

/* Count something that did not fit: in the loss item at the tail (a new one when the tail is not one, at most
 * MAX_LOSS_ITEMS of them), and in the totals. */
static void lose(struct jqueue *q, bool audit, int64_t t)
{
    loss_add(&q->lost, audit, t);
    struct jq_item *tail = q->len ? *slot(q, q->len - 1) : NULL;
    if ((!tail || tail->kind != JQ_LOSS) && q->n_loss < MAX_LOSS_ITEMS) {
        struct jq_item *it = item_new(JQ_LOSS);
        if (it && append(q, it) == 0) {
            q->n_loss++;
            q->last_loss = it;
        } else {
            item_free(it);
        }
    }
    if (q->last_loss)
        loss_add(&q->last_loss->loss, audit, t);
}

static uint32_t key_hash(const char *key)
{
    if (!key[0])
        return 0;
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h ? h : 1;
}

int jq_push_event(struct jqueue *q, const struct event *ev)
{
    uint32_t h = key_hash(ev->key);
    if (h)
        for (size_t i = 0; i < q->len; i++) {
            const struct jq_item *it = *slot(q, i);
            if (it->kind == JQ_EVENT && it->key_hash == h && strcmp(it->ev->key, ev->key) == 0)
                return 0;
        }
    if (q->n_events >= q->max_events) {
        lose(q, false, ev->host_time_us);
        return -1;
    }
    struct jq_item *it = item_new(JQ_EVENT);
    if (!it || append(q, it) < 0) {
        item_free(it);
        lose(q, false, ev->host_time_us);
        return -1;
    }
    *it->ev = *ev;
    it->key_hash = h;
    q->n_events++;
    return 1;
}

int jq_push_audit(struct jqueue *q, struct audit_record *rec)
{
    if (q->n_audits >= q->max_audits) {
        lose(q, true, rec->time_us);
        return -1;
    }
    struct jq_item *it = item_new(JQ_AUDIT);
    if (!it || append(q, it) < 0) {
        item_free(it);
        lose(q, true, rec->time_us);
        return -1;
    }
    rec->id = q->next_handle--;
    if (q->next_handle == INT64_MIN)
        q->next_handle = -1;
    *it->rec = *rec;
    q->n_audits++;
    return 1;
}

static void copy_text(char *dst, size_t len, const char *src)
{
    event_copy(dst, len, src ? src : "");
}

int jq_finish_audit(struct jqueue *q, int64_t id, const char *result, const char *detail, int64_t done_us)
{
    if (id < 0) {
        for (size_t i = 0; i < q->len; i++) {
            struct jq_item *it = *slot(q, i);
            if (it->kind == JQ_AUDIT && it->rec->id == id) {
                copy_text(it->rec->result, sizeof it->rec->result, result);
                copy_text(it->rec->detail, sizeof it->rec->detail, detail);
                it->rec->done_us = done_us;
                return 1;
            }
        }
        id = jq_resolve(q, id);
        if (id == 0)
            return -1;
    }
    if (q->n_audits >= q->max_audits) {
        lose(q, true, done_us);
        return -1;
    }
    struct jq_item *it = item_new(JQ_FINISH);
    if (!it || append(q, it) < 0) {
        item_free(it);
        lose(q, true, done_us);
        return -1;
    }
    it->fin->id = id;
    copy_text(it->fin->result, sizeof it->fin->result, result);
    copy_text(it->fin->detail, sizeof it->fin->detail, detail);
    it->fin->done_us = done_us;
    q->n_audits++;
    return 1;
}

bool jq_has_audit(const struct jqueue *q, int64_t id)
{
    int64_t stored = id < 0 ? jq_resolve(q, id) : id;
    for (size_t i = 0; i < q->len; i++) {
        const struct jq_item *it = *slot(q, i);
        if ((it->kind == JQ_AUDIT && it->rec->id == id) || (it->kind == JQ_FINISH && stored && it->fin->id == stored))
            return true;
    }
    return false;
}

void jq_pop(struct jqueue *q, size_t n)
{
    for (; n > 0 && q->len > 0; n--) {
        struct jq_item *it = *slot(q, 0);
        switch (it->kind) {
        case JQ_EVENT: q->n_events--; break;
        case JQ_AUDIT:
        case JQ_FINISH: q->n_audits--; break;
        case JQ_LOSS: q->n_loss--; break;
        }
        if (it == q->last_loss)
            q->last_loss = NULL;
        item_free(it);
        q->head = (q->head + 1) % q->cap;
        q->len--;
    }
}

void jq_map_handle(struct jqueue *q, int64_t handle, int64_t id)
{
    q->map[q->map_next] = (struct handle_map){ handle, id };
    q->map_next = (q->map_next + 1) % HANDLE_MAP;
}

int64_t jq_resolve(const struct jqueue *q, int64_t handle)
{
    for (size_t i = 0; i < HANDLE_MAP; i++)
        if (q->map[i].handle == handle && handle != 0)
            return q->map[i].id;
    return 0;
}

struct jq_loss jq_lost(const struct jqueue *q) { return q->lost; }

void jq_loss_reset(struct jqueue *q)
{
    memset(&q->lost, 0, sizeof q->lost);
}

uint64_t jq_retry_delay_us(unsigned failures)
{
    uint64_t d = 100000;
    for (unsigned i = 0; i < failures && d < 1000000; i++)
        d *= 2;
    return d > 1000000 ? 1000000 : d;
}
