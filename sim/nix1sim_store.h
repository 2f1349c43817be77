/* nix1sim_store: one simulated NiX1 slave's µSD card, kept as real files in a directory.
 * FAT 8.3 names (validated, stored uppercase), atomic rewrite, append, list, copy, format, card in/out. */
#ifndef PORTIER_NIX1SIM_STORE_H
#define PORTIER_NIX1SIM_STORE_H

#include <stdbool.h>
#include <stddef.h>

enum nix1sim_store_rc {
    NIX1SIM_STORE_OK = 0,
    NIX1SIM_STORE_NOCARD,   /* card removed: 7B */
    NIX1SIM_STORE_NOTFOUND, /* 4E */
    NIX1SIM_STORE_BADNAME,  /* not a FAT 8.3 name: 50 */
    NIX1SIM_STORE_IO,       /* read/write/rename failed: 57 (or 4C/63 by context) */
};

#define NIX1SIM_NAME_MAX 13 /* 8 + '.' + 3 + NUL */

struct nix1sim_store {
    char *dir;            /* owned */
    bool card_in;
    unsigned long gen;    /* bumped by every change; lets readers cache derived data */
};

/* Validate a FAT 8.3 name (1-8 of ALNUM _ - # ~, optional '.' and 1-3 of ALNUM _) and write it uppercased
 * into out. Returns false for anything else (no path separators can pass). */
bool nix1sim_store_name(const char *name, char out[NIX1SIM_NAME_MAX]);

/* Create (mkdir -p) base/sub and use it. Returns 0, or -1 with errno. */
int nix1sim_store_open(struct nix1sim_store *st, const char *base, const char *sub);
void nix1sim_store_close(struct nix1sim_store *st);

/* All operations take validated names (use nix1sim_store_name first) and fail with NOCARD when the card is out.
 * read: the whole file, NUL-terminated (the NUL is not counted), malloc'd; *data is NULL unless OK. */
int nix1sim_store_read(struct nix1sim_store *st, const char *name, char **data, size_t *len);
/* Atomically replace the file with data (temp file + rename). */
int nix1sim_store_write(struct nix1sim_store *st, const char *name, const void *data, size_t len);
int nix1sim_store_append(struct nix1sim_store *st, const char *name, const void *data, size_t len);
int nix1sim_store_remove(struct nix1sim_store *st, const char *name);
/* OK with *size when the file exists, NOTFOUND otherwise. size may be NULL. */
int nix1sim_store_stat(struct nix1sim_store *st, const char *name, size_t *size);
/* Atomically move from over to (to is replaced). */
int nix1sim_store_rename(struct nix1sim_store *st, const char *from, const char *to);
int nix1sim_store_copy(struct nix1sim_store *st, const char *from, const char *to);
/* Erase every file on the card. */
int nix1sim_store_format(struct nix1sim_store *st);

/* The files whose extension equals ext (case-insensitive; NULL = all), sorted by name. Returns the count
 * (names in *names, each NIX1SIM_NAME_MAX chars, sizes in *sizes; both malloc'd) or -rc on failure. */
int nix1sim_store_list(struct nix1sim_store *st, const char *ext, char (**names)[NIX1SIM_NAME_MAX],
                       size_t **sizes);

#endif
