/* terminal: terminal setup and teardown, crash-safe. */
#include "tui/terminal.h"

#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>

static bool active;
static bool have_termios;
static struct termios saved_termios;
/* Escape sequences written by the crash handler (write(2) only: async-signal-safe). */
static char restore_seq[256];
static size_t restore_len;

int terminal_check(char *err, size_t errlen)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        snprintf(err, errlen, "portier needs a terminal on stdin and stdout (use portierctl for scripts)");
        return -1;
    }
    const char *t = getenv("TERM");
    if (!t || !*t) {
        snprintf(err, errlen, "TERM is not set; portier needs a full-screen terminal (e.g. TERM=xterm-256color)");
        return -1;
    }
    if (strcmp(t, "dumb") == 0) {
        snprintf(err, errlen, "the terminal '%s' cannot move the cursor; portier needs a full-screen terminal "
                 "(e.g. TERM=xterm-256color), or use portierctl", t);
        return -1;
    }
    int rc = 0;
    if (setupterm(t, STDOUT_FILENO, &rc) != OK) {
        snprintf(err, errlen, "unknown terminal type '%s' (no terminfo entry)", t);
        return -1;
    }
    if (!tigetstr("cup") || tigetstr("cup") == (char *)-1) {
        snprintf(err, errlen, "the terminal '%s' cannot address the cursor; portier needs a full-screen terminal", t);
        del_curterm(cur_term);
        return -1;
    }
    del_curterm(cur_term);
    return 0;
}

static void add_cap(const char *cap)
{
    char *s = tigetstr(cap);
    if (!s || s == (char *)-1)
        return;
    size_t n = strlen(s);
    if (restore_len + n < sizeof restore_seq) {
        memcpy(restore_seq + restore_len, s, n);
        restore_len += n;
    }
}

static void crash_handler(int sig)
{
    if (active) {
        if (have_termios)
            tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
        if (restore_len) {
            ssize_t w = write(STDOUT_FILENO, restore_seq, restore_len);
            (void)w;
        }
        static const char msg[] = "\nportier: crashed; terminal restored\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void atexit_hook(void)
{
    terminal_stop();
}

/* What other terminals send for the keys portier uses, taken as well as the terminfo entry's own: over SSH the
 * TERM of the far end often names another terminal than the one typing (PuTTY or rxvt as "xterm", a terminal
 * emulator as "linux"), whose function and cursor keys would otherwise arrive as Esc followed by keys that act. A
 * sequence the entry already uses, or one that is a prefix of one it uses, is left to the entry. */
static void alternate_keys(void)
{
    static const struct {
        const char *seq;
        int code;
    } alt[] = {
        {"\033OP", KEY_F(1)},    {"\033OQ", KEY_F(2)},    {"\033OR", KEY_F(3)},    {"\033OS", KEY_F(4)},
        {"\033[11~", KEY_F(1)},  {"\033[12~", KEY_F(2)},  {"\033[13~", KEY_F(3)},  {"\033[14~", KEY_F(4)},
        {"\033[[A", KEY_F(1)},   {"\033[[B", KEY_F(2)},   {"\033[[C", KEY_F(3)},   {"\033[[D", KEY_F(4)},
        {"\033[[E", KEY_F(5)},   {"\033[15~", KEY_F(5)},  {"\033[17~", KEY_F(6)},  {"\033[18~", KEY_F(7)},
        {"\033[19~", KEY_F(8)},  {"\033[20~", KEY_F(9)},  {"\033[21~", KEY_F(10)}, {"\033[23~", KEY_F(11)},
        {"\033[24~", KEY_F(12)}, {"\033[A", KEY_UP},      {"\033[B", KEY_DOWN},    {"\033[C", KEY_RIGHT},
        {"\033[D", KEY_LEFT},    {"\033OA", KEY_UP},      {"\033OB", KEY_DOWN},    {"\033OC", KEY_RIGHT},
        {"\033OD", KEY_LEFT},    {"\033[H", KEY_HOME},    {"\033OH", KEY_HOME},    {"\033[1~", KEY_HOME},
        {"\033[7~", KEY_HOME},   {"\033[F", KEY_END},     {"\033OF", KEY_END},     {"\033[4~", KEY_END},
        {"\033[8~", KEY_END},    {"\033[2~", KEY_IC},     {"\033[3~", KEY_DC},     {"\033[5~", KEY_PPAGE},
        {"\033[6~", KEY_NPAGE},  {"\033[Z", KEY_BTAB},
    };
    for (size_t i = 0; i < sizeof alt / sizeof alt[0]; i++)
        if (key_defined(alt[i].seq) == 0)
            define_key(alt[i].seq, alt[i].code);
}

static void paste_mode(bool on)
{
    fflush(stdout);
    ssize_t w = write(STDOUT_FILENO, on ? "\033[?2004h" : "\033[?2004l", 8);
    (void)w;
}

int terminal_start(char *err, size_t errlen)
{
    if (active)
        return 0;
    have_termios = tcgetattr(STDIN_FILENO, &saved_termios) == 0;
    if (!initscr()) {
        snprintf(err, errlen, "cannot initialise the terminal");
        return -1;
    }
    active = true;
    static bool hooked;
    if (!hooked) {
        atexit(atexit_hook);
        hooked = true;
    }
    restore_len = 0;
    add_cap("sgr0");
    add_cap("cnorm");
    add_cap("rmkx");
    add_cap("rmcup");
    static const char paste_off[] = "\033[?2004l";
    if (restore_len + sizeof paste_off - 1 < sizeof restore_seq) {
        memcpy(restore_seq + restore_len, paste_off, sizeof paste_off - 1);
        restore_len += sizeof paste_off - 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = crash_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    int crash[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};
    for (size_t i = 0; i < sizeof crash / sizeof crash[0]; i++)
        sigaction(crash[i], &sa, NULL);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    alternate_keys();
    /* Bracketed paste: a pasted text arrives between Esc [200~ and Esc [201~, so its line breaks and letters are
     * text for a field, never keys (terminals that do not know the mode ignore it). */
    paste_mode(true);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    leaveok(stdscr, TRUE);
    return 0;
}

void terminal_stop(void)
{
    if (!active)
        return;
    active = false;
    paste_mode(false);
    curs_set(1);
    endwin();
    if (have_termios)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
    fflush(stdout);
}

bool terminal_active(void)
{
    return active;
}

bool terminal_want_colour(void)
{
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc)
        return false;
    /* COLORS is only known after start_color(); ask terminfo directly. */
    return has_colors() && tigetnum("colors") >= 8;
}

bool terminal_utf8(void)
{
    const char *cs = nl_langinfo(CODESET);
    return cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}
