/* SPDX-License-Identifier: Apache-2.0 */
#include "core/sched.h"

#include "arch/arch.h"
#include "core/hart.h"
#include "lib/spinlock.h"
#include "lib/string.h"

static struct spinlock sched_lock = SPINLOCK_INIT;
static struct vcpu *rq_head, *rq_tail;
/* The earliest wake-up deadline of a BLOCKED vCPU (lock held to write).
 * Every hart's timer fires no later than this, busy or idle, so a blocked
 * vCPU's timer is never left to a hart that happens to pass through the
 * scheduler: with every hart running a guest that spins, nobody would. */
static uint64_t blocked_next = UINT64_MAX;

static unsigned this_hart_index(void)
{
    return arch_this_hart()->index;
}

/* A held vCPU (its VM paused, or stopped by a debugger) stays queued but
 * no hart takes it. */
static inline bool eligible(const struct vcpu *v, unsigned hart)
{
    return (v->pin < 0 || (unsigned)v->pin == hart) && !__atomic_load_n(&v->hold, __ATOMIC_RELAXED);
}

/* Lock held: v at the queue's tail, runnable since now. */
static inline void rq_push_at(struct vcpu *v, uint64_t now)
{
    v->throttled = false;
    v->runnable_since = now;
    v->state = VCPU_RUNNABLE;
    v->next = NULL;
    if (rq_tail)
        rq_tail->next = v;
    else
        __atomic_store_n(&rq_head, v, __ATOMIC_RELAXED); /* read unlocked: sched_has_work */
    rq_tail = v;
}

/* Lock held. */
static void rq_push(struct vcpu *v)
{
    rq_push_at(v, arch_time());
}

/* Lock held: takes v, which follows prev (NULL: v is the head), out of
 * the queue. */
static inline struct vcpu *rq_cut(struct vcpu *prev, struct vcpu *v)
{
    if (prev)
        prev->next = v->next;
    else
        __atomic_store_n(&rq_head, v->next, __ATOMIC_RELAXED);
    if (rq_tail == v)
        rq_tail = prev;
    v->next = NULL;
    return v;
}

/* Lock held.  Takes the first vCPU this hart may run. */
static inline struct vcpu *rq_take(unsigned hart)
{
    struct vcpu *prev = NULL;

    for (struct vcpu *v = rq_head; v; prev = v, v = v->next) {
        if (eligible(v, hart))
            return rq_cut(prev, v);
    }
    return NULL;
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
    struct vcpu *prev = NULL;

    for (struct vcpu *v = rq_head; v; prev = v, v = v->next) {
        if (v == target) {
            rq_cut(prev, v);
            return;
        }
    }
}

/* Harts to send an IPI once the lock is dropped (lock held to write).
 * Sent after the unlock: an IPI is a firmware call of ~3,000
 * instructions, and a woken hart that needs the lock would spin on it for
 * all that time (under QEMU's round-robin, for its whole turn: what made
 * the IPI benchmark's figure move from run to run). */
static uint64_t kicks;
_Static_assert(HART_MAX <= 64, "kicks holds a bit per hart");

/* Lock held: the IPI to hart i leaves in sched_unlock(). */
static void kick_hart(unsigned i)
{
    kicks |= 1ull << i;
}

static __attribute__((noinline)) void sched_unlock_kick(void)
{
    uint64_t k = kicks;

    kicks = 0;
    spin_unlock(&sched_lock);
    for (unsigned i = 0; k; i++, k >>= 1) {
        if (k & 1)
            arch_ipi_send(harts[i].hartid);
    }
}

/* Drops the lock, then sends the IPIs asked for while it was held. */
static inline void sched_unlock(void)
{
    if (kicks)
        sched_unlock_kick();
    else
        spin_unlock(&sched_lock);
}

/* Lock held: wake harts that sleep for lack of work, so new work is taken
 * at once rather than at their next timer. */
static void kick_idle_harts(const struct vcpu *v)
{
    unsigned me = this_hart_index();

    for (unsigned i = 0; i < hart_count; i++) {
        if (i != me && __atomic_load_n(&harts[i].idle, __ATOMIC_RELAXED) && eligible(v, i)) {
            __atomic_store_n(&harts[i].idle, false, __ATOMIC_RELAXED);
            kick_hart(i);
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
    sched_unlock();
}

bool sched_hsm_start(struct vcpu *v, uint64_t pc, uint64_t opaque)
{
    bool started = false;

    spin_lock(&sched_lock);
    if (v->state == VCPU_OFFLINE && v->vm->state == VM_RUNNING) {
        vcpu_arch_reset(&v->arch, pc, v->id, opaque);
        v->timer_deadline = UINT64_MAX;
        v->sta_gpa = UINT64_MAX;
        v->stop_requested = false;
        v->suspend = VCPU_AWAKE;
        v->fwft_locked = 0; /* local features reset with the hart */
        vcpu_dbtr_reset(v); /* as do its debug triggers */
        v->arch.hctl.henvcfg =
            isa_guest_henvcfg_reset(&v->vm->isa); /* FWFT PTE_AD_HW_UPDATING too */
        rq_push(v);
        kick_idle_harts(v);
        started = true;
    }
    sched_unlock();
    return started;
}

void sched_notify(struct vcpu *v)
{
    spin_lock(&sched_lock);
    if (v->state == VCPU_BLOCKED && v->throttled) {
        /* Sitting out a throttle: it takes the interrupt when that ends. */
    } else if (v->state == VCPU_BLOCKED) {
        rq_push(v);
        kick_idle_harts(v);
    } else if (v->state == VCPU_RUNNING && v->hart >= 0 && (unsigned)v->hart != this_hart_index()) {
        kick_hart((unsigned)v->hart);
    }
    sched_unlock();
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

bool sched_end_vm(struct vm *vm, enum vm_end how, const char *reason)
{
    bool finish;

    spin_lock(&sched_lock);
    if (vm->state != VM_RUNNING) {
        sched_unlock();
        return false;
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
                kick_hart((unsigned)v->hart);
        } else {
            v->state = VCPU_OFFLINE;
        }
    }
    finish = vm->running == 0;
    sched_unlock();
    return finish;
}

/* Lock held: sets or clears hold bits of v; a vCPU now held leaves its
 * hart at once, one no longer held is taken by an idle hart at once. */
static void hold_vcpu(struct vcpu *v, uint8_t bits, bool hold)
{
    uint8_t h = hold ? (uint8_t)(v->hold | bits) : (uint8_t)(v->hold & ~bits);

    __atomic_store_n(&v->hold, h, __ATOMIC_RELEASE);
    if (h && v->state == VCPU_RUNNING && (unsigned)v->hart != this_hart_index())
        kick_hart((unsigned)v->hart); /* leave the hart now */
    if (!h && v->state == VCPU_RUNNABLE)
        kick_idle_harts(v);
}

void sched_pause_vm(struct vm *vm, bool pause)
{
    spin_lock(&sched_lock);
    __atomic_store_n(&vm->paused, pause, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < vm->nvcpus; i++)
        hold_vcpu(&vm->vcpus[i], VCPU_HOLD_PAUSE, pause);
    /* A paused VM's clock may have moved (a snapshot restored, a
     * migration's pause counted): its blocked vCPUs' deadlines with it.
     * The next look at the blocked vCPUs recomputes blocked_next. */
    if (!pause) {
        __atomic_store_n(&blocked_next, 0, __ATOMIC_RELAXED);
        for (unsigned i = 0; i < vm->nvcpus; i++)
            kick_idle_harts(&vm->vcpus[i]); /* idle harts' timers too */
    }
    sched_unlock();
}

void sched_debug_hold(struct vcpu *v, bool hold)
{
    spin_lock(&sched_lock);
    hold_vcpu(v, VCPU_HOLD_DEBUG, hold);
    sched_unlock();
}

bool sched_debug_off_harts(struct vm *vm)
{
    spin_lock(&sched_lock);
    bool off = vm->running == 0;
    for (unsigned i = 0; i < vm->nvcpus; i++)
        off &= (vm->vcpus[i].hold & VCPU_HOLD_DEBUG) != 0;
    sched_unlock();
    return off;
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
            if (v->throttled) {
                if (now >= v->throttle_until) {
                    rq_push(v);
                    kick_idle_harts(v);
                } else if (v->throttle_until < next) {
                    next = v->throttle_until;
                }
                continue;
            }
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

/* Lock held: v ran from picked_at to now and sits out its VM's throttle
 * (a blocked vCPU that only its time wakes). */
static void throttle_vcpu(struct vcpu *v, unsigned pct, uint64_t now)
{
    uint64_t ran = now - v->picked_at;
    v->state = VCPU_BLOCKED;
    v->throttled = true;
    v->throttle_until = now + ran * pct / (100 - pct);
    if (v->throttle_until < blocked_next) {
        __atomic_store_n(&blocked_next, v->throttle_until, __ATOMIC_RELAXED);
        kick_idle_harts(v);
    }
}

void sched_throttle_vm(struct vm *vm, unsigned pct)
{
    __atomic_store_n(&vm->throttle_pct,
                     (uint8_t)(pct > SCHED_THROTTLE_MAX ? SCHED_THROTTLE_MAX : pct),
                     __ATOMIC_RELAXED);
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

bool sched_vm_off_harts(struct vm *vm)
{
    spin_lock(&sched_lock);
    bool off = vm->paused && vm->running == 0;
    sched_unlock();
    return off;
}

void sched_set_vcpu_state(struct vcpu *v, enum vcpu_state s)
{
    spin_lock(&sched_lock);
    v->throttled = false;
    if (v->state == VCPU_RUNNABLE)
        rq_remove(v);
    if (s == VCPU_RUNNABLE)
        rq_push(v);
    else if (s == VCPU_BLOCKED)
        block_vcpu(v);
    else
        v->state = VCPU_OFFLINE;
    sched_unlock();
}

uint64_t sched_blocked_deadline(uint64_t now)
{
    uint64_t next = __atomic_load_n(&blocked_next, __ATOMIC_RELAXED);

    if (next <= now) {
        /* A blocked vCPU's time has come: queue it (an idle hart takes it;
         * otherwise the first slice to end does). */
        spin_lock(&sched_lock);
        next = wake_blocked(now);
        sched_unlock();
    }
    return next;
}

uint64_t sched_blocked_next(void)
{
    return __atomic_load_n(&blocked_next, __ATOMIC_RELAXED);
}

bool sched_has_work(const struct hart *h)
{
    /* Every hart asks at the end of every slice; with nothing queued (the
     * common case when there are harts enough) it need not queue for the
     * lock.  A vCPU queued just after this look waits one more slice at
     * most, or is taken by an idle hart that was kicked. */
    if (!__atomic_load_n(&rq_head, __ATOMIC_RELAXED))
        return false;
    spin_lock(&sched_lock);
    bool others = rq_has_work_for(h->index);
    sched_unlock();
    return others;
}

/* Lock held: v goes onto hart h (sched_pick) at now. */
static void pick_locked(struct hart *h, struct vcpu *v, uint64_t now)
{
    v->state = VCPU_RUNNING;
    v->picked_at = now;
    v->hart = (int)h->index;
    v->vm->running++;
    h->current = v;
}

struct vcpu *sched_pick(struct hart *h, uint64_t *next)
{
    uint64_t now = arch_time();

    spin_lock(&sched_lock);
    /* The blocked vCPUs are looked at only when one is due: every way a
     * blocked vCPU gets an interrupt queues it (sched_notify), and every
     * way one gets an earlier deadline lowers blocked_next (block_vcpu,
     * sched_pause_vm), so between deadlines there is nothing to find. */
    *next = blocked_next <= now ? wake_blocked(now) : blocked_next;
    struct vcpu *v = rq_take(h->index);
    if (!v) {
        __atomic_store_n(&h->idle, true, __ATOMIC_RELAXED);
        sched_unlock();
        return NULL;
    }
    pick_locked(h, v, now);
    sched_unlock();
    return v;
}

void sched_idle_end(struct hart *h)
{
    /* Without the lock, which the hart that woke this one may still hold:
     * a kicker that reads the old true sends one IPI too many, one that
     * reads false leaves its work to this hart's sched_pick, which comes
     * next. */
    __atomic_store_n(&h->idle, false, __ATOMIC_RELAXED);
}

/* Lock held: v leaves this hart (sched_put).  Inlined: the exit fast
 * path's switch (sched_switch) has no call to save registers around. */
static inline __attribute__((always_inline)) enum sched_put
put_locked(struct hart *h, struct vcpu *v, enum exit_action act, bool woken, uint64_t now)
{
    enum sched_put r = SCHED_PUT_DONE;

    h->current = NULL;
    struct vm *vm = v->vm;
    vm->running--;
    if (vm->state != VM_RUNNING) {
        v->state = VCPU_OFFLINE;
        if (vm->state == VM_STOPPING && vm->running == 0)
            r = SCHED_PUT_FINISH_VM;
    } else if (v->stop_requested) {
        v->stop_requested = false;
        v->state = VCPU_OFFLINE;
        /* With every vCPU stopped nothing can start one again: the VM
         * is over (a real machine would hang; a VM should not hold its
         * memory forever). */
        bool all_stopped = true;
        for (unsigned i = 0; i < vm->nvcpus; i++)
            all_stopped &= vm->vcpus[i].state == VCPU_OFFLINE;
        if (all_stopped)
            r = SCHED_PUT_ALL_STOPPED;
    } else if (act == EXIT_BLOCK && !woken && !vcpu_has_wakeup(v, now)) {
        block_vcpu(v);
    } else if (act != EXIT_BLOCK && __atomic_load_n(&vm->throttle_pct, __ATOMIC_RELAXED) &&
               !v->hold) {
        throttle_vcpu(v, __atomic_load_n(&vm->throttle_pct, __ATOMIC_RELAXED), now);
    } else {
        rq_push_at(v, now);
    }
    if (r == SCHED_PUT_DONE && (v->hold & VCPU_HOLD_DEBUG) && vm->running == 0)
        r = SCHED_PUT_DEBUG_STOPPED;
    return r;
}

enum sched_put sched_put(struct hart *h, struct vcpu *v, enum exit_action act)
{
    spin_lock(&sched_lock);
    enum sched_put r = put_locked(h, v, act, false, arch_time());
    sched_unlock();
    return r;
}

enum sched_put sched_switch(struct hart *h, struct vcpu *v, enum exit_action act, bool woken,
                            uint64_t now, struct vcpu **next)
{
    struct vcpu *n = NULL;

    spin_lock(&sched_lock);
    enum sched_put r = put_locked(h, v, act, woken, now);
    if (r == SCHED_PUT_DONE) {
        if (blocked_next <= now)
            wake_blocked(now);
        n = rq_take(h->index);
        if (n)
            pick_locked(h, n, now);
    }
    sched_unlock();
    *next = n;
    return r;
}
