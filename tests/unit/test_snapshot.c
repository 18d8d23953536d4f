/* SPDX-License-Identifier: Apache-2.0 */
/* VM snapshots (core/snapshot.c, core/vcpu_state.c) on a VM built on the
 * host: a snapshot restored brings back RAM, registers and device state;
 * the guest's clock continues from the snapshot's instant; and a snapshot
 * is hostile input: every byte flipped, every truncation, a snapshot of
 * another configuration, forged CSR values and a device that refuses its
 * state are all refused, leaving the VM exactly as it was. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/snapshot.h"
#include "core/vconsole.h"
#include "core/vcpu_state.h"
#include "core/vm.h"
#include "devices/vplic.h"
#include "devices/vuart.h"
#include "lib/crc32c.h"
#include "lib/err.h"
#include "tests/unit/fake_arch.h"
#include "tests/unit/host_vm.h"

#define RAM_SIZE  (64u << 20)
#define GUEST_MEM (4u << 20)
#define NVCPUS    2

static uint8_t *ram;
static uint8_t kernel[8192];
static struct vm_config cfg;
static struct vm *vm;
static uint8_t *image; /* a snapshot */
static size_t image_len;
#define IMAGE_MAX (8u << 20)

static int setup(void **state)
{
    (void)state;
    char err[160] = "";

    ram = host_vm_setup(RAM_SIZE, &cfg, "t", GUEST_MEM, NVCPUS, kernel, sizeof(kernel), &vm, err,
                        sizeof(err));
    if (!ram)
        fail_msg("building the VM: %s", err);
    memset(&fake_arch, 0, sizeof(fake_arch));
    vm->paused = true; /* and no vCPU on a hart: a snapshot may be taken */
    image = malloc(IMAGE_MAX);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(image);
    assert_int_equal(host_vm_teardown(vm, ram), 0);
    return 0;
}

/* Distinct contents in RAM, registers and devices. */
static void dirty_vm(uint64_t seed)
{
    uint64_t page[512];
    for (unsigned p = 0; p < 40; p++) {
        for (unsigned i = 0; i < 512; i++)
            page[i] = seed * 0x9e3779b97f4a7c15ull + p * 4096 + i;
        assert_int_equal(gpa_write(vm, VM_RAM_BASE + p * 3 * 4096ull, page, sizeof(page)), 0);
    }
    for (unsigned v = 0; v < NVCPUS; v++) {
        struct vcpu_arch *a = &vm->vcpus[v].arch;
        for (unsigned r = 1; r < 32; r++)
            a->ctx.gpr[r] = seed + v * 100 + r;
        a->ctx.sepc = VM_RAM_BASE + seed * 4;
        a->vsatp = seed << 20;
        a->vstvec = VM_RAM_BASE + 0x100 + seed;
        a->fp.f[3] = seed * 3;
        vm->vcpus[v].timer_deadline = arch_time() + 1000000 + seed;
    }
    vm->plic.priority[1] = (uint8_t)(seed & 7);
}

struct digest {
    uint32_t ram;
    uint64_t gpr[NVCPUS][32], pc[NVCPUS], vsatp[NVCPUS], f3[NVCPUS];
    uint8_t prio;
    uint64_t offset;
};

static struct digest digest(void)
{
    static uint8_t buf[GUEST_MEM];
    struct digest d;
    memset(&d, 0, sizeof(d));
    /* The part dirty_vm writes (the rest stays zero). */
    size_t n = 512u << 10;
    assert_int_equal(gpa_read(vm, VM_RAM_BASE, buf, n), 0);
    d.ram = crc32c(0, buf, n);
    for (unsigned v = 0; v < NVCPUS; v++) {
        memcpy(d.gpr[v], vm->vcpus[v].arch.ctx.gpr, sizeof(d.gpr[v]));
        d.pc[v] = vm->vcpus[v].arch.ctx.sepc;
        d.vsatp[v] = vm->vcpus[v].arch.vsatp;
        d.f3[v] = vm->vcpus[v].arch.fp.f[3];
    }
    d.prio = vm->plic.priority[1];
    d.offset = vm->time_offset;
    return d;
}

static void take(void)
{
    struct snap_buf b = {image, IMAGE_MAX, 0};
    struct snap_sink s = {snap_buf_write, &b, 0, 0, 0};
    struct snapshot_stats st;
    char err[192];
    int rc = snapshot_save(vm, &s, &st, NULL, err, sizeof(err));
    if (rc)
        fail_msg("snapshot_save: %s", err);
    image_len = b.pos;
    assert_int_equal(st.bytes, image_len);
}

static int buf_rewind(void *ctx)
{
    ((struct snap_buf *)ctx)->pos = 0;
    return 0;
}

static int restore_from(uint8_t *img, size_t len, char *err, size_t errlen)
{
    struct snap_buf b = {img, len, 0};
    struct snap_input in = {{snap_buf_read, &b, 0, 0, 0}, buf_rewind};
    return snapshot_restore(vm, &in, NULL, err, errlen);
}

static void test_roundtrip(void **state)
{
    (void)state;
    char err[192], log[64];
    uint64_t total;
    vconsole_output(&vm->con, "before the snapshot\n", 20);
    dirty_vm(7);
    struct digest before = digest();
    uint64_t guest_then = arch_time() + vm->time_offset;
    take();
    assert_true(image_len < 400 * 1024); /* 40 pages of RAM, the rest left out */
    dirty_vm(9);
    vconsole_output(&vm->con, "after it\n", 9);
    assert_int_not_equal(digest().ram, before.ram);
    int rc = restore_from(image, image_len, err, sizeof(err));
    if (rc)
        fail_msg("restore: %s", err);
    struct digest after = digest();
    assert_int_equal(after.ram, before.ram);
    assert_memory_equal(after.gpr, before.gpr, sizeof(before.gpr));
    assert_memory_equal(after.pc, before.pc, sizeof(before.pc));
    assert_memory_equal(after.vsatp, before.vsatp, sizeof(before.vsatp));
    assert_memory_equal(after.f3, before.f3, sizeof(before.f3));
    assert_int_equal(after.prio, before.prio);
    /* A VM rolled back keeps its console log (what it printed after the
     * snapshot stays visible); one that has printed nothing gets the
     * snapshot's. */
    size_t n = vconsole_port_log(&vm->con, log, sizeof(log), &total);
    assert_int_equal(total, 29);
    vconsole_port_log_restore(&vm->con, "", 0, 0);
    assert_int_equal(restore_from(image, image_len, err, sizeof(err)), 0);
    n = vconsole_port_log(&vm->con, log, sizeof(log), &total);
    assert_int_equal(total, 20);
    assert_memory_equal(log, "before the snapshot\n", n);
    /* The guest's clock continues from the snapshot's instant: what it
     * reads now is just past what it read then (the fake clock moves 1000
     * ticks per look). */
    uint64_t guest_now = arch_time() + vm->time_offset;
    assert_true(guest_now > guest_then && guest_now - guest_then < 1000000);
    for (unsigned v = 0; v < NVCPUS; v++)
        assert_int_equal(vm->vcpus[v].arch.hctl.htimedelta, vm->time_offset);
    /* Restored twice: the same. */
    assert_int_equal(restore_from(image, image_len, err, sizeof(err)), 0);
    assert_int_equal(digest().ram, before.ram);
}

/* Every refused restore leaves the VM as it was. */
static void expect_refused(uint8_t *img, size_t len, const char *what)
{
    char err[192] = "";
    struct digest before = digest();
    int rc = restore_from(img, len, err, sizeof(err));
    if (rc >= 0)
        fail_msg("%s: restored", what);
    struct digest after = digest();
    if (memcmp(&before, &after, sizeof(before)) != 0)
        fail_msg("%s: refused (%s) but the VM changed", what, err);
}

static void test_damage(void **state)
{
    (void)state;
    static uint8_t bad[IMAGE_MAX];
    char what[64];
    dirty_vm(3);
    take();
    dirty_vm(5);
    /* Every byte of everything but RAM pages, and every 251st byte of those. */
    size_t ram_start = 0;
    for (size_t i = 0; i + 8 <= image_len; i++) {
        if (memcmp(image + i, "\x07\x00\x00\x00\x00\x00\x00\x00", 8) == 0) {
            ram_start = i; /* the first RAM section's header */
            break;
        }
    }
    assert_true(ram_start > 0);
    for (size_t i = 0; i < image_len; i += (i < ram_start + 200 ? 1 : 251)) {
        memcpy(bad, image, image_len);
        bad[i] ^= 0x20;
        snprintf(what, sizeof(what), "byte %zu flipped", i);
        expect_refused(bad, image_len, what);
    }
    for (size_t len = 0; len < image_len; len += (len < ram_start + 200 ? 1 : 509)) {
        snprintf(what, sizeof(what), "truncated at %zu", len);
        expect_refused(image, len, what);
    }
}

static void test_other_config(void **state)
{
    (void)state;
    dirty_vm(1);
    take();
    /* The same snapshot, for a VM with other RAM, other vCPUs, another ISA. */
    uint64_t size = vm->ram_size;
    vm->ram_size = size - 4096;
    expect_refused(image, image_len, "other RAM size");
    vm->ram_size = size;
    vm->nvcpus = 1;
    expect_refused(image, image_len, "other vCPU count");
    vm->nvcpus = NVCPUS;
    char c = vm->isa_str[5];
    vm->isa_str[5] = 'x';
    expect_refused(image, image_len, "other ISA");
    vm->isa_str[5] = c;
    char err[192];
    assert_int_equal(restore_from(image, image_len, err, sizeof(err)), 0);
}

/* A forged vCPU state that a guest could not have made: refused. */
static void test_forged_vcpu(void **state)
{
    (void)state;
    uint8_t buf[4096];
    struct vcpu_image img;
    char err[160];
    struct vcpu *v = &vm->vcpus[0];
    v->state = VCPU_BLOCKED; /* a hart that runs: its controls matter */
    long n = vcpu_state_save(v, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(vcpu_state_parse(v, buf, (size_t)n, &img, err, sizeof(err)), 0);
    /* Offsets: version, run, suspend, fwft_locked (16 bytes), gpr 1..31,
     * pc, sstatus, hstatus, then the CSRs: vsstatus ... henvcfg (10th),
     * hedeleg (11th), hvip (12th). */
    size_t csr0 = 16 + 31 * 8 + 3 * 8;
    const struct {
        size_t off;
        uint64_t value;
        const char *what;
    } forged[] = {
        {4, 7, "run state 7"},
        {8, 9, "suspend state 9"},
        {12, 1u << 3, "an FWFT lock on a reserved feature"},
        {csr0 + 10 * 8, ~0ull, "henvcfg with every bit"},
        {csr0 + 11 * 8, 0, "hedeleg 0"},
        {csr0 + 11 * 8, ~0ull, "hedeleg with every bit"},
        {csr0 + 14 * 8 + 3 * 8, 1, "a steal-time record at 1"},
    };
    for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
        uint8_t bad[4096];
        memcpy(bad, buf, (size_t)n);
        uint64_t val = forged[i].value;
        size_t width = forged[i].off < 16 ? 4 : 8;
        memcpy(bad + forged[i].off, &val, width);
        if (vcpu_state_parse(v, bad, (size_t)n, &img, err, sizeof(err)) >= 0)
            fail_msg("%s: accepted", forged[i].what);
    }
    /* Sanitized: hstatus and sstatus keep only the guest's bits. */
    uint8_t ok[4096];
    memcpy(ok, buf, (size_t)n);
    uint64_t all = ~0ull;
    memcpy(ok + 16 + 31 * 8 + 8, &all, 8);  /* sstatus */
    memcpy(ok + 16 + 31 * 8 + 16, &all, 8); /* hstatus */
    assert_int_equal(vcpu_state_parse(v, ok, (size_t)n, &img, err, sizeof(err)), 0);
    assert_int_equal(img.sstatus, SSTATUS_SPP | SSTATUS_SPIE);
    assert_int_equal(img.hstatus, HSTATUS_SPVP | HSTATUS_GVA);
    assert_int_not_equal(vcpu_state_parse(v, buf, (size_t)n - 1, &img, err, sizeof(err)), 0);
}

/* A device that refuses its state in the second pass: everything already
 * applied (the vCPUs) is put back. */
static void test_device_refuses(void **state)
{
    (void)state;
    char err[192];
    dirty_vm(11);
    uint8_t saved = vm->plic.priority[2];
    vm->plic.priority[2] = 200; /* no PLIC has it: its load refuses */
    take();
    vm->plic.priority[2] = saved;
    dirty_vm(12);
    struct digest before = digest();
    int rc = restore_from(image, image_len, err, sizeof(err));
    assert_true(rc < 0);
    assert_non_null(strstr(err, "PLIC"));
    struct digest after = digest();
    assert_memory_equal(&after, &before, sizeof(before));
}

static void test_not_paused(void **state)
{
    (void)state;
    char err[192];
    dirty_vm(1);
    take();
    vm->paused = false;
    assert_int_equal(restore_from(image, image_len, err, sizeof(err)), ERR_INVAL);
    assert_non_null(strstr(err, "pause"));
    struct snap_buf b = {image, IMAGE_MAX, 0};
    struct snap_sink s = {snap_buf_write, &b, 0, 0, 0};
    struct snapshot_stats st;
    assert_int_equal(snapshot_save(vm, &s, &st, NULL, err, sizeof(err)), ERR_INVAL);
    vm->paused = true;
    /* A sink with no room: ERR_NOSPC, said so. */
    struct snap_buf small = {image, 1000, 0};
    struct snap_sink s2 = {snap_buf_write, &small, 0, 0, 0};
    assert_int_equal(snapshot_save(vm, &s2, &st, NULL, err, sizeof(err)), ERR_NOSPC);
}

static void test_mem_target(void **state)
{
    (void)state;
    char err[192];
    struct snapshot_stats st;
    uint64_t free0 = pmem_free_bytes();
    assert_int_equal(snapshot_mem_restore(vm, NULL, err, sizeof(err)), ERR_NOENT);
    dirty_vm(21);
    struct digest before = digest();
    assert_int_equal(snapshot_mem_save(vm, &st, NULL, err, sizeof(err)), 0);
    assert_int_equal(snapshot_mem_size(vm, NULL), st.bytes);
    uint64_t free1 = pmem_free_bytes();
    dirty_vm(22);
    for (int i = 0; i < 20; i++)
        assert_int_equal(snapshot_mem_restore(vm, NULL, err, sizeof(err)), 0);
    assert_int_equal(digest().ram, before.ram);
    assert_int_equal(pmem_free_bytes(), free1); /* restores allocate nothing for good */
    assert_int_equal(snapshot_mem_save(vm, &st, NULL, err, sizeof(err)), 0);
    assert_int_equal(pmem_free_bytes(), free1); /* the old one is freed */
    snapshot_mem_drop(vm);
    assert_int_equal(pmem_free_bytes(), free0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_vcpu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_paused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_target, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
