/* SPDX-License-Identifier: Apache-2.0 */
/* The "vsock" device kind's settings (core/vdev/vsock.c), for code that
 * reads a parsed configuration. */
#ifndef VIREO_CORE_VDEV_VSOCK_H
#define VIREO_CORE_VDEV_VSOCK_H

#include <stdint.h>

#include "core/config.h"

struct vdev_vsock_settings {
    uint64_t guest_cid; /* 3..0xfffffffe: guest-cid, or 3 + the VM's index */
};

_Static_assert(sizeof(struct vdev_vsock_settings) <= CONFIG_DEV_SETTINGS, "vsock settings fit");

void vdev_vsock_settings(const struct dev_config *d, struct vdev_vsock_settings *s);

#endif
