/* SPDX-License-Identifier: Apache-2.0 */
/* Split virtqueues, device side (see virtqueue.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "devices/virtqueue.h"
#include "lib/err.h"
#include "lib/string.h"
#include "lib/wire.h"

/* Rings are little-endian (virtio 1.x); decode bytes so the host's byte
 * order does not matter. */
static int rd16(const struct guest_mem *m, uint64_t gpa, uint16_t *v)
{
    uint8_t b[2];

    if (m->read(m->ctx, gpa, b, sizeof(b)) != 0)
        return ERR_RANGE;
    *v = (uint16_t)(b[0] | b[1] << 8);
    return 0;
}

static int wr16(const struct guest_mem *m, uint64_t gpa, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};

    return m->write(m->ctx, gpa, b, sizeof(b));
}

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void put_le32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

static int rd_desc(const struct guest_mem *m, uint64_t gpa, struct vring_desc *d)
{
    uint8_t b[16];

    if (m->read(m->ctx, gpa, b, sizeof(b)) != 0)
        return ERR_RANGE;
    d->addr = (uint64_t)le32(b) | (uint64_t)le32(b + 4) << 32;
    d->len = le32(b + 8);
    d->flags = (uint16_t)(b[12] | b[13] << 8);
    d->next = (uint16_t)(b[14] | b[15] << 8);
    return 0;
}

/* Ring layout offsets for a queue of size num. */
#define AVAIL_IDX           2
#define AVAIL_RING(i)       (4 + 2 * (uint64_t)(i))
#define AVAIL_USED_EVENT(n) (4 + 2 * (uint64_t)(n))
#define AVAIL_SIZE(n)       (6 + 2 * (uint64_t)(n))
#define USED_IDX            2
#define USED_RING(i)        (4 + 8 * (uint64_t)(i))
#define USED_AVAIL_EVENT(n) (4 + 8 * (uint64_t)(n))
#define USED_SIZE(n)        (6 + 8 * (uint64_t)(n))

void vq_reset(struct virtqueue *q)
{
    uint32_t max_bytes = q->max_bytes;
    bool no_kicks = q->no_kicks;

    memset(q, 0, sizeof(*q));
    q->max_bytes = max_bytes;
    q->no_kicks = no_kicks;
}

/* [base, base + size) does not wrap around the address space. */
static bool range_ok(uint64_t base, uint64_t size)
{
    return base + size >= base;
}

int vq_check(const struct virtqueue *q, uint16_t num_max)
{
    if (q->num == 0 || q->num > num_max || q->num > VQ_MAX_SIZE || (q->num & (q->num - 1)))
        return ERR_BROKEN;
    if ((q->desc & 15) || (q->driver & 1) || (q->device & 3))
        return ERR_BROKEN;
    if (!range_ok(q->desc, 16 * (uint64_t)q->num) || !range_ok(q->driver, AVAIL_SIZE(q->num)) ||
        !range_ok(q->device, USED_SIZE(q->num)))
        return ERR_BROKEN;
    return 0;
}

static int vq_break(struct virtqueue *q)
{
    q->broken = true;
    return ERR_BROKEN;
}

/* Walks the chain starting at head into bufs. */
static int vq_walk(struct virtqueue *q, const struct guest_mem *m, uint16_t head,
                   struct vq_buf *bufs, unsigned max, unsigned *count)
{
    uint64_t table = q->desc;
    uint32_t size = q->num; /* entries in the current table */
    uint32_t idx = head;
    uint32_t seen = 0; /* descriptors walked in the current table */
    bool in_indirect = false, writable = false;
    uint64_t total = 0;
    unsigned n = 0;

    for (;;) {
        struct vring_desc d;

        if (idx >= size || ++seen > size)
            return ERR_BROKEN; /* out of the table, or a loop */
        if (rd_desc(m, table + 16 * (uint64_t)idx, &d) != 0)
            return ERR_BROKEN;
        if (d.flags & VRING_DESC_F_INDIRECT) {
            /* One indirect table, in place of the whole rest of the chain. */
            if (!q->indirect || in_indirect || (d.flags & VRING_DESC_F_NEXT))
                return ERR_BROKEN;
            if (d.len == 0 || d.len % 16 != 0 || d.len / 16 > VQ_MAX_SIZE ||
                !range_ok(d.addr, d.len))
                return ERR_BROKEN;
            in_indirect = true;
            table = d.addr;
            size = d.len / 16;
            idx = 0;
            seen = 0;
            continue;
        }
        if (!range_ok(d.addr, d.len))
            return ERR_BROKEN;
        total += d.len;
        if (q->max_bytes && total > q->max_bytes)
            return ERR_BROKEN;
        bool w = d.flags & VRING_DESC_F_WRITE;
        if (writable && !w)
            return ERR_BROKEN; /* readable after writable (2.7.4.2) */
        writable = w;
        if (n >= max)
            return ERR_BROKEN;
        bufs[n++] = (struct vq_buf){d.addr, d.len, w};
        if (!(d.flags & VRING_DESC_F_NEXT))
            break;
        idx = d.next;
    }
    *count = n;
    return 0;
}

/* The avail_event to publish: the next chain notifies, or none does. */
static uint16_t vq_avail_event(const struct virtqueue *q)
{
    return q->no_kicks ? (uint16_t)(q->last_avail + 0x8000) : q->last_avail;
}

int vq_pop(struct virtqueue *q, const struct guest_mem *m, struct vq_buf *bufs, unsigned max,
           unsigned *count)
{
    uint16_t avail_idx, head;

    *count = 0;
    if (q->broken)
        return ERR_BROKEN;
    if (!q->ready || q->num == 0)
        return ERR_AGAIN;
    if (rd16(m, q->driver + AVAIL_IDX, &avail_idx) != 0)
        return vq_break(q);
    uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
    if (pending == 0 && q->event_idx) {
        /* Empty: ask for the next notification, then look once more (the
         * driver may have added a chain before it saw the request). */
        if (wr16(m, q->device + USED_AVAIL_EVENT(q->num), vq_avail_event(q)) != 0)
            return vq_break(q);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (rd16(m, q->driver + AVAIL_IDX, &avail_idx) != 0)
            return vq_break(q);
        pending = (uint16_t)(avail_idx - q->last_avail);
    }
    if (pending > q->num)
        return vq_break(q); /* more than the ring holds */
    if (pending == 0)
        return ERR_AGAIN;
    /* Read the ring entry only after the index that published it. */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (rd16(m, q->driver + AVAIL_RING(q->last_avail & (q->num - 1)), &head) != 0)
        return vq_break(q);
    if (head >= q->num)
        return vq_break(q);
    if (vq_walk(q, m, head, bufs, max, count) != 0) {
        *count = 0;
        return vq_break(q);
    }
    q->last_avail++;
    return head;
}

void vq_unpop(struct virtqueue *q, uint16_t n)
{
    q->last_avail = (uint16_t)(q->last_avail - n);
}

int vq_want_kick(struct virtqueue *q, const struct guest_mem *m)
{
    if (q->broken)
        return ERR_BROKEN;
    if (!q->ready || q->num == 0 || !q->event_idx)
        return 0;
    if (wr16(m, q->device + USED_AVAIL_EVENT(q->num), q->last_avail) != 0)
        return vq_break(q);
    return 0;
}

int vq_push(struct virtqueue *q, const struct guest_mem *m, uint16_t head, uint32_t written)
{
    uint8_t elem[8];

    if (q->broken)
        return ERR_BROKEN;
    if (!q->ready || q->num == 0 || head >= q->num)
        return vq_break(q);
    put_le32(elem, head);
    put_le32(elem + 4, written);
    if (m->write(m->ctx, q->device + USED_RING(q->used_idx & (q->num - 1)), elem, sizeof(elem)))
        return vq_break(q);
    /* The element must be visible before the index that publishes it. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    q->used_idx++;
    if (wr16(m, q->device + USED_IDX, q->used_idx) != 0)
        return vq_break(q);
    return 0;
}

bool vq_should_notify(const struct virtqueue *q, const struct guest_mem *m, uint16_t old_used)
{
    uint16_t v;

    if (!q->ready || q->num == 0)
        return false;
    /* The used index store must be ordered before reading the driver's
     * wishes (2.7.10 / the "mb" in vring_need_event's callers). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (q->event_idx) {
        if (rd16(m, q->driver + AVAIL_USED_EVENT(q->num), &v) != 0)
            return true;
        return vq_need_event(v, q->used_idx, old_used);
    }
    if (rd16(m, q->driver, &v) != 0)
        return true;
    return !(v & VRING_AVAIL_F_NO_INTERRUPT);
}

/* Snapshot flags byte. */
#define VQS_READY    1
#define VQS_BROKEN   2
#define VQS_EVENT    4
#define VQS_INDIRECT 8

void vq_state_put(const struct virtqueue *q, struct wire *w)
{
    wire_put_u16(w, q->num);
    wire_put_u8(w, (uint8_t)((q->ready ? VQS_READY : 0) | (q->broken ? VQS_BROKEN : 0) |
                             (q->event_idx ? VQS_EVENT : 0) | (q->indirect ? VQS_INDIRECT : 0)));
    wire_put_u64(w, q->desc);
    wire_put_u64(w, q->driver);
    wire_put_u64(w, q->device);
    wire_put_u16(w, q->last_avail);
    wire_put_u16(w, q->used_idx);
}

/* Whether [gpa, gpa + size) is guest RAM: read through m in pieces, the
 * one test guest_mem offers. */
static bool vq_is_ram(const struct guest_mem *m, uint64_t gpa, uint64_t size)
{
    uint8_t scratch[64];

    if (!m->read)
        return false;
    for (uint64_t done = 0; done < size; done += sizeof(scratch)) {
        uint64_t k = size - done < sizeof(scratch) ? size - done : sizeof(scratch);
        if (m->read(m->ctx, gpa + done, scratch, (size_t)k) != 0)
            return false;
    }
    return true;
}

int vq_state_get(struct virtqueue *q, struct wire_in *r, uint16_t num_max,
                 const struct guest_mem *m, bool in_ram, bool apply)
{
    /* max_bytes and no_kicks are the device's, not the queue's state. */
    struct virtqueue n = {.max_bytes = q->max_bytes, .no_kicks = q->no_kicks};

    n.num = wire_get_u16(r);
    uint8_t flags = wire_get_u8(r);
    n.desc = wire_get_u64(r);
    n.driver = wire_get_u64(r);
    n.device = wire_get_u64(r);
    n.last_avail = wire_get_u16(r);
    n.used_idx = wire_get_u16(r);
    if (r->bad)
        return ERR_TRUNCATED;
    if (flags & ~(VQS_READY | VQS_BROKEN | VQS_EVENT | VQS_INDIRECT))
        return ERR_RANGE;
    n.ready = flags & VQS_READY;
    n.broken = flags & VQS_BROKEN;
    n.event_idx = flags & VQS_EVENT;
    n.indirect = flags & VQS_INDIRECT;
    /* A queue that is not ready holds only what the driver wrote to its
     * registers, any value; a ready one was checked when it became ready. */
    if (n.ready) {
        if (vq_check(&n, num_max) != 0 || (uint16_t)(n.last_avail - n.used_idx) > n.num)
            return ERR_RANGE;
        uint64_t ev = n.event_idx ? 2 : 0;
        /* A broken queue's rings are never touched again. */
        if (in_ram && !n.broken &&
            (!vq_is_ram(m, n.desc, 16 * (uint64_t)n.num) ||
             !vq_is_ram(m, n.driver, AVAIL_SIZE(n.num) - 2 + ev) ||
             !vq_is_ram(m, n.device, USED_SIZE(n.num) - 2 + ev)))
            return ERR_RANGE;
    }
    if (apply)
        *q = n;
    return 0;
}
