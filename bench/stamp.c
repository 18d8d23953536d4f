/* SPDX-License-Identifier: Apache-2.0 */
/* vireo-stamp: prints "vireo-bench: stamp LABEL TIME" with the time CSR
 * (machine time since power-on: Vireo gives guests htimedelta 0) and
 * exits.  Static, no libc: Linux syscalls only.  bench/run adds it to the
 * Linux guest's initramfs to time the boot to userspace. */
#define SYS_write 64
#define SYS_exit  93

static long sys3(long n, long a, long b, long c)
{
    register long a0 __asm__("a0") = a;
    register long a1 __asm__("a1") = b;
    register long a2 __asm__("a2") = c;
    register long a7 __asm__("a7") = n;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}

void start_c(long *sp);

void start_c(long *sp)
{
    char buf[128];
    int n = 0;
    const char *pre = "vireo-bench: stamp ";
    const char *label = sp[0] > 1 ? (const char *)sp[2] : "-";
    unsigned long t, d = 1;

    __asm__ volatile("rdtime %0" : "=r"(t));
    while (*pre)
        buf[n++] = *pre++;
    while (*label && n < 100)
        buf[n++] = *label++;
    buf[n++] = ' ';
    while (t / d >= 10)
        d *= 10;
    for (; d; d /= 10)
        buf[n++] = (char)('0' + t / d % 10);
    buf[n++] = '\n';
    sys3(SYS_write, 1, (long)buf, n);
    sys3(SYS_exit, 0, 0, 0);
    for (;;)
        ;
}

__asm__(".globl _start\n_start:\n mv a0, sp\n call start_c\n");
