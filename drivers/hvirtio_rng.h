/* SPDX-License-Identifier: Apache-2.0 */
/* Vireo's driver for the host's virtio-rng (QEMU -device
 * virtio-rng-device): entropy for the guests' virtio-rng when the harts
 * have no Zkr seed CSR.  Synchronous and polled; one lock. */
#ifndef VIREO_DRIVERS_HVIRTIO_RNG_H
#define VIREO_DRIVERS_HVIRTIO_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/hvirtio.h"
#include "lib/spinlock.h"

#define HVRNG_QUEUE 4

struct hvrng {
    struct hvirtio v;
    struct spinlock lock;
    bool failed;
    uint64_t timeout_ticks;
    uint8_t buf[64];
};

/* 0, or with a reason hvirtio_open's or hvirtio_queue's code, or ERR_NOENT
 * when the device is not virtio-rng. */
int hvrng_init(struct hvrng *r, uintptr_t base, void *ring, uint64_t timeout_ticks, char *err,
               size_t errlen);
/* Fills up to n bytes; returns how many (0 once the device failed). */
size_t hvrng_read(struct hvrng *r, void *buf, size_t n);

#endif
