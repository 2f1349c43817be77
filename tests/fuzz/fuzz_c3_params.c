/* libFuzzer target: C3 parameter reply text, discovery reply, ISO time parsing and request builders. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_params.h"
#include "drivers/c3/c3_time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct c3_param_span it[40];
    int n = c3_params_parse(text, size, it, 40);
    if (n < 0 && n != C3_E_SYNTAX && n != C3_E_TOOMANY)
        abort();
    size_t got = n == C3_E_TOOMANY ? 40 : n < 0 ? 0 : (size_t)n;
    char names_buf[40][64];
    const char *names[40];
    size_t nn = 0;
    for (size_t i = 0; i < got; i++) {
        if (it[i].name < text || it[i].name + it[i].name_len > text + size || it[i].name_len == 0 ||
            it[i].value < text || it[i].value + it[i].value_len > text + size)
            abort();
        if (memchr(it[i].name, '=', it[i].name_len) || memchr(it[i].name, ',', it[i].name_len))
            abort();
        char v[32];
        (void)c3_params_value_str(&it[i], v, sizeof v);
        uint32_t u;
        (void)c3_params_value_u32(&it[i], &u);
        if (it[i].name_len < sizeof names_buf[0] && nn < C3_PARAMS_GET_MAX) {
            memcpy(names_buf[nn], it[i].name, it[i].name_len);
            names_buf[nn][it[i].name_len] = '\0';
            names[nn] = names_buf[nn];
            nn++;
        }
    }
    /* Rebuilding a get request from the parsed names either works (and reports its true length) or refuses. */
    char req[40 * 65];
    int r = c3_params_get_request(req, sizeof req, names, nn);
    if (r >= 0 && (size_t)r != strlen(req))
        abort();
    struct c3_discovery d;
    if (c3_discovery_parse(text, size, &d) == 0 && (!d.mac[0] || !d.ip[0]))
        abort();
    uint32_t t;
    if (c3_time_parse(text, size, &t) == 0) {
        char iso[C3_TIME_ISO_LEN];
        c3_time_format(t, text[10], iso, sizeof iso);
        if (memcmp(iso, text, 19) != 0)
            abort();
    }
    return 0;
}
