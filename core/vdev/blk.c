/* SPDX-License-Identifier: Apache-2.0 */
/* The "disk" device kind: virtio-blk on a bundle image or a region of a
 * host disk (docs/devices.md).
 *
 *   disk0 { image = "vm0/disk.img"; };
 *   disk1 { host-disk = <0>; offset = <...>; size = <...>; read-only; };
 */
#include "core/vdev/blk.h"

#include "arch/arch.h"
#include "core/config_int.h"
#include "core/hostdev.h"
#include "core/vdev/vdev.h"
#include "devices/virtio_blk.h"
#include "lib/err.h"
#include "lib/spinlock.h"
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
    struct blk_vdev *next; /* the host disk's users (disk_users) */
    struct virtio_blk blk;
};

/* The devices on each host disk, so that a completion that frees room on
 * it can resume those that waited for room.  Lock order: disk_lock, then
 * a transport lock, then the host disk's. */
static struct blk_vdev *disk_users[HOSTDEV_MAX_DISKS];
static struct spinlock disk_lock;

/* A bundle image: the data moves between the image and the guest's pages
 * (the checked translation's segments) in one memcpy each, at once. */
static int image_submit(void *ctx, const struct blk_io *io)
{
    struct blk_vdev *b = ctx;
    uint8_t *p = b->image + io->sector * SECTOR;

    for (unsigned i = 0; i < io->nsegs; i++) {
        void *seg = (void *)(uintptr_t)io->segs[i].addr;
        if (io->type == VIRTIO_BLK_T_IN)
            memcpy(seg, p, io->segs[i].len);
        else if (io->type == VIRTIO_BLK_T_OUT)
            memcpy(p, seg, io->segs[i].len);
        p += io->segs[i].len;
    }
    return 0;
}

/* A host disk: the guest's pages go into the host device's descriptors;
 * the request completes from its interrupt (blk_host_done). */
static int host_reserve(void *ctx, unsigned n)
{
    struct blk_vdev *b = ctx;
    return hvblk_reserve(b->host, n);
}

static void host_unreserve(void *ctx, unsigned n)
{
    struct blk_vdev *b = ctx;
    hvblk_unreserve(b->host, n);
}

static int host_submit(void *ctx, const struct blk_io *io)
{
    struct blk_vdev *b = ctx;
    uint32_t type = io->type == VIRTIO_BLK_T_IN    ? HVBLK_T_IN
                    : io->type == VIRTIO_BLK_T_OUT ? HVBLK_T_OUT
                                                   : HVBLK_T_FLUSH;
    int r = hvblk_submit(b->host, type, b->first_sector + io->sector, io->segs, io->nsegs, io->req);
    return r == 0 ? BLK_PENDING : r == HVBLK_DONE ? 0 : r;
}

static void host_kick(void *ctx)
{
    struct blk_vdev *b = ctx;
    hvblk_kick(b->host);
}

/* Until nothing of this device is with the host disk: bounded, as a
 * request the disk does not answer in time fails it (hvblk_poll). */
static void host_drain(struct blk_vdev *b)
{
    while (virtio_blk_in_flight(&b->blk)) {
        if (b->host)
            hvblk_poll(b->host);
        arch_cpu_relax();
    }
}

/* A host disk without an interrupt: the notifying vCPU waits. */
static void host_poll(void *ctx)
{
    host_drain(ctx);
}

static void blk_host_done(void *tag, int result)
{
    struct virtio_blk_req *q = tag;
    struct blk_vdev *b =
        (struct blk_vdev *)(void *)((uint8_t *)q->dev - offsetof(struct blk_vdev, blk));
    unsigned disk = (unsigned)b->s.host_disk;

    virtio_blk_complete(q, result);
    /* Room on the disk: devices that waited for it take their requests. */
    spin_lock(&disk_lock);
    for (struct blk_vdev *u = disk_users[disk]; u; u = u->next)
        if (__atomic_load_n(&u->blk.stalled, __ATOMIC_RELAXED))
            virtio_blk_resume(&u->blk);
    spin_unlock(&disk_lock);
}

/* A snapshot carries a writable disk's data (its guest's page cache in the
 * snapshot's RAM describes that data, not what the disk holds later).
 * The VM is held: nothing of the guest's is in flight. */
static int bulk_read(void *ctx, uint64_t off, void *buf, size_t n)
{
    struct blk_vdev *b = ctx;

    if (b->host)
        return hvblk_read(b->host, b->first_sector + off / SECTOR, buf, n);
    memcpy(buf, b->image + off, n);
    return 0;
}

static int bulk_write(void *ctx, uint64_t off, const void *buf, size_t n)
{
    struct blk_vdev *b = ctx;

    if (b->host)
        return hvblk_write(b->host, b->first_sector + off / SECTOR, buf, n);
    memcpy(b->image + off, buf, n);
    return 0;
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
        b->be.submit = image_submit;
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
    b->be.max_segs = b->host->max_segs;
    b->be.reserve = host_reserve;
    b->be.unreserve = host_unreserve;
    b->be.submit = host_submit;
    b->be.kick = host_kick;
    if (!hostdev_disk_irq((unsigned)c->host_disk))
        b->be.poll = host_poll;
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
    if (b->host) {
        hvblk_set_done(b->host, blk_host_done);
        spin_lock(&disk_lock);
        b->next = disk_users[b->s.host_disk];
        disk_users[b->s.host_disk] = b;
        spin_unlock(&disk_lock);
    }
    return 0;
}

/* Nothing the host disk was given may outlive the VM's RAM: take no more
 * requests and wait for those in flight (bounded by the disk's timeout). */
static void blk_destroy(struct vm_vdev *d)
{
    struct blk_vdev *b = d->state;

    virtio_blk_hold(&b->blk, true);
    host_drain(b);
    if (!b->host)
        return;
    spin_lock(&disk_lock);
    for (struct blk_vdev **p = &disk_users[b->s.host_disk]; *p; p = &(*p)->next)
        if (*p == b) {
            *p = b->next;
            break;
        }
    spin_unlock(&disk_lock);
}

/* Snapshots and migration: the VM's memory and this device stay still
 * while held, so the requests in flight finish first. */
static void blk_hold(struct vm_vdev *d, bool on)
{
    struct blk_vdev *b = d->state;

    virtio_blk_hold(&b->blk, on);
    if (on)
        host_drain(b);
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
    .destroy = blk_destroy,
    .hold = blk_hold,
    .save = blk_save,
    .load = blk_load,
    .bulk = blk_bulk,
};
