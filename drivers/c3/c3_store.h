/* c3_store: a panel's data tables through a c3_session, for the CLI and the site: the list of tables with their
 * fields and row counts, whole tables as text rows, and changes (add, set, replace everything, delete) that are
 * checked completely before anything is written, shown as a difference, written, and read back. Loop-driven. */
#ifndef PORTIER_C3_STORE_H
#define PORTIER_C3_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/csv.h"
#include "drivers/c3/c3_rows.h"
#include "drivers/c3/c3_session.h"
#include "drivers/c3/c3_userdata.h"
#include "drivers/c3/c3_xfer.h"

enum c3_store_op {
    C3_STORE_TABLES,   /* every table: name, id, fields, rows */
    C3_STORE_LIST,     /* the rows of a kind or table */
    C3_STORE_ADD,      /* new rows: a key that exists already is refused */
    C3_STORE_SET,      /* insert or update by key */
    C3_STORE_REPLACE,  /* the rows are the whole content: what is not in them is deleted */
    C3_STORE_DELETE,   /* rows by key (kinds) or by one field value (raw tables) */
};

struct c3_store_req {
    enum c3_store_op op;
    int kind;                  /* enum c3_kind, or -1 for a raw table */
    const char *table;         /* the raw table's name (kind -1) */
    const struct csv *rows;    /* ADD/SET/REPLACE: rows (operator columns, or field names for a raw table);
                                  DELETE of a kind: rows with the kind's key columns */
    const char *where_field;   /* raw LIST/DELETE: only rows whose field equals where_value; REPLACE: the rows
                                  replace only those (a column of the kind, "pin"), every row must have it */
    const char *where_value;
    bool dry_run;              /* check and compute the difference, write nothing */
};

struct c3_store_result {
    int err;                   /* 0, or a panel / session / C3_E_* code; C3_S_INVALID for refused input */
    const char *msg;           /* what went wrong ("line 4: card: ...") or "" */
    const struct csv *rows;    /* LIST, TABLES: the rows */
    const struct csv *cur;     /* changes: the panel's rows before (operator form for kinds) */
    const struct csv *want;    /* ... and what they become */
    const struct c3_diff *diff;/* cur -> want by key */
    const char *const *keys;   /* ... the key columns it compared by (NULL: the first column) */
    size_t nkeys;
    bool written;              /* something was sent */
    size_t mismatches;         /* rows that read back different after the write (0 = verified) */
    const char *note;          /* an extra line for the operator ("also removed 3 access rows"), or "" */
};
typedef void (*c3_store_cb)(void *arg, const struct c3_store_result *r);

/* One change as the operator reads it: "+ pin=7 card=1234 name=Ann", "~ pin=7: card 1234 -> 5678" (an update
 * named by its key), "- pin=9 ...". */
void c3_store_change_text(const struct c3_store_result *r, const struct c3_change *c, char *out, size_t cap);
/* The summary of a change: "1 added, 0 changed, 2 deleted, 5 unchanged: written and read back". */
void c3_store_summary(const struct c3_store_result *r, bool dry_run, char *out, size_t cap);

/* The same as JSON objects (jansson's json_t, new references; NULL without memory), the one shape of portierctl's
 * --json and of portierd's panel-data records (doc/protocol.md): a row {"FIELD": "VALUE", ...} in the header's
 * order; a change {"change": "add"|"update"|"delete", "row": {...}, "was": {...} (update: the row before)}; the
 * summary {"added", "updated", "deleted", "unchanged", "dry_run", "written", "mismatches", "note" (when there is
 * one)}. A cell that is not UTF-8 is left out of its row (JSON holds no such text). */
struct json_t;
struct json_t *c3_store_row_json(const struct csv *t, size_t row);
struct json_t *c3_store_change_json(const struct c3_store_result *r, const struct c3_change *c);
struct json_t *c3_store_summary_json(const struct c3_store_result *r, bool dry_run);

struct c3_store;
/* Start one operation (the request is copied). NULL with *err set when it cannot start. cb is called once. */
struct c3_store *c3_store_run(struct c3_session *s, const struct c3_store_req *req, const struct c3_xfer_opts *o,
                              c3_store_cb cb, void *arg, int *err);
/* Stop caring (cb is not called): a request still queued is never sent; one on the wire is awaited. */
void c3_store_cancel(struct c3_store *st);
/* Free now, only right before c3_session_free. */
void c3_store_destroy(struct c3_store *st);

#endif
