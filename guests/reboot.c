/* SPDX-License-Identifier: Apache-2.0 */
/* reboot: asks for a cold reboot (SBI SRST) until /chosen/vireo,boot-count
 * reaches reboots=N from its bootargs (default 50), then passes.  Under
 * Vireo this exercises VM teardown and re-creation; Vireo prints its free
 * memory at each boot, which must not drift. */
#include "guests/rt/gfdt.h"
#include "guests/rt/rt.h"
#include "guests/rt/sbi.h"
#include "lib/fdt.h"

const char guest_name[] = "reboot";

#define SRST_EID         0x53525354UL
#define SRST_COLD_REBOOT 1

void guest_main(uint64_t hartid)
{
    (void)hartid;
    uint64_t want = 50, count = 0;
    size_t len;
    const char *v = guest_bootarg("reboots", &len);
    uint32_t boots;
    int chosen = fdt_find_path(gfdt(), "/chosen");

    if (v && !guest_parse_u64(v, len, &want))
        guest_fail("reboots=%.*s is not a number", (int)len, v);
    if (chosen >= 0 && fdt_prop_u32(gfdt(), chosen, "vireo,boot-count", &boots))
        count = boots;
    if (!count)
        guest_fail("expected /chosen/vireo,boot-count from the hypervisor, found none");
    if (count >= want)
        guest_pass("booted %lu times", (unsigned long)count);
    glog("boot %lu of %lu: rebooting", (unsigned long)count, (unsigned long)want);
    sbi_call(SRST_EID, 0, SRST_COLD_REBOOT, 0, 0);
    guest_fail("SBI cold reboot returned");
}
