/* ctl_families: the portierctl families, one line each (the site commands first). */
#include <stddef.h>

#include "cli/ctl.h"

extern const struct ctl_family ctl_site_family, ctl_c3_family, ctl_nix1_family;

const struct ctl_family *const ctl_families[] = {
    &ctl_site_family,
    &ctl_c3_family,
    &ctl_nix1_family,
    NULL,
};
