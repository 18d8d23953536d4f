/* SPDX-License-Identifier: Apache-2.0 */
/* Vireo's driver for the host's virtio-blk disks (QEMU -device
 * virtio-blk-device), which back the guests' persistent disks.
 *
 * Requests are asynchronous: up to HVBLK_SLOTS in flight per disk, each
 * one ring descriptor pointing at its own indirect table, so a request
 * carries up to HVBLK_SEGS data segments (the guest's own pages, handed
 * over by the device model after a checked translation: no copy).  A
 * caller reserves slots first (so a request it has taken from a guest
 * always finds room), submits any number, kicks once, and hears about
 * completions through the done callback, called by hvblk_poll (the
 * disk's interrupt, or whoever waits) with no lock of the driver held.
 * A request the device does not answer within the timeout fails the disk
 * for good: the device is reset (after which it touches no buffer it was
 * given, virtio 1.2 2.4) and everything in flight completes with ERR_IO.
 *
 * Also synchronous reads, writes and flushes of Vireo's own buffers
 * (snapshots on a host disk, a disk's contents in a snapshot), built on
 * the same slots.  Safe to call from any hart (one lock per disk). */
#ifndef VIREO_DRIVERS_HVIRTIO_BLK_H
#define VIREO_DRIVERS_HVIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "drivers/hvirtio.h"
#include "lib/spinlock.h"

#define HVBLK_SLOTS        64   /* requests in flight */
#define HVBLK_RING         256  /* ring entries (fewer if the device has fewer) */
#define HVBLK_SEGS         1022 /* data segments a request: QEMU takes 1024 descriptors a chain */
#define HVBLK_TABLE_BYTES  ((HVBLK_SEGS + 2) * 16)
#define HVBLK_TABLES_BYTES ((size_t)HVBLK_SLOTS * HVBLK_TABLE_BYTES)

#define HVBLK_T_IN    0
#define HVBLK_T_OUT   1
#define HVBLK_T_FLUSH 4

#define HVBLK_DONE 1 /* hvblk_submit: nothing to do, done already */

struct hvblk_slot {
    void *tag;       /* for done */
    int *result;     /* a synchronous request's result (written last), else NULL */
    uint64_t start;  /* arch_time at submission */
    uint8_t hdr[16]; /* what the device reads */
    uint8_t status;  /* what it writes */
    bool busy;
};

struct hvblk {
    struct hvirtio v;
    struct spinlock lock;
    uint64_t sectors; /* capacity, 512-byte sectors */
    bool read_only, can_flush;
    /* Data segments a request: HVBLK_SEGS, the device's seg_max, or its
     * queue size less two (a chain, indirect or not, is no longer than
     * the queue, virtio 1.2 2.7.5.3.1), whichever is least. */
    unsigned max_segs;
    bool failed; /* a request timed out, or the device broke the protocol: not used again */
    uint64_t timeout_ticks;
    unsigned slots;                      /* HVBLK_SLOTS, or the ring's size if smaller */
    unsigned reserved, busy;             /* slots reserved, slots with a request */
    uint8_t *tables;                     /* HVBLK_TABLES_BYTES: slot i's indirect table */
    void (*done)(void *tag, int result); /* 0 or ERR_IO */
    uint64_t completed, errors;          /* requests, for the log */
    struct hvblk_slot slot[HVBLK_SLOTS];
    uint8_t slot_of_head[HVBLK_RING];
};

/* ring: hvirtio_ring_bytes(HVBLK_RING), tables: HVBLK_TABLES_BYTES, both
 * 4 KiB aligned.  0, or with a reason hvirtio_open's or hvirtio_queue's
 * code, ERR_NOENT when the device is not virtio-blk, ERR_NOTSUP when it
 * has no indirect descriptors. */
int hvblk_init(struct hvblk *b, uintptr_t base, void *ring, void *tables, uint64_t timeout_ticks,
               char *err, size_t errlen);

/* Who hears about asynchronous completions (set once, before the first
 * hvblk_submit). */
void hvblk_set_done(struct hvblk *b, void (*done)(void *tag, int result));

/* Reserves n slots: 0, ERR_AGAIN (not that many free now: a completion
 * will free some) or ERR_IO (the disk failed). */
int hvblk_reserve(struct hvblk *b, unsigned n);
void hvblk_unreserve(struct hvblk *b, unsigned n);

/* One request in a reserved slot (which it uses up, whatever the result):
 * type HVBLK_T_IN (the device writes the segments), _OUT (reads them) or
 * _FLUSH (no segments); at most max_segs segments; sector and the segments' total length (a
 * multiple of 512) inside the disk.  0 (done(tag, result) follows, from hvblk_poll), HVBLK_DONE (a
 * FLUSH on a disk without a write cache: nothing to do, no done follows), or ERR_INVAL, ERR_RANGE,
 * ERR_NOTSUP (a write to a read-only disk) or ERR_IO (the disk failed) and nothing follows. Nothing
 * moves before hvblk_kick. */
int hvblk_submit(struct hvblk *b, uint32_t type, uint64_t sector, const struct gm_seg *segs,
                 unsigned nsegs, void *tag);
void hvblk_kick(struct hvblk *b);

/* Takes completed requests (and acknowledges the interrupt), fails the
 * disk if a request is overdue, then calls done for each asynchronous one.
 * Returns how many completed. */
unsigned hvblk_poll(struct hvblk *b);
unsigned hvblk_in_flight(struct hvblk *b);

/* Synchronous, on Vireo's own memory: n is a multiple of 512 and the range
 * lies inside the disk.  0, or ERR_INVAL (n is not), ERR_RANGE (the range
 * is not), ERR_NOTSUP (a write to a read-only disk) or ERR_IO (the device
 * failed the request, or did not answer in time: the disk is then failed
 * for good). */
int hvblk_read(struct hvblk *b, uint64_t sector, void *buf, size_t n);
int hvblk_write(struct hvblk *b, uint64_t sector, const void *buf, size_t n);
/* Everything written (and completed) so far is on stable storage when
 * this returns 0. */
int hvblk_flush(struct hvblk *b);

#endif
