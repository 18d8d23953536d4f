/* SPDX-License-Identifier: Apache-2.0 */
/* virtio entropy device (see virtio_rng.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_rng.h"
#include "devices/virtqueue.h"
#include "lib/err.h"
#include "lib/string.h"

/* Fills one writable buffer; returns the bytes written, or ERR_RANGE if
 * guest memory refused them. */
static int64_t rng_fill(struct virtio_rng *r, const struct vq_buf *b)
{
    uint8_t chunk[256];
    uint64_t done = 0;

    while (done < b->len) {
        size_t want = b->len - done < sizeof(chunk) ? (size_t)(b->len - done) : sizeof(chunk);
        size_t got = r->entropy ? r->entropy(r->ctx, chunk, want) : 0;

        if (got > want)
            got = want;
        if (got == 0)
            break;
        if (r->t.mem.write(r->t.mem.ctx, b->addr + done, chunk, got) != 0)
            return ERR_RANGE;
        done += got;
        if (got < want)
            break;
    }
    return (int64_t)done;
}

static void rng_notify(void *dev, unsigned queue)
{
    struct virtio_rng *r = dev;
    struct virtio_mmio *t = &r->t;
    bool pushed = false;

    /* Until empty, bounded (VIRTIO_WORK_ROUNDS): a driver refilling the
     * ring from another hart cannot keep this one here forever. */
    for (unsigned i = 0; i < VIRTIO_WORK_ROUNDS * t->queues[queue].num; i++) {
        unsigned n;
        int head = virtio_mmio_pop(t, queue, r->bufs, VIRTIO_RNG_QUEUE_MAX, &n);

        if (head < 0)
            break;
        uint64_t written = 0;
        bool dry = false;
        for (unsigned k = 0; k < n && !dry; k++) {
            if (!r->bufs[k].write)
                continue; /* nothing to read from the driver */
            int64_t w = rng_fill(r, &r->bufs[k]);
            if (w < 0) {
                virtio_mmio_needs_reset(t); /* buffer outside RAM */
                return;
            }
            written += (uint64_t)w;
            dry = (uint64_t)w < r->bufs[k].len;
        }
        if (virtio_mmio_push(t, queue, (uint16_t)head, (uint32_t)written) != 0)
            break;
        pushed = true;
    }
    if (pushed)
        virtio_mmio_used(t, queue);
}

static const struct virtio_dev_ops rng_ops = {
    .device_id = VIRTIO_ID_RNG,
    .features = 0,
    .nqueues = 1,
    .queue_max = VIRTIO_RNG_QUEUE_MAX,
    .config_size = 0,
    .max_chain_bytes = VIRTIO_RNG_MAX_CHAIN,
    .notify = rng_notify,
};

void virtio_rng_init(struct virtio_rng *r, const struct guest_mem *mem, const struct irq_line *irq,
                     size_t (*entropy)(void *ctx, void *buf, size_t n), void *ctx)
{
    memset(r, 0, sizeof(*r));
    r->entropy = entropy;
    r->ctx = ctx;
    virtio_mmio_init(&r->t, &rng_ops, r, mem, irq);
}

long virtio_rng_save(const struct virtio_rng *r, void *buf, size_t size)
{
    return virtio_mmio_save(&r->t, VIRTIO_RNG_STATE_VERSION, NULL, buf, size);
}

int virtio_rng_load(struct virtio_rng *r, const void *buf, size_t size)
{
    return virtio_mmio_load(&r->t, VIRTIO_RNG_STATE_VERSION, NULL, buf, size);
}
