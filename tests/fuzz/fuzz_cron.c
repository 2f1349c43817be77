/* Fuzz target: cron expressions (parse, match, next change). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cron c;
    char err[128];
    if (cron_parse((const char *)data, size, &c, err, sizeof err) != 0)
        return 0;
    if (!c.minute || !c.hour || !c.dom || !c.month || !c.dow)
        abort(); /* a valid field always selects something */
    time_t t = 1436413339;
    for (int i = 0; i < 4; i++) {
        bool m = cron_match(&c, t, 60);
        time_t nx = cron_next_change(&c, t, 60, 40 * 86400);
        if (nx != -1) {
            if (nx <= t || cron_match(&c, nx, 60) == m || cron_match(&c, nx - 60, 60) != m)
                abort();
            t = nx;
        } else {
            t += 86400 * 3 + 7;
        }
    }
    return 0;
}
