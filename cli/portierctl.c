/* portierctl: every portier capability, scriptable. Dispatches to one module per device family. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl.h"

extern const struct ctl_family ctl_c3_family;
extern const struct ctl_family ctl_nix1_family;
extern const struct ctl_family ctl_journal_family, ctl_audit_family, ctl_check_config_family;
extern const struct ctl_family ctl_door_family, ctl_status_family, ctl_emergency_family;

/* One line per family module. */
static const struct ctl_family *const families[] = {
    &ctl_c3_family,
    &ctl_nix1_family,
    &ctl_journal_family,
    &ctl_audit_family,
    &ctl_check_config_family,
    &ctl_door_family,
    &ctl_status_family,
    &ctl_emergency_family,
    NULL,
};

static void usage(FILE *out)
{
    fprintf(out, "usage: portierctl [--json] [-v] [--readonly] [-c FILE] COMMAND ...\n");
    for (size_t i = 0; families[i]; i++)
        fprintf(out, "%s\n", families[i]->usage);
}

int main(int argc, char **argv)
{
    struct ctl_opts opts = { 0 };
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            opts.json = true;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            opts.verbose = true;
        } else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc) {
            opts.config_path = argv[++i];
        } else if (strcmp(a, "--readonly") == 0) {
            setenv("PORTIER_READONLY", "1", 1); /* guard role for every site action */
        } else if (strcmp(a, "--check-config") == 0) {
            argv[i] = (char *)"check-config"; /* handled by the site family */
            break;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return CTL_EXIT_OK;
        } else {
            break;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return CTL_EXIT_USAGE;
    }
    for (size_t f = 0; families[f]; f++) {
        if (strcmp(argv[i], families[f]->name) == 0)
            return families[f]->main(&opts, argc - i - 1, argv + i + 1);
    }
    fprintf(stderr, "portierctl: unknown command '%s'\n", argv[i]);
    usage(stderr);
    return CTL_EXIT_USAGE;
}
