/* pane_files: the file view of one NiX1 slave inside the Slaves pane: the files it holds (Qi), a file's
 * content (Qg), put a local file with packet progress, delete, and provisioning from the bus's server files. */
#ifndef PORTIER_PANE_FILES_H
#define PORTIER_PANE_FILES_H

#include <stdbool.h>
#include <stddef.h>

#include "tui/console.h"

struct files_view;

/* A view (closed); its results may arrive after files_view_free, which then frees it when the last one has. */
struct files_view *files_view_new(struct console *c);
void files_view_free(struct files_view *v);
/* Open the view on slave `slave` of bus `bus` (reads the file list). */
void files_view_open(struct files_view *v, size_t bus, size_t slave);
bool files_view_is_open(const struct files_view *v);
void files_view_draw(struct files_view *v, int y, int x, int h, int w);
/* A key while the view is open: PANE_HANDLED, or 0 when the key is not the view's (F-keys, resize). */
unsigned files_view_key(struct files_view *v, int key);
/* Ask to provision the open view's slave from its bus's server_dir (confirmation first). */
void files_view_provision(struct files_view *v);

#endif
