/* SPDX-License-Identifier: Apache-2.0 */
/* Physical memory allocator: a page bitmap per RAM region plus a free-page
 * count per 2 MiB chunk. See pmem.h for the contract.
 *
 * Each merged RAM region is tracked over its "span": the region widened to
 * 2 MiB boundaries, so chunk i of a region is always a 2 MiB-aligned block.
 * Pages of the span that are not RAM, reserved, or metadata have their bit
 * set from the start and are never cleared, which makes edge chunks and
 * reserved chunks look "partly used" - exactly the chunks single pages should
 * go to, since they can never become a whole block anyway. */

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "core/pmem.h"

#include "arch/arch.h"
#include "lib/spinlock.h"
#include "lib/string.h"

#define PAGE_SHIFT  12
#define PAGE_SIZE   PMEM_PAGE_SIZE
#define PAGE_MASK   (PAGE_SIZE - 1)
#define CHUNK_SHIFT 21
#define CHUNK_SIZE  PMEM_BLOCK_SIZE
#define CHUNK_MASK  (CHUNK_SIZE - 1)
#define CHUNK_PAGES (CHUNK_SIZE >> PAGE_SHIFT)
#define CHUNK_WORDS (CHUNK_PAGES / 64)

/* Spans are rounded up to a chunk; capping RAM here keeps that from
 * overflowing. Nothing real has RAM in the top 2 MiB of the address space. */
#define ADDR_LIMIT (UINT64_MAX - CHUNK_SIZE + 1)

/* Caller's reservations plus page 0 plus the metadata. */
#define MAX_RESV (PMEM_MAX_RESERVED + 2)

#define NONE UINT64_MAX

struct span {
    uint64_t base, end; /* [base, end), page aligned */
};

struct pmem_region {
    uint64_t ram_base, ram_end; /* page aligned */
    uint64_t span_base;         /* ram_base rounded down to a chunk */
    uint64_t nchunks;
    uint64_t *bitmap; /* bit set: page is not available */
    uint16_t *chunk_free;
};

static struct spinlock pmem_lock = SPINLOCK_INIT;
static bool pmem_ready;
static struct pmem_region pmem_rgn[PMEM_MAX_REGIONS];
static int pmem_nrgn;
static struct span pmem_resv[MAX_RESV];
static int pmem_nresv;
static uint64_t pmem_nfree;  /* pages */
static uint64_t pmem_ntotal; /* pages */
static uint64_t pmem_nbad;
static int pmem_hint_rgn; /* chunk single pages currently come from */
static uint64_t pmem_hint_chunk;
static int pmem_block_hint_rgn;
static uint64_t pmem_block_hint_chunk;

/* Own bit helpers: on RV64 without Zbb the builtins become libgcc calls,
 * which the hypervisor should not have to link. */
static unsigned int ctz64(uint64_t x)
{
    unsigned int n = 0;

    if (!(x & 0xffffffffULL)) {
        n += 32;
        x >>= 32;
    }
    if (!(x & 0xffffULL)) {
        n += 16;
        x >>= 16;
    }
    if (!(x & 0xffULL)) {
        n += 8;
        x >>= 8;
    }
    if (!(x & 0xfULL)) {
        n += 4;
        x >>= 4;
    }
    if (!(x & 0x3ULL)) {
        n += 2;
        x >>= 2;
    }
    if (!(x & 0x1ULL))
        n += 1;
    return n;
}

static unsigned int popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (unsigned int)((x * 0x0101010101010101ULL) >> 56);
}

/* First index in [i, limit) whose bit equals want_set, or limit. */
static uint64_t bm_next(const uint64_t *bm, uint64_t i, uint64_t limit, bool want_set)
{
    while (i < limit) {
        uint64_t w = bm[i >> 6];

        if (!want_set)
            w = ~w;
        w &= ~0ULL << (i & 63);
        if (w) {
            uint64_t found = (i & ~63ULL) + ctz64(w);
            return found < limit ? found : limit;
        }
        i = (i & ~63ULL) + 64;
    }
    return limit;
}

static void bm_fill(uint64_t *bm, uint64_t start, uint64_t n, bool set)
{
    while (n) {
        uint64_t bit = start & 63;
        uint64_t k = 64 - bit < n ? 64 - bit : n;
        uint64_t mask = (k == 64 ? ~0ULL : (1ULL << k) - 1) << bit;

        if (set)
            bm[start >> 6] |= mask;
        else
            bm[start >> 6] &= ~mask;
        start += k;
        n -= k;
    }
}

/* Pages [start, start + n) of r just changed state as a whole; fix counts. */
static void account(struct pmem_region *r, uint64_t start, uint64_t n, bool used)
{
    if (used)
        pmem_nfree -= n;
    else
        pmem_nfree += n;
    while (n) {
        uint64_t c = start / CHUNK_PAGES;
        uint64_t room = (c + 1) * CHUNK_PAGES - start;
        uint64_t k = room < n ? room : n;

        if (used)
            r->chunk_free[c] = (uint16_t)(r->chunk_free[c] - k);
        else
            r->chunk_free[c] = (uint16_t)(r->chunk_free[c] + k);
        start += k;
        n -= k;
    }
}

static void *take(struct pmem_region *r, uint64_t idx, uint64_t n)
{
    bm_fill(r->bitmap, idx, n, true);
    account(r, idx, n, true);
    return (void *)(uintptr_t)(r->span_base + (idx << PAGE_SHIFT));
}

/* Smallest page index >= i of r whose address is a multiple of align. */
static uint64_t align_idx(const struct pmem_region *r, uint64_t i, uint64_t align)
{
    uint64_t addr = r->span_base + (i << PAGE_SHIFT);

    if (addr > UINT64_MAX - (align - 1))
        return NONE;
    addr = (addr + align - 1) & ~(align - 1);
    return (addr - r->span_base) >> PAGE_SHIFT;
}

/* First fit: lowest aligned run of n free pages inside [from, to). */
static uint64_t find_run(const struct pmem_region *r, uint64_t from, uint64_t to, uint64_t n,
                         uint64_t align)
{
    uint64_t i = from;

    while (i < to) {
        uint64_t j;

        i = bm_next(r->bitmap, i, to, false);
        if (i >= to)
            break;
        i = align_idx(r, i, align);
        if (i >= to || to - i < n)
            break;
        j = bm_next(r->bitmap, i, i + n, true);
        if (j == i + n)
            return i;
        i = j + 1;
    }
    return NONE;
}

/* Next chunk, starting at (*ri, *c) and wrapping, whose free count is within
 * [lo, hi]. */
static bool chunk_find(unsigned int lo, unsigned int hi, int *ri, uint64_t *c)
{
    int r = *ri;
    uint64_t i = *c;
    uint64_t total = 0;

    for (int k = 0; k < pmem_nrgn; k++)
        total += pmem_rgn[k].nchunks;
    if (r >= pmem_nrgn)
        r = 0;
    for (uint64_t k = 0; k < total; k++, i++) {
        unsigned int cf;

        while (i >= pmem_rgn[r].nchunks) {
            r = (r + 1) % pmem_nrgn;
            i = 0;
        }
        cf = pmem_rgn[r].chunk_free[i];
        if (cf >= lo && cf <= hi) {
            *ri = r;
            *c = i;
            return true;
        }
    }
    return false;
}

static void *alloc_page_locked(void)
{
    int ri = pmem_hint_rgn;
    uint64_t c = pmem_hint_chunk;
    struct pmem_region *r;
    uint64_t idx;

    /* A partly used chunk first, so that whole chunks stay free for blocks. */
    if (!chunk_find(1, CHUNK_PAGES - 1, &ri, &c) && !chunk_find(CHUNK_PAGES, CHUNK_PAGES, &ri, &c))
        return NULL;
    pmem_hint_rgn = ri;
    pmem_hint_chunk = c;
    r = &pmem_rgn[ri];
    idx = bm_next(r->bitmap, c * CHUNK_PAGES, (c + 1) * CHUNK_PAGES, false);
    return take(r, idx, 1);
}

static void *alloc_block_locked(void)
{
    int ri = pmem_block_hint_rgn;
    uint64_t c = pmem_block_hint_chunk;

    /* Resuming where the last block came from keeps allocating a guest's
     * RAM block by block linear rather than quadratic. */
    if (!chunk_find(CHUNK_PAGES, CHUNK_PAGES, &ri, &c))
        return NULL;
    pmem_block_hint_rgn = ri;
    pmem_block_hint_chunk = c;
    return take(&pmem_rgn[ri], c * CHUNK_PAGES, CHUNK_PAGES);
}

static void *alloc_run_locked(uint64_t n, uint64_t align)
{
    /* Sub-chunk allocations (e.g. 16 KiB G-stage roots) also try partly used
     * chunks first, for the same reason as single pages. */
    if (n < CHUNK_PAGES) {
        for (int ri = 0; ri < pmem_nrgn; ri++) {
            struct pmem_region *r = &pmem_rgn[ri];

            for (uint64_t c = 0; c < r->nchunks; c++) {
                uint64_t idx;

                if (r->chunk_free[c] < n || r->chunk_free[c] == CHUNK_PAGES)
                    continue;
                idx = find_run(r, c * CHUNK_PAGES, (c + 1) * CHUNK_PAGES, n, align);
                if (idx != NONE)
                    return take(r, idx, n);
            }
        }
    }
    for (int ri = 0; ri < pmem_nrgn; ri++) {
        struct pmem_region *r = &pmem_rgn[ri];
        uint64_t idx = find_run(r, 0, r->nchunks * CHUNK_PAGES, n, align);

        if (idx != NONE)
            return take(r, idx, n);
    }
    return NULL;
}

void *pmem_alloc(size_t size, size_t align)
{
    uint64_t n;
    void *p = NULL;

    if (size == 0 || (uint64_t)size > UINT64_MAX - PAGE_MASK)
        return NULL;
    if (align < PAGE_SIZE)
        align = PAGE_SIZE;
    if (align & (align - 1))
        return NULL;
    n = ((uint64_t)size + PAGE_MASK) >> PAGE_SHIFT;

    spin_lock(&pmem_lock);
    if (pmem_ready && n <= pmem_nfree) {
        if (n == 1 && align == PAGE_SIZE)
            p = alloc_page_locked();
        else if (n == CHUNK_PAGES && align == CHUNK_SIZE)
            p = alloc_block_locked();
        else
            p = alloc_run_locked(n, align);
    }
    spin_unlock(&pmem_lock);
    return p;
}

void *pmem_zalloc(size_t size, size_t align)
{
    void *p = pmem_alloc(size, align);

    if (p)
        arch_zero_pages(p, (size + PAGE_MASK) & ~(size_t)PAGE_MASK);
    return p;
}

void *pmem_alloc_page(void)
{
    return pmem_alloc(PAGE_SIZE, PAGE_SIZE);
}

void *pmem_alloc_block(void)
{
    return pmem_alloc(CHUNK_SIZE, CHUNK_SIZE);
}

static bool free_ok_locked(uint64_t addr, uint64_t n, struct pmem_region **out)
{
    uint64_t len = n << PAGE_SHIFT;
    struct pmem_region *r = NULL;
    uint64_t idx;

    for (int i = 0; i < pmem_nrgn; i++) {
        if (addr >= pmem_rgn[i].ram_base && addr < pmem_rgn[i].ram_end) {
            r = &pmem_rgn[i];
            break;
        }
    }
    if (!r || n > (r->ram_end - addr) >> PAGE_SHIFT)
        return false;
    /* Reserved pages are marked used too; only this list tells them apart
     * from allocated ones. */
    for (int i = 0; i < pmem_nresv; i++) {
        if (pmem_resv[i].base < addr + len && addr < pmem_resv[i].end)
            return false;
    }
    idx = (addr - r->span_base) >> PAGE_SHIFT;
    if (bm_next(r->bitmap, idx, idx + n, false) != idx + n)
        return false;
    *out = r;
    return true;
}

void pmem_free(void *p, size_t size)
{
    uint64_t addr = (uint64_t)(uintptr_t)p;
    struct pmem_region *r;
    uint64_t n;

    if (!p)
        return;
    spin_lock(&pmem_lock);
    if (!pmem_ready || size == 0 || (addr & PAGE_MASK) || (uint64_t)size > UINT64_MAX - PAGE_MASK) {
        pmem_nbad++;
        goto out;
    }
    n = ((uint64_t)size + PAGE_MASK) >> PAGE_SHIFT;
    if (!free_ok_locked(addr, n, &r)) {
        pmem_nbad++;
        goto out;
    }
    bm_fill(r->bitmap, (addr - r->span_base) >> PAGE_SHIFT, n, false);
    account(r, (addr - r->span_base) >> PAGE_SHIFT, n, false);
out:
    spin_unlock(&pmem_lock);
}

uint64_t pmem_bad_frees(void)
{
    uint64_t v;

    spin_lock(&pmem_lock);
    v = pmem_nbad;
    spin_unlock(&pmem_lock);
    return v;
}

uint64_t pmem_free_bytes(void)
{
    uint64_t v;

    spin_lock(&pmem_lock);
    v = pmem_nfree << PAGE_SHIFT;
    spin_unlock(&pmem_lock);
    return v;
}

uint64_t pmem_total_bytes(void)
{
    uint64_t v;

    spin_lock(&pmem_lock);
    v = pmem_ntotal << PAGE_SHIFT;
    spin_unlock(&pmem_lock);
    return v;
}

int pmem_regions(struct pmem_range *out, int max)
{
    int n;

    spin_lock(&pmem_lock);
    n = pmem_nrgn;
    for (int i = 0; out && i < n && i < max; i++) {
        out[i].base = pmem_rgn[i].ram_base;
        out[i].size = pmem_rgn[i].ram_end - pmem_rgn[i].ram_base;
    }
    spin_unlock(&pmem_lock);
    return n;
}

void pmem_reset(void)
{
    spin_lock(&pmem_lock);
    pmem_ready = false;
    memset(pmem_rgn, 0, sizeof(pmem_rgn));
    memset(pmem_resv, 0, sizeof(pmem_resv));
    pmem_nrgn = 0;
    pmem_nresv = 0;
    pmem_nfree = 0;
    pmem_ntotal = 0;
    pmem_nbad = 0;
    pmem_hint_rgn = 0;
    pmem_hint_chunk = 0;
    pmem_block_hint_rgn = 0;
    pmem_block_hint_chunk = 0;
    spin_unlock(&pmem_lock);
}

/* ---- initialisation ---- */

/* Before the bitmaps exist: is [base, end) RAM and not reserved? */
static bool init_range_free(const struct pmem_region *rgn, int nrgn, const struct span *resv,
                            int nresv, uint64_t base, uint64_t end)
{
    bool in_ram = false;

    for (int i = 0; i < nrgn; i++) {
        if (base >= rgn[i].ram_base && end <= rgn[i].ram_end) {
            in_ram = true;
            break;
        }
    }
    if (!in_ram)
        return false;
    for (int i = 0; i < nresv; i++) {
        if (resv[i].base < end && base < resv[i].end)
            return false;
    }
    return true;
}

/* How many chunks that are still entirely free would [base, base + len)
 * break into? The metadata goes where this is smallest. */
static uint64_t init_meta_cost(const struct pmem_region *rgn, int nrgn, const struct span *resv,
                               int nresv, uint64_t base, uint64_t len)
{
    uint64_t cost = 0;
    uint64_t c = base & ~CHUNK_MASK;
    uint64_t end = base + len;

    /* end <= ADDR_LIMIT (it is inside RAM), so chunk steps cannot wrap. */
    for (; c < end; c += CHUNK_SIZE) {
        if (init_range_free(rgn, nrgn, resv, nresv, c, c + CHUNK_SIZE))
            cost++;
    }
    return cost;
}

static uint64_t init_place_meta(const struct pmem_region *rgn, int nrgn, const struct span *resv,
                                int nresv, uint64_t len)
{
    uint64_t best = NONE, best_cost = NONE;
    /* Every maximal free interval starts at a RAM base or a reservation end,
     * so those candidates find a spot whenever one exists; placing the
     * metadata flush against the end of RAM or the start of a reservation
     * adds candidates that share an already-broken chunk. */
    uint64_t cand[2 * PMEM_MAX_REGIONS + 2 * MAX_RESV];
    int ncand = 0;

    for (int i = 0; i < nrgn; i++) {
        cand[ncand++] = rgn[i].ram_base;
        cand[ncand++] = rgn[i].ram_end >= len ? rgn[i].ram_end - len : NONE;
    }
    for (int i = 0; i < nresv; i++) {
        cand[ncand++] = resv[i].end;
        cand[ncand++] = resv[i].base >= len ? resv[i].base - len : NONE;
    }
    for (int i = 0; i < ncand; i++) {
        uint64_t a = cand[i], cost;

        if (a == NONE || a > UINT64_MAX - len)
            continue;
        if (!init_range_free(rgn, nrgn, resv, nresv, a, a + len))
            continue;
        cost = init_meta_cost(rgn, nrgn, resv, nresv, a, len);
        if (cost < best_cost || (cost == best_cost && a < best)) {
            best = a;
            best_cost = cost;
        }
    }
    return best;
}

/* Trim, sort and merge the RAM ranges. Returns the count or ERR_INVAL. */
static int init_ram(const struct pmem_range *ram, int nram, struct pmem_region *rgn)
{
    int n = 0;

    for (int i = 0; i < nram; i++) {
        uint64_t base = ram[i].base, end = ram[i].base + ram[i].size;
        int j;

        if (end < base)
            return ERR_INVAL;
        if (ram[i].size == 0 || base > ADDR_LIMIT)
            continue;
        base = (base + PAGE_MASK) & ~PAGE_MASK;
        end &= ~PAGE_MASK;
        if (end > ADDR_LIMIT)
            end = ADDR_LIMIT;
        if (base >= end)
            continue;
        for (j = n; j > 0 && rgn[j - 1].ram_base > base; j--)
            rgn[j] = rgn[j - 1];
        rgn[j].ram_base = base;
        rgn[j].ram_end = end;
        n++;
    }

    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m > 0 && rgn[i].ram_base <= rgn[m - 1].ram_end) {
            if (rgn[i].ram_end > rgn[m - 1].ram_end)
                rgn[m - 1].ram_end = rgn[i].ram_end;
            continue;
        }
        rgn[m++] = rgn[i];
    }
    return m;
}

/* Round outward to pages; keep only those touching RAM. */
static int init_resv(const struct pmem_range *reserved, int nres, const struct pmem_region *rgn,
                     int nrgn, struct span *resv)
{
    int n = 0;

    /* Page 0 would come back as NULL, which means failure. */
    resv[n].base = 0;
    resv[n].end = PAGE_SIZE;
    n++;
    for (int i = 0; i < nres; i++) {
        uint64_t base = reserved[i].base & ~PAGE_MASK;
        uint64_t end = reserved[i].base + reserved[i].size;

        if (reserved[i].size == 0)
            continue;
        if (end < reserved[i].base || end > UINT64_MAX - PAGE_MASK)
            end = UINT64_MAX & ~PAGE_MASK; /* covers all of RAM, see ADDR_LIMIT */
        else
            end = (end + PAGE_MASK) & ~PAGE_MASK;
        resv[n].base = base;
        resv[n].end = end;
        n++;
    }

    int m = 0;
    for (int i = 0; i < n; i++) {
        bool touches = false;

        for (int j = 0; j < nrgn; j++) {
            if (resv[i].base < rgn[j].ram_end && rgn[j].ram_base < resv[i].end)
                touches = true;
        }
        if (touches)
            resv[m++] = resv[i];
    }
    return m;
}

static void init_mark(struct pmem_region *r, const struct span *resv, int nresv)
{
    uint64_t span_pages = r->nchunks * CHUNK_PAGES;

    bm_fill(r->bitmap, 0, span_pages, true);
    bm_fill(r->bitmap, (r->ram_base - r->span_base) >> PAGE_SHIFT,
            (r->ram_end - r->ram_base) >> PAGE_SHIFT, false);
    for (int i = 0; i < nresv; i++) {
        uint64_t base = resv[i].base > r->ram_base ? resv[i].base : r->ram_base;
        uint64_t end = resv[i].end < r->ram_end ? resv[i].end : r->ram_end;

        if (base < end)
            bm_fill(r->bitmap, (base - r->span_base) >> PAGE_SHIFT, (end - base) >> PAGE_SHIFT,
                    true);
    }
    for (uint64_t c = 0; c < r->nchunks; c++) {
        unsigned int used = 0;

        for (unsigned int w = 0; w < CHUNK_WORDS; w++)
            used += popcount64(r->bitmap[c * CHUNK_WORDS + w]);
        r->chunk_free[c] = (uint16_t)(CHUNK_PAGES - used);
    }
}

static int init_locked(const struct pmem_range *ram, int nram, const struct pmem_range *reserved,
                       int nres)
{
    struct pmem_region rgn[PMEM_MAX_REGIONS];
    struct span resv[MAX_RESV];
    int nrgn, nresv;
    uint64_t meta_len = 0, meta, off, nfree = 0;

    if (pmem_ready || nram < 0 || nram > PMEM_MAX_REGIONS || nres < 0 || nres > PMEM_MAX_RESERVED ||
        (nram && !ram) || (nres && !reserved))
        return ERR_INVAL;

    memset(rgn, 0, sizeof(rgn));
    nrgn = init_ram(ram, nram, rgn);
    if (nrgn < 0)
        return nrgn;
    if (nrgn == 0)
        return ERR_NOMEM;

    for (int i = 0; i < nrgn; i++) {
        uint64_t span_end = (rgn[i].ram_end + CHUNK_MASK) & ~CHUNK_MASK;

        rgn[i].span_base = rgn[i].ram_base & ~CHUNK_MASK;
        rgn[i].nchunks = (span_end - rgn[i].span_base) >> CHUNK_SHIFT;
        /* Bitmap words first keeps them 8-byte aligned; counts padded to 8. */
        meta_len += rgn[i].nchunks * CHUNK_WORDS * 8 + ((rgn[i].nchunks * 2 + 7) & ~7ULL);
    }
    meta_len = (meta_len + PAGE_MASK) & ~PAGE_MASK;

    nresv = init_resv(reserved, nres, rgn, nrgn, resv);
    meta = init_place_meta(rgn, nrgn, resv, nresv, meta_len);
    if (meta == NONE)
        return ERR_NOMEM;
    resv[nresv].base = meta;
    resv[nresv].end = meta + meta_len;
    nresv++;

    off = meta;
    for (int i = 0; i < nrgn; i++) {
        rgn[i].bitmap = (uint64_t *)(uintptr_t)off;
        off += rgn[i].nchunks * CHUNK_WORDS * 8;
        rgn[i].chunk_free = (uint16_t *)(uintptr_t)off;
        off += (rgn[i].nchunks * 2 + 7) & ~7ULL;
        init_mark(&rgn[i], resv, nresv);
        for (uint64_t c = 0; c < rgn[i].nchunks; c++)
            nfree += rgn[i].chunk_free[c];
    }
    if (nfree == 0)
        return ERR_NOMEM;

    memcpy(pmem_rgn, rgn, sizeof(rgn[0]) * (size_t)nrgn);
    memcpy(pmem_resv, resv, sizeof(resv[0]) * (size_t)nresv);
    pmem_nrgn = nrgn;
    pmem_nresv = nresv;
    pmem_nfree = nfree;
    pmem_ntotal = nfree;
    pmem_hint_rgn = 0;
    pmem_hint_chunk = 0;
    pmem_block_hint_rgn = 0;
    pmem_block_hint_chunk = 0;
    pmem_ready = true;
    return 0;
}

int pmem_init(const struct pmem_range *ram, int nram, const struct pmem_range *reserved, int nres)
{
    int rc;

    spin_lock(&pmem_lock);
    rc = init_locked(ram, nram, reserved, nres);
    spin_unlock(&pmem_lock);
    return rc;
}
