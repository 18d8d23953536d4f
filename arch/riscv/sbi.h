/* Calls from Vireo (HS-mode) to the machine-mode firmware.  IDs and error
 * codes are from the RISC-V SBI specification v2.0. */
#ifndef VIREO_ARCH_RISCV_SBI_H
#define VIREO_ARCH_RISCV_SBI_H

#include <stdint.h>

#define SBI_EXT_BASE 0x10
#define SBI_EXT_TIME 0x54494D45
#define SBI_EXT_IPI  0x735049
#define SBI_EXT_HSM  0x48534D
#define SBI_EXT_SRST 0x53525354
#define SBI_EXT_DBCN 0x4442434E

#define SBI_LEGACY_CONSOLE_PUTCHAR 0x01
#define SBI_LEGACY_SHUTDOWN        0x08

#define SBI_BASE_GET_SPEC_VERSION 0
#define SBI_BASE_GET_IMPL_ID      1
#define SBI_BASE_GET_IMPL_VERSION 2
#define SBI_BASE_PROBE_EXT        3

#define SBI_IPI_SEND_IPI 0

#define SBI_HSM_HART_START      0
#define SBI_HSM_HART_STOP       1
#define SBI_HSM_HART_GET_STATUS 2

#define SBI_SRST_RESET             0
#define SBI_SRST_TYPE_SHUTDOWN     0
#define SBI_SRST_REASON_NONE       0
#define SBI_SRST_REASON_SYSFAILURE 1

#define SBI_DBCN_WRITE_BYTE 2

#define SBI_SUCCESS 0

struct sbiret {
    long error;
    long value;
};

struct sbiret sbi_ecall(unsigned long ext, unsigned long fid, unsigned long a0, unsigned long a1,
                        unsigned long a2);
long sbi_probe(unsigned long ext);

#endif
