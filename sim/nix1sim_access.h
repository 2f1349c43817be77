/* nix1sim_access: what a simulated NiX1 slave does when an iButton touches a probe (spec §5.11): the
 * decision steps, the credential rewrite on a grant, ACCESS/ACTIVITY logging, and the door relay by cron mode. */
#ifndef PORTIER_NIX1SIM_ACCESS_H
#define PORTIER_NIX1SIM_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/nix1/nix1_access.h"
#include "drivers/nix1/nix1_hash.h"
#include "sim/nix1sim_slave.h"

/* A virtual iButton. Unset fields take defaults that make a correct credential for that uid: the newest
 * key of KEYS.TXT, the user's inc from USERS.<C>, the hash computed from both. */
struct nix1sim_ibutton {
    nix1_addr_t rom;            /* default: family 0x0C, serial from the uid, valid CRC */
    bool has_rom;
    char uid[NIX1_UID_MAX + 1];
    bool has_key_ts, has_inc, has_hash;
    uint64_t key_ts;
    unsigned inc;
    char hash[NIX1_HASH_HEX_LEN + 1];
    bool valid;    /* false: the default hash is deliberately wrong */
    bool readable; /* false: CRC error on read (49) */
    bool od;       /* the key supports overdrive */
};

void nix1sim_ibutton_init(struct nix1sim_ibutton *b, const char *uid);

enum nix1sim_outcome {
    NIX1SIM_IGNORED_DISABLED, /* ENABLE 0: nothing happens, nothing is logged */
    NIX1SIM_IGNORED_TIMEOUT,  /* inside this probe's BAD_ACCESS_TIMEOUT */
    NIX1SIM_DECIDED,          /* rc says granted (00) or why not; logged */
};

struct nix1sim_decision {
    enum nix1sim_outcome outcome;
    uint8_t rc;
    bool activity;        /* logged to ACTIVITY (49, 54) rather than ACCESS */
    uint64_t new_key_ts;  /* on a grant: the credential now on the iButton */
    char new_hash[NIX1_HASH_HEX_LEN + 1];
};

/* Present b on probe 1|2 of s. Returns 0, or -1 if the probe is not 1 or 2. */
int nix1sim_access_present(struct nix1sim_slave *s, unsigned probe, const struct nix1sim_ibutton *b,
                           struct nix1sim_decision *out);

/* The door of this probe is unlocked now (relay energised, cron window, no LOCK). */
bool nix1sim_access_unlocked(struct nix1sim_slave *s, unsigned probe);
/* True while the slave cron window is open at the slave's local time. */
bool nix1sim_access_window(struct nix1sim_slave *s);

#endif
