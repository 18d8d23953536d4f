/* SPDX-License-Identifier: Apache-2.0 */
/* Boot bundle and VM configuration parsing; see config.h and docs/config.md.
 *
 * Everything in the bundle is untrusted. The cpio layer and fdt_open() check the
 * containers; this file checks the meaning, strictly: an unknown or repeated
 * property, an unknown node or a value of the wrong size is an error, because a
 * typo that silently falls back to a default is worse than a refusal to boot. */
#include "core/config.h"
#include "core/config_int.h"
#include "core/vdev/blk.h"
#include "lib/cpio.h"
#include "lib/fdt.h"
#include "lib/printf.h"
#include "lib/string.h"

#define PIN_FLOAT_CELL 0xffffffffu

/* A VM node's properties, in the order they are checked (so that which error is
 * reported does not depend on the order they were written in). */
enum vm_prop {
    VM_PROP_MEMORY,
    VM_PROP_VCPUS,
    VM_PROP_PIN,
    VM_PROP_KERNEL,
    VM_PROP_INITRD,
    VM_PROP_BOOTARGS,
    VM_PROP_AUTOSTART,
    VM_PROP_CONTROL,
    VM_PROP_ISA_WITHHOLD,
    VM_PROP_SNAP_DISK,
    VM_PROP_SNAP_OFFSET,
    VM_PROP_SNAP_SIZE,
    VM_PROP_COUNT,
};

static const char *const vm_prop_names[VM_PROP_COUNT] = {
    "memory",    "vcpus",   "pin",          "kernel",        "initrd",          "bootargs",
    "autostart", "control", "isa-withhold", "snapshot-disk", "snapshot-offset", "snapshot-size",
};

#define VM_PROP_LIST                                                                               \
    "memory, vcpus, pin, kernel, initrd, bootargs, autostart, control, isa-withhold, "             \
    "snapshot-disk, snapshot-offset or snapshot-size"

static int bundle_check(struct loader *ld)
{
    struct cpio_iter it;
    int r;

    cpio_iter_init(&it, ld->bundle, ld->bundle_size);
    while ((r = cpio_next(&it, NULL, NULL, NULL, NULL)) > 0)
        ;
    if (r < 0)
        return loader_fail(ld, "bundle", NULL,
                           "not a valid cpio newc archive: %s (entry at offset %#zx)", it.why,
                           it.off);
    return 0;
}

static int vm_name_check(struct loader *ld, const char *name, char *path)
{
    char shown[SHOW_SIZE];
    size_t len = strnlen(name, CONFIG_NAME_MAX + 1);
    bool ok = len >= 1 && len <= CONFIG_NAME_MAX;

    fmt_snprintf(path, PATH_SIZE, "/vms/%s", show(shown, name));
    for (size_t i = 0; ok && i < len; i++) {
        char c = name[i];

        ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    }
    if (!ok)
        return loader_fail(ld, path, NULL,
                           "bad VM name: must be 1..%d characters from a-z, 0-9, '_' and '-'",
                           CONFIG_NAME_MAX);
    return 0;
}

static int vm_memory(struct loader *ld, const char *path, const struct props *p,
                     struct vm_config *vm)
{
    const char *prop = vm_prop_names[VM_PROP_MEMORY];
    const uint8_t *val = p->val[VM_PROP_MEMORY];
    int len = p->len[VM_PROP_MEMORY];
    uint64_t mem;

    if (!p->present[VM_PROP_MEMORY])
        return loader_fail(ld, path, prop,
                           "missing (required: the VM's RAM size in bytes, e.g. <0x0 0x8000000>)");
    if (len == 4)
        mem = fdt_be32(val);
    else if (len == 8)
        mem = fdt_be64(val);
    else
        return loader_fail(ld, path, prop, "must be 1 or 2 cells (got %d bytes)", len);
    if (mem % CONFIG_MEM_ALIGN != 0)
        return loader_fail(ld, path, prop, "must be a multiple of 2 MiB (got %#llx)",
                           (unsigned long long)mem);
    if (mem == 0)
        return loader_fail(ld, path, prop, "must be at least 2 MiB (got 0)");
    if (mem > CONFIG_MEM_MAX)
        return loader_fail(ld, path, prop, "must be at most 64 GiB (got %#llx)",
                           (unsigned long long)mem);
    vm->mem_size = mem;
    return 0;
}

/* A one-cell property; *out is untouched when the property is absent. */
static int vm_u32(struct loader *ld, const char *path, const struct props *p, enum vm_prop which,
                  uint32_t *out)
{
    if (!p->present[which])
        return 0;
    if (p->len[which] != 4)
        return loader_fail(ld, path, vm_prop_names[which], "must be one cell (got %d bytes)",
                           p->len[which]);
    *out = fdt_be32(p->val[which]);
    return 0;
}

static int vm_vcpus_and_pins(struct loader *ld, const char *path, const struct props *p,
                             struct vm_config *vm)
{
    const char *prop = vm_prop_names[VM_PROP_PIN];
    uint32_t vcpus = 1;
    int len = p->len[VM_PROP_PIN];
    unsigned i;

    if (vm_u32(ld, path, p, VM_PROP_VCPUS, &vcpus) < 0)
        return ERR_INVAL;
    if (vcpus < 1 || vcpus > CONFIG_MAX_VCPUS)
        return loader_fail(ld, path, vm_prop_names[VM_PROP_VCPUS], "must be 1..%d (got %u)",
                           CONFIG_MAX_VCPUS, vcpus);
    vm->vcpus = vcpus;
    for (i = 0; i < CONFIG_MAX_VCPUS; i++)
        vm->pin[i] = CONFIG_PIN_FLOAT;
    if (!p->present[VM_PROP_PIN])
        return 0;
    if (len % 4 != 0 || (unsigned)len / 4 != vcpus)
        return loader_fail(ld, path, prop,
                           "needs one cell per vCPU (vcpus is %u; got %d bytes): a host hart "
                           "index, or -1 to float",
                           vcpus, len);
    for (i = 0; i < vcpus; i++) {
        uint32_t hart = fdt_be32(p->val[VM_PROP_PIN] + 4 * i);

        if (hart == PIN_FLOAT_CELL)
            continue;
        if (hart >= ld->nharts)
            return loader_fail(ld, path, prop,
                               "vCPU %u: host hart %u does not exist (the machine has %u harts; "
                               "-1 floats)",
                               i, hart, ld->nharts);
        vm->pin[i] = (int)hart;
    }
    return 0;
}

/* kernel (required) or initrd (optional): a file name, resolved in the bundle. */
static int vm_image(struct loader *ld, const char *path, const struct props *p, enum vm_prop which,
                    const void **data, size_t *size)
{
    const char *prop = vm_prop_names[which];
    const uint8_t *val = p->val[which];

    if (!p->present[which]) {
        if (which == VM_PROP_KERNEL)
            return loader_fail(ld, path, prop,
                               "missing (required: the guest kernel's file name in the bundle)");
        return 0;
    }
    if (!prop_is_string(val, p->len[which]))
        return loader_fail(ld, path, prop, "must be one string (a file name in the bundle)");
    if (val[0] == '\0')
        return loader_fail(ld, path, prop, "must not be empty (a file name in the bundle)");
    return vm_file(ld, path, prop, (const char *)val, data, size);
}

/* A flag written as autostart is: <0> or <1>, absent meaning dflt. */
static int vm_flag(struct loader *ld, const char *path, const struct props *p, enum vm_prop which,
                   bool dflt, bool *out)
{
    uint32_t v = dflt ? 1 : 0;

    if (vm_u32(ld, path, p, which, &v) < 0)
        return ERR_INVAL;
    if (v > 1)
        return loader_fail(ld, path, vm_prop_names[which], "must be <0> or <1> (got %u)", v);
    *out = v == 1;
    return 0;
}

static int vm_bootargs_flags(struct loader *ld, const char *path, const struct props *p,
                             struct vm_config *vm)
{
    const char *prop = vm_prop_names[VM_PROP_BOOTARGS];

    vm->bootargs = "";
    if (p->present[VM_PROP_BOOTARGS]) {
        if (!prop_is_string(p->val[VM_PROP_BOOTARGS], p->len[VM_PROP_BOOTARGS]))
            return loader_fail(ld, path, prop, "must be one string (the guest's command line)");
        if (p->len[VM_PROP_BOOTARGS] > CONFIG_BOOTARGS_MAX)
            return loader_fail(ld, path, prop, "must be at most %d characters (got %d)",
                               CONFIG_BOOTARGS_MAX - 1, p->len[VM_PROP_BOOTARGS] - 1);
        vm->bootargs = (const char *)p->val[VM_PROP_BOOTARGS];
    }
    if (vm_flag(ld, path, p, VM_PROP_AUTOSTART, true, &vm->autostart) < 0)
        return ERR_INVAL;
    /* Only a VM marked so may later drive the control plane: a guest
     * gets no power over others by default. */
    return vm_flag(ld, path, p, VM_PROP_CONTROL, false, &vm->control);
}

/* isa-withhold: extension names (a stringlist), each one core/isa.c knows
 * and the guest can do without. */
static int vm_isa_withhold(struct loader *ld, const char *path, const struct props *p,
                           struct vm_config *vm)
{
    const char *prop = vm_prop_names[VM_PROP_ISA_WITHHOLD];
    const char *val = (const char *)p->val[VM_PROP_ISA_WITHHOLD];
    int len = p->len[VM_PROP_ISA_WITHHOLD];
    char shown[SHOW_SIZE];

    memset(&vm->isa_withhold, 0, sizeof(vm->isa_withhold));
    if (!p->present[VM_PROP_ISA_WITHHOLD])
        return 0;
    int n = fdt_stringlist_count(val, len);
    if (n <= 0)
        return loader_fail(ld, path, prop,
                           "must be one or more strings (extension names, e.g. \"zbc\", "
                           "\"zicboz\")");
    for (int i = 0; i < n; i++) {
        const char *name = fdt_stringlist_get(val, len, i);
        const char *why;
        int row = isa_lookup(name);

        if (!*name)
            return loader_fail(ld, path, prop, "entry %d is empty", i);
        if (row < 0)
            return loader_fail(ld, path, prop,
                               "unknown extension \"%s\" (docs/isa.md lists the ones Vireo "
                               "knows)",
                               show(shown, name));
        if (isa_withhold_check((unsigned)row, &why) < 0)
            return loader_fail(ld, path, prop, "\"%s\" cannot be withheld: %s", show(shown, name),
                               why);
        isa_add(&vm->isa_withhold, (unsigned)row);
    }
    return 0;
}

/* A 1- or 2-cell byte count of a snapshot region, a multiple of 4 KiB. */
static int vm_snap_bytes(struct loader *ld, const char *path, const struct props *p,
                         enum vm_prop which, uint64_t *out)
{
    const char *prop = vm_prop_names[which];

    if (p->len[which] == 4)
        *out = fdt_be32(p->val[which]);
    else if (p->len[which] == 8)
        *out = fdt_be64(p->val[which]);
    else
        return loader_fail(ld, path, prop, "must be 1 or 2 cells (got %d bytes)", p->len[which]);
    if (*out % CONFIG_SNAP_ALIGN)
        return loader_fail(ld, path, prop, "must be a multiple of 4096 bytes (got %#llx)",
                           (unsigned long long)*out);
    return 0;
}

/* snapshot-disk = <N>; snapshot-offset = <...>; snapshot-size = <...>: the
 * region of a host disk that holds the VM's disk snapshot (a 4 KiB header,
 * then the snapshot).  Whether it fits the disk is checked when it is used. */
static int vm_snapshot_region(struct loader *ld, const char *path, const struct props *p,
                              struct vm_config *vm)
{
    struct host_region *r = &vm->snapshot_region;

    vm->has_snapshot_region = false;
    *r = (struct host_region){CONFIG_HOST_DISK_NONE, 0, 0};
    if (!p->present[VM_PROP_SNAP_DISK]) {
        if (p->present[VM_PROP_SNAP_OFFSET] || p->present[VM_PROP_SNAP_SIZE])
            return loader_fail(ld, path,
                               vm_prop_names[p->present[VM_PROP_SNAP_OFFSET] ? VM_PROP_SNAP_OFFSET
                                                                             : VM_PROP_SNAP_SIZE],
                               "needs snapshot-disk (the host disk the region is on)");
        return 0;
    }
    uint32_t disk = 0;
    if (vm_u32(ld, path, p, VM_PROP_SNAP_DISK, &disk) < 0)
        return ERR_INVAL;
    if (disk >= 8)
        return loader_fail(ld, path, vm_prop_names[VM_PROP_SNAP_DISK],
                           "must be 0..7, the index of one of the host's virtio-blk disks (got %u)",
                           disk);
    if (p->present[VM_PROP_SNAP_OFFSET] &&
        vm_snap_bytes(ld, path, p, VM_PROP_SNAP_OFFSET, &r->offset) < 0)
        return ERR_INVAL;
    if (!p->present[VM_PROP_SNAP_SIZE])
        return loader_fail(ld, path, vm_prop_names[VM_PROP_SNAP_SIZE],
                           "missing (required with snapshot-disk: the region's size in bytes)");
    if (vm_snap_bytes(ld, path, p, VM_PROP_SNAP_SIZE, &r->size) < 0)
        return ERR_INVAL;
    if (r->size <= CONFIG_SNAP_ALIGN)
        return loader_fail(ld, path, vm_prop_names[VM_PROP_SNAP_SIZE],
                           "must be more than 4096 bytes (a 4 KiB header, then the snapshot; "
                           "got %#llx)",
                           (unsigned long long)r->size);
    if (r->offset + r->size < r->offset)
        return loader_fail(ld, path, vm_prop_names[VM_PROP_SNAP_SIZE],
                           "snapshot-offset + snapshot-size overflows");
    r->disk = (int)disk;
    vm->has_snapshot_region = true;
    return 0;
}

/* a's snapshot region against b's devices' host-disk regions, and (with
 * regions) against b's snapshot region: ERR_INVAL naming both. */
static int snapshot_region_pair(struct loader *ld, const struct vm_config *a,
                                const struct vm_config *b, bool regions)
{
    char path[PATH_SIZE];
    struct host_region r;

    if (!a->has_snapshot_region)
        return 0;
    fmt_snprintf(path, sizeof(path), "/vms/%s", a->name);
    if (regions && b->has_snapshot_region &&
        host_region_overlaps(&a->snapshot_region, &b->snapshot_region))
        return loader_fail(ld, path, "snapshot-offset",
                           "the snapshot region overlaps /vms/%s's (on host disk %d)", b->name,
                           a->snapshot_region.disk);
    for (unsigned k = 0; k < b->ndevs; k++) {
        if (vdev_blk_host_region(&b->devs[k], &r) && host_region_overlaps(&a->snapshot_region, &r))
            return loader_fail(ld, path, "snapshot-offset",
                               "the snapshot region overlaps /vms/%s/%s (the same region of host "
                               "disk %d)",
                               b->name, b->devs[k].name, r.disk);
    }
    return 0;
}

/* A snapshot region shares no byte with another VM's, nor with any
 * disk's host-disk region (the rule disks follow, core/vdev/blk.c). */
static int snapshot_regions_check(struct loader *ld, const struct config *cfg)
{
    for (int i = 0; i < cfg->nvms; i++) {
        for (int j = 0; j < cfg->nvms; j++) {
            if (snapshot_region_pair(ld, &cfg->vms[i], &cfg->vms[j], j < i) < 0)
                return ERR_INVAL;
        }
    }
    return 0;
}

static int vm_parse(struct loader *ld, int node, struct vm_config *vm)
{
    char path[PATH_SIZE];
    struct props p;
    const char *name = fdt_node_name(&ld->fdt, node);

    if (!name)
        return loader_fail(ld, "/vms", NULL, "malformed VM node in vireo.dtb");
    if (vm_name_check(ld, name, path) < 0 ||
        props_collect(ld, node, path, vm_prop_names, VM_PROP_COUNT, ~0u,
                      "(expected " VM_PROP_LIST ")", &p) < 0)
        return ERR_INVAL;
    memcpy(vm->name, name, strlen(name) + 1); /* length checked above */
    if (vm_memory(ld, path, &p, vm) < 0 || vm_vcpus_and_pins(ld, path, &p, vm) < 0 ||
        vm_image(ld, path, &p, VM_PROP_KERNEL, &vm->kernel, &vm->kernel_size) < 0 ||
        vm_image(ld, path, &p, VM_PROP_INITRD, &vm->initrd, &vm->initrd_size) < 0 ||
        vm_bootargs_flags(ld, path, &p, vm) < 0 || vm_isa_withhold(ld, path, &p, vm) < 0 ||
        vm_snapshot_region(ld, path, &p, vm) < 0 || config_devices(ld, node, path, vm) < 0)
        return ERR_INVAL;
    return 0;
}

static int vms_parse(struct loader *ld, int vms, struct config *cfg)
{
    char shown[SHOW_SIZE];
    const char *name;
    int prop, node;

    prop = fdt_first_prop(&ld->fdt, vms);
    if (prop >= 0) {
        if (fdt_prop_at(&ld->fdt, prop, &name, NULL, NULL) < 0)
            return loader_fail(ld, "/vms", NULL, "malformed property in vireo.dtb");
        return loader_fail(ld, "/vms", show(shown, name),
                           "unknown (/vms has no properties, only one child node per VM)");
    }
    for (node = fdt_first_child(&ld->fdt, vms); node >= 0;
         node = fdt_next_sibling(&ld->fdt, node)) {
        struct vm_config *vm;

        if (cfg->nvms == CONFIG_MAX_VMS)
            return loader_fail(ld, "/vms", NULL, "too many VMs (at most %d)", CONFIG_MAX_VMS);
        vm = &cfg->vms[cfg->nvms];
        ld->vm_index = (unsigned)cfg->nvms;
        if (vm_parse(ld, node, vm) < 0)
            return ERR_INVAL;
        /* dtc refuses duplicate node names, but a hand-made blob need not. */
        for (int i = 0; i < cfg->nvms; i++) {
            if (strcmp(cfg->vms[i].name, vm->name) == 0)
                return loader_fail(ld, "/vms", NULL, "VM name \"%s\" used more than once",
                                   vm->name);
        }
        cfg->nvms++;
    }
    if (node != ERR_NOENT)
        return loader_fail(ld, "/vms", NULL, "malformed vireo.dtb (%s)", err_str(node));
    if (cfg->nvms == 0)
        return loader_fail(ld, "/vms", NULL, "no VM defined (expected one child node per VM)");
    return 0;
}

/* The root: compatible = "vireo,config" (so that a guest's own DTB packed by
 * mistake is refused with a clear message) and the /vms node, nothing else. */
static int root_parse(struct loader *ld, int *vms)
{
    char shown[SHOW_SIZE];
    bool compatible = false;
    int prop, node;

    for (prop = fdt_first_prop(&ld->fdt, 0); prop >= 0; prop = fdt_next_prop(&ld->fdt, prop)) {
        const char *name;
        const void *val;
        int len;

        if (fdt_prop_at(&ld->fdt, prop, &name, &val, &len) < 0)
            return loader_fail(ld, "/", NULL, "malformed property in vireo.dtb");
        if (strcmp(name, "compatible") != 0)
            return loader_fail(ld, "/", show(shown, name),
                               "unknown (the root has only compatible and the vms node)");
        if (!fdt_stringlist_contains((const char *)val, len, CONFIG_COMPATIBLE))
            return loader_fail(ld, "/", "compatible", "must be \"" CONFIG_COMPATIBLE "\"");
        compatible = true;
    }
    if (!compatible)
        return loader_fail(ld, "/", "compatible",
                           "missing (required: \"" CONFIG_COMPATIBLE
                           "\"; is this a Vireo config?)");
    *vms = -1;
    for (node = fdt_first_child(&ld->fdt, 0); node >= 0; node = fdt_next_sibling(&ld->fdt, node)) {
        const char *name = fdt_node_name(&ld->fdt, node);

        if (!name || strcmp(name, "vms") != 0) {
            char path[PATH_SIZE];

            fmt_snprintf(path, sizeof(path), "/%s", show(shown, name ? name : "?"));
            return loader_fail(ld, path, NULL, "unknown node (the root has only the vms node)");
        }
        if (*vms >= 0)
            return loader_fail(ld, "/vms", NULL, "node given more than once");
        *vms = node;
    }
    if (*vms < 0)
        return loader_fail(ld, "/", NULL, "no vms node (expected /vms with one child node per VM)");
    return 0;
}

int config_load(const void *bundle, size_t bundle_size, unsigned nharts, struct config *cfg,
                char *err, size_t errlen)
{
    struct loader ld = {
        .bundle = bundle,
        .bundle_size = bundle_size,
        .nharts = nharts,
        .err = err,
        .errlen = errlen,
    };
    const void *dtb;
    size_t dtb_size;
    int r, vms = -1;

    if (err && errlen)
        err[0] = '\0';
    if (!cfg)
        return loader_fail(&ld, "config_load", NULL, "no config to fill in");
    memset(cfg, 0, sizeof(*cfg));
    if (bundle_check(&ld) < 0)
        goto fail;
    switch (bundle_file(&ld, CONFIG_DTB_NAME, &dtb, &dtb_size)) {
    case BUNDLE_FILE_OK:
        break;
    case BUNDLE_FILE_MISSING:
        loader_fail(&ld, "bundle", NULL,
                    "no " CONFIG_DTB_NAME " (the VM configuration; make bundles with tools/vireo "
                    "pack)");
        goto fail;
    case BUNDLE_FILE_DUPLICATE:
        loader_fail(&ld, "bundle", NULL, CONFIG_DTB_NAME " appears more than once");
        goto fail;
    case BUNDLE_FILE_NOT_REGULAR:
        loader_fail(&ld, "bundle", NULL, CONFIG_DTB_NAME " is not a regular file");
        goto fail;
    }
    r = fdt_open(&ld.fdt, dtb, dtb_size);
    if (r < 0) {
        loader_fail(&ld, CONFIG_DTB_NAME, NULL, "not a valid device tree blob (%s)", err_str(r));
        goto fail;
    }
    if (root_parse(&ld, &vms) < 0 || vms_parse(&ld, vms, cfg) < 0 ||
        config_devices_check(&ld, cfg) < 0 || snapshot_regions_check(&ld, cfg) < 0)
        goto fail;
    return 0;

fail:
    memset(cfg, 0, sizeof(*cfg));
    return ERR_INVAL;
}

int config_check_added(const struct vm_config *vm, const struct vm_config *const *others,
                       unsigned n, char *err, size_t errlen)
{
    struct loader ld = {.err = err, .errlen = errlen};

    if (err && errlen)
        err[0] = '\0';
    for (unsigned i = 0; i < n; i++) {
        const struct vm_config *o = others[i];

        if (config_devices_check_pair(&ld, o, vm) < 0 ||
            snapshot_region_pair(&ld, vm, o, true) < 0 ||
            snapshot_region_pair(&ld, o, vm, false) < 0)
            return ERR_EXIST;
    }
    return 0;
}
