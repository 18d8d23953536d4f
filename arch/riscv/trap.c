/* SPDX-License-Identifier: Apache-2.0 */
/* C side of HS-mode traps.  Until guests run, every trap taken while Vireo
 * itself executes is unexpected: name it and stop. */
#include "arch/riscv/trap.h"

#include "arch/riscv/csr.h"
#include "core/panic.h"

void trap_handle(struct trap_frame *tf)
{
    if (tf->scause & CAUSE_INTERRUPT) {
        /* No interrupt is enabled yet; mask whichever fired so it cannot
         * storm, and say so once. */
        unsigned irq = (unsigned)(tf->scause & ~CAUSE_INTERRUPT);
        if (irq < 64)
            csr_clear(sie, 1UL << irq);
        trap_report_unexpected_irq(tf);
        return;
    }
    trap_fatal(tf);
}
