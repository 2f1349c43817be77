/* portier-sim: faithful device simulators for tests, benchmarks and the demo. Binds to loopback only. */
#include <stdio.h>
#include <string.h>

#include "sim/sim.h"
#include "sim/c3sim.h"
#include "sim/nix1sim.h"
#include "sim/sitesim.h"

/* One line per simulator module. */
static const struct sim_kind *const kinds[] = {
    &c3sim_kind,
    &nix1sim_kind,
    &sitesim_kind,
    NULL,
};

static void usage(FILE *out)
{
    fprintf(out, "usage: portier-sim KIND [options]\n");
    for (size_t i = 0; kinds[i]; i++)
        fprintf(out, "%s\n", kinds[i]->usage);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; kinds[i]; i++)
        if (strcmp(argv[1], kinds[i]->name) == 0)
            return kinds[i]->main(argc - 1, argv + 1);
    fprintf(stderr, "portier-sim: unknown simulator '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
