/* SPDX-License-Identifier: Apache-2.0 */
/* The few compiler runtime helpers GCC calls for RV64IMAC without Zbb
 * (__builtin_ctz/clz/popcount become calls).  Debian's riscv64 libgcc is
 * built for the lp64d ABI and cannot be linked into Vireo (lp64: no FP
 * registers), so the hypervisor image carries its own.  Host builds use the
 * host compiler's. */
int __ctzdi2(unsigned long x);
int __ctzsi2(unsigned x);
int __clzdi2(unsigned long x);
int __clzsi2(unsigned x);
int __popcountdi2(unsigned long x);

int __ctzdi2(unsigned long x)
{
    int n = 0;

    if (!x)
        return 64;
    while (!(x & 1)) {
        x >>= 1;
        n++;
    }
    return n;
}

int __ctzsi2(unsigned x)
{
    return x ? __ctzdi2(x) : 32;
}

int __clzdi2(unsigned long x)
{
    int n = 0;

    if (!x)
        return 64;
    while (!(x >> 63)) {
        x <<= 1;
        n++;
    }
    return n;
}

int __clzsi2(unsigned x)
{
    return x ? __clzdi2(x) - 32 : 32;
}

int __popcountdi2(unsigned long x)
{
    int n = 0;

    for (; x; x &= x - 1)
        n++;
    return n;
}
