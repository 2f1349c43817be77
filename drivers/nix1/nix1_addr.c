#include "drivers/nix1/nix1_addr.h"

#include <stdio.h>
#include <string.h>

#include "core/crc.h"
#include "core/hex.h"

const nix1_addr_t nix1_addr_scratch = { { 0x27, 0, 0, 0, 0, 0, 0, 0x5C } };
const nix1_addr_t nix1_addr_broadcast = { { 0x27, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x4E } };

int nix1_addr_parse(const char *s, size_t len, nix1_addr_t *out)
{
    if (!s || len != NIX1_ADDR_LEN)
        return -1;
    nix1_addr_t a;
    if (hex_decode(s, 8, a.b) != 0)
        return -1;
    if (out)
        *out = a;
    return 0;
}

int nix1_addr_parse_str(const char *s, nix1_addr_t *out)
{
    if (!s)
        return -1;
    return nix1_addr_parse(s, strlen(s), out);
}

char *nix1_addr_format(const nix1_addr_t *a, char out[NIX1_ADDR_LEN + 1])
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < 8; i++) {
        out[2 * i] = hex[a->b[i] >> 4];
        out[2 * i + 1] = hex[a->b[i] & 15];
    }
    out[NIX1_ADDR_LEN] = '\0';
    return out;
}

bool nix1_addr_equal(const nix1_addr_t *a, const nix1_addr_t *b)
{
    return memcmp(a->b, b->b, sizeof a->b) == 0;
}

bool nix1_addr_is_broadcast(const nix1_addr_t *a)
{
    return nix1_addr_equal(a, &nix1_addr_broadcast);
}

bool nix1_addr_is_scratch(const nix1_addr_t *a)
{
    return nix1_addr_equal(a, &nix1_addr_scratch);
}

bool nix1_addr_text_equal(const char *a, const char *b)
{
    nix1_addr_t x, y;
    if (!a || !b || nix1_addr_parse(a, strnlen(a, NIX1_ADDR_LEN + 1), &x) != 0 ||
        nix1_addr_parse(b, strnlen(b, NIX1_ADDR_LEN + 1), &y) != 0)
        return false;
    return nix1_addr_equal(&x, &y);
}

uint8_t nix1_addr_crc_expected(const nix1_addr_t *a)
{
    return crc8_maxim(a->b, 7);
}

bool nix1_addr_crc_ok(const nix1_addr_t *a)
{
    return nix1_addr_crc_expected(a) == a->b[7];
}

void nix1_addr_make(nix1_addr_t *out, uint8_t family, const uint8_t serial[6])
{
    out->b[0] = family;
    memcpy(&out->b[1], serial, 6);
    out->b[7] = crc8_maxim(out->b, 7);
}

bool nix1_addr_check(const nix1_addr_t *a, char *msg, size_t msgsz)
{
    if (nix1_addr_crc_ok(a)) {
        if (msg && msgsz)
            msg[0] = '\0';
        return true;
    }
    if (msg && msgsz) {
        char t[NIX1_ADDR_LEN + 1];
        snprintf(msg, msgsz, "address %s: CRC-8 mismatch (expected %02X); using it anyway",
                 nix1_addr_format(a, t), nix1_addr_crc_expected(a));
    }
    return false;
}
