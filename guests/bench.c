/* SPDX-License-Identifier: Apache-2.0 */
/* bench: the guest behind `make bench` (bench/run).  It runs natively (as
 * OpenSBI's payload) and under Vireo, and prints one line per figure:
 *   guest bench: result KEY VALUE
 * VALUE is instructions (two decimals) as counted by instret, which under
 * QEMU -icount shift=0 counts every instruction the machine executes.
 *
 * Bootargs:
 *   bench=LIST    comma-separated: sbi, mmio, timer, ipi, switch, cpu
 *                 [sbi,mmio,timer,cpu; ipi needs a second hart]
 *   iters=N       iterations per figure [100000]; cpu=N steps for cpu [4000000]
 *   extra=N       switch: N more iterations than measured (the second VM of
 *                 the pair runs longer so the first finishes undisturbed)
 *
 * Each path length is (loop with the operation - the same loop without it)
 * / iterations, so the loop's own instructions are not counted but the
 * operation's instruction (ecall, load, store, wfi) is. */
#include "guests/rt/gfdt.h"
#include "guests/rt/rt.h"
#include "guests/rt/sbi.h"
#include "lib/fdt.h"
#include "lib/string.h"

const char guest_name[] = "bench";

uint64_t bench_ecall_loop(uint64_t n, unsigned long eid, unsigned long fid, int do_ecall);
uint64_t bench_empty_loop(uint64_t n);
uint64_t bench_lbu_loop(uint64_t n, uintptr_t addr);
uint64_t bench_lw_loop(uint64_t n, uintptr_t addr);
uint64_t bench_sb_loop(uint64_t n, uintptr_t addr, uint64_t value);
uint64_t bench_sw_loop(uint64_t n, uintptr_t addr, uint64_t value);
int64_t bench_timer_once(uint64_t ticks, int use_sbi);
int64_t bench_ipi_once(unsigned long hart_mask, int kick);
uint64_t bench_wfi_loop(uint64_t n, int do_wfi);
extern char bench_timer_vector[], bench_ipi_receiver[];
extern volatile uint64_t bench_ipi_ready;

#define UART_LSR      5
#define UART_SCR      7
#define TIMER_AHEAD   30 /* ticks (100 instructions each under icount) */
#define CPU_BUF_BYTES (8u << 20)
#define SIE_STIE_BIT  (1ul << 5)

static uint64_t iters = 100000;

/* Prints x / n with two decimals (x may be negative). */
static void result(const char *key, int64_t x, uint64_t n)
{
    const char *sign = "";
    uint64_t u = (uint64_t)x;

    if (x < 0) {
        sign = "-";
        u = (uint64_t)-x;
    }
    uint64_t hundredths = (u * 100 + n / 2) / n;
    glog("result %s %s%lu.%02lu", key, sign, (unsigned long)(hundredths / 100),
         (unsigned long)(hundredths % 100));
}

static bool want(const char *list, size_t len, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && list[j] != ',')
            j++;
        if (j - i == n && !memcmp(list + i, name, n))
            return true;
        i = j + 1;
    }
    return false;
}

static void bench_sbi(void)
{
    int64_t full = (int64_t)bench_ecall_loop(iters, SBI_EXT_BASE, SBI_BASE_GET_SPEC_VERSION, 1);
    int64_t empty = (int64_t)bench_ecall_loop(iters, SBI_EXT_BASE, SBI_BASE_GET_SPEC_VERSION, 0);
    result("sbi_roundtrip_instr", full - empty, iters);
}

static uint64_t device_base(const char *compat)
{
    const struct fdt *f = gfdt();
    int node = fdt_find_compatible(f, -1, compat);
    uint64_t base, size;

    if (node < 0 || fdt_reg(f, node, 0, &base, &size) < 0)
        guest_fail("no %s device with a reg in the device tree", compat);
    return base;
}

static void bench_mmio(void)
{
    uint64_t uart = device_base("ns16550a");
    uint64_t plic = device_base("riscv,plic0");
    int64_t empty = (int64_t)bench_empty_loop(iters);

    /* LSR has no side effect; SCR is the scratch register; PLIC source 1's
     * priority register exists on every PLIC (written 0: never interrupts). */
    result("mmio_read_uart_instr", (int64_t)bench_lbu_loop(iters, uart + UART_LSR) - empty, iters);
    result("mmio_write_uart_instr", (int64_t)bench_sb_loop(iters, uart + UART_SCR, 0x5a) - empty,
           iters);
    result("mmio_read_plic_instr", (int64_t)bench_lw_loop(iters, plic + 4) - empty, iters);
    result("mmio_write_plic_instr", (int64_t)bench_sw_loop(iters, plic + 4, 0) - empty, iters);
}

static void timer_run(const char *key, int use_sbi)
{
    int64_t sum = 0;

    csr_write(stvec, (uintptr_t)bench_timer_vector);
    csr_set(sstatus, SSTATUS_SIE);
    for (uint64_t i = 0; i < iters; i++)
        sum += bench_timer_once(TIMER_AHEAD, use_sbi);
    csr_clear(sstatus, SSTATUS_SIE);
    csr_clear(sie, SIE_STIE_BIT);
    sbi_set_timer(UINT64_MAX);
    extern char guest_trap_entry[];
    csr_write(stvec, (uintptr_t)guest_trap_entry);
    result(key, sum, iters);
}

static void bench_timer(uint64_t hartid)
{
    if (gfdt_hart_has_ext(hartid, "sstc")) {
        timer_run("timer_irq_latency_sstc_instr", 0);
        csr_write(stimecmp, UINT64_MAX);
    } else {
        glog("result timer_irq_latency_sstc_instr n/a (no sstc in the device tree)");
    }
    timer_run("timer_irq_latency_sbi_instr", 1);
}

static void ipi_start(uint64_t hartid, void *arg)
{
    (void)hartid;
    (void)arg;
    ((void (*)(void))bench_ipi_receiver)();
}

static void bench_ipi(uint64_t hartid)
{
    uint64_t ids[8];
    int n = gfdt_harts(ids, 8);
    uint64_t target = hartid;

    for (int i = 0; i < n && i < 8; i++) {
        if (ids[i] != hartid) {
            target = ids[i];
            break;
        }
    }
    if (target == hartid) {
        glog("result ipi_latency_instr n/a (one hart)");
        return;
    }
    long err = guest_hart_start(target, ipi_start, NULL);
    if (err)
        guest_fail("hart_start(%lu) returned %ld", (unsigned long)target, err);
    uint64_t limit = guest_time() + guest_ms_to_ticks(5000);
    while (!bench_ipi_ready) {
        if (guest_time() > limit)
            guest_fail("IPI receiver hart %lu did not come up", (unsigned long)target);
    }
    /* Let it reach its wfi. */
    limit = guest_time() + guest_ms_to_ticks(1);
    while (guest_time() < limit)
        ;
    int kick = gfdt_hart_has_ext(hartid, "sstc");
    int64_t sum = 0;
    for (uint64_t i = 0; i < iters; i++)
        sum += bench_ipi_once(1ul << target, kick);
    if (kick)
        csr_write(stimecmp, UINT64_MAX);
    result("ipi_latency_instr", sum, iters);
}

static void bench_switch(void)
{
    uint64_t extra = guest_bootarg_u64("extra", 0);
    uint64_t warm = 1000;

    /* A timer interrupt pending and enabled in sie but masked by
     * sstatus.SIE: every wfi returns at once (natively) or, under Vireo,
     * exits and gives the hart to the other VM's vCPU. */
    int64_t empty = (int64_t)bench_wfi_loop(iters, 0);
    csr_clear(sstatus, SSTATUS_SIE);
    sbi_set_timer(0);
    csr_set(sie, SIE_STIE_BIT);
    bench_wfi_loop(warm, 1);
    int64_t full = (int64_t)bench_wfi_loop(iters, 1);
    /* Each iteration is two switches: to the other VM and back. */
    result("vcpu_switch_instr", (full - empty) / 2, iters);
    if (extra)
        bench_wfi_loop(extra, 1);
    csr_clear(sie, SIE_STIE_BIT);
    sbi_set_timer(UINT64_MAX);
}

/* CPU and memory work with paging on: Sv39, the image identity-mapped by a
 * gigapage, an 8 MiB buffer by 4 KiB pages at VA 0x40000000, and a
 * pseudo-random read-modify-write walk over it. */
static uint8_t cpu_buf[CPU_BUF_BYTES] __attribute__((aligned(4096)));
static uint64_t pt_root[512] __attribute__((aligned(4096)));
static uint64_t pt_l1[512] __attribute__((aligned(4096)));
static uint64_t pt_l0[CPU_BUF_BYTES / 4096] __attribute__((aligned(4096)));

#define PTE_V   0x01ul
#define PTE_RW  0x06ul
#define PTE_X   0x08ul
#define PTE_AD  0xc0ul
#define CPU_VA  0x40000000ul
#define pte(pa) (((uint64_t)(pa) >> 12) << 10)

static void bench_cpu(void)
{
    uint64_t steps = guest_bootarg_u64("cpu", 4000000);
    uintptr_t image = (uintptr_t)__image_start & ~((1ul << 30) - 1);

    if (iters < 100000)
        steps = iters; /* the smoke test */
    memset(pt_root, 0, sizeof(pt_root));
    memset(pt_l1, 0, sizeof(pt_l1));
    pt_root[image >> 30] = pte(image) | PTE_V | PTE_RW | PTE_X | PTE_AD;
    pt_root[CPU_VA >> 30] = pte(pt_l1) | PTE_V;
    for (unsigned i = 0; i < CPU_BUF_BYTES / 4096 / 512; i++)
        pt_l1[i] = pte(&pt_l0[i * 512]) | PTE_V;
    for (unsigned i = 0; i < CPU_BUF_BYTES / 4096; i++)
        pt_l0[i] = pte(cpu_buf + i * 4096ul) | PTE_V | PTE_RW | PTE_AD;
    __asm__ volatile("sfence.vma" ::: "memory");
    csr_write(satp, (8ul << 60) | ((uintptr_t)pt_root >> 12));
    __asm__ volatile("sfence.vma" ::: "memory");

    volatile uint64_t *buf = (volatile uint64_t *)CPU_VA;
    const uint64_t mask = CPU_BUF_BYTES / 8 - 1;
    uint64_t x = 0x9e3779b97f4a7c15ul, sum = 0;
    uint64_t t0 = guest_time();
    uint64_t i0 = csr_read(instret);
    for (uint64_t i = 0; i < steps; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t idx = (x >> 11) & mask;
        buf[idx] += x ^ sum;
        sum += buf[(idx * 7 + 1) & mask] * 3 + (sum >> 5);
    }
    uint64_t i1 = csr_read(instret);
    uint64_t t1 = guest_time();

    csr_write(satp, 0);
    __asm__ volatile("sfence.vma" ::: "memory");
    glog("result cpu_work_instr %lu.00", (unsigned long)(i1 - i0));
    glog("cpu: %lu steps in %lu us of guest time, checksum %#lx", (unsigned long)steps,
         (unsigned long)guest_ticks_to_us(t1 - t0), (unsigned long)sum);
}

void guest_main(uint64_t hartid)
{
    size_t len;
    const char *list = guest_bootarg("bench", &len);

    if (!list) {
        list = "sbi,mmio,timer,cpu";
        len = strlen(list);
    }
    iters = guest_bootarg_u64("iters", iters);
    if (!iters)
        guest_fail("iters must be at least 1");
    if (want(list, len, "sbi"))
        bench_sbi();
    if (want(list, len, "mmio"))
        bench_mmio();
    if (want(list, len, "timer"))
        bench_timer(hartid);
    if (want(list, len, "ipi"))
        bench_ipi(hartid);
    if (want(list, len, "switch"))
        bench_switch();
    if (want(list, len, "cpu"))
        bench_cpu();
    guest_pass("%.*s, %lu iterations", (int)len, list, (unsigned long)iters);
}
