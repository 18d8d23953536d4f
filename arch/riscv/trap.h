/* SPDX-License-Identifier: Apache-2.0 */
/* The register image saved on a trap into Vireo.  Layout is shared with
 * trap.S (offsets are index * 8). */
#ifndef VIREO_ARCH_RISCV_TRAP_H
#define VIREO_ARCH_RISCV_TRAP_H

#define TRAP_FRAME_SEPC    32
#define TRAP_FRAME_SSTATUS 33
#define TRAP_FRAME_SCAUSE  34
#define TRAP_FRAME_STVAL   35
#define TRAP_FRAME_WORDS   36

#ifndef __ASSEMBLER__
#include <stdint.h>

struct trap_frame {
    uint64_t x[32]; /* x[0] is always 0; x[2] is the interrupted sp */
    uint64_t sepc;
    uint64_t sstatus;
    uint64_t scause;
    uint64_t stval;
};

#include <stddef.h>
_Static_assert(offsetof(struct trap_frame, sepc) == TRAP_FRAME_SEPC * 8, "TRAP_FRAME_SEPC");
_Static_assert(offsetof(struct trap_frame, sstatus) == TRAP_FRAME_SSTATUS * 8,
               "TRAP_FRAME_SSTATUS");
_Static_assert(offsetof(struct trap_frame, scause) == TRAP_FRAME_SCAUSE * 8, "TRAP_FRAME_SCAUSE");
_Static_assert(offsetof(struct trap_frame, stval) == TRAP_FRAME_STVAL * 8, "TRAP_FRAME_STVAL");
_Static_assert(sizeof(struct trap_frame) == TRAP_FRAME_WORDS * 8, "trap.S layout");

void trap_handle(struct trap_frame *tf);
#endif

#endif
