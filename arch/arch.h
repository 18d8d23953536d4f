/* SPDX-License-Identifier: Apache-2.0 */
/* The contract between portable code (core/, devices/, lib/) and the
 * architecture layer.  arch/riscv implements it on the hardware; the host
 * build (unit tests, fuzzers) implements it in tests/unit/fake_arch.c.
 * Nothing outside arch/ touches CSRs, fences or assembly: it calls these. */
#ifndef VIREO_ARCH_ARCH_H
#define VIREO_ARCH_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hart;
struct trap_frame;

/* Entry from the firmware (arch/riscv/entry.S) into portable code: the boot
 * hart's, with its hart id and the firmware's FDT. */
void vireo_main(unsigned long hartid, uintptr_t fdt_pa);

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
 * per-hart state.  Returns 0 or the firmware's (negative SBI) error. */
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

/* Prints this hart's trap CSRs and caller registers for panic(). */
void arch_dump_state(void);

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

#endif
