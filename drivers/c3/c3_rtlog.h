/* c3_rtlog: the C3 real-time log (spec §4): 16-byte binary records (0x0B) and the key/value text form (0x79),
 * both parsed into the same structs; encoders for the simulator. Pure codec. */
#ifndef PORTIER_C3_RTLOG_H
#define PORTIER_C3_RTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define C3_RT_RECORD_LEN 16u
#define C3_RT_DOORS 4u

/* Alarm byte bits per door. */
#define C3_ALARM_ALARM 0x01u          /* forced open / tamper / duress */
#define C3_ALARM_OPEN_TIMEOUT 0x02u   /* door held open too long */

/* Door sensor per door (binary: low nibble of the byte; 0x79: 2 bits). Other values are passed through. */
enum c3_sensor { C3_SENSOR_NONE = 0, C3_SENSOR_CLOSED = 1, C3_SENSOR_OPEN = 2 };

enum c3_rt_kind { C3_RT_EVENT = 1, C3_RT_STATUS = 2 };

struct c3_rt_event {
    uint32_t card;     /* card number, 0 when none */
    uint32_t pin;      /* user PIN / id, 0 when none */
    uint8_t verify;    /* verify mode (c3_verify_name) */
    uint8_t door;      /* door or aux number 1-4, 0 = device */
    uint8_t type;      /* event type (c3_event_name), never 255 */
    uint8_t inout;     /* 0 entry, 1 exit, 2 none (c3_inout_name) */
    int64_t index;     /* 0x79 running record number; -1 in binary records */
};

struct c3_rt_status {
    uint8_t alarm[C3_RT_DOORS];       /* C3_ALARM_* bits, door 1 first */
    uint8_t sensor[C3_RT_DOORS];      /* enum c3_sensor, door 1 first */
    uint8_t sensor_raw[C3_RT_DOORS];  /* binary: whole byte (high nibble meaning unknown); 0x79: = sensor */
    bool has_relay;                   /* 0x79 only */
    uint32_t relay;                   /* bit per relay */
    uint8_t byte8, byte9;             /* binary only: firmware-dependent filler, kept raw */
};

struct c3_rt_record {
    enum c3_rt_kind kind;
    uint32_t time;                    /* packed panel local time (c3_time.h) */
    union {
        struct c3_rt_event event;
        struct c3_rt_status status;
    };
};

/* True when a 0x0B reply of len payload bytes (after the session prefix) is binary RT log. False means the
 * firmware does not speak binary RT log (e.g. 36 or 360 bytes): use 0x79 from now on. */
bool c3_rtlog_binary_ok(size_t len);

/* Decode one 16-byte record: byte 10 = 255 is a door/alarm status record, anything else an event. */
void c3_rtlog_decode_record(const uint8_t p[C3_RT_RECORD_LEN], struct c3_rt_record *r);
/* Decode a 0x0B reply payload into out[0..max). Returns the record count, C3_E_RTLOG_LEN when len is not a
 * multiple of 16, or C3_E_TOOMANY when more than max records (out then holds the first max). */
int c3_rtlog_parse_binary(const uint8_t *p, size_t len, struct c3_rt_record *out, size_t max);
/* Encode one record in the 16-byte form (simulator). Event type 255 cannot be an event: returns C3_E_RANGE. */
int c3_rtlog_encode_record(const struct c3_rt_record *r, uint8_t out[C3_RT_RECORD_LEN]);

/* Parse a 0x79 reply text: records separated by CRLF (a lone LF or CR also works, empty lines skipped),
 * fields separated by TAB (a ',' is accepted too; blanks around fields are trimmed), each key=value.
 * A record with an "event" key is an event (keys time, pin, cardno, eventaddr, event, inoutstatus,
 * verifytype, index); otherwise a status (time, sensor = hex, 2 bits per door; relay = hex; alarm = 8 hex
 * digits, door 1 first). "time" is required ("2023-12-06 22:57:54"); unknown keys are ignored. A malformed
 * record is skipped and counted in *bad (may be NULL). Returns the number of records stored, or
 * C3_E_TOOMANY when more than max good records are present (out holds the first max). */
int c3_rtlog_parse_kv(const char *text, size_t len, struct c3_rt_record *out, size_t max, size_t *bad);
/* Format one record as 0x79 text (no line terminator; join records with "\r\n"). snprintf semantics:
 * returns the length needed. Event type 255 as an event gives C3_E_RANGE. */
int c3_rtlog_format_kv(const struct c3_rt_record *r, char *buf, size_t cap);

#endif
