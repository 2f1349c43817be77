/* nix1_door: the one owner of door control on NiX1 slaves (spec §5.14): lock-out, hold open / release with the
 * remembered CRON and CRON_MODE, the fail-safe timed open on the slave's own clock, the bus-wide and the partial
 * emergency with their pre-emergency snapshot, restore checked against what the slaves report, partial results.
 * What it remembers is written through a store callback *before* the first request that changes a door. */
#ifndef PORTIER_NIX1_DOOR_H
#define PORTIER_NIX1_DOOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cron.h"
#include "drivers/nix1/nix1_bus.h"

#define NIX1_DOOR_OPEN_CRON "* * * * *"

/* What the master remembers of one slave. Read-only for callers: only nix1_door changes it. */
struct nix1_door_slave {
    nix1_addr_t addr;
    bool known;            /* cron, mode and locks below were read from the slave (the state to go back to) */
    bool has_cron;
    char cron[CRON_TEXT_MAX + 1];
    uint8_t cron_mode;
    bool lock[2];
    bool held;             /* portier holds it open (hold, or a timed open while held_until is set) */
    int64_t held_until_us; /* timed open: wall-clock end of the window set on the slave (0 = a plain hold) */
    int64_t want_until_us; /* timed open: the end asked for (later than held_until when cut at an hour) */
    bool in_emergency;     /* the emergency profile is applied (or about to be) */
    bool restore_pending;  /* a restore is due (interrupted, or the slave did not answer): done when it answers */
    bool restore_locked;   /* the due restore is "locked" (no cron window, mode 0) instead of the snapshot */
};

struct nix1_door;

enum nix1_door_held { NIX1_HELD_NONE, NIX1_HELD_KEPT, NIX1_HELD_WINDOW, NIX1_HELD_RELEASED, NIX1_HELD_FOREIGN };

/* Per-slave outcome of an operation. */
struct nix1_door_outcome {
    nix1_addr_t addr;
    bool ok;              /* done and confirmed (restores: read back and equal to what was wanted) */
    bool unreachable;     /* no answer (a restore stays pending and is done when the slave answers) */
    bool open_profile;    /* a read showed cron "* * * * *" with mode 1 that portier did not set: not remembered */
    unsigned resent;      /* unicast re-sends after the broadcast (emergency) or after a read-back (restore) */
    uint8_t rc;           /* slave error code when !ok && !unreachable */
    int64_t until_us;     /* timed open: wall-clock end of the window set; check_held: end of a running window */
    char cron[CRON_TEXT_MAX + 1]; /* timed open: the window cron sent */
    enum nix1_door_held held;     /* check_held: what was found */
    char msg[160];
};

struct nix1_door_report {
    const char *op;       /* "emergency on", "release", ... */
    size_t n;
    const struct nix1_door_outcome *v;
    size_t ok, failed, unreachable;
    uint64_t elapsed_us;
    const char *store_error; /* the remembered state could not be stored before acting (NULL = stored) */
};

typedef void (*nix1_door_cb)(void *arg, const struct nix1_door_report *r);
/* Store the remembered state durably (text as nix1_door_save makes it): 0, or -1 with err filled. */
typedef int (*nix1_door_store_fn)(void *arg, const char *text, size_t len, char *err, size_t errlen);

/* bus may be NULL for a door that only reads a state text (nix1_door_load and the queries; operations refuse). */
struct nix1_door *nix1_door_new(nix1_bus_t *bus);
void nix1_door_free(struct nix1_door *d);
/* Teardown while an operation may be on the wire: nix1_door_unlisten(d), then nix1_bus_free(bus) (its pending
 * requests complete, so the operation ends and its callback runs), then nix1_door_free(d), which then leaves
 * the freed bus alone. */
void nix1_door_unlisten(struct nix1_door *d);
/* Where the remembered state goes: called before the first request that changes a door (write-ahead) and after
 * every operation. Without a store nothing is kept. A store that fails refuses holds and timed opens; an
 * emergency goes on (life safety) and says so in its report. */
void nix1_door_set_store(struct nix1_door *d, nix1_door_store_fn fn, void *arg);

/* Known slaves and what is remembered of them. */
/* A slave added while the bus-wide emergency is on is in the emergency, its previous schedule unknown. */
int nix1_door_add(struct nix1_door *d, const nix1_addr_t *a);
const struct nix1_door_slave *nix1_door_find(const struct nix1_door *d, const nix1_addr_t *a);
size_t nix1_door_count(const struct nix1_door *d);
const struct nix1_door_slave *nix1_door_at(const struct nix1_door *d, size_t i);
/* The bus-wide emergency is on (its intent was recorded, even if the broadcast has not finished). */
bool nix1_door_emergency_active(const struct nix1_door *d);
/* Any slave still in the emergency profile, or with a restore due. */
bool nix1_door_emergency_left(const struct nix1_door *d);
bool nix1_door_busy(const struct nix1_door *d);

/* Remembered state as text (one line per slave) and back. Load returns 0 or -1 (bad text; what was valid is
 * kept). */
char *nix1_door_save(const struct nix1_door *d, size_t *len);
int nix1_door_load(struct nix1_door *d, const char *text, size_t len);

/* Operations. Each returns 0 when started (cb runs once, later, from the loop), 1 when there is nothing to do
 * (no callback), or -1 when refused now (busy with another operation, bad arguments). */

/* Read and remember CRON, CRON_MODE and both locks of the listed slaves (v = NULL: every known slave), except
 * those held, in an emergency or with a restore due (their remembered state is the one to go back to). */
int nix1_door_refresh(struct nix1_door *d, const nix1_addr_t *v, size_t n, nix1_door_cb cb, void *arg);
/* Nl<p>\t<1|0>. */
int nix1_door_lock(struct nix1_door *d, const nix1_addr_t *a, unsigned probe, bool locked, nix1_door_cb cb,
                   void *arg);
/* Hold open (remember, Nh* * * * *, No1) or release (read back, then restore cron or Dh, and cron mode, and
 * read back again). */
int nix1_door_hold(struct nix1_door *d, const nix1_addr_t *a, bool on, nix1_door_cb cb, void *arg);
/* Fail-safe timed open, computed on the slave's clock and zone (read with Qt): `minutes` whole cron minutes from
 * the slave's current minute, or, when minutes is 0, the whole minutes that cover `seconds` from now. A window
 * is cut at the hour (the slave closes early, never late); the outcome says until when (wall clock) and
 * want_until_us remembers the rest. Refused during an emergency. */
int nix1_door_timed_open(struct nix1_door *d, const nix1_addr_t *a, unsigned minutes, unsigned seconds,
                         nix1_door_cb cb, void *arg);
/* The whole bus. On: remember every slave whose state is not known (unless the emergency is already on), record
 * the intent, broadcast Nl1\t0, Nl2\t0, Nh* * * * *, No1, verify each slave with Ql1 Ql2 Qh Qo and re-send by
 * unicast where it differs. Off: record the intent, then restore every slave in the emergency by unicast
 * (`locked`: no cron window and mode 0 instead of the remembered schedule; lock-outs as remembered), checked
 * against what it reports; unreachable ones stay pending and are restored when they answer. A slave held
 * before the emergency stays held. */
int nix1_door_emergency(struct nix1_door *d, bool on, bool locked, nix1_door_cb cb, void *arg);
/* The bus-wide emergency on, unlock first: the intent, the broadcast at once, then the same verification of every
 * known slave. A slave whose state was not remembered is not read before (its schedule is then unknown to the
 * restore, which needs `locked`); with no known slave at all the broadcast goes out alone (report with n = 0). */
int nix1_door_emergency_now(struct nix1_door *d, nix1_door_cb cb, void *arg);
/* A partial emergency: the listed probes (v[i] on slave a[i], probe 1 or 2) only. On: each slave remembered,
 * intent recorded, Nh* * * * *, No1, and Nl<p>\t0 for the listed probes, by unicast. Off: restore those slaves. */
int nix1_door_emergency_probes(struct nix1_door *d, const nix1_addr_t *a, const unsigned *probe, size_t n, bool on,
                               bool locked, nix1_door_cb cb, void *arg);
/* Restore now every slave with a restore due that answers (also done by itself when the bus hears one). */
int nix1_door_restore_pending(struct nix1_door *d, nix1_door_cb cb, void *arg);
/* A slave remembered as held by an earlier run: a hold ("* * * * *") stays; a timed-open window still running
 * is reported with its end (the caller releases it then); one that has passed, or no cron at all, is released
 * now; any other cron was set outside portier and is left (NIX1_HELD_FOREIGN). Reads Qt and Qh. */
int nix1_door_check_held(struct nix1_door *d, const nix1_addr_t *a, nix1_door_cb cb, void *arg);

/* A setting the caller sent took (Nh/Dh/No/Nl): keep the remembered state current, so that a release or an
 * emergency restore puts back the new schedule. */
void nix1_door_note_set(struct nix1_door *d, const nix1_addr_t *a, char cmd, char arg, const char *opt);
/* Why a setting may not be sent to the slave now (its door state belongs to portier), or NULL: CRON and
 * CRON_MODE (cmd 'h'/'o') while held or in an emergency, LOCK ('l') during an emergency. */
const char *nix1_door_guard(const struct nix1_door *d, const nix1_addr_t *a, char arg);

#endif
