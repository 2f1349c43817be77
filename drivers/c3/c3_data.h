/* c3_data: the binary data-table bodies (spec §3.6-§3.7): GET_DATA with the new-records option and conditions,
 * SET_DATA / DELETE_DATA, counts, big-data transfer messages, field values as text, transaction rows. Pure codec. */
#ifndef PORTIER_C3_DATA_H
#define PORTIER_C3_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/c3/c3_tables.h"

/* The firmware refuses (silently) a SET_DATA value longer than this (spec §3.6). */
#define C3_DATA_VALUE_MAX 10u
/* The transaction table's id on every firmware seen (spec §3.4). */
#define C3_TABLE_TRANSACTION 5u

/* ---- a growable byte buffer for request bodies ---- */
struct c3_buf {
    uint8_t *p;
    size_t len, cap;
    bool oom;          /* an append failed: the content is incomplete */
};
void c3_buf_free(struct c3_buf *b);
void c3_buf_put(struct c3_buf *b, const void *data, size_t n);
void c3_buf_byte(struct c3_buf *b, uint8_t v);

/* ---- GET_DATA (0x08) ----
 * table id, k, k field indexes, option count [+ option byte], condition count c, c field indexes, c x (len, value).
 * new_records: the transaction table's "new records only" option (rows after the panel's read pointer; the
 * option byte's value is not interpreted by the firmware, 1 is sent). Conditions select rows whose fields equal
 * the given values (all of them). */
struct c3_getdata {
    unsigned table;
    size_t nfields;
    uint8_t fields[255];
    bool new_records;
    uint8_t option;
    size_t nconds;
    uint8_t cond_fields[16];
    struct c3_data_value cond_values[16];
};
/* Append the request to b. Returns 0, C3_E_RANGE (no fields, index 0, table > 255, a value over 255 bytes) or
 * C3_E_NOSPACE (out of memory: b->oom). */
int c3_getdata_build(struct c3_buf *b, const struct c3_getdata *q);
/* Parse a request (simulator). Values point into p. Returns 0, C3_E_SHORT or C3_E_RANGE (too many conditions). */
int c3_getdata_parse(const uint8_t *p, size_t len, struct c3_getdata *q);

/* ---- records: SET_DATA (0x07) bodies, GET_DATA replies and DELETE_DATA bodies share one layout ----
 * table id, k, k field indexes, then records of k x (length byte, bytes). Read them with c3_data_reader. */
int c3_rows_begin(struct c3_buf *b, unsigned table, const uint8_t *fields, size_t nfields);
/* Append one value (length byte + bytes). C3_E_RANGE when longer than 255. */
int c3_rows_value(struct c3_buf *b, const uint8_t *v, size_t len);
/* Append an integer in the fewest little-endian bytes (0 is one zero byte, as the firmware expects). */
void c3_rows_int(struct c3_buf *b, uint64_t v);

/* ---- values as text, by field type letter ----
 * 'i' integer (up to 4 bytes), 'L' long (up to 8 bytes): decimal; 's' string: the bytes up to the first NUL
 * (control bytes refused on input); 'b', 'B' and unknown letters: lower-case hex. */
/* Returns the text length (NUL-terminated), C3_E_RANGE (integer too wide) or C3_E_NOSPACE. */
int c3_value_to_text(char type, const struct c3_data_value *v, char *out, size_t cap);
/* Encode text for a field of this type into out (cap >= 255 recommended). Returns the byte count,
 * C3_E_SYNTAX (not a number, not hex, control characters) or C3_E_RANGE (too large). */
int c3_value_from_text(char type, const char *text, uint8_t *out, size_t cap);

/* ---- GET_DATA_COUNT (0x0A) reply: 4-byte little-endian count ---- */
int c3_count_parse(const uint8_t *p, size_t len, uint32_t *count);

/* ---- big-data transfer (spec §3.7) ----
 * READ_DATA (0x0E) request: offset (4); reply: offset (4) + chunk. PREPARE_DATA (0x0D) from the client:
 * total length (4) + package length (4). DATA (0x11): offset (4) + bytes. HASH_DATA (0x77): 1 byte (the command
 * the buffer is for); reply: CRC-32 (4). */
void c3_readdata_request(uint8_t out[4], uint32_t offset);
/* Returns 0 or C3_E_SHORT; the chunk points into p. */
int c3_readdata_reply(const uint8_t *p, size_t len, uint32_t *offset, const uint8_t **chunk, size_t *chunk_len);
void c3_prepare_request(uint8_t out[8], uint32_t total, uint32_t package);
int c3_prepare_parse(const uint8_t *p, size_t len, uint32_t *total, uint32_t *package);

/* ---- transaction rows (table "transaction") ---- */
struct c3_txn {
    uint32_t card, pin;
    uint8_t verify, door, type, inout;
    uint32_t time;          /* packed panel time */
    int64_t index;          /* running record number where the firmware has an Index field, else -1 */
};
/* Wire indexes of the transaction fields in a table structure (0 = absent). */
struct c3_txn_fields {
    uint8_t card, pin, verify, door, type, inout, time, index;
};
/* Find them by name (Cardno, Pin, Verified, DoorID, EventType, InOutState, Time_second, Index; case-insensitive).
 * Returns 0, or C3_E_SYNTAX when EventType or Time_second is missing. */
int c3_txn_fields_find(const struct c3_table_def *t, struct c3_txn_fields *f);
/* The field list to ask for (every present field, in a fixed order); returns the count. */
size_t c3_txn_fields_list(const struct c3_txn_fields *f, uint8_t out[8]);
/* The plain read of the whole transaction table (no "new records only": it moves no record pointer) from a
 * TABLE_STRUCT answer: the fields into *f, the GET_DATA payload into b (c3_buf_free it). 0, or -1 when the panel
 * has no usable transaction table (b untouched). */
int c3_txn_history_query(const char *structure, size_t len, struct c3_txn_fields *f, struct c3_buf *b);
/* Decode one record read with a reader whose header lists the fields. Missing fields are 0 (index -1).
 * Returns 0 or C3_E_RANGE (a value too wide for its field). */
int c3_txn_decode(const struct c3_data_reader *r, const struct c3_data_value *vals, const struct c3_txn_fields *f,
                  struct c3_txn *out);
/* A record as portierd's panel-data record carries it (doc/protocol.md, "txn"): {"time": PACKED, "door", "event",
 * "verify", "inout", "card", "pin", "index"} (numbers; index -1 without an Index field). A new reference (jansson's
 * json_t), NULL without memory. */
struct json_t;
struct json_t *c3_txn_json(const struct c3_txn *t);
/* ... and back: 0, or -1 when o is not such an object (a field missing, not an integer, or out of its range). */
int c3_txn_from_json(const struct json_t *o, struct c3_txn *t);

#endif
