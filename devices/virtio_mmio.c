/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-mmio transport, version 2 (see virtio_mmio.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/trace.h"
#include "devices/mmio.h"
#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"
#include "lib/err.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "lib/wire.h"

#define TRANSPORT_FEATURES                                                                         \
    ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |                        \
     (1ull << VIRTIO_RING_F_EVENT_IDX))

uint64_t virtio_mmio_offered(const struct virtio_mmio *t)
{
    return t->ops->features | TRANSPORT_FEATURES;
}

/* Lock held.  The line follows InterruptStatus (level-triggered). */
static void vm_settle(struct virtio_mmio *t)
{
    bool level = t->int_status != 0;

    if (level != t->irq_level) {
        t->irq_level = level;
        irq_line_set(&t->irq, level);
    }
}

void virtio_mmio_needs_reset(struct virtio_mmio *t)
{
    if (!(t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)) {
        t->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
        t->int_status |= VIRTIO_MMIO_INT_CONFIG;
    }
    vm_settle(t);
}

static void vm_reset(struct virtio_mmio *t)
{
    t->status = 0;
    t->dev_features_sel = 0;
    t->drv_features_sel = 0;
    t->drv_features = 0;
    t->features = 0;
    t->queue_sel = 0;
    t->int_status = 0;
    for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
        vq_reset(&t->queues[i]);
        t->signalled[i] = 0;
    }
    if (t->ops->reset)
        t->ops->reset(t->dev);
    vm_settle(t);
}

void virtio_mmio_init(struct virtio_mmio *t, const struct virtio_dev_ops *ops, void *dev,
                      const struct guest_mem *mem, const struct irq_line *irq)
{
    memset(t, 0, sizeof(*t));
    spin_init(&t->lock);
    t->ops = ops;
    t->dev = dev;
    if (mem)
        t->mem = *mem;
    if (irq)
        t->irq = *irq;
    for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
        t->queues[i].max_bytes = ops->max_chain_bytes;
    vm_reset(t);
}

/* The selected queue, or NULL if QueueSel names none. */
static struct virtqueue *vm_queue(struct virtio_mmio *t)
{
    if (t->queue_sel >= t->ops->nqueues || t->queue_sel >= VIRTIO_MMIO_MAX_QUEUES)
        return NULL;
    return &t->queues[t->queue_sel];
}

static bool vm_usable(const struct virtio_mmio *t)
{
    return t->mem.read && t->mem.write && (t->status & VIRTIO_STATUS_DRIVER_OK) &&
           !(t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

int virtio_mmio_pop(struct virtio_mmio *t, unsigned queue, struct vq_buf *bufs, unsigned max,
                    unsigned *count)
{
    *count = 0;
    if (queue >= t->ops->nqueues || queue >= VIRTIO_MMIO_MAX_QUEUES || !vm_usable(t))
        return ERR_AGAIN;
    int r = vq_pop(&t->queues[queue], &t->mem, bufs, max, count);
    if (r == ERR_BROKEN)
        virtio_mmio_needs_reset(t);
    if (r >= 0) {
        t->io.requests++;
        for (unsigned i = 0; i < *count; i++)
            if (!bufs[i].write)
                t->io.from_guest += bufs[i].len;
    }
    return r;
}

int virtio_mmio_push(struct virtio_mmio *t, unsigned queue, uint16_t head, uint32_t written)
{
    if (queue >= t->ops->nqueues || queue >= VIRTIO_MMIO_MAX_QUEUES || !vm_usable(t))
        return ERR_BROKEN;
    int r = vq_push(&t->queues[queue], &t->mem, head, written);
    if (r == ERR_BROKEN)
        virtio_mmio_needs_reset(t);
    else
        t->io.to_guest += written;
    return r;
}

void virtio_mmio_unpop(struct virtio_mmio *t, unsigned queue, uint16_t n)
{
    if (queue >= t->ops->nqueues || queue >= VIRTIO_MMIO_MAX_QUEUES || n == 0)
        return;
    vq_unpop(&t->queues[queue], n);
    t->io.requests -= n;
}

void virtio_mmio_want_kick(struct virtio_mmio *t, unsigned queue)
{
    if (queue >= t->ops->nqueues || queue >= VIRTIO_MMIO_MAX_QUEUES || !vm_usable(t))
        return;
    if (vq_want_kick(&t->queues[queue], &t->mem) == ERR_BROKEN)
        virtio_mmio_needs_reset(t);
}

void virtio_mmio_used(struct virtio_mmio *t, unsigned queue)
{
    if (queue >= t->ops->nqueues || queue >= VIRTIO_MMIO_MAX_QUEUES || !t->mem.read)
        return;
    struct virtqueue *q = &t->queues[queue];
    uint16_t old = t->signalled[queue];

    if (old == q->used_idx)
        return; /* nothing new */
    t->signalled[queue] = q->used_idx;
    if (trace_wants(TRACE_VIRTIO))
        trace_emit_here(TRACE_EV_VIRTIO_DONE, (uint16_t)queue, t->trace_id,
                        (uint16_t)(q->used_idx - old));
    if (vq_should_notify(q, &t->mem, old)) {
        t->int_status |= VIRTIO_MMIO_INT_VRING;
        vm_settle(t);
    }
}

/* Driver wrote Status: v is not 0 (that is a reset). */
static void vm_status_write(struct virtio_mmio *t, uint32_t v)
{
    uint32_t old = t->status;

    /* NEEDS_RESET belongs to the device: the driver can neither set nor
     * clear it (other than by resetting). */
    v = (v & 0xff & ~(uint32_t)VIRTIO_STATUS_DEVICE_NEEDS_RESET) |
        (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
        uint64_t offered = virtio_mmio_offered(t);
        bool ok = (t->drv_features & (1ull << VIRTIO_F_VERSION_1)) && !(t->drv_features & ~offered);
        if (ok) {
            t->features = t->drv_features;
        } else {
            v &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK; /* read back: not accepted */
        }
    }
    t->status = v;
}

static void vm_queue_ready(struct virtio_mmio *t, struct virtqueue *q, uint32_t v)
{
    if (!(v & 1)) {
        q->ready = false;
        return;
    }
    if (q->ready)
        return;
    if (vq_check(q, t->ops->queue_max) != 0) {
        virtio_mmio_needs_reset(t);
        return;
    }
    q->event_idx = t->features & (1ull << VIRTIO_RING_F_EVENT_IDX);
    q->indirect = t->features & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
    q->broken = false;
    q->last_avail = 0;
    q->used_idx = 0;
    t->signalled[q - t->queues] = 0;
    q->ready = true;
}

static void set_lo(uint64_t *a, uint32_t v)
{
    *a = (*a & ~0xffffffffull) | v;
}

static void set_hi(uint64_t *a, uint32_t v)
{
    *a = (*a & 0xffffffffull) | (uint64_t)v << 32;
}

static uint32_t vm_reg_read(struct virtio_mmio *t, uint64_t off)
{
    struct virtqueue *q = vm_queue(t);

    switch (off) {
    case VIRTIO_MMIO_MAGIC_VALUE:
        return VIRTIO_MMIO_MAGIC;
    case VIRTIO_MMIO_VERSION:
        return 2;
    case VIRTIO_MMIO_DEVICE_ID:
        return t->ops->device_id;
    case VIRTIO_MMIO_VENDOR_ID:
        return VIRTIO_MMIO_VENDOR;
    case VIRTIO_MMIO_DEVICE_FEATURES:
        if (t->dev_features_sel > 1)
            return 0;
        return (uint32_t)(virtio_mmio_offered(t) >> (32 * t->dev_features_sel));
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
        return q ? t->ops->queue_max : 0;
    case VIRTIO_MMIO_QUEUE_NUM:
        return q ? q->num : 0;
    case VIRTIO_MMIO_QUEUE_READY:
        return q && q->ready;
    case VIRTIO_MMIO_INTERRUPT_STATUS:
        return t->int_status;
    case VIRTIO_MMIO_STATUS:
        return t->status;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
        return q ? (uint32_t)q->desc : 0;
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        return q ? (uint32_t)(q->desc >> 32) : 0;
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
        return q ? (uint32_t)q->driver : 0;
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
        return q ? (uint32_t)(q->driver >> 32) : 0;
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
        return q ? (uint32_t)q->device : 0;
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        return q ? (uint32_t)(q->device >> 32) : 0;
    case VIRTIO_MMIO_CONFIG_GENERATION:
        return t->config_generation;
    default:
        return 0;
    }
}

static void vm_driver_features_write(struct virtio_mmio *t, uint32_t v)
{
    if (t->status & VIRTIO_STATUS_FEATURES_OK)
        return; /* negotiation is over */
    if (t->drv_features_sel == 0)
        set_lo(&t->drv_features, v);
    else if (t->drv_features_sel == 1)
        set_hi(&t->drv_features, v);
}

/* QueueDesc, QueueDriver and QueueDevice (Low and High) of setup, the
 * selected queue if it is not ready, else NULL: the layout is frozen while
 * the queue is ready (4.2.3.2). */
static void vm_queue_layout_write(struct virtqueue *setup, uint64_t off, uint32_t v)
{
    if (!setup)
        return;
    switch (off) {
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
        set_lo(&setup->desc, v);
        break;
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        set_hi(&setup->desc, v);
        break;
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
        set_lo(&setup->driver, v);
        break;
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
        set_hi(&setup->driver, v);
        break;
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
        set_lo(&setup->device, v);
        break;
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        set_hi(&setup->device, v);
        break;
    default:
        break;
    }
}

/* QueueNotify: the device's notify runs now (lock held); returns the queue
 * to kick, or ERR_NOENT when there is none. */
static int vm_queue_notify(struct virtio_mmio *t, uint32_t v)
{
    if (trace_wants(TRACE_VIRTIO))
        trace_emit_here(TRACE_EV_VIRTIO_NOTIFY, (uint16_t)v, t->trace_id, 0);
    /* Without VIRTIO_F_NOTIFICATION_DATA the value is the queue index. */
    if (v >= t->ops->nqueues || v >= VIRTIO_MMIO_MAX_QUEUES || !t->queues[v].ready || !vm_usable(t))
        return ERR_NOENT;
    if (t->ops->notify)
        t->ops->notify(t->dev, v);
    return t->ops->kick ? (int)v : ERR_NOENT;
}

/* Returns the queue to kick (ops->kick, after the lock is released), or
 * ERR_NOENT. */
static int vm_reg_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
    struct virtqueue *q = vm_queue(t);
    struct virtqueue *setup = q && !q->ready ? q : NULL;

    switch (off) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        t->dev_features_sel = v;
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        vm_driver_features_write(t, v);
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
        t->drv_features_sel = v;
        break;
    case VIRTIO_MMIO_QUEUE_SEL:
        t->queue_sel = v;
        break;
    case VIRTIO_MMIO_QUEUE_NUM:
        if (setup)
            setup->num = v > 0xffff ? 0 : (uint16_t)v; /* 0: refused at QueueReady */
        break;
    case VIRTIO_MMIO_QUEUE_READY:
        if (q)
            vm_queue_ready(t, q, v);
        break;
    case VIRTIO_MMIO_QUEUE_NOTIFY:
        t->io.notifications++;
        return vm_queue_notify(t, v);
    case VIRTIO_MMIO_INTERRUPT_ACK:
        t->int_status &= ~v;
        break;
    case VIRTIO_MMIO_STATUS:
        if (v == 0)
            vm_reset(t);
        else
            vm_status_write(t, v);
        break;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        vm_queue_layout_write(setup, off, v);
        break;
    default:
        break; /* read-only or unknown */
    }
    return ERR_NOENT;
}

static bool config_width_ok(unsigned width)
{
    return width == 1 || width == 2 || width == 4;
}

static int vm_mmio_read(struct mmio_dev *dev, uint64_t offset, unsigned width, uint64_t *value)
{
    struct virtio_mmio *t = dev->priv;

    if (offset >= VIRTIO_MMIO_CONFIG) {
        uint64_t off = offset - VIRTIO_MMIO_CONFIG;
        uint8_t b[4] = {0, 0, 0, 0};

        if (!config_width_ok(width))
            return ERR_NOTSUP;
        spin_lock(&t->lock);
        if (off + width <= t->ops->config_size && t->ops->config_read)
            t->ops->config_read(t->dev, (uint32_t)off, b, width);
        spin_unlock(&t->lock);
        *value = (uint64_t)b[0] | (uint64_t)b[1] << 8 | (uint64_t)b[2] << 16 | (uint64_t)b[3] << 24;
        return 0;
    }
    if (width != 4 || (offset & 3))
        return ERR_NOTSUP;
    spin_lock(&t->lock);
    *value = vm_reg_read(t, offset);
    spin_unlock(&t->lock);
    return 0;
}

static int vm_mmio_write(struct mmio_dev *dev, uint64_t offset, unsigned width, uint64_t value)
{
    struct virtio_mmio *t = dev->priv;

    if (offset >= VIRTIO_MMIO_CONFIG) {
        uint64_t off = offset - VIRTIO_MMIO_CONFIG;
        uint8_t b[4] = {(uint8_t)value, (uint8_t)(value >> 8), (uint8_t)(value >> 16),
                        (uint8_t)(value >> 24)};

        if (!config_width_ok(width))
            return ERR_NOTSUP;
        spin_lock(&t->lock);
        if (off + width <= t->ops->config_size && t->ops->config_write)
            t->ops->config_write(t->dev, (uint32_t)off, b, width);
        spin_unlock(&t->lock);
        return 0;
    }
    if (width != 4 || (offset & 3))
        return ERR_NOTSUP;
    spin_lock(&t->lock);
    int kick = vm_reg_write(t, offset, (uint32_t)value);
    vm_settle(t);
    spin_unlock(&t->lock);
    /* Unlocked: the device may now take other devices' locks (see the
     * locking rule in virtio_mmio.h). */
    if (kick >= 0)
        t->ops->kick(t->dev, (unsigned)kick);
    if (offset == VIRTIO_MMIO_STATUS && value == 0 && t->ops->reset_done)
        t->ops->reset_done(t->dev);
    return 0;
}

const struct mmio_ops virtio_mmio_ops = {
    .read = vm_mmio_read,
    .write = vm_mmio_write,
};

void virtio_mmio_state_put(const struct virtio_mmio *t, struct wire *w)
{
    wire_put_u32(w, t->status);
    wire_put_u32(w, t->dev_features_sel);
    wire_put_u32(w, t->drv_features_sel);
    wire_put_u64(w, t->drv_features);
    wire_put_u64(w, t->features);
    wire_put_u32(w, t->queue_sel);
    wire_put_u32(w, t->int_status);
    wire_put_u32(w, t->config_generation);
    wire_put_u32(w, t->ops->nqueues);
    for (unsigned i = 0; i < t->ops->nqueues; i++) {
        vq_state_put(&t->queues[i], w);
        wire_put_u16(w, t->signalled[i]);
    }
}

int virtio_mmio_state_get(struct virtio_mmio *t, struct wire_in *r, bool apply)
{
    uint32_t status = wire_get_u32(r);
    uint32_t dev_sel = wire_get_u32(r);
    uint32_t drv_sel = wire_get_u32(r);
    uint64_t drv_features = wire_get_u64(r);
    uint64_t features = wire_get_u64(r);
    uint32_t queue_sel = wire_get_u32(r);
    uint32_t int_status = wire_get_u32(r);
    uint32_t generation = wire_get_u32(r);
    uint32_t nqueues = wire_get_u32(r);

    if (r->bad)
        return ERR_TRUNCATED;
    /* The selects, QueueSel and the driver's feature bits hold whatever the
     * driver wrote; the rest is the device's and must be what it could have
     * made. */
    if ((status & ~0xffu) ||
        (int_status & ~(uint32_t)(VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG)))
        return ERR_RANGE;
    if ((features & ~virtio_mmio_offered(t)) ||
        (features && !(features & (1ull << VIRTIO_F_VERSION_1))))
        return ERR_RANGE;
    if ((status & VIRTIO_STATUS_FEATURES_OK) && features != drv_features)
        return ERR_STRUCTURE;
    if (nqueues != t->ops->nqueues)
        return ERR_MISMATCH;
    bool dead = status & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    for (unsigned i = 0; i < nqueues; i++) {
        struct virtqueue *q = &t->queues[i];
        int e = vq_state_get(q, r, t->ops->queue_max, &t->mem, !dead, apply);
        if (e < 0)
            return e;
        uint16_t signalled = wire_get_u16(r);
        if (r->bad)
            return ERR_TRUNCATED;
        if (apply)
            t->signalled[i] = signalled;
    }
    if (!apply)
        return 0;
    t->status = status;
    t->dev_features_sel = dev_sel;
    t->drv_features_sel = drv_sel;
    t->drv_features = drv_features;
    t->features = features;
    t->queue_sel = queue_sel;
    t->int_status = int_status;
    t->config_generation = generation;
    /* Driven even if unchanged: the controller may be fresh, or restored
     * from the same snapshot. */
    t->irq_level = int_status != 0;
    irq_line_set(&t->irq, t->irq_level);
    return 0;
}

long virtio_mmio_save(const struct virtio_mmio *ct, uint32_t version,
                      void (*put)(const void *dev, struct wire *w), void *buf, size_t size)
{
    /* Host-side input (frames, console bytes) may still arrive from other
     * harts while the VM is paused: the lock keeps the picture consistent.
     * t is not really const. */
    struct virtio_mmio *t = (struct virtio_mmio *)ct;
    struct wire w = wire_out(buf, size);

    spin_lock(&t->lock);
    wire_put_u32(&w, version);
    virtio_mmio_state_put(t, &w);
    if (put)
        put(t->dev, &w);
    spin_unlock(&t->lock);
    return wire_result(&w);
}

/* One pass over a device payload; lock held. */
static int vm_load_pass(struct virtio_mmio *t, uint32_t version,
                        int (*get)(void *dev, struct wire_in *r, bool apply), const void *buf,
                        size_t size, bool apply)
{
    struct wire_in r = wire_in(buf, size);

    if (wire_get_u32(&r) != version)
        return wire_refuse(&r, ERR_VERSION);
    int e = virtio_mmio_state_get(t, &r, apply);
    if (e == 0 && get)
        e = get(t->dev, &r, apply);
    return e < 0 ? wire_refuse(&r, e) : wire_end(&r);
}

int virtio_mmio_load(struct virtio_mmio *t, uint32_t version,
                     int (*get)(void *dev, struct wire_in *r, bool apply), const void *buf,
                     size_t size)
{
    spin_lock(&t->lock);
    int e = vm_load_pass(t, version, get, buf, size, false);
    if (e == 0)
        e = vm_load_pass(t, version, get, buf, size, true);
    spin_unlock(&t->lock);
    return e;
}
