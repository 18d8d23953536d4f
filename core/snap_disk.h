/* SPDX-License-Identifier: Apache-2.0 */
/* The host-disk snapshot target (docs/snapshot.md, "Targets"): a VM's
 * snapshot kept in a region of a host disk (its configuration's
 * snapshot-disk, snapshot-offset, snapshot-size), so it survives a
 * power-off and restores into the same VM on a freshly booted Vireo.
 *
 * The region: one 4 KiB header block, then the snapshot's bytes.  A save
 * first marks the header "being written", then writes the snapshot
 * through a 64 KiB buffer, flushes, and only then writes the complete
 * header and flushes again: an interrupted save leaves a header that says
 * so (or the previous one, if it failed before writing anything), never a
 * valid header over a partial snapshot.
 *
 * Header (little-endian): magic "VIREODSK", u32 version (1), u32 state
 * (1 complete, 2 being written), u64 sequence number (one more per save),
 * u64 the snapshot's length, u32 its CRC-32C, u32 0, the VM's name (32
 * bytes, NUL-padded), u32 CRC-32C of the 72 bytes before it; then zeros. */
#ifndef VIREO_CORE_SNAP_DISK_H
#define VIREO_CORE_SNAP_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/snapshot.h"

#define SNAP_DISK_MAGIC   "VIREODSK"
#define SNAP_DISK_VERSION 1
#define SNAP_DISK_HEAD    4096u       /* the header block */
#define SNAP_DISK_BUF     (64u << 10) /* writes and reads go through this much */
/* What a writer or reader needs as buffer: the data buffer, then a header block. */
#define SNAP_DISK_SCRATCH (SNAP_DISK_BUF + SNAP_DISK_HEAD)

enum snap_disk_state {
    SNAP_DISK_COMPLETE = 1, /* the header describes a whole snapshot */
    SNAP_DISK_WRITING = 2,  /* a save began and did not finish */
};

/* The region's I/O: byte offsets from its start, offsets and lengths
 * multiples of 512, inside size.  0 or a negative ERR_*.  A host disk's
 * (snap_disk_region) or a test's memory. */
struct snap_disk_io {
    int (*read)(void *ctx, uint64_t off, void *buf, size_t n);
    int (*write)(void *ctx, uint64_t off, const void *buf, size_t n);
    int (*flush)(void *ctx); /* what was written is on stable storage */
    void *ctx;
    uint64_t size; /* the region's bytes, a multiple of 4096, more than SNAP_DISK_HEAD */
};

struct snap_disk_header {
    uint32_t state; /* enum snap_disk_state */
    uint64_t seq;
    uint64_t length; /* of the snapshot, after the header block */
    uint32_t crc;    /* CRC-32C of its bytes */
    char vm_name[CONFIG_NAME_MAX + 1];
};

/* Reads and checks the header into *h, through block (SNAP_DISK_HEAD
 * bytes).  0: a well-formed header (h->state says whether it is complete);
 * ERR_NOENT: none (the block is zero: the region was never written);
 * ERR_BADMAGIC, ERR_VERSION, ERR_CHECKSUM: something else or a damaged
 * header; ERR_RANGE: its length does not fit the region; or the I/O error. */
int snap_disk_header_read(const struct snap_disk_io *io, struct snap_disk_header *h, void *block);

/* A sink: snap_disk_writer_init, then snap_disk_writer_write as a
 * snap_sink's write (ctx: the writer), then snap_disk_writer_finish. */
struct snap_disk_writer {
    const struct snap_disk_io *io;
    uint8_t *buf; /* SNAP_DISK_SCRATCH bytes */
    size_t fill;  /* bytes in buf */
    uint64_t pos; /* the snapshot's bytes so far (past the region's end: only counted) */
    uint64_t flushed;
    uint64_t seq;
    uint32_t crc;
    bool marked; /* the header says "being written" */
    int err;     /* the first I/O error, kept */
};

/* seq: the sequence number the new header gets. */
void snap_disk_writer_init(struct snap_disk_writer *w, const struct snap_disk_io *io, void *buf,
                           uint64_t seq);
int snap_disk_writer_write(void *ctx, const void *p, size_t n);
/* Writes what is buffered, flushes, writes the complete header naming
 * vm_name, flushes.  0; ERR_NOSPC when the snapshot (w->pos bytes) is
 * larger than the region holds (nothing more is written); or the first I/O
 * error.  On failure the region holds no complete snapshot, unless nothing
 * was written yet (the previous one is kept then). */
int snap_disk_writer_finish(struct snap_disk_writer *w, const char *vm_name);

/* A rewindable source (struct snap_input: read, rewind with ctx the
 * reader) over the snapshot a complete header describes. */
struct snap_disk_reader {
    const struct snap_disk_io *io;
    uint8_t *buf; /* SNAP_DISK_SCRATCH bytes */
    struct snap_disk_header h;
    size_t have, at; /* bytes in buf, and of them consumed */
    uint64_t next;   /* the snapshot's offset buf is loaded from next */
    uint64_t pos;    /* the snapshot's bytes consumed */
    uint32_t crc;    /* of those */
    bool crc_bad;    /* read to the end and the CRC did not match the header's */
};

/* Reads the header: 0, ERR_NOENT for a region without a complete snapshot
 * (never written, or a save that did not finish), or snap_disk_header_read's
 * errors. */
int snap_disk_reader_open(struct snap_disk_reader *r, const struct snap_disk_io *io, void *buf);
int snap_disk_reader_read(void *ctx, void *p, size_t n);
/* Starts again.  When everything was read, the CRC must have matched the
 * header's: else ERR_CHECKSUM (crc_bad). */
int snap_disk_reader_rewind(void *ctx);

/* ---- the target: a VM's snapshot region on a host disk ---- */

/* Saves vm (paused, off the harts) into its snapshot region.  Errors name
 * the VM, the disk and the sizes: no region configured (ERR_NOENT), no
 * such host disk (ERR_NOENT), a region beyond the disk's end (ERR_RANGE),
 * a snapshot larger than the region (ERR_NOSPC), a read-only disk
 * (ERR_NOTSUP), or an I/O error. */
int snap_disk_save(struct vm *vm, struct snapshot_stats *st, snapshot_progress_fn progress,
                   char *err, size_t errlen);
/* Restores vm (paused, off the harts) from its region's snapshot, which
 * must be complete and be vm's (its name in the header). */
int snap_disk_restore(struct vm *vm, snapshot_progress_fn progress, char *err, size_t errlen);
/* The region's header, for `vm snapshots`: 0 with *h filled (h->state
 * says whether it is complete), or snap_disk_header_read's code or the
 * region's error with err saying why. */
int snap_disk_info(const struct vm *vm, struct snap_disk_header *h, char *err, size_t errlen);

#endif
