/* SPDX-License-Identifier: Apache-2.0 */
/* virtio network device (see virtio_net.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "devices/net_offload.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_net.h"
#include "devices/virtqueue.h"
#include "devices/vswitch.h"
#include "lib/err.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "lib/wire.h"

/* Negotiated feature bit f (valid once the driver is running). */
static bool net_has(const struct virtio_net *n, unsigned f)
{
    return (n->t.features >> f) & 1;
}

/* The offloads (VNET_OFF_*) the driver takes on receive. */
static unsigned net_rx_offloads(const struct virtio_net *n)
{
    unsigned off = 0;

    if (net_has(n, VIRTIO_NET_F_GUEST_CSUM)) {
        off |= VNET_OFF_CSUM;
        if (net_has(n, VIRTIO_NET_F_GUEST_TSO4))
            off |= VNET_OFF_TSO4;
        if (net_has(n, VIRTIO_NET_F_GUEST_TSO6))
            off |= VNET_OFF_TSO6;
    }
    return off;
}

/* The offloads the driver may ask for on transmit. */
static unsigned net_tx_offloads(const struct virtio_net *n)
{
    unsigned off = 0;

    if (net_has(n, VIRTIO_NET_F_CSUM)) {
        off |= VNET_OFF_CSUM;
        if (net_has(n, VIRTIO_NET_F_HOST_TSO4))
            off |= VNET_OFF_TSO4;
        if (net_has(n, VIRTIO_NET_F_HOST_TSO6))
            off |= VNET_OFF_TSO6;
    }
    return off;
}

/* Copies len bytes from src at the cursor.  0, or ERR_RANGE if guest
 * memory refused (or the chains ran out, which the caller's room check
 * rules out). */
static int rx_fill(struct virtio_net *n, unsigned chains, struct rx_cursor *c, const uint8_t *src,
                   size_t len)
{
    while (len) {
        if (c->chain >= chains)
            return ERR_RANGE;
        if (c->buf >= n->rx_counts[c->chain]) {
            c->first += n->rx_counts[c->chain];
            c->chain++;
            c->buf = 0;
            c->off = 0;
            continue;
        }
        const struct vq_buf *b = &n->rx_bufs[c->first + c->buf];
        if (c->off >= b->len) {
            c->buf++;
            c->off = 0;
            continue;
        }
        uint64_t room = b->len - c->off;
        size_t k = len < room ? len : (size_t)room;
        if (n->t.mem.write(n->t.mem.ctx, b->addr + c->off, src, k) != 0)
            return ERR_RANGE;
        c->off += k;
        c->written[c->chain] += (uint32_t)k;
        src += k;
        len -= k;
    }
    return 0;
}

/* Transport lock held: takes receive chains until they hold need bytes
 * (one chain only without MRG_RXBUF).  Returns the number of chains, or
 * ERR_AGAIN (too few: those taken are given back untouched), ERR_NOSPC
 * (one chain too small: given back unused) or ERR_BROKEN. */
static int rx_take(struct virtio_net *n, uint64_t need)
{
    struct virtio_mmio *t = &n->t;
    bool mrg = net_has(n, VIRTIO_NET_F_MRG_RXBUF);
    unsigned chains = 0, used = 0;
    uint64_t room = 0;

    while (room < need) {
        unsigned count;
        if (chains == VIRTIO_NET_QUEUE_MAX || used == VIRTIO_NET_QUEUE_MAX)
            goto too_few;
        int head = virtio_mmio_pop(t, VIRTIO_NET_RXQ, n->rx_bufs + used,
                                   VIRTIO_NET_QUEUE_MAX - used, &count);
        if (head == ERR_AGAIN)
            goto too_few;
        if (head < 0)
            return head; /* a broken ring (now NEEDS_RESET) */
        for (unsigned i = 0; i < count; i++) {
            if (!n->rx_bufs[used + i].write) {
                virtio_mmio_needs_reset(t); /* the driver must post writable buffers */
                return ERR_BROKEN;
            }
            room += n->rx_bufs[used + i].len;
        }
        n->rx_heads[chains] = (uint16_t)head;
        n->rx_counts[chains] = (uint16_t)count;
        chains++;
        used += count;
        if (!mrg && room < need) {
            /* Too small: give the buffer back unused. */
            if (virtio_mmio_push(t, VIRTIO_NET_RXQ, (uint16_t)head, 0) == 0)
                virtio_mmio_used(t, VIRTIO_NET_RXQ);
            return ERR_NOSPC;
        }
        if (mrg && room < VIRTIO_NET_HDR_LEN)
            goto too_few; /* the header must fit the first chain: wait for bigger ones */
    }
    return (int)chains;
too_few:
    virtio_mmio_unpop(t, VIRTIO_NET_RXQ, (uint16_t)chains);
    return ERR_AGAIN;
}

int virtio_net_receive_frame(struct virtio_net *n, const struct vswitch_frame *f)
{
    struct virtio_mmio *t = &n->t;
    const struct vnet_hdr *h = f->h;
    size_t len = f->len;
    struct vnet_hdr out = {0};
    int r = ERR_INVAL;

    if (h && vnet_hdr_needs(h) == 0)
        h = NULL;
    /* One receive at a time (two senders may deliver at once): the
     * chains it took and the cursor are this lock's. */
    spin_lock(&n->rx_lock);
    spin_lock(&t->lock);
    if (len > (h && h->gso_type != VNET_GSO_NONE ? VIRTIO_NET_MAX_GSO : VIRTIO_NET_MAX_FRAME))
        goto drop;
    r = ERR_AGAIN;
    if (n->held)
        goto drop;
    if (h) {
        if (vnet_hdr_needs(h) & ~net_rx_offloads(n)) {
            n->stats.rx_offload_refused++;
            spin_unlock(&t->lock);
            spin_unlock(&n->rx_lock);
            return ERR_NOTSUP; /* the switch gives the plain equivalent */
        }
        out = *h;
        out.flags &= VNET_HDR_F_NEEDS_CSUM;
    }
    int chains = rx_take(n, VIRTIO_NET_HDR_LEN + (uint64_t)len);
    r = chains;
    if (chains < 0)
        goto drop;
    uint32_t epoch = n->epoch;
    /* The copy runs without the transport lock: the guest's own register
     * accesses (interrupt status, acknowledgements, its transmit kicks)
     * do not wait behind a 64 KiB copy.  The chains are popped, so
     * nobody else writes them; a reset meanwhile (epoch) drops the frame,
     * and reset_done waits for this copy before the driver goes on. */
    spin_unlock(&t->lock);
    /* num_buffers: 1 without MRG_RXBUF (VERSION_1 has the field). */
    out.num_buffers = (uint16_t)chains;
    uint8_t hdr[VIRTIO_NET_HDR_LEN];
    vnet_hdr_build(&out, hdr);
    struct rx_cursor *c = &n->rx_cursor;
    c->chain = c->buf = c->first = 0;
    c->off = 0;
    for (int i = 0; i < chains; i++)
        c->written[i] = 0;
    /* The one copy of the frame's bytes: from where they are (the
     * sender's buffers, through its checked translation) into this
     * guest's, through its checked accessor. */
    size_t head = len < VSWITCH_MIN_FRAME ? len : VSWITCH_MIN_FRAME;
    bool copied = rx_fill(n, (unsigned)chains, c, hdr, sizeof(hdr)) == 0 &&
                  rx_fill(n, (unsigned)chains, c, f->head, head) == 0;
    for (unsigned i = 0; i < f->nseg && copied; i++)
        copied = rx_fill(n, (unsigned)chains, c, (const uint8_t *)(uintptr_t)f->segs[i].addr,
                         f->segs[i].len) == 0;
    spin_lock(&t->lock);
    r = ERR_AGAIN;
    if (n->epoch != epoch)
        goto drop; /* reset meanwhile: the chains are the old rings' */
    r = ERR_BROKEN;
    if (!copied) {
        virtio_mmio_needs_reset(t); /* buffer outside RAM */
        goto drop;
    }
    for (int i = 0; i < chains; i++) {
        if (virtio_mmio_push(t, VIRTIO_NET_RXQ, n->rx_heads[i], c->written[i]) != 0)
            goto drop;
    }
    virtio_mmio_used(t, VIRTIO_NET_RXQ);
    n->stats.rx_frames++;
    n->stats.rx_bytes += len;
    r = 0;
    goto out;
drop:
    n->stats.rx_drops++;
out:
    spin_unlock(&t->lock);
    spin_unlock(&n->rx_lock);
    return r;
}

int virtio_net_receive_hdr(struct virtio_net *n, const struct vnet_hdr *h, const void *frame,
                           size_t len)
{
    struct vswitch_frame f;
    struct gm_seg seg;

    vswitch_frame_flat(&f, h, frame, len, &seg);
    return virtio_net_receive_frame(n, &f);
}

int virtio_net_receive(struct virtio_net *n, const void *frame, size_t len)
{
    return virtio_net_receive_hdr(n, NULL, frame, len);
}

void virtio_net_hold(struct virtio_net *n, bool on)
{
    spin_lock(&n->t.lock);
    n->held = on;
    spin_unlock(&n->t.lock);
    /* A receive that took its chains before the hold finishes its copy
     * first: nothing writes the guest's memory once this returns. */
    spin_lock(&n->rx_lock);
    spin_unlock(&n->rx_lock);
}

static int net_deliver(void *ctx, const struct vswitch_frame *f)
{
    return virtio_net_receive_frame(ctx, f);
}

/* Copies n bytes at offset off of the pieces segs[0..nseg) into dst.
 * false if they hold fewer. */
static bool segs_read(const struct gm_seg *segs, unsigned nseg, uint64_t off, uint8_t *dst,
                      size_t n)
{
    for (unsigned i = 0; i < nseg && n; i++) {
        if (off >= segs[i].len) {
            off -= segs[i].len;
            continue;
        }
        size_t k = segs[i].len - off;
        if (k > n)
            k = n;
        memcpy(dst, (const uint8_t *)(uintptr_t)segs[i].addr + off, k);
        dst += k;
        n -= k;
        off = 0;
    }
    return n == 0;
}

/* Drops the first off bytes of the pieces *segs[0..*nseg) (in place). */
static void segs_skip(struct gm_seg **segs, unsigned *nseg, uint64_t off)
{
    while (*nseg && off >= (*segs)->len) {
        off -= (*segs)->len;
        (*segs)++;
        (*nseg)--;
    }
    if (*nseg && off) {
        (*segs)->addr += off;
        (*segs)->len -= (uint32_t)off;
    }
}

/* tx_lock held, transport lock not held: the chain tx_bufs[0..count)
 * (total bytes, header included, device-readable, popped) as pieces in
 * n->tx_segs: each buffer through the checked translation (guest_mem's
 * map: every page this VM's RAM), so the switch can copy the frame
 * straight from it into a receiver.  Where map is not offered or the
 * chain takes more pieces than tx_segs holds, the chain is copied into
 * n->tx_frame instead (the checked read) and is one piece (counted in
 * tx_staged, *staged set).  Returns the piece count, or ERR_RANGE (a
 * buffer is not the VM's RAM: nothing was handed on). */
static int net_tx_pieces(struct virtio_net *n, unsigned count, uint64_t total, bool *staged)
{
    const struct guest_mem *m = &n->t.mem;
    unsigned nseg = 0;

    for (unsigned i = 0; m->map && i < count; i++) {
        if (!n->tx_bufs[i].len)
            continue;
        int k = m->map(m->ctx, n->tx_bufs[i].addr, n->tx_bufs[i].len, n->tx_segs + nseg,
                       VIRTIO_NET_TX_SEGS - nseg);
        if (k == ERR_NOSPC)
            goto copy;
        if (k < 0)
            return ERR_RANGE;
        nseg += (unsigned)k;
    }
    if (m->map)
        return (int)nseg;
copy:;
    uint64_t pos = 0;
    for (unsigned i = 0; i < count; i++) {
        if (n->tx_bufs[i].len &&
            m->read(m->ctx, n->tx_bufs[i].addr, n->tx_frame + pos, n->tx_bufs[i].len) != 0)
            return ERR_RANGE;
        pos += n->tx_bufs[i].len;
    }
    n->tx_segs[0] = (struct gm_seg){(uintptr_t)n->tx_frame, (uint32_t)total};
    n->stats.tx_staged++;
    *staged = true;
    return 1;
}

/* tx_lock held, transport lock not held: one popped chain (total bytes)
 * checked and handed to the switch as pieces of the guest's buffers,
 * which the switch copies once into each receiver (devices/vswitch.h).
 * Returns 0 (sent, or dropped and counted) or ERR_RANGE (a buffer outside
 * the VM's RAM: nothing sent). */
static int net_tx_chain(struct virtio_net *n, unsigned count, uint64_t total, unsigned allowed)
{
    if (total < VIRTIO_NET_HDR_LEN + VSWITCH_MIN_FRAME || total > sizeof(n->tx_frame)) {
        n->stats.tx_drops++; /* too short, or longer than any frame: not read */
        return 0;
    }
    bool staged = false;
    int k = net_tx_pieces(n, count, total, &staged);
    if (k < 0)
        return k;
    struct gm_seg *segs = n->tx_segs;
    unsigned nseg = (unsigned)k;
    uint8_t first[VIRTIO_NET_HDR_LEN + VSWITCH_MIN_FRAME];
    struct vswitch_frame f;
    struct vnet_hdr h;
    size_t flen = (size_t)total - VIRTIO_NET_HDR_LEN;

    /* The header and the Ethernet header are read once, here: the
     * switch decides on these copies and receivers get them. */
    if (!segs_read(segs, nseg, 0, first, sizeof(first)))
        return ERR_RANGE; /* cannot happen: the pieces hold total bytes */
    vnet_hdr_parse(first, &h);
    /* Without CSUM negotiated the header's content means nothing
     * (5.1.6.2: the driver may not ask), and is ignored. */
    unsigned need = allowed ? vnet_hdr_needs(&h) : 0;
    if ((need & ~allowed) || (need && !vnet_hdr_valid(&h, flen, VIRTIO_NET_MAX_FRAME)) ||
        (!need && flen > VIRTIO_NET_MAX_FRAME)) {
        n->stats.tx_drops++; /* an offload not negotiated, or nonsense */
        return 0;
    }
    n->stats.tx_frames++;
    n->stats.tx_bytes += flen;
    if (!n->sw)
        return 0;
    segs_skip(&segs, &nseg, sizeof(first));
    f = (struct vswitch_frame){need ? &h : NULL, flen, {0}, segs, nseg, NULL};
    memcpy(f.head, first + VIRTIO_NET_HDR_LEN, VSWITCH_MIN_FRAME);
    if (staged) /* copied already: the switch need not gather it again */
        f.flat = n->tx_frame + VIRTIO_NET_HDR_LEN;
    vswitch_send_frame(n->sw, &n->port, &f, n->tx_frame, sizeof(n->tx_frame));
    return 0;
}

static void net_kick(void *dev, unsigned queue)
{
    struct virtio_net *n = dev;
    struct virtio_mmio *t = &n->t;

    if (queue != VIRTIO_NET_TXQ)
        return; /* new receive buffers: nothing waits for them */
    spin_lock(&n->tx_lock);
    /* Until the ring is empty, bounded (VIRTIO_WORK_ROUNDS; the size read
     * each time: the driver may reset the device meanwhile). */
    spin_lock(&t->lock);
    for (unsigned i = 0;; i++) {
        unsigned count;
        if (i >= VIRTIO_WORK_ROUNDS * t->queues[VIRTIO_NET_TXQ].num) {
            /* Chains left: the driver must notify again. */
            virtio_mmio_want_kick(t, VIRTIO_NET_TXQ);
            break;
        }
        int head = virtio_mmio_pop(t, VIRTIO_NET_TXQ, n->tx_bufs, VIRTIO_NET_QUEUE_MAX, &count);
        if (head < 0)
            break; /* empty, or a broken ring (now NEEDS_RESET) */
        uint64_t total = 0;
        bool writable = false;
        for (unsigned j = 0; j < count; j++) {
            writable |= n->tx_bufs[j].write;
            total += n->tx_bufs[j].len;
        }
        if (writable) {
            virtio_mmio_needs_reset(t); /* transmit buffers are device-readable */
            break;
        }
        unsigned allowed = net_tx_offloads(n);
        uint32_t epoch = n->epoch;
        /* The chain is read (mapped, and copied into the receivers) with
         * the transport lock released: a frame delivered to this device
         * meanwhile does not wait behind it.  It stays popped, not
         * completed, until the switch is done with its buffers. */
        spin_unlock(&t->lock);
        int r = net_tx_chain(n, count, total, allowed);
        spin_lock(&t->lock);
        if (n->epoch != epoch)
            break; /* reset meanwhile: the chain is gone with its ring */
        if (r < 0) {
            virtio_mmio_needs_reset(t); /* a buffer outside RAM */
            break;
        }
        /* The interrupt, if the driver wants one, after the whole batch. */
        if (virtio_mmio_push(t, VIRTIO_NET_TXQ, (uint16_t)head, 0) != 0)
            break;
    }
    virtio_mmio_used(t, VIRTIO_NET_TXQ);
    spin_unlock(&t->lock);
    spin_unlock(&n->tx_lock);
}

static void net_config_read(void *dev, uint32_t off, void *buf, uint32_t len)
{
    struct virtio_net *n = dev;
    uint8_t cfg[VIRTIO_NET_CONFIG_LEN];

    memcpy(cfg, n->mac, 6);
    cfg[6] = VIRTIO_NET_S_LINK_UP; /* status, le16 */
    cfg[7] = 0;
    cfg[8] = 1; /* max_virtqueue_pairs, le16 (only meaningful with MQ) */
    cfg[9] = 0;
    memcpy(buf, cfg + off, len);
}

/* Transport lock held: the driver reset the device (or it was loaded
 * from a snapshot); a copy in flight must not complete into the old rings. */
static void net_reset(void *dev)
{
    struct virtio_net *n = dev;

    n->epoch++;
}

/* The driver's reset write returns only once no copy into or out of the
 * old buffers is in flight (the driver may free them next). */
static void net_reset_done(void *dev)
{
    struct virtio_net *n = dev;

    spin_lock(&n->rx_lock);
    spin_unlock(&n->rx_lock);
    spin_lock(&n->tx_lock);
    spin_unlock(&n->tx_lock);
}

static const struct virtio_dev_ops net_ops = {
    .device_id = VIRTIO_ID_NET,
    .features = (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS) |
                (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM) |
                (1ull << VIRTIO_NET_F_HOST_TSO4) | (1ull << VIRTIO_NET_F_HOST_TSO6) |
                (1ull << VIRTIO_NET_F_GUEST_TSO4) | (1ull << VIRTIO_NET_F_GUEST_TSO6) |
                (1ull << VIRTIO_NET_F_MRG_RXBUF),
    .nqueues = 2,
    .queue_max = VIRTIO_NET_QUEUE_MAX,
    .config_size = VIRTIO_NET_CONFIG_LEN,
    .max_chain_bytes = VIRTIO_NET_MAX_CHAIN,
    .config_read = net_config_read,
    .kick = net_kick,
    .reset = net_reset,
    .reset_done = net_reset_done,
};

void virtio_net_init(struct virtio_net *n, const struct guest_mem *mem, const struct irq_line *irq,
                     const uint8_t mac[6], struct vswitch *sw)
{
    memset(n, 0, sizeof(*n));
    memcpy(n->mac, mac, 6);
    spin_init(&n->tx_lock);
    spin_init(&n->rx_lock);
    n->port.name = "virtio-net";
    n->port.deliver_frame = net_deliver;
    n->port.ctx = n;
    virtio_mmio_init(&n->t, &net_ops, n, mem, irq);
    /* Receive buffers are taken when frames come: never wait for them. */
    n->t.queues[VIRTIO_NET_RXQ].no_kicks = true;
    if (sw && vswitch_attach(sw, &n->port) == 0)
        n->sw = sw;
}

void virtio_net_detach(struct virtio_net *n)
{
    spin_lock(&n->tx_lock); /* no transmit in flight */
    if (n->sw)
        vswitch_detach(n->sw, &n->port);
    n->sw = NULL;
    spin_unlock(&n->tx_lock);
}

static void net_state_put(const void *dev, struct wire *w)
{
    const struct virtio_net *n = dev;

    wire_put_bytes(w, n->mac, sizeof(n->mac));
}

static int net_state_get(void *dev, struct wire_in *r, bool apply)
{
    struct virtio_net *n = dev;
    uint8_t mac[6];

    wire_get_bytes(r, mac, sizeof(mac));
    if (memcmp(mac, n->mac, sizeof(mac)) != 0)
        return ERR_MISMATCH;
    if (apply)
        n->epoch++; /* new rings: a copy in flight must not complete into them */
    return 0;
}

long virtio_net_save(const struct virtio_net *n, void *buf, size_t size)
{
    return virtio_mmio_save(&n->t, VIRTIO_NET_STATE_VERSION, net_state_put, buf, size);
}

int virtio_net_load(struct virtio_net *n, const void *buf, size_t size)
{
    return virtio_mmio_load(&n->t, VIRTIO_NET_STATE_VERSION, net_state_get, buf, size);
}

/* RARP (RFC 903) over Ethernet: ethertype 0x8035, hardware type 1
 * (Ethernet), protocol 0x0800, lengths 6 and 4, opcode 3 (request
 * reverse), sender and target hardware address both the NIC's, protocol
 * addresses zero; padded to the 60-byte minimum frame. */
void virtio_net_announce(struct virtio_net *n)
{
    uint8_t f[60];

    memset(f, 0, sizeof(f));
    memset(f, 0xff, 6);
    memcpy(f + 6, n->mac, 6);
    f[12] = 0x80;
    f[13] = 0x35;
    static const uint8_t arp[8] = {0, 1, 0x08, 0x00, 6, 4, 0, 3};
    memcpy(f + 14, arp, sizeof(arp));
    memcpy(f + 22, n->mac, 6);
    memcpy(f + 32, n->mac, 6);
    spin_lock(&n->tx_lock);
    if (n->sw) {
        n->stats.tx_frames++;
        n->stats.tx_bytes += sizeof(f);
        vswitch_send(n->sw, &n->port, f, sizeof(f));
    }
    spin_unlock(&n->tx_lock);
}
