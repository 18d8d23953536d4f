/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-blk: features and config space, requests as Linux's driver makes
 * them (IN, OUT, FLUSH, GET_ID, several segments, any layout, indirect),
 * every error status, NEEDS_RESET for what cannot be reported, hostile
 * rings, reset and queue changes while running, and a mutation loop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "devices/virtio_blk.h"
#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"
#include "tests/unit/testutil.h"
#include "tests/unit/virtio_testlib.h"

#define SECTORS 64
static uint8_t disk[SECTORS * 512];
static struct {
    unsigned reads, writes, flushes;       /* submissions */
    int fail_read, fail_write, fail_flush; /* make the next one fail */
    bool with_flush;                       /* else a FLUSH is not counted */
    bool deferred;                         /* complete later (complete_one) */
    unsigned room;                         /* reserve: free slots (reserved or not) */
    bool reserving;                        /* reserve/unreserve offered */
    unsigned reserved;
    unsigned npending;
    struct {
        struct virtio_blk_req *req;
        int result;
    } pending[64];
} be_log;

static struct vt_dev d;
static struct virtio_blk blk;

/* Every segment inside the fake RAM; the whole a multiple of 512 inside
 * the disk. */
static void check_io(const struct blk_io *io)
{
    uint64_t total = 0;

    for (unsigned i = 0; i < io->nsegs; i++) {
        uintptr_t a = (uintptr_t)io->segs[i].addr;
        assert_true(io->segs[i].len > 0);
        assert_true(a >= (uintptr_t)d.ram && a + io->segs[i].len <= (uintptr_t)d.ram + VT_RAM_SIZE);
        total += io->segs[i].len;
    }
    assert_int_equal(total, io->len);
    assert_true(io->type == VIRTIO_BLK_T_FLUSH ? io->nsegs == 0 : io->nsegs > 0);
    assert_true(total % 512 == 0);
    assert_true(io->sector <= SECTORS && total / 512 <= SECTORS - io->sector);
    if (blk.be.max_segs)
        assert_true(io->nsegs <= blk.be.max_segs);
}

static int disk_submit(void *ctx, const struct blk_io *io)
{
    int fail = 0;

    assert_ptr_equal(ctx, disk);
    check_io(io);
    if (be_log.reserving) {
        assert_true(be_log.reserved > 0); /* within a reservation */
        be_log.reserved--;
        be_log.room--; /* a slot busy until complete_one */
    }
    uint8_t *p = disk + io->sector * 512;
    switch (io->type) {
    case VIRTIO_BLK_T_IN:
        be_log.reads++;
        fail = be_log.fail_read;
        be_log.fail_read = 0;
        for (unsigned i = 0; i < io->nsegs && !fail; i++) {
            memcpy((void *)(uintptr_t)io->segs[i].addr, p, io->segs[i].len);
            p += io->segs[i].len;
        }
        break;
    case VIRTIO_BLK_T_OUT:
        be_log.writes++;
        fail = be_log.fail_write;
        be_log.fail_write = 0;
        for (unsigned i = 0; i < io->nsegs && !fail; i++) {
            memcpy(p, (void *)(uintptr_t)io->segs[i].addr, io->segs[i].len);
            p += io->segs[i].len;
        }
        break;
    case VIRTIO_BLK_T_FLUSH:
        if (!be_log.with_flush)
            return 0;
        be_log.flushes++;
        fail = be_log.fail_flush;
        be_log.fail_flush = 0;
        break;
    default:
        fail_msg("backend got request type %u, expected IN, OUT or FLUSH", io->type);
    }
    if (!be_log.deferred)
        return fail ? ERR_IO : 0;
    assert_true(be_log.npending < 64);
    be_log.pending[be_log.npending].req = io->req;
    be_log.pending[be_log.npending++].result = fail ? ERR_IO : 0;
    return BLK_PENDING;
}

static int disk_reserve(void *ctx, unsigned n)
{
    assert_ptr_equal(ctx, disk);
    if (n > be_log.room - be_log.reserved)
        return ERR_AGAIN;
    be_log.reserved += n;
    return 0;
}

static void disk_unreserve(void *ctx, unsigned n)
{
    assert_ptr_equal(ctx, disk);
    assert_true(n <= be_log.reserved);
    be_log.reserved -= n;
}

/* Completes the i-th pending submission (in submission order). */
static void complete_one(unsigned i)
{
    assert_true(i < be_log.npending);
    struct virtio_blk_req *q = be_log.pending[i].req;
    int r = be_log.pending[i].result;
    memmove(&be_log.pending[i], &be_log.pending[i + 1],
            (be_log.npending - i - 1) * sizeof(be_log.pending[0]));
    be_log.npending--;
    if (be_log.reserving)
        be_log.room++; /* the slot is free again */
    virtio_blk_complete(q, r);
}

static void complete_all(void)
{
    while (be_log.npending)
        complete_one(0);
}

static struct blk_backend be_make(bool ro, unsigned max_segs)
{
    struct blk_backend be = {.sectors = SECTORS,
                             .read_only = ro,
                             .max_segs = max_segs,
                             .submit = disk_submit,
                             .ctx = disk};
    if (be_log.reserving) {
        be.reserve = disk_reserve;
        be.unreserve = disk_unreserve;
    }
    return be;
}

static void blk_setup(bool ro, bool with_flush)
{
    vt_init(&d);
    for (unsigned i = 0; i < sizeof(disk); i++)
        disk[i] = (uint8_t)(i * 7 + i / 512);
    memset(&be_log, 0, sizeof(be_log));
    be_log.with_flush = with_flush;
    struct blk_backend be = be_make(ro, 0);
    virtio_blk_init(&blk, &d.mem, &d.irq, &be, "vireo-disk-0");
    vt_attach(&d, &blk.t, "virtio-blk");
}

static int setup(void **state)
{
    (void)state;
    blk_setup(false, true);
    return 0;
}

/* ---- requests ---- */

#define HDR    (VT_RAM_BASE + 0x18000) /* request headers, 16 bytes each */
#define STATUS (VT_RAM_BASE + 0x18800) /* status bytes */

static uint64_t hdr_at(unsigned i)
{
    return HDR + 16 * (uint64_t)i;
}

static void put_hdr(unsigned i, uint32_t type, uint64_t sector)
{
    vt_put32(&d, hdr_at(i), type);
    vt_put32(&d, hdr_at(i) + 4, 0);
    vt_put64(&d, hdr_at(i) + 8, sector);
}

/* Linux's layout: header, data (one descriptor), status; descriptors
 * 3i..3i+2.  Returns the head. */
static uint16_t req3(unsigned i, uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
                     bool data_writable)
{
    uint16_t h = (uint16_t)(3 * i);

    put_hdr(i, type, sector);
    *vt_at(&d, STATUS + i) = 0xee;
    vt_qdesc(&d, 0, h, hdr_at(i), 16, VRING_DESC_F_NEXT, (uint16_t)(h + 1));
    vt_qdesc(&d, 0, h + 1u, data, len,
             (uint16_t)(VRING_DESC_F_NEXT | (data_writable ? VRING_DESC_F_WRITE : 0)),
             (uint16_t)(h + 2));
    vt_qdesc(&d, 0, h + 2u, STATUS + i, 1, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&d, 0, h);
    return h;
}

/* Header and status only (FLUSH). */
static uint16_t req2(unsigned i, uint32_t type, uint64_t sector)
{
    uint16_t h = (uint16_t)(3 * i);

    put_hdr(i, type, sector);
    *vt_at(&d, STATUS + i) = 0xee;
    vt_qdesc(&d, 0, h, hdr_at(i), 16, VRING_DESC_F_NEXT, (uint16_t)(h + 1));
    vt_qdesc(&d, 0, h + 1u, STATUS + i, 1, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&d, 0, h);
    return h;
}

static uint8_t status_of(unsigned i)
{
    return *vt_at(&d, STATUS + i);
}

static void assert_used(uint16_t n, uint32_t id, uint32_t len)
{
    uint32_t gid, glen;

    vt_used_elem(&d, 0, n, &gid, &glen);
    assert_int_equal(gid, id);
    assert_int_equal(glen, len);
}

/* ---- tests ---- */

static void test_identity(void **s)
{
    (void)s;
    assert_int_equal(vt_rd(&d, VIRTIO_MMIO_DEVICE_ID), 2);
    uint64_t f = vt_offered(&d);
    assert_int_equal(f, (1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
                            (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_FLUSH) |
                            VT_F_V1 | VT_F_INDIRECT | VT_F_EVENT);
    assert_int_equal(vt_cfg(&d, 0, 4), SECTORS);
    assert_int_equal(vt_cfg(&d, 4, 4), 0);
    assert_int_equal(vt_cfg(&d, 8, 4), VIRTIO_BLK_SIZE_MAX);
    assert_int_equal(vt_cfg(&d, 12, 4), VIRTIO_BLK_SEG_MAX);
    assert_int_equal(vt_cfg(&d, 16, 4), 0); /* geometry */
    assert_int_equal(vt_cfg(&d, 20, 4), 512);
    assert_int_equal(vt_cfg(&d, 20, 2), 512);
    assert_int_equal(vt_cfg(&d, 21, 1), 2);
    assert_int_equal(vt_cfg(&d, 32, 1), 0); /* writeback */
    assert_int_equal(vt_cfg(&d, 34, 2), 1); /* num_queues */
    assert_int_equal(vt_cfg(&d, 36, 4), 0); /* beyond: 0 */
    vt_wr(&d, VIRTIO_MMIO_QUEUE_SEL, 0);
    assert_int_equal(vt_rd(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_BLK_QUEUE_MAX);
    vt_wr(&d, VIRTIO_MMIO_QUEUE_SEL, 1);
    assert_int_equal(vt_rd(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    /* Config writes are ignored. */
    assert_int_equal(d.dev.ops->write(&d.dev, VIRTIO_MMIO_CONFIG, 4, 99), 0);
    assert_int_equal(vt_cfg(&d, 0, 4), SECTORS);
    /* Linux's negotiation: all offered bits. */
    assert_true(vt_negotiate(&d, f) & VIRTIO_STATUS_FEATURES_OK);
}

static void test_read_only(void **s)
{
    (void)s;
    blk_setup(true, false);
    assert_true(vt_offered(&d) & (1ull << VIRTIO_BLK_F_RO));
    vt_start(&d, 0, 1, 16);
    uint8_t before[512];
    memcpy(before, disk + 512, 512);
    memset(vt_at(&d, VT_BUF(0)), 0x11, 512);
    req3(0, VIRTIO_BLK_T_OUT, 1, VT_BUF(0), 512, false);
    vt_kick(&d, 0);
    assert_int_equal(vt_used_idx(&d, 0), 1);
    assert_int_equal(status_of(0), VIRTIO_BLK_S_IOERR);
    assert_int_equal(be_log.writes, 0);
    assert_memory_equal(disk + 512, before, 512);
    /* Reads work; a flush with no backend flush succeeds. */
    req3(1, VIRTIO_BLK_T_IN, 1, VT_BUF(1), 512, true);
    req2(2, VIRTIO_BLK_T_FLUSH, 0);
    vt_kick(&d, 0);
    assert_int_equal(status_of(1), VIRTIO_BLK_S_OK);
    assert_int_equal(status_of(2), VIRTIO_BLK_S_OK);
    assert_memory_equal(vt_at(&d, VT_BUF(1)), disk + 512, 512);
    assert_int_equal(blk.stats.errors, 1);
    assert_int_equal(blk.stats.flushes, 1);
    vt_assert_healthy(&d);
}

static void test_read_write(void **s)
{
    (void)s;
    vt_start(&d, VT_F_EVENT | VT_F_INDIRECT, 1, 16);
    /* Write two sectors at 10, read three back from 9. */
    for (unsigned i = 0; i < 1024; i++)
        *vt_at(&d, VT_BUF(0) + i) = (uint8_t)(0xa0 ^ i);
    uint16_t h = req3(0, VIRTIO_BLK_T_OUT, 10, VT_BUF(0), 1024, false);
    assert_false(d.level);
    vt_kick(&d, 0);
    assert_int_equal(vt_used_idx(&d, 0), 1);
    assert_used(0, h, 1);
    assert_int_equal(status_of(0), VIRTIO_BLK_S_OK);
    assert_memory_equal(disk + 10 * 512, vt_at(&d, VT_BUF(0)), 1024);
    assert_true(d.level);
    vt_ack(&d);
    uint8_t expect[1536];
    memcpy(expect, disk + 9 * 512, sizeof(expect));
    h = req3(1, VIRTIO_BLK_T_IN, 9, VT_BUF(1), 1536, true);
    vt_kick(&d, 0);
    assert_used(1, h, 1537);
    assert_int_equal(status_of(1), VIRTIO_BLK_S_OK);
    assert_memory_equal(vt_at(&d, VT_BUF(1)), expect, 1536);
    /* Large: the whole disk (8 pages, 8 host segments), last sector exactly. */
    h = req3(2, VIRTIO_BLK_T_IN, 0, VT_BUF(2), SECTORS * 512, true);
    uint16_t h2 = req3(3, VIRTIO_BLK_T_IN, SECTORS - 1, VT_BUF(12), 512, true);
    vt_kick(&d, 0);
    assert_int_equal(vt_used_idx(&d, 0), 4);
    assert_used(2, h, SECTORS * 512 + 1);
    assert_used(3, h2, 513);
    assert_memory_equal(vt_at(&d, VT_BUF(2)), disk, SECTORS * 512);
    assert_int_equal(blk.stats.reads, 3);
    assert_int_equal(blk.stats.read_bytes, 1536 + SECTORS * 512 + 512);
    assert_int_equal(blk.stats.writes, 1);
    assert_int_equal(blk.stats.write_bytes, 1024);
    assert_int_equal(blk.stats.errors, 0);
    vt_assert_healthy(&d);
}

/* The header split over descriptors, data over several, data and status
 * sharing one buffer (VERSION_1 implies any layout), and an indirect
 * table. */
static void test_any_layout(void **s)
{
    (void)s;
    vt_start(&d, VT_F_INDIRECT, 1, 16);
    uint64_t q = d.q[0].desc;
    put_hdr(0, VIRTIO_BLK_T_IN, 4);
    vt_desc(&d, q, 0, hdr_at(0), 5, VRING_DESC_F_NEXT, 1);
    vt_desc(&d, q, 1, hdr_at(0) + 5, 11, VRING_DESC_F_NEXT, 2);
    vt_desc(&d, q, 2, VT_BUF(0), 100, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
    vt_desc(&d, q, 3, VT_BUF(1), 0, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 4);
    vt_desc(&d, q, 4, VT_BUF(2), 1024 - 100 + 1, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&d, 0, 0);
    vt_kick(&d, 0);
    assert_used(0, 0, 1025);
    assert_memory_equal(vt_at(&d, VT_BUF(0)), disk + 4 * 512, 100);
    assert_memory_equal(vt_at(&d, VT_BUF(2)), disk + 4 * 512 + 100, 924);
    assert_int_equal(*vt_at(&d, VT_BUF(2) + 924), VIRTIO_BLK_S_OK);

    /* A write with header and data in one readable buffer. */
    uint64_t b = VT_BUF(3);
    vt_put32(&d, b, VIRTIO_BLK_T_OUT);
    vt_put64(&d, b + 8, 20);
    memset(vt_at(&d, b + 16), 0x5c, 512);
    vt_desc(&d, q, 5, b, 16 + 512, VRING_DESC_F_NEXT, 6);
    vt_desc(&d, q, 6, STATUS, 1, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&d, 0, 5);
    vt_kick(&d, 0);
    assert_used(1, 5, 1);
    assert_int_equal(status_of(0), VIRTIO_BLK_S_OK);
    assert_int_equal(disk[20 * 512], 0x5c);
    assert_int_equal(disk[21 * 512 - 1], 0x5c);

    /* Indirect: header, two data segments, status. */
    put_hdr(1, VIRTIO_BLK_T_IN, 20);
    vt_desc(&d, VT_INDIR, 0, hdr_at(1), 16, VRING_DESC_F_NEXT, 1);
    vt_desc(&d, VT_INDIR, 1, VT_BUF(4), 256, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
    vt_desc(&d, VT_INDIR, 2, VT_BUF(5), 256, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
    vt_desc(&d, VT_INDIR, 3, STATUS + 1, 1, VRING_DESC_F_WRITE, 0);
    vt_desc(&d, q, 7, VT_INDIR, 4 * 16, VRING_DESC_F_INDIRECT, 0);
    vt_avail_add(&d, 0, 7);
    vt_kick(&d, 0);
    assert_used(2, 7, 513);
    assert_int_equal(status_of(1), VIRTIO_BLK_S_OK);
    assert_int_equal(*vt_at(&d, VT_BUF(4)), 0x5c);
    assert_int_equal(*vt_at(&d, VT_BUF(5) + 255), 0x5c);
    vt_assert_healthy(&d);
}

static void test_flush_get_id(void **s)
{
    (void)s;
    vt_start(&d, 0, 1, 16);
    req2(0, VIRTIO_BLK_T_FLUSH, 0);
    be_log.fail_flush = 0;
    vt_kick(&d, 0);
    assert_int_equal(status_of(0), VIRTIO_BLK_S_OK);
    assert_int_equal(be_log.flushes, 1);
    be_log.fail_flush = 1;
    req2(1, VIRTIO_BLK_T_FLUSH, 0);
    vt_kick(&d, 0);
    assert_int_equal(status_of(1), VIRTIO_BLK_S_IOERR);
    assert_int_equal(be_log.flushes, 2);
    assert_used(1, 3, 1);

    /* GET_ID: 20 bytes, NUL padded. */
    memset(vt_at(&d, VT_BUF(0)), 0xff, 32);
    uint16_t h = req3(2, VIRTIO_BLK_T_GET_ID, 0, VT_BUF(0), 20, true);
    vt_kick(&d, 0);
    assert_used(2, h, 21);
    assert_int_equal(status_of(2), VIRTIO_BLK_S_OK);
    assert_memory_equal(vt_at(&d, VT_BUF(0)), "vireo-disk-0\0\0\0\0\0\0\0\0", 20);
    assert_int_equal(*vt_at(&d, VT_BUF(0) + 20), 0xff);
    /* A 20-byte serial is not terminated; a longer one is cut. */
    struct blk_backend be = be_make(false, 0);
    virtio_blk_init(&blk, &d.mem, &d.irq, &be, "0123456789abcdefghijKLMN");
    vt_start(&d, 0, 1, 16);
    h = req3(0, VIRTIO_BLK_T_GET_ID, 0, VT_BUF(1), 20, true);
    vt_kick(&d, 0);
    assert_memory_equal(vt_at(&d, VT_BUF(1)), "0123456789abcdefghij", 20);
    /* NULL serial: zeros. */
    virtio_blk_init(&blk, &d.mem, &d.irq, &be, NULL);
    vt_start(&d, 0, 1, 16);
    req3(0, VIRTIO_BLK_T_GET_ID, 0, VT_BUF(1), 20, true);
    vt_kick(&d, 0);
    assert_int_equal(*vt_at(&d, VT_BUF(1)), 0);
    assert_int_equal(status_of(0), VIRTIO_BLK_S_OK);
    vt_assert_healthy(&d);
}

/* Every request that completes with an error status. */
static void test_errors(void **s)
{
    (void)s;
    struct {
        uint32_t type;
        uint64_t sector;
        uint32_t len;
        bool writable;
        uint8_t status;
    } cases[] = {
        {VIRTIO_BLK_T_IN, SECTORS, 512, true, VIRTIO_BLK_S_IOERR},      /* past the end */
        {VIRTIO_BLK_T_IN, SECTORS - 1, 1024, true, VIRTIO_BLK_S_IOERR}, /* straddles it */
        {VIRTIO_BLK_T_IN, ~0ull, 512, true, VIRTIO_BLK_S_IOERR},        /* overflow */
        {VIRTIO_BLK_T_IN, 0xffffffffffffff00ull, 1024, true, VIRTIO_BLK_S_IOERR},
        {VIRTIO_BLK_T_OUT, SECTORS, 512, false, VIRTIO_BLK_S_IOERR},
        {VIRTIO_BLK_T_IN, 0, 100, true, VIRTIO_BLK_S_IOERR}, /* not whole sectors */
        {VIRTIO_BLK_T_OUT, 0, 513, false, VIRTIO_BLK_S_IOERR},
        {VIRTIO_BLK_T_IN, 0, 512, false, VIRTIO_BLK_S_IOERR}, /* data readable for IN */
        {VIRTIO_BLK_T_OUT, 0, 512, true, VIRTIO_BLK_S_IOERR}, /* data writable for OUT */
        {11, 0, 512, false, VIRTIO_BLK_S_UNSUPP},             /* DISCARD */
        {13, 0, 512, false, VIRTIO_BLK_S_UNSUPP},             /* WRITE_ZEROES */
        {2, 0, 512, false, VIRTIO_BLK_S_UNSUPP},              /* SCSI */
        {0x80000000u, 0, 512, false, VIRTIO_BLK_S_UNSUPP},    /* legacy barrier */
        {VIRTIO_BLK_T_IN, 0, 0, true, VIRTIO_BLK_S_OK},       /* empty read: fine */
    };
    uint8_t snapshot[sizeof(disk)];

    memcpy(snapshot, disk, sizeof(disk));
    vt_start(&d, 0, 1, 64);
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        req3(i, cases[i].type, cases[i].sector, VT_BUF(i), cases[i].len, cases[i].writable);
        vt_kick(&d, 0);
        assert_int_equal(vt_used_idx(&d, 0), i + 1);
        assert_int_equal(status_of(i), cases[i].status);
        uint32_t id, len;
        vt_used_elem(&d, 0, (uint16_t)i, &id, &len);
        assert_int_equal(len, 1);
    }
    assert_int_equal(be_log.reads + be_log.writes, 0);
    assert_memory_equal(disk, snapshot, sizeof(disk));
    assert_int_equal(blk.stats.errors, 9);
    assert_int_equal(blk.stats.unsupported, 4);

    /* A short header (8 readable bytes): IOERR. */
    unsigned i = 20;
    put_hdr(i, VIRTIO_BLK_T_IN, 0);
    *vt_at(&d, STATUS + i) = 0xee;
    vt_qdesc(&d, 0, 60, hdr_at(i), 8, VRING_DESC_F_NEXT, 61);
    vt_qdesc(&d, 0, 61, STATUS + i, 1, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&d, 0, 60);
    /* Only a status byte: IOERR. */
    vt_qdesc(&d, 0, 62, STATUS + i + 1, 1, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&d, 0, 62);
    vt_kick(&d, 0);
    assert_int_equal(status_of(i), VIRTIO_BLK_S_IOERR);
    assert_int_equal(status_of(i + 1), VIRTIO_BLK_S_IOERR);

    /* Backend errors: IOERR; a failed read reports what it wrote. */
    be_log.fail_write = 1;
    req3(15, VIRTIO_BLK_T_OUT, 0, VT_BUF(0), 512, false);
    vt_kick(&d, 0);
    assert_int_equal(status_of(15), VIRTIO_BLK_S_IOERR);
    be_log.fail_read = 1;
    uint16_t h = req3(16, VIRTIO_BLK_T_IN, 0, VT_BUF(0), 512, true);
    vt_kick(&d, 0);
    assert_int_equal(status_of(16), VIRTIO_BLK_S_IOERR);
    assert_used((uint16_t)(vt_used_idx(&d, 0) - 1), h, 1);
    vt_assert_healthy(&d);
}

/* Errors that cannot be reported in a status byte: NEEDS_RESET. */
static void needs_reset_case(void (*build)(void))
{
    blk_setup(false, true);
    vt_start(&d, VT_F_INDIRECT, 1, 16);
    build();
    d.accesses = 0;
    vt_kick(&d, 0);
    assert_true(d.accesses < 600);
    vt_assert_needs_reset(&d);
    assert_int_equal(vt_used_idx(&d, 0), 0);
    /* Ignored from now on, until a reset. */
    d.accesses = 0;
    vt_kick(&d, 0);
    assert_int_equal(d.accesses, 0);
    vt_start(&d, 0, 1, 16);
    vt_assert_healthy(&d);
    req3(0, VIRTIO_BLK_T_IN, 0, VT_BUF(0), 512, true);
    vt_kick(&d, 0);
    assert_int_equal(status_of(0), VIRTIO_BLK_S_OK);
}

static void build_no_status(void)
{
    put_hdr(0, VIRTIO_BLK_T_IN, 0);
    vt_qdesc(&d, 0, 0, hdr_at(0), 16, VRING_DESC_F_NEXT, 1);
    vt_qdesc(&d, 0, 1, VT_BUF(0), 512, 0, 0);
    vt_avail_add(&d, 0, 0);
}

static void build_header_only(void)
{
    put_hdr(0, VIRTIO_BLK_T_FLUSH, 0);
    vt_qdesc(&d, 0, 0, hdr_at(0), 16, 0, 0);
    vt_avail_add(&d, 0, 0);
}

static void build_data_outside(void)
{
    req3(0, VIRTIO_BLK_T_IN, 0, VT_RAM_BASE + VT_RAM_SIZE - 256, 512, true);
}

static void build_write_outside(void)
{
    req3(0, VIRTIO_BLK_T_OUT, 0, 0x1000, 512, false);
}

static void build_header_outside(void)
{
    vt_qdesc(&d, 0, 0, 0x10, 16, VRING_DESC_F_NEXT, 1);
    vt_qdesc(&d, 0, 1, STATUS, 1, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&d, 0, 0);
}

static void build_status_outside(void)
{
    put_hdr(0, VIRTIO_BLK_T_FLUSH, 0);
    vt_qdesc(&d, 0, 0, hdr_at(0), 16, VRING_DESC_F_NEXT, 1);
    vt_qdesc(&d, 0, 1, VT_RAM_BASE + VT_RAM_SIZE, 1, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&d, 0, 0);
}

static void build_id_outside(void)
{
    req3(0, VIRTIO_BLK_T_GET_ID, 0, 0x100, 20, true);
}

static void build_loop(void)
{
    vt_qdesc(&d, 0, 0, hdr_at(0), 16, VRING_DESC_F_NEXT, 1);
    vt_qdesc(&d, 0, 1, STATUS, 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
    vt_avail_add(&d, 0, 0);
}

static void build_bad_head(void)
{
    vt_avail_add(&d, 0, 16);
}

static void build_huge(void)
{
    req3(0, VIRTIO_BLK_T_IN, 0, VT_BUF(0), VIRTIO_BLK_MAX_CHAIN, true);
}

static void build_too_many(void)
{
    /* An indirect table of 130 descriptors: more than the device takes. */
    put_hdr(0, VIRTIO_BLK_T_IN, 0);
    vt_desc(&d, VT_INDIR, 0, hdr_at(0), 16, VRING_DESC_F_NEXT, 1);
    for (unsigned i = 1; i < 129; i++)
        vt_desc(&d, VT_INDIR, i, VT_BUF(0), 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
                (uint16_t)(i + 1));
    vt_desc(&d, VT_INDIR, 129, STATUS, 1, VRING_DESC_F_WRITE, 0);
    vt_qdesc(&d, 0, 0, VT_INDIR, 130 * 16, VRING_DESC_F_INDIRECT, 0);
    vt_avail_add(&d, 0, 0);
}

static void test_needs_reset(void **s)
{
    (void)s;
    needs_reset_case(build_no_status);
    needs_reset_case(build_header_only);
    needs_reset_case(build_data_outside);
    needs_reset_case(build_write_outside);
    needs_reset_case(build_header_outside);
    needs_reset_case(build_status_outside);
    needs_reset_case(build_id_outside);
    needs_reset_case(build_loop);
    needs_reset_case(build_bad_head);
    needs_reset_case(build_huge);
    needs_reset_case(build_too_many);
}

/* A request in front of a malformed one is completed; the bad one and
 * everything after it are not. */
static void test_partial_batch(void **s)
{
    (void)s;
    vt_start(&d, 0, 1, 16);
    req3(0, VIRTIO_BLK_T_IN, 0, VT_BUF(0), 512, true);
    vt_qdesc(&d, 0, 3, hdr_at(1), 16, 0, 0); /* no status */
    vt_avail_add(&d, 0, 3);
    req3(2, VIRTIO_BLK_T_IN, 0, VT_BUF(2), 512, true);
    vt_kick(&d, 0);
    assert_int_equal(vt_used_idx(&d, 0), 1);
    assert_int_equal(status_of(0), VIRTIO_BLK_S_OK);
    assert_int_equal(status_of(2), 0xee);
    vt_assert_needs_reset(&d);
}

static void test_reset_midway(void **s)
{
    (void)s;
    vt_start(&d, 0, 1, 16);
    req3(0, VIRTIO_BLK_T_IN, 0, VT_BUF(0), 512, true);
    /* Reset before the kick: nothing happens, the kick is ignored. */
    vt_wr(&d, VIRTIO_MMIO_STATUS, 0);
    vt_kick(&d, 0);
    assert_int_equal(status_of(0), 0xee);
    assert_int_equal(be_log.reads, 0);
    /* Without DRIVER_OK: ignored too. */
    assert_true(vt_negotiate(&d, VT_F_V1) & VIRTIO_STATUS_FEATURES_OK);
    vt_queue(&d, 0, 16);
    req3(0, VIRTIO_BLK_T_IN, 0, VT_BUF(0), 512, true);
    vt_kick(&d, 0);
    assert_int_equal(status_of(0), 0xee);
    vt_driver_ok(&d);
    vt_kick(&d, 0);
    assert_int_equal(status_of(0), VIRTIO_BLK_S_OK);
    /* Queue changes while running: ignored while ready ... */
    vt_wr(&d, VIRTIO_MMIO_QUEUE_NUM, 4);
    vt_wr(&d, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
    assert_int_equal(vt_rd(&d, VIRTIO_MMIO_QUEUE_NUM), 16);
    req3(1, VIRTIO_BLK_T_IN, 1, VT_BUF(1), 512, true);
    vt_kick(&d, 0);
    assert_int_equal(status_of(1), VIRTIO_BLK_S_OK);
    /* ... QueueReady 0 stops it; a new layout elsewhere starts over. */
    vt_wr(&d, VIRTIO_MMIO_QUEUE_READY, 0);
    req3(2, VIRTIO_BLK_T_IN, 2, VT_BUF(2), 512, true);
    vt_kick(&d, 0);
    assert_int_equal(status_of(2), 0xee);
    vt_queue_at(&d, 0, 16, VT_QUEUE(2), VT_QUEUE(2) + 0x1000, VT_QUEUE(2) + 0x2000);
    req3(2, VIRTIO_BLK_T_IN, 2, VT_BUF(2), 512, true);
    vt_kick(&d, 0);
    assert_int_equal(status_of(2), VIRTIO_BLK_S_OK);
    assert_int_equal(vt_used_idx(&d, 0), 1);
    vt_assert_healthy(&d);
}

/* A full queue in one notification, with one interrupt; NO_INTERRUPT
 * honoured. */
static void test_batch(void **s)
{
    (void)s;
    vt_start(&d, 0, 1, 32);
    for (unsigned i = 0; i < 10; i++)
        req3(i, VIRTIO_BLK_T_IN, i, VT_BUF(i), 512, true);
    unsigned calls = d.irq_calls;
    vt_kick(&d, 0);
    assert_int_equal(vt_used_idx(&d, 0), 10);
    assert_int_equal(d.irq_calls, calls + 1);
    for (unsigned i = 0; i < 10; i++) {
        assert_int_equal(status_of(i), VIRTIO_BLK_S_OK);
        assert_memory_equal(vt_at(&d, VT_BUF(i)), disk + 512 * i, 512);
    }
    vt_ack(&d);
    vt_put16(&d, d.q[0].avail, VRING_AVAIL_F_NO_INTERRUPT);
    req2(0, VIRTIO_BLK_T_FLUSH, 0);
    vt_kick(&d, 0);
    assert_int_equal(vt_used_idx(&d, 0), 11);
    assert_false(d.level);
}

/* Mutated rings: never a crash, a hang, a backend call out of range, or a
 * silent failure. */
static void test_mutation(void **s)
{
    (void)s;
    const unsigned num = 16;
    unsigned broken = 0, served = 0;

    rng_state = 0x2545f4914f6cdd1dull;
    for (unsigned iter = 0; iter < 20000; iter++) {
        uint64_t feat = (rng() & 1 ? VT_F_EVENT : 0) | (rng() & 1 ? VT_F_INDIRECT : 0);
        memset(vt_at(&d, VT_QUEUE(0)), 0, 0x3000);
        memset(vt_at(&d, VT_INDIR), 0, 0x400);
        vt_start(&d, feat, 1, (uint16_t)num);
        unsigned nreq = 1 + (unsigned)(rng() % 5);
        for (unsigned i = 0; i < nreq; i++) {
            uint32_t type = (uint32_t)(rng() % 3 == 0 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN);
            uint64_t sector = rng() % (SECTORS + 2);
            uint32_t len = 512 * (uint32_t)(1 + rng() % 3);
            if (i == 0 && (feat & VT_F_INDIRECT)) {
                put_hdr(i, type, sector);
                vt_desc(&d, VT_INDIR, 0, hdr_at(i), 16, VRING_DESC_F_NEXT, 1);
                vt_desc(&d, VT_INDIR, 1, VT_BUF(i), len,
                        (uint16_t)(VRING_DESC_F_NEXT |
                                   (type == VIRTIO_BLK_T_IN ? VRING_DESC_F_WRITE : 0)),
                        2);
                vt_desc(&d, VT_INDIR, 2, STATUS + i, 1, VRING_DESC_F_WRITE, 0);
                vt_qdesc(&d, 0, 3 * i, VT_INDIR, 48, VRING_DESC_F_INDIRECT, 0);
                vt_avail_add(&d, 0, (uint16_t)(3 * i));
            } else {
                req3(i, type, sector, VT_BUF(i), len, type == VIRTIO_BLK_T_IN);
            }
        }
        vt_put16(&d, d.q[0].avail + 4 + 2 * num, (uint16_t)rng()); /* used_event */
        vt_mutate(&d, 0, rng);
        d.accesses = 0;
        vt_kick(&d, 0);
        assert_true(d.accesses < 20000);
        if (vt_needs_reset(&d)) {
            assert_true(vt_rd(&d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
            broken++;
        } else {
            served++;
            /* Read data may have landed anywhere (mutated addresses), the
             * used ring included: check the device's own count. */
            assert_true(blk.t.queues[0].used_idx <= num);
        }
    }
    assert_true(broken > 500);
    assert_true(served > 500);
}

/* ---- asynchronous completion ---- */

static void async_setup(unsigned max_segs)
{
    blk_setup(false, true);
    be_log.deferred = true;
    struct blk_backend be = be_make(false, max_segs);
    virtio_blk_init(&blk, &d.mem, &d.irq, &be, "vireo-disk-0");
}

/* Requests go to the backend and the vCPU returns; the chains come back
 * in completion order, each with its status, its data in place (written
 * straight into the guest's pages) and the pages noted as written, and
 * the interrupt rises only then. */
static void test_async(void **s)
{
    (void)s;
    async_setup(0);
    vt_start(&d, VT_F_INDIRECT, 1, 16);
    uint16_t h0 = req3(0, VIRTIO_BLK_T_IN, 0, VT_BUF(0), 512, true);
    uint16_t h1 = req3(1, VIRTIO_BLK_T_IN, 8, VT_BUF(1), 4096, true);
    memset(vt_at(&d, VT_BUF(2)), 0x3c, 1024);
    uint16_t h2 = req3(2, VIRTIO_BLK_T_OUT, 40, VT_BUF(2), 1024, false);
    vt_kick(&d, 0);
    assert_int_equal(be_log.npending, 3);
    assert_int_equal(virtio_blk_in_flight(&blk), 3);
    assert_int_equal(vt_used_idx(&d, 0), 0);
    assert_false(d.level);
    assert_int_equal(status_of(0), 0xee);
    /* Last first. */
    complete_one(2);
    assert_int_equal(vt_used_idx(&d, 0), 1);
    assert_used(0, h2, 1);
    assert_int_equal(status_of(2), VIRTIO_BLK_S_OK);
    assert_int_equal(disk[40 * 512], 0x3c);
    assert_true(d.level);
    vt_ack(&d);
    complete_all();
    assert_int_equal(vt_used_idx(&d, 0), 3);
    assert_used(1, h0, 513);
    assert_used(2, h1, 4097);
    assert_memory_equal(vt_at(&d, VT_BUF(1)), disk + 8 * 512, 4096);
    assert_int_equal(d.written_bytes, 512 + 4096); /* dirty logging saw the reads */
    assert_int_equal(virtio_blk_in_flight(&blk), 0);
    assert_int_equal(blk.stats.reads, 2);
    assert_int_equal(blk.stats.writes, 1);
    /* A backend that fails later: IOERR, used length 1. */
    be_log.fail_read = 1;
    uint16_t h3 = req3(3, VIRTIO_BLK_T_IN, 1, VT_BUF(3), 512, true);
    vt_kick(&d, 0);
    complete_all();
    assert_int_equal(status_of(3), VIRTIO_BLK_S_IOERR);
    assert_used(3, h3, 1);
    assert_int_equal(blk.stats.errors, 1);
    vt_assert_healthy(&d);
}

/* A FLUSH goes to the backend only after every request taken before it
 * completed, and nothing after it is taken until it is sent. */
static void test_flush_order(void **s)
{
    (void)s;
    async_setup(0);
    vt_start(&d, 0, 1, 16);
    req3(0, VIRTIO_BLK_T_OUT, 0, VT_BUF(0), 512, false);
    req3(1, VIRTIO_BLK_T_OUT, 1, VT_BUF(1), 512, false);
    req2(2, VIRTIO_BLK_T_FLUSH, 0);
    req3(3, VIRTIO_BLK_T_IN, 2, VT_BUF(3), 512, true);
    vt_kick(&d, 0);
    assert_int_equal(be_log.writes, 2);
    assert_int_equal(be_log.flushes, 0);
    assert_int_equal(be_log.reads, 0);
    vt_kick(&d, 0); /* another notification changes nothing */
    assert_int_equal(be_log.flushes + be_log.reads, 0);
    complete_one(0);
    assert_int_equal(be_log.flushes, 0);
    complete_one(0);
    assert_int_equal(be_log.flushes, 1);
    assert_int_equal(be_log.reads, 1); /* the flush is out: the read behind it goes too */
    assert_int_equal(vt_used_idx(&d, 0), 2);
    complete_all();
    assert_int_equal(vt_used_idx(&d, 0), 4);
    assert_int_equal(status_of(2), VIRTIO_BLK_S_OK);
    assert_int_equal(status_of(3), VIRTIO_BLK_S_OK);
    assert_int_equal(blk.stats.flushes, 1);
    vt_assert_healthy(&d);
}

/* A driver reset with requests in flight: they complete to no one (no
 * status, no used entry), and the device works again after. */
static void test_reset_in_flight(void **s)
{
    (void)s;
    async_setup(0);
    vt_start(&d, 0, 1, 16);
    req3(0, VIRTIO_BLK_T_IN, 0, VT_BUF(0), 512, true);
    req3(1, VIRTIO_BLK_T_OUT, 0, VT_BUF(1), 512, false);
    req2(2, VIRTIO_BLK_T_FLUSH, 0); /* waits for the two */
    vt_kick(&d, 0);
    assert_int_equal(virtio_blk_in_flight(&blk), 3);
    vt_wr(&d, VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(virtio_blk_in_flight(&blk), 2); /* the flush never went out */
    vt_start(&d, 0, 1, 16);
    req3(4, VIRTIO_BLK_T_IN, 3, VT_BUF(4), 512, true);
    vt_kick(&d, 0);
    assert_int_equal(virtio_blk_in_flight(&blk), 3);
    complete_one(0);
    complete_one(0);
    assert_int_equal(vt_used_idx(&d, 0), 0);
    assert_int_equal(status_of(0), 0xee);
    assert_int_equal(status_of(1), 0xee);
    complete_all();
    assert_int_equal(vt_used_idx(&d, 0), 1);
    assert_int_equal(status_of(4), VIRTIO_BLK_S_OK);
    assert_int_equal(be_log.flushes, 0);
    assert_int_equal(virtio_blk_in_flight(&blk), 0);
    vt_assert_healthy(&d);
}

/* Held (snapshots, migration): nothing new is taken, what is in flight
 * drains, and a snapshot is refused until it has; released, the device
 * takes what was posted meanwhile. */
static void test_hold(void **s)
{
    (void)s;
    uint8_t buf[2048];

    async_setup(0);
    vt_start(&d, 0, 1, 16);
    req3(0, VIRTIO_BLK_T_IN, 0, VT_BUF(0), 512, true);
    vt_kick(&d, 0);
    virtio_blk_hold(&blk, true);
    req3(1, VIRTIO_BLK_T_IN, 1, VT_BUF(1), 512, true);
    vt_kick(&d, 0);
    assert_int_equal(be_log.reads, 1);
    assert_int_equal(virtio_blk_save(&blk, buf, sizeof(buf)), ERR_STATE);
    assert_int_equal(virtio_blk_load(&blk, buf, sizeof(buf)), ERR_STATE);
    complete_all();
    assert_int_equal(virtio_blk_in_flight(&blk), 0);
    long n = virtio_blk_save(&blk, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(virtio_blk_load(&blk, buf, (size_t)n), 0);
    assert_int_equal(vt_used_idx(&d, 0), 1);
    virtio_blk_hold(&blk, false);
    assert_int_equal(be_log.reads, 2);
    complete_all();
    assert_int_equal(vt_used_idx(&d, 0), 2);
    assert_int_equal(status_of(1), VIRTIO_BLK_S_OK);
    vt_assert_healthy(&d);
}

/* No room in the backend: nothing is taken from the ring until it says
 * so; no more than VIRTIO_BLK_INFLIGHT requests at a time either. */
static void test_room(void **s)
{
    (void)s;
    blk_setup(false, true);
    be_log.deferred = true;
    be_log.reserving = true;
    be_log.room = VIRTIO_BLK_PIECES + 1; /* two requests' worth of reservation, not three */
    struct blk_backend be = be_make(false, 0);
    virtio_blk_init(&blk, &d.mem, &d.irq, &be, "x");
    vt_start(&d, 0, 1, 128);
    for (unsigned i = 0; i < 3; i++)
        req3(i, VIRTIO_BLK_T_IN, i, VT_BUF(i), 512, true);
    vt_kick(&d, 0);
    assert_int_equal(be_log.reads, 2); /* reserved, took one each, gave back the rest */
    assert_int_equal(be_log.reserved, 0);
    assert_true(blk.stalled);
    complete_one(0);                   /* the backend's room comes back... */
    assert_int_equal(be_log.reads, 3); /* ...and the device took the third */
    complete_all();
    assert_int_equal(vt_used_idx(&d, 0), 3);
    /* Room without end, VIRTIO_BLK_INFLIGHT at most. */
    be_log.room = 1000;
    for (unsigned i = 0; i < 40; i++)
        req3(i, VIRTIO_BLK_T_IN, i % SECTORS, VT_BUF(i % 16), 512, true);
    vt_kick(&d, 0);
    assert_int_equal(be_log.npending, VIRTIO_BLK_INFLIGHT);
    complete_one(0);
    assert_int_equal(be_log.npending, VIRTIO_BLK_INFLIGHT);
    complete_all();
    assert_int_equal(vt_used_idx(&d, 0), 43);
    assert_int_equal(virtio_blk_in_flight(&blk), 0);
    vt_assert_healthy(&d);
}

/* A backend that takes few segments a submission: the data is cut into
 * pieces of whole sectors (a segment cut in two where needed), all of
 * them complete before the chain does; odd buffer sizes across pages. */
static void test_pieces(void **s)
{
    (void)s;
    async_setup(3);
    vt_start(&d, VT_F_INDIRECT, 1, 16);
    /* IN of 8 sectors into buffers of 1000, 3000 and 96 bytes: the test
     * translation gives a segment per page, five in all. */
    put_hdr(0, VIRTIO_BLK_T_IN, 4);
    *vt_at(&d, STATUS) = 0xee;
    vt_desc(&d, VT_INDIR, 0, hdr_at(0), 16, VRING_DESC_F_NEXT, 1);
    vt_desc(&d, VT_INDIR, 1, VT_BUF(0) + 3500, 1000, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
    vt_desc(&d, VT_INDIR, 2, VT_BUF(2) + 2000, 3000, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
    vt_desc(&d, VT_INDIR, 3, VT_BUF(5), 96, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 4);
    vt_desc(&d, VT_INDIR, 4, STATUS, 1, VRING_DESC_F_WRITE, 0);
    vt_qdesc(&d, 0, 0, VT_INDIR, 5 * 16, VRING_DESC_F_INDIRECT, 0);
    vt_avail_add(&d, 0, 0);
    vt_kick(&d, 0);
    assert_true(be_log.reads >= 2);
    assert_int_equal(be_log.npending, be_log.reads);
    complete_one(0);
    assert_int_equal(vt_used_idx(&d, 0), 0); /* not before every piece */
    complete_all();
    assert_used(0, 0, 4097);
    assert_int_equal(status_of(0), VIRTIO_BLK_S_OK);
    assert_memory_equal(vt_at(&d, VT_BUF(0) + 3500), disk + 4 * 512, 1000);
    assert_memory_equal(vt_at(&d, VT_BUF(2) + 2000), disk + 4 * 512 + 1000, 3000);
    assert_memory_equal(vt_at(&d, VT_BUF(5)), disk + 4 * 512 + 4000, 96);
    /* The cut falls before the piece's last segment: 1000, 100, 20 and
     * 928 bytes, 3 a piece: 1000 + 24 of the 100, then 76 + 20 + 928. */
    put_hdr(2, VIRTIO_BLK_T_IN, 10);
    *vt_at(&d, STATUS + 2) = 0xee;
    uint64_t it = VT_INDIR + 0x400;
    uint64_t at[4] = {VT_BUF(8) + 10, VT_BUF(9) + 3000, VT_BUF(10) + 7, VT_BUF(11)};
    uint32_t len[4] = {1000, 100, 20, 928};
    vt_desc(&d, it, 0, hdr_at(2), 16, VRING_DESC_F_NEXT, 1);
    for (unsigned i = 0; i < 4; i++)
        vt_desc(&d, it, i + 1, at[i], len[i], VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
                (uint16_t)(i + 2));
    vt_desc(&d, it, 5, STATUS + 2, 1, VRING_DESC_F_WRITE, 0);
    vt_qdesc(&d, 0, 2, it, 6 * 16, VRING_DESC_F_INDIRECT, 0);
    vt_avail_add(&d, 0, 2);
    unsigned before = be_log.reads;
    vt_kick(&d, 0);
    assert_int_equal(be_log.reads - before, 2);
    complete_all();
    assert_int_equal(status_of(2), VIRTIO_BLK_S_OK);
    uint64_t off = 10 * 512;
    for (unsigned i = 0; i < 4; i++) {
        assert_memory_equal(vt_at(&d, at[i]), disk + off, len[i]);
        off += len[i];
    }
    /* Segments too small to make a sector within the limit: IOERR. */
    put_hdr(1, VIRTIO_BLK_T_IN, 0);
    *vt_at(&d, STATUS + 1) = 0xee;
    vt_desc(&d, VT_INDIR + 0x200, 0, hdr_at(1), 16, VRING_DESC_F_NEXT, 1);
    for (unsigned i = 1; i <= 4; i++)
        vt_desc(&d, VT_INDIR + 0x200, i, VT_BUF(6) + 200 * i, 128,
                VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, (uint16_t)(i + 1));
    vt_desc(&d, VT_INDIR + 0x200, 5, STATUS + 1, 1, VRING_DESC_F_WRITE, 0);
    vt_qdesc(&d, 0, 1, VT_INDIR + 0x200, 6 * 16, VRING_DESC_F_INDIRECT, 0);
    vt_avail_add(&d, 0, 1);
    vt_kick(&d, 0);
    complete_all();
    assert_int_equal(status_of(1), VIRTIO_BLK_S_IOERR);
    vt_assert_healthy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_identity, setup),
        cmocka_unit_test_setup(test_read_only, setup),
        cmocka_unit_test_setup(test_read_write, setup),
        cmocka_unit_test_setup(test_any_layout, setup),
        cmocka_unit_test_setup(test_flush_get_id, setup),
        cmocka_unit_test_setup(test_errors, setup),
        cmocka_unit_test_setup(test_needs_reset, setup),
        cmocka_unit_test_setup(test_partial_batch, setup),
        cmocka_unit_test_setup(test_reset_midway, setup),
        cmocka_unit_test_setup(test_batch, setup),
        cmocka_unit_test_setup(test_mutation, setup),
        cmocka_unit_test(test_async),
        cmocka_unit_test(test_flush_order),
        cmocka_unit_test(test_reset_in_flight),
        cmocka_unit_test(test_hold),
        cmocka_unit_test(test_room),
        cmocka_unit_test(test_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
