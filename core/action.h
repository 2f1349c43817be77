/* action: every operator intent, in one table, and the one entry point the console and the CLI call.
 * action_run checks the role, writes the audit row first, dispatches to the devices, completes the audit.
 * One file (about 1000 lines) on purpose: the table and the one path every action takes (role, audit, dispatch,
 * completion) are read together; the per-family work lives in the drivers. */
#ifndef PORTIER_ACTION_H
#define PORTIER_ACTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/role.h"
#include "core/site.h"

struct json_t; /* jansson's, a panel-data record (action_params.record) */

enum action_id {
    ACTION_ACK,             /* acknowledge a journal event (target: event id) */
    ACTION_DOOR_OPEN,       /* open a door for N seconds */
    ACTION_DOOR_CLOSE,      /* lock a door now */
    ACTION_DOOR_HOLD,       /* hold a door open until released */
    ACTION_DOOR_RELEASE,    /* end a hold */
    ACTION_TIMED_OPEN,      /* open a door for N minutes, closed by the device itself */
    ACTION_NORMAL_OPEN_ON,  /* C3 normal-open on */
    ACTION_NORMAL_OPEN_OFF,
    ACTION_AUX_ON,          /* aux output on for N seconds */
    ACTION_AUX_OFF,
    ACTION_CANCEL_ALARM,    /* cancel the alarm of a panel (target: device or one of its doors) */
    ACTION_LOCKOUT_ON,      /* NiX1: deny every key on a probe */
    ACTION_LOCKOUT_OFF,
    ACTION_EMERGENCY_ON,    /* unlock the emergency doors of the whole site */
    ACTION_EMERGENCY_OFF,   /* restore them */
    ACTION_RELOAD_CONFIG,   /* re-read the configuration (technician) */
    ACTION_SLAVE_SET,       /* change settings of a NiX1 slave (technician; target: slave name or address) */
    ACTION_SLAVE_FILE_PUT,  /* upload a file to a NiX1 slave (technician; params file_name, file_data) */
    ACTION_SLAVE_FILE_DELETE, /* delete a file of a NiX1 slave (technician; params file_name) */
    ACTION_SLAVE_PROVISION, /* provision a NiX1 slave from its bus's server_dir (technician) */
    ACTION_PANEL_DATA_GET,  /* read a C3 panel's users, cards, access, time zones or holidays (params.settings =
                             * "KIND list"), its tables ("tables list") or a table by name ("table:NAME list
                             * [FIELD=VALUE]"); the rows come as step lines, CSV */
    ACTION_PANEL_DATA,      /* change them (technician; params.settings = "KIND add|set|delete|replace [F=N]
                             * [dry-run]", F=N only with replace, "table:NAME set [dry-run]" or "table:NAME delete
                             * FIELD=VALUE [dry-run]"; params.file_data = the rows as CSV, none for table delete) */
    ACTION_COUNT
};

enum action_target_kind { ACTION_TARGET_NONE, ACTION_TARGET_EVENT, ACTION_TARGET_DOOR, ACTION_TARGET_AUX,
                          ACTION_TARGET_PROBE, ACTION_TARGET_OUTPUT, ACTION_TARGET_DEVICE, ACTION_TARGET_SITE,
                          ACTION_TARGET_SLAVE /* a NiX1 slave, by name or 16-hex-digit address */ };

struct action_def {
    enum action_id id;
    const char *name;          /* "door-open": CLI verb, key-binding name, audit action */
    const char *description;   /* one line for help screens */
    enum role min_role;
    bool changes_state;        /* greyed out in read-only mode */
    enum action_target_kind target;
    const char *param;         /* parameter name ("seconds", "minutes") or NULL */
    unsigned param_min, param_max, param_default;
};

/* The table, indexed by enum action_id. */
extern const struct action_def action_table[ACTION_COUNT];
/* Find an action by name; NULL when unknown. */
const struct action_def *action_find(const char *name);
/* True when role may run the action. */
bool action_allowed(enum role role, enum action_id id);

/* Who runs an action. */
struct action_user {
    char name[64];             /* Unix user */
    enum role role;
};

struct action_params {
    unsigned value;            /* seconds/minutes; 0 = the action's default */
    bool has_value;
    /* ACTION_SLAVE_SET: "KEY=VALUE" settings separated by newlines or ';' (an empty value clears the
     * setting); NULL or "" re-applies the configuration's settings of the slave. */
    const char *settings;
    /* ACTION_SLAVE_FILE_PUT / _DELETE: the 8.3 name on the slave; PUT: the bytes (copied by the driver) */
    const char *file_name;
    const void *file_data;
    size_t file_len;
    /* Optional progress of PUT (packets done of total), PROVISION and the panel-data actions (one line per
     * line of output, done = total = 0; line NULL: a panel-data read's bytes done of total), called from the loop
     * while the action runs. */
    void (*step)(void *arg, unsigned done, unsigned total, const char *line);
    void *step_arg;
    /* Optional, the panel-data actions (same arg as step): each line with its structured form, in place of step
     * (device_cmd.record). */
    void (*record)(void *arg, const char *line, const struct json_t *record);
    /* ACTION_EMERGENCY_ON: complete an emergency an earlier process began (action_recover): sent only to the
     * devices that do not remember it (those that do complete it by themselves). */
    bool resume;
    /* An attempt the caller's client already refused (the console's key for an action its role does not allow):
     * the role is checked and a denial audited as for any action; when the role does allow it, nothing runs
     * and nothing is audited (refused "not run: only an attempt was reported"). */
    bool attempt_only;
    /* ACTION_ACK through a client's mirror: the operator's comment, which the owner journals with the
     * acknowledgement (an owner's caller journals it itself). */
    const char *comment;
};

enum action_status { ACTION_PENDING, ACTION_OK, ACTION_PARTIAL, ACTION_FAILED, ACTION_DENIED, ACTION_REFUSED };

/* Outcome per output (or per device for device-wide actions). */
struct action_target_result {
    size_t output;             /* site output index, or SIZE_MAX for a device-wide result */
    size_t device;
    enum progress progress;
    char message[256];         /* a device's reason whole ("...; unlocks when the panel is back") */
    char label[32];            /* ACTION_SLAVE_SET: the setting this result is for; "" otherwise */
};

/* A running action. Owned by the action module; valid until the final progress callback returns. */
struct action_run {
    const struct action_def *def;
    struct action_user user;
    char target[128];
    unsigned value;
    int64_t audit_id;
    enum action_status status;
    size_t n_results;
    struct action_target_result *results;
    unsigned confirmed, pending, failed;   /* live counts */
    char error[256];           /* why it was denied or refused */
    /* The audit row could not be stored when the action ran: kept in memory by the journal (stored when it
     * works again), or lost. Only the emergency runs then; every other action is refused. */
    bool audit_kept, audit_lost;
    char audit_why[128];       /* why the journal could not store it */
};

/* Progress: called after each per-target result and once at the end with finished = true. */
typedef void (*action_progress_fn)(const struct action_run *run, bool finished, void *arg);

/* Run an action. Order: check the role (a denied attempt is audited as "denied", whatever it named), resolve the
 * target and parameters (refused when bad), write the audit row (if the journal cannot store it the action is
 * refused — except the emergency, which proceeds with its row kept in memory and says so: audit_kept), then
 * dispatch to the devices (the emergency to all panels and buses in parallel), and
 * complete the audit row with the per-device/door result. Returns 0 when dispatched (cb will be called,
 * possibly before action_run returns for actions needing no device), or -1 when denied or refused at
 * once: then cb is called once with finished = true before returning, and err (if given) says why. */
int action_run(struct site *site, const struct action_user *user, enum action_id id, const char *target,
               const struct action_params *params, action_progress_fn cb, void *arg, char *err, size_t errlen);

/* Whether the emergency unlocks this output: every door and NiX1 probe, or the configured names; never an aux. */
bool action_emergency_output(const struct site *site, const struct site_output *o);

/* At start, once the devices are attached and started (they report what they remember of an emergency): close
 * the audit rows that an ended process left "pending" (result "interrupted", with what the devices remember
 * now; rows of processes still running are left alone); and, when `resume` and some device remembers an
 * emergency that the emergency doors of other devices never got, run emergency-on for those as user "portier"
 * (audited; cb as for action_run, called only when it runs: *resumed says so). Returns the number of rows
 * closed, or -1. */
int action_recover(struct site *site, bool resume, action_progress_fn cb, void *arg, bool *resumed);

/* Number of actions still running (front ends wait for 0 before exiting). */
size_t action_running(const struct site *site);
const char *action_status_name(enum action_status status);

#endif
