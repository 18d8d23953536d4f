/* SPDX-License-Identifier: Apache-2.0 */
/* Host virtio-blk driver (see hvirtio_blk.h; virtio 1.2 5.2, 2.7.5.3 for
 * indirect descriptors). */
#include "drivers/hvirtio_blk.h"

#include "arch/arch.h"
#include "devices/virtio_mmio.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"

#define F_SEG_MAX 2
#define F_RO      5
#define F_FLUSH   9

#define CFG_CAPACITY 0x00
#define CFG_SEG_MAX  0x0c

int hvblk_init(struct hvblk *b, uintptr_t base, void *ring, void *tables, uint64_t timeout_ticks,
               char *err, size_t errlen)
{
    memset(b, 0, sizeof(*b));
    b->timeout_ticks = timeout_ticks;
    b->tables = tables;
    int r = hvirtio_open(&b->v, base,
                         1ull << F_SEG_MAX | 1ull << F_RO | 1ull << F_FLUSH |
                             1ull << VIRTIO_RING_F_INDIRECT_DESC,
                         err, errlen);
    if (r < 0)
        return r;
    if (b->v.device_id != 2) {
        fmt_snprintf(err, errlen, "device at %#lx is not virtio-blk", (unsigned long)base);
        return ERR_NOENT;
    }
    if (!(b->v.features & 1ull << VIRTIO_RING_F_INDIRECT_DESC)) {
        fmt_snprintf(err, errlen,
                     "virtio-blk at %#lx has no indirect descriptors (QEMU: "
                     "indirect_desc=on, the default)",
                     (unsigned long)base);
        return ERR_NOTSUP;
    }
    b->sectors = (uint64_t)mmio_read32(base + VIRTIO_MMIO_CONFIG + CFG_CAPACITY) |
                 (uint64_t)mmio_read32(base + VIRTIO_MMIO_CONFIG + CFG_CAPACITY + 4) << 32;
    b->read_only = (b->v.features >> F_RO) & 1;
    b->can_flush = (b->v.features >> F_FLUSH) & 1;
    /* The device's own limit on segments a request, when it states one. */
    b->max_segs = HVBLK_SEGS;
    if ((b->v.features >> F_SEG_MAX) & 1) {
        uint32_t m = mmio_read32(base + VIRTIO_MMIO_CONFIG + CFG_SEG_MAX);
        if (m && m < b->max_segs)
            b->max_segs = m;
    }
    r = hvirtio_queue(&b->v, 0, HVBLK_RING, ring, err, errlen);
    if (r < 0)
        return r;
    if (b->v.q[0].num < 8) {
        fmt_snprintf(err, errlen, "virtio-blk at %#lx has a queue of %u entries, fewer than 8",
                     (unsigned long)base, b->v.q[0].num);
        return ERR_NOTSUP;
    }
    b->slots = b->v.q[0].num < HVBLK_SLOTS ? b->v.q[0].num : HVBLK_SLOTS;
    if (b->max_segs > b->v.q[0].num - 2u)
        b->max_segs = b->v.q[0].num - 2u;
    hvirtio_start(&b->v);
    return 0;
}

void hvblk_set_done(struct hvblk *b, void (*done)(void *tag, int result))
{
    __atomic_store_n(&b->done, done, __ATOMIC_RELEASE);
}

int hvblk_reserve(struct hvblk *b, unsigned n)
{
    int r = 0;

    spin_lock(&b->lock);
    if (b->failed)
        r = ERR_IO;
    else if (n > b->slots - b->busy - b->reserved)
        r = ERR_AGAIN;
    else
        b->reserved += n;
    spin_unlock(&b->lock);
    return r;
}

void hvblk_unreserve(struct hvblk *b, unsigned n)
{
    spin_lock(&b->lock);
    b->reserved -= n <= b->reserved ? n : b->reserved;
    spin_unlock(&b->lock);
}

/* Lock held, a slot reserved. */
static int submit_locked(struct hvblk *b, uint32_t type, uint64_t sector, const struct gm_seg *segs,
                         unsigned nsegs, void *tag, int *result)
{
    uint64_t bytes = 0;

    if (b->reserved)
        b->reserved--;
    if (b->failed)
        return ERR_IO;
    if (nsegs > b->max_segs || (type == HVBLK_T_FLUSH) != (nsegs == 0))
        return ERR_INVAL;
    for (unsigned i = 0; i < nsegs; i++)
        bytes += segs[i].len;
    if (bytes % 512)
        return ERR_INVAL;
    if (sector > b->sectors || bytes / 512 > b->sectors - sector)
        return ERR_RANGE;
    if (type == HVBLK_T_OUT && b->read_only)
        return ERR_NOTSUP;
    if (type == HVBLK_T_FLUSH && !b->can_flush)
        return HVBLK_DONE; /* without VIRTIO_BLK_F_FLUSH the device writes through */
    unsigned s = 0;
    while (s < HVBLK_SLOTS && b->slot[s].busy)
        s++;
    if (s == HVBLK_SLOTS)
        return ERR_IO; /* cannot happen: slots are reserved first */
    struct hvblk_slot *sl = &b->slot[s];
    memset(sl->hdr, 0, sizeof(sl->hdr));
    for (unsigned i = 0; i < 4; i++)
        sl->hdr[i] = (uint8_t)(type >> (8 * i));
    for (unsigned i = 0; i < 8; i++)
        sl->hdr[8 + i] = (uint8_t)(sector >> (8 * i));
    sl->status = 0xff;
    /* The chain, written straight into the slot's indirect table. */
    uint8_t *table = b->tables + (size_t)s * HVBLK_TABLE_BYTES;
    struct hv_buf hb = {sl->hdr, 16, false};
    hvirtio_desc_put(table, 0, &hb, true);
    for (unsigned i = 0; i < nsegs; i++) {
        hb = (struct hv_buf){(void *)(uintptr_t)segs[i].addr, segs[i].len, type == HVBLK_T_IN};
        hvirtio_desc_put(table, i + 1, &hb, true);
    }
    hb = (struct hv_buf){&sl->status, 1, true};
    hvirtio_desc_put(table, nsegs + 1, &hb, false);
    int head = hvirtio_post_indirect(&b->v, 0, table, nsegs + 2);
    if (head < 0 || head >= HVBLK_RING)
        return ERR_IO; /* cannot happen: one ring entry a request, more entries than slots */
    sl->busy = true;
    sl->tag = tag;
    sl->result = result;
    sl->start = arch_time();
    b->slot_of_head[head] = (uint8_t)s;
    b->busy++;
    return 0;
}

int hvblk_submit(struct hvblk *b, uint32_t type, uint64_t sector, const struct gm_seg *segs,
                 unsigned nsegs, void *tag)
{
    spin_lock(&b->lock);
    int r = submit_locked(b, type, sector, segs, nsegs, tag, NULL);
    spin_unlock(&b->lock);
    return r;
}

void hvblk_kick(struct hvblk *b)
{
    spin_lock(&b->lock);
    if (!b->failed)
        hvirtio_kick(&b->v, 0);
    spin_unlock(&b->lock);
}

struct done_rec {
    void *tag;
    int result;
};

/* Lock held: slot s finished with result r; an asynchronous one is
 * noted in out[]. */
static void finish(struct hvblk *b, unsigned s, int r, struct done_rec *out, unsigned *nout)
{
    struct hvblk_slot *sl = &b->slot[s];

    sl->busy = false;
    b->busy--;
    b->completed++;
    if (r < 0)
        b->errors++;
    if (sl->result)
        __atomic_store_n(sl->result, r, __ATOMIC_RELEASE);
    else
        out[(*nout)++] = (struct done_rec){sl->tag, r};
}

/* Lock held: the device broke the protocol or is overdue.  A reset stops
 * it from touching any buffer it was given (read back until it reads 0),
 * so every request in flight ends here, with ERR_IO. */
static void fail_locked(struct hvblk *b, struct done_rec *out, unsigned *nout)
{
    b->failed = true;
    mmio_write32(b->v.base + VIRTIO_MMIO_STATUS, 0);
    for (unsigned i = 0; i < 1000000 && mmio_read32(b->v.base + VIRTIO_MMIO_STATUS) != 0; i++)
        arch_cpu_relax();
    for (unsigned s = 0; s < HVBLK_SLOTS; s++)
        if (b->slot[s].busy)
            finish(b, s, ERR_IO, out, nout);
}

unsigned hvblk_poll(struct hvblk *b)
{
    struct done_rec out[HVBLK_SLOTS];
    unsigned nout = 0, count = 0;

    spin_lock(&b->lock);
    /* Acknowledged even with nothing in flight: the line is a level, and
     * a completion a waiter already took still raised it. */
    if (!b->failed)
        hvirtio_irq_ack(&b->v);
    if (b->busy && !b->failed) {
        for (;;) {
            uint32_t len;
            int head = hvirtio_used(&b->v, 0, &len);
            if (head == ERR_AGAIN)
                break;
            if (head < 0 || head >= HVBLK_RING || !b->slot[b->slot_of_head[head]].busy) {
                count += b->busy;
                fail_locked(b, out, &nout);
                break;
            }
            unsigned s = b->slot_of_head[head];
            uint8_t st = *(volatile uint8_t *)&b->slot[s].status;
            finish(b, s, st == 0 ? 0 : ERR_IO, out, &nout);
            count++;
        }
        /* Overdue: the oldest request has waited longer than the timeout. */
        uint64_t now = arch_time();
        for (unsigned s = 0; b->busy && !b->failed && s < HVBLK_SLOTS; s++)
            if (b->slot[s].busy && now - b->slot[s].start > b->timeout_ticks) {
                count += b->busy;
                fail_locked(b, out, &nout);
            }
    }
    void (*done)(void *, int) = __atomic_load_n(&b->done, __ATOMIC_ACQUIRE);
    spin_unlock(&b->lock);
    for (unsigned i = 0; i < nout; i++)
        if (done)
            done(out[i].tag, out[i].result);
    return count;
}

unsigned hvblk_in_flight(struct hvblk *b)
{
    return __atomic_load_n(&b->busy, __ATOMIC_RELAXED);
}

/* One synchronous request on Vireo's memory: a slot (waiting for one while
 * others complete), submitted, kicked, polled for. */
static int request(struct hvblk *b, uint32_t type, uint64_t sector, void *buf, size_t n)
{
    int r;

    while ((r = hvblk_reserve(b, 1)) == ERR_AGAIN) {
        hvblk_poll(b);
        arch_cpu_relax();
    }
    if (r < 0)
        return r;
    int result = 1;
    struct gm_seg seg = {(uintptr_t)buf, (uint32_t)n};
    spin_lock(&b->lock);
    r = submit_locked(b, type, sector, &seg, n ? 1 : 0, NULL, &result);
    if (r == 0)
        hvirtio_kick(&b->v, 0);
    spin_unlock(&b->lock);
    if (r != 0)
        return r < 0 ? r : 0;
    while (__atomic_load_n(&result, __ATOMIC_ACQUIRE) == 1) {
        hvblk_poll(b);
        arch_cpu_relax();
    }
    return result;
}

/* One request carries at most 1 MiB of Vireo's (contiguous) memory. */
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
    return rw(b, HVBLK_T_IN, sector, buf, n);
}

int hvblk_write(struct hvblk *b, uint64_t sector, const void *buf, size_t n)
{
    if (b->read_only)
        return ERR_NOTSUP;
    return rw(b, HVBLK_T_OUT, sector, (uint8_t *)(uintptr_t)buf, n);
}

int hvblk_flush(struct hvblk *b)
{
    return request(b, HVBLK_T_FLUSH, 0, NULL, 0);
}
