/* Fuzz target: the door state files read back at start (C3 c3_doorstate, NiX1 nix1_door_load); the first byte picks
 * the parser and the panel's door count. A state read back is written again and must read the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/c3/c3_doorstate.h"
#include "drivers/nix1/nix1_door.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (data[0] & 1) {
        struct c3_doorstate a = { .doors = 1u + (data[0] >> 1) % 4 };
        c3_doorstate_parse(text, len, &a);
        char buf[1024];
        size_t n = c3_doorstate_format(&a, buf, sizeof buf);
        if (n >= sizeof buf)
            abort();
        struct c3_doorstate b = { .doors = a.doors };
        if (n && (c3_doorstate_parse(buf, n, &b) != 0 || memcmp(&a, &b, sizeof a) != 0))
            abort();
        return 0;
    }
    struct nix1_door *d = nix1_door_new(NULL);
    if (!d)
        return 0;
    nix1_door_load(d, text, len);
    size_t n = 0;
    char *out = nix1_door_save(d, &n);
    struct nix1_door *e = nix1_door_new(NULL);
    if (out && e) {
        if (nix1_door_load(e, out, n) != 0 || nix1_door_count(e) != nix1_door_count(d))
            abort();
        for (size_t i = 0; i < nix1_door_count(d); i++) {
            const struct nix1_door_slave *x = nix1_door_at(d, i), *y = nix1_door_at(e, i);
            if (!nix1_addr_equal(&x->addr, &y->addr) || x->known != y->known || x->has_cron != y->has_cron ||
                (x->has_cron && strcmp(x->cron, y->cron) != 0) || x->cron_mode != y->cron_mode ||
                x->lock[0] != y->lock[0] || x->lock[1] != y->lock[1] || x->held != y->held ||
                x->held_until_us != y->held_until_us || x->want_until_us != y->want_until_us ||
                x->in_emergency != y->in_emergency || x->restore_pending != y->restore_pending ||
                x->restore_locked != y->restore_locked)
                abort();
        }
    }
    free(out);
    nix1_door_free(e);
    nix1_door_free(d);
    return 0;
}
