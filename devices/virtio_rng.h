/* SPDX-License-Identifier: Apache-2.0 */
/* virtio entropy device (virtio 1.2, 5.4): device ID 4, one queue
 * ("requestq", 0), no features, no config space.  Each chain's
 * device-writable buffers are filled with bytes from the entropy
 * callback; the used length is the number of bytes written.  Chains over
 * VIRTIO_RNG_MAX_CHAIN bytes, or with more descriptors than
 * VIRTIO_RNG_QUEUE_MAX, are malformed (DEVICE_NEEDS_RESET).
 *
 * The entropy callback runs on the notifying vCPU's hart with the
 * transport lock held: it must not touch this device.  It returns how
 * many bytes it produced (less than n: the request is completed short). */
#ifndef VIREO_DEVICES_VIRTIO_RNG_H
#define VIREO_DEVICES_VIRTIO_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"

#define VIRTIO_ID_RNG        4
#define VIRTIO_RNG_QUEUE_MAX 256
#define VIRTIO_RNG_MAX_CHAIN (1u << 20)

struct virtio_rng {
    struct virtio_mmio t; /* the mmio_dev's priv is &t */
    size_t (*entropy)(void *ctx, void *buf, size_t n);
    void *ctx;
    struct vq_buf bufs[VIRTIO_RNG_QUEUE_MAX]; /* scratch, under the lock */
};

void virtio_rng_init(struct virtio_rng *r, const struct guest_mem *mem, const struct irq_line *irq,
                     size_t (*entropy)(void *ctx, void *buf, size_t n), void *ctx);

/* Snapshots (docs/snapshot-devices.md): the transport's state only; the
 * device holds nothing between notifications.  See virtio_mmio_load. */
#define VIRTIO_RNG_STATE_VERSION 1
long virtio_rng_save(const struct virtio_rng *r, void *buf, size_t size);
int virtio_rng_load(struct virtio_rng *r, const void *buf, size_t size);

#endif
