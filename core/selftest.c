/* SPDX-License-Identifier: Apache-2.0 */
#include "core/selftest.h"

#include "arch/arch.h"
#include "core/bootargs.h"
#include "core/console.h"
#include "core/hart.h"
#include "core/panic.h"

#define CONSOLE_LINES 16

static enum { ST_NONE, ST_TRAP, ST_PANIC, ST_CONSOLE } selftest;
static unsigned console_done;
static uint64_t ticks_per_second;

void selftest_configure(const char *bootargs, uint32_t timebase_hz)
{
    const char *v;
    size_t n;

    ticks_per_second = timebase_hz;
    if (!bootargs_get(bootargs, "vireo.selftest", &v, &n))
        return;
    if (bootargs_is(bootargs, "vireo.selftest", "trap"))
        selftest = ST_TRAP;
    else if (bootargs_is(bootargs, "vireo.selftest", "panic"))
        selftest = ST_PANIC;
    else if (bootargs_is(bootargs, "vireo.selftest", "console"))
        selftest = ST_CONSOLE;
    else
        console_printf("vireo: unknown vireo.selftest=%.*s (known: trap panic console)\n", (int)n,
                       v);
}

static void console_lines(struct hart *h)
{
    for (unsigned i = 0; i < CONSOLE_LINES; i++)
        console_printf("selftest console: hart %u line %u ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\n",
                       h->index, i);
    __atomic_fetch_add(&console_done, 1, __ATOMIC_RELEASE);
}

void selftest_run_secondary(struct hart *h)
{
    if (selftest == ST_CONSOLE)
        console_lines(h);
}

void selftest_run_boot_hart(struct hart *h)
{
    switch (selftest) {
    case ST_TRAP:
        console_printf("selftest trap: executing an illegal instruction\n");
        arch_selftest_illegal_insn();
        panic("selftest trap: the illegal instruction did not trap");
    case ST_PANIC:
        panic("selftest panic: requested on the command line");
    case ST_CONSOLE: {
        console_lines(h);
        uint64_t deadline = arch_time() + 2 * ticks_per_second;
        while (__atomic_load_n(&console_done, __ATOMIC_ACQUIRE) < harts_online() &&
               arch_time() < deadline)
            arch_cpu_relax();
        console_printf("selftest console: %u harts done\n",
                       __atomic_load_n(&console_done, __ATOMIC_ACQUIRE));
        break;
    }
    case ST_NONE:
        break;
    }
}
