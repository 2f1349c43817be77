/* site: one model of the building, loaded from the configuration and kept current by the drivers:
 * panels and buses, devices with their link state, a flat list of outputs (doors, aux, probes) with state. */
#ifndef PORTIER_SITE_H
#define PORTIER_SITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/event.h"
#include "core/loop.h"
#include "core/role.h"

#define SITE_NAME_MAX 64
#define SITE_PATH_MAX 1024
#define SITE_C3_MAX_DOORS 4
#define SITE_NIX1_PROBES 2

/* ---- configuration (filled by config/site_config.c, read-only afterwards) ---- */

/* A C3 / inBio panel on TCP (kind "c3"). */
struct site_panel {
    char name[SITE_NAME_MAX];
    char host[256];
    uint16_t port;                    /* 1..65535, default 4370 */
    char password[16];                /* ComPwd, at most 15 chars; "" = none */
    unsigned poll_ms;                 /* RT-log poll interval, 100..60000, default 1000 */
    unsigned timeout_ms;              /* per-request deadline, 200..30000, default 2000 */
    unsigned doors;                   /* door count of the model: 1, 2 or 4 */
    char model[16];                   /* "C3-100", "C3-200", "C3-400", "inBio160/260/460" or "" */
    char door_names[SITE_C3_MAX_DOORS][SITE_NAME_MAX];  /* "" = unnamed (then "<panel> door N") */
    unsigned aux_count;               /* aux outputs, 0..4 */
    char aux_names[SITE_C3_MAX_DOORS][SITE_NAME_MAX];
    int line;                         /* configuration line, for messages */
};

/* A NiX1 slave on an RS485 bus. */
struct site_slave {
    char addr[17];                    /* 16 upper-case hex digits, ROM order */
    char name[SITE_NAME_MAX];
    char probe_doors[SITE_NIX1_PROBES][SITE_NAME_MAX]; /* door name per probe; "" = probe unused */
    int probe_units[SITE_NIX1_PROBES];                 /* 0..65534, -1 = not configured */
    int valid_timeout;                /* VALID_ACCESS_TIMEOUT s 0..255 (Nc), -1 = leave the slave's */
    int bad_timeout;                  /* BAD_ACCESS_TIMEOUT s 0..255 (Nb), -1 = leave the slave's */
    int line;
};

enum site_rs485_mode { SITE_RS485_AUTO, SITE_RS485_RTS, SITE_RS485_NONE };

/* An RS485 line of NiX1 slaves (kind "nix1"): a serial port or tcp://host:port of a device server. */
struct site_bus {
    char name[SITE_NAME_MAX];
    char port[256];                   /* "/dev/ttyUSB0" or "tcp://host:port" */
    unsigned baud;                    /* 1200 2400 4800 9600 19200 38400 57600 115200 */
    enum site_rs485_mode rs485;       /* auto: transceiver switches itself; rts: RTS drives DE; none */
    unsigned poll_ms;                 /* Qe round interval, 100..60000, default 1000 */
    char server_dir[SITE_PATH_MAX];   /* keys.txt, users.txt, units.txt, cron.txt; "" = none */
    size_t n_slaves;
    struct site_slave *slaves;
    int line;
};

enum site_confirm { SITE_CONFIRM_NONE, SITE_CONFIRM_DOUBLE, SITE_CONFIRM_WORD };
enum site_restore { SITE_RESTORE_PREVIOUS, SITE_RESTORE_LOCKED };

struct site_emergency {
    bool all_doors;                   /* true: every door and probe of the site */
    size_t n_doors;
    char (*doors)[SITE_NAME_MAX];     /* door names when !all_doors */
    enum site_confirm confirm;        /* none, double press within double_ms, or typed word */
    unsigned double_ms;               /* default 2000 */
    char word[32];                    /* default "EMERGENCY" */
    enum site_restore restore;        /* previous: put back normal-open/lock-out/cron; locked: all locked */
};

struct site_journal_conf {
    char path[SITE_PATH_MAX];         /* "" = $XDG_STATE_HOME/portier/journal.db */
    unsigned retention_days;          /* 0 = unlimited; default 365 */
    uint64_t retention_rows;          /* 0 = unlimited; default 1000000 */
    size_t queue_events;              /* events kept in memory while the journal cannot store; default 4096 */
};

/* portierd (daemon = { ... }): its socket and the group that may connect. */
struct site_daemon_conf {
    char socket[SITE_PATH_MAX];       /* "" = /run/portier/portier.sock */
    char group[64];                   /* group of the socket (mode 0660); "" = portierd's own */
};

struct site_key_binding {
    char action[32];                  /* an action name from core/action.h */
    char key[32];                     /* "F5", "^E", "o", "KEY_DC"... interpreted by the console */
};

enum site_bell { SITE_BELL_NONE, SITE_BELL_ALARM, SITE_BELL_ALL };

struct site_ui {
    bool colours;                     /* default true */
    enum site_bell bell;              /* default alarm */
    size_t n_keys;
    struct site_key_binding *keys;
};

/* The MQTT output of the daemon (mqtt = { ... } in portier.conf; see doc/mqtt.md). */
#define SITE_MQTT_TOPIC_MAX 128
struct site_mqtt_user {
    char user[64];                    /* MQTT user name (also a topic level: no '/', '+', '#') */
    enum role role;
    int line;
};

struct site_mqtt {
    bool enabled;                     /* the block is present */
    char host[256];
    uint16_t port;                    /* default 1883, 8883 with tls */
    bool tls;                         /* tls = { ... } present */
    char tls_ca[SITE_PATH_MAX];       /* CA file (PEM) that signed the broker's certificate */
    char tls_cert[SITE_PATH_MAX];     /* client certificate and key (both or neither) */
    char tls_key[SITE_PATH_MAX];
    char username[64];                /* "" = anonymous */
    char password_file[SITE_PATH_MAX];/* as resolved; "" = none */
    char password[256];               /* its first line (loaded with the permission check) */
    char client_id[64];               /* default "portier-<site name>" (letters, digits, '-') */
    char base_topic[SITE_MQTT_TOPIC_MAX]; /* default "portier" */
    unsigned qos;                     /* 1 or 2, default 1 */
    unsigned keepalive;               /* s, 5..3600, default 30 */
    unsigned max_inflight;            /* journal events awaiting PUBACK, 1..1000, default 64 */
    bool commands;                    /* command topics; default false */
    bool discovery;                   /* Home Assistant discovery; default true */
    char discovery_prefix[SITE_MQTT_TOPIC_MAX]; /* default "homeassistant" */
    char ha_user[64];                 /* MQTT user whose command topics discovery advertises; "" = none */
    size_t n_users;
    struct site_mqtt_user *users;     /* role per MQTT user (commands) */
    int line;
};

/* ---- runtime model ---- */

enum link_state { LINK_DOWN, LINK_CONNECTING, LINK_UP, LINK_STALE };

enum output_type { OUTPUT_DOOR, OUTPUT_AUX, OUTPUT_PROBE };
enum sensor_state { SENSOR_UNKNOWN, SENSOR_CLOSED, SENSOR_OPEN };
enum progress { PROGRESS_IDLE, PROGRESS_PENDING, PROGRESS_OK, PROGRESS_FAILED };

struct device; /* core/device.h */
struct site_remote; /* core/device.h */
struct devlock; /* core/devlock.h */
struct site;
struct journal; /* core/journal.h */

/* What a device's driver remembers of an emergency, across runs (device_report_emergency). */
enum site_em_state {
    SITE_EM_NONE,            /* nothing: its doors are as the operators left them */
    SITE_EM_ACTIVE,          /* the emergency was begun on it (intent stored) and not ended */
    SITE_EM_RESTORE_PENDING, /* a restore was begun and not confirmed for every door (done when it answers) */
};

struct site_device {
    size_t index;
    char name[SITE_NAME_MAX];
    const char *kind;                 /* "c3" or "nix1" (driver registry key) */
    const struct site_panel *panel;   /* kind "c3" */
    const struct site_bus *bus;       /* kind "nix1" */
    enum link_state link;
    char link_detail[128];            /* last error or firmware string */
    int64_t link_since_us;            /* wall clock of the last link change */
    int64_t lost_since_us;            /* wall clock when an up link was lost, 0 while never lost */
    bool was_up;
    uint64_t events, errors;
    struct device *drv;               /* driver instance, NULL until attached */
    struct devlock *owner_lock;       /* this process owns the device (core/devlock.h), while attached */
    /* identity as read from the device by its driver ("" while unknown) */
    char serial[48];
    char firmware[64];
    enum site_em_state emergency;     /* what its driver remembers of an emergency */
};

/* The runtime state of one output. Drivers report it through device_report_output(). */
struct output_state {
    enum sensor_state sensor;
    bool locked;                      /* lock relay de-energised (door locked) as far as known */
    bool held_open;                   /* held open by portier (C3 255 s / NiX1 cron window) */
    bool normal_open;                 /* C3 normal-open (time zone or remote) */
    bool alarm;                       /* forced / tamper / duress */
    bool open_timeout;                /* door left open too long */
    bool stale;                       /* the device missed polls: the state may be old */
    bool locked_out;                  /* NiX1 probe lock-out (LOCK_x 1) */
    bool emergency;                   /* unlocked by the emergency */
    int64_t open_until_us;            /* wall clock when a timed open ends, 0 = none */
};

struct site_output {
    size_t index;
    enum output_type type;
    char name[SITE_NAME_MAX];         /* unique across the site */
    size_t device;                    /* index into site->devices */
    int number;                       /* C3 door or aux 1..4, NiX1 probe 1..2 */
    size_t slave;                     /* NiX1: index into the bus's slaves; 0 otherwise */
    struct output_state state;
    enum progress progress;           /* last operator action on this output */
    char result[320];                 /* its result text */
    int64_t changed_us;
};

typedef void (*site_change_fn)(struct site *site, int device, int output, void *arg);

/* An extra observer of site changes (beside on_change): see site_listen(). */
struct site_listener {
    site_change_fn fn;
    void *arg;
};

struct site {
    char name[SITE_NAME_MAX];
    char config_path[SITE_PATH_MAX];
    size_t n_panels;
    struct site_panel *panels;
    size_t n_buses;
    struct site_bus *buses;
    size_t n_roles;
    struct role_map *roles;
    enum role default_role;           /* role of users that match no mapping; default guard */
    struct site_emergency emergency;
    struct site_journal_conf journal;
    struct site_ui ui;
    struct site_mqtt mqtt;
    struct site_daemon_conf daemon;

    /* derived by site_build() */
    size_t n_devices;
    struct site_device *devices;
    size_t n_outputs;
    struct site_output *outputs;

    /* runtime (not owned by the config) */
    loop_t *loop;
    struct event_bus *events;
    struct journal *journal_db;
    bool emergency_active;
    int64_t emergency_since_us;
    bool emergency_resumed;           /* emergency_active comes from what the devices remembered at start */
    size_t actions_running;           /* actions dispatched and not yet finished */
    site_change_fn on_change;
    void *on_change_arg;
    size_t n_listeners;
    struct site_listener *listeners;  /* site_listen() */
    /* Optional, for ACTION_RELOAD_CONFIG: validate the configuration file now and apply it once the action has
     * finished (never from inside: the site may be replaced). 0, or -1 with why (the action fails). */
    int (*reload)(struct site *site, const char *by, char *why, size_t whylen, void *arg);
    void *reload_arg;
    /* Set on a client's mirror of a site that portierd owns: actions and slave reads go there (core/device.h). */
    const struct site_remote *remote;
    void *remote_arg;
};

/* An empty site (calloc'd). */
struct site *site_new(void);
/* Free the site, its configuration arrays and its event bus (drivers must be detached first). */
void site_free(struct site *site);
/* Derive devices and outputs from panels and buses (one device per panel and per bus; one output per
 * C3 door, per C3 aux and per used NiX1 probe). Called by the loader; returns 0 or -1 (out of memory). */
int site_build(struct site *site);

/* Find by name, case-insensitive; NULL when unknown. Outputs are also found as "<device>/<number>"
 * (e.g. "Panel A/2") and as "<device>/aux<number>". */
struct site_output *site_find_output(struct site *site, const char *name);
struct site_device *site_find_device(struct site *site, const char *name);

/* A journal query's time range: 0, or -1 with why ("since ... is not before until ...": nothing can match). */
int site_check_range(int64_t since_us, int64_t until_us, char *why, size_t whylen);
/* A journal query's door and device names (NULL: not filtered) against the site: 0, or -1 with why (a name the
 * site does not have, with the names it has, briefly). The journal keeps the rows of doors and devices since
 * removed, so a query asks this only when nothing matched. */
int site_check_names(const struct site *site, const char *door, const char *device, char *why, size_t whylen);

const char *site_link_name(enum link_state link);
const char *site_output_type_name(enum output_type type);
const char *site_sensor_name(enum sensor_state sensor);
/* A short state word for display: "open", "closed", "held open", "ALARM", "stale"... */
const char *site_output_state_word(const struct site_output *out);

/* Attach the event bus (created on demand) and the loop. */
struct event_bus *site_events(struct site *site);
/* Report a change of a device (output < 0) or an output (device < 0) to the front end (on_change) and to
 * every listener, in the order they were added. */
void site_changed(struct site *site, int device, int output);
/* Add an observer of site changes beside on_change (an output module, a second front end). 0 or -1 (out of
 * memory). site_unlisten removes the first listener with the same fn and arg; safe from inside a callback. */
int site_listen(struct site *site, site_change_fn fn, void *arg);
void site_unlisten(struct site *site, site_change_fn fn, void *arg);

/* Exchanges two fields of one type between two sites, where one takes over parts of the other (a reload, a
 * client's mirror brought up to date); what it gives up is freed with the other site. */
#define SITE_SWAP(x, y)                                                                                                \
    do {                                                                                                               \
        __typeof__(x) site_swap_ = (x);                                                                                \
        (x) = (y);                                                                                                     \
        (y) = site_swap_;                                                                                              \
    } while (0)

#endif
