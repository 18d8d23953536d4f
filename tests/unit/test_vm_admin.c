/* SPDX-License-Identifier: Apache-2.0 */
/* VMs added and deleted at run time (core/vm_admin.c) on VMs built on the
 * host: run-time bundles are made here (vireo.dtb written with lib/fdt.h,
 * a nop kernel, wrapped in cpio newc) in memory from pmem, as the control
 * plane will hand them over.  100 cycles of add, boot, stop and delete of a
 * 256 MiB VM leave free memory exactly where it was, in 2 MiB blocks every
 * time; a VM that does not fit is refused with the figures before anything
 * is touched; every refusal of vm_add says what and frees the bundle;
 * delete refuses a VM that runs; a slot reused by a new VM shows nothing of
 * the old one (snapshot, console log, binding, counters); the table works
 * with holes in the middle, boot-bundle VMs included. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/console.h"
#include "core/snapshot.h"
#include "core/vconsole.h"
#include "core/vm_admin.h"
#include "core/vm_life.h"
#include "lib/cpio.h"
#include "lib/err.h"
#include "lib/fdt.h"
#include "tests/unit/bundle_testlib.h"
#include "tests/unit/host_vm.h"

#define MiB       (1ull << 20)
#define ARENA     (320 * MiB)
#define NHARTS    4
#define KERNEL_SZ 8192

static uint8_t *arena;
static uint64_t free_at_start; /* with no VM at all */

/* ---- run-time bundles ------------------------------------------------------------- */

/* One VM node; zero fields: 16 MiB, floating, no devices. */
struct tvm {
    const char *name;
    uint64_t mem;
    bool pinned;
    uint32_t pin;
    const uint8_t *mac; /* a net node with this address */
    bool disk;          /* disk0 on host disk 0: 1 MiB at disk_off */
    uint64_t disk_off;
    bool snap; /* a snapshot region on host disk 0: 1 MiB at snap_off */
    uint64_t snap_off;
};

static uint8_t dtb[16384];
static uint8_t ar[65536];

static size_t ar_entry(size_t off, const char *name, const void *data, size_t size)
{
    size_t end = bundle_testlib_cpio(ar, sizeof(ar), off, name, data, size);

    assert_true(end != 0);
    return end;
}

/* The archive of n VMs in ar[]; returns its size. */
static size_t archive(const struct tvm *tv, int n)
{
    static uint8_t kernel[KERNEL_SZ];
    struct fdt_writer w;

    memset(kernel, 0x13, sizeof(kernel)); /* a raw image of nops */
    fdtw_init(&w, dtb, sizeof(dtb));
    fdtw_begin_node(&w, "");
    fdtw_prop_str(&w, "compatible", CONFIG_COMPATIBLE);
    fdtw_begin_node(&w, "vms");
    for (int i = 0; i < n; i++) {
        const struct tvm *v = &tv[i];

        fdtw_begin_node(&w, v->name);
        fdtw_prop_u64(&w, "memory", v->mem ? v->mem : 16 * MiB);
        if (v->pinned)
            fdtw_prop_u32(&w, "pin", v->pin);
        fdtw_prop_str(&w, "kernel", "kernel");
        if (v->snap) {
            fdtw_prop_u32(&w, "snapshot-disk", 0);
            fdtw_prop_u64(&w, "snapshot-offset", v->snap_off);
            fdtw_prop_u64(&w, "snapshot-size", MiB);
        }
        if (v->mac) {
            fdtw_begin_node(&w, "net");
            fdtw_prop(&w, "mac", v->mac, 6);
            fdtw_end_node(&w);
        }
        if (v->disk) {
            fdtw_begin_node(&w, "disk0");
            fdtw_prop_u32(&w, "host-disk", 0);
            fdtw_prop_u64(&w, "offset", v->disk_off);
            fdtw_prop_u64(&w, "size", MiB);
            fdtw_end_node(&w);
        }
        fdtw_end_node(&w);
    }
    fdtw_end_node(&w);
    fdtw_end_node(&w);
    int len = fdtw_finish(&w);
    assert_true(len > 0);
    size_t off = ar_entry(0, CONFIG_DTB_NAME, dtb, (size_t)len);
    off = ar_entry(off, "kernel", kernel, sizeof(kernel));
    return ar_entry(off, CPIO_TRAILER, NULL, 0);
}

/* The bundle in pmem, as vm_add takes it. */
static void *bundle_of(const struct tvm *tv, int n, size_t *size)
{
    *size = archive(tv, n);
    void *b = pmem_alloc(*size, 4096);
    assert_non_null(b);
    memcpy(b, ar, *size);
    return b;
}

/* Adds one VM: its slot, or the error with err filled. */
static int add(const struct tvm *v, char *err, size_t errlen)
{
    size_t size;
    void *b = bundle_of(v, 1, &size);

    return vm_add(b, size, NHARTS, err, errlen);
}

static struct vm *add_ok(const struct tvm *v)
{
    char err[256] = "";
    int slot = add(v, err, sizeof(err));

    if (slot < 0)
        fail_msg("vm_add %s: %s", v->name, err);
    assert_true(slot < VM_MAX);
    assert_int_equal(vms[slot].state, VM_DONE);
    assert_string_equal(vms[slot].name, v->name);
    return &vms[slot];
}

static void boot_ok(struct vm *vm)
{
    char err[256];

    if (vm_boot(vm, err, sizeof(err)) < 0)
        fail_msg("vm_boot %s: %s", vm->name, err);
    assert_int_equal(vm->state, VM_RUNNING);
}

/* Stopped as `vm stop` does; no vCPU is on a hart, so it finishes now. */
static void stop(struct vm *vm)
{
    vm_end(vm, VM_END_STOPPED, "by the test");
    assert_int_equal(vm->state, VM_DONE);
}

static void delete_ok(struct vm *vm)
{
    char err[256];

    if (vm_delete(vm, err, sizeof(err)) < 0)
        fail_msg("vm_delete %s: %s", vm->name, err);
    assert_false(vm_in_use(vm));
}

/* ---- fixture -------------------------------------------------------------------- */

static void discard(const char *s, size_t n)
{
    (void)s;
    (void)n;
}

static int setup(void **state)
{
    (void)state;
    char err[160] = "";

    arena = host_vm_init(ARENA, err, sizeof(err));
    if (!arena)
        fail_msg("host_vm_init: %s", err);
    console_set_output(discard);
    vconsole_test_reset();
    vm_set_delete_hook(snapshot_mem_drop);
    memset(vms, 0, sizeof(vms));
    vm_count = 0;
    free_at_start = pmem_free_bytes();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vm_set_delete_hook(NULL);
    pmem_reset();
    free(arena);
    return 0;
}

/* After each test: every VM stopped and deleted, all memory back. */
static int cleanup(void **state)
{
    (void)state;
    for (unsigned i = 0; i < vm_count; i++) {
        struct vm *vm = &vms[i];
        if (!vm_in_use(vm))
            continue;
        vm->paused = false;
        if (vm->state == VM_RUNNING)
            stop(vm);
        delete_ok(vm);
    }
    assert_int_equal(pmem_free_bytes(), free_at_start);
    assert_int_equal(pmem_bad_frees(), 0);
    return 0;
}

/* ---- tests -------------------------------------------------------------------- */

/* Add, boot, stop, delete a 256 MiB VM 100 times next to a VM that keeps
 * running: free memory comes back to the byte, and the RAM is in 2 MiB
 * blocks every time (nothing fragments it into 4 KiB pages).  Every tenth
 * cycle takes an in-memory snapshot, which the delete frees. */
static void test_cycles_do_not_leak_or_fragment(void **state)
{
    (void)state;
    struct vm *keep = add_ok(&(struct tvm){.name = "keep", .mem = 16 * MiB});
    boot_ok(keep);
    uint64_t before = pmem_free_bytes();

    for (unsigned i = 0; i < 100; i++) {
        struct vm *vm = add_ok(&(struct tvm){.name = "cycle", .mem = 256 * MiB});
        boot_ok(vm);
        assert_int_equal(vm->pieces[0], 0);
        assert_int_equal(vm->pieces[1], 128);
        if (i % 10 == 9) {
            struct snapshot_stats st;
            char err[256];
            sched_pause_vm(vm, true);
            if (snapshot_mem_save(vm, &st, NULL, err, sizeof(err)) < 0)
                fail_msg("cycle %u: snapshot: %s", i, err);
            assert_true(snapshot_mem_size(vm, NULL) > 0);
            vm->paused = false;
        }
        stop(vm);
        delete_ok(vm);
        if (pmem_free_bytes() != before)
            fail_msg("cycle %u: %llu bytes free, %llu before", i,
                     (unsigned long long)pmem_free_bytes(), (unsigned long long)before);
    }
    assert_int_equal(keep->state, VM_RUNNING);
}

/* Booting a VM whose RAM does not fit is refused with the figures, and
 * nothing changes: not the running VM (its RAM, its state), not free
 * memory, not the refused VM (still off).  Once there is room it boots. */
static void test_boot_refused_when_ram_does_not_fit(void **state)
{
    (void)state;
    struct vm *a = add_ok(&(struct tvm){.name = "a", .mem = 64 * MiB});
    struct vm *big = add_ok(&(struct tvm){.name = "big", .mem = 256 * MiB});
    static const char pattern[] = "a's memory must survive";
    char got[sizeof(pattern)], err[256], want[128];

    boot_ok(a);
    assert_int_equal(gpa_write(a, VM_RAM_BASE + 5 * MiB, pattern, sizeof(pattern)), 0);
    uint64_t free = pmem_free_bytes();
    snprintf(want, sizeof(want), "), only %llu MiB free", (unsigned long long)(free >> 20));

    assert_int_equal(vm_boot(big, err, sizeof(err)), ERR_NOMEM);
    assert_non_null(strstr(err, "vm big needs 256 MiB of RAM (+ "));
    assert_non_null(strstr(err, " KiB for its tables and devices"));
    assert_non_null(strstr(err, want));
    assert_int_equal(pmem_free_bytes(), free);
    assert_int_equal(big->state, VM_DONE);
    assert_int_equal(big->end, VM_END_NONE);
    assert_int_equal(a->state, VM_RUNNING);
    assert_int_equal(gpa_read(a, VM_RAM_BASE + 5 * MiB, got, sizeof(got)), 0);
    assert_memory_equal(got, pattern, sizeof(pattern));

    stop(a);
    boot_ok(big);
    assert_int_equal(big->pieces[0], 0);
}

static void expect_refusal(const struct tvm *tv, int n, int code, const char *msg)
{
    char err[256] = "";
    size_t size;
    uint64_t free = pmem_free_bytes();
    unsigned count = vm_count;
    void *b = bundle_of(tv, n, &size);

    assert_int_equal(vm_add(b, size, NHARTS, err, sizeof(err)), code);
    if (strcmp(err, msg) != 0)
        fail_msg("got      \"%s\"\nexpected \"%s\"", err, msg);
    assert_int_equal(pmem_free_bytes(), free); /* the bundle was freed */
    assert_int_equal(vm_count, count);
}

static void test_add_refusals(void **state)
{
    (void)state;
    static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 1};
    struct vm *a = add_ok(
        &(struct tvm){.name = "a", .mac = mac, .disk = true, .snap = true, .snap_off = 8 * MiB});
    char err[256] = "";

    /* Not a bundle at all. */
    void *junk = pmem_alloc(4096, 4096);
    memset(junk, 'x', 4096);
    assert_int_equal(vm_add(junk, 4096, NHARTS, err, sizeof(err)), ERR_INVAL);
    assert_non_null(strstr(err, "config: bundle: not a valid cpio newc archive"));
    assert_int_equal(vm_add(NULL, 0, NHARTS, err, sizeof(err)), ERR_INVAL);
    assert_non_null(strstr(err, "bundle: empty"));

    expect_refusal((const struct tvm[]){{.name = "b"}, {.name = "c"}}, 2, ERR_INVAL,
                   "bundle: holds 2 VMs (a VM added at run time comes alone)");
    expect_refusal(&(struct tvm){.name = "a"}, 1, ERR_EXIST,
                   "vm a exists already (names are unique)");
    expect_refusal(&(struct tvm){.name = "b", .mac = mac}, 1, ERR_EXIST,
                   "config: /vms/b/net: property mac: same address as /vms/a/net");
    expect_refusal(&(struct tvm){.name = "b", .disk = true, .disk_off = 512 * 1024}, 1, ERR_EXIST,
                   "config: /vms/b/disk0: overlaps /vms/a/disk0 (the same region of a host disk)");
    expect_refusal(&(struct tvm){.name = "b", .snap = true, .snap_off = 512 * 1024}, 1, ERR_EXIST,
                   "config: /vms/b: property snapshot-offset: the snapshot region overlaps "
                   "/vms/a/disk0 (the same region of host disk 0)");
    expect_refusal(&(struct tvm){.name = "b", .snap = true, .snap_off = 8 * MiB + 4096}, 1,
                   ERR_EXIST,
                   "config: /vms/b: property snapshot-offset: the snapshot region overlaps "
                   "/vms/a's (on host disk 0)");
    expect_refusal(&(struct tvm){.name = "b", .disk = true, .disk_off = 8 * MiB}, 1, ERR_EXIST,
                   "config: /vms/a: property snapshot-offset: the snapshot region overlaps "
                   "/vms/b/disk0 (the same region of host disk 0)");
    expect_refusal(&(struct tvm){.name = "b", .pinned = true, .pin = NHARTS}, 1, ERR_INVAL,
                   "config: /vms/b: property pin: vCPU 0: host hart 4 does not exist (the machine "
                   "has 4 harts; -1 floats)");

    /* What does not clash is fine: another MAC, the next region. */
    static const uint8_t mac2[6] = {0x02, 0, 0, 0, 0, 2};
    add_ok(&(struct tvm){.name = "b", .mac = mac2, .disk = true, .disk_off = MiB});

    /* Every slot taken. */
    char name[16];
    for (unsigned i = 2; i < VM_MAX; i++) {
        snprintf(name, sizeof(name), "v%u", i);
        add_ok(&(struct tvm){.name = name, .mem = 2 * MiB});
    }
    expect_refusal(&(struct tvm){.name = "late"}, 1, ERR_NOSPC,
                   "vm late: no free VM slot (at most 16 VMs)");
    /* A delete makes room, in that slot. */
    unsigned slot = a->index;
    delete_ok(a);
    assert_int_equal(add_ok(&(struct tvm){.name = "late"})->index, slot);
}

static unsigned escapes;

static void shell_typed(void *ctx, char c)
{
    (void)ctx;
    (void)c;
}

static void shell_escaped(void *ctx)
{
    (void)ctx;
    escapes++;
}

/* Delete refuses a VM that is running, paused, stopping (or rebooting),
 * and a slot that is free already. */
static void test_delete_refuses_running(void **state)
{
    (void)state;
    struct vm *a = add_ok(&(struct tvm){.name = "a"});
    char err[256];

    boot_ok(a);
    assert_int_equal(vm_delete(a, err, sizeof(err)), ERR_STATE);
    assert_string_equal(err, "vm a is running: only a VM that is off or stopped can be deleted");
    sched_pause_vm(a, true);
    assert_int_equal(vm_delete(a, err, sizeof(err)), ERR_STATE);
    assert_string_equal(err, "vm a is paused: only a VM that is off or stopped can be deleted");
    sched_pause_vm(a, false);
    /* A vCPU still on a hart: the VM is stopping until it leaves. */
    a->running = 1;
    vm_end(a, VM_END_STOPPED, "by the test");
    assert_int_equal(a->state, VM_STOPPING);
    assert_int_equal(vm_delete(a, err, sizeof(err)), ERR_STATE);
    assert_string_equal(err, "vm a is stopping: only a VM that is off or stopped can be deleted");
    a->running = 0;
    vm_finish(a);
    assert_int_equal(a->state, VM_DONE);
    assert_true(vm_in_use(a));
    assert_ptr_equal(vm_find("a"), a);
    delete_ok(a);
    assert_null(vm_find("a"));
    assert_int_equal(vm_delete(a, err, sizeof(err)), ERR_NOENT);
}

/* A slot reused by a new VM (same name even) sees nothing of the old one:
 * no snapshot, no console log or queued input, no binding, no counters,
 * no dirty log; the old VM's memory is all back first. */
static void test_slot_reuse_is_clean(void **state)
{
    (void)state;
    static const struct vconsole_shell sh = {shell_typed, shell_escaped, NULL};
    struct vm *old = add_ok(&(struct tvm){.name = "a"});
    char err[256], log[64];
    uint64_t total;
    unsigned slot = old->index;

    vconsole_set_shell(&sh);
    boot_ok(old);
    vconsole_output(&old->con, "secret\n", 7);
    vconsole_port_push(&old->con, "typed", 5);
    vconsole_bind(&old->con);
    assert_int_equal(vm_dirty_start(old, err, sizeof(err)), 0);
    sched_pause_vm(old, true);
    struct snapshot_stats st;
    assert_int_equal(snapshot_mem_save(old, &st, NULL, err, sizeof(err)), 0);
    old->paused = false;
    stop(old);
    assert_int_equal(old->end, VM_END_STOPPED);
    escapes = 0;
    delete_ok(old);
    assert_null(vconsole_bound()); /* the console came back to the shell */
    assert_int_equal(escapes, 1);
    assert_int_equal(pmem_free_bytes(), free_at_start);

    struct vm *vm = add_ok(&(struct tvm){.name = "a"});
    assert_int_equal(vm->index, slot);
    assert_int_equal(snapshot_mem_size(vm, NULL), 0);
    assert_int_equal(snapshot_mem_restore(vm, NULL, err, sizeof(err)), ERR_NOENT);
    assert_int_equal(vconsole_port_log(&vm->con, log, sizeof(log), &total), 0);
    assert_int_equal(total, 0);
    assert_int_equal(vconsole_port_read(&vm->con, log, sizeof(log)), 0);
    assert_int_equal(vm->end, VM_END_NONE);
    assert_string_equal(vm->reason, "");
    assert_int_equal(vm->boots, 0);
    assert_false(vm->dirty.on);
    assert_null(vm->dirty.bitmap);
    boot_ok(vm);
    assert_int_equal(vm->vcpus[0].exits[EXIT_SBI], 0);
    vconsole_set_shell(NULL);
}

/* The table with holes: boot-bundle VMs (vm_start_all) deleted in the
 * middle and at the front, new VMs filling those slots first, names looked
 * up over the slots in use only. */
static void test_holes_in_the_table(void **state)
{
    (void)state;
    static struct config boot;
    char err[256];
    size_t size = archive((const struct tvm[]){{.name = "v0"}, {.name = "v1"}, {.name = "v2"}}, 3);
    uint8_t *bundle = malloc(size); /* the boot bundle is not pmem's to free */

    memcpy(bundle, ar, size);
    if (config_load(bundle, size, NHARTS, &boot, err, sizeof(err)) < 0)
        fail_msg("config_load: %s", err);
    for (int i = 0; i < 3; i++)
        boot.vms[i].autostart = i != 1;
    unsigned first = vm_count;
    for (unsigned i = 0; i < first; i++)
        assert_false(vm_in_use(&vms[i])); /* cleaned up by the last test */
    vm_count = 0;
    assert_int_equal(vm_start_all(&boot), 3);
    assert_int_equal(vms[0].state, VM_RUNNING);
    assert_int_equal(vms[1].state, VM_DONE);

    delete_ok(&vms[1]);
    assert_null(vm_find("v1"));
    assert_ptr_equal(vm_find("v2"), &vms[2]);
    struct vm *n = add_ok(&(struct tvm){.name = "n"});
    assert_int_equal(n->index, 1);
    struct vm *m = add_ok(&(struct tvm){.name = "m"});
    assert_int_equal(m->index, 3);
    assert_int_equal(vm_count, 4);

    stop(&vms[0]);
    delete_ok(&vms[0]); /* a boot-bundle VM: its images stay where they are */
    assert_null(vm_find("v0"));
    struct vm *again = add_ok(&(struct tvm){.name = "v0"});
    assert_int_equal(again->index, 0);
    boot_ok(again);
    boot_ok(n);
    assert_ptr_equal(vm_find("n"), n);
    cleanup(NULL);
    free(bundle);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_cycles_do_not_leak_or_fragment, cleanup),
        cmocka_unit_test_teardown(test_boot_refused_when_ram_does_not_fit, cleanup),
        cmocka_unit_test_teardown(test_add_refusals, cleanup),
        cmocka_unit_test_teardown(test_delete_refuses_running, cleanup),
        cmocka_unit_test_teardown(test_slot_reuse_is_clean, cleanup),
        cmocka_unit_test_teardown(test_holes_in_the_table, cleanup),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
