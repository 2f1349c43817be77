/* ui: the console's screen manager: layout (status line, pane tabs, emergency banner, focused pane,
 * message line, function-key bar), dialogs, key dispatch through the request table, resize, the loop. */
#ifndef PORTIER_TUI_UI_H
#define PORTIER_TUI_UI_H

#include "tui/console.h"

#define UI_MIN_COLS 80
#define UI_MIN_ROWS 24
#define UI_TICK_MS 100 /* one tick of --exit-after */

/* Set up panes, subscriptions and timers on a started terminal. 0 or -1. */
int ui_init(struct console *c);
/* Run until quit; returns the exit status. */
int ui_run(struct console *c);
void ui_free(struct console *c);
/* Move the screen's output on to the terminal without blocking; while the terminal holds some back, the loop
 * waits for it to be writable and moves the rest then (and draws what was held back). 0 all out, 1 held, -1 the
 * terminal is gone. */
int ui_flush(struct console *c);
/* Handle one key as if typed (used by the input callback). */
void ui_key(struct console *c, int key);

#endif
