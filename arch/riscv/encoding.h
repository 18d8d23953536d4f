/* SPDX-License-Identifier: Apache-2.0 */
/* RISC-V encodings Vireo uses: CSR bit fields, interrupt and exception
 * numbers, the few instruction words it recognises.  Plain constants, no
 * assembly and no CSR access, so portable code (core/, devices/) includes
 * this header while only arch/riscv includes csr.h.  Values are those of
 * the RISC-V privileged specification (supervisor and hypervisor chapters);
 * each is defined here and nowhere else. */
#ifndef VIREO_ARCH_RISCV_ENCODING_H
#define VIREO_ARCH_RISCV_ENCODING_H

/* sstatus (and vsstatus, which has the same layout) */
#define SSTATUS_SIE        (1ULL << 1)
#define SSTATUS_SPIE       (1ULL << 5)
#define SSTATUS_SPP        (1ULL << 8) /* on an exit from V=1: came from VS-mode (else VU) */
#define SSTATUS_VS         (3ULL << 9)
#define SSTATUS_VS_INITIAL (1ULL << 9)
#define SSTATUS_VS_CLEAN   (2ULL << 9)
#define SSTATUS_VS_DIRTY   (3ULL << 9)
#define SSTATUS_FS         (3ULL << 13)
#define SSTATUS_FS_INITIAL (1ULL << 13)
#define SSTATUS_FS_CLEAN   (2ULL << 13)
#define SSTATUS_FS_DIRTY   (3ULL << 13)
#define SSTATUS_UXL_64     (2ULL << 32) /* U-mode (vsstatus: VU-mode) is 64-bit */

/* hstatus */
#define HSTATUS_GVA     (1ULL << 6)
#define HSTATUS_SPV     (1ULL << 7)
#define HSTATUS_SPVP    (1ULL << 8)
#define HSTATUS_VTW     (1ULL << 21)
#define HSTATUS_VSXL_64 (2ULL << 32) /* VS-mode is 64-bit */

/* henvcfg (the VS-level view of senvcfg's controls, and more) */
#define HENVCFG_CBIE_FLUSH (1ULL << 4) /* CBIE = 01: CBO.INVAL from VS/VU performs a flush */
#define HENVCFG_CBIE       (3ULL << 4)
#define HENVCFG_CBCFE      (1ULL << 6)  /* CBO.CLEAN/FLUSH allowed in VS/VU */
#define HENVCFG_CBZE       (1ULL << 7)  /* CBO.ZERO allowed in VS/VU */
#define HENVCFG_ADUE       (1ULL << 61) /* Svadu: hardware A/D updates in the VS-stage */
#define HENVCFG_PBMTE      (1ULL << 62) /* Svpbmt in the VS-stage */
#define HENVCFG_STCE       (1ULL << 63) /* Sstc: vstimecmp */

/* hstateen0 (Smstateen): what VS-mode may access */
#define HSTATEEN0_ENVCFG (1ULL << 62) /* senvcfg */
#define HSTATEEN0_SE0    (1ULL << 63) /* sstateen0 */

/* hcounteren: the counters VS/VU-mode may read */
#define HCOUNTEREN_CY (1u << 0)
#define HCOUNTEREN_TM (1u << 1)
#define HCOUNTEREN_IR (1u << 2)

/* Interrupt numbers (bit positions in sip/sie, hvip, hideleg) */
#define IRQ_S_SOFT   1
#define IRQ_VS_SOFT  2
#define IRQ_S_TIMER  5
#define IRQ_VS_TIMER 6
#define IRQ_S_EXT    9
#define IRQ_VS_EXT   10

/* hvip bits: the VS-level interrupts Vireo asserts for a guest */
#define HVIP_VSSIP (1ULL << IRQ_VS_SOFT)
#define HVIP_VSTIP (1ULL << IRQ_VS_TIMER)
#define HVIP_VSEIP (1ULL << IRQ_VS_EXT)

/* scause: the interrupt bit, then exception codes */
#define CAUSE_INTERRUPT              (1ULL << 63)
#define CAUSE_MISALIGNED_FETCH       0
#define CAUSE_FETCH_ACCESS           1
#define CAUSE_ILLEGAL_INSN           2
#define CAUSE_BREAKPOINT             3
#define CAUSE_MISALIGNED_LOAD        4
#define CAUSE_LOAD_ACCESS            5
#define CAUSE_MISALIGNED_STORE       6
#define CAUSE_STORE_ACCESS           7
#define CAUSE_USER_ECALL             8
#define CAUSE_SUPERVISOR_ECALL       9
#define CAUSE_VS_ECALL               10
#define CAUSE_MACHINE_ECALL          11
#define CAUSE_FETCH_PAGE_FAULT       12
#define CAUSE_LOAD_PAGE_FAULT        13
#define CAUSE_STORE_PAGE_FAULT       15
#define CAUSE_DOUBLE_TRAP            16
#define CAUSE_SOFTWARE_CHECK         18
#define CAUSE_HARDWARE_ERROR         19
#define CAUSE_FETCH_GUEST_PAGE_FAULT 20
#define CAUSE_LOAD_GUEST_PAGE_FAULT  21
#define CAUSE_VIRTUAL_INSN           22
#define CAUSE_STORE_GUEST_PAGE_FAULT 23

/* hedeleg bits of the three misaligned-access exceptions (fetch, load,
 * store/AMO): what SBI FWFT MISALIGNED_EXC_DELEG switches. */
#define HEDELEG_MISALIGNED                                                                         \
    ((1ULL << CAUSE_MISALIGNED_FETCH) | (1ULL << CAUSE_MISALIGNED_LOAD) |                          \
     (1ULL << CAUSE_MISALIGNED_STORE))

/* Sdtrig trigger configuration (tdata1) on RV64: the type and dmode
 * fields every type has, then the address/data match triggers, mcontrol
 * (type 2, no VS/VU bits: it never matches in a guest) and mcontrol6
 * (type 6).  RISC-V Debug Specification 1.0, "Trigger Module Registers". */
#define TDATA1_TYPE_SHIFT   60
#define TDATA1_TYPE(t)      ((uint64_t)(t) << TDATA1_TYPE_SHIFT)
#define TDATA1_DMODE        (1ULL << 59)
#define TRIG_TYPE_MCONTROL  2
#define TRIG_TYPE_MCONTROL6 6
/* Fields both match types have at the same place. */
#define MCONTROL_LOAD    (1ULL << 0)
#define MCONTROL_STORE   (1ULL << 1)
#define MCONTROL_EXECUTE (1ULL << 2)
#define MCONTROL_U       (1ULL << 3)
#define MCONTROL_S       (1ULL << 4)
#define MCONTROL_M       (1ULL << 6)
#define MCONTROL_MATCH   (0xfULL << 7)
#define MCONTROL_CHAIN   (1ULL << 11)
#define MCONTROL_ACTION  (0xfULL << 12) /* 0: breakpoint exception */
/* mcontrol (type 2) only */
#define MCONTROL_SIZELO_SHIFT 16
#define MCONTROL_SIZELO       (3ULL << 16)
#define MCONTROL_TIMING       (1ULL << 18)
#define MCONTROL_SELECT       (1ULL << 19)
#define MCONTROL_HIT          (1ULL << 20)
#define MCONTROL_SIZEHI_SHIFT 21
#define MCONTROL_SIZEHI       (3ULL << 21)
#define MCONTROL_MASKMAX      (0x3fULL << 53) /* read-only */
/* mcontrol6 (type 6) only */
#define MCONTROL6_UNCERTAINEN (1ULL << 5)
#define MCONTROL6_SIZE_SHIFT  16
#define MCONTROL6_SIZE        (7ULL << 16)
#define MCONTROL6_SELECT      (1ULL << 21)
#define MCONTROL6_HIT0        (1ULL << 22)
#define MCONTROL6_VU          (1ULL << 23)
#define MCONTROL6_VS          (1ULL << 24)
#define MCONTROL6_HIT1        (1ULL << 25)
#define MCONTROL6_UNCERTAIN   (1ULL << 26)

/* Instruction words */
#define INSN_WFI     0x10500073u
#define INSN_WRS_NTO 0x00d00073u /* Zawrs: wait on a reservation set, no timeout */
#define INSN_WRS_STO 0x01d00073u /* Zawrs: the same with a short timeout */

#endif
