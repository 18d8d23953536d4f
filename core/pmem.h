/* SPDX-License-Identifier: Apache-2.0 */
/* Physical memory allocator.
 *
 * The hypervisor runs with translation off, so a physical address is also the
 * pointer to the memory; every pointer here is both.
 *
 * Memory is handed out in 4 KiB pages. Bookkeeping is one bit per page plus a
 * free-page count per 2 MiB chunk, so that single pages can be packed into
 * chunks that are already in use and whole 2 MiB blocks stay available for
 * large guest mappings. The bookkeeping lives in RAM, carved out at init.
 *
 * All functions are safe to call concurrently (one global spinlock). */
#ifndef VIREO_CORE_PMEM_H
#define VIREO_CORE_PMEM_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define PMEM_PAGE_SIZE    4096ULL
#define PMEM_BLOCK_SIZE   (2ULL * 1024 * 1024)
#define PMEM_MAX_REGIONS  8  /* RAM ranges passed to pmem_init */
#define PMEM_MAX_RESERVED 64 /* reserved ranges passed to pmem_init */

/* pmem_init errors */

struct pmem_range {
    uint64_t base;
    uint64_t size;
};

/* Take ownership of RAM minus the reserved ranges (firmware, hypervisor image,
 * FDT, initrd...). RAM ranges may come in any order, unaligned (trimmed inward
 * to pages), overlapping or adjacent (merged); empty ones are ignored. Reserved
 * ranges may be unaligned (rounded outward to pages), overlap each other and
 * stick out of RAM. Physical page 0 is never handed out, because its address
 * would read as NULL. Call once; returns 0 or PMEM_E*. */
int pmem_init(const struct pmem_range *ram, int nram, const struct pmem_range *reserved, int nres);

/* size is rounded up to whole pages; align is a power of two, values below
 * 4096 mean 4096. Returns NULL when size is 0, align is not a power of two,
 * or no suitable free range exists. */
void *pmem_alloc(size_t size, size_t align);
void *pmem_zalloc(size_t size, size_t align);
void *pmem_alloc_page(void);  /* 4 KiB */
void *pmem_alloc_block(void); /* 2 MiB, 2 MiB aligned */

/* Free pages previously allocated; size is rounded up to pages. Freeing part
 * of an allocation is allowed (the allocator does not remember allocation
 * boundaries). pmem_free(NULL, n) does nothing. Freeing memory that is not
 * allocated, misaligned or outside RAM changes nothing and is counted in
 * pmem_bad_frees(): it is a hypervisor bug, the caller decides to panic. */
void pmem_free(void *p, size_t size);
uint64_t pmem_bad_frees(void);

uint64_t pmem_free_bytes(void);
/* Usable RAM: RAM minus reservations and the allocator's own metadata. */
uint64_t pmem_total_bytes(void);

/* Copy up to max managed RAM ranges (page-trimmed, merged, sorted by address;
 * reserved ranges are still inside them) to out. Returns how many exist,
 * which may exceed max; out may be NULL when max is 0. */
int pmem_regions(struct pmem_range *out, int max);

/* For tests only: forget all state so pmem_init can be called again. Never
 * touches the memory that was managed. */
void pmem_reset(void);

#endif
