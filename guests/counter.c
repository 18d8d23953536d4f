/* SPDX-License-Identifier: Apache-2.0 */
/* counter: a guest whose whole state is visible, for snapshot tests.
 * Every 50 ms (ms=N in the bootargs: for N ms, default 20000) it prints
 * "count K", with an FP register and the time since the last count.  Its
 * state is spread over what a snapshot must bring back: the count lives in
 * a register, in RAM and in an FP register; a 1 MiB buffer holds a pattern
 * that depends on the count (rewritten each round, checked the round
 * after); the next deadline is on the guest's clock.  It fails if any of
 * these disagree, or if its clock ever goes backwards or jumps forward by
 * more than 2 s (gap=N ms in the bootargs) between two counts (a restored
 * guest continues from the snapshot's instant, and a paused one only
 * loses the pause).  fill=N (MiB) writes N MiB of ballast once at the
 * start, in the RAM above the image (as much of it as lies below the
 * device tree): pages a migration's first round must send, which makes
 * that round last (the cancel test's window). */
#include "guests/rt/gfdt.h"
#include "guests/rt/rt.h"
#include "guests/rt/sbi.h"

const char guest_name[] = "counter";

#define BUF_WORDS (1u << 17) /* 1 MiB */

static uint64_t buf[BUF_WORDS];

static volatile uint64_t count_ram;

static uint64_t pattern(uint64_t i, uint64_t round)
{
    return (i * 0x9e3779b97f4a7c15ull) ^ (round * 0xd1b54a32d192ed03ull);
}

/* fill=N: one word a page of N MiB above the image, below the FDT. */
static void ballast_fill(uint64_t mib)
{
    uint64_t start = ((uint64_t)(uintptr_t)__image_end + 4095) & ~4095ull;
    uint64_t limit = gfdt_blob_addr() & ~4095ull;
    struct mem_range ram;

    if (gfdt_memory(&ram, 1) >= 1 && ram.end < limit)
        limit = ram.end;
    uint64_t end = start + (mib << 20);
    if (end > limit)
        end = limit;
    for (uint64_t p = start; p < end; p += 4096)
        *(volatile uint64_t *)(uintptr_t)p = pattern(p, 1);
}

/* Out of line: its FP registers are touched only once sstatus.FS is on. */
static __attribute__((noinline)) void count_run(void)
{
    uint64_t ms = guest_bootarg_u64("ms", 20000), period = guest_ms_to_ticks(50);
    /* gap: the longest pause allowed, ms */
    uint64_t gap = guest_ms_to_ticks(guest_bootarg_u64("gap", 2000));
    uint64_t start = guest_time(), last = start;
    register uint64_t count __asm__("s2") = 0;
    double fcount = 0;

    ballast_fill(guest_bootarg_u64("fill", 0));
    glog("counting every 50 ms for %lu ms", (unsigned long)ms);
    while (guest_time() - start < guest_ms_to_ticks(ms)) {
        uint64_t now = guest_time();
        if (now < last || now - last > gap)
            guest_fail("the clock moved from %lu to %lu between counts", (unsigned long)last,
                       (unsigned long)now);
        if (count) {
            for (uint64_t i = 0; i < BUF_WORDS; i += 512) /* one word per page */
                if (buf[i] != pattern(i, count))
                    guest_fail("RAM at word %lu does not hold count %lu's pattern",
                               (unsigned long)i, (unsigned long)count);
        }
        if (count_ram != count || (uint64_t)fcount != count)
            guest_fail("count %lu in a register, %lu in RAM, %lu in FP", (unsigned long)count,
                       (unsigned long)count_ram, (unsigned long)fcount);
        count++;
        fcount += 1.0;
        count_ram = count;
        for (uint64_t i = 0; i < BUF_WORDS; i += 512)
            buf[i] = pattern(i, count);
        gprintf("count %lu after %lu us\n", (unsigned long)count,
                (unsigned long)guest_ticks_to_us(now - last));
        last = now;
        uint64_t next = now + period;
        while (guest_time() < next)
            __asm__ volatile("nop");
    }
    guest_pass("counted to %lu", (unsigned long)count);
}

void guest_main(uint64_t hartid)
{
    (void)hartid;
    csr_set(sstatus, 1ul << 13); /* FS = Initial */
    count_run();
}
