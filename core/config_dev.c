/* SPDX-License-Identifier: Apache-2.0 */
/* A VM's devices in the configuration: its child nodes (see docs/config.md).
 * Each node's name binds a device kind (core/vdev/: rng, console, disk,
 * net), whose row names the properties the node may have and parses them.
 *
 * As for the rest of the configuration, anything unknown is refused. */
#include "core/config_int.h"
#include "core/vdev/vdev.h"
#include "lib/err.h"
#include "lib/string.h"

static int dev_props_collect(struct loader *ld, int node, const char *path,
                             const struct vdev_kind *kind, struct props *p)
{
    char shown[SHOW_SIZE], allowed[64], expected[80];

    fmt_snprintf(expected, sizeof(expected), "(a %s node takes: %s)", kind->name,
                 vdev_kind_props(kind, allowed, sizeof(allowed)));
    if (props_collect(ld, node, path, kind->props, kind->nprops, ~0u, expected, p) < 0)
        return ERR_INVAL;
    int child = fdt_first_child(&ld->fdt, node);
    if (child >= 0)
        return loader_fail(ld, path, NULL, "unknown child node \"%s\" (devices have none)",
                           show(shown, fdt_node_name(&ld->fdt, child)));
    return 0;
}

/* The device node `child` of the VM node at vm_path, as vm->devs[vm->ndevs]. */
static int config_device(struct loader *ld, int child, const char *vm_path, struct vm_config *vm)
{
    char shown[SHOW_SIZE], kinds[80];
    const char *name = fdt_node_name(&ld->fdt, child);
    char path[PATH_SIZE];

    if (!name)
        return loader_fail(ld, vm_path, NULL, "malformed device node in vireo.dtb");
    fmt_snprintf(path, sizeof(path), "%s/%s", vm_path, show(shown, name));
    const struct vdev_kind *kind = vdev_kind_find(name);
    if (!kind)
        return loader_fail(ld, path, NULL, "unknown device node (expected %s)",
                           vdev_kind_list(kinds, sizeof(kinds)));
    if (vm->ndevs == CONFIG_MAX_DEVS)
        return loader_fail(ld, path, NULL, "too many devices (at most %d per VM)", CONFIG_MAX_DEVS);
    for (unsigned i = 0; i < vm->ndevs; i++) {
        if (strcmp(vm->devs[i].name, name) == 0)
            return loader_fail(ld, path, NULL, "device node given more than once");
    }
    struct props p;
    if (dev_props_collect(ld, child, path, kind, &p) < 0)
        return ERR_INVAL;
    struct dev_config *d = &vm->devs[vm->ndevs];
    memset(d, 0, sizeof(*d));
    d->kind = kind;
    memcpy(d->name, name, strlen(name) + 1); /* at most "console" or a name + 2 digits */
    if (kind->parse && kind->parse(ld, path, vm->name, &p, d) < 0)
        return ERR_INVAL;
    vm->ndevs++;
    return 0;
}

int config_devices(struct loader *ld, int node, const char *vm_path, struct vm_config *vm)
{
    int child;

    vm->ndevs = 0;
    for (child = fdt_first_child(&ld->fdt, node); child >= 0;
         child = fdt_next_sibling(&ld->fdt, child)) {
        if (config_device(ld, child, vm_path, vm) < 0)
            return ERR_INVAL;
    }
    if (child != ERR_NOENT)
        return loader_fail(ld, vm_path, NULL, "malformed vireo.dtb (%s)", err_str(child));
    return 0;
}

/* Device a of VM va against device b of VM vb (b's node is the one the
 * message names first). */
static int device_pair_check(struct loader *ld, const struct vm_config *va,
                             const struct dev_config *a, const struct vm_config *vb,
                             const struct dev_config *b)
{
    char path[PATH_SIZE];

    if (!a->kind->conflict || a->kind != b->kind)
        return 0;
    fmt_snprintf(path, sizeof(path), "/vms/%s/%s", vb->name, b->name);
    return a->kind->conflict(ld, path, va->name, a, b);
}

int config_devices_check(struct loader *ld, const struct config *cfg)
{
    for (int i = 0; i < cfg->nvms; i++) {
        const struct vm_config *va = &cfg->vms[i];

        for (unsigned k = 0; k < va->ndevs; k++) {
            /* Against every device after this one, in this VM and the next ones. */
            for (int j = i; j < cfg->nvms; j++) {
                const struct vm_config *vb = &cfg->vms[j];

                for (unsigned l = (j == i ? k + 1 : 0); l < vb->ndevs; l++) {
                    if (device_pair_check(ld, va, &va->devs[k], vb, &vb->devs[l]) < 0)
                        return ERR_INVAL;
                }
            }
        }
    }
    return 0;
}

int config_devices_check_pair(struct loader *ld, const struct vm_config *a,
                              const struct vm_config *b)
{
    for (unsigned k = 0; k < a->ndevs; k++) {
        for (unsigned l = 0; l < b->ndevs; l++) {
            if (device_pair_check(ld, a, &a->devs[k], b, &b->devs[l]) < 0)
                return ERR_INVAL;
        }
    }
    return 0;
}
