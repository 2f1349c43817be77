/* c3sim_panel: one simulated ZKTeco C3-100/200/400 panel without its sockets: parameters, clock, doors,
 * auxiliary outputs, the 30-entry RT-log ring and the seeded scripted activity, all driven by loop timers. */
#ifndef PORTIER_C3SIM_PANEL_H
#define PORTIER_C3SIM_PANEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "sim/c3sim_tables.h"

#define C3SIM_RING_SIZE 30u   /* firmware: 30 pending RT events, oldest dropped */
#define C3SIM_MAX_DOORS 4
#define C3SIM_USERS 8         /* registered cards per panel used by the activity script */

enum c3sim_dialect {
    C3SIM_DIALECT_SESSION,     /* newer firmware: 0x76 and 0x01 both connect; 0x0B and 0x79 */
    C3SIM_DIALECT_SESSIONLESS, /* "AC Ver 4.3.4": 0x76 -> C9 -13; 0x01 only; 0x0B only */
    C3SIM_DIALECT_KV,          /* newest: 0x79 only, 0x0B answers 36 bytes (not a multiple of 16) */
};

/* Panel-level outcomes of a request besides success (0) and a negative panel error (-11, -13 ...). */
#define C3SIM_RESTART 1        /* reply OK, then restart the panel (drop connections, come back later) */

struct c3sim_event {
    uint32_t card, pin;
    uint8_t verify, door, type, inout;
    uint32_t time;     /* packed panel time */
    uint32_t index;    /* running record number (key/value log) */
};

struct c3sim_param {
    char *name;
    char *value;
};

struct c3sim_panel;

/* One step of a scripted door movement. */
enum c3sim_step { C3SIM_STEP_NONE, C3SIM_STEP_OPEN, C3SIM_STEP_CLOSE };

struct c3sim_door {
    struct c3sim_panel *panel;
    int n;                       /* 1-based */
    bool relay;                  /* lock relay energised = door released */
    bool latched;                /* relay held on (output 255) */
    bool normal_open;            /* control op 4 enabled */
    bool open;                   /* door sensor reports open */
    uint8_t alarm;               /* bit0 forced/alarm, bit1 open timeout */
    loop_timer_t relay_timer;    /* end of a timed lock pulse */
    loop_timer_t detect_timer;   /* door-open timeout (DoorNDetectortime) */
    loop_timer_t script_timer;   /* scripted movement */
    enum c3sim_step steps[3];
    uint32_t step_delay_ms[3];
    int nsteps, step;
};

struct c3sim_aux {
    struct c3sim_panel *panel;
    int n;
    bool on;
    loop_timer_t timer;
};

struct c3sim_model {
    const char *name;     /* "C3-400" */
    int doors, readers, aux_in, aux_out;
};

struct c3sim_panel_cfg {
    const struct c3sim_model *model;
    enum c3sim_dialect dialect;
    unsigned index;            /* 0-based position among the process's panels */
    const char *password;      /* ComPwd; "" = none */
    const char *firmware;      /* NULL = the dialect's default string */
    uint64_t seed;
    double activity;           /* mean events per second; 0 = none */
    int64_t clock_offset;      /* seconds added to host local time */
    uint8_t device_id;         /* DeviceID (address byte in replies) */
    size_t transactions;       /* transaction rows kept before the oldest is overwritten; 0 = default */
    bool named_users;          /* the user table holds the activity's users, named, with doors (a demo) */
};

struct c3sim_panel {
    loop_t *loop;
    const struct c3sim_model *model;
    enum c3sim_dialect dialect;
    unsigned index;
    bool up;                   /* false while restarting */
    bool fresh_boot;           /* no client connected since the last boot */

    struct c3sim_param *params;
    size_t nparams, cap_params;
    int64_t clock_offset;

    struct c3sim_event ring[C3SIM_RING_SIZE];
    unsigned ring_head, ring_count;
    uint64_t events_total, events_dropped;
    struct c3sim_tables tables; /* data tables; every event is also a transaction row (survives restarts) */

    struct c3sim_door door[C3SIM_MAX_DOORS];
    struct c3sim_aux aux[C3SIM_MAX_DOORS];

    uint64_t boot_us;          /* loop time of the last boot (timer grid origin) */
    uint64_t base_us;          /* inside a panel timer callback: its due time, else 0 */
    uint64_t rng;
    double activity;
    loop_timer_t activity_timer;
    uint32_t cards[C3SIM_USERS], pins[C3SIM_USERS];

    /* For tests: GET_PARAM answers this panel error when set (a clock that cannot be read), and served is called
     * after each request was answered (its reply queued) with the request's command. */
    int get_param_error;
    void (*served)(struct c3sim_panel *p, uint8_t cmd, void *arg);
    void *served_arg;
};

/* Models by name ("c3-100", "C3-200", "400" ...); NULL if unknown. */
const struct c3sim_model *c3sim_model_find(const char *name);
/* The firmware string a panel of this dialect reports (strings seen on real panels, spec §6). */
const char *c3sim_default_firmware(enum c3sim_dialect d);

/* Set up a panel (booted: event 206 queued, activity armed). Returns 0 or -1 (out of memory). */
int c3sim_panel_init(struct c3sim_panel *p, loop_t *loop, const struct c3sim_panel_cfg *cfg);
void c3sim_panel_free(struct c3sim_panel *p);
/* Restart: shutdown stops everything (the panel is off); boot brings it back in its power-on state. */
void c3sim_panel_shutdown(struct c3sim_panel *p);
void c3sim_panel_boot(struct c3sim_panel *p);


/* Host local wall-clock seconds (local time expressed as if it were UTC); the panel clock adds its offset. */
int64_t c3sim_panel_host_wall(void);
/* Current panel clock as packed time (host local time + offset). */
uint32_t c3sim_panel_now(const struct c3sim_panel *p);

/* A client connected successfully: the firmware resets the RT-log ring (except the first connect after a
 * boot, so the device-start event survives; see doc/decisions.md). */
void c3sim_panel_client_connected(struct c3sim_panel *p);

/* Protocol operations. 5-byte CONTROL_DEVICE payload: 0, C3SIM_RESTART or a negative panel error. */
int c3sim_panel_control(struct c3sim_panel *p, const uint8_t *payload, size_t len);
/* One 16-byte RT record: the oldest queued event, or a door/alarm status record when none is queued. */
void c3sim_panel_rtlog_binary(struct c3sim_panel *p, uint8_t out[16]);
/* Key/value RT log (0x79): every queued event then one status record, CRLF separated. Returns the length
 * written (always NUL-terminated), or -3 if cap is too small (nothing is dequeued then). */
int c3sim_panel_rtlog_kv(struct c3sim_panel *p, char *out, size_t cap);

/* Operator/scripted actions (control interface). They return 0 or -1 with a message in err. */
/* Change the scripted activity (mean events per second; 0 stops it, doors already moving finish). */
void c3sim_panel_set_activity(struct c3sim_panel *p, double rate);
/* A burst of n card grants on random doors at once (RT ring and transaction table, no door movement). */
int c3sim_panel_burst(struct c3sim_panel *p, unsigned n, char *err, size_t errlen);
/* The panel's MAC address "00:17:61:c3:HH:LL" (derived from its index). */
void c3sim_panel_mac(const struct c3sim_panel *p, char out[18]);
int c3sim_panel_swipe(struct c3sim_panel *p, int door, uint32_t card, uint32_t pin, int granted, int inout,
                      char *err, size_t errlen);
int c3sim_panel_button(struct c3sim_panel *p, int door, char *err, size_t errlen);
int c3sim_panel_sensor(struct c3sim_panel *p, int door, bool open, char *err, size_t errlen);
int c3sim_panel_force(struct c3sim_panel *p, int door, char *err, size_t errlen);
int c3sim_panel_hold(struct c3sim_panel *p, int door, char *err, size_t errlen);
int c3sim_panel_auxin(struct c3sim_panel *p, int n, bool open, char *err, size_t errlen);

/* One-line description of the doors for the status command. */
void c3sim_panel_describe(const struct c3sim_panel *p, char *out, size_t cap);

#endif
