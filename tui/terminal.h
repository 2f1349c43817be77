/* terminal: the console's terminal lifecycle: refuse unusable terminals, start curses in nodelay mode,
 * and put the terminal back on every exit, including crashes (SIGSEGV, SIGABRT, SIGBUS, SIGFPE). */
#ifndef PORTIER_TUI_TERMINAL_H
#define PORTIER_TUI_TERMINAL_H

#include <stdbool.h>
#include <stddef.h>

/* Check $TERM before touching the screen: 0 if usable, -1 with a message ("dumb" terminal, unknown
 * terminal, stdin/stdout not a terminal). */
int terminal_check(char *err, size_t errlen);

/* Start curses (cbreak, noecho, keypad, nodelay, short ESC delay, hidden cursor) and install the crash
 * handlers and an atexit hook that restore the terminal. Returns 0 or -1 with a message. */
int terminal_start(char *err, size_t errlen);
/* Restore the terminal (idempotent). */
void terminal_stop(void);
bool terminal_active(void);

/* True when colours should be used: the terminal has >= 8 colours and NO_COLOR is unset or empty. */
bool terminal_want_colour(void);
/* True when the locale is UTF-8 (line drawing with Unicode box characters). */
bool terminal_utf8(void);

#endif
