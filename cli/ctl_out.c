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

int ctl_fail(bool json, const char *family, int rc, const char *msg)
{
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("error"));
        json_object_set_new(o, "error", json_string(msg));
        ctl_print_json(o);
    }
    fprintf(stderr, "portierctl %s: %s\n", family, msg);
    return rc;
}
