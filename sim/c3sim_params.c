/* c3sim_params: a simulated panel's parameter table, its defaults and the get/set of spec §4.5. */
#include "sim/c3sim_params.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/grow.h"
#include "core/textline.h"
#include "drivers/c3/c3_time.h"

static struct c3sim_param *param_find(const struct c3sim_panel *p, const char *name, size_t len)
{
    for (size_t i = 0; i < p->nparams; i++)
        if (strlen(p->params[i].name) == len && memcmp(p->params[i].name, name, len) == 0)
            return &p->params[i];
    return NULL;
}

const char *c3sim_params_value(const struct c3sim_panel *p, const char *name)
{
    const struct c3sim_param *q = param_find(p, name, strlen(name));
    return q ? q->value : NULL;
}

static int param_set(struct c3sim_panel *p, const char *name, size_t nlen, const char *value, size_t vlen)
{
    char *v = strndup(value, vlen);
    if (!v)
        return -1;
    struct c3sim_param *q = param_find(p, name, nlen);
    if (q) {
        free(q->value);
        q->value = v;
        return 0;
    }
    struct c3sim_param *np = grow_array(p->params, p->nparams, &p->cap_params, sizeof *np, 128);
    if (!np) {
        free(v);
        return -1;
    }
    p->params = np;
    char *n = strndup(name, nlen);
    if (!n) {
        free(v);
        return -1;
    }
    p->params[p->nparams++] = (struct c3sim_param){ .name = n, .value = v };
    return 0;
}

static int param_setf(struct c3sim_panel *p, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int param_setf(struct c3sim_panel *p, const char *name, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return param_set(p, name, strlen(name), buf, strlen(buf));
}

static long param_long(const struct c3sim_panel *p, const char *name, long dflt)
{
    const char *v = c3sim_params_value(p, name);
    if (!v || !*v)
        return dflt;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    return (errno || *end) ? dflt : x;
}

long c3sim_params_door(const struct c3sim_panel *p, int door, const char *what, long dflt)
{
    char name[48];
    snprintf(name, sizeof name, "Door%d%s", door, what);
    return param_long(p, name, dflt);
}

uint8_t c3sim_params_device_id(const struct c3sim_panel *p)
{
    long id = param_long(p, "DeviceID", 1);
    return (uint8_t)(id < 0 || id > 255 ? 1 : id);
}

/* The panel's fixed parameters; those that follow from the model or the configuration are set in
 * c3sim_params_defaults itself. */
static const struct c3sim_default { const char *name; const char *value; } panel_defaults[] = {
    { "~ZKFPVersion", "" },       { "~MaxUserCount", "300" },     { "~MaxAttLogCount", "10" },
    { "~MaxUserFingerCount", "0" }, { "~IsOnlyRFMachine", "1" },  { "~CardFormatFunOn", "1" },
    { "~Ext485ReaderFunOn", "0" }, { "~DSTF", "1" },              { "MThreshold", "55" },
    { "SimpleEventType", "1" },   { "MasterInbio485", "0" },      { "PC485AsInbio485", "0" },
    { "NetMask", "255.255.255.0" }, { "RS232BaudRate", "38400" }, { "AntiPassback", "0" },
    { "InterLock", "0" },         { "WatchDog", "1" },            { "Door4ToDoor2", "0" },
    { "InBIOTowWay", "0" },       { "BackupTime", "1" },          { "DaylightSavingTimeOn", "0" },
    { "DLSTMode", "0" },          { "DaylightSavingTime", "0" },  { "StandardTime", "0" },
};

/* Each door's parameters, named "Door<n><what>". */
static const struct c3sim_default door_defaults[] = {
    { "ForcePassWord", "" },   { "SupperPassWord", "" }, { "CloseAndLock", "1" },
    { "SensorType", "1" },     { "Drivertime", "5" },    { "Detectortime", "15" },
    { "VerifyType", "4" },     { "MultiCardOpenDoor", "0" }, { "FirstCardOpenDoor", "0" },
    { "ValidTZ", "1" },        { "KeepOpenTimeZone", "0" }, { "Intertime", "0" },
    { "CancelKeepOpenDay", "0" },
};

int c3sim_params_defaults(struct c3sim_panel *p, const struct c3sim_panel_cfg *cfg)
{
    const struct c3sim_model *m = cfg->model;
    int rc = 0;
    rc |= param_setf(p, "~SerialNumber", "DDG81300160922%05u", 401u + cfg->index);
    rc |= param_setf(p, "~DeviceName", "%s", m->name);
    rc |= param_setf(p, "FirmVer", "%s", cfg->firmware ? cfg->firmware : c3sim_default_firmware(cfg->dialect));
    rc |= param_setf(p, "LockCount", "%d", m->doors);
    rc |= param_setf(p, "ReaderCount", "%d", m->readers);
    rc |= param_setf(p, "AuxInCount", "%d", m->aux_in);
    rc |= param_setf(p, "AuxOutCount", "%d", m->aux_out);
    rc |= param_setf(p, "MachineType", "%d", m->doors);
    rc |= param_setf(p, "DeviceID", "%u", cfg->device_id ? cfg->device_id : 1u);
    rc |= param_setf(p, "ComPwd", "%s", cfg->password ? cfg->password : "");
    rc |= param_setf(p, "IPAddress", "192.168.%u.%u", 1u + cfg->index / 50u % 250u, 201u + cfg->index % 50u);
    rc |= param_setf(p, "GATEIPAddress", "192.168.%u.1", 1u + cfg->index / 50u % 250u);
    for (size_t i = 0; i < sizeof panel_defaults / sizeof panel_defaults[0]; i++)
        rc |= param_setf(p, panel_defaults[i].name, "%s", panel_defaults[i].value);
    for (int i = 1; i <= 10; i++) {
        char n[24];
        snprintf(n, sizeof n, "WeekOfMonth%d", i);
        rc |= param_setf(p, n, "%d", 0);
    }
    for (int d = 1; d <= m->doors; d++)
        for (size_t i = 0; i < sizeof door_defaults / sizeof door_defaults[0]; i++) {
            char n[48];
            snprintf(n, sizeof n, "Door%d%s", d, door_defaults[i].name);
            rc |= param_setf(p, n, "%s", door_defaults[i].value);
        }
    return rc ? -1 : 0;
}

int c3sim_params_get(struct c3sim_panel *p, const char *req, size_t len, char *out, size_t cap)
{
    while (len > 0 && req[len - 1] == '\0')
        len--;
    if (len == 0 || cap == 0)
        return -11;
    size_t o = 0;
    bool first = true;
    size_t pos = 0, nlen;
    const char *name;
    while (textline_next_sep(req, len, &pos, ",", 1, &name, &nlen)) {
        if (nlen == 0)
            continue;
        char dt[16];
        const char *value;
        if (nlen == 8 && memcmp(name, "DateTime", 8) == 0) {
            snprintf(dt, sizeof dt, "%" PRIu32, c3sim_panel_now(p));
            value = dt;
        } else {
            const struct c3sim_param *q = param_find(p, name, nlen);
            value = q ? q->value : ""; /* unknown names answer "Name=" (see doc/decisions.md) */
        }
        size_t vlen = strlen(value);
        size_t need = (first ? 0 : 1) + nlen + 1 + vlen;
        if (o + need + 1 > cap)
            return -3;
        if (!first)
            out[o++] = ',';
        memcpy(out + o, name, nlen);
        o += nlen;
        out[o++] = '=';
        memcpy(out + o, value, vlen);
        o += vlen;
        first = false;
    }
    if (first)
        return -11;
    out[o] = '\0';
    return (int)o;
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* Decimal value of n digits (the text is not NUL-terminated; callers checked all_digits and n <= 10). */
static unsigned long long digits_value(const char *s, size_t n)
{
    unsigned long long x = 0;
    for (size_t i = 0; i < n; i++)
        x = x * 10u + (unsigned)(s[i] - '0');
    return x;
}

static bool name_is(const char *name, size_t nlen, const char *lit)
{
    return strlen(lit) == nlen && memcmp(name, lit, nlen) == 0;
}

/* DoorN<what>: returns N (1-9) when name has that shape, else 0. */
static int door_name(const char *name, size_t nlen, const char *what)
{
    size_t wl = strlen(what);
    if (nlen != 5 + wl || memcmp(name, "Door", 4) != 0 || !isdigit((unsigned char)name[4]) || name[4] == '0')
        return 0;
    return memcmp(name + 5, what, wl) == 0 ? name[4] - '0' : 0;
}

static bool read_only(const char *name, size_t nlen)
{
    static const char *const ro[] = { "LockCount", "ReaderCount", "AuxInCount", "AuxOutCount", "FirmVer",
                                      "MachineType" };
    if (nlen > 0 && name[0] == '~')
        return true;
    for (size_t i = 0; i < sizeof ro / sizeof ro[0]; i++)
        if (name_is(name, nlen, ro[i]))
            return true;
    return false;
}

/* Range check for the numeric parameters the simulator acts on; other values are stored as given. */
static bool value_ok(const char *name, size_t nlen, const char *v, size_t vlen)
{
    for (size_t i = 0; i < vlen; i++)
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] == 0x7f)
            return false;
    unsigned long long x;
    if (name_is(name, nlen, "DateTime")) {
        if (!all_digits(v, vlen) || vlen > 10)
            return false;
        x = digits_value(v, vlen);
        if (x > UINT32_MAX)
            return false;
        struct c3_time t;
        c3_time_unpack((uint32_t)x, &t);
        return c3_time_valid(&t); /* 31 February is refused, see doc/decisions.md */
    }
    if (name_is(name, nlen, "ComPwd"))
        return vlen <= 15;
    if (name_is(name, nlen, "DeviceID"))
        return all_digits(v, vlen) && vlen <= 3 && (x = digits_value(v, vlen)) >= 1 && x <= 255;
    static const struct { const char *what; unsigned long max; } doors[] = {
        { "Drivertime", 255 }, { "Detectortime", 255 }, { "SensorType", 2 }, { "VerifyType", 255 },
        { "CloseAndLock", 1 }, { "Intertime", 255 },
    };
    for (size_t i = 0; i < sizeof doors / sizeof doors[0]; i++)
        if (door_name(name, nlen, doors[i].what))
            return all_digits(v, vlen) && vlen <= 3 && digits_value(v, vlen) <= doors[i].max;
    return true;
}

/* The NAME=VALUE pair of a write request that starts at *pos; *name NULL when the piece has no '=' or no name. */
static bool next_pair(const char *req, size_t len, size_t *pos, const char **name, size_t *nlen, const char **v,
                      size_t *vlen)
{
    const char *p;
    size_t l;
    if (!textline_next_sep(req, len, pos, ",", 1, &p, &l))
        return false;
    const char *eq = memchr(p, '=', l);
    *name = eq && eq != p ? p : NULL;
    *nlen = eq ? (size_t)(eq - p) : 0;
    *v = eq ? eq + 1 : NULL;
    *vlen = eq ? l - *nlen - 1 : 0;
    return true;
}

int c3sim_params_set(struct c3sim_panel *p, const char *req, size_t len)
{
    while (len > 0 && req[len - 1] == '\0')
        len--;
    if (len == 0)
        return -11;
    /* Validate everything first: a bad pair changes nothing. */
    int pairs = 0;
    size_t pos = 0, nlen, vlen;
    const char *name, *v;
    while (next_pair(req, len, &pos, &name, &nlen, &v, &vlen)) {
        if (!name || !value_ok(name, nlen, v, vlen))
            return -11;
        pairs++;
    }
    if (pairs == 0)
        return -11;
    int rc = 0;
    pos = 0;
    while (next_pair(req, len, &pos, &name, &nlen, &v, &vlen)) {
        if (read_only(name, nlen))
            continue; /* identity values cannot be written; the firmware ignores them */
        if (name_is(name, nlen, "DateTime")) {
            struct c3_time t;
            c3_time_unpack((uint32_t)digits_value(v, vlen), &t);
            struct tm tm = { .tm_year = t.year - 1900, .tm_mon = t.month - 1, .tm_mday = t.day,
                             .tm_hour = t.hour, .tm_min = t.minute, .tm_sec = t.second };
            p->clock_offset = (int64_t)timegm(&tm) - c3sim_panel_host_wall();
            continue;
        }
        if (name_is(name, nlen, "Reboot")) {
            if (vlen == 1 && v[0] == '1')
                rc = C3SIM_RESTART;
            continue;
        }
        if (param_set(p, name, nlen, v, vlen) < 0)
            return -12;
    }
    return rc;
}
