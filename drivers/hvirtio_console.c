/* SPDX-License-Identifier: Apache-2.0 */
/* Host virtio console driver (see hvirtio_console.h; virtio 1.2 5.3). */
#include "drivers/hvirtio_console.h"

#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"

#define ID_CONSOLE 3

/* Lock held: gives rx buffer b to the device (not kicked). */
static int rx_post(struct hvcons *c, unsigned b)
{
    struct hv_buf hb = {c->rx[b], HVCONS_BUF, true};
    int head = hvirtio_post(&c->v, HVCONS_RXQ, &hb, 1);

    if (head < 0)
        return head;
    c->rx_head_buf[head] = (int8_t)b;
    return 0;
}

/* Lock held: the device returned something it was never given. */
static void broken(struct hvcons *c)
{
    c->failed = true;
}

/* Lock held: takes the receive buffers the device returned.  Returns
 * whether any must be kicked back (empty ones are reposted at once). */
static bool rx_collect(struct hvcons *c)
{
    bool repost = false;
    uint32_t len;

    /* Bounded: at most every buffer can be in the used ring. */
    for (unsigned k = 0; k < c->nbufs && !c->failed; k++) {
        int head = hvirtio_used(&c->v, HVCONS_RXQ, &len);
        if (head == ERR_AGAIN)
            break;
        if (head < 0 || c->rx_head_buf[head] < 0 || len > HVCONS_BUF || c->rx_count == c->nbufs) {
            broken(c);
            break;
        }
        unsigned b = (unsigned)c->rx_head_buf[head];
        c->rx_head_buf[head] = -1;
        if (len == 0) {
            repost = rx_post(c, b) == 0 || repost;
            continue;
        }
        unsigned slot = (c->rx_first + c->rx_count) % c->nbufs;
        c->rx_ready[slot] = (uint8_t)b;
        c->rx_ready_len[slot] = (uint16_t)len;
        c->rx_count++;
        c->rx_bytes += len;
        c->rx_new = true;
    }
    return repost;
}

/* Lock held: takes back the transmit buffers the device has sent.
 * Returns how many. */
static unsigned tx_collect(struct hvcons *c)
{
    unsigned got = 0;
    uint32_t len;

    for (unsigned k = 0; k < c->nbufs && !c->failed; k++) {
        int head = hvirtio_used(&c->v, HVCONS_TXQ, &len);
        if (head == ERR_AGAIN)
            break;
        if (head < 0 || c->tx_head_buf[head] < 0 || c->tx_nfree == c->nbufs) {
            broken(c);
            break;
        }
        c->tx_free[c->tx_nfree++] = (uint8_t)c->tx_head_buf[head];
        c->tx_head_buf[head] = -1;
        got++;
    }
    if (got && c->tx_wanted) {
        c->tx_wanted = false;
        c->tx_room = true;
    }
    return got;
}

int hvcons_init(struct hvcons *c, uintptr_t base, void *rings, void *bufs, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    spin_init(&c->lock);
    c->rx = bufs;
    c->tx = (uint8_t(*)[HVCONS_BUF])((uint8_t *)bufs + HVCONS_QUEUE * HVCONS_BUF);
    memset(c->rx_head_buf, -1, sizeof(c->rx_head_buf));
    memset(c->tx_head_buf, -1, sizeof(c->tx_head_buf));
    /* No features beyond VERSION_1: without MULTIPORT the device is port 0
     * on queues 0 and 1, and needs no control queues. */
    int r = hvirtio_open(&c->v, base, 0, err, errlen);
    if (r < 0)
        return r;
    if (c->v.device_id != ID_CONSOLE) {
        fmt_snprintf(err, errlen, "device at %#lx is not a virtio console", (unsigned long)base);
        return ERR_NOENT;
    }
    size_t ring = hvirtio_ring_bytes(HVCONS_QUEUE);
    r = hvirtio_queue(&c->v, HVCONS_RXQ, HVCONS_QUEUE, rings, err, errlen);
    if (r == 0)
        r = hvirtio_queue(&c->v, HVCONS_TXQ, HVCONS_QUEUE, (uint8_t *)rings + ring, err, errlen);
    if (r < 0)
        return r;
    /* A device with shorter queues gets fewer buffers: one per entry. */
    c->nbufs = c->v.q[HVCONS_RXQ].num < c->v.q[HVCONS_TXQ].num ? c->v.q[HVCONS_RXQ].num
                                                               : c->v.q[HVCONS_TXQ].num;
    for (unsigned i = 0; i < c->nbufs; i++) {
        rx_post(c, i);
        c->tx_free[c->tx_nfree++] = (uint8_t)i;
    }
    hvirtio_start(&c->v);
    /* After DRIVER_OK: QEMU's port listens from then on, and takes the
     * kick as "the guest has room" to start reading its socket. */
    hvirtio_kick(&c->v, HVCONS_RXQ);
    return 0;
}

size_t hvcons_read(struct hvcons *c, void *buf, size_t n)
{
    size_t done = 0;
    bool kick = false;

    spin_lock(&c->lock);
    if (!c->failed)
        kick = rx_collect(c);
    while (done < n && c->rx_count && !c->failed) {
        unsigned slot = c->rx_first, b = c->rx_ready[slot];
        size_t left = c->rx_ready_len[slot] - c->rx_off;
        size_t k = n - done < left ? n - done : left;

        memcpy((uint8_t *)buf + done, c->rx[b] + c->rx_off, k);
        done += k;
        c->rx_off += (unsigned)k;
        if (c->rx_off == c->rx_ready_len[slot]) {
            /* Emptied: back to the device, which may then send more. */
            c->rx_first = (c->rx_first + 1) % c->nbufs;
            c->rx_count--;
            c->rx_off = 0;
            if (rx_post(c, b) == 0)
                kick = true;
        }
    }
    if (kick && !c->failed)
        hvirtio_kick(&c->v, HVCONS_RXQ);
    spin_unlock(&c->lock);
    return done;
}

size_t hvcons_write(struct hvcons *c, const void *buf, size_t n)
{
    size_t done = 0;

    spin_lock(&c->lock);
    /* The device may send during the kick (QEMU does, unless its backend
     * is full): take those buffers back and go on while that happens. */
    while (!c->failed && done < n) {
        bool posted = false;

        tx_collect(c);

        while (done < n && c->tx_nfree && !c->failed) {
            unsigned b = c->tx_free[c->tx_nfree - 1];
            size_t k = n - done < HVCONS_BUF ? n - done : HVCONS_BUF;

            memcpy(c->tx[b], (const uint8_t *)buf + done, k);
            struct hv_buf hb = {c->tx[b], (uint32_t)k, false};
            int head = hvirtio_post(&c->v, HVCONS_TXQ, &hb, 1);
            if (head < 0) {
                broken(c); /* a buffer per entry: there is always a descriptor */
                break;
            }
            c->tx_nfree--;
            c->tx_head_buf[head] = (int8_t)b;
            c->tx_bytes += k;
            done += k;
            posted = true;
        }
        if (!posted)
            break;
        hvirtio_kick(&c->v, HVCONS_TXQ);
    }
    if (done < n)
        c->tx_wanted = true;
    spin_unlock(&c->lock);
    return done;
}

unsigned hvcons_poll(struct hvcons *c)
{
    unsigned ev = 0;

    spin_lock(&c->lock);
    /* Acknowledge first: what the device returns after the collection
     * raises the interrupt again. */
    hvirtio_irq_ack(&c->v);
    if (!c->failed) {
        if (rx_collect(c))
            hvirtio_kick(&c->v, HVCONS_RXQ);
        tx_collect(c);
    }
    if (c->rx_new && c->rx_count && !c->failed)
        ev |= HVCONS_READABLE;
    if (c->tx_room && !c->failed)
        ev |= HVCONS_WRITABLE;
    c->rx_new = c->tx_room = false;
    spin_unlock(&c->lock);
    return ev;
}

bool hvcons_failed(struct hvcons *c)
{
    spin_lock(&c->lock);
    bool f = c->failed;
    spin_unlock(&c->lock);
    return f;
}
