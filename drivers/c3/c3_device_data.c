#include "drivers/c3/c3_device_data.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "drivers/c3/c3_data.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_store.h"
#include "drivers/c3/c3_xfer.h"

struct c3d_data {
    struct c3d_data *next, **list;
    loop_t *loop;
    loop_timer_t link_wait;      /* armed while the link is down: the request gives up when it fires */
    uint32_t link_wait_ms;
    struct c3_store *st;
    struct c3_session *session;
    struct c3_xfer *x;           /* a history read: the table structure, then the event table */
    struct c3_txn_fields tf;
    uint32_t since;
    struct csv rows;
    bool dry_run;
    device_step_fn step;
    device_record_fn record;
    void *step_ctx;
    device_result_fn result;
    device_done_fn done;
    void *ctx;
};

static void unlink_free(struct c3d_data *d)
{
    for (struct c3d_data **p = d->list; *p; p = &(*p)->next)
        if (*p == d) {
            *p = d->next;
            break;
        }
    if (d->loop)
        loop_timer_disarm(d->loop, &d->link_wait);
    csv_free(&d->rows);
    free(d);
}

/* A line (text, or NULL for a record of its own) with its structured form o (taken; NULL: none): through record
 * when the front end takes records, else the line alone through step. */
static void rec(struct c3d_data *d, const char *text, json_t *o)
{
    if (d->record && (text || o))
        d->record(d->step_ctx, text, o);
    else if (d->step && text)
        d->step(d->step_ctx, 0, 0, text);
    json_decref(o);
}

static void line(struct c3d_data *d, const char *text) { rec(d, text, NULL); }

/* A list's row (or its header: the field names) as its CSV line, with {"row": {...}} (or {"fields": [...]}). */
static void row_line(struct c3d_data *d, const struct csv *t, size_t r, bool header)
{
    const char *const *fields = (const char *const *)(header ? t->header : t->cells + r * t->ncols);
    char *s = csv_format_row(fields, t->ncols);
    json_t *o = NULL;
    if (d->record && header) {
        json_t *a = json_array();
        for (size_t k = 0; a && k < t->ncols; k++)
            json_array_append_new(a, json_string(t->header[k]));
        o = json_pack("{s:o*}", "fields", a);
    } else if (d->record) {
        o = json_pack("{s:o*}", "row", c3_store_row_json(t, r));
    }
    if (s)
        rec(d, s, o);
    else
        json_decref(o);
    free(s);
}

/* A refusal or failure: its text (msg, shown) as the line, {"error": the driver's text, "code": err}. */
static void error_line(struct c3d_data *d, int err, const char *raw, const char *msg)
{
    json_t *e = json_string(raw);
    rec(d, msg, d->record ? json_pack("{s:o*,s:i}", "error", e ? e : json_string(msg), "code", err) : NULL);
    if (!d->record)
        json_decref(e);
}

/* A message that quotes a file's cell: control characters as \xNN (it goes to screens and the audit). */
static void shown(const char *msg, char *out, size_t cap)
{
    size_t at = 0;
    for (const unsigned char *p = (const unsigned char *)msg; *p && at + 5 < cap; p++)
        at += (size_t)(*p < 0x20 || *p == 0x7F ? snprintf(out + at, cap - at, "\\x%02X", *p)
                                              : snprintf(out + at, cap - at, "%c", *p));
    if (at < cap)
        out[at] = '\0';
}

static enum device_result result_of(int err)
{
    return err == C3_S_TIMEOUT || err == C3_S_EXPIRED                                   ? DEVICE_RESULT_TIMEOUT
           : err == C3_S_DISCONNECTED || err == C3_S_CANCELED || err == C3_S_CONNECT ? DEVICE_RESULT_OFFLINE
                                                                                     : DEVICE_RESULT_FAILED;
}

/* The one result, done, and the request freed. */
static void finish(struct c3d_data *d, enum device_result res, const char *summary)
{
    d->result(d->ctx, SIZE_MAX, res, summary);
    if (d->done)
        d->done(d->ctx);
    unlink_free(d);
}

static void on_store(void *arg, const struct c3_store_result *r)
{
    struct c3d_data *d = arg;
    d->st = NULL;
    char summary[200];
    enum device_result res = DEVICE_RESULT_OK;
    if (r->err) {
        /* The whole text as a line (a result message is short), the gist as the result. */
        char msg[700];
        const char *raw = r->msg[0] ? r->msg : c3_session_strerror(r->err);
        shown(raw, msg, sizeof msg);
        error_line(d, r->err, raw, msg);
        /* the code first (a result message may be cut): a client prints and exits as direct mode does */
        snprintf(summary, sizeof summary, "(code %d) %.180s", r->err, msg);
        res = result_of(r->err);
    } else if (r->rows) {
        row_line(d, r->rows, 0, true);
        for (size_t i = 0; i < r->rows->nrows; i++)
            row_line(d, r->rows, i, false);
        snprintf(summary, sizeof summary, "%zu row%s", r->rows->nrows, r->rows->nrows == 1 ? "" : "s");
    } else {
        char text[1024];
        for (size_t i = 0; i < r->diff->n; i++) {
            c3_store_change_text(r, &r->diff->v[i], text, sizeof text);
            rec(d, text, d->record ? c3_store_change_json(r, &r->diff->v[i]) : NULL);
        }
        if (r->note[0])
            line(d, r->note);
        if (r->mismatches) {
            snprintf(text, sizeof text, "%zu row%s differ after the write (the firmware may have refused them "
                     "silently)", r->mismatches, r->mismatches == 1 ? "" : "s");
            line(d, text);
            res = DEVICE_RESULT_FAILED;
        }
        if (d->record) {
            json_t *o = json_pack("{s:o*}", "summary", c3_store_summary_json(r, d->dry_run));
            if (o)
                d->record(d->step_ctx, NULL, o);
            json_decref(o);
        }
        c3_store_summary(r, d->dry_run, summary, sizeof summary);
    }
    finish(d, res, summary);
}

/* A scope "FIELD=VALUE": a field name of letters, digits and '_', a value of printable characters without spaces. */
static bool scope_ok(const char *w)
{
    const char *eq = strchr(w, '=');
    if (!eq || eq == w || !eq[1] || strspn(w, C3D_NAME_CHARS) != (size_t)(eq - w))
        return false;
    for (const unsigned char *p = (const unsigned char *)eq + 1; *p; p++)
        if (*p <= 0x20 || *p == 0x7F)
            return false;
    return true;
}

int c3d_data_parse(const char *text, struct c3_store_req *rq, char *where, size_t wcap, char *err, size_t errlen)
{
    char kind[40] = "", op[16] = "", w3[72] = "", w4[16] = "", w5[2] = "";
    int n = text ? sscanf(text, "%39s %15s %71s %15s %1s", kind, op, w3, w4, w5) : 0;
    static const struct {
        const char *name;
        enum c3_store_op op;
    } ops[] = { { "list", C3_STORE_LIST }, { "add", C3_STORE_ADD }, { "set", C3_STORE_SET },
                { "delete", C3_STORE_DELETE }, { "replace", C3_STORE_REPLACE } };
    bool tables = strcmp(kind, "tables") == 0;
    const char *table = strncmp(kind, "table:", 6) == 0 ? kind + 6 : NULL;
    rq->kind = tables || table ? -1 : c3_kind_from_name(kind);
    rq->table = NULL;
    rq->where_field = rq->where_value = NULL;
    size_t i = 0;
    while (i < sizeof ops / sizeof ops[0] && strcmp(ops[i].name, op) != 0)
        i++;
    bool scoped = n >= 3 && scope_ok(w3);
    const char *flag = scoped ? (n >= 4 ? w4 : NULL) : (n >= 3 ? w3 : NULL);
    /* a word as long as its field may go on in the text: refused, never read as two words */
    bool ok = n >= 2 && n <= (scoped ? 4 : 3) && i < sizeof ops / sizeof ops[0] && strlen(kind) < sizeof kind - 1 &&
              strlen(op) < sizeof op - 1 && strlen(w3) <= C3D_SCOPE_MAX && strlen(w4) < sizeof w4 - 1 &&
              (!flag || strcmp(flag, "dry-run") == 0);
    enum c3_store_op o = ok ? ops[i].op : C3_STORE_LIST;
    if (tables) /* "tables list": every table */
        ok = ok && o == C3_STORE_LIST && n == 2;
    else if (table) /* "table:NAME list [F=V]", "table:NAME set [dry-run]", "table:NAME delete F=V [dry-run]" */
        ok = ok && table[0] && strlen(table) <= C3D_TABLE_MAX && strspn(table, C3D_NAME_CHARS) == strlen(table) &&
             (o == C3_STORE_LIST ? !flag : o == C3_STORE_SET ? !scoped : o == C3_STORE_DELETE && scoped);
    else
        ok = ok && rq->kind >= 0 && (!scoped || o == C3_STORE_REPLACE);
    size_t need = (table ? strlen(table) + 1 : 0) + (scoped ? strlen(w3) + 1 : 0);
    if (!ok || need > wcap) {
        snprintf(err, errlen, "not a panel data request: \"%.60s\"", text ? text : "");
        return -1;
    }
    rq->op = tables ? C3_STORE_TABLES : o;
    rq->dry_run = flag != NULL;
    char *at = where;
    if (table) {
        memcpy(at, table, strlen(table) + 1);
        rq->table = at;
        at += strlen(table) + 1;
    }
    if (scoped) {
        memcpy(at, w3, strlen(w3) + 1);
        char *eq = strchr(at, '=');
        *eq = '\0';
        rq->where_field = at;
        rq->where_value = eq + 1;
    }
    return 0;
}

int c3d_history_parse(const char *text, uint32_t *since)
{
    char w1[8] = "", w2[24] = "", w3[2] = "";
    int end = 0;
    int n = text ? sscanf(text, "%7s%n %23s %1s", w1, &end, w2, w3) : 0;
    *since = 0;
    /* "history" a word of its own ("historysince=1" is not one) */
    if (n < 1 || n > 2 || strcmp(w1, "history") != 0 || (text[end] && !strchr(" \t\n\v\f\r", text[end])))
        return -1;
    if (n == 1)
        return 0;
    /* since=PACKED: the panel's packed time, decimal digits only, at most 32 bits */
    const char *v = w2 + 6;
    if (strncmp(w2, "since=", 6) != 0 || !*v || strlen(v) > 10 || strspn(v, "0123456789") != strlen(v))
        return -1;
    unsigned long long t = strtoull(v, NULL, 10);
    if (t > UINT32_MAX)
        return -1;
    *since = (uint32_t)t;
    return 0;
}

/* A failed step of a history read: its message as the last line, the code first in the result. */
static void hist_fail(struct c3d_data *d, int err)
{
    char why[200];
    snprintf(why, sizeof why, "(code %d) %.150s", err, c3_session_strerror(err));
    error_line(d, err, c3_session_strerror(err), why + strcspn(why, ")") + 2);
    finish(d, result_of(err), why);
}

/* The event table's records, oldest first as the panel keeps them, from d->since on: one line each,
 * "txn TIME DOOR TYPE VERIFY INOUT CARD PIN INDEX" (numbers; TIME packed, INDEX -1 without an Index field). */
static void hist_rows(void *arg, int err, const uint8_t *data, size_t len)
{
    struct c3d_data *d = arg;
    d->x = NULL;
    if (err) {
        hist_fail(d, err);
        return;
    }
    size_t shown = 0;
    struct c3_data_reader rd;
    struct c3_data_value *v = malloc(255 * sizeof *v);
    if (!v) {
        line(d, "out of memory");
        finish(d, DEVICE_RESULT_FAILED, "out of memory");
        return;
    }
    if (len && c3_data_reader_init(&rd, data, len) == 0) {
        while (c3_data_reader_next(&rd, v, 255) == 1) {
            struct c3_txn t;
            if (c3_txn_decode(&rd, v, &d->tf, &t) == 0 && t.time >= d->since) {
                char text[160];
                snprintf(text, sizeof text, "txn %" PRIu32 " %u %u %u %u %" PRIu32 " %" PRIu32 " %" PRId64, t.time,
                         t.door, t.type, t.verify, t.inout, t.card, t.pin, t.index);
                rec(d, text, d->record ? json_pack("{s:o*}", "txn", c3_txn_json(&t)) : NULL);
                shown++;
            }
        }
    }
    free(v);
    char summary[64];
    snprintf(summary, sizeof summary, "%zu event%s", shown, shown == 1 ? "" : "s");
    finish(d, DEVICE_RESULT_OK, summary);
}

/* The read's progress in bytes, as a step without a line (a progress bar for the one who asked). */
static void hist_progress(void *arg, size_t done, size_t total)
{
    struct c3d_data *d = arg;
    if (d->step && total > 0 && total <= UINT_MAX)
        d->step(d->step_ctx, (unsigned)done, (unsigned)total, NULL);
}

static void hist_struct(void *arg, int err, const uint8_t *data, size_t len)
{
    struct c3d_data *d = arg;
    d->x = NULL;
    if (err) {
        hist_fail(d, err);
        return;
    }
    struct c3_buf b = { 0 };
    if (c3_txn_history_query((const char *)data, len, &d->tf, &b) < 0) {
        line(d, "this panel has no transaction table");
        finish(d, DEVICE_RESULT_FAILED, "this panel has no transaction table");
        return;
    }
    /* a plain read: never the "new records only" option nor GET_DATA_OK, so the panel's record pointer (the
     * catch-up's) does not move */
    struct c3_xfer_opts o = { .prio = C3_PRIO_OPERATOR, .progress = hist_progress, .progress_arg = d };
    d->x = c3_xfer_get(d->session, C3_CMD_GET_DATA, b.p, b.len, &o, hist_rows, d, &err);
    c3_buf_free(&b);
    if (!d->x)
        hist_fail(d, err);
}

/* A request of cmd on list (not linked yet), or NULL with err. */
static void on_link_wait(loop_t *loop, void *arg);

static struct c3d_data *data_new(struct c3d_data **list, const struct c3d_link *lk, const struct device_cmd *cmd,
                                 char *err, size_t errlen)
{
    struct c3d_data *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->step = cmd->step;
    d->record = cmd->record;
    d->step_ctx = cmd->step_ctx;
    d->result = cmd->result;
    d->done = cmd->done;
    d->ctx = cmd->ctx;
    d->list = list;
    d->loop = lk->loop;
    d->link_wait_ms = lk->wait_ms ? lk->wait_ms : C3D_LINK_WAIT_MS;
    loop_timer_init(&d->link_wait, on_link_wait, d);
    return d;
}

/* Linked in: the link-wait bound starts at once when the link is down already. */
static void data_link_in(struct c3d_data *d, struct c3_session *s)
{
    d->next = *d->list;
    *d->list = d;
    if (c3_session_state(s) != C3_ST_ONLINE)
        loop_timer_arm_ms(d->loop, &d->link_wait, d->link_wait_ms);
}

/* The link stayed down for the whole bound: what is still queued is taken back (never sent later; nothing is on
 * the wire while the link is down) and the request fails. */
static void on_link_wait(loop_t *loop, void *arg)
{
    (void)loop;
    struct c3d_data *d = arg;
    c3_store_cancel(d->st);
    d->st = NULL;
    c3_xfer_cancel(d->x);
    d->x = NULL;
    char msg[120], summary[160];
    unsigned ms = d->link_wait_ms;
    if (ms % 1000)
        snprintf(msg, sizeof msg, "panel not connected for %u ms: request given up", ms);
    else
        snprintf(msg, sizeof msg, "panel not connected for %u s: request given up", ms / 1000);
    error_line(d, C3_S_EXPIRED, msg, msg);
    snprintf(summary, sizeof summary, "(code %d) %s", C3_S_EXPIRED, msg);
    finish(d, DEVICE_RESULT_OFFLINE, summary);
}

void c3d_data_link(struct c3d_data **list, bool online)
{
    for (struct c3d_data *d = *list; d; d = d->next)
        if (online)
            loop_timer_disarm(d->loop, &d->link_wait);
        else if (!loop_timer_armed(&d->link_wait))
            loop_timer_arm_ms(d->loop, &d->link_wait, d->link_wait_ms);
}

static int hist_start(struct c3d_data **list, const struct c3d_link *lk, struct c3_session *s,
                      const struct device_cmd *cmd, uint32_t since, char *err, size_t errlen)
{
    struct c3d_data *d = data_new(list, lk, cmd, err, errlen);
    if (!d)
        return -1;
    d->since = since;
    d->session = s;
    struct c3_xfer_opts o = { .prio = C3_PRIO_OPERATOR };
    int e = 0;
    d->x = c3_xfer_get(s, C3_CMD_TABLE_STRUCT, NULL, 0, &o, hist_struct, d, &e);
    if (!d->x) {
        snprintf(err, errlen, "%s", c3_session_strerror(e));
        free(d);
        return -1;
    }
    data_link_in(d, s);
    return 0;
}

int c3d_data_start(struct c3d_data **list, const struct c3d_link *lk, struct c3_session *s,
                   const struct device_cmd *cmd, char *err, size_t errlen)
{
    struct c3_store_req rq = { .kind = -1 };
    char where[C3D_TABLE_MAX + 80];
    uint32_t since;
    if (c3d_history_parse(cmd->request, &since) == 0)
        return hist_start(list, lk, s, cmd, since, err, errlen);
    if (c3d_data_parse(cmd->request, &rq, where, sizeof where, err, errlen) < 0)
        return -1;
    struct c3d_data *d = data_new(list, lk, cmd, err, errlen);
    if (!d)
        return -1;
    /* the rows: every change but the deletion of a raw table's rows (by its scope) */
    if (rq.op != C3_STORE_LIST && rq.op != C3_STORE_TABLES && !(rq.kind < 0 && rq.op == C3_STORE_DELETE)) {
        char why[256];
        if (!cmd->file_data ||
            csv_parse(cmd->file_data, cmd->file_len, &d->rows, why, sizeof why) < 0) {
            snprintf(err, errlen, "the rows: %s", cmd->file_data ? why : "none given");
            free(d);
            return -1;
        }
        rq.rows = &d->rows;
    }
    d->dry_run = rq.dry_run;
    struct c3_xfer_opts o = { .prio = C3_PRIO_OPERATOR };
    int e = 0;
    d->st = c3_store_run(s, &rq, &o, on_store, d, &e);
    if (!d->st) {
        snprintf(err, errlen, "%s", c3_session_strerror(e));
        csv_free(&d->rows);
        free(d);
        return -1;
    }
    data_link_in(d, s);
    return 0;
}

void c3d_data_destroy_all(struct c3d_data **list, const char *why)
{
    while (*list) {
        struct c3d_data *d = *list;
        c3_store_destroy(d->st);
        d->st = NULL;
        if (d->x)
            c3_xfer_destroy(d->x);
        d->x = NULL;
        d->result(d->ctx, SIZE_MAX, DEVICE_RESULT_OFFLINE, why);
        if (d->done)
            d->done(d->ctx);
        unlink_free(d);
    }
}
