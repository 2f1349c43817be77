/* site_config_mqtt: the mqtt = { ... } section of portier.conf, the daemon's MQTT output (doc/mqtt.md). */
#include "config/site_config_mqtt.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const mqtt_keys[] = { "host", "port", "tls", "username", "password_file", "client_id",
                                         "base_topic", "qos", "keepalive", "max_inflight", "commands", "roles",
                                         "discovery", "discovery_prefix", "ha_user", NULL };
static const char *const mqtt_tls_keys[] = { "ca", "cert", "key", NULL };
static const char *const mqtt_role_keys[] = { "user", "role", NULL };

/* A topic prefix: printable, no wildcards, no empty level, no leading or trailing '/'. */
static bool mqtt_check_topic(struct conf_ctx *c, const char *key, const char *v, int line)
{
    bool ok = v[0] && v[0] != '/' && v[strlen(v) - 1] != '/' && !strstr(v, "//") && !strpbrk(v, "+#");
    if (!ok)
        CONF_ERR(c, line,
                 "'%s' = \"%s\" must be a topic prefix: levels separated by '/', none empty, no '+' or '#'", key,
                 v);
    return ok;
}

/* A user name used as a topic level (commands arrive on <base>/cmd/<user>/...). */
static bool mqtt_check_level(struct conf_ctx *c, const char *key, const char *v, int line)
{
    if (!v[0] || strpbrk(v, "/+#")) {
        CONF_ERR(c, line, "'%s' = \"%s\" must not be empty or contain '/', '+' or '#' (it is a topic level)", key, v);
        return false;
    }
    return true;
}

static void mqtt_tls_file(struct conf_ctx *c, const config_setting_t *g, const char *key, char *dst, size_t len)
{
    char v[SITE_PATH_MAX];
    if (!conf_get_str(c, g, key, "mqtt tls", v, sizeof v, false, true))
        return;
    conf_resolve_path(c, v, dst, len);
    if (c->check_perms && access(dst, R_OK) != 0)
        CONF_ERR(c, conf_line(config_setting_get_member(g, key)), "tls %s %s: %s", key, dst, strerror(errno));
}

static void load_mqtt_roles(struct conf_ctx *c, const config_setting_t *l, struct site_mqtt *m)
{
    int n = config_setting_length(l);
    m->users = calloc(n ? (size_t)n : 1, sizeof *m->users);
    if (!m->users)
        return;
    for (int i = 0; i < n; i++) {
        config_setting_t *e = conf_list_group(c, l, i, "mqtt role", "{ user = \"...\"; role = \"...\"; }");
        if (!e)
            continue;
        int line = conf_line(e) ? conf_line(e) : conf_line(l);
        conf_check_keys(c, e, "mqtt role", mqtt_role_keys);
        struct site_mqtt_user *u = &m->users[m->n_users];
        memset(u, 0, sizeof *u);
        int uline = conf_line(config_setting_get_member(e, "user"));
        u->line = uline ? uline : line;
        if (!conf_get_str(c, e, "user", "mqtt role", u->user, sizeof u->user, true, true) ||
            !mqtt_check_level(c, "user", u->user, conf_line(config_setting_get_member(e, "user"))))
            continue;
        int r = conf_get_role(c, e, "mqtt role");
        if (r < 0)
            continue;
        u->role = (enum role)r;
        /* MQTT user names are case-sensitive (unlike portier's device and door names) */
        bool dup = false;
        for (size_t k = 0; k < m->n_users && !dup; k++) {
            dup = strcmp(m->users[k].user, u->user) == 0;
            if (dup)
                CONF_ERR(c, conf_line(config_setting_get_member(e, "user")),
                         "duplicate mqtt user \"%s\" (first at line %d)", u->user, m->users[k].line);
        }
        if (!dup)
            m->n_users++;
    }
}

void site_config_load_mqtt(struct conf_ctx *c, const config_setting_t *g, struct site *site)
{
    struct site_mqtt *m = &site->mqtt;
    m->enabled = true;
    m->line = conf_line(g);
    m->qos = 1;
    m->keepalive = 30;
    m->max_inflight = 64;
    m->discovery = true;
    snprintf(m->base_topic, sizeof m->base_topic, "portier");
    snprintf(m->discovery_prefix, sizeof m->discovery_prefix, "homeassistant");
    conf_check_keys(c, g, "mqtt", mqtt_keys);
    conf_get_str(c, g, "host", "mqtt", m->host, sizeof m->host, true, true);
    config_setting_t *tg = conf_get_group(c, g, "tls");
    if (tg) {
        m->tls = true;
        conf_check_keys(c, tg, "mqtt tls", mqtt_tls_keys);
        mqtt_tls_file(c, tg, "ca", m->tls_ca, sizeof m->tls_ca);
        mqtt_tls_file(c, tg, "cert", m->tls_cert, sizeof m->tls_cert);
        mqtt_tls_file(c, tg, "key", m->tls_key, sizeof m->tls_key);
        if (!m->tls_ca[0] && !config_setting_get_member(tg, "ca"))
            CONF_ERR(c, conf_line(tg), "mqtt tls: 'ca' is required (the CA that signed the broker's certificate)");
        if (!m->tls_cert[0] != !m->tls_key[0] &&
            !config_setting_get_member(tg, m->tls_cert[0] ? "key" : "cert"))
            CONF_ERR(c, conf_line(tg), "mqtt tls: 'cert' and 'key' go together (a client certificate needs its key)");
    }
    long long v;
    m->port = m->tls ? 8883 : 1883;
    if (conf_get_int(c, g, "port", "mqtt", 1, 65535, &v, false))
        m->port = (uint16_t)v;
    if (conf_get_str(c, g, "username", "mqtt", m->username, sizeof m->username, false, true))
        mqtt_check_level(c, "username", m->username, conf_line(config_setting_get_member(g, "username")));
    config_setting_t *pf = config_setting_get_member(g, "password_file");
    if (pf && conf_want_type(c, pf, CONFIG_TYPE_STRING, "password_file")) {
        const char *pv = conf_text_of(c, pf, "password_file", 0);
        if (!pv) {
            /* reported */
        } else if (!pv[0]) {
            CONF_ERR(c, conf_line(pf), "'password_file' must not be empty");
        } else {
            conf_resolve_path(c, pv, m->password_file, sizeof m->password_file);
            conf_password_perms(c, conf_line(pf));
            conf_read_password_file(c, pf, m->password, sizeof m->password);
            if (!m->username[0])
                CONF_ERR(c, conf_line(pf), "mqtt: a password_file needs a 'username'");
        }
    }
    if (conf_get_str(c, g, "client_id", "mqtt", m->client_id, sizeof m->client_id, false, true)) {
        int line = conf_line(config_setting_get_member(g, "client_id"));
        if (strpbrk(m->client_id, "/+# "))
            CONF_ERR(c, line, "'client_id' = \"%s\" must not contain '/', '+', '#' or spaces", m->client_id);
        else if (strlen(m->client_id) > 23)
            CONF_WARN(c, line, "'client_id' is %zu characters: MQTT 3.1.1 brokers need only accept 23",
                 strlen(m->client_id));
    } else {
        /* portier-<site name>, letters and digits kept, the rest as '-', within 23 characters */
        size_t k = (size_t)snprintf(m->client_id, sizeof m->client_id, "portier-");
        for (const char *p = site->name; *p && k < 23; p++)
            m->client_id[k++] = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '-';
        m->client_id[k] = '\0';
    }
    if (conf_get_str(c, g, "base_topic", "mqtt", m->base_topic, sizeof m->base_topic, false, true))
        mqtt_check_topic(c, "base_topic", m->base_topic, conf_line(config_setting_get_member(g, "base_topic")));
    if (conf_get_int(c, g, "qos", "mqtt", 0, 2, &v, false)) {
        if (v == 0)
            CONF_ERR(c, conf_line(config_setting_get_member(g, "qos")),
                     "'qos' = 0 cannot guarantee delivery: use 1 or 2");
        else
            m->qos = (unsigned)v;
    }
    if (conf_get_int(c, g, "keepalive", "mqtt", 5, 3600, &v, false))
        m->keepalive = (unsigned)v;
    if (conf_get_int(c, g, "max_inflight", "mqtt", 1, 1000, &v, false))
        m->max_inflight = (unsigned)v;
    conf_get_bool(c, g, "commands", &m->commands);
    conf_get_bool(c, g, "discovery", &m->discovery);
    if (conf_get_str(c, g, "discovery_prefix", "mqtt", m->discovery_prefix, sizeof m->discovery_prefix, false, true))
        mqtt_check_topic(c, "discovery_prefix", m->discovery_prefix,
                         conf_line(config_setting_get_member(g, "discovery_prefix")));
    config_setting_t *l = conf_get_list(c, g, "roles");
    if (l)
        load_mqtt_roles(c, l, m);
    if (conf_get_str(c, g, "ha_user", "mqtt", m->ha_user, sizeof m->ha_user, false, true)) {
        int line = conf_line(config_setting_get_member(g, "ha_user"));
        bool found = false;
        for (size_t i = 0; i < m->n_users && !found; i++)
            found = strcmp(m->users[i].user, m->ha_user) == 0;
        if (mqtt_check_level(c, "ha_user", m->ha_user, line) && !found && m->commands)
            CONF_WARN(c, line, "ha_user \"%s\" has no entry in mqtt roles: its commands will be refused", m->ha_user);
    }
    if (m->n_users && !m->commands)
        CONF_WARN(c, m->line, "mqtt roles are set but commands = false: no command topic is read");
}

