/* libFuzzer target: the C3 simulator's tables driven by untrusted command payloads (GET/SET/DELETE_DATA, counts,
 * the big-data buffer in both directions, GET_DATA_OK) interleaved with recorded events; checks reply invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/c3/c3_frame.h"
#include "sim/c3sim_tables.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct c3sim_tables t;
    if (c3sim_tables_init(&t, (data[0] & 1) ? C3SIM_LAYOUT_NEW : C3SIM_LAYOUT_OLD, 64, 50) < 0)
        return 0;
    static const uint8_t cmds[] = { C3_CMD_TABLE_STRUCT, C3_CMD_SET_DATA, C3_CMD_GET_DATA, C3_CMD_DELETE_DATA,
                                    C3_CMD_GET_DATA_COUNT, C3_CMD_PREPARE_DATA, C3_CMD_READ_DATA, C3_CMD_FREE_DATA,
                                    C3_CMD_DATA, C3_CMD_GET_DATA_OK, C3_CMD_HASH_DATA };
    size_t i = 1;
    while (i + 2 <= size) {
        uint8_t op = data[i];
        size_t len = data[i + 1];
        i += 2;
        if (len > size - i)
            len = size - i;
        const uint8_t *arg = data + i;
        i += len;
        if (op >= 0xF0) {
            for (unsigned k = 0; k < (op & 0x0Fu) * 7u; k++)
                c3sim_tables_record(&t, k, k, 4, (uint8_t)(k % 4 + 1), 0, 0, 1000 + k);
            continue;
        }
        if (op == 0xE0) {
            c3sim_tables_connected(&t);
            continue;
        }
        struct c3sim_reply r;
        if (!c3sim_tables_command(&t, cmds[op % sizeof cmds], arg, len, &r))
            abort();
        if (r.code == C3_REPLY_PREPARE && r.len != 17)
            abort();
        if (r.code != C3_REPLY_OK && r.code != C3_REPLY_PREPARE && r.code != C3_REPLY_ERROR)
            abort();
        if (r.code == C3_REPLY_OK && r.len > t.package)
            abort();
        free(r.data);
        if (t.big_len > C3SIM_BIG_MAX || t.txn_count > t.txn_cap)
            abort();
    }
    char text[8192];
    if (c3sim_tables_struct_text(&t, text, sizeof text) < 0)
        abort();
    c3sim_tables_free(&t);
    return 0;
}
