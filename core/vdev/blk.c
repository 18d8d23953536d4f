/* SPDX-License-Identifier: Apache-2.0 */
/* The "disk" device kind: virtio-blk on a bundle image or a region of a
 * host disk (docs/devices.md).
 *
 *   disk0 { image = "vm0/disk.img"; };
 *   disk1 { host-disk = <0>; offset = <...>; size = <...>; read-only; };
 */
#include "core/vdev/blk.h"

#include "core/config_int.h"
#include "core/hostdev.h"
#include "core/vdev/vdev.h"
#include "devices/virtio_blk.h"
#include "lib/err.h"
#include "lib/string.h"

#define SECTOR 512u

extern const struct vdev_kind vdev_kind_blk;

enum blk_prop { BP_IMAGE, BP_HOST_DISK, BP_OFFSET, BP_SIZE, BP_READ_ONLY, BP_COUNT };

static const char *const blk_props[BP_COUNT] = {
    [BP_IMAGE] = "image", [BP_HOST_DISK] = "host-disk", [BP_OFFSET] = "offset",
    [BP_SIZE] = "size",   [BP_READ_ONLY] = "read-only",
};

void vdev_blk_settings(const struct dev_config *d, struct vdev_blk_settings *s)
{
    vdev_settings_get(d, s, sizeof(*s));
}

/* A 1- or 2-cell byte count that must be a whole number of sectors. */
static int blk_bytes(struct loader *ld, const char *path, const struct props *p,
                     enum blk_prop which, uint64_t *out)
{
    const char *prop = blk_props[which];

    if (p->len[which] == 4)
        *out = fdt_be32(p->val[which]);
    else if (p->len[which] == 8)
        *out = fdt_be64(p->val[which]);
    else
        return loader_fail(ld, path, prop, "must be 1 or 2 cells (got %d bytes)", p->len[which]);
    if (*out % SECTOR)
        return loader_fail(ld, path, prop, "must be a multiple of 512 bytes (got %#llx)",
                           (unsigned long long)*out);
    return 0;
}

static int blk_parse_image(struct loader *ld, const char *path, const struct props *p,
                           struct vdev_blk_settings *s)
{
    const char *prop = blk_props[BP_IMAGE];

    if (p->present[BP_OFFSET] || p->present[BP_SIZE])
        return loader_fail(ld, path, p->present[BP_OFFSET] ? "offset" : "size",
                           "only for host-disk (an image is used whole)");
    if (!prop_is_string(p->val[BP_IMAGE], p->len[BP_IMAGE]) || p->val[BP_IMAGE][0] == '\0')
        return loader_fail(ld, path, prop, "must be one string (a file name in the bundle)");
    if (vm_file(ld, path, prop, (const char *)p->val[BP_IMAGE], &s->image, &s->image_size) < 0)
        return ERR_INVAL;
    if (s->image_size % SECTOR)
        return loader_fail(ld, path, prop, "the image must be a multiple of 512 bytes (it has %zu)",
                           s->image_size);
    return 0;
}

static int blk_parse_host_disk(struct loader *ld, const char *path, const struct props *p,
                               struct vdev_blk_settings *s)
{
    if (p->len[BP_HOST_DISK] != 4)
        return loader_fail(ld, path, "host-disk", "must be one cell (got %d bytes)",
                           p->len[BP_HOST_DISK]);
    uint32_t idx = fdt_be32(p->val[BP_HOST_DISK]);
    if (idx >= 8)
        return loader_fail(ld, path, "host-disk",
                           "must be 0..7, the index of one of the host's virtio-blk disks (got %u)",
                           idx);
    s->host_disk = (int)idx;
    if (p->present[BP_OFFSET] && blk_bytes(ld, path, p, BP_OFFSET, &s->offset) < 0)
        return ERR_INVAL;
    if (p->present[BP_SIZE]) {
        if (blk_bytes(ld, path, p, BP_SIZE, &s->size) < 0)
            return ERR_INVAL;
        if (s->size == 0)
            return loader_fail(ld, path, "size",
                               "must not be 0 (leave it out for the rest of the disk)");
        if (s->offset + s->size < s->offset)
            return loader_fail(ld, path, "size", "offset + size overflows");
    }
    return 0;
}

static int blk_parse(struct loader *ld, const char *path, const char *vm_name,
                     const struct props *p, struct dev_config *d)
{
    struct vdev_blk_settings s = {.host_disk = CONFIG_HOST_DISK_NONE};

    (void)vm_name;
    if (p->present[BP_READ_ONLY]) {
        if (p->len[BP_READ_ONLY] != 0)
            return loader_fail(ld, path, "read-only", "takes no value (write `read-only;`)");
        s.read_only = true;
    }
    if (p->present[BP_IMAGE] == p->present[BP_HOST_DISK])
        return loader_fail(ld, path, NULL,
                           "a disk needs exactly one of image (a file in the bundle) or "
                           "host-disk (a disk of the host)");
    if (p->present[BP_IMAGE] ? blk_parse_image(ld, path, p, &s) < 0
                             : blk_parse_host_disk(ld, path, p, &s) < 0)
        return ERR_INVAL;
    vdev_settings_put(d, &s, sizeof(s));
    return 0;
}

static uint64_t region_end(const struct host_region *r)
{
    return r->size == CONFIG_SIZE_REST ? UINT64_MAX : r->offset + r->size;
}

bool host_region_overlaps(const struct host_region *a, const struct host_region *b)
{
    return a->disk != CONFIG_HOST_DISK_NONE && a->disk == b->disk && a->offset < region_end(b) &&
           b->offset < region_end(a);
}

static struct host_region blk_region(const struct vdev_blk_settings *s)
{
    return (struct host_region){s->host_disk, s->offset, s->size};
}

bool vdev_blk_host_region(const struct dev_config *d, struct host_region *r)
{
    struct vdev_blk_settings s;

    if (d->kind != &vdev_kind_blk)
        return false;
    vdev_blk_settings(d, &s);
    *r = blk_region(&s);
    return s.host_disk != CONFIG_HOST_DISK_NONE;
}

/* Two disks must not see each other's writes. */
static int blk_conflict(struct loader *ld, const char *path, const char *a_vm,
                        const struct dev_config *a, const struct dev_config *b)
{
    struct vdev_blk_settings sa, sb;
    bool clash;

    vdev_blk_settings(a, &sa);
    vdev_blk_settings(b, &sb);
    if (sa.host_disk == CONFIG_HOST_DISK_NONE || sb.host_disk == CONFIG_HOST_DISK_NONE) {
        clash = sa.image && sa.image == sb.image;
    } else {
        struct host_region ra = blk_region(&sa), rb = blk_region(&sb);
        clash = host_region_overlaps(&ra, &rb);
    }
    if (clash)
        return loader_fail(ld, path, NULL, "overlaps /vms/%s/%s (%s)", a_vm, a->name,
                           sa.image ? "the same image file" : "the same region of a host disk");
    return 0;
}

/* The model and its backend. */
struct blk_vdev {
    struct vdev_blk_settings s;
    uint8_t *image;     /* bundle image, or NULL */
    struct hvblk *host; /* host disk, or NULL */
    uint64_t first_sector;
    struct blk_backend be;
    struct virtio_blk blk;
};

/* Disk backends.  The model has checked the range against be.sectors. */
static int image_read(void *ctx, uint64_t sector, void *buf, size_t n)
{
    struct blk_vdev *b = ctx;
    memcpy(buf, b->image + sector * 512, n);
    return 0;
}

static int image_write(void *ctx, uint64_t sector, const void *buf, size_t n)
{
    struct blk_vdev *b = ctx;
    memcpy(b->image + sector * 512, buf, n);
    return 0;
}

static int host_read(void *ctx, uint64_t sector, void *buf, size_t n)
{
    struct blk_vdev *b = ctx;
    return hvblk_read(b->host, b->first_sector + sector, buf, n);
}

static int host_write(void *ctx, uint64_t sector, const void *buf, size_t n)
{
    struct blk_vdev *b = ctx;
    return hvblk_write(b->host, b->first_sector + sector, buf, n);
}

static int host_flush(void *ctx)
{
    struct blk_vdev *b = ctx;
    return hvblk_flush(b->host);
}

/* A snapshot carries a writable disk's data (its guest's page cache in the
 * snapshot's RAM describes that data, not what the disk holds later). */
static int bulk_read(void *ctx, uint64_t off, void *buf, size_t n)
{
    struct blk_vdev *b = ctx;
    return b->be.read(b, off / 512, buf, n);
}

static int bulk_write(void *ctx, uint64_t off, const void *buf, size_t n)
{
    struct blk_vdev *b = ctx;
    return b->be.write(b, off / 512, buf, n);
}

static bool blk_bulk(const struct vm_vdev *d, struct vdev_bulk *out)
{
    struct blk_vdev *b = d->state;

    if (b->be.read_only)
        return false;
    *out = (struct vdev_bulk){b->be.sectors * 512, bulk_read, bulk_write, b};
    return true;
}

static int blk_backend(struct blk_vdev *b, const char *name, char *err, size_t errlen)
{
    const struct vdev_blk_settings *c = &b->s;

    b->be.ctx = b;
    b->be.read_only = c->read_only;
    if (c->host_disk == CONFIG_HOST_DISK_NONE) {
        /* The bundle sits in RAM that is Vireo's: writes land in place, so
         * they outlive a VM reset (not a Vireo restart). */
        b->image = (uint8_t *)(uintptr_t)c->image;
        b->be.sectors = c->image_size / 512;
        b->be.read = image_read;
        b->be.write = image_write;
        return 0;
    }
    b->host = hostdev_disk((unsigned)c->host_disk);
    if (!b->host) {
        fmt_snprintf(err, errlen,
                     "%s: host disk %d is not there (QEMU: -drive file=...,if=none,id=d%d "
                     "-device virtio-blk-device,drive=d%d)",
                     name, c->host_disk, c->host_disk, c->host_disk);
        return ERR_NOENT;
    }
    uint64_t first = c->offset / 512, total = b->host->sectors;
    uint64_t count =
        c->size == CONFIG_SIZE_REST ? (first < total ? total - first : 0) : c->size / 512;
    if (first >= total || count > total - first || count == 0) {
        fmt_snprintf(err, errlen,
                     "%s: region at byte %#llx, %#llx bytes, ends beyond host disk %d (%llu "
                     "bytes)",
                     name, (unsigned long long)c->offset, (unsigned long long)(count * 512),
                     c->host_disk, (unsigned long long)(total * 512));
        return ERR_RANGE;
    }
    b->first_sector = first;
    b->be.sectors = count;
    b->be.read_only = c->read_only || b->host->read_only;
    b->be.read = host_read;
    b->be.write = host_write;
    b->be.flush = host_flush;
    return 0;
}

static int blk_create(struct vm_vdev *d, char *err, size_t errlen)
{
    struct blk_vdev *b = d->state;

    vdev_blk_settings(d->cfg, &b->s);
    int r = blk_backend(b, d->cfg->name, err, errlen);
    if (r < 0)
        return r;
    virtio_blk_init(&b->blk, &d->mem, &d->irq, &b->be, d->label);
    vdev_virtio_mmio(d, &b->blk.t);
    return 0;
}

/* The backend comes from the configuration; only the model is saved. */
static long blk_save(const struct vm_vdev *d, void *buf, size_t size)
{
    const struct blk_vdev *b = d->state;

    return virtio_blk_save(&b->blk, buf, size);
}

static int blk_load(struct vm_vdev *d, const void *buf, size_t size)
{
    struct blk_vdev *b = d->state;

    return virtio_blk_load(&b->blk, buf, size);
}

const struct vdev_kind vdev_kind_blk = {
    .name = "disk",
    .numbered = true,
    .model = "virtio-blk",
    .props = blk_props,
    .nprops = BP_COUNT,
    .state_size = sizeof(struct blk_vdev),
    .parse = blk_parse,
    .conflict = blk_conflict,
    .create = blk_create,
    .save = blk_save,
    .load = blk_load,
    .bulk = blk_bulk,
};
