/* SPDX-License-Identifier: Apache-2.0 */
/* The debugger's side of a VM (core/vm_debug.c) and the VS-stage walk it
 * reads guest memory through (core/gva.c), on a VM built on the host:
 * translations exactly as the privileged specification's Sv39/48/57 (and
 * every way a PTE can be malformed), next-pc decoding for single steps,
 * software breakpoints patched and restored byte for byte, the stop and
 * resume protocol with the scheduler's holds, hardware triggers handed to
 * the vCPUs, and detach leaving the guest as it was. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/guest_mem.h"
#include "core/gva.h"
#include "core/sched.h"
#include "core/snapshot.h"
#include "core/vm.h"
#include "core/vm_debug.h"
#include "lib/err.h"
#include "tests/unit/fake_arch.h"
#include "tests/unit/host_vm.h"

#define RAM_SIZE  (64u << 20)
#define GUEST_MEM (4u << 20)
#define BASE      0x80000000ull
#define PT        (BASE + 0x100000) /* page tables from here, 4 KiB each */

static uint8_t *ram;
static uint8_t kernel[8192];
static struct vm_config cfg;
static struct vm *vm;
static uint64_t next_table;

static int setup(void **state)
{
    (void)state;
    char err[160] = "";

    ram = host_vm_setup(RAM_SIZE, &cfg, "t", GUEST_MEM, 2, kernel, sizeof(kernel), &vm, err,
                        sizeof(err));
    if (!ram)
        fail_msg("building the VM: %s", err);
    memset(&fake_arch, 0, sizeof(fake_arch));
    next_table = PT;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(ram);
    return 0;
}

/* ---- gva ------------------------------------------------------------------ */

#define V (1ull << 0)
#define R (1ull << 1)
#define W (1ull << 2)
#define X (1ull << 3)
#define N (1ull << 63)

static uint64_t table_new(void)
{
    static const uint8_t zero[4096];
    uint64_t t = next_table;
    next_table += 4096;
    assert_int_equal(gpa_write(vm, t, zero, sizeof(zero)), 0);
    return t;
}

static void pte_set(uint64_t table, unsigned idx, uint64_t pte)
{
    assert_int_equal(gpa_write(vm, table + idx * 8, &pte, 8), 0);
}

static uint64_t pte_to(uint64_t pa, uint64_t flags)
{
    return (pa >> 12) << 10 | flags;
}

static uint64_t satp(unsigned mode, uint64_t root)
{
    return (uint64_t)mode << 60 | root >> 12;
}

static void expect_gpa(uint64_t s, uint64_t va, uint64_t want, uint64_t want_left)
{
    uint64_t gpa = 0, left = 0;
    int rc = gva_translate(vm, s, va, &gpa, &left);
    if (rc != 0 || gpa != want || left != want_left)
        fail_msg("va %#lx: expected gpa %#lx (%lu bytes to the page end), got rc %d gpa %#lx left "
                 "%lu",
                 (unsigned long)va, (unsigned long)want, (unsigned long)want_left, rc,
                 (unsigned long)gpa, (unsigned long)left);
}

static void expect_fault(uint64_t s, uint64_t va, int want)
{
    uint64_t gpa = 0, left = 0;
    int rc = gva_translate(vm, s, va, &gpa, &left);
    if (rc != want)
        fail_msg("va %#lx: expected error %d, got %d (gpa %#lx)", (unsigned long)va, want, rc,
                 (unsigned long)gpa);
}

static void test_gva_sv39(void **state)
{
    (void)state;
    uint64_t root = table_new(), l1 = table_new(), l0 = table_new();
    uint64_t s = satp(GVA_MODE_SV39, root);

    /* A 4 KiB page: va 0x40201000 -> 0x80003000. */
    pte_set(root, 1, pte_to(l1, V));
    pte_set(l1, 1, pte_to(l0, V));
    pte_set(l0, 1, pte_to(BASE + 0x3000, V | R | W | X));
    expect_gpa(s, 0x40201000, BASE + 0x3000, 4096);
    expect_gpa(s, 0x40201ffa, BASE + 0x3ffa, 6);
    /* Permissions are not the debugger's concern: execute-only, user. */
    pte_set(l0, 2, pte_to(BASE + 0x5000, V | X | (1u << 4)));
    expect_gpa(s, 0x40202010, BASE + 0x5010, 4096 - 0x10);
    /* A 2 MiB megapage, and one misaligned. */
    pte_set(l1, 2, pte_to(BASE + 0x200000, V | R));
    expect_gpa(s, 0x40400000 + 0x12345, BASE + 0x200000 + 0x12345, 4096 - 0x345);
    pte_set(l1, 3, pte_to(BASE + 0x201000, V | R));
    expect_fault(s, 0x40600000, ERR_RANGE);
    /* A 1 GiB gigapage at 2 GiB (the guest's RAM base). */
    pte_set(root, 2, pte_to(BASE, V | R | X));
    expect_gpa(s, 0x80000000 + 0x1234, BASE + 0x1234, 4096 - 0x234);
    /* The high half: va bit 38 set, sign-extended. */
    pte_set(root, 511, pte_to(BASE, V | R));
    expect_gpa(s, 0xffffffffc0000008ull, BASE + 8, 4088);
    /* Not sign-extended: a page fault for any access. */
    expect_fault(s, 0x0000008000000000ull, ERR_RANGE);
    expect_fault(s, 0x7fffffffc0000000ull, ERR_RANGE);
    /* Invalid, W without R, reserved bits, a pointer at the last level,
     * N on a non-leaf. */
    expect_fault(s, 0x40203000, ERR_RANGE); /* l0[3] is 0 */
    pte_set(l0, 4, pte_to(BASE, V | W));
    expect_fault(s, 0x40204000, ERR_RANGE);
    pte_set(l0, 5, pte_to(BASE, V | R) | (1ull << 54));
    expect_fault(s, 0x40205000, ERR_RANGE);
    pte_set(l0, 6, pte_to(BASE, V));
    expect_fault(s, 0x40206000, ERR_RANGE);
    pte_set(root, 3, pte_to(l1, V) | N);
    expect_fault(s, 0xc0201000, ERR_RANGE);
    /* Svnapot: a 64 KiB page (ppn[3:0] = 1000), va bits 15:12 pass through. */
    pte_set(l0, 16 + 5, pte_to(BASE + 0x10000, V | R) | (0x8ull << 10) | N);
    expect_gpa(s, 0x40215678, BASE + 0x15678, 4096 - 0x678);
    pte_set(l0, 7, pte_to(BASE + 0x10000, V | R) | (0x4ull << 10) | N);
    expect_fault(s, 0x40207000, ERR_RANGE);
    /* A page table outside the VM's RAM. */
    pte_set(root, 4, pte_to(0x1000, V));
    expect_fault(s, 0x100000000ull, ERR_RANGE);
    expect_fault(satp(GVA_MODE_SV39, 0x10000000), 0x1000, ERR_RANGE);
}

static void test_gva_modes(void **state)
{
    (void)state;
    /* Bare: va is the physical address. */
    expect_gpa(0, BASE + 0x123, BASE + 0x123, 4096 - 0x123);
    expect_fault(satp(11, PT), 0, ERR_NOTSUP);
    expect_fault(satp(1, PT), 0, ERR_NOTSUP);

    /* Sv48: four levels; Sv57: five. */
    uint64_t t[5];
    for (unsigned i = 0; i < 5; i++)
        t[i] = table_new();
    uint64_t va48 = 0x0000123456789000ull & ((1ull << 47) - 1);
    pte_set(t[0], (va48 >> 39) & 511, pte_to(t[1], V));
    pte_set(t[1], (va48 >> 30) & 511, pte_to(t[2], V));
    pte_set(t[2], (va48 >> 21) & 511, pte_to(t[3], V));
    pte_set(t[3], (va48 >> 12) & 511, pte_to(BASE + 0x7000, V | R));
    expect_gpa(satp(GVA_MODE_SV48, t[0]), va48 + 0x10, BASE + 0x7010, 4096 - 0x10);
    expect_fault(satp(GVA_MODE_SV48, t[0]), 1ull << 47, ERR_RANGE); /* not canonical */

    uint64_t r57 = table_new();
    uint64_t va57 = 0x00ff000000000000ull | va48;
    pte_set(r57, (va57 >> 48) & 511, pte_to(t[0], V));
    pte_set(t[0], (va57 >> 39) & 511, pte_to(t[1], V));
    expect_gpa(satp(GVA_MODE_SV57, r57), va57, BASE + 0x7000, 4096);
}

/* ---- next pcs --------------------------------------------------------------- */

static void expect_next(uint32_t insn, uint64_t pc, const uint64_t *gpr, uint64_t vsepc, bool vs,
                        unsigned n, uint64_t a, uint64_t b)
{
    uint64_t out[3] = {0};
    unsigned got = vm_debug_next_pcs(insn, pc, gpr, vsepc, vs, out);
    if (got != n || out[0] != a || (n > 1 && out[1] != b))
        fail_msg("insn %#x at %#lx: expected %u targets %#lx %#lx, got %u: %#lx %#lx", insn,
                 (unsigned long)pc, n, (unsigned long)a, (unsigned long)b, got,
                 (unsigned long)out[0], (unsigned long)out[1]);
}

static void test_next_pcs(void **state)
{
    (void)state;
    uint64_t gpr[32] = {0};
    uint64_t pc = 0x80001000;
    gpr[1] = 0x80002001; /* ra, odd: jalr clears bit 0 */
    gpr[10] = 0x80003000;

    expect_next(0x00000013, pc, gpr, 0, true, 1, pc + 4, 0);              /* addi x0, x0, 0 */
    expect_next(0x0100006f, pc, gpr, 0, true, 1, pc + 16, 0);             /* jal x0, +16 */
    expect_next(0xff1ff0ef, pc, gpr, 0, true, 1, pc - 16, 0);             /* jal ra, -16 */
    expect_next(0x00008067, pc, gpr, 0, true, 1, 0x80002000, 0);          /* jalr x0, 0(ra) */
    expect_next(0x00850067, pc, gpr, 0, true, 1, 0x80003008, 0);          /* jalr x0, 8(a0) */
    expect_next(0x00000067, pc, gpr, 0, true, 1, 0, 0);                   /* jalr x0, 0(x0) */
    expect_next(0x00050463, pc, gpr, 0, true, 2, pc + 4, pc + 8);         /* beqz a0, +8 */
    expect_next(0xfe050ee3, pc, gpr, 0, true, 2, pc + 4, pc - 4);         /* beqz a0, -4 */
    expect_next(0x10200073, pc, gpr, 0x80009000, true, 1, 0x80009000, 0); /* sret from VS */
    expect_next(0x10200073, pc, gpr, 0x80009000, false, 1, pc + 4, 0);    /* VU: it traps */
    expect_next(0x00000073, pc, gpr, 0, true, 1, pc + 4, 0);              /* ecall */
    expect_next(0x0001, pc, gpr, 0, true, 1, pc + 2, 0);                  /* c.nop */
    expect_next(0xa801, pc, gpr, 0, true, 1, pc + 16, 0);                 /* c.j +16 */
    expect_next(0xbfc5, pc, gpr, 0, true, 1, pc - 16, 0);                 /* c.j -16 */
    expect_next(0xc111, pc, gpr, 0, true, 2, pc + 2, pc + 4);             /* c.beqz a0, +4 */
    expect_next(0xfd65, pc, gpr, 0, true, 2, pc + 2, pc - 8);             /* c.bnez a0, -8 */
    expect_next(0x8082, pc, gpr, 0, true, 1, 0x80002000, 0);              /* c.jr ra (ret) */
    expect_next(0x9502, pc, gpr, 0, true, 1, 0x80003000, 0);              /* c.jalr a0 */
    expect_next(0x9002, pc, gpr, 0, true, 1, pc + 2, 0); /* c.ebreak: the trap entry covers it */
}

/* ---- breakpoints, stops, steps ------------------------------------------------- */

static void stop_now(void)
{
    enum vm_debug_why why;
    unsigned vcpu;
    uint64_t addr;

    vm_debug_stop(vm);
    assert_true(vm_debug_poll(vm, &why, &vcpu, &addr));
    assert_int_equal(why, VM_DEBUG_INTERRUPT);
}

static uint32_t read32(uint64_t gpa)
{
    uint32_t v = 0;
    assert_int_equal(gpa_read(vm, gpa, &v, 4), 0);
    return v;
}

static void test_swbreak(void **state)
{
    (void)state;
    uint64_t code = BASE + 0x4000;
    const uint32_t text[4] = {0x00a00513, 0x00b00593, 0x00c00613, 0x00d00693};
    uint32_t back[4];

    assert_int_equal(gpa_write(vm, code, text, sizeof(text)), 0);
    /* Refused unless attached and stopped. */
    assert_int_equal(vm_debug_bp_insert(vm, 0, VM_DEBUG_BP_SW, code, 4), ERR_STATE);
    assert_int_equal(vm_debug_attach(vm), 0);
    assert_int_equal(vm_debug_attach(vm), ERR_STATE);
    assert_int_equal(vm_debug_resume(vm, -1, false), ERR_STATE);
    stop_now();
    for (unsigned i = 0; i < vm->nvcpus; i++)
        assert_true(vm->vcpus[i].hold & VCPU_HOLD_DEBUG);

    /* ebreak and c.ebreak in memory; reads show the instructions. */
    assert_int_equal(vm_debug_bp_insert(vm, 0, VM_DEBUG_BP_SW, code + 4, 4), 0);
    assert_int_equal(vm_debug_bp_insert(vm, 0, VM_DEBUG_BP_SW, code + 8, 2), 0);
    assert_int_equal(vm_debug_bp_insert(vm, 0, VM_DEBUG_BP_SW, code + 8, 2), 0); /* again: fine */
    assert_int_equal(vm_debug_bp_insert(vm, 0, VM_DEBUG_BP_SW, code, 3), ERR_INVAL);
    assert_int_equal(vm_debug_bp_insert(vm, 0, VM_DEBUG_BP_SW, 0x1000, 4), ERR_RANGE);
    assert_int_equal(read32(code + 4), 0x00100073);
    assert_int_equal(read32(code + 8) & 0xffff, 0x9002);
    assert_int_equal(vm_debug_mem_read(vm, 0, false, code, back, sizeof(back)), 0);
    assert_memory_equal(back, text, sizeof(text));
    /* A write across a breakpoint changes what it restores. */
    uint32_t patch = 0x00e00713;
    assert_int_equal(vm_debug_mem_write(vm, 0, false, code + 4, &patch, 4), 0);
    assert_int_equal(read32(code + 4), 0x00100073);
    assert_int_equal(vm_debug_mem_read(vm, 0, false, code + 4, back, 4), 0);
    assert_int_equal(back[0], patch);
    /* A write that is partly outside RAM changes nothing. */
    assert_int_equal(vm_debug_mem_write(vm, 0, true, BASE + GUEST_MEM - 2, &patch, 4), ERR_RANGE);

    /* A vCPU reaching one: the stop names it; resume lets all go. */
    assert_int_equal(vm_debug_resume(vm, -1, false), 0);
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        assert_false(vm->vcpus[i].hold & VCPU_HOLD_DEBUG);
        assert_false(vm->vcpus[i].arch.hedeleg & (1ull << CAUSE_BREAKPOINT));
    }
    struct vcpu *v1 = &vm->vcpus[1];
    v1->arch.ctx.sepc = code + 8;
    assert_int_equal(vm_debug_breakpoint(v1), EXIT_YIELD);
    /* vCPU 0 at the other one meanwhile: it stays there, no second stop. */
    vm->vcpus[0].arch.ctx.sepc = code + 4;
    assert_int_equal(vm_debug_breakpoint(&vm->vcpus[0]), EXIT_YIELD);
    enum vm_debug_why why;
    unsigned who;
    uint64_t addr;
    assert_true(vm_debug_poll(vm, &why, &who, &addr));
    assert_int_equal(why, VM_DEBUG_SWBREAK);
    assert_int_equal(who, 1);
    assert_false(vm_debug_poll(vm, &why, &who, &addr));

    /* An ebreak that is not the debugger's goes to the guest. */
    assert_int_equal(vm_debug_resume(vm, -1, false), 0);
    vm->vcpus[0].arch.ctx.sepc = code + 12;
    vm->vcpus[0].arch.ctx.stval = code + 12;
    assert_int_equal(vm_debug_breakpoint(&vm->vcpus[0]), EXIT_RESUME);
    assert_int_equal(fake_arch.injections, 1);
    assert_int_equal(fake_arch.injected_cause, CAUSE_BREAKPOINT);
    stop_now();

    /* Removing restores exactly; the guest's own overwrite is left. */
    assert_int_equal(vm_debug_bp_remove(vm, VM_DEBUG_BP_SW, code + 4, 4), 0);
    assert_int_equal(read32(code + 4), patch);
    uint16_t mine = 0x4501;
    assert_int_equal(gpa_write(vm, code + 8, &mine, 2), 0);
    assert_int_equal(vm_debug_bp_remove(vm, VM_DEBUG_BP_SW, code + 8, 2), 0);
    assert_int_equal(read32(code + 8) & 0xffff, mine);
    assert_int_equal(vm_debug_bp_remove(vm, VM_DEBUG_BP_SW, code + 8, 2), 0); /* not there: fine */
    vm_debug_detach(vm);
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        assert_false(vm->vcpus[i].hold & VCPU_HOLD_DEBUG);
        assert_true(vm->vcpus[i].arch.hedeleg & (1ull << CAUSE_BREAKPOINT));
    }
}

static void test_step(void **state)
{
    (void)state;
    uint64_t code = BASE + 0x6000, tvec = BASE + 0x7000;
    const uint32_t text[3] = {0x00050463, 0x00000013, 0x00000013}; /* beqz a0, +8; nop; nop */
    const uint32_t handler = 0x00000013;
    enum vm_debug_why why;
    unsigned who;
    uint64_t addr;

    assert_int_equal(gpa_write(vm, code, text, sizeof(text)), 0);
    assert_int_equal(gpa_write(vm, tvec, &handler, 4), 0);
    assert_int_equal(vm_debug_attach(vm), 0);
    stop_now();
    struct vcpu *v = &vm->vcpus[1];
    v->arch.ctx.sepc = code;
    v->arch.ctx.sstatus |= SSTATUS_SPP;
    v->arch.vstvec = tvec;
    assert_int_equal(vm_debug_resume(vm, 1, true), 0);
    /* Only vCPU 1 runs. */
    assert_true(vm->vcpus[0].hold & VCPU_HOLD_DEBUG);
    assert_false(v->hold & VCPU_HOLD_DEBUG);
    /* Both ways of the branch and the trap entry carry c.ebreak (the VM has C). */
    assert_int_equal(read32(code + 4) & 0xffff, 0x9002);
    assert_int_equal(read32(code + 8) & 0xffff, 0x9002);
    assert_int_equal(read32(tvec) & 0xffff, 0x9002);
    /* ... which the debugger does not show. */
    uint32_t seen[3];
    assert_int_equal(vm_debug_mem_read(vm, 1, false, code, seen, sizeof(seen)), 0);
    assert_memory_equal(seen, text, sizeof(text));
    /* vCPU 1 lands on the taken side: a step, and everything restored. */
    v->arch.ctx.sepc = code + 8;
    assert_int_equal(vm_debug_breakpoint(v), EXIT_YIELD);
    assert_true(vm_debug_poll(vm, &why, &who, &addr));
    assert_int_equal(why, VM_DEBUG_STEP);
    assert_int_equal(who, 1);
    assert_int_equal(read32(code + 4), text[1]);
    assert_int_equal(read32(code + 8), text[2]);
    assert_int_equal(read32(tvec), handler);
    /* A step whose pc is not mapped: refused, nothing changes. */
    v->arch.ctx.sepc = 0x1000;
    assert_int_equal(vm_debug_resume(vm, 1, true), ERR_RANGE);
    assert_int_equal(vm_debug_resume(vm, 5, false), ERR_INVAL);
    assert_int_equal(vm_debug_resume(vm, -1, true), ERR_INVAL);
    vm_debug_detach(vm);
}

static void test_hw(void **state)
{
    (void)state;
    enum vm_debug_why why;
    unsigned who;
    uint64_t addr;

    assert_int_equal(vm_debug_attach(vm), 0);
    stop_now();
    /* No triggers on this host. */
    fake_arch.trig_max = 0;
    assert_int_equal(vm_debug_bp_insert(vm, 0, VM_DEBUG_BP_WRITE, BASE + 0x100, 8), ERR_NOTSUP);
    fake_arch.trig_max = 2;
    assert_int_equal(vm_debug_bp_insert(vm, 0, VM_DEBUG_BP_WRITE, BASE + 0x104, 4), 0);
    assert_int_equal(vm_debug_bp_insert(vm, 0, VM_DEBUG_BP_HW, BASE + 0x2000, 2), 0);
    assert_int_equal(vm_debug_bp_insert(vm, 0, VM_DEBUG_BP_READ, BASE + 0x200, 1), ERR_NOSPC);
    assert_int_equal(vm_debug_resume(vm, -1, false), 0);
    /* Every vCPU carries both in the debugger's slots: mcontrol6, VS/VU. */
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        const struct vcpu_arch *a = &vm->vcpus[i].arch;
        unsigned on = 0;
        for (unsigned s = VCPU_TRIG_MAX; s < VCPU_TRIG_SLOTS; s++) {
            if (!((a->trig_on >> s) & 1))
                continue;
            on++;
            uint64_t t1 = a->trig[s].tdata1;
            assert_int_equal(t1 >> 60, 6);
            assert_true(t1 & MCONTROL6_VS);
            assert_true(t1 & MCONTROL6_VU);
            if (t1 & MCONTROL_STORE) /* 4 bytes at 0x104: NAPOT 0x104 | 1 */
                assert_true(a->trig[s].tdata2 == ((BASE + 0x104) | 1));
            else
                assert_true((t1 & MCONTROL_EXECUTE) && a->trig[s].tdata2 == BASE + 0x2000);
        }
        assert_int_equal(on, 2);
    }
    /* A store hit: the address from stval. */
    struct vcpu *v = &vm->vcpus[0];
    v->arch.ctx.sepc = BASE + 0x3000;
    v->arch.ctx.stval = BASE + 0x106;
    assert_int_equal(vm_debug_breakpoint(v), EXIT_YIELD);
    assert_true(vm_debug_poll(vm, &why, &who, &addr));
    assert_int_equal(why, VM_DEBUG_WATCH);
    assert_true(addr == BASE + 0x106);
    assert_int_equal(vm_debug_bp_remove(vm, VM_DEBUG_BP_WRITE, BASE + 0x104, 4), 0);
    assert_int_equal(vm_debug_resume(vm, -1, false), 0);
    v->arch.ctx.sepc = BASE + 0x2000;
    assert_int_equal(vm_debug_breakpoint(v), EXIT_YIELD);
    assert_true(vm_debug_poll(vm, &why, &who, &addr));
    assert_int_equal(why, VM_DEBUG_HWBREAK);
    /* Detach takes the triggers away. */
    vm_debug_detach(vm);
    for (unsigned i = 0; i < vm->nvcpus; i++)
        assert_int_equal(vm->vcpus[i].arch.trig_on >> VCPU_TRIG_MAX, 0);
}

/* A snapshot would carry the debugger's ebreaks into a VM without it. */
static void test_snapshot_refused(void **state)
{
    (void)state;
    struct snapshot_stats st;
    char err[200] = "";

    assert_int_equal(vm_debug_attach(vm), 0);
    sched_pause_vm(vm, true);
    assert_int_equal(snapshot_mem_save(vm, &st, NULL, err, sizeof(err)), ERR_STATE);
    if (!strstr(err, "debugger attached"))
        fail_msg("expected the refusal to name the debugger, got \"%s\"", err);
    vm_debug_detach(vm);
    assert_int_equal(snapshot_mem_save(vm, &st, NULL, err, sizeof(err)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gva_sv39, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gva_modes, setup, teardown),
        cmocka_unit_test(test_next_pcs),
        cmocka_unit_test_setup_teardown(test_swbreak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
