/* SPDX-License-Identifier: Apache-2.0 */
/* The dirty-logging self-check: what a pre-copy live migration does, with
 * a shadow copy in Vireo's own memory standing in for the destination. */
#include "core/dirty_check.h"

#include "arch/arch.h"
#include "core/console.h"
#include "core/dirty.h"
#include "core/hart.h"
#include "core/pmem.h"
#include "core/sched.h"
#include "core/vm.h"
#include "lib/err.h"
#include "lib/string.h"

#define PAGE      4096u
#define SHOW_MAX  8 /* differing pages named */
#define PAUSE_SEC 2 /* longest wait for the vCPUs to leave their harts */

static uint64_t dirty_exits(const struct vm *vm)
{
    uint64_t n = 0;

    for (unsigned i = 0; i < vm->nvcpus; i++)
        n += __atomic_load_n(&vm->vcpus[i].exits[EXIT_DIRTY], __ATOMIC_RELAXED);
    return n;
}

/* Copies the pages a fetch reported into the shadow; their count or an
 * error. */
static long fetch_copy(struct vm *vm, uint64_t *bm, size_t words, uint8_t *shadow)
{
    long n = vm_dirty_fetch(vm, bm, words);

    if (n <= 0)
        return n;
    for (size_t w = 0; w < words; w++) {
        for (uint64_t bits = bm[w]; bits; bits &= bits - 1) {
            uint64_t page = (uint64_t)w * 64 + (unsigned)__builtin_ctzll(bits);
            int r = gpa_read(vm, vm->ram_base + page * PAGE, shadow + page * PAGE, PAGE);
            if (r < 0)
                return r;
        }
    }
    return n;
}

/* True once no vCPU of the VM is on a hart, this hart's own one aside (the
 * shell may run in the exit of one of the VM's vCPUs: that one is in
 * Vireo, not in the guest, and stays there while this runs). */
static bool vcpus_off(const struct vm *vm)
{
    const struct vcpu *me = arch_this_hart()->current;

    for (unsigned i = 0; i < vm->nvcpus; i++) {
        const struct vcpu *v = &vm->vcpus[i];
        if (v != me && __atomic_load_n(&v->state, __ATOMIC_ACQUIRE) == VCPU_RUNNING)
            return false;
    }
    return true;
}

int vm_dirty_check(struct vm *vm, unsigned seconds, uint32_t timebase_hz)
{
    char err[160];
    size_t words = vm_dirty_words(vm);
    uint64_t pages = (vm->ram_size + PAGE - 1) / PAGE;
    uint64_t span = pages * PAGE;
    uint8_t *shadow = pmem_alloc(span, PAGE);
    uint64_t *bm = pmem_alloc(words * sizeof(uint64_t), PAGE);
    uint8_t *page = pmem_alloc(PAGE, PAGE);
    long fetches = 0, copied = 0, last = 0, r;
    unsigned bad = 0;
    uint64_t exits0 = dirty_exits(vm);
    int ret = 0;

    if (!shadow || !bm || !page) {
        console_printf("dirtycheck vm %s: FAIL: no memory for a %lu KiB shadow\n", vm->name,
                       (unsigned long)(span >> 10));
        ret = ERR_NOMEM;
        goto out;
    }
    if ((r = vm_dirty_start(vm, err, sizeof(err))) < 0) {
        console_printf("dirtycheck vm %s: FAIL: cannot start dirty logging: %s\n", vm->name, err);
        ret = (int)r;
        goto out;
    }
    console_printf("dirtycheck vm %s: logging (%s), %lu pages, %lu page-table pages added to "
                   "split huge pages\n",
                   vm->name,
                   vm->dirty.dbit ? "D bits the hardware sets" : "write-protect and fault",
                   (unsigned long)pages, (unsigned long)vm->dirty.split_tables);
    /* The first round of a pre-copy: everything, with logging on already. */
    if ((r = gpa_read(vm, vm->ram_base, shadow, span)) < 0)
        goto failed;
    uint64_t end = arch_time() + (uint64_t)seconds * timebase_hz;
    while (arch_time() < end) {
        if ((r = fetch_copy(vm, bm, words, shadow)) < 0)
            goto failed;
        fetches++;
        copied += r;
        /* About a millisecond for the guest to dirty pages again. */
        uint64_t until = arch_time() + timebase_hz / 1000;
        while (arch_time() < until)
            arch_cpu_relax();
    }
    sched_pause_vm(vm, true);
    uint64_t pause_end = arch_time() + (uint64_t)PAUSE_SEC * timebase_hz;
    while (!vcpus_off(vm) && arch_time() < pause_end)
        arch_cpu_relax();
    if (!vcpus_off(vm)) {
        console_printf("dirtycheck vm %s: FAIL: its vCPUs did not leave their harts within %u s "
                       "of the pause\n",
                       vm->name, PAUSE_SEC);
        ret = ERR_AGAIN;
        goto resume;
    }
    if ((r = fetch_copy(vm, bm, words, shadow)) < 0)
        goto failed;
    last = r;
    fetches++;
    copied += r;
    for (uint64_t p = 0; p < pages; p++) {
        if ((r = gpa_read(vm, vm->ram_base + p * PAGE, page, PAGE)) < 0)
            goto failed;
        if (memcmp(page, shadow + p * PAGE, PAGE) == 0)
            continue;
        if (bad++ < SHOW_MAX) {
            unsigned o = 0;
            while (page[o] == shadow[p * PAGE + o])
                o++;
            console_printf("dirtycheck vm %s: page gpa %#lx differs from the copy: byte %#x is "
                           "%#x in the guest, %#x in the copy (a write the log missed)\n",
                           vm->name, (unsigned long)(vm->ram_base + p * PAGE), o, page[o],
                           shadow[p * PAGE + o]);
        }
    }
    if (bad) {
        console_printf("dirtycheck vm %s: FAIL: %u of %lu pages differ after %ld fetches\n",
                       vm->name, bad, (unsigned long)pages, fetches);
        ret = ERR_MISMATCH;
    } else {
        uint64_t exits = dirty_exits(vm) - exits0;
        console_printf("dirtycheck vm %s: PASS: %lu pages identical after %ld fetches; %ld dirty "
                       "pages copied, %ld in the final fetch; %lu dirty-log exits (%lu per "
                       "fetch)\n",
                       vm->name, (unsigned long)pages, fetches, copied, last, (unsigned long)exits,
                       (unsigned long)(exits / (uint64_t)fetches));
    }
    goto resume;
failed:
    console_printf("dirtycheck vm %s: FAIL: %s\n", vm->name, err_str((int)r));
    ret = (int)r;
resume:
    vm_dirty_stop(vm);
    sched_pause_vm(vm, false);
out:
    pmem_free(page, PAGE);
    pmem_free(bm, words * sizeof(uint64_t));
    pmem_free(shadow, span);
    return ret;
}
