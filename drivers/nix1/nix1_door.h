/* nix1_door: door control on NiX1 slaves and the bus-wide emergency profile, exactly as spec §5.14:
 * lock-out, hold open / release with remembered CRON and CRON_MODE, fail-safe timed open, emergency. */
#ifndef PORTIER_NIX1_DOOR_H
#define PORTIER_NIX1_DOOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cron.h"
#include "drivers/nix1/nix1_bus.h"

#define NIX1_DOOR_OPEN_CRON "* * * * *"

/* What the master remembers of one slave (read before changing it, kept across runs by the caller). */
struct nix1_door_slave {
    nix1_addr_t addr;
    bool known;          /* cron, mode and locks below were read from the slave */
    bool has_cron;
    char cron[CRON_TEXT_MAX + 1];
    uint8_t cron_mode;
    bool lock[2];
    bool held;           /* hold open (or a timed open) is active: cron/mode above are the ones to restore */
    bool in_emergency;   /* emergency state applied (or due): cron/mode/locks above are the ones to restore */
    bool restore_pending;/* must be restored as soon as the slave answers again */
};

struct nix1_door;

/* Per-slave outcome of an operation. */
struct nix1_door_outcome {
    nix1_addr_t addr;
    bool ok;              /* done and confirmed */
    bool unreachable;     /* no answer (restore is kept pending for emergency off / release) */
    unsigned resent;      /* unicast re-sends after the broadcast (emergency) */
    uint8_t rc;           /* slave error code when !ok && !unreachable */
    char msg[120];
};

struct nix1_door_report {
    const char *op;       /* "emergency on", "release", ... */
    size_t n;
    const struct nix1_door_outcome *v;
    size_t ok, failed, unreachable;
    uint64_t elapsed_us;
};

typedef void (*nix1_door_cb)(void *arg, const struct nix1_door_report *r);

struct nix1_door *nix1_door_new(nix1_bus_t *bus);
void nix1_door_free(struct nix1_door *d);
/* Teardown while an operation may be on the wire: nix1_door_unlisten(d), then nix1_bus_free(bus) (its pending
 * requests complete, so the operation ends and its callback runs), then nix1_door_free(d), which then leaves
 * the freed bus alone. */
void nix1_door_unlisten(struct nix1_door *d);

/* Known slaves and what is remembered of them. */
struct nix1_door_slave *nix1_door_slave(struct nix1_door *d, const nix1_addr_t *a, bool create);
size_t nix1_door_count(const struct nix1_door *d);
const struct nix1_door_slave *nix1_door_at(const struct nix1_door *d, size_t i);
bool nix1_door_emergency_active(const struct nix1_door *d);

/* Remembered state as text (one line per slave) and back; for a state file kept by the caller.
 * Load returns 0 or -1 (bad text; what was valid is kept). */
char *nix1_door_save(const struct nix1_door *d, size_t *len);
int nix1_door_load(struct nix1_door *d, const char *text, size_t len);

/* Operations; each returns 0 when started (cb runs once, later, from the loop) or -1 (busy with another
 * operation, or no slaves). */
/* Read and remember CRON, CRON_MODE and both locks of each listed slave (refresh). */
int nix1_door_snapshot(struct nix1_door *d, const nix1_addr_t *v, size_t n, nix1_door_cb cb, void *arg);
/* Nl<p>\t<1|0>. */
int nix1_door_lock(struct nix1_door *d, const nix1_addr_t *a, unsigned probe, bool locked, nix1_door_cb cb,
                   void *arg);
/* Hold open (remember, Nh* * * * *, No1) or release (restore cron or Dh, and cron mode). */
int nix1_door_hold(struct nix1_door *d, const nix1_addr_t *a, bool on, nix1_door_cb cb, void *arg);
/* Fail-safe timed open for `minutes` from `now` (local time = UTC + tz_minutes): a minute-window cron and
 * No1. The window's real end goes to *until. */
int nix1_door_timed_open(struct nix1_door *d, const nix1_addr_t *a, unsigned minutes, time_t now, int tz_minutes,
                         time_t *until, nix1_door_cb cb, void *arg);
/* Emergency on: remember every known slave (unless an emergency is already active), broadcast
 * Nl1\t0, Nl2\t0, Nh* * * * *, No1, then verify each slave with Ql1 Ql2 Qh Qo and re-send by unicast
 * where it differs. Off: restore every slave by unicast; unreachable ones stay restore_pending and are
 * restored when they answer again (the door watches the bus). */
int nix1_door_emergency(struct nix1_door *d, bool on, nix1_door_cb cb, void *arg);
/* Restore now every slave marked restore_pending that is reachable (also done automatically when the bus
 * reports a slave back online). */
int nix1_door_restore_pending(struct nix1_door *d, nix1_door_cb cb, void *arg);
bool nix1_door_busy(const struct nix1_door *d);

#endif
