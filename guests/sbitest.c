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
    case EXT_DBTR:
        return "DBTR";
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

/* ---- DBTR ---- */

#define T_MC6       (6UL << 60)
#define T_MC2       (2UL << 60)
#define T_LOAD      (1UL << 0)
#define T_STORE     (1UL << 1)
#define T_EXEC      (1UL << 2)
#define T_U         (1UL << 3)
#define T_S         (1UL << 4)
#define T_M         (1UL << 6)
#define T_ACTION_DM (1UL << 12)
#define T_CHAIN     (1UL << 11)
#define T_DMODE     (1UL << 59)
#define T_MC6_VS    (1UL << 24)
#define T_MC6_SIZE4 (3UL << 16) /* 32-bit accesses */
#define T_MC2_SIZE4 (3UL << 16) /* sizelo = 3, sizehi = 0 */

struct dbtr_entry {
    unsigned long word[4];
};
static struct dbtr_entry dbtr_shmem[8] __attribute__((aligned(64)));
static volatile unsigned dbtr_hits;
static volatile uint32_t dbtr_var[2];

/* A function an execute trigger watches: the breakpoint is taken before
 * its first instruction, which the handler skips (a nop). */
__attribute__((naked, noinline)) static void dbtr_target(void)
{
    __asm__ volatile(".option push\n.option norvc\nnop\nret\n.option pop\n");
}

static bool dbtr_on_breakpoint(uint64_t cause, uint64_t epc, uint64_t tval)
{
    (void)tval;
    if (cause != 3)
        return false;
    dbtr_hits++;
    guest_skip_insn(epc);
    return true;
}

/* Does one access of kind ("store", "load", "exec") and prints whether a
 * trigger fired. */
static void dbtr_probe(const char *what, const char *kind, unsigned i)
{
    dbtr_hits = 0;
    if (kind[0] == 's')
        dbtr_var[i] = 1;
    else if (kind[0] == 'l')
        (void)dbtr_var[i];
    else
        dbtr_target();
    gprintf("sbi HIT %s %s%u -> %u 0\n", what, kind, i, dbtr_hits);
}

/* Installs one trigger from entry 0 and prints the call (label names it). */
static struct sbiret dbtr_install1(const char *label, unsigned long tdata1, unsigned long tdata2)
{
    char args[48];
    dbtr_shmem[0].word[0] = 0;
    dbtr_shmem[0].word[1] = tdata1;
    dbtr_shmem[0].word[2] = tdata2;
    dbtr_shmem[0].word[3] = 0;
    fmt_snprintf(args, sizeof(args), "a0=1 %s", label);
    struct sbiret r = callx(EXT_DBTR, 3, 1, 0, 0, args);
    gprintf("sbi DBTR idx %s -> 0 %lu\n", label, dbtr_shmem[0].word[0]);
    return r;
}

static void dbtr_read0(const char *label, unsigned long idx)
{
    char args[48];
    fmt_snprintf(args, sizeof(args), "a0=%lu a1=1 %s", idx, label);
    callx(EXT_DBTR, 2, idx, 1, 0, args);
    gprintf("sbi DBTR entry %s -> 0 %#lx %#lx %s\n", label, dbtr_shmem[0].word[0],
            dbtr_shmem[0].word[1], dbtr_shmem[0].word[2] == (unsigned long)dbtr_var ? "var0" : "?");
}

/* Uninstalls everything, without printing (the sides may differ in what
 * a refused call left behind). */
static void dbtr_clear(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        sbi_call(EXT_DBTR, 5, i, 1, 0);
}

static void test_dbtr(void)
{
    struct sbiret r = sbi_call(0x10, 3, EXT_DBTR, 0, 0);
    if (r.error || !r.value) {
        gprintf("sbi dbtr absent\n");
        return;
    }
    unsigned long v0 = (unsigned long)&dbtr_var[0], v1 = (unsigned long)&dbtr_var[1];
    unsigned long sh = (unsigned long)dbtr_shmem;
    unsigned n = (unsigned)call(EXT_DBTR, 0, 0, 0, 0).value;
    call(EXT_DBTR, 0, T_MC2, 0, 0);
    call(EXT_DBTR, 0, T_MC6, 0, 0);
    call(EXT_DBTR, 0, T_MC6 | T_STORE | T_S, 0, 0);
    call(EXT_DBTR, 0, 3UL << 60, 0, 0);
    call(EXT_DBTR, 0, 15UL << 60, 0, 0);
    call(EXT_DBTR, 8, 0, 0, 0);
    if (n < 2 || n > 8) {
        gprintf("sbi dbtr triggers %u: not tested\n", n);
        return;
    }
    guest_set_exc_handler(dbtr_on_breakpoint);

    /* Shared memory: off, misaligned, above 4 GiB... */
    call(EXT_DBTR, 2, 0, 1, 0);
    call(EXT_DBTR, 3, 1, 0, 0);
    call(EXT_DBTR, 1, (unsigned long)-1, (unsigned long)-1, 0);
    callx(EXT_DBTR, 1, sh + 4, 0, 0, "a0=shmem+4 a1=0 a2=0");
    callx(EXT_DBTR, 1, sh, 1, 0, "a0=shmem a1=1 a2=0");
    callx(EXT_DBTR, 1, sh, 0, 1, "a0=shmem a1=0 a2=1 flags");
    sbi_call(EXT_DBTR, 1, (unsigned long)-1, (unsigned long)-1, 0);
    callx(EXT_DBTR, 1, sh, 0, 0, "a0=shmem a1=0 a2=0");
    callx(EXT_DBTR, 1, sh, 0, 0, "a0=shmem a1=0 a2=0 again");
    sbi_call(EXT_DBTR, 1, (unsigned long)-1, (unsigned long)-1, 0);
    sbi_call(EXT_DBTR, 1, sh, 0, 0);

    /* Reading: an unused trigger, and the range. */
    dbtr_read0("unused", 0);
    call(EXT_DBTR, 2, n - 1, 1, 0);
    call(EXT_DBTR, 2, n, 0, 0);
    call(EXT_DBTR, 2, 0, n, 0);
    call(EXT_DBTR, 2, (unsigned long)-1, 2, 0);

    /* A store trigger (mcontrol6): fires on a store only, reads back as
     * written, can be disabled and enabled, then goes. */
    dbtr_install1("store6", T_MC6 | T_STORE | T_S | T_MC6_SIZE4, v0);
    dbtr_probe("store6", "store", 0);
    dbtr_probe("store6", "load", 0);
    dbtr_probe("store6", "store", 1);
    dbtr_read0("store6", 0);
    call(EXT_DBTR, 7, 0, 1, 0);
    dbtr_probe("disabled", "store", 0);
    dbtr_read0("disabled", 0);
    call(EXT_DBTR, 6, 0, 1, 0);
    dbtr_probe("enabled", "store", 0);
    dbtr_read0("enabled", 0);
    /* ... across many switches: each wfi gives the hart up until a tick. */
    unsigned hits = 0;
    csr_set(sie, SIE_STIE);
    for (int i = 0; i < 20; i++) {
        sbi_set_timer(guest_time() + guest_ms_to_ticks(1));
        __asm__ volatile("wfi");
        dbtr_hits = 0;
        dbtr_var[0] = 2;
        hits += dbtr_hits;
    }
    sbi_set_timer((uint64_t)-1);
    csr_clear(sie, SIE_STIE);
    gprintf("sbi HIT switches store0 -> %u 0\n", hits);
    call(EXT_DBTR, 5, 0, 1, 0);
    dbtr_probe("uninstalled", "store", 0);
    dbtr_read0("uninstalled", 0);
    call(EXT_DBTR, 5, 0, 1, 0);
    call(EXT_DBTR, 6, 0, 1, 0);
    call(EXT_DBTR, 7, 0, 1, 0);
    call(EXT_DBTR, 5, n, 1, 0);
    call(EXT_DBTR, 5, 0, 0, 0);

    /* Load (mcontrol, the older type), execute, and two at once. */
    dbtr_install1("load2", T_MC2 | T_LOAD | T_S | T_MC2_SIZE4, v1);
    dbtr_probe("load2", "load", 1);
    dbtr_probe("load2", "store", 1);
    dbtr_read0("load2", 0);
    call(EXT_DBTR, 5, 0, 1, 0);
    dbtr_install1("exec6", T_MC6 | T_EXEC | T_S, (unsigned long)dbtr_target);
    dbtr_probe("exec6", "exec", 0);
    dbtr_probe("exec6", "load", 0);
    dbtr_install1("store6-second", T_MC6 | T_STORE | T_S | T_MC6_SIZE4, v0);
    dbtr_probe("two", "exec", 0);
    dbtr_probe("two", "store", 0);
    dbtr_read0("second", 1);
    dbtr_install1("third", T_MC6 | T_LOAD | T_S, v1);
    call(EXT_DBTR, 5, 0, 3, 0);
    dbtr_probe("none", "exec", 0);
    dbtr_probe("none", "store", 0);
    /* U-mode only: the guest's S-mode store does not fire it. */
    dbtr_install1("store6-u", T_MC6 | T_STORE | T_U, v0);
    dbtr_probe("store6-u", "store", 0);
    dbtr_clear(n);

    /* Refused configurations; the first entry that fails is named. */
    dbtr_install1("m", T_MC6 | T_STORE | T_M, v0);
    dbtr_clear(n);
    dbtr_install1("dmode", T_MC6 | T_STORE | T_S | T_DMODE, v0);
    dbtr_clear(n);
    dbtr_install1("icount", 3UL << 60 | T_S, 0);
    dbtr_clear(n);
    dbtr_install1("none", 0, 0);
    dbtr_clear(n);
    dbtr_install1("vs", T_MC6 | T_STORE | T_MC6_VS, v0);
    dbtr_clear(n);
    dbtr_install1("action", T_MC6 | T_STORE | T_S | T_ACTION_DM, v0);
    dbtr_clear(n);
    callx(EXT_DBTR, 3, n, 0, 0, "a0=n");
    dbtr_clear(n);
    callx(EXT_DBTR, 3, 0, 0, 0, "a0=0");
    /* Two entries, the second refused: nothing installed. */
    dbtr_shmem[0] = (struct dbtr_entry){{0, T_MC6 | T_STORE | T_S, v0, 0}};
    dbtr_shmem[1] = (struct dbtr_entry){{0, T_MC6 | T_STORE | T_M, v0, 0}};
    if (n > 2)
        callx(EXT_DBTR, 3, 2, 0, 0, "a0=2 second-bad");
    dbtr_clear(n);

    /* Update: a trigger installed watching nothing, then made a store trigger. */
    dbtr_install1("idle", T_MC6, 0);
    dbtr_shmem[0] = (struct dbtr_entry){{0, T_MC6 | T_STORE | T_S | T_MC6_SIZE4, v0, 0}};
    callx(EXT_DBTR, 4, 1, 0, 0, "a0=1 update");
    dbtr_probe("update", "store", 0);
    dbtr_shmem[0] = (struct dbtr_entry){{0, T_MC2 | T_STORE | T_S, v0, 0}};
    callx(EXT_DBTR, 4, 1, 0, 0, "a0=1 update-type");
    dbtr_shmem[0] = (struct dbtr_entry){{n, T_MC6 | T_STORE | T_S, v0, 0}};
    callx(EXT_DBTR, 4, 1, 0, 0, "a0=1 update-idx");
    dbtr_shmem[0] = (struct dbtr_entry){{1, T_MC6 | T_STORE | T_S, v0, 0}};
    callx(EXT_DBTR, 4, 1, 0, 0, "a0=1 update-unmapped");
    callx(EXT_DBTR, 4, n, 0, 0, "a0=n update");
    dbtr_clear(n);
    callx(EXT_DBTR, 1, (unsigned long)-1, (unsigned long)-1, 0, "off");
    callx(EXT_DBTR, 4, 1, 0, 0, "a0=1 update-noshmem");
    guest_set_exc_handler(NULL);
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
    test_dbtr();
    test_srst_susp_dbcn_sta(other, (unsigned)n);
    gprintf("sbi end\n");
    guest_pass("%d harts", n);
}
