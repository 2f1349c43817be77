/* c3_dev_raw: the C3 adapter's raw pass-through (device_ops.raw): one command beside the session's own traffic, for
 * a technician through portierd. What would take the session's work away is refused: a connect or disconnect (the
 * session is the panel's one client), an RT-log read (its events belong in the journal), the mark that moves the
 * panel's new-record pointer (the catch-up's) and the big-data transfer (the panel's one buffer is the session's). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/c3/c3_device.h"
#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_session.h"

static void raw_done(struct c3_session *s, const struct c3_result *res, void *arg)
{
    (void)s;
    struct device_raw_call *r = arg;
    if (res->err)
        r->cb(r->ctx, res->code, res->data, res->len, NULL, c3_session_strerror(res->err));
    else
        r->cb(r->ctx, res->code, res->data, res->len, NULL, NULL);
    free(r);
}

int c3_device_raw(struct device *dev, const struct device_raw *req, device_raw_fn cb, void *ctx, char *err,
                  size_t errlen)
{
    struct c3_session *s = c3_device_session(dev);
    if (!s) {
        snprintf(err, errlen, "no C3 session");
        return -1;
    }
    switch (req->command) {
    case C3_CMD_CONNECT:
    case C3_CMD_DISCONNECT:
    case C3_CMD_CONNECT_SESSION:
        snprintf(err, errlen, "command 0x%02x would take over the panel's session: refused", req->command);
        return -1;
    case C3_CMD_RTLOG_BINARY:
    case C3_CMD_RTLOG_KV:
        snprintf(err, errlen, "command 0x%02x reads the real-time log, whose events belong in the journal: refused "
                 "(they are in portierctl journal)", req->command);
        return -1;
    case C3_CMD_GET_DATA_OK:
        snprintf(err, errlen, "command 0x%02x moves the panel's new-record pointer, which the catch-up of stored events "
                 "follows: refused (portierctl c3 HOST events --history reads them)", req->command);
        return -1;
    case C3_CMD_PREPARE_DATA:
    case C3_CMD_READ_DATA:
    case C3_CMD_FREE_DATA:
    case C3_CMD_DATA:
        snprintf(err, errlen, "command 0x%02x is a step of a big-data transfer, whose one buffer in the panel the "
                 "session's own transfers use: refused (portierctl c3 HOST table ... runs them)", req->command);
        return -1;
    default:
        break;
    }
    struct device_raw_call *r = device_raw_call_new(cb, ctx, err, errlen);
    if (!r)
        return -1;
    struct c3_request_opts o = { .prio = C3_PRIO_OPERATOR, .timeout_ms = req->timeout_ms, .expire_ms = 10000 };
    long long id = c3_session_submit(s, req->command, req->payload, req->len, &o, raw_done, r);
    if (id < 0) {
        snprintf(err, errlen, "%s", c3_session_strerror((int)id));
        free(r);
        return -1;
    }
    return 0;
}
