/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the SBI dispatcher (core/sbi/), through the real exit
 * path (vcpu_exit with scause 10, environment call from VS-mode) of a VM
 * built on the host the way tests/unit/test_sbi.c builds one: pmem over a
 * heap arena, a 4 MiB guest of 4 vCPUs, the fake arch layer.
 *
 * The input is a program of calls.  Each call is a selector byte (which
 * vCPU, and which extension: one of Vireo's, an unimplemented one or a raw
 * 32/64-bit ID), a function ID, and six arguments, each picked by a
 * selector byte as a small number, an address in or around the guest's
 * RAM, a raw 64-bit value or -1 (missing bytes read as 0).
 *
 * Checked after every call (abort() on failure):
 *  - the returned error (a0) is SBI_SUCCESS or one of the specification's
 *    error codes (-1..-8); for v0.1 legacy calls, a0 is 0 or such a code,
 *    except console_getchar (a byte or -1);
 *  - a call that returns to the guest has stepped sepc over the ecall;
 *  - hart_get_status values are HSM states;
 * and after every input: memory the VM does not own (canary pages taken
 * from the same allocator around it) is untouched, and once the VM is
 * destroyed the allocator's free figure is back where it started. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/console.h"
#include "core/pmem.h"
#include "core/sbi/sbi.h"
#include "core/sched.h"
#include "core/vm.h"
#include "core/vm_life.h"
#include "core/vmm.h"
#include "lib/sbi_spec.h"
#include "tests/unit/fake_arch.h"
#include "tests/unit/host_vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define ARENA_SIZE (32u << 20)
#define GUEST_MEM  (4u << 20)
#define NVCPUS     4
#define MAX_CALLS  256
#define NCANARY    4
#define CANARY     0xa5

static uint8_t *arena;
static uint8_t kernel[8192];
static struct vm_config cfg;
static uint64_t free_at_start;
static uint8_t *canary[NCANARY];

struct input {
    const uint8_t *p;
    size_t left;
};

static uint64_t take(struct input *in, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        v |= (uint64_t)(in->left ? *in->p : 0) << (8 * i);
        if (in->left) {
            in->p++;
            in->left--;
        }
    }
    return v;
}

static void discard(const char *s, size_t n)
{
    (void)s;
    (void)n;
}

static void fail(const char *what, unsigned long eid, unsigned long fid, long got)
{
    fprintf(stderr, "fuzz_sbi: %s (eid %#lx fid %#lx: got %ld)\n", what, eid, fid, got);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[160];

    arena = host_vm_init(ARENA_SIZE, err, sizeof(err));
    if (!arena) {
        fprintf(stderr, "fuzz_sbi: %s\n", err);
        abort();
    }
    console_set_output(discard);
    host_vm_config(&cfg, "f", GUEST_MEM, NVCPUS, kernel, sizeof(kernel));

    /* Memory the VM must never reach: pages of the same allocator. */
    for (int i = 0; i < NCANARY; i++) {
        canary[i] = pmem_alloc_page();
        if (!canary[i])
            abort();
        memset(canary[i], CANARY, 4096);
    }
    free_at_start = pmem_free_bytes();
    return 0;
}

static const unsigned long eids[] = {
    SBI_EXT_BASE, SBI_EXT_TIME, SBI_EXT_IPI,  SBI_EXT_RFENCE,
    SBI_EXT_HSM,  SBI_EXT_SRST, SBI_EXT_DBCN, SBI_EXT_SUSP,
    SBI_EXT_STA,  SBI_EXT_FWFT, SBI_EXT_DBTR, 0x504D55, /* PMU: not implemented */
};
#define NEIDS (sizeof(eids) / sizeof(eids[0]))

/* An argument: small numbers, addresses in and around RAM, raw values. */
static unsigned long pick_arg(struct input *in)
{
    unsigned sel = (unsigned)take(in, 1);
    uint64_t end = VM_RAM_BASE + GUEST_MEM;

    switch (sel & 7) {
    case 0:
        return take(in, 1);
    case 1:
        return VM_RAM_BASE + take(in, 4) % GUEST_MEM;
    case 2:
        return end - take(in, 1); /* the last bytes, straddling the end */
    case 3:
        return end + take(in, 2);
    case 4:
        return (unsigned long)-1 - take(in, 1);
    case 5:
        return (VM_RAM_BASE + take(in, 4) % GUEST_MEM) & ~63UL;
    case 6:
        return 1UL << (take(in, 1) & 63);
    default:
        return take(in, 8);
    }
}

static bool legacy_eid(unsigned long eid)
{
    return eid <= SBI_LEGACY_SHUTDOWN;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size};
    char err[160];
    struct vm *vm;

    if (host_vm_create(&vm, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_sbi: vm_create: %s\n", err);
        abort();
    }
    memset(&fake_arch, 0, sizeof(fake_arch));
    /* The one guest virtual doubleword the fake HLV can read (legacy hart
     * masks): taken from the input too. */
    fake_arch.guest_va = VM_RAM_BASE + 0x1000;
    fake_arch.guest_u64 = take(&in, 1);
    fake_arch.trig_max = 2; /* as QEMU's harts: DBTR is offered */
    /* vCPU 0 booted and runs on hart 0, as after vm_boot. */
    vm->vcpus[0].state = VCPU_RUNNING;
    vm->vcpus[0].hart = 0;

    for (int n = 0; n < MAX_CALLS && in.left && vm->state == VM_RUNNING; n++) {
        unsigned sel = (unsigned)take(&in, 1);
        struct vcpu *v = NULL;
        /* Only a vCPU that runs makes calls: the one named, or the next
         * that is not stopped. */
        for (unsigned k = 0; k < NVCPUS && !v; k++) {
            struct vcpu *t = &vm->vcpus[(sel + k) % NVCPUS];
            if (t->state != VCPU_OFFLINE)
                v = t;
        }
        if (!v)
            break; /* every vCPU stopped itself: nothing can call any more */
        if (v->state == VCPU_BLOCKED) {
            v->state = VCPU_RUNNING; /* woken, and on hart 0 */
            v->hart = 0;
        }
        unsigned kind = (sel >> 2) & 31;
        unsigned long eid, fid;

        if (kind < NEIDS)
            eid = eids[kind];
        else if (kind < NEIDS + 9)
            eid = kind - NEIDS; /* legacy 0x00..0x08 */
        else if (kind < 28)
            eid = take(&in, 4);
        else
            eid = take(&in, 8);
        fid = (sel & 0x80) ? take(&in, 8) : take(&in, 1) & 15;

        uint64_t *x = v->arch.ctx.gpr;
        x[17] = eid;
        x[16] = fid;
        for (int i = 0; i < 6; i++)
            x[10 + i] = pick_arg(&in);
        unsigned long query = x[10];
        uint64_t pc = v->arch.ctx.sepc;
        v->arch.ctx.scause = 10; /* environment call from VS-mode */
        enum exit_action act = vcpu_exit(v);
        long error = (long)x[10], value = (long)x[11];
        /* What the hart loop does when a running vCPU leaves (sched.c). */
        if (v->state == VCPU_RUNNING && vm->state == VM_RUNNING) {
            if (v->stop_requested) {
                v->stop_requested = false;
                v->state = VCPU_OFFLINE;
            } else if (act == EXIT_BLOCK) {
                v->state = VCPU_BLOCKED;
            }
        }

        if (legacy_eid(eid) && eid == SBI_LEGACY_CONSOLE_GETCHAR) {
            if (error < -1 || error > 255)
                fail("console_getchar returned neither a byte nor -1", eid, fid, error);
        } else if ((error > 0 || error < SBI_ERR_ALREADY_STOPPED) &&
                   !(eid == SBI_EXT_FWFT && error == SBI_ERR_DENIED_LOCKED) &&
                   !(eid == SBI_EXT_DBTR &&
                     (error == SBI_ERR_NO_SHMEM || error == SBI_ERR_BAD_RANGE))) {
            /* DENIED_LOCKED (SBI 3.0) is FWFT's alone; NO_SHMEM and
             * BAD_RANGE are DBTR's. */
            fail("returned error is not an SBI error code", eid, fid, error);
        }
        if (act != EXIT_LEAVE && vm->state == VM_RUNNING && v->arch.ctx.sepc != pc + 4)
            fail("the call did not step over the ecall", eid, fid, (long)(v->arch.ctx.sepc - pc));
        if (eid == SBI_EXT_HSM && fid == SBI_HSM_HART_GET_STATUS && error == SBI_SUCCESS &&
            (value < SBI_HSM_STATE_STARTED || value > SBI_HSM_STATE_SUSPENDED))
            fail("hart_get_status returned no HSM state", eid, fid, value);
        if (eid == SBI_EXT_BASE && fid == SBI_BASE_PROBE_EXT && error == SBI_SUCCESS &&
            value != (sbi_ext_find(v, query) ? 1 : 0))
            fail("probe_extension disagrees with the extension table", eid, fid, value);
        /* Whatever the guest asked for, an armed trigger matches in VS/VU
         * only and raises a breakpoint exception. */
        for (unsigned t = 0; t < VCPU_TRIG_MAX; t++) {
            uint64_t t1 = v->arch.trig[t].tdata1;
            if (((v->arch.trig_on >> t) & 1) &&
                ((t1 >> TDATA1_TYPE_SHIFT) != TRIG_TYPE_MCONTROL6 ||
                 (t1 & (TDATA1_DMODE | MCONTROL_M | MCONTROL_S | MCONTROL_U | MCONTROL_ACTION |
                        MCONTROL_CHAIN)) ||
                 !(t1 & (MCONTROL6_VS | MCONTROL6_VU)) || v->arch.trig[t].tdata3))
                fail("a guest's trigger would match outside VS/VU-mode", eid, fid, (long)t);
        }
    }

    /* End it the way Vireo does (off the run queue, then freed). */
    if (vm->state == VM_RUNNING)
        vm_end(vm, VM_END_SHUTDOWN, NULL);
    if (vm->state != VM_DONE)
        fail("the VM did not end", 0, 0, vm->state);
    for (int i = 0; i < NCANARY; i++) {
        for (int j = 0; j < 4096; j++) {
            if (canary[i][j] != CANARY)
                fail("memory outside the VM was written", 0, 0, j);
        }
    }
    if (pmem_free_bytes() != free_at_start)
        fail("the VM's memory did not all come back", 0, 0,
             (long)(pmem_free_bytes() - free_at_start));
    return 0;
}
