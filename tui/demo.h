/* demo: `portier --demo`: a simulated site (two C3 panels of different models and one NiX1 bus with three
 * slaves on a pseudo-terminal, with scripted activity) started from the portier-sim next to the binary, in a
 * temporary directory with its own configuration and journal; stopped and removed on exit. */
#ifndef PORTIER_TUI_DEMO_H
#define PORTIER_TUI_DEMO_H

#include <stddef.h>
#include <sys/types.h>

struct demo {
    char dir[256];           /* temporary directory */
    char config[320];        /* generated portier.conf */
    char journal[320];
    pid_t pids[6];
    size_t n_pids;
};

/* Start the simulators and write the configuration. 0, or -1 with a message (everything started is
 * stopped again). activity = events per second per C3 panel. */
int demo_start(struct demo *d, unsigned activity, char *err, size_t errlen);
/* `portier --demo` (without --direct): a private portierd on the demo's configuration, its socket and state in the demo's
 * directory (stopped with the simulators). 0 with sock set, or -1 with a message. */
int demo_start_daemon(struct demo *d, char *sock, size_t socklen, char *err, size_t errlen);
/* Stop the simulators and remove the directory (idempotent). */
void demo_stop(struct demo *d);

#endif
