/* SPDX-License-Identifier: Apache-2.0 */
/* MMIO through every register (guests/mmioregs.c).
 *
 * mmioregs_run(struct mmioregs_run *r) with, at r:
 *   0: the UART scratch register's address    8: the test's number (below)
 *  16: the value the target register holds before a store
 *  24..: the 32 registers as they were after the access (x0 and sp: 0)
 * For test R*5 + K, register R (1, 3..31) is the target and B (t0, or t1
 * when R is t0) holds the address; every other register holds a pattern
 * (pattern() in C: i * 0x0101010101010101 ^ 0xa5a5...).  K:
 *   0 lbu R, 0(B)   1 lb R, 0(B)   2 sb R, 0(B)   3 lbu R, 0(B) twice
 *   4 lw R, 0(B)
 * (K = 3: the second access is the vCPU's last access again, the cache's
 * hit; K = 4 is a PLIC claim, which lowers the vCPU's interrupt line: the
 * exit goes to the scheduler with the result in the context.)
 * sp is not tested: it points at r for the register dump. */

#define PAT(i) (((i) * 0x0101010101010101) ^ 0xa5a5a5a55a5a5a5a)

    .macro SETALL except, base
    .irp i, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    .if \i != \except && \i != \base
    li      x\i, PAT(\i)
    .endif
    .endr
    .endm

    .macro DUMP
    .irp i, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    sd      x\i, (24 + 8 * \i)(sp)
    .endr
    .endm

    /* ONE r, k, base: the test for target register r, kind k (r != 2),
     * the address in x<base>. */
    .macro ONE r, k, base
    ld      x\base, 0(sp)
    .if \k == 2
    ld      x\r, 16(sp)
    .endif
    SETALL  \r, \base
    .if \k == 0
    lbu     x\r, 0(x\base)
    .elseif \k == 1
    lb      x\r, 0(x\base)
    .elseif \k == 2
    sb      x\r, 0(x\base)
    .elseif \k == 3
    lbu     x\r, 0(x\base)
    lbu     x\r, 0(x\base)
    .else
    lw      x\r, 0(x\base)
    .endif
    DUMP
    j       9f
    .endm

    .text
    .globl mmioregs_run
    .align 2
mmioregs_run:
    /* Everything the C caller may expect back, and its sp. */
    addi    sp, sp, -128
    sd      ra, 0(sp)
    sd      gp, 8(sp)
    sd      tp, 16(sp)
    sd      s0, 24(sp)
    sd      s1, 32(sp)
    sd      s2, 40(sp)
    sd      s3, 48(sp)
    sd      s4, 56(sp)
    sd      s5, 64(sp)
    sd      s6, 72(sp)
    sd      s7, 80(sp)
    sd      s8, 88(sp)
    sd      s9, 96(sp)
    sd      s10, 104(sp)
    sd      s11, 112(sp)
    lla     t0, saved_sp
    sd      sp, 0(t0)
    mv      sp, a0
    /* Jump to the test's entry: table of 32 * 5 entries of 4 bytes each
     * (a j instruction), built below. */
    ld      t0, 8(sp)
    slli    t0, t0, 2
    lla     t1, 1f
    add     t0, t0, t1
    jr      t0
    .option push
    .option norvc  /* the table's entries are 4 bytes each */
1:
    .irp r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    .irp k, 0, 1, 2, 3, 4
    .if \r == 0 || \r == 2
    j       9f
    .else
    j       .Lt_\r\()_\k
    .endif
    .endr
    .endr
    .option pop

    .irp r, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
    .irp k, 0, 1, 2, 3, 4
.Lt_\r\()_\k:
    .if \r == 5
    ONE     \r, \k, 6
    .else
    ONE     \r, \k, 5
    .endif
    .endr
    .endr

9:  lla     t0, saved_sp
    ld      sp, 0(t0)
    ld      ra, 0(sp)
    ld      gp, 8(sp)
    ld      tp, 16(sp)
    ld      s0, 24(sp)
    ld      s1, 32(sp)
    ld      s2, 40(sp)
    ld      s3, 48(sp)
    ld      s4, 56(sp)
    ld      s5, 64(sp)
    ld      s6, 72(sp)
    ld      s7, 80(sp)
    ld      s8, 88(sp)
    ld      s9, 96(sp)
    ld      s10, 104(sp)
    ld      s11, 112(sp)
    addi    sp, sp, 128
    ret

    .section .bss
    .align 3
saved_sp:
    .zero   8
