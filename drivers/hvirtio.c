/* SPDX-License-Identifier: Apache-2.0 */
/* Driver side of virtio-mmio version 2 (see hvirtio.h; virtio 1.2 4.2.3
 * for the initialisation sequence, 2.7 for split rings). */
#include "drivers/hvirtio.h"

#include "arch/arch.h"
#include "devices/virtio_mmio.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"

#define DESC_SIZE 16

static uint32_t rd(const struct hvirtio *h, unsigned reg)
{
    return mmio_read32(h->base + reg);
}

static void wr(const struct hvirtio *h, unsigned reg, uint32_t v)
{
    mmio_write32(h->base + reg, v);
}

static void put16(volatile uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static uint16_t get16(const volatile uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const volatile uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le(volatile uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int hvirtio_probe(uintptr_t base, uint32_t *device_id, uint32_t *version)
{
    if (mmio_read32(base + VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC)
        return ERR_NOENT;
    *version = mmio_read32(base + VIRTIO_MMIO_VERSION);
    *device_id = mmio_read32(base + VIRTIO_MMIO_DEVICE_ID);
    return 0;
}

int hvirtio_open(struct hvirtio *h, uintptr_t base, uint64_t want, char *err, size_t errlen)
{
    uint32_t version, id;

    memset(h, 0, sizeof(*h));
    h->base = base;
    if (hvirtio_probe(base, &id, &version) < 0 || id == 0) {
        fmt_snprintf(err, errlen, "no virtio device at %#lx", (unsigned long)base);
        return ERR_NOENT;
    }
    if (version != 2) {
        fmt_snprintf(err, errlen,
                     "virtio-mmio at %#lx is version %u (legacy); Vireo drives version 2 "
                     "(QEMU: -global virtio-mmio.force-legacy=false)",
                     (unsigned long)base, version);
        return ERR_VERSION;
    }
    h->device_id = id;
    wr(h, VIRTIO_MMIO_STATUS, 0);
    wr(h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint64_t offered = 0;
    for (unsigned sel = 0; sel < 2; sel++) {
        wr(h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel);
        offered |= (uint64_t)rd(h, VIRTIO_MMIO_DEVICE_FEATURES) << (32 * sel);
    }
    if (!(offered & (1ull << VIRTIO_F_VERSION_1))) {
        fmt_snprintf(err, errlen, "virtio device at %#lx does not offer VERSION_1",
                     (unsigned long)base);
        return ERR_NOTSUP;
    }
    h->features = (want & offered) | 1ull << VIRTIO_F_VERSION_1;
    for (unsigned sel = 0; sel < 2; sel++) {
        wr(h, VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
        wr(h, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(h->features >> (32 * sel)));
    }
    wr(h, VIRTIO_MMIO_STATUS,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    if (!(rd(h, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
        wr(h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_FAILED);
        fmt_snprintf(err, errlen, "virtio device at %#lx refused features %#llx",
                     (unsigned long)base, (unsigned long long)h->features);
        return ERR_NOTSUP;
    }
    return 0;
}

/* Descriptors, then the available ring (flags, idx, ring, used_event),
 * then the used ring at the next 4 KiB (flags, idx, ring, avail_event). */
static size_t avail_off(uint16_t num)
{
    return (size_t)DESC_SIZE * num;
}

static size_t used_off(uint16_t num)
{
    return (avail_off(num) + 6 + 2u * num + 4095) & ~(size_t)4095;
}

size_t hvirtio_ring_bytes(uint16_t num)
{
    return (used_off(num) + 6 + 8u * num + 4095) & ~(size_t)4095;
}

static void wr64(const struct hvirtio *h, unsigned lo, uint64_t v)
{
    wr(h, lo, (uint32_t)v);
    wr(h, lo + 4, (uint32_t)(v >> 32));
}

int hvirtio_queue(struct hvirtio *h, unsigned q, uint16_t num, void *mem, char *err, size_t errlen)
{
    struct hvq *vq = &h->q[q];

    if (q >= HVIRTIO_MAX_QUEUES || num == 0 || (num & (num - 1))) {
        fmt_snprintf(err, errlen, "bad queue %u of %u entries", q, num);
        return ERR_INVAL;
    }
    wr(h, VIRTIO_MMIO_QUEUE_SEL, q);
    uint32_t max = rd(h, VIRTIO_MMIO_QUEUE_NUM_MAX);
    if (max == 0) {
        fmt_snprintf(err, errlen, "virtio device at %#lx has no queue %u", (unsigned long)h->base,
                     q);
        return ERR_NOENT;
    }
    while (num > max)
        num >>= 1;
    uint8_t *m = mem;
    memset(m, 0, hvirtio_ring_bytes(num));
    vq->num = num;
    vq->desc = m;
    vq->avail = m + avail_off(num);
    vq->used = m + used_off(num);
    /* Free descriptors chained through their next fields. */
    for (uint16_t i = 0; i < num; i++)
        put16(vq->desc + DESC_SIZE * i + 14, (uint16_t)((i + 1) % num));
    vq->free_head = 0;
    vq->nfree = num;
    vq->avail_idx = vq->last_used = 0;
    wr(h, VIRTIO_MMIO_QUEUE_NUM, num);
    wr64(h, VIRTIO_MMIO_QUEUE_DESC_LOW, (uintptr_t)vq->desc);
    wr64(h, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uintptr_t)vq->avail);
    wr64(h, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uintptr_t)vq->used);
    wr(h, VIRTIO_MMIO_QUEUE_READY, 1);
    return 0;
}

void hvirtio_start(struct hvirtio *h)
{
    wr(h, VIRTIO_MMIO_STATUS,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
           VIRTIO_STATUS_DRIVER_OK);
}

/* indirect: bufs is one buffer, the table, and its descriptor says so. */
static int post(struct hvirtio *h, unsigned q, const struct hv_buf *bufs, unsigned n, bool indirect)
{
    struct hvq *vq = &h->q[q];

    if (n == 0)
        return ERR_INVAL;
    if (n > vq->nfree)
        return ERR_NOSPC;
    uint16_t head = vq->free_head, d = head;
    for (unsigned i = 0; i < n; i++) {
        volatile uint8_t *e = vq->desc + DESC_SIZE * d;
        uint16_t next = get16(e + 14);
        uint16_t flags = indirect ? 4 : (bufs[i].write ? 2 : 0) | (i + 1 < n ? 1 : 0);

        put_le(e, (uintptr_t)bufs[i].addr, 8);
        put_le(e + 8, bufs[i].len, 4);
        put16(e + 12, flags);
        if (i + 1 < n)
            d = next;
        else
            vq->free_head = next;
    }
    vq->nfree = (uint16_t)(vq->nfree - n);
    put16(vq->avail + 4 + 2 * (vq->avail_idx % vq->num), head);
    arch_dma_fence(); /* the entry before the index that publishes it */
    vq->avail_idx++;
    put16(vq->avail + 2, vq->avail_idx);
    return head;
}

int hvirtio_post(struct hvirtio *h, unsigned q, const struct hv_buf *bufs, unsigned n)
{
    return post(h, q, bufs, n, false);
}

void hvirtio_desc_put(void *table, unsigned i, const struct hv_buf *buf, bool more)
{
    volatile uint8_t *e = (volatile uint8_t *)table + DESC_SIZE * i;

    put_le(e, (uintptr_t)buf->addr, 8);
    put_le(e + 8, buf->len, 4);
    put16(e + 12, (uint16_t)((buf->write ? 2 : 0) | (more ? 1 : 0))); /* WRITE, NEXT */
    put16(e + 14, (uint16_t)(more ? i + 1 : 0));
}

int hvirtio_post_indirect(struct hvirtio *h, unsigned q, void *table, unsigned n)
{
    if (n == 0 || n > 32768)
        return ERR_INVAL;
    struct hv_buf one = {table, (uint32_t)(DESC_SIZE * n), false};
    return post(h, q, &one, 1, true); /* INDIRECT, neither WRITE nor NEXT */
}

void hvirtio_kick(struct hvirtio *h, unsigned q)
{
    arch_dma_fence();
    wr(h, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

int hvirtio_used(struct hvirtio *h, unsigned q, uint32_t *len)
{
    struct hvq *vq = &h->q[q];

    if (get16(vq->used + 2) == vq->last_used)
        return ERR_AGAIN;
    arch_dma_fence(); /* the index before the entry it covers */
    volatile uint8_t *e = vq->used + 4 + 8 * (vq->last_used % vq->num);
    uint32_t id = get32(e);
    *len = get32(e + 4);
    vq->last_used++;
    if (id >= vq->num)
        return ERR_BROKEN;
    /* Give the chain's descriptors back (bounded: a looping chain from a
     * confused device stops at num). */
    uint16_t d = (uint16_t)id, count = 1;
    while ((get16(vq->desc + DESC_SIZE * d + 12) & 1) && count < vq->num) {
        d = get16(vq->desc + DESC_SIZE * d + 14);
        if (d >= vq->num)
            return ERR_BROKEN;
        count++;
    }
    put16(vq->desc + DESC_SIZE * d + 14, vq->free_head);
    vq->free_head = (uint16_t)id;
    vq->nfree = (uint16_t)(vq->nfree + count);
    return (int)id;
}

uint32_t hvirtio_irq_ack(struct hvirtio *h)
{
    uint32_t s = rd(h, VIRTIO_MMIO_INTERRUPT_STATUS);

    if (s)
        wr(h, VIRTIO_MMIO_INTERRUPT_ACK, s);
    return s;
}

int hvirtio_wait(struct hvirtio *h, unsigned q, int head, uint32_t *len, uint64_t timeout_ticks)
{
    uint64_t start = arch_time();

    for (;;) {
        int got = hvirtio_used(h, q, len);

        if (got == head)
            return 0;
        if (got != ERR_AGAIN)
            return ERR_IO; /* another chain, or garbage: the caller waits for one at a time */
        if (arch_time() - start > timeout_ticks)
            return ERR_IO; /* no answer in time */
        arch_cpu_relax();
    }
}
