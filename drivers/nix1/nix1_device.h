/* nix1_device: the NiX1 adapter of the site device contract (core/device.h): one RS-485 bus = one device, its
 * slaves' used probes are the outputs; ACCESS entries become events, commands run the §5.14 door profile. */
#ifndef PORTIER_NIX1_DEVICE_H
#define PORTIER_NIX1_DEVICE_H

#include <stddef.h>

#include "core/device.h"
#include "drivers/nix1/nix1_bus.h"
#include "drivers/nix1/nix1_door.h"

extern const struct device_ops nix1_device_ops;

/* The bus master of an attached NiX1 device (traces, statistics, benchmarks); NULL while the port is closed. */
nix1_bus_t *nix1_device_bus(const struct device *dev);
/* device_ops.raw of the NiX1 adapter (nix1_dev_raw.c). */
int nix1_device_raw(struct device *dev, const struct device_raw *req, device_raw_fn cb, void *ctx, char *err,
                    size_t errlen);
/* Its door controller (remembered slave states); NULL while the port is closed. */
struct nix1_door *nix1_device_door(const struct device *dev);

/* The file that keeps the remembered slave states (§5.14 restore) across runs: the state directory's
 * "site-<site>/nix1-<bus>@<port>.state" (core/statedir.h); "" when there is no state directory. */
char *nix1_device_state_path(const struct site *site, const struct site_bus *bus, char *buf, size_t len);

#endif
