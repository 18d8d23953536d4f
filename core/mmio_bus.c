/* SPDX-License-Identifier: Apache-2.0 */
/* A VM's device bus: the MMIO ranges its device models answer, sorted by
 * base, never overlapping RAM or each other.  Devices are added while the
 * VM is built (no vCPU runs), so lookups need no lock. */
#include "core/mmio_bus.h"

#include "core/vm.h"
#include "lib/err.h"

int vm_add_device(struct vm *vm, struct mmio_dev *dev)
{
    if (vm->ndevs == VM_MAX_DEVS)
        return ERR_NOSPC;
    if (!dev->size || dev->base + dev->size < dev->base)
        return ERR_INVAL;
    /* Devices may not shadow RAM: RAM accesses never fault. */
    if (dev->base < vm->ram_base + vm->ram_size && vm->ram_base < dev->base + dev->size)
        return ERR_EXIST;
    unsigned i = vm->ndevs;
    for (unsigned j = 0; j < vm->ndevs; j++) {
        const struct mmio_dev *d = vm->devs[j];
        if (dev->base < d->base + d->size && d->base < dev->base + dev->size)
            return ERR_EXIST;
    }
    while (i > 0 && vm->devs[i - 1]->base > dev->base) {
        vm->devs[i] = vm->devs[i - 1];
        i--;
    }
    vm->devs[i] = dev;
    vm->ndevs++;
    return 0;
}

struct mmio_dev *vm_find_device(struct vm *vm, uint64_t gpa, uint64_t n)
{
    for (unsigned i = 0; i < vm->ndevs; i++) {
        struct mmio_dev *d = vm->devs[i];
        if (gpa >= d->base && gpa - d->base < d->size && n <= d->size - (gpa - d->base))
            return d;
    }
    return NULL;
}
