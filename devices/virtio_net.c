/* SPDX-License-Identifier: Apache-2.0 */
/* virtio network device (see virtio_net.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_net.h"
#include "devices/virtqueue.h"
#include "devices/vswitch.h"
#include "lib/err.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "lib/wire.h"

/* Copies n bytes from src into the chain's buffers (all device-writable).
 * Returns 0, or ERR_RANGE if guest memory refused. */
static int net_scatter(struct virtio_net *n, const struct vq_buf *bufs, unsigned count,
                       uint64_t *pos, const uint8_t *src, size_t len)
{
    /* pos: bytes of the chain already filled. */
    uint64_t skip = *pos;

    for (unsigned i = 0; i < count && len; i++) {
        if (skip >= bufs[i].len) {
            skip -= bufs[i].len;
            continue;
        }
        uint64_t room = bufs[i].len - skip;
        size_t k = len < room ? len : (size_t)room;
        if (n->t.mem.write(n->t.mem.ctx, bufs[i].addr + skip, src, k) != 0)
            return ERR_RANGE;
        skip = 0;
        src += k;
        len -= k;
        *pos += k;
    }
    return 0;
}

int virtio_net_receive(struct virtio_net *n, const void *frame, size_t len)
{
    struct virtio_mmio *t = &n->t;
    unsigned count;
    int r = ERR_INVAL;

    spin_lock(&t->lock);
    if (len > VIRTIO_NET_MAX_FRAME)
        goto drop;
    r = ERR_AGAIN;
    if (n->held)
        goto drop;
    int head = virtio_mmio_pop(t, VIRTIO_NET_RXQ, n->rx_bufs, VIRTIO_NET_QUEUE_MAX, &count);
    r = head;
    if (head < 0)
        goto drop; /* not running, no buffer, or a broken ring (now NEEDS_RESET) */
    r = ERR_BROKEN;
    uint64_t room = 0;
    for (unsigned i = 0; i < count; i++) {
        if (!n->rx_bufs[i].write) {
            virtio_mmio_needs_reset(t); /* the driver must post writable buffers */
            goto drop;
        }
        room += n->rx_bufs[i].len;
    }
    if (room < VIRTIO_NET_HDR_LEN + len) {
        /* Too small: give the buffer back unused. */
        if (virtio_mmio_push(t, VIRTIO_NET_RXQ, (uint16_t)head, 0) == 0)
            virtio_mmio_used(t, VIRTIO_NET_RXQ);
        r = ERR_NOSPC;
        goto drop;
    }
    /* flags, gso_type, hdr_len, gso_size, csum_start, csum_offset: 0
     * (VIRTIO_NET_HDR_GSO_NONE); num_buffers = 1 (le16). */
    uint8_t hdr[VIRTIO_NET_HDR_LEN] = {0};
    hdr[10] = 1;
    uint64_t pos = 0;
    if (net_scatter(n, n->rx_bufs, count, &pos, hdr, sizeof(hdr)) != 0 ||
        net_scatter(n, n->rx_bufs, count, &pos, frame, len) != 0) {
        virtio_mmio_needs_reset(t); /* buffer outside RAM */
        goto drop;
    }
    if (virtio_mmio_push(t, VIRTIO_NET_RXQ, (uint16_t)head, (uint32_t)pos) != 0)
        goto drop;
    virtio_mmio_used(t, VIRTIO_NET_RXQ);
    n->stats.rx_frames++;
    n->stats.rx_bytes += len;
    r = 0;
    goto out;
drop:
    n->stats.rx_drops++;
out:
    spin_unlock(&t->lock);
    return r;
}

void virtio_net_hold(struct virtio_net *n, bool on)
{
    spin_lock(&n->t.lock);
    n->held = on;
    spin_unlock(&n->t.lock);
}

static int net_deliver(void *ctx, const void *frame, size_t len)
{
    return virtio_net_receive(ctx, frame, len);
}

/* Transport lock held: takes one transmit chain into n->tx_frame.
 * Returns the frame length (header included), 0 for a chain dropped,
 * or, when there is nothing more to do, ERR_AGAIN (the queue is empty) or
 * ERR_BROKEN (a broken ring or chain: now NEEDS_RESET). */
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
        uint64_t pos = 0;
        for (unsigned i = 0; i < count; i++) {
            if (n->tx_bufs[i].len && t->mem.read(t->mem.ctx, n->tx_bufs[i].addr, n->tx_frame + pos,
                                                 n->tx_bufs[i].len) != 0) {
                virtio_mmio_needs_reset(t); /* buffer outside RAM */
                return ERR_BROKEN;
            }
            pos += n->tx_bufs[i].len;
        }
        r = (int64_t)total;
    }
    if (virtio_mmio_push(t, VIRTIO_NET_TXQ, (uint16_t)head, 0) != 0)
        return ERR_BROKEN;
    virtio_mmio_used(t, VIRTIO_NET_TXQ);
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
        spin_lock(&t->lock);
        int64_t len =
            i < VIRTIO_WORK_ROUNDS * t->queues[VIRTIO_NET_TXQ].num ? net_tx_one(n) : ERR_AGAIN;
        spin_unlock(&t->lock);
        if (len < 0)
            break;
        if (len == 0) {
            n->stats.tx_drops++;
            continue;
        }
        size_t flen = (size_t)len - VIRTIO_NET_HDR_LEN;
        n->stats.tx_frames++;
        n->stats.tx_bytes += flen;
        if (n->sw)
            vswitch_send(n->sw, &n->port, n->tx_frame + VIRTIO_NET_HDR_LEN, flen);
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

static const struct virtio_dev_ops net_ops = {
    .device_id = VIRTIO_ID_NET,
    .features = (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS),
    .nqueues = 2,
    .queue_max = VIRTIO_NET_QUEUE_MAX,
    .config_size = VIRTIO_NET_CONFIG_LEN,
    .max_chain_bytes = VIRTIO_NET_MAX_CHAIN,
    .config_read = net_config_read,
    .kick = net_kick,
};

void virtio_net_init(struct virtio_net *n, const struct guest_mem *mem, const struct irq_line *irq,
                     const uint8_t mac[6], struct vswitch *sw)
{
    memset(n, 0, sizeof(*n));
    memcpy(n->mac, mac, 6);
    spin_init(&n->tx_lock);
    n->port.name = "virtio-net";
    n->port.deliver = net_deliver;
    n->port.ctx = n;
    virtio_mmio_init(&n->t, &net_ops, n, mem, irq);
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
    const struct virtio_net *n = dev;
    uint8_t mac[6];

    (void)apply; /* nothing of its own to store */
    wire_get_bytes(r, mac, sizeof(mac));
    return memcmp(mac, n->mac, sizeof(mac)) == 0 ? 0 : ERR_MISMATCH;
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
