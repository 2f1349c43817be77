/* role: role names and resolution from Unix users and groups. */
#include "core/role.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const names[ROLE_COUNT] = { "guard", "operator", "technician" };

const char *role_name(enum role role)
{
    return (unsigned)role < ROLE_COUNT ? names[role] : "?";
}

int role_from_name(const char *name)
{
    for (int i = 0; name && i < ROLE_COUNT; i++)
        if (strcasecmp(name, names[i]) == 0)
            return i;
    return -1;
}

enum role role_resolve(const struct role_map *maps, size_t nmaps, enum role def, const char *user,
                       const char *const *groups, size_t ngroups, bool readonly)
{
    if (readonly)
        return ROLE_GUARD;
    bool matched = false;
    enum role best = ROLE_GUARD;
    for (size_t i = 0; i < nmaps; i++) {
        bool hit = false;
        if (!maps[i].is_group) {
            hit = user && strcmp(maps[i].name, user) == 0;
        } else {
            for (size_t g = 0; g < ngroups && !hit; g++)
                hit = groups[g] && strcmp(maps[i].name, groups[g]) == 0;
        }
        if (hit && (!matched || maps[i].role > best)) {
            best = maps[i].role;
            matched = true;
        }
    }
    return matched ? best : def;
}

void role_current_user(char *buf, size_t len)
{
    uid_t uid = getuid();
    struct passwd pw, *res = NULL;
    char tmp[4096];
    if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res)
        snprintf(buf, len, "%s", res->pw_name);
    else
        snprintf(buf, len, "uid%u", (unsigned)uid);
}

enum role role_resolve_current(const struct role_map *maps, size_t nmaps, enum role def, bool readonly,
                               char *user, size_t userlen)
{
    role_current_user(user, userlen);
    gid_t gids[256];
    int n = getgroups(256, gids);
    if (n < 0)
        n = 0;
    char *gnames[257];
    size_t ng = 0;
    gid_t all[257];
    memcpy(all, gids, (size_t)n * sizeof gids[0]);
    all[n++] = getgid();
    for (int i = 0; i < n; i++) {
        struct group gr, *res = NULL;
        char tmp[8192];
        if (getgrgid_r(all[i], &gr, tmp, sizeof tmp, &res) == 0 && res) {
            char *dup = strdup(res->gr_name);
            if (dup)
                gnames[ng++] = dup;
        }
    }
    enum role r = role_resolve(maps, nmaps, def, user, (const char *const *)gnames, ng, readonly);
    for (size_t i = 0; i < ng; i++)
        free(gnames[i]);
    return r;
}
