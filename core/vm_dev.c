/* SPDX-License-Identifier: Apache-2.0 */
/* A VM's virtio devices: built from its configuration's device nodes,
 * one virtio-mmio slot each (VM_VIRTIO_BASE + i * VM_VIRTIO_STRIDE, PLIC
 * source VM_VIRTIO_IRQ0 + i), backed by the host (disks, switch, entropy)
 * and reaching guest memory only through gpa_read/gpa_write. */
#include "core/vm_dev.h"

#include "core/console.h"
#include "core/hostdev.h"
#include "core/pmem.h"
#include "core/vm.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_console.h"
#include "devices/virtio_net.h"
#include "devices/virtio_rng.h"
#include "lib/string.h"

struct vm_vdev {
    const struct dev_config *cfg;
    struct mmio_dev mdev;
    char label[CONFIG_NAME_MAX + CONFIG_DEV_NAME_MAX + 2]; /* "vm0.disk0" */
    /* disk backing */
    uint8_t *image;     /* bundle image, or NULL */
    struct hvblk *host; /* host disk, or NULL */
    uint64_t first_sector;
    struct blk_backend be;
    union {
        struct virtio_rng rng;
        struct virtio_blk blk;
        struct virtio_net net;
        struct virtio_console con;
    } u;
};

static int mem_read(void *ctx, uint64_t gpa, void *dst, size_t n)
{
    return gpa_read(ctx, gpa, dst, n);
}

static int mem_write(void *ctx, uint64_t gpa, const void *src, size_t n)
{
    return gpa_write(ctx, gpa, src, n);
}

/* Disk backends.  The model has checked the range against be.sectors. */
static int image_read(void *ctx, uint64_t sector, void *buf, size_t n)
{
    struct vm_vdev *d = ctx;
    memcpy(buf, d->image + sector * 512, n);
    return 0;
}

static int image_write(void *ctx, uint64_t sector, const void *buf, size_t n)
{
    struct vm_vdev *d = ctx;
    memcpy(d->image + sector * 512, buf, n);
    return 0;
}

static int host_read(void *ctx, uint64_t sector, void *buf, size_t n)
{
    struct vm_vdev *d = ctx;
    return hvblk_read(d->host, d->first_sector + sector, buf, n);
}

static int host_write(void *ctx, uint64_t sector, const void *buf, size_t n)
{
    struct vm_vdev *d = ctx;
    return hvblk_write(d->host, d->first_sector + sector, buf, n);
}

static int host_flush(void *ctx)
{
    struct vm_vdev *d = ctx;
    return hvblk_flush(d->host);
}

static int disk_backend(struct vm_vdev *d, char *err, size_t errlen)
{
    const struct dev_config *c = d->cfg;

    d->be.ctx = d;
    d->be.read_only = c->read_only;
    if (c->host_disk == CONFIG_HOST_DISK_NONE) {
        /* The bundle sits in RAM that is Vireo's: writes land in place, so
         * they outlive a VM reset (not a Vireo restart). */
        d->image = (uint8_t *)(uintptr_t)c->image;
        d->be.sectors = c->image_size / 512;
        d->be.read = image_read;
        d->be.write = image_write;
        return 0;
    }
    d->host = hostdev_disk((unsigned)c->host_disk);
    if (!d->host) {
        fmt_snprintf(err, errlen,
                     "%s: host disk %d is not there (QEMU: -drive file=...,if=none,id=d%d "
                     "-device virtio-blk-device,drive=d%d)",
                     c->name, c->host_disk, c->host_disk, c->host_disk);
        return -1;
    }
    uint64_t first = c->offset / 512, total = d->host->sectors;
    uint64_t count =
        c->size == CONFIG_SIZE_REST ? (first < total ? total - first : 0) : c->size / 512;
    if (first >= total || count > total - first || count == 0) {
        fmt_snprintf(err, errlen,
                     "%s: region at byte %#llx, %#llx bytes, ends beyond host disk %d (%llu "
                     "bytes)",
                     c->name, (unsigned long long)c->offset, (unsigned long long)(count * 512),
                     c->host_disk, (unsigned long long)(total * 512));
        return -1;
    }
    d->first_sector = first;
    d->be.sectors = count;
    d->be.read_only = c->read_only || d->host->read_only;
    d->be.read = host_read;
    d->be.write = host_write;
    d->be.flush = host_flush;
    return 0;
}

static void con_output(void *ctx, const char *buf, size_t n)
{
    struct vm *vm = ctx;

    vconsole_output(&vm->con, buf, n);
}

static void vdev_free(struct vm_vdev *d)
{
    if (d->cfg->kind == DEV_NET)
        virtio_net_detach(&d->u.net);
    pmem_free(d, (sizeof(*d) + 4095) & ~(size_t)4095);
}

int vm_devices_create(struct vm *vm, char *err, size_t errlen)
{
    const struct vm_config *cfg = vm->cfg;
    struct guest_mem mem = {mem_read, mem_write, vm};

    vm->nvdevs = 0;
    vm->vcon = NULL;
    for (unsigned i = 0; i < cfg->ndevs; i++) {
        const struct dev_config *c = &cfg->devs[i];

        if (c->kind == DEV_RNG && !hostdev_has_entropy()) {
            /* Offering a device that never answers would hang the guest's
             * reads: no entropy, no device (said once at boot). */
            continue;
        }
        struct vm_vdev *d = pmem_zalloc((sizeof(*d) + 4095) & ~(size_t)4095, 4096);
        if (!d) {
            fmt_snprintf(err, errlen, "%s: no memory for the device", c->name);
            goto fail;
        }
        unsigned slot = vm->nvdevs;
        d->cfg = c;
        fmt_snprintf(d->label, sizeof(d->label), "%s.%s", vm->name, c->name);
        struct irq_line irq = {vplic_set_level, &vm->plic, VM_VIRTIO_IRQ0 + slot};
        const char *kind = "virtio";
        struct virtio_mmio *t = NULL;
        switch (c->kind) {
        case DEV_RNG:
            virtio_rng_init(&d->u.rng, &mem, &irq, hostdev_entropy, NULL);
            t = &d->u.rng.t;
            kind = "virtio-rng";
            break;
        case DEV_CONSOLE:
            virtio_console_init(&d->u.con, &mem, &irq, con_output, vm);
            vm->vcon = &d->u.con;
            t = &d->u.con.t;
            kind = "virtio-console";
            break;
        case DEV_DISK:
            if (disk_backend(d, err, errlen) < 0) {
                pmem_free(d, (sizeof(*d) + 4095) & ~(size_t)4095);
                goto fail;
            }
            virtio_blk_init(&d->u.blk, &mem, &irq, &d->be, d->label);
            t = &d->u.blk.t;
            kind = "virtio-blk";
            break;
        case DEV_NET:
            virtio_net_init(&d->u.net, &mem, &irq, c->mac, hostdev_switch());
            d->u.net.port.name = d->label;
            t = &d->u.net.t;
            kind = "virtio-net";
            break;
        default:
            pmem_free(d, (sizeof(*d) + 4095) & ~(size_t)4095);
            fmt_snprintf(err, errlen, "%s: unknown device kind", c->name);
            goto fail;
        }
        d->mdev = (struct mmio_dev){&virtio_mmio_ops, kind,
                                    VM_VIRTIO_BASE + (uint64_t)slot * VM_VIRTIO_STRIDE,
                                    VIRTIO_MMIO_SIZE, t};
        vm->vdevs[vm->nvdevs++] = d;
        if (vm_add_device(vm, &d->mdev) < 0) {
            fmt_snprintf(err, errlen, "%s: overlaps guest RAM or another device", c->name);
            goto fail;
        }
    }
    return 0;
fail:
    vm_devices_destroy(vm);
    return -1;
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
