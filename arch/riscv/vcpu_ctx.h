/* SPDX-License-Identifier: Apache-2.0 */
/* The part of a vCPU that the world switch (switch.S) reads and writes,
 * and the FP/vector save layouts (fpu.S): plain data.  Offsets are word
 * indexes shared with the assembly and checked against the C layout. */
#ifndef VIREO_ARCH_RISCV_VCPU_CTX_H
#define VIREO_ARCH_RISCV_VCPU_CTX_H

#define CTX_GPR(n)  (n) /* guest x1..x31; slot 0 unused */
#define CTX_SEPC    32  /* guest pc */
#define CTX_SSTATUS 33  /* HS sstatus for sret into the guest; the exit's afterwards */
#define CTX_HSTATUS 34  /* hstatus for sret; the exit's afterwards */
#define CTX_HOST_SP 35  /* Vireo's sp and tp while the guest runs (the rest: */
#define CTX_HOST_TP 36  /* HART_WORLD_SAVE, in struct hart, which tp points to) */
#define CTX_SCAUSE  37
#define CTX_STVAL   38
#define CTX_HTVAL   39
#define CTX_HTINST  40
#define CTX_WORDS   41

/* Byte offset in struct hart (core/hart.h), checked in vcpu_switch.c:
 * Vireo's ra and s0..s11 while a guest runs. */
#define HART_WORLD_SAVE 16

#define FP_STATE_FCSR 32 /* struct fp_state: word index of fcsr (f0..f31 before it) */
#define VEC_HEADER    32 /* vector save area: bytes of vl, vtype, vstart, vcsr */

#ifndef __ASSEMBLER__
#include <stdint.h>

struct vcpu_ctx {
    uint64_t gpr[32];
    uint64_t sepc;
    uint64_t sstatus;
    uint64_t hstatus;
    uint64_t host_sp, host_tp;
    uint64_t scause, stval, htval, htinst;
};

/* Every offset switch.S and trap.S use, checked against the C layout. */
#include <stddef.h>
_Static_assert(offsetof(struct vcpu_ctx, gpr) == CTX_GPR(0) * 8, "CTX_GPR");
_Static_assert(offsetof(struct vcpu_ctx, sepc) == CTX_SEPC * 8, "CTX_SEPC");
_Static_assert(offsetof(struct vcpu_ctx, sstatus) == CTX_SSTATUS * 8, "CTX_SSTATUS");
_Static_assert(offsetof(struct vcpu_ctx, hstatus) == CTX_HSTATUS * 8, "CTX_HSTATUS");
_Static_assert(offsetof(struct vcpu_ctx, host_sp) == CTX_HOST_SP * 8, "CTX_HOST_SP");
_Static_assert(offsetof(struct vcpu_ctx, host_tp) == CTX_HOST_TP * 8, "CTX_HOST_TP");
_Static_assert(offsetof(struct vcpu_ctx, scause) == CTX_SCAUSE * 8, "CTX_SCAUSE");
_Static_assert(offsetof(struct vcpu_ctx, stval) == CTX_STVAL * 8, "CTX_STVAL");
_Static_assert(offsetof(struct vcpu_ctx, htval) == CTX_HTVAL * 8, "CTX_HTVAL");
_Static_assert(offsetof(struct vcpu_ctx, htinst) == CTX_HTINST * 8, "CTX_HTINST");
_Static_assert(sizeof(struct vcpu_ctx) == CTX_WORDS * 8, "switch.S layout");

/* Guest FP state, saved and restored lazily (see vcpu_switch.c). */
struct fp_state {
    uint64_t f[32];
    uint64_t fcsr;
};
_Static_assert(offsetof(struct fp_state, fcsr) == FP_STATE_FCSR * 8, "fpu.S layout");

/* Guest vector state: VEC_HEADER bytes of vl, vtype, vstart, vcsr, then
 * the 32 registers, vlenb bytes each. */
#endif

#endif
