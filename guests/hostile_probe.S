/* SPDX-License-Identifier: Apache-2.0 */
/* The hostile guest's instruction probes and the trap vector that catches
 * them (see hostile_probes.h and hostile.c, attack=csr).
 *
 * hostile_probe_vector: while it is stvec, an exception is recorded in
 * hostile_rec (cause, epc, tval, sstatus, count) and the faulting 4-byte
 * instruction is skipped; an interrupt is recorded (irq, irqs) and sie
 * cleared; an ecall from U-mode ends hostile_user_call() (back in S-mode,
 * to its caller). */
#include "guests/hostile_probes.h"

    .option push
    .option norvc
    .option arch, +h

/* Each probe: the instruction, then ret.  8 bytes each. */
#define PROBE_ASM(modes, name, ...) __VA_ARGS__; ret;
    .text
    .align 3
    .globl hostile_probes
hostile_probes:
    HOSTILE_PROBES(PROBE_ASM)
    .globl hostile_probes_end
hostile_probes_end:

/* A WFI to run in VU-mode. */
    .globl hostile_wfi
    .align 3
hostile_wfi:
    wfi
    ret

    .align 2
    .globl hostile_probe_vector
hostile_probe_vector:
    csrw    sscratch, t0
    lla     t0, hostile_rec
    sd      t1, 0(t0)
    csrr    t1, scause
    bltz    t1, 3f                  /* an interrupt */
    addi    t1, t1, -8
    beqz    t1, 2f                  /* ecall from U-mode: leave user mode */
    csrr    t1, scause
    sd      t1, 8(t0)
    csrr    t1, sepc
    sd      t1, 16(t0)
    addi    t1, t1, 4
    csrw    sepc, t1
    csrr    t1, stval
    sd      t1, 24(t0)
    csrr    t1, sstatus
    sd      t1, 32(t0)
    ld      t1, 40(t0)
    addi    t1, t1, 1
    sd      t1, 40(t0)
1:  ld      t1, 0(t0)
    csrr    t0, sscratch
    sret
3:  sd      t1, 48(t0)              /* irq cause */
    ld      t1, 56(t0)
    addi    t1, t1, 1
    sd      t1, 56(t0)
    csrw    sie, zero
    j       1b
2:  lla     t0, hostile_user_ctx
    ld      ra, 0(t0)
    ld      sp, 8(t0)
    ld      s0, 16(t0)
    ld      s1, 24(t0)
    ld      s2, 32(t0)
    ld      s3, 40(t0)
    ld      s4, 48(t0)
    ld      s5, 56(t0)
    ld      s6, 64(t0)
    ld      s7, 72(t0)
    ld      s8, 80(t0)
    ld      s9, 88(t0)
    ld      s10, 96(t0)
    ld      s11, 104(t0)
    ret

/* void hostile_user_call(void (*fn)(uint64_t), uint64_t arg): runs fn(arg)
 * in U-mode; returns when it returns (through an ecall). */
    .globl hostile_user_call
hostile_user_call:
    lla     t0, hostile_user_ctx
    sd      ra, 0(t0)
    sd      sp, 8(t0)
    sd      s0, 16(t0)
    sd      s1, 24(t0)
    sd      s2, 32(t0)
    sd      s3, 40(t0)
    sd      s4, 48(t0)
    sd      s5, 56(t0)
    sd      s6, 64(t0)
    sd      s7, 72(t0)
    sd      s8, 80(t0)
    sd      s9, 88(t0)
    sd      s10, 96(t0)
    sd      s11, 104(t0)
    csrw    sepc, a0
    mv      a0, a1
    li      t0, (1 << 8)            /* SPP = 0: sret goes to U-mode */
    csrc    sstatus, t0
    lla     ra, user_exit
    sret
user_exit:
    ecall

    .option pop

    .bss
    .align 3
    .globl hostile_rec
hostile_rec:
    .space  64                      /* t1 save, cause, epc, tval, sstatus, count, irq, irqs */
hostile_user_ctx:
    .space  112
