/* SPDX-License-Identifier: Apache-2.0 */
/* The table of VM slots.  A file of its own so that the scheduler (which
 * scans it for blocked vCPUs) and the VM code build on it without
 * depending on each other. */
#include "core/vm.h"

#include "lib/string.h"

struct vm vms[VM_MAX];
unsigned vm_count;

struct vm *vm_find(const char *name)
{
    unsigned n = __atomic_load_n(&vm_count, __ATOMIC_ACQUIRE);

    for (unsigned i = 0; i < n; i++) {
        /* A deleted VM's slot keeps no name, but its state says first. */
        if (vm_in_use(&vms[i]) && strcmp(vms[i].name, name) == 0)
            return &vms[i];
    }
    return NULL;
}

void vm_slot_init(unsigned index, const struct vm_config *cfg)
{
    struct vm *vm = &vms[index];

    /* Everything the slot's last VM left (how it ended, boots, counters,
     * its dirty log's bookkeeping) goes: the new VM starts from nothing. */
    memset(vm, 0, sizeof(*vm));
    vm->index = index;
    vm->cfg = cfg;
    memcpy(vm->name, cfg->name, sizeof(vm->name));
    vm->name[sizeof(vm->name) - 1] = '\0';
    vconsole_port_init(&vm->con, vm->name);
    __atomic_store_n(&vm->state, VM_DONE, __ATOMIC_RELEASE);
    if (index >= vm_count)
        __atomic_store_n(&vm_count, index + 1, __ATOMIC_RELEASE);
}
