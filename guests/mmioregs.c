/* SPDX-License-Identifier: Apache-2.0 */
/* MMIO through every register: loads (lbu, lb) into and stores (sb) from
 * each of x1 and x3..x31, the UART's scratch register as the device, and
 * a PLIC claim (lw) into each, with every other register holding a
 * pattern that must come back unchanged.
 * Under Vireo this covers the exit path's register handling: registers
 * stored on every exit, those stored only when an access names them
 * (switch.S), the reload after a load into one of those, and the vCPU's
 * cached last access (each load is done twice in a row in the K=3 runs).
 * The same guest passes natively. */
#include "guests/rt/gfdt.h"
#include "guests/rt/rt.h"
#include "lib/fdt.h"

const char guest_name[] = "mmioregs";

#define UART_IER  1
#define UART_SCR  7
#define IER_ETBEI 0x02
#define KINDS     5

struct mmioregs_run {
    uint64_t addr, test, store_value;
    uint64_t x[32];
};

void mmioregs_run(struct mmioregs_run *r);

static uint64_t pattern(unsigned i)
{
    return ((uint64_t)i * 0x0101010101010101ull) ^ 0xa5a5a5a55a5a5a5aull;
}

static uint64_t uart_base(void)
{
    const struct fdt *f = gfdt();
    int node = fdt_find_compatible(f, -1, "ns16550a");
    uint64_t base, size;

    if (node < 0 || fdt_reg(f, node, 0, &base, &size) < 0)
        guest_fail("no ns16550a device with a reg in the device tree");
    return base;
}

static volatile uint32_t *plic;
static unsigned plic_ctx, uart_src;

static volatile uint32_t *plic_reg(uint64_t off)
{
    return (volatile uint32_t *)((uintptr_t)plic + off);
}

/* The UART's transmitter-empty interrupt, enabled through the PLIC (but
 * not in sie: never taken): pending whenever it is not claimed. */
static void plic_setup(volatile uint8_t *uart, uint64_t hartid)
{
    const struct fdt *f = gfdt();
    int un = fdt_find_compatible(f, -1, "ns16550a");
    int pn = fdt_find_compatible(f, -1, "riscv,plic0");
    uint64_t base, size;
    uint32_t irq;

    if (un < 0 || pn < 0 || !fdt_prop_u32(f, un, "interrupts", &irq) ||
        fdt_reg(f, pn, 0, &base, &size) < 0)
        guest_fail("expected a UART with interrupts and a PLIC with reg in the FDT");
    plic = (volatile uint32_t *)(uintptr_t)base;
    uart_src = irq;
    int c = gfdt_plic_s_context(pn, hartid);
    if (c < 0)
        guest_fail("no S-mode PLIC context for hart %lu", (unsigned long)hartid);
    plic_ctx = (unsigned)c;
    *plic_reg(4 * uart_src) = 1;
    *plic_reg(0x2000 + 0x80ul * plic_ctx + 4 * (uart_src / 32)) |= 1u << (uart_src % 32);
    *plic_reg(0x200000 + 0x1000ul * plic_ctx) = 0;
    uart[UART_IER] = IER_ETBEI;
}

static void check_others(const struct mmioregs_run *r, unsigned target, unsigned base,
                         const char *what)
{
    for (unsigned i = 1; i < 32; i++) {
        if (i == 2 || i == target)
            continue;
        uint64_t want = i == base ? r->addr : pattern(i);
        if (r->x[i] != want)
            guest_fail("%s x%u: x%u is %#lx, expected %#lx (unchanged)", what, target, i,
                       (unsigned long)r->x[i], (unsigned long)want);
    }
}

void guest_main(uint64_t hartid)
{
    volatile uint8_t *uart = (volatile uint8_t *)(uintptr_t)uart_base();
    volatile uint8_t *scr = uart + UART_SCR;
    static struct mmioregs_run r;
    unsigned n = 0;

    plic_setup(uart, hartid);
    volatile uint32_t *claim = plic_reg(0x200004 + 0x1000ul * plic_ctx);

    for (unsigned reg = 1; reg < 32; reg++) {
        if (reg == 2)
            continue; /* sp holds the dump's address */
        unsigned base = reg == 5 ? 6 : 5;
        for (unsigned k = 0; k < KINDS; k++) {
            /* A value whose top bit is set for lb (sign extension), and
             * different per test so a stale result shows. */
            uint8_t v = (uint8_t)(0x80 | (reg * 4 + k));
            r.addr = k == 4 ? (uintptr_t)claim : (uintptr_t)scr;
            r.test = reg * KINDS + k;
            if (k == 4) {
                /* THRE again: enabling it with the THR empty raises it. */
                uart[UART_IER] = 0;
                uart[UART_IER] = IER_ETBEI;
                mmioregs_run(&r);
                if (r.x[reg] != uart_src)
                    guest_fail("lw (PLIC claim) into x%u gave %#lx, expected source %u", reg,
                               (unsigned long)r.x[reg], uart_src);
                check_others(&r, reg, base, "lw (PLIC claim) into");
                *claim = uart_src; /* complete */
                n++;
                continue;
            }
            if (k == 2) {
                *scr = 0;
                r.store_value = 0x1234567890abcd00ull | v;
            } else {
                *scr = v;
            }
            mmioregs_run(&r);
            uint64_t want = k == 1 ? (uint64_t)(int64_t)(int8_t)v : v;
            const char *what = k == 0   ? "lbu into"
                               : k == 1 ? "lb into"
                               : k == 2 ? "sb from"
                                        : "lbu twice into";
            if (k == 2) {
                if (*scr != v)
                    guest_fail("sb from x%u stored %#x, expected %#x", reg, *scr, v);
                if (r.x[reg] != r.store_value)
                    guest_fail("sb from x%u changed it to %#lx", reg, (unsigned long)r.x[reg]);
            } else if (r.x[reg] != want) {
                guest_fail("%s x%u gave %#lx, expected %#lx", what, reg, (unsigned long)r.x[reg],
                           (unsigned long)want);
            }
            check_others(&r, reg, base, what);
            n++;
        }
    }
    guest_pass("%u MMIO accesses through x1, x3..x31 (lbu, lb, sb, lbu twice, PLIC claim), every "
               "other register kept",
               n);
}
