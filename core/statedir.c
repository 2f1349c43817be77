#include "core/statedir.h"

#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/durable.h"

static char override_dir[PATH_MAX];

int statedir_override(const char *dir, char *err, size_t errlen)
{
    if (!dir || !dir[0]) {
        override_dir[0] = '\0';
        return 0;
    }
    int n;
    if (dir[0] == '/') {
        n = snprintf(override_dir, sizeof override_dir, "%s", dir);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) {
            snprintf(err, errlen, "state directory %s: %s", dir, strerror(errno));
            return -1;
        }
        n = snprintf(override_dir, sizeof override_dir, "%s/%s", cwd, dir);
    }
    if (n < 0 || (size_t)n >= sizeof override_dir) {
        override_dir[0] = '\0';
        snprintf(err, errlen, "state directory %.80s...: path too long", dir);
        return -1;
    }
    return 0;
}

static int put(char *buf, size_t len, char *err, size_t errlen, const char *a, const char *b)
{
    int n = snprintf(buf, len, "%s%s", a, b);
    if (n < 0 || (size_t)n >= len) {
        snprintf(err, errlen, "state directory %.80s...: path too long", a);
        return -1;
    }
    return 0;
}

int statedir_get(char *buf, size_t len, char *err, size_t errlen)
{
    if (override_dir[0])
        return put(buf, len, err, errlen, override_dir, "");
    const char *xdg = getenv("XDG_STATE_HOME");
    if (xdg && xdg[0] == '/')
        return put(buf, len, err, errlen, xdg, "/portier");
    const char *home = getenv("HOME");
    char pwbuf[4096];
    struct passwd pw, *res = NULL;
    if (!home || !home[0]) {
        if (getpwuid_r(getuid(), &pw, pwbuf, sizeof pwbuf, &res) == 0 && res && res->pw_dir && res->pw_dir[0])
            home = res->pw_dir;
    }
    if (!home || !home[0]) {
        snprintf(err, errlen, "no state directory: set XDG_STATE_HOME or HOME, or pass --state-dir");
        return -1;
    }
    return put(buf, len, err, errlen, home, "/.local/state/portier");
}

int statedir_path(const char *name, char *buf, size_t len, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    if (statedir_get(dir, sizeof dir, err, errlen) < 0)
        return -1;
    int n = snprintf(buf, len, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= len) {
        snprintf(err, errlen, "state file %.80s...: path too long", dir);
        return -1;
    }
    if (durable_mkdirs_for(buf, 0700) < 0) {
        snprintf(err, errlen, "cannot create the state directory for %s: %s", buf, strerror(errno));
        return -1;
    }
    return 0;
}

char *statedir_name(const char *text, char *buf, size_t len)
{
    size_t k = 0;
    for (const char *s = text ? text : ""; *s && k + 1 < len; s++) {
        char c = *s;
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == '@';
        buf[k++] = keep ? c : '_';
    }
    buf[k] = '\0';
    if (k == 0 || strcmp(buf, ".") == 0 || strcmp(buf, "..") == 0)
        snprintf(buf, len, "_");
    return buf;
}

int statedir_device_path(const char *site, const char *kind, const char *device, const char *where, char *buf,
                         size_t len, char *err, size_t errlen)
{
    char s[80], k[24], d[80], w[200], name[420];
    snprintf(name, sizeof name, "site-%s/%s-%s@%s.state", statedir_name(site, s, sizeof s),
             statedir_name(kind, k, sizeof k), statedir_name(device, d, sizeof d), statedir_name(where, w, sizeof w));
    return statedir_path(name, buf, len, err, errlen);
}
