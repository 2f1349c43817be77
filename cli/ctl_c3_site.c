/* ctl_c3_site: `portierctl [-c FILE] users|cards|access|timezones|holidays list|export|import|add|set|delete ...
 * PANEL`: the same data as `portierctl c3 HOST ...`, of a configured panel, through the site's panel-data actions
 * (the caller's role is checked and the request audited; through portierd when it runs, else this process owns
 * the panel). The rows travel as CSV text, the driver's answer as lines, each with its structured form (a row, a
 * change, the summary, a refusal: doc/protocol.md), from which both (and `portierctl c3 HOST` against portierd's
 * panel) print exactly what `portierctl c3 HOST` prints in direct mode, messages under their own name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "cli/ctl.h"
#include "cli/ctl_c3.h"
#include "cli/ctl_site.h"
#include "config/site_config.h"
#include "core/csv.h"
#include "core/grow.h"
#include "drivers/c3/c3_session.h"
#include "drivers/c3/c3_store.h"
#include "drivers/c3/c3_userdata.h"

struct lines {
    char **v;
    json_t **rec;      /* each line's structured form, or NULL */
    size_t n, cap;
    json_t *summary;   /* a change's summary record ({"added", ...}), when one came */
    json_t *error;     /* a failure's record ({"error", "code"}), when one came */
    bool failed;
    void (*progress)(void *arg, size_t done, size_t total); /* a read's bytes, when the caller shows them */
    void *progress_arg;
};

static void lines_progress(void *arg, size_t done, size_t total)
{
    struct lines *l = arg;
    l->progress(l->progress_arg, done, total);
}

static void keep(struct lines *l, const char *line, const json_t *record)
{
    size_t cap = l->cap, rcap = l->cap; /* two arrays of one capacity */
    char **v = grow_array(l->v, l->n, &cap, sizeof *v, 64);
    if (v)
        l->v = v;
    json_t **rec = v ? grow_array(l->rec, l->n, &rcap, sizeof *rec, 64) : NULL;
    if (!rec) {
        l->failed = true;
        return;
    }
    l->rec = rec;
    l->cap = cap;
    char *s = strdup(line);
    if (!s) {
        l->failed = true;
        return;
    }
    l->rec[l->n] = record ? json_deep_copy(record) : NULL;
    l->v[l->n++] = s;
}

static void keep_line(void *arg, const char *line) { keep(arg, line, NULL); }

static void keep_record(void *arg, const char *line, const json_t *record)
{
    struct lines *l = arg;
    const json_t *summary = json_object_get(record, "summary");
    if (json_is_object(summary)) {
        json_decref(l->summary);
        l->summary = json_deep_copy(summary);
        return;
    }
    if (json_is_integer(json_object_get(record, "code"))) {
        json_decref(l->error);
        l->error = json_deep_copy(record);
    }
    if (line)
        keep(l, line, record);
}

static void lines_free(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
        json_decref(l->rec[i]);
    }
    free(l->v);
    free(l->rec);
    json_decref(l->summary);
    json_decref(l->error);
}

static const char *op_word(const struct ctl_call *call, const struct ctl_c3_data_row *row)
{
    switch (row->what) {
    case CTL_C3_ADD: return "add";
    case CTL_C3_SET: return "set";
    case CTL_C3_DEL: return "delete";
    case CTL_C3_IMPORT: return ctl_has(call, "merge") ? "set" : "replace";
    default: return "list";
    }
}

/* A list's lines are CSV: print them as the c3 commands do. */
static int print_list(const struct ctl_call *call, const struct ctl_c3_data_row *row, const struct lines *l)
{
    if (call->g.json && l->n && json_is_array(json_object_get(l->rec[0], "fields"))) {
        /* the rows as the driver gave them, objects in the header's order */
        for (size_t i = 1; i < l->n; i++)
            if (json_is_object(json_object_get(l->rec[i], "row")))
                ctl_print_json(json_incref(json_object_get(l->rec[i], "row")));
        fflush(stdout);
        return CTL_EXIT_OK;
    }
    size_t len = 0;
    for (size_t i = 0; i < l->n; i++)
        len += strlen(l->v[i]) + 1;
    char *text = malloc(len + 1), *p = text;
    if (!text)
        return CTL_EXIT_UNREACHABLE;
    for (size_t i = 0; i < l->n; i++) {
        size_t k = strlen(l->v[i]);
        memcpy(p, l->v[i], k);
        p += k;
        *p++ = '\n';
    }
    *p = '\0';
    struct csv t = { 0 };
    char err[256];
    int rc = csv_parse(text, len, &t, err, sizeof err);
    free(text);
    if (rc < 0) {
        fprintf(stderr, "portierctl: the panel's rows: %s\n", err);
        return CTL_EXIT_DEVICE_ERROR;
    }
    ctl_c3_print_rows(call, &t, ctl_has(call, "csv") || row->what == CTL_C3_EXPORT);
    csv_free(&t);
    return CTL_EXIT_OK;
}

/* Where the actions go: the panel (its site name), through portierd (mode 1, at sock) or this process (mode 0);
 * doors: the panel's door count when known (0: the configuration's). Either family prints what `portierctl c3
 * HOST` prints in direct mode, under its own name. */
struct dest {
    char panel[SITE_NAME_MAX];
    char sock[SITE_PATH_MAX];
    int mode;
    unsigned doors;
    const char *who;  /* the messages' prefix: "portierctl c3" (`c3 HOST` against portierd's panel), "portierctl" */
    const char *name; /* the panel as the command named it: HOST, or its site name */
};

/* Run one panel-data action (directly or through portierd) and keep the driver's lines and records in l.
 * CTL_EXIT_OK when it succeeded; otherwise the failure was printed (as the c3 commands do; note first, when not
 * NULL, on stderr) and the exit status is returned. */
static int site_action(struct ctl_call *call, const struct dest *to, enum action_id id, const char *req,
                       const char *data, size_t len, const char *file, const char *note, struct lines *l,
                       struct ctl_site_run *r)
{
    *r = (struct ctl_site_run){ .id = id, .target = to->panel, .settings = req, .data = data, .len = len,
                                .line = keep_line, .record = keep_record,
                                .progress = l->progress ? lines_progress : NULL, .arg = l, .quiet = true,
                                .status = ACTION_FAILED };
    int mode = to->mode;
    int rc = mode < 0 ? CTL_EXIT_UNREACHABLE
             : mode > 0 ? ctl_daemon_run(call, to->sock, r)
                        : ctl_site_run_direct(call, r);
    if (mode < 0 || r->status == ACTION_DENIED || r->status == ACTION_REFUSED)
        return rc != CTL_EXIT_OK ? rc : CTL_EXIT_USAGE; /* said already (as every refusal) */
    if (r->status == ACTION_FAILED && l->summary)
        return CTL_EXIT_OK; /* written, but read back different: printed as direct mode prints it (exit 1) */
    if (r->status != ACTION_OK && note)
        fprintf(stderr, "%s: %s\n", to->who, note);
    if (r->status != ACTION_OK && l->error) {
        /* the driver's refusal or failure, said as direct mode says it */
        const char *msg = json_string_value(json_object_get(l->error, "error"));
        return ctl_c3_store_failed(call, to->who, file, (int)json_integer_value(json_object_get(l->error, "code")),
                                   msg ? msg : l->n ? l->v[l->n - 1] : r->message);
    }
    if (r->status != ACTION_OK && l->n == 0) /* said already (the panel is not connected, ...) */
        return rc != CTL_EXIT_OK ? rc : CTL_EXIT_DEVICE_ERROR;
    if (r->status != ACTION_OK) {
        /* the driver's last line is the whole reason; refused rows ("line N: column: ...") are exit 2 */
        const char *why = l->v[l->n - 1];
        for (size_t i = 0; i + 1 < l->n; i++)
            printf("%s\n", l->v[i]);
        /* the result starts with the driver's code: "(code -2006) ..." */
        int code = 0;
        bool coded = sscanf(r->message, "(code %d)", &code) == 1;
        const char *msg = why;
        if (coded && code != C3_S_INVALID && strncmp(why, "(code ", 6) != 0) {
            char said[700];
            snprintf(said, sizeof said, "(code %d) %s", code, why);
            ctl_c3_print_error(to->who, file, said);
        } else {
            msg = ctl_c3_print_error(to->who, file, why);
        }
        bool refused = coded ? code == C3_S_INVALID : strncmp(why, "line ", 5) == 0;
        if (refused && file)
            ctl_refuse(); /* the file's rows, not the command line */
        if (call->g.json) {
            /* as direct mode says it */
            json_t *o = json_pack("{s:s}", "error", msg);
            if (o && (coded || refused))
                json_object_set_new(o, "code", json_integer(coded ? code : C3_S_INVALID));
            ctl_print_json(o);
        }
        return coded ? ctl_c3_store_exit(code) : refused ? CTL_EXIT_USAGE : rc != CTL_EXIT_OK ? rc
                                                                                              : CTL_EXIT_DEVICE_ERROR;
    }
    return l->failed ? CTL_EXIT_UNREACHABLE : CTL_EXIT_OK;
}

/* A change's answer as `portierctl c3 HOST` prints it in direct mode (what, when not NULL, names the part): each
 * change (its line, or with --json its record), the summary (the result's text, or with --json the summary
 * record), then what the panel read back differently and the note. Exit 1 for a read-back mismatch, as there. */
static int print_as_c3(const struct ctl_call *call, const struct lines *l, const char *summary, const char *what)
{
    for (size_t i = 0; i < l->n; i++) {
        const json_t *rec = l->rec[i];
        if (!json_is_string(json_object_get(rec, "change")))
            continue; /* the note and the read-back's count: in the summary record */
        if (call->g.json)
            ctl_print_json(json_deep_copy(rec));
        else
            printf("%s\n", l->v[i]);
    }
    size_t mismatches = (size_t)json_integer_value(json_object_get(l->summary, "mismatches"));
    const char *note = json_string_value(json_object_get(l->summary, "note"));
    if (call->g.json) {
        ctl_print_json(ctl_c3_summary_json(what, json_deep_copy(l->summary)));
    } else {
        printf("%s%s%s\n", what ? what : "", what ? ": " : "", summary);
        if (mismatches)
            printf("%zu row%s differ after the write (the firmware may have refused them silently)\n", mismatches,
                   mismatches == 1 ? "" : "s");
        if (note && note[0])
            printf("%s\n", note);
    }
    fflush(stdout);
    return mismatches ? CTL_EXIT_DEVICE_ERROR : CTL_EXIT_OK;
}

/* A change's answer as `portierctl c3 HOST` prints it in direct mode (print_as_c3); without the driver's summary
 * record (a daemon that sends none) its lines and the result's message as they came. The exit status. */
static int print_change(const struct ctl_call *call, const struct lines *l, const struct ctl_site_run *r,
                        const char *what)
{
    if (l->summary)
        return print_as_c3(call, l, r->message, what);
    for (size_t i = 0; i < l->n; i++)
        printf("%s\n", l->v[i]);
    printf("%s%s%s\n", what ? what : "", what ? ": " : "", r->message);
    return CTL_EXIT_OK;
}

/* The configured door count of the panel named (4 when the configuration does not say). */
static unsigned configured_doors(const struct ctl_call *call, const char *panel)
{
    char path[2 * SITE_PATH_MAX + 8];
    unsigned doors = C3_DOORS_MAX;
    if (!site_config_find(call->g.config_path, path, sizeof path))
        return doors;
    struct config_diags d;
    struct site *s = site_config_load(path, &d);
    config_diags_free(&d);
    for (size_t i = 0; s && i < s->n_panels; i++)
        if (strcasecmp(s->panels[i].name, panel) == 0 && s->panels[i].doors)
            doors = s->panels[i].doors;
    site_free(s);
    return doors;
}

/* users add|set PIN ... --doors LIST [--timezone ID] PANEL: the rule of the console's user editor
 * (c3_userdata), through the same audited panel-data actions: the doors against the panel's configured door
 * count and the time zone against the panel's time zones before anything is written, then the user's row, then
 * the user's access rights alone ("access replace pin=N"). */
static int site_doors_run(struct ctl_call *call, const struct dest *to, const struct ctl_c3_data_row *row)
{
    const char *panel = to->panel;
    bool dry = ctl_has(call, "dry-run");
    char pin[16], tz[16], why[200];
    snprintf(pin, sizeof pin, "%lld", ctl_num(call, "PIN", 0));
    snprintf(tz, sizeof tz, "%lld", ctl_num(call, "timezone", 1));
    unsigned dv[C3_DOORS_MAX];
    int nd = c3_doors_parse(ctl_c3_doors_list(call), to->doors ? to->doors : configured_doors(call, panel), to->name,
                            dv, why, sizeof why);
    if (nd < 0) {
        fprintf(stderr, "%s: --doors: %s; nothing was written\n", to->who, why);
        return CTL_EXIT_USAGE;
    }
    struct csv user = { 0 }, access = { 0 }, tzs = { 0 };
    struct lines l = { 0 };
    struct ctl_site_run r;
    const char *file;
    char *text = NULL;
    size_t len = 0;
    int rc = CTL_EXIT_UNREACHABLE, user_rc = CTL_EXIT_OK;
    if (ctl_c3_request_rows(call, row, &user, &file) < 0) {
        rc = CTL_EXIT_USAGE;
        goto out;
    }
    if (c3_doors_access(pin, dv, (size_t)nd, tz, &access) < 0)
        goto out;
    if (nd > 0) {
        /* the time zone must be one the panel holds */
        rc = site_action(call, to, ACTION_PANEL_DATA_GET, "timezones list", NULL, 0, NULL, NULL, &l, &r);
        if (rc != CTL_EXIT_OK)
            goto out;
        char *list = NULL;
        size_t ll = 0, cap = 0;
        for (size_t i = 0; i < l.n; i++) {
            size_t k = strlen(l.v[i]);
            char *n = ll + k + 2 > cap ? realloc(list, cap = 2 * (ll + k + 2)) : list;
            if (!n) {
                free(list);
                rc = CTL_EXIT_UNREACHABLE;
                goto out;
            }
            list = n;
            memcpy(list + ll, l.v[i], k);
            ll += k;
            list[ll++] = '\n';
        }
        int prc = csv_parse(list ? list : "", ll, &tzs, why, sizeof why);
        free(list);
        if (prc < 0 || c3_doors_tz_check(tz, &tzs, why, sizeof why) < 0) {
            fprintf(stderr, "%s: --timezone: %s; nothing was written\n", to->who,
                    prc < 0 ? "the panel's time zones could not be read" : why);
            rc = prc < 0 ? CTL_EXIT_DEVICE_ERROR : CTL_EXIT_USAGE;
            goto out;
        }
        lines_free(&l);
        l = (struct lines){ 0 };
    }
    /* the user's row */
    char req[64];
    snprintf(req, sizeof req, "users %s%s", row->what == CTL_C3_ADD ? "add" : "set", dry ? " dry-run" : "");
    text = csv_format(&user, &len);
    rc = text ? site_action(call, to, ACTION_PANEL_DATA, req, text, len, NULL, NULL, &l, &r) : CTL_EXIT_UNREACHABLE;
    free(text);
    text = NULL;
    if (rc != CTL_EXIT_OK)
        goto out;
    bool added = json_integer_value(json_object_get(l.summary, "added")) > 0;
    for (size_t i = 0; i < l.n; i++)
        added = added || strncmp(l.v[i], "+ ", 2) == 0;
    user_rc = print_change(call, &l, &r, "user");
    lines_free(&l);
    l = (struct lines){ 0 };
    if (dry && added) {
        /* a new user: the panel holds no such user to check rights against; they were checked here */
        struct c3_diff d = { .adds = access.nrows };
        struct c3_store_result shown = { .diff = &d, .msg = "", .note = "" };
        char line[120];
        for (size_t i = 0; i < access.nrows; i++) {
            c3_doors_added_text(&access, i, line, sizeof line);
            json_t *o = json_pack("{s:s,s:o*}", "change", "add", "row", c3_store_row_json(&access, i));
            keep(&l, line, o);
            json_decref(o);
        }
        l.summary = c3_store_summary_json(&shown, true);
        c3_store_summary(&shown, true, r.message, sizeof r.message);
        rc = print_change(call, &l, &r, "doors");
        rc = user_rc != CTL_EXIT_OK ? user_rc : rc;
        goto out;
    }
    /* the user's access rights alone */
    snprintf(req, sizeof req, "access replace pin=%s%s", pin, dry ? " dry-run" : "");
    text = csv_format(&access, &len);
    snprintf(why, sizeof why, "the user's doors were not %s", dry ? "checked" : "written");
    rc = text ? site_action(call, to, ACTION_PANEL_DATA, req, text, len, NULL, why, &l, &r) : CTL_EXIT_UNREACHABLE;
    if (rc != CTL_EXIT_OK)
        goto out;
    rc = print_change(call, &l, &r, "doors");
    rc = user_rc != CTL_EXIT_OK ? user_rc : rc;
out:
    free(text);
    lines_free(&l);
    csv_free(&user);
    csv_free(&access);
    csv_free(&tzs);
    return rc;
}

/* The rows a change sends (from its file or its arguments) as the text of the request: CTL_EXIT_OK with *text,
 * or the exit status of what went wrong (said on stderr). */
static int request_text(struct ctl_call *call, const struct ctl_c3_data_row *row, char **text, size_t *len,
                        const char **file)
{
    struct csv rows = { 0 };
    if (ctl_c3_request_rows(call, row, &rows, file) < 0) {
        csv_free(&rows);
        return CTL_EXIT_USAGE;
    }
    *text = csv_format(&rows, len);
    csv_free(&rows);
    if (!*text) {
        fprintf(stderr, "portierctl: out of memory\n");
        return CTL_EXIT_UNREACHABLE;
    }
    return CTL_EXIT_OK;
}

/* Sends a panel-data request (a read when get, else a change with text, which it frees, as its rows) and prints the
 * answer: a read's rows as the verb's list, a change as the C3 family prints it. */
static int send_and_print(struct ctl_call *call, const struct dest *to, const struct ctl_c3_data_row *row, bool get,
                          const char *req, char *text, size_t len, const char *file)
{
    struct lines l = { 0 };
    struct ctl_site_run r;
    int rc = site_action(call, to, get ? ACTION_PANEL_DATA_GET : ACTION_PANEL_DATA, req, text, len, file, NULL, &l,
                         &r);
    free(text);
    if (rc == CTL_EXIT_OK)
        rc = get ? print_list(call, row, &l) : print_change(call, &l, &r, NULL);
    lines_free(&l);
    return rc;
}

static int site_data(struct ctl_call *call, const struct dest *to)
{
    const struct ctl_c3_data_row *row = call->verb->data;
    int doors = ctl_c3_doors_check(call, row);
    if (doors < 0)
        return CTL_EXIT_USAGE;
    if (doors && !call->g.readonly)
        return site_doors_run(call, to, row);
    bool list = row->what == CTL_C3_LIST || row->what == CTL_C3_EXPORT;
    const char *file = NULL;
    char *text = NULL;
    size_t len = 0;
    /* --readonly: the action refuses (and audits the attempt) before the rows are even read */
    if (!list && !call->g.readonly) {
        int rc = request_text(call, row, &text, &len, &file);
        if (rc != CTL_EXIT_OK)
            return rc;
    }
    char req[64];
    snprintf(req, sizeof req, "%s %s%s", c3_kind_name((enum c3_kind)row->kind), op_word(call, row),
             !list && ctl_has(call, "dry-run") ? " dry-run" : "");
    return send_and_print(call, to, row, list, req, text, len, file);
}

/* `portierctl c3 HOST table list|get|set|delete` against portierd's panel: the request names the table
 * ("tables list", "table:NAME list [FIELD=VALUE]", "table:NAME set [dry-run]", "table:NAME delete FIELD=VALUE
 * [dry-run]"); printed as direct mode prints it. */
static int site_table(struct ctl_call *call, const struct dest *to, const struct ctl_c3_data_row *row)
{
    bool get = row->what == CTL_C3_TABLES || row->what == CTL_C3_TGET;
    const char *where = ctl_str(call, "where", NULL), *name = ctl_str(call, "NAME", "");
    if (where && (strlen(where) > 63 || strpbrk(where, " \t\r\n"))) {
        fprintf(stderr, "portierctl c3: --where: through portierd a FIELD=VALUE of at most 63 characters without "
                        "spaces\n");
        return CTL_EXIT_USAGE;
    }
    char req[128];
    if (row->what == CTL_C3_TABLES)
        snprintf(req, sizeof req, "tables list");
    else
        snprintf(req, sizeof req, "table:%s %s%s%s%s", name,
                 get ? "list" : row->what == CTL_C3_TSET ? "set" : "delete", where ? " " : "", where ? where : "",
                 !get && ctl_has(call, "dry-run") ? " dry-run" : "");
    const char *file = NULL;
    char *text = NULL;
    size_t len = 0;
    if (row->what == CTL_C3_TSET && !call->g.readonly) {
        int rc = request_text(call, row, &text, &len, &file);
        if (rc != CTL_EXIT_OK)
            return rc;
    }
    /* through portierd only: a change prints as direct mode prints it */
    return send_and_print(call, to, row, get, req, text, len, file);
}

int ctl_c3_site_run(struct ctl_call *call)
{
    struct dest to = { .who = "portierctl" };
    snprintf(to.panel, sizeof to.panel, "%s", ctl_str(call, "PANEL", ""));
    to.name = to.panel;
    to.mode = ctl_daemon_choose(&call->g, to.sock, sizeof to.sock);
    return site_data(call, &to);
}

static void daemon_dest(const struct ctl_call *call, struct ctl_daemon_device *dp, struct dest *to)
{
    *to = (struct dest){ .mode = 1, .who = "portierctl c3", .name = call->target };
    snprintf(to->sock, sizeof to->sock, "%s", ctl_daemon_device_socket(dp));
    snprintf(to->panel, sizeof to->panel, "%s", ctl_daemon_panel_name(dp));
}

int ctl_c3_history_via_daemon(struct ctl_call *call, struct ctl_daemon_device *dp, const char *req,
                              void (*each)(void *arg, const json_t *txn),
                              void (*progress)(void *arg, size_t done, size_t total), void *arg)
{
    struct dest to;
    daemon_dest(call, dp, &to);
    struct lines l = { .progress = progress, .progress_arg = arg };
    struct ctl_site_run r;
    int rc = site_action(call, &to, ACTION_PANEL_DATA_GET, req, NULL, 0, NULL, NULL, &l, &r);
    for (size_t i = 0; rc == CTL_EXIT_OK && i < l.n; i++)
        each(arg, json_object_get(l.rec[i], "txn"));
    lines_free(&l);
    return rc;
}

int ctl_c3_data_via_daemon(struct ctl_call *call, struct ctl_daemon_device *dp)
{
    const struct ctl_c3_data_row *row = call->verb->data;
    struct dest to;
    daemon_dest(call, dp, &to);
    const struct site *m = ctl_daemon_device_site(dp);
    for (size_t i = 0; m && i < m->n_devices; i++)
        if (m->devices[i].panel && strcmp(m->devices[i].name, to.panel) == 0)
            to.doors = m->devices[i].panel->doors;
    return row->kind < 0 ? site_table(call, &to, row) : site_data(call, &to);
}
