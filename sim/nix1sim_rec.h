/* nix1sim_rec: the slave's TAB-separated record files on the µSD (KEYS.TXT, USERS.<C>, <unit>U.<C>):
 * find, add-or-replace and delete a record by its first field; KEYS.TXT ordered by descending timestamp. */
#ifndef PORTIER_NIX1SIM_REC_H
#define PORTIER_NIX1SIM_REC_H

#include <stddef.h>

#include "sim/nix1sim_store.h"

#define NIX1SIM_REC_MAX 1024 /* longest record line returned */

/* The first line whose first field (up to the first TAB) equals key, without its LF (CR dropped).
 * Store rc: NOTFOUND when the file or the record is missing. */
int nix1sim_rec_get(struct nix1sim_store *st, const char *file, const char *key, char *out, size_t cap);
/* The first non-empty line of the file; NOTFOUND when missing or empty. */
int nix1sim_rec_first(struct nix1sim_store *st, const char *file, char *out, size_t cap);
/* Replace the record with that key in place (all its lines), or append it; line has no LF. */
int nix1sim_rec_put(struct nix1sim_store *st, const char *file, const char *key, const char *line);
/* Remove every record with that key; the file is deleted when it becomes empty. NOTFOUND if none. */
int nix1sim_rec_del(struct nix1sim_store *st, const char *file, const char *key);

/* KEYS.TXT: insert "ts\tkey" before the first entry with ts <= this ts (an exact duplicate is a no-op). */
int nix1sim_rec_key_insert(struct nix1sim_store *st, unsigned long long ts, const char *line);
/* KEYS.TXT: remove every entry with this ts; NOTFOUND if none. */
int nix1sim_rec_key_delete(struct nix1sim_store *st, unsigned long long ts);

/* Iterate the lines of a buffer: returns 0 at the end. ln, ll: the line without LF (and CR). */
int nix1sim_rec_next(const char *d, size_t n, size_t *pos, const char **ln, size_t *ll);

#endif
