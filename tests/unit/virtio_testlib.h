/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers for the virtio device-model tests: a fake guest RAM, an
 * interrupt line that records its level, and a driver that sets up split
 * rings the way Linux's does.  Header-only; every function is static
 * inline so a test includes what it uses.  Include after <cmocka.h>. */
#ifndef VIREO_TESTS_UNIT_VIRTIO_TESTLIB_H
#define VIREO_TESTS_UNIT_VIRTIO_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "devices/mmio.h"
#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"
#include "lib/err.h"

#define VT_RAM_BASE 0x80000000ull
#define VT_RAM_SIZE 0x40000ull /* 256 KiB */

/* Default layout: queue q's rings at VT_QUEUE(q) (desc, avail + 0x1000,
 * used + 0x2000; room for 256 entries), indirect tables at VT_INDIR, data
 * buffers of 4 KiB at VT_BUF(i), i < 32. */
#define VT_QUEUE(q) (VT_RAM_BASE + 0x1000 + 0x4000 * (uint64_t)(q))
#define VT_INDIR    (VT_RAM_BASE + 0x19000)
#define VT_BUF(i)   (VT_RAM_BASE + 0x20000 + 0x1000 * (uint64_t)(i))

#define VT_F_INDIRECT (1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define VT_F_EVENT    (1ull << VIRTIO_RING_F_EVENT_IDX)
#define VT_F_V1       (1ull << VIRTIO_F_VERSION_1)

struct vt_queue {
    uint16_t num;
    uint64_t desc, avail, used;
    uint16_t avail_idx;
};

/* One device as a driver sees it: its RAM, its interrupt line, its
 * register window. */
struct vt_dev {
    uint8_t ram[VT_RAM_SIZE];
    unsigned long accesses; /* guest memory accesses by the device */
    uint64_t written_bytes; /* reported written through mapped segments */
    /* Bytes the device copied out of or into the data buffers (VT_BUF(0)
     * and above, not the rings) through read and write, and bytes it
     * translated with map: how many times a buffer's bytes were copied. */
    uint64_t buf_read, buf_write, mapped;
    struct guest_mem mem;
    struct irq_line irq;
    bool level;
    unsigned irq_calls;
    struct mmio_dev dev;
    struct vt_queue q[VIRTIO_MMIO_MAX_QUEUES];
};

static inline int vt_mem_read(void *ctx, uint64_t gpa, void *dst, size_t n)
{
    struct vt_dev *d = ctx;

    d->accesses++;
    if (gpa < VT_RAM_BASE || n > VT_RAM_SIZE || gpa - VT_RAM_BASE > VT_RAM_SIZE - n)
        return -1;
    memcpy(dst, d->ram + (gpa - VT_RAM_BASE), n);
    if (gpa >= VT_BUF(0))
        d->buf_read += n;
    return 0;
}

static inline int vt_mem_write(void *ctx, uint64_t gpa, const void *src, size_t n)
{
    struct vt_dev *d = ctx;

    d->accesses++;
    if (gpa < VT_RAM_BASE || n > VT_RAM_SIZE || gpa - VT_RAM_BASE > VT_RAM_SIZE - n)
        return -1;
    memcpy(d->ram + (gpa - VT_RAM_BASE), src, n);
    if (gpa >= VT_BUF(0))
        d->buf_write += n;
    return 0;
}

static inline void vt_set_level(void *ctl, unsigned source, bool level)
{
    struct vt_dev *d = ctl;

    assert_int_equal(source, 5);
    d->level = level;
    d->irq_calls++;
}

/* The checked translation over the fake RAM: one host segment per 4 KiB
 * page touched (never merged, so models see many), ERR_RANGE outside RAM,
 * ERR_NOSPC past max. */
static inline int vt_mem_map(void *ctx, uint64_t gpa, uint64_t n, struct gm_seg *segs, unsigned max)
{
    struct vt_dev *d = ctx;
    unsigned count = 0;

    d->accesses++;
    if (gpa < VT_RAM_BASE || n > VT_RAM_SIZE || gpa - VT_RAM_BASE > VT_RAM_SIZE - n)
        return ERR_RANGE;
    while (n) {
        uint64_t k = 4096 - (gpa & 4095);
        if (k > n)
            k = n;
        if (count == max)
            return ERR_NOSPC;
        segs[count++] = (struct gm_seg){(uintptr_t)(d->ram + (gpa - VT_RAM_BASE)), (uint32_t)k};
        d->mapped += k;
        gpa += k;
        n -= k;
    }
    return (int)count;
}

static inline void vt_mem_written(void *ctx, uint64_t gpa, uint64_t n)
{
    struct vt_dev *d = ctx;

    assert_true(gpa >= VT_RAM_BASE && n <= VT_RAM_SIZE && gpa - VT_RAM_BASE <= VT_RAM_SIZE - n);
    d->written_bytes += n;
}

/* Before the model's init: d->mem and d->irq are what it takes. */
static inline void vt_init(struct vt_dev *d)
{
    memset(d, 0, sizeof(*d));
    d->mem = (struct guest_mem){vt_mem_read, vt_mem_write, d, vt_mem_map, vt_mem_written};
    d->irq = (struct irq_line){vt_set_level, d, 5};
}

/* After the model's init: t is its struct virtio_mmio. */
static inline void vt_attach(struct vt_dev *d, struct virtio_mmio *t, const char *name)
{
    d->dev = (struct mmio_dev){&virtio_mmio_ops, name, 0x10001000, VIRTIO_MMIO_SIZE, t};
}

static inline uint32_t vt_rd(struct vt_dev *d, uint64_t off)
{
    uint64_t v = 0xdeadbeefdeadull;

    assert_int_equal(d->dev.ops->read(&d->dev, off, 4, &v), 0);
    assert_true(v <= 0xffffffffull);
    return (uint32_t)v;
}

static inline void vt_wr(struct vt_dev *d, uint64_t off, uint32_t v)
{
    assert_int_equal(d->dev.ops->write(&d->dev, off, 4, v), 0);
}

/* Config space, any width the transport accepts. */
static inline uint64_t vt_cfg(struct vt_dev *d, uint32_t off, unsigned width)
{
    uint64_t v = 0xdeadbeefdeadull;

    assert_int_equal(d->dev.ops->read(&d->dev, VIRTIO_MMIO_CONFIG + off, width, &v), 0);
    return v;
}

static inline uint8_t *vt_at(struct vt_dev *d, uint64_t gpa)
{
    assert_true(gpa >= VT_RAM_BASE && gpa < VT_RAM_BASE + VT_RAM_SIZE);
    return d->ram + (gpa - VT_RAM_BASE);
}

static inline void vt_put16(struct vt_dev *d, uint64_t gpa, uint16_t v)
{
    uint8_t *p = vt_at(d, gpa);
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void vt_put32(struct vt_dev *d, uint64_t gpa, uint32_t v)
{
    vt_put16(d, gpa, (uint16_t)v);
    vt_put16(d, gpa + 2, (uint16_t)(v >> 16));
}

static inline void vt_put64(struct vt_dev *d, uint64_t gpa, uint64_t v)
{
    vt_put32(d, gpa, (uint32_t)v);
    vt_put32(d, gpa + 4, (uint32_t)(v >> 32));
}

static inline uint16_t vt_get16(struct vt_dev *d, uint64_t gpa)
{
    uint8_t *p = vt_at(d, gpa);
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t vt_get32(struct vt_dev *d, uint64_t gpa)
{
    return vt_get16(d, gpa) | (uint32_t)vt_get16(d, gpa + 2) << 16;
}

/* Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns the status
 * read back. */
static inline uint32_t vt_negotiate(struct vt_dev *d, uint64_t features)
{
    vt_wr(d, VIRTIO_MMIO_STATUS, 0);
    vt_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    vt_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vt_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    vt_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    vt_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    vt_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    vt_wr(d, VIRTIO_MMIO_STATUS,
          VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    return vt_rd(d, VIRTIO_MMIO_STATUS);
}

/* All features the device offers. */
static inline uint64_t vt_offered(struct vt_dev *d)
{
    vt_wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint64_t lo = vt_rd(d, VIRTIO_MMIO_DEVICE_FEATURES);
    vt_wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    return lo | (uint64_t)vt_rd(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

static inline void vt_zero(struct vt_dev *d, uint64_t gpa, uint64_t size)
{
    if (gpa >= VT_RAM_BASE && gpa < VT_RAM_BASE + VT_RAM_SIZE &&
        size <= VT_RAM_BASE + VT_RAM_SIZE - gpa)
        memset(vt_at(d, gpa), 0, size);
}

/* Sets up queue q (zeroed rings, like Linux) and makes it ready. */
static inline void vt_queue_at(struct vt_dev *d, unsigned q, uint16_t num, uint64_t desc,
                               uint64_t avail, uint64_t used)
{
    vt_zero(d, desc, 16 * (uint64_t)num);
    vt_zero(d, avail, 6 + 2 * (uint64_t)num);
    vt_zero(d, used, 6 + 8 * (uint64_t)num);
    vt_wr(d, VIRTIO_MMIO_QUEUE_SEL, q);
    vt_wr(d, VIRTIO_MMIO_QUEUE_NUM, num);
    vt_wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    vt_wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    vt_wr(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
    vt_wr(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
    vt_wr(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
    vt_wr(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
    vt_wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
    d->q[q] = (struct vt_queue){num, desc, avail, used, 0};
}

static inline void vt_queue(struct vt_dev *d, unsigned q, uint16_t num)
{
    vt_queue_at(d, q, num, VT_QUEUE(q), VT_QUEUE(q) + 0x1000, VT_QUEUE(q) + 0x2000);
}

static inline void vt_driver_ok(struct vt_dev *d)
{
    vt_wr(d, VIRTIO_MMIO_STATUS,
          VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
              VIRTIO_STATUS_DRIVER_OK);
}

/* A working device: features (VERSION_1 added), queues 0..nq-1 of size
 * num, DRIVER_OK. */
static inline void vt_start(struct vt_dev *d, uint64_t features, unsigned nq, uint16_t num)
{
    assert_true(vt_negotiate(d, features | VT_F_V1) & VIRTIO_STATUS_FEATURES_OK);
    for (unsigned q = 0; q < nq; q++) {
        vt_queue(d, q, num);
        assert_int_equal(vt_rd(d, VIRTIO_MMIO_QUEUE_READY), 1);
    }
    vt_driver_ok(d);
}

/* Descriptor i of a table (a queue's d->q[q].desc, or an indirect one). */
static inline void vt_desc(struct vt_dev *d, uint64_t table, unsigned i, uint64_t addr,
                           uint32_t len, uint16_t flags, uint16_t next)
{
    uint64_t e = table + 16 * (uint64_t)i;
    vt_put64(d, e, addr);
    vt_put32(d, e + 8, len);
    vt_put16(d, e + 12, flags);
    vt_put16(d, e + 14, next);
}

/* Descriptor i of queue q's table. */
static inline void vt_qdesc(struct vt_dev *d, unsigned q, unsigned i, uint64_t addr, uint32_t len,
                            uint16_t flags, uint16_t next)
{
    vt_desc(d, d->q[q].desc, i, addr, len, flags, next);
}

static inline void vt_avail_add(struct vt_dev *d, unsigned q, uint16_t head)
{
    struct vt_queue *vq = &d->q[q];

    vt_put16(d, vq->avail + 4 + 2 * (uint64_t)(vq->avail_idx % vq->num), head);
    vq->avail_idx++;
    vt_put16(d, vq->avail + 2, vq->avail_idx);
}

static inline void vt_kick(struct vt_dev *d, unsigned q)
{
    vt_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static inline uint16_t vt_used_idx(struct vt_dev *d, unsigned q)
{
    return vt_get16(d, d->q[q].used + 2);
}

static inline void vt_used_elem(struct vt_dev *d, unsigned q, uint16_t i, uint32_t *id,
                                uint32_t *len)
{
    uint64_t e = d->q[q].used + 4 + 8 * (uint64_t)(i % d->q[q].num);
    *id = vt_get32(d, e);
    *len = vt_get32(d, e + 4);
}

static inline bool vt_needs_reset(struct vt_dev *d)
{
    return vt_rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
}

static inline void vt_assert_needs_reset(struct vt_dev *d)
{
    assert_true(vt_rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_true(vt_rd(d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
    assert_true(d->level);
}

static inline void vt_assert_healthy(struct vt_dev *d)
{
    assert_false(vt_rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_false(vt_rd(d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
}

static inline void vt_ack(struct vt_dev *d)
{
    vt_wr(d, VIRTIO_MMIO_INTERRUPT_ACK, vt_rd(d, VIRTIO_MMIO_INTERRUPT_STATUS));
}

/* Mutation helper: flips a few random bytes of queue q's descriptor table,
 * available ring and the indirect area.  next() is the test's PRNG. */
static inline void vt_mutate(struct vt_dev *d, unsigned q, uint64_t (*next)(void))
{
    unsigned num = d->q[q].num;
    unsigned muts = 1 + (unsigned)(next() % 4);

    for (unsigned m = 0; m < muts; m++) {
        uint64_t region = next() % 3;
        uint64_t gpa = region == 0   ? d->q[q].desc + next() % (16 * num)
                       : region == 1 ? d->q[q].avail + next() % (6 + 2 * num)
                                     : VT_INDIR + next() % 0x400;
        *vt_at(d, gpa) = (uint8_t)next();
    }
}

#endif
