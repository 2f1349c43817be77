/* c3_dev: what the parts of the C3 adapter share (private to drivers/c3/c3_device.c and c3_dev_cmds.c): the
 * panel device, its doors and aux outputs, the command groups, and the calls each part makes into the other. */
#ifndef PORTIER_C3_DEV_H
#define PORTIER_C3_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/device.h"
#include "core/loop.h"
#include "core/site.h"
#include "core/tcp.h"
#include "drivers/c3/c3_control.h"
#include "drivers/c3/c3_session.h"

#define C3D_STEPS 2
#define C3D_DRIVERTIME_DEFAULT 5u
#define C3D_ECHOES 8                     /* a door's answered steps whose RT-log events are still to come */
#define C3D_ECHO_MAX_US (60 * 1000000LL) /* an echo not seen by then was lost (a full ring drops the oldest) */

struct c3dev;
struct c3d_group;

/* One output of a command: up to two CONTROL_DEVICE requests sent in order. */
struct c3d_item {
    struct c3d_group *g;
    size_t output;              /* site output index, SIZE_MAX for device-wide */
    enum output_type type;
    int number;                 /* door or aux 1..4 */
    uint8_t steps[C3D_STEPS][C3_CONTROL_LEN];
    int nsteps, pos;
    int confirm_at;             /* the result is reported once this many steps succeeded */
    bool complete;              /* no more steps will run */
    bool superseded;            /* a later command for the same door: send no further step of this one */
    bool has_result, reported;
    enum device_result result;
    char msg[256];
};

/* One accepted command (or an internal one: result == NULL). */
struct c3d_group {
    struct c3dev *c;
    struct c3d_group *next;
    enum device_op op;
    unsigned value;
    enum site_restore restore;
    device_result_fn result;
    device_done_fn done;
    void *ctx;
    size_t n;
    struct c3d_item *items;
    bool in_command;            /* inside ops->command: results wait for the defer timer */
    loop_timer_t defer;
};

struct c3d_door {
    size_t out;                 /* site output, SIZE_MAX when the door has no output */
    bool held;                  /* latched open (255) by portier */
    bool normal_open;           /* normal-open as far as known (our op 4, or events 5/11/205 and 10/204) */
    bool emergency;             /* unlocked by the emergency */
    bool em_pending;            /* emergency not confirmed yet: apply when the panel is back */
    bool restore_pending;       /* restore begun and not confirmed: done when the panel is back */
    bool prev_held, prev_no;    /* state before the emergency (restore = previous) */
    int64_t open_until_us;      /* timed pulse end (wall clock), 0 = none */
    loop_timer_t relock;
    enum sensor_state sensor;
    bool alarm, open_timeout;
    bool relay_known, relay;
    unsigned drivertime;
    /* The events the panel owes for this adapter's own answered steps (9 for output 0, 205 and 10 for normal-open
     * on and off), oldest first, with the host time of each answer: the RT log brings them after the answer, often
     * after later steps, so they say nothing new (c3_dev_echo_expect). */
    uint8_t echo[C3D_ECHOES];
    int64_t echo_us[C3D_ECHOES];
    unsigned n_echo;
    struct c3dev *c;
};

struct c3d_aux {
    size_t out;
    bool on;
    int64_t until_us;
    loop_timer_t off;
    struct c3dev *c;
};

struct c3dev {
    struct device *dev;
    const struct site_panel *panel;
    struct c3_session *s;
    struct tcp_addr addr;
    loop_timer_t resolve_timer;
    char resolve_err[160];
    bool started;
    enum c3_state st;
    bool stale;
    bool ever_up;
    bool failed;                /* an attempt failed since the last start */
    bool have_status;
    struct c3d_door door[SITE_C3_MAX_DOORS];
    struct c3d_aux aux[SITE_C3_MAX_DOORS];
    struct c3d_group *groups;
    char state_path[SITE_PATH_MAX];
    loop_timer_t state_timer;
    struct c3_catchup *cc;      /* reads what the RT log missed from the transaction table */
    struct c3d_data *data;      /* DEVICE_PANEL_DATA operations running */
    int64_t alive_us;           /* host time of the last RT-log answer (a gap starts there) */
    unsigned round_events;      /* events since the last status record */
    bool em_intent;             /* the last emergency command was "on" (stored before anything was sent) */
    enum site_restore em_restore; /* how a pending restore puts the doors back */
};

static inline struct c3dev *priv(const struct device *dev) { return dev->priv; }

/* c3_device.c: door and aux states, the state file. */
/* Publish door i's (aux i's) output state to the site. */
void c3_dev_publish_door(struct c3dev *c, unsigned i);
void c3_dev_publish_aux(struct c3dev *c, unsigned i);
/* Door i's step that the panel has just answered will come back from the RT log as event type: that event is the
 * echo of a state already applied and changes nothing (an older state would win over a newer one). */
void c3_dev_echo_expect(struct c3dev *c, unsigned i, uint8_t type);
/* Door i is unlocked for secs seconds from now (no event marks the end: spec §6). */
void c3_dev_door_pulse(struct c3dev *c, unsigned i, unsigned secs);
/* Write the state file durably now (before an emergency command goes out), or once per loop iteration at most. */
void c3_dev_state_write(struct c3dev *c);
void c3_dev_state_save(struct c3dev *c);

/* c3_dev_cmds.c: commands as CONTROL_DEVICE steps. */
bool c3_dev_supports(const struct device *dev, enum device_op op, size_t output);
int c3_dev_command(struct device *dev, const struct device_cmd *cmd, char *err, size_t errlen);
/* An emergency that could not be confirmed is applied as soon as the panel answers again; so is a restore. */
void c3_dev_apply_pending_emergency(struct c3dev *c);
/* Report one item's result (once). */
void c3_dev_item_result(struct c3d_item *it, enum device_result r, const char *msg);
/* Deliver results that are ready; when every item is complete and reported, call done and free. Returns
 * true when the group was freed. */
bool c3_dev_group_flush(struct c3d_group *g);
void c3_dev_group_free(struct c3d_group *g);

#endif
