/* procmark: the mark of this process in an audit row, and whether a marked process still runs. */
#include "core/procmark.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MARK_FORMAT PROCMARK_PREFIX "%d (start %llu, boot %8[0-9a-f])"

/* The start time (field 22 of /proc/PID/stat, clock ticks since boot) of a process; false when it is gone. */
static bool start_of(const char *stat_path, unsigned long long *start)
{
    char stat[1024];
    FILE *f = fopen(stat_path, "r");
    if (!f)
        return false;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    stat[n] = '\0';
    fclose(f);
    const char *p = strrchr(stat, ')'); /* after the command name (which may hold spaces), fields 3.. */
    for (int field = 2; p && *p && field < 22; p++)
        if (*p == ' ')
            field++;
    if (!p || !*p)
        return false;
    *start = strtoull(p, NULL, 10);
    return true;
}

void procmark_self(char *buf, size_t len)
{
    char boot[40] = "";
    unsigned long long start = 0;
    if (!start_of("/proc/self/stat", &start))
        start = 0;
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f) {
        if (!fgets(boot, sizeof boot, f))
            boot[0] = '\0';
        fclose(f);
    }
    boot[strcspn(boot, "\n")] = '\0';
    snprintf(buf, len, PROCMARK_PREFIX "%d (start %llu, boot %.8s)", (int)getpid(), start, boot);
}

bool procmark_alive(const char *text)
{
    int pid, mypid;
    unsigned long long start, mystart, now;
    char boot[16], mine_boot[16] = "", me[160];
    if (!text || sscanf(text, MARK_FORMAT, &pid, &start, boot) != 3 || pid <= 0)
        return false;
    procmark_self(me, sizeof me);
    if (sscanf(me, MARK_FORMAT, &mypid, &mystart, mine_boot) != 3 || strcmp(boot, mine_boot) != 0)
        return false;
    if (pid == mypid)
        return start == mystart;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    return start_of(path, &now) && now == start;
}
