/* pane_files: the file view of one NiX1 slave inside the Slaves pane: the files it holds (Qi), a file's
 * content (Qg), put a local file with packet progress, delete, and provisioning from the bus's server files.
 * Everything runs through the NiX1 adapter on the loop; put, delete and provisioning are audited actions. */
#include "tui/pane_files.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curses.h>

#include "core/action.h"
#include "core/device.h"
#include "core/grow.h"
#include "tui/keys.h"

#define FV_PUT_MAX (256u * 1024u) /* a slave file: about 13 minutes at 9600 baud */
#define FV_LOG_MAX 200

struct fv_file {
    char name[13];
    unsigned long long size;
};

struct files_view {
    struct console *c;
    bool open, dead;
    unsigned refs;             /* callbacks still to come */
    unsigned gen;              /* which opening a read belongs to */
    size_t bus, slave, device;
    char name[64], addr[24];
    /* the list */
    bool listing;
    char list_note[200];
    struct fv_file *files;
    size_t nfiles, sel, top;
    int rows;                  /* list rows shown last time */
    /* the viewer */
    bool viewing, reading;
    char vname[13];
    char *text;
    size_t tlen, vtop, vlines;
    char view_note[200];
    /* the running operation (put, delete, provisioning): one at a time */
    bool busy;
    char op[96];
    unsigned pk_done, pk_total;
    char status[240];
    enum theme_role status_role;
    char (*log)[160];
    size_t nlog;
    /* put dialog */
    char put_path[256];
};

struct fv_ref {
    struct files_view *v;
    unsigned gen;
};

static struct fv_ref *ref_new(struct files_view *v)
{
    struct fv_ref *r = calloc(1, sizeof *r);
    if (r) {
        r->v = v;
        r->gen = v->gen;
        v->refs++;
    }
    return r;
}

/* Drop a callback's reference; true when the view is still shown (and the result is for its opening). */
static bool ref_done(struct fv_ref *r, bool final, bool *same)
{
    struct files_view *v = r->v;
    *same = !v->dead && v->open && r->gen == v->gen;
    if (!final)
        return !v->dead;
    v->refs--;
    bool alive = !v->dead;
    if (v->dead && v->refs == 0) {
        free(v->files);
        free(v->text);
        free(v->log);
        free(v);
    }
    free(r);
    return alive;
}

struct files_view *files_view_new(struct console *c)
{
    struct files_view *v = calloc(1, sizeof *v);
    if (v)
        v->c = c;
    return v;
}

void files_view_free(struct files_view *v)
{
    if (!v)
        return;
    v->dead = true;
    if (v->refs)
        return; /* the last callback frees it */
    free(v->files);
    free(v->text);
    free(v->log);
    free(v);
}

bool files_view_is_open(const struct files_view *v) { return v && v->open; }

static void log_line(struct files_view *v, const char *line)
{
    if (!v->log)
        v->log = calloc(FV_LOG_MAX, sizeof *v->log);
    if (!v->log)
        return;
    if (v->nlog == FV_LOG_MAX) {
        memmove(v->log, v->log + 1, (FV_LOG_MAX - 1) * sizeof *v->log);
        v->nlog--;
    }
    snprintf(v->log[v->nlog++], sizeof v->log[0], "%s", line);
}

/* ---- reads ---- */

static void list_done(void *ctx, const char *text, size_t len, const char *error)
{
    bool same;
    struct fv_ref *r = ctx;
    struct files_view *v = r->v;
    if (ref_done(r, false, &same) && same) {
        v->listing = false;
        free(v->files);
        v->files = NULL;
        v->nfiles = 0;
        size_t cap = 0;
        for (const char *p = text, *end = text ? text + len : NULL; p && p < end;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
            const char *tab = memchr(p, '\t', l);
            if (tab && tab > p && (size_t)(tab - p) < sizeof v->files[0].name) {
                struct fv_file *nf = grow_array(v->files, v->nfiles, &cap, sizeof *nf, 16);
                if (!nf)
                    break;
                v->files = nf;
                struct fv_file *f = &v->files[v->nfiles++];
                snprintf(f->name, sizeof f->name, "%.*s", (int)(tab - p), p);
                f->size = strtoull(tab + 1, NULL, 10);
            }
            p += l + 1;
        }
        if (v->sel >= v->nfiles)
            v->sel = v->nfiles ? v->nfiles - 1 : 0;
        if (error)
            snprintf(v->list_note, sizeof v->list_note, "%zu file(s) read; not all extensions: %s", v->nfiles, error);
        else
            snprintf(v->list_note, sizeof v->list_note, "%zu file(s) (extensions TXT and the user/unit letters)",
                     v->nfiles);
        v->c->dirty = true;
    }
    ref_done(r, true, &same);
}

static void read_list(struct files_view *v)
{
    char err[160] = "";
    struct fv_ref *r = ref_new(v);
    v->listing = true;
    snprintf(v->list_note, sizeof v->list_note, "Reading the slave's files...");
    if (r && device_slave_files(v->c->site, v->device, v->slave, list_done, r, err, sizeof err) == 0)
        return;
    v->listing = false;
    snprintf(v->list_note, sizeof v->list_note, "The files cannot be read: %s", r ? err : "out of memory");
    if (r) { /* nothing follows */
        v->refs--;
        free(r);
    }
}

static size_t count_lines(const char *t, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += t[i] == '\n';
    return n + (len && t[len - 1] != '\n');
}

static void get_done(void *ctx, const char *text, size_t len, const char *error)
{
    bool same;
    struct fv_ref *r = ctx;
    struct files_view *v = r->v;
    if (ref_done(r, false, &same) && same && v->viewing) {
        v->reading = false;
        free(v->text);
        v->text = NULL;
        v->tlen = 0;
        if (text) {
            v->text = malloc(len + 1);
            if (v->text) {
                memcpy(v->text, text, len);
                v->text[len] = '\0';
                v->tlen = len;
            }
        }
        v->vlines = v->text ? count_lines(v->text, v->tlen) : 0;
        if (error)
            snprintf(v->view_note, sizeof v->view_note, "Not read: %s", error);
        else
            snprintf(v->view_note, sizeof v->view_note, "%zu bytes, %zu line(s)", v->tlen, v->vlines);
        v->c->dirty = true;
    }
    ref_done(r, true, &same);
}

static void view_file(struct files_view *v)
{
    if (!v->nfiles)
        return;
    snprintf(v->vname, sizeof v->vname, "%s", v->files[v->sel].name);
    v->viewing = true;
    v->reading = true;
    v->vtop = 0;
    free(v->text);
    v->text = NULL;
    v->tlen = v->vlines = 0;
    snprintf(v->view_note, sizeof v->view_note, "Reading %s...", v->vname);
    char err[160] = "";
    struct fv_ref *r = ref_new(v);
    if (r && device_slave_file_get(v->c->site, v->device, v->slave, v->vname, get_done, r, err, sizeof err) == 0)
        return;
    v->reading = false;
    snprintf(v->view_note, sizeof v->view_note, "Not read: %s", r ? err : "out of memory");
    if (r) { /* nothing follows */
        v->refs--;
        free(r);
    }
}

void files_view_open(struct files_view *v, size_t bus, size_t slave)
{
    struct site *s = v->c->site;
    v->gen++;
    v->open = true;
    v->viewing = false;
    v->bus = bus;
    v->slave = slave;
    v->device = SIZE_MAX;
    for (size_t i = 0; i < s->n_devices; i++)
        if (s->devices[i].bus == &s->buses[bus])
            v->device = i;
    snprintf(v->name, sizeof v->name, "%s", s->buses[bus].slaves[slave].name);
    snprintf(v->addr, sizeof v->addr, "%s", s->buses[bus].slaves[slave].addr);
    v->sel = v->top = 0;
    free(v->files);
    v->files = NULL;
    v->nfiles = 0;
    if (!v->busy) {
        v->status[0] = '\0';
        v->nlog = 0;
    }
    read_list(v);
}

/* ---- put, delete, provisioning: audited actions ---- */

static void op_step(void *arg, unsigned done, unsigned total, const char *line)
{
    struct files_view *v = arg; /* the action holds a reference (see op_progress) */
    if (v->dead)
        return;
    if (line) {
        log_line(v, line);
    } else {
        v->pk_done = done;
        v->pk_total = total;
        snprintf(v->status, sizeof v->status, "%s: packet %u/%u sent", v->op, done, total);
    }
    v->c->dirty = true;
}

static void op_progress(const struct action_run *run, bool finished, void *arg)
{
    struct fv_ref *r = arg;
    struct files_view *v = r->v;
    bool same;
    if (!finished) {
        ref_done(r, false, &same);
        return;
    }
    if (!v->dead) {
        struct console *c = v->c;
        const char *why = run->error[0] ? run->error : run->n_results ? run->results[0].message : "";
        bool ok = run->status == ACTION_OK;
        snprintf(v->status, sizeof v->status, "%s: %s %s", v->op, ok ? c->th.check : c->th.cross,
                 ok ? (run->n_results ? run->results[0].message : "ok") : why);
        v->status_role = ok ? TH_OK : TH_ALARM;
        console_message(c, v->status_role, "%s %s: %s", run->def->name, run->target, ok ? "ok" : why);
        v->busy = false;
        if (c->running_actions)
            c->running_actions--;
        c->dirty = true;
        if (v->open && r->gen == v->gen && run->status != ACTION_DENIED && run->status != ACTION_REFUSED)
            read_list(v); /* what the slave holds now */
    }
    ref_done(r, true, &same);
}

static void run_op(struct files_view *v, enum action_id id, const char *what, struct action_params *params)
{
    struct fv_ref *r = ref_new(v);
    if (!r) {
        console_message(v->c, TH_ALARM, "out of memory");
        return;
    }
    snprintf(v->op, sizeof v->op, "%s", what);
    v->busy = true;
    v->pk_done = v->pk_total = 0;
    v->nlog = 0;
    v->status_role = TH_WARN;
    snprintf(v->status, sizeof v->status, "%s: queued...", what);
    params->step = op_step;
    params->step_arg = v;
    v->c->running_actions++;
    char err[256] = "";
    /* refused or denied: the callback has already run and said why */
    action_run(v->c->site, &v->c->user, id, v->addr, params, op_progress, r, err, sizeof err);
}

static bool name83(const char *s, char *err, size_t errlen)
{
    const char *dot = strchr(s, '.');
    size_t base = dot ? (size_t)(dot - s) : strlen(s), ext = dot ? strlen(dot + 1) : 0;
    bool ok = base >= 1 && base <= 8 && (!dot || (ext >= 1 && ext <= 3 && !strchr(dot + 1, '.')));
    for (const char *p = s; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-';
    if (!ok)
        snprintf(err, errlen, "an 8.3 name: 1-8 letters/digits, a dot, 1-3 more (e.g. HELLO.TXT)");
    return ok;
}

static bool valid_name(const char *text, char *err, size_t errlen, void *arg)
{
    (void)arg;
    return name83(text, err, errlen);
}

static bool valid_local(const char *text, char *err, size_t errlen, void *arg)
{
    (void)arg;
    struct stat st;
    if (!text[0]) {
        snprintf(err, errlen, "a local file path");
        return false;
    }
    if (stat(text, &st) != 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "not a regular file");
        return false;
    }
    if (st.st_size == 0 || (unsigned long long)st.st_size > FV_PUT_MAX) {
        snprintf(err, errlen, "%s (1 byte to %u KB)", st.st_size ? "too large" : "empty", FV_PUT_MAX / 1024);
        return false;
    }
    return true;
}

static void put_name_done(struct console *c, bool ok, const char *text, void *arg)
{
    struct files_view *v = arg;
    if (!ok || v->dead || !v->open)
        return;
    FILE *f = fopen(v->put_path, "rb");
    char *data = f ? malloc(FV_PUT_MAX + 1) : NULL;
    size_t len = data ? fread(data, 1, FV_PUT_MAX + 1, f) : 0;
    if (f)
        fclose(f);
    if (!data || len == 0 || len > FV_PUT_MAX) {
        console_message(c, TH_ALARM, "%s: %s", v->put_path, !f ? strerror(errno) : !data ? "out of memory"
                                                              : len ? "too large" : "empty or unreadable");
        free(data);
        return;
    }
    char what[96];
    snprintf(what, sizeof what, "Put %.12s (%zu bytes)", text, len);
    struct action_params p = { .file_name = text, .file_data = data, .file_len = len };
    run_op(v, ACTION_SLAVE_FILE_PUT, what, &p); /* the driver has copied the data */
    free(data);
}

static void put_path_done(struct console *c, bool ok, const char *text, void *arg)
{
    struct files_view *v = arg;
    if (!ok || v->dead || !v->open)
        return;
    snprintf(v->put_path, sizeof v->put_path, "%s", text);
    const char *base = strrchr(text, '/');
    base = base ? base + 1 : text;
    char def[16];
    size_t k = 0;
    for (; base[k] && k + 1 < sizeof def; k++)
        def[k] = (char)toupper((unsigned char)base[k]);
    def[k] = '\0';
    char e[2];
    console_input(c, "Put a file", "Name on the slave (8.3):", name83(def, e, 0) ? def : "", valid_name,
                  put_name_done, v);
}

static void delete_done(struct console *c, bool ok, const char *text, void *arg)
{
    (void)text;
    (void)c;
    struct files_view *v = arg;
    if (!ok || v->dead || !v->open || !v->nfiles)
        return;
    char what[96];
    snprintf(what, sizeof what, "Delete %s", v->files[v->sel].name);
    struct action_params p = { .file_name = v->files[v->sel].name };
    run_op(v, ACTION_SLAVE_FILE_DELETE, what, &p);
}

static void provision_done(struct console *c, bool ok, const char *text, void *arg)
{
    (void)text;
    (void)c;
    struct files_view *v = arg;
    if (!ok || v->dead || !v->open)
        return;
    struct action_params p = { 0 };
    run_op(v, ACTION_SLAVE_PROVISION, "Provisioning", &p);
}

static bool may_change(struct files_view *v)
{
    if (v->busy) {
        console_message(v->c, TH_WARN, "%s is still running", v->op);
        return false;
    }
    return console_allowed(v->c, REQ_SLAVE_PROVISION); /* technician, not read-only */
}

void files_view_provision(struct files_view *v)
{
    if (!v->open || !may_change(v))
        return;
    const char *dir = v->c->site->buses[v->bus].server_dir;
    if (!dir[0]) {
        console_message(v->c, TH_WARN, "Provisioning: bus %s has no server_dir in the configuration",
                        v->c->site->buses[v->bus].name);
        return;
    }
    char prompt[400];
    snprintf(prompt, sizeof prompt, "Provision %s (%s) from %.300s? Only the difference is pushed. (y/n)", v->name,
             v->addr, dir);
    console_confirm(v->c, "Provisioning", prompt, provision_done, v);
}

/* ---- drawing and keys ---- */

void files_view_draw(struct files_view *v, int y, int x, int h, int w)
{
    struct console *c = v->c;
    char line[400];
    if (v->viewing) {
        snprintf(line, sizeof line, "%s on %s (%s)", v->vname, v->name, v->addr);
        console_put(c, y, x, w, theme_attr(&c->th, TH_TITLE) | A_BOLD, line);
        snprintf(line, sizeof line, "  %s   Up/Down PgUp/PgDn scroll, Esc back to the list", v->view_note);
        console_put(c, y + 1, x, w, theme_attr(&c->th, TH_DIM), line);
        int rows = h - 2;
        if (rows < 1 || !v->text)
            return;
        if (v->vlines > (size_t)rows && v->vtop > v->vlines - (size_t)rows)
            v->vtop = v->vlines - (size_t)rows;
        const char *p = v->text, *end = v->text + v->tlen;
        for (size_t i = 0; i < v->vtop && p < end; i++) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            p = nl ? nl + 1 : end;
        }
        for (int r = 0; r < rows && p < end; r++) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
            size_t k = 0;
            for (size_t i = 0; i < l && k + 4 < sizeof line; i++) { /* tabs and control bytes made visible */
                unsigned char ch = (unsigned char)p[i];
                if (ch == '\t') {
                    do
                        line[k++] = ' ';
                    while (k % 8 && k + 1 < sizeof line);
                } else {
                    line[k++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
                }
            }
            line[k] = '\0';
            console_put(c, y + 2 + r, x, w, theme_attr(&c->th, TH_NORMAL), line);
            p = nl ? nl + 1 : end;
        }
        return;
    }
    snprintf(line, sizeof line, "Files on %s (%s)", v->name, v->addr);
    console_put(c, y, x, w, theme_attr(&c->th, TH_TITLE) | A_BOLD, line);
    console_put(c, y + 1, x, w, theme_attr(&c->th, TH_DIM),
                "  Enter views, p puts a local file, d deletes, P/F4 provisions, r re-reads, Esc closes");
    console_fill(c, y + 2, x, w, theme_attr(&c->th, TH_TITLE));
    console_put(c, y + 2, x, w, theme_attr(&c->th, TH_TITLE), "  Name            Size");
    /* below the list: the note, the running operation, the provisioning lines */
    int tail = 2 + (v->nlog ? (int)(v->nlog < 8 ? v->nlog : 8) : 0);
    int rows = h - 3 - tail;
    if (rows < 1)
        rows = 1;
    v->rows = rows;
    if (v->sel < v->top)
        v->top = v->sel;
    if (v->sel >= v->top + (size_t)rows)
        v->top = v->sel - (size_t)rows + 1;
    for (int r = 0; r < rows && v->top + (size_t)r < v->nfiles; r++) {
        const struct fv_file *f = &v->files[v->top + (size_t)r];
        bool sel = v->top + (size_t)r == v->sel;
        snprintf(line, sizeof line, "  %-12s %7llu", f->name, f->size);
        console_put(c, y + 3 + r, x, w, theme_attr(&c->th, sel ? TH_SELECTED : TH_NORMAL), line);
    }
    int ty = y + 3 + rows;
    snprintf(line, sizeof line, "  %s", v->list_note);
    console_put(c, ty++, x, w, theme_attr(&c->th, TH_DIM), line);
    if (v->status[0]) {
        snprintf(line, sizeof line, "  %s", v->status);
        console_put(c, ty++, x, w, theme_attr(&c->th, v->busy ? TH_WARN : v->status_role), line);
    }
    size_t first = v->nlog > 8 ? v->nlog - 8 : 0;
    for (size_t i = first; i < v->nlog && ty < y + h; i++) {
        snprintf(line, sizeof line, "    %s", v->log[i]);
        console_put(c, ty++, x, w, theme_attr(&c->th, TH_NORMAL), line);
    }
}

unsigned files_view_key(struct files_view *v, int key)
{
    struct console *c = v->c;
    if (!v->open)
        return 0;
    c->dirty = true;
    if (v->viewing) {
        size_t page = 10;
        switch (key) {
        case 27: case 'q': case KEY_LEFT: v->viewing = false; break;
        case KEY_UP: case 'k': if (v->vtop) v->vtop--; break;
        case KEY_DOWN: case 'j': if (v->vtop + 1 < v->vlines) v->vtop++; break;
        case KEY_PPAGE: v->vtop = v->vtop > page ? v->vtop - page : 0; break;
        case KEY_NPAGE: case ' ': v->vtop = v->vtop + page < v->vlines ? v->vtop + page : v->vtop; break;
        case KEY_HOME: case 'g': v->vtop = 0; break;
        case KEY_END: case 'G': v->vtop = v->vlines; break; /* clamped when drawn */
        default: return (keys_fkey(key) || key == KEY_RESIZE) ? 0 : PANE_HANDLED;
        }
        return PANE_HANDLED;
    }
    switch (key) {
    case 27: case 'q': v->open = false; break;
    case KEY_UP: case 'k': if (v->sel) v->sel--; break;
    case KEY_DOWN: case 'j': if (v->sel + 1 < v->nfiles) v->sel++; break;
    case KEY_PPAGE: v->sel = v->sel > (size_t)v->rows ? v->sel - (size_t)v->rows : 0; break;
    case KEY_NPAGE:
        v->sel = v->nfiles ? (v->sel + (size_t)v->rows < v->nfiles ? v->sel + (size_t)v->rows : v->nfiles - 1) : 0;
        break;
    case KEY_HOME: case 'g': v->sel = 0; break;
    case KEY_END: case 'G': v->sel = v->nfiles ? v->nfiles - 1 : 0; break;
    case '\n': case '\r': case KEY_ENTER: view_file(v); break;
    case 'r': if (!v->listing) read_list(v); break;
    case 'p':
        if (may_change(v))
            console_input(c, "Put a file", "Local file to upload:", v->put_path, valid_local, put_path_done, v);
        break;
    case 'd':
        if (v->nfiles && may_change(v)) {
            char prompt[200];
            snprintf(prompt, sizeof prompt, "Delete %s on %s (%s)? (y/n)", v->files[v->sel].name, v->name, v->addr);
            console_confirm(c, "Delete a file", prompt, delete_done, v);
        }
        break;
    case 'P': files_view_provision(v); break;
    default:
        if (key == KEY_F(4)) {
            files_view_provision(v);
            break;
        }
        return (keys_fkey(key) || key == KEY_RESIZE) ? 0 : PANE_HANDLED;
    }
    return PANE_HANDLED;
}
