/* SPDX-License-Identifier: Apache-2.0 */
/* Entry points of a test guest.
 *
 * _start: the boot hart, from the firmware (OpenSBI natively, Vireo in a
 * VM), with a0 = hartid, a1 = FDT, translation off.
 * guest_secondary_entry: harts started by guest_hart_start() through SBI HSM
 * hart_start, with a0 = hartid and a1 = the HSM "opaque" value, which is the
 * index of the stack slot rt.c reserved for the hart.
 *
 * Every hart keeps its hart id in tp (nothing else uses tp: there is no
 * thread-local storage) and traps to guest_trap_entry. */
#include "guests/rt/rt.h"

#define SBI_EXT_SRST 0x53525354

    .section .text.entry, "ax"
    .globl _start
_start:
    /* The firmware need not hand over with interrupts masked. */
    csrw    sie, zero
    csrci   sstatus, SSTATUS_SIE
    mv      tp, a0
    mv      s1, a1

    /* Only the boot hart clears BSS: secondaries start after it has, and
     * their stacks live in BSS. */
    lla     t0, __bss_start
    lla     t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:
    lla     sp, guest_stacks + GUEST_STACK_SIZE /* slot 0 */
    lla     t0, guest_trap_entry
    csrw    stvec, t0
    mv      a0, tp
    mv      a1, s1
    call    guest_boot
3:  wfi
    j       3b

    .text
    .globl guest_secondary_entry
    .align 2
guest_secondary_entry:
    csrw    sie, zero
    csrci   sstatus, SSTATUS_SIE
    mv      tp, a0
    /* A bad opaque has no stack to run C on: say "system failure" directly. */
    li      t0, GUEST_MAX_SLOTS
    bgeu    a1, t0, bad_opaque
    beqz    a1, bad_opaque          /* slot 0 is the boot hart's */
    addi    t0, a1, 1
    li      t1, GUEST_STACK_SIZE
    mul     t0, t0, t1
    lla     sp, guest_stacks
    add     sp, sp, t0
    lla     t0, guest_trap_entry
    csrw    stvec, t0
    call    guest_secondary         /* (hartid, slot), does not return */
    j       bad_opaque

bad_opaque:
    li      a7, SBI_EXT_SRST
    li      a6, 0                   /* system_reset */
    li      a0, 0                   /* shutdown */
    li      a1, 1                   /* system failure */
    ecall
1:  wfi
    j       1b

/* Trap entry on the interrupted context's stack (the guests never leave
 * S-mode).  Saves the registers a C call may clobber, so an interrupt handler
 * can return into any code; exceptions end the guest inside guest_trap. */
    .globl guest_trap_entry
    .align 2
guest_trap_entry:
    addi    sp, sp, -128
    sd      ra, 0(sp)
    sd      t0, 8(sp)
    sd      t1, 16(sp)
    sd      t2, 24(sp)
    sd      t3, 32(sp)
    sd      t4, 40(sp)
    sd      t5, 48(sp)
    sd      t6, 56(sp)
    sd      a0, 64(sp)
    sd      a1, 72(sp)
    sd      a2, 80(sp)
    sd      a3, 88(sp)
    sd      a4, 96(sp)
    sd      a5, 104(sp)
    sd      a6, 112(sp)
    sd      a7, 120(sp)
    csrr    a0, scause
    csrr    a1, sepc
    csrr    a2, stval
    call    guest_trap
    ld      ra, 0(sp)
    ld      t0, 8(sp)
    ld      t1, 16(sp)
    ld      t2, 24(sp)
    ld      t3, 32(sp)
    ld      t4, 40(sp)
    ld      t5, 48(sp)
    ld      t6, 56(sp)
    ld      a0, 64(sp)
    ld      a1, 72(sp)
    ld      a2, 80(sp)
    ld      a3, 88(sp)
    ld      a4, 96(sp)
    ld      a5, 104(sp)
    ld      a6, 112(sp)
    ld      a7, 120(sp)
    addi    sp, sp, 128
    sret

    .section .bss.stacks, "aw", @nobits
    .align 12
    .globl guest_stacks
guest_stacks:
    .space  GUEST_MAX_SLOTS * GUEST_STACK_SIZE
