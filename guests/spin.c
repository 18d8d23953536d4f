/* SPDX-License-Identifier: Apache-2.0 */
/* spin: masks its own interrupts and spins, so only something outside the
 * guest can take the CPU back: a hypervisor's timer (HS-level interrupts
 * are not masked by the guest's sstatus.SIE).  A test runs it next to
 * another VM on one hart and checks that the other VM still makes progress.
 * With ms=N in its bootargs it stops after N ms of its own time and
 * passes; without, it spins until something stops it. */
#include "guests/rt/rt.h"

const char guest_name[] = "spin";

void guest_main(uint64_t hartid)
{
    (void)hartid;
    size_t len;
    const char *v = guest_bootarg("ms", &len);
    uint64_t ms = 0;

    if (v && !guest_parse_u64(v, len, &ms))
        guest_fail("ms=%.*s is not a number", (int)len, v);
    csr_write(sie, 0);
    csr_clear(sstatus, SSTATUS_SIE);
    if (!ms) {
        glog("spinning forever with interrupts off");
        for (;;)
            __asm__ volatile("" ::: "memory");
    }
    glog("spinning for %lu ms with interrupts off", (unsigned long)ms);
    uint64_t end = guest_time() + guest_ms_to_ticks(ms);
    while (guest_time() < end)
        __asm__ volatile("" ::: "memory");
    guest_pass("spun %lu ms with interrupts off", (unsigned long)ms);
}
