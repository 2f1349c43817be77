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
    int lock_fd;             /* DEMO_LOCK in dir, locked while this demo lives (0: none) */
};

/* The file in a demo's directory its console holds an flock(2) on while it lives: a directory whose lock can be
 * taken belongs to a demo whose console is gone. */
#define DEMO_LOCK "owner.lock"
/* What DEMO_LOCK is renamed to in a directory kept on exit (PORTIER_DEMO_KEEP set): demo_reap leaves it. */
#define DEMO_KEPT "kept"
/* The environment variable every process of a demo starts with: the demo's directory. */
#define DEMO_ENV "PORTIER_DEMO_DIR"

/* Remove what demos whose console is gone left in tmpdir (their portier-demo.* directories, and any of their
 * processes still running, found by DEMO_ENV); a live demo's are left alone. The number of directories removed. */
size_t demo_reap(const char *tmpdir);

/* Start the simulators and write the configuration (after demo_reap of the same temporary directory). 0, or -1
 * with a message (everything started is stopped again). activity = events per second per C3 panel. */
int demo_start(struct demo *d, unsigned activity, char *err, size_t errlen);
/* `portier --demo` (without --direct): a private portierd on the demo's configuration, its socket and state in the demo's
 * directory (stopped with the simulators). 0 with sock set, or -1 with a message. */
int demo_start_daemon(struct demo *d, char *sock, size_t socklen, char *err, size_t errlen);
/* Stop the simulators and remove the directory (idempotent). */
void demo_stop(struct demo *d);

#endif
