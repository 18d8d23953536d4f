/* SPDX-License-Identifier: Apache-2.0 */
/* memtest: writes a pattern that depends on the address over all of the RAM
 * the FDT gives the guest, then reads it all back.  Writing everything
 * before verifying anything is the point: if a hypervisor backed two guest
 * pages with one host page, or dropped or shared a page, the later write
 * shows up as a wrong value at the earlier address.  Skips the guest's own
 * image (with BSS and stacks), the FDT, an initrd, and reserved memory (the
 * reservation map and /reserved-memory: natively that is OpenSBI's). */
#include "guests/rt/gfdt.h"
#include "guests/rt/rt.h"

const char guest_name[] = "memtest";

#define MAX_RANGES 32

/* Odd multiplier: distinct addresses give distinct values (a bijection mod
 * 2^64), so aliasing anywhere is visible; the xor keeps zero-filled memory
 * from ever passing. */
static inline uint64_t pattern(uint64_t addr)
{
    return addr * 0x9e3779b97f4a7c15ull ^ 0x5a5a5a5a5a5a5a5aull;
}

/* Remove [cut.start, cut.end) from the list of free ranges. */
static int subtract(struct mem_range *r, int n, struct mem_range cut)
{
    for (int i = 0; i < n; i++) {
        if (cut.end <= r[i].start || cut.start >= r[i].end)
            continue;
        if (cut.start > r[i].start && cut.end < r[i].end) {
            /* A hole in the middle: the range splits in two. */
            if (n >= MAX_RANGES)
                guest_fail("more than %d free ranges: raise MAX_RANGES", MAX_RANGES);
            r[n++] = (struct mem_range){cut.end, r[i].end};
            r[i].end = cut.start;
        } else if (cut.start <= r[i].start && cut.end >= r[i].end) {
            r[i--] = r[--n]; /* swallowed whole; look at the moved-in entry */
        } else if (cut.start <= r[i].start) {
            r[i].start = cut.end;
        } else {
            r[i].end = cut.start;
        }
    }
    return n;
}

void guest_main(uint64_t hartid)
{
    struct mem_range free[MAX_RANGES], rsv[MAX_RANGES], initrd;
    int n = gfdt_memory(free, MAX_RANGES);
    int nrsv = gfdt_reserved(rsv, MAX_RANGES);
    uint64_t bytes = 0, bad = 0, first_bad = 0, first_exp = 0, first_seen = 0;
    uint64_t t0;

    (void)hartid;
    if (n == 0)
        guest_fail("expected at least one /memory range in the FDT, found none");
    if (n > MAX_RANGES || nrsv > MAX_RANGES)
        guest_fail("%d memory and %d reserved ranges: at most %d each are handled", n, nrsv,
                   MAX_RANGES);

    n = subtract(
        free, n,
        (struct mem_range){(uint64_t)(uintptr_t)__image_start, (uint64_t)(uintptr_t)__image_end});
    n = subtract(free, n,
                 (struct mem_range){gfdt_blob_addr(), gfdt_blob_addr() + gfdt_blob_size()});
    if (gfdt_initrd(&initrd))
        n = subtract(free, n, initrd);
    for (int i = 0; i < nrsv; i++)
        n = subtract(free, n, rsv[i]);

    /* In address order, for a readable log. */
    for (int i = 1; i < n; i++) {
        for (int j = i; j > 0 && free[j].start < free[j - 1].start; j--) {
            struct mem_range t = free[j];
            free[j] = free[j - 1];
            free[j - 1] = t;
        }
    }
    for (int i = 0; i < n; i++) {
        /* Whole 64-bit words only. */
        free[i].start = (free[i].start + 7) & ~7ull;
        free[i].end &= ~7ull;
        if (free[i].end <= free[i].start)
            continue;
        glog("testing 0x%lx-0x%lx (%lu KiB)", (unsigned long)free[i].start,
             (unsigned long)free[i].end - 1, (unsigned long)((free[i].end - free[i].start) >> 10));
        bytes += free[i].end - free[i].start;
    }
    if (bytes == 0)
        guest_fail("no RAM left to test after excluding the image, FDT and reservations");

    t0 = guest_time();
    for (int i = 0; i < n; i++) {
        for (uint64_t a = free[i].start; a < free[i].end; a += 8)
            *(uint64_t *)(uintptr_t)a = pattern(a);
    }
    /* All writes are done before any read: the compiler may not carry
     * values across this point. */
    __asm__ volatile("fence rw, rw" ::: "memory");
    for (int i = 0; i < n; i++) {
        for (uint64_t a = free[i].start; a < free[i].end; a += 8) {
            uint64_t v = *(volatile uint64_t *)(uintptr_t)a;
            if (v != pattern(a)) {
                if (!bad++) {
                    first_bad = a;
                    first_exp = pattern(a);
                    first_seen = v;
                }
            }
        }
    }
    if (bad)
        guest_fail("%lu of %lu words differ; first at 0x%lx: expected 0x%lx, saw 0x%lx",
                   (unsigned long)bad, (unsigned long)(bytes / 8), (unsigned long)first_bad,
                   (unsigned long)first_exp, (unsigned long)first_seen);
    guest_pass("%lu MiB tested (%lu KiB) in %lu ms", (unsigned long)(bytes >> 20),
               (unsigned long)(bytes >> 10),
               (unsigned long)(guest_ticks_to_us(guest_time() - t0) / 1000));
}
