#include "drivers/nix1/nix1_cmd.h"

#include <stdio.h>
#include <string.h>

#include "core/cron.h"
#include "drivers/nix1/nix1_line.h"

#define N NIX1_TIMEOUT_NORMAL_MS
#define L NIX1_TIMEOUT_LONG_MS
#define F_UINT(n, lo, hi) { n, NIX1_F_UINT, lo, hi }
#define F_(n, k) { n, k, 0, 0 }
#define F_PROBE { "probe", NIX1_F_PROBE, 1, 2 }
#define F_TS F_("timestamp", NIX1_F_TS)
#define F_UNIT F_("unit", NIX1_F_UNIT)
#define F_UID F_("uid", NIX1_F_UID)
#define F_FILE F_("filename", NIX1_F_FILENAME)
#define F_CRON F_("cron", NIX1_F_CRON)
#define F_CRC F_("CRC", NIX1_F_CRC4)

/* cmd arg name syntax  bcast idem multi sd zero secret timeout nmin nmax fields success */
const struct nix1_cmd nix1_cmd_table[] = {
    { 'D', 'a', "format", "", false, true, false, true, false, false, L, 0, 0, { { 0 } }, "" },
    { 'D', 'g', "delete file", "<filename>", false, true, false, true, false, false, N, 1, 1, { F_FILE }, "" },
    { 'D', 'h', "delete cron", "", true, true, false, false, false, false, N, 0, 0, { { 0 } }, "" },
    { 'D', 'k', "delete key", "<timestamp>|0", true, true, false, true, true, false, N, 1, 1, { F_TS }, "" },
    { 'D', 'r', "delete right", "<uid>\t<unit>|0", true, true, false, true, true, false, N, 2, 2,
      { F_UID, F_UNIT }, "" },
    { 'D', 's', "restart", "", true, false, false, false, false, false, N, 0, 0, { { 0 } }, "" },
    { 'D', 'u', "delete unit", "<1|2>|0", false, true, false, false, true, false, N, 1, 1, { F_PROBE }, "" },
    { 'D', 'x', "delete user", "<uid>|0", true, true, false, true, true, false, N, 1, 1, { F_UID }, "" },
    { 'D', 'y', "delete tmp files", "", false, true, false, true, false, false, N, 0, 0, { { 0 } }, "" },

    { 'N', 'b', "new bad access timeout", "<timeout>", true, true, false, false, false, false, N, 1, 1,
      { F_UINT("timeout", 0, 255) }, "" },
    { 'N', 'c', "new valid access timeout", "<timeout>", true, true, false, false, false, false, N, 1, 1,
      { F_UINT("timeout", 0, 255) }, "" },
    { 'N', 'e', "new entry (log position)", "<comptability>", false, true, false, true, false, false, N, 1, 1,
      { F_UINT("comptability", 0, 65534) }, "\t<lines>" },
    { 'N', 'g', "new file (commit upload)", "<filename>\t<CRC>", false, false, false, true, false, false, L, 2, 2,
      { F_FILE, F_CRC }, "" },
    { 'N', 'h', "new cron", "<cron>", true, true, false, false, false, false, N, 1, 1, { F_CRON }, "" },
    { 'N', 'i', "copy file", "<filename>\t<copyFilename>", false, true, false, true, false, false, L, 2, 2,
      { F_FILE, F_("copyFilename", NIX1_F_FILENAME) }, "" },
    { 'N', 'k', "new key", "<timestamp>\t<key>", true, true, false, true, false, false, N, 2, 2,
      { F_TS, F_("key", NIX1_F_KEY) }, "" },
    { 'N', 'l', "new lock", "<1|2>\t<lock>", true, true, false, false, false, false, N, 2, 2,
      { F_PROBE, F_UINT("lock", 0, 1) }, "" },
    { 'N', 'm', "new mode", "<mode>", true, true, false, false, false, false, N, 1, 1, { F_UINT("mode", 0, 3) },
      "" },
    { 'N', 'n', "new firmware", "<filename>\t<retry times>", false, false, false, true, false, false, L, 2, 2,
      { F_FILE, F_UINT("retry times", 0, 9) }, "" },
    { 'N', 'o', "new cron mode", "<cron mode>", true, true, false, false, false, false, N, 1, 1,
      { F_UINT("cron mode", 0, 3) }, "" },
    { 'N', 'r', "new right", "<uid>\t<unit>\t<cron>", true, true, false, true, false, false, N, 3, 3,
      { F_UID, F_UNIT, F_CRON }, "" },
    { 'N', 's', "new status", "<value>", true, true, false, false, false, false, N, 1, 1,
      { F_("value", NIX1_F_HEX2) }, "" },
    { 'N', 't', "new time", "<timestamp>\t<TZ>", true, true, false, false, false, false, N, 2, 2,
      { F_TS, F_("TZ", NIX1_F_TZ) }, "" },
    { 'N', 'u', "new unit", "<1|2>\t<unit>", false, true, false, false, false, false, N, 2, 2, { F_PROBE, F_UNIT },
      "" },
    { 'N', 'v', "new overdrive", "<1|2>\t<overdrive>", true, true, false, false, false, false, N, 2, 2,
      { F_PROBE, F_UINT("overdrive", 0, 1) }, "" },
    { 'N', 'x', "new user", "<uid>\t<timestamp>\t<inc>", true, true, false, true, false, false, N, 3, 3,
      { F_UID, F_TS, F_UINT("inc", 0, 99) }, "" },
    { 'N', 'y', "new file packet", "<nbrPacket>\t<blockLength>\t<CRC>\t<block>", false, false, false, true, false,
      false, N, 4, 4,
      { F_UINT("nbrPacket", 1, 65535), F_UINT("blockLength", 1, 128), F_CRC, F_("block", NIX1_F_HEXBLOCK) },
      "\t<received>\t<nbrPacket>" },
    { 'N', 'z', "new baudrate", "<baudrate>", true, false, false, false, false, false, N, 1, 1,
      { F_("baudrate", NIX1_F_BAUD) }, "" },

    { 'Q', 'b', "query bad access timeout", "", false, true, false, false, false, false, N, 0, 0, { { 0 } },
      "\t<timeout>" },
    { 'Q', 'c', "query valid access timeout", "", false, true, false, false, false, false, N, 0, 0, { { 0 } },
      "\t<timeout>" },
    { 'Q', 'e', "query entry", "", false, false, false, true, false, false, N, 0, 0, { { 0 } },
      "\t<addr>\t<uid>\t<unit>\t<key_ts>\t<ts>\t<tz>\t<probe>\t<od>\t<rc>" },
    { 'Q', 'g', "query file", "<filename>\t<limit>", false, true, true, true, false, false, N, 2, 2,
      { F_FILE, F_UINT("limit", 0, 4294967295u) }, "\t<line> ... then 04\t<count>" },
    { 'Q', 'h', "query cron", "", false, true, false, false, false, false, N, 0, 0, { { 0 } }, "\t<cron>" },
    { 'Q', 'i', "query extension", "<extension>", false, true, true, true, false, false, N, 1, 1,
      { F_("extension", NIX1_F_EXT) }, "\t<NAME.EXT>\t<size> ... then 04\t<count>" },
    { 'Q', 'k', "query key", "", false, true, false, true, false, true, N, 0, 0, { { 0 } }, "\t<ts>\t<key>" },
    { 'Q', 'l', "query lock", "<1|2>", false, true, false, false, false, false, N, 1, 1, { F_PROBE }, "\t<lock>" },
    { 'Q', 'm', "query mode", "", false, true, false, false, false, false, N, 0, 0, { { 0 } }, "\t<mode>" },
    { 'Q', 'n', "query firmware version", "", false, true, false, false, false, false, N, 0, 0, { { 0 } },
      "\t<version>" },
    { 'Q', 'o', "query cron mode", "", false, true, false, false, false, false, N, 0, 0, { { 0 } },
      "\t<cron mode>" },
    { 'Q', 'p', "query checksum", "<filename>", false, true, false, true, false, false, L, 1, 1, { F_FILE },
      "\t<CRC>\t<size>" },
    { 'Q', 'r', "query right", "<uid>\t<unit>", false, true, false, true, false, false, N, 2, 2, { F_UID, F_UNIT },
      "\t<cron>" },
    { 'Q', 's', "query status", "", false, true, false, false, false, false, N, 0, 0, { { 0 } }, "\t<status>" },
    { 'Q', 't', "query time", "", false, true, false, false, false, false, N, 0, 0, { { 0 } }, "\t<ts>\t<TZ>" },
    { 'Q', 'u', "query unit", "<1|2>", false, true, false, false, false, false, N, 1, 1, { F_PROBE }, "\t<unit>" },
    { 'Q', 'v', "query overdrive", "[<1|2>]", false, true, false, false, false, false, N, 0, 1, { F_PROBE },
      "\t<od1>\t<od2> | \t<od>" },
    { 'Q', 'x', "query user", "<uid>", false, true, false, true, false, false, N, 1, 1, { F_UID },
      "\t<uid>\t<ts>\t<inc>" },
};
const size_t nix1_cmd_count = sizeof nix1_cmd_table / sizeof nix1_cmd_table[0];

const struct nix1_cmd *nix1_cmd_lookup(char cmd, char arg)
{
    for (size_t i = 0; i < nix1_cmd_count; i++)
        if (nix1_cmd_table[i].cmd == cmd && nix1_cmd_table[i].arg == arg)
            return &nix1_cmd_table[i];
    return NULL;
}

uint8_t nix1_cmd_rc(char cmd, char arg)
{
    if (cmd != 'D' && cmd != 'N' && cmd != 'Q')
        return 0x43;
    return nix1_cmd_lookup(cmd, arg) ? 0x00 : 0x41;
}

bool nix1_baud_valid(uint64_t baud)
{
    static const uint32_t rates[] = { 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200 };
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
        if (rates[i] == baud)
            return true;
    return false;
}

bool nix1_cmd_is_zero_form(const struct nix1_cmd *c, const char *opt, size_t opt_len)
{
    return c && c->zero_form && opt && opt_len == 1 && opt[0] == '0';
}

static bool all_digits(const struct nix1_span *f)
{
    if (f->len == 0 || f->len > 20)
        return false;
    for (size_t i = 0; i < f->len; i++)
        if (f->p[i] < '0' || f->p[i] > '9')
            return false;
    return true;
}

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static uint8_t fail(uint8_t rc, char *why, size_t whysz, const struct nix1_field *fd, size_t idx, const char *msg)
{
    if (why && whysz)
        snprintf(why, whysz, "field %zu (%s): %s", idx + 1, fd->name, msg);
    return rc;
}

/* Pass 1 (§5.5 step 7): lexical syntax; only kinds whose error code is 50. */
static uint8_t syntax(const struct nix1_field *fd, const struct nix1_span *f, size_t i, char *why, size_t whysz)
{
    switch (fd->kind) {
    case NIX1_F_UINT:
    case NIX1_F_UNIT:
    case NIX1_F_PROBE:
    case NIX1_F_BAUD:
        if (!all_digits(f))
            return fail(0x50, why, whysz, fd, i, "not a decimal number");
        return 0;
    case NIX1_F_TZ:
        if (f->len != 5 || (f->p[0] != '+' && f->p[0] != '-') || !all_digits(&(struct nix1_span){ f->p + 1, 4 }))
            return fail(0x50, why, whysz, fd, i, "not +HHMM or -HHMM");
        return 0;
    case NIX1_F_HEX2:
        if (!nix1_parse_hex(f->p, f->len, 2, NULL))
            return fail(0x50, why, whysz, fd, i, "not 2 hex digits");
        return 0;
    case NIX1_F_CRC4:
        if (!nix1_parse_hex(f->p, f->len, 4, NULL))
            return fail(0x50, why, whysz, fd, i, "not 4 hex digits");
        return 0;
    case NIX1_F_FILENAME:
        if (!nix1_filename_valid(f->p, f->len))
            return fail(0x50, why, whysz, fd, i, "not an 8.3 filename");
        return 0;
    case NIX1_F_EXT:
        if (f->len < 1 || f->len > 3)
            return fail(0x50, why, whysz, fd, i, "extension must have 1-3 chars");
        for (size_t k = 0; k < f->len; k++)
            if (!is_alnum(f->p[k]) && f->p[k] != '_')
                return fail(0x50, why, whysz, fd, i, "bad char in extension");
        return 0;
    case NIX1_F_UID:
        if (f->len == 0)
            return fail(0x50, why, whysz, fd, i, "empty uid");
        if (!is_alnum(f->p[0]))
            return fail(0x50, why, whysz, fd, i, "uid must start with a letter or digit");
        return 0;
    case NIX1_F_TS:
    case NIX1_F_KEY:
    case NIX1_F_CRON:
    case NIX1_F_HEXBLOCK:
        return 0;
    }
    return 0;
}

/* Pass 2 (§5.5 step 8): ranges and the kinds with their own codes. */
static uint8_t range(const struct nix1_field *fd, const struct nix1_span *f, size_t i, char *why, size_t whysz)
{
    uint64_t v;
    char msg[96];
    switch (fd->kind) {
    case NIX1_F_UINT:
    case NIX1_F_PROBE:
        if (!nix1_parse_uint(f->p, f->len, fd->max, &v) || v < fd->min) {
            snprintf(msg, sizeof msg, "out of range %llu-%llu", (unsigned long long)fd->min,
                     (unsigned long long)fd->max);
            return fail(0x50, why, whysz, fd, i, msg);
        }
        return 0;
    case NIX1_F_UNIT:
        if (!nix1_parse_uint(f->p, f->len, 65534, NULL))
            return fail(0x76, why, whysz, fd, i, "unit out of range 0-65534");
        return 0;
    case NIX1_F_BAUD:
        if (!nix1_parse_uint(f->p, f->len, 115200, &v) || !nix1_baud_valid(v))
            return fail(0x50, why, whysz, fd, i, "unsupported baud rate");
        return 0;
    case NIX1_F_TZ:
        if (!nix1_parse_tz(f->p, f->len, NULL))
            return fail(0x50, why, whysz, fd, i, "time zone out of range -1200..+1400");
        return 0;
    case NIX1_F_TS:
        if (!nix1_parse_uint(f->p, f->len, 9999999999ull, NULL))
            return fail(0x74, why, whysz, fd, i, "timestamp not a number in 0-9999999999");
        return 0;
    case NIX1_F_KEY:
        if (f->len == 0 || f->len > 64)
            return fail(0x4B, why, whysz, fd, i, "key must have 1-64 chars");
        return 0;
    case NIX1_F_CRON: {
        char err[80];
        if (cron_parse(f->p, f->len, NULL, err, sizeof err) != 0)
            return fail(0x60, why, whysz, fd, i, err);
        return 0;
    }
    case NIX1_F_HEX2:
    case NIX1_F_CRC4:
    case NIX1_F_HEXBLOCK:
    case NIX1_F_FILENAME:
    case NIX1_F_EXT:
    case NIX1_F_UID:
        return 0;
    }
    return 0;
}

uint8_t nix1_cmd_check(const struct nix1_cmd *c, const char *opt, size_t opt_len, char *why, size_t whysz)
{
    if (why && whysz)
        why[0] = '\0';
    if (!c)
        return 0x41;
    if (!opt)
        opt_len = 0;
    if (nix1_cmd_is_zero_form(c, opt, opt_len))
        return 0x00;
    struct nix1_span f[NIX1_CMD_FIELDS_MAX];
    size_t n = nix1_fields_split(opt, opt_len, f, NIX1_CMD_FIELDS_MAX);
    if (n < c->nmin || n > c->nmax) {
        if (why && whysz)
            snprintf(why, whysz, "%zu%s option field%s, expected %s%s", n > NIX1_CMD_FIELDS_MAX ? NIX1_CMD_FIELDS_MAX : n,
                     n > NIX1_CMD_FIELDS_MAX ? "+" : "", n == 1 ? "" : "s",
                     c->nmax == 0 ? "none" : c->syntax, "");
        return 0x50;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t rc = syntax(&c->fields[i], &f[i], i, why, whysz);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t rc = range(&c->fields[i], &f[i], i, why, whysz);
        if (rc)
            return rc;
    }
    return 0x00;
}
