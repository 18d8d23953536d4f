/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshot state of the virtio devices (transport, queues and each
 * device's own part): a round trip from a running device with requests
 * done and more posted into a fresh one on a copy of guest RAM (same bytes
 * saved again, the next request completes the same way on both), and
 * hostile payloads: every truncation, trailing bytes, every byte changed,
 * and each transport and queue field out of range (queue size, ring
 * addresses outside RAM or misaligned, indices, features, status bits),
 * each refused without changing the device, or taken exactly. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "devices/virtio_blk.h"
#include "devices/virtio_console.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_net.h"
#include "devices/virtio_rng.h"
#include "devices/virtqueue.h"
#include "lib/err.h"
#include "tests/unit/devstate_testlib.h"
#include "tests/unit/virtio_testlib.h"

static struct vt_dev da, db;
static uint8_t sa[DS_MAX], sb[DS_MAX];

/* Transport payload offsets (docs/snapshot-devices.md). */
#define T_STATUS   4
#define T_FEATURES 24
#define T_INT      36
#define T_NQUEUES  44
#define Q0         48 /* queue 0: num, flags, desc, driver, device, last_avail, used_idx */
#define Q_DESC     3
#define Q_DRIVER   11
#define Q_DEVICE   19
#define Q_LAST     27
#define Q_USED     29

/* b's guest as a's: the same RAM and driver view (the snapshot's RAM). */
static void copy_guest(void)
{
    memcpy(db.ram, da.ram, sizeof(db.ram));
    memcpy(db.q, da.q, sizeof(db.q));
}

static void round_trip(const struct ds_model *a, const struct ds_model *b)
{
    size_t n = ds_save(a, sa);

    ds_nospc(a);
    copy_guest();
    assert_int_equal(b->load(b->m, sa, n), 0);
    assert_int_equal(ds_save(b, sb), n);
    assert_memory_equal(sa, sb, n);
    assert_int_equal(db.level, da.level);
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Transport and queue 0 fields, each out of range. */
static void transport_fields(const struct ds_model *b, const uint8_t *good, size_t n, uint16_t max)
{
    uint16_t num = le16(good + Q0);

    ds_field_refused(b, good, n, T_STATUS, 0x100, 4, ERR_RANGE);
    ds_field_refused(b, good, n, T_INT, 4, 4, ERR_RANGE);
    ds_field_refused(b, good, n, T_FEATURES, VT_F_V1 | 1ull << 40, 8, ERR_RANGE); /* not offered */
    ds_field_refused(b, good, n, T_FEATURES, 1, 8, ERR_RANGE);                    /* no VERSION_1 */
    uint64_t drv = 0;
    for (int i = 7; i >= 0; i--)
        drv = drv << 8 | good[16 + i];
    ds_field_refused(b, good, n, T_FEATURES, drv ^ VT_F_INDIRECT, 8,
                     ERR_STRUCTURE); /* != driver's */
    ds_field_refused(b, good, n, T_NQUEUES, 9, 4, ERR_MISMATCH);
    ds_field_refused(b, good, n, Q0, (uint64_t)max * 2, 2, ERR_RANGE); /* above QueueNumMax */
    ds_field_refused(b, good, n, Q0, 3, 2, ERR_RANGE);                 /* not a power of 2 */
    ds_field_refused(b, good, n, Q0 + 2, 0x10, 1, ERR_RANGE);          /* unknown flag */
    ds_field_refused(b, good, n, Q0 + Q_DESC, VT_RAM_BASE + VT_RAM_SIZE, 8, ERR_RANGE);
    ds_field_refused(b, good, n, Q0 + Q_DESC, VT_QUEUE(0) + 8, 8, ERR_RANGE); /* misaligned */
    ds_field_refused(b, good, n, Q0 + Q_DESC, UINT64_MAX - 15, 8, ERR_RANGE); /* wraps */
    ds_field_refused(b, good, n, Q0 + Q_DRIVER, 0x1000, 8, ERR_RANGE);
    ds_field_refused(b, good, n, Q0 + Q_DEVICE, VT_RAM_BASE + VT_RAM_SIZE - 16, 8, ERR_RANGE);
    ds_field_refused(b, good, n, Q0 + Q_LAST, (uint16_t)(le16(good + Q0 + Q_USED) + num + 1), 2,
                     ERR_RANGE); /* more chains taken than the queue holds */
}

/* rng: a counter as entropy. */
static uint8_t ent_next;

static size_t entropy(void *ctx, void *buf, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)buf)[i] = ent_next++;
    return n;
}

static long rng_save(void *m, void *buf, size_t size)
{
    return virtio_rng_save(m, buf, size);
}

static int rng_load(void *m, const void *buf, size_t size)
{
    return virtio_rng_load(m, buf, size);
}

static struct virtio_rng ra, rb;
static const struct ds_model rng_a = {rng_save, rng_load, &ra}, rng_b = {rng_save, rng_load, &rb};

/* Two requests done, a third posted but not notified. */
static void rng_busy(void)
{
    vt_init(&da);
    vt_init(&db);
    virtio_rng_init(&ra, &da.mem, &da.irq, entropy, NULL);
    virtio_rng_init(&rb, &db.mem, &db.irq, entropy, NULL);
    vt_attach(&da, &ra.t, "virtio-rng");
    vt_attach(&db, &rb.t, "virtio-rng");
    vt_start(&da, VT_F_EVENT, 1, 16);
    for (unsigned i = 0; i < 3; i++)
        vt_qdesc(&da, 0, i, VT_BUF(i), 32, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&da, 0, 0);
    vt_avail_add(&da, 0, 1);
    vt_kick(&da, 0);
    vt_avail_add(&da, 0, 2);
    assert_int_equal(vt_used_idx(&da, 0), 2);
}

static void test_rng_round_trip(void **state)
{
    (void)state;
    rng_busy();
    round_trip(&rng_a, &rng_b);
    uint8_t e = ent_next;
    vt_kick(&da, 0);
    ent_next = e;
    vt_kick(&db, 0);
    assert_int_equal(vt_used_idx(&db, 0), 3);
    assert_memory_equal(da.ram, db.ram, sizeof(da.ram));
    assert_int_equal(vt_rd(&db, VIRTIO_MMIO_INTERRUPT_STATUS),
                     vt_rd(&da, VIRTIO_MMIO_INTERRUPT_STATUS));
}

static void test_rng_hostile(void **state)
{
    (void)state;
    rng_busy();
    round_trip(&rng_a, &rng_b);
    size_t n = ds_save(&rng_b, sa);
    assert_true(ds_hostile_sweep(&rng_b, sa, n) > 0);
    transport_fields(&rng_b, sa, n, VIRTIO_RNG_QUEUE_MAX);
    /* A device that already needs a reset never touches its rings: they
     * need not be RAM. */
    static uint8_t p[DS_MAX];
    memcpy(p, sa, n);
    ds_put_le(p + T_STATUS, 0x4f, 4);
    ds_put_le(p + Q0 + Q_DRIVER, 0x1000, 8);
    assert_int_equal(virtio_rng_load(&rb, p, n), 0);
}

/* console: typed input waits in the backlog before the driver is up. */
static char out_a[64], out_b[64];
static size_t out_a_len, out_b_len;

static void out_to_a(void *ctx, const char *buf, size_t n)
{
    (void)ctx;
    memcpy(out_a + out_a_len, buf, n);
    out_a_len += n;
}

static void out_to_b(void *ctx, const char *buf, size_t n)
{
    (void)ctx;
    memcpy(out_b + out_b_len, buf, n);
    out_b_len += n;
}

static long con_save(void *m, void *buf, size_t size)
{
    return virtio_console_save(m, buf, size);
}

static int con_load(void *m, const void *buf, size_t size)
{
    return virtio_console_load(m, buf, size);
}

static struct virtio_console ca, cb;
static const struct ds_model con_a = {con_save, con_load, &ca}, con_b = {con_save, con_load, &cb};

static void con_busy(void)
{
    vt_init(&da);
    vt_init(&db);
    out_a_len = out_b_len = 0;
    virtio_console_init(&ca, &da.mem, &da.irq, out_to_a, NULL);
    virtio_console_init(&cb, &db.mem, &db.irq, out_to_b, NULL);
    vt_attach(&da, &ca.t, "virtio-console");
    vt_attach(&db, &cb.t, "virtio-console");
    assert_int_equal(virtio_console_input(&ca, "typed", 5), 5);
    vt_start(&da, 0, 2, 16);
    /* One transmit done. */
    memcpy(vt_at(&da, VT_BUF(1)), "hi", 2);
    vt_qdesc(&da, 1, 0, VT_BUF(1), 2, 0, 0);
    vt_avail_add(&da, 1, 0);
    vt_kick(&da, 1);
    assert_int_equal(out_a_len, 2);
}

static void test_console_round_trip(void **state)
{
    (void)state;
    con_busy();
    round_trip(&con_a, &con_b);
    /* The backlog reaches the driver of the loaded device. */
    vt_qdesc(&db, 0, 0, VT_BUF(0), 64, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&db, 0, 0);
    vt_kick(&db, 0);
    uint32_t id, len;
    assert_int_equal(vt_used_idx(&db, 0), 1);
    vt_used_elem(&db, 0, 0, &id, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(vt_at(&db, VT_BUF(0)), "typed", 5);
    /* And transmit goes on from where it was. */
    memcpy(vt_at(&db, VT_BUF(2)), "yo", 2);
    vt_qdesc(&db, 1, 1, VT_BUF(2), 2, 0, 0);
    vt_avail_add(&db, 1, 1);
    vt_kick(&db, 1);
    assert_int_equal(out_b_len, 2);
    assert_memory_equal(out_b, "yo", 2);
    assert_int_equal(vt_used_idx(&db, 1), 2);
}

static void test_console_hostile(void **state)
{
    (void)state;
    con_busy();
    round_trip(&con_a, &con_b);
    size_t n = ds_save(&con_b, sa);
    assert_true(ds_hostile_sweep(&con_b, sa, n) > 0);
    transport_fields(&con_b, sa, n, VIRTIO_CONSOLE_QUEUE_MAX);
    size_t own = n - 4 - 5 - 1; /* backlog length, bytes, room_wanted */
    ds_field_refused(&con_b, sa, n, own, VIRTIO_CONSOLE_BACKLOG + 1, 4, ERR_RANGE);
    ds_field_refused(&con_b, sa, n, own, 0xffffffff, 4, ERR_RANGE);
    ds_field_refused(&con_b, sa, n, n - 1, 2, 1, ERR_RANGE);
}

/* blk: a RAM disk per device. */
#define SECTORS 16
static uint8_t disk_a[SECTORS * 512], disk_b[SECTORS * 512];

/* The RAM disk at once: the data between it and the guest's pages. */
static int dsubmit(void *ctx, const struct blk_io *io)
{
    uint8_t *p = (uint8_t *)ctx + io->sector * 512;

    for (unsigned i = 0; i < io->nsegs; i++) {
        void *seg = (void *)(uintptr_t)io->segs[i].addr;
        if (io->type == VIRTIO_BLK_T_IN)
            memcpy(seg, p, io->segs[i].len);
        else if (io->type == VIRTIO_BLK_T_OUT)
            memcpy(p, seg, io->segs[i].len);
        p += io->segs[i].len;
    }
    return 0;
}

static long blk_save(void *m, void *buf, size_t size)
{
    return virtio_blk_save(m, buf, size);
}

static int blk_load(void *m, const void *buf, size_t size)
{
    return virtio_blk_load(m, buf, size);
}

static struct virtio_blk ba, bb;
static const struct ds_model blk_a = {blk_save, blk_load, &ba}, blk_b = {blk_save, blk_load, &bb};

/* Request k: header at BUF(3k), data at BUF(3k+1), status at BUF(3k+2);
 * descriptors 3k..3k+2. */
static void blk_post(struct vt_dev *d, unsigned k, uint32_t type, uint64_t sector)
{
    uint64_t h = VT_BUF(3 * k);
    unsigned i = 3 * k;
    uint16_t dflag = type == VIRTIO_BLK_T_IN ? VRING_DESC_F_WRITE : 0;

    vt_put32(d, h, type);
    vt_put32(d, h + 4, 0);
    vt_put64(d, h + 8, sector);
    vt_qdesc(d, 0, i, h, 16, VRING_DESC_F_NEXT, (uint16_t)(i + 1));
    vt_qdesc(d, 0, i + 1, VT_BUF(3 * k + 1), 512, dflag | VRING_DESC_F_NEXT, (uint16_t)(i + 2));
    vt_qdesc(d, 0, i + 2, VT_BUF(3 * k + 2), 1, VRING_DESC_F_WRITE, 0);
    vt_avail_add(d, 0, (uint16_t)i);
}

static void blk_busy(uint64_t sectors_b)
{
    struct blk_backend be_a = {.sectors = SECTORS, .submit = dsubmit, .ctx = disk_a};
    struct blk_backend be_b = {.sectors = sectors_b, .submit = dsubmit, .ctx = disk_b};

    for (unsigned i = 0; i < sizeof(disk_a); i++)
        disk_a[i] = disk_b[i] = (uint8_t)(i * 13);
    vt_init(&da);
    vt_init(&db);
    virtio_blk_init(&ba, &da.mem, &da.irq, &be_a, "a");
    virtio_blk_init(&bb, &db.mem, &db.irq, &be_b, "a");
    vt_attach(&da, &ba.t, "virtio-blk");
    vt_attach(&db, &bb.t, "virtio-blk");
    vt_start(&da, VT_F_EVENT | VT_F_INDIRECT, 1, 32);
    blk_post(&da, 0, VIRTIO_BLK_T_IN, 3);
    vt_kick(&da, 0);
    assert_int_equal(vt_used_idx(&da, 0), 1);
    /* Posted, not yet notified: in guest RAM, done once after load. */
    memset(vt_at(&da, VT_BUF(4)), 0xab, 512);
    blk_post(&da, 1, VIRTIO_BLK_T_OUT, 5);
}

static void test_blk_round_trip(void **state)
{
    (void)state;
    blk_busy(SECTORS);
    round_trip(&blk_a, &blk_b);
    vt_kick(&da, 0);
    vt_kick(&db, 0);
    assert_int_equal(vt_used_idx(&db, 0), 2);
    assert_int_equal(*vt_at(&db, VT_BUF(5)), VIRTIO_BLK_S_OK);
    assert_memory_equal(disk_a, disk_b, sizeof(disk_a));
    assert_memory_equal(da.ram, db.ram, sizeof(da.ram));
    /* A second notification does not do it again. */
    disk_b[5 * 512] = 0;
    vt_kick(&db, 0);
    assert_int_equal(vt_used_idx(&db, 0), 2);
    assert_int_equal(disk_b[5 * 512], 0);
}

static void test_blk_hostile(void **state)
{
    (void)state;
    blk_busy(SECTORS);
    round_trip(&blk_a, &blk_b);
    size_t n = ds_save(&blk_b, sa);
    assert_true(ds_hostile_sweep(&blk_b, sa, n) > 0);
    transport_fields(&blk_b, sa, n, VIRTIO_BLK_QUEUE_MAX);
    ds_field_refused(&blk_b, sa, n, n - 9, SECTORS + 1, 8, ERR_MISMATCH);
    ds_field_refused(&blk_b, sa, n, n - 1, 1, 1, ERR_MISMATCH);
    /* Another disk's snapshot. */
    blk_busy(SECTORS / 2);
    size_t m = ds_save(&blk_a, sa);
    assert_int_equal(ds_refused(&blk_b, sa, m), ERR_MISMATCH);
}

/* net: unconnected devices, frames from the test. */
static const uint8_t MAC[6] = {0x02, 0, 0, 0, 0, 1}, MAC2[6] = {0x02, 0, 0, 0, 0, 2};
static struct virtio_net na, nb;

static long net_save(void *m, void *buf, size_t size)
{
    return virtio_net_save(m, buf, size);
}

static int net_load(void *m, const void *buf, size_t size)
{
    return virtio_net_load(m, buf, size);
}

static const struct ds_model net_a = {net_save, net_load, &na}, net_b = {net_save, net_load, &nb};

static void net_busy(const uint8_t *mac_b)
{
    static uint8_t frame[64];

    vt_init(&da);
    vt_init(&db);
    virtio_net_init(&na, &da.mem, &da.irq, MAC, NULL);
    virtio_net_init(&nb, &db.mem, &db.irq, mac_b, NULL);
    vt_attach(&da, &na.t, "virtio-net");
    vt_attach(&db, &nb.t, "virtio-net");
    vt_start(&da, VT_F_EVENT, 2, 16);
    for (unsigned i = 0; i < 3; i++) {
        vt_qdesc(&da, 0, i, VT_BUF(i), 1530, VRING_DESC_F_WRITE, 0);
        vt_avail_add(&da, 0, (uint16_t)i);
    }
    vt_kick(&da, 0);
    memset(frame, 0x11, sizeof(frame));
    assert_int_equal(virtio_net_receive(&na, frame, sizeof(frame)), 0);
}

static void test_net_round_trip(void **state)
{
    static uint8_t frame[80];

    (void)state;
    net_busy(MAC);
    round_trip(&net_a, &net_b);
    memset(frame, 0x22, sizeof(frame));
    assert_int_equal(virtio_net_receive(&na, frame, sizeof(frame)), 0);
    assert_int_equal(virtio_net_receive(&nb, frame, sizeof(frame)), 0);
    assert_int_equal(vt_used_idx(&db, 0), 2);
    assert_memory_equal(da.ram, db.ram, sizeof(da.ram));
    assert_int_equal(db.level, da.level);
}

static void test_net_hostile(void **state)
{
    (void)state;
    net_busy(MAC);
    round_trip(&net_a, &net_b);
    size_t n = ds_save(&net_b, sa);
    assert_true(ds_hostile_sweep(&net_b, sa, n) > 0);
    transport_fields(&net_b, sa, n, VIRTIO_NET_QUEUE_MAX);
    ds_field_refused(&net_b, sa, n, n - 1, 9, 1, ERR_MISMATCH);
    net_busy(MAC2);
    size_t m = ds_save(&net_a, sa);
    assert_int_equal(ds_refused(&net_b, sa, m), ERR_MISMATCH);
    /* A device of another kind. */
    rng_busy();
    m = ds_save(&rng_a, sa);
    assert_int_equal(ds_refused(&net_b, sa, m), ERR_MISMATCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_round_trip),     cmocka_unit_test(test_rng_hostile),
        cmocka_unit_test(test_console_round_trip), cmocka_unit_test(test_console_hostile),
        cmocka_unit_test(test_blk_round_trip),     cmocka_unit_test(test_blk_hostile),
        cmocka_unit_test(test_net_round_trip),     cmocka_unit_test(test_net_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
