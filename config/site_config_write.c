/* site_config_write: the configuration writer of site_config.h (no libconfig needed: plain text the loader
 * accepts), apart from the loader so each stays readable. */
#include <stdio.h>
#include <string.h>

#include "config/site_config.h"

static void put_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p); /* never loaded (control characters are refused), but stay valid */
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void put_kv(FILE *out, const char *indent, const char *key, const char *value)
{
    fprintf(out, "%s%s = ", indent, key);
    put_str(out, value);
    fputs(";\n", out);
}

static void put_names(FILE *out, const char *indent, const char *key, const char (*names)[SITE_NAME_MAX], size_t n)
{
    fprintf(out, "%s%s = (", indent, key);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", " : " ", out);
        put_str(out, names[i]);
    }
    fputs(" );\n", out);
}

/* A list of n groups (items, each size bytes) at indent, each "{", what write() writes of it, "}", commas between. */
static void put_groups(FILE *out, const char *indent, const void *items, size_t n, size_t size,
                       void (*write)(FILE *, const void *))
{
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%s{\n", indent);
        write(out, (const char *)items + i * size);
        fprintf(out, "%s}%s\n", indent, i + 1 < n ? "," : "");
    }
}

static void write_panel(FILE *out, const void *item)
{
    const struct site_panel *p = item;
    put_kv(out, "    ", "name", p->name);
    put_kv(out, "    ", "host", p->host);
    fprintf(out, "    port = %u;\n", (unsigned)p->port);
    if (p->password[0])
        put_kv(out, "    ", "password", p->password);
    if (p->model[0])
        put_kv(out, "    ", "model", p->model);
    fprintf(out, "    poll_ms = %u;\n    timeout_ms = %u;\n", p->poll_ms, p->timeout_ms);
    /* Without a model the door count is the number of names (3 → 4), so write one entry per door ("" =
     * unnamed); with a model, the same list keeps every name in place. */
    unsigned doors = p->doors > SITE_C3_MAX_DOORS ? SITE_C3_MAX_DOORS : p->doors;
    put_names(out, "    ", "doors", p->door_names, doors);
    if (p->aux_count)
        put_names(out, "    ", "aux", p->aux_names, p->aux_count > SITE_C3_MAX_DOORS ? SITE_C3_MAX_DOORS : p->aux_count);
}

static void write_slave(FILE *out, const void *item)
{
    const struct site_slave *s = item;
    put_kv(out, "          ", "address", s->addr);
    if (strcmp(s->name, s->addr) != 0)
        put_kv(out, "          ", "name", s->name);
    if (s->valid_timeout >= 0)
        fprintf(out, "          valid_access_timeout = %d;\n", s->valid_timeout);
    if (s->bad_timeout >= 0)
        fprintf(out, "          bad_access_timeout = %d;\n", s->bad_timeout);
    for (int p = 0; p < SITE_NIX1_PROBES; p++) {
        if (!s->probe_doors[p][0])
            continue;
        fprintf(out, "          probe%d = { door = ", p + 1);
        put_str(out, s->probe_doors[p]);
        if (s->probe_units[p] >= 0)
            fprintf(out, "; unit = %d", s->probe_units[p]);
        fputs("; };\n", out);
    }
}

static void write_bus(FILE *out, const void *item)
{
    const struct site_bus *b = item;
    static const char *const modes[] = { "auto", "rts", "none" };
    put_kv(out, "    ", "name", b->name);
    put_kv(out, "    ", "port", b->port);
    fprintf(out, "    baud = %u;\n", b->baud);
    put_kv(out, "    ", "rs485", modes[b->rs485 <= SITE_RS485_NONE ? b->rs485 : 0]);
    fprintf(out, "    poll_ms = %u;\n", b->poll_ms);
    if (b->server_dir[0])
        put_kv(out, "    ", "server_dir", b->server_dir);
    fputs("    slaves = (\n", out);
    put_groups(out, "        ", b->slaves, b->n_slaves, sizeof b->slaves[0], write_slave);
    fputs("    );\n", out);
}

/* The mqtt block (its own part, as in the loader). */
static void write_mqtt(FILE *out, const struct site_mqtt *m)
{
    fputs("\nmqtt = {\n", out);
    put_kv(out, "  ", "host", m->host);
    fprintf(out, "  port = %u;\n", (unsigned)m->port);
    if (m->tls) {
        fputs("  tls = {\n", out);
        if (m->tls_ca[0])
            put_kv(out, "    ", "ca", m->tls_ca);
        if (m->tls_cert[0])
            put_kv(out, "    ", "cert", m->tls_cert);
        if (m->tls_key[0])
            put_kv(out, "    ", "key", m->tls_key);
        fputs("  };\n", out);
    }
    if (m->username[0])
        put_kv(out, "  ", "username", m->username);
    if (m->password_file[0])
        put_kv(out, "  ", "password_file", m->password_file);
    put_kv(out, "  ", "client_id", m->client_id);
    put_kv(out, "  ", "base_topic", m->base_topic);
    fprintf(out, "  qos = %u;\n  keepalive = %u;\n  max_inflight = %u;\n  commands = %s;\n  discovery = %s;\n", m->qos,
            m->keepalive, m->max_inflight, m->commands ? "true" : "false", m->discovery ? "true" : "false");
    put_kv(out, "  ", "discovery_prefix", m->discovery_prefix);
    if (m->ha_user[0])
        put_kv(out, "  ", "ha_user", m->ha_user);
    fputs("  roles = (", out);
    for (size_t i = 0; i < m->n_users; i++) {
        fputs(i ? ",\n    { user = " : "\n    { user = ", out);
        put_str(out, m->users[i].user);
        fprintf(out, "; role = \"%s\"; }", role_name(m->users[i].role));
    }
    fputs(" );\n};\n", out);
}

int site_config_write(const struct site *site, FILE *out)
{
    static const char *const confirms[] = { "none", "double", "word" };
    static const char *const restores[] = { "previous", "locked" };
    static const char *const bells[] = { "none", "alarm", "all" };
    fputs("site = {\n", out);
    put_kv(out, "  ", "name", site->name);
    fputs("};\n\npanels = (\n", out);
    put_groups(out, "  ", site->panels, site->n_panels, sizeof site->panels[0], write_panel);
    fputs(");\n\nbuses = (\n", out);
    put_groups(out, "  ", site->buses, site->n_buses, sizeof site->buses[0], write_bus);
    fputs(");\n\nroles = {\n", out);
    put_kv(out, "  ", "default", role_name(site->default_role));
    fputs("  map = (\n", out);
    for (size_t i = 0; i < site->n_roles; i++) {
        const struct role_map *m = &site->roles[i];
        fprintf(out, "    { %s = ", m->is_group ? "group" : "user");
        put_str(out, m->name);
        fprintf(out, "; role = \"%s\"; }%s\n", role_name(m->role), i + 1 < site->n_roles ? "," : "");
    }
    fputs("  );\n};\n\nemergency = {\n", out);
    const struct site_emergency *e = &site->emergency;
    if (e->all_doors)
        fputs("  doors = \"all\";\n", out);
    else
        put_names(out, "  ", "doors", (const char (*)[SITE_NAME_MAX])e->doors, e->n_doors);
    fprintf(out, "  confirm = \"%s\";\n  double_ms = %u;\n", confirms[e->confirm <= SITE_CONFIRM_WORD ? e->confirm : 1],
            e->double_ms);
    if (e->word[0])
        put_kv(out, "  ", "word", e->word);
    fprintf(out, "  restore = \"%s\";\n};\n\njournal = {\n", restores[e->restore == SITE_RESTORE_LOCKED]);
    if (site->journal.path[0])
        put_kv(out, "  ", "path", site->journal.path);
    fprintf(out, "  retention_days = %u;\n  retention_rows = %lluL;\n  queue_events = %zu;\n};\n\nui = {\n",
            site->journal.retention_days, (unsigned long long)site->journal.retention_rows, site->journal.queue_events);
    fprintf(out, "  colours = %s;\n  bell = \"%s\";\n  keys = (", site->ui.colours ? "true" : "false",
            bells[site->ui.bell <= SITE_BELL_ALL ? site->ui.bell : 1]);
    for (size_t i = 0; i < site->ui.n_keys; i++) {
        char kb[sizeof site->ui.keys[i].action + sizeof site->ui.keys[i].key + 2];
        snprintf(kb, sizeof kb, "%s=%s", site->ui.keys[i].action, site->ui.keys[i].key);
        fputs(i ? ", " : " ", out);
        put_str(out, kb);
    }
    fputs(" );\n};\n", out);
    if (site->daemon.socket[0] || site->daemon.group[0]) {
        fputs("\ndaemon = {\n", out);
        if (site->daemon.socket[0])
            put_kv(out, "  ", "socket", site->daemon.socket);
        if (site->daemon.group[0])
            put_kv(out, "  ", "group", site->daemon.group);
        fputs("};\n", out);
    }
    if (site->mqtt.enabled)
        write_mqtt(out, &site->mqtt);
    return ferror(out) ? -1 : 0;
}
