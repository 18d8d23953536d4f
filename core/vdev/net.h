/* SPDX-License-Identifier: Apache-2.0 */
/* The "net" device kind's settings (core/vdev/net.c), for code that reads
 * a parsed configuration. */
#ifndef VIREO_CORE_VDEV_NET_H
#define VIREO_CORE_VDEV_NET_H

#include <stdint.h>

#include "core/config.h"

struct vdev_net_settings {
    uint8_t mac[6]; /* from the config, or derived from the VM and node names */
};

_Static_assert(sizeof(struct vdev_net_settings) <= CONFIG_DEV_SETTINGS, "net settings fit");

void vdev_net_settings(const struct dev_config *d, struct vdev_net_settings *s);

#endif
