/* SPDX-License-Identifier: Apache-2.0 */
/* What the hart-level code (cpu.c) decided at boot and the vCPU code
 * (vcpu_arch.c, vcpu_switch.c) needs: internal to arch/riscv. */
#ifndef VIREO_ARCH_RISCV_CPU_H
#define VIREO_ARCH_RISCV_CPU_H

#include <stdbool.h>
#include <stdint.h>

struct riscv_cpu {
    bool sstc;     /* guests get Sstc (vstimecmp); Vireo uses stimecmp */
    bool vector;   /* the V extension: vCPUs have vector state */
    bool hstateen; /* Smstateen: hstateen0 is written for each vCPU */
    /* What the firmware left in scounteren and senvcfg for its S-mode
     * payload: a vCPU starts with the same (vcpu_arch_reset), as the guest
     * kernel would natively (OpenSBI lets U-mode read cycle, time and
     * instret, and Linux's vDSO reads time). */
    uint64_t scounteren_reset, senvcfg_reset;
};

/* Written once by arch_hart_irq_init() on the boot hart, before any vCPU runs. */
extern struct riscv_cpu riscv_cpu;

#endif
