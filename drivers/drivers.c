/* drivers: the registry of device family adapters. */
#include "drivers/drivers.h"

#include <stddef.h>

#include "drivers/c3/c3_device.h"
#include "drivers/nix1/nix1_device.h"

const struct device_ops *const drivers_registry[] = {
    &c3_device_ops,
    &nix1_device_ops,
    NULL,
};
