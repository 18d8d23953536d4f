/* SPDX-License-Identifier: Apache-2.0 */
#include "core/panic.h"

#include <stdarg.h>
#include <stdbool.h>

#include "arch/arch.h"
#include "core/console.h"
#include "core/hart.h"
#include "core/trap.h"

static int panic_started; /* int: RISC-V has no byte-sized atomic swap */

static void panic_dump_state(void)
{
    struct arch_state s;

    arch_read_state(&s);
    console_printf("  sstatus %016lx  sepc   %016lx  scause %016lx\n", (unsigned long)s.sstatus,
                   (unsigned long)s.sepc, (unsigned long)s.scause);
    console_printf("  stval   %016lx  stvec  %016lx  satp   %016lx\n", (unsigned long)s.stval,
                   (unsigned long)s.stvec, (unsigned long)s.satp);
    console_printf("  ra      %016lx  sp     %016lx  tp     %016lx\n", (unsigned long)s.ra,
                   (unsigned long)s.sp, (unsigned long)s.tp);
}

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
        panic_dump_state();
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

void trap_fatal(const struct trap_frame *tf)
{
    panic_frame(tf, "unexpected trap in Vireo: %s (scause 0x%lx) at sepc 0x%lx, stval 0x%lx",
                trap_cause_name(tf->scause), (unsigned long)tf->scause, (unsigned long)tf->sepc,
                (unsigned long)tf->stval);
}

void trap_report_unexpected_irq(const struct trap_frame *tf)
{
    console_printf("vireo: unexpected %s (scause 0x%lx) at sepc 0x%lx; masked it\n",
                   trap_cause_name(tf->scause), (unsigned long)tf->scause, (unsigned long)tf->sepc);
}
