/* SPDX-License-Identifier: Apache-2.0 */
/* Host unit tests for core/gstage.c. Table pages come from pmem over a 2 MiB
 * aligned host buffer, so the tables are real memory the test can walk. The
 * walker here is written from the spec (Sv39/48/57 PTE format, x4 root), not
 * from gstage.c, so that PTE layout mistakes show up as mismatches. Mapped
 * host addresses are just numbers: nothing ever touches them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/gstage.h"
#include "core/pmem.h"

#define KiB      1024ULL
#define MiB      (1024ULL * KiB)
#define GiB      (1024ULL * MiB)
#define PAGE     (4 * KiB)
#define RAM_SIZE (64 * MiB)

/* PTE fields, from the spec. */
#define PTE_V        (1ULL << 0)
#define PTE_R        (1ULL << 1)
#define PTE_W        (1ULL << 2)
#define PTE_X        (1ULL << 3)
#define PTE_U        (1ULL << 4)
#define PTE_G        (1ULL << 5)
#define PTE_A        (1ULL << 6)
#define PTE_D        (1ULL << 7)
#define PTE_RWX      (PTE_R | PTE_W | PTE_X)
#define PTE_PPN_MASK (((1ULL << 44) - 1) << 10)

static uint8_t *ram;
static uint64_t B; /* ram as an address */

static const enum gstage_mode modes[] = {GSTAGE_SV39X4, GSTAGE_SV48X4, GSTAGE_SV57X4};
#define NMODES (sizeof(modes) / sizeof(modes[0]))

static const unsigned legal_perms[] = {GSTAGE_READ, GSTAGE_READ | GSTAGE_WRITE, GSTAGE_EXEC,
                                       GSTAGE_READ | GSTAGE_EXEC, GSTAGE_RWX};
#define NPERMS (sizeof(legal_perms) / sizeof(legal_perms[0]))

static void ram_init(uint64_t size)
{
    struct pmem_range r = {B, size};

    pmem_reset();
    assert_int_equal(pmem_init(&r, 1, NULL, 0), 0);
}

static int setup(void **state)
{
    (void)state;
    ram = aligned_alloc(2 * MiB, RAM_SIZE);
    if (!ram)
        return -1;
    B = (uint64_t)(uintptr_t)ram;
    pmem_reset();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pmem_reset();
    free(ram);
    return 0;
}

/* Pages held back from pmem so that exactly a chosen number stay free. */
#define HOG_MAX 4096
static void *hog[HOG_MAX];
static size_t nhog;

static void hog_until(uint64_t free_pages)
{
    while (pmem_free_bytes() > free_pages * PAGE) {
        void *p = pmem_alloc_page();

        assert_non_null(p);
        assert_true(nhog < HOG_MAX);
        hog[nhog++] = p;
    }
    assert_int_equal(pmem_free_bytes(), free_pages * PAGE);
}

static void hog_release(void)
{
    while (nhog > 0)
        pmem_free(hog[--nhog], PAGE);
}

static uint64_t limit_of(const struct gstage *g)
{
    return 1ULL << g->gpa_bits;
}

static uint64_t level_size(int level)
{
    return 1ULL << (12 + 9 * level);
}

/* The root takes the 2 extra guest-physical bits: 11 index bits, not 9. */
static size_t raw_index(const struct gstage *g, int level, uint64_t gpa)
{
    unsigned bits = level == g->levels - 1 ? 11 : 9;

    return (size_t)(gpa >> (12 + 9 * level)) & ((1u << bits) - 1);
}

static const uint64_t *raw_table(uint64_t pte)
{
    return (const uint64_t *)(uintptr_t)((pte & PTE_PPN_MASK) >> 10 << 12);
}

/* Non-leaf PTEs: V and a PPN only (D, A, U reserved; G unused at G-stage;
 * bits 63:54 reserved), pointing at a page-aligned table in pmem's RAM. */
static void check_nonleaf(uint64_t pte)
{
    uint64_t t = (uint64_t)(uintptr_t)raw_table(pte);

    assert_int_equal(pte & ~PTE_PPN_MASK, PTE_V);
    assert_true(t >= B && t + PAGE <= B + RAM_SIZE);
}

/* Leaf PTEs: V, U, A, D, a legal R/W/X, nothing else outside the PPN, and a
 * PPN aligned to the leaf size (a misaligned superpage faults). */
static void check_leaf(uint64_t pte, int level)
{
    uint64_t flags = pte & ~PTE_PPN_MASK;
    uint64_t perm = pte & PTE_RWX;
    uint64_t pa = (pte & PTE_PPN_MASK) >> 10 << 12;

    assert_int_equal(flags & ~PTE_RWX, PTE_V | PTE_U | PTE_A | PTE_D);
    assert_true(perm != 0 && perm != PTE_W && perm != (PTE_W | PTE_X));
    assert_int_equal(pa % level_size(level), 0);
}

/* Walk to gpa the way the hardware does. Returns the leaf PTE (0 if none) and
 * its level. */
static uint64_t raw_walk(const struct gstage *g, uint64_t gpa, int *level_out)
{
    const uint64_t *t = g->root;

    for (int level = g->levels - 1; level >= 0; level--) {
        uint64_t pte = t[raw_index(g, level, gpa)];

        *level_out = level;
        if (!(pte & PTE_V))
            return 0;
        if (pte & PTE_RWX) {
            check_leaf(pte, level);
            return pte;
        }
        assert_true(level > 0);
        check_nonleaf(pte);
        t = raw_table(pte);
    }
    fail_msg("walk fell off level 0");
    return 0;
}

/* Every table reachable, checked: well-formed PTEs and no empty non-root
 * table. Returns the 4 KiB pages of tables, root included. */
static size_t raw_tables(const struct gstage *g, const uint64_t *t, int level)
{
    size_t entries = level == g->levels - 1 ? 2048 : 512;
    size_t pages = level == g->levels - 1 ? 4 : 1;
    size_t valid = 0;

    for (size_t i = 0; i < entries; i++) {
        uint64_t pte = t[i];

        if (!(pte & PTE_V))
            continue;
        valid++;
        if (pte & PTE_RWX) {
            assert_true(level <= 2);
            check_leaf(pte, level);
        } else {
            assert_true(level > 0);
            check_nonleaf(pte);
            pages += raw_tables(g, raw_table(pte), level - 1);
        }
    }
    if (level != g->levels - 1)
        assert_true(valid > 0);
    return pages;
}

static void check_structure(const struct gstage *g)
{
    assert_int_equal(raw_tables(g, g->root, g->levels - 1), g->table_pages);
}

static void init_ok(struct gstage *g, enum gstage_mode mode)
{
    assert_int_equal(gstage_init(g, mode), 0);
}

/* One leaf of size page_size at gpa (aligned) mapping hpa with perm. */
static void expect_leaf(const struct gstage *g, uint64_t gpa, uint64_t hpa, unsigned perm,
                        uint64_t page_size)
{
    uint64_t probes[] = {0, PAGE, page_size / 2 + 8, page_size - 1};
    int level;
    uint64_t pte = raw_walk(g, gpa, &level);

    assert_int_not_equal(pte, 0);
    assert_int_equal(level_size(level), page_size);
    assert_int_equal((pte & PTE_PPN_MASK) >> 10 << 12, hpa);
    assert_int_equal(pte & PTE_RWX, perm);
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        uint64_t h = 0, ps = 0;
        unsigned p = 0;

        if (probes[i] >= page_size)
            continue;
        assert_true(gstage_translate(g, gpa + probes[i], &h, &p, &ps));
        assert_int_equal(h, hpa + probes[i]);
        assert_int_equal(p, perm);
        assert_int_equal(ps, page_size);
    }
}

/* [gpa, gpa + size) -> hpa, in leaves of exactly page_size. */
static void expect_leaves(const struct gstage *g, uint64_t gpa, uint64_t hpa, uint64_t size,
                          unsigned perm, uint64_t page_size)
{
    for (uint64_t off = 0; off < size; off += page_size)
        expect_leaf(g, gpa + off, hpa + off, perm, page_size);
}

static void expect_unmapped(const struct gstage *g, uint64_t gpa, uint64_t size)
{
    for (uint64_t off = 0; off < size; off += PAGE)
        assert_false(gstage_translate(g, gpa + off, NULL, NULL, NULL));
}

static void test_levels_and_best_mode(void **state)
{
    (void)state;
    assert_int_equal(gstage_levels(GSTAGE_SV39X4), 3);
    assert_int_equal(gstage_levels(GSTAGE_SV48X4), 4);
    assert_int_equal(gstage_levels(GSTAGE_SV57X4), 5);
    assert_int_equal(gstage_levels((enum gstage_mode)0), 0);
    assert_int_equal(gstage_levels((enum gstage_mode)7), 0);
    assert_int_equal(gstage_levels((enum gstage_mode)11), 0);
    assert_int_equal(gstage_mode_best(0), GSTAGE_SV39X4);
    assert_int_equal(gstage_mode_best(39), GSTAGE_SV39X4);
    assert_int_equal(gstage_mode_best(47), GSTAGE_SV39X4);
    assert_int_equal(gstage_mode_best(48), GSTAGE_SV48X4);
    assert_int_equal(gstage_mode_best(57), GSTAGE_SV48X4);
}

static void test_init_and_destroy(void **state)
{
    static const uint64_t bits[] = {41, 50, 59};

    (void)state;
    ram_init(RAM_SIZE);
    for (size_t m = 0; m < NMODES; m++) {
        uint64_t before = pmem_free_bytes();
        struct gstage g;
        uint64_t root;

        init_ok(&g, modes[m]);
        root = (uint64_t)(uintptr_t)g.root;
        assert_int_equal(root % (16 * KiB), 0);
        assert_true(root >= B && root + 16 * KiB <= B + RAM_SIZE);
        assert_int_equal(g.mode, modes[m]);
        assert_int_equal(g.levels, 3 + (int)m);
        assert_int_equal(g.gpa_bits, bits[m]);
        assert_int_equal(g.table_pages, 4);
        assert_int_equal(pmem_free_bytes(), before - 16 * KiB);
        for (size_t i = 0; i < 2048; i++)
            assert_int_equal(g.root[i], 0);
        gstage_destroy(&g);
        assert_null(g.root);
        assert_int_equal(g.table_pages, 0);
        assert_int_equal(pmem_free_bytes(), before);
        /* Destroyed: harmless to destroy again, nothing to map into. */
        gstage_destroy(&g);
        assert_int_equal(gstage_map(&g, 0, 0, PAGE, GSTAGE_RWX), ERR_INVAL);
        assert_int_equal(gstage_unmap(&g, 0, PAGE), ERR_INVAL);
        assert_false(gstage_translate(&g, 0, NULL, NULL, NULL));
        assert_int_equal(pmem_bad_frees(), 0);
    }
}

static void test_init_errors(void **state)
{
    static const int bad[] = {0, 1, 7, 11, 15};
    struct gstage g;

    (void)state;
    ram_init(4 * MiB);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t before = pmem_free_bytes();

        assert_int_equal(gstage_init(&g, (enum gstage_mode)bad[i]), ERR_INVAL);
        assert_null(g.root);
        assert_int_equal(pmem_free_bytes(), before);
    }
    /* Three free pages are not a 16 KiB root. */
    hog_until(3);
    assert_int_equal(gstage_init(&g, GSTAGE_SV39X4), ERR_NOMEM);
    assert_null(g.root);
    assert_int_equal(pmem_free_bytes(), 3 * PAGE);
    gstage_destroy(&g);
    hog_release();
}

static void test_hgatp(void **state)
{
    static const uint16_t vmids[] = {0, 1, 0x1234, 0x3fff};

    (void)state;
    ram_init(RAM_SIZE);
    for (size_t m = 0; m < NMODES; m++) {
        struct gstage g;
        uint64_t ppn;

        init_ok(&g, modes[m]);
        ppn = (uint64_t)(uintptr_t)g.root >> 12;
        for (size_t i = 0; i < sizeof(vmids) / sizeof(vmids[0]); i++) {
            uint64_t h = gstage_hgatp(&g, vmids[i]);

            assert_int_equal(h >> 60, modes[m]);
            assert_int_equal((h >> 58) & 3, 0);
            assert_int_equal((h >> 44) & 0x3fff, vmids[i]);
            assert_int_equal(h & ((1ULL << 44) - 1), ppn);
            /* The 16 KiB root: PPN[1:0] read as zero in hardware. */
            assert_int_equal(h & 3, 0);
        }
        /* VMID is 14 bits; the rest must not spill into MODE's neighbours. */
        assert_int_equal(gstage_hgatp(&g, 0xffff), gstage_hgatp(&g, 0x3fff));
        assert_int_equal(gstage_hgatp(&g, 5), (uint64_t)modes[m] << 60 | 5ULL << 44 | ppn);
        gstage_destroy(&g);
    }
}

static void test_map_largest_leaves(void **state)
{
    (void)state;
    ram_init(RAM_SIZE);
    for (size_t m = 0; m < NMODES; m++) {
        struct gstage g;
        size_t pages;

        init_ok(&g, modes[m]);
        /* Both 1 GiB aligned: one gigapage, in the root for Sv39x4 and one
         * table further down per extra level. */
        assert_int_equal(gstage_map(&g, 0x80000000, 0x40000000, GiB, GSTAGE_READ | GSTAGE_WRITE),
                         0);
        expect_leaf(&g, 0x80000000, 0x40000000, GSTAGE_READ | GSTAGE_WRITE, GiB);
        assert_int_equal(g.table_pages, 4 + (size_t)(g.levels - 3));
        expect_unmapped(&g, 0x80000000 - PAGE, PAGE);
        expect_unmapped(&g, 0x80000000 + GiB, PAGE);

        /* gpa 2 MiB aligned but not 1 GiB: megapages, however large. */
        pages = g.table_pages;
        assert_int_equal(
            gstage_map(&g, 0x100200000, 0x80200000, 4 * MiB, GSTAGE_READ | GSTAGE_EXEC), 0);
        expect_leaves(&g, 0x100200000, 0x80200000, 4 * MiB, GSTAGE_READ | GSTAGE_EXEC, 2 * MiB);
        assert_int_equal(g.table_pages, pages + 1);

        /* hpa not 2 MiB aligned (gpa is): 4 KiB pages only. */
        assert_int_equal(gstage_map(&g, 0x200000000, 0x90001000, 4 * MiB, GSTAGE_RWX), 0);
        expect_leaves(&g, 0x200000000, 0x90001000, 4 * MiB, GSTAGE_RWX, PAGE);

        /* gpa and hpa congruent mod 1 GiB but gpa not 1 GiB aligned at all. */
        assert_int_equal(gstage_map(&g, 0x300001000, 0xc0001000, GiB, GSTAGE_READ), 0);
        expect_leaves(&g, 0x300001000, 0xc0001000, 2 * MiB - PAGE, GSTAGE_READ, PAGE);
        expect_leaves(&g, 0x300200000, 0xc0200000, GiB - 2 * MiB, GSTAGE_READ, 2 * MiB);
        expect_leaves(&g, 0x340000000, 0x100000000, PAGE, GSTAGE_READ, PAGE);

        /* A single execute-only page. */
        assert_int_equal(gstage_map(&g, 0x7000, 0x5000, PAGE, GSTAGE_EXEC), 0);
        expect_leaf(&g, 0x7000, 0x5000, GSTAGE_EXEC, PAGE);
        expect_unmapped(&g, 0x6000, PAGE);
        expect_unmapped(&g, 0x8000, PAGE);
        check_structure(&g);
        gstage_destroy(&g);
    }
}

/* One range that needs every size on the way up and down again. */
static void test_map_mixed_sizes(void **state)
{
    const uint64_t gpa = GiB - 2 * MiB - PAGE, size = GiB + 4 * MiB + 2 * PAGE;
    const uint64_t delta = 8 * GiB;

    (void)state;
    ram_init(RAM_SIZE);
    for (size_t m = 0; m < NMODES; m++) {
        struct gstage g;

        init_ok(&g, modes[m]);
        assert_int_equal(gstage_map(&g, gpa, gpa + delta, size, GSTAGE_RWX), 0);
        expect_leaves(&g, gpa, gpa + delta, PAGE, GSTAGE_RWX, PAGE);
        expect_leaves(&g, GiB - 2 * MiB, GiB - 2 * MiB + delta, 2 * MiB, GSTAGE_RWX, 2 * MiB);
        expect_leaves(&g, GiB, GiB + delta, GiB, GSTAGE_RWX, GiB);
        expect_leaves(&g, 2 * GiB, 2 * GiB + delta, 2 * MiB, GSTAGE_RWX, 2 * MiB);
        expect_leaves(&g, 2 * GiB + 2 * MiB, 2 * GiB + 2 * MiB + delta, PAGE, GSTAGE_RWX, PAGE);
        expect_unmapped(&g, gpa - PAGE, PAGE);
        expect_unmapped(&g, gpa + size, PAGE);
        check_structure(&g);
        gstage_destroy(&g);
    }
}

/* Raw PTEs at every level, every legal permission, and the root's extra two
 * index bits: addresses at and above 2^(gpa_bits - 2) use root entries 512 and
 * up, which a 4 KiB root would not have. */
static void test_pte_bits(void **state)
{
    (void)state;
    ram_init(RAM_SIZE);
    for (size_t m = 0; m < NMODES; m++) {
        struct gstage g;
        uint64_t quarter, top;
        int level;
        uint64_t pte;

        init_ok(&g, modes[m]);
        quarter = limit_of(&g) / 4;
        top = limit_of(&g) - GiB;
        for (size_t p = 0; p < NPERMS; p++) {
            uint64_t gpa = (uint64_t)p * 4 * GiB;
            uint64_t hpa = 0x123400000000ULL + (uint64_t)p * 4 * GiB;

            assert_int_equal(gstage_map(&g, gpa, hpa, PAGE, legal_perms[p]), 0);
            assert_int_equal(gstage_map(&g, gpa + 2 * MiB, hpa + 2 * MiB, 2 * MiB, legal_perms[p]),
                             0);
            assert_int_equal(gstage_map(&g, gpa + GiB, hpa + GiB, GiB, legal_perms[p]), 0);
            pte = raw_walk(&g, gpa, &level);
            assert_int_equal(level, 0);
            assert_int_equal(pte, hpa >> 12 << 10 | legal_perms[p] | PTE_V | PTE_U | PTE_A | PTE_D);
            pte = raw_walk(&g, gpa + 2 * MiB, &level);
            assert_int_equal(level, 1);
            assert_int_equal(pte, (hpa + 2 * MiB) >> 12 << 10 | legal_perms[p] | PTE_V | PTE_U |
                                      PTE_A | PTE_D);
            pte = raw_walk(&g, gpa + GiB, &level);
            assert_int_equal(level, 2);
            assert_int_equal(pte, (hpa + GiB) >> 12 << 10 | legal_perms[p] | PTE_V | PTE_U | PTE_A |
                                      PTE_D);
            assert_int_equal(pte & PTE_G, 0);
        }

        assert_int_equal(gstage_map(&g, quarter, 0x40000000, PAGE, GSTAGE_READ), 0);
        assert_int_equal(gstage_map(&g, top, 0x80000000, GiB, GSTAGE_READ), 0);
        assert_int_equal(gstage_map(&g, limit_of(&g) - 2 * GiB - PAGE, 0x1000, PAGE, GSTAGE_READ),
                         0);
        assert_true(g.root[512] & PTE_V);
        assert_true(g.root[2047] & PTE_V);
        assert_int_equal(g.root[511], 0);
        if (g.levels == 3)
            assert_int_equal(g.root[2047], 0x80000000ULL >> 12 << 10 | GSTAGE_READ | PTE_V | PTE_U |
                                               PTE_A | PTE_D);
        pte = raw_walk(&g, limit_of(&g) - 1, &level);
        assert_int_equal(level, 2);
        expect_leaf(&g, top, 0x80000000, GSTAGE_READ, GiB);
        expect_leaf(&g, quarter, 0x40000000, GSTAGE_READ, PAGE);
        check_structure(&g);
        gstage_destroy(&g);
    }
}

static void test_bad_arguments(void **state)
{
    static const unsigned bad_perms[] = {0,       GSTAGE_WRITE, GSTAGE_WRITE | GSTAGE_EXEC,
                                         1u,      1u << 4,      GSTAGE_READ | (1u << 4),
                                         1u << 5, 1u << 6,      GSTAGE_RWX | (1u << 7)};
    const uint64_t pa_limit = 1ULL << 56;

    (void)state;
    ram_init(RAM_SIZE);
    for (size_t m = 0; m < NMODES; m++) {
        struct gstage g;
        uint64_t lim, free_before;
        size_t pages;

        init_ok(&g, modes[m]);
        lim = limit_of(&g);
        free_before = pmem_free_bytes();
        pages = g.table_pages;

        assert_int_equal(gstage_map(&g, 0, 0, 0, GSTAGE_RWX), ERR_INVAL);
        assert_int_equal(gstage_map(&g, 0x800, 0, PAGE, GSTAGE_RWX), ERR_INVAL);
        assert_int_equal(gstage_map(&g, 0, 0x800, PAGE, GSTAGE_RWX), ERR_INVAL);
        assert_int_equal(gstage_map(&g, 0, 0, PAGE + 1, GSTAGE_RWX), ERR_INVAL);
        assert_int_equal(gstage_map(&g, lim, 0, PAGE, GSTAGE_RWX), ERR_INVAL);
        assert_int_equal(gstage_map(&g, lim - PAGE, 0, 2 * PAGE, GSTAGE_RWX), ERR_INVAL);
        assert_int_equal(gstage_map(&g, 0, 0, lim + PAGE, GSTAGE_RWX), ERR_INVAL);
        /* gpa + size wraps around to something small. */
        assert_int_equal(gstage_map(&g, 2 * PAGE, 0, 0ULL - PAGE, GSTAGE_RWX), ERR_INVAL);
        assert_int_equal(gstage_map(&g, 1ULL << 63, 0, PAGE, GSTAGE_RWX), ERR_INVAL);
        /* The host side must fit a PTE's 44-bit PPN. */
        assert_int_equal(gstage_map(&g, 0, pa_limit, PAGE, GSTAGE_RWX), ERR_INVAL);
        assert_int_equal(gstage_map(&g, 0, pa_limit - PAGE, 2 * PAGE, GSTAGE_RWX), ERR_INVAL);
        assert_int_equal(gstage_map(&g, 0, 0ULL - PAGE, 2 * PAGE, GSTAGE_RWX), ERR_INVAL);
        for (size_t i = 0; i < sizeof(bad_perms) / sizeof(bad_perms[0]); i++)
            assert_int_equal(gstage_map(&g, 0, 0, PAGE, bad_perms[i]), ERR_INVAL);

        assert_int_equal(gstage_unmap(&g, 0, 0), ERR_INVAL);
        assert_int_equal(gstage_unmap(&g, 0x800, PAGE), ERR_INVAL);
        assert_int_equal(gstage_unmap(&g, 0, PAGE - 1), ERR_INVAL);
        assert_int_equal(gstage_unmap(&g, lim, PAGE), ERR_INVAL);
        assert_int_equal(gstage_unmap(&g, lim - PAGE, 2 * PAGE), ERR_INVAL);
        assert_int_equal(gstage_unmap(&g, 2 * PAGE, 0ULL - PAGE), ERR_INVAL);
        assert_false(gstage_translate(&g, lim, NULL, NULL, NULL));
        assert_false(gstage_translate(&g, UINT64_MAX, NULL, NULL, NULL));

        assert_int_equal(pmem_free_bytes(), free_before);
        assert_int_equal(g.table_pages, pages);
        for (size_t i = 0; i < 2048; i++)
            assert_int_equal(g.root[i], 0);

        /* The edges themselves are fine. */
        assert_int_equal(gstage_map(&g, lim - PAGE, pa_limit - PAGE, PAGE, GSTAGE_READ), 0);
        expect_leaf(&g, lim - PAGE, pa_limit - PAGE, GSTAGE_READ, PAGE);
        assert_int_equal(gstage_map(&g, 0, 0, PAGE, GSTAGE_READ | GSTAGE_WRITE), 0);
        expect_leaf(&g, 0, 0, GSTAGE_READ | GSTAGE_WRITE, PAGE);
        assert_int_equal(gstage_unmap(&g, lim - PAGE, PAGE), 0);
        assert_int_equal(gstage_unmap(&g, 0, lim), 0);
        assert_int_equal(g.table_pages, 4);
        assert_int_equal(pmem_free_bytes(), free_before);
        gstage_destroy(&g);
    }
}

/* Probe addresses whose translations must survive a failed call. */
struct snapshot {
    bool ok[64];
    uint64_t hpa[64], size[64];
    unsigned perm[64];
    uint64_t free_bytes;
    size_t table_pages;
};

static void snapshot_take(const struct gstage *g, const uint64_t *gpas, size_t n,
                          struct snapshot *s)
{
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++)
        s->ok[i] = gstage_translate(g, gpas[i], &s->hpa[i], &s->perm[i], &s->size[i]);
    s->free_bytes = pmem_free_bytes();
    s->table_pages = g->table_pages;
}

static void snapshot_same(const struct gstage *g, const uint64_t *gpas, size_t n,
                          const struct snapshot *s)
{
    struct snapshot now;

    snapshot_take(g, gpas, n, &now);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(now.ok[i], s->ok[i]);
        if (!s->ok[i])
            continue;
        assert_int_equal(now.hpa[i], s->hpa[i]);
        assert_int_equal(now.perm[i], s->perm[i]);
        assert_int_equal(now.size[i], s->size[i]);
    }
    assert_int_equal(now.free_bytes, s->free_bytes);
    assert_int_equal(now.table_pages, s->table_pages);
    check_structure(g);
}

static void test_overlap(void **state)
{
    static const uint64_t probes[] = {
        0,          0x1000, 0x2000,         0x1ff000,       0x200000, 0x3ff000, 0x400000,
        GiB - PAGE, GiB,    GiB + 0x123000, 2 * GiB - PAGE, 2 * GiB,  5 * GiB};
    const size_t n = sizeof(probes) / sizeof(probes[0]);

    (void)state;
    ram_init(RAM_SIZE);
    for (size_t m = 0; m < NMODES; m++) {
        struct gstage g;
        struct snapshot s;

        init_ok(&g, modes[m]);
        assert_int_equal(gstage_map(&g, 0x200000, 0x10000000, 2 * MiB, GSTAGE_RWX), 0);
        assert_int_equal(gstage_map(&g, 0x1000, 0x20000000, PAGE, GSTAGE_READ), 0);
        assert_int_equal(gstage_map(&g, GiB, 4 * GiB, GiB, GSTAGE_READ), 0);
        snapshot_take(&g, probes, n, &s);

        /* Overlapping the start, the end, the middle, exactly, and from far
         * away; against 4 KiB, 2 MiB and 1 GiB leaves. */
        assert_int_equal(gstage_map(&g, 0x3ff000, 0x30000000, 2 * PAGE, GSTAGE_READ), ERR_EXIST);
        assert_int_equal(gstage_map(&g, 0x100000, 0x30000000, 0x101000, GSTAGE_READ), ERR_EXIST);
        assert_int_equal(gstage_map(&g, 0x300000, 0x30000000, PAGE, GSTAGE_READ), ERR_EXIST);
        assert_int_equal(gstage_map(&g, 0x200000, 0x10000000, 2 * MiB, GSTAGE_RWX), ERR_EXIST);
        assert_int_equal(gstage_map(&g, 0, 0, 2 * MiB, GSTAGE_READ), ERR_EXIST);
        assert_int_equal(gstage_map(&g, 0x2000, 0x30002000, GiB, GSTAGE_READ), ERR_EXIST);
        assert_int_equal(gstage_map(&g, 2 * GiB - PAGE, 0x30000000, 2 * PAGE, GSTAGE_READ),
                         ERR_EXIST);
        assert_int_equal(gstage_map(&g, GiB + 0x123000, 0x30000000, PAGE, GSTAGE_READ), ERR_EXIST);
        /* Huge and far-reaching: the conflict is the last page. */
        assert_int_equal(gstage_map(&g, 0x400000, 0x30400000, GiB - 0x400000 + PAGE, GSTAGE_READ),
                         ERR_EXIST);
        snapshot_same(&g, probes, n, &s);

        /* Right next to existing leaves is not overlap. */
        assert_int_equal(gstage_map(&g, 0x2000, 0x30002000, 0x1fe000, GSTAGE_READ), 0);
        assert_int_equal(gstage_map(&g, 0x400000, 0x30400000, GiB - 0x400000, GSTAGE_READ), 0);
        assert_int_equal(gstage_map(&g, 0, 0x50000000, PAGE, GSTAGE_READ), 0);
        assert_int_equal(gstage_map(&g, 2 * GiB, 0x50000000, PAGE, GSTAGE_READ), 0);
        expect_leaves(&g, 0x2000, 0x30002000, 0x1fe000, GSTAGE_READ, PAGE);
        expect_leaves(&g, 0x400000, 0x30400000, GiB - 0x400000, GSTAGE_READ, 2 * MiB);
        check_structure(&g);
        gstage_destroy(&g);
    }
}

/* Fail a map at every possible point by leaving k table pages free, and check
 * that each failure leaves the tables exactly as they were. With a page mapped
 * just below the range, some tables pre-exist: the undo must keep them. */
static void map_enomem_case(enum gstage_mode mode, bool premap)
{
    const uint64_t gpa = GiB - 8 * PAGE, size = 2 * MiB + 16 * PAGE, hpa = 0x40001000;
    uint64_t probes[] = {GiB - 16 * PAGE, gpa, gpa + PAGE, GiB, GiB + 2 * MiB, gpa + size - PAGE};
    const size_t n = sizeof(probes) / sizeof(probes[0]);
    struct gstage g;
    struct snapshot s;
    uint64_t k;
    int failures = 0;

    ram_init(4 * MiB);
    init_ok(&g, mode);
    if (premap)
        assert_int_equal(gstage_map(&g, GiB - 16 * PAGE, 0x1000, PAGE, GSTAGE_READ), 0);
    for (k = 0;; k++) {
        int err;

        hog_until(k);
        snapshot_take(&g, probes, n, &s);
        err = gstage_map(&g, gpa, hpa, size, GSTAGE_RWX);
        if (err == 0)
            break;
        assert_int_equal(err, ERR_NOMEM);
        snapshot_same(&g, probes, n, &s);
        expect_unmapped(&g, gpa, size);
        failures++;
        hog_release();
    }
    /* The tables needed: exactly the k that made it succeed. */
    assert_int_equal(g.table_pages, s.table_pages + k);
    assert_int_equal(pmem_free_bytes(), 0);
    assert_true(failures >= 3);
    hog_release();
    expect_leaves(&g, gpa, hpa, size, GSTAGE_RWX, PAGE);
    check_structure(&g);
    assert_int_equal(gstage_unmap(&g, gpa, size), 0);
    assert_int_equal(g.table_pages, s.table_pages);
    check_structure(&g);
    gstage_destroy(&g);
    assert_int_equal(pmem_bad_frees(), 0);
}

static void test_map_enomem_undoes(void **state)
{
    (void)state;
    for (size_t m = 0; m < NMODES; m++) {
        map_enomem_case(modes[m], false);
        map_enomem_case(modes[m], true);
    }
}

/* Unmapping 4 KiB in the middle of a gigapage keeps the rest, as 2 MiB leaves
 * plus 4 KiB leaves around the hole. */
static void test_unmap_splits_gigapage(void **state)
{
    const uint64_t gpa = 0x80000000, hpa = 0x40000000, hole = gpa + 0x12345000;

    (void)state;
    ram_init(RAM_SIZE);
    for (size_t m = 0; m < NMODES; m++) {
        struct gstage g;
        uint64_t free_before;
        size_t pages;

        init_ok(&g, modes[m]);
        free_before = pmem_free_bytes();
        assert_int_equal(gstage_map(&g, gpa, hpa, GiB, GSTAGE_RWX), 0);
        pages = g.table_pages;
        assert_int_equal(gstage_unmap(&g, hole, PAGE), 0);
        assert_int_equal(g.table_pages, pages + 2);
        for (uint64_t off = 0; off < GiB; off += PAGE) {
            uint64_t h, ps;
            unsigned p;
            bool in_block = (gpa + off) / (2 * MiB) == hole / (2 * MiB);

            if (gpa + off == hole) {
                assert_false(gstage_translate(&g, gpa + off, &h, &p, &ps));
                continue;
            }
            assert_true(gstage_translate(&g, gpa + off, &h, &p, &ps));
            assert_int_equal(h, hpa + off);
            assert_int_equal(p, GSTAGE_RWX);
            assert_int_equal(ps, in_block ? PAGE : 2 * MiB);
        }
        check_structure(&g);
        /* Unmapping the rest gives every table page back. */
        assert_int_equal(gstage_unmap(&g, gpa, GiB), 0);
        assert_int_equal(g.table_pages, 4);
        assert_int_equal(pmem_free_bytes(), free_before);
        expect_unmapped(&g, hole - 4 * PAGE, 8 * PAGE);
        gstage_destroy(&g);
    }
}

/* Splits at both ends need 4 table pages; with fewer, nothing changes. */
static void test_unmap_enomem_changes_nothing(void **state)
{
    static const uint64_t probes[] = {0,   GiB - 2 * MiB, GiB - PAGE,
                                      GiB, GiB + PAGE,    2 * GiB - PAGE};
    const size_t n = sizeof(probes) / sizeof(probes[0]);

    (void)state;
    for (size_t m = 0; m < NMODES; m++) {
        struct gstage g;
        struct snapshot s;
        uint64_t k;
        size_t base_pages;
        uint64_t free_mapped;

        ram_init(4 * MiB);
        init_ok(&g, modes[m]);
        assert_int_equal(gstage_map(&g, 0, 4 * GiB, 2 * GiB, GSTAGE_READ | GSTAGE_WRITE), 0);
        base_pages = g.table_pages;
        free_mapped = pmem_free_bytes();
        for (k = 0; k < 4; k++) {
            hog_until(k);
            snapshot_take(&g, probes, n, &s);
            assert_int_equal(gstage_unmap(&g, GiB - PAGE, 2 * PAGE), ERR_NOMEM);
            snapshot_same(&g, probes, n, &s);
            expect_leaves(&g, 0, 4 * GiB, 2 * GiB, GSTAGE_READ | GSTAGE_WRITE, GiB);
            hog_release();
        }
        hog_until(4);
        assert_int_equal(gstage_unmap(&g, GiB - PAGE, 2 * PAGE), 0);
        assert_int_equal(pmem_free_bytes(), 0);
        hog_release();
        assert_int_equal(g.table_pages, base_pages + 4);
        expect_unmapped(&g, GiB - PAGE, 2 * PAGE);
        expect_leaves(&g, 0, 4 * GiB, GiB - 2 * MiB, GSTAGE_READ | GSTAGE_WRITE, 2 * MiB);
        expect_leaves(&g, GiB - 2 * MiB, 5 * GiB - 2 * MiB, 2 * MiB - PAGE,
                      GSTAGE_READ | GSTAGE_WRITE, PAGE);
        expect_leaves(&g, GiB + PAGE, 5 * GiB + PAGE, 2 * MiB - PAGE, GSTAGE_READ | GSTAGE_WRITE,
                      PAGE);
        expect_leaves(&g, GiB + 2 * MiB, 5 * GiB + 2 * MiB, GiB - 2 * MiB,
                      GSTAGE_READ | GSTAGE_WRITE, 2 * MiB);
        check_structure(&g);

        /* A boundary on a 2 MiB line inside a gigapage needs one split only. */
        assert_int_equal(gstage_map(&g, 4 * GiB, 0, GiB, GSTAGE_READ), 0);
        hog_until(0);
        assert_int_equal(gstage_unmap(&g, 4 * GiB, 2 * MiB), ERR_NOMEM);
        hog_release();
        hog_until(1);
        assert_int_equal(gstage_unmap(&g, 4 * GiB, 2 * MiB), 0);
        hog_release();
        expect_leaves(&g, 4 * GiB + 2 * MiB, 2 * MiB, GiB - 2 * MiB, GSTAGE_READ, 2 * MiB);

        assert_int_equal(gstage_unmap(&g, 0, limit_of(&g)), 0);
        assert_int_equal(g.table_pages, 4);
        assert_int_equal(pmem_free_bytes(), free_mapped + (base_pages - 4) * PAGE);
        gstage_destroy(&g);
        assert_int_equal(pmem_bad_frees(), 0);
    }
}

static void test_unmap_holes_and_table_freeing(void **state)
{
    (void)state;
    ram_init(RAM_SIZE);
    for (size_t m = 0; m < NMODES; m++) {
        struct gstage g;
        uint64_t free_before, lim;

        init_ok(&g, modes[m]);
        lim = limit_of(&g);
        free_before = pmem_free_bytes();

        /* Nothing mapped: any range, the whole space included, is fine. */
        assert_int_equal(gstage_unmap(&g, 0, lim), 0);
        assert_int_equal(gstage_unmap(&g, 0x5000, 3 * PAGE), 0);
        assert_int_equal(g.table_pages, 4);
        assert_int_equal(pmem_free_bytes(), free_before);

        /* Scattered mappings of every size, over many tables. */
        assert_int_equal(gstage_map(&g, 0x1000, 0x1000, PAGE, GSTAGE_READ), 0);
        assert_int_equal(gstage_map(&g, 0x3ff000, 0x3ff000, 0x3000, GSTAGE_READ), 0);
        assert_int_equal(gstage_map(&g, 6 * MiB, 6 * MiB, 4 * MiB, GSTAGE_READ), 0);
        assert_int_equal(gstage_map(&g, 3 * GiB, GiB, 2 * GiB + 4 * PAGE, GSTAGE_READ), 0);
        assert_int_equal(gstage_map(&g, lim / 2 + 0x7000, 0x7000, 0x9000, GSTAGE_READ), 0);
        assert_int_equal(gstage_map(&g, lim - 3 * PAGE, 0x3000, 3 * PAGE, GSTAGE_READ), 0);
        check_structure(&g);

        /* Holes between them, a megapage cut at both ends, and the rest. */
        assert_int_equal(gstage_unmap(&g, 0x2000, 0x3fd000), 0);
        expect_leaf(&g, 0x1000, 0x1000, GSTAGE_READ, PAGE);
        expect_unmapped(&g, 0x2000, 0x3fd000);
        expect_leaves(&g, 0x3ff000, 0x3ff000, 0x3000, GSTAGE_READ, PAGE);
        assert_int_equal(gstage_unmap(&g, 7 * MiB, 2 * MiB), 0);
        expect_leaves(&g, 6 * MiB, 6 * MiB, MiB, GSTAGE_READ, PAGE);
        expect_unmapped(&g, 7 * MiB, 2 * MiB);
        expect_leaves(&g, 9 * MiB, 9 * MiB, MiB, GSTAGE_READ, PAGE);
        check_structure(&g);
        assert_int_equal(gstage_unmap(&g, 0, 16 * MiB), 0);
        assert_int_equal(gstage_unmap(&g, 3 * GiB + GiB / 2, 2 * GiB), 0);
        expect_leaves(&g, 3 * GiB, GiB, GiB / 2, GSTAGE_READ, 2 * MiB);
        assert_int_equal(gstage_unmap(&g, 2 * GiB, 2 * GiB), 0);
        assert_int_equal(gstage_unmap(&g, lim / 2, lim / 2 - PAGE), 0);
        expect_leaf(&g, lim - PAGE, 0x5000, GSTAGE_READ, PAGE);
        check_structure(&g);
        assert_int_equal(gstage_unmap(&g, lim - PAGE, PAGE), 0);
        assert_int_equal(g.table_pages, 4);
        assert_int_equal(pmem_free_bytes(), free_before);
        for (size_t i = 0; i < 2048; i++)
            assert_int_equal(g.root[i], 0);
        gstage_destroy(&g);
    }
}

static void test_whole_space(void **state)
{
    (void)state;
    ram_init(RAM_SIZE);
    /* Sv57x4 would need 2^29 gigapages: too many tables for the test. */
    for (size_t m = 0; m < 2; m++) {
        struct gstage g;
        uint64_t lim, free_before;

        init_ok(&g, modes[m]);
        lim = limit_of(&g);
        free_before = pmem_free_bytes();
        assert_int_equal(gstage_map(&g, 0, 0, lim, GSTAGE_RWX), 0);
        assert_int_equal(g.table_pages, m == 0 ? 4 : 4 + 2048);
        expect_leaf(&g, 0, 0, GSTAGE_RWX, GiB);
        expect_leaf(&g, lim - GiB, lim - GiB, GSTAGE_RWX, GiB);
        assert_int_equal(gstage_map(&g, lim - PAGE, 0, PAGE, GSTAGE_READ), ERR_EXIST);
        assert_int_equal(gstage_unmap(&g, 0, lim), 0);
        assert_int_equal(g.table_pages, 4);
        assert_int_equal(pmem_free_bytes(), free_before);
        gstage_destroy(&g);
    }
}

static void test_destroy_frees_everything(void **state)
{
    (void)state;
    ram_init(RAM_SIZE);
    for (size_t m = 0; m < NMODES; m++) {
        uint64_t start = pmem_free_bytes();
        struct gstage g;
        uint64_t lim;

        init_ok(&g, modes[m]);
        lim = limit_of(&g);
        for (uint64_t i = 0; i < 64; i++) {
            uint64_t gpa = (lim / 64) * i + i * (2 * MiB + PAGE);

            assert_int_equal(gstage_map(&g, gpa, i * 4 * MiB, 2 * MiB + 2 * PAGE, GSTAGE_READ), 0);
        }
        assert_int_equal(gstage_map(&g, 16 * GiB, 16 * GiB, 3 * GiB, GSTAGE_RWX), 0);
        assert_int_equal(gstage_unmap(&g, 17 * GiB + PAGE, PAGE), 0);
        check_structure(&g);
        assert_true(g.table_pages > 64);
        gstage_destroy(&g);
        assert_null(g.root);
        assert_int_equal(pmem_free_bytes(), start);
        assert_int_equal(pmem_bad_frees(), 0);
    }
}

/* Deterministic so failures reproduce. */
static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

#define WINDOW  (4 * GiB)
#define WPAGES  (WINDOW / PAGE)
#define OPS     400
#define NO_PERM 0

static uint64_t *model_hpa;
static uint8_t *model_perm; /* NO_PERM: unmapped */

static void model_check(const struct gstage *g, uint64_t base, uint64_t first, uint64_t count)
{
    for (uint64_t i = first; i < first + count && i < WPAGES; i++) {
        uint64_t gpa = base + i * PAGE, h = 0, ps = 0;
        unsigned p = 0;
        bool ok = gstage_translate(g, gpa, &h, &p, &ps);

        if (model_perm[i] == NO_PERM) {
            if (ok)
                fail_msg("gpa %#llx mapped, model says not", (unsigned long long)gpa);
            continue;
        }
        if (!ok || h != model_hpa[i] || p != model_perm[i])
            fail_msg("gpa %#llx: got %d %#llx perm %u, model %#llx perm %u",
                     (unsigned long long)gpa, ok, (unsigned long long)h, p,
                     (unsigned long long)model_hpa[i], model_perm[i]);
        /* A leaf never reaches beyond what the model has contiguous. */
        assert_int_equal(h % ps, gpa % ps);
    }
}

static void random_case(enum gstage_mode mode, uint64_t seed)
{
    static const uint64_t grains[] = {PAGE, PAGE, PAGE, 2 * MiB, 2 * MiB, GiB};
    struct gstage g;
    uint64_t base, free_before;
    int maps = 0, eexists = 0, unmaps = 0;

    rng_state = seed;
    init_ok(&g, mode);
    /* The top of the space, so the end-of-space edge gets exercised. */
    base = limit_of(&g) - WINDOW;
    free_before = pmem_free_bytes();
    memset(model_perm, NO_PERM, WPAGES);
    for (int op = 0; op < OPS; op++) {
        uint64_t grain = grains[rng() % 6];
        uint64_t start = rng() % (WINDOW / grain) * grain;
        uint64_t len = (1 + rng() % (grain == PAGE ? 64 : 4)) * grain;
        uint64_t first, count;

        /* Ranges that do not start or end on their grain force splits. */
        if (grain > PAGE && rng() % 2)
            start += rng() % (grain / PAGE) * PAGE;
        if (grain > PAGE && rng() % 2)
            len += rng() % (grain / PAGE) * PAGE;
        if (len > WINDOW - start)
            len = WINDOW - start;
        first = start / PAGE;
        count = len / PAGE;

        if (rng() % 100 < 55) {
            unsigned perm = legal_perms[rng() % NPERMS];
            /* Congruent host addresses allow huge leaves; random ones mostly
             * do not. */
            uint64_t hpa = rng() % 2 ? 8 * GiB + start : rng() % (1ULL << 40) & ~(PAGE - 1);
            bool busy = false;
            int err;

            for (uint64_t i = first; i < first + count; i++)
                busy = busy || model_perm[i] != NO_PERM;
            err = gstage_map(&g, base + start, hpa, len, perm);
            assert_int_equal(err, busy ? ERR_EXIST : 0);
            if (!busy) {
                for (uint64_t i = 0; i < count; i++) {
                    model_hpa[first + i] = hpa + i * PAGE;
                    model_perm[first + i] = (uint8_t)perm;
                }
                maps++;
            } else {
                eexists++;
            }
        } else {
            assert_int_equal(gstage_unmap(&g, base + start, len), 0);
            memset(model_perm + first, NO_PERM, count);
            unmaps++;
        }
        model_check(&g, base, first > 0 ? first - 1 : 0, count + 2);
        if (op % 50 == 49) {
            model_check(&g, base, 0, WPAGES);
            check_structure(&g);
        }
    }
    model_check(&g, base, 0, WPAGES);
    check_structure(&g);
    assert_true(maps > 20 && eexists > 20 && unmaps > 20);
    assert_int_equal(gstage_unmap(&g, base, WINDOW), 0);
    assert_int_equal(g.table_pages, 4);
    assert_int_equal(pmem_free_bytes(), free_before);
    gstage_destroy(&g);
}

static void test_random(void **state)
{
    (void)state;
    ram_init(RAM_SIZE);
    model_hpa = malloc(WPAGES * sizeof(*model_hpa));
    model_perm = malloc(WPAGES);
    assert_non_null(model_hpa);
    assert_non_null(model_perm);
    for (size_t m = 0; m < NMODES; m++)
        random_case(modes[m], 0x9e3779b97f4a7c15ULL + m);
    free(model_hpa);
    free(model_perm);
    assert_int_equal(pmem_bad_frees(), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_levels_and_best_mode),
        T(test_init_and_destroy),
        T(test_init_errors),
        T(test_hgatp),
        T(test_map_largest_leaves),
        T(test_map_mixed_sizes),
        T(test_pte_bits),
        T(test_bad_arguments),
        T(test_overlap),
        T(test_map_enomem_undoes),
        T(test_unmap_splits_gigapage),
        T(test_unmap_enomem_changes_nothing),
        T(test_unmap_holes_and_table_freeing),
        T(test_whole_space),
        T(test_destroy_frees_everything),
        T(test_random),
    };

    return cmocka_run_group_tests_name("gstage", tests, NULL, NULL);
}
