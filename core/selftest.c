/* SPDX-License-Identifier: Apache-2.0 */
#include "core/selftest.h"

#include "arch/arch.h"
#include "core/bootargs.h"
#include "core/console.h"
#include "core/hart.h"
#include "core/hostdev.h"
#include "core/panic.h"
#include "lib/spinlock.h"
#include "lib/string.h"

#define CONSOLE_LINES 16
#define ECHO_CHUNK    512

static enum { ST_NONE, ST_TRAP, ST_PANIC, ST_CONSOLE, ST_MGMT_ECHO } selftest;
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
    else if (bootargs_is(bootargs, "vireo.selftest", "mgmt-echo"))
        selftest = ST_MGMT_ECHO;
    else
        console_printf("vireo: unknown vireo.selftest=%.*s (known: trap panic console mgmt-echo)\n",
                       (int)n, v);
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
    case ST_MGMT_ECHO: /* later: it needs the host devices (selftest_run_late) */
    case ST_NONE:
        break;
    }
}

/* mgmt-echo: what was read and transformed but not yet written waits in
 * out[], and nothing more is read until it is gone, so the port's flow
 * control reaches the sender: the echo itself never drops a byte, however
 * fast the sender is.  Runs from the port's callbacks (readable, writable);
 * the lock keeps two harts' callbacks from interleaving bytes. */
static struct {
    struct spinlock lock;
    char in[ECHO_CHUNK]; /* here, not on the stack of an interrupt */
    char out[ECHO_CHUNK * (sizeof(SELFTEST_MGMT_PREFIX) - 1 + 1)];
    size_t len, off;
    bool line_start;
} echo = {.line_start = true};

static void mgmt_echo_pump(void)
{
    spin_lock(&echo.lock);
    for (;;) {
        while (echo.off < echo.len) {
            size_t k = hostdev_mgmt_write(echo.out + echo.off, echo.len - echo.off);
            if (!k)
                goto wait; /* the writable callback comes back */
            echo.off += k;
        }
        size_t n = hostdev_mgmt_read(echo.in, sizeof(echo.in));
        if (!n)
            break; /* the readable callback comes back */
        echo.len = echo.off = 0;
        for (size_t i = 0; i < n; i++) {
            if (echo.line_start) {
                memcpy(echo.out + echo.len, SELFTEST_MGMT_PREFIX, sizeof(SELFTEST_MGMT_PREFIX) - 1);
                echo.len += sizeof(SELFTEST_MGMT_PREFIX) - 1;
            }
            echo.out[echo.len++] = echo.in[i];
            echo.line_start = echo.in[i] == '\n';
        }
    }
wait:
    spin_unlock(&echo.lock);
}

void selftest_run_late(void)
{
    if (selftest != ST_MGMT_ECHO)
        return;
    if (!hostdev_mgmt_present()) {
        console_printf("selftest mgmt-echo: no management port\n");
        return;
    }
    hostdev_mgmt_notify(mgmt_echo_pump, mgmt_echo_pump);
    console_printf("selftest mgmt-echo: echoing the management port, each line prefixed with "
                   "\"" SELFTEST_MGMT_PREFIX "\"\n");
    mgmt_echo_pump(); /* bytes that came before the callbacks */
}
