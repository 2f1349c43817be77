/* conf_read: typed reads of libconfig settings for the configuration loader; every mistake becomes a
 * "line: message" diagnostic. Internal to config/ (no libconfig type leaves this folder). */
#ifndef PORTIER_CONF_READ_H
#define PORTIER_CONF_READ_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "config/site_config.h"

/* One load: the diagnostics it collects, the site it fills and the file it reads. */
struct conf_ctx {
    struct config_diags *d;
    struct site *site;
    char dir[SITE_PATH_MAX];      /* directory of the file, for relative paths */
    bool check_perms;
    struct stat st;               /* the file, when check_perms */
    char path[SITE_PATH_MAX];
    const char *text;             /* the text being loaded (integer literals are read from it) */
};

/* Add a diagnostic at line (0 = none). */
__attribute__((format(printf, 4, 5))) void conf_diag(struct conf_ctx *c, int line, bool warning, const char *fmt, ...);
#define CONF_ERR(c, line, ...) conf_diag((c), (line), false, __VA_ARGS__)
#define CONF_WARN(c, line, ...) conf_diag((c), (line), true, __VA_ARGS__)

/* The line a setting stands on (0 for none). */
int conf_line(const config_setting_t *s);
/* "an integer", "a string", ... for a CONFIG_TYPE_*. */
const char *conf_type_word(int type);
/* Report every child of group whose name is not in allowed (NULL-terminated). */
void conf_check_keys(struct conf_ctx *c, const config_setting_t *group, const char *where,
                     const char *const *allowed);
/* A member: NULL (and a message when required) when missing. */
config_setting_t *conf_member(struct conf_ctx *c, const config_setting_t *group, const char *key, const char *where,
                              bool required);
/* true when s has the type (an int64 counts as an int); otherwise a message. */
bool conf_want_type(struct conf_ctx *c, const config_setting_t *s, int type, const char *key);
/* The text of a string setting, or NULL (reported) when not UTF-8 or it holds a control character. */
const char *conf_text_of(struct conf_ctx *c, const config_setting_t *s, const char *key, int line);
/* String member into dst: true when present and valid. */
bool conf_get_str(struct conf_ctx *c, const config_setting_t *group, const char *key, const char *where, char *dst,
                  size_t len, bool required, bool nonempty);
/* An integer setting's value as written (libconfig 1.5 cuts or saturates); false when it exceeds 64 bits. */
bool conf_int_value(struct conf_ctx *c, const config_setting_t *s, const char *key, long long *v, char *lit,
                    size_t litlen);
/* Integer member in min..max: true when present and in range. */
bool conf_get_int(struct conf_ctx *c, const config_setting_t *group, const char *key, const char *where,
                  long long min, long long max, long long *out, bool required);
bool conf_get_bool(struct conf_ctx *c, const config_setting_t *group, const char *key, bool *out);
/* A string member that must be one of words[] (NULL-terminated): its index or -1. */
int conf_get_enum(struct conf_ctx *c, const config_setting_t *group, const char *key, const char *const *words);
/* A group member, or a list/array member (NULL when missing or of another type, reported). */
config_setting_t *conf_get_group(struct conf_ctx *c, const config_setting_t *parent, const char *key);
config_setting_t *conf_get_list(struct conf_ctx *c, const config_setting_t *parent, const char *key);
/* Element i of list l when it is a group; otherwise NULL, reported as "each WHAT must be a group SHAPE" at its
 * line (or the list's). */
config_setting_t *conf_list_group(struct conf_ctx *c, const config_setting_t *l, int i, const char *what,
                                  const char *shape);
/* A path relative to the configuration file's directory. */
void conf_resolve_path(struct conf_ctx *c, const char *p, char *out, size_t len);
/* A password is set inline: the configuration file itself must be private. */
void conf_password_perms(struct conf_ctx *c, int line);
/* The first line of a password file (regular, owner-only) into dst. */
void conf_read_password_file(struct conf_ctx *c, const config_setting_t *s, char *dst, size_t len);
/* A role name setting, or the required 'role' member of a mapping: the role, or -1 (reported). */
int conf_role_of(struct conf_ctx *c, const config_setting_t *s, const char *key);
int conf_get_role(struct conf_ctx *c, const config_setting_t *g, const char *where);

#endif
