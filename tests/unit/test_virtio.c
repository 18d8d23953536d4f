/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-mmio transport, split virtqueues and virtio-rng: the registers,
 * feature negotiation, queue setup, status and reset, rng requests as
 * Linux's driver makes them, interrupt suppression, indirect descriptors,
 * and hostile rings (loops, bad indices, huge lengths, rings outside RAM),
 * plus a fixed-seed mutation loop over ring memory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "devices/virtio_mmio.h"
#include "devices/virtio_rng.h"
#include "devices/virtqueue.h"
#include "lib/wire.h"

/* Guest RAM: a host buffer standing for [RAM_BASE, RAM_BASE + RAM_SIZE). */
#define RAM_BASE 0x80000000ull
#define RAM_SIZE 0x40000ull
static uint8_t ram[RAM_SIZE];
static unsigned long mem_accesses;

static int fake_read(void *ctx, uint64_t gpa, void *dst, size_t n)
{
    assert_ptr_equal(ctx, ram);
    mem_accesses++;
    if (gpa < RAM_BASE || n > RAM_SIZE || gpa - RAM_BASE > RAM_SIZE - n)
        return -1;
    memcpy(dst, ram + (gpa - RAM_BASE), n);
    return 0;
}

static int fake_write(void *ctx, uint64_t gpa, const void *src, size_t n)
{
    assert_ptr_equal(ctx, ram);
    mem_accesses++;
    if (gpa < RAM_BASE || n > RAM_SIZE || gpa - RAM_BASE > RAM_SIZE - n)
        return -1;
    memcpy(ram + (gpa - RAM_BASE), src, n);
    return 0;
}

static const struct guest_mem mem = {.read = fake_read, .write = fake_write, .ctx = ram};

/* The interrupt line. */
static bool irq_level;
static unsigned irq_calls;
static struct virtio_rng rng;

static void fake_set_level(void *ctl, unsigned source, bool level)
{
    assert_ptr_equal(ctl, &rng);
    assert_int_equal(source, 7);
    irq_level = level;
    irq_calls++;
}

/* Entropy: a predictable byte stream, so tests can check what landed. */
static uint8_t entropy_next;
static size_t entropy_limit; /* bytes left before the source runs dry */

static size_t fake_entropy(void *ctx, void *buf, size_t n)
{
    assert_ptr_equal(ctx, &entropy_next);
    if (n > entropy_limit)
        n = entropy_limit;
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)buf)[i] = (uint8_t)(0x5a ^ entropy_next++);
    entropy_limit -= n;
    return n;
}

static struct mmio_dev dev;

static int setup(void **state)
{
    (void)state;
    const struct irq_line line = {fake_set_level, &rng, 7};

    memset(ram, 0, sizeof(ram));
    mem_accesses = 0;
    irq_level = false;
    irq_calls = 0;
    entropy_next = 0;
    entropy_limit = SIZE_MAX;
    virtio_rng_init(&rng, &mem, &line, fake_entropy, &entropy_next);
    dev = (struct mmio_dev){&virtio_mmio_ops, "virtio-rng", 0x10001000, VIRTIO_MMIO_SIZE, &rng.t};
    return 0;
}

static uint32_t rd(uint64_t off)
{
    uint64_t v = 0xdeadbeefdeadull;
    assert_int_equal(dev.ops->read(&dev, off, 4, &v), 0);
    assert_true(v <= 0xffffffffull);
    return (uint32_t)v;
}

static void wr(uint64_t off, uint32_t v)
{
    assert_int_equal(dev.ops->write(&dev, off, 4, v), 0);
}

/* ---- guest memory helpers (little-endian) ---- */

static uint8_t *at(uint64_t gpa)
{
    assert_true(gpa >= RAM_BASE && gpa < RAM_BASE + RAM_SIZE);
    return ram + (gpa - RAM_BASE);
}

static void put16(uint64_t gpa, uint16_t v)
{
    uint8_t *p = at(gpa);
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint64_t gpa, uint32_t v)
{
    put16(gpa, (uint16_t)v);
    put16(gpa + 2, (uint16_t)(v >> 16));
}

static void put64(uint64_t gpa, uint64_t v)
{
    put32(gpa, (uint32_t)v);
    put32(gpa + 4, (uint32_t)(v >> 32));
}

static uint16_t get16(uint64_t gpa)
{
    uint8_t *p = at(gpa);
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(uint64_t gpa)
{
    return get16(gpa) | (uint32_t)get16(gpa + 2) << 16;
}

/* ---- a driver, laid out like Linux's split ring ---- */

#define DESC   (RAM_BASE + 0x1000)
#define AVAIL  (RAM_BASE + 0x3000)
#define USED   (RAM_BASE + 0x4000)
#define INDIR  (RAM_BASE + 0x8000)
#define BUF(i) (RAM_BASE + 0x10000 + 0x1000 * (uint64_t)(i))

#define F_INDIRECT (1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT    (1ull << VIRTIO_RING_F_EVENT_IDX)
#define F_V1       (1ull << VIRTIO_F_VERSION_1)

static uint16_t qnum;
static uint16_t avail_idx;
static uint16_t used_seen;

/* Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns the status
 * read back. */
static uint32_t drv_negotiate(uint64_t features)
{
    wr(VIRTIO_MMIO_STATUS, 0);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    wr(VIRTIO_MMIO_STATUS,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    return rd(VIRTIO_MMIO_STATUS);
}

/* Like Linux, the driver hands the device zeroed rings. */
static void zero_ring(uint64_t gpa, uint64_t size)
{
    if (gpa >= RAM_BASE && gpa < RAM_BASE + RAM_SIZE && size <= RAM_BASE + RAM_SIZE - gpa)
        memset(at(gpa), 0, size);
}

static void drv_queue_at(uint16_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
    zero_ring(desc, 16 * (uint64_t)num);
    zero_ring(avail, 6 + 2 * (uint64_t)num);
    zero_ring(used, 6 + 8 * (uint64_t)num);
    wr(VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(VIRTIO_MMIO_QUEUE_NUM, num);
    wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
    wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
    wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
    wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
    wr(VIRTIO_MMIO_QUEUE_READY, 1);
    qnum = num;
    avail_idx = 0;
    used_seen = 0;
}

/* A working device with queue 0 of size num. */
static void drv_start(uint64_t features, uint16_t num)
{
    assert_true(drv_negotiate(features | F_V1) & VIRTIO_STATUS_FEATURES_OK);
    drv_queue_at(num, DESC, AVAIL, USED);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 1);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                               VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

static void set_desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    uint64_t d = table + 16 * (uint64_t)i;
    put64(d, addr);
    put32(d + 8, len);
    put16(d + 12, flags);
    put16(d + 14, next);
}

static void avail_add(uint16_t head)
{
    put16(AVAIL + 4 + 2 * (uint64_t)(avail_idx % qnum), head);
    avail_idx++;
    put16(AVAIL + 2, avail_idx);
}

static void kick(void)
{
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

static uint16_t used_idx(void)
{
    return get16(USED + 2);
}

static void used_elem(uint16_t i, uint32_t *id, uint32_t *len)
{
    uint64_t e = USED + 4 + 8 * (uint64_t)(i % qnum);
    *id = get32(e);
    *len = get32(e + 4);
}

static void assert_needs_reset(void)
{
    assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_true(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
    assert_true(irq_level);
}

static void assert_healthy(void)
{
    assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    assert_false(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
}

/* The bytes fake_entropy produced from stream position first. */
static void assert_entropy(uint64_t gpa, uint32_t len, uint8_t first)
{
    for (uint32_t i = 0; i < len; i++)
        assert_int_equal(*at(gpa + i), (uint8_t)(0x5a ^ (uint8_t)(first + i)));
}

/* ---- tests ---- */

static void test_identity(void **state)
{
    (void)state;
    uint64_t v;

    assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
    assert_int_equal(rd(VIRTIO_MMIO_VERSION), 2);
    assert_int_equal(rd(VIRTIO_MMIO_DEVICE_ID), 4);
    assert_int_equal(rd(VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
    assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
    assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    /* Registers are 32-bit only; config space takes 1, 2, 4. */
    assert_int_equal(dev.ops->read(&dev, VIRTIO_MMIO_MAGIC_VALUE, 1, &v), ERR_NOTSUP);
    assert_int_equal(dev.ops->read(&dev, VIRTIO_MMIO_MAGIC_VALUE, 2, &v), ERR_NOTSUP);
    assert_int_equal(dev.ops->read(&dev, VIRTIO_MMIO_MAGIC_VALUE, 8, &v), ERR_NOTSUP);
    assert_int_equal(dev.ops->write(&dev, VIRTIO_MMIO_STATUS, 1, 1), ERR_NOTSUP);
    assert_int_equal(dev.ops->read(&dev, VIRTIO_MMIO_MAGIC_VALUE + 1, 4, &v), ERR_NOTSUP);
    assert_int_equal(dev.ops->read(&dev, VIRTIO_MMIO_CONFIG, 8, &v), ERR_NOTSUP);
    assert_int_equal(dev.ops->read(&dev, VIRTIO_MMIO_CONFIG, 1, &v), 0);
    assert_int_equal(v, 0); /* rng: no config space */
    assert_int_equal(dev.ops->write(&dev, VIRTIO_MMIO_CONFIG, 4, 1), 0);
    /* One queue of 256. */
    wr(VIRTIO_MMIO_QUEUE_SEL, 0);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_RNG_QUEUE_MAX);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
    wr(VIRTIO_MMIO_QUEUE_SEL, 1);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    wr(VIRTIO_MMIO_QUEUE_READY, 1);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1); /* no such queue: ignored */
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
    assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
}

static void test_features(void **state)
{
    (void)state;

    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint32_t lo = rd(VIRTIO_MMIO_DEVICE_FEATURES);
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    uint32_t hi = rd(VIRTIO_MMIO_DEVICE_FEATURES);
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
    assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
    assert_int_equal(lo, F_INDIRECT | F_EVENT);
    assert_int_equal(hi, 1); /* VERSION_1 */

    /* A legacy driver (no VERSION_1): FEATURES_OK does not stick. */
    uint32_t s = drv_negotiate(F_INDIRECT);
    assert_false(s & VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(s, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    /* A bit the device never offered: refused too. */
    assert_false(drv_negotiate(F_V1 | (1ull << 40)) & VIRTIO_STATUS_FEATURES_OK);
    assert_false(drv_negotiate(F_V1 | 1) & VIRTIO_STATUS_FEATURES_OK);
    /* VERSION_1 alone, or with the ring features: accepted. */
    assert_true(drv_negotiate(F_V1) & VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(rng.t.features, F_V1);
    assert_true(drv_negotiate(F_V1 | F_EVENT | F_INDIRECT) & VIRTIO_STATUS_FEATURES_OK);
    assert_int_equal(rng.t.features, F_V1 | F_EVENT | F_INDIRECT);
    /* Once FEATURES_OK is set, DriverFeatures is frozen. */
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
    assert_int_equal(rng.t.features, F_V1 | F_EVENT | F_INDIRECT);
    assert_healthy();
}

static void test_queue_setup(void **state)
{
    (void)state;
    static const uint32_t bad[] = {0, 3, 12, 512, 0x10000, 0xffffffff};

    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_true(drv_negotiate(F_V1) & VIRTIO_STATUS_FEATURES_OK);
        assert_false(irq_level);
        wr(VIRTIO_MMIO_QUEUE_SEL, 0);
        wr(VIRTIO_MMIO_QUEUE_NUM, bad[i]);
        wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC);
        wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)AVAIL);
        wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)USED);
        wr(VIRTIO_MMIO_QUEUE_READY, 1);
        assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
        assert_needs_reset();
    }
    /* Misaligned rings, and rings wrapping the address space. */
    const uint64_t rings[][3] = {
        {DESC + 8, AVAIL, USED},
        {DESC, AVAIL + 1, USED},
        {DESC, AVAIL, USED + 2},
        {0xfffffffffffffff0ull, AVAIL, USED},
        {DESC, 0xfffffffffffffffeull, USED},
        {DESC, AVAIL, 0xfffffffffffffffcull},
    };
    for (unsigned i = 0; i < sizeof(rings) / sizeof(rings[0]); i++) {
        assert_true(drv_negotiate(F_V1) & VIRTIO_STATUS_FEATURES_OK);
        drv_queue_at(16, rings[i][0], rings[i][1], rings[i][2]);
        assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
        assert_needs_reset();
    }
    /* Good ones, up to QueueNumMax. */
    for (uint32_t n = 1; n <= VIRTIO_RNG_QUEUE_MAX; n *= 2) {
        assert_true(drv_negotiate(F_V1) & VIRTIO_STATUS_FEATURES_OK);
        drv_queue_at((uint16_t)n, DESC, AVAIL, USED);
        assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 1);
        assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM), n);
        assert_int_equal(rd(VIRTIO_MMIO_QUEUE_DESC_LOW), (uint32_t)DESC);
        /* Frozen while ready. */
        wr(VIRTIO_MMIO_QUEUE_NUM, 2 * n);
        wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
        assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM), n);
        assert_int_equal(rd(VIRTIO_MMIO_QUEUE_DESC_LOW), (uint32_t)DESC);
        assert_healthy();
    }
    /* QueueReady 0 takes the queue down. */
    wr(VIRTIO_MMIO_QUEUE_READY, 0);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
}

static void test_status_reset(void **state)
{
    (void)state;

    drv_start(0, 16);
    assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0x0f);
    /* The driver cannot set NEEDS_RESET itself. */
    wr(VIRTIO_MMIO_STATUS, 0x4f);
    assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0x0f);
    /* Break it, then check it sticks through status writes ... */
    drv_queue_at(16, DESC, AVAIL, USED); /* ignored: ready */
    avail_add(99);
    kick();
    assert_needs_reset();
    wr(VIRTIO_MMIO_STATUS, 0x8f);
    assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0xcf);
    /* ... until the reset clears everything. */
    wr(VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
    assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    assert_false(irq_level);
    wr(VIRTIO_MMIO_QUEUE_SEL, 0);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM), 0);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_DESC_LOW), 0);
    assert_int_equal(rng.t.features, 0);
    /* And the device works again. */
    memset(ram, 0, sizeof(ram));
    drv_start(0, 16);
    set_desc(DESC, 0, BUF(0), 16, VRING_DESC_F_WRITE, 0);
    avail_add(0);
    kick();
    assert_int_equal(used_idx(), 1);
    assert_healthy();
}

static void test_rng_request(void **state)
{
    (void)state;
    uint32_t id, len;

    drv_start(0, 16);
    /* Linux's virtio-rng: one device-writable buffer per request. */
    set_desc(DESC, 3, BUF(0), 64, VRING_DESC_F_WRITE, 0);
    avail_add(3);
    assert_false(irq_level);
    kick();
    assert_int_equal(used_idx(), 1);
    used_elem(0, &id, &len);
    assert_int_equal(id, 3);
    assert_int_equal(len, 64);
    assert_entropy(BUF(0), 64, 0);
    assert_int_equal(*at(BUF(0) + 64), 0); /* not a byte more */
    assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
    assert_true(irq_level);
    wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    assert_false(irq_level);

    /* Several at once, one a chain with a readable buffer first (ignored)
     * and two writable ones; one large (many entropy chunks). */
    set_desc(DESC, 0, BUF(1), 8, 0 | VRING_DESC_F_NEXT, 1);
    set_desc(DESC, 1, BUF(2), 10, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
    set_desc(DESC, 2, BUF(3), 20, VRING_DESC_F_WRITE, 0);
    set_desc(DESC, 5, BUF(4), 0x3000, VRING_DESC_F_WRITE, 0);
    avail_add(0);
    avail_add(5);
    unsigned calls = irq_calls;
    kick();
    assert_int_equal(irq_calls, calls + 1); /* one interrupt for both */
    assert_int_equal(used_idx(), 3);
    used_elem(1, &id, &len);
    assert_int_equal(id, 0);
    assert_int_equal(len, 30);
    assert_int_equal(*at(BUF(1)), 0);
    assert_entropy(BUF(2), 10, 64);
    assert_entropy(BUF(3), 20, 74);
    used_elem(2, &id, &len);
    assert_int_equal(id, 5);
    assert_int_equal(len, 0x3000);
    assert_entropy(BUF(4), 0x3000, 94);

    /* A source running dry: the request completes short. */
    wr(VIRTIO_MMIO_INTERRUPT_ACK, 3);
    entropy_limit = 5;
    set_desc(DESC, 6, BUF(5), 32, VRING_DESC_F_WRITE, 0);
    avail_add(6);
    kick();
    used_elem(3, &id, &len);
    assert_int_equal(id, 6);
    assert_int_equal(len, 5);

    /* Nothing new: no used entry, no interrupt. */
    wr(VIRTIO_MMIO_INTERRUPT_ACK, 3);
    kick();
    assert_int_equal(used_idx(), 4);
    assert_false(irq_level);
    /* Around the ring a few times. */
    entropy_limit = SIZE_MAX;
    for (unsigned i = 0; i < 40; i++) {
        set_desc(DESC, i % 16, BUF(6), 4, VRING_DESC_F_WRITE, 0);
        avail_add((uint16_t)(i % 16));
        kick();
        assert_int_equal(used_idx(), (uint16_t)(5 + i));
    }
    assert_healthy();
}

static void test_not_ready(void **state)
{
    (void)state;

    /* Notifications before DRIVER_OK do nothing. */
    assert_true(drv_negotiate(F_V1) & VIRTIO_STATUS_FEATURES_OK);
    drv_queue_at(16, DESC, AVAIL, USED);
    set_desc(DESC, 0, BUF(0), 16, VRING_DESC_F_WRITE, 0);
    avail_add(0);
    kick();
    assert_int_equal(used_idx(), 0);
    assert_int_equal(*at(BUF(0)), 0);
}

static void test_no_interrupt(void **state)
{
    (void)state;

    drv_start(0, 16);
    put16(AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
    set_desc(DESC, 0, BUF(0), 16, VRING_DESC_F_WRITE, 0);
    avail_add(0);
    kick();
    assert_int_equal(used_idx(), 1);
    assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    assert_false(irq_level);
    /* Flag cleared: interrupts again. */
    put16(AVAIL, 0);
    avail_add(0);
    kick();
    assert_int_equal(used_idx(), 2);
    assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 1);
    assert_true(irq_level);
}

static void test_event_idx(void **state)
{
    (void)state;
    const uint64_t used_event = AVAIL + 4 + 2 * 16;
    const uint64_t avail_event = USED + 4 + 8 * 16;

    drv_start(F_EVENT, 16);
    set_desc(DESC, 0, BUF(0), 16, VRING_DESC_F_WRITE, 0);
    /* NO_INTERRUPT is ignored with EVENT_IDX; used_event 0: interrupt
     * when the used index passes 0. */
    put16(AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
    put16(used_event, 0);
    avail_add(0);
    kick();
    assert_int_equal(used_idx(), 1);
    assert_int_equal(get16(avail_event), 1); /* the device wants the next kick */
    assert_true(irq_level);
    wr(VIRTIO_MMIO_INTERRUPT_ACK, 1);
    /* The driver asks for an interrupt once used entry 3 is filled. */
    put16(used_event, 3);
    for (unsigned i = 0; i < 2; i++) {
        avail_add(0);
        kick();
        assert_false(irq_level);
    }
    avail_add(0);
    kick(); /* used idx 3 -> 4 */
    assert_int_equal(used_idx(), 4);
    assert_true(irq_level);
    wr(VIRTIO_MMIO_INTERRUPT_ACK, 1);
    avail_add(0);
    kick(); /* used idx 4 -> 5: already past used_event */
    assert_false(irq_level);
    /* Several in one go crossing it. */
    put16(used_event, 6);
    avail_add(0);
    avail_add(0);
    avail_add(0);
    kick(); /* 5 -> 8 crosses 7 */
    assert_int_equal(used_idx(), 8);
    assert_int_equal(get16(avail_event), 8);
    assert_true(irq_level);
    assert_healthy();
}

/* Just the crossing arithmetic, with wrap-around. */
static void test_event_idx_wrap(void **state)
{
    (void)state;
    struct virtqueue q = {.num = 4, .ready = true, .event_idx = true};

    q.driver = AVAIL;
    put16(AVAIL + 4 + 2 * 4, 0xffff); /* used_event */
    q.used_idx = 0;
    assert_true(vq_should_notify(&q, &mem, 0xffff)); /* 0xffff -> 0 */
    q.used_idx = 0xffff;
    assert_false(vq_should_notify(&q, &mem, 0xfffe));
    q.used_idx = 2;
    assert_true(vq_should_notify(&q, &mem, 0xfffe));
    /* Unreadable ring: notify (harmless) rather than lose one. */
    q.driver = 0x1000;
    assert_true(vq_should_notify(&q, &mem, 1));
}

/* vq_need_event against the spec's rule written out longhand: event is
 * among the entries from old to new (modulo 2^16).  Every distance up to
 * 300 from many starting points, wrap-around included. */
static void test_need_event_rule(void **state)
{
    (void)state;
    static const uint16_t starts[] = {0, 1, 255, 256, 0x7fff, 0x8000, 0xff00, 0xfffe, 0xffff};

    for (unsigned s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
        for (unsigned moved = 0; moved <= 300; moved += 7) {
            uint16_t old = starts[s], new_idx = (uint16_t)(old + moved);
            for (int d = -5; d < 310; d++) {
                uint16_t ev = (uint16_t)(old + d);
                bool want = d >= 0 && (unsigned)d < moved;
                if (vq_need_event(ev, new_idx, old) != want)
                    fail_msg("vq_need_event(event %#x, new %#x, old %#x) = %d, expected %d", ev,
                             new_idx, old, !want, want);
            }
        }
    }
}

/* The device side of EVENT_IDX on a bare queue: avail_event is not moved
 * while chains are taken from a busy ring (the driver does not notify
 * then), and is set to last_avail once the ring is found empty; a
 * no_kicks queue puts it out of reach; vq_want_kick asks for the next
 * one; vq_unpop gives chains back. */
static void test_avail_event_busy(void **state)
{
    (void)state;
    struct virtqueue q = {.num = 16, .ready = true, .event_idx = true};
    const uint64_t avail_event = USED + 4 + 8 * 16;
    struct vq_buf b[4];
    unsigned count;

    q.desc = DESC;
    q.driver = AVAIL;
    q.device = USED;
    qnum = 16;
    avail_idx = 0;
    for (unsigned i = 0; i < 4; i++) {
        set_desc(DESC, i, BUF(i), 16, 0, 0);
        avail_add((uint16_t)i);
    }
    put16(avail_event, 0x1234);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(vq_pop(&q, &mem, b, 4, &count), (int)i);
        if (get16(avail_event) != 0x1234)
            fail_msg("avail_event moved to %#x while the ring was busy (chain %u)",
                     get16(avail_event), i);
    }
    /* The driver, adding a fifth chain now, would not notify. */
    assert_false(vq_need_event(get16(avail_event), 5, 4));
    assert_int_equal(vq_pop(&q, &mem, b, 4, &count), ERR_AGAIN);
    assert_int_equal(get16(avail_event), 4);
    assert_true(vq_need_event(get16(avail_event), 5, 4)); /* now it would */
    /* Give two back: the same chains come again. */
    avail_add(0);
    avail_add(1);
    assert_int_equal(vq_pop(&q, &mem, b, 4, &count), 0);
    assert_int_equal(vq_pop(&q, &mem, b, 4, &count), 1);
    vq_unpop(&q, 2);
    assert_int_equal(q.last_avail, 4);
    assert_int_equal(vq_pop(&q, &mem, b, 4, &count), 0);
    assert_int_equal(vq_pop(&q, &mem, b, 4, &count), 1);
    /* Stopping early: ask for the next notification. */
    put16(avail_event, 0);
    assert_int_equal(vq_want_kick(&q, &mem), 0);
    assert_int_equal(get16(avail_event), 6);
    /* A receive queue: the driver is never asked to notify. */
    q.no_kicks = true;
    assert_int_equal(vq_pop(&q, &mem, b, 4, &count), ERR_AGAIN);
    uint16_t ev = get16(avail_event);
    for (unsigned added = 1; added <= 16; added++)
        assert_false(vq_need_event(ev, (uint16_t)(6 + added), 6));
    /* vq_reset keeps no_kicks (a property of the queue, not its state),
     * and so does loading a queue's saved state. */
    vq_reset(&q);
    assert_true(q.no_kicks);
    uint8_t buf[64];
    struct wire w = wire_out(buf, sizeof(buf));
    struct virtqueue plain = {.num = 16};
    vq_state_put(&plain, &w);
    struct wire_in r = wire_in(buf, w.pos);
    assert_int_equal(vq_state_get(&q, &r, 16, &mem, false, true), 0);
    assert_true(q.no_kicks);
}

static void test_indirect(void **state)
{
    (void)state;
    uint32_t id, len;

    drv_start(F_INDIRECT, 8);
    set_desc(INDIR, 0, BUF(0), 12, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
    set_desc(INDIR, 2, BUF(1), 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    set_desc(INDIR, 1, BUF(2), 4, VRING_DESC_F_WRITE, 0);
    set_desc(DESC, 4, INDIR, 3 * 16, VRING_DESC_F_INDIRECT, 0);
    avail_add(4);
    kick();
    assert_int_equal(used_idx(), 1);
    used_elem(0, &id, &len);
    assert_int_equal(id, 4);
    assert_int_equal(len, 24);
    assert_entropy(BUF(0), 12, 0);
    assert_entropy(BUF(1), 8, 12);
    assert_entropy(BUF(2), 4, 20);
    assert_healthy();

    /* Not negotiated: an indirect descriptor is malformed. */
    drv_start(0, 8);
    set_desc(DESC, 4, INDIR, 3 * 16, VRING_DESC_F_INDIRECT, 0);
    avail_add(4);
    kick();
    assert_int_equal(used_idx(), 0);
    assert_needs_reset();
}

/* ---- hostile rings ---- */

/* Starts the device, lets build() write a bad ring, kicks, and checks
 * DEVICE_NEEDS_RESET, the config interrupt, nothing used and few memory
 * accesses. */
static void hostile(uint64_t features, void (*build)(void))
{
    drv_start(features | F_INDIRECT, 16);
    build();
    mem_accesses = 0;
    kick();
    assert_true(mem_accesses < 600);
    assert_int_equal(used_idx(), 0);
    assert_needs_reset();
    assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
    /* Further kicks do nothing. */
    mem_accesses = 0;
    kick();
    assert_int_equal(mem_accesses, 0);
    /* Reset recovers. */
    memset(ram, 0, sizeof(ram));
    drv_start(0, 16);
    set_desc(DESC, 0, BUF(0), 16, VRING_DESC_F_WRITE, 0);
    avail_add(0);
    kick();
    assert_int_equal(used_idx(), 1);
    assert_healthy();
}

static void build_loop(void)
{
    set_desc(DESC, 0, BUF(0), 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    set_desc(DESC, 1, BUF(1), 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
    avail_add(0);
}

static void build_self_loop(void)
{
    set_desc(DESC, 7, BUF(0), 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 7);
    avail_add(7);
}

static void build_head_range(void)
{
    avail_add(16);
}

static void build_next_range(void)
{
    set_desc(DESC, 0, BUF(0), 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0xffff);
    avail_add(0);
}

static void build_avail_jump(void)
{
    set_desc(DESC, 0, BUF(0), 16, VRING_DESC_F_WRITE, 0);
    avail_add(0);
    put16(AVAIL + 2, 17); /* 17 available in a ring of 16 */
}

static void build_huge_len(void)
{
    set_desc(DESC, 0, BUF(0), VIRTIO_RNG_MAX_CHAIN + 1, VRING_DESC_F_WRITE, 0);
    avail_add(0);
}

static void build_huge_total(void)
{
    /* Each under the cap, together over it. */
    set_desc(DESC, 0, BUF(0), VIRTIO_RNG_MAX_CHAIN / 2 + 1, VRING_DESC_F_WRITE | 1, 1);
    set_desc(DESC, 1, BUF(0), VIRTIO_RNG_MAX_CHAIN / 2 + 1, VRING_DESC_F_WRITE, 0);
    avail_add(0);
}

static void build_addr_overflow(void)
{
    set_desc(DESC, 0, 0xfffffffffffffff0ull, 0x100, VRING_DESC_F_WRITE, 0);
    avail_add(0);
}

static void build_buf_outside(void)
{
    set_desc(DESC, 0, RAM_BASE + RAM_SIZE - 8, 16, VRING_DESC_F_WRITE, 0);
    avail_add(0);
}

static void build_write_then_read(void)
{
    set_desc(DESC, 0, BUF(0), 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    set_desc(DESC, 1, BUF(1), 16, 0, 0);
    avail_add(0);
}

static void build_nested_indirect(void)
{
    set_desc(INDIR, 0, INDIR + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
    set_desc(DESC, 0, INDIR, 16, VRING_DESC_F_INDIRECT, 0);
    avail_add(0);
}

static void build_indirect_loop(void)
{
    set_desc(INDIR, 0, BUF(0), 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    set_desc(INDIR, 1, BUF(0), 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
    set_desc(DESC, 0, INDIR, 2 * 16, VRING_DESC_F_INDIRECT, 0);
    avail_add(0);
}

static void build_indirect_next_out(void)
{
    set_desc(INDIR, 0, BUF(0), 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    set_desc(DESC, 0, INDIR, 16, VRING_DESC_F_INDIRECT, 0); /* table of one */
    avail_add(0);
}

static void build_indirect_bad_len(void)
{
    set_desc(DESC, 0, INDIR, 24, VRING_DESC_F_INDIRECT, 0);
    avail_add(0);
}

static void build_indirect_outside(void)
{
    set_desc(DESC, 0, 0x1000, 64, VRING_DESC_F_INDIRECT, 0);
    avail_add(0);
}

static void build_indirect_huge(void)
{
    /* A table of 0x10000 entries, reaching outside RAM, all chained. */
    for (unsigned i = 0; i < 0x800; i++)
        set_desc(INDIR, i, BUF(0), 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, (uint16_t)(i + 1));
    set_desc(DESC, 0, INDIR, 0x100000, VRING_DESC_F_INDIRECT, 0);
    avail_add(0);
}

static void test_hostile_loop(void **s)
{
    (void)s;
    hostile(0, build_loop);
    hostile(0, build_self_loop);
}

static void test_hostile_index(void **s)
{
    (void)s;
    hostile(0, build_head_range);
    hostile(0, build_next_range);
    hostile(0, build_avail_jump);
}

static void test_hostile_length(void **s)
{
    (void)s;
    hostile(0, build_huge_len);
    hostile(0, build_huge_total);
    hostile(0, build_addr_overflow);
    hostile(0, build_buf_outside);
    hostile(0, build_write_then_read);
}

static void test_hostile_indirect(void **s)
{
    (void)s;
    hostile(0, build_nested_indirect);
    hostile(0, build_indirect_loop);
    hostile(0, build_indirect_next_out);
    hostile(0, build_indirect_bad_len);
    hostile(0, build_indirect_outside);
    hostile(0, build_indirect_huge);
}

static void test_ring_outside_ram(void **s)
{
    (void)s;
    /* Available ring outside RAM. */
    assert_true(drv_negotiate(F_V1) & VIRTIO_STATUS_FEATURES_OK);
    drv_queue_at(16, DESC, 0x1000, USED);
    assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 1);
    wr(VIRTIO_MMIO_STATUS, 0x0f);
    kick();
    assert_needs_reset();
    /* Descriptor table outside RAM. */
    assert_true(drv_negotiate(F_V1) & VIRTIO_STATUS_FEATURES_OK);
    drv_queue_at(16, RAM_BASE + RAM_SIZE, AVAIL, USED);
    wr(VIRTIO_MMIO_STATUS, 0x0f);
    avail_add(0);
    kick();
    assert_needs_reset();
    /* Used ring straddling the end of RAM. */
    assert_true(drv_negotiate(F_V1) & VIRTIO_STATUS_FEATURES_OK);
    drv_queue_at(16, DESC, AVAIL, RAM_BASE + RAM_SIZE - 64);
    wr(VIRTIO_MMIO_STATUS, 0x0f);
    set_desc(DESC, 0, BUF(0), 16, VRING_DESC_F_WRITE, 0);
    avail_idx = 0;
    for (unsigned i = 0; i < 16; i++)
        avail_add(0);
    kick();
    assert_needs_reset();
}

/* No guest memory at all (a device wired up without RAM): never touched. */
static void test_no_mem(void **s)
{
    (void)s;
    struct virtio_rng r2;
    struct mmio_dev d2 = {&virtio_mmio_ops, "virtio-rng", 0, VIRTIO_MMIO_SIZE, &r2.t};
    const struct guest_mem none = {0};
    uint64_t v;

    virtio_rng_init(&r2, &none, NULL, fake_entropy, &entropy_next);
    assert_int_equal(d2.ops->write(&d2, VIRTIO_MMIO_STATUS, 4, 0xf), 0);
    assert_int_equal(d2.ops->write(&d2, VIRTIO_MMIO_QUEUE_NOTIFY, 4, 0), 0);
    assert_int_equal(d2.ops->read(&d2, VIRTIO_MMIO_STATUS, 4, &v), 0);
}

/* ---- mutation loop ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t xorshift(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A valid ring with a mix of direct and indirect chains, then a few
 * random bytes of the rings changed; whatever happens, the device must not
 * crash or hang, and a broken device must say so. */
static void test_mutation(void **s)
{
    (void)s;
    const unsigned num = 16;
    unsigned broken = 0, served = 0;

    for (unsigned iter = 0; iter < 20000; iter++) {
        uint64_t feat = (xorshift() & 1 ? F_EVENT : 0) | (xorshift() & 1 ? F_INDIRECT : 0);

        memset(at(DESC), 0, 0x9000);
        drv_start(feat, (uint16_t)num);
        unsigned nreq = 1 + (unsigned)(xorshift() % num);
        for (unsigned i = 0; i < nreq; i++) {
            unsigned k = (unsigned)(xorshift() % 3);
            uint16_t head = (uint16_t)i;
            if (k == 2 && (feat & F_INDIRECT)) {
                uint64_t tab = INDIR + 0x40 * (uint64_t)i;
                set_desc(tab, 0, BUF(i), 8, VRING_DESC_F_NEXT, 1);
                set_desc(tab, 1, BUF(i) + 8, 24, VRING_DESC_F_WRITE, 0);
                set_desc(DESC, i, tab, 32, VRING_DESC_F_INDIRECT, 0);
            } else {
                set_desc(DESC, i, BUF(i), 32, VRING_DESC_F_WRITE, 0);
            }
            avail_add(head);
        }
        put16(AVAIL + 4 + 2 * num, (uint16_t)xorshift()); /* used_event */
        unsigned muts = 1 + (unsigned)(xorshift() % 4);
        for (unsigned m = 0; m < muts; m++) {
            uint64_t region = xorshift() % 3;
            uint64_t gpa = region == 0   ? DESC + xorshift() % (16 * num)
                           : region == 1 ? AVAIL + xorshift() % (6 + 2 * num)
                                         : INDIR + xorshift() % (0x40 * num);
            *at(gpa) = (uint8_t)xorshift();
        }
        mem_accesses = 0;
        kick();
        assert_true(mem_accesses < 20000);
        uint32_t st = rd(VIRTIO_MMIO_STATUS);
        if (st & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
            assert_true(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
            broken++;
        } else {
            assert_false(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
            served++;
            /* Whatever was used names a valid head and a sane length. */
            uint16_t u = used_idx();
            assert_true(u <= num);
            for (uint16_t i = 0; i < u; i++) {
                uint32_t id, len;
                used_elem(i, &id, &len);
                assert_true(id < num);
                assert_true(len <= VIRTIO_RNG_MAX_CHAIN);
            }
        }
    }
    /* The mutations exercise both outcomes. */
    assert_true(broken > 1000);
    assert_true(served > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_identity, setup),
        cmocka_unit_test_setup(test_features, setup),
        cmocka_unit_test_setup(test_queue_setup, setup),
        cmocka_unit_test_setup(test_status_reset, setup),
        cmocka_unit_test_setup(test_rng_request, setup),
        cmocka_unit_test_setup(test_not_ready, setup),
        cmocka_unit_test_setup(test_no_interrupt, setup),
        cmocka_unit_test_setup(test_event_idx, setup),
        cmocka_unit_test_setup(test_event_idx_wrap, setup),
        cmocka_unit_test_setup(test_need_event_rule, setup),
        cmocka_unit_test_setup(test_avail_event_busy, setup),
        cmocka_unit_test_setup(test_indirect, setup),
        cmocka_unit_test_setup(test_hostile_loop, setup),
        cmocka_unit_test_setup(test_hostile_index, setup),
        cmocka_unit_test_setup(test_hostile_length, setup),
        cmocka_unit_test_setup(test_hostile_indirect, setup),
        cmocka_unit_test_setup(test_ring_outside_ram, setup),
        cmocka_unit_test_setup(test_no_mem, setup),
        cmocka_unit_test_setup(test_mutation, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
