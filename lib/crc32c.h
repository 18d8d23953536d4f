/* SPDX-License-Identifier: Apache-2.0 */
/* CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected), the checksum of
 * iSCSI, ext4 and virtio: what snapshot sections carry. */
#ifndef VIREO_LIB_CRC32C_H
#define VIREO_LIB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC of n more bytes at p, continuing from crc (0 to start):
 * crc32c(crc32c(0, a, n), b, m) is the CRC of a followed by b.  The
 * check value of "123456789" is 0xE3069283. */
uint32_t crc32c(uint32_t crc, const void *p, size_t n);

#endif
