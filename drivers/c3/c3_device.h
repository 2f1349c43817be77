/* c3_device: the C3 adapter of the site device contract (core/device.h): one panel = one device, a c3_session
 * on the loop; RT-log records become events and door states, operator commands become CONTROL_DEVICE requests. */
#ifndef PORTIER_C3_DEVICE_H
#define PORTIER_C3_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/device.h"
#include "drivers/c3/c3_session.h"

extern const struct device_ops c3_device_ops;

/* The session of an attached C3 device (statistics, benchmarks), or NULL when not connected yet. */
struct c3_session *c3_device_session(const struct device *dev);
/* device_ops.raw of the C3 adapter (c3_dev_raw.c). */
int c3_device_raw(struct device *dev, const struct device_raw *req, device_raw_fn cb, void *ctx, char *err,
                  size_t errlen);

/* Where the adapter keeps what it must remember across runs (emergency and pre-emergency door states): the
 * state directory's "site-<site>/c3-<panel>@<host>_<port>.state" (core/statedir.h). Writes into buf ("" when
 * there is no state directory); returns buf. */
char *c3_device_state_path(const struct site *site, const struct site_panel *panel, char *buf, size_t len);

#endif
