/* SPDX-License-Identifier: Apache-2.0 */
/* sbitest: calls every SBI function Vireo implements with valid, boundary
 * and invalid arguments and prints one line per call,
 *     sbi EXT FID a0=... a1=... a2=... -> ERROR VALUE
 * so that tests/system/sbidiff can run it natively (OpenSBI) and under
 * Vireo and compare the lines.  Arguments that depend on which hart booted
 * are printed as "self" / "other".  Calls that would end the run or jump
 * somewhere (shutdown, non-retentive suspend, a hart start at a bad
 * address the firmware would accept) are left to the unit tests. */
#include "guests/rt/gfdt.h"
#include "guests/rt/rt.h"
#include "guests/rt/sbi.h"

const char guest_name[] = "sbitest";

#define EXT_TIME   0x54494D45UL
#define EXT_IPI    0x735049UL
#define EXT_RFENCE 0x52464E43UL
#define EXT_HSM    0x48534DUL
#define EXT_SRST   0x53525354UL
#define EXT_PMU    0x504D55UL
#define EXT_DBCN   0x4442434EUL
#define EXT_SUSP   0x53555350UL
#define EXT_CPPC   0x43505043UL
#define EXT_NACL   0x4E41434CUL
#define EXT_STA    0x535441UL
#define EXT_SSE    0x535345UL
#define EXT_FWFT   0x46574654UL
#define EXT_DBTR   0x44425452UL
#define EXT_MPXY   0x4D505859UL

#define HI 0xdead000000000000UL /* garbage for the upper half of 32-bit parameters */

static const char *ext_name(unsigned long ext)
{
    switch (ext) {
    case 0x10:
        return "BASE";
    case EXT_TIME:
        return "TIME";
    case EXT_IPI:
        return "IPI";
    case EXT_RFENCE:
        return "RFNC";
    case EXT_HSM:
        return "HSM";
    case EXT_SRST:
        return "SRST";
    case EXT_DBCN:
        return "DBCN";
    case EXT_SUSP:
        return "SUSP";
    case EXT_STA:
        return "STA";
    case EXT_FWFT:
        return "FWFT";
    default:
        return NULL;
    }
}

static struct sbiret callx(unsigned long ext, unsigned long fid, unsigned long a0, unsigned long a1,
                           unsigned long a2, const char *args)
{
    struct sbiret r = sbi_call(ext, fid, a0, a1, a2);
    const char *n = ext_name(ext);

    if (n)
        gprintf("sbi %s %lu ", n, fid);
    else
        gprintf("sbi %#lx %lu ", ext, fid);
    if (args)
        gprintf("%s", args);
    else
        gprintf("a0=%#lx a1=%#lx a2=%#lx", a0, a1, a2);
    gprintf(" -> %ld %ld\n", r.error, r.value);
    return r;
}

static struct sbiret call(unsigned long ext, unsigned long fid, unsigned long a0, unsigned long a1,
                          unsigned long a2)
{
    return callx(ext, fid, a0, a1, a2, NULL);
}

static volatile int other_up;

static void other_main(uint64_t hartid, void *arg)
{
    (void)hartid;
    (void)arg;
    __atomic_store_n(&other_up, 1, __ATOMIC_RELEASE);
    guest_park();
}

static void test_base(void)
{
    static const unsigned long exts[] = {
        0,          1,
        2,          3,
        4,          5,
        6,          7,
        8,          9,
        0x0f,       0x10,
        EXT_TIME,   EXT_IPI,
        EXT_RFENCE, EXT_HSM,
        EXT_SRST,   EXT_PMU,
        EXT_DBCN,   EXT_SUSP,
        EXT_CPPC,   EXT_NACL,
        EXT_STA,    EXT_SSE,
        EXT_FWFT,   EXT_DBTR,
        EXT_MPXY,   0x12345678,
        0x09000000, 0x0A000000,
        0x0AFFFFFF, 0x0B000000,
        0x0FFFFFFF, (unsigned long)-1,
    };
    for (unsigned long fid = 0; fid <= 7; fid++) {
        if (fid != 3)
            call(0x10, fid, 0, 0, 0);
    }
    for (unsigned i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
        call(0x10, 3, exts[i], 0, 0);
}

static void test_time_ipi_rfence(uint64_t self, unsigned nharts)
{
    call(EXT_TIME, 0, (unsigned long)-1, 0, 0);
    call(EXT_TIME, 1, 0, 0, 0);
    /* Nobody, nobody at a valid base, harts the machine lacks. */
    call(EXT_IPI, 0, 0, 0, 0);
    call(EXT_IPI, 0, 0, nharts, 0);
    call(EXT_IPI, 0, 1, nharts, 0);
    call(EXT_IPI, 0, 1UL << 63, 0, 0);
    call(EXT_IPI, 0, 3, nharts - 1, 0);
    call(EXT_IPI, 0, 1, (unsigned long)-2, 0);
    callx(EXT_IPI, 0, 1, self, 0, "a0=1 a1=self");
    csr_clear(sip, 1UL << 1); /* the IPI just sent to this hart */
    call(EXT_IPI, 1, 0, 0, 0);
    callx(EXT_RFENCE, 0, 1, self, 0, "a0=1 a1=self");
    call(EXT_RFENCE, 0, 1, nharts, 0);
    call(EXT_RFENCE, 0, 0, 0, 0);
    call(EXT_RFENCE, 1, 0, (unsigned long)-1, 0);
    call(EXT_RFENCE, 1, 1UL << 40, 0, 0);
    call(EXT_RFENCE, 2, 0, (unsigned long)-1, 0);
    call(EXT_RFENCE, 2, 1, nharts, 0);
    for (unsigned long fid = 3; fid <= 7; fid++)
        call(EXT_RFENCE, fid, 0, 0, 0);
}

static void test_hsm(uint64_t self, uint64_t other, unsigned nharts)
{
    callx(EXT_HSM, 2, self, 0, 0, "a0=self");
    callx(EXT_HSM, 2, other, 0, 0, "a0=other");
    call(EXT_HSM, 2, nharts, 0, 0);
    call(EXT_HSM, 2, (unsigned long)-1, 0, 0);
    call(EXT_HSM, 0, nharts, (unsigned long)__image_start, 0);
    call(EXT_HSM, 0, (unsigned long)-1, (unsigned long)__image_start, 0);
    callx(EXT_HSM, 0, self, (unsigned long)__image_start, 0, "a0=self a1=image");
    /* Reserved and platform-specific suspend types, with and without
     * garbage in the upper half (ignored: suspend_type is 32 bits). */
    static const unsigned long types[] = {
        1,
        0x0FFFFFFF,
        0x10000000,
        0x7FFFFFFF,
        0x80000001,
        0x8FFFFFFF,
        0x90000000,
        0xFFFFFFFF,
        HI | 1,
        HI | 0x80000001,
        HI | 0x10000000,
        0x100000001UL,
        0xFFFFFFFF7FFFFFFFUL,
    };
    for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        call(EXT_HSM, 3, types[i], (unsigned long)__image_start, 0);
    /* Default retentive suspend, written with garbage in the upper half:
     * it suspends, and a timer interrupt (enabled in sie, not in
     * sstatus) resumes it. */
    unsigned long types_ret[] = {0, HI, 0x100000000UL};
    for (unsigned i = 0; i < 3; i++) {
        csr_set(sie, SIE_STIE);
        sbi_set_timer(guest_time() + guest_ms_to_ticks(2));
        call(EXT_HSM, 3, types_ret[i], 0, 0);
        sbi_set_timer((uint64_t)-1);
        csr_clear(sie, SIE_STIE);
    }
    call(EXT_HSM, 4, 0, 0, 0);
}

static void test_srst_susp_dbcn_sta(uint64_t other, unsigned nharts)
{
    static const char msg[] = "sbitest: dbcn write\n";

    /* Reserved types and reasons (garbage above bit 31 or not): refused,
     * so nothing resets. */
    call(EXT_SRST, 0, 3, 0, 0);
    call(EXT_SRST, 0, 0xEFFFFFFF, 0, 0);
    call(EXT_SRST, 0, HI | 3, 0, 0);
    call(EXT_SRST, 0, 0, 2, 0);
    call(EXT_SRST, 0, 0, 0xDFFFFFFF, 0);
    call(EXT_SRST, 0, 0, HI | 2, 0);
    call(EXT_SRST, 1, 0, 0, 0);

    call(EXT_SUSP, 0, 1, (unsigned long)__image_start, 0);
    call(EXT_SUSP, 0, 0x7FFFFFFF, (unsigned long)__image_start, 0);
    call(EXT_SUSP, 0, 0x80000000, (unsigned long)__image_start, 0);
    call(EXT_SUSP, 0, HI | 1, (unsigned long)__image_start, 0);
    call(EXT_SUSP, 1, 0, 0, 0);
    if (nharts > 1) {
        /* Another hart runs: suspend to RAM is refused (garbage above bit
         * 31 of sleep_type is ignored). */
        guest_hart_start(other, other_main, NULL);
        while (!__atomic_load_n(&other_up, __ATOMIC_ACQUIRE))
            ;
        callx(EXT_HSM, 2, other, 0, 0, "a0=other");
        call(EXT_SUSP, 0, 0, (unsigned long)__image_start, 0);
        call(EXT_SUSP, 0, HI, (unsigned long)__image_start, 0);
    }

    callx(EXT_DBCN, 0, sizeof(msg) - 1, (unsigned long)msg, 0, "a0=20 a1=msg a2=0");
    callx(EXT_DBCN, 0, sizeof(msg) - 1, (unsigned long)msg, 1, "a0=20 a1=msg a2=1");
    callx(EXT_DBCN, 1, 0, (unsigned long)msg, 0, "a0=0 a1=buf a2=0");
    callx(EXT_DBCN, 1, 4, (unsigned long)msg, 1, "a0=4 a1=buf a2=1");
    call(EXT_DBCN, 2, HI | '\n', 0, 0);
    call(EXT_DBCN, 3, 0, 0, 0);

    static char shmem[128] __attribute__((aligned(64)));
    callx(EXT_STA, 0, (unsigned long)shmem, 0, 0, "a0=shmem a1=0 a2=0");
    callx(EXT_STA, 0, (unsigned long)shmem + 8, 0, 0, "a0=shmem+8 a1=0 a2=0");
    callx(EXT_STA, 0, (unsigned long)shmem, 0, 1, "a0=shmem a1=0 a2=1");
    call(EXT_STA, 0, (unsigned long)-1, (unsigned long)-1, 0);
    call(EXT_STA, 1, 0, 0, 0);
}

static void test_fwft(void)
{
    static const unsigned long ids[] = {
        0,          1,          2,          3,          4,
        5,          6,          7,          0x3fffffff, 0x40000000,
        0x40000001, 0x7fffffff, 0x80000000, 0x80000001, 0x80000004,
        0xbfffffff, 0xc0000000, 0xffffffff, HI | 6,     HI | 0x40000000,
    };
    /* Reset values (implementation-defined for MISALIGNED_EXC_DELEG). */
    callx(EXT_FWFT, 1, 0, 0, 0, "a0=0 reset");
    callx(EXT_FWFT, 1, HI, 0, 0, "a0=HI|0 reset");
    callx(EXT_FWFT, 1, 4, 0, 0, "a0=0x4 reset");
    for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        if (ids[i] != 0 && ids[i] != 4) {
            call(EXT_FWFT, 1, ids[i], 0, 0);
            call(EXT_FWFT, 0, ids[i], 1, 0);
        }
    }
    call(EXT_FWFT, 2, 0, 0, 0);
    /* MISALIGNED_EXC_DELEG: bad flags, bad values, both values, the lock. */
    call(EXT_FWFT, 0, 0, 1, 2);
    call(EXT_FWFT, 0, 0, 1, 1UL << 63);
    call(EXT_FWFT, 0, 0, 2, 0);
    call(EXT_FWFT, 0, 0, (unsigned long)-1, 0);
    call(EXT_FWFT, 0, 0, 0, 0);
    call(EXT_FWFT, 1, 0, 0, 0);
    /* A misaligned load and store, not delegated: done for the guest (or
     * by the hardware). */
    static volatile uint8_t buf[16] __attribute__((aligned(8)));
    for (unsigned i = 0; i < 16; i++)
        buf[i] = (uint8_t)(0x10 + i);
    volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)(buf + 3);
    uint64_t got = *p;
    *p = 0x0102030405060708UL;
    gprintf("sbi misaligned ld -> %#lx, then %#x %#x\n", (unsigned long)got, buf[3], buf[10]);
    call(EXT_FWFT, 0, HI, 1, 0);
    call(EXT_FWFT, 1, 0, 0, 0);
    call(EXT_FWFT, 0, 0, 1, 1);
    call(EXT_FWFT, 0, 0, 0, 0);
    call(EXT_FWFT, 0, 0, 1, 0);
    call(EXT_FWFT, 0, 0, 2, 0);
    call(EXT_FWFT, 0, 0, 0, 2);
    call(EXT_FWFT, 1, 0, 0, 0);
    /* PTE_AD_HW_UPDATING: present when the host has Svadu. */
    call(EXT_FWFT, 0, 4, 2, 0);
    call(EXT_FWFT, 0, 4, 0, 2);
    call(EXT_FWFT, 0, 4, 0, 0);
    call(EXT_FWFT, 1, 4, 0, 0);
    call(EXT_FWFT, 0, 4, 1, 1);
    call(EXT_FWFT, 0, 4, 0, 0);
    call(EXT_FWFT, 1, 4, 0, 0);
}

void guest_main(uint64_t hartid)
{
    uint64_t harts[64];
    int n = gfdt_harts(harts, 64);
    uint64_t other = hartid;

    for (int i = 0; i < n && i < 64; i++) {
        if (harts[i] != hartid) {
            other = harts[i];
            break;
        }
    }
    gprintf("sbi harts %d\n", n);
    test_base();
    test_time_ipi_rfence(hartid, (unsigned)n);
    test_hsm(hartid, other, (unsigned)n);
    test_fwft();
    test_srst_susp_dbcn_sta(other, (unsigned)n);
    gprintf("sbi end\n");
    guest_pass("%d harts", n);
}
