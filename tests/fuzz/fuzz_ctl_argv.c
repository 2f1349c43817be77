/* Fuzz target: portierctl's command line against the verb table (words separated by NUL bytes). Parsing opens
 * nothing; every outcome must be printable, and a command accepted for running must be complete. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    static struct ctl_call call;
    static struct ctl_error err;
    if (!sink)
        sink = fopen("/dev/null", "w");
    if (size > 4096)
        size = 4096;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *argv[66];
    int argc = 0;
    argv[argc++] = (char *)"portierctl";
    for (size_t i = 0; i <= size && argc < 65;) {
        argv[argc++] = text + i;
        i += strlen(text + i) + 1;
    }
    argv[argc] = NULL;
    switch (ctl_parse(argc, argv, ctl_families, &call, &err)) {
    case CTL_PARSE_RUN:
        if (!call.verb || !call.verb->run || !call.fam)
            abort();
        if (call.fam->target && (!call.target || !call.target[0]))
            abort();
        ctl_print_usage_line(sink, call.fam, call.verb);
        break;
    case CTL_PARSE_ERROR:
        if (!err.msg[0])
            abort(); /* a refusal always says why */
        ctl_print_error(sink, &err);
        break;
    case CTL_PARSE_HELP:
        ctl_print_help(sink, ctl_families, err.fam, &err);
        break;
    default:
        break;
    }
    free(text);
    return 0;
}
