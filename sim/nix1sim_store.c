#include "sim/nix1sim_store.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/durable.h"
#include "core/grow.h"

/* A µSD file larger than this is treated as a read error (the simulator never writes one). */
#define STORE_MAX_FILE (64u * 1024u * 1024u)

static bool base_char(int c) { return isalnum(c) || c == '_' || c == '-' || c == '#' || c == '~'; }

bool nix1sim_store_name(const char *name, char out[NIX1SIM_NAME_MAX])
{
    if (!name)
        return false;
    size_t i = 0, o = 0;
    while (name[i] && name[i] != '.') {
        if (i >= 8 || !base_char((unsigned char)name[i]))
            return false;
        out[o++] = (char)toupper((unsigned char)name[i]);
        i++;
    }
    if (i == 0)
        return false;
    if (name[i] == '.') {
        out[o++] = '.';
        i++;
        size_t e = 0;
        while (name[i]) {
            int c = (unsigned char)name[i];
            if (e >= 3 || !(isalnum(c) || c == '_'))
                return false;
            out[o++] = (char)toupper(c);
            i++;
            e++;
        }
        if (e == 0)
            return false;
    }
    out[o] = '\0';
    return true;
}

static int mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return 0;
}

int nix1sim_store_open(struct nix1sim_store *st, const char *base, const char *sub)
{
    memset(st, 0, sizeof *st);
    size_t n = strlen(base) + 1 + strlen(sub) + 1;
    st->dir = malloc(n);
    if (!st->dir)
        return -1;
    snprintf(st->dir, n, "%s/%s", base, sub);
    if (mkdir_p(st->dir) < 0) {
        int e = errno;
        free(st->dir);
        st->dir = NULL;
        errno = e;
        return -1;
    }
    st->card_in = true;
    return 0;
}

void nix1sim_store_close(struct nix1sim_store *st)
{
    free(st->dir);
    st->dir = NULL;
}

static void path_of(const struct nix1sim_store *st, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", st->dir, name);
}

int nix1sim_store_read(struct nix1sim_store *st, const char *name, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    if (!st->card_in)
        return NIX1SIM_STORE_NOCARD;
    char p[PATH_MAX];
    path_of(st, name, p, sizeof p);
    if (durable_read(p, STORE_MAX_FILE, data, len) < 0)
        return errno == ENOENT ? NIX1SIM_STORE_NOTFOUND : NIX1SIM_STORE_IO;
    return NIX1SIM_STORE_OK;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int nix1sim_store_write(struct nix1sim_store *st, const char *name, const void *data, size_t len)
{
    if (!st->card_in)
        return NIX1SIM_STORE_NOCARD;
    char p[PATH_MAX];
    path_of(st, name, p, sizeof p);
    /* Temporary names start with '.', are not 8.3 and never show up in listings. A simulated card need not
     * survive a power cut of the host: atomic, not synced (a sync per Qe would tie the timing to the disk). */
    if (durable_write(p, data, len, 0644, DURABLE_NO_SYNC, NULL, 0) < 0)
        return NIX1SIM_STORE_IO;
    st->gen++;
    return NIX1SIM_STORE_OK;
}

int nix1sim_store_append(struct nix1sim_store *st, const char *name, const void *data, size_t len)
{
    if (!st->card_in)
        return NIX1SIM_STORE_NOCARD;
    char p[PATH_MAX];
    path_of(st, name, p, sizeof p);
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return NIX1SIM_STORE_IO;
    int rc = write_all(fd, data, len);
    if (close(fd) < 0)
        rc = -1;
    st->gen++;
    return rc < 0 ? NIX1SIM_STORE_IO : NIX1SIM_STORE_OK;
}

int nix1sim_store_remove(struct nix1sim_store *st, const char *name)
{
    if (!st->card_in)
        return NIX1SIM_STORE_NOCARD;
    char p[PATH_MAX];
    path_of(st, name, p, sizeof p);
    if (unlink(p) < 0)
        return errno == ENOENT ? NIX1SIM_STORE_NOTFOUND : NIX1SIM_STORE_IO;
    st->gen++;
    return NIX1SIM_STORE_OK;
}

int nix1sim_store_stat(struct nix1sim_store *st, const char *name, size_t *size)
{
    if (!st->card_in)
        return NIX1SIM_STORE_NOCARD;
    char p[PATH_MAX];
    path_of(st, name, p, sizeof p);
    struct stat sb;
    if (stat(p, &sb) < 0)
        return errno == ENOENT ? NIX1SIM_STORE_NOTFOUND : NIX1SIM_STORE_IO;
    if (!S_ISREG(sb.st_mode))
        return NIX1SIM_STORE_IO;
    if (size)
        *size = (size_t)sb.st_size;
    return NIX1SIM_STORE_OK;
}

int nix1sim_store_rename(struct nix1sim_store *st, const char *from, const char *to)
{
    if (!st->card_in)
        return NIX1SIM_STORE_NOCARD;
    char a[PATH_MAX], b[PATH_MAX];
    path_of(st, from, a, sizeof a);
    path_of(st, to, b, sizeof b);
    if (rename(a, b) < 0)
        return errno == ENOENT ? NIX1SIM_STORE_NOTFOUND : NIX1SIM_STORE_IO;
    st->gen++;
    return NIX1SIM_STORE_OK;
}

int nix1sim_store_copy(struct nix1sim_store *st, const char *from, const char *to)
{
    char *data;
    size_t len;
    int rc = nix1sim_store_read(st, from, &data, &len);
    if (rc != NIX1SIM_STORE_OK)
        return rc;
    rc = strcmp(from, to) == 0 ? NIX1SIM_STORE_OK : nix1sim_store_write(st, to, data, len);
    free(data);
    return rc;
}

int nix1sim_store_format(struct nix1sim_store *st)
{
    if (!st->card_in)
        return NIX1SIM_STORE_NOCARD;
    DIR *d = opendir(st->dir);
    if (!d)
        return NIX1SIM_STORE_IO;
    int rc = NIX1SIM_STORE_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[PATH_MAX];
        path_of(st, e->d_name, p, sizeof p);
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISREG(sb.st_mode) && unlink(p) < 0)
            rc = NIX1SIM_STORE_IO;
    }
    closedir(d);
    st->gen++;
    return rc;
}

static int cmp_names(const void *a, const void *b) { return strcmp(a, b); }

int nix1sim_store_list(struct nix1sim_store *st, const char *ext, char (**names)[NIX1SIM_NAME_MAX],
                       size_t **sizes)
{
    *names = NULL;
    *sizes = NULL;
    if (!st->card_in)
        return -NIX1SIM_STORE_NOCARD;
    DIR *d = opendir(st->dir);
    if (!d)
        return -NIX1SIM_STORE_IO;
    char(*v)[NIX1SIM_NAME_MAX] = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char norm[NIX1SIM_NAME_MAX];
        if (!nix1sim_store_name(e->d_name, norm) || strcmp(norm, e->d_name) != 0)
            continue;
        const char *dot = strchr(norm, '.');
        if (ext && strcasecmp(dot ? dot + 1 : "", ext) != 0)
            continue;
        void *nv = grow_array(v, n, &cap, sizeof *v, 16);
        if (!nv) {
            free(v);
            closedir(d);
            return -NIX1SIM_STORE_IO;
        }
        v = nv;
        memcpy(v[n++], norm, NIX1SIM_NAME_MAX);
    }
    closedir(d);
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_names);
    size_t *sz = calloc(n ? n : 1, sizeof *sz);
    if (!sz) {
        free(v);
        return -NIX1SIM_STORE_IO;
    }
    for (size_t i = 0; i < n; i++) {
        size_t s = 0;
        if (nix1sim_store_stat(st, v[i], &s) == NIX1SIM_STORE_OK)
            sz[i] = s;
    }
    *names = v;
    *sizes = sz;
    return (int)n;
}
