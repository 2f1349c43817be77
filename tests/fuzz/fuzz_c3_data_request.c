/* libFuzzer target: the panel-data request text a client sends ("KIND OP [FIELD=VALUE] [dry-run]"), as the C3
 * adapter reads it before anything goes to the panel; checks what an accepted request may hold. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/c3/c3_device_data.h"
#include "drivers/c3/c3_store.h"
#include "drivers/c3/c3_userdata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    /* a small scope buffer too: a scope that does not fit is refused, never cut */
    size_t caps[2] = { 48, (size % 8) + 1 };
    for (int k = 0; k < 2; k++) {
        struct c3_store_req rq;
        memset(&rq, 0, sizeof rq);
        char where[48], err[128];
        if (c3d_data_parse(text, &rq, where, caps[k], err, sizeof err) < 0) {
            if (!memchr(err, '\0', sizeof err))
                abort();
            continue;
        }
        if (rq.kind < 0 || rq.kind >= C3_KIND_COUNT || (int)rq.op < C3_STORE_LIST || rq.op > C3_STORE_DELETE)
            abort();
        if (rq.where_field) {
            /* a scope: replace only, FIELD and VALUE both present, both inside where */
            if (rq.op != C3_STORE_REPLACE || !rq.where_field[0] || !rq.where_value || !rq.where_value[0] ||
                rq.where_field != where || strlen(where) >= caps[k] || strchr(rq.where_value, ' '))
                abort();
        }
        if (rq.dry_run && !strstr(text, "dry-run"))
            abort();
    }
    free(text);
    return 0;
}
