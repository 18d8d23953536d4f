/* SPDX-License-Identifier: Apache-2.0 */
/* CSR access and the bits Vireo uses.  Numbers and layouts are from the
 * RISC-V privileged specification (supervisor and hypervisor chapters). */
#ifndef VIREO_ARCH_RISCV_CSR_H
#define VIREO_ARCH_RISCV_CSR_H

#include <stdint.h>

#include "arch/riscv/encoding.h"

#define csr_read(csr)                                                                              \
    ({                                                                                             \
        uint64_t v_;                                                                               \
        __asm__ volatile("csrr %0, " #csr : "=r"(v_)::"memory");                                   \
        v_;                                                                                        \
    })
#define csr_write(csr, val) __asm__ volatile("csrw " #csr ", %0" ::"rK"((uint64_t)(val)) : "memory")
#define csr_set(csr, val)   __asm__ volatile("csrs " #csr ", %0" ::"rK"((uint64_t)(val)) : "memory")
#define csr_clear(csr, val) __asm__ volatile("csrc " #csr ", %0" ::"rK"((uint64_t)(val)) : "memory")

#endif
