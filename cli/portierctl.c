/* portierctl: every portier capability, scriptable. The command line is parsed and checked against the verb
 * table (cli/ctl.h) before anything is opened; then the row's handler runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl.h"

int main(int argc, char **argv)
{
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
    case CTL_PARSE_LIST:
        ctl_print_commands(stdout, ctl_families);
        return CTL_EXIT_OK;
    case CTL_PARSE_ERROR:
        ctl_json_errors_begin(call.g.json);
        ctl_json_errors_end(CTL_EXIT_USAGE, err.msg);
        ctl_print_error(stderr, &err);
        return CTL_EXIT_USAGE;
    case CTL_PARSE_RUN:
        break;
    }
    ctl_json_errors_begin(call.g.json);
    int rc;
    if (call.g.socket_path && call.g.direct) {
        fprintf(stderr, "portierctl: --socket and --direct: choose portierd or owning the devices here\n");
        rc = CTL_EXIT_USAGE;
    } else if (call.g.readonly && call.changes && call.verb->action == CTL_NO_ACTION) {
        /* Site commands with a core action are refused by the action API itself (guard role, audited as
         * denied, no device opened); everything else is refused here, before anything is opened. */
        char name[96];
        snprintf(name, sizeof name, "%s%s%.80s", call.fam->name ? call.fam->name : "", call.fam->name ? " " : "",
                 call.verb->syntax);
        fprintf(stderr, "portierctl: --readonly: '%s' changes state: refused, nothing was opened or sent\n", name);
        ctl_refuse();
        rc = CTL_EXIT_USAGE;
    } else {
        rc = call.verb->run(&call);
    }
    ctl_json_errors_end(rc, NULL);
    /* every exit 2 comes with the command's usage line (the handlers say what was wrong), but a refusal of a
     * file's data, of the caller's role or of --readonly: the command line was right */
    if (rc == CTL_EXIT_USAGE && !ctl_refused())
        ctl_print_usage_line(stderr, call.fam, call.verb);
    return rc;
}
