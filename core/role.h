/* role: who may do what. guard watches and acknowledges, operator also controls doors and the
 * emergency, technician also changes the configuration. Roles come from Unix users and groups. */
#ifndef PORTIER_ROLE_H
#define PORTIER_ROLE_H

#include <stdbool.h>
#include <stddef.h>

enum role { ROLE_GUARD, ROLE_OPERATOR, ROLE_TECHNICIAN, ROLE_COUNT };

/* One mapping line of the configuration: a Unix user or group and the role it gets. */
struct role_map {
    char name[64];
    bool is_group;
    enum role role;
};

/* "guard", "operator", "technician"; role_from_name returns -1 for anything else. */
const char *role_name(enum role role);
int role_from_name(const char *name);

/* True when role is at least min. */
static inline bool role_at_least(enum role role, enum role min) { return role >= min; }

/* Resolve the role of Unix user `user` (member of groups[0..ngroups)) from the maps: the highest role
 * among the matching user and group entries; def when nothing matches; always ROLE_GUARD when readonly. */
enum role role_resolve(const struct role_map *maps, size_t nmaps, enum role def, const char *user,
                       const char *const *groups, size_t ngroups, bool readonly);

/* The calling process's Unix user name (from the real uid; falls back to "uid<N>"). */
void role_current_user(char *buf, size_t len);
/* Resolve the role of the calling process (its user name and all its groups) through the maps. */
enum role role_resolve_current(const struct role_map *maps, size_t nmaps, enum role def, bool readonly,
                               char *user, size_t userlen);

#endif
