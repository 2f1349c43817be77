#include "core/durable.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void say(char *err, size_t errlen, const char *path, const char *what)
{
    int e = errno;
    if (err && errlen)
        snprintf(err, errlen, "%s: %s: %s", path, what, strerror(e));
    errno = e;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* fsync the directory that holds path (makes a rename in it durable). */
static int sync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == path) {
        snprintf(dir, sizeof dir, "/");
    } else {
        if ((size_t)(slash - path) >= sizeof dir) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    /* Some file systems cannot sync a directory; the rename is then as durable as they make it. */
    if (rc < 0 && (errno == EINVAL || errno == ENOTSUP))
        rc = 0;
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

int durable_write(const char *path, const void *data, size_t len, mode_t mode, unsigned flags, char *err,
                  size_t errlen)
{
    if (!path || !path[0] || (len && !data)) {
        errno = EINVAL;
        say(err, errlen, path ? path : "(no path)", "cannot write");
        return -1;
    }
    char tmp[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    int n = snprintf(tmp, sizeof tmp, "%.*s.%s.XXXXXX", (int)(base - path), path, base);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        errno = ENAMETOOLONG;
        say(err, errlen, path, "cannot write");
        return -1;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        say(err, errlen, path, "cannot create a temporary file");
        return -1;
    }
    const char *what = "cannot write";
    if (fchmod(fd, mode) < 0 || write_all(fd, data, len) < 0)
        goto fail;
    what = "cannot sync";
    if (!(flags & DURABLE_NO_SYNC) && fsync(fd) < 0)
        goto fail;
    what = "cannot write";
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    what = "cannot replace";
    if (rename(tmp, path) < 0)
        goto fail;
    if (!(flags & DURABLE_NO_SYNC) && sync_dir_of(path) < 0) {
        say(err, errlen, path, "cannot sync its directory");
        return -1; /* the new content is in place; only its durability is in doubt */
    }
    return 0;
fail:
    say(err, errlen, path, what);
    int e = errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    errno = e;
    return -1;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *at)
{
    (void)st;
    (void)at;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0; /* on with the rest: what stays is reported at the end */
}

int durable_remove_tree(const char *dir)
{
    struct stat st;
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    return lstat(dir, &st) == 0 ? -1 : 0;
}

int durable_mkdirs(const char *dir, mode_t mode)
{
    char p[PATH_MAX];
    size_t l = dir ? strlen(dir) : 0;
    if (l == 0 || l >= sizeof p) {
        errno = l ? ENAMETOOLONG : EINVAL;
        return -1;
    }
    memcpy(p, dir, l + 1);
    while (l > 1 && p[l - 1] == '/')
        p[--l] = '\0';
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    if (mkdir(p, mode) < 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(p, &st) < 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int durable_mkdirs_for(const char *path, mode_t mode)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (!slash || slash == path)
        return 0;
    char dir[PATH_MAX];
    if ((size_t)(slash - path) >= sizeof dir) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    return durable_mkdirs(dir, mode);
}

int durable_read(const char *path, size_t max, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        return -1;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    if ((size_t)st.st_size > max) {
        close(fd);
        errno = EFBIG;
        return -1;
    }
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return -1;
    }
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max + 1) {
                free(buf);
                close(fd);
                errno = EFBIG;
                return -1;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                close(fd);
                return -1;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n > max) {
        free(buf);
        errno = EFBIG;
        return -1;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}
