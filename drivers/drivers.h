/* drivers: the driver registry every front end uses: one device_ops per device family adapter.
 * device_attach_all(site, drivers_registry, ...) attaches a C3 panel or a NiX1 bus by its kind. */
#ifndef PORTIER_DRIVERS_H
#define PORTIER_DRIVERS_H

#include "core/device.h"

/* NULL-terminated: { &c3_device_ops, &nix1_device_ops, NULL }. */
extern const struct device_ops *const drivers_registry[];

#endif
