/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-mmio transport, version 2 ("modern", virtio 1.2 section 4.2).
 *
 * A generic register file: feature negotiation, device status and reset,
 * queue setup, notifications and the interrupt.  A device type (virtio-rng,
 * ...) plugs in with struct virtio_dev_ops and processes its queues with
 * virtio_mmio_pop/push/used from its notify callback.
 *
 * Accesses: registers (offsets below 0x100) are 32-bit only; the device
 * configuration space (from 0x100) takes 1, 2 or 4-byte accesses.  Any
 * other width returns ERR_NOTSUP.  Unknown registers read 0 and ignore writes.
 *
 * Hostile drivers: an invalid queue setup (size 0, not a power of 2, above
 * QueueNumMax, misaligned or wrapping ring) or a malformed ring found while
 * processing sets DEVICE_NEEDS_RESET (status 0x40) and raises a
 * configuration-change interrupt (InterruptStatus bit 1); the device then
 * ignores notifications until the driver writes 0 to Status (reset).
 *
 * Locking: one spinlock per transport (t->lock) serialises MMIO accesses
 * from any hart.  The device's callbacks (config_read, config_write,
 * notify, reset) run with it held, so they must not access this
 * transport's registers; virtio_mmio_pop/push/used/needs_reset expect it
 * held (call them from those callbacks, or from device code that took
 * t->lock itself: the kick callback, host-side input paths).  The irq
 * line's set_level is called with the lock held, like the vuart's: it must
 * not call back into this device.
 *
 * The system-wide rule: a transport lock is never held while taking
 * another device's lock (the interrupt controller behind set_level is the
 * one exception, and it takes no device lock itself).  Work that must
 * reach another device (virtio-net transmit: the switch, then another
 * VM's virtio-net) runs in the optional kick callback, which the transport
 * calls after a valid QueueNotify write (queue exists and is ready,
 * DRIVER_OK, not NEEDS_RESET) with the lock RELEASED, after notify (if
 * any) ran under it.  kick takes t->lock itself around ring accesses, and
 * may run on several harts at once (the device serialises what it
 * needs); by the time it runs the device may already have been reset, so
 * it re-checks under the lock (virtio_mmio_pop does). */
#ifndef VIREO_DEVICES_VIRTIO_MMIO_H
#define VIREO_DEVICES_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "devices/virtqueue.h"
#include "lib/spinlock.h"

#define VIRTIO_MMIO_SIZE 0x200 /* register window, config space included */

/* Registers (virtio 1.2, 4.2.2). */
#define VIRTIO_MMIO_MAGIC_VALUE         0x000
#define VIRTIO_MMIO_VERSION             0x004
#define VIRTIO_MMIO_DEVICE_ID           0x008
#define VIRTIO_MMIO_VENDOR_ID           0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES     0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES     0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL           0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX       0x034
#define VIRTIO_MMIO_QUEUE_NUM           0x038
#define VIRTIO_MMIO_QUEUE_READY         0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY        0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS    0x060
#define VIRTIO_MMIO_INTERRUPT_ACK       0x064
#define VIRTIO_MMIO_STATUS              0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW      0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH     0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW    0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH   0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW    0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH   0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION   0x0fc
#define VIRTIO_MMIO_CONFIG              0x100

#define VIRTIO_MMIO_MAGIC  0x74726976 /* "virt" */
#define VIRTIO_MMIO_VENDOR 0x4f524956 /* "VIRO" */

#define VIRTIO_MMIO_INT_VRING  1 /* InterruptStatus: used buffer notification */
#define VIRTIO_MMIO_INT_CONFIG 2 /* InterruptStatus: configuration change */

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE        0x01
#define VIRTIO_STATUS_DRIVER             0x02
#define VIRTIO_STATUS_DRIVER_OK          0x04
#define VIRTIO_STATUS_FEATURES_OK        0x08
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED             0x80

/* Feature bits the transport itself offers on top of the device's. */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32

#define VIRTIO_MMIO_MAX_QUEUES 8

/* A device works through its queue until it is empty, but at most this
 * many times the queue size per notification: stopping while chains are
 * still available would strand them (with EVENT_IDX the driver does not
 * notify again for chains it already published), while a bound keeps a
 * guest that refills the ring from another vCPU from holding this hart
 * forever; such a guest only delays its own I/O. */
#define VIRTIO_WORK_ROUNDS 8

struct virtio_dev_ops {
    uint32_t device_id;
    uint64_t features;  /* device-type bits; the transport adds its own */
    unsigned nqueues;   /* <= VIRTIO_MMIO_MAX_QUEUES */
    uint16_t queue_max; /* QueueNumMax, a power of 2 */
    uint32_t config_size;
    uint32_t max_chain_bytes; /* cap on one chain's total length, 0 = none */
    /* Config space access, off + len <= config_size (optional: reads 0,
     * writes ignored). */
    void (*config_read)(void *dev, uint32_t off, void *buf, uint32_t len);
    void (*config_write)(void *dev, uint32_t off, const void *buf, uint32_t len);
    /* The driver notified queue (ready, DRIVER_OK, not NEEDS_RESET). */
    void (*notify)(void *dev, unsigned queue);
    void (*reset)(void *dev); /* optional */
    /* Optional: the driver notified queue; called after notify with the
     * transport lock released (see Locking above). */
    void (*kick)(void *dev, unsigned queue);
    /* Optional: the driver reset the device (wrote 0 to Status); called
     * after reset ran, with the transport lock released like kick, for
     * news the reset makes for the host side (virtio-vsock: connections
     * closed). */
    void (*reset_done)(void *dev);
};

/* What a device moved, for the control plane's statistics (counted under
 * the transport lock; not part of a snapshot). */
struct virtio_io_stats {
    uint64_t notifications; /* QueueNotify writes */
    uint64_t requests;      /* chains taken from the available rings */
    uint64_t from_guest;    /* bytes of the driver's readable buffers in them */
    uint64_t to_guest;      /* bytes the device reported written (used lengths) */
};

struct virtio_mmio {
    struct spinlock lock;
    const struct virtio_dev_ops *ops;
    void *dev;
    struct guest_mem mem;
    struct irq_line irq;
    bool irq_level; /* level last driven onto the line */
    uint32_t status;
    uint32_t dev_features_sel, drv_features_sel;
    uint64_t drv_features; /* as written by the driver */
    uint64_t features;     /* negotiated (valid once FEATURES_OK) */
    uint32_t queue_sel;
    uint32_t int_status;
    uint32_t config_generation;
    struct virtqueue queues[VIRTIO_MMIO_MAX_QUEUES];
    uint16_t signalled[VIRTIO_MMIO_MAX_QUEUES]; /* used idx at the last virtio_mmio_used */
    struct virtio_io_stats io;
    /* Who this device is in trace records (core/trace.h): VM index << 8 |
     * its virtio slot, set by whoever builds it (0 otherwise). */
    uint16_t trace_id;
};

/* mem and irq are copied. */
void virtio_mmio_init(struct virtio_mmio *t, const struct virtio_dev_ops *ops, void *dev,
                      const struct guest_mem *mem, const struct irq_line *irq);

/* The mmio_ops for the bus; struct mmio_dev's priv is the struct
 * virtio_mmio. */
extern const struct mmio_ops virtio_mmio_ops;

/* All features the device offers (device bits plus transport bits). */
uint64_t virtio_mmio_offered(const struct virtio_mmio *t);

/* From the device's callbacks, lock held: pop the next chain of queue
 * (see vq_pop), return one (see vq_push).  A malformed ring sets
 * DEVICE_NEEDS_RESET and returns ERR_BROKEN. */
int virtio_mmio_pop(struct virtio_mmio *t, unsigned queue, struct vq_buf *bufs, unsigned max,
                    unsigned *count);
int virtio_mmio_push(struct virtio_mmio *t, unsigned queue, uint16_t head, uint32_t written);

/* From the device's callbacks, lock held: give back the last n chains
 * popped from queue and not pushed (see vq_unpop); ask for the next
 * notification of a queue the device stopped working on before it was
 * empty (see vq_want_kick). */
void virtio_mmio_unpop(struct virtio_mmio *t, unsigned queue, uint16_t n);
void virtio_mmio_want_kick(struct virtio_mmio *t, unsigned queue);

/* From the device's callbacks, lock held: the device has pushed buffers
 * on queue since the last call; raise the used-buffer interrupt if the
 * driver wants one. */
void virtio_mmio_used(struct virtio_mmio *t, unsigned queue);

/* From the device's callbacks, lock held: the driver broke the protocol. */
void virtio_mmio_needs_reset(struct virtio_mmio *t);

/* Snapshots (docs/snapshot-devices.md): the transport's part of every
 * virtio device's payload, for the device's own save and load, which
 * hold t->lock around them.  state_put writes status, feature selects and
 * features, QueueSel, InterruptStatus, ConfigGeneration and each queue
 * (vq_state_put, then its last signalled used index).  state_get reads
 * the same and checks it: status and InterruptStatus bits, features
 * within what this transport offers, the same number of queues
 * (ERR_MISMATCH), each queue (vq_state_get; a ready queue's rings must be
 * guest RAM unless the device already needs a reset or the queue is
 * broken, as then they are never touched again).  With apply false it only
 * checks; with apply true (after a check of the whole payload passed) it
 * stores and drives the interrupt line to InterruptStatus, changed or not. */
struct wire;
struct wire_in;
void virtio_mmio_state_put(const struct virtio_mmio *t, struct wire *w);
int virtio_mmio_state_get(struct virtio_mmio *t, struct wire_in *r, bool apply);

/* A whole device payload, for the device types' save and load: under
 * t->lock, the u32 version, the transport (above), then the device's own
 * part through put/get (NULL: none; get checks, and stores only with
 * apply).  virtio_mmio_save returns the length or ERR_NOSPC.
 * virtio_mmio_load refuses a version other than version (ERR_VERSION),
 * then runs a checking pass over everything, trailing bytes included
 * (ERR_STRUCTURE), and only if that passes the applying one, so a refused
 * payload changes nothing. */
long virtio_mmio_save(const struct virtio_mmio *t, uint32_t version,
                      void (*put)(const void *dev, struct wire *w), void *buf, size_t size);
int virtio_mmio_load(struct virtio_mmio *t, uint32_t version,
                     int (*get)(void *dev, struct wire_in *r, bool apply), const void *buf,
                     size_t size);

#endif
