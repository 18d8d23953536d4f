/* SPDX-License-Identifier: Apache-2.0 */
/* ticks: timer interrupts, as a guest kernel's tick, through SBI set_timer
 * or (bootargs timer=sstc) the Sstc stimecmp CSR directly, waiting for
 * them by polling or (wait=wfi) in WFI, which under a hypervisor blocks the
 * vCPU until its timer wakes it.
 * Arms a deadline every 10 ms (each one 10 ms after the previous deadline,
 * so lateness does not accumulate), counts 50 interrupts (ticks=N in the
 * bootargs: N) and checks that none arrived before its deadline (a
 * hypervisor that fires a guest timer early, or forgets to clear a pending
 * one, shows up here) and that the 50th came within 500 ms +-20% of the
 * start (the Nth within N * 10 ms +-20%); it gives up after 10 times that. */
#include "guests/rt/gfdt.h"
#include "guests/rt/rt.h"
#include "lib/string.h"
#include "guests/rt/sbi.h"

const char guest_name[] = "ticks";

#define TICKS     50 /* default; ticks=N in the bootargs */
#define PERIOD_MS 10

static uint64_t period, deadline;
static bool use_sstc;

#define CSR_STIMECMP 0x14d

static void set_timer(uint64_t when)
{
    if (use_sstc)
        __asm__ volatile("csrw 0x14d, %0" ::"r"(when) : "memory");
    else
        sbi_set_timer(when);
}
static volatile uint32_t ticks;
static uint64_t nticks = TICKS;
static uint32_t early;
static uint64_t early_at, early_deadline, max_late, last_tick;

static void on_irq(uint64_t cause)
{
    uint64_t now = guest_time();

    if (cause != IRQ_S_TIMER)
        guest_fail("expected only timer interrupts (cause %d), got cause %lu", IRQ_S_TIMER,
                   (unsigned long)cause);
    if (now < deadline) {
        if (!early++) {
            early_at = now;
            early_deadline = deadline;
        }
        /* Not a tick: wait for the real deadline without re-arming it
         * earlier.  Setting the same deadline again clears the pending bit. */
        set_timer(deadline);
        return;
    }
    if (now - deadline > max_late)
        max_late = now - deadline;
    last_tick = now;
    if (ticks + 1 < nticks) {
        deadline += period;
        set_timer(deadline);
    } else {
        /* Done: no further interrupt; set_timer also clears the pending one. */
        csr_clear(sie, SIE_STIE);
        set_timer(UINT64_MAX);
    }
    ticks = ticks + 1;
}

void guest_main(uint64_t hartid)
{
    uint64_t start, limit, total_us, total_ms, give_up_ms;

    size_t len;
    const char *v = guest_bootarg("timer", &len);
    bool wfi = false;

    use_sstc = v && len == 4 && !memcmp(v, "sstc", 4);
    if (use_sstc && !gfdt_hart_has_ext(hartid, "sstc"))
        guest_fail("timer=sstc asked for, but the FDT does not list sstc for hart %lu",
                   (unsigned long)hartid);
    v = guest_bootarg("wait", &len);
    wfi = v && len == 3 && !memcmp(v, "wfi", 3);
    v = guest_bootarg("ticks", &len);
    if (v && (!guest_parse_u64(v, len, &nticks) || !nticks || nticks > UINT32_MAX))
        guest_fail("ticks=%.*s is not a number from 1 to %u", (int)len, v, UINT32_MAX);
    total_ms = nticks * PERIOD_MS;
    give_up_ms = total_ms * 10;
    glog("timer through %s, waiting by %s", use_sstc ? "stimecmp (Sstc)" : "SBI set_timer",
         wfi ? "wfi" : "polling");
    period = guest_ms_to_ticks(PERIOD_MS);
    if (period == 0)
        guest_fail("timebase %lu Hz is too slow for a %d ms tick", (unsigned long)guest_timebase(),
                   PERIOD_MS);
    guest_set_irq_handler(on_irq);

    start = guest_time();
    limit = start + guest_ms_to_ticks(give_up_ms);
    deadline = start + period;
    set_timer(deadline);
    csr_set(sie, SIE_STIE);
    csr_set(sstatus, SSTATUS_SIE);
    /* Polling by default: if ticks stop coming, the time limit still ends
     * the test with a message instead of a hang.  With wfi, only the next
     * tick ends each wait (and an outer timeout a lost one). */
    while (ticks < nticks && guest_time() < limit) {
        if (wfi)
            __asm__ volatile("wfi" ::: "memory");
    }
    csr_clear(sstatus, SSTATUS_SIE);
    csr_clear(sie, SIE_STIE);

    if (ticks < nticks)
        guest_fail("expected %lu timer interrupts, got %u in %lu ms", (unsigned long)nticks, ticks,
                   (unsigned long)give_up_ms);
    if (early)
        guest_fail("%u timer interrupt(s) before their deadline; first at time 0x%lx, %lu us "
                   "before deadline 0x%lx",
                   early, (unsigned long)early_at,
                   (unsigned long)guest_ticks_to_us(early_deadline - early_at),
                   (unsigned long)early_deadline);
    total_us = guest_ticks_to_us(last_tick - start);
    if (total_us < total_ms * 800 || total_us > total_ms * 1200)
        guest_fail("%lu ticks took %lu us, expected %lu ms +-20%%", (unsigned long)nticks,
                   (unsigned long)total_us, (unsigned long)total_ms);
    guest_pass("%lu ticks of %d ms in %lu us (expected %lu ms +-20%%), none early, worst %lu us "
               "late",
               (unsigned long)nticks, PERIOD_MS, (unsigned long)total_us, (unsigned long)total_ms,
               (unsigned long)guest_ticks_to_us(max_late));
}
