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

/* IN: sectors into the writable data.  Returns the status, or ERR_BROKEN
 * (guest memory refused: NEEDS_RESET);
 * *written counts data bytes put into guest memory. */
static int blk_in(struct virtio_blk *b, struct cursor *w, uint64_t sector, uint64_t len,
                  uint64_t *written)
{
    for (uint64_t done = 0; done < len; done += VIRTIO_BLK_BOUNCE) {
        size_t k = len - done < VIRTIO_BLK_BOUNCE ? (size_t)(len - done) : VIRTIO_BLK_BOUNCE;
        if (!b->be.read ||
            b->be.read(b->be.ctx, sector + done / VIRTIO_BLK_SECTOR, b->bounce, k) != 0)
            return VIRTIO_BLK_S_IOERR;
        if (cur_xfer(&b->t.mem, w, b->bounce, k, true) != 0)
            return ERR_BROKEN;
        *written += k;
    }
    return VIRTIO_BLK_S_OK;
}

static int blk_out(struct virtio_blk *b, struct cursor *r, uint64_t sector, uint64_t len)
{
    for (uint64_t done = 0; done < len; done += VIRTIO_BLK_BOUNCE) {
        size_t k = len - done < VIRTIO_BLK_BOUNCE ? (size_t)(len - done) : VIRTIO_BLK_BOUNCE;
        if (cur_xfer(&b->t.mem, r, b->bounce, k, false) != 0)
            return ERR_BROKEN;
        if (!b->be.write ||
            b->be.write(b->be.ctx, sector + done / VIRTIO_BLK_SECTOR, b->bounce, k) != 0)
            return VIRTIO_BLK_S_IOERR;
    }
    return VIRTIO_BLK_S_OK;
}

static bool blk_range_ok(const struct virtio_blk *b, uint64_t sector, uint64_t len)
{
    return len % VIRTIO_BLK_SECTOR == 0 && sector <= b->be.sectors &&
           len / VIRTIO_BLK_SECTOR <= b->be.sectors - sector;
}

/* The request the header names, on the data after it: dout readable bytes
 * at rc, din writable bytes (the status byte excluded) at wc.  Returns the
 * status, counted in b->stats, or ERR_BROKEN; *written counts the data
 * bytes put into guest memory. */
static int blk_execute(struct virtio_blk *b, uint32_t type, uint64_t sector, struct cursor *rc,
                       uint64_t dout, struct cursor *wc, uint64_t din, uint64_t *written)
{
    int status;

    switch (type) {
    case VIRTIO_BLK_T_IN:
        if (dout != 0 || !blk_range_ok(b, sector, din)) {
            status = VIRTIO_BLK_S_IOERR;
            break;
        }
        status = blk_in(b, wc, sector, din, written);
        if (status == VIRTIO_BLK_S_OK) {
            b->stats.reads++;
            b->stats.read_bytes += din;
        }
        break;
    case VIRTIO_BLK_T_OUT:
        if (din != 0 || b->be.read_only || !blk_range_ok(b, sector, dout)) {
            status = VIRTIO_BLK_S_IOERR;
            break;
        }
        status = blk_out(b, rc, sector, dout);
        if (status == VIRTIO_BLK_S_OK) {
            b->stats.writes++;
            b->stats.write_bytes += dout;
        }
        break;
    case VIRTIO_BLK_T_FLUSH:
        status = b->be.flush && b->be.flush(b->be.ctx) != 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
        if (status == VIRTIO_BLK_S_OK)
            b->stats.flushes++;
        break;
    case VIRTIO_BLK_T_GET_ID: {
        size_t k = din < VIRTIO_BLK_ID_BYTES ? (size_t)din : VIRTIO_BLK_ID_BYTES;
        if (cur_xfer(&b->t.mem, wc, b->serial, k, true) != 0)
            return ERR_BROKEN;
        *written = k;
        status = VIRTIO_BLK_S_OK;
        b->stats.get_ids++;
        break;
    }
    default:
        b->stats.unsupported++;
        return VIRTIO_BLK_S_UNSUPP;
    }
    if (status == VIRTIO_BLK_S_IOERR)
        b->stats.errors++;
    return status;
}

/* The status byte: the last of the wlen writable bytes, which are the
 * buffers b->bufs[nr..n).  0, or ERR_RANGE if guest memory refused. */
static int blk_status_put(struct virtio_blk *b, unsigned nr, unsigned n, uint64_t wlen,
                          uint8_t status)
{
    struct cursor wc;
    uint64_t skip = wlen - 1;

    cur_init(&wc, b->bufs + nr, n - nr);
    while (skip >= wc.b[wc.i].len) {
        skip -= wc.b[wc.i].len;
        wc.i++;
    }
    wc.off = skip;
    return cur_xfer(&b->t.mem, &wc, &status, 1, true);
}

/* One popped request in b->bufs[0..n).  Returns the used length, or
 * ERR_BROKEN. */
static int64_t blk_request(struct virtio_blk *b, unsigned n)
{
    unsigned nr = 0; /* readable buffers come first */
    uint64_t rlen = 0, wlen = 0;

    while (nr < n && !b->bufs[nr].write)
        rlen += b->bufs[nr++].len;
    for (unsigned i = nr; i < n; i++)
        wlen += b->bufs[i].len;
    if (wlen == 0)
        return ERR_BROKEN; /* no status byte: nothing to report an error in */

    struct cursor rc, wc;
    cur_init(&rc, b->bufs, nr);
    cur_init(&wc, b->bufs + nr, n - nr);
    uint64_t written = 0;
    int status;
    uint8_t hdr[VIRTIO_BLK_HDR_LEN];

    if (rlen < VIRTIO_BLK_HDR_LEN) {
        status = VIRTIO_BLK_S_IOERR;
        b->stats.errors++;
    } else {
        if (cur_xfer(&b->t.mem, &rc, hdr, sizeof(hdr), false) != 0)
            return ERR_BROKEN;
        status = blk_execute(b, (uint32_t)le(hdr, 4), le(hdr + 8, 8), &rc,
                             rlen - VIRTIO_BLK_HDR_LEN, &wc, wlen - 1, &written);
        if (status == ERR_BROKEN)
            return ERR_BROKEN;
    }
    if (blk_status_put(b, nr, n, wlen, (uint8_t)status) != 0)
        return ERR_BROKEN;
    return (int64_t)(written + 1);
}

static void blk_notify(void *dev, unsigned queue)
{
    struct virtio_blk *b = dev;
    struct virtio_mmio *t = &b->t;
    bool pushed = false;

    /* Until empty, bounded (VIRTIO_WORK_ROUNDS). */
    for (unsigned i = 0; i < VIRTIO_WORK_ROUNDS * t->queues[queue].num; i++) {
        unsigned n;
        int head = virtio_mmio_pop(t, queue, b->bufs, VIRTIO_BLK_QUEUE_MAX, &n);

        if (head < 0)
            break;
        int64_t used = blk_request(b, n);
        if (used < 0) {
            virtio_mmio_needs_reset(t);
            break;
        }
        if (virtio_mmio_push(t, queue, (uint16_t)head, (uint32_t)used) != 0)
            break;
        pushed = true;
    }
    if (pushed)
        virtio_mmio_used(t, queue);
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
    return virtio_mmio_save(&b->t, VIRTIO_BLK_STATE_VERSION, blk_state_put, buf, size);
}

int virtio_blk_load(struct virtio_blk *b, const void *buf, size_t size)
{
    return virtio_mmio_load(&b->t, VIRTIO_BLK_STATE_VERSION, blk_state_get, buf, size);
}
