#include "drivers/nix1/nix1_hash.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/crc.h"
#include "core/hex.h"
#include "drivers/nix1/nix1_cmd.h"
#include "drivers/nix1/nix1_line.h"

static bool uid_ok(const char *uid)
{
    for (const char *p = uid; *p; p++)
        if (*p == '\t' || *p == '\r' || *p == '\n')
            return false;
    return true;
}

int nix1_hash_compute(const char *key, size_t key_len, const nix1_addr_t *rom, const char *uid,
                      uint64_t key_ts, unsigned inc, char out[NIX1_HASH_HEX_LEN + 1])
{
    if (!key || key_len == 0 || key_len > 1024 || !rom || !uid || !out || !uid_ok(uid))
        return -1;
    char r[NIX1_ADDR_LEN + 1];
    nix1_addr_format(rom, r);
    size_t ul = strlen(uid);
    size_t cap = ul + 64;
    char stackbuf[512];
    char *msg = stackbuf;
    if (cap > sizeof stackbuf)
        return -1; /* uids are bounded far below this by the line length */
    int n = snprintf(msg, cap, "%s\t%s\t%" PRIu64 "\t%u", r, uid, key_ts, inc);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, (size_t)n, mac, &maclen) ||
        maclen < 16)
        return -1;
    nix1_hex_encode(mac, 16, out, NIX1_HASH_HEX_LEN + 1);
    return 0;
}

bool nix1_hash_verify(const char *key, size_t key_len, const nix1_addr_t *rom, const char *uid,
                      uint64_t key_ts, unsigned inc, const char *hash, size_t hash_len)
{
    char want[NIX1_HASH_HEX_LEN + 1];
    if (!hash || hash_len != NIX1_HASH_HEX_LEN ||
        nix1_hash_compute(key, key_len, rom, uid, key_ts, inc, want) != 0)
        return false;
    unsigned diff = 0;
    for (size_t i = 0; i < NIX1_HASH_HEX_LEN; i++) {
        unsigned char c = (unsigned char)hash[i];
        if (c >= 'a' && c <= 'f')
            c = (unsigned char)(c - 'a' + 'A');
        diff |= (unsigned)(c ^ (unsigned char)want[i]);
    }
    return diff == 0;
}

char *nix1_crc4(const void *data, size_t len, char out[5])
{
    snprintf(out, 5, "%04X", crc16_arc(data, len));
    return out;
}

bool nix1_crc4_parse(const char *p, size_t len, uint16_t *out)
{
    uint64_t v;
    if (!nix1_parse_hex(p, len, 4, &v))
        return false;
    if (out)
        *out = (uint16_t)v;
    return true;
}

int nix1_hex_encode(const void *data, size_t len, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!out || len > (SIZE_MAX - 1) / 2 || cap < 2 * len + 1 || (len && !data))
        return -1;
    const uint8_t *d = data;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * len] = '\0';
    return (int)(2 * len);
}

int nix1_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t cap)
{
    if ((hex_len && !hex) || hex_len % 2 || hex_len / 2 > cap || hex_len / 2 > INT32_MAX)
        return -1;
    if (hex_decode(hex, hex_len / 2, out) != 0)
        return -1;
    return (int)(hex_len / 2);
}

int nix1_packet_encode(char *out, size_t cap, uint32_t total, const void *block, size_t len)
{
    if (!out || !block || len == 0 || len > NIX1_PACKET_MAX || total == 0 || total > 65535)
        return -1;
    char crc[5];
    int n = snprintf(out, cap, "%" PRIu32 "\t%zu\t%s\t", total, len, nix1_crc4(block, len, crc));
    if (n < 0 || (size_t)n >= cap)
        return -1;
    int h = nix1_hex_encode(block, len, out + n, cap - (size_t)n);
    if (h < 0)
        return -1;
    return n + h;
}

uint8_t nix1_packet_decode(const char *opt, size_t opt_len, struct nix1_packet *out)
{
    const struct nix1_cmd *c = nix1_cmd_lookup('N', 'y');
    uint8_t rc = nix1_cmd_check(c, opt, opt_len, NULL, 0);
    if (rc)
        return rc;
    struct nix1_span f[4];
    nix1_fields_split(opt, opt_len, f, 4);
    uint64_t total, len;
    uint16_t crc;
    nix1_parse_uint(f[0].p, f[0].len, 65535, &total);
    nix1_parse_uint(f[1].p, f[1].len, NIX1_PACKET_MAX, &len);
    nix1_crc4_parse(f[2].p, f[2].len, &crc);
    struct nix1_packet p;
    p.total = (uint32_t)total;
    p.len = (uint32_t)len;
    p.crc = crc;
    if (f[3].len != 2 * len || nix1_hex_decode(f[3].p, f[3].len, p.data, sizeof p.data) != (int)len)
        return 0x52;
    if (crc16_arc(p.data, p.len) != crc)
        return 0x47;
    if (out)
        *out = p;
    return 0x00;
}

int nix1_key_generate(char *out, size_t len)
{
    if (!out || len == 0 || len > NIX1_KEY_MAX)
        return -1;
    /* 94 symbols 0x21..0x7E; reject bytes >= 188 (2*94) so the choice stays uniform. */
    size_t have = 0;
    while (have < len) {
        uint8_t buf[128];
        ssize_t n = getrandom(buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        for (ssize_t i = 0; i < n && have < len; i++)
            if (buf[i] < 188)
                out[have++] = (char)(0x21 + buf[i] % 94);
    }
    out[len] = '\0';
    return 0;
}

bool nix1_key_valid(const char *key, size_t len)
{
    return key && len >= 1 && len <= NIX1_KEY_MAX && nix1_line_printable(key, len, false);
}
