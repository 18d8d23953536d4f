/* SPDX-License-Identifier: Apache-2.0 */
/* virtio block device (virtio 1.2, 5.2): device ID 2, one request queue
 * (requestq, 0), backed by struct blk_backend.
 *
 * Features: VIRTIO_BLK_F_SIZE_MAX, SEG_MAX, BLK_SIZE (512), FLUSH, and RO
 * when the backend is read-only, plus the transport's (VERSION_1,
 * INDIRECT_DESC, EVENT_IDX).  Config space: capacity, size_max, seg_max,
 * blk_size; everything else 0 (writeback 0, num_queues 1).
 *
 * Requests are taken from the ring in the notify callback (transport lock
 * held), as many as are available (bounded), and handed to the backend
 * without a copy: the data buffers go through the guest memory's checked
 * translation (guest_mem.map: every page the VM's RAM, else
 * DEVICE_NEEDS_RESET) and the backend gets host segments.  The backend
 * completes a request at once (a bundle image: one memcpy between image
 * and guest pages) or later (a host disk: its DMA into the guest's pages,
 * completion from its interrupt) through virtio_blk_complete, which
 * writes the status byte, returns the chain and raises the interrupt.
 * Up to VIRTIO_BLK_INFLIGHT requests are in flight; a FLUSH is sent to the
 * backend only once every request taken before it has completed, and no
 * request after it is taken until then.
 *
 * A request is a chain whose device-readable part starts with the 16-byte
 * header (type, reserved, sector; any split across descriptors) and whose
 * device-writable part ends with the status byte.  IN reads the sectors
 * into the writable bytes before the status byte, OUT writes the readable
 * bytes after the header, FLUSH calls the backend's flush, GET_ID returns
 * the serial (20 bytes, NUL padded).  Other types complete with
 * VIRTIO_BLK_S_UNSUPP.  VIRTIO_BLK_S_IOERR: a header shorter than 16
 * bytes, data not a multiple of 512 bytes, a sector range outside the
 * capacity, data in the wrong direction (device-readable data for IN,
 * device-writable data for OUT), a write to a read-only disk, or a
 * backend error.  No status byte at all, a chain over
 * VIRTIO_BLK_MAX_CHAIN bytes or VIRTIO_BLK_QUEUE_MAX descriptors, or a
 * buffer outside guest RAM sets DEVICE_NEEDS_RESET. */
#ifndef VIREO_DEVICES_VIRTIO_BLK_H
#define VIREO_DEVICES_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"

#define VIRTIO_ID_BLOCK 2

#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9

#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES   20
#define VIRTIO_BLK_SECTOR     512
#define VIRTIO_BLK_HDR_LEN    16
#define VIRTIO_BLK_QUEUE_MAX  128
#define VIRTIO_BLK_SEG_MAX    (VIRTIO_BLK_QUEUE_MAX - 2) /* data segments: header, status */
#define VIRTIO_BLK_SIZE_MAX   (64u * 1024)               /* per segment */
#define VIRTIO_BLK_MAX_CHAIN  (VIRTIO_BLK_SEG_MAX * VIRTIO_BLK_SIZE_MAX + 4096)
#define VIRTIO_BLK_CONFIG_LEN 36 /* through num_queues */

/* Requests taken from the ring and not yet completed. */
#define VIRTIO_BLK_INFLIGHT 32
/* Host segments one request's data can take: every page, plus a partial
 * page at both ends of each buffer. */
#define VIRTIO_BLK_SEGS (VIRTIO_BLK_MAX_CHAIN / 4096 + 2 * VIRTIO_BLK_QUEUE_MAX)
/* Backend submissions one request may take (its data cut into pieces of
 * at most max_segs segments, each a whole number of sectors): enough for
 * any chain the device accepts cut for a backend of 254 segments (QEMU's
 * seg_max); a request that would need more completes with IOERR. */
#define VIRTIO_BLK_PIECES 16

/* What backend submit returns for a request that completes later. */
#define BLK_PENDING 1

struct virtio_blk;

/* A request in flight (the model's; the backend passes it back). */
struct virtio_blk_req {
    struct virtio_blk *dev;
    bool busy;
    bool waiting;   /* a FLUSH not yet submitted: earlier requests still in flight */
    uint8_t status; /* VIRTIO_BLK_S_*, so far */
    uint16_t head;
    uint32_t type;
    uint32_t gen;     /* the device's reset count when taken */
    unsigned pending; /* backend submissions not yet completed */
    uint64_t sector, len;
    uint64_t status_gpa;
    unsigned nw; /* IN: the data buffers the device writes */
    struct vq_buf w[VIRTIO_BLK_QUEUE_MAX];
};

/* One submission: the data as host segments of the guest's memory (the
 * checked translation's), their total a whole number of sectors inside
 * the capacity; FLUSH has none. */
struct blk_io {
    uint32_t type; /* VIRTIO_BLK_T_IN, _OUT or _FLUSH */
    uint64_t sector;
    const struct gm_seg *segs;
    unsigned nsegs;
    uint64_t len;
    struct virtio_blk_req *req; /* for virtio_blk_complete */
};

/* The backend's calls run with the transport lock held (they must not
 * touch this device), except poll. */
struct blk_backend {
    uint64_t sectors; /* capacity in 512-byte sectors */
    bool read_only;
    unsigned max_segs; /* segments per submit, 0: any number */
    /* Optional: reserve n submissions before a request is taken from the
     * ring: 0, ERR_AGAIN (no room now: the backend calls
     * virtio_blk_resume when it has some) or another code (the backend
     * is failed: requests are taken and fail).  unreserve gives back what
     * a request did not use. */
    int (*reserve)(void *ctx, unsigned n);
    void (*unreserve)(void *ctx, unsigned n);
    /* 0 (done, OK), BLK_PENDING (virtio_blk_complete(io->req, ...)
     * follows exactly once, from any hart, none of this device's locks
     * held), or a negative ERR_* code (done: IOERR). */
    int (*submit)(void *ctx, const struct blk_io *io);
    void (*kick)(void *ctx); /* optional: after the submits of one pass */
    /* Optional, transport lock released: after a notification, for a
     * backend without an interrupt that completes by polling. */
    void (*poll)(void *ctx);
    void *ctx;
};

/* Counters for the shell (under the transport lock; single 64-bit reads
 * are fine without it). */
struct virtio_blk_stats {
    uint64_t reads, read_bytes;   /* IN requests completed OK, sectors * 512 */
    uint64_t writes, write_bytes; /* OUT requests completed OK */
    uint64_t flushes;             /* FLUSH requests completed OK */
    uint64_t get_ids;             /* GET_ID requests */
    uint64_t errors;              /* requests completed with IOERR */
    uint64_t unsupported;         /* requests completed with UNSUPP */
};

struct virtio_blk {
    struct virtio_mmio t; /* the mmio_dev's priv is &t */
    struct blk_backend be;
    char serial[VIRTIO_BLK_ID_BYTES]; /* NUL padded, not necessarily terminated */
    struct virtio_blk_stats stats;
    uint32_t gen;      /* resets: a request taken before one is completed to no one */
    unsigned inflight; /* busy reqs */
    bool held;         /* virtio_blk_hold: take no request */
    bool stalled;      /* stopped taking requests for want of room: resume on a completion */
    bool flush_wait;   /* a FLUSH waits for the requests before it */
    bool submitted;    /* a submit since the last kick */
    struct virtio_blk_req reqs[VIRTIO_BLK_INFLIGHT];
    struct vq_buf bufs[VIRTIO_BLK_QUEUE_MAX]; /* scratch, under the lock */
    struct gm_seg segs[VIRTIO_BLK_SEGS];      /* scratch, under the lock */
    struct virtio_dev_ops ops;                /* features depend on the backend */
};

/* be is copied; serial (may be NULL) is truncated to 20 bytes.  mem must
 * offer map (and written, for dirty logging). */
void virtio_blk_init(struct virtio_blk *b, const struct guest_mem *mem, const struct irq_line *irq,
                     const struct blk_backend *be, const char *serial /* GET_ID, <= 20 bytes */);

/* A backend submission finished: result 0 or a negative ERR_* code (the
 * request then completes with IOERR).  From any hart, with none of this
 * device's locks held.  The last one of a request writes its status,
 * returns its chain and raises the interrupt (unless the driver reset
 * the device since). */
void virtio_blk_complete(struct virtio_blk_req *req, int result);
/* The backend has room again: take the requests that waited for it. */
void virtio_blk_resume(struct virtio_blk *b);
/* Hold (on): take no new request from the ring, so that once the requests
 * in flight are done (virtio_blk_in_flight() == 0; FLUSHes waiting for
 * them are still submitted) nothing changes the VM's memory or this
 * device.  Release (off): take what the driver posted meanwhile. */
void virtio_blk_hold(struct virtio_blk *b, bool on);
unsigned virtio_blk_in_flight(struct virtio_blk *b);

/* Snapshots (docs/snapshot-devices.md): the transport, then the capacity
 * and read-only flag, which load only compares with this device's
 * backend (ERR_MISMATCH: a snapshot of another disk).  Save and load need
 * the device held with nothing in flight (ERR_STATE otherwise): chains
 * the driver posted and the device has not taken are in guest RAM, after
 * last_avail, and are processed once, at the next notification after
 * load.  Statistics are the host's, not saved.  See virtio_mmio_load for
 * the rest. */
#define VIRTIO_BLK_STATE_VERSION 1
long virtio_blk_save(const struct virtio_blk *b, void *buf, size_t size);
int virtio_blk_load(struct virtio_blk *b, const void *buf, size_t size);

#endif
