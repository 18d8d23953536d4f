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
    /* Check every named hart first: an invalid mask does nothing at all. */
    for (unsigned bit = 0; bit < 64; bit++) {
        if ((mask >> bit) & 1) {
            if (base >= vm->nvcpus || bit >= vm->nvcpus - base)
                return SBI_ERR_INVALID_PARAM;
        }
    }
    for (unsigned bit = 0; bit < 64; bit++) {
        if ((mask >> bit) & 1)
            fn(&vm->vcpus[base + bit], arg);
    }
    return SBI_SUCCESS;
}
