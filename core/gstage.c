/* SPDX-License-Identifier: Apache-2.0 */
/* G-stage page-table builder. See gstage.h for the contract.
 *
 * Two invariants keep map and unmap simple:
 *  - every non-root table holds at least one valid PTE (unmap frees tables it
 *    empties, a failed map undoes itself), so a table pointer always means
 *    something below it is mapped;
 *  - the root covers the whole guest-physical space, so walks need no bounds
 *    checks once the arguments are validated.
 *
 * Each public call validates first, then checks (read-only), then changes, and
 * the changing step can fail only for lack of memory, in which case it is
 * undone. Tables are walked recursively; the depth is at most 5. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/gstage.h"
#include "core/panic.h"
#include "core/pmem.h"

/* PTE fields, shared by Sv39, Sv48 and Sv57. */
#define PTE_V (1ULL << 0)
#define PTE_R (1ULL << 1)
#define PTE_W (1ULL << 2)
#define PTE_X (1ULL << 3)
#define PTE_U (1ULL << 4)
#define PTE_A (1ULL << 6)
#define PTE_D (1ULL << 7)
/* RSW (software) bit 8: W was taken away for dirty logging only. */
#define PTE_LOGWP     (1ULL << 8)
#define PTE_RWX       (PTE_R | PTE_W | PTE_X)
#define PTE_PPN_SHIFT 10
#define PTE_PPN_MASK  (((1ULL << 44) - 1) << PTE_PPN_SHIFT)

#define PAGE_SHIFT    12
#define PAGE_SIZE     (1ULL << PAGE_SHIFT)
#define LEVEL_BITS    9
#define TABLE_ENTRIES 512
#define TABLE_SIZE    (TABLE_ENTRIES * sizeof(uint64_t))
/* Two more guest-physical bits than the VA scheme, all of them in the root. */
#define ROOT_ENTRIES (4 * TABLE_ENTRIES)
#define ROOT_SIZE    (ROOT_ENTRIES * sizeof(uint64_t))
#define ROOT_PAGES   (ROOT_SIZE / PAGE_SIZE)
/* Sv39/48/57 physical addresses are 56 bits (a 44-bit PPN). */
#define PA_BITS 56
/* 1 GiB. Sv48x4 and Sv57x4 also allow 512 GiB (and larger) leaves; no guest
 * needs them, and the cap keeps the split log of an unmap small. */
#define LEAF_LEVEL_MAX 2

#define HGATP_MODE_SHIFT 60
#define HGATP_VMID_SHIFT 44
#define HGATP_VMID_MASK  ((1ULL << 14) - 1)
#define HGATP_PPN_MASK   ((1ULL << 44) - 1)

static unsigned level_shift(int level)
{
    return PAGE_SHIFT + LEVEL_BITS * (unsigned)level;
}

static uint64_t level_size(int level)
{
    return 1ULL << level_shift(level);
}

static size_t pte_index(const struct gstage *g, int level, uint64_t gpa)
{
    size_t entries = level == g->levels - 1 ? ROOT_ENTRIES : TABLE_ENTRIES;

    return (size_t)(gpa >> level_shift(level)) & (entries - 1);
}

static bool pte_valid(uint64_t pte)
{
    return pte & PTE_V;
}

static bool pte_leaf(uint64_t pte)
{
    return pte & PTE_RWX;
}

static uint64_t pte_addr(uint64_t pte)
{
    return (pte & PTE_PPN_MASK) >> PTE_PPN_SHIFT << PAGE_SHIFT;
}

static uint64_t *pte_table(uint64_t pte)
{
    return (uint64_t *)(uintptr_t)pte_addr(pte);
}

static uint64_t pte_make_leaf(uint64_t hpa, unsigned perm)
{
    return hpa >> PAGE_SHIFT << PTE_PPN_SHIFT | perm | PTE_V | PTE_U | PTE_A | PTE_D;
}

/* U, A and D are reserved in non-leaf PTEs and G is unused at G-stage, so a
 * table pointer is just V and the PPN. */
static uint64_t pte_make_table(const uint64_t *table)
{
    return (uint64_t)(uintptr_t)table >> PAGE_SHIFT << PTE_PPN_SHIFT | PTE_V;
}

/* A hart may walk these tables at any moment, so a PTE changes in one aligned
 * 64-bit store (volatile: never split or merged; a relaxed atomic store
 * becomes an AMO with some compilers). No fence: ordering towards the walkers
 * is the caller's HFENCE.GVMA. The compiler barrier keeps a new table's
 * contents ahead of the pointer to it, at least in program order. */
static void pte_store(uint64_t *ptep, uint64_t pte)
{
    __atomic_signal_fence(__ATOMIC_RELEASE);
    *(volatile uint64_t *)ptep = pte;
}

static uint64_t *table_alloc(struct gstage *g)
{
    uint64_t *t = pmem_zalloc(TABLE_SIZE, TABLE_SIZE);

    if (t)
        g->table_pages++;
    return t;
}

static void table_free(struct gstage *g, uint64_t *t)
{
    pmem_free(t, TABLE_SIZE);
    g->table_pages--;
}

static bool table_empty(const uint64_t *t)
{
    for (size_t i = 0; i < TABLE_ENTRIES; i++)
        if (pte_valid(t[i]))
            return false;
    return true;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* The loops below visit, in table t at level, each entry overlapping
 * [start, end): the entry covers [base, base + size) and the part of the range
 * inside it is [addr, next). */

static bool range_has_leaf(const struct gstage *g, const uint64_t *t, int level, uint64_t start,
                           uint64_t end)
{
    uint64_t size = level_size(level);

    for (uint64_t addr = start, next; addr < end; addr = next) {
        uint64_t pte = t[pte_index(g, level, addr)];

        next = min_u64(end, (addr & ~(size - 1)) + size);
        if (!pte_valid(pte))
            continue;
        if (pte_leaf(pte) || level == 0)
            return true;
        if (range_has_leaf(g, pte_table(pte), level - 1, addr, next))
            return true;
    }
    return false;
}

/* hpa = gpa + delta (mod 2^64, so hpa may be below gpa). The range must hold
 * no leaf; on ERR_NOMEM part of it may be mapped. */
static int map_range(struct gstage *g, uint64_t *t, int level, uint64_t start, uint64_t end,
                     uint64_t delta, unsigned perm)
{
    uint64_t size = level_size(level);

    for (uint64_t addr = start, next; addr < end; addr = next) {
        uint64_t base = addr & ~(size - 1);
        uint64_t *ptep = &t[pte_index(g, level, addr)];
        uint64_t pte = *ptep;
        uint64_t *child;
        int err;

        next = min_u64(end, base + size);
        if (!pte_valid(pte) && level <= LEAF_LEVEL_MAX && addr == base && next == base + size &&
            ((addr + delta) & (size - 1)) == 0) {
            pte_store(ptep, pte_make_leaf(addr + delta, perm));
            continue;
        }
        /* A table here already maps something nearby: the leaves must go
         * below it, smaller. */
        if (pte_valid(pte)) {
            BUG_ON(pte_leaf(pte) || level == 0);
            child = pte_table(pte);
        } else {
            child = table_alloc(g);
            if (!child)
                return ERR_NOMEM;
            pte_store(ptep, pte_make_table(child));
        }
        err = map_range(g, child, level - 1, addr, next, delta, perm);
        if (err)
            return err;
    }
    return 0;
}

/* Every leaf overlapping the range must lie inside it (split first). */
static void unmap_range(struct gstage *g, uint64_t *t, int level, uint64_t start, uint64_t end)
{
    uint64_t size = level_size(level);

    for (uint64_t addr = start, next; addr < end; addr = next) {
        uint64_t base = addr & ~(size - 1);
        uint64_t *ptep = &t[pte_index(g, level, addr)];
        uint64_t pte = *ptep;
        uint64_t *child;

        next = min_u64(end, base + size);
        if (!pte_valid(pte))
            continue;
        if (pte_leaf(pte)) {
            BUG_ON(addr != base || next != base + size);
            pte_store(ptep, 0);
            continue;
        }
        BUG_ON(level == 0);
        child = pte_table(pte);
        unmap_range(g, child, level - 1, addr, next);
        /* Also catches tables a failed map allocated but never filled. */
        if (table_empty(child)) {
            pte_store(ptep, 0);
            table_free(g, child);
        }
    }
}

/* At most two boundaries, each in a leaf split at most down to 4 KiB. */
#define SPLITS_MAX (2 * LEAF_LEVEL_MAX)

struct split_log {
    int n;
    struct {
        uint64_t *ptep;
        uint64_t leaf; /* what *ptep held before */
        uint64_t *table;
    } entry[SPLITS_MAX];
};

static void split_undo(struct gstage *g, struct split_log *log)
{
    while (log->n > 0) {
        log->n--;
        pte_store(log->entry[log->n].ptep, log->entry[log->n].leaf);
        table_free(g, log->entry[log->n].table);
    }
}

/* Split leaves until none straddles gpa, i.e. gpa starts a leaf if it is in
 * one. Each split replaces a leaf by a table of leaves one level smaller that
 * translate exactly the same, so a guest sees no change. */
static int split_at(struct gstage *g, uint64_t gpa, struct split_log *log)
{
    uint64_t *t = g->root;

    for (int level = g->levels - 1; level > 0; level--) {
        uint64_t *ptep = &t[pte_index(g, level, gpa)];
        uint64_t pte = *ptep;

        if (!pte_valid(pte) || (gpa & (level_size(level) - 1)) == 0)
            return 0;
        if (pte_leaf(pte)) {
            uint64_t *child = table_alloc(g);
            uint64_t step = level_size(level - 1) >> PAGE_SHIFT << PTE_PPN_SHIFT;

            if (!child)
                return ERR_NOMEM;
            BUG_ON(log->n >= SPLITS_MAX);
            /* Same flags; the PPN's low bits are zero in an aligned leaf, so
             * adding never carries into the flags. */
            for (size_t i = 0; i < TABLE_ENTRIES; i++)
                child[i] = pte + i * step;
            log->entry[log->n].ptep = ptep;
            log->entry[log->n].leaf = pte;
            log->entry[log->n].table = child;
            log->n++;
            pte = pte_make_table(child);
            pte_store(ptep, pte);
        }
        t = pte_table(pte);
    }
    return 0;
}

static uint64_t gpa_limit(const struct gstage *g)
{
    return 1ULL << g->gpa_bits;
}

static bool range_ok(const struct gstage *g, uint64_t gpa, uint64_t size)
{
    return g->root && size != 0 && (gpa | size) % PAGE_SIZE == 0 && size <= gpa_limit(g) &&
           gpa <= gpa_limit(g) - size;
}

int gstage_levels(enum gstage_mode mode)
{
    switch (mode) {
    case GSTAGE_SV39X4:
        return 3;
    case GSTAGE_SV48X4:
        return 4;
    case GSTAGE_SV57X4:
        return 5;
    }
    return 0;
}

enum gstage_mode gstage_mode_best(int satp_max_bits)
{
    return satp_max_bits >= 48 ? GSTAGE_SV48X4 : GSTAGE_SV39X4;
}

int gstage_init(struct gstage *g, enum gstage_mode mode)
{
    int levels = gstage_levels(mode);

    *g = (struct gstage){0};
    if (!levels)
        return ERR_INVAL;
    g->root = pmem_zalloc(ROOT_SIZE, ROOT_SIZE);
    if (!g->root)
        return ERR_NOMEM;
    g->mode = mode;
    g->levels = levels;
    g->gpa_bits = level_shift(levels) + 2;
    g->table_pages = ROOT_PAGES;
    return 0;
}

uint64_t gstage_tables_max(enum gstage_mode mode, uint64_t gpa, uint64_t size)
{
    int levels = gstage_levels(mode);
    uint64_t bytes = ROOT_SIZE, last = gpa + size - 1;

    if (!levels || !size)
        return 0;
    /* A table at level l spans what its 512 entries map: one per distinct
     * span the range touches. */
    for (int l = 0; l < levels - 1; l++)
        bytes += ((last >> level_shift(l + 1)) - (gpa >> level_shift(l + 1)) + 1) * TABLE_SIZE;
    return bytes;
}

static void tables_free(struct gstage *g, uint64_t *t, int level, size_t entries)
{
    for (size_t i = 0; i < entries; i++) {
        uint64_t pte = t[i];

        if (pte_valid(pte) && !pte_leaf(pte) && level > 0) {
            tables_free(g, pte_table(pte), level - 1, TABLE_ENTRIES);
            table_free(g, pte_table(pte));
        }
    }
}

void gstage_destroy(struct gstage *g)
{
    if (!g->root)
        return;
    tables_free(g, g->root, g->levels - 1, ROOT_ENTRIES);
    pmem_free(g->root, ROOT_SIZE);
    g->root = NULL;
    g->table_pages = 0;
}

int gstage_map(struct gstage *g, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned perm)
{
    int top = g->levels - 1;
    int err;

    if (!range_ok(g, gpa, size) || hpa % PAGE_SIZE != 0 || hpa >= 1ULL << PA_BITS ||
        size > (1ULL << PA_BITS) - hpa)
        return ERR_INVAL;
    if (!perm || (perm & ~GSTAGE_RWX) || ((perm & GSTAGE_WRITE) && !(perm & GSTAGE_READ)))
        return ERR_INVAL;
    if (range_has_leaf(g, g->root, top, gpa, gpa + size))
        return ERR_EXIST;
    err = map_range(g, g->root, top, gpa, gpa + size, hpa - gpa, perm);
    /* Nothing in the range was mapped before, so unmapping all of it (and the
     * tables it empties) restores the tables exactly. */
    if (err)
        unmap_range(g, g->root, top, gpa, gpa + size);
    return err;
}

int gstage_unmap(struct gstage *g, uint64_t gpa, uint64_t size)
{
    struct split_log log = {0};
    int err;

    if (!range_ok(g, gpa, size))
        return ERR_INVAL;
    err = split_at(g, gpa, &log);
    /* The end of the space is in no leaf. */
    if (!err && gpa + size < gpa_limit(g))
        err = split_at(g, gpa + size, &log);
    if (err) {
        split_undo(g, &log);
        return err;
    }
    unmap_range(g, g->root, g->levels - 1, gpa, gpa + size);
    return 0;
}

bool gstage_translate(const struct gstage *g, uint64_t gpa, uint64_t *hpa, unsigned *perm,
                      uint64_t *page_size)
{
    const uint64_t *t = g->root;

    if (!t || gpa >= gpa_limit(g))
        return false;
    for (int level = g->levels - 1; level >= 0; level--) {
        uint64_t pte = t[pte_index(g, level, gpa)];
        uint64_t size = level_size(level);

        if (!pte_valid(pte))
            return false;
        if (pte_leaf(pte)) {
            if (hpa)
                *hpa = pte_addr(pte) + (gpa & (size - 1));
            if (perm)
                *perm = (unsigned)(pte & PTE_RWX);
            if (page_size)
                *page_size = size;
            return true;
        }
        t = pte_table(pte);
    }
    return false;
}

uint64_t gstage_hgatp(const struct gstage *g, uint16_t vmid)
{
    uint64_t ppn = (uint64_t)(uintptr_t)g->root >> PAGE_SHIFT;

    return (uint64_t)g->mode << HGATP_MODE_SHIFT |
           ((uint64_t)vmid & HGATP_VMID_MASK) << HGATP_VMID_SHIFT | (ppn & HGATP_PPN_MASK);
}

/* ---- Dirty logging: splitting, write protection (see gstage.h) ---- */

/* The leaf translating gpa and its level, or NULL. PTEs are read once each,
 * since other harts may change leaves' W and LOGWP bits meanwhile. */
static uint64_t *leaf_ptep(const struct gstage *g, uint64_t gpa, int *level)
{
    uint64_t *t = g->root;

    if (!t || gpa >= gpa_limit(g))
        return NULL;
    for (int l = g->levels - 1; l >= 0; l--) {
        uint64_t *ptep = &t[pte_index(g, l, gpa)];
        uint64_t pte = __atomic_load_n(ptep, __ATOMIC_RELAXED);

        if (!pte_valid(pte))
            return NULL;
        if (pte_leaf(pte)) {
            *level = l;
            return ptep;
        }
        t = pte_table(pte);
    }
    return NULL;
}

/* Table pages it takes to split a leaf of this level down to 4 KiB. */
static size_t split_tables(int level)
{
    size_t n = 0;

    for (int l = 1; l <= level; l++)
        n = 1 + TABLE_ENTRIES * n;
    return n;
}

/* Replaces the leaf at *ptep (level > 0) by a table of smaller leaves with the
 * same flags, and those in turn, down to 4 KiB; tables come from *pool, a
 * list linked through each page's first word. The new table is complete
 * before the PTE points at it (release fence: stores in order for walkers
 * that honour it; the caller's HFENCE.GVMA for the others). */
static void split_leaf(uint64_t *ptep, int level, uint64_t **pool)
{
    uint64_t pte = *ptep;
    uint64_t *child = *pool;
    uint64_t step = level_size(level - 1) >> PAGE_SHIFT << PTE_PPN_SHIFT;

    BUG_ON(!child);
    *pool = (uint64_t *)(uintptr_t)child[0];
    for (size_t i = 0; i < TABLE_ENTRIES; i++)
        child[i] = pte + i * step;
    if (level - 1 > 0) {
        for (size_t i = 0; i < TABLE_ENTRIES; i++)
            split_leaf(&child[i], level - 1, pool);
    }
    __atomic_thread_fence(__ATOMIC_RELEASE);
    pte_store(ptep, pte_make_table(child));
}

int gstage_split_range(struct gstage *g, uint64_t gpa, uint64_t size, size_t *tables)
{
    uint64_t *pool = NULL;
    size_t need = 0;
    int level;

    if (tables)
        *tables = 0;
    if (!range_ok(g, gpa, size))
        return ERR_INVAL;
    for (uint64_t addr = gpa, end = gpa + size; addr < end && addr >= gpa;) {
        uint64_t *ptep = leaf_ptep(g, addr, &level);
        uint64_t lsize = ptep ? level_size(level) : PAGE_SIZE;

        if (ptep)
            need += split_tables(level);
        addr = (addr & ~(lsize - 1)) + lsize;
    }
    if (tables)
        *tables = need;
    for (size_t i = 0; i < need; i++) {
        uint64_t *t = table_alloc(g);

        if (!t) {
            while (pool) {
                uint64_t *next = (uint64_t *)(uintptr_t)pool[0];
                pool[0] = 0;
                table_free(g, pool);
                pool = next;
            }
            return ERR_NOMEM;
        }
        t[0] = (uint64_t)(uintptr_t)pool;
        pool = t;
    }
    for (uint64_t addr = gpa, end = gpa + size; addr < end && addr >= gpa;) {
        uint64_t *ptep = leaf_ptep(g, addr, &level);
        uint64_t lsize = ptep ? level_size(level) : PAGE_SIZE;

        if (ptep && level > 0)
            split_leaf(ptep, level, &pool);
        addr = (addr & ~(lsize - 1)) + lsize;
    }
    BUG_ON(pool);
    return 0;
}

/* One compare-and-swap loop on a 4 KiB leaf: from (W set) to (W clear, LOGWP
 * set) when protect, the other way round otherwise. True if it changed. */
static bool log_switch(uint64_t *ptep, bool protect)
{
    uint64_t pte = __atomic_load_n(ptep, __ATOMIC_RELAXED);

    for (;;) {
        uint64_t next;

        if (protect) {
            if (!(pte & PTE_W))
                return false;
            next = (pte & ~PTE_W) | PTE_LOGWP;
        } else {
            if (!(pte & PTE_LOGWP) || (pte & PTE_W))
                return false;
            next = (pte & ~PTE_LOGWP) | PTE_W;
        }
        if (__atomic_compare_exchange_n(ptep, &pte, next, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            return true;
    }
}

/* Calls fn for each leaf mapping part of [gpa, gpa + size) (a huge leaf
 * once); returns how many calls returned true. */
static size_t leaves_each(struct gstage *g, uint64_t gpa, uint64_t size,
                          bool (*fn)(uint64_t *ptep, int level, uint64_t leaf_gpa, void *ctx),
                          void *ctx)
{
    size_t n = 0;
    int level;

    if (!range_ok(g, gpa, size))
        return 0;
    for (uint64_t addr = gpa, end = gpa + size; addr < end && addr >= gpa;) {
        uint64_t *ptep = leaf_ptep(g, addr, &level);
        uint64_t lsize = ptep ? level_size(level) : PAGE_SIZE;

        if (ptep && fn(ptep, level, addr & ~(lsize - 1), ctx))
            n++;
        addr = (addr & ~(lsize - 1)) + lsize;
    }
    return n;
}

static bool leaf_protect(uint64_t *ptep, int level, uint64_t leaf_gpa, void *ctx)
{
    (void)leaf_gpa;
    return level == 0 && log_switch(ptep, *(const bool *)ctx);
}

size_t gstage_log_protect_range(struct gstage *g, uint64_t gpa, uint64_t size, bool protect)
{
    return leaves_each(g, gpa, size, leaf_protect, &protect);
}

int gstage_log_fault(struct gstage *g, uint64_t gpa)
{
    int level;
    uint64_t *ptep = leaf_ptep(g, gpa, &level);
    uint64_t pte;

    if (!ptep)
        return ERR_NOENT;
    pte = __atomic_load_n(ptep, __ATOMIC_RELAXED);
    if ((pte & PTE_W) && !(pte & PTE_D) && level == 0) {
        /* D-bit logging on a hart that does not set D itself: the store
         * faulted on the clear D bit; set it, and the page counts as dirty. */
        __atomic_fetch_or(ptep, PTE_A | PTE_D, __ATOMIC_ACQ_REL);
        return GSTAGE_LOG_UNPROTECTED;
    }
    if (pte & PTE_W)
        return GSTAGE_LOG_WRITABLE;
    if (level != 0 || !(pte & PTE_LOGWP))
        return ERR_NOENT;
    /* Only this switch and gstage_log_protect_* change the leaf now: losing
     * the race means someone made it writable first. */
    return log_switch(ptep, false) ? GSTAGE_LOG_UNPROTECTED : GSTAGE_LOG_WRITABLE;
}

/* D-bit mode: clears D on a 4 KiB writable leaf; true if it was set. */
static bool log_clear_d(uint64_t *ptep)
{
    uint64_t pte = __atomic_load_n(ptep, __ATOMIC_RELAXED);

    while (pte & PTE_D) {
        if (__atomic_compare_exchange_n(ptep, &pte, pte & ~PTE_D, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            return true;
    }
    return false;
}

struct leaf_mark {
    void (*mark)(void *ctx, uint64_t gpa);
    void *ctx;
};

static bool leaf_take_d(uint64_t *ptep, int level, uint64_t leaf_gpa, void *ctx)
{
    const struct leaf_mark *m = ctx;

    if (level != 0 || !(__atomic_load_n(ptep, __ATOMIC_RELAXED) & PTE_W) || !log_clear_d(ptep))
        return false;
    if (m->mark)
        m->mark(m->ctx, leaf_gpa);
    return true;
}

size_t gstage_log_dirty_range(struct gstage *g, uint64_t gpa, uint64_t size,
                              void (*mark)(void *ctx, uint64_t gpa), void *ctx)
{
    struct leaf_mark m = {mark, ctx};
    return leaves_each(g, gpa, size, leaf_take_d, &m);
}

static bool leaf_set_d(uint64_t *ptep, int level, uint64_t leaf_gpa, void *ctx)
{
    (void)level;
    (void)leaf_gpa;
    (void)ctx;
    __atomic_fetch_or(ptep, PTE_A | PTE_D, __ATOMIC_ACQ_REL);
    return false;
}

void gstage_log_set_d_range(struct gstage *g, uint64_t gpa, uint64_t size)
{
    leaves_each(g, gpa, size, leaf_set_d, NULL);
}

bool gstage_log_protect_page(struct gstage *g, uint64_t gpa)
{
    int level;
    uint64_t *ptep = leaf_ptep(g, gpa, &level);

    return ptep && level == 0 && log_switch(ptep, true);
}
