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
