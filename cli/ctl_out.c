/* ctl_out: output shared by the portierctl families. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/ctl.h"

void ctl_print_json(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) : NULL;
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(o);
    fflush(stdout);
}
