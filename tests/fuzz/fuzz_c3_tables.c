/* libFuzzer target: C3 table structure text (first byte even) and GET_DATA reply records (odd). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/c3/c3_frame.h"
#include "drivers/c3/c3_tables.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    if ((data[0] & 1u) == 0) {
        static struct c3_table_def defs[4];
        size_t bad = 0;
        int k = c3_table_struct_parse((const char *)p, n, defs, 4, &bad);
        if (k < 0 && k != C3_E_TOOMANY)
            abort();
        size_t got = k < 0 ? 4 : (size_t)k;
        for (size_t i = 0; i < got; i++) {
            if (defs[i].nfields > C3_TABLE_FIELDS_MAX || strlen(defs[i].name) == 0 ||
                c3_table_find(defs, got, defs[i].name) == NULL)
                abort();
            for (size_t f = 0; f < defs[i].nfields; f++)
                if (defs[i].fields[f].index == 0 || c3_table_field(&defs[i], defs[i].fields[f].name) == NULL)
                    abort();
        }
        return 0;
    }
    struct c3_data_reader rd;
    if (c3_data_reader_init(&rd, p, n) != 0)
        return 0;
    struct c3_data_value v[255];
    int rc;
    size_t records = 0;
    while ((rc = c3_data_reader_next(&rd, v, 255)) == 1) {
        for (size_t i = 0; i < rd.nfields; i++) {
            if (v[i].p < p || v[i].p + v[i].len > p + n)
                abort();
            uint32_t u;
            (void)c3_data_value_u32(&v[i], &u);
        }
        if (++records > n)
            abort(); /* every record consumes at least one byte */
    }
    if (rc != 0 && rc != C3_E_SHORT)
        abort();
    return 0;
}
