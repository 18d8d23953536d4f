/* SPDX-License-Identifier: Apache-2.0 */
/* Vireo's driver for the host's virtio-blk disks (QEMU -device
 * virtio-blk-device): synchronous, polled requests that back the guests'
 * persistent disks.  Safe to call from any hart (one lock per disk). */
#ifndef VIREO_DRIVERS_HVIRTIO_BLK_H
#define VIREO_DRIVERS_HVIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/hvirtio.h"
#include "lib/spinlock.h"

#define HVBLK_QUEUE 16

struct hvblk {
    struct hvirtio v;
    struct spinlock lock;
    uint64_t sectors; /* capacity, 512-byte sectors */
    bool read_only, can_flush;
    bool failed; /* a request timed out: the disk is not used again */
    uint64_t timeout_ticks;
    uint8_t hdr[16];
    uint8_t status;
};

/* Memory for the ring: hvirtio_ring_bytes(HVBLK_QUEUE), 4 KiB aligned.
 * 0, or with a reason hvirtio_open's or hvirtio_queue's code, or ERR_NOENT
 * when the device is not virtio-blk. */
int hvblk_init(struct hvblk *b, uintptr_t base, void *ring, uint64_t timeout_ticks, char *err,
               size_t errlen);

/* n is a multiple of 512 and the range lies inside the disk.  0, or
 * ERR_INVAL (n is not), ERR_RANGE (the range is not), ERR_NOTSUP (a write
 * to a read-only disk) or ERR_IO (the device failed the request, or did
 * not answer in time: the disk is then failed for good). */
int hvblk_read(struct hvblk *b, uint64_t sector, void *buf, size_t n);
int hvblk_write(struct hvblk *b, uint64_t sector, const void *buf, size_t n);
/* Everything written so far is on stable storage when this returns 0. */
int hvblk_flush(struct hvblk *b);

#endif
