/* emergency: the durable intent, the per-door progress every client sees, and the retries. */
#include "daemon/emergency.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/device.h"
#include "core/durable.h"
#include "core/statedir.h"
#include "core/event.h"
#include "daemon/daemon.h"

#define RETRY_FIRST_MS 1000
#define RETRY_MAX_MS 15000

struct em_out {
    size_t output;
    enum progress progress;
    char msg[256];                /* a device's reason whole ("...; unlocks when the panel is back") */
    bool retrying;
    unsigned attempts;
};

struct retry_cmd {
    struct emergency *e;
    unsigned gen;
    size_t device;
    struct retry_cmd *next;
};

struct emergency {
    struct daemon *d;
    char path[PATH_MAX];
    char by[64];
    char action[32];
    bool running;
    struct em_out *outs;
    size_t n;
    unsigned gen;                 /* bumped when retries must stop (restore asked, or a new emergency-on) */
    unsigned retry_ms;
    loop_timer_t retry_timer;
    struct retry_cmd *cmds;       /* device commands in flight (freed with the supervisor if never answered) */
    size_t inflight;
};

static void changed(struct emergency *e)
{
    dispatch_emergency_changed(e->d);
}

/* ---- the state file ---- */

/* The state file, keyed by site, beside the drivers' door state files of the same site. */
static int state_path(struct emergency *e, char *err, size_t errlen)
{
    char name[SITE_NAME_MAX + 8], rel[SITE_NAME_MAX + 64];
    snprintf(rel, sizeof rel, "site-%s/portierd-emergency.state", statedir_name(e->d->site->name, name, sizeof name));
    return statedir_path(rel, e->path, sizeof e->path, err, errlen);
}

static int save(struct emergency *e, char *err, size_t errlen)
{
    struct site *s = e->d->site;
    if (state_path(e, err, errlen) < 0)
        return -1;
    if (!s->emergency_active) {
        if (unlink(e->path) != 0 && errno != ENOENT) {
            snprintf(err, errlen, "%s: %s", e->path, strerror(errno));
            return -1;
        }
        return 0;
    }
    char text[512];
    int n = snprintf(text, sizeof text, "# portierd emergency state\nsite %s\nactive 1\nsince_us %lld\nby %s\n",
                     s->name, (long long)s->emergency_since_us, e->by);
    return durable_write(e->path, text, (size_t)n, 0600, 0, err, errlen);
}

/* ---- per-door progress ---- */

static void build_outs(struct emergency *e)
{
    struct site *s = e->d->site;
    free(e->outs);
    e->outs = calloc(s->n_outputs ? s->n_outputs : 1, sizeof *e->outs);
    e->n = 0;
    for (size_t i = 0; e->outs && i < s->n_outputs; i++)
        if (action_emergency_output(s, &s->outputs[i]))
            e->outs[e->n++] = (struct em_out){ .output = i, .progress = PROGRESS_PENDING };
}

static struct em_out *find_out(struct emergency *e, size_t output)
{
    for (size_t i = 0; i < e->n; i++)
        if (e->outs[i].output == output)
            return &e->outs[i];
    return NULL;
}

static void retry_fire(loop_t *loop, void *arg);

struct emergency *emergency_new(struct daemon *d)
{
    struct emergency *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->d = d;
    e->retry_ms = RETRY_FIRST_MS;
    loop_timer_init(&e->retry_timer, retry_fire, e);
    return e;
}

void emergency_free(struct emergency *e)
{
    if (!e)
        return;
    loop_timer_disarm(e->d->loop, &e->retry_timer);
    while (e->cmds) {
        struct retry_cmd *c = e->cmds;
        e->cmds = c->next;
        free(c);
    }
    free(e->outs);
    free(e);
}

bool emergency_busy(const struct emergency *e)
{
    return e->running || e->d->site->emergency_active;
}

void emergency_state(const struct emergency *e, struct proto_emergency *out)
{
    const struct site *s = e->d->site;
    memset(out, 0, sizeof *out);
    out->active = s->emergency_active;
    out->since_us = s->emergency_active ? s->emergency_since_us : 0;
    event_copy(out->by, sizeof out->by, s->emergency_active ? e->by : "");
    out->running = e->running;
    event_copy(out->action, sizeof out->action, e->action);
    for (size_t i = 0; i < e->n; i++) {
        const struct em_out *o = &e->outs[i];
        out->total++;
        if (o->progress == PROGRESS_OK)
            out->confirmed++;
        else if (o->progress == PROGRESS_FAILED)
            out->failed++;
        else
            out->pending++;
        out->retrying += o->retrying;
        if (o->progress == PROGRESS_FAILED && o->output < s->n_outputs)
            proto_emergency_add_failed(out, s->outputs[o->output].name, o->msg);
    }
}

/* ---- retries ---- */

static void arm_retry(struct emergency *e)
{
    bool any = false;
    for (size_t i = 0; i < e->n; i++)
        any = any || e->outs[i].retrying;
    if (!any || e->inflight || !e->d->site->emergency_active)
        return;
    loop_timer_arm_ms(e->d->loop, &e->retry_timer, e->retry_ms);
    e->retry_ms = e->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : e->retry_ms * 2;
}

static void retry_cmd_free(struct emergency *e, struct retry_cmd *c)
{
    for (struct retry_cmd **p = &e->cmds; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    free(c);
}

static void retry_result(void *ctx, size_t output, enum device_result result, const char *message)
{
    struct retry_cmd *c = ctx;
    struct emergency *e = c->e;
    if (c->gen != e->gen)
        return;
    struct em_out *o = find_out(e, output);
    if (!o || !o->retrying)
        return;
    const char *name = output < e->d->site->n_outputs ? e->d->site->outputs[output].name : "?";
    if (result == DEVICE_RESULT_OK) {
        o->progress = PROGRESS_OK;
        o->retrying = false;
        event_copy(o->msg, sizeof o->msg, message && message[0] ? message : "ok");
        event_publish_text(site_events(e->d->site), EVENT_EMERGENCY, EVENT_WARNING, "portierd", name, NULL,
                           "emergency: %s unlocked on retry %u", name, o->attempts);
    } else {
        snprintf(o->msg, sizeof o->msg, "%s%s%s", device_result_name(result), message && message[0] ? ": " : "",
                 message ? message : "");
    }
    changed(e);
}

static void retry_done(void *ctx)
{
    struct retry_cmd *c = ctx;
    struct emergency *e = c->e;
    bool current = c->gen == e->gen;
    retry_cmd_free(e, c);
    if (e->inflight)
        e->inflight--;
    if (current)
        arm_retry(e);
}

static void retry_fire(loop_t *loop, void *arg)
{
    (void)loop;
    struct emergency *e = arg;
    struct site *s = e->d->site;
    if (!s->emergency_active)
        return;
    size_t *outs = malloc((e->n ? e->n : 1) * sizeof *outs);
    if (!outs)
        return;
    for (size_t dev = 0; dev < s->n_devices; dev++) {
        size_t k = 0;
        for (size_t i = 0; i < e->n; i++) {
            struct em_out *o = &e->outs[i];
            if (o->retrying && o->output < s->n_outputs && s->outputs[o->output].device == dev) {
                outs[k++] = o->output;
                o->attempts++;
            }
        }
        struct device *drv = s->devices[dev].drv;
        if (!k || !drv || !drv->ops->command)
            continue;
        struct retry_cmd *c = calloc(1, sizeof *c);
        if (!c)
            break;
        c->e = e;
        c->gen = e->gen;
        c->device = dev;
        struct device_cmd cmd = { .op = DEVICE_EMERGENCY_ON, .outputs = outs, .n_outputs = k,
                                  .restore = s->emergency.restore, .result = retry_result, .done = retry_done, .ctx = c };
        char err[160] = "";
        if (drv->ops->command(drv, &cmd, err, sizeof err) != 0) {
            free(c);
            for (size_t i = 0; i < k; i++) {
                struct em_out *o = find_out(e, outs[i]);
                if (o)
                    snprintf(o->msg, sizeof o->msg, "refused: %s", err);
            }
            continue;
        }
        c->next = e->cmds;
        e->cmds = c;
        e->inflight++;
    }
    free(outs);
    changed(e);
    arm_retry(e); /* when nothing could be sent, try again later */
}

/* ---- the actions ---- */

int emergency_intent(struct emergency *e, bool on, const char *by, char *err, size_t errlen)
{
    struct site *s = e->d->site;
    e->gen++; /* whatever was being retried belongs to the previous state */
    e->retry_ms = RETRY_FIRST_MS;
    loop_timer_disarm(e->d->loop, &e->retry_timer);
    e->running = true;
    snprintf(e->action, sizeof e->action, "%s", on ? "emergency-on" : "emergency-off");
    build_outs(e);
    if (!on) {
        changed(e);
        return 0; /* the state stays active until the restore has succeeded */
    }
    if (!s->emergency_active) {
        event_copy(e->by, sizeof e->by, by);
        s->emergency_since_us = event_now_us();
    }
    s->emergency_active = true; /* action_run sets it too; written down first */
    int rc = save(e, err, errlen);
    changed(e);
    return rc;
}

void emergency_progress(struct emergency *e, const struct action_run *run, bool finished)
{
    bool on = run->def->id == ACTION_EMERGENCY_ON;
    if (!e->running || strcmp(e->action, run->def->name) != 0) {
        /* an emergency action that did not come through emergency_intent (cannot happen in portierd; be safe) */
        e->running = true;
        snprintf(e->action, sizeof e->action, "%s", run->def->name);
        build_outs(e);
    }
    for (size_t i = 0; i < run->n_results; i++) {
        const struct action_target_result *t = &run->results[i];
        struct em_out *o = find_out(e, t->output);
        if (!o)
            continue;
        o->progress = t->progress;
        event_copy(o->msg, sizeof o->msg, t->message);
    }
    if (finished) {
        e->running = false;
        if (on && e->d->site->emergency_active) {
            for (size_t i = 0; i < e->n; i++)
                if (e->outs[i].progress != PROGRESS_OK)
                    e->outs[i].retrying = true;
            arm_retry(e);
        }
        char err[256];
        if (save(e, err, sizeof err) < 0)
            dispatch_notice(e->d, "error", "emergency state not saved: %s", err);
    }
    changed(e);
}

void emergency_output_changed(struct emergency *e, size_t output)
{
    struct em_out *o = find_out(e, output);
    struct site *s = e->d->site;
    if (!o || !o->retrying || output >= s->n_outputs || !s->outputs[output].state.emergency ||
        s->outputs[output].state.stale)
        return;
    o->retrying = false;
    o->progress = PROGRESS_OK;
    snprintf(o->msg, sizeof o->msg, "unlocked (confirmed by the device)");
    event_publish_text(site_events(e->d->site), EVENT_EMERGENCY, EVENT_WARNING, "portierd", s->outputs[output].name,
                       NULL, "emergency: %s unlocked (confirmed by the device)", s->outputs[output].name);
    changed(e);
}

void emergency_resume(struct emergency *e)
{
    char err[256];
    if (state_path(e, err, sizeof err) < 0) {
        dispatch_notice(e->d, "error", "emergency state: %s", err);
        return;
    }
    /* The devices report what they remember at start (the site is then active); this file adds who began it and
     * keeps the emergency active even if no device got it before the crash. */
    FILE *f = fopen(e->path, "r");
    if (!f && !e->d->site->emergency_active)
        return;
    struct site *s = e->d->site;
    char line[256], site[SITE_NAME_MAX + 8] = "";
    bool active = e->d->site->emergency_active;
    long long since = e->d->site->emergency_since_us;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "site ", 5) == 0)
            event_copy(site, sizeof site, line + 5);
        else if (strcmp(line, "active 1") == 0)
            active = true;
        else if (strncmp(line, "since_us ", 9) == 0)
            since = strtoll(line + 9, NULL, 10);
        else if (strncmp(line, "by ", 3) == 0)
            event_copy(e->by, sizeof e->by, line + 3);
    }
    if (f)
        fclose(f);
    if (!active)
        return;
    if (site[0] && strcmp(site, s->name) != 0)
        dispatch_notice(e->d, "warning", "emergency state of site \"%s\" found for site \"%s\"; resumed anyway", site,
                        s->name);
    s->emergency_active = true;
    s->emergency_since_us = since ? since : event_now_us();
    snprintf(e->action, sizeof e->action, "emergency-on");
    build_outs(e);
    for (size_t i = 0; i < e->n; i++) {
        struct em_out *o = &e->outs[i];
        const struct site_output *so = &s->outputs[o->output];
        if (so->state.emergency && !so->state.stale) {
            o->progress = PROGRESS_OK; /* the device says so already */
            snprintf(o->msg, sizeof o->msg, "unlocked (remembered by the device)");
            continue;
        }
        o->retrying = true;
        snprintf(o->msg, sizeof o->msg, "resuming after a restart");
    }
    event_publish_text(site_events(e->d->site), EVENT_EMERGENCY, EVENT_ALARM, "portierd", NULL, NULL,
                       "emergency resumed after a restart of portierd (active since it was started by %s); "
                       "sending the unlock to every emergency door again",
                       e->by);
    loop_timer_arm_ms(e->d->loop, &e->retry_timer, RETRY_FIRST_MS); /* the devices complete what they remember */
    char werr[256];
    if (!e->by[0])
        snprintf(e->by, sizeof e->by, "an earlier run");
    if (save(e, werr, sizeof werr) < 0)
        dispatch_notice(e->d, "error", "emergency state not saved: %s", werr);
    changed(e);
}
