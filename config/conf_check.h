/* conf_check: what the configuration loader checks below libconfig: files opened so that nothing can hang
 * (regular files only, a clear reason for FIFOs, devices, directories and link loops), text that is valid
 * UTF-8, integer literals as written (libconfig 1.5 wraps or saturates big ones), advice that names no
 * system file. Pure helpers, no libconfig. */
#ifndef PORTIER_CONF_CHECK_H
#define PORTIER_CONF_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* Open path for reading as a regular file without ever blocking (O_NONBLOCK: a FIFO with no writer would
 * wait forever). Returns the fd with *st filled, or -1 with why ("is a FIFO (named pipe), not a regular
 * file", "symbolic link loop (too many levels of symbolic links)", "no such file", ...). */
int conf_open_regular(const char *path, struct stat *st, char *why, size_t whylen);

/* Read a whole regular file of at most max bytes (conf_open_regular's rules) into a new NUL-terminated buffer
 * (*text, free it), *st filled. 0, or -1 with why. */
int conf_read_file(const char *path, size_t max, char **text, size_t *len, struct stat *st, char *why,
                   size_t whylen);

/* True when s is valid UTF-8 without control characters (C0, DEL, C1): text an operator will see. Otherwise
 * *bad is the offset of the first offending byte and *what says what it is ("byte 0xFF", "control character
 * U+0085", ...). */
bool conf_text_ok(const char *s, size_t *bad, char *what, size_t whatlen);

/* An integer literal of the configuration syntax ([+-]digits, 0x hex, optional L/LL). */
struct conf_int {
    char text[48];       /* as written (cut at 47 characters) */
    bool overflow;       /* its value does not fit in 64 bits */
    long long value;     /* the value, when !overflow */
    long long libconfig; /* what libconfig 1.5 makes of it (plain: 32 bits, wrapped; L: 64 bits, saturated) */
};
/* Find the literal of setting `key` in the text from line `line` on (a setting starts on its line; the value
 * may follow on the next ones). When the key occurs more than once, the occurrence whose libconfig value is
 * `seen` is taken. true when found. */
bool conf_find_int(const char *text, int line, const char *key, long long seen, struct conf_int *out);

/* May advice say "chmod 600 PATH"? Only for a regular file of the user's own that is not a system file
 * (under /dev, /proc, /sys, /usr, /bin, /sbin, /lib*, /boot, /run, /var, or /etc outside /etc/portier). */
bool conf_advice_ok(const char *path, const struct stat *st);

#endif
