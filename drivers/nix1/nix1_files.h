/* nix1_files: readers for the server files (keys.txt, units.txt, users.txt, cron.txt) and the slave µSD
 * files (CONFIG.TXT, KEYS.TXT, USERS.<C>, <unit>U.<C>, ACCESS.#, ACTIVITY.#), and the generators that
 * compute a slave's KEYS/USERS/rights files from server data. Pure: buffers in, structs and text out. */
#ifndef PORTIER_NIX1_FILES_H
#define PORTIER_NIX1_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cron.h"
#include "drivers/nix1/nix1_access.h"
#include "drivers/nix1/nix1_hash.h"

/* Collected problems, one "file:line: message\n" per line (the first 100 are kept as text). */
struct nix1_diag {
    size_t count;
    char *text;
    size_t len, cap;
};
void nix1_diag_free(struct nix1_diag *d);

struct nix1_key_entry {
    uint64_t ts;
    char key[NIX1_KEY_MAX + 1];
    unsigned line;
};
struct nix1_keys {
    struct nix1_key_entry *v;
    size_t n;
};

struct nix1_unit_entry {
    uint32_t id; /* 0..65534 */
    char *label; /* may hold UTF-8; never sent to a slave */
    unsigned line;
};
struct nix1_units {
    struct nix1_unit_entry *v;
    size_t n;
};

struct nix1_user_entry {
    char uid[NIX1_UID_MAX + 1];
    uint64_t ts;  /* timestamp of the last key read */
    unsigned inc; /* 0..99 */
    unsigned line;
};
struct nix1_users {
    struct nix1_user_entry *v;
    size_t n;
};

struct nix1_right_entry {
    uint32_t unit;
    char uid[NIX1_UID_MAX + 1];
    char cron[CRON_TEXT_MAX + 1];
    unsigned line;
};
struct nix1_rights {
    struct nix1_right_entry *v;
    size_t n;
};

/* Every reader: `name` is used in messages; data need not be NUL-terminated; LF or CRLF line ends;
 * blank lines and lines starting with '#' are skipped; a bad line is reported and skipped. Returns the
 * number of problems added to d (0 = clean), or -1 on out of memory. *out must be zeroed or freed before. */
int nix1_files_read_keys(const char *name, const char *data, size_t len, struct nix1_keys *out, struct nix1_diag *d);
int nix1_files_read_units(const char *name, const char *data, size_t len, struct nix1_units *out,
                          struct nix1_diag *d);
int nix1_files_read_users(const char *name, const char *data, size_t len, struct nix1_users *out,
                          struct nix1_diag *d);
/* cron.txt: unit_id \t user_id \t cron. */
int nix1_files_read_cron(const char *name, const char *data, size_t len, struct nix1_rights *out,
                         struct nix1_diag *d);
/* <unit>U.<C>: uid \t cron; unit is taken from the argument. */
int nix1_files_read_unit_rights(const char *name, uint32_t unit, const char *data, size_t len,
                                struct nix1_rights *out, struct nix1_diag *d);

void nix1_keys_free(struct nix1_keys *k);
void nix1_units_free(struct nix1_units *u);
void nix1_users_free(struct nix1_users *u);
void nix1_rights_free(struct nix1_rights *r);

/* uid rules for files and the wire: 1..128 printable ASCII chars, no TAB, first char [A-Za-z0-9], no
 * trailing space, and not exactly "0" (Dx0/Dr0 mean "all"). NULL if fine, else the reason. */
const char *nix1_uid_problem(const char *uid, size_t len);
/* '<C>' of USERS.<C> / <unit>U.<C>: the uppercase first char of the uid, or 0 if invalid. */
char nix1_uid_letter(const char *uid);

/* ---- CONFIG.TXT ---- */
struct nix1_config {
    unsigned bad_access_timeout;   /* 0..255 s */
    unsigned valid_access_timeout; /* 0..255 s */
    uint32_t baudrate;
    bool has_cron;
    char cron[CRON_TEXT_MAX + 1];
    unsigned cron_mode; /* 0..3 */
    bool enable, standalone, mobile;
    bool lock[2];     /* LOCK_0, LOCK_1 (probe 1, 2) */
    bool od_speed[2]; /* OD_SPEED_0, OD_SPEED_1 */
    int timezone;     /* minutes */
    bool has_unit[2];
    uint32_t unit[2]; /* UNIT_0, UNIT_1 */
    bool has_log_position;
    uint32_t log_doy, log_line;
};
/* Factory state (§5.7). */
void nix1_config_defaults(struct nix1_config *c);
/* Parse KEY<whitespace>VALUE lines on top of *c (keys not present keep their value). */
int nix1_files_read_config(const char *name, const char *data, size_t len, struct nix1_config *c,
                           struct nix1_diag *d);
/* Write CONFIG.TXT (KEY TAB VALUE, keys in alphabetical order). Returns the length, or -1. */
int nix1_config_format(const struct nix1_config *c, char *buf, size_t cap);
/* Mode for Qm: 0 inactive, 1 normal, 2 mobile, 3 standalone. */
unsigned nix1_config_mode(const struct nix1_config *c);

/* ---- ACCESS.# / ACTIVITY.# ---- */
struct nix1_log_record {
    bool is_header; /* ACTIVITY header: "<ts>\tSlave ID: <ADDR16>\tGeneral status: <hex2>" */
    uint64_t header_ts;
    uint8_t header_status;
    struct nix1_access access; /* header: only .slave is set */
    unsigned line;
};
struct nix1_log {
    struct nix1_log_record *v;
    size_t n;
};
int nix1_files_read_log(const char *name, const char *data, size_t len, struct nix1_log *out, struct nix1_diag *d);
void nix1_log_free(struct nix1_log *l);
/* Day-of-year file names: ACCESS.<doy>, 1-based, no padding; doy from a local time (UTC + tz). */
int nix1_files_doy(uint64_t ts, int tz_minutes);

/* ---- generators ---- */
struct nix1_gen_file {
    char name[13]; /* 8.3 */
    char *data;
    size_t len;
};
struct nix1_genset {
    struct nix1_gen_file *v; /* sorted by name */
    size_t n;
};
/* Compute the exact contents of KEYS.TXT (all keys, newest first, stable for equal timestamps, exact
 * duplicates dropped), each USERS.<C> (all users of users.txt when all_users, else only users with a
 * right on one of `units`), and each <unit>U.<C> for the units the slave serves (rights from cron.txt in
 * file order). A file that would be empty is not produced (the slave should not have it; KEYS.TXT is
 * deleted with Dk0). Lines end with LF. Returns 0, or -1 on bad input / out of memory. */
int nix1_files_generate(const struct nix1_keys *keys, const struct nix1_users *users, const struct nix1_rights *rights,
                        const uint32_t *units, size_t nunits, bool all_users, struct nix1_genset *out);
void nix1_genset_free(struct nix1_genset *g);
const struct nix1_gen_file *nix1_genset_find(const struct nix1_genset *g, const char *name);
/* True for the µSD names the generator manages: KEYS.TXT, USERS.<C>, <digits>U.<C> (case-insensitive). */
bool nix1_files_is_managed(const char *name);

#endif
