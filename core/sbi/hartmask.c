/* SPDX-License-Identifier: Apache-2.0 */
/* SBI hart masks, shared by IPI, RFENCE and the legacy calls. */
#include "core/sbi/sbi.h"

#include "core/vm.h"

long sbi_for_each_hart(struct vcpu *v, unsigned long mask, unsigned long base,
                       void (*fn)(struct vcpu *target, void *arg), void *arg)
{
    struct vm *vm = v->vm;

    if (base == (unsigned long)-1) {
        for (unsigned i = 0; i < vm->nvcpus; i++)
            fn(&vm->vcpus[i], arg);
        return SBI_SUCCESS;
    }
    /* Check every named hart first: an invalid mask does nothing at all.
     * Valid: no bit at or above nvcpus - base. */
    if (mask && (base >= vm->nvcpus || (vm->nvcpus - base < 64 && (mask >> (vm->nvcpus - base)))))
        return SBI_ERR_INVALID_PARAM;
    /* Only as far as the highest bit set: an IPI to one hart is one or
     * two steps, not 64. */
    for (unsigned long bit = 0; mask; bit++, mask >>= 1) {
        if (mask & 1)
            fn(&vm->vcpus[base + bit], arg);
    }
    return SBI_SUCCESS;
}
