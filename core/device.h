/* device: the driver contract between the site and a device family (like NUT's driver API).
 * A driver starts, stops, runs commands asynchronously, and reports events, link and output state back. */
#ifndef PORTIER_DEVICE_H
#define PORTIER_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/event.h"
#include "core/loop.h"
#include "core/site.h"

/* Commands a front end can ask of a device. Outputs are site output indices of this device. */
enum device_op {
    DEVICE_OPEN,              /* door: unlock for value seconds (1..254) */
    DEVICE_CLOSE,             /* door: lock now (ends a timed open or hold) */
    DEVICE_HOLD_OPEN,         /* door: stay unlocked until released (C3 255; NiX1 cron window §5.14) */
    DEVICE_RELEASE,           /* door: end a hold, back to normal (NiX1: restore cron) */
    DEVICE_NORMAL_OPEN_ON,    /* C3 door: enable normal-open (CONTROL_DEVICE op 4) */
    DEVICE_NORMAL_OPEN_OFF,
    DEVICE_AUX_ON,            /* aux: on for value seconds (1..254; 255 = until off) */
    DEVICE_AUX_OFF,
    DEVICE_CANCEL_ALARM,      /* device-wide */
    DEVICE_LOCKOUT_ON,        /* NiX1 probe: deny every key (Nl p 1) */
    DEVICE_LOCKOUT_OFF,
    DEVICE_TIMED_OPEN,        /* door: open for value minutes, closed by the device itself (NiX1 cron) */
    DEVICE_EMERGENCY_ON,      /* unlock the given outputs (the site's emergency doors of this device) */
    DEVICE_EMERGENCY_OFF,     /* restore them (previous state or locked, per site emergency.restore) */
    DEVICE_SLAVE_SET,         /* NiX1: change settings of one slave (cmd.slave, cmd.settings), see below */
    DEVICE_SLAVE_FILE_PUT,    /* NiX1: upload cmd.file_data as cmd.file_name to slave cmd.slave, verified */
    DEVICE_SLAVE_FILE_DELETE, /* NiX1: delete cmd.file_name on slave cmd.slave */
    DEVICE_SLAVE_PROVISION,   /* NiX1: provision slave cmd.slave from the bus's server_dir (push the difference) */
    DEVICE_PANEL_DATA,        /* C3: read or change users, cards, access, time zones, holidays (cmd.request) */
    DEVICE_OP_COUNT
};

enum device_result { DEVICE_RESULT_OK, DEVICE_RESULT_FAILED, DEVICE_RESULT_UNSUPPORTED,
                     DEVICE_RESULT_OFFLINE, DEVICE_RESULT_TIMEOUT };

/* Per-output completion: called exactly once per output of the command (eventually: every request has
 * a deadline); for a device-wide op (DEVICE_CANCEL_ALARM, n_outputs = 0) once with output = SIZE_MAX.
 * message says what happened in words ("ok", "C3 error -11 ...", "no reply"). */
typedef void (*device_result_fn)(void *ctx, size_t output, enum device_result result, const char *message);
/* Called once after the last per-output result. */
typedef void (*device_done_fn)(void *ctx);
/* Progress of a long command (see device_cmd.step). */
typedef void (*device_step_fn)(void *ctx, unsigned done, unsigned total, const char *line);
/* A panel-data line with its structured form (see device_cmd.record): a JSON object (jansson's json_t), valid
 * during the call; line NULL when the record has no line of its own (a change's summary). */
struct json_t;
typedef void (*device_record_fn)(void *ctx, const char *line, const struct json_t *record);

/* ---- DEVICE_SLAVE_SET ----
 * Settings are CONFIG.TXT-style names and values of the slave (NiX1 spec §5.7: "LOCK_0" = "1", "UNIT_1" = "",
 * "CRON" = "0 7 * * 1-5 600"...), validated by the driver. The driver reports one result per setting with
 * output = DEVICE_SETTING_RESULT(i) (i = index in cmd.settings), so the front end shows which field took.
 * With n_settings = 0 the driver re-applies what the configuration holds for the slave (probe units,
 * access timeouts) and reports one device-wide result (output = SIZE_MAX). */
#define DEVICE_SETTING_RESULT(i) ((size_t)SIZE_MAX / 2 + (size_t)(i))
#define DEVICE_SETTINGS_MAX 32
struct device_setting {
    char key[32];
    char value[96];
};

struct device_cmd {
    enum device_op op;
    unsigned value;           /* seconds or minutes, see the op */
    const size_t *outputs;    /* site output indices of this device; the driver copies the list */
    size_t n_outputs;
    enum site_restore restore;/* DEVICE_EMERGENCY_OFF only */
    size_t slave;             /* DEVICE_SLAVE_SET: index into the bus's slaves */
    const struct device_setting *settings; /* DEVICE_SLAVE_SET; the driver copies them */
    size_t n_settings;
    /* DEVICE_SLAVE_FILE_PUT / _DELETE: the 8.3 name on the slave; PUT: the bytes (the driver copies them) */
    const char *file_name;
    const void *file_data;
    size_t file_len;
    /* Optional, for the long slave operations: PUT reports packets (done of total, line NULL); PROVISION
     * reports one human line per action or finding (done = total = 0). Called from the loop. */
    device_step_fn step;
    void *step_ctx;
    /* DEVICE_PANEL_DATA (also "history [since=PACKED]": the stored events, lines "txn ...", doc/protocol.md):
     * "KIND OP [FIELD=N] [dry-run]", KIND users|cards|access|timezones|holidays, OP
     * list|add|set|delete|replace (FIELD=N with replace: only the rows with that value, e.g. one user's access
     * rights "access replace pin=7"); the rows (CSV with the kind's export header) in file_data/file_len. The driver
     * reports lines through step (done = total = 0): for list the CSV lines, header first; for a change the
     * difference ("+ ...", "~ ...", "- ...") and notes; an error's whole text. Then one device-wide result with
     * the summary ("3 rows", "1 added, 0 changed, ...: written and read back") or what went wrong.
     * record (optional, same ctx as step): when given, the driver reports every one of those lines through record
     * instead of step, with its structured form where it has one (doc/protocol.md, "Panel-data records": a list's
     * fields, a row, a change, a stored event, a refusal; NULL for a note), and, for a change, the summary as a
     * record without a line before the result. A transfer's progress (line NULL) stays with step. */
    const char *request;
    device_record_fn record;
    device_result_fn result;
    device_done_fn done;
    void *ctx;
};

struct device;

/* ---- reading a slave's settings (NiX1) ----
 * The current settings of one slave, named and formatted as DEVICE_SLAVE_SET takes them ("LOCK_0" = "1",
 * "UNIT_1" = "" when unset, "CRON" = "" when none...), so an editor starts from the truth. cb runs once,
 * later, from the loop (never from inside the call) with what could be read (n may be less than every
 * setting) and error = NULL when everything was read, else what could not be read and why ("stopped" when
 * the device is destroyed meanwhile). */
typedef void (*device_settings_fn)(void *ctx, const struct device_setting *settings, size_t n, const char *error);

/* ---- reading a slave's files (NiX1) ----
 * slave_files: the files the slave holds, as text lines "NAME<TAB>SIZE<LF>" (sorted by name);
 * slave_file_get: one file's content. cb runs once, later, from the loop, with the text (NULL on failure,
 * len 0 for an empty file) and error = NULL, or error saying what could not be read (the text may then
 * hold what could). */
typedef void (*device_text_fn)(void *ctx, const char *text, size_t len, const char *error);

/* ---- a mirror of a site owned elsewhere ----
 * A client of portierd keeps a mirror struct site (client/remote.c); its actions and slave reads go to the owner
 * through these hooks (site->remote), so a front end calls action_run and the helpers below the same way in direct
 * mode and as a client. Each has the contract of the call it stands for. */
struct action_user;
struct action_params;
struct action_run;
struct site_remote {
    int (*action)(void *arg, const struct action_user *user, int id, const char *target,
                  const struct action_params *params,
                  void (*cb)(const struct action_run *run, bool finished, void *cbarg), void *cbarg, char *err,
                  size_t errlen);
    int (*slave_get)(void *arg, size_t device, size_t slave, device_settings_fn cb, void *ctx, char *err,
                     size_t errlen);
    int (*slave_files)(void *arg, size_t device, size_t slave, device_text_fn cb, void *ctx, char *err, size_t errlen);
    int (*slave_file_get)(void *arg, size_t device, size_t slave, const char *name, device_text_fn cb, void *ctx,
                          char *err, size_t errlen);
};

/* ---- raw pass-through (technicians, through portierd) ----
 * One request as the device family speaks it, beside the driver's own traffic: C3: a command byte and payload, the
 * answer's reply code and data; NiX1: a slave address (16 hex digits, or "broadcast") and the line after it ("Qs",
 * "Nl 1\t1"), the reply code, the replier (from: its address, which differs from the request's for the scratch
 * address) and the payload followed by each data line of a multi-line answer after a '\n'. Requests that would
 * take the driver's own work away (a C3 connect, disconnect or RT-log read; a NiX1 access-log read or rewind) are
 * refused. cb runs once, later, from the loop: error NULL with the reply, or error saying why. */
struct device_raw {
    unsigned char command;       /* C3 */
    const void *payload;         /* C3 (copied) */
    size_t len;
    const char *slave;           /* NiX1 */
    const char *line;            /* NiX1 */
    unsigned timeout_ms;         /* 0 = the device's own */
};
typedef void (*device_raw_fn)(void *ctx, int code, const void *reply, size_t len, const char *from,
                              const char *error);
/* What a driver keeps of a raw request until its answer: the callback and its argument (malloc'd; the driver frees
 * it after calling cb). device_raw_call_new: NULL with err "out of memory". */
struct device_raw_call {
    device_raw_fn cb;
    void *ctx;
};
struct device_raw_call *device_raw_call_new(device_raw_fn cb, void *ctx, char *err, size_t errlen);

struct device_ops {
    const char *kind;                                   /* "c3", "nix1": matches site_device.kind */
    /* Create the driver state for site->devices[dev->index] (priv); 0 or -1 with err filled. */
    int (*init)(struct device *dev, char *err, size_t errlen);
    /* Begin connecting (non-blocking); the driver reconnects by itself forever until stop. */
    int (*start)(struct device *dev);
    /* Disconnect politely; pending commands complete with DEVICE_RESULT_OFFLINE (asynchronously). */
    void (*stop)(struct device *dev);
    /* Queue a command ahead of routine polls. 0 = accepted (callbacks follow, never from inside this call);
     * -1 = refused now (err filled; no callback will follow). */
    int (*command)(struct device *dev, const struct device_cmd *cmd, char *err, size_t errlen);
    /* Whether the device family supports op on output (output may be SIZE_MAX for device-wide ops). */
    bool (*supports)(const struct device *dev, enum device_op op, size_t output);
    /* Free priv. The driver must not call back afterwards. */
    void (*destroy)(struct device *dev);
    /* Optional: read the settings of slave `slave` (index into the bus's slaves). 0 = started (cb follows),
     * -1 = refused now (err filled; no callback). */
    int (*slave_get)(struct device *dev, size_t slave, device_settings_fn cb, void *ctx, char *err, size_t errlen);
    /* Optional: list the files of slave `slave`, or read file `name` (8.3) of it. Same contract as slave_get. */
    int (*slave_files)(struct device *dev, size_t slave, device_text_fn cb, void *ctx, char *err, size_t errlen);
    int (*slave_file_get)(struct device *dev, size_t slave, const char *name, device_text_fn cb, void *ctx,
                          char *err, size_t errlen);
    /* Optional: one raw request (see struct device_raw). 0 = started (cb follows), -1 = refused now (err). */
    int (*raw)(struct device *dev, const struct device_raw *req, device_raw_fn cb, void *ctx, char *err,
               size_t errlen);
};

struct device {
    const struct device_ops *ops;
    struct site *site;
    size_t index;             /* site->devices[index] */
    loop_t *loop;
    void *priv;
    bool own_gaps;            /* the driver reports its own gap rows (catch-up); the site does not add one */
    const char *gap_read_back; /* otherwise: how the driver reads back events of a lost link (it reports each it
                                * cannot in a gap row of its own); NULL: nothing is known of them */
};

/* Find ops by kind in a NULL-terminated table (the front end's driver registry). */
const struct device_ops *device_ops_find(const struct device_ops *const *table, const char *kind);
/* Create and init a driver for every site device from the registry (site->loop must be set). Devices whose
 * kind has no driver stay detached and are reported as down with a reason. 0, or -1 with err filled. */
int device_attach_all(struct site *site, const struct device_ops *const *table, char *err, size_t errlen);
/* Start every attached device. */
void device_start_all(struct site *site);
/* Stop and destroy every attached device. */
void device_detach_all(struct site *site);

/* Read the settings of slave `slave` of site device `device` through its driver's slave_get: 0 when started
 * (cb follows), -1 when the device has no driver or cannot read slaves (nothing follows). */
static inline int device_slave_get(struct site *site, size_t device, size_t slave, device_settings_fn cb, void *ctx,
                                   char *err, size_t errlen)
{
    if (site->remote && site->remote->slave_get)
        return site->remote->slave_get(site->remote_arg, device, slave, cb, ctx, err, errlen);
    struct device *dev = device < site->n_devices ? site->devices[device].drv : NULL;
    if (!dev || !dev->ops->slave_get) {
        const char *m = dev ? "this device cannot read slave settings" : "no driver for this device";
        size_t i = 0;
        for (; err && m[i] && i + 1 < errlen; i++)
            err[i] = m[i];
        if (err && errlen)
            err[i] = '\0';
        return -1;
    }
    return dev->ops->slave_get(dev, slave, cb, ctx, err, errlen);
}

/* The driver that can read slave files of site device `device`, or NULL with err filled. */
static inline struct device *device_files_driver(struct site *site, size_t device, char *err, size_t errlen)
{
    struct device *dev = device < site->n_devices ? site->devices[device].drv : NULL;
    if (dev && dev->ops->slave_files && dev->ops->slave_file_get)
        return dev;
    if (err && errlen)
        snprintf(err, errlen, "%s", dev ? "this device cannot read slave files" : "no driver for this device");
    return NULL;
}
/* List the files of slave `slave` of site device `device`: 0 when started (cb follows), -1 (nothing follows). */
static inline int device_slave_files(struct site *site, size_t device, size_t slave, device_text_fn cb, void *ctx,
                                     char *err, size_t errlen)
{
    if (site->remote && site->remote->slave_files)
        return site->remote->slave_files(site->remote_arg, device, slave, cb, ctx, err, errlen);
    struct device *dev = device_files_driver(site, device, err, errlen);
    return dev ? dev->ops->slave_files(dev, slave, cb, ctx, err, errlen) : -1;
}
/* Read file `name` of slave `slave` of site device `device`: 0 when started (cb follows), -1. */
static inline int device_slave_file_get(struct site *site, size_t device, size_t slave, const char *name,
                                        device_text_fn cb, void *ctx, char *err, size_t errlen)
{
    if (site->remote && site->remote->slave_file_get)
        return site->remote->slave_file_get(site->remote_arg, device, slave, name, cb, ctx, err, errlen);
    struct device *dev = device_files_driver(site, device, err, errlen);
    return dev ? dev->ops->slave_file_get(dev, slave, name, cb, ctx, err, errlen) : -1;
}

const char *device_op_name(enum device_op op);
const char *device_result_name(enum device_result result);

/* ---- catch-up (drivers whose device keeps its own event store, like the C3 transaction table) ----
 * The driver keeps a position text of its own per device in the journal. Live events it published after the
 * position and that the store has not been compared with yet are handed back at start-up. */
/* Whether the site journals events (catch-up has nothing to compare with or to store into otherwise). */
bool device_sync_available(const struct device *dev);
typedef void (*device_pending_fn)(const struct event *ev, void *arg);
/* 1 when a position is stored (cursor filled), 0 for a device never caught up, -1 on error. *last_us: host time
 * of the device's newest journaled event (0 when none). fn gets the pending live access events, oldest first. */
int device_sync_load(struct device *dev, char *cursor, size_t len, int64_t *last_us, device_pending_fn fn, void *arg);
/* Whether the journal stores now (not checking, not in trouble, nothing waiting in memory): a catch-up that
 * publishes thousands of rows waits for it (what it cannot store would wait in a bounded memory queue). */
bool device_journal_storing(struct device *dev);
/* Whether every event published up to sequence number seq (event.seq) has been handed to the journal (a batching
 * bus stores a few hundred per loop iteration). */
bool device_events_stored(struct device *dev, uint64_t seq);
/* Make everything published so far durable (the bus is flushed), then store the position; `pending` = how many
 * of the device's newest live access events the store did not contain yet. 0 or -1. */
int device_sync_save(struct device *dev, const char *cursor, size_t pending);
/* The same, stored with the next event published (journal_sync_put_next: one disk sync for both): published
 * right after, it is stored once everything published before it is. 0 or -1 (then nothing waits). */
int device_sync_save_next(struct device *dev, const char *cursor, size_t pending);

/* ---- callbacks from drivers into the site ---- */

/* Publish an event of this device: fills device name (if empty), addr and host time, maps door_no to the
 * door name when empty, and publishes through the site's event bus (journal first). */
void device_report_event(struct device *dev, struct event *ev);
/* The same for n events at once (a catch-up's rows): one journal transaction for all of them. */
void device_report_events(struct device *dev, struct event *evs, size_t n);
/* Link state change; emits an EVENT_LINK, and an EVENT_GAP when an up link comes back after a loss. */
void device_report_link(struct device *dev, enum link_state link, const char *detail);
/* What the driver remembers of an emergency (from its state file at init, and whenever it changes). A device
 * that remembers one makes the site's emergency active (site->emergency_resumed when nothing in this process
 * started it); only a successful emergency-off ends it. */
void device_report_emergency(struct device *dev, enum site_em_state state);
/* New runtime state of one of this device's outputs (the site keeps it and tells the front end). */
void device_report_output(struct device *dev, size_t output, const struct output_state *state);
/* The site output index for (number, slave) of this device, or SIZE_MAX. For C3 doors type OUTPUT_DOOR,
 * aux OUTPUT_AUX; for NiX1 probes number is the probe and slave the slave index. */
size_t device_output_index(const struct device *dev, enum output_type type, int number, size_t slave);

#endif
