/* SPDX-License-Identifier: Apache-2.0 */
/* virtio block device (virtio 1.2, 5.2): device ID 2, one request queue
 * (requestq, 0), backed by struct blk_backend.
 *
 * Features: VIRTIO_BLK_F_SIZE_MAX, SEG_MAX, BLK_SIZE (512), FLUSH, and RO
 * when the backend is read-only, plus the transport's (VERSION_1,
 * INDIRECT_DESC, EVENT_IDX).  Config space: capacity, size_max, seg_max,
 * blk_size; everything else 0 (writeback 0, num_queues 1).
 *
 * Requests are processed synchronously in the notify callback (transport
 * lock held), at most a queue's worth per notification.  A request is a
 * chain whose device-readable part starts with the 16-byte header (type,
 * reserved, sector; any split across descriptors) and whose
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
 * buffer outside guest RAM sets DEVICE_NEEDS_RESET.  Data moves through a
 * VIRTIO_BLK_BOUNCE-byte bounce buffer, so the backend sees at most that
 * much per call.
 *
 * The backend's calls run on the notifying vCPU's hart with the transport
 * lock held: they must not touch this device. */
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
#define VIRTIO_BLK_BOUNCE     4096
#define VIRTIO_BLK_CONFIG_LEN 36 /* through num_queues */

struct blk_backend {
    uint64_t sectors; /* capacity in 512-byte sectors */
    bool read_only;
    /* n is a multiple of 512 and the range is inside capacity; return 0 or
     * a negative ERR_* code (ERR_IO: an I/O error). */
    int (*read)(void *ctx, uint64_t sector, void *buf, size_t n);
    int (*write)(void *ctx, uint64_t sector, const void *buf, size_t n);
    int (*flush)(void *ctx); /* NULL: nothing to flush */
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
    struct vq_buf bufs[VIRTIO_BLK_QUEUE_MAX]; /* scratch, under the lock */
    uint8_t bounce[VIRTIO_BLK_BOUNCE];        /* scratch, under the lock */
    struct virtio_dev_ops ops;                /* features depend on the backend */
};

/* be is copied; serial (may be NULL) is truncated to 20 bytes. */
void virtio_blk_init(struct virtio_blk *b, const struct guest_mem *mem, const struct irq_line *irq,
                     const struct blk_backend *be, const char *serial /* GET_ID, <= 20 bytes */);

/* Snapshots (docs/snapshot-devices.md): the transport, then the capacity
 * and read-only flag, which load only compares with this device's
 * backend (ERR_MISMATCH: a snapshot of another disk).  No request is ever
 * in flight between MMIO accesses (they complete in the notification), so
 * a snapshot of a paused VM has none to save: chains the driver posted
 * and the device has not taken are in guest RAM, after last_avail, and
 * are processed once, at the next notification after load.  Statistics
 * are the host's, not saved.  See virtio_mmio_load for the rest. */
#define VIRTIO_BLK_STATE_VERSION 1
long virtio_blk_save(const struct virtio_blk *b, void *buf, size_t size);
int virtio_blk_load(struct virtio_blk *b, const void *buf, size_t size);

#endif
