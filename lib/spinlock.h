/* SPDX-License-Identifier: Apache-2.0 */
/* Ticket spinlocks: fair, so a hart that keeps re-taking a lock (a console
 * printer, a busy allocator) cannot starve the others.  Built on the C
 * compiler's atomics, so the same code runs in the hypervisor and in host
 * unit tests. */
#ifndef VIREO_LIB_SPINLOCK_H
#define VIREO_LIB_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct spinlock {
    uint32_t next;  /* ticket handed to the next arrival */
    uint32_t owner; /* ticket now served */
};

#define SPINLOCK_INIT                                                                              \
    {                                                                                              \
        0, 0                                                                                       \
    }

static inline void spin_init(struct spinlock *l)
{
    __atomic_store_n(&l->next, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&l->owner, 0, __ATOMIC_RELEASE);
}

static inline __attribute__((always_inline)) void spin_lock(struct spinlock *l)
{
    uint32_t me = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);

    while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != me)
        ;
}

static inline bool spin_trylock(struct spinlock *l)
{
    uint32_t owner = __atomic_load_n(&l->owner, __ATOMIC_RELAXED);
    uint32_t expect = owner;

    return __atomic_compare_exchange_n(&l->next, &expect, owner + 1, false, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

static inline void spin_unlock(struct spinlock *l)
{
    __atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}

static inline bool spin_is_locked(struct spinlock *l)
{
    return __atomic_load_n(&l->next, __ATOMIC_RELAXED) !=
           __atomic_load_n(&l->owner, __ATOMIC_RELAXED);
}

#endif
