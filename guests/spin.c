/* spin: never passes, by design.  It masks its own interrupts and spins, so
 * only something outside the guest can take the CPU back: a hypervisor's
 * timer (HS-level interrupts are not masked by the guest's sstatus.SIE).  A
 * test runs it next to another VM and checks that the other VM still makes
 * progress, or that a watchdog stops it.  Natively it runs until QEMU's
 * timeout kills it. */
#include "guests/rt/rt.h"

const char guest_name[] = "spin";

void guest_main(uint64_t hartid)
{
    (void)hartid;
    csr_write(sie, 0);
    csr_clear(sstatus, SSTATUS_SIE);
    glog("spinning forever with interrupts off (never passes, by design)");
    for (;;)
        __asm__ volatile("" ::: "memory");
}
