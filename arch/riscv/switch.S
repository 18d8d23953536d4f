/* SPDX-License-Identifier: Apache-2.0 */
/* The world switch.  vcpu_ctx_enter() saves Vireo's callee-saved registers
 * (sp and tp in the context, the others in the hart's struct hart), loads
 * the guest's and srets into it.  While the guest runs, sscratch holds the
 * context; the trap vector (below) sees that and runs on into
 * vcpu_ctx_exit, which stores the guest's registers and the exit CSRs and
 * returns from vcpu_ctx_enter as from a call, with the context of the
 * vCPU whose exit it is: the exit fast path may have switched the hart
 * to other vCPUs meanwhile (vcpu_switch.c), or NULL when the last one
 * left the hart that way with nothing to follow. */
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

    /* Back on Vireo's stack with its tp for a C call: s0 and a0 = the
     * context (t6). */
    .macro HOST_BACK
    ld      sp, CTX_HOST_SP*8(t6)
    ld      tp, CTX_HOST_TP*8(t6)
    mv      s0, t6
    mv      a0, t6
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
    sd      sp, CTX_HOST_SP*8(a0)
    sd      tp, CTX_HOST_TP*8(a0)
    sd      ra, HART_WORLD_SAVE+0*8(tp)
    sd      s0, HART_WORLD_SAVE+1*8(tp)
    sd      s1, HART_WORLD_SAVE+2*8(tp)
    sd      s2, HART_WORLD_SAVE+3*8(tp)
    sd      s3, HART_WORLD_SAVE+4*8(tp)
    sd      s4, HART_WORLD_SAVE+5*8(tp)
    sd      s5, HART_WORLD_SAVE+6*8(tp)
    sd      s6, HART_WORLD_SAVE+7*8(tp)
    sd      s7, HART_WORLD_SAVE+8*8(tp)
    sd      s8, HART_WORLD_SAVE+9*8(tp)
    sd      s9, HART_WORLD_SAVE+10*8(tp)
    sd      s10, HART_WORLD_SAVE+11*8(tp)
    sd      s11, HART_WORLD_SAVE+12*8(tp)
    /* fall through */

/* vcpu_ctx_resume(ctx): a0 = the context: its CSRs and every GPR in,
 * sret.  The host registers saved above stay valid for as long as the guest keeps coming back
 * through the fast path, or the fast path switches the hart to another
 * vCPU (which takes sp and tp over in its context). */
    .globl vcpu_ctx_resume
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

/* The trap vector (stvec): sscratch holds the running guest's context, or
 * 0 while Vireo runs, whose own traps go to trap_host (trap.S).  A guest's
 * runs on into vcpu_ctx_exit. */
    .globl trap_vector
    .align 2
trap_vector:
    csrrw   t6, sscratch, t6
    beqz    t6, trap_host

/* Entered from trap_vector with t6 = the context and the guest's t6 in
 * sscratch.  Stores every guest GPR and the exit CSRs, then calls
 * vcpu_arch_exit_fast() (vcpu_switch.c) on Vireo's stack, below the frames
 * of vcpu_ctx_enter's caller, with Vireo's sp and tp:
 *   0: go back to the scheduler: Vireo's registers back, and return from
 *      vcpu_ctx_enter as from a call (a virtual-instruction exit, with
 *      every register stored, may instead leave through the fast path's
 *      switch, which never returns here: vcpu_ctx_resume of the next
 *      vCPU, or vcpu_ctx_return);
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
    addi    t5, t0, -22
    beqz    t5, 13f
6:  csrr    t5, stval
    sd      t5, CTX_STVAL*8(t6)
    csrr    t5, htval
    sd      t5, CTX_HTVAL*8(t6)
    csrr    t5, htinst
    sd      t5, CTX_HTINST*8(t6)
1:  HOST_BACK
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
15: mv      t6, s0
    beqz    a0, 4f
    addi    a0, a0, -1
    bnez    a0, 9b
    j       10b

    /* A virtual-instruction exit (cause 22: a WFI, mostly, which may
     * switch the hart to the next vCPU), every register stored: its trap
     * value is the instruction (no htval, no htinst), and it is handled
     * by vcpu_arch_exit_virtual(), which answers as vcpu_arch_exit_full
     * does. */
13: csrr    t5, stval
    sd      t5, CTX_STVAL*8(t6)
    HOST_BACK
    call    vcpu_arch_exit_virtual
    j       15b

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
4:  mv      a0, t6
11: ld      ra, HART_WORLD_SAVE+0*8(tp)
    ld      s0, HART_WORLD_SAVE+1*8(tp)
    ld      s1, HART_WORLD_SAVE+2*8(tp)
    ld      s2, HART_WORLD_SAVE+3*8(tp)
    ld      s3, HART_WORLD_SAVE+4*8(tp)
    ld      s4, HART_WORLD_SAVE+5*8(tp)
    ld      s5, HART_WORLD_SAVE+6*8(tp)
    ld      s6, HART_WORLD_SAVE+7*8(tp)
    ld      s7, HART_WORLD_SAVE+8*8(tp)
    ld      s8, HART_WORLD_SAVE+9*8(tp)
    ld      s9, HART_WORLD_SAVE+10*8(tp)
    ld      s10, HART_WORLD_SAVE+11*8(tp)
    ld      s11, HART_WORLD_SAVE+12*8(tp)
    ret


/* vcpu_ctx_return(ctx, sp): from the exit fast path's switch (vcpu_switch.c),
 * on Vireo's stack with Vireo's tp: back to the loop as from
 * vcpu_ctx_enter, returning ctx (every register of its vCPU stored) or
 * NULL; sp is the stack pointer vcpu_ctx_enter was called with. */
    .globl vcpu_ctx_return
    .align 2
vcpu_ctx_return:
    mv      sp, a1
    j       11b
