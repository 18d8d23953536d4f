/* SPDX-License-Identifier: Apache-2.0 */
/* The vCPU run loop: each hart takes a vCPU from the scheduler, runs it
 * through the world switch until it blocks, stops, or its slice ends with
 * someone else waiting, and hands it back.  With this file, core/exit.c
 * (the exit table) and arch/riscv/vcpu_switch.c + switch.S (the world
 * switch and its fast path) form the run loop, the one place where code
 * calls both down into the scheduler and SBI and up from the hardware. */
#include "core/hart_loop.h"

#include "arch/arch.h"
#include "core/hostdev.h"
#include "core/irq.h"
#include "core/sbi/sbi.h"
#include "core/sched.h"
#include "core/trace.h"
#include "core/vm_life.h"

#define SLICE_US 10000 /* 10 ms */

static uint64_t slice_ticks = 1;
static uint32_t timebase;

void hart_loop_init(uint32_t timebase_hz)
{
    timebase = timebase_hz;
    slice_ticks = (uint64_t)timebase_hz * SLICE_US / 1000000;
    if (!slice_ticks)
        slice_ticks = 1;
}

static void (*defer_fn)(void *arg);
static void *defer_arg;
/* Either of the two below has work: one flag for the exit path to look
 * at. */
static int loop_work;

bool hart_loop_defer(void (*fn)(void *arg), void *arg)
{
    void (*none)(void *) = NULL;

    if (__atomic_load_n(&defer_fn, __ATOMIC_ACQUIRE))
        return false;
    defer_arg = arg; /* written before fn publishes it; read only after */
    if (!__atomic_compare_exchange_n(&defer_fn, &none, fn, false, __ATOMIC_RELEASE,
                                     __ATOMIC_RELAXED))
        return false;
    __atomic_store_n(&loop_work, 1, __ATOMIC_RELEASE);
    return true;
}

static void (*service_fn)(void);
static int service_poked;

void hart_loop_set_service(void (*fn)(void))
{
    service_fn = fn;
}

void hart_loop_poke(void)
{
    __atomic_store_n(&service_poked, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&loop_work, 1, __ATOMIC_RELEASE);
}

static bool hart_loop_has_work(void)
{
    return __atomic_load_n(&loop_work, __ATOMIC_RELAXED);
}

/* No vCPU is loaded here: run deferred management work, if any. */
static void hart_loop_deferred(void)
{
    if (!__atomic_load_n(&loop_work, __ATOMIC_RELAXED))
        return;
    /* Cleared before looking: news that comes meanwhile sets it again. */
    __atomic_store_n(&loop_work, 0, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&service_poked, __ATOMIC_RELAXED) &&
        __atomic_exchange_n(&service_poked, 0, __ATOMIC_ACQUIRE) && service_fn)
        service_fn();
    if (!__atomic_load_n(&defer_fn, __ATOMIC_RELAXED))
        return;
    void *arg = defer_arg;
    void (*fn)(void *) = __atomic_exchange_n(&defer_fn, NULL, __ATOMIC_ACQUIRE);
    if (fn)
        fn(arg);
}

static void timer_program(struct hart *h, uint64_t deadline)
{
    if (h->timer != deadline) {
        h->timer = deadline;
        arch_timer_set(deadline);
    }
}

/* A vCPU comes onto this hart: its slice starts (its state goes into the
 * hart after this: vcpu_arch_load). */
static inline __attribute__((always_inline)) void visit_begin(struct hart *h, struct vcpu *v,
                                                              uint64_t now)
{
    h->slice_end = now + slice_ticks;
    h->visit_start = now;
    if (v->suspend != VCPU_AWAKE) {
        if (v->suspend == VCPU_SUSPENDED_NONRET)
            vcpu_arch_resume(&v->arch, v->resume_pc, v->id, v->resume_opaque);
        v->suspend = VCPU_AWAKE;
    }
    if (v->sta_gpa != UINT64_MAX) /* a guest that asked for steal time (SBI STA) */
        sbi_sta_update(v, now, timebase);
}

/* Before each entry from the loop: the vCPU's SBI deadline, if due, is
 * its timer interrupt; the hart's timer fires at the next of that
 * deadline, the slice's end and a blocked vCPU's wake-up. */
static inline __attribute__((always_inline)) void entry_timer(struct hart *h, struct vcpu *v,
                                                              uint64_t now)
{
    if (v->timer_deadline <= now) {
        v->arch.hvip |= HVIP_VSTIP;
        v->timer_deadline = UINT64_MAX;
        if (__atomic_load_n(&h->trace_on, __ATOMIC_RELAXED) & TRACE_IRQ)
            trace_emit(TRACE_EV_IRQ, (uint16_t)v->vm->index, (uint16_t)v->id, TRACE_IRQ_TIMER,
                       h->index, 0);
    }
    uint64_t deadline = v->timer_deadline < h->slice_end ? v->timer_deadline : h->slice_end;
    uint64_t woken = sched_blocked_deadline(now);
    if (woken < deadline)
        deadline = woken;
    timer_program(h, deadline);
}

/* The vCPU left this hart having decided act (its state is out of the
 * hart: vcpu_arch_put): its time counted, and the visit's two records
 * written now with their own times (one test of the classes per visit;
 * the reader sorts by time). */
static inline __attribute__((always_inline)) void
visit_end(struct hart *h, struct vcpu *v, enum exit_action act, bool forced, uint64_t now)
{
    uint64_t loaded = h->visit_start;
    uint64_t ran = now - loaded;
    v->run_ticks += ran;
    if (__builtin_expect(__atomic_load_n(&h->trace_on, __ATOMIC_RELAXED) & TRACE_SCHED, 0)) {
        enum trace_out why = act == EXIT_BLOCK   ? TRACE_OUT_BLOCKED
                             : act == EXIT_LEAVE ? TRACE_OUT_LEAVE
                             : forced            ? TRACE_OUT_PREEMPT
                                                 : TRACE_OUT_YIELD;
        trace_emit_at(loaded, TRACE_EV_VCPU_IN, (uint16_t)v->vm->index, (uint16_t)v->id, 0, 0, 0);
        trace_emit_at(loaded + ran, TRACE_EV_VCPU_OUT, (uint16_t)v->vm->index, (uint16_t)v->id,
                      (uint16_t)why, ran, 0);
    }
}

/* The vCPU the exit fast path's switch took off each hart when it found
 * nothing to run next, with what sched_switch left to do about its VM:
 * for the loop, which sees vcpu_arch_run return NULL. */
static struct {
    struct vcpu *v;
    enum sched_put put;
} left[HART_MAX];

bool hart_loop_switch_ok(const struct vcpu *v)
{
    /* Only the plain case: no management work for the loop, v not held
     * (the loop's own tests, vcpu_run).  With nothing queued the switch
     * comes back to the loop, which idles (the same scheduler calls as
     * the loop's own way there). */
    return !hart_loop_has_work() && !__atomic_load_n(&v->hold, __ATOMIC_RELAXED);
}

struct vcpu *hart_loop_switch(struct hart *h, struct vcpu *v, enum exit_action act, bool woken)
{
    /* One instant for all of it: the visit that ends, the queue, the next
     * visit. */
    uint64_t now = arch_time();
    visit_end(h, v, act, false, now);
    struct vcpu *n;
    enum sched_put r = sched_switch(h, v, act, woken, now, &n);
    if (!n) {
        left[h->index].v = v;
        left[h->index].put = r;
        return NULL;
    }
    visit_begin(h, n, now);
    entry_timer(h, n, now);
    return n;
}

/* Runs v on this hart until it blocks, stops, or its slice ends with
 * someone else waiting, and hands it back to the scheduler.  The exit fast
 * path may switch the hart to other vCPUs meanwhile (hart_loop_switch):
 * *pv is the one that left last.  Returns what the scheduler left to do
 * about its VM. */
static enum sched_put vcpu_run(struct hart *h, struct vcpu **pv)
{
    struct vcpu *v = *pv;
    enum exit_action act;
    bool forced = false; /* Vireo made it yield (for the trace: preempted) */

    visit_begin(h, v, arch_time());
    vcpu_arch_load(v);
    for (;;) {
        entry_timer(h, v, arch_time());
        struct vcpu *back = vcpu_arch_run(v);
        if (!back) {
            *pv = left[h->index].v;
            return left[h->index].put;
        }
        v = back;
        int done;
        /* The exit fast path may have handled it already; if not, the
         * exit goes through the table here, traced when this hart's copy
         * of the trace classes says so. */
        if (vcpu_arch_exit_handled(&v->arch, &done))
            act = (enum exit_action)done;
        else if (__builtin_expect(__atomic_load_n(&h->trace_on, __ATOMIC_RELAXED), 0))
            act = vcpu_exit_traced(v);
        else
            act = vcpu_exit(v);
        if (__atomic_load_n(&v->vm->state, __ATOMIC_ACQUIRE) != VM_RUNNING || v->stop_requested) {
            act = EXIT_LEAVE;
        } else if (act == EXIT_RESUME && __atomic_load_n(&v->hold, __ATOMIC_RELAXED)) {
            act = EXIT_YIELD; /* back to the queue, where it waits to be let go */
            forced = true;
        } else if (act == EXIT_RESUME && hart_loop_has_work()) {
            act = EXIT_YIELD; /* deferred management work waits for a hart */
            forced = true;
        }
        if (act != EXIT_RESUME)
            break;
        uint64_t now = arch_time();
        if (now >= h->slice_end) {
            if (sched_has_work(h)) {
                act = EXIT_YIELD;
                forced = true;
                break;
            }
            h->slice_end = now + slice_ticks;
        }
    }
    vcpu_arch_put(v);
    visit_end(h, v, act, forced, arch_time());
    *pv = v;
    return sched_put(h, v, act);
}

void hart_loop(void)
{
    struct hart *h = arch_this_hart();

    h->timer = 0;
    h->fp_token = HART_FP_TOKEN_NONE;
    for (;;) {
        uint64_t next;

        arch_ipi_clear();
        struct vcpu *v = sched_pick(h, &next);
        if (!v) {
            /* next is the earliest deadline of a vCPU still blocked.  If it
             * passed since the scheduler looked (this hart was slow, e.g. a
             * busy host), the timer fires at once and the loop wakes that
             * vCPU: treating it as no deadline would leave it asleep until
             * some other interrupt, with every hart idle. */
            /* Never without a deadline: an idle hart wakes at least once a
             * second.  Under QEMU -icount with sleep=off, a hart halted
             * with no timer armed leaves QEMU spinning with its main loop
             * starved (no console input, no signals): with every VM paused
             * the machine would hang. */
            uint64_t cap = arch_time() + (uint64_t)timebase;
            timer_program(h, next < cap ? next : cap);
            arch_wait_for_interrupt();
            h->timer = 0; /* whatever woke us, program afresh next time */
            irq_dispatch();
            hostdev_disks_poll(); /* a late or lost disk interrupt, a disk's timeout */
            sched_idle_end(h);
            hart_loop_deferred();
            vm_life_idle();
            continue;
        }

        switch (vcpu_run(h, &v)) {
        case SCHED_PUT_FINISH_VM:
            vm_finish(v->vm);
            break;
        case SCHED_PUT_ALL_STOPPED:
            vm_end(v->vm, VM_END_STOPPED, "every vCPU stopped itself (SBI HSM hart_stop)");
            break;
        case SCHED_PUT_DEBUG_STOPPED:
            vm_debug_off_harts(v->vm);
            break;
        case SCHED_PUT_DONE:
            break;
        }
        hart_loop_deferred();
    }
}
