/* nix1_prov: commissioning helpers, provisioning of slaves from the server files (keys.txt, units.txt,
 * users.txt, cron.txt) pushing only the difference, and the daily key rotation (spec §2.4, §5.9, §5.10). */
#ifndef PORTIER_NIX1_PROV_H
#define PORTIER_NIX1_PROV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/nix1/nix1_bus.h"
#include "drivers/nix1/nix1_files.h"

struct nix1_prov_report {
    size_t slaves, changed_slaves, verified, failed, unreachable;
    size_t commands;     /* record commands sent (Nk Nx Nr Dx Dr Dk) */
    size_t records;      /* records changed */
    size_t files_pushed; /* whole files uploaded */
    size_t deleted;      /* files deleted (or keys pruned by rotation) */
    uint64_t key_ts;     /* rotation: timestamp of the new key */
    uint64_t elapsed_us;
};

struct nix1_prov_opts {
    void (*log)(void *arg, const char *line); /* one human line per action / finding */
    void *log_arg;
    bool all_users;      /* USERS.<C>: every user (true) or only users with a right on the slave's units */
};

typedef void (*nix1_prov_cb)(void *arg, const struct nix1_prov_report *r);

struct nix1_prov;

/* Load DIR's server files, then for each slave: read its units (Qu), compute its KEYS.TXT, USERS.<C> and
 * <unit>U.<C> files, list what it holds (Qi), compare (Qp, Qg), push the difference as records or whole
 * files (whichever is shorter on the wire), delete managed files it should not have, and verify.
 * Returns NULL with a message in err when the server files cannot be read. cb runs once, from the loop. */
struct nix1_prov *nix1_prov_start(nix1_bus_t *bus, const char *dir, const nix1_addr_t *slaves, size_t n,
                                  const struct nix1_prov_opts *o, nix1_prov_cb cb, void *arg, char *err,
                                  size_t errlen);

/* Daily key rotation: generate a key from OS randomness, prepend it to DIR/keys.txt (atomically), broadcast
 * Nk, then Dk (broadcast) every timestamp older than now - max_age_s and drop those from keys.txt (the
 * newest key is never pruned). Slaves listed are verified with Qk. */
struct nix1_prov *nix1_prov_rotate_key(nix1_bus_t *bus, const char *dir, uint64_t now, uint64_t max_age_s,
                                       const nix1_addr_t *slaves, size_t n, const struct nix1_prov_opts *o,
                                       nix1_prov_cb cb, void *arg, char *err, size_t errlen);

void nix1_prov_free(struct nix1_prov *p);

/* The largest server file read (16 MiB). */
#define NIX1_PROV_FILE_MAX (16u << 20)

/* Read the server files of dir: keys.txt into keys, users.txt into users, cron.txt into rights; lines
 * that do not parse are reported in d and skipped. A missing users.txt or cron.txt means none when optional, an
 * error otherwise. 0; -1 when a file cannot be read (err "DIR/NAME: why", errno kept); -2 out of memory. */
int nix1_prov_read_server(const char *dir, bool optional, struct nix1_keys *keys, struct nix1_users *users,
                          struct nix1_rights *rights, struct nix1_diag *d, char *err, size_t errlen);

/* Cost on the wire, in characters (requests + expected replies), of pushing `len` bytes as one file
 * named name, and of sending one record command with option text opt. Used to choose records vs file. */
size_t nix1_prov_file_cost(const char *name, size_t len);
size_t nix1_prov_record_cost(size_t opt_len);

#endif
