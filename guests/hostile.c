/* SPDX-License-Identifier: Apache-2.0 */
/* hostile: a guest that attacks its hypervisor, one attack per run, chosen
 * with attack=NAME in its bootargs (tests/system/hostile runs each next to
 * a sibling VM and checks that Vireo and the sibling come through).
 *
 *   attack=guard ms=N   the sibling: fills its free RAM with a pattern that
 *                       depends on the address and the round, verifies it,
 *                       and repeats for N ms (default 3000); PASS with the
 *                       number of rounds, FAIL on the first wrong word.
 *   attack=mem op=OP addr=A [width=W]
 *                       one access at guest physical A: OP is load, store
 *                       (width 1, 2, 4 or 8; default 4), exec, amo
 *                       (amoswap, width 4 or 8), lr, sc (width 4 or 8), or
 *                       flw.  Vireo must stop the VM before it completes; a
 *                       completed access prints "access completed" and fails
 *                       (except an sc that fails: with no reservation it
 *                       never reaches memory, and passes).
 *   attack=peek         reads the first 2 MiB of its RAM (0x80000000, where
 *                       the host keeps its firmware): it must be zeroed RAM
 *                       of its own, and writable.
 *   attack=csr          the instructions of hostile_probes.h from VS-mode and
 *                       from VU-mode: each must reach this guest's own trap
 *                       handler as an illegal instruction (scause 2) at the
 *                       probe's address, in the mode it ran in; satp (which
 *                       is vsatp) must work: Sv39 with an alias mapping;
 *                       then a WFI in VU-mode with a timer armed (reports
 *                       what happened).
 *   attack=sbi          SBI calls with addresses outside the VM, bogus hart
 *                       ids and masks, reserved values, unknown extensions
 *                       and functions: each must return the specification's
 *                       error code.
 *   attack=dbtr ms=N    SBI DBTR with shared memory outside the VM, trigger
 *                       types the host lacks, M-mode, debug-mode, chained,
 *                       VS/VU triggers and other actions: the specification's
 *                       errors; then every trigger armed (one on its own
 *                       variable, the rest on addresses the guard writes) while
 *                       it gives up its hart for N ms: its own must fire each
 *                       round, the guard must never see one.
 *   attack=ipi ms=N     every hart sends IPIs to every hart (and itself) in a
 *                       tight loop for N ms, taking them with SIE on.
 *   attack=wfi ms=N     every hart: an IPI pending but masked (sstatus.SIE
 *                       off), then WFI in a loop: each one returns at once.
 *   attack=irq ms=N     the UART's transmitter-empty interrupt enabled at the
 *                       PLIC and never claimed: the guest's handler runs
 *                       back to back for N ms.
 *   attack=stopall      starts every hart, then every hart (the boot hart
 *                       last) calls HSM hart_stop.
 *   attack=virtio case=C  the VM's virtio-rng (slot 0, 0x10001000): after one
 *                       good request, a malformed ring: loop (a descriptor
 *                       chain in a cycle), index (an available head past the
 *                       queue), next (a next index past it), huge (a 4 GiB
 *                       buffer running off the end of RAM), outside (a
 *                       buffer at 0), indirect (a looping indirect table),
 *                       mmio (rings in device space), avail (1000 entries
 *                       made available in a queue of 8).  The device must
 *                       show DEVICE_NEEDS_RESET with the configuration
 *                       interrupt, ignore requests, and work again after a
 *                       reset.  case=reset: 1000 resets with a request in
 *                       flight, notifying the device in reset; then it works.
 *   attack=net case=C   the VM's virtio-net (slot 0, CSUM and HOST_TSO4
 *                       negotiated): after one good frame, a transmit chain
 *                       with a buffer at 0 (outside), in the PLIC (plic),
 *                       wrapping the address space (wrap), 4 GiB long off
 *                       the end of RAM (huge) or in a loop (loop): the device
 *                       must show DEVICE_NEEDS_RESET, send nothing more and
 *                       work after a reset; or a frame to drop: 100000 bytes
 *                       (long), an offload header with gso_size 0 (gso0),
 *                       hdr_len past the frame (hdrlen), csum_start or
 *                       csum_offset past it (csum, csumoff), undefined flags
 *                       (flags): the chain completed, the device goes on.
 *                       Also straddle (a buffer across the end of RAM)
 *                       and split (a good frame's buffer, then one across
 *                       the end of RAM): NEEDS_RESET, nothing of it sent.
 *   attack=netrx ms=N   the VM's virtio-net (slot 0, GUEST_CSUM, GUEST_TSO4
 *                       and MRG_RXBUF) receives for N ms: every frame must
 *                       be an attacker's good frame, whole (plain, or with
 *                       the hdrlen case's header, which passes the
 *                       switch), and nothing written past it in its
 *                       buffer; at least one.
 *   attack=blk case=C   the VM's virtio-blk (slot 0, on a host-disk region:
 *                       Vireo hands guest buffers to the host disk's DMA):
 *                       after a good read, a request whose data buffer is
 *                       not the VM's RAM: outside (at 0), plic (the PLIC),
 *                       past (just past its RAM), straddle (8 KiB starting
 *                       4 KiB before its end: nothing of it may be written),
 *                       writeplic (a write to the disk from the PLIC: the
 *                       disk must keep its data).  The device must show
 *                       DEVICE_NEEDS_RESET, ignore requests, and work after
 *                       a reset.  case=reset: 1000 resets with reads in
 *                       flight (the host disk completes them later, to no
 *                       one); then it works and reads what was written.
 *
 * The device addresses are Vireo's VM layout (core/vm.h): PLIC 0x0c000000,
 * UART 0x10000000 with irq 10, S-mode context k for vCPU k. */
#include "guests/hostile_probes.h"
#include "guests/rt/gfdt.h"
#include "guests/rt/rt.h"
#include "guests/rt/sbi.h"
#include "lib/string.h"

const char guest_name[] = "hostile";

#define PLIC_BASE  0x0c000000ul
#define UART_BASE  0x10000000ul
#define UART_IRQ   10
#define MAX_HARTS  8
#define MAX_RANGES 16

#define SBI_EXT_IPI                 0x735049
#define SBI_EXT_RFENCE              0x52464E43
#define SBI_EXT_SUSP                0x53555350
#define SBI_EXT_STA                 0x535441
#define SBI_EXT_FWFT                0x46574654
#define SBI_EXT_PMU                 0x504D55
#define SBI_EXT_DBTR                0x44425452
#define SBI_DBTR_NUM_TRIGGERS       0
#define SBI_DBTR_SET_SHMEM          1
#define SBI_DBTR_READ_TRIGGERS      2
#define SBI_DBTR_INSTALL_TRIGGERS   3
#define SBI_DBTR_UNINSTALL_TRIGGERS 5
#define SBI_DBTR_ENABLE_TRIGGERS    6
#define SBI_HSM_STOP                1
#define SBI_HSM_SUSPEND             3

/* ---- helpers ---- */

static bool word_is(const char *s, size_t len, const char *word)
{
    return s && len == strlen(word) && strncmp(s, word, len) == 0;
}

static struct mem_range ram(void)
{
    struct mem_range mem[MAX_RANGES];
    int n = gfdt_memory(mem, MAX_RANGES);

    if (n < 1)
        guest_fail("expected a /memory range in the FDT, found none");
    return mem[0];
}

static int harts(uint64_t *ids)
{
    int n = gfdt_harts(ids, MAX_HARTS);

    if (n < 1)
        guest_fail("expected cpu nodes in the FDT, found none");
    return n > MAX_HARTS ? MAX_HARTS : n;
}

/* ---- guard: the sibling that checks its memory ---- */

static int subtract(struct mem_range *r, int n, struct mem_range cut)
{
    for (int i = 0; i < n; i++) {
        if (cut.end <= r[i].start || cut.start >= r[i].end)
            continue;
        if (cut.start > r[i].start && cut.end < r[i].end) {
            if (n >= MAX_RANGES)
                guest_fail("more than %d free ranges", MAX_RANGES);
            r[n++] = (struct mem_range){cut.end, r[i].end};
            r[i].end = cut.start;
        } else if (cut.start <= r[i].start && cut.end >= r[i].end) {
            r[i--] = r[--n];
        } else if (cut.start <= r[i].start) {
            r[i].start = cut.end;
        } else {
            r[i].end = cut.start;
        }
    }
    return n;
}

static inline uint64_t pattern(uint64_t addr, uint64_t round)
{
    return (addr ^ (round * 0xd1b54a32d192ed03ull)) * 0x9e3779b97f4a7c15ull ^ 0x5a5a5a5a5a5a5a5aull;
}

static void guard(void)
{
    struct mem_range r[MAX_RANGES], initrd;
    int n = gfdt_memory(r, MAX_RANGES);
    uint64_t ms = guest_bootarg_u64("ms", 3000), bytes = 0, rounds = 0;

    if (n < 1 || n > MAX_RANGES)
        guest_fail("expected 1..%d /memory ranges, found %d", MAX_RANGES, n);
    n = subtract(r, n, (struct mem_range){(uint64_t)__image_start, (uint64_t)__image_end});
    n = subtract(r, n, (struct mem_range){gfdt_blob_addr(), gfdt_blob_addr() + gfdt_blob_size()});
    if (gfdt_initrd(&initrd))
        n = subtract(r, n, initrd);
    for (int i = 0; i < n; i++) {
        r[i].start = (r[i].start + 7) & ~7ull;
        r[i].end &= ~7ull;
        if (r[i].end > r[i].start)
            bytes += r[i].end - r[i].start;
    }
    glog("guarding %lu KiB for %lu ms", (unsigned long)(bytes >> 10), (unsigned long)ms);
    uint64_t t0 = guest_time(), end = t0 + guest_ms_to_ticks(ms);
    do {
        for (int i = 0; i < n; i++)
            for (uint64_t a = r[i].start; a < r[i].end; a += 8)
                *(volatile uint64_t *)a = pattern(a, rounds);
        for (int i = 0; i < n; i++) {
            for (uint64_t a = r[i].start; a < r[i].end; a += 8) {
                uint64_t got = *(volatile uint64_t *)a;
                if (got != pattern(a, rounds))
                    guest_fail("memory corrupted in round %lu at 0x%lx: expected 0x%016lx, "
                               "read 0x%016lx",
                               (unsigned long)rounds, (unsigned long)a,
                               (unsigned long)pattern(a, rounds), (unsigned long)got);
            }
        }
        rounds++;
    } while (guest_time() < end || rounds < 2);
    guest_pass("guard: %lu rounds over %lu KiB in %lu ms, no corruption", (unsigned long)rounds,
               (unsigned long)(bytes >> 10),
               (unsigned long)(guest_ticks_to_us(guest_time() - t0) / 1000));
}

/* ---- mem: one access where the VM has nothing ---- */

static void mem_attack(void)
{
    size_t olen = 0;
    const char *op = guest_bootarg("op", &olen);
    uint64_t addr = guest_bootarg_u64("addr", UINT64_MAX), width = guest_bootarg_u64("width", 4);
    uint64_t v = 0;

    if (addr == UINT64_MAX || !op)
        guest_fail("attack=mem needs op= and addr=");
    glog("%.*s width %lu at 0x%lx", (int)olen, op, (unsigned long)width, (unsigned long)addr);
    if (word_is(op, olen, "load")) {
        switch (width) {
        case 1:
            v = *(volatile uint8_t *)addr;
            break;
        case 2:
            v = *(volatile uint16_t *)addr;
            break;
        case 4:
            v = *(volatile uint32_t *)addr;
            break;
        case 8:
            v = *(volatile uint64_t *)addr;
            break;
        default:
            guest_fail("width=%lu: expected 1, 2, 4 or 8", (unsigned long)width);
        }
    } else if (word_is(op, olen, "store")) {
        switch (width) {
        case 1:
            *(volatile uint8_t *)addr = 0x55;
            break;
        case 2:
            *(volatile uint16_t *)addr = 0x5555;
            break;
        case 4:
            *(volatile uint32_t *)addr = 0x5555;
            break;
        case 8:
            *(volatile uint64_t *)addr = 0x5555;
            break;
        default:
            guest_fail("width=%lu: expected 1, 2, 4 or 8", (unsigned long)width);
        }
        __asm__ volatile("fence rw, rw" ::: "memory");
    } else if (word_is(op, olen, "exec")) {
        ((void (*)(void))addr)();
    } else if (word_is(op, olen, "amo")) {
        if (width == 8)
            __asm__ volatile("amoswap.d %0, %1, (%2)"
                             : "=r"(v)
                             : "r"(0x55ul), "r"(addr)
                             : "memory");
        else
            __asm__ volatile("amoswap.w %0, %1, (%2)"
                             : "=r"(v)
                             : "r"(0x55ul), "r"(addr)
                             : "memory");
    } else if (word_is(op, olen, "lr")) {
        if (width == 8)
            __asm__ volatile("lr.d %0, (%1)" : "=r"(v) : "r"(addr) : "memory");
        else
            __asm__ volatile("lr.w %0, (%1)" : "=r"(v) : "r"(addr) : "memory");
    } else if (word_is(op, olen, "sc")) {
        if (width == 8)
            __asm__ volatile("sc.d %0, %1, (%2)" : "=r"(v) : "r"(0x55ul), "r"(addr) : "memory");
        else
            __asm__ volatile("sc.w %0, %1, (%2)" : "=r"(v) : "r"(0x55ul), "r"(addr) : "memory");
    } else if (word_is(op, olen, "flw")) {
        float f;
        csr_set(sstatus, SSTATUS_FS_INIT);
        __asm__ volatile("flw %0, 0(%1)" : "=f"(f) : "r"(addr) : "memory");
        __asm__ volatile("fmv.x.w %0, %1" : "=r"(v) : "f"(f));
    } else {
        guest_fail("op=%.*s: expected load, store, exec, amo, lr, sc or flw", (int)olen, op);
    }
    if (word_is(op, olen, "sc") && v != 0)
        guest_pass("sc at 0x%lx failed (rd = 0x%lx) with no reservation, as it must",
                   (unsigned long)addr, (unsigned long)v);
    guest_fail("access completed: %.*s width %lu at 0x%lx gave 0x%lx (expected Vireo to stop the "
               "VM)",
               (int)olen, op, (unsigned long)width, (unsigned long)addr, (unsigned long)v);
}

/* Where the host keeps its firmware, the guest has its own zeroed RAM. */
static void peek(void)
{
    struct mem_range m = ram();
    uint64_t end = m.start + (2ul << 20);

    if (m.start != 0x80000000ul || (uint64_t)__image_start < end)
        guest_fail("expected RAM from 0x80000000 and the image at 0x80200000 or above");
    for (uint64_t a = m.start; a < end; a += 8) {
        uint64_t got = *(volatile uint64_t *)a;
        if (got)
            guest_fail("0x%lx reads 0x%016lx: expected zeroed RAM (is it the host's firmware?)",
                       (unsigned long)a, (unsigned long)got);
    }
    for (uint64_t a = m.start; a < end; a += 8)
        *(volatile uint64_t *)a = pattern(a, 7);
    for (uint64_t a = m.start; a < end; a += 8) {
        if (*(volatile uint64_t *)a != pattern(a, 7))
            guest_fail("0x%lx did not keep what was written", (unsigned long)a);
    }
    guest_pass("peek: 0x%lx-0x%lx is zeroed RAM of this VM, and writable", (unsigned long)m.start,
               (unsigned long)end - 1);
}

/* ---- csr: privileged instructions from VS- and VU-mode ---- */

struct probe_rec {
    uint64_t t1, cause, epc, tval, status, count, irq, irqs;
};
extern volatile struct probe_rec hostile_rec;
extern char hostile_probes[], hostile_probes_end[], hostile_probe_vector[], hostile_wfi[];
void hostile_user_call(void (*fn)(uint64_t), uint64_t arg);

#define PROBE_NAME(modes, name, ...)  name,
#define PROBE_MODES(modes, name, ...) modes,
static const char *const probe_names[] = {HOSTILE_PROBES(PROBE_NAME)};
static const unsigned char probe_modes[] = {HOSTILE_PROBES(PROBE_MODES)};
#define NPROBES (sizeof(probe_names) / sizeof(probe_names[0]))

#define SSTATUS_SPP (1ul << 8)

static uint64_t scratch[2] __attribute__((aligned(16)));
static uint64_t root_pt[512] __attribute__((aligned(4096)));

static unsigned probe_bad;

static void probe_one(unsigned i, bool user)
{
    uint64_t at = (uint64_t)hostile_probes + 8 * i;
    uint32_t insn = *(volatile uint32_t *)at;
    void (*fn)(uint64_t) = (void (*)(uint64_t))at;
    const char *mode = user ? "VU" : "VS";

    hostile_rec.count = 0;
    hostile_rec.cause = hostile_rec.epc = hostile_rec.tval = 0;
    if (user)
        hostile_user_call(fn, (uint64_t)scratch);
    else
        fn((uint64_t)scratch);
    bool spp = (hostile_rec.status & SSTATUS_SPP) != 0;
    if (hostile_rec.count != 1 || hostile_rec.cause != 2 || hostile_rec.epc != at ||
        hostile_rec.tval != insn || spp == user) {
        probe_bad++;
        glog("probe %s from %s-mode: expected one illegal-instruction trap (scause 2) at 0x%lx "
             "taken from %s-mode, got %lu trap(s): scause 0x%lx sepc 0x%lx stval 0x%lx SPP %d",
             probe_names[i], mode, (unsigned long)at, mode, (unsigned long)hostile_rec.count,
             (unsigned long)hostile_rec.cause, (unsigned long)hostile_rec.epc,
             (unsigned long)hostile_rec.tval, spp);
    }
}

/* satp in VS-mode is vsatp: Sv39 with the RAM gigapage identity-mapped and
 * aliased at 0xc0000000; a store through the alias must show directly. */
static void vsatp_check(void)
{
    uint64_t pa = 0x80000000ul, satp = (8ul << 60) | ((uint64_t)root_pt >> 12);

    root_pt[2] = (pa >> 12) << 10 | 0xcf; /* V R W X A D */
    root_pt[3] = (pa >> 12) << 10 | 0xc7; /* V R W A D */
    __asm__ volatile("sfence.vma" ::: "memory");
    csr_write(satp, satp);
    __asm__ volatile("sfence.vma" ::: "memory");
    uint64_t got = csr_read(satp);
    volatile uint64_t *alias = (volatile uint64_t *)((uint64_t)&scratch[1] + 0x40000000ul);
    *alias = 0x1234abcd5678ef00ul;
    uint64_t direct = *(volatile uint64_t *)&scratch[1];
    csr_write(satp, 0);
    __asm__ volatile("sfence.vma" ::: "memory");
    if (hostile_rec.count)
        guest_fail("satp (vsatp) with Sv39: unexpected trap scause 0x%lx sepc 0x%lx stval 0x%lx",
                   (unsigned long)hostile_rec.cause, (unsigned long)hostile_rec.epc,
                   (unsigned long)hostile_rec.tval);
    if (got != satp)
        guest_fail("satp reads 0x%lx after writing 0x%lx (expected the value written)",
                   (unsigned long)got, (unsigned long)satp);
    if (direct != 0x1234abcd5678ef00ul)
        guest_fail("Sv39 alias store not visible at the physical address: read 0x%lx",
                   (unsigned long)direct);
    if (csr_read(satp) != 0)
        guest_fail("satp not back to 0 (Bare)");
}

static void csr_attack(void)
{
    unsigned vs = 0, vu = 0;
    uint64_t old = csr_read(stvec);

    if ((uint64_t)(hostile_probes_end - hostile_probes) != 8 * NPROBES)
        guest_fail("probe table is %lu bytes, expected %lu",
                   (unsigned long)(hostile_probes_end - hostile_probes),
                   (unsigned long)(8 * NPROBES));
    csr_write(sie, 0);
    csr_write(stvec, (uint64_t)hostile_probe_vector);
    for (unsigned i = 0; i < NPROBES; i++) {
        if (probe_modes[i] & PROBE_VS) {
            probe_one(i, false);
            vs++;
        }
        if (probe_modes[i] & PROBE_VU) {
            probe_one(i, true);
            vu++;
        }
    }
    hostile_rec.count = 0;
    vsatp_check();

    /* WFI from VU-mode, with a timer 20 ms away to end it if it waits. */
    hostile_rec.count = hostile_rec.irqs = 0;
    uint64_t t0 = guest_time();
    sbi_set_timer(t0 + guest_ms_to_ticks(20));
    csr_write(sie, SIE_STIE);
    hostile_user_call((void (*)(uint64_t))hostile_wfi, 0);
    uint64_t us = guest_ticks_to_us(guest_time() - t0);
    csr_write(sie, 0);
    sbi_set_timer(UINT64_MAX);
    if (hostile_rec.count == 1 && hostile_rec.cause == 2)
        glog("wfi from VU-mode: illegal instruction (scause 2) after %lu us", (unsigned long)us);
    else if (hostile_rec.count == 0 && hostile_rec.irqs == 1 && hostile_rec.irq == (1ul << 63 | 5))
        glog("wfi from VU-mode: waited for the timer interrupt (%lu us)", (unsigned long)us);
    else
        glog("wfi from VU-mode: %lu trap(s) (scause 0x%lx), %lu interrupt(s) (0x%lx) after %lu us",
             (unsigned long)hostile_rec.count, (unsigned long)hostile_rec.cause,
             (unsigned long)hostile_rec.irqs, (unsigned long)hostile_rec.irq, (unsigned long)us);
    csr_write(stvec, old);
    if (probe_bad)
        guest_fail("%u of %u probes did not raise an illegal instruction in this guest", probe_bad,
                   vs + vu);
    guest_pass("csr: %u probes from VS-mode and %u from VU-mode each raised an illegal instruction "
               "in the guest; satp (vsatp) works with Sv39",
               vs, vu);
}

/* ---- sbi: exact error codes ---- */

static unsigned sbi_checks, sbi_bad;

static void expect(const char *what, struct sbiret r, long err)
{
    sbi_checks++;
    if (r.error != err) {
        sbi_bad++;
        glog("SBI %s: expected %s (%ld), got %s (%ld)", what, sbi_strerror(err), err,
             sbi_strerror(r.error), r.error);
    }
}

static struct sbiret call(unsigned long ext, unsigned long fid, unsigned long a0, unsigned long a1,
                          unsigned long a2)
{
    return sbi_call(ext, fid, a0, a1, a2);
}

static char msg[] = "guest hostile: dbcn write from RAM works\n";
static uint64_t masks[2] __attribute__((aligned(8)));

static void sbi_attack(void)
{
    struct mem_range m = ram();
    uint64_t ids[MAX_HARTS];
    unsigned long n = (unsigned long)harts(ids), end = m.end, base = m.start;
    const unsigned long outside[] = {end,       end + 0x1000,    0x0,
                                     0x1000,    UART_BASE,       PLIC_BASE,
                                     0x2000000, 0x80000000000ul, 0xffffffffffff0000ul};
    const unsigned long unknown_eids[] = {SBI_EXT_PMU, 0x09,       0x0f,      0x12345678,
                                          0x0a000000,  0x7fffffff, 0xffffffff};
    char what[96];
    struct sbiret r;

    if (n < 2)
        guest_fail("attack=sbi needs at least 2 vCPUs (hart 1 stays stopped)");
    glog("RAM 0x%lx-0x%lx, %lu harts", base, end, n);

    /* Unknown extensions and functions: NOT_SUPPORTED; probe says 0. */
    for (unsigned i = 0; i < sizeof(unknown_eids) / sizeof(unknown_eids[0]); i++) {
        fmt_snprintf(what, sizeof(what), "extension 0x%lx", unknown_eids[i]);
        expect(what, call(unknown_eids[i], 0, 0, 0, 0), SBI_ERR_NOT_SUPPORTED);
        r = call(SBI_EXT_BASE, SBI_BASE_PROBE_EXT, unknown_eids[i], 0, 0);
        expect("probe_extension of an unknown extension", r, SBI_SUCCESS);
        if (r.value != 0) {
            sbi_bad++;
            glog("SBI probe_extension(0x%lx): expected 0, got %ld", unknown_eids[i], r.value);
        }
    }
    const struct {
        unsigned long eid, fid;
    } unknown_fids[] = {{SBI_EXT_BASE, 7}, {SBI_EXT_BASE, 0xffffffff}, {SBI_EXT_TIME, 1},
                        {SBI_EXT_IPI, 1},  {SBI_EXT_RFENCE, 7},        {SBI_EXT_HSM, 4},
                        {SBI_EXT_SRST, 1}, {SBI_EXT_DBCN, 3},          {SBI_EXT_SUSP, 1},
                        {SBI_EXT_STA, 1},  {SBI_EXT_FWFT, 2},          {SBI_EXT_HSM, 0x7fffffff}};
    for (unsigned i = 0; i < sizeof(unknown_fids) / sizeof(unknown_fids[0]); i++) {
        fmt_snprintf(what, sizeof(what), "extension 0x%lx function %lu", unknown_fids[i].eid,
                     unknown_fids[i].fid);
        expect(what, call(unknown_fids[i].eid, unknown_fids[i].fid, 0, 0, 0),
               SBI_ERR_NOT_SUPPORTED);
    }

    /* Buffers and shared memory outside the VM's RAM. */
    for (unsigned i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
        unsigned long a = outside[i];
        fmt_snprintf(what, sizeof(what), "dbcn write of 16 bytes at 0x%lx", a);
        expect(what, call(SBI_EXT_DBCN, 0 /* write */, 16, a, 0), SBI_ERR_INVALID_PARAM);
        fmt_snprintf(what, sizeof(what), "dbcn read of 16 bytes to 0x%lx", a);
        expect(what, call(SBI_EXT_DBCN, 1, 16, a, 0), SBI_ERR_INVALID_PARAM);
        fmt_snprintf(what, sizeof(what), "sta set_shmem at 0x%lx", a & ~63ul);
        expect(what, call(SBI_EXT_STA, 0, a & ~63ul, 0, 0), SBI_ERR_INVALID_ADDRESS);
        fmt_snprintf(what, sizeof(what), "hsm hart_start of hart 1 at 0x%lx", a);
        expect(what, call(SBI_EXT_HSM, SBI_HSM_HART_START, 1, a, 0), SBI_ERR_INVALID_ADDRESS);
        fmt_snprintf(what, sizeof(what), "hsm non-retentive suspend resuming at 0x%lx", a);
        expect(what, call(SBI_EXT_HSM, SBI_HSM_SUSPEND, 0x80000000ul, a, 0),
               SBI_ERR_INVALID_ADDRESS);
        fmt_snprintf(what, sizeof(what), "susp system_suspend resuming at 0x%lx", a);
        expect(what, call(SBI_EXT_SUSP, 0, 0, a, 0), SBI_ERR_INVALID_ADDRESS);
        if (!a)
            continue; /* a NULL mask pointer means every hart to the legacy calls */
        fmt_snprintf(what, sizeof(what), "legacy send_ipi with its mask at 0x%lx", a);
        expect(what, call(0x04, 0, a, 0, 0), SBI_ERR_INVALID_ADDRESS);
        fmt_snprintf(what, sizeof(what), "legacy remote_fence_i with its mask at 0x%lx", a);
        expect(what, call(0x05, 0, a, 0, 0), SBI_ERR_INVALID_ADDRESS);
    }
    /* Straddling the end of RAM, wrapping around, high halves. */
    expect("dbcn write straddling the end of RAM", call(SBI_EXT_DBCN, 0, 16, end - 8, 0),
           SBI_ERR_INVALID_PARAM);
    expect("dbcn write of 2^64-1 bytes", call(SBI_EXT_DBCN, 0, ~0ul, base, 0),
           SBI_ERR_INVALID_PARAM);
    expect("dbcn write wrapping past 2^64", call(SBI_EXT_DBCN, 0, 0x100, ~0ul - 0x10, 0),
           SBI_ERR_INVALID_PARAM);
    expect("dbcn write with base_addr_hi 1", call(SBI_EXT_DBCN, 0, 4, base, 1),
           SBI_ERR_INVALID_PARAM);
    expect("dbcn read straddling the end of RAM", call(SBI_EXT_DBCN, 1, 16, end - 8, 0),
           SBI_ERR_INVALID_PARAM);
    expect("sta set_shmem not 64-byte aligned", call(SBI_EXT_STA, 0, base + 8, 0, 0),
           SBI_ERR_INVALID_PARAM);
    expect("sta set_shmem with shmem_phys_hi 1", call(SBI_EXT_STA, 0, base, 1, 0),
           SBI_ERR_INVALID_ADDRESS);
    expect("sta set_shmem with flags 1", call(SBI_EXT_STA, 0, base, 0, 1), SBI_ERR_INVALID_PARAM);
    expect("hsm hart_start at the last 2 bytes of RAM", call(SBI_EXT_HSM, 0, 1, end - 2, 0),
           SBI_ERR_INVALID_ADDRESS);
    expect("hsm hart_start at 2^64-4", call(SBI_EXT_HSM, 0, 1, ~0ul - 3, 0),
           SBI_ERR_INVALID_ADDRESS);

    /* Bogus hart ids and masks. */
    const unsigned long bad_ids[] = {n, n + 1, 63, 64, 0x7fffffff, ~0ul};
    for (unsigned i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
        unsigned long id = bad_ids[i];
        fmt_snprintf(what, sizeof(what), "hsm hart_start of hart 0x%lx", id);
        expect(what, call(SBI_EXT_HSM, 0, id, base, 0), SBI_ERR_INVALID_PARAM);
        fmt_snprintf(what, sizeof(what), "hsm hart_get_status of hart 0x%lx", id);
        expect(what, call(SBI_EXT_HSM, SBI_HSM_HART_GET_STATUS, id, 0, 0), SBI_ERR_INVALID_PARAM);
        fmt_snprintf(what, sizeof(what), "ipi send_ipi mask 1 base 0x%lx", id);
        expect(what, call(SBI_EXT_IPI, 0, 1, id == ~0ul ? ~0ul - 1 : id, 0), SBI_ERR_INVALID_PARAM);
        fmt_snprintf(what, sizeof(what), "rfence remote_fence_i mask 1 base 0x%lx", id);
        expect(what, call(SBI_EXT_RFENCE, 0, 1, id == ~0ul ? ~0ul - 1 : id, 0),
               SBI_ERR_INVALID_PARAM);
        fmt_snprintf(what, sizeof(what), "rfence remote_sfence_vma mask 1 base 0x%lx", id);
        expect(what, call(SBI_EXT_RFENCE, 1, 1, id == ~0ul ? ~0ul - 1 : id, 0),
               SBI_ERR_INVALID_PARAM);
    }
    expect("ipi send_ipi mask bit 63", call(SBI_EXT_IPI, 0, 1ul << 63, 0, 0),
           SBI_ERR_INVALID_PARAM);
    expect("ipi send_ipi mask of all 64 bits", call(SBI_EXT_IPI, 0, ~0ul, 0, 0),
           SBI_ERR_INVALID_PARAM);
    expect("ipi send_ipi mask bit n", call(SBI_EXT_IPI, 0, 1ul << n, 0, 0), SBI_ERR_INVALID_PARAM);
    masks[0] = 1ul << 63;
    masks[1] = 1ul << n;
    expect("legacy send_ipi with a mask naming hart 63",
           call(0x04, 0, (unsigned long)&masks[0], 0, 0), SBI_ERR_INVALID_PARAM);
    expect("legacy remote_sfence_vma with a mask naming hart n",
           call(0x06, 0, (unsigned long)&masks[1], 0, 0), SBI_ERR_INVALID_PARAM);
    for (unsigned long fid = 3; fid <= 6; fid++) {
        fmt_snprintf(what, sizeof(what), "rfence hypervisor function %lu", fid);
        expect(what, call(SBI_EXT_RFENCE, fid, 1, 0, 0), SBI_ERR_NOT_SUPPORTED);
    }

    /* Reserved values. */
    expect("hsm hart_start of the running hart 0", call(SBI_EXT_HSM, 0, 0, base, 0),
           SBI_ERR_ALREADY_AVAILABLE);
    expect("hsm hart_suspend type 1", call(SBI_EXT_HSM, SBI_HSM_SUSPEND, 1, base, 0),
           SBI_ERR_INVALID_PARAM);
    expect("hsm hart_suspend type 0x90000000",
           call(SBI_EXT_HSM, SBI_HSM_SUSPEND, 0x90000000ul, base, 0), SBI_ERR_INVALID_PARAM);
    expect("srst type 3", call(SBI_EXT_SRST, 0, 3, 0, 0), SBI_ERR_INVALID_PARAM);
    expect("srst type 0xefffffff", call(SBI_EXT_SRST, 0, 0xeffffffful, 0, 0),
           SBI_ERR_INVALID_PARAM);
    /* reset_type is 32 bits wide (SBI binary encoding): the upper half of
     * its register is ignored, so this is type 3, still reserved. */
    expect("srst type 2^32 + 3", call(SBI_EXT_SRST, 0, (1ul << 32) | 3, 0, 0),
           SBI_ERR_INVALID_PARAM);
    expect("srst reason 2", call(SBI_EXT_SRST, 0, 0, 2, 0), SBI_ERR_INVALID_PARAM);
    expect("susp sleep type 1", call(SBI_EXT_SUSP, 0, 1, base, 0), SBI_ERR_INVALID_PARAM);
    expect("susp sleep type 0x80000000", call(SBI_EXT_SUSP, 0, 0x80000000ul, base, 0),
           SBI_ERR_INVALID_PARAM);
    /* Taking misaligned exceptions away from the guest is allowed (Vireo
     * then emulates the accesses); give them back. */
    expect("fwft set misaligned delegation to 0", call(SBI_EXT_FWFT, 0, 0, 0, 0), SBI_SUCCESS);
    expect("fwft set misaligned delegation to 1", call(SBI_EXT_FWFT, 0, 0, 1, 0), SBI_SUCCESS);
    expect("fwft set misaligned delegation to 2", call(SBI_EXT_FWFT, 0, 0, 2, 0),
           SBI_ERR_INVALID_PARAM);
    expect("fwft set with reserved flags", call(SBI_EXT_FWFT, 0, 0, 1, 2), SBI_ERR_INVALID_PARAM);
    expect("fwft set reserved feature 0x3fffffff", call(SBI_EXT_FWFT, 0, 0x3ffffffful, 1, 0),
           SBI_ERR_DENIED);
    expect("fwft get platform feature 0x40000000", call(SBI_EXT_FWFT, 1, 0x40000000ul, 0, 0),
           SBI_ERR_DENIED);
    expect("fwft get global reserved feature 0xbfffffff", call(SBI_EXT_FWFT, 1, 0xbffffffful, 0, 0),
           SBI_ERR_DENIED);
    expect("fwft get reserved feature 0x3fffffff", call(SBI_EXT_FWFT, 1, 0x3ffffffful, 0, 0),
           SBI_ERR_DENIED);
    /* Every reserved feature ID from 6 to 1023 and the top 256 below bit
     * 30, local and global, standard and platform-specific: DENIED, for get
     * and for set (whatever the value and flags). */
    for (unsigned long scope = 0; scope < 4; scope++) {
        for (unsigned long low = 6; low < 1024 + 256; low++) {
            unsigned long id = (low < 1024 ? low : 0x3fffff00ul + (low - 1024)) | scope << 30;
            if ((id & 0x40000000ul) == 0 && id <= 5)
                continue;
            fmt_snprintf(what, sizeof(what), "fwft get feature 0x%lx", id);
            expect(what, call(SBI_EXT_FWFT, 1, id, 0, 0), SBI_ERR_DENIED);
            fmt_snprintf(what, sizeof(what), "fwft set feature 0x%lx", id);
            expect(what, call(SBI_EXT_FWFT, 0, id, low & 1, low & 3), SBI_ERR_DENIED);
        }
    }

    /* Nothing above may have started hart 1 or ended this VM. */
    r = call(SBI_EXT_HSM, SBI_HSM_HART_GET_STATUS, 1, 0, 0);
    expect("hsm hart_get_status of hart 1", r, SBI_SUCCESS);
    if (r.value != SBI_HSM_STOPPED) {
        sbi_bad++;
        glog("hart 1 is in HSM state %ld after the refused calls, expected STOPPED (1)", r.value);
    }
    /* And the valid calls still work. */
    r = call(SBI_EXT_DBCN, 0 /* write */, sizeof(msg) - 1, (unsigned long)msg, 0);
    expect("dbcn write from RAM", r, SBI_SUCCESS);
    if (r.value != (long)sizeof(msg) - 1) {
        sbi_bad++;
        glog("dbcn write from RAM: wrote %ld bytes, expected %lu", r.value,
             (unsigned long)sizeof(msg) - 1);
    }
    expect("sta set_shmem of the last 64 bytes of RAM", call(SBI_EXT_STA, 0, end - 64, 0, 0),
           SBI_SUCCESS);
    expect("sta disable", call(SBI_EXT_STA, 0, ~0ul, ~0ul, 0), SBI_SUCCESS);
    expect("ipi send_ipi of nobody", call(SBI_EXT_IPI, 0, 0, 0, 0), SBI_SUCCESS);
    if (sbi_bad)
        guest_fail("%u of %u SBI checks got the wrong result", sbi_bad, sbi_checks);
    guest_pass("sbi: %u calls returned the specification's error codes", sbi_checks);
}

/* ---- dbtr: debug triggers ---- */

#define TRIG_MC6   (6ul << 60)
#define TRIG_LOAD  (1ul << 0)
#define TRIG_STORE (1ul << 1)
#define TRIG_EXEC  (1ul << 2)
#define TRIG_U     (1ul << 3)
#define TRIG_S     (1ul << 4)

static struct {
    unsigned long word[4];
} dbtr_shm[8] __attribute__((aligned(64)));
static volatile unsigned dbtr_hits;
static volatile uint64_t dbtr_mine;

static bool dbtr_breakpoint(uint64_t cause, uint64_t epc, uint64_t tval)
{
    (void)tval;
    if (cause != 3)
        return false;
    dbtr_hits++;
    guest_skip_insn(epc);
    return true;
}

static struct sbiret dbtr_install(unsigned long tdata1, unsigned long tdata2, unsigned long tdata3)
{
    dbtr_shm[0].word[0] = 0;
    dbtr_shm[0].word[1] = tdata1;
    dbtr_shm[0].word[2] = tdata2;
    dbtr_shm[0].word[3] = tdata3;
    return call(SBI_EXT_DBTR, SBI_DBTR_INSTALL_TRIGGERS, 1, 0, 0);
}

/* Hostile DBTR input, then every trigger armed: one on its own variable
 * (to see that they work), the others watching the addresses where the
 * sibling guard keeps writing (its RAM at the same guest addresses).  The
 * VM then yields its hart again and again for ms: a trigger that outlived
 * its slice would stop the guard with a breakpoint it never asked for. */
static void dbtr_attack(void)
{
    struct mem_range m = ram();
    unsigned long end = m.end, sh = (unsigned long)dbtr_shm;
    const unsigned long outside[] = {end,       end + 0x1000,    0x0,
                                     0x1000,    UART_BASE,       PLIC_BASE,
                                     0x2000000, 0x80000000000ul, 0xffffffffffff0000ul};
    uint64_t ms = guest_bootarg_u64("ms", 2000);
    char what[96];

    struct sbiret r = call(SBI_EXT_BASE, SBI_BASE_PROBE_EXT, SBI_EXT_DBTR, 0, 0);
    if (r.error || r.value != 1)
        guest_fail("dbtr: probe_extension(DBTR) = %ld, %ld: expected the host's triggers", r.error,
                   r.value);
    unsigned long n = (unsigned long)call(SBI_EXT_DBTR, SBI_DBTR_NUM_TRIGGERS, 0, 0, 0).value;
    if (n < 1 || n > 8)
        guest_fail("dbtr: %lu triggers, expected 1..8", n);

    /* Shared memory that is not the VM's RAM, or not usable. */
    for (unsigned i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
        fmt_snprintf(what, sizeof(what), "dbtr set_shmem at 0x%lx", outside[i]);
        expect(what, call(SBI_EXT_DBTR, SBI_DBTR_SET_SHMEM, outside[i], 0, 0),
               SBI_ERR_INVALID_ADDRESS);
    }
    expect("dbtr set_shmem straddling the end of RAM",
           call(SBI_EXT_DBTR, SBI_DBTR_SET_SHMEM, end - 32 * n + 8, 0, 0), SBI_ERR_INVALID_ADDRESS);
    expect("dbtr set_shmem with shmem_phys_hi 1", call(SBI_EXT_DBTR, SBI_DBTR_SET_SHMEM, sh, 1, 0),
           SBI_ERR_INVALID_ADDRESS);
    expect("dbtr set_shmem misaligned", call(SBI_EXT_DBTR, SBI_DBTR_SET_SHMEM, sh + 4, 0, 0),
           SBI_ERR_INVALID_PARAM);
    expect("dbtr set_shmem with flags", call(SBI_EXT_DBTR, SBI_DBTR_SET_SHMEM, sh, 0, 1),
           SBI_ERR_INVALID_PARAM);
    expect("dbtr install without shared memory",
           call(SBI_EXT_DBTR, SBI_DBTR_INSTALL_TRIGGERS, 1, 0, 0), SBI_ERR_NO_SHMEM);
    expect("dbtr read without shared memory", call(SBI_EXT_DBTR, SBI_DBTR_READ_TRIGGERS, 0, 0, 0),
           SBI_ERR_NO_SHMEM);
    expect("dbtr set_shmem", call(SBI_EXT_DBTR, SBI_DBTR_SET_SHMEM, sh, 0, 0), SBI_SUCCESS);

    /* Trigger types the host lacks (or guests may not have), machine-mode
     * and debug-mode triggers, other actions, chains, textra, VS/VU. */
    for (unsigned long type = 0; type < 16; type++) {
        if (type == 2 || type == 6)
            continue;
        fmt_snprintf(what, sizeof(what), "dbtr install of trigger type %lu", type);
        expect(what, dbtr_install(type << 60 | TRIG_STORE | TRIG_S, 0x80000000ul, 0),
               SBI_ERR_FAILED);
    }
    expect("dbtr install of an M-mode trigger",
           dbtr_install(TRIG_MC6 | TRIG_STORE | (1ul << 6), 0x80000000ul, 0),
           SBI_ERR_INVALID_PARAM);
    expect("dbtr install of a debug-mode trigger",
           dbtr_install(TRIG_MC6 | TRIG_STORE | TRIG_S | (1ul << 59), 0x80000000ul, 0),
           SBI_ERR_INVALID_PARAM);
    for (unsigned long action = 1; action < 16; action++) {
        fmt_snprintf(what, sizeof(what), "dbtr install with action %lu", action);
        expect(what, dbtr_install(TRIG_MC6 | TRIG_STORE | TRIG_S | action << 12, 0x80000000ul, 0),
               SBI_ERR_NOT_SUPPORTED);
    }
    expect("dbtr install of a chain",
           dbtr_install(TRIG_MC6 | TRIG_STORE | TRIG_S | 1ul << 11, 0, 0), SBI_ERR_NOT_SUPPORTED);
    expect("dbtr install with textra", dbtr_install(TRIG_MC6 | TRIG_STORE | TRIG_S, 0, 0x123),
           SBI_ERR_NOT_SUPPORTED);
    expect("dbtr install matching in VS-mode",
           dbtr_install(TRIG_MC6 | TRIG_STORE | 1ul << 24, 0, 0), SBI_ERR_NOT_SUPPORTED);
    expect("dbtr install matching in VU-mode",
           dbtr_install(TRIG_MC6 | TRIG_STORE | 1ul << 23, 0, 0), SBI_ERR_NOT_SUPPORTED);
    expect("dbtr install of trig_max triggers",
           call(SBI_EXT_DBTR, SBI_DBTR_INSTALL_TRIGGERS, n, 0, 0), SBI_ERR_BAD_RANGE);
    expect("dbtr uninstall of a trigger not installed",
           call(SBI_EXT_DBTR, SBI_DBTR_UNINSTALL_TRIGGERS, 0, 1, 0), SBI_ERR_INVALID_PARAM);
    expect("dbtr enable past trig_max", call(SBI_EXT_DBTR, SBI_DBTR_ENABLE_TRIGGERS, ~0ul, 3, 0),
           SBI_ERR_INVALID_PARAM);

    /* Everything armed. */
    guest_set_exc_handler(dbtr_breakpoint);
    expect("dbtr install on its own variable",
           dbtr_install(TRIG_MC6 | TRIG_STORE | TRIG_S | TRIG_U, (unsigned long)&dbtr_mine, 0),
           SBI_SUCCESS);
    for (unsigned long i = 1; i < n; i++) {
        unsigned long a = m.start + 0x1000000 + i * 0x1000;
        fmt_snprintf(what, sizeof(what), "dbtr install watching 0x%lx", a);
        expect(what,
               dbtr_install(TRIG_MC6 | TRIG_LOAD | TRIG_STORE | TRIG_EXEC | TRIG_S | TRIG_U, a, 0),
               SBI_SUCCESS);
    }
    if (sbi_bad)
        guest_fail("%u of %u DBTR checks got the wrong result", sbi_bad, sbi_checks);

    unsigned rounds = 0, hits = 0;
    uint64_t stop = guest_time() + guest_ms_to_ticks(ms);
    csr_set(sie, SIE_STIE);
    while (guest_time() < stop) {
        sbi_set_timer(guest_time() + guest_ms_to_ticks(2));
        __asm__ volatile("wfi");
        dbtr_hits = 0;
        dbtr_mine = rounds;
        hits += dbtr_hits;
        rounds++;
    }
    sbi_set_timer(~0ull);
    csr_clear(sie, SIE_STIE);
    guest_set_exc_handler(NULL);
    if (hits != rounds)
        guest_fail("dbtr: its own trigger fired %u times in %u rounds", hits, rounds);
    guest_pass("dbtr: %u calls refused or accepted as specified; %lu triggers armed, %u hits "
               "over %u slices",
               sbi_checks, n, hits, rounds);
}

/* ---- storms ---- */

static uint64_t storm_end;
static volatile uint64_t storm_count[MAX_HARTS], storm_irqs[MAX_HARTS];
static volatile uint32_t storm_done;
static uint64_t storm_ids[MAX_HARTS];
static int storm_n;
static enum { STORM_IPI, STORM_WFI, STORM_IRQ } storm_kind;

static int hart_slot(uint64_t hartid)
{
    for (int i = 0; i < storm_n; i++)
        if (storm_ids[i] == hartid)
            return i;
    guest_fail("hart %lu is not in /cpus", (unsigned long)hartid);
}

static void storm_irq(uint64_t cause)
{
    int k = hart_slot(guest_hartid());

    storm_irqs[k]++;
    if (cause == 1) {
        csr_clear(sip, 2);
    } else if (cause == 9) {
        /* Never claimed: the PLIC keeps it pending.  Give up the storm only
         * when its time is over. */
        if (guest_time() >= storm_end)
            csr_clear(sie, 1ul << 9);
    } else {
        guest_fail("unexpected interrupt %lu", (unsigned long)cause);
    }
}

static void storm_run(uint64_t hartid, void *arg)
{
    int k = hart_slot(hartid);
    (void)arg;

    switch (storm_kind) {
    case STORM_IPI:
        csr_write(sie, 2);
        csr_set(sstatus, SSTATUS_SIE);
        while (guest_time() < storm_end) {
            sbi_call(SBI_EXT_IPI, 0, 0, ~0ul, 0);   /* everyone */
            sbi_call(SBI_EXT_IPI, 0, 1, hartid, 0); /* myself */
            storm_count[k] += 2;
        }
        csr_clear(sstatus, SSTATUS_SIE);
        break;
    case STORM_WFI:
        csr_clear(sstatus, SSTATUS_SIE);
        csr_write(sie, 2);
        sbi_call(SBI_EXT_IPI, 0, 1, hartid, 0); /* pending, never taken */
        while (guest_time() < storm_end) {
            __asm__ volatile("wfi");
            storm_count[k]++;
        }
        csr_clear(sip, 2);
        break;
    case STORM_IRQ:
        *(volatile uint32_t *)(PLIC_BASE + 4 * UART_IRQ) = 1;
        *(volatile uint32_t *)(PLIC_BASE + 0x2000 + 0x80 * k) = 1u << UART_IRQ;
        *(volatile uint32_t *)(PLIC_BASE + 0x200000 + 0x1000 * k) = 0;
        csr_write(sie, 1ul << 9);
        *(volatile uint8_t *)(UART_BASE + 1) = 0x02; /* IER.ETBEI: THR empty, at once */
        csr_set(sstatus, SSTATUS_SIE);
        while (guest_time() < storm_end)
            storm_count[k]++;
        csr_clear(sstatus, SSTATUS_SIE);
        break;
    }
    csr_write(sie, 0);
    __atomic_fetch_add(&storm_done, 1, __ATOMIC_RELEASE);
}

static void storm(const char *name)
{
    uint64_t ms = guest_bootarg_u64("ms", 3000);
    uint64_t me = guest_hartid();

    storm_n = harts(storm_ids);
    storm_end = guest_time() + guest_ms_to_ticks(ms);
    guest_set_irq_handler(storm_irq);
    glog("%s storm on %d hart(s) for %lu ms", name, storm_n, (unsigned long)ms);
    if (storm_kind == STORM_IRQ) {
        storm_n = 1; /* one UART line, one handler */
        storm_ids[0] = me;
    }
    for (int i = 0; i < storm_n; i++) {
        if (storm_ids[i] == me)
            continue;
        long err = guest_hart_start(storm_ids[i], storm_run, NULL);
        if (err)
            guest_fail("hart_start of hart %lu: %s", (unsigned long)storm_ids[i],
                       sbi_strerror(err));
    }
    storm_run(me, NULL);
    uint64_t wait_end = guest_time() + guest_ms_to_ticks(5000);
    while (__atomic_load_n(&storm_done, __ATOMIC_ACQUIRE) < (uint32_t)storm_n) {
        if (guest_time() > wait_end)
            guest_fail("only %u of %d harts finished the storm within 5 s of its end", storm_done,
                       storm_n);
    }
    if (storm_kind == STORM_IRQ)
        *(volatile uint8_t *)(UART_BASE + 1) = 0;
    uint64_t total = 0, irqs = 0;
    for (int i = 0; i < storm_n; i++) {
        glog("hart %lu: %lu %s, %lu interrupts taken", (unsigned long)storm_ids[i],
             (unsigned long)storm_count[i],
             storm_kind == STORM_IPI   ? "IPIs sent"
             : storm_kind == STORM_WFI ? "WFIs"
                                       : "loops",
             (unsigned long)storm_irqs[i]);
        total += storm_count[i];
        irqs += storm_irqs[i];
        if (storm_kind != STORM_WFI && !storm_irqs[i])
            guest_fail("hart %lu took no interrupt in the storm", (unsigned long)storm_ids[i]);
        if (storm_kind == STORM_WFI && !storm_count[i])
            guest_fail("hart %lu never came back from WFI", (unsigned long)storm_ids[i]);
    }
    guest_pass("%s storm: %d hart(s), %lu ms, %lu operations, %lu interrupts", name, storm_n,
               (unsigned long)ms, (unsigned long)total, (unsigned long)irqs);
}

/* ---- virtio: malformed rings on the VM's virtio-rng (slot 0) ---- */

#define VIO_BASE       0x10001000ul
#define VIO_MAGIC      0x000
#define VIO_VERSION    0x004
#define VIO_DEVICE_ID  0x008
#define VIO_DEV_FEAT   0x010
#define VIO_DEV_FSEL   0x014
#define VIO_DRV_FEAT   0x020
#define VIO_DRV_FSEL   0x024
#define VIO_QSEL       0x030
#define VIO_QNUM_MAX   0x034
#define VIO_QNUM       0x038
#define VIO_QREADY     0x044
#define VIO_QNOTIFY    0x050
#define VIO_INT_STATUS 0x060
#define VIO_INT_ACK    0x064
#define VIO_STATUS     0x070
#define VIO_QDESC      0x080
#define VIO_QDRIVER    0x090
#define VIO_QDEVICE    0x0a0
#define VS_ACK         0x01
#define VS_DRIVER      0x02
#define VS_DRIVER_OK   0x04
#define VS_FEATURES_OK 0x08
#define VS_NEEDS_RESET 0x40
#define VD_NEXT        1
#define VD_WRITE       2
#define VD_INDIRECT    4
#define VQ_NUM         8

struct vdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

static struct vdesc vdesc[VQ_NUM] __attribute__((aligned(4096)));
static struct vdesc vindirect[4] __attribute__((aligned(16)));
static volatile uint16_t vavail[2 + VQ_NUM + 1] __attribute__((aligned(4096)));
static volatile uint32_t vused[1 + 2 * VQ_NUM + 1] __attribute__((aligned(4096)));
static uint8_t ventropy[4][64];

static uint32_t vio_r(unsigned off)
{
    return *(volatile uint32_t *)(VIO_BASE + off);
}

static void vio_w(unsigned off, uint32_t v)
{
    *(volatile uint32_t *)(VIO_BASE + off) = v;
}

static void vio_w64(unsigned off, uint64_t v)
{
    vio_w(off, (uint32_t)v);
    vio_w(off + 4, (uint32_t)(v >> 32));
}

/* Reset and bring the device up with queue 0 at the given ring addresses. */
static void vio_init(uint64_t desc, uint64_t avail, uint64_t used)
{
    vio_w(VIO_STATUS, 0);
    if (vio_r(VIO_STATUS) != 0)
        guest_fail("virtio: status 0x%x after reset, expected 0", vio_r(VIO_STATUS));
    vio_w(VIO_STATUS, VS_ACK | VS_DRIVER);
    vio_w(VIO_DEV_FSEL, 1);
    if (!(vio_r(VIO_DEV_FEAT) & 1))
        guest_fail("virtio: VERSION_1 not offered");
    vio_w(VIO_DRV_FSEL, 0);
    vio_w(VIO_DRV_FEAT, 1u << 28); /* INDIRECT_DESC */
    vio_w(VIO_DRV_FSEL, 1);
    vio_w(VIO_DRV_FEAT, 1); /* VERSION_1 */
    vio_w(VIO_STATUS, VS_ACK | VS_DRIVER | VS_FEATURES_OK);
    if (!(vio_r(VIO_STATUS) & VS_FEATURES_OK))
        guest_fail("virtio: FEATURES_OK refused for VERSION_1 + INDIRECT_DESC");
    vio_w(VIO_QSEL, 0);
    if (vio_r(VIO_QNUM_MAX) < VQ_NUM)
        guest_fail("virtio: QueueNumMax %u < %u", vio_r(VIO_QNUM_MAX), VQ_NUM);
    vio_w(VIO_QNUM, VQ_NUM);
    vio_w64(VIO_QDESC, desc);
    vio_w64(VIO_QDRIVER, avail);
    vio_w64(VIO_QDEVICE, used);
    vio_w(VIO_QREADY, 1);
    vio_w(VIO_STATUS, VS_ACK | VS_DRIVER | VS_FEATURES_OK | VS_DRIVER_OK);
    memset((void *)vavail, 0, sizeof(vavail));
    memset((void *)vused, 0, sizeof(vused));
}

static void vio_init_ok(void)
{
    vio_init((uint64_t)vdesc, (uint64_t)vavail, (uint64_t)vused);
}

/* Offer head as available entry number idx, and notify. */
static void vio_post(uint16_t head)
{
    uint16_t idx = vavail[1];
    vavail[2 + idx % VQ_NUM] = head;
    __asm__ volatile("fence w, w" ::: "memory");
    vavail[1] = (uint16_t)(idx + 1);
    __asm__ volatile("fence w, o" ::: "memory");
    vio_w(VIO_QNOTIFY, 0);
}

/* A good request: 64 bytes of entropy into ventropy[k]. */
static bool vio_good(int k)
{
    uint32_t before = vused[0] >> 16;
    memset(ventropy[k], 0, sizeof(ventropy[k]));
    vdesc[k] = (struct vdesc){(uint64_t)ventropy[k], sizeof(ventropy[k]), VD_WRITE, 0};
    vio_post((uint16_t)k);
    uint64_t end = guest_time() + guest_ms_to_ticks(2000);
    while ((vused[0] >> 16) == before) {
        if (guest_time() > end)
            return false;
    }
    uint32_t len = vused[1 + 2 * (before % VQ_NUM) + 1];
    return len > 0 && len <= sizeof(ventropy[k]);
}

static void virtio_attack(void)
{
    size_t clen = 0;
    const char *c = guest_bootarg("case", &clen);
    struct mem_range m = ram();

    if (!c)
        guest_fail("attack=virtio needs case=");
    if (vio_r(VIO_MAGIC) != 0x74726976 || vio_r(VIO_VERSION) != 2 || vio_r(VIO_DEVICE_ID) != 4)
        guest_fail("expected a version 2 virtio-rng at 0x%lx (magic 0x%x version %u device %u)",
                   VIO_BASE, vio_r(VIO_MAGIC), vio_r(VIO_VERSION), vio_r(VIO_DEVICE_ID));
    vio_init_ok();
    if (!vio_good(0))
        guest_fail("virtio-rng: a well-formed request got no entropy");
    glog("virtio %.*s: a good request works; now the attack", (int)clen, c);

    if (word_is(c, clen, "loop")) {
        vdesc[1] = (struct vdesc){(uint64_t)ventropy[1], 16, VD_WRITE | VD_NEXT, 2};
        vdesc[2] = (struct vdesc){(uint64_t)ventropy[2], 16, VD_WRITE | VD_NEXT, 1};
        vio_post(1);
    } else if (word_is(c, clen, "index")) {
        vio_post(200); /* head beyond the queue */
    } else if (word_is(c, clen, "next")) {
        vdesc[1] = (struct vdesc){(uint64_t)ventropy[1], 16, VD_WRITE | VD_NEXT, 100};
        vio_post(1);
    } else if (word_is(c, clen, "huge")) {
        /* Past the end of RAM after a few bytes, and 4 GiB long. */
        vdesc[1] = (struct vdesc){m.end - 8, 0xffffffffu, VD_WRITE, 0};
        vio_post(1);
    } else if (word_is(c, clen, "outside")) {
        vdesc[1] = (struct vdesc){0x0, 64, VD_WRITE, 0};
        vio_post(1);
    } else if (word_is(c, clen, "indirect")) {
        vindirect[0] = (struct vdesc){(uint64_t)ventropy[1], 16, VD_WRITE | VD_NEXT, 1};
        vindirect[1] = (struct vdesc){(uint64_t)ventropy[2], 16, VD_WRITE | VD_NEXT, 0};
        vdesc[1] = (struct vdesc){(uint64_t)vindirect, sizeof(vindirect), VD_INDIRECT, 0};
        vio_post(1);
    } else if (word_is(c, clen, "mmio")) {
        /* The rings in device space: the UART, and the device's own registers. */
        vio_init(UART_BASE, VIO_BASE, PLIC_BASE);
        vio_w(VIO_QNOTIFY, 0);
    } else if (word_is(c, clen, "avail")) {
        vavail[1] = (uint16_t)(vavail[1] + 1000); /* 1000 entries at once in a queue of 8 */
        vio_w(VIO_QNOTIFY, 0);
    } else if (word_is(c, clen, "reset")) {
        /* Reset with requests in flight, again and again, notifying in between. */
        for (int i = 0; i < 1000; i++) {
            vdesc[1] = (struct vdesc){(uint64_t)ventropy[1], 64, VD_WRITE, 0};
            vio_post(1);
            vio_w(VIO_STATUS, 0);
            vio_w(VIO_QNOTIFY, 0); /* to a device in reset */
            if (i % 2)
                vio_init_ok();
        }
        vio_init_ok();
        if (!vio_good(0))
            guest_fail("virtio-rng: no entropy after 1000 resets in flight");
        guest_pass("virtio reset: 1000 resets with requests in flight, then the device works");
    } else {
        guest_fail("case=%.*s: expected loop, index, next, huge, outside, indirect, mmio, avail or "
                   "reset",
                   (int)clen, c);
    }
    uint32_t st = vio_r(VIO_STATUS), is = vio_r(VIO_INT_STATUS);
    if (!(st & VS_NEEDS_RESET))
        guest_fail("virtio %.*s: status 0x%x, expected DEVICE_NEEDS_RESET (0x40)", (int)clen, c,
                   st);
    if (!(is & 2))
        guest_fail("virtio %.*s: InterruptStatus 0x%x, expected the configuration-change bit (2)",
                   (int)clen, c, is);
    vio_w(VIO_INT_ACK, is);
    /* Ignored until reset. */
    if (vio_good(3))
        guest_fail("virtio %.*s: a device needing reset still served a request", (int)clen, c);
    vio_init_ok();
    if (!vio_good(0))
        guest_fail("virtio %.*s: no entropy after a reset", (int)clen, c);
    guest_pass("virtio %.*s: DEVICE_NEEDS_RESET (status 0x%x, interrupt status 0x%x); works again "
               "after a reset",
               (int)clen, c, st, is);
}

/* ---- virtio-net: hostile transmit chains on the VM's NIC (slot 0) ---- */

#define VN_TXQ    1
#define VN_F_CSUM (1u << 0)
#define VN_F_TSO4 (1u << 11)
#define VN_HDR    12
#define VN_FRAME  (14 + 20 + 20 + 100) /* Ethernet, IPv4, TCP, payload */
#define VN_LONG   100000               /* within a chain's cap, beyond any frame */

static struct vdesc ndesc[VQ_NUM] __attribute__((aligned(4096)));
static volatile uint16_t navail[2 + VQ_NUM + 1] __attribute__((aligned(4096)));
static volatile uint32_t nused[1 + 2 * VQ_NUM + 1] __attribute__((aligned(4096)));
static uint8_t nframe[4][VN_HDR + VN_FRAME] __attribute__((aligned(8)));
static uint8_t nlong[VN_LONG] __attribute__((aligned(8)));

/* Reset and bring the NIC up with CSUM and HOST_TSO4 and its transmit
 * queue (the receive queue stays unused). */
static void net_init(void)
{
    vio_w(VIO_STATUS, 0);
    vio_w(VIO_STATUS, VS_ACK | VS_DRIVER);
    vio_w(VIO_DRV_FSEL, 0);
    vio_w(VIO_DRV_FEAT, VN_F_CSUM | VN_F_TSO4);
    vio_w(VIO_DRV_FSEL, 1);
    vio_w(VIO_DRV_FEAT, 1); /* VERSION_1 */
    vio_w(VIO_STATUS, VS_ACK | VS_DRIVER | VS_FEATURES_OK);
    if (!(vio_r(VIO_STATUS) & VS_FEATURES_OK))
        guest_fail("virtio-net: FEATURES_OK refused for VERSION_1 + CSUM + HOST_TSO4");
    vio_w(VIO_QSEL, VN_TXQ);
    if (vio_r(VIO_QNUM_MAX) < VQ_NUM)
        guest_fail("virtio-net: QueueNumMax %u < %u", vio_r(VIO_QNUM_MAX), VQ_NUM);
    vio_w(VIO_QNUM, VQ_NUM);
    vio_w64(VIO_QDESC, (uint64_t)ndesc);
    vio_w64(VIO_QDRIVER, (uint64_t)navail);
    vio_w64(VIO_QDEVICE, (uint64_t)nused);
    memset((void *)navail, 0, sizeof(navail));
    memset((void *)nused, 0, sizeof(nused));
    vio_w(VIO_QREADY, 1);
    vio_w(VIO_STATUS, VS_ACK | VS_DRIVER | VS_FEATURES_OK | VS_DRIVER_OK);
}

/* Offers head on the transmit queue and notifies; true once the device
 * completed it (within 2 s). */
static bool net_send(uint16_t head)
{
    uint16_t idx = navail[1], before = (uint16_t)(nused[0] >> 16);
    navail[2 + idx % VQ_NUM] = head;
    __asm__ volatile("fence w, w" ::: "memory");
    navail[1] = (uint16_t)(idx + 1);
    __asm__ volatile("fence w, o" ::: "memory");
    vio_w(VIO_QNOTIFY, VN_TXQ);
    uint64_t end = guest_time() + guest_ms_to_ticks(2000);
    while ((uint16_t)(nused[0] >> 16) == before) {
        if (guest_time() > end)
            return false;
    }
    return true;
}

/* Frame k: the virtio-net header (flags, gso_type, hdr_len, gso_size,
 * csum_start, csum_offset) and a broadcast IPv4/TCP frame behind it. */
static void net_frame(int k, uint8_t flags, uint8_t gso, uint16_t hdr_len, uint16_t gso_size,
                      uint16_t csum_start, uint16_t csum_off)
{
    uint8_t *f = nframe[k];
    memset(f, 0, sizeof(nframe[k]));
    f[0] = flags;
    f[1] = gso;
    f[2] = (uint8_t)hdr_len, f[3] = (uint8_t)(hdr_len >> 8);
    f[4] = (uint8_t)gso_size, f[5] = (uint8_t)(gso_size >> 8);
    f[6] = (uint8_t)csum_start, f[7] = (uint8_t)(csum_start >> 8);
    f[8] = (uint8_t)csum_off, f[9] = (uint8_t)(csum_off >> 8);
    uint8_t *e = f + VN_HDR;
    memset(e, 0xff, 6);
    static const uint8_t src[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x99};
    memcpy(e + 6, src, 6);
    e[12] = 0x08; /* IPv4 */
    uint8_t *ip = e + 14;
    ip[0] = 0x45;
    ip[2] = (uint8_t)((VN_FRAME - 14) >> 8), ip[3] = (uint8_t)(VN_FRAME - 14);
    ip[8] = 64;
    ip[9] = 6; /* TCP */
    ip[12] = 10, ip[15] = 99;
    ip[16] = 10, ip[19] = 1;
    ip[20 + 12] = 0x50; /* TCP data offset 5 */
    ndesc[k] = (struct vdesc){(uint64_t)f, sizeof(nframe[k]), 0, 0};
}

static void net_attack(void)
{
    size_t clen = 0;
    const char *c = guest_bootarg("case", &clen);
    struct mem_range m = ram();
    bool broken = true; /* the device must be marked broken (else: the frame dropped) */

    if (!c)
        guest_fail("attack=net needs case=");
    if (vio_r(VIO_MAGIC) != 0x74726976 || vio_r(VIO_VERSION) != 2 || vio_r(VIO_DEVICE_ID) != 1)
        guest_fail("expected a version 2 virtio-net at 0x%lx (magic 0x%x version %u device %u)",
                   VIO_BASE, vio_r(VIO_MAGIC), vio_r(VIO_VERSION), vio_r(VIO_DEVICE_ID));
    net_init();
    net_frame(0, 0, 0, 0, 0, 0, 0);
    if (!net_send(0))
        guest_fail("virtio-net: a well-formed frame was not completed");
    glog("net %.*s: a good frame goes out; now the attack", (int)clen, c);

    if (word_is(c, clen, "outside")) {
        ndesc[1] = (struct vdesc){0x0, VN_HDR + VN_FRAME, 0, 0};
    } else if (word_is(c, clen, "plic")) {
        ndesc[1] = (struct vdesc){PLIC_BASE, VN_HDR + VN_FRAME, 0, 0};
    } else if (word_is(c, clen, "wrap")) {
        ndesc[1] = (struct vdesc){0xfffffffffffff000ull, 0x2000, 0, 0};
    } else if (word_is(c, clen, "huge")) {
        ndesc[1] = (struct vdesc){m.end - 8, 0xffffffffu, 0, 0};
    } else if (word_is(c, clen, "straddle")) {
        ndesc[1] = (struct vdesc){m.end - 64, VN_HDR + VN_FRAME, 0, 0};
    } else if (word_is(c, clen, "split")) {
        /* A whole good frame, then a buffer straddling the end of RAM:
         * not a byte of it may reach anyone. */
        net_frame(1, 0, 0, 0, 0, 0, 0);
        ndesc[1].flags = VD_NEXT;
        ndesc[1].next = 2;
        ndesc[2] = (struct vdesc){m.end - 64, 128, 0, 0};
    } else if (word_is(c, clen, "loop")) {
        ndesc[1] = (struct vdesc){(uint64_t)nframe[1], 64, VD_NEXT, 2};
        ndesc[2] = (struct vdesc){(uint64_t)nframe[2], 64, VD_NEXT, 1};
    } else {
        broken = false;
        if (word_is(c, clen, "long")) {
            memcpy(nlong, nframe[0], sizeof(nframe[0]));
            ndesc[1] = (struct vdesc){(uint64_t)nlong, sizeof(nlong), 0, 0};
        } else if (word_is(c, clen, "gso0")) {
            net_frame(1, 1, 1, 54, 0, 34, 16); /* TCP segmentation into 0-byte segments */
        } else if (word_is(c, clen, "hdrlen")) {
            net_frame(1, 1, 1, 60000, 100, 34, 16); /* headers longer than the frame */
        } else if (word_is(c, clen, "csum")) {
            net_frame(1, 1, 0, 0, 0, 5000, 16); /* checksum start past the end */
        } else if (word_is(c, clen, "csumoff")) {
            net_frame(1, 1, 0, 0, 0, 34, 2000); /* checksum field past the end */
        } else if (word_is(c, clen, "flags")) {
            net_frame(1, 0xfc, 1, 54, 100, 34, 16); /* undefined flags */
        } else {
            guest_fail("case=%.*s: expected outside, plic, wrap, huge, straddle, split, loop, "
                       "long, gso0, hdrlen, csum, csumoff or flags",
                       (int)clen, c);
        }
    }
    bool done = net_send(1);
    uint32_t st = vio_r(VIO_STATUS), is = vio_r(VIO_INT_STATUS);
    if (!broken) {
        /* Dropped (and counted by Vireo), but completed: the device goes on. */
        if (!done)
            guest_fail("net %.*s: the chain was not completed", (int)clen, c);
        if (st & VS_NEEDS_RESET)
            guest_fail("net %.*s: status 0x%x: DEVICE_NEEDS_RESET for a frame to drop", (int)clen,
                       c, st);
        net_frame(2, 0, 0, 0, 0, 0, 0);
        if (!net_send(2))
            guest_fail("net %.*s: a good frame after it was not completed", (int)clen, c);
        guest_pass("net %.*s: the frame was dropped and its chain completed (status 0x%x); the "
                   "device works on",
                   (int)clen, c, st);
    }
    if (!(st & VS_NEEDS_RESET))
        guest_fail("net %.*s: status 0x%x, expected DEVICE_NEEDS_RESET (0x40)", (int)clen, c, st);
    if (!(is & 2))
        guest_fail("net %.*s: InterruptStatus 0x%x, expected the configuration-change bit (2)",
                   (int)clen, c, is);
    vio_w(VIO_INT_ACK, is);
    net_frame(3, 0, 0, 0, 0, 0, 0);
    if (net_send(3))
        guest_fail("net %.*s: a device needing reset still sent a frame", (int)clen, c);
    net_init();
    net_frame(0, 0, 0, 0, 0, 0, 0);
    if (!net_send(0))
        guest_fail("net %.*s: no frame goes out after a reset", (int)clen, c);
    guest_pass("net %.*s: DEVICE_NEEDS_RESET (status 0x%x, interrupt status 0x%x); works again "
               "after a reset",
               (int)clen, c, st, is);
}

/* ---- netrx: the VM the attackers' frames reach, copied straight from
 * their transmit buffers into its receive buffers ---- */

#define NR_F_GCSUM (1u << 1)
#define NR_F_GTSO4 (1u << 7)
#define NR_F_MRG   (1u << 15)
#define NR_BUF     2048
#define NR_OFFER   (VN_HDR + 1518) /* what each descriptor offers; the rest a canary */
#define NR_CANARY  0xa5

static uint8_t nrbuf[VQ_NUM][NR_BUF] __attribute__((aligned(4096)));

static void netrx_post(uint16_t id)
{
    memset(nrbuf[id], NR_CANARY, NR_BUF);
    ndesc[id] = (struct vdesc){(uint64_t)nrbuf[id], NR_OFFER, VD_WRITE, 0};
    uint16_t idx = navail[1];
    navail[2 + idx % VQ_NUM] = id;
    __asm__ volatile("fence w, w" ::: "memory");
    navail[1] = (uint16_t)(idx + 1);
}

/* Receives for ms: every frame must be an attacker's good one, whole
 * (header, length, bytes), and nothing written past what each buffer
 * offered. */
static void netrx(void)
{
    uint64_t ms = guest_bootarg_u64("ms", 5000), good = 0, offload = 0, host = 0;
    uint16_t last = 0;

    if (vio_r(VIO_MAGIC) != 0x74726976 || vio_r(VIO_VERSION) != 2 || vio_r(VIO_DEVICE_ID) != 1)
        guest_fail("expected a version 2 virtio-net at 0x%lx", VIO_BASE);
    net_frame(0, 0, 0, 0, 0, 0, 0); /* what the attackers' good frames hold */
    vio_w(VIO_STATUS, 0);
    vio_w(VIO_STATUS, VS_ACK | VS_DRIVER);
    vio_w(VIO_DRV_FSEL, 0);
    vio_w(VIO_DRV_FEAT, NR_F_GCSUM | NR_F_GTSO4 | NR_F_MRG);
    vio_w(VIO_DRV_FSEL, 1);
    vio_w(VIO_DRV_FEAT, 1); /* VERSION_1 */
    vio_w(VIO_STATUS, VS_ACK | VS_DRIVER | VS_FEATURES_OK);
    if (!(vio_r(VIO_STATUS) & VS_FEATURES_OK))
        guest_fail("virtio-net: FEATURES_OK refused for GUEST_CSUM + GUEST_TSO4 + MRG_RXBUF");
    vio_w(VIO_QSEL, 0);
    vio_w(VIO_QNUM, VQ_NUM);
    memset((void *)navail, 0, sizeof(navail));
    memset((void *)nused, 0, sizeof(nused));
    vio_w64(VIO_QDESC, (uint64_t)ndesc);
    vio_w64(VIO_QDRIVER, (uint64_t)navail);
    vio_w64(VIO_QDEVICE, (uint64_t)nused);
    for (uint16_t i = 0; i < VQ_NUM; i++)
        netrx_post(i);
    vio_w(VIO_QREADY, 1);
    vio_w(VIO_STATUS, VS_ACK | VS_DRIVER | VS_FEATURES_OK | VS_DRIVER_OK);
    glog("netrx: %u receive buffers posted; receiving for %lu ms", VQ_NUM, (unsigned long)ms);
    uint64_t end = guest_time() + guest_ms_to_ticks(ms);
    while (guest_time() < end) {
        if (vio_r(VIO_STATUS) & VS_NEEDS_RESET)
            guest_fail("netrx: the device needs a reset (status 0x%x)", vio_r(VIO_STATUS));
        while ((uint16_t)(nused[0] >> 16) != last) {
            __asm__ volatile("fence r, r" ::: "memory");
            uint32_t id = nused[1 + 2 * (last % VQ_NUM)], len = nused[2 + 2 * (last % VQ_NUM)];
            if (id >= VQ_NUM)
                guest_fail("netrx: used id %u, expected < %u", id, VQ_NUM);
            const uint8_t *b = nrbuf[id];
            /* From the host (QEMU's user networking answers the
             * attackers' frames with ARP requests; its MACs are
             * 52:55:...): not the attackers', not checked. */
            if (len >= VN_HDR + 14 && b[VN_HDR + 6] == 0x52 && b[VN_HDR + 7] == 0x55) {
                host++;
                last++;
                netrx_post((uint16_t)id);
                continue;
            }
            if (len != VN_HDR + VN_FRAME)
                guest_fail("netrx: frame %lu: %u bytes used, expected %u (an attacker's good "
                           "frame)",
                           (unsigned long)good, len, VN_HDR + VN_FRAME);
            /* A plain frame (num_buffers 1, nothing else), or the
             * hdrlen case's: its header is sane but for hdr_len, a hint
             * the switch does not check, so a receiver that took the
             * offloads gets it as sent (the uplink's segmentation drops
             * it). */
            static const uint8_t plain[VN_HDR] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
            static const uint8_t hdrlen[VN_HDR] = {1, 1, 0x60, 0xea, 100, 0, 34, 0, 16, 0, 1, 0};
            bool off = memcmp(b, hdrlen, VN_HDR) == 0;
            if (!off && memcmp(b, plain, VN_HDR) != 0)
                guest_fail("netrx: frame %lu: header %02x %02x %02x %02x %02x %02x %02x %02x "
                           "%02x %02x %02x %02x, expected a plain one or the hdrlen case's",
                           (unsigned long)good, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                           b[8], b[9], b[10], b[11]);
            offload += off;
            for (unsigned k = 0; k < VN_FRAME; k++) {
                if (b[VN_HDR + k] != nframe[0][VN_HDR + k])
                    guest_fail("netrx: frame %lu: byte %u is 0x%x, expected 0x%x",
                               (unsigned long)good, k, b[VN_HDR + k], nframe[0][VN_HDR + k]);
            }
            for (unsigned k = len; k < NR_BUF; k++) {
                if (b[k] != NR_CANARY)
                    guest_fail("netrx: frame %lu: byte %u of its buffer written (0x%x), past "
                               "the %u used",
                               (unsigned long)good, k, b[k], len);
            }
            good++;
            last++;
            netrx_post((uint16_t)id);
        }
    }
    if (good == 0)
        guest_fail("netrx: no frame received in %lu ms, expected the attackers' good ones",
                   (unsigned long)ms);
    guest_pass("netrx: %lu good frames, whole (%lu with the hdrlen header), nothing past "
               "them; %lu from the host",
               (unsigned long)good, (unsigned long)offload, (unsigned long)host);
}

/* ---- blk: guest buffers that are not the VM's on the virtio-blk ---- */

static uint8_t bhdr[2][16] __attribute__((aligned(16)));
static uint8_t bdata[2][4096] __attribute__((aligned(4096)));
static volatile uint8_t bstatus[2];

/* A request in descriptors 3k..3k+2: header, data (len bytes at addr,
 * device-writable for IN), status.  Posted and notified. */
static void blk_post(int k, uint32_t type, uint64_t sector, uint64_t addr, uint32_t len)
{
    for (int i = 0; i < 16; i++)
        bhdr[k][i] = (uint8_t)(i < 4 ? type >> (8 * i) : i >= 8 ? sector >> (8 * (i - 8)) : 0);
    bstatus[k] = 0xee;
    uint16_t h = (uint16_t)(3 * k);
    vdesc[h] = (struct vdesc){(uint64_t)bhdr[k], 16, VD_NEXT, (uint16_t)(h + 1)};
    vdesc[h + 1] = (struct vdesc){addr, len, (uint16_t)(VD_NEXT | (type == 0 ? VD_WRITE : 0)),
                                  (uint16_t)(h + 2)};
    vdesc[h + 2] = (struct vdesc){(uint64_t)&bstatus[k], 1, VD_WRITE, 0};
    vio_post(h);
}

/* Posts and waits (2 s): the status byte, or -1 if nothing came back. */
static int blk_do(int k, uint32_t type, uint64_t sector, uint64_t addr, uint32_t len)
{
    uint32_t before = vused[0] >> 16;
    blk_post(k, type, sector, addr, len);
    uint64_t end = guest_time() + guest_ms_to_ticks(2000);
    while ((vused[0] >> 16) == before)
        if (guest_time() > end)
            return -1;
    __asm__ volatile("fence r, r" ::: "memory");
    return bstatus[k];
}

/* A good read of sector 0 into bdata[k]: its first byte is sector 0's. */
static bool blk_good(int k, uint8_t expect)
{
    memset(bdata[k], 0xcc, 512);
    return blk_do(k, 0, 0, (uint64_t)bdata[k], 512) == 0 && bdata[k][0] == expect &&
           bdata[k][511] == expect;
}

static void blk_attack(void)
{
    size_t clen = 0;
    const char *arg = guest_bootarg("case", &clen);
    struct mem_range m = ram();
    char c[16]; /* a copy: the device tree may lie in the page straddle fills */

    if (!arg)
        guest_fail("attack=blk needs case=");
    if (clen >= sizeof(c))
        clen = sizeof(c) - 1;
    memcpy(c, arg, clen);
    if (vio_r(VIO_MAGIC) != 0x74726976 || vio_r(VIO_VERSION) != 2 || vio_r(VIO_DEVICE_ID) != 2)
        guest_fail("expected a version 2 virtio-blk at 0x%lx (magic 0x%x version %u device %u)",
                   VIO_BASE, vio_r(VIO_MAGIC), vio_r(VIO_VERSION), vio_r(VIO_DEVICE_ID));
    vio_init_ok();
    /* Sector 0 gets a pattern of this run, written and read back. */
    uint8_t pat = (uint8_t)(0x40 + (guest_time() & 0x3f));
    memset(bdata[1], pat, 512);
    if (blk_do(1, 1, 0, (uint64_t)bdata[1], 512) != 0)
        guest_fail("virtio-blk: a good write failed");
    if (!blk_good(0, pat))
        guest_fail("virtio-blk: a good read did not return what was written");
    glog("blk %.*s: a good write and read work; now the attack", (int)clen, c);

    uint8_t *last = (uint8_t *)(m.end - 4096);
    if (word_is(c, clen, "outside")) {
        blk_post(0, 0, 0, 0x0, 512);
    } else if (word_is(c, clen, "plic")) {
        blk_post(0, 0, 0, PLIC_BASE, 512);
    } else if (word_is(c, clen, "past")) {
        blk_post(0, 0, 0, m.end, 512);
    } else if (word_is(c, clen, "straddle")) {
        memset(last, 0x5a, 4096);
        blk_post(0, 0, 0, m.end - 4096, 8192);
    } else if (word_is(c, clen, "writeplic")) {
        blk_post(0, 1, 0, PLIC_BASE, 512);
    } else if (word_is(c, clen, "reset")) {
        for (int i = 0; i < 1000; i++) {
            blk_post(0, 0, (uint64_t)(i % 64), (uint64_t)bdata[0], 4096);
            blk_post(1, 0, 8, (uint64_t)bdata[1], 512);
            vio_w(VIO_STATUS, 0);
            vio_w(VIO_QNOTIFY, 0); /* to a device in reset */
            if (i % 2)
                vio_init_ok();
        }
        vio_init_ok();
        if (!blk_good(0, pat))
            guest_fail("virtio-blk: no good read after 1000 resets in flight");
        guest_pass("blk reset: 1000 resets with reads in flight, then the device works");
    } else {
        guest_fail("case=%.*s: expected outside, plic, past, straddle, writeplic or reset",
                   (int)clen, c);
    }
    uint64_t end = guest_time() + guest_ms_to_ticks(2000);
    while (!(vio_r(VIO_STATUS) & VS_NEEDS_RESET) && guest_time() < end)
        ;
    uint32_t st = vio_r(VIO_STATUS), is = vio_r(VIO_INT_STATUS);
    if (!(st & VS_NEEDS_RESET))
        guest_fail("blk %.*s: status 0x%x, expected DEVICE_NEEDS_RESET (0x40)", (int)clen, c, st);
    if (!(is & 2))
        guest_fail("blk %.*s: InterruptStatus 0x%x, expected the configuration-change bit (2)",
                   (int)clen, c, is);
    if (bstatus[0] != 0xee)
        guest_fail("blk %.*s: the refused request got a status (0x%x)", (int)clen, c, bstatus[0]);
    for (int i = 0; word_is(c, clen, "straddle") && i < 4096; i++)
        if (last[i] != 0x5a)
            guest_fail("blk straddle: byte %d of the last page changed to 0x%x", i, last[i]);
    vio_w(VIO_INT_ACK, is);
    if (blk_do(1, 0, 0, (uint64_t)bdata[1], 512) != -1)
        guest_fail("blk %.*s: a device needing reset still served a request", (int)clen, c);
    vio_init_ok();
    if (!blk_good(0, pat))
        guest_fail("blk %.*s: no good read after a reset (the disk lost sector 0?)", (int)clen, c);
    guest_pass("blk %.*s: DEVICE_NEEDS_RESET (status 0x%x, interrupt status 0x%x); works again "
               "after a reset, the disk intact",
               (int)clen, c, st, is);
}

/* ---- stopall ---- */

static void stop_me(uint64_t hartid, void *arg)
{
    (void)arg;
    struct sbiret r = sbi_call(SBI_EXT_HSM, SBI_HSM_STOP, 0, 0, 0);
    guest_fail("hart %lu: hart_stop returned %s", (unsigned long)hartid, sbi_strerror(r.error));
}

static void stopall(void)
{
    uint64_t ids[MAX_HARTS], me = guest_hartid();
    int n = harts(ids);

    for (int i = 0; i < n; i++) {
        if (ids[i] == me)
            continue;
        long err = guest_hart_start(ids[i], stop_me, NULL);
        if (err)
            guest_fail("hart_start of hart %lu: %s", (unsigned long)ids[i], sbi_strerror(err));
    }
    uint64_t end = guest_time() + guest_ms_to_ticks(5000);
    for (int i = 0; i < n; i++) {
        if (ids[i] == me)
            continue;
        while (sbi_hart_status(ids[i]) != SBI_HSM_STOPPED) {
            if (guest_time() > end)
                guest_fail("hart %lu did not stop within 5 s", (unsigned long)ids[i]);
        }
    }
    glog("stopall: %d other hart(s) stopped themselves; now hart %lu stops", n - 1,
         (unsigned long)me);
    struct sbiret r = sbi_call(SBI_EXT_HSM, SBI_HSM_STOP, 0, 0, 0);
    guest_fail("hart_stop of the last hart returned %s", sbi_strerror(r.error));
}

void guest_main(uint64_t hartid)
{
    size_t len = 0;
    const char *a = guest_bootarg("attack", &len);

    (void)hartid;
    if (word_is(a, len, "guard"))
        guard();
    else if (word_is(a, len, "mem"))
        mem_attack();
    else if (word_is(a, len, "peek"))
        peek();
    else if (word_is(a, len, "csr"))
        csr_attack();
    else if (word_is(a, len, "sbi"))
        sbi_attack();
    else if (word_is(a, len, "ipi"))
        storm_kind = STORM_IPI, storm("ipi");
    else if (word_is(a, len, "wfi"))
        storm_kind = STORM_WFI, storm("wfi");
    else if (word_is(a, len, "irq"))
        storm_kind = STORM_IRQ, storm("irq");
    else if (word_is(a, len, "stopall"))
        stopall();
    else if (word_is(a, len, "virtio"))
        virtio_attack();
    else if (word_is(a, len, "net"))
        net_attack();
    else if (word_is(a, len, "netrx"))
        netrx();
    else if (word_is(a, len, "blk"))
        blk_attack();
    else if (word_is(a, len, "dbtr"))
        dbtr_attack();
    guest_fail("bootargs attack=%.*s: expected guard, mem, peek, csr, sbi, dbtr, ipi, wfi, irq, "
               "stopall, virtio, net, netrx or blk",
               (int)len, a ? a : "");
}
