/* SPDX-License-Identifier: Apache-2.0 */
/* The checked translation (gpa_map, core/guest_mem.c): what a device may
 * hand to the host's DMA or copy into without a bounce.  Two VMs built on
 * the host; ranges inside RAM come back as host segments that hold what
 * gpa_read reads there and lie in no other VM's RAM; a range that leaves
 * RAM, wraps, starts in a device (PLIC, a virtio slot) or covers a page
 * the G-stage table does not map is refused; too many segments is
 * ERR_NOSPC; gpa_written feeds dirty logging. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/dirty.h"
#include "core/gstage.h"
#include "core/guest_mem.h"
#include "core/pmem.h"
#include "core/vm.h"
#include "lib/err.h"
#include "tests/unit/fake_arch.h"
#include "tests/unit/host_vm.h"

#define MiB   (1024ULL * 1024)
#define ARENA (64 * MiB)
#define MEM   (4 * MiB)

static void *arena;
static struct vm_config cfg[2];
static uint8_t kernel[2][4096];
static struct vm *a, *b;

static int setup(void **state)
{
    (void)state;
    char err[160] = "";

    arena = host_vm_init(ARENA, err, sizeof(err));
    if (!arena)
        fail_msg("host_vm_init: %s", err);
    host_vm_config(&cfg[0], "a", MEM, 1, kernel[0], sizeof(kernel[0]));
    host_vm_config(&cfg[1], "b", MEM, 1, kernel[1], sizeof(kernel[1]));
    if (host_vm_create(&a, &cfg[0], err, sizeof(err)) != 0)
        fail_msg("vm a: %s", err);
    b = &vms[1];
    memset(b, 0, sizeof(*b));
    b->index = 1;
    b->cfg = &cfg[1];
    b->boots = 1;
    vm_count = 2;
    if (vm_create(b, &cfg[1], err, sizeof(err)) != 0)
        fail_msg("vm b: %s", err);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vm_destroy(b);
    vm_destroy(a);
    pmem_reset();
    free(arena);
    return 0;
}

/* Whether host address h is one of vm's RAM pages. */
static bool in_vm(struct vm *vm, uint64_t h)
{
    for (uint64_t g = vm->ram_base; g < vm->ram_base + vm->ram_size; g += 4096) {
        uint64_t hpa;
        if (gstage_translate(&vm->gs, g, &hpa, NULL, NULL) && h >= hpa && h < hpa + 4096)
            return true;
    }
    return false;
}

static void test_inside(void **state)
{
    (void)state;
    struct gm_seg segs[64];
    uint64_t base = a->ram_base;
    static uint8_t want[MEM];

    for (unsigned i = 0; i < 4096; i++)
        want[i] = (uint8_t)(i * 3 + 1);
    assert_int_equal(gpa_write(a, base + MEM - 8192 - 100, want, 4096), 0);
    /* A range across a page boundary, one byte, all of RAM. */
    int n = gpa_map(a, base + MEM - 8192 - 100, 4096, segs, 64);
    assert_true(n >= 1);
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        assert_memory_equal((void *)(uintptr_t)segs[i].addr, want + total, segs[i].len);
        assert_true(in_vm(a, segs[i].addr));
        assert_false(in_vm(b, segs[i].addr));
        total += segs[i].len;
    }
    assert_int_equal(total, 4096);
    assert_int_equal(gpa_map(a, base + MEM - 1, 1, segs, 64), 1);
    assert_int_equal(segs[0].len, 1);
    n = gpa_map(a, base, MEM, segs, 64);
    assert_true(n >= 1);
    total = 0;
    for (int i = 0; i < n; i++) {
        assert_true(in_vm(a, segs[i].addr) && in_vm(a, segs[i].addr + segs[i].len - 1));
        assert_false(in_vm(b, segs[i].addr));
        total += segs[i].len;
    }
    assert_int_equal(total, MEM);
    assert_int_equal(gpa_read(a, base, want, MEM), 0);
    total = 0;
    for (int i = 0; i < n; i++) {
        assert_memory_equal((void *)(uintptr_t)segs[i].addr, want + total, segs[i].len);
        total += segs[i].len;
    }
    /* Nothing to map: no segment. */
    assert_int_equal(gpa_map(a, base, 0, segs, 64), 0);
}

static void test_refused(void **state)
{
    (void)state;
    struct gm_seg segs[64];
    uint64_t base = a->ram_base;
    struct {
        uint64_t gpa, n;
        const char *what;
    } bad[] = {
        {base + MEM - 4096, 8192, "crossing out of RAM"},
        {base + MEM, 1, "just past RAM"},
        {base - 1, 2, "just before RAM"},
        {base + 4096, ~0ull - 4095, "wrapping length"},
        {~0ull - 10, 100, "wrapping address"},
        {VM_PLIC_BASE, 4096, "the PLIC"},
        {VM_VIRTIO_BASE, 512, "a virtio slot"},
        {0x10000000, 8, "the UART"},
        {0, 4096, "address 0"},
        {base + MEM + MEM, 4096, "where another VM's RAM would follow"},
    };

    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        segs[0] = (struct gm_seg){0x1234, 7};
        int r = gpa_map(a, bad[i].gpa, bad[i].n, segs, 64);
        if (r != ERR_RANGE)
            fail_msg("gpa_map %s (%#llx, %#llx): got %d, expected ERR_RANGE", bad[i].what,
                     (unsigned long long)bad[i].gpa, (unsigned long long)bad[i].n, r);
    }
    /* Too many segments for the room given. */
    assert_int_equal(gpa_map(a, base, 4096, segs, 0), ERR_NOSPC);
}

/* Each page is checked in the G-stage table: a page of RAM it does not
 * map (taken away) is refused, its neighbours are not. */
static void test_unmapped_page(void **state)
{
    (void)state;
    struct gm_seg segs[64];
    uint64_t base = a->ram_base, hole = base + 2 * MiB + 8192;
    uint64_t hpa;

    assert_true(gstage_translate(&a->gs, hole, &hpa, NULL, NULL));
    assert_int_equal(gstage_unmap(&a->gs, hole, 4096), 0);
    assert_int_equal(gpa_map(a, hole - 100, 200, segs, 64), ERR_RANGE);
    assert_int_equal(gpa_map(a, hole + 4095, 1, segs, 64), ERR_RANGE);
    assert_true(gpa_map(a, hole - 4096, 4096, segs, 64) >= 1);
    assert_true(gpa_map(a, hole + 4096, 4096, segs, 64) >= 1);
    assert_int_equal(gstage_map(&a->gs, hole, hpa, 4096, GSTAGE_RWX), 0);
    assert_true(gpa_map(a, hole - 100, 200, segs, 64) >= 1);
}

/* What a device wrote through the segments is dirty once noted. */
static void test_written_dirty(void **state)
{
    (void)state;
    char err[160];
    uint64_t bm[16];

    assert_int_equal(vm_dirty_start(a, err, sizeof(err)), 0);
    assert_int_equal(vm_dirty_fetch(a, bm, 16), 0);
    gpa_written(a, a->ram_base + 5 * 4096 + 10, 4096); /* pages 5 and 6 */
    gpa_written(a, a->ram_base + MEM - 1, 2);          /* outside: ignored */
    assert_int_equal(vm_dirty_fetch(a, bm, 16), 2);
    assert_int_equal(bm[0], (1ull << 5) | (1ull << 6));
    vm_dirty_stop(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inside),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_unmapped_page),
        cmocka_unit_test(test_written_dirty),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
