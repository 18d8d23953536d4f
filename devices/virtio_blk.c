/* SPDX-License-Identifier: Apache-2.0 */
/* virtio block device (see virtio_blk.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"
#include "lib/err.h"
#include "lib/string.h"
#include "lib/wire.h"

/* A position in one direction (readable or writable part) of a chain. */
struct cursor {
    const struct vq_buf *b;
    unsigned n, i; /* buffers, current */
    uint64_t off;  /* into b[i] */
};

static void cur_init(struct cursor *c, const struct vq_buf *b, unsigned n)
{
    *c = (struct cursor){b, n, 0, 0};
}

/* Moves len bytes between p and the chain at the cursor; the caller knows
 * the chain holds them.  Returns 0, or ERR_RANGE if guest memory refused. */
static int cur_xfer(const struct guest_mem *m, struct cursor *c, void *p, size_t len, bool to_guest)
{
    uint8_t *q = p;

    while (len) {
        if (c->i >= c->n)
            return ERR_RANGE; /* cannot happen: lengths were summed */
        const struct vq_buf *v = &c->b[c->i];
        if (c->off >= v->len) {
            c->i++;
            c->off = 0;
            continue;
        }
        uint64_t room = v->len - c->off;
        size_t k = len < room ? len : (size_t)room;
        int r = to_guest ? m->write(m->ctx, v->addr + c->off, q, k)
                         : m->read(m->ctx, v->addr + c->off, q, k);
        if (r != 0)
            return ERR_RANGE;
        c->off += k;
        q += k;
        len -= k;
    }
    return 0;
}

static uint64_t le(const uint8_t *b, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = n; i-- > 0;)
        v = v << 8 | b[i];
    return v;
}

static bool blk_range_ok(const struct virtio_blk *b, uint64_t sector, uint64_t len)
{
    return len % VIRTIO_BLK_SECTOR == 0 && sector <= b->be.sectors &&
           len / VIRTIO_BLK_SECTOR <= b->be.sectors - sector;
}

/* The bytes [from, from + len) of the buffers bufs[0..n) (which hold
 * them) as host segments appended to b->segs[*nseg..): 0, ERR_BROKEN (not
 * the VM's RAM) or ERR_NOSPC. */
static int blk_map(struct virtio_blk *b, const struct vq_buf *bufs, unsigned n, uint64_t from,
                   uint64_t len, unsigned *nseg)
{
    const struct guest_mem *m = &b->t.mem;

    for (unsigned i = 0; i < n && len; i++) {
        if (from >= bufs[i].len) {
            from -= bufs[i].len;
            continue;
        }
        uint64_t k = bufs[i].len - from;
        if (k > len)
            k = len;
        if (!m->map)
            return ERR_BROKEN;
        int r = m->map(m->ctx, bufs[i].addr + from, k, b->segs + *nseg, VIRTIO_BLK_SEGS - *nseg);
        if (r == ERR_NOSPC)
            return ERR_NOSPC;
        if (r < 0)
            return ERR_BROKEN;
        *nseg += (unsigned)r;
        from = 0;
        len -= k;
    }
    return 0;
}

/* Lock held: req is done (pending 0).  Writes its status, notes the
 * guest pages the backend wrote, returns the chain.  False if the guest's
 * memory refused (NEEDS_RESET set). */
static bool blk_finish(struct virtio_blk *b, struct virtio_blk_req *q, bool *pushed)
{
    bool ok = true;

    if (q->gen == b->gen && !(b->t.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)) {
        uint32_t used = 1;
        switch (q->status != VIRTIO_BLK_S_OK ? ~0u : q->type) {
        case VIRTIO_BLK_T_IN:
            for (unsigned i = 0; i < q->nw; i++)
                if (b->t.mem.written)
                    b->t.mem.written(b->t.mem.ctx, q->w[i].addr, q->w[i].len);
            b->stats.reads++;
            b->stats.read_bytes += q->len;
            used += (uint32_t)q->len;
            break;
        case VIRTIO_BLK_T_OUT:
            b->stats.writes++;
            b->stats.write_bytes += q->len;
            break;
        case VIRTIO_BLK_T_FLUSH:
            b->stats.flushes++;
            break;
        default:
            if (q->status == VIRTIO_BLK_S_IOERR)
                b->stats.errors++;
        }
        if (b->t.mem.write(b->t.mem.ctx, q->status_gpa, &q->status, 1) != 0) {
            virtio_mmio_needs_reset(&b->t);
            ok = false;
        } else if (virtio_mmio_push(&b->t, 0, q->head, used) == 0) {
            *pushed = true;
        } else {
            ok = false;
        }
    }
    q->busy = false;
    b->inflight--;
    return ok;
}

/* Lock held: submit req's data (b->segs[0..nseg)) in pieces of at most
 * be.max_segs segments, each a whole number of sectors.  Returns how
 * many submissions it used (q->pending counts those still pending). */
static unsigned blk_submit(struct virtio_blk *b, struct virtio_blk_req *q, unsigned nseg,
                           unsigned allowed)
{
    unsigned max = b->be.max_segs ? b->be.max_segs : VIRTIO_BLK_SEGS;
    unsigned first = 0, used = 0;
    uint64_t sector = q->sector;
    struct gm_seg carry = {0, 0}; /* the cut-off rest of a segment */

    do {
        unsigned n = nseg - first < max ? nseg - first : max;
        uint64_t bytes = 0;
        for (unsigned i = 0; i < n; i++)
            bytes += b->segs[first + i].len;
        uint64_t keep = bytes - bytes % VIRTIO_BLK_SECTOR;
        if (n && keep == 0) {
            q->status = VIRTIO_BLK_S_IOERR; /* segments too small to cut into sectors */
            break;
        }
        if (used == allowed) {
            q->status = VIRTIO_BLK_S_IOERR; /* more pieces than reserved */
            break;
        }
        /* Cut the piece at a sector boundary: trailing segments that lie
         * wholly past it stay for the next piece, the one it falls in is
         * split and its rest (carry) starts the next piece. */
        carry.len = 0;
        for (uint64_t drop = bytes - keep; drop;) {
            struct gm_seg *last = &b->segs[first + n - 1];
            if (last->len <= drop) {
                drop -= last->len;
                n--;
                continue;
            }
            carry = (struct gm_seg){last->addr + last->len - drop, (uint32_t)drop};
            last->len -= (uint32_t)drop;
            drop = 0;
        }
        struct blk_io io = {q->type, sector, b->segs + first, n, keep, q};
        int r = b->be.submit(b->be.ctx, &io);
        used++;
        b->submitted = true;
        if (r == BLK_PENDING)
            q->pending++;
        else if (r < 0)
            q->status = VIRTIO_BLK_S_IOERR;
        sector += keep / VIRTIO_BLK_SECTOR;
        first += n;
        if (carry.len)
            b->segs[--first] = carry; /* the split segment, submitted: its rest */
    } while (first < nseg);
    return used;
}

/* One popped request in b->bufs[0..n) with head; allowed submissions.
 * Returns the submissions used, or ERR_BROKEN (NEEDS_RESET). */
static int blk_start(struct virtio_blk *b, uint16_t head, unsigned n, unsigned allowed,
                     bool *pushed)
{
    unsigned nr = 0; /* readable buffers come first */
    uint64_t rlen = 0, wlen = 0;

    while (nr < n && !b->bufs[nr].write)
        rlen += b->bufs[nr++].len;
    for (unsigned i = nr; i < n; i++)
        wlen += b->bufs[i].len;
    if (wlen == 0)
        return ERR_BROKEN; /* no status byte: nothing to report an error in */

    struct virtio_blk_req *q = NULL;
    for (unsigned i = 0; i < VIRTIO_BLK_INFLIGHT && !q; i++)
        if (!b->reqs[i].busy)
            q = &b->reqs[i];
    if (!q)
        return ERR_BROKEN; /* cannot happen: checked before popping */
    *q = (struct virtio_blk_req){.dev = b,
                                 .busy = true,
                                 .head = head,
                                 .gen = b->gen,
                                 .status = VIRTIO_BLK_S_OK,
                                 .pending = 1};
    b->inflight++;

    /* The status byte: the last writable byte. */
    uint64_t skip = wlen - 1;
    unsigned si = nr;
    while (skip >= b->bufs[si].len)
        skip -= b->bufs[si++].len;
    q->status_gpa = b->bufs[si].addr + skip;

    struct cursor rc;
    cur_init(&rc, b->bufs, nr);
    uint8_t hdr[VIRTIO_BLK_HDR_LEN];
    uint64_t dout = rlen >= VIRTIO_BLK_HDR_LEN ? rlen - VIRTIO_BLK_HDR_LEN : 0, din = wlen - 1;
    unsigned nseg = 0, used = 0;
    int r = 0;

    if (rlen < VIRTIO_BLK_HDR_LEN) {
        q->status = VIRTIO_BLK_S_IOERR;
        q->type = ~0u;
    } else if (cur_xfer(&b->t.mem, &rc, hdr, sizeof(hdr), false) != 0) {
        r = ERR_BROKEN;
    } else {
        q->type = (uint32_t)le(hdr, 4);
        q->sector = le(hdr + 8, 8);
    }
    switch (r < 0 ? ~0u : q->type) {
    case VIRTIO_BLK_T_IN:
        q->len = din;
        if (dout != 0 || !blk_range_ok(b, q->sector, din)) {
            q->status = VIRTIO_BLK_S_IOERR;
            break;
        }
        r = blk_map(b, b->bufs + nr, n - nr, 0, din, &nseg);
        for (unsigned i = nr; i < n && r == 0; i++) {
            uint64_t end = i == si ? skip : b->bufs[i].len;
            if (i <= si && end)
                q->w[q->nw++] = (struct vq_buf){b->bufs[i].addr, (uint32_t)end, true};
        }
        break;
    case VIRTIO_BLK_T_OUT:
        q->len = dout;
        if (din != 0 || b->be.read_only || !blk_range_ok(b, q->sector, dout)) {
            q->status = VIRTIO_BLK_S_IOERR;
            break;
        }
        r = blk_map(b, b->bufs, nr, VIRTIO_BLK_HDR_LEN, dout, &nseg);
        break;
    case VIRTIO_BLK_T_FLUSH:
        if (b->inflight > 1) {
            /* After everything taken before it. */
            q->waiting = true;
            b->flush_wait = true;
            q->pending = 0;
            return 0;
        }
        break;
    case VIRTIO_BLK_T_GET_ID: {
        struct cursor wc;
        cur_init(&wc, b->bufs + nr, n - nr);
        size_t k = din < VIRTIO_BLK_ID_BYTES ? (size_t)din : VIRTIO_BLK_ID_BYTES;
        if (cur_xfer(&b->t.mem, &wc, b->serial, k, true) != 0)
            r = ERR_BROKEN;
        b->stats.get_ids++;
        q->type = ~0u; /* nothing more to count */
        q->len = k;
        break;
    }
    case ~0u:
        break;
    default:
        b->stats.unsupported++;
        q->status = VIRTIO_BLK_S_UNSUPP;
        q->type = ~0u;
    }
    if (r == ERR_NOSPC) {
        q->status = VIRTIO_BLK_S_IOERR; /* cannot happen: VIRTIO_BLK_SEGS covers a chain */
        r = 0;
    }
    if (r < 0) {
        q->busy = false;
        b->inflight--;
        return ERR_BROKEN;
    }
    /* IN and OUT of no data are done: nothing to move. */
    if (q->status == VIRTIO_BLK_S_OK && q->type != ~0u && (q->type == VIRTIO_BLK_T_FLUSH || nseg))
        used = blk_submit(b, q, nseg, allowed);
    if (--q->pending == 0) {
        if (q->type == ~0u && q->status == VIRTIO_BLK_S_OK) {
            /* GET_ID: its used length counts the serial. */
            if (b->t.mem.write(b->t.mem.ctx, q->status_gpa, &q->status, 1) != 0 ||
                virtio_mmio_push(&b->t, 0, q->head, (uint32_t)q->len + 1) != 0) {
                q->busy = false;
                b->inflight--;
                return ERR_BROKEN;
            }
            *pushed = true;
            q->busy = false;
            b->inflight--;
        } else if (!blk_finish(b, q, pushed)) {
            return ERR_BROKEN;
        }
    }
    return (int)used;
}

/* Lock held: a FLUSH that waited goes out once it is the only request in
 * flight. */
static void blk_flush_go(struct virtio_blk *b, bool *pushed)
{
    if (!b->flush_wait || b->inflight != 1)
        return;
    for (unsigned i = 0; i < VIRTIO_BLK_INFLIGHT; i++) {
        struct virtio_blk_req *q = &b->reqs[i];
        if (!q->busy || !q->waiting)
            continue;
        if (b->be.reserve && b->be.reserve(b->be.ctx, 1) == ERR_AGAIN) {
            b->stalled = true; /* virtio_blk_resume comes back here */
            return;
        }
        q->waiting = false;
        b->flush_wait = false;
        q->pending = 1;
        blk_submit(b, q, 0, 1);
        if (--q->pending == 0)
            blk_finish(b, q, pushed);
        return;
    }
    b->flush_wait = false;
}

/* Lock held: take requests until the ring is empty (bounded), the device
 * is held, or there is no room. */
static void blk_process(struct virtio_blk *b, bool *pushed)
{
    struct virtio_mmio *t = &b->t;

    b->stalled = false;
    if (!t->queues[0].ready || !(t->status & VIRTIO_STATUS_DRIVER_OK))
        return;
    for (unsigned i = 0; i < VIRTIO_WORK_ROUNDS * t->queues[0].num; i++) {
        if (t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
            break;
        if (b->held || b->flush_wait || b->inflight == VIRTIO_BLK_INFLIGHT) {
            b->stalled = !b->held;
            break;
        }
        unsigned allowed = VIRTIO_BLK_PIECES;
        if (b->be.reserve) {
            int r = b->be.reserve(b->be.ctx, VIRTIO_BLK_PIECES);
            if (r == ERR_AGAIN) {
                b->stalled = true;
                break;
            }
            if (r < 0)
                allowed = VIRTIO_BLK_PIECES; /* failed backend: submits fail at once */
        }
        unsigned n;
        int head = virtio_mmio_pop(t, 0, b->bufs, VIRTIO_BLK_QUEUE_MAX, &n);
        int used = head < 0 ? 0 : blk_start(b, (uint16_t)head, n, allowed, pushed);
        if (b->be.unreserve && (unsigned)(used < 0 ? 0 : used) < VIRTIO_BLK_PIECES)
            b->be.unreserve(b->be.ctx, VIRTIO_BLK_PIECES - (unsigned)(used < 0 ? 0 : used));
        if (head < 0)
            break;
        if (used < 0) {
            virtio_mmio_needs_reset(t);
            break;
        }
    }
}

/* Lock held: after a pass, the interrupt and the backend's kick. */
static void blk_pass_end(struct virtio_blk *b, bool pushed)
{
    if (pushed)
        virtio_mmio_used(&b->t, 0);
    if (b->submitted && b->be.kick)
        b->be.kick(b->be.ctx);
    b->submitted = false;
}

static void blk_notify(void *dev, unsigned queue)
{
    struct virtio_blk *b = dev;
    bool pushed = false;

    (void)queue;
    blk_process(b, &pushed);
    blk_pass_end(b, pushed);
}

static void blk_kick(void *dev, unsigned queue)
{
    struct virtio_blk *b = dev;

    (void)queue;
    if (b->be.poll)
        b->be.poll(b->be.ctx);
}

void virtio_blk_complete(struct virtio_blk_req *q, int result)
{
    struct virtio_blk *b = q->dev;
    bool pushed = false;

    spin_lock(&b->t.lock);
    if (result < 0)
        q->status = VIRTIO_BLK_S_IOERR;
    if (q->busy && q->pending && --q->pending == 0) {
        blk_finish(b, q, &pushed);
        if (b->stalled || b->flush_wait) {
            b->stalled = false;
            blk_flush_go(b, &pushed);
            if (!b->stalled)
                blk_process(b, &pushed);
        }
    }
    blk_pass_end(b, pushed);
    spin_unlock(&b->t.lock);
}

void virtio_blk_resume(struct virtio_blk *b)
{
    bool pushed = false;

    spin_lock(&b->t.lock);
    if (b->stalled) {
        b->stalled = false;
        blk_flush_go(b, &pushed);
        if (!b->stalled)
            blk_process(b, &pushed);
    }
    blk_pass_end(b, pushed);
    spin_unlock(&b->t.lock);
}

void virtio_blk_hold(struct virtio_blk *b, bool on)
{
    bool pushed = false;

    spin_lock(&b->t.lock);
    b->held = on;
    if (!on)
        blk_process(b, &pushed);
    blk_pass_end(b, pushed);
    spin_unlock(&b->t.lock);
}

unsigned virtio_blk_in_flight(struct virtio_blk *b)
{
    spin_lock(&b->t.lock);
    unsigned n = b->inflight;
    spin_unlock(&b->t.lock);
    return n;
}

/* The driver reset the device: requests still with the backend complete
 * to no one (their buffers are the VM's own RAM either way); a FLUSH that
 * never went out is dropped. */
static void blk_reset(void *dev)
{
    struct virtio_blk *b = dev;

    b->gen++;
    for (unsigned i = 0; i < VIRTIO_BLK_INFLIGHT; i++)
        if (b->reqs[i].busy && b->reqs[i].waiting) {
            b->reqs[i].busy = false;
            b->inflight--;
        }
    b->flush_wait = false;
    b->stalled = false;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void blk_config_read(void *dev, uint32_t off, void *buf, uint32_t len)
{
    struct virtio_blk *b = dev;
    uint8_t cfg[VIRTIO_BLK_CONFIG_LEN] = {0};

    put_le(cfg + 0, b->be.sectors, 8);       /* capacity */
    put_le(cfg + 8, VIRTIO_BLK_SIZE_MAX, 4); /* size_max */
    put_le(cfg + 12, VIRTIO_BLK_SEG_MAX, 4); /* seg_max */
    put_le(cfg + 20, VIRTIO_BLK_SECTOR, 4);  /* blk_size */
    put_le(cfg + 34, 1, 2);                  /* num_queues */
    memcpy(buf, cfg + off, len);
}

void virtio_blk_init(struct virtio_blk *b, const struct guest_mem *mem, const struct irq_line *irq,
                     const struct blk_backend *be, const char *serial)
{
    memset(b, 0, sizeof(*b));
    b->be = *be;
    if (serial)
        memcpy(b->serial, serial, strnlen(serial, VIRTIO_BLK_ID_BYTES));
    b->ops = (struct virtio_dev_ops){
        .device_id = VIRTIO_ID_BLOCK,
        .features = (1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
                    (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_FLUSH) |
                    (be->read_only ? 1ull << VIRTIO_BLK_F_RO : 0),
        .nqueues = 1,
        .queue_max = VIRTIO_BLK_QUEUE_MAX,
        .config_size = VIRTIO_BLK_CONFIG_LEN,
        .max_chain_bytes = VIRTIO_BLK_MAX_CHAIN,
        .config_read = blk_config_read,
        .notify = blk_notify,
        .kick = be->poll ? blk_kick : NULL,
        .reset = blk_reset,
    };
    virtio_mmio_init(&b->t, &b->ops, b, mem, irq);
}

static void blk_state_put(const void *dev, struct wire *w)
{
    const struct virtio_blk *b = dev;

    wire_put_u64(w, b->be.sectors);
    wire_put_u8(w, b->be.read_only);
}

static int blk_state_get(void *dev, struct wire_in *r, bool apply)
{
    const struct virtio_blk *b = dev;
    uint64_t sectors = wire_get_u64(r);
    uint8_t ro = wire_get_u8(r);

    (void)apply; /* nothing of its own to store */
    if (sectors != b->be.sectors || ro != (uint8_t)b->be.read_only)
        return ERR_MISMATCH;
    return 0;
}

long virtio_blk_save(const struct virtio_blk *b, void *buf, size_t size)
{
    if (__atomic_load_n(&b->inflight, __ATOMIC_RELAXED))
        return ERR_STATE;
    return virtio_mmio_save(&b->t, VIRTIO_BLK_STATE_VERSION, blk_state_put, buf, size);
}

int virtio_blk_load(struct virtio_blk *b, const void *buf, size_t size)
{
    if (__atomic_load_n(&b->inflight, __ATOMIC_RELAXED))
        return ERR_STATE;
    return virtio_mmio_load(&b->t, VIRTIO_BLK_STATE_VERSION, blk_state_get, buf, size);
}
