/* SPDX-License-Identifier: Apache-2.0 */
/* Boot, console, exit, traps and secondary harts for the test guests. */
#include "guests/rt/rt.h"

#include <stdarg.h>

#include "guests/rt/gfdt.h"
#include "guests/rt/sbi.h"
#include "lib/spinlock.h"
#include "lib/string.h"

/* Called from crt0.S. */
void guest_boot(uint64_t hartid, const void *fdt);
void guest_secondary(uint64_t hartid, uint64_t slot);
void guest_trap(uint64_t cause, uint64_t epc, uint64_t tval);
extern char guest_secondary_entry[];

/* ---- console ---- */

static bool use_dbcn;
static struct spinlock console_lock;
/* Hart holding console_lock, so that a trap taken while printing can still
 * print its report instead of waiting for itself forever. */
static uint64_t console_owner = UINT64_MAX;

static void console_out(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        if (use_dbcn)
            sbi_call(SBI_EXT_DBCN, SBI_DBCN_WRITE_BYTE, (unsigned char)s[i], 0, 0);
        else
            sbi_call(SBI_EXT_LEGACY_PUTCHAR, 0, (unsigned char)s[i], 0, 0);
    }
}

static bool console_enter(void)
{
    uint64_t me = guest_hartid();

    if (__atomic_load_n(&console_owner, __ATOMIC_RELAXED) == me)
        return false;
    spin_lock(&console_lock);
    __atomic_store_n(&console_owner, me, __ATOMIC_RELAXED);
    return true;
}

static void console_leave(bool locked)
{
    if (!locked)
        return;
    __atomic_store_n(&console_owner, UINT64_MAX, __ATOMIC_RELAXED);
    spin_unlock(&console_lock);
}

/* One locked unit: optional "guest NAME: " + prefix, the message, optional
 * newline. */
static void console_vprint(bool tag, const char *prefix, const char *fmt, va_list ap, bool nl)
{
    bool locked = console_enter();

    if (tag) {
        console_out(NULL, "guest ", 6);
        console_out(NULL, guest_name, strlen(guest_name));
        console_out(NULL, ": ", 2);
    }
    if (prefix)
        console_out(NULL, prefix, strlen(prefix));
    fmt_vformat(console_out, NULL, fmt, ap);
    if (nl)
        console_out(NULL, "\n", 1);
    console_leave(locked);
}

void gprintf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    console_vprint(false, NULL, fmt, ap, false);
    va_end(ap);
}

void glog(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    console_vprint(true, NULL, fmt, ap, true);
    va_end(ap);
}

/* ---- exit ---- */

_Noreturn void guest_exit(int failure)
{
    sbi_shutdown(failure);
    /* Both shutdown calls were refused: nothing else can end the run. */
    for (;;)
        __asm__ volatile("wfi");
}

_Noreturn void guest_pass(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    console_vprint(true, "PASS ", fmt, ap, true);
    va_end(ap);
    guest_exit(0);
}

_Noreturn void guest_fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    console_vprint(true, "FAIL: ", fmt, ap, true);
    va_end(ap);
    guest_exit(1);
}

/* ---- time ---- */

static uint64_t timebase_hz;

uint64_t guest_timebase(void)
{
    if (!timebase_hz)
        guest_fail("no timebase-frequency in /cpus or the cpu node of hart %lu",
                   (unsigned long)guest_hartid());
    return timebase_hz;
}

uint64_t guest_ms_to_ticks(uint64_t ms)
{
    return guest_timebase() * ms / 1000;
}

uint64_t guest_ticks_to_us(uint64_t ticks)
{
    return ticks * 1000000 / guest_timebase();
}

/* ---- harts ---- */

struct slot {
    guest_hart_fn fn;
    void *arg;
};

/* Slot 0 is the boot hart's stack; crt0.S maps slot k to stack k. */
static struct slot slots[GUEST_MAX_SLOTS];
static uint32_t next_slot = 1;

long guest_hart_start(uint64_t hartid, guest_hart_fn fn, void *arg)
{
    uint32_t k = __atomic_fetch_add(&next_slot, 1, __ATOMIC_RELAXED);

    if (k >= GUEST_MAX_SLOTS)
        guest_fail("more than %d hart starts: raise GUEST_MAX_SLOTS", GUEST_MAX_SLOTS - 1);
    slots[k].arg = arg;
    /* Release: the new hart reads arg after it sees fn. */
    __atomic_store_n(&slots[k].fn, fn, __ATOMIC_RELEASE);
    return sbi_hart_start(hartid, (uint64_t)(uintptr_t)guest_secondary_entry, k);
}

_Noreturn void guest_park(void)
{
    csr_clear(sstatus, SSTATUS_SIE);
    for (;;)
        __asm__ volatile("wfi");
}

void guest_secondary(uint64_t hartid, uint64_t slot)
{
    /* crt0 checked slot's range before it took the slot's stack. */
    guest_hart_fn fn = __atomic_load_n(&slots[slot].fn, __ATOMIC_ACQUIRE);

    if (!fn)
        guest_fail("hart %lu started with opaque %lu, which no hart_start of this guest "
                   "handed out",
                   (unsigned long)hartid, (unsigned long)slot);
    fn(hartid, slots[slot].arg);
    guest_park();
}

/* ---- traps ---- */

static guest_irq_fn irq_handler;
static guest_exc_fn exc_handler;

void guest_set_irq_handler(guest_irq_fn fn)
{
    __atomic_store_n(&irq_handler, fn, __ATOMIC_RELEASE);
}

void guest_set_exc_handler(guest_exc_fn fn)
{
    __atomic_store_n(&exc_handler, fn, __ATOMIC_RELEASE);
}

void guest_skip_insn(uint64_t epc)
{
    uint16_t insn = *(volatile uint16_t *)(uintptr_t)epc;
    csr_write(sepc, epc + ((insn & 3) == 3 ? 4 : 2));
}

static const char *cause_name(uint64_t cause)
{
    static const char *const exc[] = {
        [0] = "instruction address misaligned",
        [1] = "instruction access fault",
        [2] = "illegal instruction",
        [3] = "breakpoint",
        [4] = "load address misaligned",
        [5] = "load access fault",
        [6] = "store address misaligned",
        [7] = "store access fault",
        [8] = "environment call from U-mode",
        [9] = "environment call from S-mode",
        [12] = "instruction page fault",
        [13] = "load page fault",
        [15] = "store page fault",
        [18] = "software check",
        [19] = "hardware error",
    };
    static const char *const irq[] = {
        [1] = "supervisor software interrupt",
        [5] = "supervisor timer interrupt",
        [9] = "supervisor external interrupt",
        [13] = "counter overflow interrupt",
    };
    bool is_irq = cause >> 63;
    uint64_t code = cause & ~(1ull << 63);
    const char *name = NULL;

    if (is_irq && code < sizeof(irq) / sizeof(irq[0]))
        name = irq[code];
    else if (!is_irq && code < sizeof(exc) / sizeof(exc[0]))
        name = exc[code];
    return name ? name : "unknown cause";
}

void guest_trap(uint64_t cause, uint64_t epc, uint64_t tval)
{
    guest_irq_fn fn = __atomic_load_n(&irq_handler, __ATOMIC_ACQUIRE);

    guest_exc_fn efn = __atomic_load_n(&exc_handler, __ATOMIC_ACQUIRE);

    if ((cause >> 63) && fn) {
        fn(cause & ~(1ull << 63));
        return;
    }
    if (!(cause >> 63) && efn && efn(cause, epc, tval))
        return;
    guest_fail("unexpected trap on hart %lu: scause 0x%lx (%s) sepc 0x%lx stval 0x%lx",
               (unsigned long)guest_hartid(), (unsigned long)cause, cause_name(cause),
               (unsigned long)epc, (unsigned long)tval);
}

/* ---- bootargs ---- */

const char *guest_bootarg(const char *key, size_t *len)
{
    const char *p = gfdt_bootargs();
    size_t klen = strlen(key);

    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *word = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if ((size_t)(p - word) > klen && strncmp(word, key, klen) == 0 && word[klen] == '=') {
            *len = (size_t)(p - word) - klen - 1;
            return word + klen + 1;
        }
    }
    return NULL;
}

bool guest_parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0, base = 10;
    size_t i = 0;

    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    if (i == len)
        return false;
    for (; i < len; i++) {
        char c = s[i];
        uint64_t d;
        if (c >= '0' && c <= '9')
            d = (uint64_t)(c - '0');
        else if (base == 16 && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (uint64_t)((c | 0x20) - 'a' + 10);
        else
            return false;
        if (v > (UINT64_MAX - d) / base)
            return false; /* overflow */
        v = v * base + d;
    }
    *out = v;
    return true;
}

uint64_t guest_bootarg_u64(const char *key, uint64_t dflt)
{
    size_t len;
    const char *s = guest_bootarg(key, &len);
    uint64_t v;

    if (!s)
        return dflt;
    if (!guest_parse_u64(s, len, &v))
        guest_fail("bootarg %s=%.*s: expected a number", key, (int)len, s);
    return v;
}

/* ---- boot ---- */

void guest_boot(uint64_t hartid, const void *fdt)
{
    int err;

    use_dbcn = sbi_probe(SBI_EXT_DBCN) != 0;
    glog("start on hart %lu", (unsigned long)hartid);
    err = gfdt_init(fdt);
    if (err < 0)
        guest_fail("no valid FDT at a1 = 0x%lx: %s", (unsigned long)(uintptr_t)fdt, err_str(err));
    timebase_hz = gfdt_timebase(hartid);
    guest_main(hartid);
    guest_fail("guest_main returned without PASS or FAIL");
}
