/* SPDX-License-Identifier: Apache-2.0 */
/* hello: the smallest useful guest.  Shows that the entry contract holds
 * (hart id in a0, a readable FDT in a1) and that the console and shutdown
 * work, by echoing what the FDT says about the guest's machine. */
#include "guests/rt/gfdt.h"
#include "guests/rt/rt.h"

const char guest_name[] = "hello";

#define MAX_RANGES 16

void guest_main(uint64_t hartid)
{
    struct mem_range mem[MAX_RANGES], initrd;
    uint64_t harts[1];
    int n = gfdt_memory(mem, MAX_RANGES);
    int nharts = gfdt_harts(harts, 1);

    glog("hart %lu, %d hart(s) in /cpus, timebase %lu Hz", (unsigned long)hartid, nharts,
         (unsigned long)gfdt_timebase(hartid));
    if (n == 0)
        guest_fail("expected at least one /memory range in the FDT, found none");
    for (int i = 0; i < n && i < MAX_RANGES; i++)
        glog("memory 0x%lx-0x%lx (%lu MiB)", (unsigned long)mem[i].start,
             (unsigned long)mem[i].end - 1, (unsigned long)((mem[i].end - mem[i].start) >> 20));
    if (gfdt_initrd(&initrd))
        glog("initrd 0x%lx-0x%lx", (unsigned long)initrd.start, (unsigned long)initrd.end - 1);
    glog("bootargs \"%s\"", gfdt_bootargs());
    guest_pass("hello from hart %lu", (unsigned long)hartid);
}
