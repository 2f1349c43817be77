/* ctl: what every portierctl subcommand shares: global options, output mode and exit codes.
 * Each family (c3, nix1, site) lives in its own ctl_<family>.c and is listed in portierctl.c. */
#ifndef PORTIER_CTL_H
#define PORTIER_CTL_H

#include <stdbool.h>
#include <stdio.h>

/* Exit status shared by every subcommand. */
enum {
    CTL_EXIT_OK = 0,
    CTL_EXIT_DEVICE_ERROR = 1, /* the device answered with an error code */
    CTL_EXIT_USAGE = 2,
    CTL_EXIT_UNREACHABLE = 3,  /* no answer, timed out, connection refused */
};

struct ctl_opts {
    bool json;               /* --json: one JSON object per line on stdout */
    const char *config_path; /* -c FILE */
    bool verbose;            /* -v: protocol trace on stderr */
};

typedef int (*ctl_main_fn)(const struct ctl_opts *opts, int argc, char **argv);

struct ctl_family {
    const char *name;
    ctl_main_fn main;
    const char *usage; /* one or more lines, no trailing newline */
};

#endif
