/* requests: what portierd does for a client's request: every core action through action_run with the client's
 * user and role (progress to the requester, the action to every client), journal and audit queries, slave reads. */
#ifndef PORTIER_DAEMON_REQUESTS_H
#define PORTIER_DAEMON_REQUESTS_H

#include <jansson.h>

#include "daemon/daemon.h"

/* One request line of a client. */
void requests_handle(struct daemon *d, struct client *c, const json_t *req);
/* The client is gone: its requests keep running, their answers go nowhere. */
void requests_client_gone(struct daemon *d, struct client *c);
/* The actions running now, as "action" objects (for a snapshot). */
json_t *requests_running_json(struct daemon *d);
/* At start, devices attached and started: close the audit rows an ended process left pending, and complete an
 * emergency some device remembers on the devices that never got it (core action_recover), shown to every client.
 * Returns the number of rows closed, or -1. */
int requests_recover(struct daemon *d);
/* Free what is left at exit (drivers detached: no callback can come any more). */
void requests_free_all(struct daemon *d);

#endif
