#include "drivers/nix1/nix1_line.h"

#include <string.h>

#include "core/hex.h"

size_t nix1_line_trim(const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\n') {
        len--;
        if (len > 0 && line[len - 1] == '\r')
            len--;
    }
    return len;
}

bool nix1_line_printable(const char *s, size_t len, bool allow_tab)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\t' && allow_tab)
            continue;
        if (c < 0x20 || c > 0x7E)
            return false;
    }
    return true;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

static bool is_upper_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* ---- requests ---- */

enum nix1_req_status nix1_request_parse(const char *line, size_t len, struct nix1_request *out)
{
    struct nix1_request r;
    memset(&r, 0, sizeof r);
    r.cmd = '?';
    r.arg = '?';
    r.opt = "";
    if (!line)
        len = 0;
    len = line ? nix1_line_trim(line, len) : 0;
    enum nix1_req_status st = NIX1_REQ_OK;
    if (len < NIX1_ADDR_LEN || nix1_addr_parse(line, NIX1_ADDR_LEN, &r.addr) != 0) {
        st = NIX1_REQ_NO_ADDR;
        goto done;
    }
    if (len > NIX1_ADDR_LEN)
        r.cmd = line[NIX1_ADDR_LEN];
    if (len > NIX1_ADDR_LEN + 1)
        r.arg = line[NIX1_ADDR_LEN + 1];
    /* A reply has its rc in columns 17-18: uppercase hex, and never 'D' first (no code starts with D). */
    if (len >= NIX1_ADDR_LEN + 2 && r.cmd != 'D' && is_upper_hex(r.cmd) && is_upper_hex(r.arg)) {
        st = NIX1_REQ_REPLY;
        goto done;
    }
    if (len > NIX1_LINE_MAX) {
        st = NIX1_REQ_OVERFLOW;
        goto done;
    }
    if (!nix1_line_printable(line, len, true)) {
        st = NIX1_REQ_BAD_BYTE;
        goto done;
    }
    if (r.cmd != 'D' && r.cmd != 'N' && r.cmd != 'Q') {
        st = NIX1_REQ_BAD_CMD;
        goto done;
    }
    if (!(r.arg >= 'a' && r.arg <= 'z')) {
        st = NIX1_REQ_BAD_ARG;
        goto done;
    }
    if (len > NIX1_ADDR_LEN + 2) {
        r.opt = line + NIX1_ADDR_LEN + 2;
        r.opt_len = len - NIX1_ADDR_LEN - 2;
    }
done:
    if (out)
        *out = r;
    return st;
}

const char *nix1_req_status_str(enum nix1_req_status s)
{
    switch (s) {
    case NIX1_REQ_OK: return "ok";
    case NIX1_REQ_NO_ADDR: return "no valid address";
    case NIX1_REQ_REPLY: return "reply line, not a request";
    case NIX1_REQ_OVERFLOW: return "line longer than 320 chars";
    case NIX1_REQ_BAD_BYTE: return "non-printable byte";
    case NIX1_REQ_BAD_CMD: return "command not D, N or Q";
    case NIX1_REQ_BAD_ARG: return "argument not a lowercase letter";
    }
    return "?";
}

int nix1_req_status_rc(enum nix1_req_status s)
{
    switch (s) {
    case NIX1_REQ_OK: return 0x00;
    case NIX1_REQ_OVERFLOW:
    case NIX1_REQ_BAD_BYTE: return 0x15;
    case NIX1_REQ_BAD_CMD: return 0x43;
    case NIX1_REQ_BAD_ARG: return 0x41;
    case NIX1_REQ_NO_ADDR:
    case NIX1_REQ_REPLY: return -1;
    }
    return -1;
}

size_t nix1_fields_split(const char *opt, size_t len, struct nix1_span *out, size_t max)
{
    if (!opt || len == 0)
        return 0;
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || opt[i] == '\t') {
            if (n < max && out) {
                out[n].p = opt + start;
                out[n].len = i - start;
            }
            n++;
            if (n > max)
                return max + 1;
            start = i + 1;
        }
    }
    return n;
}

/* Appends s[0..n) to buf at *pos; false when it would not fit before `limit` chars. */
static bool put(char *buf, size_t *pos, size_t limit, const char *s, size_t n)
{
    if (n > limit || *pos > limit - n)
        return false;
    memcpy(buf + *pos, s, n);
    *pos += n;
    return true;
}

static int finish(char *buf, size_t cap, size_t pos)
{
    if (pos + 1 > cap)
        return -1;
    buf[pos++] = '\n';
    if (pos < cap)
        buf[pos] = '\0';
    return (int)pos;
}

static size_t min_sz(size_t a, size_t b)
{
    return a < b ? a : b;
}

int nix1_request_encode(char *buf, size_t cap, const nix1_addr_t *addr, char cmd, char arg,
                        const char *const *fields, size_t nfields)
{
    if (!buf || !addr || (cmd != 'D' && cmd != 'N' && cmd != 'Q') || !(arg >= 'a' && arg <= 'z'))
        return -1;
    if (nfields && !fields)
        return -1;
    size_t limit = min_sz(NIX1_LINE_MAX, cap ? cap - 1 : 0), pos = 0;
    char a[NIX1_ADDR_LEN + 1];
    nix1_addr_format(addr, a);
    char ca[2] = { cmd, arg };
    if (!put(buf, &pos, limit, a, NIX1_ADDR_LEN) || !put(buf, &pos, limit, ca, 2))
        return -1;
    for (size_t i = 0; i < nfields; i++) {
        const char *f = fields[i] ? fields[i] : "";
        size_t fl = strlen(f);
        if (!nix1_line_printable(f, fl, false))
            return -1;
        if ((i > 0 && !put(buf, &pos, limit, "\t", 1)) || !put(buf, &pos, limit, f, fl))
            return -1;
    }
    return finish(buf, cap, pos);
}

int nix1_request_encode_opt(char *buf, size_t cap, const nix1_addr_t *addr, char cmd, char arg,
                            const char *opt)
{
    if (!opt || !*opt)
        return nix1_request_encode(buf, cap, addr, cmd, arg, NULL, 0);
    const char *one[1] = { "" };
    int n = nix1_request_encode(buf, cap, addr, cmd, arg, one, 1);
    if (n < 0)
        return -1;
    size_t pos = (size_t)n - 1, ol = strlen(opt);
    size_t limit = min_sz(NIX1_LINE_MAX, cap ? cap - 1 : 0);
    if (!nix1_line_printable(opt, ol, true) || !put(buf, &pos, limit, opt, ol))
        return -1;
    return finish(buf, cap, pos);
}

/* ---- replies ---- */

enum nix1_rep_status nix1_reply_parse(const char *line, size_t len, struct nix1_reply *out)
{
    struct nix1_reply r;
    memset(&r, 0, sizeof r);
    r.payload = "";
    r.cmd = '?';
    r.arg = '?';
    len = line ? nix1_line_trim(line, len) : 0;
    enum nix1_rep_status st = NIX1_REP_OK;
    const size_t hdr = NIX1_ADDR_LEN + 4;
    if (len < hdr) {
        st = NIX1_REP_SHORT;
        goto done;
    }
    if (len > NIX1_REPLY_MAX) {
        st = NIX1_REP_TOO_LONG;
        goto done;
    }
    if (!nix1_line_printable(line, len, true)) {
        st = NIX1_REP_BAD_BYTE;
        goto done;
    }
    if (nix1_addr_parse(line, NIX1_ADDR_LEN, &r.addr) != 0) {
        st = NIX1_REP_BAD_ADDR;
        goto done;
    }
    if (!is_hex(line[16]) || !is_hex(line[17])) {
        st = NIX1_REP_BAD_RC;
        goto done;
    }
    r.rc = (uint8_t)(hex_digit(line[16]) << 4 | hex_digit(line[17]));
    r.cmd = line[18];
    r.arg = line[19];
    if (len > hdr) {
        if (line[hdr] != '\t') {
            st = NIX1_REP_TRAILING;
            goto done;
        }
        r.has_payload = true;
        r.payload = line + hdr + 1;
        r.payload_len = len - hdr - 1;
    }
done:
    if (out)
        *out = r;
    return st;
}

const char *nix1_rep_status_str(enum nix1_rep_status s)
{
    switch (s) {
    case NIX1_REP_OK: return "ok";
    case NIX1_REP_SHORT: return "reply shorter than 20 chars";
    case NIX1_REP_BAD_ADDR: return "reply address not 16 hex digits";
    case NIX1_REP_BAD_RC: return "reply code not 2 hex digits";
    case NIX1_REP_BAD_BYTE: return "non-printable byte in reply";
    case NIX1_REP_TRAILING: return "no TAB between reply header and payload";
    case NIX1_REP_TOO_LONG: return "reply line too long";
    }
    return "?";
}

static bool echo_ok(char c)
{
    return c >= 0x21 && c <= 0x7E;
}

int nix1_reply_encode(char *buf, size_t cap, const nix1_addr_t *own, uint8_t rc, char cmd, char arg,
                      const char *payload)
{
    if (!buf || !own || !echo_ok(cmd) || !echo_ok(arg))
        return -1;
    static const char hex[] = "0123456789ABCDEF";
    size_t limit = min_sz(NIX1_REPLY_MAX, cap ? cap - 1 : 0), pos = 0;
    char a[NIX1_ADDR_LEN + 1];
    nix1_addr_format(own, a);
    char h[4] = { hex[rc >> 4], hex[rc & 15], cmd, arg };
    if (!put(buf, &pos, limit, a, NIX1_ADDR_LEN) || !put(buf, &pos, limit, h, 4))
        return -1;
    if (payload) {
        size_t pl = strlen(payload);
        if (!nix1_line_printable(payload, pl, true) || !put(buf, &pos, limit, "\t", 1) ||
            !put(buf, &pos, limit, payload, pl))
            return -1;
    }
    return finish(buf, cap, pos);
}

int nix1_reply_encode_fields(char *buf, size_t cap, const nix1_addr_t *own, uint8_t rc, char cmd, char arg,
                             const char *const *fields, size_t nfields)
{
    int n = nix1_reply_encode(buf, cap, own, rc, cmd, arg, NULL);
    if (n < 0 || nfields == 0)
        return n;
    if (!fields)
        return -1;
    size_t pos = (size_t)n - 1;
    size_t limit = min_sz(NIX1_REPLY_MAX, cap ? cap - 1 : 0);
    for (size_t i = 0; i < nfields; i++) {
        const char *f = fields[i] ? fields[i] : "";
        size_t fl = strlen(f);
        if (!nix1_line_printable(f, fl, false) || !put(buf, &pos, limit, "\t", 1) ||
            !put(buf, &pos, limit, f, fl))
            return -1;
    }
    return finish(buf, cap, pos);
}

/* ---- lexical helpers ---- */

bool nix1_parse_uint(const char *p, size_t len, uint64_t max, uint64_t *out)
{
    if (!p || len == 0 || len > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v > max)
        return false;
    if (out)
        *out = v;
    return true;
}

bool nix1_parse_hex(const char *p, size_t len, size_t ndigits, uint64_t *out)
{
    if (!p || ndigits == 0 || ndigits > 16 || len != ndigits)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        int h = hex_digit(p[i]);
        if (h < 0)
            return false;
        v = v << 4 | (uint64_t)h;
    }
    if (out)
        *out = v;
    return true;
}

bool nix1_parse_tz(const char *p, size_t len, int *minutes)
{
    if (!p || len != 5 || (p[0] != '+' && p[0] != '-'))
        return false;
    for (size_t i = 1; i < 5; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    int hh = (p[1] - '0') * 10 + (p[2] - '0');
    int mm = (p[3] - '0') * 10 + (p[4] - '0');
    if (mm > 59)
        return false;
    int m = hh * 60 + mm;
    if (p[0] == '-') {
        if (m > 12 * 60)
            return false;
        m = -m;
    } else if (m > 14 * 60) {
        return false;
    }
    if (minutes)
        *minutes = m;
    return true;
}

char *nix1_format_tz(int minutes, char out[6])
{
    char sign = minutes < 0 ? '-' : '+';
    unsigned m = (unsigned)(minutes < 0 ? -minutes : minutes);
    unsigned hh = (m / 60) % 100, mm = m % 60;
    out[0] = sign;
    out[1] = (char)('0' + hh / 10);
    out[2] = (char)('0' + hh % 10);
    out[3] = (char)('0' + mm / 10);
    out[4] = (char)('0' + mm % 10);
    out[5] = '\0';
    return out;
}

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool nix1_filename_valid(const char *p, size_t len)
{
    if (!p || len == 0)
        return false;
    size_t i = 0;
    while (i < len && p[i] != '.') {
        char c = p[i];
        if (!(is_alnum(c) || c == '_' || c == '-' || c == '#' || c == '~'))
            return false;
        i++;
    }
    if (i == 0 || i > 8)
        return false;
    if (i == len)
        return true;
    size_t ext = len - i - 1;
    if (ext < 1 || ext > 3)
        return false;
    for (size_t k = i + 1; k < len; k++)
        if (!(is_alnum(p[k]) || p[k] == '_'))
            return false;
    return true;
}
