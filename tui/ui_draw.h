/* ui_draw: the console's screen (status line, banners, pane tabs, the focused pane, message line, function-key
 * bar, dialogs, the small-window form); what ui's keys and loop redraw. */
#ifndef PORTIER_TUI_UI_DRAW_H
#define PORTIER_TUI_UI_DRAW_H

#include "tui/console.h"

/* The panes in tab order (the tabs drawn, the next/previous pane keys): every pane but help. */
#define UI_N_TABS (PANE_COUNT - 1)
extern const enum pane_id ui_tab_order[UI_N_TABS];

/* Draw the whole screen for the console's state. */
void ui_draw(struct console *c);

#endif
