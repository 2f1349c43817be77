/* ctl_nix1_files: `portierctl nix1` and the slave's card: file list, download, verified upload, firmware flash
 * (upload, Nn, the busy period and the restart), provisioning from the server files, key rotation. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/ctl_nix1.h"
#include "drivers/nix1/nix1_cmd.h"
#include "drivers/nix1/nix1_line.h"
#include "drivers/nix1/nix1_prov.h"
#include "drivers/nix1/nix1_rc.h"

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* An 8.3 name as the slave accepts it (its own rule, §5.3), checked before anything is opened. */
static int check_name(struct n1ctx *c, const char *name)
{
    char why[160];
    uint8_t rc = nix1_cmd_check(nix1_cmd_lookup('D', 'g'), name, strlen(name), why, sizeof why);
    if (rc)
        return n1_usage(c, "'%.40s' is not a file name the slave accepts (FAT 8.3: NAME.EXT)", name);
    return CTL_EXIT_OK;
}

/* A directory the server files are read from. */
static int check_dir(struct n1ctx *c, const char *dir)
{
    struct stat st;
    if (stat(dir, &st) < 0)
        return n1_usage(c, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return n1_usage(c, "%s is not a directory", dir);
    return CTL_EXIT_OK;
}

int n1_cmd_file_ls(struct ctl_call *call)
{
    struct n1ctx cx, *c = &cx;
    int rc = n1_targets(c, call, N1_UNICAST, 'Q', 'i');
    if (rc != CTL_EXIT_OK)
        return rc;
    const char *ext = ctl_str(call, "EXT", "");
    char why[160];
    if (nix1_cmd_check(nix1_cmd_lookup('Q', 'i'), ext, strlen(ext), why, sizeof why))
        return n1_usage(c, "'%s' is not an extension (1-3 letters, digits or _)", ext);
    if ((rc = n1_open(c)) != CTL_EXIT_OK)
        return rc;
    rc = n1_xact(c, 'Q', 'i', ext);
    char as[NIX1_ADDR_LEN + 1];
    n1_addr(&c->res.from, as);
    for (size_t i = 0; rc == CTL_EXIT_OK && i < c->nlines; i++) {
        char name[13];
        uint64_t size = 0;
        bool ok = nix1_xfer_parse_list_line(c->lines[i], name, &size);
        if (c->g->json) {
            json_t *o = json_object();
            json_object_set_new(o, "type", json_string("file"));
            json_object_set_new(o, "slave", json_string(as));
            json_object_set_new(o, "name", json_string(ok ? name : c->lines[i]));
            json_object_set_new(o, "size", ok ? json_integer((json_int_t)size) : json_null());
            ctl_print_json(o);
        } else {
            printf("%-12s %8llu\n", ok ? name : c->lines[i], (unsigned long long)size);
        }
    }
    return n1_close(c, rc);
}

int n1_cmd_file_get(struct ctl_call *call)
{
    struct n1ctx cx, *c = &cx;
    int rc = n1_targets(c, call, N1_UNICAST, 'Q', 'g');
    if (rc != CTL_EXIT_OK)
        return rc;
    const char *name = ctl_str(call, "NAME", ""), *local = ctl_str(call, "LOCAL", NULL);
    if ((rc = check_name(c, name)) != CTL_EXIT_OK || (rc = n1_open(c)) != CTL_EXIT_OK)
        return rc;
    char opt[40];
    snprintf(opt, sizeof opt, "%s\t0", name);
    rc = n1_xact(c, 'Q', 'g', opt);
    size_t len = 0;
    char *text = rc == CTL_EXIT_OK ? nix1_xfer_join_lines((const char *const *)c->lines, c->nlines, &len) : NULL;
    if (rc == CTL_EXIT_OK && !text)
        rc = CTL_EXIT_UNREACHABLE;
    if (text && local) {
        FILE *f = fopen(local, "wb");
        if (!f || fwrite(text, 1, len, f) != len) {
            fprintf(stderr, "portierctl nix1: %s: %s\n", local, strerror(errno));
            rc = CTL_EXIT_USAGE;
        }
        if (f && fclose(f) != 0 && rc == CTL_EXIT_OK) {
            fprintf(stderr, "portierctl nix1: %s: %s\n", local, strerror(errno));
            rc = CTL_EXIT_USAGE;
        }
    }
    if (text && rc == CTL_EXIT_OK) {
        char as[NIX1_ADDR_LEN + 1];
        if (c->g->json) {
            json_t *o = json_object();
            json_object_set_new(o, "type", json_string("file_content"));
            json_object_set_new(o, "slave", json_string(n1_addr(&c->res.from, as)));
            json_object_set_new(o, "name", json_string(name));
            json_object_set_new(o, "lines", json_integer((json_int_t)c->nlines));
            json_object_set_new(o, "content", json_stringn(text, len));
            ctl_print_json(o);
        } else if (!local) {
            fwrite(text, 1, len, stdout);
        } else {
            printf("%s: %zu lines, %zu bytes\n", local, c->nlines, len);
        }
    }
    free(text);
    return n1_close(c, rc);
}

static void on_xfer(void *arg, const struct nix1_xfer_result *r)
{
    struct n1ctx *c = arg;
    c->xres = *r;
    c->done = true;
}

static void print_upload(struct n1ctx *c, const char *name)
{
    char as[NIX1_ADDR_LEN + 1];
    n1_addr(&c->target, as);
    if (c->g->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("upload"));
        json_object_set_new(o, "slave", json_string(as));
        json_object_set_new(o, "file", json_string(name));
        json_object_set_new(o, "ok", json_boolean(c->xres.ok));
        json_object_set_new(o, "bytes", json_integer((json_int_t)c->xres.bytes));
        char crc[5];
        snprintf(crc, sizeof crc, "%04X", c->xres.crc);
        json_object_set_new(o, "crc", json_string(crc));
        json_object_set_new(o, "packets", json_integer(c->xres.packets));
        json_object_set_new(o, "resends", json_integer(c->xres.resends));
        json_object_set_new(o, "restarts", json_integer(c->xres.restarts));
        json_object_set_new(o, "seconds", json_real((double)c->xres.elapsed_us / 1e6));
        if (!c->xres.ok) {
            json_object_set_new(o, "step", json_string(c->xres.step));
            if (c->xres.rc) {
                char code[3];
                snprintf(code, sizeof code, "%02X", c->xres.rc);
                json_object_set_new(o, "code", json_string(code));
                json_object_set_new(o, "code_name", json_string(nix1_rc_name(c->xres.rc)));
            }
            json_object_set_new(o, "error", json_string(c->xres.msg));
        }
        ctl_print_json(o);
    } else if (c->xres.ok) {
        printf("%s %s (%u resends, %u restarts, %.1f s)\n", as, c->xres.msg, c->xres.resends, c->xres.restarts,
               (double)c->xres.elapsed_us / 1e6);
    } else {
        fprintf(stderr, "%s upload %s failed: %s\n", as, name, c->xres.msg);
        if (c->xres.rc)
            fprintf(stderr, "  %02X %s: %s\n", c->xres.rc, nix1_rc_name(c->xres.rc), nix1_rc_meaning(c->xres.rc));
    }
}

/* Upload data as name to the target (the bus is open). */
static int upload(struct n1ctx *c, const char *data, size_t len, const char *name)
{
    char err[200];
    struct nix1_xfer_opts o = { .verify = true, .prio = NIX1_PRIO_OPERATOR };
    c->done = false;
    struct nix1_xfer *x = nix1_xfer_upload(c->bus, &c->target, name, data, len, &o, on_xfer, c, err, sizeof err);
    if (!x) {
        fprintf(stderr, "portierctl nix1: %s\n", err);
        return CTL_EXIT_USAGE;
    }
    n1_run_until(c, &c->done);
    if (!c->done) {
        nix1_xfer_cancel(x);
        return CTL_EXIT_UNREACHABLE;
    }
    print_upload(c, name);
    if (c->xres.ok)
        return CTL_EXIT_OK;
    return c->xres.status == NIX1_ST_REPLY && c->xres.rc ? CTL_EXIT_DEVICE_ERROR : CTL_EXIT_UNREACHABLE;
}

/* The local file, read before the port is opened. */
static int read_local(struct n1ctx *c, const char *local, char **data, size_t *len)
{
    int e = n1_read_file(local, data, len);
    if (e < 0)
        return n1_usage(c, "%s: %s", local, strerror(-e));
    return CTL_EXIT_OK;
}

int n1_cmd_file_put(struct ctl_call *call)
{
    struct n1ctx cx, *c = &cx;
    int rc = n1_targets(c, call, N1_UNICAST, 'N', 'g');
    if (rc != CTL_EXIT_OK)
        return rc;
    const char *local = ctl_str(call, "LOCAL", ""), *name = ctl_str(call, "NAME", base_name(local));
    char *data = NULL;
    size_t len = 0;
    if ((rc = check_name(c, name)) != CTL_EXIT_OK || (rc = read_local(c, local, &data, &len)) != CTL_EXIT_OK)
        return rc;
    if ((rc = n1_open(c)) == CTL_EXIT_OK) {
        rc = upload(c, data, len, name);
        n1_close(c, rc);
    }
    free(data);
    return rc;
}

/* After Nn the slave is busy (16) while it flashes, then restarts (silent, then 16 while it initialises) or,
 * on failure, sets general status b4 (§5.5 46 ERROR_FLASH, §5.7). Poll Qs until it answers for real. */
static int firmware_outcome(struct n1ctx *c, unsigned retries)
{
    char as[NIX1_ADDR_LEN + 1];
    n1_addr(&c->target, as);
    if (!c->g->json)
        printf("%s flashing (the slave is busy, then restarts)...\n", as);
    fflush(stdout);
    /* each attempt may take a while on real hardware; the bus itself waits out 16 for up to 60 s */
    uint64_t end = loop_mono_us() + (uint64_t)(retries + 1) * 60000000u + 10000000u;
    int rc;
    for (;;) {
        rc = n1_xact_raw(c, &c->target, 'Q', 's', NULL, NULL, true);
        if (rc == CTL_EXIT_OK || c->stop || loop_mono_us() > end)
            break;
        if (c->res.status == NIX1_ST_REPLY && c->res.rc != NIX1_RC_SYN) {
            n1_report_error(c, &c->target, "Qs", c->res.rc);
            return CTL_EXIT_DEVICE_ERROR;
        }
    }
    if (rc != CTL_EXIT_OK) {
        n1_report_noanswer(c, &c->target, "firmware", "no answer after flashing");
        return CTL_EXIT_UNREACHABLE;
    }
    uint64_t st = 0;
    if (!nix1_parse_hex(c->payload, strlen(c->payload), 2, &st)) {
        n1_report_noanswer(c, &c->target, "firmware", "unreadable general status");
        return CTL_EXIT_UNREACHABLE;
    }
    bool failed = st & 0x10, restarted = st & 0x01;
    char version[80] = "";
    if (!failed && n1_xact_raw(c, &c->target, 'Q', 'n', NULL, NULL, true) == CTL_EXIT_OK)
        snprintf(version, sizeof version, "%s", c->payload);
    if (c->g->json) {
        json_t *o = json_object();
        char hs[3];
        snprintf(hs, sizeof hs, "%02X", (unsigned)st);
        json_object_set_new(o, "type", json_string("firmware"));
        json_object_set_new(o, "slave", json_string(as));
        json_object_set_new(o, "ok", json_boolean(!failed));
        json_object_set_new(o, "status", json_string(hs));
        json_object_set_new(o, "restarted", json_boolean(restarted));
        if (!failed)
            json_object_set_new(o, "version", json_string(version));
        else
            json_object_set_new(o, "code_name", json_string(nix1_rc_name(NIX1_RC_ERROR_FLASH)));
        ctl_print_json(o);
    } else if (failed) {
        fprintf(stderr, "%s firmware: flashing failed (general status %02X, b4): %02X %s: %s\n", as, (unsigned)st,
                NIX1_RC_ERROR_FLASH, nix1_rc_name(NIX1_RC_ERROR_FLASH), nix1_rc_meaning(NIX1_RC_ERROR_FLASH));
    } else {
        printf("%s firmware: flashed%s, version %s\n", as, restarted ? " and restarted" : "", version);
    }
    return failed ? CTL_EXIT_DEVICE_ERROR : CTL_EXIT_OK;
}

int n1_cmd_firmware(struct ctl_call *call)
{
    struct n1ctx cx, *c = &cx;
    int rc = n1_targets(c, call, N1_UNICAST, 'N', 'n');
    if (rc != CTL_EXIT_OK)
        return rc;
    const char *file = ctl_str(call, "FILE", ""), *name = base_name(file);
    unsigned retries = (unsigned)ctl_num(call, "RETRIES", 3);
    char *data = NULL;
    size_t len = 0;
    if ((rc = check_name(c, name)) != CTL_EXIT_OK || (rc = read_local(c, file, &data, &len)) != CTL_EXIT_OK)
        return rc;
    if ((rc = n1_open(c)) != CTL_EXIT_OK) {
        free(data);
        return rc;
    }
    rc = upload(c, data, len, name);
    free(data);
    if (rc == CTL_EXIT_OK) {
        char opt[40];
        snprintf(opt, sizeof opt, "%s\t%u", name, retries);
        rc = n1_xact(c, 'N', 'n', opt);
        if (rc == CTL_EXIT_OK) {
            n1_print_ok(c, "firmware flash");
            rc = firmware_outcome(c, retries);
        }
    }
    return n1_close(c, rc);
}

/* ---- provisioning and key rotation ---- */

static void on_prov_line(void *arg, const char *line)
{
    struct n1ctx *c = arg;
    if (!c->g->json)
        printf("%s\n", line);
}

struct prov_wait {
    bool done;
    struct nix1_prov_report rep;
};

static void on_prov(void *arg, const struct nix1_prov_report *r)
{
    struct prov_wait *w = arg;
    w->rep = *r;
    w->done = true;
}

/* Wait for a provisioning or key rotation run (p NULL: it could not start, err says why). */
static int prov_wait_for(struct n1ctx *c, const struct nix1_prov *p, struct prov_wait *w, const char *err)
{
    if (!p) {
        fprintf(stderr, "portierctl nix1: %s\n", err);
        return CTL_EXIT_USAGE;
    }
    n1_watch_signals(c);
    n1_run_until(c, &w->done);
    if (!w->done)
        return CTL_EXIT_UNREACHABLE;
    return w->rep.failed ? CTL_EXIT_DEVICE_ERROR : w->rep.unreachable ? CTL_EXIT_UNREACHABLE : CTL_EXIT_OK;
}

/* A finished run goes first; an interrupted one still has requests on the bus: they complete (canceled) as the
 * bus goes, and the run is left to the process's end. */
static int prov_end(struct n1ctx *c, struct nix1_prov *p, const struct prov_wait *w, int rc)
{
    if (w->done)
        nix1_prov_free(p);
    return n1_close(c, rc);
}

int n1_cmd_provision(struct ctl_call *call)
{
    struct n1ctx cx, *c = &cx;
    int rc = n1_targets(c, call, N1_SLAVES, 0, 0);
    const char *dir = ctl_str(call, "DIR", ".");
    if (rc != CTL_EXIT_OK || (rc = check_dir(c, dir)) != CTL_EXIT_OK || (rc = n1_open(c)) != CTL_EXIT_OK)
        return rc;
    char err[300];
    struct nix1_prov_opts o = { .log = on_prov_line, .log_arg = c };
    struct prov_wait w = { 0 };
    struct nix1_prov *p = nix1_prov_start(c->bus, dir, c->slaves, c->nslaves, &o, on_prov, &w, err, sizeof err);
    rc = prov_wait_for(c, p, &w, err);
    if (w.done && c->g->json) {
        json_t *o2 = json_object();
        json_object_set_new(o2, "type", json_string("provision"));
        json_object_set_new(o2, "slaves", json_integer((json_int_t)w.rep.slaves));
        json_object_set_new(o2, "changed_slaves", json_integer((json_int_t)w.rep.changed_slaves));
        json_object_set_new(o2, "commands", json_integer((json_int_t)w.rep.commands));
        json_object_set_new(o2, "files_pushed", json_integer((json_int_t)w.rep.files_pushed));
        json_object_set_new(o2, "records", json_integer((json_int_t)w.rep.records));
        json_object_set_new(o2, "deleted", json_integer((json_int_t)w.rep.deleted));
        json_object_set_new(o2, "verified", json_integer((json_int_t)w.rep.verified));
        json_object_set_new(o2, "failed", json_integer((json_int_t)w.rep.failed));
        json_object_set_new(o2, "unreachable", json_integer((json_int_t)w.rep.unreachable));
        ctl_print_json(o2);
    } else if (w.done) {
        printf("provisioned %zu slaves: %zu changed (%zu records, %zu files pushed, %zu deleted), %zu verified, "
               "%zu failed, %zu unreachable\n",
               w.rep.slaves, w.rep.changed_slaves, w.rep.records, w.rep.files_pushed, w.rep.deleted,
               w.rep.verified, w.rep.failed, w.rep.unreachable);
    }
    return prov_end(c, p, &w, rc);
}

int n1_cmd_key_rotate(struct ctl_call *call)
{
    struct n1ctx cx, *c = &cx;
    int rc = n1_targets(c, call, N1_OPTIONAL, 0, 0);
    const char *dir = ctl_str(call, "DIR", ".");
    if (rc != CTL_EXIT_OK || (rc = check_dir(c, dir)) != CTL_EXIT_OK || (rc = n1_open(c)) != CTL_EXIT_OK)
        return rc;
    unsigned days = (unsigned)ctl_num(call, "max-age", 30);
    char err[300];
    struct prov_wait w = { 0 };
    struct nix1_prov_opts o = { .log = on_prov_line, .log_arg = c };
    struct nix1_prov *p = nix1_prov_rotate_key(c->bus, dir, (uint64_t)time(NULL), (uint64_t)days * 86400u, c->slaves,
                                               c->nslaves, &o, on_prov, &w, err, sizeof err);
    rc = prov_wait_for(c, p, &w, err);
    if (w.done && c->g->json) {
        json_t *o2 = json_object();
        json_object_set_new(o2, "type", json_string("key_rotation"));
        json_object_set_new(o2, "key_time", json_integer((json_int_t)w.rep.key_ts));
        json_object_set_new(o2, "pruned", json_integer((json_int_t)w.rep.deleted));
        json_object_set_new(o2, "verified", json_integer((json_int_t)w.rep.verified));
        json_object_set_new(o2, "unreachable", json_integer((json_int_t)w.rep.unreachable));
        ctl_print_json(o2);
    }
    return prov_end(c, p, &w, rc);
}
