/* Unit tests for device ownership (core/devlock.h): the UUCP lock file of a serial port (name, the pid in ten
 * columns, a second opener refused with the holder's pid and name, a stale lock of a dead process cleared, released
 * on close), the owner lock of a site device (a second process refused, free again when the owner dies even by
 * kill -9), the serial transport taking the port's lock and refusing a second open of the same pseudo-terminal, and
 * refusing a pseudo-terminal that is some session's controlling terminal (a reused pty number). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <errno.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/devlock.h"
#include "core/xport_serial.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/portier-devlock.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(dir));
    setenv("PORTIER_LOCK_DIR", dir, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    unsetenv("PORTIER_LOCK_DIR");
    return system(cmd) == 0 ? 0 : -1;
}

static void read_file(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static void test_tty_lock(void **state)
{
    (void)state;
    assert_string_equal(devlock_dir(), dir);
    struct devlock *a = NULL, *b = NULL;
    char err[512], path[400], text[64], want[32];
    assert_int_equal(devlock_tty("/dev/ttyUSB7", &a, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/LCK..ttyUSB7", dir);
    read_file(path, text, sizeof text);
    snprintf(want, sizeof want, "%10d\n", (int)getpid());
    assert_string_equal(text, want);
    /* a second opener, even in this process, is refused with the holder named */
    assert_int_equal(devlock_tty("/dev/ttyUSB7", &b, err, sizeof err), -1);
    assert_null(b);
    char pid[32];
    snprintf(pid, sizeof pid, "pid %d", (int)getpid());
    assert_non_null(strstr(err, "/dev/ttyUSB7 is in use by"));
    assert_non_null(strstr(err, pid));
    devlock_release(a);
    assert_int_not_equal(access(path, F_OK), 0);
    /* a stale lock (its process is gone) is cleared */
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0);
    FILE *f = fopen(path, "w");
    fprintf(f, "%10d\n", (int)child);
    fclose(f);
    assert_int_equal(devlock_tty("/dev/ttyUSB7", &a, err, sizeof err), 0);
    devlock_release(a);
    /* a pts path becomes one file name */
    assert_int_equal(devlock_tty("/dev/pts/42", &a, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/LCK..pts_42", dir);
    assert_int_equal(access(path, F_OK), 0);
    devlock_release(a);
}

static void test_owner_lock(void **state)
{
    (void)state;
    struct devlock *a = NULL;
    char err[512];
    assert_int_equal(devlock_owner("c3 10.0.0.1:4370", &a, err, sizeof err), 0);
    char name[64];
    assert_int_equal(devlock_owner_of("c3 10.0.0.1:4370", name, sizeof name), getpid());
    assert_int_equal(devlock_owner_of("c3 10.0.0.2:4370", name, sizeof name), 0);
    /* another process is refused while this one owns it */
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t child = fork();
    if (child == 0) {
        struct devlock *b = NULL;
        char e[512];
        int rc = devlock_owner("c3 10.0.0.1:4370", &b, e, sizeof e);
        char pid[32];
        snprintf(pid, sizeof pid, "owned by pid %d", (int)getppid());
        _exit(rc == -1 && strstr(e, pid) ? 0 : 1);
    }
    int st;
    waitpid(child, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    devlock_release(a);
    /* an owner killed with SIGKILL leaves the device free */
    child = fork();
    if (child == 0) {
        struct devlock *b = NULL;
        char e[512];
        if (devlock_owner("nix1 /dev/ttyUSB0", &b, e, sizeof e) == 0)
            (void)!write(p[1], "x", 1);
        pause();
        _exit(0);
    }
    char c;
    assert_int_equal(read(p[0], &c, 1), 1);
    assert_int_equal(devlock_owner("nix1 /dev/ttyUSB0", &a, err, sizeof err), -1);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    assert_int_equal(devlock_owner("nix1 /dev/ttyUSB0", &a, err, sizeof err), 0);
    devlock_release(a);
    close(p[0]);
    close(p[1]);
}

static void test_serial_open_exclusive(void **state)
{
    (void)state;
    int master, slave;
    char name[128];
    assert_int_equal(openpty(&master, &slave, name, NULL, NULL), 0);
    close(slave);
    struct xport x1 = { 0 }, x2 = { 0 };
    char err[512];
    struct xport_serial_opts o = { .baud = 9600 };
    assert_int_equal(xport_serial_open(&x1, NULL, name, &o, err, sizeof err), 0);
    assert_true(xport_serial_open(&x2, NULL, name, &o, err, sizeof err) < 0);
    assert_non_null(strstr(err, "is in use by"));
    xport_close(&x1);
    assert_int_equal(xport_serial_open(&x2, NULL, name, &o, err, sizeof err), 0);
    xport_close(&x2);
    close(master);
}

/* A pty number reused by someone's terminal (a terminal window, an SSH login: the controlling terminal of a
 * session): a bus reopening its old path must refuse it before touching its modes, its input or its screen. */
static void test_serial_open_refuses_a_session_terminal(void **state)
{
    (void)state;
    int master, slave;
    char name[128];
    assert_int_equal(openpty(&master, &slave, name, NULL, NULL), 0);
    struct termios before;
    assert_int_equal(tcgetattr(slave, &before), 0);
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* a login: its own session with the pty as controlling terminal */
        close(go[0]);
        setsid();
        if (ioctl(slave, TIOCSCTTY, 0) < 0)
            _exit(1);
        if (write(go[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    close(go[1]);
    char c;
    assert_int_equal(read(go[0], &c, 1), 1);
    close(go[0]);
    struct xport x = { .fd = -1 };
    char err[512];
    struct xport_serial_opts o = { .baud = 9600 };
    assert_int_equal(xport_serial_open(&x, NULL, name, &o, err, sizeof err), -EBUSY);
    assert_non_null(strstr(err, "is the terminal of pid"));
    struct termios after;
    assert_int_equal(tcgetattr(slave, &after), 0);
    assert_int_equal(after.c_lflag, before.c_lflag); /* not made raw */
    assert_int_equal(after.c_oflag, before.c_oflag);
    int fl = fcntl(master, F_GETFL);
    fcntl(master, F_SETFL, fl | O_NONBLOCK);
    char buf[64];
    assert_int_equal(read(master, buf, sizeof buf), -1); /* nothing written to the screen */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(slave);
    /* nobody's terminal any more: a line again */
    assert_int_equal(xport_serial_open(&x, NULL, name, &o, err, sizeof err), 0);
    xport_close(&x);
    close(master);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tty_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serial_open_exclusive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serial_open_refuses_a_session_terminal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
