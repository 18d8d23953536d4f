/* SPDX-License-Identifier: Apache-2.0 */
/* virtio network device (virtio 1.2, 5.1): device ID 1, one queue pair
 * (receiveq1 = 0, transmitq1 = 1), attached to a virtual switch
 * (devices/vswitch.h) through its own port.
 *
 * Features: VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS (the link is always
 * up), the checksum and TCP segmentation offloads both ways (CSUM,
 * GUEST_CSUM, HOST_TSO4/6, GUEST_TSO4/6), MRG_RXBUF, plus the
 * transport's (VERSION_1, INDIRECT_DESC, EVENT_IDX).  No control queue.
 * The header is the 12-byte struct virtio_net_hdr (num_buffers included,
 * as VERSION_1 requires); devices/net_offload.h reads and writes it.
 *
 * Offloads: a transmitted frame keeps its header across the switch, so
 * between two guests that negotiated them a 64 KiB TCP segment crosses
 * as one frame and no checksum is computed on the way; the switch cuts
 * or checksums it for a port that cannot take it (devices/vswitch.h),
 * and virtio_net_receive refuses (ERR_NOTSUP) an offload its driver did
 * not negotiate.  A transmitted header asking for an offload the driver
 * did not negotiate, or not sane (vnet_hdr_valid), drops the frame.
 *
 * Receive (virtio_net_receive, the port's deliver): with MRG_RXBUF the
 * frame fills as many receive chains as it needs (num_buffers in the
 * first one's header), else one chain must hold header and frame.  The
 * header says what offload the frame still carries (NEEDS_CSUM, gso_*),
 * else it is zero.  A frame is dropped (and counted) if the driver is not
 * running (no DRIVER_OK, NEEDS_RESET, receive queue not ready) or has too
 * few receive buffers posted (the chains it took are given back
 * untouched); if one chain without MRG_RXBUF is too small, the frame is
 * dropped and the buffer given back unused (used length 0, which Linux
 * counts as a length error and recycles).  A receive chain with a
 * device-readable buffer, or one outside guest RAM, sets
 * DEVICE_NEEDS_RESET.  The used-buffer interrupt is raised once per frame
 * at most, and only when the driver asks (EVENT_IDX); the driver is never
 * asked to notify new receive buffers (no_kicks).
 *
 * Transmit: the kick callback takes every available transmit chain, one
 * at a time: pops it under the transport lock, then with the lock
 * released translates its buffers with the checked translation
 * (guest_mem's map: every page the VM's RAM, else nothing is sent and
 * the device needs a reset), reads the virtio-net header and the
 * Ethernet header out of them, checks the header and hands the frame to
 * the switch as pieces of the guest's own buffers
 * (vswitch_send_frame): a receiving guest's device copies the bytes
 * from there into its receive buffers, the one copy of the frame
 * between two guests.  Then, under the lock again, the chain is
 * completed (used length 0): the guest gets its buffers back only once
 * nobody reads them.  The device's 64 KiB frame buffer is the switch's
 * staging buffer for ports that want the frame contiguous (the uplink,
 * the offload fallbacks), and holds the chain itself where map is not
 * offered (counted in tx_staged).  The used-buffer interrupt (if the
 * driver wants one) comes once, after the batch.  While it works the
 * driver is not asked to notify (EVENT_IDX).  Chains shorter than the
 * header or longer than header + VNET_GSO_MAX_FRAME are dropped
 * (counted, never read) but completed; a device-writable buffer in a
 * transmit chain, or a buffer outside guest RAM, sets
 * DEVICE_NEEDS_RESET.  At most VIRTIO_WORK_ROUNDS queues' worth of
 * chains per kick.  tx_lock serialises transmitters (two vCPUs kicking
 * at once).
 *
 * Copies run without the transport lock (the guest's register accesses
 * and frames for it do not wait behind a 64 KiB copy): receive takes its
 * chains under it, copies into them holding only rx_lock, and completes
 * them under it again; transmit reads its chain holding only tx_lock.  A
 * reset meanwhile (epoch) drops the frame instead of completing chains
 * of the old rings, and the driver's reset write returns once no such
 * copy is in flight (reset_done); virtio_net_hold likewise waits for a
 * receive in flight.  The sender's pages stay its own while a receiver
 * copies from them: its tx_lock is held throughout, and
 * virtio_net_detach (before the VM's memory goes) takes it.
 *
 * Lock order: tx_lock, then the switch's lock, then rx_lock, then a
 * transport lock.  virtio_net_receive is called by the switch (without
 * its lock, or with it for a fallback's plain frames) and takes this
 * device's rx_lock, then its transport lock.  Two guests sending to each
 * other at once hold their own tx_lock and take the other's rx_lock: no
 * cycle, as tx_lock is never taken under an rx_lock. */
#ifndef VIREO_DEVICES_VIRTIO_NET_H
#define VIREO_DEVICES_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "devices/net_offload.h"
#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"
#include "devices/vswitch.h"
#include "lib/spinlock.h"

#define VIRTIO_ID_NET 1

#define VIRTIO_NET_F_CSUM       0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_HOST_TSO4  11
#define VIRTIO_NET_F_HOST_TSO6  12
#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_F_MRG_RXBUF  15
#define VIRTIO_NET_F_STATUS     16

#define VIRTIO_NET_S_LINK_UP 1

#define VIRTIO_NET_RXQ        0
#define VIRTIO_NET_TXQ        1
#define VIRTIO_NET_QUEUE_MAX  256
#define VIRTIO_NET_HDR_LEN    VNET_HDR_LEN       /* struct virtio_net_hdr with num_buffers */
#define VIRTIO_NET_MAX_FRAME  VSWITCH_MAX_FRAME  /* 1514 + one VLAN tag, without offloads */
#define VIRTIO_NET_MAX_GSO    VNET_GSO_MAX_FRAME /* a TCP segmentation offload */
#define VIRTIO_NET_MAX_CHAIN  (1u << 17)         /* cap on one chain's total length */
#define VIRTIO_NET_CONFIG_LEN 10                 /* mac, status, max_virtqueue_pairs */
/* Pieces of one transmit chain (host segments of its buffers): each of
 * at most VIRTIO_NET_QUEUE_MAX buffers, of VIRTIO_NET_HDR_LEN +
 * VIRTIO_NET_MAX_GSO bytes in all, spans at most its length / 4096 + 2
 * pages. */
#define VIRTIO_NET_TX_SEGS                                                                         \
    (2 * VIRTIO_NET_QUEUE_MAX + (VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_GSO) / 4096 + 1)

/* Counters, from the guest's side: rx = frames the guest received. */
struct virtio_net_stats {
    uint64_t rx_frames, rx_bytes, rx_drops; /* under the transport lock */
    uint64_t tx_frames, tx_bytes, tx_drops; /* under tx_lock */
    uint64_t rx_offload_refused;            /* frames the switch had to cut or checksum */
    uint64_t tx_staged; /* chains copied into tx_frame (no map, or too many pieces); tx_lock */
};

struct virtio_net {
    struct virtio_mmio t; /* the mmio_dev's priv is &t */
    struct vswitch_port port;
    struct vswitch *sw; /* NULL once detached */
    uint8_t mac[6];
    bool held;      /* receive drops frames (virtio_net_hold); under the transport lock */
    uint32_t epoch; /* resets so far; under the transport lock */
    struct spinlock tx_lock;
    struct spinlock rx_lock; /* one receive at a time: rx_bufs .. rx_cursor */
    struct virtio_net_stats stats;
    /* Receive, under rx_lock: the chains one frame takes. */
    struct vq_buf rx_bufs[VIRTIO_NET_QUEUE_MAX];
    uint16_t rx_heads[VIRTIO_NET_QUEUE_MAX];
    uint16_t rx_counts[VIRTIO_NET_QUEUE_MAX]; /* buffers of each chain in rx_bufs */
    struct rx_cursor {
        unsigned chain, buf, first; /* chain's first buffer in rx_bufs */
        uint64_t off;               /* into the current buffer */
        uint32_t written[VIRTIO_NET_QUEUE_MAX];
    } rx_cursor;
    struct vq_buf tx_bufs[VIRTIO_NET_QUEUE_MAX]; /* under tx_lock + transport lock */
    struct gm_seg tx_segs[VIRTIO_NET_TX_SEGS];   /* the chain's pieces; tx_lock */
    /* Under tx_lock: where the switch stages a frame that a port wants
     * contiguous (the uplink, a fallback), or the chain itself when it
     * cannot be mapped. */
    uint8_t tx_frame[VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_GSO];
};

/* Attaches n's port to sw (if sw is not NULL and has room; otherwise the
 * device runs unconnected and transmitted frames are counted as sent).
 * The port's name can be set by the caller after init. */
void virtio_net_init(struct virtio_net *n, const struct guest_mem *mem, const struct irq_line *irq,
                     const uint8_t mac[6], struct vswitch *sw);

/* While held, frames from the switch are dropped (counted in rx_drops) and
 * guest memory is left alone; a receive in progress finishes before this
 * returns.  For snapshots. */
void virtio_net_hold(struct virtio_net *n, bool on);

/* Detaches from the switch: call before the VM's memory goes.  Waits for
 * a transmit and a delivery in flight; afterwards nothing calls into n
 * from the switch. */
void virtio_net_detach(struct virtio_net *n);

/* Sends a RARP request from the NIC's address to everyone on the switch
 * (and the uplink), as QEMU's self-announce does after a migration:
 * learning switches, here and beyond the uplink, then know which port
 * the address is behind.  Takes tx_lock; no lock held by the caller. */
void virtio_net_announce(struct virtio_net *n);

/* The port's deliver: one Ethernet frame with its offload header h
 * (NULL: plain) into the guest.  Returns 0 if delivered; ERR_NOTSUP if
 * h asks for an offload the driver did not negotiate (nothing touched);
 * if dropped, ERR_INVAL (longer than VIRTIO_NET_MAX_FRAME without a
 * segmentation offload, or than VIRTIO_NET_MAX_GSO), ERR_AGAIN (the
 * driver not running, or too few receive buffers posted), ERR_NOSPC (the
 * chain too small: given back unused) or ERR_BROKEN (a broken ring or
 * receive chain: NEEDS_RESET). */
int virtio_net_receive_hdr(struct virtio_net *n, const struct vnet_hdr *h, const void *frame,
                           size_t len);
/* The same for a plain frame. */
int virtio_net_receive(struct virtio_net *n, const void *frame, size_t len);
/* The same for a frame as pieces (the port's deliver_frame): the bytes
 * are copied once, from the pieces into the guest's receive buffers. */
int virtio_net_receive_frame(struct virtio_net *n, const struct vswitch_frame *f);

/* Snapshots (docs/snapshot-devices.md): the transport, then the MAC, which
 * load only compares with this device's (ERR_MISMATCH).  Nothing is
 * queued in the model: a transmitted frame is handed to the switch within
 * the kick, a received one written into the guest within the switch's
 * delivery.  The switch port (attached by init, from the configuration)
 * and its counters and learned addresses are the switch's, not the VM's:
 * not saved; the switch learns the MAC again from the next frame sent.
 * Statistics are the host's, not saved.  See virtio_mmio_load. */
#define VIRTIO_NET_STATE_VERSION 1
long virtio_net_save(const struct virtio_net *n, void *buf, size_t size);
int virtio_net_load(struct virtio_net *n, const void *buf, size_t size);

#endif
