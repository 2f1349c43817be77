/* statedir: the one rule for where portier keeps what must survive a restart (door and emergency states, the
 * journal by default): an explicit directory (--state-dir), else $XDG_STATE_HOME/portier, else ~/.local/state/portier. */
#ifndef PORTIER_STATEDIR_H
#define PORTIER_STATEDIR_H

#include <stddef.h>

/* Use `dir` instead of the environment from now on (a daemon's --state-dir, a test); NULL or "" goes back to the
 * rule. A relative dir is made absolute against the current directory now. 0, or -1 with err. */
int statedir_override(const char *dir, char *err, size_t errlen);

/* The state directory (not created): the override; else $XDG_STATE_HOME/portier when that variable holds an
 * absolute path (the XDG rule: a relative one is ignored); else $HOME/.local/state/portier, with HOME from the
 * environment or, when unset, the user database. 0, or -1 with err when there is no home directory. */
int statedir_get(char *buf, size_t len, char *err, size_t errlen);

/* The path of `name` inside the state directory; the directory and the parents of name (name may hold '/') are
 * created with mode 0700. 0, or -1 with err. */
int statedir_path(const char *name, char *buf, size_t len, char *err, size_t errlen);

/* The state file of one device of a site: "site-<site>/<kind>-<device>@<where>.state" in the state directory
 * (each part made safe with statedir_name), so two sites, or two devices that once had the same address,
 * never share a file; the directories are created. 0, or -1 with err. */
int statedir_device_path(const char *site, const char *kind, const char *device, const char *where, char *buf,
                         size_t len, char *err, size_t errlen);

/* `text` as one safe file-name component: letters, digits, '.', '-' and '@' kept, anything else '_'; never "",
 * "." or "..". Writes into buf (len >= 2); returns buf. */
char *statedir_name(const char *text, char *buf, size_t len);

#endif
