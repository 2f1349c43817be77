/* site_config: libconfig 1.5 reader and validator for portier.conf; reports every problem with its line. */
#include "config/site_config.h"

#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/conf_check.h"
#include "config/conf_read.h"
#include "config/site_config_mqtt.h"
#include "core/crc.h"
#include "core/grow.h"
#include "core/hex.h"

#define MAX_CONFIG_BYTES (1024 * 1024)

/* ---- names: unique across the site ---- */

struct name_seen {
    char name[SITE_NAME_MAX];
    int line;
};

struct names {
    struct name_seen *items;
    size_t n, cap;
};

static void name_add(struct conf_ctx *c, struct names *ns, const char *name, int line, const char *what)
{
    for (size_t i = 0; i < ns->n; i++) {
        if (strcasecmp(ns->items[i].name, name) == 0) {
            CONF_ERR(c, line, "duplicate %s name \"%s\" (first at line %d)", what, name, ns->items[i].line);
            return;
        }
    }
    struct name_seen *it = grow_array(ns->items, ns->n, &ns->cap, sizeof *it, 16);
    if (!it)
        return;
    ns->items = it;
    snprintf(ns->items[ns->n].name, sizeof ns->items[0].name, "%s", name);
    ns->items[ns->n++].line = line;
}

/* A name must not contain '/', which is the "<device>/<n>" separator. */
static bool check_name(struct conf_ctx *c, const char *name, int line)
{
    if (strchr(name, '/')) {
        CONF_ERR(c, line, "name \"%s\" must not contain '/'", name);
        return false;
    }
    return true;
}

/* ---- sections ---- */

struct model {
    const char *name;
    unsigned doors, aux;
};
static const struct model models[] = {
    { "C3-100", 1, 1 }, { "C3-200", 2, 2 }, { "C3-400", 4, 4 },
    { "inBio160", 1, 1 }, { "inBio260", 2, 2 }, { "inBio460", 4, 4 },
};

static void name_list(struct conf_ctx *c, const config_setting_t *grp, const char *key, unsigned max, const char *model,
                      char names[][SITE_NAME_MAX], unsigned *count, struct names *outs)
{
    config_setting_t *l = conf_get_list(c, grp, key);
    *count = 0;
    if (!l)
        return;
    int n = config_setting_length(l);
    if ((unsigned)n > max) {
        if (model[0])
            CONF_ERR(c, conf_line(l), "'%s' names %d outputs but a %s has %u", key, n, model, max);
        else
            CONF_ERR(c, conf_line(l), "'%s' names %d outputs but a C3 panel has at most %u", key, n, max);
        n = (int)max;
    }
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            CONF_ERR(c, conf_line(e) ? conf_line(e) : conf_line(l), "'%s' entries must be strings", key);
            continue;
        }
        int line = conf_line(e) ? conf_line(e) : conf_line(l);
        const char *v = conf_text_of(c, e, key, line);
        if (!v)
            continue;
        if (strlen(v) >= SITE_NAME_MAX) {
            CONF_ERR(c, line, "'%s' entry is too long (at most %d characters)", key, SITE_NAME_MAX - 1);
            continue;
        }
        snprintf(names[i], SITE_NAME_MAX, "%s", v);
        if (v[0] && check_name(c, v, line))
            name_add(c, outs, v, line, "door");
    }
    *count = (unsigned)n;
}

static const char *const panel_keys[] = { "name", "host", "port", "password", "password_file", "model", "poll_ms",
                                          "timeout_ms", "doors", "aux", NULL };

static void load_panel(struct conf_ctx *c, const config_setting_t *g, struct site_panel *p, struct names *devs,
                       struct names *outs)
{
    char where[96];
    p->line = conf_line(g);
    p->port = 4370;
    p->poll_ms = 1000;
    p->timeout_ms = 2000;
    if (conf_get_str(c, g, "name", "panel", p->name, sizeof p->name, true, true) && check_name(c, p->name, p->line))
        name_add(c, devs, p->name, conf_line(config_setting_get_member(g, "name")), "device");
    snprintf(where, sizeof where, "panel \"%s\"", p->name);
    conf_check_keys(c, g, where, panel_keys);
    conf_get_str(c, g, "host", where, p->host, sizeof p->host, true, true);
    long long v;
    if (conf_get_int(c, g, "port", where, 1, 65535, &v, false))
        p->port = (uint16_t)v;
    if (conf_get_int(c, g, "poll_ms", where, 100, 60000, &v, false))
        p->poll_ms = (unsigned)v;
    if (conf_get_int(c, g, "timeout_ms", where, 200, 30000, &v, false))
        p->timeout_ms = (unsigned)v;
    config_setting_t *pw = config_setting_get_member(g, "password");
    config_setting_t *pwf = config_setting_get_member(g, "password_file");
    if (pw && pwf)
        CONF_ERR(c, conf_line(pwf), "set either 'password' or 'password_file', not both");
    if (pw && conf_get_str(c, g, "password", where, p->password, sizeof p->password, false, false) && p->password[0])
        conf_password_perms(c, conf_line(pw));
    if (pwf && conf_want_type(c, pwf, CONFIG_TYPE_STRING, "password_file")) {
        conf_password_perms(c, conf_line(pwf));
        conf_read_password_file(c, pwf, p->password, sizeof p->password);
    }
    unsigned max = SITE_C3_MAX_DOORS, maxaux = SITE_C3_MAX_DOORS;
    config_setting_t *ms = config_setting_get_member(g, "model");
    if (ms && conf_want_type(c, ms, CONFIG_TYPE_STRING, "model")) {
        const char *m = conf_text_of(c, ms, "model", 0);
        size_t k;
        for (k = 0; k < sizeof models / sizeof models[0]; k++)
            if (m && strcasecmp(m, models[k].name) == 0)
                break;
        if (!m) {
            /* reported */
        } else if (k == sizeof models / sizeof models[0]) {
            CONF_ERR(c, conf_line(ms), "'model' = \"%s\" is not one of: C3-100, C3-200, C3-400, inBio160, inBio260, "
                "inBio460", m);
        } else {
            snprintf(p->model, sizeof p->model, "%s", models[k].name);
            max = models[k].doors;
            maxaux = models[k].aux;
        }
    }
    unsigned n;
    name_list(c, g, "doors", max, p->model, p->door_names, &n, outs);
    p->doors = p->model[0] ? max : (n ? (n == 3 ? 4 : n) : 1);
    name_list(c, g, "aux", maxaux, p->model, p->aux_names, &p->aux_count, outs);
}

static const char *const slave_keys[] = { "address", "name", "probe1", "probe2", "valid_access_timeout",
                                          "bad_access_timeout", NULL };
static const char *const probe_keys[] = { "door", "unit", NULL };

static void load_slave(struct conf_ctx *c, const config_setting_t *g, struct site_slave *s, struct names *addrs,
                       struct names *devs, struct names *outs)
{
    char where[96];
    s->line = conf_line(g);
    s->probe_units[0] = s->probe_units[1] = -1;
    s->valid_timeout = s->bad_timeout = -1;
    char addr[64] = "";
    if (conf_get_str(c, g, "address", "slave", addr, sizeof addr, true, true)) {
        int line = conf_line(config_setting_get_member(g, "address"));
        uint8_t b[8];
        bool hex = strlen(addr) == 16;
        hex = hex && hex_decode(addr, 8, b) == 0;
        if (!hex) {
            CONF_ERR(c, line, "'address' = \"%s\" must be 16 hex digits (family, serial, CRC)", addr);
        } else {
            for (int i = 0; i < 16; i++)
                s->addr[i] = (char)toupper((unsigned char)addr[i]);
            s->addr[16] = '\0';
            uint8_t crc = crc8_maxim(b, 7);
            if (crc != b[7])
                CONF_WARN(c, line, "address %s: CRC-8 mismatch (expected %02X; a real slave would be %.14s%02X)",
                     s->addr, crc, s->addr, crc);
            if (strcmp(s->addr, "27FFFFFFFFFFFF4E") == 0 || strcmp(s->addr, "270000000000005C") == 0)
                CONF_ERR(c, line, "address %s is the %s address, not a slave", s->addr,
                    s->addr[2] == 'F' ? "broadcast" : "scratch");
            else
                name_add(c, addrs, s->addr, line, "slave address");
        }
    }
    if (!config_setting_get_member(g, "name"))
        snprintf(s->name, sizeof s->name, "%s", s->addr);
    else if (conf_get_str(c, g, "name", "slave", s->name, sizeof s->name, false, true) &&
             check_name(c, s->name, conf_line(config_setting_get_member(g, "name"))))
        name_add(c, devs, s->name, conf_line(config_setting_get_member(g, "name")), "device");
    snprintf(where, sizeof where, "slave \"%s\"", s->name);
    conf_check_keys(c, g, where, slave_keys);
    long long v;
    if (conf_get_int(c, g, "valid_access_timeout", where, 0, 255, &v, false))
        s->valid_timeout = (int)v;
    if (conf_get_int(c, g, "bad_access_timeout", where, 0, 255, &v, false))
        s->bad_timeout = (int)v;
    for (int p = 0; p < SITE_NIX1_PROBES; p++) {
        char key[8];
        snprintf(key, sizeof key, "probe%d", p + 1);
        config_setting_t *pg = conf_get_group(c, g, key);
        if (!pg)
            continue;
        char pw[128];
        snprintf(pw, sizeof pw, "%s %s", where, key);
        conf_check_keys(c, pg, pw, probe_keys);
        if (conf_get_str(c, pg, "door", pw, s->probe_doors[p], sizeof s->probe_doors[p], true, true)) {
            int line = conf_line(config_setting_get_member(pg, "door"));
            if (check_name(c, s->probe_doors[p], line))
                name_add(c, outs, s->probe_doors[p], line, "door");
        }
        if (conf_get_int(c, pg, "unit", pw, 0, 65534, &v, false))
            s->probe_units[p] = (int)v;
    }
}

static const char *const bus_keys[] = { "name", "port", "baud", "rs485", "poll_ms", "server_dir", "slaves", NULL };

static void check_port(struct conf_ctx *c, const char *port, int line)
{
    if (strncmp(port, "tcp://", 6) == 0) {
        const char *hp = port + 6;
        const char *colon = strrchr(hp, ':');
        char *end;
        long n = colon ? strtol(colon + 1, &end, 10) : 0;
        if (!colon || colon == hp || !colon[1] || *end || n < 1 || n > 65535)
            CONF_ERR(c, line, "'port' = \"%s\": a device server is tcp://HOST:PORT with PORT 1..65535", port);
    } else if (port[0] != '/') {
        CONF_ERR(c, line, "'port' = \"%s\" must be a serial device path (/dev/...) or tcp://HOST:PORT", port);
    }
}

static void load_bus(struct conf_ctx *c, const config_setting_t *g, struct site_bus *b, struct names *devs,
                     struct names *outs, struct names *addrs)
{
    char where[96];
    b->line = conf_line(g);
    b->baud = 9600;
    b->poll_ms = 1000;
    if (conf_get_str(c, g, "name", "bus", b->name, sizeof b->name, true, true) && check_name(c, b->name, b->line))
        name_add(c, devs, b->name, conf_line(config_setting_get_member(g, "name")), "device");
    snprintf(where, sizeof where, "bus \"%s\"", b->name);
    conf_check_keys(c, g, where, bus_keys);
    if (conf_get_str(c, g, "port", where, b->port, sizeof b->port, true, true))
        check_port(c, b->port, conf_line(config_setting_get_member(g, "port")));
    long long v;
    config_setting_t *bs = config_setting_get_member(g, "baud");
    char lit[64];
    if (bs && conf_want_type(c, bs, CONFIG_TYPE_INT, "baud")) {
        static const long long rates[] = { 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200 };
        bool ok = false;
        if (!conf_int_value(c, bs, "baud", &v, lit, sizeof lit))
            v = 0;
        for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
            ok = ok || rates[i] == v;
        if (!ok)
            CONF_ERR(c, conf_line(bs), "'baud' = %s is not a NiX1 rate (1200, 2400, 4800, 9600, 19200, 38400, 57600, "
                "115200)", lit);
        else
            b->baud = (unsigned)v;
    }
    static const char *const modes[] = { "auto", "rts", "none", NULL };
    int m = conf_get_enum(c, g, "rs485", modes);
    if (m >= 0)
        b->rs485 = (enum site_rs485_mode)m;
    if (conf_get_int(c, g, "poll_ms", where, 100, 60000, &v, false))
        b->poll_ms = (unsigned)v;
    char dir[SITE_PATH_MAX];
    if (conf_get_str(c, g, "server_dir", where, dir, sizeof dir, false, true))
        conf_resolve_path(c, dir, b->server_dir, sizeof b->server_dir);
    config_setting_t *sl = conf_get_list(c, g, "slaves");
    if (!sl) {
        if (!config_setting_get_member(g, "slaves"))
            CONF_ERR(c, b->line, "%s: missing required key 'slaves'", where);
        return;
    }
    int n = config_setting_length(sl);
    if (n > 64)
        CONF_WARN(c, conf_line(sl), "%d slaves on one bus: the master supports 64 and RS485 allows 32 unit loads", n);
    else if (n > 32)
        CONF_WARN(c, conf_line(sl), "%d slaves on one line exceed 32 unit loads unless the transceivers are 1/8 UL", n);
    b->slaves = calloc(n ? (size_t)n : 1, sizeof *b->slaves);
    if (!b->slaves)
        return;
    for (int i = 0; i < n; i++) {
        config_setting_t *e = conf_list_group(c, sl, i, "slave", "{ ... }");
        if (e)
            load_slave(c, e, &b->slaves[b->n_slaves++], addrs, devs, outs);
    }
}

static const char *const role_keys[] = { "default", "map", NULL };
static const char *const map_keys[] = { "user", "group", "role", NULL };

static void load_roles(struct conf_ctx *c, const config_setting_t *g, struct site *site)
{
    conf_check_keys(c, g, "roles", role_keys);
    config_setting_t *d = config_setting_get_member(g, "default");
    if (d && conf_want_type(c, d, CONFIG_TYPE_STRING, "default")) {
        int r = conf_role_of(c, d, "default");
        if (r >= 0)
            site->default_role = (enum role)r;
    }
    config_setting_t *l = conf_get_list(c, g, "map");
    if (!l)
        return;
    int n = config_setting_length(l);
    site->roles = calloc(n ? (size_t)n : 1, sizeof *site->roles);
    if (!site->roles)
        return;
    for (int i = 0; i < n; i++) {
        config_setting_t *e = conf_list_group(c, l, i, "role mapping", "{ user|group = ...; role = ...; }");
        if (!e)
            continue;
        conf_check_keys(c, e, "role mapping", map_keys);
        struct role_map *m = &site->roles[site->n_roles];
        bool hu = config_setting_get_member(e, "user") != NULL, hg = config_setting_get_member(e, "group") != NULL;
        if (hu == hg) {
            CONF_ERR(c, conf_line(e), "a role mapping needs exactly one of 'user' or 'group'");
            continue;
        }
        if (!conf_get_str(c, e, hu ? "user" : "group", "role mapping", m->name, sizeof m->name, true, true))
            continue;
        m->is_group = hg;
        int r = conf_get_role(c, e, "role mapping");
        if (r < 0)
            continue;
        m->role = (enum role)r;
        site->n_roles++;
    }
}

static const char *const emergency_keys[] = { "doors", "confirm", "double_ms", "word", "restore", NULL };

static void load_emergency(struct conf_ctx *c, const config_setting_t *g, struct site *site)
{
    struct site_emergency *e = &site->emergency;
    conf_check_keys(c, g, "emergency", emergency_keys);
    config_setting_t *d = config_setting_get_member(g, "doors");
    if (d) {
        int t = config_setting_type(d);
        if (t == CONFIG_TYPE_STRING) {
            const char *all = conf_text_of(c, d, "doors", 0);
            if (all && strcmp(all, "all") != 0)
                CONF_ERR(c, conf_line(d), "'doors' must be \"all\" or a list of door names");
        } else if (t == CONFIG_TYPE_LIST || t == CONFIG_TYPE_ARRAY) {
            int n = config_setting_length(d);
            e->all_doors = false;
            e->doors = calloc(n ? (size_t)n : 1, sizeof *e->doors);
            for (int i = 0; e->doors && i < n; i++) {
                config_setting_t *x = config_setting_get_elem(d, (unsigned)i);
                int xl = conf_line(x) ? conf_line(x) : conf_line(d);
                const char *v = config_setting_type(x) == CONFIG_TYPE_STRING ? conf_text_of(c, x, "doors", xl) : "";
                if (!v)
                    continue;
                if (!v[0] || strlen(v) >= SITE_NAME_MAX) {
                    CONF_ERR(c, conf_line(x) ? conf_line(x) : conf_line(d), "'doors' entries must be door names");
                    continue;
                }
                snprintf(e->doors[e->n_doors++], SITE_NAME_MAX, "%s", v);
            }
        } else {
            CONF_ERR(c, conf_line(d), "'doors' must be \"all\" or a list of door names");
        }
    }
    static const char *const confirms[] = { "none", "double", "word", NULL };
    int m = conf_get_enum(c, g, "confirm", confirms);
    if (m >= 0)
        e->confirm = (enum site_confirm)m;
    long long v;
    if (conf_get_int(c, g, "double_ms", "emergency", 300, 10000, &v, false))
        e->double_ms = (unsigned)v;
    conf_get_str(c, g, "word", "emergency", e->word, sizeof e->word, false, true);
    static const char *const restores[] = { "previous", "locked", NULL };
    m = conf_get_enum(c, g, "restore", restores);
    if (m >= 0)
        e->restore = (enum site_restore)m;
}

static const char *const journal_keys[] = { "path", "retention_days", "retention_rows", "queue_events", NULL };

static void load_journal(struct conf_ctx *c, const config_setting_t *g, struct site *site)
{
    conf_check_keys(c, g, "journal", journal_keys);
    char p[SITE_PATH_MAX];
    if (conf_get_str(c, g, "path", "journal", p, sizeof p, false, true))
        conf_resolve_path(c, p, site->journal.path, sizeof site->journal.path);
    long long v;
    if (conf_get_int(c, g, "retention_days", "journal", 0, 36500, &v, false))
        site->journal.retention_days = (unsigned)v;
    if (conf_get_int(c, g, "retention_rows", "journal", 0, 1000000000000LL, &v, false))
        site->journal.retention_rows = (uint64_t)v;
    if (conf_get_int(c, g, "queue_events", "journal", 16, 1000000, &v, false))
        site->journal.queue_events = (size_t)v;
}

static const char *const daemon_keys[] = { "socket", "group", NULL };

/* daemon = { socket = "/run/portier/portier.sock"; group = "portier"; }: where portierd listens, and which group
 * may connect (mode 0660). */
static void load_daemon(struct conf_ctx *c, const config_setting_t *g, struct site *site)
{
    conf_check_keys(c, g, "daemon", daemon_keys);
    char p[SITE_PATH_MAX];
    if (conf_get_str(c, g, "socket", "daemon", p, sizeof p, false, true)) {
        int line = conf_line(config_setting_get_member(g, "socket"));
        if (p[0] != '/')
            CONF_ERR(c, line, "daemon socket \"%s\" must be an absolute path", p);
        else if (strlen(p) >= 108)
            CONF_ERR(c, line, "daemon socket path is longer than 107 bytes (a Unix socket limit)");
        else
            snprintf(site->daemon.socket, sizeof site->daemon.socket, "%s", p);
    }
    char grp[64];
    if (conf_get_str(c, g, "group", "daemon", grp, sizeof grp, false, true)) {
        bool ok = strlen(grp) <= 32 && ((grp[0] >= 'a' && grp[0] <= 'z') || grp[0] == '_');
        for (const char *q = grp; ok && *q; q++)
            ok = (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_' || *q == '-' ||
                 (*q == '$' && !q[1]);
        if (!ok)
            CONF_ERR(c, conf_line(config_setting_get_member(g, "group")), "daemon group \"%s\" is not a group name",
                     grp);
        else
            snprintf(site->daemon.group, sizeof site->daemon.group, "%s", grp);
    }
}

static const char *const ui_keys[] = { "colours", "colors", "bell", "keys", NULL };

static void load_ui(struct conf_ctx *c, const config_setting_t *g, struct site *site)
{
    conf_check_keys(c, g, "ui", ui_keys);
    conf_get_bool(c, g, "colours", &site->ui.colours);
    conf_get_bool(c, g, "colors", &site->ui.colours);
    static const char *const bells[] = { "none", "alarm", "all", NULL };
    int m = conf_get_enum(c, g, "bell", bells);
    if (m >= 0)
        site->ui.bell = (enum site_bell)m;
    config_setting_t *l = conf_get_list(c, g, "keys");
    if (!l)
        return;
    int n = config_setting_length(l);
    site->ui.keys = calloc(n ? (size_t)n : 1, sizeof *site->ui.keys);
    for (int i = 0; site->ui.keys && i < n; i++) {
        config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
        int line = conf_line(e) ? conf_line(e) : conf_line(l);
        if (config_setting_type(e) == CONFIG_TYPE_STRING && !conf_text_of(c, e, "keys", line))
            continue;
        const char *v = config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e) : NULL;
        const char *eq = v ? strchr(v, '=') : NULL;
        if (!eq || eq == v || !eq[1]) {
            CONF_ERR(c, line, "'keys' entries must be \"action-name=key\" strings");
            continue;
        }
        struct site_key_binding *k = &site->ui.keys[site->ui.n_keys];
        size_t al = (size_t)(eq - v);
        if (al >= sizeof k->action || strlen(eq + 1) >= sizeof k->key) {
            CONF_ERR(c, line, "key binding \"%s\" is too long", v);
            continue;
        }
        memcpy(k->action, v, al);
        k->action[al] = '\0';
        snprintf(k->key, sizeof k->key, "%s", eq + 1);
        site->ui.n_keys++;
    }
}

static const char *const top_keys[] = { "site", "panels", "buses", "roles", "emergency", "journal", "ui",
                                         "mqtt", "daemon", NULL };

static void load_root(struct conf_ctx *c, config_t *cfg)
{
    struct site *site = c->site;
    config_setting_t *root = config_root_setting(cfg);
    conf_check_keys(c, root, "the top level", top_keys);
    config_setting_t *sg = conf_get_group(c, root, "site");
    if (!sg) {
        if (!config_setting_get_member(root, "site"))
            CONF_ERR(c, 1, "missing required group 'site' (site = { name = \"...\"; };)");
    } else {
        static const char *const site_keys[] = { "name", NULL };
        conf_check_keys(c, sg, "site", site_keys);
        conf_get_str(c, sg, "name", "site", site->name, sizeof site->name, true, true);
    }
    struct names devs = { 0 }, outs = { 0 }, addrs = { 0 };
    config_setting_t *pl = conf_get_list(c, root, "panels");
    if (pl) {
        int n = config_setting_length(pl);
        site->panels = calloc(n ? (size_t)n : 1, sizeof *site->panels);
        for (int i = 0; site->panels && i < n; i++) {
            config_setting_t *e = conf_list_group(c, pl, i, "panel", "{ ... }");
            if (e)
                load_panel(c, e, &site->panels[site->n_panels++], &devs, &outs);
        }
    }
    config_setting_t *bl = conf_get_list(c, root, "buses");
    if (bl) {
        int n = config_setting_length(bl);
        site->buses = calloc(n ? (size_t)n : 1, sizeof *site->buses);
        for (int i = 0; site->buses && i < n; i++) {
            config_setting_t *e = conf_list_group(c, bl, i, "bus", "{ ... }");
            if (e)
                load_bus(c, e, &site->buses[site->n_buses++], &devs, &outs, &addrs);
        }
    }
    if (site->n_panels == 0 && site->n_buses == 0) /* about the whole file: its first line */
        CONF_WARN(c, 1, "no panels and no buses: the site has no doors");
    config_setting_t *g;
    if ((g = conf_get_group(c, root, "roles")))
        load_roles(c, g, site);
    if ((g = conf_get_group(c, root, "emergency")))
        load_emergency(c, g, site);
    if ((g = conf_get_group(c, root, "journal")))
        load_journal(c, g, site);
    if ((g = conf_get_group(c, root, "ui")))
        load_ui(c, g, site);
    if ((g = conf_get_group(c, root, "mqtt")))
        site_config_load_mqtt(c, g, site);
    if ((g = conf_get_group(c, root, "daemon")))
        load_daemon(c, g, site);
    /* Emergency doors must exist (names checked after every output is known). */
    if (!site->emergency.all_doors) {
        config_setting_t *eg = config_setting_get_member(root, "emergency");
        config_setting_t *d = eg ? config_setting_get_member(eg, "doors") : NULL;
        for (size_t i = 0; i < site->emergency.n_doors; i++) {
            bool found = false;
            for (size_t k = 0; k < outs.n && !found; k++)
                found = strcasecmp(outs.items[k].name, site->emergency.doors[i]) == 0;
            if (!found) {
                config_setting_t *x = d ? config_setting_get_elem(d, (unsigned)i) : NULL;
                CONF_ERR(c, conf_line(x) ? conf_line(x) : conf_line(d),
                         "emergency door \"%s\" is not a door of this site", site->emergency.doors[i]);
            }
        }
    }
    free(devs.items);
    free(outs.items);
    free(addrs.items);
}

/* Lines starting with @include are refused: one file, one permission check, no surprises. */
static bool refuse_includes(struct conf_ctx *c, const char *text)
{
    int line = 1;
    bool bad = false;
    for (const char *p = text; *p;) {
        const char *q = p;
        while (*q == ' ' || *q == '\t')
            q++;
        if (strncmp(q, "@include", 8) == 0) {
            CONF_ERR(c, line, "@include is not supported: keep the whole configuration in one file");
            bad = true;
        }
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;
        p = nl + 1;
        line++;
    }
    return bad;
}

/* libconfig's message (never "syntax error: syntax error"), with the line it stopped at, as far as it can be
 * shown. */
static void syntax_error(struct conf_ctx *c, const char *msg, int line)
{
    if (!msg || !msg[0])
        msg = "syntax error";
    const char *p = c->text;
    for (int l = 1; p && l < line; l++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    char shown[72] = "";
    size_t o = 0;
    for (; p && *p && *p != '\n' && o + 4 < sizeof shown; p++) {
        unsigned char ch = (unsigned char)*p;
        if (o == 0 && (ch == ' ' || ch == '\t'))
            continue;
        shown[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    if (p && *p && *p != '\n')
        memcpy(shown + o, "...", 4);
    else
        shown[o] = '\0';
    bool plain = strncmp(msg, "syntax error", 12) == 0;
    if (shown[0])
        CONF_ERR(c, line, "%s%s in: %s", plain ? "" : "syntax error: ", msg, shown);
    else
        CONF_ERR(c, line, "%s%s", plain ? "" : "syntax error: ", msg);
}

static struct site *load_text(struct conf_ctx *c, const char *text)
{
    if (refuse_includes(c, text))
        return NULL;
    config_t cfg;
    config_init(&cfg);
    /* libconfig 1.5 defaults also accept ':' and ','; keep them, refuse nothing the format allows. */
    c->text = text;
    if (!config_read_string(&cfg, text)) {
        syntax_error(c, config_error_text(&cfg), config_error_line(&cfg));
        config_destroy(&cfg);
        return NULL;
    }
    struct site *site = site_new();
    if (!site) {
        CONF_ERR(c, 0, "out of memory");
        config_destroy(&cfg);
        return NULL;
    }
    c->site = site;
    snprintf(site->config_path, sizeof site->config_path, "%s", c->path);
    load_root(c, &cfg);
    config_destroy(&cfg);
    if (c->d->errors == 0 && site_build(site) != 0)
        CONF_ERR(c, 0, "out of memory");
    if (c->d->errors) {
        site_free(site);
        return NULL;
    }
    return site;
}

static void ctx_init(struct conf_ctx *c, struct config_diags *d, const char *name)
{
    memset(c, 0, sizeof *c);
    memset(d, 0, sizeof *d);
    c->d = d;
    snprintf(d->file, sizeof d->file, "%s", name);
    snprintf(c->path, sizeof c->path, "%s", name);
}

struct site *site_config_load_string(const char *text, const char *name, struct config_diags *diags)
{
    struct conf_ctx c;
    ctx_init(&c, diags, name ? name : "<string>");
    return load_text(&c, text);
}

struct site *site_config_load(const char *path, struct config_diags *diags)
{
    struct conf_ctx c;
    ctx_init(&c, diags, path);
    const char *slash = strrchr(path, '/');
    if (slash) {
        size_t l = (size_t)(slash - path);
        if (l == 0)
            l = 1;
        if (l < sizeof c.dir) {
            memcpy(c.dir, path, l);
            c.dir[l] = '\0';
        }
    } else {
        snprintf(c.dir, sizeof c.dir, ".");
    }
    char *text, why[128];
    size_t n;
    if (conf_read_file(path, MAX_CONFIG_BYTES, &text, &n, &c.st, why, sizeof why) != 0) {
        CONF_ERR(&c, 0, "%s", why); /* about the file, not a line of it */
        return NULL;
    }
    const char *nul = memchr(text, '\0', n);
    if (nul) {
        int line = 1;
        for (const char *p = text; p < nul; p++)
            line += *p == '\n';
        CONF_ERR(&c, line, "contains a NUL byte");
        free(text);
        return NULL;
    }
    c.check_perms = true;
    struct site *site = load_text(&c, text);
    free(text);
    return site;
}

const char *site_config_find(const char *explicit_path, char *buf, size_t len)
{
    struct stat st;
    if (explicit_path) {
        /* lstat: a link that loops or leads nowhere is found here and explained by the loader. */
        snprintf(buf, len, "%s", explicit_path);
        return lstat(explicit_path, &st) == 0 ? buf : NULL;
    }
    char cand[2][SITE_PATH_MAX];
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (xdg && xdg[0] == '/')
        snprintf(cand[0], sizeof cand[0], "%s/portier/portier.conf", xdg);
    else
        snprintf(cand[0], sizeof cand[0], "%s/.config/portier/portier.conf", home && home[0] ? home : "");
    snprintf(cand[1], sizeof cand[1], "/etc/portier/portier.conf");
    for (int i = 0; i < 2; i++) {
        if (lstat(cand[i], &st) == 0) {
            snprintf(buf, len, "%s", cand[i]);
            return buf;
        }
    }
    snprintf(buf, len, "%s, %s", cand[0], cand[1]);
    return NULL;
}

int site_config_check(const char *explicit_path, FILE *out, FILE *err)
{
    char path[2 * SITE_PATH_MAX + 8];
    if (!site_config_find(explicit_path, path, sizeof path)) {
        if (explicit_path)
            fprintf(err, "%s: no such file\n", explicit_path);
        else
            fprintf(err, "no configuration found (tried %s); use -c FILE\n", path);
        return 2;
    }
    struct config_diags d;
    struct site *site = site_config_load(path, &d);
    config_diags_print(&d, err);
    int rc;
    if (site) {
        size_t doors = 0;
        for (size_t i = 0; i < site->n_outputs; i++)
            doors += site->outputs[i].type != OUTPUT_AUX;
        fprintf(out, "%s: OK: site \"%s\": %zu panel%s, %zu bus%s, %zu door%s, %zu warning%s\n", path, site->name,
                site->n_panels, site->n_panels == 1 ? "" : "s", site->n_buses, site->n_buses == 1 ? "" : "es",
                doors, doors == 1 ? "" : "s", d.warnings, d.warnings == 1 ? "" : "s");
        rc = 0;
    } else {
        fprintf(out, "%s: %zu error%s, %zu warning%s\n", path, d.errors, d.errors == 1 ? "" : "s", d.warnings,
                d.warnings == 1 ? "" : "s");
        rc = 1;
    }
    site_free(site);
    config_diags_free(&d);
    return rc;
}
