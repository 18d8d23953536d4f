/* SPDX-License-Identifier: Apache-2.0 */
/* Where a guest kernel image goes in guest RAM, and where its FDT and initrd go.
 *
 * The loader only plans: it reads the image (untrusted: it may come from a
 * hostile config bundle) and returns which bytes of it belong at which guest
 * physical address. The VM code does the copying through its one checked
 * guest-memory accessor, so there is a single place where guest memory is
 * written.
 *
 * Formats, recognised in this order:
 *  - "elf": ELF64, little-endian, RISC-V (e_machine 243), type ET_EXEC. Each
 *    PT_LOAD with p_memsz > 0 becomes a segment at its p_paddr (the load
 *    address; the guest starts with translation off, so that is where the bytes
 *    must be). There is no fall-back to p_vaddr when p_paddr is 0: 0 can be a
 *    real address, and guessing would hide a broken link. The entry is e_entry
 *    (a virtual address) translated through the PT_LOAD that contains it, so an
 *    image linked with vaddr != paddr still starts at the physical copy of its
 *    entry. Segments stay in program-header order; errors name a segment by its
 *    program header index, as readelf -l numbers them.
 *  - "linux-image": the Linux RISC-V boot image header
 *    (Documentation/arch/riscv/boot-image-header.rst): "RISCV\0\0\0" at offset 48
 *    or "RSC\x05" at 56 (either one: the first is deprecated, the second is
 *    missing from version 0.1 headers). Loaded at ram_base + text_offset, which
 *    must be 2 MiB aligned (Documentation/arch/riscv/boot.rst: RV64 kernels sit
 *    on a PMD boundary). text_offset 0 means an M-mode kernel, which cannot run
 *    in VS-mode; we load such an image where S-mode RV64 kernels ask to be,
 *    ram_base + 2 MiB. image_size (mandatory, per the document) is the span the
 *    kernel occupies, its BSS included, and must be at least the file's size;
 *    the part past the file is zeroed. Big-endian images (flags bit 0) are
 *    refused. Entry = load address.
 *  - "raw": anything else, loaded at ram_base + 2 MiB (where QEMU's virt machine
 *    puts a kernel), entry there.
 * A file that starts with the ELF magic but is not an acceptable ELF is an
 * error, never silently loaded raw. */
#ifndef VIREO_CORE_LOADER_H
#define VIREO_CORE_LOADER_H

#include <stddef.h>
#include <stdint.h>

#define LOADER_MAX_SEGS 8
/* Where raw images (and text_offset-0 Linux images) are loaded, from ram_base. */
#define LOADER_DEFAULT_OFFSET 0x200000u
/* Suggested alignments for loader_place_blob(). Linux needs the FDT 8-byte
 * aligned and both blobs in RAM; page alignment lets the VM give each its own
 * pages, and Linux frees the initrd in whole pages once it has unpacked it. */
#define LOADER_FDT_ALIGN    0x1000u
#define LOADER_INITRD_ALIGN 0x1000u

struct load_seg {
    uint64_t gpa;
    size_t file_off;
    size_t file_size;
    uint64_t mem_size; /* >= file_size: bytes past file_size are zeroed */
};

struct load_plan {
    struct load_seg segs[LOADER_MAX_SEGS];
    int nsegs;
    uint64_t entry;
    uint64_t image_start, image_end; /* the gpa span [start, end) of all segments */
    const char *format;              /* "elf", "linux-image" or "raw" */
};

/* Plans the placement of img[0..len) in guest RAM [ram_base, ram_base + ram_size).
 * On success returns 0 and every segment lies inside RAM and (its file part)
 * inside the image, no two segments overlap, and the entry lies inside a
 * segment. On failure returns ERR_INVAL, leaves a one-line reason in err (e.g. "ELF
 * segment 2 at 0x90000000+0x1000 is outside guest RAM 0x80000000-0x87ffffff")
 * and zeroes *plan. err may be NULL when errlen is 0. */
int loader_plan(const void *img, size_t len, uint64_t ram_base, uint64_t ram_size,
                struct load_plan *plan, char *err, size_t errlen);

/* A half-open gpa range [start, end); start >= end is empty. */
struct loader_range {
    uint64_t start, end;
};

/* Chooses the highest align-aligned gpa such that [gpa, gpa + size) lies in RAM
 * and overlaps none of the avoid ranges. High placement keeps the blobs clear of
 * the kernel, which grows upwards from its load address (BSS, early
 * allocations), and leaves the low RAM contiguous.
 * To place the FDT and the initrd, place one, then place the other avoiding
 * both the image and the first: e.g. the initrd avoiding {image}, then the FDT
 * avoiding {image, initrd}.
 * align must be a power of two (at least 1) and size > 0. Returns 0 and sets
 * *gpa, or ERR_INVAL if the arguments are bad, ERR_NOSPC if nothing fits. */
int loader_place(uint64_t ram_base, uint64_t ram_size, const struct loader_range *avoid, int navoid,
                 uint64_t size, uint64_t align, uint64_t *gpa);

/* loader_place() with the single avoid range [avoid_start, avoid_end). */
int loader_place_blob(uint64_t ram_base, uint64_t ram_size, uint64_t avoid_start,
                      uint64_t avoid_end, size_t size, uint64_t align, uint64_t *gpa);

#endif
