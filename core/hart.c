/* SPDX-License-Identifier: Apache-2.0 */
#include "core/hart.h"

#include "arch/arch.h"
#include "core/console.h"
#include "core/pmem.h"

struct hart harts[HART_MAX];
unsigned hart_count = 1;

void hart_set_online(struct hart *h)
{
    __atomic_store_n(&h->online, true, __ATOMIC_RELEASE);
}

unsigned harts_online(void)
{
    unsigned n = 0;

    for (unsigned i = 0; i < hart_count; i++)
        n += __atomic_load_n(&harts[i].online, __ATOMIC_ACQUIRE);
    return n;
}

bool hart_stack_intact(const struct hart *h)
{
    return !h->stack_base || *(const uint64_t *)h->stack_base == HART_CANARY;
}

unsigned harts_start(const struct platform *p, unsigned long boot_hartid)
{
    /* The boot hart is already running on its static stack. */
    harts[0].index = 0;
    harts[0].hartid = boot_hartid;
    hart_set_online(&harts[0]);
    hart_count = 1;

    for (int i = 0; i < p->nharts; i++) {
        if (p->harts[i].hartid == boot_hartid)
            continue;
        if (!(p->harts[i].isa & ISA_H)) {
            console_printf("vireo: hart %lu lacks the H extension; not using it\n",
                           p->harts[i].hartid);
            continue;
        }
        void *stack = pmem_alloc(HART_STACK_SIZE, 4096);
        if (!stack) {
            console_printf("vireo: no memory for hart %lu's stack\n", p->harts[i].hartid);
            break;
        }
        struct hart *h = &harts[hart_count];
        h->index = hart_count;
        h->hartid = p->harts[i].hartid;
        h->stack_base = (uintptr_t)stack;
        h->stack_top = (uintptr_t)stack + HART_STACK_SIZE;
        *(uint64_t *)stack = HART_CANARY;
        h->online = false;
        /* The started hart reads its struct without locks: publish first. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        long err = arch_hart_start(h->hartid, h);
        if (err) {
            console_printf("vireo: firmware would not start hart %lu (SBI error %ld)\n", h->hartid,
                           err);
            pmem_free(stack, HART_STACK_SIZE);
            continue;
        }
        hart_count++;
    }

    /* A started hart normally arrives within microseconds; a loaded host
     * running QEMU can take much longer.  Give up after five seconds of
     * platform time and name the harts that never came. */
    uint64_t deadline = arch_time() + 5ull * p->timebase_hz;
    while (harts_online() < hart_count && arch_time() < deadline)
        arch_cpu_relax();
    for (unsigned i = 1; i < hart_count; i++) {
        if (!__atomic_load_n(&harts[i].online, __ATOMIC_ACQUIRE))
            console_printf("vireo: hart %lu was started but never arrived\n", harts[i].hartid);
    }
    return harts_online();
}
