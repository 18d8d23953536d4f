/* SPDX-License-Identifier: Apache-2.0 */
/* The firmware's debug triggers under the vCPUs' (dbtr.c): internal to
 * arch/riscv.  The vCPU-facing calls are in vcpu_arch.h. */
#ifndef VIREO_ARCH_RISCV_DBTR_H
#define VIREO_ARCH_RISCV_DBTR_H

struct vcpu_arch;

/* Finds the firmware's triggers and gives it this hart's shared memory;
 * the first hart's count (the boot hart's) is every vCPU's
 * (vcpu_arch_trig_max).  From arch_hart_irq_init, on each hart. */
void dbtr_hart_init(void);

/* Installs the vCPU's armed triggers (trig_on) on this hart, recording the
 * firmware's indices in trig_fw; one the hart has no room for is skipped.
 * The vCPU is being loaded, or from its own exit. */
void dbtr_arm(struct vcpu_arch *a);

/* Uninstalls trig_fw from this hart: 0, or the firmware's error (then
 * they may still be installed). */
long dbtr_disarm(struct vcpu_arch *a);

#endif
