/* SPDX-License-Identifier: Apache-2.0 */
/* Vireo's VM configuration: which VMs to run, with what memory, vCPUs and images.
 *
 * The configuration arrives as a boot bundle: a cpio newc archive (QEMU -initrd)
 * holding "vireo.dtb", a device tree compiled from a .dts (format in
 * docs/config.md), and the guest images it names. The bundle is untrusted input:
 * config_load() checks every byte it uses, and rejects anything it does not
 * understand (unknown properties and nodes included) with one message that names
 * the node path, the property and what was expected. */
#ifndef VIREO_CORE_CONFIG_H
#define VIREO_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/isa.h"

#define CONFIG_MAX_VMS      16
#define CONFIG_MAX_VCPUS    8
#define CONFIG_NAME_MAX     31 /* characters in a VM name */
#define CONFIG_MEM_ALIGN    (2ull << 20)
#define CONFIG_MEM_MAX      (64ull << 30)
#define CONFIG_BOOTARGS_MAX 1024 /* bytes, NUL included (Linux's COMMAND_LINE_SIZE) */
#define CONFIG_PIN_FLOAT    (-1) /* vCPU runs on any hart */
#define CONFIG_DTB_NAME     "vireo.dtb"
#define CONFIG_COMPATIBLE   "vireo,config"

#define CONFIG_MAX_DEVS     8  /* virtio devices per VM (the guest's virtio-mmio slots) */
#define CONFIG_DEV_NAME_MAX 15 /* characters in a device node's name */

#define CONFIG_DEV_SETTINGS 64 /* bytes of a device kind's settings */

#define CONFIG_HOST_DISK_NONE (-1)
#define CONFIG_SIZE_REST      0     /* a host-disk region up to the disk's end */
#define CONFIG_SNAP_ALIGN     4096u /* snapshot regions: offset and size multiples of this */

/* A region of one of the host's virtio-blk disks, in bytes: a disk's
 * backing (core/vdev/blk.c) or a VM's snapshot region (core/snap_disk.c).
 * Two regions must not overlap (host_region_overlaps, core/vdev/blk.c). */
struct host_region {
    int disk; /* the host's disk index, or CONFIG_HOST_DISK_NONE */
    uint64_t offset;
    uint64_t size; /* CONFIG_SIZE_REST: to the end of the disk */
};

struct vdev_kind;

/* A device node: its kind (a row of the table in core/vdev/vdev.c, bound
 * by the node's name) and the settings its kind parsed from the node's
 * properties, laid out as the kind's file defines them (core/vdev/). */
struct dev_config {
    const struct vdev_kind *kind;
    char name[CONFIG_DEV_NAME_MAX + 1]; /* the node's name: "disk0", "net0", "rng" */
    _Alignas(8) unsigned char settings[CONFIG_DEV_SETTINGS];
};

struct vm_config {
    char name[CONFIG_NAME_MAX + 1];
    uint64_t mem_size; /* bytes */
    unsigned vcpus;
    int pin[CONFIG_MAX_VCPUS]; /* host hart index, or CONFIG_PIN_FLOAT; [vcpus..] unused */
    /* Point into the bundle; initrd is NULL when the VM has none. */
    const void *kernel;
    size_t kernel_size;
    const void *initrd;
    size_t initrd_size;
    const char *bootargs; /* "" if none; points into the bundle */
    bool autostart;
    /* May drive Vireo's control plane (the `control` property): several
     * VMs may have it; none has by default. */
    bool control;
    /* Extensions this VM does not get even where the host has them
     * (isa-withhold; docs/isa.md). */
    struct isa_set isa_withhold;
    struct dev_config devs[CONFIG_MAX_DEVS]; /* in node order: virtio slot i is devs[i] */
    unsigned ndevs;
    /* Where `vm snapshot NAME disk` keeps its snapshot (snapshot-disk,
     * snapshot-offset, snapshot-size; docs/snapshot.md): valid when
     * has_snapshot_region. */
    bool has_snapshot_region;
    struct host_region snapshot_region;
};

struct config {
    struct vm_config vms[CONFIG_MAX_VMS];
    int nvms;
};

/* Parse and validate the bundle. nharts is the number of host harts: pins must be
 * below it. 0 on success. On failure ERR_INVAL, *cfg is zeroed, and err (if errlen > 0)
 * holds one line without a newline, such as
 *   config: /vms/vm1: property memory: must be a multiple of 2 MiB (got 0x100000)
 * Strings taken from the bundle are shown with unprintable bytes as '?' and cut
 * at 40 characters. The bundle must stay in place while cfg is used. */
int config_load(const void *bundle, size_t bundle_size, unsigned nharts, struct config *cfg,
                char *err, size_t errlen);

/* A VM added at run time (vm, from a bundle of its own) against the n VMs
 * that exist: what config_load checks between the VMs of one bundle, that
 * no two devices the kinds' conflict hooks forbid both exist (disks on the
 * same data, NICs with one MAC, ...) and that snapshot regions overlap
 * neither each other nor disks.  0, or ERR_EXIST with err naming both
 * nodes, such as
 *   config: /vms/new/disk0: overlaps /vms/old/disk0 (the same region of a host disk) */
int config_check_added(const struct vm_config *vm, const struct vm_config *const *others,
                       unsigned n, char *err, size_t errlen);

#endif
