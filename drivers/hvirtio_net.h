/* SPDX-License-Identifier: Apache-2.0 */
/* Vireo's driver for the host's virtio-net (QEMU -device
 * virtio-net-device with -netdev user or socket): the virtual switch's
 * uplink.  Transmit (from any hart, one lock) copies the frame into a
 * free transmit buffer, posts it and notifies the device unless it said
 * it is already working (VRING_USED_F_NO_NOTIFY); buffers the device
 * finished are taken back on the next send, and only when all are in
 * flight does a send wait for one (bounded by the timeout).  The device
 * is asked for no interrupt on transmit completions.  Receive buffers
 * stay posted and hvnet_poll hands arrived frames to a callback (from
 * the interrupt handler, or polled), notifying the device once per
 * batch of reposted buffers. */
#ifndef VIREO_DRIVERS_HVIRTIO_NET_H
#define VIREO_DRIVERS_HVIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/hvirtio.h"
#include "lib/spinlock.h"

#define HVNET_RXQ        0
#define HVNET_TXQ        1
#define HVNET_QUEUE      256  /* QEMU's default ring size: a burst from the host is not dropped */
#define HVNET_HDR        12   /* struct virtio_net_hdr with num_buffers (VERSION_1) */
#define HVNET_BUF        2048 /* header + the largest frame, 1518 bytes with a VLAN tag */
#define HVNET_RX_BUFS    HVNET_QUEUE
#define HVNET_TX_BUFS    HVNET_QUEUE
#define HVNET_BUFS_BYTES ((size_t)(HVNET_RX_BUFS + HVNET_TX_BUFS) * HVNET_BUF)

struct hvnet {
    struct hvirtio v;
    struct spinlock tx_lock, rx_lock;
    bool failed;
    uint64_t timeout_ticks;
    uint8_t mac[6];
    uint8_t (*rx)[HVNET_BUF]; /* HVNET_RX_BUFS buffers */
    uint8_t (*tx)[HVNET_BUF]; /* HVNET_TX_BUFS buffers, after them */
    int rx_head_buf[HVNET_QUEUE];
    uint16_t tx_head_buf[HVNET_QUEUE]; /* under tx_lock: the buffer a posted head holds */
    uint16_t tx_free[HVNET_TX_BUFS];   /* under tx_lock: free transmit buffers */
    unsigned tx_nfree;
    uint64_t rx_frames, tx_frames, rx_errors, tx_errors;
    uint64_t tx_kicks, tx_waits; /* notifications sent; sends that found every buffer busy */
};

/* rings: 2 x hvirtio_ring_bytes(HVNET_QUEUE), 4 KiB aligned; bufs:
 * HVNET_BUFS_BYTES.  0, or with a reason hvirtio_open's or
 * hvirtio_queue's code, or ERR_NOENT when the device is not virtio-net. */
int hvnet_init(struct hvnet *n, uintptr_t base, void *rings, void *bufs, uint64_t timeout_ticks,
               char *err, size_t errlen);
/* Sends one Ethernet frame (queued: the device sends it soon after); 0,
 * or if dropped ERR_INVAL (too long), ERR_NOSPC (no free descriptor) or
 * ERR_IO (the device failed, or kept every buffer past the timeout: then
 * for good). */
int hvnet_send(struct hvnet *n, const void *frame, size_t len);
/* Passes every received frame to deliver and reposts its buffer; returns
 * how many arrived. */
unsigned hvnet_poll(struct hvnet *n, void (*deliver)(void *ctx, const void *frame, size_t len),
                    void *ctx);

#endif
