/* SPDX-License-Identifier: Apache-2.0 */
/* The one trap vector, trap_vector, is at the head of switch.S, where a
 * guest's trap runs on into the world switch's exit without a jump.
 * sscratch tells where the trap came from: a guest (sscratch = its
 * vcpu_ctx) or Vireo itself (sscratch = 0), which comes here: Vireo's own
 * traps save every GPR and the trap CSRs into a struct trap_frame on the
 * current stack, call trap_handle(frame) and sret. */
#include "arch/riscv/trap.h"

    .text
    .globl trap_host
    .align 2
trap_host:
    csrrw   t6, sscratch, t6        /* Vireo's own trap: t6 back, sscratch 0 */
    addi    sp, sp, -(TRAP_FRAME_WORDS * 8)
    sd      x1, 1*8(sp)
    sd      x3, 3*8(sp)
    sd      x4, 4*8(sp)
    sd      x5, 5*8(sp)
    sd      x6, 6*8(sp)
    sd      x7, 7*8(sp)
    sd      x8, 8*8(sp)
    sd      x9, 9*8(sp)
    sd      x10, 10*8(sp)
    sd      x11, 11*8(sp)
    sd      x12, 12*8(sp)
    sd      x13, 13*8(sp)
    sd      x14, 14*8(sp)
    sd      x15, 15*8(sp)
    sd      x16, 16*8(sp)
    sd      x17, 17*8(sp)
    sd      x18, 18*8(sp)
    sd      x19, 19*8(sp)
    sd      x20, 20*8(sp)
    sd      x21, 21*8(sp)
    sd      x22, 22*8(sp)
    sd      x23, 23*8(sp)
    sd      x24, 24*8(sp)
    sd      x25, 25*8(sp)
    sd      x26, 26*8(sp)
    sd      x27, 27*8(sp)
    sd      x28, 28*8(sp)
    sd      x29, 29*8(sp)
    sd      x30, 30*8(sp)
    sd      x31, 31*8(sp)
    sd      zero, 0(sp)
    addi    t0, sp, TRAP_FRAME_WORDS * 8
    sd      t0, 2*8(sp)
    csrr    t0, sepc
    sd      t0, TRAP_FRAME_SEPC*8(sp)
    csrr    t0, sstatus
    sd      t0, TRAP_FRAME_SSTATUS*8(sp)
    csrr    t0, scause
    sd      t0, TRAP_FRAME_SCAUSE*8(sp)
    csrr    t0, stval
    sd      t0, TRAP_FRAME_STVAL*8(sp)

    mv      a0, sp
    call    trap_handle

    ld      t0, TRAP_FRAME_SEPC*8(sp)
    csrw    sepc, t0
    ld      t0, TRAP_FRAME_SSTATUS*8(sp)
    csrw    sstatus, t0
    ld      x1, 1*8(sp)
    ld      x3, 3*8(sp)
    ld      x4, 4*8(sp)
    ld      x5, 5*8(sp)
    ld      x6, 6*8(sp)
    ld      x7, 7*8(sp)
    ld      x8, 8*8(sp)
    ld      x9, 9*8(sp)
    ld      x10, 10*8(sp)
    ld      x11, 11*8(sp)
    ld      x12, 12*8(sp)
    ld      x13, 13*8(sp)
    ld      x14, 14*8(sp)
    ld      x15, 15*8(sp)
    ld      x16, 16*8(sp)
    ld      x17, 17*8(sp)
    ld      x18, 18*8(sp)
    ld      x19, 19*8(sp)
    ld      x20, 20*8(sp)
    ld      x21, 21*8(sp)
    ld      x22, 22*8(sp)
    ld      x23, 23*8(sp)
    ld      x24, 24*8(sp)
    ld      x25, 25*8(sp)
    ld      x26, 26*8(sp)
    ld      x27, 27*8(sp)
    ld      x28, 28*8(sp)
    ld      x29, 29*8(sp)
    ld      x30, 30*8(sp)
    ld      x31, 31*8(sp)
    addi    sp, sp, TRAP_FRAME_WORDS * 8
    sret
