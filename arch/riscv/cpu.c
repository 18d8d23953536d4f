/* SPDX-License-Identifier: Apache-2.0 */
/* The hart as the hypervisor uses it: delegation and interrupt setup,
 * G-stage probing, the host timer, IPIs and fences.  Services declared in
 * arch/arch.h; nothing here calls portable code. */
#include "arch/riscv/cpu.h"

#include "arch/arch.h"
#include "arch/riscv/csr.h"
#include "arch/riscv/dbtr.h"
#include "arch/riscv/sbi.h"
#include "arch/riscv/switch.h"
#include "arch/riscv/vcpu_arch.h"

/* The guest's own interrupts (hideleg); the exceptions it handles itself
 * (hedeleg) are per vCPU, VCPU_HEDELEG_RESET until it changes them (SBI
 * FWFT), and written with each vCPU (vcpu_arch_load). */
#define HIDELEG_GUEST (HVIP_VSSIP | HVIP_VSTIP | HVIP_VSEIP)

struct riscv_cpu riscv_cpu;

size_t arch_vector_state_size(void)
{
    if (!riscv_cpu.vector)
        return 0;
    csr_set(sstatus, SSTATUS_VS_INITIAL);
    size_t n = VEC_HEADER + 32 * vec_vlenb();
    csr_clear(sstatus, SSTATUS_VS);
    return n;
}

void arch_hart_irq_init(bool use_sstc, bool use_vector, bool use_hstateen)
{
    riscv_cpu.sstc = use_sstc;
    riscv_cpu.vector = use_vector;
    riscv_cpu.hstateen = use_hstateen;
    /* Every hart's firmware leaves the same values; Vireo never wrote
     * these CSRs before (vCPUs switch them from now on). */
    __atomic_store_n(&riscv_cpu.scounteren_reset, csr_read(scounteren), __ATOMIC_RELAXED);
    __atomic_store_n(&riscv_cpu.senvcfg_reset, csr_read(senvcfg), __ATOMIC_RELAXED);
    csr_write(hedeleg, VCPU_HEDELEG_RESET);
    csr_write(hideleg, HIDELEG_GUEST);
    /* henvcfg, hcounteren and hstateen0 are each VM's (core/isa.c),
     * written when one of its vCPUs is loaded (vcpu_arch_load). */
    csr_write(hcounteren, 0);
    csr_write(htimedelta, 0);
    csr_write(hvip, 0);
    csr_write(henvcfg, 0);
    if (use_hstateen)
        csr_write(hstateen0, 0);
    if (use_sstc)
        csr_write(stimecmp, UINT64_MAX);
    /* Timer, IPIs and the host's own device interrupts end a guest's run
     * (HS interrupts are always taken while V=1) and wake wfi; in Vireo
     * itself SIE stays 0. */
    csr_write(sie, (1ULL << IRQ_S_SOFT) | (1ULL << IRQ_S_TIMER) | (1ULL << IRQ_S_EXT));
    dbtr_hart_init();
}

uint64_t arch_henvcfg_writable(uint64_t bits)
{
    /* A bit the hart lacks, or the firmware left clear in menvcfg, reads
     * back as zero (privileged spec, henvcfg). */
    csr_write(henvcfg, bits);
    uint64_t ok = csr_read(henvcfg) & bits;
    csr_write(henvcfg, 0);
    return ok;
}

void arch_gstage_probe(struct gstage_caps *caps)
{
    /* An unsupported MODE makes the whole hgatp write have no effect, and
     * VMID bits that are not implemented read back as zero. */
    static const unsigned modes[] = {8, 9, 10};
    bool *ok[] = {&caps->sv39x4, &caps->sv48x4, &caps->sv57x4};

    for (int i = 0; i < 3; i++) {
        csr_write(hgatp, (uint64_t)modes[i] << 60);
        *ok[i] = (csr_read(hgatp) >> 60) == modes[i];
    }
    csr_write(hgatp, (8ULL << 60) | (0x3fffULL << 44));
    uint64_t vmid = (csr_read(hgatp) >> 44) & 0x3fff;
    caps->vmid_bits = 0;
    while (vmid & (1ULL << caps->vmid_bits))
        caps->vmid_bits++;
    csr_write(hgatp, 0);
    arch_hfence_gvma_all();
}

void arch_fence_i(void)
{
    __asm__ volatile("fence.i" ::: "memory");
}

void arch_timer_set(uint64_t deadline)
{
    if (riscv_cpu.sstc)
        csr_write(stimecmp, deadline);
    else
        sbi_ecall(SBI_EXT_TIME, 0, deadline, 0, 0);
}

void arch_ipi_send(unsigned long hartid)
{
    sbi_ecall(SBI_EXT_IPI, SBI_IPI_SEND_IPI, 1, hartid, 0);
}

void arch_ipi_clear(void)
{
    csr_clear(sip, 1ULL << IRQ_S_SOFT);
}

void arch_wait_for_interrupt(void)
{
    __asm__ volatile("wfi" ::: "memory");
}
