/* SPDX-License-Identifier: Apache-2.0 */
#include "arch/riscv/sbi.h"

struct sbiret sbi_ecall(unsigned long ext, unsigned long fid, unsigned long arg0,
                        unsigned long arg1, unsigned long arg2)
{
    register unsigned long a0 __asm__("a0") = arg0;
    register unsigned long a1 __asm__("a1") = arg1;
    register unsigned long a2 __asm__("a2") = arg2;
    register unsigned long a6 __asm__("a6") = fid;
    register unsigned long a7 __asm__("a7") = ext;

    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a2), "r"(a6), "r"(a7) : "memory");
    return (struct sbiret){.error = (long)a0, .value = (long)a1};
}

long sbi_probe(unsigned long ext)
{
    struct sbiret r = sbi_ecall(SBI_EXT_BASE, SBI_BASE_PROBE_EXT, ext, 0, 0);

    return r.error ? 0 : r.value;
}
