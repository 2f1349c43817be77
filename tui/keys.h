/* keys: key names for the console's key map ("F12", "C-l", "S-Tab", "Enter", "!", "PgUp") to curses
 * key codes and back. Pure: used by the config-driven key bindings, the help screen and the function bar. */
#ifndef PORTIER_TUI_KEYS_H
#define PORTIER_TUI_KEYS_H

#include <stddef.h>

/* Parse one key name. Returns the curses key code (>= 0) or -1 if the name is not a key we know.
 * Accepted: a printable ASCII character ("a", "!", "/"), "Space", "Tab", "S-Tab", "Enter", "Esc",
 * "Backspace", "Up", "Down", "Left", "Right", "PgUp", "PgDn", "Home", "End", "Ins", "Del",
 * "F1".."F12", "C-a".."C-z" (also "^A"), curses names ("KEY_DC", "KEY_F(5)"). Names are case-insensitive except single characters. */
int keys_parse(const char *name);

/* Write the canonical name of code into buf (at least 16 bytes). Returns buf. */
const char *keys_name(int code, char *buf, size_t len);

/* 1..12 if code is a function key, else 0. */
int keys_fkey(int code);

#endif
