/* SPDX-License-Identifier: Apache-2.0 */
/* virtio socket device (virtio 1.2, 5.10 "Socket Device"): device ID 19,
 * queues rx (0), tx (1) and event (2), config space guest_cid (le64).
 * The host end of every connection is CID 2 (VIRTIO_VSOCK_HOST_CID): the
 * host code behind struct virtio_vsock_host (Vireo's core/vsock.c).
 *
 * Stream sockets only: the device offers VIRTIO_VSOCK_F_STREAM and not
 * SEQPACKET; a packet of another type is answered with RST (the spec's
 * rule for unknown types) and changes no connection.
 *
 * Packets from the guest (tx queue), each a 44-byte header (which may be
 * split across descriptors) and len payload bytes:
 *   - a chain with a device-writable buffer, or any buffer outside guest
 *     RAM: DEVICE_NEEDS_RESET;
 *   - shorter than the header, len above the bytes that follow it or
 *     above VIRTIO_VSOCK_MAX_PKT: dropped (counted); if it names a
 *     connection, that connection is reset (its stream lost bytes);
 *   - src_cid not the guest's own CID: dropped (a forged source gets no
 *     answer); dst_cid not 2: RST;
 *   - REQUEST for no connection: a free slot is taken and the host asked
 *     (accept): RESPONSE, or RST when it refuses or the table is full
 *     (VIRTIO_VSOCK_CONNS; a slot whose host side already closed and
 *     waits for the guest's RST is reclaimed first);
 *   - RW: the payload goes into the connection's receive buffer
 *     (VIRTIO_VSOCK_RX_BUF bytes, advertised as buf_alloc); a guest sending
 *     beyond the credit it was given has its connection reset;
 *   - CREDIT_UPDATE: the guest's buf_alloc/fwd_cnt (every packet's header
 *     updates them); CREDIT_REQUEST: answered with CREDIT_UPDATE;
 *   - SHUTDOWN: the hints accumulate; RECEIVE (the guest reads no more)
 *     ends the connection with an RST from the device, as Linux's host
 *     side answers a full shutdown; SEND alone is end of stream (the host
 *     reads what is left, then sees eof);
 *   - RST: the connection ends; never answered;
 *   - anything else for a connection (REQUEST again, RESPONSE, an unknown
 *     op, RW before the connection is up): the connection is reset;
 *     for no connection: RST.
 *
 * Packets to the guest (rx queue) go out as the guest's receive chains
 * allow: control replies first, then data, never more than the guest's
 * credit (peer_buf_alloc - (tx_cnt - peer_fwd_cnt)).  RSTs for packets
 * that have no connection wait in a VIRTIO_VSOCK_RST_QUEUE-deep queue;
 * while it could fill up (counting an RST for each accept still pending)
 * the device stops taking packets from the tx queue (the spec's
 * "additional resources ... exhausted") until the guest posts receive
 * buffers or the accepts are answered.  A receive chain too short for a header is given back
 * unused (used length 0); a device-readable buffer in one: NEEDS_RESET.
 *
 * The host side (struct virtio_vsock_host): accept, readable, writable
 * and closed are called with no lock of this device held, from the
 * transport's kick (a vCPU's exit, any hart), from the transport's
 * reset_done, and from virtio_vsock_hold (release), _load and _detach;
 * never from virtio_vsock_conn_send/recv/close.  Callbacks for one
 * connection never run at the same time (the connection is "busy" while
 * one runs; others find it busy and leave the event to that caller), and
 * closed() is the last: it is delivered after a final readable() when
 * bytes are still buffered, and once it returns the slot may serve
 * another connection.
 *
 * Locking: the transport lock (t.lock) covers the whole device, the
 * connection table and buffers included; callbacks run with it released. */
#ifndef VIREO_DEVICES_VIRTIO_VSOCK_H
#define VIREO_DEVICES_VIRTIO_VSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"

#define VIRTIO_ID_VSOCK 19

#define VIRTIO_VSOCK_F_STREAM    0
#define VIRTIO_VSOCK_F_SEQPACKET 1

#define VIRTIO_VSOCK_RXQ       0
#define VIRTIO_VSOCK_TXQ       1
#define VIRTIO_VSOCK_EVQ       2
#define VIRTIO_VSOCK_NQ        3
#define VIRTIO_VSOCK_QUEUE_MAX 128

#define VIRTIO_VSOCK_HOST_CID   2
#define VIRTIO_VSOCK_HDR_LEN    44
#define VIRTIO_VSOCK_MAX_PKT    (64u * 1024) /* payload cap, Linux's too */
#define VIRTIO_VSOCK_MAX_CHAIN  (VIRTIO_VSOCK_HDR_LEN + VIRTIO_VSOCK_MAX_PKT + 4096)
#define VIRTIO_VSOCK_CONFIG_LEN 8 /* guest_cid */

#define VIRTIO_VSOCK_TYPE_STREAM    1
#define VIRTIO_VSOCK_TYPE_SEQPACKET 2

#define VIRTIO_VSOCK_OP_INVALID        0
#define VIRTIO_VSOCK_OP_REQUEST        1
#define VIRTIO_VSOCK_OP_RESPONSE       2
#define VIRTIO_VSOCK_OP_RST            3
#define VIRTIO_VSOCK_OP_SHUTDOWN       4
#define VIRTIO_VSOCK_OP_RW             5
#define VIRTIO_VSOCK_OP_CREDIT_UPDATE  6
#define VIRTIO_VSOCK_OP_CREDIT_REQUEST 7

#define VIRTIO_VSOCK_SHUTDOWN_RCV  1
#define VIRTIO_VSOCK_SHUTDOWN_SEND 2

#define VIRTIO_VSOCK_EVENT_TRANSPORT_RESET 0

#define VIRTIO_VSOCK_CONNS 8 /* connections per device */
/* A connection's buffers.  What a guest may send before Vireo reads it is
 * the receive buffer (buf_alloc): one credit update per window, each a
 * round trip through the guest's exit, the control plane's work and an
 * interrupt, which on a loaded host takes tens of ms; a bulk stream (live
 * migration into this host) moved 32 KiB per round trip.  The transmit
 * buffer only stages what goes out as the guest's credit allows (the
 * guest's window is its own buf_alloc). */
#define VIRTIO_VSOCK_RX_BUF    (256u << 10) /* guest to host, a power of 2 */
#define VIRTIO_VSOCK_TX_BUF    32768        /* host to guest, a power of 2 */
#define VIRTIO_VSOCK_RST_QUEUE 16           /* RSTs waiting for receive buffers */

/* One header, in host order. */
struct virtio_vsock_hdr {
    uint64_t src_cid, dst_cid;
    uint32_t src_port, dst_port;
    uint32_t len;
    uint16_t type, op;
    uint32_t flags, buf_alloc, fwd_cnt;
};

struct vsock_conn;
struct virtio_vsock;

/* The host end (see the top of this file for when they are called).
 * accept: 0 takes the connection (RESPONSE), a negative ERR_* code
 * refuses it (RST); may set c->svc and use virtio_vsock_conn_*.  The
 * others are only called for accepted connections. */
struct virtio_vsock_host {
    int (*accept)(struct vsock_conn *c);
    void (*readable)(struct vsock_conn *c);
    void (*writable)(struct vsock_conn *c);
    void (*closed)(struct vsock_conn *c);
};

/* One connection slot.  Everything but svc and priv is the device's,
 * under the transport lock. */
struct vsock_conn {
    struct virtio_vsock *dev;
    uint8_t state;         /* enum in virtio_vsock.c */
    uint8_t events;        /* for the host, not yet delivered */
    uint8_t ctl;           /* control packets to send */
    uint8_t peer_shutdown; /* the guest's SHUTDOWN hints */
    bool busy;             /* a callback for it is running */
    bool owned;            /* accepted: the host gets closed() */
    bool close_wanted;     /* the host closed: SHUTDOWN once tx drains */
    bool want_writable;    /* a send was cut short: writable() when room comes */
    uint32_t local_port, peer_port;
    uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt; /* the guest's credit */
    uint32_t rx_cnt, fwd_cnt, fwd_cnt_sent;        /* ours */
    uint32_t rx_head, rx_len, tx_head, tx_len;     /* ring buffers */
    void *svc;                                     /* the host's: its service (set in accept) */
    void *priv;                                    /* the host's service's */
    uint8_t rx[VIRTIO_VSOCK_RX_BUF];               /* guest to host */
    uint8_t tx[VIRTIO_VSOCK_TX_BUF];               /* host to guest */
};

struct virtio_vsock_stats {
    uint64_t tx_packets, tx_bytes; /* from the guest (tx queue), payload bytes */
    uint64_t rx_packets, rx_bytes; /* to the guest */
    uint64_t dropped;              /* malformed or forged packets */
    uint64_t resets;               /* RSTs sent */
};

struct virtio_vsock {
    struct virtio_mmio t; /* the mmio_dev's priv is &t */
    uint64_t cid;
    const struct virtio_vsock_host *host;
    void *owner;        /* the host's (its VM) */
    bool held;          /* virtio_vsock_hold: nothing pushed on the host's initiative */
    bool event_pending; /* TRANSPORT_RESET to deliver */
    bool tx_waiting;    /* the tx queue was left for want of RST room */
    unsigned next_conn; /* where the next flush starts (fairness) */
    struct virtio_vsock_hdr rst[VIRTIO_VSOCK_RST_QUEUE];
    unsigned rst_head, rst_count;
    struct virtio_vsock_stats stats;
    struct vq_buf tx_bufs[VIRTIO_VSOCK_QUEUE_MAX]; /* scratch, under the lock */
    struct vq_buf rx_bufs[VIRTIO_VSOCK_QUEUE_MAX];
    struct vsock_conn conns[VIRTIO_VSOCK_CONNS];
};

/* cid: the guest's, 3..0xfffffffe.  host and owner are kept. */
void virtio_vsock_init(struct virtio_vsock *v, const struct guest_mem *mem,
                       const struct irq_line *irq, uint64_t cid,
                       const struct virtio_vsock_host *host, void *owner);

/* Host side, from any hart, with no lock of this device held (callbacks
 * included).  recv copies out up to n buffered bytes and returns how
 * many (0: none now); the freed room is advertised to the guest with a
 * CREDIT_UPDATE once a quarter of the buffer is free again, or all of
 * it.  send queues up to n bytes (0: no room now; writable() follows once
 * there is) and pushes what credit and receive buffers allow.  close:
 * queued bytes still go out, then SHUTDOWN; closed() follows when the
 * guest answers with RST (or on reset); no readable()/writable() after
 * close.  eof: the guest will send nothing more and every byte it sent
 * has been received.  On a connection that is over (closed() pending)
 * send returns 0, recv still returns the bytes that arrived before, and
 * close does nothing. */
size_t virtio_vsock_conn_recv(struct vsock_conn *c, void *buf, size_t n);
size_t virtio_vsock_conn_send(struct vsock_conn *c, const void *buf, size_t n);
void virtio_vsock_conn_close(struct vsock_conn *c);
bool virtio_vsock_conn_eof(struct vsock_conn *c);

/* While held, nothing is written into guest memory on the host's
 * initiative (sends are queued, credit updates wait); releasing pushes
 * what waits (the TRANSPORT_RESET event after a load included) and
 * delivers pending callbacks.  For snapshots. */
void virtio_vsock_hold(struct virtio_vsock *v, bool on);

/* Ends every connection (closed() for each accepted one, after any
 * callback in flight returned) before the device goes away. */
void virtio_vsock_detach(struct virtio_vsock *v);

/* Snapshots (docs/snapshot-devices.md): the transport, the CID (load
 * compares it with this device's: ERR_MISMATCH) and whether a
 * TRANSPORT_RESET event waits.  Connections are not saved: a load ends
 * every connection (closed() for each) and queues TRANSPORT_RESET, which
 * goes out once the device is released (virtio_vsock_hold) and the guest
 * has an event buffer posted.  See virtio_mmio_load for the rest. */
#define VIRTIO_VSOCK_STATE_VERSION 1
long virtio_vsock_save(const struct virtio_vsock *v, void *buf, size_t size);
int virtio_vsock_load(struct virtio_vsock *v, const void *buf, size_t size);

#endif
