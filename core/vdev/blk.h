/* SPDX-License-Identifier: Apache-2.0 */
/* The "disk" device kind's settings (core/vdev/blk.c), for code that
 * reads a parsed configuration. */
#ifndef VIREO_CORE_VDEV_BLK_H
#define VIREO_CORE_VDEV_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

#define CONFIG_HOST_DISK_NONE (-1)
#define CONFIG_SIZE_REST      0 /* a host-disk region up to the disk's end */

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

#endif
