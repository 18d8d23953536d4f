/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: virtio-blk (devices/virtio_blk.h) behind the virtio-mmio
 * transport.  Guest RAM (64 KiB) is tiled with the input; the input is
 * also a program of register and config accesses, descriptor and ring
 * writes, notifications and resets; its first byte picks a read-only disk
 * and a failing backend.  Checks: no crash or sanitizer report, the
 * interrupt line equal to InterruptStatus != 0, and every backend call
 * inside the capacity, a non-zero multiple of 512 bytes no larger than the
 * bounce buffer, and no write to a read-only disk */
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
static bool ro, failing;

static void check(void *ctx, uint64_t sector, size_t n)
{
    if (ctx != disk || n == 0 || n % 512 || n > VIRTIO_BLK_BOUNCE || sector >= SECTORS ||
        n / 512 > SECTORS - sector)
        abort();
}

static int disk_read(void *ctx, uint64_t sector, void *buf, size_t n)
{
    check(ctx, sector, n);
    memcpy(buf, disk + sector * 512, n);
    return failing && sector == 3 ? -1 : 0;
}

static int disk_write(void *ctx, uint64_t sector, const void *buf, size_t n)
{
    check(ctx, sector, n);
    if (ro)
        abort();
    memcpy(disk + sector * 512, buf, n);
    return failing && sector == 5 ? -1 : 0;
}

static int disk_flush(void *ctx)
{
    if (ctx != disk)
        abort();
    return failing ? -1 : 0;
}

static void fz_host_op(struct input *in)
{
    (void)in; /* the disk has no host-side input */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t mode = size ? data[0] : 0;

    ro = mode & 1;
    failing = mode & 2;
    struct blk_backend be = {SECTORS, ro, disk_read, disk_write, (mode & 4) ? NULL : disk_flush,
                             disk};
    fz_level = false;
    virtio_blk_init(&blk, &fz_mem, &fz_irq, &be, "fuzz");
    fz_t = &blk.t;
    fz_nq = 1;
    fz_dev = (struct mmio_dev){&virtio_mmio_ops, "virtio-blk", 0x10001000, VIRTIO_MMIO_SIZE, fz_t};
    fz_run(data, size);
    return 0;
}
