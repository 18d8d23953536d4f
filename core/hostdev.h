/* SPDX-License-Identifier: Apache-2.0 */
/* The host's own devices that Vireo uses for its guests, found on the
 * platform's virtio-mmio slots at boot: virtio-blk disks (the backing of
 * guests' persistent disks, by index in address order), a virtio-net NIC
 * (the virtual switch's uplink) and a virtio-rng (entropy, when the harts
 * have no Zkr seed CSR).  Also the one virtual switch every VM NIC joins. */
#ifndef VIREO_CORE_HOSTDEV_H
#define VIREO_CORE_HOSTDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/platform.h"
#include "drivers/hvirtio_blk.h"
#include "devices/vswitch.h"

#define HOSTDEV_MAX_DISKS 8

/* Probes the virtio slots and prints one line per device it takes. */
void hostdev_init(const struct platform *p);
/* Registers the uplink's receive interrupt (after irq_init). */
void hostdev_irq_init(bool have_irqs);

struct hvblk *hostdev_disk(unsigned index); /* NULL if there is no such disk */

/* Entropy for guests: Zkr's seed CSR, else the host virtio-rng, else none. */
bool hostdev_has_entropy(void);
const char *hostdev_entropy_source(void);
size_t hostdev_entropy(void *ctx, void *buf, size_t n);

struct vswitch *hostdev_switch(void);

#endif
