/* SPDX-License-Identifier: Apache-2.0 */
/* SBI for guests and the exit table, driven through vcpu_exit() on a real
 * VM built on the host (fake RAM, fake arch): every argument check returns
 * the specification's error code, and nothing a guest passes reaches
 * memory outside its RAM. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/console.h"
#include "core/hart.h"
#include "core/pmem.h"
#include "core/sched.h"
#include "core/vm.h"
#include "core/vmm.h"
#include "lib/sbi_spec.h"
#include "tests/unit/fake_arch.h"
#include "tests/unit/host_vm.h"

#define RAM_SIZE  (64u << 20)
#define GUEST_MEM (4u << 20)
#define NVCPUS    4

static uint8_t *ram;
static uint8_t kernel[8192];
static struct vm_config cfg;
static struct vm *vm;
static char out[8192];
static size_t outlen;

static void capture(const char *s, size_t n)
{
    if (outlen + n < sizeof(out)) {
        memcpy(out + outlen, s, n);
        outlen += n;
        out[outlen] = '\0';
    }
}

static int setup(void **state)
{
    (void)state;
    char err[160] = "";

    ram = host_vm_setup(RAM_SIZE, &cfg, "t", GUEST_MEM, NVCPUS, kernel, sizeof(kernel), &vm, err,
                        sizeof(err));
    if (!ram)
        fail_msg("building the VM: %s", err);
    outlen = 0;
    out[0] = '\0';
    console_set_output(capture);
    memset(&fake_arch, 0, sizeof(fake_arch));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(host_vm_teardown(vm, ram), 0);
    return 0;
}

struct ret {
    long error, value;
    enum exit_action act;
};

static struct ret call(struct vcpu *v, unsigned long eid, unsigned long fid, unsigned long a0,
                       unsigned long a1, unsigned long a2)
{
    uint64_t *x = v->arch.ctx.gpr;
    uint64_t pc = v->arch.ctx.sepc;

    x[17] = eid;
    x[16] = fid;
    x[10] = a0;
    x[11] = a1;
    x[12] = a2;
    v->arch.ctx.scause = 10; /* environment call from VS-mode */
    struct ret r;
    r.act = vcpu_exit(v);
    r.error = (long)x[10];
    r.value = (long)x[11];
    if (r.act != EXIT_LEAVE) /* a VM that ended (or rebooted) has no next instruction */
        assert_int_equal(v->arch.ctx.sepc, pc + 4);
    return r;
}

static struct vcpu *vc(unsigned i)
{
    return &vm->vcpus[i];
}

static void test_base(void **state)
{
    (void)state;
    struct ret r = call(vc(0), SBI_EXT_BASE, SBI_BASE_GET_SPEC_VERSION, 0, 0, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, 0x03000000);
    r = call(vc(0), SBI_EXT_BASE, SBI_BASE_GET_IMPL_ID, 0, 0, 0);
    assert_true(r.value > 11); /* not one of the specification's assigned IDs */
    const unsigned long present[] = {SBI_EXT_BASE, SBI_EXT_TIME, SBI_EXT_IPI,  SBI_EXT_RFENCE,
                                     SBI_EXT_HSM,  SBI_EXT_SRST, SBI_EXT_DBCN, SBI_EXT_SUSP,
                                     SBI_EXT_STA,  0x01,         0x08};
    for (size_t i = 0; i < sizeof(present) / sizeof(present[0]); i++) {
        r = call(vc(0), SBI_EXT_BASE, SBI_BASE_PROBE_EXT, present[i], 0, 0);
        assert_int_equal(r.error, SBI_SUCCESS);
        if (r.value != 1)
            fail_msg("probe of %#lx: expected 1, got %ld", present[i], r.value);
    }
    /* PMU (0x504D55) is not implemented: probe says so. */
    const unsigned long absent[] = {0x504D55, 0x12345678, 0x11, 0x20};
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        r = call(vc(0), SBI_EXT_BASE, SBI_BASE_PROBE_EXT, absent[i], 0, 0);
        assert_int_equal(r.error, SBI_SUCCESS);
        assert_int_equal(r.value, 0);
    }
    r = call(vc(0), SBI_EXT_BASE, 7, 0, 0, 0);
    assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
    r = call(vc(0), 0x12345678, 0, 0, 0, 0);
    assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
    r = call(vc(0), SBI_EXT_HSM, 99, 0, 0, 0);
    assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
}

static void test_hsm(void **state)
{
    (void)state;
    uint64_t ram0 = VM_RAM_BASE, end = VM_RAM_BASE + GUEST_MEM;

    struct ret r = call(vc(0), SBI_EXT_HSM, SBI_HSM_HART_GET_STATUS, 1, 0, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, SBI_HSM_STATE_STOPPED);
    r = call(vc(0), SBI_EXT_HSM, SBI_HSM_HART_GET_STATUS, NVCPUS, 0, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_HSM, SBI_HSM_HART_START, NVCPUS, ram0, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_HSM, SBI_HSM_HART_START, (unsigned long)-1, ram0, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_HSM, SBI_HSM_HART_START, 1, 0x1000, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_ADDRESS);
    r = call(vc(0), SBI_EXT_HSM, SBI_HSM_HART_START, 1, end, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_ADDRESS);
    r = call(vc(0), SBI_EXT_HSM, SBI_HSM_HART_START, 1, end - 4, 0x1234);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(vc(1)->arch.ctx.sepc, end - 4);
    assert_int_equal(vc(1)->arch.ctx.gpr[10], 1);
    assert_int_equal(vc(1)->arch.ctx.gpr[11], 0x1234);
    r = call(vc(0), SBI_EXT_HSM, SBI_HSM_HART_GET_STATUS, 1, 0, 0);
    assert_int_equal(r.value, SBI_HSM_STATE_STARTED);
    r = call(vc(0), SBI_EXT_HSM, SBI_HSM_HART_START, 1, ram0, 0);
    assert_int_equal(r.error, SBI_ERR_ALREADY_AVAILABLE);

    /* Suspend: only the default types exist. */
    const unsigned long bad_types[] = {1,          0x0FFFFFFF,    0x10000000,
                                       0x7FFFFFFF, 0x80000001,    0x90000000,
                                       0xFFFFFFFF, 0x100000001UL, 0xFFFFFFFF80000001UL};
    for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
        r = call(vc(0), SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, bad_types[i], ram0, 0);
        if (r.error != SBI_ERR_INVALID_PARAM)
            fail_msg("suspend type %#lx: expected INVALID_PARAM, got %ld", bad_types[i], r.error);
    }
    r = call(vc(0), SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, SBI_HSM_SUSPEND_NONRET_DEFAULT, 0x10, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_ADDRESS);
    /* suspend_type is 32 bits: the upper half of a0 is ignored. */
    r = call(vc(0), SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, 0xFFFFFFFF00000000UL, 0, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.act, EXIT_BLOCK);
    assert_int_equal(vc(0)->suspend, VCPU_SUSPENDED);
    r = call(vc(2), SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, 0x1280000000UL, ram0, 77);
    assert_int_equal(r.act, EXIT_BLOCK);
    assert_int_equal(vc(2)->suspend, VCPU_SUSPENDED_NONRET);
    assert_int_equal(vc(2)->resume_pc, ram0);
    assert_int_equal(vc(2)->resume_opaque, 77);

    r = call(vc(1), SBI_EXT_HSM, SBI_HSM_HART_STOP, 0, 0, 0);
    assert_int_equal(r.act, EXIT_LEAVE);
    assert_true(vc(1)->stop_requested);
}

static void test_ipi_masks(void **state)
{
    (void)state;
    /* A mask naming a hart the VM lacks is refused whole. */
    struct ret r = call(vc(0), SBI_EXT_IPI, SBI_IPI_SEND_IPI, 0x3, 3, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_IPI, SBI_IPI_SEND_IPI, 1UL << 63, 0, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_IPI, SBI_IPI_SEND_IPI, 1, NVCPUS, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    for (int i = 0; i < NVCPUS; i++)
        assert_int_equal(vc(i)->arch.hvip_pending, 0);

    r = call(vc(0), SBI_EXT_IPI, SBI_IPI_SEND_IPI, 0x3, 2, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(vc(1)->arch.hvip_pending, 0);
    assert_int_equal(vc(2)->arch.hvip_pending, HVIP_VSSIP);
    assert_int_equal(vc(3)->arch.hvip_pending, HVIP_VSSIP);
    r = call(vc(0), SBI_EXT_IPI, SBI_IPI_SEND_IPI, 0, (unsigned long)-1, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    for (int i = 0; i < NVCPUS; i++)
        assert_int_equal(vc(i)->arch.hvip_pending, HVIP_VSSIP);
    /* An empty mask with a valid base names nobody and is fine. */
    r = call(vc(0), SBI_EXT_IPI, SBI_IPI_SEND_IPI, 0, 0, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    /* The last hart is the highest bit a base allows: one more is out. */
    r = call(vc(0), SBI_EXT_IPI, SBI_IPI_SEND_IPI, 1UL << (NVCPUS - 1), 0, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    r = call(vc(0), SBI_EXT_IPI, SBI_IPI_SEND_IPI, 1UL << (NVCPUS - 1), 1, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_IPI, SBI_IPI_SEND_IPI, 1UL << (NVCPUS - 2), 1, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
}

static void test_rfence(void **state)
{
    (void)state;
    struct ret r = call(vc(0), SBI_EXT_RFENCE, SBI_RFENCE_REMOTE_FENCE_I, 0x2, 0, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(vc(1)->arch.fences, VCPU_FENCE_I);
    r = call(vc(0), SBI_EXT_RFENCE, SBI_RFENCE_REMOTE_SFENCE_VMA, 0, (unsigned long)-1, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(vc(3)->arch.fences, VCPU_FENCE_VVMA);
    r = call(vc(0), SBI_EXT_RFENCE, SBI_RFENCE_REMOTE_SFENCE_VMA_ASID, 0x10, 0, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    /* The HFENCE functions (3..6) are for hypervisors, not for guests. */
    for (unsigned long fid = 3; fid <= 6; fid++) {
        r = call(vc(0), SBI_EXT_RFENCE, fid, 1, 0, 0);
        assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
    }
}

static void test_dbcn(void **state)
{
    (void)state;
    const char msg[] = "hello, console";
    uint64_t at = VM_RAM_BASE + 0x1000;

    assert_int_equal(gpa_write(vm, at, msg, sizeof(msg) - 1), 0);
    struct ret r = call(vc(0), SBI_EXT_DBCN, SBI_DBCN_WRITE, sizeof(msg) - 1, at, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, sizeof(msg) - 1);
    assert_string_equal(out, msg);

    /* Outside RAM, straddling its end, or with high bits: refused. */
    r = call(vc(0), SBI_EXT_DBCN, SBI_DBCN_WRITE, 16, (unsigned long)ram, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_DBCN, SBI_DBCN_WRITE, 16, VM_RAM_BASE + GUEST_MEM - 8, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_DBCN, SBI_DBCN_WRITE, 4, at, 1);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_DBCN, SBI_DBCN_WRITE, (unsigned long)-1, at, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_DBCN, SBI_DBCN_READ, 8, 0x1000, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);

    /* A long write is taken in part: the return value says how much. */
    r = call(vc(0), SBI_EXT_DBCN, SBI_DBCN_WRITE, 100000, VM_RAM_BASE, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_true(r.value > 0 && r.value < 100000);

    r = call(vc(0), SBI_EXT_DBCN, SBI_DBCN_READ, 8, at, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, 0);
    outlen = 0;
    r = call(vc(0), SBI_EXT_DBCN, SBI_DBCN_WRITE_BYTE, 0x141, 0, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_string_equal(out, "A");
    /* A guest cannot forge Vireo's status lines: the marker byte is replaced. */
    outlen = 0;
    r = call(vc(0), SBI_EXT_DBCN, SBI_DBCN_WRITE_BYTE, 0x1e, 0, 0);
    assert_string_equal(out, "?");
}

static void test_srst(void **state)
{
    (void)state;
    struct ret r = call(vc(0), SBI_EXT_SRST, SBI_SRST_RESET, 3, 0, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_SRST, SBI_SRST_RESET, SBI_SRST_TYPE_SHUTDOWN, 2, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    /* reset_type and reset_reason are 32 bits: upper halves ignored. */
    r = call(vc(0), SBI_EXT_SRST, SBI_SRST_RESET, 0x100000003UL, 0, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_SRST, SBI_SRST_RESET, 0, 0xFFFFFFFF00000002UL, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_SRST, SBI_SRST_RESET, 0xEFFFFFFF, 0, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_SRST, SBI_SRST_RESET, 0, 0xDFFFFFFF, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    assert_int_equal(vm->state, VM_RUNNING);

    uint64_t free_before = pmem_free_bytes();
    r = call(vc(0), SBI_EXT_SRST, SBI_SRST_RESET, 0xABCD000000000000UL | SBI_SRST_TYPE_COLD_REBOOT,
             0xFFFFFFFF00000000UL, 0);
    assert_int_equal(r.act, EXIT_LEAVE);
    /* No vCPU was on a hart, so the VM was recreated at once. */
    assert_int_equal(vm->state, VM_RUNNING);
    assert_int_equal(vm->boots, 2);
    assert_int_equal(pmem_free_bytes(), free_before);
    assert_non_null(strstr(out, "vm t rebooting"));

    r = call(vc(0), SBI_EXT_SRST, SBI_SRST_RESET, SBI_SRST_TYPE_SHUTDOWN,
             0x100000000UL | SBI_SRST_REASON_SYSFAILURE, 0);
    assert_int_equal(r.act, EXIT_LEAVE);
    assert_int_equal(vm->state, VM_DONE);
    assert_int_equal(vm->end, VM_END_FAILURE);
    assert_non_null(strstr(out, "vm t exited: system failure"));
}

static void test_time_and_sta(void **state)
{
    (void)state;
    vc(0)->arch.hvip = HVIP_VSTIP;
    struct ret r = call(vc(0), SBI_EXT_TIME, SBI_TIME_SET_TIMER, 123456, 0, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    /* The deadline is on the guest's clock, which started at 0 with the VM. */
    assert_int_equal(vc(0)->timer_deadline, 123456 - vm->time_offset);
    assert_int_equal(vc(0)->arch.hctl.htimedelta, vm->time_offset);
    assert_int_equal(vc(0)->arch.hvip & HVIP_VSTIP, 0);

    uint64_t at = VM_RAM_BASE + 0x2000;
    r = call(vc(0), SBI_EXT_STA, SBI_STA_SET_SHMEM, at, 0, 1);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_STA, SBI_STA_SET_SHMEM, at + 8, 0, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_STA, SBI_STA_SET_SHMEM, at, 1, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_ADDRESS);
    r = call(vc(0), SBI_EXT_STA, SBI_STA_SET_SHMEM, VM_RAM_BASE + GUEST_MEM, 0, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_ADDRESS);
    r = call(vc(0), SBI_EXT_STA, SBI_STA_SET_SHMEM, VM_RAM_BASE + GUEST_MEM - 64, 0, 0);
    assert_int_equal(r.error, SBI_SUCCESS); /* the last 64 bytes of RAM are fine */
    r = call(vc(0), SBI_EXT_STA, SBI_STA_SET_SHMEM, 0x40, 0, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_ADDRESS);
    uint8_t junk[64];
    memset(junk, 0xff, sizeof(junk));
    gpa_write(vm, at, junk, sizeof(junk));
    r = call(vc(0), SBI_EXT_STA, SBI_STA_SET_SHMEM, at, 0, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    uint8_t rec[64], zero[64] = {0};
    gpa_read(vm, at, rec, sizeof(rec));
    assert_memory_equal(rec, zero, sizeof(rec)); /* zeroed before returning */
    assert_int_equal(vc(0)->sta_gpa, at);
    r = call(vc(0), SBI_EXT_STA, SBI_STA_SET_SHMEM, (unsigned long)-1, (unsigned long)-1, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(vc(0)->sta_gpa, UINT64_MAX);
}

static void test_susp(void **state)
{
    (void)state;
    struct ret r = call(vc(0), SBI_EXT_SUSP, SBI_SUSP_SYSTEM_SUSPEND, 1, VM_RAM_BASE, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_SUSP, SBI_SUSP_SYSTEM_SUSPEND, 0x80000000UL, VM_RAM_BASE, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_SUSP, SBI_SUSP_SYSTEM_SUSPEND, 0x100000001UL, VM_RAM_BASE, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_SUSP, SBI_SUSP_SYSTEM_SUSPEND, 0, 0x10, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_ADDRESS);
    /* Every other hart must be stopped first. */
    call(vc(0), SBI_EXT_HSM, SBI_HSM_HART_START, 2, VM_RAM_BASE, 0);
    r = call(vc(0), SBI_EXT_SUSP, SBI_SUSP_SYSTEM_SUSPEND, 0, VM_RAM_BASE, 0);
    assert_int_equal(r.error, SBI_ERR_DENIED);
    vc(2)->state = VCPU_OFFLINE; /* as if it had called hart_stop */
    /* sleep_type is 32 bits: the upper half of a0 is ignored. */
    r = call(vc(0), SBI_EXT_SUSP, SBI_SUSP_SYSTEM_SUSPEND, 0xFFFFFFFF00000000UL, VM_RAM_BASE + 0x40,
             9);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.act, EXIT_BLOCK);
    assert_int_equal(vc(0)->suspend, VCPU_SUSPENDED_NONRET);
}

static void test_fwft(void **state)
{
    (void)state;
    struct ret r = call(vc(0), SBI_EXT_BASE, SBI_BASE_PROBE_EXT, SBI_EXT_FWFT, 0, 0);
    assert_int_equal(r.value, 1);
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_GET, SBI_FWFT_MISALIGNED_EXC_DELEG, 0, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, 1); /* the reset value: delegated */
    /* Defined, but guests lack the extension (this VM was not given Svadu). */
    for (unsigned long f = 1; f <= 5; f++) {
        r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_GET, f, 0, 0);
        assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
        r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_SET, f, 1, 0);
        assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
        r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_SET, f, 7, 8); /* before flags and value */
        assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
    }
    /* Reserved and platform-specific, local and global: DENIED, before
     * flags and value are looked at. */
    const unsigned long reserved[] = {6,          0x3fffffff, 0x40000000, 0x7fffffff, 0x80000000,
                                      0x80000001, 0xbfffffff, 0xc0000000, 0xffffffff, 0x80000004};
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_GET, reserved[i], 0, 0);
        if (r.error != SBI_ERR_DENIED || r.value != 0)
            fail_msg("get %#lx: expected DENIED, got %ld", reserved[i], r.error);
        r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_SET, reserved[i], 0, 0);
        assert_int_equal(r.error, SBI_ERR_DENIED);
        r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_SET, reserved[i], 2, 2);
        assert_int_equal(r.error, SBI_ERR_DENIED);
    }
    /* feature is 32 bits: the upper half of a0 is ignored. */
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_GET, 0xdead000000000000UL, 0, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, 1);
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_GET, 0x100000006UL, 0, 0);
    assert_int_equal(r.error, SBI_ERR_DENIED);
    /* Bad flags and values. */
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_SET, 0, 2, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_SET, 0, (unsigned long)-1, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_SET, 0, 1, 2);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_SET, 0, 1, 1UL << 63);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    /* 0 takes delegation away, 1 gives it back. */
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_SET, 0, 0, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(vc(0)->arch.hedeleg & HEDELEG_MISALIGNED, 0);
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_GET, 0, 0, 0);
    assert_int_equal(r.value, 0);
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_SET, 0, 1, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(vc(0)->arch.hedeleg & HEDELEG_MISALIGNED, HEDELEG_MISALIGNED);
    /* Locked at 0: every later set fails, whatever its value, and the
     * value stays; bad flags are still INVALID_PARAM, a bad value is not
     * looked at. */
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_SET, 0, 0, SBI_FWFT_SET_FLAG_LOCK);
    assert_int_equal(r.error, SBI_SUCCESS);
    const unsigned long later[][2] = {{1, 0}, {0, 0}, {1, 1}, {0, 1}, {2, 0}};
    for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
        r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_SET, 0, later[i][0], later[i][1]);
        assert_int_equal(r.error, SBI_ERR_DENIED_LOCKED);
    }
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_SET, 0, 1, 2);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_GET, 0, 0, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, 0);
    assert_int_equal(vc(0)->arch.hedeleg & HEDELEG_MISALIGNED, 0);

    /* Local scope: hart 1 is neither locked nor changed; hart start
     * resets its features and lock. */
    assert_int_equal(call(vc(0), SBI_EXT_HSM, SBI_HSM_HART_START, 1, VM_RAM_BASE, 0).error, 0);
    r = call(vc(1), SBI_EXT_FWFT, SBI_FWFT_GET, 0, 0, 0);
    assert_int_equal(r.value, 1);
    r = call(vc(1), SBI_EXT_FWFT, SBI_FWFT_SET, 0, 1, SBI_FWFT_SET_FLAG_LOCK);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(call(vc(1), SBI_EXT_FWFT, SBI_FWFT_SET, 0, 1, 0).error, SBI_ERR_DENIED_LOCKED);
    vc(1)->state = VCPU_OFFLINE; /* as if it had stopped */
    assert_int_equal(call(vc(0), SBI_EXT_HSM, SBI_HSM_HART_START, 1, VM_RAM_BASE, 0).error, 0);
    assert_int_equal(call(vc(1), SBI_EXT_FWFT, SBI_FWFT_SET, 0, 0, 0).error, SBI_SUCCESS);
}

/* DBTR: the guest's shared memory at SHM; entries of four words. */
#define SHM (VM_RAM_BASE + 0x2000)
#define MC6 TDATA1_TYPE(TRIG_TYPE_MCONTROL6)
#define MC2 TDATA1_TYPE(TRIG_TYPE_MCONTROL)

static void shm_put(unsigned i, uint64_t w0, uint64_t t1, uint64_t t2, uint64_t t3)
{
    uint64_t w[4] = {w0, t1, t2, t3};
    assert_int_equal(gpa_write(vm, SHM + i * 32, w, sizeof(w)), 0);
}

static uint64_t shm_word(unsigned i, unsigned w)
{
    uint64_t x = 0;
    assert_int_equal(gpa_read(vm, SHM + i * 32 + w * 8, &x, sizeof(x)), 0);
    return x;
}

static struct ret dbtr(struct vcpu *v, unsigned long fid, unsigned long a0, unsigned long a1)
{
    return call(v, SBI_EXT_DBTR, fid, a0, a1, 0);
}

static void test_dbtr_absent(void **state)
{
    (void)state;
    fake_arch.trig_max = 0; /* the firmware has no triggers for guests */
    assert_int_equal(call(vc(0), SBI_EXT_BASE, SBI_BASE_PROBE_EXT, SBI_EXT_DBTR, 0, 0).value, 0);
    assert_int_equal(dbtr(vc(0), SBI_DBTR_NUM_TRIGGERS, 0, 0).error, SBI_ERR_NOT_SUPPORTED);
    assert_int_equal(dbtr(vc(0), SBI_DBTR_INSTALL_TRIGGERS, 1, 0).error, SBI_ERR_NOT_SUPPORTED);
}

static void test_dbtr(void **state)
{
    (void)state;
    struct vcpu *v = vc(0);
    struct ret r;

    fake_arch.trig_max = 4;
    assert_int_equal(call(v, SBI_EXT_BASE, SBI_BASE_PROBE_EXT, SBI_EXT_DBTR, 0, 0).value, 1);
    assert_int_equal(dbtr(v, SBI_DBTR_NUM_TRIGGERS, 0, 0).value, 4);
    assert_int_equal(dbtr(v, SBI_DBTR_NUM_TRIGGERS, MC2, 0).value, 4);
    assert_int_equal(dbtr(v, SBI_DBTR_NUM_TRIGGERS, MC6 | MCONTROL_STORE, 0).value, 4);
    assert_int_equal(dbtr(v, SBI_DBTR_NUM_TRIGGERS, TDATA1_TYPE(3), 0).value, 0);
    assert_int_equal(dbtr(v, SBI_DBTR_NUM_TRIGGERS, TDATA1_TYPE(15), 0).value, 0);
    assert_int_equal(dbtr(v, 8, 0, 0).error, SBI_ERR_NOT_SUPPORTED);

    /* No shared memory yet. */
    assert_int_equal(dbtr(v, SBI_DBTR_READ_TRIGGERS, 0, 1).error, SBI_ERR_NO_SHMEM);
    assert_int_equal(dbtr(v, SBI_DBTR_INSTALL_TRIGGERS, 1, 0).error, SBI_ERR_NO_SHMEM);
    assert_int_equal(dbtr(v, SBI_DBTR_UPDATE_TRIGGERS, 1, 0).error, SBI_ERR_NO_SHMEM);
    /* Range before shared memory for read, as the firmware checks. */
    assert_int_equal(dbtr(v, SBI_DBTR_READ_TRIGGERS, 4, 0).error, SBI_ERR_BAD_RANGE);

    /* set_shmem: flags, alignment, the upper half, outside the VM's RAM
     * (before it, straddling its end, a device), then a good one. */
    assert_int_equal(call(v, SBI_EXT_DBTR, SBI_DBTR_SET_SHMEM, SHM, 0, 1).error,
                     SBI_ERR_INVALID_PARAM);
    assert_int_equal(call(v, SBI_EXT_DBTR, SBI_DBTR_SET_SHMEM, -1UL, -1UL, 1).error,
                     SBI_ERR_INVALID_PARAM);
    assert_int_equal(dbtr(v, SBI_DBTR_SET_SHMEM, SHM + 4, 0).error, SBI_ERR_INVALID_PARAM);
    assert_int_equal(dbtr(v, SBI_DBTR_SET_SHMEM, SHM, 1).error, SBI_ERR_INVALID_ADDRESS);
    assert_int_equal(dbtr(v, SBI_DBTR_SET_SHMEM, VM_RAM_BASE - 64, 0).error,
                     SBI_ERR_INVALID_ADDRESS);
    assert_int_equal(dbtr(v, SBI_DBTR_SET_SHMEM, VM_RAM_BASE + GUEST_MEM - 96, 0).error,
                     SBI_ERR_INVALID_ADDRESS); /* 3 of the 4 entries fit */
    assert_int_equal(dbtr(v, SBI_DBTR_SET_SHMEM, 0x10000000, 0).error, SBI_ERR_INVALID_ADDRESS);
    assert_int_equal(dbtr(v, SBI_DBTR_SET_SHMEM, VM_RAM_BASE + GUEST_MEM - 128, 0).error,
                     SBI_SUCCESS);
    assert_int_equal(dbtr(v, SBI_DBTR_SET_SHMEM, -1UL, -1UL).error, SBI_SUCCESS);
    assert_int_equal(dbtr(v, SBI_DBTR_INSTALL_TRIGGERS, 1, 0).error, SBI_ERR_NO_SHMEM);
    assert_int_equal(dbtr(v, SBI_DBTR_SET_SHMEM, SHM, 0).error, SBI_SUCCESS);
    assert_int_equal(dbtr(v, SBI_DBTR_SET_SHMEM, SHM, 0).error, SBI_SUCCESS); /* again: kept */

    /* A store trigger for S-mode: the hardware gets mcontrol6 for VS only. */
    uint64_t st = MC6 | MCONTROL_STORE | MCONTROL_S | (3ULL << MCONTROL6_SIZE_SHIFT);
    shm_put(0, 99, st, 0x1234, 0);
    r = dbtr(v, SBI_DBTR_INSTALL_TRIGGERS, 1, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(shm_word(0, 0), 0);
    assert_int_equal(v->arch.trig_on, 1);
    assert_int_equal(v->arch.trig[0].tdata1, MC6 | MCONTROL_STORE | MCONTROL6_VS | (3ULL << 16));
    assert_int_equal(v->arch.trig[0].tdata2, 0x1234);
    /* A load trigger of the older type for U-mode: mcontrol6 for VU. */
    uint64_t ld = MC2 | MCONTROL_LOAD | MCONTROL_U | MCONTROL_SELECT | (1ULL << 16) | (1ULL << 21);
    shm_put(0, 0, ld, 0x5678, 0);
    assert_int_equal(dbtr(v, SBI_DBTR_INSTALL_TRIGGERS, 1, 0).error, SBI_SUCCESS);
    assert_int_equal(shm_word(0, 0), 1);
    assert_int_equal(v->arch.trig_on, 3);
    assert_int_equal(v->arch.trig[1].tdata1,
                     MC6 | MCONTROL_LOAD | MCONTROL6_VU | MCONTROL6_SELECT | (5ULL << 16));
    /* Read back as written, with trig_state. */
    assert_int_equal(dbtr(v, SBI_DBTR_READ_TRIGGERS, 0, 2).error, SBI_SUCCESS);
    assert_int_equal(shm_word(0, 0), SBI_DBTR_STATE_MAPPED | SBI_DBTR_STATE_S);
    assert_int_equal(shm_word(0, 1), st);
    assert_int_equal(shm_word(0, 2), 0x1234);
    assert_int_equal(shm_word(1, 0), SBI_DBTR_STATE_MAPPED | SBI_DBTR_STATE_U | (1 << 8));
    assert_int_equal(shm_word(1, 1), ld);
    /* The range: base + count must stay below trig_max. */
    assert_int_equal(dbtr(v, SBI_DBTR_READ_TRIGGERS, 0, 4).error, SBI_ERR_BAD_RANGE);
    assert_int_equal(dbtr(v, SBI_DBTR_READ_TRIGGERS, 3, 1).error, SBI_ERR_BAD_RANGE);
    assert_int_equal(dbtr(v, SBI_DBTR_READ_TRIGGERS, -1UL, 2).error, SBI_ERR_BAD_RANGE);
    assert_int_equal(dbtr(v, SBI_DBTR_READ_TRIGGERS, 2, -1UL).error, SBI_ERR_BAD_RANGE);
    assert_int_equal(dbtr(v, SBI_DBTR_READ_TRIGGERS, 3, 0).error, SBI_SUCCESS);

    /* Refused configurations, each named by its index; nothing changes. */
    const struct {
        uint64_t tdata1, tdata3;
        long error;
    } bad[] = {
        {TDATA1_TYPE(3) | MCONTROL_S, 0, SBI_ERR_FAILED}, /* icount: no such trigger */
        {0, 0, SBI_ERR_FAILED},
        {TDATA1_TYPE(15), 0, SBI_ERR_FAILED},
        {st | MCONTROL_M, 0, SBI_ERR_INVALID_PARAM},
        {st | TDATA1_DMODE, 0, SBI_ERR_INVALID_PARAM},
        {st | (1ULL << 20), 0, SBI_ERR_INVALID_PARAM}, /* reserved in mcontrol6 */
        {MC2 | MCONTROL_STORE | (1ULL << 5), 0, SBI_ERR_INVALID_PARAM},
        {st | MCONTROL_CHAIN, 0, SBI_ERR_NOT_SUPPORTED},
        {st | (1ULL << 12), 0, SBI_ERR_NOT_SUPPORTED}, /* action: debug mode */
        {st | MCONTROL6_VS, 0, SBI_ERR_NOT_SUPPORTED},
        {st | MCONTROL6_VU, 0, SBI_ERR_NOT_SUPPORTED},
        {st, 1, SBI_ERR_NOT_SUPPORTED}, /* textra */
        {MC2 | MCONTROL_STORE | MCONTROL_TIMING, 0, SBI_ERR_NOT_SUPPORTED},
        {MC2 | MCONTROL_STORE | (2ULL << 21), 0, SBI_ERR_NOT_SUPPORTED}, /* 128-bit size */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        shm_put(0, 0, st, 1, 0);
        shm_put(1, 0, bad[i].tdata1, 1, bad[i].tdata3);
        r = dbtr(v, SBI_DBTR_INSTALL_TRIGGERS, 2, 0);
        if (r.error != bad[i].error || r.value != 1)
            fail_msg("bad config %zu (%#lx): expected %ld at 1, got %ld at %ld", i,
                     (unsigned long)bad[i].tdata1, bad[i].error, r.error, r.value);
    }
    assert_int_equal(v->arch.trig_on, 3);
    assert_int_equal(dbtr(v, SBI_DBTR_READ_TRIGGERS, 2, 1).error, SBI_SUCCESS);
    assert_int_equal(shm_word(0, 0), 0); /* still free */
    /* trig_count >= trig_max; more than are free (the first without one). */
    assert_int_equal(dbtr(v, SBI_DBTR_INSTALL_TRIGGERS, 4, 0).error, SBI_ERR_BAD_RANGE);
    shm_put(0, 0, st, 1, 0);
    shm_put(1, 0, st, 2, 0);
    shm_put(2, 0, st, 3, 0);
    r = dbtr(v, SBI_DBTR_INSTALL_TRIGGERS, 3, 0);
    assert_int_equal(r.error, SBI_ERR_FAILED);
    assert_int_equal(r.value, 2);
    assert_int_equal(dbtr(v, SBI_DBTR_INSTALL_TRIGGERS, 0, 0).error, SBI_SUCCESS);

    /* Disable and enable: the mode bits go and come back from trig_state. */
    assert_int_equal(dbtr(v, SBI_DBTR_DISABLE_TRIGGERS, 0, 1).error, SBI_SUCCESS);
    assert_int_equal(v->arch.trig_on, 2);
    assert_int_equal(dbtr(v, SBI_DBTR_READ_TRIGGERS, 0, 1).error, SBI_SUCCESS);
    assert_int_equal(shm_word(0, 0), SBI_DBTR_STATE_MAPPED | SBI_DBTR_STATE_S);
    assert_int_equal(shm_word(0, 1), st & ~MCONTROL_S);
    assert_int_equal(dbtr(v, SBI_DBTR_ENABLE_TRIGGERS, 0, 1).error, SBI_SUCCESS);
    assert_int_equal(v->arch.trig_on, 3);
    /* A set naming one that is not installed, or past trig_max, changes nothing. */
    const unsigned long sets[][2] = {{0, 5}, {2, 1},    {1, 8},         {3, 2},
                                     {4, 1}, {-1UL, 1}, {0, 1UL << 63}, {63, 1}};
    for (unsigned long fid = SBI_DBTR_UNINSTALL_TRIGGERS; fid <= SBI_DBTR_DISABLE_TRIGGERS; fid++)
        for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
            r = dbtr(v, fid, sets[i][0], sets[i][1]);
            if (r.error != SBI_ERR_INVALID_PARAM)
                fail_msg("fid %lu base %#lx mask %#lx: expected INVALID_PARAM, got %ld", fid,
                         sets[i][0], sets[i][1], r.error);
        }
    assert_int_equal(v->arch.trig_on, 3);
    assert_int_equal(dbtr(v, SBI_DBTR_DISABLE_TRIGGERS, 0, 0).error, SBI_SUCCESS);

    /* Update: index, type and chain must match an installed trigger. */
    shm_put(0, 0, MC6 | MCONTROL_LOAD | MCONTROL_S, 0x99, 0);
    shm_put(1, 1, MC2 | MCONTROL_STORE | MCONTROL_S, 0x98, 0);
    assert_int_equal(dbtr(v, SBI_DBTR_UPDATE_TRIGGERS, 2, 0).error, SBI_SUCCESS);
    assert_int_equal(v->arch.trig[0].tdata1, MC6 | MCONTROL_LOAD | MCONTROL6_VS);
    assert_int_equal(v->arch.trig[0].tdata2, 0x99);
    assert_int_equal(v->arch.trig[1].tdata1, MC6 | MCONTROL_STORE | MCONTROL6_VS);
    const struct {
        uint64_t idx, tdata1;
        long error;
    } upd[] = {
        {0, MC2 | MCONTROL_LOAD | MCONTROL_S, SBI_ERR_INVALID_PARAM}, /* type */
        {0, MC6 | MCONTROL_LOAD | MCONTROL_S | MCONTROL_CHAIN, SBI_ERR_INVALID_PARAM},
        {4, MC6 | MCONTROL_LOAD | MCONTROL_S, SBI_ERR_INVALID_PARAM}, /* idx >= trig_max */
        {-1UL, MC6 | MCONTROL_LOAD | MCONTROL_S, SBI_ERR_INVALID_PARAM},
        {2, MC6 | MCONTROL_LOAD | MCONTROL_S, SBI_ERR_FAILED}, /* not installed */
        {0, MC6 | MCONTROL_LOAD | MCONTROL_M, SBI_ERR_INVALID_PARAM},
        {0, MC6 | MCONTROL_LOAD | MCONTROL6_VS, SBI_ERR_NOT_SUPPORTED},
    };
    for (size_t i = 0; i < sizeof(upd) / sizeof(upd[0]); i++) {
        shm_put(0, 1, MC2 | MCONTROL_EXECUTE | MCONTROL_S, 0x77, 0);
        shm_put(1, upd[i].idx, upd[i].tdata1, 0x42, 0);
        r = dbtr(v, SBI_DBTR_UPDATE_TRIGGERS, 2, 0);
        if (r.error != upd[i].error || r.value != 1)
            fail_msg("update %zu: expected %ld at 1, got %ld at %ld", i, upd[i].error, r.error,
                     r.value);
    }
    assert_int_equal(v->arch.trig[1].tdata2, 0x98); /* entry 0 was not applied either */
    assert_int_equal(dbtr(v, SBI_DBTR_UPDATE_TRIGGERS, 4, 0).error, SBI_ERR_BAD_RANGE);

    /* Another vCPU's triggers are its own; hart start clears them. */
    assert_int_equal(call(v, SBI_EXT_HSM, SBI_HSM_HART_START, 1, VM_RAM_BASE, 0).error, 0);
    assert_int_equal(dbtr(vc(1), SBI_DBTR_READ_TRIGGERS, 0, 1).error, SBI_ERR_NO_SHMEM);
    assert_int_equal(dbtr(vc(1), SBI_DBTR_SET_SHMEM, SHM + 0x100, 0).error, SBI_SUCCESS);
    assert_int_equal(dbtr(vc(1), SBI_DBTR_READ_TRIGGERS, 0, 1).error, SBI_SUCCESS);
    assert_int_equal(shm_word(8, 0), 0); /* not mapped there */
    shm_put(8, 0, st, 0x4444, 0);
    assert_int_equal(dbtr(vc(1), SBI_DBTR_INSTALL_TRIGGERS, 1, 0).error, SBI_SUCCESS);
    assert_int_equal(vc(1)->arch.trig_on, 1);
    vc(1)->state = VCPU_OFFLINE; /* as if it had stopped */
    assert_int_equal(call(v, SBI_EXT_HSM, SBI_HSM_HART_START, 1, VM_RAM_BASE, 0).error, 0);
    assert_int_equal(vc(1)->arch.trig_on, 0);
    assert_int_equal(dbtr(vc(1), SBI_DBTR_READ_TRIGGERS, 0, 1).error, SBI_ERR_NO_SHMEM);

    /* Uninstall: gone from the hardware and from reads. */
    assert_int_equal(dbtr(v, SBI_DBTR_UNINSTALL_TRIGGERS, 0, 3).error, SBI_SUCCESS);
    assert_int_equal(v->arch.trig_on, 0);
    assert_int_equal(dbtr(v, SBI_DBTR_READ_TRIGGERS, 0, 2).error, SBI_SUCCESS);
    for (unsigned w = 0; w < 4; w++)
        assert_int_equal(shm_word(1, w), 0);
    assert_int_equal(dbtr(v, SBI_DBTR_UNINSTALL_TRIGGERS, 0, 1).error, SBI_ERR_INVALID_PARAM);
    /* A trigger watching nothing, or disabled, is not armed. */
    shm_put(0, 0, MC6 | MCONTROL_S, 0, 0);
    assert_int_equal(dbtr(v, SBI_DBTR_INSTALL_TRIGGERS, 1, 0).error, SBI_SUCCESS);
    assert_int_equal(v->arch.trig_on, 0);
}

static void test_fwft_adue(void **state)
{
    (void)state;
    /* As core/isa.c builds a VM given Svadu: ADUE in its henvcfg, which
     * its vCPUs start without (the reset value is 0). */
    vm->isa.henvcfg |= HENVCFG_ADUE;
    struct ret r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_GET, SBI_FWFT_PTE_AD_HW_UPDATING, 0, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, 0);
    for (unsigned i = 0; i < 2; i++) {
        r = call(vc(i), SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_PTE_AD_HW_UPDATING, 1, 0);
        assert_int_equal(r.error, SBI_SUCCESS);
    }
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_PTE_AD_HW_UPDATING, 2, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_PTE_AD_HW_UPDATING, 0, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(vc(0)->arch.hctl.henvcfg & HENVCFG_ADUE, 0);
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_GET, SBI_FWFT_PTE_AD_HW_UPDATING, 0, 0);
    assert_int_equal(r.value, 0);
    assert_int_equal(vc(1)->arch.hctl.henvcfg & HENVCFG_ADUE, HENVCFG_ADUE); /* per vCPU */
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_PTE_AD_HW_UPDATING, 1,
             SBI_FWFT_SET_FLAG_LOCK);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(vc(0)->arch.hctl.henvcfg & HENVCFG_ADUE, HENVCFG_ADUE);
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_PTE_AD_HW_UPDATING, 0, 0);
    assert_int_equal(r.error, SBI_ERR_DENIED_LOCKED);
    assert_int_equal(vc(0)->arch.hctl.henvcfg & HENVCFG_ADUE, HENVCFG_ADUE);
    /* Each feature has its own lock. */
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_MISALIGNED_EXC_DELEG, 0, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    /* A restarted hart starts from the reset value, unlocked. */
    r = call(vc(1), SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_PTE_AD_HW_UPDATING, 1, 1);
    assert_int_equal(r.error, SBI_SUCCESS);
    vc(1)->state = VCPU_OFFLINE; /* as if it had stopped */
    assert_int_equal(call(vc(0), SBI_EXT_HSM, SBI_HSM_HART_START, 1, VM_RAM_BASE, 0).error, 0);
    assert_int_equal(vc(1)->arch.hctl.henvcfg & HENVCFG_ADUE, 0);
    r = call(vc(1), SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_PTE_AD_HW_UPDATING, 1, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
}

/* Misaligned loads and stores, emulated once the guest took their
 * delegation away: through the guest's own translation (fake_arch.gmem),
 * with its faults given back to it. */
static enum exit_action misaligned_exit(struct vcpu *v, uint64_t cause, uint64_t va, uint32_t insn)
{
    fake_arch.guest_insn = insn;
    v->arch.ctx.scause = cause;
    v->arch.ctx.stval = va;
    return vcpu_exit(v);
}

static void test_misaligned(void **state)
{
    (void)state;
    struct vcpu *v = vc(0);
    const uint64_t pc = 0x80200000, va = 0xffffffc000010000UL;

    assert_int_equal(call(v, SBI_EXT_FWFT, SBI_FWFT_SET, 0, 0, 0).error, SBI_SUCCESS);
    fake_arch.gmem_va = va;
    for (unsigned i = 0; i < sizeof(fake_arch.gmem); i++)
        fake_arch.gmem[i] = (uint8_t)(0x80 + i);

    /* ld a0, 0(a1) at va + 3: eight bytes, little-endian. */
    v->arch.ctx.sepc = pc;
    assert_int_equal(misaligned_exit(v, CAUSE_MISALIGNED_LOAD, va + 3, 0x0005b503), EXIT_RESUME);
    assert_int_equal(v->arch.ctx.gpr[10], 0x8a89888786858483ULL);
    assert_int_equal(v->arch.ctx.sepc, pc + 4);
    /* lw a0 sign-extends, lhu zero-extends. */
    assert_int_equal(misaligned_exit(v, CAUSE_MISALIGNED_LOAD, va + 1, 0x0005a503), EXIT_RESUME);
    assert_int_equal(v->arch.ctx.gpr[10], 0xffffffff84838281ULL);
    assert_int_equal(misaligned_exit(v, CAUSE_MISALIGNED_LOAD, va + 1, 0x0005d503), EXIT_RESUME);
    assert_int_equal(v->arch.ctx.gpr[10], 0x8281);
    /* c.lw a0, 0(a1) (0x4188): two bytes of pc. */
    uint64_t at = v->arch.ctx.sepc;
    assert_int_equal(misaligned_exit(v, CAUSE_MISALIGNED_LOAD, va + 5, 0x4188), EXIT_RESUME);
    assert_int_equal(v->arch.ctx.gpr[10], 0xffffffff88878685ULL);
    assert_int_equal(v->arch.ctx.sepc, at + 2);
    /* A load into x0 reads but changes nothing. */
    assert_int_equal(misaligned_exit(v, CAUSE_MISALIGNED_LOAD, va + 1, 0x0005a003), EXIT_RESUME);
    assert_int_equal(v->arch.ctx.gpr[0], 0);
    /* sd a2, 0(a1) at va + 9; c.sw a2, 0(a1) (0xc190). */
    v->arch.ctx.gpr[12] = 0x1122334455667788ULL;
    assert_int_equal(misaligned_exit(v, CAUSE_MISALIGNED_STORE, va + 9, 0x00c5b023), EXIT_RESUME);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(fake_arch.gmem[9 + i], (uint8_t)(0x88 - 0x11 * i));
    assert_int_equal(fake_arch.gmem[17], 0x80 + 17);
    assert_int_equal(misaligned_exit(v, CAUSE_MISALIGNED_STORE, va + 21, 0xc190), EXIT_RESUME);
    assert_int_equal(fake_arch.gmem[21], 0x88);
    assert_int_equal(fake_arch.gmem[24], 0x55);
    assert_int_equal(fake_arch.gmem[25], 0x80 + 25);
    assert_int_equal(fake_arch.injections, 0);

    /* The last bytes on an unmapped page: the guest takes the page fault,
     * at the instruction, with stval the first byte that faulted. */
    at = v->arch.ctx.sepc;
    v->arch.ctx.gpr[10] = 0x77;
    assert_int_equal(misaligned_exit(v, CAUSE_MISALIGNED_LOAD, va + 60, 0x0005b503), EXIT_RESUME);
    assert_int_equal(fake_arch.injections, 1);
    assert_int_equal(fake_arch.injected_cause, CAUSE_LOAD_PAGE_FAULT);
    assert_int_equal(fake_arch.injected_tval, va + 64);
    assert_int_equal(v->arch.ctx.gpr[10], 0x77);
    assert_int_equal(v->arch.ctx.sepc, at);
    assert_int_equal(misaligned_exit(v, CAUSE_MISALIGNED_STORE, va - 3, 0x00c5b023), EXIT_RESUME);
    assert_int_equal(fake_arch.injected_cause, CAUSE_STORE_PAGE_FAULT);
    assert_int_equal(fake_arch.injected_tval, va - 3);
    /* Outside the VM's RAM (a G-stage fault: a device or nothing): an
     * access fault, and no byte anywhere was written. */
    unsigned stores = fake_arch.gmem_stores;
    fake_arch.gmem_fault = CAUSE_STORE_GUEST_PAGE_FAULT;
    assert_int_equal(misaligned_exit(v, CAUSE_MISALIGNED_STORE, 0x10000001, 0x00c5b023),
                     EXIT_RESUME);
    assert_int_equal(fake_arch.injected_cause, CAUSE_STORE_ACCESS);
    assert_int_equal(fake_arch.injected_tval, 0x10000001);
    assert_int_equal(fake_arch.gmem_stores, stores);
    fake_arch.gmem_fault = CAUSE_LOAD_GUEST_PAGE_FAULT;
    assert_int_equal(misaligned_exit(v, CAUSE_MISALIGNED_LOAD, 0x10000001, 0x0005b503),
                     EXIT_RESUME);
    assert_int_equal(fake_arch.injected_cause, CAUSE_LOAD_ACCESS);
    fake_arch.gmem_fault = CAUSE_LOAD_ACCESS; /* PMP */
    assert_int_equal(misaligned_exit(v, CAUSE_MISALIGNED_LOAD, 0x10000001, 0x0005b503),
                     EXIT_RESUME);
    assert_int_equal(fake_arch.injected_cause, CAUSE_LOAD_ACCESS);

    /* Not emulated, given to the guest as it is: a misaligned fetch, an
     * AMO (amoadd.w a0, a2, (a1)), an FP load (fld fa0, 0(a1)), a load
     * whose instruction cannot be read, and an instruction that does not
     * match the exception. */
    const struct {
        uint64_t cause;
        uint32_t insn;
    } other[] = {
        {CAUSE_MISALIGNED_FETCH, 0x00000013}, {CAUSE_MISALIGNED_STORE, 0x00c5a52f},
        {CAUSE_MISALIGNED_LOAD, 0x0005b507},  {CAUSE_MISALIGNED_LOAD, 0},
        {CAUSE_MISALIGNED_LOAD, 0x00c5b023},
    };
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        unsigned n = fake_arch.injections;
        at = v->arch.ctx.sepc;
        assert_int_equal(misaligned_exit(v, other[i].cause, va + 1, other[i].insn), EXIT_RESUME);
        assert_int_equal(fake_arch.injections, n + 1);
        assert_int_equal(fake_arch.injected_cause, other[i].cause);
        assert_int_equal(fake_arch.injected_tval, va + 1);
        assert_int_equal(v->arch.ctx.sepc, at);
    }
    assert_int_equal(vm->state, VM_RUNNING);
}

static void test_legacy(void **state)
{
    (void)state;
    struct ret r = call(vc(0), SBI_LEGACY_CONSOLE_PUTCHAR, 0, 'x', 0xabcd, 0);
    assert_int_equal(r.error, 0);
    assert_int_equal(r.value, 0xabcd); /* a v0.1 call leaves a1 alone */
    assert_string_equal(out, "x");
    r = call(vc(0), SBI_LEGACY_CONSOLE_GETCHAR, 0, 0, 0, 0);
    assert_int_equal(r.error, -1);

    /* The hart mask is read through the guest's own translation. */
    r = call(vc(0), SBI_LEGACY_SEND_IPI, 0, 0xffffffc000001000UL, 0, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_ADDRESS);
    fake_arch.guest_va = 0xffffffc000001000UL;
    fake_arch.guest_u64 = 0x4;
    r = call(vc(0), SBI_LEGACY_SEND_IPI, 0, 0xffffffc000001000UL, 0, 0);
    assert_int_equal(r.error, 0);
    assert_int_equal(vc(2)->arch.hvip_pending, HVIP_VSSIP);
    assert_int_equal(vc(1)->arch.hvip_pending, 0);
    fake_arch.guest_u64 = 0x10; /* hart 4: the VM has four */
    r = call(vc(0), SBI_LEGACY_SEND_IPI, 0, 0xffffffc000001000UL, 0, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);

    vc(0)->arch.hvip = HVIP_VSSIP;
    call(vc(0), SBI_LEGACY_CLEAR_IPI, 0, 0, 0, 0);
    assert_int_equal(vc(0)->arch.hvip, 0);
    r = call(vc(0), 0x0F, 0, 0, 0, 0);
    assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
    r = call(vc(0), SBI_LEGACY_SHUTDOWN, 0, 0, 0, 0);
    assert_int_equal(r.act, EXIT_LEAVE);
    assert_int_equal(vm->end, VM_END_SHUTDOWN);
}

/* What each call leaves in a1 and which action it returns: errors and
 * unknown calls answer a1 = 0, v0.1 calls leave a1 alone, and a call after
 * one that blocked or left resumes again. */
static void test_answers(void **state)
{
    (void)state;
    const unsigned long a1 = 0x5a5a;
    struct {
        unsigned long eid, fid;
    } unknown[] = {
        {0x12345678, 0},   {0x0F, 0}, /* past the v0.1 range */
        {SBI_EXT_BASE, 7}, {SBI_EXT_TIME, 1}, {SBI_EXT_IPI, 1},  {SBI_EXT_RFENCE, 3},
        {SBI_EXT_HSM, 99}, {SBI_EXT_SRST, 1}, {SBI_EXT_DBCN, 3}, {SBI_EXT_SUSP, 1},
        {SBI_EXT_STA, 1},  {SBI_EXT_FWFT, 2},
    };
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        struct ret r = call(vc(0), unknown[i].eid, unknown[i].fid, 0, a1, 0);
        if (r.error != SBI_ERR_NOT_SUPPORTED || r.value != 0 || r.act != EXIT_RESUME)
            fail_msg("eid %#lx fid %lu: got error %ld, a1 %#lx, action %d", unknown[i].eid,
                     unknown[i].fid, r.error, (unsigned long)r.value, r.act);
    }

    /* Refused calls answer a1 = 0 whatever the guest had there. */
    struct ret r = call(vc(0), SBI_EXT_HSM, SBI_HSM_HART_START, NVCPUS, a1, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    assert_int_equal(r.value, 0);
    r = call(vc(0), SBI_EXT_DBCN, SBI_DBCN_WRITE, 16, a1, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    assert_int_equal(r.value, 0);
    r = call(vc(0), SBI_EXT_IPI, SBI_IPI_SEND_IPI, 1, NVCPUS, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    assert_int_equal(r.value, 0);
    r = call(vc(0), SBI_EXT_STA, SBI_STA_SET_SHMEM, VM_RAM_BASE, a1, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_ADDRESS);
    assert_int_equal(r.value, 0);
    r = call(vc(0), SBI_EXT_SRST, SBI_SRST_RESET, 3, a1, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    assert_int_equal(r.value, 0);
    r = call(vc(0), SBI_EXT_FWFT, SBI_FWFT_SET, 6, 0, 0);
    assert_int_equal(r.error, SBI_ERR_DENIED);
    assert_int_equal(r.value, 0);
    /* Successes without a value answer a1 = 0 too. */
    r = call(vc(0), SBI_EXT_TIME, SBI_TIME_SET_TIMER, 1000, a1, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, 0);
    r = call(vc(0), SBI_EXT_RFENCE, SBI_RFENCE_REMOTE_FENCE_I, 0x2, 0, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, 0);

    /* v0.1 calls: a1 is the guest's, on success and on error. */
    r = call(vc(0), SBI_LEGACY_SET_TIMER, 0, 2000, a1, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, a1);
    assert_int_equal(vc(0)->timer_deadline, 2000 - vm->time_offset);
    r = call(vc(0), SBI_LEGACY_CONSOLE_GETCHAR, 0, 0, a1, 0);
    assert_int_equal(r.error, -1);
    assert_int_equal(r.value, a1);
    r = call(vc(0), SBI_LEGACY_SEND_IPI, 0, 0xffffffc000001000UL, a1, 0);
    assert_int_equal(r.error, SBI_ERR_INVALID_ADDRESS);
    assert_int_equal(r.value, a1);

    /* Blocking, then resuming: the action is the call's own. */
    r = call(vc(0), SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, SBI_HSM_SUSPEND_RET_DEFAULT, a1, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, 0);
    assert_int_equal(r.act, EXIT_BLOCK);
    r = call(vc(0), SBI_EXT_BASE, SBI_BASE_GET_SPEC_VERSION, 0, 0, 0);
    assert_int_equal(r.act, EXIT_RESUME);
    r = call(vc(1), SBI_EXT_BASE, SBI_BASE_GET_SPEC_VERSION, 0, 0, 0);
    assert_int_equal(r.act, EXIT_RESUME);
    r = call(vc(3), SBI_EXT_HSM, SBI_HSM_HART_STOP, 0, a1, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, 0);
    assert_int_equal(r.act, EXIT_LEAVE);
    r = call(vc(3), SBI_EXT_BASE, SBI_BASE_GET_IMPL_VERSION, 0, 0, 0);
    assert_int_equal(r.act, EXIT_RESUME);

    /* The v0.1 shutdown leaves a1 alone too, and leaves the hart. */
    r = call(vc(0), SBI_LEGACY_SHUTDOWN, 0, 0, a1, 0);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, a1);
    assert_int_equal(r.act, EXIT_LEAVE);
    assert_int_equal(vm->end, VM_END_SHUTDOWN);
}

static enum exit_action exit_with(struct vcpu *v, uint64_t scause, uint64_t stval, uint64_t htval)
{
    v->arch.ctx.scause = scause;
    v->arch.ctx.stval = stval;
    v->arch.ctx.htval = htval;
    return vcpu_exit(v);
}

static void test_exits(void **state)
{
    (void)state;
    struct vcpu *v = vc(0);
    v->arch.ctx.sepc = 0x80200000;

    /* WFI blocks and steps over the instruction. */
    assert_int_equal(exit_with(v, 22, 0x10500073, 0), EXIT_BLOCK);
    assert_int_equal(v->arch.ctx.sepc, 0x80200004);
    /* WFI with stval 0: the instruction is read from the guest. */
    fake_arch.guest_insn = 0x10500073;
    assert_int_equal(exit_with(v, 22, 0, 0), EXIT_BLOCK);
    /* A hypervisor CSR from VS-mode: the guest gets an illegal instruction. */
    uint32_t csrr_hgatp = 0x68002573; /* csrr a0, hgatp */
    assert_int_equal(exit_with(v, 22, csrr_hgatp, 0), EXIT_RESUME);
    assert_int_equal(fake_arch.injections, 1);
    assert_int_equal(fake_arch.injected_cause, 2);
    assert_int_equal(fake_arch.injected_tval, csrr_hgatp);
    assert_int_equal(vm->state, VM_RUNNING);

    /* A load outside RAM stops the VM, naming the guest physical address. */
    assert_int_equal(exit_with(v, 21, 0x40000000, 0x100000000ULL >> 2), EXIT_LEAVE);
    assert_int_equal(vm->end, VM_END_STOPPED);
    if (!strstr(out, "vm t stopped: load guest-page fault at gpa 0x100000000 (outside RAM and "
                     "devices)"))
        fail_msg("expected the stop reason to name the gpa, console has: %s", out);
}

/* Transformed-instruction encodings (htinst) of plain loads and stores:
 * rs1 and the offset are zero, as the hypervisor chapter specifies. */
static uint64_t htinst_store(unsigned funct3, unsigned rs2)
{
    return 0x23 | (funct3 << 12) | (rs2 << 20);
}

static uint64_t htinst_load(unsigned funct3, unsigned rd)
{
    return 0x03 | (funct3 << 12) | (rd << 7);
}

static enum exit_action mmio_exit(struct vcpu *v, bool store, uint64_t gpa, uint64_t htinst)
{
    v->arch.ctx.htinst = htinst;
    return exit_with(v, store ? 23 : 21, gpa, gpa >> 2);
}

static void test_mmio(void **state)
{
    (void)state;
    struct vcpu *v = vc(0);
    uint64_t pc = v->arch.ctx.sepc;

    /* sb a1, 0(a0) to the UART's THR: the byte reaches the console. */
    v->arch.ctx.gpr[11] = 0x5a;
    assert_int_equal(mmio_exit(v, true, VM_UART_BASE, htinst_store(0, 11)), EXIT_RESUME);
    assert_string_equal(out, "Z");
    assert_int_equal(v->arch.ctx.sepc, pc + 4);
    /* lbu a0, 5(a0): LSR of an idle UART reads 0x60 (THR and transmitter empty). */
    assert_int_equal(mmio_exit(v, false, VM_UART_BASE + 5, htinst_load(4, 10)), EXIT_RESUME);
    assert_int_equal(v->arch.ctx.gpr[10], 0x60);
    /* A compressed original (bit 1 clear in htinst) advances pc by 2. */
    pc = v->arch.ctx.sepc;
    assert_int_equal(mmio_exit(v, false, VM_UART_BASE + 5, htinst_load(4, 10) & ~2ULL),
                     EXIT_RESUME);
    assert_int_equal(v->arch.ctx.sepc, pc + 2);
    /* sw to a PLIC priority register, read it back with lw (sign-extended). */
    v->arch.ctx.gpr[12] = 5;
    assert_int_equal(mmio_exit(v, true, VM_PLIC_BASE + 4 * 10, htinst_store(2, 12)), EXIT_RESUME);
    assert_int_equal(mmio_exit(v, false, VM_PLIC_BASE + 4 * 10, htinst_load(2, 13)), EXIT_RESUME);
    assert_int_equal(v->arch.ctx.gpr[13], 5);
    /* A load into x0 changes nothing. */
    assert_int_equal(mmio_exit(v, false, VM_PLIC_BASE + 4 * 10, htinst_load(2, 0)), EXIT_RESUME);
    assert_int_equal(v->arch.ctx.gpr[0], 0);
    assert_int_equal(vm->state, VM_RUNNING);
}

static void test_mmio_bad(void **state)
{
    (void)state;
    struct vcpu *v = vc(0);

    /* A halfword to the PLIC: the model takes 32-bit accesses only. */
    assert_int_equal(mmio_exit(v, true, VM_PLIC_BASE + 8, htinst_store(1, 5)), EXIT_LEAVE);
    assert_non_null(strstr(out, "vm t stopped: MMIO store the device does not support at gpa "
                                "0xc000008"));
}

static void test_mmio_misaligned(void **state)
{
    (void)state;
    assert_int_equal(mmio_exit(vc(0), false, VM_PLIC_BASE + 2, htinst_load(2, 5)), EXIT_LEAVE);
    assert_non_null(strstr(out, "misaligned MMIO access at gpa 0xc000002"));
}

static void test_mmio_wrong_kind(void **state)
{
    (void)state;
    /* A store fault whose instruction says load: stop, do not guess. */
    assert_int_equal(mmio_exit(vc(0), true, VM_UART_BASE, htinst_load(0, 5)), EXIT_LEAVE);
    assert_non_null(strstr(out, "does not match its fault"));
}

static void test_unexpected_exit(void **state)
{
    (void)state;
    assert_int_equal(exit_with(vc(0), 7, 0x1234, 0), EXIT_LEAVE);
    assert_non_null(strstr(out, "vm t stopped: unexpected store/AMO access fault"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_base, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hsm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipi_masks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rfence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dbcn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_srst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_and_sta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_susp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fwft, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fwft_adue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dbtr_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dbtr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_misaligned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unexpected_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio_misaligned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mmio_wrong_kind, setup, teardown),
    };
    return cmocka_run_group_tests_name("sbi", tests, NULL, NULL);
}
