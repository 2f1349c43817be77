/* c3sim_tables: a simulated panel's data tables (users, access, holidays, time zones, ... and the bounded
 * transaction table that wraps like the firmware's), the table commands and the big-data transfer buffer. */
#ifndef PORTIER_C3SIM_TABLES_H
#define PORTIER_C3SIM_TABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define C3SIM_TXN_DEFAULT 10000u      /* transaction rows kept (oldest overwritten beyond) */
#define C3SIM_BIG_MAX (4u << 20)      /* firmware big-data buffer: 4 MB */
#define C3SIM_PACKAGE_DEFAULT 5120u   /* firmware MaxLen: replies above it use the big-data transfer */
#define C3SIM_TABLES_MAX 8u
#define C3SIM_TABLE_ROWS_MAX 30000u   /* rows of any other table (the firmware's flash files are bounded too) */

/* Firmware generations: the older one (4.3.4) has no UID/Name in "user" and no Index in "transaction";
 * the newer one (5.x) has both and the odd "logfmt=256,logfmt=i1" structure line. */
enum c3sim_layout { C3SIM_LAYOUT_OLD, C3SIM_LAYOUT_NEW };

struct c3sim_txn {
    uint32_t card, pin, time, index;
    uint8_t verify, door, type, inout;
};

struct c3sim_cell {
    uint8_t len;
    uint8_t b[24];
};

struct c3sim_table;   /* one generic table (private) */

struct c3sim_tables {
    enum c3sim_layout layout;
    struct c3sim_table *tabs[C3SIM_TABLES_MAX];
    size_t ntabs;
    size_t user_max;                  /* user rows the panel takes before -18 */
    /* transaction ring: rows[ (head + i) % cap ], i < count; serials count every row ever written */
    struct c3sim_txn *txn;
    size_t txn_cap, txn_head, txn_count;
    uint64_t txn_serial;              /* serial of the next row to be written (= rows ever written) */
    uint32_t txn_next_index;          /* Index of the next row (running record number, from 1) */
    uint64_t read_ptr;                /* serial of the first row a new-records read returns */
    uint64_t newrec_end;              /* serial after the last row the last new-records read returned */
    /* the big-data buffer (one per panel, reset by every connect, like the firmware's) */
    uint8_t *big;
    size_t big_len, big_cap, big_got;
    bool big_to_pc;                   /* filled by a reply (panel -> client) */
    uint8_t big_cmd;                  /* HASH_DATA: what a client upload is for (7 set, 9 delete) */
    uint32_t package;                 /* MaxLen: largest reply; chunks are package - 12 */
    uint64_t reads_served;            /* READ_DATA answers (for the cut fault) */
    uint64_t counts_served;           /* GET_DATA_COUNT answers for the transaction table (for tests) */
};

int c3sim_tables_init(struct c3sim_tables *t, enum c3sim_layout layout, size_t txn_cap, size_t user_max);
void c3sim_tables_free(struct c3sim_tables *t);

/* Insert or replace (by key) a row of a data table: fields by name, values as text (decimal for numbers, the bytes
 * for text). 0, or -1 for an unknown table or field, or without memory. */
int c3sim_tables_put(struct c3sim_tables *t, const char *table, const char *const *fields, const char *const *values,
                     size_t n);

/* Append a row to the transaction table (every event the panel records). */
void c3sim_tables_record(struct c3sim_tables *t, uint32_t card, uint32_t pin, uint8_t verify, uint8_t door,
                         uint8_t type, uint8_t inout, uint32_t time);
/* The Index the next recorded row gets (the key/value RT log reports the same number). */
uint32_t c3sim_tables_next_index(const struct c3sim_tables *t);
/* Rows lost to wrapping since the table was created (rows written - rows kept). */
uint64_t c3sim_tables_txn_lost(const struct c3sim_tables *t);

/* A client connected: the big-data buffer is cleared. */
void c3sim_tables_connected(struct c3sim_tables *t);

/* What a command produced: a reply payload of code C8 (or 0x0D for a big-data header), or an error. */
struct c3sim_reply {
    uint8_t code;            /* C3_REPLY_OK, C3_REPLY_PREPARE or C3_REPLY_ERROR */
    int err;                 /* for C3_REPLY_ERROR: the panel error (-11, -13, -18 ...), 0 = firmware's 0 byte */
    uint8_t *data;           /* malloc'd payload (NULL when empty); the caller frees it */
    size_t len;
};

/* Handle one table or big-data command (0x06 0x07 0x08 0x09 0x0A 0x0D 0x0E 0x0F 0x11 0x19 0x77). Returns false
 * when cmd is not one of them. */
bool c3sim_tables_command(struct c3sim_tables *t, uint8_t cmd, const uint8_t *p, size_t len, struct c3sim_reply *r);

/* Structure text (GET_TABLE_STRUCT) into out; returns its length (NUL-terminated) or -3 when cap is too small. */
int c3sim_tables_struct_text(const struct c3sim_tables *t, char *out, size_t cap);
/* Rows in a table by name (transaction included); -1 if no such table. */
long c3sim_tables_count(const struct c3sim_tables *t, const char *name);
/* One-line summary: "txn=N/CAP first=I last=J read=K users=U ...". */
void c3sim_tables_describe(const struct c3sim_tables *t, char *out, size_t cap);

#endif
