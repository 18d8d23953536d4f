/* SPDX-License-Identifier: Apache-2.0 */
/* TIME (EID "TIME"): set_timer.  Without Sstc in the guest, this is how it
 * gets timer interrupts: the deadline is kept per vCPU and multiplexed onto
 * the hart's timer by the scheduler. */
#include "core/sbi/sbi.h"

void sbi_time_set(struct vcpu *v, uint64_t deadline)
{
    /* A new deadline withdraws the pending tick, as the spec requires. */
    vcpu_arch_lower(&v->arch, HVIP_VSTIP);
    v->timer_deadline = vcpu_host_time(v, deadline); /* the guest's clock may be offset */
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
