/* c3_userdata: a panel's users, cards, access rights, time zones and holidays as an operator writes them (CSV
 * columns, checks that name the line and the field), their data-table rows, and the difference between what a
 * panel holds and what is wanted. Pure: text tables in (core/csv), text tables and request bodies out. */
#ifndef PORTIER_C3_USERDATA_H
#define PORTIER_C3_USERDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/csv.h"
#include "drivers/c3/c3_data.h"
#include "drivers/c3/c3_rows.h"
#include "drivers/c3/c3_tables.h"

enum c3_kind {
    C3_KIND_USERS,      /* table user: pin, card, password, group, start, end, name, super */
    C3_KIND_CARDS,      /* the user table seen by card: card, pin, name */
    C3_KIND_ACCESS,     /* table userauthorize, one row per user x door: pin, door, timezone */
    C3_KIND_TIMEZONES,  /* table timezone: id and up to 3 intervals per day and holiday type */
    C3_KIND_HOLIDAYS,   /* table holiday: date, type, loop */
    C3_KIND_COUNT
};
const char *c3_kind_name(enum c3_kind k);        /* "users" ... */
int c3_kind_from_name(const char *name);         /* -1 when unknown */
const char *c3_kind_table(enum c3_kind k);       /* the panel table it lives in ("user" ...) */
/* The CSV columns (export header, import columns) and the key columns of a kind. */
size_t c3_kind_columns(enum c3_kind k, const char *const **cols);
size_t c3_kind_keys(enum c3_kind k, const char *const **keys);

/* What a conversion needs to know about the panel. */
struct c3_kind_ctx {
    const struct c3_table_def *def;  /* the kind's table as this panel describes it */
    unsigned doors;                  /* LockCount (1, 2, 4); 0 = 4 */
    const struct csv *users;         /* cards: the panel's user rows (raw), which the cards go into */
    bool replace;                    /* cards: users not in the file lose their card */
    /* access: the panel's user and timezone rows (raw); a right of a user or a time zone the panel does not hold
     * is refused (NULL: not checked) */
    const struct csv *ref_users, *ref_timezones;
};

/* The numbers that name a user, card, door or time zone (pin, card, door, timezone, id) without leading zeros (pin
 * 007 is the user 7), in place, so that a request finds the panel's row of its key; cells that are not numbers
 * are left for the import to refuse. 0 or -1 (memory). c3_kind_key_canon: the same for one value of column col. */
int c3_kind_keys_canon(enum c3_kind k, struct csv *in);
void c3_kind_key_canon(enum c3_kind k, const char *col, const char *in, char *out, size_t cap);
/* The panel's rows (raw: header = the table's field names) as operator rows, sorted by key. */
int c3_kind_export(enum c3_kind k, const struct csv *raw, struct csv *out, char *err, size_t errlen);
/* Operator rows (a CSV file or one command line) checked and turned into raw rows of the table. Every problem is
 * "LINE: COLUMN: what is wrong" (line = in->line, or the row number when 0); the first one fails the whole
 * import. Unknown columns, duplicate keys and duplicate card numbers are refused. */
int c3_kind_import(enum c3_kind k, const struct c3_kind_ctx *ctx, const struct csv *in, struct csv *raw, char *err,
                   size_t errlen);

/* ---- a user's doors: the rule of the console's user editor and of `users add|set ... --doors` ----
 * A user is given doors as a list of door numbers and one time zone for all of them; that becomes the user's
 * access rows (one per door), which replace the rights the user had. */
#define C3_DOORS_MAX 4
/* "1 2", "1,2": door numbers 1..doors, each once, in the order given. The count (0 for an empty list), or -1 with
 * err = "X is not a door of PANEL (1-N, separated by spaces)". */
int c3_doors_parse(const char *s, unsigned doors, const char *panel, unsigned out[C3_DOORS_MAX], char *err,
                   size_t errlen);
/* The doors' time zone against the panel's time zones (export form, column id; NULL or without that column: not
 * known, the panel checks). 0, or -1 with err = what is wrong. */
int c3_doors_tz_check(const char *tz, const struct csv *tzs, char *err, size_t errlen);
/* The user's access rows (pin,door,timezone), one per door. 0, or -1 without memory. */
int c3_doors_access(const char *pin, const unsigned *doors, size_t n, const char *tz, struct csv *out);
/* "+ pin=7 door=1 timezone=1": access row r of a user not on the panel yet (its rights cannot be checked by a
 * dry run before the user is written: the doors and time zone were checked above), as a dry run lists it. */
void c3_doors_added_text(const struct csv *access, size_t r, char *out, size_t cap);

/* ---- field formats (exposed for tests and the console) ---- */
/* YYYYMMDD <-> "YYYY-MM-DD" (0 <-> ""). parse: 0, or -1 for anything but a real date 2000-01-01..2099-12-31. */
int c3_date_parse(const char *s, uint32_t *v);
void c3_date_format(uint32_t v, char *out, size_t cap);
/* A day's time-zone cell: up to 3 intervals "HH:MM-HH:MM" separated by spaces <-> 3 range words
 * ((start hhmm << 16) | end hhmm, 0 = unused). parse: 0 or -1 with the reason in err. */
int c3_tz_day_parse(const char *s, uint32_t out[3], char *err, size_t errlen);
void c3_tz_day_format(const uint32_t in[3], char *out, size_t cap);

#endif
