/* SPDX-License-Identifier: Apache-2.0 */
/* G-stage dirty logging: which 4 KiB pages of a VM's RAM were written since
 * the last look, the base of pre-copy live migration and incremental
 * snapshots (docs/dirty-logging.md).
 *
 * Write-protect and fault: start takes W away from every G-stage leaf of
 * the VM's RAM (huge leaves split into 4 KiB ones first); the first store
 * to a page then exits with a store guest-page fault, which marks the page
 * in the bitmap and gives W back (vm_dirty_fault, on the exit fast path);
 * a fetch takes the bitmap and takes W away again from exactly the pages
 * it reports.
 *
 * The protocol, between a fetch (one hart, under the log's lock) and any
 * number of faults (any harts, no lock):
 *  - fault:  CAS the leaf from protected to writable, THEN set the page's
 *            bit (atomic OR).  Only the CAS winner sets the bit.
 *  - fetch:  swap each bitmap word with 0 (atomic exchange), THEN protect
 *            the pages whose bits it took (CAS writable -> protected), THEN
 *            HFENCE.GVMA the VM's VMID on every hart (gen bump + a fence
 *            request and a sync with each vCPU: vm_dirty_flush), and only
 *            then return.
 *  A page written after a fetch returned was writable at that time only if
 *  its bit is set or a fault is between its CAS and its OR (then the bit
 *  comes before that fault's vCPU runs again, and the sync in every later
 *  fetch waits for it).  Writes that land between a fetch's exchange and
 *  its flush hit pages the fetch reports, and the caller copies those
 *  pages after the fetch returned, so it sees them.  Hence: a fetch, then
 *  (with the VM paused and none of its vCPUs on a hart) a final fetch
 *  misses no write.  Bits are only ever set by marking and cleared by the
 *  fetch's exchange, so two fetches never report the same write twice and
 *  no write is lost between them.
 *  Vireo's own writes into guest RAM (gpa_write: virtio, SBI) mark the
 *  page after writing (vm_dirty_note). */
#ifndef VIREO_CORE_DIRTY_H
#define VIREO_CORE_DIRTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/spinlock.h"

#define DIRTY_PAGE_SHIFT 12

struct vm;

struct vm_dirty {
    struct spinlock lock; /* start, stop and fetch; never taken by a fault */
    bool on;              /* read without the lock (atomic) */
    /* One bit per 4 KiB page of RAM, page i in word i / 64, bit i % 64.
     * Allocated by the first start and kept until the VM is destroyed, so a
     * fault that lost a race with stop still marks valid memory. */
    uint64_t *bitmap;
    size_t bitmap_bytes;   /* allocated */
    size_t words;          /* in use: (pages + 63) / 64 */
    uint64_t pages;        /* RAM pages covered: ram_size / 4 KiB, rounded up */
    uint64_t fetches;      /* since start */
    uint64_t split_tables; /* table pages the last start added to split huge leaves */
    /* How: D bits the hardware sets (true), or write-protect and fault. */
    bool dbit;
};

/* Starts logging: splits the RAM's huge leaves, write-protects it all,
 * flushes every hart's G-stage TLB for the VM.  0, ERR_EXIST (already on),
 * ERR_INVAL (the VM is not running) or ERR_NOMEM (no memory for the bitmap
 * or the split; nothing changed then), with err saying what.  Any hart;
 * not from one of the VM's own vCPUs' exits. */
int vm_dirty_start(struct vm *vm, char *err, size_t errlen);

/* Stops logging: every page writable again, TLBs flushed.  RAM stays in
 * 4 KiB leaves (no merge back into huge ones).  No-op when off. */
void vm_dirty_stop(struct vm *vm);

/* Fetch-and-clear: copies the bitmap into bitmap[0..words) (words beyond
 * the VM's are zeroed), clears it, write-protects the pages it reported
 * and flushes every hart before returning.  Returns the number of dirty
 * pages, ERR_INVAL when logging is off, ERR_NOSPC when words <
 * vm_dirty_words(vm). */
long vm_dirty_fetch(struct vm *vm, uint64_t *bitmap, size_t words);

/* Bitmap words a fetch needs for this VM's RAM. */
size_t vm_dirty_words(const struct vm *vm);

/* A store guest-page fault at gpa, in the VM's RAM (exit handler, the
 * faulting vCPU's hart): true if it was dirty logging's (or a stale TLB
 * entry of a page already writable again): the page is marked, writable,
 * the local TLB entry flushed; resume the guest.  False: the guest's own
 * fault, handled as without logging. */
bool vm_dirty_fault(struct vm *vm, uint64_t gpa);

/* Frees the bitmap (vm_destroy). */
void vm_dirty_release(struct vm *vm);

/* Marks [off, off + n) of RAM (offsets from its base) dirty if logging is
 * on: for Vireo's own writes into guest memory, after the write. */
static inline void vm_dirty_note(struct vm_dirty *d, uint64_t off, uint64_t n)
{
    if (!n || !__atomic_load_n(&d->on, __ATOMIC_ACQUIRE))
        return;
    for (uint64_t p = off >> DIRTY_PAGE_SHIFT; p <= (off + n - 1) >> DIRTY_PAGE_SHIFT; p++) {
        if (p < d->pages)
            __atomic_fetch_or(&d->bitmap[p / 64], 1ULL << (p % 64), __ATOMIC_RELEASE);
    }
}

#endif
