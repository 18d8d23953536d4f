/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: virtio-blk (devices/virtio_blk.h) behind the virtio-mmio
 * transport.  Guest RAM (64 KiB) is tiled with the input; the input is
 * also a program of register and config accesses, descriptor and ring
 * writes, notifications and resets, and host-side steps: complete a
 * pending backend submission (in any order, OK or failed), hold or
 * release the device.  Its first byte picks a read-only disk, a failing
 * backend, deferred completion, a backend that takes few segments a
 * submission and one with little room.  Checks: no crash or sanitizer
 * report, the interrupt line equal to InterruptStatus != 0, every backend
 * submission's segments inside guest RAM, its total a multiple of 512
 * inside the capacity, within the segment limit and a reservation, no
 * write to a read-only disk, and every submission completed once. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/mmio.h"
#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"
#include "devices/virtio_blk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "tests/fuzz/virtio_fuzz.h"

/* ---- the device ---- */

#define SECTORS 16
static struct virtio_blk blk;
static uint8_t disk[SECTORS * 512];
static bool ro, failing, deferred, reserving;
static unsigned max_segs, room, reserved;
static unsigned npending;
static struct virtio_blk_req *pending[256];

static int disk_submit(void *ctx, const struct blk_io *io)
{
    uint64_t total = 0;

    if (ctx != disk)
        abort();
    for (unsigned i = 0; i < io->nsegs; i++) {
        uintptr_t a = (uintptr_t)io->segs[i].addr;
        if (io->segs[i].len == 0 || a < (uintptr_t)ram ||
            a + io->segs[i].len > (uintptr_t)ram + sizeof(ram))
            abort();
        total += io->segs[i].len;
    }
    if (total != io->len || total % 512 || io->sector > SECTORS ||
        total / 512 > SECTORS - io->sector)
        abort();
    if ((io->type == VIRTIO_BLK_T_FLUSH) != (io->nsegs == 0) || (max_segs && io->nsegs > max_segs))
        abort();
    if (reserving) {
        if (reserved == 0)
            abort(); /* outside a reservation */
        reserved--;
        room--;
    }
    uint8_t *p = disk + io->sector * 512;
    for (unsigned i = 0; i < io->nsegs; i++) {
        void *seg = (void *)(uintptr_t)io->segs[i].addr;
        if (io->type == VIRTIO_BLK_T_IN) {
            memcpy(seg, p, io->segs[i].len);
        } else if (io->type == VIRTIO_BLK_T_OUT) {
            if (ro)
                abort();
            memcpy(p, seg, io->segs[i].len);
        } else {
            abort();
        }
        p += io->segs[i].len;
    }
    if (deferred) {
        if (npending == 256)
            abort(); /* more than the device may have in flight, times its pieces */
        pending[npending++] = io->req;
        return BLK_PENDING;
    }
    if (reserving)
        room++;
    return failing && io->sector == 3 ? ERR_IO : 0;
}

static int disk_reserve(void *ctx, unsigned n)
{
    if (ctx != disk)
        abort();
    if (n > room - reserved)
        return ERR_AGAIN;
    reserved += n;
    return 0;
}

static void disk_unreserve(void *ctx, unsigned n)
{
    if (ctx != disk || n > reserved)
        abort();
    reserved -= n;
}

static void complete(unsigned i, int result)
{
    struct virtio_blk_req *q = pending[i];

    pending[i] = pending[--npending];
    if (reserving)
        room++;
    virtio_blk_complete(q, result);
}

/* Host side: complete a pending submission, or hold/release. */
static void fz_host_op(struct input *in)
{
    uint32_t op = take8(in);

    if (op < 0xf0) {
        if (npending)
            complete(op % npending, failing && (op & 1) ? ERR_IO : 0);
    } else {
        virtio_blk_hold(&blk, op & 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t mode = size ? data[0] : 0;

    ro = mode & 1;
    failing = mode & 2;
    deferred = mode & 4;
    max_segs = mode & 8 ? 2 : 0;
    reserving = mode & 16;
    room = mode & 32 ? VIRTIO_BLK_PIECES + 2 : 64;
    reserved = 0;
    npending = 0;
    struct blk_backend be = {.sectors = SECTORS,
                             .read_only = ro,
                             .max_segs = max_segs,
                             .submit = disk_submit,
                             .ctx = disk};
    if (reserving) {
        be.reserve = disk_reserve;
        be.unreserve = disk_unreserve;
    }
    fz_level = false;
    virtio_blk_init(&blk, &fz_mem, &fz_irq, &be, "fuzz");
    fz_t = &blk.t;
    fz_nq = 1;
    fz_dev = (struct mmio_dev){&virtio_mmio_ops, "virtio-blk", 0x10001000, VIRTIO_MMIO_SIZE, fz_t};
    fz_run(data, size);
    /* Whatever is still pending completes now: once each, nothing left. */
    virtio_blk_hold(&blk, false);
    while (npending)
        complete(0, 0);
    if (virtio_blk_in_flight(&blk) != 0)
        abort();
    return 0;
}
