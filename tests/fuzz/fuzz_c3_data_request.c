/* libFuzzer target: the panel-data request text a client sends ("KIND OP [FIELD=VALUE] [dry-run]", "tables list",
 * "table:NAME OP [FIELD=VALUE] [dry-run]"), as the C3 adapter reads it before anything goes to the panel; checks
 * what an accepted request may hold. */
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
    size_t caps[2] = { C3D_TABLE_MAX + 80, (size % 40) + 1 };
    for (int k = 0; k < 2; k++) {
        struct c3_store_req rq;
        memset(&rq, 0, sizeof rq);
        char where[C3D_TABLE_MAX + 80], err[128];
        if (c3d_data_parse(text, &rq, where, caps[k], err, sizeof err) < 0) {
            if (!memchr(err, '\0', sizeof err))
                abort();
            continue;
        }
        if (rq.kind >= C3_KIND_COUNT || rq.kind < -1 || (int)rq.op < C3_STORE_TABLES || rq.op > C3_STORE_DELETE)
            abort();
        if (rq.kind >= 0) {
            if (rq.table || rq.op == C3_STORE_TABLES)
                abort();
            /* a scope: replace only */
            if (rq.where_field && rq.op != C3_STORE_REPLACE)
                abort();
        } else if (rq.op == C3_STORE_TABLES) {
            if (rq.table || rq.where_field || rq.dry_run || !strstr(text, "tables"))
                abort();
        } else {
            /* a table by name: inside the buffer, of name characters; list with or without a scope, set without,
             * delete with one */
            if (!rq.table || rq.table != where || !rq.table[0] || strlen(rq.table) > C3D_TABLE_MAX ||
                strspn(rq.table, C3D_NAME_CHARS) != strlen(rq.table) ||
                (rq.op == C3_STORE_LIST && rq.dry_run) || (rq.op == C3_STORE_SET && rq.where_field) ||
                (rq.op == C3_STORE_DELETE && !rq.where_field) || rq.op == C3_STORE_ADD || rq.op == C3_STORE_REPLACE)
                abort();
        }
        if (rq.where_field) {
            /* FIELD and VALUE both present, both inside the buffer, the value without spaces or control bytes */
            size_t used = (size_t)(rq.where_value + strlen(rq.where_value) + 1 - where);
            if (!rq.where_field[0] || !rq.where_value || !rq.where_value[0] || rq.where_field < where ||
                used > caps[k] || strspn(rq.where_field, C3D_NAME_CHARS) != strlen(rq.where_field) ||
                strlen(rq.where_field) + strlen(rq.where_value) + 1 > C3D_SCOPE_MAX)
                abort();
            for (const unsigned char *p = (const unsigned char *)rq.where_value; *p; p++)
                if (*p <= 0x20 || *p == 0x7F)
                    abort();
        } else if (rq.where_value) {
            abort();
        }
        if (rq.dry_run && !strstr(text, "dry-run"))
            abort();
    }
    free(text);
    return 0;
}
