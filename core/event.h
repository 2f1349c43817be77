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
};

/* Zero an event and set its kind and severity; numeric "none" fields get -1. */
void event_init(struct event *ev, enum event_kind kind, enum event_severity severity);
/* printf into ev->text (truncated safely). */
void event_set_text(struct event *ev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copy a string into a fixed event field, truncating (helper for drivers). */
void event_copy(char *dst, size_t dstlen, const char *src);
/* Build a dedup key from device, device time, code and the access identity (card/pin or uid/unit/probe). */
void event_make_key(struct event *ev);

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

/* The journal hook: returns 1 when the event was stored (and sets ev->id), 0 when it is a duplicate of a
 * stored event (it is then not shown again), -1 when the journal failed. */
typedef int (*event_commit_fn)(struct event *ev, void *arg);
typedef void (*event_sub_fn)(const struct event *ev, void *arg);

struct event_bus *event_bus_new(void);
void event_bus_free(struct event_bus *bus);
/* Install the journal as the first subscriber. Without it events are shown but not stored. */
void event_bus_set_journal(struct event_bus *bus, event_commit_fn commit, void *arg);
/* Add a subscriber; returns a handle > 0, or -1 when out of memory. */
int event_bus_subscribe(struct event_bus *bus, event_sub_fn fn, void *arg);
void event_bus_unsubscribe(struct event_bus *bus, int handle);
/* Publish: fill host_time_us if 0, commit to the journal, then hand the event to every subscriber in
 * order. A duplicate (commit returned 0) is not delivered; returns 0. When the journal fails the event is
 * still delivered (an operator must see an alarm) with journaled = false, and -1 is returned.
 * Returns 1 when delivered after a successful commit (or when no journal is installed). Reentrant
 * publishes from a subscriber are queued and delivered after the current one, in order. */
int event_publish(struct event_bus *bus, struct event *ev);
/* Batching (for a front end under an event flood): events published from now on are queued and, at the
 * next loop iteration, committed to the journal in one transaction (begin/end, one sync for the batch),
 * then delivered in order. Journal before display still holds: nothing is delivered before its batch is
 * durable; a batch that fails to commit is delivered with journaled = false. At most max_batch events
 * per iteration, so the loop keeps answering. event_publish then returns 1 when queued. */
typedef int (*event_batch_fn)(void *arg);
void event_bus_set_batching(struct event_bus *bus, loop_t *loop, event_batch_fn begin, event_batch_fn end,
                            void *arg, size_t max_batch);
/* Whether publishes are queued for a batch (event_bus_set_batching). */
bool event_bus_batching(const struct event_bus *bus);
/* Commit and deliver everything queued now (before exit, or in tests). */
void event_bus_flush(struct event_bus *bus);
/* Counters for the status line. */
uint64_t event_bus_published(const struct event_bus *bus);
uint64_t event_bus_duplicates(const struct event_bus *bus);
uint64_t event_bus_journal_failures(const struct event_bus *bus);

#endif
