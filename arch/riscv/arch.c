/* SPDX-License-Identifier: Apache-2.0 */
/* The RISC-V side of arch/arch.h: hart identity, time, firmware calls,
 * device register access. */
#include "arch/arch.h"

#include "arch/riscv/csr.h"
#include "arch/riscv/sbi.h"
#include "lib/string.h"

/* Where harts started by arch_hart_start() begin (entry.S sets it at boot). */
uintptr_t arch_secondary_entry;

struct hart *arch_this_hart(void)
{
    struct hart *h;

    __asm__ volatile("mv %0, tp" : "=r"(h));
    return h;
}

uint64_t arch_time(void)
{
    uint64_t t;

    __asm__ volatile("rdtime %0" : "=r"(t));
    return t;
}

void arch_cpu_relax(void)
{
    /* pause (Zihintpause) is a fence hint that decodes as a no-op elsewhere. */
    __asm__ volatile(".insn i 0x0f, 0, x0, x0, 0x010" ::: "memory");
}

long arch_hart_start(unsigned long hartid, struct hart *h)
{
    struct sbiret r =
        sbi_ecall(SBI_EXT_HSM, SBI_HSM_HART_START, hartid, arch_secondary_entry, (uintptr_t)h);
    return r.error;
}

_Noreturn void arch_halt(void)
{
    csr_clear(sstatus, SSTATUS_SIE);
    csr_write(sie, 0);
    for (;;)
        __asm__ volatile("wfi");
}

_Noreturn void arch_poweroff(bool failure)
{
    if (sbi_probe(SBI_EXT_SRST)) {
        sbi_ecall(SBI_EXT_SRST, SBI_SRST_RESET, SBI_SRST_TYPE_SHUTDOWN,
                  failure ? SBI_SRST_REASON_SYSFAILURE : SBI_SRST_REASON_NONE, 0);
    }
    sbi_ecall(SBI_LEGACY_SHUTDOWN, 0, 0, 0, 0);
    arch_halt();
}

void arch_firmware_console_write(const char *s, size_t n)
{
    static int has_dbcn = -1;

    if (has_dbcn < 0)
        has_dbcn = sbi_probe(SBI_EXT_DBCN) != 0;
    for (size_t i = 0; i < n; i++) {
        /* Byte at a time: DBCN's buffer call wants a physical address range,
         * which is fine here, but byte writes also serve as the v0.1 path. */
        if (has_dbcn)
            sbi_ecall(SBI_EXT_DBCN, SBI_DBCN_WRITE_BYTE, (unsigned char)s[i], 0, 0);
        else
            sbi_ecall(SBI_LEGACY_CONSOLE_PUTCHAR, 0, (unsigned char)s[i], 0, 0);
    }
}

void arch_read_state(struct arch_state *s)
{
    s->sstatus = csr_read(sstatus);
    s->sepc = csr_read(sepc);
    s->scause = csr_read(scause);
    s->stval = csr_read(stval);
    s->stvec = csr_read(stvec);
    s->satp = csr_read(satp);
    s->ra = (uintptr_t)__builtin_return_address(0);
    s->sp = (uintptr_t)__builtin_frame_address(0);
    s->tp = (uintptr_t)arch_this_hart();
}

bool arch_irq_disable(void)
{
    uint64_t old;

    __asm__ volatile("csrrc %0, sstatus, %1" : "=r"(old) : "rK"(SSTATUS_SIE) : "memory");
    return (old & SSTATUS_SIE) != 0;
}

/* Device accesses follow Linux's convention for the RISC-V I/O model: a
 * write is ordered after earlier memory writes (fence w,o), a read before
 * later memory reads (fence i,r). */
uint8_t mmio_read8(uintptr_t addr)
{
    uint8_t v = *(volatile uint8_t *)addr;
    __asm__ volatile("fence i,r" ::: "memory");
    return v;
}

void mmio_write8(uintptr_t addr, uint8_t v)
{
    __asm__ volatile("fence w,o" ::: "memory");
    *(volatile uint8_t *)addr = v;
}

uint32_t mmio_read32(uintptr_t addr)
{
    uint32_t v = *(volatile uint32_t *)addr;
    __asm__ volatile("fence i,r" ::: "memory");
    return v;
}

void mmio_write32(uintptr_t addr, uint32_t v)
{
    __asm__ volatile("fence w,o" ::: "memory");
    *(volatile uint32_t *)addr = v;
}

void arch_dma_fence(void)
{
    __asm__ volatile("fence rw,rw" ::: "memory");
}

bool arch_cbo_zero_try(void *p);

static unsigned cboz_block;

unsigned arch_zero_init(bool zicboz)
{
    static uint8_t probe[4096] __attribute__((aligned(4096)));

    if (!zicboz)
        return 0;
    /* The block size is what one CBO.ZERO at the start of the page clears. */
    memset(probe, 0xff, sizeof(probe));
    if (!arch_cbo_zero_try(probe))
        return 0;
    unsigned n = 0;
    while (n < sizeof(probe) && probe[n] == 0)
        n++;
    if (n < 16 || (n & (n - 1)))
        return 0;
    cboz_block = n;
    return n;
}

void arch_zero_pages(void *p, size_t n)
{
    if (!cboz_block) {
        memset(p, 0, n);
        return;
    }
    uintptr_t a = (uintptr_t)p, end = a + n, b = cboz_block;
    /* Eight blocks a round while they fit in a page (n is whole pages):
     * CBO.ZERO takes no offset, so each block costs its own address. */
    if (8 * b <= 4096) {
        for (; a < end; a += 8 * b)
            __asm__ volatile(".insn i 0x0f, 2, x0, %0, 4\n\t" /* cbo.zero (a) */
                             ".insn i 0x0f, 2, x0, %1, 4\n\t"
                             ".insn i 0x0f, 2, x0, %2, 4\n\t"
                             ".insn i 0x0f, 2, x0, %3, 4\n\t"
                             ".insn i 0x0f, 2, x0, %4, 4\n\t"
                             ".insn i 0x0f, 2, x0, %5, 4\n\t"
                             ".insn i 0x0f, 2, x0, %6, 4\n\t"
                             ".insn i 0x0f, 2, x0, %7, 4" ::"r"(a),
                             "r"(a + b), "r"(a + 2 * b), "r"(a + 3 * b), "r"(a + 4 * b),
                             "r"(a + 5 * b), "r"(a + 6 * b), "r"(a + 7 * b)
                             : "memory");
        return;
    }
    for (; a < end; a += b)
        __asm__ volatile(".insn i 0x0f, 2, x0, %0, 4" ::"r"(a) : "memory"); /* cbo.zero (a) */
}

void arch_image_range(uintptr_t *start, uintptr_t *end)
{
    extern char __image_start[], __image_end[];

    *start = (uintptr_t)__image_start;
    *end = (uintptr_t)__image_end;
}

void arch_selftest_illegal_insn(void)
{
    __asm__ volatile(".word 0" ::: "memory");
}
