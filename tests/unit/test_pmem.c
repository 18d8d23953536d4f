/* SPDX-License-Identifier: Apache-2.0 */
/* Host unit tests for core/pmem.c. "Physical" memory is a 2 MiB-aligned host
 * buffer; since the allocator uses addresses as pointers, its metadata really
 * lives in the buffer, and pattern writes to handed-out pages would corrupt
 * it if the allocator ever gave its own metadata away. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/pmem.h"

#define KiB      1024ULL
#define MiB      (1024ULL * KiB)
#define PAGE     PMEM_PAGE_SIZE
#define BLOCK    PMEM_BLOCK_SIZE
#define RAM_SIZE (64 * MiB)
#define NPAGES   (RAM_SIZE / PAGE)

static uint8_t *ram;
static uint64_t B;             /* ram as an address */
static uint8_t shadow[NPAGES]; /* 1: handed out and not yet freed */

struct alloc {
    void *p;
    size_t size;
};

static struct alloc *allocs;
static size_t nallocs;

static int setup(void **state)
{
    (void)state;
    ram = aligned_alloc(BLOCK, RAM_SIZE);
    if (!ram)
        return -1;
    B = (uint64_t)(uintptr_t)ram;
    memset(shadow, 0, sizeof(shadow));
    allocs = calloc(NPAGES, sizeof(*allocs));
    nallocs = 0;
    pmem_reset();
    return allocs ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    pmem_reset();
    free(allocs);
    free(ram);
    return 0;
}

static uint64_t pages_of(uint64_t size)
{
    return (size + PAGE - 1) / PAGE;
}

/* Deterministic so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* The test's own page-rounded view of a range list. */
static bool overlaps(uint64_t addr, uint64_t len, const struct pmem_range *r, int n)
{
    for (int i = 0; i < n; i++) {
        uint64_t base, end;

        if (r[i].size == 0)
            continue;
        base = r[i].base & ~(PAGE - 1);
        end = (r[i].base + r[i].size + PAGE - 1) & ~(PAGE - 1);
        if (base < addr + len && addr < end)
            return true;
    }
    return false;
}

static bool inside(uint64_t addr, uint64_t len, const struct pmem_range *r, int n)
{
    for (int i = 0; i < n; i++) {
        uint64_t base = (r[i].base + PAGE - 1) & ~(PAGE - 1);
        uint64_t end = (r[i].base + r[i].size) & ~(PAGE - 1);

        if (addr >= base && addr + len <= end)
            return true;
    }
    return false;
}

/* Check a fresh allocation against the buffer and the shadow, then track it. */
static void track(void *p, size_t size, uint64_t align)
{
    uint64_t a = (uint64_t)(uintptr_t)p;
    uint64_t n = pages_of(size);

    assert_non_null(p);
    assert_int_equal(a % PAGE, 0);
    assert_int_equal(a % align, 0);
    assert_true(a >= B && a + n * PAGE <= B + RAM_SIZE);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t pg = (a - B) / PAGE + i;

        assert_int_equal(shadow[pg], 0);
        shadow[pg] = 1;
    }
    assert_true(nallocs < NPAGES);
    allocs[nallocs].p = p;
    allocs[nallocs].size = size;
    nallocs++;
}

static void untrack_at(size_t i)
{
    uint64_t a = (uint64_t)(uintptr_t)allocs[i].p;
    uint64_t n = pages_of(allocs[i].size);

    pmem_free(allocs[i].p, allocs[i].size);
    for (uint64_t k = 0; k < n; k++)
        shadow[(a - B) / PAGE + k] = 0;
    allocs[i] = allocs[--nallocs];
}

static void free_all_random(void)
{
    while (nallocs)
        untrack_at(rng() % nallocs);
}

static size_t drain_pages(void)
{
    size_t n = 0;
    void *p;

    while ((p = pmem_alloc_page())) {
        track(p, PAGE, PAGE);
        n++;
    }
    return n;
}

static size_t drain_blocks(void)
{
    size_t n = 0;
    void *p;

    while ((p = pmem_alloc_block())) {
        track(p, BLOCK, BLOCK);
        n++;
    }
    return n;
}

/* How many 2 MiB blocks can be had right now; leaves state unchanged. */
static size_t blocks_available(void)
{
    size_t before = nallocs;
    size_t n = drain_blocks();

    while (nallocs > before)
        untrack_at(nallocs - 1);
    return n;
}

static void init_whole(void)
{
    struct pmem_range r = {B, RAM_SIZE};

    assert_int_equal(pmem_init(&r, 1, NULL, 0), 0);
}

static void test_before_init(void **state)
{
    (void)state;
    assert_null(pmem_alloc_page());
    assert_null(pmem_alloc(PAGE, PAGE));
    assert_int_equal(pmem_free_bytes(), 0);
    assert_int_equal(pmem_total_bytes(), 0);
    assert_int_equal(pmem_regions(NULL, 0), 0);
    pmem_free(ram, PAGE);
    assert_int_equal(pmem_bad_frees(), 1);
}

static void test_init_bad_args(void **state)
{
    struct pmem_range r[PMEM_MAX_RESERVED + 1];
    struct pmem_range one = {B, RAM_SIZE};

    (void)state;
    for (int i = 0; i <= PMEM_MAX_RESERVED; i++)
        r[i] = (struct pmem_range){B + (uint64_t)i * PAGE, PAGE};

    assert_int_equal(pmem_init(NULL, 0, NULL, 0), ERR_NOMEM);
    assert_int_equal(pmem_init(r, PMEM_MAX_REGIONS + 1, NULL, 0), ERR_INVAL);
    assert_int_equal(pmem_init(&one, 1, r, PMEM_MAX_RESERVED + 1), ERR_INVAL);
    assert_int_equal(pmem_init(&one, -1, NULL, 0), ERR_INVAL);
    assert_int_equal(pmem_init(&one, 1, NULL, -1), ERR_INVAL);
    assert_int_equal(pmem_init(NULL, 1, NULL, 0), ERR_INVAL);
    assert_int_equal(pmem_init(&one, 1, NULL, 1), ERR_INVAL);

    struct pmem_range wrap = {UINT64_MAX - 10, 100};
    assert_int_equal(pmem_init(&wrap, 1, NULL, 0), ERR_INVAL);

    /* Less than one whole page once trimmed. */
    struct pmem_range tiny = {B + 1, PAGE};
    assert_int_equal(pmem_init(&tiny, 1, NULL, 0), ERR_NOMEM);

    struct pmem_range all = {B - 1, RAM_SIZE + 2};
    assert_int_equal(pmem_init(&one, 1, &all, 1), ERR_NOMEM);

    /* 1 TiB needs 33 MiB of metadata but only two pages are free. Nothing
     * may be written, the range is mostly not ours. */
    struct pmem_range huge = {B, 1ULL << 40};
    struct pmem_range most = {B + 2 * PAGE, (1ULL << 40) - 2 * PAGE};
    assert_int_equal(pmem_init(&huge, 1, &most, 1), ERR_NOMEM);

    /* Failed inits leave nothing behind. */
    assert_int_equal(pmem_total_bytes(), 0);
    assert_null(pmem_alloc_page());

    /* 64 reserved ranges is the limit, not over it. */
    assert_int_equal(pmem_init(&one, 1, r, PMEM_MAX_RESERVED), 0);
    assert_int_equal(pmem_init(&one, 1, NULL, 0), ERR_INVAL);
    assert_int_equal(pmem_total_bytes(), RAM_SIZE - PMEM_MAX_RESERVED * PAGE - PAGE);
}

static void test_reserved_never_handed_out(void **state)
{
    struct pmem_range ramr = {B + 0x1234, RAM_SIZE - 0x1234 - 0x3456};
    struct pmem_range resv[] = {
        {B + 0x100000 + 5, 0x3000},   /* unaligned */
        {B + 0x102000, 0x10000},      /* overlaps the one before */
        {B - 0x5000, 0x8000},         /* starts below RAM */
        {B + RAM_SIZE - 0x6001, MiB}, /* ends above RAM */
        {B + 5 * MiB, 2 * MiB},       /* one whole chunk */
        {B + 20 * MiB + 0x800, 1},    /* one byte */
        {B + 200 * MiB, MiB},         /* nowhere near RAM */
        {B + 30 * MiB, 0},            /* empty */
    };
    int nresv = (int)(sizeof(resv) / sizeof(resv[0]));
    uint64_t usable = 0, missing = 0, run_start = 0;
    size_t n;

    (void)state;
    assert_int_equal(pmem_init(&ramr, 1, resv, nresv), 0);
    for (uint64_t a = B; a < B + RAM_SIZE; a += PAGE) {
        if (inside(a, PAGE, &ramr, 1) && !overlaps(a, PAGE, resv, nresv))
            usable++;
    }
    /* 32 chunks of metadata (66 bytes each) fit one page. */
    assert_int_equal(pmem_total_bytes(), (usable - 1) * PAGE);
    assert_int_equal(pmem_free_bytes(), pmem_total_bytes());

    n = drain_pages();
    assert_int_equal(n, usable - 1);
    assert_int_equal(pmem_free_bytes(), 0);
    assert_null(pmem_alloc_block());
    assert_null(pmem_alloc(PAGE, PAGE));
    assert_null(pmem_alloc(3 * PAGE, 16 * KiB));
    for (size_t i = 0; i < nallocs; i++) {
        uint64_t a = (uint64_t)(uintptr_t)allocs[i].p;

        assert_true(inside(a, PAGE, &ramr, 1));
        assert_false(overlaps(a, PAGE, resv, nresv));
        memset(allocs[i].p, 0xa5, PAGE);
    }
    /* The one usable page never handed out is the metadata. */
    for (uint64_t a = B; a < B + RAM_SIZE; a += PAGE) {
        if (inside(a, PAGE, &ramr, 1) && !overlaps(a, PAGE, resv, nresv) &&
            !shadow[(a - B) / PAGE]) {
            missing++;
            run_start = a;
        }
    }
    assert_int_equal(missing, 1);
    pmem_free((void *)(uintptr_t)run_start, PAGE);
    pmem_free((void *)(uintptr_t)(B + 5 * MiB), PAGE);
    pmem_free((void *)(uintptr_t)(B + 20 * MiB), PAGE);
    assert_int_equal(pmem_bad_frees(), 3);

    free_all_random();
    assert_int_equal(pmem_free_bytes(), pmem_total_bytes());
    /* Metadata survived the pattern writes: the same pages come back. */
    assert_int_equal(drain_pages(), usable - 1);
    assert_int_equal(shadow[(run_start - B) / PAGE], 0);
    free_all_random();
    assert_int_equal(pmem_bad_frees(), 3);
}

static void test_block_alignment(void **state)
{
    (void)state;
    init_whole();
    /* 32 chunks, one of which holds the metadata page. */
    assert_int_equal(drain_blocks(), 31);
    assert_int_equal(pmem_free_bytes(), BLOCK - PAGE);
    free_all_random();
    assert_int_equal(pmem_free_bytes(), RAM_SIZE - PAGE);
}

static void test_metadata_goes_to_partial_chunk(void **state)
{
    /* RAM [B+1M, B+61M): edge chunks are partial, 29 whole chunks between.
     * The metadata must not break one of the whole chunks. */
    struct pmem_range r = {B + MiB, 60 * MiB};

    (void)state;
    assert_int_equal(pmem_init(&r, 1, NULL, 0), 0);
    assert_int_equal(pmem_total_bytes(), 60 * MiB - PAGE);
    assert_int_equal(drain_blocks(), 29);
    for (size_t i = 0; i < nallocs; i++) {
        uint64_t a = (uint64_t)(uintptr_t)allocs[i].p;

        assert_true(a >= B + 2 * MiB && a + BLOCK <= B + 60 * MiB);
    }
}

static void test_metadata_next_to_reservation(void **state)
{
    /* The hypervisor image sits in the middle of a chunk: the metadata should
     * share that chunk rather than break a whole one. */
    struct pmem_range r = {B, 16 * MiB};
    struct pmem_range img = {B + 8 * MiB + 256 * KiB, 512 * KiB};

    (void)state;
    assert_int_equal(pmem_init(&r, 1, &img, 1), 0);
    assert_int_equal(blocks_available(), 7);
}

static void test_odd_alignments(void **state)
{
    void *p;

    (void)state;
    init_whole();
    for (int i = 0; i < 300; i++)
        track(pmem_alloc(16 * KiB, 16 * KiB), 16 * KiB, 16 * KiB);
    for (int i = 0; i < 50; i++)
        track(pmem_alloc(8 * KiB, 64 * KiB), 8 * KiB, 64 * KiB);
    for (int i = 0; i < 3; i++)
        track(pmem_alloc(4 * MiB, 4 * MiB), 4 * MiB, 4 * MiB);
    track(pmem_alloc(3 * MiB, 0), 3 * MiB, PAGE);
    track(pmem_alloc(3 * MiB + 1, BLOCK), 3 * MiB + 1, BLOCK);
    track(pmem_alloc(12 * KiB, 1), 12 * KiB, PAGE);
    track(pmem_alloc(1, 8 * KiB), 1, 8 * KiB);
    track(pmem_alloc(BLOCK, PAGE), BLOCK, PAGE);
    p = pmem_alloc(PAGE, 1ULL << 30);
    if (p)
        track(p, PAGE, 1ULL << 30);
    assert_null(pmem_alloc(PAGE, 12 * KiB));
    track(pmem_alloc(PAGE, 3), PAGE, PAGE); /* below 4096 means 4096 */
    assert_null(pmem_alloc(PAGE, (size_t)1 << 63));
    free_all_random();
    assert_int_equal(pmem_free_bytes(), RAM_SIZE - PAGE);
    assert_int_equal(pmem_bad_frees(), 0);
}

static void test_pages_prefer_partial_chunks(void **state)
{
    struct pmem_range r = {B, 4 * BLOCK};
    void *first, *p, *q, *opener;
    uint64_t chunk0;

    (void)state;
    assert_int_equal(pmem_init(&r, 1, NULL, 0), 0);
    /* The metadata page already broke one chunk. */
    assert_int_equal(blocks_available(), 3);
    first = pmem_alloc_page();
    track(first, PAGE, PAGE);
    assert_int_equal(blocks_available(), 3);
    track(pmem_alloc(16 * KiB, 16 * KiB), 16 * KiB, 16 * KiB);
    assert_int_equal(blocks_available(), 3);

    /* Fill the rest of that chunk: still no whole chunk touched. */
    chunk0 = (uint64_t)(uintptr_t)first & ~(BLOCK - 1);
    while (pmem_free_bytes() > 3 * BLOCK) {
        p = pmem_alloc_page();
        track(p, PAGE, PAGE);
        assert_int_equal((uint64_t)(uintptr_t)p & ~(BLOCK - 1), chunk0);
    }
    assert_int_equal(blocks_available(), 3);

    /* Now a page has to open a chunk, and the next ones go to that chunk. */
    opener = pmem_alloc_page();
    track(opener, PAGE, PAGE);
    assert_int_equal(blocks_available(), 2);
    for (int i = 0; i < 10; i++) {
        p = pmem_alloc_page();
        track(p, PAGE, PAGE);
        assert_int_equal((uint64_t)(uintptr_t)p & ~(BLOCK - 1),
                         (uint64_t)(uintptr_t)opener & ~(BLOCK - 1));
    }
    assert_int_equal(blocks_available(), 2);

    /* A hole opening up in chunk 0 does not pull pages away from the chunk
     * being filled (the hint): locality, and no rescans. */
    untrack_at(0);
    p = pmem_alloc_page();
    track(p, PAGE, PAGE);
    assert_int_equal((uint64_t)(uintptr_t)p & ~(BLOCK - 1),
                     (uint64_t)(uintptr_t)opener & ~(BLOCK - 1));

    /* Empty the opened chunk again and punch a hole in chunk 0: the next
     * page must fill the hole, not reopen the now whole chunk. */
    for (size_t i = nallocs; i-- > 0;) {
        if (((uint64_t)(uintptr_t)allocs[i].p & ~(BLOCK - 1)) != chunk0)
            untrack_at(i);
    }
    assert_int_equal(blocks_available(), 3);
    untrack_at(nallocs / 2);
    q = pmem_alloc_page();
    track(q, PAGE, PAGE);
    assert_int_equal((uint64_t)(uintptr_t)q & ~(BLOCK - 1), chunk0);
    assert_int_equal(blocks_available(), 3);
    free_all_random();
    assert_int_equal(pmem_free_bytes(), pmem_total_bytes());
}

static void test_small_runs_prefer_partial_chunks(void **state)
{
    /* The only partly used chunk is not the lowest one, so plain first fit
     * would break chunk 0. */
    struct pmem_range r = {B, 4 * BLOCK};
    struct pmem_range img = {B + 2 * BLOCK + 64 * KiB, 64 * KiB};
    uint64_t a;

    (void)state;
    assert_int_equal(pmem_init(&r, 1, &img, 1), 0);
    assert_int_equal(blocks_available(), 3);
    for (int i = 0; i < 20; i++) {
        track(pmem_alloc(16 * KiB, 16 * KiB), 16 * KiB, 16 * KiB);
        a = (uint64_t)(uintptr_t)allocs[nallocs - 1].p;
        assert_int_equal(a & ~(BLOCK - 1), B + 2 * BLOCK);
    }
    track(pmem_alloc(5 * PAGE, PAGE), 5 * PAGE, PAGE);
    track(pmem_alloc_page(), PAGE, PAGE);
    assert_int_equal(blocks_available(), 3);
    free_all_random();
}

static void test_runs_at_every_bit_offset(void **state)
{
    /* Exact first-fit placement for runs starting at every offset in a
     * bitmap word and spanning zero, one or two word boundaries. */
    static const uint64_t lens[] = {1, 2, 3, 63, 64, 65, 127, 128, 129, 200};
    uint64_t total;

    (void)state;
    init_whole(); /* metadata is page 0 of chunk 0 */
    total = pmem_free_bytes();
    for (uint64_t off = 0; off < 70; off++) {
        for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
            uint64_t len = lens[l];
            uint64_t a;

            for (uint64_t i = 0; i < off; i++)
                track(pmem_alloc_page(), PAGE, PAGE);
            track(pmem_alloc(len * PAGE, PAGE), len * PAGE, PAGE);
            a = (uint64_t)(uintptr_t)allocs[nallocs - 1].p;
            assert_int_equal(a, B + (1 + off) * PAGE);
            assert_int_equal(pmem_free_bytes(), total - (off + len) * PAGE);
            /* Free the run in two pieces, then the pages. */
            untrack_at(nallocs - 1);
            track(pmem_alloc(len * PAGE, PAGE), len * PAGE, PAGE);
            assert_int_equal((uint64_t)(uintptr_t)allocs[nallocs - 1].p, a);
            nallocs--;
            for (uint64_t i = 0; i < len; i++)
                shadow[(a - B) / PAGE + i] = 0;
            if (len > 1)
                pmem_free((void *)(uintptr_t)a, (len / 2) * PAGE);
            pmem_free((void *)(uintptr_t)(a + (len / 2) * PAGE), (len - len / 2) * PAGE);
            free_all_random();
            assert_int_equal(pmem_free_bytes(), total);
        }
    }
    assert_int_equal(pmem_bad_frees(), 0);
}

static void test_first_fit_with_holes(void **state)
{
    /* Pages 1..40 of chunk 0 allocated, then holes punched at 10-11, 13-15
     * and 20-23: a 3-page run must land on 13, 4 pages on 20, 2 on 10. */
    uint8_t *pg[41];

    (void)state;
    init_whole();
    for (int i = 1; i <= 40; i++) {
        pg[i] = pmem_alloc_page();
        assert_int_equal((uint64_t)(uintptr_t)pg[i], B + (uint64_t)i * PAGE);
    }
    pmem_free(pg[10], 2 * PAGE);
    pmem_free(pg[13], 3 * PAGE);
    pmem_free(pg[20], 4 * PAGE);
    assert_ptr_equal(pmem_alloc(3 * PAGE, PAGE), pg[13]);
    assert_ptr_equal(pmem_alloc(4 * PAGE, PAGE), pg[20]);
    assert_ptr_equal(pmem_alloc(2 * PAGE, PAGE), pg[10]);
    assert_int_equal((uint64_t)(uintptr_t)pmem_alloc(2 * PAGE, 8 * KiB), B + 42 * PAGE);
    assert_int_equal(pmem_bad_frees(), 0);
}

static void test_free_past_ram_end(void **state)
{
    /* RAM ends mid-chunk: the bitmap has "used" bits past the end, which a
     * free must not be allowed to clear. */
    struct pmem_range r = {B, 15 * MiB};
    struct pmem_range resv = {B + 4 * MiB, PAGE}; /* draws the metadata away from the end */
    uint64_t last = B + 15 * MiB - PAGE, bad;

    (void)state;
    assert_int_equal(pmem_init(&r, 1, &resv, 1), 0);
    drain_pages();
    for (size_t i = nallocs; i-- > 0;) {
        if ((uint64_t)(uintptr_t)allocs[i].p != last)
            untrack_at(i);
    }
    assert_int_equal(nallocs, 1);
    bad = pmem_bad_frees();
    pmem_free((void *)(uintptr_t)last, 2 * PAGE);
    assert_int_equal(pmem_bad_frees(), bad + 1);
    untrack_at(0);
    assert_int_equal(pmem_bad_frees(), bad + 1);
    assert_int_equal(pmem_free_bytes(), pmem_total_bytes());
    assert_int_equal(drain_pages() * PAGE, pmem_total_bytes());
}

static void test_two_chunks_page_then_block(void **state)
{
    struct pmem_range r = {B + 6 * MiB, 2 * BLOCK};

    (void)state;
    assert_int_equal(pmem_init(&r, 1, NULL, 0), 0);
    track(pmem_alloc_page(), PAGE, PAGE);
    track(pmem_alloc_block(), BLOCK, BLOCK);
    assert_null(pmem_alloc_block());
}

static void test_free_realloc_rounds(void **state)
{
    struct pmem_range r = {B + 0x800, RAM_SIZE - 0x800};
    struct pmem_range resv[] = {{B + 9 * MiB + 0x10, 700 * KiB}, {B + 33 * MiB, 3 * MiB}};
    uint64_t total;
    size_t blocks0;

    (void)state;
    assert_int_equal(pmem_init(&r, 1, resv, 2), 0);
    total = pmem_free_bytes();
    assert_int_equal(total, pmem_total_bytes());
    blocks0 = blocks_available();
    for (int round = 0; round < 50; round++) {
        size_t target = 200 + rng() % 3000;

        for (size_t op = 0; op < target; op++) {
            uint64_t kind = rng() % 10, size, align;
            void *p;

            if (kind < 5) {
                size = PAGE;
                align = PAGE;
                p = pmem_alloc_page();
            } else if (kind < 6) {
                size = BLOCK;
                align = BLOCK;
                p = pmem_alloc_block();
            } else if (kind < 7) {
                size = 16 * KiB;
                align = 16 * KiB;
                p = pmem_alloc(size, align);
            } else if (kind < 9) {
                size = 1 + rng() % (200 * KiB);
                align = PAGE << (rng() % 5);
                p = pmem_alloc(size, align);
            } else {
                if (nallocs)
                    untrack_at(rng() % nallocs);
                continue;
            }
            if (!p)
                break;
            track(p, size, align);
            assert_false(overlaps((uint64_t)(uintptr_t)p, pages_of(size) * PAGE, resv, 2));
        }
        if (round % 10 == 9) {
            drain_pages();
            assert_int_equal(pmem_free_bytes(), 0);
        }
        free_all_random();
        assert_int_equal(pmem_free_bytes(), total);
    }
    assert_int_equal(pmem_bad_frees(), 0);
    assert_int_equal(blocks_available(), blocks0);
}

static void test_multiple_regions(void **state)
{
    struct pmem_range r[] = {
        {B + 40 * MiB + 0x123, 10 * MiB},   /* -> [40M+4K, 50M) */
        {B + 2 * MiB, 6 * MiB},             /* [2M, 8M) */
        {B + 20 * MiB, 4 * MiB},            /* [20M, 24M) ... */
        {B + 24 * MiB, 2 * MiB},            /* ... adjacent: [20M, 26M) */
        {B + 21 * MiB, MiB},                /* inside the one above */
        {B + 60 * MiB + 0x10, 0x800},       /* no whole page */
        {B + 30 * MiB, 0},                  /* empty */
        {B + 49 * MiB, MiB + 0x1000 + 0x7}, /* overlaps the first, extends it */
    };
    struct pmem_range resv = {B + 7 * MiB, 14 * MiB}; /* spans the first gap */
    struct pmem_range out[4];
    uint64_t usable = 0;

    (void)state;
    assert_int_equal(pmem_init(r, 8, &resv, 1), 0);
    assert_int_equal(pmem_regions(NULL, 0), 3);
    memset(out, 0xee, sizeof(out));
    assert_int_equal(pmem_regions(out, 1), 3);
    assert_int_equal(out[1].base, 0xeeeeeeeeeeeeeeeeULL);
    assert_int_equal(pmem_regions(out, 4), 3);
    assert_int_equal(out[0].base, B + 2 * MiB);
    assert_int_equal(out[0].size, 6 * MiB);
    assert_int_equal(out[1].base, B + 20 * MiB);
    assert_int_equal(out[1].size, 6 * MiB);
    assert_int_equal(out[2].base, B + 40 * MiB + PAGE);
    assert_int_equal(out[2].size, 10 * MiB);

    for (uint64_t a = B; a < B + RAM_SIZE; a += PAGE) {
        if (inside(a, PAGE, out, 3) && !overlaps(a, PAGE, &resv, 1))
            usable++;
    }
    assert_int_equal(pmem_total_bytes(), (usable - 1) * PAGE);

    /* No single region has 11 MiB, although 16 MiB is free in total. */
    assert_null(pmem_alloc(11 * MiB, PAGE));
    track(pmem_alloc(9 * MiB, PAGE), 9 * MiB, PAGE);
    drain_blocks();
    drain_pages();
    for (size_t i = 0; i < nallocs; i++) {
        uint64_t a = (uint64_t)(uintptr_t)allocs[i].p;

        assert_true(inside(a, pages_of(allocs[i].size) * PAGE, out, 3));
        assert_false(overlaps(a, pages_of(allocs[i].size) * PAGE, &resv, 1));
    }
    assert_int_equal(pmem_free_bytes(), 0);
    free_all_random();
    assert_int_equal(pmem_free_bytes(), pmem_total_bytes());
    assert_int_equal(pmem_bad_frees(), 0);
}

static void test_regions_sharing_a_chunk(void **state)
{
    /* Two RAM ranges in one 2 MiB chunk with a hole between them. */
    struct pmem_range r[] = {{B + 3 * MiB, 3 * MiB}, {B + PAGE, MiB - PAGE}};
    struct pmem_range hole = {B + MiB, 2 * MiB};
    size_t n;

    (void)state;
    assert_int_equal(pmem_init(r, 2, NULL, 0), 0);
    assert_int_equal(pmem_regions(NULL, 0), 2);
    assert_int_equal(pmem_total_bytes(), 4 * MiB - 2 * PAGE);
    assert_int_equal(blocks_available(), 1);
    n = drain_pages();
    assert_int_equal(n * PAGE, 4 * MiB - 2 * PAGE);
    for (size_t i = 0; i < nallocs; i++)
        assert_false(overlaps((uint64_t)(uintptr_t)allocs[i].p, PAGE, &hole, 1));
    pmem_free((void *)(uintptr_t)(B + MiB), PAGE);
    assert_int_equal(pmem_bad_frees(), 1);
    free_all_random();
    assert_int_equal(pmem_free_bytes(), pmem_total_bytes());
}

static void test_bad_frees(void **state)
{
    struct pmem_range r = {B, 16 * MiB};
    struct pmem_range resv = {B + 8 * MiB, PAGE};
    uint8_t *p, *q;
    uint64_t free0, bad = 0;

    (void)state;
    assert_int_equal(pmem_init(&r, 1, &resv, 1), 0);
    p = pmem_alloc(3 * PAGE, PAGE);
    assert_non_null(p);
    memset(p, 0x5a, 3 * PAGE);
    q = pmem_alloc_page();
    pmem_free(q, PAGE);
    free0 = pmem_free_bytes();

    pmem_free(p + 1, PAGE); /* misaligned */
    assert_int_equal(pmem_bad_frees(), ++bad);
    pmem_free(p, 0);
    assert_int_equal(pmem_bad_frees(), ++bad);
    pmem_free(p, SIZE_MAX);
    assert_int_equal(pmem_bad_frees(), ++bad);
    pmem_free(q, PAGE); /* double free */
    assert_int_equal(pmem_bad_frees(), ++bad);
    pmem_free(p, 4 * PAGE); /* last page not allocated */
    assert_int_equal(pmem_bad_frees(), ++bad);
    pmem_free((void *)(uintptr_t)(B + 8 * MiB), PAGE); /* reserved */
    assert_int_equal(pmem_bad_frees(), ++bad);
    pmem_free((void *)(uintptr_t)(B + 16 * MiB), PAGE); /* just past RAM */
    assert_int_equal(pmem_bad_frees(), ++bad);
    pmem_free((void *)(uintptr_t)(B + 16 * MiB - PAGE), 2 * PAGE); /* straddles RAM's end */
    assert_int_equal(pmem_bad_frees(), ++bad);
    pmem_free((void *)(uintptr_t)(B - PAGE), 2 * PAGE); /* starts below RAM */
    assert_int_equal(pmem_bad_frees(), ++bad);
    pmem_free(NULL, PAGE); /* like free(NULL): fine */
    assert_int_equal(pmem_bad_frees(), bad);

    assert_int_equal(pmem_free_bytes(), free0);
    for (uint64_t i = 0; i < 3 * PAGE; i++)
        assert_int_equal(p[i], 0x5a);

    /* Freeing pieces of an allocation is allowed. */
    pmem_free(p + PAGE, PAGE);
    pmem_free(p, PAGE);
    pmem_free(p + 2 * PAGE, PAGE - 100); /* size rounds up */
    assert_int_equal(pmem_bad_frees(), bad);
    assert_int_equal(pmem_free_bytes(), pmem_total_bytes());
    /* The metadata went next to the reservation; 7 whole chunks remain. */
    assert_int_equal(blocks_available(), 7);
}

static void test_exhaustion(void **state)
{
    (void)state;
    init_whole();
    assert_null(pmem_alloc(RAM_SIZE, PAGE));
    assert_null(pmem_alloc(SIZE_MAX, PAGE));
    assert_null(pmem_alloc(SIZE_MAX - PAGE, 0));
    assert_null(pmem_alloc(0, PAGE));
    assert_null(pmem_zalloc(0, PAGE));
    track(pmem_alloc(RAM_SIZE - BLOCK, BLOCK), RAM_SIZE - BLOCK, BLOCK);
    assert_null(pmem_alloc_block());
    while (1) {
        void *p = pmem_alloc(16 * KiB, 16 * KiB);

        if (!p)
            break;
        track(p, 16 * KiB, 16 * KiB);
    }
    /* The metadata page leaves a 3-page hole at the front of the last chunk. */
    assert_int_equal(pmem_free_bytes(), 3 * PAGE);
    assert_null(pmem_alloc(4 * PAGE, PAGE));
    drain_pages();
    assert_int_equal(pmem_free_bytes(), 0);
    assert_null(pmem_alloc_page());
    assert_null(pmem_alloc_block());
    assert_null(pmem_zalloc(PAGE, PAGE));
    free_all_random();
    assert_int_equal(pmem_free_bytes(), RAM_SIZE - PAGE);
}

static void test_zalloc_zeroes(void **state)
{
    uint8_t *p;

    (void)state;
    init_whole();
    drain_pages();
    for (size_t i = 0; i < nallocs; i++)
        memset(allocs[i].p, 0xff, PAGE);
    free_all_random();

    p = pmem_zalloc(5 * PAGE - 7, 16 * KiB);
    assert_non_null(p);
    for (uint64_t i = 0; i < 5 * PAGE; i++)
        assert_int_equal(p[i], 0);
    pmem_free(p, 5 * PAGE);

    p = pmem_zalloc(BLOCK, BLOCK);
    assert_non_null(p);
    for (uint64_t i = 0; i < BLOCK; i++)
        assert_int_equal(p[i], 0);
    pmem_free(p, BLOCK);
    assert_int_equal(pmem_bad_frees(), 0);
}

static void test_reset_allows_reinit(void **state)
{
    struct pmem_range r = {B, 8 * MiB};

    (void)state;
    init_whole();
    assert_non_null(pmem_alloc_page());
    pmem_reset();
    assert_int_equal(pmem_free_bytes(), 0);
    assert_int_equal(pmem_init(&r, 1, NULL, 0), 0);
    assert_int_equal(pmem_total_bytes(), 8 * MiB - PAGE);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_before_init),
        T(test_init_bad_args),
        T(test_reserved_never_handed_out),
        T(test_block_alignment),
        T(test_metadata_goes_to_partial_chunk),
        T(test_metadata_next_to_reservation),
        T(test_odd_alignments),
        T(test_pages_prefer_partial_chunks),
        T(test_small_runs_prefer_partial_chunks),
        T(test_runs_at_every_bit_offset),
        T(test_first_fit_with_holes),
        T(test_free_past_ram_end),
        T(test_two_chunks_page_then_block),
        T(test_free_realloc_rounds),
        T(test_multiple_regions),
        T(test_regions_sharing_a_chunk),
        T(test_bad_frees),
        T(test_exhaustion),
        T(test_zalloc_zeroes),
        T(test_reset_allows_reinit),
    };

    return cmocka_run_group_tests_name("pmem", tests, NULL, NULL);
}
