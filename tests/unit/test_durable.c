/* Unit tests for core/durable (atomic, synced file replacement; mkdir -p; bounded reads) and core/statedir (the
 * state-directory rule: override, XDG_STATE_HOME only when absolute, HOME, the user database). Includes a writer
 * killed with SIGKILL at random moments: the file is always the complete old or the complete new content. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <cmocka.h>

#include "core/durable.h"
#include "core/statedir.h"
#include "fixture.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/portier-durable.XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "chmod -R u+w %s; rm -rf %s", dir, dir);
    assert_int_equal(system(cmd), 0);
    statedir_override(NULL, NULL, 0);
    return 0;
}

static size_t count_entries(const char *d)
{
    DIR *dp = opendir(d);
    assert_non_null(dp);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dp)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(dp);
    return n;
}

static void test_write_replace_and_read(void **state)
{
    (void)state;
    char p[128], err[256];
    snprintf(p, sizeof p, "%s/a.state", dir);
    assert_int_equal(durable_write(p, "first\n", 6, 0600, 0, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *data;
    size_t len;
    assert_int_equal(durable_read(p, 100, &data, &len), 0);
    assert_int_equal(len, 6);
    assert_string_equal(data, "first\n");
    free(data);
    assert_int_equal(durable_write(p, "second, longer\n", 15, 0644, 0, err, sizeof err), 0);
    assert_int_equal(durable_read(p, 100, &data, &len), 0);
    assert_string_equal(data, "second, longer\n");
    free(data);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    /* an empty file, and the no-sync flavour */
    assert_int_equal(durable_write(p, NULL, 0, 0600, DURABLE_NO_SYNC, err, sizeof err), 0);
    assert_int_equal(durable_read(p, 100, &data, &len), 0);
    assert_int_equal(len, 0);
    assert_string_equal(data, "");
    free(data);
    assert_int_equal(count_entries(dir), 1); /* no temporary file left behind */
}

static void test_write_failures_keep_the_old_file(void **state)
{
    (void)state;
    char p[128], err[256] = "";
    snprintf(p, sizeof p, "%s/missing/a.state", dir);
    assert_int_equal(durable_write(p, "x", 1, 0600, 0, err, sizeof err), -1);
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(err, p));
    if (geteuid() != 0) { /* root ignores directory permissions */
        snprintf(p, sizeof p, "%s/ro.state", dir);
        assert_int_equal(durable_write(p, "old", 3, 0600, 0, err, sizeof err), 0);
        assert_int_equal(chmod(dir, 0500), 0);
        assert_int_equal(durable_write(p, "new", 3, 0600, 0, err, sizeof err), -1);
        assert_int_equal(chmod(dir, 0700), 0);
        char *data;
        size_t len;
        assert_int_equal(durable_read(p, 100, &data, &len), 0);
        assert_string_equal(data, "old");
        free(data);
    }
    assert_int_equal(durable_write("", "x", 1, 0600, 0, err, sizeof err), -1);
    assert_int_equal(durable_write(p, NULL, 3, 0600, 0, NULL, 0), -1); /* data missing */
}

static void test_read_limits(void **state)
{
    (void)state;
    char p[128], err[256];
    char *data = (char *)1;
    size_t len = 1;
    snprintf(p, sizeof p, "%s/none", dir);
    assert_int_equal(durable_read(p, 100, &data, &len), -1);
    assert_int_equal(errno, ENOENT);
    assert_null(data);
    assert_int_equal(len, 0);
    snprintf(p, sizeof p, "%s/big", dir);
    char big[300];
    memset(big, 'b', sizeof big);
    assert_int_equal(durable_write(p, big, sizeof big, 0600, 0, err, sizeof err), 0);
    assert_int_equal(durable_read(p, 299, &data, &len), -1);
    assert_int_equal(errno, EFBIG);
    assert_int_equal(durable_read(p, 300, &data, &len), 0);
    assert_int_equal(len, 300);
    free(data);
    assert_int_equal(durable_read(dir, 100, &data, &len), -1);
    assert_int_equal(errno, EISDIR);
    assert_int_equal(durable_read("/dev/null", 100, &data, &len), -1); /* not a regular file */
}

static void test_mkdirs(void **state)
{
    (void)state;
    char p[128];
    snprintf(p, sizeof p, "%s/a/b/c/", dir);
    assert_int_equal(durable_mkdirs(p, 0700), 0);
    struct stat st;
    snprintf(p, sizeof p, "%s/a/b/c", dir);
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(durable_mkdirs(p, 0700), 0); /* exists: fine */
    snprintf(p, sizeof p, "%s/x/y/file", dir);
    assert_int_equal(durable_mkdirs_for(p, 0700), 0);
    snprintf(p, sizeof p, "%s/x/y", dir);
    assert_int_equal(stat(p, &st), 0);
    char f[160], err[256];
    snprintf(f, sizeof f, "%s/x/y/file", dir);
    assert_int_equal(durable_write(f, "1", 1, 0600, 0, err, sizeof err), 0);
    snprintf(p, sizeof p, "%s/x/y/file/sub", dir);
    assert_int_equal(durable_mkdirs(p, 0700), -1);
    assert_int_equal(errno, ENOTDIR);
    assert_int_equal(durable_mkdirs("", 0700), -1);
}

/* rm -rf of a tree with files, a subdirectory and a symbolic link out of it: all of it goes, what the link names
 * stays; a missing directory is already gone. */
static void test_remove_tree(void **state)
{
    (void)state;
    char t[128], p[200], err[256], outside[160];
    snprintf(t, sizeof t, "%s/tree", dir);
    snprintf(p, sizeof p, "%s/a/b", t);
    assert_int_equal(durable_mkdirs(p, 0700), 0);
    snprintf(p, sizeof p, "%s/a/b/file", t);
    assert_int_equal(durable_write(p, "x", 1, 0600, 0, err, sizeof err), 0);
    snprintf(p, sizeof p, "%s/top", t);
    assert_int_equal(durable_write(p, "y", 1, 0600, 0, err, sizeof err), 0);
    snprintf(outside, sizeof outside, "%s/kept", dir);
    assert_int_equal(durable_mkdirs(outside, 0700), 0);
    snprintf(p, sizeof p, "%s/kept/file", dir);
    assert_int_equal(durable_write(p, "z", 1, 0600, 0, err, sizeof err), 0);
    snprintf(p, sizeof p, "%s/a/link", t);
    assert_int_equal(symlink(outside, p), 0);
    assert_int_equal(durable_remove_tree(t), 0);
    struct stat st;
    assert_int_equal(lstat(t, &st), -1);
    snprintf(p, sizeof p, "%s/kept/file", dir);
    assert_int_equal(stat(p, &st), 0); /* the link was removed, not followed */
    assert_int_equal(durable_remove_tree(t), 0);
}

/* A child rewrites the file in a loop with alternating contents of different sizes and is killed at a random
 * moment: the file must always hold one complete version (never a mix, never empty, never truncated). */
static char va[20000], vb[7000];

/* Writes va and vb to the file at path in turn, for ever (the child of test_kill9_leaves_a_complete_file). */
static void write_both(int fd, void *path)
{
    (void)fd;
    for (unsigned i = 0;; i++) {
        const char *v = i % 2 ? va : vb;
        size_t l = i % 2 ? sizeof va : sizeof vb;
        if (durable_write(path, v, l, 0600, 0, NULL, 0) < 0)
            _exit(3);
    }
}

static void test_kill9_leaves_a_complete_file(void **state)
{
    (void)state;
    char p[128], err[256];
    snprintf(p, sizeof p, "%s/k.state", dir);
    memset(va, 'A', sizeof va);
    memset(vb, 'B', sizeof vb);
    assert_int_equal(durable_write(p, va, sizeof va, 0600, 0, err, sizeof err), 0);
    srand((unsigned)time(NULL));
    for (int round = 0; round < 25; round++) {
        int status;
        fclose(fx_kill9_after(write_both, p, 0, 20000, &status)); /* after 0..20 ms */
        assert_true(WIFSIGNALED(status));
        char *data;
        size_t len;
        assert_int_equal(durable_read(p, sizeof va, &data, &len), 0);
        assert_true(len == sizeof va || len == sizeof vb);
        char c = len == sizeof va ? 'A' : 'B';
        for (size_t i = 0; i < len; i++)
            if (data[i] != c)
                fail_msg("mixed content at %zu after round %d", i, round);
        free(data);
    }
}

static void test_statedir_rule(void **state)
{
    (void)state;
    char buf[512], err[256], home[160];
    const char *oldhome = getenv("HOME");
    char saved_home[512] = "";
    if (oldhome)
        snprintf(saved_home, sizeof saved_home, "%s", oldhome);
    snprintf(home, sizeof home, "%s/home", dir);
    setenv("HOME", home, 1);
    /* absolute XDG_STATE_HOME wins over HOME */
    setenv("XDG_STATE_HOME", "/var/tmp/xdg-state", 1);
    assert_int_equal(statedir_get(buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, "/var/tmp/xdg-state/portier");
    /* a relative one is ignored (XDG base directory rule) */
    setenv("XDG_STATE_HOME", "relative/state", 1);
    assert_int_equal(statedir_get(buf, sizeof buf, err, sizeof err), 0);
    char want[512];
    snprintf(want, sizeof want, "%s/.local/state/portier", home);
    assert_string_equal(buf, want);
    unsetenv("XDG_STATE_HOME");
    assert_int_equal(statedir_get(buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, want);
    /* no HOME: the user database */
    unsetenv("HOME");
    struct passwd *pw = getpwuid(getuid());
    if (pw && pw->pw_dir && pw->pw_dir[0]) {
        assert_int_equal(statedir_get(buf, sizeof buf, err, sizeof err), 0);
        snprintf(want, sizeof want, "%s/.local/state/portier", pw->pw_dir);
        assert_string_equal(buf, want);
    }
    setenv("HOME", home, 1);
    /* an override beats everything; a relative one is made absolute */
    setenv("XDG_STATE_HOME", "/var/tmp/xdg-state", 1);
    assert_int_equal(statedir_override("/srv/portier/state", err, sizeof err), 0);
    assert_int_equal(statedir_get(buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, "/srv/portier/state");
    char cwd[256], old[256];
    assert_non_null(getcwd(old, sizeof old));
    assert_int_equal(chdir(dir), 0);
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(statedir_override("st", err, sizeof err), 0);
    assert_int_equal(chdir(old), 0);
    assert_int_equal(statedir_get(buf, sizeof buf, err, sizeof err), 0);
    snprintf(want, sizeof want, "%s/st", cwd);
    assert_string_equal(buf, want);
    /* statedir_path creates the directory and the name's own parents, 0700 */
    assert_int_equal(statedir_path("site-T/nix1-B.state", buf, sizeof buf, err, sizeof err), 0);
    snprintf(want, sizeof want, "%s/st/site-T/nix1-B.state", cwd);
    assert_string_equal(buf, want);
    struct stat st;
    snprintf(want, sizeof want, "%s/st/site-T", cwd);
    assert_int_equal(stat(want, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    /* one file per site and device: two sites, or two devices that once had the same address, never share */
    assert_int_equal(statedir_device_path("Site A", "nix1", "Bus 1", "/dev/ttyUSB0", buf, sizeof buf, err, sizeof err),
                     0);
    snprintf(want, sizeof want, "%s/st/site-Site_A/nix1-Bus_1@_dev_ttyUSB0.state", cwd);
    assert_string_equal(buf, want);
    char other[512];
    assert_int_equal(statedir_device_path("Site B", "nix1", "Bus 1", "/dev/ttyUSB0", other, sizeof other, err,
                                          sizeof err), 0);
    assert_string_not_equal(buf, other);
    assert_int_equal(statedir_override(NULL, err, sizeof err), 0);
    assert_int_equal(statedir_get(buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, "/var/tmp/xdg-state/portier");
    unsetenv("XDG_STATE_HOME");
    if (saved_home[0])
        setenv("HOME", saved_home, 1);
}

static void test_statedir_name(void **state)
{
    (void)state;
    char b[64];
    assert_string_equal(statedir_name("/dev/ttyUSB0", b, sizeof b), "_dev_ttyUSB0");
    assert_string_equal(statedir_name("tcp://127.0.0.1:4001", b, sizeof b), "tcp___127.0.0.1_4001");
    assert_string_equal(statedir_name("Bus 1/α", b, sizeof b), "Bus_1___");
    assert_string_equal(statedir_name("", b, sizeof b), "_");
    assert_string_equal(statedir_name(NULL, b, sizeof b), "_");
    assert_string_equal(statedir_name(".", b, sizeof b), "_");
    assert_string_equal(statedir_name("..", b, sizeof b), "_");
    assert_string_equal(statedir_name("a@b-c.d", b, sizeof b), "a@b-c.d");
    char small[4];
    assert_string_equal(statedir_name("abcdef", small, sizeof small), "abc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_replace_and_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_failures_keep_the_old_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mkdirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_leaves_a_complete_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statedir_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statedir_name, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
