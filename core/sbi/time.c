/* SPDX-License-Identifier: Apache-2.0 */
/* TIME (EID "TIME"): set_timer.  Without Sstc in the guest, this is how it
 * gets timer interrupts: the deadline is kept per vCPU and multiplexed onto
 * the hart's timer by the scheduler. */
#include "core/sbi/sbi.h"

#include "arch/arch.h"
#include "core/hart.h"
#include "core/trace.h"
#include "core/vm.h"

/* Called by the vCPU's own exit, on the hart it runs on. */
void sbi_time_set(struct vcpu *v, uint64_t deadline)
{
    struct hart *h = arch_this_hart();

    /* A new deadline withdraws the pending tick, as the spec requires. */
    vcpu_arch_lower(&v->arch, HVIP_VSTIP);
    v->timer_deadline = vcpu_host_time(v, deadline); /* the guest's clock may be offset */
    /* Before the hart's timer (the slice's end, the old deadline, a
     * blocked vCPU's): the timer is moved here, as the scheduler's loop
     * would, so that no exit path has to look.  One already due is
     * spent now: VSTIP, which the exit path's check of hvip_pending
     * takes to the loop to merge.  A later one leaves the timer early:
     * it fires once and the loop reprograms it. */
    if (v->timer_deadline >= h->timer)
        return;
    if (v->timer_deadline > arch_time()) {
        h->timer = v->timer_deadline;
        arch_timer_set(h->timer);
        return;
    }
    v->timer_deadline = UINT64_MAX;
    vcpu_arch_raise(&v->arch, HVIP_VSTIP);
    if (trace_wants(TRACE_IRQ))
        trace_emit(TRACE_EV_IRQ, (uint16_t)v->vm->index, (uint16_t)v->id, TRACE_IRQ_TIMER, h->index,
                   0);
}

static struct sbi_ret time_call(struct vcpu *v, const struct sbi_args *c)
{
    if (c->fid != SBI_TIME_SET_TIMER)
        return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    sbi_time_set(v, c->a[0]);
    return (struct sbi_ret){SBI_SUCCESS, 0};
}

const struct sbi_ext sbi_ext_time = {
    .eid_min = SBI_EXT_TIME,
    .eid_max = SBI_EXT_TIME,
    .name = "time",
    .handler = time_call,
};
