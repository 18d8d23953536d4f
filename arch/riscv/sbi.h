/* SPDX-License-Identifier: Apache-2.0 */
/* Calls from Vireo (HS-mode) to the machine-mode firmware. */
#ifndef VIREO_ARCH_RISCV_SBI_H
#define VIREO_ARCH_RISCV_SBI_H

#include "lib/sbi_spec.h"

struct sbiret {
    long error;
    long value;
};

struct sbiret sbi_ecall(unsigned long ext, unsigned long fid, unsigned long a0, unsigned long a1,
                        unsigned long a2);
long sbi_probe(unsigned long ext);

#endif
