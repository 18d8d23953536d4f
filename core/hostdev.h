/* SPDX-License-Identifier: Apache-2.0 */
/* The host's own devices that Vireo uses, found on the platform's
 * virtio-mmio slots at boot: virtio-blk disks (the backing of guests'
 * persistent disks, by index in address order), a virtio-net NIC (the
 * virtual switch's uplink), a virtio-rng (entropy, when the harts have no
 * Zkr seed CSR) and a virtio console (the management port: the
 * out-of-band transport of Vireo's control plane).  Also the one virtual
 * switch every VM NIC joins. */
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
/* Registers the disks', the uplink's and the management port's
 * interrupts (after irq_init). */
void hostdev_irq_init(bool have_irqs);

struct hvblk *hostdev_disk(unsigned index); /* NULL if there is no such disk */
/* Whether the disk's completions arrive by interrupt (hvblk_poll on the
 * boot hart); false: whoever submits polls (hvblk_poll) until done. */
bool hostdev_disk_irq(unsigned index);
/* Polls every disk with requests in flight: completions whose interrupt
 * is late, and the timeout of requests the device never answers (the run
 * loop calls it when a hart goes idle). */
void hostdev_disks_poll(void);

/* Entropy for guests: Zkr's seed CSR, else the host virtio-rng, else none. */
bool hostdev_has_entropy(void);
const char *hostdev_entropy_source(void);
size_t hostdev_entropy(void *ctx, void *buf, size_t n);

struct vswitch *hostdev_switch(void);

/* The management port: a byte stream to the host's side (on QEMU a Unix
 * socket, `tools/vireo run --mgmt PATH`), the first virtio console among
 * the slots.  Vireo drops nothing: bytes not read hold the sender back,
 * and a write takes only what fits (QEMU, though, drops what its client
 * does not read in time: docs/platform-notes.md).  read and write may be
 * called from any hart (a lock inside); without a port they do nothing. */
bool hostdev_mgmt_present(void);
size_t hostdev_mgmt_read(void *buf, size_t n);        /* non-blocking: bytes copied */
size_t hostdev_mgmt_write(const void *buf, size_t n); /* non-blocking: bytes taken, 0 when full */
/* Registers who hears about the port (called from the port's interrupt on
 * the hart that takes it, or from hostdev_mgmt_poll): readable = bytes
 * arrived; writable = tx room freed (after a write that fell short).
 * Callbacks run with no driver lock held and may call read/write.  Each is
 * an edge: bytes that arrived before registering, or that a reader left
 * unread, are not announced again (read until read returns 0). */
void hostdev_mgmt_notify(void (*readable)(void), void (*writable)(void));
void hostdev_mgmt_poll(void); /* for callers without interrupts */

#endif
