/* Fuzz target: case folding of any bytes (device and door names, event texts, what an operator types). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/textfold.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether the n bytes at s are valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF). */
static int valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : c >= 0xC2 && c < 0xE0 ? 2 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (!len || i + len > n)
            return 0;
        uint32_t cp = len == 1 ? c : c & (0xFFu >> (len + 1));
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nul = memchr(data, 0, size);
    size_t n = nul ? (size_t)(nul - (const char *)data) : size;
    if (n > 4096)
        n = 4096;
    char in[4097];
    memcpy(in, data, n);
    in[n] = '\0';
    size_t cap = textfold_max(n) + 1;
    char *full = malloc(cap), *again = malloc(cap);
    if (!full || !again)
        abort();
    size_t len = textfold(in, n, full, cap);
    if (len > textfold_max(n) || strlen(full) != len)
        abort(); /* the bound holds, nothing is cut with room for the whole */
    if (valid_utf8((const unsigned char *)in, n) && !valid_utf8((const unsigned char *)full, len))
        abort(); /* valid text stays valid */
    /* cut short: a prefix of the whole, ending at a whole character (valid text stays valid) */
    size_t small = n % 7 + 1;
    char part[8];
    if (textfold(in, n, part, small) != len || strncmp(part, full, strlen(part)) != 0 || strlen(part) >= small)
        abort();
    if (valid_utf8((const unsigned char *)in, n) && !valid_utf8((const unsigned char *)part, strlen(part)))
        abort();
    /* folding twice changes nothing more, and the text contains itself in any case */
    size_t len2 = textfold(full, len, again, cap);
    if (len2 != len || memcmp(again, full, len) != 0)
        abort();
    if (!textfold_contains(in, full) || !textfold_equal(in, full))
        abort();
    free(full);
    free(again);
    return 0;
}
