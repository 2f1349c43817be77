/* ctl_site_out: the output of the site commands, the same whether this process owns the devices or portierd does. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/ctl_site.h"
#include "core/event.h"
#include "core/proto.h"

enum ctl_out_mode ctl_out_mode_of(const struct ctl_call *call)
{
    return ctl_has(call, "csv") ? OUT_CSV : call->g.json ? OUT_JSON : OUT_TEXT;
}

void ctl_print_csv_header(enum ctl_out_mode mode, bool audit)
{
    if (mode == OUT_CSV)
        puts(audit ? "id,time,user,role,action,target,params,result,detail,done"
                   : "id,time,kind,severity,device,door,code,code_name,card,uid,text");
}

void ctl_print_run(const struct ctl_opts *o, const struct site *site, const struct action_run *run, bool finished)
{
    /* the live counts rewrite one line of a terminal; in a log or a pipe they would be one long line of \r */
    bool live = !o->json && run->n_results > 1 && isatty(STDERR_FILENO);
    if (!finished) {
        if (live)
            fprintf(stderr, "\r%u confirmed, %u pending, %u failed", run->confirmed, run->pending, run->failed);
        return;
    }
    if (live)
        fputc('\n', stderr);
    for (size_t i = 0; i < run->n_results; i++) {
        const struct action_target_result *t = &run->results[i];
        const char *name = t->label[0] ? t->label
                           : t->output < site->n_outputs ? site->outputs[t->output].name
                           : t->device < site->n_devices ? site->devices[t->device].name
                                                         : "?";
        if (o->json) {
            ctl_print_json(json_pack("{s:s,s:s,s:b,s:s}", "action", run->def->name, "target", name, "ok",
                                     t->progress == PROGRESS_OK, "message", t->message));
        } else {
            printf("%s: %s%s%s\n", name, t->progress == PROGRESS_OK ? "ok" : "FAILED",
                   strcmp(t->message, "ok") ? " — " : "", strcmp(t->message, "ok") ? t->message : "");
        }
    }
    bool refused = run->status == ACTION_DENIED || run->status == ACTION_REFUSED;
    if (o->json && !run->n_results && !refused) { /* an action on no output (ack, reload): its outcome, one object */
        const char *msg = run->error[0] ? run->error : action_status_name(run->status);
        json_t *j = json_pack("{s:s,s:s,s:b,s:s}", "action", run->def->name, "target", run->target, "ok",
                              run->status == ACTION_OK, "message", msg);
        if (j && run->status != ACTION_OK) { /* a failure carries its error (doc/decisions.md: --json failures) */
            json_object_set_new(j, "error", json_string(msg));
            json_object_set_new(j, "code", json_integer(ctl_action_exit(run->def->id, run->status)));
        }
        ctl_print_json(j);
    } else if (o->json && run->n_results && run->status != ACTION_OK && !refused) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s %s: %u confirmed, %u failed", run->def->name, action_status_name(run->status),
                 run->confirmed, run->failed);
        ctl_print_json(json_pack("{s:s,s:s,s:i}", "type", "error", "error", msg, "code",
                                 ctl_action_exit(run->def->id, run->status)));
    }
    if (refused || (!run->n_results && run->error[0]))
        fprintf(stderr, "portierctl: %s\n", run->error);
    else if (!o->json && !run->n_results) /* an action on no door (ack, reload): no door to count */
        printf("%s: %s\n", run->def->name, action_status_name(run->status));
    else if (!o->json)
        printf("%s: %s (%u confirmed, %u failed)\n", run->def->name, action_status_name(run->status), run->confirmed,
               run->failed);
    fflush(stdout);
}

/* The emergency as the site shows it (direct mode: no supervisor to ask): active, since, and its doors confirmed. */
static void emergency_of_site(const struct site *s, struct proto_emergency *em)
{
    memset(em, 0, sizeof *em);
    em->active = s->emergency_active;
    em->since_us = s->emergency_active ? s->emergency_since_us : 0;
    for (size_t i = 0; em->active && i < s->n_outputs; i++) {
        const struct site_output *o = &s->outputs[i];
        if (!action_emergency_output(s, o))
            continue;
        em->total++;
        em->confirmed += o->state.emergency;
    }
}

/* One output as JSON: its state word and every flag the word summarises. */
static json_t *output_json(const struct site *s, const struct site_output *o)
{
    const struct output_state *st = &o->state;
    const struct site_device *sd = &s->devices[o->device];
    json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:s}", "output", o->name, "device", sd->name, "type",
                          site_output_type_name(o->type), "number", o->number, "state", site_output_state_word(o));
    if (j && proto_output_state_add(j, st) < 0) {
        json_decref(j);
        return NULL;
    }
    if (j && o->type == OUTPUT_PROBE && sd->bus && o->slave < sd->bus->n_slaves)
        json_object_set_new(j, "slave", json_string(sd->bus->slaves[o->slave].name));
    return j;
}

int ctl_print_status(const struct ctl_opts *opts, const struct site *s, const struct proto_emergency *em)
{
    struct proto_emergency own;
    if (!em) {
        emergency_of_site(s, &own);
        em = &own;
    }
    int down = 0;
    if (opts->json)
        ctl_print_json(json_pack("{s:s,s:o}", "site", s->name, "emergency", proto_emergency_to_json(em)));
    else
        printf("site \"%s\"%s\n", s->name, em->active ? " — EMERGENCY" : "");
    for (size_t d = 0; d < s->n_devices; d++) {
        const struct site_device *sd = &s->devices[d];
        down += sd->link != LINK_UP;
        if (opts->json)
            ctl_print_json(json_pack("{s:s,s:s,s:s,s:s}", "device", sd->name, "kind", sd->kind, "link",
                                     site_link_name(sd->link), "detail", sd->link_detail));
        else
            printf("%-20s %-5s %-10s %s\n", sd->name, sd->kind, site_link_name(sd->link), sd->link_detail);
        for (size_t i = 0; i < s->n_outputs; i++) {
            const struct site_output *o = &s->outputs[i];
            if (o->device != d)
                continue;
            if (opts->json)
                ctl_print_json(output_json(s, o));
            else {
                /* a panel's alarm stays until it is cancelled: say it, and what the door is doing besides; then
                 * the door sensor, when it is known, in a column of its own (an unlocked door may stand open) */
                struct site_output rest = *o;
                rest.state.alarm = false;
                char word[64];
                snprintf(word, sizeof word, "%s%s", o->state.alarm ? "ALARM, " : "", site_output_state_word(&rest));
                if (o->type != OUTPUT_AUX && o->state.sensor != SENSOR_UNKNOWN)
                    printf("  %-5s %d %-24s %-22s sensor %s\n", site_output_type_name(o->type), o->number, o->name,
                           word, site_sensor_name(o->state.sensor));
                else
                    printf("  %-5s %d %-24s %s\n", site_output_type_name(o->type), o->number, o->name, word);
            }
        }
    }
    if (em->active && !opts->json) {
        char failed[1024];
        proto_emergency_failures_text(em, failed, sizeof failed);
        printf("EMERGENCY%s%s: %u of %u doors confirmed%s%s\n", em->by[0] ? " since it was started by " : "", em->by,
               em->confirmed, em->total, failed[0] ? "; not yet: " : "", failed);
    }
    return down;
}

int ctl_print_verify(const struct ctl_opts *o, const struct journal_verify_result *v, const char *why)
{
    if (!v) {
        fprintf(stderr, "portierctl: audit --verify: %s\n", why);
        return CTL_EXIT_UNREACHABLE;
    }
    if (o->json) {
        ctl_print_json(json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:s}", "ok", v->ok, "links", (json_int_t)v->links, "rows",
                                 (json_int_t)v->rows, "first_seq", (json_int_t)v->first_seq, "first_bad",
                                 (json_int_t)v->bad_seq, "bad_audit_id", (json_int_t)v->bad_audit_id, "problems",
                                 (json_int_t)v->problems, "error", v->error));
    } else if (v->ok) {
        printf("audit trail ok: %lld links over %lld rows hold (oldest link kept: #%lld)\n", (long long)v->links,
               (long long)v->rows, (long long)v->first_seq);
    } else {
        printf("audit trail BROKEN: %s%s\n", v->error,
               v->problems > 1 ? " (and more after it)" : "");
        if (v->bad_seq)
            printf("first broken link: #%lld%s\n", (long long)v->bad_seq, v->bad_audit_id ? "" : " (a retention or "
                                                                                              "missing link)");
    }
    return v->ok ? CTL_EXIT_OK : CTL_EXIT_DEVICE_ERROR;
}

int ctl_action_exit(enum action_id id, enum action_status st)
{
    switch (st) {
    case ACTION_OK: return CTL_EXIT_OK;
    case ACTION_DENIED: /* the caller's role: the command was right */
        ctl_refuse();
        return CTL_EXIT_USAGE;
    case ACTION_REFUSED: return CTL_EXIT_USAGE;
    default:
        /* an action on no device (an acknowledgement, a reload) failed for a reason of its own; a door action
         * fails where a device did not answer or confirm */
        return id == ACTION_ACK || id == ACTION_RELOAD_CONFIG ? CTL_EXIT_DEVICE_ERROR : CTL_EXIT_UNREACHABLE;
    }
}

void ctl_publish_comment(struct site *site, const char *user, const char *target, const char *comment)
{
    struct event ev;
    event_init(&ev, EVENT_OPERATOR, EVENT_NORMAL);
    event_copy(ev.device, sizeof ev.device, "operator");
    event_copy(ev.code_name, sizeof ev.code_name, "acknowledge comment");
    event_set_text(&ev, "%s acknowledged event #%s: %s", user, target ? target : "?", comment);
    event_publish(site_events(site), &ev);
}
