/* SPDX-License-Identifier: Apache-2.0 */
/* Entry points from the firmware.
 *
 * The boot hart arrives at _start with a0 = hartid and a1 = the FDT, in
 * HS-mode with translation off.  Other harts arrive at hart_entry when the
 * boot hart starts them through SBI HSM, with a1 = their struct hart (the
 * HSM "opaque" argument), whose first word is the top of their stack. */

    .section .text.entry, "ax"
    .globl _start
_start:
    /* A RISC-V Linux image header (Documentation/arch/riscv/boot-image-
     * header.rst), so boot loaders that start Linux (U-Boot's booti) start
     * Vireo the same way: a0 = hartid, a1 = FDT, the bundle as initrd. */
    j       _start_real             /* code0, code1 */
    .balign 8
    .dword  0x200000                /* text_offset: 2 MiB above RAM */
    .dword  __image_end - _start    /* image_size */
    .dword  0                       /* flags: little-endian */
    .word   2                       /* version 0.2 */
    .word   0
    .dword  0
    .ascii  "RISCV\0\0\0"           /* magic (deprecated) */
    .ascii  "RSC\x05"              /* magic2 */
    .word   0
_start_real:
    csrw    sie, zero
    csrw    sscratch, zero          /* 0: traps come from Vireo, not a guest */
    csrci   sstatus, 2              /* SIE off until the hart is ready */
    mv      s0, a0
    mv      s1, a1

    lla     t0, __bss_start
    lla     t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:
    lla     sp, boot_stack_top
    lla     tp, harts               /* harts[0] is the boot hart */
    lla     t0, trap_vector
    csrw    stvec, t0
    mv      a0, s0
    mv      a1, s1
    call    vireo_main
    j       arch_halt

    .text
    .globl hart_entry
    .align 2
hart_entry:
    csrw    sie, zero
    csrw    sscratch, zero
    csrci   sstatus, 2
    ld      sp, 0(a1)
    mv      tp, a1
    lla     t0, trap_vector
    csrw    stvec, t0
    call    hart_secondary_main
    j       arch_halt

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

    .bss
    .align 12
boot_stack:
    .space  16384
    .globl boot_stack_top
boot_stack_top:
