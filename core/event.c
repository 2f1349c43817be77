/* event: the normalized event and the event bus (journal first, then subscribers). */
#include "core/event.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/grow.h"
#include "core/strbuf.h"

static const char *const kind_names[EVENT_KIND_COUNT] = {
    [EVENT_ACCESS] = "access",       [EVENT_DOOR] = "door",   [EVENT_NIX1_ACCESS] = "nix1-access",
    [EVENT_LINK] = "link",           [EVENT_COMMAND] = "command", [EVENT_GAP] = "gap",
    [EVENT_EMERGENCY] = "emergency", [EVENT_OPERATOR] = "operator", [EVENT_SYSTEM] = "system",
};
static const char *const severity_names[EVENT_SEVERITY_COUNT] = { "normal", "warning", "alarm" };

void event_init(struct event *ev, enum event_kind kind, enum event_severity severity)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    ev->severity = severity;
    ev->code = -1;
    ev->verify = -1;
    ev->inout = -1;
    ev->unit = -1;
}

void event_copy(char *dst, size_t dstlen, const char *src)
{
    if (dstlen == 0)
        return;
    if (!src)
        src = "";
    size_t n = strnlen(src, dstlen - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void set_text_v(struct event *ev, const char *fmt, va_list ap)
{
    struct strbuf sb; /* a text too long for the event is cut at a whole UTF-8 character */
    strbuf_init(&sb, ev->text, sizeof ev->text);
    strbuf_vprintf(&sb, fmt, ap);
}

void event_set_text(struct event *ev, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_text_v(ev, fmt, ap);
    va_end(ap);
}

/* The pieces of a key, written by hand: keys are made for every event of a flood or a catch-up, and the
 * generic formatter costs more than the rest of the row's preparation. */
static char *key_str(char *p, const char *s)
{
    size_t n = strnlen(s, 40);
    memcpy(p, s, n);
    return p + n;
}

static char *key_int(char *p, long long v)
{
    char digits[24];
    int n = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do
        digits[n++] = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    *p++ = '|';
    if (v < 0)
        *p++ = '-';
    while (n > 0)
        *p++ = digits[--n];
    return p;
}

void event_make_key(struct event *ev)
{
    switch (ev->kind) {
    case EVENT_NIX1_ACCESS:
        snprintf(ev->key, sizeof ev->key, "%.40s|%lld|%d|%.40s|%d|%d", ev->addr[0] ? ev->addr : ev->device,
                 (long long)ev->device_time, ev->code, ev->uid, ev->unit, ev->door_no);
        break;
    default: {
        /* "%.40s|%lld|%d|%d|%u|%u|%d|%d": at most 40 + 7 separators + 20 + 10 * 2 + 11 * 4 bytes, well within */
        char *p = key_str(ev->key, ev->device);
        p = key_int(p, (long long)ev->device_time);
        p = key_int(p, ev->code);
        p = key_int(p, ev->door_no);
        p = key_int(p, ev->card);
        p = key_int(p, ev->pin);
        p = key_int(p, ev->verify);
        p = key_int(p, ev->inout);
        *p = '\0';
        break;
    }
    }
}

#define RECORD_DIGITS 12

/* The device's part of a key as event_make_key writes it. */
static size_t key_head_len(const struct event *ev)
{
    if (ev->kind == EVENT_NIX1_ACCESS)
        return strnlen(ev->addr[0] ? ev->addr : ev->device, 40);
    return strnlen(ev->device, 40);
}

/* The one form of a record key: the device's part (head), the record number, the rest of the event key. */
static int record_key(char *out, size_t outlen, const char *head, size_t head_len, long long record, const char *rest,
                      size_t rest_len)
{
    return snprintf(out, outlen, "%.*s|#%0*lld%.*s", (int)head_len, head, RECORD_DIGITS, record, (int)rest_len, rest);
}

void event_make_record_key(struct event *ev, int64_t record)
{
    event_make_key(ev);
    char key[EVENT_KEY_MAX];
    size_t head = key_head_len(ev);
    record_key(key, sizeof key, ev->key, head, (long long)record, ev->key + head, strlen(ev->key + head));
    memcpy(ev->key, key, sizeof key);
}

bool event_key_record(const char *key, int64_t *record)
{
    const char *h = strstr(key, "|#");
    if (!h || h[2] < '0' || h[2] > '9')
        return false;
    *record = strtoll(h + 2, NULL, 10);
    return true;
}

int event_key_upgrade(const char *key, const char *device, char *out, size_t outlen)
{
    size_t head = strnlen(device, 40), len = strlen(key);
    if (len <= head + 1 || memcmp(key, device, head) != 0 || key[head] != '|' || key[head + 1] == '#')
        return 0;
    size_t d = len;
    while (d > head && key[d - 1] >= '0' && key[d - 1] <= '9')
        d--;
    if (d == len || d < head + 2 || key[d - 1] != '#' || key[d - 2] != '|' || len - d > 18)
        return 0;
    int n = record_key(out, outlen, key, head, strtoll(key + d, NULL, 10), key + head, d - 2 - head);
    return n > 0 && (size_t)n < outlen ? 1 : 0;
}

/* The index of name (any case) in names[0..n), or -1. */
static int name_index(const char *const *names, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (strcasecmp(name, names[i]) == 0)
            return i;
    return -1;
}

const char *event_kind_name(enum event_kind kind)
{
    return (unsigned)kind < EVENT_KIND_COUNT ? kind_names[kind] : "?";
}

int event_kind_from_name(const char *name) { return name_index(kind_names, EVENT_KIND_COUNT, name); }

const char *event_severity_name(enum event_severity sev)
{
    return (unsigned)sev < EVENT_SEVERITY_COUNT ? severity_names[sev] : "?";
}

int event_severity_from_name(const char *name) { return name_index(severity_names, EVENT_SEVERITY_COUNT, name); }

int64_t event_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void event_format_time(int64_t time_us, char *buf, size_t len)
{
    time_t t = (time_t)(time_us / 1000000);
    struct tm tm;
    if (len == 0)
        return;
    if (!localtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, len, "%lld", (long long)t);
}

void event_format_line(const struct event *ev, char *buf, size_t len)
{
    char t[32];
    event_format_time(ev->host_time_us, t, sizeof t);
    snprintf(buf, len, "%s %-7s %s%s%s: %s%s", t, event_severity_name(ev->severity), ev->device,
             ev->door[0] ? " / " : "", ev->door, ev->text, ev->recovered ? " (recovered)" : "");
}

/* ---- bus ---- */

struct subscriber {
    int handle;
    event_sub_fn fn;
    event_stored_fn stored;
    event_progress_fn progress;
    void *arg;
};

struct event_bus {
    event_store_fn store;
    void *store_arg;
    struct subscriber *subs;
    size_t n_subs, cap_subs;
    int next_handle;
    uint64_t next_seq;
    /* reentrancy queue: events published from a subscriber wait here */
    bool delivering;
    struct event *queue;
    size_t q_head, q_len, q_cap;
    uint64_t published, duplicates, journal_failures, journal_lost;
    /* batching (event_bus_set_batching) */
    loop_t *loop;
    loop_timer_t flush_timer;
    size_t max_batch;
    struct event *pending;            /* published, not yet stored: pending[p_head .. n_pending) */
    size_t p_head, n_pending, cap_pending;
    struct event *spare;              /* a queue's array back from a batch taken whole, for the next one */
    size_t cap_spare;
    /* the batch stored in the background (event_bus_set_background): bg_n events at bg_batch, inside bg_whole
     * when it took the queue's array */
    struct event_bus_background bg;
    struct event *bg_batch, *bg_whole;
    size_t bg_n, cap_bg_whole;
    int *bg_rc;
    bool freeing;                     /* a batch that ends now is not delivered: the subscribers are going */
    bool progressing, progress_again; /* progress subscribers are being told (and a batch ended meanwhile) */
};

struct event_bus *event_bus_new(void)
{
    struct event_bus *bus = calloc(1, sizeof *bus);
    if (bus)
        bus->next_handle = 1;
    return bus;
}

void event_bus_free(struct event_bus *bus)
{
    if (!bus)
        return;
    bus->freeing = true;
    if (bus->bg_n && bus->bg.wait)
        bus->bg.wait(bus->bg.arg); /* its thread writes into the batch: it ends first (stored, not delivered) */
    if (bus->loop)
        loop_timer_disarm(bus->loop, &bus->flush_timer);
    free(bus->pending);
    free(bus->spare);
    free(bus->subs);
    free(bus->queue);
    free(bus);
}

void event_bus_set_journal(struct event_bus *bus, event_store_fn store, void *arg)
{
    bus->store = store;
    bus->store_arg = arg;
}

static int add_subscriber(struct event_bus *bus, event_sub_fn fn, event_stored_fn stored, event_progress_fn progress,
                          void *arg)
{
    struct subscriber *s = grow_array(bus->subs, bus->n_subs, &bus->cap_subs, sizeof *s, 4);
    if (!s)
        return -1;
    bus->subs = s;
    int h = bus->next_handle++;
    bus->subs[bus->n_subs++] = (struct subscriber){ h, fn, stored, progress, arg };
    return h;
}

int event_bus_subscribe(struct event_bus *bus, event_sub_fn fn, void *arg)
{
    return add_subscriber(bus, fn, NULL, NULL, arg);
}

int event_bus_subscribe_stored(struct event_bus *bus, event_stored_fn fn, void *arg)
{
    return add_subscriber(bus, NULL, fn, NULL, arg);
}

int event_bus_subscribe_progress(struct event_bus *bus, event_progress_fn fn, void *arg)
{
    return add_subscriber(bus, NULL, NULL, fn, arg);
}

void event_bus_unsubscribe(struct event_bus *bus, int handle)
{
    for (size_t i = 0; i < bus->n_subs; i++) {
        if (bus->subs[i].handle == handle) {
            memmove(&bus->subs[i], &bus->subs[i + 1], (bus->n_subs - i - 1) * sizeof bus->subs[0]);
            bus->n_subs--;
            return;
        }
    }
}

/* Hand one event (or a stored notice) to every subscriber of its kind. Subscribers may unsubscribe while we
 * iterate: walk with an index re-check (when the current one was removed, the next moved into its slot). */
static void notify(struct event_bus *bus, const struct event *ev, uint64_t seq, int64_t id)
{
    for (size_t i = 0; i < bus->n_subs; i++) {
        int h = bus->subs[i].handle;
        if (ev && bus->subs[i].fn)
            bus->subs[i].fn(ev, bus->subs[i].arg);
        else if (!ev && bus->subs[i].stored)
            bus->subs[i].stored(seq, id, bus->subs[i].arg);
        if (i < bus->n_subs && bus->subs[i].handle != h)
            i--;
    }
}

/* A batch is stored and delivered: tell the progress subscribers, one round at a time (one of them may store more,
 * an explicit flush: that batch is told in the next round, not from inside the current call). */
static void progress(struct event_bus *bus)
{
    if (bus->freeing)
        return;
    if (bus->progressing) {
        bus->progress_again = true;
        return;
    }
    bus->progressing = true;
    do {
        bus->progress_again = false;
        for (size_t i = 0; i < bus->n_subs; i++) {
            int h = bus->subs[i].handle;
            if (bus->subs[i].progress)
                bus->subs[i].progress(bus->subs[i].arg);
            if (i < bus->n_subs && bus->subs[i].handle != h)
                i--;
        }
    } while (bus->progress_again);
    bus->progressing = false;
}

void event_bus_stored(struct event_bus *bus, uint64_t seq, int64_t id)
{
    notify(bus, NULL, seq, id);
}

/* Deliver one event after its store result rc: a duplicate is dropped; returns as event_publish. */
static int deliver(struct event_bus *bus, struct event *ev, int rc)
{
    if (!bus->store)
        rc = 1;
    ev->journaled = bus->store && rc == 1;
    ev->queued = rc == 2;
    if (rc == 0) {
        bus->duplicates++;
        return 0;
    }
    if (rc != 1) {
        bus->journal_failures++;
        if (rc != 2) {
            bus->journal_lost++;
            rc = -1;
        }
    }
    bus->published++;
    notify(bus, ev, 0, 0);
    return rc;
}

/* Store a run of events in one transaction and deliver them in order. */
static int store_and_deliver(struct event_bus *bus, struct event *evs, size_t n)
{
    int one, *rc = n == 1 ? &one : malloc(n * sizeof *rc);
    if (!rc)
        return -1;
    for (size_t i = 0; i < n; i++) {
        evs[i].journaled = evs[i].queued = false;
        rc[i] = 1;
    }
    if (bus->store)
        bus->store(evs, n, rc, bus->store_arg);
    int last = 1;
    for (size_t i = 0; i < n; i++)
        last = deliver(bus, &evs[i], rc[i]);
    if (rc != &one)
        free(rc);
    return last;
}

static int queue_push(struct event_bus *bus, const struct event *ev)
{
    struct event *q = grow_ring(bus->queue, bus->q_len, &bus->q_head, &bus->q_cap, sizeof *q, 8);
    if (!q)
        return -1;
    bus->queue = q;
    bus->queue[(bus->q_head + bus->q_len) % bus->q_cap] = *ev;
    bus->q_len++;
    return 0;
}

/* Take the next n queued events out as one batch: subscribers may publish while it is stored (they land behind
 * it). The rest stays where it is (moving it at every batch would cost a long burst quadratic time). A batch that
 * is the whole queue takes its array as it is (no copy: a catch-up hands over a few hundred rows of a kilobyte
 * each per chunk; *whole is set), and publishes meanwhile start the spare one. NULL without memory. */
static struct event *take_batch(struct event_bus *bus, size_t n, struct event **whole, size_t *cap_whole)
{
    struct event *batch;
    *whole = NULL;
    *cap_whole = 0;
    if (n == bus->n_pending - bus->p_head) {
        *whole = bus->pending;
        *cap_whole = bus->cap_pending;
        batch = *whole + bus->p_head;
        bus->pending = bus->spare;
        bus->cap_pending = bus->cap_spare;
        bus->spare = NULL;
        bus->cap_spare = 0;
    } else {
        batch = malloc(n * sizeof *batch);
        if (!batch)
            return NULL;
        memcpy(batch, bus->pending + bus->p_head, n * sizeof *batch);
    }
    bus->p_head += n;
    if (*whole || bus->p_head == bus->n_pending)
        bus->p_head = bus->n_pending = 0;
    return batch;
}

static void put_batch(struct event_bus *bus, struct event *batch, struct event *whole, size_t cap_whole)
{
    if (!whole) {
        free(batch);
    } else if (!bus->spare) {
        bus->spare = whole;
        bus->cap_spare = cap_whole;
    } else {
        free(whole);
    }
}

/* How many recovered events lead the queue (at most EVENT_BUS_BACKGROUND_MAX) when the journal can take them in
 * the background now; 0 otherwise. */
static size_t background_run(struct event_bus *bus)
{
    if (!bus->bg.start || !bus->store || !bus->loop)
        return 0;
    size_t n = 0, avail = bus->n_pending - bus->p_head;
    while (n < avail && n < EVENT_BUS_BACKGROUND_MAX && bus->pending[bus->p_head + n].recovered)
        n++;
    return n && bus->bg.ready(bus->bg.arg) ? n : 0;
}

/* Hand a run of recovered events to the journal's background store; false when it could not be (stored here). */
static bool store_background(struct event_bus *bus, size_t n)
{
    int *rc = malloc(n * sizeof *rc);
    if (!rc)
        return false;
    struct event *whole;
    size_t cap_whole;
    struct event *batch = take_batch(bus, n, &whole, &cap_whole);
    if (!batch) {
        free(rc);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        batch[i].journaled = batch[i].queued = false;
        rc[i] = 1;
    }
    bus->bg_batch = batch;
    bus->bg_whole = whole;
    bus->cap_bg_whole = cap_whole;
    bus->bg_n = n;
    bus->bg_rc = rc;
    bus->bg.start(batch, n, rc, bus, bus->bg.arg);
    return true;
}

/* Store and deliver what is queued, a batch at a time (from_loop: the flush timer; a batch stored in the
 * background is not waited for, its end flushes on). */
static void flush_queue(struct event_bus *bus, bool from_loop)
{
    if (bus->bg_n) {
        if (from_loop || !bus->bg.wait)
            return;
        bus->bg.wait(bus->bg.arg);
        if (bus->bg_n)
            return;
    }
    while (bus->n_pending > bus->p_head) {
        size_t bn = from_loop ? background_run(bus) : 0;
        if (bn && store_background(bus, bn))
            return;
        size_t n = bus->n_pending - bus->p_head;
        if (bus->max_batch && n > bus->max_batch)
            n = bus->max_batch;
        struct event *whole;
        size_t cap_whole;
        struct event *batch = take_batch(bus, n, &whole, &cap_whole);
        if (!batch)
            return;
        store_and_deliver(bus, batch, n);
        put_batch(bus, batch, whole, cap_whole);
        if (bus->max_batch && bus->n_pending > bus->p_head && bus->loop) {
            /* More than one batch waiting: let the loop breathe (keys, emergency) before the next.
             * 1 µs, not 0: a timer due "now" would run again in the same pass of the loop. */
            loop_timer_arm_us(bus->loop, &bus->flush_timer, 1);
            progress(bus);
            return;
        }
        progress(bus);
    }
}

void event_bus_flush(struct event_bus *bus) { flush_queue(bus, false); }

void event_bus_stored_batch(struct event_bus *bus)
{
    size_t n = bus->bg_n;
    if (!n)
        return;
    struct event *batch = bus->bg_batch, *whole = bus->bg_whole;
    size_t cap_whole = bus->cap_bg_whole;
    int *rc = bus->bg_rc;
    bus->bg_n = 0;
    bus->bg_batch = bus->bg_whole = NULL;
    bus->bg_rc = NULL;
    for (size_t i = 0; i < n && !bus->freeing; i++)
        deliver(bus, &batch[i], rc[i]);
    free(rc);
    put_batch(bus, batch, whole, cap_whole);
    if (bus->n_pending > bus->p_head && bus->loop)
        loop_timer_arm_us(bus->loop, &bus->flush_timer, 1);
    progress(bus);
}

bool event_bus_background_busy(const struct event_bus *bus) { return bus->bg_n > 0; }

void event_bus_set_background(struct event_bus *bus, const struct event_bus_background *bg)
{
    if (bus->bg_n && bus->bg.wait)
        bus->bg.wait(bus->bg.arg);
    if (bg)
        bus->bg = *bg;
    else
        memset(&bus->bg, 0, sizeof bus->bg);
}

static void flush_cb(loop_t *loop, void *arg)
{
    (void)loop;
    flush_queue(arg, true);
}

void event_bus_set_batching(struct event_bus *bus, loop_t *loop, size_t max_batch)
{
    bus->loop = loop;
    bus->max_batch = max_batch;
    loop_timer_init(&bus->flush_timer, flush_cb, bus);
}

/* Deliver what was published while delivering, in publish order, then let the next publish deliver at once. */
static void deliver_queued(struct event_bus *bus)
{
    while (bus->q_len > 0) {
        struct event next = bus->queue[bus->q_head];
        bus->q_head = (bus->q_head + 1) % bus->q_cap;
        bus->q_len--;
        store_and_deliver(bus, &next, 1);
    }
    bus->delivering = false;
}

int event_publish(struct event_bus *bus, struct event *ev)
{
    if (ev->host_time_us == 0)
        ev->host_time_us = event_now_us();
    ev->seq = ++bus->next_seq;
    if (bus->loop) {
        if (bus->n_pending == bus->cap_pending && bus->p_head > 0 && bus->p_head >= bus->n_pending - bus->p_head) {
            /* At least half of it is room left by stored batches: move the waiting events there. */
            bus->n_pending -= bus->p_head;
            memmove(bus->pending, bus->pending + bus->p_head, bus->n_pending * sizeof *bus->pending);
            bus->p_head = 0;
        }
        struct event *p = grow_array(bus->pending, bus->n_pending, &bus->cap_pending, sizeof *p, 64);
        if (!p)
            return -1;
        bus->pending = p;
        bus->pending[bus->n_pending++] = *ev;
        if (!loop_timer_armed(&bus->flush_timer))
            loop_timer_arm_us(bus->loop, &bus->flush_timer, 0);
        return 1;
    }
    if (bus->delivering) {
        /* Stored and delivered after the current event, in publish order. */
        return queue_push(bus, ev) == 0 ? 1 : -1;
    }
    bus->delivering = true;
    int rc = store_and_deliver(bus, ev, 1);
    deliver_queued(bus);
    return rc;
}

int event_publish_text(struct event_bus *bus, enum event_kind kind, enum event_severity sev, const char *device,
                       const char *door, const char *code, const char *fmt, ...)
{
    struct event ev;
    event_init(&ev, kind, sev);
    event_copy(ev.device, sizeof ev.device, device ? device : "");
    event_copy(ev.door, sizeof ev.door, door ? door : "");
    event_copy(ev.code_name, sizeof ev.code_name, code ? code : "");
    va_list ap;
    va_start(ap, fmt);
    set_text_v(&ev, fmt, ap);
    va_end(ap);
    return event_publish(bus, &ev);
}

uint64_t event_bus_unstored_from(const struct event_bus *bus)
{
    if (bus->bg_n)
        return bus->bg_batch[0].seq;
    if (bus->n_pending > bus->p_head)
        return bus->pending[bus->p_head].seq;
    return bus->q_len ? bus->queue[bus->q_head].seq : 0;
}

size_t event_publish_many(struct event_bus *bus, struct event *evs, size_t n)
{
    if (bus->loop || bus->delivering) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            k += event_publish(bus, &evs[i]) >= 0;
        return k;
    }
    for (size_t i = 0; i < n; i++) {
        if (evs[i].host_time_us == 0)
            evs[i].host_time_us = event_now_us();
        evs[i].seq = ++bus->next_seq;
    }
    bus->delivering = true;
    store_and_deliver(bus, evs, n);
    deliver_queued(bus);
    return n;
}

uint64_t event_bus_published(const struct event_bus *bus) { return bus->published; }
uint64_t event_bus_duplicates(const struct event_bus *bus) { return bus->duplicates; }
uint64_t event_bus_journal_failures(const struct event_bus *bus) { return bus->journal_failures; }
uint64_t event_bus_journal_lost(const struct event_bus *bus) { return bus->journal_lost; }
