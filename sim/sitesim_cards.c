/* sitesim_cards: the NiX1 µSD cards of a simulated site, written before the bus simulator starts. */
#include "sim/sitesim_cards.h"

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
#include "drivers/nix1/nix1_files.h"
#include "drivers/nix1/nix1_prov.h"
#include "sim/nix1sim.h"

struct server_files {
    struct nix1_keys keys;
    struct nix1_users users;
    struct nix1_rights rights;
};

static void server_files_free(struct server_files *sf)
{
    nix1_keys_free(&sf->keys);
    nix1_users_free(&sf->users);
    nix1_rights_free(&sf->rights);
}

/* The bus's server files when its server_dir has them all, else a built-in set (the spec's demo keys, five
 * users with rights on every unit of the bus, one of them weekdays 8-17 only). */
static int load_server_files(const struct site_bus *b, struct server_files *sf)
{
    struct nix1_diag diag = { 0 };
    int rc = 0;
    if (b->server_dir[0]) {
        char err[SITE_PATH_MAX + 96];
        rc = nix1_prov_read_server(b->server_dir, false, &sf->keys, &sf->users, &sf->rights, &diag, err, sizeof err);
        if (rc != -1) {
            if (diag.count > 0 && diag.text)
                fprintf(stderr, "portier-sim site: bus \"%s\": problems in %s (lines skipped):\n%s", b->name,
                        b->server_dir, diag.text);
            nix1_diag_free(&diag);
            return rc < 0 ? -1 : 0;
        }
        fprintf(stderr, "portier-sim site: bus \"%s\": cannot read %s; its slaves get built-in demo users\n", b->name,
                err);
        nix1_diag_free(&diag);
        server_files_free(sf);
        memset(sf, 0, sizeof *sf);
        rc = 0;
    }
    int *units = calloc(SITE_NIX1_PROBES * b->n_slaves + 1, sizeof *units);
    for (size_t k = 0; units && k < b->n_slaves; k++)
        for (int p = 0; p < SITE_NIX1_PROBES; p++)
            units[SITE_NIX1_PROBES * k + (size_t)p] = b->slaves[k].probe_units[p];
    if (!units || nix1sim_demo_files(units, SITE_NIX1_PROBES * b->n_slaves, &sf->keys, &sf->users, &sf->rights) != 0)
        rc = -1;
    free(units);
    return rc;
}

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return durable_write(path, data, len, 0600, DURABLE_NO_SYNC, NULL, 0);
}

static int make_dir(const char *path)
{
    return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* Write every slave's CONFIG.TXT and rights files into busdir/<ADDRESS>/; generated files left from an earlier
 * run with other units are removed. */
int sitesim_cards_prepare(const struct site_bus *b, const char *busdir)
{
    if (make_dir(busdir) != 0) {
        fprintf(stderr, "portier-sim site: cannot create %s: %s\n", busdir, strerror(errno));
        return -1;
    }
    struct server_files sf = { 0 };
    if (load_server_files(b, &sf) != 0) {
        fprintf(stderr, "portier-sim site: bus \"%s\": out of memory reading the server files\n", b->name);
        server_files_free(&sf);
        return -1;
    }
    int rc = 0;
    for (size_t k = 0; k < b->n_slaves && rc == 0; k++) {
        const struct site_slave *s = &b->slaves[k];
        char card[PATH_MAX];
        int cn = snprintf(card, sizeof card, "%s/%s", busdir, s->addr);
        if (cn < 0 || (size_t)cn >= sizeof card || make_dir(card) != 0) {
            fprintf(stderr, "portier-sim site: cannot create %s: %s\n", card, strerror(errno));
            rc = -1;
            break;
        }
        struct nix1_config c;
        nix1_config_defaults(&c);
        c.baudrate = b->baud;
        c.enable = true;
        uint32_t units[SITE_NIX1_PROBES];
        size_t nu = 0;
        for (int p = 0; p < SITE_NIX1_PROBES; p++) {
            c.has_unit[p] = s->probe_units[p] >= 0;
            c.unit[p] = s->probe_units[p] >= 0 ? (uint32_t)s->probe_units[p] : 0;
            if (c.has_unit[p])
                units[nu++] = c.unit[p];
        }
        if (s->valid_timeout >= 0)
            c.valid_access_timeout = (unsigned)s->valid_timeout;
        if (s->bad_timeout >= 0)
            c.bad_access_timeout = (unsigned)s->bad_timeout;
        char cfg[2048];
        int n = nix1_config_format(&c, cfg, sizeof cfg);
        struct nix1_genset g = { 0 };
        if (n < 0 || write_file(card, "CONFIG.TXT", cfg, (size_t)n) != 0 ||
            nix1_files_generate(&sf.keys, &sf.users, &sf.rights, units, nu, false, &g) != 0) {
            fprintf(stderr, "portier-sim site: cannot prepare the card of slave %s in %s: %s\n", s->addr, card,
                    strerror(errno));
            rc = -1;
        }
        for (size_t i = 0; rc == 0 && i < g.n; i++) {
            if (write_file(card, g.v[i].name, g.v[i].data, g.v[i].len) != 0) {
                fprintf(stderr, "portier-sim site: cannot write %s/%s: %s\n", card, g.v[i].name, strerror(errno));
                rc = -1;
            }
        }
        DIR *dp = rc == 0 ? opendir(card) : NULL;
        struct dirent *de;
        while (dp && (de = readdir(dp))) {
            if (nix1_files_is_managed(de->d_name) && !nix1_genset_find(&g, de->d_name)) {
                char old[PATH_MAX + 300];
                snprintf(old, sizeof old, "%s/%s", card, de->d_name);
                unlink(old);
            }
        }
        if (dp)
            closedir(dp);
        nix1_genset_free(&g);
    }
    server_files_free(&sf);
    return rc;
}
