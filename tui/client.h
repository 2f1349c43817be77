/* client: the console as a client of portierd: it connects, works on the mirror site the client library keeps
 * current, and takes what the daemon says (acknowledgements, the emergency, notices, losing the connection). */
#ifndef PORTIER_TUI_CLIENT_H
#define PORTIER_TUI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "tui/console.h"

struct site;

/* Which way the console runs: 1 = through portierd at sock (--socket, daemon.socket of a readable configuration,
 * or the default, when a socket file is there), 0 = owning the devices itself (--direct, or no socket file).
 * As a client, *local is the configuration when this user can read it (for its ui block; free it), else NULL. */
int client_choose(const char *socket_opt, const char *config, bool direct, char *sock, size_t len,
                  struct site **local);

/* Connect (c->loop set) and wait for the first snapshot: c->site is the mirror, c->user who the daemon says we are.
 * 0, or -1 with why. */
int client_start(struct console *c, const char *sock, char *why, size_t whylen);
/* Once the panes exist: the open alarms of the snapshot. */
void client_ready(struct console *c);
/* Disconnect and free (the mirror site too); before ui_free. */
void client_stop(struct console *c);

#endif
