/* SPDX-License-Identifier: Apache-2.0 */
/* Boot-time self-tests, chosen on Vireo's command line with
 * vireo.selftest=NAME, for the system tests:
 *   trap     execute an illegal instruction: the trap handler must name it
 *   panic    call panic(): the report must name the hart and dump registers
 *   console  every hart prints lines at once: none may be torn
 *   mgmt-echo  echo the management port (hostdev_mgmt_*) back to its sender,
 *            every line prefixed with SELFTEST_MGMT_PREFIX (so bytes
 *            QEMU itself echoed could not pass), while the VMs run:
 *            tests/system/mgmt checks that 200 KiB come back whole */
#ifndef VIREO_CORE_SELFTEST_H
#define VIREO_CORE_SELFTEST_H

#include <stdint.h>

struct hart;

void selftest_configure(const char *bootargs, uint32_t timebase_hz);
void selftest_run_boot_hart(struct hart *h);
void selftest_run_secondary(struct hart *h);
/* Once the host devices and their interrupts are up, before the harts
 * enter the run loop (boot hart, boot only). */
void selftest_run_late(void);

#define SELFTEST_MGMT_PREFIX "mgmt-echo: "

#endif
