#include "sim/c3sim_userbase.h"

#include <stdio.h>
#include <stdlib.h>

static const char structure[] =
    "user=1,UID=i1,CardNo=i2,Pin=i3,Password=s4,Group=i5,StartTime=i6,EndTime=i7,Name=s8,SuperAuthorize=i9\n"
    "userauthorize=2,Pin=i1,AuthorizeTimezoneId=i2,AuthorizeDoorId=i3\n"
    "timezone=4,TimezoneId=i1,SunTime1=i2\n";

int c3sim_userbase_defs(struct c3_table_def *defs, size_t max)
{
    return c3_table_struct_parse(structure, sizeof structure - 1, defs, max, NULL);
}

int c3sim_userbase_panel(const struct c3_table_def *user, size_t n, struct csv *raw)
{
    const char *names[C3_TABLE_FIELDS_MAX];
    for (size_t i = 0; i < user->nfields; i++)
        names[i] = user->fields[i].name;
    if (csv_init(raw, names, user->nfields) < 0)
        return -1;
    for (size_t pin = 1; pin <= n; pin++) {
        char v[9][24];
        snprintf(v[0], sizeof v[0], "%zu", pin);
        snprintf(v[1], sizeof v[1], "%zu", pin % 20 ? 100000 + pin : 0);
        snprintf(v[2], sizeof v[2], "%zu", pin);
        snprintf(v[3], sizeof v[3], "%zu", 1000 + pin % 9000);
        snprintf(v[4], sizeof v[4], "%zu", pin % 10);
        snprintf(v[5], sizeof v[5], "0");
        snprintf(v[6], sizeof v[6], "0");
        snprintf(v[7], sizeof v[7], "user%zu", pin);
        snprintf(v[8], sizeof v[8], "0");
        const char *vals[9];
        for (int k = 0; k < 9; k++)
            vals[k] = v[k];
        if (csv_add(raw, vals, 0) < 0)
            return -1;
    }
    return 0;
}

char *c3sim_userbase_file(size_t n, const char *extra)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fputs("pin,card,password,group,start,end,name,super\n", f);
    size_t total = n + n / 20;
    for (size_t i = 0; i < total; i++) {
        size_t pin = (i * 7919u) % total + 1; /* 7919 is prime: a permutation unless total is a multiple */
        if (pin % 20 == 3)
            continue; /* deleted */
        fprintf(f, "%zu,%zu,%zu,%zu,,,%s%zu,0\n", pin, pin % 20 ? 100000 + pin : 0, 1000 + pin % 9000, pin % 10,
                pin % 10 == 0 ? "ren" : "user", pin);
    }
    fputs(extra, f);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
