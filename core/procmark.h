/* procmark: which process an audit row belongs to. A row written while its action runs carries a mark naming the
 * process (pid, start time, boot); a restart tells an action whose process ended from one that still runs. */
#ifndef PORTIER_PROCMARK_H
#define PORTIER_PROCMARK_H

#include <stdbool.h>
#include <stddef.h>

/* The prefix every mark starts with. */
#define PROCMARK_PREFIX "running in pid "

/* This process's mark: "running in pid N (start T, boot B)", T its start in clock ticks since boot, B the start of
 * the kernel's boot id, so that a reused pid or a reboot is never taken for this process. */
void procmark_self(char *buf, size_t len);

/* Whether the process a text's leading mark names still runs (false for a text without a mark, a process of
 * another boot, a pid now used by another process). */
bool procmark_alive(const char *text);

#endif
