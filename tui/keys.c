/* keys: key names to curses codes and back. */
#include "tui/keys.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curses.h>

static const struct {
    const char *name;
    int code;
} named[] = {
    {"Space", ' '},       {"Tab", '\t'},         {"S-Tab", KEY_BTAB},   {"BTab", KEY_BTAB},
    {"Enter", '\n'},      {"Return", '\n'},      {"Esc", 27},           {"Escape", 27},
    {"Backspace", KEY_BACKSPACE},                {"Up", KEY_UP},        {"Down", KEY_DOWN},
    {"Left", KEY_LEFT},   {"Right", KEY_RIGHT},  {"PgUp", KEY_PPAGE},   {"PageUp", KEY_PPAGE},
    {"PgDn", KEY_NPAGE},  {"PageDown", KEY_NPAGE},                      {"Home", KEY_HOME},
    {"End", KEY_END},     {"Ins", KEY_IC},       {"Insert", KEY_IC},    {"Del", KEY_DC},
    {"Delete", KEY_DC},
    /* curses names, as some configurations spell them */
    {"KEY_DC", KEY_DC},   {"KEY_IC", KEY_IC},    {"KEY_HOME", KEY_HOME}, {"KEY_END", KEY_END},
    {"KEY_PPAGE", KEY_PPAGE}, {"KEY_NPAGE", KEY_NPAGE}, {"KEY_UP", KEY_UP}, {"KEY_DOWN", KEY_DOWN},
    {"KEY_LEFT", KEY_LEFT}, {"KEY_RIGHT", KEY_RIGHT}, {"KEY_BTAB", KEY_BTAB}, {"KEY_ENTER", '\n'},
    {"KEY_BACKSPACE", KEY_BACKSPACE},
};

int keys_parse(const char *name)
{
    if (!name || !*name)
        return -1;
    size_t n = strlen(name);
    if (n == 1) {
        unsigned char c = (unsigned char)name[0];
        return (c >= 0x21 && c <= 0x7e) ? c : -1;
    }
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (strcasecmp(name, named[i].name) == 0)
            return named[i].code;
    if (strncasecmp(name, "KEY_F", 5) == 0 && n > 5) {
        char num[8];
        size_t j = 0;
        for (size_t i = 5; i < n && j + 1 < sizeof num; i++)
            if (name[i] != '(' && name[i] != ')')
                num[j++] = name[i];
        num[j] = '\0';
        if (j == 0 || j > 2)
            return -1;
        char f[16];
        snprintf(f, sizeof f, "F%s", num);
        return keys_parse(f);
    }
    if ((name[0] == 'F' || name[0] == 'f') && n <= 3) {
        int v = 0;
        for (size_t i = 1; i < n; i++) {
            if (!isdigit((unsigned char)name[i]))
                return -1;
            v = v * 10 + (name[i] - '0');
        }
        if (name[1] == '0' || v < 1 || v > 12)
            return -1;
        return KEY_F(v);
    }
    if (n == 3 && (name[0] == 'C' || name[0] == 'c') && name[1] == '-' && isalpha((unsigned char)name[2]))
        return tolower((unsigned char)name[2]) - 'a' + 1;
    if (n == 2 && name[0] == '^' && isalpha((unsigned char)name[1]))
        return tolower((unsigned char)name[1]) - 'a' + 1;
    return -1;
}

int keys_fkey(int code)
{
    for (int i = 1; i <= 12; i++)
        if (code == KEY_F(i))
            return i;
    return 0;
}

const char *keys_name(int code, char *buf, size_t len)
{
    if (!buf || len == 0)
        return buf;
    int f = keys_fkey(code);
    if (f) {
        snprintf(buf, len, "F%d", f);
        return buf;
    }
    switch (code) {
    case ' ': snprintf(buf, len, "Space"); return buf;
    case '\t': snprintf(buf, len, "Tab"); return buf;
    case '\n': case '\r': case KEY_ENTER: snprintf(buf, len, "Enter"); return buf;
    case 27: snprintf(buf, len, "Esc"); return buf;
    case 127: case KEY_BACKSPACE: snprintf(buf, len, "Backspace"); return buf;
    default: break;
    }
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (named[i].code == code) {
            snprintf(buf, len, "%s", named[i].name);
            return buf;
        }
    if (code >= 1 && code <= 26) {
        snprintf(buf, len, "C-%c", 'a' + code - 1);
        return buf;
    }
    if (code >= 0x21 && code <= 0x7e) {
        snprintf(buf, len, "%c", code);
        return buf;
    }
    snprintf(buf, len, "<%d>", code);
    return buf;
}
