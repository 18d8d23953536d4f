/* SPDX-License-Identifier: Apache-2.0 */
/* What all guest device kinds share (see vdev.h); the table of kinds is
 * core/vdev/table.c. */
#include "core/vdev/vdev.h"

#include "core/vm.h"
#include "devices/virtio_mmio.h"
#include "lib/string.h"

void vdev_settings_put(struct dev_config *d, const void *s, size_t size)
{
    memcpy(d->settings, s, size);
}

void vdev_settings_get(const struct dev_config *d, void *s, size_t size)
{
    memcpy(s, d->settings, size);
}

void vdev_virtio_mmio(struct vm_vdev *d, struct virtio_mmio *t)
{
    d->mdev.ops = &virtio_mmio_ops;
    d->mdev.size = VIRTIO_MMIO_SIZE;
    d->mdev.priv = t;
    /* vm_dev.c puts it at this slot once it is made. */
    t->trace_id = (uint16_t)((d->vm->index & 0xff) << 8 | (d->vm->nvdevs & 0xff));
}
