/* SPDX-License-Identifier: Apache-2.0 */
/* Live migration's engines (core/migrate_src.c, core/migrate_dst.c,
 * core/mig_format.c) on VMs built on the host: the source VM "alpha" and
 * the destination's VM (named "beta", as a second host would name it
 * "alpha") live in one VM table, and the test is the transport, moving
 * bytes between the engines in pieces of odd sizes while the "guest"
 * (gpa_write, which dirty logging sees) keeps writing RAM.
 *
 * Shown: RAM, registers and device state arrive as they were at the pause;
 * writes made during the rounds are not lost; zero pages travel as
 * entries only; the convergence rule ends a migration that cannot
 * converge; one byte flipped anywhere in the stream, or the connection cut
 * anywhere, leaves the source VM running (not paused, logging off) and no
 * VM on the destination, with free memory as before; a destination that
 * lacks an ISA extension, memory or the name refuses before any RAM moves;
 * versions are negotiated; a destination that goes silent times out; a VM
 * with fewer extensions than the destination arrives with exactly its ISA;
 * a VM with a NIC migrates to its own host under another name; a VM that
 * came with the boot bundle is packed into a bundle of its own (its node
 * copied, its kernel, initrd and disk image along) and migrates too. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/console.h"
#include "core/migrate.h"
#include "core/vconsole.h"
#include "core/vm_admin.h"
#include "core/vm_life.h"
#include "core/vm_pack.h"
#include "core/sched.h"
#include "core/vcpu_state.h"
#include "core/vdev/vdev.h"
#include "lib/wire.h"
#include "core/vmm.h"
#include "lib/cpio.h"
#include "lib/crc32c.h"
#include "lib/err.h"
#include "lib/fdt.h"
#include "tests/unit/fake_arch.h"
#include "tests/unit/bundle_testlib.h"
#include "tests/unit/host_vm.h"

#define MiB       (1ull << 20)
#define ARENA     (96 * MiB)
#define NHARTS    2
#define KERNEL_SZ 8192
#define GUEST_MEM (4 * MiB)

static uint8_t *arena;
static uint64_t free_at_start;

static struct vm *alpha_boot_isa(uint64_t mem, const char *withhold)
{
    char err[256] = "";
    size_t size = 0;
    void *b = bundle_testlib_make("alpha", mem, 2, &size);
    assert_non_null(b);
    int slot = vm_add(b, size, NHARTS, err, sizeof(err));
    if (slot < 0)
        fail_msg("vm_add alpha: %s", err);
    struct vm *vm = &vms[slot];
    if (withhold) {
        /* As on a host without it: the bundle does not say so. */
        struct isa_set w = {0};
        assert_int_equal(isa_set_add_name(&w, withhold), 1);
        assert_int_equal(vm_admin_withhold(vm, &w), 0);
    }
    vm->boots++;
    if (vm_boot(vm, err, sizeof(err)) < 0)
        fail_msg("vm_boot alpha: %s", err);
    return vm;
}

static struct vm *alpha_boot(uint64_t mem)
{
    return alpha_boot_isa(mem, NULL);
}

/* ---- the "guest" ---------------------------------------------------------------- */

/* Writes page p of RAM with a pattern of (seed, p): what a running guest
 * would, seen by dirty logging through gpa_write. */
static void guest_write(struct vm *vm, unsigned p, uint64_t seed)
{
    uint64_t page[512];
    for (unsigned i = 0; i < 512; i++)
        page[i] = seed * 0x9e3779b97f4a7c15ull + p * 4096ull + i;
    assert_int_equal(gpa_write(vm, vm->ram_base + p * 4096ull, page, sizeof(page)), 0);
}

struct image {
    uint32_t ram;
    uint64_t gpr[2][32], pc[2];
    uint8_t prio;
};

static struct image image_of(struct vm *vm)
{
    static uint8_t buf[GUEST_MEM];
    struct image im;
    memset(&im, 0, sizeof(im));
    assert_int_equal(gpa_read(vm, vm->ram_base, buf, (size_t)vm->ram_size), 0);
    im.ram = crc32c(0, buf, (size_t)vm->ram_size);
    for (unsigned v = 0; v < 2; v++) {
        memcpy(im.gpr[v], vm->vcpus[v].arch.ctx.gpr, sizeof(im.gpr[v]));
        im.pc[v] = vm->vcpus[v].arch.ctx.sepc;
    }
    im.prio = vm->plic.priority[1];
    return im;
}

/* A guest's last writes race with its pause: the observer of the pause
 * writes pages that only the final fetch reports. */
static struct vm *racer;
static void on_event(struct vm *vm, enum vm_event ev)
{
    if (vm == racer && ev == VM_EVENT_PAUSED)
        for (unsigned p = 0; p < 8; p++)
            guest_write(vm, 901 + p, 77);
}

/* ---- the transport ---------------------------------------------------------------- */

struct run {
    struct migrate_src src;
    struct migrate_dst dst;
    struct image at_pause; /* the source at its final step */
    bool saw_pause;
    uint64_t stream;     /* source bytes moved */
    uint64_t flip_at;    /* flip this stream byte (~0: none) */
    uint64_t cut_at;     /* the connection breaks after this many bytes (~0: never) */
    unsigned writes;     /* guest pages written per pump while it runs */
    unsigned slow;       /* looks at the (fake) clock per pump: 1000 = 0.1 ms each */
    uint64_t ram_before; /* RAM bytes the destination had sent when CONFIG came back */
};

static void pump(struct run *r, struct vm *vm)
{
    static uint8_t buf[70000];
    static size_t sizes[] = {1, 7, 24, 4096, 65536, 333, 70000};
    unsigned turn = 0, idle = 0;
    uint64_t seed = 100;

    while (!migrate_src_over(&r->src) || !migrate_dst_over(&r->dst)) {
        size_t want = sizes[turn++ % (sizeof(sizes) / sizeof(sizes[0]))];
        if (r->cut_at != ~0ull && r->stream + want > r->cut_at)
            want = (size_t)(r->cut_at - r->stream);
        size_t n = migrate_src_over(&r->src) ? 0 : migrate_src_pull(&r->src, buf, want);
        if (!r->saw_pause && r->src.phase >= MIGRATE_CONFIRM && r->src.phase != MIGRATE_FAILED) {
            r->at_pause = image_of(vm);
            r->saw_pause = true;
        }
        if (r->flip_at >= r->stream && r->flip_at < r->stream + n)
            buf[r->flip_at - r->stream] ^= 0x40;
        r->stream += n;
        if (n)
            migrate_dst_push(&r->dst, buf, n);
        size_t k = migrate_dst_pull(&r->dst, buf, sizeof(buf));
        if (k)
            migrate_src_push(&r->src, buf, k);
        /* The guest runs on while the source is not at its final step. */
        if (r->src.phase == MIGRATE_PRECOPY)
            for (unsigned i = 0; i < r->writes; i++, seed++)
                guest_write(vm, (unsigned)((seed * 7 + i * 13) % 900), seed);
        if (r->stream == r->cut_at) {
            migrate_src_closed(&r->src, "connection closed");
            migrate_dst_closed(&r->dst, "connection closed");
        }
        for (unsigned i = 0; i < r->slow; i++)
            arch_time(); /* a slow link: time passes while bytes move */
        idle = n || k ? 0 : idle + 1;
        if (idle > 3) {
            migrate_src_poll(&r->src);
            if (idle > 100000)
                fail_msg("the engines stalled: source %s (%s), destination %s (%s)",
                         migrate_phase_name(r->src.phase), r->src.reason,
                         migrate_phase_name(r->dst.phase), r->dst.reason);
        }
    }
}

static void run_start(struct run *r, struct vm *vm, const char *as, const struct migrate_params *p)
{
    char err[192] = "";
    struct migrate_params def = {.to = "hostB"};

    memset(r, 0, sizeof(*r));
    r->flip_at = r->cut_at = ~0ull;
    if (migrate_src_start(&r->src, vm, p ? p : &def, err, sizeof(err)) < 0)
        fail_msg("migrate_src_start: %s", err);
    if (migrate_dst_start(&r->dst, as, err, sizeof(err)) < 0)
        fail_msg("migrate_dst_start: %s", err);
}

static void run_free(struct run *r)
{
    migrate_src_free(&r->src);
    migrate_dst_free(&r->dst);
}

/* ---- fixture ---------------------------------------------------------------- */

static void discard(const char *s, size_t n)
{
    (void)s;
    (void)n;
}

/* SHOW=1 in the environment: Vireo's console lines on stderr. */
static void show(const char *s, size_t n)
{
    fwrite(s, 1, n, stderr);
}

static int setup(void **state)
{
    (void)state;
    char err[160] = "";

    arena = host_vm_init(ARENA, err, sizeof(err));
    if (!arena)
        fail_msg("host_vm_init: %s", err);
    console_set_output(getenv("SHOW") ? show : discard);
    vconsole_test_reset();
    memset(vms, 0, sizeof(vms));
    vm_count = 0;
    memset(&fake_arch, 0, sizeof(fake_arch));
    free_at_start = pmem_free_bytes();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char err[160];
    for (unsigned i = 0; i < vm_count; i++) {
        struct vm *vm = &vms[i];
        if (!vm_in_use(vm))
            continue;
        if (vm->state == VM_RUNNING)
            vm_end(vm, VM_END_STOPPED, "by the test");
        vm_delete(vm, err, sizeof(err));
    }
    pmem_reset();
    free(arena);
    return 0;
}

/* The source VM after a failed migration: running as before. */
static void assert_runs_on(struct vm *vm, const struct run *r, const char *what)
{
    if (r->src.phase != MIGRATE_FAILED)
        fail_msg("%s: the source ended %s, expected failed", what,
                 migrate_phase_name(r->src.phase));
    if (vm->state != VM_RUNNING || vm->paused || vm->dirty.on)
        fail_msg("%s: expected alpha running, not paused, logging off; state %d paused %d "
                 "logging %d (%s)",
                 what, vm->state, vm->paused, vm->dirty.on, r->src.reason);
    if (vm_find("beta"))
        fail_msg("%s: the destination kept its half-built VM (%s)", what, r->dst.reason);
}

/* Dirty logging splits the VM's huge G-stage leaves once and keeps the
 * table pages until the VM is rebuilt (docs/dirty-logging.md): done
 * before free memory is measured, so what is compared is the migration's. */
static void warm_up(struct vm *vm)
{
    char err[160];
    assert_int_equal(vm_dirty_start(vm, err, sizeof(err)), 0);
    vm_dirty_stop(vm);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_migrate_roundtrip(void **state)
{
    (void)state;
    struct vm *vm = alpha_boot(GUEST_MEM);
    static struct run r;

    for (unsigned p = 0; p < 300; p += 3)
        guest_write(vm, p, 1);
    vm->vcpus[1].arch.ctx.gpr[10] = 0x1234;
    vm->vcpus[0].arch.ctx.sepc = vm->ram_base + 0x40;
    vm->plic.priority[1] = 5;
    struct migrate_params p = {.to = "hostB:7001", .downtime_ms = 1, .stall_rounds = 2};
    racer = vm;
    vm_life_observe(on_event);
    run_start(&r, vm, "beta", &p);
    r.writes = 40; /* more than a pump moves: the dirty set cannot shrink */
    r.slow = 1000; /* 100 ms per pump of at most 70000 bytes: under 1 MB/s */
    pump(&r, vm);
    if (r.src.phase != MIGRATE_DONE || r.dst.phase != MIGRATE_DONE)
        fail_msg("expected both done: source %s (%s), destination %s (%s)",
                 migrate_phase_name(r.src.phase), r.src.reason, migrate_phase_name(r.dst.phase),
                 r.dst.reason);
    assert_true(r.saw_pause);
    vm_life_observe(NULL);
    racer = NULL;
    struct vm *beta = vm_find("beta");
    assert_non_null(beta);
    assert_int_equal(beta->state, VM_RUNNING);
    assert_false(beta->paused);
    struct image got = image_of(beta);
    if (got.ram != r.at_pause.ram)
        fail_msg("expected beta's RAM (crc %08x) to be alpha's at the pause (crc %08x)", got.ram,
                 r.at_pause.ram);
    assert_memory_equal(got.gpr, r.at_pause.gpr, sizeof(got.gpr));
    assert_memory_equal(got.pc, r.at_pause.pc, sizeof(got.pc));
    assert_int_equal(got.prio, 5);
    /* The guest's clock: from the pause, on by the pause's length (the
     * final step took several pumps of 100 ms; fake clock: 100 ns a tick),
     * which each vCPU is told as steal time. */
    uint64_t beta_now = arch_time() + beta->time_offset;
    uint64_t pause = r.src.st.ended - r.src.st.paused, want = r.src.clock_at_pause + pause;
    int64_t off = (int64_t)(beta_now - want);
    if (pause < 5000000 || off < -2500000 || off > 2500000)
        fail_msg("expected beta's clock 250 ms at most from alpha's at the pause plus the pause "
                 "(%llu ticks): %lld ticks off",
                 (unsigned long long)pause, (long long)off);
    int64_t dn = (int64_t)r.dst.st.downtime_ns - (int64_t)(pause * 100);
    if (dn < -250000000 || dn > 250000000)
        fail_msg(
            "expected the destination's downtime (%llu ns) within 250 ms of the pause (%llu ns)",
            (unsigned long long)r.dst.st.downtime_ns, (unsigned long long)(pause * 100));
    for (unsigned v = 0; v < 2; v++)
        assert_true(beta->vcpus[v].steal_ns >= r.dst.st.downtime_ns);
    /* The source VM ended, saying where it went. */
    assert_int_equal(vm->state, VM_DONE);
    assert_int_equal(vm->end, VM_END_STOPPED);
    assert_string_equal(vm->reason, "migrated to hostB:7001");
    /* Pre-copy that cannot converge: the first pass, then rounds until
     * the dirty set failed to shrink more than stall_rounds (2) times,
     * then the final pass; well before the cap of 30. */
    /* Auto-converge first: each round that did not shrink the dirty set
     * throttled the vCPUs 25 points more, up to 75 (3 rounds); only then
     * did such rounds count as stalls.  The throttle ends with the VM. */
    if (r.src.st.rounds < 7 || r.src.st.rounds > 11)
        fail_msg("expected 7..11 rounds (3 throttle steps, then the stall rule), got %u",
                 r.src.st.rounds);
    if (r.src.st.throttle_pct != 75)
        fail_msg("expected the throttle at its cap (75%%), got %u%%", r.src.st.throttle_pct);
    assert_int_equal(vm->throttle_pct, 0);
    assert_true(r.src.st.final_pages > 0);
    /* Zero pages were entries, not data: 1024 pages of RAM, about 100
     * written + the kernel's 2 pages + what the rounds resent. */
    uint64_t ram_pages = GUEST_MEM / 4096;
    if (r.src.st.zero_pages < ram_pages / 2 || r.src.st.bytes > GUEST_MEM)
        fail_msg("expected most pages sent as zero and under %llu bytes: %llu zero, %llu bytes",
                 (unsigned long long)GUEST_MEM, (unsigned long long)r.src.st.zero_pages,
                 (unsigned long long)r.src.st.bytes);
    assert_int_equal(r.dst.st.pages, r.src.st.pages);
    assert_int_equal(r.dst.st.rounds, r.src.st.rounds);
    assert_int_equal(r.dst.st.bytes, r.src.st.bytes);
    run_free(&r);
    /* And back again, into the name it had (alpha is off, so delete it
     * first, as an operator would). */
    char err[160];
    assert_int_equal(vm_delete(vm, err, sizeof(err)), 0);
    struct image there = image_of(beta);
    run_start(&r, beta, "alpha", NULL);
    pump(&r, beta); /* an idle guest: the first pass, then an empty final one */
    assert_int_equal(r.src.st.rounds, 2);
    assert_int_equal(r.src.st.final_pages, 0);
    if (r.src.phase != MIGRATE_DONE || r.dst.phase != MIGRATE_DONE)
        fail_msg("back: source %s (%s), destination %s (%s)", migrate_phase_name(r.src.phase),
                 r.src.reason, migrate_phase_name(r.dst.phase), r.dst.reason);
    struct vm *back = vm_find("alpha");
    assert_non_null(back);
    assert_int_equal(image_of(back).ram, there.ram);
    run_free(&r);
}

/* Flow control: a link slower than the source's pulls (bytes wait on the
 * wire) holds at most a window of pre-copy RAM; each round is taken
 * whole before the dirty set is looked at, so the pause starts with
 * nothing of the earlier rounds on the way; the VM arrives as it was. */
static void test_migrate_flow(void **state)
{
    (void)state;
    struct vm *vm = alpha_boot(GUEST_MEM);
    static struct run r;
    static uint8_t wire[8 * MiB], buf[70000];
    size_t head = 0, tail = 0, most = 0;
    uint64_t seed = 5;

    for (unsigned p = 0; p < GUEST_MEM / 4096; p++)
        guest_write(vm, p, 3); /* no zero page: the first round is all of RAM */
    struct migrate_params p = {.to = "hostB", .downtime_ms = 50};
    run_start(&r, vm, "beta", &p);
    for (unsigned turn = 0; !migrate_src_over(&r.src) || !migrate_dst_over(&r.dst); turn++) {
        if (turn > 200000)
            fail_msg("the engines stalled: source %s (%s), destination %s (%s)",
                     migrate_phase_name(r.src.phase), r.src.reason, migrate_phase_name(r.dst.phase),
                     r.dst.reason);
        /* The source may pull 64 KiB a turn; the wire delivers 16 KiB. */
        size_t n = migrate_src_over(&r.src) ? 0 : migrate_src_pull(&r.src, buf, 65536);
        assert_true(tail + n <= sizeof(wire));
        memcpy(wire + tail, buf, n);
        tail += n;
        if (r.src.phase == MIGRATE_PRECOPY && tail - head > most)
            most = tail - head;
        if (!r.saw_pause && r.src.phase >= MIGRATE_CONFIRM && r.src.phase != MIGRATE_FAILED) {
            r.at_pause = image_of(vm);
            r.saw_pause = true;
        }
        size_t k = tail - head < 16384 ? tail - head : 16384;
        if (k)
            migrate_dst_push(&r.dst, wire + head, k);
        head += k;
        if (head == tail)
            head = tail = 0;
        k = migrate_dst_pull(&r.dst, buf, sizeof(buf));
        if (k)
            migrate_src_push(&r.src, buf, k);
        if (r.src.phase == MIGRATE_PRECOPY && turn % 4 == 0)
            guest_write(vm, (unsigned)(seed % 64), seed), seed++;
        for (unsigned i = 0; i < 200; i++)
            arch_time();
        migrate_src_poll(&r.src);
    }
    if (r.src.phase != MIGRATE_DONE || r.dst.phase != MIGRATE_DONE)
        fail_msg("expected both done: source %s (%s), destination %s (%s)",
                 migrate_phase_name(r.src.phase), r.src.reason, migrate_phase_name(r.dst.phase),
                 r.dst.reason);
    /* A window, the section being made and one pull. */
    if (most > MIGRATE_WINDOW_MIN + 2 * 65536 + MIG_SECTION_MAX)
        fail_msg("expected at most a window (%llu bytes) and a section on the wire during "
                 "pre-copy, %zu were",
                 (unsigned long long)MIGRATE_WINDOW_MIN, most);
    if (most < MIGRATE_WINDOW_MIN / 2)
        fail_msg("expected the wire to fill towards the window (%llu), it held %zu at most",
                 (unsigned long long)MIGRATE_WINDOW_MIN, most);
    if (r.src.st.unacked_at_pause != 0)
        fail_msg("expected nothing on the way at the pause, %llu bytes were",
                 (unsigned long long)r.src.st.unacked_at_pause);
    if (r.src.st.rounds < 2)
        fail_msg("expected a round after the first (the guest wrote meanwhile): %u",
                 r.src.st.rounds);
    struct vm *beta = vm_find("beta");
    assert_non_null(beta);
    struct image got = image_of(beta);
    if (got.ram != r.at_pause.ram)
        fail_msg("expected beta's RAM (crc %08x) to be alpha's at the pause (crc %08x)", got.ram,
                 r.at_pause.ram);
    run_free(&r);
}

/* One byte flipped anywhere: refused, the source runs on, nothing kept. */
static void test_migrate_flip(void **state)
{
    (void)state;
    struct vm *vm = alpha_boot(GUEST_MEM);
    static struct run r;

    for (unsigned p = 0; p < 40; p++)
        guest_write(vm, p * 5, 2);
    /* The length of a whole stream first. */
    run_start(&r, vm, "beta", NULL);
    r.cut_at = ~0ull;
    /* Measure with a destination that refuses nothing: a dry run whose
     * VM is then dropped is the simplest. */
    pump(&r, vm);
    uint64_t len = r.stream;
    assert_int_equal(r.src.phase, MIGRATE_DONE);
    run_free(&r);
    char err[160];
    assert_int_equal(vm_delete(vm, err, sizeof(err)), 0);
    struct vm *b = vm_find("beta");
    vm_end(b, VM_END_STOPPED, "by the test");
    assert_int_equal(vm_delete(b, err, sizeof(err)), 0);
    uint64_t free_before = pmem_free_bytes();

    vm = alpha_boot(GUEST_MEM);
    for (unsigned p = 0; p < 40; p++)
        guest_write(vm, p * 5, 2);
    warm_up(vm);
    uint64_t free_running = pmem_free_bytes();
    for (uint64_t at = 0; at < len; at += at < 256 ? 5 : len / 97 + 1) {
        char what[64];
        snprintf(what, sizeof(what), "byte %llu of %llu flipped", (unsigned long long)at,
                 (unsigned long long)len);
        run_start(&r, vm, "beta", NULL);
        r.flip_at = at;
        pump(&r, vm);
        assert_runs_on(vm, &r, what);
        if (r.dst.phase != MIGRATE_FAILED)
            fail_msg("%s: the destination ended %s", what, migrate_phase_name(r.dst.phase));
        run_free(&r);
        if (pmem_free_bytes() != free_running)
            fail_msg("%s: free memory %llu, expected %llu", what,
                     (unsigned long long)pmem_free_bytes(), (unsigned long long)free_running);
    }
    (void)free_before;
}

/* The connection cut anywhere: the source runs on, nothing kept there. */
static void test_migrate_cut(void **state)
{
    (void)state;
    struct vm *vm = alpha_boot(GUEST_MEM);
    static struct run r;

    for (unsigned p = 0; p < 40; p++)
        guest_write(vm, p * 7, 3);
    warm_up(vm);
    uint64_t free_running = pmem_free_bytes();
    static const uint64_t cuts[] = {0, 1, 16, 17, 40, 100, 5000, 70000, 120000, 180000};
    for (unsigned i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        char what[64];
        snprintf(what, sizeof(what), "cut after %llu bytes", (unsigned long long)cuts[i]);
        run_start(&r, vm, "beta", NULL);
        r.cut_at = cuts[i];
        pump(&r, vm);
        if (r.src.phase == MIGRATE_DONE)
            fail_msg("%s: the stream is shorter than that (%llu)", what,
                     (unsigned long long)r.stream);
        assert_runs_on(vm, &r, what);
        run_free(&r);
        if (pmem_free_bytes() != free_running)
            fail_msg("%s: free memory %llu, expected %llu", what,
                     (unsigned long long)pmem_free_bytes(), (unsigned long long)free_running);
    }
}

/* Refusals that come before any RAM moves. */
static void test_migrate_refused_early(void **state)
{
    (void)state;
    struct vm *vm = alpha_boot(GUEST_MEM);
    static struct run r;

    /* The name: taken here (no --as). */
    run_start(&r, vm, NULL, NULL);
    pump(&r, vm);
    assert_runs_on(vm, &r, "name taken");
    if (!strstr(r.src.reason, "exists here already"))
        fail_msg("expected the name refusal, got: %s", r.src.reason);
    assert_int_equal(r.src.st.pages + r.src.st.zero_pages, 0);
    run_free(&r);

    /* An ISA extension this host cannot give (the host test ISA has no
     * Zbb): the VM claims it. */
    char saved[sizeof(vm->isa_str)];
    memcpy(saved, vm->isa_str, sizeof(saved));
    strcat(vm->isa_str, "_zbb");
    run_start(&r, vm, "beta", NULL);
    pump(&r, vm);
    memcpy(vm->isa_str, saved, sizeof(saved));
    assert_runs_on(vm, &r, "extension missing");
    if (!strstr(r.src.reason, "lacks ISA extensions the VM uses: zbb"))
        fail_msg("expected the ISA refusal naming zbb, got: %s", r.src.reason);
    assert_int_equal(r.src.st.pages + r.src.st.zero_pages, 0);
    run_free(&r);

    /* Memory: a VM larger than what is free here. */
    char err[192];
    vm_end(vm, VM_END_STOPPED, "by the test");
    assert_int_equal(vm_delete(vm, err, sizeof(err)), 0);
    vm = alpha_boot(64 * MiB);
    run_start(&r, vm, "beta", NULL);
    pump(&r, vm);
    assert_runs_on(vm, &r, "no memory");
    if (!strstr(r.src.reason, "not enough memory here"))
        fail_msg("expected the memory refusal, got: %s", r.src.reason);
    assert_int_equal(r.src.st.pages + r.src.st.zero_pages, 0);
    run_free(&r);
}

/* Versions: a source speaking only later versions is refused with both
 * ranges; a destination choosing none fails the source. */
static void test_migrate_versions(void **state)
{
    (void)state;
    static struct migrate_dst d;
    uint8_t pre[MIG_PREAMBLE], out[600];
    char err[160];

    assert_int_equal(migrate_dst_start(&d, NULL, err, sizeof(err)), 0);
    mig_preamble_encode(pre, MIG_MAGIC_SRC, 5, 9);
    migrate_dst_push(&d, pre, sizeof(pre));
    assert_int_equal(d.phase, MIGRATE_FAILED);
    if (!strstr(d.reason, "source speaks 5..9"))
        fail_msg("expected a version refusal, got: %s", d.reason);
    size_t n = migrate_dst_pull(&d, out, sizeof(out));
    uint16_t lo, hi;
    assert_true(n > MIG_PREAMBLE);
    assert_int_equal(mig_preamble_decode(out, MIG_MAGIC_DST, &lo, &hi), 0);
    assert_int_equal(lo, 0);
    migrate_dst_free(&d);
    /* The source side of it. */
    struct vm *vm = alpha_boot(GUEST_MEM);
    static struct migrate_src s;
    struct migrate_params p = {.to = "x"};
    assert_int_equal(migrate_src_start(&s, vm, &p, err, sizeof(err)), 0);
    assert_true(migrate_src_pull(&s, out, sizeof(out)) == MIG_PREAMBLE);
    assert_int_equal(migrate_src_pull(&s, out, sizeof(out)), 0); /* waits */
    migrate_src_push(&s, out + 0, 0);
    mig_preamble_encode(pre, MIG_MAGIC_DST, 0, 0);
    migrate_src_push(&s, pre, sizeof(pre));
    assert_int_equal(s.phase, MIGRATE_FAILED);
    if (!strstr(s.reason, "no stream version in common"))
        fail_msg("expected a version failure, got: %s", s.reason);
    migrate_src_free(&s);
    /* Not a listener at all. */
    assert_int_equal(migrate_src_start(&s, vm, &p, err, sizeof(err)), 0);
    migrate_src_pull(&s, out, sizeof(out));
    migrate_src_push(&s, "HTTP/1.1 400 Bad", 16);
    assert_int_equal(s.phase, MIGRATE_FAILED);
    assert_non_null(strstr(s.reason, "not a Vireo migration listener"));
    migrate_src_free(&s);
    assert_int_equal(vm->state, VM_RUNNING);
}

/* A VM with fewer extensions than this host (it lacks C, as on a host
 * without it; its bundle does not say so) arrives with exactly its ISA:
 * what this host has beyond it is withheld from it. */
static void test_migrate_isa_subset(void **state)
{
    (void)state;
    struct vm *vm = alpha_boot_isa(GUEST_MEM, "c");
    static struct run r;

    char here[2048], guest[2048];
    vmm_isa_strings(here, sizeof(here), guest, sizeof(guest));
    if (strcmp(vm->isa_str, guest) == 0)
        fail_msg("expected alpha's ISA (%s) to lack c", vm->isa_str);
    run_start(&r, vm, "beta", NULL);
    pump(&r, vm);
    if (r.dst.phase != MIGRATE_DONE)
        fail_msg("expected the VM to migrate, destination: %s", r.dst.reason);
    struct vm *beta = vm_find("beta");
    assert_non_null(beta);
    assert_string_equal(beta->isa_str, r.src.vm->isa_str);
    run_free(&r);
}

/* A VM with a NIC migrating to its own host under another name keeps its
 * MAC (derived from the name it was configured with), which the VM it
 * replaces still has: taken, not refused as a conflict. */
static void test_migrate_same_host_nic(void **state)
{
    (void)state;
    bundle_testlib_nic = true;
    struct vm *vm = alpha_boot(GUEST_MEM);
    bundle_testlib_nic = false;
    static struct run r;

    run_start(&r, vm, "beta", NULL);
    pump(&r, vm);
    if (r.src.phase != MIGRATE_DONE || r.dst.phase != MIGRATE_DONE)
        fail_msg("expected the VM with a NIC to migrate to this host as beta: %s / %s",
                 r.src.reason, r.dst.reason);
    run_free(&r);
}

/* A destination that goes silent: the source gives up and runs on. */
static void test_migrate_timeout(void **state)
{
    (void)state;
    struct vm *vm = alpha_boot(GUEST_MEM);
    static struct migrate_src s;
    struct migrate_params p = {.to = "x", .timeout_ms = 1};
    uint8_t out[64];
    char err[160];

    assert_int_equal(migrate_src_start(&s, vm, &p, err, sizeof(err)), 0);
    migrate_src_pull(&s, out, sizeof(out));
    for (int i = 0; i < 100 && !migrate_src_over(&s); i++)
        migrate_src_poll(&s);
    assert_int_equal(s.phase, MIGRATE_FAILED);
    assert_non_null(strstr(s.reason, "no reply from the destination"));
    assert_int_equal(vm->state, VM_RUNNING);
    migrate_src_free(&s);
    /* A boot-bundle VM cannot go (no bundle to send). */
    vm->cfg = vm->cfg; /* (alpha was added at run time: it can) */
}

/* ---- a boot-bundle VM ---------------------------------------------------------- */

/* The disk image is larger than the source's flow-control window: the
 * bundle alone fills it, and RAM must still flow once the VM is built.
 * Zero after its first page (the final state leaves zero pages out). */
#define BOOT_DISK (MIGRATE_WINDOW_MIN + 512 * 1024)
static uint8_t boot_ar[3 * 32768 + BOOT_DISK];
static uint8_t boot_kernel[8192], boot_initrd[3000], boot_disk[BOOT_DISK];

/* A boot bundle of two VMs, "other" (off) and "alpha" (initrd, bootargs,
 * a disk on a bundle image), in malloc'ed memory as QEMU's initrd is
 * nobody's to free; *size its length. */
static uint8_t *boot_bundle(size_t *size)
{
    static uint8_t dtb[4096];
    struct fdt_writer w;

    memset(boot_kernel, 0x13, sizeof(boot_kernel));
    for (size_t i = 0; i < sizeof(boot_initrd); i++)
        boot_initrd[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < 4096; i++)
        boot_disk[i] = (uint8_t)(i * 13 + 5);
    fdtw_init(&w, dtb, sizeof(dtb));
    fdtw_begin_node(&w, "");
    fdtw_prop_str(&w, "compatible", CONFIG_COMPATIBLE);
    fdtw_begin_node(&w, "vms");
    fdtw_begin_node(&w, "other");
    fdtw_prop_u64(&w, "memory", 2 * MiB);
    fdtw_prop_u32(&w, "vcpus", 1);
    fdtw_prop_str(&w, "kernel", "k/other");
    fdtw_end_node(&w);
    fdtw_begin_node(&w, "alpha");
    fdtw_prop_u64(&w, "memory", GUEST_MEM);
    fdtw_prop_u32(&w, "vcpus", 2);
    fdtw_prop_str(&w, "kernel", "alpha/kernel");
    fdtw_prop_str(&w, "initrd", "alpha/initrd");
    fdtw_prop_str(&w, "bootargs", "console=ttyS0 x=1");
    fdtw_begin_node(&w, "disk0");
    fdtw_prop_str(&w, "image", "alpha/disk0.img");
    fdtw_end_node(&w);
    fdtw_end_node(&w);
    fdtw_end_node(&w);
    fdtw_end_node(&w);
    int len = fdtw_finish(&w);
    assert_true(len > 0);
    size_t off =
        bundle_testlib_cpio(boot_ar, sizeof(boot_ar), 0, CONFIG_DTB_NAME, dtb, (size_t)len);
    off = bundle_testlib_cpio(boot_ar, sizeof(boot_ar), off, "k/other", boot_kernel, 4096);
    off = bundle_testlib_cpio(boot_ar, sizeof(boot_ar), off, "alpha/kernel", boot_kernel,
                              sizeof(boot_kernel));
    off = bundle_testlib_cpio(boot_ar, sizeof(boot_ar), off, "alpha/initrd", boot_initrd,
                              sizeof(boot_initrd));
    off = bundle_testlib_cpio(boot_ar, sizeof(boot_ar), off, "alpha/disk0.img", boot_disk,
                              sizeof(boot_disk));
    off = bundle_testlib_cpio(boot_ar, sizeof(boot_ar), off, CPIO_TRAILER, NULL, 0);
    assert_true(off > 0);
    uint8_t *b = malloc(off);
    memcpy(b, boot_ar, off);
    *size = off;
    return b;
}

static struct config boot_cfg;

/* The boot VMs started as main.c starts them: alpha runs. */
static struct vm *boot_alpha(uint8_t *bundle, size_t size)
{
    char err[256] = "";

    if (config_load(bundle, size, NHARTS, &boot_cfg, err, sizeof(err)) < 0)
        fail_msg("config_load of the boot bundle: %s", err);
    boot_cfg.vms[0].autostart = false;
    boot_cfg.vms[1].autostart = true;
    vm_pack_set_boot_bundle(bundle, size);
    assert_int_equal(vm_start_all(&boot_cfg), 2);
    struct vm *vm = vm_find("alpha");
    assert_non_null(vm);
    assert_int_equal(vm->state, VM_RUNNING);
    return vm;
}

/* vm_pack alone: one VM, the same configuration, the same images. */
static void test_migrate_pack(void **state)
{
    (void)state;
    size_t size, psize;
    uint8_t *bundle = boot_bundle(&size);
    struct vm *vm = boot_alpha(bundle, size);
    void *packed;
    char err[256] = "";
    static struct config got;

    if (vm_pack(vm, &packed, &psize, err, sizeof(err)) < 0)
        fail_msg("vm_pack alpha: %s", err);
    if (config_load(packed, psize, NHARTS, &got, err, sizeof(err)) < 0)
        fail_msg("expected the packed bundle to load: %s", err);
    assert_int_equal(got.nvms, 1);
    const struct vm_config *c = &got.vms[0];
    assert_string_equal(c->name, "alpha");
    assert_int_equal(c->mem_size, GUEST_MEM);
    assert_int_equal(c->vcpus, 2);
    assert_string_equal(c->bootargs, "console=ttyS0 x=1");
    assert_int_equal(c->kernel_size, sizeof(boot_kernel));
    assert_memory_equal(c->kernel, boot_kernel, sizeof(boot_kernel));
    assert_int_equal(c->initrd_size, sizeof(boot_initrd));
    assert_memory_equal(c->initrd, boot_initrd, sizeof(boot_initrd));
    assert_int_equal(c->ndevs, 1);
    assert_string_equal(c->devs[0].name, "disk0");
    /* The other VM's kernel stays behind. */
    assert_int_equal(cpio_find(packed, psize, "k/other", NULL, NULL), ERR_NOENT);
    const void *d;
    size_t dn;
    assert_int_equal(cpio_find(packed, psize, "alpha/disk0.img", &d, &dn), 0);
    assert_int_equal(dn, sizeof(boot_disk));
    pmem_free(packed, psize);
    /* No boot bundle known: refused, saying so. */
    vm_pack_set_boot_bundle(NULL, 0);
    assert_int_equal(vm_pack(vm, &packed, &psize, err, sizeof(err)), ERR_NOENT);
    assert_non_null(strstr(err, "no boot bundle"));
    vm_end(vm, VM_END_STOPPED, "by the test");
    assert_int_equal(vm_delete(vm, err, sizeof(err)), 0);
    free(bundle);
}

/* A boot-bundle VM migrates: the destination builds it from the packed
 * bundle; RAM and registers as at the pause; free memory on the source
 * as before once the engines are freed (the packed bundle with them). */
static void test_migrate_boot_vm(void **state)
{
    (void)state;
    size_t size;
    uint8_t *bundle = boot_bundle(&size);
    uint64_t free_before = pmem_free_bytes();
    struct vm *vm = boot_alpha(bundle, size);
    static struct run r;

    for (unsigned p = 0; p < 200; p += 7)
        guest_write(vm, p, 9);
    vm->vcpus[1].arch.ctx.gpr[11] = 0xfeed;
    run_start(&r, vm, "beta", NULL);
    r.writes = 3;
    pump(&r, vm);
    if (r.src.phase != MIGRATE_DONE || r.dst.phase != MIGRATE_DONE)
        fail_msg("expected the boot-bundle VM to migrate: source %s (%s), destination %s (%s)",
                 migrate_phase_name(r.src.phase), r.src.reason, migrate_phase_name(r.dst.phase),
                 r.dst.reason);
    struct vm *beta = vm_find("beta");
    assert_non_null(beta);
    assert_int_equal(beta->state, VM_RUNNING);
    struct image got = image_of(beta);
    if (got.ram != r.at_pause.ram)
        fail_msg("expected beta's RAM (crc %08x) as alpha's at the pause (%08x)", got.ram,
                 r.at_pause.ram);
    assert_memory_equal(got.gpr, r.at_pause.gpr, sizeof(got.gpr));
    assert_int_equal(beta->vcpus[1].arch.ctx.gpr[11], 0xfeed);
    assert_int_equal(beta->cfg->initrd_size, sizeof(boot_initrd));
    assert_memory_equal(beta->cfg->initrd, boot_initrd, sizeof(boot_initrd));
    assert_string_equal(beta->cfg->bootargs, "console=ttyS0 x=1");
    run_free(&r);
    char err[160];
    assert_int_equal(vm->state, VM_DONE);
    vm_end(beta, VM_END_STOPPED, "by the test");
    assert_int_equal(vm_delete(beta, err, sizeof(err)), 0);
    /* Both VMs gone, the engines freed (the packed bundle with them):
     * free memory as before alpha started. */
    assert_int_equal(vm_delete(vm, err, sizeof(err)), 0);
    if (pmem_free_bytes() != free_before)
        fail_msg("expected free memory back to %llu, it is %llu", (unsigned long long)free_before,
                 (unsigned long long)pmem_free_bytes());
    vm_pack_set_boot_bundle(NULL, 0);
    free(bundle);
}

/* The same guest with auto-converge off: never throttled, the stall rule
 * alone ends pre-copy. */
static void test_migrate_no_converge(void **state)
{
    (void)state;
    struct vm *vm = alpha_boot(GUEST_MEM);
    static struct run r;
    struct migrate_params p = {
        .to = "hostB", .downtime_ms = 1, .stall_rounds = 2, .no_converge = true};

    run_start(&r, vm, "beta", &p);
    r.writes = 40;
    r.slow = 1000;
    pump(&r, vm);
    if (r.src.phase != MIGRATE_DONE)
        fail_msg("expected the migration done: %s", r.src.reason);
    if (r.src.st.rounds < 4 || r.src.st.rounds > 8 || r.src.st.throttle_pct != 0)
        fail_msg("expected 4..8 rounds and no throttle, got %u rounds, %u%%", r.src.st.rounds,
                 r.src.st.throttle_pct);
    run_free(&r);
}

/* The scheduler's throttle: a vCPU that ran gives up its hart and sits
 * out as long again at 50% (an interrupt does not cut that short); it is
 * runnable, not waiting, to a snapshot meanwhile; with the throttle off it
 * goes back to the queue at once. */
static void test_sched_throttle(void **state)
{
    (void)state;
    struct vm *vm = alpha_boot(GUEST_MEM);
    struct hart *h = &harts[0];
    uint64_t next;

    struct vcpu *v = sched_pick(h, &next);
    assert_non_null(v);
    assert_ptr_equal(v->vm, vm);
    for (int i = 0; i < 100; i++)
        arch_time(); /* it runs: 100 ticks of 1000 on the fake clock */
    sched_throttle_vm(vm, 50);
    sched_put(h, v, EXIT_YIELD);
    if (v->state != VCPU_BLOCKED || !v->throttled)
        fail_msg("expected the vCPU sitting out its throttle, state %d throttled %d", v->state,
                 v->throttled);
    uint64_t ran = v->throttle_until - v->picked_at;
    uint64_t until = v->throttle_until;
    assert_true(ran >= 2 * 100000 && ran <= 2 * 110000); /* ran ~100000, then as long again */
    sched_notify(v);
    assert_int_equal(v->state, VCPU_BLOCKED);
    uint8_t buf[4096];
    long n = vcpu_state_save(v, buf, sizeof(buf));
    assert_true(n > 8);
    struct wire_in rd = wire_in(buf, (size_t)n);
    wire_get_u32(&rd);
    assert_int_equal(wire_get_u32(&rd), VCPU_RUNNABLE);
    assert_int_equal(sched_blocked_deadline(arch_time()), until);
    assert_int_equal(v->state, VCPU_BLOCKED);
    while (arch_time() < until)
        ;
    sched_blocked_deadline(arch_time());
    assert_int_equal(v->state, VCPU_RUNNABLE);
    assert_false(v->throttled);
    /* Off: straight back to the queue. */
    v = sched_pick(h, &next);
    assert_non_null(v);
    sched_throttle_vm(vm, 0);
    sched_put(h, v, EXIT_YIELD);
    assert_int_equal(v->state, VCPU_RUNNABLE);
    /* At most SCHED_THROTTLE_MAX. */
    sched_throttle_vm(vm, 100);
    assert_int_equal(vm->throttle_pct, SCHED_THROTTLE_MAX);
    sched_throttle_vm(vm, 0);
}

/* ---- cancel, an unknown outcome, shared disks ------------------------------------ */

/* One exchange: up to 4096 stream bytes to the destination (not if
 * hold_back and the source has sent its END: they are lost), its replies
 * back (unless lose_replies). */
static bool stop_at_confirm; /* step returns as soon as the source sent END */

static void step(struct run *r, bool hold_back, bool lose_replies)
{
    static uint8_t buf[70000];
    size_t n = migrate_src_pull(&r->src, buf, 4096);
    if (n && !(hold_back && r->src.phase == MIGRATE_CONFIRM)) {
        r->stream += n;
        migrate_dst_push(&r->dst, buf, n);
    }
    if (stop_at_confirm && r->src.phase == MIGRATE_CONFIRM)
        return;
    size_t k = migrate_dst_pull(&r->dst, buf, sizeof(buf));
    if (k && !lose_replies)
        migrate_src_push(&r->src, buf, k);
}

static void step_until_phase(struct run *r, enum migrate_phase p, bool hold_back)
{
    stop_at_confirm = p == MIGRATE_CONFIRM;
    for (int i = 0; i < 100000 && r->src.phase != p; i++) {
        if (migrate_src_over(&r->src))
            break;
        step(r, hold_back, false);
    }
    stop_at_confirm = false;
    if (r->src.phase != p)
        fail_msg("expected the source to reach %s, it is %s (%s)", migrate_phase_name(p),
                 migrate_phase_name(r->src.phase), r->src.reason);
}

/* Cancelled at the source during pre-copy: the VM runs on unpaused, the
 * CANCEL reaches the destination, which destroys what it built and says
 * why; no memory kept.  Not once the final state is sent. */
static void test_migrate_cancel(void **state)
{
    (void)state;
    struct vm *vm = alpha_boot(GUEST_MEM);
    static struct run r;
    char err[192];

    for (unsigned p = 0; p < 300; p++)
        guest_write(vm, p, 4);
    warm_up(vm);
    uint64_t free_running = pmem_free_bytes();
    run_start(&r, vm, "beta", NULL);
    step_until_phase(&r, MIGRATE_PRECOPY, false);
    for (int i = 0; i < 20; i++)
        step(&r, false, false); /* RAM on its way, a section half sent */
    assert_int_equal(migrate_src_cancel(&r.src, "by the test", err, sizeof(err)), 0);
    assert_int_equal(r.src.phase, MIGRATE_FAILED);
    if (vm->state != VM_RUNNING || vm->paused || vm->dirty.on || vm->migrating)
        fail_msg("expected alpha running at once after the cancel: state %d paused %d logging %d",
                 vm->state, vm->paused, vm->dirty.on);
    assert_non_null(strstr(r.src.reason, "cancelled by the test"));
    for (int i = 0; i < 100 && migrate_src_sending(&r.src); i++)
        step(&r, false, false);
    assert_false(migrate_src_sending(&r.src));
    assert_runs_on(vm, &r, "cancelled");
    if (r.dst.phase != MIGRATE_FAILED || !strstr(r.dst.reason, "the source cancelled the migration "
                                                               "(by the test)"))
        fail_msg("expected the destination to say the source cancelled, it is %s: %s",
                 migrate_phase_name(r.dst.phase), r.dst.reason);
    assert_null(vm_find("beta"));
    assert_int_equal(migrate_src_cancel(&r.src, "again", err, sizeof(err)), ERR_STATE);
    run_free(&r);
    if (pmem_free_bytes() != free_running)
        fail_msg("free memory %llu, expected %llu", (unsigned long long)pmem_free_bytes(),
                 (unsigned long long)free_running);

    /* Cancelled at the destination: refused there, the source runs on. */
    run_start(&r, vm, "beta", NULL);
    step_until_phase(&r, MIGRATE_PRECOPY, false);
    step(&r, false, false);
    assert_int_equal(migrate_dst_cancel(&r.dst, "by the test", err, sizeof(err)), 0);
    assert_null(vm_find("beta"));
    for (int i = 0; i < 100 && !migrate_src_over(&r.src); i++)
        step(&r, false, false);
    assert_runs_on(vm, &r, "cancelled at the destination");
    assert_non_null(strstr(r.src.reason, "cancelled here by the test"));
    run_free(&r);

    /* The final state sent: too late to cancel; the migration completes. */
    run_start(&r, vm, "beta", NULL);
    step_until_phase(&r, MIGRATE_CONFIRM, false);
    assert_int_equal(migrate_src_cancel(&r.src, "late", err, sizeof(err)), ERR_STATE);
    assert_non_null(strstr(err, "final state is sent"));
    step_until_phase(&r, MIGRATE_DONE, false);
    run_free(&r);
}

/* The two generals: once END went, a broken link leaves the VM paused
 * here (outcome unknown), never resumed on its own.  Resolved by the
 * operator: drop when it runs there, resume when it does not. */
static void test_migrate_unknown(void **state)
{
    (void)state;
    struct vm *vm = alpha_boot(GUEST_MEM);
    static struct run r;
    char err[192];

    /* RUNNING lost: the destination runs it; the source must not. */
    run_start(&r, vm, "beta", NULL);
    step_until_phase(&r, MIGRATE_CONFIRM, false);
    for (int i = 0; i < 100; i++)
        step(&r, false, true);
    assert_int_equal(r.dst.phase, MIGRATE_DONE);
    migrate_src_closed(&r.src, "connection closed");
    assert_int_equal(r.src.phase, MIGRATE_UNKNOWN);
    if (vm->state != VM_RUNNING || !vm->paused || !vm->migrating)
        fail_msg("expected alpha paused, still migrating: state %d paused %d migrating %d",
                 vm->state, vm->paused, vm->migrating);
    assert_non_null(strstr(r.src.reason, "connection closed after the VM's final state"));
    assert_int_equal(migrate_src_cancel(&r.src, "x", err, sizeof(err)), ERR_STATE);
    run_free(&r); /* the buffers go; the outcome waits */
    assert_int_equal(r.src.phase, MIGRATE_UNKNOWN);
    assert_true(vm->paused);
    assert_int_equal(migrate_src_resolve(&r.src, false, err, sizeof(err)), 0);
    assert_int_equal(r.src.phase, MIGRATE_DONE);
    assert_int_equal(vm->state, VM_DONE);
    assert_string_equal(vm->reason, "migrated to hostB");
    assert_int_equal(migrate_src_resolve(&r.src, true, err, sizeof(err)), ERR_STATE);
    struct vm *beta = vm_find("beta");
    assert_non_null(beta);
    assert_int_equal(beta->state, VM_RUNNING);
    assert_false(beta->paused);

    /* END lost on the way: the destination destroys what it built; the
     * source cannot know that: paused until resumed by the operator. */
    assert_int_equal(vm_delete(vm, err, sizeof(err)), 0);
    run_start(&r, beta, "alpha", NULL);
    step_until_phase(&r, MIGRATE_CONFIRM, true);
    for (int i = 0; i < 10; i++)
        step(&r, true, false);
    migrate_src_closed(&r.src, "connection closed");
    migrate_dst_closed(&r.dst, "connection closed");
    assert_int_equal(r.dst.phase, MIGRATE_FAILED);
    assert_null(vm_find("alpha"));
    assert_int_equal(r.src.phase, MIGRATE_UNKNOWN);
    assert_true(beta->paused);
    assert_int_equal(migrate_src_resolve(&r.src, true, err, sizeof(err)), 0);
    assert_int_equal(r.src.phase, MIGRATE_FAILED);
    if (beta->state != VM_RUNNING || beta->paused || beta->migrating || beta->dirty.on)
        fail_msg("expected beta running again: state %d paused %d migrating %d", beta->state,
                 beta->paused, beta->migrating);
    run_free(&r);

    /* Silence after END: the timeout leaves the outcome unknown too. */
    struct migrate_params p = {.to = "hostC", .timeout_ms = 1};
    run_start(&r, beta, "alpha", &p);
    step_until_phase(&r, MIGRATE_CONFIRM, true);
    for (int i = 0; i < 100 && !migrate_src_over(&r.src); i++)
        migrate_src_poll(&r.src);
    assert_int_equal(r.src.phase, MIGRATE_UNKNOWN);
    assert_non_null(strstr(r.src.reason, "no reply from the destination"));
    migrate_dst_closed(&r.dst, "connection closed");
    assert_int_equal(migrate_src_resolve(&r.src, true, err, sizeof(err)), 0);
    assert_false(beta->paused);
    run_free(&r);
}

/* --shared-disks: CONFIG's version 2; a disk on a bundle image is not on a
 * shared host disk and travels in the final state all the same: a write
 * made to it after the migration began arrives. */
static void test_migrate_shared_image_disk_travels(void **state)
{
    (void)state;
    size_t size;
    uint8_t *bundle = boot_bundle(&size);
    struct vm *vm = boot_alpha(bundle, size);
    static struct run r;
    struct migrate_params p = {.to = "hostB", .shared_disks = true};
    const void *img;

    assert_int_equal(cpio_find(bundle, size, "alpha/disk0.img", &img, NULL), 0);
    run_start(&r, vm, "beta", &p);
    step_until_phase(&r, MIGRATE_PRECOPY, false);
    memset((uint8_t *)(uintptr_t)img + 512, 0xab, 512); /* the guest writes its disk */
    step_until_phase(&r, MIGRATE_DONE, false);
    struct vm *beta = vm_find("beta");
    assert_non_null(beta);
    struct vm_vdev *d = beta->vdevs[0];
    struct vdev_bulk b;
    uint8_t got[1024];
    assert_true(d->kind->bulk(d, &b));
    assert_int_equal(b.read(b.ctx, 0, got, sizeof(got)), 0);
    assert_memory_equal(got, boot_disk, 512);
    for (int i = 512; i < 1024; i++)
        if (got[i] != 0xab)
            fail_msg("expected the disk's write (0xab) at byte %d on the destination, saw 0x%02x",
                     i, got[i]);
    assert_true(r.src.st.state_bytes > 4096);
    run_free(&r);
    char err[160];
    vm_end(beta, VM_END_STOPPED, "by the test");
    assert_int_equal(vm_delete(beta, err, sizeof(err)), 0);
    assert_int_equal(vm_delete(vm, err, sizeof(err)), 0);
    vm_pack_set_boot_bundle(NULL, 0);
    free(bundle);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrate_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_flip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_refused_early, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_isa_subset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_same_host_nic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_no_converge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sched_throttle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_shared_image_disk_travels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_pack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_boot_vm, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
