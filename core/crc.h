/* crc: the checksums the device protocols use, as plain functions over byte buffers.
 * CRC-16/ARC (C3 frames, NiX1 files and packets), CRC-8/MAXIM (1-Wire addresses), CRC-32 (C3 big-data). */
#ifndef PORTIER_CRC_H
#define PORTIER_CRC_H

#include <stddef.h>
#include <stdint.h>

/* CRC-16/ARC: poly 0x8005 reflected (0xA001), init 0, no final xor. crc16_arc("123456789") == 0xBB3D. */
uint16_t crc16_arc(const void *data, size_t len);
/* Continue a CRC-16/ARC over more data (start with 0). */
uint16_t crc16_arc_update(uint16_t crc, const void *data, size_t len);

/* CRC-8/MAXIM (Dallas 1-Wire): poly 0x31 reflected (0x8C), init 0, no final xor. */
uint8_t crc8_maxim(const void *data, size_t len);

/* CRC-32 (IEEE 802.3, as zlib): poly 0x04C11DB7 reflected (0xEDB88320), init and final xor 0xFFFFFFFF.
 * crc32_ieee("123456789") == 0xCBF43926. The update form continues a previous result (start with 0). */
uint32_t crc32_ieee(const void *data, size_t len);
uint32_t crc32_ieee_update(uint32_t crc, const void *data, size_t len);

#endif
