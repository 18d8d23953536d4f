/* SPDX-License-Identifier: Apache-2.0 */
/* G-stage dirty logging; the protocol is in dirty.h, the G-stage leaf
 * states in gstage.h, the whole story in docs/dirty-logging.md. */
#include "core/dirty.h"

#include "arch/arch.h"
#include "core/gstage.h"
#include "core/pmem.h"
#include "core/sched.h"
#include "core/vm.h"
#include "core/vmm.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"

#define PAGE_SIZE (1ULL << DIRTY_PAGE_SHIFT)

static uint64_t ram_pages(const struct vm *vm)
{
    return (vm->ram_size + PAGE_SIZE - 1) >> DIRTY_PAGE_SHIFT;
}

size_t vm_dirty_words(const struct vm *vm)
{
    return (size_t)((ram_pages(vm) + 63) / 64);
}

/* The G-stage range that holds the RAM (whole pages). */
static uint64_t ram_span(const struct vm *vm)
{
    return ram_pages(vm) << DIRTY_PAGE_SHIFT;
}

/* After permissions were taken away: no hart may use a G-stage TLB entry of
 * this VM from before the change once this returns.  Harts running one of
 * its vCPUs get a fence request and are kicked out of the guest (the vCPU
 * does HFENCE.GVMA before it re-enters: vcpu_arch_run); every other hart
 * sees the new generation when it next loads one of its vCPUs
 * (vcpu_arch_load).  The sync also waits for faults being handled on the
 * exit fast path (their vCPU counts as in the guest until it really
 * exits), so none is between its CAS and its mark when this returns. */
static void dirty_flush(struct vm *vm)
{
    __atomic_fetch_add(&vm->gs.gen, 1, __ATOMIC_SEQ_CST);
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        struct vcpu *v = &vm->vcpus[i];

        vcpu_arch_request_fence(&v->arch, VCPU_FENCE_GVMA);
        /* The request before the look at in_guest (sched_sync_vcpu), as the
         * vCPU raises in_guest before it looks at its requests. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        sched_sync_vcpu(v);
    }
}

/* D-bit mode: a page the hardware marked dirty, into the bitmap. */
static void dirty_mark(void *ctx, uint64_t gpa)
{
    struct vm *vm = ctx;
    uint64_t p = (gpa - vm->ram_base) >> DIRTY_PAGE_SHIFT;
    __atomic_fetch_or(&vm->dirty.bitmap[p / 64], 1ULL << (p % 64), __ATOMIC_RELEASE);
}

int vm_dirty_start(struct vm *vm, char *err, size_t errlen)
{
    struct vm_dirty *d = &vm->dirty;
    size_t words = vm_dirty_words(vm);
    size_t bytes = (words * sizeof(uint64_t) + PAGE_SIZE - 1) & ~(size_t)(PAGE_SIZE - 1);
    size_t tables = 0;
    int r;

    if (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_RUNNING) {
        fmt_snprintf(err, errlen, "vm %s is not running", vm->name);
        return ERR_INVAL;
    }
    spin_lock(&d->lock);
    if (d->on) {
        spin_unlock(&d->lock);
        fmt_snprintf(err, errlen, "dirty logging is on already for vm %s", vm->name);
        return ERR_EXIST;
    }
    if (d->bitmap && d->bitmap_bytes < bytes) {
        pmem_free(d->bitmap, d->bitmap_bytes);
        d->bitmap = NULL;
    }
    if (!d->bitmap) {
        d->bitmap = pmem_zalloc(bytes, PAGE_SIZE);
        if (!d->bitmap) {
            spin_unlock(&d->lock);
            fmt_snprintf(err, errlen, "no memory for a %lu KiB dirty bitmap",
                         (unsigned long)(bytes >> 10));
            return ERR_NOMEM;
        }
        d->bitmap_bytes = bytes;
    }
    for (size_t i = 0; i < words; i++)
        __atomic_store_n(&d->bitmap[i], 0, __ATOMIC_RELAXED);
    r = gstage_split_range(&vm->gs, vm->ram_base, ram_span(vm), &tables);
    if (r < 0) {
        spin_unlock(&d->lock);
        fmt_snprintf(err, errlen,
                     "cannot split vm %s's huge pages into 4 KiB pages: %lu page-table pages "
                     "needed, %lu KiB free",
                     vm->name, (unsigned long)tables, (unsigned long)(pmem_free_bytes() >> 10));
        return r;
    }
    d->split_tables = tables;
    d->pages = ram_pages(vm);
    d->words = words;
    d->fetches = 0;
    d->dbit = vmm_gstage_ad_hw();
    /* On before the first leaf is protected: faults may come at once. */
    __atomic_store_n(&d->on, true, __ATOMIC_RELEASE);
    if (d->dbit)
        gstage_log_dirty_range(&vm->gs, vm->ram_base, ram_span(vm), NULL, NULL);
    else
        gstage_log_protect_range(&vm->gs, vm->ram_base, ram_span(vm), true);
    dirty_flush(vm);
    spin_unlock(&d->lock);
    return 0;
}

void vm_dirty_stop(struct vm *vm)
{
    struct vm_dirty *d = &vm->dirty;

    spin_lock(&d->lock);
    if (d->on) {
        __atomic_store_n(&d->on, false, __ATOMIC_RELEASE);
        if (d->dbit)
            gstage_log_set_d_range(&vm->gs, vm->ram_base, ram_span(vm));
        else
            gstage_log_protect_range(&vm->gs, vm->ram_base, ram_span(vm), false);
        /* Not needed for correctness (a stale read-only entry only costs a
         * fault that finds the page writable), but it keeps stop cheap for
         * the guest and waits for faults in flight. */
        dirty_flush(vm);
    }
    spin_unlock(&d->lock);
}

long vm_dirty_fetch(struct vm *vm, uint64_t *bitmap, size_t words)
{
    struct vm_dirty *d = &vm->dirty;
    long count = 0;

    spin_lock(&d->lock);
    if (!d->on) {
        spin_unlock(&d->lock);
        return ERR_INVAL;
    }
    if (words < d->words) {
        spin_unlock(&d->lock);
        return ERR_NOSPC;
    }
    /* D-bit mode: the pages the hardware marked, into the bitmap (where a
     * store that faulted on a clear D may have put some already). */
    size_t from_d = 0;
    if (d->dbit)
        from_d = gstage_log_dirty_range(&vm->gs, vm->ram_base, ram_span(vm), dirty_mark, vm);
    for (size_t w = 0; w < d->words; w++) {
        uint64_t bits = __atomic_load_n(&d->bitmap[w], __ATOMIC_RELAXED);

        if (bits)
            bits = __atomic_exchange_n(&d->bitmap[w], 0, __ATOMIC_ACQ_REL);
        bitmap[w] = bits;
        while (bits) {
            unsigned b = (unsigned)__builtin_ctzll(bits);

            bits &= bits - 1;
            if (!d->dbit)
                gstage_log_protect_page(&vm->gs, vm->ram_base +
                                                     (((uint64_t)w * 64 + b) << DIRTY_PAGE_SHIFT));
            count++;
        }
    }
    for (size_t w = d->words; w < words; w++)
        bitmap[w] = 0;
    if (count || from_d)
        dirty_flush(vm);
    d->fetches++;
    spin_unlock(&d->lock);
    return count;
}

bool vm_dirty_fault(struct vm *vm, uint64_t gpa)
{
    uint64_t page = gpa & ~(PAGE_SIZE - 1);
    int r = gstage_log_fault(&vm->gs, page);

    if (r < 0)
        return false;
    if (r == GSTAGE_LOG_UNPROTECTED) {
        uint64_t p = (page - vm->ram_base) >> DIRTY_PAGE_SHIFT;
        /* After the CAS (dirty.h): the bit may only appear once the page
         * is writable. */
        __atomic_fetch_or(&vm->dirty.bitmap[p / 64], 1ULL << (p % 64), __ATOMIC_RELEASE);
    }
    /* The entry that faulted may still be in this hart's TLB. */
    arch_hfence_gvma_gpa(page, vm->vmid);
    return true;
}

void vm_dirty_release(struct vm *vm)
{
    struct vm_dirty *d = &vm->dirty;

    if (d->bitmap)
        pmem_free(d->bitmap, d->bitmap_bytes);
    *d = (struct vm_dirty){0};
}
