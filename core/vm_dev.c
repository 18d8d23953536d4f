/* SPDX-License-Identifier: Apache-2.0 */
/* A VM's devices: built from its configuration's device nodes by their
 * kinds (core/vdev/), one virtio-mmio slot each (VM_VIRTIO_BASE + i *
 * VM_VIRTIO_STRIDE, PLIC source VM_VIRTIO_IRQ0 + i), backed by the host
 * (disks, switch, entropy) and reaching guest memory only through
 * gpa_read/gpa_write. */
#include "core/vm_dev.h"

#include "core/hostdev.h"
#include "core/pmem.h"
#include "core/vdev/blk.h"
#include "core/vdev/vdev.h"
#include "core/vm.h"
#include "devices/virtio_mmio.h"
#include "drivers/hvirtio_blk.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"

/* The kind's state follows struct vm_vdev, aligned for any model. */
#define VDEV_HEAD ((sizeof(struct vm_vdev) + 15) & ~(size_t)15)

static size_t vdev_alloc_size(const struct vdev_kind *kind)
{
    return (VDEV_HEAD + kind->state_size + 4095) & ~(size_t)4095;
}

uint64_t vm_devices_bytes(const struct vm_config *cfg)
{
    uint64_t n = 0;

    for (unsigned i = 0; i < cfg->ndevs; i++)
        n += vdev_alloc_size(cfg->devs[i].kind);
    return n;
}

static int mem_read(void *ctx, uint64_t gpa, void *dst, size_t n)
{
    return gpa_read(ctx, gpa, dst, n);
}

static int mem_write(void *ctx, uint64_t gpa, const void *src, size_t n)
{
    return gpa_write(ctx, gpa, src, n);
}

static int mem_map(void *ctx, uint64_t gpa, uint64_t n, struct gm_seg *segs, unsigned max)
{
    return gpa_map(ctx, gpa, n, segs, max);
}

static void mem_written(void *ctx, uint64_t gpa, uint64_t n)
{
    gpa_written(ctx, gpa, n);
}

static void vdev_free(struct vm_vdev *d)
{
    if (d->kind->destroy)
        d->kind->destroy(d);
    pmem_free(d, vdev_alloc_size(d->kind));
}

/* Device c in the next slot: 0, VDEV_ABSENT, or a negative ERR_* code with
 * err set. */
static int vdev_create(struct vm *vm, const struct dev_config *c, char *err, size_t errlen)
{
    const struct vdev_kind *kind = c->kind;
    unsigned slot = vm->nvdevs;
    struct vm_vdev *d = pmem_zalloc(vdev_alloc_size(kind), 4096);

    if (!d) {
        fmt_snprintf(err, errlen, "%s: no memory for the device", c->name);
        return ERR_NOMEM;
    }
    d->kind = kind;
    d->cfg = c;
    d->vm = vm;
    d->state = (uint8_t *)d + VDEV_HEAD;
    d->mem = (struct guest_mem){mem_read, mem_write, vm, mem_map, mem_written};
    d->irq = (struct irq_line){vplic_set_level, &vm->plic, VM_VIRTIO_IRQ0 + slot};
    d->mdev.name = kind->model;
    d->mdev.base = VM_VIRTIO_BASE + (uint64_t)slot * VM_VIRTIO_STRIDE;
    fmt_snprintf(d->label, sizeof(d->label), "%s.%s", vm->name, c->name);
    int r = kind->create(d, err, errlen);
    if (r != 0) {
        pmem_free(d, vdev_alloc_size(kind));
        return r;
    }
    vm->vdevs[vm->nvdevs++] = d;
    if (vm_add_device(vm, &d->mdev) < 0) {
        fmt_snprintf(err, errlen, "%s: overlaps guest RAM or another device", c->name);
        return ERR_EXIST;
    }
    return 0;
}

int vm_devices_create(struct vm *vm, char *err, size_t errlen)
{
    const struct vm_config *cfg = vm->cfg;

    vm->nvdevs = 0;
    vm->vcon = NULL;
    for (unsigned i = 0; i < cfg->ndevs; i++) {
        int r = vdev_create(vm, &cfg->devs[i], err, errlen);
        if (r < 0) {
            vm_devices_destroy(vm);
            return r;
        }
    }
    return 0;
}

void vm_devices_destroy(struct vm *vm)
{
    for (unsigned i = 0; i < vm->nvdevs; i++)
        vdev_free(vm->vdevs[i]);
    vm->nvdevs = 0;
    vm->vcon = NULL;
}

unsigned vm_devices_fdt(const struct vm *vm, uint64_t *base, uint32_t *irq, unsigned max)
{
    unsigned n = vm->nvdevs < max ? vm->nvdevs : max;

    for (unsigned i = 0; i < n; i++) {
        base[i] = vm->vdevs[i]->mdev.base;
        irq[i] = VM_VIRTIO_IRQ0 + i;
    }
    return n;
}

const char *vm_device_label(const struct vm *vm, unsigned i)
{
    return i < vm->nvdevs ? vm->vdevs[i]->label : NULL;
}

const char *vm_device_kind(const struct vm *vm, unsigned i)
{
    return i < vm->nvdevs ? vm->vdevs[i]->mdev.name : NULL;
}

const struct mmio_dev *vm_device_mmio(const struct vm *vm, unsigned i)
{
    return i < vm->nvdevs ? &vm->vdevs[i]->mdev : NULL;
}

void vm_device_io(const struct vm *vm, unsigned i, struct virtio_io_stats *out)
{
    *out = (struct virtio_io_stats){0};
    if (i >= vm->nvdevs || vm->vdevs[i]->mdev.ops != &virtio_mmio_ops)
        return;
    struct virtio_mmio *t = vm->vdevs[i]->mdev.priv;
    spin_lock(&t->lock);
    *out = t->io;
    spin_unlock(&t->lock);
}

void vm_devices_announce(struct vm *vm)
{
    for (unsigned i = 0; i < vm->nvdevs; i++) {
        struct vm_vdev *d = vm->vdevs[i];
        if (d->kind->announce)
            d->kind->announce(d);
    }
}

bool vm_device_on_host_disk(const struct vm *vm, unsigned i)
{
    struct host_region r;
    return i < vm->nvdevs && vdev_blk_host_region(vm->vdevs[i]->cfg, &r);
}

int vm_devices_quiesce(struct vm *vm, char *err, size_t errlen)
{
    for (unsigned i = 0; i < vm->nvdevs; i++) {
        struct vm_vdev *d = vm->vdevs[i];
        if (d->kind->quiesce) {
            int rc = d->kind->quiesce(d, err, errlen);
            if (rc < 0)
                return rc;
        }
    }
    /* Each host disk once, however many of the VM's disks are on it. */
    uint32_t flushed = 0;
    for (unsigned i = 0; i < vm->nvdevs; i++) {
        struct host_region r;
        if (!vdev_blk_host_region(vm->vdevs[i]->cfg, &r) || r.disk < 0 || r.disk >= 32 ||
            (flushed >> r.disk) & 1)
            continue;
        flushed |= 1u << r.disk;
        struct hvblk *b = hostdev_disk((unsigned)r.disk);
        int rc = b ? hvblk_flush(b) : ERR_NOENT;
        if (rc < 0) {
            fmt_snprintf(err, errlen, "%s: flushing host disk %d: %s", vm->vdevs[i]->label, r.disk,
                         err_str(rc));
            return rc;
        }
    }
    return 0;
}

void vm_devices_hold(struct vm *vm, bool on)
{
    vconsole_port_hold(&vm->con, on);
    for (unsigned i = 0; i < vm->nvdevs; i++) {
        struct vm_vdev *d = vm->vdevs[i];
        if (d->kind->hold)
            d->kind->hold(d, on);
    }
}
