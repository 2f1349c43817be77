/* c3sim_params: the parameter table of a simulated C3 panel: defaults per model and dialect, the get and set
 * of the wire's "Name=value" text with the value checks of real firmware (spec §4.5), typed reads for the panel. */
#ifndef PORTIER_C3SIM_PARAMS_H
#define PORTIER_C3SIM_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "sim/c3sim_panel.h"

/* Fill the table with the power-on values of cfg's model and dialect: 0 or -1 (out of memory). */
int c3sim_params_defaults(struct c3sim_panel *p, const struct c3sim_panel_cfg *cfg);
/* Look up a stored parameter value; NULL if the panel has no such name (DateTime is computed). */
const char *c3sim_params_value(const struct c3sim_panel *p, const char *name);
uint8_t c3sim_params_device_id(const struct c3sim_panel *p);
/* Door<door><what> as a number, dflt when missing or not a number. */
long c3sim_params_door(const struct c3sim_panel *p, int door, const char *what, long dflt);

/* GET_PARAMS: "Name,Name,..." in, "Name=value,..." out: the reply length, or a negative panel error. */
int c3sim_params_get(struct c3sim_panel *p, const char *req, size_t len, char *out, size_t cap);
/* SET_PARAMS "Name=value,...": 0, C3SIM_RESTART (Reboot=1) or a negative panel error (nothing is changed then). */
int c3sim_params_set(struct c3sim_panel *p, const char *req, size_t len);

#endif
