/* SPDX-License-Identifier: Apache-2.0 */
#include "core/panic.h"

#include <stdarg.h>
#include <stdbool.h>

#include "arch/arch.h"
#include "core/console.h"
#include "core/hart.h"
#include "core/trap.h"

static int panic_started; /* int: RISC-V has no byte-sized atomic swap */

static _Noreturn void panic_va(const struct trap_frame *tf, const char *fmt, va_list ap)
{
    arch_irq_disable();
    /* One report: a second hart that panics meanwhile just parks. */
    if (__atomic_exchange_n(&panic_started, 1, __ATOMIC_ACQ_REL))
        arch_halt();
    console_enter_panic();

    struct hart *h = arch_this_hart();
    console_printf("\n*** Vireo PANIC on hart %u (hartid %lu): ", h ? h->index : 0,
                   h ? h->hartid : 0);
    console_vprintf(fmt, ap);
    console_printf("\n");
    if (tf)
        trap_dump_frame(tf);
    else
        arch_dump_state();
    if (h && !hart_stack_intact(h))
        console_printf("  (this hart's stack has overflowed)\n");
    console_printf("*** powering off\n");
    arch_poweroff(true);
}

void panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    panic_va(NULL, fmt, ap);
}

void panic_frame(const struct trap_frame *tf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    panic_va(tf, fmt, ap);
}
