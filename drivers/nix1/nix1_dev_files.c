/* nix1_dev_files: the NiX1 adapter's slave files: list and read (queued reads), delete (a queued request), and
 * the long operations beside the queue: a verified upload (nix1_xfer) and provisioning (nix1_prov). */
#include "drivers/nix1/nix1_dev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A file name as the slave takes it (8.3, §5.9), or false with why. */
static bool file_name_ok(const char *name, char *err, size_t errlen)
{
    const char *dot = name ? strchr(name, '.') : NULL;
    size_t base = dot ? (size_t)(dot - name) : (name ? strlen(name) : 0);
    bool ok = name && base >= 1 && base <= 8 && (!dot || (strlen(dot + 1) >= 1 && strlen(dot + 1) <= 3 &&
                                                          !strchr(dot + 1, '.')));
    for (const char *p = name; ok && *p; p++)
        ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
             *p == '_' || *p == '-';
    if (!ok)
        snprintf(err, errlen, "\"%.20s\" is not an 8.3 file name", name ? name : "");
    return ok;
}

/* DEVICE_SLAVE_FILE_PUT / _DELETE / _PROVISION: one device-wide result. */
int n1dev_slave_file_command(struct n1dev *c, const struct device_cmd *cmd, char *err, size_t errlen)
{
    if (cmd->slave >= c->n) {
        snprintf(err, errlen, "no slave %zu on this bus", cmd->slave);
        return -1;
    }
    if (cmd->op != DEVICE_SLAVE_PROVISION && !file_name_ok(cmd->file_name, err, errlen))
        return -1;
    if (cmd->op == DEVICE_SLAVE_FILE_PUT && (!cmd->file_data || !cmd->file_len)) {
        snprintf(err, errlen, "an empty file cannot be uploaded (delete it instead)");
        return -1;
    }
    if (cmd->op == DEVICE_SLAVE_FILE_PUT && cmd->file_len > 65535u * NIX1_XFER_BLOCK_MAX) {
        snprintf(err, errlen, "the file is too large for the slave (%zu bytes)", cmd->file_len);
        return -1;
    }
    if (cmd->op != DEVICE_SLAVE_FILE_DELETE && c->lng) {
        snprintf(err, errlen, "a file upload or a provisioning is already running on this bus");
        return -1;
    }
    if (cmd->op == DEVICE_SLAVE_PROVISION && !c->cfg->server_dir[0]) {
        snprintf(err, errlen, "the bus has no server_dir in the configuration");
        return -1;
    }
    bool del = cmd->op == DEVICE_SLAVE_FILE_DELETE;
    struct n1_job *j = n1dev_job_new(c, del ? N1J_SET : N1J_LONG, cmd, 1);
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    j->r.outs[0] = SIZE_MAX;
    if (del) {
        n1dev_add_req(j, cmd->slave, 'D', 'g', cmd->file_name, R_SET, 0);
        n1dev_add_reqs_step(j, cmd->slave);
        snprintf(j->r.okmsg, sizeof j->r.okmsg, "%.12s deleted", cmd->file_name);
        n1dev_enqueue(c, j);
        return 0;
    }
    j->u.lng.step = cmd->step;
    j->u.lng.step_ctx = cmd->step_ctx;
    if (cmd->op == DEVICE_SLAVE_FILE_PUT) {
        snprintf(j->u.lng.fname, sizeof j->u.lng.fname, "%s", cmd->file_name);
        j->u.lng.data = malloc(cmd->file_len);
        if (!j->u.lng.data) {
            n1dev_job_free(j);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        memcpy(j->u.lng.data, cmd->file_data, cmd->file_len);
        j->u.lng.len = cmd->file_len;
    }
    n1dev_add_step(j, cmd->op == DEVICE_SLAVE_FILE_PUT ? N1_XFER : N1_PROV, cmd->slave, 0, true, 0, 0);
    if (!j->nsteps) {
        n1dev_job_free(j);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->lng = j; /* started by the job engine, from the loop */
    n1dev_kick(c);
    return 0;
}

/* A read of slave files: Qi per extension (TXT and the uid letters of USERS.<C> / <unit>U.<C>), or Qg. */
static int slave_text_read(struct n1dev *c, size_t slave, const char *name, device_text_fn cb, void *ctx, char *err,
                           size_t errlen)
{
    if (!cb || slave >= c->n) {
        snprintf(err, errlen, "no slave %zu on this bus", slave);
        return -1;
    }
    if (name && !file_name_ok(name, err, errlen))
        return -1;
    struct n1_job *j = n1dev_job_new(c, N1J_TEXT, NULL, 0);
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    j->u.text.got = cb;
    j->ctx = ctx;
    if (name) {
        char opt[24];
        snprintf(opt, sizeof opt, "%s\t0", name);
        n1dev_add_req(j, slave, 'Q', 'g', opt, R_FILE, 0);
    } else {
        static const char exts[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        n1dev_add_req(j, slave, 'Q', 'i', "TXT", R_LIST, 0);
        for (const char *e = exts; *e; e++) {
            char opt[2] = { *e, '\0' };
            n1dev_add_req(j, slave, 'Q', 'i', opt, R_LIST, 0);
        }
    }
    n1dev_add_reqs_step(j, slave);
    n1dev_enqueue(c, j);
    return 0;
}

int n1dev_slave_files(struct device *dev, size_t slave, device_text_fn cb, void *ctx, char *err, size_t errlen)
{
    return slave_text_read(dev->priv, slave, NULL, cb, ctx, err, errlen);
}

int n1dev_slave_file_get(struct device *dev, size_t slave, const char *name, device_text_fn cb, void *ctx,
                         char *err, size_t errlen)
{
    if (!name) {
        snprintf(err, errlen, "no file name");
        return -1;
    }
    return slave_text_read(dev->priv, slave, name, cb, ctx, err, errlen);
}

/* ---- the long operation beside the queue ---- */

static void on_xfer(void *arg, const struct nix1_xfer_result *r)
{
    struct n1dev *c = arg;
    struct n1_job *j = c->lng;
    if (!j || !j->u.lng.xfer)
        return;
    j->u.lng.xfer = NULL; /* freed by nix1_xfer after this call */
    j->u.lng.done = true;
    if (r->ok) {
        snprintf(j->r.okmsg, sizeof j->r.okmsg, "%zu bytes in %u packet(s), verified (CRC %04X)%s", r->bytes,
                 r->packets, r->crc, r->resends || r->restarts ? ", with resends" : "");
    } else {
        n1dev_job_fail_output(j, 0, r->status == NIX1_ST_REPLY ? DEVICE_RESULT_FAILED : DEVICE_RESULT_TIMEOUT, r->msg);
    }
    n1dev_kick(c);
}

static void on_prov_line(void *arg, const char *line)
{
    struct n1dev *c = arg;
    if (c->lng && c->lng->u.lng.prov && c->lng->u.lng.step && !c->dying)
        c->lng->u.lng.step(c->lng->u.lng.step_ctx, 0, 0, line);
}

static void on_prov(void *arg, const struct nix1_prov_report *r)
{
    struct n1dev *c = arg;
    struct n1_job *j = c->lng;
    if (!j || !j->u.lng.prov || j->u.lng.done)
        return;
    j->u.lng.done = true;
    char m[N1_MSG_MAX];
    snprintf(m, sizeof m, "%zu record(s) in %zu command(s), %zu file(s) pushed, %zu deleted%s", r->records,
             r->commands, r->files_pushed, r->deleted, r->verified ? ", verified" : "");
    if (r->failed || r->unreachable || !r->verified)
        n1dev_job_fail_output(j, 0, r->unreachable ? DEVICE_RESULT_TIMEOUT : DEVICE_RESULT_FAILED,
                              r->unreachable ? "the slave did not answer" : m);
    else
        snprintf(j->r.okmsg, sizeof j->r.okmsg, "%s", r->changed_slaves ? m : "already up to date, verified");
    n1dev_kick(c);
}

static void long_start(struct n1dev *c, struct n1_job *j)
{
    char e[200] = "";
    size_t si = j->steps[0].slave;
    j->u.lng.started = true;
    if (j->steps[0].kind == N1_XFER) {
        struct nix1_xfer_opts o = { .verify = true, .prio = NIX1_PRIO_CONFIG };
        j->u.lng.xfer = nix1_xfer_upload(c->bus, &c->slaves[si].addr, j->u.lng.fname, j->u.lng.data, j->u.lng.len, &o,
                                         on_xfer, c, e, sizeof e);
        if (j->u.lng.xfer && j->u.lng.step)
            j->u.lng.step(j->u.lng.step_ctx, 0, (unsigned)((j->u.lng.len + NIX1_XFER_BLOCK_MAX - 1) / NIX1_XFER_BLOCK_MAX),
                          NULL);
        if (j->u.lng.xfer)
            return;
    } else {
        struct nix1_prov_opts o = { .log = on_prov_line, .log_arg = c };
        j->u.lng.prov = nix1_prov_start(c->bus, c->cfg->server_dir, &c->slaves[si].addr, 1, &o, on_prov, c, e, sizeof e);
        if (j->u.lng.prov)
            return;
    }
    j->u.lng.done = true;
    char m[N1_MSG_MAX];
    snprintf(m, sizeof m, "not started: %s", e[0] ? e : "out of memory");
    n1dev_job_fail_output(j, 0, DEVICE_RESULT_FAILED, m);
}

/* Start the long operation, or report it once its callback has run. */
void n1dev_long_step(struct n1dev *c)
{
    struct n1_job *l = c->lng;
    if (!l)
        return;
    if (!l->u.lng.started) {
        if (!c->door) {
            l->u.lng.started = l->u.lng.done = true;
            n1dev_job_fail_all(l, DEVICE_RESULT_OFFLINE, c->open_err[0] ? c->open_err : "bus not open");
        } else {
            long_start(c, l);
        }
    }
    if (l->u.lng.done) {
        c->lng = NULL;
        n1dev_job_finish(c, l);
    }
}

/* Teardown: an upload is cancelled (its callback is not called); a provisioning ends with the bus. */
void n1dev_long_cancel(struct n1dev *c)
{
    if (c->lng && c->lng->u.lng.xfer) {
        nix1_xfer_cancel(c->lng->u.lng.xfer);
        c->lng->u.lng.xfer = NULL;
    }
}

/* An upload packet taken: "06Ny<TAB><received><TAB><n>" (§5.9) → progress. */
void n1dev_upload_progress(struct n1dev *c, const struct nix1_reply *rep)
{
    if (!c->lng || !c->lng->u.lng.xfer || !c->lng->u.lng.step)
        return;
    struct nix1_span f[3];
    uint64_t got, total;
    if (nix1_fields_split(rep->payload, rep->payload_len, f, 2) == 2 && nix1_parse_uint(f[0].p, f[0].len, 65535, &got) &&
        nix1_parse_uint(f[1].p, f[1].len, 65535, &total))
        c->lng->u.lng.step(c->lng->u.lng.step_ctx, (unsigned)got, (unsigned)total, NULL);
}
