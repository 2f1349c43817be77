/* daemon: what portierd's modules share: the hosted site (devices, journal, audit), the socket server, the open
 * alarms, the actions in flight and the emergency supervisor. portierd.c owns it; dispatch.c serves clients. */
#ifndef PORTIER_DAEMON_DAEMON_H
#define PORTIER_DAEMON_DAEMON_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/action.h"
#include "core/journal.h"
#include "core/loop.h"
#include "core/proto.h"
#include "core/site.h"
#include "daemon/server.h"

struct emergency; /* daemon/emergency.h */
struct mqtt_bridge; /* daemon/mqtt.h */
struct dreq;      /* dispatch.c: a request in flight */

struct daemon {
    loop_t *loop;
    char config_path[PATH_MAX];
    char state_dir[PATH_MAX];
    char journal_path[PATH_MAX];
    char socket_path[PATH_MAX];
    bool journal_busy_said;      /* a schema upgrade was logged */
    struct site *site;
    struct journal *journal;
    struct server *srv;
    struct emergency *em;
    struct mqtt_bridge *mqtt;         /* the MQTT output, NULL without an mqtt group */
    /* open alarms: alarm-severity journal events nobody acknowledged, newest first */
    struct event *alarms;
    size_t n_alarms;
    /* requests in flight (actions, slave reads), for the snapshot's "actions" and for clients that go away */
    struct dreq *reqs;
    uint64_t next_run;
    /* site changes coalesced per loop iteration */
    bool *dirty_dev, *dirty_out;
    size_t n_dirty_dev, n_dirty_out;
    bool any_dirty;
    loop_timer_t change_timer;
    int event_sub;
    bool reload_pending;              /* a reload waits for the actions in flight */
    char reload_by[64];
    bool stopping;
    uint64_t started_mono_us;         /* loop_mono_us() at start, for the uptime */
};

/* ---- dispatch.c ---- */
/* Start serving: subscribe to the site's events and changes, load the open alarms. */
int dispatch_attach(struct daemon *d);
/* Stop observing the site (before it is freed or replaced). */
void dispatch_detach(struct daemon *d);
/* The server callbacks. */
extern const struct server_handlers dispatch_handlers;
/* A fresh snapshot to every client (after a configuration reload). */
void dispatch_snapshot_all(struct daemon *d);
/* A notice to every client and to the log. */
void dispatch_notice(struct daemon *d, const char *level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The emergency as clients see it, to every client. */
void dispatch_emergency_changed(struct daemon *d);
/* A final answer with status ("error", "denied", "refused", "failed") and a message. */
void dispatch_reply_error(struct client *c, int64_t id, const char *op, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The hello request: effective role, snapshot, replay, synced; the stream starts. */
void dispatch_hello(struct daemon *d, struct client *c, const json_t *req, int64_t id);
/* A fresh snapshot to one client (the "snapshot" request). */
void dispatch_send_snapshot(struct daemon *d, struct client *c, int64_t id);
/* An event was acknowledged: off the open alarms, and "ack" to every client. */
void dispatch_acked(struct daemon *d, int64_t event_id, const char *by);

/* ---- daemon_mqtt.c ---- */
/* Start the MQTT output when the site has an mqtt group (a failure is a notice, not fatal); stop it (before the
 * site is unhosted or replaced). */
void daemon_mqtt_start(struct daemon *d);
void daemon_mqtt_stop(struct daemon *d);
/* The "mqtt-status" request. */
void daemon_mqtt_status(struct daemon *d, struct client *c, int64_t id);

/* ---- portierd.c ---- */
/* Re-read the configuration (validate first; a bad file leaves the running one). by: who asked (audit). Returns 0
 * when applied, -1 with why (also sent to every client as a notice). */
int daemon_reload(struct daemon *d, const char *by, char *why, size_t whylen);

#endif
