/* SPDX-License-Identifier: Apache-2.0 */
/* Numbers from the RISC-V SBI specification (v2.0, and v3.0 for FWFT, DBTR
 * and SBI_ERR_DENIED_LOCKED): extension and
 * function IDs, error codes, HSM states.  Shared by Vireo's calls to its
 * firmware (arch/riscv/sbi.c) and its SBI implementation for guests
 * (core/sbi/). */
#ifndef VIREO_LIB_SBI_SPEC_H
#define VIREO_LIB_SBI_SPEC_H

#define SBI_SPEC_VERSION_3_0 0x03000000UL /* major 3 in bits 30:24, minor 0 */

/* Legacy (v0.1) extensions: the EID is the function. */
#define SBI_LEGACY_SET_TIMER              0x00
#define SBI_LEGACY_CONSOLE_PUTCHAR        0x01
#define SBI_LEGACY_CONSOLE_GETCHAR        0x02
#define SBI_LEGACY_CLEAR_IPI              0x03
#define SBI_LEGACY_SEND_IPI               0x04
#define SBI_LEGACY_REMOTE_FENCE_I         0x05
#define SBI_LEGACY_REMOTE_SFENCE_VMA      0x06
#define SBI_LEGACY_REMOTE_SFENCE_VMA_ASID 0x07
#define SBI_LEGACY_SHUTDOWN               0x08

#define SBI_EXT_BASE   0x10
#define SBI_EXT_TIME   0x54494D45
#define SBI_EXT_IPI    0x735049
#define SBI_EXT_RFENCE 0x52464E43
#define SBI_EXT_HSM    0x48534D
#define SBI_EXT_SRST   0x53525354
#define SBI_EXT_DBCN   0x4442434E
#define SBI_EXT_SUSP   0x53555350
#define SBI_EXT_STA    0x535441
#define SBI_EXT_FWFT   0x46574654
#define SBI_EXT_DBTR   0x44425452

#define SBI_BASE_GET_SPEC_VERSION 0
#define SBI_BASE_GET_IMPL_ID      1
#define SBI_BASE_GET_IMPL_VERSION 2
#define SBI_BASE_PROBE_EXT        3
#define SBI_BASE_GET_MVENDORID    4
#define SBI_BASE_GET_MARCHID      5
#define SBI_BASE_GET_MIMPID       6

#define SBI_TIME_SET_TIMER 0
#define SBI_IPI_SEND_IPI   0

#define SBI_RFENCE_REMOTE_FENCE_I         0
#define SBI_RFENCE_REMOTE_SFENCE_VMA      1
#define SBI_RFENCE_REMOTE_SFENCE_VMA_ASID 2

#define SBI_HSM_HART_START      0
#define SBI_HSM_HART_STOP       1
#define SBI_HSM_HART_GET_STATUS 2
#define SBI_HSM_HART_SUSPEND    3

#define SBI_HSM_STATE_STARTED       0
#define SBI_HSM_STATE_STOPPED       1
#define SBI_HSM_STATE_START_PENDING 2
#define SBI_HSM_STATE_STOP_PENDING  3
#define SBI_HSM_STATE_SUSPENDED     4

#define SBI_SRST_RESET             0
#define SBI_SRST_TYPE_SHUTDOWN     0
#define SBI_SRST_TYPE_COLD_REBOOT  1
#define SBI_SRST_TYPE_WARM_REBOOT  2
#define SBI_SRST_REASON_NONE       0
#define SBI_SRST_REASON_SYSFAILURE 1

#define SBI_HSM_SUSPEND_RET_DEFAULT    0x00000000UL
#define SBI_HSM_SUSPEND_NONRET_DEFAULT 0x80000000UL

#define SBI_SUSP_SYSTEM_SUSPEND            0
#define SBI_SUSP_SLEEP_TYPE_SUSPEND_TO_RAM 0

#define SBI_STA_SET_SHMEM  0
#define SBI_STA_SHMEM_SIZE 64

#define SBI_FWFT_SET                   0
#define SBI_FWFT_GET                   1
#define SBI_FWFT_MISALIGNED_EXC_DELEG  0
#define SBI_FWFT_LANDING_PAD           1
#define SBI_FWFT_SHADOW_STACK          2
#define SBI_FWFT_DOUBLE_TRAP           3
#define SBI_FWFT_PTE_AD_HW_UPDATING    4
#define SBI_FWFT_POINTER_MASKING_PMLEN 5
/* Feature IDs are 32 bits: bit 31 = global scope, bit 30 = platform-specific;
 * IDs above POINTER_MASKING_PMLEN without bit 30 are reserved. */
#define SBI_FWFT_GLOBAL_BIT    0x80000000UL
#define SBI_FWFT_PLATFORM_BIT  0x40000000UL
#define SBI_FWFT_SET_FLAG_LOCK 1UL

/* DBTR (v3.0): debug triggers through shared memory.  Each entry is four
 * XLEN words, (state or index, tdata1, tdata2, tdata3). */
#define SBI_DBTR_NUM_TRIGGERS       0
#define SBI_DBTR_SET_SHMEM          1
#define SBI_DBTR_READ_TRIGGERS      2
#define SBI_DBTR_INSTALL_TRIGGERS   3
#define SBI_DBTR_UPDATE_TRIGGERS    4
#define SBI_DBTR_UNINSTALL_TRIGGERS 5
#define SBI_DBTR_ENABLE_TRIGGERS    6
#define SBI_DBTR_DISABLE_TRIGGERS   7
#define SBI_DBTR_ENTRY_SIZE         32 /* XLEN / 2 bytes on RV64 */
/* trig_state: saved copies of tdata1's mode bits, and the mapping. */
#define SBI_DBTR_STATE_MAPPED       (1UL << 0)
#define SBI_DBTR_STATE_U            (1UL << 1)
#define SBI_DBTR_STATE_S            (1UL << 2)
#define SBI_DBTR_STATE_VU           (1UL << 3)
#define SBI_DBTR_STATE_VS           (1UL << 4)
#define SBI_DBTR_STATE_HAVE_HW_TRIG (1UL << 5)
#define SBI_DBTR_STATE_HW_IDX_SHIFT 8

#define SBI_DBCN_WRITE      0
#define SBI_DBCN_READ       1
#define SBI_DBCN_WRITE_BYTE 2

#define SBI_SUCCESS               0
#define SBI_ERR_FAILED            (-1)
#define SBI_ERR_NOT_SUPPORTED     (-2)
#define SBI_ERR_INVALID_PARAM     (-3)
#define SBI_ERR_DENIED            (-4)
#define SBI_ERR_INVALID_ADDRESS   (-5)
#define SBI_ERR_ALREADY_AVAILABLE (-6)
#define SBI_ERR_ALREADY_STARTED   (-7)
#define SBI_ERR_ALREADY_STOPPED   (-8)
#define SBI_ERR_NO_SHMEM          (-9)
#define SBI_ERR_INVALID_STATE     (-10)
#define SBI_ERR_BAD_RANGE         (-11)
#define SBI_ERR_TIMEOUT           (-12)
#define SBI_ERR_IO                (-13)
#define SBI_ERR_DENIED_LOCKED     (-14) /* SBI 3.0: FWFT set of a locked feature */

#endif
