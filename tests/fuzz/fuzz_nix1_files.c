/* Fuzz target: NiX1 server-file and µSD-file readers; the first byte selects the reader. Whatever parses
 * is also fed to the slave-file generator, whose output must read back without errors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/nix1/nix1_files.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned sel = data[0] % 7;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    struct nix1_diag d = { 0 };
    struct nix1_keys k = { 0 };
    struct nix1_units u = { 0 };
    struct nix1_users us = { 0 };
    struct nix1_rights r = { 0 };
    struct nix1_log l = { 0 };
    struct nix1_config c;
    nix1_config_defaults(&c);
    switch (sel) {
    case 0: nix1_files_read_keys("keys.txt", s, n, &k, &d); break;
    case 1: nix1_files_read_units("units.txt", s, n, &u, &d); break;
    case 2: nix1_files_read_users("users.txt", s, n, &us, &d); break;
    case 3: nix1_files_read_cron("cron.txt", s, n, &r, &d); break;
    case 4: nix1_files_read_unit_rights("14U.U", 14, s, n, &r, &d); break;
    case 5: {
        nix1_files_read_config("CONFIG.TXT", s, n, &c, &d);
        char buf[1024];
        if (nix1_config_format(&c, buf, sizeof buf) < 0)
            abort();
        struct nix1_config c2;
        nix1_config_defaults(&c2);
        struct nix1_diag d2 = { 0 };
        if (nix1_files_read_config("CONFIG.TXT", buf, strlen(buf), &c2, &d2) != 0)
            abort();
        nix1_diag_free(&d2);
        break;
    }
    default: nix1_files_read_log("ACCESS.1", s, n, &l, &d); break;
    }
    const uint32_t units[2] = { 14, 15 };
    struct nix1_genset g;
    if (nix1_files_generate(&k, &us, &r, units, 2, sel != 2, &g) == 0) {
        for (size_t i = 0; i < g.n; i++) {
            struct nix1_diag d2 = { 0 };
            struct nix1_keys k2 = { 0 };
            struct nix1_users u2 = { 0 };
            struct nix1_rights r2 = { 0 };
            int bad;
            if (!strcmp(g.v[i].name, "KEYS.TXT"))
                bad = nix1_files_read_keys(g.v[i].name, g.v[i].data, g.v[i].len, &k2, &d2);
            else if (!strncmp(g.v[i].name, "USERS.", 6))
                bad = nix1_files_read_users(g.v[i].name, g.v[i].data, g.v[i].len, &u2, &d2);
            else
                bad = nix1_files_read_unit_rights(g.v[i].name, 14, g.v[i].data, g.v[i].len, &r2, &d2);
            if (bad != 0)
                abort();
            nix1_keys_free(&k2);
            nix1_users_free(&u2);
            nix1_rights_free(&r2);
            nix1_diag_free(&d2);
        }
        nix1_genset_free(&g);
    }
    nix1_keys_free(&k);
    nix1_units_free(&u);
    nix1_users_free(&us);
    nix1_rights_free(&r);
    nix1_log_free(&l);
    nix1_diag_free(&d);
    return 0;
}
