/* SPDX-License-Identifier: Apache-2.0 */
/* fail: always fails, so a test harness can check that a guest's "system
 * failure" shutdown reaches it (QEMU exits with status 1 natively; Vireo
 * reports the VM as failed). */
#include "guests/rt/rt.h"

const char guest_name[] = "fail";

void guest_main(uint64_t hartid)
{
    (void)hartid;
    glog("shutting down with reason \"system failure\" on purpose");
    guest_fail(
        "deliberate failure (this guest never passes: it shows that a failing guest is reported)");
}
