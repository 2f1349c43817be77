#include "drivers/c3/c3_doorstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/textline.h"

size_t c3_doorstate_format(const struct c3_doorstate *st, char *buf, size_t len)
{
    unsigned n = st->doors <= C3_DOORSTATE_DOORS ? st->doors : C3_DOORSTATE_DOORS;
    bool any = st->em_intent;
    for (unsigned i = 0; i < n; i++) {
        const struct c3_doorstate_door *d = &st->door[i];
        any = any || d->emergency || d->em_pending || d->held || d->normal_open || d->restore_pending;
    }
    if (!any || len == 0)
        return 0;
    size_t k = (size_t)snprintf(buf, len,
                                "# portier C3 door state: door N emergency pending prev_held prev_normal_open held "
                                "normal_open restore_pending\nemergency %s restore %s\n",
                                st->em_intent ? "on" : "off", st->restore_locked ? "locked" : "previous");
    for (unsigned i = 0; i < n && k < len; i++) {
        const struct c3_doorstate_door *d = &st->door[i];
        k += (size_t)snprintf(buf + k, len - k, "door %u %d %d %d %d %d %d %d\n", i + 1, d->emergency, d->em_pending,
                              d->prev_held, d->prev_no, d->held, d->normal_open, d->restore_pending);
    }
    return k < len ? k : len - 1;
}

static bool flag(const char *s, bool *out)
{
    if ((s[0] == '0' || s[0] == '1') && s[1] == '\0') {
        *out = s[0] == '1';
        return true;
    }
    return false;
}

/* "door N f f f f f f [f]": 0/1 flags only. */
static bool door_line(char *line, struct c3_doorstate *st)
{
    char *tok[10], *save = NULL;
    int n = 0;
    for (char *t = strtok_r(line, " \t\r", &save); t && n < 10; t = strtok_r(NULL, " \t\r", &save))
        tok[n++] = t;
    if ((n != 8 && n != 9) || strcmp(tok[0], "door") != 0 || strlen(tok[1]) != 1 || tok[1][0] < '1' ||
        tok[1][0] > '0' + (int)(st->doors <= C3_DOORSTATE_DOORS ? st->doors : C3_DOORSTATE_DOORS))
        return false;
    bool v[7] = { false };
    for (int i = 2; i < n; i++)
        if (!flag(tok[i], &v[i - 2]))
            return false;
    struct c3_doorstate_door *d = &st->door[tok[1][0] - '1'];
    d->emergency = v[0];
    d->em_pending = v[1];
    d->prev_held = v[2];
    d->prev_no = v[3];
    d->held = v[4];
    d->normal_open = v[5];
    d->restore_pending = v[6];
    return true;
}

int c3_doorstate_parse(const char *text, size_t len, struct c3_doorstate *st)
{
    int bad = 0;
    bool intent_line = false;
    size_t pos = 0;
    const char *ln;
    size_t l;
    while (textline_next(text, len, &pos, &ln, &l)) {
        char line[128];
        if (l == 0 || ln[0] == '#')
            continue;
        if (l >= sizeof line || memchr(ln, '\0', l)) {
            bad++;
            continue;
        }
        memcpy(line, ln, l);
        line[l] = '\0';
        char on[8], restore[16], extra;
        if (sscanf(line, "emergency %7s restore %15s %c", on, restore, &extra) == 2 &&
            (strcmp(on, "on") == 0 || strcmp(on, "off") == 0) &&
            (strcmp(restore, "locked") == 0 || strcmp(restore, "previous") == 0)) {
            intent_line = true;
            st->em_intent = strcmp(on, "on") == 0;
            st->restore_locked = strcmp(restore, "locked") == 0;
            continue;
        }
        if (!door_line(line, st))
            bad++;
    }
    for (unsigned i = 0; !intent_line && i < st->doors && i < C3_DOORSTATE_DOORS; i++)
        st->em_intent = st->em_intent || st->door[i].emergency || st->door[i].em_pending;
    return bad;
}
