/* site_config: load and validate portier.conf (libconfig 1.5 syntax) into a struct site.
 * Every problem is reported at once as "file:line: message"; no libconfig type leaves this module. */
#ifndef PORTIER_SITE_CONFIG_H
#define PORTIER_SITE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/site.h"

struct config_diag {
    int line;                  /* 0 when the problem has no line (missing file, permissions) */
    bool warning;              /* warnings do not make the configuration invalid */
    char message[256];
};

struct config_diags {
    char file[SITE_PATH_MAX];
    size_t n, cap;
    struct config_diag *items;
    size_t errors, warnings;
};

void config_diags_free(struct config_diags *d);
/* Print every diagnostic as "file:line: message" (errors) or "file:line: warning: message" (line omitted
 * when 0), in line order. */
void config_diags_print(const struct config_diags *d, FILE *out);

/* Find the configuration: explicit (if not NULL), else $XDG_CONFIG_HOME/portier/portier.conf (or
 * ~/.config/portier/portier.conf), else /etc/portier/portier.conf. Returns buf, or NULL when none exists
 * (buf then holds the list of places tried, for the message). */
const char *site_config_find(const char *explicit_path, char *buf, size_t len);

/* Load and validate a file. Returns a site (devices and outputs built) when there is no error, else NULL;
 * diags gets every error and warning either way. A file holding a password that group or others can read
 * is refused with a message to chmod 600 it. */
struct site *site_config_load(const char *path, struct config_diags *diags);
/* The same from text in memory (no permission check; name is used in messages). For tests and fuzzing. */
struct site *site_config_load_string(const char *text, const char *name, struct config_diags *diags);

/* The whole --check-config: find, load, print diagnostics to err and a summary to out.
 * Returns 0 when valid (warnings allowed), 1 when invalid, 2 when no file was found. */
int site_config_check(const char *explicit_path, FILE *out, FILE *err);

/* ---- writer ---- */

/* Write the configuration part of a site (everything the loader fills: site name, panels, buses, roles,
 * emergency, journal, ui) as portier.conf text that site_config_load() reads back into the same values.
 * Panel passwords are written inline (also when they came from a password_file): chmod 600 the result.
 * Paths are written as held (the loader has already made relative ones relative to the original file).
 * Returns 0, or -1 when out reports a write error. */
int site_config_write(const struct site *site, FILE *out);

#endif
