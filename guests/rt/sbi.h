/* SPDX-License-Identifier: Apache-2.0 */
/* SBI calls a test guest makes to "the firmware": OpenSBI when the guest runs
 * natively, Vireo when it runs as a VM.  The guests only ever use SBI, so the
 * same image tests both.  IDs, function numbers and error codes are from the
 * RISC-V SBI specification v2.0. */
#ifndef VIREO_GUESTS_RT_SBI_H
#define VIREO_GUESTS_RT_SBI_H

#include <stdint.h>

#define SBI_EXT_LEGACY_SET_TIMER 0x00
#define SBI_EXT_LEGACY_PUTCHAR   0x01
#define SBI_EXT_LEGACY_SHUTDOWN  0x08
#define SBI_EXT_BASE             0x10
#define SBI_EXT_TIME             0x54494D45
#define SBI_EXT_HSM              0x48534D
#define SBI_EXT_SRST             0x53525354
#define SBI_EXT_DBCN             0x4442434E

#define SBI_BASE_GET_SPEC_VERSION 0
#define SBI_BASE_GET_IMPL_ID      1
#define SBI_BASE_PROBE_EXT        3

#define SBI_TIME_SET_TIMER 0

#define SBI_HSM_HART_START      0
#define SBI_HSM_HART_GET_STATUS 2

/* hart_get_status values. */
#define SBI_HSM_STARTED       0
#define SBI_HSM_STOPPED       1
#define SBI_HSM_START_PENDING 2

#define SBI_SRST_RESET             0
#define SBI_SRST_TYPE_SHUTDOWN     0
#define SBI_SRST_REASON_NONE       0
#define SBI_SRST_REASON_SYSFAILURE 1

#define SBI_DBCN_WRITE_BYTE 2

#define SBI_SUCCESS               0
#define SBI_ERR_FAILED            -1
#define SBI_ERR_NOT_SUPPORTED     -2
#define SBI_ERR_INVALID_PARAM     -3
#define SBI_ERR_DENIED            -4
#define SBI_ERR_INVALID_ADDRESS   -5
#define SBI_ERR_ALREADY_AVAILABLE -6
#define SBI_ERR_ALREADY_STARTED   -7
#define SBI_ERR_NO_SHMEM          -9
#define SBI_ERR_BAD_RANGE         -11

struct sbiret {
    long error;
    long value;
};

struct sbiret sbi_call(unsigned long ext, unsigned long fid, unsigned long arg0, unsigned long arg1,
                       unsigned long arg2);
/* The BASE probe's answer: non-zero if the extension is implemented. */
long sbi_probe(unsigned long ext);

/* The spec's name for an error code, for messages ("SBI_ERR_INVALID_PARAM"). */
const char *sbi_strerror(long err);

long sbi_hart_start(uint64_t hartid, uint64_t start_addr, uint64_t opaque);
/* A hart_get_status value (>= 0) or an SBI error (< 0). */
long sbi_hart_status(uint64_t hartid);
/* TIME set_timer, or the legacy call when TIME is missing. */
void sbi_set_timer(uint64_t when);
/* SRST shutdown; falls back to the legacy shutdown and returns only if both
 * are refused. */
void sbi_shutdown(int failure);

#endif
