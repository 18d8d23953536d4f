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

int virtio_net_receive_hdr(struct virtio_net *n, const struct vnet_hdr *h, const void *frame,
                           size_t len)
{
    struct virtio_mmio *t = &n->t;
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
    bool copied = rx_fill(n, (unsigned)chains, c, hdr, sizeof(hdr)) == 0 &&
                  rx_fill(n, (unsigned)chains, c, frame, len) == 0;
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

static int net_deliver(void *ctx, const struct vnet_hdr *h, const void *frame, size_t len)
{
    return virtio_net_receive_hdr(ctx, h, frame, len);
}

/* tx_lock held, transport lock held on entry and on return (released
 * for the copy): takes one transmit chain into n->tx_frame.  Returns the
 * frame length (header included), 0 for a chain dropped, or, when there
 * is nothing more to do, ERR_AGAIN (the queue is empty, or the device was
 * reset during the copy) or ERR_BROKEN (a broken ring or chain: now
 * NEEDS_RESET). */
static int64_t net_tx_one(struct virtio_net *n)
{
    struct virtio_mmio *t = &n->t;
    unsigned count;
    int head = virtio_mmio_pop(t, VIRTIO_NET_TXQ, n->tx_bufs, VIRTIO_NET_QUEUE_MAX, &count);

    if (head < 0)
        return head;
    uint64_t total = 0;
    for (unsigned i = 0; i < count; i++) {
        if (n->tx_bufs[i].write) {
            virtio_mmio_needs_reset(t); /* transmit buffers are device-readable */
            return ERR_BROKEN;
        }
        total += n->tx_bufs[i].len;
    }
    int64_t r = 0;
    if (total >= VIRTIO_NET_HDR_LEN + VSWITCH_MIN_FRAME && total <= sizeof(n->tx_frame)) {
        /* Unlocked, as for receive: a frame delivered to this device
         * meanwhile does not wait behind the copy. */
        uint32_t epoch = n->epoch;
        uint64_t pos = 0;
        bool copied = true;
        spin_unlock(&t->lock);
        for (unsigned i = 0; i < count && copied; i++) {
            if (n->tx_bufs[i].len && t->mem.read(t->mem.ctx, n->tx_bufs[i].addr, n->tx_frame + pos,
                                                 n->tx_bufs[i].len) != 0)
                copied = false;
            pos += n->tx_bufs[i].len;
        }
        spin_lock(&t->lock);
        if (n->epoch != epoch)
            return ERR_AGAIN; /* reset meanwhile: the chain is gone with its ring */
        if (!copied) {
            virtio_mmio_needs_reset(t); /* buffer outside RAM */
            return ERR_BROKEN;
        }
        r = (int64_t)total;
    }
    /* The interrupt, if the driver wants one, after the whole batch. */
    if (virtio_mmio_push(t, VIRTIO_NET_TXQ, (uint16_t)head, 0) != 0)
        return ERR_BROKEN;
    return r;
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
    for (unsigned i = 0;; i++) {
        struct vnet_hdr h;
        spin_lock(&t->lock);
        bool bound = i >= VIRTIO_WORK_ROUNDS * t->queues[VIRTIO_NET_TXQ].num;
        int64_t len = bound ? ERR_AGAIN : net_tx_one(n);
        unsigned allowed = net_tx_offloads(n);
        if (len < 0) {
            if (bound) /* chains left: the driver must notify again */
                virtio_mmio_want_kick(t, VIRTIO_NET_TXQ);
            virtio_mmio_used(t, VIRTIO_NET_TXQ);
        }
        spin_unlock(&t->lock);
        if (len < 0)
            break;
        if (len == 0) {
            n->stats.tx_drops++;
            continue;
        }
        size_t flen = (size_t)len - VIRTIO_NET_HDR_LEN;
        vnet_hdr_parse(n->tx_frame, &h);
        /* Without CSUM negotiated the header's content means nothing
         * (5.1.6.2: the driver may not ask), and is ignored. */
        unsigned need = allowed ? vnet_hdr_needs(&h) : 0;
        if ((need & ~allowed) || (need && !vnet_hdr_valid(&h, flen, VIRTIO_NET_MAX_FRAME)) ||
            (!need && flen > VIRTIO_NET_MAX_FRAME)) {
            n->stats.tx_drops++; /* an offload not negotiated, or nonsense */
            continue;
        }
        n->stats.tx_frames++;
        n->stats.tx_bytes += flen;
        if (n->sw)
            vswitch_send_hdr(n->sw, &n->port, need ? &h : NULL, n->tx_frame + VIRTIO_NET_HDR_LEN,
                             flen);
    }
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
    n->port.deliver = net_deliver;
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
