/* devlock: UUCP lock files for serial ports and flock owner locks for site devices. */
#include "core/devlock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct devlock {
    char path[PATH_MAX];
    int fd;          /* owner locks: the flocked file, kept open; UUCP locks: -1 */
    pid_t pid;
};

const char *devlock_dir(void)
{
    const char *d = getenv("PORTIER_LOCK_DIR");
    if (d && d[0] == '/') {
        mkdir(d, 0755); /* a private directory (tests) may not exist yet */
        return d;
    }
    return "/run/lock";
}

/* The program name of pid ("?" when unknown). */
static void comm_of(pid_t pid, char *buf, size_t len)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/comm", (int)pid);
    FILE *f = fopen(p, "r");
    if (!f || !fgets(buf, (int)len, f))
        snprintf(buf, len, "?");
    else
        buf[strcspn(buf, "\n")] = '\0';
    if (f)
        fclose(f);
}

static bool pid_alive(pid_t pid)
{
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

static pid_t read_pid(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[64] = "";
    if (!fgets(buf, sizeof buf, f))
        buf[0] = '\0';
    fclose(f);
    long v = strtol(buf, NULL, 10);
    return v > 0 && v < INT_MAX ? (pid_t)v : 0;
}

/* ---- UUCP lock of a serial port ---- */

int devlock_tty(const char *path, struct devlock **out, char *err, size_t errlen)
{
    *out = NULL;
    char real[PATH_MAX];
    if (!realpath(path, real))
        snprintf(real, sizeof real, "%s", path);
    /* the name after /dev/, with '/' made '_' (LCK..ttyUSB0, LCK..pts_3) */
    const char *rel = strncmp(real, "/dev/", 5) == 0 ? real + 5 : (strrchr(real, '/') ? strrchr(real, '/') + 1 : real);
    char name[NAME_MAX];
    snprintf(name, sizeof name, "%.200s", rel);
    for (char *p = name; *p; p++)
        if (*p == '/')
            *p = '_';
    struct devlock *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->fd = -1;
    l->pid = getpid();
    snprintf(l->path, sizeof l->path, "%s/LCK..%s", devlock_dir(), name);
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = open(l->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            char text[16];
            int n = snprintf(text, sizeof text, "%10d\n", (int)l->pid);
            bool ok = write(fd, text, (size_t)n) == n;
            close(fd);
            if (!ok) {
                unlink(l->path);
                snprintf(err, errlen, "%s: cannot write its lock file %s", path, l->path);
                free(l);
                return -1;
            }
            *out = l;
            return 0;
        }
        if (errno != EEXIST) {
            snprintf(err, errlen, "%s: cannot create its lock file %s: %s (another program could open the port "
                     "at the same time)", path, l->path, strerror(errno));
            free(l);
            return -1;
        }
        pid_t holder = read_pid(l->path);
        if (holder && pid_alive(holder)) {
            char who[64];
            comm_of(holder, who, sizeof who);
            snprintf(err, errlen, "%s is in use by pid %d (%s)%s", path, (int)holder, who,
                     holder == getpid() ? ": already open in this process" : "");
            free(l);
            return -1;
        }
        /* Stale (its process is gone) or unreadable while being written: a stale one is removed, a fresh one
         * gets another look. */
        struct stat st;
        if (!holder && stat(l->path, &st) == 0 && st.st_size == 0 && attempt == 0) {
            usleep(20000);
            continue;
        }
        unlink(l->path);
    }
    snprintf(err, errlen, "%s: its lock file %s keeps coming back", path, l->path);
    free(l);
    return -1;
}

/* ---- owner lock of a site device ---- */

static void owner_path(const char *identity, char *buf, size_t len)
{
    char safe[200];
    size_t k = 0;
    for (const char *p = identity; *p && k + 1 < sizeof safe; p++)
        safe[k++] = (char)((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                                   *p == '.' || *p == '-'
                               ? *p
                               : '_');
    safe[k] = '\0';
    snprintf(buf, len, "%s/portier-%s.lock", devlock_dir(), safe);
}

pid_t devlock_owner_of(const char *identity, char *name, size_t namelen)
{
    char path[PATH_MAX];
    owner_path(identity, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    pid_t pid = 0;
    if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        pid = read_pid(path);
        if (name)
            comm_of(pid, name, namelen);
    } else {
        flock(fd, LOCK_UN);
    }
    close(fd);
    return pid;
}

int devlock_owner(const char *identity, struct devlock **out, char *err, size_t errlen)
{
    *out = NULL;
    struct devlock *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    owner_path(identity, l->path, sizeof l->path);
    l->pid = getpid();
    l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (l->fd < 0) {
        snprintf(err, errlen, "%s: cannot create its owner lock %s: %s", identity, l->path, strerror(errno));
        free(l);
        return -1;
    }
    if (flock(l->fd, LOCK_EX | LOCK_NB) != 0) {
        pid_t holder = read_pid(l->path);
        char who[64] = "?";
        if (holder)
            comm_of(holder, who, sizeof who);
        snprintf(err, errlen, "%s is owned by pid %d (%s)", identity, (int)holder, who);
        close(l->fd);
        free(l);
        return -1;
    }
    char text[32];
    int n = snprintf(text, sizeof text, "%d\n", (int)l->pid);
    if (ftruncate(l->fd, 0) != 0 || pwrite(l->fd, text, (size_t)n, 0) != n) {
        snprintf(err, errlen, "%s: cannot write its owner lock %s", identity, l->path);
        close(l->fd);
        free(l);
        return -1;
    }
    *out = l;
    return 0;
}

void devlock_release(struct devlock *l)
{
    if (!l)
        return;
    if (l->fd >= 0) {
        /* the file stays (removing it would race with the next owner's open); the lock goes with the fd */
        close(l->fd);
    } else if (read_pid(l->path) == l->pid) {
        unlink(l->path);
    }
    free(l);
}
