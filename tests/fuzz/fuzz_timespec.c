/* Fuzz target: time specifications typed by people (portierctl --since/--until, console filters). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/timespec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[128];
    if (size >= sizeof s)
        size = sizeof s - 1;
    memcpy(s, data, size);
    s[size] = '\0';
    static int zone_set;
    if (!zone_set) {
        setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
        tzset();
        zone_set = 1;
    }
    const int64_t now = 1774787415000000; /* 2026-03-29 12:30:15 UTC, a DST change day in that zone */
    int64_t v = 0;
    char err[96];
    err[0] = '\0';
    if (timespec_parse(s, now, &v, err, sizeof err) == 0) {
        /* every accepted time lies between 100 years ago and the end of the year 9999 */
        if (v < now - 36500LL * 86400 * 1000000 - 1 || v > 253402300799LL * 1000000)
            abort();
    } else if (!err[0] || strlen(err) >= sizeof err) {
        abort(); /* a refusal always says why */
    }
    return 0;
}
