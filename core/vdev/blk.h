/* SPDX-License-Identifier: Apache-2.0 */
/* The "disk" device kind's settings (core/vdev/blk.c), for code that
 * reads a parsed configuration. */
#ifndef VIREO_CORE_VDEV_BLK_H
#define VIREO_CORE_VDEV_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

/* A bundle image (written in place: data survives a VM reset, not a Vireo
 * restart), or a region of a host disk (persistent). */
struct vdev_blk_settings {
    const void *image;
    size_t image_size;
    int host_disk; /* index of the host's virtio-blk disk, or CONFIG_HOST_DISK_NONE */
    uint64_t offset,
        size; /* region in bytes, multiples of 512; size CONFIG_SIZE_REST: to the end */
    bool read_only;
};

_Static_assert(sizeof(struct vdev_blk_settings) <= CONFIG_DEV_SETTINGS, "disk settings fit");

void vdev_blk_settings(const struct dev_config *d, struct vdev_blk_settings *s);

/* Whether two host-disk regions share a byte: the one rule for disks and
 * snapshot regions (a region of CONFIG_SIZE_REST reaches the disk's end;
 * CONFIG_HOST_DISK_NONE overlaps nothing). */
bool host_region_overlaps(const struct host_region *a, const struct host_region *b);
/* The host-disk region a disk device node uses: false for any other device
 * and for a disk on a bundle image. */
bool vdev_blk_host_region(const struct dev_config *d, struct host_region *r);

#endif
