/* cards_edit: the Cards view's user editor: a form checked before anything is sent, a dry run showing the panel's
 * difference, then the change applied (the user's row, then the user's access rights) as a job of its own. */
#ifndef PORTIER_CARDS_EDIT_H
#define PORTIER_CARDS_EDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "tui/pane_cards_int.h"

/* Draw the editor in the pane's area. */
void cards_edit_draw(struct console *c, struct cpriv *cp, int y, int x, int h, int w);
/* Open the form: a new user (adding) or row of the panel shown. */
void cards_edit_open(struct console *c, struct cpriv *cp, bool adding, size_t row);
/* Start the check (dry) or the change the form says, or the deletion of the user it shows. */
void cards_edit_start(struct console *c, struct cpriv *cp, bool dry, bool deleting);
/* A key while the editor is open (PANE_HANDLED), or 0 when it is closed or the key is not the editor's. */
unsigned cards_edit_key(struct console *c, struct pane *p, int key);
/* Forget what the last dry run or change said. */
void cards_edit_clear(struct cpriv *cp);

#endif
