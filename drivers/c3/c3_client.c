#include "drivers/c3/c3_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_params.h"
#include "drivers/c3/c3_time.h"

#define READ_RETRIES 2

static struct c3_request_opts req_opts(const struct c3_op_opts *o, uint8_t retries)
{
    struct c3_request_opts r = { .prio = C3_PRIO_OPERATOR, .retries = retries };
    if (o) {
        r.prio = o->prio;
        r.expire_ms = o->expire_ms;
        r.timeout_ms = o->timeout_ms;
    }
    return r;
}

/* ---- a batched parameter transfer (get or set) ---- */

struct pjob {
    struct c3_session *s;
    bool set;
    size_t n;
    char **names;
    char **values;       /* get: answers; set: what to send */
    size_t batch, nbatches;
    struct c3_op_opts o;
    c3_params_cb get_cb;
    c3_done_cb set_cb;
    void *arg;
};

static void pjob_free(struct pjob *j)
{
    for (size_t i = 0; i < j->n; i++) {
        free(j->names[i]);
        free(j->values[i]);
    }
    free(j->names);
    free(j->values);
    free(j);
}

/* The session is freed with the job's request pending: nobody is told (the owner is going away). */
static void pjob_drop(void *arg) { pjob_free(arg); }

static void pjob_finish(struct pjob *j, int err)
{
    if (j->set) {
        if (j->set_cb)
            j->set_cb(j->arg, err);
    } else if (j->get_cb) {
        struct c3_params_result r = { .err = err, .n = j->n, .names = (const char *const *)j->names,
                                      .values = (const char *const *)j->values };
        j->get_cb(j->arg, &r);
    }
    pjob_free(j);
}

static int pjob_submit(struct pjob *j);

static bool name_matches(const struct c3_param_span *sp, const char *name)
{
    size_t nl = strlen(name);
    if (sp->name_len == nl && memcmp(sp->name, name, nl) == 0)
        return true;
    /* Some firmware drops or adds the '~' of identity names in its answer. */
    const char *a = name, *b = sp->name;
    size_t al = nl, bl = sp->name_len;
    if (al && *a == '~') { a++; al--; }
    if (bl && *b == '~') { b++; bl--; }
    return al == bl && al > 0 && memcmp(a, b, al) == 0;
}

static void pjob_reply(struct c3_session *s, const struct c3_result *res, void *arg)
{
    struct pjob *j = arg;
    (void)s;
    if (res->err) {
        pjob_finish(j, res->err);
        return;
    }
    size_t first, count;
    c3_params_batch(j->n, j->set ? C3_PARAMS_SET_MAX : C3_PARAMS_GET_MAX, j->batch, &first, &count);
    if (!j->set) {
        struct c3_param_span items[2 * C3_PARAMS_GET_MAX];
        int k = c3_params_parse((const char *)res->data, res->len, items, sizeof items / sizeof items[0]);
        if (k == C3_E_TOOMANY)
            k = (int)(sizeof items / sizeof items[0]);
        if (k < 0) {
            pjob_finish(j, k);
            return;
        }
        for (size_t i = first; i < first + count; i++) {
            for (int m = 0; m < k; m++) {
                if (!name_matches(&items[m], j->names[i]))
                    continue;
                free(j->values[i]);
                j->values[i] = strndup(items[m].value, items[m].value_len);
                if (!j->values[i]) {
                    pjob_finish(j, C3_S_NOMEM);
                    return;
                }
                break;
            }
        }
    }
    j->batch++;
    if (j->batch >= j->nbatches) {
        pjob_finish(j, 0);
        return;
    }
    int rc = pjob_submit(j);
    if (rc < 0)
        pjob_finish(j, rc);
}

static int pjob_submit(struct pjob *j)
{
    size_t first, count;
    size_t per = j->set ? C3_PARAMS_SET_MAX : C3_PARAMS_GET_MAX;
    c3_params_batch(j->n, per, j->batch, &first, &count);
    size_t cap = 1;
    for (size_t i = first; i < first + count; i++)
        cap += strlen(j->names[i]) + 2 + (j->set ? strlen(j->values[i]) : 0);
    char *buf = malloc(cap);
    if (!buf)
        return C3_S_NOMEM;
    int len;
    if (j->set) {
        struct c3_param pairs[C3_PARAMS_SET_MAX];
        for (size_t i = 0; i < count; i++)
            pairs[i] = (struct c3_param){ .name = j->names[first + i], .value = j->values[first + i] };
        len = c3_params_set_request(buf, cap, pairs, count);
    } else {
        len = c3_params_get_request(buf, cap, (const char *const *)(j->names + first), count);
    }
    if (len < 0) {
        free(buf);
        return len;
    }
    struct c3_request_opts ro = req_opts(&j->o, j->set ? 0 : READ_RETRIES);
    ro.drop = pjob_drop;
    long long id = c3_session_submit(j->s, j->set ? C3_CMD_SET_PARAM : C3_CMD_GET_PARAM, buf, (size_t)len, &ro,
                                     pjob_reply, j);
    free(buf);
    return id < 0 ? (int)id : 0;
}

static struct pjob *pjob_new(struct c3_session *s, bool set, const char *const *names, const char *const *values,
                             size_t n, const struct c3_op_opts *o)
{
    struct pjob *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->s = s;
    j->set = set;
    j->names = calloc(n ? n : 1, sizeof *j->names);
    j->values = calloc(n ? n : 1, sizeof *j->values);
    if (!j->names || !j->values) {
        pjob_free(j);
        return NULL;
    }
    j->n = n;
    for (size_t i = 0; i < n; i++) {
        j->names[i] = strdup(names[i]);
        if (set)
            j->values[i] = strdup(values[i]);
        if (!j->names[i] || (set && !j->values[i])) {
            pjob_free(j);
            return NULL;
        }
    }
    if (o)
        j->o = *o;
    j->nbatches = c3_params_batches(n, set ? C3_PARAMS_SET_MAX : C3_PARAMS_GET_MAX);
    return j;
}

/* Submit a get (get_cb) or set (set_cb) job: what pjob_submit returns; when negative, no callback follows. */
static int pjob_start(struct c3_session *s, bool set, const char *const *names, const char *const *values, size_t n,
                      const struct c3_op_opts *o, c3_params_cb get_cb, c3_done_cb set_cb, void *arg)
{
    if (n == 0)
        return C3_E_SYNTAX; /* the panel answers an empty request with -11 */
    struct pjob *j = pjob_new(s, set, names, values, n, o);
    if (!j)
        return C3_S_NOMEM;
    j->get_cb = get_cb;
    j->set_cb = set_cb;
    j->arg = arg;
    int rc = pjob_submit(j);
    if (rc < 0) {
        j->get_cb = NULL;
        j->set_cb = NULL;
        pjob_free(j);
    }
    return rc;
}

int c3_client_params_get(struct c3_session *s, const char *const *names, size_t n,
                         const struct c3_op_opts *o, c3_params_cb cb, void *arg)
{
    return pjob_start(s, false, names, NULL, n, o, cb, NULL, arg);
}

int c3_client_params_set(struct c3_session *s, const char *const *names, const char *const *values, size_t n,
                         const struct c3_op_opts *o, c3_done_cb cb, void *arg)
{
    return pjob_start(s, true, names, values, n, o, NULL, cb, arg);
}

/* ---- control ---- */

struct done_ctx {
    c3_done_cb cb;
    void *arg;
};

static void done_reply(struct c3_session *s, const struct c3_result *res, void *arg)
{
    struct done_ctx d = *(struct done_ctx *)arg;
    (void)s;
    free(arg);
    if (d.cb)
        d.cb(d.arg, res->err);
}

/* One request whose only answer is success or failure, told to cb. Returns 0 or a negative code (then cb is
 * not called). */
static int submit_done(struct c3_session *s, uint8_t cmd, const void *payload, size_t len, const struct c3_op_opts *o,
                       c3_done_cb cb, void *arg)
{
    struct done_ctx *d = malloc(sizeof *d);
    if (!d)
        return C3_S_NOMEM;
    d->cb = cb;
    d->arg = arg;
    struct c3_request_opts ro = req_opts(o, 0);
    ro.drop = free;
    long long id = c3_session_submit(s, cmd, payload, len, &ro, done_reply, d);
    if (id < 0) {
        free(d);
        return (int)id;
    }
    return 0;
}

int c3_client_control(struct c3_session *s, const uint8_t payload[5], const struct c3_op_opts *o,
                      c3_done_cb cb, void *arg)
{
    return submit_done(s, C3_CMD_CONTROL, payload, 5, o, cb, arg);
}

/* ---- info ---- */

static void copy_value(const struct c3_params_result *r, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->names[i], name) == 0 && r->values[i])
            snprintf(out, cap, "%s", r->values[i]);
}

static int int_value(const struct c3_params_result *r, const char *name)
{
    char buf[32];
    copy_value(r, name, buf, sizeof buf);
    if (!buf[0])
        return -1;
    char *end;
    long v = strtol(buf, &end, 10);
    if (*end != '\0' || v < 0 || v > 1000000)
        return -1;
    return (int)v;
}

void c3_info_from_params(const struct c3_params_result *r, struct c3_info *info)
{
    memset(info, 0, sizeof *info);
    copy_value(r, "~SerialNumber", info->serial, sizeof info->serial);
    copy_value(r, "FirmVer", info->firmware, sizeof info->firmware);
    copy_value(r, "~DeviceName", info->model, sizeof info->model);
    info->doors = int_value(r, "LockCount");
    info->readers = int_value(r, "ReaderCount");
    info->aux_in = int_value(r, "AuxInCount");
    info->aux_out = int_value(r, "AuxOutCount");
    if (!info->model[0] && info->doors > 0 && info->doors <= 4)
        /* ~DeviceName is often missing or just the model; LockCount is the reliable indicator. */
        snprintf(info->model, sizeof info->model, "C3-%d00", info->doors == 3 ? 4 : info->doors);
    char dt[32];
    copy_value(r, "DateTime", dt, sizeof dt);
    struct c3_param_span sp = { .name = "DateTime", .name_len = 8, .value = dt, .value_len = strlen(dt) };
    uint32_t v;
    if (dt[0] && c3_params_value_u32(&sp, &v) == 0) {
        info->datetime = v;
        info->has_datetime = 1;
    }
}

/* The caller of a parameter read, for the reply that decodes the values into its answer. */
struct read_ctx {
    union {
        c3_info_cb info;
        c3_time_cb time;
    } cb;
    void *arg;
};

/* Reads names; reply gets a malloc'd copy of c as its argument and frees it. Returns 0 or a negative code
 * (then nothing is called). */
static int read_params(struct c3_session *s, const char *const *names, size_t n, const struct c3_op_opts *o,
                       c3_params_cb reply, struct read_ctx c)
{
    struct read_ctx *h = malloc(sizeof *h);
    if (!h)
        return C3_S_NOMEM;
    *h = c;
    int rc = c3_client_params_get(s, names, n, o, reply, h);
    if (rc < 0)
        free(h);
    return rc;
}

static void info_reply(void *arg, const struct c3_params_result *r)
{
    struct read_ctx c = *(struct read_ctx *)arg;
    free(arg);
    struct c3_info info;
    c3_info_from_params(r, &info);
    if (c.cb.info)
        c.cb.info(c.arg, r->err, r->err ? NULL : &info);
}

int c3_client_info(struct c3_session *s, const struct c3_op_opts *o, c3_info_cb cb, void *arg)
{
    static const char *const names[] = { C3_INFO_PARAMS };
    return read_params(s, names, sizeof names / sizeof names[0], o, info_reply,
                       (struct read_ctx){ .cb.info = cb, .arg = arg });
}

/* ---- time ---- */

static void time_reply(void *arg, const struct c3_params_result *r)
{
    struct read_ctx c = *(struct read_ctx *)arg;
    free(arg);
    int err = r->err;
    uint32_t v = 0;
    if (!err) {
        const char *val = r->n ? r->values[0] : NULL;
        if (!val) {
            err = C3_E_SYNTAX;
        } else {
            struct c3_param_span sp = { .name = "DateTime", .name_len = 8, .value = val, .value_len = strlen(val) };
            err = c3_params_value_u32(&sp, &v);
        }
    }
    if (c.cb.time)
        c.cb.time(c.arg, err, v);
}

int c3_client_time_get(struct c3_session *s, const struct c3_op_opts *o, c3_time_cb cb, void *arg)
{
    static const char *const names[] = { "DateTime" };
    return read_params(s, names, 1, o, time_reply, (struct read_ctx){ .cb.time = cb, .arg = arg });
}

int c3_client_time_set(struct c3_session *s, uint32_t packed, const struct c3_op_opts *o, c3_done_cb cb,
                       void *arg)
{
    char buf[48];
    int len = c3_params_set_datetime(buf, sizeof buf, packed);
    if (len < 0)
        return len;
    return submit_done(s, C3_CMD_SET_PARAM, buf, (size_t)len, o, cb, arg);
}

int c3_client_time_sync(struct c3_session *s, const struct c3_op_opts *o, c3_done_cb cb, void *arg,
                        uint32_t *packed_out)
{
    uint32_t v;
    int rc = c3_time_from_time_t(time(NULL), &v);
    if (rc < 0)
        return rc;
    if (packed_out)
        *packed_out = v;
    return c3_client_time_set(s, v, o, cb, arg);
}
