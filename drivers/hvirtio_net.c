/* SPDX-License-Identifier: Apache-2.0 */
/* Host virtio-net driver (see hvirtio_net.h; virtio 1.2 5.1). */
#include "drivers/hvirtio_net.h"

#include "arch/arch.h"
#include "devices/virtio_mmio.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"

#define F_MAC 5

static int rx_post(struct hvnet *n, unsigned i)
{
    struct hv_buf b = {n->rx[i], HVNET_BUF, true};
    int head = hvirtio_post(&n->v, HVNET_RXQ, &b, 1);

    if (head < 0)
        return head;
    n->rx_head_buf[head] = (int)i;
    return 0;
}

int hvnet_init(struct hvnet *n, uintptr_t base, void *rings, void *bufs, uint64_t timeout_ticks,
               char *err, size_t errlen)
{
    memset(n, 0, sizeof(*n));
    n->timeout_ticks = timeout_ticks;
    n->rx = bufs;
    n->tx = (uint8_t(*)[HVNET_BUF])bufs + HVNET_RX_BUFS;
    int r = hvirtio_open(&n->v, base, 1ull << F_MAC, err, errlen);
    if (r < 0)
        return r;
    if (n->v.device_id != 1) {
        fmt_snprintf(err, errlen, "device at %#lx is not virtio-net", (unsigned long)base);
        return ERR_NOENT;
    }
    if ((n->v.features >> F_MAC) & 1) {
        for (unsigned i = 0; i < 6; i++)
            n->mac[i] = mmio_read8(base + VIRTIO_MMIO_CONFIG + i);
    }
    size_t ring = hvirtio_ring_bytes(HVNET_QUEUE);
    r = hvirtio_queue(&n->v, HVNET_RXQ, HVNET_QUEUE, rings, err, errlen);
    if (r == 0)
        r = hvirtio_queue(&n->v, HVNET_TXQ, HVNET_QUEUE, (uint8_t *)rings + ring, err, errlen);
    if (r < 0)
        return r;
    for (unsigned i = 0; i < n->v.q[HVNET_RXQ].num; i++)
        rx_post(n, i);
    for (unsigned i = 0; i < n->v.q[HVNET_TXQ].num && i < HVNET_TX_BUFS; i++)
        n->tx_free[n->tx_nfree++] = (uint16_t)i;
    /* Completed transmissions are collected on the next send: no
     * interrupt for them (VRING_AVAIL_F_NO_INTERRUPT). */
    n->v.q[HVNET_TXQ].avail[0] = 1;
    hvirtio_start(&n->v);
    hvirtio_kick(&n->v, HVNET_RXQ);
    return 0;
}

/* tx_lock held: takes back the buffers the device has sent.  0, or
 * ERR_IO when it answered with nonsense (the uplink is then failed). */
static int tx_reclaim(struct hvnet *n)
{
    uint32_t len;

    for (;;) {
        int head = hvirtio_used(&n->v, HVNET_TXQ, &len);
        if (head == ERR_AGAIN)
            return 0;
        if (head < 0 || n->tx_nfree >= HVNET_TX_BUFS) {
            n->failed = true;
            return ERR_IO;
        }
        n->tx_free[n->tx_nfree++] = n->tx_head_buf[head];
    }
}

/* tx_lock held: a free transmit buffer, waiting (bounded) for the device
 * to finish one when all are in flight.  ERR_IO when it did not. */
static int tx_buffer(struct hvnet *n)
{
    if (tx_reclaim(n) < 0)
        return ERR_IO;
    if (n->tx_nfree == 0) {
        n->tx_waits++;
        uint64_t start = arch_time();
        while (n->tx_nfree == 0) {
            if (tx_reclaim(n) < 0)
                return ERR_IO;
            if (n->tx_nfree)
                break;
            if (arch_time() - start > n->timeout_ticks) {
                n->failed = true;
                return ERR_IO;
            }
            arch_cpu_relax();
        }
    }
    return n->tx_free[--n->tx_nfree];
}

int hvnet_send(struct hvnet *n, const void *frame, size_t len)
{
    int r = ERR_IO;

    if (len > HVNET_BUF - HVNET_HDR)
        return ERR_INVAL;
    spin_lock(&n->tx_lock);
    int b = n->failed ? ERR_IO : tx_buffer(n);
    if (b >= 0) {
        uint8_t *buf = n->tx[b];
        memset(buf, 0, HVNET_HDR);
        memcpy(buf + HVNET_HDR, frame, len);
        struct hv_buf hb = {buf, (uint32_t)(HVNET_HDR + len), false};
        int head = hvirtio_post(&n->v, HVNET_TXQ, &hb, 1);
        if (head < 0) {
            n->tx_free[n->tx_nfree++] = (uint16_t)b;
            r = head;
        } else {
            n->tx_head_buf[head] = (uint16_t)b;
            /* The device clears NO_NOTIFY before it last looks at the
             * ring: while set, it will see this buffer (2.7.10). */
            arch_dma_fence();
            if (!(n->v.q[HVNET_TXQ].used[0] & 1)) {
                hvirtio_kick(&n->v, HVNET_TXQ);
                n->tx_kicks++;
            }
            r = 0;
        }
    }
    if (r == 0)
        n->tx_frames++;
    else
        n->tx_errors++;
    spin_unlock(&n->tx_lock);
    return r;
}

unsigned hvnet_poll(struct hvnet *n, void (*deliver)(void *ctx, const void *frame, size_t len),
                    void *ctx)
{
    unsigned got = 0;
    uint32_t len;
    int head;

    spin_lock(&n->rx_lock);
    hvirtio_irq_ack(&n->v);
    /* At most a ring's worth: a flood cannot keep this hart here. */
    for (unsigned k = 0; k < n->v.q[HVNET_RXQ].num; k++) {
        head = hvirtio_used(&n->v, HVNET_RXQ, &len);
        if (head == ERR_AGAIN)
            break;
        if (head < 0) {
            n->failed = true;
            break;
        }
        unsigned i = (unsigned)n->rx_head_buf[head];
        if (len > HVNET_HDR && len <= HVNET_BUF) {
            deliver(ctx, n->rx[i] + HVNET_HDR, len - HVNET_HDR);
            n->rx_frames++;
            got++;
        } else {
            n->rx_errors++;
        }
        rx_post(n, i);
    }
    hvirtio_kick(&n->v, HVNET_RXQ);
    spin_unlock(&n->rx_lock);
    return got;
}
