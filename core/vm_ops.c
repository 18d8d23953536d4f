/* SPDX-License-Identifier: Apache-2.0 */
/* VM operations shared by the management front ends (core/vm_ops.h). */
#include "core/vm_ops.h"
#include "core/hart.h"
#include "core/sched.h"
#include "core/vm_admin.h"
#include "core/vm_life.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/spinlock.h"
#include "lib/string.h"

static struct spinlock ops_lock;

void vm_ops_hold(void)
{
    spin_lock(&ops_lock);
}

void vm_ops_release(void)
{
    spin_unlock(&ops_lock);
}

const char *const vm_ops_exit_names[EXIT_KINDS] = {
    [EXIT_SBI] = "sbi",           [EXIT_GUEST_FAULT] = "page-fault",
    [EXIT_MMIO] = "mmio",         [EXIT_VIRTUAL_INSN] = "virtual-insn",
    [EXIT_WFI] = "wfi",           [EXIT_TIMER] = "timer",
    [EXIT_WRS] = "wrs",           [EXIT_IPI] = "ipi",
    [EXIT_EXTERNAL] = "external", [EXIT_OTHER] = "other",
    [EXIT_DIRTY] = "dirty-log",
};

const char *vm_ops_state(const struct vm *vm)
{
    switch (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE)) {
    case VM_RUNNING:
        return vm->paused ? "paused" : "running";
    case VM_STOPPING:
        return vm->end == VM_END_REBOOT ? "rebooting" : "stopping";
    case VM_DONE:
        return vm->end == VM_END_NONE ? "off" : "stopped";
    default:
        return "-";
    }
}

void vm_ops_exits(const struct vm *vm, uint64_t total[EXIT_KINDS])
{
    for (unsigned k = 0; k < EXIT_KINDS; k++)
        total[k] = 0;
    for (unsigned i = 0; i < vm->nvcpus; i++)
        for (unsigned k = 0; k < EXIT_KINDS; k++)
            total[k] += vm->vcpus[i].exits[k];
}

/* The operations that act on a running VM say so when it is not. */
static int needs_running(const struct vm *vm, const char *verb, char *err, size_t errlen)
{
    if (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_RUNNING)
        return 0;
    fmt_snprintf(err, errlen, "vm %s is %s: %s needs a running VM", vm->name, vm_ops_state(vm),
                 verb);
    return ERR_STATE;
}

int vm_ops_start(struct vm *vm, char *err, size_t errlen)
{
    char why[192];
    int rc = 0;

    if (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_DONE) {
        fmt_snprintf(err, errlen, "vm %s is %s already", vm->name, vm_ops_state(vm));
        rc = ERR_STATE;
    } else {
        vm->boots++;
        vm->end = VM_END_NONE;
        rc = vm_boot(vm, why, sizeof(why));
        if (rc < 0)
            fmt_snprintf(err, errlen, "vm %s cannot start: %s", vm->name, why);
    }
    return rc;
}

int vm_ops_stop(struct vm *vm, const char *by, char *err, size_t errlen)
{
    int rc = needs_running(vm, "stop", err, errlen);
    if (rc == 0)
        vm_end(vm, VM_END_STOPPED, "by %s", by);
    return rc;
}

int vm_ops_reset(struct vm *vm, const char *by, char *err, size_t errlen)
{
    int rc = needs_running(vm, "reset", err, errlen);
    if (rc == 0) {
        vm->paused = false;
        vm_end(vm, VM_END_REBOOT, "by %s", by);
    }
    return rc;
}

int vm_ops_pause(struct vm *vm, char *err, size_t errlen)
{
    int rc = needs_running(vm, "pause", err, errlen);
    if (rc == 0 && !vm->paused) {
        sched_pause_vm(vm, true);
        vm_life_notify(vm, VM_EVENT_PAUSED);
    }
    return rc;
}

int vm_ops_resume(struct vm *vm, char *err, size_t errlen)
{
    int rc = needs_running(vm, "resume", err, errlen);
    if (rc == 0 && vm->paused) {
        sched_pause_vm(vm, false);
        vm_life_notify(vm, VM_EVENT_RESUMED);
    }
    return rc;
}

int vm_ops_add(void *bundle, size_t size, struct vm **out, char *err, size_t errlen)
{
    int slot = vm_add(bundle, size, hart_count, err, errlen);
    if (slot < 0)
        return slot;
    *out = &vms[slot];
    vm_life_notify(*out, VM_EVENT_ADDED);
    return 0;
}

int vm_ops_delete(struct vm *vm, char *err, size_t errlen)
{
    return vm_delete(vm, err, errlen); /* it says VM_EVENT_DELETED */
}
