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
/* Curses writes into a pipe, never to the terminal: a reader thread takes the bytes into memory as they are written
 * (curses never waits, whatever a frame's size) and the loop moves them on with non-blocking writes, so a
 * terminal that stops reading (a stalled SSH link, Ctrl-S, a tmux client that went away) never holds the loop.
 * The terminal, for a LOOP_WRITE watch while a backlog is held. */
int terminal_out_fd(void);
/* Bytes curses wrote that the terminal has not taken yet (nothing may be drawn while there are any). */
size_t terminal_backlog(void);
/* Move what curses wrote on to the terminal: 0 all taken, 1 some held (wait for the terminal to be writable),
 * -1 the terminal is gone (the output is dropped). */
int terminal_flush(void);
/* Restore the terminal (idempotent). */
void terminal_stop(void);
bool terminal_active(void);
/* Ctrl-Z: put the terminal back as the shell had it before the console stops itself; after it continues, take it
 * again (the caller then redraws the whole screen). */
void terminal_suspend(void);
void terminal_resume(void);

/* True when colours should be used: the terminal has >= 8 colours and NO_COLOR is unset or empty. */
bool terminal_want_colour(void);
/* True when the locale is UTF-8 (line drawing with Unicode box characters). */
bool terminal_utf8(void);

#endif
