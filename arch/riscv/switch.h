/* SPDX-License-Identifier: Apache-2.0 */
/* The assembly routines of the world switch (switch.S) and of FP/vector
 * switching (fpu.S), and the C function switch.S calls on every exit:
 * internal to arch/riscv (portable code uses vcpu_arch.h). */
#ifndef VIREO_ARCH_RISCV_SWITCH_H
#define VIREO_ARCH_RISCV_SWITCH_H

#include "arch/riscv/vcpu_ctx.h"

/* Runs the guest until its next trap into HS-mode that needs the loop,
 * which returns here with the exit recorded in the context returned
 * (scause, stval, htval, htinst, sepc, status): ctx, or another vCPU's the
 * exit fast path switched to, or NULL when the last of those left the
 * hart with nothing to follow. */
struct vcpu_ctx *vcpu_ctx_enter(struct vcpu_ctx *ctx);

/* For the exit fast path's switch (vcpu_switch.c), on Vireo's stack:
 * enter the guest of ctx, every register from it; or back to the loop as
 * from vcpu_ctx_enter (called with stack pointer sp), returning ctx. */
_Noreturn void vcpu_ctx_resume(struct vcpu_ctx *ctx);
_Noreturn void vcpu_ctx_return(struct vcpu_ctx *ctx, uint64_t sp);

/* Called by switch.S on every exit, on Vireo's stack (vcpu_switch.c):
 * handles exceptions through vcpu_exit() and, when nothing else needs the
 * scheduler, says to re-enter the guest at once (1, or 2 to reload every
 * register), else 0. */
long vcpu_arch_exit_fast(struct vcpu_ctx *ctx);
/* The same once GUEST_SREGS are stored too (after the fast path's 3), and
 * for a virtual-instruction exit, which stores them at once: 0 to the
 * scheduler, 1 or 2 to re-enter as above. */
long vcpu_arch_exit_full(struct vcpu_ctx *ctx);
long vcpu_arch_exit_virtual(struct vcpu_ctx *ctx);

void fp_save(struct fp_state *fp);
void fp_restore(const struct fp_state *fp);

void vec_save(void *area);
void vec_restore(const void *area);
unsigned long vec_vlenb(void);

#endif
