/* SPDX-License-Identifier: Apache-2.0 */
/* Saving and restoring a guest's FP and vector registers, for the lazy
 * switching in vcpu_switch.c.  Layouts: struct fp_state and the vector
 * save area in vcpu_ctx.h. */
#include "arch/riscv/vcpu_ctx.h"

    .text
/* Lazy FP switching: only called when the sstatus.FS bits say it is
 * needed; FS must be on (not Off) in HS-mode while they run. */
    .option push
    .option arch, +d
    .globl fp_save
    .align 2
fp_save:
    fsd     f0, 0*8(a0)
    fsd     f1, 1*8(a0)
    fsd     f2, 2*8(a0)
    fsd     f3, 3*8(a0)
    fsd     f4, 4*8(a0)
    fsd     f5, 5*8(a0)
    fsd     f6, 6*8(a0)
    fsd     f7, 7*8(a0)
    fsd     f8, 8*8(a0)
    fsd     f9, 9*8(a0)
    fsd     f10, 10*8(a0)
    fsd     f11, 11*8(a0)
    fsd     f12, 12*8(a0)
    fsd     f13, 13*8(a0)
    fsd     f14, 14*8(a0)
    fsd     f15, 15*8(a0)
    fsd     f16, 16*8(a0)
    fsd     f17, 17*8(a0)
    fsd     f18, 18*8(a0)
    fsd     f19, 19*8(a0)
    fsd     f20, 20*8(a0)
    fsd     f21, 21*8(a0)
    fsd     f22, 22*8(a0)
    fsd     f23, 23*8(a0)
    fsd     f24, 24*8(a0)
    fsd     f25, 25*8(a0)
    fsd     f26, 26*8(a0)
    fsd     f27, 27*8(a0)
    fsd     f28, 28*8(a0)
    fsd     f29, 29*8(a0)
    fsd     f30, 30*8(a0)
    fsd     f31, 31*8(a0)
    frcsr   t0
    sd      t0, FP_STATE_FCSR*8(a0)
    ret

    .globl fp_restore
    .align 2
fp_restore:
    fld     f0, 0*8(a0)
    fld     f1, 1*8(a0)
    fld     f2, 2*8(a0)
    fld     f3, 3*8(a0)
    fld     f4, 4*8(a0)
    fld     f5, 5*8(a0)
    fld     f6, 6*8(a0)
    fld     f7, 7*8(a0)
    fld     f8, 8*8(a0)
    fld     f9, 9*8(a0)
    fld     f10, 10*8(a0)
    fld     f11, 11*8(a0)
    fld     f12, 12*8(a0)
    fld     f13, 13*8(a0)
    fld     f14, 14*8(a0)
    fld     f15, 15*8(a0)
    fld     f16, 16*8(a0)
    fld     f17, 17*8(a0)
    fld     f18, 18*8(a0)
    fld     f19, 19*8(a0)
    fld     f20, 20*8(a0)
    fld     f21, 21*8(a0)
    fld     f22, 22*8(a0)
    fld     f23, 23*8(a0)
    fld     f24, 24*8(a0)
    fld     f25, 25*8(a0)
    fld     f26, 26*8(a0)
    fld     f27, 27*8(a0)
    fld     f28, 28*8(a0)
    fld     f29, 29*8(a0)
    fld     f30, 30*8(a0)
    fld     f31, 31*8(a0)
    ld      t0, FP_STATE_FCSR*8(a0)
    fscsr   t0
    ret
    .option pop

/* Lazy vector switching, the same way as FP (see vcpu_switch.c): a0 = the
 * save area (vl, vtype, vstart, vcsr, then v0-v31 of vlenb bytes each).
 * sstatus.VS must be on while they run. */
    .option push
    .option arch, +v
    .globl vec_save
    .align 2
vec_save:
    csrr    t0, vl
    sd      t0, 0(a0)
    csrr    t0, vtype
    sd      t0, 8(a0)
    csrr    t0, vstart
    sd      t0, 16(a0)
    csrr    t0, vcsr
    sd      t0, 24(a0)
    addi    a0, a0, VEC_HEADER
    csrr    t1, vlenb
    slli    t1, t1, 3               /* 8 registers per group */
    vs8r.v  v0, (a0)
    add     a0, a0, t1
    vs8r.v  v8, (a0)
    add     a0, a0, t1
    vs8r.v  v16, (a0)
    add     a0, a0, t1
    vs8r.v  v24, (a0)
    ret

    .globl vec_restore
    .align 2
vec_restore:
    addi    t2, a0, VEC_HEADER
    csrr    t1, vlenb
    slli    t1, t1, 3
    vl8re8.v v0, (t2)
    add     t2, t2, t1
    vl8re8.v v8, (t2)
    add     t2, t2, t1
    vl8re8.v v16, (t2)
    add     t2, t2, t1
    vl8re8.v v24, (t2)
    /* vl and vtype come back through vsetvl; vstart and vcsr directly. */
    ld      t0, 0(a0)
    ld      t1, 8(a0)
    vsetvl  zero, t0, t1
    ld      t0, 16(a0)
    csrw    vstart, t0
    ld      t0, 24(a0)
    csrw    vcsr, t0
    ret

    .globl vec_vlenb
    .align 2
vec_vlenb:
    csrr    a0, vlenb
    ret
    .option pop
