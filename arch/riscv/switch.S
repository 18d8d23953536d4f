/* SPDX-License-Identifier: Apache-2.0 */
/* The world switch.  vcpu_ctx_enter() saves Vireo's callee-saved registers
 * in the context, loads the guest's and srets into it.  While the guest
 * runs, sscratch holds the context; the trap vector (trap.S) sees that and
 * comes back through vcpu_ctx_exit, which stores the guest's registers and
 * the exit CSRs and returns from vcpu_ctx_enter as from a call. */
#include "arch/riscv/vcpu_ctx.h"

/* Guest registers stored or loaded at their slots in the context that t6
 * points to: GUEST_CREGS, those the exit path's C call may clobber or
 * replace (all but t6 itself, gp and s1-s11; s0 is used here); and
 * GUEST_SREGS, s1-s11, which the C code preserves, and gp, which Vireo
 * never uses (no linker relaxation, so no global pointer): it keeps the
 * guest's value while Vireo runs. */
    .macro GUEST_CREGS op
    .irp r, 1, 2, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 28, 29, 30
    \op    x\r, \r*8(t6)
    .endr
    .endm

    .macro GUEST_SREGS op
    .irp r, 3, 9, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27
    \op    x\r, \r*8(t6)
    .endr
    .endm

    .text
    .globl vcpu_ctx_enter
    .align 2
vcpu_ctx_enter:
    sd      ra, CTX_HOST(0)*8(a0)
    sd      sp, CTX_HOST(1)*8(a0)
    sd      tp, CTX_HOST(3)*8(a0)
    sd      s0, CTX_HOST(4)*8(a0)
    sd      s1, CTX_HOST(5)*8(a0)
    sd      s2, CTX_HOST(6)*8(a0)
    sd      s3, CTX_HOST(7)*8(a0)
    sd      s4, CTX_HOST(8)*8(a0)
    sd      s5, CTX_HOST(9)*8(a0)
    sd      s6, CTX_HOST(10)*8(a0)
    sd      s7, CTX_HOST(11)*8(a0)
    sd      s8, CTX_HOST(12)*8(a0)
    sd      s9, CTX_HOST(13)*8(a0)
    sd      s10, CTX_HOST(14)*8(a0)
    sd      s11, CTX_HOST(15)*8(a0)
    /* fall through */

/* a0 = the context: its CSRs and every GPR in, sret.  The host registers
 * saved above stay valid for as long as the guest keeps coming back
 * through the fast path. */
vcpu_ctx_resume:
    ld      t0, CTX_SEPC*8(a0)
    csrw    sepc, t0
    ld      t0, CTX_SSTATUS*8(a0)
    csrw    sstatus, t0
    ld      t0, CTX_HSTATUS*8(a0)
    csrw    hstatus, t0
    csrw    sscratch, a0

    ld      x1, 1*8(a0)
    ld      x2, 2*8(a0)
    ld      x3, 3*8(a0)
    ld      x4, 4*8(a0)
    ld      x5, 5*8(a0)
    ld      x6, 6*8(a0)
    ld      x7, 7*8(a0)
    ld      x8, 8*8(a0)
    ld      x9, 9*8(a0)
    ld      x11, 11*8(a0)
    ld      x12, 12*8(a0)
    ld      x13, 13*8(a0)
    ld      x14, 14*8(a0)
    ld      x15, 15*8(a0)
    ld      x16, 16*8(a0)
    ld      x17, 17*8(a0)
    ld      x18, 18*8(a0)
    ld      x19, 19*8(a0)
    ld      x20, 20*8(a0)
    ld      x21, 21*8(a0)
    ld      x22, 22*8(a0)
    ld      x23, 23*8(a0)
    ld      x24, 24*8(a0)
    ld      x25, 25*8(a0)
    ld      x26, 26*8(a0)
    ld      x27, 27*8(a0)
    ld      x28, 28*8(a0)
    ld      x29, 29*8(a0)
    ld      x30, 30*8(a0)
    ld      x31, 31*8(a0)
    ld      x10, 10*8(a0)
    sret

/* Entered from trap_vector with t6 = the context and the guest's t6 in
 * sscratch.  Stores every guest GPR and the exit CSRs, then calls
 * vcpu_arch_exit_fast() (vcpu_switch.c) on Vireo's stack, below the frames
 * of vcpu_ctx_enter's caller, with Vireo's sp and tp:
 *   0: go back to the scheduler: Vireo's registers back, and return from
 *      vcpu_ctx_enter as from a call;
 *   1: resume the guest; only registers a C call may clobber (and s0,
 *      used here) need reloading: the C code kept s1-s11, which still
 *      hold the guest's values, and never touches gp;
 *   2: resume the guest, every register from the context (the exit
 *      changed one of those; never after an ecall or an MMIO fault
 *      handled without them, which store them only on the way to the
 *      scheduler);
 *   3: store GUEST_SREGS and hstatus, then vcpu_arch_exit_full() (the
 *      same with every register stored; never returns 3) and as above. */
    .globl vcpu_ctx_exit
    .align 2
vcpu_ctx_exit:
    GUEST_CREGS sd
    csrrw   t5, sscratch, zero
    sd      t5, 31*8(t6)

    csrr    t5, sepc
    sd      t5, CTX_SEPC*8(t6)
    csrr    t5, sstatus
    sd      t5, CTX_SSTATUS*8(t6)
    csrr    t0, scause
    sd      t0, CTX_SCAUSE*8(t6)
    /* An ecall from VS-mode (cause 10) reads only a0-a7 and writes a0-a1:
     * s1-s11 and gp (GUEST_SREGS), which the C code below preserves, and
     * hstatus, which it leaves alone, are stored only if it goes back to
     * the scheduler; it has no trap value (stval, htval and htinst are
     * zero; the saved copies are left stale).  An interrupt (scause bit
     * 63) reads no guest register on the fast path and has no trap value
     * either: the same.  A load or store guest-page fault (21, 23: MMIO)
     * stores its trap values but not GUEST_SREGS and hstatus either: an
     * access that names one of those registers asks for them (return
     * value 3 below) and is handled again.  Every other exit stores
     * everything now.  t0 is free: GUEST_CREGS stored it. */
    addi    t5, t0, -10
    beqz    t5, 1f
    bltz    t0, 1f
    addi    t5, t0, -21
    beqz    t5, 6f
    addi    t5, t0, -23
    beqz    t5, 6f
    GUEST_SREGS sd
    csrr    t5, hstatus
    sd      t5, CTX_HSTATUS*8(t6)
6:  csrr    t5, stval
    sd      t5, CTX_STVAL*8(t6)
    csrr    t5, htval
    sd      t5, CTX_HTVAL*8(t6)
    csrr    t5, htinst
    sd      t5, CTX_HTINST*8(t6)
1:
    ld      sp, CTX_HOST(1)*8(t6)
    ld      tp, CTX_HOST(3)*8(t6)
    mv      s0, t6
    mv      a0, t6
    call    vcpu_arch_exit_fast
    mv      t6, s0
    beqz    a0, 2f
    addi    a0, a0, -1
    bnez    a0, 3f

    /* Resume, reloading the registers C code may have changed.  hstatus
     * still holds what the trap set (SPV, SPVP: back to VS-mode): Vireo
     * takes no trap of its own while it handles an exit, and no exit
     * handler changes it.  sstatus is written even so:
     * without that write QEMU (10.0) runs the guest on with vector
     * instructions disabled (the fpu-vector system test). */
10: ld      t0, CTX_SEPC*8(t6)
    csrw    sepc, t0
    ld      t0, CTX_SSTATUS*8(t6)
    csrw    sstatus, t0
    csrw    sscratch, t6
    GUEST_CREGS ld
    ld      x31, 31*8(t6)
    sret

3:  addi    a0, a0, -1
    bnez    a0, 8f
9:  mv      a0, t6
    j       vcpu_ctx_resume

    /* 3: the exit needs GUEST_SREGS (an MMIO access names one): store
     * them and hstatus, and have it handled with every register.  The
     * handler may then write one of them in the context (a load into
     * s1-s11 or gp), so the way to the scheduler must not store them
     * again: 4, not 2. */
8:  GUEST_SREGS sd
    csrr    t5, hstatus
    sd      t5, CTX_HSTATUS*8(t6)
    mv      a0, t6
    call    vcpu_arch_exit_full
    mv      t6, s0
    beqz    a0, 4f
    addi    a0, a0, -1
    bnez    a0, 9b
    j       10b

    /* Back to the scheduler; after an ecall, an interrupt or a load or
     * store guest-page fault handled without them, GUEST_SREGS and
     * hstatus still hold the guest's values, which no handler wrote in
     * the context: store them now. */
2:  ld      t5, CTX_SCAUSE*8(t6)
    bltz    t5, 5f
    addi    t4, t5, -10
    beqz    t4, 5f
    addi    t4, t5, -21
    beqz    t4, 5f
    addi    t4, t5, -23
    bnez    t4, 4f
5:  GUEST_SREGS sd
    csrr    t5, hstatus
    sd      t5, CTX_HSTATUS*8(t6)
4:  ld      ra, CTX_HOST(0)*8(t6)
    ld      s0, CTX_HOST(4)*8(t6)
    ld      s1, CTX_HOST(5)*8(t6)
    ld      s2, CTX_HOST(6)*8(t6)
    ld      s3, CTX_HOST(7)*8(t6)
    ld      s4, CTX_HOST(8)*8(t6)
    ld      s5, CTX_HOST(9)*8(t6)
    ld      s6, CTX_HOST(10)*8(t6)
    ld      s7, CTX_HOST(11)*8(t6)
    ld      s8, CTX_HOST(12)*8(t6)
    ld      s9, CTX_HOST(13)*8(t6)
    ld      s10, CTX_HOST(14)*8(t6)
    ld      s11, CTX_HOST(15)*8(t6)
    ret
