/* SPDX-License-Identifier: Apache-2.0 */
/* Measurement loops of the bench guest, in assembly so that every
 * iteration is exactly the instructions listed.  Each returns the instret
 * delta over the whole loop (n >= 1 iterations).  Under QEMU -icount
 * shift=0 instret counts every instruction the machine executes: guest,
 * hypervisor and firmware alike. */

    .text

/* uint64_t bench_ecall_loop(n, eid, fid, do_ecall): n SBI calls with no
 * arguments (a0 = 0); with do_ecall = 0 the same loop without the ecall. */
    .globl bench_ecall_loop
    .align 2
bench_ecall_loop:
    mv      t0, a0
    mv      t3, a1
    mv      t4, a2
    rdinstret t1
    beqz    a3, 2f
1:  mv      a7, t3
    mv      a6, t4
    li      a0, 0
    ecall
    addi    t0, t0, -1
    bnez    t0, 1b
    j       3f
2:  mv      a7, t3
    mv      a6, t4
    li      a0, 0
    nop
    addi    t0, t0, -1
    bnez    t0, 2b
3:  rdinstret t2
    sub     a0, t2, t1
    ret

/* uint64_t bench_empty_loop(n): the loop alone (the cost subtracted from
 * the MMIO loops below, which add exactly one access per iteration). */
    .globl bench_empty_loop
    .align 2
bench_empty_loop:
    rdinstret t1
1:  addi    a0, a0, -1
    bnez    a0, 1b
    rdinstret t2
    sub     a0, t2, t1
    ret

/* bench_{lbu,lw}_loop(n, addr), bench_{sb,sw}_loop(n, addr, value). */
    .globl bench_lbu_loop
    .align 2
bench_lbu_loop:
    rdinstret t1
1:  lbu     t3, 0(a1)
    addi    a0, a0, -1
    bnez    a0, 1b
    rdinstret t2
    sub     a0, t2, t1
    ret

    .globl bench_lw_loop
    .align 2
bench_lw_loop:
    rdinstret t1
1:  lw      t3, 0(a1)
    addi    a0, a0, -1
    bnez    a0, 1b
    rdinstret t2
    sub     a0, t2, t1
    ret

    .globl bench_sb_loop
    .align 2
bench_sb_loop:
    rdinstret t1
1:  sb      a2, 0(a1)
    addi    a0, a0, -1
    bnez    a0, 1b
    rdinstret t2
    sub     a0, t2, t1
    ret

    .globl bench_sw_loop
    .align 2
bench_sw_loop:
    rdinstret t1
1:  sw      a2, 0(a1)
    addi    a0, a0, -1
    bnez    a0, 1b
    rdinstret t2
    sub     a0, t2, t1
    ret

/* Timer latency.  stvec = bench_timer_vector while bench_timer_once runs:
 * the vector's first instruction reads instret into t6, then it masks the
 * timer (sie.STIE) and returns.  Only the spin loop below is interrupted,
 * and it uses neither t5 nor t6.
 *
 * int64_t bench_timer_once(ticks, use_sbi): waits for a tick edge of the
 * time CSR (instret is then within 3 of time * 100 + offset), programs a
 * deadline `ticks` later through stimecmp (Sstc) or SBI TIME set_timer,
 * enables the timer and spins.  Returns the instructions from the deadline
 * to the handler's first instruction: t6 - (edge instret + ticks * 100). */
    .globl bench_timer_vector
    .align 2
bench_timer_vector:
    rdinstret t6
    li      t5, 32
    csrc    sie, t5
    sret

    .globl bench_timer_once
    .align 2
bench_timer_once:
    addi    sp, sp, -32
    sd      s0, 0(sp)
    sd      s1, 8(sp)
    sd      s2, 16(sp)
    mv      s2, a1
    li      t6, 0
    rdtime  t0
1:  rdtime  t1
    beq     t0, t1, 1b
    rdinstret s0
    add     s1, t1, a0              /* the deadline, in time ticks */
    li      t2, 100
    mul     t2, t2, a0
    add     s0, s0, t2              /* ... and in instret */
    bnez    s2, 2f
    csrw    stimecmp, s1
    j       3f
2:  li      a7, 0x54494D45          /* TIME */
    li      a6, 0                   /* set_timer */
    mv      a0, s1
    ecall
3:  li      t2, 32
    csrs    sie, t2
4:  beqz    t6, 4b
    sub     a0, t6, s0
    ld      s0, 0(sp)
    ld      s1, 8(sp)
    ld      s2, 16(sp)
    addi    sp, sp, 32
    ret

/* IPI latency.  The receiving hart runs bench_ipi_receiver with stvec =
 * bench_ipi_vector, sie.SSIE and sstatus.SIE set: wfi forever; the vector's
 * first instruction reads instret and stores it in bench_ipi_stamp, then
 * clears sip.SSIP and returns to the wfi. */
    .globl bench_ipi_vector
    .align 2
bench_ipi_vector:
    rdinstret t0
    lla     t1, bench_ipi_stamp
    sd      t0, 0(t1)
    li      t0, 2
    csrc    sip, t0
    sret

    .globl bench_ipi_receiver
    .align 2
bench_ipi_receiver:
    lla     t0, bench_ipi_vector
    csrw    stvec, t0
    li      t0, 2
    csrs    sie, t0
    csrsi   sstatus, 2
    lla     t0, bench_ipi_ready
    li      t1, 1
    sd      t1, 0(t0)
1:  wfi
    j       1b

/* int64_t bench_ipi_once(hart_mask, kick): the instructions all harts
 * execute from the sender's ecall (SBI IPI send_ipi, mask base 0) to the
 * receiver's stamp, without the sender's own waiting after its call.
 *
 * QEMU runs all harts round-robin on one thread under icount, where
 * instret is the one machine-wide instruction count; an interrupt raised
 * for another hart from this thread does not end this hart's turn: the
 * receiver would run only when this hart's time budget runs out (up to
 * the next timer deadline, millions of instructions).  Arming a timer
 * that is due sooner makes QEMU end the turn soon and recompute budgets,
 * so right after the call (and before spinning) this writes stimecmp with
 * a deadline 1000 ticks ahead (kick = 1; the timer is not enabled in sie,
 * so it never interrupts; a deadline only a few ticks ahead can pass
 * before QEMU looks and does not work).  Needs Sstc.  The deadline also
 * bounds the receiver's turn that follows: at 50 ticks (~5,000
 * instructions) QEMU could stop the receiving hart in the middle of its
 * wake-up, holding Vireo's scheduler lock, and the next hart to want the
 * lock spun for its whole turn (millions of instructions, a few times in
 * 10,000 rounds: a mean 4x too high on some builds).  A hart in Vireo
 * holds its locks for tens of instructions on real hardware, where harts
 * are not stopped by an emulator's round-robin.
 *
 * Where the turn ends depends on timer deadlines, so the spin's length
 * does: counting it would make the figure move with anything that shifts
 * a deadline.  The spin counts its rounds instead (3 instructions each)
 * and they are taken off, with the 1 or 4 instructions before it: the
 * result is stamp - start - (kick ? 4 : 1) - 3 * (rounds - 1).  The last
 * round's load is the one that saw the stamp, so it came after it; the
 * receiver may also have run between the load and the rest of the round
 * before: at most 2 instructions of the sender counted too much or too
 * little, the same on every run of a build. */
    .globl bench_ipi_once
    .align 2
bench_ipi_once:
    lla     t3, bench_ipi_stamp
    ld      t4, 0(t3)
    mv      t6, a1
    li      a7, 0x735049            /* sPI */
    li      a6, 0                   /* send_ipi */
    li      a1, 0
    li      a2, 0                   /* spin rounds */
    li      a3, 1                   /* instructions before the spin */
    beqz    t6, 2f
    li      a3, 4
2:  rdinstret t5
    ecall
    beqz    t6, 1f
    rdtime  t0
    addi    t0, t0, 1000
    csrw    stimecmp, t0
1:  ld      t0, 0(t3)
    addi    a2, a2, 1
    beq     t0, t4, 1b
    sub     a0, t0, t5
    sub     a0, a0, a3
    addi    a2, a2, -1
    slli    t1, a2, 1
    add     a2, a2, t1              /* 3 * (rounds - 1) */
    sub     a0, a0, a2
    ret

/* vCPU switch: uint64_t bench_wfi_loop(n, do_wfi): n wfi (each returns at
 * once: a timer interrupt is pending and enabled in sie, masked by
 * sstatus.SIE); with do_wfi = 0 the loop with a nop instead. */
    .globl bench_wfi_loop
    .align 2
bench_wfi_loop:
    rdinstret t1
    beqz    a1, 2f
1:  wfi
    addi    a0, a0, -1
    bnez    a0, 1b
    j       3f
2:  nop
    addi    a0, a0, -1
    bnez    a0, 2b
3:  rdinstret t2
    sub     a0, t2, t1
    ret

    .section .bss
    .align 3
    .globl bench_ipi_stamp, bench_ipi_ready
bench_ipi_stamp:
    .zero   8
bench_ipi_ready:
    .zero   8
