/* SPDX-License-Identifier: Apache-2.0 */
/* Dirty logging (core/dirty.c, the G-stage half in core/gstage.c): huge
 * leaves split and write-protected on start, a store fault marks and
 * unprotects, fetch reports and re-protects, stop restores; bitmap edges;
 * a write-protect fault that is not logging's still stops the VM.  The
 * G-stage half runs on tables over fake host addresses (as test_gstage.c),
 * the VM half on a VM built on the host (host_vm.h) through vcpu_exit(). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/console.h"
#include "core/dirty.h"
#include "core/gstage.h"
#include "core/pmem.h"
#include "core/vm.h"
#include "tests/unit/fake_arch.h"
#include "tests/unit/host_vm.h"

#define KiB       1024ULL
#define MiB       (1024ULL * KiB)
#define GiB       (1024ULL * MiB)
#define PAGE      (4 * KiB)
#define ARENA     (64 * MiB)
#define GUEST_MEM (4 * MiB)

/* From the spec: PTE bits. */
#define PTE_V      (1ULL << 0)
#define PTE_W      (1ULL << 2)
#define PTE_RSW0   (1ULL << 8)
#define PTE_PPN(p) (((p) >> 10) & ((1ULL << 44) - 1))

static uint8_t *arena;

/* The raw leaf PTE for gpa (Sv39x4: 3 levels, 11-bit root index), and its
 * level. */
static uint64_t raw_leaf(const struct gstage *g, uint64_t gpa, int *level)
{
    const uint64_t *t = g->root;

    for (int l = g->levels - 1; l >= 0; l--) {
        unsigned bits = l == g->levels - 1 ? 11 : 9;
        uint64_t pte = t[(gpa >> (12 + 9 * l)) & ((1u << bits) - 1)];
        if (!(pte & PTE_V))
            return 0;
        if (pte & 0xe) {
            *level = l;
            return pte;
        }
        t = (const uint64_t *)(uintptr_t)(PTE_PPN(pte) << 12);
    }
    return 0;
}

static int setup_pmem(void **state)
{
    struct pmem_range r;

    (void)state;
    arena = aligned_alloc(2 * MiB, ARENA);
    if (!arena)
        return -1;
    r = (struct pmem_range){(uintptr_t)arena, ARENA};
    pmem_reset();
    return pmem_init(&r, 1, NULL, 0) == 0 ? 0 : -1;
}

static int teardown_pmem(void **state)
{
    (void)state;
    pmem_reset();
    free(arena);
    return 0;
}

/* 1 GiB + 2 MiB + 4 KiB of "RAM" at fake host addresses. */
#define G_BASE 0x80000000ULL
#define G_SIZE (GiB + 2 * MiB + PAGE)
#define H_BASE 0x1000000000ULL

static void map_three(struct gstage *g)
{
    assert_int_equal(gstage_init(g, GSTAGE_SV39X4), 0);
    assert_int_equal(gstage_map(g, G_BASE, H_BASE, GiB, GSTAGE_RWX), 0);
    assert_int_equal(gstage_map(g, G_BASE + GiB, H_BASE + GiB, 2 * MiB, GSTAGE_RWX), 0);
    assert_int_equal(
        gstage_map(g, G_BASE + GiB + 2 * MiB, H_BASE + GiB + 2 * MiB, PAGE, GSTAGE_RWX), 0);
}

static void test_split(void **state)
{
    struct gstage g;
    size_t before, tables;
    uint64_t hpa, psz;
    unsigned perm;

    (void)state;
    map_three(&g);
    before = g.table_pages;
    assert_int_equal(gstage_split_range(&g, G_BASE, G_SIZE, &tables), 0);
    /* 1 GiB: a table of 2 MiB leaves plus 512 tables of 4 KiB; 2 MiB: one. */
    assert_int_equal(tables, 1 + 512 + 1);
    assert_int_equal(g.table_pages, before + tables);
    for (uint64_t a = G_BASE; a < G_BASE + G_SIZE; a += 509 * PAGE) {
        assert_true(gstage_translate(&g, a, &hpa, &perm, &psz));
        assert_int_equal(hpa, a - G_BASE + H_BASE);
        assert_int_equal(psz, PAGE);
        assert_int_equal(perm, GSTAGE_RWX);
    }
    /* Splitting again needs nothing. */
    assert_int_equal(gstage_split_range(&g, G_BASE, G_SIZE, &tables), 0);
    assert_int_equal(tables, 0);
    gstage_destroy(&g);
    assert_int_equal(pmem_bad_frees(), 0);
}

static void test_split_nomem(void **state)
{
    struct gstage g;
    size_t before, tables;
    uint64_t psz;

    (void)state;
    map_three(&g);
    before = g.table_pages;
    /* Leave 100 pages free: 514 are needed. */
    while (pmem_free_bytes() > 100 * PAGE)
        assert_non_null(pmem_alloc_page());
    assert_int_equal(gstage_split_range(&g, G_BASE, G_SIZE, &tables), ERR_NOMEM);
    assert_int_equal(tables, 514);
    assert_int_equal(g.table_pages, before);
    assert_int_equal(pmem_free_bytes(), 100 * PAGE); /* every page taken went back */
    assert_true(gstage_translate(&g, G_BASE, NULL, NULL, &psz));
    assert_int_equal(psz, GiB);
    assert_true(gstage_translate(&g, G_BASE + GiB, NULL, NULL, &psz));
    assert_int_equal(psz, 2 * MiB);
}

static void test_protect_fault(void **state)
{
    struct gstage g;
    unsigned perm;
    int level;
    uint64_t pte, last = G_BASE + G_SIZE - PAGE;

    (void)state;
    map_three(&g);
    /* Huge leaves are left alone: protection is for 4 KiB leaves only. */
    assert_int_equal(gstage_log_protect_range(&g, G_BASE, G_SIZE, true), 1);
    assert_int_equal(gstage_split_range(&g, G_BASE, G_SIZE, NULL), 0);
    assert_int_equal(gstage_log_protect_range(&g, G_BASE, G_SIZE, true), G_SIZE / PAGE - 1);
    for (uint64_t a = G_BASE; a < G_BASE + G_SIZE; a += 4099 * PAGE) {
        pte = raw_leaf(&g, a, &level);
        assert_int_equal(level, 0);
        assert_int_equal(pte & (PTE_W | PTE_RSW0), PTE_RSW0);
        assert_true(gstage_translate(&g, a, NULL, &perm, NULL));
        assert_int_equal(perm, GSTAGE_READ | GSTAGE_EXEC);
    }
    /* The first fault unprotects; a second (stale TLB) finds it writable. */
    assert_int_equal(gstage_log_fault(&g, last), GSTAGE_LOG_UNPROTECTED);
    pte = raw_leaf(&g, last, &level);
    assert_int_equal(pte & (PTE_W | PTE_RSW0), PTE_W);
    assert_int_equal(gstage_log_fault(&g, last), GSTAGE_LOG_WRITABLE);
    /* Re-protect exactly that page. */
    assert_true(gstage_log_protect_page(&g, last));
    assert_false(gstage_log_protect_page(&g, last));
    assert_int_equal(gstage_log_fault(&g, last), GSTAGE_LOG_UNPROTECTED);
    /* Unmapped: not logging's. A read-only page not protected by logging:
     * not logging's either. */
    assert_int_equal(gstage_log_fault(&g, G_BASE + G_SIZE), ERR_NOENT);
    assert_int_equal(gstage_map(&g, G_BASE + 2 * GiB, H_BASE, PAGE, GSTAGE_READ), 0);
    assert_int_equal(gstage_log_fault(&g, G_BASE + 2 * GiB), ERR_NOENT);
    /* Stop: everything logging protected is writable again (one page already
     * is), the read-only page stays read-only. */
    assert_int_equal(gstage_log_protect_range(&g, G_BASE, 2 * GiB + PAGE, false),
                     G_SIZE / PAGE - 1);
    for (uint64_t a = G_BASE; a < G_BASE + G_SIZE; a += 4099 * PAGE) {
        pte = raw_leaf(&g, a, &level);
        assert_int_equal(pte & (PTE_W | PTE_RSW0), PTE_W);
    }
    assert_true(gstage_translate(&g, G_BASE + 2 * GiB, NULL, &perm, NULL));
    assert_int_equal(perm, GSTAGE_READ);
    gstage_destroy(&g);
}

/* ---- the VM half ---- */

static uint8_t kernel[8192];
static struct vm_config cfg;
static struct vm *vm;

static int setup_vm(void **state)
{
    char err[160] = "";

    (void)state;
    arena = host_vm_setup_quiet(ARENA, &cfg, "d", GUEST_MEM, 2, kernel, sizeof(kernel), &vm, err,
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

static enum exit_action store_fault(struct vcpu *v, uint64_t gpa)
{
    v->arch.ctx.scause = CAUSE_STORE_GUEST_PAGE_FAULT;
    v->arch.ctx.htval = gpa >> 2;
    v->arch.ctx.stval = 0x1000 | (gpa & 3);
    return vcpu_exit(v);
}

static bool writable(uint64_t gpa)
{
    unsigned perm;

    assert_true(gstage_translate(&vm->gs, gpa, NULL, &perm, NULL));
    return perm & GSTAGE_WRITE;
}

static void test_vm_cycle(void **state)
{
    char err[160];
    uint64_t bm[20];
    uint64_t base = vm->ram_base, psz;
    struct vcpu *v0 = &vm->vcpus[0], *v1 = &vm->vcpus[1];

    (void)state;
    assert_int_equal(vm->pieces[1], 2); /* two 2 MiB leaves */
    assert_int_equal(vm_dirty_fetch(vm, bm, 20), ERR_INVAL);
    assert_int_equal(vm_dirty_start(vm, err, sizeof(err)), 0);
    assert_int_equal(vm_dirty_start(vm, err, sizeof(err)), ERR_EXIST);
    assert_int_equal(vm->dirty.split_tables, 2);
    assert_int_equal(vm->dirty.pages, 1024);
    assert_int_equal(vm_dirty_words(vm), 16);
    assert_true(gstage_translate(&vm->gs, base, NULL, NULL, &psz));
    assert_int_equal(psz, PAGE);
    assert_false(writable(base));
    assert_false(writable(base + GUEST_MEM - 1));
    /* Start asked every vCPU for a G-stage flush and moved the generation. */
    assert_true(v0->arch.fences & VCPU_FENCE_GVMA);
    assert_true(v1->arch.fences & VCPU_FENCE_GVMA);
    assert_int_equal(vm->gs.gen, 1);

    /* Nothing written yet. */
    assert_int_equal(vm_dirty_fetch(vm, bm, 16), 0);
    assert_int_equal(vm->gs.gen, 1); /* nothing re-protected: no flush */

    /* A store fault marks, unprotects, flushes the page locally, resumes. */
    assert_int_equal(store_fault(v0, base + 5 * PAGE + 0x123), EXIT_RESUME);
    assert_int_equal(v0->exits[EXIT_DIRTY], 1);
    assert_int_equal(v0->exits[EXIT_GUEST_FAULT], 0);
    assert_int_equal(fake_arch.hfence_gpas, 1);
    assert_int_equal(fake_arch.hfence_gpa, base + 5 * PAGE);
    assert_true(writable(base + 5 * PAGE));
    assert_false(writable(base + 6 * PAGE));
    /* Another vCPU with a stale TLB entry: resumes, nothing marked twice. */
    assert_int_equal(store_fault(v1, base + 5 * PAGE), EXIT_RESUME);
    assert_int_equal(fake_arch.hfence_gpas, 2);
    /* The last page, and the last byte of RAM. */
    assert_int_equal(store_fault(v1, base + GUEST_MEM - 1), EXIT_RESUME);
    /* Vireo's own write across a page boundary marks both pages. */
    uint8_t two[2] = {1, 2};
    assert_int_equal(gpa_write(vm, base + 9 * PAGE - 1, two, 2), 0);

    memset(bm, 0xff, sizeof(bm));
    assert_int_equal(vm_dirty_fetch(vm, bm, 15), ERR_NOSPC);
    v0->arch.fences = v1->arch.fences = 0;
    assert_int_equal(vm_dirty_fetch(vm, bm, 20), 4);
    assert_int_equal(bm[0], (1ULL << 5) | (1ULL << 8) | (1ULL << 9));
    for (int w = 1; w < 15; w++)
        assert_int_equal(bm[w], 0);
    assert_int_equal(bm[15], 1ULL << 63);
    for (int w = 16; w < 20; w++)
        assert_int_equal(bm[w], 0); /* beyond the VM: zeroed */
    /* Re-protected exactly those, with every hart flushed. */
    assert_false(writable(base + 5 * PAGE));
    assert_false(writable(base + GUEST_MEM - PAGE));
    assert_int_equal(vm->gs.gen, 2);
    assert_true(v0->arch.fences & VCPU_FENCE_GVMA);
    /* Fetch cleared them. */
    assert_int_equal(vm_dirty_fetch(vm, bm, 16), 0);
    /* And the next store faults again. */
    assert_int_equal(store_fault(v0, base + 5 * PAGE), EXIT_RESUME);
    assert_int_equal(v0->exits[EXIT_DIRTY], 2);
    assert_int_equal(vm_dirty_fetch(vm, bm, 16), 1);

    /* Stop: every page writable, fetch refused, stores no longer logged. */
    vm_dirty_stop(vm);
    for (uint64_t a = base; a < base + GUEST_MEM; a += PAGE)
        assert_true(writable(a));
    assert_int_equal(vm_dirty_fetch(vm, bm, 16), ERR_INVAL);
    assert_int_equal(gpa_write(vm, base, two, 2), 0);
    /* Logging again starts from a clean bitmap. */
    assert_int_equal(vm_dirty_start(vm, err, sizeof(err)), 0);
    assert_int_equal(vm_dirty_fetch(vm, bm, 16), 0);
    vm_dirty_stop(vm);
    vm_dirty_stop(vm); /* twice is fine */
}

/* RAM that is not a whole number of 64-page words (nor of pages). */
static void test_vm_odd_size(void **state)
{
    char err[160];
    uint64_t bm[16];
    uint64_t saved = vm->ram_size;

    (void)state;
    vm->ram_size = GUEST_MEM - 3 * PAGE - 100; /* 1021 pages, the last one partial */
    assert_int_equal(vm_dirty_words(vm), 16);
    assert_int_equal(vm_dirty_start(vm, err, sizeof(err)), 0);
    assert_int_equal(vm->dirty.pages, 1021);
    assert_int_equal(store_fault(&vm->vcpus[0], vm->ram_base + vm->ram_size - 1), EXIT_RESUME);
    assert_int_equal(vm_dirty_fetch(vm, bm, 16), 1);
    assert_int_equal(bm[15], 1ULL << (1020 % 64));
    vm_dirty_stop(vm);
    vm->ram_size = saved;
}

/* A store to RAM that is read-only for another reason than logging stops
 * the VM, as it did before dirty logging existed. */
static void test_vm_foreign_fault(void **state)
{
    char err[160];
    uint64_t gpa = vm->ram_base + 7 * PAGE, hpa;

    (void)state;
    assert_int_equal(vm_dirty_start(vm, err, sizeof(err)), 0);
    assert_true(gstage_translate(&vm->gs, gpa, &hpa, NULL, NULL));
    assert_int_equal(gstage_unmap(&vm->gs, gpa, PAGE), 0);
    assert_int_equal(gstage_map(&vm->gs, gpa, hpa, PAGE, GSTAGE_READ | GSTAGE_EXEC), 0);
    assert_int_equal(store_fault(&vm->vcpus[0], gpa), EXIT_LEAVE);
    assert_int_equal(vm->vcpus[0].exits[EXIT_GUEST_FAULT], 1);
    assert_int_equal(vm->vcpus[0].exits[EXIT_DIRTY], 0);
    assert_int_equal(vm->end, VM_END_STOPPED);
    assert_non_null(strstr(vm->reason, "store/AMO guest-page fault at gpa 0x80007000"));
    /* vm_finish freed it (no vCPU was on a hart). */
    assert_int_equal(vm->state, VM_DONE);
}

/* Without logging, a store fault in RAM that finds a writable page (stale
 * TLB) resumes; one on a read-only page stops the VM. */
static void test_vm_no_logging(void **state)
{
    uint64_t gpa = vm->ram_base + 3 * PAGE, hpa;

    (void)state;
    assert_int_equal(store_fault(&vm->vcpus[0], gpa), EXIT_RESUME);
    assert_int_equal(vm->vcpus[0].exits[EXIT_DIRTY], 1);
    assert_true(gstage_translate(&vm->gs, gpa, &hpa, NULL, NULL));
    assert_int_equal(gstage_unmap(&vm->gs, gpa, PAGE), 0);
    assert_int_equal(gstage_map(&vm->gs, gpa, hpa, PAGE, GSTAGE_READ), 0);
    assert_int_equal(store_fault(&vm->vcpus[0], gpa), EXIT_LEAVE);
    assert_int_equal(vm->end, VM_END_STOPPED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_split, setup_pmem, teardown_pmem),
        cmocka_unit_test_setup_teardown(test_split_nomem, setup_pmem, teardown_pmem),
        cmocka_unit_test_setup_teardown(test_protect_fault, setup_pmem, teardown_pmem),
        cmocka_unit_test_setup_teardown(test_vm_cycle, setup_vm, teardown_vm),
        cmocka_unit_test_setup_teardown(test_vm_odd_size, setup_vm, teardown_vm),
        cmocka_unit_test_setup_teardown(test_vm_foreign_fault, setup_vm, teardown_vm),
        cmocka_unit_test_setup_teardown(test_vm_no_logging, setup_vm, teardown_vm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
