/* SPDX-License-Identifier: Apache-2.0 */
/* Boot-time self-tests, chosen on Vireo's command line with
 * vireo.selftest=NAME, for the system tests:
 *   trap     execute an illegal instruction: the trap handler must name it
 *   panic    call panic(): the report must name the hart and dump registers
 *   console  every hart prints lines at once: none may be torn */
#ifndef VIREO_CORE_SELFTEST_H
#define VIREO_CORE_SELFTEST_H

#include <stdint.h>

struct hart;

void selftest_configure(const char *bootargs, uint32_t timebase_hz);
void selftest_run_boot_hart(struct hart *h);
void selftest_run_secondary(struct hart *h);

#endif
