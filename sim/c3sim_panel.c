#include "sim/c3sim_panel.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drivers/c3/c3_control.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_rtlog.h"
#include "drivers/c3/c3_time.h"
#include "sim/c3sim_params.h"

/* ---- models, firmware ---- */

static const struct c3sim_model models[] = {
    { "C3-100", 1, 2, 1, 1 },
    { "C3-200", 2, 4, 2, 2 },
    { "C3-400", 4, 4, 4, 4 },
};

const struct c3sim_model *c3sim_model_find(const char *name)
{
    if (!name)
        return NULL;
    const char *n = name;
    if (strncasecmp(n, "c3-", 3) == 0)
        n += 3;
    else if (strncasecmp(n, "c3", 2) == 0)
        n += 2;
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        if (strcmp(n, models[i].name + 3) == 0)
            return &models[i];
    return NULL;
}

const char *c3sim_default_firmware(enum c3sim_dialect d)
{
    switch (d) {
    case C3SIM_DIALECT_SESSIONLESS:
        return "AC Ver 4.3.4 Apr 27 2017";
    case C3SIM_DIALECT_KV:
        return "AC Ver 5.4.3.2001 Sep 25 2019";
    case C3SIM_DIALECT_SESSION:
    default:
        return "AC Ver 5.4.3.2001 Sep 25 2019";
    }
}

/* ---- deterministic random numbers (splitmix64) ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s) /* [0, 1) */
{
    return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

static uint32_t rng_range(uint64_t *s, uint32_t lo, uint32_t hi) /* inclusive */
{
    return lo + (uint32_t)(rng_next(s) % ((uint64_t)hi - lo + 1u));
}

/* ---- panel clock (packed time, spec §4.3, through c3_time) ---- */

/* Host local wall-clock seconds (local time expressed as if it were UTC). */
int64_t c3sim_panel_host_wall(void)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    return (int64_t)t + tm.tm_gmtoff;
}

static int64_t panel_wall(const struct c3sim_panel *p) { return c3sim_panel_host_wall() + p->clock_offset; }

uint32_t c3sim_panel_now(const struct c3sim_panel *p)
{
    time_t w = (time_t)panel_wall(p);
    struct tm tm;
    if (!gmtime_r(&w, &tm))
        return 0;
    struct c3_time t = { tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec };
    uint32_t v = 0;
    if (c3_time_pack(&t, &v) < 0)
        v = t.year < C3_TIME_YEAR_MIN ? 0 : UINT32_MAX; /* clock set outside 2000-2133: pin to the edge */
    return v;
}

/* ---- RT-log ring ---- */

static void push_event(struct c3sim_panel *p, uint32_t card, uint32_t pin, uint8_t verify, uint8_t door,
                       uint8_t type, uint8_t inout)
{
    if (!p->up)
        return;
    if (p->ring_count == C3SIM_RING_SIZE) {
        p->ring_head = (p->ring_head + 1u) % C3SIM_RING_SIZE;
        p->ring_count--;
        p->events_dropped++;
    }
    struct c3sim_event *e = &p->ring[(p->ring_head + p->ring_count) % C3SIM_RING_SIZE];
    uint32_t now = c3sim_panel_now(p);
    /* The key/value log's running index is the transaction row's Index. */
    *e = (struct c3sim_event){ .card = card, .pin = pin, .verify = verify, .door = door, .type = type,
                               .inout = inout, .time = now, .index = c3sim_tables_next_index(&p->tables) };
    c3sim_tables_record(&p->tables, card, pin, verify, door, type, inout, now);
    p->ring_count++;
    p->events_total++;
}

static bool ring_pop(struct c3sim_panel *p, struct c3sim_event *out)
{
    if (p->ring_count == 0)
        return false;
    *out = p->ring[p->ring_head];
    p->ring_head = (p->ring_head + 1u) % C3SIM_RING_SIZE;
    p->ring_count--;
    return true;
}

static void ring_clear(struct c3sim_panel *p)
{
    p->ring_head = 0;
    p->ring_count = 0;
}

void c3sim_panel_client_connected(struct c3sim_panel *p)
{
    c3sim_tables_connected(&p->tables);
    if (!p->fresh_boot)
        ring_clear(p);
    p->fresh_boot = false;
}

/* Verify mode byte for events that carry none (button, sensor, remote): 200 "other". */
#define VERIFY_OTHER 200u
#define INOUT_NONE 2u

/* ---- timers ----
 * Panel timers are chained from the due time of the timer that armed them (not from when it actually ran),
 * so a seed gives the same schedule whatever the scheduling jitter, and are rounded up to 10 ms steps from
 * boot so that a thousand panels share wake-ups. */

#define TICK_US 10000u

static void panel_arm_us(struct c3sim_panel *p, loop_timer_t *t, uint64_t delay_us)
{
    uint64_t base = p->base_us ? p->base_us : loop_now_us(p->loop);
    uint64_t due = base + delay_us;
    if (due > p->boot_us)
        due = p->boot_us + (due - p->boot_us + TICK_US - 1u) / TICK_US * TICK_US;
    loop_timer_arm_at(p->loop, t, due);
}

static void panel_arm_ms(struct c3sim_panel *p, loop_timer_t *t, uint64_t delay_ms)
{
    panel_arm_us(p, t, delay_ms * 1000u);
}

/* Run inside a timer callback: later arming counts from this timer's due time. */
#define PANEL_TIMER_BEGIN(p, t) ((p)->base_us = (t)->due_us)
#define PANEL_TIMER_END(p) ((p)->base_us = 0)

/* ---- doors ---- */

static bool door_released(const struct c3sim_door *d) { return d->relay || d->latched || d->normal_open; }
static bool door_has_sensor(const struct c3sim_door *d)
{
    return c3sim_params_door(d->panel, d->n, "SensorType", 1) != 0;
}

static void door_lock(struct c3sim_door *d)
{
    d->relay = false;
    d->latched = false;
    loop_timer_disarm(d->panel->loop, &d->relay_timer);
}

/* Energise the lock relay: secs 0 = off, 1-254 = pulse, 255 = stay on. */
static void door_output(struct c3sim_door *d, unsigned secs)
{
    if (secs == 0) {
        door_lock(d);
    } else if (secs >= 255) {
        d->relay = true;
        d->latched = true;
        loop_timer_disarm(d->panel->loop, &d->relay_timer);
    } else {
        d->relay = true;
        if (!d->latched)
            panel_arm_ms(d->panel, &d->relay_timer, (uint64_t)secs * 1000u);
    }
}

/* A granted access (card or exit button) releases the lock for DoorNDrivertime seconds. */
static void door_grant(struct c3sim_door *d)
{
    long t = c3sim_params_door(d->panel, d->n, "Drivertime", 5);
    if (t > 0)
        door_output(d, t > 255 ? 255u : (unsigned)t);
}

static void relay_timer_cb(loop_t *loop, void *arg)
{
    struct c3sim_door *d = arg;
    if (!d->latched)
        d->relay = false;
}

static void detect_timer_cb(loop_t *loop, void *arg)
{
    struct c3sim_door *d = arg;
    if (!d->open || d->normal_open || d->latched)
        return;
    d->alarm |= 0x02;
    push_event(d->panel, 0, 0, VERIFY_OTHER, (uint8_t)d->n, 28, INOUT_NONE);
}

static void door_sensor(struct c3sim_door *d, bool open)
{
    if (d->open == open)
        return;
    d->open = open;
    struct c3sim_panel *p = d->panel;
    if (!door_has_sensor(d)) {
        loop_timer_disarm(p->loop, &d->detect_timer);
        return;
    }
    if (open) {
        if (door_released(d)) {
            push_event(p, 0, 0, VERIFY_OTHER, (uint8_t)d->n, 200, INOUT_NONE);
        } else {
            d->alarm |= 0x01;
            push_event(p, 0, 0, VERIFY_OTHER, (uint8_t)d->n, 102, INOUT_NONE);
        }
        long dt = c3sim_params_door(p, d->n, "Detectortime", 15);
        if (dt > 0)
            panel_arm_ms(p, &d->detect_timer, (uint64_t)dt * 1000u);
    } else {
        loop_timer_disarm(p->loop, &d->detect_timer);
        d->alarm &= (uint8_t)~0x02u;
        push_event(p, 0, 0, VERIFY_OTHER, (uint8_t)d->n, 201, INOUT_NONE);
        if (c3sim_params_door(p, d->n, "CloseAndLock", 1) && d->relay && !d->latched)
            door_lock(d);
    }
}

static void script_run(struct c3sim_door *d);

static void script_timer_cb(loop_t *loop, void *arg)
{
    struct c3sim_door *d = arg;
    if (d->step >= d->nsteps)
        return;
    enum c3sim_step s = d->steps[d->step++];
    PANEL_TIMER_BEGIN(d->panel, &d->script_timer);
    if (s == C3SIM_STEP_OPEN)
        door_sensor(d, true);
    else if (s == C3SIM_STEP_CLOSE)
        door_sensor(d, false);
    script_run(d);
    PANEL_TIMER_END(d->panel);
}

static void script_run(struct c3sim_door *d)
{
    if (d->step < d->nsteps)
        panel_arm_ms(d->panel, &d->script_timer, d->step_delay_ms[d->step]);
}

static bool door_busy(const struct c3sim_door *d)
{
    return loop_timer_armed(&d->script_timer) || d->open || door_released(d);
}

static void script_start(struct c3sim_door *d, uint32_t open_after_ms, uint32_t close_after_ms)
{
    d->steps[0] = C3SIM_STEP_OPEN;
    d->step_delay_ms[0] = open_after_ms;
    d->steps[1] = C3SIM_STEP_CLOSE;
    d->step_delay_ms[1] = close_after_ms;
    d->nsteps = 2;
    d->step = 0;
    if (open_after_ms == 0) { /* open now, so the caller sees the result at once */
        d->step = 1;
        door_sensor(d, true);
    }
    script_run(d);
}

static void script_cancel(struct c3sim_door *d)
{
    loop_timer_disarm(d->panel->loop, &d->script_timer);
    d->nsteps = d->step = 0;
}

/* ---- aux outputs ---- */

static void aux_timer_cb(loop_t *loop, void *arg)
{
    struct c3sim_aux *a = arg;
    a->on = false;
}

/* ---- lifecycle ---- */

/* The activity's users in the user table: a name each (some not ASCII, as other software writes them), the
 * first six with every door in time zone 1 (all day, every day), the last two with no door. */
static int named_users(struct c3sim_panel *p)
{
    static const char *const names[C3SIM_USERS] = { "Ann Lee", "Bob Stone", "Chiara", "Dmitri", "Eve Adams",
                                                    "Fran\xC3\xA7ois", "Gao Yan", "Hiro Sato" };
    char all[16], mask[16];
    snprintf(all, sizeof all, "%u", 2359u); /* 00:00-23:59 */
    snprintf(mask, sizeof mask, "%u", (1u << p->model->doors) - 1u);
    const char *const tzf[] = { "TimezoneId", "SunTime1", "MonTime1", "TueTime1", "WedTime1", "ThuTime1",
                                "FriTime1", "SatTime1" };
    const char *const tzv[] = { "1", all, all, all, all, all, all, all };
    if (c3sim_tables_put(&p->tables, "timezone", tzf, tzv, 8) < 0)
        return -1;
    bool uid = p->dialect != C3SIM_DIALECT_SESSIONLESS; /* the newer layout: UID and Name */
    for (int i = 0; i < C3SIM_USERS; i++) {
        char pin[16], card[16];
        snprintf(pin, sizeof pin, "%u", p->pins[i]);
        snprintf(card, sizeof card, "%u", p->cards[i]);
        const char *const uf[] = { "Pin", "CardNo", "UID", "Name" };
        const char *const uv[] = { pin, card, pin, names[i] };
        if (c3sim_tables_put(&p->tables, "user", uf, uv, uid ? 4 : 2) < 0)
            return -1;
        const char *const af[] = { "Pin", "AuthorizeTimezoneId", "AuthorizeDoorId" };
        const char *const av[] = { pin, "1", mask };
        if (i < 6 && c3sim_tables_put(&p->tables, "userauthorize", af, av, 3) < 0)
            return -1;
    }
    return 0;
}

int c3sim_panel_init(struct c3sim_panel *p, loop_t *loop, const struct c3sim_panel_cfg *cfg)
{
    memset(p, 0, sizeof *p);
    p->loop = loop;
    p->model = cfg->model;
    p->dialect = cfg->dialect;
    p->index = cfg->index;
    p->clock_offset = cfg->clock_offset;
    p->activity = cfg->activity > 0 ? cfg->activity : 0;
    p->rng = cfg->seed * 0x100000001B3ull ^ (0xC3C3C3C3ull + cfg->index);
    (void)rng_next(&p->rng);
    for (int i = 0; i < C3SIM_MAX_DOORS; i++) {
        struct c3sim_door *d = &p->door[i];
        d->panel = p;
        d->n = i + 1;
        loop_timer_init(&d->relay_timer, relay_timer_cb, d);
        loop_timer_init(&d->detect_timer, detect_timer_cb, d);
        loop_timer_init(&d->script_timer, script_timer_cb, d);
        p->aux[i].panel = p;
        p->aux[i].n = i + 1;
        loop_timer_init(&p->aux[i].timer, aux_timer_cb, &p->aux[i]);
    }
    for (int i = 0; i < C3SIM_USERS; i++) {
        p->cards[i] = rng_range(&p->rng, 1000000u, 16777215u);
        p->pins[i] = (uint32_t)i + 1u;
    }
    if (c3sim_params_defaults(p, cfg) < 0 ||
        c3sim_tables_init(&p->tables, cfg->dialect == C3SIM_DIALECT_SESSIONLESS ? C3SIM_LAYOUT_OLD : C3SIM_LAYOUT_NEW,
                          cfg->transactions, 0) < 0) {
        c3sim_panel_free(p);
        return -1;
    }
    if (cfg->named_users && named_users(p) < 0) {
        c3sim_panel_free(p);
        return -1;
    }
    c3sim_panel_boot(p);
    return 0;
}

void c3sim_panel_free(struct c3sim_panel *p)
{
    if (p->loop)
        c3sim_panel_shutdown(p);
    for (size_t i = 0; i < p->nparams; i++) {
        free(p->params[i].name);
        free(p->params[i].value);
    }
    free(p->params);
    p->params = NULL;
    p->nparams = p->cap_params = 0;
    c3sim_tables_free(&p->tables);
}

void c3sim_panel_shutdown(struct c3sim_panel *p)
{
    p->up = false;
    loop_timer_disarm(p->loop, &p->activity_timer);
    for (int i = 0; i < C3SIM_MAX_DOORS; i++) {
        loop_timer_disarm(p->loop, &p->door[i].relay_timer);
        loop_timer_disarm(p->loop, &p->door[i].detect_timer);
        loop_timer_disarm(p->loop, &p->door[i].script_timer);
        loop_timer_disarm(p->loop, &p->aux[i].timer);
    }
}

static void activity_cb(loop_t *loop, void *arg);

void c3sim_panel_boot(struct c3sim_panel *p)
{
    c3sim_panel_shutdown(p);
    for (int i = 0; i < C3SIM_MAX_DOORS; i++) {
        struct c3sim_door *d = &p->door[i];
        d->relay = d->latched = d->normal_open = d->open = false;
        d->alarm = 0;
        d->nsteps = d->step = 0;
        p->aux[i].on = false;
    }
    ring_clear(p);
    p->boot_us = loop_now_us(p->loop);
    p->base_us = 0;
    p->up = true;
    p->fresh_boot = true;
    push_event(p, 0, 0, VERIFY_OTHER, 0, 206, INOUT_NONE);
    loop_timer_init(&p->activity_timer, activity_cb, p);
    if (p->activity > 0) {
        /* First activity after an exponential wait, so N panels do not start in lock step. */
        double wait = -log(1.0 - rng_unit(&p->rng)) / p->activity;
        panel_arm_us(p, &p->activity_timer, (uint64_t)(wait * 1e6) + 1u);
    }
}

/* ---- scripted activity ---- */

static uint8_t reader_inout(struct c3sim_panel *p)
{
    /* Two readers per door (C3-100/200): entry or exit; one reader per door: entry. */
    return p->model->readers >= 2 * p->model->doors ? (uint8_t)rng_range(&p->rng, 0, 1) : 0;
}

static uint8_t door_verify(const struct c3sim_panel *p, int door)
{
    long v = c3sim_params_door(p, door, "VerifyType", 4);
    return (uint8_t)(v < 0 || v > 255 ? 4 : v);
}

/* One scripted activity; returns how many RT events it will produce. */
static unsigned activity_once(struct c3sim_panel *p)
{
    int n = (int)rng_range(&p->rng, 1, (uint32_t)p->model->doors);
    struct c3sim_door *d = &p->door[n - 1];
    unsigned u = rng_range(&p->rng, 0, C3SIM_USERS - 1);
    uint32_t roll = rng_range(&p->rng, 0, 99);
    bool sensor = door_has_sensor(d);
    long detect = c3sim_params_door(p, n, "Detectortime", 15);
    uint8_t inout = reader_inout(p);

    if (door_busy(d) || roll < 15) { /* denied swipe: unregistered card, or a registered card refused */
        if (rng_range(&p->rng, 0, 2) == 0)
            push_event(p, p->cards[u], p->pins[u], door_verify(p, n), (uint8_t)n, 23, inout);
        else
            push_event(p, rng_range(&p->rng, 100000u, 999999u), 0, door_verify(p, n), (uint8_t)n, 27, inout);
        return 1;
    }
    if (roll < 20 && sensor) { /* forced door */
        script_start(d, 0, rng_range(&p->rng, 2000, 4000));
        return 2;
    }
    if (roll < 25 && sensor && detect > 0) { /* granted, then held open past the timeout */
        push_event(p, p->cards[u], p->pins[u], door_verify(p, n), (uint8_t)n, 0, inout);
        door_grant(d);
        script_start(d, rng_range(&p->rng, 300, 1500), (uint32_t)detect * 1000u + rng_range(&p->rng, 2000, 5000));
        return 4;
    }
    if (roll < 45) /* exit button */
        push_event(p, 0, 0, VERIFY_OTHER, (uint8_t)n, 202, INOUT_NONE);
    else
        push_event(p, p->cards[u], p->pins[u], door_verify(p, n), (uint8_t)n, 0, inout);
    door_grant(d);
    if (!sensor)
        return 1;
    script_start(d, rng_range(&p->rng, 300, 1500), rng_range(&p->rng, 1500, 4000));
    return 3;
}

static void activity_cb(loop_t *loop, void *arg)
{
    struct c3sim_panel *p = arg;
    if (!p->up || p->activity <= 0)
        return;
    PANEL_TIMER_BEGIN(p, &p->activity_timer);
    unsigned k = activity_once(p);
    /* Exponential gaps scaled by the events this activity produces: RATE events/s on average. */
    double wait = -log(1.0 - rng_unit(&p->rng)) * (double)k / p->activity;
    if (wait > 86400.0)
        wait = 86400.0;
    panel_arm_us(p, &p->activity_timer, (uint64_t)(wait * 1e6) + 1u);
    PANEL_TIMER_END(p);
}

/* ---- protocol operations ---- */

int c3sim_panel_control(struct c3sim_panel *p, const uint8_t *b, size_t len)
{
    struct c3_control c;
    if (c3_control_parse(b, len, &c) < 0)
        return -11;
    int n = c.number;
    switch (c.op) {
    case C3_CTL_OUTPUT:
        if (c.type == C3_OUTPUT_DOOR) {
            if (n < 1 || n > p->model->doors)
                return -11;
            struct c3sim_door *d = &p->door[n - 1];
            if (c.duration == C3_OUTPUT_CLOSE) {
                d->normal_open = false;
                door_lock(d);
                push_event(p, 0, 0, VERIFY_OTHER, (uint8_t)n, 9, INOUT_NONE);
            } else {
                door_output(d, c.duration);
                push_event(p, 0, 0, VERIFY_OTHER, (uint8_t)n, 8, INOUT_NONE);
            }
            return 0;
        }
        if (n < 1 || n > p->model->aux_out)
            return -11;
        struct c3sim_aux *a = &p->aux[n - 1];
        if (c.duration == C3_OUTPUT_CLOSE) {
            a->on = false;
            loop_timer_disarm(p->loop, &a->timer);
            push_event(p, 0, 0, VERIFY_OTHER, (uint8_t)n, 13, INOUT_NONE);
        } else {
            a->on = true;
            if (c.duration < C3_OUTPUT_LATCH)
                panel_arm_ms(p, &a->timer, (uint64_t)c.duration * 1000u);
            else
                loop_timer_disarm(p->loop, &a->timer);
            push_event(p, 0, 0, VERIFY_OTHER, (uint8_t)n, 12, INOUT_NONE);
        }
        return 0;
    case C3_CTL_CANCEL_ALARM:
        for (int i = 0; i < C3SIM_MAX_DOORS; i++)
            p->door[i].alarm = 0;
        push_event(p, 0, 0, VERIFY_OTHER, 0, 7, INOUT_NONE);
        return 0;
    case C3_CTL_RESTART:
        return C3SIM_RESTART;
    case C3_CTL_NORMAL_OPEN: {
        if (n < 1 || n > p->model->doors)
            return -11;
        struct c3sim_door *d = &p->door[n - 1];
        if (c.enable) {
            d->normal_open = true;
            loop_timer_disarm(p->loop, &d->detect_timer);
            d->alarm &= (uint8_t)~C3_ALARM_OPEN_TIMEOUT;
            push_event(p, 0, 0, VERIFY_OTHER, (uint8_t)n, 205, INOUT_NONE);
        } else {
            d->normal_open = false;
            if (!d->latched)
                door_lock(d);
            push_event(p, 0, 0, VERIFY_OTHER, (uint8_t)n, 10, INOUT_NONE);
        }
        return 0;
    }
    default:
        return -11;
    }
}

static uint8_t sensor_code(const struct c3sim_door *d)
{
    if (d->n > d->panel->model->doors || !door_has_sensor(d))
        return 0;
    return d->open ? 2 : 1;
}

static void event_record(const struct c3sim_event *e, struct c3_rt_record *r)
{
    memset(r, 0, sizeof *r);
    r->kind = C3_RT_EVENT;
    r->time = e->time;
    r->event = (struct c3_rt_event){ .card = e->card, .pin = e->pin, .verify = e->verify, .door = e->door,
                                     .type = e->type, .inout = e->inout, .index = e->index };
}

static void status_record(const struct c3sim_panel *p, struct c3_rt_record *r)
{
    memset(r, 0, sizeof *r);
    r->kind = C3_RT_STATUS;
    r->time = c3sim_panel_now(p);
    for (int i = 0; i < p->model->doors; i++) {
        r->status.alarm[i] = p->door[i].alarm;
        r->status.sensor[i] = r->status.sensor_raw[i] = sensor_code(&p->door[i]);
        if (door_released(&p->door[i]))
            r->status.relay |= 1u << i;
    }
    for (int i = 0; i < p->model->aux_out; i++) /* aux relays above the locks: see doc/decisions.md */
        if (p->aux[i].on)
            r->status.relay |= 1u << (4 + i);
    r->status.has_relay = true;
    r->status.byte8 = VERIFY_OTHER; /* as in the C3-400 capture (spec §4.2) */
    r->status.byte9 = 0;
}

void c3sim_panel_rtlog_binary(struct c3sim_panel *p, uint8_t out[16])
{
    struct c3sim_event e;
    struct c3_rt_record r;
    if (ring_pop(p, &e))
        event_record(&e, &r);
    else
        status_record(p, &r);
    if (c3_rtlog_encode_record(&r, out) < 0) { /* only for type 255 as an event, which is never queued */
        status_record(p, &r);
        (void)c3_rtlog_encode_record(&r, out);
    }
}

int c3sim_panel_rtlog_kv(struct c3sim_panel *p, char *out, size_t cap)
{
    /* Worst case: 30 events of ~130 bytes plus a status line. */
    if (cap < (C3SIM_RING_SIZE + 1u) * 160u)
        return -3;
    size_t o = 0;
    struct c3sim_event e;
    struct c3_rt_record r;
    while (ring_pop(p, &e)) {
        event_record(&e, &r);
        int n = c3_rtlog_format_kv(&r, out + o, cap - o);
        if (n < 0 || (size_t)n + 2u >= cap - o)
            continue; /* cannot happen with the size check above */
        o += (size_t)n;
        out[o++] = '\r';
        out[o++] = '\n';
    }
    status_record(p, &r);
    int n = c3_rtlog_format_kv(&r, out + o, cap - o);
    if (n > 0 && (size_t)n < cap - o)
        o += (size_t)n;
    out[o] = '\0';
    return (int)o;
}

/* ---- operator actions ---- */

static struct c3sim_door *door_arg(struct c3sim_panel *p, int door, char *err, size_t errlen)
{
    if (!p->up) {
        snprintf(err, errlen, "panel %u is restarting", p->index);
        return NULL;
    }
    if (door < 1 || door > p->model->doors) {
        snprintf(err, errlen, "door %d out of range 1-%d (%s)", door, p->model->doors, p->model->name);
        return NULL;
    }
    return &p->door[door - 1];
}

int c3sim_panel_swipe(struct c3sim_panel *p, int door, uint32_t card, uint32_t pin, int granted, int inout,
                      char *err, size_t errlen)
{
    struct c3sim_door *d = door_arg(p, door, err, errlen);
    if (!d)
        return -1;
    int user = -1;
    for (int i = 0; i < C3SIM_USERS; i++)
        if (p->cards[i] == card)
            user = i;
    if (pin == 0 && user >= 0)
        pin = p->pins[user];
    if (granted < 0)
        granted = user >= 0 || pin != 0;
    uint8_t io = inout >= 0 ? (uint8_t)inout : 0;
    if (granted) {
        push_event(p, card, pin, door_verify(p, door), (uint8_t)door, 0, io);
        door_grant(d);
    } else {
        /* A known user refused -> 23 access denied; an unknown card -> 27 unregistered. */
        push_event(p, card, pin, door_verify(p, door), (uint8_t)door, pin ? 23 : 27, io);
    }
    return 0;
}

int c3sim_panel_button(struct c3sim_panel *p, int door, char *err, size_t errlen)
{
    struct c3sim_door *d = door_arg(p, door, err, errlen);
    if (!d)
        return -1;
    push_event(p, 0, 0, VERIFY_OTHER, (uint8_t)door, 202, INOUT_NONE);
    door_grant(d);
    return 0;
}

int c3sim_panel_sensor(struct c3sim_panel *p, int door, bool open, char *err, size_t errlen)
{
    struct c3sim_door *d = door_arg(p, door, err, errlen);
    if (!d)
        return -1;
    script_cancel(d);
    door_sensor(d, open);
    return 0;
}

int c3sim_panel_force(struct c3sim_panel *p, int door, char *err, size_t errlen)
{
    struct c3sim_door *d = door_arg(p, door, err, errlen);
    if (!d)
        return -1;
    if (!door_has_sensor(d)) {
        snprintf(err, errlen, "door %d has no sensor (Door%dSensorType=0)", door, door);
        return -1;
    }
    if (d->open) {
        snprintf(err, errlen, "door %d is already open", door);
        return -1;
    }
    if (door_released(d)) {
        snprintf(err, errlen, "door %d lock is released; opening it is not forced", door);
        return -1;
    }
    script_cancel(d);
    script_start(d, 0, 2000);
    return 0;
}

int c3sim_panel_hold(struct c3sim_panel *p, int door, char *err, size_t errlen)
{
    struct c3sim_door *d = door_arg(p, door, err, errlen);
    if (!d)
        return -1;
    long dt = c3sim_params_door(p, door, "Detectortime", 15);
    if (!door_has_sensor(d) || dt <= 0) {
        snprintf(err, errlen, "door %d has no open timeout (sensor type 0 or Door%dDetectortime=0)", door, door);
        return -1;
    }
    if (d->open) {
        snprintf(err, errlen, "door %d is already open", door);
        return -1;
    }
    script_cancel(d);
    script_start(d, 0, (uint32_t)dt * 1000u + 2000u);
    return 0;
}

void c3sim_panel_set_activity(struct c3sim_panel *p, double rate)
{
    p->activity = rate > 0 ? rate : 0;
    loop_timer_disarm(p->loop, &p->activity_timer);
    if (p->up && p->activity > 0) {
        double wait = -log(1.0 - rng_unit(&p->rng)) / p->activity;
        panel_arm_us(p, &p->activity_timer, (uint64_t)(wait * 1e6) + 1u);
    }
}

int c3sim_panel_burst(struct c3sim_panel *p, unsigned n, char *err, size_t errlen)
{
    if (!p->up) {
        snprintf(err, errlen, "panel %u is restarting", p->index);
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        int d = (int)rng_range(&p->rng, 1, (uint32_t)p->model->doors);
        unsigned u = rng_range(&p->rng, 0, C3SIM_USERS - 1);
        push_event(p, p->cards[u], p->pins[u], door_verify(p, d), (uint8_t)d, 0, reader_inout(p));
    }
    return 0;
}

void c3sim_panel_mac(const struct c3sim_panel *p, char out[18])
{
    snprintf(out, 18, "00:17:61:c3:%02x:%02x", (p->index >> 8) & 0xFFu, p->index & 0xFFu);
}

int c3sim_panel_auxin(struct c3sim_panel *p, int n, bool open, char *err, size_t errlen)
{
    if (!p->up) {
        snprintf(err, errlen, "panel %u is restarting", p->index);
        return -1;
    }
    if (n < 1 || n > p->model->aux_in) {
        snprintf(err, errlen, "aux input %d out of range 1-%d (%s)", n, p->model->aux_in, p->model->name);
        return -1;
    }
    push_event(p, 0, 0, VERIFY_OTHER, (uint8_t)n, open ? 220 : 221, INOUT_NONE);
    return 0;
}

void c3sim_panel_describe(const struct c3sim_panel *p, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < p->model->doors && o < cap; i++) {
        const struct c3sim_door *d = &p->door[i];
        int w = snprintf(out + o, cap - o, "%sdoor%d=%s,%s,alarm=%u", i ? " " : "", d->n,
                         !door_has_sensor(d) ? "nosensor" : d->open ? "open" : "closed",
                         d->normal_open ? "normalopen" : door_released(d) ? "released" : "locked", d->alarm);
        if (w < 0 || (size_t)w >= cap - o)
            break;
        o += (size_t)w;
    }
    for (int i = 0; i < p->model->aux_out && o < cap; i++) {
        int w = snprintf(out + o, cap - o, " aux%d=%s", i + 1, p->aux[i].on ? "on" : "off");
        if (w < 0 || (size_t)w >= cap - o)
            break;
        o += (size_t)w;
    }
}
