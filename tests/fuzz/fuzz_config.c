/* libFuzzer target: the configuration loader and validator on arbitrary text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/site_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct config_diags d;
    struct site *site = site_config_load_string(text, "fuzz.conf", &d);
    if (site) {
        /* exercise the lookups on whatever was built */
        for (size_t i = 0; i < site->n_outputs; i++)
            (void)site_find_output(site, site->outputs[i].name);
        (void)site_find_output(site, "x/1");
    }
    site_free(site);
    config_diags_free(&d);
    free(text);
    return 0;
}
