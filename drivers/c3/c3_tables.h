/* c3_tables: names and severities of C3 RT-log event types (spec §4.4), verify modes (§4.5) and in/out states;
 * pure lookups. Unknown codes are never hidden: the label functions print them raw ("event 77"). */
#ifndef PORTIER_C3_TABLES_H
#define PORTIER_C3_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum c3_severity {
    C3_SEV_NORMAL = 0,   /* grants, sensor changes, remote operations */
    C3_SEV_WARNING = 1,  /* denials, timeouts, unknown cards, unknown event codes */
    C3_SEV_ALARM = 2,    /* forced open, tamper, duress */
};

#define C3_EVENT_STATUS 255u   /* byte 10 of a door/alarm status record */
#define C3_LABEL_LEN 24        /* enough for any "event 255" style fallback */

/* Event type (RT-log byte 10). name: human text ("door forced open"); key: stable snake_case identifier for
 * JSON and scripts ("forced_open"). Both NULL for unknown codes. */
const char *c3_event_name(unsigned code);
const char *c3_event_key(unsigned code);
bool c3_event_known(unsigned code);
/* Unknown codes are C3_SEV_WARNING (something the panel reports that we cannot explain). */
enum c3_severity c3_event_severity(unsigned code);
/* The name, or "event <code>" written into buf (cap >= C3_LABEL_LEN recommended). Returns buf or the name. */
const char *c3_event_label(unsigned code, char *buf, size_t cap);
/* True for events that say a door was opened by someone authorised (card, fingerprint, password, button,
 * remote): the console uses it to tell grants from denials. */
bool c3_event_is_grant(unsigned code);

/* "normal", "warning", "alarm". */
const char *c3_severity_name(enum c3_severity s);

/* Verify mode (RT-log byte 8, DoorNVerifyType): name or NULL; label falls back to "verify <code>". */
const char *c3_verify_name(unsigned code);
const char *c3_verify_label(unsigned code, char *buf, size_t cap);

/* In/out state (RT-log byte 11): 0 entry, 1 exit, 2 none; label falls back to "inout <code>". */
enum c3_inout { C3_INOUT_ENTRY = 0, C3_INOUT_EXIT = 1, C3_INOUT_NONE = 2 };
const char *c3_inout_name(unsigned code);
const char *c3_inout_label(unsigned code, char *buf, size_t cap);

#endif
