/* SPDX-License-Identifier: Apache-2.0 */
/* Guest device kinds: one row each (struct vdev_kind), in the table in
 * core/vdev/vdev.c.  A kind is bound by the name of a VM's device node in
 * the configuration ("disk0" is a "disk"), parses that node's properties
 * into its settings, and builds its model on the VM's bus when the VM is
 * created.
 *
 * Adding a device kind: one file core/vdev/KIND.c defining
 * `const struct vdev_kind vdev_kind_KIND = {.name = ..., .parse = ...}`
 * (its settings struct, if other code reads them, in core/vdev/KIND.h),
 * and one row in vdev_kinds[] (core/vdev/table.c); docs/devices.md
 * "Adding a device kind". */
#ifndef VIREO_CORE_VDEV_VDEV_H
#define VIREO_CORE_VDEV_VDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "devices/mmio.h"

struct loader;
struct props;
struct vm;
struct vm_vdev;

/* What create returns for a device the host cannot back (virtio-rng with
 * no entropy source): the guest does not get it, and it takes no slot. */
#define VDEV_ABSENT 1

/* A device's contents that a snapshot carries besides the model's state
 * (a disk's data), read and written in bytes at offsets, both multiples of
 * 4096 and inside size: 0 or a negative ERR_* code. */
struct vdev_bulk {
    uint64_t size;
    int (*read)(void *ctx, uint64_t off, void *buf, size_t n);
    int (*write)(void *ctx, uint64_t off, const void *buf, size_t n);
    void *ctx;
};

struct vdev_kind {
    const char *name;  /* the node name that binds it: "rng", "disk" */
    bool numbered;     /* also NAME0..NAME99 ("disk0") */
    const char *model; /* its bus name, shown by `vm info`: "virtio-blk" */
    /* The properties its node may have (at most PROPS_MAX); any other is
     * refused, naming these. */
    const char *const *props;
    unsigned nprops;
    size_t state_size; /* bytes of model state create builds in d->state */

    /* Configuration (core/config_dev.c calls them; errors through
     * loader_fail naming path and the property).  parse: p holds the
     * node's properties by index into props; fills d's settings
     * (vdev_settings_put).  NULL: nothing to parse. */
    int (*parse)(struct loader *ld, const char *path, const char *vm_name, const struct props *p,
                 struct dev_config *d);
    /* Between two devices of this kind, in any VMs (a first, in a_vm; b at
     * path): ERR_INVAL (loader_fail) if they must not both exist.  NULL: never. */
    int (*conflict)(struct loader *ld, const char *path, const char *a_vm,
                    const struct dev_config *a, const struct dev_config *b);

    /* The VM (core/vm_dev.c calls them).  create: builds the model in
     * d->state on d->mem and d->irq and sets d->mdev's ops, size and priv;
     * 0, VDEV_ABSENT, or a negative ERR_* code with err naming d->cfg->name (nothing to undo:
     * the caller frees d).  destroy: undoes what create attached outside
     * d (a switch port); NULL: nothing. */
    int (*create)(struct vm_vdev *d, char *err, size_t errlen);
    void (*destroy)(struct vm_vdev *d);
    /* A device-level reset for when a VM reset keeps its devices; NULL for
     * every kind today, because a VM reset rebuilds them (destroy, create). */
    void (*reset)(struct vm_vdev *d);
    /* Snapshots (docs/snapshot-devices.md): save writes the model's state
     * (its transport's and its own) into buf and returns its length, or
     * ERR_NOSPC if it does not fit; load restores it into a device created
     * from the same configuration (freshly, or the same one rolled back),
     * 0 or a negative ERR_* code.  The payload is hostile input: load
     * checks all of it first and changes nothing when it refuses.  Called
     * with the VM paused (its vCPUs out of the guest); every kind has both. */
    long (*save)(const struct vm_vdev *d, void *buf, size_t size);
    /* Holds (on) or releases what the device writes into guest memory on
     * its own rather than at the guest's request (a frame arriving from
     * the switch: dropped while held), so the VM's state stays still while
     * a snapshot reads or replaces it.  NULL: it writes nothing on its own. */
    void (*hold)(struct vm_vdev *d, bool on);
    /* Fills *out and returns true if the device has contents a snapshot
     * must carry (a writable disk's data); NULL or false: none. */
    bool (*bulk)(const struct vm_vdev *d, struct vdev_bulk *out);
    int (*load)(struct vm_vdev *d, const void *buf, size_t size);
    /* Completes every request the device has taken from the guest and
     * makes what it wrote stable (a disk's in-flight requests drained,
     * their completions in the guest's rings, its backend flushed), so
     * that a migration's final state, taken next, holds no request half
     * done: none is lost, none done twice (docs/migration.md).  Called
     * with the VM paused, its vCPUs off the harts and its devices held;
     * may wait.  0, or a negative ERR_* with err saying why (the
     * migration then fails and the VM runs on).  NULL: every request
     * completes within the guest's notify (every kind today; the disk's
     * host-disk flush is done by vm_devices_quiesce until the disk kind
     * has requests in flight and a quiesce of its own). */
    int (*quiesce)(struct vm_vdev *d, char *err, size_t errlen);
    /* The VM now runs somewhere else than before (it migrated in): tell
     * the network, so switches learn where it is (a NIC's announcement).
     * NULL: nothing to tell. */
    void (*announce)(struct vm_vdev *d);
};

/* One of a VM's devices: what every kind has, then its own state. */
struct vm_vdev {
    const struct vdev_kind *kind;
    const struct dev_config *cfg;
    struct vm *vm;
    struct mmio_dev mdev;
    struct guest_mem mem; /* the VM's RAM through gpa_read/gpa_write */
    struct irq_line irq;  /* its PLIC source */
    char label[CONFIG_NAME_MAX + CONFIG_DEV_NAME_MAX + 2]; /* "vm0.disk0" */
    void *state; /* kind->state_size bytes, zeroed, after this struct */
};

extern const struct vdev_kind *const vdev_kinds[];
extern const unsigned vdev_kind_count;

/* The kind a device node's name binds, or NULL. */
const struct vdev_kind *vdev_kind_find(const char *node_name);
/* "rng, console, disk or diskN, net or netN", for messages. */
const char *vdev_kind_list(char *buf, size_t size);
/* A kind's property names, "image, host-disk, ... or read-only" ("none"). */
const char *vdev_kind_props(const struct vdev_kind *k, char *buf, size_t size);

/* A device's settings live in dev_config.settings, laid out as its kind's
 * file says; copied in and out so no type is punned. */
void vdev_settings_put(struct dev_config *d, const void *s, size_t size);
void vdev_settings_get(const struct dev_config *d, void *s, size_t size);

/* For kinds on the virtio-mmio transport: d's bus ops, size and priv. */
struct virtio_mmio;
void vdev_virtio_mmio(struct vm_vdev *d, struct virtio_mmio *t);

#endif
