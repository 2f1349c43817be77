/* libFuzzer target: the C3 data-table bodies a panel (or a client, for the simulator) sends: GET_DATA requests,
 * record bodies with transaction rows, values as text by type, READ_DATA replies and big-data headers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/c3/c3_data.h"
#include "drivers/c3/c3_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 4) {
    case 0: {
        struct c3_getdata q;
        if (c3_getdata_parse(p, n, &q) == 0) {
            for (size_t i = 0; i < q.nconds; i++)
                if (q.cond_values[i].p < p || q.cond_values[i].p + q.cond_values[i].len > p + n)
                    abort();
            /* What parses builds again (unless a field index is 0, which the builder refuses). */
            struct c3_buf b = { 0 };
            int rc = c3_getdata_build(&b, &q);
            if (rc != 0 && rc != C3_E_RANGE)
                abort();
            c3_buf_free(&b);
        }
        break;
    }
    case 1: {
        struct c3_data_reader rd;
        if (c3_data_reader_init(&rd, p, n) != 0)
            break;
        struct c3_txn_fields f = { 1, 2, 3, 4, 5, 6, 7, 8 };
        struct c3_data_value v[255];
        int rc;
        while ((rc = c3_data_reader_next(&rd, v, 255)) == 1) {
            struct c3_txn t;
            (void)c3_txn_decode(&rd, v, &f, &t);
            char text[600];
            for (size_t i = 0; i < rd.nfields; i++) {
                static const char types[] = "iLsbBx";
                int k = c3_value_to_text(types[rd.fields[i] % 6], &v[i], text, sizeof text);
                if (k >= 0 && (size_t)k != strlen(text))
                    abort();
            }
        }
        if (rc != 0 && rc != C3_E_SHORT)
            abort();
        break;
    }
    case 2: {
        char text[300];
        size_t k = n < sizeof text - 1 ? n : sizeof text - 1;
        memcpy(text, p, k);
        text[k] = '\0';
        uint8_t out[255];
        static const char types[] = "iLsb";
        for (size_t t = 0; t < 4; t++) {
            int rc = c3_value_from_text(types[t], text, out, sizeof out);
            if (rc > 255)
                abort();
            if (rc > 0 && types[t] != 's') {
                /* Numbers and hex read back to the same value. */
                char back[600];
                struct c3_data_value v = { out, (size_t)rc };
                if (c3_value_to_text(types[t], &v, back, sizeof back) < 0)
                    abort();
            }
        }
        break;
    }
    default: {
        uint32_t off, tot, pk;
        const uint8_t *chunk;
        size_t cl;
        if (c3_readdata_reply(p, n, &off, &chunk, &cl) == 0 && (chunk != p + 4 || cl != n - 4))
            abort();
        (void)c3_prepare_parse(p, n, &tot, &pk);
        struct c3_bigdata h;
        if (c3_bigdata_parse(p, n, &h) == 0 && n != 17)
            abort();
        break;
    }
    }
    return 0;
}
