/* SPDX-License-Identifier: Apache-2.0 */
/* Driver side of virtio-mmio version 2, for the host's own virtio devices
 * (QEMU's -device virtio-blk-device, virtio-net-device, virtio-rng-device):
 * Vireo's disks, its uplink to the outside network and its entropy.
 *
 * Vireo runs with translation off, so a pointer is the physical address the
 * device is given.  The rings live in memory the caller provides
 * (hvirtio_ring_bytes, 4 KiB aligned, zeroed).  The device is trusted no
 * further than necessary: used-ring ids and lengths are checked.
 *
 * Modern devices only: QEMU's virt machine makes its virtio-mmio transports
 * legacy (version 1) unless started with
 * -global virtio-mmio.force-legacy=false; hvirtio_open says so when it
 * meets one.  Not thread-safe: each driver serialises its calls. */
#ifndef VIREO_DRIVERS_HVIRTIO_H
#define VIREO_DRIVERS_HVIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HVIRTIO_MAX_QUEUES 2

struct hvq {
    uint16_t num; /* 0: not set up */
    volatile uint8_t *desc, *avail, *used;
    uint16_t free_head, nfree;
    uint16_t avail_idx, last_used;
};

struct hvirtio {
    uintptr_t base;
    uint32_t device_id;
    uint64_t features; /* negotiated */
    struct hvq q[HVIRTIO_MAX_QUEUES];
};

struct hv_buf {
    void *addr;
    uint32_t len;
    bool write; /* device writes it */
};

/* Reads the device ID at base: 0 for an empty slot, ERR_NOENT if there is
 * no virtio-mmio device there. */
int hvirtio_probe(uintptr_t base, uint32_t *device_id, uint32_t *version);

/* Resets the device and negotiates VIRTIO_F_VERSION_1 plus the bits of
 * want the device offers.  0, or with a reason ERR_NOENT (no device at
 * base), ERR_VERSION (not virtio-mmio version 2) or ERR_NOTSUP (no
 * VERSION_1, or the features refused). */
int hvirtio_open(struct hvirtio *h, uintptr_t base, uint64_t want, char *err, size_t errlen);

/* Ring memory for a queue of num entries. */
size_t hvirtio_ring_bytes(uint16_t num);

/* Sets up queue q with at most num entries (a power of 2) in mem.  0, or
 * with a reason ERR_INVAL (a bad q or num) or ERR_NOENT (the device has no
 * queue q). */
int hvirtio_queue(struct hvirtio *h, unsigned q, uint16_t num, void *mem, char *err, size_t errlen);

/* Sets DRIVER_OK: the device may start. */
void hvirtio_start(struct hvirtio *h);

/* Puts a chain on queue q (readable buffers first).  Returns its head,
 * ERR_INVAL for an empty chain, or ERR_NOSPC when there are not enough
 * free descriptors.  Nothing moves before
 * hvirtio_kick. */
int hvirtio_post(struct hvirtio *h, unsigned q, const struct hv_buf *bufs, unsigned n);
void hvirtio_kick(struct hvirtio *h, unsigned q);

/* The same through an indirect table (VIRTIO_RING_F_INDIRECT_DESC
 * negotiated): the caller writes the chain's n descriptors into table
 * (16 bytes each, 16-byte aligned, the caller's until the chain comes
 * back) with hvirtio_desc_put, and the ring gets one descriptor pointing
 * at it.  Returns the head, ERR_INVAL (n is 0 or above 32768), or
 * ERR_NOSPC (no free ring descriptor). */
void hvirtio_desc_put(void *table, unsigned i, const struct hv_buf *buf, bool more);
int hvirtio_post_indirect(struct hvirtio *h, unsigned q, void *table, unsigned n);

/* Takes the next used chain of queue q: its head (and the length the
 * device wrote), ERR_AGAIN if none, ERR_BROKEN if the device returned
 * garbage. */
int hvirtio_used(struct hvirtio *h, unsigned q, uint32_t *len);

/* Reads and acknowledges the interrupt status. */
uint32_t hvirtio_irq_ack(struct hvirtio *h);

/* Waits (spinning, up to timeout_ticks of arch_time) for the chain head to
 * come back on queue q.  0 and *len, or ERR_IO on timeout or a device
 * error. */
int hvirtio_wait(struct hvirtio *h, unsigned q, int head, uint32_t *len, uint64_t timeout_ticks);

#endif
