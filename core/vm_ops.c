/* SPDX-License-Identifier: Apache-2.0 */
/* VM operations shared by the management front ends (core/vm_ops.h). */
#include "core/vm_ops.h"
#include "arch/arch.h"
#include "core/hart.h"
#include "core/snapshot.h"
#include "core/sched.h"
#include "core/vm_admin.h"
#include "core/vm_life.h"
#include "core/vmm.h"
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
        if (__atomic_load_n(&vm->migrating, __ATOMIC_ACQUIRE))
            return "migrating";
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

/* The operations that act on a running VM say so when it is not.  While
 * it migrates only stop is taken (it ends the migration, which then
 * fails): a pause, resume, reset or snapshot would race with the
 * migration's own pause and final copy. */
static int needs_running(const struct vm *vm, const char *verb, char *err, size_t errlen)
{
    if (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_RUNNING &&
        (!__atomic_load_n(&vm->migrating, __ATOMIC_ACQUIRE) || strcmp(verb, "stop") == 0))
        return 0;
    if (__atomic_load_n(&vm->migrating, __ATOMIC_ACQUIRE)) {
        fmt_snprintf(err, errlen, "vm %s is migrating: %s waits until the migration is over",
                     vm->name, verb);
        return ERR_STATE;
    }
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

int vm_ops_quiesce(struct vm *vm, bool *was_paused, char *err, size_t errlen)
{
    if (__atomic_load_n(&vm->migrating, __ATOMIC_ACQUIRE)) {
        fmt_snprintf(err, errlen, "vm %s is migrating: wait until the migration is over", vm->name);
        return ERR_STATE;
    }
    *was_paused = __atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE);
    if (!*was_paused)
        sched_pause_vm(vm, true);
    uint64_t give_up = arch_time() + vmm_timebase_hz();
    while (!sched_vm_off_harts(vm)) {
        if (arch_time() > give_up) {
            if (!*was_paused)
                sched_pause_vm(vm, false);
            fmt_snprintf(err, errlen, "vm %s: its vCPUs did not leave their harts within a second",
                         vm->name);
            return ERR_AGAIN;
        }
        arch_cpu_relax();
    }
    return 0;
}

int vm_ops_snapshot_mem(struct vm *vm, struct snapshot_stats *st, uint64_t *ticks,
                        snapshot_progress_fn progress, char *err, size_t errlen)
{
    bool was_paused;

    int rc = needs_running(vm, "snapshot", err, errlen);
    if (rc == 0)
        rc = vm_ops_quiesce(vm, &was_paused, err, errlen);
    if (rc < 0)
        return rc;
    uint64_t t0 = arch_time();
    rc = snapshot_mem_save(vm, st, progress, err, errlen);
    *ticks = arch_time() - t0;
    if (!was_paused)
        sched_pause_vm(vm, false);
    return rc;
}

int vm_ops_restore_buf(struct vm *vm, const void *buf, uint64_t size, char *err, size_t errlen)
{
    char why[256];
    bool was_paused, built = false;
    enum vm_state st = __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE);

    if (st == VM_DONE) {
        vm->boots++;
        vm->end = VM_END_NONE;
        if (vm_build_paused(vm, why, sizeof(why)) < 0) {
            fmt_snprintf(err, errlen, "vm %s: cannot build it: %s", vm->name, why);
            return ERR_NOMEM;
        }
        built = true;
    } else if (st != VM_RUNNING || !vm->paused || vm->migrating) {
        fmt_snprintf(err, errlen, "vm %s is %s: a restore needs it paused or off", vm->name,
                     vm_ops_state(vm));
        return ERR_STATE;
    } else {
        int rc = vm_ops_quiesce(vm, &was_paused, err, errlen);
        if (rc < 0)
            return rc;
    }
    int rc = snapshot_buf_restore(vm, buf, size, NULL, why, sizeof(why));
    if (rc < 0) {
        if (built)
            vm_unbuild(vm);
        fmt_snprintf(err, errlen, "vm %s: not restored: %s%s", vm->name, why,
                     built ? "; it is off again" : "");
    }
    return rc;
}
