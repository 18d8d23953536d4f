/* SPDX-License-Identifier: Apache-2.0 */
/* smpdirty: every hart dirties a region of its own without pause, and the
 * guest checks, generation after generation, that its memory holds what
 * it wrote: the live-migration test of an SMP guest (tests/system/migrate,
 * docs/migration.md).
 *
 * Hart slot S owns pages= (default 64) 4 KiB pages starting at the first
 * 2 MiB boundary past the image; it picks one of them pseudo-randomly,
 * counts one more write of it (round_of, in its own RAM) and fills it
 * with a pattern of that count and the page's address, then waits delay=
 * microseconds (default 500) and picks the next.  Every gen= milliseconds
 * (default 1000) all harts stop at a rendezvous; each computes a checksum
 * over its whole region as it is in memory, and the checksum its counters
 * say it must have (the patterns recomputed), and the boot hart prints
 * "gen G: S harts, W writes, sums ok" (or fails, naming the hart, the
 * first page that differs and both sums); then all go on.  A migration
 * that loses a write, or applies an old page over a newer one, makes a
 * region disagree with its counters at the next generation.  It passes
 * after ms= (default 600000) milliseconds.  corrupt=G flips a byte of hart
 * slot 0's region behind its counters' back just before generation G's
 * check: that check must fail (the check's own test). */
#include "guests/rt/gfdt.h"
#include "guests/rt/rt.h"

const char guest_name[] = "smpdirty";

#define MAX_HARTS 8
#define MAX_PAGES 1024 /* per hart */
#define PAGE      4096ul

static uint64_t base, npages, nharts, delay_ticks, corrupt_gen;
static uint32_t round_of[MAX_HARTS][MAX_PAGES]; /* written by the owner only */
static uint64_t writes[MAX_HARTS];
static uint64_t sum_seen[MAX_HARTS], sum_want[MAX_HARTS];
static int64_t first_bad[MAX_HARTS]; /* page index, -1: none */
static volatile uint64_t want_gen, go_gen, done_gen[MAX_HARTS];

static inline uint64_t pattern(uint64_t round, uint64_t addr)
{
    return (addr * 0x9e3779b97f4a7c15ull) ^ (round * 0xd1b54a32d192ed03ull) ^ 0xa5a5a5a5a5a5a5a5ull;
}

/* FNV-1a over 64-bit words: order matters, so a page in the wrong place
 * shows too. */
static inline uint64_t mix(uint64_t h, uint64_t w)
{
    return (h ^ w) * 0x100000001b3ull;
}

static uint64_t region(uint64_t slot)
{
    return base + slot * npages * PAGE;
}

static void check_region(uint64_t slot)
{
    uint64_t seen = 0xcbf29ce484222325ull, want = seen;
    int64_t bad = -1;

    for (uint64_t p = 0; p < npages; p++) {
        uint64_t a = region(slot) + p * PAGE;
        const volatile uint64_t *w = (const volatile uint64_t *)(uintptr_t)a;
        uint32_t r = round_of[slot][p];
        bool same = true;
        for (unsigned i = 0; i < PAGE / 8; i++) {
            uint64_t expect = r ? pattern(r, a + 8 * i) : 0;
            uint64_t got = w[i];
            seen = mix(seen, got);
            want = mix(want, expect);
            same &= got == expect;
        }
        if (!same && bad < 0)
            bad = (int64_t)p;
    }
    sum_seen[slot] = seen;
    sum_want[slot] = want;
    first_bad[slot] = bad;
}

static void write_one(uint64_t slot, uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    uint64_t p = *x % npages;
    uint32_t r = ++round_of[slot][p];
    uint64_t a = region(slot) + p * PAGE;
    uint64_t *w = (uint64_t *)(uintptr_t)a;
    for (unsigned i = 0; i < PAGE / 8; i++)
        w[i] = pattern(r, a + 8 * i);
    writes[slot]++;
}

static void pause_for(uint64_t ticks)
{
    uint64_t until = guest_time() + ticks;
    while (guest_time() < until)
        __asm__ volatile("nop");
}

/* A secondary: writes until a generation is asked for, checks its region,
 * says so and waits for the boot hart to let it go on. */
static void secondary(uint64_t hartid, void *arg)
{
    uint64_t slot = (uint64_t)(uintptr_t)arg, x = 0x2545f4914f6cdd1dull * (slot + 1), gen = 0;

    (void)hartid;
    for (;;) {
        uint64_t g = __atomic_load_n(&want_gen, __ATOMIC_ACQUIRE);
        if (g != gen) {
            gen = g;
            check_region(slot);
            __atomic_store_n(&done_gen[slot], gen, __ATOMIC_RELEASE);
            while (__atomic_load_n(&go_gen, __ATOMIC_ACQUIRE) != gen)
                ;
        }
        write_one(slot, &x);
        pause_for(delay_ticks);
    }
}

static void generation(uint64_t gen)
{
    uint64_t total = 0;

    __atomic_store_n(&want_gen, gen, __ATOMIC_RELEASE);
    if (gen == corrupt_gen)
        *(volatile uint8_t *)(uintptr_t)(region(0) + 5 * PAGE + 77) ^= 0x10;
    check_region(0);
    for (uint64_t s = 1; s < nharts; s++)
        while (__atomic_load_n(&done_gen[s], __ATOMIC_ACQUIRE) != gen)
            ;
    for (uint64_t s = 0; s < nharts; s++) {
        if (first_bad[s] >= 0 || sum_seen[s] != sum_want[s])
            guest_fail("gen %lu: hart slot %lu's region holds checksum 0x%lx, its counters say "
                       "0x%lx (first page that differs: %ld, at 0x%lx)",
                       (unsigned long)gen, (unsigned long)s, (unsigned long)sum_seen[s],
                       (unsigned long)sum_want[s], (long)first_bad[s],
                       (unsigned long)(region(s) + (uint64_t)first_bad[s] * PAGE));
        total += writes[s];
    }
    gprintf("gen %lu: %lu harts, %lu writes, sums ok (0x%lx)\n", (unsigned long)gen,
            (unsigned long)nharts, (unsigned long)total, (unsigned long)sum_seen[0]);
    __atomic_store_n(&go_gen, gen, __ATOMIC_RELEASE);
}

void guest_main(uint64_t hartid)
{
    uint64_t ids[MAX_HARTS];
    struct mem_range mem[4];
    int n = gfdt_harts(ids, MAX_HARTS);
    int nmem = gfdt_memory(mem, 4);
    uint64_t ms = guest_bootarg_u64("ms", 600000),
             period = guest_ms_to_ticks(guest_bootarg_u64("gen", 1000));
    uint64_t x = 0x2545f4914f6cdd1dull, slot = 0, gen = 0;

    npages = guest_bootarg_u64("pages", 64);
    corrupt_gen = guest_bootarg_u64("corrupt", 0);
    delay_ticks = guest_ms_to_ticks(guest_bootarg_u64("delay", 500)) / 1000;
    if (npages == 0 || npages > MAX_PAGES)
        guest_fail("pages=%lu: expected 1 to %d", (unsigned long)npages, MAX_PAGES);
    if (n < 1 || n > MAX_HARTS || nmem < 1)
        guest_fail("expected 1 to %d harts and a /memory range, found %d and %d", MAX_HARTS, n,
                   nmem);
    nharts = (uint64_t)n;
    base = ((uint64_t)(uintptr_t)__image_end + (2ul << 20) - 1) & ~((2ul << 20) - 1);
    uint64_t end = base + nharts * npages * PAGE;
    if (base < mem[0].start || end > mem[0].end ||
        (gfdt_blob_addr() < end && gfdt_blob_addr() + gfdt_blob_size() > base))
        guest_fail("regions 0x%lx-0x%lx do not fit in RAM 0x%lx-0x%lx clear of the FDT at 0x%lx",
                   (unsigned long)base, (unsigned long)end, (unsigned long)mem[0].start,
                   (unsigned long)mem[0].end, (unsigned long)gfdt_blob_addr());
    glog("%lu harts dirty %lu pages each at 0x%lx-0x%lx, a check every %lu ms, for %lu ms",
         (unsigned long)nharts, (unsigned long)npages, (unsigned long)base, (unsigned long)end - 1,
         (unsigned long)guest_bootarg_u64("gen", 1000), (unsigned long)ms);
    __asm__ volatile("fence rw, rw" ::: "memory");
    for (int i = 0; i < n; i++) {
        if (ids[i] == hartid)
            continue;
        slot++;
        long err = guest_hart_start(ids[i], secondary, (void *)(uintptr_t)slot);
        if (err)
            guest_fail("hart_start(hart %lu) returned %ld", (unsigned long)ids[i], err);
    }
    uint64_t start = guest_time(), next = start + period;
    while (guest_time() - start < guest_ms_to_ticks(ms)) {
        write_one(0, &x);
        pause_for(delay_ticks);
        if (guest_time() >= next) {
            generation(++gen);
            next = guest_time() + period;
        }
    }
    generation(++gen);
    guest_pass("%lu harts, %lu generations checked", (unsigned long)nharts, (unsigned long)gen);
}
