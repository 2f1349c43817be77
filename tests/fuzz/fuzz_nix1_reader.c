/* Fuzz target: the NiX1 log reader fed a slave's answers: each input line is one outcome of the request the reader
 * asked for ("T" = no answer, else "<rc hex2><TAB><payload>" with further "<TAB>"-free data lines after '|').
 * Invariants: the reader always asks for a request it knows, never delivers a line it was not given, and never
 * reads past what it was given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/nix1/nix1_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nix1_reader r;
    nix1_reader_init(&r, size > 0 && (data[0] & 1));
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *save = NULL;
    for (char *ln = strtok_r(text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        struct nix1_reader_req q;
        nix1_reader_next(&r, &q);
        if (!((q.cmd == 'Q' && (q.arg == 'e' || q.arg == 'g' || q.arg == 't')) || (q.cmd == 'N' && q.arg == 'e')))
            abort();
        if (q.opt[sizeof q.opt - 1] != '\0')
            abort();
        struct nix1_result res;
        memset(&res, 0, sizeof res);
        const char *lines[16];
        size_t nl = 0;
        if (ln[0] == 'T') {
            res.status = NIX1_ST_TIMEOUT;
            res.payload = "";
        } else {
            res.status = NIX1_ST_REPLY;
            char *end;
            res.rc = (uint8_t)strtoul(ln, &end, 16);
            char *pay = *end == '\t' ? end + 1 : end;
            char *bar = strchr(pay, '|');
            if (bar) {
                *bar = '\0';
                for (char *l = bar + 1; l && nl < 16;) {
                    char *nx = strchr(l, '|');
                    if (nx)
                        *nx++ = '\0';
                    lines[nl++] = l;
                    l = nx;
                }
            }
            res.payload = pay;
            res.payload_len = strlen(pay);
            res.lines = lines;
            res.nlines = nl;
        }
        struct nix1_reader_out out;
        nix1_reader_done(&r, &res, &out);
        if (out.ev == NIX1_RD_ENTRY) {
            bool from_payload = out.line == res.payload && out.len == res.payload_len;
            bool from_lines = false;
            for (size_t i = 0; i < nl; i++)
                from_lines = from_lines || (out.line == lines[i] && out.len == strlen(lines[i]));
            if (!from_payload && !from_lines)
                abort();
        }
        if (out.text[sizeof out.text - 1] != '\0')
            abort();
    }
    free(text);
    return 0;
}
