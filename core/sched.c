/* SPDX-License-Identifier: Apache-2.0 */
#include "core/sched.h"

#include "arch/arch.h"
#include "core/console.h"
#include "core/hart.h"
#include "core/irq.h"
#include "core/panic.h"
#include "core/pmem.h"
#include "core/vmm.h"
#include "lib/spinlock.h"
#include "lib/string.h"

static struct spinlock sched_lock = SPINLOCK_INIT;
static struct vcpu *rq_head, *rq_tail;
static uint64_t slice_ticks;
static uint32_t sched_timebase;
static bool poweroff_when_done;
/* The earliest wake-up deadline of a BLOCKED vCPU (lock held to write).
 * Every hart's timer fires no later than this, busy or idle, so a blocked
 * vCPU's timer is never left to a hart that happens to pass through the
 * scheduler: with every hart running a guest that spins, nobody would. */
static uint64_t blocked_next = UINT64_MAX;

void sched_init(uint32_t timebase_hz)
{
    sched_timebase = timebase_hz;
    slice_ticks = (uint64_t)timebase_hz * SCHED_SLICE_US / 1000000;
    if (!slice_ticks)
        slice_ticks = 1;
}

void sched_set_poweroff_when_done(bool on)
{
    poweroff_when_done = on;
}

static unsigned this_hart_index(void)
{
    return arch_this_hart()->index;
}

/* A paused VM's vCPUs stay queued but no hart takes them. */
static bool eligible(const struct vcpu *v, unsigned hart)
{
    return (v->pin < 0 || (unsigned)v->pin == hart) &&
           !__atomic_load_n(&v->vm->paused, __ATOMIC_RELAXED);
}

/* Lock held. */
static void rq_push(struct vcpu *v)
{
    v->runnable_since = arch_time();
    v->state = VCPU_RUNNABLE;
    v->next = NULL;
    if (rq_tail)
        rq_tail->next = v;
    else
        rq_head = v;
    rq_tail = v;
}

/* Lock held.  Unlinks and returns the first queued vCPU that match()
 * accepts (hart: the hart asking; target: a specific vCPU), or NULL. */
static struct vcpu *rq_unlink(bool (*match)(const struct vcpu *v, unsigned hart,
                                            const struct vcpu *target),
                              unsigned hart, const struct vcpu *target)
{
    struct vcpu *prev = NULL;

    for (struct vcpu *v = rq_head; v; prev = v, v = v->next) {
        if (!match(v, hart, target))
            continue;
        if (prev)
            prev->next = v->next;
        else
            rq_head = v->next;
        if (rq_tail == v)
            rq_tail = prev;
        v->next = NULL;
        return v;
    }
    return NULL;
}

static bool match_eligible(const struct vcpu *v, unsigned hart, const struct vcpu *target)
{
    (void)target;
    return eligible(v, hart);
}

static bool match_target(const struct vcpu *v, unsigned hart, const struct vcpu *target)
{
    (void)hart;
    return v == target;
}

/* Lock held.  Takes the first vCPU this hart may run. */
static struct vcpu *rq_take(unsigned hart)
{
    return rq_unlink(match_eligible, hart, NULL);
}

/* Lock held. */
static bool rq_has_work_for(unsigned hart)
{
    for (struct vcpu *v = rq_head; v; v = v->next) {
        if (eligible(v, hart))
            return true;
    }
    return false;
}

/* Lock held. */
static void rq_remove(struct vcpu *target)
{
    rq_unlink(match_target, 0, target);
}

/* Lock held: wake harts that sleep for lack of work, so new work is taken
 * at once rather than at their next timer. */
static void kick_idle_harts(const struct vcpu *v)
{
    unsigned me = this_hart_index();

    for (unsigned i = 0; i < hart_count; i++) {
        if (i != me && harts[i].idle && eligible(v, i)) {
            harts[i].idle = false;
            arch_ipi_send(harts[i].hartid);
        }
    }
}

void sched_start_vcpu(struct vcpu *v)
{
    spin_lock(&sched_lock);
    if (v->state == VCPU_OFFLINE && v->vm->state == VM_RUNNING) {
        v->stop_requested = false;
        rq_push(v);
        kick_idle_harts(v);
    }
    spin_unlock(&sched_lock);
}

bool sched_hsm_start(struct vcpu *v, uint64_t pc, uint64_t opaque)
{
    bool started = false;

    spin_lock(&sched_lock);
    if (v->state == VCPU_OFFLINE && v->vm->state == VM_RUNNING) {
        vcpu_arch_reset(v, pc, v->id, opaque);
        v->timer_deadline = UINT64_MAX;
        v->sta_gpa = UINT64_MAX;
        v->stop_requested = false;
        v->suspend = VCPU_AWAKE;
        v->fwft_locked = 0; /* local features reset with the hart */
        rq_push(v);
        kick_idle_harts(v);
        started = true;
    }
    spin_unlock(&sched_lock);
    return started;
}

void sched_notify(struct vcpu *v)
{
    spin_lock(&sched_lock);
    if (v->state == VCPU_BLOCKED) {
        rq_push(v);
        kick_idle_harts(v);
    } else if (v->state == VCPU_RUNNING && v->hart >= 0 && (unsigned)v->hart != this_hart_index()) {
        arch_ipi_send(harts[v->hart].hartid);
    }
    spin_unlock(&sched_lock);
}

void sched_sync_vcpu(struct vcpu *v)
{
    struct hart *me = arch_this_hart();

    if (me->current == v || !__atomic_load_n(&v->arch.in_guest, __ATOMIC_SEQ_CST))
        return;
    uint64_t seen = __atomic_load_n(&v->arch.entries, __ATOMIC_ACQUIRE);
    int hart = v->hart;
    if (hart >= 0)
        arch_ipi_send(harts[hart].hartid);
    /* The IPI makes it exit within a few instructions; a vCPU waiting in
     * Vireo (in_guest 0) is not waited for, so two vCPUs fencing each other
     * cannot deadlock.  The caller's own vCPU may be handling its exit on
     * the fast path, where in_guest stays 1 (vcpu_arch_exit_fast): it says
     * 0 for as long as it waits. */
    if (me->current)
        __atomic_store_n(&me->current->arch.in_guest, 0, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&v->arch.in_guest, __ATOMIC_SEQ_CST) &&
           __atomic_load_n(&v->arch.entries, __ATOMIC_ACQUIRE) == seen)
        arch_cpu_relax();
}

void sched_stop_vcpu(struct vcpu *v)
{
    v->stop_requested = true;
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

static void check_all_done(void)
{
    for (unsigned i = 0; i < vm_count; i++) {
        if (vms[i].state != VM_DONE && vms[i].state != VM_EMPTY)
            return;
    }
    if (poweroff_when_done) {
        console_printf(CONSOLE_STATUS "vireo: all VMs done\n");
        arch_poweroff(false);
    }
}

/* The VM's last vCPU has left its hart: free it, or boot it again. */
static void vm_finish(struct vm *vm)
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
        if (vmm_boot_vm(vm, err, sizeof(err)) == 0)
            return;
        console_printf(CONSOLE_STATUS "vireo: vm %s stopped: reboot failed: %s\n", vm->name, err);
    }
    __atomic_store_n(&vm->state, VM_DONE, __ATOMIC_RELEASE);
    check_all_done();
}

void sched_end_vm(struct vm *vm, enum vm_end how, const char *reason)
{
    bool finish;

    spin_lock(&sched_lock);
    if (vm->state != VM_RUNNING) {
        spin_unlock(&sched_lock);
        return;
    }
    vm->state = VM_STOPPING;
    vm->end = how;
    memcpy(vm->reason, reason, sizeof(vm->reason));
    vm->reason[sizeof(vm->reason) - 1] = '\0';
    unsigned me = this_hart_index();
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        if (v->state == VCPU_RUNNABLE)
            rq_remove(v);
        if (v->state == VCPU_RUNNING) {
            if ((unsigned)v->hart != me)
                arch_ipi_send(harts[v->hart].hartid);
        } else {
            v->state = VCPU_OFFLINE;
        }
    }
    finish = vm->running == 0;
    spin_unlock(&sched_lock);
    if (finish)
        vm_finish(vm);
}

void sched_pause_vm(struct vm *vm, bool pause)
{
    spin_lock(&sched_lock);
    __atomic_store_n(&vm->paused, pause, __ATOMIC_RELEASE);
    unsigned me = this_hart_index();
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        if (pause && v->state == VCPU_RUNNING && (unsigned)v->hart != me)
            arch_ipi_send(harts[v->hart].hartid); /* leave the hart now */
        if (!pause && v->state == VCPU_RUNNABLE)
            kick_idle_harts(v);
    }
    spin_unlock(&sched_lock);
}

/* Lock held: blocked vCPUs whose wake-up has come go back to the queue;
 * returns the earliest deadline among those still blocked. */
static uint64_t wake_blocked(uint64_t now)
{
    uint64_t next = UINT64_MAX;

    for (unsigned i = 0; i < vm_count; i++) {
        struct vm *vm = &vms[i];
        if (vm->state != VM_RUNNING)
            continue;
        for (unsigned j = 0; j < vm->nvcpus; j++) {
            struct vcpu *v = &vm->vcpus[j];
            if (v->state != VCPU_BLOCKED)
                continue;
            if (vcpu_has_wakeup(v, now)) {
                rq_push(v);
                kick_idle_harts(v);
                continue;
            }
            uint64_t d = vcpu_wake_deadline(v);
            if (d < next)
                next = d;
        }
    }
    __atomic_store_n(&blocked_next, next, __ATOMIC_RELAXED);
    return next;
}

/* Lock held: v goes to sleep in WFI.  A wake-up deadline earlier than any
 * hart's timer may know of must reach one: idle harts recompute theirs
 * when kicked, busy ones read blocked_next at their next exit (at the
 * latest when their slice ends). */
static void block_vcpu(struct vcpu *v)
{
    v->state = VCPU_BLOCKED;
    uint64_t d = vcpu_wake_deadline(v);
    if (d < blocked_next) {
        __atomic_store_n(&blocked_next, d, __ATOMIC_RELAXED);
        kick_idle_harts(v);
    }
}

static void timer_program(struct hart *h, uint64_t deadline)
{
    if (h->timer != deadline) {
        h->timer = deadline;
        arch_timer_set(deadline);
    }
}

/* SBI STA: adds the time v waited in the run queue to its record, with
 * the sequence protocol of the specification (odd while updating). */
static void sta_update(struct vcpu *v, uint64_t now, uint32_t timebase_hz)
{
    uint64_t ticks = now - v->runnable_since;
    struct {
        uint32_t sequence, flags;
        uint64_t steal;
        uint8_t preempted;
    } rec;

    if (v->sta_gpa == UINT64_MAX || !timebase_hz)
        return;
    v->steal_ns +=
        ticks / timebase_hz * 1000000000ULL + ticks % timebase_hz * 1000000000ULL / timebase_hz;
    if (gpa_read(v->vm, v->sta_gpa, &rec.sequence, 4) < 0)
        return;
    uint32_t seq = rec.sequence | 1; /* odd: update in progress */
    uint64_t steal = v->steal_ns;
    uint8_t running = 0;
    gpa_write(v->vm, v->sta_gpa, &seq, 4);
    gpa_write(v->vm, v->sta_gpa + 8, &steal, 8);
    gpa_write(v->vm, v->sta_gpa + 16, &running, 1);
    seq++;
    gpa_write(v->vm, v->sta_gpa, &seq, 4);
}

/* Runs v on this hart until it blocks, stops, or its slice ends with
 * someone else waiting. */
static enum exit_action run_vcpu(struct hart *h, struct vcpu *v)
{
    enum exit_action act;
    uint64_t now = arch_time();
    uint64_t slice_end = now + slice_ticks;

    if (v->suspend == VCPU_SUSPENDED_NONRET)
        vcpu_arch_resume(v, v->resume_pc, v->id, v->resume_opaque);
    v->suspend = VCPU_AWAKE;
    sta_update(v, now, sched_timebase);
    vcpu_arch_load(v);
    for (;;) {
        now = arch_time();
        if (v->timer_deadline <= now) {
            v->arch.hvip |= HVIP_VSTIP;
            v->timer_deadline = UINT64_MAX;
        }
        uint64_t deadline = v->timer_deadline < slice_end ? v->timer_deadline : slice_end;
        uint64_t woken = __atomic_load_n(&blocked_next, __ATOMIC_RELAXED);
        if (woken <= now) {
            /* A blocked vCPU's time has come: queue it (an idle hart takes
             * it; otherwise the first slice to end does). */
            spin_lock(&sched_lock);
            wake_blocked(now);
            spin_unlock(&sched_lock);
            woken = __atomic_load_n(&blocked_next, __ATOMIC_RELAXED);
        }
        if (woken < deadline)
            deadline = woken;
        timer_program(h, deadline);
        vcpu_arch_run(v);
        int done;
        /* The exit fast path may have handled it already. */
        act = vcpu_arch_exit_handled(&v->arch, &done) ? (enum exit_action)done : vcpu_exit(v);
        if (__atomic_load_n(&v->vm->state, __ATOMIC_ACQUIRE) != VM_RUNNING || v->stop_requested)
            act = EXIT_LEAVE;
        else if (act == EXIT_RESUME && __atomic_load_n(&v->vm->paused, __ATOMIC_RELAXED))
            act = EXIT_YIELD; /* back to the queue, where it waits for resume */
        if (act != EXIT_RESUME)
            break;
        now = arch_time();
        if (now >= slice_end) {
            spin_lock(&sched_lock);
            bool others = rq_has_work_for(h->index);
            spin_unlock(&sched_lock);
            if (others) {
                act = EXIT_YIELD;
                break;
            }
            slice_end = now + slice_ticks;
        }
    }
    vcpu_arch_put(v);
    return act;
}

void sched_hart_loop(void)
{
    struct hart *h = arch_this_hart();

    h->timer = 0;
    for (;;) {
        arch_ipi_clear();
        spin_lock(&sched_lock);
        uint64_t next = wake_blocked(arch_time());
        struct vcpu *v = rq_take(h->index);
        if (!v) {
            h->idle = true;
            spin_unlock(&sched_lock);
            /* next is the earliest deadline of a vCPU still blocked.  If it
             * passed since wake_blocked looked (this hart was slow, e.g. a
             * busy host), the timer fires at once and the loop wakes that
             * vCPU: treating it as no deadline would leave it asleep until
             * some other interrupt, with every hart idle. */
            timer_program(h, next);
            arch_wait_for_interrupt();
            h->timer = 0; /* whatever woke us, program afresh next time */
            irq_dispatch();
            spin_lock(&sched_lock);
            h->idle = false;
            spin_unlock(&sched_lock);
            continue;
        }
        v->state = VCPU_RUNNING;
        v->hart = (int)h->index;
        v->vm->running++;
        h->current = v;
        spin_unlock(&sched_lock);

        enum exit_action act = run_vcpu(h, v);

        bool finish = false, all_stopped = false;
        spin_lock(&sched_lock);
        h->current = NULL;
        struct vm *vm = v->vm;
        vm->running--;
        if (vm->state != VM_RUNNING) {
            v->state = VCPU_OFFLINE;
            finish = vm->state == VM_STOPPING && vm->running == 0;
        } else if (v->stop_requested) {
            v->stop_requested = false;
            v->state = VCPU_OFFLINE;
            /* With every vCPU stopped nothing can start one again: the VM
             * is over (a real machine would hang; a VM should not hold its
             * memory forever). */
            all_stopped = true;
            for (unsigned i = 0; i < vm->nvcpus; i++)
                all_stopped &= vm->vcpus[i].state == VCPU_OFFLINE;
        } else if (act == EXIT_BLOCK && !vcpu_has_wakeup(v, arch_time())) {
            block_vcpu(v);
        } else {
            rq_push(v);
        }
        spin_unlock(&sched_lock);
        if (finish)
            vm_finish(vm);
        if (all_stopped)
            sched_end_vm(vm, VM_END_STOPPED, "every vCPU stopped itself (SBI HSM hart_stop)");
    }
}
