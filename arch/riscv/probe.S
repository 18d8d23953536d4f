/* SPDX-License-Identifier: Apache-2.0 */
/* Guarded probes: an instruction that may not exist on this hart (or may
 * not be allowed in S-mode), tried with stvec pointing just past it, so a
 * trap lands on the label after it with the "no" answer still in a0. */

    .text
/* bool arch_probe_h(void): reads hstatus with stvec pointing just past the
 * read.  Without the H extension the read raises an illegal-instruction
 * exception, which lands on label 1 with a0 still 0. */
    .globl arch_probe_h
    .align 2
arch_probe_h:
    csrr    t1, stvec
    lla     t0, 1f
    csrw    stvec, t0
    li      a0, 0
    csrr    t2, hstatus
    li      a0, 1
    .align 2
1:  csrw    stvec, t1
    ret

/* bool arch_seed_read(uint32_t *out): one read of the Zkr seed CSR
 * (0x015, which only csrrw may access), guarded like arch_probe_h: without
 * Zkr, or when the firmware did not grant S-mode access (mseccfg.SSEED),
 * the access traps to label 1 and the result is false. */
    .globl arch_seed_read
    .align 2
arch_seed_read:
    csrr    t1, stvec
    lla     t0, 1f
    csrw    stvec, t0
    mv      t2, a0
    li      a0, 0
    csrrw   t3, 0x015, zero
    sw      t3, 0(t2)
    li      a0, 1
    .align 2
1:  csrw    stvec, t1
    ret

/* bool arch_cbo_zero_try(void *p): one CBO.ZERO (Zicboz) of the block at
 * p, guarded the same way: false if it traps (no Zicboz, or the firmware
 * left menvcfg.CBZE clear). */
    .globl arch_cbo_zero_try
    .align 2
arch_cbo_zero_try:
    csrr    t1, stvec
    lla     t0, 1f
    csrw    stvec, t0
    mv      t2, a0
    li      a0, 0
    .insn   i 0x0f, 2, x0, t2, 4        /* cbo.zero (t2) */
    li      a0, 1
    .align 2
1:  csrw    stvec, t1
    ret

/* bool arch_probe_hstateen(void): writes hstateen0 (Smstateen, CSR 0x60c)
 * with 0, guarded the same way: false without Smstateen or when the
 * firmware left mstateen0.SE0 clear (HS-mode may not reach hstateen0). */
    .globl arch_probe_hstateen
    .align 2
arch_probe_hstateen:
    csrr    t1, stvec
    lla     t0, 1f
    csrw    stvec, t0
    li      a0, 0
    csrw    0x60c, zero
    li      a0, 1
    .align 2
1:  csrw    stvec, t1
    ret
