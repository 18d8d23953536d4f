/* SPDX-License-Identifier: Apache-2.0 */
/* A learning L2 switch (see vswitch.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/net_offload.h"
#include "devices/vswitch.h"
#include "lib/err.h"
#include "lib/spinlock.h"
#include "lib/string.h"

void vswitch_init(struct vswitch *sw)
{
    memset(sw, 0, sizeof(*sw));
    spin_init(&sw->lock);
}

int vswitch_attach(struct vswitch *sw, struct vswitch_port *p)
{
    int r = ERR_EXIST;

    spin_lock(&sw->lock);
    if (p->sw == NULL) {
        r = ERR_NOSPC;
        for (unsigned i = 0; i < VSWITCH_MAX_PORTS; i++) {
            if (sw->ports[i] == NULL) {
                sw->ports[i] = p;
                p->sw = sw;
                p->index = i;
                memset(&p->stats, 0, sizeof(p->stats));
                r = 0;
                break;
            }
        }
    }
    spin_unlock(&sw->lock);
    return r;
}

/* Lock held. */
static bool sw_attached(const struct vswitch *sw, const struct vswitch_port *p)
{
    return p && p->sw == sw && p->index < VSWITCH_MAX_PORTS && sw->ports[p->index] == p;
}

void vswitch_detach(struct vswitch *sw, struct vswitch_port *p)
{
    bool was = false;

    spin_lock(&sw->lock);
    if (sw_attached(sw, p)) {
        for (unsigned i = 0; i < VSWITCH_TABLE_SIZE; i++) {
            if (sw->fdb[i].valid && sw->fdb[i].port == p->index)
                sw->fdb[i].valid = false;
        }
        sw->ports[p->index] = NULL;
        p->sw = NULL;
        was = true;
    }
    spin_unlock(&sw->lock);
    /* No new delivery can find the port now; wait for those in flight. */
    while (was && __atomic_load_n(&p->busy, __ATOMIC_ACQUIRE) != 0)
        ;
}

/* Lock held: the entry for mac, or NULL. */
static struct vswitch_fdb *sw_lookup(struct vswitch *sw, const uint8_t *mac)
{
    for (unsigned i = 0; i < VSWITCH_TABLE_SIZE; i++) {
        if (sw->fdb[i].valid && memcmp(sw->fdb[i].mac, mac, 6) == 0)
            return &sw->fdb[i];
    }
    return NULL;
}

/* Lock held: mac is on port index. */
static void sw_learn(struct vswitch *sw, const uint8_t *mac, unsigned index)
{
    struct vswitch_fdb *e = sw_lookup(sw, mac);

    if (!e) {
        /* A free entry, else the least recently seen one. */
        e = &sw->fdb[0];
        for (unsigned i = 0; i < VSWITCH_TABLE_SIZE && e->valid; i++) {
            if (!sw->fdb[i].valid || sw->fdb[i].seen < e->seen)
                e = &sw->fdb[i];
        }
        memcpy(e->mac, mac, 6);
        e->valid = true;
    }
    e->port = (uint8_t)index;
    e->seen = ++sw->clock;
}

/* Counters a delivery adds to, outside the switch lock: atomic, so two
 * senders delivering to one port at once both count. */
static void stat_add(uint64_t *c, uint64_t n)
{
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

void vswitch_frame_flat(struct vswitch_frame *f, const struct vnet_hdr *h, const void *frame,
                        size_t len, struct gm_seg *seg)
{
    size_t k = len < VSWITCH_MIN_FRAME ? len : VSWITCH_MIN_FRAME;

    f->h = h;
    f->len = len;
    memcpy(f->head, frame, k);
    *seg = (struct gm_seg){(uintptr_t)frame + k, (uint32_t)(len - k)};
    f->segs = seg;
    f->nseg = len > k ? 1 : 0;
    f->flat = frame;
}

/* Where a frame can be gathered when a port wants it contiguous: the
 * sender's buffer, filled at most once per frame. */
struct sw_stage {
    uint8_t *buf;
    size_t room;
    bool done;
    const uint8_t *flat; /* the frame in buf, once done */
};

/* The frame contiguous: as it came, or gathered into the staging buffer
 * (the one staging copy).  NULL if it does not fit there. */
static const uint8_t *sw_flat(struct vswitch *sw, const struct vswitch_frame *f,
                              struct sw_stage *st)
{
    if (f->flat)
        return f->flat;
    if (st->done)
        return st->flat;
    size_t pos = f->len < VSWITCH_MIN_FRAME ? f->len : VSWITCH_MIN_FRAME;
    /* Placed so that the bulk lands as aligned as it lies: memcpy moves
     * words where source and destination agree modulo 8, and shifts
     * each word where they do not (several times the instructions). */
    size_t at = f->nseg ? (size_t)((f->segs[0].addr - pos - (uintptr_t)st->buf) & 7) : 0;
    if (!st->buf || st->room < at || st->room - at < f->len)
        return NULL;
    uint8_t *flat = st->buf + at;
    memcpy(flat, f->head, pos);
    for (unsigned i = 0; i < f->nseg; i++) {
        memcpy(flat + pos, (const void *)(uintptr_t)f->segs[i].addr, f->segs[i].len);
        pos += f->segs[i].len;
    }
    st->flat = flat;
    st->done = true;
    __atomic_fetch_add(&sw->staged, 1, __ATOMIC_RELAXED);
    return flat;
}

/* A contiguous frame to a port, as it takes frames. */
static int sw_offer_flat(struct vswitch_port *to, const struct vnet_hdr *h, const uint8_t *frame,
                         size_t len)
{
    if (to->deliver)
        return to->deliver(to->ctx, h, frame, len);
    struct vswitch_frame f;
    struct gm_seg seg;
    vswitch_frame_flat(&f, h, frame, len, &seg);
    return to->deliver_frame(to->ctx, &f);
}

/* A fallback's delivery of one plain frame (a segment, or the frame with
 * its checksum done): lock held. */
struct sw_plain {
    struct vswitch_port *to;
    unsigned taken, dropped;
};

static int sw_plain_emit(void *ctx, const uint8_t *frame, size_t len)
{
    struct sw_plain *p = ctx;

    if (sw_offer_flat(p->to, NULL, frame, len) == 0)
        p->taken++;
    else
        p->dropped++;
    return 0;
}

/* Lock not held; the port is pinned (busy).  The port is offered the
 * frame with its header (as pieces if it takes them: the one copy; else
 * contiguous, staged if need be); if it does not take the offload, the
 * frame's plain equivalent, built in the switch's buffer under the lock
 * from the contiguous frame. */
static void sw_deliver(struct vswitch *sw, struct vswitch_port *to, const struct vswitch_frame *f,
                       struct sw_stage *st)
{
    const uint8_t *flat = NULL;
    int r;

    if (to->deliver_frame) {
        r = to->deliver_frame(to->ctx, f);
    } else if (to->deliver) {
        flat = sw_flat(sw, f, st);
        if (!flat)
            goto drop;
        r = to->deliver(to->ctx, f->h, flat, f->len);
    } else {
        goto drop;
    }
    if (r == 0) {
        stat_add(&to->stats.tx_frames, 1);
        stat_add(&to->stats.tx_bytes, f->len);
        return;
    }
    if (r != ERR_NOTSUP || !f->h)
        goto drop;
    flat = sw_flat(sw, f, st);
    if (!flat)
        goto drop;
    const struct vnet_hdr *h = f->h;
    struct sw_plain p = {.to = to};
    bool bad = false;
    spin_lock(&sw->lock);
    sw->segmented++;
    if (h->gso_type != VNET_GSO_NONE) {
        bad = net_gso_segment(h, flat, f->len, sw->seg, sizeof(sw->seg), sw_plain_emit, &p) < 0;
    } else {
        /* vnet_hdr_valid: a plain frame fits the buffer. */
        memcpy(sw->seg, flat, f->len);
        bad = net_csum_complete(sw->seg, f->len, h->csum_start, h->csum_offset) != 0;
        if (!bad)
            sw_plain_emit(&p, sw->seg, f->len);
    }
    spin_unlock(&sw->lock);
    if (bad)
        goto drop;
    stat_add(&to->stats.tx_frames, p.taken);
    stat_add(&to->stats.tx_bytes, f->len);
    stat_add(&to->stats.tx_drops, p.dropped);
    return;
drop:
    stat_add(&to->stats.tx_drops, 1);
}

void vswitch_send(struct vswitch *sw, struct vswitch_port *from, const void *frame, size_t len)
{
    vswitch_send_hdr(sw, from, NULL, frame, len);
}

void vswitch_send_hdr(struct vswitch *sw, struct vswitch_port *from, const struct vnet_hdr *h,
                      const void *frame, size_t len)
{
    struct vswitch_frame f;
    struct gm_seg seg;

    vswitch_frame_flat(&f, h, frame, len, &seg);
    vswitch_send_frame(sw, from, &f, NULL, 0);
}

/* The pieces add up to the frame's length. */
static bool sw_frame_whole(const struct vswitch_frame *f)
{
    size_t sum = f->len < VSWITCH_MIN_FRAME ? f->len : VSWITCH_MIN_FRAME;

    for (unsigned i = 0; i < f->nseg && sum <= f->len; i++)
        sum += f->segs[i].len;
    return sum == f->len;
}

void vswitch_send_frame(struct vswitch *sw, struct vswitch_port *from,
                        const struct vswitch_frame *fr, uint8_t *stage, size_t room)
{
    const uint8_t *f = fr->head;
    size_t len = fr->len;
    struct vswitch_frame plain;
    struct vswitch_port *to[VSWITCH_MAX_PORTS];
    unsigned n = 0;

    if (fr->h && !vnet_hdr_needs(fr->h)) {
        plain = *fr; /* nothing asked: a plain frame */
        plain.h = NULL;
        fr = &plain;
    }
    const struct vnet_hdr *h = fr->h;
    spin_lock(&sw->lock);
    if (!sw_attached(sw, from)) {
        sw->orphans++;
        goto out;
    }
    /* Source MAC: bytes 6..11; the I/G bit is bit 0 of the first byte. */
    if (len < VSWITCH_MIN_FRAME ||
        (h ? !vnet_hdr_valid(h, len, VSWITCH_MAX_FRAME) : len > VSWITCH_MAX_FRAME) || (f[6] & 1) ||
        !sw_frame_whole(fr)) {
        from->stats.rx_drops++;
        goto out;
    }
    from->stats.rx_frames++;
    from->stats.rx_bytes += len;
    sw_learn(sw, f + 6, from->index);
    struct vswitch_fdb *e = (f[0] & 1) ? NULL : sw_lookup(sw, f);
    if (e) {
        if (e->port == from->index)
            sw->filtered++; /* the destination is behind the sender's port */
        else if (sw->ports[e->port])
            to[n++] = sw->ports[e->port];
    } else {
        for (unsigned i = 0; i < VSWITCH_MAX_PORTS; i++) {
            if (i != from->index && sw->ports[i])
                to[n++] = sw->ports[i];
        }
    }
    /* Pinned: detach waits for them.  The copies into the receivers'
     * buffers run without the switch lock, so other ports' frames (the
     * receiver's own acknowledgements, say) are not held up behind a
     * 64 KiB copy. */
    for (unsigned i = 0; i < n; i++)
        __atomic_fetch_add(&to[i]->busy, 1, __ATOMIC_ACQUIRE);
out:
    spin_unlock(&sw->lock);
    struct sw_stage st = {stage, room, false, NULL};
    for (unsigned i = 0; i < n; i++) {
        sw_deliver(sw, to[i], fr, &st);
        __atomic_fetch_sub(&to[i]->busy, 1, __ATOMIC_RELEASE);
    }
}

void vswitch_stats_read(struct vswitch *sw, const struct vswitch_port *p,
                        struct vswitch_port_stats *out)
{
    spin_lock(&sw->lock);
    out->rx_frames = p->stats.rx_frames;
    out->rx_bytes = p->stats.rx_bytes;
    out->rx_drops = p->stats.rx_drops;
    spin_unlock(&sw->lock);
    out->tx_frames = __atomic_load_n(&p->stats.tx_frames, __ATOMIC_RELAXED);
    out->tx_bytes = __atomic_load_n(&p->stats.tx_bytes, __ATOMIC_RELAXED);
    out->tx_drops = __atomic_load_n(&p->stats.tx_drops, __ATOMIC_RELAXED);
}
