/* client: the console on portierd's mirror site: connecting, the alarms and emergency as the daemon tells them,
 * and a loud state while it is not connected (the screen keeps what it had; actions say why they cannot run). */
#include "tui/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/remote.h"
#include "config/site_config.h"
#include "core/event.h"

int client_choose(const char *socket_opt, const char *config, bool direct, char *sock, size_t len,
                  struct site **local)
{
    *local = NULL;
    if (direct)
        return 0;
    snprintf(sock, len, "%s", socket_opt ? socket_opt : REMOTE_DEFAULT_SOCKET);
    /* A configuration this user can read: its daemon.socket and its ui block (the rest is the daemon's). */
    char path[2 * SITE_PATH_MAX + 8];
    if (site_config_find(config, path, sizeof path) && access(path, R_OK) == 0) {
        struct config_diags d;
        memset(&d, 0, sizeof d);
        *local = site_config_load(path, &d);
        config_diags_free(&d);
        if (*local && !socket_opt && (*local)->daemon.socket[0])
            snprintf(sock, len, "%s", (*local)->daemon.socket);
    }
    struct stat st;
    if (socket_opt || (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode)))
        return 1;
    site_free(*local);
    *local = NULL;
    return 0;
}

/* ---- what the daemon tells ---- */

static void on_state(struct remote *r, enum remote_state st, const char *why, void *arg)
{
    (void)r;
    struct console *c = arg;
    if (st == REMOTE_DOWN) {
        /* The message once, when the link goes (every failed retry would overwrite what an action said); the
         * banner keeps the newest reason. */
        if (!c->remote_down && c->panes[PANE_EVENTS])
            console_message(c, TH_CRIT, "NOT CONNECTED to portierd: %s; reconnecting", why ? why : "disconnected");
        if (!c->remote_down)
            c->remote_down_us = event_now_us();
        c->remote_down = true;
        snprintf(c->remote_why, sizeof c->remote_why, "%s", why ? why : "disconnected");
    } else if (st == REMOTE_UP) {
        if (c->remote_down && c->panes[PANE_EVENTS])
            console_message(c, TH_OK, "connected to portierd again: the screen is current");
        if (c->remote_refusal_shown && c->dlg.kind == DLG_INFO)
            c->dlg.kind = DLG_NONE; /* "cannot act: not connected" is no longer true */
        c->remote_refusal_shown = false;
        c->remote_down = false;
        c->remote_why[0] = '\0';
    }
    c->dirty = true;
}

/* The daemon's open alarms are the truth after a snapshot: what it no longer has was acknowledged meanwhile. */
static void reconcile_alarms(struct console *c)
{
    size_t n;
    const struct event *open = remote_alarms(c->remote, &n);
    for (size_t i = c->n_alarms; i-- > 0;) {
        int64_t id = c->alarms[i].ev.id;
        bool still = id <= 0;
        for (size_t k = 0; !still && k < n; k++)
            still = open[k].id == id;
        if (!still)
            alarms_acked(c, id);
    }
    for (size_t k = n; k-- > 0;) { /* oldest first, as they came */
        bool have = false;
        for (size_t i = 0; !have && i < c->n_alarms; i++)
            have = c->alarms[i].ev.id == open[k].id;
        if (!have)
            alarms_add(c, &open[k]);
    }
}

static void on_snapshot(struct remote *r, struct site *m, bool replaced, void *arg)
{
    struct console *c = arg;
    if (replaced) {
        /* The daemon's configuration changed shape (devices or doors added or removed): the panes hold indices
         * into the old site, so the console starts again on the new one (main re-executes it). The old mirror
         * and its event bus are gone already. */
        c->site = m;
        c->event_sub = c->stored_sub = 0;
        c->restart = true;
        c->quit = true;
        return;
    }
    c->user.role = c->readonly ? ROLE_GUARD : remote_role(r);
    if (c->alarms)
        reconcile_alarms(c);
    c->dirty = true;
}

static void on_emergency(struct remote *r, const struct proto_emergency *e, void *arg)
{
    (void)r;
    struct console *c = arg;
    c->em.running = e->running;
    c->em.on = strcmp(e->action, "emergency-on") == 0;
    c->em.confirmed = e->confirmed;
    c->em.pending = e->pending;
    c->em.failed = e->failed;
    c->em.total = e->total;
    proto_emergency_failures_text(e, c->em.failures, sizeof c->em.failures);
    c->dirty = true;
}

static void on_ack(struct remote *r, int64_t event_id, const char *by, void *arg)
{
    (void)r;
    struct console *c = arg;
    bool elsewhere = false; /* listed here and not being acknowledged by this console */
    for (size_t i = 0; i < c->n_alarms; i++)
        if (c->alarms[i].ev.id == event_id)
            elsewhere = !c->alarms[i].acking;
    alarms_acked(c, event_id);
    if (elsewhere)
        console_message(c, TH_INFO, "alarm #%lld acknowledged by %s (another client)", (long long)event_id, by);
}

static void on_notice(struct remote *r, const char *level, const char *text, void *arg)
{
    (void)r;
    struct console *c = arg;
    console_message(c, strcmp(level, "error") == 0 ? TH_CRIT : strcmp(level, "warning") == 0 ? TH_WARN : TH_INFO,
                    "portierd: %s", text);
}

static void on_missed(struct remote *r, int64_t from, int64_t to, void *arg)
{
    (void)r;
    console_message(arg, TH_WARN, "events #%lld..#%lld were not replayed after the reconnect: see the journal",
                    (long long)from, (long long)to);
}

int client_start(struct console *c, const char *sock, char *why, size_t whylen)
{
    struct remote_opts o = { .socket = sock, .client = "portier " PORTIER_VERSION, .readonly = c->readonly,
                             .role = -1, .journal_rows = 0, .stream = true, .reconnect = true };
    struct remote_handlers h = { .state = on_state, .snapshot = on_snapshot, .emergency = on_emergency,
                                 .ack = on_ack, .notice = on_notice, .missed = on_missed, .arg = c };
    c->remote = remote_new(c->loop, &o, &h);
    if (!c->remote) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    if (remote_connect(c->remote, why, whylen) < 0 || remote_wait_up(c->remote, 10000, why, whylen) < 0) {
        if (c->remote_why[0])
            snprintf(why, whylen, "%s", c->remote_why);
        remote_free(c->remote);
        c->remote = NULL;
        return -1;
    }
    c->site = remote_site(c->remote);
    snprintf(c->user.name, sizeof c->user.name, "%s", remote_user(c->remote));
    c->user.role = c->readonly ? ROLE_GUARD : remote_role(c->remote);
    return 0;
}

void client_ready(struct console *c)
{
    reconcile_alarms(c);
    const struct proto_emergency *e = remote_emergency(c->remote);
    on_emergency(c->remote, e, c);
    if (e->active)
        console_message(c, TH_CRIT, "EMERGENCY active since it was started by %s", e->by);
}

void client_stop(struct console *c)
{
    /* Requests in flight get their final answer while the panes and the mirror still exist; then the mirror goes,
     * and ui_free must not touch its event bus. */
    remote_free(c->remote);
    c->remote = NULL;
    c->site = NULL;
    c->event_sub = c->stored_sub = 0;
}
