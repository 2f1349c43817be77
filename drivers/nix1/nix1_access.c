#include "drivers/nix1/nix1_access.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "drivers/nix1/nix1_line.h"
#include "drivers/nix1/nix1_rc.h"

static int bad(char *err, size_t errsz, const char *msg)
{
    if (err && errsz)
        snprintf(err, errsz, "%s", msg);
    return -1;
}

int nix1_access_parse(const char *line, size_t len, struct nix1_access *out, char *err, size_t errsz)
{
    if (!line)
        return bad(err, errsz, "no line");
    len = nix1_line_trim(line, len);
    if (!nix1_line_printable(line, len, true))
        return bad(err, errsz, "non-printable byte");
    struct nix1_span f[9];
    size_t n = nix1_fields_split(line, len, f, 9);
    if (n != 9)
        return bad(err, errsz, "expected 9 TAB-separated fields");
    struct nix1_access a;
    memset(&a, 0, sizeof a);
    if (nix1_addr_parse(f[0].p, f[0].len, &a.slave) != 0)
        return bad(err, errsz, "slave address is not 16 hex digits");
    if (f[1].len > NIX1_UID_MAX)
        return bad(err, errsz, "uid too long");
    memcpy(a.uid, f[1].p, f[1].len);
    a.uid[f[1].len] = '\0';
    uint64_t v;
    if (f[2].len) {
        if (!nix1_parse_uint(f[2].p, f[2].len, 65535, &v))
            return bad(err, errsz, "unit is not a number in 0-65535");
        a.has_unit = v != 65535;
        a.unit = a.has_unit ? (uint32_t)v : 0;
    }
    if (f[3].len) {
        if (!nix1_parse_uint(f[3].p, f[3].len, 9999999999ull, &a.key_ts))
            return bad(err, errsz, "key timestamp is not a number");
        a.has_key_ts = true;
    }
    if (!nix1_parse_uint(f[4].p, f[4].len, 9999999999ull, &a.ts))
        return bad(err, errsz, "timestamp is not a number");
    if (!nix1_parse_tz(f[5].p, f[5].len, &a.tz))
        return bad(err, errsz, "time zone is not +HHMM/-HHMM");
    if (!nix1_parse_uint(f[6].p, f[6].len, 2, &v) || v < 1)
        return bad(err, errsz, "probe is not 1 or 2");
    a.probe = (uint8_t)v;
    if (!nix1_parse_uint(f[7].p, f[7].len, 1, &v))
        return bad(err, errsz, "overdrive speed is not 0 or 1");
    a.od = (uint8_t)v;
    if (!nix1_parse_hex(f[8].p, f[8].len, 2, &v))
        return bad(err, errsz, "code is not 2 hex digits");
    a.code = (uint8_t)v;
    if (out)
        *out = a;
    if (err && errsz)
        err[0] = '\0';
    return 0;
}

int nix1_access_format(char *buf, size_t cap, const struct nix1_access *a)
{
    if (!buf || !a || a->probe < 1 || a->probe > 2 || a->od > 1 ||
        !nix1_line_printable(a->uid, strnlen(a->uid, sizeof a->uid), false))
        return -1;
    char addr[NIX1_ADDR_LEN + 1], tz[6], unit[8] = "", kts[24] = "";
    if (a->has_unit)
        snprintf(unit, sizeof unit, "%" PRIu32, a->unit);
    if (a->has_key_ts)
        snprintf(kts, sizeof kts, "%" PRIu64, a->key_ts);
    int n = snprintf(buf, cap, "%s\t%s\t%s\t%s\t%" PRIu64 "\t%s\t%u\t%u\t%02X", nix1_addr_format(&a->slave, addr),
                     a->uid, unit, kts, a->ts, nix1_format_tz(a->tz, tz), a->probe, a->od, a->code);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    return n;
}

bool nix1_access_granted(const struct nix1_access *a)
{
    return a && a->code == 0x00;
}

const char *nix1_access_code_name(const struct nix1_access *a)
{
    return nix1_rc_log_name(a ? a->code : 0x100);
}

const char *nix1_access_code_meaning(const struct nix1_access *a)
{
    return nix1_rc_log_meaning(a ? a->code : 0x100);
}
