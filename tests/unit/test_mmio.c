/* SPDX-License-Identifier: Apache-2.0 */
/* MMIO trap-and-emulate through the real exit path (vcpu_exit on a VM
 * built on the host, host_vm.h), in particular the vCPU's last-access
 * cache (struct mmio_hit, core/mmio.c): a repeated access takes the cached
 * decode and gives the same results as a fresh one; an access that
 * differs in address, htinst or direction is decoded afresh; refused
 * accesses stop the VM and are not kept. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/console.h"
#include "core/pmem.h"
#include "core/vm.h"
#include "tests/unit/fake_arch.h"
#include "tests/unit/host_vm.h"

#define MiB       (1024ULL * 1024)
#define ARENA     (64 * MiB)
#define GUEST_MEM (4 * MiB)

/* 16550 registers (reg-shift 0) and PLIC source 1's priority. */
#define UART_LSR   5
#define UART_SCR   7
#define PLIC_PRIO1 4

/* Transformed loads and stores as htinst holds them (privileged spec,
 * hypervisor chapter): the instruction with rs1 and the offset zeroed;
 * bit 1 clear when the guest's instruction was compressed. */
#define HT_LOAD(funct3, rd)   ((uint64_t)(((rd) << 7) | ((funct3) << 12) | 0x03))
#define HT_STORE(funct3, rs2) ((uint64_t)(((rs2) << 20) | ((funct3) << 12) | 0x23))
#define F3_B                  0
#define F3_W                  2
#define F3_BU                 4

static uint8_t *arena;
static struct vm *vm;
static struct vm_config cfg;
static uint8_t kernel[4096];

static int setup_vm(void **state)
{
    char err[160] = "";

    (void)state;
    arena = host_vm_setup_quiet(ARENA, &cfg, "m", GUEST_MEM, 1, kernel, sizeof(kernel), &vm, err,
                                sizeof(err));
    if (!arena)
        fail_msg("building the VM: %s", err);
    memset(&fake_arch, 0, sizeof(fake_arch));
    return 0;
}

static int teardown_vm(void **state)
{
    (void)state;
    assert_int_equal(host_vm_teardown(vm, arena), 0);
    return 0;
}

/* One MMIO exit of vCPU 0 at gpa; returns what the exit path decided and
 * checks that pc moved past the instruction when it resumed. */
static enum exit_action access(uint64_t gpa, bool store, uint64_t htinst)
{
    struct vcpu *v = &vm->vcpus[0];
    uint64_t pc = 0x80001000;

    v->arch.ctx.scause = store ? CAUSE_STORE_GUEST_PAGE_FAULT : CAUSE_LOAD_GUEST_PAGE_FAULT;
    v->arch.ctx.htval = gpa >> 2;
    v->arch.ctx.stval = 0x1000 | (gpa & 3);
    v->arch.ctx.htinst = htinst;
    v->arch.ctx.sepc = pc;
    enum exit_action act = vcpu_exit(v);
    if (act == EXIT_RESUME)
        assert_int_equal(v->arch.ctx.sepc, pc + ((htinst & 2) ? 4 : 2));
    return act;
}

static void test_hit_same_results(void **state)
{
    struct vcpu *v = &vm->vcpus[0];
    uint64_t *x = v->arch.ctx.gpr;
    uint64_t scr = VM_UART_BASE + UART_SCR;

    (void)state;
    /* sb a2 to SCR: a miss, then kept. */
    x[12] = 0x1285;
    assert_int_equal(access(scr, true, HT_STORE(F3_B, 12)), EXIT_RESUME);
    assert_int_equal(v->mmio_hit.gpa, scr);
    /* The same store again (a hit) sends the register's value now. */
    x[12] = 0x7f;
    assert_int_equal(access(scr, true, HT_STORE(F3_B, 12)), EXIT_RESUME);
    assert_int_equal(vm->uart.scr, 0x7f);
    x[12] = 0x85;
    assert_int_equal(access(scr, true, HT_STORE(F3_B, 12)), EXIT_RESUME);
    assert_int_equal(vm->uart.scr, 0x85);

    /* lb and lbu of the same address: different htinst, different
     * results, each right on a miss and on the hit that follows. */
    for (int round = 0; round < 2; round++) {
        x[28] = 0;
        assert_int_equal(access(scr, false, HT_LOAD(F3_B, 28)), EXIT_RESUME);
        assert_int_equal(x[28], 0xffffffffffffff85ULL);
        x[28] = 0;
        assert_int_equal(access(scr, false, HT_LOAD(F3_B, 28)), EXIT_RESUME);
        assert_int_equal(x[28], 0xffffffffffffff85ULL);
        x[28] = 0;
        assert_int_equal(access(scr, false, HT_LOAD(F3_BU, 28)), EXIT_RESUME);
        assert_int_equal(x[28], 0x85);
        x[28] = 0;
        assert_int_equal(access(scr, false, HT_LOAD(F3_BU, 28)), EXIT_RESUME);
        assert_int_equal(x[28], 0x85);
    }
    /* A compressed encoding of the same load (htinst bit 1 clear) steps
     * pc by 2 (checked in access()), hit or not. */
    assert_int_equal(access(scr, false, HT_LOAD(F3_BU, 28) & ~2ULL), EXIT_RESUME);
    assert_int_equal(access(scr, false, HT_LOAD(F3_BU, 28) & ~2ULL), EXIT_RESUME);
    assert_int_equal(x[28], 0x85);
    /* Another register of the same device (LSR: transmitter empty). */
    assert_int_equal(access(VM_UART_BASE + UART_LSR, false, HT_LOAD(F3_BU, 28)), EXIT_RESUME);
    assert_int_equal(x[28] & 0x60, 0x60);
    assert_int_equal(v->mmio_hit.gpa, VM_UART_BASE + UART_LSR);
}

static void test_hit_live_register(void **state)
{
    struct vcpu *v = &vm->vcpus[0];
    uint64_t *x = v->arch.ctx.gpr;
    uint64_t prio = VM_PLIC_BASE + PLIC_PRIO1;

    (void)state;
    x[5] = 3;
    assert_int_equal(access(prio, true, HT_STORE(F3_W, 5)), EXIT_RESUME);
    /* lw s1 (x9): the fast path must reload the registers it keeps live,
     * on the miss and on the hit. */
    for (int i = 0; i < 2; i++) {
        v->arch.reload_all = 0;
        x[9] = 0;
        assert_int_equal(access(prio, false, HT_LOAD(F3_W, 9)), EXIT_RESUME);
        assert_int_equal(x[9], 3);
        assert_int_equal(v->arch.reload_all, 1);
    }
    /* lw t0 (x5): no reload needed. */
    for (int i = 0; i < 2; i++) {
        v->arch.reload_all = 0;
        assert_int_equal(access(prio, false, HT_LOAD(F3_W, 5)), EXIT_RESUME);
        assert_int_equal(v->arch.reload_all, 0);
    }
    /* A load into x0 reads the device and writes nothing. */
    assert_int_equal(access(prio, false, HT_LOAD(F3_W, 0)), EXIT_RESUME);
    assert_int_equal(access(prio, false, HT_LOAD(F3_W, 0)), EXIT_RESUME);
    assert_int_equal(x[0], 0);
}

static void test_direction_mismatch_not_a_hit(void **state)
{
    uint64_t scr = VM_UART_BASE + UART_SCR;

    (void)state;
    assert_int_equal(access(scr, false, HT_LOAD(F3_BU, 28)), EXIT_RESUME);
    /* The same htinst on a store fault: not the cached access; decoded,
     * it does not match its fault, and the VM stops. */
    assert_int_equal(access(scr, true, HT_LOAD(F3_BU, 28)), EXIT_LEAVE);
    assert_int_not_equal(vm->state, VM_RUNNING);
    assert_non_null(strstr(vm->reason, "does not match its fault"));
}

static void test_refused_not_kept(void **state)
{
    struct vcpu *v = &vm->vcpus[0];

    (void)state;
    /* A misaligned lw of the PLIC: stopped, and not kept as a hit. */
    assert_int_equal(access(VM_PLIC_BASE + 2, false, HT_LOAD(F3_W, 5)), EXIT_LEAVE);
    assert_int_equal(v->mmio_hit.gpa, MMIO_HIT_NONE);
    assert_non_null(strstr(vm->reason, "misaligned"));
}

static void test_device_refusal(void **state)
{
    (void)state;
    /* lw of the UART (byte registers only): the exit path's checks pass,
     * the model refuses; the reason names the fault's address. */
    assert_int_equal(access(VM_UART_BASE + 4, false, HT_LOAD(F3_W, 5)), EXIT_LEAVE);
    assert_non_null(strstr(vm->reason, "MMIO load the device does not support"));
    assert_non_null(strstr(vm->reason, "gpa 0x10000004"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hit_same_results, setup_vm, teardown_vm),
        cmocka_unit_test_setup_teardown(test_hit_live_register, setup_vm, teardown_vm),
        cmocka_unit_test_setup_teardown(test_direction_mismatch_not_a_hit, setup_vm, teardown_vm),
        cmocka_unit_test_setup_teardown(test_refused_not_kept, setup_vm, teardown_vm),
        cmocka_unit_test_setup_teardown(test_device_refusal, setup_vm, teardown_vm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
