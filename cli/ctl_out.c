/* ctl_out: output shared by the portierctl families, and the one rule of --json failures. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/ctl.h"

/* --json failures: what standard error said last (one line), and whether an object with "error" went out. */
static struct {
    bool on;
    bool error_said;
    char line[512], last[512];
    size_t len;
} jerr;

void ctl_print_json(json_t *o)
{
    if (json_is_object(o) && json_object_get(o, "error"))
        jerr.error_said = true;
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
    if (json)
        ctl_print_json(json_pack("{s:s,s:s,s:i}", "type", "error", "error", msg, "code", rc));
    fprintf(stderr, "portierctl %s: %s\n", family, msg);
    return rc;
}

/* Standard error while --json is on: everything goes to fd 2 as written; the last non-empty line is kept. */
static ssize_t stderr_write(void *cookie, const char *buf, size_t n)
{
    (void)cookie;
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n' || buf[i] == '\r') {
            if (jerr.len) {
                memcpy(jerr.last, jerr.line, jerr.len);
                jerr.last[jerr.len] = '\0';
            }
            jerr.len = 0;
        } else if (jerr.len + 1 < sizeof jerr.line) {
            jerr.line[jerr.len++] = buf[i];
        }
    }
    for (size_t done = 0; done < n;) {
        ssize_t w = write(STDERR_FILENO, buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* standard error is gone: nothing more to say there */
        done += (size_t)w;
    }
    return (ssize_t)n;
}

void ctl_json_errors_begin(bool json)
{
    if (!json)
        return;
    cookie_io_functions_t io = { .write = stderr_write };
    FILE *f = fopencookie(NULL, "w", io);
    if (!f)
        return;
    setvbuf(f, NULL, _IONBF, 0);
    stderr = f;
    jerr.on = true;
}

void ctl_json_errors_end(int rc, const char *said)
{
    if (!jerr.on || rc == CTL_EXIT_OK || jerr.error_said)
        return;
    if (jerr.len) { /* a last line without its newline */
        memcpy(jerr.last, jerr.line, jerr.len);
        jerr.last[jerr.len] = '\0';
    }
    /* the message without the program's name: "portierctl: x", "portierctl c3: x" -> "x" */
    const char *msg = said ? said : jerr.last, *colon = strstr(msg, ": ");
    if (strncmp(msg, "portierctl", 10) == 0 && colon && colon - msg <= 16)
        msg = colon + 2;
    json_t *text = json_string(msg[0] ? msg : "failed"); /* NULL for a line cut inside a character */
    ctl_print_json(json_pack("{s:s,s:o,s:i}", "type", "error", "error", text ? text : json_string("failed"), "code",
                             rc));
}
