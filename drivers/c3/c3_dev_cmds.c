/* c3_dev_cmds: the C3 adapter's commands: each output's CONTROL_DEVICE steps, sent in order, results per output,
 * and the emergency (stored before it is sent, applied again when the panel comes back). */
#include "drivers/c3/c3_dev.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/durable.h"
#include "core/statedir.h"
#include "drivers/c3/c3_catchup.h"
#include "drivers/c3/c3_client.h"
#include "drivers/c3/c3_control.h"
#include "drivers/c3/c3_device_data.h"
#include "drivers/c3/c3_doorstate.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_tables.h"
#include "drivers/c3/c3_time.h"

static enum device_result result_of(int err)
{
    switch (err) {
    case 0: return DEVICE_RESULT_OK;
    case C3_S_TIMEOUT:
    case C3_S_EXPIRED: return DEVICE_RESULT_TIMEOUT;
    case C3_S_DISCONNECTED:
    case C3_S_CANCELED:
    case C3_S_CONNECT: return DEVICE_RESULT_OFFLINE;
    default: return DEVICE_RESULT_FAILED;
    }
}

void c3_dev_group_free(struct c3d_group *g)
{
    struct c3dev *c = g->c;
    for (struct c3d_group **pp = &c->groups; *pp; pp = &(*pp)->next)
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    loop_timer_disarm(c->dev->loop, &g->defer);
    free(g->items);
    free(g);
}

/* Deliver results that are ready; when every item is complete and reported, call done and free. Returns
 * true when the group was freed. */
bool c3_dev_group_flush(struct c3d_group *g)
{
    if (g->in_command) {
        loop_timer_arm_ms(g->c->dev->loop, &g->defer, 0);
        return false;
    }
    bool all = true;
    for (size_t i = 0; i < g->n; i++) {
        struct c3d_item *it = &g->items[i];
        if (it->has_result && !it->reported) {
            it->reported = true;
            if (g->result)
                g->result(g->ctx, it->output, it->result, it->msg);
        }
        if (!it->complete || !it->reported)
            all = false;
    }
    if (!all)
        return false;
    if (g->done)
        g->done(g->ctx);
    c3_dev_group_free(g);
    return true;
}

static void defer_cb(loop_t *loop, void *arg)
{
    (void)loop;
    c3_dev_group_flush(arg);
}

void c3_dev_item_result(struct c3d_item *it, enum device_result r, const char *msg)
{
    if (it->has_result)
        return;
    it->has_result = true;
    it->result = r;
    event_copy(it->msg, sizeof it->msg, msg);
}

/* What a confirmed step changes in the emulated state. */
static void apply_step(struct c3dev *c, struct c3d_item *it, const uint8_t *p)
{
    struct c3_control ctl;
    if (c3_control_parse(p, C3_CONTROL_LEN, &ctl) < 0)
        return;
    enum device_op op = it->g->op;
    if (ctl.op == C3_CTL_OUTPUT && ctl.type == C3_OUTPUT_DOOR && ctl.number >= 1 && ctl.number <= SITE_C3_MAX_DOORS) {
        unsigned i = ctl.number - 1u;
        struct c3d_door *d = &c->door[i];
        if (ctl.duration == C3_OUTPUT_CLOSE) {
            c3_dev_echo_expect(c, i, 9);
            d->held = false;
            d->normal_open = false; /* output 0 locks and ends normal-open */
            d->open_until_us = 0;
            loop_timer_disarm(c->dev->loop, &d->relock);
            d->emergency = false; /* locked, whatever unlocked it (a close or release during the emergency too) */
        } else if (ctl.duration == C3_OUTPUT_LATCH) {
            if (op == DEVICE_EMERGENCY_ON) {
                d->emergency = true;
                d->em_pending = false;
            } else {
                d->held = true;
                if (op == DEVICE_EMERGENCY_OFF)
                    d->emergency = false;
            }
        } else {
            c3_dev_door_pulse(c, i, ctl.duration);
        }
        if (op == DEVICE_EMERGENCY_OFF && it->pos + 1 >= it->nsteps)
            d->emergency = d->em_pending = d->restore_pending = false;
        c3_dev_publish_door(c, i);
    } else if (ctl.op == C3_CTL_NORMAL_OPEN && ctl.number >= 1 && ctl.number <= SITE_C3_MAX_DOORS) {
        unsigned i = ctl.number - 1u;
        c3_dev_echo_expect(c, i, ctl.enable ? 205 : 10);
        c->door[i].normal_open = ctl.enable;
        if (op == DEVICE_EMERGENCY_OFF && it->pos + 1 >= it->nsteps)
            c->door[i].emergency = c->door[i].em_pending = c->door[i].restore_pending = false;
        c3_dev_publish_door(c, i);
    } else if (ctl.op == C3_CTL_OUTPUT && ctl.type == C3_OUTPUT_AUX && ctl.number >= 1 &&
               ctl.number <= SITE_C3_MAX_DOORS) {
        struct c3d_aux *a = &c->aux[ctl.number - 1];
        a->on = ctl.duration != C3_OUTPUT_CLOSE;
        a->until_us = 0;
        loop_timer_disarm(c->dev->loop, &a->off);
        if (a->on && ctl.duration != C3_OUTPUT_LATCH) {
            a->until_us = event_now_us() + (int64_t)ctl.duration * 1000000;
            loop_timer_arm_ms(c->dev->loop, &a->off, (uint64_t)ctl.duration * 1000u);
        }
        c3_dev_publish_aux(c, ctl.number - 1u);
    } else if (ctl.op == C3_CTL_CANCEL_ALARM) {
        for (unsigned i = 0; i < c->panel->doors; i++) {
            c->door[i].alarm = c->door[i].open_timeout = false;
            c3_dev_publish_door(c, i);
        }
    }
}

static void submit_step(struct c3d_item *it);

static void step_done(void *arg, int err)
{
    struct c3d_item *it = arg;
    struct c3d_group *g = it->g;
    struct c3dev *c = g->c;
    if (err) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", c3_session_strerror(err));
        if (!it->has_result) {
            c3_dev_item_result(it, result_of(err), msg);
        } else if (g->op == DEVICE_EMERGENCY_ON) {
            /* The door is unlocked (confirmed); only the normal-open follow-up failed. */
            struct event ev;
            event_init(&ev, EVENT_COMMAND, EVENT_WARNING);
            ev.door_no = it->number;
            event_copy(ev.code_name, sizeof ev.code_name, "normal-open");
            event_set_text(&ev, "emergency: door unlocked, but normal-open enable failed: %s", msg);
            device_report_event(c->dev, &ev);
        }
        if (g->op == DEVICE_EMERGENCY_ON && it->type == OUTPUT_DOOR && !it->superseded &&
            !c->door[it->number - 1].emergency) {
            c->door[it->number - 1].em_pending = true; /* applied when the panel answers again */
            c3_dev_state_save(c);
        }
        it->complete = true;
        c3_dev_group_flush(g);
        return;
    }
    apply_step(c, it, it->steps[it->pos]);
    it->pos++;
    if (it->pos >= it->confirm_at)
        c3_dev_item_result(it, DEVICE_RESULT_OK, "ok");
    if (it->pos < it->nsteps && it->superseded) {
        /* A later command for this door is queued behind the step that just ended: a further step of this
         * one would reach the panel after it and undo it (an emergency's normal-open after the restore, a
         * restore's close after a new emergency's unlock). */
        c3_dev_item_result(it, DEVICE_RESULT_FAILED, "superseded by a later command for this door");
        it->complete = true;
        c3_dev_state_save(c);
        c3_dev_group_flush(g);
        return;
    }
    if (it->pos < it->nsteps) {
        if (!c3_dev_group_flush(g))
            submit_step(it);
        return;
    }
    it->complete = true;
    if (g->op == DEVICE_EMERGENCY_ON || g->op == DEVICE_EMERGENCY_OFF || g->op == DEVICE_HOLD_OPEN ||
        g->op == DEVICE_RELEASE || g->op == DEVICE_CLOSE || g->op == DEVICE_NORMAL_OPEN_ON ||
        g->op == DEVICE_NORMAL_OPEN_OFF)
        c3_dev_state_save(c);
    c3_dev_group_flush(g);
}

static void submit_step(struct c3d_item *it)
{
    struct c3dev *c = it->g->c;
    unsigned t = c->panel->timeout_ms ? c->panel->timeout_ms : 2000;
    struct c3_op_opts o = { .prio = C3_PRIO_OPERATOR, .timeout_ms = t, .expire_ms = 2 * t + 1000 };
    int rc = c3_client_control(c->s, it->steps[it->pos], &o, step_done, it);
    if (rc < 0) {
        c3_dev_item_result(it, result_of(rc), c3_session_strerror(rc));
        it->complete = true;
        c3_dev_group_flush(it->g);
    }
}

/* Fill the steps of one output for op; returns false when the op does not apply to this output. */
static bool plan_item(struct c3dev *c, struct c3d_group *g, struct c3d_item *it)
{
    int n = it->number;
    uint8_t(*s)[C3_CONTROL_LEN] = it->steps;
    it->nsteps = 1;
    bool door = it->type == OUTPUT_DOOR, aux = it->type == OUTPUT_AUX;
    switch (g->op) {
    case DEVICE_OPEN:
        return door && c3_control_output(s[0], C3_OUTPUT_DOOR, (unsigned)n,
                                         g->value < 1 ? 1 : g->value > 254 ? 254 : g->value) > 0;
    case DEVICE_CLOSE:
    case DEVICE_RELEASE:
        return door && c3_control_output(s[0], C3_OUTPUT_DOOR, (unsigned)n, C3_OUTPUT_CLOSE) > 0;
    case DEVICE_HOLD_OPEN:
        return door && c3_control_output(s[0], C3_OUTPUT_DOOR, (unsigned)n, C3_OUTPUT_LATCH) > 0;
    case DEVICE_NORMAL_OPEN_ON:
    case DEVICE_NORMAL_OPEN_OFF:
        return door && c3_control_normal_open(s[0], (unsigned)n, g->op == DEVICE_NORMAL_OPEN_ON) > 0;
    case DEVICE_AUX_ON:
        return aux && c3_control_output(s[0], C3_OUTPUT_AUX, (unsigned)n,
                                        g->value < 1 ? 1 : g->value > 255 ? 255 : g->value) > 0;
    case DEVICE_AUX_OFF:
        return aux && c3_control_output(s[0], C3_OUTPUT_AUX, (unsigned)n, C3_OUTPUT_CLOSE) > 0;
    case DEVICE_CANCEL_ALARM:
        return c3_control_cancel_alarm(s[0]) > 0;
    case DEVICE_EMERGENCY_ON: {
        if (!door)
            return false;
        struct c3d_door *d = &c->door[n - 1];
        if (!d->emergency && !d->em_pending && !d->restore_pending) { /* never an emergency-made state */
            d->prev_held = d->held;
            d->prev_no = d->normal_open;
        }
        d->em_pending = true; /* the intent; confirmed by the unlock */
        d->restore_pending = false;
        it->nsteps = 2;
        it->confirm_at = 1; /* unlocked = confirmed; normal-open follows */
        return c3_control_output(s[0], C3_OUTPUT_DOOR, (unsigned)n, C3_OUTPUT_LATCH) > 0 &&
               c3_control_normal_open(s[1], (unsigned)n, true) > 0;
    }
    case DEVICE_EMERGENCY_OFF: {
        if (!door)
            return false;
        struct c3d_door *d = &c->door[n - 1];
        bool in = d->emergency || d->em_pending || d->restore_pending;
        bool prev = g->restore == SITE_RESTORE_PREVIOUS && in;
        bool held = prev && d->prev_held, no = prev && d->prev_no;
        d->em_pending = false;
        d->restore_pending = in; /* the intent; confirmed by the last step */
        it->nsteps = 2;
        /* Normal-open first when it goes off (closing while normal-open would not lock), last when it is
         * put back (a close would end it). */
        if (no)
            return c3_control_output(s[0], C3_OUTPUT_DOOR, (unsigned)n, held ? C3_OUTPUT_LATCH : C3_OUTPUT_CLOSE) > 0 &&
                   c3_control_normal_open(s[1], (unsigned)n, true) > 0;
        return c3_control_normal_open(s[0], (unsigned)n, false) > 0 &&
               c3_control_output(s[1], C3_OUTPUT_DOOR, (unsigned)n, held ? C3_OUTPUT_LATCH : C3_OUTPUT_CLOSE) > 0;
    }
    default:
        return false;
    }
}

bool c3_dev_supports(const struct device *dev, enum device_op op, size_t output)
{
    const struct site *site = dev->site;
    if (op == DEVICE_CANCEL_ALARM || op == DEVICE_PANEL_DATA)
        return true;
    if (output >= site->n_outputs)
        return false;
    enum output_type t = site->outputs[output].type;
    switch (op) {
    case DEVICE_OPEN: case DEVICE_CLOSE: case DEVICE_HOLD_OPEN: case DEVICE_RELEASE:
    case DEVICE_NORMAL_OPEN_ON: case DEVICE_NORMAL_OPEN_OFF: case DEVICE_EMERGENCY_ON: case DEVICE_EMERGENCY_OFF:
        return t == OUTPUT_DOOR;
    case DEVICE_AUX_ON: case DEVICE_AUX_OFF:
        return t == OUTPUT_AUX;
    default:
        return false;
    }
}

/* The item's command for door number n has steps still to come. */
static bool item_under_way(const struct c3d_item *it, int n)
{
    return !it->complete && it->type == OUTPUT_DOOR && it->number == n && it->output != SIZE_MAX;
}

/* Steps of one door go to the panel in the order they are queued, one request at a time, and an item queues its
 * next step only when the previous one is answered: a command's steps for a door therefore supersede the steps
 * an earlier command has not queued yet (its queued or unanswered step still goes first). */
static void supersede_earlier(struct c3dev *c, const struct c3d_group *g)
{
    for (size_t i = 0; i < g->n; i++) {
        const struct c3d_item *it = &g->items[i];
        if (it->has_result || it->type != OUTPUT_DOOR || it->output == SIZE_MAX)
            continue; /* not planned: nothing of it will be sent */
        for (struct c3d_group *o = c->groups; o; o = o->next)
            for (size_t k = 0; o != g && k < o->n; k++)
                if (item_under_way(&o->items[k], it->number))
                    o->items[k].superseded = true;
    }
}

static struct c3d_group *group_new(struct c3dev *c, const struct device_cmd *cmd, size_t n)
{
    struct c3d_group *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->items = calloc(n ? n : 1, sizeof *g->items);
    if (!g->items) {
        free(g);
        return NULL;
    }
    g->c = c;
    g->op = cmd->op;
    g->value = cmd->value;
    g->restore = cmd->restore;
    g->result = cmd->result;
    g->done = cmd->done;
    g->ctx = cmd->ctx;
    g->n = n;
    loop_timer_init(&g->defer, defer_cb, g);
    g->next = c->groups;
    c->groups = g;
    return g;
}

static void group_start(struct c3dev *c, struct c3d_group *g)
{
    bool offline = !c->s || c->st == C3_ST_BACKOFF || c->st == C3_ST_DISCONNECTED;
    char why[160];
    snprintf(why, sizeof why, "%s", !c->s ? c->resolve_err
                                         : c3_session_last_error(c->s)[0] ? c3_session_last_error(c->s) : "not connected");
    for (size_t i = 0; i < g->n; i++) {
        struct c3d_item *it = &g->items[i];
        if (it->has_result) {
            it->complete = true;
            continue;
        }
        if (offline) {
            if (g->op == DEVICE_EMERGENCY_ON && it->type == OUTPUT_DOOR) {
                c->door[it->number - 1].em_pending = true;
                char m[256];
                snprintf(m, sizeof m, "%s; unlocks when the panel is back", why);
                c3_dev_item_result(it, DEVICE_RESULT_OFFLINE, m);
            } else {
                c3_dev_item_result(it, DEVICE_RESULT_OFFLINE, why);
            }
            it->complete = true;
            continue;
        }
        submit_step(it);
    }
    if (g->op == DEVICE_EMERGENCY_ON && offline)
        c3_dev_state_save(c);
}

int c3_dev_command(struct device *dev, const struct device_cmd *cmd, char *err, size_t errlen)
{
    struct c3dev *c = priv(dev);
    if (cmd->op == DEVICE_PANEL_DATA) {
        if (!c->s || c->st != C3_ST_ONLINE) {
            snprintf(err, errlen, "the panel is not connected");
            return -1;
        }
        struct c3d_link lk = { .loop = c->dev->loop };
        return c3d_data_start(&c->data, &lk, c->s, cmd, err, errlen);
    }
    bool wide = cmd->op == DEVICE_CANCEL_ALARM;
    size_t n = wide ? 1 : cmd->n_outputs;
    if (!wide && n == 0) {
        snprintf(err, errlen, "no outputs given");
        return -1;
    }
    if ((unsigned)cmd->op >= DEVICE_OP_COUNT) {
        snprintf(err, errlen, "unknown command");
        return -1;
    }
    struct c3d_group *g = group_new(c, cmd, n);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    g->in_command = true;
    for (size_t i = 0; i < n; i++) {
        struct c3d_item *it = &g->items[i];
        it->g = g;
        it->output = wide ? SIZE_MAX : cmd->outputs[i];
        it->confirm_at = 0;
        const struct site_output *o = it->output < dev->site->n_outputs ? &dev->site->outputs[it->output] : NULL;
        if (!wide && (!o || o->device != dev->index)) {
            c3_dev_item_result(it, DEVICE_RESULT_FAILED, "not an output of this panel");
            continue;
        }
        it->type = o ? o->type : OUTPUT_DOOR;
        it->number = o ? o->number : 0;
        if (!plan_item(c, g, it)) {
            char m[96];
            snprintf(m, sizeof m, "%s is not possible on a C3 %s", device_op_name(cmd->op),
                     it->type == OUTPUT_AUX ? "aux output" : "door");
            c3_dev_item_result(it, DEVICE_RESULT_UNSUPPORTED, m);
            continue;
        }
        if (!it->confirm_at)
            it->confirm_at = it->nsteps;
    }
    supersede_earlier(c, g);
    if (cmd->op == DEVICE_EMERGENCY_ON || cmd->op == DEVICE_EMERGENCY_OFF) {
        /* Write-ahead: the intent and the state to go back to are on disk before the first request leaves. */
        c->em_intent = cmd->op == DEVICE_EMERGENCY_ON;
        if (cmd->op == DEVICE_EMERGENCY_OFF)
            c->em_restore = cmd->restore;
        c3_dev_state_write(c);
    }
    group_start(c, g);
    g->in_command = false;
    loop_timer_arm_ms(dev->loop, &g->defer, 0);
    return 0;
}

/* A command for door number n is still under way (its steps wait in the session's queue across a reconnect). */
static bool door_busy(const struct c3dev *c, int n)
{
    for (const struct c3d_group *g = c->groups; g; g = g->next)
        for (size_t k = 0; k < g->n; k++)
            if (item_under_way(&g->items[k], n))
                return true;
    return false;
}

/* An emergency that could not be confirmed is applied as soon as the panel answers again; so is a restore. A
 * door with a command still under way is left to it: that command was given after the pending state began. */
void c3_dev_apply_pending_emergency(struct c3dev *c)
{
    size_t outs[SITE_C3_MAX_DOORS], n = 0;
    for (unsigned i = 0; i < c->panel->doors; i++)
        if ((c->em_intent ? c->door[i].em_pending : c->door[i].restore_pending) && c->door[i].out != SIZE_MAX &&
            !door_busy(c, (int)i + 1))
            outs[n++] = c->door[i].out;
    if (!n)
        return;
    struct device_cmd cmd = { .op = c->em_intent ? DEVICE_EMERGENCY_ON : DEVICE_EMERGENCY_OFF, .outputs = outs,
                              .n_outputs = n, .restore = c->em_restore };
    char err[64];
    (void)c3_dev_command(c->dev, &cmd, err, sizeof err);
    struct event ev;
    event_init(&ev, EVENT_EMERGENCY, c->em_intent ? EVENT_ALARM : EVENT_WARNING);
    event_set_text(&ev, "panel back: applying the pending emergency %s to %zu door%s",
                   c->em_intent ? "unlock" : "restore", n, n == 1 ? "" : "s");
    device_report_event(c->dev, &ev);
}
