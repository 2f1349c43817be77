/* nix1_door_job: the request engine behind nix1_door (private to drivers/nix1): one operation at a time as a list
 * of steps (requests, the write-ahead intent, read-back checks), per-slave outcomes, what a finished step changes. */
#ifndef PORTIER_NIX1_DOOR_JOB_H
#define PORTIER_NIX1_DOOR_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/nix1/nix1_door.h"

enum n1door_op { OP_SNAPSHOT, OP_LOCK, OP_HOLD_ON, OP_RELEASE, OP_TIMED, OP_EMERG_ON, OP_EPROBES_ON, OP_EMERG_OFF,
                 OP_RESTORE, OP_CHECK_HELD };

enum n1door_tag {
    T_BCAST,
    T_SNAP_QH, T_SNAP_QO, T_SNAP_QL1, T_SNAP_QL2, /* remember what the slave has now */
    T_CLOCK,                                      /* Qt: the timed-open window on the slave's clock */
    T_INTENT,                                     /* no request: record what is about to happen (write-ahead) */
    T_SET,                                        /* a request that changes the slave */
    T_VER_QL1, T_VER_QL2, T_VER_QH, T_VER_QO,     /* emergency: check each slave after the broadcasts */
    T_RB_QH, T_RB_QO, T_RB_QL1, T_RB_QL2,         /* restore: read the slave back */
    T_RB_CHECK,                                   /* no request: compare with the target, send what differs */
    T_HELD_QT, T_HELD_QH, T_HELD_DECIDE,          /* check_held */
};

struct n1door_step {
    size_t si; /* index into the job's slaves, SIZE_MAX for broadcasts and job-wide steps */
    char cmd, arg;
    char opt[CRON_TEXT_MAX + 8];
    enum n1door_tag tag;
};

/* What a job learns of one slave. */
struct n1door_js {
    struct nix1_door_slave snap;  /* T_SNAP_* reads */
    bool snapped, snap_failed, open_profile;
    struct nix1_door_slave before;/* the remembered record before the intent (a failed hold goes back to it) */
    bool intended;                /* the intent changed its record */
    bool rb_has_cron;             /* T_RB_* / T_HELD_QH reads */
    char rb_cron[CRON_TEXT_MAX + 1];
    uint8_t rb_mode;
    bool rb_lock[2];
    bool restoring, whole;        /* a restore runs for it; with the locks (emergency) or cron and mode only */
    unsigned rb_round;
    bool t_hold;                  /* the restore target is "held" (a hold outlives the emergency) */
    bool have_clock;              /* T_CLOCK / T_HELD_QT */
    int64_t slave_ts, host_us;
    int tz;
    int64_t until_us, want_us;    /* timed open */
    bool confirmed, uncertain;    /* a T_SET answered 00 / answered nothing */
    bool unknown;                 /* restore refused: nothing remembered */
};

struct n1door_job {
    enum n1door_op op;
    const char *name;
    struct n1door_step *steps;
    size_t nsteps, cap, pos;
    struct nix1_door_outcome *out;
    struct n1door_js *js;
    size_t n;
    nix1_door_cb cb;
    void *arg;
    uint64_t start_us;
    unsigned lock_probe;          /* OP_LOCK */
    bool lock_on;
    unsigned minutes, seconds;    /* OP_TIMED */
    bool locked_restore;          /* emergency off: "locked" instead of the remembered schedule */
    bool store_failed;
    char store_err[200];
};

struct nix1_door {
    nix1_bus_t *bus;
    struct nix1_door_slave *v;
    size_t n, cap;
    bool emergency;
    struct n1door_job *job;
    bool recheck;
    struct nix1_bus_listener lis;
    bool unlistened;              /* nix1_door_unlisten: the bus may be freed before the door */
    nix1_addr_t *await;           /* slaves a restore found unreachable: the first reply heard restores them */
    size_t nawait, capawait;
    nix1_door_store_fn store;
    void *store_arg;
};

/* nix1_door.c */
struct nix1_door_slave *n1door_slave(struct nix1_door *d, const nix1_addr_t *a, bool create);
void n1door_await_add(struct nix1_door *d, const nix1_addr_t *a);
int n1door_persist(struct nix1_door *d, char *err, size_t errlen);

/* nix1_door_job.c */
struct n1door_job *n1door_job_new(struct nix1_door *d, enum n1door_op op, const char *name, const nix1_addr_t *v,
                                  size_t n, nix1_door_cb cb, void *arg);
void n1door_job_free(struct n1door_job *j);
void n1door_add_step(struct n1door_job *j, size_t si, char cmd, char arg, const char *opt, enum n1door_tag tag);
/* Qh Qo Ql1 Ql2 into the job's snapshot of slave si. */
void n1door_add_snapshot(struct n1door_job *j, size_t si);
/* Read slave si back, send what differs from its target, read back again (at most twice); whole = the locks too. */
void n1door_add_restore(struct n1door_job *j, size_t si, bool whole);
/* Fail slave si with a message before anything is sent to it. */
void n1door_refuse(struct n1door_job *j, size_t si, const char *msg);
/* Make j the running job and start it: 0. */
int n1door_start(struct nix1_door *d, struct n1door_job *j);

#endif
