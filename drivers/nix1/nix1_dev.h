/* nix1_dev: what the parts of the NiX1 adapter share (private to drivers/nix1/nix1_dev*.c and nix1_device.c):
 * the bus device, its slaves, and the tagged job type the job engine runs one at a time. */
#ifndef PORTIER_NIX1_DEV_H
#define PORTIER_NIX1_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/device.h"
#include "drivers/nix1/nix1_bus.h"
#include "drivers/nix1/nix1_door.h"
#include "drivers/nix1/nix1_line.h"
#include "drivers/nix1/nix1_prov.h"
#include "drivers/nix1/nix1_xfer.h"

struct n1dev;

struct n1_slave {
    nix1_addr_t addr;
    const struct site_slave *cfg;
    size_t out[2];                 /* site outputs of probes 1 and 2, SIZE_MAX when unused */
    enum nix1_slave_state state;
    int64_t grant_until_us[2];     /* a grant unlocks for VALID_ACCESS_TIMEOUT (emulated) */
    uint8_t last_poll_rc;
    bool check_held, check_queued; /* held when this run started: check what it holds (nix1_door_check_held) */
    bool snap_queued;              /* a snapshot of its state (what a release or restore puts back) is queued */
    bool round_done;               /* Qe round: this slave answered "no more entries" (or an error) */
    int64_t window_done_us;        /* the window end the tick has already acted on */
};

/* One step of a job: a door operation of nix1_door, a run of requests, or a long file operation. */
enum n1_step_kind {
    N1_SNAPSHOT,   /* remember the slaves' states (nix1_door_refresh) */
    N1_HOLD,       /* hold open (on) or release */
    N1_LOCK,       /* lock-out of one probe */
    N1_TIMED,      /* fail-safe timed open: `minutes`, or the minutes covering `seconds` */
    N1_EMERG,      /* the bus-wide emergency on or off */
    N1_EPROBES,    /* the emergency on or off for the job's listed probes only */
    N1_CHECK_HELD, /* a slave held by an earlier run */
    N1_REQS,       /* the job's requests up to r_end, one after the other (settings, reads) */
    N1_XFER,       /* upload the job's file (nix1_xfer, verified with Qp) */
    N1_PROV,       /* provision the slave from the bus's server_dir (nix1_prov) */
};

struct n1_step {
    enum n1_step_kind kind;
    size_t slave;                  /* index into c->slaves (SIZE_MAX: all) */
    unsigned probe;
    bool on;
    unsigned minutes, seconds;
    size_t r_end;                  /* N1_REQS */
};

/* What starting a step did. */
enum n1_step_res {
    N1_STEP_WAIT,  /* started: a callback continues the job */
    N1_STEP_NEXT,  /* nothing to wait for: go on with the next step */
    N1_STEP_FAIL,  /* could not be started: its outputs fail, go on */
    N1_STEP_RETRY, /* the door is busy restoring a slave by itself: try again shortly */
};

enum n1_req_tag { R_SET, R_GET,
                  R_LIST,          /* Qi<ext>: the data lines are files, appended to the job's text */
                  R_FILE };        /* Qg<name>: the data lines are the file, joined into the job's text */

/* One request of an N1_REQS step. */
struct n1_req {
    size_t slave;
    char cmd, arg;
    char opt[CRON_TEXT_MAX + 24];
    enum n1_req_tag tag;
    size_t k;                      /* R_SET: job output; R_GET: enum n1_key of the value read */
    bool guarded;                  /* nix1_door_guard is asked when the request is due */
    bool clock;                    /* Nt: opt holds the zone; the host's UTC time is put in front when sent */
};

/* Settings of DEVICE_SLAVE_SET, in the order they are applied. */
enum n1_key { K_LOCK_0, K_LOCK_1, K_UNIT_0, K_UNIT_1, K_VALID, K_BAD, K_CRON, K_CRON_MODE, K_MODE, K_OD_0,
              K_OD_1, K_TIMEZONE, K_BAUDRATE, K_COUNT };
extern const char *const n1_keys[K_COUNT];

enum n1_job_kind {
    N1J_DOOR,     /* a device command on doors: one result per output */
    N1J_SET,      /* DEVICE_SLAVE_SET, a file delete: one result per setting, or one device-wide */
    N1J_GET,      /* device_slave_get: the settings read */
    N1J_TEXT,     /* a file list or a file read */
    N1J_LONG,     /* an upload or a provisioning: beside the queue, one device-wide result */
    N1J_INTERNAL, /* the adapter's own work (snapshot, checks, window ends): no results */
};

/* A result's message: the operator's reason whole, as an action's result carries it (core/action.h). */
#define N1_MSG_MAX 256

/* Per-output results (N1J_DOOR, N1J_SET, N1J_LONG). */
struct n1_results {
    size_t n;
    size_t *outs;
    size_t *slave_of;              /* slave index per output */
    unsigned *probe_of;
    bool *failed;
    enum device_result *res;
    char (*msg)[N1_MSG_MAX];
    char okmsg[N1_MSG_MAX];                /* the message of every output that succeeded without its own */
};

struct n1_job {
    struct n1_job *next;
    struct n1dev *c;
    enum n1_job_kind kind;
    enum device_op op;
    enum site_restore restore;
    device_result_fn result;
    device_done_fn done;
    void *ctx;
    struct n1_results r;
    struct n1_step *steps;
    size_t nsteps, pos;
    bool emergency;                /* jumps the queue */
    struct n1_req *reqs;           /* N1_REQS */
    size_t nreqs, rpos;
    bool inflight;
    unsigned rfail;                /* reads (N1J_GET, N1J_TEXT): how many failed, and the first reason */
    char rerr[160];
    union {
        struct {                   /* N1J_GET */
            device_settings_fn got;
            struct device_setting *v;
            size_t n;
        } get;
        struct {                   /* N1J_TEXT */
            device_text_fn got;
            char *text;
            size_t len;
        } text;
        struct {                   /* N1J_LONG */
            char fname[13];
            char *data;
            size_t len;
            struct nix1_xfer *xfer;
            struct nix1_prov *prov;
            bool started, done;
            device_step_fn step;
            void *step_ctx;
        } lng;
    } u;
};

struct n1dev {
    struct device *dev;
    const struct site_bus *cfg;
    nix1_bus_t *bus;
    struct nix1_door *door;
    struct nix1_bus_listener lis;
    size_t n;
    struct n1_slave *slaves;
    loop_timer_t reopen, kick, tick, round;
    unsigned reopen_ms;
    char open_err[200];
    bool started, dying, transport_ok;
    struct n1_job *queue, *cur;
    struct n1_job *lng;            /* an upload or a provisioning: beside the queue (its requests interleave
                                    * with door operations on the bus, so an emergency never waits for it) */
    char state_path[SITE_PATH_MAX];
    char run_path[SITE_PATH_MAX + 8]; /* "running" while a process reads the slaves' logs, "clean" after */
};

/* nix1_device.c: link, probe states, events */
void n1dev_publish_all(struct n1dev *c);
void n1dev_publish_slave(struct n1dev *c, size_t si);
ssize_t n1dev_slave_index(const struct n1dev *c, const nix1_addr_t *a);
const char *n1dev_slave_label(const struct n1_slave *s, char *buf, size_t len);
void n1dev_event(struct n1dev *c, size_t si, enum event_kind kind, enum event_severity sev, const char *code_name,
                 const char *text);
void n1dev_state_save(struct n1dev *c);

/* nix1_dev_job.c: the job engine */
struct n1_job *n1dev_job_new(struct n1dev *c, enum n1_job_kind kind, const struct device_cmd *cmd, size_t n);
void n1dev_job_free(struct n1_job *j);
void n1dev_add_step(struct n1_job *j, enum n1_step_kind kind, size_t slave, unsigned probe, bool on,
                    unsigned minutes, unsigned seconds);
/* Append a step as it is (without memory it is left out: the job ends without it). */
void n1dev_push_step(struct n1_job *j, struct n1_step st);
void n1dev_job_fail_output(struct n1_job *j, size_t k, enum device_result r, const char *msg);
void n1dev_job_fail_all(struct n1_job *j, enum device_result r, const char *why);
void n1dev_job_finish(struct n1dev *c, struct n1_job *j);
void n1dev_enqueue(struct n1dev *c, struct n1_job *j);
void n1dev_kick(struct n1dev *c);
void n1dev_job_step(struct n1dev *c);
void n1dev_fail_queue(struct n1dev *c, struct n1_job **head, const char *why);

/* nix1_dev_reqs.c: requests of an N1_REQS step, slave settings (DEVICE_SLAVE_SET) and reads */
int n1dev_add_req(struct n1_job *j, size_t si, char cmd, char arg, const char *opt, enum n1_req_tag tag, size_t k);
void n1dev_add_reqs_step(struct n1_job *j, size_t si);
enum n1_step_res n1dev_reqs_next(struct n1dev *c, struct n1_job *j, const struct n1_step *st);
int n1dev_slave_set_command(struct n1dev *c, const struct device_cmd *cmd, char *err, size_t errlen);
int n1dev_slave_get(struct device *dev, size_t slave, device_settings_fn cb, void *ctx, char *err, size_t errlen);
void n1dev_get_add(struct n1_job *j, enum n1_key k, const char *val, size_t len);

/* nix1_dev_files.c: slave files */
int n1dev_slave_file_command(struct n1dev *c, const struct device_cmd *cmd, char *err, size_t errlen);
int n1dev_slave_files(struct device *dev, size_t slave, device_text_fn cb, void *ctx, char *err, size_t errlen);
int n1dev_slave_file_get(struct device *dev, size_t slave, const char *name, device_text_fn cb, void *ctx,
                         char *err, size_t errlen);
void n1dev_long_step(struct n1dev *c);
void n1dev_long_cancel(struct n1dev *c);
void n1dev_upload_progress(struct n1dev *c, const struct nix1_reply *rep);

/* nix1_dev_windows.c: timed-open windows and holds of earlier runs */
void n1dev_queue_check_held(struct n1dev *c, size_t si);
void n1dev_held_report(struct n1dev *c, const struct nix1_door_report *r);
void n1dev_tick_cb(loop_t *loop, void *arg);
void n1dev_tick_soon(struct n1dev *c);

#endif
