/* c3_client: panel operations on top of a c3_session: info, parameters get/set with batching (30/20 per
 * request), control (doors, aux outputs, alarms, restart), clock get/set/sync. Asynchronous, loop-driven. */
#ifndef PORTIER_C3_CLIENT_H
#define PORTIER_C3_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/c3/c3_session.h"

/* How a request is queued: prio and expiry are passed through to the session; reads are retried. */
struct c3_op_opts {
    enum c3_prio prio;     /* C3_PRIO_OPERATOR for commands from a person */
    uint32_t expire_ms;    /* give up this long after submission (0 = never) */
    uint32_t timeout_ms;   /* per-request reply deadline (0 = session default) */
};

/* Parameter results: values[i] answers names[i] (NULL when the panel did not mention that name). */
struct c3_params_result {
    int err;               /* 0 or the first failure (panel / codec / session code) */
    size_t n;
    const char *const *names;
    const char *const *values;
};
typedef void (*c3_params_cb)(void *arg, const struct c3_params_result *r);

/* GET_DEVICE_PARAM for any number of names, batched by 30. Names are copied. Returns 0 or a negative code
 * (then cb is not called). */
int c3_client_params_get(struct c3_session *s, const char *const *names, size_t n,
                         const struct c3_op_opts *o, c3_params_cb cb, void *arg);

/* SET_DEVICE_PARAM, batched by 20; r->names/values echo what was set. Not retried after a timeout. */
typedef void (*c3_done_cb)(void *arg, int err);
int c3_client_params_set(struct c3_session *s, const char *const *names, const char *const *values, size_t n,
                         const struct c3_op_opts *o, c3_done_cb cb, void *arg);

/* CONTROL_DEVICE with a 5-byte payload built by c3_control.h. Not retried. */
int c3_client_control(struct c3_session *s, const uint8_t payload[5], const struct c3_op_opts *o,
                      c3_done_cb cb, void *arg);

/* What `info` reports. Strings are empty when the panel did not answer them; counts -1 when unknown. */
struct c3_info {
    char serial[64];
    char firmware[96];
    char model[64];
    int doors, readers, aux_in, aux_out;
    uint32_t datetime;     /* packed panel local time; 0 when unknown */
    int has_datetime;
};
#define C3_INFO_PARAMS "~SerialNumber", "FirmVer", "~DeviceName", "LockCount", "ReaderCount", \
                       "AuxInCount", "AuxOutCount", "DateTime"
typedef void (*c3_info_cb)(void *arg, int err, const struct c3_info *info);
int c3_client_info(struct c3_session *s, const struct c3_op_opts *o, c3_info_cb cb, void *arg);
/* Fill info from a parameter result (exposed for tests). */
void c3_info_from_params(const struct c3_params_result *r, struct c3_info *info);

/* Clock: read DateTime (packed), set it, or set it to this machine's local time now. */
typedef void (*c3_time_cb)(void *arg, int err, uint32_t packed);
int c3_client_time_get(struct c3_session *s, const struct c3_op_opts *o, c3_time_cb cb, void *arg);
int c3_client_time_set(struct c3_session *s, uint32_t packed, const struct c3_op_opts *o, c3_done_cb cb,
                       void *arg);
/* Set to the local time of this machine; *packed_out (may be NULL) gets the value sent. */
int c3_client_time_sync(struct c3_session *s, const struct c3_op_opts *o, c3_done_cb cb, void *arg,
                        uint32_t *packed_out);

#endif
