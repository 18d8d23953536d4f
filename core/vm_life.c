/* SPDX-License-Identifier: Apache-2.0 */
/* A VM's life: booted from its configuration, ended by the guest or by
 * Vireo, finished (memory returned, status line printed) once its last
 * vCPU has left its hart, and booted again on reboot.  The scheduler only
 * moves vCPUs; deciding what an ending means happens here. */
#include "core/vm_life.h"

#include <stdarg.h>

#include "arch/arch.h"
#include "core/console.h"
#include "core/pmem.h"
#include "core/sched.h"
#include "core/trace_ctl.h"
#include "core/vconsole.h"
#include "lib/err.h"
#include "lib/string.h"

static bool poweroff_when_done;

void vm_set_poweroff_when_done(bool on)
{
    poweroff_when_done = on;
}

static void (*observer)(struct vm *vm, enum vm_event ev);

void vm_life_observe(void (*fn)(struct vm *vm, enum vm_event ev))
{
    observer = fn;
}

_Static_assert((int)TRACE_VM_STARTED == (int)VM_EVENT_STARTED &&
                   (int)TRACE_VM_DELETED == (int)VM_EVENT_DELETED,
               "trace records carry enum vm_event as it is");

void vm_life_notify(struct vm *vm, enum vm_event ev)
{
    if (trace_wants(TRACE_VM))
        trace_emit(TRACE_EV_VM, (uint16_t)vm->index, TRACE_NONE, (uint16_t)ev, 0, 0);
    if (observer)
        observer(vm, ev);
}

int vm_boot(struct vm *vm, char *err, size_t errlen)
{
    int r = vm_create(vm, vm->cfg, err, errlen);
    if (r < 0)
        return r;
    sched_start_vcpu(&vm->vcpus[0]);
    vm_life_notify(vm, VM_EVENT_STARTED);
    return 0;
}

int vm_build_paused(struct vm *vm, char *err, size_t errlen)
{
    int r = vm_create(vm, vm->cfg, err, errlen);
    if (r < 0)
        return r;
    /* Its vCPUs are all offline and none is queued: nothing ran yet. */
    sched_pause_vm(vm, true);
    return 0;
}

void vm_unbuild(struct vm *vm)
{
    __atomic_store_n(&vm->state, VM_STOPPING, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < vm->nvcpus; i++)
        sched_set_vcpu_state(&vm->vcpus[i], VCPU_OFFLINE);
    vm_destroy(vm);
    vm->paused = false;
    vm->end = VM_END_NONE;
    __atomic_store_n(&vm->state, VM_DONE, __ATOMIC_RELEASE);
}

unsigned vm_start_all(const struct config *cfg)
{
    char err[192];

    for (unsigned i = 0; i < (unsigned)cfg->nvms; i++) {
        struct vm *vm = &vms[i];
        vm_slot_init(i, &cfg->vms[i]);
        if (!cfg->vms[i].autostart)
            continue;
        vm->boots = 1;
        if (vm_boot(vm, err, sizeof(err)) < 0) {
            console_printf(CONSOLE_STATUS "vireo: vm %s stopped: cannot start: %s\n", vm->name,
                           err);
            __atomic_store_n(&vm->state, VM_DONE, __ATOMIC_RELEASE);
            continue;
        }
        /* The host time its clock started from (it reads 0 then): what
         * turns guest times into host times, for make bench. */
        console_printf("vireo: vm %s started: %u vCPUs, %lu MiB RAM in %u x 1 GiB, %u x 2 MiB, "
                       "%u x 4 KiB pages; its clock starts at host time %llu\n",
                       vm->name, vm->nvcpus, (unsigned long)(vm->ram_size >> 20), vm->pieces[2],
                       vm->pieces[1], vm->pieces[0], (unsigned long long)(0 - vm->time_offset));
    }
    return vm_count;
}

void vm_end(struct vm *vm, enum vm_end how, const char *fmt, ...)
{
    char reason[sizeof(vm->reason)];
    va_list ap;

    va_start(ap, fmt);
    fmt_vsnprintf(reason, sizeof(reason), fmt ? fmt : "", ap);
    va_end(ap);
    if (sched_end_vm(vm, how, reason))
        vm_finish(vm);
}

static const char *end_word(enum vm_end how)
{
    switch (how) {
    case VM_END_SHUTDOWN:
        return "exited: shutdown";
    case VM_END_FAILURE:
        return "exited: system failure";
    case VM_END_REBOOT:
        return "rebooting";
    case VM_END_STOPPED:
        return "stopped:";
    case VM_END_NONE:
        break;
    }
    return "ended";
}

/* Power-off waiting for a trace reader (check_all_done). */
static bool poweroff_deferred;
static uint64_t deferred_at, deferred_pending;

static uint64_t trace_pending(void)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < trace_ctl_harts(); i++) {
        struct trace_ring_info in;
        trace_ring_info(i, &in);
        n += in.pending;
    }
    return n;
}

static void check_all_done(void)
{
    for (unsigned i = 0; i < vm_count; i++) {
        enum vm_state st = __atomic_load_n(&vms[i].state, __ATOMIC_ACQUIRE);
        if (st != VM_DONE && st != VM_EMPTY) /* a deleted VM's slot is done */
            return;
    }
    if (!poweroff_when_done)
        return;
    /* Trace records still in the rings: a reader (`tools/vireo run
     * --trace`) is taking them; the run loop powers off once it has
     * (vm_life_idle). */
    uint64_t pending = trace_pending();
    if (pending) {
        console_printf("vireo: all VMs done; %lu trace records wait for the reader before "
                       "power-off\n",
                       (unsigned long)pending);
        deferred_pending = pending;
        deferred_at = arch_time();
        __atomic_store_n(&poweroff_deferred, true, __ATOMIC_RELEASE);
        return;
    }
    console_printf(CONSOLE_STATUS "vireo: all VMs done\n");
    arch_poweroff(false);
}

void vm_life_idle(void)
{
    if (!__atomic_load_n(&poweroff_deferred, __ATOMIC_ACQUIRE))
        return;
    uint64_t pending = trace_pending(), now = arch_time();
    /* Taken, or nobody has taken any for 3 s. */
    if (!pending || now - deferred_at > 3ull * trace_ctl_timebase()) {
        console_printf(CONSOLE_STATUS "vireo: all VMs done\n");
        arch_poweroff(false);
    }
    if (pending < deferred_pending) {
        deferred_pending = pending;
        deferred_at = now;
    }
}

/* The VM's last vCPU has left its hart: free it, or boot it again. */
void vm_finish(struct vm *vm)
{
    vconsole_port_flush(&vm->con);
    console_printf(CONSOLE_STATUS "vireo: vm %s %s%s%s\n", vm->name, end_word(vm->end),
                   vm->end == VM_END_STOPPED ? " " : "",
                   vm->end == VM_END_STOPPED ? vm->reason : "");
    vm_destroy(vm);
    if (vm->end == VM_END_REBOOT) {
        char err[160];
        /* Free memory is shown so tests can see a reboot leaks nothing. */
        console_printf("vireo: vm %s boot %u; %lu KiB free\n", vm->name, vm->boots + 1,
                       (unsigned long)(pmem_free_bytes() >> 10));
        vm->boots++;
        vm_life_notify(vm, VM_EVENT_REBOOTING);
        if (vm_boot(vm, err, sizeof(err)) == 0)
            return;
        console_printf(CONSOLE_STATUS "vireo: vm %s stopped: reboot failed: %s\n", vm->name, err);
        vm->end = VM_END_STOPPED;
        fmt_snprintf(vm->reason, sizeof(vm->reason), "reboot failed: %s", err);
    }
    __atomic_store_n(&vm->state, VM_DONE, __ATOMIC_RELEASE);
    vm_life_notify(vm, VM_EVENT_ENDED);
    check_all_done();
}
