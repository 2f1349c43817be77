/* c3_tables: names and severities of C3 event types (§4.4), verify modes (§4.5), in/out states (unknown codes
 * print raw, "event 77"), and the device data tables: structure text (§3.4), GET_DATA request and records (§3.6). */
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

/* ---- Device data tables (user, userauthorize, transaction, ...) ---- */

#define C3_TABLE_NAME_LEN 32u
#define C3_TABLE_FIELDS_MAX 64u

struct c3_table_field {
    char name[C3_TABLE_NAME_LEN];
    char type;        /* 'i' integer, 's' string, 'b'/'B' byte stream, 'L' long; other letters kept raw */
    uint8_t index;    /* 1-based field index used on the wire */
};

struct c3_table_def {
    char name[C3_TABLE_NAME_LEN];
    unsigned id;
    size_t nfields;
    struct c3_table_field fields[C3_TABLE_FIELDS_MAX];
};

/* Parse the GET_TABLE_STRUCT (0x06) reply: one table per line (LF, CRLF), "name=<id>,Field=<t><n>,...".
 * Odd lines such as "logfmt=256,logfmt=i1" parse as an ordinary table. A malformed line is skipped and
 * counted in *bad (may be NULL). Returns the number of tables stored, or C3_E_TOOMANY beyond max. */
int c3_table_struct_parse(const char *text, size_t len, struct c3_table_def *out, size_t max, size_t *bad);
const struct c3_table_def *c3_table_find(const struct c3_table_def *defs, size_t n, const char *name);
/* The wire index of a field by name (exact), or NULL. */
const struct c3_table_field *c3_table_field(const struct c3_table_def *t, const char *name);

/* GET_DATA (0x08) request: table id, field count, field indexes, no options, no conditions (the two trailing
 * zero bytes). Returns the length, C3_E_RANGE (no fields, more than 255, index 0) or C3_E_NOSPACE. */
int c3_getdata_request(uint8_t *out, size_t cap, unsigned table_id, const uint8_t *fields, size_t nfields);

/* GET_DATA reply reader: header (table id, k, k indexes) then records of k x (length byte, bytes). */
struct c3_data_value {
    const uint8_t *p;
    size_t len;
};
struct c3_data_reader {
    const uint8_t *p;
    size_t len, pos;
    unsigned table_id;
    size_t nfields;
    uint8_t fields[255];
};
/* Returns 0 or C3_E_SHORT when the header is truncated. */
int c3_data_reader_init(struct c3_data_reader *r, const uint8_t *p, size_t len);
/* Reads the next record into vals[0..nfields) (max must be >= nfields). Returns 1 for a record, 0 at the end,
 * C3_E_SHORT for a truncated record (the reader then stays at the end), C3_E_NOSPACE if max is too small. */
int c3_data_reader_next(struct c3_data_reader *r, struct c3_data_value *vals, size_t max);
/* An integer field: little-endian, 0-4 bytes (0 bytes = 0). C3_E_RANGE for longer values. */
int c3_data_value_u32(const struct c3_data_value *v, uint32_t *out);

#endif
