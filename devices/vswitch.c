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

/* A fallback's delivery of one plain frame (a segment, or the frame with
 * its checksum done): lock held. */
struct sw_plain {
    struct vswitch_port *to;
    unsigned taken, dropped;
};

static int sw_plain_emit(void *ctx, const uint8_t *frame, size_t len)
{
    struct sw_plain *p = ctx;

    if (p->to->deliver(p->to->ctx, NULL, frame, len) == 0)
        p->taken++;
    else
        p->dropped++;
    return 0;
}

/* Lock not held; the port is pinned (busy).  The port is offered the
 * frame with its header; if it does not take the offload, the frame's
 * plain equivalent, built in the switch's buffer under the lock. */
static void sw_deliver(struct vswitch *sw, struct vswitch_port *to, const struct vnet_hdr *h,
                       const uint8_t *frame, size_t len)
{
    if (!to->deliver)
        goto drop;
    int r = to->deliver(to->ctx, h, frame, len);
    if (r == 0) {
        stat_add(&to->stats.tx_frames, 1);
        stat_add(&to->stats.tx_bytes, len);
        return;
    }
    if (r != ERR_NOTSUP || !h)
        goto drop;
    struct sw_plain p = {.to = to};
    bool bad = false;
    spin_lock(&sw->lock);
    sw->segmented++;
    if (h->gso_type != VNET_GSO_NONE) {
        bad = net_gso_segment(h, frame, len, sw->seg, sizeof(sw->seg), sw_plain_emit, &p) < 0;
    } else {
        /* vnet_hdr_valid: a plain frame fits the buffer. */
        memcpy(sw->seg, frame, len);
        bad = net_csum_complete(sw->seg, len, h->csum_start, h->csum_offset) != 0;
        if (!bad)
            sw_plain_emit(&p, sw->seg, len);
    }
    spin_unlock(&sw->lock);
    if (bad)
        goto drop;
    stat_add(&to->stats.tx_frames, p.taken);
    stat_add(&to->stats.tx_bytes, len);
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
    const uint8_t *f = frame;
    struct vswitch_port *to[VSWITCH_MAX_PORTS];
    unsigned n = 0;

    if (h && !vnet_hdr_needs(h))
        h = NULL; /* nothing asked: a plain frame */
    spin_lock(&sw->lock);
    if (!sw_attached(sw, from)) {
        sw->orphans++;
        goto out;
    }
    /* Source MAC: bytes 6..11; the I/G bit is bit 0 of the first byte. */
    if (len < VSWITCH_MIN_FRAME ||
        (h ? !vnet_hdr_valid(h, len, VSWITCH_MAX_FRAME) : len > VSWITCH_MAX_FRAME) || (f[6] & 1)) {
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
    for (unsigned i = 0; i < n; i++) {
        sw_deliver(sw, to[i], h, f, len);
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
