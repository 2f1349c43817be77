/* terminal: terminal setup and teardown, crash-safe; curses' output through a pipe a reader thread empties into
 * memory, and the loop from there into the terminal. */
#include "tui/terminal.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* The pipe curses writes into, asked for large enough that curses writes a whole frame without waiting for the
 * pipe's reader (the kernel may give less: the reader then takes a frame in parts; nothing depends on the size). */
#define OUT_PIPE_BYTES (1024 * 1024)
/* A buffer grown past this by a large frame is given back once the terminal has taken it. */
#define HELD_KEEP_BYTES (1024 * 1024)
/* How long a console that stops waits for a held terminal to take the last of its output. */
#define STOP_DRAIN_MS 1000

static bool active;
static SCREEN *screen;
static FILE *curses_out;      /* curses' output stream: the pipe's write end (a terminal while curses starts) */
static int pipe_rd = -1;      /* the pipe's read end (non-blocking) */
static int out_fd = -1;       /* the terminal, non-blocking */
static bool out_shared;       /* out_fd shares stdout's open file description: its blocking mode put back */
static int out_saved_flags;
/* Bytes taken out of the pipe that the terminal has not taken yet. The pipe's reader thread (drainer) takes them
 * while curses writes, so curses never waits on a full pipe, whatever a frame's size; terminal_flush takes the rest
 * and writes them on. Guarded by out_mu; nothing is drawn while any are held, so this holds at most one frame. */
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static char *held;
static size_t held_off, held_len, held_cap;
static pthread_t drainer;
static bool drainer_on;
static int drainer_quit[2] = {-1, -1};
static bool have_termios;
static struct termios saved_termios, prog_termios;
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
        /* Never blocks on a held terminal: the restoring bytes go out if it takes them. CAN first ends an
         * escape sequence the held output may have cut. */
        int fd = out_fd >= 0 ? out_fd : STDOUT_FILENO;
        if (restore_len) {
            ssize_t w = write(fd, "\030", 1);
            w = write(fd, restore_seq, restore_len);
            (void)w;
        }
        if (out_shared)
            fcntl(out_fd, F_SETFL, out_saved_flags);
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
    /* into curses' stream (the mode is the terminal's own: its order with curses' bytes does not matter) */
    ssize_t w = write(fileno(curses_out), on ? "\033[?2004h" : "\033[?2004l", 8);
    (void)w;
}

/* The terminal for non-blocking writes: an open file description of its own when the terminal can be opened again
 * (the shell that started the console never sees it non-blocking), else stdout's, made non-blocking until stop. */
static int open_out(void)
{
    const char *name = ttyname(STDOUT_FILENO);
    int fd = name ? open(name, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC) : -1;
    if (fd >= 0 && isatty(fd)) {
        out_shared = false;
        return fd;
    }
    if (fd >= 0)
        close(fd);
    fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return -1;
    out_saved_flags = fcntl(fd, F_GETFL);
    if (out_saved_flags < 0 || fcntl(fd, F_SETFL, out_saved_flags | O_NONBLOCK) < 0) {
        close(fd);
        return -1;
    }
    out_shared = true;
    return fd;
}

/* Curses on a terminal (its modes are set on it), then its output stream moved onto a pipe. */
static int start_curses(char *err, size_t errlen)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot create the output pipe: %s", strerror(errno));
        return -1;
    }
    for (int sz = OUT_PIPE_BYTES; sz >= 65536 && fcntl(p[1], F_SETPIPE_SZ, sz) < 0; sz /= 2)
        ;
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    out_fd = open_out();
    int cfd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    curses_out = cfd >= 0 ? fdopen(cfd, "w") : NULL;
    if (out_fd < 0 || !curses_out) {
        snprintf(err, errlen, "cannot open the terminal for output: %s", strerror(errno));
        goto fail;
    }
    screen = newterm(NULL, curses_out, stdin);
    if (!screen) {
        snprintf(err, errlen, "cannot initialise the terminal");
        goto fail;
    }
    cbreak();
    noecho();
    nonl();
    tcgetattr(STDIN_FILENO, &prog_termios);
    /* from here on every byte curses writes goes into the pipe; the terminal's modes were set above */
    fflush(curses_out);
    if (dup3(p[1], cfd, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot redirect the terminal output: %s", strerror(errno));
        endwin();
        delscreen(screen);
        screen = NULL;
        goto fail;
    }
    close(p[1]);
    pipe_rd = p[0];
    return 0;
fail:
    close(p[0]);
    close(p[1]);
    if (curses_out)
        fclose(curses_out);
    else if (cfd >= 0)
        close(cfd);
    curses_out = NULL;
    if (out_fd >= 0) {
        if (out_shared)
            fcntl(out_fd, F_SETFL, out_saved_flags);
        close(out_fd);
    }
    out_fd = -1;
    return -1;
}

int terminal_out_fd(void)
{
    return out_fd;
}

/* Everything the pipe holds now, appended to held (out_mu held, or the drainer stopped). False when memory ran out
 * with bytes left in the pipe. */
static bool take_pipe(void)
{
    for (;;) {
        if (held_off == held_len)
            held_off = held_len = 0;
        if (held_cap - held_len < 16384 && held_off > 0) {
            memmove(held, held + held_off, held_len - held_off);
            held_len -= held_off;
            held_off = 0;
        }
        if (held_cap - held_len < 16384) {
            size_t cap = held_cap ? held_cap * 2 : 65536;
            char *more = realloc(held, cap);
            if (!more)
                return false;
            held = more;
            held_cap = cap;
        }
        ssize_t n = read(pipe_rd, held + held_len, held_cap - held_len);
        if (n > 0)
            held_len += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else
            return true; /* empty (EAGAIN), or every writer gone */
    }
}

static void *drain_main(void *arg)
{
    (void)arg;
    struct pollfd p[2] = {{.fd = pipe_rd, .events = POLLIN}, {.fd = drainer_quit[0], .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        if (p[1].revents)
            return NULL;
        if (!p[0].revents)
            continue;
        pthread_mutex_lock(&out_mu);
        bool ok = take_pipe();
        pthread_mutex_unlock(&out_mu);
        if (!ok) /* out of memory: curses waits on the full pipe until memory or the terminal frees some */
            poll(&p[1], 1, 50);
        else if ((p[0].revents & POLLHUP) && !(p[0].revents & POLLIN))
            return NULL;
    }
}

/* The pipe's reader, with every signal blocked (the loop takes them through its signalfd). Without it (no thread
 * could be made) the terminal is still served, but a frame larger than the pipe would hold curses. */
static void start_drainer(void)
{
    drainer_on = false;
    if (pipe2(drainer_quit, O_CLOEXEC) < 0) {
        drainer_quit[0] = drainer_quit[1] = -1;
        return;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    drainer_on = pthread_create(&drainer, NULL, drain_main, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* The reader stopped and joined; what is still in the pipe is taken (one thread from here on). */
static void stop_drainer(void)
{
    if (drainer_on) {
        ssize_t w = write(drainer_quit[1], "q", 1);
        (void)w;
        pthread_join(drainer, NULL);
        drainer_on = false;
    }
    for (int i = 0; i < 2; i++) {
        if (drainer_quit[i] >= 0)
            close(drainer_quit[i]);
        drainer_quit[i] = -1;
    }
    if (pipe_rd >= 0)
        take_pipe();
}

size_t terminal_backlog(void)
{
    if (!active)
        return 0;
    int inpipe = 0;
    if (pipe_rd >= 0 && ioctl(pipe_rd, FIONREAD, &inpipe) < 0)
        inpipe = 0;
    pthread_mutex_lock(&out_mu);
    size_t n = held_len - held_off;
    pthread_mutex_unlock(&out_mu);
    return n + (size_t)(inpipe > 0 ? inpipe : 0);
}

static int flush_held(void)
{
    take_pipe();
    while (held_off < held_len) {
        ssize_t w = write(out_fd, held + held_off, held_len - held_off);
        if (w > 0) {
            held_off += (size_t)w;
            if (held_off == held_len)
                take_pipe();
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 1;
        /* the terminal is gone (hung up): what it would have shown goes nowhere */
        held_off = held_len = 0;
        char sink[4096];
        while (read(pipe_rd, sink, sizeof sink) > 0)
            ;
        return -1;
    }
    held_off = held_len = 0;
    if (held_cap > HELD_KEEP_BYTES) {
        free(held);
        held = NULL;
        held_cap = 0;
    }
    return 0;
}

int terminal_flush(void)
{
    if (pipe_rd < 0 || out_fd < 0)
        return 0;
    pthread_mutex_lock(&out_mu);
    int rc = flush_held();
    pthread_mutex_unlock(&out_mu);
    return rc;
}

/* At stop, with a terminal that still holds back: the rest (the held frame's end, then the restoring sequences),
 * all taken out of the pipe once the reader has stopped, is written by a process left behind for it (hand_off),
 * which ends when the terminal has taken it or hangs up; the console itself ends at once. */
static void hand_off(void)
{
    pid_t pid = held_len > held_off ? fork() : -1;
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL); /* the loop's signals: SIGHUP and SIGTERM end it */
        /* Nothing of the console's but the terminal: a panel's connection (a panel serves one client), a bus line,
         * a device's owner lock (flock, shared across fork) or the journal's files would otherwise stay open as
         * long as the terminal holds back, and portierd or the next console would find the devices taken. Closed
         * before the console is let go (it waits for this process), so none is open once the console has ended. */
        if (out_fd != 3 && dup2(out_fd, 3) < 0)
            _exit(0);
        out_fd = 3;
        if (close_range(4, ~0u, 0) < 0)
            for (int fd = 4; fd < 65536; fd++)
                close(fd);
        if (fork() != 0)
            _exit(0); /* the grandchild writes: nobody has to wait for it */
        setsid(); /* no longer in the console's job */
        fcntl(out_fd, F_SETFL, fcntl(out_fd, F_GETFL) & ~O_NONBLOCK);
        while (held_off < held_len) {
            ssize_t w = write(out_fd, held + held_off, held_len - held_off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            held_off += (size_t)w;
        }
        _exit(0);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

/* At stop: give a held terminal a moment to take what is left; true if it still holds some back. */
static bool drain(int ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (terminal_flush() == 1) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        int64_t left = ms - ((int64_t)(t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0)
            return true;
        struct pollfd pfd = {.fd = out_fd, .events = POLLOUT};
        poll(&pfd, 1, (int)left);
    }
    return false;
}

int terminal_start(char *err, size_t errlen)
{
    if (active)
        return 0;
    have_termios = tcgetattr(STDIN_FILENO, &saved_termios) == 0;
    held_off = held_len = 0;
    if (start_curses(err, errlen) < 0)
        return -1;
    start_drainer();
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
    /* what the terminal still holds first (a frame cut short would leave a sequence half written), then the
     * restoring sequences; what a held terminal has not taken in STOP_DRAIN_MS is left to hand_off */
    bool stalled = drain(STOP_DRAIN_MS);
    paste_mode(false);
    curs_set(1);
    endwin(); /* never waits on the pipe: the reader takes what it writes */
    stop_drainer();
    if (stalled || drain(STOP_DRAIN_MS))
        hand_off();
    active = false;
    if (have_termios)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
    delscreen(screen);
    screen = NULL;
    fclose(curses_out);
    curses_out = NULL;
    if (out_shared)
        fcntl(out_fd, F_SETFL, out_saved_flags);
    close(out_fd);
    out_fd = -1;
    close(pipe_rd);
    pipe_rd = -1;
    free(held);
    held = NULL;
    held_off = held_len = held_cap = 0;
}

void terminal_suspend(void)
{
    if (!active)
        return;
    drain(STOP_DRAIN_MS);
    paste_mode(false);
    curs_set(1);
    endwin();
    drain(STOP_DRAIN_MS);
    if (have_termios)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
}

void terminal_resume(void)
{
    if (!active)
        return;
    if (have_termios)
        tcsetattr(STDIN_FILENO, TCSANOW, &prog_termios);
    paste_mode(true);
    curs_set(0);
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
