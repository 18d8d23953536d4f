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
    spin_lock(&sw->lock);
    if (sw_attached(sw, p)) {
        for (unsigned i = 0; i < VSWITCH_TABLE_SIZE; i++) {
            if (sw->fdb[i].valid && sw->fdb[i].port == p->index)
                sw->fdb[i].valid = false;
        }
        sw->ports[p->index] = NULL;
        p->sw = NULL;
    }
    spin_unlock(&sw->lock);
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

/* Lock held.  The port is offered the frame with its header; if it does
 * not take the offload, the frame's plain equivalent. */
static void sw_deliver(struct vswitch *sw, struct vswitch_port *to, const struct vnet_hdr *h,
                       const uint8_t *frame, size_t len)
{
    if (!to->deliver)
        goto drop;
    int r = to->deliver(to->ctx, h, frame, len);
    if (r == 0) {
        to->stats.tx_frames++;
        to->stats.tx_bytes += len;
        return;
    }
    if (r != ERR_NOTSUP || !h)
        goto drop;
    sw->segmented++;
    struct sw_plain p = {.to = to};
    if (h->gso_type != VNET_GSO_NONE) {
        if (net_gso_segment(h, frame, len, sw->seg, sizeof(sw->seg), sw_plain_emit, &p) < 0)
            goto drop;
    } else {
        /* vnet_hdr_valid: a plain frame fits the buffer. */
        memcpy(sw->seg, frame, len);
        if (net_csum_complete(sw->seg, len, h->csum_start, h->csum_offset) != 0)
            goto drop;
        sw_plain_emit(&p, sw->seg, len);
    }
    to->stats.tx_frames += p.taken;
    to->stats.tx_bytes += len;
    to->stats.tx_drops += p.dropped;
    return;
drop:
    to->stats.tx_drops++;
}

void vswitch_send(struct vswitch *sw, struct vswitch_port *from, const void *frame, size_t len)
{
    vswitch_send_hdr(sw, from, NULL, frame, len);
}

void vswitch_send_hdr(struct vswitch *sw, struct vswitch_port *from, const struct vnet_hdr *h,
                      const void *frame, size_t len)
{
    const uint8_t *f = frame;

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
    if (!(f[0] & 1)) {
        struct vswitch_fdb *e = sw_lookup(sw, f);
        if (e) {
            if (e->port == from->index)
                sw->filtered++; /* the destination is behind the sender's port */
            else if (sw->ports[e->port])
                sw_deliver(sw, sw->ports[e->port], h, f, len);
            goto out;
        }
    }
    for (unsigned i = 0; i < VSWITCH_MAX_PORTS; i++) {
        if (i != from->index && sw->ports[i])
            sw_deliver(sw, sw->ports[i], h, f, len);
    }
out:
    spin_unlock(&sw->lock);
}

void vswitch_stats_read(struct vswitch *sw, const struct vswitch_port *p,
                        struct vswitch_port_stats *out)
{
    spin_lock(&sw->lock);
    *out = p->stats;
    spin_unlock(&sw->lock);
}
