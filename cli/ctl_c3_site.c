/* ctl_c3_site: `portierctl [-c FILE] users|cards|access|timezones|holidays list|export|import|add|set|delete ...
 * PANEL`: the same data as `portierctl c3 HOST ...`, of a configured panel, through the site's panel-data actions
 * (the caller's role is checked and the request audited; through portierd when it runs, else this process owns
 * the panel). The rows travel as CSV text, the driver's answer as lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/ctl.h"
#include "cli/ctl_c3.h"
#include "cli/ctl_site.h"
#include "config/site_config.h"
#include "core/csv.h"
#include "drivers/c3/c3_session.h"
#include "drivers/c3/c3_userdata.h"

struct lines {
    char **v;
    size_t n, cap;
    bool failed;
};

static void keep_line(void *arg, const char *line)
{
    struct lines *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->failed = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    char *s = strdup(line);
    if (!s) {
        l->failed = true;
        return;
    }
    l->v[l->n++] = s;
}

static void lines_free(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* The rows as CSV text (header first). NULL without memory. */
static char *rows_text(const struct csv *t, size_t *len)
{
    size_t cap = 256, n = 0;
    char *out = malloc(cap);
    for (size_t r = 0; out && r <= t->nrows; r++) {
        char *line = csv_format_row((const char *const *)(r ? t->cells + (r - 1) * t->ncols : t->header), t->ncols);
        size_t k = line ? strlen(line) : 0;
        if (line && n + k + 2 > cap) {
            cap = 2 * (n + k + 2);
            char *o = realloc(out, cap);
            if (!o) {
                free(out);
                out = NULL;
            } else {
                out = o;
            }
        }
        if (!line || !out) {
            free(line);
            free(out);
            return NULL;
        }
        memcpy(out + n, line, k);
        n += k;
        out[n++] = '\n';
        free(line);
    }
    if (out)
        out[n] = '\0';
    *len = n;
    return out;
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

/* A change's answer as `portierctl c3 HOST` prints it in direct mode: the changes, the summary, then what the panel
 * read back differently and the note. With --json the changes are {"change", "text"} (the daemon says them in
 * words; direct mode gives each row's cells), the summary object is direct mode's. */
static void print_as_c3(const struct ctl_call *call, const struct lines *l, const char *summary)
{
    size_t i = 0, mismatches = 0;
    const char *note = NULL;
    for (; i < l->n && (l->v[i][0] == '+' || l->v[i][0] == '-' || l->v[i][0] == '~') && l->v[i][1] == ' '; i++) {
        if (call->g.json)
            ctl_print_json(json_pack("{s:s,s:s}", "change", l->v[i][0] == '+' ? "add" : l->v[i][0] == '-' ? "delete"
                                                                                                           : "update",
                                     "text", l->v[i] + 2));
        else
            printf("%s\n", l->v[i]);
    }
    for (size_t k = i; k < l->n; k++) {
        if (strstr(l->v[k], " differ after the write "))
            mismatches = strtoul(l->v[k], NULL, 10);
        else
            note = l->v[k];
    }
    if (call->g.json) {
        unsigned long n[4] = { 0 };
        sscanf(summary, "%lu added, %lu changed, %lu deleted, %lu unchanged", &n[0], &n[1], &n[2], &n[3]);
        json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:b,s:b,s:I}", "added", (json_int_t)n[0], "updated", (json_int_t)n[1],
                              "deleted", (json_int_t)n[2], "unchanged", (json_int_t)n[3], "dry_run",
                              ctl_has(call, "dry-run"), "written", strstr(summary, "written and read back") ||
                              strstr(summary, "WRITTEN"), "mismatches", (json_int_t)mismatches);
        if (o && note)
            json_object_set_new(o, "note", json_string(note));
        ctl_print_json(o);
        return;
    }
    printf("%s\n", summary);
    for (size_t k = i; k < l->n; k++)
        if (strstr(l->v[k], " differ after the write "))
            printf("%s\n", l->v[k]);
    if (note)
        printf("%s\n", note);
}

/* The panel's data through the panel-data actions of the site (through portierd when mode > 0, at sock); as_c3:
 * printed as `portierctl c3 HOST` prints it. */
static int site_data(struct ctl_call *call, const char *panel, int mode, const char *sock, bool as_c3)
{
    const struct ctl_c3_data_row *row = call->verb->data;
    bool list = row->what == CTL_C3_LIST || row->what == CTL_C3_EXPORT;
    struct csv rows = { 0 };
    const char *file = NULL;
    /* --readonly: the action refuses (and audits the attempt) before the rows are even read */
    bool refused_anyway = !list && call->g.readonly;
    if (!list && !refused_anyway && ctl_c3_request_rows(call, row, &rows, &file) < 0) {
        csv_free(&rows);
        return CTL_EXIT_USAGE;
    }
    char req[64];
    snprintf(req, sizeof req, "%s %s%s", c3_kind_name((enum c3_kind)row->kind), op_word(call, row),
             !list && ctl_has(call, "dry-run") ? " dry-run" : "");
    size_t len = 0;
    char *text = list || refused_anyway ? NULL : rows_text(&rows, &len);
    csv_free(&rows);
    if (!list && !refused_anyway && !text) {
        fprintf(stderr, "portierctl: out of memory\n");
        return CTL_EXIT_UNREACHABLE;
    }
    struct lines l = { 0 };
    struct ctl_site_run r = { .id = list ? ACTION_PANEL_DATA_GET : ACTION_PANEL_DATA, .target = panel,
                              .settings = req, .data = text, .len = len, .line = keep_line, .arg = &l, .quiet = true,
                              .status = ACTION_FAILED };
    int rc = mode < 0 ? CTL_EXIT_UNREACHABLE
             : mode > 0 ? ctl_daemon_run(call, sock, &r)
                        : ctl_site_run_direct(call, &r);
    free(text);
    if (mode < 0 || r.status == ACTION_DENIED || r.status == ACTION_REFUSED) {
        lines_free(&l);
        return rc;
    }
    if (r.status != ACTION_OK && l.n == 0) {
        lines_free(&l); /* said already (the panel is not connected, ...) */
        return rc;
    }
    if (r.status != ACTION_OK) {
        /* the driver's last line is the whole reason; refused rows ("line N: column: ...") are exit 2 */
        const char *why = l.v[l.n - 1];
        for (size_t i = 0; i + 1 < l.n; i++)
            printf("%s\n", l.v[i]);
        const char *msg = ctl_c3_print_error(as_c3 ? "portierctl c3" : "portierctl", file, why);
        bool refused = strncmp(why, "line ", 5) == 0 || strncmp(r.message, "line ", 5) == 0;
        if (as_c3 && call->g.json) {
            /* as direct mode says it; the panel's own error code stays in the daemon (its audit row) */
            json_t *o = json_pack("{s:s}", "error", msg);
            if (o && refused)
                json_object_set_new(o, "code", json_integer(C3_S_INVALID));
            ctl_print_json(o);
        }
        lines_free(&l);
        return refused ? CTL_EXIT_USAGE : rc != CTL_EXIT_OK ? rc : CTL_EXIT_DEVICE_ERROR;
    }
    if (list) {
        rc = print_list(call, row, &l);
    } else if (as_c3) {
        print_as_c3(call, &l, r.message);
        if (strstr(r.message, "READS BACK DIFFERENT"))
            rc = CTL_EXIT_DEVICE_ERROR;
    } else {
        for (size_t i = 0; i < l.n; i++) {
            if (call->g.json)
                ctl_print_json(json_pack("{s:s}", "change", l.v[i]));
            else
                printf("%s\n", l.v[i]);
        }
        if (call->g.json)
            ctl_print_json(json_pack("{s:s,s:s}", "panel", r.target, "result", r.message));
        else
            printf("%s\n", r.message);
    }
    lines_free(&l);
    return l.failed ? CTL_EXIT_UNREACHABLE : rc;
}

int ctl_c3_site_run(struct ctl_call *call)
{
    char sock[SITE_PATH_MAX];
    int mode = ctl_daemon_choose(&call->g, sock, sizeof sock);
    return site_data(call, ctl_str(call, "PANEL", ""), mode, sock, false);
}

int ctl_c3_data_via_daemon(struct ctl_call *call, struct ctl_daemon_device *dp)
{
    const struct ctl_c3_data_row *row = call->verb->data;
    if (row->kind < 0 || row->what == CTL_C3_TABLES || row->what == CTL_C3_TGET || row->what == CTL_C3_TSET ||
        row->what == CTL_C3_TDEL) {
        fprintf(stderr, "portierctl c3: the panel's tables by name are not read or written through portierd: its "
                        "users, cards, access, timezones and holidays are (portierctl c3 HOST users list ...)\n");
        return CTL_EXIT_USAGE;
    }
    char sock[SITE_PATH_MAX], panel[SITE_NAME_MAX];
    snprintf(sock, sizeof sock, "%s", ctl_daemon_device_socket(dp));
    snprintf(panel, sizeof panel, "%s", ctl_daemon_panel_name(dp));
    return site_data(call, panel, 1, sock, true);
}
