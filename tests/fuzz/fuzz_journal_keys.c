/* Fuzz target: journal keys read back from a journal file (the record number in a key, the rewrite of a key of the
 * older form at the schema's migration). Input: "<key>\n<device>". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[EVENT_KEY_MAX + 64];
    if (size >= sizeof in)
        size = sizeof in - 1;
    memcpy(in, data, size);
    in[size] = '\0';
    char *device = strchr(in, '\n');
    if (device)
        *device++ = '\0';
    else
        device = "Panel A";
    int64_t record = 0;
    (void)event_key_record(in, &record);
    char out[EVENT_KEY_MAX], again[EVENT_KEY_MAX];
    if (event_key_upgrade(in, device, out, sizeof out) == 1) {
        /* the new form: the device's part, then the record number the old key ended with */
        size_t head = strnlen(device, 40);
        int64_t old_no = strtoll(strrchr(in, '#') + 1, NULL, 10);
        char *end = NULL;
        if (memcmp(out, in, head) != 0 || strncmp(out + head, "|#", 2) != 0 ||
            strtoll(out + head + 2, &end, 10) != old_no || end - (out + head + 2) < 12 || *end != '|')
            abort();
        if (event_key_upgrade(out, device, again, sizeof again) != 0)
            abort(); /* once is enough */
    }
    return 0;
}
