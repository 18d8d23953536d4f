/* SPDX-License-Identifier: Apache-2.0 */
/* The snapshot format's framing (docs/snapshot.md): a 16-byte preamble
 * (magic, format version), then typed, length-prefixed sections, each with
 * a CRC-32C of its payload and of its own header, ending with an END
 * section that counts the sections before it and chains their header CRCs
 * (so a dropped, repeated or reordered section is caught).  What goes in
 * the sections is core/snapshot.c's.  Writing and reading go through a
 * sink and a source, so a snapshot can be a buffer, a disk region or a
 * stream consumed piecewise. */
#ifndef VIREO_CORE_SNAP_FORMAT_H
#define VIREO_CORE_SNAP_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC         "VIREOSNP"
#define SNAP_VERSION       1
#define SNAP_PREAMBLE_SIZE 16
#define SNAP_SECTION_HEAD  24
/* The largest section payload other than RAM: a reader buffers those. */
#define SNAP_SECTION_MAX (64u << 10)

enum snap_type {
    SNAP_HEADER = 1,  /* host and VM facts a restore must match */
    SNAP_VM = 2,      /* VM-wide state: guest time, run state */
    SNAP_VCPU = 3,    /* one per vCPU (id = vCPU index) */
    SNAP_DEVICE = 4,  /* one per device (id = its index in the VM's device list) */
    SNAP_VPLIC = 5,   /* the virtual PLIC */
    SNAP_VUART = 6,   /* the virtual UART */
    SNAP_RAM = 7,     /* a 2 MiB chunk of guest RAM (id = chunk index), zero pages elided */
    SNAP_DISK = 8,    /* the same of a device's contents (id = device << 20 | chunk) */
    SNAP_CONSOLE = 9, /* the VM's console log */
    SNAP_END = 0xffu, /* last: section count and CRC chain */
};

/* Where a snapshot goes: write all n bytes or return a negative ERR_*. */
struct snap_sink {
    int (*write)(void *ctx, const void *p, size_t n);
    void *ctx;
    uint64_t bytes;    /* written so far */
    uint32_t sections; /* sections written so far */
    uint32_t chain;    /* CRC-32C over the headers of those sections */
};

/* Where one comes from: read exactly n bytes or return a negative ERR_*
 * (ERR_TRUNCATED at the end). */
struct snap_source {
    int (*read)(void *ctx, void *p, size_t n);
    void *ctx;
    uint64_t bytes;
    uint32_t sections;
    uint32_t chain;
};

struct snap_section {
    uint32_t type, id;
    uint64_t len;
    uint32_t crc; /* of the payload */
};

int snap_write_preamble(struct snap_sink *s);
/* Preamble flags.  A snapshot without RAM is a migration's final state
 * (RAM went ahead in the stream, docs/migration.md); a reader asks for the
 * flags it takes, so one kind is never restored as the other. */
#define SNAP_FLAG_NO_RAM 1u
/* With NO_RAM only: the contents of disks on a host-disk region are not in
 * it either (both hosts share the region; it was flushed at the pause). */
#define SNAP_FLAG_KEEP_SHARED 2u
int snap_write_preamble_flags(struct snap_sink *s, uint32_t flags);
/* A section whose payload is in memory. */
int snap_write_section(struct snap_sink *s, uint32_t type, uint32_t id, const void *p,
                       uint64_t len);
/* A section whose payload the caller then writes with snap_write_raw, in
 * exactly len bytes whose CRC-32C it already computed. */
int snap_write_head(struct snap_sink *s, const struct snap_section *h);
int snap_write_raw(struct snap_sink *s, const void *p, size_t n);
int snap_write_end(struct snap_sink *s);

/* 0, ERR_BADMAGIC, ERR_VERSION or the source's error. */
int snap_read_preamble(struct snap_source *s);
/* The same for a snapshot whose preamble flags must be exactly flags. */
int snap_read_preamble_flags(struct snap_source *s, uint32_t flags);
/* The next section's header, its own CRC checked (ERR_CHECKSUM).  For the
 * END section the count and chain are checked too (ERR_STRUCTURE). */
int snap_read_head(struct snap_source *s, struct snap_section *h);
/* Its payload, into buf (at least h->len bytes), CRC checked. */
int snap_read_payload(struct snap_source *s, const struct snap_section *h, void *buf);
/* Its payload read and CRC-checked in pieces through scratch (size > 0)
 * and dropped: a pass that only verifies. */
int snap_skip_payload(struct snap_source *s, const struct snap_section *h, void *scratch,
                      size_t size);

/* A sink and a source over a buffer in memory (the in-memory target, and
 * tests). */
struct snap_buf {
    uint8_t *p;
    size_t size, pos;
};
int snap_buf_write(void *ctx, const void *p, size_t n);
int snap_buf_read(void *ctx, void *p, size_t n);

#endif
