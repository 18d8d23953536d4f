/* SPDX-License-Identifier: Apache-2.0 */
/* The live-migration stream's framing (docs/migration.md).  Both
 * directions are a 16-byte preamble (magic, the versions a side speaks)
 * and then sections framed exactly as a snapshot's (core/snap_format.h: a
 * 24-byte header with the payload's CRC-32C and its own, the END section
 * counting the sections before it and chaining their headers).
 *
 * The reader is a push parser: bytes arrive in pieces of any size (from
 * a socket, a vsock connection) and it hands back one whole section at a
 * time, its header and payload checksums verified, never holding more than
 * one section (at most MIG_SECTION_MAX bytes of payload).  What a payload
 * means is the engines' (core/migrate_src.c, core/migrate_dst.c). */
#ifndef VIREO_CORE_MIG_FORMAT_H
#define VIREO_CORE_MIG_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/snap_format.h"

#define MIG_MAGIC_SRC   "VIREOMIG" /* source -> destination */
#define MIG_MAGIC_DST   "VIREOMGR" /* destination -> source (replies) */
#define MIG_PREAMBLE    16
#define MIG_VERSION_MIN 1
#define MIG_VERSION_MAX 1

/* CONFIG's flags (its version 2; docs/migration.md). */
#define MIG_CONFIG_KEEP_SHARED 1u /* disks on host-disk regions stay in place */

/* A RAM section holds at most this many entries and data pages. */
#define MIG_BATCH_ENTRIES 512
#define MIG_BATCH_PAGES   64
#define MIG_PAGE          4096u
/* RAM entry: the page's guest-physical address; its low 12 bits say what
 * follows.  Bit 0: a run of zero pages (bits 1..11: the run's length - 1);
 * else one page whose 4 KiB follow, in entry order, after the entries. */
#define MIG_ENTRY_ZERO    1u
#define MIG_ENTRY_RUN_MAX 2048u
#define MIG_RAM_HEAD      8u /* u32 entries, u32 data pages */
#define MIG_SECTION_MAX   (MIG_RAM_HEAD + MIG_BATCH_ENTRIES * 8u + MIG_BATCH_PAGES * MIG_PAGE)
/* A pause longer than this is not believed (MIG_PAUSED). */
#define MIG_PAUSE_MAX_NS (3600ull * 1000000000ull)
/* Every other section's payload (CONFIG, a piece of the bundle or of the
 * final state, a reply) is at most this. */
#define MIG_PIECE_MAX (64u << 10)

enum mig_type {
    /* source -> destination, in this order */
    MIG_CONFIG = 0x20, /* the VM: name, RAM, vCPUs, ISA, bundle size, snapshot HEADER */
    MIG_BUNDLE = 0x21, /* a piece of its run-time bundle (id = piece index) */
    MIG_RAM = 0x22,    /* a batch of pages (id = round) */
    MIG_ROUND = 0x23,  /* a round ended (id = round): u64 pages, u64 zero pages sent in it */
    MIG_STATE = 0x24,  /* a piece of the final state (id = piece index), a snapshot without RAM */
    MIG_PAUSED = 0x25, /* u64 ns the VM has been paused so far (after the state) */
    MIG_CANCEL = 0x26, /* the source gives up (any time before END): u16 length, the reason */
    /* then SNAP_END */
    /* destination -> source */
    MIG_R_ACCEPT = 0x30,  /* id = MIG_STAGE_*: that step is done, go on */
    MIG_R_REFUSE = 0x31,  /* i32 ERR_* code, u16 length, the reason */
    MIG_R_RUNNING = 0x32, /* the VM runs here now: the source may let go */
    MIG_R_ACK = 0x33,     /* u64 stream bytes taken so far: the source measures the link */
};

enum mig_stage {
    MIG_STAGE_CONFIG = 1, /* CONFIG accepted: send the bundle */
    MIG_STAGE_BUILT = 2,  /* the VM is built, paused: send RAM */
};

/* The preamble: magic, u16 lowest and u16 highest version the writer
 * speaks (a destination answers with the one chosen, twice; 0 = none in
 * common), u32 CRC-32C of the 12 bytes before it. */
void mig_preamble_encode(uint8_t b[MIG_PREAMBLE], const char *magic, uint16_t vmin, uint16_t vmax);
/* 0, ERR_BADMAGIC, ERR_CHECKSUM or ERR_VERSION (vmin > vmax). */
int mig_preamble_decode(const uint8_t b[MIG_PREAMBLE], const char *magic, uint16_t *vmin,
                        uint16_t *vmax);
/* The version both speak (the highest), or 0. */
uint16_t mig_version_pick(uint16_t vmin, uint16_t vmax);

enum mig_event {
    MIG_EV_NONE,     /* more bytes needed */
    MIG_EV_PREAMBLE, /* the preamble: r->pre */
    MIG_EV_SECTION,  /* a section: r->h and its payload in r->payload */
    MIG_EV_END,      /* the END section, its count and chain right */
};

struct mig_reader {
    uint8_t pre[MIG_PREAMBLE];
    uint8_t head[SNAP_SECTION_HEAD + 8]; /* a header, and END's payload */
    uint8_t *payload;                    /* MIG_SECTION_MAX bytes, the caller's */
    struct snap_section h;
    struct snap_source src; /* section count and header chain */
    int stage;              /* 0 preamble, 1 header, 2 payload, 3 after END */
    size_t have;            /* bytes of the current unit so far */
    uint64_t bytes;         /* consumed in all */
};

void mig_reader_init(struct mig_reader *r, uint8_t *payload);
/* Consumes bytes from p[0..n) up to the end of the next unit (or all of
 * them): the count consumed, with *ev saying whether a unit is complete;
 * or a negative ERR_* for a stream that is broken (ERR_CHECKSUM,
 * ERR_STRUCTURE: a section too long or a wrong END, ERR_RANGE: bytes after
 * END).  A reader that failed stays failed. */
long mig_reader_feed(struct mig_reader *r, const void *p, size_t n, enum mig_event *ev);

#endif
