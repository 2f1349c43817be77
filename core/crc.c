#include "core/crc.h"

static uint16_t arc_table[256];
static uint8_t maxim_table[256];
static uint32_t ieee_table[256];
static int tables_ready;

static void build_tables(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint16_t c = (uint16_t)i;
        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? (uint16_t)((c >> 1) ^ 0xA001u) : (uint16_t)(c >> 1);
        arc_table[i] = c;
        uint8_t m = (uint8_t)i;
        for (int k = 0; k < 8; k++)
            m = (m & 1u) ? (uint8_t)((m >> 1) ^ 0x8Cu) : (uint8_t)(m >> 1);
        maxim_table[i] = m;
        uint32_t w = i;
        for (int k = 0; k < 8; k++)
            w = (w & 1u) ? (w >> 1) ^ 0xEDB88320u : w >> 1;
        ieee_table[i] = w;
    }
    tables_ready = 1;
}

uint16_t crc16_arc_update(uint16_t crc, const void *data, size_t len)
{
    if (!tables_ready)
        build_tables();
    const uint8_t *p = data;
    while (len--)
        crc = (uint16_t)((crc >> 8) ^ arc_table[(crc ^ *p++) & 0xFFu]);
    return crc;
}

uint16_t crc16_arc(const void *data, size_t len) { return crc16_arc_update(0, data, len); }

uint8_t crc8_maxim(const void *data, size_t len)
{
    if (!tables_ready)
        build_tables();
    const uint8_t *p = data;
    uint8_t crc = 0;
    while (len--)
        crc = maxim_table[crc ^ *p++];
    return crc;
}

uint32_t crc32_ieee_update(uint32_t crc, const void *data, size_t len)
{
    if (!tables_ready)
        build_tables();
    const uint8_t *p = data;
    crc = ~crc;
    while (len--)
        crc = (crc >> 8) ^ ieee_table[(crc ^ *p++) & 0xFFu];
    return ~crc;
}

uint32_t crc32_ieee(const void *data, size_t len) { return crc32_ieee_update(0, data, len); }
