/* event: the normalized event every driver emits and every front end shows, and the event bus.
 * The journal is always the first subscriber: publish commits to the journal before anyone sees the event. */
#ifndef PORTIER_EVENT_H
#define PORTIER_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"

enum event_kind {
    EVENT_ACCESS,      /* C3 real-time access/alarm event record (card, pin, verify, in/out) */
    EVENT_DOOR,        /* door/alarm status change: sensor, alarm, open timeout (C3 status record, NiX1 state) */
    EVENT_NIX1_ACCESS, /* NiX1 ACCESS line: uid, unit, probe, return code */
    EVENT_LINK,        /* link online/offline/stale of a device (or a NiX1 slave) */
    EVENT_COMMAND,     /* result of a command sent to a device */
    EVENT_GAP,         /* the journal may miss events of a device between two times (link loss, ring overflow) */
    EVENT_EMERGENCY,   /* emergency unlock on/off and its progress */
    EVENT_OPERATOR,    /* an operator action (mirror of the audit record, for the live view) */
    EVENT_SYSTEM,      /* console start/stop, configuration reloaded, journal trouble */
    EVENT_KIND_COUNT
};

enum event_severity { EVENT_NORMAL, EVENT_WARNING, EVENT_ALARM, EVENT_SEVERITY_COUNT };

#define EVENT_NAME_MAX 64
#define EVENT_TEXT_MAX 256
#define EVENT_KEY_MAX 160

struct event {
    int64_t id;                       /* journal row id; set by the journal on commit, 0 before */
    enum event_kind kind;
    enum event_severity severity;
    int64_t host_time_us;             /* wall clock (UTC, µs since 1970) when portier received it */
    int64_t device_time;              /* device clock, seconds; 0 = none. C3: panel local time read as
                                         UTC (no zone); NiX1: UTC seconds since 1970 */
    int device_tz_min;                /* NiX1 zone in minutes east of UTC; ignored unless device_tz_valid */
    bool device_tz_valid;
    char device[EVENT_NAME_MAX];      /* panel, bus or slave name as in the configuration */
    char door[EVENT_NAME_MAX];        /* door / aux / probe name, "" when device-level */
    int door_no;                      /* C3 door or aux number 1..4, NiX1 probe 1..2; 0 = device-level */
    int code;                         /* C3 event type, NiX1 return code, or -1 */
    char code_name[EVENT_NAME_MAX];   /* human name of code ("remote opening", "ERROR_USER") */
    /* C3 access fields (EVENT_ACCESS) */
    uint32_t card;
    uint32_t pin;
    int verify;                       /* verify mode, -1 = none */
    int inout;                        /* 0 entry, 1 exit, 2 none, other values raw; -1 = none */
    /* NiX1 access fields (EVENT_NIX1_ACCESS) */
    char uid[EVENT_NAME_MAX];
    int unit;                         /* 0..65534, -1 = none */
    char addr[24];                    /* NiX1 slave address (16 hex) or C3 host, informational */
    char text[EVENT_TEXT_MAX];        /* one human line describing the event */
    /* Deduplication key for catch-up: events with the same non-empty key are stored once.
     * Drivers build it from device + device time + code + card/uid...; event_make_key() helps. */
    char key[EVENT_KEY_MAX];
    bool recovered;                   /* read afterwards from the device's own store (C3 transaction table),
                                         not seen live: shown and journaled as recovered */
    bool journaled;                   /* set by publish: true when the journal committed it */
    bool queued;                      /* set by publish: not stored yet, kept in memory by the journal and
                                         stored when it works again (event_bus_subscribe_stored tells) */
    uint64_t seq;                     /* set by publish: the bus's sequence number (1, 2, ...) */
};

/* Zero an event and set its kind and severity; numeric "none" fields get -1. */
void event_init(struct event *ev, enum event_kind kind, enum event_severity severity);
/* printf into ev->text (truncated safely). */
void event_set_text(struct event *ev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copy a string into a fixed event field, truncating (helper for drivers). */
void event_copy(char *dst, size_t dstlen, const char *src);
/* Build a dedup key from device, device time, code and the access identity (card/pin or uid/unit/probe). */
void event_make_key(struct event *ev);
/* The key of a record the device numbered in its own store: the record number comes right after the device,
 * zero-padded ("Panel A|#000000000077|..."), so that a device's records sort in their order in the journal's key
 * index and a catch-up's thousands of rows go in at one place. event_key_record reads it back (false: none);
 * event_key_upgrade rewrites a key of the older form (number last, "...|#77") for the device, 1 when it did. */
void event_make_record_key(struct event *ev, int64_t record);
bool event_key_record(const char *key, int64_t *record);
int event_key_upgrade(const char *key, const char *device, char *out, size_t outlen);

/* Stable lower-case names ("access", "door", "nix1-access", "link", "command", "gap", "emergency",
 * "operator", "system"; "normal", "warning", "alarm") and their inverse (-1 when unknown). */
const char *event_kind_name(enum event_kind kind);
int event_kind_from_name(const char *name);
const char *event_severity_name(enum event_severity sev);
int event_severity_from_name(const char *name);

/* Current wall-clock time in µs (CLOCK_REALTIME). */
int64_t event_now_us(void);
/* Format "YYYY-MM-DD HH:MM:SS" in local time from µs since 1970. */
void event_format_time(int64_t time_us, char *buf, size_t len);
/* One human line: time, severity, device, door, text (and "(recovered)" for a recovered event). */
void event_format_line(const struct event *ev, char *buf, size_t len);

/* ---- event bus ---- */
struct event_bus;

/* The journal hook: store n events in one transaction and put per event in rc[i]: 1 stored (ev->id set),
 * 0 a duplicate of a stored event (it is then not shown again), 2 kept in memory to be stored later
 * (ev->queued set), -1 not stored. */
typedef void (*event_store_fn)(struct event *evs, size_t n, int *rc, void *arg);
typedef void (*event_sub_fn)(const struct event *ev, void *arg);
/* An event delivered with queued = true (its seq) is stored now as journal row id. */
typedef void (*event_stored_fn)(uint64_t seq, int64_t id, void *arg);

struct event_bus *event_bus_new(void);
void event_bus_free(struct event_bus *bus);
/* Install the journal as the first subscriber. Without it events are shown but not stored. */
void event_bus_set_journal(struct event_bus *bus, event_store_fn store, void *arg);
/* Add a subscriber; returns a handle > 0, or -1 when out of memory. */
int event_bus_subscribe(struct event_bus *bus, event_sub_fn fn, void *arg);
/* Add a subscriber to "stored later" notices (same handles, same unsubscribe). */
int event_bus_subscribe_stored(struct event_bus *bus, event_stored_fn fn, void *arg);
void event_bus_unsubscribe(struct event_bus *bus, int handle);
/* The journal stored an event that was delivered as queued: tell the stored subscribers. */
void event_bus_stored(struct event_bus *bus, uint64_t seq, int64_t id);
/* Publish: fill host_time_us if 0, assign seq, store in the journal, then hand the event to every subscriber
 * in order. A duplicate is not delivered; returns 0. An event the journal could not store now is still
 * delivered (an operator must see an alarm) with journaled = false: queued = true and 2 returned when the
 * journal keeps it to store later, queued = false and -1 returned when it is lost. Returns 1 when delivered
 * after a successful store (or when no journal is installed). Reentrant publishes from a subscriber are
 * queued and delivered after the current one, in order. */
int event_publish(struct event_bus *bus, struct event *ev);
/* Publish an event of portier's own (a notice of portierd, the journal or the console, an emergency's step): its
 * kind and severity, who speaks ("portierd", "journal"; "" for the console), the door and the code name (NULL for
 * none) and the text, cut at a whole UTF-8 character. Returns what event_publish returns. */
int event_publish_text(struct event_bus *bus, enum event_kind kind, enum event_severity sev, const char *device,
                       const char *door, const char *code, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* Publish n events at once (a catch-up's rows): stored in one journal transaction, then delivered in order
 * (or queued like any publish when the bus batches). Returns the number delivered or queued. */
size_t event_publish_many(struct event_bus *bus, struct event *evs, size_t n);
/* Batching (for a front end under an event flood): events published from now on are queued and, at the
 * next loop iteration, stored in the journal in one transaction (one sync for the batch), then delivered in
 * order. Journal before display still holds: nothing is delivered before its batch is stored or kept. At
 * most max_batch events per iteration, so the loop keeps answering. event_publish then returns 1 when
 * queued. */
void event_bus_set_batching(struct event_bus *bus, loop_t *loop, size_t max_batch);
/* A journal that stores recovered events in the background (a catch-up's thousands of rows: the loop goes on
 * reading the next chunks meanwhile). With batching, a run of recovered events at the head of the queue is handed
 * to start when ready says yes (up to EVENT_BUS_BACKGROUND_MAX, more than max_batch: the loop does not wait for
 * it); start fills rc[] as the store hook would and the journal calls event_bus_stored_batch from the loop when it
 * is done. Nothing else is stored meanwhile (order holds); the batch is delivered then. wait completes the batch
 * under way now (its event_bus_stored_batch is called before it returns). */
#define EVENT_BUS_BACKGROUND_MAX 2048u
struct event_bus_background {
    bool (*ready)(void *arg);
    void (*start)(struct event *evs, size_t n, int *rc, struct event_bus *bus, void *arg);
    void (*wait)(void *arg);
    void *arg;
};
void event_bus_set_background(struct event_bus *bus, const struct event_bus_background *bg);
/* The batch handed to start is stored (or kept, per rc[]): deliver it and go on with the queue. */
void event_bus_stored_batch(struct event_bus *bus);
/* A batch was stored (or kept) and delivered, here or handed back by the background store: the oldest unstored event
 * (event_bus_unstored_from) may have moved on. fn is told after every batch (never from inside its own call: a
 * batch stored meanwhile tells it again once it returns), so whoever waits for events to be stored is told instead
 * of looking now and then. Same handles, same unsubscribe. */
typedef void (*event_progress_fn)(void *arg);
int event_bus_subscribe_progress(struct event_bus *bus, event_progress_fn fn, void *arg);
/* Whether a batch is being stored in the background now. */
bool event_bus_background_busy(const struct event_bus *bus);
/* The sequence number of the oldest event queued or being stored in the background, not stored yet; 0 when
 * none. */
uint64_t event_bus_unstored_from(const struct event_bus *bus);
/* Store and deliver everything queued now (before exit, or in tests); a batch stored in the background is waited
 * for first. */
void event_bus_flush(struct event_bus *bus);
/* Counters for the status line. */
uint64_t event_bus_published(const struct event_bus *bus);
uint64_t event_bus_duplicates(const struct event_bus *bus);
uint64_t event_bus_journal_failures(const struct event_bus *bus); /* delivered not stored (kept or lost) */
uint64_t event_bus_journal_lost(const struct event_bus *bus);     /* delivered and lost */

#endif
