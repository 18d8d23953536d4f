/* SPDX-License-Identifier: Apache-2.0 */
/* The "console" device kind: virtio-console, the guest's hvc0; its output
 * goes where the VM's other console output goes (docs/devices.md).
 *
 *   console { };
 */
#include "core/vdev/vdev.h"
#include "core/vconsole.h"
#include "core/vm.h"
#include "devices/virtio_console.h"

static void console_output(void *ctx, const char *buf, size_t n)
{
    struct vm *vm = ctx;

    vconsole_output(&vm->con, buf, n);
}

static long console_save(const struct vm_vdev *d, void *buf, size_t size)
{
    return virtio_console_save(d->state, buf, size);
}

static int console_load(struct vm_vdev *d, const void *buf, size_t size)
{
    return virtio_console_load(d->state, buf, size);
}

static int console_create(struct vm_vdev *d, char *err, size_t errlen)
{
    struct virtio_console *c = d->state;

    (void)err;
    (void)errlen;
    virtio_console_init(c, &d->mem, &d->irq, console_output, d->vm);
    d->vm->vcon = c; /* console input goes to it once its driver is up */
    vdev_virtio_mmio(d, &c->t);
    return 0;
}

const struct vdev_kind vdev_kind_console = {
    .name = "console",
    .model = "virtio-console",
    .state_size = sizeof(struct virtio_console),
    .create = console_create,
    .save = console_save,
    .load = console_load,
};
