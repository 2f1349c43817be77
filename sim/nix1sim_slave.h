/* nix1sim_slave: one simulated NiX1 door slave: RAM config mirrored in CONFIG.TXT, RTC, general status,
 * upload state, and the execution of every request of spec §5.8 in the validation order of §5.5. */
#ifndef PORTIER_NIX1SIM_SLAVE_H
#define PORTIER_NIX1SIM_SLAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cron.h"
#include "core/loop.h"
#include "drivers/nix1/nix1_addr.h"
#include "drivers/nix1/nix1_files.h"
#include "drivers/nix1/nix1_line.h"
#include "sim/nix1sim_store.h"

#define NIX1SIM_VERSION "SIM-1.0"
#define NIX1SIM_RESTART_SILENT_MS 2000u /* Ds / reboot: the UART is down */
#define NIX1SIM_INIT_BUSY_MS 200u       /* then 16 while the slave initialises */
#define NIX1SIM_FORMAT_BUSY_MS 5000u    /* Da */
#define NIX1SIM_FLASH_TRY_MS 3000u      /* Nn: one flashing attempt */
#define NIX1SIM_LATENCY_US 5000u        /* RAM/CONFIG commands */
#define NIX1SIM_SD_LATENCY_US 20000u    /* µSD-heavy commands, plus 1 ms per KB touched */
#define NIX1SIM_CLOCK_VALID 946684800   /* 2000-01-01: before it the clock counts as not set */
#define NIX1SIM_GARBLE_MAX 8            /* garbled replies placed by count at once */

enum {
    NIX1SIM_ST_RESTARTED = 0x01,
    NIX1SIM_ST_CLOCK_UNSET = 0x02,
    NIX1SIM_ST_PENDING = 0x04,
    NIX1SIM_ST_SD_ERROR = 0x08,
    NIX1SIM_ST_FLASH_FAILED = 0x10,
};

struct nix1sim_slave;
/* Put bytes on the bus (the reply lines of this slave). */
typedef void (*nix1sim_tx_fn)(void *arg, struct nix1sim_slave *s, const char *data, size_t len);
/* Switch the bus rate after everything queued so far has been sent. */
typedef void (*nix1sim_baud_fn)(void *arg, struct nix1sim_slave *s, unsigned baud);

/* Per probe: the door state driven by grants, cron mode and locks. */
struct nix1sim_door {
    uint64_t relay_until_us; /* mode 0 (or outside the window): relay energised until then */
    bool window_open;        /* mode 2: unlocked until the window ends; mode 3: toggled by grants */
    uint64_t ignore_until_us;/* BAD_ACCESS_TIMEOUT after a refusal */
    unsigned granted, refused;
};

struct nix1sim_slave {
    loop_t *loop;
    nix1_addr_t addr;
    char id[NIX1_ADDR_LEN + 1];
    struct nix1sim_store store;
    struct nix1_config cfg; /* RAM mirror of CONFIG.TXT */
    uint8_t status;

    /* RTC (battery-backed: survives restarts): UTC = rtc_base + (now - rtc_mono_us) / 1e6 */
    int64_t rtc_base;
    uint64_t rtc_mono_us;
    bool clock_set;

    /* upload (§5.9) */
    bool up_active;
    unsigned up_n, up_received;

    /* availability */
    uint64_t silent_until_us, busy_until_us;
    bool muted, garble_next, flash_fail;
    /* faults placed by count (control `mute … after=N`, `garble … after=N`): the number of replies sent so far,
     * the reply that is not sent and mutes the slave (0 = none), and the replies to garble (0 = free slot) */
    uint64_t replies_out, mute_at;
    uint64_t garble_at[NIX1SIM_GARBLE_MAX];
    loop_timer_t boot_timer, flash_timer, door_timer, reply_timer;
    char flash_file[NIX1SIM_NAME_MAX];
    unsigned flash_tries_left;

    /* replies waiting for their latency to pass */
    char *pending;
    size_t pending_len, pending_cap;
    int pending_after;           /* what to do once the reply is out: restart, switch rate */
    unsigned pending_after_baud;

    /* b2 cache */
    unsigned long pend_gen;
    unsigned pend_doy, pend_line, pend_today;
    bool pend_valid, pend_value;

    struct nix1sim_door door[2];

    nix1sim_tx_fn tx;
    nix1sim_baud_fn set_baud;
    void *cb_arg;
    bool verbose;
};

/* Create a slave whose µSD lives in base/<ADDR16>; load CONFIG.TXT or write the factory state. */
struct nix1sim_slave *nix1sim_slave_new(loop_t *loop, const nix1_addr_t *addr, const char *base,
                                        nix1sim_tx_fn tx, nix1sim_baud_fn set_baud, void *cb_arg);
void nix1sim_slave_free(struct nix1sim_slave *s);

/* A line arrived at the slave's own, the scratch or the broadcast address (flags: NIX1SIM_LINE_*). */
void nix1sim_slave_line(struct nix1sim_slave *s, const char *line, size_t len, unsigned flags);

/* Unconfigured = both units unset: the slave answers the scratch address. */
bool nix1sim_slave_unconfigured(const struct nix1sim_slave *s);
/* Not muted, not restarting. */
bool nix1sim_slave_listening(const struct nix1sim_slave *s);

/* Power cycle: silent for NIX1SIM_RESTART_SILENT_MS, then boot (reload CONFIG.TXT, status b0). */
void nix1sim_slave_reboot(struct nix1sim_slave *s);
/* UTC seconds on the slave's RTC; set it (and mark the clock set). */
int64_t nix1sim_slave_time(const struct nix1sim_slave *s);
void nix1sim_slave_set_time(struct nix1sim_slave *s, int64_t ts);
/* Rewrite CONFIG.TXT from RAM. Returns a store rc. */
int nix1sim_slave_save_config(struct nix1sim_slave *s);
/* Pre-configure for the demo: units (< 0 = unset), ENABLE 1, clock from the host. */
/* The unit of probe p (1|2), or -1 when unset. */
int nix1sim_slave_unit(const struct nix1sim_slave *s, unsigned probe);
void nix1sim_slave_preconfigure(struct nix1sim_slave *s, int unit1, int unit2);
/* Card in/out (b3 follows). */
void nix1sim_slave_card(struct nix1sim_slave *s, bool in);

/* Day of year (1-based) of the slave's local time. */
unsigned nix1sim_slave_doy(const struct nix1sim_slave *s);
/* Append a line to ACCESS.<doy> or ACTIVITY.<doy> (rotating a stale file from last year). */
int nix1sim_slave_log(struct nix1sim_slave *s, bool activity, const char *line);
/* Log helper: the ACCESS-style record of spec §2.5. key_ts/unit < 0 = empty field; uid may be "". */
int nix1sim_slave_log_record(struct nix1sim_slave *s, bool activity, const char *uid, long unit, long long key_ts,
                             unsigned probe, unsigned od, unsigned rc);

/* For the request handlers (nix1sim_exec): */
/* true once the RTC holds a plausible time (spec §5.11). */
bool nix1sim_slave_clock_valid(const struct nix1sim_slave *s);
/* Write the RAM config to CONFIG.TXT (restoring old when that fails): the reply code. */
uint8_t nix1sim_slave_commit_config(struct nix1sim_slave *s, const struct nix1_config *old);
/* Read CONFIG.TXT into the RAM mirror (defaults when missing or unreadable). */
void nix1sim_slave_load_config(struct nix1sim_slave *s);
/* Lines in ACCESS.<doy>: >= 0, or -rc. */
int nix1sim_slave_access_lines(struct nix1sim_slave *s, unsigned doy);
/* The general status byte of spec §5.7. */
uint8_t nix1sim_slave_general_status(struct nix1sim_slave *s);
/* Queue one reply line (rc, the echoed command, an optional payload) to go out after the latency. */
void nix1sim_slave_queue_reply(struct nix1sim_slave *s, unsigned rc, char cmd, char arg, const char *payload);

#endif
