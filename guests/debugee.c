/* SPDX-License-Identifier: Apache-2.0 */
/* debugee: a guest for gdb to stop, read, step and watch (tests/system/gdb).
 * The boot hart calls debugee_tick(round) for round 1, 2, ... about once a
 * millisecond, and it stores round into debugee_watched every 16th round;
 * every other hart spins in debugee_spin, counting.  The guest runs until
 * the debugger writes 1 into debugee_release (or ms=N in the bootargs
 * passes: then it fails, default 120000), then checks that every round's
 * result arrived (the sum of 3 * round + 1) and that each other hart went
 * on counting, and passes.  A breakpoint not restored exactly, a step that
 * skipped or repeated an instruction, or a register gdb changed by
 * mistake shows up as a wrong sum.  debugee_magic is for memory reads. */
#include "guests/rt/gfdt.h"
#include "guests/rt/rt.h"

const char guest_name[] = "debugee";

#define MAX_HARTS 8

const volatile uint64_t debugee_magic[4] = {0x0123456789abcdefull, 0xfedcba9876543210ull,
                                            0x5555aaaa5555aaaaull, 0x00000000deadbeefull};
volatile uint64_t debugee_release;
volatile uint64_t debugee_watched;
volatile uint64_t debugee_spins[MAX_HARTS];

uint64_t debugee_tick(uint64_t round); /* global: gdb breaks on it by name */

__attribute__((noinline)) uint64_t debugee_tick(uint64_t round)
{
    if ((round & 15) == 0)
        debugee_watched = round;
    return 3 * round + 1;
}

__attribute__((noinline)) static void debugee_spin(uint64_t hartid, void *arg)
{
    (void)arg;
    for (;;)
        debugee_spins[hartid % MAX_HARTS]++;
}

void guest_main(uint64_t boot)
{
    uint64_t ids[MAX_HARTS], limit = guest_ms_to_ticks(guest_bootarg_u64("ms", 120000));
    int n = gfdt_harts(ids, MAX_HARTS);

    for (int i = 0; i < n; i++) {
        if (ids[i] != boot && guest_hart_start(ids[i], debugee_spin, NULL) != 0)
            guest_fail("hart_start(%lu) failed", (unsigned long)ids[i]);
    }
    glog("%d hart(s); ticking until released", n);
    uint64_t start = guest_time(), sum = 0, round = 0;
    while (!debugee_release) {
        round++;
        sum += debugee_tick(round);
        uint64_t until = guest_time() + guest_ms_to_ticks(1);
        while (guest_time() < until)
            __asm__ volatile("nop");
        if (guest_time() - start > limit)
            guest_fail("not released by a debugger within %lu ms",
                       (unsigned long)guest_bootarg_u64("ms", 120000));
    }
    /* sum over 1..round of 3r + 1 */
    uint64_t want = 3 * round * (round + 1) / 2 + round;
    if (sum != want)
        guest_fail("after %lu rounds the sum is %lu, expected %lu", (unsigned long)round,
                   (unsigned long)sum, (unsigned long)want);
    for (int i = 0; i < n; i++) {
        if (ids[i] != boot && !debugee_spins[ids[i] % MAX_HARTS])
            guest_fail("hart %lu never counted", (unsigned long)ids[i]);
    }
    guest_pass("released after %lu rounds, sum %lu", (unsigned long)round, (unsigned long)sum);
}
