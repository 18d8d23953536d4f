/* SPDX-License-Identifier: Apache-2.0 */
/* Split virtqueues (virtio 1.2, 2.7 "Split Virtqueues"), device side.
 *
 * Every ring and buffer lives in guest memory and is reached only through
 * struct guest_mem; nothing here holds a pointer into the guest.  The rings
 * are treated as hostile: chains are bounded by the queue size (or by the
 * indirect table's length), every index and length is checked, and any
 * violation makes vq_pop/vq_push return ERR_BROKEN and leaves the queue
 * "broken" (every later call fails the same way) until vq_reset().  The
 * transport turns that into DEVICE_NEEDS_RESET.
 *
 * Not thread-safe: the transport serialises calls with its lock. */
#ifndef VIREO_DEVICES_VIRTQUEUE_H
#define VIREO_DEVICES_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "lib/err.h"

#define VRING_DESC_F_NEXT     1
#define VRING_DESC_F_WRITE    2
#define VRING_DESC_F_INDIRECT 4

#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY     1

#define VQ_MAX_SIZE 32768 /* the largest split queue size */

struct virtqueue {
    uint16_t num;        /* queue size: a power of 2, set by the transport */
    bool ready;          /* QueueReady */
    bool broken;         /* a malformed ring was seen; cleared by vq_reset */
    bool event_idx;      /* VIRTIO_RING_F_EVENT_IDX negotiated */
    bool indirect;       /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
    uint64_t desc;       /* descriptor table (16-byte aligned) */
    uint64_t driver;     /* available ring (2-byte aligned) */
    uint64_t device;     /* used ring (4-byte aligned) */
    uint16_t last_avail; /* next available ring entry to consume */
    uint16_t used_idx;   /* next used ring entry to fill */
    uint32_t max_bytes;  /* cap on a chain's total length, 0 = none */
    bool no_kicks;       /* the device never waits for this queue's notifications */
};

/* One buffer of a chain, in guest physical addresses: addr + len does not
 * overflow, but whether it is RAM is found out when it is accessed. */
struct vq_buf {
    uint64_t addr;
    uint32_t len;
    bool write; /* device-writable */
};

/* Back to the state after reset (not ready, no rings, indices 0). */
void vq_reset(struct virtqueue *q);

/* Checks the queue's size and ring addresses (alignment, no wrap-around)
 * before the transport marks it ready.  Returns 0 or ERR_BROKEN. */
int vq_check(const struct virtqueue *q, uint16_t num_max);

/* Pops the next available chain into bufs[0..*count) (at most max entries;
 * a longer chain is ERR_BROKEN, so pass max >= the queue size to accept all
 * legal chains).  Device-readable buffers come first, then writable ones.
 * Returns the head id (>= 0, to give back to vq_push), ERR_AGAIN when
 * nothing is available or ERR_BROKEN.
 *
 * Notifications (EVENT_IDX, 2.7.10): avail_event is published only when
 * the ring is found empty, as last_avail (the next chain the driver adds
 * notifies), then the index is read again, so a chain added meanwhile is
 * not missed.  While the device works through a busy ring avail_event
 * stays behind and the driver does not notify.  A queue with no_kicks
 * (receive queues: the device takes buffers when it has data, and never
 * waits for them) publishes an avail_event half the index space away:
 * the driver never notifies. */
int vq_pop(struct virtqueue *q, const struct guest_mem *m, struct vq_buf *bufs, unsigned max,
           unsigned *count);

/* Gives back the last n chains popped and not pushed (a device that
 * took buffers for a frame and found too few): they are available
 * again.  n must not exceed the chains outstanding. */
void vq_unpop(struct virtqueue *q, uint16_t n);

/* A device that stops before the ring is empty (a bound on its work)
 * asks for the next notification: avail_event = last_avail.  0 or
 * ERR_BROKEN. */
int vq_want_kick(struct virtqueue *q, const struct guest_mem *m);

/* Returns a chain: writes the used element {head, written} and then the
 * used index.  Returns 0 or ERR_BROKEN. */
int vq_push(struct virtqueue *q, const struct guest_mem *m, uint16_t head, uint32_t written);

/* After pushing, with the used index at old_used before: does the driver
 * want an interrupt?  Honours used_event (event_idx: vq_need_event) or
 * VRING_AVAIL_F_NO_INTERRUPT.  Unreadable rings answer true. */
bool vq_should_notify(const struct virtqueue *q, const struct guest_mem *m, uint16_t old_used);

/* The spec's vring_need_event (2.7.10): with the index moved from old_idx
 * to new_idx, is event_idx (the other side's used_event or avail_event)
 * among the entries passed, i.e. in [old_idx, new_idx) modulo 2^16? */
static inline bool vq_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

/* Snapshots (docs/snapshot-devices.md): a queue's registers and shadow
 * indices, part of its transport's payload.  vq_state_get reads one queue
 * from r and checks it: a ready queue must pass vq_check against num_max
 * and have at most num chains taken and not yet given back; with in_ram,
 * unless the queue is broken, its rings must also be guest RAM (probed
 * through m).  It stores into q only with apply, so a caller checks a whole payload first and then
 * applies it.  0 or a negative ERR_* code. */
struct wire;
struct wire_in;
void vq_state_put(const struct virtqueue *q, struct wire *w);
int vq_state_get(struct virtqueue *q, struct wire_in *r, uint16_t num_max,
                 const struct guest_mem *m, bool in_ram, bool apply);

#endif
