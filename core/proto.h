/* proto: the portierd wire protocol (JSON lines, doc/protocol.md), one codec for the daemon and its clients:
 * bounded line framing, and core structs (events, outputs, devices, the site, audit rows, queries, action runs) to and from JSON. */
#ifndef PORTIER_PROTO_H
#define PORTIER_PROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/action.h"
#include "core/event.h"
#include "core/journal.h"
#include "core/site.h"

#define PROTO_VERSION 1
#define PROTO_MAX_LINE (1u << 20)      /* longest line a client may send */
#define PROTO_MAX_JOURNAL_ROWS 1000    /* journal_rows of a hello, limit of a query */
#define PROTO_REPLAY_MAX 5000          /* events replayed after resume or resync */
#define PROTO_MAX_ALARMS 512           /* open alarms in a snapshot */

/* ---- line framing ----
 * Bytes are read into the buffer (proto_lines_space + proto_lines_commit); complete lines come out of
 * proto_lines_next. A line longer than max (without its '\n') is an error: the connection should be closed. */
struct proto_lines {
    char *buf;
    size_t start, len, cap;   /* unconsumed bytes are buf[start .. start+len) */
    size_t scanned;           /* of those, bytes already searched for '\n' */
    size_t max;
};
void proto_lines_init(struct proto_lines *l, size_t max);
void proto_lines_free(struct proto_lines *l);
/* Space to read at most *room bytes into; NULL when the pending line already exceeds max. */
char *proto_lines_space(struct proto_lines *l, size_t *room);
void proto_lines_commit(struct proto_lines *l, size_t n);
/* Copy n bytes in, without a limit (tests, fuzzing; proto_lines_next still refuses long lines). 0 or -1. */
int proto_lines_feed(struct proto_lines *l, const void *data, size_t n);
/* The next complete line, NUL-terminated in place, without "\n" or "\r\n"; valid until proto_lines_space
 * or proto_lines_feed is called.
 * 1 = a line, 0 = none complete yet, -1 = the pending line is longer than max. */
int proto_lines_next(struct proto_lines *l, char **line, size_t *len);
/* Bytes of a line begun but not complete. */
size_t proto_lines_pending(const struct proto_lines *l);

/* Parse one line as a JSON object (duplicate keys refused). NULL with err filled when it is not one. */
json_t *proto_parse(const char *line, size_t len, char *err, size_t errlen);
/* One line (compact, ASCII-safe, '\n' appended); malloc'd, *len set. NULL when out of memory. */
char *proto_dump(const json_t *msg, size_t *len);

/* ---- field access with type checks (for decoders on both sides) ----
 * A missing field leaves *out unchanged and returns 0; a field of the wrong type returns -1 with err. */
int proto_get_str(const json_t *o, const char *key, char *out, size_t outlen, char *err, size_t errlen);
int proto_get_int(const json_t *o, const char *key, int64_t *out, char *err, size_t errlen);
int proto_get_bool(const json_t *o, const char *key, bool *out, char *err, size_t errlen);
/* The string of o[key], or NULL when absent or not a string. */
const char *proto_str(const json_t *o, const char *key);

/* ---- names (the inverses of the core name functions) ---- */
int proto_link_from_name(const char *name);          /* enum link_state or -1 */
int proto_output_type_from_name(const char *name);   /* enum output_type or -1 */
int proto_sensor_from_name(const char *name);
const char *proto_progress_name(enum progress p);    /* "idle" "pending" "ok" "failed" */
int proto_progress_from_name(const char *name);
int proto_action_status_from_name(const char *name); /* enum action_status or -1 */

/* ---- events ---- */
json_t *proto_event_to_json(const struct event *ev, const struct journal_ack *ack /* NULL: not acknowledged */);
/* Fills ev (event_init first) and ack (may be NULL). 0, or -1 with err. */
int proto_event_from_json(const json_t *o, struct event *ev, struct journal_ack *ack, char *err, size_t errlen);

/* ---- audit records ---- */
json_t *proto_audit_to_json(const struct audit_record *r);
int proto_audit_from_json(const json_t *o, struct audit_record *r, char *err, size_t errlen);

/* ---- journal and audit queries ----
 * Decoded strings point into o (valid while o lives). kind/min_severity default to -1. */
json_t *proto_query_to_json(const struct journal_query *q);
int proto_query_from_json(const json_t *o, struct journal_query *q, char *err, size_t errlen);

/* ---- the site (proto_site.c) ---- */
/* A door's state flags as JSON (sensor, locked, held_open, normal_open, alarm, open_timeout, stale, locked_out,
 * emergency, open_until_us): the one writer of them, for the wire, `portierctl status --json` and MQTT alike. */
json_t *proto_output_state_to_json(const struct output_state *st);
/* Add the state flags to the object o; -1 when out of memory. */
int proto_output_state_add(json_t *o, const struct output_state *st);
int proto_output_state_from_json(const json_t *o, struct output_state *st, char *err, size_t errlen);
json_t *proto_output_to_json(const struct site_output *o);
json_t *proto_device_to_json(const struct site *site, const struct site_device *d);
/* The configuration part of the site (never a password or the journal path). */
json_t *proto_site_conf_to_json(const struct site *site);
/* site, devices, outputs of a snapshot into o (an object being built). 0 or -1 (out of memory). */
int proto_site_to_snapshot(const struct site *site, json_t *o);
/* A mirror site from a snapshot object (fields site, devices, outputs): configuration, devices and outputs
 * exactly as the owner has them. NULL with err filled when the snapshot is inconsistent. */
struct site *proto_site_from_snapshot(const json_t *o, char *err, size_t errlen);
/* Apply a "device" / "output" change message to a mirror; *index gets what changed. 0, or -1 with err
 * (unknown index, bad fields: the mirror is unchanged). */
int proto_device_apply(struct site *mirror, const json_t *o, size_t *index, char *err, size_t errlen);
int proto_output_apply(struct site *mirror, const json_t *o, size_t *index, char *err, size_t errlen);

/* ---- action runs ---- */
/* op, status, counts, error, audit_id, target, user and role; with_results: one object per target result,
 * named by output and device (and their indices in the site). */
json_t *proto_run_to_json(const struct site *site, const struct action_run *run, bool with_results);
/* A run as a client sees it: def from "op", counts, status, results mapped onto mirror indices (results that
 * name no output or device of the mirror keep SIZE_MAX). Free with proto_run_free. 0 or -1 with err. */
int proto_run_from_json(const json_t *o, const struct site *mirror, struct action_run *run, char *err, size_t errlen);
void proto_run_free(struct action_run *run);

/* ---- the emergency as every client sees it ---- */
#define PROTO_FAILED_DOORS_MAX 64
struct proto_emergency {
    bool active;
    int64_t since_us;
    char by[64];
    bool running;                  /* an emergency-on/off action is in flight */
    char action[32];               /* "emergency-on" / "emergency-off" (the last one), "" */
    unsigned confirmed, pending, failed, total;
    unsigned retrying;             /* doors still being retried while the emergency lasts */
    size_t n_failed_doors;         /* the failed doors, in site order (at most PROTO_FAILED_DOORS_MAX) */
    struct proto_failed_door {
        char door[64];
        char reason[256];          /* may hold anything, "; " and ": " too */
    } failed_doors[PROTO_FAILED_DOORS_MAX];
};
/* Add a failed door (cut to the fields; ignored past PROTO_FAILED_DOORS_MAX). */
void proto_emergency_add_failed(struct proto_emergency *e, const char *door, const char *reason);
/* On the wire: "failed_doors" [{door, reason}], and for clients of before it "failures" ["door: reason"]. A reader
 * takes "failed_doors", else "failures" (each entry one door, cut at its first ": "). */
json_t *proto_emergency_to_json(const struct proto_emergency *e);
int proto_emergency_from_json(const json_t *o, struct proto_emergency *e, char *err, size_t errlen);
/* One line for people: the failed doors, those that failed for the same reason together and the names first
 * ("Front, Back (offline), Yard (timeout)"), cut to cap. */
void proto_emergency_failures_text(const struct proto_emergency *e, char *buf, size_t cap);

/* ---- bytes ---- */
/* base64 (RFC 4648) and hex; malloc'd, NUL-terminated text. Decoders return -1 on bad input. */
char *proto_b64_encode(const void *data, size_t len);
int proto_b64_decode(const char *text, unsigned char **out, size_t *outlen);
char *proto_hex_encode(const void *data, size_t len);
int proto_hex_decode(const char *text, unsigned char **out, size_t *outlen);

#endif
