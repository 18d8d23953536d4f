/* SPDX-License-Identifier: Apache-2.0 */
/* A virtual learning L2 (Ethernet) switch connecting VMs' virtio-net
 * devices (and, later, an uplink).
 *
 * Ports are owned by their devices and attached with vswitch_attach (at
 * most VSWITCH_MAX_PORTS).  A frame sent from a port is checked (14 to
 * VSWITCH_MAX_FRAME bytes, i.e. 1514 plus one VLAN tag; source MAC not
 * multicast), its source MAC learned for that port, and then: unicast to a
 * learned MAC goes to that port only (and nowhere if that is the sender's
 * own port); broadcast, multicast (I/G bit) and unknown unicast are
 * flooded to every other port.  The learning table has
 * VSWITCH_TABLE_SIZE entries; when it is full the least recently seen MAC
 * is replaced.  A MAC seen on another port moves there.
 *
 * Offloads (devices/net_offload.h): a frame may come with a virtio-net
 * header asking for a checksum (NEEDS_CSUM) or carrying a TCP
 * segmentation (up to VNET_GSO_MAX_FRAME bytes).  The header is checked
 * (vnet_hdr_valid) before anything else; a bad one drops the frame.
 * Each receiving port is offered the frame with its header first; a port
 * that cannot take it (deliver returns ERR_NOTSUP) gets what the header
 * stands for instead: the checksum done, or the segments, built in the
 * switch's own buffer (the sender's frame is never written).  So a
 * 64 KiB segment crosses between two guests that both negotiated the
 * offloads as one frame, and is cut only for a port that needs it.
 *
 * Copies (vswitch_send_frame): a frame comes as pieces in host memory
 * (struct vswitch_frame): its first 14 bytes, a copy the switch decides
 * on, then the rest as host segments, e.g. a sender's transmit buffers
 * through the checked translation (guest_mem.map).  A port with
 * deliver_frame copies the pieces once, straight into its owner's
 * buffers: between two guests a frame's bytes are copied once.  A port
 * with only deliver (the uplink) wants the frame contiguous, and so does
 * a fallback: the switch then gathers it first into the sender's staging
 * buffer, once per frame however many ports need it (counted in
 * `staged`), and delivers or cuts from there.  A frame that comes
 * contiguous (vswitch_send_hdr: the uplink's received frames, a RARP
 * announce) is never staged.
 *
 * Locking: one spinlock around the ports, the learning table and the
 * fallbacks' buffer.  A frame's destinations are chosen under it and
 * pinned (each port's busy count), and delivered after it is released:
 * a 64 KiB copy into one guest's buffers does not hold up every other
 * frame (under QEMU's icount, where the harts run in turn, a hart that
 * spins on a lock whose holder is not running spins for its whole
 * turn).  vswitch_detach waits for the deliveries in flight to its port,
 * so a port's deliver is never called after detach returns.  deliver
 * must not call back into the switch; it is called without the switch
 * lock, except for the plain frames of a fallback (ERR_NOTSUP), which
 * are built and delivered under it (lock order: switch, then device).
 * Two senders may call one port's deliver at once.  The sender keeps
 * the memory its pieces point at (and the staging buffer) to itself
 * until vswitch_send_frame returns. */
#ifndef VIREO_DEVICES_VSWITCH_H
#define VIREO_DEVICES_VSWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "devices/net_offload.h"
#include "lib/spinlock.h"

#define VSWITCH_MAX_PORTS  32
#define VSWITCH_TABLE_SIZE 256
#define VSWITCH_MIN_FRAME  14         /* destination, source, EtherType */
#define VSWITCH_MAX_FRAME  (1514 + 4) /* one 802.1Q tag */

/* Counted by the switch, from the switch's side of the port:
 * rx = frames the port sent into the switch, tx = frames the switch
 * handed to the port's deliver. */
struct vswitch_port_stats {
    uint64_t rx_frames, rx_bytes;
    uint64_t rx_drops; /* refused: bad length or multicast source */
    uint64_t tx_frames, tx_bytes;
    uint64_t tx_drops; /* deliver returned an ERR_* code */
};

/* One frame as pieces in host memory: head holds its first
 * min(len, VSWITCH_MIN_FRAME) bytes (the Ethernet header: the switch
 * routes on this copy, and receivers get these bytes, so what the guest
 * does to its buffer meanwhile cannot change where the frame goes or its
 * source address), segs the remaining bytes in order.  flat, if not
 * NULL, is the whole frame contiguous in memory no guest can write (then
 * the switch never stages it). */
struct vswitch_frame {
    const struct vnet_hdr *h; /* its offload header; NULL: a plain frame */
    size_t len;
    uint8_t head[VSWITCH_MIN_FRAME];
    const struct gm_seg *segs; /* bytes [VSWITCH_MIN_FRAME, len) */
    unsigned nseg;
    const uint8_t *flat;
};

/* A plain-memory frame as a struct vswitch_frame: f describes frame[0, len)
 * with seg (one segment) for its tail. */
void vswitch_frame_flat(struct vswitch_frame *f, const struct vnet_hdr *h, const void *frame,
                        size_t len, struct gm_seg *seg);

struct vswitch_port {
    const char *name; /* for stats, e.g. "vm0.net0" or "uplink" */
    /* Deliver one Ethernet frame to the port's owner, with its offload
     * header h (NULL: a plain frame, nothing left to do).  Return 0 if
     * taken, ERR_NOTSUP if h asks for an offload the port does not take
     * (the switch then delivers the plain equivalent), another negative
     * ERR_* code if dropped.  Must not call back into the switch; may run
     * on several harts at once (see Locking). */
    int (*deliver)(void *ctx, const struct vnet_hdr *h, const void *frame, size_t len);
    /* Or, instead: the frame as pieces, copied once into the owner's
     * buffers (the same returns).  A port has one of the two. */
    int (*deliver_frame)(void *ctx, const struct vswitch_frame *f);
    void *ctx;
    struct vswitch_port_stats stats; /* rx under the switch lock, tx atomic */
    /* The switch's own: */
    struct vswitch *sw; /* NULL while detached */
    unsigned index;
    uint32_t busy; /* deliveries in flight to this port (atomic) */
};

struct vswitch_fdb {
    uint8_t mac[6];
    uint8_t port; /* index into ports */
    bool valid;
    uint64_t seen; /* the switch's clock when last learned */
};

struct vswitch {
    struct spinlock lock;
    struct vswitch_port *ports[VSWITCH_MAX_PORTS];
    struct vswitch_fdb fdb[VSWITCH_TABLE_SIZE];
    uint64_t clock;     /* frames seen, for least-recently-seen replacement */
    uint64_t orphans;   /* frames sent from a port not attached here */
    uint64_t filtered;  /* unicast to a MAC learned on the sender's port */
    uint64_t segmented; /* offload frames cut or checksummed for a port without offloads */
    uint64_t staged;    /* frames gathered into a staging buffer (atomic) */
    uint8_t seg[VSWITCH_MAX_FRAME]; /* the fallbacks' buffer, under the lock */
};

void vswitch_init(struct vswitch *sw);

/* Returns 0, ERR_NOSPC if the switch is full, or ERR_EXIST if p is
 * already attached somewhere.  The port's stats start from zero. */
int vswitch_attach(struct vswitch *sw, struct vswitch_port *p);

/* Detaches p and forgets the MACs learned on it.  When it returns, p's
 * deliver is not running and will not be called again.  A port not
 * attached to sw is left alone. */
void vswitch_detach(struct vswitch *sw, struct vswitch_port *p);

/* Switches one frame from port from (which must be attached to sw, else
 * the frame is dropped and counted in sw->orphans).  frame stays the
 * caller's.  vswitch_send_hdr also takes the frame's offload header (NULL
 * or one asking for nothing: a plain frame). */
void vswitch_send(struct vswitch *sw, struct vswitch_port *from, const void *frame, size_t len);
void vswitch_send_hdr(struct vswitch *sw, struct vswitch_port *from, const struct vnet_hdr *h,
                      const void *frame, size_t len);

/* The same for a frame as pieces (the sender's buffers): stage, room
 * bytes, is where the switch gathers it if a port needs it contiguous,
 * at an offset of up to 7 bytes that keeps the bulk's alignment (NULL,
 * or room < f->len + 7: such a port may not get it, counted as its
 * tx_drops).  The pieces must add up to f->len. */
void vswitch_send_frame(struct vswitch *sw, struct vswitch_port *from,
                        const struct vswitch_frame *f, uint8_t *stage, size_t room);

/* A consistent copy of p's counters (taken under the lock). */
void vswitch_stats_read(struct vswitch *sw, const struct vswitch_port *p,
                        struct vswitch_port_stats *out);

#endif
