/* emergency: portierd's emergency supervisor: the intent written durably before the doors are sent anything,
 * live counts for every client, doors that did not confirm retried until they do or the emergency ends. */
#ifndef PORTIER_DAEMON_EMERGENCY_H
#define PORTIER_DAEMON_EMERGENCY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/action.h"
#include "core/proto.h"

struct daemon;
struct emergency;

/* The state file lives in the daemon's state directory (d->state_dir). */
struct emergency *emergency_new(struct daemon *d);
void emergency_free(struct emergency *e);

/* Before an emergency-on/off action is run: write the intent durably (on: active since now, by whom; off: the
 * restore was asked). 0, or -1 with err (the emergency still proceeds; the caller says so). */
int emergency_intent(struct emergency *e, bool on, const char *by, char *err, size_t errlen);
/* Progress and end of an emergency-on/off action (whoever started it). */
void emergency_progress(struct emergency *e, const struct action_run *run, bool finished);
/* An output's state changed (its device may have confirmed the unlock by itself, e.g. after reconnecting). */
void emergency_output_changed(struct emergency *e, size_t output);
/* At start, after the devices are attached: an emergency the state file says is active is resumed (active at
 * once for every client; every emergency door sent the unlock again until it confirms). */
void emergency_resume(struct emergency *e);
/* What clients see. */
void emergency_state(const struct emergency *e, struct proto_emergency *out);
/* True while the emergency is active or an emergency action runs (a reload must wait). */
bool emergency_busy(const struct emergency *e);

#endif
