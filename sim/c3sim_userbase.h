/* c3sim_userbase: a synthetic C3 user base of any size, for the tests and benchmarks of whole-table imports: the
 * panel's user rows and an operator's import file that keeps, changes, deletes and adds a known share of them. */
#ifndef PORTIER_C3SIM_USERBASE_H
#define PORTIER_C3SIM_USERBASE_H

#include <stddef.h>

#include "core/csv.h"
#include "drivers/c3/c3_tables.h"

/* Parse the tables the user base needs (user, userauthorize, timezone) into defs (room for max); their count. */
int c3sim_userbase_defs(struct c3_table_def *defs, size_t max);
/* The panel's users 1..n as raw rows of the user table (every 20th without a card); 0, or -1 out of memory. */
int c3sim_userbase_panel(const struct c3_table_def *user, size_t n, struct csv *raw);
/* The import file (users' CSV with its header): 95 % of the panel's users kept (those whose pin % 20 == 3
 * deleted), every 10th renamed, 5 % new ones, in a shuffled order (as a spreadsheet may sort them), then extra as
 * it is. Allocated (free()), NULL out of memory. */
char *c3sim_userbase_file(size_t n, const char *extra);

#endif
