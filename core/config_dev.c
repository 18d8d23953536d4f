/* SPDX-License-Identifier: Apache-2.0 */
/* A VM's devices in the configuration: its child nodes (see docs/config.md).
 *
 *   rng { };                                    virtio-rng
 *   console { };                                virtio-console
 *   disk0 { image = "vm0/disk.img"; };          virtio-blk on a bundle image
 *   disk1 { host-disk = <0>; offset = <...>; size = <...>; read-only; };
 *   net0 { mac = [02 00 00 00 00 01]; };        virtio-net on the virtual switch
 *
 * As for the rest of the configuration, anything unknown is refused. */
#include "core/config_int.h"
#include "lib/string.h"

#define SECTOR 512u

enum dev_prop {
    DP_IMAGE,
    DP_HOST_DISK,
    DP_OFFSET,
    DP_SIZE,
    DP_READ_ONLY,
    DP_MAC,
    DP_COUNT,
};

static const char *const dev_prop_names[DP_COUNT] = {
    "image", "host-disk", "offset", "size", "read-only", "mac",
};

struct dev_kind_desc {
    const char *stem;
    enum dev_kind kind;
    bool numbered;       /* "disk", "disk0".."disk99" */
    unsigned props;      /* bit per enum dev_prop */
    const char *allowed; /* for messages */
};

static const struct dev_kind_desc kinds[] = {
    {"rng", DEV_RNG, false, 0, "none"},
    {"console", DEV_CONSOLE, false, 0, "none"},
    {"disk", DEV_DISK, true,
     1u << DP_IMAGE | 1u << DP_HOST_DISK | 1u << DP_OFFSET | 1u << DP_SIZE | 1u << DP_READ_ONLY,
     "image, host-disk, offset, size or read-only"},
    {"net", DEV_NET, true, 1u << DP_MAC, "mac"},
};

#define KIND_LIST "rng, console, disk or diskN, net or netN"

static const struct dev_kind_desc *kind_of(const char *name)
{
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        size_t n = strlen(kinds[k].stem);

        if (strncmp(name, kinds[k].stem, n) != 0)
            continue;
        const char *rest = name + n;
        if (*rest == '\0')
            return &kinds[k];
        if (!kinds[k].numbered)
            continue;
        size_t digits = 0;
        while (rest[digits] >= '0' && rest[digits] <= '9')
            digits++;
        if (digits >= 1 && digits <= 2 && rest[digits] == '\0')
            return &kinds[k];
    }
    return NULL;
}

static int dev_props_collect(struct loader *ld, int node, const char *path,
                             const struct dev_kind_desc *kd, struct props *p)
{
    char shown[SHOW_SIZE], expected[80];

    fmt_snprintf(expected, sizeof(expected), "(a %s node takes: %s)", kd->stem, kd->allowed);
    if (props_collect(ld, node, path, dev_prop_names, DP_COUNT, kd->props, expected, p) < 0)
        return -1;
    int child = fdt_first_child(&ld->fdt, node);
    if (child >= 0)
        return loader_fail(ld, path, NULL, "unknown child node \"%s\" (devices have none)",
                           show(shown, fdt_node_name(&ld->fdt, child)));
    return 0;
}

/* A 1- or 2-cell byte count that must be a whole number of sectors. */
static int dev_bytes(struct loader *ld, const char *path, const struct props *p,
                     enum dev_prop which, uint64_t *out)
{
    const char *prop = dev_prop_names[which];

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

static int dev_disk(struct loader *ld, const char *path, const struct props *p,
                    struct dev_config *d)
{
    d->host_disk = CONFIG_HOST_DISK_NONE;
    if (p->present[DP_READ_ONLY]) {
        if (p->len[DP_READ_ONLY] != 0)
            return loader_fail(ld, path, "read-only", "takes no value (write `read-only;`)");
        d->read_only = true;
    }
    if (p->present[DP_IMAGE] == p->present[DP_HOST_DISK])
        return loader_fail(ld, path, NULL,
                           "a disk needs exactly one of image (a file in the bundle) or "
                           "host-disk (a disk of the host)");
    if (p->present[DP_IMAGE]) {
        const char *prop = dev_prop_names[DP_IMAGE];

        if (p->present[DP_OFFSET] || p->present[DP_SIZE])
            return loader_fail(ld, path, p->present[DP_OFFSET] ? "offset" : "size",
                               "only for host-disk (an image is used whole)");
        if (!prop_is_string(p->val[DP_IMAGE], p->len[DP_IMAGE]) || p->val[DP_IMAGE][0] == '\0')
            return loader_fail(ld, path, prop, "must be one string (a file name in the bundle)");
        if (vm_file(ld, path, prop, (const char *)p->val[DP_IMAGE], &d->image, &d->image_size) < 0)
            return -1;
        if (d->image_size % SECTOR)
            return loader_fail(ld, path, prop,
                               "the image must be a multiple of 512 bytes (it has %zu)",
                               d->image_size);
        return 0;
    }
    if (p->len[DP_HOST_DISK] != 4)
        return loader_fail(ld, path, "host-disk", "must be one cell (got %d bytes)",
                           p->len[DP_HOST_DISK]);
    uint32_t idx = fdt_be32(p->val[DP_HOST_DISK]);
    if (idx >= 8)
        return loader_fail(ld, path, "host-disk",
                           "must be 0..7, the index of one of the host's virtio-blk disks (got %u)",
                           idx);
    d->host_disk = (int)idx;
    if (p->present[DP_OFFSET] && dev_bytes(ld, path, p, DP_OFFSET, &d->offset) < 0)
        return -1;
    if (p->present[DP_SIZE]) {
        if (dev_bytes(ld, path, p, DP_SIZE, &d->size) < 0)
            return -1;
        if (d->size == 0)
            return loader_fail(ld, path, "size",
                               "must not be 0 (leave it out for the rest of the disk)");
        if (d->offset + d->size < d->offset)
            return loader_fail(ld, path, "size", "offset + size overflows");
    }
    return 0;
}

/* FNV-1a: a stable, well-spread hash for generated MAC addresses. */
static uint32_t fnv1a(uint32_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static int dev_net(struct loader *ld, const char *path, const char *vm_name, const struct props *p,
                   struct dev_config *d)
{
    if (p->present[DP_MAC]) {
        const uint8_t *m = p->val[DP_MAC];
        static const uint8_t zero[6];

        if (p->len[DP_MAC] != 6)
            return loader_fail(ld, path, "mac",
                               "must be 6 bytes, e.g. [02 00 00 00 00 01] (got %d)",
                               p->len[DP_MAC]);
        if (m[0] & 1)
            return loader_fail(ld, path, "mac",
                               "must be a unicast address (the first byte's low bit clear)");
        if (memcmp(m, zero, 6) == 0)
            return loader_fail(ld, path, "mac", "must not be all zeros");
        memcpy(d->mac, m, 6);
        return 0;
    }
    /* Locally administered (02:...), "V" for Vireo, then a hash of
     * "vm/net": the same VM and node get the same address on every boot. */
    uint32_t h = fnv1a(fnv1a(fnv1a(2166136261u, vm_name), "/"), d->name);
    d->mac[0] = 0x02;
    d->mac[1] = 0x56;
    d->mac[2] = (uint8_t)(h >> 24);
    d->mac[3] = (uint8_t)(h >> 16);
    d->mac[4] = (uint8_t)(h >> 8);
    d->mac[5] = (uint8_t)h;
    return 0;
}

int config_devices(struct loader *ld, int node, const char *vm_path, struct vm_config *vm)
{
    char shown[SHOW_SIZE];
    int child;

    vm->ndevs = 0;
    for (child = fdt_first_child(&ld->fdt, node); child >= 0;
         child = fdt_next_sibling(&ld->fdt, child)) {
        const char *name = fdt_node_name(&ld->fdt, child);
        char path[PATH_SIZE];

        if (!name)
            return loader_fail(ld, vm_path, NULL, "malformed device node in vireo.dtb");
        fmt_snprintf(path, sizeof(path), "%s/%s", vm_path, show(shown, name));
        const struct dev_kind_desc *kd = kind_of(name);
        if (!kd)
            return loader_fail(ld, path, NULL, "unknown device node (expected " KIND_LIST ")");
        if (vm->ndevs == CONFIG_MAX_DEVS)
            return loader_fail(ld, path, NULL, "too many devices (at most %d per VM)",
                               CONFIG_MAX_DEVS);
        for (unsigned i = 0; i < vm->ndevs; i++) {
            if (strcmp(vm->devs[i].name, name) == 0)
                return loader_fail(ld, path, NULL, "device node given more than once");
        }
        struct props p;
        if (dev_props_collect(ld, child, path, kd, &p) < 0)
            return -1;
        struct dev_config *d = &vm->devs[vm->ndevs];
        memset(d, 0, sizeof(*d));
        d->kind = kd->kind;
        d->host_disk = CONFIG_HOST_DISK_NONE;
        memcpy(d->name, name, strlen(name) + 1); /* at most "console" or stem + 2 digits */
        if (kd->kind == DEV_DISK && dev_disk(ld, path, &p, d) < 0)
            return -1;
        if (kd->kind == DEV_NET && dev_net(ld, path, vm->name, &p, d) < 0)
            return -1;
        vm->ndevs++;
    }
    if (child != ERR_NOENT)
        return loader_fail(ld, vm_path, NULL, "malformed vireo.dtb (%s)", err_str(child));
    return 0;
}

static uint64_t region_end(const struct dev_config *d)
{
    return d->size == CONFIG_SIZE_REST ? UINT64_MAX : d->offset + d->size;
}

/* Whether two disks would see each other's writes. */
static bool disks_clash(const struct dev_config *a, const struct dev_config *b)
{
    if (a->host_disk == CONFIG_HOST_DISK_NONE || b->host_disk == CONFIG_HOST_DISK_NONE)
        return a->image && a->image == b->image;
    return a->host_disk == b->host_disk && a->offset < region_end(b) && b->offset < region_end(a);
}

int config_devices_check(struct loader *ld, const struct config *cfg)
{
    for (int i = 0; i < cfg->nvms; i++) {
        for (unsigned k = 0; k < cfg->vms[i].ndevs; k++) {
            const struct dev_config *a = &cfg->vms[i].devs[k];

            /* Against every device after this one, in this VM and the next ones. */
            for (int j = i; j < cfg->nvms; j++) {
                for (unsigned l = (j == i ? k + 1 : 0); l < cfg->vms[j].ndevs; l++) {
                    const struct dev_config *b = &cfg->vms[j].devs[l];
                    char path[PATH_SIZE];

                    if (a->kind != b->kind)
                        continue;
                    fmt_snprintf(path, sizeof(path), "/vms/%s/%s", cfg->vms[j].name, b->name);
                    if (a->kind == DEV_DISK && disks_clash(a, b))
                        return loader_fail(
                            ld, path, NULL, "overlaps /vms/%s/%s (%s)", cfg->vms[i].name, a->name,
                            a->image ? "the same image file" : "the same region of a host disk");
                    if (a->kind == DEV_NET && memcmp(a->mac, b->mac, 6) == 0)
                        return loader_fail(ld, path, "mac", "same address as /vms/%s/%s",
                                           cfg->vms[i].name, a->name);
                }
            }
        }
    }
    return 0;
}
