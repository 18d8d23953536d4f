/* SPDX-License-Identifier: Apache-2.0 */
#include "core/trap.h"

#include "core/console.h"

static const char *const exception_names[] = {
    [0] = "instruction address misaligned",
    [1] = "instruction access fault",
    [2] = "illegal instruction",
    [3] = "breakpoint",
    [4] = "load address misaligned",
    [5] = "load access fault",
    [6] = "store/AMO address misaligned",
    [7] = "store/AMO access fault",
    [8] = "environment call from U-mode or VU-mode",
    [9] = "environment call from HS-mode",
    [10] = "environment call from VS-mode",
    [11] = "environment call from M-mode",
    [12] = "instruction page fault",
    [13] = "load page fault",
    [15] = "store/AMO page fault",
    [16] = "double trap",
    [18] = "software check",
    [19] = "hardware error",
    [20] = "instruction guest-page fault",
    [21] = "load guest-page fault",
    [22] = "virtual instruction",
    [23] = "store/AMO guest-page fault",
};

static const char *const interrupt_names[] = {
    [1] = "supervisor software interrupt",      [2] = "virtual supervisor software interrupt",
    [3] = "machine software interrupt",         [5] = "supervisor timer interrupt",
    [6] = "virtual supervisor timer interrupt", [7] = "machine timer interrupt",
    [9] = "supervisor external interrupt",      [10] = "virtual supervisor external interrupt",
    [11] = "machine external interrupt",        [12] = "supervisor guest external interrupt",
    [13] = "counter overflow interrupt",
};

const char *trap_cause_name(uint64_t scause)
{
    uint64_t code = scause & ~CAUSE_INTERRUPT;
    const char *name = NULL;

    if (scause & CAUSE_INTERRUPT) {
        if (code < sizeof(interrupt_names) / sizeof(interrupt_names[0]))
            name = interrupt_names[code];
    } else if (code < sizeof(exception_names) / sizeof(exception_names[0])) {
        name = exception_names[code];
    }
    return name ? name : "unknown cause";
}

void trap_dump_frame(const struct trap_frame *tf)
{
    static const char *const abi[32] = {
        "zero", "ra", "sp", "gp", "tp",  "t0",  "t1", "t2", "s0", "s1", "a0",
        "a1",   "a2", "a3", "a4", "a5",  "a6",  "a7", "s2", "s3", "s4", "s5",
        "s6",   "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
    };

    console_printf("  sepc    %016lx  sstatus %016lx\n  scause  %016lx  stval   %016lx\n",
                   (unsigned long)tf->sepc, (unsigned long)tf->sstatus, (unsigned long)tf->scause,
                   (unsigned long)tf->stval);
    for (int i = 0; i < 32; i += 4) {
        console_printf("  %-4s %016lx  %-4s %016lx  %-4s %016lx  %-4s %016lx\n", abi[i],
                       (unsigned long)tf->x[i], abi[i + 1], (unsigned long)tf->x[i + 1], abi[i + 2],
                       (unsigned long)tf->x[i + 2], abi[i + 3], (unsigned long)tf->x[i + 3]);
    }
}
