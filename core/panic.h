/* SPDX-License-Identifier: Apache-2.0 */
/* panic(): a hypervisor bug.  Prints the message with the hart and its
 * registers, then powers the machine off with reason "system failure".
 * Guest misbehaviour never comes here: it stops only that VM. */
#ifndef VIREO_CORE_PANIC_H
#define VIREO_CORE_PANIC_H

#include "lib/printf.h"

struct trap_frame;

_Noreturn void panic(const char *fmt, ...) FMT_PRINTF(1, 2);
/* The same, with the register image of the trap that led here. */
_Noreturn void panic_frame(const struct trap_frame *tf, const char *fmt, ...) FMT_PRINTF(2, 3);

/* Vireo's own traps (arch/riscv/trap.c): one it cannot have caused on
 * purpose panics, naming it; an interrupt nobody enabled is reported once
 * (the arch layer masks it). */
_Noreturn void trap_fatal(const struct trap_frame *tf);
void trap_report_unexpected_irq(const struct trap_frame *tf);

#define BUG_ON(cond)                                                                               \
    do {                                                                                           \
        if (cond)                                                                                  \
            panic("BUG_ON(%s) at %s:%d", #cond, __FILE__, __LINE__);                               \
    } while (0)

#endif
