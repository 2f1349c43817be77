/* pane_alarms: forced door, held open, duress, tamper... stay listed until an operator acknowledges them
 * (optionally with a comment) through the core's acknowledge action; the bell repeats until then. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curses.h>

#include "tui/textw.h"
#include "tui/console.h"

size_t alarms_unacked(const struct console *c)
{
    return c->n_alarms;
}

static void remove_at(struct console *c, size_t i)
{
    if (i >= c->n_alarms)
        return;
    memmove(&c->alarms[i], &c->alarms[i + 1], sizeof *c->alarms * (c->n_alarms - i - 1));
    c->n_alarms--;
}

void alarms_acked(struct console *c, int64_t event_id)
{
    for (size_t i = c->n_alarms; event_id > 0 && i-- > 0;)
        if (c->alarms[i].ev.id == event_id)
            remove_at(c, i);
    c->dirty = true;
}

void alarms_add(struct console *c, const struct event *ev)
{
    for (size_t i = 0; i < c->n_alarms; i++) {
        struct alarm *a = &c->alarms[i];
        if (a->ev.code == ev->code && a->ev.kind == ev->kind && strcasecmp(a->ev.device, ev->device) == 0 &&
            strcasecmp(a->ev.door, ev->door) == 0) {
            a->count++;
            a->last_us = ev->host_time_us;
            return;
        }
    }
    if (c->n_alarms == CONSOLE_MAX_ALARMS)
        remove_at(c, c->n_alarms - 1); /* the oldest stays in the journal, unacknowledged */
    memmove(&c->alarms[1], &c->alarms[0], sizeof *c->alarms * c->n_alarms);
    c->n_alarms++;
    struct alarm *a = &c->alarms[0];
    memset(a, 0, sizeof *a);
    a->ev = *ev;
    a->count = 1;
    a->last_us = ev->host_time_us;
}

static void draw(struct console *c, struct pane *p, int y, int x, int h, int w)
{
    char title[160];
    snprintf(title, sizeof title, "Alarms waiting for acknowledgement  %zu%s", c->n_alarms,
             c->bell_muted ? "  (bell muted)" : "");
    console_list_heading(c, p, y, x, w, h, title, "First    Last     Count Device       Door             Alarm");
    listview_fix(&p->lv, c->n_alarms, p->height);
    if (!c->n_alarms) {
        console_put(c, y + 3, x + 2, w - 2, theme_attr(&c->th, TH_OK), "No alarm waiting.");
        return;
    }
    for (int i = 0; i < p->height && p->lv.top + (size_t)i < c->n_alarms; i++) {
        const struct alarm *a = &c->alarms[p->lv.top + (size_t)i];
        char t1[16], t2[16], line[400];
        time_t s1 = (time_t)(a->ev.host_time_us / 1000000), s2 = (time_t)(a->last_us / 1000000);
        struct tm tm;
        localtime_r(&s1, &tm);
        strftime(t1, sizeof t1, "%H:%M:%S", &tm);
        localtime_r(&s2, &tm);
        strftime(t2, sizeof t2, "%H:%M:%S", &tm);
        const char *rest = console_event_rest(&a->ev);
        char what[200];
        snprintf(what, sizeof what, "%s%s%s", a->ev.code_name, a->ev.code_name[0] && rest[0] ? ": " : "", rest);
        char dev_f[64], door_f[80];
        textw_fit(dev_f, sizeof dev_f, a->ev.device, 12);
        textw_fit(door_f, sizeof door_f, a->ev.door[0] ? a->ev.door : "-", 16);
        snprintf(line, sizeof line, "%-8s %-8s %5u %s %s %s%s%s", t1, t2, a->count, dev_f, door_f, what,
                 a->acking ? "  (acknowledging...)" : "", a->ev.journaled ? "" : a->ev.queued ? "  [NOT YET STORED]" : "  [NOT STORED]");
        bool sel = p->lv.top + (size_t)i == p->lv.sel;
        attr_t at = theme_attr(&c->th, sel ? TH_SELECTED : TH_ALARM);
        console_fill(c, y + 2 + i, x, w, sel ? at : A_NORMAL);
        console_put(c, y + 2 + i, x, w, at, line);
    }
}

/* Acknowledge all: one message for the whole list once every answer is in. */
struct ack_batch {
    unsigned sent, done, failed;
    bool sending; /* still in the loop that sends them (an answer may come before the loop ends) */
};

struct ack_ctx {
    struct console *c;
    int64_t event_id;
    char device[SITE_NAME_MAX], door[SITE_NAME_MAX];
    int code;
    struct ack_batch *batch;
};

static void batch_end(struct console *c, struct ack_batch *b)
{
    if (b->sending || b->done < b->sent)
        return;
    if (b->failed)
        console_message(c, TH_ALARM, "%u of %u alarms acknowledged; %u failed (still listed)", b->sent - b->failed,
                        b->sent, b->failed);
    else if (b->sent)
        console_message(c, TH_OK, "%u alarm%s acknowledged", b->sent, b->sent == 1 ? "" : "s");
    free(b);
}

static struct alarm *find(struct console *c, const struct ack_ctx *k, size_t *idx)
{
    for (size_t i = 0; i < c->n_alarms; i++) {
        struct alarm *a = &c->alarms[i];
        if (a->ev.id == k->event_id && a->ev.code == k->code && strcmp(a->ev.device, k->device) == 0 &&
            strcmp(a->ev.door, k->door) == 0) {
            if (idx)
                *idx = i;
            return a;
        }
    }
    return NULL;
}

static void ack_progress(const struct action_run *run, bool finished, void *arg)
{
    struct ack_ctx *k = arg;
    if (!finished)
        return;
    struct console *c = k->c;
    size_t i;
    struct alarm *a = find(c, k, &i);
    if (run->status == ACTION_OK) {
        if (a)
            remove_at(c, i);
        if (!k->batch)
            console_message(c, TH_OK, "Alarm acknowledged (%s %s)", k->device, k->door);
    } else {
        if (k->batch)
            k->batch->failed++;
        if (a)
            a->acking = false;
        console_message(c, TH_ALARM, "Acknowledge failed: %s %s", action_status_name(run->status), run->error);
    }
    if (c->running_actions)
        c->running_actions--;
    c->dirty = true;
    if (k->batch) {
        k->batch->done++;
        batch_end(c, k->batch);
    }
    free(k);
}

static void ack_one(struct console *c, struct alarm *a, const char *comment, struct ack_batch *batch)
{
    if (a->acking)
        return;
    if (a->ev.id <= 0 && a->ev.queued) {
        console_message(c, TH_WARN, "This alarm is not stored yet (the journal cannot store): acknowledge it once "
                        "the journal stores again");
        return;
    }
    if (a->ev.id <= 0) {
        /* Never stored (journal failure): nothing to mark in the journal; the operator still saw it. */
        size_t i = (size_t)(a - c->alarms);
        console_message(c, TH_WARN, "Alarm removed from the list (it was never stored in the journal)");
        remove_at(c, i);
        return;
    }
    struct ack_ctx *k = calloc(1, sizeof *k);
    if (!k)
        return;
    k->c = c;
    k->batch = batch;
    if (batch)
        batch->sent++;
    k->event_id = a->ev.id;
    k->code = a->ev.code;
    snprintf(k->device, sizeof k->device, "%s", a->ev.device);
    snprintf(k->door, sizeof k->door, "%s", a->ev.door);
    a->acking = true;
    char target[32];
    snprintf(target, sizeof target, "%lld", (long long)a->ev.id);
    /* A comment travels in the journal as the operator's words, a separate operator event next to the
     * acknowledgement: a client's goes with the request, for portierd to journal; direct, it is published here. */
    struct action_params params = {0};
    if (c->remote)
        params.comment = comment;
    else if (comment && comment[0]) {
        struct event ev;
        event_init(&ev, EVENT_OPERATOR, EVENT_NORMAL);
        event_copy(ev.device, sizeof ev.device, a->ev.device);
        event_copy(ev.door, sizeof ev.door, a->ev.door);
        event_copy(ev.code_name, sizeof ev.code_name, "acknowledge comment");
        event_set_text(&ev, "%s acknowledged event #%lld: %s", c->user.name, (long long)a->ev.id, comment);
        event_publish(site_events(c->site), &ev);
    }
    c->running_actions++;
    action_run(c->site, &c->user, ACTION_ACK, target, &params, ack_progress, k, NULL, 0);
}

static void comment_done(struct console *c, bool ok, const char *text, void *arg)
{
    struct pane *p = arg;
    if (!ok || p->lv.sel >= c->n_alarms)
        return;
    ack_one(c, &c->alarms[p->lv.sel], text, NULL);
}

static unsigned request(struct console *c, struct pane *p, enum req r)
{
    unsigned res = listview_request(&p->lv, r, c->n_alarms, p->height);
    if (res)
        return res;
    switch (r) {
    case REQ_ALARM_ACK:
    case REQ_ALARM_ACK_COMMENT:
    case REQ_ALARM_ACK_ALL:
        if (!console_allowed(c, r))
            return PANE_HANDLED | PANE_REDRAW;
        if (!c->n_alarms) {
            console_message(c, TH_INFO, "No alarm to acknowledge");
            return PANE_HANDLED | PANE_REDRAW;
        }
        if (r == REQ_ALARM_ACK_ALL) {
            /* ack_one may remove entries (never-stored alarms): walk from the end. */
            struct ack_batch *b = calloc(1, sizeof *b);
            if (b)
                b->sending = true;
            for (size_t i = c->n_alarms; i-- > 0;)
                ack_one(c, &c->alarms[i], NULL, b);
            if (b) {
                b->sending = false;
                batch_end(c, b);
            }
        } else if (r == REQ_ALARM_ACK_COMMENT) {
            console_input(c, "Acknowledge", "Comment (recorded with the acknowledgement):", "", NULL,
                          comment_done, p);
        } else if (p->lv.sel < c->n_alarms) {
            ack_one(c, &c->alarms[p->lv.sel], NULL, NULL);
        }
        return PANE_HANDLED | PANE_REDRAW;
    case REQ_ENTER:
        if (p->lv.sel < c->n_alarms) {
            const struct alarm *a = &c->alarms[p->lv.sel];
            char text[512], t[32], code[16];
            event_format_time(a->ev.host_time_us, t, sizeof t);
            snprintf(text, sizeof text, "%s\n%s %s: %s (code %s)\n%s\nRepeated %u time(s); journal #%lld",
                     t, a->ev.device, a->ev.door, a->ev.code_name, console_code_text(&a->ev, code, sizeof code),
                     a->ev.text, a->count,
                     (long long)a->ev.id);
            console_info(c, "Alarm", text);
        }
        return PANE_HANDLED;
    default:
        return 0;
    }
}

struct pane *pane_alarms_new(struct console *c)
{
    (void)c;
    static const struct pane proto = {.title = "Alarms", .scope = SCOPE_ALARMS, .is_list = true, .draw = draw, .request = request};
    return pane_new(&proto, NULL);
}
