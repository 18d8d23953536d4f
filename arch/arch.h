/* SPDX-License-Identifier: Apache-2.0 */
/* The hart half of the contract between portable code (core/, devices/,
 * drivers/, lib/) and the architecture layer; the vCPU half is
 * arch/riscv/vcpu_arch.h and the encodings portable code may use are
 * arch/riscv/encoding.h.  arch/riscv implements it on the hardware; the
 * host build (unit tests, fuzzers) implements it in tests/unit/fake_arch.c.
 * Nothing outside arch/ touches CSRs, fences or assembly: it calls these.
 *
 * Calling context: any hart, with interrupts on or off, unless the comment
 * says otherwise.  Vireo runs with interrupts off (sstatus.SIE = 0) except
 * while a guest runs; "boot" means on the boot hart before the other harts
 * are started. */
#ifndef VIREO_ARCH_ARCH_H
#define VIREO_ARCH_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hart;
struct trap_frame;

/* Entry points portable code provides to arch/riscv (called from there,
 * declared here so both sides agree):
 *  - vireo_main: the boot hart, from the firmware, with its hart id and the
 *    firmware's FDT (core/main.c);
 *  - hart_secondary_main: each other hart once started (core/main.c);
 *  - trap_fatal, trap_report_unexpected_irq: Vireo's own traps (core/panic.c);
 *  - vcpu_exit, vcpu_exit_traced: a guest's exit (core/exit.c, vcpu.h);
 *    the second when the hart's trace_on (core/hart.h) is set. */
void vireo_main(unsigned long hartid, uintptr_t fdt_pa);
void hart_secondary_main(unsigned long hartid, struct hart *h);

/* The calling hart's per-hart state (kept in tp on RISC-V). */
struct hart *arch_this_hart(void);

/* Free-running platform time in timebase ticks. */
uint64_t arch_time(void);

/* Hint inside spin-wait loops. */
void arch_cpu_relax(void);

/* True when the hypervisor CSRs are really there (a guarded CSR read). */
bool arch_probe_h(void);

/* One read of the Zkr seed CSR into *out (OPST in bits 31:30, 16 bits of
 * entropy in 15:0 when OPST is ES16).  False when the CSR is not there or
 * not accessible in S-mode. */
bool arch_seed_read(uint32_t *out);

/* Zeroes n bytes at p, both multiples of 4 KiB: pages handed to a guest or
 * to Vireo's tables.  With Zicboz, one instruction per cache block. */
void arch_zero_pages(void *p, size_t n);

/* Lets arch_zero_pages() use Zicboz when every hart has it (zicboz, from
 * the device tree) and it works here (the firmware enabled it for S-mode):
 * returns the cache block size it found, or 0 (plain stores). */
unsigned arch_zero_init(bool zicboz);

/* Asks the firmware to start a hart at the secondary entry point with its
 * per-hart state.  Returns 0 or the firmware's (negative SBI) error.  Boot. */
long arch_hart_start(unsigned long hartid, struct hart *h);

/* Park this hart for good, with interrupts off. */
_Noreturn void arch_halt(void);

/* Power the whole machine off; failure selects the "system failure" reason. */
_Noreturn void arch_poweroff(bool failure);

/* Console output through the firmware (SBI DBCN, else the legacy call):
 * usable before Vireo has found a UART, and as the fallback without one. */
void arch_firmware_console_write(const char *s, size_t n);

/* Where Vireo's own image (code, data, bss, boot stack) lies in RAM. */
void arch_image_range(uintptr_t *start, uintptr_t *end);

/* Executes an illegal instruction (self-test of the trap path). */
void arch_selftest_illegal_insn(void);

/* This hart's trap CSRs and its caller's registers, for panic(). */
struct arch_state {
    uint64_t sstatus, sepc, scause, stval, stvec, satp;
    uint64_t ra, sp, tp;
};
void arch_read_state(struct arch_state *s);

/* Turns interrupts off on this hart; returns whether they were on. */
bool arch_irq_disable(void);

/* Device register access with the ordering rules of the RISC-V I/O model. */
uint8_t mmio_read8(uintptr_t addr);
void mmio_write8(uintptr_t addr, uint8_t v);
uint32_t mmio_read32(uintptr_t addr);
void mmio_write32(uintptr_t addr, uint32_t v);

/* Orders memory accesses shared with a device's DMA (ring entries before
 * the index that publishes them; an index before the entries it covers). */
void arch_dma_fence(void);

/* What the hart offers for guests: G-stage modes and VMID bits (probed by
 * writing hgatp).  Boot. */
struct gstage_caps {
    bool sv39x4, sv48x4, sv57x4;
    unsigned vmid_bits;
};
void arch_gstage_probe(struct gstage_caps *caps);

/* Per-hart setup for running guests, on each hart before it runs one:
 * delegation, the host interrupts Vireo takes (timer, IPI, external: they
 * end a guest's run and wake wfi; SIE stays 0), and whether guests get
 * Sstc and the vector unit and vCPUs carry hstateen0 (the same on every
 * hart). */
void arch_hart_irq_init(bool host_sstc, bool host_vector, bool host_hstateen);

/* Which of these henvcfg bits the hart lets Vireo set (the others read as
 * zero: not implemented, or the firmware left them clear in menvcfg).
 * Boot, before any vCPU runs. */
uint64_t arch_henvcfg_writable(uint64_t bits);

/* Whether hstateen0 (Smstateen) exists and HS-mode may write it (guarded:
 * false instead of a trap).  Boot. */
bool arch_probe_hstateen(void);

/* Bytes of a vCPU's vector save area on this host (0 without V).  After
 * arch_hart_irq_init on the boot hart. */
size_t arch_vector_state_size(void);

/* TLB maintenance on this hart: G-stage entries of a VMID (or all), and
 * VS-stage entries of the VMID now in hgatp (the loaded vCPU's, so only
 * from the run loop or a vCPU's own exit); FENCE.I. */
void arch_hfence_gvma_vmid(unsigned vmid);
/* G-stage entries of one guest-physical page (gpa) of a VMID, on this hart. */
void arch_hfence_gvma_gpa(uint64_t gpa, unsigned vmid);
void arch_hfence_gvma_all(void);
void arch_hfence_vvma_vmid(unsigned vmid);
void arch_fence_i(void);

/* This hart's timer: one interrupt at deadline (timebase ticks), replacing
 * the previous one (stimecmp with Sstc, else SBI TIME).  Interrupts off. */
void arch_timer_set(uint64_t deadline);

/* Interrupts another hart (SBI IPI); it exits a guest at once or wakes
 * from arch_wait_for_interrupt.  arch_ipi_clear acknowledges one on this
 * hart. */
void arch_ipi_send(unsigned long hartid);
void arch_ipi_clear(void);

/* Waits on this hart until an interrupt is pending (wfi; interrupts off,
 * so it returns without taking it). */
void arch_wait_for_interrupt(void);

#endif
