/* SPDX-License-Identifier: Apache-2.0 */
/* Host virtio-blk driver (see hvirtio_blk.h; virtio 1.2 5.2). */
#include "drivers/hvirtio_blk.h"

#include "arch/arch.h"
#include "devices/virtio_mmio.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"

#define F_RO    5
#define F_FLUSH 9

#define T_IN    0
#define T_OUT   1
#define T_FLUSH 4

#define CFG_CAPACITY 0x00

int hvblk_init(struct hvblk *b, uintptr_t base, void *ring, uint64_t timeout_ticks, char *err,
               size_t errlen)
{
    memset(b, 0, sizeof(*b));
    b->timeout_ticks = timeout_ticks;
    int r = hvirtio_open(&b->v, base, 1ull << F_RO | 1ull << F_FLUSH, err, errlen);
    if (r < 0)
        return r;
    if (b->v.device_id != 2) {
        fmt_snprintf(err, errlen, "device at %#lx is not virtio-blk", (unsigned long)base);
        return ERR_NOENT;
    }
    b->sectors = (uint64_t)mmio_read32(base + VIRTIO_MMIO_CONFIG + CFG_CAPACITY) |
                 (uint64_t)mmio_read32(base + VIRTIO_MMIO_CONFIG + CFG_CAPACITY + 4) << 32;
    b->read_only = (b->v.features >> F_RO) & 1;
    b->can_flush = (b->v.features >> F_FLUSH) & 1;
    r = hvirtio_queue(&b->v, 0, HVBLK_QUEUE, ring, err, errlen);
    if (r < 0)
        return r;
    hvirtio_start(&b->v);
    return 0;
}

static int request(struct hvblk *b, uint32_t type, uint64_t sector, void *buf, size_t n)
{
    struct hv_buf bufs[3];
    unsigned nb = 0;
    uint32_t len;
    int r = ERR_IO;

    spin_lock(&b->lock);
    if (b->failed)
        goto out;
    memset(b->hdr, 0, sizeof(b->hdr));
    for (unsigned i = 0; i < 4; i++)
        b->hdr[i] = (uint8_t)(type >> (8 * i));
    for (unsigned i = 0; i < 8; i++)
        b->hdr[8 + i] = (uint8_t)(sector >> (8 * i));
    b->status = 0xff;
    bufs[nb++] = (struct hv_buf){b->hdr, 16, false};
    if (n)
        bufs[nb++] = (struct hv_buf){buf, (uint32_t)n, type == T_IN};
    bufs[nb++] = (struct hv_buf){&b->status, 1, true};
    int head = hvirtio_post(&b->v, 0, bufs, nb);
    if (head < 0) {
        r = head;
        goto out;
    }
    hvirtio_kick(&b->v, 0);
    if (hvirtio_wait(&b->v, 0, head, &len, b->timeout_ticks) < 0) {
        b->failed = true; /* the request may still complete: never reuse its buffers */
        goto out;
    }
    hvirtio_irq_ack(&b->v);
    r = *(volatile uint8_t *)&b->status == 0 ? 0 : ERR_IO;
out:
    spin_unlock(&b->lock);
    return r;
}

/* One request carries at most 1 MiB (the length field is 32 bits; QEMU's
 * own limits are far above this). */
#define CHUNK (1u << 20)

static int rw(struct hvblk *b, uint32_t type, uint64_t sector, uint8_t *buf, size_t n)
{
    if (n % 512)
        return ERR_INVAL;
    if (sector > b->sectors || n / 512 > b->sectors - sector)
        return ERR_RANGE;
    while (n) {
        size_t k = n < CHUNK ? n : CHUNK;
        int r = request(b, type, sector, buf, k);

        if (r < 0)
            return r;
        sector += k / 512;
        buf += k;
        n -= k;
    }
    return 0;
}

int hvblk_read(struct hvblk *b, uint64_t sector, void *buf, size_t n)
{
    return rw(b, T_IN, sector, buf, n);
}

int hvblk_write(struct hvblk *b, uint64_t sector, const void *buf, size_t n)
{
    if (b->read_only)
        return ERR_NOTSUP;
    return rw(b, T_OUT, sector, (uint8_t *)(uintptr_t)buf, n);
}

int hvblk_flush(struct hvblk *b)
{
    /* Without VIRTIO_BLK_F_FLUSH the device writes through: nothing to do. */
    return b->can_flush ? request(b, T_FLUSH, 0, NULL, 0) : 0;
}
