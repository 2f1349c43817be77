/* ctl_c3_data: `portierctl c3 HOST table ...`, `users`, `cards`, `access`, `timezones`, `holidays` (list, add,
 * set, delete, import, export) and `events --history`: the panel's data tables through drivers/c3/c3_store. */
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include <jansson.h>

#include "cli/ctl.h"
#include "cli/ctl_c3.h"
#include "cli/ctl_site.h"
#include "core/csv.h"
#include "drivers/c3/c3_catchup.h"
#include "drivers/c3/c3_data.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_params.h"
#include "drivers/c3/c3_store.h"
#include "drivers/c3/c3_tables.h"
#include "drivers/c3/c3_time.h"
#include "drivers/c3/c3_xfer.h"


struct job {
    struct ctl_c3_job base;
    struct ctl_call *call;
    const struct ctl_c3_data_row *row;
    struct c3_store_req req;
    struct csv rows;
    bool have_rows, csv_out;
    const char *file;      /* the rows' CSV file ("-": stdin); NULL: the command's arguments */
    char where_field[64];
    const char *where_value;
};

/* ---- output ---- */

const char *ctl_c3_print_error(const char *who, const char *file, const char *msg)
{
    /* "line N: " means a line of the file; rows from the arguments are named by their values */
    if (!file && strncmp(msg, "line ", 5) == 0 && strstr(msg, ": "))
        msg = strstr(msg, ": ") + 2;
    /* a file's text can hold control characters: shown as \xNN, never sent to the terminal */
    char shown[700];
    size_t at = 0;
    for (const unsigned char *p = (const unsigned char *)msg; *p && at + 5 < sizeof shown; p++)
        at += (size_t)(*p < 0x20 || *p == 0x7F ? snprintf(shown + at, sizeof shown - at, "\\x%02X", *p)
                                              : snprintf(shown + at, sizeof shown - at, "%c", *p));
    if (file)
        fprintf(stderr, "%s: %s: %s\n", who, strcmp(file, "-") == 0 ? "stdin" : file, shown);
    else
        fprintf(stderr, "%s: %s\n", who, shown);
    return msg;
}

/* UTF-8 character classes whatever the caller's locale (portierctl keeps "C"): the panel's names are UTF-8 when
 * they are text at all. (locale_t)0 when the system has no C.UTF-8: every character is then one cell wide. */
static locale_t utf8_locale(void)
{
    static locale_t loc;
    static bool tried;
    if (!tried) {
        tried = true;
        loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    }
    return loc;
}

/* A cell as the text table shows it: printable characters as they are, control characters and bytes that are no
 * UTF-8 as \xNN (never sent to the terminal); *width its display width in terminal cells. NULL without memory. */
static char *cell_shown(const char *s, size_t *width)
{
    size_t len = strlen(s), at = 0, cells = 0;
    char *out = malloc(4 * len + 1);
    if (!out)
        return NULL;
    locale_t loc = utf8_locale(), old = loc ? uselocale(loc) : (locale_t)0;
    mbstate_t st;
    memset(&st, 0, sizeof st);
    for (size_t i = 0; i < len;) {
        wchar_t wc;
        size_t n = loc ? mbrtowc(&wc, s + i, len - i, &st) : 1;
        int cw = 0;
        if (!loc)
            wc = (unsigned char)s[i], cw = wc >= 0x20 && wc < 0x7F ? 1 : -1;
        else if (n != (size_t)-1 && n != (size_t)-2 && n != 0)
            cw = wcwidth(wc);
        if (n == (size_t)-1 || n == (size_t)-2 || n == 0 || cw < 0 || wc < 0x20 || wc == 0x7F ||
            (!loc && wc >= 0x80)) {
            at += (size_t)sprintf(out + at, "\\x%02X", (unsigned char)s[i]);
            cells += 4;
            i++;
            memset(&st, 0, sizeof st);
            continue;
        }
        memcpy(out + at, s + i, n);
        at += n;
        cells += (size_t)cw;
        i += n;
    }
    out[at] = '\0';
    if (loc)
        uselocale(old);
    *width = cells;
    return out;
}

/* Columns aligned by display width (a double-width name takes two cells a character), two spaces apart. */
static void print_text_table(const struct csv *t)
{
    size_t w[CSV_FIELDS_MAX] = { 0 };
    size_t n = (t->nrows + 1) * t->ncols;
    char **shown = calloc(n ? n : 1, sizeof *shown);
    size_t *cw = calloc(n ? n : 1, sizeof *cw);
    for (size_t i = 0; shown && cw && i < n; i++) {
        size_t r = i / t->ncols, k = i % t->ncols;
        shown[i] = cell_shown(r == 0 ? t->header[k] : csv_cell(t, r - 1, k), &cw[i]);
        if (!shown[i]) {
            n = i; /* out of memory: what was made is freed below */
            break;
        }
        if (cw[i] > w[k])
            w[k] = cw[i];
    }
    if (!shown || !cw || n < (t->nrows + 1) * t->ncols) {
        fprintf(stderr, "portierctl c3: out of memory\n");
    } else {
        for (size_t i = 0; i < n; i++) {
            size_t k = i % t->ncols;
            fputs(shown[i], stdout);
            if (k + 1 < t->ncols)
                printf("%*s", (int)(w[k] - cw[i] + 2), "");
            else
                putchar('\n');
        }
    }
    for (size_t i = 0; shown && i < n; i++)
        free(shown[i]);
    free(shown);
    free(cw);
}

void ctl_c3_print_rows(const struct ctl_call *call, const struct csv *t, bool csv_out)
{
    if (call->g.json) {
        for (size_t r = 0; r < t->nrows; r++)
            ctl_print_json(c3_store_row_json(t, r));
    } else if (csv_out) {
        csv_write_row(stdout, (const char *const *)t->header, t->ncols);
        for (size_t r = 0; r < t->nrows; r++)
            csv_write_row(stdout, (const char *const *)(t->cells + r * t->ncols), t->ncols);
    } else {
        print_text_table(t);
    }
    fflush(stdout);
}

static void print_change(const struct ctl_call *call, const struct c3_store_result *r, const struct c3_change *c)
{
    if (call->g.json) {
        ctl_print_json(c3_store_change_json(r, c));
        return;
    }
    char line[1024];
    c3_store_change_text(r, c, line, sizeof line);
    printf("%s\n", line);
}

json_t *ctl_c3_summary_json(const char *what, json_t *summary)
{
    json_t *o = json_object();
    if (o && what)
        json_object_set_new(o, "part", json_string(what));
    const char *k;
    json_t *v;
    if (o && json_is_object(summary))
        json_object_foreach(summary, k, v)
            json_object_set(o, k, v);
    json_decref(summary);
    return o;
}

int ctl_c3_store_failed(const struct ctl_call *call, const char *who, const char *file, int err, const char *msg)
{
    if (file && err == C3_S_INVALID)
        ctl_refuse(); /* the file's rows, not the command line */
    /* the code first, as every refusal or failure portierctl prints, the console and portierd's results; not
     * for refused input (C3_S_INVALID), which the line and the column name */
    if (!file && strncmp(msg, "line ", 5) == 0 && strstr(msg, ": "))
        msg = strstr(msg, ": ") + 2;
    char coded[700];
    if (err && err != C3_S_INVALID && strncmp(msg, "(code ", 6) != 0) {
        snprintf(coded, sizeof coded, "(code %d) %s", err, msg);
        ctl_c3_print_error(who, file, coded);
    } else {
        ctl_c3_print_error(who, file, msg);
    }
    if (call->g.json) {
        json_t *o = json_object();
        json_object_set_new(o, "error", json_string(msg));
        json_object_set_new(o, "code", json_integer(err));
        ctl_print_json(o);
    }
    return ctl_c3_store_exit(err);
}

/* A failed request: the message (and its JSON), and the exit status. */
static int store_failed(const struct ctl_call *call, const char *file, const struct c3_store_result *r)
{
    return ctl_c3_store_failed(call, "portierctl c3", file, r->err, r->msg[0] ? r->msg : c3_session_strerror(r->err));
}

int ctl_c3_store_exit(int err)
{
    /* Refused input was checked before anything was sent: a usage error, like a bad argument. */
    return err == C3_S_INVALID ? CTL_EXIT_USAGE
           : err < 0 && err >= -99 ? CTL_EXIT_DEVICE_ERROR
           : err == C3_E_RANGE || err == C3_E_SYNTAX ? CTL_EXIT_DEVICE_ERROR
                                                     : CTL_EXIT_UNREACHABLE;
}

/* A change's rows and summary (what, when not NULL, names the part of a change of several: "user", "doors").
 * The exit status. */
static int print_changes(const struct ctl_call *call, const struct c3_store_result *r, bool dry_run, const char *what)
{
    for (size_t i = 0; i < r->diff->n; i++)
        print_change(call, r, &r->diff->v[i]);
    if (call->g.json) {
        ctl_print_json(ctl_c3_summary_json(what, c3_store_summary_json(r, dry_run)));
    } else {
        char summary[200];
        c3_store_summary(r, dry_run, summary, sizeof summary);
        printf("%s%s%s\n", what ? what : "", what ? ": " : "", summary);
        if (r->mismatches)
            printf("%zu row%s differ after the write (the firmware may have refused them silently)\n", r->mismatches,
                   r->mismatches == 1 ? "" : "s");
        if (r->note[0])
            printf("%s\n", r->note);
    }
    return r->mismatches ? CTL_EXIT_DEVICE_ERROR : CTL_EXIT_OK;
}

static void on_result(void *arg, const struct c3_store_result *r)
{
    struct job *j = arg;
    if (r->err) {
        ctl_c3_job_done(&j->base, store_failed(j->call, j->file, r));
        return;
    }
    if (r->rows) {
        ctl_c3_print_rows(j->call, r->rows, j->csv_out);
        ctl_c3_job_done(&j->base, CTL_EXIT_OK);
        return;
    }
    ctl_c3_job_done(&j->base, print_changes(j->call, r, j->req.dry_run, NULL));
}

static int start(struct ctl_c3_job *base, struct c3_session *s)
{
    struct job *j = (struct job *)base;
    struct c3_xfer_opts o = { .prio = C3_PRIO_OPERATOR };
    int err;
    j->req.rows = j->have_rows ? &j->rows : NULL;
    return c3_store_run(s, &j->req, &o, on_result, j, &err) ? 0 : err;
}

/* ---- the command line into a request ---- */

static int read_file(const char *path, struct csv *out)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "portierctl c3: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *text = NULL;
    size_t len = 0, cap = 0, n;
    char buf[65536];
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (len + n > cap) {
            cap = (len + n) * 2;
            char *t = realloc(text, cap);
            if (!t) {
                free(text);
                if (f != stdin)
                    fclose(f);
                return -1;
            }
            text = t;
        }
        memcpy(text + len, buf, n);
        len += n;
    }
    if (f != stdin)
        fclose(f);
    char err[256];
    int rc = csv_parse(text ? text : "", len, out, err, sizeof err);
    free(text);
    if (rc < 0) {
        fprintf(stderr, "portierctl c3: %s: %s\n", path, err);
        ctl_refuse(); /* a malformed file, not a bad command line */
    }
    return rc;
}

/* One row from the command's arguments and options: the kind's columns that were given. */
static int one_row(const struct ctl_call *call, int kind, struct csv *rows)
{
    const char *const *cols;
    size_t nc = c3_kind_columns((enum c3_kind)kind, &cols);
    const char *names[16], *vals[16];
    size_t n = 0;
    for (size_t k = 0; k < nc && n < 16; k++) {
        /* arguments are named in upper case in the syntax, options as the columns */
        char up[32];
        size_t i = 0;
        for (; cols[k][i] && i + 1 < sizeof up; i++)
            up[i] = (char)(cols[k][i] >= 'a' && cols[k][i] <= 'z' ? cols[k][i] - 32 : cols[k][i]);
        up[i] = '\0';
        const char *v = ctl_str(call, up, NULL);
        if (!v) /* --password is the panel's communication password: the user's is --keypad */
            v = ctl_str(call, strcmp(cols[k], "password") == 0 ? "keypad" : cols[k], NULL);
        if (!v)
            continue;
        names[n] = cols[k];
        vals[n++] = v;
    }
    return csv_init(rows, names, n) < 0 || csv_add(rows, vals, 1) < 0 ? -1 : 0;
}

/* delete KEY...: one row per word of the key argument (kinds with a one-column key; the site's rows take one). */
static int key_rows(const struct ctl_call *call, const char *col, struct csv *rows)
{
    const char *names[1] = { col };
    if (csv_init(rows, names, 1) < 0)
        return -1;
    if (call->nrest == 0) {
        char up[32];
        size_t i = 0;
        for (; col[i] && i + 1 < sizeof up; i++)
            up[i] = (char)(col[i] >= 'a' && col[i] <= 'z' ? col[i] - 32 : col[i]);
        up[i] = '\0';
        const char *v[1] = { ctl_str(call, up, "") };
        return csv_add(rows, v, 1);
    }
    for (size_t i = 0; i < call->nrest; i++) {
        const char *v[1] = { call->restv[i] };
        if (csv_add(rows, v, i + 1) < 0)
            return -1;
    }
    return 0;
}

int ctl_c3_request_rows(const struct ctl_call *call, const struct ctl_c3_data_row *row, struct csv *rows,
                        const char **file)
{
    *file = NULL;
    switch (row->what) {
    case CTL_C3_ADD:
    case CTL_C3_SET:
        return one_row(call, row->kind, rows);
    case CTL_C3_DEL: {
        const char *const *keys;
        size_t nk = c3_kind_keys((enum c3_kind)row->kind, &keys);
        return nk == 1 ? key_rows(call, keys[0], rows) : one_row(call, row->kind, rows);
    }
    case CTL_C3_IMPORT:
    case CTL_C3_TSET:
        *file = ctl_str(call, "FILE", "-");
        return read_file(*file, rows);
    default:
        return 0;
    }
}

/* ---- users add|set PIN ... --doors LIST [--timezone ID]: the user, then the user's doors ----
 * The doors are checked with the console's user editor's rule (c3_userdata: door numbers against the panel's
 * LockCount, the time zone against the panel's time zones) before anything is written; then the user's row is
 * written (or, with --dry-run, its difference shown), then the user's access rights are replaced by one row per
 * door. A new user's rights cannot be checked by the panel in a dry run (the user is not there yet): they are
 * listed as they would be added. */

struct djob {
    struct ctl_c3_job base;
    struct ctl_call *call;
    struct c3_session *s;
    struct csv user, access;
    bool adding, dry;
    char pin[16], tz[16];
    int exit;
};

static void dj_store(struct djob *j, const struct c3_store_req *rq, c3_store_cb cb)
{
    struct c3_xfer_opts o = { .prio = C3_PRIO_OPERATOR };
    int err;
    if (!c3_store_run(j->s, rq, &o, cb, j, &err))
        ctl_c3_job_fail(&j->base, err);
}

static void dj_access(void *arg, const struct c3_store_result *r)
{
    struct djob *j = arg;
    if (r->err) {
        /* the user's row was written (or shown) above: say the doors were not */
        fprintf(stderr, "portierctl c3: the user's doors were not %s\n", j->dry ? "checked" : "written");
        ctl_c3_job_done(&j->base, store_failed(j->call, NULL, r));
        return;
    }
    int rc = print_changes(j->call, r, j->dry, "doors");
    ctl_c3_job_done(&j->base, j->exit != CTL_EXIT_OK ? j->exit : rc);
}

static void dj_user(void *arg, const struct c3_store_result *r)
{
    struct djob *j = arg;
    if (r->err) {
        ctl_c3_job_done(&j->base, store_failed(j->call, NULL, r));
        return;
    }
    j->exit = print_changes(j->call, r, j->dry, "user");
    if (j->dry && r->diff->adds) {
        /* a new user: the panel holds no such user to check rights against; they were checked here */
        struct c3_diff d = { .adds = j->access.nrows };
        struct c3_store_result shown = { .diff = &d, .msg = "", .note = "" };
        char line[120];
        for (size_t i = 0; i < j->access.nrows; i++) {
            c3_doors_added_text(&j->access, i, line, sizeof line);
            if (j->call->g.json)
                ctl_print_json(json_pack("{s:s,s:o}", "change", "add", "row", c3_store_row_json(&j->access, i)));
            else
                printf("%s\n", line);
        }
        ctl_c3_job_done(&j->base, j->exit != CTL_EXIT_OK ? j->exit : print_changes(j->call, &shown, true, "doors"));
        return;
    }
    struct c3_store_req rq = { .op = C3_STORE_REPLACE, .kind = C3_KIND_ACCESS, .rows = &j->access,
                               .where_field = "pin", .where_value = j->pin, .dry_run = j->dry };
    dj_store(j, &rq, dj_access);
}

static void dj_write_user(struct djob *j)
{
    struct c3_store_req rq = { .op = j->adding ? C3_STORE_ADD : C3_STORE_SET, .kind = C3_KIND_USERS, .rows = &j->user,
                               .dry_run = j->dry };
    dj_store(j, &rq, dj_user);
}

static void dj_timezones(void *arg, const struct c3_store_result *r)
{
    struct djob *j = arg;
    if (r->err) {
        ctl_c3_job_done(&j->base, store_failed(j->call, NULL, r));
        return;
    }
    char err[200];
    if (c3_doors_tz_check(j->tz, r->rows, err, sizeof err) < 0) {
        fprintf(stderr, "portierctl c3: --timezone: %s; nothing was written\n", err);
        ctl_c3_job_done(&j->base, CTL_EXIT_USAGE);
        return;
    }
    dj_write_user(j);
}

static void dj_locks(void *arg, int err, const uint8_t *data, size_t len)
{
    struct djob *j = arg;
    if (err) {
        ctl_c3_job_fail(&j->base, err);
        return;
    }
    struct c3_param_span items[2];
    int k = c3_params_parse((const char *)data, len, items, 2);
    const struct c3_param_span *v = k > 0 ? c3_params_find(items, (size_t)k, "LockCount") : NULL;
    uint32_t doors;
    if (!v || c3_params_value_u32(v, &doors) < 0 || doors < 1 || doors > C3_DOORS_MAX)
        doors = C3_DOORS_MAX; /* as the panel-data checks: a firmware that does not say has 4 */
    unsigned dv[C3_DOORS_MAX];
    char why[160];
    int nd = c3_doors_parse(ctl_c3_doors_list(j->call), doors, j->call->target, dv, why, sizeof why);
    if (nd < 0) {
        fprintf(stderr, "portierctl c3: --doors: %s; nothing was written\n", why);
        ctl_c3_job_done(&j->base, CTL_EXIT_USAGE);
        return;
    }
    if (c3_doors_access(j->pin, dv, (size_t)nd, j->tz, &j->access) < 0) {
        ctl_c3_job_fail(&j->base, C3_S_NOMEM);
        return;
    }
    if (nd == 0) {
        dj_write_user(j); /* no doors: the user's rights are removed, no time zone is named */
        return;
    }
    struct c3_store_req rq = { .op = C3_STORE_LIST, .kind = C3_KIND_TIMEZONES };
    dj_store(j, &rq, dj_timezones);
}

static int dj_start(struct ctl_c3_job *base, struct c3_session *s)
{
    struct djob *j = (struct djob *)base;
    j->s = s;
    static const char lc[] = "LockCount";
    struct c3_xfer_opts o = { .prio = C3_PRIO_OPERATOR };
    int err;
    return c3_xfer_get(s, C3_CMD_GET_PARAM, lc, sizeof lc - 1, &o, dj_locks, j, &err) ? 0 : err;
}

static int doors_run(struct ctl_call *call, const struct ctl_c3_data_row *row)
{
    struct djob j = { .base = { .start = dj_start }, .call = call, .adding = row->what == CTL_C3_ADD,
                      .dry = ctl_has(call, "dry-run") };
    snprintf(j.pin, sizeof j.pin, "%lld", ctl_num(call, "PIN", 0));
    snprintf(j.tz, sizeof j.tz, "%lld", ctl_num(call, "timezone", 1));
    const char *file;
    if (ctl_c3_request_rows(call, row, &j.user, &file) < 0) {
        csv_free(&j.user);
        return CTL_EXIT_USAGE;
    }
    int rc = ctl_c3_run_job(call, &j.base);
    csv_free(&j.user);
    csv_free(&j.access);
    return rc;
}

const char *ctl_c3_doors_list(const struct ctl_call *call)
{
    const char *v = ctl_str(call, "doors", "");
    return strcmp(v, "none") == 0 ? "" : v;
}

int ctl_c3_doors_check(const struct ctl_call *call, const struct ctl_c3_data_row *row)
{
    bool doors = ctl_str(call, "doors", NULL) != NULL;
    if (!doors && ctl_str(call, "timezone", NULL)) {
        fprintf(stderr, "portierctl: --timezone is the time zone of the doors given with --doors\n");
        return -1;
    }
    return doors && row->kind == C3_KIND_USERS && (row->what == CTL_C3_ADD || row->what == CTL_C3_SET);
}

static int c3_data_run(struct ctl_call *call)
{
    struct ctl_daemon_device *dp;
    int via = ctl_c3_daemon_panel(call, &dp);
    if (via == CTL_EXIT_OK) {
        via = ctl_c3_data_via_daemon(call, dp);
        ctl_daemon_panel_close(dp);
    }
    if (via >= 0)
        return via;
    struct job j = { .base = { .start = start }, .call = call, .row = call->verb->data };
    const struct ctl_c3_data_row *row = j.row;
    int doors = ctl_c3_doors_check(call, row);
    if (doors < 0)
        return CTL_EXIT_USAGE;
    if (doors)
        return doors_run(call, row);
    j.req.kind = row->kind;
    j.req.dry_run = ctl_has(call, "dry-run");
    j.csv_out = ctl_has(call, "csv") || row->what == CTL_C3_EXPORT;
    const char *where = ctl_str(call, "where", NULL);
    if (where) {
        const char *eq = strchr(where, '=');
        snprintf(j.where_field, sizeof j.where_field, "%.*s", (int)(eq - where), where);
        j.req.where_field = j.where_field;
        j.req.where_value = eq + 1;
    }
    int rc = 0;
    switch (row->what) {
    case CTL_C3_TABLES: j.req.op = C3_STORE_TABLES; break;
    case CTL_C3_TGET: j.req.op = C3_STORE_LIST; j.req.table = ctl_str(call, "NAME", ""); break;
    case CTL_C3_TSET:
        j.req.op = C3_STORE_SET;
        j.req.table = ctl_str(call, "NAME", "");
        break;
    case CTL_C3_TDEL: j.req.op = C3_STORE_DELETE; j.req.table = ctl_str(call, "NAME", ""); break;
    case CTL_C3_LIST:
    case CTL_C3_EXPORT: j.req.op = C3_STORE_LIST; break;
    case CTL_C3_ADD: j.req.op = C3_STORE_ADD; break;
    case CTL_C3_SET: j.req.op = C3_STORE_SET; break;
    case CTL_C3_DEL: j.req.op = C3_STORE_DELETE; break;
    case CTL_C3_IMPORT: j.req.op = ctl_has(call, "merge") ? C3_STORE_SET : C3_STORE_REPLACE; break;
    }
    if (row->what != CTL_C3_TABLES && row->what != CTL_C3_TGET && row->what != CTL_C3_TDEL &&
        row->what != CTL_C3_LIST && row->what != CTL_C3_EXPORT) {
        rc = ctl_c3_request_rows(call, row, &j.rows, &j.file);
        j.have_rows = rc == 0;
    }
    if (rc < 0) {
        csv_free(&j.rows);
        return CTL_EXIT_USAGE;
    }
    rc = ctl_c3_run_job(call, &j.base);
    csv_free(&j.rows);
    return rc;
}

/* ---- events --history ---- */

struct hist {
    struct ctl_c3_job base;
    struct ctl_call *call;
    struct c3_session *s;
    struct c3_xfer *x;
    struct c3_txn_fields tf;
    uint32_t since;          /* packed panel time, 0 = everything */
    bool bar;
    size_t shown;
};

static void progress(void *arg, size_t done, size_t total)
{
    struct hist *h = arg;
    if (!h->bar || total == 0)
        return;
    int width = 40, filled = (int)(done * (size_t)width / total);
    fprintf(stderr, "\rreading the panel's events [%.*s%*s] %3zu%% %zu/%zu kB", filled,
            "########################################", width - filled, "", done * 100 / total, done / 1024,
            total / 1024);
    if (done == total)
        fprintf(stderr, "\n");
}

static void print_txn(struct hist *h, const struct c3_txn *t)
{
    struct event ev;
    c3_catchup_event_fill(&ev, t);
    char dt[C3_TIME_ISO_LEN];
    c3_time_format(t->time, 'T', dt, sizeof dt);
    if (h->call->g.json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("event"));
        json_object_set_new(o, "time", json_string(dt));
        json_object_set_new(o, "door", json_integer(t->door));
        json_object_set_new(o, "event", json_integer(t->type));
        json_object_set_new(o, "event_name", json_string(ev.code_name));
        json_object_set_new(o, "severity", json_string(event_severity_name(ev.severity)));
        json_object_set_new(o, "verify", json_integer(t->verify));
        json_object_set_new(o, "inout", json_integer(t->inout));
        json_object_set_new(o, "card", json_integer(t->card));
        json_object_set_new(o, "pin", json_integer(t->pin));
        if (t->index >= 0)
            json_object_set_new(o, "index", json_integer(t->index));
        json_object_set_new(o, "stored", json_true());
        ctl_print_json(o);
    } else {
        char idx[24] = "";
        if (t->index >= 0)
            snprintf(idx, sizeof idx, "#%" PRId64 "  ", t->index);
        printf("%s  %sdoor %u  %-7s  %s\n", dt, idx, t->door, event_severity_name(ev.severity), ev.text);
    }
}

static void hist_count(struct hist *h)
{
    fflush(stdout);
    if (!h->call->g.json)
        fprintf(stderr, "%zu event%s\n", h->shown, h->shown == 1 ? "" : "s");
}

/* One record as portierd's driver gives it: {"time": PACKED, "door", "event", "verify", "inout", "card", "pin",
 * "index"} (numbers). */
static void hist_line(void *arg, const json_t *txn)
{
    struct hist *h = arg;
    struct c3_txn t;
    if (c3_txn_from_json(txn, &t) < 0) {
        fprintf(stderr, "portierctl c3: portierd's answer: not an event\n");
        return;
    }
    if (t.time >= h->since) {
        print_txn(h, &t);
        h->shown++;
    }
}

static void hist_rows(void *arg, int err, const uint8_t *data, size_t len)
{
    struct hist *h = arg;
    h->x = NULL;
    if (err) {
        ctl_c3_job_fail(&h->base, err);
        return;
    }
    struct c3_data_reader rd;
    if (len && c3_data_reader_init(&rd, data, len) == 0) {
        struct c3_data_value v[255];
        while (c3_data_reader_next(&rd, v, 255) == 1) {
            struct c3_txn t;
            if (c3_txn_decode(&rd, v, &h->tf, &t) == 0 && t.time >= h->since) {
                print_txn(h, &t);
                h->shown++;
            }
        }
    }
    hist_count(h);
    ctl_c3_job_done(&h->base, CTL_EXIT_OK);
}

static void hist_struct(void *arg, int err, const uint8_t *data, size_t len)
{
    struct hist *h = arg;
    h->x = NULL;
    if (err) {
        ctl_c3_job_fail(&h->base, err);
        return;
    }
    struct c3_buf b = { 0 };
    if (c3_txn_history_query((const char *)data, len, &h->tf, &b) < 0) {
        fprintf(stderr, "portierctl c3: this panel has no transaction table\n");
        ctl_c3_job_done(&h->base, CTL_EXIT_DEVICE_ERROR);
        return;
    }
    struct c3_xfer_opts o = { .prio = C3_PRIO_OPERATOR, .progress = progress, .progress_arg = h };
    h->x = c3_xfer_get(h->s, C3_CMD_GET_DATA, b.p, b.len, &o, hist_rows, h, &err);
    c3_buf_free(&b);
    if (!h->x)
        ctl_c3_job_fail(&h->base, err);
}

static int hist_start(struct ctl_c3_job *base, struct c3_session *s)
{
    struct hist *h = (struct hist *)base;
    h->s = s;
    struct c3_xfer_opts o = { .prio = C3_PRIO_OPERATOR };
    int err;
    h->x = c3_xfer_get(s, C3_CMD_TABLE_STRUCT, NULL, 0, &o, hist_struct, h, &err);
    return h->x ? 0 : err;
}

int ctl_c3_history_run(struct ctl_call *call)
{
    struct hist h = { .base = { .start = hist_start }, .call = call, .bar = isatty(2) && !call->g.json };
    if (ctl_has(call, "since")) {
        /* The panel's clock is local time: the time given is this host's local time. */
        time_t t = (time_t)(ctl_num(call, "since", 0) / 1000000);
        if (c3_time_from_time_t(t, &h.since) < 0) {
            fprintf(stderr, "portierctl c3: --since: outside the panel's calendar (2000-2133)\n");
            return CTL_EXIT_USAGE;
        }
    }
    if (ctl_has(call, "follow") || ctl_has(call, "count")) {
        fprintf(stderr, "portierctl c3: events --history reads the stored events: without --follow or --count\n");
        return CTL_EXIT_USAGE;
    }
    struct ctl_daemon_device *dp;
    int via = ctl_c3_daemon_panel(call, &dp);
    if (via == CTL_EXIT_OK) {
        /* the same plain read through portierd (its catch-up keeps its own position) */
        char req[40];
        snprintf(req, sizeof req, h.since ? "history since=%" PRIu32 : "history", h.since);
        int rc = ctl_c3_history_via_daemon(call, dp, req, hist_line, progress, &h);
        ctl_daemon_panel_close(dp);
        if (rc == CTL_EXIT_OK)
            hist_count(&h);
        return rc;
    }
    if (via > 0)
        return via;
    return ctl_c3_run_job(call, &h.base);
}

/* ---- the rows ---- */

static int check_where(const char *v, char *err, size_t errlen)
{
    const char *eq = strchr(v, '=');
    if (!eq || eq == v || eq - v >= 64)
        return snprintf(err, errlen, "'%.40s' is not FIELD=VALUE", v), -1;
    return 0;
}

static int check_date(const char *v, char *err, size_t errlen)
{
    uint32_t d;
    if (c3_date_parse(v, &d) < 0)
        return snprintf(err, errlen, "'%.20s' is not a date YYYY-MM-DD (2000-2099)", v), -1;
    return 0;
}

static int check_tz_day(const char *v, char *err, size_t errlen)
{
    uint32_t w[3];
    return c3_tz_day_parse(v, w, err, errlen);
}

#define R(w, k) { CTL_C3_##w, k }
const struct ctl_c3_data_row CD_TABLES = R(TABLES, -1), CD_TGET = R(TGET, -1), CD_TSET = R(TSET, -1),
                             CD_TDEL = R(TDEL, -1);
#define KIND_ROWS(k, K)                                                                                              \
    const struct ctl_c3_data_row CD_##K##_LIST = R(LIST, k), CD_##K##_ADD = R(ADD, k), CD_##K##_SET = R(SET, k), \
                                 CD_##K##_DEL = R(DEL, k), CD_##K##_IMPORT = R(IMPORT, k),                         \
                                 CD_##K##_EXPORT = R(EXPORT, k);
KIND_ROWS(C3_KIND_USERS, USERS)
KIND_ROWS(C3_KIND_CARDS, CARDS)
KIND_ROWS(C3_KIND_ACCESS, ACCESS)
KIND_ROWS(C3_KIND_TIMEZONES, TZ)
KIND_ROWS(C3_KIND_HOLIDAYS, HOL)
#undef KIND_ROWS
#undef R

#define U32(n, h) { .name = n, .type = CTL_UINT, .min = 1, .max = 4294967295LL, .help = h }
#define DRY { .name = "dry-run", .key = 'n', .type = CTL_FLAG, .help = "check and show the difference, write nothing" }

const struct ctl_def ctl_c3_o_list[] = { { .name = "csv", .type = CTL_FLAG, .help = "CSV instead of a table" }, { 0 } };
const struct ctl_def ctl_c3_o_tget[] = {
    { .name = "where", .type = CTL_CUSTOM, .check = check_where, .sample = "id=1", .meta = "FIELD=VALUE",
      .help = "only these rows" },
    { .name = "csv", .type = CTL_FLAG, .help = "CSV instead of a table" }, { 0 } };
const struct ctl_def ctl_c3_o_tdel[] = {
    { .name = "where", .type = CTL_CUSTOM, .check = check_where, .sample = "id=1", .meta = "FIELD=VALUE",
      .help = "the rows to delete" },
    DRY, { 0 } };
const struct ctl_def ctl_c3_o_dry[] = { DRY, { 0 } };
const struct ctl_def ctl_c3_o_import[] = {
    DRY, { .name = "merge", .type = CTL_FLAG, .help = "insert or update only; keep what the file does not list" },
    { 0 } };
const struct ctl_def ctl_c3_a_table[] = { { .name = "NAME", .type = CTL_TEXT, .max = 31, .help = "table name" },
                                          { 0 } };
const struct ctl_def ctl_c3_a_table_file[] = {
    { .name = "NAME", .type = CTL_TEXT, .max = 31, .help = "table name" },
    { .name = "FILE", .type = CTL_TEXT, .max = 4095, .help = "CSV file with a header of field names ('-': stdin)" },
    { 0 } };
const struct ctl_def ctl_c3_a_file[] = {
    { .name = "FILE", .type = CTL_TEXT, .max = 4095, .help = "CSV file with the export's header ('-': stdin)" },
    { 0 } };
const struct ctl_def ctl_c3_a_pin[] = { U32("PIN", "user PIN"), { 0 } };
const struct ctl_def ctl_c3_a_pins[] = {
    { .name = "PIN", .type = CTL_UINT, .min = 1, .max = 4294967295LL, .flags = CTL_REST, .help = "user PINs" },
    { 0 } };
const struct ctl_def ctl_c3_o_user[] = {
    { .name = "card", .type = CTL_UINT, .min = 0, .max = 4294967295LL, .meta = "N", .help = "card number (0: none)" },
    { .name = "keypad", .type = CTL_TEXT, .max = 8, .meta = "DIGITS",
      .help = "keypad password (the password column), up to 8 digits" },
    { .name = "group", .type = CTL_UINT, .min = 0, .max = 255, .meta = "N", .help = "group" },
    { .name = "start", .type = CTL_CUSTOM, .check = check_date, .sample = "2026-01-01", .meta = "DATE", .help = "valid from YYYY-MM-DD" },
    { .name = "end", .type = CTL_CUSTOM, .check = check_date, .sample = "2026-12-31", .meta = "DATE", .help = "valid until YYYY-MM-DD" },
    { .name = "name", .type = CTL_TEXT, .max = 10, .meta = "TEXT", .help = "name, up to 10 characters" },
    { .name = "super", .type = CTL_UINT, .min = 0, .max = 1, .meta = "0|1", .help = "super user" },
    { .name = "doors", .type = CTL_TEXT, .max = 16, .meta = "\"1 2\"",
      .help = "the doors the user may open (numbers; they replace the user's rights; none: no door)" },
    { .name = "timezone", .type = CTL_UINT, .min = 1, .max = 65535, .meta = "ID",
      .help = "the time zone of those doors (default 1, the panel's first)" },
    DRY, { 0 } };
const struct ctl_def ctl_c3_a_card_pin[] = { U32("CARD", "card number"), U32("PIN", "the user's PIN"), { 0 } };
const struct ctl_def ctl_c3_a_cards[] = {
    { .name = "CARD", .type = CTL_UINT, .min = 1, .max = 4294967295LL, .flags = CTL_REST, .help = "card numbers" },
    { 0 } };
const struct ctl_def ctl_c3_a_access[] = {
    U32("PIN", "user PIN"), { .name = "DOOR", .type = CTL_UINT, .min = 1, .max = 4, .help = "door number" },
    { .name = "TIMEZONE", .type = CTL_UINT, .min = 1, .max = 65535, .help = "time zone id" }, { 0 } };
const struct ctl_def ctl_c3_a_tz[] = {
    { .name = "ID", .type = CTL_UINT, .min = 1, .max = 65535, .help = "time zone id" }, { 0 } };
const struct ctl_def ctl_c3_a_tzs[] = {
    { .name = "ID", .type = CTL_UINT, .min = 1, .max = 65535, .flags = CTL_REST, .help = "time zone ids" }, { 0 } };
#define DAY(n, h)                                                                                              \
    { .name = n, .type = CTL_CUSTOM, .check = check_tz_day, .sample = "08:00-17:00", .meta = "\"HH:MM-HH:MM ...\"", \
      .help = h }
const struct ctl_def ctl_c3_o_tz[] = {
    DAY("sun", "Sunday: up to 3 intervals, separated by spaces"), DAY("mon", "Monday"), DAY("tue", "Tuesday"),
    DAY("wed", "Wednesday"), DAY("thu", "Thursday"), DAY("fri", "Friday"), DAY("sat", "Saturday"),
    DAY("hol1", "holidays of type 1"), DAY("hol2", "holidays of type 2"), DAY("hol3", "holidays of type 3"), DRY, { 0 } };
#undef DAY
const struct ctl_def ctl_c3_a_date[] = {
    { .name = "DATE", .type = CTL_CUSTOM, .check = check_date, .sample = "2026-12-24", .help = "YYYY-MM-DD" }, { 0 } };
const struct ctl_def ctl_c3_a_dates[] = {
    { .name = "DATE", .type = CTL_CUSTOM, .check = check_date, .flags = CTL_REST, .sample = "2026-12-24",
      .help = "dates YYYY-MM-DD" },
    { 0 } };
const struct ctl_def ctl_c3_o_hol[] = {
    { .name = "type", .type = CTL_UINT, .min = 1, .max = 3, .meta = "N", .help = "holiday type 1-3 (default 1)" },
    { .name = "loop", .type = CTL_CHOICE, .choices = "yearly|once",
      .help = "every year or this date only (default once)" },
    DRY, { 0 } };

/* The site's rows: the same arguments, then the panel by its configured name. */
#define PANEL { .name = "PANEL", .type = CTL_TEXT, .max = 63, .help = "the C3 panel, by its configured name" }
const struct ctl_def ctl_c3_s_panel[] = { PANEL, { 0 } };
const struct ctl_def ctl_c3_s_file[] = {
    { .name = "FILE", .type = CTL_TEXT, .max = 4095, .help = "CSV file with the export's header ('-': stdin)" },
    PANEL, { 0 } };
const struct ctl_def ctl_c3_s_pin[] = { U32("PIN", "user PIN"), PANEL, { 0 } };
const struct ctl_def ctl_c3_s_card_pin[] = { U32("CARD", "card number"), U32("PIN", "the user's PIN"), PANEL,
                                             { 0 } };
const struct ctl_def ctl_c3_s_card[] = { U32("CARD", "card number"), PANEL, { 0 } };
const struct ctl_def ctl_c3_s_access[] = {
    U32("PIN", "user PIN"), { .name = "DOOR", .type = CTL_UINT, .min = 1, .max = 4, .help = "door number" },
    { .name = "TIMEZONE", .type = CTL_UINT, .min = 1, .max = 65535, .help = "time zone id" }, PANEL, { 0 } };
const struct ctl_def ctl_c3_s_tz[] = {
    { .name = "ID", .type = CTL_UINT, .min = 1, .max = 65535, .help = "time zone id" }, PANEL, { 0 } };
const struct ctl_def ctl_c3_s_date[] = {
    { .name = "DATE", .type = CTL_CUSTOM, .check = check_date, .sample = "2026-12-24", .help = "YYYY-MM-DD" }, PANEL,
    { 0 } };
#undef PANEL
#undef DRY
#undef U32

int ctl_c3_data_verb_run(struct ctl_call *call) { return c3_data_run(call); }
