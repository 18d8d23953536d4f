/* SPDX-License-Identifier: Apache-2.0 */
/* CRC-32C, slicing by 8: eight 256-entry tables (8 KiB, built on first use)
 * let the loop take a doubleword per step, which matters for RAM sections
 * of hundreds of MiB.  The tables are built by whoever gets there first;
 * two harts building them at once write the same values. */
#include "lib/crc32c.h"

#define CRC32C_POLY 0x82F63B78u /* 0x1EDC6F41 reflected */

static uint32_t crc_table[8][256];
static int crc_ready;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1)));
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
    __atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
}

uint32_t crc32c(uint32_t crc, const void *p, size_t n)
{
    const uint8_t *b = p;

    if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE))
        crc_init();
    crc = ~crc;
    while (n && ((uintptr_t)b & 7)) {
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *b++) & 0xff];
        n--;
    }
    while (n >= 8) {
        uint64_t w;
        __builtin_memcpy(&w, b, 8); /* little-endian, as every RISC-V host Vireo runs on */
        w ^= crc;
        crc = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
              crc_table[5][(w >> 16) & 0xff] ^ crc_table[4][(w >> 24) & 0xff] ^
              crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
              crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
        b += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *b++) & 0xff];
    return ~crc;
}
