/* SPDX-License-Identifier: Apache-2.0 */
/* Naming and reporting traps.  Cause numbers are the RISC-V privileged
 * specification's (scause / mcause, including the H extension's). */
#ifndef VIREO_CORE_TRAP_H
#define VIREO_CORE_TRAP_H

#include <stdint.h>

#include "arch/riscv/encoding.h"
#include "arch/riscv/trap.h"

/* "illegal instruction", "supervisor timer interrupt", ... or "unknown". */
const char *trap_cause_name(uint64_t scause);

/* Prints every register of the frame, by ABI name. */
void trap_dump_frame(const struct trap_frame *tf);

#endif
