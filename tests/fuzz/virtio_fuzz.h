/* SPDX-License-Identifier: Apache-2.0 */
/* The harness shared by the virtio device fuzz targets (fuzz_virtio_*.c):
 * a 64 KiB guest RAM tiled with the input, and the input as a program of
 * register and config accesses, descriptor and ring writes, notifications
 * and resets, checking after each step that the interrupt line follows
 * InterruptStatus.  Each target defines fz_host_op (its device's host-side
 * input) and, in LLVMFuzzerTestOneInput, sets fz_t, fz_nq and fz_dev, then
 * calls fz_run.  Included once per target: everything here is static. */
#ifndef VIREO_TESTS_FUZZ_VIRTIO_FUZZ_H
#define VIREO_TESTS_FUZZ_VIRTIO_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/mmio.h"
#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"
#include "lib/err.h"

/* Guest RAM: 64 KiB at 0x80000000, tiled with the input. */
#define FZ_BASE 0x80000000ull
#define FZ_SIZE 0x10000ull
static uint8_t ram[FZ_SIZE];

static int fz_read(void *ctx, uint64_t gpa, void *dst, size_t n)
{
    if (ctx != ram)
        abort();
    if (gpa < FZ_BASE || n > FZ_SIZE || gpa - FZ_BASE > FZ_SIZE - n)
        return -1;
    memcpy(dst, ram + (gpa - FZ_BASE), n);
    return 0;
}

static int fz_write(void *ctx, uint64_t gpa, const void *src, size_t n)
{
    if (ctx != ram)
        abort();
    if (gpa < FZ_BASE || n > FZ_SIZE || gpa - FZ_BASE > FZ_SIZE - n)
        return -1;
    memcpy(ram + (gpa - FZ_BASE), src, n);
    return 0;
}

/* The checked translation over the fuzzer's RAM: a segment per 4 KiB
 * page (never merged), refused outside it. */
static int fz_map(void *ctx, uint64_t gpa, uint64_t n, struct gm_seg *segs, unsigned max)
{
    unsigned count = 0;

    if (ctx != ram)
        abort();
    if (gpa < FZ_BASE || n > FZ_SIZE || gpa - FZ_BASE > FZ_SIZE - n)
        return ERR_RANGE;
    while (n) {
        uint64_t k = 4096 - (gpa & 4095);
        if (k > n)
            k = n;
        if (count == max)
            return ERR_NOSPC;
        segs[count++] = (struct gm_seg){(uintptr_t)(ram + (gpa - FZ_BASE)), (uint32_t)k};
        gpa += k;
        n -= k;
    }
    return (int)count;
}

static void fz_written(void *ctx, uint64_t gpa, uint64_t n)
{
    if (ctx != ram || gpa < FZ_BASE || n > FZ_SIZE || gpa - FZ_BASE > FZ_SIZE - n)
        abort();
}

static const struct guest_mem fz_mem = {fz_read, fz_write, ram, fz_map, fz_written};
static bool fz_level;

static void fz_set_level(void *ctl, unsigned source, bool level)
{
    if (ctl != ram || source != 3)
        abort();
    fz_level = level;
}

static const struct irq_line fz_irq = {fz_set_level, ram, 3};

struct input {
    const uint8_t *p;
    size_t left;
};

static uint32_t take8(struct input *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->p++;
}

static uint32_t take16(struct input *in)
{
    return take8(in) | take8(in) << 8;
}

static uint32_t take32(struct input *in)
{
    return take16(in) | take16(in) << 16;
}

static struct mmio_dev fz_dev;
static struct virtio_mmio *fz_t;
static unsigned fz_nq;

static uint32_t fz_rd(uint64_t off)
{
    uint64_t v = 0;

    if (fz_dev.ops->read(&fz_dev, off, 4, &v) != 0 || v > 0xffffffffull)
        abort();
    return (uint32_t)v;
}

static void fz_wr(uint64_t off, uint32_t v)
{
    if (fz_dev.ops->write(&fz_dev, off, 4, v) != 0)
        abort();
}

/* Queue q's rings: desc at q * 0x800, avail + 0x200, used + 0x400 (room
 * for 16 entries). */
#define FZ_DESC(q)  (FZ_BASE + 0x800 * (uint64_t)(q))
#define FZ_AVAIL(q) (FZ_DESC(q) + 0x200)
#define FZ_USED(q)  (FZ_DESC(q) + 0x400)
static uint16_t fz_num[VIRTIO_MMIO_MAX_QUEUES], fz_avail[VIRTIO_MMIO_MAX_QUEUES];

static void fz_put(uint64_t gpa, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        ram[gpa - FZ_BASE + i] = (uint8_t)(v >> (8 * i));
}

/* What a driver does to start the device, with fuzzed features and queue
 * sizes. */
static void fz_start(struct input *in)
{
    uint64_t offered = virtio_mmio_offered(fz_t);
    uint64_t feat = (offered & ((uint64_t)take32(in) | 1ull << 32)) | (1ull << VIRTIO_F_VERSION_1);

    fz_wr(VIRTIO_MMIO_STATUS, 0);
    fz_wr(VIRTIO_MMIO_STATUS, 3);
    fz_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    fz_wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
    fz_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    fz_wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(feat >> 32));
    fz_wr(VIRTIO_MMIO_STATUS, 0xb);
    if (!(fz_rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
        abort(); /* a subset of the offered bits with VERSION_1 */
    for (unsigned q = 0; q < fz_nq; q++) {
        uint16_t num = (uint16_t)(1u << (take8(in) % 5));
        memset(ram + (FZ_DESC(q) - FZ_BASE), 0, 0x800);
        fz_wr(VIRTIO_MMIO_QUEUE_SEL, q);
        fz_wr(VIRTIO_MMIO_QUEUE_NUM, num);
        fz_wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)FZ_DESC(q));
        fz_wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
        fz_wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)FZ_AVAIL(q));
        fz_wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
        fz_wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)FZ_USED(q));
        fz_wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
        fz_wr(VIRTIO_MMIO_QUEUE_READY, 1);
        fz_num[q] = num;
        fz_avail[q] = 0;
    }
    fz_wr(VIRTIO_MMIO_STATUS, 0xf);
}

static void fz_host_op(struct input *in); /* the device's own host-side input */

/* Runs the program in the input against fz_dev. */
static void fz_run(const uint8_t *data, size_t size)
{
    static const unsigned widths[4] = {1, 2, 4, 8};
    struct input in = {data, size};
    uint64_t v;

    /* Tile: the input once, then doubling copies. */
    size_t filled = size < FZ_SIZE ? size : FZ_SIZE;
    memcpy(ram, data, filled);
    if (!filled)
        memset(ram, 0, FZ_SIZE);
    while (filled && filled < FZ_SIZE) {
        size_t k = filled < FZ_SIZE - filled ? filled : FZ_SIZE - filled;
        memcpy(ram + filled, ram, k);
        filled += k;
    }
    memset(fz_num, 0, sizeof(fz_num));
    while (in.left) {
        uint32_t op = take8(&in);
        switch (op % 13) {
        case 0: /* any register write */
            fz_wr((take8(&in) & 0x3f) * 4, take32(&in));
            break;
        case 1: /* any register read */
            fz_rd((take8(&in) & 0x3f) * 4);
            break;
        case 2: { /* config write, any width */
            uint64_t off = VIRTIO_MMIO_CONFIG + take8(&in) % 0x40;
            int rc = fz_dev.ops->write(&fz_dev, off, widths[(op >> 4) & 3], take32(&in));
            if (rc != 0 && rc != ERR_NOTSUP)
                abort();
            break;
        }
        case 3: { /* config read */
            uint64_t off = VIRTIO_MMIO_CONFIG + take8(&in) % 0x40;
            unsigned w = widths[(op >> 4) & 3];
            v = 0;
            int rc = fz_dev.ops->read(&fz_dev, off, w, &v);
            if (rc == 0 && (w == 8 || (w < 8 && v >> (8 * w))))
                abort();
            break;
        }
        case 4: { /* poke guest memory */
            uint32_t off = take16(&in);
            unsigned n = take8(&in) % 32;
            for (unsigned k = 0; k < n; k++)
                ram[(off + k) % FZ_SIZE] = (uint8_t)take8(&in);
            break;
        }
        case 5:
            fz_start(&in);
            break;
        case 6: { /* a descriptor */
            unsigned q = take8(&in) % fz_nq;
            unsigned i = take8(&in) % 16;
            uint64_t addr = (op & 0x80) ? take32(&in) : FZ_BASE + take16(&in);
            uint32_t len = (op & 0x40) ? take32(&in) : take16(&in) % 0x1000;
            uint16_t flags = (uint16_t)(take8(&in) & 7);
            uint16_t next = (uint16_t)(take8(&in) % 20);
            uint64_t e = FZ_DESC(q) + 16 * (uint64_t)i;
            fz_put(e, addr, 8);
            fz_put(e + 8, len, 4);
            fz_put(e + 12, flags, 2);
            fz_put(e + 14, next, 2);
            break;
        }
        case 7: { /* make a chain available */
            unsigned q = take8(&in) % fz_nq;
            uint16_t head = (uint16_t)(take8(&in) % 20);
            uint16_t num = fz_num[q] ? fz_num[q] : 1;
            fz_put(FZ_AVAIL(q) + 4 + 2 * (uint64_t)(fz_avail[q] % num), head, 2);
            fz_avail[q]++;
            fz_put(FZ_AVAIL(q) + 2, fz_avail[q], 2);
            break;
        }
        case 8: /* notify (sometimes a queue that does not exist) */
            fz_wr(VIRTIO_MMIO_QUEUE_NOTIFY, take8(&in) % (fz_nq + 1));
            break;
        case 9:
            fz_host_op(&in);
            break;
        case 10: /* reset */
            fz_wr(VIRTIO_MMIO_STATUS, 0);
            break;
        case 11: /* interrupt acknowledge */
            fz_wr(VIRTIO_MMIO_INTERRUPT_ACK, fz_rd(VIRTIO_MMIO_INTERRUPT_STATUS));
            break;
        case 12: /* take a queue down (and maybe up again elsewhere) */
            fz_wr(VIRTIO_MMIO_QUEUE_SEL, take8(&in) % fz_nq);
            fz_wr(VIRTIO_MMIO_QUEUE_READY, 0);
            break;
        }
        /* The line follows InterruptStatus, which holds only the two
         * defined bits. */
        uint32_t is = fz_rd(VIRTIO_MMIO_INTERRUPT_STATUS);
        if (fz_level != (is != 0) || (is & ~3u))
            abort();
    }
}

#endif
