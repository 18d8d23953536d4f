/* SPDX-License-Identifier: Apache-2.0 */
/* dirty: every hart rewrites pseudo-randomly chosen pages of a buffer with
 * a pattern that depends on the round and the address, for ms= (default
 * 6000) milliseconds, so that a hypervisor can check its dirty log against
 * it (Vireo's `vm dirtycheck`, docs/dirty-logging.md).  Each hart owns the
 * pages whose index modulo the hart count is its slot, so no two harts
 * write one page and the guest can check the end state itself: every page
 * holds the pattern of the last round written to it (zeros if none).
 * pages= sets the buffer size in 4 KiB pages (default 2048); the buffer
 * starts at the first 2 MiB boundary after the image. */
#include "guests/rt/gfdt.h"
#include "guests/rt/rt.h"

const char guest_name[] = "dirty";

#define MAX_HARTS 8
#define MAX_PAGES 16384
#define PAGE      4096ul

static uint64_t buf_base, npages, nharts, deadline;
static uint32_t round_of[MAX_PAGES]; /* per page, written by its owner only */
static uint64_t writes[MAX_HARTS];
static volatile uint64_t done;

static inline uint64_t pattern(uint64_t round, uint64_t addr)
{
    return (addr * 0x9e3779b97f4a7c15ull) ^ (round * 0xd1b54a32d192ed03ull) ^ 0x3c3c3c3c3c3c3c3cull;
}

static void worker(uint64_t slot)
{
    uint64_t x = 0x2545f4914f6cdd1dull * (slot + 1);
    uint64_t mine = (npages - slot + nharts - 1) / nharts; /* pages p with p % nharts == slot */

    while (guest_time() < deadline) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t p = (x % mine) * nharts + slot;
        uint32_t round = ++round_of[p];
        uint64_t *w = (uint64_t *)(uintptr_t)(buf_base + p * PAGE);
        for (unsigned i = 0; i < PAGE / 8; i++)
            w[i] = pattern(round, buf_base + p * PAGE + 8 * i);
        writes[slot]++;
    }
    __atomic_fetch_add(&done, 1, __ATOMIC_RELEASE);
}

static void secondary(uint64_t hartid, void *arg)
{
    (void)hartid;
    worker((uint64_t)(uintptr_t)arg);
    guest_park();
}

void guest_main(uint64_t hartid)
{
    uint64_t ids[MAX_HARTS];
    struct mem_range mem[4];
    int n = gfdt_harts(ids, MAX_HARTS);
    int nmem = gfdt_memory(mem, 4);
    uint64_t ms = guest_bootarg_u64("ms", 6000), slot = 0, total = 0, bad = 0;

    npages = guest_bootarg_u64("pages", 2048);
    if (npages == 0 || npages > MAX_PAGES)
        guest_fail("pages=%lu: expected 1 to %d", (unsigned long)npages, MAX_PAGES);
    if (n < 1 || n > MAX_HARTS || nmem < 1)
        guest_fail("expected 1 to %d harts and a /memory range, found %d and %d", MAX_HARTS, n,
                   nmem);
    nharts = (uint64_t)n;
    if (nharts > npages)
        nharts = npages;
    buf_base = ((uint64_t)(uintptr_t)__image_end + (2ul << 20) - 1) & ~((2ul << 20) - 1);
    uint64_t buf_end = buf_base + npages * PAGE;
    if (buf_base < mem[0].start || buf_end > mem[0].end ||
        (gfdt_blob_addr() < buf_end && gfdt_blob_addr() + gfdt_blob_size() > buf_base))
        guest_fail("buffer 0x%lx-0x%lx does not fit in RAM 0x%lx-0x%lx clear of the FDT at 0x%lx",
                   (unsigned long)buf_base, (unsigned long)buf_end, (unsigned long)mem[0].start,
                   (unsigned long)mem[0].end, (unsigned long)gfdt_blob_addr());
    glog("%lu harts rewrite pages of 0x%lx-0x%lx for %lu ms", (unsigned long)nharts,
         (unsigned long)buf_base, (unsigned long)buf_end - 1, (unsigned long)ms);
    deadline = guest_time() + guest_ms_to_ticks(ms);
    __asm__ volatile("fence rw, rw" ::: "memory");
    for (int i = 0; i < n && slot + 1 < nharts; i++) {
        if (ids[i] == hartid)
            continue;
        slot++;
        long err = guest_hart_start(ids[i], secondary, (void *)(uintptr_t)slot);
        if (err)
            guest_fail("hart_start(hart %lu) returned %ld", (unsigned long)ids[i], err);
    }
    worker(0);
    while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < nharts)
        ;
    for (uint64_t p = 0; p < npages; p++) {
        const uint64_t *w = (const uint64_t *)(uintptr_t)(buf_base + p * PAGE);
        for (unsigned i = 0; i < PAGE / 8; i++) {
            uint64_t want = round_of[p] ? pattern(round_of[p], buf_base + p * PAGE + 8 * i) : 0;
            if (w[i] != want && !bad++)
                glog("page 0x%lx word %u: expected 0x%lx, saw 0x%lx",
                     (unsigned long)(buf_base + p * PAGE), i, (unsigned long)want,
                     (unsigned long)w[i]);
        }
    }
    for (uint64_t i = 0; i < nharts; i++)
        total += writes[i];
    if (bad)
        guest_fail("%lu words of the buffer do not hold their last round's pattern",
                   (unsigned long)bad);
    guest_pass("%lu harts wrote %lu pages in %lu ms; buffer intact", (unsigned long)nharts,
               (unsigned long)total, (unsigned long)ms);
}
