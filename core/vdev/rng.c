/* SPDX-License-Identifier: Apache-2.0 */
/* The "rng" device kind: virtio-rng on the host's entropy (docs/devices.md).
 *
 *   rng { };
 */
#include "core/hostdev.h"
#include "core/vdev/vdev.h"
#include "devices/virtio_rng.h"

static long rng_save(const struct vm_vdev *d, void *buf, size_t size)
{
    return virtio_rng_save(d->state, buf, size);
}

static int rng_load(struct vm_vdev *d, const void *buf, size_t size)
{
    return virtio_rng_load(d->state, buf, size);
}

static int rng_create(struct vm_vdev *d, char *err, size_t errlen)
{
    struct virtio_rng *r = d->state;

    (void)err;
    (void)errlen;
    /* Offering a device that never answers would hang the guest's reads:
     * no entropy, no device (said once at boot). */
    if (!hostdev_has_entropy())
        return VDEV_ABSENT;
    virtio_rng_init(r, &d->mem, &d->irq, hostdev_entropy, NULL);
    vdev_virtio_mmio(d, &r->t);
    return 0;
}

const struct vdev_kind vdev_kind_rng = {
    .name = "rng",
    .model = "virtio-rng",
    .state_size = sizeof(struct virtio_rng),
    .create = rng_create,
    .save = rng_save,
    .load = rng_load,
};
