/* portierctl: every portier capability, scriptable. The command line is parsed and checked against the verb
 * table (cli/ctl.h) before anything is opened; then the row's handler runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl.h"

static int legacy(int argc, char **argv, int *rc)
{
    struct ctl_opts opts = { 0 };
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0)
            opts.json = true;
        else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
            opts.verbose = true;
        else if (strcmp(a, "--readonly") == 0)
            opts.readonly = true;
        else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc)
            opts.config_path = argv[++i];
        else
            break;
    }
    if (i < argc && strcmp(argv[i], "nix1") == 0) {
        *rc = ctl_nix1_legacy_main(&opts, argc - i - 1, argv + i + 1);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int rc;
    if (legacy(argc, argv, &rc))
        return rc;
    static struct ctl_call call;
    static struct ctl_error err;
    switch (ctl_parse(argc, argv, ctl_families, &call, &err)) {
    case CTL_PARSE_HELP:
        ctl_print_help(stdout, ctl_families, err.fam, &err);
        return CTL_EXIT_OK;
    case CTL_PARSE_VERSION:
        printf("portierctl %s\n", PORTIER_VERSION);
        return CTL_EXIT_OK;
    case CTL_PARSE_MAN:
        ctl_print_man(stdout, ctl_families);
        return CTL_EXIT_OK;
    case CTL_PARSE_ERROR:
        ctl_print_error(stderr, &err);
        return CTL_EXIT_USAGE;
    case CTL_PARSE_RUN:
        break;
    }
    if (call.g.socket_path && call.g.direct) {
        fprintf(stderr, "portierctl: --socket and --direct: choose portierd or owning the devices here\n");
        return CTL_EXIT_USAGE;
    }
    if (call.g.readonly && call.changes && call.verb->action == CTL_NO_ACTION) {
        /* Site commands with a core action are refused by the action API itself (guard role, audited as
         * denied, no device opened); everything else is refused here, before anything is opened. */
        char name[96];
        snprintf(name, sizeof name, "%s%s%.80s", call.fam->name ? call.fam->name : "", call.fam->name ? " " : "",
                 call.verb->syntax);
        fprintf(stderr, "portierctl: --readonly: '%s' changes state: refused, nothing was opened or sent\n", name);
        return CTL_EXIT_USAGE;
    }
    return call.verb->run(&call);
}
