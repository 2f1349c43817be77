/* ctl_nix1_relay: `portierctl nix1 PORT ...` against a bus portierd owns: the command runs here as in direct mode (the
 * same driver operations, output and exit status), on a relay bus whose requests go one by one to the daemon, which
 * sends each on its bus between its own work and audits the whole command as one row. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl_nix1.h"
#include "cli/ctl_site.h"
#include "core/proto.h"
#include "core/strbuf.h"
#include "drivers/nix1/nix1_rc.h"

/* What cannot go through the daemon, and where to turn instead (NULL: it can). */
static const char *not_relayed(const struct ctl_call *call)
{
    int (*run)(struct ctl_call *) = call->verb->run;
    if (run == n1_cmd_entries)
        return "the access entries of a bus portierd owns are read by portierd alone, into its journal (reading "
               "them here would take them from it): portierctl watch, or portierctl journal --device BUS";
    if (run == n1_cmd_door)
        return "the doors of a bus portierd owns are portierd's (it keeps their state and every client sees them): "
               "portierctl door hold|release|open|timed-open NAME, portierctl emergency on|off";
    if (run == n1_cmd_baud_set)
        return "the line rate of a bus portierd owns is its configuration's: change baud in portier.conf, then "
               "portierctl reload";
    return NULL;
}

/* The command in the technician's words, for the audit row: "nix1 unit set 1 7 --slave 2701...". */
static void command_text(const struct n1ctx *c, char *buf, size_t cap)
{
    const struct ctl_call *call = c->call;
    struct strbuf sb;
    strbuf_init(&sb, buf, cap);
    strbuf_puts(&sb, "nix1");
    size_t slot = 0;
    for (const char *p = call->verb->syntax; *p;) {
        size_t n = strcspn(p, " ");
        bool arg = (p[0] >= 'A' && p[0] <= 'Z') || p[0] == '[' || memchr(p, '|', n);
        strbuf_sep(&sb, " ");
        if (!arg)
            strbuf_putn(&sb, p, n);
        else if (slot < CTL_MAX_ARGS && call->arg[slot].set)
            strbuf_puts(&sb, call->arg[slot++].s);
        else
            slot++;
        p += n + (p[n] == ' ');
    }
    if (c->tk == N1_TGT_BROADCAST)
        strbuf_puts(&sb, " --broadcast");
    else if (c->tk == N1_TGT_SCRATCH)
        strbuf_puts(&sb, " --scratch");
    for (size_t i = 0; i < c->nslaves; i++) {
        char as[NIX1_ADDR_LEN + 1];
        strbuf_puts(&sb, i ? "," : " --slave ");
        strbuf_puts(&sb, n1_addr(&c->slaves[i], as));
    }
}

/* ---- the relay ---- */

struct line {
    struct n1ctx *c;
    long id;
    nix1_addr_t addr;
};

/* The daemon's answer as the bus's own result: the payload, then one data line after each '\n'; a failure's first
 * word is the bus's status ("timeout: no answer"). */
static void on_answer(void *arg, const json_t *fin)
{
    struct line *l = arg;
    struct n1ctx *c = l->c;
    if (!c->bus) { /* the command ended meanwhile */
        free(l);
        return;
    }
    struct nix1_result res;
    memset(&res, 0, sizeof res);
    res.from = l->addr;
    const char *st = proto_str(fin, "status"), *error = proto_str(fin, "error");
    char why[400];
    char *text = NULL;
    const char **lines = NULL;
    if (st && strcmp(st, "ok") == 0) {
        res.status = nix1_addr_is_broadcast(&l->addr) ? NIX1_ST_SENT : NIX1_ST_REPLY;
        res.rc = (uint8_t)json_integer_value(json_object_get(fin, "code"));
        const char *from = proto_str(fin, "from");
        if (from && nix1_addr_parse_str(from, &res.from) != 0)
            res.from = l->addr;
        text = strdup(proto_str(fin, "reply") ? proto_str(fin, "reply") : "");
        size_t n = 0;
        for (const char *p = text; p && *p; p++)
            n += *p == '\n';
        lines = text ? calloc(n + 1, sizeof *lines) : NULL;
        if (!lines) {
            res.status = NIX1_ST_IO;
            res.error = "out of memory";
        } else {
            char *nl = strchr(text, '\n');
            res.payload = text;
            while (nl) {
                *nl = '\0';
                lines[res.nlines++] = nl + 1;
                nl = strchr(nl + 1, '\n');
            }
            res.payload_len = strlen(text);
            res.lines = lines;
        }
    } else if (st && strcmp(st, "failed") == 0 && error && strncmp(error, "timeout: ", 9) == 0) {
        res.status = NIX1_ST_TIMEOUT;
        res.error = error + 9;
    } else if (st && strcmp(st, "failed") == 0 && error && strncmp(error, "busy: ", 6) == 0) {
        res.status = NIX1_ST_BUSY;
        res.rc = NIX1_RC_SYN;
        res.error = error + 6;
    } else {
        res.status = NIX1_ST_IO;
        snprintf(why, sizeof why, "portierd: %s", error && error[0] ? error : st ? st : "no answer");
        res.error = why;
    }
    nix1_bus_relay_done(c->bus, l->id, &res);
    free(lines);
    free(text);
    free(l);
}

static int relay_send(void *arg, long id, const nix1_addr_t *addr, const char *line, unsigned timeout_ms, char *why,
                      size_t whylen)
{
    struct n1ctx *c = arg;
    struct line *l = malloc(sizeof *l);
    if (!l) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    *l = (struct line){ .c = c, .id = id, .addr = *addr };
    char slave[NIX1_ADDR_LEN + 1];
    if (nix1_addr_is_broadcast(addr))
        snprintf(slave, sizeof slave, "broadcast");
    else
        n1_addr(addr, slave);
    if (ctl_daemon_bus_send(c->daemon, slave, line, timeout_ms, on_answer, l) < 0) {
        free(l);
        snprintf(why, whylen, "portierd: the connection is gone");
        return -1;
    }
    return 0;
}

int n1_relay_open(struct n1ctx *c)
{
    if (c->g->direct)
        return -1;
    struct ctl_daemon_device *d;
    int rc = ctl_daemon_bus_open(c->call, c->port, &d);
    if (rc != CTL_EXIT_OK)
        return rc;
    const char *why = not_relayed(c->call);
    if (why) {
        ctl_daemon_panel_close(d);
        return n1_fail(c, CTL_EXIT_USAGE, why);
    }
    char text[200], err[320];
    command_text(c, text, sizeof text);
    rc = ctl_daemon_bus_begin(d, text, err, sizeof err);
    if (rc != CTL_EXIT_OK) {
        ctl_daemon_panel_close(d);
        return n1_fail(c, rc, err);
    }
    c->daemon = d;
    c->loop = ctl_daemon_device_loop(d);
    struct nix1_bus_relay relay = { .send = relay_send, .arg = c };
    c->bus = nix1_bus_new_relay(c->loop, &relay);
    if (!c->bus) {
        n1_relay_close(c, CTL_EXIT_UNREACHABLE);
        return n1_fail(c, CTL_EXIT_UNREACHABLE, "out of memory");
    }
    if (c->g->verbose)
        fprintf(stderr, "portierctl nix1: %s belongs to portierd: each request goes through it\n", c->port);
    return CTL_EXIT_OK;
}

int n1_relay_close(struct n1ctx *c, int rc)
{
    if (c->bus)
        nix1_bus_free(c->bus); /* a request still on the daemon's bus completes there; its answer is dropped */
    c->bus = NULL;
    char detail[40];
    snprintf(detail, sizeof detail, "exit status %d", rc);
    ctl_daemon_bus_end(c->daemon, rc, detail);
    ctl_daemon_panel_close(c->daemon);
    c->daemon = NULL;
    c->loop = NULL;
    return rc;
}
