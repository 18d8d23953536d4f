/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the host virtio drivers (drivers/hvirtio*.c), run against
 * Vireo's own device models (virtio-blk, -net, -rng) through the fake MMIO
 * space: the driver's pointers are the models' "guest physical" addresses,
 * reached through an identity guest_mem. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "drivers/hvirtio.h"
#include "drivers/hvirtio_blk.h"
#include "drivers/hvirtio_net.h"
#include "drivers/hvirtio_rng.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_net.h"
#include "devices/virtio_rng.h"
#include "devices/vswitch.h"
#include "lib/err.h"
#include "tests/unit/fake_arch.h"
#include "tests/unit/hvirtio_testlib.h"

#define BASE 0x1000 /* in the fake device space */

static void *ring_alloc(size_t n)
{
    void *p = aligned_alloc(4096, (n + 4095) & ~(size_t)4095);
    assert_non_null(p);
    return p;
}

/* ---- virtio-blk ------------------------------------------------------------- */

static uint8_t disk[1 << 20];
static unsigned flushes;

/* The model's backend: the disk array, at once, or held back (hold_all)
 * until released, for the driver's asynchronous and timeout paths. */
static bool hold_all;
static unsigned nheld;
static struct virtio_blk_req *held[64];

static int ram_submit(void *ctx, const struct blk_io *io)
{
    uint8_t *p = disk + io->sector * 512;

    (void)ctx;
    if (io->type == VIRTIO_BLK_T_FLUSH)
        flushes++;
    for (unsigned i = 0; i < io->nsegs; i++) {
        void *seg = (void *)(uintptr_t)io->segs[i].addr;
        if (io->type == VIRTIO_BLK_T_IN)
            memcpy(seg, p, io->segs[i].len);
        else
            memcpy(p, seg, io->segs[i].len);
        p += io->segs[i].len;
    }
    if (!hold_all)
        return 0;
    held[nheld++] = io->req;
    return BLK_PENDING;
}

static struct blk_backend ram_backend(uint64_t sectors, bool ro)
{
    return (struct blk_backend){.sectors = sectors, .read_only = ro, .submit = ram_submit};
}

/* Asynchronous completions, as the driver reports them. */
static unsigned ndone;
static void *done_tag[64];
static int done_result[64];

static void on_done(void *tag, int result)
{
    done_tag[ndone] = tag;
    done_result[ndone++] = result;
}

static void test_blk(void **state)
{
    (void)state;
    static struct virtio_blk model;
    static struct hvblk drv;
    struct blk_backend be = ram_backend(sizeof(disk) / 512, false);
    struct mmio_dev dev = {&virtio_mmio_ops, "blk", BASE, VIRTIO_MMIO_SIZE, &model.t};
    char err[160] = "";
    static uint8_t buf[3 * 4096], back[3 * 4096];

    virtio_blk_init(&model, &idmem, &noirq, &be, "hvtest");
    fake_mmio_route(&dev);
    void *ring = ring_alloc(hvirtio_ring_bytes(HVBLK_RING));
    void *tables = ring_alloc(HVBLK_TABLES_BYTES);
    if (hvblk_init(&drv, BASE, ring, tables, 1000000, err, sizeof(err)) < 0)
        fail_msg("hvblk_init: %s", err);
    assert_int_equal(drv.sectors, sizeof(disk) / 512);
    assert_false(drv.read_only);
    assert_true(drv.can_flush);

    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    assert_int_equal(hvblk_write(&drv, 100, buf, sizeof(buf)), 0);
    assert_memory_equal(disk + 100 * 512, buf, sizeof(buf));
    assert_int_equal(hvblk_read(&drv, 100, back, sizeof(back)), 0);
    assert_memory_equal(back, buf, sizeof(buf));
    assert_int_equal(hvblk_flush(&drv), 0);
    assert_int_equal(flushes, 1);
    /* Many requests: descriptors are recycled. */
    for (int i = 0; i < 100; i++)
        assert_int_equal(hvblk_read(&drv, (uint64_t)i, back, 512), 0);
    /* Refused by the driver before any request: outside, unaligned. */
    assert_int_equal(hvblk_read(&drv, drv.sectors, back, 512), ERR_RANGE);
    assert_int_equal(hvblk_read(&drv, drv.sectors - 1, back, 1024), ERR_RANGE);
    assert_int_equal(hvblk_read(&drv, 0, back, 100), ERR_INVAL);
    assert_int_equal(model.stats.errors, 0);
    fake_mmio_unroute();
    free(ring);
    free(tables);
}

/* The asynchronous path: slots reserved, requests of several segments
 * through indirect tables, one kick, completions by poll with their
 * tags; no more slots than HVBLK_SLOTS; a request the device never
 * answers fails the disk (reset) and completes everything with ERR_IO. */
static void test_blk_async(void **state)
{
    (void)state;
    static struct virtio_blk model;
    static struct hvblk drv;
    static uint8_t a[3 * 4096], b2[2048];
    struct blk_backend be = ram_backend(sizeof(disk) / 512, false);
    struct mmio_dev dev = {&virtio_mmio_ops, "blk", BASE, VIRTIO_MMIO_SIZE, &model.t};
    char err[160] = "";

    virtio_blk_init(&model, &idmem, &noirq, &be, "hvtest");
    fake_mmio_route(&dev);
    void *ring = ring_alloc(hvirtio_ring_bytes(HVBLK_RING));
    void *tables = ring_alloc(HVBLK_TABLES_BYTES);
    assert_int_equal(hvblk_init(&drv, BASE, ring, tables, 1000000, err, sizeof(err)), 0);
    hvblk_set_done(&drv, on_done);
    ndone = 0;
    hold_all = false;
    for (size_t i = 0; i < sizeof(a); i++)
        a[i] = (uint8_t)(i * 5 + 1);
    /* A write of three segments and a read of two, one kick. */
    struct gm_seg w[3] = {
        {(uintptr_t)a, 4096}, {(uintptr_t)a + 4096, 512}, {(uintptr_t)a + 4608, 7680}};
    struct gm_seg r[2] = {{(uintptr_t)b2, 1024}, {(uintptr_t)b2 + 1024, 1024}};
    assert_int_equal(hvblk_reserve(&drv, 2), 0);
    assert_int_equal(hvblk_submit(&drv, HVBLK_T_OUT, 8, w, 3, (void *)1), 0);
    assert_int_equal(hvblk_submit(&drv, HVBLK_T_IN, 8, r, 2, (void *)2), 0);
    hvblk_kick(&drv);
    assert_int_equal(hvblk_poll(&drv), 2);
    assert_int_equal(ndone, 2);
    assert_ptr_equal(done_tag[0], (void *)1);
    assert_ptr_equal(done_tag[1], (void *)2);
    assert_int_equal(done_result[0], 0);
    assert_int_equal(done_result[1], 0);
    assert_memory_equal(disk + 8 * 512, a, sizeof(a));
    assert_memory_equal(b2, a, sizeof(b2));
    assert_int_equal(hvblk_in_flight(&drv), 0);
    /* An interrupt raised after its completion was taken (by a waiter, or
     * another hart's poll) is acknowledged with nothing in flight: the
     * line is a level, and left up it would fire for ever. */
    model.t.int_status = VIRTIO_MMIO_INT_VRING;
    assert_int_equal(hvblk_poll(&drv), 0);
    assert_int_equal(model.t.int_status, 0);
    /* Refusals use up the slot, start nothing. */
    assert_int_equal(hvblk_reserve(&drv, 3), 0);
    assert_int_equal(hvblk_submit(&drv, HVBLK_T_IN, drv.sectors, r, 1, NULL), ERR_RANGE);
    struct gm_seg odd = {(uintptr_t)b2, 100};
    assert_int_equal(hvblk_submit(&drv, HVBLK_T_IN, 0, &odd, 1, NULL), ERR_INVAL);
    assert_int_equal(hvblk_submit(&drv, HVBLK_T_FLUSH, 0, NULL, 0, (void *)3), 0);
    hvblk_kick(&drv);
    assert_int_equal(hvblk_poll(&drv), 1);
    assert_int_equal(drv.reserved, 0);
    /* Slots run out: a reservation beyond them waits. */
    assert_int_equal(hvblk_reserve(&drv, HVBLK_SLOTS), 0);
    assert_int_equal(hvblk_reserve(&drv, 1), ERR_AGAIN);
    hvblk_unreserve(&drv, HVBLK_SLOTS);
    /* The device holds the requests: once overdue the disk fails, and
     * both complete with ERR_IO; nothing is taken afterwards. */
    hold_all = true;
    nheld = 0;
    ndone = 0;
    assert_int_equal(hvblk_reserve(&drv, 2), 0);
    assert_int_equal(hvblk_submit(&drv, HVBLK_T_IN, 0, r, 2, (void *)4), 0);
    assert_int_equal(hvblk_submit(&drv, HVBLK_T_IN, 4, r, 1, (void *)5), 0);
    hvblk_kick(&drv);
    assert_int_equal(nheld, 2);
    unsigned polls = 0;
    while (ndone < 2 && polls < 100000) {
        hvblk_poll(&drv);
        polls++;
    }
    assert_int_equal(ndone, 2);
    assert_int_equal(done_result[0], ERR_IO);
    assert_int_equal(done_result[1], ERR_IO);
    assert_true(drv.failed);
    assert_int_equal(hvblk_in_flight(&drv), 0);
    assert_int_equal(model.t.status, 0); /* the driver reset the device */
    /* The model's late completions go to no one. */
    for (unsigned i = 0; i < nheld; i++)
        virtio_blk_complete(held[i], 0);
    assert_int_equal(hvblk_reserve(&drv, 1), ERR_IO);
    assert_int_equal(hvblk_read(&drv, 0, b2, 512), ERR_IO);
    hold_all = false;
    fake_mmio_unroute();
    free(ring);
    free(tables);
}

static void test_blk_read_only(void **state)
{
    (void)state;
    static struct virtio_blk model;
    static struct hvblk drv;
    struct blk_backend be = ram_backend(64, true);
    struct mmio_dev dev = {&virtio_mmio_ops, "blk", BASE, VIRTIO_MMIO_SIZE, &model.t};
    char err[160];
    uint8_t buf[512] = {1};

    virtio_blk_init(&model, &idmem, &noirq, &be, "ro");
    fake_mmio_route(&dev);
    void *ring = ring_alloc(hvirtio_ring_bytes(HVBLK_RING));
    void *tables = ring_alloc(HVBLK_TABLES_BYTES);
    assert_int_equal(hvblk_init(&drv, BASE, ring, tables, 1000000, err, sizeof(err)), 0);
    assert_true(drv.read_only);
    assert_int_equal(hvblk_write(&drv, 0, buf, 512), ERR_NOTSUP);
    assert_int_equal(hvblk_flush(&drv), 0); /* nothing to flush */
    assert_int_equal(hvblk_read(&drv, 0, buf, 512), 0);
    fake_mmio_unroute();
    free(ring);
    free(tables);
}

/* ---- virtio-rng ------------------------------------------------------------- */

static size_t counting_entropy(void *ctx, void *buf, size_t n)
{
    uint8_t *c = ctx, *p = buf;
    for (size_t i = 0; i < n; i++)
        p[i] = (*c)++;
    return n;
}

static void test_rng(void **state)
{
    (void)state;
    static struct virtio_rng model;
    static struct hvrng drv;
    uint8_t next = 0, out[200];
    struct mmio_dev dev = {&virtio_mmio_ops, "rng", BASE, VIRTIO_MMIO_SIZE, &model.t};
    char err[160];

    virtio_rng_init(&model, &idmem, &noirq, counting_entropy, &next);
    fake_mmio_route(&dev);
    void *ring = ring_alloc(hvirtio_ring_bytes(HVRNG_QUEUE));
    assert_int_equal(hvrng_init(&drv, BASE, ring, 1000000, err, sizeof(err)), 0);
    assert_int_equal(hvrng_read(&drv, out, sizeof(out)), sizeof(out));
    for (size_t i = 0; i < sizeof(out); i++)
        assert_int_equal(out[i], (uint8_t)i);
    fake_mmio_unroute();
    free(ring);
}

/* ---- virtio-net --------------------------------------------------------------- */

static uint8_t seen[2048];
static size_t seen_len;
static unsigned seen_count;

static int capture(void *ctx, const struct vnet_hdr *h, const void *frame, size_t len)
{
    (void)h;
    (void)ctx;
    memcpy(seen, frame, len);
    seen_len = len;
    seen_count++;
    return 0;
}

static void deliver_count(void *ctx, const void *frame, size_t len)
{
    (void)ctx;
    memcpy(seen, frame, len);
    seen_len = len;
    seen_count++;
}

static void test_net(void **state)
{
    (void)state;
    static struct virtio_net model;
    static struct hvnet drv;
    static struct vswitch sw;
    struct vswitch_port other = {.name = "other", .deliver = capture};
    static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x42};
    struct mmio_dev dev = {&virtio_mmio_ops, "net", BASE, VIRTIO_MMIO_SIZE, &model.t};
    char err[160];
    uint8_t frame[60] = {0};

    vswitch_init(&sw);
    assert_int_equal(vswitch_attach(&sw, &other), 0);
    virtio_net_init(&model, &idmem, &noirq, mac, &sw);
    fake_mmio_route(&dev);
    void *rings = ring_alloc(2 * hvirtio_ring_bytes(HVNET_QUEUE));
    void *bufs = ring_alloc(HVNET_BUFS_BYTES);
    if (hvnet_init(&drv, BASE, rings, bufs, 1000000, err, sizeof(err)) < 0)
        fail_msg("hvnet_init: %s", err);
    assert_memory_equal(drv.mac, mac, 6);

    /* Driver -> model -> switch -> other port: a broadcast from the driver's MAC. */
    memset(frame, 0xff, 6);
    memcpy(frame + 6, mac, 6);
    frame[12] = 0x08;
    frame[20] = 0x5a;
    assert_int_equal(hvnet_send(&drv, frame, sizeof(frame)), 0);
    assert_int_equal(seen_count, 1);
    assert_int_equal(seen_len, sizeof(frame));
    assert_memory_equal(seen, frame, sizeof(frame));

    /* Other port -> switch -> model -> the driver's receive buffers. */
    uint8_t reply[64] = {0};
    memcpy(reply, mac, 6);
    reply[6] = 0x02;
    reply[11] = 0x77;
    reply[30] = 0xa5;
    seen_count = 0;
    for (int i = 0; i < 3 * HVNET_QUEUE; i++) { /* more than the ring: buffers come back */
        vswitch_send(&sw, &other, reply, sizeof(reply));
        assert_int_equal(hvnet_poll(&drv, deliver_count, NULL), 1);
    }
    assert_int_equal(seen_count, 3 * HVNET_QUEUE);
    assert_int_equal(seen_len, sizeof(reply));
    assert_memory_equal(seen, reply, sizeof(reply));
    assert_int_equal(hvnet_poll(&drv, deliver_count, NULL), 0);
    /* Too big for one buffer: refused before the device. */
    static uint8_t big[HVNET_BUF];
    assert_int_equal(hvnet_send(&drv, big, sizeof(big)), ERR_INVAL);
    virtio_net_detach(&model);
    fake_mmio_unroute();
    free(rings);
    free(bufs);
}

/* ---- the transport, against a scripted register file --------------------------- */

static void set32(uintptr_t addr, uint32_t v)
{
    memcpy(&fake_mmio[addr], &v, 4);
}

static void test_legacy_and_missing(void **state)
{
    (void)state;
    struct hvirtio h;
    char err[200];

    memset(fake_mmio, 0, 0x2000);
    assert_int_equal(hvirtio_open(&h, BASE, 0, err, sizeof(err)), ERR_NOENT);
    assert_string_equal(err, "no virtio device at 0x1000");
    set32(BASE + VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_MAGIC);
    set32(BASE + VIRTIO_MMIO_VERSION, 1);
    set32(BASE + VIRTIO_MMIO_DEVICE_ID, 2);
    assert_int_equal(hvirtio_open(&h, BASE, 0, err, sizeof(err)), ERR_VERSION);
    assert_string_equal(err, "virtio-mmio at 0x1000 is version 1 (legacy); Vireo drives version 2 "
                             "(QEMU: -global virtio-mmio.force-legacy=false)");
    uint32_t id, version;
    assert_int_equal(hvirtio_probe(BASE, &id, &version), 0);
    assert_int_equal(id, 2);
    assert_int_equal(version, 1);
    assert_int_equal(hvirtio_probe(BASE + 0x1000, &id, &version), ERR_NOENT);
}

/* A device that returns garbage in the used ring is caught, not followed. */
static void test_used_garbage(void **state)
{
    (void)state;
    struct hvirtio h;
    char err[200];
    uint8_t data[16];

    memset(fake_mmio, 0, 0x2000);
    set32(BASE + VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_MAGIC);
    set32(BASE + VIRTIO_MMIO_VERSION, 2);
    set32(BASE + VIRTIO_MMIO_DEVICE_ID, 4);
    /* DeviceFeatures reads the same for both selectors: VERSION_1 is bit 0
     * of the high word, so offer bit 0 in both. */
    set32(BASE + VIRTIO_MMIO_DEVICE_FEATURES, 1);
    set32(BASE + VIRTIO_MMIO_QUEUE_NUM_MAX, 8);
    /* Status reads back what was written last: FEATURES_OK stays set. */
    assert_int_equal(hvirtio_open(&h, BASE, 0, err, sizeof(err)), 0);
    void *ring = ring_alloc(hvirtio_ring_bytes(8));
    assert_int_equal(hvirtio_queue(&h, 0, 8, ring, err, sizeof(err)), 0);
    struct hv_buf b = {data, sizeof(data), true};
    int head = hvirtio_post(&h, 0, &b, 1);
    assert_true(head >= 0);
    uint32_t len;
    assert_int_equal(hvirtio_used(&h, 0, &len), ERR_AGAIN); /* nothing yet */
    /* The "device" returns id 200 (no such descriptor). */
    volatile uint8_t *used = h.q[0].used;
    used[4] = 200;
    used[2] = 1;
    assert_int_equal(hvirtio_used(&h, 0, &len), ERR_BROKEN);
    /* Timeouts end a wait. */
    head = hvirtio_post(&h, 0, &b, 1);
    assert_int_equal(hvirtio_wait(&h, 0, head, &len, 5000), ERR_IO);
    /* Out of descriptors: refused. */
    struct hv_buf many[9];
    for (int i = 0; i < 9; i++)
        many[i] = b;
    assert_int_equal(hvirtio_post(&h, 0, many, 9), ERR_NOSPC);
    free(ring);
}

static int unroute(void **state)
{
    (void)state;
    fake_mmio_unroute();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_blk, unroute),
        cmocka_unit_test_teardown(test_blk_read_only, unroute),
        cmocka_unit_test_teardown(test_blk_async, unroute),
        cmocka_unit_test_teardown(test_rng, unroute),
        cmocka_unit_test_teardown(test_net, unroute),
        cmocka_unit_test(test_legacy_and_missing),
        cmocka_unit_test(test_used_garbage),
    };

    return cmocka_run_group_tests_name("hvirtio", tests, NULL, NULL);
}
