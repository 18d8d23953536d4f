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

    /* BSS (3.5 MiB, most of it the control sessions' buffers) cleared 64
     * bytes a round: a tenth of the instructions before the first
     * VM starts went to one store a round.  Both ends are 8-byte aligned
     * (linker script); the tail goes 8 bytes at a time. */
    lla     t0, __bss_start
    lla     t1, __bss_end
    addi    t2, t1, -64
1:  bgtu    t0, t2, 3f
    sd      zero, 0(t0)
    sd      zero, 8(t0)
    sd      zero, 16(t0)
    sd      zero, 24(t0)
    sd      zero, 32(t0)
    sd      zero, 40(t0)
    sd      zero, 48(t0)
    sd      zero, 56(t0)
    addi    t0, t0, 64
    j       1b
3:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       3b
2:
    lla     sp, boot_stack_top
    lla     tp, harts               /* harts[0] is the boot hart */
    lla     t0, trap_vector
    csrw    stvec, t0
    lla     t0, hart_entry          /* where arch_hart_start sends other harts */
    sd      t0, arch_secondary_entry, t1
    mv      a0, s0
    mv      a1, s1
    call    vireo_main
    j       arch_halt

    .text
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

    .bss
    .align 12
boot_stack:
    .space  16384
    .globl boot_stack_top
boot_stack_top:
