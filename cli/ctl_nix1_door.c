/* ctl_nix1_door: `portierctl nix1` door control: hold open / release, the fail-safe timed open and the bus-wide
 * emergency, with the remembered slave states in a state file. The only place of portierctl that uses
 * drivers/nix1/nix1_door (the owner of the §5.14 rules). */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/ctl_nix1.h"
#include "config/site_config.h"
#include "core/durable.h"
#include "core/statedir.h"
#include "drivers/nix1/nix1_door.h"
#include "drivers/nix1/nix1_line.h"

struct door_ctx {
    struct n1ctx *c;
    const char *state_path;
};

/* ---- door state file ---- */

/* Direct mode (no site): "nix1@<port>.state" in the state directory (core/statedir.h). */
static char *default_state_path(const char *port)
{
    char name[300], safe[256], err[200];
    snprintf(name, sizeof name, "nix1@%s.state", statedir_name(port, safe, sizeof safe));
    char *out = malloc(PATH_MAX);
    if (out && statedir_path(name, out, PATH_MAX, err, sizeof err) < 0) {
        fprintf(stderr, "portierctl nix1: %s\n", err);
        free(out);
        out = NULL;
    }
    return out;
}

static void door_load(const struct door_ctx *c, struct nix1_door *d)
{
    char *data = NULL;
    size_t len = 0;
    if (n1_read_file(c->state_path, &data, &len) == 0) {
        if (nix1_door_load(d, data, len) < 0)
            fprintf(stderr, "portierctl nix1: %s: some lines are invalid and were ignored\n", c->state_path);
        free(data);
    }
}

/* nix1_door's store: the remembered state is on disk before a door is changed (write-ahead). */
static int door_store(void *arg, const char *text, size_t len, char *err, size_t errlen)
{
    const struct door_ctx *c = arg;
    int rc = durable_write(c->state_path, text, len, 0600, 0, err, errlen);
    if (rc < 0)
        fprintf(stderr, "portierctl nix1: cannot save the door state: %s\n", err);
    return rc;
}

/* Whether the state file remembers at least one slave (read before anything is opened). */
static bool state_knows_slaves(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    if (n1_read_file(path, &data, &len) < 0)
        return false;
    bool any = len >= 6 && (strncmp(data, "slave\t", 6) == 0 || memmem(data, len, "\nslave\t", 7));
    free(data);
    return any;
}

/* The slaves the site configuration puts on this port (-c FILE, or the configuration found), added to c->slaves.
 * Quietly nothing when there is no configuration or it does not load: the emergency does not wait for it. */
static size_t config_slaves(struct n1ctx *c)
{
    char path[2 * SITE_PATH_MAX + 8];
    if (!site_config_find(c->g->config_path, path, sizeof path))
        return 0;
    struct config_diags dg;
    struct site *s = site_config_load(path, &dg);
    config_diags_free(&dg);
    size_t added = 0;
    for (size_t b = 0; s && b < s->n_buses; b++) {
        if (strcmp(s->buses[b].port, c->port) != 0)
            continue;
        for (size_t i = 0; i < s->buses[b].n_slaves && c->nslaves < N1_MAX_SLAVES; i++) {
            nix1_addr_t a;
            bool dup = nix1_addr_parse_str(s->buses[b].slaves[i].addr, &a) != 0;
            for (size_t k = 0; !dup && k < c->nslaves; k++)
                dup = nix1_addr_equal(&c->slaves[k], &a);
            if (!dup) {
                c->slaves[c->nslaves++] = a;
                added++;
            }
        }
    }
    site_free(s);
    return added;
}

struct door_wait {
    struct n1ctx *c;
    const struct nix1_door *d;
    bool broadcast;   /* the emergency went out as a broadcast: slaves not known here were not verified */
    bool done;
    int rc;
};

static void on_door(void *arg, const struct nix1_door_report *r)
{
    struct door_wait *w = arg;
    struct n1ctx *c = w->c;
    for (size_t i = 0; i < r->n; i++) {
        const struct nix1_door_outcome *o = &r->v[i];
        char as[NIX1_ADDR_LEN + 1];
        n1_addr(&o->addr, as);
        if (c->g->json) {
            json_t *j = json_object();
            json_object_set_new(j, "type", json_string("door"));
            json_object_set_new(j, "op", json_string(r->op));
            json_object_set_new(j, "slave", json_string(as));
            json_object_set_new(j, "ok", json_boolean(o->ok));
            json_object_set_new(j, "unreachable", json_boolean(o->unreachable));
            json_object_set_new(j, "resent", json_integer(o->resent));
            if (!o->ok)
                json_object_set_new(j, "error", json_string(o->msg));
            if (o->ok && o->until_us) {
                json_object_set_new(j, "until", json_integer((json_int_t)(o->until_us / 1000000)));
                json_object_set_new(j, "cron", json_string(o->cron));
            }
            ctl_print_json(j);
        } else {
            printf("%s %s: %s%s%s", as, r->op, o->ok ? "ok" : (o->unreachable ? "UNREACHABLE" : "FAILED"),
                   o->ok ? "" : ": ", o->ok ? "" : o->msg);
            if (o->resent)
                printf(" (%u re-sent by unicast)", o->resent);
            const struct nix1_door_slave *s = w->d ? nix1_door_find(w->d, &o->addr) : NULL;
            if (w->broadcast && o->ok && s && !s->known)
                printf(" (its schedule before was not known: 'emergency off --locked' closes it)");
            printf("\n");
            if (o->ok && o->until_us) {
                char buf[32];
                time_t until = (time_t)(o->until_us / 1000000);
                struct tm tm;
                localtime_r(&until, &tm);
                strftime(buf, sizeof buf, "%H:%M", &tm);
                printf("door opens now and closes by itself at %s (slave cron \"%s\" on the slave's clock, "
                       "fail-safe)\n", buf, o->cron);
            }
        }
    }
    if (c->g->json) {
        json_t *j = json_object();
        json_object_set_new(j, "type", json_string("door_summary"));
        json_object_set_new(j, "op", json_string(r->op));
        json_object_set_new(j, "ok", json_integer((json_int_t)r->ok));
        json_object_set_new(j, "failed", json_integer((json_int_t)r->failed));
        json_object_set_new(j, "unreachable", json_integer((json_int_t)r->unreachable));
        json_object_set_new(j, "seconds", json_real((double)r->elapsed_us / 1e6));
        if (w->broadcast) {
            json_object_set_new(j, "broadcast", json_true());
            json_object_set_new(j, "verified", json_integer((json_int_t)r->n));
        }
        ctl_print_json(j);
    } else {
        printf("%s: %zu ok, %zu failed, %zu unreachable in %.2f s\n", r->op, r->ok, r->failed, r->unreachable,
               (double)r->elapsed_us / 1e6);
        if (w->broadcast)
            printf("every slave on the line got the unlock broadcast; %zu known here %s verified, any other slave "
                   "could not be (name them with --slave ADDR, or -c FILE)\n", r->n, r->n == 1 ? "was" : "were");
    }
    w->rc = r->failed ? CTL_EXIT_DEVICE_ERROR : r->unreachable ? CTL_EXIT_UNREACHABLE : CTL_EXIT_OK;
    w->done = true;
}

static void quiet_door(void *arg, const struct nix1_door_report *r)
{
    struct door_wait *w = arg;
    (void)r;
    w->done = true;
}

/* hold on|off, open MINUTES, emergency on|off. */
int n1_cmd_door(struct ctl_call *call)
{
    struct n1ctx cx, *c = &cx;
    bool emergency = strncmp(call->verb->syntax, "emergency", 9) == 0;
    bool open = strncmp(call->verb->syntax, "open", 4) == 0;
    int rc = n1_targets(c, call, emergency ? N1_DOORS : N1_UNICAST, 0, 0);
    if (rc != CTL_EXIT_OK)
        return rc;
    bool on = ctl_num(call, "on|off", 0) == 0;
    unsigned minutes = (unsigned)ctl_num(call, "MINUTES", 0);
    unsigned wait_s = (unsigned)ctl_num(call, "wait", 0);
    struct door_ctx dc = { .c = c, .state_path = ctl_str(call, "state", NULL) };
    char *own_path = NULL;
    if (!dc.state_path)
        dc.state_path = own_path = default_state_path(c->port);
    if (!dc.state_path)
        return CTL_EXIT_USAGE;
    size_t from_config = emergency ? config_slaves(c) : 0;
    bool unlock_first = emergency && on && c->tk == N1_TGT_BROADCAST;
    if (emergency && !unlock_first && !c->nslaves && !state_knows_slaves(dc.state_path)) {
        free(own_path);
        return n1_usage(c, "needs the bus's slaves: --slave ADDR (repeat), a state file or a configuration that "
                           "knows them (or --broadcast to unlock every slave of the line)");
    }
    if ((rc = n1_open(c)) != CTL_EXIT_OK) {
        free(own_path);
        return rc;
    }
    struct nix1_door *d = nix1_door_new(c->bus);
    if (!d) {
        n1_close(c, CTL_EXIT_UNREACHABLE);
        free(own_path);
        return CTL_EXIT_UNREACHABLE;
    }
    door_load(&dc, d);
    nix1_door_set_store(d, door_store, &dc);
    for (size_t i = 0; i < c->nslaves; i++)
        nix1_door_add(d, &c->slaves[i]);
    struct door_wait w = { .c = c, .d = d, .broadcast = unlock_first };
    if (unlock_first) {
        /* Unlock first: the broadcast goes out before anything is read; then every slave known here (--slave,
         * the state file, the configuration) is verified and re-sent to where it differs. */
        if (!c->g->json)
            printf("emergency: unlocking every door of %s by broadcast, then verifying %zu known slave%s%s\n", c->port,
                   nix1_door_count(d), nix1_door_count(d) == 1 ? "" : "s", from_config ? " (some from the configuration)" : "");
        fflush(stdout);
        rc = nix1_door_emergency_now(d, on_door, &w);
    } else if (emergency) {
        if (on && !nix1_door_emergency_active(d)) {
            /* Refresh what will be restored; slaves that do not answer keep what was remembered. */
            struct door_wait sw = { .c = c };
            if (nix1_door_refresh(d, NULL, 0, quiet_door, &sw) == 0)
                n1_run_until(c, &sw.done);
        }
        if (!on && wait_s) {
            /* Keep polling so that slaves coming back are restored (the door watches the bus). */
            for (size_t i = 0; i < nix1_door_count(d); i++)
                nix1_bus_add_slave(c->bus, &nix1_door_at(d, i)->addr);
        }
        rc = nix1_door_emergency(d, on, ctl_has(call, "locked"), on_door, &w);
    } else if (!open) {
        rc = nix1_door_hold(d, &c->target, on, on_door, &w);
    } else {
        /* The window is computed by the door module on the slave's own clock and zone (Qt). */
        rc = nix1_door_timed_open(d, &c->target, minutes, 0, on_door, &w);
    }
    int result;
    if (rc != 0) {
        fprintf(stderr, "portierctl nix1: %s: cannot start the operation\n", call->verb->syntax);
        result = CTL_EXIT_USAGE;
    } else {
        n1_watch_signals(c);
        n1_run_until(c, &w.done);
        result = w.done ? w.rc : CTL_EXIT_UNREACHABLE;
    }
    if (rc == 0 && emergency && !on && wait_s && result == CTL_EXIT_UNREACHABLE) {
        /* Wait for unreachable slaves to come back and be restored. */
        uint64_t end = loop_mono_us() + (uint64_t)wait_s * 1000000u;
        nix1_bus_set_polling(c->bus, true);
        for (;;) {
            bool pending = false;
            for (size_t i = 0; i < nix1_door_count(d); i++)
                pending |= nix1_door_at(d, i)->restore_pending;
            if (!pending && !nix1_door_busy(d)) {
                result = CTL_EXIT_OK;
                if (!c->g->json)
                    printf("every slave restored\n");
                break;
            }
            if (loop_mono_us() > end || c->stop)
                break;
            loop_run_once(c->loop, 200);
        }
    }
    /* an operation still on the wire (interrupted) ends as the bus goes, then the door may go */
    nix1_door_unlisten(d);
    n1_close(c, result);
    nix1_door_free(d);
    free(own_path);
    return result;
}
